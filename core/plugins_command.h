// "rootlesskit plugins list [--json]": shows every plugin the loader found, usable or refused.
#pragma once

#include <ostream>

#include "core/plugin_loader.h"

namespace rootlesskit {

// Prints the registry to stdout: a table (KIND NAME VERSION ABI SUPPORTS NEEDS STATUS PATH,
// capabilities as comma-separated lowercase words, STATUS "ok" or "refused: <reason>"; text from
// the plugin file with control characters escaped by terminalSafe(), a kind, name or version
// longer than 64 bytes cut, so that each plugin is one line) or, with
// json, one JSON array of objects {kind, name, version, description, abi, supports[], needs[],
// path, status: "ok"|"refused", refusal (only when refused)}. Built-in drivers are included.
// Returns the exit status: 0.
int runPluginsList(const PluginRegistry &registry, bool json);

// As runPluginsList, writing to out.
void printPlugins(const PluginRegistry &registry, bool json, std::ostream &out);

}  // namespace rootlesskit
