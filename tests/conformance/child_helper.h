// The child half of a conformance run: a process forked from the suite (as rootlesskit's child
// is cloned from its parent, without exec), in new user and network namespaces with the caller
// mapped to root, that makes the plugins' child-side calls on request.
//
// Theory of operation: spawn() forks after the parent-side instances exist, as the host does.
// The child unshares, writes its ID maps, reports ready, and then serves requests one at a
// time on a SOCK_SEQPACKET pair: each request is a JSON object {"op": ..., args}, each reply a
// JSON object with the call's result (rc, message, output, problems), any op-specific members,
// "error" when the suite itself could not do its part, and the log lines the plugins wrote since
// the last reply. The child's port loop runs on a thread of its own there, as in rootlesskit.
// The child dies with the suite (PR_SET_PDEATHSIG) and always leaves through _exit().
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include <Poco/JSON/Object.h>

#include "driver_calls.h"
#include "echo.h"

namespace rkp::conformance {

struct ChildSetup {
    const rkp_plugin *net = nullptr;   // NULL: no network plugin
    const rkp_plugin *port = nullptr;  // NULL: no port plugin
    std::string netConfig = "{}";
    std::string portConfig = "{}";
    NetParams params;  // the child's calls get them with child_pid 0
    uint32_t printLevel = RKP_LOG_WARN;
};

struct Reply {
    CallResult result;             // of the plugin call the op made, if any
    std::string error;             // the suite's own part failed (set-up, transport): why
    Poco::JSON::Object::Ptr body;  // the whole reply, for op-specific members
};

class ChildHelper {
public:
    // Forks the child and waits until it is ready. nullptr, with *error set, when it could not
    // start or enter its namespaces. Call with no plugin loop running in this process.
    static std::unique_ptr<ChildHelper> spawn(const ChildSetup &setup, LogBook &book,
                                              std::string *error);
    ~ChildHelper();  // SIGKILLs and reaps a child that has not exited
    ChildHelper(const ChildHelper &) = delete;
    ChildHelper &operator=(const ChildHelper &) = delete;

    pid_t pid() const { return pid_; }

    // Sends one request and waits for its reply, at most 60 s. The child's log lines go into
    // the book. Ops: net.create, net.prepare, net.configure {netmsg} (replies {netmsg}: lo up,
    // configure_child, then the interface set-up the host would do), net.check {dev, ip},
    // net.teardown, net.destroy, lo.up, port.create, port.init {opaque}, port.run (starts
    // run_child on a thread), port.stop (makes its quit_fd readable and waits 10 s for
    // run_child), port.destroy, echo.start (replies {tcp, udp}: the echo servers' ports).
    Reply call(const std::string &op, const Poco::JSON::Object::Ptr &args = nullptr);

    // Asks the child to exit and reaps it: "" or what went wrong.
    std::string exit();

private:
    ChildHelper(pid_t pid, Fd channel, LogBook &book)
        : pid_(pid), channel_(std::move(channel)), book_(book) {}
    pid_t pid_;
    Fd channel_;
    LogBook &book_;
};

// "" when this process may create user and network namespaces as the child does; else why
// not. Forks once and remembers the answer.
const std::string &namespaceSupport();

}  // namespace rkp::conformance
