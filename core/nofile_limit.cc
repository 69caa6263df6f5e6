// The open-files limit of a run: raised for rootlesskit, restored for the command.
#include "core/nofile_limit.h"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>

#include "core/log.h"

namespace rootlesskit {

namespace {

// Written once by raiseNofileLimit() before any thread or child exists, read-only afterwards.
struct rlimit originalLimit = {};
bool raised = false;

}  // namespace

void raiseNofileLimit() {
    struct rlimit limit = {};
    if (getrlimit(RLIMIT_NOFILE, &limit) < 0) {
        logger("core")->debug("getrlimit RLIMIT_NOFILE: {}", std::strerror(errno));
        return;
    }
    if (limit.rlim_cur == limit.rlim_max) {
        return;
    }

    struct rlimit wanted = limit;
    wanted.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &wanted) < 0) {
        logger("core")->debug("setrlimit RLIMIT_NOFILE {}: {}", limit.rlim_max,
                              std::strerror(errno));
        return;
    }
    originalLimit = limit;
    raised = true;
    logger("core")->debug("open files limit raised from {} to {}", limit.rlim_cur, limit.rlim_max);
}

void restoreNofileLimit() {
    if (raised) {
        // setrlimit is a plain system call; a failure leaves the command with the raised
        // limit, which is harmless.
        setrlimit(RLIMIT_NOFILE, &originalLimit);
    }
}

}  // namespace rootlesskit
