// The parent half of the lxc-user-nic driver: a veth pair from the setuid lxc-user-nic, one end
// on the host bridge, the other moved into the child's network namespace under --ifname.
//
// lxc-user-nic names the namespace by a PID. Without --detach-netns that is the child. With it,
// no process lives in the detached namespace, so a holder process is forked for the duration of
// the call: it joins the child's user namespace, then the detached network namespace (by its
// host-side path), reports that it is there over a pipe, and waits to be killed. Upstream runs
// `nsenter ... sleep infinity` for this and calls lxc-user-nic without waiting for the holder to
// have entered the namespace; here lxc-user-nic starts only once it has.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>

#include "rootlesskit/rkp.h"

namespace rootlesskit::lxc {

struct VethRequest {
    std::string binary;  // path of lxc-user-nic
    std::string bridge;  // --lxc-user-nic-bridge
    std::string ifname;  // name inside the namespace (--ifname, default eth0)
    pid_t childPid = 0;
    std::string detachedNetnsPath;  // host-side path, "" unless --detach-netns
    std::chrono::seconds timeout{30};
};

// Checks the bridge and /etc/lxc/lxc-usernet, then runs
//   <binary> create /dev/null dummy <pid> veth <bridge> <ifname>
// (upstream's argv). Throws rkp::Error naming what to fix:
//   `bridge lxcbr0 does not exist: ...`, `/etc/lxc/lxc-usernet has no veth entry ...`,
//   `lxc-user-nic: the veth quota of user rktest on bridge lxcbr0 in /etc/lxc/lxc-usernet is
//   used up: ...`, or `<binary> failed: <output>: <status>`.
// Parent process, main thread (it forks).
void attachVeth(const rkp_host *host, const VethRequest &request);

}  // namespace rootlesskit::lxc
