// The child side of a run: set-up inside the new namespaces, the command, the signal proxy.
#include "core/child.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>

#include "core/copy_up.h"
#include "core/detach_netns.h"
#include "core/driver.h"
#include "core/log.h"
#include "core/mounts.h"
#include "core/netlink.h"
#include "core/nofile_limit.h"
#include "core/process_options.h"
#include "core/signals.h"
#include "core/spawn.h"
#include "core/unique_fd.h"

extern char **environ;

namespace rootlesskit {

namespace {

using JsonObject = Poco::JSON::Object::Ptr;

std::string joinArgs(const std::vector<std::string> &args) {
    std::string joined;
    for (const std::string &arg : args) {
        joined += (joined.empty() ? "" : " ") + arg;
    }
    return joined;
}

std::string configFor(const Options &options, const std::string &key) {
    auto found = options.driverConfig.find(key);
    return found != options.driverConfig.end() ? found->second : "{}";
}

Result<JsonObject> parseNetmsg(const std::string &text) {
    try {
        Poco::JSON::Parser parser;
        Poco::Dynamic::Var parsed = parser.parse(text.empty() ? "{}" : text);
        if (parsed.type() != typeid(JsonObject)) {
            return Status::error("network message: not a JSON object");
        }
        return parsed.extract<JsonObject>();
    } catch (const Poco::Exception &e) {
        // message(), not displayText(): the user has no use for Poco's class name.
        return Status::error("network message: " +
                             (e.message().empty() ? std::string("not valid JSON") : e.message()));
    }
}

std::string stringMember(const JsonObject &object, const std::string &key) {
    if (!object->has(key) || !object->get(key).isString()) {
        return "";
    }
    return object->getValue<std::string>(key);
}

int intMember(const JsonObject &object, const std::string &key, int fallback) {
    if (!object->has(key) || !object->get(key).isNumeric()) {
        return fallback;
    }
    return object->get(key).convert<int>();
}

std::vector<std::string> dnsServers(const JsonObject &netmsg) {
    std::vector<std::string> servers;
    Poco::JSON::Array::Ptr dns = netmsg->has("dns") ? netmsg->getArray("dns") : nullptr;
    for (size_t i = 0; dns && i < dns->size(); ++i) {
        servers.push_back(dns->getElement<std::string>(i));
    }
    return servers;
}

Status writeFile(const std::string &path, const std::string &content, mode_t mode) {
    UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
    if (!fd.valid() || fchmod(fd.get(), mode) < 0 ||
        write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size())) {
        return Status::error("write " + path + ": " + errnoText(errno), errno);
    }
    return {};
}

// True when hosts already maps address to name on one line (comments ignored).
bool hasHostsEntry(const std::string &hosts, const std::string &address, const std::string &name) {
    std::istringstream lines(hosts);
    std::string line;
    while (std::getline(lines, line)) {
        std::istringstream words(line.substr(0, line.find('#')));
        std::string first;
        std::string word;
        if (!(words >> first) || first != address) {
            continue;
        }
        while (words >> word) {
            if (word == name) {
                return true;
            }
        }
    }
    return false;
}

// The host's /etc/hosts plus "127.0.0.1 <hostname>" and "::1 <hostname>" unless it has them.
std::string hostsContent() {
    std::ifstream in("/etc/hosts");
    std::string hosts((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    char hostname[256] = {};
    gethostname(hostname, sizeof hostname - 1);
    std::string added;
    for (const char *address : {"127.0.0.1", "::1"}) {
        if (!hasHostsEntry(hosts, address, hostname)) {
            added += std::string(address) + " " + hostname + "\n";
        }
    }
    return added.empty() ? hosts : hosts + "\n" + added;
}

// A fresh proc for the new PID namespace; without it /proc shows the host's processes. Failure
// only degrades what ps shows: a warning.
void mountProc() {
    unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    if (mount("proc", "/proc", "proc", flags, nullptr) == 0) {
        return;
    }
    int err = errno;
    logger("core")->debug("mount proc on /proc: {}; retrying read-only", errnoText(err));
    if (mount("proc", "/proc", "proc", flags | MS_RDONLY, nullptr) < 0) {
        logger("core")->warn("failed to mount proc on /proc: {}", errnoText(err));
    }
}

// Everything execve needs, prepared before fork() so that the forked process only makes
// async-signal-safe calls.
struct CommandPlan {
    std::string path;
    std::vector<std::string> argv;
    std::vector<std::string> env;
    std::vector<char *> cargv;
    std::vector<char *> cenv;
};

std::vector<std::string> commandEnvironment(const ChildContext &ctx) {
    std::vector<std::pair<std::string, std::string>> added = {
        {"ROOTLESSKIT_STATE_DIR", ctx.netSettings.stateDir},
        {"ROOTLESSKIT_PARENT_EUID", std::to_string(ctx.parentEuid)},
        {"ROOTLESSKIT_PARENT_EGID", std::to_string(ctx.parentEgid)},
    };
    std::vector<std::string> env;
    for (char **entry = environ; *entry != nullptr; ++entry) {
        std::string text = *entry;
        bool replaced = false;
        for (const auto &[key, value] : added) {
            replaced = replaced || text.rfind(key + "=", 0) == 0;
        }
        if (!replaced) {
            env.push_back(text);
        }
    }
    for (const auto &[key, value] : added) {
        env.push_back(key + "=" + value);
    }
    return env;
}

// Runs in the forked command: only async-signal-safe calls until execve.
[[noreturn]] void execCommand(const CommandPlan &plan, pid_t child, const ChildContext &ctx,
                              int errorFd) {
    resetSignalsForExec();
    restoreNofileLimit();
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != child) {
        _exit(1);
    }
    // Socket activation fds and LISTEN_PID; every other descriptor above stdio close-on-exec;
    // with the reaper, a process group of its own (process_options.h).
    prepareCommandProcess(ctx.commandSetup, plan.cenv.data(), ctx.reaper);
    execve(plan.path.c_str(), plan.cargv.data(), plan.cenv.data());
    int err = errno;
    (void)!write(errorFd, &err, sizeof err);
    _exit(127);
}

class ChildRun {
public:
    ChildRun(const ChildContext &context, SyncChannel channel)
        : ctx_(context), options_(*context.options), channel_(std::move(channel)) {}

    Status setUp();
    [[noreturn]] void fail(const Status &status);
    [[noreturn]] void runCommand();

private:
    Status onIdmap();
    Status onNetwork(const SyncMessage &message);
    Status onPort(const SyncMessage &message);
    Status configureInterface(const JsonObject &netmsg);
    // --detach-netns with a network that sets up a namespace: lo and the interface live in the
    // detached one.
    bool configuresDetachedNetns() const {
        return !ctx_.netSettings.detachedNetnsPath.empty() && (ctx_.net->needs & RKP_NEED_NETNS);
    }
    Status writeNameFiles(const JsonObject &netmsg);
    Status installEtcFile(const std::string &name, const std::string &content);
    Status startPortLoop();
    Result<CommandPlan> planCommand();
    Result<pid_t> startCommand(CommandPlan &plan);
    int superviseCommand(pid_t command);
    bool reapCommand(pid_t command, int *status);
    void stop();

    const ChildContext &ctx_;
    const Options &options_;
    SyncChannel channel_;
    NetDriverPtr net_;
    PortDriverPtr port_;
    bool etcCopiedUp_ = false;  // /etc/resolv.conf and hosts are then replaced before the bind
    UniqueFd quitFd_;
    std::thread portThread_;
};

Status ChildRun::setUp() {
    Result<SyncMessage> idmap = channel_.expect("idmap");
    if (!idmap) {
        return idmap.status();
    }
    Status prepared = onIdmap();
    if (!prepared) {
        return prepared;
    }
    Status sent = channel_.sendType("userns-ready");
    if (!sent) {
        return sent;
    }

    Result<SyncMessage> network = channel_.expect("network");
    Status networked = network ? onNetwork(*network) : network.status();
    if (!networked) {
        return networked;
    }
    Result<SyncMessage> port = channel_.expect("port");
    Status ported = port ? onPort(*port) : port.status();
    if (!ported) {
        return ported;
    }
    sent = channel_.sendType("child-ready");
    if (!sent) {
        return sent;
    }
    return channel_.expect("go").status();
}

Status ChildRun::onIdmap() {
    logger("core")->debug("uid {} gid {} in the new user namespace", getuid(), getgid());
    if (options_.pidns) {
        mountProc();
    }
    if (options_.detachNetns) {
        Status detached = createDetachedNetns(ctx_.netSettings.detachedNetnsPath);
        if (!detached) {
            return detached;
        }
    }

    Result<NetDriverPtr> net =
        NetDriver::create(*ctx_.net, RKP_SIDE_CHILD, ctx_.netSettings.stateDir,
                          configFor(options_, "network/" + options_.net));
    if (!net) {
        return net.status();
    }
    net_ = std::move(*net);
    if (!net_->hasPrepareChild()) {
        return {};
    }
    // Named as the parent names its half's failures (runtime.cc), from the child's side.
    return net_->prepareChild(ctx_.netSettings.params(0))
        .wrap("failed to setup network " + ctx_.net->name);
}

// Upstream's order: mount propagation, copy-up, /sys (mounts.h), lo, the driver's child half,
// the interface, then resolv.conf and hosts.
Status ChildRun::onNetwork(const SyncMessage &message) {
    Result<std::vector<std::string>> copiedUp =
        setUpMountNamespace(options_, ctx_.netSettings.stateDir, ctx_.newNetns, ctx_.mountScratch);
    if (!copiedUp) {
        return copiedUp.status();
    }
    etcCopiedUp_ = std::find(copiedUp->begin(), copiedUp->end(), "/etc") != copiedUp->end();
    if (ctx_.newNetns) {
        Status lo = netlinkLinkUp("lo");
        if (!lo) {
            return lo;
        }
    }
    if (configuresDetachedNetns()) {
        Status lo = runInNetns(ctx_.netSettings.detachedNetnsPath,
                               [] { return netlinkLinkUp("lo"); });
        if (!lo) {
            return lo;
        }
    }

    std::string text = SyncChannel::stringOf(message, "netmsg");
    if (net_->hasConfigureChild()) {
        Result<std::string> updated = net_->configureChild(ctx_.netSettings.params(0), text);
        if (!updated) {
            return updated.status().wrap("failed to setup network " + ctx_.net->name);
        }
        text = *updated;
    }
    Result<JsonObject> netmsg = parseNetmsg(text);
    if (!netmsg) {
        return netmsg.status().wrap("failed to setup network " + ctx_.net->name);
    }
    if (!(ctx_.net->needs & RKP_NEED_OWN_IFACE_SETUP)) {
        // In the detached namespace with --detach-netns, else right here.
        Status configured = runInNetns(ctx_.netSettings.detachedNetnsPath,
                                       [&] { return configureInterface(*netmsg); });
        if (!configured) {
            return configured;
        }
    }
    return writeNameFiles(*netmsg);
}

// ip link set <dev> up; ip link set dev <dev> mtu <mtu>; ip addr add <ip>/<prefix> dev <dev>;
// ip route add default via <gateway> dev <dev>: each only when the message has what it needs.
Status ChildRun::configureInterface(const JsonObject &netmsg) {
    std::string dev = stringMember(netmsg, "dev");
    if (dev.empty()) {
        return {};
    }
    logger("core")->debug("configuring interface {}", dev);
    Status step = netlinkLinkUp(dev);
    int mtu = intMember(netmsg, "mtu", 0);
    if (step) {
        step = netlinkSetMtu(dev, mtu > 0 ? static_cast<unsigned>(mtu) : ctx_.netSettings.mtu);
    }
    std::string ip = stringMember(netmsg, "ip");
    if (step && !ip.empty()) {
        step = netlinkAddAddress(dev, ip, intMember(netmsg, "prefix", 24));
    }
    std::string gateway = stringMember(netmsg, "gateway");
    if (step && !gateway.empty()) {
        step = netlinkAddDefaultRoute(dev, gateway);
    }
    return step;
}

// <sd>/hosts and <sd>/resolv.conf, bind-mounted over /etc/hosts and /etc/resolv.conf; only for
// a network message that carries DNS servers (a driver with a namespace-side network).
Status ChildRun::writeNameFiles(const JsonObject &netmsg) {
    if (!netmsg->has("dns")) {
        return {};
    }
    std::string resolv;
    for (const std::string &server : dnsServers(netmsg)) {
        resolv += "nameserver " + server + "\n";
    }
    Status installed = installEtcFile("resolv.conf", resolv);
    if (installed) {
        installed = installEtcFile("hosts", hostsContent());
    }
    if (installed && ctx_.netSettings.detachedNetnsPath.empty() && !etcCopiedUp_) {
        // Without a copied-up /etc the mounts pin today's inodes of the host's files.
        logger("core")->warn(
            "/etc/resolv.conf and /etc/hosts are bind-mounted without --copy-up=/etc; they go "
            "stale if the host replaces them");
    }
    return installed;
}

// Writes <sd>/<name> (0644) and bind-mounts it over /etc/<name>.
Status ChildRun::installEtcFile(const std::string &name, const std::string &content) {
    std::string source = ctx_.netSettings.stateDir + "/" + name;
    std::string target = "/etc/" + name;
    Status written = writeFile(source, content, 0644);
    if (!written || !ctx_.netSettings.detachedNetnsPath.empty()) {
        // Detached: the command stays in the host's network namespace and keeps the host's
        // files; the written ones are for what it places into the detached namespace.
        return written;
    }
    // In a copied-up /etc the entry is a symlink to the host's file: a bind would land there.
    Status replaced = etcCopiedUp_ ? replaceWithEmptyFile(target) : Status();
    if (!replaced) {
        return replaced;
    }
    if (mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) < 0) {
        return Status::error("bind-mount " + source + " on " + target + ": " + errnoText(errno),
                             errno);
    }
    return {};
}

Status ChildRun::onPort(const SyncMessage &message) {
    if (ctx_.port == nullptr) {
        return {};
    }
    Result<PortDriverPtr> port =
        PortDriver::create(*ctx_.port, RKP_SIDE_CHILD, ctx_.netSettings.stateDir,
                           configFor(options_, "port/" + ctx_.port->name));
    if (!port) {
        return port.status();
    }
    port_ = std::move(*port);
    const std::string &detached = ctx_.netSettings.detachedNetnsPath;
    Status initialised = port_->initChild(SyncChannel::stringOf(message, "opaque"),
                                          detached.empty() ? nullptr : detached.c_str());
    if (!initialised) {
        return initialised.wrap("failed to setup port driver " + ctx_.port->name);
    }
    return port_->needsChildLoop() ? startPortLoop() : Status();
}

Status ChildRun::startPortLoop() {
    quitFd_.reset(eventfd(0, EFD_CLOEXEC));
    if (!quitFd_.valid()) {
        return Status::error("eventfd: " + errnoText(errno), errno);
    }
    portThread_ = std::thread([this] {
        Status loop = port_->runChild(quitFd_.get());
        if (!loop) {
            // The published ports are dead: end the run with the driver's message, as the parent
            // does when its half fails. The command dies with this process (PR_SET_PDEATHSIG).
            fail(loop.wrap("port driver " + ctx_.port->name + " stopped"));
        }
    });
    return {};
}

Result<CommandPlan> ChildRun::planCommand() {
    CommandPlan plan;
    plan.argv = options_.command;
    Result<std::string> path = lookPath(plan.argv.at(0), std::getenv("PATH"));
    if (!path) {
        return path.status();
    }
    plan.path = *path;
    plan.env = commandEnvironment(ctx_);
    reserveListenPid(ctx_.commandSetup, plan.env);
    for (std::string &arg : plan.argv) {
        plan.cargv.push_back(arg.data());
    }
    plan.cargv.push_back(nullptr);
    for (std::string &entry : plan.env) {
        plan.cenv.push_back(entry.data());
    }
    plan.cenv.push_back(nullptr);
    return plan;
}

// Forks and execs the command. An execve failure comes back through a close-on-exec pipe, so
// "permission denied" is reported as such rather than as an exit status.
Result<pid_t> ChildRun::startCommand(CommandPlan &plan) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        return Status::error("pipe: " + errnoText(errno), errno);
    }
    UniqueFd readEnd(fds[0]);
    UniqueFd writeEnd(fds[1]);

    pid_t self = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        return Status::error("fork: " + errnoText(errno), errno);
    }
    if (pid == 0) {
        execCommand(plan, self, ctx_, writeEnd.get());
    }
    writeEnd.reset();

    int err = 0;
    ssize_t n;
    while ((n = read(readEnd.get(), &err, sizeof err)) < 0 && errno == EINTR) {
    }
    if (n == static_cast<ssize_t>(sizeof err)) {
        waitpid(pid, nullptr, 0);
        return Status::error("fork/exec " + plan.path + ": " + errnoText(err), err);
    }
    logger("core")->debug("command started, pid {}", pid);
    return pid;
}

bool ChildRun::reapCommand(pid_t command, int *status) {
    if (!ctx_.reaper) {
        return waitpid(command, status, WNOHANG) == command;
    }
    bool found = false;
    int reaped;
    pid_t pid;
    while ((pid = waitpid(-1, &reaped, WNOHANG)) > 0) {
        if (pid == command) {
            *status = reaped;
            found = true;
        }
    }
    return found;
}

// Forwards signals to the command until it has exited; returns its wait status. Without a
// reaper the command stays in the child's process group, where a signal from the terminal
// reaches it directly: that one is not forwarded a second time.
int ChildRun::superviseCommand(pid_t command) {
    Result<UniqueFd> signals = openSignalFd();
    if (!signals) {
        fail(signals.status());
    }
    int status = 0;
    for (;;) {
        struct pollfd fd = {signals->get(), POLLIN, 0};
        poll(&fd, 1, -1);
        for (SignalInfo info = readSignal(signals->get()); info.signo != 0;
             info = readSignal(signals->get())) {
            if (info.signo == SIGCHLD) {
                if (reapCommand(command, &status)) {
                    return status;
                }
            } else if (isForwardedSignal(info.signo) &&
                       !(isTerminalGroupSignal(info) && !ctx_.reaper)) {
                logger("core")->debug("forwarding signal {} to the command", info.signo);
                kill(command, info.signo);
            }
        }
    }
}

void ChildRun::stop() {
    if (portThread_.joinable()) {
        uint64_t one = 1;
        (void)!write(quitFd_.get(), &one, sizeof one);
        portThread_.join();
    }
    port_.reset();
    if (net_) {
        Status torn = net_->teardown();
        if (!torn) {
            logger("core")->warn("network teardown: {}", torn.message());
        }
    }
}

void ChildRun::fail(const Status &status) {
    Poco::JSON::Object message;
    message.set("type", "error");
    message.set("message", status.message());
    // When the parent is gone there is nobody to tell; the exit code is all that is left.
    (void)channel_.send(message);
    if (net_) {
        (void)net_->teardown();
    }
    _exit(1);
}

void ChildRun::runCommand() {
    Result<CommandPlan> plan = planCommand();
    Result<pid_t> pid = plan ? startCommand(*plan) : Result<pid_t>(plan.status());
    if (!pid) {
        std::string argv = joinArgs(options_.command);
        fail(pid.status().wrap("command [" + argv + "] exited"));
    }
    int status = superviseCommand(*pid);
    logger("core")->debug("command exited: {}", waitStatusText(status));
    stop();

    // Upstream's two-line report of a failed command starts here, in the child's own words; the
    // parent adds "child exited: ..." once it has the exit message.
    std::string command = "command [" + joinArgs(options_.command) + "] exited: ";
    if (WIFSIGNALED(status)) {
        reportError(command + "signal: " + signalText(WTERMSIG(status)));
    } else if (WEXITSTATUS(status) != 0) {
        reportError(command + "exit status " + std::to_string(WEXITSTATUS(status)));
    }

    Poco::JSON::Object message;
    message.set("type", "exit");
    if (WIFSIGNALED(status)) {
        message.set("signal", WTERMSIG(status));
    } else {
        message.set("code", WEXITSTATUS(status));
    }
    (void)channel_.send(message);
    _exit(WIFSIGNALED(status) ? 255 : WEXITSTATUS(status));
}

}  // namespace

rkp_net_params NetSettings::params(int32_t childPid) const {
    rkp_net_params params = {};
    params.struct_size = sizeof params;
    params.child_pid = childPid;
    params.state_dir = stateDir.c_str();
    params.detached_netns_path = detachedNetnsPath.empty() ? nullptr : detachedNetnsPath.c_str();
    params.ifname = ifname.c_str();
    params.cidr = cidr.empty() ? nullptr : cidr.c_str();
    params.mtu = mtu;
    params.enable_ipv6 = ipv6 ? 1 : 0;
    params.disable_host_loopback = disableHostLoopback ? 1 : 0;
    params.port_driver_needs = portDriverNeeds;
    params.port_driver = portDriver.c_str();
    return params;
}

NetSettings resolveNetSettings(const Options &options, const PluginInfo &net,
                               const PluginInfo *port, const std::string &stateDir) {
    const rkp_plugin *descriptor = net.descriptor;
    NetSettings settings;
    settings.stateDir = stateDir;
    settings.ifname = options.ifname;
    if (settings.ifname.empty() && descriptor != nullptr && descriptor->default_ifname != nullptr) {
        settings.ifname = descriptor->default_ifname;
    }
    settings.cidr = options.cidr;
    settings.portDriver = port != nullptr ? port->name : "none";
    settings.mtu = options.mtu > 0 ? static_cast<uint32_t>(options.mtu) : 0;
    if (settings.mtu == 0 && descriptor != nullptr) {
        settings.mtu = descriptor->default_mtu;
    }
    if (settings.mtu == 0) {
        settings.mtu = 1500;  // a driver without a default still gets a usable, non-zero value
    }
    settings.ipv6 = options.ipv6;
    settings.disableHostLoopback = options.disableHostLoopback;
    settings.portDriverNeeds = port != nullptr ? static_cast<uint32_t>(port->needs) : 0;
    if (options.detachNetns) {
        settings.detachedNetnsPath = detachedNetnsChildPath(stateDir);
    }
    return settings;
}

void runChild(const ChildContext &context, SyncChannel channel) {
    // First: if the parent dies from here on, so does the child. Then close the race where it
    // died before the call.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != context.expectedParent) {
        _exit(1);
    }
    for (int fd : context.parentOnlyFds) {
        close(fd);
    }
    initLogging("child", context.options->debug);

    ChildRun run(context, std::move(channel));
    Status ready = run.setUp();
    if (!ready) {
        run.fail(ready);
    }
    run.runCommand();
}

}  // namespace rootlesskit
