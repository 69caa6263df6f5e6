// The hostfwd API client. slirp4netns reads a request until EOF (at most 4 KiB), handles it while
// its whole event loop waits, writes one JSON reply and closes the connection.
#include "hostfwd_client.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Parser.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "rootlesskit/rkp.hpp"

namespace rootlesskit::slirp4netns {
namespace {

constexpr int kIoTimeoutSeconds = 10;
constexpr size_t kMaxReply = 1 << 20;

std::string errnoText(int err) {
    std::string text = std::strerror(err);
    if (!text.empty()) {
        text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
    }
    return text;
}

// Owns a socket descriptor.
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

void connectTo(const Socket &sock, const std::string &path) {
    const std::string op = "connect to slirp4netns api socket " + path;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof(addr.sun_path)) {
        throw rkp::Error(-ENAMETOOLONG, op + ": path too long");
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);

    timeval timeout{kIoTimeoutSeconds, 0};
    setsockopt(sock.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    setsockopt(sock.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    if (connect(sock.get(), reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) != 0) {
        throw rkp::Error(-errno, op + ": " + errnoText(errno));
    }
}

void sendAll(const Socket &sock, const std::string &data, const std::string &op) {
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = send(sock.get(), data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            throw rkp::Error(-errno, op + ": send: " + errnoText(errno));
        }
        done += static_cast<size_t>(n);
    }
    if (shutdown(sock.get(), SHUT_WR) != 0) {
        throw rkp::Error(-errno, op + ": shutdown: " + errnoText(errno));
    }
}

std::string receiveAll(const Socket &sock, const std::string &op) {
    std::string reply;
    char buf[4096];
    for (;;) {
        ssize_t n = recv(sock.get(), buf, sizeof(buf), 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            int err = errno == EAGAIN ? ETIMEDOUT : errno;
            throw rkp::Error(-err, op + ": receive reply: " + errnoText(err));
        }
        if (n == 0 || reply.size() > kMaxReply) {
            return reply;
        }
        reply.append(buf, static_cast<size_t>(n));
    }
}

std::string trimmed(const std::string &text) {
    size_t end = text.find_last_not_of(" \t\r\n");
    return end == std::string::npos ? "" : text.substr(0, end + 1);
}

// The "return" object of reply, or an error naming what slirp4netns said.
Poco::JSON::Object::Ptr parseReply(const std::string &reply, const std::string &op) {
    Poco::JSON::Object::Ptr object;
    try {
        Poco::Dynamic::Var parsed = Poco::JSON::Parser().parse(reply);
        object = parsed.extract<Poco::JSON::Object::Ptr>();
    } catch (const Poco::Exception &) {
        throw rkp::Error(-EIO, op + ": unexpected reply: \"" + trimmed(reply) + "\"");
    }
    if (object->has("error")) {
        Poco::JSON::Object::Ptr error = object->getObject("error");
        std::string desc =
            error && error->has("desc") ? error->getValue<std::string>("desc") : trimmed(reply);
        throw rkp::Error(-EIO, op + ": " + desc);
    }
    Poco::JSON::Object::Ptr result = object->getObject("return");
    if (!result) {
        throw rkp::Error(-EIO, op + ": unexpected reply: \"" + trimmed(reply) + "\"");
    }
    return result;
}

}  // namespace

Poco::JSON::Object::Ptr callHostfwdApi(const std::string &socketPath, const std::string &execute,
                                       const Poco::JSON::Object &arguments) {
    const std::string op = "slirp4netns " + execute;
    Poco::JSON::Object request;
    request.set("execute", execute);
    request.set("arguments", arguments);
    std::ostringstream text;
    request.stringify(text);
    text << '\n';

    Socket sock(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (sock.get() < 0) {
        throw rkp::Error(-errno, op + ": socket: " + errnoText(errno));
    }
    connectTo(sock, socketPath);
    sendAll(sock, text.str(), op);
    return parseReply(receiveAll(sock, op), op);
}

}  // namespace rootlesskit::slirp4netns
