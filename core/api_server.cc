// The REST API server: Poco's HTTP server on a unix socket, routing to PortManager.
//
// Theory of operation: start() creates the listening socket (listenUnixSocket: stale file
// removed, mode 0600) and a Poco::Net::HTTPServer that owns an accept thread and hands each
// connection to a pool of at most kThreads threads. A connection serves requests one after
// another (keep-alive); each request is routed by exact path and method to one handler, which
// returns a Reply that is then sent. Handlers reach the port table only through PortManager,
// whose own mutex serialises the driver calls. stop() closes the listening socket, lets every
// connection finish the request it is serving, shuts idle keep-alive connections, waits for the
// pool, and removes the socket file (only if it is still the one start() created).
//
// Known shortcoming: a connection holds its thread until the client closes it, has been idle
// for Poco's keep-alive timeout (10 s), or has left a request half sent for kReceiveTimeout.
// More than kThreads such connections at once delay other clients by up to that long (each
// rootlesskit-docker-proxy keeps at most one idle connection). A half-sent request also delays
// stop() by up to kReceiveTimeout.
#include "core/api_server.h"

#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <istream>
#include <mutex>
#include <optional>

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/ThreadPool.h>
#include <Poco/Timespan.h>
#include <Poco/URI.h>

#include "core/api_json.h"
#include "core/http_unix.h"
#include "core/log.h"
#include "core/version.h"

namespace rootlesskit {

namespace {

using Poco::Dynamic::Var;
using Poco::JSON::Array;
using Poco::JSON::Object;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

// Threads are started on demand and end soon after they go idle (setThreadIdleTime below); the
// bound only limits how many clients are served at once.
constexpr int kThreads = 32;
// Every client of the API sends a request at once; one that stops halfway has gone wrong.
const Poco::Timespan kReceiveTimeout(5, 0);
constexpr std::streamsize kMaxBodyBytes = 64 * 1024;
constexpr const char *kJson = "application/json";
constexpr const char *kPortsPath = "/v1/ports";

using Reply = ApiReply;

Reply jsonReply(int status, const Var &document) {
    return Reply{status, kJson, writeJson(document), false};
}

// Handler errors: {"message":"..."} and a newline, as upstream sends them.
Reply errorReply(int status, const std::string &message) {
    Object::Ptr body = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
    body->set("message", message);
    return Reply{status, kJson, writeJson(body) + "\n", false};
}

Reply notFound() {
    return Reply{404, "text/plain; charset=utf-8", "404 page not found\n", false};
}

Reply methodNotAllowed() {
    return Reply{405, "", "", false};
}

// True when the request carries a body. HTTP/1.1 (RFC 9112 section 6.3) says a request
// without Content-Length or Transfer-Encoding has none; Poco would instead read such a POST or
// PUT until the client closes, leaving both sides waiting for the other.
bool hasBody(const HTTPServerRequest &request) {
    return request.hasContentLength() || request.getChunkedTransferEncoding();
}

// The request body, or nullopt when it is larger than kMaxBodyBytes.
std::optional<std::string> readBody(HTTPServerRequest &request) {
    if (!hasBody(request)) {
        return std::string();
    }
    if (request.hasContentLength() && request.getContentLength64() > kMaxBodyBytes) {
        return std::nullopt;
    }
    std::string body(static_cast<size_t>(kMaxBodyBytes) + 1, '\0');
    std::istream &in = request.stream();
    in.read(body.data(), kMaxBodyBytes + 1);
    std::streamsize got = in.gcount();
    if (got > kMaxBodyBytes) {
        return std::nullopt;
    }
    body.resize(static_cast<size_t>(got));
    return body;
}

// Parses a port ID: decimal digits only.
Result<uint64_t> parseId(const std::string &text) {
    uint64_t id = 0;
    const char *end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, id);
    bool digitsOnly = text.find_first_not_of("0123456789") == std::string::npos;
    if (!digitsOnly || ptr != end || text.empty()) {
        return Status::error("bad id " + text + ": not a decimal number");
    }
    if (ec == std::errc::result_out_of_range) {
        return Status::error("bad id " + text + ": out of range");
    }
    return id;
}

// The handlers, one per route, and the router in front of them.
class Api {
public:
    Api(const ApiInfo &info, PortManager &ports) : info_(info), ports_(ports) {}

    Reply handle(const ApiRequest &request) {
        std::string path;
        try {
            path = Poco::URI(request.uri).getPath();
        } catch (const Poco::Exception &) {
            return errorReply(400, "bad request: invalid request URI");
        }

        const std::string &method = request.method;
        if (path == "/v1/info") {
            return method == "GET" ? getInfo() : methodNotAllowed();
        }
        if (path == kPortsPath) {
            if (method == "GET") {
                return getPorts();
            }
            return method == "POST" ? postPort(request.body) : methodNotAllowed();
        }
        std::string prefix = std::string(kPortsPath) + "/";
        if (path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0 &&
            path.find('/', prefix.size()) == std::string::npos) {
            return method == "DELETE" ? deletePort(path.substr(prefix.size())) : methodNotAllowed();
        }
        return notFound();
    }

private:
    Reply getInfo() {
        Object::Ptr info = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
        info->set("apiVersion", kApiVersion);
        info->set("version", kVersion);
        info->set("stateDir", info_.stateDir);
        info->set("childPID", info_.childPid);

        if (!info_.networkDriverJson.empty()) {
            auto net = parseJson(info_.networkDriverJson);
            if (!net) {
                return errorReply(500,
                                  "network driver info: invalid JSON: " + net.status().message());
            }
            info->set("networkDriver", *net);
        }

        // Named as the parent names the port driver's other failures.
        std::string portDriver = "port driver " + info_.portDriverName + " info";
        auto port = ports_.driverInfo();
        if (!port) {
            return errorReply(500, port.status().wrap(portDriver).message());
        }
        if (!port->empty()) {
            auto parsed = parseJson(*port);
            if (!parsed) {
                return errorReply(500, portDriver + ": invalid JSON: " + parsed.status().message());
            }
            info->set("portDriver", *parsed);
        } else if (!ports_.hasDriver() && !info_.portDriverName.empty()) {
            // Upstream omits the member here. The 1.1.0 Docker proxy reads it without a nil
            // check; with no protocol listed it skips the port with a warning, and newer proxies
            // take driver "none" as no port driver at all.
            Object::Ptr none = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
            none->set("driver", info_.portDriverName);
            none->set("protos", Array::Ptr(new Array));
            info->set("portDriver", none);
        }
        return jsonReply(200, info);
    }

    Reply getPorts() {
        auto ports = ports_.list();
        if (!ports) {
            return errorReply(ports_.hasDriver() ? 500 : 400, ports.status().message());
        }

        // An empty list is the literal null, as upstream's Go server sends it: Docker's proxy
        // and rootlessctl both accept it, and some clients may test for it.
        if (ports->empty()) {
            return Reply{200, kJson, "null", false};
        }
        Array::Ptr array = new Array;
        for (const PortStatus &status : *ports) {
            array->add(portStatusToJson(status));
        }
        return jsonReply(200, array);
    }

    Reply postPort(const std::optional<std::string> &body) {
        if (!body) {
            Reply reply = errorReply(413, "request body too large: the limit is " +
                                              std::to_string(kMaxBodyBytes) + " bytes");
            reply.close = true;
            return reply;
        }
        if (!ports_.hasDriver()) {
            return errorReply(400, "no PortDriver is available");
        }

        auto document = parseJson(*body);
        if (!document) {
            return errorReply(400, "bad request: invalid JSON: " + document.status().message());
        }
        auto spec = portSpecFromJson(*document);
        if (!spec) {
            return errorReply(400, "bad request: " + spec.status().message());
        }

        auto added = ports_.add(*spec);
        if (!added) {
            return errorReply(400, added.status().message());
        }
        return jsonReply(201, portStatusToJson(*added));
    }

    Reply deletePort(const std::string &idText) {
        if (!ports_.hasDriver()) {
            return errorReply(400, "no PortDriver is available");
        }
        auto id = parseId(idText);
        if (!id) {
            return errorReply(400, id.status().message());
        }
        Status removed = ports_.remove(*id);
        if (!removed) {
            return errorReply(400, removed.message());
        }
        return Reply{200, "", "", false};
    }

    ApiInfo info_;
    PortManager &ports_;
};

void send(const Reply &reply, HTTPServerResponse &response) {
    response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(reply.status));
    if (!reply.contentType.empty()) {
        response.setContentType(reply.contentType);
    }
    if (reply.status == 404) {
        response.set("X-Content-Type-Options", "nosniff");
    }
    if (reply.close) {
        response.setKeepAlive(false);
    }
    response.setContentLength64(static_cast<Poco::Int64>(reply.body.size()));
    response.sendBuffer(reply.body.data(), reply.body.size());
}

// The reply to an exception nothing is expected to throw: the client gets the reason and the
// server keeps going.
Reply internalError(const std::exception &e) {
    Reply reply = errorReply(500, std::string("internal error: ") + e.what());
    reply.close = true;
    return reply;
}

class RequestHandler final : public Poco::Net::HTTPRequestHandler {
public:
    RequestHandler(const ApiInfo &info, PortManager &ports) : info_(info), ports_(ports) {}

    void handleRequest(HTTPServerRequest &request, HTTPServerResponse &response) override {
        // The body is read before routing, whatever the method, so that the next request on the
        // connection starts where it should; one over the limit closes the connection instead.
        Reply reply;
        try {
            ApiRequest parsed{request.getMethod(), request.getURI(), readBody(request)};
            reply = handleApiRequest(info_, ports_, parsed);
            reply.close = reply.close || !parsed.body;
        } catch (const std::exception &e) {
            reply = internalError(e);
        }
        logger("api")->trace("{} {}: {}", request.getMethod(), request.getURI(), reply.status);

        try {
            send(reply, response);
        } catch (const Poco::Exception &e) {
            logger("api")->trace("{} {}: reply not sent: {}", request.getMethod(), request.getURI(),
                                 e.displayText());
        }
    }

private:
    const ApiInfo &info_;
    PortManager &ports_;
};

class HandlerFactory final : public Poco::Net::HTTPRequestHandlerFactory {
public:
    HandlerFactory(const ApiInfo &info, PortManager &ports) : info_(info), ports_(ports) {}

    Poco::Net::HTTPRequestHandler *createRequestHandler(const HTTPServerRequest &) override {
        return new RequestHandler(info_, ports_);
    }

private:
    const ApiInfo &info_;
    PortManager &ports_;
};

class PocoApiServer final : public ApiServer {
public:
    PocoApiServer(const std::string &path, const ApiInfo &info, PortManager &ports)
        : path_(path), info_(info), ports_(ports), pool_("api", 1, kThreads) {}

    ~PocoApiServer() override { stop(); }

    Status start() {
        auto socket = listenUnixSocket(path_, 0600);
        if (!socket) {
            return socket.status();
        }
        struct stat st {};
        if (stat(path_.c_str(), &st) == 0) {
            socketDev_ = st.st_dev;
            socketIno_ = st.st_ino;
        }

        Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
        params->setMaxThreads(kThreads);
        params->setMaxQueued(64);
        params->setKeepAlive(true);
        params->setTimeout(kReceiveTimeout);
        // A connection thread that goes idle just as stop() wakes the idle ones sleeps through
        // that wake-up for the whole idle time (Poco 1.11's TCPServerDispatcher), and stop()
        // waits for it. A short idle time bounds that wait; Poco's accept loop already wakes up
        // every 250 ms, so the extra wake-ups cost nothing noticeable.
        params->setThreadIdleTime(Poco::Timespan(0, 250 * 1000));
        listenFd_ = socket->impl()->sockfd();
        server_ = std::make_unique<Poco::Net::HTTPServer>(new HandlerFactory(info_, ports_), pool_,
                                                          *socket, params);
        server_->start();
        logger("api")->debug("listening on {}", path_);
        return {};
    }

    void stop() override {
        std::lock_guard<std::mutex> lock(stopMutex_);
        if (stopped_ || !server_) {
            return;
        }
        stopped_ = true;

        // Poco's accept loop polls the listening socket with a 250 ms timeout and checks its stop
        // flag only between polls, so a plain stop waits up to 250 ms, which would be most of
        // the time a short run takes. Shutting the listening socket down first makes every poll
        // return at once until the loop sees the flag.
        ::shutdown(listenFd_, SHUT_RDWR);

        // stopAll(false): each connection finishes the request it is serving before its
        // socket is shut down; idle keep-alive connections are shut at once.
        server_->stopAll(false);
        pool_.joinAll();
        removeSocket();
        logger("api")->debug("stopped; removed {}", path_);
    }

private:
    // Removes the socket file unless another server has replaced it since start().
    void removeSocket() {
        struct stat st {};
        if (stat(path_.c_str(), &st) == 0 && st.st_dev == socketDev_ && st.st_ino == socketIno_) {
            unlink(path_.c_str());
        }
    }

    std::string path_;
    ApiInfo info_;
    PortManager &ports_;
    Poco::ThreadPool pool_;  // MUST outlive server_
    std::unique_ptr<Poco::Net::HTTPServer> server_;
    int listenFd_ = -1;  // owned by server_'s socket; used only to wake its accept loop
    dev_t socketDev_ = 0;
    ino_t socketIno_ = 0;
    std::mutex stopMutex_;
    bool stopped_ = false;
};

}  // namespace

ApiReply handleApiRequest(const ApiInfo &info, PortManager &ports, const ApiRequest &request) {
    try {
        return Api(info, ports).handle(request);
    } catch (const std::exception &e) {
        return internalError(e);
    }
}

Result<std::unique_ptr<ApiServer>> ApiServer::start(const std::string &socketPath,
                                                    const ApiInfo &info, PortManager &ports) {
    auto server = std::make_unique<PocoApiServer>(socketPath, info, ports);
    Status started = server->start();
    if (!started) {
        return started;
    }
    return std::unique_ptr<ApiServer>(std::move(server));
}

}  // namespace rootlesskit
