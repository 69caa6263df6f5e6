// Load through the builtin forwarder and the REST API, against the real rootlesskit run as the
// test user: 1,000 concurrent and 100,000 sequential TCP connections, UDP with many clients,
// running out of descriptors, and many API clients at once. Every payload is checked against a
// checksum, and afterwards the parent's and the child's descriptors (and the parent's RSS) must
// be back at their baseline.
//
// The server inside is rk_echo_server (tests/fixtures), reached with --net=none: the forwarder's
// path (host listener, control channel, dial inside the namespace, splice) is the same as with a
// real network, without a user-mode network stack in the way. Clients connect to 127.0.0.1 only.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include "tests/e2e/net_clients.h"
#include "tests/e2e/rootlesskit_run.h"
#include "tests/support/load_scale.h"
#include "tests/support/process.h"
#include "tests/support/sanitizer_reports.h"

namespace rktest {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr int kEchoPort = 8007;  // inside the namespace
constexpr milliseconds kIoTimeout{10000};

// ---- Payloads ----

// Deterministic bytes for connection number seed, of a size that varies with it from 1 byte to
// 256 KiB (at most limit).
std::string payload(uint64_t seed, size_t limit = 1 << 20) {
    static const size_t kSizes[] = {1, 17, 100, 1460, 4096, 9000, 65536, 262144};
    size_t size = std::min(kSizes[seed % 8] + seed % 13, limit);
    std::string out(size, '\0');
    uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
    for (char &c : out) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c = static_cast<char>(x);
    }
    return out;
}

// FNV-1a, 64 bits.
uint64_t checksum(const std::string &data) {
    uint64_t hash = 0xcbf29ce484222325ULL;
    for (unsigned char c : data) {
        hash = (hash ^ c) * 0x100000001b3ULL;
    }
    return hash;
}

// ---- TCP clients ----

int connectTcp(int port, bool nonBlocking) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonBlocking ? SOCK_NONBLOCK : 0), 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

// One echo exchange on a non-blocking socket: sends out, reads until as many bytes came back.
struct Exchange {
    int fd = -1;
    std::string out;
    size_t sent = 0;
    std::string in;
    bool failed = false;

    bool done() const { return failed || in.size() >= out.size(); }

    short events() const { return sent < out.size() ? POLLIN | POLLOUT : POLLIN; }

    void step(short revents) {
        if ((revents & POLLOUT) != 0 && sent < out.size()) {
            ssize_t n = send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
            failed = failed || (n < 0 && errno != EAGAIN);
            sent += n > 0 ? static_cast<size_t>(n) : 0;
        }
        if ((revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
            char buf[65536];
            ssize_t n = recv(fd, buf, sizeof buf, 0);
            failed = failed || n == 0 || (n < 0 && errno != EAGAIN);
            in.append(buf, n > 0 ? static_cast<size_t>(n) : 0);
        }
    }

    bool verified() const { return !failed && checksum(in) == checksum(out); }
};

// Drives every exchange until each is done or timeout passed; returns how many verified.
size_t runExchanges(std::vector<Exchange> &exchanges, milliseconds timeout) {
    Clock::time_point deadline = Clock::now() + timeout;
    std::vector<pollfd> fds;
    std::vector<Exchange *> active;
    for (;;) {
        fds.clear();
        active.clear();
        for (Exchange &e : exchanges) {
            if (!e.done()) {
                fds.push_back({e.fd, e.events(), 0});
                active.push_back(&e);
            }
        }
        auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
        if (fds.empty() || left <= 0) {
            break;
        }
        if (poll(fds.data(), fds.size(), static_cast<int>(left)) < 0 && errno != EINTR) {
            break;
        }
        for (size_t i = 0; i < fds.size(); ++i) {
            active[i]->step(fds[i].revents);
        }
    }
    return std::count_if(exchanges.begin(), exchanges.end(),
                         [](const Exchange &e) { return e.verified(); });
}

// One connection, one checksummed payload there and back, then an orderly close (FIN from us,
// then EOF from the far end).
bool echoOnce(int port, uint64_t seed, size_t limit = 1 << 20) {
    std::vector<Exchange> one(1);
    one[0].fd = connectTcp(port, true);
    one[0].out = payload(seed, limit);
    if (one[0].fd < 0) {
        return false;
    }
    bool ok = runExchanges(one, kIoTimeout) == 1;
    shutdown(one[0].fd, SHUT_WR);
    pollfd pfd{one[0].fd, POLLIN, 0};
    char byte;
    ok = ok && poll(&pfd, 1, static_cast<int>(kIoTimeout.count())) == 1 &&
         recv(one[0].fd, &byte, 1, 0) == 0;
    close(one[0].fd);
    return ok;
}

// ---- Process figures ----

long rssKib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string key;
    long value = -1;
    while (in >> key) {
        if (key == "VmRSS:") {
            in >> value;
            return value;
        }
        in.ignore(1024, '\n');
    }
    return -1;
}

void raiseOwnFileLimit() {
    rlimit limit{};
    getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
}

// ---- The run under load ----

// rootlesskit --net=none --port-driver=builtin publishing one TCP and one UDP port of the echo
// server inside; UDP flows idle out after a second, so that their descriptors come back quickly.
class LoadTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string reason;
        if (!testUser(&reason)) {
            GTEST_SKIP() << reason;
        }
        raiseOwnFileLimit();
        profile_ = tmp_.path() + "/load.yaml";
        std::ofstream(profile_) << "drivers:\n  port:\n    builtin:\n"
                                   "      udp_idle_timeout_seconds: 1\n";
        port_ = freePort();
        std::string host = "127.0.0.1:" + std::to_string(port_) + ":";
        std::string inside = std::to_string(kEchoPort);
        run_ = std::make_unique<RootlesskitRun>(
            binPath("rootlesskit"),
            std::vector<std::string>{"--profile=" + profile_, "--net=none", "--port-driver=builtin",
                                     "-p", host + inside + "/tcp", "-p", host + inside + "/udp"},
            std::vector<std::string>{std::string(RK_TEST_FIXTURE_DIR) + "/rk_echo_server", inside});
        ASSERT_TRUE(run_->waitApi()) << run_->process().errSoFar();
        ASSERT_TRUE(waitFor([&] { return echoOnce(port_, 0); })) << run_->process().errSoFar();
        recordBaseline();
    }

    void TearDown() override {
        if (run_) {
            run_->stop();
        }
    }

    // After a warm-up exchange (pipes allocated, UDP flow expired), the figures to come back to.
    void recordBaseline() {
        UdpClient warm("127.0.0.1", port_);
        ASSERT_TRUE(warm.exchange("warm-up", milliseconds(10000))) << run_->process().errSoFar();
        pid_t parent = run_->parentPid();
        int afterWarmUp = countFds(parent);
        // The warm-up's UDP flow holds a descriptor until it idles out, after a second.
        waitFor([&] { return countFds(parent) < afterWarmUp; }, milliseconds(5000));
        parentFds_ = countFds(parent);
        childFds_ = countFds(run_->childPid());
        parentRss_ = rssKib(parent);
        ASSERT_GT(parentFds_, 0);
        ASSERT_GT(childFds_, 0);
    }

    void expectBackToBaseline() {
        int parent = -1;
        int child = -1;
        bool back = waitFor(
            [&] {
                parent = countFds(run_->parentPid());
                child = countFds(run_->childPid());
                return parent <= parentFds_ && child <= childFds_;
            },
            milliseconds(20000));
        EXPECT_TRUE(back) << "parent fds " << parent << " (baseline " << parentFds_
                          << "), child fds " << child << " (baseline " << childFds_ << ")";
        long rss = rssKib(run_->parentPid());
        // ASan keeps freed memory in quarantine, so RSS says nothing in a sanitized build.
        if (!sanitizedBuild()) {
            EXPECT_LE(rss, parentRss_ + 32 * 1024)
                << "parent RSS " << rss << " KiB, baseline " << parentRss_ << " KiB";
        }
    }

    TempDir tmp_;
    std::string profile_;
    int port_ = 0;
    std::unique_ptr<RootlesskitRun> run_;
    int parentFds_ = 0;
    int childFds_ = 0;
    long parentRss_ = 0;
};

TEST_F(LoadTest, ThousandConcurrentConnectionsEachEchoTheirPayload) {
    constexpr size_t kConnections = 1000;
    std::vector<Exchange> exchanges(kConnections);
    for (size_t i = 0; i < kConnections; ++i) {
        exchanges[i].fd = connectTcp(port_, true);
        exchanges[i].out = payload(i + 1);
        ASSERT_GE(exchanges[i].fd, 0) << "connection " << i;
    }

    // Every connection has its payload back while all of them are still open.
    EXPECT_EQ(runExchanges(exchanges, milliseconds(60000)), kConnections);
    int peak = countFds(run_->parentPid());
    EXPECT_GE(peak, parentFds_ + static_cast<int>(kConnections)) << "not all open at once";

    for (Exchange &e : exchanges) {
        close(e.fd);
    }
    expectBackToBaseline();
}

// RK_LOAD_SEQUENTIAL_CONNECTIONS lowers the count for the sanitized run (scripts/test.sh), where
// each connection costs several times more.
TEST_F(LoadTest, HundredThousandSequentialConnectionsEachEchoTheirPayload) {
    const uint64_t connections = loadCount("RK_LOAD_SEQUENTIAL_CONNECTIONS", 100000);
    uint64_t failures = 0;
    std::optional<uint64_t> firstFailure;
    Clock::time_point start = Clock::now();
    for (uint64_t i = 1; i <= connections; ++i) {
        if (!echoOnce(port_, i, 16384)) {
            ++failures;
            firstFailure = firstFailure.value_or(i);
        }
    }
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - start);
    EXPECT_EQ(failures, 0u) << "first failed connection: " << firstFailure.value_or(0);
    RecordProperty("connections", static_cast<int>(connections));
    RecordProperty("seconds", static_cast<int>(seconds.count()));
    expectBackToBaseline();
}

// ---- UDP ----

struct UdpPeer {
    int fd = -1;
    std::map<uint32_t, uint64_t> waiting;  // sequence number -> checksum of the datagram
};

// A datagram: 4-byte sequence number, then payload bytes of a size that varies with it.
std::string datagram(uint32_t sequence) {
    std::string body = payload(sequence).substr(0, 1 + sequence % 1400);
    return std::string(reinterpret_cast<const char *>(&sequence), 4) + body;
}

TEST_F(LoadTest, ManyUdpClientsEachGetEveryDatagramBack) {
    constexpr int kClients = 200;
    constexpr uint32_t kRounds = 20;
    std::vector<UdpPeer> peers(kClients);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (UdpPeer &peer : peers) {
        peer.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        ASSERT_EQ(connect(peer.fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr), 0);
    }

    // Each round every client sends one datagram; lost ones are sent again, up to five times.
    uint64_t corrupted = 0;
    for (uint32_t round = 0; round < kRounds; ++round) {
        for (int c = 0; c < kClients; ++c) {
            uint32_t sequence = round * kClients + static_cast<uint32_t>(c);
            peers[c].waiting[sequence] = checksum(datagram(sequence));
        }
        for (int attempt = 0; attempt < 5; ++attempt) {
            for (UdpPeer &peer : peers) {
                for (const auto &[sequence, sum] : peer.waiting) {
                    std::string d = datagram(sequence);
                    send(peer.fd, d.data(), d.size(), 0);
                }
            }
            Clock::time_point deadline = Clock::now() + milliseconds(1000);
            auto pending = [&] {
                return std::any_of(peers.begin(), peers.end(),
                                   [](const UdpPeer &p) { return !p.waiting.empty(); });
            };
            while (pending() && Clock::now() < deadline) {
                std::vector<pollfd> fds;
                for (UdpPeer &peer : peers) {
                    fds.push_back({peer.fd, POLLIN, 0});
                }
                poll(fds.data(), fds.size(), 50);
                for (UdpPeer &peer : peers) {
                    char buf[2048];
                    ssize_t n;
                    while ((n = recv(peer.fd, buf, sizeof buf, 0)) >= 4) {
                        std::string reply(buf, static_cast<size_t>(n));
                        uint32_t sequence;
                        std::memcpy(&sequence, buf, 4);
                        auto found = peer.waiting.find(sequence);
                        if (found == peer.waiting.end()) {
                            continue;  // an answer to a datagram sent twice
                        }
                        corrupted += checksum(reply) != found->second ? 1 : 0;
                        peer.waiting.erase(found);
                    }
                }
            }
            if (!pending()) {
                break;
            }
        }
        size_t lost = 0;
        for (const UdpPeer &peer : peers) {
            lost += peer.waiting.size();
        }
        ASSERT_EQ(lost, 0u) << "round " << round << ": datagrams never answered";
    }
    EXPECT_EQ(corrupted, 0u);

    for (UdpPeer &peer : peers) {
        close(peer.fd);
    }
    expectBackToBaseline();
}

// ---- Out of descriptors ----

// The soft RLIMIT_NOFILE of pid, from /proc/<pid>/limits; -1 when unreadable.
long softFileLimit(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("Max open files", 0) == 0) {
            return std::stol(line.substr(std::string("Max open files").size()));
        }
    }
    return -1;
}

// Sets the soft RLIMIT_NOFILE of pid with prlimit(1), run as the test user: the owner of a
// process may change its limits, root may not without CAP_SYS_RESOURCE (which CI may lack).
bool setSoftFileLimit(pid_t pid, long limit) {
    RunResult set = runAsTestUser(
        {"prlimit", "--pid", std::to_string(pid), "--nofile=" + std::to_string(limit) + ":"});
    EXPECT_EQ(set.exitCode, 0) << set.err;
    return set.exitCode == 0 && softFileLimit(pid) == limit;
}

TEST_F(LoadTest, OutOfDescriptorsKeepsServingAndRecovers) {
    // Only the parent's limit is lowered, with room for a handful of connections.
    pid_t parent = run_->parentPid();
    long original = softFileLimit(parent);
    ASSERT_GT(original, 0);
    ASSERT_TRUE(setSoftFileLimit(parent, parentFds_ + 24));

    // Far more clients than descriptors: some are served, the others wait or are turned away.
    constexpr size_t kClients = 60;
    std::vector<Exchange> first(kClients);
    for (size_t i = 0; i < kClients; ++i) {
        first[i].fd = connectTcp(port_, true);
        first[i].out = payload(3 * i + 1).substr(0, 1000);
    }
    runExchanges(first, milliseconds(3000));
    std::vector<Exchange *> served;
    for (Exchange &e : first) {
        if (e.verified()) {
            served.push_back(&e);
        }
    }
    RecordProperty("served_at_the_limit", static_cast<int>(served.size()));
    EXPECT_GT(served.size(), 0u) << run_->process().errSoFar();
    EXPECT_LT(served.size(), kClients) << "the limit did not bite";

    // The connections already served keep working at the limit.
    for (Exchange *e : served) {
        e->in.clear();
        e->sent = 0;
    }
    std::vector<Exchange> again;
    for (Exchange *e : served) {
        again.push_back(*e);
    }
    EXPECT_EQ(runExchanges(again, milliseconds(5000)), served.size());

    // Freeing descriptors lets new clients through again, limit still low.
    for (Exchange &e : first) {
        close(e.fd);
    }
    EXPECT_TRUE(waitFor([&] { return echoOnce(port_, 7); }, milliseconds(10000)))
        << run_->process().errSoFar();
    EXPECT_TRUE(run_->process().running());

    ASSERT_TRUE(setSoftFileLimit(parent, original));
    EXPECT_TRUE(echoOnce(port_, 8));
    expectBackToBaseline();
}

// ---- The API under many clients ----

// The IDs in a GET /v1/ports reply, in order; nullopt when the reply is not a port list.
std::optional<std::vector<uint64_t>> listedIds(const RawHttpReply &reply) {
    if (reply.status != 200) {
        return std::nullopt;
    }
    if (reply.body == "null") {
        return std::vector<uint64_t>{};
    }
    try {
        Poco::JSON::Parser parser;
        auto array = parser.parse(reply.body).extract<Poco::JSON::Array::Ptr>();
        std::vector<uint64_t> ids;
        for (size_t i = 0; i < array->size(); ++i) {
            ids.push_back(array->getObject(static_cast<unsigned>(i))->getValue<uint64_t>("id"));
        }
        return ids;
    } catch (const std::exception &) {
        return std::nullopt;
    }
}

struct ApiClientLog {
    std::vector<uint64_t> added;  // in the order the server handed them out to this client
    std::vector<std::string> problems;
};

// One client: add a port, see it in the list, remove it, see it gone; rounds times. Each client
// has a parent address of its own (127.0.0.<10 + client>), so that two clients never ask for
// the same address and port.
void apiClient(const std::string &socket, int client, int rounds, ApiClientLog &log) {
    std::string parentIp = "127.0.0." + std::to_string(10 + client);
    for (int i = 0; i < rounds; ++i) {
        std::string spec = R"({"proto":"tcp","parentIP":")" + parentIp + R"(","parentPort":)" +
                           std::to_string(freePort()) + R"(,"childPort":80})";
        RawHttpReply added = rawHttp(socket, "POST", "/v1/ports", spec);
        if (added.status != 201) {
            // Another program may have taken the port between freePort() and the add.
            if (added.body.find("address already in use") == std::string::npos) {
                log.problems.push_back("add: " + std::to_string(added.status) + " " + added.body);
            }
            continue;
        }
        Poco::JSON::Parser parser;
        auto id =
            parser.parse(added.body).extract<Poco::JSON::Object::Ptr>()->getValue<uint64_t>("id");
        log.added.push_back(id);

        auto listed = listedIds(rawHttp(socket, "GET", "/v1/ports"));
        if (!listed || std::count(listed->begin(), listed->end(), id) != 1 ||
            std::set<uint64_t>(listed->begin(), listed->end()).size() != listed->size()) {
            log.problems.push_back("list after adding " + std::to_string(id) + " is wrong");
        }
        RawHttpReply removed = rawHttp(socket, "DELETE", "/v1/ports/" + std::to_string(id));
        if (removed.status != 200) {
            log.problems.push_back("remove " + std::to_string(id) + ": " + removed.body);
        }
        listed = listedIds(rawHttp(socket, "GET", "/v1/ports"));
        if (!listed || std::count(listed->begin(), listed->end(), id) != 0) {
            log.problems.push_back("port " + std::to_string(id) + " still listed after removal");
        }
    }
}

TEST_F(LoadTest, ConcurrentApiClientsNeverLoseDuplicateOrReuseAMapping) {
    constexpr int kClients = 16;
    constexpr int kRounds = 25;
    std::vector<ApiClientLog> logs(kClients);
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
        clients.emplace_back(apiClient, run_->apiSocket(), c, kRounds, std::ref(logs[c]));
    }
    for (std::thread &t : clients) {
        t.join();
    }

    std::set<uint64_t> every;
    size_t total = 0;
    for (const ApiClientLog &log : logs) {
        for (const std::string &problem : log.problems) {
            ADD_FAILURE() << problem;
        }
        EXPECT_TRUE(std::is_sorted(log.added.begin(), log.added.end()));
        every.insert(log.added.begin(), log.added.end());
        total += log.added.size();
    }
    EXPECT_EQ(every.size(), total) << "an ID was handed out twice";
    EXPECT_GE(total, static_cast<size_t>(kClients * kRounds * 9 / 10));
    // The two -p ports of the run are still there, and nothing else.
    auto listed = listedIds(rawHttp(run_->apiSocket(), "GET", "/v1/ports"));
    ASSERT_TRUE(listed);
    EXPECT_EQ(*listed, (std::vector<uint64_t>{1, 2}));
    EXPECT_TRUE(echoOnce(port_, 5));
    expectBackToBaseline();
}

}  // namespace
}  // namespace rktest
