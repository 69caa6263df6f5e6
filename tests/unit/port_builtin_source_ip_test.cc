// The builtin port driver's source address handling (--source-ip-transparent), with both halves
// of the plugin in this process: the parent half and the client in one private network
// namespace, where 192.0.2.1 is a local address, the child half and the server in another. Both
// namespaces are the test's own (it needs root for them, and skips without), so the routes and
// rules the child half adds die with them.
#include <arpa/inet.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/netlink.h"
#include "rootlesskit/rkp.h"
#include "tests/unit/builtin_test_host.h"

namespace {

constexpr uint16_t kServerPort = 8007;
constexpr uint16_t kTcpPort = 18001;  // in the test's own namespace: nobody else binds there
constexpr uint16_t kUdpPort = 18002;
constexpr uint16_t kDualStackTcpPort = 18003;
constexpr uint16_t kDualStackUdpPort = 18004;

using builtin_test::appendToString;
using builtin_test::newError;
using builtin_test::plugin;
using builtin_test::TestHost;

// A network namespace of the test's own with lo up, and loAddress (IPv4, /32) on lo unless
// empty.
class Netns {
public:
    explicit Netns(const std::string &loAddress) {
        std::thread maker([&] {
            if (unshare(CLONE_NEWNET) != 0) {
                return;
            }
            fd_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
            ok_ = fd_ >= 0 && rootlesskit::netlinkLinkUp("lo").ok() &&
                  (loAddress.empty() || rootlesskit::netlinkAddAddress("lo", loAddress, 32).ok());
        });
        maker.join();
    }
    ~Netns() {
        if (fd_ >= 0) {
            close(fd_);
        }
    }
    bool ok() const { return ok_; }
    std::string path() const {
        return "/proc/" + std::to_string(getpid()) + "/fd/" + std::to_string(fd_);
    }

    // Runs fn on a thread inside the namespace and waits for it.
    void run(const std::function<void()> &fn) {
        std::thread worker([&] {
            if (setns(fd_, CLONE_NEWNET) != 0) {
                std::abort();  // the test would otherwise touch the host's network
            }
            fn();
        });
        worker.join();
    }

private:
    int fd_ = -1;
    bool ok_ = false;
};

sockaddr_in address4(const char *ip, uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

std::string describe(const sockaddr_in &a) {
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &a.sin_addr, text, sizeof(text));
    return std::string(text) + ":" + std::to_string(ntohs(a.sin_port));
}

// Drops CAP_NET_ADMIN and CAP_NET_RAW from the calling thread (capabilities are per thread), as
// for a child half that may not change the namespace's routing. True when done.
bool dropNetworkAdmin() {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
    if (syscall(SYS_capget, &header, data) != 0) {
        return false;
    }
    uint32_t drop = (1u << CAP_NET_ADMIN) | (1u << CAP_NET_RAW);
    data[0].effective &= ~drop;
    data[0].permitted &= ~drop;
    data[0].inheritable &= ~drop;
    return syscall(SYS_capset, &header, data) == 0;
}

bool readable(int fd, int timeoutMs) {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, timeoutMs) == 1;
}

// The parent half in `outside`, the child half dialing in `inside` (as with --detach-netns).
class SourceIpDriver {
public:
    // childWithoutNetworkAdmin: the child half's loop runs without CAP_NET_ADMIN/CAP_NET_RAW.
    SourceIpDriver(Netns &outside, Netns &inside, bool transparent,
                   bool childWithoutNetworkAdmin = false)
        : dir_(makeDir()),
          parentHost_(RKP_SIDE_PARENT, dir_),
          childHost_(RKP_SIDE_CHILD, dir_),
          outside_(outside) {
        const rkp_plugin *p = plugin();
        rkp_error err = newError();
        if (p->create(parentHost_.get(), "{}", &parent_, &err) != 0 ||
            p->create(childHost_.get(), "{}", &child_, &err) != 0) {
            failure_ = err.message;
            return;
        }
        rkp_port_context ctx{};
        ctx.struct_size = sizeof(ctx);
        ctx.child_ip = "";
        ctx.gateway_ip = "";
        ctx.net_opaque_json = "{}";
        ctx.source_ip_transparent = transparent ? 1 : 0;
        rkp_sink sink{&opaque_, appendToString};
        std::string netns = inside.path();
        if (p->port->init_parent(parent_, &ctx, &sink, &err) != 0 ||
            p->port->init_child(child_, opaque_.c_str(), netns.c_str(), &err) != 0) {
            failure_ = err.message;
            return;
        }
        parentLoop_ = std::thread([this] {
            rkp_error e = newError();
            plugin()->port->run_parent(parent_, quitParent_, &e);
        });
        childLoop_ = std::thread([this, childWithoutNetworkAdmin] {
            rkp_error e = newError();
            if (childWithoutNetworkAdmin && !dropNetworkAdmin()) {
                return;
            }
            plugin()->port->run_child(child_, quitChild_, &e);
        });
    }

    ~SourceIpDriver() {
        uint64_t one = 1;
        (void)!write(quitParent_, &one, sizeof(one));
        (void)!write(quitChild_, &one, sizeof(one));
        if (parentLoop_.joinable()) {
            parentLoop_.join();
        }
        if (childLoop_.joinable()) {
            childLoop_.join();
        }
        if (parent_ != nullptr) {
            plugin()->destroy(parent_);
        }
        if (child_ != nullptr) {
            plugin()->destroy(child_);
        }
        close(quitParent_);
        close(quitChild_);
        std::filesystem::remove_all(dir_);
    }

    const std::string &failure() const { return failure_; }
    const std::string &opaque() const { return opaque_; }
    std::vector<std::string> childWarnings() { return childHost_.linesAtLeast(RKP_LOG_WARN); }

    // Publishes parentIp:parentPort (proto "tcp" or "udp") to 127.0.0.1:kServerPort inside.
    std::string addPort(uint64_t id, const std::string &proto, const char *parentIp,
                        uint16_t parentPort) {
        rkp_port_spec spec{};
        spec.struct_size = sizeof(spec);
        spec.proto = proto == "udp" ? RKP_PROTO_UDP : RKP_PROTO_TCP;
        spec.family = RKP_FAMILY_ANY;
        spec.proto_name = proto.c_str();
        spec.parent_ip = parentIp;
        spec.parent_port = parentPort;
        spec.child_ip = "";
        spec.child_port = kServerPort;
        std::string error;
        outside_.run([&] {
            rkp_error err = newError();
            if (plugin()->port->add_port(parent_, id, &spec, &err) != 0) {
                error = err.message;
            }
        });
        return error;
    }

private:
    static std::string makeDir() {
        char pattern[] = "/tmp/rksip-XXXXXX";
        return mkdtemp(pattern);
    }

    std::string dir_;
    TestHost parentHost_;
    TestHost childHost_;
    Netns &outside_;
    rkp_instance *parent_ = nullptr;
    rkp_instance *child_ = nullptr;
    std::string opaque_;
    std::string failure_;
    int quitParent_ = eventfd(0, EFD_CLOEXEC);
    int quitChild_ = eventfd(0, EFD_CLOEXEC);
    std::thread parentLoop_;
    std::thread childLoop_;
};

class PortBuiltinSourceIpTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (plugin() == nullptr) {
            GTEST_SKIP() << "rkp-port-builtin.so is not built";
        }
        if (geteuid() != 0) {
            GTEST_SKIP() << "private network namespaces need root";
        }
        outside_.emplace("192.0.2.1");
        inside_.emplace("");
        if (!outside_->ok() || !inside_->ok()) {
            GTEST_SKIP() << "cannot set up private network namespaces (unshare, netlink)";
        }
    }

    // In the inside namespace: a TCP server on 127.0.0.1:kServerPort answering each client with
    // the address it sees, and a UDP one doing the same per datagram. Runs until stop().
    void startServers() {
        inside_->run([&] {
            tcp_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            udp_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            sockaddr_in any = address4("0.0.0.0", kServerPort);
            ASSERT_EQ(bind(tcp_, reinterpret_cast<sockaddr *>(&any), sizeof(any)), 0);
            ASSERT_EQ(listen(tcp_, 16), 0);
            ASSERT_EQ(bind(udp_, reinterpret_cast<sockaddr *>(&any), sizeof(any)), 0);
        });
        wake_ = eventfd(0, EFD_CLOEXEC);
        server_ = std::thread([this] {
            for (;;) {
                pollfd p[3] = {{tcp_, POLLIN, 0}, {udp_, POLLIN, 0}, {wake_, POLLIN, 0}};
                if (poll(p, 3, -1) < 0 || p[2].revents != 0) {
                    return;
                }
                sockaddr_in peer{};
                socklen_t length = sizeof(peer);
                if (p[0].revents != 0) {
                    int fd =
                        accept4(tcp_, reinterpret_cast<sockaddr *>(&peer), &length, SOCK_CLOEXEC);
                    std::string line = describe(peer);
                    (void)!write(fd, line.data(), line.size());
                    close(fd);
                }
                if (p[1].revents != 0) {
                    char buffer[512];
                    length = sizeof(peer);
                    if (recvfrom(udp_, buffer, sizeof(buffer), 0,
                                 reinterpret_cast<sockaddr *>(&peer), &length) >= 0) {
                        std::string line = describe(peer);
                        sendto(udp_, line.data(), line.size(), 0,
                               reinterpret_cast<sockaddr *>(&peer), length);
                    }
                }
            }
        });
    }

    void TearDown() override {
        if (server_.joinable()) {
            uint64_t one = 1;
            (void)!write(wake_, &one, sizeof(one));
            server_.join();
            close(wake_);
            close(tcp_);
            close(udp_);
        }
    }

    // From ip (port picked by the kernel) to ip:port: {what the server saw, the client's own
    // address}.
    std::pair<std::string, std::string> ask(int type, uint16_t port, const char *ip = "192.0.2.1") {
        std::pair<std::string, std::string> result;
        outside_->run([&] {
            int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
            sockaddr_in self = address4(ip, 0);
            socklen_t length = sizeof(self);
            sockaddr_in to = address4(ip, port);
            if (bind(fd, reinterpret_cast<sockaddr *>(&self), sizeof(self)) == 0 &&
                getsockname(fd, reinterpret_cast<sockaddr *>(&self), &length) == 0 &&
                connect(fd, reinterpret_cast<sockaddr *>(&to), sizeof(to)) == 0) {
                result.second = describe(self);
                if (type == SOCK_DGRAM) {
                    (void)!send(fd, "who", 3, 0);
                }
                char buffer[128];
                ssize_t n = readable(fd, 5000) ? read(fd, buffer, sizeof(buffer)) : -1;
                if (n > 0) {
                    result.first.assign(buffer, static_cast<size_t>(n));
                }
            }
            close(fd);
        });
        return result;
    }

    std::optional<Netns> outside_;
    std::optional<Netns> inside_;
    int tcp_ = -1;
    int udp_ = -1;
    int wake_ = -1;
    std::thread server_;
};

TEST(PortBuiltinSourceIpDescriptor, DeclaresTheSourceAddressSupport) {
    if (plugin() == nullptr) {
        GTEST_SKIP() << "rkp-port-builtin.so is not built";
    }
    EXPECT_NE(plugin()->supports & RKP_SUP_SOURCE_IP, 0u);
}

TEST_F(PortBuiltinSourceIpTest, OpaqueCarriesTheSettingToTheChildHalf) {
    SourceIpDriver on(*outside_, *inside_, true);
    ASSERT_EQ(on.failure(), "");
    EXPECT_NE(on.opaque().find(R"("builtin.source-ip-transparent":"true")"), std::string::npos)
        << on.opaque();
    SourceIpDriver off(*outside_, *inside_, false);
    ASSERT_EQ(off.failure(), "");
    EXPECT_NE(off.opaque().find(R"("builtin.source-ip-transparent":"false")"), std::string::npos)
        << off.opaque();
}

TEST_F(PortBuiltinSourceIpTest, ServerInsideSeesTheClientForTcpAndUdp) {
    startServers();
    SourceIpDriver driver(*outside_, *inside_, true);
    ASSERT_EQ(driver.failure(), "");
    ASSERT_EQ(driver.addPort(1, "tcp", "192.0.2.1", kTcpPort), "");
    ASSERT_EQ(driver.addPort(2, "udp", "192.0.2.1", kUdpPort), "");

    for (int i = 0; i < 3; ++i) {
        auto [seen, client] = ask(SOCK_STREAM, kTcpPort);
        EXPECT_EQ(client.rfind("192.0.2.1:", 0), 0u) << client;
        EXPECT_EQ(seen, client);
    }
    for (int i = 0; i < 3; ++i) {
        auto [seen, client] = ask(SOCK_DGRAM, kUdpPort);
        EXPECT_EQ(client.rfind("192.0.2.1:", 0), 0u) << client;
        EXPECT_EQ(seen, client);
    }
    EXPECT_EQ(driver.childWarnings(), std::vector<std::string>{});
}

// A listener on every address is dual-stack: an IPv4 client arrives as ::ffff:192.0.2.1 and is
// dialed from 192.0.2.1 towards the IPv4 target.
TEST_F(PortBuiltinSourceIpTest, DualStackListenersKeepIpv4Clients) {
    startServers();
    SourceIpDriver driver(*outside_, *inside_, true);
    ASSERT_EQ(driver.failure(), "");
    ASSERT_EQ(driver.addPort(1, "tcp", "", kDualStackTcpPort), "");
    ASSERT_EQ(driver.addPort(2, "udp", "", kDualStackUdpPort), "");
    auto [tcpSeen, tcpClient] = ask(SOCK_STREAM, kDualStackTcpPort);
    EXPECT_EQ(tcpClient.rfind("192.0.2.1:", 0), 0u) << tcpClient;
    EXPECT_EQ(tcpSeen, tcpClient);
    auto [udpSeen, udpClient] = ask(SOCK_DGRAM, kDualStackUdpPort);
    EXPECT_EQ(udpClient.rfind("192.0.2.1:", 0), 0u) << udpClient;
    EXPECT_EQ(udpSeen, udpClient);
}

// A loopback client's address is local inside too: plain dial, no warning.
TEST_F(PortBuiltinSourceIpTest, LoopbackClientsAreDialedPlainly) {
    startServers();
    SourceIpDriver driver(*outside_, *inside_, true);
    ASSERT_EQ(driver.failure(), "");
    ASSERT_EQ(driver.addPort(1, "tcp", "0.0.0.0", kTcpPort), "");
    auto [seen, client] = ask(SOCK_STREAM, kTcpPort, "127.0.0.2");
    EXPECT_EQ(seen.rfind("127.0.0.1:", 0), 0u) << seen;
    EXPECT_NE(seen, client);
    EXPECT_EQ(driver.childWarnings(), std::vector<std::string>{});
}

// Without the right to change the namespace's routing, every dial still works, plainly, and the
// run says so once.
TEST_F(PortBuiltinSourceIpTest, WithoutPermissionItFallsBackWithOneWarning) {
    startServers();
    SourceIpDriver driver(*outside_, *inside_, true, true);
    ASSERT_EQ(driver.failure(), "");
    ASSERT_EQ(driver.addPort(1, "tcp", "192.0.2.1", kTcpPort), "");
    ASSERT_EQ(driver.addPort(2, "udp", "192.0.2.1", kUdpPort), "");
    for (int i = 0; i < 2; ++i) {
        EXPECT_EQ(ask(SOCK_STREAM, kTcpPort).first.rfind("127.0.0.1:", 0), 0u);
        EXPECT_EQ(ask(SOCK_DGRAM, kUdpPort).first.rfind("127.0.0.1:", 0), 0u);
    }
    std::vector<std::string> warnings = driver.childWarnings();
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_EQ(warnings[0].rfind("source IP transparent: ", 0), 0u) << warnings[0];
}

TEST_F(PortBuiltinSourceIpTest, TurnedOffTheServerSeesALoopbackAddress) {
    startServers();
    SourceIpDriver driver(*outside_, *inside_, false);
    ASSERT_EQ(driver.failure(), "");
    ASSERT_EQ(driver.addPort(1, "tcp", "192.0.2.1", kTcpPort), "");
    ASSERT_EQ(driver.addPort(2, "udp", "192.0.2.1", kUdpPort), "");
    EXPECT_EQ(ask(SOCK_STREAM, kTcpPort).first.rfind("127.0.0.1:", 0), 0u);
    EXPECT_EQ(ask(SOCK_DGRAM, kUdpPort).first.rfind("127.0.0.1:", 0), 0u);
}

}  // namespace
