// The plugin loader: search path, dlopen, descriptor validation and the registry of every plugin
// found. See plugin_loader.h for the theory of operation.
#include "core/plugin_loader.h"

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include "core/builtin_net.h"
#include "core/log.h"
#include "core/plugin_probe.h"

namespace rootlesskit {

namespace {

namespace fs = std::filesystem;

constexpr const char *kBuiltInPath = "(built in)";

// Loading a plugin takes milliseconds; a sanitized build on a loaded machine, well under a second.
constexpr std::chrono::milliseconds kProbeTimePerFile{10000};

// Sizes of the 1.0 structs: the end of their last 1.0 member. Written this way, they stay right
// when later minors append members. (rkp_plugin::port is a pointer: its size is meant.)
// NOLINTNEXTLINE(bugprone-sizeof-expression)
constexpr size_t kPluginSizeV10 = offsetof(rkp_plugin, port) + sizeof(rkp_plugin::port);
constexpr size_t kNetOpsSizeV10 = offsetof(rkp_net_ops, info) + sizeof(rkp_net_ops::info);
constexpr size_t kPortOpsSizeV10 = offsetof(rkp_port_ops, info) + sizeof(rkp_port_ops::info);

// Every needs bit this host honours, and the ones that make sense for one kind only.
constexpr uint64_t kNetOnlyNeeds = RKP_NEED_PORT_IMPLICIT | RKP_NEED_OWN_IFACE_SETUP;
constexpr uint64_t kPortOnlyNeeds = RKP_NEED_CHILD_LOOP | RKP_NEED_NET_IMPLICIT_PORTS |
                                    RKP_NEED_NET_HOSTFWD_API | RKP_NEED_PARENT_LOOP;
constexpr uint64_t kKnownNeeds = RKP_NEED_NETNS | kNetOnlyNeeds | kPortOnlyNeeds;

struct BitName {
    uint64_t bit;
    const char *name;
};

constexpr BitName kSupportNames[] = {
    {RKP_SUP_TCP, "tcp"},
    {RKP_SUP_UDP, "udp"},
    {RKP_SUP_SCTP, "sctp"},
    {RKP_SUP_IPV6, "ipv6"},
    {RKP_SUP_DETACH_NETNS, "detach-netns"},
    {RKP_SUP_SOURCE_IP, "source-ip"},
    {RKP_SUP_IMPLICIT_PORTS, "implicit-ports"},
    {RKP_SUP_CIDR, "cidr"},
    {RKP_SUP_HOSTFWD_API, "hostfwd-api"},
    {RKP_SUP_DYNAMIC_IP, "dynamic-ip"},
    {RKP_SUP_DISABLE_HOST_LOOPBACK, "disable-host-loopback"},
};

constexpr BitName kNeedNames[] = {
    {RKP_NEED_NETNS, "netns"},
    {RKP_NEED_PORT_IMPLICIT, "port-implicit"},
    {RKP_NEED_OWN_IFACE_SETUP, "own-iface-setup"},
    {RKP_NEED_CHILD_LOOP, "child-loop"},
    {RKP_NEED_NET_IMPLICIT_PORTS, "net-implicit-ports"},
    {RKP_NEED_NET_HOSTFWD_API, "net-hostfwd-api"},
    {RKP_NEED_PARENT_LOOP, "parent-loop"},
};

template <size_t N>
std::vector<std::string> bitNames(uint64_t bits, const BitName (&table)[N]) {
    std::vector<std::string> names;
    for (int i = 0; i < 64; i++) {
        uint64_t bit = UINT64_C(1) << i;
        if ((bits & bit) == 0) {
            continue;
        }
        auto known = std::find_if(std::begin(table), std::end(table),
                                  [bit](const BitName &entry) { return entry.bit == bit; });
        names.push_back(known != std::end(table) ? known->name : fmt::format("bit-{}", i));
    }
    return names;
}

std::string hostAbi() {
    return fmt::format("{}.{}", RKP_ABI_MAJOR, RKP_ABI_MINOR);
}

std::string kindName(uint32_t kind) {
    switch (kind) {
        case RKP_KIND_NETWORK:
            return "network";
        case RKP_KIND_PORT:
            return "port";
        default:
            return "";
    }
}

// "network" -> "net", as in the file names.
std::string fileKind(const std::string &kind) {
    return kind == "network" ? "net" : kind;
}

// The kind and name a file promises by its name, rkp-<net|port>-<name>.so.
struct FileName {
    std::string kind;  // "network" or "port"
    std::string name;
};

std::optional<FileName> parseFileName(const std::string &path) {
    std::string base = fs::path(path).filename().string();
    const std::string suffix = ".so";
    if (base.size() <= suffix.size() ||
        base.compare(base.size() - suffix.size(), suffix.size(), suffix) != 0) {
        return std::nullopt;
    }
    std::string stem = base.substr(0, base.size() - suffix.size());
    for (const char *prefix : {"rkp-net-", "rkp-port-"}) {
        std::string p(prefix);
        if (stem.size() > p.size() && stem.compare(0, p.size(), p) == 0) {
            return FileName{p == "rkp-net-" ? "network" : "port", stem.substr(p.size())};
        }
    }
    return std::nullopt;
}

bool validName(const char *name) {
    if (name == nullptr || *name == '\0') {
        return false;
    }
    for (const char *c = name; *c != '\0'; c++) {
        bool ok = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

// ---- Descriptor checks, in the order they run. Each returns "" or the refusal reason. ----

std::string checkVersionAndSize(const rkp_plugin &d) {
    // struct_size, abi_major and abi_minor open the descriptor in every major, so they are
    // read before anything else.
    if (d.abi_major != RKP_ABI_MAJOR) {
        return fmt::format("ABI major {} is not supported (host speaks {})", d.abi_major,
                           hostAbi());
    }
    if (d.abi_minor > RKP_ABI_MINOR) {
        return fmt::format("needs ABI {}.{}, newer than the host's {}, update rootlesskit",
                           d.abi_major, d.abi_minor, hostAbi());
    }
    if (d.struct_size < kPluginSizeV10) {
        return fmt::format("descriptor struct_size {} is smaller than ABI 1.0's {}", d.struct_size,
                           kPluginSizeV10);
    }
    return "";
}

// Which ops tables a descriptor sets, for the kind mismatch message.
const char *opsTablesSet(const rkp_plugin &d) {
    if (d.net != nullptr && d.port != nullptr) {
        return "sets both ops tables";
    }
    if (d.net != nullptr) {
        return "sets the net ops table";
    }
    return d.port != nullptr ? "sets the port ops table" : "sets no ops table";
}

std::string checkKind(const rkp_plugin &d, const std::optional<FileName> &file) {
    std::string kind = kindName(d.kind);
    if (kind.empty()) {
        return fmt::format("unknown kind {}", d.kind);
    }
    bool matches = d.kind == RKP_KIND_NETWORK ? d.net != nullptr && d.port == nullptr
                                              : d.port != nullptr && d.net == nullptr;
    if (!matches) {
        return fmt::format("declares kind {} but {}", kind, opsTablesSet(d));
    }
    if (file && file->kind != kind) {
        return fmt::format("declares kind {} but the file name says {}", kind, file->kind);
    }
    return "";
}

// Runs after checkKind: exactly the table of the kind is set.
std::string checkOpsSize(const rkp_plugin &d, const std::optional<FileName> &) {
    bool net = d.kind == RKP_KIND_NETWORK;
    uint32_t size = net ? d.net->struct_size : d.port->struct_size;
    size_t minimum = net ? kNetOpsSizeV10 : kPortOpsSizeV10;
    if (size < minimum) {
        return fmt::format("{} ops struct_size {} is smaller than ABI 1.0's {}",
                           net ? "net" : "port", size, minimum);
    }
    return "";
}

std::string checkName(const rkp_plugin &d, const std::optional<FileName> &file) {
    if (!validName(d.name)) {
        return fmt::format("name \"{}\" is not made of [a-z0-9-]", d.name != nullptr ? d.name : "");
    }
    if (file && file->name != d.name) {
        return fmt::format("declares name \"{}\" but the file name says \"{}\"", d.name,
                           file->name);
    }
    return "";
}

std::string checkNeeds(const rkp_plugin &d) {
    uint64_t unknown = d.needs & ~kKnownNeeds;
    if (unknown != 0) {
        int bit = __builtin_ctzll(unknown);
        return fmt::format("needs unknown capability bit {}, update rootlesskit", bit);
    }
    uint64_t foreign =
        d.kind == RKP_KIND_NETWORK ? d.needs & kPortOnlyNeeds : d.needs & kNetOnlyNeeds;
    if (foreign != 0) {
        return fmt::format("needs {}, which only a {} plugin may declare",
                           bitNames(foreign & -foreign, kNeedNames).front(),
                           d.kind == RKP_KIND_NETWORK ? "port" : "network");
    }
    return "";
}

struct Required {
    const char *name;
    bool present;
};

std::vector<Required> requiredFunctions(const rkp_plugin &d) {
    std::vector<Required> required = {{"create", d.create != nullptr},
                                      {"destroy", d.destroy != nullptr}};
    if (d.net != nullptr) {
        const rkp_net_ops &ops = *d.net;
        required.insert(required.end(), {{"configure_parent", ops.configure_parent != nullptr},
                                         {"teardown", ops.teardown != nullptr},
                                         {"info", ops.info != nullptr}});
        return required;
    }
    const rkp_port_ops &ops = *d.port;
    required.insert(required.end(), {{"init_parent", ops.init_parent != nullptr},
                                     {"init_child", ops.init_child != nullptr},
                                     {"add_port", ops.add_port != nullptr},
                                     {"remove_port", ops.remove_port != nullptr},
                                     {"info", ops.info != nullptr}});
    if (d.needs & RKP_NEED_PARENT_LOOP) {
        required.push_back({"run_parent", ops.run_parent != nullptr});
    }
    if (d.needs & RKP_NEED_CHILD_LOOP) {
        required.push_back({"run_child", ops.run_child != nullptr});
    }
    return required;
}

std::string checkFunctions(const rkp_plugin &d) {
    for (const Required &function : requiredFunctions(d)) {
        if (!function.present) {
            return fmt::format("required function {} is NULL", function.name);
        }
    }
    return "";
}

using Check = std::string (*)(const rkp_plugin &, const std::optional<FileName> &);

// The checks after the version, in order; each may rely on the ones before it.
constexpr Check kChecks[] = {
    checkKind,
    checkOpsSize,
    checkName,
    [](const rkp_plugin &d, const std::optional<FileName> &) { return checkNeeds(d); },
    [](const rkp_plugin &d, const std::optional<FileName> &) { return checkFunctions(d); },
};

// Every check of a descriptor that came with (or without) a file name: "" or the first reason.
std::string validate(const rkp_plugin *d, const std::optional<FileName> &file) {
    if (d == nullptr) {
        return "descriptor is NULL";
    }
    std::string reason = checkVersionAndSize(*d);
    for (Check check : kChecks) {
        if (!reason.empty()) {
            break;
        }
        reason = check(*d, file);
    }
    return reason;
}

// Copies what "plugins list" shows from a descriptor. A file keeps the kind and name its file
// name promises, since that is what users select it by, even when the descriptor disagrees.
void describe(PluginInfo &info, const rkp_plugin &d, bool fromFile) {
    info.abiMajor = d.abi_major;
    info.abiMinor = d.abi_minor;
    if (d.abi_major != RKP_ABI_MAJOR || d.struct_size < kPluginSizeV10) {
        return;  // another layout: nothing else can be read safely
    }
    if (!fromFile) {
        info.kind = kindName(d.kind);
        info.name = d.name != nullptr ? d.name : "";
    }
    info.version = d.version != nullptr ? d.version : "";
    info.description = d.description != nullptr ? d.description : "";
    info.supports = d.supports;
    info.needs = d.needs;
}

// dlopens path and calls its entry; on failure returns the reason and leaves *descriptor NULL.
std::string openPlugin(const std::string &path, const rkp_plugin **descriptor) {
    *descriptor = nullptr;
    // RTLD_NOW: an unresolved symbol fails here, not in the middle of a run. RTLD_LOCAL: one
    // plugin's symbols never satisfy another's. The handle is never closed (see the header).
    void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        const char *error = dlerror();
        return fmt::format("cannot load: {}", error != nullptr ? error : "unknown dlopen error");
    }

    auto entry = reinterpret_cast<rkp_plugin_entry_fn>(dlsym(handle, RKP_PLUGIN_ENTRY_SYMBOL));
    if (entry == nullptr) {
        return fmt::format("not a rootlesskit plugin: undefined symbol {}",
                           RKP_PLUGIN_ENTRY_SYMBOL);
    }

    *descriptor = entry(RKP_ABI_MAJOR, RKP_ABI_MINOR);
    if (*descriptor == nullptr) {
        return fmt::format("declined host ABI {}", hostAbi());
    }
    return "";
}

std::string canonical(const std::string &dir) {
    std::error_code ec;
    fs::path resolved = fs::weakly_canonical(dir, ec);
    return ec ? dir : resolved.string();
}

// True when this program runs from the build tree, where freshly built plugins sit in
// RK_PLUGIN_BUILD_DIR rather than in the installed plugin directory.
bool runningFromBuildTree() {
    std::error_code ec;
    fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (ec) {
        return false;
    }
    return fs::equivalent(exe.parent_path(), RK_BUILD_BIN_DIR, ec) && !ec;
}

// The installed plugin directory, found from where the program itself lies: with bindir
// <prefix>/bin it is <prefix>/lib/rootlesskit/plugins, so an installation made with
// `cmake --install --prefix`, or moved to another prefix, loads its own plugins. The configured
// absolute path is the fallback when /proc/self/exe cannot be read, and what a program in the
// build tree reports.
std::string installedPluginDir() {
    std::error_code ec;
    fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (ec || runningFromBuildTree()) {
        return RK_PLUGIN_INSTALL_DIR;
    }
    return (exe.parent_path() / RK_PLUGIN_DIR_FROM_BINDIR).lexically_normal().string();
}

// Appends the non-empty entries of a colon-separated list, as in $PATH.
void appendPathList(const std::string &list, std::vector<std::string> &dirs) {
    size_t start = 0;
    while (start <= list.size()) {
        size_t end = std::min(list.find(':', start), list.size());
        if (end > start) {
            dirs.push_back(list.substr(start, end - start));
        }
        start = end + 1;
    }
}

// The directories to scan, in order, each once.
std::vector<std::string> searchPath(const std::vector<std::string> &extraDirs) {
    std::vector<std::string> dirs = extraDirs;
    if (const char *env = std::getenv("ROOTLESSKIT_PLUGIN_PATH")) {
        appendPathList(env, dirs);
    }
    if (runningFromBuildTree()) {
        dirs.push_back(RK_PLUGIN_BUILD_DIR);
    }
    dirs.push_back(installedPluginDir());

    std::vector<std::string> unique;
    std::vector<std::string> seen;
    for (const std::string &dir : dirs) {
        std::string key = canonical(dir);
        if (std::find(seen.begin(), seen.end(), key) == seen.end()) {
            seen.push_back(key);
            unique.push_back(dir);
        }
    }
    return unique;
}

// The candidate files of one directory, sorted by name; none when it cannot be read.
std::vector<std::string> candidates(const std::string &dir) {
    std::vector<std::string> files;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::error_code typeError;
        if (parseFileName(it->path().string()) && it->is_regular_file(typeError)) {
            files.push_back(it->path().string());
        }
    }
    std::sort(files.begin(), files.end());
    return files;
}

}  // namespace

std::vector<std::string> supportNames(uint64_t supports) {
    return bitNames(supports, kSupportNames);
}

std::vector<std::string> needNames(uint64_t needs) {
    return bitNames(needs, kNeedNames);
}

// ---- PluginRegistry ---------------------------------------------------------------------------

PluginRegistry PluginRegistry::discover(const std::vector<std::string> &extraDirs) {
    PluginRegistry registry;
    registry.addBuiltins();
    registry.searchDirs_ = searchPath(extraDirs);

    std::vector<std::string> files;
    for (const std::string &dir : registry.searchDirs_) {
        std::vector<std::string> found = candidates(dir);
        files.insert(files.end(), found.begin(), found.end());
    }
    std::map<std::string, std::string> crashed = probePluginFiles(files, kProbeTimePerFile);
    for (const std::string &file : files) {
        auto verdict = crashed.find(file);
        registry.addFile(file, verdict != crashed.end() ? verdict->second : "");
    }
    return registry;
}

void PluginRegistry::addBuiltins() {
    addDescriptor(builtinHostNetwork(), kBuiltInPath);
    addDescriptor(builtinNoneNetwork(), kBuiltInPath);
}

void PluginRegistry::addFile(const std::string &path) {
    addFile(path, "");
}

void PluginRegistry::addFile(const std::string &path, const std::string &probeRefusal) {
    std::optional<FileName> file = parseFileName(path);
    PluginInfo info;
    info.path = path;
    if (file) {
        info.kind = file->kind;
        info.name = file->name;
    }

    // A duplicate is not even opened: its code would never run.
    if (file && first(file->kind, file->name) != nullptr) {
        add(std::move(info));
        return;
    }

    // A file that took the probe process down would take this one down too: never opened here.
    if (!probeRefusal.empty()) {
        info.refusal = probeRefusal;
        add(std::move(info));
        return;
    }

    const rkp_plugin *descriptor = nullptr;
    info.refusal = openPlugin(path, &descriptor);
    if (!info.refusal.empty()) {
        add(std::move(info));
        return;
    }
    addDescriptor(descriptor, path);
}

void PluginRegistry::addDescriptor(const rkp_plugin *descriptor, const std::string &path) {
    std::optional<FileName> file = parseFileName(path);
    PluginInfo info;
    info.path = path;
    if (file) {
        info.kind = file->kind;
        info.name = file->name;
    }
    if (descriptor != nullptr) {
        describe(info, *descriptor, file.has_value());
    }

    info.refusal = validate(descriptor, file);
    if (info.refusal.empty()) {
        info.descriptor = descriptor;
    }
    add(std::move(info));
}

void PluginRegistry::add(PluginInfo info) {
    const PluginInfo *earlier = first(info.kind, info.name);
    if (earlier != nullptr) {
        info.descriptor = nullptr;
        info.refusal =
            earlier->path == kBuiltInPath
                ? fmt::format("duplicate of the built-in {} driver \"{}\"", info.kind, info.name)
                : fmt::format("duplicate of {}, which comes first in the search path",
                              earlier->path);
    }

    auto log = logger("core");
    if (info.refusal.empty()) {
        log->debug("found {} plugin {} {} in {}", info.kind, info.name,
                   terminalSafe(info.version, 64), info.path);
    } else {
        log->debug("refused plugin {}: {}", info.path, info.refusal);
    }
    plugins_.push_back(std::move(info));
}

const PluginInfo *PluginRegistry::first(const std::string &kind, const std::string &name) const {
    if (kind.empty() || name.empty()) {
        return nullptr;
    }
    for (const PluginInfo &info : plugins_) {
        if (info.kind == kind && info.name == name) {
            return &info;
        }
    }
    return nullptr;
}

Result<const PluginInfo *> PluginRegistry::find(const std::string &kind,
                                                const std::string &name) const {
    const PluginInfo *info = first(kind, name);
    if (info == nullptr) {
        // Upstream's texts, then where we looked.
        std::string message =
            kind == "network" ? "unknown network mode: " + name : "unknown port driver: " + name;
        if (!searchDirs_.empty()) {
            message += fmt::format(" (no plugin rkp-{}-{}.so in {})", fileKind(kind), name,
                                   fmt::join(searchDirs_, ", "));
        }
        return Status::error(message, EINVAL);
    }
    if (!info->refusal.empty()) {
        return Status::error(
            fmt::format("{} plugin {} ({}) was refused: {}", kind, name, info->path, info->refusal),
            EINVAL);
    }
    return info;
}

std::vector<const PluginInfo *> PluginRegistry::withSupport(const std::string &kind,
                                                            uint64_t supports) const {
    std::vector<const PluginInfo *> found;
    for (const PluginInfo &info : plugins_) {
        if (info.kind == kind && info.refusal.empty() && (info.supports & supports) == supports) {
            found.push_back(&info);
        }
    }
    return found;
}

}  // namespace rootlesskit
