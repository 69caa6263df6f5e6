// Probing the pasta binary: PATH lookup, --version, and the options the driver passes.
#include "probe.h"

#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <vector>

#include "helper_process.h"
#include "rootlesskit/rkp.hpp"

namespace rootlesskit::pasta {
namespace {

using plugin::HelperExit;

constexpr std::chrono::seconds kProbeTimeout{10};

// Every option the driver may pass, with a representative value: pasta parses the options in
// order and exits at --version, so an unknown option fails the run before that.
const std::vector<std::string> kNeededOptions = {
    "--stderr",
    "--ns-ifname=tap0",
    "--mtu=65520",
    "--config-net",
    "--address=10.0.2.100",
    "--netmask=24",
    "--gateway=10.0.2.2",
    "--dns-forward=10.0.2.3",
    "--no-map-gw",
    "--ipv4-only",
    "--tcp-ports=none",
    "--udp-ports=none",
    "--tcp-ns=none",
    "--udp-ns=none",
    "--userns=/proc/self/ns/user",
    "--netns=/proc/self/ns/net",
};

bool succeeded(const HelperExit &exit) {
    return !exit.timedOut && exit.status != -1 && WIFEXITED(exit.status) &&
           WEXITSTATUS(exit.status) == 0;
}

HelperExit runWithVersion(const std::string &path, const std::vector<std::string> &options) {
    std::vector<std::string> argv = {path};
    argv.insert(argv.end(), options.begin(), options.end());
    argv.emplace_back("--version");
    return plugin::runHelper(path, argv, kProbeTimeout);
}

// "pasta 2023_12_04.b86afe3" -> "2023_12_04.b86afe3"; "unknown version" when pasta says so or
// prints nothing (2025_05_03 loses its --version output when stdout is a pipe).
std::string parseVersion(const std::string &output) {
    std::string first = output.substr(0, output.find('\n'));
    const std::string prefix = "pasta ";
    if (first.rfind(prefix, 0) == 0 && first.size() > prefix.size()) {
        std::string version = first.substr(prefix.size());
        return version == "unknown version" ? "unknown version" : version;
    }
    return "unknown version";
}

// The name of an option as the messages show it ("--netmask=24" -> "--netmask").
std::string optionName(const std::string &option) {
    return option.substr(0, option.find('='));
}

// Called only when the combined probe failed: which options, one by one, pasta refuses.
std::string missingOptions(const std::string &path) {
    std::string missing;
    for (const std::string &option : kNeededOptions) {
        if (!succeeded(runWithVersion(path, {option}))) {
            missing += (missing.empty() ? "" : ", ") + optionName(option);
        }
    }
    return missing.empty() ? "an option it needs" : missing;
}

std::string resolveBinary(const std::string &binary) {
    int err = 0;
    std::string path = plugin::findExecutable(binary, &err);
    if (path.empty()) {
        throw rkp::Error(
            -err, "pasta binary \"" + binary + "\" is not installed: " +
                      (binary.find('/') == std::string::npos ? "exec: \"" + binary +
                                                                   "\": executable file not found "
                                                                   "in $PATH"
                                                             : plugin::errnoText(err)));
    }
    return path;
}

}  // namespace

Features probeFeatures(const std::string &binary) {
    Features features;
    features.path = resolveBinary(binary);

    // 1. --version must work at all.
    HelperExit version = runWithVersion(features.path, {});
    if (!succeeded(version)) {
        throw rkp::Error(-EIO, "command \"" + features.path +
                                   " --version\" failed, make sure pasta is installed: " +
                                   plugin::describeWaitStatus(version.status) + ": " +
                                   plugin::lastLine(version.output));
    }
    features.version = parseVersion(version.output);

    // 2. Every option the driver needs.
    if (!succeeded(runWithVersion(features.path, kNeededOptions))) {
        throw rkp::Error(-ENOTSUP, "pasta " + features.path + " (" + features.version + ") lacks " +
                                       missingOptions(features.path) +
                                       ", which the pasta network driver needs: pasta " +
                                       kMinimumVersion +
                                       " or later is needed (scripts/build-passt.sh builds a "
                                       "recent one from Debian 13's source; select it with "
                                       "--pasta-binary)");
    }

    // 3. What upstream passes when present.
    features.hostLoToNsLo = succeeded(runWithVersion(features.path, {"--host-lo-to-ns-lo"}));
    return features;
}

bool isRecommended(const Features &features) {
    if (features.version == "unknown version") {
        return features.hostLoToNsLo;
    }
    // Versions are dates ("2023_12_04.<commit>"): text order is date order.
    return features.version.compare(0, 10, kRecommendedVersion) >= 0;
}

std::string recommendationWarning(const Features &features) {
    const std::string howTo =
        ": scripts/build-passt.sh builds a recent pasta from Debian 13's source, select it with "
        "--pasta-binary";
    if (isRecommended(features)) {
        return "";
    }
    if (features.version != "unknown version") {
        return "pasta " + features.path + " (" + features.version + ") is older than " +
               kRecommendedVersion + ", the recommended version" + howTo;
    }
    return "pasta " + features.path +
           " (version unknown) lacks --host-lo-to-ns-lo, which recent versions have; " +
           kRecommendedVersion + " or later is recommended" + howTo;
}

}  // namespace rootlesskit::pasta
