// Fd: the owner of one file descriptor; the builtin port driver keeps every descriptor in one.
#pragma once

#include "rootlesskit/rkp.hpp"

namespace rkbuiltin {

// The SDK's owner (rkp.hpp): move-only, closes on destruction. Not thread-safe: one owner, one
// thread at a time.
using Fd = rkp::UniqueFd;

}  // namespace rkbuiltin
