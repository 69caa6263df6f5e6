// The network drivers built into the host: "host" (no network namespace) and "none" (a network
// namespace with only loopback). They are ordinary rkp_plugin descriptors registered by the
// plugin loader with the path "(built in)", so the core treats them like any plugin.
#pragma once

#include "rootlesskit/rkp.h"

namespace rootlesskit {

// "host": the child shares the host's network. Supports nothing, needs nothing; the network
// message is "{}" and info writes nothing, so GET /v1/info has no "networkDriver". Static
// descriptor, valid for the process lifetime.
const rkp_plugin *builtinHostNetwork();

// "none": the child gets a new network namespace (RKP_NEED_NETNS) with loopback only; the host
// brings lo up itself in every new network namespace, so configure_parent only writes "{}".
// info writes {"driver":"none"}. Static descriptor, valid for the process lifetime.
const rkp_plugin *builtinNoneNetwork();

}  // namespace rootlesskit
