// The implicit port driver: descriptor and C entry points. It forwards nothing itself: the
// network (pasta) forwards every port a process listens on inside the namespace, and this driver
// reports those ports (GET /v1/ports, rootlessctl list-ports) and explains that they cannot be
// added or removed through the API. See README.md.
#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

#include "listeners.h"
#include "rootlesskit/rkp.hpp"

#ifndef RKP_IMPLICIT_VERSION
#define RKP_IMPLICIT_VERSION "0.0.0"
#endif

using namespace rootlesskit::implicit;

struct rkp_instance {
    const rkp_host *host = nullptr;
    std::string detachedNetnsPath;  // "" unless --detach-netns (host-side path)
    std::mutex mutex;               // guards the rest: list/remove come from API threads
    // A port keeps its ID for the whole run, also when its listener goes away and comes back.
    std::map<std::tuple<uint32_t, uint16_t>, uint64_t> ids;
    uint64_t nextId = 1;
    std::map<uint64_t, std::tuple<uint32_t, uint16_t>> listed;  // the last list_ports result
};

namespace {

// The nsfs inode of the child's network namespace: the detached one, or the child's own. The
// child's PID comes from <state-dir>/child_pid, written before the API serves requests.
uint64_t netnsInode(const rkp_instance &inst) {
    std::string path = inst.detachedNetnsPath;
    if (path.empty()) {
        std::ifstream in(std::string(inst.host->state_dir) + "/child_pid");
        std::string pid;
        if (!(in >> pid)) {
            throw rkp::Error(-ENOENT, "list ports: the child's PID is not known yet");
        }
        path = "/proc/" + pid + "/ns/net";
    }
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) {
        throw rkp::Error(-errno, "list ports: stat " + path + ": " + std::strerror(errno));
    }
    return st.st_ino;
}

// One entry per protocol and port, whatever the families and addresses bound: pasta listens on
// the host's every address for it. childIP is the address bound inside when there is one
// specific address, else "".
struct PortEntry {
    std::string childIp;
    bool specific = true;
};

std::map<std::tuple<uint32_t, uint16_t>, PortEntry> groupByPort(
    const std::vector<Listener> &listeners) {
    std::map<std::tuple<uint32_t, uint16_t>, PortEntry> ports;
    for (const Listener &l : listeners) {
        bool wildcard = l.address == "0.0.0.0" || l.address == "::";
        auto [it, inserted] = ports.try_emplace({l.proto, l.port});
        PortEntry &entry = it->second;
        if (inserted) {
            entry.childIp = wildcard ? "" : l.address;
            entry.specific = !wildcard;
        } else if (wildcard || entry.childIp != l.address) {
            entry.childIp.clear();
            entry.specific = false;
        }
    }
    return ports;
}

// The driver has no settings: the config must be an empty JSON object. Returns "" when it is,
// else the error text naming the first key (or what is wrong with the text).
std::string checkEmptyConfig(const char *json) {
    if (json == nullptr || *json == '\0') {
        return "";
    }
    Poco::Dynamic::Var parsed;
    try {
        parsed = Poco::JSON::Parser().parse(json);
    } catch (const Poco::Exception &e) {
        return "implicit config: invalid JSON: " + e.displayText();
    }
    if (parsed.type() != typeid(Poco::JSON::Object::Ptr)) {
        return "implicit config: must be a JSON object";
    }
    Poco::JSON::Object::Ptr object = parsed.extract<Poco::JSON::Object::Ptr>();
    if (object->size() == 0) {
        return "";
    }
    return "implicit config: unknown key \"" + object->begin()->first +
           "\" (the driver takes no settings)";
}

int create(const rkp_host *host, const char *configJson, rkp_instance **out, rkp_error *err) {
    std::string invalid = checkEmptyConfig(configJson);
    if (!invalid.empty()) {
        return rkp::setErrorMessage(err, -EINVAL, invalid);
    }
    return rkp::guard(err, [&] {
        auto inst = std::make_unique<rkp_instance>();
        inst->host = host;
        *out = inst.release();
    });
}

void destroy(rkp_instance *inst) {
    delete inst;
}

int initParent(rkp_instance *inst, const rkp_port_context *ctx, const rkp_sink *opaque,
               rkp_error *err) {
    return rkp::guard(err, [&] {
        if (ctx->detached_netns_path != nullptr) {
            inst->detachedNetnsPath = ctx->detached_netns_path;
        }
        rkp::sinkWrite(opaque, "{}");
    });
}

// Nothing runs in the child: the network forwards.
int initChild(rkp_instance *, const char *, const char *, rkp_error *) {
    return 0;
}

int addPort(rkp_instance *, uint64_t, const rkp_port_spec *spec, rkp_error *err) {
    return rkp::setError(err, -ENOTSUP,
                         "port driver \"implicit\" cannot add ports: the network forwards every "
                         "port a process listens on inside the namespace, so listen on port %u "
                         "there instead",
                         static_cast<unsigned>(spec->child_port));
}

int removePort(rkp_instance *inst, uint64_t id, rkp_error *err) {
    std::lock_guard<std::mutex> lock(inst->mutex);
    if (inst->listed.count(id) == 0) {
        return rkp::setError(err, -ENOENT, "unknown id: %llu", static_cast<unsigned long long>(id));
    }
    return rkp::setError(err, -ENOTSUP,
                         "port driver \"implicit\" cannot remove port %llu: it is forwarded for "
                         "as long as a process inside the namespace listens on it",
                         static_cast<unsigned long long>(id));
}

int listPorts(rkp_instance *inst, rkp_port_visit visit, void *visitCtx, rkp_error *err) {
    return rkp::guard(err, [&] {
        NamespaceMembers members = findNamespaceMembers(netnsInode(*inst));
        auto ports = groupByPort(namespaceListeners(members));

        std::lock_guard<std::mutex> lock(inst->mutex);
        inst->listed.clear();
        for (const auto &[key, entry] : ports) {
            auto [it, inserted] = inst->ids.try_emplace(key, inst->nextId);
            if (inserted) {
                inst->nextId++;
            }
            inst->listed.emplace(it->second, key);

            const auto &[proto, port] = key;
            rkp_port_spec spec{};
            spec.struct_size = sizeof(spec);
            spec.proto = proto;
            spec.family = RKP_FAMILY_ANY;
            spec.parent_port = port;
            spec.child_port = port;
            spec.proto_name = proto == RKP_PROTO_TCP ? "tcp" : "udp";
            spec.parent_ip = "";
            spec.child_ip = entry.childIp.c_str();
            visit(visitCtx, it->second, &spec);
        }
    });
}

// No "portDriver" in GET /v1/info, as upstream: clients (Docker's port proxy) read its absence
// as "the network forwards ports implicitly".
int info(rkp_instance *, const rkp_sink *, rkp_error *) {
    return 0;
}

const rkp_port_ops kPortOps = {
    sizeof(rkp_port_ops), initParent, nullptr, initChild, nullptr, addPort,
    removePort,           listPorts,  info,
};

const rkp_plugin kPlugin = {
    sizeof(rkp_plugin),
    RKP_ABI_MAJOR,
    RKP_ABI_MINOR,
    RKP_KIND_PORT,
    0,
    "implicit",
    RKP_IMPLICIT_VERSION,
    "reports the ports the network forwards by itself (pasta); nothing to add or remove",
    RKP_SUP_TCP | RKP_SUP_UDP | RKP_SUP_IPV6 | RKP_SUP_DETACH_NETNS | RKP_SUP_SOURCE_IP |
        RKP_SUP_IMPLICIT_PORTS,
    RKP_NEED_NETNS | RKP_NEED_NET_IMPLICIT_PORTS,
    nullptr,
    "tcp udp",
    create,
    destroy,
    nullptr,
    &kPortOps,
};

}  // namespace

RKP_DEFINE_PLUGIN(kPlugin)
