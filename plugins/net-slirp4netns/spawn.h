// Starting helper programs from a possibly multi-threaded host process: fork + exec with only
// async-signal-safe calls in between, file descriptors placed at fixed numbers, and output read
// back line by line.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "unique_fd.h"

namespace rootlesskit::slirp4netns {

struct SpawnRequest {
    std::string path;               // executable to run (absolute or relative to the cwd)
    std::vector<std::string> argv;  // argv[0] included
    // (fd in this process, fd number in the helper), targets 0..9. The sources stay owned by the
    // caller; every other descriptor of this process is closed in the helper at exec.
    std::vector<std::pair<int, int>> fds;
    bool ownProcessGroup = false;  // setpgid(0, 0): terminal signals do not reach the helper
};

// Starts the helper and returns its PID once exec succeeded. The helper gets PR_SET_PDEATHSIG
// SIGKILL (tied to the calling thread, so call it from a thread that outlives the helper: the
// host's main thread), an empty signal mask and default signal dispositions. Throws
// rkp::Error(-errno, "start <path>: <cause>") when fork or exec failed; nothing is left running.
// Runs in the parent process; any thread.
pid_t spawn(const SpawnRequest &request);

// Waits for pid and returns its wait status, retrying on EINTR; -1 when it cannot be waited for.
int waitForExit(pid_t pid);

// "exited with status N" or "killed by signal S".
std::string describeWaitStatus(int status);

// A pipe whose read end this process keeps and whose write end goes to a helper.
struct Pipe {
    UniqueFd read;
    UniqueFd write;
};

// pipe2(O_CLOEXEC); with nonBlockingRead the read end is O_NONBLOCK. Throws rkp::Error.
Pipe makePipe(bool nonBlockingRead);

// Reads a helper's combined output from a non-blocking fd and splits it into lines.
class OutputLines {
public:
    // onLine is called for every complete line (without the newline).
    explicit OutputLines(std::function<void(const std::string &)> onLine)
        : onLine_(std::move(onLine)) {}

    // Reads what is available now. Returns false once the write side is closed (EOF), after
    // passing the unterminated rest, if any, to onLine.
    bool drain(int fd);

    // The last non-empty line seen, "" when none.
    const std::string &lastLine() const { return lastLine_; }

    // Everything read so far, up to 64 KiB (for a probe's error message).
    const std::string &text() const { return text_; }

    // Forgets what was read (for the next process); keeps onLine.
    void clear() {
        partial_.clear();
        lastLine_.clear();
        text_.clear();
    }

private:
    void emit(const std::string &line);

    std::function<void(const std::string &)> onLine_;
    std::string partial_;
    std::string lastLine_;
    std::string text_;
};

// Lowercase strerror text ("no such file or directory").
std::string errnoText(int err);

}  // namespace rootlesskit::slirp4netns
