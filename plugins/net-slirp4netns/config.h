// The configuration of the slirp4netns network plugin: the "config" JSON object the host hands
// to create() (the CLI fills it from --slirp4netns-binary, --slirp4netns-sandbox and
// --slirp4netns-seccomp; a profile may set the same keys).
#pragma once

#include <string>

namespace rootlesskit::slirp4netns {

// --slirp4netns-sandbox / --slirp4netns-seccomp: off, on when available, or required.
enum class Mode { kFalse, kAuto, kTrue };

struct Config {
    std::string binary = "slirp4netns";  // "binary": a name looked up in PATH, or a path
    Mode sandbox = Mode::kFalse;         // "sandbox": "auto" | "true" | "false" | "" (or a bool)
    Mode seccomp = Mode::kFalse;         // "seccomp": same values
    int readyTimeoutSeconds = 10;        // "ready_timeout_seconds": 1..3600
};

// Parses and validates json (NULL or "" means "{}"). Throws rkp::Error(-EINVAL) naming the key:
// `slirp4netns config: unknown key "x" (known: ...)`, `slirp4netns config: "binary" must be a
// non-empty string`, `slirp4netns config: "sandbox" must be "auto", "true" or "false", got "x"`.
Config parseConfig(const char *json);

}  // namespace rootlesskit::slirp4netns
