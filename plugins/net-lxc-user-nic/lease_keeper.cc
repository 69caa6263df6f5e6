// The renewal loop of the lxc-user-nic plugin's DHCP lease (see lease_keeper.h).
#include "lease_keeper.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "rootlesskit/rkp.hpp"

namespace rootlesskit::lxc {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::chrono::seconds kExchangeTimeout{10};
constexpr std::chrono::seconds kMinRetry{5};
constexpr std::chrono::seconds kAcquireRetry{10};
constexpr uint32_t kInfinite = 0xffffffff;

sockaddr_in inetAddress(dhcp::Ipv4 address) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = address;
    return sin;
}

dhcp::Ipv4 maskOf(int prefix) {
    return htonl(prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix));
}

// Half the time left until when (T2, or the expiry), but not less than kMinRetry.
Clock::time_point nextTry(Clock::time_point when) {
    auto half = std::chrono::duration_cast<std::chrono::seconds>((when - Clock::now()) / 2);
    return Clock::now() + std::max<std::chrono::seconds>(half, kMinRetry);
}

}  // namespace

LeaseKeeper::LeaseKeeper(const rkp_host *host, std::string stateDir)
    : host_(host), stateDir_(std::move(stateDir)) {}

void LeaseKeeper::start(std::unique_ptr<dhcp::Client> client, const dhcp::Lease &lease) {
    client_ = std::move(client);
    lease_ = lease;
    leaseStart_ = Clock::now();
    quit_.reset(eventfd(0, EFD_CLOEXEC));
    if (!quit_.valid()) {
        throw rkp::Error(-errno, "dhcp lease keeper: eventfd: " + plugin::errnoText(errno));
    }
    thread_ = std::thread([this] { run(); });
}

void LeaseKeeper::stop() {
    if (!thread_.joinable()) {
        return;
    }
    uint64_t one = 1;
    (void)!write(quit_.get(), &one, sizeof(one));
    thread_.join();
    client_->release(lease_);
    rkp::log(host_, RKP_LOG_DEBUG, "released %s on %s", dhcp::formatIpv4(lease_.address).c_str(),
             client_->ifname().c_str());
}

// RENEWING until T2, REBINDING until expiry, then INIT again; see the header.
void LeaseKeeper::run() {
    for (;;) {
        if (lease_.leaseSeconds == kInfinite) {
            sleepUntil(Clock::time_point::max());
            return;
        }
        auto t1 = leaseStart_ + std::chrono::seconds(lease_.renewSeconds);
        auto t2 = leaseStart_ + std::chrono::seconds(lease_.rebindSeconds);
        auto expiry = leaseStart_ + std::chrono::seconds(lease_.leaseSeconds);
        bool warned = false;
        bool renewed = false;
        auto when = t1;
        while (!renewed && Clock::now() < expiry) {
            if (!sleepUntil(std::min(when, expiry))) {
                return;
            }
            bool rebinding = Clock::now() >= t2;
            renewed = Clock::now() < expiry && tryRenew(rebinding, &warned);
            when = nextTry(rebinding ? expiry : t2);
        }
        if (!renewed) {
            acquireAgain();
        }
        if (!sleepUntil(Clock::now())) {
            return;  // stop() came while renewing
        }
    }
}

// False when stop() asked the thread to end.
bool LeaseKeeper::sleepUntil(Clock::time_point when) {
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(when - Clock::now());
        int timeout = when == Clock::time_point::max()
                          ? -1
                          : static_cast<int>(std::clamp<int64_t>(left.count(), 0, 3600000));
        pollfd fd = {quit_.get(), POLLIN, 0};
        int n = poll(&fd, 1, timeout);
        if (n > 0) {
            return false;
        }
        if (n == 0 && Clock::now() >= when) {
            return true;
        }
    }
}

bool LeaseKeeper::tryRenew(bool broadcast, bool *warned) {
    try {
        dhcp::Lease next = client_->renew(lease_, broadcast, kExchangeTimeout);
        adopt(next);
        return true;
    } catch (const std::exception &e) {
        if (!*warned) {
            rkp::log(host_, RKP_LOG_WARN, "%s lease of %s: %s; retrying until it expires",
                     broadcast ? "rebind" : "renew", dhcp::formatIpv4(lease_.address).c_str(),
                     e.what());
            *warned = true;
        }
        return false;
    }
}

void LeaseKeeper::acquireAgain() {
    rkp::log(host_, RKP_LOG_ERROR,
             "lease of %s on %s expired; asking for a new one every %llds meanwhile",
             dhcp::formatIpv4(lease_.address).c_str(), client_->ifname().c_str(),
             static_cast<long long>(kAcquireRetry.count()));
    for (;;) {
        try {
            adopt(client_->acquire(kExchangeTimeout * 3));
            return;
        } catch (const std::exception &e) {
            rkp::log(host_, RKP_LOG_DEBUG, "%s", e.what());
        }
        if (!sleepUntil(Clock::now() + kAcquireRetry)) {
            return;
        }
    }
}

void LeaseKeeper::adopt(const dhcp::Lease &next) {
    if (next.address != lease_.address || next.prefix != lease_.prefix ||
        next.router != lease_.router) {
        rkp::log(host_, RKP_LOG_WARN, "address on %s changed from %s to %s/%d",
                 client_->ifname().c_str(), dhcp::formatIpv4(lease_.address).c_str(),
                 dhcp::formatIpv4(next.address).c_str(), next.prefix);
        applyAddress(next);
    }
    if (next.dns != lease_.dns) {
        rewriteResolvConf(next);
    }
    lease_ = next;
    leaseStart_ = Clock::now();
    rkp::log(host_, RKP_LOG_DEBUG, "renewed lease of %s on %s for %us (next renewal in %us)",
             dhcp::formatIpv4(lease_.address).c_str(), client_->ifname().c_str(),
             lease_.leaseSeconds, lease_.renewSeconds);
}

// SIOCSIFADDR replaces the interface's primary address (the kernel drops the routes through the
// old one), then the mask and the default route. The socket is created on this thread, which is
// not necessarily in the interface's namespace: the client's socket is, so its ioctls act there.
void LeaseKeeper::applyAddress(const dhcp::Lease &next) {
    int sock = client_->socketFd();
    ifreq request{};
    std::strncpy(request.ifr_name, client_->ifname().c_str(), IFNAMSIZ - 1);
    sockaddr_in address = inetAddress(next.address);
    std::memcpy(&request.ifr_addr, &address, sizeof(address));
    bool ok = ioctl(sock, SIOCSIFADDR, &request) == 0;
    sockaddr_in mask = inetAddress(maskOf(next.prefix));
    std::memcpy(&request.ifr_netmask, &mask, sizeof(mask));
    ok = ok && ioctl(sock, SIOCSIFNETMASK, &request) == 0;

    rtentry route{};
    sockaddr_in any = inetAddress(0);
    sockaddr_in gateway = inetAddress(next.router);
    std::memcpy(&route.rt_dst, &any, sizeof(any));
    std::memcpy(&route.rt_genmask, &any, sizeof(any));
    std::memcpy(&route.rt_gateway, &gateway, sizeof(gateway));
    route.rt_flags = RTF_UP | RTF_GATEWAY;
    route.rt_dev = request.ifr_name;
    ok = ok && (ioctl(sock, SIOCADDRT, &route) == 0 || errno == EEXIST);
    if (!ok) {
        rkp::log(host_, RKP_LOG_ERROR, "apply new address %s to %s: %s",
                 dhcp::formatIpv4(next.address).c_str(), client_->ifname().c_str(),
                 plugin::errnoText(errno).c_str());
    }
}

// Truncated and rewritten in place: the bind mount on /etc/resolv.conf shows the same inode.
void LeaseKeeper::rewriteResolvConf(const dhcp::Lease &next) {
    std::string text;
    for (dhcp::Ipv4 server : next.dns) {
        text += "nameserver " + dhcp::formatIpv4(server) + "\n";
    }
    std::string path = stateDir_ + "/resolv.conf";
    plugin::UniqueFd fd(open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    if (!fd.valid() ||
        write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
        rkp::log(host_, RKP_LOG_WARN, "rewrite %s with the new DNS servers: %s", path.c_str(),
                 plugin::errnoText(errno).c_str());
        return;
    }
    rkp::log(host_, RKP_LOG_INFO, "DNS servers changed; rewrote %s", path.c_str());
}

}  // namespace rootlesskit::lxc
