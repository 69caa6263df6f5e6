// rkp.hpp: header-only C++17 helpers for writing a rootlesskit plugin against rkp.h.
//
// Nothing here adds to the ABI: every helper is inline and works only with the C types of rkp.h,
// so a plugin built with it stays a plain C-ABI shared object. The helpers cover what every
// entry point repeats: filling rkp_error, writing to a host sink, logging through the host, and
// keeping C++ exceptions from crossing the plugin boundary.
//
// Typical use in a plugin's .cc file:
//
//   struct rkp_instance { const rkp_host *host; ... };
//
//   int myAddPort(rkp_instance *inst, uint64_t id, const rkp_port_spec *spec, rkp_error *err) {
//       return rkp::guard(err, [&] {
//           if (spec->proto == RKP_PROTO_SCTP) {
//               return rkp::setError(err, -ENOTSUP, "unsupported port protocol sctp");
//           }
//           rkp::log(inst->host, RKP_LOG_DEBUG, "add port %llu", (unsigned long long)id);
//           return 0;
//       });
//   }
//
//   const rkp_port_ops kOps = {sizeof(rkp_port_ops), ...};
//   const rkp_plugin kPlugin = {sizeof(rkp_plugin), RKP_ABI_MAJOR, RKP_ABI_MINOR, ...};
//   RKP_DEFINE_PLUGIN(kPlugin)
#ifndef ROOTLESSKIT_RKP_HPP
#define ROOTLESSKIT_RKP_HPP

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <unistd.h>

#include "rootlesskit/rkp.h"

namespace rkp {

// An exception a plugin may throw inside guard() to fail with a specific errno: guard() stores
// what() as the message and code (made negative) as the return value. Any other exception
// becomes -EIO.
class Error : public std::runtime_error {
public:
    Error(int code, const std::string &message)
        : std::runtime_error(message), code_(code > 0 ? -code : code) {}
    // The negative errno.
    int code() const noexcept { return code_; }

private:
    int code_;
};

// Stores code and message in err and returns code, made negative (so both EINVAL and -EINVAL
// give -EINVAL). The message is truncated to fit rkp_error::message and always NUL-terminated.
// err MAY be NULL: then only the code is returned. Never throws.
inline int setErrorMessage(rkp_error *err, int code, std::string_view message) noexcept {
    int negative = code > 0 ? -code : code;
    if (err == nullptr) {
        return negative;
    }
    size_t n =
        message.size() < sizeof(err->message) - 1 ? message.size() : sizeof(err->message) - 1;
    std::memcpy(err->message, message.data(), n);
    err->message[n] = '\0';
    err->code = negative;
    return negative;
}

// printf-style setErrorMessage: rkp::setError(err, -EINVAL, "config: unknown key \"%s\"", k).
inline int setError(rkp_error *err, int code, const char *format, ...) noexcept
    __attribute__((format(printf, 3, 4)));
inline int setError(rkp_error *err, int code, const char *format, ...) noexcept {
    char buffer[sizeof(rkp_error::message)];
    va_list args;
    va_start(args, format);
    std::vsnprintf(buffer, sizeof(buffer), format, args);
    va_end(args);
    return setErrorMessage(err, code, buffer);
}

// Appends data to a host sink. sink MAY be NULL (nothing is written). Never throws.
inline void sinkWrite(const rkp_sink *sink, std::string_view data) noexcept {
    if (sink != nullptr && sink->write != nullptr && !data.empty()) {
        sink->write(sink->ctx, data.data(), data.size());
    }
}

// True when a message at level would be written by the host. Check it before formatting
// anything per connection or per datagram.
inline bool logEnabled(const rkp_host *host, uint32_t level) noexcept {
    if (host == nullptr || host->log == nullptr) {
        return false;
    }
    if (host->log_enabled == nullptr) {
        return true;
    }
    return host->log_enabled(host->ctx, level) != 0;
}

// Writes message through the host logger at level (RKP_LOG_*), without a trailing newline.
inline void logMessage(const rkp_host *host, uint32_t level, std::string_view message) noexcept {
    if (!logEnabled(host, level)) {
        return;
    }
    char buffer[1024];
    size_t n = message.size() < sizeof(buffer) - 1 ? message.size() : sizeof(buffer) - 1;
    std::memcpy(buffer, message.data(), n);
    buffer[n] = '\0';
    host->log(host->ctx, level, buffer);
}

// printf-style logging through the host: rkp::log(host, RKP_LOG_DEBUG, "listening on %s", a).
// Skips the formatting when the level is disabled. Lines longer than 1023 bytes are truncated.
inline void log(const rkp_host *host, uint32_t level, const char *format, ...) noexcept
    __attribute__((format(printf, 3, 4)));
inline void log(const rkp_host *host, uint32_t level, const char *format, ...) noexcept {
    if (!logEnabled(host, level)) {
        return;
    }
    char buffer[1024];
    va_list args;
    va_start(args, format);
    std::vsnprintf(buffer, sizeof(buffer), format, args);
    va_end(args);
    host->log(host->ctx, level, buffer);
}

// The exception barrier every C entry point of a C++ plugin runs its body in. fn takes no
// arguments and returns int (0 or a negative errno) or void (0). An rkp::Error becomes its code
// and message; std::bad_alloc becomes -ENOMEM; any other exception becomes -EIO with what() (or
// "unexpected exception") as the message. err MAY be NULL.
template <typename Fn>
int guard(rkp_error *err, Fn &&fn) noexcept {
    try {
        if constexpr (std::is_void_v<std::invoke_result_t<Fn>>) {
            std::forward<Fn>(fn)();
            return 0;
        } else {
            return static_cast<int>(std::forward<Fn>(fn)());
        }
    } catch (const Error &e) {
        return setErrorMessage(err, e.code(), e.what());
    } catch (const std::bad_alloc &) {
        return setErrorMessage(err, -ENOMEM, "out of memory");
    } catch (const std::exception &e) {
        return setErrorMessage(err, -EIO, e.what());
    } catch (...) {
        return setErrorMessage(err, -EIO, "unexpected exception");
    }
}

// The owner of one file descriptor (or of nothing when it is negative), closed when the owner
// goes away. Move-only. A plugin keeps every descriptor it opens in one, so that an early
// return or an exception inside guard() closes it.
class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) noexcept : fd_(fd) {}
    ~UniqueFd() { reset(); }
    UniqueFd(UniqueFd &&other) noexcept : fd_(other.release()) {}
    UniqueFd &operator=(UniqueFd &&other) noexcept {
        if (this != &other) {
            reset(other.release());
        }
        return *this;
    }
    UniqueFd(const UniqueFd &) = delete;
    UniqueFd &operator=(const UniqueFd &) = delete;

    int get() const noexcept { return fd_; }
    bool valid() const noexcept { return fd_ >= 0; }

    // Gives up ownership and returns the descriptor (-1 when empty).
    int release() noexcept { return std::exchange(fd_, -1); }

    // Closes the current descriptor, if any, and owns fd instead.
    void reset(int fd = -1) noexcept {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

namespace detail {

// What RKP_DEFINE_PLUGIN's entry returns: the descriptor when the host speaks the same major,
// NULL (declined) otherwise. A host with an older minor gets the descriptor too: the host
// refuses it with a message naming both versions, which says more than a NULL would.
inline const rkp_plugin *entryFor(const rkp_plugin *descriptor, uint16_t hostMajor) noexcept {
    return descriptor->abi_major == hostMajor ? descriptor : nullptr;
}

}  // namespace detail
}  // namespace rkp

// Emits the plugin's one exported symbol, rkp_plugin_entry(), returning &descriptor. Use once, at
// global namespace scope, in exactly one source file of the plugin; descriptor is a
// namespace-scope `const rkp_plugin` object.
#define RKP_DEFINE_PLUGIN(descriptor)                                                   \
    extern "C" RKP_EXPORT const rkp_plugin *rkp_plugin_entry(uint16_t host_abi_major,   \
                                                             uint16_t host_abi_minor) { \
        (void)host_abi_minor;                                                           \
        return ::rkp::detail::entryFor(&(descriptor), host_abi_major);                  \
    }

#endif  // ROOTLESSKIT_RKP_HPP
