// One rootlesskit run in the background for the port tests (rootlesskit_run.h).
#include "tests/e2e/rootlesskit_run.h"

#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/e2e/net_clients.h"

namespace rktest {

namespace {

std::vector<std::string> makeArgv(const std::string &binary, const std::string &stateDir,
                                  const std::vector<std::string> &flags,
                                  const std::vector<std::string> &command) {
    std::vector<std::string> argv = {binary, "--state-dir=" + stateDir};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.insert(argv.end(), command.begin(), command.end());
    return argv;
}

}  // namespace

RootlesskitRun::RootlesskitRun(const std::string &binary, const std::vector<std::string> &flags,
                               const std::vector<std::string> &command)
    : stateDir_(tmp_.path() + "/state"), process_(makeArgv(binary, stateDir_, flags, command)) {}

bool RootlesskitRun::waitApi(std::chrono::milliseconds timeout) {
    return waitFor([this] { return !process_.running() || unixSocketAccepts(apiSocket()); },
                   timeout) &&
           process_.running();
}

pid_t RootlesskitRun::childPid() const {
    std::ifstream in(stateDir_ + "/child_pid");
    long pid = -1;
    in >> pid;
    return in ? static_cast<pid_t>(pid) : -1;
}

RunResult RootlesskitRun::stop(std::chrono::milliseconds timeout) {
    pid_t child = childPid();
    if (child > 0) {
        kill(child, SIGTERM);
    } else {
        process_.signal(SIGTERM);
    }
    return process_.wait(timeout);
}

int countFds(pid_t pid) {
    std::error_code ec;
    std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec);
    if (ec) {
        return -1;
    }
    int count = 0;
    for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
        if (ec) {
            return -1;
        }
        ++count;
    }
    return count;
}

bool haveProgram(const std::string &name) {
    std::string check =
        "PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin command -v " + name + " >/dev/null 2>&1";
    return std::system(check.c_str()) == 0;
}

}  // namespace rktest
