// The configuration of the lxc-user-nic network plugin: the "config" JSON object the host hands
// to create() (the CLI fills "binary" and "bridge" from --lxc-user-nic-binary and
// --lxc-user-nic-bridge; a profile may set every key).
#pragma once

#include <string>

namespace rootlesskit::lxc {

struct Config {
    std::string binary;             // "binary": path of lxc-user-nic ("" = none was found)
    std::string bridge = "lxcbr0";  // "bridge"
    int dhcpTimeoutSeconds = 30;    // "dhcp_timeout_seconds": 1..3600, upstream's 30 s
};

// Parses and validates json (NULL or "" means "{}"). Throws rkp::Error(-EINVAL) naming the key:
// `lxc-user-nic config: unknown key "x" (known: binary, bridge, dhcp_timeout_seconds)`.
Config parseConfig(const char *json);

}  // namespace rootlesskit::lxc
