// The parent/child orchestration of one rootlesskit run.
//
// Theory of operation
// -------------------
// The parent runs on the host. It validates everything first (options, plugins, their pairing),
// prepares the state directory, then creates the child with clone(CLONE_NEWUSER | CLONE_NEWNS |
// the other namespaces requested) WITHOUT exec: the child is a copy of the parent, keeps the
// loaded plugins and the parsed options, and holds every capability in its new user namespace
// from the start, so no re-exec is needed. Parent and child talk over one SOCK_SEQPACKET
// socketpair (one JSON message per packet):
//
//   parent                                   child
//   ------                                   -----
//   clone() -----------------------------> arms PR_SET_PDEATHSIG, waits
//   newuidmap/newgidmap
//   "idmap"  ----------------------------> mounts /proc (pidns), detached netns, net prepare
//            <---------------------------- "userns-ready"
//   net configure_parent (helpers start)
//   "network" {netmsg} ------------------> lo up, net configure_child, interface set-up,
//   "port" {opaque}                         resolv.conf/hosts, propagation, copy-up,
//            <---------------------------- "child-ready" (port child half listening)
//   port run_parent, publish -p, child_pid,
//   api.sock
//   "go"     ----------------------------> forks and execs the command, proxies signals, reaps
//   forwards signals, waits for the child
//            <---------------------------- (exit status of the child = the command's)
//
// Any step that fails in the child is sent as {"error": "..."} and the child exits 1; the parent
// reports that message once and exits 1. EOF on the socket before "child-ready" means the child
// died: the parent reaps it and reports how. Cleanup runs in reverse order on every path: API
// server, port driver, network driver, state directory.
#pragma once

#include "core/options.h"
#include "core/plugin_loader.h"

namespace rootlesskit {

// Runs options.command in the new namespaces and returns the process exit status for main():
// the command's status, 255 when it died by a signal, 1 when rootlesskit itself failed (after
// printing one error line). Runs in the parent, on the main thread, single-threaded on entry.
// SIGHUP, SIGINT, SIGQUIT or SIGTERM (unless ignored by the caller) arriving before the command
// starts ends the set-up: after cleanup the process dies by that signal, without returning.
int runParent(const Options &options, const PluginRegistry &registry);

}  // namespace rootlesskit
