// TransparentSource: the child half's transparent dial, so that the server inside sees the
// client's own address and port instead of a namespace-local one.
//
// Theory of operation: a dial socket gets IP_TRANSPARENT (IPV6_TRANSPARENT) and is bound to the
// client's address, which is not local inside the namespace. The server's replies would then
// follow the namespace's default route out of it; policy routing sends them back to lo instead,
// where the dial socket receives them. Everything is set up over rtnetlink and /proc/sys, with
// no tool spawned and no iptables:
// - TCP: the dial socket carries SO_MARK kMark; with net.ipv4.tcp_fwmark_accept=1 the server's
//   accepted socket inherits the mark of the SYN, and the rule "fwmark kMark lookup kTcpTable"
//   (table: "local default dev lo") routes every reply of the connection to lo. Nothing else in
//   the namespace carries the mark, so no other traffic changes route.
// - UDP: the server's reply socket has no mark (it may be a wildcard socket shared with other
//   clients). Each flow gets a rule of its own, "to <client> ipproto udp sport <server port>
//   dport <client port>", looking up a table "local default dev lo src <server address>" (one
//   table per server address: a wildcard-bound server's reply then leaves from the address the
//   dial socket is connected to). Only datagrams of that exact flow are captured. The rule is
//   deleted by sweep() once no socket is bound to the client's address and port any more, which
//   a bind() probe tells without any help from the parent half.
// The set-up runs once, lazily, at the first dial that needs it, and is cached; a dial costs a
// few socket options, and for UDP one netlink request. Nothing is undone at the end: the rules
// and routes die with the namespace.
//
// Plain dial instead (open() returns no socket): when disabled, when the client's address is
// unknown, loopback or of another family than the target, when the target is not a local
// address of the namespace (replies forwarded from elsewhere would not be captured), or when
// the kernel or the permissions refuse the set-up. The latter is logged as ONE warning per run.
//
// Threads: one, the child half's loop thread (it is in the namespace the dials happen in).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "fd.h"
#include "rootlesskit/rkp.h"
#include "socket_address.h"

namespace rkbuiltin {

class TransparentSource {
public:
    // The routing numbers, as upstream RootlessKit uses them for TCP.
    static constexpr uint32_t kMark = 100;
    static constexpr uint32_t kTcpTable = 100;
    static constexpr uint32_t kTcpRulePriority = 100;
    static constexpr uint32_t kUdpRulePriority = 101;
    static constexpr uint32_t kFirstUdpTable = 101;
    static constexpr uint32_t kMaxUdpTables = 64;
    static constexpr uint64_t kSweepIntervalMs = 10000;

    // host is borrowed and MUST outlive this object.
    explicit TransparentSource(const rkp_host *host);
    ~TransparentSource();
    TransparentSource(const TransparentSource &) = delete;
    TransparentSource &operator=(const TransparentSource &) = delete;

    void setEnabled(bool enabled) { enabled_ = enabled; }
    bool enabled() const { return enabled_; }

    // A non-blocking close-on-exec socket for transport (kTransportTcp, kTransportUdp) bound to
    // client's address and port, with replies from target routed back to it; not connected yet.
    // An invalid Fd when this dial must be plain (see above). client.length 0 means unknown.
    Fd open(uint32_t transport, const SocketAddress &client, const SocketAddress &target);

    // When sweep() should run next (CLOCK_MONOTONIC ms), or -1 when there is nothing to sweep.
    int64_t nextSweepMs() const;

    // Deletes the UDP rules of flows whose dial socket is gone.
    void sweep(uint64_t nowMs);

    // The client's address as the target's family would carry it (an IPv4-mapped IPv6 client
    // becomes IPv4 for an IPv4 target). Length 0 when it cannot be: unknown, loopback,
    // unspecified, or IPv6 towards IPv4 and the reverse.
    static SocketAddress sourceFor(const SocketAddress &client, const SocketAddress &target);

private:
    enum class State { Unknown, Ready, Failed };
    struct UdpRule {
        int family;
        std::string clientBytes;  // the raw address
        uint16_t clientPort;
        uint16_t targetPort;
        uint32_t table;
        bool operator<(const UdpRule &other) const;
    };
    class Netlink;

    Fd bindTransparent(bool tcp, const SocketAddress &source);
    bool ensureTcpRouting(int family);
    bool ensureNetlink();
    uint32_t udpTableFor(const SocketAddress &target);
    bool addUdpRule(const SocketAddress &source, const SocketAddress &target);
    bool targetIsLocal(const SocketAddress &target);
    bool stillBound(const UdpRule &rule) const;
    void fail(const std::string &why);

    const rkp_host *host_;
    bool enabled_ = false;
    bool warned_ = false;
    bool transparentRefused_ = false;
    bool udpRulesRefused_ = false;
    State sysctl_ = State::Unknown;
    State tcp4_ = State::Unknown;
    State tcp6_ = State::Unknown;
    std::unique_ptr<Netlink> netlink_;
    bool netlinkFailed_ = false;
    std::map<std::string, uint32_t> udpTables_;  // server address text -> table
    std::map<std::string, bool> local_;          // target address text -> local inside
    std::set<UdpRule> udpRules_;
    uint64_t nextSweepMs_ = 0;
};

}  // namespace rkbuiltin
