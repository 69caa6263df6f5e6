// conformance.h: the plugin conformance suite, installed with the SDK. A GoogleTest library that
// checks one network or port plugin (.so) against the contract of sdk/README.md by playing the
// host: it loads the plugin, creates its parent and child instances (the child in a process of
// its own, in new user and network namespaces, as rootlesskit's child is), drives every call in
// the documented order from the documented threads, and sends real TCP and UDP traffic through
// port plugins.
//
// Most users run the installed program instead of linking this library:
//
//   rootlesskit-plugin-conformance [--net <rkp-net-X.so>] [--config <json>]
//       [--net-config <json>] [--log-level <level>] [gtest flags] <rkp-port-Y.so | rkp-net-Z.so>
//
// Tests that need what the machine cannot give (user namespaces) skip with the reason. Run it as
// the unprivileged user rootlesskit will run as: as root some refusals cannot be seen.
#pragma once

#include <string>

namespace rkp::conformance {

struct Options {
    // The plugin under test: a file named rkp-net-<name>.so or rkp-port-<name>.so.
    std::string plugin;
    // Port plugins only: the network plugin to run beside it (it must satisfy the port plugin's
    // needs, as the host's pairing rules ask). Empty: the child gets a network namespace with
    // only lo, and the port plugin an empty network message.
    std::string netPlugin;
    // The JSON config objects passed to create() of the plugin and of the network plugin.
    std::string config = "{}";
    std::string netConfig = "{}";
    // Plugin log lines at this level and above are printed to stderr as they come: "trace",
    // "debug", "info", "warn", "error" or "off". Every line is collected and checked anyway.
    std::string logLevel = "warn";
};

// Loads options.plugin (and options.netPlugin) and registers the tests that apply to its kind
// with GoogleTest, as "PortConformance/<name>.<Test>" or "NetworkConformance/<name>.<Test>",
// plus "PluginConformance/<name>.<Test>" for both kinds. Call after testing::InitGoogleTest()
// and before RUN_ALL_TESTS(), on the main thread, once per plugin. Returns false with *error set
// (and registers nothing) when a file cannot be loaded as a plugin, or when the two plugins
// cannot run together. The loaded plugins stay loaded for the life of the process.
bool registerTests(const Options &options, std::string *error);

// The runner program's main(): InitGoogleTest, the options above from the remaining arguments,
// registerTests, RUN_ALL_TESTS. Returns the exit status (0 when every test passed, 1 when one
// failed, 2 for a usage error or a plugin that cannot be loaded).
int runnerMain(int argc, char **argv);

}  // namespace rkp::conformance
