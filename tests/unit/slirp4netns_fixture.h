// Test support shared by the slirp4netns plugin tests: loading a plugin from the build tree, a
// host that records what plugins log, and a process in a network namespace of its own that
// follows commands (prepare the TAP through the plugin, configure the interface, run echo
// servers, dial out) so the tests can drive a real slirp4netns against it.
#pragma once

#include <arpa/inet.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/netlink.h"
#include "rootlesskit/rkp.h"

namespace rktest::slirp {

// The descriptor of build/plugins/<file>, or nullptr with *reason set when it is not built.
inline const rkp_plugin *loadPlugin(const std::string &file, std::string *reason) {
    std::string path = std::string(RK_TEST_PLUGIN_DIR) + "/" + file;
    void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        *reason = "plugin not built: " + path + ": " + dlerror();
        return nullptr;
    }
    auto entry = reinterpret_cast<rkp_plugin_entry_fn>(dlsym(handle, RKP_PLUGIN_ENTRY_SYMBOL));
    if (entry == nullptr) {
        *reason = "no " RKP_PLUGIN_ENTRY_SYMBOL " in " + path;
        return nullptr;
    }
    return entry(RKP_ABI_MAJOR, RKP_ABI_MINOR);
}

// An rkp_host that keeps every log line ("<level> <message>").
class RecordingHost {
public:
    RecordingHost(uint32_t side, const std::string &stateDir) : stateDir_(stateDir) {
        host_.struct_size = sizeof(rkp_host);
        host_.abi_major = RKP_ABI_MAJOR;
        host_.abi_minor = RKP_ABI_MINOR;
        host_.side = side;
        host_.ctx = this;
        host_.state_dir = stateDir_.c_str();
        host_.log = [](void *ctx, uint32_t level, const char *msg) {
            auto *self = static_cast<RecordingHost *>(ctx);
            std::lock_guard<std::mutex> lock(self->mutex_);
            self->lines_.push_back(std::to_string(level) + " " + msg);
        };
        host_.log_enabled = [](void *, uint32_t) { return 1; };
    }
    RecordingHost(const RecordingHost &) = delete;
    RecordingHost &operator=(const RecordingHost &) = delete;

    const rkp_host *get() const { return &host_; }

    std::string log() {
        std::lock_guard<std::mutex> lock(mutex_);
        std::string out;
        for (const std::string &line : lines_) {
            out += line + "\n";
        }
        return out;
    }

private:
    std::string stateDir_;
    rkp_host host_{};
    std::mutex mutex_;
    std::vector<std::string> lines_;
};

// An rkp_sink collecting into a string.
struct StringSink {
    std::string text;
    rkp_sink sink{this, [](void *ctx, const char *data, size_t len) {
                      static_cast<StringSink *>(ctx)->text.append(data, len);
                  }};
    const rkp_sink *get() const { return &sink; }
};

inline rkp_error emptyError() {
    rkp_error err{};
    err.struct_size = sizeof(rkp_error);
    return err;
}

// A temporary directory under /tmp (short, for unix socket paths), removed with its content.
class ScratchDir {
public:
    ScratchDir() {
        char templ[] = "/tmp/rks4-XXXXXX";
        path_ = mkdtemp(templ) != nullptr ? templ : "";
    }
    ~ScratchDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    const std::string &path() const { return path_; }

    // Writes an executable shell script name with body and returns its path.
    std::string script(const std::string &name, const std::string &body) const {
        std::string path = path_ + "/" + name;
        std::ofstream(path) << "#!/bin/sh\n" << body;
        chmod(path.c_str(), 0755);
        return path;
    }

private:
    std::string path_;
};

// PIDs of this process's children (zombies included: an unreaped child is a leak too) whose
// argv[0] ends in name ("" for every child).
inline std::vector<pid_t> childrenNamed(const std::string &name = "") {
    std::vector<pid_t> out;
    for (const auto &entry : std::filesystem::directory_iterator("/proc")) {
        std::string pidText = entry.path().filename();
        if (pidText.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        std::ifstream stat(entry.path() / "stat");
        std::string line;
        std::getline(stat, line);
        size_t close = line.rfind(')');
        if (close == std::string::npos || close + 2 > line.size()) {
            continue;
        }
        std::istringstream rest(line.substr(close + 2));
        char state;
        pid_t ppid = 0;
        rest >> state >> ppid;
        std::ifstream cmdline(entry.path() / "cmdline");
        std::string argv0;
        std::getline(cmdline, argv0, '\0');
        bool nameMatches = argv0.size() >= name.size() &&
                           argv0.compare(argv0.size() - name.size(), name.size(), name) == 0;
        if (ppid == getpid() && (name.empty() || nameMatches)) {
            out.push_back(std::stoi(pidText));
        }
    }
    return out;
}

// The NUL-separated argv of pid, joined with spaces.
inline std::string commandLine(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
    std::string arg;
    std::string out;
    while (std::getline(in, arg, '\0')) {
        out += (out.empty() ? "" : " ") + arg;
    }
    return out;
}

// Reads from a TCP connection until EOF or 5 s pass.
inline std::string readAll(int fd) {
    std::string out;
    char buf[4096];
    pollfd pfd{fd, POLLIN, 0};
    while (poll(&pfd, 1, 5000) > 0) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0) {
            break;
        }
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

// Connects to ip:port (3 s at most), sends payload, half-closes and returns the reply, or
// "error: <errno text>".
inline std::string tcpRoundTrip(const std::string &ip, int port, const std::string &payload) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
    int rc = connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr));
    if (rc != 0 && errno == EINPROGRESS) {
        pollfd pfd{fd, POLLOUT, 0};
        int err = ETIMEDOUT;
        socklen_t len = sizeof(err);
        if (poll(&pfd, 1, 3000) > 0) {
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        }
        errno = err;
        rc = err == 0 ? 0 : -1;
    }
    if (rc != 0) {
        std::string out = std::string("error: ") + std::strerror(errno);
        close(fd);
        return out;
    }
    fcntl(fd, F_SETFL, 0);
    ssize_t ignored = write(fd, payload.data(), payload.size());
    (void)ignored;
    shutdown(fd, SHUT_WR);
    std::string out = readAll(fd);
    close(fd);
    return out;
}

// Sends payload to ip:port over UDP and returns the first reply, or "error: ..." after 3 s.
inline std::string udpRoundTrip(const std::string &ip, int port, const std::string &payload) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
    sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr *>(&addr),
           sizeof(addr));
    pollfd pfd{fd, POLLIN, 0};
    std::string out = "error: no reply";
    if (poll(&pfd, 1, 3000) > 0) {
        char buf[2048];
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        out = n >= 0 ? std::string(buf, static_cast<size_t>(n)) : "error: recv";
    }
    close(fd);
    return out;
}

// A listening socket bound to ip:port (port 0: the kernel picks). Returns the fd, -1 on failure.
inline int listenOn(int type, const std::string &ip, int port, int *boundPort) {
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
    if (bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) != 0 ||
        (type == SOCK_STREAM && listen(fd, 16) != 0)) {
        close(fd);
        return -1;
    }
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len);
    if (boundPort != nullptr) {
        *boundPort = ntohs(addr.sin_port);
    }
    return fd;
}

// Echo servers on a detached thread: TCP echoes each connection to EOF, UDP each datagram. The
// thread ends when the process does.
inline void serveEcho(int fd, int type) {
    std::thread([fd, type] {
        char buf[4096];
        for (;;) {
            if (type == SOCK_DGRAM) {
                sockaddr_storage peer{};
                socklen_t len = sizeof(peer);
                ssize_t n =
                    recvfrom(fd, buf, sizeof(buf), 0, reinterpret_cast<sockaddr *>(&peer), &len);
                if (n > 0) {
                    sendto(fd, buf, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr *>(&peer),
                           len);
                }
                continue;
            }
            int conn = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
            if (conn < 0) {
                return;
            }
            std::string data = readAll(conn);
            ssize_t ignored = write(conn, data.data(), data.size());
            (void)ignored;
            close(conn);
        }
    }).detach();
}

// A forked process in a new network namespace (a new user namespace too when not root) that
// runs the commands the test sends it, one per SOCK_SEQPACKET message, and answers each:
//   prepare <ifname>             net plugin create(side child) + prepare_child
//   configure <if> <ip> <prefix> <gw> <mtu>   lo up, then the host's interface set-up
//   serve <tcp|udp> <ip> <port>  echo server
//   dial <ip> <port> <payload>   TCP round trip from inside
// Answers start with "ok" or "error". It exits when the test closes the socket.
class NetnsProcess {
public:
    explicit NetnsProcess(const rkp_plugin *netPlugin) {
        int fds[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) {
            return;
        }
        int pipeFds[2];
        if (pipe2(pipeFds, O_CLOEXEC) != 0) {
            return;
        }
        uid_t uid = getuid();
        gid_t gid = getgid();
        pid_ = fork();
        if (pid_ == 0) {
            close(fds[0]);
            close(pipeFds[0]);
            dieWithParent();
            bool ok = enterNamespaces(uid, gid);
            ssize_t ignored = write(pipeFds[1], ok ? "1" : "0", 1);
            (void)ignored;
            if (!ok) {
                _exit(1);
            }
            serve(fds[1], netPlugin);
            _exit(0);
        }
        close(fds[1]);
        close(pipeFds[1]);
        control_ = fds[0];
        char started = '0';
        ssize_t n = read(pipeFds[0], &started, 1);
        close(pipeFds[0]);
        started_ = n == 1 && started == '1';
    }

    ~NetnsProcess() {
        if (control_ >= 0) {
            close(control_);
        }
        if (pid_ > 0) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
    }
    NetnsProcess(const NetnsProcess &) = delete;
    NetnsProcess &operator=(const NetnsProcess &) = delete;

    bool started() const { return started_; }
    pid_t pid() const { return pid_; }

    // Sends a command and returns the answer ("error: timeout" after 20 s).
    std::string call(const std::string &command) {
        if (send(control_, command.data(), command.size(), MSG_NOSIGNAL) < 0) {
            return "error: send";
        }
        pollfd pfd{control_, POLLIN, 0};
        if (poll(&pfd, 1, 20000) <= 0) {
            return "error: timeout";
        }
        char buf[4096];
        ssize_t n = recv(control_, buf, sizeof(buf), 0);
        return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "error: closed";
    }

private:
    // The namespace process must not outlive a test binary that crashed.
    static void dieWithParent() {
        signal(SIGPIPE, SIG_IGN);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
    }

    static bool writeFile(const std::string &path, const std::string &text) {
        std::ofstream out(path);
        out << text;
        out.close();
        return static_cast<bool>(out);
    }

    static bool enterNamespaces(uid_t uid, gid_t gid) {
        if (geteuid() == 0) {
            return unshare(CLONE_NEWNET) == 0;
        }
        if (unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0) {
            return false;
        }
        return writeFile("/proc/self/setgroups", "deny") &&
               writeFile("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1") &&
               writeFile("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1");
    }

    static std::string statusText(const rootlesskit::Status &status) {
        return status.ok() ? "ok" : "error: " + status.message();
    }

    static std::string prepare(const rkp_plugin *plugin, const std::string &ifname) {
        static RecordingHost host(RKP_SIDE_CHILD, "/tmp");
        rkp_error err = emptyError();
        rkp_instance *inst = nullptr;
        if (plugin->create(host.get(), "{}", &inst, &err) != 0) {
            return std::string("error: ") + err.message;
        }
        rkp_net_params params{};
        params.struct_size = sizeof(params);
        params.ifname = ifname.c_str();
        params.mtu = 65520;
        params.state_dir = "/tmp";
        params.port_driver = "none";
        if (plugin->net->prepare_child(inst, &params, &err) != 0) {
            return std::string("error: ") + err.message;
        }
        return "ok";
    }

    static std::string configure(std::istringstream &args) {
        std::string ifname, ip, gateway;
        int prefix = 0;
        unsigned mtu = 0;
        args >> ifname >> ip >> prefix >> gateway >> mtu;
        rootlesskit::Status status = rootlesskit::netlinkLinkUp("lo");
        if (status.ok()) {
            status = rootlesskit::netlinkLinkUp(ifname);
        }
        if (status.ok()) {
            status = rootlesskit::netlinkSetMtu(ifname, mtu);
        }
        if (status.ok()) {
            status = rootlesskit::netlinkAddAddress(ifname, ip, prefix);
        }
        if (status.ok()) {
            status = rootlesskit::netlinkAddDefaultRoute(ifname, gateway);
        }
        return statusText(status);
    }

    static std::string handle(const std::string &command, const rkp_plugin *plugin) {
        std::istringstream args(command);
        std::string verb;
        args >> verb;
        if (verb == "prepare") {
            std::string ifname;
            args >> ifname;
            return prepare(plugin, ifname);
        }
        if (verb == "configure") {
            return configure(args);
        }
        if (verb == "serve") {
            std::string proto, ip;
            int port = 0;
            args >> proto >> ip >> port;
            int type = proto == "udp" ? SOCK_DGRAM : SOCK_STREAM;
            int fd = listenOn(type, ip, port, nullptr);
            if (fd < 0) {
                return std::string("error: ") + std::strerror(errno);
            }
            serveEcho(fd, type);
            return "ok";
        }
        if (verb == "dial") {
            std::string ip, payload;
            int port = 0;
            args >> ip >> port >> payload;
            return "ok " + tcpRoundTrip(ip, port, payload);
        }
        return "error: unknown command " + verb;
    }

    static void serve(int control, const rkp_plugin *plugin) {
        char buf[4096];
        ssize_t n;
        while ((n = recv(control, buf, sizeof(buf), 0)) > 0) {
            std::string reply = handle(std::string(buf, static_cast<size_t>(n)), plugin);
            send(control, reply.data(), reply.size(), MSG_NOSIGNAL);
        }
    }

    pid_t pid_ = -1;
    int control_ = -1;
    bool started_ = false;
};

}  // namespace rktest::slirp
