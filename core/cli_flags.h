// The table of rootlesskit's flags, shared by the command line (cli.cc) and by profiles
// (profile.cc): each flag's name, help category, the Options field it sets, and the checks its
// value goes through wherever it comes from. Runs in the parent only, at start-up.
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/options.h"
#include "core/status.h"

namespace rootlesskit {

// The Options member one flag sets; monostate for --help and --version, which set none.
using OptionField = std::variant<std::monostate, bool Options::*, int Options::*,
                                 std::string Options::*, std::vector<std::string> Options::*>;

struct FlagSpec {
    const char *name;      // long name without dashes; also the profile key
    char shortName;        // 'p', 'h', 'v', or '\0'
    const char *category;  // the --help section
    const char *help;      // one sentence; the default is appended by the help printer
    OptionField field;
    bool profileKey;  // false for help, version, print-semver and profile
    // Checks one value (for a list flag, one entry); null when every value of the type is
    // valid. The same functions run for flags and for profile keys, so messages are identical.
    Status (*checkString)(const std::string &value);
    Status (*checkInt)(int value);
};

// Every flag, in --help order (categories sorted by name, as upstream shows them).
const std::vector<FlagSpec> &allFlags();

// The flag whose long name is name, or whose short name is the single character name; nullptr
// when there is none.
const FlagSpec *findFlag(std::string_view name);

// Runs flag's value checks on the value options currently holds (every entry of a list).
Status checkFlagValue(const FlagSpec &flag, const Options &options);

// One driver-specific flag and the key it becomes in that driver's JSON config
// (Options::driverConfig[section][key]).
struct DriverFlagKey {
    const char *section;  // "network/slirp4netns"
    const char *key;      // "sandbox"
    const char *flag;     // "slirp4netns-sandbox"
};

// Every driver-specific flag, grouped by section.
const std::vector<DriverFlagKey> &driverFlagKeys();

// The first existing of /usr/libexec/lxc/lxc-user-nic, /usr/lib/<uname -m>-linux-gnu/lxc/
// lxc-user-nic and /usr/lib/lxc/lxc-user-nic; "" when none exists.
std::string defaultLxcUserNicBinary();

// Value checks, one per flag that has rules beyond its type. Each returns upstream's text where
// upstream has one, followed by what is valid.
Status checkMtu(int mtu);
Status checkCidr(const std::string &cidr);
Status checkIfname(const std::string &ifname);
Status checkReaper(const std::string &mode);
Status checkCopyUpMode(const std::string &mode);
Status checkCopyUpDir(const std::string &dir);
Status checkPropagation(const std::string &mode);
Status checkSlirp4netnsSandbox(const std::string &mode);
Status checkSlirp4netnsSeccomp(const std::string &mode);
Status checkSubidSource(const std::string &source);
Status checkLxcUserNicBridge(const std::string &bridge);
Status checkPublish(const std::string &spec);
Status checkEvacuateCgroup2(const std::string &group);
Status checkPrintSemver(const std::string &component);

}  // namespace rootlesskit
