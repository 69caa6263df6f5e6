// The host side of the ABI, as the conformance suite plays it: the rkp_host services (logging
// into a LogBook), and Driver, which calls one plugin instance and checks each call against the
// error contract. Internal to the suite.
//
// Threads: a LogBook is thread-safe. A Driver's calls follow the plugin contract: set-up calls
// from one thread, runParent/runChild/watch on a thread of their own, port calls from another
// thread one at a time.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "rootlesskit/rkp.h"

namespace rkp::conformance {

struct LogLine {
    uint32_t level;
    std::string origin;  // "parent" or "child"
    std::string text;
};

// Every line the plugins log, in order, with the process it came from. Lines at printLevel and
// above are also printed to stderr when they arrive.
class LogBook {
public:
    explicit LogBook(uint32_t printLevel) : printLevel_(printLevel) {}
    void add(uint32_t level, const std::string &origin, const std::string &label,
             const std::string &text);
    // Appends lines that were printed already (the child's, shipped with its replies).
    void addPrinted(const std::vector<LogLine> &lines);
    // Removes and returns every line collected so far.
    std::vector<LogLine> take();
    uint32_t printLevel() const { return printLevel_; }

private:
    std::mutex mutex_;
    std::vector<LogLine> lines_;
    uint32_t printLevel_;
};

// "trace" ... "error" to RKP_LOG_*, "off" to a level above error; false for anything else.
bool parseLogLevel(const std::string &text, uint32_t *level);

// What breaks the logging rules in lines (empty message, trailing newline, unknown level).
std::vector<std::string> logProblems(const std::vector<LogLine> &lines);

// The rkp_host one instance gets. Lives as long as the instance.
class HarnessHost {
public:
    HarnessHost(LogBook &book, uint32_t side, const std::string &stateDir,
                const std::string &label);
    HarnessHost(const HarnessHost &) = delete;
    HarnessHost &operator=(const HarnessHost &) = delete;
    const rkp_host *get() const { return &host_; }

private:
    static void log(void *ctx, uint32_t level, const char *msg);
    static int logEnabled(void *ctx, uint32_t level);

    LogBook &book_;
    std::string stateDir_;
    std::string label_;
    std::string origin_;
    rkp_host host_{};
};

// What the user chose for the network, as the host resolves it; get() points into this object.
struct NetParams {
    std::string stateDir;
    std::string ifname;
    std::string portDriver = "none";
    uint32_t mtu = 1500;
    uint64_t portDriverNeeds = 0;
    rkp_net_params get(int32_t childPid) const;
};

struct CallResult {
    int rc = 0;
    std::string message;                // rkp_error.message when rc < 0
    std::string output;                 // what the call wrote to its sink
    std::vector<std::string> problems;  // breaches of the error contract seen in this call
    bool ok() const { return rc == 0; }
};

struct ListedPort {
    uint64_t id;
    uint16_t parentPort;
    uint16_t childPort;
    uint32_t proto;
};

// One instance of a plugin on one side.
class Driver {
public:
    Driver(const rkp_plugin &plugin, LogBook &book, uint32_t side, const std::string &stateDir);
    ~Driver();  // destroy() unless abandoned
    Driver(const Driver &) = delete;
    Driver &operator=(const Driver &) = delete;

    const rkp_plugin &plugin() const { return plugin_; }
    bool created() const { return created_; }
    CallResult create(const std::string &configJson);
    void destroy();
    // A loop of this instance did not return: the instance is never destroyed, since the loop
    // may still be using it.
    void abandon() { abandoned_ = true; }

    // Network calls; an optional function that is NULL returns rc 0 with no output.
    CallResult prepareChild(const rkp_net_params &params);
    CallResult configureParent(const rkp_net_params &params);
    CallResult configureChild(const rkp_net_params &params, const std::string &netmsg);
    CallResult watch(int quitFd);
    CallResult teardown();
    CallResult netInfo();

    // Port calls.
    CallResult initParent(const rkp_port_context &context);
    CallResult runParent(int quitFd);
    CallResult initChild(const std::string &opaque);
    CallResult runChild(int quitFd);
    CallResult addPort(uint64_t id, const rkp_port_spec &spec);
    CallResult removePort(uint64_t id);
    CallResult listPorts(std::vector<ListedPort> *ports);
    CallResult portInfo();

private:
    template <typename Fn>
    CallResult call(const char *function, Fn &&fn);

    const rkp_plugin &plugin_;
    HarnessHost host_;
    rkp_instance *instance_ = nullptr;
    bool created_ = false;
    bool abandoned_ = false;
};

}  // namespace rkp::conformance
