// Turning a port spec into a PortPlan: the host-side socket (spec §4.4) and the address the
// child half dials inside the namespace (spec §4.5.6).
#pragma once

#include <cstdint>

#include "port_forwarder.h"
#include "rootlesskit/rkp.h"

namespace rkbuiltin {

// Opens the host-side socket for spec, bound (and listening for TCP), non-blocking and
// close-on-exec, and fills plan with it, the dial target and a printable name.
//
// Listening rules: "tcp"/"udp" on "", 0.0.0.0 or :: is one dual-stack IPv6 socket (plain IPv4
// when the kernel has no IPv6); on a specific address, a socket of that address's family.
// "tcp4"/"udp4" are IPv4 only; "tcp6"/"udp6" are IPv6 only (IPV6_V6ONLY). TCP sets SO_REUSEADDR.
// Dial target: child_ip when given; else parent_ip when it is a loopback address (so
// 127.0.0.2:8080 reaches 127.0.0.2:80 inside); else 127.0.0.1.
//
// Fails with err filled: -ENOTSUP "unsupported port protocol sctp"; -EINVAL for an address of the
// wrong family; -EACCES for a privileged port, with the hint naming
// net.ipv4.ip_unprivileged_port_start and CAP_NET_BIND_SERVICE; -EADDRINUSE and other bind
// errors as "listen tcp 127.0.0.1:8080: address already in use". Runs on any thread.
int openPort(const rkp_port_spec &spec, uint64_t id, PortPlan *plan, rkp_error *err);

}  // namespace rkbuiltin
