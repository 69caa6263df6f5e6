// Tests for the slirp4netns port plugin (build/plugins/rkp-port-slirp4netns.so), driven through
// its C ABI: requests it refuses by itself, and ports published through a real slirp4netns (the
// network plugin started against a namespace of our own) to echo servers inside it. Clients
// connect only to 127.0.0.1.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <memory>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "tests/unit/slirp4netns_fixture.h"

namespace rktest::slirp {
namespace {

// A port spec with its strings kept alive.
struct Spec {
    Spec(const std::string &proto, const std::string &parentIp, int parentPort, int childPort,
         const std::string &childIp = "")
        : protoName(proto), parent(parentIp), child(childIp) {
        value.struct_size = sizeof(value);
        value.proto = proto.rfind("udp", 0) == 0    ? RKP_PROTO_UDP
                      : proto.rfind("sctp", 0) == 0 ? RKP_PROTO_SCTP
                                                    : RKP_PROTO_TCP;
        char last = proto.back();
        value.family = last == '4' ? RKP_FAMILY_IPV4 : last == '6' ? RKP_FAMILY_IPV6 : 0;
        value.parent_port = static_cast<uint16_t>(parentPort);
        value.child_port = static_cast<uint16_t>(childPort);
        value.proto_name = protoName.c_str();
        value.parent_ip = parent.c_str();
        value.child_ip = child.c_str();
    }
    std::string protoName, parent, child;
    rkp_port_spec value{};
};

// A port driver instance of the plugin; destroyed at the end of the test.
class PortInstance {
public:
    PortInstance(const rkp_plugin *plugin, const std::string &stateDir)
        : plugin_(plugin), host_(RKP_SIDE_PARENT, stateDir) {}
    ~PortInstance() {
        if (inst_ != nullptr) {
            plugin_->destroy(inst_);
        }
    }
    PortInstance(const PortInstance &) = delete;
    PortInstance &operator=(const PortInstance &) = delete;

    int create(const std::string &config = "{}") {
        err_ = emptyError();
        return plugin_->create(host_.get(), config.c_str(), &inst_, &err_);
    }

    int initParent(const std::string &netOpaque, const std::string &childIp = "") {
        rkp_port_context ctx{};
        ctx.struct_size = sizeof(ctx);
        ctx.child_ip = childIp.c_str();
        ctx.gateway_ip = "";
        ctx.net_opaque_json = netOpaque.c_str();
        StringSink opaque;
        err_ = emptyError();
        int rc = plugin_->port->init_parent(inst_, &ctx, opaque.get(), &err_);
        opaqueForChild_ = opaque.text;
        return rc;
    }

    int add(uint64_t id, const Spec &spec) {
        err_ = emptyError();
        return plugin_->port->add_port(inst_, id, &spec.value, &err_);
    }

    int remove(uint64_t id) {
        err_ = emptyError();
        return plugin_->port->remove_port(inst_, id, &err_);
    }

    std::string info() {
        StringSink out;
        rkp_error err = emptyError();
        plugin_->port->info(inst_, out.get(), &err);
        return out.text;
    }

    std::string error() const { return err_.message; }
    const std::string &opaqueForChild() const { return opaqueForChild_; }

private:
    const rkp_plugin *plugin_;
    RecordingHost host_;
    rkp_instance *inst_ = nullptr;
    rkp_error err_{};
    std::string opaqueForChild_;
};

// A port on 127.0.0.1 that was free a moment ago (slirp4netns binds it itself, so it cannot be
// handed an already bound socket; a clash shows as an add_hostfwd error, not as a wrong pass).
int freePort(int type) {
    int port = 0;
    int fd = listenOn(type, "127.0.0.1", 0, &port);
    close(fd);
    return port;
}

class PortSlirp4netnsTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string reason;
        plugin_ = loadPlugin("rkp-port-slirp4netns.so", &reason);
        if (plugin_ == nullptr) {
            GTEST_SKIP() << reason;
        }
        ASSERT_FALSE(dir_.path().empty());
    }

    const rkp_plugin *plugin_ = nullptr;
    ScratchDir dir_;
};

TEST_F(PortSlirp4netnsTest, DescriptorAndInfo) {
    EXPECT_EQ(plugin_->kind, RKP_KIND_PORT);
    EXPECT_STREQ(plugin_->name, "slirp4netns");
    EXPECT_STREQ(plugin_->protos, "tcp tcp4 udp udp4");
    EXPECT_EQ(plugin_->supports & (RKP_SUP_TCP | RKP_SUP_UDP | RKP_SUP_IPV6 | RKP_SUP_SCTP),
              RKP_SUP_TCP | RKP_SUP_UDP);
    EXPECT_EQ(plugin_->needs, RKP_NEED_NETNS | RKP_NEED_NET_HOSTFWD_API);
    ASSERT_NE(plugin_->port, nullptr);
    EXPECT_EQ(plugin_->port->run_parent, nullptr);
    EXPECT_EQ(plugin_->port->run_child, nullptr);

    PortInstance inst(plugin_, dir_.path());
    ASSERT_EQ(inst.create(), 0) << inst.error();
    EXPECT_EQ(inst.info(), R"({"driver":"slirp4netns","protos":["tcp","tcp4","udp","udp4"],)"
                           R"("disallowLoopbackChildIP":true})");
}

TEST_F(PortSlirp4netnsTest, CreateRejectsConfigKeys) {
    PortInstance inst(plugin_, dir_.path());
    EXPECT_EQ(inst.create(R"({"api_socket":"/x"})"), -EINVAL);
    EXPECT_EQ(inst.error(), "slirp4netns port config: unknown key \"api_socket\" (it takes none)");
}

TEST_F(PortSlirp4netnsTest, InitParentNeedsTheApiSocket) {
    PortInstance inst(plugin_, dir_.path());
    ASSERT_EQ(inst.create(), 0);
    EXPECT_EQ(inst.initParent(R"({"child_ip":"10.0.2.100"})"), -EINVAL);
    EXPECT_EQ(inst.error(),
              "port driver slirp4netns: the network driver published no slirp4netns api socket "
              "(it requires --net=slirp4netns)");
}

TEST_F(PortSlirp4netnsTest, RefusesWhatSlirp4netnsCannotForward) {
    PortInstance inst(plugin_, dir_.path());
    ASSERT_EQ(inst.create(), 0);
    ASSERT_EQ(inst.initParent(R"({"api_socket":")" + dir_.path() +
                              R"(/none.sock","child_ip":"10.0.2.100"})"),
              0)
        << inst.error();
    EXPECT_EQ(inst.opaqueForChild(), "{}");

    EXPECT_EQ(inst.add(1, Spec("tcp6", "::", 8080, 80)), -ENOTSUP);
    EXPECT_EQ(inst.error(), "unsupported protocol \"tcp6\"");
    EXPECT_EQ(inst.add(2, Spec("udp6", "", 8080, 80)), -ENOTSUP);
    EXPECT_EQ(inst.error(), "unsupported protocol \"udp6\"");
    EXPECT_EQ(inst.add(3, Spec("sctp", "", 8080, 80)), -ENOTSUP);
    EXPECT_EQ(inst.error(), "unsupported protocol \"sctp\"");
    EXPECT_EQ(inst.add(4, Spec("tcp", "127.0.0.1", 8080, 80, "::1")), -ENOTSUP);
    EXPECT_EQ(inst.error(), "unsupported IP (v6?): ::1");
    EXPECT_EQ(inst.remove(7), -ENOENT);
    EXPECT_EQ(inst.error(), "unknown id: 7");

    // A request that is acceptable reaches the socket; here nothing listens there.
    EXPECT_EQ(inst.add(5, Spec("tcp", "127.0.0.1", 8080, 80)), -ENOENT);
    EXPECT_EQ(inst.error(), "connect to slirp4netns api socket " + dir_.path() +
                                "/none.sock: no such file or directory");
}

// slirp4netns started by the network plugin with its API socket, against our namespace, where
// echo servers listen on the child address.
class PortSlirp4netnsLiveTest : public PortSlirp4netnsTest {
protected:
    void SetUp() override {
        PortSlirp4netnsTest::SetUp();
        if (IsSkipped()) {
            return;
        }
        std::string reason;
        netPlugin_ = loadPlugin("rkp-net-slirp4netns.so", &reason);
        if (netPlugin_ == nullptr) {
            GTEST_SKIP() << reason;
        }
        if (access("/dev/net/tun", R_OK | W_OK) != 0 ||
            system("command -v slirp4netns >/dev/null 2>&1") != 0) {
            GTEST_SKIP() << "slirp4netns or /dev/net/tun is not available";
        }
        ns_ = std::make_unique<NetnsProcess>(netPlugin_);
        if (!ns_->started()) {
            GTEST_SKIP() << "cannot create a network namespace here";
        }
        ASSERT_EQ(ns_->call("prepare tap0"), "ok");
        startSlirp4netns();
        ASSERT_EQ(ns_->call("configure tap0 10.0.2.100 24 10.0.2.2 65520"), "ok");
        ASSERT_EQ(ns_->call("serve tcp 10.0.2.100 80"), "ok");
        ASSERT_EQ(ns_->call("serve udp 10.0.2.100 5300"), "ok");
    }

    void TearDown() override {
        if (netInst_ != nullptr) {
            rkp_error err = emptyError();
            netPlugin_->net->teardown(netInst_, &err);
            netPlugin_->destroy(netInst_);
        }
    }

    void startSlirp4netns() {
        rkp_error err = emptyError();
        ASSERT_EQ(netPlugin_->create(netHost_.get(), "{}", &netInst_, &err), 0) << err.message;
        rkp_net_params params{};
        params.struct_size = sizeof(params);
        params.child_pid = ns_->pid();
        params.state_dir = dir_.path().c_str();
        params.ifname = "tap0";
        params.mtu = 65520;
        // Host loopback stays enabled: with --disable-host-loopback, libslirp 4.7 drops the
        // namespace's UDP replies to forwarded datagrams (they go to the gateway address).
        params.disable_host_loopback = 0;
        params.port_driver = "slirp4netns";
        params.port_driver_needs = plugin_->needs;
        StringSink netmsg;
        ASSERT_EQ(netPlugin_->net->configure_parent(netInst_, &params, netmsg.get(), &err), 0)
            << err.message;
        // The opaque object is what the host hands the port driver as net_opaque_json.
        Poco::JSON::Object::Ptr opaque = Poco::JSON::Parser()
                                             .parse(netmsg.text)
                                             .extract<Poco::JSON::Object::Ptr>()
                                             ->getObject("opaque");
        ASSERT_TRUE(opaque) << netmsg.text;
        std::ostringstream text;
        opaque->stringify(text);
        netOpaque_ = text.str();
    }

    const rkp_plugin *netPlugin_ = nullptr;
    RecordingHost netHost_{RKP_SIDE_PARENT, "/tmp"};
    rkp_instance *netInst_ = nullptr;
    std::unique_ptr<NetnsProcess> ns_;
    std::string netOpaque_;
};

TEST_F(PortSlirp4netnsLiveTest, ForwardsTcpAndUdpUntilRemoved) {
    PortInstance inst(plugin_, dir_.path());
    ASSERT_EQ(inst.create(), 0);
    ASSERT_EQ(inst.initParent(netOpaque_), 0) << inst.error() << " " << netOpaque_;

    int tcpPort = freePort(SOCK_STREAM);
    ASSERT_EQ(inst.add(1, Spec("tcp", "127.0.0.1", tcpPort, 80)), 0) << inst.error();
    EXPECT_EQ(tcpRoundTrip("127.0.0.1", tcpPort, "hello-tcp"), "hello-tcp");

    int udpPort = freePort(SOCK_DGRAM);
    ASSERT_EQ(inst.add(2, Spec("udp4", "127.0.0.1", udpPort, 5300, "10.0.2.100")), 0)
        << inst.error();
    EXPECT_EQ(udpRoundTrip("127.0.0.1", udpPort, "hello-udp"), "hello-udp");

    ASSERT_EQ(inst.remove(1), 0) << inst.error();
    EXPECT_EQ(tcpRoundTrip("127.0.0.1", tcpPort, "again").rfind("error:", 0), 0u);
    EXPECT_EQ(inst.remove(1), -ENOENT);
    EXPECT_EQ(inst.error(), "unknown id: 1");
    ASSERT_EQ(inst.remove(2), 0) << inst.error();
}

TEST_F(PortSlirp4netnsLiveTest, ReportsSlirp4netnsRefusal) {
    PortInstance inst(plugin_, dir_.path());
    ASSERT_EQ(inst.create(), 0);
    ASSERT_EQ(inst.initParent(netOpaque_), 0) << inst.error();
    int port = 0;
    int taken = listenOn(SOCK_STREAM, "127.0.0.1", 0, &port);
    ASSERT_GE(taken, 0);

    EXPECT_EQ(inst.add(1, Spec("tcp", "127.0.0.1", port, 80)), -EIO);
    EXPECT_EQ(inst.error().rfind("slirp4netns add_hostfwd: ", 0), 0u) << inst.error();
    close(taken);
}

}  // namespace
}  // namespace rktest::slirp
