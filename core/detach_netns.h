// The detached network namespace of --detach-netns: a network namespace that no process lives in,
// kept alive by a bind mount on <state-dir>/netns inside the child's mount namespace.
//
// Theory of operation
// -------------------
// With --detach-netns the child is cloned WITHOUT CLONE_NEWNET: it and the user's command stay in
// the host's network namespace (inside the new user and mount namespaces). Right after the ID
// maps are written, the child creates the detached namespace (createDetachedNetns): a short-lived
// thread unshares its own network namespace and bind-mounts /proc/thread-self/ns/net onto an
// empty file <sd>/netns (mode 0400); the mount keeps the namespace alive after the thread ends.
// No unshare(1) or mount(8) binary runs, so an AppArmor profile that denies them cannot break it.
//
// The namespace is then reached by path:
//   - in the child (and the command): <sd>/netns (detachedNetnsChildPath), for instance with
//     `nsenter -n$ROOTLESSKIT_STATE_DIR/netns`;
//   - from the host (the parent and the helpers it starts): /proc/<cpid>/root/<sd>/netns
//     (detachedNetnsHostPath), valid while the child lives.
// Work that must happen inside it from the child (lo up, the interface set-up) runs on a thread
// that entered it with setns() (runInNetns); the other threads never change namespace.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include "core/status.h"

namespace rootlesskit {

// "<stateDir>/netns": the detached namespace as the child and the command see it.
std::string detachedNetnsChildPath(const std::string &stateDir);

// "/proc/<childPid>/root<stateDir>/netns": the same namespace as seen from the host, through the
// child's root directory (and so its mount namespace). Valid while the child lives.
std::string detachedNetnsHostPath(pid_t childPid, const std::string &stateDir);

// CHILD, main thread, after the ID maps are written (CAP_SYS_ADMIN in the new user namespace).
// Creates path as an empty file (mode 0400) and bind-mounts a new network namespace onto it.
// The calling thread's namespaces do not change. Fails with upstream's wording:
// `failed to create a detached netns on "<path>": <step>: <errno text>`.
Status createDetachedNetns(const std::string &path);

// Runs fn on a new thread that first entered the network namespace at nsPath, waits for it and
// returns fn's status; with an empty nsPath runs fn on the calling thread. Fails
// "enter network namespace <path>: <errno text>" when the namespace cannot be entered. Any
// process, any thread; fn MUST NOT throw.
Status runInNetns(const std::string &nsPath, const std::function<Status()> &fn);

}  // namespace rootlesskit
