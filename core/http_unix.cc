// HTTP/1.1 over unix stream sockets: listening socket and one-request client.
#include "core/http_unix.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <sstream>

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>

namespace rootlesskit {

namespace {

using Poco::Net::SocketAddress;

// Poco's messages carry a class prefix ("Net Exception: Address already in use: /x"); a
// system error reads better as the errno text alone.
std::string describe(const Poco::Exception &e) {
    int code = e.code();
    if (code > 0 && code < 4096) {
        return errnoText(code);
    }
    return e.message().empty() ? e.displayText() : e.message();
}

// Poco asserts on an over-long path with a message about its own source; say it plainly.
Status checkPathLength(const std::string &path) {
    constexpr size_t kMax = sizeof(sockaddr_un::sun_path) - 1;
    if (path.size() > kMax) {
        return Status::error("socket path is longer than " + std::to_string(kMax) + " bytes",
                             ENAMETOOLONG);
    }
    return {};
}

// Removes path when it is a socket file; leaves anything else in place.
Status removeStaleSocket(const std::string &path) {
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0) {
        return errno == ENOENT ? Status{} : Status::error(errnoText(errno), errno);
    }
    if (!S_ISSOCK(st.st_mode)) {
        return Status::error("file exists and is not a socket", EEXIST);
    }
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
        return Status::error("remove stale socket: " + errnoText(errno), errno);
    }
    return {};
}

void setCloseOnExec(const Poco::Net::Socket &socket) {
    int fd = socket.impl()->sockfd();
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0) {
        fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }
}

}  // namespace

Result<Poco::Net::ServerSocket> listenUnixSocket(const std::string &path, mode_t mode) {
    Status usable = checkPathLength(path);
    if (usable) {
        usable = removeStaleSocket(path);
    }
    if (!usable) {
        return usable.wrap("listen " + path);
    }

    try {
        // Poco creates its sockets without SOCK_CLOEXEC, so the flag is set right after socket().
        // Connections accepted by Poco's server lack it too: a helper program started while a
        // request is in flight inherits that connection until it execs.
        Poco::Net::ServerSocket socket;
        socket.init(AF_UNIX);
        setCloseOnExec(socket);
        socket.bind(SocketAddress(SocketAddress::UNIX_LOCAL, path), false);

        if (chmod(path.c_str(), mode) != 0) {
            int err = errno;
            unlink(path.c_str());
            return Status::error("listen " + path + ": chmod: " + errnoText(err), err);
        }

        socket.listen(64);
        return socket;
    } catch (const Poco::Exception &e) {
        return Status::error("listen " + path + ": " + describe(e), e.code() > 0 ? e.code() : EIO);
    }
}

Result<HttpReply> httpUnixRequest(const std::string &socketPath, const std::string &method,
                                  const std::string &target, const std::string &body) {
    Status usable = checkPathLength(socketPath);
    if (!usable) {
        return usable.wrap("connect " + socketPath);
    }

    Poco::Net::StreamSocket socket;
    try {
        socket = Poco::Net::StreamSocket(SocketAddress::UNIX_LOCAL);
        setCloseOnExec(socket);
        socket.connect(SocketAddress(SocketAddress::UNIX_LOCAL, socketPath));
    } catch (const Poco::Exception &e) {
        return Status::error("connect " + socketPath + ": " + describe(e), EIO);
    }

    try {
        Poco::Net::HTTPClientSession session(socket);
        Poco::Net::HTTPRequest request(method, target, Poco::Net::HTTPMessage::HTTP_1_1);
        request.setHost("rootlesskit");
        request.setKeepAlive(false);
        if (!body.empty()) {
            request.setContentType("application/json");
            request.setContentLength(static_cast<std::streamsize>(body.size()));
        }
        session.sendRequest(request) << body;

        Poco::Net::HTTPResponse response;
        std::istream &in = session.receiveResponse(response);
        HttpReply reply;
        reply.status = static_cast<int>(response.getStatus());
        reply.reason = response.getReason();
        reply.contentType = response.getContentType();
        std::ostringstream collected;
        Poco::StreamCopier::copyStream(in, collected);
        reply.body = collected.str();
        return reply;
    } catch (const Poco::Exception &e) {
        return Status::error(method + " " + target + ": " + describe(e), EIO);
    }
}

}  // namespace rootlesskit
