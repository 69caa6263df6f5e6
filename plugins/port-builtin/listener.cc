// Host-side sockets for published ports, and the dial target inside the namespace.
#include "listener.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <optional>
#include <string>

#include "control_protocol.h"
#include "rootlesskit/rkp.hpp"

namespace rkbuiltin {

namespace {

// How to open the host-side socket.
struct ListenChoice {
    SocketAddress address;
    int v6only = -1;              // for AF_INET6: 0 dual-stack, 1 IPv6 only
    bool fallbackToIpv4 = false;  // dual-stack wildcard: use 0.0.0.0 if IPv6 is unavailable
};

std::string protoName(const rkp_port_spec &spec) {
    if (spec.proto_name != nullptr && spec.proto_name[0] != '\0') {
        return spec.proto_name;
    }
    return spec.proto == RKP_PROTO_UDP ? "udp" : "tcp";
}

// Decides family and address from the proto's family and parent_ip, per spec §4.4.
int chooseListen(const rkp_port_spec &spec, ListenChoice *choice, rkp_error *err) {
    std::string ip = spec.parent_ip != nullptr ? spec.parent_ip : "";
    std::optional<SocketAddress> parsed;
    if (!ip.empty()) {
        parsed = SocketAddress::parse(ip, spec.parent_port);
        if (!parsed) {
            return rkp::setError(err, -EINVAL, "invalid ParentIP: \"%s\"", ip.c_str());
        }
    }
    bool any = !parsed || parsed->isUnspecified();
    std::string where = (parsed ? parsed->toString() : ":" + std::to_string(spec.parent_port));

    switch (spec.family) {
        case RKP_FAMILY_IPV4:
            if (parsed && parsed->family() != AF_INET) {
                return rkp::setError(err, -EINVAL, "listen %s %s: address is not IPv4",
                                     protoName(spec).c_str(), where.c_str());
            }
            choice->address = any ? SocketAddress::any(AF_INET, spec.parent_port) : *parsed;
            return 0;
        case RKP_FAMILY_IPV6:
            if (parsed && parsed->family() != AF_INET6 && !any) {
                return rkp::setError(err, -EINVAL, "listen %s %s: address is not IPv6",
                                     protoName(spec).c_str(), where.c_str());
            }
            choice->address = any ? SocketAddress::any(AF_INET6, spec.parent_port) : *parsed;
            choice->v6only = 1;
            return 0;
        default:
            if (any) {
                choice->address = SocketAddress::any(AF_INET6, spec.parent_port);
                choice->v6only = 0;
                choice->fallbackToIpv4 = true;
            } else {
                choice->address = *parsed;
                choice->v6only = parsed->family() == AF_INET6 ? 1 : -1;
            }
            return 0;
    }
}

// The start of the unprivileged port range, or -1 when it cannot be read.
int unprivilegedPortStart() {
    Fd file(open("/proc/sys/net/ipv4/ip_unprivileged_port_start", O_RDONLY | O_CLOEXEC));
    char text[16] = {};
    if (!file.valid() || read(file.get(), text, sizeof(text) - 1) <= 0) {
        return -1;
    }
    return std::atoi(text);  // NOLINT(cert-err34-c): the kernel writes a decimal number
}

// Fills err for a failed bind, explaining privileged ports the way upstream does (but always
// with the CAP_NET_BIND_SERVICE hint, whatever the executable is called).
int bindError(int error, const rkp_port_spec &spec, const std::string &what, rkp_error *err) {
    std::string cause = what + ": " + errnoText(error);
    int start = unprivilegedPortStart();
    if ((error == EACCES || error == EPERM) && start > 0 && spec.parent_port < start) {
        unsigned port = spec.parent_port;
        return rkp::setError(err, -EACCES,
                             "cannot expose privileged port %u, you can add "
                             "'net.ipv4.ip_unprivileged_port_start=%u' to /etc/sysctl.conf "
                             "(currently %d), or set CAP_NET_BIND_SERVICE on rootlesskit binary, "
                             "or choose a larger port number (>= %d): %s",
                             port, port, start, start, cause.c_str());
    }
    return rkp::setErrorMessage(err, -error, cause);
}

// Creates, configures, binds and (TCP) listens. 0 or a negative errno.
int openSocket(const ListenChoice &choice, bool tcp, Fd *out) {
    int type = (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC;
    Fd s(socket(choice.address.family(), type, 0));
    if (!s.valid()) {
        return -errno;
    }
    int one = 1;
    if (choice.v6only >= 0) {
        int value = choice.v6only;
        if (setsockopt(s.get(), IPPROTO_IPV6, IPV6_V6ONLY, &value, sizeof(value)) != 0) {
            return -errno;
        }
    }
    if (tcp && setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
        return -errno;
    }
    if (bind(s.get(), choice.address.raw(), choice.address.length) != 0) {
        return -errno;
    }
    if (tcp && listen(s.get(), SOMAXCONN) != 0) {
        return -errno;
    }
    *out = std::move(s);
    return 0;
}

// Where the child half connects, per spec §4.5.6, with loopback-only parent IP propagation.
int chooseTarget(const rkp_port_spec &spec, SocketAddress *target, rkp_error *err) {
    std::string childIp = spec.child_ip != nullptr ? spec.child_ip : "";
    if (!childIp.empty()) {
        auto parsed = SocketAddress::parse(childIp, spec.child_port);
        if (!parsed) {
            return rkp::setError(err, -EINVAL, "invalid ChildIP: \"%s\"", childIp.c_str());
        }
        *target = *parsed;
        return 0;
    }
    std::string parentIp = spec.parent_ip != nullptr ? spec.parent_ip : "";
    auto parent = SocketAddress::parse(parentIp, spec.child_port);
    *target = parent && parent->isLoopback() ? *parent : SocketAddress::loopback4(spec.child_port);
    return 0;
}

}  // namespace

int openPort(const rkp_port_spec &spec, uint64_t id, PortPlan *plan, rkp_error *err) {
    if (spec.proto == RKP_PROTO_SCTP) {
        return rkp::setError(err, -ENOTSUP, "unsupported port protocol sctp");
    }
    if (spec.proto != RKP_PROTO_TCP && spec.proto != RKP_PROTO_UDP) {
        return rkp::setError(err, -ENOTSUP, "unsupported port protocol %u", spec.proto);
    }
    bool tcp = spec.proto == RKP_PROTO_TCP;

    ListenChoice choice;
    int rc = chooseListen(spec, &choice, err);
    if (rc < 0) {
        return rc;
    }
    rc = chooseTarget(spec, &plan->target, err);
    if (rc < 0) {
        return rc;
    }

    rc = openSocket(choice, tcp, &plan->listener);
    if (rc == -EAFNOSUPPORT && choice.fallbackToIpv4) {
        choice.address = SocketAddress::any(AF_INET, spec.parent_port);
        choice.v6only = -1;
        rc = openSocket(choice, tcp, &plan->listener);
    }
    std::string where = choice.address.toString() + "/" + protoName(spec);
    if (rc < 0) {
        std::string what = "listen " + protoName(spec) + " " + choice.address.toString();
        return bindError(-rc, spec, what, err);
    }

    plan->id = id;
    plan->transport = tcp ? kTransportTcp : kTransportUdp;
    plan->name = where;
    plan->wildcard = choice.address.isUnspecified();
    return 0;
}

}  // namespace rkbuiltin
