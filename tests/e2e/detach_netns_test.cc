// End-to-end tests of --detach-netns with slirp4netns, none and host (pasta and lxc-user-nic run
// their own tests in both modes): the command stays in the host's network namespace, the
// detached one is at $ROOTLESSKIT_STATE_DIR/netns, configured by the driver, reachable with
// nsenter, and port drivers forward into it; and slirp4netns' --ipv6 in both modes. Clients talk
// only to 127.0.0.1 on the host.
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/e2e/netdrivers_support.h"
#include "tests/support/process.h"

namespace rktest::netdrivers {
namespace {

constexpr const char *kNs = "nsenter -n$ROOTLESSKIT_STATE_DIR/netns ";

std::string readFile(const std::string &path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

class DetachNetnsE2eTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string reason;
        if (!testUser(&reason)) {
            GTEST_SKIP() << reason;
        }
        if (access(binPath("rootlesskit").c_str(), X_OK) != 0) {
            GTEST_SKIP() << "rootlesskit is not built: " << binPath("rootlesskit");
        }
        if (!haveCommand("nsenter")) {
            GTEST_SKIP() << "nsenter (util-linux) is not installed";
        }
    }

    void requireSlirp4netns() {
        if (!haveCommand("slirp4netns") || access("/dev/net/tun", R_OK | W_OK) != 0) {
            GTEST_SKIP() << "slirp4netns or /dev/net/tun is missing";
        }
    }
};

// The documented --detach-netns use: the driver's address shows up in the detached namespace.
TEST_F(DetachNetnsE2eTest, Slirp4netnsConfiguresTheDetachedNamespace) {
    requireSlirp4netns();
    RunResult r = runInside({"--net=slirp4netns", "--detach-netns", "--disable-host-loopback"},
                            std::string(kNs) + "ip -o addr; " + kNs + "ip route; " + kNs +
                                "ip -o link show tap0; echo outside:; ip -o link");

    ASSERT_EQ(r.exitCode, 0) << r.err;
    std::string inside = r.out.substr(0, r.out.find("outside:"));
    std::string outside = r.out.substr(r.out.find("outside:"));
    EXPECT_NE(inside.find("tap0    inet 10.0.2.100/24"), std::string::npos) << r.out;
    EXPECT_NE(inside.find("default via 10.0.2.2 dev tap0"), std::string::npos) << r.out;
    EXPECT_NE(inside.find("mtu 65520"), std::string::npos) << r.out;
    EXPECT_NE(inside.find("lo    inet 127.0.0.1/8"), std::string::npos) << r.out;
    // The command itself sees the host's interfaces, not tap0.
    EXPECT_EQ(outside.find("tap0"), std::string::npos) << r.out;
    EXPECT_NE(outside.find("lo:"), std::string::npos) << r.out;
}

// The text between the line "== name ==" and the next such line (or the end).
std::string section(const std::string &out, const std::string &name) {
    std::string marker = "== " + name + " ==\n";
    size_t begin = out.find(marker);
    if (begin == std::string::npos) {
        return "";
    }
    begin += marker.size();
    size_t end = out.find("== ", begin);
    return out.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

// resolv.conf and hosts are written, not bind-mounted: the command keeps the host's /etc files.
TEST_F(DetachNetnsE2eTest, StateFilesAreWrittenButNotMounted) {
    requireSlirp4netns();
    RunResult r = runInside({"--net=slirp4netns", "--detach-netns", "--disable-host-loopback"},
                            "echo '== netns =='; stat -f -c %T $ROOTLESSKIT_STATE_DIR/netns; "
                            "echo '== resolv =='; cat $ROOTLESSKIT_STATE_DIR/resolv.conf; "
                            "echo '== hosts =='; cat $ROOTLESSKIT_STATE_DIR/hosts; "
                            "echo '== etc =='; cat /etc/resolv.conf; "
                            "echo '== dir =='; echo $ROOTLESSKIT_STATE_DIR; "
                            "echo '== pid =='; cat $ROOTLESSKIT_STATE_DIR/child_pid");

    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(section(r.out, "netns"), "nsfs\n") << r.out;  // a namespace is mounted there
    EXPECT_EQ(section(r.out, "resolv"), "nameserver 10.0.2.3\n") << r.out;
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    EXPECT_NE(section(r.out, "hosts").find(std::string(host)), std::string::npos) << r.out;
    EXPECT_EQ(section(r.out, "etc"), readFile("/etc/resolv.conf")) << r.out;
    std::string dir = section(r.out, "dir");
    ASSERT_FALSE(dir.empty()) << r.out;
    dir.pop_back();
    EXPECT_FALSE(std::filesystem::exists(dir)) << dir;
    // slirp4netns named the namespace by its host-side path; it is gone with the run.
    std::string netns = "/proc/" + section(r.out, "pid") + "/root" + dir + "/netns";
    EXPECT_TRUE(processesWithArgument(netns).empty()) << netns;
}

TEST_F(DetachNetnsE2eTest, Slirp4netnsReachesHostLoopbackFromTheDetachedNamespace) {
    requireSlirp4netns();
    if (geteuid() != 0) {
        GTEST_SKIP() << "the host server is started by the test process as root";
    }
    HostTcpServer server("127.0.0.1", "hello from the host\n");
    ASSERT_TRUE(server.listening());

    RunResult r =
        runInside({"--net=slirp4netns", "--detach-netns"},
                  std::string(kNs) + "busybox nc -w 5 10.0.2.2 " + std::to_string(server.port()));

    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(r.out, "hello from the host\n");

    // --disable-host-loopback closes that path.
    RunResult closed = runInside({"--net=slirp4netns", "--detach-netns", "--disable-host-loopback"},
                                 std::string(kNs) + "busybox nc -w 3 10.0.2.2 " +
                                     std::to_string(server.port()) + "; echo rc=$?");
    EXPECT_NE(closed.out.find("rc=1"), std::string::npos) << closed.out;
    EXPECT_EQ(server.connections(), 1);
}

// The builtin port driver dials inside the detached namespace.
TEST_F(DetachNetnsE2eTest, BuiltinPortDriverForwardsIntoTheDetachedNamespace) {
    requireSlirp4netns();
    if (!haveCommand("busybox")) {
        GTEST_SKIP() << "busybox is not installed";
    }
    TempDir www;
    std::ofstream(www.path() + "/index.html") << "hello from the detached namespace\n";
    int port = freePort();
    BackgroundProcess run({binPath("rootlesskit"), "--net=slirp4netns", "--detach-netns",
                           "--disable-host-loopback", "--port-driver=builtin", "-p",
                           "127.0.0.1:" + std::to_string(port) + ":80/tcp", "--pidns", "sh", "-c",
                           std::string(kNs) + "busybox httpd -f -p 80 -h " + www.path()});

    std::string page;
    EXPECT_TRUE(waitFor(
        [&] {
            page = tcpRead("127.0.0.1", port, "GET / HTTP/1.0\r\n\r\n", std::chrono::seconds(2));
            return page.find("hello from the detached namespace") != std::string::npos;
        },
        std::chrono::seconds(20)))
        << page << run.errSoFar();
    run.signal(SIGTERM);
    run.wait();
}

// --ipv6 with slirp4netns, attached and detached: slirp4netns advertises fd00::/64, the kernel
// configures an address and a default route from it (asynchronously: the script polls for them).
class Slirp4netnsIpv6Test : public DetachNetnsE2eTest,
                            public ::testing::WithParamInterface<bool> {};

TEST_P(Slirp4netnsIpv6Test, GetsAGlobalAddressAndDefaultRoute) {
    requireSlirp4netns();
    std::string ns = GetParam() ? kNs : "";
    std::vector<std::string> flags = {"--net=slirp4netns", "--ipv6", "--disable-host-loopback"};
    if (GetParam()) {
        flags.emplace_back("--detach-netns");
    }
    RunResult r = runInside(flags, "for i in $(seq 100); do " + ns +
                                       "ip -6 route | grep -q '^default' && break; sleep 0.1; "
                                       "done; " +
                                       ns + "ip -6 -o addr show tap0; " + ns +
                                       "ip -6 route; cat $ROOTLESSKIT_STATE_DIR/resolv.conf");

    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.out.find("inet6 fd00::"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("scope global"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("default via fe80::2 dev tap0"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("nameserver 10.0.2.3\nnameserver fd00::3\n"), std::string::npos) << r.out;
}

INSTANTIATE_TEST_SUITE_P(Netns, Slirp4netnsIpv6Test, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool> &info) {
                             return info.param ? "Detached" : "Attached";
                         });

TEST_F(DetachNetnsE2eTest, NoneGivesADetachedNamespaceWithLoopbackOnly) {
    RunResult r =
        runInside({"--net=none", "--detach-netns"}, std::string(kNs) + "ip -o link; " + kNs +
                                                        "ip -o -4 addr; "
                                                        "ls $ROOTLESSKIT_STATE_DIR");

    ASSERT_EQ(r.exitCode, 0) << r.err;
    std::vector<std::string> links = linesWith(r.out, "link/");
    ASSERT_EQ(links.size(), 1u) << r.out;
    EXPECT_NE(links[0].find("lo: <LOOPBACK,UP,LOWER_UP>"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("inet 127.0.0.1/8"), std::string::npos) << r.out;
    // none has no DNS: no resolv.conf.
    EXPECT_EQ(r.out.find("resolv.conf"), std::string::npos) << r.out;
}

// Upstream creates the namespace even for the host network, and leaves it unconfigured.
TEST_F(DetachNetnsE2eTest, HostStillCreatesAnUnconfiguredDetachedNamespace) {
    RunResult r = runInside({"--net=host", "--detach-netns"}, std::string(kNs) + "ip -o link");

    ASSERT_EQ(r.exitCode, 0) << r.err;
    std::vector<std::string> links = linesWith(r.out, "link/");
    ASSERT_EQ(links.size(), 1u) << r.out;
    EXPECT_NE(links[0].find("lo: <LOOPBACK>"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace rktest::netdrivers
