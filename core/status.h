// Status and Result: how the core carries an error across module boundaries.
//
// An error is a one-line lowercase message naming the operation, the object and the cause
// ("publish 127.0.0.1:8080:80/tcp: bind 127.0.0.1:8080: address already in use") plus an errno
// where one applies (the REST API maps it to an HTTP status). It is reported once, at the top.
#pragma once

#include <cerrno>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace rootlesskit {

class Status {
public:
    Status() = default;

    static Status error(std::string message, int code = EINVAL) {
        Status s;
        s.message_ = std::move(message);
        s.code_ = code > 0 ? code : -code;
        s.failed_ = true;
        return s;
    }

    bool ok() const { return !failed_; }
    explicit operator bool() const { return ok(); }

    // The message without any prefix; empty when ok().
    const std::string &message() const { return message_; }

    // A positive errno describing the failure class (EINVAL when none was given); 0 when ok().
    int code() const { return failed_ ? code_ : 0; }

    // Returns a copy whose message is "<context>: <message>"; ok() stays ok().
    Status wrap(const std::string &context) const {
        if (ok()) {
            return *this;
        }
        return error(context + ": " + message_, code_);
    }

private:
    std::string message_;
    int code_ = 0;
    bool failed_ = false;
};

// A value or the Status that explains why there is none.
template <typename T>
class Result {
public:
    Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
    Result(Status status) : status_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

    bool ok() const { return value_.has_value(); }
    explicit operator bool() const { return ok(); }

    const Status &status() const { return status_; }
    T &value() { return *value_; }
    const T &value() const { return *value_; }
    T &operator*() { return *value_; }
    const T &operator*() const { return *value_; }
    T *operator->() { return &*value_; }
    const T *operator->() const { return &*value_; }

private:
    std::optional<T> value_;
    Status status_;
};

// Message text for errno err, lowercase like the kernel's own strings ("no such file or
// directory").
std::string errnoText(int err);

}  // namespace rootlesskit
