// The conformance runner itself: it fails a plugin that breaks the contract, names the broken
// tests, and refuses a file it cannot run anything against. The plugins are the loader's test
// fixtures (tests/fixtures): "good" loads fine but forwards nothing and accepts any config key
// and any protocol.
#include <gtest/gtest.h>

#include <cstddef>
#include <string>

#include "rootlesskit/rkp.h"
#include "tests/support/process.h"

namespace rktest {
namespace {

const std::string kFixtures = RK_TEST_FIXTURE_DIR;

RunResult runConformance(const std::vector<std::string> &args) {
    std::vector<std::string> argv = {binPath("rootlesskit-plugin-conformance")};
    argv.insert(argv.end(), args.begin(), args.end());
    RunOptions options;
    options.timeout = std::chrono::milliseconds(120000);
    return runAsTestUser(argv, options);
}

TEST(ConformanceRunnerTest, FailsAPluginThatBreaksTheContract) {
    std::string reason;
    if (!testUser(&reason)) {
        GTEST_SKIP() << reason;
    }
    RunResult run = runConformance({kFixtures + "/rkp-port-good.so"});
    EXPECT_EQ(run.exitCode, 1) << run.out << run.err;
    EXPECT_NE(run.out.find("[  FAILED  ] PortConformance/good.TcpEcho"), std::string::npos)
        << run.out;
    EXPECT_NE(run.out.find("[  FAILED  ] PluginConformance/good.CreateRefusesAnUnknownKey"),
              std::string::npos)
        << run.out;
    // It declares tcp and udp only, and accepts sctp and tcp6 all the same.
    EXPECT_NE(run.out.find("[  FAILED  ] PortConformance/good.UndeclaredProtocolsAreRefused"),
              std::string::npos)
        << run.out;
    EXPECT_NE(run.out.find("[       OK ] PortConformance/good.RemovingAnUnknownIdFails"),
              std::string::npos)
        << run.out;
    EXPECT_NE(run.out.find("[       OK ] PluginConformance/good.DescriptorFollowsTheContract"),
              std::string::npos)
        << run.out;
}

TEST(ConformanceRunnerTest, RefusesAFileItCannotRun) {
    std::string reason;
    if (!testUser(&reason)) {
        GTEST_SKIP() << reason;
    }
    RunResult run = runConformance({kFixtures + "/rkp-port-wrongmajor.so"});
    EXPECT_EQ(run.exitCode, 2);
    EXPECT_NE(run.err.find("rkp-port-wrongmajor.so has ABI major 2; this suite speaks 1."),
              std::string::npos)
        << run.err;
}

// What the host refuses, the runner refuses with the host's reason, without crashing on it.
TEST(ConformanceRunnerTest, RefusesADescriptorWithoutAName) {
    std::string reason;
    if (!testUser(&reason)) {
        GTEST_SKIP() << reason;
    }
    RunResult run = runConformance({kFixtures + "/baddesc/rkp-port-nullname.so"});
    EXPECT_EQ(run.exitCode, 2) << run.err;
    EXPECT_NE(run.err.find("rkp-port-nullname.so: name \"\" is not made of [a-z0-9-]"),
              std::string::npos)
        << run.err;
}

TEST(ConformanceRunnerTest, RefusesADescriptorSmallerThanAbi10sWithBothSizes) {
    std::string reason;
    if (!testUser(&reason)) {
        GTEST_SKIP() << reason;
    }
    RunResult run = runConformance({kFixtures + "/baddesc/rkp-port-smallstruct.so"});
    EXPECT_EQ(run.exitCode, 2) << run.err;
    EXPECT_NE(run.err.find("rkp-port-smallstruct.so: descriptor struct_size 72 is smaller than "
                           "ABI 1.0's " +
                           std::to_string(offsetof(rkp_plugin, port) + sizeof(void *))),
              std::string::npos)
        << run.err;
}

TEST(ConformanceRunnerTest, RefusesAPortPluginWithoutTheNetworkItNeeds) {
    std::string reason;
    if (!testUser(&reason)) {
        GTEST_SKIP() << reason;
    }
    RunResult run = runConformance({RK_TEST_PLUGIN_DIR "/rkp-port-slirp4netns.so"});
    EXPECT_EQ(run.exitCode, 2);
    EXPECT_NE(run.err.find("port plugin slirp4netns needs a network plugin that supports "
                           "hostfwd-api: pass one with --net"),
              std::string::npos)
        << run.err;
}

}  // namespace
}  // namespace rktest
