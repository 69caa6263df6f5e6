// Signal masks, signalfd reading and the texts upstream prints for signals and wait statuses.
#include "core/signals.h"

#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

namespace rootlesskit {

void blockAllSignals() {
    sigset_t all;
    // glibc's sigfillset leaves out the two signals it uses internally for threads.
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
}

Result<UniqueFd> openSignalFd(const std::vector<int> *signals) {
    sigset_t set;
    sigfillset(&set);
    if (signals != nullptr) {
        sigemptyset(&set);
        for (int sig : *signals) {
            sigaddset(&set, sig);
        }
    }
    int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0) {
        return Status::error("signalfd: " + errnoText(errno), errno);
    }
    return UniqueFd(fd);
}

SignalInfo readSignal(int fd) {
    struct signalfd_siginfo info;
    for (;;) {
        ssize_t n = read(fd, &info, sizeof info);
        if (n == static_cast<ssize_t>(sizeof info)) {
            return SignalInfo{static_cast<int>(info.ssi_signo), info.ssi_code};
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        return SignalInfo{};
    }
}

bool isTerminalGroupSignal(const SignalInfo &info) {
    // The tty layer signals the foreground group with kill_pgrp(..., priv=1), which the kernel
    // reports as SI_KERNEL; kill(2) from a process gives SI_USER. SIGHUP is left out: on a
    // hangup only the session leader may get it.
    bool fromTerminal = info.signo == SIGINT || info.signo == SIGQUIT || info.signo == SIGTSTP ||
                        info.signo == SIGWINCH;
    return fromTerminal && info.code == SI_KERNEL;
}

bool isIgnored(int sig) {
    struct sigaction current;
    return sigaction(sig, nullptr, &current) == 0 && current.sa_handler == SIG_IGN;
}

bool isForwardedSignal(int sig) {
    return sig != SIGCHLD && sig != SIGPIPE && sig != SIGURG && sig != SIGKILL && sig != SIGSTOP;
}

std::string signalText(int sig) {
    const char *described = strsignal(sig);
    std::string text = described != nullptr ? described : "signal " + std::to_string(sig);
    for (char &c : text) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return text;
}

std::string waitStatusText(int status) {
    if (WIFEXITED(status)) {
        return "exit status " + std::to_string(WEXITSTATUS(status));
    }
    if (WIFSIGNALED(status)) {
        return "signal: " + signalText(WTERMSIG(status));
    }
    return "wait status " + std::to_string(status);
}

void dieBySignal(int sig) {
    struct sigaction dfl;
    std::memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(sig, &dfl, nullptr);
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, sig);
    // Every other thread blocks sig: once this one unblocks it, the pending signal lands here.
    kill(getpid(), sig);
    pthread_sigmask(SIG_UNBLOCK, &only, nullptr);
    _exit(128 + sig);
}

void resetSignalsForExec() {
    struct sigaction dfl;
    std::memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) {
        // SIGKILL, SIGSTOP and glibc's internal signals fail with EINVAL; nothing to undo there.
        sigaction(sig, &dfl, nullptr);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
}

}  // namespace rootlesskit
