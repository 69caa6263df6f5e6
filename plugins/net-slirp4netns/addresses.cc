// Address arithmetic for slirp4netns' network: CIDR parsing and offsets with an overflow check.
#include "addresses.h"

#include <arpa/inet.h>

#include <cerrno>
#include <charconv>

#include "rootlesskit/rkp.hpp"

namespace rootlesskit::slirp4netns {

Ipv4Cidr parseCidr(const std::string &text) {
    const std::string op = "invalid cidr \"" + text + "\"";
    size_t slash = text.find('/');
    if (slash == std::string::npos) {
        throw rkp::Error(-EINVAL, op + ": missing /prefix");
    }

    in_addr address{};
    std::string host = text.substr(0, slash);
    if (inet_pton(AF_INET, host.c_str(), &address) != 1) {
        throw rkp::Error(-EINVAL, op + ": not an IPv4 address: \"" + host + "\"");
    }

    int prefix = -1;
    const char *begin = text.data() + slash + 1;
    const char *end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(begin, end, prefix);
    if (begin == end || ec != std::errc() || ptr != end || prefix < 0 || prefix > 32) {
        throw rkp::Error(-EINVAL, op + ": prefix must be a number from 0 to 32");
    }

    uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
    return Ipv4Cidr{ntohl(address.s_addr) & mask, prefix};
}

uint32_t addOffset(uint32_t base, uint32_t offset) {
    uint64_t sum = uint64_t{base} + offset;
    if (sum > UINT32_MAX) {
        throw rkp::Error(-EINVAL, formatIpv4(base) + " + " + std::to_string(offset) +
                                      " is past 255.255.255.255");
    }
    return static_cast<uint32_t>(sum);
}

std::string formatIpv4(uint32_t address) {
    in_addr in{htonl(address)};
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &in, text, sizeof(text));
    return text;
}

NetworkAddresses deriveAddresses(const std::string &cidr) {
    const std::string text = cidr.empty() ? kDefaultCidr : cidr;
    Ipv4Cidr parsed = parseCidr(text);

    try {
        NetworkAddresses out;
        out.childIp = formatIpv4(addOffset(parsed.network, 100));
        out.gateway = formatIpv4(addOffset(parsed.network, 2));
        out.dns = formatIpv4(addOffset(parsed.network, 3));
        out.prefix = parsed.prefix;
        return out;
    } catch (const rkp::Error &e) {
        throw rkp::Error(e.code(), "cidr " + text + ": " + e.what());
    }
}

}  // namespace rootlesskit::slirp4netns
