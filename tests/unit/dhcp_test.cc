// Tests for the lxc-user-nic plugin's DHCPv4 codec and lease rules (plugins/net-lxc-user-nic/
// dhcp_message.*) and its reading of /etc/lxc/lxc-usernet (usernet.*). The exchange with a real
// server (dnsmasq on a bridge) is covered by tests/e2e/lxc_user_nic_test.cc.
#include <arpa/inet.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "plugins/net-lxc-user-nic/dhcp_message.h"
#include "plugins/net-lxc-user-nic/usernet.h"

namespace rootlesskit::dhcp {
namespace {

Ipv4 ip(const char *text) {
    Ipv4 address = 0;
    inet_pton(AF_INET, text, &address);
    return address;
}

std::vector<uint8_t> bytesOf(Ipv4 address) {
    const auto *p = reinterpret_cast<const uint8_t *>(&address);
    return {p[0], p[1], p[2], p[3]};
}

const MacAddress kMac = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};

// What dnsmasq answers on the test bridge: everything a lease needs.
Message fullAck() {
    Message ack;
    ack.op = 2;
    ack.xid = 0x01020304;
    ack.yiaddr = ip("10.0.3.149");
    ack.chaddr = kMac;
    ack.options[kOptMessageType] = {kAck};
    ack.options[kOptSubnetMask] = bytesOf(ip("255.255.255.0"));
    ack.options[kOptRouter] = bytesOf(ip("10.0.3.1"));
    std::vector<uint8_t> dns = bytesOf(ip("10.0.3.1"));
    std::vector<uint8_t> second = bytesOf(ip("10.0.3.2"));
    dns.insert(dns.end(), second.begin(), second.end());
    ack.options[kOptDns] = dns;
    ack.options[kOptServerId] = bytesOf(ip("10.0.3.1"));
    ack.options[kOptLeaseTime] = {0, 0, 0, 120};
    ack.options[kOptRenewalTime] = {0, 0, 0, 5};
    ack.options[kOptRebindingTime] = {0, 0, 0, 10};
    return ack;
}

TEST(DhcpMessage, DiscoverHasTheWireLayoutServersExpect) {
    std::vector<uint8_t> bytes = encode(makeDiscover(0xdeadbeef, kMac));

    ASSERT_EQ(bytes.size(), 300u);  // padded to the BOOTP minimum
    EXPECT_EQ(bytes[0], 1);         // BOOTREQUEST
    EXPECT_EQ(bytes[1], 1);         // Ethernet
    EXPECT_EQ(bytes[2], 6);
    EXPECT_EQ((std::vector<uint8_t>{bytes[4], bytes[5], bytes[6], bytes[7]}),
              (std::vector<uint8_t>{0xde, 0xad, 0xbe, 0xef}));
    EXPECT_EQ(bytes[10], 0x80);  // broadcast flag: the interface has no address yet
    EXPECT_EQ(std::vector<uint8_t>(bytes.begin() + 28, bytes.begin() + 34),
              std::vector<uint8_t>(kMac.begin(), kMac.end()));
    EXPECT_EQ(std::vector<uint8_t>(bytes.begin() + 236, bytes.begin() + 240),
              (std::vector<uint8_t>{99, 130, 83, 99}));
}

TEST(DhcpMessage, EncodeThenDecodeKeepsEveryField) {
    Message request = makeSelectRequest(42, kMac, ip("10.0.3.149"), ip("10.0.3.1"));
    std::vector<uint8_t> bytes = encode(request);
    std::optional<Message> decoded = decode(bytes.data(), bytes.size());

    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(decoded->xid, 42u);
    EXPECT_TRUE(decoded->broadcast);
    EXPECT_EQ(decoded->chaddr, kMac);
    EXPECT_EQ(decoded->type(), kRequest);
    EXPECT_EQ(decoded->address(kOptRequestedIp), ip("10.0.3.149"));
    EXPECT_EQ(decoded->address(kOptServerId), ip("10.0.3.1"));
    EXPECT_EQ(decoded->options.at(kOptParameterList),
              (std::vector<uint8_t>{kOptSubnetMask, kOptRouter, kOptDns, kOptLeaseTime,
                                    kOptRenewalTime, kOptRebindingTime}));
}

TEST(DhcpMessage, RenewCarriesTheCurrentAddressAndNoServerId) {
    Message renew = makeRenewRequest(7, kMac, ip("10.0.3.149"));

    EXPECT_EQ(renew.ciaddr, ip("10.0.3.149"));
    EXPECT_FALSE(renew.broadcast);
    EXPECT_EQ(renew.options.count(kOptServerId), 0u);
    EXPECT_EQ(renew.options.count(kOptRequestedIp), 0u);
}

TEST(DhcpMessage, ReleaseNamesTheServer) {
    Message release = makeRelease(7, kMac, ip("10.0.3.149"), ip("10.0.3.1"));

    EXPECT_EQ(release.type(), kRelease);
    EXPECT_EQ(release.ciaddr, ip("10.0.3.149"));
    EXPECT_EQ(release.address(kOptServerId), ip("10.0.3.1"));
}

TEST(DhcpMessage, DecodeRefusesGarbage) {
    std::vector<uint8_t> bytes = encode(fullAck());

    EXPECT_FALSE(decode(bytes.data(), 100).has_value());  // shorter than the fixed part
    std::vector<uint8_t> noCookie = bytes;
    noCookie[236] = 0;
    EXPECT_FALSE(decode(noCookie.data(), noCookie.size()).has_value());
    // An option whose length runs past the datagram.
    std::vector<uint8_t> truncated(bytes.begin(), bytes.begin() + 240);
    truncated.insert(truncated.end(), {kOptRouter, 4, 10, 0});
    EXPECT_FALSE(decode(truncated.data(), truncated.size()).has_value());
}

TEST(DhcpMessage, DecodeSkipsPadsAndJoinsRepeatedOptions) {
    std::vector<uint8_t> bytes = encode(makeDiscover(1, kMac));
    bytes.resize(240);
    bytes.insert(bytes.end(), {0, 0, kOptDns, 4, 10, 0, 3, 1, 0, kOptDns, 4, 10, 0, 3, 2, 255});
    std::optional<Message> decoded = decode(bytes.data(), bytes.size());

    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(decoded->addresses(kOptDns), (std::vector<Ipv4>{ip("10.0.3.1"), ip("10.0.3.2")}));
}

TEST(DhcpLease, FullAckGivesEveryField) {
    std::string error;
    std::optional<Lease> lease = leaseFromAck(fullAck(), ip("10.0.3.1"), &error);

    ASSERT_TRUE(lease.has_value()) << error;
    EXPECT_EQ(formatIpv4(lease->address), "10.0.3.149");
    EXPECT_EQ(lease->prefix, 24);
    EXPECT_EQ(formatIpv4(lease->router), "10.0.3.1");
    ASSERT_EQ(lease->dns.size(), 2u);  // every server, not only the first as upstream
    EXPECT_EQ(formatIpv4(lease->dns[1]), "10.0.3.2");
    EXPECT_EQ(lease->leaseSeconds, 120u);
    EXPECT_EQ(lease->renewSeconds, 5u);
    EXPECT_EQ(lease->rebindSeconds, 10u);
}

TEST(DhcpLease, RenewalTimesDefaultToRfc2131Fractions) {
    Message ack = fullAck();
    ack.options.erase(kOptRenewalTime);
    ack.options.erase(kOptRebindingTime);
    ack.options[kOptLeaseTime] = {0, 0, 0x0e, 0x10};  // 3600
    std::string error;
    std::optional<Lease> lease = leaseFromAck(ack, ip("10.0.3.1"), &error);

    ASSERT_TRUE(lease.has_value()) << error;
    EXPECT_EQ(lease->renewSeconds, 1800u);
    EXPECT_EQ(lease->rebindSeconds, 3150u);
}

TEST(DhcpLease, MissingLeaseTimeMeansOneHourAndMissingServerIdTheSource) {
    Message ack = fullAck();
    ack.options.erase(kOptLeaseTime);
    ack.options.erase(kOptServerId);
    std::string error;
    std::optional<Lease> lease = leaseFromAck(ack, ip("10.0.3.254"), &error);

    ASSERT_TRUE(lease.has_value()) << error;
    EXPECT_EQ(lease->leaseSeconds, 3600u);
    EXPECT_EQ(formatIpv4(lease->server), "10.0.3.254");
}

TEST(DhcpLease, RefusesAnAckWithoutAddressRouterOrDns) {
    std::string error;
    Message noAddress = fullAck();
    noAddress.yiaddr = 0;
    EXPECT_FALSE(leaseFromAck(noAddress, 0, &error).has_value());
    EXPECT_EQ(error, "got zero YourIPAddr");

    Message noRouter = fullAck();
    noRouter.options.erase(kOptRouter);
    EXPECT_FALSE(leaseFromAck(noRouter, 0, &error).has_value());
    EXPECT_EQ(error, "got no Router");

    Message noDns = fullAck();
    noDns.options.erase(kOptDns);
    EXPECT_FALSE(leaseFromAck(noDns, 0, &error).has_value());
    EXPECT_EQ(error, "got no DNS");
}

TEST(DhcpLease, PrefixFromMask) {
    EXPECT_EQ(prefixFromMask(ip("255.255.255.0")), 24);
    EXPECT_EQ(prefixFromMask(ip("255.255.240.0")), 20);
    EXPECT_EQ(prefixFromMask(ip("255.255.255.255")), 32);
    EXPECT_EQ(prefixFromMask(ip("0.0.0.0")), 0);
    EXPECT_EQ(prefixFromMask(ip("255.0.255.0")), -1);

    Message odd = fullAck();
    odd.options[kOptSubnetMask] = bytesOf(ip("255.0.255.0"));
    std::string error;
    EXPECT_EQ(leaseFromAck(odd, 0, &error)->prefix, 24);  // a broken mask falls back to /24
}

}  // namespace
}  // namespace rootlesskit::dhcp

namespace rootlesskit::lxc {
namespace {

TEST(LxcUsernet, CountsTheUsersAndItsGroupsLinesForTheBridge) {
    const std::string text =
        "# comment\n"
        "alice veth lxcbr0 2\n"
        "@devs veth lxcbr0 3   # a group line\n"
        "alice veth otherbr 10\n"
        "alice macvlan lxcbr0 10\n"
        "bob veth lxcbr0 7\n";

    EXPECT_EQ(allowedVeths(text, "alice", {"alice"}, "lxcbr0"), 2);
    EXPECT_EQ(allowedVeths(text, "alice", {"alice", "devs"}, "lxcbr0"), 5);
    EXPECT_EQ(allowedVeths(text, "carol", {"carol"}, "lxcbr0"), 0);
    EXPECT_EQ(allowedVeths(text, "alice", {}, "nosuchbr"), 0);
}

TEST(LxcUsernet, MissingFileAndMissingEntryNameTheLineToAdd) {
    std::string missing = checkUsernet("/nonexistent/lxc-usernet", "lxcbr0");
    EXPECT_NE(missing.find("/nonexistent/lxc-usernet cannot be read"), std::string::npos)
        << missing;
    EXPECT_NE(missing.find(" veth lxcbr0 1\""), std::string::npos) << missing;

    char path[] = "/tmp/rkusernetXXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    close(fd);
    std::ofstream(path) << "somebody-else veth lxcbr0 4\n";
    std::string noEntry = checkUsernet(path, "lxcbr0");
    std::remove(path);

    EXPECT_NE(noEntry.find(std::string(path) + " has no veth entry for user "), std::string::npos)
        << noEntry;
    EXPECT_NE(noEntry.find("on bridge lxcbr0: as root, add the line \""), std::string::npos)
        << noEntry;
}

}  // namespace
}  // namespace rootlesskit::lxc
