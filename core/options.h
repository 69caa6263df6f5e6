// Options: every setting of a rootlesskit run, after the command line and the profile are merged.
//
// The CLI layer (cli.h) fills one Options from the profile and the flags and validates it; every
// other module only reads it. Field names follow the upstream flag names; defaults are upstream's.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace rootlesskit {

struct Options {
    // Misc
    bool debug = false;
    std::string printSemver;  // "", "major", "minor" or "patch"

    // State
    std::string stateDir;  // absolute once validated; "" = a temporary directory

    // Network
    std::string net = "host";
    int mtu = 0;  // 0 = the driver's default
    std::string cidr;
    std::string ifname;
    bool disableHostLoopback = false;
    bool ipv6 = false;
    bool detachNetns = false;
    std::string pastaBinary = "pasta";
    std::string slirp4netnsBinary = "slirp4netns";
    std::string slirp4netnsSandbox = "false";  // auto | true | false | ""
    std::string slirp4netnsSeccomp = "false";  // auto | true | false | ""
    std::string vpnkitBinary = "vpnkit";
    std::string lxcUserNicBinary;  // default: the first existing well-known path
    std::string lxcUserNicBridge = "lxcbr0";

    // Port
    std::string portDriver = "none";
    std::vector<std::string> publish;  // raw specs, comma-split and trimmed
    bool sourceIpTransparent = true;

    // Mount
    std::vector<std::string> copyUp;
    std::string copyUpMode = "tmpfs+symlink";
    std::string propagation = "rprivate";

    // Process
    bool pidns = false;
    bool cgroupns = false;
    bool utsns = false;
    bool ipcns = false;
    std::string reaper = "auto";  // auto | true | false
    std::string evacuateCgroup2;

    // SubID
    std::string subidSource = "auto";  // auto | dynamic | static

    // Profile-only settings
    std::string profilePath;  // the profile file read (--profile or the default), "" when none
    std::vector<std::string> pluginPath;  // extra plugin directories, searched first
    // Per-driver config sections, converted to JSON text, keyed by "network/<name>" or
    // "port/<name>". A driver without a section gets "{}".
    std::map<std::string, std::string> driverConfig;

    // The command and its arguments; empty only for --print-semver, --version and --help.
    std::vector<std::string> command;
};

}  // namespace rootlesskit
