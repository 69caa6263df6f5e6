// Interface set-up inside the child's network namespace, as the host does it from the network
// message (link up, MTU, IPv4 address, default route), with plain ioctl() calls so that the
// suite needs no netlink library. Child process only. Each returns "" or what failed, in the
// form "<operation> <object>: <cause>".
#pragma once

#include <string>

namespace rkp::conformance {

std::string linkUp(const std::string &dev);
std::string setMtu(const std::string &dev, int mtu);
std::string addIPv4Address(const std::string &dev, const std::string &ip, int prefix);
std::string addDefaultRoute(const std::string &dev, const std::string &gateway);

// What the interface looks like now: "" when dev exists, is up and (when ip is not empty)
// carries ip; else what differs.
std::string checkInterface(const std::string &dev, const std::string &ip);

}  // namespace rkp::conformance
