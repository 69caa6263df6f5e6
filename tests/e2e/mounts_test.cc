// End-to-end tests of the mount options: --copy-up, --propagation, /sys for a new network
// namespace. The real rootlesskit runs as the unprivileged test user; the propagation tests also
// mount on the host (as root), either below a temporary directory they make shared themselves or
// in a mount namespace of their own whose "/" they make shared or private, so they do not depend
// on the propagation of the machine's "/".
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/mounts.h"
#include "tests/support/process.h"

namespace rktest {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

#define REQUIRE_TEST_USER()                               \
    std::string skipReason;                               \
    std::optional<TestUser> user = testUser(&skipReason); \
    if (!user) {                                          \
        GTEST_SKIP() << skipReason;                       \
    }

// Runs "rootlesskit <flags> sh -c <script>" as the test user.
RunResult runInside(const std::vector<std::string> &flags, const std::string &script,
                    const std::map<std::string, std::string> &env = {}) {
    std::vector<std::string> argv = {binPath("rootlesskit")};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.insert(argv.end(), {"sh", "-c", script});
    RunOptions options;
    options.env = env;
    options.timeout = milliseconds(60000);
    return runAsTestUser(argv, options);
}

std::string readFile(const std::string &path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void writeFile(const std::string &path, const std::string &text) {
    std::ofstream(path) << text;
}

size_t countOf(const std::string &text, const std::string &needle) {
    size_t count = 0;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
        ++count;
    }
    return count;
}

std::vector<std::string> lines(const std::string &text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        out.push_back(line);
    }
    return out;
}

// Hands a tree made by the test (possibly as root) to the test user.
void giveToTestUser(const std::string &path, const TestUser &user) {
    for (const auto &entry : fs::recursive_directory_iterator(path)) {
        (void)!lchown(entry.path().c_str(), user.uid, user.gid);
    }
    (void)!lchown(path.c_str(), user.uid, user.gid);
}

// The sorted entries of a directory listing printed by ls, one per line.
std::vector<std::string> listing(const std::string &dir) {
    std::vector<std::string> names;
    for (const auto &entry : fs::directory_iterator(dir)) {
        names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
}

// The slirp4netns network driver is a plugin and needs the helper binary.
std::string slirpMissing(const RunResult &result) {
    if (std::system("command -v slirp4netns >/dev/null 2>&1") != 0) {
        return "slirp4netns is not installed";
    }
    if (result.err.find("no plugin rkp-net-slirp4netns.so") != std::string::npos) {
        return "the slirp4netns plugin is not built";
    }
    return "";
}

// ---------------------------------------------------------------------------------------------
// --copy-up

TEST(CopyUpRunTest, EtcEntriesCanBeReplacedWithoutTouchingTheHost) {
    REQUIRE_TEST_USER();
    if (!fs::exists("/etc/resolv.conf")) {
        GTEST_SKIP() << "the host has no /etc/resolv.conf to replace";
    }
    std::string before = readFile("/etc/resolv.conf");
    RunResult result =
        runInside({"--copy-up=/etc"},
                  "rm /etc/resolv.conf && echo x > /etc/resolv.conf && cat /etc/resolv.conf");
    EXPECT_EQ(result.exitCode, 0) << result.err;
    EXPECT_EQ(result.out, "x\n");
    EXPECT_EQ(readFile("/etc/resolv.conf"), before);
}

// An entry of /run (made here as root, owned by the test user, who could change it) is removed
// and recreated inside, as a container engine does with /run/docker; the host's stays as it was.
TEST(CopyUpRunTest, RunEntriesCanBeRemovedAndRecreatedWithoutTouchingTheHost) {
    REQUIRE_TEST_USER();
    if (geteuid() != 0) {
        GTEST_SKIP() << "making an entry of /run needs root";
    }
    std::string name = "/run/rkt-copyup-" + std::to_string(getpid());
    fs::create_directory(name);
    writeFile(name + "/file", "host\n");
    giveToTestUser(name, *user);
    std::string script = "cat " + name + "/file && rm -r " + name + " && mkdir " + name +
                         " && echo inside > " + name + "/file && echo new > " + name +
                         "/other && cat " + name + "/file && ls " + name;
    RunResult result = runInside({"--copy-up=/etc", "--copy-up=/run"}, script);
    std::vector<std::string> after = listing(name);
    std::string content = readFile(name + "/file");
    fs::remove_all(name);
    EXPECT_EQ(result.exitCode, 0) << result.err;
    EXPECT_EQ(result.out, "host\ninside\nfile\nother\n");
    EXPECT_EQ(after, std::vector<std::string>{"file"});
    EXPECT_EQ(content, "host\n");
}

TEST(CopyUpRunTest, EntriesAreSymlinksIntoTheHiddenCopyAndSymlinksKeepTheirTargets) {
    REQUIRE_TEST_USER();
    RunResult result = runInside({"--copy-up=/etc"},
                                 "readlink /etc/hostname; readlink /etc/mtab; "
                                 "head -n 1 /etc/mtab | grep -c . ; stat -c %a /etc");
    ASSERT_EQ(result.exitCode, 0) << result.err;
    std::vector<std::string> out = lines(result.out);
    ASSERT_EQ(out.size(), 4u) << result.out;
    EXPECT_TRUE(std::regex_match(out[0], std::regex(R"(\.ro[A-Za-z0-9]{6}/hostname)"))) << out[0];
    if (fs::is_symlink("/etc/mtab")) {
        EXPECT_EQ(out[1], fs::read_symlink("/etc/mtab").string()) << "mtab keeps its target";
    }
    EXPECT_EQ(out[2], "1") << "/etc/mtab resolves inside";
    // The tmpfs has /etc's permission bits, not tmpfs's default 1777.
    struct stat st;
    ASSERT_EQ(stat("/etc", &st), 0);
    std::ostringstream mode;
    mode << std::oct << (st.st_mode & 07777);
    EXPECT_EQ(out[3], mode.str());
}

// A directory of the test user's with relative symlinks below its top level: one climbing to
// the copied-up directory, one climbing out of it, one staying in its subdirectory.
class UserTree {
public:
    explicit UserTree(const TestUser &user) : dir_(tmp_.path() + "/d") {
        fs::create_directories(dir_ + "/sub/deep");
        writeFile(dir_ + "/file", "top\n");
        writeFile(dir_ + "/control", "top\n");
        writeFile(tmp_.path() + "/outside", "outside\n");
        writeFile(dir_ + "/sub/x", "inner\n");
        fs::create_symlink("../file", dir_ + "/sub/up");
        fs::create_symlink("../../../outside", dir_ + "/sub/deep/out");
        fs::create_symlink("x", dir_ + "/sub/in");
        fs::create_symlink("../outside", dir_ + "/mtab");  // as /etc/mtab -> ../proc/self/mounts
        giveToTestUser(tmp_.path(), user);
    }
    const std::string &dir() const { return dir_; }
    const std::string &tmp() const { return tmp_.path(); }

private:
    TempDir tmp_;
    std::string dir_;
};

TEST(CopyUpRunTest, RelativeSymlinksInSubdirectoriesStillResolve) {
    REQUIRE_TEST_USER();
    UserTree tree(*user);
    const std::string &d = tree.dir();
    RunResult result = runInside(
        {"--copy-up=" + d}, "cat " + d + "/sub/up " + d + "/sub/deep/out " + d + "/sub/in " + d +
                                "/mtab && rm " + d + "/file && echo new > " + d + "/file && cat " +
                                d + "/sub/up");
    EXPECT_EQ(result.exitCode, 0) << result.err;
    // The last line: the symlink now names the replaced file, as it would on the host.
    EXPECT_EQ(result.out, "top\noutside\ninner\noutside\nnew\n");
    EXPECT_EQ(readFile(d + "/file"), "top\n");
}

// The child's temporary mount points in the host's /tmp.
std::set<std::string> mountScratchDirs() {
    std::set<std::string> found;
    for (const auto &entry : fs::directory_iterator("/tmp")) {
        if (entry.path().filename().string().rfind("rootlesskit-m", 0) == 0) {
            found.insert(entry.path().string());
        }
    }
    return found;
}

// The scratch mount point a copy-up needs lives in the host's /tmp; the parent makes it and
// removes it, so a run stopped while the child copies up leaves nothing there.
TEST(CopyUpRunTest, RunStoppedDuringCopyUpLeavesNoScratchDirectory) {
    REQUIRE_TEST_USER();
    UserTree tree(*user);
    fs::create_directory(tree.dir() + "/many");
    for (int i = 0; i < 20000; ++i) {
        writeFile(tree.dir() + "/many/f" + std::to_string(i), "");
    }
    giveToTestUser(tree.tmp(), *user);
    std::set<std::string> before = mountScratchDirs();

    BackgroundProcess run({binPath("rootlesskit"), "--copy-up=" + tree.dir() + "/many", "true"});
    std::string ours;
    ASSERT_TRUE(waitFor([&] {
        for (const std::string &dir : mountScratchDirs()) {
            if (before.count(dir) == 0) {
                ours = dir;
            }
        }
        return !ours.empty() || !run.running();
    }));
    run.signal(SIGTERM);
    run.wait(milliseconds(30000));

    if (ours.empty()) {
        GTEST_SKIP() << "the run ended before its scratch directory could be seen";
    }
    EXPECT_FALSE(fs::exists(ours)) << ours << " was left behind";
}

// Once the command runs, the scratch directory is gone already: a run whose parent is killed
// later leaves nothing in /tmp.
TEST(CopyUpRunTest, NoScratchDirectoryRemainsOnceTheCommandRuns) {
    REQUIRE_TEST_USER();
    UserTree tree(*user);
    std::set<std::string> before = mountScratchDirs();
    std::string stateDir = tree.tmp() + "/state";

    BackgroundProcess run({binPath("rootlesskit"), "--state-dir=" + stateDir, "--net=none",
                           "--copy-up=" + tree.dir(), "sleep", "600"});
    ASSERT_TRUE(waitFor([&] { return fs::exists(stateDir + "/child_pid") || !run.running(); }));
    ASSERT_TRUE(run.running()) << run.errSoFar();
    std::set<std::string> during = mountScratchDirs();
    run.signal(SIGTERM);
    run.wait(milliseconds(30000));

    for (const std::string &dir : during) {
        EXPECT_EQ(before.count(dir), 1u) << dir << " is still there while the command runs";
    }
}

TEST(CopyUpRunTest, InPlaceWritesToTheOriginalsFailWithErofs) {
    REQUIRE_TEST_USER();
    UserTree tree(*user);
    const std::string &d = tree.dir();
    struct stat st;
    ASSERT_EQ(stat((d + "/file").c_str(), &st), 0);
    ASSERT_EQ(st.st_uid, user->uid) << "the user owns the host's file";

    std::string write = "if echo more >> " + d + "/file; then echo wrote; else echo refused; fi";
    RunResult copied = runInside({"--copy-up=" + d}, write + "; rm " + d + "/file && echo new > " +
                                                         d + "/file && cat " + d + "/file");
    EXPECT_EQ(copied.exitCode, 0) << copied.err;
    EXPECT_EQ(copied.out, "refused\nnew\n");
    EXPECT_NE(copied.err.find("Read-only file system"), std::string::npos) << copied.err;
    EXPECT_EQ(readFile(d + "/file"), "top\n");

    // The same write without copy-up reaches the host's file: the refusal above is copy-up's.
    RunResult plain = runInside({}, "echo more >> " + d + "/control");
    EXPECT_EQ(plain.exitCode, 0) << plain.err;
    EXPECT_EQ(readFile(d + "/control"), "top\nmore\n");
}

TEST(CopyUpRunTest, StateDirAndRuntimeDirBelowACopiedUpDirStayWritable) {
    REQUIRE_TEST_USER();
    UserTree tree(*user);
    const std::string &d = tree.dir();
    fs::create_directories(d + "/xdg");
    giveToTestUser(d + "/xdg", *user);
    RunResult result = runInside({"--state-dir=" + d + "/state", "--copy-up=" + d},
                                 "echo s > $ROOTLESSKIT_STATE_DIR/probe && "
                                 "cat $ROOTLESSKIT_STATE_DIR/probe && "
                                 "echo x > $XDG_RUNTIME_DIR/shared && "
                                 "(echo y >> " +
                                     d + "/file 2>/dev/null || echo refused)",
                                 {{"XDG_RUNTIME_DIR", d + "/xdg"}});
    EXPECT_EQ(result.exitCode, 0) << result.err;
    EXPECT_EQ(result.out, "s\nrefused\n");
    // Written through to the host, where a client of the command would look for it.
    EXPECT_EQ(readFile(d + "/xdg/shared"), "x\n");
}

TEST(CopyUpRunTest, ImpossibleDirectoriesAreRefused) {
    REQUIRE_TEST_USER();
    struct Case {
        std::string dir;
        std::string error;
    };
    std::vector<Case> cases = {
        {"/tmp", "/tmp cannot be copied up"},
        {"/tmp/", "/tmp cannot be copied up"},
        {"/nonexistent-rk", "copy-up /nonexistent-rk: no such file or directory"},
        {"/etc/hostname", "copy-up /etc/hostname: not a directory"},
        {"/proc", "copy-up /proc: a proc file system cannot be copied up"},
        {"/sys", "copy-up /sys: a sysfs file system cannot be copied up"},
    };
    // What a symlink names counts: one to /tmp is refused as /tmp is.
    TempDir tmp;
    std::string link = tmp.path() + "/t";
    fs::create_symlink("/tmp", link);
    cases.push_back({link, "copy-up " + link + " (it resolves to /tmp): /tmp cannot be copied up"});
    // A directory the user cannot list (made by root) could not be filled with its entries.
    std::string closed = tmp.path() + "/closed";
    fs::create_directory(closed);
    chmod(closed.c_str(), 0700);
    if (geteuid() == 0) {
        cases.push_back({closed, "copy-up " + closed + ": cannot list it: permission denied"});
    }
    for (const Case &c : cases) {
        RunResult result = runInside({"--copy-up=" + c.dir}, "echo ran");
        EXPECT_EQ(result.exitCode, 1) << c.dir;
        EXPECT_EQ(result.out, "") << c.dir;
        EXPECT_NE(result.err.find(c.error), std::string::npos) << c.dir << ": " << result.err;
    }
}

TEST(CopyUpRunTest, RunCopiesUpWithEachNonSharedPropagation) {
    REQUIRE_TEST_USER();
    for (const char *mode : {"private", "rprivate", "slave", "rslave"}) {
        RunResult result =
            runInside({std::string("--propagation=") + mode, "--copy-up=/run"}, "echo test");
        EXPECT_EQ(result.exitCode, 0) << mode << ": " << result.err;
        EXPECT_EQ(result.out, "test\n") << mode;
    }
    RunResult shared = runInside({"--propagation=rshared", "--copy-up=/run"}, "echo test");
    EXPECT_EQ(shared.exitCode, 1);
    EXPECT_NE(shared.err.find("propagation rshared does not support copy-up driver tmpfs+symlink"),
              std::string::npos)
        << shared.err;
}

TEST(CopyUpRunTest, EtcWithANetworkGetsRegularResolvConfAndHosts) {
    REQUIRE_TEST_USER();
    std::string script =
        "test -f /etc/resolv.conf && test ! -L /etc/resolv.conf && test ! -L /etc/hosts && "
        "cat /etc/resolv.conf && tail -n 1 /etc/hosts";
    std::vector<std::string> net = {"--net=slirp4netns", "--disable-host-loopback"};
    std::vector<std::string> flags = net;
    flags.push_back("--copy-up=/etc");
    RunResult copied = runInside(flags, script);
    std::string missing = slirpMissing(copied);
    if (!missing.empty()) {
        GTEST_SKIP() << missing;
    }
    EXPECT_EQ(copied.exitCode, 0) << copied.err;
    EXPECT_EQ(lines(copied.out).at(0), "nameserver 10.0.2.3") << copied.out;
    char hostname[256] = {};
    gethostname(hostname, sizeof hostname - 1);
    EXPECT_NE(copied.out.find(hostname), std::string::npos) << copied.out;
    EXPECT_EQ(copied.err.find("without --copy-up=/etc"), std::string::npos) << copied.err;

    // Without a copied-up /etc the bind mounts pin the host's inodes: warned once.
    RunResult plain = runInside(net, "cat /etc/resolv.conf");
    EXPECT_EQ(plain.exitCode, 0) << plain.err;
    EXPECT_EQ(plain.out, "nameserver 10.0.2.3\n");
    EXPECT_EQ(countOf(plain.err, "without --copy-up=/etc"), 1u) << plain.err;
}

// ---------------------------------------------------------------------------------------------
// /sys

TEST(SysRunTest, NewNetworkNamespaceGetsItsOwnSysWithTheCgroupMounts) {
    REQUIRE_TEST_USER();
    // The interfaces, then /sys/fs/cgroup, then the cgroup2 hierarchy's files: a fresh sysfs
    // has /sys/fs/cgroup empty; on a hybrid host the hierarchies are mounts below it.
    std::string script =
        "ls /sys/class/net; echo --; ls /sys/fs/cgroup; echo --; ls /sys/fs/cgroup/$CG";
    std::string cgroups;
    for (const std::string &name : listing("/sys/fs/cgroup")) {
        cgroups += name + "\n";
    }
    std::string point = rootlesskit::cgroup2MountPoint(rootlesskit::readMountInfo());
    std::string cg = point.size() > 15 ? point.substr(15) : "";
    std::string files;
    for (const std::string &name : listing("/sys/fs/cgroup/" + cg)) {
        files += name + "\n";
    }
    if (files.empty()) {
        GTEST_SKIP() << "no cgroup hierarchy is mounted on this host";
    }

    RunResult slirp =
        runInside({"--net=slirp4netns", "--disable-host-loopback"}, script, {{"CG", cg}});
    std::string missing = slirpMissing(slirp);
    if (!missing.empty()) {
        GTEST_SKIP() << missing;
    }
    ASSERT_EQ(slirp.exitCode, 0) << slirp.err;
    EXPECT_EQ(slirp.out, "lo\ntap0\n--\n" + cgroups + "--\n" + files);

    RunResult none = runInside({"--net=none"}, script, {{"CG", cg}});
    ASSERT_EQ(none.exitCode, 0) << none.err;
    EXPECT_EQ(none.out, "lo\n--\n" + cgroups + "--\n" + files);

    // The host network keeps the host's /sys.
    RunResult host = runInside({}, "ls /sys/class/net");
    std::string hostNets;
    for (const std::string &name : listing("/sys/class/net")) {
        hostNets += name + "\n";
    }
    EXPECT_EQ(host.out, hostNets);
}

// ---------------------------------------------------------------------------------------------
// --propagation

// A tmpfs at <tmp>/m made shared on the host, holding a/before_mount; the test then mounts
// another tmpfs on <tmp>/m/a while rootlesskit runs. Needs root (mount(2) on the host).
class PropagationRunTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string reason;
        user_ = testUser(&reason);
        if (!user_) {
            GTEST_SKIP() << reason;
        }
        if (geteuid() != 0) {
            GTEST_SKIP() << "the propagation tests mount on the host and need root";
        }
        shared_ = tmp_.path() + "/m";
        fs::create_directories(shared_);
        ASSERT_EQ(mount("tmpfs", shared_.c_str(), "tmpfs", 0, "mode=755"), 0) << strerror(errno);
        mounted_ = true;
        ASSERT_EQ(mount(nullptr, shared_.c_str(), nullptr, MS_SHARED, nullptr), 0);
        fs::create_directories(shared_ + "/a");
        writeFile(shared_ + "/a/before_mount", "");
    }
    void TearDown() override {
        if (mounted_) {
            umount2((shared_ + "/a").c_str(), MNT_DETACH);
            umount2(shared_.c_str(), MNT_DETACH);
        }
    }

    // Starts rootlesskit with propagation mode, mounts on the host, and reports which of the
    // two files the child's mount namespace shows: "before", "after" or both.
    std::string seenInside(const std::string &mode, std::string *err) {
        std::string stateDir = tmp_.path() + "/state-" + mode;
        BackgroundProcess run({binPath("rootlesskit"), "--state-dir=" + stateDir,
                               "--propagation=" + mode, "sleep", "infinity"});
        if (!waitFor([&] { return fs::exists(stateDir + "/child_pid"); })) {
            *err = run.wait(milliseconds(1000)).err;
            return "not started";
        }
        std::string root = "/proc/" + readFile(stateDir + "/child_pid") + "/root";
        mount("tmpfs", (shared_ + "/a").c_str(), "tmpfs", 0, "mode=755");
        writeFile(shared_ + "/a/after_mount", "");
        std::string seen;
        seen += fs::exists(root + shared_ + "/a/before_mount") ? "before" : "";
        seen += fs::exists(root + shared_ + "/a/after_mount") ? "after" : "";
        umount2((shared_ + "/a").c_str(), MNT_DETACH);
        run.signal(SIGTERM);
        *err = run.wait().err;
        return seen;
    }

    std::optional<TestUser> user_;
    TempDir tmp_;
    std::string shared_;
    bool mounted_ = false;
};

TEST_F(PropagationRunTest, RprivateDoesNotSeeLaterHostMounts) {
    std::string err;
    EXPECT_EQ(seenInside("rprivate", &err), "before") << err;
}

TEST_F(PropagationRunTest, RslaveAndRsharedSeeLaterHostMounts) {
    bool rootShared = rootlesskit::rootMountIsShared();
    for (const char *mode : {"rslave", "rshared"}) {
        std::string err;
        EXPECT_EQ(seenInside(mode, &err), "after") << mode << ": " << err;
        // A host whose "/" is private is warned about, and the run goes on.
        bool warned =
            err.find("has no effect: the host's / mount is not shared") != std::string::npos;
        EXPECT_EQ(warned, !rootShared) << mode << ": " << err;
    }
}

// private, slave and shared change "/" alone (upstream's test sees them act only because its
// directory lies on "/", made shared by its CI): the separately mounted test directory keeps the
// propagation the new namespace gave it, a slave of the host's, and sees the later mount.
TEST_F(PropagationRunTest, NonRecursiveModesLeaveOtherMountsAsTheyWere) {
    for (const char *mode : {"private", "slave", "shared"}) {
        std::string err;
        EXPECT_EQ(seenInside(mode, &err), "after") << mode << ": " << err;
    }
}

// Upstream's way: as root, in a mount namespace of the test's own, "/" is made shared (or
// private), then rootlesskit runs as the test user with --propagation=mode, and a tmpfs is
// mounted (in that namespace, standing for the host) on a directory of the "/" file system after
// the start. Reports which of before_mount and after_mount the child sees, then rootlesskit's
// stderr after a "--" line.
std::string seenWithRoot(const TestUser &user, const std::string &rootMode,
                         const std::string &mode) {
    static const char kScript[] =
        "mkdir $D/a && touch $D/a/before_mount && "
        "setpriv --reuid=$RK_UID --regid=$RK_GID --clear-groups "
        "  $RK --state-dir=$D/state --propagation=$MODE sleep infinity 2>$D/err & "
        "i=0; until [ -e $D/state/child_pid ] || [ $i -ge 400 ]; do sleep 0.05; i=$((i+1)); done; "
        "mount -t tmpfs none $D/a && touch $D/a/after_mount; "
        "r=/proc/$(cat $D/state/child_pid)/root; "
        "[ -e $r$D/a/before_mount ] && echo before; "
        "[ -e $r$D/a/after_mount ] && echo after; "
        "kill $!; wait; echo --; cat $D/err";
    TempDir tmp;
    RunOptions options;
    options.user = "root";
    options.timeout = milliseconds(60000);
    options.env = {{"D", tmp.path()},
                   {"RK", binPath("rootlesskit")},
                   {"MODE", mode},
                   {"RK_UID", std::to_string(user.uid)},
                   {"RK_GID", std::to_string(user.gid)}};
    RunResult result =
        runAsTestUser({"unshare", "-m", "--propagation", rootMode, "sh", "-c", kScript}, options);
    return result.out + result.err;
}

TEST(RootPropagationRunTest, LaterHostMountsReachRslaveOnlyWhenTheRootIsShared) {
    REQUIRE_TEST_USER();
    if (geteuid() != 0) {
        GTEST_SKIP() << "making / shared in a mount namespace of the test's own needs root";
    }
    if (std::system("command -v unshare >/dev/null && command -v setpriv >/dev/null") != 0) {
        GTEST_SKIP() << "unshare and setpriv (util-linux) are not installed";
    }
    const std::string warning = "has no effect: the host's / mount is not shared";
    struct Case {
        std::string root;
        std::string mode;
        std::string seen;
        bool warned;
    };
    for (const Case &c : std::vector<Case>{{"shared", "rslave", "after\n", false},
                                           {"shared", "rprivate", "before\n", false},
                                           {"private", "rslave", "before\n", true},
                                           {"private", "rprivate", "before\n", false}}) {
        std::string out = seenWithRoot(*user, c.root, c.mode);
        std::string label = "/ " + c.root + ", --propagation=" + c.mode + ":\n" + out;
        size_t split = out.find("--\n");
        ASSERT_NE(split, std::string::npos) << label;
        EXPECT_EQ(out.substr(0, split), c.seen) << label;
        // rslave on a private "/" warns and the run goes on: the command ran until the end.
        EXPECT_EQ(out.find(warning, split) != std::string::npos, c.warned) << label;
        EXPECT_NE(out.find("[sleep infinity] exited: signal: terminated", split), std::string::npos)
            << label;
    }
}

}  // namespace
}  // namespace rktest
