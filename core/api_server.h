// The REST API on STATE_DIR/api.sock (HTTP/1.1 over a unix socket, Poco's HTTP server),
// byte-compatible with upstream's API 1.1.1: GET /v1/info, GET/POST /v1/ports,
// DELETE /v1/ports/{id}. Runs in the parent, on Poco's server threads.
#pragma once

#include <memory>
#include <string>

#include "core/port_manager.h"
#include "core/status.h"

namespace rootlesskit {

struct ApiInfo {
    std::string stateDir;
    int childPid = 0;
    std::string networkDriverJson;  // "networkDriver" object text, "" to omit (--net=host)
};

class ApiServer {
public:
    // Removes a stale socket at socketPath, listens on it (mode 0600) and starts serving.
    // ports is borrowed and MUST outlive the server.
    static Result<std::unique_ptr<ApiServer>> start(const std::string &socketPath,
                                                    const ApiInfo &info, PortManager &ports);
    virtual ~ApiServer() = default;

    // Stops accepting, waits for requests in flight, removes the socket. Idempotent.
    virtual void stop() = 0;
};
using ApiServerPtr = std::unique_ptr<ApiServer>;

}  // namespace rootlesskit
