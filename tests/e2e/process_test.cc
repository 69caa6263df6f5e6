// End-to-end tests of the process options: --pidns, --utsns, --ipcns, --cgroupns, --reaper and
// the terminal, systemd socket activation, --evacuate-cgroup2. The real rootlesskit runs as the
// unprivileged test user; the evacuation test delegates a cgroup2 group to that user (as root).
#include <fcntl.h>
#include <signal.h>
#include <sys/msg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/mounts.h"
#include "core/process_options.h"
#include "tests/support/process.h"

namespace rktest {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

#define REQUIRE_TEST_USER()                               \
    std::string skipReason;                               \
    std::optional<TestUser> user = testUser(&skipReason); \
    if (!user) {                                          \
        GTEST_SKIP() << skipReason;                       \
    }

std::vector<std::string> rk(const std::vector<std::string> &flags,
                            const std::vector<std::string> &command) {
    std::vector<std::string> argv = {binPath("rootlesskit")};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.insert(argv.end(), command.begin(), command.end());
    return argv;
}

RunResult runInside(const std::vector<std::string> &flags, const std::string &script,
                    const std::map<std::string, std::string> &env = {}) {
    RunOptions options;
    options.env = env;
    options.timeout = milliseconds(60000);
    return runAsTestUser(rk(flags, {"sh", "-c", script}), options);
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
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();  // a terminal's line ending, under script(1)
        }
        out.push_back(line);
    }
    return out;
}

std::string shellQuote(const std::string &text) {
    std::string quoted = "'";
    for (char c : text) {
        quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return quoted + "'";
}

std::string joinQuoted(const std::vector<std::string> &argv) {
    std::string joined;
    for (const std::string &arg : argv) {
        joined += (joined.empty() ? "" : " ") + shellQuote(arg);
    }
    return joined;
}

bool haveProgram(const std::string &name) {
    return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

// ---------------------------------------------------------------------------------------------
// Namespaces

TEST(NamespaceRunTest, PidnsShowsOnlyTheRunsProcesses) {
    REQUIRE_TEST_USER();
    std::string exe = fs::canonical(binPath("rootlesskit")).string();
    for (const std::vector<std::string> &flags : {std::vector<std::string>{"--pidns"},
                                                  {"--pidns", "--reaper=true"},
                                                  {"--pidns", "--reaper=false"}}) {
        // PID 1 is rootlesskit's child (the reaper, or the process that waits for the command).
        RunResult result = runInside(flags,
                                     "echo $$; readlink /proc/1/exe; "
                                     "ls /proc | grep -c '^[0-9]'");
        ASSERT_EQ(result.exitCode, 0) << result.err;
        std::vector<std::string> out = lines(result.out);
        ASSERT_EQ(out.size(), 3u) << result.out;
        EXPECT_GT(std::stoi(out[0]), 1);
        EXPECT_EQ(out[1], exe);
        EXPECT_LT(std::stoi(out[2]), 8) << "the host's processes are not visible";
    }
    RunResult host = runInside({}, "readlink /proc/1/exe || echo hidden");
    EXPECT_NE(lines(host.out).at(0), exe);
}

TEST(NamespaceRunTest, UtsnsHasItsOwnHostname) {
    REQUIRE_TEST_USER();
    char before[256] = {};
    gethostname(before, sizeof before - 1);
    RunResult result = runInside({"--utsns"}, "hostname; hostname rk-inside && hostname");
    EXPECT_EQ(result.exitCode, 0) << result.err;
    EXPECT_EQ(result.out, std::string(before) + "\nrk-inside\n") << "inherited, then its own";
    char after[256] = {};
    gethostname(after, sizeof after - 1);
    EXPECT_STREQ(after, before);
}

// A System V message queue of the test's, on the host; removed at the end.
class HostMessageQueue {
public:
    HostMessageQueue() : id_(msgget(IPC_PRIVATE, IPC_CREAT | 0600)) {}
    ~HostMessageQueue() {
        if (id_ >= 0) {
            msgctl(id_, IPC_RMID, nullptr);
        }
    }
    int id() const { return id_; }

private:
    int id_;
};

TEST(NamespaceRunTest, IpcnsHidesTheHostsQueues) {
    REQUIRE_TEST_USER();
    HostMessageQueue queue;
    ASSERT_GE(queue.id(), 0) << strerror(errno);
    std::string script = "tail -n +2 /proc/sysvipc/msg | wc -l";
    RunResult own = runInside({"--ipcns"}, script);
    EXPECT_EQ(own.exitCode, 0) << own.err;
    EXPECT_EQ(own.out, "0\n");
    RunResult shared = runInside({}, script);
    EXPECT_NE(shared.out, "0\n") << "without --ipcns the host's queue is visible";
}

TEST(NamespaceRunTest, CgroupnsRootsEveryHierarchyAtTheCallersGroup) {
    REQUIRE_TEST_USER();
    RunResult own = runInside({"--cgroupns"}, "cat /proc/self/cgroup");
    ASSERT_EQ(own.exitCode, 0) << own.err;
    for (const std::string &line : lines(own.out)) {
        EXPECT_EQ(line.substr(line.rfind(':')), ":/") << line;
    }
    // Where the test runs in a group other than a root, the same line shows it without.
    RunResult shared = runInside({}, "cat /proc/self/cgroup");
    for (const std::string &line : lines(readFile("/proc/self/cgroup"))) {
        if (line.substr(line.rfind(':')) != ":/") {
            EXPECT_NE(shared.out.find(line), std::string::npos) << shared.out;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// --reaper

// The command orphans a process and lets it exit, then watches it: "reaped" once it is gone,
// "zombie" once it is an unreaped zombie (only looked for when EXPECT=zombie); exits 3.
const char kOrphanScript[] =
    "mkfifo \"$D/f\"; "
    "sh -c 'cat \"$D/f\" >/dev/null & echo $! > \"$D/pid\"'; "
    "pid=$(cat \"$D/pid\"); echo > \"$D/f\"; "
    "i=0; while [ $i -lt 1000 ]; do "
    "  s=$(sed -n 's/^[0-9]* ([^)]*) \\(.\\).*/\\1/p' /proc/$pid/stat 2>/dev/null); "
    "  if [ -z \"$s\" ]; then echo reaped; exit 3; fi; "
    "  if [ \"$s\" = Z ] && [ \"$EXPECT\" = zombie ]; then echo zombie; exit 3; fi; "
    "  i=$((i+1)); sleep 0.01; "
    "done; echo \"still $s\"; exit 3";

TEST(ReaperRunTest, ReaperReapsOrphansAndExitsWithTheCommandsCode) {
    REQUIRE_TEST_USER();
    for (const std::vector<std::string> &flags :
         {std::vector<std::string>{"--pidns"}, {"--pidns", "--reaper=true"}}) {
        TempDir tmp;
        RunResult result = runInside(flags, kOrphanScript, {{"D", tmp.path()}});
        EXPECT_EQ(result.exitCode, 3) << result.err;
        EXPECT_EQ(result.out, "reaped\n") << result.err;
    }
}

TEST(ReaperRunTest, WithoutReaperAnOrphanStaysAZombie) {
    REQUIRE_TEST_USER();
    TempDir tmp;
    RunResult result = runInside({"--pidns", "--reaper=false"}, kOrphanScript,
                                 {{"D", tmp.path()}, {"EXPECT", "zombie"}});
    EXPECT_EQ(result.exitCode, 3) << result.err;
    EXPECT_EQ(result.out, "zombie\n");
}

TEST(ReaperRunTest, ReaperWithoutPidnsIsRefusedUpFront) {
    REQUIRE_TEST_USER();
    RunOptions options;
    options.timeout = milliseconds(10000);
    RunResult result = runAsTestUser(rk({"--reaper=true"}, {"echo", "ran"}), options);
    EXPECT_FALSE(result.timedOut);
    EXPECT_EQ(result.exitCode, 1);
    EXPECT_EQ(result.out, "");
    EXPECT_EQ(result.err, "[rootlesskit:parent] error: reaper requires --pidns\n");
}

// Every accepted combination of --pidns and --reaper (--reaper=true needs --pidns).
const std::vector<std::vector<std::string>> kReaperModes = {
    {"--pidns=false"},
    {"--pidns=false", "--reaper=false"},
    {"--pidns", "--reaper=auto"},
    {"--pidns", "--reaper=true"},
    {"--pidns", "--reaper=false"},
};

std::string joined(const std::vector<std::string> &flags) {
    std::string text;
    for (const std::string &flag : flags) {
        text += (text.empty() ? "" : " ") + flag;
    }
    return text;
}

TEST(ReaperRunTest, ExitCodeAndOutputAreTheCommandsInEveryMode) {
    REQUIRE_TEST_USER();
    for (const std::vector<std::string> &mode : kReaperModes) {
        RunResult zero = runInside(mode, "echo hello");
        EXPECT_EQ(zero.exitCode, 0) << joined(mode) << ": " << zero.err;
        EXPECT_EQ(zero.out, "hello\n") << joined(mode);
        RunResult code = runInside(mode, "echo hello; exit 42");
        EXPECT_EQ(code.exitCode, 42) << joined(mode) << ": " << code.err;
        EXPECT_EQ(code.out, "hello\n") << joined(mode);
    }
}

// A signal to the child ends the command by that signal; rootlesskit exits 255.
TEST(ReaperRunTest, SignalToTheChildEndsTheCommandInEveryMode) {
    REQUIRE_TEST_USER();
    for (const std::vector<std::string> &mode : kReaperModes) {
        TempDir tmp;
        std::string stateDir = tmp.path() + "/state";
        std::vector<std::string> flags = {"--state-dir=" + stateDir};
        flags.insert(flags.end(), mode.begin(), mode.end());
        BackgroundProcess run(rk(flags, {"sleep", "infinity"}));
        ASSERT_TRUE(waitFor([&] { return fs::exists(stateDir + "/child_pid"); })) << run.errSoFar();
        kill(std::stoi(readFile(stateDir + "/child_pid")), SIGUSR1);
        RunResult result = run.wait();
        EXPECT_EQ(result.exitCode, 255) << joined(mode) << ": " << result.err;
        EXPECT_NE(result.err.find("user defined signal 1"), std::string::npos) << result.err;
    }
}

// ---------------------------------------------------------------------------------------------
// Terminal

// Runs shell text under script(1), which gives it a terminal as its controlling one.
RunResult underTerminal(const std::string &shellText) {
    RunOptions options;
    options.timeout = milliseconds(30000);
    return runAsTestUser({"script", "-qec", shellText, "/dev/null"}, options);
}

// Fields 5 (process group) and 8 (terminal's foreground group) of /proc/self/stat, equal for a
// process of the foreground job.
const char kForegroundCheck[] =
    "set -- $(cut -d' ' -f5,8 /proc/self/stat); [ \"$1\" = \"$2\" ] && echo foreground";

TEST(TerminalRunTest, ReaperModeKeepsTheTerminalAndJobControl) {
    REQUIRE_TEST_USER();
    if (!haveProgram("script")) {
        GTEST_SKIP() << "script (util-linux) is not installed";
    }
    std::string inner = std::string("tty; ") + kForegroundCheck + "; echo DONE";
    RunResult sh = underTerminal(joinQuoted(rk({"--pidns"}, {"sh", "-c", inner})));
    EXPECT_EQ(sh.exitCode, 0) << sh.out;
    std::vector<std::string> out = lines(sh.out);
    ASSERT_EQ(out.size(), 3u) << sh.out;
    EXPECT_EQ(out[0].rfind("/dev/pts/", 0), 0u) << "a controlling terminal: " << out[0];
    EXPECT_EQ(out[1], "foreground");
    EXPECT_EQ(out[2], "DONE");

    if (!haveProgram("bash")) {
        return;
    }
    RunResult bash = underTerminal(joinQuoted(rk({"--pidns"}, {"bash", "-ic", "echo DONE"})));
    EXPECT_EQ(bash.exitCode, 0) << bash.out;
    EXPECT_NE(bash.out.find("DONE"), std::string::npos) << bash.out;
    EXPECT_EQ(bash.out.find("no job control"), std::string::npos) << bash.out;
    EXPECT_EQ(bash.out.find("cannot set terminal process group"), std::string::npos) << bash.out;
}

TEST(TerminalRunTest, TheCallerGetsItsTerminalBack) {
    REQUIRE_TEST_USER();
    if (!haveProgram("script")) {
        GTEST_SKIP() << "script (util-linux) is not installed";
    }
    std::string caller = joinQuoted(rk({"--pidns"}, {"true"})) + "; " + kForegroundCheck;
    RunResult result = underTerminal("sh -c " + shellQuote(caller));
    EXPECT_EQ(result.exitCode, 0) << result.out;
    EXPECT_EQ(lines(result.out), std::vector<std::string>{"foreground"}) << result.out;
}

// Types into an interactive bash on a terminal (script(1)): a job that marks when it runs in the
// foreground is stopped with Ctrl-Z, listed, resumed with fg and finishes; then the shell prints
// its option flags ("m": job control on). The job waits on a file, not on the terminal, so that
// nothing typed ahead is read by the wrong process.
const char kTypist[] =
    "echo \"sh -c 'touch $D/ready; until [ -e $D/go ]; do sleep 0.05; done; echo resumed'\"\n"
    "until [ -e $D/ready ]; do sleep 0.05; done\n"
    "printf '\\032'\n"
    "echo 'jobs; touch $D/go; fg'\n"
    "echo 'echo \"flags=$-\"; unset HISTFILE; touch $D/done; exit'\n"
    "until [ -e $D/done ]; do sleep 0.05; done\n";

TEST(TerminalRunTest, InteractiveShellStopsAndResumesJobs) {
    REQUIRE_TEST_USER();
    if (!haveProgram("script") || !haveProgram("bash")) {
        GTEST_SKIP() << "script (util-linux) and bash are needed";
    }
    for (const std::vector<std::string> &mode :
         {std::vector<std::string>{}, {"--pidns"}, {"--pidns", "--reaper=false"}}) {
        TempDir tmp;
        std::ofstream(tmp.path() + "/typist") << kTypist;
        std::string shell = joinQuoted(rk(mode, {"bash", "--norc", "--noprofile", "-i"}));
        RunOptions options;
        options.env = {{"D", tmp.path()}};
        options.timeout = milliseconds(30000);
        RunResult result = runAsTestUser(
            {"sh", "-c", "sh \"$D/typist\" | script -qec " + shellQuote(shell) + " /dev/null"},
            options);
        std::string label = joined(mode) + ":\n" + result.out;
        EXPECT_FALSE(result.timedOut) << label;
        EXPECT_EQ(result.exitCode, 0) << label;
        std::vector<std::string> out = lines(result.out);
        auto matches = [&](const std::string &pattern) {
            return std::any_of(out.begin(), out.end(), [&](const std::string &line) {
                return std::regex_search(line, std::regex(pattern));
            });
        };
        EXPECT_TRUE(matches(R"(^\[1\]\+ +Stopped +sh -c)")) << label;
        EXPECT_TRUE(matches("^resumed$")) << label;
        EXPECT_TRUE(matches("^flags=[a-zA-Z]*m")) << label;
        EXPECT_EQ(result.out.find("no job control"), std::string::npos) << label;
        EXPECT_EQ(result.out.find("cannot set terminal process group"), std::string::npos) << label;
    }
}

// ---------------------------------------------------------------------------------------------
// Socket activation

// Connects to a unix stream socket (to wake systemd-socket-activate up); true on success.
bool connectUnix(const std::string &path) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    bool ok = connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0;
    close(fd);
    return ok;
}

std::string fdTarget(pid_t pid, int fd) {
    std::error_code ec;
    return fs::read_symlink("/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd), ec)
        .string();
}

TEST(SocketActivationRunTest, SocketsReachTheCommandAtTheirNumbersWithItsOwnListenPid) {
    REQUIRE_TEST_USER();
    if (!haveProgram("systemd-socket-activate")) {
        GTEST_SKIP() << "systemd-socket-activate (Debian package systemd) is not installed";
    }
    // Prints LISTEN_FDS, whether LISTEN_PID is the shell's own pid, then fds 3..6.
    std::string script =
        "echo $LISTEN_FDS; [ \"$LISTEN_PID\" = $$ ] && echo own-pid; "
        "for fd in 3 4 5 6; do readlink /proc/$$/fd/$fd || echo none; done";
    for (int sockets : {1, 3}) {
        for (const std::vector<std::string> &flags : {std::vector<std::string>{}, {"--pidns"}}) {
            TempDir tmp;
            std::vector<std::string> argv = {"systemd-socket-activate"};
            for (int i = 0; i < sockets; ++i) {
                argv.insert(argv.end(), {"-l", tmp.path() + "/s" + std::to_string(i)});
            }
            std::vector<std::string> command = rk(flags, {"sh", "-c", script});
            argv.insert(argv.end(), command.begin(), command.end());
            BackgroundProcess run(argv);
            std::string last = tmp.path() + "/s" + std::to_string(sockets - 1);
            ASSERT_TRUE(waitFor([&] { return fs::exists(last); })) << run.errSoFar();
            std::vector<std::string> expected = {std::to_string(sockets), "own-pid"};
            for (int fd = 3; fd < 7; ++fd) {
                expected.push_back(fd < 3 + sockets ? fdTarget(run.pid(), fd) : "none");
                EXPECT_EQ(expected.back().rfind(fd < 3 + sockets ? "socket:[" : "none", 0), 0u);
            }
            ASSERT_TRUE(connectUnix(tmp.path() + "/s0"));
            RunResult result = run.wait();
            EXPECT_EQ(result.exitCode, 0) << result.err;
            EXPECT_EQ(lines(result.out), expected) << sockets << " sockets, " << flags.size();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// --evacuate-cgroup2

// Empty means not set; otherwise both namespaces are needed (upstream's texts).
TEST(EvacuationRunTest, EmptyNameMeansUnsetAndANameNeedsBothNamespaces) {
    REQUIRE_TEST_USER();
    RunResult result = runInside({"--evacuate-cgroup2="}, "echo ran");
    EXPECT_EQ(result.exitCode, 0) << result.err;
    EXPECT_EQ(result.out, "ran\n");
    RunResult needs = runInside({"--evacuate-cgroup2=evac", "--pidns"}, "echo ran");
    EXPECT_EQ(needs.exitCode, 1);
    EXPECT_EQ(needs.err, "[rootlesskit:parent] error: evacuate-cgroup2 requires --cgroupns\n");
    RunResult pidns = runInside({"--evacuate-cgroup2=evac", "--cgroupns"}, "echo ran");
    EXPECT_EQ(pidns.exitCode, 1);
    EXPECT_EQ(pidns.out, "");
    EXPECT_EQ(pidns.err, "[rootlesskit:parent] error: evacuate-cgroup2 requires --pidns\n");
}

// A cgroup2 group below the test's own, delegated to the test user (the directory and the
// files a delegatee writes, as cgroups(7) describes), removed at the end. Needs root.
class DelegatedGroup {
public:
    DelegatedGroup(const std::string &mountPoint, const TestUser &user) {
        std::string group = rootlesskit::cgroup2GroupOf(readFile("/proc/self/cgroup"));
        path_ = mountPoint + (group == "/" ? "" : group) + "/rkt-" + std::to_string(getpid());
        if (mkdir(path_.c_str(), 0755) < 0) {
            error_ = "mkdir " + path_ + ": " + strerror(errno);
            return;
        }
        for (const char *name :
             {"", "/cgroup.procs", "/cgroup.subtree_control", "/cgroup.threads"}) {
            (void)!chown((path_ + name).c_str(), user.uid, user.gid);
        }
    }
    ~DelegatedGroup() {
        if (error_.empty()) {
            rmdir((path_ + "/evac").c_str());
            rmdir(path_.c_str());
        }
    }
    const std::string &path() const { return path_; }
    const std::string &error() const { return error_; }

private:
    std::string path_;
    std::string error_;
};

TEST(EvacuationRunTest, EveryProcessMovesIntoTheNewSubgroup) {
    REQUIRE_TEST_USER();
    std::string mountPoint = rootlesskit::cgroup2MountPoint(rootlesskit::readMountInfo());
    if (mountPoint.empty()) {
        GTEST_SKIP() << "no cgroup2 hierarchy is mounted on this host";
    }
    if (geteuid() != 0) {
        GTEST_SKIP() << "delegating a cgroup2 group to the test user needs root";
    }
    DelegatedGroup group(mountPoint, *user);
    if (!group.error().empty()) {
        GTEST_SKIP() << "cannot create a cgroup2 group here (" << group.error() << ")";
    }

    // The run waits on a FIFO until the test has moved it into the delegated group.
    TempDir tmp;
    std::string gate = tmp.path() + "/gate";
    ASSERT_EQ(mkfifo(gate.c_str(), 0666), 0);
    chmod(gate.c_str(), 0666);
    // Prints its group, how many processes the delegated group kept, then one line per
    // process of the new group: its pid as this PID namespace sees it and its name.
    std::string inside = "grep '^0::' /proc/self/cgroup; echo own:$(wc -l < " + mountPoint +
                         "/cgroup.procs); echo self:$$; for p in $(cat " + mountPoint +
                         "/evac/cgroup.procs); do echo \"$p $(cat /proc/$p/comm 2>/dev/null)\"; "
                         "done";
    std::vector<std::string> command =
        rk({"--cgroupns", "--pidns", "--evacuate-cgroup2=evac"}, {"sh", "-c", inside});
    BackgroundProcess run({"sh", "-c", "read x < " + gate + "; exec " + joinQuoted(command)});
    std::ofstream(group.path() + "/cgroup.procs") << run.pid() << std::flush;
    int fd = -1;
    ASSERT_TRUE(waitFor([&] { return (fd = open(gate.c_str(), O_WRONLY | O_NONBLOCK)) >= 0; }));
    (void)!write(fd, "\n", 1);
    close(fd);

    RunResult result = run.wait();
    ASSERT_EQ(result.exitCode, 0) << result.err;
    std::vector<std::string> out = lines(result.out);
    ASSERT_GE(out.size(), 3u) << result.out;
    EXPECT_EQ(out[0], "0::/evac");
    EXPECT_EQ(out[1], "own:0") << "the delegated group keeps no process";
    std::string self = out[2].substr(5);
    std::vector<std::string> listed(out.begin() + 3, out.end());
    auto has = [&](const std::string &line) {
        return std::find(listed.begin(), listed.end(), line) != listed.end();
    };
    // rootlesskit's parent (outside this PID namespace: pid 0), its child (PID 1) and the shell.
    EXPECT_TRUE(has("0 ")) << result.out;
    EXPECT_TRUE(has("1 rootlesskit")) << result.out;
    EXPECT_TRUE(has(self + " sh")) << result.out;
    EXPECT_TRUE(fs::is_directory(group.path() + "/evac"));
}

TEST(EvacuationRunTest, AGroupTheUserCannotWriteIsAnError) {
    REQUIRE_TEST_USER();
    std::string mountPoint = rootlesskit::cgroup2MountPoint(rootlesskit::readMountInfo());
    std::string group = rootlesskit::cgroup2GroupOf(readFile("/proc/self/cgroup"));
    std::string dir = mountPoint + (group == "/" ? "" : group);
    struct stat st;
    if (mountPoint.empty() || stat(dir.c_str(), &st) < 0 || st.st_uid == user->uid) {
        GTEST_SKIP() << "needs a cgroup2 group the test user does not own";
    }
    RunResult result = runInside({"--cgroupns", "--pidns", "--evacuate-cgroup2=evac"}, "echo ran");
    EXPECT_EQ(result.exitCode, 1);
    EXPECT_EQ(result.out, "");
    EXPECT_NE(result.err.find("evacuate-cgroup2 evac: mkdir " + dir + "/evac: permission denied"),
              std::string::npos)
        << result.err;
}

}  // namespace
}  // namespace rktest
