// SyncChannel: JSON messages over a SOCK_SEQPACKET socketpair.
#include "core/sync_channel.h"

#include <sys/socket.h>

#include <cerrno>
#include <sstream>
#include <vector>

#include <Poco/Exception.h>
#include <Poco/JSON/Parser.h>

namespace rootlesskit {

namespace {

Status badLength(size_t length) {
    return Status::error("bad message length: " + std::to_string(length) +
                             " (max: " + std::to_string(SyncChannel::kMaxMessageSize) + ")",
                         EMSGSIZE);
}

Result<SyncMessage> parseMessage(const std::string &text) {
    try {
        Poco::JSON::Parser parser;
        Poco::Dynamic::Var parsed = parser.parse(text);
        if (parsed.type() != typeid(Poco::JSON::Object::Ptr)) {
            return Status::error("bad message: not a JSON object");
        }
        SyncMessage message = parsed.extract<Poco::JSON::Object::Ptr>();
        if (SyncChannel::typeOf(message).empty()) {
            return Status::error("bad message: no \"type\"");
        }
        return message;
    } catch (const Poco::Exception &e) {
        return Status::error("bad message: " +
                             (e.message().empty() ? e.displayText() : e.message()));
    }
}

}  // namespace

Result<std::pair<SyncChannel, SyncChannel>> SyncChannel::createPair() {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0) {
        return Status::error("socketpair: " + errnoText(errno), errno);
    }
    return std::make_pair(SyncChannel(UniqueFd(fds[0])), SyncChannel(UniqueFd(fds[1])));
}

Status SyncChannel::send(const Poco::JSON::Object &message) {
    std::ostringstream out;
    message.stringify(out);
    std::string text = out.str();
    if (text.empty() || text.size() > kMaxMessageSize) {
        return badLength(text.size());
    }

    ssize_t n;
    do {
        // MSG_NOSIGNAL: a dead peer is an EPIPE result, not a SIGPIPE.
        n = ::send(fd_.get(), text.data(), text.size(), MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        std::string type = message.optValue<std::string>("type", "");
        return Status::error("send " + type + " message: " + errnoText(errno), errno);
    }
    return {};
}

Status SyncChannel::sendType(const std::string &type) {
    Poco::JSON::Object message;
    message.set("type", type);
    return send(message);
}

Result<SyncMessage> SyncChannel::receive() {
    std::vector<char> buffer(kMaxMessageSize + 1);
    struct iovec iov = {buffer.data(), buffer.size()};
    struct msghdr header = {};
    header.msg_iov = &iov;
    header.msg_iovlen = 1;

    ssize_t n;
    bool resetSeen = false;
    for (;;) {
        // MSG_TRUNC: the length of the whole packet even when it did not fit.
        n = recvmsg(fd_.get(), &header, MSG_TRUNC | MSG_CMSG_CLOEXEC);
        // A peer that exits with messages of ours unread leaves ECONNRESET on this socket, and
        // Linux reports that error, once, before the messages the peer sent first (its last
        // words, such as {"type":"error"}): read on after it.
        bool reset = n < 0 && errno == ECONNRESET && !resetSeen;
        resetSeen = resetSeen || reset;
        if (!reset && !(n < 0 && errno == EINTR)) {
            break;
        }
    }
    if (n < 0) {
        return Status::error("receive message: " + errnoText(errno), errno);
    }
    if (n == 0) {
        // The channel never carries empty packets, so 0 is the end of the stream.
        return Status::error("the other process closed the channel", EPIPE);
    }
    if (static_cast<size_t>(n) > kMaxMessageSize) {
        return badLength(static_cast<size_t>(n));
    }
    return parseMessage(std::string(buffer.data(), static_cast<size_t>(n)));
}

Result<SyncMessage> SyncChannel::expect(const std::string &type) {
    Result<SyncMessage> message = receive();
    if (!message) {
        return message;
    }
    std::string got = typeOf(*message);
    if (got == type) {
        return message;
    }
    if (got == "error") {
        return Status::error(stringOf(*message, "message"), ECANCELED);
    }
    std::ostringstream text;
    (*message)->stringify(text);
    return Status::error("expected \"" + type + "\", got " + text.str(), EPROTO);
}

std::string SyncChannel::typeOf(const SyncMessage &message) {
    return stringOf(message, "type");
}

std::string SyncChannel::stringOf(const SyncMessage &message, const std::string &key) {
    if (message.isNull() || !message->has(key) || !message->get(key).isString()) {
        return "";
    }
    return message->getValue<std::string>(key);
}

}  // namespace rootlesskit
