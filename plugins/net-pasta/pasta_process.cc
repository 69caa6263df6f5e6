// Start, readiness, adoption of the daemon, watch and stop of pasta.
#include "pasta_process.h"

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>

#include "rootlesskit/rkp.hpp"

namespace rootlesskit::pasta {
namespace {

// How long stop() lets pasta exit on SIGTERM before SIGKILL.
constexpr int kTermGraceMs = 1000;

// Without a pidfd (kernels before 5.3), how often watch() checks whether the daemon exited.
constexpr int kExitCheckMs = 500;

// Field 3 (state) and 4 (ppid) of /proc/<pid>/stat; false when the process is gone.
bool readStat(pid_t pid, char *state, pid_t *ppid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(in, line)) {
        return false;
    }
    size_t close = line.rfind(')');
    if (close == std::string::npos) {
        return false;
    }
    std::istringstream fields(line.substr(close + 1));
    return static_cast<bool>(fields >> *state >> *ppid);
}

// The processes whose parent is this process, in PID order.
std::vector<pid_t> ourChildren() {
    std::vector<pid_t> children;
    DIR *proc = opendir("/proc");
    if (proc == nullptr) {
        return children;
    }
    pid_t self = getpid();
    while (dirent *entry = readdir(proc)) {
        char *end = nullptr;
        long pid = std::strtol(entry->d_name, &end, 10);
        char state = 0;
        pid_t ppid = 0;
        if (*end == '\0' && pid > 0 && readStat(static_cast<pid_t>(pid), &state, &ppid) &&
            ppid == self) {
            children.push_back(static_cast<pid_t>(pid));
        }
    }
    closedir(proc);
    std::sort(children.begin(), children.end());
    return children;
}

std::string shortStatus(int status) {
    if (status != -1 && WIFSIGNALED(status)) {
        return "killed by signal " + std::to_string(WTERMSIG(status));
    }
    return status == -1 ? "unknown status" : "status " + std::to_string(WEXITSTATUS(status));
}

// The error for a first process that did not exit 0.
rkp::Error startFailure(const plugin::HelperExit &exit, std::chrono::seconds timeout) {
    if (exit.timedOut) {
        return rkp::Error(-ETIMEDOUT, "pasta did not become ready within " +
                                          std::to_string(timeout.count()) + "s");
    }
    if (exit.status != -1 && WIFSIGNALED(exit.status)) {
        return rkp::Error(-EIO, "pasta killed by signal " + std::to_string(WTERMSIG(exit.status)));
    }
    int code = exit.status == -1 ? -1 : WEXITSTATUS(exit.status);
    return rkp::Error(-EIO, "pasta failed with exit code " + std::to_string(code) + ": " +
                                plugin::lastLine(exit.output));
}

}  // namespace

void PastaProcess::start(const std::string &path, const std::vector<std::string> &argv,
                         std::chrono::seconds timeout, pid_t childPid) {
    childPid_ = childPid;
    stopping_ = false;

    // 1. The daemon pasta forks must come back to us, not to init: subreaper, only meanwhile.
    int wasSubreaper = 0;
    prctl(PR_GET_CHILD_SUBREAPER, &wasSubreaper, 0, 0, 0);
    std::vector<pid_t> before = ourChildren();
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    plugin::HelperExit exit;
    try {
        exit = plugin::runHelper(path, argv, timeout);
    } catch (...) {
        prctl(PR_SET_CHILD_SUBREAPER, wasSubreaper, 0, 0, 0);
        throw;
    }
    prctl(PR_SET_CHILD_SUBREAPER, wasSubreaper, 0, 0, 0);

    // 2. Its output, then the verdict.
    std::istringstream lines(exit.output);
    for (std::string line; std::getline(lines, line);) {
        if (!line.empty()) {
            rkp::logMessage(host_, RKP_LOG_DEBUG, "pasta: " + line);
        }
    }
    adoptDaemon(before);
    if (exit.timedOut || exit.status == -1 || !WIFEXITED(exit.status) ||
        WEXITSTATUS(exit.status) != 0) {
        stop();
        throw startFailure(exit, timeout);
    }
}

// The one new child besides those we had before pasta started: its daemon.
void PastaProcess::adoptDaemon(const std::vector<pid_t> &before) {
    for (pid_t pid : ourChildren()) {
        if (pid != childPid_ && !std::binary_search(before.begin(), before.end(), pid)) {
            std::lock_guard<std::mutex> lock(mutex_);
            daemon_ = pid;
            reaped_ = false;
            pidfd_.reset(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
            rkp::log(host_, RKP_LOG_DEBUG, "pasta runs in the background as pid %d", pid);
            return;
        }
    }
    rkp::logMessage(host_, RKP_LOG_DEBUG,
                    "pasta left no background process of ours; it is not watched");
}

bool PastaProcess::childGone() const {
    char state = 0;
    pid_t ppid = 0;
    return !readStat(childPid_, &state, &ppid) || state == 'Z' || state == 'X';
}

int PastaProcess::watch(int quitFd, rkp_error *err) {
    if (daemon_ <= 0) {
        return 0;
    }
    for (;;) {
        pollfd fds[2] = {{quitFd, POLLIN, 0}, {pidfd_.get(), POLLIN, 0}};
        int n = poll(fds, 2, pidfd_.valid() ? -1 : kExitCheckMs);
        if (n < 0 && errno != EINTR) {
            return rkp::setError(err, -errno, "watch pasta: poll: %s",
                                 plugin::errnoText(errno).c_str());
        }
        if (fds[0].revents != 0 || stopping_) {
            return 0;
        }
        siginfo_t info{};
        if (waitid(P_PID, static_cast<id_t>(daemon_), &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
            info.si_pid != daemon_) {
            continue;  // still running
        }

        // It exited. When the run is ending (the namespace is gone) that is what pasta does.
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_ || reaped_) {
            return 0;
        }
        int status = plugin::waitForExit(daemon_);
        reaped_ = true;
        if (childGone()) {
            return 0;
        }
        return rkp::setError(err, -EPIPE, "pasta exited unexpectedly (%s)",
                             shortStatus(status).c_str());
    }
}

void PastaProcess::stop() {
    stopping_ = true;
    std::lock_guard<std::mutex> lock(mutex_);
    if (daemon_ <= 0 || reaped_) {
        return;
    }
    // Still our unreaped child: the PID cannot have been reused.
    kill(daemon_, SIGTERM);
    if (pidfd_.valid()) {
        pollfd fd = {pidfd_.get(), POLLIN, 0};
        poll(&fd, 1, kTermGraceMs);
    }
    siginfo_t info{};
    if (waitid(P_PID, static_cast<id_t>(daemon_), &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
        info.si_pid != daemon_) {
        kill(daemon_, SIGKILL);
    }
    plugin::waitForExit(daemon_);
    reaped_ = true;
    rkp::log(host_, RKP_LOG_DEBUG, "pasta (pid %d) stopped", daemon_);
}

}  // namespace rootlesskit::pasta
