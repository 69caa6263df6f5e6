// "rootlesskit plugins list [--json]": shows every plugin the loader found, usable or refused.
#pragma once

#include "core/plugin_loader.h"

namespace rootlesskit {

// Prints the registry to stdout: a table (NAME KIND VERSION ABI CAPABILITIES STATUS PATH) or, with
// json, one JSON array. Returns the exit status: 0.
int runPluginsList(const PluginRegistry &registry, bool json);

}  // namespace rootlesskit
