// The forked child and its request loop; see child_helper.h.
#include "child_helper.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <future>
#include <map>
#include <sstream>
#include <thread>
#include <vector>

#include "netdev.h"

namespace rkp::conformance {

namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

constexpr int kReplyTimeoutMs = 60000;
constexpr size_t kMaxMessage = 1 << 20;
constexpr size_t kMaxShippedLogLines = 400;
constexpr auto kLoopDeadline = std::chrono::seconds(10);

// ---- Namespaces ----

std::string writeProcFile(const char *path, const std::string &text) {
    Fd fd(open(path, O_WRONLY | O_CLOEXEC));
    if (fd.get() < 0 || write(fd.get(), text.data(), text.size()) != (ssize_t)text.size()) {
        return std::string("write ") + path + ": " + std::strerror(errno);
    }
    return "";
}

// New user and network namespaces with the caller mapped to root, as rootlesskit's child.
std::string enterNamespaces() {
    uid_t uid = geteuid();
    gid_t gid = getegid();
    if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0) {
        return std::string("unshare(CLONE_NEWUSER | CLONE_NEWNET): ") + std::strerror(errno);
    }
    std::string error = writeProcFile("/proc/self/setgroups", "deny");
    if (error.empty()) {
        error = writeProcFile("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1");
    }
    if (error.empty()) {
        error = writeProcFile("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1");
    }
    return error;
}

// ---- Messages ----

std::string stringify(const Object::Ptr &object) {
    std::ostringstream out;
    object->stringify(out);
    return out.str();
}

bool sendJson(int fd, const Object::Ptr &object) {
    std::string text = stringify(object);
    return send(fd, text.data(), text.size(), MSG_NOSIGNAL) == (ssize_t)text.size();
}

// One message, within timeoutMs; nullptr with *error set otherwise.
Object::Ptr receiveJson(int fd, int timeoutMs, std::string *error) {
    pollfd waiting{fd, POLLIN, 0};
    int ready = poll(&waiting, 1, timeoutMs);
    if (ready != 1) {
        *error = ready == 0 ? "no answer within " + std::to_string(timeoutMs / 1000) + " s"
                            : std::string("poll: ") + std::strerror(errno);
        return nullptr;
    }
    std::string text(kMaxMessage, '\0');
    ssize_t got = recv(fd, text.data(), text.size(), 0);
    if (got <= 0) {
        *error =
            got == 0 ? "the child process is gone" : std::string("recv: ") + std::strerror(errno);
        return nullptr;
    }
    text.resize(static_cast<size_t>(got));
    try {
        return Poco::JSON::Parser().parse(text).extract<Object::Ptr>();
    } catch (const std::exception &e) {
        *error = std::string("bad message from the other side: ") + e.what();
        return nullptr;
    }
}

std::string stringMember(const Object::Ptr &object, const std::string &key) {
    return object && object->has(key) && object->get(key).isString()
               ? object->getValue<std::string>(key)
               : "";
}

int intMember(const Object::Ptr &object, const std::string &key, int fallback) {
    if (!object || !object->has(key) || object->get(key).isEmpty()) {
        return fallback;
    }
    try {
        return object->getValue<int>(key);
    } catch (const std::exception &) {
        return fallback;
    }
}

// ---- The child's state and its handlers ----

struct ChildState {
    const ChildSetup &setup;
    LogBook book;
    std::unique_ptr<Driver> net;
    std::unique_ptr<Driver> port;
    Fd quit;
    std::future<CallResult> loop;
};

struct Answer {
    CallResult result;
    std::string error;
    Object::Ptr extra = new Object;
};

// The host's interface set-up from a network message (core/child.cc does the same over
// netlink): dev up, MTU, IPv4 address, default route; each only when the message has it.
std::string setUpInterface(const Object::Ptr &netmsg, uint32_t defaultMtu) {
    std::string dev = stringMember(netmsg, "dev");
    if (dev.empty()) {
        return "";
    }
    std::string error = linkUp(dev);
    int mtu = intMember(netmsg, "mtu", 0);
    if (error.empty()) {
        error = setMtu(dev, mtu > 0 ? mtu : static_cast<int>(defaultMtu));
    }
    std::string ip = stringMember(netmsg, "ip");
    if (error.empty() && !ip.empty()) {
        error = addIPv4Address(dev, ip, intMember(netmsg, "prefix", 24));
    }
    std::string gateway = stringMember(netmsg, "gateway");
    if (error.empty() && !gateway.empty()) {
        error = addDefaultRoute(dev, gateway);
    }
    return error.empty() ? "" : "interface set-up from the network message: " + error;
}

void netCreate(ChildState &s, const Object::Ptr &, Answer &a) {
    s.net = std::make_unique<Driver>(*s.setup.net, s.book, RKP_SIDE_CHILD, s.setup.params.stateDir);
    a.result = s.net->create(s.setup.netConfig);
    if (!a.result.ok()) {
        s.net.reset();
    }
}

void netPrepare(ChildState &s, const Object::Ptr &, Answer &a) {
    a.result = s.net->prepareChild(s.setup.params.get(0));
}

void netConfigure(ChildState &s, const Object::Ptr &args, Answer &a) {
    a.error = linkUp("lo");
    if (!a.error.empty()) {
        return;
    }
    std::string netmsg = stringMember(args, "netmsg");
    a.result = s.net->configureChild(s.setup.params.get(0), netmsg);
    if (!a.result.ok()) {
        return;
    }
    if (!a.result.output.empty()) {
        netmsg = a.result.output;
    }
    a.extra->set("netmsg", netmsg);
    if (s.setup.net->needs & RKP_NEED_OWN_IFACE_SETUP) {
        return;
    }
    try {
        Object::Ptr parsed = Poco::JSON::Parser().parse(netmsg).extract<Object::Ptr>();
        a.extra->set("ifaceError", setUpInterface(parsed, s.setup.params.mtu));
    } catch (const std::exception &e) {
        a.extra->set("ifaceError",
                     std::string("the network message is not a JSON object: ") + e.what());
    }
}

void netCheck(ChildState &, const Object::Ptr &args, Answer &a) {
    a.extra->set("ifaceError", checkInterface(stringMember(args, "dev"), stringMember(args, "ip")));
}

void netTeardown(ChildState &s, const Object::Ptr &, Answer &a) {
    a.result = s.net->teardown();
}

void netDestroy(ChildState &s, const Object::Ptr &, Answer &) {
    s.net.reset();
}

void loUp(ChildState &, const Object::Ptr &, Answer &a) {
    a.error = linkUp("lo");
}

void portCreate(ChildState &s, const Object::Ptr &, Answer &a) {
    s.port =
        std::make_unique<Driver>(*s.setup.port, s.book, RKP_SIDE_CHILD, s.setup.params.stateDir);
    a.result = s.port->create(s.setup.portConfig);
    if (!a.result.ok()) {
        s.port.reset();
    }
}

void portInit(ChildState &s, const Object::Ptr &args, Answer &a) {
    a.result = s.port->initChild(stringMember(args, "opaque"));
}

void portRun(ChildState &s, const Object::Ptr &, Answer &a) {
    s.quit = Fd(eventfd(0, EFD_CLOEXEC));
    if (s.quit.get() < 0) {
        a.error = std::string("eventfd: ") + std::strerror(errno);
        return;
    }
    std::packaged_task<CallResult()> task([&s] { return s.port->runChild(s.quit.get()); });
    s.loop = task.get_future();
    std::thread(std::move(task)).detach();
}

void portStop(ChildState &s, const Object::Ptr &, Answer &a) {
    uint64_t one = 1;
    if (!s.loop.valid() || write(s.quit.get(), &one, sizeof(one)) != sizeof(one)) {
        a.error = "run_child is not running";
        return;
    }
    if (s.loop.wait_for(kLoopDeadline) != std::future_status::ready) {
        a.result.rc = -ETIMEDOUT;
        a.result.message = "run_child did not return within 10 s of quit_fd becoming readable";
        a.result.problems.push_back(a.result.message);
        s.port->abandon();
        return;
    }
    a.result = s.loop.get();
}

void portDestroy(ChildState &s, const Object::Ptr &, Answer &) {
    s.port.reset();
}

void echoStart(ChildState &, const Object::Ptr &, Answer &a) {
    uint16_t tcp = 0;
    uint16_t udp = 0;
    a.error = startEchoServers(&tcp, &udp);
    a.extra->set("tcp", tcp);
    a.extra->set("udp", udp);
}

using Handler = void (*)(ChildState &, const Object::Ptr &, Answer &);

// Which instance an op needs: a request for a missing one is the suite's own error.
bool hasInstanceFor(const ChildState &s, const std::string &op) {
    bool netOp = op.rfind("net.", 0) == 0 && op != "net.create" && op != "net.check";
    bool portOp = op.rfind("port.", 0) == 0 && op != "port.create";
    return (!netOp || s.net) && (!portOp || s.port);
}

const std::map<std::string, Handler> &handlers() {
    static const std::map<std::string, Handler> table = {
        {"net.create", netCreate}, {"net.prepare", netPrepare},   {"net.configure", netConfigure},
        {"net.check", netCheck},   {"net.teardown", netTeardown}, {"net.destroy", netDestroy},
        {"lo.up", loUp},           {"port.create", portCreate},   {"port.init", portInit},
        {"port.run", portRun},     {"port.stop", portStop},       {"port.destroy", portDestroy},
        {"echo.start", echoStart},
    };
    return table;
}

Object::Ptr encode(Answer &answer, LogBook &book) {
    Object::Ptr reply = answer.extra;
    reply->set("rc", answer.result.rc);
    reply->set("message", answer.result.message);
    reply->set("output", answer.result.output);
    reply->set("error", answer.error);
    Array::Ptr problems = new Array;
    for (const std::string &problem : answer.result.problems) {
        problems->add(problem);
    }
    reply->set("problems", problems);
    Array::Ptr logs = new Array;
    for (const LogLine &line : book.take()) {
        if (logs->size() < kMaxShippedLogLines) {
            Array::Ptr entry = new Array;
            entry->add(line.level);
            entry->add(line.text.substr(0, 2000));
            logs->add(entry);
        }
    }
    reply->set("logs", logs);
    return reply;
}

// Serves requests until "exit" or until the parent goes away.
[[noreturn]] void serve(ChildState &state, int channel) {
    for (;;) {
        std::string error;
        Object::Ptr request = receiveJson(channel, -1, &error);
        std::string op = stringMember(request, "op");
        if (!request || op == "exit") {
            if (request) {
                Answer answer;
                sendJson(channel, encode(answer, state.book));
            }
            _exit(0);
        }
        Answer answer;
        auto handler = handlers().find(op);
        if (handler == handlers().end()) {
            answer.error = "unknown op " + op;
        } else if (!hasInstanceFor(state, op)) {
            answer.error = op + ": the child has no instance for it";
        } else {
            handler->second(state, request->getObject("args"), answer);
        }
        if (!sendJson(channel, encode(answer, state.book))) {
            _exit(1);
        }
    }
}

[[noreturn]] void childMain(const ChildSetup &setup, int channel, pid_t parent) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) {
        _exit(1);
    }
    ChildState state{setup, LogBook(setup.printLevel), nullptr, nullptr, Fd(), {}};
    Answer ready;
    ready.error = enterNamespaces();
    sendJson(channel, encode(ready, state.book));
    if (!ready.error.empty()) {
        _exit(1);
    }
    serve(state, channel);
}

}  // namespace

std::unique_ptr<ChildHelper> ChildHelper::spawn(const ChildSetup &setup, LogBook &book,
                                                std::string *error) {
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
        *error = std::string("socketpair: ") + std::strerror(errno);
        return nullptr;
    }
    Fd mine(pair[0]);
    Fd theirs(pair[1]);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        *error = std::string("fork: ") + std::strerror(errno);
        return nullptr;
    }
    if (pid == 0) {
        mine = Fd();
        childMain(setup, theirs.get(), parent);
    }
    theirs = Fd();

    std::unique_ptr<ChildHelper> child(new ChildHelper(pid, std::move(mine), book));
    Object::Ptr ready = receiveJson(child->channel_.get(), kReplyTimeoutMs, error);
    if (!ready || !stringMember(ready, "error").empty()) {
        if (ready) {
            *error = "child process: " + stringMember(ready, "error");
        }
        return nullptr;
    }
    return child;
}

ChildHelper::~ChildHelper() {
    if (pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
}

Reply ChildHelper::call(const std::string &op, const Object::Ptr &args) {
    Object::Ptr request = new Object;
    request->set("op", op);
    request->set("args", args ? args : Object::Ptr(new Object));
    Reply reply;
    if (pid_ <= 0 || !sendJson(channel_.get(), request)) {
        reply.error = "child " + op + ": cannot send the request";
        return reply;
    }
    std::string error;
    reply.body = receiveJson(channel_.get(), kReplyTimeoutMs, &error);
    if (!reply.body) {
        reply.error = "child " + op + ": " + error;
        return reply;
    }

    reply.result.rc = intMember(reply.body, "rc", 0);
    reply.result.message = stringMember(reply.body, "message");
    reply.result.output = stringMember(reply.body, "output");
    reply.error = stringMember(reply.body, "error");
    Array::Ptr problems = reply.body->getArray("problems");
    for (size_t i = 0; problems && i < problems->size(); i++) {
        reply.result.problems.push_back("child: " + problems->getElement<std::string>(i));
    }
    std::vector<LogLine> lines;
    Array::Ptr logs = reply.body->getArray("logs");
    for (size_t i = 0; logs && i < logs->size(); i++) {
        Array::Ptr entry = logs->getArray(i);
        lines.push_back(
            {entry->getElement<uint32_t>(0), "child", entry->getElement<std::string>(1)});
    }
    book_.addPrinted(lines);
    return reply;
}

std::string ChildHelper::exit() {
    Reply reply = call("exit");
    int status = 0;
    pid_t reaped = waitpid(pid_, &status, 0);
    pid_ = -1;
    if (!reply.error.empty()) {
        return reply.error;
    }
    if (reaped < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        return "the child process did not exit cleanly";
    }
    return "";
}

const std::string &namespaceSupport() {
    static const std::string answer = [] {
        int pipeFds[2];
        if (pipe2(pipeFds, O_CLOEXEC) < 0) {
            return std::string("pipe: ") + std::strerror(errno);
        }
        Fd readEnd(pipeFds[0]);
        Fd writeEnd(pipeFds[1]);
        pid_t pid = fork();
        if (pid == 0) {
            std::string error = enterNamespaces();
            ssize_t ignored = write(writeEnd.get(), error.data(), error.size());
            (void)ignored;
            _exit(error.empty() ? 0 : 1);
        }
        writeEnd = Fd();
        char buffer[512] = "";
        ssize_t got = pid > 0 ? read(readEnd.get(), buffer, sizeof(buffer) - 1) : -1;
        if (pid > 0) {
            waitpid(pid, nullptr, 0);
        }
        return got > 0 ? "user namespaces are not available here: " + std::string(buffer, got)
                       : std::string();
    }();
    return answer;
}

}  // namespace rkp::conformance
