// Security properties of a real run, as docs/security.md states them: the state directory and
// api.sock are the user's alone (checked with a second unprivileged user), the builtin
// forwarder's child half dials only the address a port names, inside the namespace, and nothing
// of ours runs with more privileges than the user has.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/e2e/net_clients.h"
#include "tests/e2e/rootlesskit_run.h"
#include "tests/support/process.h"

namespace rktest {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

struct stat statOf(const std::string &path) {
    struct stat st {};
    EXPECT_EQ(lstat(path.c_str(), &st), 0) << path;
    return st;
}

// "CapEff" of /proc/<pid>/status, as the hexadecimal text the kernel prints.
std::string effectiveCapabilities(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string key;
    std::string value;
    while (in >> key) {
        if (key == "CapEff:") {
            in >> value;
            return value;
        }
        in.ignore(4096, '\n');
    }
    return "";
}

class SecurityTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string reason;
        user_ = testUser(&reason);
        if (!user_) {
            GTEST_SKIP() << reason;
        }
    }

    // A run with a published port of the builtin driver, so that its control socket exists.
    std::unique_ptr<RootlesskitRun> startRun() {
        auto run = std::make_unique<RootlesskitRun>(
            binPath("rootlesskit"),
            std::vector<std::string>{"--net=none", "--port-driver=builtin", "-p",
                                     "127.0.0.1:" + std::to_string(freePort()) + ":80/tcp"},
            std::vector<std::string>{"sleep", "600"});
        EXPECT_TRUE(run->waitApi()) << run->process().errSoFar();
        return run;
    }

    std::optional<TestUser> user_;
};

TEST_F(SecurityTest, StateDirAndSocketsBelongToTheUserAlone) {
    auto run = startRun();
    struct stat dir = statOf(run->stateDir());
    EXPECT_EQ(dir.st_mode & 07777, 0700u);
    EXPECT_EQ(dir.st_uid, user_->uid);

    for (const fs::directory_entry &entry : fs::directory_iterator(run->stateDir())) {
        struct stat st = statOf(entry.path());
        EXPECT_EQ(st.st_uid, user_->uid) << entry.path();
        if (S_ISSOCK(st.st_mode)) {
            EXPECT_EQ(st.st_mode & 07777, 0600u) << entry.path();
        }
        EXPECT_EQ(st.st_mode & 0002, 0u) << entry.path() << " is writable by others";
    }
    EXPECT_EQ(statOf(run->apiSocket()).st_mode & 07777, 0600u);
}

TEST_F(SecurityTest, AnotherUserCanNeitherReadTheStateDirNorUseTheApi) {
    std::string reason;
    std::optional<TestUser> other = secondUser(&reason);
    if (!other) {
        GTEST_SKIP() << reason;
    }
    auto run = startRun();
    RunOptions asOther;
    asOther.user = other->name;
    std::string sd = run->stateDir();

    RunResult list = runAsTestUser({"ls", sd}, asOther);
    EXPECT_NE(list.exitCode, 0);
    EXPECT_NE(list.err.find("Permission denied"), std::string::npos) << list.err;
    RunResult read = runAsTestUser({"cat", sd + "/child_pid"}, asOther);
    EXPECT_NE(read.exitCode, 0);
    EXPECT_EQ(read.out, "");

    std::vector<std::string> curl = {"curl",
                                     "-sS",
                                     "--max-time",
                                     "5",
                                     "--unix-socket",
                                     run->apiSocket(),
                                     "http://rootlesskit/v1/info"};
    RunResult api = runAsTestUser(curl, asOther);
    EXPECT_NE(api.exitCode, 0);
    EXPECT_EQ(api.out.find("apiVersion"), std::string::npos) << api.out;

    // The socket's own mode keeps the other user out even when the directory lets it through.
    ASSERT_EQ(chmod(sd.c_str(), 0755), 0);
    api = runAsTestUser(curl, asOther);
    chmod(sd.c_str(), 0700);
    EXPECT_NE(api.exitCode, 0);
    EXPECT_EQ(api.out.find("apiVersion"), std::string::npos) << api.out;

    // The owner gets through, so the refusals above are about the other user.
    RunResult own = runAsTestUser(curl);
    EXPECT_NE(own.out.find("apiVersion"), std::string::npos) << own.out << own.err;
}

// The test's own listener on the host's 127.0.0.1: a forwarder that dialed out of the namespace
// would reach it.
class HostListener {
public:
    HostListener() : fd_(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) {
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof addr;
        // Port 0 when any step fails: the test's port request is then refused, visibly.
        bool ready = bind(fd_, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0 &&
                     listen(fd_, 16) == 0 &&
                     getsockname(fd_, reinterpret_cast<sockaddr *>(&addr), &length) == 0;
        port_ = ready ? ntohs(addr.sin_port) : 0;
    }
    ~HostListener() { close(fd_); }
    int port() const { return port_; }
    bool reached() {
        int client = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client >= 0) {
            close(client);
        }
        return client >= 0;
    }

private:
    int fd_;
    int port_ = 0;
};

class ForwarderTargetTest : public SecurityTest {
protected:
    void SetUp() override {
        SecurityTest::SetUp();
        if (IsSkipped()) {
            return;
        }
        if (!haveProgram("slirp4netns") || !haveProgram("busybox")) {
            GTEST_SKIP() << "slirp4netns and busybox are needed";
        }
        std::ofstream(www_.path() + "/index.html") << "inside\n";
    }

    // busybox httpd inside, on the namespace's loopback only; two ports published: one to the
    // default target (the namespace's 127.0.0.1), one to the tap address.
    std::unique_ptr<RootlesskitRun> startHttpdOnLoopback(int viaLoopback, int viaTap) {
        auto run = std::make_unique<RootlesskitRun>(
            binPath("rootlesskit"),
            std::vector<std::string>{"--net=slirp4netns", "--disable-host-loopback",
                                     "--port-driver=builtin", "-p",
                                     "127.0.0.1:" + std::to_string(viaLoopback) + ":80/tcp", "-p",
                                     "127.0.0.1:" + std::to_string(viaTap) + ":10.0.2.100:80/tcp"},
            std::vector<std::string>{"busybox", "httpd", "-f", "-p", "127.0.0.1:80", "-h",
                                     www_.path()});
        EXPECT_TRUE(run->waitApi()) << run->process().errSoFar();
        return run;
    }

    TempDir www_;
};

TEST_F(ForwarderTargetTest, ServiceOnTheChildsLoopbackIsNotReachableThroughTheTapAddress) {
    int viaLoopback = freePort();
    int viaTap = freePort();
    auto run = startHttpdOnLoopback(viaLoopback, viaTap);
    ASSERT_TRUE(waitFor([&] {
        return httpGet("127.0.0.1", viaLoopback).find("inside") != std::string::npos;
    })) << run->process().errSoFar();
    EXPECT_EQ(httpGet("127.0.0.1", viaTap), "");
}

TEST_F(ForwarderTargetTest, ApiRequestCannotMakeTheChildHalfReachTheHost) {
    int viaLoopback = freePort();
    auto run = startHttpdOnLoopback(viaLoopback, freePort());
    ASSERT_TRUE(waitFor([&] {
        return httpGet("127.0.0.1", viaLoopback).find("inside") != std::string::npos;
    })) << run->process().errSoFar();

    // Child IPs that name the host from inside: its loopback address (which inside is the
    // namespace's own) and slirp4netns' gateway (the host's loopback, unless disabled).
    HostListener host;
    for (const char *childIp : {"127.0.0.1", "10.0.2.2"}) {
        int port = freePort();
        std::string spec = std::string(R"({"proto":"tcp","parentIP":"127.0.0.1","parentPort":)") +
                           std::to_string(port) + R"(,"childIP":")" + childIp +
                           R"(","childPort":)" + std::to_string(host.port()) + "}";
        RawHttpReply added = rawHttp(run->apiSocket(), "POST", "/v1/ports", spec);
        ASSERT_EQ(added.status, 201) << added.body;
        EXPECT_EQ(httpGet("127.0.0.1", port, milliseconds(3000)), "") << childIp;
        EXPECT_FALSE(host.reached())
            << "a connection to child IP " << childIp << " reached the host's 127.0.0.1";
    }
}

TEST_F(SecurityTest, NothingOfOursIsSetuidOrHasFileCapabilities) {
    std::vector<std::string> files = {binPath("rootlesskit"), binPath("rootlessctl")};
    for (const fs::directory_entry &entry : fs::directory_iterator(RK_TEST_PLUGIN_DIR)) {
        files.push_back(entry.path());
    }
    for (const std::string &file : files) {
        struct stat st = statOf(file);
        EXPECT_EQ(st.st_mode & (S_ISUID | S_ISGID), 0u) << file;
        EXPECT_LT(getxattr(file.c_str(), "security.capability", nullptr, 0), 0) << file;
    }
}

TEST_F(SecurityTest, ParentAndNetworkHelperHoldNoCapabilities) {
    if (!haveProgram("slirp4netns")) {
        GTEST_SKIP() << "slirp4netns is needed";
    }
    RootlesskitRun run(binPath("rootlesskit"), {"--net=slirp4netns", "--disable-host-loopback"},
                       {"sleep", "600"});
    ASSERT_TRUE(run.waitApi()) << run.process().errSoFar();
    EXPECT_EQ(effectiveCapabilities(run.parentPid()), "0000000000000000");

    std::string children = "/proc/" + std::to_string(run.parentPid()) + "/task/" +
                           std::to_string(run.parentPid()) + "/children";
    std::ifstream in(children);
    pid_t pid = 0;
    size_t helpers = 0;
    while (in >> pid) {
        if (pid == run.childPid()) {
            continue;  // root of the new user namespace, by design
        }
        ++helpers;
        EXPECT_EQ(effectiveCapabilities(pid), "0000000000000000") << "helper " << pid;
    }
    EXPECT_GT(helpers, 0u) << "no slirp4netns found";
}

}  // namespace
}  // namespace rktest
