// Replays every checked-in fuzz input through the fuzz targets' checks: the seed corpora
// (tests/fuzz/corpus/<target>) and the inputs that once broke something
// (tests/fuzz/regressions/<target>), so each finding stays fixed in every build, with or without
// sanitizers and without libFuzzer.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/support/fuzz_targets.h"

namespace rkfuzz {
namespace {

namespace fs = std::filesystem;

struct Target {
    const char *name;
    std::string (*check)(const uint8_t *, size_t);
};

std::vector<fs::path> inputsOf(const fs::path &dir) {
    std::vector<fs::path> files;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->is_regular_file()) {
            files.push_back(it->path());
        }
    }
    return files;
}

std::string readBytes(const fs::path &path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Runs every file of dir through target's check; returns how many there were.
size_t replay(const Target &target, const fs::path &dir) {
    std::vector<fs::path> inputs = inputsOf(dir);
    for (const fs::path &input : inputs) {
        std::string data = readBytes(input);
        std::string problem =
            target.check(reinterpret_cast<const uint8_t *>(data.data()), data.size());
        EXPECT_EQ(problem, "") << input.string();
    }
    return inputs.size();
}

class FuzzReplayTest : public ::testing::TestWithParam<Target> {};

TEST_P(FuzzReplayTest, SeedCorpusHolds) {
    fs::path dir = fs::path(RK_TEST_SOURCE_DIR) / "tests/fuzz/corpus" / GetParam().name;
    EXPECT_GT(replay(GetParam(), dir), 0u) << "no seeds in " << dir.string();
}

TEST_P(FuzzReplayTest, PastFindingsStayFixed) {
    fs::path dir = fs::path(RK_TEST_SOURCE_DIR) / "tests/fuzz/regressions" / GetParam().name;
    if (!fs::exists(dir)) {
        GTEST_SKIP() << "no finding recorded for " << GetParam().name;
    }
    replay(GetParam(), dir);
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzReplayTest,
                         ::testing::Values(Target{"port_spec", checkPortSpec},
                                           Target{"profile", checkProfile},
                                           Target{"api_request", checkApiRequests},
                                           Target{"plugin_descriptor", checkPluginDescriptor}),
                         [](const ::testing::TestParamInfo<Target> &info) {
                             return std::string(info.param.name);
                         });

}  // namespace
}  // namespace rkfuzz
