// Plugin discovery and loading: finds rkp-<kind>-<name>.so files, checks each descriptor against
// the host's ABI, and keeps one registry of every plugin found, usable or refused.
//
// Theory of operation: PluginRegistry::discover() runs once in the parent, before the child is
// created, on the main thread. It scans the search path in order (the profile's plugin_path,
// then $ROOTLESSKIT_PLUGIN_PATH, then the build tree's plugin directory when the binary runs from
// the build tree, then the installed plugin directory), dlopens each candidate with
// RTLD_NOW | RTLD_LOCAL, calls rkp_plugin_entry() and validates the descriptor. Each file is
// first loaded in a throw-away process (plugin_probe.h): one that crashes, exits or hangs there
// is refused ("crashed while loading (signal: aborted)") and never loaded by the host. The first
// file found for a (kind, name) wins; a later duplicate is recorded as refused. Shared objects
// are never dlclosed: their code stays mapped for the life of the process, and the child, created
// by clone() without exec, inherits the mappings. The built-in network drivers "host" and
// "none" are registered first, as static descriptors without a file, so a file of the same name
// is a refused duplicate.
//
// The registry is filled on one thread and read-only afterwards; const methods may then be
// called from any thread. Pointers it hands out (find(), withSupport(), all()) stay valid until
// the registry is changed (add*) or destroyed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "rootlesskit/rkp.h"

namespace rootlesskit {

struct PluginInfo {
    std::string path;  // the .so file, or "(built in)"
    std::string kind;  // "network" or "port" (from the file name when refused early)
    std::string name;
    std::string version;
    std::string description;
    uint16_t abiMajor = 0;
    uint16_t abiMinor = 0;
    uint64_t supports = 0;
    uint64_t needs = 0;
    // Non-NULL when usable; points into the loaded object, valid for the process lifetime.
    const rkp_plugin *descriptor = nullptr;
    // Why the plugin was refused, one line without the file name ("ABI major 2 is not supported
    // (host speaks 1.0)"); "" if usable.
    std::string refusal;
};

class PluginRegistry {
public:
    // Scans the search path described above; extraDirs (the profile's plugin_path) come first.
    // Never fails: unreadable directories are skipped, bad files are recorded as refused.
    static PluginRegistry discover(const std::vector<std::string> &extraDirs);

    // Registers one descriptor directly, as discover() does for a good file (tests use this to
    // load fixtures without dlopen). Validation and refusal rules are the same; the file-name
    // checks apply only when path's last component looks like rkp-<net|port>-<name>.so.
    // descriptor is borrowed and MUST outlive the registry and every driver created from it.
    void addDescriptor(const rkp_plugin *descriptor, const std::string &path);

    // Registers the built-in network drivers "host" and "none" (discover() does this first).
    void addBuiltins();

    // Loads one file as discover() does for each candidate and records it, usable or refused.
    void addFile(const std::string &path);

    // The directories discover() scanned, in order ("unknown ..." errors name them).
    const std::vector<std::string> &searchDirs() const { return searchDirs_; }

    // Every plugin found, in search order, usable and refused.
    const std::vector<PluginInfo> &all() const { return plugins_; }

    // The usable plugin of kind ("network" or "port") named name. Fails with
    // "unknown network mode: X" / "unknown port driver: X" when nothing of that name was found,
    // or with "<kind> plugin X (<path>) was refused: <reason>" when it was refused.
    Result<const PluginInfo *> find(const std::string &kind, const std::string &name) const;

    // Usable plugins of one kind whose descriptor has every bit of supports set.
    std::vector<const PluginInfo *> withSupport(const std::string &kind, uint64_t supports) const;

private:
    // addFile() for a file the probe (plugin_probe.h) refused when probeRefusal is not empty:
    // recorded as refused for that reason without being opened.
    void addFile(const std::string &path, const std::string &probeRefusal);
    void add(PluginInfo info);
    const PluginInfo *first(const std::string &kind, const std::string &name) const;

    std::vector<PluginInfo> plugins_;
    std::vector<std::string> searchDirs_;
};

// The lowercase words "plugins list" uses for capability bits ("tcp",
// "detach-netns", "port-implicit", ...); an unknown bit is shown as "bit-<n>".
std::vector<std::string> supportNames(uint64_t supports);
std::vector<std::string> needNames(uint64_t needs);

// Checks that the selected network plugin and port plugin (nullptr for --port-driver=none) may
// run together, from their declared bits alone, with upstream's error texts where upstream has
// one ("network \"pasta\" requires port driver \"none\" or \"implicit\"", "port driver requires
// non-host network", ...). Also checks --cidr, --ifname, --mtu, --detach-netns, --ipv6 and the -p
// protocols against them. The registry supplies the names of plugins that would pair. Returns
// the first failure (EINVAL); warnings (--ipv6 or --mtu discarded) are logged under "core", and
// only when the pairing is accepted.
// Parent, main thread.
struct Options;
Status checkPairing(const PluginRegistry &registry, const PluginInfo &net, const PluginInfo *port,
                    const Options &options);

// As above, but appends the warnings to warnings instead of logging them.
Status checkPairing(const PluginRegistry &registry, const PluginInfo &net, const PluginInfo *port,
                    const Options &options, std::vector<std::string> &warnings);

}  // namespace rootlesskit
