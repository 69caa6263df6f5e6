// Address arithmetic for pasta's network: CIDR parsing and offsets with an overflow check.
#include "addresses.h"

#include <arpa/inet.h>

#include <cerrno>
#include <charconv>
#include <cstdint>

#include "rootlesskit/rkp.hpp"

namespace rootlesskit::pasta {
namespace {

std::string formatIpv4(uint32_t address) {
    in_addr in{htonl(address)};
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &in, text, sizeof(text));
    return text;
}

// network + offset; fails past 255.255.255.255.
std::string offsetAddress(const std::string &cidr, uint32_t network, uint32_t offset) {
    uint64_t sum = uint64_t{network} + offset;
    if (sum > UINT32_MAX) {
        throw rkp::Error(-EINVAL, "cidr " + cidr + ": " + formatIpv4(network) + " + " +
                                      std::to_string(offset) + " is past 255.255.255.255");
    }
    return formatIpv4(static_cast<uint32_t>(sum));
}

}  // namespace

NetworkAddresses deriveAddresses(const std::string &cidr) {
    const std::string text = cidr.empty() ? kDefaultCidr : cidr;
    const std::string op = "invalid cidr \"" + text + "\"";

    // 1. "a.b.c.d/n".
    size_t slash = text.find('/');
    in_addr address{};
    if (slash == std::string::npos ||
        inet_pton(AF_INET, text.substr(0, slash).c_str(), &address) != 1) {
        throw rkp::Error(-EINVAL, op + ": want an IPv4 address and a /prefix");
    }
    int prefix = -1;
    const char *begin = text.data() + slash + 1;
    const char *end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(begin, end, prefix);
    if (begin == end || ec != std::errc() || ptr != end || prefix < 0 || prefix > 32) {
        throw rkp::Error(-EINVAL, op + ": prefix must be a number from 0 to 32");
    }

    // 2. The fixed layout.
    uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
    uint32_t network = ntohl(address.s_addr) & mask;
    NetworkAddresses out;
    out.childIp = offsetAddress(text, network, 100);
    out.gateway = offsetAddress(text, network, 2);
    out.dns = offsetAddress(text, network, 3);
    out.prefix = prefix;
    return out;
}

}  // namespace rootlesskit::pasta
