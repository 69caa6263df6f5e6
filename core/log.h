// Logging: one spdlog logger per component ("core", "api", "net/slirp4netns", "port/builtin"),
// all writing to stderr with the process role in each line, so that a user reading a run's
// output can tell the parent from the child.
//
// Line format: "[rootlesskit:<role>] <level> <component>: <message>", where role is "parent" or
// "child " (padded, like upstream). The final error of a run is printed by reportError() as
// "[rootlesskit:<role>] error: <message>", one line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

namespace rootlesskit {

// Sets the role shown in every line and the level (debug when debug is true, else info).
// Call once per process, before any logger is used; the child calls it again after clone().
void initLogging(const std::string &role, bool debug);

// The logger for component, created on first use. Thread-safe.
std::shared_ptr<spdlog::logger> logger(const std::string &component);

// Prints the one-line final error of this process to stderr.
void reportError(const std::string &message);

// The longest plugin log line the host writes, in bytes of escaped text before the note.
inline constexpr size_t kPluginLogLineMax = 4096;

// Makes text the host did not write (a plugin's error message, log line, version or description)
// safe to print as part of one terminal line. Each control character, newline and carriage
// return included, becomes a visible escape: "\n", "\r", "\t", else "\xHH" (ESC is "\x1b",
// DEL "\x7f"); a UTF-8 encoded C1 control (U+0080..U+009F) becomes "\u00HH" and a byte that is
// not part of valid UTF-8 "\xHH", since some terminals act on those too. Everything else,
// valid UTF-8 and backslashes included, is kept. When the escaped text would exceed maxBytes,
// it is cut at a character boundary and " [cut: N bytes in all]" (N the length of text) is
// appended, so the result is at most maxBytes plus that note. Pure; any thread.
std::string terminalSafe(std::string_view text, size_t maxBytes = SIZE_MAX);

}  // namespace rootlesskit
