// End-to-end test of rootless Docker on our rootlesskit: Debian 12's docker.io (20.10) starts
// through its own /usr/share/docker.io/contrib/dockerd-rootless.sh, unmodified, as the
// unprivileged test user, with our rootlesskit and rootlessctl first on PATH; Debian's Go
// rootlesskit-docker-proxy publishes the containers' ports by calling our REST API.
//
// Everything stays on this machine: the image is Debian's busybox-static (unpacked by
// scripts/setup-docker.sh) plus a static UDP echo server, loaded with `docker import` and run
// with --pull=never; ports are published on 127.0.0.1 and ::1 only, and the containers only
// answer. Each test starts its own dockerd with HOME, XDG_RUNTIME_DIR and TMPDIR (where
// rootlesskit puts its state directory) in one temporary directory, and stops it the way a user
// does: SIGTERM to rootlesskit.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include "tests/e2e/net_clients.h"
#include "tests/support/process.h"

namespace rktest {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr const char *kRootlessScript = "/usr/share/docker.io/contrib/dockerd-rootless.sh";
// By full path: a machine may have another docker client earlier on PATH (/usr/local/bin).
constexpr const char *kDocker = "/usr/bin/docker";
constexpr const char *kImage = "rk-busybox:local";
constexpr const char *kPage = "served by busybox httpd in rootless docker\n";
constexpr int kUdpEchoPort = 5353;  // inside the container
constexpr milliseconds kDockerTimeout{60000};
constexpr milliseconds kStartTimeout{60000};
constexpr milliseconds kServeTimeout{15000};
// "Shuts everything down within a few seconds": dockerd stops its containers and containerd.
constexpr milliseconds kShutdownTimeout{10000};

// Where scripts/setup-docker.sh unpacked busybox-static and Debian's rootlesskit package.
std::string dockerTestDir() {
    const char *env = std::getenv("ROOTLESSKIT_DOCKER_TEST_DIR");
    return env != nullptr && *env != '\0' ? env : "/var/lib/rootlesskit-docker-test";
}

std::string busyboxStatic() {
    return dockerTestDir() + "/busybox-static/bin/busybox";
}

std::string dockerProxy() {
    return dockerTestDir() + "/rootlesskit-deb/usr/bin/rootlesskit-docker-proxy";
}

// scripts/test.sh (the CI command) sets ROOTLESSKIT_TEST_REQUIRE_DOCKER=1 after
// scripts/setup-docker.sh prepared the machine: a missing prerequisite then fails these tests
// instead of skipping them.
bool dockerRequired() {
    const char *env = std::getenv("ROOTLESSKIT_TEST_REQUIRE_DOCKER");
    return env != nullptr && std::string(env) == "1";
}

// Why these tests cannot run here; empty when everything is there.
std::string missingPrerequisite() {
    std::string reason;
    if (!testUser(&reason)) {
        return reason;
    }
    for (const char *program : {"rootlesskit", "rootlessctl", "rk-udp-echo"}) {
        if (access(binPath(program).c_str(), X_OK) != 0) {
            return std::string(program) + " is not built in " + binPath("");
        }
    }
    for (const std::string &path :
         {std::string(kRootlessScript), std::string(kDocker), std::string("/usr/sbin/dockerd"),
          busyboxStatic(), dockerProxy(), std::string("/usr/bin/slirp4netns")}) {
        if (access(path.c_str(), X_OK) != 0) {
            return path + " is missing (scripts/setup-docker.sh installs it)";
        }
    }
    return "";
}

std::string readFile(const std::string &path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

void writeFile(const std::string &path, const std::string &text) {
    std::ofstream(path) << text;
}

// Hands path to the test user, so that the programs it runs can write there.
void giveToTestUser(const std::string &path) {
    std::optional<TestUser> user = testUser(nullptr);
    if (geteuid() == 0 && user) {
        (void)!chown(path.c_str(), user->uid, user->gid);
    }
}

// The NUL-separated arguments of a process; empty when it is gone.
std::vector<std::string> commandLine(pid_t pid) {
    std::string raw = readFile("/proc/" + std::to_string(pid) + "/cmdline");
    std::vector<std::string> args;
    std::istringstream in(raw);
    std::string arg;
    while (std::getline(in, arg, '\0')) {
        args.push_back(arg);
    }
    return args;
}

// A process identified across PID reuse: its PID and start time (field 22 of its stat file).
struct ProcessId {
    pid_t pid = 0;
    unsigned long long start = 0;
    bool operator<(const ProcessId &other) const { return pid < other.pid; }
};

// Fields of /proc/<pid>/stat after the command name.
struct ProcessStat {
    char state = 0;
    pid_t ppid = 0;
    unsigned long long start = 0;
    std::string name;
};

std::optional<ProcessStat> processStat(pid_t pid) {
    std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
    size_t open = stat.find('(');
    size_t close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) {
        return std::nullopt;
    }
    ProcessStat out;
    out.name = stat.substr(open + 1, close - open - 1);
    std::istringstream fields(stat.substr(close + 2));
    fields >> out.state >> out.ppid;
    std::string skip;
    for (int field = 5; field < 22; ++field) {
        fields >> skip;
    }
    fields >> out.start;
    return out;
}

std::vector<pid_t> allPids() {
    std::vector<pid_t> pids;
    for (const auto &entry : fs::directory_iterator("/proc")) {
        std::string name = entry.path().filename();
        if (name.find_first_not_of("0123456789") == std::string::npos) {
            pids.push_back(std::stoi(name));
        }
    }
    return pids;
}

// The inode of pid's user namespace; 0 when it cannot be read.
ino_t userNamespace(pid_t pid) {
    struct stat st {};
    std::string path = "/proc/" + std::to_string(pid) + "/ns/user";
    return stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// Every process of one rootless Docker: rootlesskit (parent), its direct children (the child,
// slirp4netns) and everything in the child's user namespace (dockerd, containerd, the shims,
// the proxies, the containers).
std::set<ProcessId> processesOf(pid_t parent, pid_t child) {
    ino_t ns = userNamespace(child);
    std::set<ProcessId> found;
    for (pid_t pid : allPids()) {
        std::optional<ProcessStat> stat = processStat(pid);
        if (stat &&
            (pid == parent || stat->ppid == parent || (ns != 0 && userNamespace(pid) == ns))) {
            found.insert(ProcessId{pid, stat->start});
        }
    }
    return found;
}

// Those of processes that still run (the same PID with the same start time), as "PID (name)".
// A zombie has ended: orphans that die during the shutdown wait there until the host's init
// reaps them, which is not ours to wait for.
std::vector<std::string> stillRunning(const std::set<ProcessId> &processes) {
    std::vector<std::string> left;
    for (const ProcessId &p : processes) {
        std::optional<ProcessStat> now = processStat(p.pid);
        if (now && now->start == p.start && now->state != 'Z' && now->state != 'X') {
            left.push_back(std::to_string(p.pid) + " (" + now->name + ")");
        }
    }
    return left;
}

// Mount points in this (the host's) mount namespace at or below path.
std::vector<std::string> mountsUnder(const std::string &path) {
    std::vector<std::string> found;
    std::istringstream in(readFile("/proc/self/mountinfo"));
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string id, parent, device, root, mountPoint;
        fields >> id >> parent >> device >> root >> mountPoint;
        if (mountPoint.rfind(path, 0) == 0) {
            found.push_back(mountPoint);
        }
    }
    return found;
}

// True when ip:port can be bound right now with SO_REUSEADDR, as any server binds (so that a
// connection in TIME_WAIT does not count, but a listening or bound socket does).
bool canBind(const std::string &ip, int port, int type) {
    bool v6 = ip.find(':') != std::string::npos;
    int fd = socket(v6 ? AF_INET6 : AF_INET, type | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_storage storage{};
    socklen_t len = 0;
    if (v6) {
        auto *addr = reinterpret_cast<sockaddr_in6 *>(&storage);
        addr->sin6_family = AF_INET6;
        addr->sin6_port = htons(static_cast<uint16_t>(port));
        inet_pton(AF_INET6, ip.c_str(), &addr->sin6_addr);
        len = sizeof(*addr);
    } else {
        auto *addr = reinterpret_cast<sockaddr_in *>(&storage);
        addr->sin_family = AF_INET;
        addr->sin_port = htons(static_cast<uint16_t>(port));
        inet_pton(AF_INET, ip.c_str(), &addr->sin_addr);
        len = sizeof(*addr);
    }
    bool bound = bind(fd, reinterpret_cast<sockaddr *>(&storage), len) == 0;
    close(fd);
    return bound;
}

bool serves(const std::string &ip, int port) {
    return httpGet(ip, port).find(kPage) != std::string::npos;
}

bool eventuallyServes(const std::string &ip, int port) {
    return waitFor([&] { return serves(ip, port); }, kServeTimeout);
}

bool udpEchoes(int port) {
    UdpClient client("127.0.0.1", port);
    std::optional<std::string> reply = client.exchange("rootless docker udp", kServeTimeout);
    return reply && *reply == "rootless docker udp";
}

// One dockerd started by dockerd-rootless.sh as the test user, in its own temporary HOME,
// XDG_RUNTIME_DIR and TMPDIR, with a PATH whose first directory holds our rootlesskit and
// rootlessctl and Debian's rootlesskit-docker-proxy (and nothing of /usr/local). Its output goes
// to a log file: dockerd logs more than a pipe holds while nobody reads it.
class RootlessDocker {
public:
    explicit RootlessDocker(const std::map<std::string, std::string> &extraEnv)
        : env_(makeLayout(extraEnv)),
          process_({"/bin/sh", "-c", "exec \"$0\" >\"$1\" 2>&1", kRootlessScript, logPath()},
                   options(env_, home())) {}

    ~RootlessDocker() {
        if (process_.running()) {
            stop();
        }
        // Docker's data holds directories without write permission and files of subordinate
        // IDs: unprivileged, only a user namespace of the test user can remove them. As root,
        // TempDir removes them itself.
        if (geteuid() != 0) {
            runAsTestUser({binPath("rootlesskit"), "rm", "-rf", home()});
        }
    }

    // Waits until `docker version` gets an answer from the daemon. False (with the log in why)
    // when dockerd-rootless.sh ended or the daemon did not answer in time.
    bool waitReady(std::string *why) {
        std::string socket = runDir() + "/docker.sock";
        bool listening = waitFor([&] { return !process_.running() || unixSocketAccepts(socket); },
                                 kStartTimeout);
        RunResult version;
        for (int attempt = 0; listening && process_.running() && attempt < 20; ++attempt) {
            version = docker({"version", "--format", "{{.Server.Version}}"});
            if (version.exitCode == 0) {
                return true;
            }
        }
        *why = "dockerd did not answer: " + version.err + logTail();
        return false;
    }

    RunResult docker(const std::vector<std::string> &args) {
        std::vector<std::string> argv = {kDocker};
        argv.insert(argv.end(), args.begin(), args.end());
        return runAsTestUser(argv, options(env_, home()));
    }

    // Our rootlessctl on this rootlesskit's API socket.
    RunResult rootlessctl(const std::vector<std::string> &args) {
        std::vector<std::string> argv = {binPath("rootlessctl"), "--socket",
                                         stateDir() + "/api.sock"};
        argv.insert(argv.end(), args.begin(), args.end());
        return runAsTestUser(argv, options(env_, home()));
    }

    // The script execs rootlesskit, which keeps the PID.
    pid_t rootlesskitPid() const { return process_.pid(); }

    // rootlesskit's state directory, TMPDIR/rootlesskitXXXXXX; "" when there is none.
    std::string stateDir() const {
        std::error_code ec;
        for (const auto &entry : fs::directory_iterator(tmpDir(), ec)) {
            if (entry.path().filename().string().rfind("rootlesskit", 0) == 0) {
                return entry.path();
            }
        }
        return "";
    }

    pid_t childPid() const {
        std::ifstream in(stateDir() + "/child_pid");
        long pid = 0;
        in >> pid;
        return static_cast<pid_t>(pid);
    }

    // SIGTERM to rootlesskit, then waits up to kShutdownTimeout for it to exit. It is left
    // unreaped (a zombie) until stop() collects it, because reaping also SIGKILLs whatever is
    // left in its process group, which would hide what the shutdown left behind. True when it
    // exited in time.
    bool terminate() {
        process_.signal(SIGTERM);
        pid_t pid = process_.pid();
        return waitFor(
            [pid] {
                std::optional<ProcessStat> stat = processStat(pid);
                return !stat || stat->state == 'Z';
            },
            kShutdownTimeout);
    }

    // terminate(), then reaps rootlesskit (SIGKILL to its group if it is still running).
    RunResult stop() {
        terminate();
        return process_.wait(milliseconds(2000));
    }

    std::string log() const { return readFile(logPath()); }
    // The last lines of the log, for failure messages (the temporary directory goes with the
    // test).
    std::string logTail() const {
        std::string text = log();
        size_t from = text.size() > 4000 ? text.find('\n', text.size() - 4000) + 1 : 0;
        return "\n--- end of the output of dockerd-rootless.sh ---\n" + text.substr(from);
    }
    std::string root() const { return tmp_.path(); }
    std::string home() const { return tmp_.path() + "/home"; }
    std::string runDir() const { return tmp_.path() + "/run"; }
    std::string tmpDir() const { return tmp_.path() + "/tmp"; }
    std::string logPath() const { return tmp_.path() + "/dockerd.log"; }

private:
    TempDir tmp_;
    std::map<std::string, std::string> env_;
    BackgroundProcess process_;

    static RunOptions options(const std::map<std::string, std::string> &env,
                              const std::string &cwd) {
        RunOptions options;
        options.env = env;
        options.cwd = cwd;
        options.timeout = kDockerTimeout;
        return options;
    }

    // Creates home, run (0700, as a runtime directory is), tmp and bin, owned by the test user,
    // and returns the environment that points at them.
    std::map<std::string, std::string> makeLayout(const std::map<std::string, std::string> &extra) {
        std::string bin = tmp_.path() + "/bin";
        for (const std::string &dir : {home(), runDir(), tmpDir(), bin}) {
            fs::create_directory(dir);
            giveToTestUser(dir);
        }
        chmod(runDir().c_str(), 0700);
        fs::create_symlink(binPath("rootlesskit"), bin + "/rootlesskit");
        fs::create_symlink(binPath("rootlessctl"), bin + "/rootlessctl");
        fs::create_symlink(dockerProxy(), bin + "/rootlesskit-docker-proxy");

        std::map<std::string, std::string> env = {
            {"HOME", home()},
            {"XDG_RUNTIME_DIR", runDir()},
            {"TMPDIR", tmpDir()},
            {"PATH", bin + ":/usr/sbin:/usr/bin:/sbin:/bin"},
            {"DOCKER_HOST", "unix://" + runDir() + "/docker.sock"}};
        env.insert(extra.begin(), extra.end());
        return env;
    }
};

// Starts a rootless Docker, fails the test when it does not come up.
std::unique_ptr<RootlessDocker> startDocker(const std::map<std::string, std::string> &env) {
    auto docker = std::make_unique<RootlessDocker>(env);
    std::string why;
    EXPECT_TRUE(docker->waitReady(&why)) << why;
    return docker;
}

// Builds the image: busybox-static with the applets the tests call, the UDP echo server and a
// page for httpd, packed with root ownership and loaded with `docker import`.
void importImage(RootlessDocker &docker) {
    std::string rootfs = docker.root() + "/rootfs";
    fs::create_directories(rootfs + "/bin");
    fs::create_directories(rootfs + "/www");
    fs::copy_file(busyboxStatic(), rootfs + "/bin/busybox");
    fs::copy_file(binPath("rk-udp-echo"), rootfs + "/bin/rk-udp-echo");
    for (const char *applet : {"sh", "true", "false", "httpd", "echo", "cat", "sleep"}) {
        fs::create_symlink("busybox", rootfs + "/bin/" + applet);
    }
    writeFile(rootfs + "/www/index.html", kPage);

    std::string tar = docker.root() + "/rootfs.tar";
    RunOptions options;
    options.cwd = docker.root();
    RunResult packed = runAsTestUser(
        {"tar", "--owner=0", "--group=0", "--numeric-owner", "-C", rootfs, "-cf", tar, "."},
        options);
    ASSERT_EQ(packed.exitCode, 0) << packed.err;
    RunResult imported = docker.docker({"import", tar, kImage});
    ASSERT_EQ(imported.exitCode, 0) << imported.err;
}

// `docker run --rm [options] IMAGE command...`.
RunResult runImage(RootlessDocker &docker, const std::vector<std::string> &options,
                   const std::vector<std::string> &command) {
    std::vector<std::string> args = {"run", "--rm", "--pull=never"};
    args.insert(args.end(), options.begin(), options.end());
    args.push_back(kImage);
    args.insert(args.end(), command.begin(), command.end());
    return docker.docker(args);
}

// Starts the web container "web": httpd on 80 and the UDP echo server, published on the given
// host-side bindings ("127.0.0.1:PORT:80", ...).
void startWeb(RootlessDocker &docker, const std::vector<std::string> &bindings) {
    std::vector<std::string> args = {"run", "-d", "--init", "--name", "web", "--pull=never"};
    for (const std::string &binding : bindings) {
        args.push_back("-p");
        args.push_back(binding);
    }
    args.insert(args.end(),
                {kImage, "sh", "-c",
                 "rk-udp-echo " + std::to_string(kUdpEchoPort) + " & exec httpd -f -p 80 -h /www"});
    RunResult run = docker.docker(args);
    ASSERT_EQ(run.exitCode, 0) << run.err << docker.logTail();
}

// The ports in our API's table, as "proto parentIP:parentPort" (from `list-ports --json`).
std::set<std::string> publishedPorts(RootlessDocker &docker) {
    RunResult list = docker.rootlessctl({"list-ports", "--json"});
    EXPECT_EQ(list.exitCode, 0) << list.err;
    std::set<std::string> ports;
    std::istringstream lines(list.out);
    std::string line;
    while (std::getline(lines, line)) {
        auto status = Poco::JSON::Parser().parse(line).extract<Poco::JSON::Object::Ptr>();
        auto spec = status->getObject("spec");
        ports.insert(spec->getValue<std::string>("proto") + " " +
                     spec->getValue<std::string>("parentIP") + ":" +
                     std::to_string(spec->getValue<int>("parentPort")));
    }
    return ports;
}

// Whether a rootlesskit-docker-proxy for host port `port` is running.
bool proxyRunningFor(int port) {
    for (pid_t pid : allPids()) {
        std::vector<std::string> args = commandLine(pid);
        if (!args.empty() && fs::path(args[0]).filename() == "rootlesskit-docker-proxy" &&
            std::find(args.begin(), args.end(), std::to_string(port)) != args.end()) {
            return true;
        }
    }
    return false;
}

// The arguments of the slirp4netns that rootlesskit (parentPid) started; empty when none runs.
std::vector<std::string> slirp4netnsArgs(pid_t parentPid) {
    for (pid_t pid : allPids()) {
        std::optional<ProcessStat> stat = processStat(pid);
        if (stat && stat->ppid == parentPid && stat->name == "slirp4netns") {
            return commandLine(pid);
        }
    }
    return {};
}

bool contains(const std::vector<std::string> &args, const std::string &arg) {
    return std::find(args.begin(), args.end(), arg) != args.end();
}

// The rootlesskit that dockerd-rootless.sh started is ours, with the script's usual flags, and
// the slirp4netns it started is sandboxed and under seccomp when `protect` is "auto" (slirp4netns
// 1.2.0 supports both) and not when it is "false".
void expectOurRootlesskit(RootlessDocker &docker, const std::string &portDriver,
                          const std::string &mtu = "65520", const std::string &protect = "auto") {
    std::error_code ec;
    fs::path exe =
        fs::read_symlink("/proc/" + std::to_string(docker.rootlesskitPid()) + "/exe", ec);
    EXPECT_EQ(exe, fs::canonical(binPath("rootlesskit")));
    std::vector<std::string> args = commandLine(docker.rootlesskitPid());
    std::vector<std::string> flags = {"--net=slirp4netns", "--disable-host-loopback",
                                      "--copy-up=/etc", "--copy-up=/run", "--propagation=rslave"};
    flags.push_back("--mtu=" + mtu);
    flags.push_back("--port-driver=" + portDriver);
    flags.push_back("--slirp4netns-sandbox=" + protect);
    flags.push_back("--slirp4netns-seccomp=" + protect);
    for (const std::string &flag : flags) {
        EXPECT_TRUE(contains(args, flag)) << flag;
    }
    std::vector<std::string> slirp = slirp4netnsArgs(docker.rootlesskitPid());
    ASSERT_FALSE(slirp.empty()) << "no slirp4netns runs under rootlesskit";
    auto mtuFlag = std::find(slirp.begin(), slirp.end(), "--mtu");
    ASSERT_NE(mtuFlag, slirp.end());
    ASSERT_NE(mtuFlag + 1, slirp.end());
    EXPECT_EQ(*(mtuFlag + 1), mtu);
    EXPECT_EQ(contains(slirp, "--enable-sandbox"), protect != "false");
    EXPECT_EQ(contains(slirp, "--enable-seccomp"), protect != "false");
}

// SIGTERM to rootlesskit ends everything within a few seconds: no process of this Docker left,
// no state directory, no mount on the host, and dockerd went through its own clean shutdown
// (it removes docker.pid last).
void stopAndExpectNothingLeft(RootlessDocker &docker) {
    std::set<ProcessId> processes = processesOf(docker.rootlesskitPid(), docker.childPid());
    std::string stateDir = docker.stateDir();
    ASSERT_FALSE(stateDir.empty());

    EXPECT_TRUE(docker.terminate()) << "rootlesskit still ran after SIGTERM" << docker.logTail();
    // What was still ending as rootlesskit exited (a proxy killed on its parent's death) gets
    // a moment; anything alive after that was left behind.
    waitFor([&] { return stillRunning(processes).empty(); }, milliseconds(2000));
    EXPECT_EQ(stillRunning(processes), std::vector<std::string>{});
    RunResult stopped = docker.stop();
    EXPECT_EQ(stopped.exitCode, 0) << docker.logTail();

    EXPECT_FALSE(fs::exists(stateDir)) << stateDir;
    EXPECT_EQ(mountsUnder(docker.root()), std::vector<std::string>{});
    EXPECT_EQ(mountsUnder(stateDir), std::vector<std::string>{});
    EXPECT_FALSE(fs::exists(docker.runDir() + "/docker.pid")) << docker.logTail();
}

class RootlessDockerTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string missing = missingPrerequisite();
        if (!missing.empty() && dockerRequired()) {
            FAIL() << missing << " (ROOTLESSKIT_TEST_REQUIRE_DOCKER=1)";
        }
        if (!missing.empty()) {
            GTEST_SKIP() << missing;
        }
    }
};

// The default set-up (--port-driver=builtin): docker info, exit codes, TCP on 127.0.0.1 and
// ::1, UDP, stop and start, all through rootlesskit-docker-proxy and our API; then shutdown.
TEST_F(RootlessDockerTest, BuiltinPortDriverRunsContainersAndPublishesPorts) {
    auto docker = startDocker({});
    ASSERT_FALSE(HasFailure());
    expectOurRootlesskit(*docker, "builtin");
    // The script is Debian's as packaged: dpkg names every file whose checksum differs.
    RunResult verify = runAsTestUser({"dpkg", "--verify", "docker.io"});
    EXPECT_EQ(verify.out.find("dockerd-rootless.sh"), std::string::npos) << verify.out;
    RunResult info = docker->docker({"info", "--format", "{{json .SecurityOptions}}"});
    EXPECT_NE(info.out.find("name=rootless"), std::string::npos) << info.out << info.err;

    importImage(*docker);
    ASSERT_FALSE(HasFailure());
    RunResult ran = runImage(*docker, {}, {"true"});
    EXPECT_EQ(ran.exitCode, 0) << ran.err;
    ran = runImage(*docker, {}, {"false"});
    EXPECT_EQ(ran.exitCode, 1) << ran.err;
    ran = runImage(*docker, {}, {"sh", "-c", "exit 42"});
    EXPECT_EQ(ran.exitCode, 42) << ran.err;

    int tcp = freePort(false);
    int udp = freePort(true);
    std::string tcpPort = std::to_string(tcp);
    std::string udpPort = std::to_string(udp);
    startWeb(*docker, {"127.0.0.1:" + tcpPort + ":80", "[::1]:" + tcpPort + ":80",
                       "127.0.0.1:" + udpPort + ":" + std::to_string(kUdpEchoPort) + "/udp"});
    ASSERT_FALSE(HasFailure());
    EXPECT_TRUE(eventuallyServes("127.0.0.1", tcp));
    EXPECT_TRUE(eventuallyServes("::1", tcp));
    EXPECT_TRUE(udpEchoes(udp));
    std::set<std::string> expected = {"tcp4 127.0.0.1:" + tcpPort, "tcp6 ::1:" + tcpPort,
                                      "udp4 127.0.0.1:" + udpPort};
    EXPECT_EQ(publishedPorts(*docker), expected);
    EXPECT_TRUE(proxyRunningFor(tcp) && proxyRunningFor(udp));

    // docker stop returns once the proxies have removed their ports: free at once.
    RunResult stopped = docker->docker({"stop", "web"});
    ASSERT_EQ(stopped.exitCode, 0) << stopped.err;
    EXPECT_TRUE(canBind("127.0.0.1", tcp, SOCK_STREAM));
    EXPECT_TRUE(canBind("::1", tcp, SOCK_STREAM));
    EXPECT_TRUE(canBind("127.0.0.1", udp, SOCK_DGRAM));
    EXPECT_EQ(publishedPorts(*docker), std::set<std::string>{});

    RunResult started = docker->docker({"start", "web"});
    ASSERT_EQ(started.exitCode, 0) << started.err;
    EXPECT_TRUE(eventuallyServes("127.0.0.1", tcp));
    EXPECT_TRUE(eventuallyServes("::1", tcp));
    EXPECT_TRUE(udpEchoes(udp));
    EXPECT_EQ(publishedPorts(*docker), expected);

    stopAndExpectNothingLeft(*docker);
}

// DOCKERD_ROOTLESS_ROOTLESSKIT_PORT_DRIVER=slirp4netns, with the network driver, the MTU,
// slirp4netns's sandbox and seccomp and the extra flags overridden too: TCP on 127.0.0.1,
// forwarded by slirp4netns to the network's child IP. Not tried here, as upstream cannot do them
// either: IPv6 (the driver's protocols are tcp, tcp4, udp, udp4, so the proxy skips [::1] with a
// warning) and UDP (the script's --disable-host-loopback makes slirp4netns drop the replies,
// which go to the gateway address that stands for the host's loopback).
TEST_F(RootlessDockerTest, Slirp4netnsPortDriverPublishesTcp) {
    auto docker = startDocker({{"DOCKERD_ROOTLESS_ROOTLESSKIT_PORT_DRIVER", "slirp4netns"},
                               {"DOCKERD_ROOTLESS_ROOTLESSKIT_NET", "slirp4netns"},
                               {"DOCKERD_ROOTLESS_ROOTLESSKIT_MTU", "1500"},
                               {"DOCKERD_ROOTLESS_ROOTLESSKIT_SLIRP4NETNS_SANDBOX", "false"},
                               {"DOCKERD_ROOTLESS_ROOTLESSKIT_SLIRP4NETNS_SECCOMP", "false"},
                               {"DOCKERD_ROOTLESS_ROOTLESSKIT_FLAGS", "--debug"}});
    ASSERT_FALSE(HasFailure());
    expectOurRootlesskit(*docker, "slirp4netns", "1500", "false");
    std::vector<std::string> args = commandLine(docker->rootlesskitPid());
    EXPECT_NE(std::find(args.begin(), args.end(), "--debug"), args.end());
    importImage(*docker);
    ASSERT_FALSE(HasFailure());
    // A container on the host network shares rootlesskit's network namespace.
    RunResult mtu = runImage(*docker, {"--network=host"}, {"cat", "/sys/class/net/tap0/mtu"});
    EXPECT_EQ(mtu.out, "1500\n") << mtu.err;

    int tcp = freePort(false);
    std::string tcpPort = std::to_string(tcp);
    startWeb(*docker, {"127.0.0.1:" + tcpPort + ":80"});
    ASSERT_FALSE(HasFailure());
    EXPECT_TRUE(eventuallyServes("127.0.0.1", tcp));
    EXPECT_EQ(publishedPorts(*docker), std::set<std::string>{"tcp4 127.0.0.1:" + tcpPort});

    RunResult stopped = docker->docker({"stop", "web"});
    ASSERT_EQ(stopped.exitCode, 0) << stopped.err;
    EXPECT_TRUE(canBind("127.0.0.1", tcp, SOCK_STREAM));
    RunResult started = docker->docker({"start", "web"});
    ASSERT_EQ(started.exitCode, 0) << started.err;
    EXPECT_TRUE(eventuallyServes("127.0.0.1", tcp));

    stopAndExpectNothingLeft(*docker);
}

// DOCKERD_ROOTLESS_ROOTLESSKIT_PORT_DRIVER=none: nothing is published on the host, but
// `docker run -p` still works. Debian's rootlesskit-docker-proxy (1.1.0) crashes on a /v1/info
// without "portDriver" (dockerd then fails the run with "Error starting userland proxy: ");
// ours names the driver with no protocols, which the proxy skips with a warning.
TEST_F(RootlessDockerTest, PortDriverNoneKeepsDockersProxyWorking) {
    auto docker = startDocker({{"DOCKERD_ROOTLESS_ROOTLESSKIT_PORT_DRIVER", "none"}});
    ASSERT_FALSE(HasFailure());
    expectOurRootlesskit(*docker, "none");
    importImage(*docker);
    ASSERT_FALSE(HasFailure());

    int tcp = freePort(false);
    RunResult run = runImage(*docker, {"-p", "127.0.0.1:" + std::to_string(tcp) + ":80"}, {"true"});
    EXPECT_EQ(run.exitCode, 0) << run.err;
    EXPECT_EQ(docker->log().find("userland proxy"), std::string::npos) << docker->logTail();
    EXPECT_TRUE(canBind("127.0.0.1", tcp, SOCK_STREAM));
    RunResult list = docker->rootlessctl({"list-ports"});
    EXPECT_EQ(list.err, "error: no PortDriver is available\n");

    stopAndExpectNothingLeft(*docker);
}

}  // namespace
}  // namespace rktest
