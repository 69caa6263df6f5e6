// TcpPort and TcpRelay: accepting, dialing through the child half, and splicing TCP streams.
#include "tcp_port.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>

#include "control_protocol.h"
#include "rootlesskit/rkp.hpp"

namespace rkbuiltin {

namespace {

constexpr uint32_t kRelayEvents = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
constexpr size_t kPumpBudget = 1 << 20;  // bytes per direction before yielding
constexpr int kAcceptBatch = 64;
constexpr uint64_t kAcceptBackoffMs = 100;

// Makes the next close() send a reset instead of a FIN.
void armReset(int socket) {
    linger abortive{1, 0};
    setsockopt(socket, SOL_SOCKET, SO_LINGER, &abortive, sizeof(abortive));
}

}  // namespace

TcpRelay::TcpRelay(ForwarderContext &ctx, Owner &owner, Fd client, Fd backend)
    : ctx_(ctx), owner_(owner), endpoints_{Endpoint(this, kClient), Endpoint(this, kBackend)} {
    sockets_[kClient] = std::move(client);
    sockets_[kBackend] = std::move(backend);
}

int TcpRelay::start() {
    for (Side side : {kClient, kBackend}) {
        int rc = ctx_.loop.add(sockets_[side].get(), kRelayEvents, &endpoints_[side]);
        if (rc < 0) {
            abort(-rc, side);
            return rc;
        }
    }
    // The client may have sent, or even closed, before the backend existed: look now.
    pump(kClient);
    if (!closed_) {
        pump(kBackend);
    }
    return 0;
}

void TcpRelay::onEvents(Side side, uint32_t events) {
    if (closed_) {
        return;
    }
    Side other = side == kClient ? kBackend : kClient;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        pump(side);  // side has data, EOF or an error to read
    }
    // Writability matters only to a direction holding bytes for this side; TCP reports it on
    // most ACKs, so skip the pointless splice otherwise.
    bool waitingToWrite = pumps_[other].buffered() > 0;
    if (!closed_ && ((events & EPOLLOUT && waitingToWrite) || (events & (EPOLLHUP | EPOLLERR)))) {
        pump(other);
    }
}

void TcpRelay::pump(Side source) {
    Side sink = source == kClient ? kBackend : kClient;
    SplicePump &p = pumps_[source];
    switch (p.pump(sockets_[source].get(), sockets_[sink].get(), ctx_.pipes, kPumpBudget)) {
        case SplicePump::Result::Blocked:
            return;
        case SplicePump::Result::Yielded:
            ctx_.loop.post(&endpoints_[source], EPOLLIN);
            return;
        case SplicePump::Result::Finished:
            if (pumps_[sink].finished()) {
                finish();
            }
            return;
        case SplicePump::Result::Failed:
            abort(p.error(), p.sinkFailed() ? sink : source);
            return;
    }
}

void TcpRelay::abort(int error, Side failed) {
    if (rkp::logEnabled(ctx_.host, RKP_LOG_TRACE)) {
        rkp::log(ctx_.host, RKP_LOG_TRACE, "connection reset after %s on the %s side",
                 errnoText(error).c_str(), failed == kClient ? "client" : "backend");
    }
    armReset(sockets_[kClient].get());
    armReset(sockets_[kBackend].get());
    close();
    owner_.onRelayClosed(this);
}

void TcpRelay::finish() {
    if (rkp::logEnabled(ctx_.host, RKP_LOG_TRACE)) {
        rkp::log(ctx_.host, RKP_LOG_TRACE, "connection closed by both sides");
    }
    close();
    owner_.onRelayClosed(this);
}

void TcpRelay::close() {
    if (closed_) {
        return;
    }
    closed_ = true;
    for (Side side : {kClient, kBackend}) {
        pumps_[side].discard(ctx_.pipes);
        ctx_.loop.remove(sockets_[side].get());
        sockets_[side].reset();
    }
}

TcpPort::TcpPort(ForwarderContext &ctx, PortPlan plan) : ctx_(ctx), plan_(std::move(plan)) {}

TcpPort::~TcpPort() {
    stop();
}

int TcpPort::start() {
    return ctx_.loop.add(plan_.listener.get(), EPOLLIN, this);
}

void TcpPort::stop() {
    if (plan_.listener.valid()) {
        ctx_.loop.remove(plan_.listener.get());
        plan_.listener.reset();
    }
    waiting_.clear();
    for (auto &[key, relay] : relays_) {
        relay->close();
        ctx_.loop.retire(std::move(relay));
    }
    relays_.clear();
}

void TcpPort::onEvents(uint32_t) {
    for (int i = 0; i < kAcceptBatch; ++i) {
        if (!acceptOne()) {
            return;
        }
    }
}

// Accepts one client and asks for its backend. False when there is nothing more to accept now.
bool TcpPort::acceptOne() {
    sockaddr_storage peer{};
    socklen_t peerLength = sizeof(peer);
    int fd = accept4(plan_.listener.get(), reinterpret_cast<sockaddr *>(&peer), &peerLength,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        switch (errno) {
            case EAGAIN:
                return false;
            case EINTR:
            case ECONNABORTED:
            case EPROTO:
                return true;
            default:
                pauseAccepting(errno);
                return false;
        }
    }
    Fd client(fd);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    uint64_t token = nextToken_++;
    waiting_.emplace(token, std::move(client));
    if (rkp::logEnabled(ctx_.host, RKP_LOG_TRACE)) {
        rkp::log(ctx_.host, RKP_LOG_TRACE, "%s: accepted connection %llu", plan_.name.c_str(),
                 static_cast<unsigned long long>(token));
    }
    SocketAddress source = SocketAddress::fromRaw(reinterpret_cast<sockaddr *>(&peer), peerLength);
    ctx_.dialer.requestDial(plan_.id, token, kTransportTcp, plan_.target, source);
    return true;
}

// Out of descriptors or memory: stop watching the listener (it stays open, clients queue in the
// backlog) and let sweep() resume it, so existing connections keep being served meanwhile.
void TcpPort::pauseAccepting(int error) {
    ctx_.loop.modify(plan_.listener.get(), 0, this);
    resumeAtMs_ = ctx_.loop.nowMs() + kAcceptBackoffMs;
    ctx_.dialer.wantSweepAt(resumeAtMs_);

    uint64_t suppressed = 0;
    if (acceptWarnings_.allow(ctx_.loop.nowMs(), &suppressed)) {
        rkp::log(ctx_.host, RKP_LOG_WARN, "%s: accept: %s; pausing new connections for %llu ms%s",
                 plan_.name.c_str(), errnoText(error).c_str(),
                 static_cast<unsigned long long>(kAcceptBackoffMs),
                 Throttle::note(suppressed).c_str());
    }
}

void TcpPort::sweep(uint64_t nowMs) {
    if (resumeAtMs_ == 0 || !plan_.listener.valid()) {
        return;
    }
    if (nowMs < resumeAtMs_) {
        ctx_.dialer.wantSweepAt(resumeAtMs_);
        return;
    }
    resumeAtMs_ = 0;
    ctx_.loop.modify(plan_.listener.get(), EPOLLIN, this);
}

void TcpPort::onDialResult(uint64_t token, Fd backend, int error, const std::string &message) {
    auto it = waiting_.find(token);
    if (it == waiting_.end()) {
        return;  // the port was stopped meanwhile; backend closes here
    }
    Fd client = std::move(it->second);
    waiting_.erase(it);

    if (error != 0) {
        uint64_t suppressed = 0;
        if (dialWarnings_.allow(ctx_.loop.nowMs(), &suppressed)) {
            rkp::log(ctx_.host, RKP_LOG_WARN, "%s: %s%s", plan_.name.c_str(), message.c_str(),
                     Throttle::note(suppressed).c_str());
        }
        armReset(client.get());  // the client learns the connection failed, as with a refusal
        return;
    }

    TcpRelay::Owner &owner = *this;
    auto relay = std::make_unique<TcpRelay>(ctx_, owner, std::move(client), std::move(backend));
    TcpRelay *key = relay.get();
    relays_.emplace(key, std::move(relay));
    key->start();
}

void TcpPort::onRelayClosed(TcpRelay *relay) {
    auto it = relays_.find(relay);
    if (it != relays_.end()) {
        ctx_.loop.retire(std::move(it->second));
        relays_.erase(it);
    }
}

}  // namespace rkbuiltin
