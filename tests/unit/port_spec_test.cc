// PortSpec parsing, validation and formatting: upstream's vectors plus the deliberate fixes.
#include <gtest/gtest.h>

#include <string>

#include "core/port_spec.h"

namespace rootlesskit {
namespace {

PortSpec parseOk(const std::string &text) {
    auto spec = parsePortSpec(text);
    EXPECT_TRUE(spec.ok()) << text << ": " << spec.status().message();
    return spec.ok() ? *spec : PortSpec{};
}

std::string parseError(const std::string &text) {
    auto spec = parsePortSpec(text);
    EXPECT_FALSE(spec.ok()) << text << " parsed";
    return spec.ok() ? "" : spec.status().message();
}

TEST(PortSpecParseTest, UpstreamExamples) {
    EXPECT_EQ(parseOk("127.0.0.1:8080:80/tcp"), (PortSpec{"tcp", "127.0.0.1", 8080, 80, ""}));
    EXPECT_EQ(parseOk("127.0.0.1:8080:80/tcp4"), (PortSpec{"tcp4", "127.0.0.1", 8080, 80, ""}));
    EXPECT_EQ(parseOk("127.0.0.1:8080:10.0.2.100:80/tcp"),
              (PortSpec{"tcp", "127.0.0.1", 8080, 80, "10.0.2.100"}));
    EXPECT_EQ(parseOk("[::1]:8080:80/tcp"), (PortSpec{"tcp", "::1", 8080, 80, ""}));
    EXPECT_EQ(parseOk("[::1]:8080:[::2]:80/udp"), (PortSpec{"udp", "::1", 8080, 80, "::2"}));
}

TEST(PortSpecParseTest, UpstreamRejections) {
    EXPECT_EQ(parseError("bad"), "missing proto in PortSpec string: \"bad\"");
    EXPECT_EQ(parseError("8080"), "missing proto in PortSpec string: \"8080\"");
    // Two specs in one value: the proto is "tcp" after the last slash, and the rest has too
    // many fields.
    EXPECT_EQ(
        parseError("127.0.0.1:8080:80/tcp,127.0.0.1:4040:40/tcp")
            .rfind("unexpected PortSpec string: \"127.0.0.1:8080:80/tcp,127.0.0.1:4040:40/tcp\"",
                   0),
        0u);
}

TEST(PortSpecParseTest, EmptyParentIpMeansEveryAddress) {
    EXPECT_EQ(parseOk(":8080:80/tcp"), (PortSpec{"tcp", "", 8080, 80, ""}));
}

TEST(PortSpecParseTest, BracketsAreAllowedAroundIpv4) {
    EXPECT_EQ(parseOk("[::]:8080:[127.0.0.1]:80/tcp"),
              (PortSpec{"tcp", "::", 8080, 80, "127.0.0.1"}));
    EXPECT_EQ(parseOk("[::]:8080:[::1]:80/tcp6"), (PortSpec{"tcp6", "::", 8080, 80, "::1"}));
}

TEST(PortSpecParseTest, ShortFormsAreRefusedWithTheExpectedShape) {
    std::string message = parseError("8080:80/tcp");
    EXPECT_EQ(message.rfind("unexpected PortSpec string: \"8080:80/tcp\"", 0), 0u) << message;
    EXPECT_NE(message.find(":8080:80/tcp"), std::string::npos) << message;
}

TEST(PortSpecParseTest, UnknownProto) {
    EXPECT_EQ(parseError("127.0.0.1:8080:80/TCP"),
              "invalid PortSpec string: \"127.0.0.1:8080:80/TCP\": unknown proto: \"TCP\"");
    EXPECT_EQ(parseError("127.0.0.1:8080:80/"),
              "invalid PortSpec string: \"127.0.0.1:8080:80/\": unknown proto: \"\"");
}

TEST(PortSpecParseTest, NoColonBeforeProto) {
    EXPECT_EQ(parseError("80/tcp").rfind("unexpected PortSpec string: \"80/tcp\"", 0), 0u);
}

TEST(PortSpecParseTest, UnbracketedIpv6IsRefused) {
    EXPECT_EQ(parseError("::1:8080:80/tcp").rfind("unexpected PortSpec string", 0), 0u);
}

TEST(PortSpecParseTest, StrayBracketsAreRefused) {
    EXPECT_EQ(parseError("[::1:8080:80/tcp").rfind("unexpected PortSpec string", 0), 0u);
    EXPECT_EQ(parseError("[::1]x:8080:80/tcp").rfind("unexpected PortSpec string", 0), 0u);
    EXPECT_EQ(parseError("::1]:8080:80/tcp").rfind("unexpected PortSpec string", 0), 0u);
}

TEST(PortSpecParseTest, ErrorsNameTheFieldThatIsWrong) {
    EXPECT_EQ(parseError("127.0.0.1:http:80/tcp"),
              "unexpected ParentPort in PortSpec string: \"127.0.0.1:http:80/tcp\": \"http\" is "
              "not a decimal number");
    EXPECT_EQ(parseError("127.0.0.1:8080:http/tcp"),
              "unexpected ChildPort in PortSpec string: \"127.0.0.1:8080:http/tcp\": \"http\" is "
              "not a decimal number");
    EXPECT_EQ(parseError("localhost:8080:80/tcp")
                  .rfind("unexpected ParentIP in PortSpec string: \"localhost:8080:80/tcp\"", 0),
              0u);
    EXPECT_EQ(parseError("127.0.0.1:8080:bad:80/tcp")
                  .rfind("unexpected ChildIP in PortSpec string: \"127.0.0.1:8080:bad:80/tcp\"", 0),
              0u);
}

TEST(PortSpecParseTest, EmptyPortIsRefused) {
    EXPECT_EQ(parseError("127.0.0.1::80/tcp").rfind("unexpected ParentPort in PortSpec string", 0),
              0u);
}

TEST(PortSpecParseTest, WhitespaceIsAnError) {
    EXPECT_EQ(parseError("127.0.0.1: 8080:80/tcp"),
              "invalid PortSpec string: \"127.0.0.1: 8080:80/tcp\": whitespace is not allowed");
    parseError("127.0.0.1:8080:80/tcp ");
    parseError("\t127.0.0.1:8080:80/tcp");
}

TEST(PortSpecParseTest, OutOfRangePortsParseAndFailValidation) {
    PortSpec spec = parseOk("127.0.0.1:70000:-5/tcp");
    EXPECT_EQ(spec.parentPort, 70000);
    EXPECT_EQ(spec.childPort, -5);
    EXPECT_EQ(validatePortSpec(spec, {}).message(), "invalid ParentPort: 70000 (valid: 1-65535)");
    EXPECT_NE(parseError("127.0.0.1:99999999999:80/tcp").find("out of range"), std::string::npos);
}

TEST(PortSpecParseTest, LeadingZeroIpv4IsRefused) {
    EXPECT_EQ(parseError("127.000.0.1:8080:80/tcp").rfind("unexpected ParentIP", 0), 0u);
}

TEST(PortSpecFormatTest, RoundTrip) {
    for (const char *text : {"127.0.0.1:8080:80/tcp", ":8080:80/udp", "[::1]:8080:80/tcp6",
                             "[::1]:8080:[::2]:80/udp", "0.0.0.0:1:10.0.2.100:65535/sctp"}) {
        PortSpec spec = parseOk(text);
        EXPECT_EQ(formatPortSpec(spec), text);
        EXPECT_EQ(parseOk(formatPortSpec(spec)), spec);
    }
}

TEST(PortSpecFormatTest, Ipv4InBracketsComesBackWithout) {
    EXPECT_EQ(formatPortSpec(parseOk("[::]:8080:[127.0.0.1]:80/tcp")),
              "[::]:8080:127.0.0.1:80/tcp");
}

class PortSpecValidateTest : public ::testing::Test {
protected:
    // Upstream's unit-test table: {1: tcp (all):80->80, 2: tcp 10.10.10.10:8080->8080}.
    std::map<uint64_t, PortSpec> existing_ = {
        {1, PortSpec{"tcp", "", 80, 80, ""}},
        {2, PortSpec{"tcp", "10.10.10.10", 8080, 8080, ""}},
    };

    Status check(const std::string &proto, const std::string &parentIP, int parentPort,
                 int childPort) {
        return validatePortSpec(PortSpec{proto, parentIP, parentPort, childPort, ""}, existing_);
    }
};

TEST_F(PortSpecValidateTest, Protos) {
    EXPECT_EQ(check("", "", 1000, 1000).message(), "unknown proto: \"\"");
    EXPECT_EQ(check("NaN", "", 1000, 1000).message(), "unknown proto: \"NaN\"");
    EXPECT_EQ(check("TCP", "", 1000, 1000).message(), "unknown proto: \"TCP\"");
    EXPECT_TRUE(check("udp", "", 1000, 1000).ok());
    EXPECT_TRUE(check("tcp", "", 1000, 1000).ok());
    EXPECT_TRUE(check("sctp", "", 1000, 1000).ok());
}

TEST_F(PortSpecValidateTest, Ports) {
    for (int port : {-200, 0, 1000000}) {
        std::string parent = check("tcp", "", port, 1000).message();
        EXPECT_EQ(parent, "invalid ParentPort: " + std::to_string(port) + " (valid: 1-65535)");
        std::string child = check("tcp", "", 1000, port).message();
        EXPECT_EQ(child, "invalid ChildPort: " + std::to_string(port) + " (valid: 1-65535)");
    }
    for (int port : {20, 500, 1337, 65000}) {
        EXPECT_TRUE(check("tcp", "", port, port).ok()) << port;
    }
}

TEST_F(PortSpecValidateTest, Addresses) {
    EXPECT_EQ(validatePortSpec(PortSpec{"tcp", "nope", 1000, 1000, ""}, {}).message(),
              "invalid ParentIP: \"nope\"");
    EXPECT_EQ(validatePortSpec(PortSpec{"tcp", "", 1000, 1000, "10.0.2"}, {}).message(),
              "invalid ChildIP: \"10.0.2\"");
    EXPECT_TRUE(validatePortSpec(PortSpec{"tcp", "::1", 1000, 1000, "::2"}, {}).ok());
    // JSON can carry a NUL inside a string; the address must not end at it.
    const std::string withNul("127.0.0.1\0junk", 14);
    EXPECT_EQ(validatePortSpec(PortSpec{"tcp", withNul, 1000, 1000, ""}, {}).message(),
              "invalid ParentIP: \"127.0.0.1\\x00junk\"");
    EXPECT_EQ(validatePortSpec(PortSpec{"tcp", "", 1000, 1000, withNul}, {}).message(),
              "invalid ChildIP: \"127.0.0.1\\x00junk\"");
}

TEST_F(PortSpecValidateTest, ConflictsAreTextual) {
    EXPECT_TRUE(check("udp", "", 80, 80).ok());
    EXPECT_TRUE(check("tcp4", "", 80, 80).ok());
    EXPECT_TRUE(check("tcp", "0.0.0.0", 80, 80).ok());
    EXPECT_TRUE(check("tcp", "10.10.10.11", 8080, 8080).ok());
    EXPECT_TRUE(check("tcp", "10.10.10.10", 8081, 8080).ok());
    EXPECT_EQ(check("tcp", "", 80, 90).message(), "conflict with ID 1");
    EXPECT_EQ(check("tcp", "10.10.10.10", 8080, 8080).message(), "conflict with ID 2");
    EXPECT_EQ(check("tcp", "10.10.10.10", 8080, 8080).code(), EEXIST);
}

}  // namespace
}  // namespace rootlesskit
