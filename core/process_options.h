// Process options that reach beyond the child's namespaces: systemd socket activation
// (LISTEN_FDS), the command's process group and terminal, and --evacuate-cgroup2.
//
// Socket activation: systemd (or systemd-socket-activate) starts rootlesskit with listening
// sockets at fds 3..3+N-1, LISTEN_FDS=N and LISTEN_PID=<rootlesskit's pid>. The child is a
// clone of the parent, so it holds the same descriptors; the forked command keeps fds 3..3+N-1
// at their numbers (every other descriptor above stderr is close-on-exec) and, when LISTEN_PID
// named rootlesskit, gets LISTEN_PID=<its own pid> (as its PID namespace numbers it), written
// between fork() and execve(), so sd_listen_fds() in the command accepts the sockets.
//
// Terminal: without a reaper the command shares rootlesskit's process group. With the reaper
// (--pidns) the command gets a process group of its own, so that signals the terminal sends to
// rootlesskit's group are forwarded once by the child instead of arriving twice; when rootlesskit
// was the terminal's foreground job, the command's group becomes the foreground one (the command
// keeps its terminal and job control, unlike upstream's setsid), and the parent takes the
// terminal back when the child has ended. Shortcoming, in both modes: Ctrl-Z stops the command
// but not rootlesskit, so the calling shell gets the terminal back only once the command is
// continued (kill -CONT) or ends.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace rootlesskit {

// What the forked command needs from the parent's start-up state.
struct CommandSetup {
    int listenFds = 0;              // fds 3..3+listenFds-1 are passed on; 0 = none
    bool rewriteListenPid = false;  // LISTEN_PID named the parent: the command gets its own
    bool foregroundTty = false;     // stdin is a terminal and the parent's group is its foreground
};

// Reads LISTEN_PID, LISTEN_FDS and the terminal of stdin. Runs in the parent before clone().
// Sockets are passed on when both variables are integers, LISTEN_FDS > 0 and each of the fds is
// open (else a warning and none is).
CommandSetup commandSetupFromParent();

// Child, before fork(): when setup.rewriteListenPid, makes room in env's LISTEN_PID entry for
// any pid, which fillCommandProcess writes after fork().
void reserveListenPid(const CommandSetup &setup, std::vector<std::string> &env);

// In the forked command, before execve(): writes LISTEN_PID into
// the entry of envp that reserveListenPid prepared, marks every descriptor from 3 + listenFds
// close-on-exec and clears it on 3..3+listenFds-1, and with reaper moves the process into its
// own group, made the terminal's foreground group when setup.foregroundTty (SIGTTOU is blocked
// around that call, which a process outside the foreground group makes). Async-signal-safe.
void prepareCommandProcess(const CommandSetup &setup, char *const *envp, bool reaper);

// Parent, after the child has ended: gives the terminal's foreground back to the parent's
// process group when setup.foregroundTty (the command's group may have held it). Any thread.
void reclaimTerminal(const CommandSetup &setup);

// --evacuate-cgroup2=name (spec §2.10), in the parent after the ID maps are written and before
// the network is set up: creates <cgroup2 mount>/<own group>/name and moves every process of
// the own group into it, then enables every available controller in the own group's
// subtree_control. Nothing happens for an empty name; without a cgroup2 mount, or when the
// process is not in the mounted hierarchy, a warning and nothing else. Moving or enabling
// failures are warnings; failing to create the group fails "evacuate-cgroup2 <name>: mkdir
// <path>: <errno text>".
Status evacuateCgroup2(const std::string &name);

// The group of the calling process in the unified hierarchy: the path of the "0::" line of
// /proc/self/cgroup text, "" when there is none. Pure.
std::string cgroup2GroupOf(const std::string &procSelfCgroup);

}  // namespace rootlesskit
