// End-to-end tests of the parent/child runtime: the real rootlesskit run as the unprivileged
// test user through the real newuidmap/newgidmap. ID maps, exit codes, signals, parent death,
// the state directory, the command's environment and descriptors, and --net=none.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/process.h"
#include "tests/support/sanitizer_reports.h"

namespace rktest {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

RunOptions withTimeout(milliseconds timeout) {
    RunOptions options;
    options.timeout = timeout;
    return options;
}

#define REQUIRE_TEST_USER()                               \
    std::string skipReason;                               \
    std::optional<TestUser> user = testUser(&skipReason); \
    if (!user) {                                          \
        GTEST_SKIP() << skipReason;                       \
    }

std::vector<std::string> rk(std::vector<std::string> args) {
    args.insert(args.begin(), binPath("rootlesskit"));
    return args;
}

std::string readFile(const std::string &path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::vector<std::string> lines(const std::string &text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        out.push_back(line);
    }
    return out;
}

size_t countErrorLines(const std::string &err) {
    size_t count = 0;
    for (const std::string &line : lines(err)) {
        count += line.find("] error: ") != std::string::npos ? 1 : 0;
    }
    return count;
}

// A process that no longer runs: gone, or a zombie nobody reaped yet.
bool processGone(pid_t pid) {
    std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
    if (stat.empty()) {
        return true;
    }
    size_t close = stat.rfind(')');
    return close != std::string::npos && stat.size() > close + 2 && stat[close + 2] == 'Z';
}

// The first line of each ID map, "<inside> <outside> <count>", as numbers per line.
std::vector<std::vector<uint64_t>> parseMap(const std::string &text) {
    std::vector<std::vector<uint64_t>> rows;
    for (const std::string &line : lines(text)) {
        std::istringstream in(line);
        std::vector<uint64_t> row(3);
        if (in >> row[0] >> row[1] >> row[2]) {
            rows.push_back(row);
        }
    }
    return rows;
}

// The rows a map should have: 0 -> id (1), then the user's /etc/sub[ug]id ranges from 1.
std::vector<std::vector<uint64_t>> expectedMap(const std::string &file, const TestUser &user,
                                               uint64_t id) {
    std::vector<std::vector<uint64_t>> rows = {{0, id, 1}};
    uint64_t next = 1;
    for (const std::string &line : lines(readFile(file))) {
        std::vector<std::string> parts;
        std::istringstream in(line);
        std::string part;
        while (std::getline(in, part, ':')) {
            parts.push_back(part);
        }
        if (parts.size() == 3 && (parts[0] == user.name || parts[0] == std::to_string(user.uid))) {
            uint64_t start = std::stoull(parts[1]);
            uint64_t count = std::stoull(parts[2]);
            rows.push_back({next, start, count});
            next += count;
        }
    }
    return rows;
}

// A run in the background with --state-dir, waited for until child_pid exists.
class RunningInstance {
public:
    RunningInstance(const std::string &stateDir, const std::vector<std::string> &command,
                    const std::vector<std::string> &flags = {})
        : stateDir_(stateDir), process_(makeArgv(stateDir, command, flags)) {}

    // Waits for child_pid (written once the command is about to start).
    bool waitReady() {
        return waitFor([this] { return fs::exists(stateDir_ + "/child_pid"); });
    }
    pid_t childPid() { return static_cast<pid_t>(std::stol(readFile(stateDir_ + "/child_pid"))); }
    BackgroundProcess &process() { return process_; }

private:
    static std::vector<std::string> makeArgv(const std::string &stateDir,
                                             const std::vector<std::string> &command,
                                             const std::vector<std::string> &flags) {
        std::vector<std::string> args = {"--state-dir=" + stateDir};
        args.insert(args.end(), flags.begin(), flags.end());
        args.insert(args.end(), command.begin(), command.end());
        return rk(args);
    }

    std::string stateDir_;
    BackgroundProcess process_;
};

// The command the signal tests run: records the first signal it gets, then exits 7.
std::vector<std::string> trapScript(const std::string &dir) {
    std::string script = "for s in TERM INT HUP USR1; do trap \"echo $s > " + dir +
                         "/marker; exit 7\" $s; done; "
                         "touch " +
                         dir + "/ready; while :; do sleep 1 & wait $!; done";
    return {"sh", "-c", script};
}

TEST(RuntimeTest, CommandRunsAsRoot) {
    REQUIRE_TEST_USER();
    RunResult result = runAsTestUser(rk({"id", "-u"}));
    EXPECT_EQ(result.exitCode, 0) << result.err;
    EXPECT_EQ(result.out, "0\n");
}

TEST(RuntimeTest, IdMapsFollowSubordinateRanges) {
    REQUIRE_TEST_USER();
    RunResult uids = runAsTestUser(rk({"cat", "/proc/self/uid_map"}));
    RunResult gids = runAsTestUser(rk({"cat", "/proc/self/gid_map"}));
    ASSERT_EQ(uids.exitCode, 0) << uids.err;
    ASSERT_EQ(gids.exitCode, 0) << gids.err;
    EXPECT_EQ(parseMap(uids.out), expectedMap("/etc/subuid", *user, user->uid));
    EXPECT_EQ(parseMap(gids.out), expectedMap("/etc/subgid", *user, user->gid));
}

TEST(RuntimeTest, ExitCodeIsTheCommands) {
    REQUIRE_TEST_USER();
    for (const std::vector<std::string> &flags : {std::vector<std::string>{},
                                                  {"--pidns"},
                                                  {"--pidns", "--reaper=true"},
                                                  {"--pidns", "--reaper=false"}}) {
        for (int code : {0, 1, 42}) {
            std::vector<std::string> args = flags;
            args.insert(args.end(), {"sh", "-c", "exit " + std::to_string(code)});
            RunResult result = runAsTestUser(rk(args));
            EXPECT_EQ(result.exitCode, code) << result.err;
            // The child's line and the parent's, as upstream prints them.
            EXPECT_EQ(countErrorLines(result.err), code == 0 ? 0u : 2u) << result.err;
        }
    }
}

// Scripts written for upstream match these two lines: the child's, then the parent's.
TEST(RuntimeTest, NonZeroExitPrintsTheChildsAndTheParentsErrorLine) {
    REQUIRE_TEST_USER();
    RunResult result = runAsTestUser(rk({"sh", "-c", "exit 42"}));
    EXPECT_EQ(result.exitCode, 42);
    EXPECT_EQ(result.err,
              "[rootlesskit:child ] error: command [sh -c exit 42] exited: exit status 42\n"
              "[rootlesskit:parent] error: child exited: exit status 42\n");
}

TEST(RuntimeTest, SignalDeathOfTheCommandExits255) {
    REQUIRE_TEST_USER();
    for (const std::vector<std::string> &flags :
         {std::vector<std::string>{}, {"--pidns"}, {"--pidns", "--reaper=false"}}) {
        TempDir tmp;
        RunningInstance run(tmp.path() + "/state", {"sleep", "infinity"}, flags);
        ASSERT_TRUE(run.waitReady()) << run.process().errSoFar();
        ASSERT_EQ(kill(run.childPid(), SIGUSR1), 0);
        RunResult result = run.process().wait(milliseconds(10000));
        EXPECT_EQ(result.exitCode, 255) << result.err;
        EXPECT_NE(result.err.find("exited: signal: user defined signal 1\n"), std::string::npos)
            << result.err;
        EXPECT_NE(result.err.find("[rootlesskit:parent] error: child exited: exit status 255\n"),
                  std::string::npos)
            << result.err;
    }
}

TEST(RuntimeTest, SignalsToTheParentReachTheCommand) {
    REQUIRE_TEST_USER();
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) {
        TempDir tmp;
        RunningInstance run(tmp.path() + "/state", trapScript(tmp.path()));
        ASSERT_TRUE(waitFor([&] { return fs::exists(tmp.path() + "/ready"); }))
            << run.process().errSoFar();
        run.process().signal(sig);
        RunResult result = run.process().wait(milliseconds(10000));
        EXPECT_EQ(result.exitCode, 7) << strsignal(sig) << ": " << result.err;
        std::string name = sig == SIGTERM  ? "TERM"
                           : sig == SIGINT ? "INT"
                           : sig == SIGHUP ? "HUP"
                                           : "USR1";
        EXPECT_EQ(readFile(tmp.path() + "/marker"), name + "\n");
    }
}

TEST(RuntimeTest, ParentKilledTakesChildAndCommandWithIt) {
    REQUIRE_TEST_USER();
    for (const std::vector<std::string> &flags :
         {std::vector<std::string>{"--reaper=false"}, {"--pidns", "--reaper=true"}}) {
        TempDir tmp;
        RunningInstance run(tmp.path() + "/state", trapScript(tmp.path()), flags);
        ASSERT_TRUE(waitFor([&] { return fs::exists(tmp.path() + "/ready"); }))
            << run.process().errSoFar();
        pid_t child = run.childPid();
        std::string children = readFile("/proc/" + std::to_string(child) + "/task/" +
                                        std::to_string(child) + "/children");
        ASSERT_FALSE(children.empty());
        pid_t command = static_cast<pid_t>(std::stol(children));

        run.process().signal(SIGKILL);
        EXPECT_TRUE(waitFor([&] { return processGone(child); }, milliseconds(2000)));
        EXPECT_TRUE(waitFor([&] { return processGone(command); }, milliseconds(2000)));
        EXPECT_FALSE(fs::exists(tmp.path() + "/marker"));
    }
}

// Quotes text for sh inside single quotes.
std::string shellQuote(const std::string &text) {
    std::string quoted = "'";
    for (char c : text) {
        quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return quoted + "'";
}

TEST(RuntimeTest, TerminalJobControlWithoutReaper) {
    REQUIRE_TEST_USER();
    std::string command = binPath("rootlesskit") + " --reaper=false sh -c 'tty; echo DONE'";
    RunResult result = runAsTestUser({"script", "-qec", command, "/dev/null"});
    ASSERT_EQ(result.exitCode, 0) << result.out << result.err;
    EXPECT_NE(result.out.find("/dev/pts/"), std::string::npos) << result.out;
    EXPECT_NE(result.out.find("DONE"), std::string::npos) << result.out;
    EXPECT_EQ(result.out.find("cannot set terminal process group"), std::string::npos);
}

// Ctrl-C on a terminal signals the whole foreground group (parent, child and, without a reaper,
// the command): the proxies must not add copies of their own. The command then waits a second
// for copies that would arrive late.
TEST(RuntimeTest, TerminalInterruptReachesTheCommandOnce) {
    REQUIRE_TEST_USER();
    for (const std::vector<std::string> &flags :
         {std::vector<std::string>{"--reaper=false"}, {"--pidns", "--reaper=true"}}) {
        TempDir tmp;
        const std::string &dir = tmp.path();
        std::string inner = "trap 'echo INT >> " + dir + "/marker' INT; touch " + dir +
                            "/ready; sleep 3 & wait; sleep 1; touch " + dir + "/done";
        std::string command = binPath("rootlesskit");
        for (const std::string &flag : flags) {
            command += " " + flag;
        }
        command += " sh -c " + shellQuote(inner);
        // Types Ctrl-C into the terminal once the command is ready, then holds the terminal
        // open until the command is done.
        std::string typist = "until [ -e " + dir +
                             "/ready ]; do sleep 0.05; done; printf '\\003'; " + "until [ -e " +
                             dir + "/done ]; do sleep 0.05; done";
        std::string pipeline =
            "sh -c " + shellQuote(typist) + " | script -qec " + shellQuote(command) + " /dev/null";
        RunResult result = runAsTestUser({"sh", "-c", pipeline}, withTimeout(milliseconds(30000)));
        EXPECT_FALSE(result.timedOut);
        EXPECT_EQ(readFile(dir + "/marker"), "INT\n") << flags.size() << result.out << result.err;
    }
}

TEST(RuntimeTest, StateDirWhileRunning) {
    REQUIRE_TEST_USER();
    TempDir tmp;
    std::string sd = tmp.path() + "/state";
    RunningInstance run(sd, {"sleep", "infinity"});
    ASSERT_TRUE(run.waitReady()) << run.process().errSoFar();
    ASSERT_TRUE(waitFor([&] { return fs::exists(sd + "/api.sock"); }));

    std::string pid = readFile(sd + "/child_pid");
    EXPECT_FALSE(pid.empty());
    EXPECT_EQ(pid.find_first_not_of("0123456789"), std::string::npos) << pid;
    struct stat st;
    ASSERT_EQ(stat((sd + "/child_pid").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0444u);
    ASSERT_EQ(stat((sd + "/api.sock").c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_TRUE(fs::exists(sd + "/lock"));

    // child_pid is the parent's direct child.
    std::string procStat = readFile("/proc/" + pid + "/stat");
    std::istringstream fields(procStat.substr(procStat.rfind(')') + 2));
    std::string state;
    pid_t ppid = 0;
    fields >> state >> ppid;
    EXPECT_EQ(ppid, run.process().pid());
}

TEST(RuntimeTest, ExplicitStateDirIsRemovedAfterExit) {
    REQUIRE_TEST_USER();
    TempDir tmp;
    std::string sd = tmp.path() + "/state";
    RunResult result =
        runAsTestUser(rk({"--state-dir=" + sd, "sh", "-c", "test -d \"$ROOTLESSKIT_STATE_DIR\""}));
    EXPECT_EQ(result.exitCode, 0) << result.err;
    EXPECT_FALSE(fs::exists(sd));
}

TEST(RuntimeTest, TemporaryStateDirIsRemovedAfterExit) {
    REQUIRE_TEST_USER();
    TempDir tmp;
    RunOptions options;
    options.env["TMPDIR"] = tmp.path();
    RunResult result = runAsTestUser(rk({"sh", "-c", "echo $ROOTLESSKIT_STATE_DIR"}), options);
    ASSERT_EQ(result.exitCode, 0) << result.err;
    std::string sd = result.out.substr(0, result.out.find('\n'));
    EXPECT_EQ(sd.rfind(tmp.path() + "/rootlesskit", 0), 0u) << sd;
    EXPECT_FALSE(fs::exists(sd));
    EXPECT_TRUE(fs::is_empty(tmp.path()));
}

TEST(RuntimeTest, SecondInstanceOnTheSameStateDirIsRefused) {
    REQUIRE_TEST_USER();
    TempDir tmp;
    std::string sd = tmp.path() + "/state";
    RunningInstance first(sd, {"sleep", "infinity"});
    ASSERT_TRUE(first.waitReady()) << first.process().errSoFar();

    RunResult second = runAsTestUser(rk({"--state-dir=" + sd, "true"}));
    EXPECT_EQ(second.exitCode, 1);
    EXPECT_NE(second.err.find("failed to lock " + sd +
                              "/lock, another RootlessKit is running "
                              "with the same state directory?"),
              std::string::npos)
        << second.err;
    EXPECT_TRUE(first.process().running());
    EXPECT_TRUE(fs::exists(sd + "/child_pid"));
}

TEST(RuntimeTest, StaleFilesOfAKilledRunAreCleared) {
    REQUIRE_TEST_USER();
    TempDir tmp;
    std::string sd = tmp.path() + "/state";
    {
        RunningInstance killed(sd, {"sleep", "infinity"});
        ASSERT_TRUE(killed.waitReady()) << killed.process().errSoFar();
        killed.process().signal(SIGKILL);
        killed.process().wait();
    }
    ASSERT_TRUE(fs::exists(sd + "/child_pid"));
    std::ofstream(sd + "/stale-file") << "x";

    RunResult result = runAsTestUser(rk({"--state-dir=" + sd, "ls", "-A", sd}));
    EXPECT_EQ(result.exitCode, 0) << result.err;
    EXPECT_EQ(result.out.find("stale-file"), std::string::npos) << result.out;
    EXPECT_NE(result.out.find("child_pid"), std::string::npos) << result.out;
    EXPECT_FALSE(fs::exists(sd));
}

// In every mode that starts more of rootlesskit's own machinery (a PID namespace with its
// reaper, a port driver's child half, a detached network namespace).
const std::vector<std::vector<std::string>> kModes = {
    {}, {"--net=none", "--pidns"}, {"--net=none", "--port-driver=builtin"}, {"--detach-netns"}};

void expectEnvironmentOf(const std::vector<std::string> &flags, const TestUser &user) {
    RunOptions options;
    options.env["RKTEST_MARKER"] = "kept as is";
    std::vector<std::string> args = flags;
    args.push_back("env");
    RunResult result = runAsTestUser(rk(args), options);
    ASSERT_EQ(result.exitCode, 0) << result.err;

    std::set<std::string> inside;
    std::string stateDir;
    for (const std::string &line : lines(result.out)) {
        if (sanitizerEnvironment().count(line.substr(0, line.find('='))) != 0) {
            continue;  // added by the tests themselves in a sanitized build
        }
        inside.insert(line);
        if (line.rfind("ROOTLESSKIT_STATE_DIR=", 0) == 0) {
            stateDir = line.substr(line.find('=') + 1);
        }
    }
    std::set<std::string> expected = {
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME=" + user.home,
        "USER=" + user.name,
        "LOGNAME=" + user.name,
        "RKTEST_MARKER=kept as is",
        "ROOTLESSKIT_STATE_DIR=" + stateDir,
        "ROOTLESSKIT_PARENT_EUID=" + std::to_string(user.uid),
        "ROOTLESSKIT_PARENT_EGID=" + std::to_string(user.gid),
    };
    EXPECT_EQ(inside, expected);
    EXPECT_EQ(stateDir.rfind('/', 0), 0u) << stateDir;
}

TEST(RuntimeTest, EnvironmentGainsOnlyTheThreeVariables) {
    REQUIRE_TEST_USER();
    for (const std::vector<std::string> &flags : kModes) {
        SCOPED_TRACE(flags.empty() ? "default" : flags.back());
        expectEnvironmentOf(flags, *user);
    }
}

TEST(RuntimeTest, NoDescriptorAboveStderrReachesTheCommand) {
    REQUIRE_TEST_USER();
    for (const std::vector<std::string> &flags : kModes) {
        std::vector<std::string> args = flags;
        args.insert(args.end(), {"sh", "-c", "ls /proc/$$/fd"});
        RunResult result = runAsTestUser(rk(args));
        ASSERT_EQ(result.exitCode, 0) << result.err;
        EXPECT_EQ(result.out, "0\n1\n2\n") << (flags.empty() ? "default" : flags.back());
    }
}

TEST(RuntimeTest, CommandNotFound) {
    REQUIRE_TEST_USER();
    RunResult result =
        runAsTestUser(rk({"rktest-no-such-command"}), withTimeout(milliseconds(20000)));
    EXPECT_EQ(result.exitCode, 1);
    EXPECT_FALSE(result.timedOut);
    EXPECT_EQ(countErrorLines(result.err), 1u) << result.err;
    EXPECT_NE(result.err.find("exec: \"rktest-no-such-command\": executable file not found in "
                              "$PATH"),
              std::string::npos)
        << result.err;
}

TEST(RuntimeTest, FailingIdMapExitsOneWithoutHanging) {
    REQUIRE_TEST_USER();
    TempDir tmp;
    // A getsubids that hands out a range the user does not own: newuidmap refuses it.
    std::string script = tmp.path() + "/getsubids";
    std::ofstream(script) << "#!/bin/sh\necho \"0: $1 4000000000 10\"\n";
    chmod(script.c_str(), 0755);
    RunOptions options;
    options.env["GETSUBIDS"] = script;
    options.env["TMPDIR"] = tmp.path();
    options.timeout = milliseconds(20000);

    RunResult result = runAsTestUser(rk({"--subid-source=dynamic", "true"}), options);
    EXPECT_FALSE(result.timedOut);
    EXPECT_EQ(result.exitCode, 1);
    EXPECT_EQ(countErrorLines(result.err), 1u) << result.err;
    EXPECT_NE(result.err.find("failed to setup UID/GID map: newuidmap "), std::string::npos)
        << result.err;
    EXPECT_NE(result.err.find("[0 " + std::to_string(user->uid) + " 1 1 4000000000 10] failed: "),
              std::string::npos)
        << result.err;
    // Nothing is left: only the script remains in TMPDIR.
    EXPECT_EQ(std::distance(fs::directory_iterator(tmp.path()), fs::directory_iterator()), 1);
}

TEST(RuntimeTest, FailedPublishLeavesNoStateDir) {
    REQUIRE_TEST_USER();
    // Hold a port so that publishing it fails after the child is set up.
    int holder = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof addr;
    ASSERT_EQ(bind(holder, reinterpret_cast<sockaddr *>(&addr), sizeof addr), 0);
    ASSERT_EQ(listen(holder, 1), 0);
    ASSERT_EQ(getsockname(holder, reinterpret_cast<sockaddr *>(&addr), &length), 0);
    std::string port = std::to_string(ntohs(addr.sin_port));

    TempDir tmp;
    std::string sd = tmp.path() + "/state";
    RunResult result =
        runAsTestUser(rk({"--state-dir=" + sd, "--net=none", "--port-driver=builtin", "-p",
                          "127.0.0.1:" + port + ":80/tcp", "touch", tmp.path() + "/ran"}),
                      withTimeout(milliseconds(20000)));
    close(holder);
    if (result.err.find("unknown port driver") != std::string::npos) {
        GTEST_SKIP() << "the builtin port driver is not built: " << result.err;
    }
    EXPECT_EQ(result.exitCode, 1) << result.err;
    EXPECT_NE(result.err.find("failed to expose port 127.0.0.1:" + port + ":80/tcp: "),
              std::string::npos)
        << result.err;
    EXPECT_FALSE(fs::exists(sd));
    EXPECT_FALSE(fs::exists(tmp.path() + "/ran"));
}

// readlink of /proc/self/ns/<kind> for each kind, one per line, as the command sees them.
std::vector<std::string> namespacesInside(const std::vector<std::string> &flags,
                                          const std::vector<std::string> &kinds) {
    std::vector<std::string> args = flags;
    args.push_back("readlink");
    for (const std::string &kind : kinds) {
        args.push_back("/proc/self/ns/" + kind);
    }
    RunResult result = runAsTestUser(rk(args));
    EXPECT_EQ(result.exitCode, 0) << result.err;
    return lines(result.out);
}

TEST(RuntimeTest, NamespaceFlagsAddNamespaces) {
    REQUIRE_TEST_USER();
    std::vector<std::string> kinds = {"uts", "ipc", "cgroup", "pid", "net", "user", "mnt"};
    std::vector<std::string> host;
    for (const std::string &kind : kinds) {
        host.push_back(fs::read_symlink("/proc/self/ns/" + kind).string());
    }

    std::vector<std::string> plain = namespacesInside({}, kinds);
    std::vector<std::string> all =
        namespacesInside({"--utsns", "--ipcns", "--cgroupns", "--pidns"}, kinds);
    ASSERT_EQ(plain.size(), kinds.size());
    ASSERT_EQ(all.size(), kinds.size());
    for (size_t i = 0; i < kinds.size(); ++i) {
        bool alwaysNew = kinds[i] == "user" || kinds[i] == "mnt";
        bool hostNet = kinds[i] == "net";
        EXPECT_EQ(plain[i] != host[i], alwaysNew) << kinds[i];
        EXPECT_EQ(all[i] != host[i], !hostNet) << kinds[i];
    }
}

TEST(RuntimeTest, PidnsMountsAFreshProc) {
    REQUIRE_TEST_USER();
    RunResult result =
        runAsTestUser(rk({"--pidns", "sh", "-c", "echo $$; ls /proc | grep -c '^[0-9]*$'"}));
    ASSERT_EQ(result.exitCode, 0) << result.err;
    std::vector<std::string> out = lines(result.out);
    ASSERT_EQ(out.size(), 2u) << result.out;
    EXPECT_EQ(out[0], "2");  // the child is 1
    // The child, sh, ls and grep: nothing of the host's.
    EXPECT_LE(std::stoi(out[1]), 4) << result.out;
}

TEST(RuntimeTest, NetNoneHasOnlyLoopbackUp) {
    REQUIRE_TEST_USER();
    RunResult result =
        runAsTestUser(rk({"--net=none", "sh", "-c", "ip -o link show; echo; ls /sys/class/net"}));
    ASSERT_EQ(result.exitCode, 0) << result.err;
    std::vector<std::string> out = lines(result.out);
    ASSERT_GE(out.size(), 3u) << result.out;
    EXPECT_NE(out[0].find(": lo: <LOOPBACK,UP"), std::string::npos) << out[0];
    EXPECT_EQ(out[1], "");  // one link only
    EXPECT_EQ(out[2], "lo");
    EXPECT_EQ(out.size(), 3u) << result.out;
}

}  // namespace
}  // namespace rktest
