// The parent<->child message channel (core/sync_channel.h).
#include "core/sync_channel.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <sstream>
#include <string>

namespace rootlesskit {
namespace {

class SyncChannelTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto pair = SyncChannel::createPair();
        ASSERT_TRUE(pair.ok()) << pair.status().message();
        parent_ = std::move(pair->first);
        child_ = std::move(pair->second);
    }

    SyncChannel parent_;
    SyncChannel child_;
};

TEST_F(SyncChannelTest, MessagesKeepTheirBoundariesAndOrder) {
    Poco::JSON::Object network;
    network.set("type", "network");
    network.set("netmsg", "{\"dev\":\"tap0\"}");
    ASSERT_TRUE(parent_.send(network).ok());
    ASSERT_TRUE(parent_.sendType("port").ok());

    Result<SyncMessage> first = child_.receive();
    ASSERT_TRUE(first.ok()) << first.status().message();
    EXPECT_EQ(SyncChannel::typeOf(*first), "network");
    EXPECT_EQ(SyncChannel::stringOf(*first, "netmsg"), "{\"dev\":\"tap0\"}");
    Result<SyncMessage> second = child_.expect("port");
    ASSERT_TRUE(second.ok()) << second.status().message();
}

TEST_F(SyncChannelTest, UnexpectedTypeNamesBoth) {
    ASSERT_TRUE(parent_.sendType("go").ok());
    Result<SyncMessage> got = child_.expect("idmap");
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().message(), "expected \"idmap\", got {\"type\":\"go\"}");
}

TEST_F(SyncChannelTest, ErrorMessageBecomesTheFailure) {
    Poco::JSON::Object error;
    error.set("type", "error");
    error.set("message", "failed to share mount point: /: permission denied");
    ASSERT_TRUE(child_.send(error).ok());
    Result<SyncMessage> got = parent_.expect("child-ready");
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().message(), "failed to share mount point: /: permission denied");
    EXPECT_EQ(got.status().code(), ECANCELED);
}

TEST_F(SyncChannelTest, PeerGoneReadsAsEpipe) {
    child_.close();
    Result<SyncMessage> got = parent_.receive();
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().code(), EPIPE);
    Status sent = parent_.sendType("go");
    ASSERT_FALSE(sent.ok());
    EXPECT_EQ(sent.code(), EPIPE);
}

// A child that fails while a message of the parent waits unread, as when a network driver's
// configure_child fails: its error message still arrives, and then the end of the channel.
TEST_F(SyncChannelTest, LastMessageOfAPeerThatLeftMessagesUnreadArrives) {
    ASSERT_TRUE(parent_.sendType("port").ok());
    Poco::JSON::Object error;
    error.set("type", "error");
    error.set("message", "configure child: failed");
    ASSERT_TRUE(child_.send(error).ok());
    child_.close();

    Result<SyncMessage> got = parent_.expect("child-ready");
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().message(), "configure child: failed");
    EXPECT_EQ(parent_.receive().status().code(), EPIPE);
}

TEST_F(SyncChannelTest, LargestMessageFitsAndOneMoreByteIsRefused) {
    Poco::JSON::Object message;
    message.set("type", "x");
    message.set("pad", "");
    std::ostringstream empty;
    message.stringify(empty);
    size_t overhead = empty.str().size();

    message.set("pad", std::string(SyncChannel::kMaxMessageSize - overhead, 'a'));
    ASSERT_TRUE(parent_.send(message).ok());
    Result<SyncMessage> got = child_.receive();
    ASSERT_TRUE(got.ok()) << got.status().message();

    message.set("pad", std::string(SyncChannel::kMaxMessageSize - overhead + 1, 'a'));
    Status sent = parent_.send(message);
    ASSERT_FALSE(sent.ok());
    EXPECT_EQ(sent.message(), "bad message length: 65537 (max: 65536)");
}

TEST_F(SyncChannelTest, OversizedPacketIsRefusedAndConsumed) {
    std::string big(SyncChannel::kMaxMessageSize + 10, ' ');
    ASSERT_EQ(send(parent_.fd(), big.data(), big.size(), 0), static_cast<ssize_t>(big.size()));
    ASSERT_TRUE(parent_.sendType("after").ok());

    Result<SyncMessage> got = child_.receive();
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().message(), "bad message length: 65546 (max: 65536)");
    EXPECT_TRUE(child_.expect("after").ok());
}

TEST_F(SyncChannelTest, NotJsonOrWithoutTypeIsRefused) {
    for (const std::string text : {"not json", "42", "null", "{}", "{\"type\":7}"}) {
        ASSERT_EQ(send(parent_.fd(), text.data(), text.size(), 0),
                  static_cast<ssize_t>(text.size()));
        Result<SyncMessage> got = child_.receive();
        ASSERT_FALSE(got.ok()) << text;
        EXPECT_EQ(got.status().message().rfind("bad message: ", 0), 0u) << text;
    }
}

TEST_F(SyncChannelTest, SocketIsSeqpacketAndCloseOnExec) {
    int type = 0;
    socklen_t length = sizeof type;
    ASSERT_EQ(getsockopt(parent_.fd(), SOL_SOCKET, SO_TYPE, &type, &length), 0);
    EXPECT_EQ(type, SOCK_SEQPACKET);
    EXPECT_TRUE(fcntl(child_.fd(), F_GETFD) & FD_CLOEXEC);
}

}  // namespace
}  // namespace rootlesskit
