// Socket activation, the command's process group and terminal, and cgroup2 evacuation.
#include "core/process_options.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/log.h"
#include "core/mounts.h"
#include "core/unique_fd.h"

namespace rootlesskit {

namespace {

constexpr const char kListenPid[] = "LISTEN_PID=";
constexpr size_t kListenPidLength = sizeof kListenPid - 1;
constexpr size_t kPidDigits = 20;  // room for any pid_t in decimal

// The value of an environment variable as a non-negative integer; -1 when unset or not one.
long envNumber(const char *name) {
    const char *text = std::getenv(name);
    if (text == nullptr || *text == '\0') {
        return -1;
    }
    char *end = nullptr;
    errno = 0;
    long value = std::strtol(text, &end, 10);
    return (errno != 0 || *end != '\0' || value < 0) ? -1 : value;
}

int socketActivationFds() {
    long fds = envNumber("LISTEN_FDS");
    if (envNumber("LISTEN_PID") < 0 || fds <= 0) {
        return 0;
    }
    for (long fd = 3; fd < 3 + fds; ++fd) {
        if (fcntl(static_cast<int>(fd), F_GETFD) < 0) {
            logger("core")->warn("LISTEN_FDS={} but fd {} is not open; passing no socket", fds, fd);
            return 0;
        }
    }
    return static_cast<int>(fds);
}

// Async-signal-safe decimal formatting into out (NUL-terminated).
void formatPid(pid_t pid, char *out) {
    char digits[kPidDigits];
    size_t n = 0;
    unsigned long value = static_cast<unsigned long>(pid);
    do {
        digits[n++] = static_cast<char>('0' + value % 10);
        value /= 10;
    } while (value != 0 && n < kPidDigits);
    for (size_t i = 0; i < n; ++i) {
        out[i] = digits[n - 1 - i];
    }
    out[n] = '\0';
}

void writeListenPid(char *const *envp) {
    for (char *const *entry = envp; *entry != nullptr; ++entry) {
        if (std::strncmp(*entry, kListenPid, kListenPidLength) == 0) {
            formatPid(getpid(), *entry + kListenPidLength);
            return;
        }
    }
}

// tcsetpgrp() from outside the foreground group raises SIGTTOU unless it is blocked.
void setForeground(pid_t group) {
    sigset_t ttou;
    sigset_t old;
    sigemptyset(&ttou);
    sigaddset(&ttou, SIGTTOU);
    sigprocmask(SIG_BLOCK, &ttou, &old);
    tcsetpgrp(STDIN_FILENO, group);
    sigprocmask(SIG_SETMASK, &old, nullptr);
}

std::string readText(const std::string &path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

Status writeText(const std::string &path, const std::string &text) {
    UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd.valid() || write(fd.get(), text.data(), text.size()) < 0) {
        return Status::error("write " + text + " to " + path + ": " + errnoText(errno), errno);
    }
    return {};
}

// Moves each process of group (one write per pid, as cgroup.procs wants) into target.
void movePids(const std::string &group, const std::string &target) {
    std::istringstream pids(readText(group + "/cgroup.procs"));
    std::string pid;
    while (pids >> pid) {
        if (pid == "0") {
            continue;  // a process this PID namespace cannot name
        }
        Status moved = writeText(target + "/cgroup.procs", pid);
        if (!moved) {
            logger("core")->warn("evacuate-cgroup2: {}", moved.message());
        }
    }
}

void enableControllers(const std::string &group) {
    std::istringstream controllers(readText(group + "/cgroup.controllers"));
    std::string controller;
    while (controllers >> controller) {
        Status enabled = writeText(group + "/cgroup.subtree_control", "+" + controller);
        if (!enabled) {
            logger("core")->warn("evacuate-cgroup2: {}", enabled.message());
        }
    }
}

}  // namespace

CommandSetup commandSetupFromParent() {
    CommandSetup setup;
    setup.listenFds = socketActivationFds();
    setup.rewriteListenPid = setup.listenFds > 0 && envNumber("LISTEN_PID") == getpid();
    setup.foregroundTty = isatty(STDIN_FILENO) == 1 && tcgetpgrp(STDIN_FILENO) == getpgrp();
    return setup;
}

void reserveListenPid(const CommandSetup &setup, std::vector<std::string> &env) {
    if (!setup.rewriteListenPid) {
        return;
    }
    for (std::string &entry : env) {
        if (entry.rfind(kListenPid, 0) == 0) {
            entry = std::string(kListenPid) + std::string(kPidDigits, '0');
            return;
        }
    }
}

void prepareCommandProcess(const CommandSetup &setup, char *const *envp, bool reaper) {
    if (setup.rewriteListenPid) {
        writeListenPid(envp);
    }
    unsigned int first = 3U + static_cast<unsigned int>(setup.listenFds);
    syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC);
    for (int fd = 3; fd < 3 + setup.listenFds; ++fd) {
        fcntl(fd, F_SETFD, 0);
    }
    if (reaper) {
        setpgid(0, 0);
        if (setup.foregroundTty) {
            setForeground(getpgrp());
        }
    }
}

void reclaimTerminal(const CommandSetup &setup) {
    if (setup.foregroundTty && tcgetpgrp(STDIN_FILENO) != getpgrp()) {
        setForeground(getpgrp());
    }
}

std::string cgroup2GroupOf(const std::string &procSelfCgroup) {
    std::istringstream lines(procSelfCgroup);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.rfind("0::", 0) == 0) {
            return line.substr(3);
        }
    }
    return "";
}

Status evacuateCgroup2(const std::string &name) {
    if (name.empty()) {
        return {};
    }
    auto log = logger("core");
    std::string mountPoint = cgroup2MountPoint(readMountInfo());
    std::string group = cgroup2GroupOf(readText("/proc/self/cgroup"));
    std::string dir = mountPoint + (group == "/" ? "" : group);
    struct stat st;
    if (mountPoint.empty() || group.empty() || stat(dir.c_str(), &st) < 0) {
        log->warn("evacuate-cgroup2: no cgroup2 hierarchy holds this process; not evacuating");
        return {};
    }

    std::string target = dir + "/" + name;
    if (mkdir(target.c_str(), 0755) < 0 && errno != EEXIST) {
        return Status::error(
            "evacuate-cgroup2 " + name + ": mkdir " + target + ": " + errnoText(errno), errno);
    }
    movePids(dir, target);
    enableControllers(dir);
    log->debug("evacuated the processes of {} into {}", dir, target);
    return {};
}

}  // namespace rootlesskit
