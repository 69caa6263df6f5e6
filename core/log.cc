// Logging set-up: stderr sink shared by every component logger, role-tagged lines.
#include "core/log.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include <spdlog/sinks/stdout_sinks.h>

namespace rootlesskit {

namespace {

std::mutex gMutex;
std::string gRole = "parent";
spdlog::level::level_enum gLevel = spdlog::level::info;

std::string pattern() { return "[rootlesskit:" + gRole + "] %l %n: %v"; }

std::string hexEscape(const char *prefix, unsigned value) {
    static constexpr char kDigits[] = "0123456789abcdef";
    return std::string(prefix) + kDigits[(value >> 4) & 0xf] + kDigits[value & 0xf];
}

// The length of the valid UTF-8 sequence that starts text[at] (2 to 4), 0 when there is none:
// a stray continuation byte, a bad first byte, a short, overlong or surrogate sequence.
size_t utf8Length(std::string_view text, size_t at) {
    auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
    unsigned lead = byte(at);
    size_t length = 0;
    if (lead >= 0xc2 && lead <= 0xdf) {
        length = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
        length = 3;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        length = 4;
    }
    if (length == 0 || at + length > text.size()) {
        return 0;
    }
    for (size_t i = 1; i < length; i++) {
        if ((byte(at + i) & 0xc0) != 0x80) {
            return 0;
        }
    }
    unsigned second = byte(at + 1);
    bool overlong = (lead == 0xe0 && second < 0xa0) || (lead == 0xf0 && second < 0x90);
    bool outOfRange = (lead == 0xed && second >= 0xa0) || (lead == 0xf4 && second >= 0x90);
    return overlong || outOfRange ? 0 : length;
}

// The escape for the ASCII control character c.
std::string controlEscape(unsigned char c) {
    switch (c) {
        case '\n':
            return "\\n";
        case '\r':
            return "\\r";
        case '\t':
            return "\\t";
        default:
            return hexEscape("\\x", c);
    }
}

// The next character of text at *at as it is printed; advances *at past it.
std::string nextSafeCharacter(std::string_view text, size_t *at) {
    auto c = static_cast<unsigned char>(text[*at]);
    if (c < 0x80) {
        *at += 1;
        return c < 0x20 || c == 0x7f ? controlEscape(c) : std::string(1, static_cast<char>(c));
    }
    size_t length = utf8Length(text, *at);
    if (length == 0) {
        *at += 1;
        return hexEscape("\\x", c);
    }
    std::string character(text.substr(*at, length));
    *at += length;
    bool c1 = c == 0xc2 && static_cast<unsigned char>(character[1]) < 0xa0;
    return c1 ? hexEscape("\\u00", static_cast<unsigned char>(character[1])) : character;
}

}  // namespace

void initLogging(const std::string &role, bool debug) {
    std::lock_guard<std::mutex> lock(gMutex);
    gRole = role == "child" ? "child " : role;
    gLevel = debug ? spdlog::level::debug : spdlog::level::info;
    if (const char *env = std::getenv("ROOTLESSKIT_LOG_LEVEL")) {
        // Lets a developer see per-connection trace lines without a flag of its own.
        gLevel = spdlog::level::from_str(env);
    }
    spdlog::apply_all([](const std::shared_ptr<spdlog::logger> &l) {
        l->set_level(gLevel);
        l->set_pattern(pattern());
    });
}

std::shared_ptr<spdlog::logger> logger(const std::string &component) {
    std::lock_guard<std::mutex> lock(gMutex);
    if (auto existing = spdlog::get(component)) {
        return existing;
    }

    // Synchronous, unbuffered stderr: the process may fork or exit at any point, and a line
    // buffered in a thread would be lost or printed twice.
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    auto created = std::make_shared<spdlog::logger>(component, sink);
    created->set_level(gLevel);
    created->set_pattern(pattern());
    spdlog::register_logger(created);
    return created;
}

void reportError(const std::string &message) {
    std::string role;
    {
        std::lock_guard<std::mutex> lock(gMutex);
        role = gRole;
    }
    std::fprintf(stderr, "[rootlesskit:%s] error: %s\n", role.c_str(), message.c_str());
    std::fflush(stderr);
}

std::string terminalSafe(std::string_view text, size_t maxBytes) {
    std::string safe;
    safe.reserve(std::min(text.size(), maxBytes));
    size_t at = 0;
    while (at < text.size()) {
        std::string character = nextSafeCharacter(text, &at);
        if (safe.size() + character.size() > maxBytes) {
            return safe + " [cut: " + std::to_string(text.size()) + " bytes in all]";
        }
        safe += character;
    }
    return safe;
}

}  // namespace rootlesskit
