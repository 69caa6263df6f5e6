// Tests for the slirp4netns network plugin (build/plugins/rkp-net-slirp4netns.so), driven through
// its C ABI the way the host drives it: against fake slirp4netns scripts for the failure paths,
// and against the real slirp4netns and a network namespace of our own for the data path. Traffic
// goes only to 127.0.0.1 on the host and to addresses inside that namespace.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "tests/unit/slirp4netns_fixture.h"

namespace rktest::slirp {
namespace {

// --help output of a slirp4netns with every option the plugin looks for.
const char *const kFullHelp =
    "--exit-fd --ready-fd --mtu --enable-ipv6 --api-socket --cidr --disable-host-loopback "
    "--netns-type --userns-path --enable-sandbox --enable-seccomp";

// A fake slirp4netns: answers --help with help, otherwise runs body.
std::string fakeSlirp(const ScratchDir &dir, const std::string &help, const std::string &body) {
    return dir.script("slirp4netns", "if [ \"$1\" = --help ]; then echo '" + help +
                                         "'; exit 0; fi\n" + body + "\n");
}

std::string configWithBinary(const std::string &binary, const std::string &extra = "") {
    return "{\"binary\":\"" + binary + "\"" + extra + "}";
}

// A parent-side instance, torn down and destroyed at the end of the test.
class Instance {
public:
    Instance(const rkp_plugin *plugin, const std::string &stateDir, uint32_t side = RKP_SIDE_PARENT)
        : plugin_(plugin), host_(side, stateDir) {}
    ~Instance() {
        if (inst_ != nullptr) {
            rkp_error err = emptyError();
            plugin_->net->teardown(inst_, &err);
            plugin_->destroy(inst_);
        }
    }
    Instance(const Instance &) = delete;
    Instance &operator=(const Instance &) = delete;

    // create(); returns its result and keeps the message in error().
    int create(const std::string &config) {
        err_ = emptyError();
        return plugin_->create(host_.get(), config.c_str(), &inst_, &err_);
    }

    // configure_parent(); the network message is in netmsg().
    int configureParent(const rkp_net_params &params) {
        err_ = emptyError();
        netmsg_.text.clear();
        return plugin_->net->configure_parent(inst_, &params, netmsg_.get(), &err_);
    }

    int watch(int quitFd) {
        err_ = emptyError();
        return plugin_->net->watch(inst_, quitFd, &err_);
    }

    int teardown() {
        err_ = emptyError();
        return plugin_->net->teardown(inst_, &err_);
    }

    std::string info() {
        StringSink out;
        rkp_error err = emptyError();
        plugin_->net->info(inst_, out.get(), &err);
        return out.text;
    }

    std::string error() const { return err_.message; }
    const std::string &netmsg() const { return netmsg_.text; }
    std::string log() { return host_.log(); }

private:
    const rkp_plugin *plugin_;
    RecordingHost host_;
    rkp_instance *inst_ = nullptr;
    rkp_error err_{};
    StringSink netmsg_;
};

// Parameters as the host fills them for the default tap0 and MTU.
struct Params {
    explicit Params(const std::string &stateDir, int childPid = 1) : stateDirText(stateDir) {
        value.struct_size = sizeof(value);
        value.child_pid = childPid;
        value.state_dir = stateDirText.c_str();
        value.ifname = "tap0";
        value.mtu = 65520;
        value.port_driver = "none";
    }
    std::string stateDirText;
    rkp_net_params value{};
};

Poco::JSON::Object::Ptr parseObject(const std::string &text) {
    return Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
}

// A pipe whose read end becomes readable when written to: the host's quit_fd.
class QuitPipe {
public:
    QuitPipe() {
        if (pipe2(fds_, O_CLOEXEC) != 0) {
            fds_[0] = fds_[1] = -1;
        }
    }
    ~QuitPipe() {
        close(fds_[0]);
        close(fds_[1]);
    }
    int readFd() const { return fds_[0]; }
    void trigger() {
        ssize_t ignored = write(fds_[1], "q", 1);
        (void)ignored;
    }

private:
    int fds_[2];
};

class NetSlirp4netnsTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string reason;
        plugin_ = loadPlugin("rkp-net-slirp4netns.so", &reason);
        if (plugin_ == nullptr) {
            GTEST_SKIP() << reason;
        }
        ASSERT_FALSE(dir_.path().empty());
    }

    // Why the real slirp4netns cannot be used here, "" when it can.
    static std::string realNetworkUnavailable() {
        if (access("/dev/net/tun", R_OK | W_OK) != 0) {
            return "/dev/net/tun is not available";
        }
        if (system("command -v slirp4netns >/dev/null 2>&1") != 0) {
            return "slirp4netns is not installed";
        }
        return "";
    }

    const rkp_plugin *plugin_ = nullptr;
    ScratchDir dir_;
};

TEST_F(NetSlirp4netnsTest, DescriptorDeclaresWhatTheHostChecks) {
    EXPECT_EQ(plugin_->kind, RKP_KIND_NETWORK);
    EXPECT_STREQ(plugin_->name, "slirp4netns");
    EXPECT_EQ(plugin_->default_mtu, 65520u);
    EXPECT_STREQ(plugin_->default_ifname, "tap0");
    EXPECT_EQ(plugin_->supports, RKP_SUP_IPV6 | RKP_SUP_DETACH_NETNS | RKP_SUP_CIDR |
                                     RKP_SUP_HOSTFWD_API | RKP_SUP_DISABLE_HOST_LOOPBACK);
    EXPECT_EQ(plugin_->needs, RKP_NEED_NETNS);
    ASSERT_NE(plugin_->net, nullptr);
    EXPECT_NE(plugin_->net->prepare_child, nullptr);
    EXPECT_NE(plugin_->net->watch, nullptr);
}

TEST_F(NetSlirp4netnsTest, CreateRejectsBadConfigNamingTheKey) {
    struct Case {
        std::string config;
        std::string message;
    } cases[] = {
        {R"({"bogus":1})",
         "slirp4netns config: unknown key \"bogus\" (known: binary, sandbox, "
         "seccomp, ready_timeout_seconds)"},
        {R"({"binary":42})", "slirp4netns config: \"binary\" must be a non-empty string"},
        {R"({"sandbox":"maybe"})",
         "slirp4netns config: \"sandbox\" must be \"auto\", \"true\" or \"false\", got \"maybe\""},
        {R"({"seccomp":3})",
         "slirp4netns config: \"seccomp\" must be \"auto\", \"true\" or \"false\", got 3"},
        {R"({"ready_timeout_seconds":0})",
         "slirp4netns config: \"ready_timeout_seconds\" must be an integer from 1 to 3600, got 0"},
        {R"([1])", "slirp4netns config: must be a JSON object"},
    };
    for (const Case &c : cases) {
        Instance inst(plugin_, dir_.path());
        EXPECT_EQ(inst.create(c.config), -EINVAL) << c.config;
        EXPECT_EQ(inst.error(), c.message);
    }
}

TEST_F(NetSlirp4netnsTest, CreateReportsMissingBinary) {
    Instance byPath(plugin_, dir_.path());
    EXPECT_EQ(byPath.create(configWithBinary("/nonexistent/slirp4netns")), -ENOENT);
    EXPECT_EQ(byPath.error(),
              "slirp4netns binary \"/nonexistent/slirp4netns\" is not installed: no such file or "
              "directory");

    Instance byName(plugin_, dir_.path());
    EXPECT_EQ(byName.create(configWithBinary("slirp4netns-not-installed")), -ENOENT);
    EXPECT_EQ(byName.error(),
              "slirp4netns binary \"slirp4netns-not-installed\" is not installed: executable file "
              "not found in $PATH");
}

TEST_F(NetSlirp4netnsTest, ChildSideCreateDoesNotProbe) {
    Instance child(plugin_, dir_.path(), RKP_SIDE_CHILD);
    EXPECT_EQ(child.create(configWithBinary("/nonexistent/slirp4netns")), 0) << child.error();
}

TEST_F(NetSlirp4netnsTest, CreateRejectsOldOrBrokenBinary) {
    std::string old = fakeSlirp(dir_, "--mtu --ready-fd", "exit 0");
    Instance tooOld(plugin_, dir_.path());
    EXPECT_EQ(tooOld.create(configWithBinary(old)), -ENOTSUP);
    EXPECT_EQ(tooOld.error(), "slirp4netns seems older than v0.4.0");

    std::string broken = dir_.script("broken", "echo 'cannot run here'; exit 2\n");
    Instance failing(plugin_, dir_.path());
    EXPECT_EQ(failing.create(configWithBinary(broken)), -EIO);
    EXPECT_EQ(failing.error(), "command \"" + broken +
                                   " --help\" failed, make sure slirp4netns v0.4.0+ is installed: "
                                   "\"cannot run here\": exited with status 2");
}

TEST_F(NetSlirp4netnsTest, SandboxAndSeccompTrueNeedSupport) {
    std::string plain = fakeSlirp(dir_, "--netns-type --ready-fd", "exit 0");

    Instance sandbox(plugin_, dir_.path());
    EXPECT_EQ(sandbox.create(configWithBinary(plain, R"(,"sandbox":"true")")), -ENOTSUP);
    EXPECT_EQ(sandbox.error(), "this version of slirp4netns does not support --enable-sandbox");

    Instance seccomp(plugin_, dir_.path());
    EXPECT_EQ(seccomp.create(configWithBinary(plain, R"(,"seccomp":"true")")), -ENOTSUP);
    EXPECT_EQ(seccomp.error(), "this version of slirp4netns does not support --enable-seccomp");

    Instance automatic(plugin_, dir_.path());
    EXPECT_EQ(automatic.create(configWithBinary(plain, R"(,"sandbox":"auto","seccomp":"auto")")), 0)
        << automatic.error();
}

TEST_F(NetSlirp4netnsTest, SandboxTrueConflictsWithDetachedNetns) {
    std::string fake = fakeSlirp(dir_, kFullHelp, "printf x >&3; exec sleep 60");
    Instance inst(plugin_, dir_.path());
    ASSERT_EQ(inst.create(configWithBinary(fake, R"(,"sandbox":"true")")), 0) << inst.error();
    Params params(dir_.path());
    params.value.detached_netns_path = "/proc/1/ns/net";

    EXPECT_EQ(inst.configureParent(params.value), -EINVAL);
    EXPECT_EQ(inst.error().rfind("--slirp4netns-sandbox conflicts with --detach-netns", 0), 0u)
        << inst.error();
    EXPECT_TRUE(childrenNamed().empty());
}

TEST_F(NetSlirp4netnsTest, ReportsMissingFeatureForRequestedOption) {
    std::string plain = fakeSlirp(dir_, "--netns-type --ready-fd", "printf x >&3; exec sleep 60");
    Instance inst(plugin_, dir_.path());
    ASSERT_EQ(inst.create(configWithBinary(plain)), 0) << inst.error();
    Params params(dir_.path());
    params.value.enable_ipv6 = 1;

    EXPECT_EQ(inst.configureParent(params.value), -ENOTSUP);
    EXPECT_EQ(inst.error(), "this version of slirp4netns does not support --enable-ipv6");
    EXPECT_TRUE(childrenNamed().empty());
}

TEST_F(NetSlirp4netnsTest, CidrPastTheLastAddressIsAnError) {
    std::string fake = fakeSlirp(dir_, kFullHelp, "printf x >&3; exec sleep 60");
    Instance inst(plugin_, dir_.path());
    ASSERT_EQ(inst.create(configWithBinary(fake)), 0) << inst.error();
    Params params(dir_.path());
    params.value.cidr = "255.255.255.192/26";

    EXPECT_EQ(inst.configureParent(params.value), -EINVAL);
    EXPECT_EQ(inst.error(),
              "cidr 255.255.255.192/26: 255.255.255.192 + 100 is past 255.255.255.255");
    EXPECT_TRUE(childrenNamed().empty());
}

TEST_F(NetSlirp4netnsTest, ChildAddressMayBeTheLastAddress) {
    // Spec vector: 255.255.255.155 + 100 = 255.255.255.255 is fine, one more is not.
    std::string fake = fakeSlirp(dir_, kFullHelp, "printf x >&3; exec sleep 60");
    Instance inst(plugin_, dir_.path());
    ASSERT_EQ(inst.create(configWithBinary(fake)), 0) << inst.error();
    Params last(dir_.path());
    last.value.cidr = "255.255.255.155/32";
    ASSERT_EQ(inst.configureParent(last.value), 0) << inst.error();
    EXPECT_EQ(parseObject(inst.netmsg())->getValue<std::string>("ip"), "255.255.255.255");
    EXPECT_EQ(inst.teardown(), 0);

    Params past(dir_.path());
    past.value.cidr = "255.255.255.156/32";
    EXPECT_EQ(inst.configureParent(past.value), -EINVAL);
    EXPECT_EQ(inst.error(),
              "cidr 255.255.255.156/32: 255.255.255.156 + 100 is past 255.255.255.255");
}

TEST_F(NetSlirp4netnsTest, ExitBeforeReadyIsReportedWithItsOutput) {
    std::string fake =
        fakeSlirp(dir_, kFullHelp, "echo 'cannot open tap0: no such device'; exit 3");
    Instance inst(plugin_, dir_.path());
    ASSERT_EQ(inst.create(configWithBinary(fake)), 0) << inst.error();

    EXPECT_EQ(inst.configureParent(Params(dir_.path()).value), -EIO);
    EXPECT_EQ(inst.error(), "slirp4netns exited with status 3: cannot open tap0: no such device");
    EXPECT_TRUE(childrenNamed().empty());
}

TEST_F(NetSlirp4netnsTest, DeathBySignalBeforeReadyIsReported) {
    std::string fake = fakeSlirp(dir_, kFullHelp, "kill -9 $$");
    Instance inst(plugin_, dir_.path());
    ASSERT_EQ(inst.create(configWithBinary(fake)), 0) << inst.error();

    EXPECT_EQ(inst.configureParent(Params(dir_.path()).value), -EIO);
    EXPECT_EQ(inst.error(), "slirp4netns killed by signal 9");
    EXPECT_TRUE(childrenNamed().empty());
}

TEST_F(NetSlirp4netnsTest, ReadinessDeadlineKillsTheHelper) {
    std::string fake = fakeSlirp(dir_, kFullHelp, "exec sleep 60");
    Instance inst(plugin_, dir_.path());
    ASSERT_EQ(inst.create(configWithBinary(fake, R"(,"ready_timeout_seconds":1)")), 0)
        << inst.error();

    EXPECT_EQ(inst.configureParent(Params(dir_.path()).value), -ETIMEDOUT);
    EXPECT_EQ(inst.error(), "slirp4netns did not become ready within 1s");
    EXPECT_TRUE(childrenNamed().empty());
}

TEST_F(NetSlirp4netnsTest, PassesUpstreamArgvAndTheReadyAndExitFds) {
    // The fake records its argv and where fds 3 and 4 lead, then reports ready.
    std::string fake = fakeSlirp(dir_, kFullHelp,
                                 "echo \"$@\" > " + dir_.path() + "/argv\n" +
                                     "ls -l /proc/$$/fd/3 /proc/$$/fd/4 > " + dir_.path() +
                                     "/fds 2>&1\n" + "printf x >&3; exec sleep 60");
    Instance inst(plugin_, dir_.path());
    ASSERT_EQ(inst.create(configWithBinary(fake)), 0) << inst.error();
    Params params(dir_.path(), 4242);
    params.value.cidr = "10.0.3.0/24";
    params.value.enable_ipv6 = 1;
    params.value.disable_host_loopback = 1;
    params.value.port_driver = "slirp4netns";
    params.value.port_driver_needs = RKP_NEED_NET_HOSTFWD_API;

    ASSERT_EQ(inst.configureParent(params.value), 0) << inst.error();

    std::ifstream argvFile(dir_.path() + "/argv");
    std::string argv;
    std::getline(argvFile, argv);
    EXPECT_EQ(argv,
              "--mtu 65520 -r 3 -e 4 --disable-host-loopback --cidr 10.0.3.0/24 "
              "--api-socket " +
                  dir_.path() + "/.s4nn.sock --enable-ipv6 4242 tap0");
    std::ifstream fdsFile(dir_.path() + "/fds");
    std::string fds((std::istreambuf_iterator<char>(fdsFile)), std::istreambuf_iterator<char>());
    EXPECT_NE(fds.find("/fd/3 -> pipe:"), std::string::npos) << fds;
    EXPECT_NE(fds.find("/fd/4 -> pipe:"), std::string::npos) << fds;

    Poco::JSON::Object::Ptr msg = parseObject(inst.netmsg());
    EXPECT_EQ(msg->getValue<std::string>("dev"), "tap0");
    EXPECT_EQ(msg->getValue<std::string>("ip"), "10.0.3.100");
    EXPECT_EQ(msg->getValue<int>("prefix"), 24);
    EXPECT_EQ(msg->getValue<std::string>("gateway"), "10.0.3.2");
    EXPECT_EQ(msg->getValue<int>("mtu"), 65520);
    Poco::JSON::Array::Ptr dns = msg->getArray("dns");
    ASSERT_EQ(dns->size(), 2u);
    EXPECT_EQ(dns->getElement<std::string>(0), "10.0.3.3");
    EXPECT_EQ(dns->getElement<std::string>(1), "fd00::3");
    Poco::JSON::Object::Ptr opaque = msg->getObject("opaque");
    EXPECT_EQ(opaque->getValue<std::string>("api_socket"), dir_.path() + "/.s4nn.sock");
    EXPECT_EQ(opaque->getValue<std::string>("child_ip"), "10.0.3.100");

    EXPECT_EQ(inst.info(),
              R"({"driver":"slirp4netns","dns":["10.0.3.3","fd00::3"],"childIP":"10.0.3.100"})");
}

TEST_F(NetSlirp4netnsTest, DetachedNetnsUsesUsernsPathAndNetnsTypePath) {
    std::string fake =
        fakeSlirp(dir_, kFullHelp,
                  "echo \"$@\" > " + dir_.path() + "/argv\nprintf x >&3\n" + "exec sleep 60");
    Instance inst(plugin_, dir_.path());
    ASSERT_EQ(inst.create(configWithBinary(fake, R"(,"sandbox":"auto")")), 0) << inst.error();
    Params params(dir_.path(), 4242);
    params.value.detached_netns_path = "/proc/4242/root/sd/netns";

    ASSERT_EQ(inst.configureParent(params.value), 0) << inst.error();

    std::ifstream argvFile(dir_.path() + "/argv");
    std::string argv;
    std::getline(argvFile, argv);
    // No --enable-sandbox: auto leaves it off with a detached namespace.
    EXPECT_EQ(argv,
              "--mtu 65520 -r 3 -e 4 --userns-path=/proc/4242/ns/user --netns-type=path "
              "/proc/4242/root/sd/netns tap0");
}

TEST_F(NetSlirp4netnsTest, WatchReportsDeathWithStatusAndLastLine) {
    std::string fake = fakeSlirp(dir_, kFullHelp, "printf x >&3; echo bye; exit 5");
    Instance inst(plugin_, dir_.path());
    ASSERT_EQ(inst.create(configWithBinary(fake)), 0) << inst.error();
    ASSERT_EQ(inst.configureParent(Params(dir_.path()).value), 0) << inst.error();

    QuitPipe idle;
    EXPECT_EQ(inst.watch(idle.readFd()), -EPIPE);
    EXPECT_EQ(inst.error(), "slirp4netns exited unexpectedly (status 5): bye");
    EXPECT_NE(inst.log().find("slirp4netns: bye"), std::string::npos) << inst.log();
    EXPECT_TRUE(childrenNamed().empty());
}

TEST_F(NetSlirp4netnsTest, WatchReturnsOnQuitAndOnTeardown) {
    std::string fake = fakeSlirp(dir_, kFullHelp, "printf x >&3; exec sleep 60");
    Instance inst(plugin_, dir_.path());
    ASSERT_EQ(inst.create(configWithBinary(fake)), 0) << inst.error();
    ASSERT_EQ(inst.configureParent(Params(dir_.path()).value), 0) << inst.error();

    QuitPipe quit;
    quit.trigger();
    EXPECT_EQ(inst.watch(quit.readFd()), 0);
    EXPECT_EQ(childrenNamed().size(), 1u);  // still running

    QuitPipe idle;
    int watchResult = 1;
    std::thread watcher([&] { watchResult = inst.watch(idle.readFd()); });
    EXPECT_EQ(inst.teardown(), 0);
    watcher.join();
    EXPECT_EQ(watchResult, 0) << inst.error();
    EXPECT_TRUE(childrenNamed().empty());
    EXPECT_EQ(inst.teardown(), 0);  // idempotent
}

// The real slirp4netns against a namespace of our own: readiness, the interface set-up the host
// does from the network message, host loopback through the gateway, and death while watched.
TEST_F(NetSlirp4netnsTest, RealSlirp4netnsConnectsTheNamespace) {
    std::string unavailable = realNetworkUnavailable();
    if (!unavailable.empty()) {
        GTEST_SKIP() << unavailable;
    }
    NetnsProcess ns(plugin_);
    if (!ns.started()) {
        GTEST_SKIP() << "cannot create a network namespace here";
    }
    ASSERT_EQ(ns.call("prepare tap0"), "ok");
    Instance inst(plugin_, dir_.path());
    ASSERT_EQ(inst.create("{}"), 0) << inst.error();

    ASSERT_EQ(inst.configureParent(Params(dir_.path(), ns.pid()).value), 0) << inst.error();
    Poco::JSON::Object::Ptr msg = parseObject(inst.netmsg());
    EXPECT_EQ(msg->getValue<std::string>("ip"), "10.0.2.100");
    EXPECT_EQ(msg->getValue<std::string>("gateway"), "10.0.2.2");
    EXPECT_FALSE(msg->getObject("opaque")->has("api_socket"));
    EXPECT_EQ(inst.info(), R"({"driver":"slirp4netns","dns":["10.0.2.3"],"childIP":"10.0.2.100"})");
    ASSERT_EQ(ns.call("configure tap0 10.0.2.100 24 10.0.2.2 65520"), "ok");

    // Host loopback is reachable at the gateway address unless disabled.
    int port = 0;
    int listener = listenOn(SOCK_STREAM, "127.0.0.1", 0, &port);
    ASSERT_GE(listener, 0);
    serveEcho(listener, SOCK_STREAM);
    EXPECT_EQ(ns.call("dial 10.0.2.2 " + std::to_string(port) + " hello"), "ok hello");

    // slirp4netns dying while the command runs ends watch with its status.
    std::vector<pid_t> helpers = childrenNamed("slirp4netns");
    ASSERT_EQ(helpers.size(), 1u);
    kill(helpers[0], SIGKILL);
    QuitPipe idle;
    EXPECT_EQ(inst.watch(idle.readFd()), -EPIPE);
    EXPECT_EQ(inst.error().rfind("slirp4netns exited unexpectedly (killed by signal 9)", 0), 0u)
        << inst.error();
}

TEST_F(NetSlirp4netnsTest, RealSlirp4netnsHonoursDisableHostLoopback) {
    std::string unavailable = realNetworkUnavailable();
    if (!unavailable.empty()) {
        GTEST_SKIP() << unavailable;
    }
    NetnsProcess ns(plugin_);
    if (!ns.started()) {
        GTEST_SKIP() << "cannot create a network namespace here";
    }
    ASSERT_EQ(ns.call("prepare tap0"), "ok");
    Instance inst(plugin_, dir_.path());
    ASSERT_EQ(inst.create("{}"), 0) << inst.error();
    Params params(dir_.path(), ns.pid());
    params.value.disable_host_loopback = 1;
    params.value.mtu = 1500;

    ASSERT_EQ(inst.configureParent(params.value), 0) << inst.error();
    ASSERT_EQ(ns.call("configure tap0 10.0.2.100 24 10.0.2.2 1500"), "ok");
    int port = 0;
    int listener = listenOn(SOCK_STREAM, "127.0.0.1", 0, &port);
    ASSERT_GE(listener, 0);
    serveEcho(listener, SOCK_STREAM);

    std::string reply = ns.call("dial 10.0.2.2 " + std::to_string(port) + " hello");
    EXPECT_EQ(reply.rfind("ok error:", 0), 0u) << reply;
    EXPECT_EQ(inst.teardown(), 0);
    EXPECT_TRUE(childrenNamed("slirp4netns").empty());
}

}  // namespace
}  // namespace rktest::slirp
