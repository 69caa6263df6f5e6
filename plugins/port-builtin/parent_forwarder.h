// ParentForwarder: the parent half of the builtin port driver, the event loop that owns every
// published port, its connections and flows, and the control channel to the child half.
//
// Theory of operation
// -------------------
// Processes: the parent half runs in rootlesskit's parent process, on the host's network
// namespace; the child half (ChildDialer) runs in the child process, whose sockets live in the
// namespace. They share only the control socket path (the opaque object).
//
// States: init() listens on the control socket <state dir>/.bp.sock before the child exists, so
// the child's connect can never come too early. run() owns the loop until quit_fd is readable.
// Ports can be added and removed before run(), during it and after it.
//
// Threads: run() is the loop thread and owns all state while it runs. addPort() and
// removePort() come from API threads (the host serialises them): they open the listener on their
// own thread (so bind errors are returned directly), then hand a Command to the loop through a
// queue and an eventfd, and wait for the loop to have applied it. When no loop is running they
// apply the Command themselves under the same mutex, so the state always has one owner.
//
// Dialing: each accepted connection or new UDP flow becomes one DialRequest on the single
// control connection, tagged with a request id; the reply brings the connected socket (or the
// child's error text, which is logged, rate-limited). A request with no answer after
// Config::dialTimeoutMs fails, which also covers a child that never connected.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "control_protocol.h"
#include "event_loop.h"
#include "port_forwarder.h"
#include "rootlesskit/rkp.h"
#include "splice_pump.h"

namespace rkbuiltin {

class ParentForwarder : private DialService, private EventLoop::Hooks {
public:
    struct Config {
        uint64_t udpIdleTimeoutMs = 90000;
        uint64_t dialTimeoutMs = 30000;
        size_t pipeSize = 1 << 20;
    };

    // host is borrowed and MUST outlive the forwarder.
    ParentForwarder(const rkp_host *host, const Config &config);
    ~ParentForwarder() override;
    ParentForwarder(const ParentForwarder &) = delete;
    ParentForwarder &operator=(const ParentForwarder &) = delete;

    // Host main thread, once. Creates the loop and listens on socketPath (replacing a stale file)
    // for the child half. 0 or a negative errno with err filled.
    int init(const std::string &socketPath, rkp_error *err);

    // The loop; returns 0 once quitFd (host-owned) is readable, after closing every port,
    // connection and flow. A negative errno with err filled if epoll fails.
    int run(int quitFd, rkp_error *err);

    // API thread. Takes plan (its listener already listening) and starts forwarding it. -EEXIST
    // when the id is in use. Returns once the loop owns the port.
    int addPort(PortPlan plan, rkp_error *err);

    // API thread. Closes the port's listener and all its connections and flows, then returns.
    // -ENOENT "unknown id: N" when there is no such port.
    int removePort(uint64_t id, rkp_error *err);

private:
    struct Command {
        enum class Kind { Add, Remove } kind = Kind::Add;
        PortPlan plan;
        uint64_t id = 0;
        int result = 0;
        std::string message;
        bool done = false;
    };
    struct Pending {
        uint64_t portId;
        uint64_t token;
        uint32_t transport;
        SocketAddress target;
        uint64_t deadlineMs;
    };
    // An EventHandler calling a member function.
    class Callback : public EventHandler {
    public:
        explicit Callback(std::function<void(uint32_t)> fn) : fn_(std::move(fn)) {}
        void onEvents(uint32_t events) override { fn_(events); }

    private:
        std::function<void(uint32_t)> fn_;
    };

    int execute(Command &command, rkp_error *err);
    void apply(Command &command);
    void applyAdd(Command &command);
    void applyRemove(Command &command);
    void onWake();
    void onControlListener();
    void onControlEvents(uint32_t events);
    void readReplies();
    void deliver(uint64_t requestId, Fd socket, int error, const std::string &message);
    void flushRequests();
    void dropControl(const std::string &why);
    void expirePending(uint64_t nowMs);
    void shutdownAll();

    void requestDial(uint64_t portId, uint64_t token, uint32_t transport,
                     const SocketAddress &target, const SocketAddress &source) override;
    void wantSweepAt(uint64_t deadlineMs) override;
    int64_t nextDeadlineMs() override;
    void afterEvents(uint64_t nowMs) override;

    const rkp_host *host_;
    Config config_;
    EventLoop loop_;
    PipePool pipes_;
    std::unique_ptr<UdpBuffers> udp_;
    ForwarderContext ctx_;

    std::string socketPath_;
    Fd controlListener_;
    Fd control_;
    Fd wake_;
    Callback wakeHandler_;
    Callback listenerHandler_;
    Callback controlHandler_;

    std::map<uint64_t, std::unique_ptr<PortForwarder>> ports_;
    std::map<uint64_t, Pending> pending_;  // by request id, so also by deadline
    std::deque<DialRequest> outbox_;
    uint64_t nextRequestId_ = 1;
    uint64_t nextSweepMs_ = UINT64_MAX;

    std::mutex mutex_;
    std::condition_variable applied_;
    bool running_ = false;
    std::deque<Command *> queue_;
};

}  // namespace rkbuiltin
