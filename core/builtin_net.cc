// The built-in "host" and "none" network drivers as static rkp_plugin descriptors.
#include "core/builtin_net.h"

#include <cerrno>
#include <exception>
#include <string>

#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include "core/version.h"
#include "rootlesskit/rkp.hpp"

namespace rootlesskit {

namespace {

// Neither driver has settings: the config must be an empty JSON object.
int createNoConfig(const rkp_host *, const char *configJson, rkp_instance **out, rkp_error *err) {
    return rkp::guard(err, [&] {
        Poco::JSON::Object::Ptr object;
        try {
            Poco::JSON::Parser parser;
            object = parser.parse(configJson != nullptr ? configJson : "{}")
                         .extract<Poco::JSON::Object::Ptr>();
        } catch (const Poco::Exception &e) {
            // message(), not displayText(): Poco's class name means nothing to a user.
            std::string why = e.message().empty() ? e.displayText() : e.message();
            return rkp::setError(err, -EINVAL, "config: not a JSON object: %s", why.c_str());
        }
        if (object->size() != 0) {
            std::string key = object->begin()->first;
            return rkp::setError(err, -EINVAL, "config: unknown key \"%s\"", key.c_str());
        }
        *out = nullptr;
        return 0;
    });
}

void destroyNothing(rkp_instance *) {}

int configureEmpty(rkp_instance *, const rkp_net_params *, const rkp_sink *out, rkp_error *) {
    rkp::sinkWrite(out, "{}");
    return 0;
}

int teardownNothing(rkp_instance *, rkp_error *) {
    return 0;
}

int infoHost(rkp_instance *, const rkp_sink *, rkp_error *) {
    return 0;
}

int infoNone(rkp_instance *, const rkp_sink *out, rkp_error *) {
    rkp::sinkWrite(out, R"({"driver":"none"})");
    return 0;
}

const rkp_net_ops kHostOps = {
    sizeof(rkp_net_ops), nullptr, configureEmpty, nullptr, nullptr, teardownNothing, infoHost,
};

const rkp_net_ops kNoneOps = {
    sizeof(rkp_net_ops), nullptr, configureEmpty, nullptr, nullptr, teardownNothing, infoNone,
};

const rkp_plugin kHost = {
    sizeof(rkp_plugin),
    RKP_ABI_MAJOR,
    RKP_ABI_MINOR,
    RKP_KIND_NETWORK,
    0,
    "host",
    kVersion,
    "the host's network, no network namespace",
    RKP_SUP_DETACH_NETNS,  // upstream still creates an unconfigured detached namespace
    0,
    "",
    nullptr,
    createNoConfig,
    destroyNothing,
    &kHostOps,
    nullptr,
};

const rkp_plugin kNone = {
    sizeof(rkp_plugin),
    RKP_ABI_MAJOR,
    RKP_ABI_MINOR,
    RKP_KIND_NETWORK,
    0,
    "none",
    kVersion,
    "a network namespace with loopback only",
    RKP_SUP_DETACH_NETNS,
    RKP_NEED_NETNS,
    "",
    nullptr,
    createNoConfig,
    destroyNothing,
    &kNoneOps,
    nullptr,
};

}  // namespace

const rkp_plugin *builtinHostNetwork() {
    return &kHost;
}
const rkp_plugin *builtinNoneNetwork() {
    return &kNone;
}

}  // namespace rootlesskit
