// Benchmarks of the builtin port driver's forwarding: the splice inner loop on its own, and whole
// TCP connections through the parent and child halves (the same code the plugin runs, without
// the plugin boundary). Throughput numbers are informational; nothing here asserts on them.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "child_dialer.h"
#include "fd.h"
#include "listener.h"
#include "parent_forwarder.h"
#include "splice_pump.h"

namespace {

using rkbuiltin::Fd;

sockaddr_in loopback(uint16_t port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return address;
}

uint16_t portOf(int fd) {
    sockaddr_in address{};
    socklen_t length = sizeof(address);
    getsockname(fd, reinterpret_cast<sockaddr *>(&address), &length);
    return ntohs(address.sin_port);
}

Fd listenLoopback() {
    Fd listener(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address = loopback(0);
    bind(listener.get(), reinterpret_cast<sockaddr *>(&address), sizeof(address));
    listen(listener.get(), 128);
    return listener;
}

Fd connectLoopback(uint16_t port) {
    Fd s(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address = loopback(port);
    if (connect(s.get(), reinterpret_cast<sockaddr *>(&address), sizeof(address)) != 0) {
        s.reset();
    }
    return s;
}

// A connected loopback TCP pair, both ends non-blocking.
struct TcpPair {
    Fd a;
    Fd b;
};

TcpPair makePair() {
    Fd listener = listenLoopback();
    TcpPair pair;
    pair.a = connectLoopback(portOf(listener.get()));
    pair.b.reset(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    for (int fd : {pair.a.get(), pair.b.get()}) {
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    }
    return pair;
}

// The inner loop alone: bytes written into one TCP connection are spliced into another and read
// back out, on one thread. Measures the cost per byte of the splice path.
void BM_SplicePump(benchmark::State &state) {
    size_t chunk = static_cast<size_t>(state.range(0));
    TcpPair in = makePair();
    TcpPair out = makePair();
    rkbuiltin::PipePool pool;
    rkbuiltin::SplicePump pump;
    std::vector<char> buffer(chunk, 'x');

    for (auto _ : state) {
        size_t written = 0;
        size_t read = 0;
        while (read < chunk) {
            if (written < chunk) {
                ssize_t n = write(in.a.get(), buffer.data() + written, chunk - written);
                written += n > 0 ? static_cast<size_t>(n) : 0;
            }
            pump.pump(in.b.get(), out.a.get(), pool, chunk);
            ssize_t n = ::read(out.b.get(), buffer.data(), chunk - read);
            read += n > 0 ? static_cast<size_t>(n) : 0;
        }
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(chunk));
}
BENCHMARK(BM_SplicePump)->Arg(4 << 10)->Arg(64 << 10)->Arg(256 << 10);

// Both halves of the driver in this process, a port on 127.0.0.1, and a server behind it.
class Forwarding {
public:
    explicit Forwarding(void (*serve)(int fd, std::atomic<bool> *stop),
                        rkbuiltin::ParentForwarder::Config config = {}) {
        char pattern[] = "/tmp/rkpbench-XXXXXX";
        dir_ = mkdtemp(pattern);
        host_.struct_size = sizeof(host_);
        host_.side = RKP_SIDE_PARENT;
        host_.state_dir = dir_.c_str();
        host_.log = [](void *, uint32_t, const char *) {};
        host_.log_enabled = [](void *, uint32_t) { return 0; };

        server_ = listenLoopback();
        serverThread_ = std::thread([this, serve] { acceptLoop(serve); });

        rkp_error err{};
        parent_ = std::make_unique<rkbuiltin::ParentForwarder>(&host_, config);
        parent_->init(dir_ + "/.bp.sock", &err);
        child_ = std::make_unique<rkbuiltin::ChildDialer>(&host_);
        child_->init(dir_ + "/.bp.sock", nullptr, /*sourceTransparent=*/false, &err);
        parentThread_ = std::thread([this] {
            rkp_error e{};
            parent_->run(quit_.get(), &e);
        });
        childThread_ = std::thread([this] {
            rkp_error e{};
            child_->run(quit_.get(), &e);
        });

        Fd probe = listenLoopback();  // a free port for the published side
        port_ = portOf(probe.get());
        probe.reset();
        rkp_port_spec spec{};
        spec.struct_size = sizeof(spec);
        spec.proto = RKP_PROTO_TCP;
        spec.family = RKP_FAMILY_IPV4;
        spec.parent_port = port_;
        spec.child_port = portOf(server_.get());
        spec.proto_name = "tcp4";
        spec.parent_ip = "127.0.0.1";
        spec.child_ip = "";
        rkbuiltin::PortPlan plan;
        ok_ = rkbuiltin::openPort(spec, 1, &plan, &err) == 0 &&
              parent_->addPort(std::move(plan), &err) == 0;
        error_ = err.message;
    }

    ~Forwarding() {
        uint64_t one = 1;
        (void)!write(quit_.get(), &one, sizeof(one));
        parentThread_.join();
        childThread_.join();
        stop_ = true;
        shutdown(server_.get(), SHUT_RDWR);
        serverThread_.join();
        parent_.reset();
        child_.reset();
        std::filesystem::remove_all(dir_);
    }

    bool ok() const { return ok_; }
    const std::string &error() const { return error_; }
    uint16_t port() const { return port_; }

private:
    void acceptLoop(void (*serve)(int fd, std::atomic<bool> *stop)) {
        for (;;) {
            int fd = accept4(server_.get(), nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) {
                return;
            }
            serve(fd, &stop_);  // one connection at a time is all these benchmarks need
            close(fd);
        }
    }

    std::string dir_;
    rkp_host host_{};
    Fd quit_{eventfd(0, EFD_CLOEXEC)};
    Fd server_;
    std::atomic<bool> stop_{false};
    std::thread serverThread_;
    std::unique_ptr<rkbuiltin::ParentForwarder> parent_;
    std::unique_ptr<rkbuiltin::ChildDialer> child_;
    std::thread parentThread_;
    std::thread childThread_;
    uint16_t port_ = 0;
    bool ok_ = false;
    std::string error_;
};

constexpr size_t kStreamBlock = 16 << 20;

// Reads everything; answers one byte after each kStreamBlock bytes.
void sinkWithAcks(int fd, std::atomic<bool> *) {
    std::vector<char> buffer(1 << 20);
    size_t sinceAck = 0;
    for (;;) {
        ssize_t n = read(fd, buffer.data(), buffer.size());
        if (n <= 0) {
            return;
        }
        sinceAck += static_cast<size_t>(n);
        while (sinceAck >= kStreamBlock) {
            sinceAck -= kStreamBlock;
            char ack = 'k';
            (void)!write(fd, &ack, 1);
        }
    }
}

// The same stream straight to the server, as the reference the forwarded stream compares with.
void BM_DirectStream(benchmark::State &state);

// One long connection through the forwarder: client -> parent half -> server, 16 MiB per
// iteration, acknowledged by the server. The argument is the forwarder's pipe size.
void BM_ForwardedStream(benchmark::State &state) {
    rkbuiltin::ParentForwarder::Config config;
    config.pipeSize = static_cast<size_t>(state.range(0));
    Forwarding forwarding(sinkWithAcks, config);
    if (!forwarding.ok()) {
        state.SkipWithError(forwarding.error().c_str());
        return;
    }
    Fd client = connectLoopback(forwarding.port());
    std::vector<char> block(1 << 20, 'x');
    for (auto _ : state) {
        for (size_t sent = 0; sent < kStreamBlock; sent += block.size()) {
            size_t done = 0;
            while (done < block.size()) {
                ssize_t n = write(client.get(), block.data() + done, block.size() - done);
                if (n <= 0) {
                    state.SkipWithError("write failed");
                    return;
                }
                done += static_cast<size_t>(n);
            }
        }
        char ack;
        if (read(client.get(), &ack, 1) != 1) {
            state.SkipWithError("no acknowledgement");
            return;
        }
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                            static_cast<int64_t>(kStreamBlock));
}
BENCHMARK(BM_ForwardedStream)
    ->Arg(64 << 10)
    ->Arg(256 << 10)
    ->Arg(1 << 20)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_DirectStream(benchmark::State &state) {
    Fd server = listenLoopback();
    std::thread sink([&] {
        Fd fd(accept4(server.get(), nullptr, nullptr, SOCK_CLOEXEC));
        sinkWithAcks(fd.get(), nullptr);
    });
    Fd client = connectLoopback(portOf(server.get()));
    std::vector<char> block(1 << 20, 'x');
    for (auto _ : state) {
        for (size_t sent = 0; sent < kStreamBlock; sent += block.size()) {
            size_t done = 0;
            while (done < block.size()) {
                ssize_t n = write(client.get(), block.data() + done, block.size() - done);
                done += n > 0 ? static_cast<size_t>(n) : 0;
            }
        }
        char ack;
        if (read(client.get(), &ack, 1) != 1) {
            state.SkipWithError("no acknowledgement");
            break;
        }
    }
    client.reset();
    sink.join();
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                            static_cast<int64_t>(kStreamBlock));
}
BENCHMARK(BM_DirectStream)->Unit(benchmark::kMillisecond)->UseRealTime();

// Echoes one byte and closes.
void echoOneByte(int fd, std::atomic<bool> *) {
    char byte;
    if (read(fd, &byte, 1) == 1) {
        (void)!write(fd, &byte, 1);
    }
}

// Connection rate: connect, one byte each way, close. Every connection is one request and one
// reply on the control channel plus a connect() inside.
void BM_ForwardedConnection(benchmark::State &state) {
    Forwarding forwarding(echoOneByte);
    if (!forwarding.ok()) {
        state.SkipWithError(forwarding.error().c_str());
        return;
    }
    for (auto _ : state) {
        Fd client = connectLoopback(forwarding.port());
        char byte = 'p';
        if (write(client.get(), &byte, 1) != 1 || read(client.get(), &byte, 1) != 1) {
            state.SkipWithError("round trip failed");
            return;
        }
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_ForwardedConnection)->Unit(benchmark::kMicrosecond)->UseRealTime()->Iterations(2000);

}  // namespace

BENCHMARK_MAIN();
