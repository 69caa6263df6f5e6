// Interface set-up inside the child's network namespace over rtnetlink (libmnl), instead of
// running ip(8) four or five times per start: one socket, no fork/exec, errors with errno.
// Every function acts on the network namespace of the calling thread; to act on a detached
// namespace, call them on a thread that entered it with setns(CLONE_NEWNET).
#pragma once

#include <string>

#include "core/status.h"

namespace rootlesskit {

// Equivalent of "ip link set <ifname> up". Fails "link <ifname> up: <errno text>".
Status netlinkLinkUp(const std::string &ifname);

// Equivalent of "ip link set dev <ifname> mtu <mtu>".
Status netlinkSetMtu(const std::string &ifname, unsigned mtu);

// Equivalent of "ip addr add <address>/<prefix> dev <ifname>" (IPv4 or IPv6 address text).
Status netlinkAddAddress(const std::string &ifname, const std::string &address, int prefix);

// Equivalent of "ip route add default via <gateway> dev <ifname>" (IPv4 or IPv6 gateway).
Status netlinkAddDefaultRoute(const std::string &ifname, const std::string &gateway);

}  // namespace rootlesskit
