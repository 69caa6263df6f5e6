// UniqueFd: the owner of one file descriptor, closed when the owner goes away.
#pragma once

#include "rootlesskit/rkp.hpp"

namespace rootlesskit {

// The SDK's owner (rkp.hpp), shared by the core and the plugins. Works in any process and
// thread; a copy inherited through clone() without exec is a separate owner of the inherited
// descriptor.
using UniqueFd = rkp::UniqueFd;

}  // namespace rootlesskit
