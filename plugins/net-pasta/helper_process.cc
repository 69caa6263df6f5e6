// fork + exec of helper programs. Between fork() and exec only async-signal-safe calls run: the
// host may have other threads (the API server, a port driver) holding locks at that moment, and a
// malloc or a logger call in the forked copy could deadlock on them.
#include "helper_process.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "rootlesskit/rkp.hpp"

namespace rootlesskit::plugin {
namespace {

constexpr size_t kMaxOutput = 65536;

[[noreturn]] void failInChild(int errorFd, int err) {
    ssize_t ignored = write(errorFd, &err, sizeof(err));
    (void)ignored;
    _exit(127);
}

// Everything the helper does before exec. Only async-signal-safe calls.
[[noreturn]] void runChild(const char *path, char *const *argv, int devNull, int outputFd,
                           pid_t parent, int errorFd) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) {
        _exit(127);  // the parent already went away
    }
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++) {
        sigaction(sig, &dfl, nullptr);  // fails harmlessly for SIGKILL, SIGSTOP and RT gaps
    }

    int out = outputFd >= 0 ? outputFd : devNull;
    if (dup2(devNull, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) {
        failInChild(errorFd, errno);
    }
    // Kernels before 5.11 lack CLOSE_RANGE_CLOEXEC: descriptors the host opened without
    // O_CLOEXEC then leak into the helper.
    syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
    execv(path, argv);
    failInChild(errorFd, errno);
}

bool isExecutableFile(const std::string &path, int *err) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) {
        *err = errno;
        return false;
    }
    if (!S_ISREG(st.st_mode) || access(path.c_str(), X_OK) != 0) {
        *err = S_ISREG(st.st_mode) ? errno : EACCES;
        return false;
    }
    return true;
}

// Appends what fd has now to out (bounded); false at EOF or on an error other than EAGAIN.
bool drainInto(int fd, std::string *out) {
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return n < 0 && errno == EAGAIN;
        }
        if (out->size() < kMaxOutput) {
            out->append(buf, static_cast<size_t>(n));
        }
    }
}

}  // namespace

void UniqueFd::reset(int fd) {
    if (fd_ >= 0) {
        ::close(fd_);
    }
    fd_ = fd;
}

std::string errnoText(int err) {
    std::string text = std::strerror(err < 0 ? -err : err);
    if (!text.empty()) {
        text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
    }
    return text;
}

std::string findExecutable(const std::string &name, int *err) {
    *err = ENOENT;
    if (name.empty()) {
        return "";
    }
    if (name.find('/') != std::string::npos) {
        return isExecutableFile(name, err) ? name : "";
    }
    const char *env = std::getenv("PATH");
    std::istringstream dirs(env != nullptr ? env : "/usr/local/bin:/usr/bin:/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
        int candidateErr = 0;
        if (isExecutableFile(candidate, &candidateErr)) {
            return candidate;
        }
    }
    return "";
}

pid_t spawnHelper(const std::string &path, const std::vector<std::string> &argv, int outputFd) {
    const std::string op = "start " + path;

    // 1. Everything the helper needs, allocated before fork.
    std::vector<char *> cargv;
    for (const std::string &arg : argv) {
        cargv.push_back(const_cast<char *>(arg.c_str()));
    }
    cargv.push_back(nullptr);
    UniqueFd devNull(open("/dev/null", O_RDWR | O_CLOEXEC));
    int errorPipe[2];
    if (!devNull.valid() || pipe2(errorPipe, O_CLOEXEC) != 0) {
        throw rkp::Error(-errno, op + ": " + errnoText(errno));
    }
    UniqueFd errorRead(errorPipe[0]);
    UniqueFd errorWrite(errorPipe[1]);
    pid_t parent = getpid();

    // 2. The process.
    pid_t pid = fork();
    if (pid < 0) {
        throw rkp::Error(-errno, op + ": fork: " + errnoText(errno));
    }
    if (pid == 0) {
        runChild(path.c_str(), cargv.data(), devNull.get(), outputFd, parent, errorWrite.get());
    }
    errorWrite.reset();

    // 3. EOF means exec succeeded (the close-on-exec write end went away); an int is its errno.
    int childErr = 0;
    ssize_t n;
    do {
        n = read(errorRead.get(), &childErr, sizeof(childErr));
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
        waitForExit(pid);
        throw rkp::Error(-childErr, op + ": " + errnoText(childErr));
    }
    return pid;
}

HelperExit runHelper(const std::string &path, const std::vector<std::string> &argv,
                     std::chrono::milliseconds timeout) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        throw rkp::Error(-errno, "start " + path + ": pipe: " + errnoText(errno));
    }
    UniqueFd readEnd(fds[0]);
    UniqueFd writeEnd(fds[1]);
    pid_t pid = spawnHelper(path, argv, writeEnd.get());
    writeEnd.reset();

    // Output until the process exits: a pidfd says when, without polling the wait status.
    HelperExit result;
    UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
    auto deadline = std::chrono::steady_clock::now() + timeout;
    bool outputOpen = true;
    for (;;) {
        int status = 0;
        pid_t done = waitpid(pid, &status, WNOHANG);
        if (done == pid) {
            result.status = status;
            break;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            kill(pid, SIGKILL);
            result.status = waitForExit(pid);
            result.timedOut = true;
            break;
        }
        // Without a pidfd (kernels before 5.3) the loop wakes up every 50 ms to check.
        pollfd pfds[2] = {{outputOpen ? readEnd.get() : -1, POLLIN, 0}, {pidfd.get(), POLLIN, 0}};
        int wait = pidfd.valid() ? static_cast<int>(left.count()) : 50;
        poll(pfds, 2, std::min(wait, static_cast<int>(left.count())));
        if (outputOpen && pfds[0].revents != 0) {
            outputOpen = drainInto(readEnd.get(), &result.output);
        }
    }
    if (outputOpen) {
        drainInto(readEnd.get(), &result.output);
    }
    return result;
}

int waitForExit(pid_t pid) {
    int status = 0;
    pid_t r;
    do {
        r = waitpid(pid, &status, 0);
    } while (r < 0 && errno == EINTR);
    return r == pid ? status : -1;
}

std::string describeWaitStatus(int status) {
    if (status == -1) {
        return "exited with an unknown status";
    }
    if (WIFSIGNALED(status)) {
        return "killed by signal " + std::to_string(WTERMSIG(status));
    }
    return "exited with status " + std::to_string(WEXITSTATUS(status));
}

std::string lastLine(const std::string &text) {
    std::istringstream lines(text);
    std::string line;
    std::string last;
    while (std::getline(lines, line)) {
        size_t begin = line.find_first_not_of(" \t\r");
        size_t end = line.find_last_not_of(" \t\r");
        if (begin != std::string::npos) {
            last = line.substr(begin, end - begin + 1);
        }
    }
    return last;
}

std::string joinArgv(const std::vector<std::string> &argv) {
    std::string out;
    for (const std::string &arg : argv) {
        out += (out.empty() ? "" : " ") + arg;
    }
    return out;
}

}  // namespace rootlesskit::plugin
