// Clients the port-forwarding end-to-end tests use from the host: HTTP over TCP to a published
// port, raw HTTP/1.1 over the API's unix socket, UDP datagrams. Written against the sockets API
// directly, so that a bug in the product's own HTTP code cannot hide in the test.
//
// Every call is blocking, bounded by a timeout, and talks only to loopback addresses or to a
// unix socket path; any thread may call them.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace rktest {

// A port that was free a moment ago for TCP (udp=false) or UDP (udp=true) on both 0.0.0.0 and
// [::]: found by binding a dual-stack socket to port 0 and reading the port back. The helper that
// publishes it binds it itself, so it cannot be handed the bound socket; another program could
// take the port in between, which the callers accept.
int freePort(bool udp = false);

// "GET / HTTP/1.0" to ip (IPv4 or IPv6 text, no brackets) and port; the whole response, or ""
// when the connection was refused, reset, or closed without a byte.
std::string httpGet(const std::string &ip, int port,
                    std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

struct RawHttpReply {
    int status = 0;       // 0 when the exchange failed
    std::string headers;  // the header block, lines separated by "\r\n", without the status line
    std::string body;     // de-chunked when the reply was chunked
};

// Sends "<method> <target> HTTP/1.1" with "Connection: close" (and body as application/json
// when not empty) over a new connection to the unix socket at socketPath and reads the reply to
// EOF.
RawHttpReply rawHttp(const std::string &socketPath, const std::string &method,
                     const std::string &target, const std::string &body = "");

// True when something accepts connections on the unix socket at path.
bool unixSocketAccepts(const std::string &path);

// A UDP socket connected to ip:port on the host's loopback; owns its descriptor.
class UdpClient {
public:
    UdpClient(const std::string &ip, int port);
    ~UdpClient();
    UdpClient(const UdpClient &) = delete;
    UdpClient &operator=(const UdpClient &) = delete;

    void send(const std::string &datagram);

    // The next datagram, or std::nullopt when none came within timeout. An ICMP error queued
    // by an earlier datagram (ECONNREFUSED) is skipped.
    std::optional<std::string> receive(std::chrono::milliseconds timeout);

    // Sends datagram until a reply arrives (every 200 ms, up to timeout) and returns the first
    // reply: for a server that may not be listening yet when the first datagram leaves.
    std::optional<std::string> exchange(const std::string &datagram,
                                        std::chrono::milliseconds timeout);

private:
    int fd_ = -1;
};

}  // namespace rktest
