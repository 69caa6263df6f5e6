// A conformance run, step by step; see session.h.
#include "session.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <Poco/JSON/Parser.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace rkp::conformance {

namespace {

namespace fs = std::filesystem;
using Poco::JSON::Object;

constexpr auto kLoopDeadline = std::chrono::seconds(10);

// The JSON object text is, or nullptr with *error set.
Object::Ptr parseObject(const std::string &text, std::string *error) {
    try {
        return Poco::JSON::Parser().parse(text).extract<Object::Ptr>();
    } catch (const std::exception &e) {
        *error = "\"" + text + "\" is not a JSON object (" + e.what() + ")";
        return nullptr;
    }
}

std::string stringOf(const Object::Ptr &object, const std::string &key) {
    return object->has(key) && object->get(key).isString() ? object->getValue<std::string>(key)
                                                           : "";
}

std::string errnoName(int rc) {
    return rc < 0 ? std::string(std::strerror(-rc)) : "returned " + std::to_string(rc);
}

}  // namespace

// ---- LoopThread ----------------------------------------------------------------------------

LoopThread::~LoopThread() {
    if (running()) {
        stop();
    }
}

bool LoopThread::start(std::function<CallResult(int)> fn) {
    quit_ = Fd(eventfd(0, EFD_CLOEXEC));
    if (quit_.get() < 0) {
        return false;
    }
    std::packaged_task<CallResult(int)> task(std::move(fn));
    result_ = task.get_future();
    std::thread(std::move(task), quit_.get()).detach();
    return true;
}

std::optional<CallResult> LoopThread::stop() {
    uint64_t one = 1;
    if (write(quit_.get(), &one, sizeof(one)) != sizeof(one) ||
        result_.wait_for(kLoopDeadline) != std::future_status::ready) {
        result_ = {};
        quit_.release();  // the loop may still poll it
        return std::nullopt;
    }
    CallResult result = result_.get();
    quit_ = Fd();
    return result;
}

// ---- Session: start ----------------------------------------------------------------------------

Session::Session(const SessionConfig &config, LogBook &book) : config_(config), book_(book) {}

Session::~Session() {
    if (!stopped_) {
        stop();
    }
}

bool Session::check(const std::string &step, const CallResult &result, const std::string &error) {
    for (const std::string &problem : result.problems) {
        problems_.push_back(step + ": " + problem);
    }
    if (!error.empty()) {
        failures_.push_back(step + ": " + error);
        return false;
    }
    if (!result.ok()) {
        failures_.push_back(step + " failed (" + errnoName(result.rc) + "): " + result.message);
        return false;
    }
    return true;
}

std::vector<std::string> Session::takeProblems() {
    return std::exchange(problems_, {});
}

bool Session::start() {
    fdsBefore_ = openDescriptors();
    char dir[] = "/tmp/rkpc-XXXXXX";
    if (mkdtemp(dir) == nullptr) {
        failures_.push_back(std::string("state dir: mkdtemp: ") + std::strerror(errno));
        return false;
    }
    stateDir_ = dir;
    params_.stateDir = stateDir_;
    if (config_.net != nullptr) {
        params_.ifname = config_.net->default_ifname != nullptr ? config_.net->default_ifname : "";
        params_.mtu = config_.net->default_mtu != 0 ? config_.net->default_mtu : 1500;
    }
    if (config_.port != nullptr) {
        params_.portDriver = config_.port->name;
        params_.portDriverNeeds = config_.port->needs;
    }

    // Parent-side instances exist before the child, which starts with a copy of them.
    if (config_.net != nullptr) {
        parentNet_ = std::make_unique<Driver>(*config_.net, book_, RKP_SIDE_PARENT, stateDir_);
        if (!check("network create (parent)", parentNet_->create(config_.netConfig))) {
            return false;
        }
    }
    if (config_.port != nullptr) {
        parentPort_ = std::make_unique<Driver>(*config_.port, book_, RKP_SIDE_PARENT, stateDir_);
        if (!check("port create (parent)", parentPort_->create(config_.portConfig))) {
            return false;
        }
    }

    ChildSetup setup{config_.net,        config_.port, config_.netConfig,
                     config_.portConfig, params_,      book_.printLevel()};
    std::string error;
    child_ = ChildHelper::spawn(setup, book_, &error);
    if (!child_) {
        failures_.push_back("child process: " + error);
        return false;
    }
    started_ = startNetwork() && startPort();
    return started_;
}

bool Session::startNetwork() {
    if (config_.net == nullptr) {
        Reply up = child_->call("lo.up");
        return check("lo up in the child", up.result, up.error);
    }
    Reply created = child_->call("net.create");
    childNetCreated_ = created.result.ok() && created.error.empty();
    if (!check("network create (child)", created.result, created.error)) {
        return false;
    }
    Reply prepared = child_->call("net.prepare");
    if (!check("prepare_child", prepared.result, prepared.error)) {
        return false;
    }

    CallResult configured = parentNet_->configureParent(params_.get(child_->pid()));
    if (!check("configure_parent", configured)) {
        return false;
    }
    std::string error;
    netmsg_ = configured.output.empty() ? "{}" : configured.output;
    if (!parseObject(netmsg_, &error)) {
        failures_.push_back("configure_parent wrote a network message that is not valid: " + error);
        return false;
    }
    Object::Ptr args = new Object;
    args->set("netmsg", netmsg_);
    Reply child = child_->call("net.configure", args);
    if (!check("configure_child", child.result, child.error)) {
        return false;
    }
    netmsg_ = stringOf(child.body, "netmsg");
    if (!check("host interface set-up", {}, stringOf(child.body, "ifaceError"))) {
        return false;
    }

    if (config_.net->net->watch != nullptr &&
        !watch_.start([this](int quit) { return parentNet_->watch(quit); })) {
        failures_.push_back("watch: cannot make an eventfd");
        return false;
    }
    return true;
}

// Fills context from the network message; returns the opaque object's text ("{}" if none).
std::string Session::portContextOpaque(rkp_port_context *context) {
    std::string error;
    Object::Ptr netmsg = parseObject(netmsg_, &error);
    contextChildIp_ = netmsg ? stringOf(netmsg, "ip") : "";
    contextGateway_ = netmsg ? stringOf(netmsg, "gateway") : "";
    contextOpaque_ = "{}";
    if (netmsg && netmsg->has("opaque") && netmsg->getObject("opaque")) {
        std::ostringstream out;
        netmsg->getObject("opaque")->stringify(out);
        contextOpaque_ = out.str();
    }
    *context = rkp_port_context{};
    context->struct_size = sizeof(rkp_port_context);
    context->child_ip = contextChildIp_.c_str();
    context->gateway_ip = contextGateway_.c_str();
    context->net_opaque_json = contextOpaque_.c_str();
    return contextOpaque_;
}

bool Session::startPort() {
    if (config_.port == nullptr) {
        return true;
    }
    rkp_port_context context;
    portContextOpaque(&context);
    CallResult init = parentPort_->initParent(context);
    if (!check("init_parent", init)) {
        return false;
    }
    std::string opaque = init.output.empty() ? "{}" : init.output;
    std::string error;
    if (!parseObject(opaque, &error)) {
        failures_.push_back("init_parent wrote an opaque object that is not valid: " + error);
        return false;
    }

    Reply created = child_->call("port.create");
    childPortCreated_ = created.result.ok() && created.error.empty();
    if (!check("port create (child)", created.result, created.error)) {
        return false;
    }
    Object::Ptr args = new Object;
    args->set("opaque", opaque);
    Reply initialised = child_->call("port.init", args);
    if (!check("init_child", initialised.result, initialised.error)) {
        return false;
    }
    if (config_.port->needs & RKP_NEED_CHILD_LOOP) {
        Reply run = child_->call("port.run");
        childLoop_ = run.error.empty();
        if (!check("run_child start", run.result, run.error)) {
            return false;
        }
    }
    if ((config_.port->needs & RKP_NEED_PARENT_LOOP) &&
        !runParent_.start([this](int quit) { return parentPort_->runParent(quit); })) {
        failures_.push_back("run_parent: cannot make an eventfd");
        return false;
    }

    Reply echo = child_->call("echo.start");
    if (!check("echo servers in the child", echo.result, echo.error)) {
        return false;
    }
    echoTcp_ = echo.body->getValue<uint16_t>("tcp");
    echoUdp_ = echo.body->getValue<uint16_t>("udp");
    return true;
}

// ---- Session: stop ---------------------------------------------------------------------------

bool Session::stop() {
    if (stopped_) {
        return failures_.empty();
    }
    stopped_ = true;
    stopPort();
    stopNetwork();
    if (child_) {
        std::string error = child_->exit();
        if (!error.empty()) {
            failures_.push_back("child process exit: " + error);
        }
        child_.reset();
    }
    if (!abandoned_) {
        checkNothingLeft();
    }
    std::error_code ec;
    if (!stateDir_.empty()) {
        fs::remove_all(stateDir_, ec);
    }
    return failures_.empty();
}

void Session::stopPort() {
    if (runParent_.running()) {
        std::optional<CallResult> loop = runParent_.stop();
        if (!loop) {
            failures_.push_back(
                "run_parent did not return within 10 s of quit_fd becoming "
                "readable");
            parentPort_->abandon();
            abandoned_ = true;
        } else {
            check("run_parent", *loop);
        }
    }
    if (child_ && childLoop_) {
        Reply stopped = child_->call("port.stop");
        check("run_child", stopped.result, stopped.error);
    }
    parentPort_.reset();
    if (child_ && childPortCreated_) {
        child_->call("port.destroy");
    }
}

void Session::stopNetwork() {
    if (watch_.running()) {
        std::optional<CallResult> watched = watch_.stop();
        if (!watched) {
            failures_.push_back("watch did not return within 10 s of quit_fd becoming readable");
            parentNet_->abandon();
            abandoned_ = true;
        } else {
            check("watch", *watched);
        }
    }
    if (parentNet_ && parentNet_->created() && !abandoned_) {
        check("teardown (parent)", parentNet_->teardown());
        check("teardown (parent), called again", parentNet_->teardown());
    }
    if (child_ && childNetCreated_) {
        Reply torn = child_->call("net.teardown");
        check("teardown (child)", torn.result, torn.error);
        Reply again = child_->call("net.teardown");
        check("teardown (child), called again", again.result, again.error);
        child_->call("net.destroy");
    }
    parentNet_.reset();
}

void Session::allowDescriptor(int fd) {
    std::error_code ec;
    std::string name = std::to_string(fd);
    fdsBefore_.insert(name + " -> " + fs::read_symlink("/proc/self/fd/" + name, ec).string());
}

void Session::checkNothingLeft() {
    for (const std::string &process : childProcesses()) {
        failures_.push_back("after teardown and destroy, a process is still running: " + process);
    }
    for (const std::string &fd : openDescriptors()) {
        if (fdsBefore_.count(fd) == 0) {
            failures_.push_back("after destroy, a descriptor is still open: " + fd);
        }
    }
}

// ---- Process inspection ----------------------------------------------------------------------

std::set<std::string> openDescriptors() {
    std::set<std::string> fds;
    std::error_code ec;
    std::string self = fs::read_symlink("/proc/self", ec).string();
    for (const auto &entry : fs::directory_iterator("/proc/self/fd", ec)) {
        std::error_code linkError;
        std::string target = fs::read_symlink(entry.path(), linkError).string();
        if (!linkError && target.find("/proc/" + self + "/fd") == std::string::npos) {
            fds.insert(entry.path().filename().string() + " -> " + target);
        }
    }
    return fds;
}

std::vector<std::string> childProcesses() {
    std::vector<std::string> processes;
    std::error_code ec;
    for (const auto &task : fs::directory_iterator("/proc/self/task", ec)) {
        std::ifstream children(task.path() / "children");
        for (std::string pid; children >> pid;) {
            std::ifstream comm("/proc/" + pid + "/comm");
            std::string name;
            std::getline(comm, name);
            processes.push_back(pid + " (" + name + ")");
        }
    }
    return processes;
}

}  // namespace rkp::conformance
