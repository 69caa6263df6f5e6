// UdpPort: a published UDP port in the parent half, a user-space proxy with one flow per client.
//
// Theory of operation: datagrams are read in batches (recvmmsg) from the host socket. The first
// datagram of a client address creates a flow, which asks the child half for a connected UDP
// socket (the backend) and queues that client's datagrams (up to a bound) until it arrives.
// Client datagrams then go to the backend, the consecutive ones of a client in one received
// batch with one sendmmsg; backend datagrams are read in batches and sent to the client from the
// host socket (sendmmsg). Both sockets ask for 4 MiB buffers to absorb bursts. A host socket bound
// to a wildcard address records each datagram's destination address (IP_PKTINFO / IPV6_PKTINFO) and
// answers from that same address, so a client that sent to 127.0.0.2 gets its reply from 127.0.0.2.
// A flow with no traffic in either direction for the idle timeout is closed by sweep(). A port
// keeps at most 4096 flows; datagrams of further clients are dropped until flows expire. As with
// upstream, the in-namespace server sees the backend socket's address, not the client's.
//
// Threads: the parent loop thread only (see port_forwarder.h).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "port_forwarder.h"

namespace rkbuiltin {

class UdpPort : public PortForwarder, private EventHandler {
public:
    // plan.listener MUST be bound already.
    UdpPort(ForwarderContext &ctx, PortPlan plan);
    ~UdpPort() override;

    uint64_t id() const override { return plan_.id; }
    int start() override;
    void stop() override;
    void onDialResult(uint64_t token, Fd backend, int error, const std::string &message) override;
    void sweep(uint64_t nowMs) override;

    // Number of live flows (for tests and logs).
    size_t flowCount() const { return flows_.size(); }

private:
    // A client address, as a hashable key.
    struct FlowKey {
        uint16_t family = 0;
        uint16_t port = 0;
        uint8_t address[16] = {};
        bool operator==(const FlowKey &other) const {
            return std::memcmp(this, &other, sizeof(FlowKey)) == 0;
        }
    };
    struct FlowKeyHash {
        size_t operator()(const FlowKey &key) const;
    };

    class Flow;

    void onEvents(uint32_t events) override;
    void onBackendEvents(Flow *flow);
    size_t receiveBatch();
    void onDatagram(const sockaddr_storage &from, socklen_t fromLength, const msghdr &header,
                    const char *data, size_t length);
    void refuseFlow();
    Flow *createFlow(const FlowKey &key, const sockaddr_storage &from, socklen_t fromLength);
    void sendToBackend(Flow *flow, const char *data, size_t length);
    void batchToBackend(Flow *flow, const char *data, size_t length);
    void flushToBackend();
    void sendToClient(Flow *flow, const mmsghdr *in, size_t count);
    void closeFlow(Flow *flow);

    static FlowKey keyOf(const sockaddr_storage &address);

    ForwarderContext &ctx_;
    PortPlan plan_;
    uint64_t nextToken_ = 1;
    std::unordered_map<FlowKey, std::unique_ptr<Flow>, FlowKeyHash> flows_;
    std::unordered_map<uint64_t, Flow *> dialing_;  // by dial token
    Throttle dialWarnings_;
    Throttle flowWarnings_;

    // Consecutive datagrams of one received batch for the same flow, sent with one sendmmsg.
    // They point into the loop's shared receive buffers, so the batch is flushed before the next
    // receive.
    Flow *batchFlow_ = nullptr;
    size_t batchCount_ = 0;
    mmsghdr batchMsgs_[UdpBuffers::kBatch];
    iovec batchIov_[UdpBuffers::kBatch];
};

}  // namespace rkbuiltin
