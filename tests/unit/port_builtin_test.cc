// The builtin port driver, driven through its C ABI: the plugin is dlopened, one parent and one
// child instance run in this process (the child half in the host's network namespace), each loop
// on its own thread, and real sockets on 127.0.0.1 and ::1 check what a user would notice.
#include <arpa/inet.h>
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <list>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "rootlesskit/rkp.h"
#include "tests/unit/builtin_test_host.h"

namespace {

using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------------
// Loading the plugin and hosting its two halves.

using builtin_test::appendToString;
using builtin_test::LogLine;
using builtin_test::newError;
using builtin_test::plugin;
using builtin_test::TestHost;

// A short temporary directory, removed with everything in it.
class TempDir {
public:
    TempDir() {
        char pattern[] = "/tmp/rkpb-XXXXXX";
        path_ = mkdtemp(pattern);
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    const std::string &path() const { return path_; }

private:
    std::string path_;
};

class EventFd {
public:
    EventFd() : fd_(eventfd(0, EFD_CLOEXEC)) {}
    ~EventFd() { close(fd_); }
    int get() const { return fd_; }
    void signal() {
        uint64_t one = 1;
        ASSERT_EQ(write(fd_, &one, sizeof(one)), 8);
    }

private:
    int fd_;
};

struct Spec {
    uint32_t proto = RKP_PROTO_TCP;
    uint32_t family = RKP_FAMILY_ANY;
    std::string protoName = "tcp";
    std::string parentIp;
    uint16_t parentPort = 0;
    std::string childIp;
    uint16_t childPort = 0;
};

Spec makeSpec(const std::string &proto, const std::string &parentIp, uint16_t parentPort,
              uint16_t childPort, const std::string &childIp = "") {
    Spec s;
    s.protoName = proto;
    s.proto = proto.rfind("udp", 0) == 0    ? RKP_PROTO_UDP
              : proto.rfind("sctp", 0) == 0 ? RKP_PROTO_SCTP
                                            : RKP_PROTO_TCP;
    s.family = proto.back() == '4'   ? RKP_FAMILY_IPV4
               : proto.back() == '6' ? RKP_FAMILY_IPV6
                                     : RKP_FAMILY_ANY;
    s.parentIp = parentIp;
    s.parentPort = parentPort;
    s.childIp = childIp;
    s.childPort = childPort;
    return s;
}

// One parent and one child instance of the plugin, each loop on its own thread.
class Driver {
public:
    explicit Driver(const std::string &config = "{}", const char *netnsPath = nullptr)
        : parentHost_(RKP_SIDE_PARENT, dir_.path()), childHost_(RKP_SIDE_CHILD, dir_.path()) {
        const rkp_plugin *p = plugin();
        rkp_error err = newError();
        if (p->create(parentHost_.get(), config.c_str(), &parent_, &err) != 0 ||
            p->create(childHost_.get(), config.c_str(), &child_, &err) != 0) {
            failure_ = err.message;
            return;
        }

        std::string opaque;
        rkp_sink sink{&opaque, appendToString};
        rkp_port_context ctx{};
        ctx.struct_size = sizeof(ctx);
        ctx.child_ip = "";
        ctx.gateway_ip = "";
        ctx.net_opaque_json = "{}";
        if (p->port->init_parent(parent_, &ctx, &sink, &err) != 0 ||
            p->port->init_child(child_, opaque.c_str(), netnsPath, &err) != 0) {
            failure_ = err.message;
            return;
        }
        opaque_ = opaque;

        parentLoop_ = std::async(std::launch::async, [this, p] {
            rkp_error e = newError();
            return p->port->run_parent(parent_, parentQuit_.get(), &e);
        });
        childLoop_ = std::async(std::launch::async, [this, p] {
            rkp_error e = newError();
            return p->port->run_child(child_, childQuit_.get(), &e);
        });
    }

    ~Driver() { stop(); }

    const std::string &failure() const { return failure_; }
    const std::string &opaque() const { return opaque_; }
    TestHost &parentHost() { return parentHost_; }
    const std::string &stateDir() const { return dir_.path(); }

    int add(uint64_t id, const Spec &s, std::string *message = nullptr) {
        rkp_port_spec spec{};
        spec.struct_size = sizeof(spec);
        spec.proto = s.proto;
        spec.family = s.family;
        spec.parent_port = s.parentPort;
        spec.child_port = s.childPort;
        spec.proto_name = s.protoName.c_str();
        spec.parent_ip = s.parentIp.c_str();
        spec.child_ip = s.childIp.c_str();
        rkp_error err = newError();
        int rc = plugin()->port->add_port(parent_, id, &spec, &err);
        if (message != nullptr) {
            *message = rc == 0 ? "" : err.message;
        }
        return rc;
    }

    int remove(uint64_t id, std::string *message = nullptr) {
        rkp_error err = newError();
        int rc = plugin()->port->remove_port(parent_, id, &err);
        if (message != nullptr) {
            *message = rc == 0 ? "" : err.message;
        }
        return rc;
    }

    // Signals both quit descriptors; true when both loops returned 0 within the deadline.
    bool stop(std::chrono::milliseconds deadline = 5000ms) {
        if (stopped_) {
            return true;
        }
        stopped_ = true;
        bool ok = true;
        if (parentLoop_.valid()) {
            parentQuit_.signal();
            childQuit_.signal();
            ok = parentLoop_.wait_for(deadline) == std::future_status::ready &&
                 childLoop_.wait_for(deadline) == std::future_status::ready;
            ok = ok && parentLoop_.get() == 0 && childLoop_.get() == 0;
        }
        if (parent_ != nullptr) {
            plugin()->destroy(parent_);
        }
        if (child_ != nullptr) {
            plugin()->destroy(child_);
        }
        return ok;
    }

private:
    TempDir dir_;
    TestHost parentHost_;
    TestHost childHost_;
    rkp_instance *parent_ = nullptr;
    rkp_instance *child_ = nullptr;
    EventFd parentQuit_;
    EventFd childQuit_;
    std::future<int> parentLoop_;
    std::future<int> childLoop_;
    std::string failure_;
    std::string opaque_;
    bool stopped_ = false;
};

// ---------------------------------------------------------------------------------------------
// Sockets.

sockaddr_storage address(const std::string &ip, uint16_t port, socklen_t *length) {
    sockaddr_storage storage{};
    if (ip.find(':') != std::string::npos) {
        auto *v6 = reinterpret_cast<sockaddr_in6 *>(&storage);
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr);
        *length = sizeof(sockaddr_in6);
    } else {
        auto *v4 = reinterpret_cast<sockaddr_in *>(&storage);
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        inet_pton(AF_INET, ip.c_str(), &v4->sin_addr);
        *length = sizeof(sockaddr_in);
    }
    return storage;
}

class Socket {
public:
    Socket() = default;
    explicit Socket(int fd) : fd_(fd) {}
    ~Socket() { reset(); }
    Socket(Socket &&other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Socket &operator=(Socket &&other) noexcept {
        reset();
        fd_ = std::exchange(other.fd_, -1);
        return *this;
    }
    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }
    void reset() {
        if (fd_ >= 0) {
            close(fd_);
        }
        fd_ = -1;
    }

private:
    int fd_ = -1;
};

void setTimeouts(int fd, std::chrono::milliseconds timeout = 10000ms) {
    timeval tv{static_cast<time_t>(timeout.count() / 1000),
               static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

// A port nothing listens on right now, for TCP and UDP on every loopback address.
uint16_t freePort() {
    for (int attempt = 0; attempt < 50; ++attempt) {
        Socket tcp(socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
        int zero = 0;
        setsockopt(tcp.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
        socklen_t length;
        sockaddr_storage any = address("::", 0, &length);
        if (bind(tcp.get(), reinterpret_cast<sockaddr *>(&any), length) != 0) {
            continue;
        }
        getsockname(tcp.get(), reinterpret_cast<sockaddr *>(&any), &length);
        uint16_t port = ntohs(reinterpret_cast<sockaddr_in6 *>(&any)->sin6_port);

        Socket udp(socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        setsockopt(udp.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
        if (bind(udp.get(), reinterpret_cast<sockaddr *>(&any), length) == 0) {
            return port;
        }
    }
    return 0;
}

// A connected socket, or an invalid one with errno set.
Socket dial(int type, const std::string &ip, uint16_t port) {
    socklen_t length;
    sockaddr_storage to = address(ip, port, &length);
    Socket s(socket(to.ss_family, type | SOCK_CLOEXEC, 0));
    setTimeouts(s.get());
    if (connect(s.get(), reinterpret_cast<sockaddr *>(&to), length) != 0) {
        int saved = errno;
        s.reset();
        errno = saved;
    }
    return s;
}

bool writeAll(int fd, const std::string &data) {
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (n <= 0) {
            return false;
        }
        done += static_cast<size_t>(n);
    }
    return true;
}

// Reads until EOF. *error receives errno when the read failed instead (0 on EOF).
std::string readAll(int fd, int *error = nullptr) {
    std::string out;
    char buffer[65536];
    for (;;) {
        ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
        if (n > 0) {
            out.append(buffer, static_cast<size_t>(n));
            continue;
        }
        if (error != nullptr) {
            *error = n == 0 ? 0 : errno;
        }
        return out;
    }
}

// Sends message, half-closes, and returns what came back before EOF ("" when the connection
// could not be made; *connectError receives its errno).
std::string tcpRoundTrip(const std::string &ip, uint16_t port, const std::string &message,
                         int *connectError = nullptr) {
    Socket s = dial(SOCK_STREAM, ip, port);
    if (!s.valid()) {
        if (connectError != nullptr) {
            *connectError = errno;
        }
        return "";
    }
    if (!writeAll(s.get(), message)) {
        return "";
    }
    shutdown(s.get(), SHUT_WR);
    return readAll(s.get());
}

// A datagram sent and the reply read back through a connected UDP socket; "" on failure, with
// *error set to the errno (ECONNREFUSED when nothing listens).
std::string udpRoundTrip(const std::string &ip, uint16_t port, const std::string &message,
                         int *error = nullptr) {
    Socket s = dial(SOCK_DGRAM, ip, port);
    setTimeouts(s.get(), 5000ms);
    send(s.get(), message.data(), message.size(), 0);
    char buffer[65536];
    ssize_t n = recv(s.get(), buffer, sizeof(buffer), 0);
    if (n < 0) {
        if (error != nullptr) {
            *error = errno;
        }
        return "";
    }
    return std::string(buffer, static_cast<size_t>(n));
}

// A TCP server on ip:port (port 0: any) that runs handler(fd) for each connection on its own
// thread, and waits for them all on destruction.
class TcpServer {
public:
    using Handler = std::function<void(int fd)>;

    TcpServer(const std::string &ip, uint16_t port, Handler handler, bool dualStack = false)
        : handler_(std::move(handler)) {
        socklen_t length;
        sockaddr_storage at = address(ip, port, &length);
        listener_ = Socket(socket(at.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
        int one = 1;
        int v6only = dualStack ? 0 : 1;
        setsockopt(listener_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (at.ss_family == AF_INET6) {
            setsockopt(listener_.get(), IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
        }
        if (bind(listener_.get(), reinterpret_cast<sockaddr *>(&at), length) != 0 ||
            listen(listener_.get(), 512) != 0) {
            listener_.reset();
            return;
        }
        getsockname(listener_.get(), reinterpret_cast<sockaddr *>(&at), &length);
        port_ = ntohs(at.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6 *>(&at)->sin6_port
                                               : reinterpret_cast<sockaddr_in *>(&at)->sin_port);
        acceptor_ = std::thread([this] { acceptLoop(); });
    }

    ~TcpServer() {
        stopping_ = true;
        if (listener_.valid()) {
            shutdown(listener_.get(), SHUT_RDWR);  // wakes accept()
        }
        if (acceptor_.joinable()) {
            acceptor_.join();
        }
        std::lock_guard<std::mutex> lock(mutex_);
        for (auto &worker : workers_) {
            worker.join();
        }
    }

    bool ok() const { return port_ != 0; }
    uint16_t port() const { return port_; }
    int accepted() const { return accepted_; }

private:
    void acceptLoop() {
        while (!stopping_) {
            int fd = accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EINTR || errno == ECONNABORTED) {
                    continue;
                }
                return;
            }
            ++accepted_;
            setTimeouts(fd);
            std::lock_guard<std::mutex> lock(mutex_);
            reapFinished();
            auto done = std::make_shared<std::atomic<bool>>(false);
            workers_.emplace_back([this, fd, done] {
                handler_(fd);
                close(fd);
                *done = true;
            });
            finished_.push_back(done);
        }
    }

    // Joins handler threads that are done, so that long runs do not pile them up.
    void reapFinished() {
        auto worker = workers_.begin();
        auto flag = finished_.begin();
        while (worker != workers_.end()) {
            if (**flag) {
                worker->join();
                worker = workers_.erase(worker);
                flag = finished_.erase(flag);
            } else {
                ++worker;
                ++flag;
            }
        }
    }

    Handler handler_;
    Socket listener_;
    uint16_t port_ = 0;
    std::thread acceptor_;
    std::atomic<bool> stopping_{false};
    std::atomic<int> accepted_{0};
    std::mutex mutex_;
    std::list<std::thread> workers_;
    std::list<std::shared_ptr<std::atomic<bool>>> finished_;
};

// Echoes everything, then closes after the client's EOF.
void echo(int fd) {
    char buffer[65536];
    for (;;) {
        ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
        if (n <= 0 || !writeAll(fd, std::string(buffer, static_cast<size_t>(n)))) {
            return;
        }
    }
}

// A UDP server answering each datagram with "<prefix><datagram>", recording each sender's port.
class UdpEchoServer {
public:
    UdpEchoServer(const std::string &ip, uint16_t port, bool dualStack = false) {
        socklen_t length;
        sockaddr_storage at = address(ip, port, &length);
        socket_ = Socket(socket(at.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        int v6only = dualStack ? 0 : 1;
        if (at.ss_family == AF_INET6) {
            setsockopt(socket_.get(), IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
        }
        if (bind(socket_.get(), reinterpret_cast<sockaddr *>(&at), length) != 0) {
            socket_.reset();
            return;
        }
        getsockname(socket_.get(), reinterpret_cast<sockaddr *>(&at), &length);
        port_ = ntohs(at.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6 *>(&at)->sin6_port
                                               : reinterpret_cast<sockaddr_in *>(&at)->sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~UdpEchoServer() {
        shutdown(socket_.get(), SHUT_RDWR);  // wakes recvfrom()
        if (thread_.joinable()) {
            thread_.join();
        }
    }
    bool ok() const { return port_ != 0; }
    uint16_t port() const { return port_; }
    std::vector<uint16_t> senderPorts() {
        std::lock_guard<std::mutex> lock(mutex_);
        return senders_;
    }

private:
    void serve() {
        char buffer[65536];
        for (;;) {
            sockaddr_storage from{};
            socklen_t length = sizeof(from);
            ssize_t n = recvfrom(socket_.get(), buffer, sizeof(buffer), 0,
                                 reinterpret_cast<sockaddr *>(&from), &length);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                return;  // shut down
            }
            {
                std::lock_guard<std::mutex> lock(mutex_);
                senders_.push_back(ntohs(reinterpret_cast<sockaddr_in *>(&from)->sin_port));
            }
            std::string reply = "echo:" + std::string(buffer, static_cast<size_t>(n));
            sendto(socket_.get(), reply.data(), reply.size(), 0,
                   reinterpret_cast<sockaddr *>(&from), length);
        }
    }

    Socket socket_;
    uint16_t port_ = 0;
    std::thread thread_;
    std::mutex mutex_;
    std::vector<uint16_t> senders_;
};

size_t openFdCount() {
    size_t count = 0;
    for (const auto &entry : std::filesystem::directory_iterator("/proc/self/fd")) {
        (void)entry;
        ++count;
    }
    return count;
}

bool waitFor(const std::function<bool()> &predicate, std::chrono::milliseconds timeout = 5000ms) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (predicate()) {
            return true;
        }
        std::this_thread::sleep_for(10ms);
    }
    return predicate();
}

bool hasIpv6Loopback() {
    Socket s(socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    socklen_t length;
    sockaddr_storage at = address("::1", 0, &length);
    return s.valid() && bind(s.get(), reinterpret_cast<sockaddr *>(&at), length) == 0;
}

// ---------------------------------------------------------------------------------------------
// The tests.

class PortBuiltinTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_NE(plugin(), nullptr)
            << "cannot load " RK_TEST_PLUGIN_DIR "/rkp-port-builtin.so: " << dlerror();
    }

    // Starts the driver with config and fails the test when it does not come up.
    std::unique_ptr<Driver> start(const std::string &config = "{}",
                                  const char *netnsPath = nullptr) {
        auto driver = std::make_unique<Driver>(config, netnsPath);
        EXPECT_EQ(driver->failure(), "");
        return driver;
    }
};

TEST_F(PortBuiltinTest, DescriptorDeclaresWhatTheHostChecks) {
    const rkp_plugin *p = plugin();
    EXPECT_EQ(std::string(p->name), "builtin");
    EXPECT_EQ(p->kind, RKP_KIND_PORT);
    EXPECT_EQ(p->abi_major, RKP_ABI_MAJOR);
    EXPECT_EQ(p->supports,
              RKP_SUP_TCP | RKP_SUP_UDP | RKP_SUP_IPV6 | RKP_SUP_DETACH_NETNS | RKP_SUP_SOURCE_IP);
    EXPECT_EQ(p->needs, RKP_NEED_NETNS | RKP_NEED_PARENT_LOOP | RKP_NEED_CHILD_LOOP);
    EXPECT_EQ(std::string(p->protos), "tcp tcp4 tcp6 udp udp4 udp6");
    EXPECT_EQ(p->net, nullptr);
    ASSERT_NE(p->port, nullptr);
    EXPECT_EQ(p->port->list_ports, nullptr);
}

TEST_F(PortBuiltinTest, InfoMatchesUpstream) {
    TempDir dir;
    TestHost host(RKP_SIDE_PARENT, dir.path());
    rkp_error err = newError();
    rkp_instance *inst = nullptr;
    ASSERT_EQ(plugin()->create(host.get(), "{}", &inst, &err), 0) << err.message;
    std::string out;
    rkp_sink sink{&out, appendToString};
    ASSERT_EQ(plugin()->port->info(inst, &sink, &err), 0) << err.message;
    plugin()->destroy(inst);
    EXPECT_EQ(out, R"({"driver":"builtin","protos":["tcp","tcp4","tcp6","udp","udp4","udp6"]})");
}

TEST_F(PortBuiltinTest, ConfigIsValidated) {
    TempDir dir;
    TestHost host(RKP_SIDE_PARENT, dir.path());
    struct Case {
        const char *config;
        int rc;
        const char *message;
    } cases[] = {
        {"{}", 0, ""},
        {R"({"udp_idle_timeout_seconds": 5})", 0, ""},
        {R"({"udp_idle_timeout_seconds": 0})", -EINVAL,
         "config: udp_idle_timeout_seconds: must be an integer from 1 to 86400"},
        {R"({"udp_idle_timeout_seconds": "5"})", -EINVAL,
         "config: udp_idle_timeout_seconds: must be an integer from 1 to 86400"},
        {R"({"pipe": 1})", -EINVAL, "config: unknown key \"pipe\""},
        {"[]", -EINVAL, "config: not a JSON object"},
    };
    for (const Case &c : cases) {
        rkp_error err = newError();
        rkp_instance *inst = nullptr;
        int rc = plugin()->create(host.get(), c.config, &inst, &err);
        EXPECT_EQ(rc, c.rc) << c.config;
        if (rc == 0) {
            plugin()->destroy(inst);
        } else {
            EXPECT_EQ(std::string(err.message), c.message) << c.config;
            EXPECT_EQ(err.code, c.rc);
        }
    }
}

TEST_F(PortBuiltinTest, OpaqueNamesTheControlSocketInTheStateDir) {
    auto driver = start();
    EXPECT_EQ(driver->opaque(), R"({"builtin.socketpath":")" + driver->stateDir() +
                                    R"(/.bp.sock","builtin.source-ip-transparent":"false"})");
    struct stat st {};
    ASSERT_EQ(stat((driver->stateDir() + "/.bp.sock").c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// Spec §6.7: which client families reach which specs (server dual-stack on the child port).
TEST_F(PortBuiltinTest, TcpListeningFamiliesFollowTheProto) {
    if (!hasIpv6Loopback()) {
        GTEST_SKIP() << "no IPv6 loopback address here";
    }
    TcpServer server("::", 0, echo, /*dualStack=*/true);
    ASSERT_TRUE(server.ok());
    auto driver = start();

    struct Case {
        const char *proto;
        const char *parentIp;
        const char *childIp;
        const char *clientIp;
        bool reachable;
    } cases[] = {
        {"tcp", "0.0.0.0", "", "127.0.0.1", true},
        {"tcp", "0.0.0.0", "", "::1", true},
        {"tcp", "", "", "::1", true},
        {"tcp4", "0.0.0.0", "", "127.0.0.1", true},
        {"tcp4", "0.0.0.0", "", "::1", false},
        {"tcp6", "::", "", "127.0.0.1", false},
        {"tcp6", "::", "", "::1", true},
        {"tcp6", "::", "::1", "::1", true},
        {"tcp", "::", "::1", "::1", true},
        {"tcp6", "::", "127.0.0.1", "::1", true},
        {"tcp", "::", "127.0.0.1", "::1", true},
        {"tcp4", "0.0.0.0", "::1", "127.0.0.1", true},
        {"tcp", "0.0.0.0", "::1", "127.0.0.1", true},
        {"tcp", "127.0.0.1", "", "127.0.0.1", true},
        {"tcp", "::1", "", "::1", true},
    };
    uint64_t id = 1;
    for (const Case &c : cases) {
        uint16_t port = freePort();
        std::string message;
        ASSERT_EQ(driver->add(id, makeSpec(c.proto, c.parentIp, port, server.port(), c.childIp),
                              &message),
                  0)
            << c.proto << " " << c.parentIp << ": " << message;
        std::string text = std::string("hello ") + c.proto + " " + c.clientIp;
        int connectError = 0;
        std::string reply = tcpRoundTrip(c.clientIp, port, text, &connectError);
        if (c.reachable) {
            EXPECT_EQ(reply, text) << c.proto << " " << c.parentIp << " via " << c.clientIp;
        } else {
            EXPECT_EQ(connectError, ECONNREFUSED)
                << c.proto << " " << c.parentIp << " via " << c.clientIp;
        }
        EXPECT_EQ(driver->remove(id++), 0);
    }
    EXPECT_TRUE(driver->parentHost().linesAtLeast(RKP_LOG_WARN).empty());
}

TEST_F(PortBuiltinTest, Tcp4AndTcp6CanShareAPortNumber) {
    if (!hasIpv6Loopback()) {
        GTEST_SKIP() << "no IPv6 loopback address here";
    }
    TcpServer server("::", 0, echo, true);
    auto driver = start();
    uint16_t port = freePort();
    std::string message;
    ASSERT_EQ(driver->add(1, makeSpec("tcp4", "0.0.0.0", port, server.port()), &message), 0)
        << message;
    ASSERT_EQ(driver->add(2, makeSpec("tcp6", "::", port, server.port()), &message), 0) << message;
    EXPECT_EQ(tcpRoundTrip("127.0.0.1", port, "four"), "four");
    EXPECT_EQ(tcpRoundTrip("::1", port, "six"), "six");
}

TEST_F(PortBuiltinTest, LoopbackParentAddressIsDialedInside) {
    // -p 127.0.0.2:P:C/tcp reaches 127.0.0.2:C inside, not 127.0.0.1:C.
    TcpServer server("127.0.0.2", 0, echo);
    ASSERT_TRUE(server.ok());
    auto driver = start();
    uint16_t port = freePort();
    ASSERT_EQ(driver->add(1, makeSpec("tcp", "127.0.0.2", port, server.port())), 0);
    EXPECT_EQ(tcpRoundTrip("127.0.0.2", port, "via 127.0.0.2"), "via 127.0.0.2");
}

TEST_F(PortBuiltinTest, UdpListeningFamiliesFollowTheProto) {
    if (!hasIpv6Loopback()) {
        GTEST_SKIP() << "no IPv6 loopback address here";
    }
    UdpEchoServer server("::", 0, /*dualStack=*/true);
    ASSERT_TRUE(server.ok());
    auto driver = start();

    struct Case {
        const char *proto;
        const char *parentIp;
        const char *childIp;
        const char *clientIp;
        bool reachable;
    } cases[] = {
        {"udp", "0.0.0.0", "", "127.0.0.1", true},   {"udp", "0.0.0.0", "", "::1", true},
        {"udp4", "0.0.0.0", "", "127.0.0.1", true},  {"udp4", "0.0.0.0", "", "::1", false},
        {"udp6", "::", "", "127.0.0.1", false},      {"udp6", "::", "", "::1", true},
        {"udp6", "::", "127.0.0.1", "::1", true},    {"udp4", "0.0.0.0", "::1", "127.0.0.1", true},
        {"udp", "127.0.0.1", "", "127.0.0.1", true},
    };
    uint64_t id = 1;
    for (const Case &c : cases) {
        uint16_t port = freePort();
        std::string message;
        ASSERT_EQ(driver->add(id, makeSpec(c.proto, c.parentIp, port, server.port(), c.childIp),
                              &message),
                  0)
            << message;
        std::string text = std::string(c.proto) + " " + c.clientIp;
        int error = 0;
        std::string reply = udpRoundTrip(c.clientIp, port, text, &error);
        if (c.reachable) {
            EXPECT_EQ(reply, "echo:" + text)
                << c.proto << " " << c.parentIp << " via " << c.clientIp;
        } else {
            EXPECT_EQ(error, ECONNREFUSED) << c.proto << " " << c.parentIp << " via " << c.clientIp;
        }
        EXPECT_EQ(driver->remove(id++), 0);
    }
}

TEST_F(PortBuiltinTest, WrongFamilyForTheProtoIsRefused) {
    auto driver = start();
    uint16_t port = freePort();
    std::string message;
    EXPECT_EQ(driver->add(1, makeSpec("tcp4", "::1", port, 80), &message), -EINVAL);
    EXPECT_EQ(message, "listen tcp4 [::1]:" + std::to_string(port) + ": address is not IPv4");
    EXPECT_EQ(driver->add(2, makeSpec("udp6", "127.0.0.1", port, 80), &message), -EINVAL);
    EXPECT_EQ(message, "listen udp6 127.0.0.1:" + std::to_string(port) + ": address is not IPv6");
}

TEST_F(PortBuiltinTest, BindConflictIsReported) {
    Socket taken(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    socklen_t length;
    sockaddr_storage at = address("127.0.0.1", 0, &length);
    ASSERT_EQ(bind(taken.get(), reinterpret_cast<sockaddr *>(&at), length), 0);
    ASSERT_EQ(listen(taken.get(), 1), 0);
    getsockname(taken.get(), reinterpret_cast<sockaddr *>(&at), &length);
    uint16_t port = ntohs(reinterpret_cast<sockaddr_in *>(&at)->sin_port);

    auto driver = start();
    std::string message;
    EXPECT_EQ(driver->add(1, makeSpec("tcp", "127.0.0.1", port, 80), &message), -EADDRINUSE);
    EXPECT_EQ(message, "listen tcp 127.0.0.1:" + std::to_string(port) + ": address already in use");
}

TEST_F(PortBuiltinTest, HalfCloseReachesTheServerWhichStillReplies) {
    std::promise<std::string> received;
    TcpServer server("127.0.0.1", 0, [&](int fd) {
        std::string request = readAll(fd);  // returns at the client's EOF
        received.set_value(request);
        writeAll(fd, "got " + std::to_string(request.size()) + " bytes");
    });
    auto driver = start();
    uint16_t port = freePort();
    ASSERT_EQ(driver->add(1, makeSpec("tcp", "127.0.0.1", port, server.port())), 0);

    Socket client = dial(SOCK_STREAM, "127.0.0.1", port);
    ASSERT_TRUE(client.valid());
    ASSERT_TRUE(writeAll(client.get(), "question"));
    ASSERT_EQ(shutdown(client.get(), SHUT_WR), 0);

    auto request = received.get_future();
    ASSERT_EQ(request.wait_for(10s), std::future_status::ready) << "EOF did not reach the server";
    EXPECT_EQ(request.get(), "question");
    int error = -1;
    EXPECT_EQ(readAll(client.get(), &error), "got 8 bytes");
    EXPECT_EQ(error, 0) << "the client should see a clean EOF";
}

TEST_F(PortBuiltinTest, ClientResetResetsTheServerSide) {
    std::promise<int> serverError;
    TcpServer server("127.0.0.1", 0, [&](int fd) {
        char byte;
        ASSERT_EQ(recv(fd, &byte, 1, 0), 1);
        ASSERT_EQ(send(fd, &byte, 1, MSG_NOSIGNAL), 1);
        ssize_t n = recv(fd, &byte, 1, 0);
        serverError.set_value(n < 0 ? errno : 0);
    });
    auto driver = start();
    uint16_t port = freePort();
    ASSERT_EQ(driver->add(1, makeSpec("tcp", "127.0.0.1", port, server.port())), 0);

    Socket client = dial(SOCK_STREAM, "127.0.0.1", port);
    ASSERT_TRUE(writeAll(client.get(), "x"));
    char byte;
    ASSERT_EQ(recv(client.get(), &byte, 1, 0), 1);  // the relay is up
    linger abortive{1, 0};
    setsockopt(client.get(), SOL_SOCKET, SO_LINGER, &abortive, sizeof(abortive));
    client.reset();

    auto result = serverError.get_future();
    ASSERT_EQ(result.wait_for(10s), std::future_status::ready);
    EXPECT_EQ(result.get(), ECONNRESET);
}

TEST_F(PortBuiltinTest, ServerResetResetsTheClientSide) {
    TcpServer server("127.0.0.1", 0, [&](int fd) {
        char byte;
        ASSERT_EQ(recv(fd, &byte, 1, 0), 1);
        linger abortive{1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &abortive, sizeof(abortive));
    });  // closing with linger 0 sends a reset
    auto driver = start();
    uint16_t port = freePort();
    ASSERT_EQ(driver->add(1, makeSpec("tcp", "127.0.0.1", port, server.port())), 0);

    Socket client = dial(SOCK_STREAM, "127.0.0.1", port);
    ASSERT_TRUE(writeAll(client.get(), "x"));
    int error = 0;
    readAll(client.get(), &error);
    EXPECT_EQ(error, ECONNRESET);
}

TEST_F(PortBuiltinTest, MebibytePayloadArrivesIntact) {
    TcpServer server("127.0.0.1", 0, echo);
    auto driver = start();
    uint16_t port = freePort();
    ASSERT_EQ(driver->add(1, makeSpec("tcp", "127.0.0.1", port, server.port())), 0);

    for (size_t size : {size_t(1) << 20, size_t(24) << 20}) {
        std::string payload(size, '\0');
        std::mt19937_64 random(size);
        for (char &c : payload) {
            c = static_cast<char>(random());
        }
        Socket client = dial(SOCK_STREAM, "127.0.0.1", port);
        ASSERT_TRUE(client.valid());
        // Echoed data comes back while we still send, so send from another thread.
        auto sender = std::async(std::launch::async, [&] {
            bool ok = writeAll(client.get(), payload);
            shutdown(client.get(), SHUT_WR);
            return ok;
        });
        std::string back = readAll(client.get());
        EXPECT_TRUE(sender.get());
        EXPECT_EQ(back.size(), payload.size());
        EXPECT_TRUE(back == payload) << "payload of " << size << " bytes differs";
    }
}

TEST_F(PortBuiltinTest, TwoHundredConcurrentConnections) {
    TcpServer server("127.0.0.1", 0, echo);
    auto driver = start();
    uint16_t port = freePort();
    ASSERT_EQ(driver->add(1, makeSpec("tcp", "127.0.0.1", port, server.port())), 0);

    constexpr int kConnections = 200;
    std::vector<Socket> clients;
    for (int i = 0; i < kConnections; ++i) {
        clients.push_back(dial(SOCK_STREAM, "127.0.0.1", port));
        ASSERT_TRUE(clients.back().valid()) << "connection " << i << ": " << strerror(errno);
        ASSERT_TRUE(writeAll(clients.back().get(), "connection " + std::to_string(i)));
    }
    // Every connection is open at once; now each one finishes and checks its own answer.
    for (int i = 0; i < kConnections; ++i) {
        shutdown(clients[i].get(), SHUT_WR);
        EXPECT_EQ(readAll(clients[i].get()), "connection " + std::to_string(i));
    }
    EXPECT_EQ(server.accepted(), kConnections);
}

TEST_F(PortBuiltinTest, UdpClientsGetTheirOwnReplies) {
    UdpEchoServer server("127.0.0.1", 0);
    auto driver = start();
    uint16_t port = freePort();
    ASSERT_EQ(driver->add(1, makeSpec("udp", "127.0.0.1", port, server.port())), 0);

    Socket a = dial(SOCK_DGRAM, "127.0.0.1", port);
    Socket b = dial(SOCK_DGRAM, "127.0.0.1", port);
    for (int round = 0; round < 3; ++round) {
        std::string ma = "from a " + std::to_string(round);
        std::string mb = "from b " + std::to_string(round);
        ASSERT_EQ(send(a.get(), ma.data(), ma.size(), 0), static_cast<ssize_t>(ma.size()));
        ASSERT_EQ(send(b.get(), mb.data(), mb.size(), 0), static_cast<ssize_t>(mb.size()));
        char buffer[256];
        ssize_t n = recv(b.get(), buffer, sizeof(buffer), 0);
        ASSERT_GT(n, 0) << strerror(errno);
        EXPECT_EQ(std::string(buffer, static_cast<size_t>(n)), "echo:" + mb);
        n = recv(a.get(), buffer, sizeof(buffer), 0);
        ASSERT_GT(n, 0) << strerror(errno);
        EXPECT_EQ(std::string(buffer, static_cast<size_t>(n)), "echo:" + ma);
    }
    // One flow per client: the server saw exactly two distinct senders.
    std::vector<uint16_t> senders = server.senderPorts();
    std::sort(senders.begin(), senders.end());
    senders.erase(std::unique(senders.begin(), senders.end()), senders.end());
    EXPECT_EQ(senders.size(), 2u);
}

TEST_F(PortBuiltinTest, UdpOnAWildcardRepliesFromTheAddressTheClientUsed) {
    UdpEchoServer server("127.0.0.1", 0);
    auto driver = start();
    uint16_t port = freePort();
    ASSERT_EQ(driver->add(1, makeSpec("udp", "", port, server.port())), 0);
    // A connected socket accepts replies only from the address it sent to.
    EXPECT_EQ(udpRoundTrip("127.0.0.2", port, "to .2"), "echo:to .2");
    EXPECT_EQ(udpRoundTrip("127.0.0.1", port, "to .1"), "echo:to .1");
}

TEST_F(PortBuiltinTest, UdpFlowEndsAfterTheIdleTimeout) {
    UdpEchoServer server("127.0.0.1", 0);
    auto driver = start(R"({"udp_idle_timeout_seconds": 1})");
    uint16_t port = freePort();
    ASSERT_EQ(driver->add(1, makeSpec("udp", "127.0.0.1", port, server.port())), 0);

    Socket client = dial(SOCK_DGRAM, "127.0.0.1", port);
    setTimeouts(client.get(), 5000ms);
    char buffer[64];
    ASSERT_EQ(send(client.get(), "one", 3, 0), 3);
    ASSERT_GT(recv(client.get(), buffer, sizeof(buffer), 0), 0);
    // Waiting is what is being tested here: a second of silence ends the flow.
    std::this_thread::sleep_for(2s);
    ASSERT_EQ(send(client.get(), "two", 3, 0), 3);
    ASSERT_GT(recv(client.get(), buffer, sizeof(buffer), 0), 0);

    std::vector<uint16_t> senders = server.senderPorts();
    ASSERT_EQ(senders.size(), 2u);
    EXPECT_NE(senders[0], senders[1]) << "the second datagram should use a new backend socket";
}

TEST_F(PortBuiltinTest, RemoveClosesListenerAndConnectionsAndThePortCanBeReused) {
    TcpServer server("127.0.0.1", 0, echo);
    auto driver = start();
    uint16_t port = freePort();
    ASSERT_EQ(driver->add(1, makeSpec("tcp", "127.0.0.1", port, server.port())), 0);

    Socket live = dial(SOCK_STREAM, "127.0.0.1", port);
    ASSERT_TRUE(writeAll(live.get(), "ping"));
    char buffer[16];
    ASSERT_EQ(recv(live.get(), buffer, sizeof(buffer), 0), 4);

    ASSERT_EQ(driver->remove(1), 0);
    pollfd pfd{live.get(), POLLIN, 0};
    ASSERT_EQ(poll(&pfd, 1, 0), 1) << "the live connection should be closed when remove returns";
    int error = -1;
    readAll(live.get(), &error);
    EXPECT_TRUE(error == 0 || error == ECONNRESET) << strerror(error);

    int connectError = 0;
    tcpRoundTrip("127.0.0.1", port, "x", &connectError);
    EXPECT_EQ(connectError, ECONNREFUSED);

    std::string message;
    ASSERT_EQ(driver->add(2, makeSpec("tcp", "127.0.0.1", port, server.port()), &message), 0)
        << message;
    EXPECT_EQ(tcpRoundTrip("127.0.0.1", port, "again"), "again");
}

TEST_F(PortBuiltinTest, RemoveClosesUdpFlowsAndThePortCanBeReused) {
    UdpEchoServer server("127.0.0.1", 0);
    auto driver = start();
    uint16_t port = freePort();
    ASSERT_EQ(driver->add(1, makeSpec("udp", "127.0.0.1", port, server.port())), 0);
    EXPECT_EQ(udpRoundTrip("127.0.0.1", port, "a"), "echo:a");
    ASSERT_EQ(driver->remove(1), 0);
    ASSERT_EQ(driver->add(2, makeSpec("udp", "127.0.0.1", port, server.port())), 0);
    EXPECT_EQ(udpRoundTrip("127.0.0.1", port, "b"), "echo:b");
}

TEST_F(PortBuiltinTest, UnknownIdIsENOENT) {
    auto driver = start();
    std::string message;
    EXPECT_EQ(driver->remove(42, &message), -ENOENT);
    EXPECT_EQ(message, "unknown id: 42");
}

TEST_F(PortBuiltinTest, DuplicateIdIsEEXIST) {
    auto driver = start();
    ASSERT_EQ(driver->add(7, makeSpec("tcp", "127.0.0.1", freePort(), 80)), 0);
    std::string message;
    EXPECT_EQ(driver->add(7, makeSpec("tcp", "127.0.0.1", freePort(), 80), &message), -EEXIST);
    EXPECT_EQ(message, "add port: id 7 already exists");
}

TEST_F(PortBuiltinTest, SctpIsRefused) {
    auto driver = start();
    std::string message;
    EXPECT_EQ(driver->add(1, makeSpec("sctp", "127.0.0.1", freePort(), 80), &message), -ENOTSUP);
    EXPECT_EQ(message, "unsupported port protocol sctp");
}

TEST_F(PortBuiltinTest, ChildDialErrorReachesTheLogAndResetsTheClient) {
    auto driver = start();
    uint16_t port = freePort();
    uint16_t nothing = freePort();  // no server on the child side
    ASSERT_EQ(driver->add(1, makeSpec("tcp", "127.0.0.1", port, nothing)), 0);

    Socket client = dial(SOCK_STREAM, "127.0.0.1", port);
    ASSERT_TRUE(client.valid());
    int error = 0;
    readAll(client.get(), &error);
    EXPECT_EQ(error, ECONNRESET);

    std::string expected = "127.0.0.1:" + std::to_string(port) +
                           "/tcp: dial tcp 127.0.0.1:" + std::to_string(nothing) +
                           ": connection refused";
    bool found = false;
    for (const std::string &line : driver->parentHost().linesAtLeast(RKP_LOG_WARN)) {
        found = found || line.find(expected) == 0;
    }
    EXPECT_TRUE(found) << "expected a warning starting with: " << expected;
}

TEST_F(PortBuiltinTest, PrivilegedPortIsExplained) {
    int start = -1;
    std::ifstream("/proc/sys/net/ipv4/ip_unprivileged_port_start") >> start;
    if (start <= 1) {
        GTEST_SKIP() << "every port is unprivileged here (ip_unprivileged_port_start=" << start
                     << ")";
    }
    uint16_t port = static_cast<uint16_t>(start - 1);

    // The bind must run without CAP_NET_BIND_SERVICE: as root, drop to nobody in a child.
    int pipeFds[2];
    ASSERT_EQ(pipe2(pipeFds, O_CLOEXEC), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        close(pipeFds[0]);
        if (geteuid() == 0 &&
            (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)) {
            _exit(2);
        }
        char dir[] = "/tmp/rkpb-XXXXXX";
        if (mkdtemp(dir) == nullptr) {
            _exit(3);
        }
        TestHost host(RKP_SIDE_PARENT, dir);
        rkp_error err = newError();
        rkp_instance *inst = nullptr;
        std::string ignored;
        rkp_sink sink{&ignored, appendToString};
        if (plugin()->create(host.get(), "{}", &inst, &err) != 0 ||
            plugin()->port->init_parent(inst, nullptr, &sink, &err) != 0) {
            _exit(4);
        }
        Spec s = makeSpec("tcp", "127.0.0.1", port, 80);
        rkp_port_spec spec{sizeof(rkp_port_spec), s.proto,          s.family,
                           s.parentPort,          s.childPort,      s.protoName.c_str(),
                           s.parentIp.c_str(),    s.childIp.c_str()};
        int rc = plugin()->port->add_port(inst, 1, &spec, &err);
        std::string out = std::to_string(rc) + "\n" + err.message;
        (void)!write(pipeFds[1], out.data(), out.size());
        plugin()->destroy(inst);
        rmdir(dir);
        _exit(0);
    }
    close(pipeFds[1]);
    std::string out;
    char chunk[512];
    for (ssize_t n; (n = read(pipeFds[0], chunk, sizeof(chunk))) > 0;) {
        out.append(chunk, static_cast<size_t>(n));
    }
    close(pipeFds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "helper process failed with status " << status;

    std::string p = std::to_string(port);
    std::string s = std::to_string(start);
    EXPECT_EQ(out, std::to_string(-EACCES) + "\ncannot expose privileged port " + p +
                       ", you can add 'net.ipv4.ip_unprivileged_port_start=" + p +
                       "' to /etc/sysctl.conf (currently " + s +
                       "), or set CAP_NET_BIND_SERVICE on rootlesskit binary, or choose a "
                       "larger port number (>= " +
                       s + "): listen tcp 127.0.0.1:" + p + ": permission denied");
}

TEST_F(PortBuiltinTest, QuitStopsBothLoopsPromptlyWithLiveConnections) {
    TcpServer server("127.0.0.1", 0, echo);
    auto driver = start();
    uint16_t port = freePort();
    ASSERT_EQ(driver->add(1, makeSpec("tcp", "127.0.0.1", port, server.port())), 0);
    Socket live = dial(SOCK_STREAM, "127.0.0.1", port);
    ASSERT_TRUE(writeAll(live.get(), "ping"));
    char buffer[8];
    ASSERT_EQ(recv(live.get(), buffer, sizeof(buffer), 0), 4);

    auto begin = std::chrono::steady_clock::now();
    EXPECT_TRUE(driver->stop(5000ms)) << "a loop did not return 0 within 5 s of quit";
    EXPECT_LT(std::chrono::steady_clock::now() - begin, 5s);

    int error = -1;
    readAll(live.get(), &error);  // the connection went down with the driver
    EXPECT_TRUE(error == 0 || error == ECONNRESET);
}

TEST_F(PortBuiltinTest, NoDescriptorGrowthAfterAThousandConnections) {
    TcpServer server("127.0.0.1", 0, echo);
    auto driver = start();
    uint16_t port = freePort();
    ASSERT_EQ(driver->add(1, makeSpec("tcp", "127.0.0.1", port, server.port())), 0);

    // Warm up, so that lazily created state (pooled pipes) exists before counting.
    for (int i = 0; i < 20; ++i) {
        ASSERT_EQ(tcpRoundTrip("127.0.0.1", port, "warm"), "warm");
    }
    ASSERT_TRUE(waitFor([&] { return server.accepted() == 20; }));
    size_t baseline = openFdCount();

    for (int i = 0; i < 1000; ++i) {
        std::string text = "n" + std::to_string(i);
        ASSERT_EQ(tcpRoundTrip("127.0.0.1", port, text), text) << "connection " << i;
    }
    // Closing trails the client's EOF by a moment on the loop and server threads.
    EXPECT_TRUE(waitFor([&] { return openFdCount() <= baseline; }))
        << "open descriptors: " << openFdCount() << ", before: " << baseline;
}

// Lowers RLIMIT_NOFILE and takes every descriptor still free below it; undoes both on
// destruction.
class DescriptorExhaustion {
public:
    DescriptorExhaustion() {
        getrlimit(RLIMIT_NOFILE, &saved_);
        int highest = 0;
        for (const auto &entry : std::filesystem::directory_iterator("/proc/self/fd")) {
            highest = std::max(highest, std::stoi(entry.path().filename().string()));
        }
        rlimit lowered = saved_;
        lowered.rlim_cur = static_cast<rlim_t>(highest) + 8;
        setrlimit(RLIMIT_NOFILE, &lowered);
        for (int fd; (fd = fcntl(0, F_DUPFD_CLOEXEC, 0)) >= 0;) {
            taken_.push_back(fd);
        }
    }
    ~DescriptorExhaustion() { release(); }
    void release() {
        for (int fd : taken_) {
            close(fd);
        }
        taken_.clear();
        setrlimit(RLIMIT_NOFILE, &saved_);
    }

private:
    rlimit saved_{};
    std::vector<int> taken_;
};

TEST_F(PortBuiltinTest, OutOfDescriptorsPausesAcceptingAndKeepsServing) {
    TcpServer server("127.0.0.1", 0, echo);
    auto driver = start();
    uint16_t port = freePort();
    ASSERT_EQ(driver->add(1, makeSpec("tcp", "127.0.0.1", port, server.port())), 0);

    Socket live = dial(SOCK_STREAM, "127.0.0.1", port);
    ASSERT_TRUE(writeAll(live.get(), "before"));
    char buffer[16];
    ASSERT_EQ(recv(live.get(), buffer, sizeof(buffer), 0), 6);

    // The new client's socket exists before the process runs out of descriptors.
    socklen_t length;
    sockaddr_storage to = address("127.0.0.1", port, &length);
    Socket late(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    setTimeouts(late.get());
    {
        DescriptorExhaustion exhaustion;
        // The handshake completes in the kernel; the driver's accept() then fails.
        ASSERT_EQ(connect(late.get(), reinterpret_cast<sockaddr *>(&to), length), 0);
        auto sawWarning = [&] {
            for (const std::string &line : driver->parentHost().linesAtLeast(RKP_LOG_WARN)) {
                if (line.find("accept: too many open files") != std::string::npos) {
                    return true;
                }
            }
            return false;
        };
        EXPECT_TRUE(waitFor(sawWarning)) << "no accept warning was logged";

        // The established connection is still served meanwhile.
        ASSERT_TRUE(writeAll(live.get(), "during"));
        EXPECT_EQ(recv(live.get(), buffer, sizeof(buffer), 0), 6);
    }
    // With descriptors back, the waiting client is accepted after the back-off.
    ASSERT_TRUE(writeAll(late.get(), "after"));
    shutdown(late.get(), SHUT_WR);
    EXPECT_EQ(readAll(late.get()), "after");
}

TEST_F(PortBuiltinTest, DetachedNetnsDialsInsideThatNamespace) {
    if (geteuid() != 0) {
        GTEST_SKIP() << "creating a network namespace needs root";
    }
    // A thread enters a new network namespace, brings lo up and starts a server there; the
    // namespace is then kept by a descriptor, like rootlesskit's $STATE_DIR/netns.
    int netnsFd = -1;
    std::unique_ptr<TcpServer> server;
    std::string failure;
    std::thread([&] {
        if (unshare(CLONE_NEWNET) != 0) {
            failure = std::string("unshare: ") + strerror(errno);
            return;
        }
        Socket s(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        ifreq request{};
        std::strcpy(request.ifr_name, "lo");
        request.ifr_flags = IFF_UP;
        if (ioctl(s.get(), SIOCSIFFLAGS, &request) != 0) {
            failure = std::string("bring lo up: ") + strerror(errno);
            return;
        }
        std::string self = "/proc/self/task/" + std::to_string(syscall(SYS_gettid)) + "/ns/net";
        netnsFd = open(self.c_str(), O_RDONLY | O_CLOEXEC);
        server = std::make_unique<TcpServer>("127.0.0.1", 0, echo);
    }).join();
    if (!failure.empty()) {
        GTEST_SKIP() << "cannot create a network namespace: " << failure;
    }
    ASSERT_GE(netnsFd, 0);
    ASSERT_TRUE(server->ok());

    std::string path = "/proc/self/fd/" + std::to_string(netnsFd);
    auto driver = start("{}", path.c_str());
    uint16_t port = freePort();
    ASSERT_EQ(driver->add(1, makeSpec("tcp", "127.0.0.1", port, server->port())), 0);
    // Nothing listens on the host's 127.0.0.1:<server port>; only the namespace has it.
    EXPECT_EQ(tcpRoundTrip("127.0.0.1", port, "inside"), "inside");
    driver.reset();
    server.reset();
    close(netnsFd);
}

}  // namespace
