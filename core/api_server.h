// The REST API on STATE_DIR/api.sock (HTTP/1.1 over a unix socket, Poco's HTTP server),
// byte-compatible with upstream's API 1.1.1: GET /v1/info, GET/POST /v1/ports,
// DELETE /v1/ports/{id}. Runs in the parent, on Poco's server threads.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/port_manager.h"
#include "core/status.h"

namespace rootlesskit {

struct ApiInfo {
    std::string stateDir;
    int childPid = 0;
    std::string networkDriverJson;  // "networkDriver" object text, "" to omit (--net=host)
    // --port-driver. When the manager has no driver ("none") and this is set, /v1/info shows
    // {"driver":portDriverName,"protos":[]} instead of omitting "portDriver": Debian 12's
    // rootlesskit-docker-proxy (1.1.0) dereferences that member unchecked and would crash.
    std::string portDriverName{};
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

// One request as the server has read it, without the connection: what handleApiRequest needs.
struct ApiRequest {
    std::string method;               // "GET"
    std::string uri;                  // the request target as sent ("/v1/ports/3")
    std::optional<std::string> body;  // "" when none; nullopt when over the server's limit
};

// The reply to one request, before it is written to the connection.
struct ApiReply {
    int status = 200;
    std::string contentType;  // no Content-Type header when empty
    std::string body;
    bool close = false;  // close the connection after the reply
};

// Routes request and runs its handler exactly as the server does for a request on api.sock.
// ports is borrowed for the call. Never throws for any input; may run on any thread (ports
// serialises the driver calls). The server adds only the HTTP framing around the reply.
ApiReply handleApiRequest(const ApiInfo &info, PortManager &ports, const ApiRequest &request);

}  // namespace rootlesskit
