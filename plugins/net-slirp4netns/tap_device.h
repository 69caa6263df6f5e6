// The TAP device slirp4netns attaches to, created by the child side of the plugin.
#pragma once

#include <string>

namespace rootlesskit::slirp4netns {

// Creates a persistent TAP device (IFF_TAP | IFF_NO_PI, TUNSETPERSIST) named ifname, sets it up
// and closes its fd, so that slirp4netns opens it by name later. Acts on the network namespace at
// detachedNetnsPath when it is non-NULL (from a short-lived thread that enters it), else on the
// caller's. Runs in the child after the ID maps are written (needs CAP_NET_ADMIN over the
// namespace). Throws rkp::Error(-errno, "create tap device <ifname>: <cause>").
void createPersistentTap(const std::string &ifname, const char *detachedNetnsPath);

}  // namespace rootlesskit::slirp4netns
