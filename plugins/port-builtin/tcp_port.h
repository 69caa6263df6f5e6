// TcpPort: a published TCP port in the parent half. It accepts clients, asks the child half for
// a connected backend socket for each, and relays the pair with TcpRelay.
//
// Theory of operation, per connection: accepted -> waiting for the child half's socket (the
// client is parked, unwatched) -> relaying (two SplicePumps, one per direction, edge-triggered)
// -> closed. A failed dial resets the client. Each direction ends independently: EOF on one
// side becomes shutdown(SHUT_WR) on the other, so half-closed protocols keep working; the pair
// is closed when both directions ended. An error on either socket (a reset, a write to a closed
// peer) aborts the pair and resets both sockets (SO_LINGER 0), so each peer sees what it would
// have seen directly. A direction that moved its budget yields through EventLoop::post() so one
// fast connection cannot starve the others. When accept() runs out of descriptors the listener
// pauses for a short back-off while existing connections go on, then resumes.
//
// Threads: the parent loop thread only (see port_forwarder.h).
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>

#include "port_forwarder.h"

namespace rkbuiltin {

class TcpPort;

// One forwarded connection: the accepted client socket and the backend socket from the child.
class TcpRelay {
public:
    // Owner of a relay; told when the relay ended on its own.
    class Owner {
    public:
        virtual ~Owner() = default;
        virtual void onRelayClosed(TcpRelay *relay) = 0;
    };

    TcpRelay(ForwarderContext &ctx, Owner &owner, Fd client, Fd backend);

    // Registers both sockets and moves what is already queued. 0 or a negative errno (the relay
    // is then closed and the owner was told).
    int start();

    // Closes both sockets now without telling the owner (the owner is dropping the relay).
    void close();

    bool closed() const { return closed_; }

private:
    enum Side { kClient = 0, kBackend = 1 };

    class Endpoint : public EventHandler {
    public:
        Endpoint(TcpRelay *relay, Side side) : relay_(relay), side_(side) {}
        void onEvents(uint32_t events) override { relay_->onEvents(side_, events); }

    private:
        TcpRelay *relay_;
        Side side_;
    };

    void onEvents(Side side, uint32_t events);
    void pump(Side source);
    void abort(int error, Side failed);
    void finish();

    ForwarderContext &ctx_;
    Owner &owner_;
    Fd sockets_[2];
    SplicePump pumps_[2];  // indexed by the source side
    Endpoint endpoints_[2];
    bool closed_ = false;
};

class TcpPort : public PortForwarder, private EventHandler, private TcpRelay::Owner {
public:
    // plan.listener MUST be listening already.
    TcpPort(ForwarderContext &ctx, PortPlan plan);
    ~TcpPort() override;

    uint64_t id() const override { return plan_.id; }
    int start() override;
    void stop() override;
    void onDialResult(uint64_t token, Fd backend, int error, const std::string &message) override;
    void sweep(uint64_t nowMs) override;

private:
    void onEvents(uint32_t events) override;
    void onRelayClosed(TcpRelay *relay) override;
    bool acceptOne();
    void pauseAccepting(int error);

    ForwarderContext &ctx_;
    PortPlan plan_;
    uint64_t nextToken_ = 1;
    std::unordered_map<uint64_t, Fd> waiting_;  // accepted clients by dial token
    std::unordered_map<TcpRelay *, std::unique_ptr<TcpRelay>> relays_;
    uint64_t resumeAtMs_ = 0;  // non-zero while accepting is paused
    Throttle dialWarnings_;
    Throttle acceptWarnings_;
};

}  // namespace rkbuiltin
