// Placeholder definitions so the tree links while modules are being written; each module's own
// file replaces its part of this file.
#include "core/api_server.h"
#include "core/cli.h"
#include "core/driver.h"
#include "core/plugin_loader.h"
#include "core/plugins_command.h"
#include "core/port_manager.h"
#include "core/profile.h"
#include "core/runtime.h"

namespace rootlesskit {
Result<CliResult> parseCommandLine(const std::vector<std::string> &) {
    return Status::error("command line parsing is not available in this build");
}
PluginRegistry PluginRegistry::discover(const std::vector<std::string> &) { return {}; }
int runPluginsList(const PluginRegistry &, bool) { return 1; }
int runParent(const Options &, const PluginRegistry &) { return 1; }
}  // namespace rootlesskit
