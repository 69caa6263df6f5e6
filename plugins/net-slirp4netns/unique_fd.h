// UniqueFd: the owner of one file descriptor inside the slirp4netns network plugin.
#pragma once

#include <unistd.h>

#include <utility>

namespace rootlesskit::slirp4netns {

// Owns fd (or nothing when fd < 0) and closes it on destruction. Move-only.
class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
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

    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }

    // Gives up ownership and returns the descriptor (-1 when empty).
    int release() { return std::exchange(fd_, -1); }

    // Closes the current descriptor, if any, and owns fd instead.
    void reset(int fd = -1) {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

}  // namespace rootlesskit::slirp4netns
