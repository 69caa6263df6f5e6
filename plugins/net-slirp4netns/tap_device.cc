// TAP creation through /dev/net/tun. Upstream runs `nsenter -t <pid> -n -m -U ip tuntap add` from
// the parent instead; creating the device in the child, which already holds every capability in
// its namespaces, needs neither helper processes nor nsenter and ip being installed and allowed.
#include "tap_device.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "rootlesskit/rkp.hpp"
#include "spawn.h"
#include "unique_fd.h"

namespace rootlesskit::slirp4netns {
namespace {

// Creates the device and sets it up; 0 or an errno. The device stays after the fd is closed
// because of TUNSETPERSIST.
int createInCurrentNetns(const std::string &ifname) {
    UniqueFd tun(open("/dev/net/tun", O_RDWR | O_CLOEXEC));
    if (!tun.valid()) {
        return errno;
    }
    ifreq request{};
    request.ifr_flags = IFF_TAP | IFF_NO_PI;
    std::strncpy(request.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    if (ioctl(tun.get(), TUNSETIFF, &request) != 0) {
        return errno;
    }
    if (ioctl(tun.get(), TUNSETPERSIST, 1) != 0) {
        return errno;
    }

    // Up before slirp4netns attaches, as upstream's preparation does; the host sets it up again
    // together with the MTU and the address.
    UniqueFd sock(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock.valid() || ioctl(sock.get(), SIOCGIFFLAGS, &request) != 0) {
        return errno;
    }
    request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
    if (ioctl(sock.get(), SIOCSIFFLAGS, &request) != 0) {
        return errno;
    }
    return 0;
}

// setns() changes only the calling thread's network namespace, so a thread of its own enters the
// detached namespace and the host's threads stay where they are.
int createInNetns(const std::string &ifname, const char *netnsPath) {
    int result = 0;
    std::thread worker([&] {
        UniqueFd ns(open(netnsPath, O_RDONLY | O_CLOEXEC));
        if (!ns.valid() || setns(ns.get(), CLONE_NEWNET) != 0) {
            result = errno;
            return;
        }
        result = createInCurrentNetns(ifname);
    });
    worker.join();
    return result;
}

}  // namespace

void createPersistentTap(const std::string &ifname, const char *detachedNetnsPath) {
    if (ifname.empty() || ifname.size() >= IFNAMSIZ) {
        throw rkp::Error(-EINVAL, "create tap device \"" + ifname + "\": name must be 1 to " +
                                      std::to_string(IFNAMSIZ - 1) + " characters");
    }
    int err = detachedNetnsPath != nullptr ? createInNetns(ifname, detachedNetnsPath)
                                           : createInCurrentNetns(ifname);
    if (err != 0) {
        throw rkp::Error(-err, "create tap device " + ifname + ": " + errnoText(err));
    }
}

}  // namespace rootlesskit::slirp4netns
