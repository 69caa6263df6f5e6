// The addresses pasta gives the namespace, derived from the CIDR the way upstream does for
// slirp4netns and pasta alike: child N+100, gateway N+2, DNS forwarder N+3.
#pragma once

#include <string>

namespace rootlesskit::pasta {

// The network used when --cidr is not given.
inline constexpr const char *kDefaultCidr = "10.0.2.0/24";

struct NetworkAddresses {
    std::string childIp;
    std::string gateway;
    std::string dns;
    int prefix = 0;
};

// Derives the addresses from cidr (kDefaultCidr when empty): "a.b.c.d/n", host bits cleared as
// Go's net.ParseCIDR does. Throws rkp::Error(-EINVAL): `invalid cidr "X": <why>`, or
// `cidr X: <N> + 100 is past 255.255.255.255`.
NetworkAddresses deriveAddresses(const std::string &cidr);

}  // namespace rootlesskit::pasta
