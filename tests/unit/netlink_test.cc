// Tests for core/netlink.h: each test configures a TAP device in a fresh network namespace of a
// forked process and reads the result back with ip(8).
#include "core/netlink.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <string>

#include <gtest/gtest.h>

namespace rootlesskit {
namespace {

// Runs body in a forked process that unshared its network namespace and returns what body
// returned (its observations), or a line starting with "fork error:" when the process failed.
std::string runInNewNetns(const std::function<std::string()> &body) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        return "fork error: pipe";
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        std::string out = unshare(CLONE_NEWNET) == 0 ? body() : "fork error: unshare";
        ssize_t written = write(fds[1], out.data(), out.size());
        _exit(written == static_cast<ssize_t>(out.size()) ? 0 : 1);
    }
    close(fds[1]);
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof(buf))) > 0) {
        out.append(buf, static_cast<size_t>(n));
    }
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        return "fork error: child status " + std::to_string(status);
    }
    return out;
}

// Creates a (non-persistent) TAP device; it lives until the process exits. Returns the fd or -1.
int createTap(const char *name) {
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    ifreq req{};
    req.ifr_flags = IFF_TAP | IFF_NO_PI;
    strncpy(req.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &req) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

// Output of a shell command line (stdout and stderr).
std::string shell(const std::string &command) {
    std::string out;
    FILE *pipe = popen((command + " 2>&1").c_str(), "r");
    if (pipe == nullptr) {
        return "popen failed";
    }
    char buf[1024];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) {
        out.append(buf, n);
    }
    pclose(pipe);
    return out;
}

// Status text for observations: "ok" or the message. Callers append one step per statement:
// the operands of a chain of + are evaluated in an unspecified order.
std::string text(const Status &status) {
    return status.ok() ? "ok" : status.message();
}

class NetlinkTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (geteuid() != 0) {
            GTEST_SKIP() << "needs root to create network namespaces and TAP devices";
        }
        if (access("/dev/net/tun", R_OK | W_OK) != 0) {
            GTEST_SKIP() << "/dev/net/tun is not available";
        }
        if (shell("ip -V").find("iproute2") == std::string::npos) {
            GTEST_SKIP() << "ip(8) is needed to read the configuration back";
        }
    }
};

TEST_F(NetlinkTest, ConfiguresIPv4InterfaceLikeIpCommands) {
    std::string out = runInNewNetns([] {
        if (createTap("rkt0") < 0) {
            return std::string("fork error: tap");
        }
        std::string out;
        out += text(netlinkLinkUp("lo")) + " ";
        out += text(netlinkLinkUp("rkt0")) + " ";
        out += text(netlinkSetMtu("rkt0", 1400)) + " ";
        out += text(netlinkAddAddress("rkt0", "10.0.2.100", 24)) + " ";
        out += text(netlinkAddDefaultRoute("rkt0", "10.0.2.2")) + "\n";
        return out + shell(
                         "ip -o link show lo; ip -o link show rkt0; ip -o -4 addr show rkt0;"
                         "ip -4 route show default");
    });

    EXPECT_EQ(out.rfind("ok ok ok ok ok\n", 0), 0u) << out;
    EXPECT_NE(out.find("1: lo: <LOOPBACK,UP,LOWER_UP>"), std::string::npos) << out;
    EXPECT_NE(out.find("rkt0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1400"), std::string::npos)
        << out;
    EXPECT_NE(out.find("inet 10.0.2.100/24"), std::string::npos) << out;
    EXPECT_NE(out.find("default via 10.0.2.2 dev rkt0"), std::string::npos) << out;
}

TEST_F(NetlinkTest, ConfiguresIPv6AddressAndDefaultRoute) {
    std::string out = runInNewNetns([] {
        if (createTap("rkt0") < 0) {
            return std::string("fork error: tap");
        }
        std::string out;
        out += text(netlinkLinkUp("rkt0")) + " ";
        out += text(netlinkAddAddress("rkt0", "fd00::100", 64)) + " ";
        out += text(netlinkAddDefaultRoute("rkt0", "fd00::2")) + "\n";
        return out + shell("ip -o -6 addr show rkt0; ip -6 route show default");
    });

    EXPECT_EQ(out.rfind("ok ok ok\n", 0), 0u) << out;
    EXPECT_NE(out.find("inet6 fd00::100/64"), std::string::npos) << out;
    EXPECT_NE(out.find("default via fd00::2 dev rkt0"), std::string::npos) << out;
}

TEST_F(NetlinkTest, ReportsKernelErrnoForDuplicateAddressAndRoute) {
    std::string out = runInNewNetns([] {
        if (createTap("rkt0") < 0) {
            return std::string("fork error: tap");
        }
        netlinkLinkUp("rkt0");
        netlinkAddAddress("rkt0", "10.0.2.100", 24);
        netlinkAddDefaultRoute("rkt0", "10.0.2.2");
        std::string out;
        out += text(netlinkAddAddress("rkt0", "10.0.2.100", 24)) + "\n";
        out += text(netlinkAddDefaultRoute("rkt0", "10.0.2.2")) + "\n";
        return out;
    });

    EXPECT_EQ(out,
              "add address 10.0.2.100/24 to rkt0: file exists\n"
              "add default route via 10.0.2.2 dev rkt0: file exists\n");
}

TEST_F(NetlinkTest, NamesTheMissingInterface) {
    std::string out = runInNewNetns([] {
        std::string out;
        out += text(netlinkLinkUp("nope0")) + "\n";
        out += text(netlinkSetMtu("nope0", 1500)) + "\n";
        out += text(netlinkAddAddress("nope0", "10.0.2.100", 24)) + "\n";
        out += text(netlinkAddDefaultRoute("nope0", "10.0.2.2")) + "\n";
        return out;
    });

    EXPECT_EQ(out,
              "link nope0 up: no such device\n"
              "set mtu of nope0 to 1500: no such device\n"
              "add address 10.0.2.100/24 to nope0: no such device\n"
              "add default route via 10.0.2.2 dev nope0: no such device\n");
}

TEST_F(NetlinkTest, RejectsBadAddressTextAndPrefix) {
    std::string out = runInNewNetns([] {
        if (createTap("rkt0") < 0) {
            return std::string("fork error: tap");
        }
        std::string out;
        out += text(netlinkAddAddress("rkt0", "10.0.2.300", 24)) + "\n";
        out += text(netlinkAddAddress("rkt0", "10.0.2.100", 33)) + "\n";
        out += text(netlinkAddDefaultRoute("rkt0", "gateway")) + "\n";
        return out;
    });

    EXPECT_EQ(out,
              "add address 10.0.2.300/24 to rkt0: invalid address \"10.0.2.300\"\n"
              "add address 10.0.2.100/33 to rkt0: prefix out of range\n"
              "add default route via gateway dev rkt0: invalid address \"gateway\"\n");
}

TEST_F(NetlinkTest, RejectsMtuTheDeviceCannotTake) {
    std::string out = runInNewNetns([] {
        if (createTap("rkt0") < 0) {
            return std::string("fork error: tap");
        }
        return text(netlinkSetMtu("rkt0", 10));
    });

    EXPECT_EQ(out, "set mtu of rkt0 to 10: invalid argument");
}

}  // namespace
}  // namespace rootlesskit
