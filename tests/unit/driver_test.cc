// NetDriver and PortDriver: the order of calls into a plugin, error and output conversion, the
// host services a plugin gets, and the rkp.hpp helpers plugins are written with.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include <spdlog/sinks/ostream_sink.h>

#include "core/driver.h"
#include "core/log.h"
#include "core/plugin_loader.h"
#include "rootlesskit/rkp.hpp"

namespace rootlesskit {
namespace {

// ---- A recording network plugin, behaviour chosen by words in its config ---------------------

std::vector<std::string> gCalls;

struct rkp_instance_impl {
    const rkp_host *host;
    std::string config;
};

rkp_instance_impl *self(rkp_instance *inst) {
    return reinterpret_cast<rkp_instance_impl *>(inst);
}

bool wants(rkp_instance *inst, const char *word) {
    return self(inst)->config.find(word) != std::string::npos;
}

int recCreate(const rkp_host *host, const char *config, rkp_instance **out, rkp_error *err) {
    return rkp::guard(err, [&] {
        gCalls.push_back("create");
        if (std::strstr(config, "bad-config") != nullptr) {
            return rkp::setError(err, -EINVAL, "config: unknown key \"%s\"", "bad-config");
        }
        *out = reinterpret_cast<rkp_instance *>(new rkp_instance_impl{host, config});
        return 0;
    });
}

void recDestroy(rkp_instance *inst) {
    gCalls.push_back("destroy");
    delete self(inst);
}

int recPrepare(rkp_instance *, const rkp_net_params *params, rkp_error *) {
    gCalls.push_back("prepare_child size=" + std::to_string(params->struct_size));
    return 0;
}

int recConfigureParent(rkp_instance *inst, const rkp_net_params *params, const rkp_sink *out,
                       rkp_error *err) {
    return rkp::guard(err, [&] {
        gCalls.push_back("configure_parent size=" + std::to_string(params->struct_size));
        rkp::log(self(inst)->host, RKP_LOG_DEBUG, "starting helper for pid %d", params->child_pid);
        if (wants(inst, "throw")) {
            throw std::runtime_error("helper exploded");
        }
        if (wants(inst, "silent-failure")) {
            return -EIO;
        }
        if (wants(inst, "coded-failure")) {
            throw rkp::Error(EPERM, "start helper: operation not permitted");
        }
        rkp::sinkWrite(out, R"({"dev":"tap0",)");
        rkp::sinkWrite(out, R"("mtu":65520})");
        return 0;
    });
}

int recConfigureChild(rkp_instance *inst, const rkp_net_params *, const char *netmsg,
                      const rkp_sink *out, rkp_error *) {
    gCalls.push_back(std::string("configure_child ") + netmsg);
    if (wants(inst, "rewrite")) {
        rkp::sinkWrite(out, R"({"dev":"eth0"})");
    }
    return 0;
}

int recTeardown(rkp_instance *, rkp_error *) {
    gCalls.push_back("teardown");
    return 0;
}

int recInfo(rkp_instance *, const rkp_sink *out, rkp_error *) {
    rkp::sinkWrite(out, R"({"driver":"rec"})");
    return 0;
}

const rkp_net_ops kRecOps = {
    sizeof(rkp_net_ops), recPrepare, recConfigureParent, recConfigureChild, nullptr,
    recTeardown,         recInfo};

rkp_plugin recDescriptor() {
    rkp_plugin d{};
    d.struct_size = sizeof(d);
    d.abi_major = RKP_ABI_MAJOR;
    d.abi_minor = RKP_ABI_MINOR;
    d.kind = RKP_KIND_NETWORK;
    d.name = "rec";
    d.version = "1";
    d.needs = RKP_NEED_NETNS;
    d.create = recCreate;
    d.destroy = recDestroy;
    d.net = &kRecOps;
    return d;
}

const rkp_plugin kRec = recDescriptor();

class DriverTest : public ::testing::Test {
protected:
    void SetUp() override {
        gCalls.clear();
        registry_.addBuiltins();
        registry_.addDescriptor(&kRec, "(test)");
        registry_.addFile(std::string(RK_TEST_FIXTURE_DIR) + "/rkp-port-good.so");
    }

    const PluginInfo &plugin(const std::string &kind, const std::string &name) {
        auto found = registry_.find(kind, name);
        EXPECT_TRUE(found.ok()) << found.status().message();
        return **found;
    }

    NetDriverPtr net(const std::string &name, const std::string &config = "{}") {
        auto created = NetDriver::create(plugin("network", name), RKP_SIDE_PARENT, "/tmp", config);
        EXPECT_TRUE(created.ok()) << created.status().message();
        return created.ok() ? std::move(*created) : nullptr;
    }

    PortDriverPtr port(const std::string &config = "{}") {
        auto created = PortDriver::create(plugin("port", "good"), RKP_SIDE_PARENT, "/tmp", config);
        EXPECT_TRUE(created.ok()) << created.status().message();
        return created.ok() ? std::move(*created) : nullptr;
    }

    rkp_net_params params_{};  // struct_size left 0 on purpose: the wrapper sets it
    PluginRegistry registry_;
};

TEST_F(DriverTest, CreateFailureNamesTheDriverAndKeepsTheCode) {
    auto created =
        NetDriver::create(plugin("network", "rec"), RKP_SIDE_PARENT, "/tmp", R"({"bad-config":1})");
    ASSERT_FALSE(created.ok());
    EXPECT_EQ(created.status().message(),
              "create network driver rec: config: unknown key \"bad-config\"");
    EXPECT_EQ(created.status().code(), EINVAL);
    EXPECT_EQ(gCalls, std::vector<std::string>{"create"});  // nothing to destroy
}

TEST_F(DriverTest, ConfigureParentCollectsSinkOutputAndStampsStructSize) {
    auto driver = net("rec");
    ASSERT_TRUE(driver);
    auto netmsg = driver->configureParent(params_);
    ASSERT_TRUE(netmsg.ok()) << netmsg.status().message();
    EXPECT_EQ(*netmsg, R"({"dev":"tap0","mtu":65520})");
    EXPECT_EQ(gCalls.back(), "configure_parent size=" + std::to_string(sizeof(rkp_net_params)));
}

TEST_F(DriverTest, DestructorTearsDownAfterConfigureThenDestroys) {
    auto driver = net("rec");
    ASSERT_TRUE(driver);
    ASSERT_TRUE(driver->configureParent(params_).ok());
    driver.reset();
    ASSERT_GE(gCalls.size(), 2u);
    EXPECT_EQ(gCalls[gCalls.size() - 2], "teardown");
    EXPECT_EQ(gCalls.back(), "destroy");
}

TEST_F(DriverTest, TeardownRunsOnce) {
    auto driver = net("rec");
    ASSERT_TRUE(driver);
    ASSERT_TRUE(driver->prepareChild(params_).ok());
    EXPECT_TRUE(driver->teardown().ok());
    EXPECT_TRUE(driver->teardown().ok());
    driver.reset();
    EXPECT_EQ(gCalls, (std::vector<std::string>{
                          "create", "prepare_child size=" + std::to_string(sizeof(rkp_net_params)),
                          "teardown", "destroy"}));
}

TEST_F(DriverTest, DestructorWithoutConfigureOnlyDestroys) {
    net("rec").reset();
    EXPECT_EQ(gCalls, (std::vector<std::string>{"create", "destroy"}));
}

TEST_F(DriverTest, FailedConfigureStillOwesTeardown) {
    auto driver = net("rec", R"({"silent-failure":1})");
    ASSERT_TRUE(driver);
    EXPECT_FALSE(driver->configureParent(params_).ok());
    driver.reset();
    EXPECT_EQ(gCalls[gCalls.size() - 2], "teardown");
}

TEST_F(DriverTest, FailureWithoutMessageGetsOneFromTheCall) {
    auto driver = net("rec", R"({"silent-failure":1})");
    ASSERT_TRUE(driver);
    auto netmsg = driver->configureParent(params_);
    ASSERT_FALSE(netmsg.ok());
    EXPECT_EQ(netmsg.status().message(), "network plugin rec configure_parent: input/output error");
    EXPECT_EQ(netmsg.status().code(), EIO);
}

TEST_F(DriverTest, ExceptionsInsideGuardBecomeErrors) {
    auto thrower = net("rec", R"({"throw":1})");
    ASSERT_TRUE(thrower);
    auto netmsg = thrower->configureParent(params_);
    EXPECT_EQ(netmsg.status().message(), "helper exploded");
    EXPECT_EQ(netmsg.status().code(), EIO);

    auto coded = net("rec", R"({"coded-failure":1})");
    ASSERT_TRUE(coded);
    netmsg = coded->configureParent(params_);
    EXPECT_EQ(netmsg.status().message(), "start helper: operation not permitted");
    EXPECT_EQ(netmsg.status().code(), EPERM);
}

TEST_F(DriverTest, ConfigureChildKeepsTheMessageUnlessThePluginRewritesIt) {
    auto keeper = net("rec");
    ASSERT_TRUE(keeper);
    auto kept = keeper->configureChild(params_, R"({"dev":"tap0"})");
    ASSERT_TRUE(kept.ok());
    EXPECT_EQ(*kept, R"({"dev":"tap0"})");
    EXPECT_EQ(gCalls.back(), R"(configure_child {"dev":"tap0"})");

    auto rewriter = net("rec", R"({"rewrite":1})");
    ASSERT_TRUE(rewriter);
    auto rewritten = rewriter->configureChild(params_, R"({"dev":"tap0"})");
    ASSERT_TRUE(rewritten.ok());
    EXPECT_EQ(*rewritten, R"({"dev":"eth0"})");
}

TEST_F(DriverTest, PluginLogsGoToItsComponentLoggerAtItsLevel) {
    std::ostringstream captured;
    auto log = logger("net/rec");
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
    sink->set_pattern("%l %n: %v");
    log->sinks().push_back(sink);
    auto oldLevel = log->level();

    log->set_level(spdlog::level::debug);
    auto driver = net("rec");
    ASSERT_TRUE(driver);
    params_.child_pid = 4242;
    ASSERT_TRUE(driver->configureParent(params_).ok());
    EXPECT_NE(captured.str().find("debug net/rec: starting helper for pid 4242"), std::string::npos)
        << captured.str();

    // At info level log_enabled says no, and rkp::log does not even format.
    captured.str("");
    log->set_level(spdlog::level::info);
    ASSERT_TRUE(driver->configureParent(params_).ok());
    EXPECT_EQ(captured.str(), "");

    log->sinks().pop_back();
    log->set_level(oldLevel);
}

TEST_F(DriverTest, CopyInAnotherProcessLeavesTheInstanceAlone) {
    auto driver = net("rec");
    ASSERT_TRUE(driver);
    ASSERT_TRUE(driver->configureParent(params_).ok());
    size_t before = gCalls.size();

    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        // Like the clone()d child: its copy of the parent's driver goes away.
        driver.reset();
        _exit(gCalls.size() == before ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "teardown or destroy ran";
}

TEST_F(DriverTest, BuiltInNone) {
    auto driver = net("none");
    ASSERT_TRUE(driver);
    EXPECT_FALSE(driver->hasConfigureChild());
    auto netmsg = driver->configureParent(params_);
    ASSERT_TRUE(netmsg.ok());
    EXPECT_EQ(*netmsg, "{}");
    auto info = driver->info();
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(*info, R"({"driver":"none"})");
    EXPECT_TRUE(driver->teardown().ok());
}

TEST_F(DriverTest, BuiltInHostHasNoInfo) {
    auto driver = net("host");
    ASSERT_TRUE(driver);
    auto info = driver->info();
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(*info, "");
}

TEST_F(DriverTest, BuiltInsRefuseConfig) {
    auto created =
        NetDriver::create(plugin("network", "none"), RKP_SIDE_PARENT, "/tmp", R"({"mtu":1})");
    ASSERT_FALSE(created.ok());
    EXPECT_EQ(created.status().message(),
              "create network driver none: config: unknown key \"mtu\"");
}

// ---- PortDriver over the good fixture .so ---------------------------------------------------

void collect(void *ctx, uint64_t id, const rkp_port_spec *spec) {
    static_cast<std::vector<std::string> *>(ctx)->push_back(std::to_string(id) + ":" +
                                                            std::to_string(spec->parent_port));
}

rkp_port_spec tcpSpec(uint16_t parentPort) {
    rkp_port_spec spec{};
    spec.proto = RKP_PROTO_TCP;
    spec.family = RKP_FAMILY_ANY;
    spec.parent_port = parentPort;
    spec.child_port = 80;
    spec.proto_name = "tcp";
    spec.parent_ip = "127.0.0.1";
    spec.child_ip = "";
    return spec;
}

TEST_F(DriverTest, PortDriverAddsListsAndRemoves) {
    auto driver = port();
    ASSERT_TRUE(driver);
    EXPECT_FALSE(driver->needsParentLoop());
    EXPECT_TRUE(driver->hasListPorts());
    EXPECT_TRUE(driver->addPort(1, tcpSpec(8080)).ok());
    EXPECT_TRUE(driver->addPort(2, tcpSpec(8081)).ok());
    EXPECT_TRUE(driver->removePort(1).ok());

    std::vector<std::string> listed;
    ASSERT_TRUE(driver->listPorts(collect, &listed).ok());
    EXPECT_EQ(listed, std::vector<std::string>{"2:8081"});

    Status unknown = driver->removePort(7);
    EXPECT_EQ(unknown.message(), "unknown id: 7");
    EXPECT_EQ(unknown.code(), ENOENT);
}

TEST_F(DriverTest, PortDriverCarriesOpaqueAndInfo) {
    auto parent = port();
    ASSERT_TRUE(parent);
    rkp_port_context context{};
    auto opaque = parent->initParent(context);
    ASSERT_TRUE(opaque.ok());
    EXPECT_EQ(*opaque, R"({"fixture":true})");

    auto info = parent->info();
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(*info, R"({"driver":"good"})");

    auto child = PortDriver::create(plugin("port", "good"), RKP_SIDE_CHILD, "/tmp", "{}");
    ASSERT_TRUE(child.ok());
    EXPECT_TRUE((*child)->initChild(*opaque, nullptr).ok());
    Status bad = (*child)->initChild("{}", nullptr);
    EXPECT_EQ(bad.message(), "init child: unexpected opaque object");
    EXPECT_EQ(bad.code(), EINVAL);
    EXPECT_TRUE((*child)->runChild(-1).ok());  // no child loop: returns at once
}

TEST_F(DriverTest, PortDriverCreateFailure) {
    auto created =
        PortDriver::create(plugin("port", "good"), RKP_SIDE_PARENT, "/tmp", R"({"fail":true})");
    ASSERT_FALSE(created.ok());
    EXPECT_EQ(created.status().message(), "create port driver good: config: fail requested");
}

TEST_F(DriverTest, WrongKindIsRefused) {
    auto created = PortDriver::create(plugin("network", "rec"), RKP_SIDE_PARENT, "/tmp", "{}");
    ASSERT_FALSE(created.ok());
    EXPECT_EQ(created.status().message(), "create port driver rec: not a usable port plugin");
}

// ---- rkp.hpp helpers on their own -----------------------------------------------------------

TEST(DriverSdkTest, SetErrorTruncatesAndReturnsNegativeCode) {
    rkp_error err{};
    err.struct_size = sizeof(err);
    EXPECT_EQ(rkp::setError(&err, EINVAL, "bad %s", "thing"), -EINVAL);
    EXPECT_STREQ(err.message, "bad thing");
    EXPECT_EQ(err.code, -EINVAL);

    std::string longText(2000, 'x');
    EXPECT_EQ(rkp::setErrorMessage(&err, -EIO, longText), -EIO);
    EXPECT_EQ(std::strlen(err.message), sizeof(err.message) - 1);

    EXPECT_EQ(rkp::setError(nullptr, -ENOENT, "no err struct"), -ENOENT);
}

TEST(DriverSdkTest, GuardMapsExceptions) {
    rkp_error err{};
    EXPECT_EQ(rkp::guard(&err, [] { throw std::bad_alloc(); }), -ENOMEM);
    EXPECT_STREQ(err.message, "out of memory");
    EXPECT_EQ(rkp::guard(&err, [] { throw 42; }), -EIO);
    EXPECT_STREQ(err.message, "unexpected exception");
    EXPECT_EQ(rkp::guard(&err, [] {}), 0);
    EXPECT_EQ(rkp::guard(&err, [] { return -EEXIST; }), -EEXIST);
}

const rkp_plugin kMacroPlugin = recDescriptor();
const rkp_plugin *macroEntry(uint16_t major) {
    return rkp::detail::entryFor(&kMacroPlugin, major);
}

TEST(DriverSdkTest, EntryDeclinesAnotherMajor) {
    EXPECT_EQ(macroEntry(RKP_ABI_MAJOR), &kMacroPlugin);
    EXPECT_EQ(macroEntry(RKP_ABI_MAJOR + 1), nullptr);
}

}  // namespace
}  // namespace rootlesskit
