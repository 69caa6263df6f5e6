// The DHCPv4 client's socket work: send, retransmit, match the answer (see dhcp_client.h).
#include "dhcp_client.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "rootlesskit/rkp.hpp"

namespace rootlesskit::dhcp {
namespace {

constexpr uint16_t kClientPort = 68;
constexpr uint16_t kServerPort = 67;
constexpr Ipv4 kBroadcast = 0xffffffff;  // 255.255.255.255, the same in either byte order

// RFC 2131 4.1 suggests 4 s, doubling; a bridge on the same host answers in milliseconds, so
// start sooner and cap low: a lost first DISCOVER costs at most two seconds.
constexpr std::chrono::milliseconds kFirstRetransmit{2000};
constexpr std::chrono::milliseconds kMaxRetransmit{8000};

uint32_t randomXid() {
    uint32_t xid = 0;
    if (getrandom(&xid, sizeof(xid), 0) != sizeof(xid)) {
        xid = static_cast<uint32_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    }
    return xid;
}

int millisUntil(std::chrono::steady_clock::time_point when) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        when - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<int64_t>(0, left.count()));
}

}  // namespace

Client::Client(const std::string &ifname) : ifname_(ifname) {
    // 1. The MAC address goes into chaddr: it is what the server leases to.
    plugin::UniqueFd sock(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock.valid()) {
        fail("socket: " + plugin::errnoText(errno));
    }
    ifreq request{};
    std::strncpy(request.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    if (ioctl(sock.get(), SIOCGIFHWADDR, &request) != 0) {
        fail("read MAC address: " + plugin::errnoText(errno));
    }
    std::memcpy(mac_.data(), request.ifr_hwaddr.sa_data, mac_.size());

    // 2. Port 68 on this interface only, allowed to broadcast.
    int one = 1;
    if (setsockopt(sock.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        setsockopt(sock.get(), SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) != 0 ||
        setsockopt(sock.get(), SOL_SOCKET, SO_BINDTODEVICE, ifname.c_str(),
                   static_cast<socklen_t>(ifname.size())) != 0) {
        fail("setsockopt: " + plugin::errnoText(errno));
    }
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_port = htons(kClientPort);
    if (bind(sock.get(), reinterpret_cast<sockaddr *>(&local), sizeof(local)) != 0) {
        fail("bind 0.0.0.0:68: " + plugin::errnoText(errno));
    }
    socket_ = std::move(sock);
}

Lease Client::acquire(std::chrono::seconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;

    std::optional<Reply> offer =
        exchange(makeDiscover(randomXid(), mac_), kBroadcast, kOffer, kOffer, deadline);
    if (!offer) {
        fail("did not get DHCPOFFER within " + std::to_string(timeout.count()) + "s");
    }
    Ipv4 server = offer->message.address(kOptServerId).value_or(offer->source);
    Message request = makeSelectRequest(randomXid(), mac_, offer->message.yiaddr, server);
    std::optional<Reply> ack = exchange(request, kBroadcast, kAck, kNak, deadline);
    if (!ack) {
        fail("did not get DHCPACK within " + std::to_string(timeout.count()) + "s");
    }
    return leaseFrom(*ack);
}

Lease Client::renew(const Lease &current, bool broadcast, std::chrono::seconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    Message request = makeRenewRequest(randomXid(), mac_, current.address);
    Ipv4 destination = broadcast ? kBroadcast : current.server;
    std::optional<Reply> ack = exchange(request, destination, kAck, kNak, deadline);
    if (!ack) {
        fail("did not get DHCPACK within " + std::to_string(timeout.count()) + "s");
    }
    return leaseFrom(*ack);
}

void Client::release(const Lease &lease) {
    send(makeRelease(randomXid(), mac_, lease.address, lease.server), lease.server);
}

std::optional<Client::Reply> Client::exchange(Message request, Ipv4 destination, uint8_t wanted1,
                                              uint8_t wanted2,
                                              std::chrono::steady_clock::time_point deadline) {
    auto start = std::chrono::steady_clock::now();
    auto interval = kFirstRetransmit;
    while (std::chrono::steady_clock::now() < deadline) {
        auto elapsed = std::chrono::duration_cast<std::chrono::seconds>(
            std::chrono::steady_clock::now() - start);
        request.secs = static_cast<uint16_t>(std::min<int64_t>(elapsed.count(), 0xffff));
        send(request, destination);
        std::optional<Reply> reply =
            receive(request.xid, wanted1, wanted2,
                    std::min(deadline, std::chrono::steady_clock::now() + interval));
        if (reply) {
            return reply;
        }
        interval = std::min(interval * 2, kMaxRetransmit);
    }
    return std::nullopt;
}

void Client::send(const Message &message, Ipv4 destination) {
    std::vector<uint8_t> bytes = encode(message);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(kServerPort);
    to.sin_addr.s_addr = destination;
    ssize_t sent;
    do {
        sent = sendto(socket_.get(), bytes.data(), bytes.size(), 0,
                      reinterpret_cast<sockaddr *>(&to), sizeof(to));
    } while (sent < 0 && errno == EINTR);
    // A failed send is retried with the next retransmission; the deadline reports it.
}

std::optional<Client::Reply> Client::receive(uint32_t xid, uint8_t wanted1, uint8_t wanted2,
                                             std::chrono::steady_clock::time_point until) {
    uint8_t buf[1500];
    for (;;) {
        pollfd fd = {socket_.get(), POLLIN, 0};
        int n = poll(&fd, 1, millisUntil(until));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return std::nullopt;
        }
        sockaddr_in from{};
        socklen_t fromLength = sizeof(from);
        ssize_t got = recvfrom(socket_.get(), buf, sizeof(buf), 0,
                               reinterpret_cast<sockaddr *>(&from), &fromLength);
        if (got <= 0) {
            continue;
        }
        // Another client's traffic on the bridge, or an answer to an earlier request: skipped.
        std::optional<Message> reply = decode(buf, static_cast<size_t>(got));
        if (reply && reply->op == 2 && reply->xid == xid && reply->chaddr == mac_ &&
            (reply->type() == wanted1 || reply->type() == wanted2)) {
            return Reply{*reply, from.sin_addr.s_addr};
        }
    }
}

Lease Client::leaseFrom(const Reply &ack) const {
    if (ack.message.type() == kNak) {
        fail("got DHCPNAK from " + formatIpv4(ack.source));
    }
    std::string error;
    std::optional<Lease> lease = leaseFromAck(ack.message, ack.source, &error);
    if (!lease) {
        fail(error);
    }
    return *lease;
}

void Client::fail(const std::string &what) const {
    throw rkp::Error(-EIO, "dhcp on " + ifname_ + ": " + what);
}

}  // namespace rootlesskit::dhcp
