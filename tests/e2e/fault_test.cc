// Faults, against the real rootlesskit run as the test user: SIGKILL of each process of a run
// (slirp4netns or pasta, the child, the command, the parent), a plugin failing at each step of
// its lifecycle (the "failing" fixture plugins), and bad input of every kind. Each must end in a
// defined state: one clear error line, the documented exit code, no process of the run left, no
// state directory left, the published host ports closed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/e2e/net_clients.h"
#include "tests/support/process.h"

namespace rktest {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

const std::string kFailingDir = std::string(RK_TEST_FIXTURE_DIR) + "/failing";

std::vector<std::string> rk(std::vector<std::string> args) {
    args.insert(args.begin(), binPath("rootlesskit"));
    return args;
}

std::string readFile(const std::string &path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::string> errorLines(const std::string &err) {
    std::vector<std::string> out;
    std::istringstream in(err);
    std::string line;
    while (std::getline(in, line)) {
        if (line.find("] error: ") != std::string::npos) {
            out.push_back(line);
        }
    }
    return out;
}

// ---- Processes and ports ----

struct ProcInfo {
    pid_t pid = 0;
    char state = '?';
    pid_t ppid = 0;
    pid_t pgrp = 0;
    std::string argv0;
};

std::optional<ProcInfo> procInfo(pid_t pid) {
    std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
    size_t close = stat.rfind(')');
    if (close == std::string::npos || stat.size() < close + 2) {
        return std::nullopt;
    }
    ProcInfo info;
    info.pid = pid;
    std::istringstream(stat.substr(close + 2)) >> info.state >> info.ppid >> info.pgrp;
    std::string cmdline = readFile("/proc/" + std::to_string(pid) + "/cmdline");
    info.argv0 = cmdline.substr(0, cmdline.find('\0'));
    return info;
}

bool alive(pid_t pid) {
    std::optional<ProcInfo> info = procInfo(pid);
    return info && info->state != 'Z';
}

std::vector<ProcInfo> processes() {
    std::vector<ProcInfo> out;
    for (const auto &entry : fs::directory_iterator("/proc")) {
        std::string name = entry.path().filename();
        if (name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        if (std::optional<ProcInfo> info = procInfo(std::stoi(name))) {
            out.push_back(*info);
        }
    }
    return out;
}

// Live processes of the run's process group other than the parent itself (the test started the
// parent as a group leader; the child, the command and helpers stay in its group).
std::vector<std::string> strays(pid_t parent) {
    std::vector<std::string> out;
    for (const ProcInfo &p : processes()) {
        if (p.pgrp == parent && p.pid != parent && p.state != 'Z') {
            out.push_back(std::to_string(p.pid) + " " + p.argv0);
        }
    }
    return out;
}

std::string joined(const std::vector<std::string> &items) {
    std::string out;
    for (const std::string &item : items) {
        out += (out.empty() ? "" : ", ") + item;
    }
    return out;
}

// The first child process of pid, by /proc/<pid>/task/<pid>/children; 0 when none.
pid_t firstChildOf(pid_t pid) {
    std::string children =
        readFile("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
    return children.empty() ? 0 : static_cast<pid_t>(std::stol(children));
}

bool tcpPortOpen(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool open = connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0;
    close(fd);
    return open;
}

// ---- A run in the background and what it must leave behind ----

class ObservedRun {
public:
    ObservedRun(const std::string &stateDir, const std::vector<std::string> &flags,
                const std::vector<std::string> &command)
        : stateDir_(stateDir), process_(makeArgv(stateDir, flags, command)) {}

    bool waitApi() {
        return waitFor([this] {
                   return !process_.running() || unixSocketAccepts(stateDir_ + "/api.sock");
               }) &&
               process_.running();
    }
    pid_t childPid() {
        std::string text = readFile(stateDir_ + "/child_pid");
        return text.empty() ? 0 : static_cast<pid_t>(std::stol(text));
    }
    BackgroundProcess &process() { return process_; }

    // Waits until the parent has exited, checks that nothing of the run is left while it is
    // still unreaped (reaping kills its process group), then reaps it.
    RunResult endAndCheck(const std::vector<int> &ports) {
        pid_t parent = process_.pid();
        bool exited = waitFor([&] { return !alive(parent); }, milliseconds(30000));
        EXPECT_TRUE(exited) << "the run did not end";
        std::vector<std::string> left;
        waitFor([&] { return (left = strays(parent)).empty(); }, milliseconds(3000));
        EXPECT_TRUE(left.empty()) << "processes left: " << joined(left);
        RunResult result = process_.wait(milliseconds(10000));
        EXPECT_FALSE(fs::exists(stateDir_)) << "state dir left: " << stateDir_;
        for (int port : ports) {
            EXPECT_FALSE(tcpPortOpen(port)) << "host port " << port << " still open";
        }
        return result;
    }

private:
    static std::vector<std::string> makeArgv(const std::string &stateDir,
                                             const std::vector<std::string> &flags,
                                             const std::vector<std::string> &command) {
        std::vector<std::string> args = {"--state-dir=" + stateDir};
        args.insert(args.end(), flags.begin(), flags.end());
        args.insert(args.end(), command.begin(), command.end());
        return rk(args);
    }

    std::string stateDir_;
    BackgroundProcess process_;
};

void expectOneErrorWith(const RunResult &result, int exitCode, const std::string &text) {
    EXPECT_EQ(result.exitCode, exitCode) << result.err;
    std::vector<std::string> errors = errorLines(result.err);
    ASSERT_EQ(errors.size(), 1u) << result.err;
    EXPECT_NE(errors[0].find(text), std::string::npos) << errors[0];
}

class FaultTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string reason;
        if (!testUser(&reason)) {
            GTEST_SKIP() << reason;
        }
    }

    std::string stateDir() const { return tmp_.path() + "/state"; }
    std::string marker() const { return tmp_.path() + "/ran"; }
    // The command of most runs: leaves a marker, then waits to be ended.
    std::vector<std::string> markAndSleep() const {
        return {"sh", "-c", "touch " + marker() + "; exec sleep 600"};
    }
    std::string publish(int port) const { return "127.0.0.1:" + std::to_string(port) + ":80/tcp"; }

    TempDir tmp_;
};

// ---- SIGKILL of each process ----

TEST_F(FaultTest, KilledCommandEndsTheRunWith255) {
    int port = freePort();
    ObservedRun run(stateDir(), {"--net=none", "--port-driver=builtin", "-p", publish(port)},
                    markAndSleep());
    ASSERT_TRUE(run.waitApi()) << run.process().errSoFar();
    ASSERT_TRUE(waitFor([&] { return fs::exists(marker()); }));
    pid_t command = firstChildOf(run.childPid());
    ASSERT_GT(command, 0);

    ASSERT_EQ(kill(command, SIGKILL), 0);
    RunResult result = run.endAndCheck({port});
    EXPECT_EQ(result.exitCode, 255) << result.err;
    std::vector<std::string> errors = errorLines(result.err);
    ASSERT_EQ(errors.size(), 2u) << result.err;
    EXPECT_NE(errors[0].find("[rootlesskit:child ] error: command [sh -c "), std::string::npos)
        << errors[0];
    EXPECT_NE(errors[0].find("] exited: signal: killed"), std::string::npos) << errors[0];
    EXPECT_EQ(errors[1], "[rootlesskit:parent] error: child exited: exit status 255");
}

TEST_F(FaultTest, KilledChildEndsTheRunWithOneError) {
    for (const std::vector<std::string> &extra :
         {std::vector<std::string>{}, std::vector<std::string>{"--pidns"}}) {
        TempDir tmp;
        int port = freePort();
        std::vector<std::string> flags = {"--net=none", "--port-driver=builtin", "-p",
                                          publish(port)};
        flags.insert(flags.end(), extra.begin(), extra.end());
        ObservedRun run(tmp.path() + "/state", flags, {"sleep", "600"});
        ASSERT_TRUE(run.waitApi()) << run.process().errSoFar();
        pid_t child = run.childPid();
        ASSERT_TRUE(waitFor([&] { return firstChildOf(child) > 0; }));
        pid_t command = firstChildOf(child);

        ASSERT_EQ(kill(child, SIGKILL), 0);
        RunResult result = run.endAndCheck({port});
        expectOneErrorWith(result, 1, "killed");
        EXPECT_FALSE(alive(command)) << "the command outlived its child";
    }
}

TEST_F(FaultTest, KilledParentTakesEverythingWithIt) {
    int port = freePort();
    ObservedRun run(stateDir(), {"--net=none", "--port-driver=builtin", "-p", publish(port)},
                    markAndSleep());
    ASSERT_TRUE(run.waitApi()) << run.process().errSoFar();
    ASSERT_TRUE(waitFor([&] { return fs::exists(marker()); }));
    pid_t child = run.childPid();
    pid_t command = firstChildOf(child);

    run.process().signal(SIGKILL);
    EXPECT_TRUE(waitFor([&] { return !alive(child) && !alive(command); }, milliseconds(5000)));
    // The parent's other threads may hold its descriptors a moment longer.
    EXPECT_TRUE(waitFor([&] { return !tcpPortOpen(port); }, milliseconds(5000)));
    run.process().wait();

    // A SIGKILLed parent cannot remove its state directory; the next run on it takes it over.
    RunResult next = runAsTestUser(rk({"--state-dir=" + stateDir(), "true"}));
    EXPECT_EQ(next.exitCode, 0) << next.err;
    EXPECT_FALSE(fs::exists(stateDir()));
}

// The network helper of a run, found among the parent's children by its name.
std::optional<pid_t> helperOf(pid_t parent, const std::string &name) {
    for (const ProcInfo &p : processes()) {
        if (p.ppid == parent && fs::path(p.argv0).filename() == name) {
            return p.pid;
        }
    }
    return std::nullopt;
}

class KilledNetworkHelperTest : public FaultTest,
                                public ::testing::WithParamInterface<const char *> {};

TEST_P(KilledNetworkHelperTest, EndsTheRunWithOneError) {
    std::string net = GetParam();
    std::vector<std::string> flags = {"--net=" + net, "--disable-host-loopback"};
    std::vector<int> ports;
    if (net == "slirp4netns") {
        ports.push_back(freePort());
        flags.insert(flags.end(), {"--port-driver=builtin", "-p", publish(ports[0])});
    }
    RunResult probe = runAsTestUser(rk({"--net=" + net, "--disable-host-loopback", "true"}));
    if (probe.exitCode != 0) {
        GTEST_SKIP() << "--net=" << net << " does not run here: " << probe.err;
    }
    ObservedRun run(stateDir(), flags, markAndSleep());
    ASSERT_TRUE(run.waitApi()) << run.process().errSoFar();
    std::optional<pid_t> helper;
    ASSERT_TRUE(waitFor([&] { return (helper = helperOf(run.process().pid(), net)).has_value(); }))
        << run.process().errSoFar();

    ASSERT_EQ(kill(*helper, SIGKILL), 0);
    RunResult result = run.endAndCheck(ports);
    expectOneErrorWith(result, 1, net);
}

INSTANTIATE_TEST_SUITE_P(Helpers, KilledNetworkHelperTest,
                         ::testing::Values("slirp4netns", "pasta"));

// ---- A plugin failing at each step ----

// A profile that loads the failing plugins and tells the one of kind ("network" or "port") to
// fail at step.
std::string failingProfile(const std::string &dir, const std::string &kind,
                           const std::string &step) {
    std::string path = dir + "/failing.yaml";
    std::ofstream out(path);
    out << "plugin-path: [" << kFailingDir << "]\n";
    out << (kind == "network" ? "net: failing\n" : "net: none\nport-driver: failing\n");
    out << "drivers:\n  " << kind << ":\n    failing:\n      fail: " << step << "\n";
    if (kind == "network") {
        out << "      helper_pidfile: " << dir << "/helper.pid\n";
    }
    return path;
}

std::string failureOf(const std::string &step) {
    return "failing " + step + ": failure requested by the config";
}

// How the host names the plugin in front of its message when step fails: the same way whether
// the step runs in the parent or in the child. "" for the steps whose context names a port spec.
std::string contextOf(const std::string &kind, const std::string &step) {
    static const std::map<std::string, std::string> kContexts = {
        {"network create", "create network driver failing: "},
        {"network prepare_child", "failed to setup network failing: "},
        {"network configure_parent", "failed to setup network failing: "},
        {"network configure_child", "failed to setup network failing: "},
        {"network watch", "network driver failing: "},
        {"network info", "network driver failing info: "},
        {"port create", "create port driver failing: "},
        {"port init_parent", "failed to setup port driver failing: "},
        {"port init_child", "failed to setup port driver failing: "},
        {"port run_parent", "port driver failing: "},
        {"port run_child", "port driver failing stopped: "},
    };
    auto found = kContexts.find(kind + " " + step);
    return found != kContexts.end() ? found->second : "";
}

class FailingFixtureTest : public FaultTest {
protected:
    void SetUp() override {
        FaultTest::SetUp();
        if (!IsSkipped() && !fs::exists(kFailingDir + "/rkp-net-failing.so")) {
            GTEST_SKIP() << "the failing fixture plugins are not built in " << kFailingDir;
        }
    }

    // The helper the network plugin started, if it wrote its PID.
    std::optional<pid_t> helper() const {
        std::string text = readFile(tmp_.path() + "/helper.pid");
        return text.empty() ? std::nullopt : std::optional<pid_t>(std::stoi(text));
    }
};

class FailingPluginTest
    : public FailingFixtureTest,
      public ::testing::WithParamInterface<std::pair<const char *, const char *>> {};

// Steps at which a failure stops the run before the command starts.
TEST_P(FailingPluginTest, StopsTheRunWithThePluginsMessageAndLeavesNothing) {
    auto [kind, step] = GetParam();
    int first = freePort();
    int second = freePort();
    std::vector<std::string> flags = {"--profile=" + failingProfile(tmp_.path(), kind, step)};
    if (std::string(kind) == "port") {
        flags.insert(flags.end(), {"-p", publish(first), "-p", publish(second)});
    }
    ObservedRun run(stateDir(), flags, markAndSleep());
    RunResult result = run.endAndCheck({first, second});

    expectOneErrorWith(result, 1, contextOf(kind, step) + failureOf(step));
    EXPECT_FALSE(fs::exists(marker())) << "the command ran";
    if (std::optional<pid_t> pid = helper()) {
        EXPECT_FALSE(alive(*pid)) << "the network helper was not stopped";
    }
}

INSTANTIATE_TEST_SUITE_P(
    Steps, FailingPluginTest,
    ::testing::Values(
        std::make_pair("network", "create"), std::make_pair("network", "prepare_child"),
        std::make_pair("network", "configure_parent"), std::make_pair("network", "configure_child"),
        std::make_pair("network", "info"), std::make_pair("port", "create"),
        std::make_pair("port", "init_parent"), std::make_pair("port", "init_child"),
        std::make_pair("port", "add_port"), std::make_pair("port", "second_add_port")),
    [](const auto &info) {
        return std::string(info.param.first) + "_" + std::string(info.param.second);
    });

// Steps that fail while the run is up: the loops (the run ends with the plugin's message) and
// the calls the API makes (the request fails with it, the run goes on).
using FailingPluginAtRunTimeTest = FailingFixtureTest;

TEST_F(FailingPluginAtRunTimeTest, FailingLoopEndsTheRunWithThePluginsMessage) {
    for (auto [kind, step] :
         {std::make_pair("network", "watch"), std::make_pair("port", "run_parent"),
          std::make_pair("port", "run_child")}) {
        TempDir tmp;
        int port = freePort();
        std::vector<std::string> flags = {"--profile=" + failingProfile(tmp.path(), kind, step)};
        if (std::string(kind) == "port") {
            flags.insert(flags.end(), {"-p", publish(port)});
        }
        ObservedRun run(tmp.path() + "/state", flags, {"sleep", "600"});
        RunResult result = run.endAndCheck({port});
        SCOPED_TRACE(step);
        expectOneErrorWith(result, 1, contextOf(kind, step) + failureOf(step));
    }
}

// Teardown runs after the command ended: its failure is a warning, and the exit code stays the
// command's.
TEST_F(FailingPluginAtRunTimeTest, FailingTeardownIsAWarningAndStillStopsTheHelper) {
    ObservedRun run(stateDir(), {"--profile=" + failingProfile(tmp_.path(), "network", "teardown")},
                    {"sh", "-c", "exit 3"});
    RunResult result = run.endAndCheck({});
    EXPECT_EQ(result.exitCode, 3) << result.err;
    EXPECT_NE(result.err.find("warning core: network teardown: " + failureOf("teardown")),
              std::string::npos)
        << result.err;
    if (std::optional<pid_t> pid = helper()) {
        EXPECT_FALSE(alive(*pid)) << "the network helper was not stopped";
    }
}

TEST_F(FailingPluginAtRunTimeTest, FailingApiCallsAnswerWithThePluginsMessage) {
    for (const char *step : {"remove_port", "info"}) {
        TempDir tmp;
        int port = freePort();
        ObservedRun run(
            tmp.path() + "/state",
            {"--profile=" + failingProfile(tmp.path(), "port", step), "-p", publish(port)},
            {"sleep", "600"});
        ASSERT_TRUE(run.waitApi()) << run.process().errSoFar();
        std::string socket = tmp.path() + "/state/api.sock";

        RawHttpReply reply = std::string(step) == "info" ? rawHttp(socket, "GET", "/v1/info")
                                                         : rawHttp(socket, "DELETE", "/v1/ports/1");
        std::string context = std::string(step) == "info" ? "port driver failing info: " : "";
        EXPECT_NE(reply.body.find(context + failureOf(step)), std::string::npos) << reply.body;
        EXPECT_GE(reply.status, 400);
        EXPECT_TRUE(run.process().running());

        kill(run.childPid(), SIGTERM);
        RunResult result = run.endAndCheck({port});
        EXPECT_FALSE(result.timedOut);
    }
}

// A network plugin whose message is not JSON: the one error line names the driver and says
// what is wrong in the parser's words, without the parser's class name.
TEST_F(FailingFixtureTest, MalformedNetworkMessageIsOneLineNamingTheDriver) {
    std::string profile = tmp_.path() + "/netmsg.yaml";
    std::ofstream(profile) << "plugin-path: [" << kFailingDir << "]\nnet: failing\n"
                           << "drivers:\n  network:\n    failing:\n      fail: nothing\n"
                           << "      netmsg: \"{oops\"\n";
    ObservedRun run(stateDir(), {"--profile=" + profile}, markAndSleep());
    RunResult result = run.endAndCheck({});

    expectOneErrorWith(result, 1, "failed to setup network failing: network message: ");
    EXPECT_EQ(result.err.find("JSON Exception"), std::string::npos) << result.err;
    EXPECT_FALSE(fs::exists(marker())) << "the command ran";
}

// ---- Bad input ----

struct BadInput {
    const char *name;
    std::vector<std::string> args;
    std::vector<std::string> expected;  // each in the one error line
};

const std::vector<BadInput> kBadInputs = {
    {"UnknownFlag", {"--bogus-flag", "true"}, {"--bogus-flag"}},
    {"UnknownNetwork", {"--net=bogus", "true"}, {"bogus"}},
    {"UnknownPortDriver", {"--port-driver=bogus", "true"}, {"bogus"}},
    {"MtuNotANumber", {"--mtu=abc", "true"}, {"--mtu", "abc", "integer"}},
    {"MtuTooLarge", {"--mtu=70000", "true"}, {"70000", "65521"}},
    {"BadCidr",
     {"--net=slirp4netns", "--cidr=10.0.2.1/99", "true"},
     {"10.0.2.1/99", "10.0.2.0/24"}},
    {"ShortPortSpec",
     {"--net=none", "--port-driver=builtin", "-p", "8080:80/tcp", "true"},
     {"8080:80/tcp", "PARENTIP:PARENTPORT"}},
    {"UnknownProto",
     {"--net=none", "--port-driver=builtin", "-p", "127.0.0.1:8080:80/tpc", "true"},
     {"tpc"}},
    {"PortOutOfRange",
     {"--net=none", "--port-driver=builtin", "-p", "127.0.0.1:0:80/tcp", "true"},
     {"127.0.0.1:0:80/tcp", "1-65535"}},
    {"BadPropagation", {"--propagation=bogus", "true"}, {"bogus", "rprivate"}},
    {"BadReaper", {"--reaper=maybe", "true"}, {"maybe", "auto"}},
    {"BadSubidSource", {"--subid-source=x", "true"}, {"\"x\"", "dynamic"}},
    {"RelativeCopyUp", {"--copy-up=etc", "true"}, {"\"etc\"", "absolute"}},
    {"MissingProfile", {"--profile=/nonexistent/p.yaml", "true"}, {"/nonexistent/p.yaml"}},
    {"MissingSlirp4netns",
     {"--net=slirp4netns", "--slirp4netns-binary=/nonexistent/slirp4netns", "true"},
     {"/nonexistent/slirp4netns"}},
    {"MissingPasta",
     {"--net=pasta", "--pasta-binary=/nonexistent/pasta", "true"},
     {"/nonexistent/pasta"}},
    {"StateDirUnderMissingDir", {"--state-dir=/nonexistent/state", "true"}, {"/nonexistent/state"}},
};

class BadInputTest : public FaultTest, public ::testing::WithParamInterface<BadInput> {};

TEST_P(BadInputTest, IsOneErrorLineNamingTheInput) {
    RunOptions options;
    options.env["TMPDIR"] = tmp_.path();  // where a temporary state dir would be left
    RunResult result = runAsTestUser(rk(GetParam().args), options);
    EXPECT_EQ(result.exitCode, 1) << result.err;
    std::vector<std::string> errors = errorLines(result.err);
    ASSERT_EQ(errors.size(), 1u) << result.err;
    for (const std::string &text : GetParam().expected) {
        EXPECT_NE(errors[0].find(text), std::string::npos) << "no " << text << " in " << errors[0];
    }
    EXPECT_EQ(std::distance(fs::directory_iterator(tmp_.path()), fs::directory_iterator()), 0);
}

INSTANTIATE_TEST_SUITE_P(Inputs, BadInputTest, ::testing::ValuesIn(kBadInputs),
                         [](const auto &info) { return std::string(info.param.name); });

TEST_F(FaultTest, BadProfileIsOneLineWithFileLineAndColumn) {
    std::string profile = tmp_.path() + "/bad.yaml";
    std::ofstream(profile) << "net: none\nmut: 1500\n";
    RunResult result = runAsTestUser(rk({"--profile=" + profile, "true"}));
    expectOneErrorWith(result, 1, profile + ":2:1: unknown key \"mut\", did you mean \"mtu\"?");
}

TEST_F(FaultTest, UnwritableStateDirIsOneLine) {
    // A directory of root's (or of nobody the test user is): the run cannot create its state.
    std::string locked = tmp_.path() + "/locked";
    fs::create_directory(locked);
    chmod(locked.c_str(), 0555);
    RunResult result = runAsTestUser(rk({"--state-dir=" + locked + "/state", "true"}));
    expectOneErrorWith(result, 1, locked + "/state: permission denied");
}

TEST_F(FaultTest, FullDiskUnderTheStateDirIsOneLine) {
    if (geteuid() != 0) {
        GTEST_SKIP() << "mounting a small tmpfs needs root";
    }
    std::string full = tmp_.path() + "/full";
    fs::create_directory(full);
    ASSERT_EQ(
        mount("rktest-full", full.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0777"), 0)
        << strerror(errno);
    std::ofstream(full + "/filler") << std::string(128 * 1024, 'x');  // stops at the limit

    std::string sd = full + "/state";
    RunResult result = runAsTestUser(rk({"--state-dir=" + sd, "touch", tmp_.path() + "/ran"}));
    umount2(full.c_str(), MNT_DETACH);
    expectOneErrorWith(result, 1, "no space left on device");
    EXPECT_NE(errorLines(result.err).at(0).find(sd), std::string::npos) << result.err;
    EXPECT_FALSE(fs::exists(tmp_.path() + "/ran"));
}

TEST_F(FaultTest, UserWithoutSubuidRangesIsOneLine) {
    std::string reason;
    std::optional<TestUser> second = secondUser(&reason);
    if (!second) {
        GTEST_SKIP() << reason;
    }
    RunOptions options;
    options.user = second->name;
    RunResult result = runAsTestUser(rk({"true"}), options);
    expectOneErrorWith(result, 1, "No subuid ranges found for user " + std::to_string(second->uid));
}

TEST_F(FaultTest, SubuidRangeCoveringTheUsersOwnUidIsOneLine) {
    // A getsubids that hands out a range containing the user's own UID, as a bad /etc/subuid
    // entry would.
    std::string reason;
    std::optional<TestUser> user = testUser(&reason);
    std::string script = tmp_.path() + "/getsubids";
    std::ofstream(script) << "#!/bin/sh\necho \"0: $1 " << user->uid - 5 << " 10\"\n";
    chmod(script.c_str(), 0755);
    RunOptions options;
    options.env["GETSUBIDS"] = script;
    RunResult result = runAsTestUser(rk({"--subid-source=dynamic", "true"}), options);
    expectOneErrorWith(result, 1, std::to_string(user->uid));
    EXPECT_FALSE(result.timedOut);
}

}  // namespace
}  // namespace rktest
