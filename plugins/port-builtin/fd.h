// Fd: the owner of one file descriptor; the builtin port driver keeps every descriptor in one.
#pragma once

#include <unistd.h>

#include <utility>

namespace rkbuiltin {

// Owns fd (or nothing when -1) and closes it on destruction. Move-only. Not thread-safe: one
// owner, one thread at a time.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() { reset(); }
    Fd(Fd &&other) noexcept : fd_(other.release()) {}
    Fd &operator=(Fd &&other) noexcept {
        if (this != &other) {
            reset(other.release());
        }
        return *this;
    }
    Fd(const Fd &) = delete;
    Fd &operator=(const Fd &) = delete;

    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }

    // Gives up ownership: the caller MUST close the returned descriptor.
    int release() { return std::exchange(fd_, -1); }

    // Closes the owned descriptor (if any) and takes fd.
    void reset(int fd = -1) {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

}  // namespace rkbuiltin
