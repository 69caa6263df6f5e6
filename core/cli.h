// The command line of rootlesskit: every upstream flag with its name, default and validation,
// plus --profile, merged over a YAML profile (profile.h). Runs in the parent only, at start-up;
// exceptions from CLI11 and yaml-cpp are caught here and become a Status.
#pragma once

#include <string>
#include <vector>

#include "core/options.h"
#include "core/status.h"

namespace rootlesskit {

// What main() should do after parsing.
enum class CliAction {
    Run,  // run options.command
    PrintHelp,  // text is the help
    PrintVersion,  // text is "rootlesskit version X.Y.Z\n"
    PrintSemver,  // text is the component and a newline
    PluginsList,  // "rootlesskit plugins list [--json]"; pluginsJson tells which
};

struct CliResult {
    CliAction action = CliAction::Run;
    std::string text;
    bool pluginsJson = false;
    Options options;
};

// Parses argv (argv[0] excluded), loads --profile (or the shipped default profile when it
// exists; flags override it, list flags replace the profile's list), copies the driver-specific
// flags into Options::driverConfig, and runs every check of upstream's option validation that
// does not need a plugin (mtu, cidr, ifname, evacuate-cgroup2, reaper, copy-up, propagation,
// print-semver, -p syntax...), in upstream's order. The command is everything after "--" or from
// the first argument that is not a flag. For PluginsList the options are merged but not
// validated. May log warnings (logger "core") that depend on the options alone. Errors are one
// line with upstream's text where one exists. Parent only, main thread, at start-up.
Result<CliResult> parseCommandLine(const std::vector<std::string> &args);

}  // namespace rootlesskit
