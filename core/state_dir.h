// StateDir: the state directory of one run (child_pid, api.sock, lock, driver files), its locks
// and its removal.
//
// Lifecycle: open() creates the directory (a fresh temporary one, or the --state-dir given),
// takes a shared flock on the directory itself (so that tmpfiles cleaners leave a /tmp directory
// alone) and an exclusive flock on <dir>/lock (so that two runs never share one directory), and
// deletes every other entry left by a run that was killed. The locks are held until the object
// is destroyed, which removes the whole directory, as upstream does, also a --state-dir one.
// Runs in the parent, on the main thread.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/unique_fd.h"

namespace rootlesskit {

class StateDir;
using StateDirPtr = std::unique_ptr<StateDir>;

class StateDir {
public:
    // requested == "": mkdtemp("$TMPDIR/rootlesskitXXXXXX", or under /tmp), mode 0700.
    // Otherwise requested is made absolute and created with its parents (mode 0755); once
    // locked, the directory itself is set to mode 0700, so that no other user can list it or
    // reach the sockets in it (upstream leaves it 0755).
    // Fails "failed to lock <dir>/lock, another RootlessKit is running with the same state
    // directory?" when another run holds it (leaving the directory untouched), or
    // "<operation> <path>: <errno text>". A temporary directory is removed again on failure.
    static Result<StateDirPtr> open(const std::string &requested);

    // Removes the directory and everything in it, in the process that opened it only: a copy
    // inherited through clone() does nothing.
    ~StateDir();
    StateDir(const StateDir &) = delete;
    StateDir &operator=(const StateDir &) = delete;

    // The absolute path of the directory.
    const std::string &path() const { return path_; }

    // path() + "/" + name.
    std::string file(const std::string &name) const { return path_ + "/" + name; }

    // The descriptors that hold the locks. A process created by clone() without exec MUST close
    // its copies at once: a flock lasts until the last descriptor of it is closed, and the next
    // run on this directory must not find it held by a child that is still dying.
    std::vector<int> lockDescriptors() const { return {dirFd_.get(), lockFd_.get()}; }

private:
    StateDir(std::string path, bool temporary);
    Status lock();
    Status clearStale();

    std::string path_;
    bool temporary_;
    pid_t owner_;
    UniqueFd dirFd_;   // shared flock on the directory
    UniqueFd lockFd_;  // exclusive flock on <dir>/lock
};

}  // namespace rootlesskit
