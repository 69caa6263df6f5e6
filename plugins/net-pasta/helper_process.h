// Running helper programs (pasta, lxc-user-nic) from a plugin: PATH lookup, fork + exec with only
// async-signal-safe calls in between, output captured, exit awaited with a deadline. Shared by the
// pasta and lxc-user-nic network plugins (each compiles this file into its own .so).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace rootlesskit::plugin {

// Owns one file descriptor (or nothing when fd < 0) and closes it on destruction. Move-only.
class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    ~UniqueFd() { reset(); }
    UniqueFd(UniqueFd &&other) noexcept : fd_(other.release()) {}
    UniqueFd &operator=(UniqueFd &&other) noexcept {
        if (this != &other) {
            reset(other.release());
        }
        return *this;
    }
    UniqueFd(const UniqueFd &) = delete;
    UniqueFd &operator=(const UniqueFd &) = delete;

    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }
    int release() { return std::exchange(fd_, -1); }
    void reset(int fd = -1);

private:
    int fd_ = -1;
};

// Lowercase strerror text ("no such file or directory").
std::string errnoText(int err);

// Resolves name like execvp(3) in $PATH (a name containing '/' is taken as a path). Returns the
// path of an executable regular file, or "" with *err set to the errno of the last failure
// (ENOENT when nothing matched).
std::string findExecutable(const std::string &name, int *err);

// Starts path with argv (argv[0] included): stdin on /dev/null, stdout and stderr on outputFd
// (borrowed; /dev/null when < 0), every other descriptor closed at exec, an empty signal mask,
// default signal dispositions and PR_SET_PDEATHSIG SIGKILL (tied to the calling thread). Returns
// the PID once exec succeeded. Throws rkp::Error(-errno, "start <path>: <cause>"); nothing is
// left running then. Any thread; the caller reaps the process.
pid_t spawnHelper(const std::string &path, const std::vector<std::string> &argv, int outputFd);

struct HelperExit {
    int status = -1;        // wait status; -1 when it could not be waited for
    bool timedOut = false;  // killed with SIGKILL at the deadline
    std::string output;     // stdout and stderr, up to 64 KiB
};

// Runs path with argv as spawnHelper does and waits until it exits, at most timeout (then it is
// SIGKILLed and reaped). Output written after the exit by a process that kept the pipe (a
// daemonised pasta) is not waited for. Throws rkp::Error only when it cannot be started.
HelperExit runHelper(const std::string &path, const std::vector<std::string> &argv,
                     std::chrono::milliseconds timeout);

// Waits for pid (a child of this process) and returns its wait status, retrying on EINTR; -1
// when it cannot be waited for.
int waitForExit(pid_t pid);

// "exited with status N" or "killed by signal S".
std::string describeWaitStatus(int status);

// The last non-empty line of text, trimmed ("" when none).
std::string lastLine(const std::string &text);

// argv joined with spaces, for debug logs.
std::string joinArgv(const std::vector<std::string> &argv);

}  // namespace rootlesskit::plugin
