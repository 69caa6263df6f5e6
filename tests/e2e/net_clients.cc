// Host-side clients of the port-forwarding end-to-end tests (net_clients.h).
#include "tests/e2e/net_clients.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace rktest {

namespace {

using Clock = std::chrono::steady_clock;

// Owns one descriptor for the length of a call.
class Socket {
public:
    explicit Socket(int fd) : fd_(fd) {}
    ~Socket() {
        if (fd_ >= 0) {
            close(fd_);
        }
    }
    Socket(const Socket &) = delete;
    Socket &operator=(const Socket &) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

// ip:port as a socket address; the length is 0 when ip does not parse.
socklen_t toSockaddr(const std::string &ip, int port, sockaddr_storage *storage) {
    *storage = {};
    if (ip.find(':') != std::string::npos) {
        auto *addr = reinterpret_cast<sockaddr_in6 *>(storage);
        addr->sin6_family = AF_INET6;
        addr->sin6_port = htons(static_cast<uint16_t>(port));
        return inet_pton(AF_INET6, ip.c_str(), &addr->sin6_addr) == 1 ? sizeof(*addr) : 0;
    }
    auto *addr = reinterpret_cast<sockaddr_in *>(storage);
    addr->sin_family = AF_INET;
    addr->sin_port = htons(static_cast<uint16_t>(port));
    return inet_pton(AF_INET, ip.c_str(), &addr->sin_addr) == 1 ? sizeof(*addr) : 0;
}

// Reads fd until EOF, an error, or timeout since the start.
std::string readToEof(int fd, std::chrono::milliseconds timeout) {
    std::string data;
    Clock::time_point deadline = Clock::now() + timeout;
    char buf[16384];
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        pollfd pfd{fd, POLLIN, 0};
        if (left.count() <= 0 || poll(&pfd, 1, static_cast<int>(left.count())) <= 0) {
            return data;
        }
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) {
            return data;
        }
        data.append(buf, static_cast<size_t>(n));
    }
}

bool writeAll(int fd, const std::string &data) {
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        done += static_cast<size_t>(n);
    }
    return true;
}

// The body of a "Transfer-Encoding: chunked" reply: hex size line, data, CRLF, until size 0.
std::string dechunk(const std::string &chunked) {
    std::string body;
    size_t pos = 0;
    while (pos < chunked.size()) {
        size_t lineEnd = chunked.find("\r\n", pos);
        if (lineEnd == std::string::npos) {
            break;
        }
        size_t size = std::strtoul(chunked.substr(pos, lineEnd - pos).c_str(), nullptr, 16);
        if (size == 0) {
            break;
        }
        body += chunked.substr(lineEnd + 2, size);
        pos = lineEnd + 2 + size + 2;
    }
    return body;
}

bool isChunked(const std::string &headers) {
    std::string lower = headers;
    for (char &c : lower) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return lower.find("transfer-encoding: chunked") != std::string::npos;
}

RawHttpReply parseReply(const std::string &raw) {
    RawHttpReply reply;
    size_t statusEnd = raw.find("\r\n");
    size_t headEnd = raw.find("\r\n\r\n");
    if (raw.rfind("HTTP/1.", 0) != 0 || statusEnd == std::string::npos ||
        headEnd == std::string::npos) {
        return reply;
    }
    reply.status = static_cast<int>(std::strtol(raw.substr(9, 3).c_str(), nullptr, 10));
    reply.headers = headEnd > statusEnd ? raw.substr(statusEnd + 2, headEnd - statusEnd - 2) : "";
    reply.body = raw.substr(headEnd + 4);
    if (isChunked(reply.headers)) {
        reply.body = dechunk(reply.body);
    }
    return reply;
}

int connectUnix(const std::string &path) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    if (connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

}  // namespace

int freePort(bool udp) {
    Socket fd(socket(AF_INET6, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0));
    int off = 0;
    setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_addr = in6addr_any;
    socklen_t len = sizeof(addr);
    if (bind(fd.get(), reinterpret_cast<sockaddr *>(&addr), len) < 0 ||
        getsockname(fd.get(), reinterpret_cast<sockaddr *>(&addr), &len) < 0) {
        std::abort();
    }
    return ntohs(addr.sin6_port);
}

std::string httpGet(const std::string &ip, int port, std::chrono::milliseconds timeout) {
    sockaddr_storage storage;
    socklen_t len = toSockaddr(ip, port, &storage);
    Socket fd(socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (len == 0 || connect(fd.get(), reinterpret_cast<sockaddr *>(&storage), len) < 0) {
        return "";
    }
    if (!writeAll(fd.get(), "GET / HTTP/1.0\r\nHost: test\r\n\r\n")) {
        return "";
    }
    return readToEof(fd.get(), timeout);
}

RawHttpReply rawHttp(const std::string &socketPath, const std::string &method,
                     const std::string &target, const std::string &body) {
    Socket fd(connectUnix(socketPath));
    if (fd.get() < 0) {
        return {};
    }
    std::string request =
        method + " " + target + " HTTP/1.1\r\nHost: rootlesskit\r\n" + "Connection: close\r\n";
    if (!body.empty()) {
        request += "Content-Type: application/json\r\n";
    }
    if (!body.empty() || method == "POST") {
        request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    }
    request += "\r\n" + body;
    if (!writeAll(fd.get(), request)) {
        return {};
    }
    return parseReply(readToEof(fd.get(), std::chrono::milliseconds(10000)));
}

bool unixSocketAccepts(const std::string &path) {
    Socket fd(connectUnix(path));
    return fd.get() >= 0;
}

UdpClient::UdpClient(const std::string &ip, int port) {
    sockaddr_storage storage;
    socklen_t len = toSockaddr(ip, port, &storage);
    fd_ = socket(storage.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (len == 0 || connect(fd_, reinterpret_cast<sockaddr *>(&storage), len) < 0) {
        std::abort();
    }
}

UdpClient::~UdpClient() {
    close(fd_);
}

void UdpClient::send(const std::string &datagram) {
    // A refused earlier datagram makes this one fail with ECONNREFUSED; the next try goes out.
    (void)!::send(fd_, datagram.data(), datagram.size(), 0);
}

std::optional<std::string> UdpClient::receive(std::chrono::milliseconds timeout) {
    Clock::time_point deadline = Clock::now() + timeout;
    char buf[65536];
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        pollfd pfd{fd_, POLLIN, 0};
        if (left.count() <= 0 || poll(&pfd, 1, static_cast<int>(left.count())) <= 0) {
            return std::nullopt;
        }
        ssize_t n = recv(fd_, buf, sizeof buf, 0);
        if (n >= 0) {
            return std::string(buf, static_cast<size_t>(n));
        }
        if (errno != ECONNREFUSED && errno != EINTR) {
            return std::nullopt;
        }
    }
}

std::optional<std::string> UdpClient::exchange(const std::string &datagram,
                                               std::chrono::milliseconds timeout) {
    Clock::time_point deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        send(datagram);
        std::optional<std::string> reply = receive(std::chrono::milliseconds(200));
        if (reply) {
            return reply;
        }
    }
    return std::nullopt;
}

}  // namespace rktest
