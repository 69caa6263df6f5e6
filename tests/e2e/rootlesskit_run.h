// One run of a rootlesskit binary (ours, or upstream's Go binary for comparison) in the
// background as the test user, with its own state directory, and what the port tests read from
// it: the API socket, the child's PID, the descriptors each process holds.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace rktest {

class RootlesskitRun {
public:
    // Starts "<binary> --state-dir=<new temporary dir>/state <flags...> <command...>" as the
    // test user. binary is a path (binPath("rootlesskit") for ours).
    RootlesskitRun(const std::string &binary, const std::vector<std::string> &flags,
                   const std::vector<std::string> &command);

    // Waits until the API socket accepts connections (ours listens only once every -p port
    // is published; upstream's once its start-up is done). False on timeout or when the run
    // ended first.
    bool waitApi(std::chrono::milliseconds timeout = std::chrono::milliseconds(20000));

    const std::string &stateDir() const { return stateDir_; }
    std::string apiSocket() const { return stateDir_ + "/api.sock"; }
    pid_t parentPid() const { return process_.pid(); }
    // The PID in STATE_DIR/child_pid; -1 when it cannot be read.
    pid_t childPid() const;
    BackgroundProcess &process() { return process_; }

    // Sends SIGTERM to the child, as upstream's integration tests stop a run, and waits for
    // the run to end.
    RunResult stop(std::chrono::milliseconds timeout = std::chrono::milliseconds(20000));

private:
    TempDir tmp_;
    std::string stateDir_;
    BackgroundProcess process_;
};

// Number of open descriptors of pid (entries of /proc/<pid>/fd); -1 when it cannot be read.
int countFds(pid_t pid);

// Whether a host program exists in the clean PATH the tests use.
bool haveProgram(const std::string &name);

}  // namespace rktest
