// Which network and port plugins may run together, and with which options: every rule is
// decided here from the capability bits the plugins declare, never from their names.
//
// The rules run in upstream's order (network options, then the network's demands on the port
// driver, then the port driver's demands on the network, then --detach-netns and -p); the first
// failure wins. Where upstream has an error text, the message is built so that our in-tree
// plugins reproduce it word for word: the plugin names in it come from the registry (the usable
// plugins that would satisfy the rule).
#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/log.h"
#include "core/options.h"
#include "core/plugin_loader.h"

namespace rootlesskit {

namespace {

struct Pairing {
    const PluginRegistry &registry;
    const PluginInfo &net;
    const PluginInfo *port;  // nullptr for --port-driver=none
    const Options &options;
    std::vector<std::string> &warnings;
};

bool netHas(const Pairing &p, uint64_t supportBit) {
    return (p.net.supports & supportBit) != 0;
}
bool netNeeds(const Pairing &p, uint64_t needBit) {
    return (p.net.needs & needBit) != 0;
}
bool portHas(const Pairing &p, uint64_t supportBit) {
    return p.port != nullptr && (p.port->supports & supportBit) != 0;
}
bool portNeeds(const Pairing &p, uint64_t needBit) {
    return p.port != nullptr && (p.port->needs & needBit) != 0;
}

// The names of the usable plugins of kind that declare supportBit, quoted or not, joined with
// " or "; fallback when there is none.
std::string namesWith(const Pairing &p, const std::string &kind, uint64_t supportBit, bool quote,
                      const std::string &fallback) {
    std::vector<std::string> names;
    for (const PluginInfo *info : p.registry.withSupport(kind, supportBit)) {
        names.push_back(quote ? "\"" + info->name + "\"" : info->name);
    }
    return names.empty() ? fallback : fmt::format("{}", fmt::join(names, " or "));
}

// ---- The network's own options --------------------------------------------------------------

Status cidrRule(const Pairing &p) {
    if (!p.options.cidr.empty() && !netHas(p, RKP_SUP_CIDR)) {
        return Status::error("custom cidr is not supported for --net=" + p.net.name);
    }
    return Status();
}

// A network without a default interface name sets up no interface of its own ("host", and
// "none", which has only loopback): --ifname and --mtu have nothing to apply to.
bool netHasInterface(const Pairing &p) {
    const rkp_plugin *d = p.net.descriptor;
    return d != nullptr && d->default_ifname != nullptr && d->default_ifname[0] != '\0';
}

Status ifnameRule(const Pairing &p) {
    if (!p.options.ifname.empty() && !netHasInterface(p)) {
        return Status::error("ifname cannot be specified for --net=" + p.net.name);
    }
    return Status();
}

Status mtuRule(const Pairing &p) {
    if (p.options.mtu != 0 && !netHasInterface(p)) {
        p.warnings.push_back("--mtu is discarded for --net=" + p.net.name);
    }
    return Status();
}

Status ipv6Rule(const Pairing &p) {
    if (p.options.ipv6 && !netHas(p, RKP_SUP_IPV6)) {
        p.warnings.push_back("--ipv6 is discarded for --net=" + p.net.name);
    }
    return Status();
}

// ---- Network and port driver ------------------------------------------------------------------

// 1. A network that forwards ports by itself pairs only with no port driver or an implicit one.
Status portImplicitRule(const Pairing &p) {
    if (!netNeeds(p, RKP_NEED_PORT_IMPLICIT) || p.port == nullptr ||
        portHas(p, RKP_SUP_IMPLICIT_PORTS)) {
        return Status();
    }
    std::string others = namesWith(p, "port", RKP_SUP_IMPLICIT_PORTS, true, "");
    return Status::error(fmt::format("network \"{}\" requires port driver \"none\"{}", p.net.name,
                                     others.empty() ? "" : " or " + others));
}

// 2. A namespace with no route out (the built-in "none": it declares neither forwarding of its
// own nor a host loopback to block) pairs only with no port driver or one that reaches into
// the namespace by itself. Networks that do reach the host fall through to rules 3 and 4,
// whose texts name the network the port driver wants, as upstream's do.
Status loopbackOnlyRule(const Pairing &p) {
    constexpr uint64_t kNetNeeds = RKP_NEED_NET_IMPLICIT_PORTS | RKP_NEED_NET_HOSTFWD_API;
    constexpr uint64_t kRouteOut =
        RKP_SUP_IMPLICIT_PORTS | RKP_SUP_HOSTFWD_API | RKP_SUP_DISABLE_HOST_LOOPBACK;
    if (!netNeeds(p, RKP_NEED_NETNS) || netHas(p, kRouteOut) || !portNeeds(p, kNetNeeds)) {
        return Status();
    }
    std::vector<std::string> ports = {"\"none\""};
    for (const PluginInfo &info : p.registry.all()) {
        if (info.kind == "port" && info.refusal.empty() && (info.needs & kNetNeeds) == 0) {
            ports.push_back("\"" + info.name + "\"");
        }
    }
    return Status::error(fmt::format("network \"{}\" requires either port driver {}", p.net.name,
                                     fmt::join(ports, " or ")));
}

// 3. A port driver that only reports what the network forwards needs such a network.
Status netImplicitRule(const Pairing &p) {
    if (!portNeeds(p, RKP_NEED_NET_IMPLICIT_PORTS) || netHas(p, RKP_SUP_IMPLICIT_PORTS)) {
        return Status();
    }
    std::string nets =
        namesWith(p, "network", RKP_SUP_IMPLICIT_PORTS, false, "an implicit-ports capable");
    return Status::error("port driver requires " + nets + " network");
}

// 4. A port driver that drives slirp4netns' API needs a network that serves it.
Status hostfwdRule(const Pairing &p) {
    if (!portNeeds(p, RKP_NEED_NET_HOSTFWD_API) || netHas(p, RKP_SUP_HOSTFWD_API)) {
        return Status();
    }
    std::string nets = namesWith(p, "network", RKP_SUP_HOSTFWD_API, false, "a hostfwd-api capable");
    return Status::error("port driver requires " + nets + " network");
}

// 5. A port driver with a child half needs a network namespace to reach into.
Status netnsRule(const Pairing &p) {
    if (portNeeds(p, RKP_NEED_NETNS) && !netNeeds(p, RKP_NEED_NETNS)) {
        return Status::error("port driver requires non-host network");
    }
    return Status();
}

// ---- Options that involve both ----------------------------------------------------------------

Status detachNetnsRule(const Pairing &p) {
    if (!p.options.detachNetns) {
        return Status();
    }
    if (!netHas(p, RKP_SUP_DETACH_NETNS)) {
        return Status::error("--detach-netns is not supported for --net=" + p.net.name);
    }
    if (p.port != nullptr && !portHas(p, RKP_SUP_DETACH_NETNS)) {
        return Status::error("--detach-netns is not supported by port driver \"" + p.port->name +
                             "\"");
    }
    return Status();
}

// The bit a -p protocol needs from the port driver; 0 for protocols left to the driver.
uint64_t protoBit(const std::string &proto) {
    if (proto.rfind("tcp", 0) == 0) {
        return RKP_SUP_TCP;
    }
    if (proto.rfind("udp", 0) == 0) {
        return RKP_SUP_UDP;
    }
    // sctp is not checked here: the builtin driver refuses it when the port is added, with
    // upstream's text "unsupported port protocol sctp", and that text must not change.
    return 0;
}

Status publishRule(const Pairing &p) {
    if (p.port == nullptr || p.options.publish.empty()) {
        return Status();  // -p without a port driver is refused by the command line checks
    }
    if (portHas(p, RKP_SUP_IMPLICIT_PORTS)) {
        return Status::error(fmt::format(
            "-p is not supported with port driver \"{}\": {} forwards every port bound in the "
            "namespace",
            p.port->name, p.net.name));
    }
    for (const std::string &spec : p.options.publish) {
        // The protocol is the text after the last '/'; the spec's syntax is checked elsewhere.
        size_t slash = spec.rfind('/');
        std::string proto = slash == std::string::npos ? "" : spec.substr(slash + 1);
        uint64_t needed = protoBit(proto);
        if (needed != 0 && !proto.empty() && proto.back() == '6') {
            needed |= RKP_SUP_IPV6;
        }
        if ((p.port->supports & needed) != needed) {
            return Status::error(fmt::format("publish {}: port driver \"{}\" does not support {}",
                                             spec, p.port->name, proto));
        }
    }
    return Status();
}

using Rule = Status (*)(const Pairing &);

// In upstream's order: the network's options, then the drivers, then what involves both.
constexpr Rule kRules[] = {
    cidrRule,        ifnameRule,      mtuRule,     ipv6Rule,  portImplicitRule, loopbackOnlyRule,
    netImplicitRule, hostfwdRule, netnsRule, detachNetnsRule, publishRule,
};

}  // namespace

Status checkPairing(const PluginRegistry &registry, const PluginInfo &net, const PluginInfo *port,
                    const Options &options, std::vector<std::string> &warnings) {
    Pairing pairing{registry, net, port, options, warnings};
    for (Rule rule : kRules) {
        Status status = rule(pairing);
        if (!status) {
            return status;
        }
    }
    return Status();
}

Status checkPairing(const PluginRegistry &registry, const PluginInfo &net, const PluginInfo *port,
                    const Options &options) {
    std::vector<std::string> warnings;
    Status status = checkPairing(registry, net, port, options, warnings);
    if (!status) {
        return status;  // the error alone: a warning about an option would only distract
    }
    auto log = logger("core");
    for (const std::string &warning : warnings) {
        log->warn("{}", warning);
    }
    return status;
}

}  // namespace rootlesskit
