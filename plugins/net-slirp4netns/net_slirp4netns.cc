// The slirp4netns network plugin: descriptor and C entry points. The parent half starts
// slirp4netns against the child's network namespace; the child half creates the TAP device it
// attaches to. See README.md for the theory of operation.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <cerrno>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "addresses.h"
#include "config.h"
#include "probe.h"
#include "rootlesskit/rkp.hpp"
#include "slirp4netns_process.h"
#include "tap_device.h"

#ifndef RKP_SLIRP4NETNS_VERSION
#define RKP_SLIRP4NETNS_VERSION "0.0.0"
#endif

using namespace rootlesskit::slirp4netns;

// One instance per process: the parent's starts slirp4netns, the child's creates the TAP.
struct rkp_instance {
    rkp_instance(const rkp_host *h, Config c) : host(h), config(std::move(c)), process(h) {}

    const rkp_host *host;
    Config config;
    std::string binaryPath;  // parent only: resolved at create()
    Features features;       // parent only
    bool kernelSeccomp = false;
    Slirp4netnsProcess process;
    bool configured = false;  // addresses and dns are valid
    NetworkAddresses addresses;
    std::vector<std::string> dns;
};

namespace {

// The unix socket slirp4netns serves its hostfwd API on, inside the state directory.
constexpr const char *kApiSocketName = ".s4nn.sock";

// sockaddr_un.sun_path holds 108 bytes including the NUL.
constexpr size_t kMaxSocketPath = 107;

void requireFeature(bool supported, const char *flag) {
    if (!supported) {
        throw rkp::Error(-ENOTSUP,
                         std::string("this version of slirp4netns does not support ") + flag);
    }
}

std::string apiSocketPath(const rkp_net_params &params) {
    if ((params.port_driver_needs & RKP_NEED_NET_HOSTFWD_API) == 0) {
        return "";
    }
    std::string path = std::string(params.state_dir) + "/" + kApiSocketName;
    if (path.size() > kMaxSocketPath) {
        throw rkp::Error(-ENAMETOOLONG, "api socket path " + path + ": longer than " +
                                            std::to_string(kMaxSocketPath) +
                                            " bytes (use a shorter --state-dir)");
    }
    return path;
}

// The options between "-r 3" and the target, in upstream's order.
void appendOptions(std::vector<std::string> &argv, const rkp_instance &inst,
                   const rkp_net_params &params, const Hardening &hardening,
                   const std::string &apiSocket) {
    if (inst.features.exitFd) {
        argv.insert(argv.end(), {"-e", "4"});
    }
    if (params.disable_host_loopback != 0) {
        requireFeature(inst.features.disableHostLoopback, "--disable-host-loopback");
        argv.emplace_back("--disable-host-loopback");
    }
    if (params.cidr != nullptr && params.cidr[0] != '\0') {
        requireFeature(inst.features.cidr, "--cidr");
        argv.insert(argv.end(), {"--cidr", params.cidr});
    }
    if (!apiSocket.empty()) {
        requireFeature(inst.features.apiSocket, "--api-socket");
        argv.insert(argv.end(), {"--api-socket", apiSocket});
    }
    if (hardening.sandbox) {
        argv.emplace_back("--enable-sandbox");
    }
    if (hardening.seccomp) {
        argv.emplace_back("--enable-seccomp");
    }
    if (params.enable_ipv6 != 0) {
        requireFeature(inst.features.ipv6, "--enable-ipv6");
        argv.emplace_back("--enable-ipv6");
    }
}

// Upstream's argv (wrappers and AppArmor profiles match on it): the namespace by the child's PID,
// or by path with the child's user namespace when detached, then the TAP device.
std::vector<std::string> buildArgv(const rkp_instance &inst, const rkp_net_params &params,
                                   const Hardening &hardening, const std::string &apiSocket) {
    std::vector<std::string> argv = {inst.config.binary, "--mtu", std::to_string(params.mtu), "-r",
                                     "3"};
    appendOptions(argv, inst, params, hardening, apiSocket);
    if (params.detached_netns_path != nullptr) {
        argv.push_back("--userns-path=/proc/" + std::to_string(params.child_pid) + "/ns/user");
        argv.insert(argv.end(), {"--netns-type=path", params.detached_netns_path});
    } else {
        argv.push_back(std::to_string(params.child_pid));
    }
    argv.emplace_back(params.ifname);
    return argv;
}

std::string joined(const std::vector<std::string> &argv) {
    std::string out;
    for (const std::string &arg : argv) {
        out += (out.empty() ? "" : " ") + arg;
    }
    return out;
}

std::string stringify(const Poco::JSON::Object &object) {
    std::ostringstream out;
    object.stringify(out);
    return out.str();
}

Poco::JSON::Array::Ptr dnsArray(const std::vector<std::string> &dns) {
    Poco::JSON::Array::Ptr array = new Poco::JSON::Array;
    for (const std::string &server : dns) {
        array->add(server);
    }
    return array;
}

// {"dev","ip","prefix","gateway","dns","mtu","opaque":{"api_socket"?,"child_ip"}}
std::string networkMessage(const rkp_instance &inst, const rkp_net_params &params,
                           const std::string &apiSocket) {
    Poco::JSON::Object opaque;
    if (!apiSocket.empty()) {
        opaque.set("api_socket", apiSocket);
    }
    opaque.set("child_ip", inst.addresses.childIp);

    Poco::JSON::Object message;
    message.set("dev", std::string(params.ifname));
    message.set("ip", inst.addresses.childIp);
    message.set("prefix", inst.addresses.prefix);
    message.set("gateway", inst.addresses.gateway);
    message.set("dns", dnsArray(inst.dns));
    message.set("mtu", params.mtu);
    message.set("opaque", opaque);
    return stringify(message);
}

int create(const rkp_host *host, const char *configJson, rkp_instance **out, rkp_error *err) {
    return rkp::guard(err, [&] {
        auto inst = std::make_unique<rkp_instance>(host, parseConfig(configJson));
        if (host->side == RKP_SIDE_PARENT) {
            // Probing here, once per run, reports a missing or unusable slirp4netns before any
            // namespace exists. The --help process is reaped before create() returns.
            inst->binaryPath = resolveBinary(inst->config.binary);
            inst->features = probeFeatures(inst->binaryPath);
            inst->kernelSeccomp = kernelSupportsSeccomp();
            resolveHardening(inst->config, inst->features, inst->kernelSeccomp, false);
            rkp::log(host, RKP_LOG_DEBUG, "using %s (sandbox %s, seccomp %s in its --help)",
                     inst->binaryPath.c_str(), inst->features.sandbox ? "yes" : "no",
                     inst->features.seccomp ? "yes" : "no");
        }
        *out = inst.release();
    });
}

void destroy(rkp_instance *inst) {
    delete inst;
}

int prepareChild(rkp_instance *inst, const rkp_net_params *params, rkp_error *err) {
    return rkp::guard(err, [&] {
        createPersistentTap(params->ifname, params->detached_netns_path);
        rkp::log(inst->host, RKP_LOG_DEBUG, "created tap device %s", params->ifname);
    });
}

int configureParent(rkp_instance *inst, const rkp_net_params *params, const rkp_sink *out,
                    rkp_error *err) {
    return rkp::guard(err, [&] {
        // 1. Everything that can be checked before a process exists.
        inst->process.stop();
        inst->configured = false;
        inst->addresses = deriveAddresses(params->cidr != nullptr ? params->cidr : "");
        bool detached = params->detached_netns_path != nullptr;
        Hardening hardening =
            resolveHardening(inst->config, inst->features, inst->kernelSeccomp, detached);
        std::string apiSocket = apiSocketPath(*params);
        std::vector<std::string> argv = buildArgv(*inst, *params, hardening, apiSocket);

        // 2. slirp4netns, until it is ready.
        rkp::log(inst->host, RKP_LOG_DEBUG, "executing %s", joined(argv).c_str());
        inst->process.start(inst->binaryPath, argv, inst->features.exitFd,
                            std::chrono::seconds(inst->config.readyTimeoutSeconds));

        // 3. The network message. The addresses are slirp4netns' fixed layout for the CIDR.
        inst->dns = {inst->addresses.dns};
        if (params->enable_ipv6 != 0) {
            inst->dns.emplace_back("fd00::3");
        }
        inst->configured = true;
        rkp::sinkWrite(out, networkMessage(*inst, *params, apiSocket));
    });
}

int watch(rkp_instance *inst, int quitFd, rkp_error *err) {
    return rkp::guard(err, [&] { return inst->process.watch(quitFd, err); });
}

int teardown(rkp_instance *inst, rkp_error *err) {
    // The child half has nothing to undo: its TAP device goes away with the network namespace.
    return rkp::guard(err, [&] { inst->process.stop(); });
}

int info(rkp_instance *inst, const rkp_sink *out, rkp_error *err) {
    return rkp::guard(err, [&] {
        // Members in upstream's order: clients compare /v1/info byte for byte.
        Poco::JSON::Object object(Poco::JSON_PRESERVE_KEY_ORDER);
        object.set("driver", "slirp4netns");
        if (inst->configured) {
            object.set("dns", dnsArray(inst->dns));
            object.set("childIP", inst->addresses.childIp);
        }
        rkp::sinkWrite(out, stringify(object));
    });
}

const rkp_net_ops kNetOps = {
    sizeof(rkp_net_ops), prepareChild, configureParent, nullptr, watch, teardown, info,
};

const rkp_plugin kPlugin = {
    sizeof(rkp_plugin),
    RKP_ABI_MAJOR,
    RKP_ABI_MINOR,
    RKP_KIND_NETWORK,
    65520,
    "slirp4netns",
    RKP_SLIRP4NETNS_VERSION,
    "user-mode network through slirp4netns on a TAP device (hostfwd API for ports)",
    RKP_SUP_IPV6 | RKP_SUP_DETACH_NETNS | RKP_SUP_CIDR | RKP_SUP_HOSTFWD_API |
        RKP_SUP_DISABLE_HOST_LOOPBACK,
    RKP_NEED_NETNS,
    "tap0",
    nullptr,
    create,
    destroy,
    &kNetOps,
    nullptr,
};

}  // namespace

RKP_DEFINE_PLUGIN(kPlugin)
