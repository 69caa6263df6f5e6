// What the pasta found on this machine can do. Debian 12 ships passt 2023_03_09; upstream
// RootlessKit documents 2023_06_25 as the minimum and 2023_12_04 as recommended. Rather than
// trusting a version string (Debian 12's pasta says "unknown version", and some recent builds
// print nothing when stdout is a pipe), the probe asks pasta itself which options it accepts:
// `pasta <options> --version` succeeds only when every option before --version is known.
#pragma once

#include <string>

namespace rootlesskit::pasta {

// The oldest and the recommended pasta versions, as upstream RootlessKit documents them.
inline constexpr const char *kMinimumVersion = "2023_06_25";
inline constexpr const char *kRecommendedVersion = "2023_12_04";

struct Features {
    std::string path;           // the resolved binary
    std::string version;        // "2023_12_04.b86afe3", or "unknown version" when it does not say
    bool hostLoToNsLo = false;  // --host-lo-to-ns-lo (upstream passes it when present)
};

// Resolves binary through PATH and probes it (three short runs of pasta, each reaped before
// returning). Throws rkp::Error with upstream's texts where it has them:
//   `pasta binary "X" is not installed: <cause>`
//   `command "<path> --version" failed, make sure pasta is installed: <status>: <output>`
// and, when it lacks an option the driver needs:
//   `pasta <path> (<version>) lacks --a, --b, which the pasta network driver needs: pasta
//   2023_06_25 or later is needed (scripts/build-passt.sh builds a recent one from Debian 13's
//   source; select it with --pasta-binary)`
// Parent process, main thread.
Features probeFeatures(const std::string &binary);

// True for a pasta at least as recent as recommended: a known version from 2023_12_04 on, or an
// unknown version that has --host-lo-to-ns-lo (which appeared after 2023_12_04).
bool isRecommended(const Features &features);

// The warning for a pasta that works but is older than recommended, "" when there is nothing to
// say: a known version before 2023_12_04, or an unknown version without --host-lo-to-ns-lo
// (which appeared after 2023_12_04, so its presence proves a recent pasta).
std::string recommendationWarning(const Features &features);

}  // namespace rootlesskit::pasta
