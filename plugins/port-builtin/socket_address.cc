// SocketAddress parsing and printing, and the errno text every message of the driver uses.
#include "socket_address.h"

#include <arpa/inet.h>

#include <cctype>
#include <cstring>

namespace rkbuiltin {

std::optional<SocketAddress> SocketAddress::parse(std::string_view text, uint16_t port) {
    if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
        text = text.substr(1, text.size() - 2);
    }
    std::string ip(text);
    SocketAddress address;

    auto *v4 = reinterpret_cast<sockaddr_in *>(&address.storage);
    if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        address.length = sizeof(sockaddr_in);
        return address;
    }

    auto *v6 = reinterpret_cast<sockaddr_in6 *>(&address.storage);
    if (inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        address.length = sizeof(sockaddr_in6);
        return address;
    }
    return std::nullopt;
}

SocketAddress SocketAddress::any(int family, uint16_t port) {
    SocketAddress address;
    if (family == AF_INET6) {
        auto *v6 = reinterpret_cast<sockaddr_in6 *>(&address.storage);
        v6->sin6_family = AF_INET6;
        v6->sin6_addr = in6addr_any;
        v6->sin6_port = htons(port);
        address.length = sizeof(sockaddr_in6);
    } else {
        auto *v4 = reinterpret_cast<sockaddr_in *>(&address.storage);
        v4->sin_family = AF_INET;
        v4->sin_addr.s_addr = htonl(INADDR_ANY);
        v4->sin_port = htons(port);
        address.length = sizeof(sockaddr_in);
    }
    return address;
}

SocketAddress SocketAddress::loopback4(uint16_t port) {
    SocketAddress address = any(AF_INET, port);
    reinterpret_cast<sockaddr_in *>(&address.storage)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return address;
}

SocketAddress SocketAddress::fromRaw(const sockaddr *raw, socklen_t length) {
    SocketAddress address;
    std::memcpy(&address.storage, raw, length);
    address.length = length;
    return address;
}

uint16_t SocketAddress::port() const {
    if (family() == AF_INET6) {
        return ntohs(reinterpret_cast<const sockaddr_in6 *>(&storage)->sin6_port);
    }
    return ntohs(reinterpret_cast<const sockaddr_in *>(&storage)->sin_port);
}

bool SocketAddress::isLoopback() const {
    if (family() == AF_INET) {
        uint32_t ip = ntohl(reinterpret_cast<const sockaddr_in *>(&storage)->sin_addr.s_addr);
        return (ip >> 24) == 127;
    }
    const in6_addr &ip = reinterpret_cast<const sockaddr_in6 *>(&storage)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&ip)) {
        return ip.s6_addr[12] == 127;
    }
    return IN6_IS_ADDR_LOOPBACK(&ip);
}

bool SocketAddress::isUnspecified() const {
    if (family() == AF_INET) {
        return reinterpret_cast<const sockaddr_in *>(&storage)->sin_addr.s_addr == INADDR_ANY;
    }
    return IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6 *>(&storage)->sin6_addr);
}

std::string SocketAddress::toString() const {
    char text[INET6_ADDRSTRLEN] = "?";
    if (family() == AF_INET6) {
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6 *>(&storage)->sin6_addr, text,
                  sizeof(text));
        return "[" + std::string(text) + "]:" + std::to_string(port());
    }
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in *>(&storage)->sin_addr, text,
              sizeof(text));
    return std::string(text) + ":" + std::to_string(port());
}

std::string errnoText(int err) {
    // strerrordesc_np is thread-safe and, unlike strerror, never localised.
    const char *description = strerrordesc_np(err < 0 ? -err : err);
    std::string text = description != nullptr ? description : "error " + std::to_string(err);
    if (!text.empty() && std::isupper(static_cast<unsigned char>(text[0])) &&
        (text.size() < 2 || !std::isupper(static_cast<unsigned char>(text[1])))) {
        text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
    }
    return text;
}

}  // namespace rkbuiltin
