// DHCPv4 message encoding and decoding, and the lease an ACK grants (see dhcp_message.h).
#include "dhcp_message.h"

#include <arpa/inet.h>

#include <cstring>

namespace rootlesskit::dhcp {
namespace {

constexpr size_t kFixedSize = 236;  // op .. file
constexpr size_t kMinimumSize = 300;
constexpr uint8_t kMagicCookie[4] = {99, 130, 83, 99};
constexpr uint8_t kOptPad = 0;
constexpr uint8_t kOptEnd = 255;
constexpr uint32_t kDefaultLeaseSeconds = 3600;
constexpr int kDefaultPrefix = 24;

void put16(std::vector<uint8_t> &out, size_t at, uint16_t value) {
    out[at] = static_cast<uint8_t>(value >> 8);
    out[at + 1] = static_cast<uint8_t>(value);
}

void put32(std::vector<uint8_t> &out, size_t at, uint32_t value) {
    for (int i = 0; i < 4; i++) {
        out[at + static_cast<size_t>(i)] = static_cast<uint8_t>(value >> (24 - 8 * i));
    }
}

// Addresses are copied as they are stored: already in network byte order.
void putAddress(std::vector<uint8_t> &out, size_t at, Ipv4 address) {
    std::memcpy(out.data() + at, &address, 4);
}

uint16_t get16(const uint8_t *p) {
    return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

uint32_t get32(const uint8_t *p) {
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

Ipv4 getAddress(const uint8_t *p) {
    Ipv4 address;
    std::memcpy(&address, p, 4);
    return address;
}

std::vector<uint8_t> addressBytes(Ipv4 address) {
    std::vector<uint8_t> bytes(4);
    std::memcpy(bytes.data(), &address, 4);
    return bytes;
}

// What every client message carries: type, the parameters we want, and the largest reply we
// take (a full Ethernet frame).
Message clientMessage(uint8_t type, uint32_t xid, const MacAddress &mac) {
    Message m;
    m.op = 1;
    m.xid = xid;
    m.broadcast = true;
    m.chaddr = mac;
    m.options[kOptMessageType] = {type};
    m.options[kOptParameterList] = {kOptSubnetMask, kOptRouter,      kOptDns,
                                    kOptLeaseTime,  kOptRenewalTime, kOptRebindingTime};
    m.options[kOptMaxMessageSize] = {1500 >> 8, 1500 & 0xff};
    return m;
}

}  // namespace

uint8_t Message::type() const {
    auto found = options.find(kOptMessageType);
    return found != options.end() && found->second.size() == 1 ? found->second[0] : 0;
}

std::optional<Ipv4> Message::address(uint8_t code) const {
    auto found = options.find(code);
    if (found == options.end() || found->second.size() < 4) {
        return std::nullopt;
    }
    return getAddress(found->second.data());
}

std::vector<Ipv4> Message::addresses(uint8_t code) const {
    std::vector<Ipv4> out;
    auto found = options.find(code);
    if (found == options.end()) {
        return out;
    }
    for (size_t i = 0; i + 4 <= found->second.size(); i += 4) {
        out.push_back(getAddress(found->second.data() + i));
    }
    return out;
}

std::optional<uint32_t> Message::seconds(uint8_t code) const {
    auto found = options.find(code);
    if (found == options.end() || found->second.size() != 4) {
        return std::nullopt;
    }
    return get32(found->second.data());
}

std::vector<uint8_t> encode(const Message &message) {
    std::vector<uint8_t> out(kFixedSize, 0);
    out[0] = message.op;
    out[1] = 1;  // htype: Ethernet
    out[2] = 6;  // hlen
    put32(out, 4, message.xid);
    put16(out, 8, message.secs);
    put16(out, 10, message.broadcast ? 0x8000 : 0);
    putAddress(out, 12, message.ciaddr);
    putAddress(out, 16, message.yiaddr);
    putAddress(out, 20, message.siaddr);
    std::memcpy(out.data() + 28, message.chaddr.data(), message.chaddr.size());

    out.insert(out.end(), std::begin(kMagicCookie), std::end(kMagicCookie));
    for (const auto &[code, value] : message.options) {
        // Values over 255 bytes would need RFC 3396 splitting; a client never sends one.
        out.push_back(code);
        out.push_back(static_cast<uint8_t>(value.size()));
        out.insert(out.end(), value.begin(), value.end());
    }
    out.push_back(kOptEnd);
    if (out.size() < kMinimumSize) {
        out.resize(kMinimumSize, kOptPad);
    }
    return out;
}

std::optional<Message> decode(const uint8_t *data, size_t size) {
    if (size < kFixedSize + sizeof(kMagicCookie) ||
        std::memcmp(data + kFixedSize, kMagicCookie, sizeof(kMagicCookie)) != 0) {
        return std::nullopt;
    }
    Message m;
    m.op = data[0];
    m.xid = get32(data + 4);
    m.secs = get16(data + 8);
    m.broadcast = (get16(data + 10) & 0x8000) != 0;
    m.ciaddr = getAddress(data + 12);
    m.yiaddr = getAddress(data + 16);
    m.siaddr = getAddress(data + 20);
    std::memcpy(m.chaddr.data(), data + 28, m.chaddr.size());

    size_t at = kFixedSize + sizeof(kMagicCookie);
    while (at < size && data[at] != kOptEnd) {
        uint8_t code = data[at++];
        if (code == kOptPad) {
            continue;
        }
        if (at >= size || at + 1 + data[at] > size) {
            return std::nullopt;  // truncated option
        }
        uint8_t length = data[at++];
        std::vector<uint8_t> &value = m.options[code];
        value.insert(value.end(), data + at, data + at + length);
        at += length;
    }
    return m;
}

Message makeDiscover(uint32_t xid, const MacAddress &mac) {
    return clientMessage(kDiscover, xid, mac);
}

Message makeSelectRequest(uint32_t xid, const MacAddress &mac, Ipv4 offered, Ipv4 server) {
    Message m = clientMessage(kRequest, xid, mac);
    m.options[kOptRequestedIp] = addressBytes(offered);
    m.options[kOptServerId] = addressBytes(server);
    return m;
}

Message makeRenewRequest(uint32_t xid, const MacAddress &mac, Ipv4 current) {
    Message m = clientMessage(kRequest, xid, mac);
    m.ciaddr = current;
    m.broadcast = false;  // the answer goes to ciaddr, which is configured by now
    return m;
}

Message makeRelease(uint32_t xid, const MacAddress &mac, Ipv4 current, Ipv4 server) {
    Message m;
    m.op = 1;
    m.xid = xid;
    m.ciaddr = current;
    m.chaddr = mac;
    m.options[kOptMessageType] = {kRelease};
    m.options[kOptServerId] = addressBytes(server);
    return m;
}

std::optional<Lease> leaseFromAck(const Message &ack, Ipv4 sourceAddress, std::string *error) {
    Lease lease;
    lease.address = ack.yiaddr;
    if (lease.address == 0) {
        *error = "got zero YourIPAddr";
        return std::nullopt;
    }
    std::vector<Ipv4> routers = ack.addresses(kOptRouter);
    if (routers.empty()) {
        *error = "got no Router";
        return std::nullopt;
    }
    lease.router = routers.front();
    lease.dns = ack.addresses(kOptDns);
    if (lease.dns.empty()) {
        *error = "got no DNS";
        return std::nullopt;
    }

    std::optional<Ipv4> mask = ack.address(kOptSubnetMask);
    int prefix = mask ? prefixFromMask(*mask) : -1;
    lease.prefix = prefix >= 0 ? prefix : kDefaultPrefix;
    lease.server = ack.address(kOptServerId).value_or(sourceAddress);
    lease.leaseSeconds = ack.seconds(kOptLeaseTime).value_or(kDefaultLeaseSeconds);
    lease.renewSeconds = ack.seconds(kOptRenewalTime).value_or(lease.leaseSeconds / 2);
    lease.rebindSeconds = ack.seconds(kOptRebindingTime).value_or(lease.leaseSeconds / 8 * 7);
    return lease;
}

int prefixFromMask(Ipv4 mask) {
    uint32_t bits = ntohl(mask);
    int prefix = 0;
    while (prefix < 32 && (bits & (uint32_t{1} << (31 - prefix))) != 0) {
        prefix++;
    }
    // Every bit after the leading ones must be zero.
    uint32_t expected = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
    return bits == expected ? prefix : -1;
}

std::string formatIpv4(Ipv4 address) {
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &address, text, sizeof(text));
    return text;
}

}  // namespace rootlesskit::dhcp
