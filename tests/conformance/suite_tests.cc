// The conformance tests and their registration with GoogleTest (see conformance.h). Each test
// is a row of a table: a name, the body, and what the plugin must declare for the test to apply
// (a test that does not apply is skipped with the reason). Port and network tests each run a
// fresh Session, stopped and checked in TearDown.
#include <gtest/gtest.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <dirent.h>
#include <sys/socket.h>

#include <future>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "plugin_file.h"
#include "rootlesskit/conformance.h"
#include "session.h"

namespace rkp::conformance {

namespace {

using Poco::JSON::Object;

constexpr const char *kUnknownKey = "rkp-conformance-unknown-key";

struct Suite {
    LoadedPlugin plugin;
    LoadedPlugin net;  // descriptor NULL when none
    Options options;
    uint32_t printLevel = RKP_LOG_WARN;
};

// ---- Small helpers ---------------------------------------------------------------------------

// A port spec with the strings it points to.
class PortSpec {
public:
    PortSpec(const std::string &proto, const std::string &parentIp, uint16_t parentPort,
             uint16_t childPort)
        : proto_(proto), parentIp_(parentIp) {
        spec_.struct_size = sizeof(spec_);
        spec_.proto = proto.rfind("udp", 0) == 0    ? RKP_PROTO_UDP
                      : proto.rfind("sctp", 0) == 0 ? RKP_PROTO_SCTP
                                                    : RKP_PROTO_TCP;
        char last = proto.back();
        spec_.family = last == '4'   ? RKP_FAMILY_IPV4
                       : last == '6' ? RKP_FAMILY_IPV6
                                     : RKP_FAMILY_ANY;
        spec_.parent_port = parentPort;
        spec_.child_port = childPort;
        spec_.proto_name = proto_.c_str();
        spec_.parent_ip = parentIp_.c_str();
        spec_.child_ip = "";
    }
    const rkp_port_spec &get() const { return spec_; }

private:
    std::string proto_;
    std::string parentIp_;
    rkp_port_spec spec_{};
};

// "" when text is empty or a JSON object; else why not.
std::string objectOrNothing(const std::string &text) {
    if (text.empty()) {
        return "";
    }
    try {
        Poco::JSON::Parser().parse(text).extract<Object::Ptr>();
        return "";
    } catch (const std::exception &e) {
        return "\"" + text + "\" is not a JSON object (" + e.what() + ")";
    }
}

// The config with one key no plugin knows added. config is a JSON object: registerTests()
// checked it.
std::string withUnknownKey(const std::string &config) {
    Object::Ptr object = Poco::JSON::Parser().parse(config).extract<Object::Ptr>();
    object->set(kUnknownKey, true);
    std::ostringstream out;
    object->stringify(out);
    return out.str();
}

size_t threadCount() {
    size_t count = 0;
    if (DIR *dir = opendir("/proc/self/task")) {
        while (dirent *entry = readdir(dir)) {
            count += entry->d_name[0] != '.';
        }
        closedir(dir);
    }
    return count;
}

// ---- The fixture -----------------------------------------------------------------------------

class ConformanceTest;
using Body = void (*)(ConformanceTest &);

class ConformanceTest : public testing::Test {
public:
    ConformanceTest(const Suite &suite, Body body, std::string skip, bool namespaces)
        : suite_(suite),
          body_(body),
          skip_(std::move(skip)),
          namespaces_(namespaces),
          book_(suite.printLevel) {}

    void SetUp() override {
        if (!skip_.empty()) {
            GTEST_SKIP() << skip_;
        }
        if (namespaces_ && !namespaceSupport().empty()) {
            GTEST_SKIP() << namespaceSupport();
        }
    }
    void TestBody() override { body_(*this); }
    void TearDown() override {
        if (session_ && !session_->stopped()) {
            stopSession();
        }
        for (const std::string &problem : logProblems(book_.take())) {
            ADD_FAILURE() << problem;
        }
    }

    const Suite &suite() const { return suite_; }
    const rkp_plugin &plugin() const { return *suite_.plugin.descriptor; }
    LogBook &book() { return book_; }
    Session &session() { return *session_; }

    // Starts a session of the plugin (beside the network plugin, for a port plugin). Reports
    // every failed step; false when it did not start.
    bool startSession() {
        SessionConfig config;
        if (suite_.plugin.isNetwork()) {
            config.net = suite_.plugin.descriptor;
            config.netConfig = suite_.options.config;
        } else {
            config.port = suite_.plugin.descriptor;
            config.portConfig = suite_.options.config;
            config.net = suite_.net.descriptor;
            config.netConfig = suite_.options.netConfig;
        }
        session_ = std::make_unique<Session>(config, book_);
        bool started = session_->start();
        reportSession();
        return started;
    }

    // Stops the session with every check; false when a step failed (reported).
    bool stopSession() {
        bool stopped = session_->stop();
        reportSession();
        return stopped;
    }

    // Reports a plugin call made by the test body; true when it succeeded.
    bool expectOk(const std::string &step, const CallResult &result) {
        session_->check(step, result);
        size_t before = reported_;
        reportSession();
        return reported_ == before && result.ok();
    }

    // The parent-side port call result, with its contract problems reported.
    CallResult reported(const std::string &step, const CallResult &result) {
        for (const std::string &problem : result.problems) {
            ADD_FAILURE() << step << ": " << problem;
        }
        return result;
    }

private:
    void reportSession() {
        const std::vector<std::string> &failures = session_->failures();
        for (; reported_ < failures.size(); reported_++) {
            ADD_FAILURE() << failures[reported_];
        }
        for (const std::string &problem : session_->takeProblems()) {
            ADD_FAILURE() << "contract: " << problem;
        }
    }

    const Suite &suite_;
    Body body_;
    std::string skip_;
    bool namespaces_;
    LogBook book_;
    std::unique_ptr<Session> session_;
    size_t reported_ = 0;
};

// ---- Tests for every plugin ------------------------------------------------------------------

void descriptorFollowsTheContract(ConformanceTest &t) {
    for (const std::string &problem : descriptorProblems(t.suite().plugin)) {
        ADD_FAILURE() << problem;
    }
    // The entry point is side-effect free: the same descriptor again, no thread, no descriptor.
    std::set<std::string> fds = openDescriptors();
    size_t threads = threadCount();
    EXPECT_EQ(t.suite().plugin.entry(RKP_ABI_MAJOR, RKP_ABI_MINOR), &t.plugin())
        << "rkp_plugin_entry returned another descriptor when called again";
    EXPECT_EQ(openDescriptors(), fds) << "rkp_plugin_entry opened a descriptor";
    EXPECT_LE(threadCount(), threads) << "rkp_plugin_entry started a thread";
}

void createRefusesAnUnknownKey(ConformanceTest &t) {
    Driver driver(t.plugin(), t.book(), RKP_SIDE_PARENT, "/tmp");
    CallResult created =
        t.reported("create", driver.create(withUnknownKey(t.suite().options.config)));
    EXPECT_EQ(created.rc, -EINVAL) << "create() accepted a config with the key " << kUnknownKey;
    EXPECT_NE(created.message.find(kUnknownKey), std::string::npos)
        << "the message should name the key: " << created.message;
}

void createStartsNothing(ConformanceTest &t) {
    std::set<std::string> fds = openDescriptors();
    size_t threads = threadCount();
    {
        Driver driver(t.plugin(), t.book(), RKP_SIDE_PARENT, "/tmp");
        ASSERT_TRUE(t.reported("create", driver.create(t.suite().options.config)).ok())
            << "create() failed with the configured config";
        // The host may clone() right after create(): nothing may run yet.
        EXPECT_LE(threadCount(), threads) << "create() started a thread";
        EXPECT_EQ(childProcesses(), std::vector<std::string>{}) << "create() started a process";
    }
    EXPECT_EQ(openDescriptors(), fds) << "create() and destroy() left a descriptor open";
}

// ---- Port plugin tests -----------------------------------------------------------------------

// Adds a port forwarding the host's address:<free port> to the child's echo server; the host
// port, or 0 after reporting why not.
uint16_t addEchoPort(ConformanceTest &t, uint64_t id, const std::string &proto,
                     const std::string &address = "127.0.0.1") {
    bool udp = proto.rfind("udp", 0) == 0;
    uint16_t port = freePort(address, udp ? SOCK_DGRAM : SOCK_STREAM);
    uint16_t child = udp ? t.session().echoUdpPort() : t.session().echoTcpPort();
    PortSpec spec(proto, address, port, child);
    if (port == 0 || !t.expectOk("add_port " + proto + " " + address + ":" + std::to_string(port),
                                 t.session().port().addPort(id, spec.get()))) {
        ADD_FAILURE() << "cannot add a " << proto << " port on " << address;
        return 0;
    }
    return port;
}

void tcpEchoes(ConformanceTest &t) {
    ASSERT_TRUE(t.startSession());
    uint16_t port = addEchoPort(t, 1, "tcp");
    ASSERT_NE(port, 0);
    EXPECT_EQ(tcpEcho("127.0.0.1", port, 1, 1), "");
    EXPECT_EQ(tcpEcho("127.0.0.1", port, 1 << 20, 2), "");
}

// Eight connections carry data at the same time. They are opened one after the other (each
// echoes a byte first): a burst of simultaneous connects is not part of the contract, and
// slirp4netns 1.2.0 resets some connections of such a burst.
void tcpEchoesConcurrently(ConformanceTest &t) {
    ASSERT_TRUE(t.startSession());
    uint16_t port = addEchoPort(t, 1, "tcp");
    ASSERT_NE(port, 0);
    std::vector<Fd> connections;
    for (int i = 0; i < 8; i++) {
        std::string error;
        connections.push_back(openEchoedConnection("127.0.0.1", port, &error));
        ASSERT_EQ(error, "") << "connection " << i + 1;
    }
    std::vector<std::future<std::string>> transfers;
    for (unsigned i = 0; i < connections.size(); i++) {
        transfers.push_back(
            std::async(std::launch::async, tcpEchoOver, connections[i].get(), 256 << 10, i));
    }
    for (auto &transfer : transfers) {
        EXPECT_EQ(transfer.get(), "");
    }
}

void udpEchoes(ConformanceTest &t) {
    ASSERT_TRUE(t.startSession());
    uint16_t port = addEchoPort(t, 1, "udp");
    ASSERT_NE(port, 0);
    EXPECT_EQ(udpEcho("127.0.0.1", port, 8), "");
}

void tcp6Echoes(ConformanceTest &t) {
    if (!canBind("::1")) {
        GTEST_SKIP() << "this host has no ::1";
    }
    ASSERT_TRUE(t.startSession());
    uint16_t port = addEchoPort(t, 1, "tcp6", "::1");
    ASSERT_NE(port, 0);
    EXPECT_EQ(tcpEcho("::1", port, 64 << 10, 3), "");
}

void addListRemove(ConformanceTest &t) {
    ASSERT_TRUE(t.startSession());
    bool tcp = t.plugin().supports & RKP_SUP_TCP;
    uint16_t first = addEchoPort(t, 1, tcp ? "tcp" : "udp");
    uint16_t second = addEchoPort(t, 2, tcp ? "tcp" : "udp");
    ASSERT_TRUE(first != 0 && second != 0);

    if (t.plugin().port->list_ports != nullptr) {
        std::vector<ListedPort> listed;
        ASSERT_TRUE(t.expectOk("list_ports", t.session().port().listPorts(&listed)));
        ASSERT_EQ(listed.size(), 2u) << "list_ports should visit the two ports added";
        for (const ListedPort &entry : listed) {
            EXPECT_EQ(entry.parentPort, entry.id == 1 ? first : second) << "port id " << entry.id;
        }
    }

    ASSERT_TRUE(t.expectOk("remove_port 1", t.session().port().removePort(1)));
    if (tcp) {
        EXPECT_EQ(expectRefused("127.0.0.1", first), "") << "after remove_port";
        EXPECT_EQ(tcpEcho("127.0.0.1", second, 1000, 4), "") << "the other port must still work";
    }
    EXPECT_TRUE(t.expectOk("remove_port 2", t.session().port().removePort(2)));
}

void removedPortCanBeAddedAgain(ConformanceTest &t) {
    ASSERT_TRUE(t.startSession());
    uint16_t port = addEchoPort(t, 1, "tcp");
    ASSERT_NE(port, 0);
    ASSERT_EQ(tcpEcho("127.0.0.1", port, 1000, 5), "");
    ASSERT_TRUE(t.expectOk("remove_port 1", t.session().port().removePort(1)));

    PortSpec again("tcp", "127.0.0.1", port, t.session().echoTcpPort());
    ASSERT_TRUE(t.expectOk("add_port of the same port, right after remove_port",
                           t.session().port().addPort(2, again.get())));
    EXPECT_EQ(tcpEcho("127.0.0.1", port, 1000, 6), "");
}

void removingAnUnknownIdFails(ConformanceTest &t) {
    ASSERT_TRUE(t.startSession());
    CallResult removed = t.reported("remove_port 42", t.session().port().removePort(42));
    EXPECT_EQ(removed.rc, -ENOENT);
    EXPECT_NE(removed.message.find("42"), std::string::npos)
        << "the message should name the id: " << removed.message;
}

void addressInUseFails(ConformanceTest &t) {
    ASSERT_TRUE(t.startSession());
    uint16_t port = freePort("127.0.0.1", SOCK_STREAM);
    Fd taken = listenTcp("127.0.0.1", port);
    ASSERT_GE(taken.get(), 0) << "cannot listen on 127.0.0.1:" << port;

    PortSpec spec("tcp", "127.0.0.1", port, t.session().echoTcpPort());
    CallResult added = t.reported("add_port", t.session().port().addPort(1, spec.get()));
    EXPECT_LT(added.rc, 0) << "add_port succeeded on an address another program listens on";
    if (added.ok()) {
        t.session().port().removePort(1);
    }

    // Once the address is free, the same port works: nothing was left half-added.
    taken = Fd();
    ASSERT_TRUE(
        t.expectOk("add_port once the address is free", t.session().port().addPort(2, spec.get())));
    EXPECT_EQ(tcpEcho("127.0.0.1", port, 1000, 7), "");
}

void sameAddressTwiceFails(ConformanceTest &t) {
    ASSERT_TRUE(t.startSession());
    uint16_t port = addEchoPort(t, 1, "tcp");
    ASSERT_NE(port, 0);
    PortSpec spec("tcp", "127.0.0.1", port, t.session().echoTcpPort());
    CallResult second = t.reported("add_port", t.session().port().addPort(2, spec.get()));
    EXPECT_LT(second.rc, 0) << "a second port on the same address was accepted";
    EXPECT_EQ(tcpEcho("127.0.0.1", port, 1000, 8), "") << "the first port must still work";
}

// The host checks the declared protocols for -p only: a REST request for another one reaches the
// plugin, which refuses it with -ENOTSUP and a message naming the protocol.
void undeclaredProtocolsAreRefused(ConformanceTest &t) {
    struct Protocol {
        const char *name;
        uint64_t needs;  // supports bits that make it declared
        int type;        // socket type of the free port asked for
    };
    const Protocol protocols[] = {
        {"tcp", RKP_SUP_TCP, SOCK_STREAM},
        {"udp", RKP_SUP_UDP, SOCK_DGRAM},
        {"sctp", RKP_SUP_SCTP, SOCK_STREAM},
        {"tcp6", RKP_SUP_TCP | RKP_SUP_IPV6, SOCK_STREAM},
        {"udp6", RKP_SUP_UDP | RKP_SUP_IPV6, SOCK_DGRAM},
    };
    std::vector<Protocol> undeclared;
    for (const Protocol &protocol : protocols) {
        if ((t.plugin().supports & protocol.needs) != protocol.needs) {
            undeclared.push_back(protocol);
        }
    }
    if (undeclared.empty()) {
        GTEST_SKIP() << "the plugin declares every protocol";
    }
    ASSERT_TRUE(t.startSession());
    uint64_t id = 1;
    for (const Protocol &protocol : undeclared) {
        bool six = std::string(protocol.name).back() == '6';
        uint16_t port = freePort(six ? "::1" : "127.0.0.1", protocol.type);
        if (port == 0 && six) {
            continue;  // no ::1 on this host
        }
        PortSpec spec(protocol.name, six ? "::1" : "127.0.0.1", port, 80);
        std::string step = std::string("add_port ") + protocol.name;
        CallResult added = t.reported(step, t.session().port().addPort(id, spec.get()));
        EXPECT_EQ(added.rc, -ENOTSUP) << step << ", which the plugin does not declare";
        EXPECT_TRUE(added.message.find(protocol.name) != std::string::npos)
            << step << ": the message should name the protocol: \"" << added.message << "\"";
        if (added.ok()) {
            t.session().port().removePort(id);
        }
        id++;
    }
}

void infoIsAJsonObject(ConformanceTest &t) {
    ASSERT_TRUE(t.startSession());
    CallResult info = t.reported("info", t.session().port().portInfo());
    ASSERT_TRUE(info.ok()) << info.message;
    EXPECT_EQ(objectOrNothing(info.output), "");
}

void stopEndsConnections(ConformanceTest &t) {
    ASSERT_TRUE(t.startSession());
    uint16_t port = addEchoPort(t, 1, "tcp");
    ASSERT_NE(port, 0);
    std::string error;
    Fd open = openEchoedConnection("127.0.0.1", port, &error);
    ASSERT_GE(open.get(), 0) << error;
    t.session().allowDescriptor(open.get());

    // Stopped with the port still added and a connection open: the loops return, destroy()
    // closes the listener and ends the connection.
    t.stopSession();
    EXPECT_EQ(expectClosedByPeer(open.get()), "");
    EXPECT_EQ(expectRefused("127.0.0.1", port), "") << "after the plugin was destroyed";
}

void startsAndStops(ConformanceTest &t) {
    ASSERT_TRUE(t.startSession());
    EXPECT_TRUE(t.stopSession());
}

// ---- Network plugin tests --------------------------------------------------------------------

void configureThenTeardownTwice(ConformanceTest &t) {
    for (int round = 1; round <= 2; round++) {
        SCOPED_TRACE("round " + std::to_string(round));
        ASSERT_TRUE(t.startSession());
        ASSERT_TRUE(t.stopSession());
    }
}

// Every member the host reads has the type it expects.
void networkMessageIsWellFormed(ConformanceTest &t) {
    ASSERT_TRUE(t.startSession());
    Object::Ptr netmsg = Poco::JSON::Parser().parse(t.session().netmsg()).extract<Object::Ptr>();
    for (const char *key : {"dev", "ip", "gateway"}) {
        EXPECT_TRUE(!netmsg->has(key) || netmsg->get(key).isString()) << key << " is not a string";
    }
    for (const char *key : {"prefix", "mtu"}) {
        EXPECT_TRUE(!netmsg->has(key) || netmsg->get(key).isInteger())
            << key << " is not an integer";
    }
    if (netmsg->has("prefix")) {
        int prefix = netmsg->getValue<int>("prefix");
        EXPECT_TRUE(prefix >= 0 && prefix <= 32) << "prefix " << prefix;
    }
    EXPECT_TRUE(!netmsg->has("dns") || netmsg->getArray("dns")) << "dns is not an array";
    EXPECT_TRUE(!netmsg->has("opaque") || netmsg->getObject("opaque")) << "opaque is not an object";
}

void interfaceIsUpInTheChild(ConformanceTest &t) {
    ASSERT_TRUE(t.startSession());
    Object::Ptr netmsg = Poco::JSON::Parser().parse(t.session().netmsg()).extract<Object::Ptr>();
    if (!netmsg->has("dev")) {
        GTEST_SKIP() << "the network message names no interface";
    }
    Object::Ptr args = new Object;
    args->set("dev", netmsg->getValue<std::string>("dev"));
    bool hostSetsItUp = !(t.plugin().needs & RKP_NEED_OWN_IFACE_SETUP);
    args->set("ip", hostSetsItUp && netmsg->has("ip") ? netmsg->getValue<std::string>("ip") : "");
    Reply checked = t.session().child().call("net.check", args);
    ASSERT_EQ(checked.error, "");
    EXPECT_EQ(checked.body->getValue<std::string>("ifaceError"), "");
}

void netInfoIsAJsonObjectOrNothing(ConformanceTest &t) {
    ASSERT_TRUE(t.startSession());
    CallResult info = t.reported("info", t.session().net()->netInfo());
    ASSERT_TRUE(info.ok()) << info.message;
    EXPECT_EQ(objectOrNothing(info.output), "");
}

void teardownWithoutConfigure(ConformanceTest &t) {
    Driver driver(t.plugin(), t.book(), RKP_SIDE_PARENT, "/tmp");
    ASSERT_TRUE(t.reported("create", driver.create(t.suite().options.config)).ok());
    EXPECT_TRUE(t.reported("teardown", driver.teardown()).ok())
        << "teardown() without a configure call must succeed";
}

// ---- The tables ------------------------------------------------------------------------------

struct Case {
    const char *name;
    Body body;
    uint64_t needsSupport;  // supports bits the test needs
    bool namespaces;        // runs a session: needs user and network namespaces
};

const Case kCommonCases[] = {
    {"DescriptorFollowsTheContract", descriptorFollowsTheContract, 0, false},
    {"CreateRefusesAnUnknownKey", createRefusesAnUnknownKey, 0, false},
    {"CreateStartsNothing", createStartsNothing, 0, false},
};

const Case kPortCases[] = {
    {"StartsAndStops", startsAndStops, 0, true},
    {"InfoIsAJsonObject", infoIsAJsonObject, 0, true},
    {"TcpEcho", tcpEchoes, RKP_SUP_TCP, true},
    {"TcpEchoConcurrent", tcpEchoesConcurrently, RKP_SUP_TCP, true},
    {"UdpEcho", udpEchoes, RKP_SUP_UDP, true},
    {"Tcp6Echo", tcp6Echoes, RKP_SUP_TCP | RKP_SUP_IPV6, true},
    {"AddListRemove", addListRemove, 0, true},
    {"RemovedPortCanBeAddedAgain", removedPortCanBeAddedAgain, RKP_SUP_TCP, true},
    {"RemovingAnUnknownIdFails", removingAnUnknownIdFails, 0, true},
    {"UndeclaredProtocolsAreRefused", undeclaredProtocolsAreRefused, 0, true},
    {"AddressInUseFails", addressInUseFails, RKP_SUP_TCP, true},
    {"SameAddressTwiceFails", sameAddressTwiceFails, RKP_SUP_TCP, true},
    {"StopEndsConnections", stopEndsConnections, RKP_SUP_TCP, true},
};

const Case kNetworkCases[] = {
    {"ConfigureThenTeardownTwice", configureThenTeardownTwice, 0, true},
    {"NetworkMessageIsWellFormed", networkMessageIsWellFormed, 0, true},
    {"InterfaceIsUpInTheChild", interfaceIsUpInTheChild, 0, true},
    {"InfoIsAJsonObjectOrNothing", netInfoIsAJsonObjectOrNothing, 0, true},
    {"TeardownWithoutConfigure", teardownWithoutConfigure, 0, false},
};

// Why a case does not apply to the plugin ("" when it does).
std::string skipReason(const Case &c, const rkp_plugin &d) {
    bool usesPorts = d.kind == RKP_KIND_PORT && c.namespaces && c.body != startsAndStops &&
                     c.body != infoIsAJsonObject;
    if (usesPorts && (d.supports & RKP_SUP_IMPLICIT_PORTS)) {
        return "an implicit port driver: the network forwards ports, the host never adds any";
    }
    if ((d.supports & c.needsSupport) != c.needsSupport) {
        return "the plugin does not declare support for what this test sends";
    }
    if (c.body == addListRemove && !(d.supports & (RKP_SUP_TCP | RKP_SUP_UDP))) {
        return "the plugin supports neither tcp nor udp";
    }
    if (c.body == tcp6Echoes &&
        std::string(d.protos != nullptr ? d.protos : "").find("tcp6") == std::string::npos) {
        return "the plugin does not list tcp6";
    }
    return "";
}

// Kept alive for the life of the process: the tests refer to them.
std::vector<std::unique_ptr<Suite>> &suites() {
    static std::vector<std::unique_ptr<Suite>> all;
    return all;
}

template <size_t N>
void registerCases(const Suite &suite, const std::string &prefix, const Case (&cases)[N]) {
    std::string suiteName = prefix + "/" + suite.plugin.descriptor->name;
    for (const Case &c : cases) {
        std::string skip = skipReason(c, *suite.plugin.descriptor);
        testing::RegisterTest(
            suiteName.c_str(), c.name, nullptr, nullptr, __FILE__, __LINE__,
            [&suite, body = c.body, skip, ns = c.namespaces]() {
                return static_cast<testing::Test *>(new ConformanceTest(suite, body, skip, ns));
            });
    }
}

bool validJson(const std::string &text, const std::string &what, std::string *error) {
    try {
        Poco::JSON::Parser().parse(text).extract<Object::Ptr>();
        return true;
    } catch (const std::exception &e) {
        *error = what + " is not a JSON object: " + text;
        return false;
    }
}

}  // namespace

bool registerTests(const Options &options, std::string *error) {
    auto suite = std::make_unique<Suite>();
    suite->options = options;
    if (!parseLogLevel(options.logLevel, &suite->printLevel)) {
        *error = "unknown log level " + options.logLevel;
        return false;
    }
    if (!validJson(options.config, "--config", error) ||
        !validJson(options.netConfig, "--net-config", error) ||
        !loadPlugin(options.plugin, &suite->plugin, error)) {
        return false;
    }

    bool network = suite->plugin.isNetwork();
    if (network && !options.netPlugin.empty()) {
        *error = options.plugin + " is a network plugin: --net applies to port plugins only";
        return false;
    }
    if (!options.netPlugin.empty()) {
        if (!loadPlugin(options.netPlugin, &suite->net, error)) {
            return false;
        }
        if (!suite->net.isNetwork()) {
            *error = options.netPlugin + " is not a network plugin";
            return false;
        }
    }
    if (!network) {
        *error = pairingProblem(*suite->plugin.descriptor, suite->net.descriptor);
        if (!error->empty()) {
            return false;
        }
    }

    registerCases(*suite, "PluginConformance", kCommonCases);
    if (network) {
        registerCases(*suite, "NetworkConformance", kNetworkCases);
    } else {
        registerCases(*suite, "PortConformance", kPortCases);
    }
    suites().push_back(std::move(suite));
    return true;
}

}  // namespace rkp::conformance
