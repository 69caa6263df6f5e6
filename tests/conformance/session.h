// One run of the plugin under test as rootlesskit would run it, step by step, with the checks
// the contract allows at each step. Internal to the suite.
//
// Order (sdk/README.md, section 3): parent-side create() of the network and port plugins; the
// child process; child create() and prepare_child(); configure_parent() with the child's PID;
// in the child lo up, configure_child() and the interface set-up; watch() on a thread;
// init_parent() with the context from the network message; child create(), init_child() and
// run_child(); run_parent() on a thread; echo servers in the child. stop() undoes it in reverse
// and then checks that nothing is left: no helper process, no descriptor.
//
// Without a network plugin the child has a network namespace with only lo and the port plugin
// gets an empty network message.
#pragma once

#include <sys/types.h>

#include <future>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "child_helper.h"
#include "driver_calls.h"
#include "echo.h"

namespace rkp::conformance {

struct SessionConfig {
    const rkp_plugin *net = nullptr;   // the network plugin, or NULL
    const rkp_plugin *port = nullptr;  // the port plugin, or NULL
    std::string netConfig = "{}";
    std::string portConfig = "{}";
};

// A plugin loop (run_parent, watch) on a thread of its own with its own quit eventfd.
class LoopThread {
public:
    ~LoopThread();
    bool running() const { return result_.valid(); }
    // Starts fn(quitFd) on a new thread; false when no eventfd could be made.
    bool start(std::function<CallResult(int)> fn);
    // Makes quit_fd readable and waits up to 10 s. The loop's result, or nullopt when it did not
    // return: the thread is then left behind (and its instance must not be destroyed).
    std::optional<CallResult> stop();

private:
    Fd quit_;
    std::future<CallResult> result_;
};

class Session {
public:
    Session(const SessionConfig &config, LogBook &book);
    ~Session();  // a session not stopped is torn down without checks
    Session(const Session &) = delete;
    Session &operator=(const Session &) = delete;

    // Runs every start step. false when one failed: failures() says which.
    bool start();
    // Runs every stop step and the leak checks. false when one failed.
    bool stop();

    // One line per failed step: "<step>: <what happened>".
    const std::vector<std::string> &failures() const { return failures_; }
    // Contract breaches seen in calls so far (not failures of the call itself).
    std::vector<std::string> takeProblems();

    bool started() const { return started_; }
    bool stopped() const { return stopped_; }
    Driver &port() { return *parentPort_; }
    Driver *net() { return parentNet_.get(); }
    ChildHelper &child() { return *child_; }
    const std::string &netmsg() const { return netmsg_; }
    uint16_t echoTcpPort() const { return echoTcp_; }
    uint16_t echoUdpPort() const { return echoUdp_; }

    // fd, opened by the test after start(), is not a descriptor stop() may call left behind.
    void allowDescriptor(int fd);

    // Records a failed call (or a failed suite step when error is set) under step: false when
    // it failed. The call's contract problems are kept either way.
    bool check(const std::string &step, const CallResult &result, const std::string &error = "");

private:
    bool startNetwork();
    bool startPort();
    std::string portContextOpaque(rkp_port_context *context);
    void stopPort();
    void stopNetwork();
    void checkNothingLeft();

    SessionConfig config_;
    LogBook &book_;
    NetParams params_;
    std::string stateDir_;
    std::unique_ptr<Driver> parentNet_;
    std::unique_ptr<Driver> parentPort_;
    std::unique_ptr<ChildHelper> child_;
    LoopThread watch_;
    LoopThread runParent_;
    std::string netmsg_ = "{}";
    std::string contextChildIp_;
    std::string contextGateway_;
    std::string contextOpaque_;
    bool childNetCreated_ = false;
    bool childPortCreated_ = false;
    bool childLoop_ = false;
    uint16_t echoTcp_ = 0;
    uint16_t echoUdp_ = 0;
    bool started_ = false;
    bool stopped_ = false;
    bool abandoned_ = false;
    std::set<std::string> fdsBefore_;
    std::vector<std::string> failures_;
    std::vector<std::string> problems_;
};

// The open descriptors of this process, as "<fd> -> <target>".
std::set<std::string> openDescriptors();

// The processes this process started and has not reaped, as "<pid> (<command>)".
std::vector<std::string> childProcesses();

}  // namespace rkp::conformance
