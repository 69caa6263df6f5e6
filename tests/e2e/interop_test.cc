// Interoperability with upstream's Go RootlessKit: Debian's Go rootlessctl (1.1.0 from Debian 12,
// 2.0.2 from Debian 13) against our api.sock, our rootlessctl against the Go rootlesskit 2.0.2,
// and raw HTTP against both servers, with the builtin, slirp4netns and no port driver. Each
// client runs the same script of commands (every subcommand, with --socket and with the socket
// taken from $ROOTLESSKIT_STATE_DIR) against a run of our rootlesskit and a run of the Go
// rootlesskit started with the same flags; the two transcripts must match once what
// legitimately differs is normalised (state directory, child PID, implementation version, the
// order of list-ports rows, which upstream leaves random, and with --port-driver=none the port
// driver that our /v1/info names where upstream leaves it out).
//
// The Go binaries come from scripts/fetch-upstream.sh (run by scripts/test.sh) in
// $ROOTLESSKIT_UPSTREAM_DIR, default /var/tmp/rootlesskit-upstream; without them the tests skip.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "tests/e2e/net_clients.h"
#include "tests/e2e/rootlesskit_run.h"
#include "tests/support/process.h"

namespace rktest {
namespace {

std::string upstreamDir() {
    const char *dir = std::getenv("ROOTLESSKIT_UPSTREAM_DIR");
    return dir != nullptr && *dir != '\0' ? dir : "/var/tmp/rootlesskit-upstream";
}

// Path of an upstream program: version is "1.1.0" or "2.x".
std::string upstreamBin(const std::string &version, const std::string &program) {
    return upstreamDir() + "/" + version + "/usr/bin/" + program;
}

// How a step's stderr is compared between the two servers.
enum class ErrorCheck {
    Exact,       // the same text: a message this project keeps as upstream has it
    UpToMarker,  // the same text up to and including `marker`, which both contain
    Prefix,      // both start with "error: " (or both are empty): this project's message is
                 // deliberately more precise than upstream's there
};

struct Step {
    std::vector<std::string> args;  // after "--socket <api.sock>"; PORTn stands for a port
    ErrorCheck check = ErrorCheck::Exact;
    std::string marker;
    bool unordered = false;  // list output: rows sorted before comparing
    bool needsPrivilegedPort80 = false;
    bool socketFromEnv = false;  // no --socket: the client reads $ROOTLESSKIT_STATE_DIR
};

struct Outcome {
    int exitCode = -1;
    std::string out;
    std::string err;
};

Step command(std::vector<std::string> args) {
    Step step;
    step.args = std::move(args);
    return step;
}

// A list-ports step: the rows come in any order.
Step listing(std::vector<std::string> args) {
    Step step = command(std::move(args));
    step.unordered = true;
    return step;
}

// A step run without --socket, with $ROOTLESSKIT_STATE_DIR set to the run's state directory.
Step fromEnv(Step step) {
    step.socketFromEnv = true;
    return step;
}

Step errorUpTo(std::vector<std::string> args, std::string marker) {
    Step step = command(std::move(args));
    step.check = ErrorCheck::UpToMarker;
    step.marker = std::move(marker);
    return step;
}

// The commands for the builtin driver: every subcommand, with and without --json, a conflict,
// a bad port, a privileged port, removal of known and unknown IDs.
std::vector<Step> builtinScript() {
    Step privileged =
        errorUpTo({"add-ports", "0.0.0.0:80:80/tcp"}, "or choose a larger port number");
    privileged.needsPrivilegedPort80 = true;
    return {
        command({"info"}),
        command({"info", "--json"}),
        fromEnv(command({"info"})),
        listing({"list-ports"}),
        listing({"list-ports", "--json"}),
        command({"add-ports", "127.0.0.1:PORT1:80/tcp", "[::1]:PORT2:[::1]:80/tcp6"}),
        command({"add-ports", "--json", "127.0.0.1:PORT3:80/udp"}),
        command({"add-ports", "127.0.0.1:PORT1:80/tcp"}),
        errorUpTo({"add-ports", "127.0.0.1:PORT4:0/tcp"}, "invalid ChildPort: "),
        privileged,
        listing({"list-ports"}),
        listing({"list-ports", "--json"}),
        command({"remove-ports", "1", "2"}),
        command({"remove-ports", "99"}),
        fromEnv(listing({"list-ports"})),
        fromEnv(command({"remove-ports", "3"})),
        listing({"list-ports"}),
        listing({"list-ports", "--json"}),
    };
}

// The same for the slirp4netns driver, with what it refuses (IPv6). Upstream passes
// slirp4netns's own error for an unknown ID; this project says "unknown id: N".
std::vector<Step> slirp4netnsScript() {
    Step unknownId = command({"remove-ports", "99"});
    unknownId.check = ErrorCheck::Prefix;
    return {
        command({"info"}),
        command({"info", "--json"}),
        listing({"list-ports"}),
        command({"add-ports", "127.0.0.1:PORT1:80/tcp", "127.0.0.1:PORT2:80/udp"}),
        command({"add-ports", "--json", "127.0.0.1:PORT3:80/tcp4"}),
        command({"add-ports", "127.0.0.1:PORT1:80/tcp"}),
        command({"add-ports", "[::1]:PORT4:80/tcp6"}),
        command({"add-ports", "127.0.0.1:PORT4:[::1]:80/tcp"}),
        listing({"list-ports"}),
        listing({"list-ports", "--json"}),
        command({"remove-ports", "1", "2"}),
        unknownId,
        fromEnv(listing({"list-ports"})),
        listing({"list-ports"}),
    };
}

// With --port-driver=none: info answers, and every port subcommand fails alike.
std::vector<Step> noPortDriverScript() {
    return {
        command({"info"}),
        command({"info", "--json"}),
        fromEnv(command({"info"})),
        command({"list-ports"}),
        command({"list-ports", "--json"}),
        command({"add-ports", "127.0.0.1:PORT1:80/tcp"}),
        command({"remove-ports", "1"}),
    };
}

std::vector<Step> scriptFor(const std::string &driver) {
    if (driver == "builtin") {
        return builtinScript();
    }
    return driver == "none" ? noPortDriverScript() : slirp4netnsScript();
}

bool port80IsPrivileged() {
    std::ifstream in("/proc/sys/net/ipv4/ip_unprivileged_port_start");
    int start = 0;
    in >> start;
    std::string reason;
    std::optional<TestUser> user = testUser(&reason);
    return start > 80 && user && user->uid != 0;
}

std::string replaceAll(std::string text, const std::string &from, const std::string &to) {
    for (size_t at = text.find(from); !from.empty() && at != std::string::npos;
         at = text.find(from, at + to.size())) {
        text.replace(at, from.size(), to);
    }
    return text;
}

// With --port-driver=none our /v1/info names the driver with no protocols, so that a client
// which reads the port driver's protocols without checking for its absence (Debian 12's
// rootlesskit-docker-proxy 1.1.0) does not crash; upstream leaves the field out. Removes exactly
// that text from rootlessctl's output, as table and as JSON, and from a raw /v1/info body.
std::string withoutNonePortDriver(std::string text) {
    text = replaceAll(text, "- Port Driver: none\n  - Supported protocols: []\n", "");
    text = replaceAll(text,
                      "    },\n    \"portDriver\": {\n        \"driver\": \"none\",\n"
                      "        \"protos\": []\n    }\n",
                      "    }\n");
    return replaceAll(text, ",\"portDriver\":{\"driver\":\"none\",\"protos\":[]}", "");
}

// Removes what differs between two runs of two implementations by design.
std::string normalise(std::string text, const RootlesskitRun &run) {
    text = replaceAll(text, run.stateDir(), "$STATE_DIR");
    text = std::regex_replace(text, std::regex("Child PID: [0-9]+"), "Child PID: $$PID");
    text = std::regex_replace(text, std::regex("\"childPID\": [0-9]+"), "\"childPID\": $$PID");
    text = std::regex_replace(text, std::regex("Implementation version: [^\n]*"),
                              "Implementation version: $$VERSION");
    text = std::regex_replace(text, std::regex("\"version\": \"[^\"]*\""),
                              "\"version\": \"$$VERSION\"");
    return text;
}

// Sorts the rows of a list, keeping a table's header line first.
std::string sortRows(const std::string &text, bool hasHeader) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    bool header = hasHeader && !lines.empty();
    std::sort(lines.begin() + (header ? 1 : 0), lines.end());
    std::string out;
    for (const std::string &line : lines) {
        out += line + "\n";
    }
    return out;
}

std::vector<std::string> withPorts(std::vector<std::string> args, const std::vector<int> &ports) {
    for (std::string &arg : args) {
        for (size_t i = 0; i < ports.size(); ++i) {
            arg = replaceAll(arg, "PORT" + std::to_string(i + 1), std::to_string(ports[i]));
        }
    }
    return args;
}

std::vector<std::string> serverFlags(const std::string &driver) {
    return {"--net=slirp4netns", "--disable-host-loopback", "--port-driver=" + driver};
}

// Why these tests cannot run here; empty when everything is there.
std::string missingPrerequisite() {
    std::string reason;
    if (!testUser(&reason)) {
        return reason;
    }
    for (const char *version : {"1.1.0", "2.x"}) {
        for (const char *program : {"rootlesskit", "rootlessctl"}) {
            if (access(upstreamBin(version, program).c_str(), X_OK) != 0) {
                return "upstream's Go binaries are not in " + upstreamDir() +
                       " (scripts/fetch-upstream.sh, run by scripts/test.sh, puts them there)";
            }
        }
    }
    if (access(binPath("rootlesskit").c_str(), X_OK) != 0 ||
        access(binPath("rootlessctl").c_str(), X_OK) != 0) {
        return "rootlesskit and rootlessctl are not built in " + binPath("");
    }
    if (!haveProgram("slirp4netns") || access("/dev/net/tun", R_OK | W_OK) != 0) {
        return "slirp4netns or /dev/net/tun is not available";
    }
    return "";
}

class InteropTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string missing = missingPrerequisite();
        // scripts/test.sh (the CI command) sets ROOTLESSKIT_TEST_REQUIRE_UPSTREAM=1 after
        // scripts/fetch-upstream.sh: a missing prerequisite then fails instead of skipping.
        const char *required = std::getenv("ROOTLESSKIT_TEST_REQUIRE_UPSTREAM");
        if (!missing.empty() && required != nullptr && std::string(required) == "1") {
            FAIL() << missing << " (ROOTLESSKIT_TEST_REQUIRE_UPSTREAM=1)";
        }
        if (!missing.empty()) {
            GTEST_SKIP() << missing;
        }
        for (int i = 0; i < 4; ++i) {
            ports_.push_back(freePort());
        }
    }

    // Runs script with client against a fresh run of server; one outcome per step, normalised.
    std::vector<Outcome> transcript(const std::string &server, const std::string &client,
                                    const std::string &driver) {
        RootlesskitRun run(server, serverFlags(driver), {"sleep", "infinity"});
        EXPECT_TRUE(run.waitApi()) << server << ": " << run.process().errSoFar();
        std::vector<Outcome> outcomes;
        for (const Step &step : scriptFor(driver)) {
            if (step.needsPrivilegedPort80 && !port80IsPrivileged()) {
                continue;
            }
            std::vector<std::string> argv = {client};
            RunOptions options;
            if (step.socketFromEnv) {
                options.env["ROOTLESSKIT_STATE_DIR"] = run.stateDir();
            } else {
                argv.insert(argv.end(), {"--socket", run.apiSocket()});
            }
            std::vector<std::string> args = withPorts(step.args, ports_);
            argv.insert(argv.end(), args.begin(), args.end());
            RunResult r = runAsTestUser(argv, options);
            std::string out = normalise(r.out, run);
            if (driver == "none") {
                out = withoutNonePortDriver(out);
            }
            if (step.unordered) {
                out = sortRows(out, args.back() != "--json");
            }
            outcomes.push_back({r.exitCode, out, normalise(r.err, run)});
        }
        RunResult end = run.stop();
        EXPECT_FALSE(end.timedOut) << server << ": " << end.err;
        return outcomes;
    }

    // Compares the transcripts of one client against our server and the Go server.
    void compare(const std::string &client, const std::string &driver) {
        std::vector<Outcome> ours = transcript(binPath("rootlesskit"), client, driver);
        std::vector<Outcome> theirs = transcript(upstreamBin("2.x", "rootlesskit"), client, driver);
        ASSERT_EQ(ours.size(), theirs.size());

        size_t index = 0;
        for (const Step &step : scriptFor(driver)) {
            if (step.needsPrivilegedPort80 && !port80IsPrivileged()) {
                continue;
            }
            const Outcome &a = ours[index];
            const Outcome &b = theirs[index];
            ++index;
            std::string what = client + " " + withPorts(step.args, ports_).front() + " (step " +
                               std::to_string(index) + ")";
            EXPECT_EQ(a.exitCode, b.exitCode) << what << "\nours: " << a.err << "\ngo: " << b.err;
            EXPECT_EQ(a.out, b.out) << what;
            compareErrors(step, a.err, b.err, what);
        }
    }

    static void compareErrors(const Step &step, const std::string &ours, const std::string &theirs,
                              const std::string &what) {
        switch (step.check) {
            case ErrorCheck::Exact:
                EXPECT_EQ(ours, theirs) << what;
                break;
            case ErrorCheck::UpToMarker: {
                size_t a = ours.find(step.marker);
                size_t b = theirs.find(step.marker);
                ASSERT_NE(a, std::string::npos) << what << ": " << ours;
                ASSERT_NE(b, std::string::npos) << what << ": " << theirs;
                EXPECT_EQ(ours.substr(0, a), theirs.substr(0, b)) << what;
                break;
            }
            case ErrorCheck::Prefix:
                EXPECT_EQ(ours.rfind("error: ", 0), theirs.rfind("error: ", 0)) << what;
                break;
        }
    }

    std::vector<int> ports_;
};

TEST_F(InteropTest, GoRootlessctl2WithBuiltinDriver) {
    compare(upstreamBin("2.x", "rootlessctl"), "builtin");
}

TEST_F(InteropTest, GoRootlessctl2WithSlirp4netnsDriver) {
    compare(upstreamBin("2.x", "rootlessctl"), "slirp4netns");
}

TEST_F(InteropTest, GoRootlessctl1WithBuiltinDriver) {
    compare(upstreamBin("1.1.0", "rootlessctl"), "builtin");
}

TEST_F(InteropTest, GoRootlessctl1WithSlirp4netnsDriver) {
    compare(upstreamBin("1.1.0", "rootlessctl"), "slirp4netns");
}

TEST_F(InteropTest, GoRootlessctl2WithoutPortDriver) {
    compare(upstreamBin("2.x", "rootlessctl"), "none");
}

TEST_F(InteropTest, GoRootlessctl1WithoutPortDriver) {
    compare(upstreamBin("1.1.0", "rootlessctl"), "none");
}

TEST_F(InteropTest, OurRootlessctlWithoutPortDriver) {
    compare(binPath("rootlessctl"), "none");
}

TEST_F(InteropTest, OurRootlessctlWithBuiltinDriver) {
    compare(binPath("rootlessctl"), "builtin");
}

TEST_F(InteropTest, OurRootlessctlWithSlirp4netnsDriver) {
    compare(binPath("rootlessctl"), "slirp4netns");
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP: status codes and bodies byte for byte (upstream's Content-Type is not compared: it
// sends a sniffed text/plain on errors, spec §5.4).

struct Request {
    std::string method;
    std::string target;
    std::string body;  // PORT1 stands for a port
    bool sameBody;
};

std::vector<Request> rawScript(const std::string &driver) {
    std::string spec =
        "{\"proto\":\"tcp\",\"parentIP\":\"127.0.0.1\",\"parentPort\":PORT1,"
        "\"childPort\":80}";
    if (driver == "none") {
        return {
            {"GET", "/v1/info", "", true},
            {"GET", "/v1/ports", "", true},
            {"POST", "/v1/ports", spec, true},
            {"DELETE", "/v1/ports/1", "", true},
            {"GET", "/v1/nothing", "", true},
        };
    }
    return {
        {"GET", "/v1/info", "", true},
        {"GET", "/v1/ports", "", true},
        {"POST", "/v1/ports", spec, true},
        {"GET", "/v1/ports", "", true},
        {"POST", "/v1/ports", spec, true},
        // Upstream's slirp4netns driver passes slirp4netns's own error text on.
        {"DELETE", "/v1/ports/99", "", driver == "builtin"},
        {"GET", "/v1/nothing", "", true},
        {"DELETE", "/v1/ports/1", "", true},
        {"GET", "/v1/ports", "", true},
    };
}

struct RawOutcome {
    int status = 0;
    std::string body;
};

class RawInteropTest : public InteropTest, public ::testing::WithParamInterface<std::string> {
protected:
    std::vector<RawOutcome> rawTranscript(const std::string &server) {
        RootlesskitRun run(server, serverFlags(GetParam()), {"sleep", "infinity"});
        EXPECT_TRUE(run.waitApi()) << server << ": " << run.process().errSoFar();
        std::vector<RawOutcome> outcomes;
        for (const Request &request : rawScript(GetParam())) {
            std::string body = withPorts({request.body}, ports_).front();
            RawHttpReply reply = rawHttp(run.apiSocket(), request.method, request.target, body);
            std::string normalised = replaceAll(reply.body, run.stateDir(), "$STATE_DIR");
            normalised = std::regex_replace(normalised, std::regex("\"childPID\":[0-9]+"),
                                            "\"childPID\":$$PID");
            normalised = std::regex_replace(normalised, std::regex("\"version\":\"[^\"]*\""),
                                            "\"version\":\"$$VERSION\"");
            if (GetParam() == "none") {
                normalised = withoutNonePortDriver(normalised);
            }
            outcomes.push_back({reply.status, normalised});
        }
        run.stop();
        return outcomes;
    }
};

INSTANTIATE_TEST_SUITE_P(Drivers, RawInteropTest,
                         ::testing::Values("builtin", "slirp4netns", "none"),
                         [](const ::testing::TestParamInfo<std::string> &info) {
                             return info.param;
                         });

TEST_P(RawInteropTest, StatusesAndBodiesMatchTheGoServer) {
    std::vector<RawOutcome> ours = rawTranscript(binPath("rootlesskit"));
    std::vector<RawOutcome> theirs = rawTranscript(upstreamBin("2.x", "rootlesskit"));
    std::vector<Request> requests = rawScript(GetParam());
    ASSERT_EQ(ours.size(), requests.size());
    ASSERT_EQ(theirs.size(), requests.size());

    for (size_t i = 0; i < requests.size(); ++i) {
        std::string what = requests[i].method + " " + requests[i].target + " (request " +
                           std::to_string(i + 1) + ")";
        EXPECT_EQ(ours[i].status, theirs[i].status) << what;
        if (requests[i].sameBody) {
            EXPECT_EQ(ours[i].body, theirs[i].body) << what;
        }
    }
}

}  // namespace
}  // namespace rktest
