// The REST API server, spoken to in raw HTTP/1.1 over its unix socket: every route of the API,
// exact status codes and bodies, the bad-request cases, socket mode, concurrency and stop().
#include "core/api_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/version.h"
#include "tests/support/process.h"
#include "tests/unit/fake_port_plugin.h"

namespace rootlesskit {
namespace {

using rktest::fakePorts;

// ---- A raw HTTP client --------------------------------------------------------------------------

struct RawReply {
    int status = 0;
    std::map<std::string, std::string> headers;  // names lowercased
    std::string body;
    std::string error;  // set when the exchange failed

    std::string header(const std::string &name) const {
        auto it = headers.find(name);
        return it == headers.end() ? "" : it->second;
    }
};

int connectUnix(const std::string &path) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
    if (fd < 0 || connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    return fd;
}

bool writeAll(int fd, const std::string &data) {
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        done += static_cast<size_t>(n);
    }
    return true;
}

std::string readToEof(int fd) {
    std::string data;
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return data;
        }
        data.append(buf, static_cast<size_t>(n));
    }
}

// Parses one response from the front of data and removes it.
RawReply parseReply(std::string &data) {
    RawReply reply;
    size_t headEnd = data.find("\r\n\r\n");
    if (headEnd == std::string::npos || data.compare(0, 9, "HTTP/1.1 ") != 0) {
        reply.error = "malformed reply: " + data;
        return reply;
    }
    reply.status = std::stoi(data.substr(9, 3));
    size_t lineStart = data.find("\r\n") + 2;
    while (lineStart < headEnd) {
        size_t lineEnd = data.find("\r\n", lineStart);
        std::string line = data.substr(lineStart, lineEnd - lineStart);
        size_t colon = line.find(':');
        std::string name = line.substr(0, colon);
        for (char &c : name) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        reply.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
        lineStart = lineEnd + 2;
    }
    size_t length =
        std::stoul(reply.header("content-length").empty() ? "0" : reply.header("content-length"));
    reply.body = data.substr(headEnd + 4, length);
    data.erase(0, headEnd + 4 + length);
    return reply;
}

std::string request(const std::string &method, const std::string &target,
                    const std::string &body = "", bool close = true) {
    std::string text = method + " " + target + " HTTP/1.1\r\nHost: rootlesskit\r\n";
    if (!body.empty() || method == "POST") {
        text += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                "\r\n";
    }
    text += close ? "Connection: close\r\n\r\n" : "\r\n";
    return text + body;
}

// Sends raw bytes on a new connection, then reads until the server closes it.
std::string rawExchange(const std::string &socketPath, const std::string &bytes) {
    int fd = connectUnix(socketPath);
    if (fd < 0) {
        return "";
    }
    writeAll(fd, bytes);
    shutdown(fd, SHUT_WR);  // a request cut short ends here rather than at a server timeout
    std::string data = readToEof(fd);
    close(fd);
    return data;
}

RawReply call(const std::string &socketPath, const std::string &method, const std::string &target,
              const std::string &body = "") {
    std::string data = rawExchange(socketPath, request(method, target, body));
    if (data.empty()) {
        RawReply reply;
        reply.error = "no reply from " + socketPath + ": " + std::strerror(errno);
        return reply;
    }
    return parseReply(data);
}

std::string errorBody(const std::string &message) {
    return "{\"message\":\"" + message + "\"}\n";
}

// ---- Fixtures -----------------------------------------------------------------------------------

constexpr const char *kNetworkInfo =
    R"({"driver":"slirp4netns","dns":["10.0.2.3"],"childIP":"10.0.2.100"})";

class ApiServerTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_NE(fake_.driver, nullptr) << fake_.error;
        socket_ = dir_.path() + "/api.sock";
        info_ = ApiInfo{"/tmp/rootlesskit3921", 41234, kNetworkInfo};
        info_.portDriverName = "fake";
        auto started = ApiServer::start(socket_, info_, manager_);
        ASSERT_TRUE(started.ok()) << started.status().message();
        server_ = std::move(*started);
    }

    void TearDown() override {
        if (server_) {
            server_->stop();
        }
    }

    RawReply call(const std::string &method, const std::string &target,
                  const std::string &body = "") {
        return rootlesskit::call(socket_, method, target, body);
    }

    RawReply addPort(const std::string &body) { return call("POST", "/v1/ports", body); }

    rktest::TempDir dir_;
    rktest::FakePortDriver fake_;
    PortManager manager_{fake_.driver.get()};
    std::string socket_;
    ApiInfo info_;
    ApiServerPtr server_;
};

const std::string kSpec8080 =
    R"({"proto":"tcp","parentIP":"127.0.0.1","parentPort":8080,"childPort":80})";

// ---- Routes -------------------------------------------------------------------------------------

TEST_F(ApiServerTest, InfoHasEveryMemberInUpstreamOrder) {
    RawReply reply = call("GET", "/v1/info");

    ASSERT_EQ(reply.error, "");
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.header("content-type"), "application/json");
    EXPECT_EQ(reply.body, std::string(R"({"apiVersion":"1.1.1","version":")") + kVersion +
                              R"(","stateDir":"/tmp/rootlesskit3921","childPID":41234,)"
                              R"("networkDriver":)" +
                              kNetworkInfo + R"(,"portDriver":)" + fakePorts().info + "}");
}

TEST_F(ApiServerTest, EmptyPortListIsNull) {
    RawReply reply = call("GET", "/v1/ports");

    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.header("content-type"), "application/json");
    EXPECT_EQ(reply.body, "null");
}

TEST_F(ApiServerTest, PostCreatesAPortAndEchoesIt) {
    RawReply reply = addPort(kSpec8080);

    EXPECT_EQ(reply.status, 201);
    EXPECT_EQ(reply.header("content-type"), "application/json");
    EXPECT_EQ(reply.body, R"({"id":1,"spec":)" + kSpec8080 + "}");
    auto calls = fakePorts().snapshot();
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0].spec, (PortSpec{"tcp", "127.0.0.1", 8080, 80, ""}));
}

TEST_F(ApiServerTest, ListShowsPortsByIdWithEmptyMembersOmitted) {
    ASSERT_EQ(addPort(kSpec8080).status, 201);
    ASSERT_EQ(addPort(R"({"proto":"udp","parentPort":5353,"childPort":53,"childIP":"10.0.2.100"})")
                  .status,
              201);

    RawReply reply = call("GET", "/v1/ports");

    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.body, R"([{"id":1,"spec":)" + kSpec8080 +
                              R"(},{"id":2,"spec":{"proto":"udp","parentPort":5353,)"
                              R"("childPort":53,"childIP":"10.0.2.100"}}])");
}

TEST_F(ApiServerTest, DeleteRemovesThePortWithAnEmptyReply) {
    ASSERT_EQ(addPort(kSpec8080).status, 201);

    RawReply reply = call("DELETE", "/v1/ports/1");

    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.body, "");
    EXPECT_EQ(reply.header("content-length"), "0");
    EXPECT_EQ(call("GET", "/v1/ports").body, "null");
}

TEST_F(ApiServerTest, UnknownPathsAre404PlainText) {
    for (const char *path :
         {"/", "/v1", "/v1/info/", "/v1/ports/", "/v1/ports/1/x", "/v2/info", "/V1/info"}) {
        RawReply reply = call("GET", path);

        EXPECT_EQ(reply.status, 404) << path;
        EXPECT_EQ(reply.body, "404 page not found\n") << path;
        EXPECT_EQ(reply.header("content-type"), "text/plain; charset=utf-8") << path;
    }
}

TEST_F(ApiServerTest, WrongMethodIs405WithEmptyBody) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"POST", "/v1/info"},    {"DELETE", "/v1/info"}, {"PUT", "/v1/ports"},
        {"DELETE", "/v1/ports"}, {"GET", "/v1/ports/1"}, {"POST", "/v1/ports/1"}};
    for (const auto &[method, path] : cases) {
        RawReply reply = call(method, path, method == "POST" ? "{}" : "");

        EXPECT_EQ(reply.status, 405) << method << " " << path;
        EXPECT_EQ(reply.body, "") << method << " " << path;
    }
    EXPECT_TRUE(fakePorts().snapshot().empty());
}

TEST_F(ApiServerTest, QueryStringDoesNotChangeTheRoute) {
    EXPECT_EQ(call("GET", "/v1/ports?all=1").body, "null");
}

// ---- Bad requests -------------------------------------------------------------------------------

void expectError(const RawReply &reply, int status, const std::string &message) {
    EXPECT_EQ(reply.error, "");
    EXPECT_EQ(reply.status, status) << message;
    EXPECT_EQ(reply.body, errorBody(message));
    EXPECT_EQ(reply.header("content-type"), "application/json") << message;
}

TEST_F(ApiServerTest, MalformedJsonIs400) {
    RawReply reply = addPort(R"({"proto":"tcp",)");

    EXPECT_EQ(reply.status, 400);
    EXPECT_EQ(reply.header("content-type"), "application/json");
    EXPECT_EQ(reply.body.rfind(R"({"message":"bad request: invalid JSON: )", 0), 0u) << reply.body;
    EXPECT_EQ(reply.body.back(), '\n');
}

TEST_F(ApiServerTest, WrongTypeNamesTheFieldAndTheExpectedType) {
    expectError(addPort(R"({"proto":"tcp","parentPort":"8080","childPort":80})"), 400,
                R"(bad request: \"parentPort\" must be an integer, not a string)");
    expectError(addPort(R"({"proto":6,"parentPort":8080,"childPort":80})"), 400,
                R"(bad request: \"proto\" must be a string, not the number 6)");
    expectError(addPort(R"({"proto":"tcp","parentPort":8080.5,"childPort":80})"), 400,
                R"(bad request: \"parentPort\" must be an integer, not the number 8080.5)");
    expectError(addPort(R"(["tcp"])"), 400,
                "bad request: PortSpec must be a JSON object, not an array");
    EXPECT_TRUE(fakePorts().snapshot().empty());
}

TEST_F(ApiServerTest, OutOfRangePortsAre400WithValidationText) {
    for (const char *body : {R"({"proto":"tcp","parentPort":0,"childPort":80})",
                             R"({"proto":"tcp","parentPort":70000,"childPort":80})"}) {
        RawReply reply = addPort(body);

        EXPECT_EQ(reply.status, 400) << body;
        EXPECT_EQ(reply.body.rfind(R"({"message":"invalid ParentPort: )", 0), 0u) << reply.body;
    }
    EXPECT_TRUE(fakePorts().snapshot().empty());
}

TEST_F(ApiServerTest, UnknownIdIs400) {
    expectError(call("DELETE", "/v1/ports/7"), 400, "unknown id: 7");
}

TEST_F(ApiServerTest, NonNumericIdIs400) {
    expectError(call("DELETE", "/v1/ports/abc"), 400, "bad id abc: not a decimal number");
    expectError(call("DELETE", "/v1/ports/-1"), 400, "bad id -1: not a decimal number");
    expectError(call("DELETE", "/v1/ports/99999999999999999999"), 400,
                "bad id 99999999999999999999: out of range");
}

TEST_F(ApiServerTest, ConflictIs400AndKeepsTheFirstPort) {
    ASSERT_EQ(addPort(kSpec8080).status, 201);

    expectError(addPort(kSpec8080), 400, "conflict with ID 1");
    EXPECT_EQ(call("GET", "/v1/ports").body, R"([{"id":1,"spec":)" + kSpec8080 + "}]");
}

TEST_F(ApiServerTest, DriverFailureIs400WithTheDriversMessage) {
    {
        std::lock_guard<std::mutex> lock(fakePorts().mutex);
        fakePorts().failAdd = -EACCES;
        fakePorts().failMessage = "cannot expose privileged port 80";
    }

    expectError(addPort(R"({"proto":"tcp","parentPort":80,"childPort":80})"), 400,
                "cannot expose privileged port 80");
    EXPECT_EQ(call("GET", "/v1/ports").body, "null");
}

TEST_F(ApiServerTest, UnknownMembersAreIgnoredAndNamesMatchAnyCase) {
    RawReply reply =
        addPort(R"({"Proto":"tcp","PARENTIP":"127.0.0.1","parentPort":8081,"childport":81,)"
                R"("extra":{"nested":[1,2]},"childIP":null})");

    EXPECT_EQ(reply.status, 201) << reply.body;
    EXPECT_EQ(reply.body,
              R"({"id":1,"spec":{"proto":"tcp","parentIP":"127.0.0.1","parentPort":8081,)"
              R"("childPort":81}})");
}

TEST_F(ApiServerTest, BodyOver64KiBIs413) {
    ASSERT_EQ(addPort(kSpec8080).status, 201);
    std::string big = R"({"proto":"tcp","parentPort":9000,"childPort":80,"pad":")" +
                      std::string(70 * 1024, 'x') + "\"}";

    RawReply reply = addPort(big);

    EXPECT_EQ(reply.status, 413);
    EXPECT_EQ(reply.header("content-type"), "application/json");
    EXPECT_EQ(call("GET", "/v1/ports").body, R"([{"id":1,"spec":)" + kSpec8080 + "}]");
}

TEST_F(ApiServerTest, MalformedRequestsLeaveTheServerAndItsPortsIntact) {
    ASSERT_EQ(addPort(kSpec8080).status, 201);

    rawExchange(socket_, "GARBAGE\r\n\r\n");
    rawExchange(socket_, "POST /v1/ports HTTP/1.1\r\nContent-Length: 10\r\n\r\n{");
    rawExchange(socket_, std::string("\0\1\2\3", 4));
    rawExchange(socket_,
                "GET /v1/ports HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz");

    RawReply reply = call("GET", "/v1/ports");
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.body, R"([{"id":1,"spec":)" + kSpec8080 + "}]");
}

TEST_F(ApiServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
    std::string data = rawExchange(socket_, request("POST", "/v1/ports", kSpec8080, false) +
                                                request("GET", "/v1/ports", "", false) +
                                                request("GET", "/v1/info", "", true));

    RawReply first = parseReply(data);
    RawReply second = parseReply(data);
    RawReply third = parseReply(data);
    EXPECT_EQ(first.status, 201);
    EXPECT_EQ(second.body, R"([{"id":1,"spec":)" + kSpec8080 + "}]");
    EXPECT_EQ(third.status, 200);
    EXPECT_EQ(data, "");
}

TEST_F(ApiServerTest, PortDriverInfoFailureIs500NamingTheDriver) {
    {
        std::lock_guard<std::mutex> lock(fakePorts().mutex);
        fakePorts().failInfo = -EIO;
        fakePorts().failMessage = "read forwarder state: input/output error";
    }

    expectError(call("GET", "/v1/info"), 500,
                "port driver fake info: read forwarder state: input/output error");
}

TEST_F(ApiServerTest, PortDriverInfoThatIsNotJsonIs500NamingTheDriver) {
    {
        std::lock_guard<std::mutex> lock(fakePorts().mutex);
        fakePorts().info = "{oops";
    }

    RawReply reply = call("GET", "/v1/info");
    EXPECT_EQ(reply.status, 500);
    EXPECT_NE(reply.body.find("port driver fake info: invalid JSON: "), std::string::npos)
        << reply.body;
}

// ---- Socket and lifecycle -----------------------------------------------------------------------

TEST_F(ApiServerTest, SocketModeIs0600) {
    struct stat st {};
    ASSERT_EQ(stat(socket_.c_str(), &st), 0) << std::strerror(errno);

    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_F(ApiServerTest, ConcurrentAddsGetDistinctIdsAndAConsistentList) {
    constexpr int kThreads = 6;
    constexpr int kPerThread = 8;
    std::vector<std::vector<RawReply>> replies(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kPerThread; ++i) {
                int port = 10000 + t * 100 + i;
                replies[t].push_back(addPort(R"({"proto":"tcp","parentPort":)" +
                                             std::to_string(port) + R"(,"childPort":80})"));
            }
        });
    }
    for (std::thread &thread : threads) {
        thread.join();
    }

    std::set<std::string> bodies;
    for (const auto &perThread : replies) {
        for (const RawReply &reply : perThread) {
            EXPECT_EQ(reply.status, 201) << reply.error << reply.body;
            bodies.insert(reply.body.substr(0, reply.body.find(',')));
        }
    }
    EXPECT_EQ(bodies.size(), static_cast<size_t>(kThreads * kPerThread)) << "IDs are distinct";
    auto listed = manager_.list();
    ASSERT_TRUE(listed.ok());
    ASSERT_EQ(listed->size(), static_cast<size_t>(kThreads * kPerThread));
    for (size_t i = 0; i < listed->size(); ++i) {
        EXPECT_EQ((*listed)[i].id, i + 1);
    }
}

// Every rootlesskit-docker-proxy keeps an idle keep-alive connection after its request; a dozen
// published ports must not make a new client wait for one of them to time out.
TEST_F(ApiServerTest, IdleKeepAliveClientsDoNotHoldOffANewOne) {
    std::vector<int> idle;
    for (int i = 0; i < 12; ++i) {
        int fd = connectUnix(socket_);
        ASSERT_GE(fd, 0);
        idle.push_back(fd);
        ASSERT_TRUE(writeAll(fd, request("GET", "/v1/info", "", false)));
        struct pollfd replied = {fd, POLLIN, 0};
        ASSERT_EQ(poll(&replied, 1, 5000), 1) << "client " << i << " got no reply";
        char buf[4096];
        ASSERT_GT(read(fd, buf, sizeof buf), 0);
    }

    int fresh = connectUnix(socket_);
    ASSERT_GE(fresh, 0);
    ASSERT_TRUE(writeAll(fresh, request("GET", "/v1/info")));
    // Well under the 10 s an idle connection may be kept: the reply comes from a free thread.
    struct pollfd replied = {fresh, POLLIN, 0};
    EXPECT_EQ(poll(&replied, 1, 3000), 1) << "the new client waited for an idle connection";
    close(fresh);
    for (int fd : idle) {
        close(fd);
    }
}

TEST_F(ApiServerTest, StopRemovesTheSocketAndRefusesConnections) {
    ASSERT_EQ(access(socket_.c_str(), F_OK), 0);

    server_->stop();
    server_->stop();  // idempotent

    EXPECT_NE(access(socket_.c_str(), F_OK), 0);
    EXPECT_EQ(connectUnix(socket_), -1);
}

TEST(ApiServerStart, RemovesAStaleSocket) {
    rktest::TempDir dir;
    std::string path = dir.path() + "/api.sock";
    int stale = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
    ASSERT_EQ(bind(stale, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)), 0);
    close(stale);
    PortManager manager(nullptr);

    auto server = ApiServer::start(path, ApiInfo{"/tmp/sd", 1, ""}, manager);

    ASSERT_TRUE(server.ok()) << server.status().message();
    EXPECT_EQ(call(path, "GET", "/v1/ports").status, 400);
    (*server)->stop();
}

TEST(ApiServerStart, RefusesToReplaceAFileThatIsNotASocket) {
    rktest::TempDir dir;
    std::string path = dir.path() + "/api.sock";
    std::ofstream(path) << "keep me";
    PortManager manager(nullptr);

    auto server = ApiServer::start(path, ApiInfo{"/tmp/sd", 1, ""}, manager);

    ASSERT_FALSE(server.ok());
    EXPECT_EQ(server.status().message(), "listen " + path + ": file exists and is not a socket");
    std::ifstream in(path);
    std::string content;
    std::getline(in, content);
    EXPECT_EQ(content, "keep me");
}

TEST(ApiServerStart, RefusesAnOverlongSocketPath) {
    std::string path = "/tmp/" + std::string(110, 'x') + "/api.sock";
    PortManager manager(nullptr);

    auto server = ApiServer::start(path, ApiInfo{"/tmp/sd", 1, ""}, manager);

    ASSERT_FALSE(server.ok());
    EXPECT_EQ(server.status().message(),
              "listen " + path + ": socket path is longer than 107 bytes");
}

TEST(ApiServerNoPortDriver, PortRoutesAre400AndInfoHasNoPortDriver) {
    rktest::TempDir dir;
    std::string path = dir.path() + "/api.sock";
    PortManager manager(nullptr);
    auto server = ApiServer::start(path, ApiInfo{"/tmp/sd", 77, ""}, manager);
    ASSERT_TRUE(server.ok()) << server.status().message();

    RawReply info = call(path, "GET", "/v1/info");
    EXPECT_EQ(info.status, 200);
    EXPECT_EQ(info.body, std::string(R"({"apiVersion":"1.1.1","version":")") + kVersion +
                             R"(","stateDir":"/tmp/sd","childPID":77})");
    expectError(call(path, "GET", "/v1/ports"), 400, "no PortDriver is available");
    expectError(call(path, "POST", "/v1/ports", kSpec8080), 400, "no PortDriver is available");
    expectError(call(path, "POST", "/v1/ports", "{"), 400, "no PortDriver is available");
    expectError(call(path, "DELETE", "/v1/ports/1"), 400, "no PortDriver is available");
    (*server)->stop();
}

// Debian 12's rootlesskit-docker-proxy crashes when "portDriver" is missing: with the driver's
// name known, info names it with an empty protocol list, and the port routes still refuse.
TEST(ApiServerNoPortDriver, InfoNamesTheDriverWithNoProtocolsForDockersProxy) {
    rktest::TempDir dir;
    std::string path = dir.path() + "/api.sock";
    PortManager manager(nullptr);
    ApiInfo info{"/tmp/sd", 77, ""};
    info.portDriverName = "none";
    auto server = ApiServer::start(path, info, manager);
    ASSERT_TRUE(server.ok()) << server.status().message();

    RawReply reply = call(path, "GET", "/v1/info");
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.body, std::string(R"({"apiVersion":"1.1.1","version":")") + kVersion +
                              R"(","stateDir":"/tmp/sd","childPID":77,)" +
                              R"("portDriver":{"driver":"none","protos":[]}})");
    expectError(call(path, "POST", "/v1/ports", kSpec8080), 400, "no PortDriver is available");
    (*server)->stop();
}

}  // namespace
}  // namespace rootlesskit
