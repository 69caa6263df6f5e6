// Interface set-up over rtnetlink with libmnl: link up, MTU, address and default route.
//
// Why netlink instead of running ip(8): upstream runs "ip link set ... up", "ip link set ... mtu",
// "ip addr add" and "ip route add" one after the other, a fork/exec per step on the start-up
// path. Talking rtnetlink directly costs one socket per call, reports the kernel's errno (so the
// error line says "file exists" rather than "exit status 2"), and does not need iproute2 to be
// installed or allowed inside the namespace.
//
// Every request is sent with NLM_F_ACK and the acknowledgement is read back before returning, so
// a function returns only once the kernel has applied (or refused) the change.
#include "core/netlink.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cerrno>
#include <ctime>
#include <memory>
#include <vector>

namespace rootlesskit {
namespace {

struct MnlSocketCloser {
    void operator()(mnl_socket *sock) const { mnl_socket_close(sock); }
};
using MnlSocketPtr = std::unique_ptr<mnl_socket, MnlSocketCloser>;

// An IPv4 or IPv6 address parsed from text, in network byte order.
struct IpAddress {
    int family = AF_UNSPEC;
    unsigned char bytes[16] = {};
    size_t length() const { return family == AF_INET ? 4 : 16; }
    int maxPrefix() const { return family == AF_INET ? 32 : 128; }
};

// Parses text as IPv4 first, then IPv6. Fails "invalid address "X"".
Result<IpAddress> parseAddress(const std::string &text) {
    IpAddress address;
    if (inet_pton(AF_INET, text.c_str(), address.bytes) == 1) {
        address.family = AF_INET;
        return address;
    }
    if (inet_pton(AF_INET6, text.c_str(), address.bytes) == 1) {
        address.family = AF_INET6;
        return address;
    }
    return Status::error("invalid address \"" + text + "\"", EINVAL);
}

// The interface index of ifname, or ENODEV ("no such device") like the kernel would report.
Result<unsigned> interfaceIndex(const std::string &ifname) {
    unsigned index = if_nametoindex(ifname.c_str());
    if (index == 0) {
        int err = errno == 0 ? ENODEV : errno;
        return Status::error(errnoText(err), err);
    }
    return index;
}

// A request being built in its own buffer: the netlink header, its family header, attributes.
class Request {
public:
    Request(uint16_t type, uint16_t flags) {
        header_ = mnl_nlmsg_put_header(buffer_.data());
        header_->nlmsg_type = type;
        header_->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        header_->nlmsg_seq = static_cast<uint32_t>(time(nullptr));
    }

    template <typename T>
    T *putFamilyHeader() {
        return static_cast<T *>(mnl_nlmsg_put_extra_header(header_, sizeof(T)));
    }

    nlmsghdr *header() { return header_; }

private:
    std::vector<char> buffer_ = std::vector<char>(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr *header_;
};

// Sends request on a fresh NETLINK_ROUTE socket and waits for its acknowledgement. On failure the
// Status carries the kernel's errno and its text (the caller adds what was being done).
Status transact(Request &request) {
    MnlSocketPtr sock(mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC));
    if (!sock) {
        return Status::error("open netlink socket: " + errnoText(errno), errno);
    }
    if (mnl_socket_bind(sock.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
        return Status::error("bind netlink socket: " + errnoText(errno), errno);
    }

    nlmsghdr *header = request.header();
    if (mnl_socket_sendto(sock.get(), header, header->nlmsg_len) < 0) {
        return Status::error("send netlink request: " + errnoText(errno), errno);
    }

    // mnl_cb_run returns MNL_CB_STOP on a zero-error ACK and -1 with errno set on an error ACK.
    std::vector<char> reply(MNL_SOCKET_BUFFER_SIZE);
    unsigned portid = mnl_socket_get_portid(sock.get());
    int ret = MNL_CB_OK;
    while (ret > MNL_CB_STOP) {
        ssize_t n = mnl_socket_recvfrom(sock.get(), reply.data(), reply.size());
        if (n < 0) {
            return Status::error("receive netlink reply: " + errnoText(errno), errno);
        }
        ret = mnl_cb_run(reply.data(), static_cast<size_t>(n), header->nlmsg_seq, portid, nullptr,
                         nullptr);
    }
    if (ret < 0) {
        return Status::error(errnoText(errno), errno);
    }
    return {};
}

// RTM_NEWLINK on an existing link: adds the ifinfomsg for index and returns it.
ifinfomsg *putLinkHeader(Request &request, unsigned index) {
    auto *info = request.putFamilyHeader<ifinfomsg>();
    info->ifi_family = AF_UNSPEC;
    info->ifi_index = static_cast<int>(index);
    return info;
}

}  // namespace

Status netlinkLinkUp(const std::string &ifname) {
    const std::string op = "link " + ifname + " up";
    Result<unsigned> index = interfaceIndex(ifname);
    if (!index) {
        return index.status().wrap(op);
    }

    Request request(RTM_NEWLINK, 0);
    ifinfomsg *info = putLinkHeader(request, *index);
    info->ifi_change = IFF_UP;
    info->ifi_flags = IFF_UP;

    return transact(request).wrap(op);
}

Status netlinkSetMtu(const std::string &ifname, unsigned mtu) {
    const std::string op = "set mtu of " + ifname + " to " + std::to_string(mtu);
    Result<unsigned> index = interfaceIndex(ifname);
    if (!index) {
        return index.status().wrap(op);
    }

    Request request(RTM_NEWLINK, 0);
    putLinkHeader(request, *index);
    mnl_attr_put_u32(request.header(), IFLA_MTU, mtu);

    return transact(request).wrap(op);
}

Status netlinkAddAddress(const std::string &ifname, const std::string &address, int prefix) {
    const std::string op =
        "add address " + address + "/" + std::to_string(prefix) + " to " + ifname;
    Result<IpAddress> parsed = parseAddress(address);
    if (!parsed) {
        return parsed.status().wrap(op);
    }
    if (prefix < 0 || prefix > parsed->maxPrefix()) {
        return Status::error(op + ": prefix out of range", EINVAL);
    }
    Result<unsigned> index = interfaceIndex(ifname);
    if (!index) {
        return index.status().wrap(op);
    }

    // NLM_F_EXCL: like "ip addr add", an address that is already there is an error (EEXIST).
    Request request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
    auto *addr = request.putFamilyHeader<ifaddrmsg>();
    addr->ifa_family = static_cast<uint8_t>(parsed->family);
    addr->ifa_prefixlen = static_cast<uint8_t>(prefix);
    addr->ifa_scope = RT_SCOPE_UNIVERSE;
    addr->ifa_index = *index;
    mnl_attr_put(request.header(), IFA_LOCAL, parsed->length(), parsed->bytes);
    mnl_attr_put(request.header(), IFA_ADDRESS, parsed->length(), parsed->bytes);

    return transact(request).wrap(op);
}

Status netlinkAddDefaultRoute(const std::string &ifname, const std::string &gateway) {
    const std::string op = "add default route via " + gateway + " dev " + ifname;
    Result<IpAddress> parsed = parseAddress(gateway);
    if (!parsed) {
        return parsed.status().wrap(op);
    }
    Result<unsigned> index = interfaceIndex(ifname);
    if (!index) {
        return index.status().wrap(op);
    }

    Request request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
    auto *route = request.putFamilyHeader<rtmsg>();
    route->rtm_family = static_cast<uint8_t>(parsed->family);
    route->rtm_dst_len = 0;
    route->rtm_table = RT_TABLE_MAIN;
    route->rtm_protocol = RTPROT_BOOT;
    route->rtm_scope = RT_SCOPE_UNIVERSE;
    route->rtm_type = RTN_UNICAST;
    mnl_attr_put(request.header(), RTA_GATEWAY, parsed->length(), parsed->bytes);
    mnl_attr_put_u32(request.header(), RTA_OIF, *index);

    return transact(request).wrap(op);
}

}  // namespace rootlesskit
