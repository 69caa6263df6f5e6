// Running short helper programs (newuidmap, newgidmap, getsubids) with their output captured, and
// the PATH lookup shared with the launch of the user's command.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace rootlesskit {

// Resolves name like execvp(3) does, in pathEnv (a $PATH value; nullptr means the default
// "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"). A name containing '/' is
// returned unchanged. Fails with ENOENT and upstream's text
// `exec: "<name>": executable file not found in $PATH`.
Result<std::string> lookPath(const std::string &name, const char *pathEnv);

struct CapturedRun {
    int status = 0;      // the wait status (see signals.h: waitStatusText)
    std::string output;  // stdout and stderr together, in the order they were written
};

// Runs argv (argv[0] looked up in this process's $PATH) with stdin on /dev/null, stdout and
// stderr on one pipe, default signal dispositions, an empty signal mask and PR_SET_PDEATHSIG
// SIGKILL, in this process's environment; waits for it to exit. A non-zero exit is not an error
// here: the caller reads status. Fails only when the program cannot be found or started.
// Blocks the calling thread; MAY be called from any thread of either process. The helper MUST
// exit on its own: a helper that leaves a descendant holding its output blocks the call.
Result<CapturedRun> runCaptured(const std::vector<std::string> &argv);

}  // namespace rootlesskit
