// The parent side of a run: validation, state directory, drivers, the child, its ID maps, the
// hand-over of the network and port messages, publishing, the REST API, then signal forwarding
// until the child ends (runtime.h has the theory of operation, child.h the other side).
#include "core/runtime.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <thread>

#include <Poco/Exception.h>
#include <Poco/JSON/Parser.h>
#include <fmt/format.h>

#include "core/api_server.h"
#include "core/child.h"
#include "core/copy_up.h"
#include "core/detach_netns.h"
#include "core/driver.h"
#include "core/idmap.h"
#include "core/log.h"
#include "core/mounts.h"
#include "core/nofile_limit.h"
#include "core/port_manager.h"
#include "core/port_spec.h"
#include "core/process_options.h"
#include "core/signals.h"
#include "core/state_dir.h"
#include "core/sync_channel.h"
#include "core/unique_fd.h"

namespace rootlesskit {

namespace {

std::string readTrimmed(const std::string &path) {
    std::ifstream in(path);
    std::string text;
    std::getline(in, text);
    return text;
}

std::string configFor(const Options &options, const std::string &key) {
    auto found = options.driverConfig.find(key);
    return found != options.driverConfig.end() ? found->second : "{}";
}

// Upstream's start-up warnings (§2.2 step 2): never fatal.
// Printed once every option has been accepted, so that bad input gets its one error line alone.
void warnAboutHost(const Options &options) {
    auto log = logger("core");
    if (options.ipv6) {
        log->warn("ipv6 is experimental");
    }
    bool hostLike = options.net == "host" || options.net == "none";
    if (!hostLike && !options.disableHostLoopback) {
        log->warn(
            "--disable-host-loopback is not set: processes in the namespace can reach services "
            "listening on the host's 127.0.0.1 through the gateway address; setting it is "
            "recommended");
    }
    if (geteuid() == 0) {
        log->warn("Running RootlessKit as the root user is unsupported.");
    }
    if (readTrimmed("/proc/sys/kernel/unprivileged_userns_clone") == "0") {
        log->warn("/proc/sys/kernel/unprivileged_userns_clone needs to be set to 1.");
    }
    std::string maxUserns = readTrimmed("/proc/sys/user/max_user_namespaces");
    if (maxUserns == "0") {
        log->warn("/proc/sys/user/max_user_namespaces needs to be set to non-zero.");
    } else if (!maxUserns.empty() && std::strtoll(maxUserns.c_str(), nullptr, 10) < 1024) {
        log->warn("/proc/sys/user/max_user_namespaces={} may be low. Consider setting to >= 1024.",
                  maxUserns);
    }
    if (options.propagation.find("private") == std::string::npos && !rootMountIsShared()) {
        log->warn("propagation {} has no effect: the host's / mount is not shared",
                  options.propagation);
    }
}

// Ubuntu 23.10 and later restrict unprivileged user namespaces to AppArmor profiles that grant
// "userns"; the kernel then refuses clone(CLONE_NEWUSER) with EACCES or EPERM.
void hintAppArmor(int err) {
    if ((err != EACCES && err != EPERM) ||
        readTrimmed("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") != "1") {
        return;
    }
    char exe[PATH_MAX] = {};
    if (readlink("/proc/self/exe", exe, sizeof exe - 1) <= 0) {
        return;
    }
    std::string profile = std::string(exe).substr(1);
    for (char &c : profile) {
        c = c == '/' ? '.' : c;
    }
    logger("core")->warn(
        "user namespaces are restricted by AppArmor "
        "(/proc/sys/kernel/apparmor_restrict_unprivileged_userns=1). Allow this binary by "
        "writing /etc/apparmor.d/{} with:\n"
        "abi <abi/4.0>,\ninclude <tunables/global>\n\n{} flags=(unconfined) {{\n  userns,\n\n"
        "  include if exists <local/{}>\n}}\n"
        "then run \"sudo systemctl restart apparmor.service\".",
        profile, exe, profile);
}

struct NetFacts {
    std::string ip;
    std::string gateway;
    std::string opaque = "{}";
};

// What the port driver's parent half needs from the network message.
NetFacts netFacts(const std::string &netmsg) {
    NetFacts facts;
    try {
        Poco::JSON::Parser parser;
        Poco::Dynamic::Var parsed = parser.parse(netmsg.empty() ? "{}" : netmsg);
        auto object = parsed.extract<Poco::JSON::Object::Ptr>();
        facts.ip = object->optValue<std::string>("ip", "");
        facts.gateway = object->optValue<std::string>("gateway", "");
        if (object->has("opaque") && object->isObject("opaque")) {
            std::ostringstream opaque;
            object->getObject("opaque")->stringify(opaque);
            facts.opaque = opaque.str();
        }
    } catch (const Poco::Exception &) {
        // The child parses the same text and reports what is wrong with it.
    }
    return facts;
}

class ParentRun {
public:
    ParentRun(const Options &options, const PluginRegistry &registry)
        : options_(options), registry_(registry) {}
    ~ParentRun();
    ParentRun(const ParentRun &) = delete;
    ParentRun &operator=(const ParentRun &) = delete;

    // Sets everything up, starts the command and waits for it; the exit status for main().
    int run();

    // The signal that interrupted the set-up (0 if none): after cleanup, the caller ends the
    // process with it, as the default disposition would have without the cleanup.
    int interruptedBy() const { return interruptedBy_; }

private:
    using Step = Status (ParentRun::*)();

    Status setUp();
    Status validate();
    Status resolvePlugins();
    Status blockSignals();
    Status openStateDir();
    Status createDrivers();
    Status startChild();
    ChildContext childContext() const;
    Status mapIds();
    Status awaitUsernsReady() { return awaitChild("userns-ready"); }
    Status evacuate() { return evacuateCgroup2(options_.evacuateCgroup2); }
    Status handOverNetwork();
    Status awaitChildReady();
    Status startLoops();
    Status publishAndServe();

    Status checkInterrupted();
    Status awaitChild(const std::string &type);
    Status handOverPorts(const std::string &netmsg);
    void runLoop(const std::function<Status()> &loop, const std::string &context);
    Status writeChildPid();
    int supervise();
    void onSignals();
    void onMessage();
    std::string pendingChildError();
    bool tryReap(int options);
    int exitCode();
    void stopChild();
    void removeMountScratch();

    const Options &options_;
    const PluginRegistry &registry_;
    const PluginInfo *net_ = nullptr;
    const PluginInfo *port_ = nullptr;
    StateDirPtr stateDir_;
    NetSettings netSettings_;
    NetDriverPtr netDriver_;
    PortDriverPtr portDriver_;
    std::unique_ptr<PortManager> ports_;
    ApiServerPtr api_;
    SyncChannel channel_;
    UniqueFd signalFd_;      // every signal, read by the main loop
    UniqueFd stopSignalFd_;  // SIGHUP, SIGINT, SIGQUIT, SIGTERM: checked during set-up
    UniqueFd quitFd_;        // readable: the driver loops stop
    UniqueFd wakeFd_;        // readable: a driver loop failed
    std::vector<std::thread> loops_;
    std::mutex failureMutex_;
    std::string loopFailure_;  // guarded by failureMutex_
    int interruptedBy_ = 0;
    pid_t childPid_ = -1;
    bool childReaped_ = false;
    int childStatus_ = 0;
    SyncMessage exitMessage_;  // {"type":"exit",...} or {"type":"error",...} from the child
    std::string mountScratch_;  // the child's temporary mount point (mounts.h), "" if none
    CommandSetup commandSetup_ = commandSetupFromParent();  // as rootlesskit was started
};

int ParentRun::run() {
    Status ready = setUp();
    if (!ready) {
        // The child may have failed first (a port loop that died during start-up) and the
        // parent only noticed through a closed channel: its own message says more.
        std::string childError = pendingChildError();
        stopChild();
        if (interruptedBy_ == 0) {
            reportError(childError.empty() ? ready.message() : childError);
        }
        return 1;
    }
    return supervise();
}

// The start-up sequence of runtime.h, one step after the other; the first failure ends it. A
// stop signal (Ctrl-C) is looked at between steps and while waiting for the child: a step that
// blocks inside a plugin (a helper that is slow to start) is not interrupted, it is only
// abandoned once it returns.
Status ParentRun::setUp() {
    static constexpr Step kSteps[] = {
        &ParentRun::validate,         &ParentRun::blockSignals, &ParentRun::openStateDir,
        &ParentRun::createDrivers,    &ParentRun::startChild,   &ParentRun::mapIds,
        &ParentRun::awaitUsernsReady, &ParentRun::evacuate,     &ParentRun::handOverNetwork,
        &ParentRun::awaitChildReady,  &ParentRun::startLoops,   &ParentRun::publishAndServe,
    };
    for (Step step : kSteps) {
        // Checked before each step, not after the last: once "go" is sent, the main loop
        // forwards every signal to the child instead.
        Status done = checkInterrupted();
        if (done) {
            done = (this->*step)();
        }
        if (!done) {
            return done;
        }
    }
    return {};
}

Status ParentRun::validate() {
    Status valid = checkCopyUpDirs(options_.copyUp, options_.stateDir);
    if (valid) {
        valid = resolvePlugins();
    }
    if (valid) {
        warnAboutHost(options_);
    }
    return valid;
}

// From here on signals wait in signalfds; every thread and process created later inherits the
// mask, so none of them is killed by a signal meant for the run as a whole.
Status ParentRun::blockSignals() {
    blockAllSignals();
    Result<UniqueFd> all = openSignalFd();
    if (!all) {
        return all.status();
    }
    signalFd_ = std::move(*all);
    // A stop signal the caller ignores (nohup, a background job of a script) stops nothing.
    std::vector<int> stopSignals;
    for (int sig : {SIGHUP, SIGINT, SIGQUIT, SIGTERM}) {
        if (!isIgnored(sig)) {
            stopSignals.push_back(sig);
        }
    }
    Result<UniqueFd> stop = openSignalFd(stopSignals);
    if (!stop) {
        return stop.status();
    }
    stopSignalFd_ = std::move(*stop);
    return {};
}

Status ParentRun::openStateDir() {
    Result<StateDirPtr> dir = StateDir::open(options_.stateDir);
    if (!dir) {
        return dir.status();
    }
    stateDir_ = std::move(*dir);
    netSettings_ = resolveNetSettings(options_, *net_, port_, stateDir_->path());
    return {};
}

// A pending stop signal ends the set-up; other signals stay pending for the main loop.
Status ParentRun::checkInterrupted() {
    if (!stopSignalFd_.valid()) {
        return {};  // signals are not blocked yet: they act with their usual dispositions
    }
    SignalInfo info = readSignal(stopSignalFd_.get());
    if (info.signo == 0) {
        return {};
    }
    interruptedBy_ = info.signo;
    logger("core")->debug("set-up interrupted by signal {}", info.signo);
    return Status::error("interrupted: " + signalText(info.signo), EINTR);
}

Status ParentRun::resolvePlugins() {
    Result<const PluginInfo *> net = registry_.find("network", options_.net);
    if (!net) {
        return net.status();
    }
    net_ = *net;
    if (options_.portDriver != "none") {
        Result<const PluginInfo *> port = registry_.find("port", options_.portDriver);
        if (!port) {
            return port.status();
        }
        port_ = *port;
    }
    return checkPairing(registry_, *net_, port_, options_);
}

Status ParentRun::createDrivers() {
    Result<NetDriverPtr> net = NetDriver::create(*net_, RKP_SIDE_PARENT, stateDir_->path(),
                                                 configFor(options_, "network/" + net_->name));
    if (!net) {
        return net.status();
    }
    netDriver_ = std::move(*net);
    if (port_ == nullptr) {
        return {};
    }
    Result<PortDriverPtr> port = PortDriver::create(*port_, RKP_SIDE_PARENT, stateDir_->path(),
                                                    configFor(options_, "port/" + port_->name));
    if (!port) {
        return port.status();
    }
    portDriver_ = std::move(*port);
    return {};
}

// What the child starts with; everything in it stays valid in the child's copy of memory.
ChildContext ParentRun::childContext() const {
    ChildContext context;
    context.options = &options_;
    context.net = net_;
    context.port = port_;
    context.netSettings = netSettings_;
    context.expectedParent = options_.pidns ? 0 : getpid();
    context.parentEuid = geteuid();
    context.parentEgid = getegid();
    context.newNetns = (net_->needs & RKP_NEED_NETNS) != 0 && !options_.detachNetns;
    context.mountScratch = mountScratch_;
    context.reaper = options_.reaper == "true" || (options_.reaper == "auto" && options_.pidns);
    context.commandSetup = commandSetup_;
    context.parentOnlyFds = stateDir_->lockDescriptors();
    context.parentOnlyFds.push_back(signalFd_.get());
    context.parentOnlyFds.push_back(stopSignalFd_.get());
    return context;
}

// clone() without exec: the child continues in runChild() with a copy of this process. The
// process is single-threaded here (plugins start no thread before configure; loggers are
// synchronous), so the copy is consistent.
Status ParentRun::startChild() {
    Result<std::pair<SyncChannel, SyncChannel>> pair = SyncChannel::createPair();
    if (!pair) {
        return pair.status();
    }
    // Made here, not in the child, so that this process removes it even when the child is
    // killed halfway through a copy-up.
    bool newNetns = (net_->needs & RKP_NEED_NETNS) != 0 && !options_.detachNetns;
    if (!options_.copyUp.empty() || newNetns) {
        char scratch[] = "/tmp/rootlesskit-mXXXXXX";
        if (mkdtemp(scratch) == nullptr) {
            return Status::error(fmt::format("mkdtemp {}: {}", scratch, errnoText(errno)), errno);
        }
        mountScratch_ = scratch;
    }
    ChildContext context = childContext();
    unsigned long flags = CLONE_NEWUSER | CLONE_NEWNS | SIGCHLD;
    flags |= context.newNetns ? CLONE_NEWNET : 0;
    flags |= options_.pidns ? CLONE_NEWPID : 0;
    flags |= options_.cgroupns ? CLONE_NEWCGROUP : 0;
    flags |= options_.utsns ? CLONE_NEWUTS : 0;
    flags |= options_.ipcns ? CLONE_NEWIPC : 0;

    long pid = syscall(SYS_clone, flags, 0, 0, 0, 0);
    if (pid < 0) {
        int err = errno;
        hintAppArmor(err);
        return Status::error("failed to start the child: " + errnoText(err), err);
    }
    if (pid == 0) {
        pair->first.close();
        runChild(context, std::move(pair->second));
    }
    childPid_ = static_cast<pid_t>(pid);
    if (options_.detachNetns) {
        // The child made its copy with the child-side path; helpers on the host need this one.
        netSettings_.detachedNetnsPath = detachedNetnsHostPath(childPid_, stateDir_->path());
    }
    // Only the child holds its end now: EOF on ours means the child is gone.
    pair->second.close();
    channel_ = std::move(pair->first);
    logger("core")->debug("child started, pid {}", childPid_);
    return {};
}

Status ParentRun::mapIds() {
    Result<Identity> who = currentIdentity();
    if (!who) {
        return who.status().wrap("failed to setup UID/GID map");
    }
    Result<SubIdRanges> ranges = acquireSubIds(options_.subidSource, *who);
    Status mapped;
    if (ranges) {
        mapped = runNewIdMaps(childPid_, *who, *ranges);
    } else if (who->uid == 0) {
        logger("core")->debug("no sub-ID ranges for root ({}); writing the identity map",
                              ranges.status().message());
        mapped = writeIdentityMaps(childPid_);
    } else {
        mapped = ranges.status();
    }
    if (!mapped) {
        return mapped.wrap("failed to setup UID/GID map");
    }
    return channel_.sendType("idmap");
}

// Waits for the child's next step, or a stop signal. The child's own error comes back as it
// is; EOF means the child died without a word, which is reported with how it died.
Status ParentRun::awaitChild(const std::string &type) {
    for (;;) {
        struct pollfd fds[2] = {{channel_.fd(), POLLIN, 0}, {stopSignalFd_.get(), POLLIN, 0}};
        if (poll(fds, 2, -1) < 0 && errno != EINTR) {
            return Status::error("poll: " + errnoText(errno), errno);
        }
        Status interrupted = checkInterrupted();
        if (!interrupted) {
            return interrupted;
        }
        if (fds[0].revents != 0) {
            break;
        }
    }

    Result<SyncMessage> message = channel_.expect(type);
    if (message) {
        logger("core")->debug("child: {}", type);
        return {};
    }
    if (message.status().code() != EPIPE) {
        return message.status();
    }
    tryReap(0);
    return Status::error("child exited before it was ready: " + waitStatusText(childStatus_));
}

Status ParentRun::handOverNetwork() {
    rkp_net_params params = netSettings_.params(childPid_);
    Result<std::string> netmsg = netDriver_->configureParent(params);
    if (!netmsg) {
        return netmsg.status().wrap("failed to setup network " + options_.net);
    }
    logger("core")->debug("network message: {}", *netmsg);
    Poco::JSON::Object message;
    message.set("type", "network");
    message.set("netmsg", *netmsg);
    Status sent = channel_.send(message);
    return sent ? handOverPorts(*netmsg) : sent;
}

Status ParentRun::handOverPorts(const std::string &netmsg) {
    Poco::JSON::Object message;
    message.set("type", "port");
    if (portDriver_) {
        NetFacts facts = netFacts(netmsg);
        rkp_port_context context = {};
        context.struct_size = sizeof context;
        context.child_ip = facts.ip.c_str();
        context.gateway_ip = facts.gateway.c_str();
        const std::string &detached = netSettings_.detachedNetnsPath;
        context.detached_netns_path = detached.empty() ? nullptr : detached.c_str();
        context.net_opaque_json = facts.opaque.c_str();
        context.source_ip_transparent = options_.sourceIpTransparent ? 1 : 0;
        Result<std::string> opaque = portDriver_->initParent(context);
        if (!opaque) {
            return opaque.status().wrap("failed to setup port driver " + port_->name);
        }
        message.set("opaque", *opaque);
    }
    return channel_.send(message);
}

Status ParentRun::startLoops() {
    quitFd_.reset(eventfd(0, EFD_CLOEXEC));
    wakeFd_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!quitFd_.valid() || !wakeFd_.valid()) {
        return Status::error("eventfd: " + errnoText(errno), errno);
    }
    if (portDriver_ && portDriver_->needsParentLoop()) {
        runLoop([this] { return portDriver_->runParent(quitFd_.get()); },
                "port driver " + port_->name);
    }
    if (netDriver_->hasWatch()) {
        runLoop([this] { return netDriver_->watch(quitFd_.get()); }, "");
    }
    return {};
}

// Runs loop on its own thread; a failure is kept for the main loop, which it wakes up.
void ParentRun::runLoop(const std::function<Status()> &loop, const std::string &context) {
    loops_.emplace_back([this, loop, context] {
        Status ended = loop();
        if (ended) {
            return;
        }
        {
            std::lock_guard<std::mutex> lock(failureMutex_);
            if (loopFailure_.empty()) {
                loopFailure_ = context.empty() ? ended.message() : ended.wrap(context).message();
            }
        }
        uint64_t one = 1;
        (void)!write(wakeFd_.get(), &one, sizeof one);
    });
}

Status ParentRun::publishAndServe() {
    ports_ = std::make_unique<PortManager>(portDriver_.get());
    for (const std::string &text : options_.publish) {
        Result<PortSpec> spec = parsePortSpec(text);
        Status added = spec ? ports_->add(*spec).status() : spec.status();
        if (!added) {
            return added.wrap("failed to expose port " + text);
        }
        logger("core")->debug("published {}", text);
    }
    Status written = writeChildPid();
    if (!written) {
        return written;
    }

    Result<std::string> netInfo = netDriver_->info();
    if (!netInfo) {
        return netInfo.status().wrap("network driver " + net_->name + " info");
    }
    ApiInfo info{stateDir_->path(), childPid_, *netInfo};
    info.portDriverName = options_.portDriver;
    Result<ApiServerPtr> api = ApiServer::start(stateDir_->file("api.sock"), info, *ports_);
    if (!api) {
        return api.status();
    }
    api_ = std::move(*api);
    return channel_.sendType("go");
}

// Written beside and renamed into place: a script that waits for child_pid to appear reads the
// whole number, never an empty file.
Status ParentRun::writeChildPid() {
    std::string path = stateDir_->file("child_pid");
    std::string partial = path + ".partial";
    std::string text = std::to_string(childPid_);
    UniqueFd fd(open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0444));
    if (!fd.valid() || fchmod(fd.get(), 0444) < 0 ||
        write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
        return Status::error("write " + partial + ": " + errnoText(errno), errno);
    }
    if (rename(partial.c_str(), path.c_str()) < 0) {
        return Status::error("rename " + partial + " to " + path + ": " + errnoText(errno), errno);
    }
    return {};
}

// The main loop: forwards signals, collects the child's last message and reaps it.
int ParentRun::supervise() {
    logger("core")->debug("command started");
    while (!childReaped_) {
        struct pollfd fds[3] = {
            {signalFd_.get(), POLLIN, 0}, {channel_.fd(), POLLIN, 0}, {wakeFd_.get(), POLLIN, 0}};
        if (poll(fds, 3, -1) < 0 && errno != EINTR) {
            break;
        }
        if (fds[0].revents != 0) {
            onSignals();
        }
        if (fds[1].revents != 0) {
            onMessage();
        }
        if (fds[2].revents != 0) {
            // A driver loop failed: the run is over. The child's death ends the loop.
            uint64_t count;
            (void)!read(wakeFd_.get(), &count, sizeof count);
            kill(childPid_, SIGKILL);
        }
    }
    // The child is gone; what it sent before dying is still in the socket.
    struct pollfd last = {channel_.fd(), POLLIN, 0};
    while (channel_.fd() >= 0 && poll(&last, 1, 0) > 0) {
        onMessage();
        last.fd = channel_.fd();
    }
    reclaimTerminal(commandSetup_);
    return exitCode();
}

// The child shares the parent's process group, so a signal the terminal sent to the group has
// reached it already; forwarding it too would deliver it twice.
void ParentRun::onSignals() {
    for (SignalInfo info = readSignal(signalFd_.get()); info.signo != 0;
         info = readSignal(signalFd_.get())) {
        if (info.signo == SIGCHLD) {
            tryReap(WNOHANG);
        } else if (isForwardedSignal(info.signo) && !isTerminalGroupSignal(info)) {
            logger("core")->debug("forwarding signal {} to the child", info.signo);
            kill(childPid_, info.signo);
        }
    }
}

std::string ParentRun::pendingChildError() {
    struct pollfd pending = {channel_.fd(), POLLIN, 0};
    while (channel_.fd() >= 0 && poll(&pending, 1, 0) > 0) {
        Result<SyncMessage> message = channel_.receive();
        if (!message) {
            break;
        }
        if (SyncChannel::typeOf(*message) == "error") {
            return SyncChannel::stringOf(*message, "message");
        }
    }
    return {};
}

void ParentRun::onMessage() {
    Result<SyncMessage> message = channel_.receive();
    if (!message) {
        if (message.status().code() != EPIPE) {
            logger("core")->warn("{}", message.status().message());
        }
        // EOF, or a channel that cannot be read any more: the child's exit status remains.
        channel_.close();
        return;
    }
    std::string type = SyncChannel::typeOf(*message);
    if (type == "exit" || type == "error") {
        exitMessage_ = *message;
    }
}

// Reaps the child; options is 0 to block or WNOHANG. Only the child: helpers started by
// plugins are reaped by their plugin.
bool ParentRun::tryReap(int options) {
    if (childReaped_ || childPid_ <= 0) {
        return childReaped_;
    }
    pid_t pid;
    while ((pid = waitpid(childPid_, &childStatus_, options)) < 0 && errno == EINTR) {
    }
    childReaped_ = pid == childPid_;
    return childReaped_;
}

int ParentRun::exitCode() {
    {
        std::lock_guard<std::mutex> lock(failureMutex_);
        if (!loopFailure_.empty()) {
            reportError(loopFailure_);
            return 1;
        }
    }
    std::string type = SyncChannel::typeOf(exitMessage_);
    if (type == "error") {
        reportError(SyncChannel::stringOf(exitMessage_, "message"));
        return 1;
    }
    // The child has printed how the command ended; this line gives the child's own status, which
    // is the command's exit code, or 255 when a signal ended it (upstream's choice).
    if (type == "exit") {
        int code = exitMessage_->has("signal") ? 255 : exitMessage_->optValue<int>("code", 1);
        if (code != 0) {
            reportError("child exited: exit status " + std::to_string(code));
        }
        return code;
    }
    reportError("child exited: " + waitStatusText(childStatus_));
    return 1;
}

// Once the child is ready its mounts are made: the scratch directory is no longer needed, and
// removing it now leaves nothing in /tmp even if this process is SIGKILLed later.
Status ParentRun::awaitChildReady() {
    Status ready = awaitChild("child-ready");
    if (ready) {
        removeMountScratch();
    }
    return ready;
}

void ParentRun::removeMountScratch() {
    if (!mountScratch_.empty()) {
        rmdir(mountScratch_.c_str());
        mountScratch_.clear();
    }
}

void ParentRun::stopChild() {
    if (childPid_ > 0 && !childReaped_) {
        kill(childPid_, SIGKILL);
        tryReap(0);
    }
}

// Cleanup in reverse order of set-up; runs on every path.
ParentRun::~ParentRun() {
    if (api_) {
        api_->stop();
    }
    if (quitFd_.valid()) {
        uint64_t one = 1;
        (void)!write(quitFd_.get(), &one, sizeof one);
    }
    for (std::thread &loop : loops_) {
        loop.join();
    }
    ports_.reset();
    portDriver_.reset();
    if (netDriver_) {
        Status torn = netDriver_->teardown();
        if (!torn) {
            logger("core")->warn("network teardown: {}", torn.message());
        }
    }
    stopChild();
    removeMountScratch();
    stateDir_.reset();
}

}  // namespace

int runParent(const Options &options, const PluginRegistry &registry) {
    // Before clone(): the child and the helpers inherit the raised limit, the command does not.
    raiseNofileLimit();

    int code;
    int signal;
    {
        ParentRun run(options, registry);
        code = run.run();
        signal = run.interruptedBy();
    }
    if (signal != 0) {
        // Cleaned up; now end the way the signal would have ended us (a shell shows 128+N).
        dieBySignal(signal);
    }
    return code;
}

}  // namespace rootlesskit
