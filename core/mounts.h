// The child's mount namespace beyond copy-up: propagation of "/", a fresh /sys for a new
// network namespace, a fresh cgroup2 mount for an evacuated group; and the mountinfo reader these
// and the parent's checks share.
//
// Order in the child (upstream's, spec §2.7): setRootPropagation, then copy-up (copy_up.h), then
// remountSys / mountCgroup2, then the network. Everything here runs in the child, on its main
// thread, after the ID maps are written (it needs CAP_SYS_ADMIN in the new user namespace),
// unless a function says otherwise.
#pragma once

#include <string>
#include <vector>

#include "core/options.h"
#include "core/status.h"

namespace rootlesskit {

// One line of /proc/<pid>/mountinfo (proc(5)), with the escapes (\040 and friends) decoded.
struct MountEntry {
    std::string mountPoint;                   // field 5
    std::vector<std::string> mountOptions;    // field 6, split on ',': "rw", "nosuid", ...
    std::vector<std::string> optionalFields;  // "shared:1", "master:3", ...
    std::string fsType;                       // first field after " - "
};

// Parses mountinfo text; lines that do not have the shape of a mountinfo line are skipped.
std::vector<MountEntry> parseMountInfo(const std::string &text);

// The calling process's mount table (/proc/self/mountinfo); empty when it cannot be read. Any
// process, any thread.
std::vector<MountEntry> readMountInfo();

// True when the "/" entry of mounts carries a "shared:N" optional field: only then do mounts the
// host makes later reach a namespace with slave propagation.
bool rootMountIsShared(const std::vector<MountEntry> &mounts);
inline bool rootMountIsShared() {
    return rootMountIsShared(readMountInfo());
}

// The mount point of the first cgroup2 mount, "" when there is none (a cgroup v1 only host).
// /sys/fs/cgroup on a unified host, /sys/fs/cgroup/unified on a hybrid one.
std::string cgroup2MountPoint(const std::vector<MountEntry> &mounts);

// The entries mounted at path or below it, in mountinfo order (parents before their children).
std::vector<MountEntry> mountsAtOrBelow(const std::vector<MountEntry> &mounts,
                                        const std::string &path);

// The mount(2) flags that keep entry's per-mount flags (nosuid, nodev, noexec, the atime mode,
// nosymfollow) in a MS_REMOUNT | MS_BIND call: a mount namespace owned by a user namespace may
// not drop the flags it inherited locked, so a remount has to repeat them.
unsigned long preservedMountFlags(const MountEntry &entry);

// mount("none", "/", NULL, flags) for mode private, rprivate, shared, rshared, slave or rslave;
// any other mode changes nothing (the CLI refuses them). Fails "failed to share mount point: /:
// <errno text>".
Status setRootPropagation(const std::string &mode);

// Mounts a fresh sysfs on /sys, so that /sys/class/net shows the child's own network namespace,
// and carries the mounts below /sys/fs/cgroup over (a recursive bind moved back on top). MUST
// only be called in a network namespace the child created. Failures are warnings: /sys then
// shows the host's interfaces, nothing else depends on it. scratchDir: an empty directory on
// the host for a temporary mount point (see setUpMountNamespace).
void remountSys(const std::string &scratchDir);

// The child's mount steps in upstream's order: propagation of "/", copy-up of options.copyUp
// (the state directory and $XDG_RUNTIME_DIR stay writable below them), a fresh /sys when
// newNetns, and a fresh cgroup2 with --evacuate-cgroup2. Returns the directories copied up.
// Fails with the first failing step's error (propagation, copy-up); the rest only warn.
// scratchDir is an empty host directory the steps use, one after another, as a temporary mount
// point; the parent creates it and removes it however the run ends (a SIGTERM in the middle of
// a copy-up included), so nothing of the child's is left in /tmp.
Result<std::vector<std::string>> setUpMountNamespace(const Options &options,
                                                     const std::string &stateDir, bool newNetns,
                                                     const std::string &scratchDir);

// Mounts a new cgroup2 over the existing cgroup2 mount point, so that it is rooted at the
// child's cgroup namespace: after --evacuate-cgroup2 the command sees its group and can enable
// controllers in it. Needs --cgroupns. Nothing happens when the host has no cgroup2 mount; a
// failure is a warning.
void mountCgroup2();

}  // namespace rootlesskit
