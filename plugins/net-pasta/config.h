// The configuration of the pasta network plugin: the "config" JSON object the host hands to
// create() (the CLI fills "binary" from --pasta-binary; a profile may set every key).
#pragma once

#include <string>

namespace rootlesskit::pasta {

struct Config {
    std::string binary = "pasta";  // "binary": a name looked up in PATH, or a path
    int readyTimeoutSeconds = 30;  // "ready_timeout_seconds": 1..3600
};

// Parses and validates json (NULL or "" means "{}"). Throws rkp::Error(-EINVAL) naming the key:
// `pasta config: unknown key "x" (known: binary, ready_timeout_seconds)`,
// `pasta config: "binary" must be a non-empty string`.
Config parseConfig(const char *json);

}  // namespace rootlesskit::pasta
