// Loading the plugin under test and checking its descriptor, as the host does before it calls
// anything. Internal to the suite.
#pragma once

#include <string>
#include <vector>

#include "rootlesskit/rkp.h"

namespace rkp::conformance {

struct LoadedPlugin {
    std::string path;
    std::string fileKind;  // "network" or "port", from the file name; "" if it does not say
    std::string fileName;  // <name> of rkp-<net|port>-<name>.so
    rkp_plugin_entry_fn entry = nullptr;
    const rkp_plugin *descriptor = nullptr;
    bool isNetwork() const { return descriptor->kind == RKP_KIND_NETWORK; }
};

// dlopens path (RTLD_NOW | RTLD_LOCAL, never closed) and calls its entry with this suite's ABI.
// false with *error set when nothing could be run against it: not loadable, no entry, NULL
// descriptor, another major, a descriptor smaller than 1.0's, an unknown kind, no ops table
// for it, or a name that is NULL or not made of [a-z0-9-] (all of which the host refuses).
bool loadPlugin(const std::string &path, LoadedPlugin *plugin, std::string *error);

// Every way the descriptor breaks the contract of sdk/README.md sections 1, 2 and 7 (file
// name, name, versions, kind and ops table, required functions, needs bits, protos, strings).
std::vector<std::string> descriptorProblems(const LoadedPlugin &plugin);

// Why port cannot run beside net (NULL: a namespace with only lo) as the host's pairing rules
// would refuse it; "" when it can.
std::string pairingProblem(const rkp_plugin &port, const rkp_plugin *net);

}  // namespace rkp::conformance
