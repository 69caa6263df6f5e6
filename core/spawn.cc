// Helper programs with captured output: fork, exec, read the pipe to EOF, reap.
#include "core/spawn.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <sstream>

#include "core/signals.h"
#include "core/unique_fd.h"

namespace rootlesskit {

namespace {

constexpr const char *kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

bool isExecutableFile(const std::string &path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

// Runs in the forked helper: only async-signal-safe calls until execv.
[[noreturn]] void execHelper(const std::string &path, char *const argv[], int devNull, int out) {
    resetSignalsForExec();
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (dup2(devNull, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) {
        _exit(127);
    }
    execv(path.c_str(), argv);
    _exit(127);
}

std::string readAll(int fd) {
    std::string output;
    char chunk[4096];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n > 0) {
            output.append(chunk, static_cast<size_t>(n));
        } else if (n == 0 || errno != EINTR) {
            return output;
        }
    }
}

}  // namespace

Result<std::string> lookPath(const std::string &name, const char *pathEnv) {
    if (name.find('/') != std::string::npos) {
        return name;
    }
    std::stringstream dirs(pathEnv != nullptr ? pathEnv : kDefaultPath);
    std::string dir;
    while (!name.empty() && std::getline(dirs, dir, ':')) {
        // An empty $PATH element means the current directory, as in execvp.
        std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
        if (isExecutableFile(candidate)) {
            return candidate;
        }
    }
    return Status::error("exec: \"" + name + "\": executable file not found in $PATH", ENOENT);
}

Result<CapturedRun> runCaptured(const std::vector<std::string> &argv) {
    Result<std::string> path = lookPath(argv.at(0), std::getenv("PATH"));
    if (!path) {
        return path.status();
    }
    std::vector<std::string> args = argv;
    std::vector<char *> cargs;
    for (std::string &arg : args) {
        cargs.push_back(arg.data());
    }
    cargs.push_back(nullptr);

    UniqueFd devNull(open("/dev/null", O_RDONLY | O_CLOEXEC));
    int fds[2];
    if (!devNull.valid() || pipe2(fds, O_CLOEXEC) < 0) {
        return Status::error("start " + argv[0] + ": " + errnoText(errno), errno);
    }
    UniqueFd readEnd(fds[0]);
    UniqueFd writeEnd(fds[1]);

    pid_t pid = fork();
    if (pid < 0) {
        return Status::error("start " + argv[0] + ": " + errnoText(errno), errno);
    }
    if (pid == 0) {
        execHelper(*path, cargs.data(), devNull.get(), writeEnd.get());
    }
    writeEnd.reset();

    CapturedRun run;
    run.output = readAll(readEnd.get());
    while (waitpid(pid, &run.status, 0) < 0 && errno == EINTR) {
    }
    return run;
}

}  // namespace rootlesskit
