// Traffic for the port tests: echo servers inside the child's network namespace, and the
// clients on the host that send through the forwarder and compare what comes back. Each client
// returns "" on success or one line saying what went wrong; none waits longer than its deadline.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace rkp::conformance {

// CHILD. Starts a TCP and a UDP echo server on every address of the namespace ([::] accepting
// IPv4 too, or 0.0.0.0 when IPv6 is unavailable), each on a port the kernel picks. They run on
// threads of their own until the process ends. Returns "" and fills the ports, or the error.
std::string startEchoServers(uint16_t *tcpPort, uint16_t *udpPort);

// A port that was free for type (SOCK_STREAM, SOCK_DGRAM) on address a moment ago: bound with
// port 0 and read back. 0 when nothing could be bound.
uint16_t freePort(const std::string &address, int type);

// Whether address (127.0.0.1, ::1) can be bound on the host, for the IPv6 test.
bool canBind(const std::string &address);

// Sends bytes of a pattern derived from seed over one TCP connection to address:port, closes the
// sending side, and reads until EOF: the same bytes must come back.
std::string tcpEcho(const std::string &address, uint16_t port, size_t bytes, unsigned seed);

// The same over fd, a non-blocking TCP connection made by openEchoedConnection().
std::string tcpEchoOver(int fd, size_t bytes, unsigned seed);

// Sends count datagrams of growing size to address:port and waits for each echo (each one
// resent up to 10 times, 500 ms apart, since UDP may drop).
std::string udpEcho(const std::string &address, uint16_t port, int count);

// A TCP connect to address:port must be refused: nothing listens there.
std::string expectRefused(const std::string &address, uint16_t port);

// A file descriptor closed with the scope.
class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    ~Fd();
    Fd(Fd &&other) noexcept : fd_(other.release()) {}
    Fd &operator=(Fd &&other) noexcept;
    Fd(const Fd &) = delete;
    Fd &operator=(const Fd &) = delete;
    int get() const { return fd_; }
    int release();

private:
    int fd_;
};

// A TCP socket listening on address:port, or an invalid Fd.
Fd listenTcp(const std::string &address, uint16_t port);

// A TCP connection to address:port that has carried one echoed byte, or an invalid Fd (and
// *error set).
Fd openEchoedConnection(const std::string &address, uint16_t port, std::string *error);

// Waits up to 10 s for the peer of fd to close it (EOF or reset): "" when it did.
std::string expectClosedByPeer(int fd);

}  // namespace rkp::conformance
