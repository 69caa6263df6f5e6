// End-to-end tests of what the real rootlesskit does before and around a run, as the
// unprivileged test user: --version and --print-semver, "plugins list" (table and JSON) over the
// fixture plugins, the plugin search order, bad profiles of every kind, the command starting
// only once the run is ready, and a run by the real root user.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include "tests/e2e/net_clients.h"
#include "tests/support/process.h"

namespace rktest {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

const std::string kFixtureDir = RK_TEST_FIXTURE_DIR;

#define REQUIRE_TEST_USER()                               \
    std::string skipReason;                               \
    std::optional<TestUser> user = testUser(&skipReason); \
    if (!user) {                                          \
        GTEST_SKIP() << skipReason;                       \
    }

std::vector<std::string> rk(std::vector<std::string> args) {
    args.insert(args.begin(), binPath("rootlesskit"));
    return args;
}

std::vector<std::string> lines(const std::string &text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        out.push_back(line);
    }
    return out;
}

bool contains(const std::string &text, const std::string &part) {
    return text.find(part) != std::string::npos;
}

// ---- --version and --print-semver ----

TEST(VersionE2eTest, PrintSemverGivesEachComponentOfTheVersion) {
    REQUIRE_TEST_USER();
    RunResult version = runAsTestUser(rk({"--version"}));
    ASSERT_EQ(version.exitCode, 0) << version.err;
    std::smatch match;
    ASSERT_TRUE(std::regex_match(version.out, match,
                                 std::regex("rootlesskit version ([0-9]+)\\.([0-9]+)\\.([0-9]+)"
                                            "(\\+[0-9A-Za-z.-]+)?\n")))
        << version.out;
    EXPECT_EQ(version.err, "");

    // No command is needed, and every spelling of the flag works.
    std::map<std::string, std::string> expected = {
        {"major", match[1]}, {"minor", match[2]}, {"patch", match[3]}};
    for (const auto &[component, number] : expected) {
        for (const std::vector<std::string> &args :
             {std::vector<std::string>{"--print-semver=" + component},
              {"--print-semver", component},
              {"-print-semver=" + component}}) {
            RunResult result = runAsTestUser(rk(args));
            EXPECT_EQ(result.exitCode, 0) << args[0] << ": " << result.err;
            EXPECT_EQ(result.out, number + "\n") << args[0];
            EXPECT_EQ(result.err, "") << args[0];
        }
    }

    RunResult bad = runAsTestUser(rk({"--print-semver=micro", "true"}));
    EXPECT_EQ(bad.exitCode, 1);
    EXPECT_EQ(bad.out, "");
    EXPECT_EQ(bad.err,
              "[rootlesskit:parent] error: expected --print-semver=(major|minor|patch), got "
              "\"micro\"\n");
}

// Warnings about options (--disable-host-loopback not set, --mtu discarded) come only once
// the options are accepted: bad input gets its error line alone.
TEST(BadOptionsE2eTest, ErrorLineComesWithoutTheWarningsOfAcceptedOptions) {
    std::string reason;
    if (!testUser(&reason)) {
        GTEST_SKIP() << reason;
    }
    for (const std::vector<std::string> &flags :
         {std::vector<std::string>{"--net=slirp4netns", "--port-driver=implicit"},
          {"--net=nosuchnet"},
          {"--net=host", "--mtu=1500", "--port-driver=builtin"}}) {
        std::vector<std::string> args = flags;
        args.push_back("true");
        RunResult result = runAsTestUser(rk(args));
        EXPECT_EQ(result.exitCode, 1) << flags[0];
        EXPECT_EQ(lines(result.err).size(), 1u) << result.err;
        EXPECT_EQ(result.err.rfind("[rootlesskit:parent] error: ", 0), 0u) << result.err;
    }
}

TEST(VersionE2eTest, HelpIsGroupedByCategoryInUpstreamsOrder) {
    REQUIRE_TEST_USER();
    RunResult help = runAsTestUser(rk({"--help"}));
    ASSERT_EQ(help.exitCode, 0) << help.err;
    std::vector<std::string> headings;
    for (const std::string &line : lines(help.out)) {
        bool heading = !line.empty() && line.size() < 30 && line[0] != ' ' && line.back() == ':';
        if (heading && line != "Usage:") {
            headings.push_back(line.substr(0, line.size() - 1));
        }
    }
    EXPECT_EQ(headings,
              (std::vector<std::string>{"Misc", "Mount", "Network", "Network [lxc-user-nic]",
                                        "Network [pasta]", "Network [slirp4netns]",
                                        "Network [vpnkit]", "Port", "Process", "State", "SubID"}))
        << help.out;
}

// ---- plugins list ----

std::string fixture(const std::string &file) {
    return kFixtureDir + "/" + file;
}

// The "plugins list --json" entries by path.
std::map<std::string, Poco::JSON::Object::Ptr> entriesByPath(const std::string &json) {
    std::map<std::string, Poco::JSON::Object::Ptr> entries;
    Poco::JSON::Array::Ptr array =
        Poco::JSON::Parser().parse(json).extract<Poco::JSON::Array::Ptr>();
    for (size_t i = 0; i < array->size(); ++i) {
        Poco::JSON::Object::Ptr entry = array->getObject(static_cast<unsigned>(i));
        entries[entry->getValue<std::string>("path") + "|" + entry->getValue<std::string>("name")] =
            entry;
    }
    return entries;
}

std::vector<std::string> words(const Poco::JSON::Object::Ptr &entry, const std::string &key) {
    std::vector<std::string> out;
    Poco::JSON::Array::Ptr array = entry->getArray(key);
    for (size_t i = 0; array && i < array->size(); ++i) {
        out.push_back(array->getElement<std::string>(static_cast<unsigned>(i)));
    }
    return out;
}

class PluginsListE2eTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string reason;
        if (!testUser(&reason)) {
            GTEST_SKIP() << reason;
        }
        if (!fs::exists(fixture("rkp-port-good.so"))) {
            GTEST_SKIP() << "the fixture plugins are not built (target rk_test_fixtures)";
        }
        options_.env["ROOTLESSKIT_PLUGIN_PATH"] = kFixtureDir;
    }

    RunOptions options_;
};

TEST_F(PluginsListE2eTest, TableShowsEveryPluginWithKindVersionAbiCapabilitiesAndPath) {
    RunResult result = runAsTestUser(rk({"plugins", "list"}), options_);
    ASSERT_EQ(result.exitCode, 0) << result.err;
    std::vector<std::string> rows = lines(result.out);
    ASSERT_FALSE(rows.empty());
    std::regex header("KIND +NAME +VERSION +ABI +SUPPORTS +NEEDS +STATUS +PATH");
    EXPECT_TRUE(std::regex_match(rows[0], header)) << rows[0];

    auto rowOf = [&](const std::string &path) {
        for (const std::string &row : rows) {
            if (row.size() >= path.size() &&
                row.compare(row.size() - path.size(), path.size(), path) == 0) {
                return row;
            }
        }
        return std::string();
    };
    std::regex good("port +good +0\\.1-fixture +1\\.0 +tcp,udp +netns +ok +" +
                    fixture("rkp-port-good.so"));
    EXPECT_TRUE(std::regex_match(rowOf(fixture("rkp-port-good.so")), good)) << result.out;
    EXPECT_TRUE(contains(rowOf(fixture("rkp-port-wrongmajor.so")),
                         "refused: ABI major 2 is not supported (host speaks 1.0)"))
        << result.out;
    EXPECT_TRUE(contains(rowOf("(built in)"), "ok")) << result.out;
    // The drivers of the build tree come after the directories of ROOTLESSKIT_PLUGIN_PATH.
    std::string builtin = std::string(RK_TEST_PLUGIN_DIR) + "/rkp-port-builtin.so";
    if (fs::exists(builtin)) {
        EXPECT_TRUE(std::regex_search(rowOf(builtin), std::regex("^port +builtin +[0-9]")))
            << result.out;
    }
}

TEST_F(PluginsListE2eTest, JsonGivesEachPluginAndTheReasonOfEachRefusal) {
    RunResult result = runAsTestUser(rk({"plugins", "list", "--json"}), options_);
    ASSERT_EQ(result.exitCode, 0) << result.err;
    std::map<std::string, Poco::JSON::Object::Ptr> entries = entriesByPath(result.out);

    Poco::JSON::Object::Ptr good = entries[fixture("rkp-port-good.so") + "|good"];
    ASSERT_TRUE(good) << result.out;
    EXPECT_EQ(good->getValue<std::string>("kind"), "port");
    EXPECT_EQ(good->getValue<std::string>("version"), "0.1-fixture");
    EXPECT_EQ(good->getValue<std::string>("abi"), "1.0");
    EXPECT_EQ(good->getValue<std::string>("status"), "ok");
    EXPECT_EQ(words(good, "supports"), (std::vector<std::string>{"tcp", "udp"}));
    EXPECT_EQ(words(good, "needs"), std::vector<std::string>{"netns"});
    EXPECT_FALSE(good->has("refusal"));

    std::map<std::string, std::string> refusals = {
        {"wrongmajor", "ABI major 2 is not supported (host speaks 1.0)"},
        {"newerminor", "needs ABI 1.7, newer than the host's 1.0"},
        {"missingfn", "required function add_port is NULL"},
        {"noentry", "not a rootlesskit plugin"},
        {"unknownneeds", "needs unknown capability bit 40"},
    };
    for (const auto &[name, reason] : refusals) {
        Poco::JSON::Object::Ptr entry = entries[fixture("rkp-port-" + name + ".so") + "|" + name];
        ASSERT_TRUE(entry) << name << " missing from " << result.out;
        EXPECT_EQ(entry->getValue<std::string>("kind"), "port") << name;
        EXPECT_EQ(entry->getValue<std::string>("status"), "refused") << name;
        EXPECT_TRUE(contains(entry->optValue<std::string>("refusal", ""), reason))
            << name << ": " << entry->optValue<std::string>("refusal", "");
    }
    // A file refused before its descriptor could be read has no ABI to show.
    EXPECT_EQ(entries[fixture("rkp-port-noentry.so") + "|noentry"]->getValue<std::string>("abi"),
              "");
    EXPECT_EQ(
        entries[fixture("rkp-port-wrongmajor.so") + "|wrongmajor"]->getValue<std::string>("abi"),
        "2.0");
    for (const char *name : {"host", "none"}) {
        Poco::JSON::Object::Ptr entry = entries[std::string("(built in)|") + name];
        ASSERT_TRUE(entry) << name;
        EXPECT_EQ(entry->getValue<std::string>("kind"), "network");
        EXPECT_EQ(entry->getValue<std::string>("status"), "ok");
    }
}

TEST_F(PluginsListE2eTest, SelectingARefusedPluginIsOneErrorLineNotACrash) {
    TempDir tmp;
    RunResult result = runAsTestUser(
        rk({"--net=none", "--port-driver=wrongmajor", "touch", tmp.path() + "/ran"}), options_);
    EXPECT_EQ(result.exitCode, 1);
    EXPECT_EQ(result.err, "[rootlesskit:parent] error: port plugin wrongmajor (" +
                              fixture("rkp-port-wrongmajor.so") +
                              ") was refused: ABI major 2 is not supported (host speaks 1.0)\n");
    EXPECT_FALSE(fs::exists(tmp.path() + "/ran"));
}

// Plugin files whose constructor aborts, whose entry crashes or that exit while loading stop
// neither "plugins list" nor a run that does not use them; selecting one is one error line.
TEST_F(PluginsListE2eTest, FilesThatCrashWhileLoadingAreRefusedAndRunsGoOn) {
    const std::string dir = kFixtureDir + "/crashing";
    options_.env["ROOTLESSKIT_PLUGIN_PATH"] = dir;

    RunResult list = runAsTestUser(rk({"plugins", "list", "--json"}), options_);
    ASSERT_EQ(list.exitCode, 0) << list.err;
    std::map<std::string, Poco::JSON::Object::Ptr> entries = entriesByPath(list.out);
    Poco::JSON::Object::Ptr aborting = entries[dir + "/rkp-port-ctorabort.so|ctorabort"];
    ASSERT_TRUE(aborting) << list.out;
    EXPECT_EQ(aborting->optValue<std::string>("refusal", ""),
              "crashed while loading (signal: aborted)");
    ASSERT_TRUE(entries[dir + "/rkp-port-good.so|good"]) << list.out;
    EXPECT_EQ(entries[dir + "/rkp-port-good.so|good"]->getValue<std::string>("status"), "ok");

    RunResult run = runAsTestUser(rk({"--net=host", "sh", "-c", "exit 7"}), options_);
    EXPECT_EQ(run.exitCode, 7) << run.err;

    RunResult selected =
        runAsTestUser(rk({"--net=none", "--port-driver=entrycrash", "true"}), options_);
    EXPECT_EQ(selected.exitCode, 1);
    EXPECT_EQ(selected.err, "[rootlesskit:parent] error: port plugin entrycrash (" + dir +
                                "/rkp-port-entrycrash.so) was refused: crashed while loading "
                                "(signal: segmentation fault)\n");
}

// The search order: the profile's plugin-path, then ROOTLESSKIT_PLUGIN_PATH, then the build
// tree's plugin directory, then the installed one. A copy of the builtin port driver in each of
// the first two: the profile's copy is used, every later one is a refused duplicate; an unknown
// driver's error names the directories in that order.
TEST_F(PluginsListE2eTest, SearchOrderIsProfileThenEnvironmentThenBuildTreeThenInstalled) {
    std::string built = std::string(RK_TEST_PLUGIN_DIR) + "/rkp-port-builtin.so";
    if (!fs::exists(built)) {
        GTEST_SKIP() << "the builtin port driver is not built";
    }
    TempDir tmp;
    std::string profileDir = tmp.path() + "/from-profile";
    std::string envDir = tmp.path() + "/from-env";
    for (const std::string &dir : {profileDir, envDir}) {
        fs::create_directory(dir);
        fs::copy_file(built, dir + "/rkp-port-builtin.so");
        chmod(dir.c_str(), 0755);
        chmod((dir + "/rkp-port-builtin.so").c_str(), 0755);
    }
    std::string profile = tmp.path() + "/p.yaml";
    std::ofstream(profile) << "plugin-path: [" << profileDir << "]\n";
    options_.env["ROOTLESSKIT_PLUGIN_PATH"] = envDir;

    RunResult result =
        runAsTestUser(rk({"--profile=" + profile, "plugins", "list", "--json"}), options_);
    ASSERT_EQ(result.exitCode, 0) << result.err;
    std::map<std::string, Poco::JSON::Object::Ptr> entries = entriesByPath(result.out);
    Poco::JSON::Object::Ptr first = entries[profileDir + "/rkp-port-builtin.so|builtin"];
    ASSERT_TRUE(first) << result.out;
    EXPECT_EQ(first->getValue<std::string>("status"), "ok");
    for (const std::string &later : {envDir + "/rkp-port-builtin.so", built}) {
        Poco::JSON::Object::Ptr entry = entries[later + "|builtin"];
        ASSERT_TRUE(entry) << later << " missing from " << result.out;
        EXPECT_EQ(entry->optValue<std::string>("refusal", ""),
                  "duplicate of " + profileDir +
                      "/rkp-port-builtin.so, which comes first in the search path");
    }

    RunResult unknown = runAsTestUser(
        rk({"--profile=" + profile, "--net=none", "--port-driver=nosuch", "true"}), options_);
    EXPECT_EQ(unknown.exitCode, 1);
    std::string dirs = profileDir + ", " + envDir + ", " + RK_TEST_PLUGIN_DIR + ", ";
    EXPECT_TRUE(contains(unknown.err,
                         "unknown port driver: nosuch (no plugin rkp-port-nosuch.so "
                         "in " +
                             dirs))
        << unknown.err;
    EXPECT_TRUE(std::regex_search(unknown.err, std::regex("/lib[^,]*/rootlesskit/plugins\\)\n$")))
        << unknown.err;
}

// ---- Bad profiles ----

struct BadProfile {
    const char *name;
    const char *text;                   // nullptr: the file exists but cannot be read
    const char *where;                  // what follows the path in the error line
    std::vector<std::string> expected;  // more parts of the error line
};

const std::vector<BadProfile> kBadProfiles = {
    {"UnknownKey",
     "net: none\nmut: 1500\n",
     ":2:1: unknown key \"mut\"",
     {"did you mean \"mtu\"?", "valid keys: cgroupns, cidr, "}},
    {"WrongType", "net: none\npidns: yes\n", ":2:8: key \"pidns\": ", {"expected true or false"}},
    {"WrongListType",
     "net: none\ncopy-up: /etc\n",
     ":2:10: key \"copy-up\": ",
     {"expected a list of strings"}},
    {"BadValue",
     "net: none\nreaper: maybe\n",
     ":2:9: key \"reaper\": ",
     {"maybe", "valid: auto, true, false"}},
    {"BadDriverValue",
     "drivers:\n  network:\n    slirp4netns:\n      sandbox: maybe\n",
     ":4:16: key \"drivers.network.slirp4netns.sandbox\": ",
     {"valid: auto, true, false"}},
    {"SyntaxError",
     "net: none\nmtu: [1500\n",
     ":3:1: invalid YAML in key \"mtu\": ",
     {"end of sequence flow not found"}},
    {"Unreadable", nullptr, ": read profile: permission denied", {}},
};

class BadProfileE2eTest : public ::testing::TestWithParam<BadProfile> {};

TEST_P(BadProfileE2eTest, IsOneLineNamingFileLineColumnAndKeyAndLeavesNothing) {
    REQUIRE_TEST_USER();
    const BadProfile &bad = GetParam();
    TempDir tmp;
    std::string profile = tmp.path() + "/bad.yaml";
    std::ofstream(profile) << (bad.text ? bad.text : "net: none\n");
    chmod(profile.c_str(), bad.text ? 0644 : 0);
    std::string tmpdir = tmp.path() + "/tmpdir";  // where a temporary state dir would go
    fs::create_directory(tmpdir);
    chmod(tmpdir.c_str(), 0777);

    for (bool explicitStateDir : {true, false}) {
        std::vector<std::string> args = {"--profile=" + profile};
        if (explicitStateDir) {
            args.push_back("--state-dir=" + tmp.path() + "/state");
        }
        args.insert(args.end(), {"touch", tmp.path() + "/ran"});
        RunOptions options;
        options.env["TMPDIR"] = tmpdir;
        RunResult result = runAsTestUser(rk(args), options);

        EXPECT_EQ(result.exitCode, 1) << result.err;
        std::vector<std::string> errLines = lines(result.err);
        ASSERT_EQ(errLines.size(), 1u) << result.err;
        std::string prefix = "[rootlesskit:parent] error: " + profile + bad.where;
        EXPECT_EQ(errLines[0].rfind(prefix, 0), 0u) << errLines[0];
        for (const std::string &part : bad.expected) {
            EXPECT_TRUE(contains(errLines[0], part)) << "no " << part << " in " << errLines[0];
        }
        EXPECT_FALSE(fs::exists(tmp.path() + "/state"));
        EXPECT_TRUE(fs::is_empty(tmpdir));
        EXPECT_FALSE(fs::exists(tmp.path() + "/ran"));
    }
}

INSTANTIATE_TEST_SUITE_P(Kinds, BadProfileE2eTest, ::testing::ValuesIn(kBadProfiles),
                         [](const auto &info) { return std::string(info.param.name); });

// ---- Readiness ----

// The command starts only once the run is ready: the ports are published, child_pid holds its
// parent (the child) and api.sock answers. The command checks each itself as its first act.
TEST(ReadinessE2eTest, CommandStartsOnlyOnceChildPidApiAndPortsAreThere) {
    REQUIRE_TEST_USER();
    if (!fs::exists(std::string(RK_TEST_PLUGIN_DIR) + "/rkp-port-builtin.so")) {
        GTEST_SKIP() << "the builtin port driver is not built";
    }
    int port = freePort();
    std::string spec = "127.0.0.1:" + std::to_string(port) + ":80/tcp";
    std::string script =
        "sd=$ROOTLESSKIT_STATE_DIR; "
        "test \"$(cat \"$sd/child_pid\")\" = \"$PPID\" || { echo child_pid; exit 3; }; "
        "test -S \"$sd/api.sock\" || { echo api.sock; exit 4; }; " +
        binPath("rootlessctl") + " --socket \"$sd/api.sock\" list-ports";
    for (int round = 0; round < 5; ++round) {
        RunResult result = runAsTestUser(
            rk({"--net=none", "--port-driver=builtin", "-p", spec, "sh", "-c", script}), [] {
                RunOptions options;
                options.timeout = milliseconds(20000);
                return options;
            }());
        ASSERT_EQ(result.exitCode, 0) << result.out << result.err;
        std::regex row("\\n1 +tcp +127\\.0\\.0\\.1 +" + std::to_string(port) + " +80 *\\n");
        EXPECT_TRUE(std::regex_search(result.out, row)) << result.out;
    }
}

// ---- Sub-ID sources ----

// The rows of an ID map, "<inside> <outside> <count>" each.
std::vector<std::vector<uint64_t>> parseMap(const std::string &text) {
    std::vector<std::vector<uint64_t>> rows;
    for (const std::string &line : lines(text)) {
        std::istringstream in(line);
        std::vector<uint64_t> row(3);
        if (in >> row[0] >> row[1] >> row[2]) {
            rows.push_back(row);
        }
    }
    return rows;
}

// The uid map the user should get: 0 -> own uid, then the /etc/subuid ranges packed from 1.
std::vector<std::vector<uint64_t>> expectedUidMap(const TestUser &user) {
    std::ifstream file("/etc/subuid");
    std::vector<std::vector<uint64_t>> rows = {{0, user.uid, 1}};
    uint64_t next = 1;
    std::string line;
    while (std::getline(file, line)) {
        std::smatch m;
        if (std::regex_match(line, m, std::regex("([^:]+):([0-9]+):([0-9]+)")) &&
            (m[1] == user.name || m[1] == std::to_string(user.uid))) {
            rows.push_back({next, std::stoull(m[2]), std::stoull(m[3])});
            next += std::stoull(m[3]);
        }
    }
    return rows;
}

// Each --subid-source, with a getsubids ($GETSUBIDS) that notes each call: static reads the
// files without asking it, dynamic asks it and fails with it, auto asks it and falls back to the
// files when it fails.
TEST(SubidSourceE2eTest, EachSourceTakesTheRangesFromWhereItSays) {
    REQUIRE_TEST_USER();
    if (!fs::exists("/usr/bin/getsubids")) {
        GTEST_SKIP() << "getsubids is not installed (package uidmap)";
    }
    TempDir tmp;
    std::string asked = tmp.path() + "/asked";
    std::string working = tmp.path() + "/getsubids";
    std::ofstream(working) << "#!/bin/sh\necho \"$@\" >> " << asked
                           << "\nexec /usr/bin/getsubids \"$@\"\n";
    std::string failing = tmp.path() + "/getsubids-failing";
    std::ofstream(failing) << "#!/bin/sh\necho \"$@\" >> " << asked << "\nexit 1\n";
    chmod(working.c_str(), 0755);
    chmod(failing.c_str(), 0755);

    struct Case {
        std::string source;
        std::string getsubids;
        bool asks;
        int exitCode;
    };
    for (const Case &c : {Case{"static", working, false, 0}, Case{"dynamic", working, true, 0},
                          Case{"auto", working, true, 0}, Case{"auto", failing, true, 0},
                          Case{"dynamic", failing, true, 1}}) {
        SCOPED_TRACE(c.source + " with " + c.getsubids);
        fs::remove(asked);
        RunOptions options;
        options.env["GETSUBIDS"] = c.getsubids;
        RunResult result =
            runAsTestUser(rk({"--subid-source=" + c.source, "cat", "/proc/self/uid_map"}), options);
        EXPECT_EQ(result.exitCode, c.exitCode) << result.err;
        EXPECT_EQ(fs::exists(asked), c.asks);
        if (c.exitCode == 0) {
            EXPECT_EQ(parseMap(result.out), expectedUidMap(*user)) << result.out;
        } else {
            EXPECT_EQ(lines(result.err).size(), 1u) << result.err;
            EXPECT_TRUE(contains(result.err, "failed to setup UID/GID map: ")) << result.err;
        }
    }
}

// ---- Real root ----

// Root without /etc/subuid ranges gets the identity map of every ID, as with a plain unshare,
// after a warning; the command's status comes back as for anybody else.
TEST(RealRootE2eTest, RootWithoutRangesGetsTheIdentityMap) {
    if (geteuid() != 0) {
        GTEST_SKIP() << "the tests do not run as root";
    }
    std::ifstream subuid("/etc/subuid");
    std::string text((std::istreambuf_iterator<char>(subuid)), std::istreambuf_iterator<char>());
    if (std::regex_search(text, std::regex("(^|\n)(root|0):"))) {
        GTEST_SKIP() << "root has /etc/subuid ranges here";
    }
    RunOptions options;
    options.user = "root";
    RunResult maps = runAsTestUser(
        rk({"sh", "-c", "id -u; cat /proc/self/uid_map /proc/self/gid_map; exit 42"}), options);
    EXPECT_EQ(maps.exitCode, 42) << maps.err;
    std::vector<std::string> out = lines(maps.out);
    ASSERT_EQ(out.size(), 3u) << maps.out;
    EXPECT_EQ(out[0], "0");
    std::regex identity(" *0 +0 +4294967295");
    EXPECT_TRUE(std::regex_match(out[1], identity)) << out[1];
    EXPECT_TRUE(std::regex_match(out[2], identity)) << out[2];
    EXPECT_TRUE(contains(maps.err, "Running RootlessKit as the root user is unsupported."))
        << maps.err;

    // Namespaces and the network work as for an unprivileged user.
    RunResult none = runAsTestUser(rk({"--net=none", "--pidns", "sh", "-c", "echo $$"}), options);
    EXPECT_EQ(none.exitCode, 0) << none.err;
    EXPECT_EQ(none.out, "2\n");
}

}  // namespace
}  // namespace rktest
