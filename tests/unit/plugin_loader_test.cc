// The plugin loader against real shared objects (tests/fixtures: a good port plugin and one of
// each kind of broken plugin) and against test-defined descriptors; and "plugins list".
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <sstream>
#include <string>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <unistd.h>

#include <filesystem>

#include "core/plugin_loader.h"
#include "core/plugins_command.h"

namespace rootlesskit {
namespace {

const std::string kFixtures = RK_TEST_FIXTURE_DIR;
const std::string kDupDir = kFixtures + "/dup";
const std::string kHostAbi = std::to_string(RKP_ABI_MAJOR) + "." + std::to_string(RKP_ABI_MINOR);

// Sets an environment variable for one test and restores it afterwards.
class ScopedEnv {
public:
    ScopedEnv(const char *name, const std::string &value) : name_(name) {
        if (const char *old = std::getenv(name)) {
            old_ = old;
        }
        setenv(name, value.c_str(), 1);
    }
    ~ScopedEnv() {
        if (old_) {
            setenv(name_, old_->c_str(), 1);
        } else {
            unsetenv(name_);
        }
    }

private:
    const char *name_;
    std::optional<std::string> old_;
};

// An empty temporary directory, removed with its contents.
class TempDir {
public:
    TempDir() {
        char templ[] = "/tmp/rkp-loader-XXXXXX";
        path_ = mkdtemp(templ) != nullptr ? templ : "";
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    const std::string &path() const { return path_; }

private:
    std::string path_;
};

const PluginInfo &loadOne(PluginRegistry &registry, const std::string &file) {
    registry.addFile(kFixtures + "/" + file);
    return registry.all().back();
}

TEST(PluginLoaderTest, GoodPluginLoads) {
    PluginRegistry registry;
    const PluginInfo &info = loadOne(registry, "rkp-port-good.so");
    EXPECT_EQ(info.refusal, "");
    ASSERT_NE(info.descriptor, nullptr);
    EXPECT_EQ(info.kind, "port");
    EXPECT_EQ(info.name, "good");
    EXPECT_EQ(info.version, "0.1-fixture");
    EXPECT_EQ(info.supports, RKP_SUP_TCP | RKP_SUP_UDP);
    EXPECT_EQ(info.needs, RKP_NEED_NETNS);

    auto found = registry.find("port", "good");
    ASSERT_TRUE(found.ok()) << found.status().message();
    EXPECT_EQ((*found)->path, kFixtures + "/rkp-port-good.so");
}

struct RefusalCase {
    const char *file;
    const char *kind;
    const char *name;
    std::string refusal;
};

class PluginRefusalTest : public ::testing::TestWithParam<RefusalCase> {};

TEST_P(PluginRefusalTest, IsRefusedWithItsReason) {
    const RefusalCase &c = GetParam();
    PluginRegistry registry = PluginRegistry::discover({kFixtures});
    const PluginInfo *seen = nullptr;
    for (const PluginInfo &candidate : registry.all()) {
        if (candidate.path == kFixtures + "/" + c.file) {
            seen = &candidate;
        }
    }
    ASSERT_NE(seen, nullptr) << "discover() did not see " << c.file;
    const PluginInfo &info = *seen;
    EXPECT_EQ(info.refusal, c.refusal);
    EXPECT_EQ(info.descriptor, nullptr);
    EXPECT_EQ(info.kind, c.kind);
    EXPECT_EQ(info.name, c.name);

    auto found = registry.find(c.kind, c.name);
    ASSERT_FALSE(found.ok());
    EXPECT_EQ(found.status().message(), std::string(c.kind) + " plugin " + c.name + " (" +
                                            kFixtures + "/" + c.file +
                                            ") was refused: " + c.refusal);
}

INSTANTIATE_TEST_SUITE_P(
    PluginFixtures, PluginRefusalTest,
    ::testing::Values(
        RefusalCase{"rkp-port-wrongmajor.so", "port", "wrongmajor",
                    "ABI major 2 is not supported (host speaks " + kHostAbi + ")"},
        RefusalCase{"rkp-port-newerminor.so", "port", "newerminor",
                    "needs ABI " + std::to_string(RKP_ABI_MAJOR) + ".7, newer than the host's " +
                        kHostAbi + ", update rootlesskit"},
        RefusalCase{"rkp-port-missingfn.so", "port", "missingfn",
                    "required function add_port is NULL"},
        RefusalCase{"rkp-port-unknownneeds.so", "port", "unknownneeds",
                    "needs unknown capability bit 40, update rootlesskit"},
        RefusalCase{"rkp-net-kindmismatch.so", "network", "kindmismatch",
                    "declares kind port but the file name says network"},
        RefusalCase{"rkp-port-namemismatch.so", "port", "namemismatch",
                    "declares name \"other\" but the file name says \"namemismatch\""},
        RefusalCase{"rkp-port-declines.so", "port", "declines", "declined host ABI " + kHostAbi},
        RefusalCase{"rkp-port-noentry.so", "port", "noentry",
                    "not a rootlesskit plugin: undefined symbol rkp_plugin_entry"}),
    [](const ::testing::TestParamInfo<RefusalCase> &info) {
        std::string name = info.param.name;
        return name;
    });

TEST(PluginLoaderTest, FileThatIsNotASharedObjectIsRefused) {
    TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    std::string path = dir.path() + "/rkp-net-text.so";
    FILE *f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("not an ELF file\n", f);
    std::fclose(f);

    PluginRegistry registry = PluginRegistry::discover({dir.path()});
    auto found = registry.find("network", "text");
    ASSERT_FALSE(found.ok());
    EXPECT_NE(found.status().message().find("was refused: cannot load: "), std::string::npos)
        << found.status().message();
}

TEST(PluginLoaderTest, FirstInSearchPathWinsAndLaterDuplicateIsRefused) {
    PluginRegistry registry = PluginRegistry::discover({kFixtures, kDupDir});
    auto found = registry.find("port", "good");
    ASSERT_TRUE(found.ok()) << found.status().message();
    EXPECT_EQ((*found)->path, kFixtures + "/rkp-port-good.so");

    int duplicates = 0;
    for (const PluginInfo &info : registry.all()) {
        if (info.path == kDupDir + "/rkp-port-good.so") {
            duplicates++;
            EXPECT_EQ(info.refusal, "duplicate of " + kFixtures +
                                        "/rkp-port-good.so, which comes first in the search path");
        }
    }
    EXPECT_EQ(duplicates, 1);
}

// A file whose constructor or entry takes the process down is refused by name, in the probe
// process, and the good plugin beside it still loads: this process is still here to check.
TEST(PluginLoaderTest, FilesThatCrashOrExitWhileLoadingAreRefusedAndTheRestLoad) {
    const std::string dir = kFixtures + "/crashing";
    PluginRegistry registry = PluginRegistry::discover({dir});

    std::map<std::string, std::string> refusals;
    for (const PluginInfo &info : registry.all()) {
        refusals[info.path] = info.refusal;
    }
    EXPECT_EQ(refusals[dir + "/rkp-port-ctorabort.so"], "crashed while loading (signal: aborted)");
    EXPECT_EQ(refusals[dir + "/rkp-port-entrycrash.so"],
              "crashed while loading (signal: segmentation fault)");
    EXPECT_EQ(refusals[dir + "/rkp-port-ctorexit.so"], "exited while loading (exit status 3)");
    auto good = registry.find("port", "good");
    ASSERT_TRUE(good.ok()) << good.status().message();
    EXPECT_EQ((*good)->path, dir + "/rkp-port-good.so");
}

TEST(PluginLoaderTest, EnvironmentPathComesAfterProfileDirs) {
    ScopedEnv env("ROOTLESSKIT_PLUGIN_PATH", "/nonexistent/dir::" + kDupDir);

    PluginRegistry fromEnv = PluginRegistry::discover({});
    auto found = fromEnv.find("port", "good");
    ASSERT_TRUE(found.ok()) << found.status().message();
    EXPECT_EQ((*found)->path, kDupDir + "/rkp-port-good.so");

    PluginRegistry both = PluginRegistry::discover({kFixtures});
    found = both.find("port", "good");
    ASSERT_TRUE(found.ok()) << found.status().message();
    EXPECT_EQ((*found)->path, kFixtures + "/rkp-port-good.so");
}

TEST(PluginLoaderTest, UnknownNamesUseUpstreamTextAndNameTheDirectories) {
    TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    ScopedEnv env("ROOTLESSKIT_PLUGIN_PATH", "");
    PluginRegistry registry = PluginRegistry::discover({dir.path()});

    auto net = registry.find("network", "nosuch");
    ASSERT_FALSE(net.ok());
    EXPECT_EQ(net.status().message().rfind("unknown network mode: nosuch (no plugin "
                                           "rkp-net-nosuch.so in " +
                                               dir.path() + ", ",
                                           0),
              0u)
        << net.status().message();

    auto port = registry.find("port", "nosuch");
    ASSERT_FALSE(port.ok());
    EXPECT_EQ(port.status().message().rfind("unknown port driver: nosuch (no plugin "
                                            "rkp-port-nosuch.so in " +
                                                dir.path(),
                                            0),
              0u)
        << port.status().message();
}

TEST(PluginLoaderTest, BuiltInNetworksAreAlwaysThere) {
    PluginRegistry registry = PluginRegistry::discover({});
    auto host = registry.find("network", "host");
    auto none = registry.find("network", "none");
    ASSERT_TRUE(host.ok());
    ASSERT_TRUE(none.ok());
    EXPECT_EQ((*host)->path, "(built in)");
    EXPECT_EQ((*host)->needs, 0u);
    // --detach-netns with --net=host still creates an unconfigured namespace, as upstream.
    EXPECT_EQ((*host)->supports, RKP_SUP_DETACH_NETNS);
    EXPECT_EQ((*none)->needs, RKP_NEED_NETNS);
}

// ---- Descriptor checks with test-defined descriptors ----------------------------------------

int createNothing(const rkp_host *, const char *, rkp_instance **, rkp_error *) {
    return 0;
}
void destroyNothing(rkp_instance *) {}
int netConfigure(rkp_instance *, const rkp_net_params *, const rkp_sink *, rkp_error *) {
    return 0;
}
int netTeardown(rkp_instance *, rkp_error *) {
    return 0;
}
int writeNothing(rkp_instance *, const rkp_sink *, rkp_error *) {
    return 0;
}
int portInitParent(rkp_instance *, const rkp_port_context *, const rkp_sink *, rkp_error *) {
    return 0;
}
int portInitChild(rkp_instance *, const char *, const char *, rkp_error *) {
    return 0;
}
int portAdd(rkp_instance *, uint64_t, const rkp_port_spec *, rkp_error *) {
    return 0;
}
int portRemove(rkp_instance *, uint64_t, rkp_error *) {
    return 0;
}

const rkp_net_ops kNetOps = {sizeof(rkp_net_ops), nullptr,     netConfigure, nullptr, nullptr,
                             netTeardown,         writeNothing};
const rkp_port_ops kPortOps = {sizeof(rkp_port_ops), portInitParent, nullptr,
                               portInitChild,        nullptr,        portAdd,
                               portRemove,           nullptr,        writeNothing};

rkp_plugin netDescriptor(const char *name) {
    rkp_plugin d{};
    d.struct_size = sizeof(d);
    d.abi_major = RKP_ABI_MAJOR;
    d.abi_minor = RKP_ABI_MINOR;
    d.kind = RKP_KIND_NETWORK;
    d.name = name;
    d.version = "1";
    d.create = createNothing;
    d.destroy = destroyNothing;
    d.net = &kNetOps;
    return d;
}

rkp_plugin portDescriptor(const char *name) {
    rkp_plugin d = netDescriptor(name);
    d.kind = RKP_KIND_PORT;
    d.net = nullptr;
    d.port = &kPortOps;
    return d;
}

std::string refusalOf(const rkp_plugin &d, const std::string &path = "(test)") {
    PluginRegistry registry;
    registry.addDescriptor(&d, path);
    return registry.all().back().refusal;
}

TEST(PluginDescriptorTest, ValidDescriptorsAreAccepted) {
    EXPECT_EQ(refusalOf(netDescriptor("x")), "");
    EXPECT_EQ(refusalOf(portDescriptor("x")), "");
    EXPECT_EQ(refusalOf(portDescriptor("x"), "/some/dir/rkp-port-x.so"), "");
}

TEST(PluginDescriptorTest, NullDescriptorIsRefused) {
    PluginRegistry registry;
    registry.addDescriptor(nullptr, "(test)");
    EXPECT_EQ(registry.all().back().refusal, "descriptor is NULL");
}

TEST(PluginDescriptorTest, KindMustMatchTheOpsTable) {
    rkp_plugin d = netDescriptor("x");
    d.kind = RKP_KIND_PORT;
    EXPECT_EQ(refusalOf(d), "declares kind port but sets the net ops table");
    d = portDescriptor("x");
    d.net = &kNetOps;
    EXPECT_EQ(refusalOf(d), "declares kind port but sets both ops tables");
    d.kind = 9;
    EXPECT_EQ(refusalOf(d), "unknown kind 9");
}

TEST(PluginDescriptorTest, StructSizesMustCoverAbi10) {
    rkp_plugin d = netDescriptor("x");
    d.struct_size = 16;
    EXPECT_NE(refusalOf(d).find("descriptor struct_size 16 is smaller than ABI 1.0's"),
              std::string::npos);

    rkp_net_ops shortOps = kNetOps;
    shortOps.struct_size = 8;
    d = netDescriptor("x");
    d.net = &shortOps;
    EXPECT_NE(refusalOf(d).find("net ops struct_size 8 is smaller than ABI 1.0's"),
              std::string::npos);
}

TEST(PluginDescriptorTest, NameMustBeLowercaseWordsAndMatchTheFile) {
    EXPECT_EQ(refusalOf(netDescriptor("Bad_Name")), "name \"Bad_Name\" is not made of [a-z0-9-]");
    EXPECT_EQ(refusalOf(netDescriptor("")), "name \"\" is not made of [a-z0-9-]");
    EXPECT_EQ(refusalOf(netDescriptor("a"), "/d/rkp-net-b.so"),
              "declares name \"a\" but the file name says \"b\"");
}

TEST(PluginDescriptorTest, NeedsMustBeKnownAndFitTheKind) {
    rkp_plugin d = portDescriptor("x");
    d.needs = UINT64_C(1) << 63;
    EXPECT_EQ(refusalOf(d), "needs unknown capability bit 63, update rootlesskit");

    d = netDescriptor("x");
    d.needs = RKP_NEED_CHILD_LOOP;
    EXPECT_EQ(refusalOf(d), "needs child-loop, which only a port plugin may declare");

    d = portDescriptor("x");
    d.needs = RKP_NEED_OWN_IFACE_SETUP;
    EXPECT_EQ(refusalOf(d), "needs own-iface-setup, which only a network plugin may declare");
}

TEST(PluginDescriptorTest, UnknownSupportsBitsAreIgnored) {
    rkp_plugin d = portDescriptor("x");
    d.supports = RKP_SUP_TCP | (UINT64_C(1) << 50);
    EXPECT_EQ(refusalOf(d), "");
}

TEST(PluginDescriptorTest, LoopsRequireTheirFunctions) {
    rkp_plugin d = portDescriptor("x");
    d.needs = RKP_NEED_PARENT_LOOP;
    EXPECT_EQ(refusalOf(d), "required function run_parent is NULL");
    d.needs = RKP_NEED_CHILD_LOOP;
    EXPECT_EQ(refusalOf(d), "required function run_child is NULL");

    d = netDescriptor("x");
    d.create = nullptr;
    EXPECT_EQ(refusalOf(d), "required function create is NULL");
}

TEST(PluginDescriptorTest, FileNamedLikeABuiltInIsADuplicate) {
    rkp_plugin d = netDescriptor("none");
    PluginRegistry registry;
    registry.addBuiltins();
    registry.addDescriptor(&d, "/d/rkp-net-none.so");
    EXPECT_EQ(registry.all().back().refusal, "duplicate of the built-in network driver \"none\"");
    auto found = registry.find("network", "none");
    ASSERT_TRUE(found.ok());
    EXPECT_EQ((*found)->path, "(built in)");
}

// ---- plugins list ---------------------------------------------------------------------------

PluginRegistry listRegistry() {
    PluginRegistry registry;
    registry.addBuiltins();
    registry.addFile(kFixtures + "/rkp-port-good.so");
    registry.addFile(kFixtures + "/rkp-port-wrongmajor.so");
    return registry;
}

TEST(PluginsListTest, TableShowsEveryPluginWithStatus) {
    std::ostringstream out;
    printPlugins(listRegistry(), false, out);
    std::istringstream lines(out.str());
    std::string header, host, none, good, wrong;
    std::getline(lines, header);
    std::getline(lines, host);
    std::getline(lines, none);
    std::getline(lines, good);
    std::getline(lines, wrong);

    EXPECT_EQ(header.rfind("KIND", 0), 0u);
    for (const char *column : {"NAME", "VERSION", "ABI", "SUPPORTS", "NEEDS", "STATUS", "PATH"}) {
        EXPECT_NE(header.find(column), std::string::npos) << column;
    }
    EXPECT_NE(host.find("(built in)"), std::string::npos);
    EXPECT_NE(none.find(" netns "), std::string::npos);
    EXPECT_NE(good.find("tcp,udp"), std::string::npos);
    EXPECT_NE(good.find(" ok "), std::string::npos);
    EXPECT_NE(wrong.find("refused: ABI major 2 is not supported"), std::string::npos) << wrong;
}

TEST(PluginsListTest, JsonHasOneObjectPerPlugin) {
    std::ostringstream out;
    printPlugins(listRegistry(), true, out);

    Poco::JSON::Parser parser;
    auto array = parser.parse(out.str()).extract<Poco::JSON::Array::Ptr>();
    ASSERT_EQ(array->size(), 4u);

    auto good = array->getObject(2);
    EXPECT_EQ(good->getValue<std::string>("kind"), "port");
    EXPECT_EQ(good->getValue<std::string>("name"), "good");
    EXPECT_EQ(good->getValue<std::string>("abi"), kHostAbi);
    EXPECT_EQ(good->getValue<std::string>("status"), "ok");
    EXPECT_FALSE(good->has("refusal"));
    auto supports = good->getArray("supports");
    ASSERT_EQ(supports->size(), 2u);
    EXPECT_EQ(supports->getElement<std::string>(0), "tcp");
    EXPECT_EQ(supports->getElement<std::string>(1), "udp");
    EXPECT_EQ(good->getArray("needs")->getElement<std::string>(0), "netns");

    auto wrong = array->getObject(3);
    EXPECT_EQ(wrong->getValue<std::string>("status"), "refused");
    EXPECT_EQ(wrong->getValue<std::string>("refusal"),
              "ABI major 2 is not supported (host speaks " + kHostAbi + ")");
}

}  // namespace
}  // namespace rootlesskit
