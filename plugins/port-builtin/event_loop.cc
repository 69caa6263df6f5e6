// EventLoop: epoll dispatch, posted work and deferred deletion for the builtin port driver.
#include "event_loop.h"

#include <time.h>

#include <cerrno>
#include <climits>

#include "rootlesskit/rkp.hpp"
#include "socket_address.h"

namespace rkbuiltin {

namespace {

constexpr int kMaxEvents = 256;

// The quit descriptor's handler: only records that the host asked the loop to stop.
class QuitHandler : public EventHandler {
public:
    void onEvents(uint32_t) override { quit_ = true; }
    bool quit() const { return quit_; }

private:
    bool quit_ = false;
};

}  // namespace

int EventLoop::open(rkp_error *err) {
    epoll_.reset(epoll_create1(EPOLL_CLOEXEC));
    if (!epoll_.valid()) {
        return rkp::setError(err, -errno, "create epoll instance: %s", errnoText(errno).c_str());
    }
    return 0;
}

int EventLoop::add(int fd, uint32_t events, EventHandler *handler) {
    epoll_event event{};
    event.events = events;
    event.data.ptr = handler;
    return epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) == 0 ? 0 : -errno;
}

int EventLoop::modify(int fd, uint32_t events, EventHandler *handler) {
    epoll_event event{};
    event.events = events;
    event.data.ptr = handler;
    return epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &event) == 0 ? 0 : -errno;
}

void EventLoop::remove(int fd) {
    if (fd >= 0) {
        epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    }
}

void EventLoop::post(EventHandler *handler, uint32_t events) {
    posted_.emplace_back(handler, events);
}

uint64_t EventLoop::monotonicMs() {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<uint64_t>(now.tv_sec) * 1000 + static_cast<uint64_t>(now.tv_nsec) / 1000000;
}

int EventLoop::waitTimeout(Hooks &hooks) const {
    if (!posted_.empty()) {
        return 0;
    }
    int64_t deadline = hooks.nextDeadlineMs();
    if (deadline < 0) {
        return -1;
    }
    int64_t now = static_cast<int64_t>(monotonicMs());
    if (deadline <= now) {
        return 0;
    }
    return deadline - now > INT_MAX ? INT_MAX : static_cast<int>(deadline - now);
}

void EventLoop::runPosted() {
    std::vector<std::pair<EventHandler *, uint32_t>> batch;
    batch.swap(posted_);
    for (auto &[handler, events] : batch) {
        handler->onEvents(events);
    }
}

int EventLoop::run(int quitFd, Hooks &hooks, rkp_error *err) {
    QuitHandler quit;
    int rc = add(quitFd, EPOLLIN, &quit);
    if (rc < 0) {
        return rkp::setError(err, rc, "watch quit descriptor: %s", errnoText(rc).c_str());
    }

    epoll_event events[kMaxEvents];
    while (!quit.quit()) {
        int n = epoll_wait(epoll_.get(), events, kMaxEvents, waitTimeout(hooks));
        if (n < 0 && errno != EINTR) {
            int saved = errno;
            remove(quitFd);
            return rkp::setError(err, -saved, "wait for events: %s", errnoText(saved).c_str());
        }
        nowMs_ = monotonicMs();

        for (int i = 0; i < n; ++i) {
            static_cast<EventHandler *>(events[i].data.ptr)->onEvents(events[i].events);
        }
        runPosted();
        hooks.afterEvents(nowMs_);

        previousGraveyard_.clear();
        previousGraveyard_.swap(graveyard_);
    }
    remove(quitFd);
    posted_.clear();  // their owners are about to be torn down; nothing may run them later
    return 0;
}

}  // namespace rkbuiltin
