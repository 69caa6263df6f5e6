// The installed SDK, as a third party uses it: `cmake --install` of this build into a temporary
// prefix, then, with nothing but that prefix, the example plugin (sdk/examples/port-copy) built
// with CMake (find_package(RootlessKitPlugin)) and with plain cc and pkg-config, found by the
// installed rootlesskit through ROOTLESSKIT_PLUGIN_PATH, checked by the installed conformance
// suite, and used for a real command as the unprivileged user: busybox httpd in a slirp4netns
// namespace, published by the example driver, fetched with curl on 127.0.0.1. The installed
// helper and pkg-config flags make correct modules (only the entry point exported, no undefined
// symbol), and the installed plugins of this tree, built with the same helper, are such modules.
//
// The steps build on each other, so they run as one test program (one CTest test); each step is
// made once, on first use, and later tests reuse it.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "rootlesskit/rkp.h"
#include "tests/support/process.h"

namespace rktest {
namespace {

namespace fs = std::filesystem;

const std::string kBuildDir = RK_TEST_BUILD_DIR;
const std::string kCMake = RK_TEST_CMAKE;
const std::string kCTest = RK_TEST_CTEST;

// Runs argv as this process's own user (cmake --install writes its manifest into the build
// tree, which the test user cannot write), with output collected.
RunResult runHere(const std::vector<std::string> &argv) {
    int pipeFds[2];
    RunResult result;
    if (pipe2(pipeFds, O_CLOEXEC) < 0) {
        return result;
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pipeFds[1], 1);
        dup2(pipeFds[1], 2);
        std::vector<char *> args;
        for (const std::string &arg : argv) {
            args.push_back(const_cast<char *>(arg.c_str()));
        }
        args.push_back(nullptr);
        execvp(args[0], args.data());
        _exit(127);
    }
    close(pipeFds[1]);
    char buffer[4096];
    for (ssize_t n; (n = read(pipeFds[0], buffer, sizeof(buffer))) > 0;) {
        result.out.append(buffer, static_cast<size_t>(n));
    }
    close(pipeFds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return result;
}

RunResult asUser(const std::vector<std::string> &argv,
                 const std::map<std::string, std::string> &env = {}, int timeoutMs = 120000) {
    RunOptions options;
    options.env = env;
    options.timeout = std::chrono::milliseconds(timeoutMs);
    return runAsTestUser(argv, options);
}

std::string canonical(const std::string &path) {
    std::error_code ec;
    fs::path resolved = fs::weakly_canonical(path, ec);
    return ec ? path : resolved.string();
}

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
        text.pop_back();
    }
    return text;
}

std::string readFile(const std::string &path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

uint16_t freeTcpPort() {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(addr);
    bool bound = bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) == 0 &&
                 getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &length) == 0;
    close(fd);
    return bound ? ntohs(addr.sin_port) : 0;
}

// The symbols a module exports (defined in its dynamic symbol table), as the test user sees
// them; {"nm failed: ..."} when nm fails.
std::vector<std::string> exportedSymbols(const std::string &module) {
    RunResult symbols = runAsTestUser({"nm", "-D", "--defined-only", module}, RunOptions());
    if (symbols.exitCode != 0) {
        return {"nm failed: " + symbols.err};
    }
    std::istringstream lines(symbols.out);
    std::vector<std::string> exported;
    for (std::string address, type, name; lines >> address >> type >> name;) {
        exported.push_back(name);
    }
    return exported;
}

// The installation and the two builds of the example, made once per test program.
class Sdk {
public:
    static Sdk &get() {
        static Sdk sdk;
        return sdk;
    }

    std::string prefix() const { return root_.path() + "/prefix"; }
    std::string libdir() const { return prefix() + "/" + RK_TEST_LIBDIR; }
    std::string pluginDir() const { return prefix() + "/" + RK_TEST_PLUGIN_INSTALL_RELDIR; }
    std::string exampleDir() const {
        return prefix() + "/" + RK_TEST_DATADIR + "/rootlesskit/examples/port-copy";
    }
    std::string cmakeBuild() const { return root_.path() + "/cmake-build"; }
    std::string scratch(const std::string &name) const { return root_.path() + "/" + name; }
    std::string ccBuild() const { return root_.path() + "/cc-build"; }
    std::map<std::string, std::string> pkgConfigEnv() const {
        return {{"PKG_CONFIG_PATH", libdir() + "/pkgconfig"},
                {"PKG_CONFIG_LIBDIR", "/nonexistent"}};
    }

    // "" once `cmake --install` of the build tree into prefix() worked; its output otherwise.
    const std::string &installed() {
        if (!installTried_) {
            installTried_ = true;
            RunResult run = runHere({kCMake, "--install", kBuildDir, "--prefix", prefix()});
            installError_ = run.exitCode == 0 ? "" : "cmake --install failed:\n" + run.out;
            asUser({"mkdir", "-p", ccBuild()});
        }
        return installError_;
    }

    // "" once the example built with CMake against prefix(); the output otherwise.
    const std::string &builtWithCMake() {
        if (!cmakeTried_) {
            cmakeTried_ = true;
            cmakeError_ = installed();
            RunResult configure = asUser({kCMake, "-S", exampleDir(), "-B", cmakeBuild(),
                                          "-DCMAKE_PREFIX_PATH=" + prefix()});
            RunResult build =
                configure.exitCode == 0 ? asUser({kCMake, "--build", cmakeBuild()}) : configure;
            if (cmakeError_.empty() && build.exitCode != 0) {
                cmakeError_ = "the example did not build with CMake:\n" + configure.out +
                              configure.err + build.out + build.err;
            }
        }
        return cmakeError_;
    }

    // "" once the example built with cc and pkg-config; the output otherwise.
    const std::string &builtWithCc() {
        if (!ccTried_) {
            ccTried_ = true;
            ccError_ = installed();
            std::string script =
                "cc -std=c99 -O2 -Wall -Wextra -Werror $(pkg-config --cflags rootlesskit-plugin) "
                "-o " +
                ccBuild() + "/rkp-port-copy.so " + exampleDir() +
                "/port_copy.c -pthread "
                "$(pkg-config --variable=plugin_ldflags rootlesskit-plugin)";
            RunResult build = asUser({"sh", "-c", script}, pkgConfigEnv());
            if (ccError_.empty() && build.exitCode != 0) {
                ccError_ = "the example did not build with cc:\n" + build.out + build.err;
            }
        }
        return ccError_;
    }

private:
    TempDir root_;
    bool installTried_ = false;
    bool cmakeTried_ = false;
    bool ccTried_ = false;
    std::string installError_;
    std::string cmakeError_;
    std::string ccError_;
};

class SdkInstallTest : public testing::Test {
protected:
    void SetUp() override {
        std::string reason;
        if (!testUser(&reason)) {
            GTEST_SKIP() << reason;
        }
        ASSERT_EQ(sdk().installed(), "");
    }
    Sdk &sdk() { return Sdk::get(); }

    // `rootlesskit plugins list --json` of the installed program, by path.
    std::map<std::string, Poco::JSON::Object::Ptr> pluginsList(const std::string &pluginPath) {
        RunResult run = asUser({sdk().prefix() + "/bin/rootlesskit", "plugins", "list", "--json"},
                               {{"ROOTLESSKIT_PLUGIN_PATH", pluginPath}});
        EXPECT_EQ(run.exitCode, 0) << run.err;
        std::map<std::string, Poco::JSON::Object::Ptr> byPath;
        Poco::JSON::Array::Ptr plugins =
            Poco::JSON::Parser().parse(run.out).extract<Poco::JSON::Array::Ptr>();
        for (size_t i = 0; i < plugins->size(); i++) {
            byPath[plugins->getObject(i)->getValue<std::string>("path")] = plugins->getObject(i);
        }
        return byPath;
    }
};

TEST_F(SdkInstallTest, LaysOutTheSdk) {
    const std::string p = sdk().prefix();
    for (const std::string &file :
         {p + "/bin/rootlesskit", p + "/bin/rootlessctl", p + "/bin/rootlesskit-plugin-conformance",
          p + "/include/rootlesskit/rkp.h", p + "/include/rootlesskit/rkp.hpp",
          p + "/include/rootlesskit/conformance.h", sdk().pluginDir() + "/rkp-port-builtin.so",
          sdk().pluginDir() + "/rkp-net-slirp4netns.so",
          sdk().pluginDir() + "/rkp-port-slirp4netns.so",
          sdk().libdir() + "/librootlesskit-conformance.a",
          sdk().libdir() + "/pkgconfig/rootlesskit-plugin.pc",
          sdk().libdir() + "/cmake/RootlessKitPlugin/RootlessKitPluginConfig.cmake",
          sdk().libdir() + "/cmake/RootlessKitPlugin/RootlessKitPluginConfigVersion.cmake",
          sdk().libdir() + "/cmake/RootlessKitPlugin/RootlessKitPluginHelpers.cmake",
          sdk().libdir() + "/cmake/RootlessKitPlugin/rkp-plugin.map",
          sdk().exampleDir() + "/CMakeLists.txt", sdk().exampleDir() + "/port_copy.c"}) {
        EXPECT_TRUE(fs::exists(file)) << file;
    }
}

TEST_F(SdkInstallTest, PkgConfigPointsIntoThePrefix) {
    auto env = sdk().pkgConfigEnv();
    RunResult version = asUser({"pkg-config", "--modversion", "rootlesskit-plugin"}, env);
    EXPECT_EQ(trimmed(version.out),
              std::to_string(RKP_ABI_MAJOR) + "." + std::to_string(RKP_ABI_MINOR));
    RunResult plugindir = asUser({"pkg-config", "--variable=plugindir", "rootlesskit-plugin"}, env);
    EXPECT_EQ(canonical(trimmed(plugindir.out)), canonical(sdk().pluginDir()));
    RunResult cflags = asUser({"pkg-config", "--cflags", "rootlesskit-plugin"}, env);
    EXPECT_NE(cflags.out.find("-fvisibility=hidden"), std::string::npos) << cflags.out;
    std::string include = trimmed(cflags.out.substr(cflags.out.find("-I") + 2));
    include.erase(std::min(include.find(' '), include.size()));
    EXPECT_EQ(canonical(include), canonical(sdk().prefix() + "/include"));
}

TEST_F(SdkInstallTest, ExampleBuildsWithCMakeFromThePrefixAlone) {
    ASSERT_EQ(sdk().builtWithCMake(), "");
    EXPECT_TRUE(fs::exists(sdk().cmakeBuild() + "/rkp-port-copy.so"));
    std::string cache = readFile(sdk().cmakeBuild() + "/CMakeCache.txt");
    EXPECT_NE(
        cache.find("RootlessKitPlugin_DIR:PATH=" + sdk().libdir() + "/cmake/RootlessKitPlugin"),
        std::string::npos)
        << "the example found another SDK than the one installed by this test";
}

TEST_F(SdkInstallTest, ExampleBuildsWithCcAndPkgConfig) {
    ASSERT_EQ(sdk().builtWithCc(), "");
    // Hidden symbols: the entry point is the only symbol the module exports.
    EXPECT_EQ(exportedSymbols(sdk().ccBuild() + "/rkp-port-copy.so"),
              std::vector<std::string>{"rkp_plugin_entry"});
}

// The plugins of this tree are built with the helper the package installs: each exports the
// entry point alone, although they are C++ and use Poco and std:: templates, whose symbols
// hidden visibility alone would leave exported.
TEST_F(SdkInstallTest, InstalledPluginsExportOnlyTheEntryPoint) {
    std::vector<std::string> modules;
    for (const fs::directory_entry &entry : fs::directory_iterator(sdk().pluginDir())) {
        modules.push_back(entry.path().string());
    }
    EXPECT_GE(modules.size(), 3u) << "plugins missing from " << sdk().pluginDir();
    for (const std::string &module : modules) {
        EXPECT_EQ(exportedSymbols(module), std::vector<std::string>{"rkp_plugin_entry"}) << module;
    }
}

// A third party's modules, built with the installed helper (CMake) and with the installed
// pkg-config flags: one that uses a symbol nothing defines fails to link, one in C++ with an
// exported function and std:: templates exports the entry point alone.
TEST_F(SdkInstallTest, HelperAndPkgConfigMakeCorrectModules) {
    const std::string src = sdk().scratch("helper-src");
    fs::create_directories(src);
    std::ofstream(src + "/CMakeLists.txt")
        << "cmake_minimum_required(VERSION 3.16)\n"
           "project(helper_check LANGUAGES C CXX)\n"
           "find_package(RootlessKitPlugin 1.0 REQUIRED)\n"
           "rootlesskit_add_plugin(undefined KIND port SOURCES undefined.c)\n"
           "rootlesskit_add_plugin(cxx KIND network SOURCES cxx.cc)\n";
    std::ofstream(src + "/undefined.c") << "#include \"rootlesskit/rkp.h\"\n"
                                           "void rk_symbol_of_the_host(void);\n"
                                           "RKP_EXPORT const rkp_plugin *rkp_plugin_entry(\n"
                                           "    uint16_t major, uint16_t minor) {\n"
                                           "    (void)major; (void)minor;\n"
                                           "    rk_symbol_of_the_host();\n"
                                           "    return NULL;\n"
                                           "}\n";
    std::ofstream(src + "/cxx.cc")
        << "#include <map>\n#include <string>\n"
           "#include \"rootlesskit/rkp.h\"\n"
           "std::map<std::string, int> table;\n"
           "int not_exported(const std::string &key) {\n"
           "    return table[key]++;\n"
           "}\n"
           "extern \"C\" RKP_EXPORT const rkp_plugin *rkp_plugin_entry(\n"
           "    uint16_t major, uint16_t) {\n"
           "    not_exported(std::to_string(major));\n"
           "    return nullptr;\n"
           "}\n";
    runHere({"chmod", "-R", "a+rX", src});

    const std::string build = sdk().scratch("helper-build");
    RunResult configure =
        asUser({kCMake, "-S", src, "-B", build, "-DCMAKE_PREFIX_PATH=" + sdk().prefix()});
    ASSERT_EQ(configure.exitCode, 0) << configure.out << configure.err;
    RunResult undefined = asUser({kCMake, "--build", build, "--target", "rkp-port-undefined"});
    EXPECT_NE(undefined.exitCode, 0) << "a module with an undefined symbol linked";
    EXPECT_NE(
        (undefined.out + undefined.err).find("undefined reference to `rk_symbol_of_the_host'"),
        std::string::npos)
        << undefined.out << undefined.err;
    RunResult cxx = asUser({kCMake, "--build", build, "--target", "rkp-net-cxx"});
    ASSERT_EQ(cxx.exitCode, 0) << cxx.out << cxx.err;
    EXPECT_EQ(exportedSymbols(build + "/rkp-net-cxx.so"),
              std::vector<std::string>{"rkp_plugin_entry"});

    // The same two with the compilers and pkg-config alone.
    const std::string flags = "$(pkg-config --cflags rootlesskit-plugin) -o " + build;
    const std::string ldflags = " $(pkg-config --variable=plugin_ldflags rootlesskit-plugin)";
    RunResult ccUndefined =
        asUser({"sh", "-c", "cc " + flags + "/cc-undefined.so " + src + "/undefined.c" + ldflags},
               sdk().pkgConfigEnv());
    EXPECT_NE(ccUndefined.exitCode, 0) << "a module with an undefined symbol linked";
    EXPECT_NE(ccUndefined.err.find("undefined reference to `rk_symbol_of_the_host'"),
              std::string::npos)
        << ccUndefined.err;
    RunResult ccCxx =
        asUser({"sh", "-c", "c++ " + flags + "/cc-cxx.so " + src + "/cxx.cc" + ldflags},
               sdk().pkgConfigEnv());
    ASSERT_EQ(ccCxx.exitCode, 0) << ccCxx.err;
    EXPECT_EQ(exportedSymbols(build + "/cc-cxx.so"), std::vector<std::string>{"rkp_plugin_entry"});
}

TEST_F(SdkInstallTest, InstalledRootlesskitFindsItsPluginsAndTheExample) {
    for (const std::string &dir : {sdk().cmakeBuild(), sdk().ccBuild()}) {
        ASSERT_EQ(dir == sdk().cmakeBuild() ? sdk().builtWithCMake() : sdk().builtWithCc(), "");
        auto plugins = pluginsList(dir);
        Poco::JSON::Object::Ptr copy = plugins[dir + "/rkp-port-copy.so"];
        ASSERT_TRUE(copy) << "the example was not listed from " << dir;
        EXPECT_EQ(copy->getValue<std::string>("status"), "ok");
        EXPECT_EQ(copy->getValue<std::string>("name"), "copy");

        // A prefix other than the configured one: the installed program loads the plugins
        // installed beside it, not those of the build tree or of another installation.
        for (const char *file : {"rkp-port-builtin.so", "rkp-net-slirp4netns.so"}) {
            Poco::JSON::Object::Ptr installed = plugins[sdk().pluginDir() + "/" + file];
            ASSERT_TRUE(installed) << file << " was not found in " << sdk().pluginDir();
            EXPECT_EQ(installed->getValue<std::string>("status"), "ok");
        }
        for (const auto &[path, plugin] : plugins) {
            EXPECT_EQ(path.rfind(kBuildDir, 0), std::string::npos) << path;
        }
    }
}

// The shipped profiles are found beside the installed program too: the slirp4netns profile
// gives the command a tap0.
TEST_F(SdkInstallTest, InstalledRootlesskitReadsItsProfiles) {
    RunResult run = asUser(
        {sdk().prefix() + "/bin/rootlesskit", "--profile", "slirp4netns", "cat", "/proc/net/dev"});
    ASSERT_EQ(run.exitCode, 0) << run.err;
    EXPECT_NE(run.out.find("tap0:"), std::string::npos) << run.out;
}

TEST_F(SdkInstallTest, ExamplePassesTheInstalledConformanceSuite) {
    ASSERT_EQ(sdk().builtWithCMake(), "");
    ASSERT_EQ(sdk().builtWithCc(), "");
    // Through the CMake package's test (rootlesskit_add_conformance_test) ...
    RunResult ctest = asUser({kCTest, "--test-dir", sdk().cmakeBuild(), "--output-on-failure"});
    EXPECT_EQ(ctest.exitCode, 0) << ctest.out << ctest.err;
    EXPECT_NE(ctest.out.find("conformance.rkp-port-copy"), std::string::npos) << ctest.out;
    // ... and directly, on the module built with cc.
    RunResult direct = asUser({sdk().prefix() + "/bin/rootlesskit-plugin-conformance",
                               sdk().ccBuild() + "/rkp-port-copy.so"});
    EXPECT_EQ(direct.exitCode, 0) << direct.out << direct.err;
}

// busybox httpd inside, published on 127.0.0.1 by the example driver, fetched with curl.
TEST_F(SdkInstallTest, RealCommandThroughTheExampleDriver) {
    ASSERT_EQ(sdk().builtWithCMake(), "");
    TempDir work;
    std::string www = work.path() + "/www";
    std::string stateDir = work.path() + "/state";
    fs::create_directories(www);
    std::ofstream(www + "/index.html") << "served through the copy driver\n";
    runHere({"chmod", "-R", "a+rX", www});
    uint16_t port = freeTcpPort();

    RunOptions options;
    options.env = {{"ROOTLESSKIT_PLUGIN_PATH", sdk().cmakeBuild()},
                   {"ROOTLESSKIT_LOG_LEVEL", "trace"}};
    BackgroundProcess rootlesskit(
        {sdk().prefix() + "/bin/rootlesskit", "--profile=", "--state-dir=" + stateDir,
         "--net=slirp4netns", "--port-driver=copy", "-p",
         "127.0.0.1:" + std::to_string(port) + ":8080/tcp", "--", "busybox", "httpd", "-f", "-p",
         "8080", "-h", www},
        options);

    std::string url = "http://127.0.0.1:" + std::to_string(port) + "/index.html";
    RunResult fetched;
    bool served = waitFor(
        [&] {
            fetched = asUser({"curl", "-sS", "--noproxy", "*", "-m", "5", url});
            return fetched.exitCode == 0 || !rootlesskit.running();
        },
        std::chrono::milliseconds(30000));
    ASSERT_TRUE(served && fetched.exitCode == 0) << fetched.err << rootlesskit.errSoFar();
    EXPECT_EQ(fetched.out, "served through the copy driver\n");

    // The driver's counters, through the REST API (GET /v1/info, "portDriver").
    RunResult info = asUser(
        {"curl", "-sS", "--unix-socket", stateDir + "/api.sock", "http://rootlesskit/v1/info"});
    ASSERT_EQ(info.exitCode, 0) << info.err;
    Poco::JSON::Object::Ptr portDriver =
        Poco::JSON::Parser().parse(info.out).extract<Poco::JSON::Object::Ptr>()->getObject(
            "portDriver");
    ASSERT_TRUE(portDriver) << info.out;
    EXPECT_EQ(portDriver->getValue<std::string>("driver"), "copy");
    Poco::JSON::Object::Ptr counters = portDriver->getArray("ports")->getObject(0);
    EXPECT_GE(counters->getValue<int>("connections"), 1) << info.out;
    EXPECT_GT(counters->getValue<int>("bytesOut"), 0) << info.out;

    rootlesskit.signal(SIGTERM);
    RunResult ended = rootlesskit.wait(std::chrono::milliseconds(30000));
    EXPECT_FALSE(ended.timedOut);
    EXPECT_NE(ended.err.find("port/copy: 127.0.0.1:" + std::to_string(port) +
                             "/tcp: connection from 127.0.0.1:"),
              std::string::npos)
        << "the per-connection byte counts were not logged:\n"
        << ended.err;
}

}  // namespace
}  // namespace rktest
