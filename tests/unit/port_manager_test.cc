// PortManager: ID assignment, validation and conflicts before the driver, driver failures, and
// the no-driver mode.
#include "core/port_manager.h"

#include <gtest/gtest.h>

#include "tests/unit/fake_port_plugin.h"

namespace rootlesskit {
namespace {

using rktest::fakePorts;

PortSpec spec(const std::string &proto, const std::string &parentIP, int parentPort, int childPort,
              const std::string &childIP = "") {
    return PortSpec{proto, parentIP, parentPort, childPort, childIP};
}

std::vector<uint64_t> ids(PortManager &manager) {
    auto listed = manager.list();
    EXPECT_TRUE(listed.ok()) << listed.status().message();
    std::vector<uint64_t> out;
    for (const PortStatus &p : *listed) {
        out.push_back(p.id);
    }
    return out;
}

class PortManagerTest : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_NE(fake_.driver, nullptr) << fake_.error; }

    rktest::FakePortDriver fake_;
    PortManager manager_{fake_.driver.get()};
};

TEST_F(PortManagerTest, AssignsIdsInOrderAndEchoesTheSpec) {
    auto a = manager_.add(spec("tcp", "127.0.0.1", 8080, 80));
    auto b = manager_.add(spec("udp", "", 5353, 53, "10.0.2.100"));
    ASSERT_TRUE(a.ok()) << a.status().message();
    ASSERT_TRUE(b.ok()) << b.status().message();

    EXPECT_EQ(a->id, 1u);
    EXPECT_EQ(b->id, 2u);
    EXPECT_EQ(b->spec, spec("udp", "", 5353, 53, "10.0.2.100"));
    EXPECT_FALSE(b->implicit);
}

TEST_F(PortManagerTest, IdsAreNeverReusedAfterRemove) {
    ASSERT_TRUE(manager_.add(spec("tcp", "", 8001, 80)).ok());
    ASSERT_TRUE(manager_.add(spec("tcp", "", 8002, 80)).ok());
    ASSERT_TRUE(manager_.remove(2).ok());

    auto c = manager_.add(spec("tcp", "", 8002, 80));

    ASSERT_TRUE(c.ok()) << c.status().message();
    EXPECT_EQ(c->id, 3u);
    EXPECT_EQ(ids(manager_), (std::vector<uint64_t>{1, 3}));
}

// As upstream's: the IDs users see stay consecutive over the ports that were added.
TEST_F(PortManagerTest, DriverFailureConsumesNoIdAndLeavesTheTableUnchanged) {
    ASSERT_TRUE(manager_.add(spec("tcp", "", 8001, 80)).ok());
    {
        std::lock_guard<std::mutex> lock(fakePorts().mutex);
        fakePorts().failAdd = -EADDRINUSE;
        fakePorts().failMessage = "listen tcp 0.0.0.0:8002: address already in use";
    }

    auto failed = manager_.add(spec("tcp", "", 8002, 80));

    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.status().message(), "listen tcp 0.0.0.0:8002: address already in use");
    EXPECT_EQ(failed.status().code(), EADDRINUSE);
    EXPECT_EQ(ids(manager_), (std::vector<uint64_t>{1}));

    fakePorts().reset();
    auto next = manager_.add(spec("tcp", "", 8002, 80));
    ASSERT_TRUE(next.ok()) << next.status().message();
    EXPECT_EQ(next->id, 2u) << "the failed add used up an ID";
}

TEST_F(PortManagerTest, ValidationFailureReachesNoDriverAndConsumesNoId) {
    auto zero = manager_.add(spec("tcp", "", 0, 80));
    auto high = manager_.add(spec("tcp", "", 70000, 80));

    ASSERT_FALSE(zero.ok());
    EXPECT_EQ(zero.status().message().rfind("invalid ParentPort: ", 0), 0u)
        << zero.status().message();
    ASSERT_FALSE(high.ok());
    EXPECT_EQ(high.status().message().rfind("invalid ParentPort: ", 0), 0u);
    EXPECT_TRUE(fakePorts().snapshot().empty());

    auto first = manager_.add(spec("tcp", "", 8080, 80));
    ASSERT_TRUE(first.ok());
    EXPECT_EQ(first->id, 1u);
}

TEST_F(PortManagerTest, PassesProtocolFamilyAndStringsToTheDriver) {
    ASSERT_TRUE(manager_.add(spec("tcp6", "::1", 8080, 80)).ok());
    ASSERT_TRUE(manager_.add(spec("udp4", "127.0.0.1", 5353, 53, "10.0.2.100")).ok());
    ASSERT_TRUE(manager_.add(spec("sctp", "", 9000, 9000)).ok());

    auto calls = fakePorts().snapshot();

    ASSERT_EQ(calls.size(), 3u);
    EXPECT_EQ(calls[0].op, "add");
    EXPECT_EQ(calls[0].id, 1u);
    EXPECT_EQ(calls[0].proto, RKP_PROTO_TCP);
    EXPECT_EQ(calls[0].family, RKP_FAMILY_IPV6);
    EXPECT_EQ(calls[0].spec, spec("tcp6", "::1", 8080, 80));
    EXPECT_EQ(calls[1].proto, RKP_PROTO_UDP);
    EXPECT_EQ(calls[1].family, RKP_FAMILY_IPV4);
    EXPECT_EQ(calls[1].spec, spec("udp4", "127.0.0.1", 5353, 53, "10.0.2.100"));
    EXPECT_EQ(calls[2].proto, RKP_PROTO_SCTP);
    EXPECT_EQ(calls[2].family, RKP_FAMILY_ANY);
}

// Upstream's validation vectors (spec §4.2), against {1: tcp *:80->80, 2: tcp 10.10.10.10:8080}.
TEST_F(PortManagerTest, ConflictAndValidationVectors) {
    ASSERT_TRUE(manager_.add(spec("tcp", "", 80, 80)).ok());
    ASSERT_TRUE(manager_.add(spec("tcp", "10.10.10.10", 8080, 8080)).ok());

    struct Case {
        PortSpec spec;
        std::string errorPrefix;  // "" = accepted
    };
    const std::vector<Case> cases = {
        {spec("", "", 1001, 80), "unknown proto: "},
        {spec("NaN", "", 1002, 80), "unknown proto: "},
        {spec("TCP", "", 1003, 80), "unknown proto: "},
        {spec("tcp", "", -200, 80), "invalid ParentPort: "},
        {spec("tcp", "", 1000000, 80), "invalid ParentPort: "},
        {spec("tcp", "", 1004, 0), "invalid ChildPort: "},
        {spec("tcp", "", 80, 90), "conflict with ID 1"},
        {spec("tcp", "10.10.10.10", 8080, 8080), "conflict with ID 2"},
        {spec("udp", "", 80, 80), ""},
        {spec("tcp", "10.10.10.11", 8080, 8080), ""},
        {spec("tcp", "10.10.10.10", 8081, 8080), ""},
        {spec("tcp4", "", 80, 80), ""},
        {spec("tcp", "0.0.0.0", 80, 80), ""},
        {spec("sctp", "", 20, 20), ""},
        {spec("udp", "", 65000, 1337), ""},
    };
    for (const Case &c : cases) {
        auto added = manager_.add(c.spec);
        if (c.errorPrefix.empty()) {
            EXPECT_TRUE(added.ok()) << formatPortSpec(c.spec) << ": " << added.status().message();
        } else {
            ASSERT_FALSE(added.ok()) << formatPortSpec(c.spec);
            EXPECT_EQ(added.status().message().rfind(c.errorPrefix, 0), 0u)
                << formatPortSpec(c.spec) << ": " << added.status().message();
        }
    }
}

TEST_F(PortManagerTest, RemoveUnknownIdIsEnoent) {
    Status removed = manager_.remove(7);

    EXPECT_FALSE(removed.ok());
    EXPECT_EQ(removed.message(), "unknown id: 7");
    EXPECT_EQ(removed.code(), ENOENT);
    EXPECT_TRUE(fakePorts().snapshot().empty());
}

TEST_F(PortManagerTest, RemoveFailureKeepsThePort) {
    ASSERT_TRUE(manager_.add(spec("tcp", "", 8080, 80)).ok());
    {
        std::lock_guard<std::mutex> lock(fakePorts().mutex);
        fakePorts().failRemove = -EIO;
        fakePorts().failMessage = "remove port 1: input/output error";
    }

    Status removed = manager_.remove(1);

    EXPECT_EQ(removed.message(), "remove port 1: input/output error");
    EXPECT_EQ(ids(manager_), (std::vector<uint64_t>{1}));
}

TEST_F(PortManagerTest, ListIsOrderedById) {
    for (int port = 8001; port <= 8005; ++port) {
        ASSERT_TRUE(manager_.add(spec("tcp", "", port, 80)).ok());
    }
    ASSERT_TRUE(manager_.remove(3).ok());

    EXPECT_EQ(ids(manager_), (std::vector<uint64_t>{1, 2, 4, 5}));
}

TEST_F(PortManagerTest, DriverInfoIsTheDriversObject) {
    auto info = manager_.driverInfo();

    ASSERT_TRUE(info.ok());
    EXPECT_EQ(*info, fakePorts().info);
}

TEST(PortManagerNoDriver, EveryPortCallFails) {
    PortManager manager(nullptr);

    auto added = manager.add(spec("tcp", "", 8080, 80));
    Status removed = manager.remove(1);
    auto listed = manager.list();
    auto info = manager.driverInfo();

    EXPECT_FALSE(manager.hasDriver());
    EXPECT_EQ(added.status().message(), "no PortDriver is available");
    EXPECT_EQ(removed.message(), "no PortDriver is available");
    EXPECT_EQ(listed.status().message(), "no PortDriver is available");
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(*info, "") << "no portDriver member without a driver";
}

TEST(PortManagerImplicit, ListComesFromTheDriverMarkedImplicit) {
    rktest::FakePortDriver fake(/*implicit=*/true);
    ASSERT_NE(fake.driver, nullptr) << fake.error;
    {
        std::lock_guard<std::mutex> lock(fakePorts().mutex);
        fakePorts().listed[2] = spec("tcp", "", 8080, 8080);
        fakePorts().listed[5] = spec("tcp6", "::", 443, 443);
    }
    PortManager manager(fake.driver.get());

    auto listed = manager.list();

    ASSERT_TRUE(listed.ok()) << listed.status().message();
    ASSERT_EQ(listed->size(), 2u);
    EXPECT_EQ((*listed)[0].id, 2u);
    EXPECT_EQ((*listed)[0].spec, spec("tcp", "", 8080, 8080));
    EXPECT_TRUE((*listed)[0].implicit);
    EXPECT_EQ((*listed)[1].id, 5u);
    EXPECT_EQ((*listed)[1].spec, spec("tcp6", "::", 443, 443));
}

TEST(PortManagerImplicit, RemoveOfADriverListedIdGoesToTheDriver) {
    rktest::FakePortDriver fake(/*implicit=*/true);
    ASSERT_NE(fake.driver, nullptr) << fake.error;
    {
        std::lock_guard<std::mutex> lock(fakePorts().mutex);
        fakePorts().failRemove = -ENOTSUP;
        fakePorts().failMessage =
            "remove port 2: ports of the implicit driver follow the listeners";
    }
    PortManager manager(fake.driver.get());

    Status removed = manager.remove(2);

    EXPECT_EQ(removed.message(),
              "remove port 2: ports of the implicit driver follow the listeners");
    EXPECT_EQ(removed.code(), ENOTSUP);
}

}  // namespace
}  // namespace rootlesskit
