// Test support: starts the real binaries as the unprivileged test user, in their own process
// group, with a clean environment, and collects their output through pipes.
//
// Every process is started by fork() + execve() with everything the child needs prepared before
// fork(): the test binary may have threads, so the child only calls async-signal-safe functions.
// Waiting uses a pidfd next to the output pipes in one poll(), so a process that exits is noticed
// at once even when a descendant still holds its stdout open.
#include "tests/support/process.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/sanitizer_reports.h"

namespace rktest {

namespace {

constexpr const char *kCleanPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

using Clock = std::chrono::steady_clock;

// Everything a forked child needs, computed before fork().
struct LaunchPlan {
    std::string program;  // resolved path of argv[0]
    std::vector<std::string> argvStore;
    std::vector<std::string> envStore;
    std::vector<char *> argv;
    std::vector<char *> envp;
    std::vector<gid_t> groups;
    bool dropPrivileges = false;
    uid_t uid = 0;
    gid_t gid = 0;
    std::string cwd;
};

// A process just started: its pid, a pidfd, and our ends of its pipes (non-blocking).
struct Launched {
    pid_t pid = -1;
    int stdinFd = -1;
    int outFd = -1;
    int errFd = -1;
};

void closeFd(int &fd) {
    if (fd >= 0) {
        close(fd);
        fd = -1;
    }
}

bool hasSubuidEntry(const TestUser &user) {
    std::ifstream in("/etc/subuid");
    std::string line;
    while (std::getline(in, line)) {
        std::string first = line.substr(0, line.find(':'));
        if (first == user.name || first == std::to_string(user.uid)) {
            return true;
        }
    }
    return false;
}

std::optional<TestUser> userFromPasswd(const struct passwd *pw) {
    if (pw == nullptr) {
        return std::nullopt;
    }
    return TestUser{pw->pw_name, pw->pw_uid, pw->pw_gid, pw->pw_dir};
}

// Looks a program up in the clean PATH the way execvp would; names with a slash are kept.
std::string resolveProgram(const std::string &name) {
    if (name.find('/') != std::string::npos) {
        return name;
    }
    std::stringstream dirs(kCleanPath);
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        std::string candidate = dir + "/" + name;
        if (access(candidate.c_str(), X_OK) == 0) {
            return candidate;
        }
    }
    return name;
}

std::vector<std::string> cleanEnvironment(const TestUser &user,
                                          const std::map<std::string, std::string> &extra) {
    std::map<std::string, std::string> env = {
        {"PATH", kCleanPath}, {"HOME", user.home}, {"USER", user.name}, {"LOGNAME", user.name}};
    env.merge(sanitizerEnvironment());
    for (const auto &[key, value] : extra) {
        env[key] = value;
    }
    std::vector<std::string> out;
    for (const auto &[key, value] : env) {
        out.push_back(key + "=" + value);
    }
    return out;
}

LaunchPlan makePlan(const std::vector<std::string> &argv, const RunOptions &options) {
    LaunchPlan plan;
    std::string reason;
    std::optional<TestUser> user = testUser(&reason);
    if (!options.user.empty() && geteuid() == 0) {
        user = userFromPasswd(getpwnam(options.user.c_str()));
    }
    TestUser who = user.value_or(TestUser{"", getuid(), getgid(), "/"});
    if (!user) {
        who = userFromPasswd(getpwuid(getuid())).value_or(who);
    }

    plan.program = resolveProgram(argv.at(0));
    plan.argvStore = argv;
    plan.envStore = cleanEnvironment(who, options.env);
    for (auto &arg : plan.argvStore) {
        plan.argv.push_back(arg.data());
    }
    plan.argv.push_back(nullptr);
    for (auto &entry : plan.envStore) {
        plan.envp.push_back(entry.data());
    }
    plan.envp.push_back(nullptr);

    plan.dropPrivileges = geteuid() == 0 && user.has_value() && user->uid != 0;
    plan.uid = who.uid;
    plan.gid = who.gid;
    plan.cwd = options.cwd;
    if (plan.dropPrivileges) {
        int count = 64;
        plan.groups.resize(count);
        if (getgrouplist(who.name.c_str(), who.gid, plan.groups.data(), &count) < 0) {
            plan.groups.resize(count);
            getgrouplist(who.name.c_str(), who.gid, plan.groups.data(), &count);
        }
        plan.groups.resize(count);
    }
    return plan;
}

// Writes a failure message to fd 2 and ends the forked child; async-signal-safe.
[[noreturn]] void childFail(const char *what) {
    int err = errno;
    const char *text = strerror(err);
    (void)!write(2, "rktest: ", 8);
    (void)!write(2, what, strlen(what));
    (void)!write(2, ": ", 2);
    (void)!write(2, text, strlen(text));
    (void)!write(2, "\n", 1);
    _exit(127);
}

// Runs in the forked child: wires the pipes, drops privileges, execs. Never returns.
[[noreturn]] void execChild(const LaunchPlan &plan, int in, int out, int errFd, pid_t testPid) {
    setpgid(0, 0);
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(errFd, 2) < 0) {
        childFail("dup2");
    }
    syscall(SYS_close_range, 3U, ~0U, 0U);

    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);
    for (int sig = 1; sig < NSIG; ++sig) {
        signal(sig, SIG_DFL);
    }

    if (plan.dropPrivileges) {
        if (setgroups(plan.groups.size(), plan.groups.data()) < 0) {
            childFail("setgroups");
        }
        if (setgid(plan.gid) < 0) {
            childFail("setgid");
        }
        if (setuid(plan.uid) < 0) {
            childFail("setuid");
        }
    }
    // Armed after the credential change, which clears it: a crashed test leaves nothing behind.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != testPid) {
        _exit(127);
    }
    if (chdir(plan.cwd.c_str()) < 0) {
        childFail("chdir");
    }
    execve(plan.program.c_str(), plan.argv.data(), plan.envp.data());
    childFail(plan.program.c_str());
}

Launched launch(const std::vector<std::string> &argv, const RunOptions &options) {
    LaunchPlan plan = makePlan(argv, options);
    int inPipe[2];
    int outPipe[2];
    int errPipe[2];
    if (pipe2(inPipe, O_CLOEXEC) < 0 || pipe2(outPipe, O_CLOEXEC) < 0 ||
        pipe2(errPipe, O_CLOEXEC) < 0) {
        std::abort();
    }

    pid_t testPid = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        std::abort();
    }
    if (pid == 0) {
        execChild(plan, inPipe[0], outPipe[1], errPipe[1], testPid);
    }
    // Also from the parent, so the group exists before anyone signals it.
    setpgid(pid, pid);

    close(inPipe[0]);
    close(outPipe[1]);
    close(errPipe[1]);
    Launched launched{pid, inPipe[1], outPipe[0], errPipe[0]};
    fcntl(launched.outFd, F_SETFL, O_NONBLOCK);
    fcntl(launched.errFd, F_SETFL, O_NONBLOCK);

    // stdin text is small in every test; a pipe buffer holds it without blocking.
    if (!options.stdinText.empty()) {
        (void)!write(launched.stdinFd, options.stdinText.data(), options.stdinText.size());
    }
    closeFd(launched.stdinFd);
    return launched;
}

// Reads what is available on fd into buf; closes fd at EOF.
void readAvailable(int &fd, std::string &buf) {
    char chunk[4096];
    while (fd >= 0) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n > 0) {
            buf.append(chunk, static_cast<size_t>(n));
        } else if (n == 0) {
            closeFd(fd);
        } else if (errno != EINTR) {
            return;  // EAGAIN: nothing more for now
        }
    }
}

int statusToCode(int status) {
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    if (WIFSIGNALED(status)) {
        return 128 + WTERMSIG(status);
    }
    return -1;
}

// Reaps pid (which has exited or was killed) and reads what it left in the pipes.
RunResult reap(pid_t pid, int &outFd, int &errFd, std::string &out, std::string &err,
               bool timedOut) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    failOnSanitizerReports();
    // Descendants left in its group (a backgrounded sleep) would outlive the test otherwise.
    kill(-pid, SIGKILL);
    // The process is gone: what it wrote is already in the pipes.
    readAvailable(outFd, out);
    readAvailable(errFd, err);

    RunResult result;
    result.timedOut = timedOut;
    result.exitCode = timedOut ? -1 : statusToCode(status);
    result.out = out;
    result.err = err;
    return result;
}

// Waits for pid while collecting its output, up to timeout; SIGKILLs its group on timeout.
// Returns the result once pid is reaped.
RunResult waitCollect(pid_t pid, int &outFd, int &errFd, std::string &out, std::string &err,
                      std::chrono::milliseconds timeout) {
    int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    Clock::time_point deadline = Clock::now() + timeout;
    bool exited = pidfd < 0;
    bool timedOut = false;
    while (!exited && !timedOut) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        struct pollfd fds[3] = {{pidfd, POLLIN, 0}, {outFd, POLLIN, 0}, {errFd, POLLIN, 0}};
        int ready = poll(fds, 3, static_cast<int>(std::max<int64_t>(left.count(), 0)));
        if (ready < 0 && errno != EINTR) {
            break;
        }
        readAvailable(outFd, out);
        readAvailable(errFd, err);
        exited = (fds[0].revents & POLLIN) != 0;
        timedOut = !exited && Clock::now() >= deadline;
    }
    if (pidfd >= 0) {
        close(pidfd);
    }
    if (timedOut) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
    }
    return reap(pid, outFd, errFd, out, err, timedOut);
}

}  // namespace

std::string binPath(const std::string &program) {
    return std::string(RK_TEST_BIN_DIR) + "/" + program;
}

std::optional<TestUser> testUser(std::string *reason) {
    auto fail = [reason](const std::string &why) -> std::optional<TestUser> {
        if (reason != nullptr) {
            *reason = why;
        }
        return std::nullopt;
    };

    std::optional<TestUser> user;
    if (geteuid() != 0) {
        user = userFromPasswd(getpwuid(getuid()));
        if (!user) {
            return fail("the current uid has no passwd entry");
        }
    } else {
        const char *env = std::getenv("ROOTLESSKIT_TEST_USER");
        std::string name = env != nullptr && *env != '\0' ? env : "rktest";
        user = userFromPasswd(getpwnam(name.c_str()));
        if (!user) {
            return fail("test user \"" + name + "\" does not exist (set ROOTLESSKIT_TEST_USER)");
        }
    }
    if (!hasSubuidEntry(*user)) {
        return fail("test user \"" + user->name + "\" has no /etc/subuid entry");
    }
    return user;
}

std::optional<TestUser> secondUser(std::string *reason) {
    auto fail = [reason](const std::string &why) -> std::optional<TestUser> {
        if (reason != nullptr) {
            *reason = why;
        }
        return std::nullopt;
    };
    if (geteuid() != 0) {
        return fail("running as a second user needs the tests to run as root");
    }
    const char *env = std::getenv("ROOTLESSKIT_TEST_USER2");
    std::string name = env != nullptr && *env != '\0' ? env : "rktest2";
    std::optional<TestUser> user = userFromPasswd(getpwnam(name.c_str()));
    std::optional<TestUser> first = testUser(nullptr);
    if (!user || user->uid == 0) {
        return fail("second test user \"" + name +
                    "\" does not exist (scripts/setup.sh creates it)");
    }
    if (first && first->uid == user->uid) {
        return fail("second test user \"" + name + "\" is the test user");
    }
    if (hasSubuidEntry(*user)) {
        return fail("second test user \"" + name + "\" has an /etc/subuid entry");
    }
    return user;
}

RunResult runAsTestUser(const std::vector<std::string> &argv, const RunOptions &options) {
    Launched p = launch(argv, options);
    std::string out;
    std::string err;
    RunResult result = waitCollect(p.pid, p.outFd, p.errFd, out, err, options.timeout);
    closeFd(p.outFd);
    closeFd(p.errFd);
    return result;
}

BackgroundProcess::BackgroundProcess(const std::vector<std::string> &argv,
                                     const RunOptions &options) {
    Launched p = launch(argv, options);
    pid_ = p.pid;
    outFd_ = p.outFd;
    errFd_ = p.errFd;
}

BackgroundProcess::~BackgroundProcess() {
    if (!result_) {
        // SIGTERM first, so that a rootlesskit under test ends its command and removes its
        // state directory; wait() SIGKILLs the group when that takes too long.
        kill(pid_, SIGTERM);
        wait(std::chrono::milliseconds(2000));
    }
    closeFd(outFd_);
    closeFd(errFd_);
}

bool BackgroundProcess::running() {
    if (result_) {
        return false;
    }
    siginfo_t info{};
    // WNOWAIT: only look; reap() then collects the status together with the last output.
    if (waitid(P_PID, pid_, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid_) {
        result_ = reap(pid_, outFd_, errFd_, out_, err_, false);
        return false;
    }
    return true;
}

void BackgroundProcess::signal(int sig) {
    if (!result_) {
        kill(pid_, sig);
    }
}

RunResult BackgroundProcess::wait(std::chrono::milliseconds timeout) {
    if (!result_) {
        result_ = waitCollect(pid_, outFd_, errFd_, out_, err_, timeout);
    }
    return *result_;
}

std::string BackgroundProcess::errSoFar() {
    drain(false);
    return err_;
}

void BackgroundProcess::drain(bool block) {
    do {
        readAvailable(outFd_, out_);
        readAvailable(errFd_, err_);
        if (block && (outFd_ >= 0 || errFd_ >= 0)) {
            struct pollfd fds[2] = {{outFd_, POLLIN, 0}, {errFd_, POLLIN, 0}};
            poll(fds, 2, -1);
        }
    } while (block && (outFd_ >= 0 || errFd_ >= 0));
}

bool waitFor(const std::function<bool()> &pred, std::chrono::milliseconds timeout) {
    Clock::time_point deadline = Clock::now() + timeout;
    while (!pred()) {
        if (Clock::now() >= deadline) {
            return pred();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

TempDir::TempDir() {
    char tmpl[] = "/tmp/rkt-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
        std::abort();
    }
    path_ = tmpl;
    if (geteuid() != 0) {
        return;  // the test user is the current user, who owns it already
    }
    std::string reason;
    std::optional<TestUser> user = testUser(&reason);
    if (user) {
        // Owned by the test user, so the binaries running as that user can create files here.
        if (chown(path_.c_str(), user->uid, user->gid) == 0) {
            chmod(path_.c_str(), 0755);
            return;
        }
    }
    chmod(path_.c_str(), 0777);
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

}  // namespace rktest
