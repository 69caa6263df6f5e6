// ioctl-based interface set-up; see netdev.h.
#include "netdev.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rkp::conformance {

namespace {

// A datagram socket to issue interface ioctls on, closed with the scope.
class IoctlSocket {
public:
    IoctlSocket() : fd_(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {}
    ~IoctlSocket() {
        if (fd_ >= 0) {
            close(fd_);
        }
    }
    int fd() const { return fd_; }

private:
    int fd_;
};

std::string failure(const std::string &what, int error) {
    return what + ": " + std::strerror(error);
}

bool fillName(ifreq &request, const std::string &dev) {
    std::memset(&request, 0, sizeof(request));
    if (dev.empty() || dev.size() >= sizeof(request.ifr_name)) {
        return false;
    }
    std::memcpy(request.ifr_name, dev.c_str(), dev.size());
    return true;
}

sockaddr_in ipv4(in_addr_t address) {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = address;
    return in;
}

// ioctl(request) on dev, with the error text made from operation.
std::string ioctlOn(const std::string &dev, unsigned long request, ifreq &req,
                    const std::string &operation) {
    IoctlSocket sock;
    if (sock.fd() < 0) {
        return failure(operation + " " + dev + ": socket", errno);
    }
    if (ioctl(sock.fd(), request, &req) < 0) {
        return failure(operation + " " + dev, errno);
    }
    return "";
}

}  // namespace

std::string linkUp(const std::string &dev) {
    ifreq req;
    if (!fillName(req, dev)) {
        return "link up " + dev + ": bad interface name";
    }
    std::string error = ioctlOn(dev, SIOCGIFFLAGS, req, "get flags of");
    if (!error.empty()) {
        return error;
    }
    req.ifr_flags |= IFF_UP;
    return ioctlOn(dev, SIOCSIFFLAGS, req, "link up");
}

std::string setMtu(const std::string &dev, int mtu) {
    ifreq req;
    if (!fillName(req, dev)) {
        return "set mtu of " + dev + ": bad interface name";
    }
    req.ifr_mtu = mtu;
    return ioctlOn(dev, SIOCSIFMTU, req, "set mtu " + std::to_string(mtu) + " on");
}

std::string addIPv4Address(const std::string &dev, const std::string &ip, int prefix) {
    in_addr address{};
    if (inet_pton(AF_INET, ip.c_str(), &address) != 1 || prefix < 0 || prefix > 32) {
        return "add address " + ip + "/" + std::to_string(prefix) + ": not an IPv4 address";
    }
    ifreq req;
    if (!fillName(req, dev)) {
        return "add address to " + dev + ": bad interface name";
    }
    sockaddr_in in = ipv4(address.s_addr);
    std::memcpy(&req.ifr_addr, &in, sizeof(in));
    std::string error = ioctlOn(dev, SIOCSIFADDR, req, "add address " + ip + " to");
    if (!error.empty()) {
        return error;
    }
    in_addr_t mask = prefix == 0 ? 0 : htonl(~((1u << (32 - prefix)) - 1));
    sockaddr_in netmask = ipv4(mask);
    std::memcpy(&req.ifr_netmask, &netmask, sizeof(netmask));
    return ioctlOn(dev, SIOCSIFNETMASK, req, "set prefix /" + std::to_string(prefix) + " on");
}

std::string addDefaultRoute(const std::string &dev, const std::string &gateway) {
    in_addr address{};
    if (inet_pton(AF_INET, gateway.c_str(), &address) != 1) {
        return "add default route via " + gateway + ": not an IPv4 address";
    }
    rtentry route{};
    sockaddr_in any = ipv4(INADDR_ANY);
    sockaddr_in via = ipv4(address.s_addr);
    std::memcpy(&route.rt_dst, &any, sizeof(any));
    std::memcpy(&route.rt_genmask, &any, sizeof(any));
    std::memcpy(&route.rt_gateway, &via, sizeof(via));
    route.rt_flags = RTF_UP | RTF_GATEWAY;
    std::string name = dev;
    route.rt_dev = name.data();

    IoctlSocket sock;
    if (sock.fd() < 0 || ioctl(sock.fd(), SIOCADDRT, &route) < 0) {
        return failure("add default route via " + gateway + " dev " + dev, errno);
    }
    return "";
}

std::string checkInterface(const std::string &dev, const std::string &ip) {
    ifreq req;
    if (!fillName(req, dev) || if_nametoindex(dev.c_str()) == 0) {
        return "interface " + dev + " does not exist in the child's network namespace";
    }
    std::string error = ioctlOn(dev, SIOCGIFFLAGS, req, "get flags of");
    if (!error.empty()) {
        return error;
    }
    if ((req.ifr_flags & IFF_UP) == 0) {
        return "interface " + dev + " is down";
    }
    if (ip.empty()) {
        return "";
    }
    error = ioctlOn(dev, SIOCGIFADDR, req, "get address of");
    if (!error.empty()) {
        return error;
    }
    char text[INET_ADDRSTRLEN] = "";
    sockaddr_in in{};
    std::memcpy(&in, &req.ifr_addr, sizeof(in));
    inet_ntop(AF_INET, &in.sin_addr, text, sizeof(text));
    return ip == text ? "" : "interface " + dev + " has address " + text + ", not " + ip;
}

}  // namespace rkp::conformance
