// Parsing and validation of the pasta network plugin's config JSON (Poco::JSON).
#include "config.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <cerrno>
#include <cstring>

#include "rootlesskit/rkp.hpp"

namespace rootlesskit::pasta {
namespace {

[[noreturn]] void fail(const std::string &message) {
    throw rkp::Error(-EINVAL, "pasta config: " + message);
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

std::string describe(const Poco::Dynamic::Var &value) {
    if (value.isEmpty()) {
        return "null";
    }
    return value.isString() ? "\"" + value.extract<std::string>() + "\"" : value.toString();
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
            if (!value.isString() || value.extract<std::string>().empty()) {
                fail("\"binary\" must be a non-empty string");
            }
            config.binary = value.extract<std::string>();
        } else if (key == "ready_timeout_seconds") {
            if (value.isEmpty() || !value.isInteger() || value.convert<long long>() < 1 ||
                value.convert<long long>() > 3600) {
                fail("\"ready_timeout_seconds\" must be an integer from 1 to 3600, got " +
                     describe(value));
            }
            config.readyTimeoutSeconds = value.convert<int>();
        } else {
            fail("unknown key \"" + key + "\" (known: binary, ready_timeout_seconds)");
        }
    }
    return config;
}

}  // namespace rootlesskit::pasta
