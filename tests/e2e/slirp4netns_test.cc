// End-to-end tests of --net=slirp4netns and --port-driver=slirp4netns: the real rootlesskit run
// as the unprivileged test user, with the real slirp4netns. Clients connect only to 127.0.0.1
// and ::1 on the host; slirp4netns' own traffic stays inside the namespace we create.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/process.h"

namespace rktest {
namespace {

// Runs "rootlesskit <flags> sh -c <script>" as the test user.
RunResult runInside(const std::vector<std::string> &flags, const std::string &script) {
    std::vector<std::string> argv = {binPath("rootlesskit")};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.insert(argv.end(), {"sh", "-c", script});
    RunOptions options;
    options.timeout = std::chrono::milliseconds(60000);
    return runAsTestUser(argv, options);
}

// A TCP port on the loopback addresses that was free a moment ago (rootlesskit's helper binds it
// itself, so it cannot be handed a bound socket).
int freePort() {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    bool bound = bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) == 0 &&
                 getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) == 0;
    close(fd);
    return bound ? ntohs(addr.sin_port) : 0;
}

// "GET /" over HTTP/1.0 to ip (IPv4 or IPv6 text) and port; the whole response, or "" when the
// connection failed.
std::string httpGet(const std::string &ip, int port) {
    bool v6 = ip.find(':') != std::string::npos;
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_storage storage{};
    socklen_t len = 0;
    if (v6) {
        auto *addr = reinterpret_cast<sockaddr_in6 *>(&storage);
        addr->sin6_family = AF_INET6;
        addr->sin6_port = htons(static_cast<uint16_t>(port));
        inet_pton(AF_INET6, ip.c_str(), &addr->sin6_addr);
        len = sizeof(*addr);
    } else {
        auto *addr = reinterpret_cast<sockaddr_in *>(&storage);
        addr->sin_family = AF_INET;
        addr->sin_port = htons(static_cast<uint16_t>(port));
        inet_pton(AF_INET, ip.c_str(), &addr->sin_addr);
        len = sizeof(*addr);
    }
    std::string response;
    if (connect(fd, reinterpret_cast<sockaddr *>(&storage), len) == 0) {
        std::string request = "GET / HTTP/1.0\r\nHost: test\r\n\r\n";
        (void)!write(fd, request.data(), request.size());
        char buf[4096];
        pollfd pfd{fd, POLLIN, 0};
        while (poll(&pfd, 1, 5000) > 0) {
            ssize_t n = read(fd, buf, sizeof(buf));
            if (n <= 0) {
                break;
            }
            response.append(buf, static_cast<size_t>(n));
        }
    }
    close(fd);
    return response;
}

// Fields 3 (state), 4 (ppid) and 5 (pgrp) of /proc/<pid>/stat, and argv[0].
struct ProcInfo {
    pid_t pid = 0;
    pid_t ppid = 0;
    pid_t pgrp = 0;
    std::string argv0;
};

std::vector<ProcInfo> processes() {
    std::vector<ProcInfo> out;
    for (const auto &entry : std::filesystem::directory_iterator("/proc")) {
        std::string name = entry.path().filename();
        if (name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        std::ifstream stat(entry.path() / "stat");
        std::string line;
        std::getline(stat, line);
        size_t close = line.rfind(')');
        if (close == std::string::npos || close + 2 > line.size()) {
            continue;
        }
        ProcInfo info;
        info.pid = std::stoi(name);
        char state;
        std::istringstream(line.substr(close + 2)) >> state >> info.ppid >> info.pgrp;
        std::ifstream cmdline(entry.path() / "cmdline");
        std::getline(cmdline, info.argv0, '\0');
        out.push_back(info);
    }
    return out;
}

// The slirp4netns that the rootlesskit parent `parent` started, if running.
std::optional<pid_t> slirp4netnsOf(pid_t parent) {
    for (const ProcInfo &p : processes()) {
        if (p.ppid == parent && p.argv0 == "slirp4netns") {
            return p.pid;
        }
    }
    return std::nullopt;
}

// Processes left of a run: the group of the rootlesskit parent (the command and the child) and
// any slirp4netns child of it.
std::vector<ProcInfo> leftovers(pid_t parent) {
    std::vector<ProcInfo> out;
    for (const ProcInfo &p : processes()) {
        if (p.pgrp == parent || p.ppid == parent) {
            out.push_back(p);
        }
    }
    return out;
}

std::vector<std::string> errorLines(const std::string &err) {
    std::vector<std::string> out;
    std::istringstream in(err);
    std::string line;
    while (std::getline(in, line)) {
        if (line.find("error") != std::string::npos) {
            out.push_back(line);
        }
    }
    return out;
}

class Slirp4netnsE2eTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string reason;
        if (!testUser(&reason)) {
            GTEST_SKIP() << reason;
        }
        if (access(binPath("rootlesskit").c_str(), X_OK) != 0) {
            GTEST_SKIP() << "rootlesskit is not built: " << binPath("rootlesskit");
        }
        if (std::system("command -v slirp4netns >/dev/null 2>&1") != 0) {
            GTEST_SKIP() << "slirp4netns is not installed";
        }
        if (access("/dev/net/tun", R_OK | W_OK) != 0) {
            GTEST_SKIP() << "/dev/net/tun is not available";
        }
    }
};

TEST_F(Slirp4netnsE2eTest, ConfiguresTapWithDefaultAddresses) {
    RunResult r = runInside({"--net=slirp4netns", "--disable-host-loopback"},
                            "ip -4 addr show tap0; ip route; ip -o link show tap0; "
                            "cat /etc/resolv.conf");

    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.out.find("inet 10.0.2.100/24"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("default via 10.0.2.2 dev tap0"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("mtu 65520"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("nameserver 10.0.2.3"), std::string::npos) << r.out;
}

TEST_F(Slirp4netnsE2eTest, CidrShiftsEveryAddress) {
    RunResult r = runInside({"--net=slirp4netns", "--disable-host-loopback", "--cidr=10.0.3.0/24"},
                            "ip -4 addr show tap0; ip route; cat /etc/resolv.conf");

    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.out.find("inet 10.0.3.100/24"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("default via 10.0.3.2 dev tap0"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("nameserver 10.0.3.3"), std::string::npos) << r.out;
}

TEST_F(Slirp4netnsE2eTest, MtuFlagReachesTheInterface) {
    RunResult r = runInside({"--net=slirp4netns", "--disable-host-loopback", "--mtu=1500"},
                            "ip -o link show tap0");

    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.out.find("mtu 1500"), std::string::npos) << r.out;
}

TEST_F(Slirp4netnsE2eTest, Ipv6AddsTheSecondNameserver) {
    RunResult r = runInside({"--net=slirp4netns", "--disable-host-loopback", "--ipv6"},
                            "cat /etc/resolv.conf");

    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(r.out, "nameserver 10.0.2.3\nnameserver fd00::3\n");
}

TEST_F(Slirp4netnsE2eTest, MissingBinaryIsOneErrorLine) {
    RunResult r =
        runInside({"--net=slirp4netns", "--slirp4netns-binary=/nonexistent/slirp4netns"}, "true");

    EXPECT_EQ(r.exitCode, 1);
    std::vector<std::string> errors = errorLines(r.err);
    ASSERT_EQ(errors.size(), 1u) << r.err;
    EXPECT_NE(errors[0].find("slirp4netns binary \"/nonexistent/slirp4netns\" is not installed"),
              std::string::npos)
        << r.err;
}

// busybox httpd inside, published by slirp4netns on the host's loopback.
class Slirp4netnsPortE2eTest : public Slirp4netnsE2eTest {
protected:
    void SetUp() override {
        Slirp4netnsE2eTest::SetUp();
        if (IsSkipped()) {
            return;
        }
        if (std::system("command -v busybox >/dev/null 2>&1") != 0) {
            GTEST_SKIP() << "busybox is not installed";
        }
        std::ofstream(www_.path() + "/index.html") << "hello from the namespace\n";
    }

    // Starts rootlesskit with the slirp4netns port driver publishing spec, serving www_.
    std::unique_ptr<BackgroundProcess> start(const std::string &spec) {
        return std::make_unique<BackgroundProcess>(std::vector<std::string>{
            binPath("rootlesskit"), "--net=slirp4netns", "--disable-host-loopback",
            "--port-driver=slirp4netns", "-p", spec, "busybox", "httpd", "-f", "-p", "80", "-h",
            www_.path()});
    }

    TempDir www_;
};

TEST_F(Slirp4netnsPortE2eTest, PublishedTcpPortServesThePage) {
    int port = freePort();
    auto rk = start("127.0.0.1:" + std::to_string(port) + ":80/tcp");

    bool served = waitFor([&] {
        return httpGet("127.0.0.1", port).find("hello from the namespace") != std::string::npos;
    });
    EXPECT_TRUE(served) << rk->errSoFar();
}

TEST_F(Slirp4netnsPortE2eTest, SandboxAndSeccompKeepTheApiSocketWorking) {
    int port = freePort();
    BackgroundProcess rk({binPath("rootlesskit"), "--net=slirp4netns", "--disable-host-loopback",
                          "--slirp4netns-sandbox=auto", "--slirp4netns-seccomp=auto",
                          "--port-driver=slirp4netns", "-p",
                          "127.0.0.1:" + std::to_string(port) + ":80/tcp", "busybox", "httpd", "-f",
                          "-p", "80", "-h", www_.path()});

    bool served = waitFor([&] {
        return httpGet("127.0.0.1", port).find("hello from the namespace") != std::string::npos;
    });
    EXPECT_TRUE(served) << rk.errSoFar();
}

TEST_F(Slirp4netnsPortE2eTest, Tcp4PortIsNotReachableOnIpv6Loopback) {
    int port = freePort();
    auto rk = start("0.0.0.0:" + std::to_string(port) + ":80/tcp4");

    bool served = waitFor([&] {
        return httpGet("127.0.0.1", port).find("hello from the namespace") != std::string::npos;
    });
    ASSERT_TRUE(served) << rk->errSoFar();
    EXPECT_EQ(httpGet("::1", port), "");
}

TEST_F(Slirp4netnsE2eTest, Slirp4netnsDeathEndsTheRunWithOneError) {
    BackgroundProcess rk(
        {binPath("rootlesskit"), "--net=slirp4netns", "--disable-host-loopback", "sleep", "60"});
    std::optional<pid_t> slirp;
    ASSERT_TRUE(waitFor([&] {
        slirp = slirp4netnsOf(rk.pid());
        return slirp.has_value();
    })) << rk.errSoFar();

    // SIGKILL is allowed across users for root only; the test process is root or the test user.
    ASSERT_EQ(kill(*slirp, SIGKILL), 0);
    RunResult r = rk.wait(std::chrono::milliseconds(20000));

    EXPECT_EQ(r.exitCode, 1) << r.err;
    std::vector<std::string> errors = errorLines(r.err);
    ASSERT_EQ(errors.size(), 1u) << r.err;
    // The kill may land while the network is still being set up (a slow build loses that race):
    // "failed to setup network slirp4netns: slirp4netns killed by signal 9" then, and
    // "slirp4netns exited unexpectedly (killed by signal 9)" once the run is up.
    EXPECT_NE(errors[0].find("slirp4netns"), std::string::npos) << r.err;
    EXPECT_NE(errors[0].find("killed by signal 9"), std::string::npos) << r.err;
    EXPECT_TRUE(waitFor([&] { return leftovers(rk.pid()).empty(); }, std::chrono::seconds(5)))
        << "processes left: " << leftovers(rk.pid()).size();
}

}  // namespace
}  // namespace rktest
