// rootlessctl: the built program run against a live API server with the fake port driver;
// output bytes, error lines, exit codes and socket defaulting. Also the pure formatting functions.
#include "core/rootlessctl.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <map>

#include <gtest/gtest.h>

#include "core/api_server.h"
#include "core/version.h"
#include "tests/support/process.h"
#include "tests/unit/fake_port_plugin.h"

namespace rootlesskit {
namespace {

using rktest::fakePorts;

struct CtlResult {
    int exitCode = -1;
    std::string out;
    std::string err;
};

std::string ctlPath() {
    return std::string(RK_TEST_BIN_DIR) + "/rootlessctl";
}

// Runs the built rootlessctl with args and exactly the environment env (plus PATH), collecting
// stdout and stderr until both close.
CtlResult runCtl(const std::vector<std::string> &args,
                 const std::map<std::string, std::string> &env = {}) {
    CtlResult result;
    std::array<int, 2> outPipe{}, errPipe{};
    if (pipe2(outPipe.data(), O_CLOEXEC) != 0 || pipe2(errPipe.data(), O_CLOEXEC) != 0) {
        result.err = "pipe failed";
        return result;
    }

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, outPipe[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, errPipe[1], STDERR_FILENO);
    std::vector<std::string> argvText = {ctlPath()};
    argvText.insert(argvText.end(), args.begin(), args.end());
    std::vector<char *> argv;
    for (std::string &a : argvText) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    std::vector<std::string> envText = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
    for (const auto &[key, value] : env) {
        envText.push_back(key + "=" + value);
    }
    std::vector<char *> envp;
    for (std::string &e : envText) {
        envp.push_back(e.data());
    }
    envp.push_back(nullptr);

    pid_t pid = -1;
    int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    close(outPipe[1]);
    close(errPipe[1]);

    std::array<pollfd, 2> fds = {pollfd{outPipe[0], POLLIN, 0}, pollfd{errPipe[0], POLLIN, 0}};
    std::array<std::string *, 2> sinks = {&result.out, &result.err};
    int open = 2;
    while (rc == 0 && open > 0 && poll(fds.data(), fds.size(), 30000) > 0) {
        for (size_t i = 0; i < fds.size(); ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0) {
                continue;
            }
            char buf[4096];
            ssize_t n = read(fds[i].fd, buf, sizeof(buf));
            if (n > 0) {
                sinks[i]->append(buf, static_cast<size_t>(n));
            } else {
                fds[i].fd = -1;
                --open;
            }
        }
    }
    close(outPipe[0]);
    close(errPipe[0]);

    int status = 0;
    if (rc == 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status)) {
        result.exitCode = WEXITSTATUS(status);
    }
    return result;
}

constexpr const char *kNetworkInfo =
    R"({"driver":"slirp4netns","dns":["10.0.2.3"],"childIP":"10.0.2.100"})";

class RootlessctlTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (access(ctlPath().c_str(), X_OK) != 0) {
            GTEST_SKIP() << ctlPath() << " is not built (make the rootlessctl target first)";
        }
        ASSERT_NE(fake_.driver, nullptr) << fake_.error;
        socket_ = dir_.path() + "/api.sock";
        auto started = ApiServer::start(
            socket_, ApiInfo{"/tmp/rootlesskit3921", 41234, kNetworkInfo}, manager_);
        ASSERT_TRUE(started.ok()) << started.status().message();
        server_ = std::move(*started);
    }

    void TearDown() override {
        if (server_) {
            server_->stop();
        }
    }

    CtlResult ctl(std::vector<std::string> args) {
        args.insert(args.begin(), {"--socket", socket_});
        return runCtl(args);
    }

    void add(const std::string &text) {
        auto spec = parsePortSpec(text);
        ASSERT_TRUE(spec.ok()) << spec.status().message();
        auto added = manager_.add(*spec);
        ASSERT_TRUE(added.ok()) << added.status().message();
    }

    rktest::TempDir dir_;
    rktest::FakePortDriver fake_;
    PortManager manager_{fake_.driver.get()};
    std::string socket_;
    ApiServerPtr server_;
};

// ---- list-ports ---------------------------------------------------------------------------------

TEST_F(RootlessctlTest, ListPortsTableMatchesUpstreamBytes) {
    add("0.0.0.0:8080:80/tcp");

    CtlResult r = ctl({"list-ports"});

    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(r.err, "");
    EXPECT_EQ(r.out,
              "ID    PROTO    PARENTIP    PARENTPORT    CHILDIP    CHILDPORT    \n"
              "1     tcp      0.0.0.0     8080                     80           \n");
}

TEST_F(RootlessctlTest, ListPortsColumnsGrowWithTheirWidestCell) {
    add("[::1]:8080:[fd00::100]:80/tcp6");
    add("127.0.0.1:53:10.0.2.100:53/udp");

    CtlResult r = ctl({"list-ports"});

    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(r.out,
              "ID    PROTO    PARENTIP     PARENTPORT    CHILDIP       CHILDPORT    \n"
              "1     tcp6     ::1          8080          fd00::100     80           \n"
              "2     udp      127.0.0.1    53            10.0.2.100    53           \n");
}

TEST_F(RootlessctlTest, ListPortsWithNoPortsPrintsTheHeaderOnly) {
    CtlResult r = ctl({"list-ports"});

    EXPECT_EQ(r.exitCode, 0);
    EXPECT_EQ(r.out, "ID    PROTO    PARENTIP    PARENTPORT    CHILDIP    CHILDPORT    \n");
}

TEST_F(RootlessctlTest, ListPortsJsonIsOneCompactObjectPerLine) {
    add("0.0.0.0:8080:80/tcp");
    add("127.0.0.1:5353:10.0.2.100:53/udp");

    CtlResult r = ctl({"list-ports", "--json"});

    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(r.out, R"({"id":1,"spec":{"proto":"tcp","parentIP":"0.0.0.0","parentPort":8080,)"
                     R"("childPort":80}})"
                     "\n"
                     R"({"id":2,"spec":{"proto":"udp","parentIP":"127.0.0.1","parentPort":5353,)"
                     R"("childPort":53,"childIP":"10.0.2.100"}})"
                     "\n");
}

TEST_F(RootlessctlTest, ListPortsJsonWithNoPortsPrintsNothing) {
    CtlResult r = ctl({"list-ports", "--json"});

    EXPECT_EQ(r.exitCode, 0);
    EXPECT_EQ(r.out, "");
}

// ---- add-ports and remove-ports -----------------------------------------------------------------

TEST_F(RootlessctlTest, AddPortsPrintsEachNewId) {
    CtlResult r = ctl({"add-ports", "127.0.0.1:8080:80/tcp", "[::1]:8443:443/tcp6"});

    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(r.out, "1\n2\n");
    auto listed = manager_.list();
    ASSERT_TRUE(listed.ok());
    ASSERT_EQ(listed->size(), 2u);
    EXPECT_EQ((*listed)[1].spec, (PortSpec{"tcp6", "::1", 8443, 443, ""}));
}

TEST_F(RootlessctlTest, AddPortsJsonPrintsEachCreatedPort) {
    CtlResult r = ctl({"add-ports", "--json", ":8080:80/tcp"});

    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(r.out, R"({"id":1,"spec":{"proto":"tcp","parentPort":8080,"childPort":80}})"
                     "\n");
}

TEST_F(RootlessctlTest, AddPortsParsesEverySpecBeforeAddingAny) {
    auto bad = parsePortSpec("8080:80/tcp");
    ASSERT_FALSE(bad.ok());

    CtlResult r = ctl({"add-ports", "127.0.0.1:8080:80/tcp", "8080:80/tcp"});

    EXPECT_EQ(r.exitCode, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "error: " + bad.status().message() + "\n");
    EXPECT_TRUE(fakePorts().snapshot().empty());
}

TEST_F(RootlessctlTest, AddPortsStopsAtTheFirstServerError) {
    CtlResult r = ctl(
        {"add-ports", "127.0.0.1:8080:80/tcp", "127.0.0.1:8080:81/tcp", "127.0.0.1:8081:81/tcp"});

    EXPECT_EQ(r.exitCode, 1);
    EXPECT_EQ(r.out, "1\n");
    EXPECT_EQ(r.err, "error: conflict with ID 1\n");
    auto listed = manager_.list();
    ASSERT_TRUE(listed.ok());
    EXPECT_EQ(listed->size(), 1u);
}

TEST_F(RootlessctlTest, AddPortsWithoutSpecsFails) {
    CtlResult r = ctl({"add-ports"});

    EXPECT_EQ(r.exitCode, 1);
    EXPECT_EQ(r.err, "error: no port specified\n");
}

TEST_F(RootlessctlTest, RemovePortsPrintsEachRemovedId) {
    add("0.0.0.0:8080:80/tcp");
    add("0.0.0.0:8081:81/tcp");

    CtlResult r = ctl({"remove-ports", "2", "1"});

    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(r.out, "2\n1\n");
    auto listed = manager_.list();
    ASSERT_TRUE(listed.ok());
    EXPECT_TRUE(listed->empty());
}

TEST_F(RootlessctlTest, RemovePortsParsesEveryIdFirst) {
    add("0.0.0.0:8080:80/tcp");

    CtlResult r = ctl({"remove-ports", "1", "abc"});

    EXPECT_EQ(r.exitCode, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "error: bad id abc: not a decimal number\n");
    EXPECT_EQ(manager_.list()->size(), 1u);
}

TEST_F(RootlessctlTest, RemovePortsStopsAtTheFirstUnknownId) {
    add("0.0.0.0:8080:80/tcp");
    add("0.0.0.0:8081:81/tcp");

    CtlResult r = ctl({"remove-ports", "1", "9", "2"});

    EXPECT_EQ(r.exitCode, 1);
    EXPECT_EQ(r.out, "1\n");
    EXPECT_EQ(r.err, "error: unknown id: 9\n");
    EXPECT_EQ(manager_.list()->size(), 1u);
}

TEST_F(RootlessctlTest, RemovePortsWithoutIdsFails) {
    CtlResult r = ctl({"remove-ports"});

    EXPECT_EQ(r.exitCode, 1);
    EXPECT_EQ(r.err, "error: no ID specified\n");
}

// ---- info ---------------------------------------------------------------------------------------

TEST_F(RootlessctlTest, InfoText) {
    CtlResult r = ctl({"info"});

    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(r.out, std::string("- REST API version: 1.1.1\n"
                                 "- Implementation version: ") +
                         kVersion +
                         "\n"
                         "- State Directory: /tmp/rootlesskit3921\n"
                         "- Child PID: 41234\n"
                         "- Network Driver: slirp4netns\n"
                         "  - DNS: [10.0.2.3]\n"
                         "  - IP: 10.0.2.100\n"
                         "- Port Driver: fake\n"
                         "  - Supported protocols: [tcp tcp4 tcp6 udp udp4 udp6]\n");
}

TEST_F(RootlessctlTest, InfoJsonIsIndentedByFourSpaces) {
    CtlResult r = ctl({"info", "--json"});

    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(r.out, std::string("{\n"
                                 "    \"apiVersion\": \"1.1.1\",\n"
                                 "    \"version\": \"") +
                         kVersion +
                         "\",\n"
                         "    \"stateDir\": \"/tmp/rootlesskit3921\",\n"
                         "    \"childPID\": 41234,\n"
                         "    \"networkDriver\": {\n"
                         "        \"driver\": \"slirp4netns\",\n"
                         "        \"dns\": [\n"
                         "            \"10.0.2.3\"\n"
                         "        ],\n"
                         "        \"childIP\": \"10.0.2.100\"\n"
                         "    },\n"
                         "    \"portDriver\": {\n"
                         "        \"driver\": \"fake\",\n"
                         "        \"protos\": [\n"
                         "            \"tcp\",\n"
                         "            \"tcp4\",\n"
                         "            \"tcp6\",\n"
                         "            \"udp\",\n"
                         "            \"udp4\",\n"
                         "            \"udp6\"\n"
                         "        ]\n"
                         "    }\n"
                         "}\n");
}

// ---- Socket selection and errors ----------------------------------------------------------------

TEST_F(RootlessctlTest, SocketDefaultsToTheStateDirectory) {
    add("0.0.0.0:8080:80/tcp");

    CtlResult r = runCtl({"list-ports", "--json"}, {{"ROOTLESSKIT_STATE_DIR", dir_.path()}});

    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(r.out.rfind(R"({"id":1,)", 0), 0u) << r.out;
}

TEST_F(RootlessctlTest, SocketFlagWinsOverTheStateDirectory) {
    CtlResult r = runCtl({"--socket", socket_, "list-ports", "--json"},
                         {{"ROOTLESSKIT_STATE_DIR", "/nonexistent"}});

    EXPECT_EQ(r.exitCode, 0) << r.err;
}

// Upstream's flag library takes long names after one dash too; scripts use both spellings.
TEST_F(RootlessctlTest, SingleDashLongFlagsWorkAsUpstreams) {
    add("0.0.0.0:8080:80/tcp");
    std::map<std::string, std::string> noStateDir = {{"ROOTLESSKIT_STATE_DIR", "/nonexistent"}};

    CtlResult spaced = runCtl({"-socket", socket_, "list-ports", "-json"}, noStateDir);
    CtlResult joined = runCtl({"-socket=" + socket_, "list-ports", "--json"}, noStateDir);

    EXPECT_EQ(spaced.exitCode, 0) << spaced.err;
    EXPECT_EQ(spaced.out.rfind(R"({"id":1,)", 0), 0u) << spaced.out;
    EXPECT_EQ(joined.exitCode, 0) << joined.err;
    EXPECT_EQ(joined.out, spaced.out);
    EXPECT_EQ(runCtl({"-sockets", socket_, "list-ports"}, noStateDir).exitCode, 1);
}

TEST_F(RootlessctlTest, NoSocketAndNoStateDirectoryFails) {
    CtlResult r = runCtl({"list-ports"});

    EXPECT_EQ(r.exitCode, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "error: please specify --socket or set $ROOTLESSKIT_STATE_DIR\n");
}

TEST_F(RootlessctlTest, MissingSocketIsReportedByStat) {
    std::string missing = dir_.path() + "/nope/api.sock";

    CtlResult r = runCtl({"info"}, {{"ROOTLESSKIT_STATE_DIR", dir_.path() + "/nope"}});

    EXPECT_EQ(r.exitCode, 1);
    EXPECT_EQ(r.err, "error: stat " + missing + ": no such file or directory\n");
}

TEST_F(RootlessctlTest, SocketWithoutAServerIsRefused) {
    server_->stop();
    std::string stale = dir_.path() + "/stale.sock";
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", stale.c_str());
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)), 0);
    close(fd);

    CtlResult r = runCtl({"--socket", stale, "info"});

    EXPECT_EQ(r.exitCode, 1);
    EXPECT_EQ(r.err, "error: connect " + stale + ": connection refused\n");
}

TEST_F(RootlessctlTest, VersionFlag) {
    CtlResult r = runCtl({"--version"});

    EXPECT_EQ(r.exitCode, 0);
    EXPECT_EQ(r.out, std::string("rootlessctl version ") + kVersion + "\n");
}

TEST_F(RootlessctlTest, HelpListsTheCommands) {
    CtlResult r = runCtl({"help"});

    EXPECT_EQ(r.exitCode, 0) << r.err;
    for (const char *command : {"list-ports", "add-ports", "remove-ports", "info"}) {
        EXPECT_NE(r.out.find(command), std::string::npos) << command;
    }
}

TEST_F(RootlessctlTest, UnknownCommandIsAnError) {
    CtlResult r = runCtl({"frobnicate"});

    EXPECT_EQ(r.exitCode, 1);
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
}

TEST(RootlessctlNoPortDriver, PortCommandsFailWithTheServersMessage) {
    if (access(ctlPath().c_str(), X_OK) != 0) {
        GTEST_SKIP() << ctlPath() << " is not built (make the rootlessctl target first)";
    }
    rktest::TempDir dir;
    PortManager manager(nullptr);
    auto server = ApiServer::start(dir.path() + "/api.sock", ApiInfo{"/tmp/sd", 5, ""}, manager);
    ASSERT_TRUE(server.ok()) << server.status().message();
    std::map<std::string, std::string> env = {{"ROOTLESSKIT_STATE_DIR", dir.path()}};

    CtlResult list = runCtl({"list-ports"}, env);
    CtlResult add = runCtl({"add-ports", "127.0.0.1:8080:80/tcp"}, env);
    CtlResult info = runCtl({"info"}, env);

    EXPECT_EQ(list.exitCode, 1);
    EXPECT_EQ(list.err, "error: no PortDriver is available\n");
    EXPECT_EQ(add.exitCode, 1);
    EXPECT_EQ(add.err, "error: no PortDriver is available\n");
    EXPECT_EQ(info.exitCode, 0);
    EXPECT_EQ(info.out, std::string("- REST API version: 1.1.1\n- Implementation version: ") +
                            kVersion + "\n- State Directory: /tmp/sd\n- Child PID: 5\n");
    (*server)->stop();
}

// ---- Pure functions -----------------------------------------------------------------------------

TEST(RootlessctlReplyError, MessageBodyBecomesTheError) {
    HttpReply reply{400, "Bad Request", "application/json",
                    "{\"message\":\"conflict with ID 1\"}\n"};

    EXPECT_EQ(ctl::replyError(reply).message(), "conflict with ID 1");
}

TEST(RootlessctlReplyError, OtherBodiesAreQuoted) {
    HttpReply notFound{404, "Not Found", "text/plain", "404 page not found\n"};
    HttpReply empty{405, "Method Not Allowed", "", ""};
    HttpReply odd{500, "Internal Server Error", "", "{\"msg\":\"x\"}\t\x01\xff\"\\é"};

    EXPECT_EQ(ctl::replyError(notFound).message(),
              "unexpected HTTP status 404 Not Found, body=\"404 page not found\\n\"");
    EXPECT_EQ(ctl::replyError(empty).message(),
              "unexpected HTTP status 405 Method Not Allowed, body=\"\"");
    EXPECT_EQ(ctl::replyError(odd).message(),
              "unexpected HTTP status 500 Internal Server Error, "
              "body=\"{\\\"msg\\\":\\\"x\\\"}\\t\\x01\\xff\\\"\\\\é\"");
}

TEST(RootlessctlFormat, InfoWithoutDriversHasNoDriverBlocks) {
    InfoView info;
    info.apiVersion = "1.1.1";
    info.version = "2.3.4";
    info.stateDir = "/sd";
    info.childPID = 9;
    info.networkDriver = InfoView::Network{"pasta", {}, "", false};

    EXPECT_EQ(ctl::formatInfo(info),
              "- REST API version: 1.1.1\n- Implementation version: 2.3.4\n- State Directory: "
              "/sd\n- Child PID: 9\n- Network Driver: pasta\n  - DNS: []\n");
}

}  // namespace
}  // namespace rootlesskit
