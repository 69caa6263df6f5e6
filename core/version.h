// The implementation version (reported by --version, --print-semver and /v1/info) and the REST
// API version.
#pragma once

namespace rootlesskit {

inline constexpr const char *kVersion = "2.3.4";
inline constexpr int kVersionMajor = 2;
inline constexpr int kVersionMinor = 3;
inline constexpr int kVersionPatch = 4;
inline constexpr const char *kApiVersion = "1.1.1";

}  // namespace rootlesskit
