// The detached network namespace of --detach-netns (see detach_netns.h).
#include "core/detach_netns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "core/log.h"
#include "core/unique_fd.h"

namespace rootlesskit {

namespace {

// A new network namespace for the calling thread only, bind-mounted on path. unshare() of the
// network namespace is per thread (it is a task attribute), so the host's other threads stay
// where they are; the thread ends right after, and the mount alone keeps the namespace.
Status bindNewNetns(const std::string &path) {
    if (unshare(CLONE_NEWNET) < 0) {
        return Status::error("unshare(CLONE_NEWNET): " + errnoText(errno), errno);
    }
    if (mount("/proc/thread-self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr) < 0) {
        return Status::error("bind-mount /proc/thread-self/ns/net: " + errnoText(errno), errno);
    }
    return {};
}

}  // namespace

std::string detachedNetnsChildPath(const std::string &stateDir) {
    return stateDir + "/netns";
}

std::string detachedNetnsHostPath(pid_t childPid, const std::string &stateDir) {
    return "/proc/" + std::to_string(childPid) + "/root" + detachedNetnsChildPath(stateDir);
}

Status createDetachedNetns(const std::string &path) {
    const std::string op = "failed to create a detached netns on \"" + path + "\"";

    // 1. The mount point: an empty regular file, readable by its owner only.
    UniqueFd file(open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400));
    if (!file.valid()) {
        return Status::error(op + ": create: " + errnoText(errno), errno);
    }
    file.reset();

    // 2. The namespace, made and mounted by a thread of its own.
    Status created;
    std::thread maker([&] { created = bindNewNetns(path); });
    maker.join();
    if (!created) {
        unlink(path.c_str());
        return created.wrap(op);
    }
    logger("core")->debug("detached network namespace mounted on {}", path);
    return {};
}

Status runInNetns(const std::string &nsPath, const std::function<Status()> &fn) {
    if (nsPath.empty()) {
        return fn();
    }
    Status result;
    std::thread worker([&] {
        UniqueFd ns(open(nsPath.c_str(), O_RDONLY | O_CLOEXEC));
        if (!ns.valid() || setns(ns.get(), CLONE_NEWNET) < 0) {
            result =
                Status::error("enter network namespace " + nsPath + ": " + errnoText(errno), errno);
            return;
        }
        result = fn();
    });
    worker.join();
    return result;
}

}  // namespace rootlesskit
