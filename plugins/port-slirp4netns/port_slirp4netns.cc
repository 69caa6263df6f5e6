// The slirp4netns port plugin: publishes ports through the hostfwd API of the slirp4netns process
// the slirp4netns network plugin started. slirp4netns itself listens on the host and forwards
// into the namespace, so this plugin has no loop and no child half. See README.md.
#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <arpa/inet.h>

#include <cerrno>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>

#include "hostfwd_client.h"
#include "rootlesskit/rkp.hpp"

#ifndef RKP_SLIRP4NETNS_VERSION
#define RKP_SLIRP4NETNS_VERSION "0.0.0"
#endif

using rootlesskit::slirp4netns::callHostfwdApi;

struct rkp_instance {
    explicit rkp_instance(const rkp_host *h) : host(h) {}

    const rkp_host *host;
    std::string apiSocket;            // from the network message's opaque object
    std::string defaultChildIp;       // the child's IPv4 address in slirp4netns' network
    std::mutex mutex;                 // guards ids
    std::map<uint64_t, int64_t> ids;  // host ID -> slirp4netns hostfwd ID
};

namespace {

// Parses text as a JSON object; what names the document in the error.
Poco::JSON::Object::Ptr parseObject(const std::string &text, const std::string &what) {
    Poco::Dynamic::Var parsed;
    try {
        parsed = Poco::JSON::Parser().parse(text);
    } catch (const Poco::Exception &e) {
        throw rkp::Error(-EINVAL, what + ": invalid JSON: " + e.displayText());
    }
    if (parsed.type() != typeid(Poco::JSON::Object::Ptr)) {
        throw rkp::Error(-EINVAL, what + ": must be a JSON object");
    }
    return parsed.extract<Poco::JSON::Object::Ptr>();
}

// "tcp4" -> "tcp"; fails for what slirp4netns cannot forward (IPv6 listeners, SCTP).
std::string slirpProto(const rkp_port_spec &spec) {
    std::string name = spec.proto_name != nullptr ? spec.proto_name : "";
    if (spec.proto == RKP_PROTO_SCTP || name.empty() || name.back() == '6') {
        throw rkp::Error(-ENOTSUP, "unsupported protocol \"" + name + "\"");
    }
    if (name.back() == '4') {
        name.pop_back();
    }
    if (name != "tcp" && name != "udp") {
        throw rkp::Error(-ENOTSUP, "unsupported protocol \"" + name + "\"");
    }
    return name;
}

// The guest address: the spec's child IP, which slirp4netns only takes as IPv4, or the default.
std::string guestAddress(const rkp_instance &inst, const rkp_port_spec &spec) {
    std::string childIp = spec.child_ip != nullptr ? spec.child_ip : "";
    if (childIp.empty()) {
        return inst.defaultChildIp;
    }
    in_addr ignored{};
    if (inet_pton(AF_INET, childIp.c_str(), &ignored) != 1) {
        throw rkp::Error(-ENOTSUP, "unsupported IP (v6?): " + childIp);
    }
    return childIp;
}

// Reads the api socket and the child IP the network plugin put into its opaque object.
void readNetworkOpaque(rkp_instance &inst, const rkp_port_context &ctx) {
    const char *json = ctx.net_opaque_json != nullptr ? ctx.net_opaque_json : "{}";
    Poco::JSON::Object::Ptr opaque = parseObject(json, "port driver slirp4netns: network opaque");
    inst.apiSocket = opaque->optValue<std::string>("api_socket", "");
    inst.defaultChildIp = opaque->optValue<std::string>("child_ip", "");
    if (inst.defaultChildIp.empty() && ctx.child_ip != nullptr) {
        inst.defaultChildIp = ctx.child_ip;
    }
    if (inst.apiSocket.empty()) {
        throw rkp::Error(-EINVAL,
                         "port driver slirp4netns: the network driver published no slirp4netns "
                         "api socket (it requires --net=slirp4netns)");
    }
    if (inst.defaultChildIp.empty()) {
        throw rkp::Error(-EINVAL, "port driver slirp4netns: the child's IP address is unknown");
    }
}

int create(const rkp_host *host, const char *configJson, rkp_instance **out, rkp_error *err) {
    return rkp::guard(err, [&] {
        if (configJson != nullptr && configJson[0] != '\0') {
            Poco::JSON::Object::Ptr config = parseObject(configJson, "slirp4netns port config");
            if (config->size() > 0) {
                throw rkp::Error(-EINVAL, "slirp4netns port config: unknown key \"" +
                                              config->begin()->first + "\" (it takes none)");
            }
        }
        *out = new rkp_instance(host);
    });
}

void destroy(rkp_instance *inst) {
    delete inst;
}

int initParent(rkp_instance *inst, const rkp_port_context *ctx, const rkp_sink *opaque,
               rkp_error *err) {
    return rkp::guard(err, [&] {
        readNetworkOpaque(*inst, *ctx);
        rkp::log(inst->host, RKP_LOG_DEBUG, "using api socket %s, child IP %s",
                 inst->apiSocket.c_str(), inst->defaultChildIp.c_str());
        rkp::sinkWrite(opaque, "{}");
    });
}

int initChild(rkp_instance *, const char *, const char *, rkp_error *) {
    return 0;
}

int addPort(rkp_instance *inst, uint64_t hostId, const rkp_port_spec *spec, rkp_error *err) {
    return rkp::guard(err, [&] {
        Poco::JSON::Object arguments;
        arguments.set("proto", slirpProto(*spec));
        arguments.set("host_addr", std::string(spec->parent_ip != nullptr ? spec->parent_ip : ""));
        arguments.set("host_port", static_cast<int>(spec->parent_port));
        arguments.set("guest_addr", guestAddress(*inst, *spec));
        arguments.set("guest_port", static_cast<int>(spec->child_port));

        std::lock_guard<std::mutex> lock(inst->mutex);
        Poco::JSON::Object::Ptr result = callHostfwdApi(inst->apiSocket, "add_hostfwd", arguments);
        Poco::Dynamic::Var id = result->get("id");
        if (id.isEmpty() || !id.isInteger()) {
            throw rkp::Error(-EIO, "slirp4netns add_hostfwd: unexpected id: " +
                                       (id.isEmpty() ? std::string("none") : id.toString()));
        }
        inst->ids[hostId] = id.convert<int64_t>();
        rkp::log(inst->host, RKP_LOG_DEBUG, "port %llu is slirp4netns hostfwd %lld",
                 static_cast<unsigned long long>(hostId),
                 static_cast<long long>(id.convert<int64_t>()));
    });
}

int removePort(rkp_instance *inst, uint64_t hostId, rkp_error *err) {
    return rkp::guard(err, [&] {
        std::lock_guard<std::mutex> lock(inst->mutex);
        auto it = inst->ids.find(hostId);
        if (it == inst->ids.end()) {
            throw rkp::Error(-ENOENT, "unknown id: " + std::to_string(hostId));
        }
        Poco::JSON::Object arguments;
        arguments.set("id", it->second);
        callHostfwdApi(inst->apiSocket, "remove_hostfwd", arguments);
        inst->ids.erase(it);
        rkp::log(inst->host, RKP_LOG_DEBUG, "removed port %llu",
                 static_cast<unsigned long long>(hostId));
    });
}

int info(rkp_instance *, const rkp_sink *out, rkp_error *err) {
    return rkp::guard(err, [&] {
        rkp::sinkWrite(out,
                       "{\"driver\":\"slirp4netns\",\"protos\":[\"tcp\",\"tcp4\",\"udp\",\"udp4\"],"
                       "\"disallowLoopbackChildIP\":true}");
    });
}

const rkp_port_ops kPortOps = {
    sizeof(rkp_port_ops), initParent, nullptr, initChild, nullptr, addPort,
    removePort,           nullptr,    info,
};

const rkp_plugin kPlugin = {
    sizeof(rkp_plugin),
    RKP_ABI_MAJOR,
    RKP_ABI_MINOR,
    RKP_KIND_PORT,
    0,
    "slirp4netns",
    RKP_SLIRP4NETNS_VERSION,
    "ports published by slirp4netns itself through its hostfwd API (IPv4 only)",
    RKP_SUP_TCP | RKP_SUP_UDP | RKP_SUP_DETACH_NETNS,
    RKP_NEED_NETNS | RKP_NEED_NET_HOSTFWD_API,
    nullptr,
    "tcp tcp4 udp udp4",
    create,
    destroy,
    nullptr,
    &kPortOps,
};

}  // namespace

RKP_DEFINE_PLUGIN(kPlugin)
