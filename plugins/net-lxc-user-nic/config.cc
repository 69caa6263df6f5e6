// Parsing and validation of the lxc-user-nic network plugin's config JSON (Poco::JSON).
#include "config.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <cerrno>
#include <cstring>

#include "rootlesskit/rkp.hpp"

namespace rootlesskit::lxc {
namespace {

[[noreturn]] void fail(const std::string &message) {
    throw rkp::Error(-EINVAL, "lxc-user-nic config: " + message);
}

Poco::JSON::Object::Ptr parseObject(const std::string &text) {
    Poco::Dynamic::Var parsed;
    try {
        parsed = Poco::JSON::Parser().parse(text);
    } catch (const Poco::Exception &e) {
        fail("invalid JSON: " + e.displayText());
    }
    if (parsed.type() != typeid(Poco::JSON::Object::Ptr)) {
        fail("must be a JSON object");
    }
    return parsed.extract<Poco::JSON::Object::Ptr>();
}

std::string stringValue(const std::string &key, const Poco::Dynamic::Var &value) {
    if (!value.isString()) {
        fail("\"" + key + "\" must be a string");
    }
    return value.extract<std::string>();
}

}  // namespace

Config parseConfig(const char *json) {
    Config config;
    if (json == nullptr || std::strlen(json) == 0) {
        return config;
    }
    Poco::JSON::Object::Ptr object = parseObject(json);  // keeps the object alive in the loop
    for (const auto &[key, value] : *object) {
        if (key == "binary") {
            config.binary = stringValue(key, value);
        } else if (key == "bridge") {
            config.bridge = stringValue(key, value);
            if (config.bridge.empty()) {
                fail("\"bridge\" must name a bridge such as lxcbr0");
            }
        } else if (key == "dhcp_timeout_seconds") {
            if (value.isEmpty() || !value.isInteger() || value.convert<long long>() < 1 ||
                value.convert<long long>() > 3600) {
                fail("\"dhcp_timeout_seconds\" must be an integer from 1 to 3600");
            }
            config.dhcpTimeoutSeconds = value.convert<int>();
        } else {
            fail("unknown key \"" + key + "\" (known: binary, bridge, dhcp_timeout_seconds)");
        }
    }
    return config;
}

}  // namespace rootlesskit::lxc
