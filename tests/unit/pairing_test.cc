// checkPairing: every rule decided from declared capability bits, with test-defined plugins that
// declare what the in-tree ones do (so upstream's texts come out) or something else entirely.
#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <vector>

#include "core/options.h"
#include "core/plugin_loader.h"

namespace rootlesskit {
namespace {

int createNothing(const rkp_host *, const char *, rkp_instance **out, rkp_error *) {
    *out = nullptr;
    return 0;
}
void destroyNothing(rkp_instance *) {}
int netConfigure(rkp_instance *, const rkp_net_params *, const rkp_sink *, rkp_error *) {
    return 0;
}
int netTeardown(rkp_instance *, rkp_error *) {
    return 0;
}
int writeNothing(rkp_instance *, const rkp_sink *, rkp_error *) {
    return 0;
}
int portInitParent(rkp_instance *, const rkp_port_context *, const rkp_sink *, rkp_error *) {
    return 0;
}
int portInitChild(rkp_instance *, const char *, const char *, rkp_error *) {
    return 0;
}
int portLoop(rkp_instance *, int, rkp_error *) {
    return 0;
}
int portAdd(rkp_instance *, uint64_t, const rkp_port_spec *, rkp_error *) {
    return 0;
}
int portRemove(rkp_instance *, uint64_t, rkp_error *) {
    return 0;
}

const rkp_net_ops kNetOps = {sizeof(rkp_net_ops), nullptr,     netConfigure, nullptr, nullptr,
                             netTeardown,         writeNothing};
const rkp_port_ops kPortOps = {sizeof(rkp_port_ops), portInitParent, portLoop,
                               portInitChild,        portLoop,       portAdd,
                               portRemove,           nullptr,        writeNothing};

// A registry with the built-ins and plugins declaring what ours declare.
class PairingTest : public ::testing::Test {
protected:
    void SetUp() override {
        registry_.addBuiltins();
        addNet("slirp4netns",
               RKP_SUP_IPV6 | RKP_SUP_DETACH_NETNS | RKP_SUP_CIDR | RKP_SUP_HOSTFWD_API |
                   RKP_SUP_DISABLE_HOST_LOOPBACK,
               RKP_NEED_NETNS);
        addNet("pasta", RKP_SUP_IPV6 | RKP_SUP_CIDR | RKP_SUP_IMPLICIT_PORTS | RKP_SUP_DETACH_NETNS,
               RKP_NEED_NETNS | RKP_NEED_PORT_IMPLICIT | RKP_NEED_OWN_IFACE_SETUP);
        addPort("builtin", RKP_SUP_TCP | RKP_SUP_UDP | RKP_SUP_IPV6 | RKP_SUP_DETACH_NETNS,
                RKP_NEED_NETNS | RKP_NEED_PARENT_LOOP | RKP_NEED_CHILD_LOOP);
        addPort("slirp4netns", RKP_SUP_TCP | RKP_SUP_UDP,
                RKP_NEED_NETNS | RKP_NEED_NET_HOSTFWD_API);
        addPort("implicit", RKP_SUP_IMPLICIT_PORTS | RKP_SUP_DETACH_NETNS,
                RKP_NEED_NETNS | RKP_NEED_NET_IMPLICIT_PORTS);
    }

    void addNet(const char *name, uint64_t supports, uint64_t needs) {
        add(RKP_KIND_NETWORK, name, supports, needs, "tap0");
    }
    void addPort(const char *name, uint64_t supports, uint64_t needs) {
        add(RKP_KIND_PORT, name, supports, needs, nullptr);
    }

    const PluginInfo &net(const std::string &name) { return **registry_.find("network", name); }
    const PluginInfo *port(const std::string &name) {
        return name == "none" ? nullptr : *registry_.find("port", name);
    }

    Status check(const std::string &netName, const std::string &portName) {
        return checkPairing(registry_, net(netName), port(portName), options_, warnings_);
    }

    PluginRegistry registry_;
    Options options_;
    std::vector<std::string> warnings_;

private:
    void add(uint32_t kind, const char *name, uint64_t supports, uint64_t needs,
             const char *ifname) {
        rkp_plugin d{};
        d.struct_size = sizeof(d);
        d.abi_major = RKP_ABI_MAJOR;
        d.abi_minor = RKP_ABI_MINOR;
        d.kind = kind;
        d.name = name;
        d.version = "test";
        d.supports = supports;
        d.needs = needs;
        d.default_ifname = ifname;
        d.create = createNothing;
        d.destroy = destroyNothing;
        d.net = kind == RKP_KIND_NETWORK ? &kNetOps : nullptr;
        d.port = kind == RKP_KIND_PORT ? &kPortOps : nullptr;
        descriptors_.push_back(d);
        registry_.addDescriptor(&descriptors_.back(), "(test)");
        ASSERT_TRUE(registry_.all().back().refusal.empty()) << registry_.all().back().refusal;
    }

    std::deque<rkp_plugin> descriptors_;
};

TEST_F(PairingTest, UsualPairsAreAccepted) {
    EXPECT_TRUE(check("host", "none").ok());
    EXPECT_TRUE(check("none", "none").ok());
    EXPECT_TRUE(check("none", "builtin").ok());
    EXPECT_TRUE(check("slirp4netns", "builtin").ok());
    EXPECT_TRUE(check("slirp4netns", "slirp4netns").ok());
    EXPECT_TRUE(check("pasta", "implicit").ok());
    EXPECT_TRUE(check("pasta", "none").ok());
    EXPECT_TRUE(warnings_.empty());
}

// Rule 1: a network with RKP_NEED_PORT_IMPLICIT and a port driver without IMPLICIT_PORTS.
TEST_F(PairingTest, PortImplicitNetworkRefusesOtherPortDrivers) {
    Status status = check("pasta", "builtin");
    EXPECT_EQ(status.message(), "network \"pasta\" requires port driver \"none\" or \"implicit\"");
    EXPECT_EQ(status.code(), EINVAL);
}

TEST_F(PairingTest, PortImplicitMessageListsEveryImplicitPortPlugin) {
    addPort("also-implicit", RKP_SUP_IMPLICIT_PORTS, RKP_NEED_NET_IMPLICIT_PORTS);
    EXPECT_EQ(check("pasta", "slirp4netns").message(),
              "network \"pasta\" requires port driver \"none\" or \"implicit\" or "
              "\"also-implicit\"");
}

// Rule 3: a port driver with RKP_NEED_NET_IMPLICIT_PORTS on a network without IMPLICIT_PORTS.
TEST_F(PairingTest, ImplicitPortDriverRequiresAnImplicitNetwork) {
    EXPECT_EQ(check("slirp4netns", "implicit").message(), "port driver requires pasta network");
    EXPECT_EQ(check("host", "implicit").message(), "port driver requires pasta network");
}

// Rule 4: RKP_NEED_NET_HOSTFWD_API on a network without HOSTFWD_API.
TEST_F(PairingTest, HostfwdPortDriverRequiresAHostfwdNetwork) {
    EXPECT_EQ(check("host", "slirp4netns").message(), "port driver requires slirp4netns network");
    // A network with a route to the host (lxc-user-nic declares this) gets the same text.
    addNet("bridged", RKP_SUP_DISABLE_HOST_LOOPBACK | RKP_SUP_DYNAMIC_IP, RKP_NEED_NETNS);
    EXPECT_EQ(check("bridged", "slirp4netns").message(),
              "port driver requires slirp4netns network");
}

// Rule 2: a loopback-only namespace names the port drivers that can reach into it.
TEST_F(PairingTest, LoopbackOnlyNetworkNamesThePortDriversThatPair) {
    const std::string expected =
        "network \"none\" requires either port driver \"none\" or \"builtin\"";
    EXPECT_EQ(check("none", "slirp4netns").message(), expected);
    EXPECT_EQ(check("none", "implicit").message(), expected);
    EXPECT_TRUE(check("none", "builtin").ok());
}

// Rule 5: a port driver with RKP_NEED_NETNS on a network without one.
TEST_F(PairingTest, NetnsPortDriverRequiresNonHostNetwork) {
    EXPECT_EQ(check("host", "builtin").message(), "port driver requires non-host network");
}

TEST_F(PairingTest, RulesUseBitsNotNames) {
    // A third-party network declaring what pasta declares gets pasta's treatment.
    addNet("mynet", RKP_SUP_IMPLICIT_PORTS, RKP_NEED_NETNS | RKP_NEED_PORT_IMPLICIT);
    EXPECT_EQ(check("mynet", "builtin").message(),
              "network \"mynet\" requires port driver \"none\" or \"implicit\"");
    EXPECT_TRUE(check("mynet", "implicit").ok());
    EXPECT_EQ(check("slirp4netns", "implicit").message(),
              "port driver requires pasta or mynet network");
}

// Rule 6: options against the declared bits.
TEST_F(PairingTest, CidrNeedsTheCidrCapability) {
    options_.cidr = "10.0.3.0/24";
    EXPECT_EQ(check("none", "none").message(), "custom cidr is not supported for --net=none");
    EXPECT_EQ(check("host", "none").message(), "custom cidr is not supported for --net=host");
    EXPECT_TRUE(check("slirp4netns", "none").ok());
}

TEST_F(PairingTest, IfnameNeedsANetworkWithAnInterface) {
    options_.ifname = "eth7";
    EXPECT_EQ(check("host", "none").message(), "ifname cannot be specified for --net=host");
    EXPECT_EQ(check("none", "none").message(), "ifname cannot be specified for --net=none");
    EXPECT_TRUE(check("slirp4netns", "none").ok());
}

TEST_F(PairingTest, MtuWithoutAnInterfaceIsAWarning) {
    options_.mtu = 1500;
    EXPECT_TRUE(check("host", "none").ok());
    EXPECT_TRUE(check("none", "none").ok());
    EXPECT_EQ(warnings_, (std::vector<std::string>{"--mtu is discarded for --net=host",
                                                   "--mtu is discarded for --net=none"}));
    warnings_.clear();
    EXPECT_TRUE(check("slirp4netns", "none").ok());
    EXPECT_TRUE(warnings_.empty());
}

TEST_F(PairingTest, Ipv6WithoutSupportIsAWarning) {
    options_.ipv6 = true;
    EXPECT_TRUE(check("none", "none").ok());
    EXPECT_EQ(warnings_, std::vector<std::string>{"--ipv6 is discarded for --net=none"});
    warnings_.clear();
    EXPECT_TRUE(check("slirp4netns", "none").ok());
    EXPECT_TRUE(warnings_.empty());
}

TEST_F(PairingTest, CidrErrorComesBeforeThePortDriverError) {
    // Upstream validates the network's options before the port driver.
    options_.cidr = "10.0.3.0/24";
    EXPECT_EQ(check("host", "builtin").message(), "custom cidr is not supported for --net=host");
}

TEST_F(PairingTest, DetachNetnsNeedsItOnBothPlugins) {
    options_.detachNetns = true;
    addNet("nodetach", 0, RKP_NEED_NETNS);
    EXPECT_EQ(check("nodetach", "none").message(),
              "--detach-netns is not supported for --net=nodetach");
    EXPECT_TRUE(check("none", "none").ok());  // the built-in none (and host) support it
    EXPECT_EQ(check("slirp4netns", "slirp4netns").message(),
              "--detach-netns is not supported by port driver \"slirp4netns\"");
    EXPECT_TRUE(check("slirp4netns", "builtin").ok());
}

TEST_F(PairingTest, PublishedProtocolsMustBeSupported) {
    options_.publish = {"127.0.0.1:8080:80/tcp", "[::1]:8081:80/udp6"};
    EXPECT_TRUE(check("slirp4netns", "builtin").ok());

    options_.publish = {"127.0.0.1:8080:80/tcp", "0.0.0.0:8081:80/tcp6"};
    EXPECT_EQ(check("slirp4netns", "slirp4netns").message(),
              "publish 0.0.0.0:8081:80/tcp6: port driver \"slirp4netns\" does not support tcp6");
}

TEST_F(PairingTest, SctpIsLeftToThePortDriver) {
    // The builtin driver refuses sctp when the port is added, with upstream's own text.
    options_.publish = {"127.0.0.1:8080:80/sctp"};
    EXPECT_TRUE(check("slirp4netns", "builtin").ok());
}

TEST_F(PairingTest, PublishIsRefusedWithAnImplicitPortDriver) {
    options_.publish = {"127.0.0.1:8080:80/tcp"};
    EXPECT_EQ(check("pasta", "implicit").message(),
              "-p is not supported with port driver \"implicit\": pasta forwards every port "
              "bound in the namespace");
}

}  // namespace
}  // namespace rootlesskit
