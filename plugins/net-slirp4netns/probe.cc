// Feature probe of the slirp4netns binary and the sandbox/seccomp decision.
#include "probe.h"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <sstream>

#include "rootlesskit/rkp.hpp"
#include "spawn.h"

namespace rootlesskit::slirp4netns {
namespace {

constexpr std::chrono::seconds kProbeTimeout{10};

bool isExecutableFile(const std::string &path, int *err) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) {
        *err = errno;
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        *err = EACCES;
        return false;
    }
    if (access(path.c_str(), X_OK) != 0) {
        *err = errno;
        return false;
    }
    return true;
}

// Runs path --help and returns its exit status and combined output. Kills it after the timeout.
int runHelp(const std::string &path, std::string *output) {
    Pipe out = makePipe(true);
    UniqueFd devNull(open("/dev/null", O_RDONLY | O_CLOEXEC));
    SpawnRequest request;
    request.path = path;
    request.argv = {path, "--help"};
    request.fds = {{devNull.get(), 0}, {out.write.get(), 1}, {out.write.get(), 2}};
    pid_t pid = spawn(request);
    out.write.reset();

    OutputLines lines(nullptr);
    auto deadline = std::chrono::steady_clock::now() + kProbeTimeout;
    pollfd pfd{out.read.get(), POLLIN, 0};
    while (lines.drain(out.read.get())) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            kill(pid, SIGKILL);
            waitForExit(pid);
            throw rkp::Error(-ETIMEDOUT, "command \"" + path + " --help\" did not finish within " +
                                             std::to_string(kProbeTimeout.count()) + "s");
        }
        poll(&pfd, 1, static_cast<int>(left.count()));
    }
    *output = lines.text();
    return waitForExit(pid);
}

std::string trimmed(const std::string &text) {
    size_t end = text.find_last_not_of(" \t\r\n");
    return end == std::string::npos ? "" : text.substr(0, end + 1);
}

}  // namespace

std::string resolveBinary(const std::string &binary) {
    const std::string op = "slirp4netns binary \"" + binary + "\" is not installed";
    int err = ENOENT;
    if (binary.find('/') != std::string::npos) {
        if (!isExecutableFile(binary, &err)) {
            throw rkp::Error(-err, op + ": " + errnoText(err));
        }
        return binary;
    }

    const char *env = std::getenv("PATH");
    std::stringstream dirs(env != nullptr ? env : "/usr/local/bin:/usr/bin:/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        std::string candidate = (dir.empty() ? "." : dir) + "/" + binary;
        if (isExecutableFile(candidate, &err)) {
            return candidate;
        }
    }
    throw rkp::Error(-ENOENT, op + ": executable file not found in $PATH");
}

Features probeFeatures(const std::string &path) {
    std::string help;
    int status = runHelp(path, &help);
    if (status != 0) {
        throw rkp::Error(-EIO, "command \"" + path +
                                   " --help\" failed, make sure slirp4netns v0.4.0+ is installed: "
                                   "\"" +
                                   trimmed(help) + "\": " + describeWaitStatus(status));
    }
    if (help.find("--netns-type") == std::string::npos) {
        throw rkp::Error(-ENOTSUP, "slirp4netns seems older than v0.4.0");
    }

    Features features;
    features.exitFd = help.find("--exit-fd") != std::string::npos;
    features.ipv6 = help.find("--enable-ipv6") != std::string::npos;
    features.cidr = help.find("--cidr") != std::string::npos;
    features.disableHostLoopback = help.find("--disable-host-loopback") != std::string::npos;
    features.apiSocket = help.find("--api-socket") != std::string::npos;
    features.sandbox = help.find("--enable-sandbox") != std::string::npos;
    features.seccomp = help.find("--enable-seccomp") != std::string::npos;
    return features;
}

bool kernelSupportsSeccomp() {
    if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0 && errno == EINVAL) {
        return false;
    }
    // A NULL filter program makes the kernel fail the copy (EFAULT) on a seccomp-capable kernel.
    return !(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, nullptr, 0, 0) < 0 && errno == EINVAL);
}

Hardening resolveHardening(const Config &config, const Features &features, bool kernelSeccomp,
                           bool detachedNetns) {
    Hardening out;
    if (config.sandbox == Mode::kTrue) {
        if (!features.sandbox) {
            throw rkp::Error(-ENOTSUP,
                             "this version of slirp4netns does not support --enable-sandbox");
        }
        if (detachedNetns) {
            throw rkp::Error(-EINVAL,
                             "--slirp4netns-sandbox conflicts with --detach-netns (use "
                             "--slirp4netns-sandbox=auto, which leaves the sandbox off there)");
        }
    }
    out.sandbox = config.sandbox == Mode::kTrue ||
                  (config.sandbox == Mode::kAuto && features.sandbox && !detachedNetns);

    if (config.seccomp == Mode::kTrue) {
        if (!features.seccomp) {
            throw rkp::Error(-ENOTSUP,
                             "this version of slirp4netns does not support --enable-seccomp");
        }
        if (!kernelSeccomp) {
            throw rkp::Error(-ENOTSUP, "kernel does not support seccomp");
        }
    }
    out.seccomp = config.seccomp == Mode::kTrue ||
                  (config.seccomp == Mode::kAuto && features.seccomp && kernelSeccomp);
    return out;
}

}  // namespace rootlesskit::slirp4netns
