// EventLoop: the epoll loop that each half of the builtin port driver runs on one thread.
//
// Theory of operation: handlers register descriptors with add(); run() waits with epoll and
// calls EventHandler::onEvents() for each ready descriptor, then calls the handlers queued with
// post() (work that yielded to keep the loop fair), then Hooks::afterEvents(). It returns when
// the host's quit descriptor becomes readable. An object whose descriptors were just closed may
// still have events in the current batch, so it is handed to retire() instead of being deleted:
// retired objects live until the end of the NEXT iteration, which covers events already fetched
// and work already posted. Everything here runs on the loop thread, except that a loop that is
// not running may be used by the one thread that owns it at that moment.
#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "fd.h"
#include "rootlesskit/rkp.h"

namespace rkbuiltin {

class EventHandler {
public:
    virtual ~EventHandler() = default;
    // Called on the loop thread with the epoll bits that fired, or the bits given to post().
    virtual void onEvents(uint32_t events) = 0;
};

class EventLoop {
public:
    class Hooks {
    public:
        virtual ~Hooks() = default;
        // Milliseconds (CLOCK_MONOTONIC, as nowMs()) at which afterEvents() should run next even
        // without events; -1 for never.
        virtual int64_t nextDeadlineMs() = 0;
        // Called after every iteration, on the loop thread.
        virtual void afterEvents(uint64_t nowMs) = 0;
    };

    // Creates the epoll instance. 0, or a negative errno with err filled.
    int open(rkp_error *err);

    // Registers fd (borrowed; the caller keeps it open until remove()) for events with handler.
    // Returns 0 or a negative errno.
    int add(int fd, uint32_t events, EventHandler *handler);
    int modify(int fd, uint32_t events, EventHandler *handler);
    // Stops watching fd. Harmless when fd is not registered.
    void remove(int fd);

    // Calls handler->onEvents(events) in the next iteration. handler MUST stay alive until then
    // (own it, or retire() it).
    void post(EventHandler *handler, uint32_t events);

    // Takes ownership of object and deletes it at the end of the next iteration.
    template <typename T>
    void retire(std::unique_ptr<T> object) {
        graveyard_.emplace_back(object.release(), [](void *p) { delete static_cast<T *>(p); });
    }

    // CLOCK_MONOTONIC milliseconds, sampled once per iteration.
    uint64_t nowMs() const { return nowMs_; }
    static uint64_t monotonicMs();

    // Runs until quitFd (host-owned, never closed here) is readable. Returns 0 then, or a
    // negative errno with err filled when epoll itself fails.
    int run(int quitFd, Hooks &hooks, rkp_error *err);

private:
    using Retired = std::unique_ptr<void, void (*)(void *)>;

    int waitTimeout(Hooks &hooks) const;
    void runPosted();

    Fd epoll_;
    uint64_t nowMs_ = monotonicMs();
    std::vector<std::pair<EventHandler *, uint32_t>> posted_;
    std::vector<Retired> graveyard_;
    std::vector<Retired> previousGraveyard_;
};

}  // namespace rkbuiltin
