// The open-files limit (RLIMIT_NOFILE) of a run: raised for rootlesskit itself, restored for
// the command.
//
// The builtin port driver holds two descriptors per forwarded TCP connection (one in the parent,
// one passing through the child), so the usual soft limit of 1024 caps a run at a few hundred
// connections. Upstream's Go runtime raises the soft limit to the hard limit at start-up and
// hands the original soft limit back to the programs it executes; this module does the same.
#pragma once

namespace rootlesskit {

// Raises the soft RLIMIT_NOFILE of this process to its hard limit and remembers the original
// soft limit for restoreNofileLimit(). Call once, in the parent, before clone(): the child and
// every helper a plugin starts inherit the raised limit. A failure leaves the limit as it was
// and is logged at debug level (the run works, with fewer possible connections).
void raiseNofileLimit();

// Sets the soft RLIMIT_NOFILE back to the value raiseNofileLimit() found; does nothing when it
// did not raise it. Async-signal-safe: called in the forked command just before execve().
void restoreNofileLimit();

}  // namespace rootlesskit
