// The suite's host services and plugin calls; see driver_calls.h.
#include "driver_calls.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <utility>

namespace rkp::conformance {

namespace {

constexpr uint32_t kLevelOff = RKP_LOG_ERROR + 1;

const char *levelName(uint32_t level) {
    static const char *const kNames[] = {"trace", "debug", "info", "warn", "error"};
    return level <= RKP_LOG_ERROR ? kNames[level] : "level?";
}

void appendToString(void *ctx, const char *data, size_t len) {
    static_cast<std::string *>(ctx)->append(data, len);
}

// The error contract: 0 or a negative errno; on failure a message, and code equal to the
// return value; no trailing period or newline.
void checkContract(const char *function, int rc, const rkp_error &err, CallResult &result) {
    result.rc = rc;
    if (rc > 0) {
        result.problems.push_back(std::string(function) + " returned " + std::to_string(rc) +
                                  ", neither 0 nor a negative errno");
    }
    if (rc >= 0) {
        return;
    }
    result.message.assign(err.message, strnlen(err.message, sizeof(err.message)));
    if (result.message.empty()) {
        result.problems.push_back(std::string(function) + " failed (" + std::to_string(rc) +
                                  ") without a message in rkp_error");
    } else if (result.message.back() == '.' || result.message.back() == '\n') {
        result.problems.push_back(std::string(function) +
                                  " message ends with a period or a "
                                  "newline: \"" +
                                  result.message + "\"");
    }
    if (err.code != rc) {
        result.problems.push_back(std::string(function) + " returned " + std::to_string(rc) +
                                  " but stored code " + std::to_string(err.code));
    }
}

void collectPort(void *ctx, uint64_t id, const rkp_port_spec *spec) {
    static_cast<std::vector<ListedPort> *>(ctx)->push_back(
        {id, spec->parent_port, spec->child_port, spec->proto});
}

}  // namespace

// ---- LogBook -----------------------------------------------------------------------------------

void LogBook::add(uint32_t level, const std::string &origin, const std::string &label,
                  const std::string &text) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (level >= printLevel_ && printLevel_ < kLevelOff) {
        std::fprintf(stderr, "[%s] %s %s: %s\n", origin.c_str(), levelName(level), label.c_str(),
                     text.c_str());
    }
    lines_.push_back({level, origin, text});
}

void LogBook::addPrinted(const std::vector<LogLine> &lines) {
    std::lock_guard<std::mutex> lock(mutex_);
    lines_.insert(lines_.end(), lines.begin(), lines.end());
}

std::vector<LogLine> LogBook::take() {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::exchange(lines_, {});
}

bool parseLogLevel(const std::string &text, uint32_t *level) {
    static const char *const kNames[] = {"trace", "debug", "info", "warn", "error", "off"};
    for (uint32_t i = 0; i <= kLevelOff; i++) {
        if (text == kNames[i]) {
            *level = i;
            return true;
        }
    }
    return false;
}

std::vector<std::string> logProblems(const std::vector<LogLine> &lines) {
    std::vector<std::string> problems;
    for (const LogLine &line : lines) {
        std::string where = line.origin + " log line \"" + line.text + "\"";
        if (line.level > RKP_LOG_ERROR) {
            problems.push_back(where + " has unknown level " + std::to_string(line.level));
        }
        if (line.text.empty()) {
            problems.push_back(line.origin + " logged an empty line");
        } else if (line.text.back() == '\n') {
            problems.push_back(where + " ends with a newline");
        }
    }
    return problems;
}

// ---- NetParams ---------------------------------------------------------------------------------

rkp_net_params NetParams::get(int32_t childPid) const {
    rkp_net_params params{};
    params.struct_size = sizeof(params);
    params.child_pid = childPid;
    params.state_dir = stateDir.c_str();
    params.ifname = ifname.c_str();
    params.mtu = mtu;
    params.port_driver_needs = portDriverNeeds;
    params.port_driver = portDriver.c_str();
    return params;
}

// ---- HarnessHost -------------------------------------------------------------------------------

HarnessHost::HarnessHost(LogBook &book, uint32_t side, const std::string &stateDir,
                         const std::string &label)
    : book_(book),
      stateDir_(stateDir),
      label_(label),
      origin_(side == RKP_SIDE_PARENT ? "parent" : "child") {
    host_.struct_size = sizeof(rkp_host);
    host_.abi_major = RKP_ABI_MAJOR;
    host_.abi_minor = RKP_ABI_MINOR;
    host_.side = side;
    host_.ctx = this;
    host_.state_dir = stateDir_.c_str();
    host_.log = &HarnessHost::log;
    host_.log_enabled = &HarnessHost::logEnabled;
}

void HarnessHost::log(void *ctx, uint32_t level, const char *msg) {
    auto *self = static_cast<HarnessHost *>(ctx);
    self->book_.add(level, self->origin_, self->label_, msg != nullptr ? msg : "");
}

// Every level is enabled: the suite checks every line a plugin writes, trace included.
int HarnessHost::logEnabled(void *, uint32_t) {
    return 1;
}

// ---- Driver ------------------------------------------------------------------------------------

Driver::Driver(const rkp_plugin &plugin, LogBook &book, uint32_t side, const std::string &stateDir)
    : plugin_(plugin),
      host_(book, side, stateDir,
            std::string(plugin.kind == RKP_KIND_NETWORK ? "net/" : "port/") + plugin.name) {}

Driver::~Driver() {
    if (!abandoned_) {
        destroy();
    }
}

template <typename Fn>
CallResult Driver::call(const char *function, Fn &&fn) {
    rkp_error err{};
    err.struct_size = sizeof(err);
    CallResult result;
    rkp_sink sink{&result.output, &appendToString};
    int rc = fn(&err, &sink);
    checkContract(function, rc, err, result);
    return result;
}

CallResult Driver::create(const std::string &configJson) {
    CallResult result = call("create", [&](rkp_error *err, const rkp_sink *) {
        return plugin_.create(host_.get(), configJson.c_str(), &instance_, err);
    });
    created_ = result.ok();
    return result;
}

void Driver::destroy() {
    if (created_) {
        created_ = false;
        plugin_.destroy(instance_);
        instance_ = nullptr;
    }
}

CallResult Driver::prepareChild(const rkp_net_params &params) {
    return call("prepare_child", [&](rkp_error *err, const rkp_sink *) {
        auto fn = plugin_.net->prepare_child;
        return fn != nullptr ? fn(instance_, &params, err) : 0;
    });
}

CallResult Driver::configureParent(const rkp_net_params &params) {
    return call("configure_parent", [&](rkp_error *err, const rkp_sink *sink) {
        return plugin_.net->configure_parent(instance_, &params, sink, err);
    });
}

CallResult Driver::configureChild(const rkp_net_params &params, const std::string &netmsg) {
    return call("configure_child", [&](rkp_error *err, const rkp_sink *sink) {
        auto fn = plugin_.net->configure_child;
        return fn != nullptr ? fn(instance_, &params, netmsg.c_str(), sink, err) : 0;
    });
}

CallResult Driver::watch(int quitFd) {
    return call("watch", [&](rkp_error *err, const rkp_sink *) {
        auto fn = plugin_.net->watch;
        return fn != nullptr ? fn(instance_, quitFd, err) : 0;
    });
}

CallResult Driver::teardown() {
    return call("teardown", [&](rkp_error *err, const rkp_sink *) {
        return plugin_.net->teardown(instance_, err);
    });
}

CallResult Driver::netInfo() {
    return call("info", [&](rkp_error *err, const rkp_sink *sink) {
        return plugin_.net->info(instance_, sink, err);
    });
}

CallResult Driver::initParent(const rkp_port_context &context) {
    return call("init_parent", [&](rkp_error *err, const rkp_sink *sink) {
        return plugin_.port->init_parent(instance_, &context, sink, err);
    });
}

CallResult Driver::runParent(int quitFd) {
    return call("run_parent", [&](rkp_error *err, const rkp_sink *) {
        auto fn = plugin_.port->run_parent;
        return fn != nullptr ? fn(instance_, quitFd, err) : 0;
    });
}

CallResult Driver::initChild(const std::string &opaque) {
    return call("init_child", [&](rkp_error *err, const rkp_sink *) {
        return plugin_.port->init_child(instance_, opaque.c_str(), nullptr, err);
    });
}

CallResult Driver::runChild(int quitFd) {
    return call("run_child", [&](rkp_error *err, const rkp_sink *) {
        auto fn = plugin_.port->run_child;
        return fn != nullptr ? fn(instance_, quitFd, err) : 0;
    });
}

CallResult Driver::addPort(uint64_t id, const rkp_port_spec &spec) {
    return call("add_port", [&](rkp_error *err, const rkp_sink *) {
        return plugin_.port->add_port(instance_, id, &spec, err);
    });
}

CallResult Driver::removePort(uint64_t id) {
    return call("remove_port", [&](rkp_error *err, const rkp_sink *) {
        return plugin_.port->remove_port(instance_, id, err);
    });
}

CallResult Driver::listPorts(std::vector<ListedPort> *ports) {
    return call("list_ports", [&](rkp_error *err, const rkp_sink *) {
        return plugin_.port->list_ports(instance_, &collectPort, ports, err);
    });
}

CallResult Driver::portInfo() {
    return call("info", [&](rkp_error *err, const rkp_sink *sink) {
        return plugin_.port->info(instance_, sink, err);
    });
}

}  // namespace rkp::conformance
