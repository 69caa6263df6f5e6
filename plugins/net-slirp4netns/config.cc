// Parsing and validation of the slirp4netns network plugin's config JSON (Poco::JSON).
#include "config.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <cerrno>
#include <cstring>

#include "rootlesskit/rkp.hpp"

namespace rootlesskit::slirp4netns {
namespace {

constexpr const char *kPrefix = "slirp4netns config: ";

[[noreturn]] void fail(const std::string &message) {
    throw rkp::Error(-EINVAL, kPrefix + message);
}

// The top-level object of text; fails when text is not a JSON object.
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

// A value as the error message shows it: strings quoted, null as null.
std::string describe(const Poco::Dynamic::Var &value) {
    if (value.isEmpty()) {
        return "null";
    }
    if (value.isString()) {
        return "\"" + value.extract<std::string>() + "\"";
    }
    return value.toString();
}

std::string parseBinary(const Poco::Dynamic::Var &value) {
    if (!value.isString() || value.extract<std::string>().empty()) {
        fail("\"binary\" must be a non-empty string");
    }
    return value.extract<std::string>();
}

// Accepts the flag's strings and, from a profile, JSON booleans.
Mode parseMode(const std::string &key, const Poco::Dynamic::Var &value) {
    if (value.type() == typeid(bool)) {
        return value.extract<bool>() ? Mode::kTrue : Mode::kFalse;
    }
    std::string text = value.isString() ? value.extract<std::string>() : std::string("?");
    if (text == "false" || text.empty()) {
        return Mode::kFalse;
    }
    if (text == "auto") {
        return Mode::kAuto;
    }
    if (text == "true") {
        return Mode::kTrue;
    }
    fail("\"" + key + "\" must be \"auto\", \"true\" or \"false\", got " + describe(value));
}

int parseTimeout(const Poco::Dynamic::Var &value) {
    if (value.isEmpty() || !value.isInteger() || value.convert<long long>() < 1 ||
        value.convert<long long>() > 3600) {
        fail("\"ready_timeout_seconds\" must be an integer from 1 to 3600, got " + describe(value));
    }
    return value.convert<int>();
}

}  // namespace

Config parseConfig(const char *json) {
    Config config;
    if (json == nullptr || std::strlen(json) == 0) {
        return config;
    }

    Poco::JSON::Object::Ptr object = parseObject(json);
    for (const auto &[key, value] : *object) {
        if (key == "binary") {
            config.binary = parseBinary(value);
        } else if (key == "sandbox") {
            config.sandbox = parseMode(key, value);
        } else if (key == "seccomp") {
            config.seccomp = parseMode(key, value);
        } else if (key == "ready_timeout_seconds") {
            config.readyTimeoutSeconds = parseTimeout(value);
        } else {
            fail("unknown key \"" + key +
                 "\" (known: binary, sandbox, seccomp, ready_timeout_seconds)");
        }
    }
    return config;
}

}  // namespace rootlesskit::slirp4netns
