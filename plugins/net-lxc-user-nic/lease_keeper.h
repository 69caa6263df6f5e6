// Keeps the child's DHCP lease for as long as the session runs, on a thread of its own in the
// child process.
//
// Theory of operation
// -------------------
// start() takes the lease configure_child obtained and the client whose socket lives in the
// namespace of the interface. The thread then sleeps until T1 (the server's renewal time, else
// half the lease), renews by unicast to the server, and starts over with the new lease. When
// renewing fails it retries, every few seconds, until T2; from T2 it rebinds by broadcast until
// the lease expires; after that it asks for a new lease from scratch, every ten seconds, for as
// long as it takes. Nothing ends the session: each failure is a warning (once per lease), an
// expired lease an error; upstream's child panics instead and takes the user's command with it.
//
// A new lease with another address, prefix or router is applied to the interface (ioctls on a
// socket of that namespace); new DNS servers rewrite <state-dir>/resolv.conf in place, which is
// what /etc/resolv.conf shows inside. stop() wakes the thread through an eventfd, waits for it,
// and sends DHCPRELEASE so that the server can hand the address out again at once (frequent
// restarts otherwise exhaust a small pool, since every run has a new random MAC address).
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "dhcp_client.h"
#include "helper_process.h"
#include "rootlesskit/rkp.h"

namespace rootlesskit::lxc {

class LeaseKeeper {
public:
    // host and stateDir are borrowed and outlive the keeper.
    LeaseKeeper(const rkp_host *host, std::string stateDir);
    ~LeaseKeeper() { stop(); }
    LeaseKeeper(const LeaseKeeper &) = delete;
    LeaseKeeper &operator=(const LeaseKeeper &) = delete;

    // Starts the thread for lease, obtained by client (whose socket is in the interface's
    // namespace). Throws rkp::Error when the thread cannot be set up. Child, main thread.
    void start(std::unique_ptr<dhcp::Client> client, const dhcp::Lease &lease);

    // Stops the thread and releases the lease. Idempotent; child, main thread.
    void stop();

private:
    void run();
    bool sleepUntil(std::chrono::steady_clock::time_point when);
    bool tryRenew(bool broadcast, bool *warned);
    void acquireAgain();
    void adopt(const dhcp::Lease &next);
    void applyAddress(const dhcp::Lease &next);
    void rewriteResolvConf(const dhcp::Lease &next);

    const rkp_host *host_;
    std::string stateDir_;
    std::unique_ptr<dhcp::Client> client_;
    dhcp::Lease lease_;
    std::chrono::steady_clock::time_point leaseStart_;
    plugin::UniqueFd quit_;
    std::thread thread_;
};

}  // namespace rootlesskit::lxc
