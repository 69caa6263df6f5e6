// End-to-end tests of --net=pasta and --port-driver=implicit: the real rootlesskit as the test
// user with the real pasta ($ROOTLESSKIT_TEST_PASTA, else Debian's; CI runs them with both).
//
// pasta sends whatever the namespace addresses out through the host's network. So every run
// here happens inside a private network namespace the test creates (PrivateNetwork): its
// "uplink" is a veth whose peer leads nowhere, the servers the tests talk to listen on its
// loopback, and nothing can reach a real network.
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/e2e/netdrivers_support.h"
#include "tests/support/process.h"

namespace rktest::netdrivers {
namespace {

// "nsenter -n<state dir>/netns " in front of a command that must run in the detached namespace.
std::string inNetns(bool detached) {
    return detached ? "nsenter -n$ROOTLESSKIT_STATE_DIR/netns " : "";
}

class PastaE2eTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string reason;
        if (!testUser(&reason)) {
            GTEST_SKIP() << reason;
        }
        if (access(binPath("rootlesskit").c_str(), X_OK) != 0) {
            GTEST_SKIP() << "rootlesskit is not built: " << binPath("rootlesskit");
        }
        if (!haveCommand(pastaBinary())) {
            GTEST_SKIP() << "pasta is not installed (" << pastaBinary() << ")";
        }
        if (!network_.error().empty()) {
            GTEST_SKIP() << "pasta runs only in a private network here: " << network_.error();
        }
    }

    std::vector<std::string> pastaFlags(std::vector<std::string> more = {}) {
        std::vector<std::string> flags = {"--net=pasta", "--pasta-binary=" + pastaBinary()};
        flags.insert(flags.end(), more.begin(), more.end());
        return flags;
    }

    RunResult runPasta(const std::vector<std::string> &flags, const std::string &script) {
        return network_.run([&] { return runInside(pastaFlags(flags), script); });
    }

    PrivateNetwork network_;
};

// The same checks with the namespace attached to the child and detached (--detach-netns).
class PastaModeTest : public PastaE2eTest, public ::testing::WithParamInterface<bool> {
protected:
    bool detached() const { return GetParam(); }
    std::vector<std::string> modeFlags(std::vector<std::string> more = {}) {
        if (detached()) {
            more.emplace_back("--detach-netns");
        }
        return more;
    }
};

TEST_P(PastaModeTest, ConfiguresAddressRouteMtuAndStateFiles) {
    std::string ns = inNetns(detached());
    RunResult r = runPasta(modeFlags({"--disable-host-loopback"}),
                           ns + "ip -4 -o addr show tap0; " + ns + "ip route; " + ns +
                               "ip -o link show tap0; ls $ROOTLESSKIT_STATE_DIR; "
                               "cat $ROOTLESSKIT_STATE_DIR/resolv.conf; echo outside:; ip -o link");

    ASSERT_EQ(r.exitCode, 0) << r.err;
    std::string inside = r.out.substr(0, r.out.find("outside:"));
    std::string outside = r.out.substr(r.out.find("outside:"));
    EXPECT_NE(inside.find("inet 10.0.2.100/24"), std::string::npos) << r.out;
    EXPECT_NE(inside.find("default via 10.0.2.2 dev tap0"), std::string::npos) << r.out;
    EXPECT_NE(inside.find("mtu 65520"), std::string::npos) << r.out;
    EXPECT_NE(inside.find("nameserver 10.0.2.3\n"), std::string::npos) << r.out;
    EXPECT_NE(inside.find("hosts\n"), std::string::npos) << r.out;
    // Detached: the command itself stays in the (private) host network, where tap0 is not.
    EXPECT_EQ(outside.find("tap0") == std::string::npos, detached()) << r.out;
    EXPECT_EQ(inside.find("netns\n") != std::string::npos, detached()) << r.out;
}

TEST_P(PastaModeTest, CidrMovesEveryAddress) {
    std::string ns = inNetns(detached());
    RunResult r = runPasta(
        modeFlags({"--disable-host-loopback", "--cidr=10.0.9.0/24"}),
        ns + "ip -4 -o addr show tap0; " + ns + "ip route; cat $ROOTLESSKIT_STATE_DIR/resolv.conf");

    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.out.find("inet 10.0.9.100/24"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("default via 10.0.9.2 dev tap0"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("nameserver 10.0.9.3"), std::string::npos) << r.out;
}

TEST_P(PastaModeTest, ReachesHostLoopbackThroughTheGatewayUnlessDisabled) {
    // "timeout": busybox nc's -w bounds only the connect, and through Debian 12's pasta the
    // client may not see the server's close after the greeting.
    std::string nc = inNetns(detached()) + "timeout 5 busybox nc -w 3 ";
    bool recent = pastaIsRecent();
    network_.run([&] {
        HostTcpServer server("127.0.0.1", "hello from the host\n");
        EXPECT_TRUE(server.listening());
        std::string port = std::to_string(server.port());

        // Through the gateway address; with a recent pasta also through the namespace's own
        // 127.0.0.1, where pasta forwards the host's listening ports by default (Debian 12's
        // pasta accepts there but never connects: README, known shortcomings).
        std::string script =
            nc + "10.0.2.2 " + port + (recent ? "; " + nc + "127.0.0.1 " + port : std::string());
        RunResult open = runInside(pastaFlags(modeFlags()), script + "; true");
        EXPECT_EQ(open.exitCode, 0) << open.err;
        EXPECT_EQ(linesWith(open.out, "hello from the host").size(), recent ? 2u : 1u) << open.out;
        int reached = server.connections();

        RunResult closed = runInside(
            pastaFlags(modeFlags({"--disable-host-loopback"})),
            nc + "10.0.2.2 " + port + "; echo gw=$?; " + nc + "127.0.0.1 " + port + "; echo lo=$?");
        EXPECT_EQ(closed.exitCode, 0) << closed.err;
        EXPECT_EQ(closed.out.find("hello from the host"), std::string::npos) << closed.out;
        EXPECT_NE(closed.out.find("gw=1"), std::string::npos) << closed.out;
        EXPECT_NE(closed.out.find("lo=1"), std::string::npos) << closed.out;
        EXPECT_EQ(server.connections(), reached);
        return 0;
    });
}

TEST_P(PastaModeTest, LeavesNoPastaAndNoStateBehind) {
    RunResult r =
        runPasta(modeFlags({"--disable-host-loopback"}),
                 "cat $ROOTLESSKIT_STATE_DIR/child_pid; echo; echo $ROOTLESSKIT_STATE_DIR");

    ASSERT_EQ(r.exitCode, 0) << r.err;
    std::istringstream lines(r.out);
    std::string childPid, stateDir;
    std::getline(lines, childPid);
    std::getline(lines, stateDir);
    ASSERT_FALSE(childPid.empty()) << r.out;
    // pasta's last argument names the namespace: the child's PID, or the detached path.
    std::string target =
        detached() ? "--netns=/proc/" + childPid + "/root" + stateDir + "/netns" : childPid;
    EXPECT_TRUE(processesWithArgument(target).empty()) << "pasta still runs for " << target;
    EXPECT_FALSE(std::filesystem::exists(stateDir)) << stateDir;
}

INSTANTIATE_TEST_SUITE_P(Netns, PastaModeTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool> &info) {
                             return info.param ? "Detached" : "Attached";
                         });

// busybox httpd and a UDP echo server inside; pasta forwards both on the host's loopback by
// itself, and the implicit port driver lists them. --pidns: the servers end with the run.
class PastaImplicitTest : public PastaModeTest {
protected:
    void SetUp() override {
        PastaModeTest::SetUp();
        if (IsSkipped()) {
            return;
        }
        if (!haveCommand("busybox") || !haveCommand("python3")) {
            GTEST_SKIP()
                << "busybox and python3 are needed inside (scripts/setup.sh installs them)";
        }
        std::ofstream(www_.path() + "/index.html") << "hello from the namespace\n";
    }

    // The servers, in the namespace rootlesskit configures (or, detached, entered by nsenter).
    std::string servers(int tcpPort, int udpPort) {
        std::string ns = inNetns(detached());
        return ns + "busybox httpd -f -p " + std::to_string(tcpPort) + " -h " + www_.path() +
               " & " + ns +
               "python3 -c 'import socket\n"
               "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
               "s.bind((\"0.0.0.0\", " +
               std::to_string(udpPort) +
               "))\n"
               "while True:\n"
               "    d, a = s.recvfrom(2048)\n"
               "    s.sendto(b\"echo:\" + d, a)\n' & wait";
    }

    RunResult rootlessctl(const std::string &socket, const std::vector<std::string> &args) {
        std::vector<std::string> argv = {binPath("rootlessctl"), "--socket", socket};
        argv.insert(argv.end(), args.begin(), args.end());
        return runAsTestUser(argv);
    }

    TempDir www_;
    TempDir run_;
};

TEST_P(PastaImplicitTest, ForwardsTcpAndUdpAndListsThemAsImplicit) {
    std::string socket = run_.path() + "/st/api.sock";
    network_.run([&] {
        int tcpPort = freePort();
        int udpPort = freePort(true);
        std::vector<std::string> argv = {binPath("rootlesskit"),
                                         "--state-dir=" + run_.path() + "/st"};
        for (const std::string &flag : pastaFlags(
                 modeFlags({"--port-driver=implicit", "--disable-host-loopback", "--pidns"}))) {
            argv.push_back(flag);
        }
        argv.insert(argv.end(), {"sh", "-c", servers(tcpPort, udpPort)});
        BackgroundProcess run(argv);

        // pasta looks for new listeners every second: poll for the forwarded port.
        std::string page;
        EXPECT_TRUE(waitFor(
            [&] {
                page = tcpRead("127.0.0.1", tcpPort, "GET / HTTP/1.0\r\n\r\n",
                               std::chrono::seconds(2));
                return page.find("hello from the namespace") != std::string::npos;
            },
            std::chrono::seconds(20)))
            << page << run.errSoFar();
        // Debian 12's pasta scans for UDP listeners only when it starts (README, known
        // shortcomings): the echo server came later.
        if (pastaIsRecent()) {
            EXPECT_EQ(udpExchange(udpPort, "ping", std::chrono::seconds(20)), "echo:ping");
        }

        RunResult list = rootlessctl(socket, {"list-ports"});
        EXPECT_EQ(list.exitCode, 0) << list.err;
        EXPECT_NE(list.out.find("FORWARDING"), std::string::npos) << list.out;
        EXPECT_EQ(linesWith(list.out, " " + std::to_string(tcpPort) + " ").size(), 1u) << list.out;
        EXPECT_EQ(linesWith(list.out, " " + std::to_string(udpPort) + " ").size(), 1u) << list.out;
        EXPECT_EQ(linesWith(list.out, "implicit").size(), 2u) << list.out;

        RunResult json = rootlessctl(socket, {"list-ports", "--json"});
        EXPECT_NE(json.out.find("\"proto\":\"tcp\",\"parentPort\":" + std::to_string(tcpPort)),
                  std::string::npos)
            << json.out;
        EXPECT_EQ(linesWith(json.out, "\"implicit\":true").size(), 2u) << json.out;

        // Upstream's info shape: no portDriver member at all.
        RunResult info = rootlessctl(socket, {"info", "--json"});
        EXPECT_EQ(info.exitCode, 0) << info.err;
        EXPECT_NE(info.out.find("\"driver\": \"pasta\""), std::string::npos) << info.out;
        EXPECT_EQ(info.out.find("portDriver"), std::string::npos) << info.out;

        RunResult add = rootlessctl(socket, {"add-ports", "127.0.0.1:9999:80/tcp"});
        EXPECT_EQ(add.exitCode, 1);
        EXPECT_NE(add.err.find("cannot add ports: the network forwards every port a process "
                               "listens on inside the namespace"),
                  std::string::npos)
            << add.err;
        RunResult remove = rootlessctl(socket, {"remove-ports", "1"});
        EXPECT_EQ(remove.exitCode, 1);
        EXPECT_NE(remove.err.find("it is forwarded for as long as a process inside"),
                  std::string::npos)
            << remove.err;

        run.signal(SIGTERM);
        run.wait();
        return 0;
    });
}

INSTANTIATE_TEST_SUITE_P(Netns, PastaImplicitTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool> &info) {
                             return info.param ? "Detached" : "Attached";
                         });

TEST_F(PastaE2eTest, Ipv6GivesAGlobalAddressAndDefaultRoute) {
    RunResult r = runPasta({"--ipv6", "--disable-host-loopback"},
                           "ip -6 -o addr show tap0; ip -6 route; "
                           "cat $ROOTLESSKIT_STATE_DIR/resolv.conf");

    ASSERT_EQ(r.exitCode, 0) << r.err;
    // pasta copies the (private) host's global address and default route.
    EXPECT_NE(r.out.find("inet6 fdaa:aaaa:aaaa::1/64 scope global"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("default via fdaa:aaaa:aaaa::ff dev tap0"), std::string::npos) << r.out;
    // Upstream writes only the IPv4 forwarder for pasta.
    EXPECT_NE(r.out.find("nameserver 10.0.2.3\n"), std::string::npos) << r.out;
}

TEST_F(PastaE2eTest, WithoutIpv6TheNamespaceHasNoGlobalIpv6) {
    RunResult r = runPasta({"--disable-host-loopback"}, "ip -6 -o addr show tap0");

    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(r.out.find("scope global"), std::string::npos) << r.out;
}

TEST_F(PastaE2eTest, OtherPortDriversAreRefusedWithUpstreamsText) {
    for (const char *driver : {"builtin", "slirp4netns"}) {
        RunResult r = runPasta({std::string("--port-driver=") + driver}, "true");
        EXPECT_EQ(r.exitCode, 1) << driver;
        EXPECT_EQ(linesWith(r.err, "error").size(), 1u) << r.err;
        EXPECT_NE(r.err.find("network \"pasta\" requires port driver \"none\" or \"implicit\""),
                  std::string::npos)
            << r.err;
    }
    RunResult r = runInside({"--net=slirp4netns", "--port-driver=implicit"}, "true");
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.err.find("port driver requires pasta network"), std::string::npos) << r.err;
}

TEST_F(PastaE2eTest, PastaTooOldForTheDriverIsRefusedWithTheWayOut) {
    TempDir dir;
    std::string fake = dir.path() + "/pasta";
    std::ofstream(fake) << "#!/bin/sh\n"
                           "for a in \"$@\"; do [ \"$a\" = --config-net ] && exit 1; done\n"
                           "echo 'pasta 2023_02_16.4663ccc'\n";
    std::filesystem::permissions(
        fake, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                  std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                  std::filesystem::perms::others_exec);

    RunResult r = runInside({"--net=pasta", "--pasta-binary=" + fake}, "true");

    EXPECT_EQ(r.exitCode, 1);
    std::vector<std::string> errors = linesWith(r.err, "error");
    ASSERT_EQ(errors.size(), 1u) << r.err;
    EXPECT_NE(errors[0].find("pasta " + fake +
                             " (2023_02_16.4663ccc) lacks --config-net, which "
                             "the pasta network driver needs: pasta 2023_06_25 or later is "
                             "needed (scripts/build-passt.sh builds a recent one"),
              std::string::npos)
        << r.err;
}

TEST_F(PastaE2eTest, OlderThanRecommendedPastaWarnsOnce) {
    // Debian 12's pasta lacks --host-lo-to-ns-lo; a recent build has it.
    bool recent = pastaIsRecent();

    RunResult r = runPasta({"--disable-host-loopback"}, "true");

    ASSERT_EQ(r.exitCode, 0) << r.err;
    std::vector<std::string> warnings = linesWith(r.err, "warning net/pasta");
    if (recent) {
        EXPECT_TRUE(warnings.empty()) << r.err;
    } else {
        ASSERT_EQ(warnings.size(), 1u) << r.err;
        EXPECT_NE(warnings[0].find("2023_12_04 or later is recommended"), std::string::npos)
            << r.err;
    }
}

// pasta gone means no network: the run ends with one error instead of going on without it.
TEST_F(PastaE2eTest, PastaDeathEndsTheRunWithOneError) {
    TempDir run;
    std::string stateDir = run.path() + "/st";
    network_.run([&] {
        BackgroundProcess rk({binPath("rootlesskit"), "--state-dir=" + stateDir, "--net=pasta",
                              "--pasta-binary=" + pastaBinary(), "--disable-host-loopback", "sleep",
                              "60"});
        std::string childPid;
        EXPECT_TRUE(waitFor([&] {
            std::ifstream(stateDir + "/child_pid") >> childPid;
            return !childPid.empty() && access((stateDir + "/api.sock").c_str(), F_OK) == 0;
        })) << rk.errSoFar();
        // pasta's last argument is the child's PID; that pasta was started by this run.
        std::vector<pid_t> pasta = processesWithArgument(childPid);
        EXPECT_EQ(pasta.size(), 1u) << childPid;
        for (pid_t pid : pasta) {
            kill(pid, SIGKILL);
        }

        RunResult r = rk.wait(std::chrono::seconds(20));
        EXPECT_EQ(r.exitCode, 1);
        std::vector<std::string> errors = linesWith(r.err, "error");
        EXPECT_EQ(errors.size(), 1u) << r.err;
        EXPECT_NE(r.err.find("pasta exited unexpectedly (killed by signal 9)"), std::string::npos)
            << r.err;
        return 0;
    });
}

// The shipped pasta profile as a user runs it: busybox httpd inside, curl on the host.
TEST_F(PastaE2eTest, ProfileServesAPageOnTheHostsLoopback) {
    if (!haveCommand("busybox")) {
        GTEST_SKIP() << "busybox is not installed";
    }
    TempDir www;
    std::ofstream(www.path() + "/index.html") << "hello through the profile\n";
    network_.run([&] {
        int port = freePort();
        BackgroundProcess run({binPath("rootlesskit"), "--profile",
                               std::string(RK_TEST_SOURCE_DIR) + "/conf/pasta.yaml",
                               "--pasta-binary=" + pastaBinary(), "--", "busybox", "httpd", "-f",
                               "-p", std::to_string(port), "-h", www.path()});
        std::string page;
        EXPECT_TRUE(waitFor(
            [&] {
                page =
                    tcpRead("127.0.0.1", port, "GET / HTTP/1.0\r\n\r\n", std::chrono::seconds(2));
                return page.find("hello through the profile") != std::string::npos;
            },
            std::chrono::seconds(20)))
            << page << run.errSoFar();
        run.signal(SIGTERM);
        run.wait();
        return 0;
    });
}

}  // namespace
}  // namespace rktest::netdrivers
