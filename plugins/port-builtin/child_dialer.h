// ChildDialer: the child half of the builtin port driver. It connects to the parent half's
// control socket and, for each request, dials the target inside the network namespace and
// passes the connected socket back.
//
// Theory of operation: init() connects the control channel (the parent listens since
// init_parent, so this cannot race). run() is an epoll loop on the host's child-side thread:
// every request starts a non-blocking connect(), from the client's own address when source IP
// transparency applies (TransparentSource), else from a namespace-local one; a transparent
// socket that cannot even start its connect is replaced by a plain one. A TCP connect in
// progress is watched for writability, and its outcome (the socket, or "dial tcp
// 127.0.0.1:80: connection refused") is queued as a reply. Replies go out in completion order;
// when the control socket is full they wait, holding their sockets, until it drains. No dial
// blocks the loop, so a slow target does not delay the others. With --detach-netns, run()
// starts one thread that enters the detached namespace (setns applies to the calling thread
// only) and runs the loop there, because the host's thread could not return to its original
// namespace afterwards.
//
// Threads: init() on the host's main thread, run() on the child loop thread; never both at once.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>

#include "control_protocol.h"
#include "event_loop.h"
#include "fd.h"
#include "rootlesskit/rkp.h"
#include "transparent_source.h"

namespace rkbuiltin {

class ChildDialer : private EventLoop::Hooks {
public:
    // host is borrowed and MUST outlive the dialer.
    explicit ChildDialer(const rkp_host *host);
    ~ChildDialer() override;

    // Connects to the parent's control socket at socketPath. netnsPath, when not NULL, is the
    // detached network namespace the dials must happen in; it is opened now (its descriptor is
    // owned by the dialer). With sourceTransparent, dials come from the client's address where
    // the kernel allows it (transparent_source.h). 0 or a negative errno with err filled.
    int init(const std::string &socketPath, const char *netnsPath, bool sourceTransparent,
             rkp_error *err);

    // Serves requests until quitFd (host-owned) is readable; then closes everything and returns
    // 0. A negative errno with err filled when the loop cannot run at all.
    int run(int quitFd, rkp_error *err);

private:
    class Control;
    class Connect;

    int serve(int quitFd, rkp_error *err);
    void onControlEvents(uint32_t events);
    void readRequests();
    void dial(const DialRequest &request);
    int startConnect(const Fd &socket, const SocketAddress &target);
    void watchConnect(uint64_t id, Fd socket, std::string what);
    void finishConnect(Connect *connect);
    void queueReply(uint64_t id, Fd socket, int error, const std::string &message);
    void flushReplies();
    void closeControl();

    int64_t nextDeadlineMs() override { return transparent_.nextSweepMs(); }
    void afterEvents(uint64_t nowMs) override { transparent_.sweep(nowMs); }

    struct Outgoing {
        DialReply reply;
        Fd socket;
    };

    const rkp_host *host_;
    EventLoop loop_;
    Fd control_;
    Fd netns_;
    TransparentSource transparent_;
    std::unique_ptr<Control> controlHandler_;
    std::unordered_map<Connect *, std::unique_ptr<Connect>> connecting_;
    std::deque<Outgoing> outbox_;
};

}  // namespace rkbuiltin
