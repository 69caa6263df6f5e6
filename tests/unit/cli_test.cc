// The command line: flag syntax, the command split, actions, validation messages, and the merge
// with profiles and driver configs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include "core/cli.h"
#include "core/version.h"
#include "tests/support/process.h"

namespace rootlesskit {
namespace {

using Args = std::vector<std::string>;

CliResult parseOk(const Args &args) {
    auto result = parseCommandLine(args);
    EXPECT_TRUE(result.ok()) << result.status().message();
    return result.ok() ? *result : CliResult{};
}

std::string errorOf(const Args &args) {
    auto result = parseCommandLine(args);
    EXPECT_FALSE(result.ok()) << "accepted";
    std::string message = result.ok() ? "" : result.status().message();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    return message;
}

Options optionsOf(const Args &args) {
    return parseOk(args).options;
}

std::string writeFile(const std::string &dir, const std::string &name, const std::string &text) {
    std::string path = dir + "/" + name;
    std::ofstream(path) << text;
    return path;
}

Poco::JSON::Object::Ptr configOf(const Options &options, const std::string &section) {
    auto text = options.driverConfig.at(section);
    return Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
}

// --- Actions ---------------------------------------------------------------------------------

TEST(CliActionTest, Version) {
    for (const char *flag : {"--version", "-v", "-version"}) {
        CliResult result = parseOk({flag});
        EXPECT_EQ(result.action, CliAction::PrintVersion);
        EXPECT_EQ(result.text, std::string("rootlesskit version ") + kVersion + "\n");
    }
}

TEST(CliActionTest, HelpShowsEveryCategoryAndTheCaveat) {
    for (const char *flag : {"--help", "-h"}) {
        CliResult result = parseOk({"--net=slirp4netns", flag});
        EXPECT_EQ(result.action, CliAction::PrintHelp);
        for (const char *category :
             {"Misc", "Mount", "Network", "Network [lxc-user-nic]", "Network [pasta]",
              "Network [slirp4netns]", "Network [vpnkit]", "Port", "Process", "State", "SubID"}) {
            EXPECT_NE(result.text.find(std::string(category) + ":"), std::string::npos) << category;
        }
        EXPECT_NE(result.text.find("--profile"), std::string::npos);
        EXPECT_NE(result.text.find("-p,--publish"), std::string::npos);
        EXPECT_NE(result.text.find("(default: \"rprivate\")"), std::string::npos);
        // The footer is wrapped: compare it with line breaks and indentation folded.
        std::string flat;
        for (char c : result.text) {
            if ((c != ' ' && c != '\n') || (!flat.empty() && flat.back() != ' ')) {
                flat += c == '\n' ? ' ' : c;
            }
        }
        EXPECT_NE(flat.find("\"plugins list\" as the first two words"), std::string::npos);
        EXPECT_NE(flat.find("a command named \"plugins\" must then be given after \"--\""),
                  std::string::npos)
            << flat;
    }
}

// Every flag of upstream's v2 command line, in its --help category, with the default upstream
// shows ("" where upstream shows none or the default depends on the machine).
struct UpstreamFlag {
    const char *names;  // as the help line starts
    const char *category;
    const char *shownDefault;
};

const std::vector<UpstreamFlag> kUpstreamFlags = {
    {"--debug", "Misc", "false"},
    {"--print-semver VALUE", "Misc", ""},
    {"-h,--help", "Misc", ""},
    {"-v,--version", "Misc", ""},
    {"--copy-up VALUE ...", "Mount", ""},
    {"--copy-up-mode VALUE", "Mount", "\"tmpfs+symlink\""},
    {"--propagation VALUE", "Mount", "\"rprivate\""},
    {"--net VALUE", "Network", "\"host\""},
    {"--mtu INT", "Network", "0"},
    {"--cidr VALUE", "Network", ""},
    {"--ifname VALUE", "Network", ""},
    {"--disable-host-loopback", "Network", "false"},
    {"--ipv6", "Network", "false"},
    {"--detach-netns", "Network", "false"},
    {"--lxc-user-nic-binary VALUE", "Network [lxc-user-nic]", ""},
    {"--lxc-user-nic-bridge VALUE", "Network [lxc-user-nic]", "\"lxcbr0\""},
    {"--pasta-binary VALUE", "Network [pasta]", "\"pasta\""},
    {"--slirp4netns-binary VALUE", "Network [slirp4netns]", "\"slirp4netns\""},
    {"--slirp4netns-sandbox VALUE", "Network [slirp4netns]", "\"false\""},
    {"--slirp4netns-seccomp VALUE", "Network [slirp4netns]", "\"false\""},
    {"--vpnkit-binary VALUE", "Network [vpnkit]", "\"vpnkit\""},
    {"--port-driver VALUE", "Port", "\"none\""},
    {"-p,--publish VALUE ...", "Port", ""},
    {"--source-ip-transparent", "Port", "true"},
    {"--pidns", "Process", "false"},
    {"--cgroupns", "Process", "false"},
    {"--utsns", "Process", "false"},
    {"--ipcns", "Process", "false"},
    {"--reaper VALUE", "Process", "\"auto\""},
    {"--evacuate-cgroup2 VALUE", "Process", ""},
    {"--state-dir VALUE", "State", ""},
    {"--subid-source VALUE", "SubID", "\"auto\""},
};

TEST(CliActionTest, HelpShowsEveryUpstreamFlagInItsCategoryWithItsDefault) {
    std::string help = parseOk({"--help"}).text;
    // Each option's whole entry (its wrapped lines joined, spaces folded) by its first line's
    // start, and the category heading above it.
    std::map<std::string, std::pair<std::string, std::string>> entries;
    std::istringstream in(help);
    std::string line;
    std::string category;
    std::string current;
    while (std::getline(in, line)) {
        if (!line.empty() && line[0] != ' ' && line.back() == ':') {
            category = line.substr(0, line.size() - 1);
            current.clear();
        } else if (line.rfind("  -", 0) == 0) {
            current = line.substr(2, line.find("  ", 2) - 2);
            entries[current] = {category, line};
        } else if (!current.empty() && line.rfind("   ", 0) == 0) {
            entries[current].second += line;
        } else {
            current.clear();
        }
    }
    for (auto &[name, entry] : entries) {
        std::string folded;
        for (char c : entry.second) {
            if (c != ' ' || (!folded.empty() && folded.back() != ' ')) {
                folded += c;
            }
        }
        entry.second = folded;
    }

    for (const UpstreamFlag &flag : kUpstreamFlags) {
        auto found = entries.find(flag.names);
        ASSERT_NE(found, entries.end()) << flag.names << " not in\n" << help;
        EXPECT_EQ(found->second.first, flag.category) << flag.names;
        if (*flag.shownDefault != '\0') {
            EXPECT_NE(
                found->second.second.find(std::string("(default: ") + flag.shownDefault + ")"),
                std::string::npos)
                << found->second.second;
        }
    }
    // Upstream's flags and --profile, nothing else.
    EXPECT_EQ(entries.size(), kUpstreamFlags.size() + 1) << help;
    EXPECT_EQ(entries.count("--profile VALUE"), 1u);
}

TEST(CliActionTest, PrintSemverNeedsNoCommand) {
    EXPECT_EQ(parseOk({"--print-semver=major"}).text, std::to_string(kVersionMajor) + "\n");
    EXPECT_EQ(parseOk({"--print-semver", "minor"}).text, std::to_string(kVersionMinor) + "\n");
    CliResult patch = parseOk({"-print-semver=patch"});
    EXPECT_EQ(patch.action, CliAction::PrintSemver);
    EXPECT_EQ(patch.text, std::to_string(kVersionPatch) + "\n");
    EXPECT_EQ(errorOf({"--print-semver=foo"}),
              "expected --print-semver=(major|minor|patch), got \"foo\"");
}

TEST(CliActionTest, PluginsList) {
    CliResult plain = parseOk({"plugins", "list"});
    EXPECT_EQ(plain.action, CliAction::PluginsList);
    EXPECT_FALSE(plain.pluginsJson);
    CliResult json = parseOk({"--debug", "plugins", "list", "--json"});
    EXPECT_EQ(json.action, CliAction::PluginsList);
    EXPECT_TRUE(json.pluginsJson);
    EXPECT_TRUE(json.options.debug);
    EXPECT_EQ(errorOf({"plugins", "list", "--yaml"}),
              "unknown argument --yaml for \"rootlesskit plugins list\", valid: --json");
}

TEST(CliActionTest, PluginsAloneOrAfterTerminatorIsACommand) {
    CliResult alone = parseOk({"plugins"});
    EXPECT_EQ(alone.action, CliAction::Run);
    EXPECT_EQ(alone.options.command, Args{"plugins"});
    CliResult escaped = parseOk({"--", "plugins", "list"});
    EXPECT_EQ(escaped.action, CliAction::Run);
    EXPECT_EQ(escaped.options.command, (Args{"plugins", "list"}));
}

TEST(CliActionTest, PluginsListTakesThePluginPathFromTheProfile) {
    rktest::TempDir dir;
    std::string profile = writeFile(dir.path(), "p.yaml", "plugin-path: [extra]\n");
    CliResult result = parseOk({"--profile", profile, "plugins", "list"});
    EXPECT_EQ(result.action, CliAction::PluginsList);
    EXPECT_EQ(result.options.pluginPath, Args{dir.path() + "/extra"});
}

// --- Flag syntax and the command split --------------------------------------------------------

TEST(CliSyntaxTest, NoCommand) {
    EXPECT_EQ(errorOf({}), "no command specified");
    EXPECT_EQ(errorOf({"--debug", "--"}), "no command specified");
}

TEST(CliSyntaxTest, CommandStartsAtTheFirstNonFlag) {
    Options options = optionsOf({"--pidns", "bash", "--debug", "-c", "x"});
    EXPECT_TRUE(options.pidns);
    EXPECT_FALSE(options.debug);
    EXPECT_EQ(options.command, (Args{"bash", "--debug", "-c", "x"}));
}

TEST(CliSyntaxTest, CommandAfterTerminator) {
    Options options =
        optionsOf({"--state-dir=/tmp/x", "--propagation=rslave", "--", "--weird", "arg"});
    EXPECT_EQ(options.command, (Args{"--weird", "arg"}));
    EXPECT_EQ(options.propagation, "rslave");
    EXPECT_EQ(optionsOf({"--", "--"}).command, Args{"--"});
}

TEST(CliSyntaxTest, LoneDashIsACommand) {
    EXPECT_EQ(optionsOf({"-"}).command, Args{"-"});
}

TEST(CliSyntaxTest, ValueForms) {
    EXPECT_EQ(optionsOf({"--net=slirp4netns", "true"}).net, "slirp4netns");
    EXPECT_EQ(optionsOf({"--net", "slirp4netns", "true"}).net, "slirp4netns");
    EXPECT_EQ(optionsOf({"-net=slirp4netns", "true"}).net, "slirp4netns");
    EXPECT_EQ(optionsOf({"-net", "slirp4netns", "true"}).net, "slirp4netns");
    EXPECT_EQ(optionsOf({"--mtu", "1500", "true"}).mtu, 1500);
    // A value may start with a dash, and may be empty.
    EXPECT_EQ(optionsOf({"--ifname", "-x", "true"}).ifname, "-x");
    EXPECT_EQ(optionsOf({"--slirp4netns-sandbox=", "true"}).slirp4netnsSandbox, "");
    EXPECT_EQ(optionsOf({"--slirp4netns-sandbox", "", "true"}).slirp4netnsSandbox, "");
}

TEST(CliSyntaxTest, LastValueWins) {
    EXPECT_EQ(optionsOf({"--net=pasta", "--net=slirp4netns", "true"}).net, "slirp4netns");
}

TEST(CliSyntaxTest, Booleans) {
    EXPECT_TRUE(optionsOf({"--pidns", "true"}).pidns);
    EXPECT_TRUE(optionsOf({"-pidns", "true"}).pidns);
    EXPECT_TRUE(optionsOf({"--pidns=true", "true"}).pidns);
    EXPECT_TRUE(optionsOf({"--pidns=1", "true"}).pidns);
    EXPECT_FALSE(optionsOf({"--pidns=false", "true"}).pidns);
    EXPECT_FALSE(optionsOf({"--source-ip-transparent=false", "true"}).sourceIpTransparent);
    EXPECT_TRUE(optionsOf({"true"}).sourceIpTransparent);

    // A boolean never takes the next argument: "false" here is the command.
    Options options = optionsOf({"--pidns", "false"});
    EXPECT_TRUE(options.pidns);
    EXPECT_EQ(options.command, Args{"false"});

    EXPECT_EQ(errorOf({"--pidns=maybe", "true"}),
              "invalid value \"maybe\" for flag --pidns: expected true or false");
}

TEST(CliSyntaxTest, FlagErrors) {
    EXPECT_EQ(errorOf({"--foo", "true"}), "unknown flag --foo, see rootlesskit --help");
    EXPECT_EQ(errorOf({"-foo=1", "true"}), "unknown flag -foo, see rootlesskit --help");
    EXPECT_EQ(errorOf({"--net"}), "flag --net needs a value, see rootlesskit --help");
    EXPECT_EQ(errorOf({"---net=host", "true"}),
              "bad flag syntax: ---net=host, see rootlesskit --help");
    EXPECT_EQ(errorOf({"--mtu=big", "true"}),
              "invalid value \"big\" for flag --mtu: expected an integer");
}

TEST(CliSyntaxTest, ListFlagsRepeatAndSplitOnCommas) {
    Options options = optionsOf(
        {"--port-driver=builtin", "-p", "127.0.0.1:8080:80/tcp, 127.0.0.1:8081:81/tcp", "--publish",
         ":9090:90/udp", "--copy-up=/etc,/run", "-copy-up", " /var ", "true"});
    EXPECT_EQ(options.publish,
              (Args{"127.0.0.1:8080:80/tcp", "127.0.0.1:8081:81/tcp", ":9090:90/udp"}));
    EXPECT_EQ(options.copyUp, (Args{"/etc", "/run", "/var"}));
    EXPECT_EQ(errorOf({"--copy-up=/etc,", "true"}),
              "flag --copy-up: empty entry in \"/etc,\", see rootlesskit --help");
}

// --- Validation, in upstream's order ----------------------------------------------------------

TEST(CliValidationTest, EvacuateCgroup2) {
    EXPECT_EQ(errorOf({"--evacuate-cgroup2=evac", "true"}), "evacuate-cgroup2 requires --cgroupns");
    EXPECT_EQ(errorOf({"--evacuate-cgroup2=evac", "--cgroupns", "true"}),
              "evacuate-cgroup2 requires --pidns");
    EXPECT_EQ(errorOf({"--evacuate-cgroup2=a/b", "--cgroupns", "--pidns", "true"}),
              "unexpected evacuation group name \"a/b\": must not contain \"/\"");
    EXPECT_EQ(errorOf({"--evacuate-cgroup2=..", "--cgroupns", "--pidns", "true"}),
              "unexpected evacuation group name \"..\": "
              "must be a cgroup name, not \".\" or \"..\"");
    // Explicitly empty means unset, as upstream: no requirement applies.
    EXPECT_EQ(optionsOf({"--evacuate-cgroup2=", "true"}).evacuateCgroup2, "");
    EXPECT_EQ(
        optionsOf({"--evacuate-cgroup2=evac", "--cgroupns", "--pidns", "true"}).evacuateCgroup2,
        "evac");
}

TEST(CliValidationTest, StateDirIsMadeAbsoluteButNotCreated) {
    Options options = optionsOf({"--state-dir=rk-state-not-created/x/", "true"});
    std::string expected = std::filesystem::current_path().string() + "/rk-state-not-created/x";
    EXPECT_EQ(options.stateDir, expected);
    EXPECT_FALSE(std::filesystem::exists(expected));
    EXPECT_EQ(optionsOf({"true"}).stateDir, "");
}

TEST(CliValidationTest, Mtu) {
    EXPECT_EQ(errorOf({"--mtu=70000", "true"}), "mtu must be <= 65521, got 70000");
    EXPECT_EQ(errorOf({"--mtu=-1", "true"}), "mtu must be >= 0, got -1");
    EXPECT_EQ(optionsOf({"--mtu=65521", "true"}).mtu, 65521);
}

TEST(CliValidationTest, Cidr) {
    EXPECT_EQ(errorOf({"--net=slirp4netns", "--cidr=10.0.2.100/24", "true"}),
              "cidr must be like 10.0.2.0/24, not like 10.0.2.100/24");
    EXPECT_EQ(errorOf({"--cidr=10.0.2.0", "true"}),
              "invalid cidr \"10.0.2.0\": expected an IPv4 network such as 10.0.2.0/24");
    EXPECT_EQ(errorOf({"--cidr=10.0.2.0/33", "true"}),
              "invalid cidr \"10.0.2.0/33\": expected an IPv4 network such as 10.0.2.0/24");
    EXPECT_EQ(optionsOf({"--cidr=10.0.3.0/24", "true"}).cidr, "10.0.3.0/24");
    EXPECT_EQ(optionsOf({"--cidr=0.0.0.0/0", "true"}).cidr, "0.0.0.0/0");
}

TEST(CliValidationTest, Ifname) {
    EXPECT_EQ(errorOf({"--ifname=a/b", "true"}), "ifname must not contain \"/\"");
    EXPECT_EQ(errorOf({"--ifname=abcdefghijklmnop", "true"}),
              "ifname must be at most 15 characters, got \"abcdefghijklmnop\"");
}

TEST(CliValidationTest, Reaper) {
    EXPECT_EQ(errorOf({"--reaper=always", "true"}),
              "unknown reaper mode: always, valid: auto, true, false");
    EXPECT_EQ(errorOf({"--reaper", "true", "true"}), "reaper requires --pidns");
    EXPECT_EQ(optionsOf({"--reaper=true", "--pidns", "true"}).reaper, "true");
    EXPECT_EQ(optionsOf({"--reaper=false", "true"}).reaper, "false");
}

TEST(CliValidationTest, Mounts) {
    EXPECT_EQ(errorOf({"--propagation=bogus", "true"}),
              "unknown propagation mode: bogus, valid: private, rprivate, shared, rshared, slave, "
              "rslave");
    EXPECT_EQ(errorOf({"--copy-up-mode=overlay", "true"}),
              "unknown copy-up mode: overlay, valid: tmpfs+symlink");
    EXPECT_EQ(errorOf({"--copy-up=/etc", "--propagation=rshared", "true"}),
              "propagation rshared does not support copy-up driver tmpfs+symlink");
    EXPECT_EQ(errorOf({"--copy-up=/etc", "--propagation=shared", "true"}),
              "propagation shared does not support copy-up driver tmpfs+symlink");
    EXPECT_EQ(errorOf({"--copy-up=/tmp", "true"}), "/tmp cannot be copied up");
    EXPECT_EQ(errorOf({"--copy-up=/tmp/", "true"}), "/tmp cannot be copied up");
    EXPECT_EQ(errorOf({"--copy-up=etc", "true"}),
              "copy-up directory must be an absolute path, got \"etc\"");
    EXPECT_EQ(optionsOf({"--propagation=rshared", "true"}).propagation, "rshared");
}

TEST(CliValidationTest, HelperModes) {
    EXPECT_EQ(errorOf({"--slirp4netns-sandbox=yes", "true"}),
              "unsupported slirp4netns-sandbox mode: \"yes\", valid: auto, true, false, \"\"");
    EXPECT_EQ(errorOf({"--slirp4netns-seccomp=yes", "true"}),
              "unsupported slirp4netns-seccomp mode: \"yes\", valid: auto, true, false, \"\"");
    EXPECT_EQ(errorOf({"--subid-source=ldap", "true"}),
              "unknown subid source \"ldap\", valid: auto, dynamic, static");
    EXPECT_EQ(errorOf({"--lxc-user-nic-bridge=", "true"}),
              "got empty bridge, --lxc-user-nic-bridge must name a bridge such as lxcbr0");
}

TEST(CliValidationTest, Publish) {
    EXPECT_EQ(errorOf({"-p", "127.0.0.1:8080:80/tcp", "true"}),
              "port driver \"none\" does not support publishing ports");
    EXPECT_EQ(errorOf({"--port-driver=builtin", "-p", "8080:80/tcp", "true"})
                  .rfind("publish 8080:80/tcp: unexpected PortSpec string: \"8080:80/tcp\"", 0),
              0u);
    EXPECT_EQ(errorOf({"--port-driver=builtin", "-p", "127.0.0.1:0:80/tcp", "true"}),
              "publish 127.0.0.1:0:80/tcp: invalid ParentPort: 0 (valid: 1-65535)");
    // Duplicates are only caught when publishing (upstream validates against an empty table).
    EXPECT_EQ(optionsOf({"--port-driver=builtin", "-p", ":80:80/tcp", "-p", ":80:80/tcp", "true"})
                  .publish.size(),
              2u);
    EXPECT_EQ(optionsOf({"--port-driver=builtin", "-p", ":80:80/sctp", "true"}).publish,
              Args{":80:80/sctp"});
}

TEST(CliValidationTest, FirstFailureWins) {
    EXPECT_EQ(errorOf({"--mtu=70000"}), "no command specified");
    EXPECT_EQ(errorOf({"--mtu=70000", "--evacuate-cgroup2=x", "true"}),
              "evacuate-cgroup2 requires --cgroupns");
    EXPECT_EQ(errorOf({"--reaper=x", "--mtu=70000", "true"}), "mtu must be <= 65521, got 70000");
}

TEST(CliValidationTest, DriverNamesAreLeftToThePluginLoader) {
    Options options = optionsOf({"--net=foo", "--port-driver=bar", "true"});
    EXPECT_EQ(options.net, "foo");
    EXPECT_EQ(options.portDriver, "bar");
}

TEST(CliValidationTest, UpstreamDefaults) {
    Options options = optionsOf({"true"});
    EXPECT_EQ(options.net, "host");
    EXPECT_EQ(options.portDriver, "none");
    EXPECT_EQ(options.mtu, 0);
    EXPECT_EQ(options.propagation, "rprivate");
    EXPECT_EQ(options.reaper, "auto");
    EXPECT_EQ(options.subidSource, "auto");
    EXPECT_EQ(options.slirp4netnsSandbox, "false");
    EXPECT_EQ(options.lxcUserNicBridge, "lxcbr0");
    EXPECT_TRUE(options.sourceIpTransparent);
    EXPECT_FALSE(options.pidns);
}

// --- Profiles and driver configs --------------------------------------------------------------

TEST(CliProfileTest, FlagsOverrideTheProfile) {
    rktest::TempDir dir;
    std::string profile = writeFile(dir.path(), "p.yaml",
                                    "net: slirp4netns\nmtu: 1500\npidns: true\nport-driver: "
                                    "builtin\n");
    Options options = optionsOf({"--profile", profile, "--mtu=9000", "--pidns=false", "true"});
    EXPECT_EQ(options.net, "slirp4netns");
    EXPECT_EQ(options.mtu, 9000);
    EXPECT_FALSE(options.pidns);
    EXPECT_EQ(options.portDriver, "builtin");
    EXPECT_EQ(options.profilePath, profile);
}

TEST(CliProfileTest, ListFlagsReplaceTheProfilesList) {
    rktest::TempDir dir;
    std::string profile = writeFile(dir.path(), "p.yaml",
                                    "port-driver: builtin\ncopy-up: [/etc, /run]\n"
                                    "publish: [\":80:80/tcp\"]\n");
    Options kept = optionsOf({"--profile=" + profile, "true"});
    EXPECT_EQ(kept.copyUp, (Args{"/etc", "/run"}));
    EXPECT_EQ(kept.publish, Args{":80:80/tcp"});
    Options replaced = optionsOf({"--profile=" + profile, "--copy-up=/var", "true"});
    EXPECT_EQ(replaced.copyUp, Args{"/var"});
    EXPECT_EQ(replaced.publish, Args{":80:80/tcp"});
    Options published = optionsOf({"--profile=" + profile, "-p", "127.0.0.1:8080:80/tcp,:81:81/udp",
                                   "--publish=:82:82/tcp", "true"});
    EXPECT_EQ(published.publish, (Args{"127.0.0.1:8080:80/tcp", ":81:81/udp", ":82:82/tcp"}));
    EXPECT_EQ(published.copyUp, (Args{"/etc", "/run"}));
}

TEST(CliProfileTest, ProfileValuesAreValidatedTogetherWithFlags) {
    rktest::TempDir dir;
    std::string profile = writeFile(dir.path(), "p.yaml", "copy-up: [/etc]\n");
    EXPECT_EQ(errorOf({"--profile", profile, "--propagation=rshared", "true"}),
              "propagation rshared does not support copy-up driver tmpfs+symlink");
    std::string bad = writeFile(dir.path(), "bad.yaml", "mtu: 70000\n");
    EXPECT_EQ(errorOf({"--profile", bad, "true"}),
              bad + ":1:6: key \"mtu\": mtu must be <= 65521, got 70000");
}

TEST(CliProfileTest, EmptyEvacuateCgroup2IsNotSet) {
    rktest::TempDir dir;
    std::string profile = writeFile(dir.path(), "p.yaml", "evacuate-cgroup2: \"\"\n");
    EXPECT_EQ(optionsOf({"--profile", profile, "true"}).evacuateCgroup2, "");
}

TEST(CliProfileTest, ShippedProfileByName) {
    Options options = optionsOf({"--profile=slirp4netns", "true"});
    EXPECT_EQ(options.net, "slirp4netns");
    EXPECT_EQ(options.portDriver, "builtin");
    EXPECT_EQ(options.copyUp, Args{"/etc"});
    EXPECT_EQ(options.profilePath, std::string(RK_TEST_SOURCE_DIR) + "/conf/slirp4netns.yaml");
}

// Runs in dir as the working directory, restoring the previous one on the way out.
class InDirectory {
public:
    explicit InDirectory(const std::string &dir) : previous_(std::filesystem::current_path()) {
        std::filesystem::current_path(dir);
    }
    ~InDirectory() { std::filesystem::current_path(previous_); }
    InDirectory(const InDirectory &) = delete;
    InDirectory &operator=(const InDirectory &) = delete;

private:
    std::filesystem::path previous_;
};

TEST(CliProfileTest, OnlyAFileOfThatNameHidesAShippedProfile) {
    rktest::TempDir dir;
    std::filesystem::create_directory(dir.path() + "/pasta");
    writeFile(dir.path(), "mine.yaml", "pidns: true\n");
    std::filesystem::create_symlink("mine.yaml", dir.path() + "/slirp4netns");
    InDirectory inDir(dir.path());

    // A directory named like a shipped profile does not count as a file.
    Options shipped = optionsOf({"--profile=pasta", "true"});
    EXPECT_EQ(shipped.profilePath, std::string(RK_TEST_SOURCE_DIR) + "/conf/pasta.yaml");
    EXPECT_EQ(shipped.net, "pasta");

    // A regular file, or a symlink to one, is read as the file.
    EXPECT_TRUE(optionsOf({"--profile=mine.yaml", "true"}).pidns);
    Options linked = optionsOf({"--profile=slirp4netns", "true"});
    EXPECT_EQ(linked.profilePath, "slirp4netns");
    EXPECT_TRUE(linked.pidns);
}

TEST(CliProfileTest, DefaultProfileFromTheSourceTree) {
    EXPECT_EQ(optionsOf({"true"}).profilePath,
              std::string(RK_TEST_SOURCE_DIR) + "/conf/default.yaml");
    EXPECT_EQ(optionsOf({"--profile=", "true"}).profilePath, "");
}

TEST(CliProfileTest, MissingProfile) {
    rktest::TempDir dir;
    EXPECT_EQ(errorOf({"--profile", dir.path() + "/nope.yaml", "true"}),
              dir.path() + "/nope.yaml: read profile: no such file or directory");
}

TEST(CliDriverConfigTest, FlagsBecomeDriverConfigKeys) {
    Options options = optionsOf({"--slirp4netns-binary=/opt/s4", "--slirp4netns-sandbox=auto",
                                 "--pasta-binary=/opt/pasta", "--lxc-user-nic-bridge=br1", "true"});
    auto slirp = configOf(options, "network/slirp4netns");
    EXPECT_EQ(slirp->getValue<std::string>("binary"), "/opt/s4");
    EXPECT_EQ(slirp->getValue<std::string>("sandbox"), "auto");
    EXPECT_EQ(slirp->getValue<std::string>("seccomp"), "false");
    EXPECT_EQ(configOf(options, "network/pasta")->getValue<std::string>("binary"), "/opt/pasta");
    EXPECT_EQ(configOf(options, "network/lxc-user-nic")->getValue<std::string>("bridge"), "br1");
    EXPECT_EQ(configOf(options, "network/vpnkit")->getValue<std::string>("binary"), "vpnkit");
}

TEST(CliDriverConfigTest, CommandLineBeatsSectionBeatsDefault) {
    rktest::TempDir dir;
    std::string profile = writeFile(dir.path(), "p.yaml",
                                    "drivers:\n"
                                    "  network:\n"
                                    "    slirp4netns:\n"
                                    "      sandbox: \"true\"\n"
                                    "      seccomp: auto\n"
                                    "      extra: 7\n");
    Options options = optionsOf({"--profile", profile, "--slirp4netns-sandbox=false", "true"});
    auto slirp = configOf(options, "network/slirp4netns");
    EXPECT_EQ(slirp->getValue<std::string>("sandbox"), "false");
    EXPECT_EQ(slirp->getValue<std::string>("seccomp"), "auto");
    EXPECT_EQ(slirp->getValue<std::string>("binary"), "slirp4netns");
    EXPECT_EQ(slirp->getValue<int>("extra"), 7);
    EXPECT_EQ(options.slirp4netnsSeccomp, "auto");
    EXPECT_EQ(options.slirp4netnsSandbox, "false");
}

}  // namespace
}  // namespace rootlesskit
