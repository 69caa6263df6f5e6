// Logging: one spdlog logger per component ("core", "api", "net/slirp4netns", "port/builtin"),
// all writing to stderr with the process role in each line, so that a user reading a run's
// output can tell the parent from the child.
//
// Line format: "[rootlesskit:<role>] <level> <component>: <message>", where role is "parent" or
// "child " (padded, like upstream). The final error of a run is printed by reportError() as
// "[rootlesskit:<role>] error: <message>", one line.
#pragma once

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace rootlesskit {

// Sets the role shown in every line and the level (debug when debug is true, else info).
// Call once per process, before any logger is used; the child calls it again after clone().
void initLogging(const std::string &role, bool debug);

// The logger for component, created on first use. Thread-safe.
std::shared_ptr<spdlog::logger> logger(const std::string &component);

// Prints the one-line final error of this process to stderr.
void reportError(const std::string &message);

}  // namespace rootlesskit
