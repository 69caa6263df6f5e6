// PortSpec parsing, validation and formatting, with upstream's grammar and conflict rule.
//
// Deliberate differences from upstream, all on input upstream also refuses or mangles: error
// texts name the field that is wrong (upstream swaps the two port messages), whitespace inside a
// spec is an error instead of being dropped, and an out-of-range port is printed as a number.
#include "core/port_spec.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <optional>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace rootlesskit {
namespace {

constexpr std::array<std::string_view, 9> kProtos = {"tcp",  "tcp4", "tcp6",  "udp",  "udp4",
                                                     "udp6", "sctp", "sctp4", "sctp6"};

// Appended to grammar errors: the shape users most often get wrong is the short "8080:80/tcp".
constexpr const char *kExpectedForm =
    ", expected PARENTIP:PARENTPORT:[CHILDIP:]CHILDPORT/PROTO"
    " (\":8080:80/tcp\" listens on every address)";

bool isKnownProto(std::string_view proto) {
    return std::find(kProtos.begin(), kProtos.end(), proto) != kProtos.end();
}

// True when text is a textual IPv4 or IPv6 address (no brackets, no zone), as inet_pton(3)
// accepts it. glibc refuses IPv4 octets with leading zeros, as Go's net.ParseIP does.
bool isIpAddress(const std::string &text) {
    unsigned char buf[sizeof(struct in6_addr)];
    // inet_pton reads up to the first NUL: "127.0.0.1\0junk" (possible in JSON) is not an address.
    if (text.find('\0') != std::string::npos) {
        return false;
    }
    return inet_pton(AF_INET, text.c_str(), buf) == 1 ||
           inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

// Control characters (a NUL from JSON, a newline) are written as \xNN so that the error stays
// one readable line.
std::string inQuotes(std::string_view text) {
    std::string quoted = "\"";
    for (char c : text) {
        auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) {
            quoted += fmt::format("\\x{:02x}", byte);
        } else {
            quoted += c;
        }
    }
    return quoted + "\"";
}

// Splits the part before the child port into its colon-separated fields. Text inside "[...]" is
// taken literally (so an IPv6 address keeps its colons); the bracket MUST then be followed by a
// colon or the end. Fails (nullopt) on a stray bracket.
std::optional<std::vector<std::string>> splitFields(std::string_view text) {
    std::vector<std::string> fields(1);
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == ':') {
            fields.emplace_back();
            continue;
        }
        if (c == ']') {
            return std::nullopt;
        }
        if (c != '[') {
            fields.back() += c;
            continue;
        }
        size_t close = text.find(']', i + 1);
        bool atFieldStart = fields.back().empty();
        if (close == std::string_view::npos || !atFieldStart) {
            return std::nullopt;
        }
        if (close + 1 < text.size() && text[close + 1] != ':') {
            return std::nullopt;
        }
        fields.back() = std::string(text.substr(i + 1, close - i - 1));
        i = close;
    }
    return fields;
}

// Parses a port number as a signed decimal integer (upstream uses strconv.Atoi, so "-200" parses
// and is refused later by validatePortSpec).
Status parsePort(const std::string &text, const char *field, std::string_view spec, int &out) {
    std::string_view digits = text;
    bool negative = !digits.empty() && digits.front() == '-';
    if (!digits.empty() && (digits.front() == '+' || digits.front() == '-')) {
        digits.remove_prefix(1);
    }
    std::string prefix =
        std::string("unexpected ") + field + " in PortSpec string: " + inQuotes(spec) + ": ";
    if (digits.empty() || std::isdigit(static_cast<unsigned char>(digits.front())) == 0) {
        return Status::error(prefix + inQuotes(text) + " is not a decimal number");
    }

    int value = 0;
    const char *end = digits.data() + digits.size();
    auto [ptr, ec] = std::from_chars(digits.data(), end, value);
    if (ec == std::errc::result_out_of_range) {
        return Status::error(prefix + text + " is out of range");
    }
    if (ptr != end) {
        return Status::error(prefix + inQuotes(text) + " is not a decimal number");
    }
    out = negative ? -value : value;
    return Status();
}

Status parseIp(const std::string &text, const char *field, std::string_view spec) {
    if (text.empty() || isIpAddress(text)) {
        return Status();
    }
    return Status::error(std::string("unexpected ") + field + " in PortSpec string: " +
                         inQuotes(spec) + ": " + inQuotes(text) + " is not an IP address");
}

bool hasWhitespace(std::string_view text) {
    return std::any_of(text.begin(), text.end(),
                       [](unsigned char c) { return std::isspace(c) != 0; });
}

std::string formatIp(const std::string &ip) {
    return ip.find(':') == std::string::npos ? ip : "[" + ip + "]";
}

}  // namespace

Result<PortSpec> parsePortSpec(const std::string &text) {
    PortSpec spec;

    // 1. Whitespace is refused outright; upstream drops it from the address part only.
    if (hasWhitespace(text)) {
        return Status::error("invalid PortSpec string: " + inQuotes(text) +
                             ": whitespace is not allowed");
    }

    // 2. The protocol is the text after the last slash.
    size_t slash = text.rfind('/');
    if (slash == std::string::npos) {
        return Status::error("missing proto in PortSpec string: " + inQuotes(text));
    }
    spec.proto = text.substr(slash + 1);
    if (!isKnownProto(spec.proto)) {
        return Status::error("invalid PortSpec string: " + inQuotes(text) +
                             ": unknown proto: " + inQuotes(spec.proto));
    }

    // 3. The child port is the text between the last colon and that slash.
    std::string_view body = std::string_view(text).substr(0, slash);
    size_t colon = body.rfind(':');
    if (colon == std::string_view::npos) {
        return Status::error("unexpected PortSpec string: " + inQuotes(text) + kExpectedForm);
    }
    std::string childPort(body.substr(colon + 1));

    // 4. What remains is parentIP:parentPort[:childIP], brackets protecting IPv6 colons.
    auto fields = splitFields(body.substr(0, colon));
    if (!fields || fields->size() < 2 || fields->size() > 3) {
        return Status::error("unexpected PortSpec string: " + inQuotes(text) + kExpectedForm);
    }
    spec.parentIP = (*fields)[0];
    spec.childIP = fields->size() == 3 ? (*fields)[2] : "";

    // 5. Addresses, then ports; ranges are validatePortSpec's business.
    Status status = parseIp(spec.parentIP, "ParentIP", text);
    if (status.ok()) {
        status = parseIp(spec.childIP, "ChildIP", text);
    }
    if (status.ok()) {
        status = parsePort((*fields)[1], "ParentPort", text, spec.parentPort);
    }
    if (status.ok()) {
        status = parsePort(childPort, "ChildPort", text, spec.childPort);
    }
    if (!status.ok()) {
        return status;
    }
    return spec;
}

std::string formatPortSpec(const PortSpec &spec) {
    std::string text = formatIp(spec.parentIP) + ":" + std::to_string(spec.parentPort) + ":";
    if (!spec.childIP.empty()) {
        text += formatIp(spec.childIP) + ":";
    }
    return text + std::to_string(spec.childPort) + "/" + spec.proto;
}

Status validatePortSpec(const PortSpec &spec, const std::map<uint64_t, PortSpec> &existing) {
    if (!isKnownProto(spec.proto)) {
        return Status::error("unknown proto: " + inQuotes(spec.proto));
    }
    if (!spec.parentIP.empty() && !isIpAddress(spec.parentIP)) {
        return Status::error("invalid ParentIP: " + inQuotes(spec.parentIP));
    }
    if (!spec.childIP.empty() && !isIpAddress(spec.childIP)) {
        return Status::error("invalid ChildIP: " + inQuotes(spec.childIP));
    }
    if (spec.parentPort < 1 || spec.parentPort > 65535) {
        return Status::error("invalid ParentPort: " + std::to_string(spec.parentPort) +
                             " (valid: 1-65535)");
    }
    if (spec.childPort < 1 || spec.childPort > 65535) {
        return Status::error("invalid ChildPort: " + std::to_string(spec.childPort) +
                             " (valid: 1-65535)");
    }

    // The conflict rule is textual on purpose (upstream compatibility): "tcp" and "tcp4", or ""
    // and "0.0.0.0", are different entries here even though the kernel may then refuse the bind.
    for (const auto &[id, other] : existing) {
        if (other.proto == spec.proto && other.parentIP == spec.parentIP &&
            other.parentPort == spec.parentPort) {
            return Status::error("conflict with ID " + std::to_string(id), EEXIST);
        }
    }
    return Status();
}

}  // namespace rootlesskit
