// Loads plugin files once in a throw-away process before the host loads them itself, so that a
// file whose constructor or rkp_plugin_entry() crashes, exits or hangs takes down only that
// process and is refused by name, instead of ending every run of rootlesskit (a broken file in
// the plugin directory would otherwise stop even `rootlesskit --net=host true`).
//
// The probe process is forked; it dlopens each file in order with the host's flags, calls its
// entry, and tells the host, through a pipe, which file it is about to load. When it dies, exits
// or stays silent for longer than the time allowed per file, the file in progress is the culprit:
// it is refused and the probe starts again after it. Files that load in the probe (including
// those dlopen() or the descriptor checks refuse cleanly: the host sees the same) get no verdict.
//
// Costs one fork and one extra dlopen per file at start-up. Must be called while the process has
// a single thread (fork() copies only the caller, and another thread could hold the loader's
// lock); the host calls it from PluginRegistry::discover(), in main() before any thread starts.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace rootlesskit {

// Why each file that did not load to the end in the probe is refused, by path:
// "crashed while loading (killed by signal 11)", "exited while loading (exit status 3)",
// "did not load within 10 s". Files that loaded are absent. When no probe process can be
// started, the map is empty and every file is left to the host.
std::map<std::string, std::string> probePluginFiles(const std::vector<std::string> &paths,
                                                    std::chrono::milliseconds perFile);

}  // namespace rootlesskit
