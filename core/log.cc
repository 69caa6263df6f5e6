// Logging set-up: stderr sink shared by every component logger, role-tagged lines.
#include "core/log.h"

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

}  // namespace rootlesskit
