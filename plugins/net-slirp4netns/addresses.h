// The addresses of slirp4netns' virtual network, derived from its CIDR the way upstream does.
#pragma once

#include <cstdint>
#include <string>

namespace rootlesskit::slirp4netns {

// The network slirp4netns uses when --cidr is not given.
inline constexpr const char *kDefaultCidr = "10.0.2.0/24";

// An IPv4 network: its address (host bits cleared) and prefix length, in host byte order.
struct Ipv4Cidr {
    uint32_t network = 0;
    int prefix = 0;
};

// Parses "a.b.c.d/n" (0 <= n <= 32) and clears the host bits, like Go's net.ParseCIDR.
// Throws rkp::Error(-EINVAL, "invalid cidr \"X\": <why>").
Ipv4Cidr parseCidr(const std::string &text);

// base + offset. Throws rkp::Error(-EINVAL) when the sum passes 255.255.255.255.
uint32_t addOffset(uint32_t base, uint32_t offset);

// Dotted-quad text of a host-byte-order address.
std::string formatIpv4(uint32_t address);

// What the child gets: N+100/prefix, gateway N+2, DNS N+3 (N = network address).
struct NetworkAddresses {
    std::string childIp;
    std::string gateway;
    std::string dns;
    int prefix = 0;
};

// Derives the addresses from cidr (kDefaultCidr when empty). Throws rkp::Error(-EINVAL) on a bad
// CIDR (see parseCidr) or an address past 255.255.255.255 ("cidr X: <sum> is past ...").
NetworkAddresses deriveAddresses(const std::string &cidr);

}  // namespace rootlesskit::slirp4netns
