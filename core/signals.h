// Signal handling shared by the parent and the child: both block every signal before they create
// any thread or process, read them from a signalfd in their main loop, and forward them with
// kill() to the next process down (parent -> child -> command).
#pragma once

#include <signal.h>

#include <string>
#include <vector>

#include "core/status.h"
#include "core/unique_fd.h"

namespace rootlesskit {

// Blocks every signal that can be blocked in the calling thread; threads and processes created
// afterwards inherit the mask. Call on the main thread while it is the only thread.
void blockAllSignals();

// A signalfd (O_CLOEXEC | O_NONBLOCK) that reads every signal of the calling process, or only
// those in signals when it is not nullptr (an empty list reads none). The signals MUST be
// blocked. Fails "signalfd: <errno text>".
Result<UniqueFd> openSignalFd(const std::vector<int> *signals = nullptr);
inline Result<UniqueFd> openSignalFd(const std::vector<int> &signals) {
    return openSignalFd(&signals);
}

// True when the disposition of sig is SIG_IGN (inherited from the caller).
bool isIgnored(int sig);

// One signal read from a signalfd.
struct SignalInfo {
    int signo = 0;  // 0 when none was pending
    int code = 0;   // si_code: SI_USER for kill(), SI_KERNEL for the terminal driver, ...
};

// Reads one pending signal from fd (non-blocking); signo is 0 when none is pending.
SignalInfo readSignal(int fd);

// True when info is a signal the terminal driver sent to the whole foreground process group
// (SIGINT, SIGQUIT, SIGTSTP from the keyboard, SIGWINCH on resize). A proxy need not pass such a
// signal on to a process in its own process group: that process got the same signal already.
bool isTerminalGroupSignal(const SignalInfo &info);

// True for the signals a proxy passes on: every catchable signal but SIGCHLD, SIGPIPE and SIGURG
// (upstream's set).
bool isForwardedSignal(int sig);

// The lowercase description of sig, as upstream prints it: "user defined signal 1", "killed".
std::string signalText(int sig);

// Describes a wait status as upstream does: "exit status 42" or "signal: killed".
std::string waitStatusText(int status);

// Ends the process with sig under its default disposition (terminate, maybe with a core dump),
// so that the waiting shell sees the signal; exits 128+sig if sig does not terminate.
[[noreturn]] void dieBySignal(int sig);

// Restores default dispositions for every signal and an empty mask. Async-signal-safe: meant for
// a process between fork() and execve().
void resetSignalsForExec();

}  // namespace rootlesskit
