// Test support: run the real binaries the way a user would, as the unprivileged test user, and
// look at what they did. Used by the end-to-end tests only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rktest {

// Path of a program built by this tree ("rootlesskit", "rootlessctl").
std::string binPath(const std::string &program);

// The unprivileged user the end-to-end tests run as: $ROOTLESSKIT_TEST_USER, default "rktest".
// When the tests themselves run unprivileged, that is the current user.
struct TestUser {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
    std::string home;
};

// Looks the test user up. std::nullopt (with reason filled) when there is none, when we are
// root and it does not exist, or when it has no /etc/subuid entry: callers GTEST_SKIP with it.
std::optional<TestUser> testUser(std::string *reason);

// A second unprivileged user for the tests that need one who is not the test user (and has no
// /etc/subuid entry): $ROOTLESSKIT_TEST_USER2, default "rktest2" (scripts/setup.sh creates it).
// std::nullopt (with reason filled) when the tests do not run as root, or the user does not
// exist, is the test user, or has a subuid entry.
std::optional<TestUser> secondUser(std::string *reason);

struct RunResult {
    int exitCode = -1;  // exit status, or 128+signal when killed, or -1 on timeout
    bool timedOut = false;
    std::string out;
    std::string err;
};

struct RunOptions {
    std::map<std::string, std::string> env;  // added to a clean PATH/HOME/USER environment
    std::string stdinText;
    std::string cwd = "/";
    std::chrono::milliseconds timeout{30000};
    // Run as this user (a name) instead of the test user; only when the tests run as root.
    std::string user;
};

// Runs argv as the test user (dropping privileges when root; directly otherwise), collects
// stdout and stderr, and waits up to the timeout (then SIGKILLs the process group).
RunResult runAsTestUser(const std::vector<std::string> &argv, const RunOptions &options = {});

// A process started in the background as the test user; on destruction, if still running, it
// gets SIGTERM, then after 2 s SIGKILL to its process group, and is reaped.
class BackgroundProcess {
public:
    BackgroundProcess(const std::vector<std::string> &argv, const RunOptions &options = {});
    ~BackgroundProcess();
    BackgroundProcess(const BackgroundProcess &) = delete;
    BackgroundProcess &operator=(const BackgroundProcess &) = delete;

    pid_t pid() const { return pid_; }
    bool running();
    // Sends sig to the process itself (not its group).
    void signal(int sig);
    // Waits for exit up to timeout; collects output.
    RunResult wait(std::chrono::milliseconds timeout = std::chrono::milliseconds(30000));
    // Output collected so far (stderr).
    std::string errSoFar();

private:
    pid_t pid_ = -1;
    int outFd_ = -1;
    int errFd_ = -1;
    std::string out_;
    std::string err_;
    std::optional<RunResult> result_;
    void drain(bool block);
};

// Polls until pred() is true or the deadline passes; returns pred()'s last value. For waiting
// on files and sockets that a process creates, never as a stand-in for synchronisation.
bool waitFor(const std::function<bool()> &pred,
             std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

// A temporary directory readable and writable by the test user, removed recursively on
// destruction. Short path (under /tmp) so unix socket paths inside it stay short.
class TempDir {
public:
    TempDir();
    ~TempDir();
    const std::string &path() const { return path_; }

private:
    std::string path_;
};

}  // namespace rktest
