// SplicePump and PipePool: the zero-copy inner loop of TCP forwarding.
#include "splice_pump.h"

#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>

namespace rkbuiltin {

std::unique_ptr<Pipe> PipePool::acquire() {
    if (!idle_.empty()) {
        std::unique_ptr<Pipe> pipe = std::move(idle_.back());
        idle_.pop_back();
        return pipe;
    }

    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        return nullptr;
    }
    auto pipe = std::make_unique<Pipe>();
    pipe->read.reset(fds[0]);
    pipe->write.reset(fds[1]);

    // A failure leaves the default size (16 pages), which only costs throughput.
    fcntl(pipe->write.get(), F_SETPIPE_SZ, static_cast<int>(preferredSize_));
    int size = fcntl(pipe->write.get(), F_GETPIPE_SZ);
    pipe->capacity = size > 0 ? static_cast<size_t>(size) : 65536;
    return pipe;
}

void PipePool::release(std::unique_ptr<Pipe> pipe) {
    if (idle_.size() < maxIdle_) {
        idle_.push_back(std::move(pipe));
    }
}

SplicePump::Result SplicePump::fail(int err, bool sink) {
    error_ = err;
    sinkFailed_ = sink;
    return Result::Failed;
}

// Writes what the pipe holds to sink. Blocked when the sink is full; on success the pipe went
// back to the pool.
SplicePump::Result SplicePump::drainPipe(int sink, PipePool &pool, size_t *moved) {
    while (buffered_ > 0) {
        ssize_t n = splice(pipe_->read.get(), nullptr, sink, nullptr, buffered_,
                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN) {
                return Result::Blocked;
            }
            return fail(errno, true);
        }
        buffered_ -= static_cast<size_t>(n);
        *moved += static_cast<size_t>(n);
    }
    pool.release(std::move(pipe_));
    return Result::Yielded;
}

// Reads from source into an empty pipe. Blocked when the source has nothing (the pipe, being
// empty, cannot be what is full), Yielded when bytes arrived, Finished on EOF.
SplicePump::Result SplicePump::fillPipe(int source, PipePool &pool) {
    if (!pipe_) {
        pipe_ = pool.acquire();
        if (!pipe_) {
            return fail(errno, false);
        }
    }
    for (;;) {
        ssize_t n = splice(source, nullptr, pipe_->write.get(), nullptr, pipe_->capacity,
                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n > 0) {
            buffered_ = static_cast<size_t>(n);
            return Result::Yielded;
        }
        if (n == 0) {
            sourceEof_ = true;
            pool.release(std::move(pipe_));
            return Result::Finished;
        }
        if (errno == EINTR) {
            continue;
        }
        pool.release(std::move(pipe_));
        if (errno == EAGAIN) {
            return Result::Blocked;
        }
        return fail(errno, false);
    }
}

SplicePump::Result SplicePump::pump(int source, int sink, PipePool &pool, size_t budget) {
    if (finished_) {
        return Result::Finished;
    }
    if (error_ != 0) {
        return Result::Failed;
    }

    size_t moved = 0;
    for (;;) {
        if (buffered_ > 0) {
            Result r = drainPipe(sink, pool, &moved);
            if (r != Result::Yielded) {
                return r;
            }
            if (moved >= budget) {
                return Result::Yielded;
            }
        }

        if (sourceEof_) {
            // Half-close: the peer of sink sees EOF and may still answer the other way.
            if (shutdown(sink, SHUT_WR) != 0 && errno != ENOTCONN) {
                return fail(errno, true);
            }
            finished_ = true;
            return Result::Finished;
        }

        Result r = fillPipe(source, pool);
        if (r == Result::Blocked || r == Result::Failed) {
            return r;
        }
    }
}

void SplicePump::discard(PipePool &pool) {
    if (pipe_ && buffered_ == 0) {
        pool.release(std::move(pipe_));
    }
    pipe_.reset();
    buffered_ = 0;
}

}  // namespace rkbuiltin
