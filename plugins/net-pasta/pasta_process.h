// One pasta serving the child's network namespace: started, found again after it daemonised,
// watched while the command runs, stopped at teardown.
//
// Theory of operation
// -------------------
// pasta configures the namespace and then forks into the background; the process started here
// exits 0 once the namespace side is ready (or non-zero with the reason on its output). That exit
// is the readiness signal, as upstream uses it. The daemon that stays is not ours to wait for
// unless we make it so: pasta before 2023_12 (Debian 12's) keeps running after a namespace given
// by PID is gone, holding it alive, and a run that ends should not leave it behind. So start()
// marks this process a child subreaper (PR_SET_CHILD_SUBREAPER) for the few milliseconds between
// starting pasta and its first process exiting: the daemon, orphaned at that moment, is
// re-parented to us instead of init. start() then finds it among our children, clears the flag
// again (the user's processes are never re-parented to rootlesskit), and keeps a pidfd on it.
//
// watch() runs on a host thread and returns when quit_fd is readable, or reports the daemon's
// death while the child lives (pasta gone means no network). A pasta that exits because the
// namespace went away (the run is ending) is not a failure. stop() (teardown, main thread) sends
// SIGTERM, then SIGKILL after a second, and reaps; it marks the process as stopping first so that
// a concurrent watch() returns 0. Reaping happens once, under a mutex.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "helper_process.h"
#include "rootlesskit/rkp.h"

namespace rootlesskit::pasta {

class PastaProcess {
public:
    // host is borrowed for logging and outlives this object.
    explicit PastaProcess(const rkp_host *host) : host_(host) {}
    ~PastaProcess() { stop(); }
    PastaProcess(const PastaProcess &) = delete;
    PastaProcess &operator=(const PastaProcess &) = delete;

    // Runs path with argv (argv[0] included) and waits up to timeout for its first process to
    // exit; childPid is the rootlesskit child whose namespace pasta serves. Any previous pasta
    // MUST have been stopped. Throws rkp::Error: "start <path>: <cause>", "pasta failed with
    // exit code N: <last output line>", "pasta killed by signal S", "pasta did not become ready
    // within Ns". Parent, main thread.
    void start(const std::string &path, const std::vector<std::string> &argv,
               std::chrono::seconds timeout, pid_t childPid);

    // Blocks until quitFd (borrowed) is readable (0) or the daemon exits: -EPIPE with "pasta
    // exited unexpectedly (<status>)" while the child lives, 0 once the child is gone or stop()
    // ran. At most one watch() at a time; 0 at once when no daemon was found.
    int watch(int quitFd, rkp_error *err);

    // Terminates and reaps the daemon. Idempotent; any thread.
    void stop();

    // PID of the daemon, 0 when there is none.
    pid_t daemonPid() const { return daemon_; }

private:
    void adoptDaemon(const std::vector<pid_t> &before);
    bool childGone() const;

    const rkp_host *host_;
    pid_t daemon_ = 0;
    pid_t childPid_ = 0;
    plugin::UniqueFd pidfd_;
    std::atomic<bool> stopping_{false};
    std::mutex mutex_;  // guards reaped_ (and kill() against reuse of the PID)
    bool reaped_ = true;
};

}  // namespace rootlesskit::pasta
