// The flag table and the value checks shared by the command line and profiles.
#include "core/cli_flags.h"

#include <arpa/inet.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>

#include "core/port_spec.h"

namespace rootlesskit {
namespace {

std::string inQuotes(const std::string &text) {
    return "\"" + text + "\"";
}

// Fails with "<what> X, valid: a, b, c" unless value is one of valid.
Status checkOneOf(const std::string &value, const std::vector<std::string> &valid,
                  const std::string &what) {
    if (std::find(valid.begin(), valid.end(), value) != valid.end()) {
        return Status();
    }
    std::string list;
    for (const auto &v : valid) {
        list += (list.empty() ? "" : ", ") + (v.empty() ? std::string("\"\"") : v);
    }
    return Status::error(what + ", valid: " + list);
}

const std::vector<std::string> kBoolModes = {"auto", "true", "false", ""};

// Builds the table once. The order is the --help order: categories sorted by name, flags in the
// order upstream declares them within each.
std::vector<FlagSpec> buildFlags() {
    using O = Options;
    return {
        {"help", 'h', "Misc", "Show this help and exit.", {}, false, nullptr, nullptr},
        {"version", 'v', "Misc", "Print the version and exit.", {}, false, nullptr, nullptr},
        {"debug", 0, "Misc", "Log each setup step (debug level) in every process.", &O::debug, true,
         nullptr, nullptr},
        {"print-semver", 0, "Misc",
         "Print one component of the version (major, minor or patch) and exit.", &O::printSemver,
         false, checkPrintSemver, nullptr},
        {"profile", 0, "Misc",
         "Read defaults from this YAML profile (a path, or the name of a shipped profile such as "
         "slirp4netns); flags given here override it.",
         &O::profilePath, false, nullptr, nullptr},
        {"copy-up", 0, "Mount",
         "Directory to copy up: a tmpfs with symlinks to the original, so the command can "
         "replace its entries (repeatable, comma-separated, e.g. /etc).",
         &O::copyUp, true, checkCopyUpDir, nullptr},
        {"copy-up-mode", 0, "Mount", "How directories are copied up: tmpfs+symlink.",
         &O::copyUpMode, true, checkCopyUpMode, nullptr},
        {"propagation", 0, "Mount",
         "Mount propagation of the new mount namespace: private, rprivate, shared, rshared, "
         "slave or rslave.",
         &O::propagation, true, checkPropagation, nullptr},
        {"net", 0, "Network",
         "Network driver: host, none, pasta, slirp4netns, lxc-user-nic or another installed "
         "plugin (see \"rootlesskit plugins list\"; no vpnkit or gvisor-tap-vsock plugin "
         "ships).",
         &O::net, true, nullptr, nullptr},
        {"mtu", 0, "Network", "MTU of the namespace's interface; 0 picks the driver's default.",
         &O::mtu, true, nullptr, checkMtu},
        {"cidr", 0, "Network", "IPv4 network of the namespace, such as 10.0.2.0/24.", &O::cidr,
         true, checkCidr, nullptr},
        {"ifname", 0, "Network",
         "Interface name in the namespace (tap0 for most drivers, eth0 for lxc-user-nic).",
         &O::ifname, true, checkIfname, nullptr},
        {"disable-host-loopback", 0, "Network",
         "Forbid connecting to the host's loopback addresses through the gateway.",
         &O::disableHostLoopback, true, nullptr, nullptr},
        {"ipv6", 0, "Network", "Enable IPv6 routing (experimental; not port forwarding).", &O::ipv6,
         true, nullptr, nullptr},
        {"detach-netns", 0, "Network",
         "Keep rootlesskit's own processes in the host network namespace and give the command "
         "a detached one (its path is <state-dir>/netns).",
         &O::detachNetns, true, nullptr, nullptr},
        {"lxc-user-nic-binary", 0, "Network [lxc-user-nic]", "Path of lxc-user-nic.",
         &O::lxcUserNicBinary, true, nullptr, nullptr},
        {"lxc-user-nic-bridge", 0, "Network [lxc-user-nic]", "Bridge lxc-user-nic attaches to.",
         &O::lxcUserNicBridge, true, checkLxcUserNicBridge, nullptr},
        {"pasta-binary", 0, "Network [pasta]", "Path or name (looked up in PATH) of pasta.",
         &O::pastaBinary, true, nullptr, nullptr},
        {"slirp4netns-binary", 0, "Network [slirp4netns]",
         "Path or name (looked up in PATH) of slirp4netns.", &O::slirp4netnsBinary, true, nullptr,
         nullptr},
        {"slirp4netns-sandbox", 0, "Network [slirp4netns]",
         "Run slirp4netns in its own mount namespace: auto, true or false.", &O::slirp4netnsSandbox,
         true, checkSlirp4netnsSandbox, nullptr},
        {"slirp4netns-seccomp", 0, "Network [slirp4netns]",
         "Restrict slirp4netns's system calls with seccomp: auto, true or false.",
         &O::slirp4netnsSeccomp, true, checkSlirp4netnsSeccomp, nullptr},
        {"vpnkit-binary", 0, "Network [vpnkit]", "Path or name (looked up in PATH) of vpnkit.",
         &O::vpnkitBinary, true, nullptr, nullptr},
        {"port-driver", 0, "Port",
         "Port driver: none, builtin, slirp4netns, implicit (pasta) or another installed "
         "plugin.",
         &O::portDriver, true, nullptr, nullptr},
        {"publish", 'p', "Port",
         "Publish a port, PARENTIP:PARENTPORT:[CHILDIP:]CHILDPORT/PROTO such as "
         "127.0.0.1:8080:80/tcp (repeatable, comma-separated).",
         &O::publish, true, checkPublish, nullptr},
        {"source-ip-transparent", 0, "Port",
         "Let TCP servers in the namespace see the client's address (builtin port driver); "
         "=false turns it off.",
         &O::sourceIpTransparent, true, nullptr, nullptr},
        {"pidns", 0, "Process", "Create a PID namespace; the command sees a fresh /proc.",
         &O::pidns, true, nullptr, nullptr},
        {"cgroupns", 0, "Process", "Create a cgroup namespace.", &O::cgroupns, true, nullptr,
         nullptr},
        {"utsns", 0, "Process", "Create a UTS namespace.", &O::utsns, true, nullptr, nullptr},
        {"ipcns", 0, "Process", "Create an IPC namespace.", &O::ipcns, true, nullptr, nullptr},
        {"reaper", 0, "Process",
         "Reap zombie processes in the namespace: auto (when --pidns), true (needs --pidns) or "
         "false.",
         &O::reaper, true, checkReaper, nullptr},
        {"evacuate-cgroup2", 0, "Process",
         "Move rootlesskit's processes into this new cgroup2 subgroup so the command can "
         "delegate controllers (needs --cgroupns and --pidns).",
         &O::evacuateCgroup2, true, checkEvacuateCgroup2, nullptr},
        {"state-dir", 0, "State",
         "State directory (lock, child_pid, api.sock...); a temporary directory when empty. It "
         "is emptied at start and removed at exit.",
         &O::stateDir, true, nullptr, nullptr},
        {"subid-source", 0, "SubID",
         "Where subordinate IDs come from: auto, dynamic (getsubids) or static (/etc/subuid).",
         &O::subidSource, true, checkSubidSource, nullptr},
    };
}

bool isIpv4(const std::string &text, in_addr &out) {
    return inet_pton(AF_INET, text.c_str(), &out) == 1;
}

}  // namespace

const std::vector<FlagSpec> &allFlags() {
    static const std::vector<FlagSpec> flags = buildFlags();
    return flags;
}

const FlagSpec *findFlag(std::string_view name) {
    for (const auto &flag : allFlags()) {
        bool isShort = name.size() == 1 && flag.shortName != 0 && name[0] == flag.shortName;
        if (isShort || name == flag.name) {
            return &flag;
        }
    }
    return nullptr;
}

Status checkFlagValue(const FlagSpec &flag, const Options &options) {
    if (auto field = std::get_if<int Options::*>(&flag.field); field && flag.checkInt) {
        return flag.checkInt(options.*(*field));
    }
    if (!flag.checkString) {
        return Status();
    }
    if (auto field = std::get_if<std::string Options::*>(&flag.field)) {
        return flag.checkString(options.*(*field));
    }
    if (auto field = std::get_if<std::vector<std::string> Options::*>(&flag.field)) {
        for (const auto &entry : options.*(*field)) {
            Status status = flag.checkString(entry);
            if (!status.ok()) {
                return status;
            }
        }
    }
    return Status();
}

const std::vector<DriverFlagKey> &driverFlagKeys() {
    static const std::vector<DriverFlagKey> keys = {
        {"network/lxc-user-nic", "binary", "lxc-user-nic-binary"},
        {"network/lxc-user-nic", "bridge", "lxc-user-nic-bridge"},
        {"network/pasta", "binary", "pasta-binary"},
        {"network/slirp4netns", "binary", "slirp4netns-binary"},
        {"network/slirp4netns", "sandbox", "slirp4netns-sandbox"},
        {"network/slirp4netns", "seccomp", "slirp4netns-seccomp"},
        {"network/vpnkit", "binary", "vpnkit-binary"},
    };
    return keys;
}

std::string defaultLxcUserNicBinary() {
    struct utsname uts {};
    std::vector<std::string> candidates = {"/usr/libexec/lxc/lxc-user-nic"};
    if (uname(&uts) == 0) {
        candidates.push_back(std::string("/usr/lib/") + uts.machine +
                             "-linux-gnu/lxc/lxc-user-nic");
    }
    candidates.push_back("/usr/lib/lxc/lxc-user-nic");

    for (const auto &path : candidates) {
        if (access(path.c_str(), F_OK) == 0) {
            return path;
        }
    }
    return "";
}

Status checkMtu(int mtu) {
    // 65521 is the largest MTU slirp4netns accepts; upstream applies it to every driver.
    if (mtu < 0) {
        return Status::error("mtu must be >= 0, got " + std::to_string(mtu));
    }
    if (mtu > 65521) {
        return Status::error("mtu must be <= 65521, got " + std::to_string(mtu));
    }
    return Status();
}

Status checkCidr(const std::string &cidr) {
    if (cidr.empty()) {
        return Status();
    }
    Status bad = Status::error("invalid cidr " + inQuotes(cidr) +
                               ": expected an IPv4 network such as 10.0.2.0/24");

    // Address and prefix length.
    size_t slash = cidr.find('/');
    in_addr addr{};
    if (slash == std::string::npos || !isIpv4(cidr.substr(0, slash), addr)) {
        return bad;
    }
    int prefix = -1;
    const char *begin = cidr.data() + slash + 1;
    const char *end = cidr.data() + cidr.size();
    auto [ptr, ec] = std::from_chars(begin, end, prefix);
    if (begin == end || ptr != end || ec != std::errc() || prefix < 0 || prefix > 32) {
        return bad;
    }

    // The address must be the network address itself.
    uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
    in_addr network{};
    network.s_addr = htonl(ntohl(addr.s_addr) & mask);
    if (network.s_addr != addr.s_addr) {
        char text[INET_ADDRSTRLEN] = {};
        inet_ntop(AF_INET, &network, text, sizeof(text));
        return Status::error("cidr must be like " + std::string(text) + "/" +
                             std::to_string(prefix) + ", not like " + cidr);
    }
    return Status();
}

Status checkIfname(const std::string &ifname) {
    if (ifname.find('/') != std::string::npos) {
        return Status::error("ifname must not contain \"/\"");
    }
    // IFNAMSIZ is 16 including the terminating NUL; the kernel refuses longer names later with
    // a less helpful error.
    if (ifname.size() > 15) {
        return Status::error("ifname must be at most 15 characters, got " + inQuotes(ifname));
    }
    return Status();
}

Status checkReaper(const std::string &mode) {
    return checkOneOf(mode, {"auto", "true", "false"}, "unknown reaper mode: " + mode);
}

Status checkCopyUpMode(const std::string &mode) {
    return checkOneOf(mode, {"tmpfs+symlink"}, "unknown copy-up mode: " + mode);
}

Status checkCopyUpDir(const std::string &dir) {
    std::filesystem::path path(dir);
    if (!path.is_absolute()) {
        return Status::error("copy-up directory must be an absolute path, got " + inQuotes(dir));
    }
    // The copy-up is staged under /tmp, so /tmp itself cannot be one of them.
    std::string clean = path.lexically_normal().string();
    if (clean.size() > 1 && clean.back() == '/') {
        clean.pop_back();
    }
    if (clean == "/tmp") {
        return Status::error("/tmp cannot be copied up");
    }
    return Status();
}

Status checkPropagation(const std::string &mode) {
    return checkOneOf(mode, {"private", "rprivate", "shared", "rshared", "slave", "rslave"},
                      "unknown propagation mode: " + mode);
}

Status checkSlirp4netnsSandbox(const std::string &mode) {
    return checkOneOf(mode, kBoolModes, "unsupported slirp4netns-sandbox mode: " + inQuotes(mode));
}

Status checkSlirp4netnsSeccomp(const std::string &mode) {
    return checkOneOf(mode, kBoolModes, "unsupported slirp4netns-seccomp mode: " + inQuotes(mode));
}

Status checkSubidSource(const std::string &source) {
    return checkOneOf(source, {"auto", "dynamic", "static"},
                      "unknown subid source " + inQuotes(source));
}

Status checkLxcUserNicBridge(const std::string &bridge) {
    if (bridge.empty()) {
        return Status::error(
            "got empty bridge, --lxc-user-nic-bridge must name a bridge such as "
            "lxcbr0");
    }
    return Status();
}

Status checkPublish(const std::string &text) {
    auto spec = parsePortSpec(text);
    if (!spec) {
        return spec.status().wrap("publish " + text);
    }
    return validatePortSpec(*spec, {}).wrap("publish " + text);
}

Status checkEvacuateCgroup2(const std::string &group) {
    // Empty means "not set", on the command line as in a profile.
    if (group.empty()) {
        return Status();
    }
    // Upstream's text for "/"; "." and ".." would leave the caller's group, so they are refused
    // too, in the same words.
    if (group.find('/') != std::string::npos) {
        return Status::error("unexpected evacuation group name " + inQuotes(group) +
                             ": must not contain \"/\"");
    }
    if (group == "." || group == "..") {
        return Status::error("unexpected evacuation group name " + inQuotes(group) +
                             ": must be a cgroup name, not \".\" or \"..\"");
    }
    return Status();
}

Status checkPrintSemver(const std::string &component) {
    if (component == "major" || component == "minor" || component == "patch") {
        return Status();
    }
    return Status::error("expected --print-semver=(major|minor|patch), got " + inQuotes(component));
}

}  // namespace rootlesskit
