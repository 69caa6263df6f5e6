// End-to-end tests of --net=lxc-user-nic: the real rootlesskit as the test user, the real setuid
// lxc-user-nic, and dnsmasq serving DHCP on the bridge scripts/setup-lxc-bridge.sh creates
// (lxcbr0, 10.0.3.1/24, no uplink, renewal time 5 s). Traffic stays on that bridge.
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/e2e/netdrivers_support.h"
#include "tests/support/process.h"

namespace rktest::netdrivers {
namespace {

constexpr const char *kBridge = "lxcbr0";
constexpr const char *kBridgeAddress = "10.0.3.1";
constexpr const char *kLeaseFile = "/var/lib/rootlesskit-lxc/dnsmasq.leases";

std::string inNetns(bool detached) {
    return detached ? "nsenter -n$ROOTLESSKIT_STATE_DIR/netns " : "";
}

// The first "inet A.B.C.D/N" of ip's output, "" when none.
std::string firstInet(const std::string &text) {
    std::smatch match;
    static const std::regex inet("inet (10\\.0\\.3\\.[0-9]+)/24");
    return std::regex_search(text, match, inet) ? match[1].str() : "";
}

std::string readFile(const std::string &path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

class LxcUserNicTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string reason;
        if (!testUser(&reason)) {
            GTEST_SKIP() << reason;
        }
        if (access(binPath("rootlesskit").c_str(), X_OK) != 0) {
            GTEST_SKIP() << "rootlesskit is not built: " << binPath("rootlesskit");
        }
        if (access("/usr/libexec/lxc/lxc-user-nic", X_OK) != 0 ||
            access((std::string("/sys/class/net/") + kBridge + "/bridge").c_str(), F_OK) != 0 ||
            readFile("/etc/lxc/lxc-usernet").find(" veth lxcbr0 ") == std::string::npos) {
            GTEST_SKIP() << "lxc-user-nic, the lxcbr0 bridge or its lxc-usernet entry is missing: "
                            "run scripts/setup-lxc-bridge.sh as root";
        }
    }
};

// The same checks with the namespace attached to the child and detached (--detach-netns).
class LxcUserNicE2eTest : public LxcUserNicTest, public ::testing::WithParamInterface<bool> {
protected:
    bool detached() const { return GetParam(); }
    std::vector<std::string> flags(std::vector<std::string> more = {}) {
        more.insert(more.begin(), "--net=lxc-user-nic");
        if (detached()) {
            more.emplace_back("--detach-netns");
        }
        return more;
    }
};

TEST_P(LxcUserNicE2eTest, LeasesAnAddressOnTheBridge) {
    std::string ns = inNetns(detached());
    RunResult r = runInside(flags(), ns + "ip -4 -o addr show eth0; " + ns + "ip route; " + ns +
                                         "ip -o link show eth0; "
                                         "cat $ROOTLESSKIT_STATE_DIR/resolv.conf");

    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_FALSE(firstInet(r.out).empty()) << r.out;
    EXPECT_NE(r.out.find("default via 10.0.3.1 dev eth0"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("mtu 1500"), std::string::npos) << r.out;
    // resolv.conf comes from the lease, and never has an empty nameserver line.
    EXPECT_NE(r.out.find("nameserver 10.0.3.1\n"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("nameserver \n"), std::string::npos) << r.out;
}

TEST_P(LxcUserNicE2eTest, TalksTcpWithTheBridgeAddress) {
    if (geteuid() != 0) {
        GTEST_SKIP() << "binding the bridge address needs the tests to run as root";
    }
    HostTcpServer server(kBridgeAddress, "hello from the bridge\n");
    ASSERT_TRUE(server.listening());

    RunResult r = runInside(flags(), inNetns(detached()) + "busybox nc -w 5 " + kBridgeAddress +
                                         " " + std::to_string(server.port()));

    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(r.out, "hello from the bridge\n");
    EXPECT_EQ(server.connections(), 1);
}

// Neither through the namespace's own loopback nor through the bridge's address (the gateway):
// a service on the host's 127.0.0.1 stays out of reach, with or without --disable-host-loopback.
TEST_P(LxcUserNicE2eTest, HostLoopbackIsNeverReachable) {
    if (geteuid() != 0) {
        GTEST_SKIP() << "the host server is started by the test process as root";
    }
    HostTcpServer server("127.0.0.1", "hello from host loopback\n");
    ASSERT_TRUE(server.listening());
    std::string port = std::to_string(server.port());
    std::string ns = inNetns(detached());

    RunResult r =
        runInside(flags(), ns + "busybox nc -w 3 127.0.0.1 " + port + "; echo lo=$?; " + ns +
                               "busybox nc -w 3 " + kBridgeAddress + " " + port + "; echo gw=$?");

    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.out.find("lo=1"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("gw=1"), std::string::npos) << r.out;
    EXPECT_EQ(server.connections(), 0);
}

// With a renewal time of 5 s on the test bridge, 24 s cover three renewals with room to spare
// for a slow DHCP exchange on a loaded machine (18 s proved too tight).
TEST_P(LxcUserNicE2eTest, KeepsTheAddressAcrossRenewals) {
    std::string ns = inNetns(detached());
    RunResult r = runInside(
        flags({"--debug"}),
        ns + "ip -4 -o addr show eth0; sleep 24; echo after:; " + ns + "ip -4 -o addr show eth0",
        std::chrono::seconds(60));

    ASSERT_EQ(r.exitCode, 0) << r.err;
    std::string before = firstInet(r.out.substr(0, r.out.find("after:")));
    std::string after = firstInet(r.out.substr(r.out.find("after:")));
    ASSERT_FALSE(before.empty()) << r.out;
    EXPECT_EQ(after, before) << r.out;
    EXPECT_GE(linesWith(r.err, "renewed lease of " + before + " on eth0").size(), 3u) << r.err;
    EXPECT_TRUE(linesWith(r.err, "warning net/lxc-user-nic").empty()) << r.err;
}

// The lease is released at the end (frequent restarts would otherwise exhaust the pool), the
// host end of the veth is gone with the namespace, and so is the state directory.
TEST_P(LxcUserNicE2eTest, ReleasesTheLeaseAndLeavesNothingBehind) {
    RunResult r =
        runInside(flags({"--debug"}),
                  inNetns(detached()) + "ip -4 -o addr show eth0; echo $ROOTLESSKIT_STATE_DIR");

    ASSERT_EQ(r.exitCode, 0) << r.err;
    std::string address = firstInet(r.out);
    ASSERT_FALSE(address.empty()) << r.out;
    std::string stateDir = linesWith(r.out, "/").back();
    EXPECT_FALSE(std::filesystem::exists(stateDir)) << stateDir;
    // lxc-user-nic prints "<ifname>:<index>:<host veth>:<index>", logged at debug.
    std::smatch veth;
    ASSERT_TRUE(std::regex_search(r.err, veth, std::regex("eth0:[0-9]+:(veth[^:]+):"))) << r.err;
    // The kernel dismantles a namespace (and its devices) asynchronously after its last user.
    std::string hostEnd = "/sys/class/net/" + veth[1].str();
    EXPECT_TRUE(waitFor([&] { return !std::filesystem::exists(hostEnd); }))
        << hostEnd << " is still there";
    if (access(kLeaseFile, R_OK) == 0) {
        EXPECT_EQ(readFile(kLeaseFile).find(" " + address + " "), std::string::npos)
            << readFile(kLeaseFile);
    }
}

INSTANTIATE_TEST_SUITE_P(Netns, LxcUserNicE2eTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool> &info) {
                             return info.param ? "Detached" : "Attached";
                         });

// The shipped lxc-user-nic profile (with /etc copied up) gives eth0 a leased address.
TEST_F(LxcUserNicTest, ProfileGivesEth0ALeasedAddress) {
    std::vector<std::string> argv = {binPath("rootlesskit"),
                                     "--profile",
                                     std::string(RK_TEST_SOURCE_DIR) + "/conf/lxc-user-nic.yaml",
                                     "--",
                                     "sh",
                                     "-c",
                                     "ip -4 addr show eth0; cat /etc/resolv.conf"};
    RunOptions options;
    options.timeout = std::chrono::seconds(60);
    RunResult r = runAsTestUser(argv, options);

    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_FALSE(firstInet(r.out).empty()) << r.out;
    EXPECT_NE(r.out.find("nameserver 10.0.3.1\n"), std::string::npos) << r.out;
}

TEST_F(LxcUserNicTest, MissingBridgeIsNamedWithWhatToDo) {
    RunResult r = runInside({"--net=lxc-user-nic", "--lxc-user-nic-bridge=rknobr0"}, "true");

    EXPECT_EQ(r.exitCode, 1);
    std::vector<std::string> errors = linesWith(r.err, "error");
    ASSERT_EQ(errors.size(), 1u) << r.err;
    EXPECT_NE(errors[0].find("failed to setup network lxc-user-nic: bridge rknobr0 does not "
                             "exist: create it (as root: ip link add rknobr0 type bridge"),
              std::string::npos)
        << r.err;
}

// A bridge the test creates with no lxc-usernet line for the user: the error names the file and
// the line to add, where lxc-user-nic itself only says "Quota reached".
TEST_F(LxcUserNicTest, MissingUsernetEntryNamesTheLineToAdd) {
    if (geteuid() != 0) {
        GTEST_SKIP() << "creating a bridge needs root";
    }
    ASSERT_EQ(std::system("ip link add rkt-nouser0 type bridge"), 0);
    RunResult r = runInside({"--net=lxc-user-nic", "--lxc-user-nic-bridge=rkt-nouser0"}, "true");
    EXPECT_EQ(std::system("ip link del rkt-nouser0"), 0);

    EXPECT_EQ(r.exitCode, 1);
    std::vector<std::string> errors = linesWith(r.err, "error");
    ASSERT_EQ(errors.size(), 1u) << r.err;
    EXPECT_NE(errors[0].find("/etc/lxc/lxc-usernet has no veth entry for user "), std::string::npos)
        << r.err;
    EXPECT_NE(errors[0].find(" veth rkt-nouser0 1\" to it"), std::string::npos) << r.err;
}

TEST_F(LxcUserNicTest, InfoSaysTheAddressIsDynamic) {
    TempDir run;
    std::string socket = run.path() + "/st/api.sock";
    BackgroundProcess rk({binPath("rootlesskit"), "--state-dir=" + run.path() + "/st",
                          "--net=lxc-user-nic", "sleep", "30"});
    ASSERT_TRUE(
        waitFor([&] { return access(socket.c_str(), F_OK) == 0; }, std::chrono::seconds(30)))
        << rk.errSoFar();
    RunResult info = runAsTestUser({binPath("rootlessctl"), "--socket", socket, "info", "--json"});
    EXPECT_NE(info.out.find("\"driver\": \"lxc-user-nic\""), std::string::npos) << info.out;
    EXPECT_NE(info.out.find("\"dynamicChildIP\": true"), std::string::npos) << info.out;
    rk.signal(SIGTERM);
    rk.wait();
}

}  // namespace
}  // namespace rktest::netdrivers
