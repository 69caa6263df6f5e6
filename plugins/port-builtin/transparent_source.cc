// TransparentSource: routing set-up over rtnetlink and the transparent dial socket.
#include "transparent_source.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cerrno>
#include <cstring>
#include <tuple>
#include <vector>

#include "control_protocol.h"
#include "rootlesskit/rkp.hpp"

namespace rkbuiltin {

namespace {

constexpr const char *kFwmarkAcceptPath = "/proc/sys/net/ipv4/tcp_fwmark_accept";

bool isV4Mapped(const SocketAddress &address) {
    if (address.family() != AF_INET6) {
        return false;
    }
    const auto *v6 = reinterpret_cast<const sockaddr_in6 *>(&address.storage);
    return IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr);
}

// The address bytes (4 or 16), without the port.
std::string addressBytes(const SocketAddress &address) {
    if (address.family() == AF_INET) {
        const auto *v4 = reinterpret_cast<const sockaddr_in *>(&address.storage);
        return std::string(reinterpret_cast<const char *>(&v4->sin_addr), sizeof(in_addr));
    }
    const auto *v6 = reinterpret_cast<const sockaddr_in6 *>(&address.storage);
    return std::string(reinterpret_cast<const char *>(&v6->sin6_addr), sizeof(in6_addr));
}

// The address without the port, as text ("192.0.2.1", "2001:db8::1").
std::string addressText(const SocketAddress &address) {
    char text[INET6_ADDRSTRLEN] = {};
    std::string bytes = addressBytes(address);
    inet_ntop(address.family(), bytes.data(), text, sizeof(text));
    return text;
}

int setOption(int fd, int level, int name, int value) {
    return setsockopt(fd, level, name, &value, sizeof(value)) == 0 ? 0 : -errno;
}

int setTransparent(int fd, int family) {
    return family == AF_INET6 ? setOption(fd, SOL_IPV6, IPV6_TRANSPARENT, 1)
                              : setOption(fd, SOL_IP, IP_TRANSPARENT, 1);
}

// Writes value into a /proc/sys file of the calling thread's network namespace.
int writeSysctl(const char *path, const char *value) {
    Fd file(::open(path, O_WRONLY | O_CLOEXEC));
    if (!file.valid()) {
        return -errno;
    }
    size_t length = std::strlen(value);
    ssize_t n = write(file.get(), value, length);
    if (n < 0) {
        return -errno;
    }
    return static_cast<size_t>(n) == length ? 0 : -EIO;
}

}  // namespace

// One rtnetlink socket in the dialing thread's namespace; each request waits for its ACK.
class TransparentSource::Netlink {
public:
    ~Netlink() {
        if (socket_ != nullptr) {
            mnl_socket_close(socket_);
        }
    }

    int open() {
        socket_ = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
        if (socket_ == nullptr) {
            return -errno;
        }
        if (mnl_socket_bind(socket_, 0, MNL_SOCKET_AUTOPID) < 0) {
            return -errno;
        }
        return 0;
    }

    // "ip route add local default dev lo table <table> [src <preferred>]".
    int addLocalDefaultRoute(int family, uint32_t table, const std::string *preferred) {
        nlmsghdr *header = start(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
        auto *route = static_cast<rtmsg *>(mnl_nlmsg_put_extra_header(header, sizeof(rtmsg)));
        route->rtm_family = static_cast<uint8_t>(family);
        route->rtm_table = RT_TABLE_UNSPEC;
        route->rtm_protocol = RTPROT_BOOT;
        route->rtm_scope = RT_SCOPE_HOST;
        route->rtm_type = RTN_LOCAL;
        mnl_attr_put_u32(header, RTA_TABLE, table);
        mnl_attr_put_u32(header, RTA_OIF, if_nametoindex("lo"));
        if (preferred != nullptr) {
            mnl_attr_put(header, RTA_PREFSRC, preferred->size(), preferred->data());
        }
        return transact(header, true);
    }

    // "ip rule add fwmark <mark> lookup <table> priority <priority>".
    int addMarkRule(int family, uint32_t mark, uint32_t table, uint32_t priority) {
        nlmsghdr *header = start(RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL);
        putRuleHeader(header, family, 0);
        mnl_attr_put_u32(header, FRA_PRIORITY, priority);
        mnl_attr_put_u32(header, FRA_TABLE, table);
        mnl_attr_put_u32(header, FRA_FWMARK, mark);
        mnl_attr_put_u32(header, FRA_FWMASK, UINT32_MAX);
        return transact(header, true);
    }

    // "ip rule add|del to <client> ipproto udp sport <sport> dport <dport> lookup <table>
    // priority <priority>".
    int udpFlowRule(bool add, int family, const std::string &client, uint16_t sport, uint16_t dport,
                    uint32_t table, uint32_t priority) {
        nlmsghdr *header =
            start(add ? RTM_NEWRULE : RTM_DELRULE, add ? NLM_F_CREATE | NLM_F_EXCL : 0);
        putRuleHeader(header, family, static_cast<uint8_t>(client.size() * 8));
        mnl_attr_put_u32(header, FRA_PRIORITY, priority);
        mnl_attr_put_u32(header, FRA_TABLE, table);
        mnl_attr_put(header, FRA_DST, client.size(), client.data());
        mnl_attr_put_u8(header, FRA_IP_PROTO, IPPROTO_UDP);
        fib_rule_port_range source{sport, sport};
        fib_rule_port_range destination{dport, dport};
        mnl_attr_put(header, FRA_SPORT_RANGE, sizeof(source), &source);
        mnl_attr_put(header, FRA_DPORT_RANGE, sizeof(destination), &destination);
        return transact(header, add);
    }

private:
    nlmsghdr *start(uint16_t type, uint16_t flags) {
        buffer_.assign(MNL_SOCKET_BUFFER_SIZE, 0);
        nlmsghdr *header = mnl_nlmsg_put_header(buffer_.data());
        header->nlmsg_type = type;
        header->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        header->nlmsg_seq = ++sequence_;
        return header;
    }

    static void putRuleHeader(nlmsghdr *header, int family, uint8_t dstLength) {
        auto *rule =
            static_cast<fib_rule_hdr *>(mnl_nlmsg_put_extra_header(header, sizeof(fib_rule_hdr)));
        rule->family = static_cast<uint8_t>(family);
        rule->dst_len = dstLength;
        rule->action = FR_ACT_TO_TBL;
    }

    // Sends the request and waits for its ACK: 0 or the kernel's negative errno. With
    // existingIsFine, -EEXIST counts as success (a rule or route left by an earlier dial).
    int transact(nlmsghdr *header, bool existingIsFine) {
        if (mnl_socket_sendto(socket_, header, header->nlmsg_len) < 0) {
            return -errno;
        }
        std::vector<char> reply(MNL_SOCKET_BUFFER_SIZE);
        unsigned portid = mnl_socket_get_portid(socket_);
        int rc;
        do {
            ssize_t n = mnl_socket_recvfrom(socket_, reply.data(), reply.size());
            if (n < 0) {
                return -errno;
            }
            rc = mnl_cb_run(reply.data(), static_cast<size_t>(n), header->nlmsg_seq, portid,
                            nullptr, nullptr);
        } while (rc == MNL_CB_OK);
        if (rc < 0) {
            int error = errno;
            return existingIsFine && error == EEXIST ? 0 : -error;
        }
        return 0;
    }

    mnl_socket *socket_ = nullptr;
    std::vector<char> buffer_;
    uint32_t sequence_ = 0;
};

bool TransparentSource::UdpRule::operator<(const UdpRule &other) const {
    return std::tie(family, clientBytes, clientPort, targetPort, table) <
           std::tie(other.family, other.clientBytes, other.clientPort, other.targetPort,
                    other.table);
}

TransparentSource::TransparentSource(const rkp_host *host) : host_(host) {}

TransparentSource::~TransparentSource() = default;

SocketAddress TransparentSource::sourceFor(const SocketAddress &client,
                                           const SocketAddress &target) {
    SocketAddress source;
    if (client.length == 0 || client.isLoopback() || client.isUnspecified()) {
        return source;
    }
    if (isV4Mapped(client) && target.family() == AF_INET) {
        const auto *v6 = reinterpret_cast<const sockaddr_in6 *>(&client.storage);
        auto *v4 = reinterpret_cast<sockaddr_in *>(&source.storage);
        v4->sin_family = AF_INET;
        v4->sin_port = v6->sin6_port;
        std::memcpy(&v4->sin_addr, &v6->sin6_addr.s6_addr[12], sizeof(in_addr));
        source.length = sizeof(sockaddr_in);
        return source;
    }
    if (client.family() != target.family() || isV4Mapped(client)) {
        return source;
    }
    return client;
}

Fd TransparentSource::open(uint32_t transport, const SocketAddress &client,
                           const SocketAddress &target) {
    if (!enabled_ || transparentRefused_) {
        return Fd();
    }
    SocketAddress source = sourceFor(client, target);
    if (source.length == 0 || target.isUnspecified() || !targetIsLocal(target)) {
        return Fd();
    }

    bool tcp = transport == kTransportTcp;
    if (tcp ? !ensureTcpRouting(target.family()) : (udpRulesRefused_ || udpTableFor(target) == 0)) {
        return Fd();
    }

    Fd s = bindTransparent(tcp, source);
    if (s.valid() && !tcp && !addUdpRule(source, target)) {
        s.reset();
    }
    return s;
}

// The dial socket itself: IP_TRANSPARENT, SO_REUSEADDR (the same client address and port may
// be dialing to two targets), SO_MARK for TCP, bound to source.
Fd TransparentSource::bindTransparent(bool tcp, const SocketAddress &source) {
    int family = source.family();
    Fd s(socket(family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!s.valid()) {
        return Fd();
    }

    int rc = setTransparent(s.get(), family);
    if (rc == -EPERM || rc == -ENOPROTOOPT) {
        transparentRefused_ = true;
        fail(std::string(family == AF_INET6 ? "IPV6_TRANSPARENT" : "IP_TRANSPARENT") + ": " +
             errnoText(rc));
        return Fd();
    }

    if (rc == 0) {
        rc = setOption(s.get(), SOL_SOCKET, SO_REUSEADDR, 1);
    }
    if (rc == 0 && tcp) {
        rc = setOption(s.get(), SOL_SOCKET, SO_MARK, static_cast<int>(kMark));
        setOption(s.get(), IPPROTO_TCP, TCP_NODELAY, 1);  // as the plain dial does
    }
    if (rc == 0 && bind(s.get(), source.raw(), source.length) != 0) {
        rc = -errno;
    }
    if (rc < 0) {
        if (rkp::logEnabled(host_, RKP_LOG_TRACE)) {
            rkp::log(host_, RKP_LOG_TRACE, "transparent dial from %s: %s",
                     source.toString().c_str(), errnoText(rc).c_str());
        }
        return Fd();
    }
    return s;
}

int64_t TransparentSource::nextSweepMs() const {
    return udpRules_.empty() ? -1 : static_cast<int64_t>(nextSweepMs_);
}

void TransparentSource::sweep(uint64_t nowMs) {
    if (udpRules_.empty() || nowMs < nextSweepMs_) {
        return;
    }
    nextSweepMs_ = nowMs + kSweepIntervalMs;
    for (auto it = udpRules_.begin(); it != udpRules_.end();) {
        const UdpRule &rule = *it;
        if (stillBound(rule)) {
            ++it;
            continue;
        }
        int rc = netlink_->udpFlowRule(false, rule.family, rule.clientBytes, rule.targetPort,
                                       rule.clientPort, rule.table, kUdpRulePriority);
        if (rc < 0 && rc != -ENOENT && rkp::logEnabled(host_, RKP_LOG_TRACE)) {
            rkp::log(host_, RKP_LOG_TRACE, "delete UDP flow rule: %s", errnoText(rc).c_str());
        }
        it = udpRules_.erase(it);
    }
}

// TCP: route, rule and sysctl for family, once.
bool TransparentSource::ensureTcpRouting(int family) {
    State &state = family == AF_INET6 ? tcp6_ : tcp4_;
    if (state != State::Unknown) {
        return state == State::Ready;
    }
    state = State::Failed;
    if (sysctl_ == State::Unknown) {
        int rc = writeSysctl(kFwmarkAcceptPath, "1");
        sysctl_ = rc == 0 ? State::Ready : State::Failed;
        if (rc < 0) {
            fail(std::string("write ") + kFwmarkAcceptPath + ": " + errnoText(rc));
        }
    }
    if (sysctl_ != State::Ready || !ensureNetlink()) {
        return false;
    }
    const char *name = family == AF_INET6 ? "IPv6" : "IPv4";
    int rc = netlink_->addLocalDefaultRoute(family, kTcpTable, nullptr);
    if (rc < 0) {
        fail(std::string("add ") + name + " route \"local default dev lo table " +
             std::to_string(kTcpTable) + "\": " + errnoText(rc));
        return false;
    }
    rc = netlink_->addMarkRule(family, kMark, kTcpTable, kTcpRulePriority);
    if (rc < 0) {
        fail(std::string("add ") + name + " rule \"fwmark " + std::to_string(kMark) + " lookup " +
             std::to_string(kTcpTable) + "\": " + errnoText(rc));
        return false;
    }
    state = State::Ready;
    rkp::log(host_, RKP_LOG_DEBUG, "source IP transparent: %s TCP routing ready", name);
    return true;
}

bool TransparentSource::ensureNetlink() {
    if (netlink_) {
        return true;
    }
    if (netlinkFailed_) {
        return false;
    }
    auto netlink = std::make_unique<Netlink>();
    int rc = netlink->open();
    if (rc < 0) {
        netlinkFailed_ = true;
        fail("open rtnetlink socket: " + errnoText(rc));
        return false;
    }
    netlink_ = std::move(netlink);
    return true;
}

// The table whose default local route prefers target's address as source; 0 when none can be.
uint32_t TransparentSource::udpTableFor(const SocketAddress &target) {
    std::string key = addressText(target);
    auto found = udpTables_.find(key);
    if (found != udpTables_.end()) {
        return found->second;
    }
    if (udpTables_.size() >= kMaxUdpTables || !ensureNetlink()) {
        return 0;
    }
    uint32_t table = kFirstUdpTable + static_cast<uint32_t>(udpTables_.size());
    std::string bytes = addressBytes(target);
    int rc = netlink_->addLocalDefaultRoute(target.family(), table, &bytes);
    if (rc < 0) {
        udpRulesRefused_ = rc != -ENOBUFS && rc != -ENOMEM;  // else a later flow may try again
        fail("add route \"local default dev lo src " + key + " table " + std::to_string(table) +
             "\": " + errnoText(rc));
        return 0;
    }
    udpTables_.emplace(key, table);
    return table;
}

bool TransparentSource::addUdpRule(const SocketAddress &source, const SocketAddress &target) {
    UdpRule rule{source.family(), addressBytes(source), source.port(), target.port(),
                 udpTableFor(target)};
    if (udpRules_.count(rule) != 0) {
        return true;
    }
    int rc = netlink_->udpFlowRule(true, rule.family, rule.clientBytes, rule.targetPort,
                                   rule.clientPort, rule.table, kUdpRulePriority);
    if (rc == -EPERM || rc == -EINVAL || rc == -EOPNOTSUPP || rc == -EAFNOSUPPORT) {
        udpRulesRefused_ = true;  // no permission, or a kernel without port selectors in rules
        fail("add UDP flow rule for " + source.toString() + ": " + errnoText(rc));
        return false;
    }
    if (rc < 0) {
        if (rkp::logEnabled(host_, RKP_LOG_TRACE)) {
            rkp::log(host_, RKP_LOG_TRACE, "add UDP flow rule for %s: %s",
                     source.toString().c_str(), errnoText(rc).c_str());
        }
        return false;
    }
    if (udpRules_.empty()) {
        nextSweepMs_ = 0;
    }
    udpRules_.insert(std::move(rule));
    return true;
}

// A target address that is not local would be reached through an interface, and the replies
// forwarded back would not be captured by the routing above.
bool TransparentSource::targetIsLocal(const SocketAddress &target) {
    if (target.isLoopback()) {
        return true;
    }
    std::string key = addressText(target);
    auto found = local_.find(key);
    if (found != local_.end()) {
        return found->second;
    }
    SocketAddress probe = target;
    if (probe.family() == AF_INET6) {
        reinterpret_cast<sockaddr_in6 *>(&probe.storage)->sin6_port = 0;
    } else {
        reinterpret_cast<sockaddr_in *>(&probe.storage)->sin_port = 0;
    }
    Fd s(socket(target.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0));
    bool local = s.valid() && bind(s.get(), probe.raw(), probe.length) == 0;
    local_.emplace(key, local);
    return local;
}

// True while some socket is bound to the rule's client address and port: a probe bound there
// without SO_REUSEADDR conflicts with it.
bool TransparentSource::stillBound(const UdpRule &rule) const {
    SocketAddress address;
    if (rule.family == AF_INET6) {
        auto *v6 = reinterpret_cast<sockaddr_in6 *>(&address.storage);
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(rule.clientPort);
        std::memcpy(&v6->sin6_addr, rule.clientBytes.data(), sizeof(in6_addr));
        address.length = sizeof(sockaddr_in6);
    } else {
        auto *v4 = reinterpret_cast<sockaddr_in *>(&address.storage);
        v4->sin_family = AF_INET;
        v4->sin_port = htons(rule.clientPort);
        std::memcpy(&v4->sin_addr, rule.clientBytes.data(), sizeof(in_addr));
        address.length = sizeof(sockaddr_in);
    }
    Fd probe(socket(rule.family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!probe.valid() || setTransparent(probe.get(), rule.family) != 0) {
        return true;  // cannot tell: keep the rule
    }
    return bind(probe.get(), address.raw(), address.length) != 0;
}

void TransparentSource::fail(const std::string &why) {
    if (warned_) {
        rkp::log(host_, RKP_LOG_DEBUG, "source IP transparent: %s", why.c_str());
        return;
    }
    warned_ = true;
    rkp::log(host_, RKP_LOG_WARN,
             "source IP transparent: %s; falling back to a namespace-local source address",
             why.c_str());
}

}  // namespace rkbuiltin
