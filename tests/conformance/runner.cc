// The conformance runner's command line; see conformance.h.
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

#include "rootlesskit/conformance.h"

namespace rkp::conformance {

int runnerMain(int argc, char **argv) {
    testing::InitGoogleTest(&argc, argv);  // takes the --gtest_* flags out of argv

    Options options;
    CLI::App app{
        "Checks a rootlesskit network or port plugin against the plugin contract "
        "(sdk/README.md). GoogleTest flags (--gtest_filter=...) are accepted too.",
        "rootlesskit-plugin-conformance"};
    app.add_option("plugin", options.plugin, "the plugin: rkp-net-<name>.so or rkp-port-<name>.so")
        ->required();
    app.add_option("--net", options.netPlugin,
                   "port plugins: the network plugin (.so) to run beside it; without it the "
                   "child has a network namespace with only lo");
    app.add_option("--config", options.config, "JSON config object for the plugin's create()");
    app.add_option("--net-config", options.netConfig,
                   "JSON config object for the network plugin's create()");
    app.add_option("--log-level", options.logLevel,
                   "print plugin log lines at this level and above: trace, debug, info, warn, "
                   "error, off")
        ->capture_default_str();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError &e) {
        return app.exit(e) == 0 ? 0 : 2;
    }

    std::string error;
    if (!registerTests(options, &error)) {
        std::fprintf(stderr, "rootlesskit-plugin-conformance: %s\n", error.c_str());
        return 2;
    }
    return RUN_ALL_TESTS() == 0 ? 0 : 1;
}

}  // namespace rkp::conformance
