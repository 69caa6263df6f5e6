// PortForwarder: one published port inside the parent half's loop, and the services the loop
// offers it (dialing through the child half, timers, shared buffers).
//
// Threads: everything here runs on the parent loop thread, or on the API thread while the loop
// is not running (ParentForwarder hands the state over under its mutex).
#pragma once

#include <cstdint>
#include <string>

#include "event_loop.h"
#include "fd.h"
#include "rootlesskit/rkp.h"
#include "socket_address.h"
#include "splice_pump.h"

namespace rkbuiltin {

// How a port reaches the child half. Implemented by ParentForwarder.
class DialService {
public:
    virtual ~DialService() = default;
    // Asks the child half for a socket connected to target (transport kTransportTcp or
    // kTransportUdp) on behalf of the client at source (length 0 when unknown), which the child
    // half dials from when source IP transparency applies. The answer arrives later as
    // onDialResult(token, ...) on the port with portId, on the loop thread; never if that port
    // was removed in between.
    virtual void requestDial(uint64_t portId, uint64_t token, uint32_t transport,
                             const SocketAddress &target, const SocketAddress &source) = 0;
    // Makes the loop call PortForwarder::sweep() on every port at or soon after deadlineMs.
    virtual void wantSweepAt(uint64_t deadlineMs) = 0;
};

// Scratch space for batched UDP receive and send, shared by every UDP port of one loop.
struct UdpBuffers {
    static constexpr size_t kBatch = 16;
    static constexpr size_t kDatagramMax = 65536;
    char data[kBatch][kDatagramMax];
};

struct ForwarderContext {
    const rkp_host *host;
    EventLoop &loop;
    PipePool &pipes;
    DialService &dialer;
    UdpBuffers &udp;
    uint64_t udpIdleTimeoutMs;
};

// What add_port decided about a spec: where to listen and where to dial.
struct PortPlan {
    uint64_t id = 0;
    uint32_t transport = 0;  // kTransportTcp or kTransportUdp
    std::string name;        // "[::]:8080/tcp", for messages
    Fd listener;             // bound (TCP: listening), non-blocking, close-on-exec
    bool wildcard = false;   // bound to 0.0.0.0 or ::: replies must pick their source address
    SocketAddress target;    // where the child half dials
};

class PortForwarder {
public:
    virtual ~PortForwarder() = default;

    virtual uint64_t id() const = 0;
    // Starts watching the listener. 0 or a negative errno.
    virtual int start() = 0;
    // Closes the listener and every connection or flow of the port, at once.
    virtual void stop() = 0;
    // The child half's answer to requestDial(token): a connected socket, or error (negative
    // errno) with the child's message.
    virtual void onDialResult(uint64_t token, Fd backend, int error,
                              const std::string &message) = 0;
    // Expires idle state and resumes a paused listener; calls wantSweepAt() for the next time.
    virtual void sweep(uint64_t nowMs) = 0;
};

// Lets a repeated warning through at most once per interval and counts what it held back.
class Throttle {
public:
    explicit Throttle(uint64_t intervalMs = 10000) : intervalMs_(intervalMs) {}
    // True when a message may be written now; *suppressed receives how many were held back
    // since the last one written.
    bool allow(uint64_t nowMs, uint64_t *suppressed) {
        if (started_ && nowMs < lastMs_ + intervalMs_) {
            ++suppressed_;
            return false;
        }
        started_ = true;
        lastMs_ = nowMs;
        *suppressed = suppressed_;
        suppressed_ = 0;
        return true;
    }

    // " (N similar messages suppressed)", or "" when none were.
    static std::string note(uint64_t suppressed) {
        if (suppressed == 0) {
            return "";
        }
        return " (" + std::to_string(suppressed) + " similar messages suppressed)";
    }

private:
    uint64_t intervalMs_;
    uint64_t lastMs_ = 0;
    uint64_t suppressed_ = 0;
    bool started_ = false;
};

}  // namespace rkbuiltin
