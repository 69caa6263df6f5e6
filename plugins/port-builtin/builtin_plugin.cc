// The builtin port driver's plugin entry: descriptor, configuration, and the C entry points that
// route each call to the parent half (ParentForwarder) or the child half (ChildDialer).
#include <cerrno>
#include <memory>
#include <sstream>
#include <string>

#include <Poco/Dynamic/Var.h>
#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include "child_dialer.h"
#include "listener.h"
#include "parent_forwarder.h"
#include "rootlesskit/rkp.hpp"

struct rkp_instance {
    const rkp_host *host = nullptr;
    rkbuiltin::ParentForwarder::Config config;
    std::unique_ptr<rkbuiltin::ParentForwarder> parent;
    std::unique_ptr<rkbuiltin::ChildDialer> child;
};

namespace {

constexpr const char *kSocketName = "/.bp.sock";
constexpr const char *kOpaqueSocketKey = "builtin.socketpath";
constexpr const char *kOpaqueTransparentKey = "builtin.source-ip-transparent";
constexpr int64_t kMaxIdleSeconds = 86400;

Poco::JSON::Object::Ptr parseObject(const std::string &json, const char *what) {
    try {
        Poco::JSON::Parser parser;
        Poco::Dynamic::Var value = parser.parse(json);
        if (value.type() != typeid(Poco::JSON::Object::Ptr)) {
            throw rkp::Error(-EINVAL, std::string(what) + ": not a JSON object");
        }
        return value.extract<Poco::JSON::Object::Ptr>();
    } catch (const Poco::Exception &e) {
        throw rkp::Error(-EINVAL, std::string(what) + ": " + e.displayText());
    }
}

// Reads the profile's config section: {"udp_idle_timeout_seconds": N}, N in 1..86400.
void parseConfig(const char *json, rkbuiltin::ParentForwarder::Config *config) {
    std::string text = json != nullptr && json[0] != '\0' ? json : "{}";
    Poco::JSON::Object::Ptr object = parseObject(text, "config");
    for (const auto &[key, value] : *object) {
        if (key != "udp_idle_timeout_seconds") {
            throw rkp::Error(-EINVAL, "config: unknown key \"" + key + "\"");
        }
        if (!value.isInteger() || value.convert<int64_t>() < 1 ||
            value.convert<int64_t>() > kMaxIdleSeconds) {
            throw rkp::Error(-EINVAL,
                             "config: udp_idle_timeout_seconds: must be an integer from 1 to " +
                                 std::to_string(kMaxIdleSeconds));
        }
        config->udpIdleTimeoutMs = static_cast<uint64_t>(value.convert<int64_t>()) * 1000;
    }
}

int create(const rkp_host *host, const char *configJson, rkp_instance **out, rkp_error *err) {
    return rkp::guard(err, [&] {
        auto instance = std::make_unique<rkp_instance>();
        instance->host = host;
        parseConfig(configJson, &instance->config);
        *out = instance.release();
        return 0;
    });
}

void destroy(rkp_instance *instance) {
    delete instance;
}

int initParent(rkp_instance *inst, const rkp_port_context *ctx, const rkp_sink *opaque,
               rkp_error *err) {
    return rkp::guard(err, [&] {
        bool transparent = ctx != nullptr && ctx->source_ip_transparent != 0;
        std::string path = std::string(inst->host->state_dir) + kSocketName;
        auto parent = std::make_unique<rkbuiltin::ParentForwarder>(inst->host, inst->config);
        int rc = parent->init(path, err);
        if (rc < 0) {
            return rc;
        }
        inst->parent = std::move(parent);

        Poco::JSON::Object object;
        object.set(kOpaqueSocketKey, path);
        object.set(kOpaqueTransparentKey, transparent ? "true" : "false");
        std::ostringstream text;
        object.stringify(text);
        rkp::sinkWrite(opaque, text.str());
        return 0;
    });
}

int runParent(rkp_instance *inst, int quitFd, rkp_error *err) {
    return rkp::guard(err, [&] {
        if (!inst->parent) {
            return rkp::setError(err, -EINVAL, "run parent half: init_parent was not called");
        }
        return inst->parent->run(quitFd, err);
    });
}

int initChild(rkp_instance *inst, const char *opaqueJson, const char *detachedNetnsPath,
              rkp_error *err) {
    return rkp::guard(err, [&] {
        Poco::JSON::Object::Ptr object =
            parseObject(opaqueJson != nullptr ? opaqueJson : "", "init child: opaque object");
        std::string path = object->optValue<std::string>(kOpaqueSocketKey, "");
        if (path.empty()) {
            return rkp::setError(err, -EINVAL, "init child: opaque object lacks %s",
                                 kOpaqueSocketKey);
        }
        bool transparent = object->optValue<std::string>(kOpaqueTransparentKey, "") == "true";
        auto child = std::make_unique<rkbuiltin::ChildDialer>(inst->host);
        int rc = child->init(path, detachedNetnsPath, transparent, err);
        if (rc < 0) {
            return rc;
        }
        inst->child = std::move(child);
        return 0;
    });
}

int runChild(rkp_instance *inst, int quitFd, rkp_error *err) {
    return rkp::guard(err, [&] {
        if (!inst->child) {
            return rkp::setError(err, -EINVAL, "run child half: init_child was not called");
        }
        return inst->child->run(quitFd, err);
    });
}

int addPort(rkp_instance *inst, uint64_t id, const rkp_port_spec *spec, rkp_error *err) {
    return rkp::guard(err, [&] {
        if (!inst->parent) {
            return rkp::setError(err, -EINVAL, "add port: init_parent was not called");
        }
        rkbuiltin::PortPlan plan;
        int rc = rkbuiltin::openPort(*spec, id, &plan, err);
        if (rc < 0) {
            return rc;
        }
        std::string name = plan.name;
        std::string target = plan.target.toString();
        rc = inst->parent->addPort(std::move(plan), err);
        if (rc < 0) {
            return rc;
        }
        rkp::log(inst->host, RKP_LOG_DEBUG, "port %llu: listening on %s, forwarding to %s",
                 static_cast<unsigned long long>(id), name.c_str(), target.c_str());
        return 0;
    });
}

int removePort(rkp_instance *inst, uint64_t id, rkp_error *err) {
    return rkp::guard(err, [&] {
        if (!inst->parent) {
            return rkp::setError(err, -ENOENT, "unknown id: %llu",
                                 static_cast<unsigned long long>(id));
        }
        int rc = inst->parent->removePort(id, err);
        if (rc == 0) {
            rkp::log(inst->host, RKP_LOG_DEBUG, "port %llu: removed",
                     static_cast<unsigned long long>(id));
        }
        return rc;
    });
}

int info(rkp_instance *, const rkp_sink *out, rkp_error *err) {
    return rkp::guard(err, [&] {
        Poco::JSON::Object object(Poco::JSON_PRESERVE_KEY_ORDER);
        object.set("driver", "builtin");
        Poco::JSON::Array protos;
        for (const char *proto : {"tcp", "tcp4", "tcp6", "udp", "udp4", "udp6"}) {
            protos.add(std::string(proto));
        }
        object.set("protos", protos);
        std::ostringstream text;
        object.stringify(text);
        rkp::sinkWrite(out, text.str());
        return 0;
    });
}

const rkp_port_ops kPortOps = {
    sizeof(rkp_port_ops),
    initParent,
    runParent,
    initChild,
    runChild,
    addPort,
    removePort,
    nullptr,  // list_ports: the host keeps the table
    info,
};

const rkp_plugin kPlugin = {
    sizeof(rkp_plugin),
    RKP_ABI_MAJOR,
    0,  // works with every 1.x host
    RKP_KIND_PORT,
    0,
    "builtin",
    "1.0.0",
    "forwards published ports from the parent process: splice(2) for TCP, flows for UDP",
    RKP_SUP_TCP | RKP_SUP_UDP | RKP_SUP_IPV6 | RKP_SUP_DETACH_NETNS | RKP_SUP_SOURCE_IP,
    RKP_NEED_NETNS | RKP_NEED_PARENT_LOOP | RKP_NEED_CHILD_LOOP,
    nullptr,
    "tcp tcp4 tcp6 udp udp4 udp6",
    create,
    destroy,
    nullptr,
    &kPortOps,
};

}  // namespace

RKP_DEFINE_PLUGIN(kPlugin)
