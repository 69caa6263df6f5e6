// Tests for the pasta network plugin (build/plugins/rkp-net-pasta.so) through its C ABI, against
// fake pasta scripts: the probe of what a pasta can do (refusal and warning texts) and the
// command line it is started with. The real pasta is exercised by tests/e2e/pasta_test.cc.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "tests/unit/slirp4netns_fixture.h"

namespace rktest::pasta {
namespace {

using rktest::slirp::emptyError;
using rktest::slirp::RecordingHost;
using rktest::slirp::ScratchDir;
using rktest::slirp::StringSink;

// A fake pasta: prints version for --version, fails for any argument in refused, and otherwise
// records its arguments (one per line) in <dir>/argv and exits 0 as a daemonising pasta would.
std::string fakePasta(const ScratchDir &dir, const std::string &version,
                      const std::string &refused) {
    return dir.script("pasta",
                      "for a in \"$@\"; do\n"
                      "  for r in " +
                          refused +
                          "; do\n"
                          "    case \"$a\" in \"$r\"|\"$r\"=*) echo \"unknown option $r\" >&2; "
                          "exit 1;; esac\n"
                          "  done\n"
                          "done\n"
                          "for a in \"$@\"; do [ \"$a\" = --version ] && { echo 'pasta " +
                          version +
                          "'; exit 0; }; done\n"
                          "printf '%s\\n' \"$@\" > " +
                          dir.path() +
                          "/argv\n"
                          "exit 0\n");
}

class NetPastaTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string reason;
        plugin_ = rktest::slirp::loadPlugin("rkp-net-pasta.so", &reason);
        if (plugin_ == nullptr) {
            GTEST_SKIP() << reason;
        }
        host_ = std::make_unique<RecordingHost>(RKP_SIDE_PARENT, dir_.path());
    }
    void TearDown() override {
        if (inst_ != nullptr) {
            rkp_error err = emptyError();
            plugin_->net->teardown(inst_, &err);
            plugin_->destroy(inst_);
        }
    }

    int create(const std::string &binary) {
        err_ = emptyError();
        std::string config = "{\"binary\":\"" + binary + "\"}";
        return plugin_->create(host_->get(), config.c_str(), &inst_, &err_);
    }

    // configure_parent with the defaults the host would pass; returns the recorded argv.
    std::string configure(bool disableHostLoopback, bool ipv6, const char *detached,
                          uint64_t portNeeds, std::string *netmsg = nullptr) {
        rkp_net_params params{};
        params.struct_size = sizeof(params);
        params.child_pid = 4242;
        params.state_dir = dir_.path().c_str();
        params.detached_netns_path = detached;
        params.ifname = "tap0";
        params.mtu = 65520;
        params.enable_ipv6 = ipv6 ? 1 : 0;
        params.disable_host_loopback = disableHostLoopback ? 1 : 0;
        params.port_driver_needs = portNeeds;
        params.port_driver = portNeeds != 0 ? "implicit" : "none";
        StringSink out;
        err_ = emptyError();
        EXPECT_EQ(plugin_->net->configure_parent(inst_, &params, out.get(), &err_), 0)
            << err_.message;
        if (netmsg != nullptr) {
            *netmsg = out.text;
        }
        std::ifstream in(dir_.path() + "/argv");
        std::ostringstream text;
        text << in.rdbuf();
        std::string argv = text.str();
        for (char &c : argv) {
            c = c == '\n' ? ' ' : c;
        }
        return argv;
    }

    const rkp_plugin *plugin_ = nullptr;
    ScratchDir dir_;
    std::unique_ptr<RecordingHost> host_;
    rkp_instance *inst_ = nullptr;
    rkp_error err_ = emptyError();
};

TEST_F(NetPastaTest, DescriptorDeclaresImplicitPortsAndItsOwnInterfaceSetUp) {
    EXPECT_STREQ(plugin_->name, "pasta");
    EXPECT_EQ(plugin_->default_mtu, 65520u);
    EXPECT_STREQ(plugin_->default_ifname, "tap0");
    EXPECT_NE(plugin_->supports & RKP_SUP_IMPLICIT_PORTS, 0u);
    EXPECT_NE(plugin_->needs & RKP_NEED_PORT_IMPLICIT, 0u);
    EXPECT_NE(plugin_->needs & RKP_NEED_OWN_IFACE_SETUP, 0u);
}

TEST_F(NetPastaTest, MissingBinaryIsUpstreamsMessage) {
    EXPECT_NE(create("/nonexistent/pasta"), 0);
    EXPECT_EQ(std::string(err_.message)
                  .rfind("pasta binary \"/nonexistent/pasta\" is not "
                         "installed: ",
                         0),
              0u)
        << err_.message;
}

TEST_F(NetPastaTest, PastaLackingANeededOptionIsRefusedNamingVersionsAndTheWayOut) {
    std::string binary = fakePasta(dir_, "2023_01_01.abcdef0", "--config-net --ipv4-only");

    EXPECT_EQ(create(binary), -ENOTSUP);
    EXPECT_EQ(std::string(err_.message),
              "pasta " + binary +
                  " (2023_01_01.abcdef0) lacks --config-net, --ipv4-only, which the pasta "
                  "network driver needs: pasta 2023_06_25 or later is needed "
                  "(scripts/build-passt.sh builds a recent one from Debian 13's source; select "
                  "it with --pasta-binary)");
}

TEST_F(NetPastaTest, OldButSufficientPastaGetsOneWarning) {
    // Debian 12's pasta: every needed option, no --host-lo-to-ns-lo, no version string.
    std::string binary = fakePasta(dir_, "unknown version", "--host-lo-to-ns-lo");

    ASSERT_EQ(create(binary), 0) << err_.message;
    std::string log = host_->log();
    EXPECT_NE(log.find(std::to_string(RKP_LOG_WARN) + " pasta " + binary +
                       " (version unknown) lacks --host-lo-to-ns-lo"),
              std::string::npos)
        << log;
    EXPECT_NE(log.find("2023_12_04 or later is recommended"), std::string::npos) << log;
}

TEST_F(NetPastaTest, RecentPastaGetsNoWarningAndHostLoToNsLo) {
    std::string binary = fakePasta(dir_, "2024_06_07.8a83b53", "");
    ASSERT_EQ(create(binary), 0) << err_.message;
    EXPECT_EQ(host_->log().find(std::to_string(RKP_LOG_WARN) + " "), std::string::npos)
        << host_->log();

    std::string argv = configure(false, false, nullptr, 0);
    EXPECT_NE(argv.find("--host-lo-to-ns-lo"), std::string::npos) << argv;
}

TEST_F(NetPastaTest, ArgvFollowsUpstreamsOrder) {
    std::string binary = fakePasta(dir_, "2024_06_07.8a83b53", "--host-lo-to-ns-lo");
    ASSERT_EQ(create(binary), 0) << err_.message;

    std::string netmsg;
    EXPECT_EQ(configure(false, false, nullptr, RKP_NEED_NET_IMPLICIT_PORTS, &netmsg),
              "--stderr --ns-ifname=tap0 --mtu=65520 --config-net --address=10.0.2.100 "
              "--netmask=24 --gateway=10.0.2.2 --dns-forward=10.0.2.3 --ipv4-only "
              "--tcp-ports=auto --udp-ports=auto 4242 ");
    auto parsed = Poco::JSON::Parser().parse(netmsg).extract<Poco::JSON::Object::Ptr>();
    EXPECT_EQ(parsed->getValue<std::string>("ip"), "10.0.2.100");
    EXPECT_EQ(parsed->getValue<std::string>("gateway"), "10.0.2.2");
    EXPECT_EQ(parsed->getArray("dns")->getElement<std::string>(0), "10.0.2.3");
}

TEST_F(NetPastaTest, DisableHostLoopbackAlsoClosesTheNamespaceToHostDirection) {
    std::string binary = fakePasta(dir_, "2024_06_07.8a83b53", "--host-lo-to-ns-lo");
    ASSERT_EQ(create(binary), 0) << err_.message;

    // --ipv6 drops --ipv4-only; no port driver: no automatic forwarding.
    EXPECT_EQ(configure(true, true, "/proc/4242/root/sd/netns", 0),
              "--stderr --ns-ifname=tap0 --mtu=65520 --config-net --address=10.0.2.100 "
              "--netmask=24 --gateway=10.0.2.2 --dns-forward=10.0.2.3 --no-map-gw "
              "--tcp-ports=none --udp-ports=none --tcp-ns=none --udp-ns=none "
              "--userns=/proc/4242/ns/user --netns=/proc/4242/root/sd/netns ");
}

// Debian 12's pasta looks for new listeners inside only while it also forwards the host's ports
// into the namespace: with implicit ports it keeps that direction open, and says so once.
TEST_F(NetPastaTest, OldPastaWithImplicitPortsKeepsNamespaceToHostAndWarns) {
    std::string binary = fakePasta(dir_, "unknown version", "--host-lo-to-ns-lo");
    ASSERT_EQ(create(binary), 0) << err_.message;

    std::string argv = configure(true, false, nullptr, RKP_NEED_NET_IMPLICIT_PORTS);
    EXPECT_NE(argv.find("--no-map-gw"), std::string::npos) << argv;
    EXPECT_EQ(argv.find("--tcp-ns=none"), std::string::npos) << argv;
    EXPECT_NE(host_->log().find(std::to_string(RKP_LOG_WARN) + " pasta " + binary +
                                " finds the ports bound in the namespace only while"),
              std::string::npos)
        << host_->log();

    // Without implicit ports there is nothing to find: both paths are closed.
    EXPECT_NE(configure(true, false, nullptr, 0).find("--tcp-ns=none --udp-ns=none"),
              std::string::npos);
}

TEST_F(NetPastaTest, FailingPastaReportsItsExitCodeAndOutput) {
    std::string binary =
        dir_.script("pasta",
                    "for a in \"$@\"; do [ \"$a\" = --version ] && exit 0; done\n"
                    "echo 'Couldn'\"'\"'t open network namespace /proc/4242/ns/net' >&2; exit 1\n");
    ASSERT_EQ(create(binary), 0) << err_.message;

    rkp_net_params params{};
    params.struct_size = sizeof(params);
    params.child_pid = 4242;
    params.state_dir = dir_.path().c_str();
    params.ifname = "tap0";
    params.mtu = 65520;
    StringSink out;
    err_ = emptyError();
    EXPECT_EQ(plugin_->net->configure_parent(inst_, &params, out.get(), &err_), -EIO);
    EXPECT_STREQ(err_.message,
                 "pasta failed with exit code 1: Couldn't open network namespace "
                 "/proc/4242/ns/net");
}

}  // namespace
}  // namespace rktest::pasta
