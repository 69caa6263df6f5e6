// What the builtin port driver's unit tests share: the plugin, dlopened once, and a host for
// its instances whose log the tests can read.
#pragma once

#include <dlfcn.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "rootlesskit/rkp.h"

namespace builtin_test {

// The plugin's descriptor, or nullptr when it cannot be loaded.
inline const rkp_plugin *plugin() {
    static const rkp_plugin *descriptor = [] {
        void *handle = dlopen(RK_TEST_PLUGIN_DIR "/rkp-port-builtin.so", RTLD_NOW | RTLD_LOCAL);
        if (handle == nullptr) {
            return static_cast<const rkp_plugin *>(nullptr);
        }
        auto entry = reinterpret_cast<rkp_plugin_entry_fn>(dlsym(handle, RKP_PLUGIN_ENTRY_SYMBOL));
        return entry != nullptr ? entry(RKP_ABI_MAJOR, RKP_ABI_MINOR) : nullptr;
    }();
    return descriptor;
}

struct LogLine {
    uint32_t level;
    std::string text;
};

// The services a host gives one instance, with a log that tests can read.
class TestHost {
public:
    TestHost(uint32_t side, const std::string &stateDir) : stateDir_(stateDir) {
        host_.struct_size = sizeof(rkp_host);
        host_.abi_major = RKP_ABI_MAJOR;
        host_.abi_minor = RKP_ABI_MINOR;
        host_.side = side;
        host_.ctx = this;
        host_.state_dir = stateDir_.c_str();
        host_.log = [](void *ctx, uint32_t level, const char *msg) {
            auto *self = static_cast<TestHost *>(ctx);
            std::lock_guard<std::mutex> lock(self->mutex_);
            self->lines_.push_back({level, msg});
        };
        host_.log_enabled = [](void *, uint32_t) { return 1; };
    }

    const rkp_host *get() const { return &host_; }

    std::vector<LogLine> lines() {
        std::lock_guard<std::mutex> lock(mutex_);
        return lines_;
    }

    // Lines at level or above.
    std::vector<std::string> linesAtLeast(uint32_t level) {
        std::vector<std::string> out;
        for (const LogLine &line : lines()) {
            if (line.level >= level) {
                out.push_back(line.text);
            }
        }
        return out;
    }

private:
    std::string stateDir_;
    rkp_host host_{};
    std::mutex mutex_;
    std::vector<LogLine> lines_;
};

inline rkp_error newError() {
    rkp_error err{};
    err.struct_size = sizeof(err);
    return err;
}

// An rkp_sink write function that appends to the std::string ctx points to.
inline void appendToString(void *ctx, const char *data, size_t len) {
    static_cast<std::string *>(ctx)->append(data, len);
}

}  // namespace builtin_test
