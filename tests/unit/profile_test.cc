// Profiles: the shipped files load, bad files give one line with file:line:col, and driver
// sections become JSON.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include "core/profile.h"
#include "tests/support/process.h"

namespace rootlesskit {
namespace {

const std::string kFixtures = std::string(RK_TEST_SOURCE_DIR) + "/tests/unit/profile_fixtures/";
const std::string kConf = std::string(RK_TEST_SOURCE_DIR) + "/conf/";

struct Loaded {
    Status status;
    Options options;
    std::set<std::string> keys;
};

Loaded load(const std::string &path) {
    Loaded loaded;
    loaded.status = loadProfile(path, loaded.options, loaded.keys);
    return loaded;
}

// The error of a fixture, with the fixture's path replaced by "F" for readable expectations.
std::string fixtureError(const std::string &name) {
    Loaded loaded = load(kFixtures + name);
    EXPECT_FALSE(loaded.status.ok()) << name << " loaded";
    std::string message = loaded.status.message();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_EQ(message.rfind(kFixtures + name, 0), 0u) << message;
    return message.rfind(kFixtures + name, 0) == 0 ? "F" + message.substr((kFixtures + name).size())
                                                   : message;
}

std::string writeFile(const std::string &dir, const std::string &name, const std::string &text) {
    std::string path = dir + "/" + name;
    std::ofstream(path) << text;
    return path;
}

Poco::JSON::Object::Ptr parseJson(const std::string &text) {
    return Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
}

TEST(ProfileErrorTest, UnknownKeySuggestsTheClosestAndListsValidKeys) {
    std::string message = fixtureError("unknown_key.yaml");
    EXPECT_EQ(message.rfind("F:2:1: unknown key \"mut\", did you mean \"mtu\"? valid keys: ", 0),
              0u)
        << message;
    EXPECT_NE(message.find("port-driver"), std::string::npos) << message;
    EXPECT_NE(message.find("plugin-path"), std::string::npos) << message;
    EXPECT_EQ(message.find("print-semver"), std::string::npos) << message;
}

TEST(ProfileErrorTest, WrongTypes) {
    EXPECT_EQ(fixtureError("int_type.yaml"),
              "F:1:6: key \"mtu\": expected an integer, got \"big\"");
    EXPECT_EQ(fixtureError("bool_type.yaml"),
              "F:1:8: key \"pidns\": expected true or false, got \"maybe\"");
    EXPECT_EQ(fixtureError("list_type.yaml"),
              "F:1:10: key \"copy-up\": expected a list of strings, got \"/etc\"");
    EXPECT_EQ(fixtureError("string_type.yaml"),
              "F:2:3: key \"net\": expected a string, got a list");
}

TEST(ProfileErrorTest, BadValuesGoThroughTheFlagChecks) {
    EXPECT_EQ(fixtureError("mtu_value.yaml"),
              "F:2:6: key \"mtu\": mtu must be <= 65521, got 70000");
    EXPECT_EQ(fixtureError("publish_value.yaml"),
              "F:4:5: key \"publish\": publish 127.0.0.1:70000:80/tcp: invalid ParentPort: 70000 "
              "(valid: 1-65535)");
    EXPECT_EQ(fixtureError("driver_value.yaml"),
              "F:5:16: key \"drivers.network.slirp4netns.sandbox\": unsupported "
              "slirp4netns-sandbox mode: \"maybe\", valid: auto, true, false, \"\"");
}

TEST(ProfileErrorTest, SyntaxError) {
    // The flow list opened on line 1 swallows line 2: the error belongs to "net".
    std::string message = fixtureError("syntax_error.yaml");
    EXPECT_NE(message.find(": invalid YAML in key \"net\": "), std::string::npos) << message;
    EXPECT_EQ(message.rfind("F:", 0), 0u);
    EXPECT_NE(message.find_first_of("0123456789"), std::string::npos);
}

TEST(ProfileErrorTest, SyntaxErrorNamesTheKeyItIsIn) {
    rktest::TempDir dir;
    Loaded late = load(writeFile(dir.path(), "x.yaml", "net: none\nmtu: [1500\n"));
    EXPECT_EQ(late.status.message(), dir.path() +
                                         "/x.yaml:3:1: invalid YAML in key \"mtu\": end of "
                                         "sequence flow not found");
    Loaded keyless = load(writeFile(dir.path(), "y.yaml", "[1, 2\n"));
    EXPECT_EQ(keyless.status.message().rfind(dir.path() + "/y.yaml:2:1: invalid YAML: ", 0), 0u)
        << keyless.status.message();
}

TEST(ProfileErrorTest, DocumentShape) {
    EXPECT_EQ(fixtureError("not_mapping.yaml"),
              "F:1:1: a profile must be a mapping of flag names to values, got a list");
    EXPECT_EQ(fixtureError("duplicate_key.yaml"),
              "F:3:1: duplicate key \"net\", first set on line 1");
    EXPECT_EQ(fixtureError("driver_kind.yaml"),
              "F:2:3: unknown driver kind \"netwrok\" under \"drivers\", valid: network, port");
}

TEST(ProfileErrorTest, UnreadableFile) {
    rktest::TempDir dir;
    Loaded missing = load(dir.path() + "/missing.yaml");
    EXPECT_EQ(missing.status.message(),
              dir.path() + "/missing.yaml: read profile: no such file or directory");
    Loaded directory = load(dir.path());
    EXPECT_EQ(directory.status.message(), dir.path() + ": read profile: is a directory");
}

// Found by fuzz_profile: a YAML error quoting a control character carried the character itself,
// and so did an unknown key made of escapes, splitting the error over two lines.
TEST(ProfileErrorTest, ControlCharactersInTheErrorAreEscaped) {
    rktest::TempDir dir;
    Loaded key = load(writeFile(dir.path(), "x.yaml", "\"a\\nb\\tc\": 1\n"));
    EXPECT_NE(key.status.message().find("unknown key \"a\\nb\\x09c\""), std::string::npos)
        << key.status.message();
    EXPECT_EQ(key.status.message().find('\n'), std::string::npos) << key.status.message();
}

TEST(ProfileErrorTest, ShortFlagNamesAndCommandOnlyFlagsAreNotKeys) {
    rktest::TempDir dir;
    for (const char *key : {"p", "help", "version", "print-semver", "profile"}) {
        Loaded loaded = load(writeFile(dir.path(), "x.yaml", std::string(key) + ": x\n"));
        EXPECT_NE(loaded.status.message().find("unknown key \"" + std::string(key) + "\""),
                  std::string::npos)
            << loaded.status.message();
    }
}

TEST(ProfileTest, ShippedProfilesLoad) {
    int count = 0;
    for (const auto &entry : std::filesystem::directory_iterator(kConf)) {
        if (entry.path().extension() != ".yaml") {
            continue;
        }
        Loaded loaded = load(entry.path().string());
        EXPECT_TRUE(loaded.status.ok()) << loaded.status.message();
        ++count;
    }
    EXPECT_GE(count, 5);
}

TEST(ProfileTest, DefaultProfileHoldsUpstreamDefaults) {
    Loaded loaded = load(kConf + "default.yaml");
    ASSERT_TRUE(loaded.status.ok()) << loaded.status.message();
    EXPECT_EQ(loaded.options.net, "host");
    EXPECT_EQ(loaded.options.portDriver, "none");
    EXPECT_TRUE(loaded.options.copyUp.empty());
    EXPECT_FALSE(loaded.options.disableHostLoopback);
}

TEST(ProfileTest, Slirp4netnsProfile) {
    Loaded loaded = load(kConf + "slirp4netns.yaml");
    ASSERT_TRUE(loaded.status.ok()) << loaded.status.message();
    EXPECT_EQ(loaded.options.net, "slirp4netns");
    EXPECT_EQ(loaded.options.portDriver, "builtin");
    EXPECT_EQ(loaded.options.mtu, 65520);
    EXPECT_TRUE(loaded.options.disableHostLoopback);
    EXPECT_EQ(loaded.options.copyUp, std::vector<std::string>{"/etc"});
    EXPECT_EQ(loaded.options.slirp4netnsSandbox, "auto");
    EXPECT_EQ(loaded.options.slirp4netnsSeccomp, "auto");
    EXPECT_EQ(loaded.keys.count("mtu"), 1u);
    EXPECT_EQ(loaded.keys.count("pidns"), 0u);
}

TEST(ProfileTest, PastaAndLxcUserNicProfiles) {
    Loaded pasta = load(kConf + "pasta.yaml");
    ASSERT_TRUE(pasta.status.ok()) << pasta.status.message();
    EXPECT_EQ(pasta.options.net, "pasta");
    EXPECT_EQ(pasta.options.portDriver, "implicit");
    Loaded lxc = load(kConf + "lxc-user-nic.yaml");
    ASSERT_TRUE(lxc.status.ok()) << lxc.status.message();
    EXPECT_EQ(lxc.options.net, "lxc-user-nic");
    EXPECT_EQ(lxc.options.lxcUserNicBridge, "lxcbr0");
}

TEST(ProfileTest, EmptyFileSetsNothing) {
    rktest::TempDir dir;
    Loaded loaded = load(writeFile(dir.path(), "empty.yaml", "# nothing\n"));
    EXPECT_TRUE(loaded.status.ok()) << loaded.status.message();
    EXPECT_TRUE(loaded.keys.empty());
    EXPECT_EQ(loaded.options.net, "host");
}

TEST(ProfileTest, RelativePathsAreRelativeToTheProfile) {
    rktest::TempDir dir;
    std::string path =
        writeFile(dir.path(), "p.yaml", "state-dir: run/state\nplugin-path: [plugins, /opt/rk]\n");
    Loaded loaded = load(path);
    ASSERT_TRUE(loaded.status.ok()) << loaded.status.message();
    EXPECT_EQ(loaded.options.stateDir, dir.path() + "/run/state");
    EXPECT_EQ(loaded.options.pluginPath,
              (std::vector<std::string>{dir.path() + "/plugins", "/opt/rk"}));
}

TEST(ProfileTest, DriverSectionsBecomeJson) {
    rktest::TempDir dir;
    std::string path = writeFile(dir.path(), "d.yaml",
                                 "drivers:\n"
                                 "  network:\n"
                                 "    slirp4netns:\n"
                                 "      sandbox: auto\n"
                                 "      api: true\n"
                                 "      mtu: 1500\n"
                                 "      ratio: 0.5\n"
                                 "      quoted: \"42\"\n"
                                 "      none: ~\n"
                                 "      list: [a, 1]\n"
                                 "      nested: {k: v}\n"
                                 "  port:\n"
                                 "    builtin: {}\n"
                                 "    other:\n");
    Loaded loaded = load(path);
    ASSERT_TRUE(loaded.status.ok()) << loaded.status.message();

    auto net = parseJson(loaded.options.driverConfig.at("network/slirp4netns"));
    EXPECT_EQ(net->getValue<std::string>("sandbox"), "auto");
    EXPECT_TRUE(net->getValue<bool>("api"));
    EXPECT_EQ(net->getValue<int>("mtu"), 1500);
    EXPECT_DOUBLE_EQ(net->getValue<double>("ratio"), 0.5);
    EXPECT_TRUE(net->get("quoted").isString());
    EXPECT_TRUE(net->isNull("none"));
    EXPECT_EQ(net->getArray("list")->size(), 2u);
    EXPECT_EQ(net->getObject("nested")->getValue<std::string>("k"), "v");
    EXPECT_EQ(loaded.options.driverConfig.at("port/builtin"), "{}");
    EXPECT_EQ(loaded.options.driverConfig.at("port/other"), "{}");

    // A key that mirrors a flag sets that flag too.
    EXPECT_EQ(loaded.options.slirp4netnsSandbox, "auto");
    EXPECT_EQ(loaded.keys.count("slirp4netns-sandbox"), 1u);
}

// A nested alias bomb: level 0 is a list of 9 scalars, each further level a list of 9 aliases
// of the level below, so that the last one expands to 9^9 values.
std::string aliasBomb(int levels) {
    std::string text = "drivers:\n  network:\n    slirp4netns:\n"
                       "      l0: &l0 [x, x, x, x, x, x, x, x, x]\n";
    for (int level = 1; level <= levels; ++level) {
        std::string below = "*l" + std::to_string(level - 1);
        text += "      l" + std::to_string(level) + ": &l" + std::to_string(level) + " [";
        for (int i = 0; i < 9; ++i) {
            text += (i == 0 ? "" : ", ") + below;
        }
        text += "]\n";
    }
    return text;
}

TEST(ProfileErrorTest, DriverSectionAliasBombIsRefused) {
    rktest::TempDir dir;
    std::string path = writeFile(dir.path(), "bomb.yaml", aliasBomb(8));
    Loaded loaded = load(path);
    ASSERT_FALSE(loaded.status.ok());
    EXPECT_EQ(loaded.status.message(),
              path + ":8:7: key \"drivers.network.slirp4netns.l4\": more than 10000 values "
                     "with YAML aliases expanded, the drivers section may hold at most 10000");
    EXPECT_TRUE(loaded.options.driverConfig.empty());
}

TEST(ProfileErrorTest, DriverSectionNestingIsBounded) {
    rktest::TempDir dir;
    std::string deep = std::string(70, '[') + "x" + std::string(70, ']');
    std::string path = writeFile(dir.path(), "deep.yaml",
                                 "drivers:\n  port:\n    builtin:\n      deep: " + deep + "\n");
    Loaded loaded = load(path);
    ASSERT_FALSE(loaded.status.ok());
    EXPECT_EQ(loaded.status.message(),
              path + ":4:7: key \"drivers.port.builtin.deep\": nested more than 64 levels deep, "
                     "a driver section may nest at most 64");
}

TEST(ProfileErrorTest, DriverSectionAliasOfItselfIsRefused) {
    rktest::TempDir dir;
    std::string path = writeFile(dir.path(), "loop.yaml",
                                 "drivers:\n  port:\n    builtin:\n      loop: &l [*l]\n");
    Loaded loaded = load(path);
    ASSERT_FALSE(loaded.status.ok());
    EXPECT_EQ(loaded.status.message().rfind(path + ":4:7: key \"drivers.port.builtin.loop\": ", 0),
              0u)
        << loaded.status.message();
}

TEST(ProfileTest, DriverSectionAliasesWithinTheLimitExpand) {
    rktest::TempDir dir;
    std::string path = writeFile(dir.path(), "a.yaml", aliasBomb(3));
    Loaded loaded = load(path);
    ASSERT_TRUE(loaded.status.ok()) << loaded.status.message();
    auto net = parseJson(loaded.options.driverConfig.at("network/slirp4netns"));
    auto l3 = net->getArray("l3");
    ASSERT_EQ(l3->size(), 9u);
    EXPECT_EQ(l3->getArray(8)->getArray(8)->getArray(8)->getElement<std::string>(8), "x");
}

TEST(ProfileTest, DriverSectionWinsOverTheTopLevelKey) {
    rktest::TempDir dir;
    std::string path = writeFile(dir.path(), "d.yaml",
                                 "drivers:\n  network:\n    pasta:\n      binary: /opt/pasta\n"
                                 "pasta-binary: /usr/bin/pasta\n");
    Loaded loaded = load(path);
    ASSERT_TRUE(loaded.status.ok()) << loaded.status.message();
    EXPECT_EQ(loaded.options.pastaBinary, "/opt/pasta");
}

}  // namespace
}  // namespace rootlesskit
