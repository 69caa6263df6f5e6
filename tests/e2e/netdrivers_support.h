// Shared by the end-to-end tests of the network drivers (pasta_test.cc, lxc_user_nic_test.cc,
// detach_netns_test.cc): running rootlesskit with a shell script inside, a TCP server on the
// host side of a network, and looking for processes a run may have left behind.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/process.h"

namespace rktest::netdrivers {

// Runs "rootlesskit <flags> sh -c <script>" as the test user (60 s at most).
RunResult runInside(const std::vector<std::string> &flags, const std::string &script,
                    std::chrono::milliseconds timeout = std::chrono::milliseconds(60000));

// True when name is a program in the tests' clean PATH.
bool haveCommand(const std::string &name);

// The pasta the tests run: $ROOTLESSKIT_TEST_PASTA (CI sets it to the recent build for a second
// pass), else "pasta" from PATH (Debian 12's).
std::string pastaBinary();

// True when pastaBinary() has --host-lo-to-ns-lo, which only pastas newer than 2023_12_04 have:
// the tests' (and the plugin's) way to tell Debian 12's 2023_03_09 from a recent build.
bool pastaIsRecent();

// A TCP server on the host: accepts on ip (an address of this host, port picked by the kernel)
// and writes greeting to every connection, then closes it. Stops and joins on destruction.
class HostTcpServer {
public:
    HostTcpServer(const std::string &ip, const std::string &greeting);
    ~HostTcpServer();
    HostTcpServer(const HostTcpServer &) = delete;
    HostTcpServer &operator=(const HostTcpServer &) = delete;

    bool listening() const { return fd_ >= 0; }
    int port() const { return port_; }
    int connections() const { return connections_; }

private:
    int fd_ = -1;
    int port_ = 0;
    int wake_[2] = {-1, -1};
    std::atomic<int> connections_{0};
    std::thread thread_;
};

// A network namespace standing in for the host's network, so that a helper such as pasta,
// which sends what the namespace addresses to the host's network, cannot reach a real one: lo
// (up), and a veth pair whose peer leads nowhere, with 192.0.2.200/24 and fdaa:aaaa:aaaa::1/64
// and default routes through 192.0.2.1 and fdaa:aaaa:aaaa::ff, which nobody answers. Needs
// root (the test process creates it; the runs inside are still the test user's).
class PrivateNetwork {
public:
    PrivateNetwork();
    ~PrivateNetwork();
    PrivateNetwork(const PrivateNetwork &) = delete;
    PrivateNetwork &operator=(const PrivateNetwork &) = delete;

    // "" when usable, else why not (for GTEST_SKIP).
    const std::string &error() const { return error_; }

    // Runs fn on a new thread inside the namespace and returns its result. Processes, sockets
    // and threads fn creates are in the namespace too.
    template <typename Fn>
    auto run(Fn &&fn) -> decltype(fn()) {
        using Result = decltype(fn());
        std::optional<Result> result;
        std::thread worker([&] {
            enter();
            result.emplace(fn());
        });
        worker.join();
        return std::move(*result);
    }

private:
    void enter() const;

    int fd_ = -1;
    std::string error_;
};

// Connects to ip:port from the calling thread's namespace and returns what the server sent until
// it closed ("" when the connection failed); at most timeout.
std::string tcpRead(const std::string &ip, int port, const std::string &request = "",
                    std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

// Sends datagram to 127.0.0.1:port every 200 ms until a reply comes (returned), at most timeout
// ("" then).
std::string udpExchange(int port, const std::string &datagram,
                        std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

// A port that was free on 127.0.0.1 a moment ago (TCP or UDP), read back from a bind to port 0.
int freePort(bool udp = false);

// PIDs of the processes whose command line contains needle as one whole argument.
std::vector<pid_t> processesWithArgument(const std::string &needle);

// The lines of text that contain needle.
std::vector<std::string> linesWith(const std::string &text, const std::string &needle);

}  // namespace rktest::netdrivers
