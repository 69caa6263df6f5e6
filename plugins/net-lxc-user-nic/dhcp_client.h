// A small DHCPv4 client for one interface: obtains a lease (DISCOVER, OFFER, REQUEST, ACK),
// renews it, rebinds it, releases it. Used by the lxc-user-nic plugin in the child.
//
// Every call works in the network namespace of the calling thread and blocks that thread; none
// keeps state between calls except the socket. The socket is a plain UDP socket on 0.0.0.0:68
// bound to the interface (SO_BINDTODEVICE) with SO_BROADCAST: before the interface has an
// address, requests go to 255.255.255.255 with the broadcast flag set, so that the server answers
// by broadcast too (the kernel accepts limited broadcasts on an interface without an address).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "dhcp_message.h"
#include "helper_process.h"

namespace rootlesskit::dhcp {

class Client {
public:
    // Opens the socket on ifname and reads the interface's MAC address. Throws rkp::Error:
    // "dhcp on <ifname>: <step>: <errno text>".
    explicit Client(const std::string &ifname);

    // The full exchange, within timeout: broadcasts DISCOVER (again every few seconds without
    // an answer), takes the first OFFER, broadcasts REQUEST for it and waits for ACK or NAK.
    // Throws rkp::Error: "dhcp on <ifname>: did not get DHCPACK within Ns", "... got DHCPNAK",
    // or leaseFromAck's texts ("... got no DNS").
    Lease acquire(std::chrono::seconds timeout);

    // RENEWING (unicast to the lease's server) or REBINDING (broadcast): REQUEST with ciaddr set,
    // until an ACK or NAK arrives or timeout passes. Throws rkp::Error as acquire() does.
    Lease renew(const Lease &current, bool broadcast, std::chrono::seconds timeout);

    // Sends RELEASE for lease to its server; no answer is expected. Errors are ignored: the
    // server reclaims the address when the lease expires anyway.
    void release(const Lease &lease);

    const std::string &ifname() const { return ifname_; }

    // The client's UDP socket. It belongs to the interface's network namespace, so ioctls on it
    // (address, routes) act there whatever namespace the calling thread is in.
    int socketFd() const { return socket_.get(); }

private:
    struct Reply {
        Message message;
        Ipv4 source = 0;
    };
    // Sends request to destination (network byte order) every retransmit interval until a reply
    // with its xid and one of the wanted types arrives, or the deadline passes (nullopt).
    std::optional<Reply> exchange(Message request, Ipv4 destination, uint8_t wanted1,
                                  uint8_t wanted2, std::chrono::steady_clock::time_point deadline);
    void send(const Message &message, Ipv4 destination);
    std::optional<Reply> receive(uint32_t xid, uint8_t wanted1, uint8_t wanted2,
                                 std::chrono::steady_clock::time_point until);
    Lease leaseFrom(const Reply &ack) const;
    [[noreturn]] void fail(const std::string &what) const;

    std::string ifname_;
    MacAddress mac_{};
    plugin::UniqueFd socket_;
};

}  // namespace rootlesskit::dhcp
