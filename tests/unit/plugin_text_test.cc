// Text a plugin hands the host (error messages, log lines, its version) reaches the terminal as
// one line without live control characters: terminalSafe() and where the host applies it.
#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include <spdlog/sinks/ostream_sink.h>

#include "core/driver.h"
#include "core/log.h"
#include "core/plugin_loader.h"
#include "core/plugins_command.h"
#include "rootlesskit/rkp.h"

namespace rootlesskit {
namespace {

// ---- terminalSafe ------------------------------------------------------------------------------

TEST(TerminalSafeTest, EscapesControlCharactersVisibly) {
    EXPECT_EQ(terminalSafe("a\nb\rc\td"), "a\\nb\\rc\\td");
    EXPECT_EQ(terminalSafe("\x1b[2Jgone\a"), "\\x1b[2Jgone\\x07");
    EXPECT_EQ(terminalSafe(std::string("nul\0here", 8)), "nul\\x00here");
    EXPECT_EQ(terminalSafe("del\x7f"), "del\\x7f");
}

TEST(TerminalSafeTest, KeepsPrintableTextAndUtf8) {
    EXPECT_EQ(terminalSafe("listen 127.0.0.1:8080: address in use"),
              "listen 127.0.0.1:8080: address in use");
    EXPECT_EQ(terminalSafe("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7 C:\\path"),
              "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7 C:\\path");
}

TEST(TerminalSafeTest, EscapesC1ControlsAndBytesThatAreNotUtf8) {
    // CSI, as UTF-8 and as a raw byte (split literals: "\x9b3" would be one escape).
    EXPECT_EQ(terminalSafe(std::string("\xc2\x9b") + "31m"), "\\u009b31m");
    EXPECT_EQ(terminalSafe(std::string("\x9b") + "31m"), "\\x9b31m");
    EXPECT_EQ(terminalSafe("cut \xe2\x82"), "cut \\xe2\\x82");  // a sequence cut short
    EXPECT_EQ(terminalSafe("\xc0\xaf"), "\\xc0\\xaf");          // overlong "/"
}

TEST(TerminalSafeTest, CutsLongTextAtACharacterAndSaysSo) {
    std::string text(10000, 'x');
    std::string safe = terminalSafe(text, 4096);
    EXPECT_EQ(safe, std::string(4096, 'x') + " [cut: 10000 bytes in all]");

    // Never inside an escape: "\n" is two bytes, the third would not fit.
    EXPECT_EQ(terminalSafe("ab\n\n", 5), "ab\\n [cut: 4 bytes in all]");
    EXPECT_EQ(terminalSafe("abc", 3), "abc");
}

// ---- A port plugin whose add_port says what the test tells it to -----------------------------

struct UntidyBehaviour {
    int rc = 0;
    std::string message;
    bool log = false;
    const char *logText = nullptr;  // NULL logs NULL
};

UntidyBehaviour gUntidy;

int untidyCreate(const rkp_host *host, const char *, rkp_instance **out, rkp_error *) {
    *out = reinterpret_cast<rkp_instance *>(const_cast<rkp_host *>(host));
    return 0;
}

void untidyDestroy(rkp_instance *) {}

int untidyInitParent(rkp_instance *, const rkp_port_context *, const rkp_sink *, rkp_error *) {
    return 0;
}

int untidyInitChild(rkp_instance *, const char *, const char *, rkp_error *) {
    return 0;
}

int untidyAddPort(rkp_instance *inst, uint64_t, const rkp_port_spec *, rkp_error *err) {
    const auto *host = reinterpret_cast<const rkp_host *>(inst);
    if (gUntidy.log) {
        host->log(host->ctx, RKP_LOG_WARN, gUntidy.logText);
    }
    std::snprintf(err->message, sizeof(err->message), "%s", gUntidy.message.c_str());
    return gUntidy.rc;
}

int untidyRemovePort(rkp_instance *, uint64_t, rkp_error *) {
    return 0;
}

int untidyInfo(rkp_instance *, const rkp_sink *, rkp_error *) {
    return 0;
}

const rkp_port_ops kUntidyOps = {sizeof(rkp_port_ops), untidyInitParent, nullptr,
                                 untidyInitChild,      nullptr,          untidyAddPort,
                                 untidyRemovePort,     nullptr,          untidyInfo};

rkp_plugin untidyDescriptor() {
    rkp_plugin d{};
    d.struct_size = sizeof(d);
    d.abi_major = RKP_ABI_MAJOR;
    d.abi_minor = RKP_ABI_MINOR;
    d.kind = RKP_KIND_PORT;
    d.name = "untidy";
    d.version = "1.0\n\x1b[2J";
    d.description = "says what it is told";
    d.supports = RKP_SUP_TCP;
    d.protos = "tcp";
    d.create = untidyCreate;
    d.destroy = untidyDestroy;
    d.port = &kUntidyOps;
    return d;
}

const rkp_plugin kUntidy = untidyDescriptor();

class PluginTextTest : public ::testing::Test {
protected:
    void SetUp() override {
        gUntidy = UntidyBehaviour();
        registry_.addDescriptor(&kUntidy, "(test)");
        auto plugin = registry_.find("port", "untidy");
        ASSERT_TRUE(plugin.ok()) << plugin.status().message();
        auto created = PortDriver::create(**plugin, RKP_SIDE_PARENT, "/tmp", "{}");
        ASSERT_TRUE(created.ok()) << created.status().message();
        driver_ = std::move(*created);

        spec_.struct_size = sizeof(spec_);
        spec_.proto_name = "tcp";
        spec_.parent_ip = "127.0.0.1";
        spec_.parent_port = 8080;
        spec_.child_port = 80;
    }

    // What the plugin logs while add_port runs, as "<level> <component>: <message>" lines.
    std::string logOfAddPort() {
        std::ostringstream captured;
        auto log = logger("port/untidy");
        auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
        sink->set_pattern("%l %n: %v");
        std::vector<spdlog::sink_ptr> saved = log->sinks();
        log->sinks() = {sink};  // only here: the test's own output stays readable
        gUntidy.log = true;
        (void)driver_->addPort(1, spec_);
        log->sinks() = saved;
        return captured.str();
    }

    PluginRegistry registry_;
    PortDriverPtr driver_;
    rkp_port_spec spec_{};
};

TEST_F(PluginTextTest, ErrorMessageIsOneLineWithoutEscapeCodes) {
    gUntidy.rc = -EIO;
    gUntidy.message = "add: broke\n[rootlesskit:parent] error: forged\r\x1b[2J\a";
    Status added = driver_->addPort(1, spec_);
    ASSERT_FALSE(added.ok());
    EXPECT_EQ(added.message(), "add: broke\\n[rootlesskit:parent] error: forged\\r\\x1b[2J\\x07");
    EXPECT_EQ(added.code(), EIO);
}

TEST_F(PluginTextTest, PositiveReturnIsNotReadAsAnErrno) {
    gUntidy.rc = 42;
    Status added = driver_->addPort(1, spec_);
    ASSERT_FALSE(added.ok());
    EXPECT_EQ(added.message(),
              "port plugin untidy add_port returned 42, which is neither 0 nor a negative errno");
    EXPECT_EQ(added.code(), EIO);

    gUntidy.message = "add: confused";
    EXPECT_EQ(driver_->addPort(1, spec_).message(),
              "port plugin untidy add_port returned 42, which is neither 0 nor a negative errno: "
              "add: confused");
}

TEST_F(PluginTextTest, NegativeValueOutsideTheErrnoRangeIsNotAnErrno) {
    gUntidy.rc = INT_MIN;
    Status added = driver_->addPort(1, spec_);
    EXPECT_EQ(added.message(), "port plugin untidy add_port returned " + std::to_string(INT_MIN) +
                                   ", which is neither 0 nor a negative errno");
    EXPECT_EQ(added.code(), EIO);
}

TEST_F(PluginTextTest, LogMessageWithNewlinesIsOneLine) {
    gUntidy.logText = "first\n[rootlesskit:parent] error forged";
    std::string log = logOfAddPort();
    EXPECT_EQ(log, "warning port/untidy: first\\n[rootlesskit:parent] error forged\n");
}

TEST_F(PluginTextTest, HugeLogMessageIsCutAndSaysSo) {
    // Static: the plugin double reads it through a global after this line.
    static const std::string huge(1 << 20, 'x');
    gUntidy.logText = huge.c_str();
    std::string log = logOfAddPort();
    EXPECT_EQ(log, "warning port/untidy: " + std::string(kPluginLogLineMax, 'x') +
                       " [cut: 1048576 bytes in all]\n");
}

TEST_F(PluginTextTest, NullLogMessageSaysSo) {
    gUntidy.logText = nullptr;
    EXPECT_EQ(logOfAddPort(), "warning port/untidy: (the plugin logged a NULL message)\n");
}

TEST_F(PluginTextTest, PluginsListTableKeepsOneLinePerPlugin) {
    std::ostringstream out;
    printPlugins(registry_, false, out);
    std::string table = out.str();
    EXPECT_EQ(table.find('\x1b'), std::string::npos) << table;
    EXPECT_NE(table.find("1.0\\n\\x1b[2J"), std::string::npos) << table;
    size_t lines = std::count(table.begin(), table.end(), '\n');
    EXPECT_EQ(lines, 1 + registry_.all().size()) << table;
}

TEST_F(PluginTextTest, PluginsListJsonKeepsTheVersionAsItIs) {
    std::ostringstream out;
    printPlugins(registry_, true, out);
    EXPECT_NE(out.str().find(R"("version":"1.0\n\u001B[2J")"), std::string::npos) << out.str();
}

}  // namespace
}  // namespace rootlesskit
