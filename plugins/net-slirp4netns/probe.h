// What the installed slirp4netns can do: the binary's path, the options its --help lists, and
// whether the kernel can run it with seccomp. Decides --enable-sandbox and --enable-seccomp.
#pragma once

#include <string>

#include "config.h"

namespace rootlesskit::slirp4netns {

// Options found in `slirp4netns --help`.
struct Features {
    bool exitFd = false;               // -e, --exit-fd
    bool ipv6 = false;                 // --enable-ipv6
    bool cidr = false;                 // --cidr
    bool disableHostLoopback = false;  // --disable-host-loopback
    bool apiSocket = false;            // --api-socket
    bool sandbox = false;              // --enable-sandbox
    bool seccomp = false;              // --enable-seccomp
};

// The executable binary names: used as is when it contains a '/', else searched in $PATH.
// Throws rkp::Error(-ENOENT, `slirp4netns binary "X" is not installed: <cause>`).
std::string resolveBinary(const std::string &binary);

// Runs `<path> --help` (stdout and stderr combined, 10 s at most) and reads its features.
// Throws rkp::Error: `command "<path> --help" failed, make sure slirp4netns v0.4.0+ is
// installed: "<output>": <exit status>`, or `slirp4netns seems older than v0.4.0` when the help
// lacks --netns-type. Runs in the parent; the helper is reaped before it returns.
Features probeFeatures(const std::string &path);

// True when the kernel accepts seccomp filters: PR_GET_SECCOMP is known and PR_SET_SECCOMP with
// SECCOMP_MODE_FILTER and a NULL program fails with EFAULT rather than EINVAL (nothing is
// installed either way).
bool kernelSupportsSeccomp();

// Resolved --enable-sandbox / --enable-seccomp.
struct Hardening {
    bool sandbox = false;
    bool seccomp = false;
};

// Applies the sandbox/seccomp table: false → off; auto → on when supported (sandbox also not
// with a detached netns); true → on, or rkp::Error(-ENOTSUP) `this version of slirp4netns does
// not support --enable-sandbox` / `... --enable-seccomp`, `kernel does not support seccomp`,
// `--slirp4netns-sandbox conflicts with --detach-netns (...)`.
Hardening resolveHardening(const Config &config, const Features &features, bool kernelSeccomp,
                           bool detachedNetns);

}  // namespace rootlesskit::slirp4netns
