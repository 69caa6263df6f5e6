// The driver wrappers: one plugin instance behind a C++ interface, with the host services table,
// error conversion and output sinks that every call across the plugin boundary needs.
#include "core/driver.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <new>
#include <string_view>
#include <utility>

#include "core/log.h"

namespace rootlesskit {

// The rkp_host table of one instance and the logger behind it. Lives as long as its driver, so
// the pointers in the table (ctx, state_dir) stay valid until destroy() has run.
class HostServices {
public:
    HostServices(const std::string &component, uint32_t side, const std::string &stateDir)
        : logger_(rootlesskit::logger(component)), stateDir_(stateDir) {
        std::memset(&host_, 0, sizeof(host_));
        host_.struct_size = sizeof(host_);
        host_.abi_major = RKP_ABI_MAJOR;
        host_.abi_minor = RKP_ABI_MINOR;
        host_.side = side;
        host_.ctx = this;
        host_.state_dir = stateDir_.c_str();
        host_.log = &HostServices::log;
        host_.log_enabled = &HostServices::logEnabled;
    }
    HostServices(const HostServices &) = delete;
    HostServices &operator=(const HostServices &) = delete;

    const rkp_host *table() const { return &host_; }
    spdlog::logger &logger() { return *logger_; }

private:
    static spdlog::level::level_enum toSpdlog(uint32_t level) {
        switch (level) {
            case RKP_LOG_TRACE:
                return spdlog::level::trace;
            case RKP_LOG_DEBUG:
                return spdlog::level::debug;
            case RKP_LOG_INFO:
                return spdlog::level::info;
            case RKP_LOG_WARN:
                return spdlog::level::warn;
            default:
                // RKP_LOG_ERROR, and levels a newer plugin might send: never lose a message.
                return spdlog::level::err;
        }
    }

    // Called by plugin code on any thread: nothing may escape as an exception.
    static void log(void *ctx, uint32_t level, const char *msg) noexcept {
        try {
            auto *self = static_cast<HostServices *>(ctx);
            // One line each, whatever the plugin sent: no forged "[rootlesskit:parent]" lines,
            // no live escape sequences, no megabyte lines.
            std::string line = msg != nullptr ? terminalSafe(msg, kPluginLogLineMax)
                                              : "(the plugin logged a NULL message)";
            self->logger_->log(toSpdlog(level), "{}", line);
        } catch (...) {
            // A log line that cannot be written is dropped; the plugin cannot do better.
        }
    }

    static int logEnabled(void *ctx, uint32_t level) noexcept {
        auto *self = static_cast<HostServices *>(ctx);
        return self->logger_->should_log(toSpdlog(level)) ? 1 : 0;
    }

    std::shared_ptr<spdlog::logger> logger_;
    std::string stateDir_;
    rkp_host host_;
};

namespace {

// A host-owned rkp_sink that appends into a std::string. Not copyable: ctx points at itself.
class StringSink {
public:
    StringSink() {
        sink_.ctx = this;
        sink_.write = &StringSink::write;
    }
    StringSink(const StringSink &) = delete;
    StringSink &operator=(const StringSink &) = delete;

    const rkp_sink *get() const { return &sink_; }
    bool failed() const { return failed_; }
    std::string take() { return std::move(text_); }

private:
    static void write(void *ctx, const char *data, size_t len) noexcept {
        auto *self = static_cast<StringSink *>(ctx);
        if (data == nullptr || len == 0) {
            return;
        }
        try {
            self->text_.append(data, len);
        } catch (const std::bad_alloc &) {
            self->failed_ = true;
        }
    }

    rkp_sink sink_;
    std::string text_;
    bool failed_ = false;
};

rkp_error freshError() {
    rkp_error err;
    std::memset(&err, 0, sizeof(err));
    err.struct_size = sizeof(err);
    return err;
}

// The largest errno value Linux uses (MAX_ERRNO in the kernel's include/linux/err.h).
constexpr int kMaxErrno = 4095;

// Turns a plugin call's return value and error into a Status. The plugin's message, made safe
// for a terminal line (log.h), is the whole error; when it left none, what ("network plugin x
// configure_parent") and the errno stand in. A value that is neither 0 nor a negative errno is
// reported as what it is, with EIO.
Status toStatus(int rc, rkp_error &err, const std::string &what) {
    if (rc == 0) {
        return Status();
    }
    err.message[sizeof(err.message) - 1] = '\0';
    std::string message =
        terminalSafe(std::string_view(err.message, strnlen(err.message, sizeof(err.message))));
    if (rc > 0 || rc < -kMaxErrno) {
        // Not an errno by the ABI's rule: read as one it would name an unrelated cause.
        std::string broken =
            what + " returned " + std::to_string(rc) + ", which is neither 0 nor a negative errno";
        return Status::error(message.empty() ? broken : broken + ": " + message, EIO);
    }
    if (message.empty()) {
        message = what + ": " + errnoText(-rc);
    }
    return Status::error(message, -rc);
}

// Turns a call's result and the sink it wrote into a Result.
Result<std::string> toResult(int rc, rkp_error &err, StringSink &sink, const std::string &what) {
    Status status = toStatus(rc, err, what);
    if (!status) {
        return status;
    }
    if (sink.failed()) {
        return Status::error(what + ": output too large: " + errnoText(ENOMEM), ENOMEM);
    }
    return sink.take();
}

// The user namespace of the calling process, 0 when /proc cannot tell. Together with the PID it
// tells the creator of an instance from a copy made by clone(CLONE_NEWUSER): the PID alone can
// repeat when rootlesskit runs as PID 1 and the child is PID 1 of a new PID namespace.
uint64_t currentUserns() {
    struct stat st;
    if (stat("/proc/self/ns/user", &st) != 0) {
        return 0;
    }
    return static_cast<uint64_t>(st.st_ino);
}

template <typename Params>
Params stamped(const Params &params) {
    Params copy = params;
    copy.struct_size = sizeof(Params);
    return copy;
}

std::string describe(const PluginInfo &plugin, const char *function) {
    return plugin.kind + " plugin " + plugin.name + " " + function;
}

// Runs the plugin's create(); on success the instance belongs to the calling process.
Status createInstance(const PluginInfo &plugin, const rkp_host *host, const std::string &config,
                      rkp_instance **instance) {
    rkp_error err = freshError();
    rkp_instance *created = nullptr;
    int rc = plugin.descriptor->create(host, config.c_str(), &created, &err);
    Status status = toStatus(rc, err, describe(plugin, "create"));
    if (!status) {
        return status.wrap("create " + plugin.kind + " driver " + plugin.name);
    }
    *instance = created;
    return status;
}

}  // namespace

// ---- NetDriver --------------------------------------------------------------------------------

NetDriver::NetDriver(const PluginInfo &plugin, std::unique_ptr<HostServices> host)
    : plugin_(plugin), host_(std::move(host)) {}

Result<NetDriverPtr> NetDriver::create(const PluginInfo &plugin, uint32_t side,
                                       const std::string &stateDir, const std::string &configJson) {
    if (plugin.descriptor == nullptr || plugin.descriptor->net == nullptr) {
        return Status::error(
            "create network driver " + plugin.name + ": not a usable network plugin", EINVAL);
    }

    auto host = std::make_unique<HostServices>("net/" + plugin.name, side, stateDir);
    NetDriverPtr driver(new NetDriver(plugin, std::move(host)));
    Status status = createInstance(plugin, driver->host_->table(), configJson, &driver->instance_);
    if (!status) {
        return status;
    }

    driver->owner_ = getpid();
    driver->ownerUserns_ = currentUserns();
    return Result<NetDriverPtr>(std::move(driver));
}

NetDriver::~NetDriver() {
    if (owner_ == 0 || owner_ != getpid() || ownerUserns_ != currentUserns()) {
        return;
    }

    if (configured_ && !tornDown_) {
        Status status = teardown();
        if (!status) {
            // A destructor cannot return the error; this is the only place it is reported.
            host_->logger().warn("teardown: {}", status.message());
        }
    }
    plugin_.descriptor->destroy(instance_);
}

bool NetDriver::hasPrepareChild() const {
    return plugin_.descriptor->net->prepare_child;
}
bool NetDriver::hasConfigureChild() const {
    return plugin_.descriptor->net->configure_child;
}
bool NetDriver::hasWatch() const {
    return plugin_.descriptor->net->watch;
}

Status NetDriver::prepareChild(const rkp_net_params &params) {
    if (!hasPrepareChild()) {
        return Status();
    }
    // prepare_child may create devices: from here on teardown is owed even if it fails.
    configured_ = true;
    rkp_net_params copy = stamped(params);
    rkp_error err = freshError();
    int rc = plugin_.descriptor->net->prepare_child(instance_, &copy, &err);
    return toStatus(rc, err, describe(plugin_, "prepare_child"));
}

Result<std::string> NetDriver::configureParent(const rkp_net_params &params) {
    configured_ = true;
    rkp_net_params copy = stamped(params);
    rkp_error err = freshError();
    StringSink out;
    int rc = plugin_.descriptor->net->configure_parent(instance_, &copy, out.get(), &err);
    auto message = toResult(rc, err, out, describe(plugin_, "configure_parent"));
    if (message && message->empty()) {
        return std::string("{}");
    }
    return message;
}

Result<std::string> NetDriver::configureChild(const rkp_net_params &params,
                                              const std::string &netmsg) {
    if (!hasConfigureChild()) {
        return netmsg;
    }
    configured_ = true;
    rkp_net_params copy = stamped(params);
    rkp_error err = freshError();
    StringSink out;
    int rc =
        plugin_.descriptor->net->configure_child(instance_, &copy, netmsg.c_str(), out.get(), &err);
    auto updated = toResult(rc, err, out, describe(plugin_, "configure_child"));
    if (updated && updated->empty()) {
        return netmsg;
    }
    return updated;
}

Status NetDriver::watch(int quitFd) {
    if (!hasWatch()) {
        return Status();
    }
    rkp_error err = freshError();
    int rc = plugin_.descriptor->net->watch(instance_, quitFd, &err);
    // Unlike the other calls, named here: its failure ends the run from a thread of its own.
    return toStatus(rc, err, describe(plugin_, "watch")).wrap("network driver " + plugin_.name);
}

Status NetDriver::teardown() {
    if (tornDown_) {
        return Status();
    }
    tornDown_ = true;
    rkp_error err = freshError();
    int rc = plugin_.descriptor->net->teardown(instance_, &err);
    return toStatus(rc, err, describe(plugin_, "teardown"));
}

Result<std::string> NetDriver::info() {
    rkp_error err = freshError();
    StringSink out;
    int rc = plugin_.descriptor->net->info(instance_, out.get(), &err);
    return toResult(rc, err, out, describe(plugin_, "info"));
}

// ---- PortDriver -------------------------------------------------------------------------------

PortDriver::PortDriver(const PluginInfo &plugin, std::unique_ptr<HostServices> host)
    : plugin_(plugin), host_(std::move(host)) {}

Result<PortDriverPtr> PortDriver::create(const PluginInfo &plugin, uint32_t side,
                                         const std::string &stateDir,
                                         const std::string &configJson) {
    if (plugin.descriptor == nullptr || plugin.descriptor->port == nullptr) {
        return Status::error("create port driver " + plugin.name + ": not a usable port plugin",
                             EINVAL);
    }

    auto host = std::make_unique<HostServices>("port/" + plugin.name, side, stateDir);
    PortDriverPtr driver(new PortDriver(plugin, std::move(host)));
    Status status = createInstance(plugin, driver->host_->table(), configJson, &driver->instance_);
    if (!status) {
        return status;
    }

    driver->owner_ = getpid();
    driver->ownerUserns_ = currentUserns();
    return Result<PortDriverPtr>(std::move(driver));
}

PortDriver::~PortDriver() {
    if (owner_ == 0 || owner_ != getpid() || ownerUserns_ != currentUserns()) {
        return;
    }
    plugin_.descriptor->destroy(instance_);
}

Result<std::string> PortDriver::initParent(const rkp_port_context &context) {
    rkp_port_context copy = stamped(context);
    rkp_error err = freshError();
    StringSink out;
    int rc = plugin_.descriptor->port->init_parent(instance_, &copy, out.get(), &err);
    auto opaque = toResult(rc, err, out, describe(plugin_, "init_parent"));
    if (opaque && opaque->empty()) {
        return std::string("{}");
    }
    return opaque;
}

Status PortDriver::runParent(int quitFd) {
    if (plugin_.descriptor->port->run_parent == nullptr) {
        return Status();
    }
    rkp_error err = freshError();
    int rc = plugin_.descriptor->port->run_parent(instance_, quitFd, &err);
    return toStatus(rc, err, describe(plugin_, "run_parent"));
}

Status PortDriver::initChild(const std::string &opaqueJson, const char *detachedNetnsPath) {
    rkp_error err = freshError();
    int rc = plugin_.descriptor->port->init_child(instance_, opaqueJson.c_str(), detachedNetnsPath,
                                                  &err);
    return toStatus(rc, err, describe(plugin_, "init_child"));
}

Status PortDriver::runChild(int quitFd) {
    if (plugin_.descriptor->port->run_child == nullptr) {
        return Status();
    }
    rkp_error err = freshError();
    int rc = plugin_.descriptor->port->run_child(instance_, quitFd, &err);
    return toStatus(rc, err, describe(plugin_, "run_child"));
}

Status PortDriver::addPort(uint64_t id, const rkp_port_spec &spec) {
    rkp_port_spec copy = stamped(spec);
    rkp_error err = freshError();
    int rc = plugin_.descriptor->port->add_port(instance_, id, &copy, &err);
    return toStatus(rc, err, describe(plugin_, "add_port"));
}

Status PortDriver::removePort(uint64_t id) {
    rkp_error err = freshError();
    int rc = plugin_.descriptor->port->remove_port(instance_, id, &err);
    return toStatus(rc, err, describe(plugin_, "remove_port"));
}

bool PortDriver::hasListPorts() const {
    return plugin_.descriptor->port->list_ports;
}

Status PortDriver::listPorts(rkp_port_visit visit, void *ctx) {
    if (!hasListPorts()) {
        return Status::error("port driver " + plugin_.name + " does not list ports", ENOTSUP);
    }
    rkp_error err = freshError();
    int rc = plugin_.descriptor->port->list_ports(instance_, visit, ctx, &err);
    return toStatus(rc, err, describe(plugin_, "list_ports"));
}

Result<std::string> PortDriver::info() {
    rkp_error err = freshError();
    StringSink out;
    int rc = plugin_.descriptor->port->info(instance_, out.get(), &err);
    return toResult(rc, err, out, describe(plugin_, "info"));
}

}  // namespace rootlesskit
