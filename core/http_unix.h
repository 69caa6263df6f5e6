// HTTP/1.1 over unix stream sockets with Poco::Net: the listening socket of the API server and
// the one-request client that rootlessctl uses.
#pragma once

#include <sys/types.h>

#include <string>

#include <Poco/Net/ServerSocket.h>

#include "core/status.h"

namespace rootlesskit {

// Creates a listening unix stream socket at path with file mode mode.
//
// A stale socket file at path (left by a run that died) is removed first; any other kind of
// file there is left alone and the call fails. The socket is bound, then chmod()ed, then put in
// the listening state: until listen() a connect() is refused, so no client can reach the socket
// while it still has the umask's mode. Fails with "listen <path>: <cause>". The returned socket
// owns its descriptor (close-on-exec); the caller removes the file when done.
Result<Poco::Net::ServerSocket> listenUnixSocket(const std::string &path, mode_t mode);

struct HttpReply {
    int status = 0;
    std::string reason;  // "Not Found"
    std::string contentType;
    std::string body;
};

// Sends one request over a new connection to the unix socket at socketPath and reads the whole
// reply. target is the request path ("/v1/ports/3"); body, when not empty, is sent with
// Content-Type application/json. The Host header is "rootlesskit" (servers ignore it).
// Any status is a successful call; fails only when the exchange itself fails:
// "connect <socketPath>: <cause>" or "<METHOD> <target>: <cause>". Blocking; any thread.
Result<HttpReply> httpUnixRequest(const std::string &socketPath, const std::string &method,
                                  const std::string &target, const std::string &body = "");

}  // namespace rootlesskit
