// SplicePump: moves the bytes of one direction of a forwarded TCP connection from a source
// socket to a sink socket with splice(2) through a pipe, without copying them to user space.
//
// Theory of operation: a direction is idle, holding no pipe, until the source has data. Then it
// borrows a pipe from the PipePool, splices from the source into it and from it into the sink,
// and gives the pipe back as soon as it is empty again. A pipe therefore stays with a direction
// only while the sink cannot take its bytes, which is also what gives backpressure: the source
// is not read while its pipe holds data, so its receive buffer fills and TCP closes the window.
// Idle connections hold no pipe, which keeps six descriptors per connection down to two.
// EOF on the source, once the pipe is empty, becomes shutdown(SHUT_WR) on the sink.
//
// Threads: a PipePool and its pumps belong to one loop thread.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "fd.h"

namespace rkbuiltin {

struct Pipe {
    Fd read;
    Fd write;
    size_t capacity = 0;
};

// Creates and recycles non-blocking close-on-exec pipes of up to preferredSize bytes.
class PipePool {
public:
    // preferredSize is tried with F_SETPIPE_SZ; when the kernel refuses (fs.pipe-max-size, or
    // the per-user fs.pipe-user-pages-soft budget is spent) the pipe keeps its default size.
    // At most maxIdle empty pipes are kept for reuse: an idle pipe still counts against the
    // user's fs.pipe-user-pages-soft budget, which the user's other programs share.
    explicit PipePool(size_t preferredSize = 1 << 20, size_t maxIdle = 8)
        : preferredSize_(preferredSize), maxIdle_(maxIdle) {}

    // An empty pipe, or nullptr with errno set when none can be created (EMFILE, ENFILE).
    std::unique_ptr<Pipe> acquire();

    // Takes back pipe, which MUST be empty; closes it when enough are idle.
    void release(std::unique_ptr<Pipe> pipe);

    size_t idle() const { return idle_.size(); }

private:
    size_t preferredSize_;
    size_t maxIdle_;
    std::vector<std::unique_ptr<Pipe>> idle_;
};

class SplicePump {
public:
    enum class Result {
        Blocked,   // waiting: for the source to become readable or the sink writable
        Yielded,   // moved `budget` bytes and has more: call pump() again later
        Finished,  // source at EOF, everything delivered, sink shut down for writing
        Failed,    // an error on either socket, or no pipe; see error()
    };

    // Moves bytes from source to sink (both non-blocking sockets, borrowed) until one would
    // block, the source ends, budget bytes were moved, or an error occurs.
    Result pump(int source, int sink, PipePool &pool, size_t budget);

    bool finished() const { return finished_; }
    // The errno of the failure after Result::Failed.
    int error() const { return error_; }
    // True when the failure was on the sink (a write failed), false for the source or the pipe.
    bool sinkFailed() const { return sinkFailed_; }
    // Bytes read from the source and not yet written to the sink.
    size_t buffered() const { return buffered_; }

    // Gives the pipe back if it is empty, or closes it (its bytes are lost). Call when the
    // connection ends before the direction finished.
    void discard(PipePool &pool);

private:
    Result fail(int err, bool sink);
    Result drainPipe(int sink, PipePool &pool, size_t *moved);
    Result fillPipe(int source, PipePool &pool);

    std::unique_ptr<Pipe> pipe_;
    size_t buffered_ = 0;
    bool sourceEof_ = false;
    bool finished_ = false;
    int error_ = 0;
    bool sinkFailed_ = false;
};

}  // namespace rkbuiltin
