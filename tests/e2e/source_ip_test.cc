// End-to-end tests of --source-ip-transparent with the builtin port driver: the server inside
// sees the client's own address and port, for TCP and UDP, IPv4 and IPv6.
//
// The client needs an address that is not loopback, yet traffic may only stay on this machine:
// everything happens inside a private network namespace the test creates (PrivateNetwork, as
// root), whose "uplink" leads nowhere and carries 192.0.2.200 and fdaa:aaaa:aaaa::1. rootlesskit
// runs there as the test user with slirp4netns (which then reaches only that namespace), the
// ports are published on those two addresses, and the clients connect from them. The server
// inside is rk_peer_server (tests/fixtures), which answers with the address it sees.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/e2e/netdrivers_support.h"
#include "tests/e2e/rootlesskit_run.h"
#include "tests/support/process.h"

namespace rktest::netdrivers {
namespace {

using std::chrono::milliseconds;

constexpr const char *kClient4 = "192.0.2.200";
constexpr const char *kClient6 = "fdaa:aaaa:aaaa::1";
constexpr int kInsidePort = 8007;
// The namespace is the test's own and new: these ports cannot be taken by anyone else.
constexpr int kTcp4Port = 18001;
constexpr int kUdp4Port = 18002;
constexpr int kTcp6Port = 18003;
constexpr int kUdp6Port = 18004;

std::string peerServer() {
    return std::string(RK_TEST_FIXTURE_DIR) + "/rk_peer_server";
}

// A socket of ip's family bound to ip with a port the kernel picks; -1 on failure. *port
// receives the port, read back.
int boundSocket(const std::string &ip, int type, int *port) {
    sockaddr_storage address{};
    socklen_t length = 0;
    int family = ip.find(':') == std::string::npos ? AF_INET : AF_INET6;
    if (family == AF_INET) {
        auto *v4 = reinterpret_cast<sockaddr_in *>(&address);
        v4->sin_family = AF_INET;
        inet_pton(AF_INET, ip.c_str(), &v4->sin_addr);
        length = sizeof(sockaddr_in);
    } else {
        auto *v6 = reinterpret_cast<sockaddr_in6 *>(&address);
        v6->sin6_family = AF_INET6;
        inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr);
        length = sizeof(sockaddr_in6);
    }
    int fd = socket(family, type | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr *>(&address), length) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr *>(&address), &length) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    *port = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in *>(&address)->sin_port
                                    : reinterpret_cast<sockaddr_in6 *>(&address)->sin6_port);
    return fd;
}

bool connectTo(int fd, const std::string &ip, int port) {
    sockaddr_storage address{};
    socklen_t length;
    if (ip.find(':') == std::string::npos) {
        auto *v4 = reinterpret_cast<sockaddr_in *>(&address);
        v4->sin_family = AF_INET;
        v4->sin_port = htons(static_cast<uint16_t>(port));
        inet_pton(AF_INET, ip.c_str(), &v4->sin_addr);
        length = sizeof(sockaddr_in);
    } else {
        auto *v6 = reinterpret_cast<sockaddr_in6 *>(&address);
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(static_cast<uint16_t>(port));
        inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr);
        length = sizeof(sockaddr_in6);
    }
    return connect(fd, reinterpret_cast<sockaddr *>(&address), length) == 0;
}

// Reads until a newline, EOF or timeout.
std::string readLine(int fd, milliseconds timeout) {
    std::string data;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    char c;
    while (data.empty() || data.back() != '\n') {
        auto left =
            std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
        pollfd p = {fd, POLLIN, 0};
        if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0 ||
            read(fd, &c, 1) != 1) {
            break;
        }
        data.push_back(c);
    }
    return data;
}

// An open TCP connection from ip (port picked by the kernel) to ip:port, and the line the server
// inside sent first. Retries while the server inside is not up yet.
struct TcpProbe {
    int fd = -1;
    int clientPort = 0;
    std::string seen;

    TcpProbe(const std::string &ip, int port) {
        waitFor([&] { return attempt(ip, port); }, std::chrono::seconds(20));
    }
    ~TcpProbe() {
        if (fd >= 0) {
            close(fd);
        }
    }

    bool attempt(const std::string &ip, int port) {
        fd = boundSocket(ip, SOCK_STREAM, &clientPort);
        if (fd >= 0 && connectTo(fd, ip, port)) {
            seen = readLine(fd, milliseconds(3000));
            if (!seen.empty()) {
                return true;
            }
        }
        if (fd >= 0) {
            close(fd);
            fd = -1;
        }
        return false;
    }
};

// What the server inside answers to datagrams from ip (port picked by the kernel) to ip:port;
// *clientPort receives the client's port. "" when no reply came.
std::string udpProbe(const std::string &ip, int port, int *clientPort) {
    int fd = boundSocket(ip, SOCK_DGRAM, clientPort);
    if (fd < 0) {
        return "";
    }
    if (!connectTo(fd, ip, port)) {
        close(fd);
        return "";
    }
    std::string reply;
    // Repeated: the server inside may not be up yet.
    waitFor(
        [&] {
            pollfd p = {fd, POLLIN, 0};
            char buffer[512];
            ssize_t n = send(fd, "who", 3, 0) >= 0 && poll(&p, 1, 300) == 1
                            ? recv(fd, buffer, sizeof(buffer), 0)
                            : -1;
            if (n > 0) {
                reply.assign(buffer, static_cast<size_t>(n));
            }
            return !reply.empty();
        },
        std::chrono::seconds(20));
    close(fd);
    return reply;
}

class SourceIpTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string reason;
        if (!testUser(&reason)) {
            GTEST_SKIP() << reason;
        }
        if (access(binPath("rootlesskit").c_str(), X_OK) != 0) {
            GTEST_SKIP() << "rootlesskit is not built: " << binPath("rootlesskit");
        }
        if (access(peerServer().c_str(), X_OK) != 0) {
            GTEST_SKIP() << "the fixture is not built: " << peerServer();
        }
        if (!haveCommand("slirp4netns")) {
            GTEST_SKIP() << "slirp4netns is not installed";
        }
        if (!network_.error().empty()) {
            GTEST_SKIP() << "these tests need a private network namespace: " << network_.error();
        }
    }

    void TearDown() override {
        if (keeper_.joinable()) {
            stop_.set_value();
            keeper_.join();
        }
    }

    // rootlesskit with slirp4netns and the builtin driver, the peer server inside, the four
    // ports published on the client addresses (IPv6 ones dial [::1] inside).
    void start(std::vector<std::string> flags = {}, bool detached = false) {
        std::string in = ":" + std::to_string(kInsidePort);
        std::vector<std::string> all = {
            "--net=slirp4netns",
            "--port-driver=builtin",
            "-p",
            std::string(kClient4) + ":" + std::to_string(kTcp4Port) + in + "/tcp",
            "-p",
            std::string(kClient4) + ":" + std::to_string(kUdp4Port) + in + "/udp",
            "-p",
            "[" + std::string(kClient6) + "]:" + std::to_string(kTcp6Port) + ":[::1]" + in + "/tcp",
            "-p",
            "[" + std::string(kClient6) + "]:" + std::to_string(kUdp6Port) + ":[::1]" + in +
                "/udp"};
        all.insert(all.end(), flags.begin(), flags.end());
        std::vector<std::string> command = {peerServer(), std::to_string(kInsidePort)};
        if (detached) {
            // The child stays outside the namespace the ports lead to: start the server there.
            all.emplace_back("--detach-netns");
            command = {"sh", "-c",
                       "exec nsenter -n$ROOTLESSKIT_STATE_DIR/netns " + peerServer() + " " +
                           std::to_string(kInsidePort)};
        }
        // The run is started, stopped and reaped by one thread that stays alive meanwhile: the
        // process dies with the thread that started it (PR_SET_PDEATHSIG).
        std::promise<void> started;
        keeper_ = std::thread([&, stopped = stop_.get_future()] {
            network_.run([&] {
                run_ = std::make_unique<RootlesskitRun>(binPath("rootlesskit"), all, command);
                started.set_value();
                stopped.wait();
                run_->stop();
                run_.reset();
                return 0;
            });
        });
        started.get_future().wait();
        ASSERT_TRUE(run_->waitApi()) << run_->process().errSoFar();
    }

    // "ip rule" inside the child's namespace (the test runs as root).
    std::string rulesInside() {
        RunOptions options;
        options.user = "root";
        return runAsTestUser(
                   {"nsenter", "-t", std::to_string(run_->childPid()), "-n", "ip", "rule"}, options)
            .out;
    }

    std::string expected(const std::string &ip, int port) {
        return ip + " " + std::to_string(port) + "\n";
    }

    PrivateNetwork network_;
    std::unique_ptr<RootlesskitRun> run_;
    std::thread keeper_;
    std::promise<void> stop_;
};

TEST_F(SourceIpTest, TcpServerSeesTheClientsAddressAndPort) {
    ASSERT_NO_FATAL_FAILURE(start());
    for (const char *ip : {kClient4, kClient6}) {
        int port = ip == kClient4 ? kTcp4Port : kTcp6Port;
        auto probe = network_.run([&] { return std::make_shared<TcpProbe>(ip, port); });
        EXPECT_EQ(probe->seen, expected(ip, probe->clientPort)) << run_->process().errSoFar();
    }
}

TEST_F(SourceIpTest, UdpServerSeesTheClientsAddressAndPortAndRepliesArrive) {
    ASSERT_NO_FATAL_FAILURE(start());
    for (const char *ip : {kClient4, kClient6}) {
        int port = ip == kClient4 ? kUdp4Port : kUdp6Port;
        // Several clients one after the other and at once: each gets its own reply.
        std::vector<int> clientPorts(3);
        std::vector<std::string> seen(3);
        network_.run([&] {
            std::vector<std::thread> clients;
            for (size_t i = 0; i < seen.size(); ++i) {
                clients.emplace_back([&, i] { seen[i] = udpProbe(ip, port, &clientPorts[i]); });
            }
            for (auto &client : clients) {
                client.join();
            }
            return 0;
        });
        for (size_t i = 0; i < seen.size(); ++i) {
            EXPECT_EQ(seen[i], expected(ip, clientPorts[i])) << run_->process().errSoFar();
        }
    }
}

TEST_F(SourceIpTest, TurnedOffTheServerSeesANamespaceLocalAddress) {
    ASSERT_NO_FATAL_FAILURE(start({"--source-ip-transparent=false"}));
    auto tcp4 = network_.run([&] { return std::make_shared<TcpProbe>(kClient4, kTcp4Port); });
    EXPECT_EQ(tcp4->seen.rfind("127.0.0.1 ", 0), 0u) << tcp4->seen;
    auto tcp6 = network_.run([&] { return std::make_shared<TcpProbe>(kClient6, kTcp6Port); });
    EXPECT_EQ(tcp6->seen.rfind("::1 ", 0), 0u) << tcp6->seen;
    int clientPort = 0;
    std::string udp4 = network_.run([&] { return udpProbe(kClient4, kUdp4Port, &clientPort); });
    EXPECT_EQ(udp4.rfind("127.0.0.1 ", 0), 0u) << udp4;
}

// With a TCP connection and a UDP flow open from the client, the namespace still reaches the
// outside as before: here the host's loopback through slirp4netns's gateway 10.0.2.2.
TEST_F(SourceIpTest, OtherTrafficOfTheNamespaceIsUnaffected) {
    auto host = network_.run(
        [&] { return std::make_shared<HostTcpServer>("127.0.0.1", "hello from the host\n"); });
    ASSERT_TRUE(host->listening());
    ASSERT_NO_FATAL_FAILURE(start());
    auto open = network_.run([&] { return std::make_shared<TcpProbe>(kClient4, kTcp4Port); });
    ASSERT_EQ(open->seen, expected(kClient4, open->clientPort));
    int clientPort = 0;
    std::string udp = network_.run([&] { return udpProbe(kClient4, kUdp4Port, &clientPort); });
    ASSERT_EQ(udp, expected(kClient4, clientPort));

    // Enter the child's namespace (the test runs as root) and connect out from there.
    pid_t child = run_->childPid();
    ASSERT_GT(child, 0);
    std::string greeting;
    std::thread inside([&] {
        int ns =
            ::open(("/proc/" + std::to_string(child) + "/ns/net").c_str(), O_RDONLY | O_CLOEXEC);
        if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) {
            return;
        }
        close(ns);
        greeting = tcpRead("10.0.2.2", host->port());
    });
    inside.join();
    EXPECT_EQ(greeting, "hello from the host\n");
}

// A UDP flow's routing rule lives as long as the flow: here the flow idles out after a second,
// and the child half's sweep (every 10 s) deletes the rule.
TEST_F(SourceIpTest, UdpFlowRuleGoesAwayWithItsFlow) {
    TempDir tmp;
    std::string profile = tmp.path() + "/short-udp.yaml";
    std::ofstream(profile) << "drivers:\n  port:\n    builtin:\n"
                              "      udp_idle_timeout_seconds: 1\n";
    ASSERT_NO_FATAL_FAILURE(start({"--profile=" + profile}));
    int clientPort = 0;
    std::string udp = network_.run([&] { return udpProbe(kClient4, kUdp4Port, &clientPort); });
    ASSERT_EQ(udp, expected(kClient4, clientPort));

    std::string rule = "to " + std::string(kClient4) + " ipproto udp sport " +
                       std::to_string(kInsidePort) + " dport " + std::to_string(clientPort);
    std::string before = rulesInside();
    EXPECT_NE(before.find(rule), std::string::npos) << before;
    EXPECT_TRUE(waitFor([&] { return rulesInside().find(rule) == std::string::npos; },
                        std::chrono::seconds(25)))
        << rulesInside();
}

// The same for --detach-netns, where the dials happen on a thread inside the detached namespace.
TEST_F(SourceIpTest, DetachedNetnsKeepsTheClientsAddress) {
    ASSERT_NO_FATAL_FAILURE(start({}, true));
    auto tcp = network_.run([&] { return std::make_shared<TcpProbe>(kClient4, kTcp4Port); });
    EXPECT_EQ(tcp->seen, expected(kClient4, tcp->clientPort)) << run_->process().errSoFar();
    int clientPort = 0;
    std::string udp = network_.run([&] { return udpProbe(kClient6, kUdp6Port, &clientPort); });
    EXPECT_EQ(udp, expected(kClient6, clientPort)) << run_->process().errSoFar();
}

}  // namespace
}  // namespace rktest::netdrivers
