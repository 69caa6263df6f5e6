// SocketAddress: an IPv4 or IPv6 address with a port, as the builtin port driver binds, dials
// and prints it.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rkbuiltin {

struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t length = 0;

    // Parses a numeric IPv4 or IPv6 address (brackets around IPv6 allowed, no host names, no
    // zone) and pairs it with port. std::nullopt when text is not such an address.
    static std::optional<SocketAddress> parse(std::string_view text, uint16_t port);

    // The wildcard address of family (AF_INET or AF_INET6) with port.
    static SocketAddress any(int family, uint16_t port);

    // The IPv4 loopback address 127.0.0.1 with port.
    static SocketAddress loopback4(uint16_t port);

    // Copies a kernel-filled address; length MUST NOT exceed sizeof(sockaddr_storage).
    static SocketAddress fromRaw(const sockaddr *address, socklen_t length);

    int family() const { return storage.ss_family; }
    uint16_t port() const;
    const sockaddr *raw() const { return reinterpret_cast<const sockaddr *>(&storage); }

    // True for 127.0.0.0/8, ::1 and IPv4-mapped 127.0.0.0/8.
    bool isLoopback() const;

    // True for 0.0.0.0 and ::.
    bool isUnspecified() const;

    // "127.0.0.1:80" or "[::1]:80".
    std::string toString() const;
};

// The lowercase text of errno value err ("connection refused"). Thread-safe.
std::string errnoText(int err);

}  // namespace rkbuiltin
