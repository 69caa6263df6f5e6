// The plugin probe: see plugin_probe.h.
#include "core/plugin_probe.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <optional>

#include <fmt/format.h>

#include "core/log.h"
#include "core/signals.h"
#include "core/status.h"
#include "core/unique_fd.h"
#include "rootlesskit/rkp.h"

namespace {

// True in the probe process only: see __lsan_is_turned_off below.
bool gInProbe = false;

}  // namespace

// LeakSanitizer (sanitized builds only) calls this before its check at exit: a plugin that
// calls exit() in the probe must not make it scan, and report on, a copy of the host's heap.
// The reserved name is the sanitizer runtime's.
// NOLINTNEXTLINE(bugprone-reserved-identifier)
extern "C" int __lsan_is_turned_off() {
    return gInProbe ? 1 : 0;
}

namespace rootlesskit {

namespace {

// Sent after the last file: the probe reached the end.
constexpr uint32_t kAllLoaded = UINT32_MAX;

// The kernel's own sigaction layout, for rt_sigaction(2) called directly.
struct KernelSigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)();
    uint64_t mask;
};

// Puts the default action back for the signals a crash raises, bypassing libc and any
// sanitizer's interceptor: a plugin's fault must end the probe plainly, not make a sanitizer
// write a report about code that is not ours.
void restoreCrashSignals() {
    KernelSigaction dfl = {};
    dfl.handler = SIG_DFL;
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) {
        syscall(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof dfl.mask);
    }
}

// The probe process: announces each file, then loads it as the host would. Its output goes
// nowhere, so that a plugin that prints does not print twice.
[[noreturn]] void runProbe(const std::vector<std::string> &paths, size_t from, int reportFd) {
    gInProbe = true;
    restoreCrashSignals();
    int devNull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devNull >= 0) {
        dup2(devNull, STDOUT_FILENO);
        dup2(devNull, STDERR_FILENO);
    }
    for (size_t i = from; i < paths.size(); ++i) {
        auto index = static_cast<uint32_t>(i);
        if (write(reportFd, &index, sizeof index) != sizeof index) {
            _exit(0);  // the host stopped listening
        }
        void *handle = dlopen(paths[i].c_str(), RTLD_NOW | RTLD_LOCAL);
        auto entry = handle != nullptr ? reinterpret_cast<rkp_plugin_entry_fn>(
                                             dlsym(handle, RKP_PLUGIN_ENTRY_SYMBOL))
                                       : nullptr;
        if (entry != nullptr) {
            (void)entry(RKP_ABI_MAJOR, RKP_ABI_MINOR);
        }
    }
    uint32_t done = kAllLoaded;
    (void)!write(reportFd, &done, sizeof done);
    _exit(0);
}

struct ProbeRun {
    bool allLoaded = false;
    size_t culprit = 0;  // when not allLoaded: the file that was loading
    std::string reason;
};

int reapProbe(pid_t pid) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

// Probes paths[from..]; nullopt when no probe process could be started.
std::optional<ProbeRun> probeFrom(const std::vector<std::string> &paths, size_t from,
                                  std::chrono::milliseconds perFile) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        return std::nullopt;
    }
    UniqueFd reports(fds[0]);
    UniqueFd reportWriter(fds[1]);
    pid_t pid = fork();
    if (pid < 0) {
        return std::nullopt;
    }
    if (pid == 0) {
        runProbe(paths, from, reportWriter.get());
    }
    reportWriter.reset();

    ProbeRun run;
    run.culprit = from;
    for (;;) {
        struct pollfd ready = {reports.get(), POLLIN, 0};
        int polled = poll(&ready, 1, static_cast<int>(perFile.count()));
        if (polled < 0 && errno == EINTR) {
            continue;
        }
        if (polled == 0) {
            kill(pid, SIGKILL);
            reapProbe(pid);
            run.reason = fmt::format("did not load within {} s",
                                     std::chrono::ceil<std::chrono::seconds>(perFile).count());
            return run;
        }
        uint32_t index = 0;
        ssize_t got = read(reports.get(), &index, sizeof index);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got != sizeof index) {
            break;  // the probe is gone
        }
        if (index == kAllLoaded) {
            run.allLoaded = true;
        } else {
            run.culprit = index;
        }
    }

    int status = reapProbe(pid);
    if (run.allLoaded) {
        return run;
    }
    run.reason = WIFSIGNALED(status)
                     ? fmt::format("crashed while loading ({})", waitStatusText(status))
                     : fmt::format("exited while loading ({})", waitStatusText(status));
    return run;
}

}  // namespace

std::map<std::string, std::string> probePluginFiles(const std::vector<std::string> &paths,
                                                    std::chrono::milliseconds perFile) {
    std::map<std::string, std::string> refusals;
    size_t from = 0;
    while (from < paths.size()) {
        std::optional<ProbeRun> run = probeFrom(paths, from, perFile);
        if (!run) {
            logger("core")->debug("plugin probe: cannot start a process: {}", errnoText(errno));
            break;
        }
        if (run->allLoaded) {
            break;
        }
        refusals[paths[run->culprit]] = run->reason;
        from = run->culprit + 1;
    }
    return refusals;
}

}  // namespace rootlesskit
