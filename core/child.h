// The child side of a run: everything that happens inside the new namespaces, from the first
// instruction after clone() to the exit of the user's command.
//
// Theory of operation
// -------------------
// The child starts as a copy of the parent (clone() without exec), single-threaded, with every
// signal blocked, the parsed options and the loaded plugins. It follows the parent's messages on
// the SyncChannel (runtime.h draws the sequence):
//
//   waiting-idmap   -> "idmap": the ID maps are written; the child is root in its namespace with
//                      a full capability set. /proc is remounted with --pidns; the network
//                      plugin's child instance is created and prepared. Sends "userns-ready".
//   waiting-network -> "network": mount propagation of "/", copy-up, /sys remounted in a new
//                      network namespace (mounts.h, copy_up.h), lo up, the plugin's
//                      configure_child, interface set-up from the network message, resolv.conf
//                      and hosts.
//   waiting-port    -> "port": the port plugin's child half starts (its loop on a thread).
//                      Sends "child-ready".
//   waiting-go      -> "go": the parent has published the ports, written child_pid and listens
//                      on api.sock. The command is forked and exec'ed.
//   running         -> the main thread forwards signals to the command (and reaps orphans in
//                      reaper mode) until the command ends.
//   exiting         -> port loop stopped, network torn down, {"type":"exit",...} sent, _exit.
//
// Any failure sends {"type":"error","message":...} and ends the child with _exit(1); the child
// never prints the error itself (the parent reports it once). The child never returns and never
// runs destructors of objects inherited from the parent.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/options.h"
#include "core/plugin_loader.h"
#include "core/process_options.h"
#include "core/sync_channel.h"
#include "rootlesskit/rkp.h"

namespace rootlesskit {

// The network settings both halves of a network plugin receive, resolved once from the options
// and the plugin's defaults. Owns the strings rkp_net_params points to.
struct NetSettings {
    std::string stateDir;
    std::string ifname;      // --ifname, or the plugin's default_ifname ("" when it has none)
    std::string cidr;        // "" = not given
    std::string portDriver;  // the port plugin's name, "none" without one
    uint32_t mtu = 0;        // --mtu, or the plugin's default_mtu, or 1500 when both are 0
    bool ipv6 = false;
    bool disableHostLoopback = false;
    uint32_t portDriverNeeds = 0;
    // "" unless --detach-netns: the detached namespace's path as this process sees it (the child
    // path until clone(), then the parent switches its copy to the host path; detach_netns.h).
    std::string detachedNetnsPath;

    // rkp_net_params pointing into this object; valid while it lives and is not modified.
    rkp_net_params params(int32_t childPid) const;
};

NetSettings resolveNetSettings(const Options &options, const PluginInfo &net,
                               const PluginInfo *port, const std::string &stateDir);

// What the child knows when it starts. Everything is a copy or points into memory the child
// inherited from the parent, which stays valid in the child for its whole life.
struct ChildContext {
    const Options *options = nullptr;
    const PluginInfo *net = nullptr;
    const PluginInfo *port = nullptr;  // nullptr for --port-driver=none
    NetSettings netSettings;
    pid_t expectedParent = 0;  // getppid() while the parent lives (0 in a new PID namespace)
    uid_t parentEuid = 0;
    gid_t parentEgid = 0;
    bool newNetns = false;      // clone() created a network namespace
    // An empty host directory for temporary mount points, made and removed by the parent; ""
    // when neither copy-up nor a fresh /sys needs one.
    std::string mountScratch;
    bool reaper = false;        // reap every process, start the command in its own process group
    CommandSetup commandSetup;  // socket activation and terminal (process_options.h)
    // Descriptors of the parent's that the child closes first (state dir locks, signalfds).
    std::vector<int> parentOnlyFds;
};

// Runs the child side described above on the channel's child end. Never returns: the process
// ends with _exit() (the command's exit code, 255 when it died by a signal, 1 on a failure).
// MUST be the first thing the clone()d child calls.
[[noreturn]] void runChild(const ChildContext &context, SyncChannel channel);

}  // namespace rootlesskit
