// Creating the veth through lxc-user-nic, with the checks that make its errors explicit.
#include "veth_attach.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "helper_process.h"
#include "rootlesskit/rkp.hpp"
#include "usernet.h"

namespace rootlesskit::lxc {
namespace {

using plugin::UniqueFd;

constexpr int kHolderReadyMs = 10000;

void checkBridge(const std::string &bridge) {
    struct stat st {};
    std::string base = "/sys/class/net/" + bridge;
    const std::string howTo =
        " (as root: ip link add " + bridge +
        " type bridge, with an address and a DHCP server "
        "on it; scripts/setup-lxc-bridge.sh sets one up), or choose another with "
        "--lxc-user-nic-bridge";
    if (stat(base.c_str(), &st) != 0) {
        throw rkp::Error(-ENODEV, "bridge " + bridge + " does not exist: create it" + howTo);
    }
    if (stat((base + "/bridge").c_str(), &st) != 0) {
        throw rkp::Error(-EINVAL, "interface " + bridge + " is not a bridge: use a bridge" + howTo);
    }
}

// Async-signal-safe only: the host may have other threads.
[[noreturn]] void runHolder(int userns, int netns, int readyFd, pid_t parent) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) {
        _exit(1);
    }
    if (setns(userns, CLONE_NEWUSER) != 0 || setns(netns, CLONE_NEWNET) != 0) {
        int err = errno;
        (void)!write(readyFd, &err, sizeof(err));
        _exit(1);
    }
    int ok = 0;
    (void)!write(readyFd, &ok, sizeof(ok));
    for (;;) {
        pause();
    }
}

// A process inside the detached namespace, for lxc-user-nic to name by PID.
class Holder {
public:
    Holder(pid_t childPid, const std::string &netnsPath) {
        std::string usernsPath = "/proc/" + std::to_string(childPid) + "/ns/user";
        UniqueFd userns(open(usernsPath.c_str(), O_RDONLY | O_CLOEXEC));
        UniqueFd netns(open(netnsPath.c_str(), O_RDONLY | O_CLOEXEC));
        if (!userns.valid() || !netns.valid()) {
            fail(netnsPath, errno);
        }
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) != 0) {
            fail(netnsPath, errno);
        }
        UniqueFd readEnd(fds[0]);
        UniqueFd writeEnd(fds[1]);
        pid_t parent = getpid();
        pid_ = fork();
        if (pid_ < 0) {
            fail(netnsPath, errno);
        }
        if (pid_ == 0) {
            runHolder(userns.get(), netns.get(), writeEnd.get(), parent);
        }
        writeEnd.reset();
        awaitReady(readEnd.get(), netnsPath);
    }
    ~Holder() {
        if (pid_ > 0) {
            kill(pid_, SIGKILL);
            plugin::waitForExit(pid_);
        }
    }
    Holder(const Holder &) = delete;
    Holder &operator=(const Holder &) = delete;

    pid_t pid() const { return pid_; }

private:
    void awaitReady(int fd, const std::string &netnsPath) {
        pollfd p = {fd, POLLIN, 0};
        int err = ETIMEDOUT;
        if (poll(&p, 1, kHolderReadyMs) == 1 && read(fd, &err, sizeof(err)) != sizeof(err)) {
            err = EPIPE;
        }
        if (err != 0) {
            fail(netnsPath, err);
        }
    }
    [[noreturn]] static void fail(const std::string &netnsPath, int err) {
        throw rkp::Error(-err, "enter detached netns " + netnsPath + ": " + plugin::errnoText(err));
    }

    pid_t pid_ = -1;
};

// The error for a failed lxc-user-nic run.
rkp::Error runFailure(const VethRequest &request, const plugin::HelperExit &exit) {
    std::string output = plugin::lastLine(exit.output);
    if (output.find("Quota reached") != std::string::npos) {
        return rkp::Error(-EDQUOT, "lxc-user-nic: the veth quota for this user on bridge " +
                                       request.bridge + " in " + kUsernetPath +
                                       " is used up (each running session holds one veth): end "
                                       "another session, or as root raise the count on its "
                                       "line");
    }
    std::string status =
        exit.timedOut ? "did not finish within " + std::to_string(request.timeout.count()) + "s"
                      : plugin::describeWaitStatus(exit.status);
    return rkp::Error(-EIO, request.binary + " failed: " + output + ": " + status);
}

}  // namespace

void attachVeth(const rkp_host *host, const VethRequest &request) {
    // 1. What lxc-user-nic would refuse with a vaguer message.
    checkBridge(request.bridge);
    std::string usernet = checkUsernet(kUsernetPath, request.bridge);
    if (!usernet.empty()) {
        throw rkp::Error(-EPERM, usernet);
    }

    // 2. The PID that names the namespace.
    std::unique_ptr<Holder> holder;
    pid_t target = request.childPid;
    if (!request.detachedNetnsPath.empty()) {
        holder = std::make_unique<Holder>(request.childPid, request.detachedNetnsPath);
        target = holder->pid();
    }

    // 3. lxc-user-nic itself.
    std::vector<std::string> argv = {
        request.binary,         "create", "/dev/null",    "dummy",
        std::to_string(target), "veth",   request.bridge, request.ifname};
    rkp::log(host, RKP_LOG_DEBUG, "executing %s", plugin::joinArgv(argv).c_str());
    plugin::HelperExit exit = plugin::runHelper(request.binary, argv, request.timeout);
    if (!plugin::lastLine(exit.output).empty()) {
        rkp::log(host, RKP_LOG_DEBUG, "lxc-user-nic: %s", plugin::lastLine(exit.output).c_str());
    }
    if (exit.timedOut || exit.status == -1 || !WIFEXITED(exit.status) ||
        WEXITSTATUS(exit.status) != 0) {
        throw runFailure(request, exit);
    }
}

}  // namespace rootlesskit::lxc
