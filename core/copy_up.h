// Copy-up, mode tmpfs+symlink (--copy-up=DIR): makes a host directory writable inside the
// child's mount namespace, so that the command can delete and recreate /etc/resolv.conf or
// /run/docker, while the host's files stay as they are.
//
// Theory of operation
// -------------------
// For each directory D, in the order given, the child:
//   1. binds D recursively onto a scratch directory S = /tmp/rootlesskit-mXXXXXX, which the
//      parent made and removes however the run ends (outside the state directory, so that /run
//      can be copied up when the state directory is under it);
//   2. remounts every mount below S read-only, keeping the flags the kernel locked;
//   3. binds the shared windows back writable: the state directory and $XDG_RUNTIME_DIR, when
//      they lie below D (rootlesskit's own files and the sockets the command shares with the
//      host, such as Docker's, live there);
//   4. mounts a fresh tmpfs on D, with D's permission bits;
//   5. moves S to H = D/.roXXXXXX and removes S;
//   6. fills D with one entry per entry E of H: a symlink with E's own target when E is a
//      symlink; a symlink to .roXXXXXX/E otherwise; except that a directory holding (at any
//      depth) a relative symlink whose target climbs back to D or above is recreated as a real
//      directory and filled the same way, so that the symlink, recreated at its original depth,
//      still resolves to what it named on the host (upstream links the directory into H, one
//      level deeper, where such a symlink names a path that does not exist).
//
// Differences from upstream, on purpose: the originals are read-only (step 2): an in-place write
// to a file under D fails with EROFS even when the user owns the host's file, instead of
// changing it on the host; replacing the file (rm, then create) is what copy-up is for. The
// tmpfs gets D's mode instead of 1777. The root directory, kernel file systems (/proc, /sys) and
// symlinks to /tmp cannot be copied up (checkCopyUpDirs).
//
// Shortcomings: the tmpfs has no size limit (as upstream); entries the host adds to D, or to a
// recreated subdirectory, after the start do not appear inside (D's, as upstream); the search for
// climbing symlinks reads the whole tree below D, so copying up a large tree costs start-up time
// (/etc and /run take milliseconds).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace rootlesskit {

// The path as copy-up uses it: lexically normal, no trailing slash ("/etc/" -> "/etc").
std::string cleanCopyUpPath(const std::string &dir);

// Checks, in the parent before anything starts, that every directory can be copied up, after
// resolving symlinks: it exists, is a directory the user can list, and is not "/", "/tmp" (the
// scratch directories live there) or on a kernel file system (proc, sysfs, cgroup, cgroup2,
// devpts, mqueue, debugfs, tracefs, securityfs, bpf, pstore, efivarfs: their entries differ per
// process, namespace or mount, and a new network namespace gets a fresh /sys).
// The first refusal fails, naming the directory as given and, when it is a symlink, what it
// resolves to: "copy-up /x: no such file or directory", "copy-up /etc/hosts: not a directory",
// "copy-up /: the root directory cannot be copied up", "copy-up /var/t (it resolves to /tmp):
// /tmp cannot be copied up", "copy-up /proc: a proc file system cannot be copied up",
// "copy-up /root: cannot list it: permission denied". stateDir ("" for a temporary one) and the
// directories below it are refused too: "copy-up /s: the state directory /s and what is below
// it cannot be copied up".
Status checkCopyUpDirs(const std::vector<std::string> &dirs, const std::string &stateDir = "");

// Copies up each directory of dirs, in order, as described above; writable lists the paths that
// stay writable when they lie below one of them (absent ones are ignored). Runs in the child,
// single-threaded, in its own mount namespace with CAP_SYS_ADMIN, after the propagation of "/"
// is set and before anything is mounted below the directories. Returns the cleaned paths of the
// directories copied up. The first failure stops it: "copy-up /etc: mount tmpfs on /etc:
// <errno text>". scratchDir (mounts.h: setUpMountNamespace) serves each directory in turn as
// the temporary mount point of its originals; it is left unmounted on every path. A mount that
// cannot be made read-only is a warning (its files then write through to the host, as
// upstream's do).
Result<std::vector<std::string>> copyUpDirs(const std::vector<std::string> &dirs,
                                            const std::vector<std::string> &writable,
                                            const std::string &scratchDir);

// Makes path, an entry of a copied-up directory, an empty regular file (mode 0644) when it is
// a symlink or absent, so that a bind mount lands on it and not on the symlink's target (the
// host's file). A regular file is left as it is. Child. Fails "replace /etc/hosts with an empty
// file: <errno text>".
Status replaceWithEmptyFile(const std::string &path);

// True when a relative symlink target, read from a directory depth levels below a copied-up
// directory (depth >= 1), walks back up to the copied-up directory or above it (lexically:
// "." is ignored, ".." goes up one level, a name goes down one). Such a symlink resolves
// differently one level deeper, in the hidden copy. Pure; any process.
bool climbsToCopiedUpDir(const std::string &target, size_t depth);

// The directories (paths relative to root, without a leading "/") below the directory open at
// rootFd that copy-up recreates as real directories: those holding, at any depth, a symlink for
// which climbsToCopiedUpDir is true. Directories that cannot be read are not looked into. Does
// not take ownership of rootFd. Any process.
std::vector<std::string> dirsToRecreate(int rootFd);

}  // namespace rootlesskit
