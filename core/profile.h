// Profiles: YAML files whose keys mirror the long flag names (net, port-driver, publish, copy-up
// ...), plus plugin-path and per-driver config sections. Schema: conf/README.md.
#pragma once

#include <set>
#include <string>

#include "core/options.h"
#include "core/status.h"

namespace rootlesskit {

// Reads path and applies every key it sets onto options; keysSet receives the flag names the
// profile set. Fails with "<path>:<line>:<col>: <what is wrong>, <what is valid>" for an
// unreadable file, a YAML syntax error, an unknown key, a wrong type or a bad value.
Status loadProfile(const std::string &path, Options &options, std::set<std::string> &keysSet);

}  // namespace rootlesskit
