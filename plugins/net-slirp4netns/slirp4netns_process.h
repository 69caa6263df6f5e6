// One running slirp4netns: started, waited for until ready, watched while the command runs,
// killed at teardown.
//
// Theory of operation
// -------------------
// start() runs on the host's main thread in the parent (configure_parent). slirp4netns gets
//   fd 0  /dev/null
//   fd 1  the write end of the output pipe (fd 2 too): its messages are logged at debug
//   fd 3  the write end of the ready pipe (-r 3): slirp4netns writes one byte once it serves
//   fd 4  the read end of the exit pipe (-e 4), when its --help lists --exit-fd: the write end
//         stays here, so slirp4netns exits when this process is gone, even if PR_SET_PDEATHSIG
//         did not fire (it is tied to the thread that forked)
// start() returns once the byte arrived; it fails, leaving nothing running, when slirp4netns exits
// first or the deadline passes. watch() then runs on a thread of its own and returns when quit_fd
// is readable or slirp4netns dies; a pidfd tells it the latter without polling (kernels before
// 5.3 have no pidfd_open: it then checks every 200 ms). stop() (teardown, main thread) may run
// while watch() waits: it marks the process as stopping before killing it, so watch() returns 0
// rather than reporting the death it caused. Reaping happens once, under a mutex.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "rootlesskit/rkp.h"
#include "spawn.h"
#include "unique_fd.h"

namespace rootlesskit::slirp4netns {

class Slirp4netnsProcess {
public:
    // host is borrowed for logging and outlives this object.
    explicit Slirp4netnsProcess(const rkp_host *host);
    ~Slirp4netnsProcess();
    Slirp4netnsProcess(const Slirp4netnsProcess &) = delete;
    Slirp4netnsProcess &operator=(const Slirp4netnsProcess &) = delete;

    // Starts path with argv (argv[0] included) and waits up to timeout for the ready byte. Any
    // previous process MUST have been stopped. Throws rkp::Error: "start <path>: <cause>",
    // "slirp4netns exited with status N: <last output line>", "slirp4netns killed by signal S",
    // "slirp4netns did not become ready within Ns"; nothing is left running then.
    void start(const std::string &path, const std::vector<std::string> &argv, bool useExitFd,
               std::chrono::seconds timeout);

    // Blocks until quitFd (borrowed) is readable (returns 0) or slirp4netns dies: returns -EPIPE
    // with "slirp4netns exited unexpectedly (status N): <last output line>" (or "(killed by
    // signal S)") in err. Returns 0 at
    // once when stop() ran or runs meanwhile. At most one watch() at a time.
    int watch(int quitFd, rkp_error *err);

    // SIGKILLs and reaps slirp4netns and closes the exit pipe. Idempotent; any thread.
    void stop();

    // PID of the current process, 0 when none was started.
    pid_t pid() const { return pid_; }

private:
    void waitReady(int readyFd, std::chrono::seconds timeout);
    bool hasExited(short pidfdEvents);
    bool reap(bool block);
    void drainOutput();
    std::string lastLineSuffix() const;

    const rkp_host *host_;
    pid_t pid_ = 0;
    UniqueFd pidfd_;
    UniqueFd output_;
    UniqueFd exitWrite_;
    bool outputOpen_ = false;
    OutputLines lines_;
    std::atomic<bool> stopping_{false};
    std::mutex mutex_;  // guards reaped_ and status_ (and kill() against reuse of the PID)
    bool reaped_ = true;
    int status_ = 0;
};

}  // namespace rootlesskit::slirp4netns
