// Profiles: YAML files whose keys mirror the long flag names (net, port-driver, publish, copy-up
// ...), plus plugin-path and per-driver config sections. Schema: conf/README.md.
#pragma once

#include <set>
#include <string>

#include "core/options.h"
#include "core/status.h"

namespace rootlesskit {

// Reads path and applies every key it sets onto options; keysSet receives the flag names the
// profile set (a drivers-section key that mirrors a flag counts as that flag). Relative
// state-dir and plugin-path entries are resolved against the profile's directory; each
// drivers.<kind>.<name> section becomes options.driverConfig["<kind>/<name>"] as JSON text;
// the drivers section may expand, YAML aliases followed, to at most 10000 values nested at most
// 64 deep per section (more fails at the value past the limit, before it is built).
// Values get the same checks as flags. Fails with "<path>:<line>:<col>: <what is wrong>, <what
// is valid>" for a YAML syntax error, an unknown key, a wrong type or a bad value, and with
// "<path>: read profile: <errno text>" for an unreadable file. options MAY be partly updated on
// failure. Parent only, at start-up.
Status loadProfile(const std::string &path, Options &options, std::set<std::string> &keysSet);

}  // namespace rootlesskit
