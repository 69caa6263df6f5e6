// SyncChannel: the parent<->child message channel of one run, one JSON object per
// SOCK_SEQPACKET packet.
//
// The kernel keeps packet boundaries, so there is no length prefix to get wrong and no short
// read: one send() is one message, one recv() returns it whole. Every message is a JSON object
// with a string member "type" ("idmap", "userns-ready", "network", "port", "child-ready", "go",
// "exit", "error"); the other members depend on the type (runtime.h describes the sequence).
// A message is at most kMaxMessageSize bytes. The end of the peer's process (its last copy of
// the socket closed) reads as EOF, reported with the code EPIPE.
//
// Threads: one SyncChannel is used by one thread at a time (the main thread of its process).
#pragma once

#include <cstddef>
#include <string>
#include <utility>

#include <Poco/JSON/Object.h>

#include "core/status.h"
#include "core/unique_fd.h"

namespace rootlesskit {

using SyncMessage = Poco::JSON::Object::Ptr;

class SyncChannel {
public:
    static constexpr size_t kMaxMessageSize = 65536;

    // Creates a connected pair (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC)): first for
    // the parent, second for the child. Fails "socketpair: <errno text>".
    static Result<std::pair<SyncChannel, SyncChannel>> createPair();

    SyncChannel() = default;
    // Takes ownership of fd, a connected SOCK_SEQPACKET socket.
    explicit SyncChannel(UniqueFd fd) : fd_(std::move(fd)) {}

    int fd() const { return fd_.get(); }
    void close() { fd_.reset(); }

    // Sends message, which MUST have a string "type". Fails "bad message length: L (max: 65536)"
    // when the text is empty or too long, "send <type> message: <errno text>" otherwise
    // (EPIPE when the peer is gone).
    Status send(const Poco::JSON::Object &message);

    // Sends {"type": type}.
    Status sendType(const std::string &type);

    // Blocks until a message arrives. Fails with EPIPE "the other process closed the channel"
    // at EOF, "bad message length: L (max: 65536)" for an oversized packet (which is consumed),
    // "bad message: <cause>" for text that is not a JSON object with a string "type".
    Result<SyncMessage> receive();

    // receive(), then checks the type. A {"type":"error","message":M} message fails with M and
    // the code ECANCELED; another type fails "expected \"<type>\", got <message text>".
    Result<SyncMessage> expect(const std::string &type);

    // The "type" member of message ("" when missing).
    static std::string typeOf(const SyncMessage &message);

    // The string member key of message, "" when missing or not a string.
    static std::string stringOf(const SyncMessage &message, const std::string &key);

private:
    UniqueFd fd_;
};

}  // namespace rootlesskit
