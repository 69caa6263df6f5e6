// Start, readiness, watch and stop of the slirp4netns process.
#include "slirp4netns_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "rootlesskit/rkp.hpp"

namespace rootlesskit::slirp4netns {
namespace {

// Without a pidfd, how often start() and watch() check whether slirp4netns exited.
constexpr int kExitCheckMs = 200;

// "status N" or "killed by signal S", for the watch() message.
std::string shortStatus(int status) {
    if (status != -1 && WIFSIGNALED(status)) {
        return "killed by signal " + std::to_string(WTERMSIG(status));
    }
    return status == -1 ? "unknown status" : "status " + std::to_string(WEXITSTATUS(status));
}

}  // namespace

Slirp4netnsProcess::Slirp4netnsProcess(const rkp_host *host)
    : host_(host), lines_([host](const std::string &line) {
          if (!line.empty()) {
              rkp::logMessage(host, RKP_LOG_DEBUG, "slirp4netns: " + line);
          }
      }) {}

Slirp4netnsProcess::~Slirp4netnsProcess() {
    stop();
}

void Slirp4netnsProcess::start(const std::string &path, const std::vector<std::string> &argv,
                               bool useExitFd, std::chrono::seconds timeout) {
    // 1. The pipes; only this process's ends stay open after spawn().
    Pipe ready = makePipe(true);
    Pipe exitPipe = makePipe(false);
    Pipe output = makePipe(true);
    UniqueFd devNull(open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!devNull.valid()) {
        throw rkp::Error(-errno, "open /dev/null: " + errnoText(errno));
    }

    // 2. The process, in its own process group so that a Ctrl-C on the terminal reaches the
    // command (through rootlesskit) but does not take the network down underneath it.
    SpawnRequest request{path, argv, {}, true};
    request.fds = {{devNull.get(), 0},
                   {output.write.get(), 1},
                   {output.write.get(), 2},
                   {ready.write.get(), 3}};
    if (useExitFd) {
        request.fds.emplace_back(exitPipe.read.get(), 4);
    }
    pid_t pid = spawn(request);
    {
        std::lock_guard<std::mutex> lock(mutex_);
        pid_ = pid;
        reaped_ = false;
        status_ = 0;
    }
    stopping_ = false;
    exitWrite_ = std::move(exitPipe.write);
    output_ = std::move(output.read);
    outputOpen_ = true;
    lines_.clear();
    pidfd_.reset(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));

    // 3. Readiness; on any failure nothing may stay behind.
    try {
        ready.write.reset();
        output.write.reset();
        waitReady(ready.read.get(), timeout);
    } catch (...) {
        stop();
        throw;
    }
    rkp::log(host_, RKP_LOG_INFO, "slirp4netns is ready (pid %d)", static_cast<int>(pid));
}

void Slirp4netnsProcess::waitReady(int readyFd, std::chrono::seconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    bool readyOpen = true;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now())
                        .count();
        if (left <= 0) {
            throw rkp::Error(-ETIMEDOUT, "slirp4netns did not become ready within " +
                                             std::to_string(timeout.count()) + "s");
        }
        pollfd fds[3] = {{readyOpen ? readyFd : -1, POLLIN, 0},
                         {outputOpen_ ? output_.get() : -1, POLLIN, 0},
                         {pidfd_.get(), POLLIN, 0}};
        int waitMs = static_cast<int>(pidfd_.valid() ? left : std::min<long>(left, kExitCheckMs));
        if (poll(fds, 3, waitMs) < 0 && errno != EINTR) {
            throw rkp::Error(-errno, "wait for slirp4netns: poll: " + errnoText(errno));
        }

        if (fds[1].revents != 0) {
            drainOutput();
        }
        if (fds[0].revents != 0) {
            char byte;
            ssize_t n = read(readyFd, &byte, 1);
            if (n == 1) {
                return;
            }
            readyOpen = !(n == 0);  // closed without a byte: slirp4netns is on its way out
        }
        if (hasExited(fds[2].revents)) {
            drainOutput();
            reap(true);
            throw rkp::Error(-EIO, "slirp4netns " + describeWaitStatus(status_) + lastLineSuffix());
        }
    }
}

int Slirp4netnsProcess::watch(int quitFd, rkp_error *err) {
    bool running = pid_ > 0;
    for (;;) {
        pollfd fds[3] = {{quitFd, POLLIN, 0},
                         {outputOpen_ ? output_.get() : -1, POLLIN, 0},
                         {running ? pidfd_.get() : -1, POLLIN, 0}};
        int waitMs = !running || pidfd_.valid() ? -1 : kExitCheckMs;
        if (poll(fds, 3, waitMs) < 0 && errno != EINTR) {
            return rkp::setErrorMessage(err, -errno,
                                        "watch slirp4netns: poll: " + errnoText(errno));
        }

        if (fds[0].revents != 0 || stopping_) {
            return 0;
        }
        if (fds[1].revents != 0) {
            drainOutput();
        }
        if (running && hasExited(fds[2].revents)) {
            if (stopping_) {
                return 0;
            }
            drainOutput();
            reap(true);
            return rkp::setErrorMessage(err, -EPIPE,
                                        "slirp4netns exited unexpectedly (" + shortStatus(status_) +
                                            ")" + lastLineSuffix());
        }
    }
}

void Slirp4netnsProcess::stop() {
    stopping_ = true;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (pid_ > 0 && !reaped_) {
            kill(pid_, SIGKILL);
        }
    }
    reap(true);
    exitWrite_.reset();
}

bool Slirp4netnsProcess::hasExited(short pidfdEvents) {
    if (pidfd_.valid()) {
        return pidfdEvents != 0;
    }
    return reap(false);
}

// Reaps slirp4netns once it has exited; with block, waits for that. True once reaped.
bool Slirp4netnsProcess::reap(bool block) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (reaped_ || pid_ <= 0) {
        return true;
    }
    int status = 0;
    pid_t r;
    do {
        r = waitpid(pid_, &status, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == 0) {
        return false;
    }
    status_ = r == pid_ ? status : -1;
    reaped_ = true;
    return true;
}

void Slirp4netnsProcess::drainOutput() {
    if (outputOpen_) {
        outputOpen_ = lines_.drain(output_.get());
    }
}

// ": <last output line>" after an exit with a status, where that line usually says why; after a
// signal the last line is start-up chatter, so nothing.
std::string Slirp4netnsProcess::lastLineSuffix() const {
    bool signaled = status_ != -1 && WIFSIGNALED(status_);
    return signaled || lines_.lastLine().empty() ? "" : ": " + lines_.lastLine();
}

}  // namespace rootlesskit::slirp4netns
