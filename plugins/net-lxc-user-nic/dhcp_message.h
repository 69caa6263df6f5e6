// DHCPv4 messages (RFC 2131, options from RFC 2132): what the lxc-user-nic plugin's client sends
// and the lease it reads from the server's answer. Pure data and byte handling: no sockets, no
// clock, so that every rule can be tested on its own.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rootlesskit::dhcp {

// Message types (option 53).
enum MessageType : uint8_t {
    kDiscover = 1,
    kOffer = 2,
    kRequest = 3,
    kDecline = 4,
    kAck = 5,
    kNak = 6,
    kRelease = 7,
};

// Option codes used here.
enum Option : uint8_t {
    kOptSubnetMask = 1,
    kOptRouter = 3,
    kOptDns = 6,
    kOptRequestedIp = 50,
    kOptLeaseTime = 51,
    kOptMessageType = 53,
    kOptServerId = 54,
    kOptParameterList = 55,
    kOptMaxMessageSize = 57,
    kOptRenewalTime = 58,    // T1
    kOptRebindingTime = 59,  // T2
};

using MacAddress = std::array<uint8_t, 6>;

// An IPv4 address in network byte order, as it travels in the message.
using Ipv4 = uint32_t;

// One BOOTP/DHCP message. Fields are those of RFC 2131's figure 1 that a client uses.
struct Message {
    uint8_t op = 1;  // 1 request (client), 2 reply (server)
    uint32_t xid = 0;
    uint16_t secs = 0;
    bool broadcast = false;  // the B flag: ask the server to broadcast its answer
    Ipv4 ciaddr = 0;
    Ipv4 yiaddr = 0;
    Ipv4 siaddr = 0;
    MacAddress chaddr{};
    std::map<uint8_t, std::vector<uint8_t>> options;

    // Option 53, 0 when absent or malformed.
    uint8_t type() const;
    // An option holding one address (or the first of a list); nullopt when absent or short.
    std::optional<Ipv4> address(uint8_t code) const;
    // An option holding a list of addresses.
    std::vector<Ipv4> addresses(uint8_t code) const;
    // An option holding a 32-bit number (seconds).
    std::optional<uint32_t> seconds(uint8_t code) const;
};

// The wire form: the 236-byte fixed part, the magic cookie, the options, END, padded to 300
// bytes (the BOOTP minimum some servers and relays insist on).
std::vector<uint8_t> encode(const Message &message);

// Parses a datagram. nullopt when it is too short, lacks the magic cookie or has a truncated
// option. Pad options are skipped; parsing stops at END. A repeated option is concatenated, as
// RFC 3396 says.
std::optional<Message> decode(const uint8_t *data, size_t size);

// The client's messages. Every one asks the server to broadcast (the interface has no address
// while the first lease is negotiated) and requests subnet mask, router, DNS, lease time, T1, T2.
Message makeDiscover(uint32_t xid, const MacAddress &mac);
// REQUEST in the SELECTING state: the offered address and the server that offered it.
Message makeSelectRequest(uint32_t xid, const MacAddress &mac, Ipv4 offered, Ipv4 server);
// REQUEST in the RENEWING/REBINDING states: ciaddr holds the address in use, no server id.
Message makeRenewRequest(uint32_t xid, const MacAddress &mac, Ipv4 current);
// RELEASE of current to server.
Message makeRelease(uint32_t xid, const MacAddress &mac, Ipv4 current, Ipv4 server);

// What an ACK grants.
struct Lease {
    Ipv4 address = 0;
    int prefix = 0;              // from the subnet mask; 24 when the server sends none
    Ipv4 router = 0;             // the first router
    std::vector<Ipv4> dns;       // every DNS server, in the server's order
    Ipv4 server = 0;             // option 54, else the datagram's source
    uint32_t leaseSeconds = 0;   // 0xffffffff: infinite; 3600 when the server sends none
    uint32_t renewSeconds = 0;   // T1: option 58, else half the lease
    uint32_t rebindSeconds = 0;  // T2: option 59, else seven eighths of the lease
};

// Reads the lease from an ACK. The checks and texts are upstream's: "got zero YourIPAddr",
// "got no Router", "got no DNS". Returns the error text in *error and nullopt on failure.
std::optional<Lease> leaseFromAck(const Message &ack, Ipv4 sourceAddress, std::string *error);

// The prefix length of a contiguous netmask (network byte order); -1 for a non-contiguous one.
int prefixFromMask(Ipv4 mask);

// Dotted-quad text of an address in network byte order.
std::string formatIpv4(Ipv4 address);

}  // namespace rootlesskit::dhcp
