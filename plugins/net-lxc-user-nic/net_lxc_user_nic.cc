// The lxc-user-nic network plugin: descriptor and C entry points. The parent half has the setuid
// lxc-user-nic put a veth on a host bridge into the child's namespace; the child half obtains an
// address for it by DHCP and keeps the lease. See README.md for the theory of operation.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "config.h"
#include "dhcp_client.h"
#include "helper_process.h"
#include "lease_keeper.h"
#include "rootlesskit/rkp.hpp"
#include "veth_attach.h"

#ifndef RKP_LXC_USER_NIC_VERSION
#define RKP_LXC_USER_NIC_VERSION "0.0.0"
#endif

using namespace rootlesskit;
using namespace rootlesskit::lxc;

// One instance per process: the parent's attaches the veth, the child's leases the address.
struct rkp_instance {
    rkp_instance(const rkp_host *h, Config c)
        : host(h), config(std::move(c)), keeper(h, h->state_dir != nullptr ? h->state_dir : "") {}

    const rkp_host *host;
    Config config;
    LeaseKeeper keeper;  // child only
};

namespace {

// Where lxc-user-nic is looked for when --lxc-user-nic-binary is not given (the CLI's list).
constexpr const char *kBinaryHint =
    "lxc-user-nic was not found in /usr/libexec/lxc, /usr/lib/<arch>-linux-gnu/lxc or "
    "/usr/lib/lxc: install it (Debian: liblxc-common) or give its path with "
    "--lxc-user-nic-binary";

std::string stringify(const Poco::JSON::Object &object) {
    std::ostringstream out;
    object.stringify(out);
    return out.str();
}

// Sets ifname up, with a socket of the calling thread's namespace ("ip link set <dev> up").
void linkUp(const std::string &ifname) {
    plugin::UniqueFd sock(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq request{};
    std::strncpy(request.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    if (!sock.valid() || ioctl(sock.get(), SIOCGIFFLAGS, &request) != 0) {
        throw rkp::Error(-errno, "link " + ifname + " up: " + plugin::errnoText(errno));
    }
    request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
    if (ioctl(sock.get(), SIOCSIFFLAGS, &request) != 0) {
        throw rkp::Error(-errno, "link " + ifname + " up: " + plugin::errnoText(errno));
    }
}

// Runs fn on a thread that entered the network namespace at path (setns() changes only the
// calling thread), or right here when path is NULL. Exceptions come back to the caller.
template <typename Fn>
void inNetns(const char *path, Fn &&fn) {
    if (path == nullptr) {
        fn();
        return;
    }
    std::exception_ptr failure;
    std::thread worker([&] {
        try {
            plugin::UniqueFd ns(open(path, O_RDONLY | O_CLOEXEC));
            if (!ns.valid() || setns(ns.get(), CLONE_NEWNET) != 0) {
                throw rkp::Error(-errno, std::string("enter network namespace ") + path + ": " +
                                             plugin::errnoText(errno));
            }
            fn();
        } catch (...) {
            failure = std::current_exception();
        }
    });
    worker.join();
    if (failure) {
        std::rethrow_exception(failure);
    }
}

// The message the host configures the interface from: the lease, and every DNS server.
std::string leaseMessage(const rkp_net_params &params, const dhcp::Lease &lease) {
    Poco::JSON::Array::Ptr dns = new Poco::JSON::Array;
    for (dhcp::Ipv4 server : lease.dns) {
        dns->add(dhcp::formatIpv4(server));
    }
    Poco::JSON::Object message;
    message.set("dev", std::string(params.ifname));
    message.set("ip", dhcp::formatIpv4(lease.address));
    message.set("prefix", lease.prefix);
    message.set("gateway", dhcp::formatIpv4(lease.router));
    message.set("dns", dns);
    message.set("mtu", params.mtu);
    return stringify(message);
}

int create(const rkp_host *host, const char *configJson, rkp_instance **out, rkp_error *err) {
    return rkp::guard(err, [&] {
        auto inst = std::make_unique<rkp_instance>(host, parseConfig(configJson));
        if (host->side == RKP_SIDE_PARENT) {
            int found = 0;
            if (inst->config.binary.empty()) {
                throw rkp::Error(-ENOENT, kBinaryHint);
            }
            if (plugin::findExecutable(inst->config.binary, &found).empty()) {
                throw rkp::Error(-found, "lxc-user-nic binary \"" + inst->config.binary +
                                             "\": " + plugin::errnoText(found));
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
        VethRequest request;
        request.binary = inst->config.binary;
        request.bridge = inst->config.bridge;
        request.ifname = params->ifname;
        request.childPid = params->child_pid;
        if (params->detached_netns_path != nullptr) {
            request.detachedNetnsPath = params->detached_netns_path;
        }
        attachVeth(inst->host, request);

        // Addresses come from DHCP in the child.
        Poco::JSON::Object message;
        message.set("dev", std::string(params->ifname));
        message.set("mtu", params->mtu);
        rkp::sinkWrite(out, stringify(message));
    });
}

int configureChild(rkp_instance *inst, const rkp_net_params *params, const char *,
                   const rkp_sink *out, rkp_error *err) {
    return rkp::guard(err, [&] {
        std::string ifname = params->ifname;
        std::unique_ptr<dhcp::Client> client;
        dhcp::Lease lease;
        inNetns(params->detached_netns_path, [&] {
            linkUp(ifname);
            client = std::make_unique<dhcp::Client>(ifname);
            lease = client->acquire(std::chrono::seconds(inst->config.dhcpTimeoutSeconds));
        });
        rkp::log(inst->host, RKP_LOG_INFO, "leased %s/%d on %s from %s for %us",
                 dhcp::formatIpv4(lease.address).c_str(), lease.prefix, ifname.c_str(),
                 dhcp::formatIpv4(lease.server).c_str(), lease.leaseSeconds);
        inst->keeper.start(std::move(client), lease);
        rkp::sinkWrite(out, leaseMessage(*params, lease));
    });
}

int teardown(rkp_instance *inst, rkp_error *err) {
    // The veth goes away with the namespace; the child releases its lease.
    return rkp::guard(err, [&] { inst->keeper.stop(); });
}

int info(rkp_instance *, const rkp_sink *out, rkp_error *) {
    rkp::sinkWrite(out, R"({"driver":"lxc-user-nic","dynamicChildIP":true})");
    return 0;
}

const rkp_net_ops kNetOps = {
    sizeof(rkp_net_ops), nullptr, configureParent, configureChild, nullptr, teardown, info,
};

const rkp_plugin kPlugin = {
    sizeof(rkp_plugin),
    RKP_ABI_MAJOR,
    RKP_ABI_MINOR,
    RKP_KIND_NETWORK,
    1500,
    "lxc-user-nic",
    RKP_LXC_USER_NIC_VERSION,
    "a veth on a host bridge through the setuid lxc-user-nic, address by DHCP",
    // Host loopback is never reachable over the bridge: "disable-host-loopback" always holds.
    RKP_SUP_DETACH_NETNS | RKP_SUP_DYNAMIC_IP | RKP_SUP_DISABLE_HOST_LOOPBACK,
    RKP_NEED_NETNS,
    "eth0",
    nullptr,
    create,
    destroy,
    &kNetOps,
    nullptr,
};

}  // namespace

RKP_DEFINE_PLUGIN(kPlugin)
