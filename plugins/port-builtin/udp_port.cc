// UdpPort: per-client UDP flows between the host socket and sockets from the child half.
#include "udp_port.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "control_protocol.h"
#include "rootlesskit/rkp.hpp"

namespace rkbuiltin {

namespace {

constexpr size_t kBatch = UdpBuffers::kBatch;
constexpr size_t kControlSize = CMSG_SPACE(sizeof(in6_pktinfo));
constexpr size_t kMaxQueuedDatagrams = 64;  // per flow while its backend is being dialed
constexpr int kRoundsPerWakeup = 4;         // batches per readiness report before other work runs
constexpr size_t kMaxFlows = 4096;          // per port
// Receive and send buffer requested for the host socket and each backend socket. The default
// (net.core.rmem_default, usually 208 KiB) holds six 32 KiB datagrams, so a burst from a fast
// sender overflows it while the loop serves other descriptors. The kernel caps the request at
// net.core.rmem_max and wmem_max; the memory is only used while datagrams wait.
constexpr int kSocketBuffer = 4 << 20;

void enlargeBuffers(int fd) {
    int size = kSocketBuffer;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

// Points each header of a batch at its buffer, address and control space.
void prepareBatch(UdpBuffers &buffers, mmsghdr *msgs, iovec *iov, sockaddr_storage *from,
                  char (*control)[kControlSize]) {
    for (size_t i = 0; i < kBatch; ++i) {
        iov[i] = {buffers.data[i], UdpBuffers::kDatagramMax};
        msghdr &h = msgs[i].msg_hdr;
        h = msghdr{};
        h.msg_iov = &iov[i];
        h.msg_iovlen = 1;
        if (from != nullptr) {
            h.msg_name = &from[i];
            h.msg_namelen = sizeof(sockaddr_storage);
        }
        if (control != nullptr) {
            h.msg_control = control[i];
            h.msg_controllen = kControlSize;
        }
    }
}

}  // namespace

class UdpPort::Flow : public EventHandler {
public:
    Flow(UdpPort *port, const FlowKey &key) : port(port), key(key) {}
    void onEvents(uint32_t) override {
        if (!closed) {
            port->onBackendEvents(this);
        }
    }

    // The cmsg that makes a reply leave from the address the client sent to; empty if unknown.
    size_t replyControl(char *buffer) const {
        std::memset(buffer, 0, kControlSize);
        msghdr h{};
        h.msg_control = buffer;
        h.msg_controllen = kControlSize;
        cmsghdr *c = CMSG_FIRSTHDR(&h);
        if (localFamily == AF_INET6) {
            in6_pktinfo info{};
            info.ipi6_addr = local6;
            c->cmsg_level = IPPROTO_IPV6;
            c->cmsg_type = IPV6_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof(info));
            std::memcpy(CMSG_DATA(c), &info, sizeof(info));
            return CMSG_SPACE(sizeof(info));
        }
        if (localFamily == AF_INET) {
            in_pktinfo info{};
            info.ipi_spec_dst = local4;
            c->cmsg_level = IPPROTO_IP;
            c->cmsg_type = IP_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof(info));
            std::memcpy(CMSG_DATA(c), &info, sizeof(info));
            return CMSG_SPACE(sizeof(info));
        }
        return 0;
    }

    UdpPort *port;
    FlowKey key;
    uint64_t token = 0;
    sockaddr_storage client{};
    socklen_t clientLength = 0;
    int localFamily = 0;  // AF_INET or AF_INET6 once a destination address was recorded
    in6_addr local6{};
    in_addr local4{};
    Fd backend;
    uint64_t lastActiveMs = 0;
    std::vector<std::string> queued;
    bool closed = false;
};

size_t UdpPort::FlowKeyHash::operator()(const FlowKey &key) const {
    // FNV-1a over the key's bytes; the key has no padding.
    const auto *bytes = reinterpret_cast<const uint8_t *>(&key);
    uint64_t hash = 14695981039346656037ull;
    for (size_t i = 0; i < sizeof(FlowKey); ++i) {
        hash = (hash ^ bytes[i]) * 1099511628211ull;
    }
    return static_cast<size_t>(hash);
}

UdpPort::FlowKey UdpPort::keyOf(const sockaddr_storage &address) {
    FlowKey key;
    key.family = address.ss_family;
    if (address.ss_family == AF_INET6) {
        const auto &v6 = reinterpret_cast<const sockaddr_in6 &>(address);
        key.port = v6.sin6_port;
        std::memcpy(key.address, &v6.sin6_addr, 16);
    } else {
        const auto &v4 = reinterpret_cast<const sockaddr_in &>(address);
        key.port = v4.sin_port;
        std::memcpy(key.address, &v4.sin_addr, 4);
    }
    return key;
}

UdpPort::UdpPort(ForwarderContext &ctx, PortPlan plan) : ctx_(ctx), plan_(std::move(plan)) {}

UdpPort::~UdpPort() {
    stop();
}

int UdpPort::start() {
    if (plan_.wildcard) {
        // IPV6_PKTINFO also covers IPv4 datagrams on a dual-stack socket (as IPv4-mapped
        // addresses), and the kernel accepts such an address back as the source of a reply.
        int one = 1;
        int fd = plan_.listener.get();
        sockaddr_storage bound{};
        socklen_t length = sizeof(bound);
        getsockname(fd, reinterpret_cast<sockaddr *>(&bound), &length);
        if (bound.ss_family == AF_INET6) {
            setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
        } else {
            setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
        }
    }
    enlargeBuffers(plan_.listener.get());
    return ctx_.loop.add(plan_.listener.get(), EPOLLIN, this);
}

void UdpPort::stop() {
    if (plan_.listener.valid()) {
        ctx_.loop.remove(plan_.listener.get());
        plan_.listener.reset();
    }
    std::vector<Flow *> all;
    all.reserve(flows_.size());
    for (auto &[key, flow] : flows_) {
        all.push_back(flow.get());
    }
    for (Flow *flow : all) {
        closeFlow(flow);
    }
}

void UdpPort::onEvents(uint32_t) {
    // Level-triggered: whatever is left after these rounds is reported again.
    for (int round = 0; round < kRoundsPerWakeup && plan_.listener.valid(); ++round) {
        if (receiveBatch() < kBatch) {
            return;
        }
    }
}

size_t UdpPort::receiveBatch() {
    mmsghdr msgs[kBatch];
    iovec iov[kBatch];
    sockaddr_storage from[kBatch];
    alignas(cmsghdr) char control[kBatch][kControlSize];
    prepareBatch(ctx_.udp, msgs, iov, from, control);

    int n = recvmmsg(plan_.listener.get(), msgs, kBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) {
        return 0;
    }
    for (int i = 0; i < n; ++i) {
        onDatagram(from[i], msgs[i].msg_hdr.msg_namelen, msgs[i].msg_hdr, ctx_.udp.data[i],
                   msgs[i].msg_len);
    }
    flushToBackend();
    return static_cast<size_t>(n);
}

void UdpPort::onDatagram(const sockaddr_storage &from, socklen_t fromLength, const msghdr &header,
                         const char *data, size_t length) {
    FlowKey key = keyOf(from);
    auto it = flows_.find(key);
    if (it == flows_.end() && flows_.size() >= kMaxFlows) {
        refuseFlow();
        return;
    }
    Flow *flow = it != flows_.end() ? it->second.get() : createFlow(key, from, fromLength);
    flow->lastActiveMs = ctx_.loop.nowMs();

    for (const cmsghdr *c = CMSG_FIRSTHDR(&header); c != nullptr;
         c = CMSG_NXTHDR(const_cast<msghdr *>(&header), const_cast<cmsghdr *>(c))) {
        if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            in6_pktinfo info;
            std::memcpy(&info, CMSG_DATA(c), sizeof(info));
            flow->localFamily = AF_INET6;
            flow->local6 = info.ipi6_addr;
        } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            in_pktinfo info;
            std::memcpy(&info, CMSG_DATA(c), sizeof(info));
            flow->localFamily = AF_INET;
            flow->local4 = info.ipi_addr;
        }
    }

    if (flow->backend.valid()) {
        batchToBackend(flow, data, length);
    } else if (flow->queued.size() < kMaxQueuedDatagrams) {
        flow->queued.emplace_back(data, length);
    }
}

// Each flow holds a descriptor; past the cap, new clients are dropped rather than letting one
// port exhaust the process's descriptors.
void UdpPort::refuseFlow() {
    uint64_t suppressed = 0;
    if (flowWarnings_.allow(ctx_.loop.nowMs(), &suppressed)) {
        rkp::log(ctx_.host, RKP_LOG_WARN, "%s: %zu flows open, dropping datagrams of new clients%s",
                 plan_.name.c_str(), flows_.size(), Throttle::note(suppressed).c_str());
    }
}

UdpPort::Flow *UdpPort::createFlow(const FlowKey &key, const sockaddr_storage &from,
                                   socklen_t fromLength) {
    auto flow = std::make_unique<Flow>(this, key);
    flow->token = nextToken_++;
    flow->client = from;
    flow->clientLength = fromLength;
    Flow *raw = flow.get();
    flows_.emplace(key, std::move(flow));
    dialing_.emplace(raw->token, raw);

    if (rkp::logEnabled(ctx_.host, RKP_LOG_TRACE)) {
        rkp::log(ctx_.host, RKP_LOG_TRACE, "%s: new flow from %s", plan_.name.c_str(),
                 SocketAddress::fromRaw(reinterpret_cast<const sockaddr *>(&from), fromLength)
                     .toString()
                     .c_str());
    }
    ctx_.dialer.requestDial(
        plan_.id, raw->token, kTransportUdp, plan_.target,
        SocketAddress::fromRaw(reinterpret_cast<const sockaddr *>(&from), fromLength));
    ctx_.dialer.wantSweepAt(ctx_.loop.nowMs() + ctx_.udpIdleTimeoutMs);
    return raw;
}

void UdpPort::sendToBackend(Flow *flow, const char *data, size_t length) {
    // A connected UDP socket reports an earlier ICMP error on the next send; the datagram is
    // then still unsent, so try once more.
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (send(flow->backend.get(), data, length, MSG_DONTWAIT) >= 0 || errno != ECONNREFUSED) {
            return;
        }
    }
}

// Adds a datagram (in the shared receive buffers) to the batch for flow's backend; a datagram
// of another flow first sends the batch so far, which keeps each client's datagrams in order.
void UdpPort::batchToBackend(Flow *flow, const char *data, size_t length) {
    if (batchFlow_ != flow) {
        flushToBackend();
        batchFlow_ = flow;
    }
    batchIov_[batchCount_] = {const_cast<char *>(data), length};
    msghdr &h = batchMsgs_[batchCount_].msg_hdr;
    h = msghdr{};
    h.msg_iov = &batchIov_[batchCount_];
    h.msg_iovlen = 1;
    ++batchCount_;
}

void UdpPort::flushToBackend() {
    size_t sent = 0;
    size_t refusals = 0;
    while (batchFlow_ != nullptr && sent < batchCount_) {
        int n = sendmmsg(batchFlow_->backend.get(), batchMsgs_ + sent,
                         static_cast<unsigned>(batchCount_ - sent), MSG_DONTWAIT);
        if (n > 0) {
            sent += static_cast<size_t>(n);
            continue;
        }
        // ECONNREFUSED reports an ICMP error for an earlier datagram and clears it: the
        // datagram is still unsent. Anything else (a full buffer) drops the rest, as a router
        // would.
        if (n < 0 && errno == ECONNREFUSED && refusals++ < batchCount_) {
            continue;
        }
        break;
    }
    batchFlow_ = nullptr;
    batchCount_ = 0;
}

void UdpPort::onDialResult(uint64_t token, Fd backend, int error, const std::string &message) {
    auto it = dialing_.find(token);
    if (it == dialing_.end()) {
        return;
    }
    Flow *flow = it->second;
    dialing_.erase(it);

    if (error != 0) {
        uint64_t suppressed = 0;
        if (dialWarnings_.allow(ctx_.loop.nowMs(), &suppressed)) {
            rkp::log(ctx_.host, RKP_LOG_WARN, "%s: %s%s", plan_.name.c_str(), message.c_str(),
                     Throttle::note(suppressed).c_str());
        }
        closeFlow(flow);
        return;
    }

    flow->backend = std::move(backend);
    enlargeBuffers(flow->backend.get());
    if (ctx_.loop.add(flow->backend.get(), EPOLLIN, flow) < 0) {
        closeFlow(flow);
        return;
    }
    for (const std::string &datagram : flow->queued) {
        sendToBackend(flow, datagram.data(), datagram.size());
    }
    flow->queued.clear();
    flow->queued.shrink_to_fit();
}

void UdpPort::onBackendEvents(Flow *flow) {
    mmsghdr in[kBatch];
    iovec iov[kBatch];
    prepareBatch(ctx_.udp, in, iov, nullptr, nullptr);

    for (int round = 0; round < kRoundsPerWakeup; ++round) {
        int n = recvmmsg(flow->backend.get(), in, kBatch, MSG_DONTWAIT, nullptr);
        if (n < 0 && errno == ECONNREFUSED) {
            continue;  // an ICMP error for an earlier datagram; reading it cleared it
        }
        if (n <= 0) {
            return;
        }
        flow->lastActiveMs = ctx_.loop.nowMs();
        sendToClient(flow, in, static_cast<size_t>(n));
        if (static_cast<size_t>(n) < kBatch) {
            return;
        }
    }
}

// Sends the first count datagrams of the shared buffers (as received into in) to the flow's
// client, from the address the client sent to.
void UdpPort::sendToClient(Flow *flow, const mmsghdr *in, size_t count) {
    alignas(cmsghdr) char control[kControlSize];
    size_t controlLength = flow->replyControl(control);

    mmsghdr out[kBatch];
    iovec iov[kBatch];
    for (size_t i = 0; i < count; ++i) {
        iov[i] = {ctx_.udp.data[i], in[i].msg_len};
        msghdr &h = out[i].msg_hdr;
        h = msghdr{};
        h.msg_name = &flow->client;
        h.msg_namelen = flow->clientLength;
        h.msg_iov = &iov[i];
        h.msg_iovlen = 1;
        h.msg_control = controlLength > 0 ? control : nullptr;
        h.msg_controllen = controlLength;
    }

    // A datagram the host socket cannot take now is dropped, as a router would.
    size_t sent = 0;
    while (sent < count) {
        int rc = sendmmsg(plan_.listener.get(), out + sent, static_cast<unsigned>(count - sent),
                          MSG_DONTWAIT);
        if (rc <= 0) {
            return;
        }
        sent += static_cast<size_t>(rc);
    }
}

void UdpPort::closeFlow(Flow *flow) {
    flow->closed = true;
    if (flow->backend.valid()) {
        ctx_.loop.remove(flow->backend.get());
        flow->backend.reset();
    }
    dialing_.erase(flow->token);

    auto it = flows_.find(flow->key);
    if (it != flows_.end()) {
        ctx_.loop.retire(std::move(it->second));
        flows_.erase(it);
    }
}

void UdpPort::sweep(uint64_t nowMs) {
    uint64_t idle = ctx_.udpIdleTimeoutMs;
    uint64_t next = UINT64_MAX;
    for (auto it = flows_.begin(); it != flows_.end();) {
        Flow *flow = (it++)->second.get();
        uint64_t expiry = flow->lastActiveMs + idle;
        if (flow->backend.valid() && nowMs >= expiry) {
            if (rkp::logEnabled(ctx_.host, RKP_LOG_TRACE)) {
                rkp::log(ctx_.host, RKP_LOG_TRACE, "%s: flow idle, closed", plan_.name.c_str());
            }
            closeFlow(flow);
        } else {
            next = std::min(next, expiry);
        }
    }
    if (next != UINT64_MAX) {
        // Coarse on purpose: one pass over the flows at most every granularity milliseconds.
        uint64_t granularity = std::clamp<uint64_t>(idle / 4, 10, 1000);
        ctx_.dialer.wantSweepAt(std::max(next, nowMs + granularity));
    }
}

}  // namespace rkbuiltin
