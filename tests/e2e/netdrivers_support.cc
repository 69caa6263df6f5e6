// Support for the network drivers' end-to-end tests (netdrivers_support.h).
#include "tests/e2e/netdrivers_support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace rktest::netdrivers {

RunResult runInside(const std::vector<std::string> &flags, const std::string &script,
                    std::chrono::milliseconds timeout) {
    std::vector<std::string> argv = {binPath("rootlesskit")};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.insert(argv.end(), {"sh", "-c", script});
    RunOptions options;
    options.timeout = timeout;
    options.cwd = "/tmp";
    return runAsTestUser(argv, options);
}

bool haveCommand(const std::string &name) {
    std::string check = "PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin command -v '" + name +
                        "' >/dev/null 2>&1";
    return std::system(check.c_str()) == 0;
}

std::string pastaBinary() {
    const char *env = std::getenv("ROOTLESSKIT_TEST_PASTA");
    return env != nullptr && *env != '\0' ? env : "pasta";
}

bool pastaIsRecent() {
    std::string probe = pastaBinary() + " --host-lo-to-ns-lo --version >/dev/null 2>&1";
    return std::system(probe.c_str()) == 0;
}

HostTcpServer::HostTcpServer(const std::string &ip, const std::string &greeting) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    socklen_t len = sizeof(addr);
    if (fd_ < 0 || inet_pton(AF_INET, ip.c_str(), &addr.sin_addr) != 1 ||
        bind(fd_, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) != 0 || listen(fd_, 16) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr *>(&addr), &len) != 0 ||
        pipe2(wake_, O_CLOEXEC) != 0) {
        if (fd_ >= 0) {
            close(fd_);
        }
        fd_ = -1;
        return;
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, greeting] {
        for (;;) {
            pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
            if (poll(fds, 2, -1) < 0 || fds[1].revents != 0) {
                return;
            }
            int conn = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (conn >= 0) {
                connections_++;
                (void)!write(conn, greeting.data(), greeting.size());
                close(conn);
            }
        }
    });
}

HostTcpServer::~HostTcpServer() {
    if (thread_.joinable()) {
        (void)!write(wake_[1], "x", 1);
        thread_.join();
    }
    for (int fd : {fd_, wake_[0], wake_[1]}) {
        if (fd >= 0) {
            close(fd);
        }
    }
}

PrivateNetwork::PrivateNetwork() {
    if (geteuid() != 0) {
        error_ = "a private network namespace needs root";
        return;
    }
    std::thread maker([this] {
        if (unshare(CLONE_NEWNET) != 0) {
            error_ = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
            return;
        }
        fd_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        // system() forks from this thread: ip runs in the new namespace.
        const char *setUp =
            "ip link set lo up && ip link add rkup0 type veth peer name rkup1 && "
            "ip link set rkup0 up && ip link set rkup1 up && "
            "ip addr add 192.0.2.200/24 dev rkup0 && ip route add default via 192.0.2.1 && "
            "ip addr add fdaa:aaaa:aaaa::1/64 dev rkup0 nodad && "
            "ip -6 route add default via fdaa:aaaa:aaaa::ff dev rkup0";
        if (fd_ < 0 || std::system(setUp) != 0) {
            error_ = "setting up the private network namespace failed (ip, veth)";
        }
    });
    maker.join();
}

PrivateNetwork::~PrivateNetwork() {
    if (fd_ >= 0) {
        close(fd_);
    }
}

void PrivateNetwork::enter() const {
    if (fd_ < 0 || setns(fd_, CLONE_NEWNET) != 0) {
        std::abort();  // a test would otherwise run against the real network
    }
}

std::string tcpRead(const std::string &ip, int port, const std::string &request,
                    std::chrono::milliseconds timeout) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
    std::string data;
    if (connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) == 0) {
        (void)!write(fd, request.data(), request.size());
        auto deadline = std::chrono::steady_clock::now() + timeout;
        char buf[4096];
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            pollfd p = {fd, POLLIN, 0};
            if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) {
                break;
            }
            ssize_t n = read(fd, buf, sizeof(buf));
            if (n <= 0) {
                break;
            }
            data.append(buf, static_cast<size_t>(n));
        }
    }
    close(fd);
    return data;
}

std::string udpExchange(int port, const std::string &datagram, std::chrono::milliseconds timeout) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string reply;
    if (connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) != 0) {
        close(fd);
        return reply;
    }
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (reply.empty() && std::chrono::steady_clock::now() < deadline) {
        (void)!send(fd, datagram.data(), datagram.size(), 0);
        pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 200) == 1) {
            char buf[2048];
            ssize_t n = recv(fd, buf, sizeof(buf), 0);  // ECONNREFUSED: not forwarded yet
            if (n > 0) {
                reply.assign(buf, static_cast<size_t>(n));
            }
        }
    }
    close(fd);
    return reply;
}

int freePort(bool udp) {
    int fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    bool bound = bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) == 0 &&
                 getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) == 0;
    close(fd);
    return bound ? ntohs(addr.sin_port) : 0;
}

std::vector<pid_t> processesWithArgument(const std::string &needle) {
    std::vector<pid_t> out;
    for (const auto &entry : std::filesystem::directory_iterator("/proc")) {
        std::string name = entry.path().filename();
        if (name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        std::ifstream cmdline(entry.path() / "cmdline");
        std::string arg;
        while (std::getline(cmdline, arg, '\0')) {
            if (arg == needle) {
                out.push_back(std::stoi(name));
                break;
            }
        }
    }
    return out;
}

std::vector<std::string> linesWith(const std::string &text, const std::string &needle) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.find(needle) != std::string::npos) {
            out.push_back(line);
        }
    }
    return out;
}

}  // namespace rktest::netdrivers
