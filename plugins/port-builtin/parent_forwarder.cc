// ParentForwarder: the parent half's loop, command queue and control channel.
#include "parent_forwarder.h"

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "rootlesskit/rkp.hpp"
#include "socket_address.h"
#include "tcp_port.h"
#include "udp_port.h"

namespace rkbuiltin {

namespace {

constexpr int kReplyBatch = 256;  // replies handled per wake-up before other work runs

std::string describeDial(uint32_t transport, const SocketAddress &target) {
    return std::string(transport == kTransportTcp ? "dial tcp " : "dial udp ") + target.toString();
}

}  // namespace

ParentForwarder::ParentForwarder(const rkp_host *host, const Config &config)
    : host_(host),
      config_(config),
      pipes_(config.pipeSize),
      udp_(std::make_unique<UdpBuffers>()),
      ctx_{host, loop_, pipes_, *this, *udp_, config.udpIdleTimeoutMs},
      wakeHandler_([this](uint32_t) { onWake(); }),
      listenerHandler_([this](uint32_t) { onControlListener(); }),
      controlHandler_([this](uint32_t events) { onControlEvents(events); }) {}

ParentForwarder::~ParentForwarder() {
    shutdownAll();
    if (controlListener_.valid()) {
        unlink(socketPath_.c_str());
    }
}

int ParentForwarder::init(const std::string &socketPath, rkp_error *err) {
    int rc = loop_.open(err);
    if (rc < 0) {
        return rc;
    }
    wake_.reset(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!wake_.valid()) {
        return rkp::setError(err, -errno, "create eventfd: %s", errnoText(errno).c_str());
    }

    // A file left by an earlier run in the same state directory would make bind fail.
    unlink(socketPath.c_str());
    Fd listener(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!listener.valid()) {
        return rkp::setError(err, -errno, "create control socket: %s", errnoText(errno).c_str());
    }
    rc = bindUnix(listener.get(), socketPath);
    if (rc == 0 && chmod(socketPath.c_str(), 0600) != 0) {
        rc = -errno;
    }
    if (rc == 0 && listen(listener.get(), 8) != 0) {
        rc = -errno;
    }
    if (rc < 0) {
        return rkp::setError(err, rc, "listen on control socket %s: %s", socketPath.c_str(),
                             errnoText(rc).c_str());
    }
    socketPath_ = socketPath;
    controlListener_ = std::move(listener);

    loop_.add(wake_.get(), EPOLLIN, &wakeHandler_);
    loop_.add(controlListener_.get(), EPOLLIN, &listenerHandler_);
    return 0;
}

int ParentForwarder::run(int quitFd, rkp_error *err) {
    if (!wake_.valid()) {
        return rkp::setError(err, -EINVAL, "run parent half: not initialised");
    }
    {
        std::lock_guard<std::mutex> lock(mutex_);
        running_ = true;
    }

    int rc = loop_.run(quitFd, *this, err);

    // From here on callers apply their commands themselves; serve the ones already queued.
    std::lock_guard<std::mutex> lock(mutex_);
    running_ = false;
    for (Command *command : queue_) {
        apply(*command);
        command->done = true;
    }
    queue_.clear();
    applied_.notify_all();
    shutdownAll();
    return rc;
}

int ParentForwarder::addPort(PortPlan plan, rkp_error *err) {
    Command command;
    command.kind = Command::Kind::Add;
    command.id = plan.id;
    command.plan = std::move(plan);
    return execute(command, err);
}

int ParentForwarder::removePort(uint64_t id, rkp_error *err) {
    Command command;
    command.kind = Command::Kind::Remove;
    command.id = id;
    return execute(command, err);
}

int ParentForwarder::execute(Command &command, rkp_error *err) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!running_) {
        apply(command);
    } else {
        queue_.push_back(&command);
        uint64_t one = 1;
        if (write(wake_.get(), &one, sizeof(one)) < 0 && errno != EAGAIN) {
            queue_.pop_back();
            return rkp::setError(err, -errno, "wake forwarding loop: %s", errnoText(errno).c_str());
        }
        applied_.wait(lock, [&] { return command.done; });
    }
    if (command.result < 0) {
        return rkp::setErrorMessage(err, command.result, command.message);
    }
    return 0;
}

void ParentForwarder::apply(Command &command) {
    if (command.kind == Command::Kind::Add) {
        applyAdd(command);
    } else {
        applyRemove(command);
    }
}

void ParentForwarder::applyAdd(Command &command) {
    if (ports_.count(command.id) != 0) {
        command.result = -EEXIST;
        command.message = "add port: id " + std::to_string(command.id) + " already exists";
        return;
    }
    std::string name = command.plan.name;
    std::unique_ptr<PortForwarder> port;
    if (command.plan.transport == kTransportTcp) {
        port = std::make_unique<TcpPort>(ctx_, std::move(command.plan));
    } else {
        port = std::make_unique<UdpPort>(ctx_, std::move(command.plan));
    }

    int rc = port->start();
    if (rc < 0) {
        command.result = rc;
        command.message = "watch " + name + ": " + errnoText(rc);
        return;
    }
    ports_.emplace(command.id, std::move(port));
}

void ParentForwarder::applyRemove(Command &command) {
    auto it = ports_.find(command.id);
    if (it == ports_.end()) {
        command.result = -ENOENT;
        command.message = "unknown id: " + std::to_string(command.id);
        return;
    }
    it->second->stop();
    // Events for its listener may still be in the current batch.
    loop_.retire(std::move(it->second));
    ports_.erase(it);
}

void ParentForwarder::onWake() {
    uint64_t count;
    while (read(wake_.get(), &count, sizeof(count)) < 0 && errno == EINTR) {
    }

    std::deque<Command *> batch;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        batch.swap(queue_);
    }
    for (Command *command : batch) {
        apply(*command);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    for (Command *command : batch) {
        command->done = true;
    }
    applied_.notify_all();
}

void ParentForwarder::onControlListener() {
    Fd accepted(accept4(controlListener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!accepted.valid()) {
        return;
    }
    // Only our own child may dial on our behalf. Its uid, seen from here, is ours.
    ucred peer{};
    socklen_t length = sizeof(peer);
    if (getsockopt(accepted.get(), SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0 ||
        peer.uid != geteuid()) {
        rkp::log(host_, RKP_LOG_WARN, "control socket: refused a connection from uid %u",
                 static_cast<unsigned>(peer.uid));
        return;
    }

    if (control_.valid()) {
        dropControl("replaced by a new connection from the child half");
    }
    control_ = std::move(accepted);
    loop_.add(control_.get(), EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, &controlHandler_);
    rkp::log(host_, RKP_LOG_DEBUG, "child half connected (pid %d)", static_cast<int>(peer.pid));
    flushRequests();
}

void ParentForwarder::onControlEvents(uint32_t events) {
    if (events & EPOLLOUT) {
        flushRequests();
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        readReplies();
    }
}

void ParentForwarder::readReplies() {
    for (int i = 0; i < kReplyBatch && control_.valid(); ++i) {
        DialReply reply;
        Fd socket;
        int rc = receiveReply(control_.get(), &reply, &socket);
        if (rc == 1) {
            reply.message[sizeof(reply.message) - 1] = '\0';
            deliver(reply.id, std::move(socket), reply.error, reply.message);
            continue;
        }
        if (rc == -EMFILE) {
            deliver(reply.id, Fd(), -EMFILE,
                    "receive socket from the child half: " + errnoText(EMFILE));
            continue;
        }
        if (rc == -EAGAIN) {
            return;
        }
        dropControl(rc == 0 ? "closed by the child half" : errnoText(rc));
        return;
    }
    if (control_.valid()) {
        loop_.post(&controlHandler_, EPOLLIN);
    }
}

void ParentForwarder::deliver(uint64_t requestId, Fd socket, int error,
                              const std::string &message) {
    auto it = pending_.find(requestId);
    if (it == pending_.end()) {
        return;  // timed out or its port is gone; socket closes here
    }
    Pending pending = it->second;
    pending_.erase(it);

    auto port = ports_.find(pending.portId);
    if (port == ports_.end()) {
        return;
    }
    if (error == 0 && !socket.valid()) {
        error = -EPROTO;
    }
    port->second->onDialResult(pending.token, std::move(socket), error,
                               error == 0 ? std::string() : message);
}

void ParentForwarder::requestDial(uint64_t portId, uint64_t token, uint32_t transport,
                                  const SocketAddress &target, const SocketAddress &source) {
    uint64_t id = nextRequestId_++;
    pending_.emplace(
        id, Pending{portId, token, transport, target, loop_.nowMs() + config_.dialTimeoutMs});

    DialRequest request;
    request.transport = transport;
    request.id = id;
    request.addressLength = target.length;
    request.address = target.storage;
    request.sourceLength = source.length;
    request.source = source.storage;
    outbox_.push_back(request);
    flushRequests();
}

void ParentForwarder::flushRequests() {
    while (!outbox_.empty() && control_.valid()) {
        if (pending_.count(outbox_.front().id) == 0) {
            outbox_.pop_front();  // expired before it could be sent
            continue;
        }
        int rc = sendRequest(control_.get(), outbox_.front());
        if (rc == -EAGAIN) {
            return;  // EPOLLOUT brings us back
        }
        if (rc < 0) {
            dropControl(errnoText(rc));
            return;
        }
        outbox_.pop_front();
    }
}

// Fails every request: with the connection gone, no reply can come.
void ParentForwarder::dropControl(const std::string &why) {
    rkp::log(host_, RKP_LOG_DEBUG, "control channel: %s", why.c_str());
    loop_.remove(control_.get());
    control_.reset();
    outbox_.clear();

    std::map<uint64_t, Pending> failed;
    failed.swap(pending_);
    for (auto &[id, pending] : failed) {
        auto port = ports_.find(pending.portId);
        if (port != ports_.end()) {
            port->second->onDialResult(
                pending.token, Fd(), -ECONNRESET,
                describeDial(pending.transport, pending.target) + ": child half is gone");
        }
    }
}

void ParentForwarder::expirePending(uint64_t nowMs) {
    while (!pending_.empty() && pending_.begin()->second.deadlineMs <= nowMs) {
        Pending pending = pending_.begin()->second;
        pending_.erase(pending_.begin());
        auto port = ports_.find(pending.portId);
        if (port == ports_.end()) {
            continue;
        }
        const char *why =
            control_.valid() ? "no answer from the child half" : "the child half is not connected";
        port->second->onDialResult(pending.token, Fd(), -ETIMEDOUT,
                                   describeDial(pending.transport, pending.target) + ": " + why);
    }
}

void ParentForwarder::wantSweepAt(uint64_t deadlineMs) {
    nextSweepMs_ = std::min(nextSweepMs_, deadlineMs);
}

int64_t ParentForwarder::nextDeadlineMs() {
    uint64_t next = nextSweepMs_;
    if (!pending_.empty()) {
        next = std::min(next, pending_.begin()->second.deadlineMs);
    }
    return next == UINT64_MAX ? -1 : static_cast<int64_t>(next);
}

void ParentForwarder::afterEvents(uint64_t nowMs) {
    if (nowMs >= nextSweepMs_) {
        nextSweepMs_ = UINT64_MAX;
        for (auto &[id, port] : ports_) {
            port->sweep(nowMs);
        }
    }
    expirePending(nowMs);
}

void ParentForwarder::shutdownAll() {
    for (auto &[id, port] : ports_) {
        port->stop();
    }
    ports_.clear();
    pending_.clear();
    outbox_.clear();
    if (control_.valid()) {
        loop_.remove(control_.get());
        control_.reset();
    }
}

}  // namespace rkbuiltin
