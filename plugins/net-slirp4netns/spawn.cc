// fork + exec of helper programs. Between fork() and exec only async-signal-safe calls run: the
// host may have other threads (the API server, the port driver) holding locks at that moment,
// and a malloc or a logger call in the forked copy could deadlock on them.
#include "spawn.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "rootlesskit/rkp.hpp"

namespace rootlesskit::slirp4netns {
namespace {

// Helper-side fd targets are below this number; sources are first moved at or above it so that
// placing one target never overwrites a source still to be placed.
constexpr int kFirstScratchFd = 10;

// Longer output without a newline is passed on in pieces of this size.
constexpr size_t kMaxLine = 4096;

[[noreturn]] void failInChild(int errorFd, int err) {
    ssize_t ignored = write(errorFd, &err, sizeof(err));
    (void)ignored;
    _exit(127);
}

// Places request.fds at their targets. Async-signal-safe; returns 0 or an errno.
int placeFds(const std::pair<int, int> *fds, size_t count) {
    int scratch[16];
    for (size_t i = 0; i < count; i++) {
        scratch[i] = fcntl(fds[i].first, F_DUPFD_CLOEXEC, kFirstScratchFd);
        if (scratch[i] < 0) {
            return errno;
        }
    }
    for (size_t i = 0; i < count; i++) {
        // dup2 clears FD_CLOEXEC on the target, so the helper keeps it across exec.
        if (dup2(scratch[i], fds[i].second) < 0) {
            return errno;
        }
    }
    return 0;
}

// Everything the helper does before exec. Only async-signal-safe calls.
[[noreturn]] void runChild(const SpawnRequest &request, char *const *argv, pid_t parent,
                           unsigned firstUnplacedFd, int errorFd) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) {
        _exit(127);  // the parent already went away
    }
    if (request.ownProcessGroup && setpgid(0, 0) != 0) {
        failInChild(errorFd, errno);
    }

    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++) {
        sigaction(sig, &dfl, nullptr);  // fails harmlessly for SIGKILL, SIGSTOP and RT gaps
    }

    int err = placeFds(request.fds.data(), request.fds.size());
    if (err != 0) {
        failInChild(errorFd, err);
    }
    // Whatever the host opened without O_CLOEXEC must not reach the helper. Kernels before 5.11
    // lack CLOSE_RANGE_CLOEXEC; the call then fails and such descriptors leak into the helper.
    syscall(SYS_close_range, firstUnplacedFd, ~0U, CLOSE_RANGE_CLOEXEC);

    execv(request.path.c_str(), argv);
    failInChild(errorFd, errno);
}

}  // namespace

std::string errnoText(int err) {
    std::string text = std::strerror(err < 0 ? -err : err);
    if (!text.empty()) {
        text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
    }
    return text;
}

Pipe makePipe(bool nonBlockingRead) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        throw rkp::Error(-errno, "create pipe: " + errnoText(errno));
    }
    Pipe pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
    if (nonBlockingRead && fcntl(fds[0], F_SETFL, O_NONBLOCK) != 0) {
        throw rkp::Error(-errno, "create pipe: " + errnoText(errno));
    }
    return pipe;
}

pid_t spawn(const SpawnRequest &request) {
    const std::string op = "start " + request.path;
    if (request.fds.size() > 16) {
        throw rkp::Error(-EINVAL, op + ": too many descriptors");
    }
    // Everything the helper needs is allocated before fork.
    std::vector<char *> argv;
    for (const std::string &arg : request.argv) {
        argv.push_back(const_cast<char *>(arg.c_str()));
    }
    argv.push_back(nullptr);
    unsigned firstUnplacedFd = 3;
    for (const auto &[source, target] : request.fds) {
        if (target < 0 || target >= kFirstScratchFd) {
            throw rkp::Error(-EINVAL, op + ": descriptor target " + std::to_string(target));
        }
        firstUnplacedFd = std::max(firstUnplacedFd, static_cast<unsigned>(target) + 1);
    }
    Pipe errorPipe = makePipe(false);
    pid_t parent = getpid();

    pid_t pid = fork();
    if (pid < 0) {
        throw rkp::Error(-errno, op + ": fork: " + errnoText(errno));
    }
    if (pid == 0) {
        runChild(request, argv.data(), parent, firstUnplacedFd, errorPipe.write.get());
    }
    errorPipe.write.reset();

    // EOF means exec succeeded (the CLOEXEC write end closed); an int is exec's errno.
    int childErr = 0;
    ssize_t n;
    do {
        n = read(errorPipe.read.get(), &childErr, sizeof(childErr));
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
        waitForExit(pid);
        throw rkp::Error(-childErr, op + ": " + errnoText(childErr));
    }
    return pid;
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

bool OutputLines::drain(int fd) {
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return errno == EAGAIN;  // anything else: treat like EOF
        }
        if (n == 0) {
            if (!partial_.empty()) {
                emit(std::exchange(partial_, {}));
            }
            return false;
        }
        if (text_.size() < 65536) {
            text_.append(buf, static_cast<size_t>(n));
        }
        partial_.append(buf, static_cast<size_t>(n));
        size_t newline;
        while ((newline = partial_.find('\n')) != std::string::npos) {
            emit(partial_.substr(0, newline));
            partial_.erase(0, newline + 1);
        }
        if (partial_.size() > kMaxLine) {  // a helper writing without newlines
            emit(std::exchange(partial_, {}));
        }
    }
}

void OutputLines::emit(const std::string &line) {
    if (!line.empty()) {
        lastLine_ = line;
    }
    if (onLine_) {
        onLine_(line);
    }
}

}  // namespace rootlesskit::slirp4netns
