// Plugins built from the frozen 1.0 header (sdk/abi/v1.0/rkp.h, through
// tests/fixtures/fixture_plugin.c) against the current host: a good one loads and works through
// the host's driver wrapper; one that claims a newer minor, another major, an unknown needs bit,
// lacks a required function, mismatches kind and ops table, or declines the host is refused
// with the message users see in `rootlesskit plugins list`.
#include <gtest/gtest.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "core/driver.h"
#include "core/plugin_loader.h"
#include "tests/support/process.h"

namespace rootlesskit {
namespace {

const std::string kFixtures = RK_ABI_FIXTURE_DIR;
const std::string kHostAbi = std::to_string(RKP_ABI_MAJOR) + "." + std::to_string(RKP_ABI_MINOR);

// Each refused fixture, by file name, with the reason the host must give.
const std::map<std::string, std::string> &expectedRefusals() {
    static const std::map<std::string, std::string> refusals = {
        {"rkp-port-v10-newerminor.so",
         "needs ABI " + std::to_string(RKP_ABI_MAJOR) + "." + std::to_string(RKP_ABI_MINOR + 1) +
             ", newer than the host's " + kHostAbi + ", update rootlesskit"},
        {"rkp-port-v10-othermajor.so", "ABI major " + std::to_string(RKP_ABI_MAJOR + 1) +
                                           " is not supported (host speaks " + kHostAbi + ")"},
        {"rkp-port-v10-unknownneeds.so", "needs unknown capability bit 40, update rootlesskit"},
        {"rkp-port-v10-missingfn.so", "required function add_port is NULL"},
        {"rkp-net-v10-kindops.so", "declares kind network but sets the port ops table"},
        {"rkp-port-v10-declines.so", "declined host ABI " + kHostAbi},
    };
    return refusals;
}

const PluginInfo &load(PluginRegistry &registry, const std::string &file) {
    registry.addFile(kFixtures + "/" + file);
    return registry.all().back();
}

// Collects what list_ports visits.
void collect(void *ctx, uint64_t id, const rkp_port_spec *spec) {
    static_cast<std::map<uint64_t, uint16_t> *>(ctx)->emplace(id, spec->parent_port);
}

TEST(AbiCompatTest, FrozenPluginLoads) {
    PluginRegistry registry;
    const PluginInfo &info = load(registry, "rkp-port-v10-good.so");
    EXPECT_EQ(info.refusal, "");
    ASSERT_NE(info.descriptor, nullptr);
    EXPECT_EQ(info.abiMajor, 1);
    EXPECT_EQ(info.abiMinor, 0);
    EXPECT_EQ(info.name, "v10-good");
    // The 1.0 size, whatever later minors append to the current header (port is a pointer).
    // NOLINTNEXTLINE(bugprone-sizeof-expression)
    EXPECT_EQ(info.descriptor->struct_size, offsetof(rkp_plugin, port) + sizeof(rkp_plugin::port));
}

TEST(AbiCompatTest, FrozenPluginWorksThroughTheHost) {
    PluginRegistry registry;
    const PluginInfo &info = load(registry, "rkp-port-v10-good.so");
    ASSERT_EQ(info.refusal, "");
    rktest::TempDir stateDir;

    Result<PortDriverPtr> driver = PortDriver::create(info, RKP_SIDE_PARENT, stateDir.path(), "{}");
    ASSERT_TRUE(driver) << driver.status().message();
    rkp_port_context context{};
    context.child_ip = "";
    context.gateway_ip = "";
    context.net_opaque_json = "{}";
    Result<std::string> opaque = (*driver)->initParent(context);
    ASSERT_TRUE(opaque) << opaque.status().message();
    EXPECT_EQ(*opaque, "{\"fixture\":true}");

    rkp_port_spec spec{};
    spec.proto = RKP_PROTO_TCP;
    spec.parent_port = 8080;
    spec.child_port = 80;
    spec.proto_name = "tcp";
    spec.parent_ip = "127.0.0.1";
    spec.child_ip = "";
    ASSERT_TRUE((*driver)->addPort(7, spec));
    std::map<uint64_t, uint16_t> listed;
    ASSERT_TRUE((*driver)->listPorts(collect, &listed));
    EXPECT_EQ(listed, (std::map<uint64_t, uint16_t>{{7, 8080}}));

    ASSERT_TRUE((*driver)->removePort(7));
    Status again = (*driver)->removePort(7);
    EXPECT_EQ(again.code(), ENOENT);
    EXPECT_EQ(again.message(), "unknown id: 7");
}

TEST(AbiCompatTest, RefusedWithTheExpectedMessage) {
    for (const auto &[file, reason] : expectedRefusals()) {
        PluginRegistry registry;
        const PluginInfo &info = load(registry, file);
        EXPECT_EQ(info.descriptor, nullptr) << file;
        EXPECT_EQ(info.refusal, reason) << file;
    }
}

TEST(AbiCompatTest, SelectingARefusedPluginSaysWhy) {
    PluginRegistry registry;
    load(registry, "rkp-port-v10-missingfn.so");
    Result<const PluginInfo *> found = registry.find("port", "v10-missingfn");
    ASSERT_FALSE(found);
    EXPECT_EQ(found.status().message(), "port plugin v10-missingfn (" + kFixtures +
                                            "/rkp-port-v10-missingfn.so) was refused: required "
                                            "function add_port is NULL");
}

// The same, as a user sees it: the real program, as the unprivileged user.
TEST(AbiCompatTest, PluginsListShowsEachFixture) {
    std::string reason;
    if (!rktest::testUser(&reason)) {
        GTEST_SKIP() << reason;
    }
    rktest::RunOptions options;
    options.env["ROOTLESSKIT_PLUGIN_PATH"] = kFixtures;
    rktest::RunResult run = rktest::runAsTestUser(
        {rktest::binPath("rootlesskit"), "plugins", "list", "--json"}, options);
    ASSERT_EQ(run.exitCode, 0) << run.err;

    std::map<std::string, Poco::JSON::Object::Ptr> byPath;
    Poco::JSON::Array::Ptr plugins =
        Poco::JSON::Parser().parse(run.out).extract<Poco::JSON::Array::Ptr>();
    for (size_t i = 0; i < plugins->size(); i++) {
        Poco::JSON::Object::Ptr plugin = plugins->getObject(i);
        byPath[plugin->getValue<std::string>("path")] = plugin;
    }

    Poco::JSON::Object::Ptr good = byPath[kFixtures + "/rkp-port-v10-good.so"];
    ASSERT_TRUE(good) << run.out;
    EXPECT_EQ(good->getValue<std::string>("status"), "ok");
    EXPECT_EQ(good->getValue<std::string>("abi"), "1.0");
    for (const auto &[file, expected] : expectedRefusals()) {
        Poco::JSON::Object::Ptr plugin = byPath[kFixtures + "/" + file];
        ASSERT_TRUE(plugin) << file << " missing from:\n" << run.out;
        EXPECT_EQ(plugin->getValue<std::string>("status"), "refused") << file;
        EXPECT_EQ(plugin->getValue<std::string>("refusal"), expected) << file;
    }
}

}  // namespace
}  // namespace rootlesskit
