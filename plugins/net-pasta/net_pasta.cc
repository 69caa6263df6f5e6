// The pasta network plugin: descriptor and C entry points. The parent half runs pasta against
// the child's network namespace; pasta creates and configures the interface itself and forwards
// the ports bound in the namespace (the "implicit" port driver reports them). See README.md for
// the theory of operation.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <cerrno>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "addresses.h"
#include "config.h"
#include "helper_process.h"
#include "pasta_process.h"
#include "probe.h"
#include "rootlesskit/rkp.hpp"

#ifndef RKP_PASTA_VERSION
#define RKP_PASTA_VERSION "0.0.0"
#endif

using namespace rootlesskit::pasta;

// One instance per process; only the parent's does anything.
struct rkp_instance {
    rkp_instance(const rkp_host *h, Config c) : host(h), config(std::move(c)), process(h) {}

    const rkp_host *host;
    Config config;
    Features features;  // parent only: probed at create()
    PastaProcess process;
    bool configured = false;  // addresses is valid
    NetworkAddresses addresses;
};

namespace {

// Whether to pass --tcp-ns=none --udp-ns=none. pasta's default for them ("auto") forwards every
// port the host listens on from the namespace's 127.0.0.1 to the host's, which --no-map-gw alone
// (upstream's --disable-host-loopback) leaves open. Older pastas (Debian 12's 2023_03_09) look
// for new listeners inside the namespace only while that "auto" is on, so with automatic port
// forwarding they keep it, and the user gets one warning instead.
bool closesNamespaceToHost(const rkp_instance &inst, const rkp_net_params &params) {
    bool implicit = (params.port_driver_needs & RKP_NEED_NET_IMPLICIT_PORTS) != 0;
    return params.disable_host_loopback != 0 && (!implicit || isRecommended(inst.features));
}

void warnAboutOpenNamespaceToHost(const rkp_instance &inst, const rkp_net_params &params) {
    if (params.disable_host_loopback == 0 || closesNamespaceToHost(inst, params)) {
        return;
    }
    rkp::logMessage(inst.host, RKP_LOG_WARN,
                    "pasta " + inst.features.path +
                        " finds the ports bound in the namespace only while it also forwards "
                        "the host's listening ports to the namespace's 127.0.0.1, so with "
                        "--port-driver=implicit --disable-host-loopback closes the gateway path "
                        "to the host's loopback but not that one; a recent pasta closes both");
}

// Upstream's argv (wrappers and AppArmor profiles match on it), in its order:
//   pasta --stderr --ns-ifname=<if> --mtu=<mtu> --config-net --address=<N+100> --netmask=<prefix>
//         --gateway=<N+2> --dns-forward=<N+3> [--no-map-gw] [--ipv4-only]
//         (--tcp-ports=auto --udp-ports=auto | --tcp-ports=none --udp-ports=none)
//         [--host-lo-to-ns-lo] [--tcp-ns=none --udp-ns=none]
//         (<child-pid> | --userns=/proc/<child-pid>/ns/user --netns=<detached path>)
// --tcp-ns=none --udp-ns=none with --disable-host-loopback is ours (closesNamespaceToHost()).
std::vector<std::string> buildArgv(const rkp_instance &inst, const rkp_net_params &params) {
    const NetworkAddresses &a = inst.addresses;
    std::vector<std::string> argv = {
        inst.features.path,
        "--stderr",
        std::string("--ns-ifname=") + params.ifname,
        "--mtu=" + std::to_string(params.mtu),
        "--config-net",
        "--address=" + a.childIp,
        "--netmask=" + std::to_string(a.prefix),
        "--gateway=" + a.gateway,
        "--dns-forward=" + a.dns,
    };
    if (params.disable_host_loopback != 0) {
        argv.emplace_back("--no-map-gw");
    }
    if (params.enable_ipv6 == 0) {
        argv.emplace_back("--ipv4-only");
    }
    // Decided by what the port driver declares, not by its name.
    bool implicit = (params.port_driver_needs & RKP_NEED_NET_IMPLICIT_PORTS) != 0;
    argv.emplace_back(implicit ? "--tcp-ports=auto" : "--tcp-ports=none");
    argv.emplace_back(implicit ? "--udp-ports=auto" : "--udp-ports=none");
    if (inst.features.hostLoToNsLo) {
        argv.emplace_back("--host-lo-to-ns-lo");
    }
    if (closesNamespaceToHost(inst, params)) {
        argv.insert(argv.end(), {"--tcp-ns=none", "--udp-ns=none"});
    }
    if (params.detached_netns_path != nullptr) {
        argv.push_back("--userns=/proc/" + std::to_string(params.child_pid) + "/ns/user");
        argv.push_back(std::string("--netns=") + params.detached_netns_path);
    } else {
        argv.push_back(std::to_string(params.child_pid));
    }
    return argv;
}

std::string stringify(const Poco::JSON::Object &object) {
    std::ostringstream out;
    object.stringify(out);
    return out.str();
}

Poco::JSON::Array::Ptr dnsArray(const std::string &dns) {
    Poco::JSON::Array::Ptr array = new Poco::JSON::Array;
    array->add(dns);
    return array;
}

// {"dev","ip","prefix","gateway","dns","mtu","opaque":{"child_ip"}}; the host does not set the
// interface up from it (RKP_NEED_OWN_IFACE_SETUP), but writes resolv.conf from "dns".
std::string networkMessage(const rkp_instance &inst, const rkp_net_params &params) {
    Poco::JSON::Object opaque;
    opaque.set("child_ip", inst.addresses.childIp);

    Poco::JSON::Object message;
    message.set("dev", std::string(params.ifname));
    message.set("ip", inst.addresses.childIp);
    message.set("prefix", inst.addresses.prefix);
    message.set("gateway", inst.addresses.gateway);
    message.set("dns", dnsArray(inst.addresses.dns));
    message.set("mtu", params.mtu);
    message.set("opaque", opaque);
    return stringify(message);
}

int create(const rkp_host *host, const char *configJson, rkp_instance **out, rkp_error *err) {
    return rkp::guard(err, [&] {
        auto inst = std::make_unique<rkp_instance>(host, parseConfig(configJson));
        if (host->side == RKP_SIDE_PARENT) {
            // Probing here reports a missing or unusable pasta before any namespace exists.
            inst->features = probeFeatures(inst->config.binary);
            rkp::log(host, RKP_LOG_DEBUG, "using %s (%s, --host-lo-to-ns-lo %s)",
                     inst->features.path.c_str(), inst->features.version.c_str(),
                     inst->features.hostLoToNsLo ? "yes" : "no");
            std::string warning = recommendationWarning(inst->features);
            if (!warning.empty()) {
                rkp::logMessage(host, RKP_LOG_WARN, warning);
            }
        }
        *out = inst.release();
    });
}

void destroy(rkp_instance *inst) {
    delete inst;
}

int configureParent(rkp_instance *inst, const rkp_net_params *params, const rkp_sink *out,
                    rkp_error *err) {
    return rkp::guard(err, [&] {
        inst->process.stop();
        inst->configured = false;
        inst->addresses = deriveAddresses(params->cidr != nullptr ? params->cidr : "");
        std::vector<std::string> argv = buildArgv(*inst, *params);
        warnAboutOpenNamespaceToHost(*inst, *params);

        rkp::log(inst->host, RKP_LOG_DEBUG, "executing %s",
                 rootlesskit::plugin::joinArgv(argv).c_str());
        inst->process.start(inst->features.path, argv,
                            std::chrono::seconds(inst->config.readyTimeoutSeconds),
                            params->child_pid);

        inst->configured = true;
        rkp::sinkWrite(out, networkMessage(*inst, *params));
    });
}

int watch(rkp_instance *inst, int quitFd, rkp_error *err) {
    return rkp::guard(err, [&] { return inst->process.watch(quitFd, err); });
}

int teardown(rkp_instance *inst, rkp_error *err) {
    return rkp::guard(err, [&] { inst->process.stop(); });
}

int info(rkp_instance *inst, const rkp_sink *out, rkp_error *err) {
    return rkp::guard(err, [&] {
        Poco::JSON::Object object(Poco::JSON_PRESERVE_KEY_ORDER);  // upstream's member order
        object.set("driver", "pasta");
        if (inst->configured) {
            object.set("dns", dnsArray(inst->addresses.dns));
            object.set("childIP", inst->addresses.childIp);
        }
        rkp::sinkWrite(out, stringify(object));
    });
}

const rkp_net_ops kNetOps = {
    sizeof(rkp_net_ops), nullptr, configureParent, nullptr, watch, teardown, info,
};

const rkp_plugin kPlugin = {
    sizeof(rkp_plugin),
    RKP_ABI_MAJOR,
    RKP_ABI_MINOR,
    RKP_KIND_NETWORK,
    65520,
    "pasta",
    RKP_PASTA_VERSION,
    "user-mode network through pasta, which also forwards the ports bound inside",
    RKP_SUP_IPV6 | RKP_SUP_DETACH_NETNS | RKP_SUP_CIDR | RKP_SUP_IMPLICIT_PORTS |
        RKP_SUP_DISABLE_HOST_LOOPBACK,
    RKP_NEED_NETNS | RKP_NEED_PORT_IMPLICIT | RKP_NEED_OWN_IFACE_SETUP,
    "tap0",
    nullptr,
    create,
    destroy,
    &kNetOps,
    nullptr,
};

}  // namespace

RKP_DEFINE_PLUGIN(kPlugin)
