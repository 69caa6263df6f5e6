// ChildDialer: the child half's loop, dialing targets inside the namespace for the parent half.
#include "child_dialer.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>

#include <cerrno>
#include <cstdio>
#include <thread>

#include "rootlesskit/rkp.hpp"
#include "socket_address.h"

namespace rkbuiltin {

namespace {

// Requests handled per wake-up before the loop turns to other descriptors.
constexpr int kRequestBatch = 128;

std::string describe(const DialRequest &request, const SocketAddress &target) {
    return std::string(request.transport == kTransportTcp ? "dial tcp " : "dial udp ") +
           target.toString();
}

// A non-blocking close-on-exec socket for transport; invalid with errno set on failure.
Fd openSocket(uint32_t transport, int family) {
    bool tcp = transport == kTransportTcp;
    Fd s(socket(family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (s.valid() && tcp) {
        // Forwarders conventionally disable Nagle: the client already chose when to send.
        int one = 1;
        setsockopt(s.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    return s;
}

}  // namespace

class ChildDialer::Control : public EventHandler {
public:
    explicit Control(ChildDialer *dialer) : dialer_(dialer) {}
    void onEvents(uint32_t events) override { dialer_->onControlEvents(events); }

private:
    ChildDialer *dialer_;
};

// One TCP connect in progress.
class ChildDialer::Connect : public EventHandler {
public:
    Connect(ChildDialer *dialer, uint64_t id, Fd socket, std::string what)
        : dialer(dialer), id(id), socket(std::move(socket)), what(std::move(what)) {}
    void onEvents(uint32_t) override { dialer->finishConnect(this); }

    ChildDialer *dialer;
    uint64_t id;
    Fd socket;
    std::string what;
};

ChildDialer::ChildDialer(const rkp_host *host) : host_(host), transparent_(host) {}

ChildDialer::~ChildDialer() = default;

int ChildDialer::init(const std::string &socketPath, const char *netnsPath, bool sourceTransparent,
                      rkp_error *err) {
    transparent_.setEnabled(sourceTransparent);
    if (netnsPath != nullptr && netnsPath[0] != '\0') {
        netns_.reset(open(netnsPath, O_RDONLY | O_CLOEXEC));
        if (!netns_.valid()) {
            return rkp::setError(err, -errno, "open network namespace %s: %s", netnsPath,
                                 errnoText(errno).c_str());
        }
    }

    control_.reset(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    if (!control_.valid()) {
        return rkp::setError(err, -errno, "create control socket: %s", errnoText(errno).c_str());
    }
    int rc = connectUnix(control_.get(), socketPath);
    if (rc < 0) {
        return rkp::setError(err, rc, "connect to parent half %s: %s", socketPath.c_str(),
                             errnoText(rc).c_str());
    }
    // Connected first, blocking: the parent listens already, so this returns at once.
    fcntl(control_.get(), F_SETFL, fcntl(control_.get(), F_GETFL) | O_NONBLOCK);

    rkp::log(host_, RKP_LOG_DEBUG, "connected to parent half at %s", socketPath.c_str());
    return loop_.open(err);
}

int ChildDialer::run(int quitFd, rkp_error *err) {
    if (!netns_.valid()) {
        return serve(quitFd, err);
    }

    int rc = 0;
    std::thread worker([&] {
        if (setns(netns_.get(), CLONE_NEWNET) != 0) {
            rc = rkp::setError(err, -errno, "enter detached network namespace: %s",
                               errnoText(errno).c_str());
            return;
        }
        rc = serve(quitFd, err);
    });
    worker.join();
    return rc;
}

int ChildDialer::serve(int quitFd, rkp_error *err) {
    if (!control_.valid()) {
        return rkp::setError(err, -ENOTCONN, "run child half: not initialised");
    }
    controlHandler_ = std::make_unique<Control>(this);
    int rc =
        loop_.add(control_.get(), EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, controlHandler_.get());
    if (rc < 0) {
        return rkp::setError(err, rc, "watch control socket: %s", errnoText(rc).c_str());
    }

    rc = loop_.run(quitFd, *this, err);

    closeControl();
    for (auto &[key, connect] : connecting_) {
        loop_.remove(connect->socket.get());
    }
    connecting_.clear();
    return rc;
}

void ChildDialer::onControlEvents(uint32_t events) {
    if (events & EPOLLOUT) {
        flushReplies();
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        readRequests();
    }
}

void ChildDialer::readRequests() {
    for (int i = 0; i < kRequestBatch && control_.valid(); ++i) {
        DialRequest request;
        int rc = receiveRequest(control_.get(), &request);
        if (rc == 1) {
            dial(request);
            continue;
        }
        if (rc == -EAGAIN) {
            return;
        }
        if (rc == -EPROTO) {
            rkp::log(host_, RKP_LOG_WARN, "control channel: ignored a malformed request");
            continue;
        }
        rkp::log(host_, RKP_LOG_DEBUG, "control channel closed by the parent half%s%s",
                 rc < 0 ? ": " : "", rc < 0 ? errnoText(rc).c_str() : "");
        closeControl();
        return;
    }
    if (control_.valid()) {
        loop_.post(controlHandler_.get(), EPOLLIN);  // more may be queued; let others run first
    }
}

void ChildDialer::dial(const DialRequest &request) {
    int family = request.address.ss_family;
    if (request.addressLength > sizeof(sockaddr_storage) ||
        (family != AF_INET && family != AF_INET6) ||
        (request.transport != kTransportTcp && request.transport != kTransportUdp)) {
        queueReply(request.id, Fd(), -EINVAL, "dial: malformed request");
        return;
    }
    SocketAddress target = SocketAddress::fromRaw(
        reinterpret_cast<const sockaddr *>(&request.address), request.addressLength);

    SocketAddress client;
    if (request.sourceLength > 0 && request.sourceLength <= sizeof(sockaddr_storage)) {
        client = SocketAddress::fromRaw(reinterpret_cast<const sockaddr *>(&request.source),
                                        request.sourceLength);
    }
    Fd s = transparent_.open(request.transport, client, target);
    int rc = s.valid() ? startConnect(s, target) : -EBADF;
    if (s.valid() && rc < 0 && rc != -EINPROGRESS && rc != -ECONNREFUSED) {
        // For example the same client port still in TIME_WAIT inside: dial plainly instead.
        if (rkp::logEnabled(host_, RKP_LOG_TRACE)) {
            rkp::log(host_, RKP_LOG_TRACE, "transparent %s from %s failed, dialing plainly: %s",
                     describe(request, target).c_str(), client.toString().c_str(),
                     errnoText(rc).c_str());
        }
        s.reset();
    }
    if (!s.valid()) {
        s = openSocket(request.transport, family);
        if (!s.valid()) {
            int saved = errno;
            queueReply(request.id, Fd(), -saved,
                       describe(request, target) + ": socket: " + errnoText(saved));
            return;
        }
        rc = startConnect(s, target);
    }

    if (rc == 0) {
        queueReply(request.id, std::move(s), 0, "");
        return;
    }
    if (rc != -EINPROGRESS) {
        queueReply(request.id, Fd(), rc, describe(request, target) + ": " + errnoText(rc));
        return;
    }
    watchConnect(request.id, std::move(s), describe(request, target));
}

// 0, -EINPROGRESS or another negative errno.
int ChildDialer::startConnect(const Fd &socket, const SocketAddress &target) {
    return connect(socket.get(), target.raw(), target.length) == 0 ? 0 : -errno;
}

// Waits in the loop for a TCP connect in progress; finishConnect() answers.
void ChildDialer::watchConnect(uint64_t id, Fd socket, std::string what) {
    auto connect = std::make_unique<Connect>(this, id, std::move(socket), std::move(what));
    int rc = loop_.add(connect->socket.get(), EPOLLOUT | EPOLLONESHOT, connect.get());
    if (rc < 0) {
        queueReply(id, Fd(), rc, connect->what + ": " + errnoText(rc));
        return;
    }
    Connect *key = connect.get();
    connecting_.emplace(key, std::move(connect));
}

void ChildDialer::finishConnect(Connect *connect) {
    auto it = connecting_.find(connect);
    if (it == connecting_.end()) {
        return;
    }
    std::unique_ptr<Connect> owned = std::move(it->second);
    connecting_.erase(it);
    loop_.remove(owned->socket.get());

    int error = 0;
    socklen_t length = sizeof(error);
    if (getsockopt(owned->socket.get(), SOL_SOCKET, SO_ERROR, &error, &length) != 0) {
        error = errno;
    }
    if (error == 0) {
        queueReply(owned->id, std::move(owned->socket), 0, "");
    } else {
        queueReply(owned->id, Fd(), -error, owned->what + ": " + errnoText(error));
    }
    loop_.retire(std::move(owned));
}

void ChildDialer::queueReply(uint64_t id, Fd socket, int error, const std::string &message) {
    if (error != 0 && rkp::logEnabled(host_, RKP_LOG_TRACE)) {
        rkp::log(host_, RKP_LOG_TRACE, "request %llu: %s", static_cast<unsigned long long>(id),
                 message.c_str());
    }
    if (!control_.valid()) {
        return;  // nobody to answer any more; socket is closed here
    }
    Outgoing out;
    out.reply.id = id;
    out.reply.error = error;
    snprintf(out.reply.message, sizeof(out.reply.message), "%s", message.c_str());
    out.socket = std::move(socket);
    outbox_.push_back(std::move(out));
    flushReplies();
}

void ChildDialer::flushReplies() {
    while (!outbox_.empty() && control_.valid()) {
        Outgoing &out = outbox_.front();
        int rc = sendReply(control_.get(), out.reply, out.socket.get());
        if (rc == -EAGAIN) {
            return;  // EPOLLOUT (edge-triggered) calls back once the parent has read some
        }
        if (rc < 0) {
            rkp::log(host_, RKP_LOG_DEBUG, "control channel: send reply: %s",
                     errnoText(rc).c_str());
            closeControl();
            return;
        }
        outbox_.pop_front();  // closes our copy of the socket; the parent has its own now
    }
}

void ChildDialer::closeControl() {
    if (control_.valid()) {
        loop_.remove(control_.get());
        control_.reset();
    }
    outbox_.clear();
}

}  // namespace rkbuiltin
