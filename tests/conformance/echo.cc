// Echo servers and clients; see echo.h.
#include "echo.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

namespace rkp::conformance {

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kDeadline = std::chrono::seconds(20);

std::string errnoText(int error) {
    return std::strerror(error);
}

// address:port as a socket address; the length, 0 when address is not an IP literal.
socklen_t makeAddress(const std::string &address, uint16_t port, sockaddr_storage *storage) {
    std::memset(storage, 0, sizeof(*storage));
    auto *v4 = reinterpret_cast<sockaddr_in *>(storage);
    if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        return sizeof(sockaddr_in);
    }
    auto *v6 = reinterpret_cast<sockaddr_in6 *>(storage);
    if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        return sizeof(sockaddr_in6);
    }
    return 0;
}

int remainingMs(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// A socket of the server's kind bound to every address, port 0: [::] with IPv4 mapped in, or
// 0.0.0.0 when the namespace has no IPv6.
Fd bindEverywhere(int type) {
    Fd fd(socket(AF_INET6, type | SOCK_CLOEXEC, 0));
    if (fd.get() >= 0) {
        int zero = 0;
        setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
        sockaddr_in6 any{};
        any.sin6_family = AF_INET6;
        if (bind(fd.get(), reinterpret_cast<sockaddr *>(&any), sizeof(any)) == 0) {
            return fd;
        }
    }
    fd = Fd(socket(AF_INET, type | SOCK_CLOEXEC, 0));
    sockaddr_in any{};
    any.sin_family = AF_INET;
    if (fd.get() < 0 || bind(fd.get(), reinterpret_cast<sockaddr *>(&any), sizeof(any)) < 0) {
        return Fd();
    }
    return fd;
}

uint16_t boundPort(int fd) {
    sockaddr_storage storage{};
    socklen_t length = sizeof(storage);
    getsockname(fd, reinterpret_cast<sockaddr *>(&storage), &length);
    return storage.ss_family == AF_INET6
               ? ntohs(reinterpret_cast<sockaddr_in6 *>(&storage)->sin6_port)
               : ntohs(reinterpret_cast<sockaddr_in *>(&storage)->sin_port);
}

void serveTcpConnection(int fd) {
    std::vector<char> buffer(65536);
    for (;;) {
        ssize_t got = recv(fd, buffer.data(), buffer.size(), 0);
        if (got <= 0) {
            break;
        }
        for (ssize_t sent = 0; sent < got;) {
            ssize_t n = send(fd, buffer.data() + sent, got - sent, MSG_NOSIGNAL);
            if (n <= 0) {
                close(fd);
                return;
            }
            sent += n;
        }
    }
    shutdown(fd, SHUT_WR);
    close(fd);
}

void serveTcp(int listener) {
    for (;;) {
        int fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) {
            std::thread(serveTcpConnection, fd).detach();
        }
    }
}

void serveUdp(int fd) {
    std::vector<char> buffer(65536);
    for (;;) {
        sockaddr_storage from{};
        socklen_t length = sizeof(from);
        ssize_t got = recvfrom(fd, buffer.data(), buffer.size(), 0,
                               reinterpret_cast<sockaddr *>(&from), &length);
        if (got >= 0) {
            sendto(fd, buffer.data(), got, 0, reinterpret_cast<sockaddr *>(&from), length);
        }
    }
}

std::vector<char> pattern(size_t bytes, unsigned seed) {
    std::vector<char> data(bytes);
    unsigned state = seed * 2654435761u + 1;
    for (char &c : data) {
        state = state * 1103515245u + 12345u;
        c = static_cast<char>(state >> 16);
    }
    return data;
}

// Connects with a deadline; "" or why not.
std::string connectTo(int fd, const std::string &address, uint16_t port) {
    sockaddr_storage storage;
    socklen_t length = makeAddress(address, port, &storage);
    if (length == 0) {
        return "connect " + address + ": not an IP address";
    }
    if (connect(fd, reinterpret_cast<sockaddr *>(&storage), length) == 0) {
        return "";
    }
    if (errno != EINPROGRESS) {
        return "connect " + address + ":" + std::to_string(port) + ": " + errnoText(errno);
    }
    pollfd waiting{fd, POLLOUT, 0};
    if (poll(&waiting, 1, 10000) != 1) {
        return "connect " + address + ":" + std::to_string(port) + ": no answer within 10 s";
    }
    int error = 0;
    socklen_t size = sizeof(error);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size);
    return error == 0 ? ""
                      : "connect " + address + ":" + std::to_string(port) + ": " + errnoText(error);
}

int familyOf(const std::string &address) {
    return address.find(':') != std::string::npos ? AF_INET6 : AF_INET;
}

// Moves the pattern out and the echo in, concurrently, so a large payload cannot deadlock on
// full buffers. "" when all came back before the deadline.
std::string pumpEcho(int fd, const std::vector<char> &out, std::vector<char> &in) {
    Clock::time_point deadline = Clock::now() + kDeadline;
    size_t sent = 0;
    std::vector<char> buffer(65536);
    for (;;) {
        pollfd fds{fd, static_cast<short>(POLLIN | (sent < out.size() ? POLLOUT : 0)), 0};
        if (poll(&fds, 1, remainingMs(deadline)) <= 0) {
            return "no echo within 20 s (" + std::to_string(in.size()) + " of " +
                   std::to_string(out.size()) + " bytes back)";
        }
        if ((fds.revents & POLLOUT) && sent < out.size()) {
            ssize_t n = send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN) {
                return "send: " + errnoText(errno);
            }
            sent += n > 0 ? static_cast<size_t>(n) : 0;
            if (sent == out.size()) {
                shutdown(fd, SHUT_WR);
            }
        }
        if (fds.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = recv(fd, buffer.data(), buffer.size(), 0);
            if (n == 0) {
                return "";
            }
            if (n < 0 && errno != EAGAIN) {
                return "receive: " + errnoText(errno) + " after " + std::to_string(in.size()) +
                       " bytes";
            }
            in.insert(in.end(), buffer.data(), buffer.data() + (n > 0 ? n : 0));
        }
    }
}

}  // namespace

// ---- Fd ----------------------------------------------------------------------------------------

Fd::~Fd() {
    if (fd_ >= 0) {
        close(fd_);
    }
}

Fd &Fd::operator=(Fd &&other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) {
            close(fd_);
        }
        fd_ = other.release();
    }
    return *this;
}

int Fd::release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
}

// ---- Servers -----------------------------------------------------------------------------------

std::string startEchoServers(uint16_t *tcpPort, uint16_t *udpPort) {
    Fd tcp = bindEverywhere(SOCK_STREAM);
    if (tcp.get() < 0 || listen(tcp.get(), SOMAXCONN) < 0) {
        return "tcp echo server: " + errnoText(errno);
    }
    Fd udp = bindEverywhere(SOCK_DGRAM);
    if (udp.get() < 0) {
        return "udp echo server: " + errnoText(errno);
    }
    *tcpPort = boundPort(tcp.get());
    *udpPort = boundPort(udp.get());
    std::thread(serveTcp, tcp.release()).detach();
    std::thread(serveUdp, udp.release()).detach();
    return "";
}

// ---- Clients -----------------------------------------------------------------------------------

uint16_t freePort(const std::string &address, int type) {
    sockaddr_storage storage;
    socklen_t length = makeAddress(address, 0, &storage);
    Fd fd(socket(storage.ss_family, type | SOCK_CLOEXEC, 0));
    if (length == 0 || fd.get() < 0 ||
        bind(fd.get(), reinterpret_cast<sockaddr *>(&storage), length) < 0) {
        return 0;
    }
    return boundPort(fd.get());
}

bool canBind(const std::string &address) {
    return freePort(address, SOCK_STREAM) != 0;
}

std::string tcpEcho(const std::string &address, uint16_t port, size_t bytes, unsigned seed) {
    Fd fd(socket(familyOf(address), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    std::string error = connectTo(fd.get(), address, port);
    if (!error.empty()) {
        return error;
    }
    error = tcpEchoOver(fd.get(), bytes, seed);
    return error.empty()
               ? ""
               : "tcp echo through " + address + ":" + std::to_string(port) + ": " + error;
}

std::string tcpEchoOver(int fd, size_t bytes, unsigned seed) {
    std::vector<char> out = pattern(bytes, seed);
    std::vector<char> in;
    std::string error = pumpEcho(fd, out, in);
    if (!error.empty()) {
        return error;
    }
    if (in != out) {
        return "sent " + std::to_string(out.size()) + " bytes, got " + std::to_string(in.size()) +
               (in.size() == out.size() ? " different ones" : "");
    }
    return "";
}

std::string udpEcho(const std::string &address, uint16_t port, int count) {
    sockaddr_storage storage;
    socklen_t length = makeAddress(address, port, &storage);
    Fd fd(socket(familyOf(address), SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (length == 0 || fd.get() < 0 ||
        connect(fd.get(), reinterpret_cast<sockaddr *>(&storage), length) < 0) {
        return "udp echo to " + address + ":" + std::to_string(port) + ": " + errnoText(errno);
    }
    std::vector<char> buffer(65536);
    for (int i = 0; i < count; i++) {
        std::vector<char> out = pattern(16 + static_cast<size_t>(i) * 300, i);
        bool echoed = false;
        for (int attempt = 0; attempt < 10 && !echoed; attempt++) {
            send(fd.get(), out.data(), out.size(), 0);
            pollfd fds{fd.get(), POLLIN, 0};
            while (!echoed && poll(&fds, 1, 500) == 1) {
                ssize_t n = recv(fd.get(), buffer.data(), buffer.size(), 0);
                echoed = n == static_cast<ssize_t>(out.size()) &&
                         std::equal(out.begin(), out.end(), buffer.begin());
            }
        }
        if (!echoed) {
            return "udp echo through " + address + ":" + std::to_string(port) + ": datagram " +
                   std::to_string(i + 1) + " of " + std::to_string(count) +
                   " not echoed after 10 tries";
        }
    }
    return "";
}

std::string expectRefused(const std::string &address, uint16_t port) {
    Fd fd(socket(familyOf(address), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    std::string error = connectTo(fd.get(), address, port);
    if (error.empty()) {
        return "connect " + address + ":" + std::to_string(port) +
               ": accepted, but nothing should listen there any more";
    }
    return error.find(errnoText(ECONNREFUSED)) != std::string::npos ? "" : error;
}

Fd listenTcp(const std::string &address, uint16_t port) {
    sockaddr_storage storage;
    socklen_t length = makeAddress(address, port, &storage);
    Fd fd(socket(familyOf(address), SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (length == 0 || fd.get() < 0 ||
        bind(fd.get(), reinterpret_cast<sockaddr *>(&storage), length) < 0 ||
        listen(fd.get(), 8) < 0) {
        return Fd();
    }
    return fd;
}

Fd openEchoedConnection(const std::string &address, uint16_t port, std::string *error) {
    Fd fd(socket(familyOf(address), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    *error = connectTo(fd.get(), address, port);
    char byte = 'x';
    pollfd fds{fd.get(), POLLIN, 0};
    if (error->empty() && (send(fd.get(), &byte, 1, MSG_NOSIGNAL) != 1 ||
                           poll(&fds, 1, 10000) != 1 || recv(fd.get(), &byte, 1, 0) != 1)) {
        *error =
            "connection through " + address + ":" + std::to_string(port) + " did not echo one byte";
    }
    return error->empty() ? std::move(fd) : Fd();
}

std::string expectClosedByPeer(int fd) {
    pollfd fds{fd, POLLIN, 0};
    if (poll(&fds, 1, 10000) != 1) {
        return "the connection stayed open 10 s after the plugin was stopped and destroyed";
    }
    char byte;
    ssize_t n = recv(fd, &byte, 1, 0);
    return n <= 0 ? "" : "the connection still carried data after the plugin was destroyed";
}

}  // namespace rkp::conformance
