// Tests for the implicit port plugin (build/plugins/rkp-port-implicit.so) through its C ABI: it
// lists the TCP listeners and bound UDP sockets of a network namespace that its processes hold.
// The namespace here is the test's own (given as a "detached" path), so no privilege is needed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <string>

#include <gtest/gtest.h>

#include "tests/unit/slirp4netns_fixture.h"

namespace rktest::implicit {
namespace {

using rktest::slirp::emptyError;
using rktest::slirp::RecordingHost;
using rktest::slirp::ScratchDir;
using rktest::slirp::StringSink;

struct Listed {
    uint64_t id = 0;
    std::string proto;
    int parentPort = 0;
    int childPort = 0;
    std::string parentIp;
    std::string childIp;
};

// A socket bound to 127.0.0.1 on a port the kernel picks (read back), listening when TCP.
class BoundSocket {
public:
    explicit BoundSocket(int type) {
        fd_ = socket(AF_INET, type | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof(addr);
        bool ready = bind(fd_, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) == 0 &&
                     (type != SOCK_STREAM || listen(fd_, 1) == 0) &&
                     getsockname(fd_, reinterpret_cast<sockaddr *>(&addr), &len) == 0;
        port_ = ready ? ntohs(addr.sin_port) : 0;
    }
    ~BoundSocket() { close(); }
    void close() {
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }
    int port() const { return port_; }

private:
    int fd_ = -1;
    int port_ = 0;
};

class PortImplicitTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string reason;
        plugin_ = rktest::slirp::loadPlugin("rkp-port-implicit.so", &reason);
        if (plugin_ == nullptr) {
            GTEST_SKIP() << reason;
        }
        host_ = std::make_unique<RecordingHost>(RKP_SIDE_PARENT, dir_.path());
        rkp_error err = emptyError();
        ASSERT_EQ(plugin_->create(host_->get(), "{}", &inst_, &err), 0) << err.message;

        // The test's own namespace stands in for the detached one.
        netns_ = "/proc/" + std::to_string(getpid()) + "/ns/net";
        rkp_port_context ctx{};
        ctx.struct_size = sizeof(ctx);
        ctx.child_ip = "";
        ctx.gateway_ip = "";
        ctx.detached_netns_path = netns_.c_str();
        ctx.net_opaque_json = "{}";
        StringSink opaque;
        ASSERT_EQ(plugin_->port->init_parent(inst_, &ctx, opaque.get(), &err), 0) << err.message;
        EXPECT_EQ(opaque.text, "{}");
    }
    void TearDown() override {
        if (inst_ != nullptr) {
            plugin_->destroy(inst_);
        }
    }

    // list_ports, keyed by "<proto>/<port>".
    std::map<std::string, Listed> list() {
        std::map<std::string, Listed> out;
        rkp_error err = emptyError();
        int rc = plugin_->port->list_ports(
            inst_,
            [](void *ctx, uint64_t id, const rkp_port_spec *spec) {
                Listed l{id,
                         spec->proto_name,
                         spec->parent_port,
                         spec->child_port,
                         spec->parent_ip,
                         spec->child_ip};
                (*static_cast<std::map<std::string, Listed> *>(
                    ctx))[l.proto + "/" + std::to_string(l.childPort)] = l;
            },
            &out, &err);
        EXPECT_EQ(rc, 0) << err.message;
        return out;
    }

    const rkp_plugin *plugin_ = nullptr;
    ScratchDir dir_;
    std::unique_ptr<RecordingHost> host_;
    rkp_instance *inst_ = nullptr;
    std::string netns_;
};

TEST_F(PortImplicitTest, DescriptorPairsOnlyWithAnImplicitNetwork) {
    EXPECT_STREQ(plugin_->name, "implicit");
    EXPECT_NE(plugin_->supports & RKP_SUP_IMPLICIT_PORTS, 0u);
    EXPECT_NE(plugin_->needs & RKP_NEED_NET_IMPLICIT_PORTS, 0u);
    EXPECT_EQ(plugin_->needs & (RKP_NEED_PARENT_LOOP | RKP_NEED_CHILD_LOOP), 0u);
}

TEST_F(PortImplicitTest, ListsTcpListenersAndBoundUdpSocketsUntilTheyClose) {
    BoundSocket tcp(SOCK_STREAM);
    BoundSocket udp(SOCK_DGRAM);

    std::map<std::string, Listed> ports = list();
    std::string tcpKey = "tcp/" + std::to_string(tcp.port());
    std::string udpKey = "udp/" + std::to_string(udp.port());
    ASSERT_EQ(ports.count(tcpKey), 1u);
    ASSERT_EQ(ports.count(udpKey), 1u);
    EXPECT_EQ(ports[tcpKey].parentPort, tcp.port());
    EXPECT_EQ(ports[tcpKey].parentIp, "");          // pasta listens on every host address
    EXPECT_EQ(ports[tcpKey].childIp, "127.0.0.1");  // the one address bound inside
    EXPECT_NE(ports[tcpKey].id, ports[udpKey].id);

    uint64_t udpId = ports[udpKey].id;
    tcp.close();
    ports = list();
    EXPECT_EQ(ports.count(tcpKey), 0u);
    ASSERT_EQ(ports.count(udpKey), 1u);
    EXPECT_EQ(ports[udpKey].id, udpId);  // a port keeps its ID from one list to the next
}

TEST_F(PortImplicitTest, AddIsRefusedWithAnExplanation) {
    rkp_port_spec spec{};
    spec.struct_size = sizeof(spec);
    spec.proto = RKP_PROTO_TCP;
    spec.parent_port = 8080;
    spec.child_port = 80;
    spec.proto_name = "tcp";
    spec.parent_ip = "";
    spec.child_ip = "";
    rkp_error err = emptyError();

    EXPECT_EQ(plugin_->port->add_port(inst_, 1, &spec, &err), -ENOTSUP);
    EXPECT_STREQ(err.message,
                 "port driver \"implicit\" cannot add ports: the network forwards every port a "
                 "process listens on inside the namespace, so listen on port 80 there instead");
}

TEST_F(PortImplicitTest, RemoveOfAListedPortIsRefusedAndOfAnUnknownIdIsUnknown) {
    BoundSocket tcp(SOCK_STREAM);
    std::map<std::string, Listed> ports = list();
    uint64_t id = ports.at("tcp/" + std::to_string(tcp.port())).id;
    rkp_error err = emptyError();

    EXPECT_EQ(plugin_->port->remove_port(inst_, id, &err), -ENOTSUP);
    EXPECT_NE(std::string(err.message).find("is forwarded for as long as a process inside"),
              std::string::npos)
        << err.message;
    err = emptyError();
    EXPECT_EQ(plugin_->port->remove_port(inst_, 999999, &err), -ENOENT);
    EXPECT_STREQ(err.message, "unknown id: 999999");
}

TEST_F(PortImplicitTest, InfoLeavesPortDriverOutAsUpstream) {
    StringSink out;
    rkp_error err = emptyError();
    EXPECT_EQ(plugin_->port->info(inst_, out.get(), &err), 0);
    EXPECT_EQ(out.text, "");
}

TEST_F(PortImplicitTest, CreateRefusesSettings) {
    rkp_instance *other = nullptr;
    rkp_error err = emptyError();
    EXPECT_EQ(plugin_->create(host_->get(), "{\"x\":1}", &other, &err), -EINVAL);
    EXPECT_STREQ(err.message, "implicit config: unknown key \"x\" (the driver takes no settings)");
}

}  // namespace
}  // namespace rktest::implicit
