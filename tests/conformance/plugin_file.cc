// Plugin loading and descriptor checks; see plugin_file.h.
#include "plugin_file.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <sstream>

namespace rkp::conformance {

namespace {

// 1.0 sizes: the end of each struct's last 1.0 member. (rkp_plugin::port is a pointer.)
// NOLINTNEXTLINE(bugprone-sizeof-expression)
constexpr size_t kPluginSizeV10 = offsetof(rkp_plugin, port) + sizeof(rkp_plugin::port);
constexpr size_t kNetOpsSizeV10 = offsetof(rkp_net_ops, info) + sizeof(rkp_net_ops::info);
constexpr size_t kPortOpsSizeV10 = offsetof(rkp_port_ops, info) + sizeof(rkp_port_ops::info);

constexpr uint64_t kNetOnlyNeeds = RKP_NEED_PORT_IMPLICIT | RKP_NEED_OWN_IFACE_SETUP;
constexpr uint64_t kPortOnlyNeeds = RKP_NEED_CHILD_LOOP | RKP_NEED_NET_IMPLICIT_PORTS |
                                    RKP_NEED_NET_HOSTFWD_API | RKP_NEED_PARENT_LOOP;
constexpr uint64_t kKnownNeeds = RKP_NEED_NETNS | kNetOnlyNeeds | kPortOnlyNeeds;

void parseFileName(LoadedPlugin &plugin) {
    std::string file = std::filesystem::path(plugin.path).filename().string();
    const std::string suffix = ".so";
    if (file.size() <= suffix.size() || file.compare(file.size() - 3, 3, suffix) != 0) {
        return;
    }
    std::string stem = file.substr(0, file.size() - suffix.size());
    for (const auto &[prefix, kind] :
         {std::pair<std::string, std::string>{"rkp-net-", "network"}, {"rkp-port-", "port"}}) {
        if (stem.rfind(prefix, 0) == 0 && stem.size() > prefix.size()) {
            plugin.fileKind = kind;
            plugin.fileName = stem.substr(prefix.size());
        }
    }
}

bool validName(const char *name) {
    if (name == nullptr || *name == '\0') {
        return false;
    }
    for (const char *c = name; *c != '\0'; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-')) {
            return false;
        }
    }
    return true;
}

bool empty(const char *text) {
    return text == nullptr || *text == '\0';
}

void checkNames(const LoadedPlugin &p, std::vector<std::string> &problems) {
    const rkp_plugin &d = *p.descriptor;
    if (p.fileKind.empty()) {
        problems.push_back("file name " + p.path +
                           " is not rkp-net-<name>.so or rkp-port-<name>.so");
    } else if (p.fileKind != (p.isNetwork() ? "network" : "port")) {
        problems.push_back("declares kind " + std::string(p.isNetwork() ? "network" : "port") +
                           " but the file name says " + p.fileKind);
    }
    if (!validName(d.name)) {
        problems.push_back("name \"" + std::string(d.name != nullptr ? d.name : "") +
                           "\" is not made of [a-z0-9-]");
    } else if (!p.fileName.empty() && p.fileName != d.name) {
        problems.push_back("declares name \"" + std::string(d.name) +
                           "\" but the file name says \"" + p.fileName + "\"");
    }
    if (empty(d.version) || empty(d.description)) {
        problems.push_back("version and description must be non-empty strings");
    }
    if (d.abi_minor > RKP_ABI_MINOR) {
        problems.push_back("needs ABI 1." + std::to_string(d.abi_minor) +
                           ", newer than this "
                           "suite's 1." +
                           std::to_string(RKP_ABI_MINOR));
    }
}

void checkFunctions(const rkp_plugin &d, std::vector<std::string> &problems) {
    std::vector<std::pair<const char *, bool>> required = {{"create", d.create != nullptr},
                                                           {"destroy", d.destroy != nullptr}};
    if (d.kind == RKP_KIND_NETWORK) {
        required.insert(required.end(), {{"configure_parent", d.net->configure_parent != nullptr},
                                         {"teardown", d.net->teardown != nullptr},
                                         {"info", d.net->info != nullptr}});
    } else {
        const rkp_port_ops &ops = *d.port;
        required.insert(required.end(), {{"init_parent", ops.init_parent != nullptr},
                                         {"init_child", ops.init_child != nullptr},
                                         {"add_port", ops.add_port != nullptr},
                                         {"remove_port", ops.remove_port != nullptr},
                                         {"info", ops.info != nullptr},
                                         {"run_parent (needs parent-loop)",
                                          !(d.needs & RKP_NEED_PARENT_LOOP) || ops.run_parent},
                                         {"run_child (needs child-loop)",
                                          !(d.needs & RKP_NEED_CHILD_LOOP) || ops.run_child}});
    }
    for (const auto &[name, present] : required) {
        if (!present) {
            problems.push_back(std::string("required function ") + name + " is NULL");
        }
    }
    uint32_t opsSize = d.kind == RKP_KIND_NETWORK ? d.net->struct_size : d.port->struct_size;
    if (opsSize < (d.kind == RKP_KIND_NETWORK ? kNetOpsSizeV10 : kPortOpsSizeV10)) {
        size_t minimum = d.kind == RKP_KIND_NETWORK ? kNetOpsSizeV10 : kPortOpsSizeV10;
        problems.push_back("ops table struct_size " + std::to_string(opsSize) +
                           " is smaller than ABI 1.0's " + std::to_string(minimum));
    }
}

void checkNeeds(const rkp_plugin &d, std::vector<std::string> &problems) {
    if (d.needs & ~kKnownNeeds) {
        problems.push_back("needs bits unknown to ABI 1." + std::to_string(RKP_ABI_MINOR));
    }
    uint64_t foreign =
        d.kind == RKP_KIND_NETWORK ? d.needs & kPortOnlyNeeds : d.needs & kNetOnlyNeeds;
    if (foreign != 0) {
        problems.push_back("needs bits that only the other kind of plugin may declare");
    }
}

// Port plugins list their protos; each supported protocol appears among them.
void checkProtos(const rkp_plugin &d, std::vector<std::string> &problems) {
    if (d.kind == RKP_KIND_NETWORK) {
        if (!empty(d.protos)) {
            problems.push_back("a network plugin declares protos");
        }
        if (d.default_ifname != nullptr && std::string(d.default_ifname).size() >= 16) {
            problems.push_back("default_ifname is longer than an interface name may be (15)");
        }
        return;
    }
    std::istringstream in(d.protos != nullptr ? d.protos : "");
    std::vector<std::string> protos;
    for (std::string word; in >> word;) {
        protos.push_back(word);
    }
    auto has = [&](const std::string &proto) {
        return std::find(protos.begin(), protos.end(), proto) != protos.end();
    };
    if (protos.empty()) {
        problems.push_back("a port plugin must list its protos");
    }
    if ((d.supports & RKP_SUP_TCP) && !has("tcp")) {
        problems.push_back("supports tcp but protos does not list it");
    }
    if ((d.supports & RKP_SUP_UDP) && !has("udp")) {
        problems.push_back("supports udp but protos does not list it");
    }
    if (d.default_mtu != 0 || !empty(d.default_ifname)) {
        problems.push_back("a port plugin sets default_mtu or default_ifname");
    }
}

}  // namespace

bool loadPlugin(const std::string &path, LoadedPlugin *plugin, std::string *error) {
    plugin->path = path;
    parseFileName(*plugin);
    void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        *error = "cannot load " + path + ": " + dlerror();
        return false;
    }
    plugin->entry = reinterpret_cast<rkp_plugin_entry_fn>(dlsym(handle, RKP_PLUGIN_ENTRY_SYMBOL));
    if (plugin->entry == nullptr) {
        *error = path + " is not a rootlesskit plugin: undefined symbol rkp_plugin_entry";
        return false;
    }
    const rkp_plugin *d = plugin->entry(RKP_ABI_MAJOR, RKP_ABI_MINOR);
    std::string abi = std::to_string(RKP_ABI_MAJOR) + "." + std::to_string(RKP_ABI_MINOR);
    if (d == nullptr) {
        *error = path + " declined ABI " + abi;
    } else if (d->abi_major != RKP_ABI_MAJOR) {
        *error =
            path + " has ABI major " + std::to_string(d->abi_major) + "; this suite speaks " + abi;
    } else if (d->struct_size < kPluginSizeV10) {
        *error = path + ": descriptor struct_size " + std::to_string(d->struct_size) +
                 " is smaller than ABI 1.0's " + std::to_string(kPluginSizeV10);
    } else if (!(d->kind == RKP_KIND_NETWORK && d->net != nullptr && d->port == nullptr) &&
               !(d->kind == RKP_KIND_PORT && d->port != nullptr && d->net == nullptr)) {
        *error = path + ": kind " + std::to_string(d->kind) + " does not match its ops table";
    } else if (!validName(d->name)) {
        // The host refuses it too, and every test and message would need the name.
        *error = path + ": name \"" + std::string(d->name != nullptr ? d->name : "") +
                 "\" is not made of [a-z0-9-]";
    } else {
        plugin->descriptor = d;
        return true;
    }
    return false;
}

std::vector<std::string> descriptorProblems(const LoadedPlugin &plugin) {
    std::vector<std::string> problems;
    checkNames(plugin, problems);
    checkFunctions(*plugin.descriptor, problems);
    checkNeeds(*plugin.descriptor, problems);
    checkProtos(*plugin.descriptor, problems);
    return problems;
}

std::string pairingProblem(const rkp_plugin &port, const rkp_plugin *net) {
    std::string name = port.name;
    uint64_t netSupports = net != nullptr ? net->supports : 0;
    if ((port.needs & RKP_NEED_NET_HOSTFWD_API) && !(netSupports & RKP_SUP_HOSTFWD_API)) {
        return "port plugin " + name +
               " needs a network plugin that supports hostfwd-api: "
               "pass one with --net";
    }
    if ((port.needs & RKP_NEED_NET_IMPLICIT_PORTS) && !(netSupports & RKP_SUP_IMPLICIT_PORTS)) {
        return "port plugin " + name +
               " needs a network plugin that supports implicit-ports: "
               "pass one with --net";
    }
    if (net != nullptr && (port.needs & RKP_NEED_NETNS) && !(net->needs & RKP_NEED_NETNS)) {
        return "port plugin " + name + " needs a network namespace, which network plugin " +
               net->name + " does not create";
    }
    if (net != nullptr && (net->needs & RKP_NEED_PORT_IMPLICIT) &&
        !(port.supports & RKP_SUP_IMPLICIT_PORTS)) {
        return "network plugin " + std::string(net->name) +
               " pairs only with a port plugin that "
               "supports implicit-ports";
    }
    return "";
}

}  // namespace rkp::conformance
