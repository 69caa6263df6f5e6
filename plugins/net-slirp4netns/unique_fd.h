// UniqueFd inside the slirp4netns network plugin: the SDK's descriptor owner.
#pragma once

#include "rootlesskit/rkp.hpp"

namespace rootlesskit::slirp4netns {

using UniqueFd = rkp::UniqueFd;

}  // namespace rootlesskit::slirp4netns
