// The REST API's JSON documents and the Go-compatible JSON writer.
#include "core/api_json.h"

#include <cctype>
#include <cstdint>
#include <limits>
#include <string_view>

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/ParseHandler.h>
#include <Poco/JSON/Parser.h>

namespace rootlesskit {

namespace {

using Poco::Dynamic::Var;
using Poco::JSON::Array;
using Poco::JSON::Object;

bool isObject(const Var &v) {
    return !v.isEmpty() && v.type() == typeid(Object::Ptr);
}
bool isArray(const Var &v) {
    return !v.isEmpty() && v.type() == typeid(Array::Ptr);
}

// ---- Writing ------------------------------------------------------------------------------------

// Length of the valid UTF-8 sequence starting at s[i], or 0 when the bytes there are not one
// (overlong forms, surrogates and code points past U+10FFFF count as invalid, as in Go).
size_t utf8SequenceLength(std::string_view s, size_t i, uint32_t *codePoint) {
    auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char c = byte(i);
    size_t length = c < 0xC2 ? 0 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF5 ? 4 : 0;
    if (length == 0 || i + length > s.size()) {
        return 0;
    }

    uint32_t cp = c & (0xFF >> (length + 1));
    for (size_t k = 1; k < length; ++k) {
        if ((byte(i + k) & 0xC0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (byte(i + k) & 0x3F);
    }
    bool overlong = (length == 3 && cp < 0x800) || (length == 4 && cp < 0x10000);
    if (overlong || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
        return 0;
    }
    *codePoint = cp;
    return length;
}

void appendUnicodeEscape(std::string &out, uint32_t cp) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += "\\u";
    for (int shift = 12; shift >= 0; shift -= 4) {
        out += kHex[(cp >> shift) & 0xF];
    }
}

// Go's encoding/json string encoding with HTML escaping on (json.Marshal's default).
void appendQuoted(std::string &out, std::string_view s) {
    out += '"';
    for (size_t i = 0; i < s.size();) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            switch (c) {
                case '"':
                    out += "\\\"";
                    break;
                case '\\':
                    out += "\\\\";
                    break;
                case '\n':
                    out += "\\n";
                    break;
                case '\r':
                    out += "\\r";
                    break;
                case '\t':
                    out += "\\t";
                    break;
                case '\b':
                    out += "\\b";
                    break;
                case '\f':
                    out += "\\f";
                    break;
                case '<':
                case '>':
                case '&':
                    appendUnicodeEscape(out, c);
                    break;
                default:
                    if (c < 0x20) {
                        appendUnicodeEscape(out, c);
                    } else {
                        out += static_cast<char>(c);
                    }
            }
            ++i;
            continue;
        }

        uint32_t cp = 0;
        size_t length = utf8SequenceLength(s, i, &cp);
        if (length == 0) {
            out += "\\ufffd";
            ++i;
        } else if (cp == 0x2028 || cp == 0x2029) {
            appendUnicodeEscape(out, cp);
            i += length;
        } else {
            out.append(s.substr(i, length));
            i += length;
        }
    }
    out += '"';
}

void appendValue(std::string &out, const Var &value, int indent, int depth);

void appendNewline(std::string &out, int indent, int depth) {
    out += '\n';
    out.append(static_cast<size_t>(indent) * static_cast<size_t>(depth), ' ');
}

void appendObject(std::string &out, const Object &object, int indent, int depth) {
    std::vector<std::string> names = object.getNames();
    if (names.empty()) {
        out += "{}";
        return;
    }
    out += '{';
    for (size_t i = 0; i < names.size(); ++i) {
        if (i > 0) {
            out += ',';
        }
        if (indent > 0) {
            appendNewline(out, indent, depth + 1);
        }
        appendQuoted(out, names[i]);
        out += indent > 0 ? ": " : ":";
        appendValue(out, object.get(names[i]), indent, depth + 1);
    }
    if (indent > 0) {
        appendNewline(out, indent, depth);
    }
    out += '}';
}

void appendArray(std::string &out, const Array &array, int indent, int depth) {
    if (array.size() == 0) {
        out += "[]";
        return;
    }
    out += '[';
    for (size_t i = 0; i < array.size(); ++i) {
        if (i > 0) {
            out += ',';
        }
        if (indent > 0) {
            appendNewline(out, indent, depth + 1);
        }
        appendValue(out, array.get(static_cast<unsigned>(i)), indent, depth + 1);
    }
    if (indent > 0) {
        appendNewline(out, indent, depth);
    }
    out += ']';
}

void appendValue(std::string &out, const Var &value, int indent, int depth) {
    if (value.isEmpty()) {
        out += "null";
    } else if (isObject(value)) {
        Object::Ptr object = value.extract<Object::Ptr>();
        appendObject(out, *object, indent, depth);
    } else if (isArray(value)) {
        Array::Ptr array = value.extract<Array::Ptr>();
        appendArray(out, *array, indent, depth);
    } else if (value.isString()) {
        appendQuoted(out, value.extract<std::string>());
    } else if (value.isBoolean()) {
        out += value.convert<bool>() ? "true" : "false";
    } else {
        // Integers print exactly; the schemas carry no fractional numbers.
        out += value.convert<std::string>();
    }
}

// ---- Reading ------------------------------------------------------------------------------------

std::string describe(const Var &v) {
    if (isObject(v)) {
        return "an object";
    }
    if (isArray(v)) {
        return "an array";
    }
    if (v.isString()) {
        return "a string";
    }
    if (v.isBoolean()) {
        return "a boolean";
    }
    return "the number " + v.convert<std::string>();
}

std::string lower(std::string s) {
    for (char &c : s) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return s;
}

// The value of member name in object, matched case-insensitively, the last match winning, as
// Go's decoder does. An absent member and an explicit null both give an empty Var.
Var member(const Object &object, const std::string &name) {
    Var found;
    std::string wanted = lower(name);
    for (const std::string &key : object.getNames()) {
        if (lower(key) == wanted) {
            found = object.get(key);
        }
    }
    return found;
}

Status wrongType(const std::string &name, const std::string &expected, const Var &v) {
    return Status::error("\"" + name + "\" must be " + expected + ", not " + describe(v));
}

Status readString(const Object &object, const std::string &name, std::string *out) {
    Var v = member(object, name);
    if (v.isEmpty()) {
        return {};
    }
    if (!v.isString()) {
        return wrongType(name, "a string", v);
    }
    *out = v.extract<std::string>();
    return {};
}

Status readBool(const Object &object, const std::string &name, bool *out) {
    Var v = member(object, name);
    if (v.isEmpty()) {
        return {};
    }
    if (!v.isBoolean()) {
        return wrongType(name, "a boolean", v);
    }
    *out = v.convert<bool>();
    return {};
}

Status readInt(const Object &object, const std::string &name, int64_t min, int64_t max,
               int64_t *out) {
    Var v = member(object, name);
    if (v.isEmpty()) {
        return {};
    }
    if (!v.isInteger()) {
        return wrongType(name, "an integer", v);
    }

    // Poco holds large unsigned values as UInt64; converting one past INT64_MAX throws.
    int64_t n = 0;
    try {
        n = v.convert<int64_t>();
    } catch (const Poco::Exception &) {
        n = std::numeric_limits<int64_t>::max();
    }
    if (n < min || n > max) {
        return Status::error("\"" + name + "\" is out of range: " + v.convert<std::string>());
    }
    *out = n;
    return {};
}

Status readStringArray(const Object &object, const std::string &name,
                       std::optional<std::vector<std::string>> *out) {
    Var v = member(object, name);
    if (v.isEmpty()) {
        return {};
    }
    if (!isArray(v)) {
        return wrongType(name, "an array of strings", v);
    }

    Array::Ptr array = v.extract<Array::Ptr>();
    std::vector<std::string> items;
    for (size_t i = 0; i < array->size(); ++i) {
        Var item = array->get(static_cast<unsigned>(i));
        if (!item.isString()) {
            return wrongType(name + "[" + std::to_string(i) + "]", "a string", item);
        }
        items.push_back(item.extract<std::string>());
    }
    *out = std::move(items);
    return {};
}

Result<Object::Ptr> asObject(const Var &value, const std::string &what) {
    if (!isObject(value)) {
        return Status::error(what + " must be a JSON object, not " +
                             (value.isEmpty() ? std::string("null") : describe(value)));
    }
    return value.extract<Object::Ptr>();
}

Result<InfoView::Network> networkFromJson(const Var &value) {
    auto object = asObject(value, "networkDriver");
    if (!object) {
        return object.status();
    }
    InfoView::Network net;
    std::optional<std::vector<std::string>> dns;
    for (const Status &s :
         {readString(**object, "driver", &net.driver), readStringArray(**object, "dns", &dns),
          readString(**object, "childIP", &net.childIP),
          readBool(**object, "dynamicChildIP", &net.dynamicChildIP)}) {
        if (!s) {
            return s.wrap("networkDriver");
        }
    }
    net.dns = dns.value_or(std::vector<std::string>{});
    return net;
}

Result<InfoView::Port> portFromJson(const Var &value) {
    auto object = asObject(value, "portDriver");
    if (!object) {
        return object.status();
    }
    InfoView::Port port;
    for (const Status &s :
         {readString(**object, "driver", &port.driver),
          readStringArray(**object, "protos", &port.protos),
          readBool(**object, "disallowLoopbackChildIP", &port.disallowLoopbackChildIP)}) {
        if (!s) {
            return s.wrap("portDriver");
        }
    }
    return port;
}

Array::Ptr stringArray(const std::vector<std::string> &items) {
    Array::Ptr array = new Array;
    for (const std::string &item : items) {
        array->add(item);
    }
    return array;
}

}  // namespace

Result<Var> parseJson(const std::string &text) {
    // Poco 1.11's parser only accepts an object or an array at the top level; a scalar (the
    // "null" of an empty port list) is parsed as the only element of an array instead.
    size_t first = text.find_first_not_of(" \t\r\n");
    bool container = first != std::string::npos && (text[first] == '{' || text[first] == '[');
    try {
        Poco::JSON::Parser parser(new Poco::JSON::ParseHandler(true));
        if (container || first == std::string::npos) {
            return parser.parse(text);
        }
        Array::Ptr wrapped = parser.parse("[" + text + "]").extract<Array::Ptr>();
        if (wrapped->size() != 1) {
            return Status::error("unexpected text after the JSON value");
        }
        return wrapped->get(0);
    } catch (const Poco::Exception &e) {
        return Status::error(e.message().empty() ? e.displayText() : e.message());
    }
}

std::string writeJson(const Var &value, int indent) {
    std::string out;
    appendValue(out, value, indent, 0);
    return out;
}

Object::Ptr portSpecToJson(const PortSpec &spec) {
    Object::Ptr object = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
    if (!spec.proto.empty()) {
        object->set("proto", spec.proto);
    }
    if (!spec.parentIP.empty()) {
        object->set("parentIP", spec.parentIP);
    }
    if (spec.parentPort != 0) {
        object->set("parentPort", spec.parentPort);
    }
    if (spec.childPort != 0) {
        object->set("childPort", spec.childPort);
    }
    if (!spec.childIP.empty()) {
        object->set("childIP", spec.childIP);
    }
    return object;
}

Object::Ptr portStatusToJson(const PortStatus &status) {
    Object::Ptr object = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
    object->set("id", status.id);
    object->set("spec", portSpecToJson(status.spec));
    if (status.implicit) {
        // Beyond upstream: a port the network forwards by itself (pasta), not added by the API.
        object->set("implicit", true);
    }
    return object;
}

Result<PortSpec> portSpecFromJson(const Var &value) {
    auto object = asObject(value, "PortSpec");
    if (!object) {
        return object.status();
    }

    PortSpec spec;
    int64_t parentPort = 0;
    int64_t childPort = 0;
    constexpr int64_t kMax = std::numeric_limits<int>::max();
    constexpr int64_t kMin = std::numeric_limits<int>::min();
    for (Status s : {readString(**object, "proto", &spec.proto),
                     readString(**object, "parentIP", &spec.parentIP),
                     readInt(**object, "parentPort", kMin, kMax, &parentPort),
                     readInt(**object, "childPort", kMin, kMax, &childPort),
                     readString(**object, "childIP", &spec.childIP)}) {
        if (!s) {
            return s;
        }
    }
    spec.parentPort = static_cast<int>(parentPort);
    spec.childPort = static_cast<int>(childPort);
    return spec;
}

Result<PortStatus> portStatusFromJson(const Var &value) {
    auto object = asObject(value, "PortStatus");
    if (!object) {
        return object.status();
    }

    PortStatus status;
    int64_t id = 0;
    Status s = readInt(**object, "id", 0, std::numeric_limits<int64_t>::max(), &id);
    if (!s) {
        return s;
    }
    status.id = static_cast<uint64_t>(id);
    s = readBool(**object, "implicit", &status.implicit);
    if (!s) {
        return s;
    }

    Var spec = member(**object, "spec");
    if (!spec.isEmpty()) {
        auto parsed = portSpecFromJson(spec);
        if (!parsed) {
            return parsed.status().wrap("spec");
        }
        status.spec = *parsed;
    }
    return status;
}

Result<std::vector<PortStatus>> portListFromJson(const Var &value) {
    std::vector<PortStatus> ports;
    if (value.isEmpty()) {
        return ports;
    }
    if (!isArray(value)) {
        return Status::error("port list must be a JSON array, not " + describe(value));
    }

    Array::Ptr array = value.extract<Array::Ptr>();
    for (size_t i = 0; i < array->size(); ++i) {
        auto status = portStatusFromJson(array->get(static_cast<unsigned>(i)));
        if (!status) {
            return status.status();
        }
        ports.push_back(*status);
    }
    return ports;
}

Result<InfoView> infoFromJson(const Var &value) {
    auto object = asObject(value, "Info");
    if (!object) {
        return object.status();
    }

    InfoView info;
    constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
    constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
    for (Status s : {readString(**object, "apiVersion", &info.apiVersion),
                     readString(**object, "version", &info.version),
                     readString(**object, "stateDir", &info.stateDir),
                     readInt(**object, "childPID", kMin, kMax, &info.childPID)}) {
        if (!s) {
            return s;
        }
    }

    if (Var net = member(**object, "networkDriver"); !net.isEmpty()) {
        auto parsed = networkFromJson(net);
        if (!parsed) {
            return parsed.status();
        }
        info.networkDriver = *parsed;
    }
    if (Var port = member(**object, "portDriver"); !port.isEmpty()) {
        auto parsed = portFromJson(port);
        if (!parsed) {
            return parsed.status();
        }
        info.portDriver = *parsed;
    }
    return info;
}

Object::Ptr infoToJson(const InfoView &info) {
    Object::Ptr object = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
    object->set("apiVersion", info.apiVersion);
    object->set("version", info.version);
    object->set("stateDir", info.stateDir);
    object->set("childPID", info.childPID);

    if (info.networkDriver) {
        const InfoView::Network &net = *info.networkDriver;
        Object::Ptr n = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
        n->set("driver", net.driver);
        if (!net.dns.empty()) {
            n->set("dns", stringArray(net.dns));
        }
        if (!net.childIP.empty()) {
            n->set("childIP", net.childIP);
        }
        if (net.dynamicChildIP) {
            n->set("dynamicChildIP", true);
        }
        object->set("networkDriver", n);
    }

    if (info.portDriver) {
        const InfoView::Port &port = *info.portDriver;
        Object::Ptr p = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
        p->set("driver", port.driver);
        p->set("protos", port.protos ? Var(stringArray(*port.protos)) : Var());
        if (port.disallowLoopbackChildIP) {
            p->set("disallowLoopbackChildIP", true);
        }
        object->set("portDriver", p);
    }
    return object;
}

}  // namespace rootlesskit
