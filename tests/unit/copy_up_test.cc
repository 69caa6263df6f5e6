// Unit tests of copy-up's pure parts: path cleaning, the parent's directory checks, and the
// choice of the directories recreated so that relative symlinks keep resolving.
#include "core/copy_up.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/unique_fd.h"

namespace rootlesskit {
namespace {

namespace fs = std::filesystem;

class TempTree {
public:
    TempTree() {
        char tmpl[] = "/tmp/rkcu-XXXXXX";
        root_ = mkdtemp(tmpl);
    }
    ~TempTree() {
        std::error_code ec;
        fs::remove_all(root_, ec);
    }
    const std::string &root() const { return root_; }
    void dir(const std::string &rel) { fs::create_directories(root_ + "/" + rel); }
    void file(const std::string &rel) { std::ofstream(root_ + "/" + rel) << "x"; }
    void link(const std::string &rel, const std::string &target) {
        fs::create_symlink(target, root_ + "/" + rel);
    }
    std::vector<std::string> recreated() const {
        UniqueFd fd(open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        return dirsToRecreate(fd.get());
    }

private:
    std::string root_;
};

TEST(CopyUpTest, CleanPath) {
    EXPECT_EQ(cleanCopyUpPath("/etc/"), "/etc");
    EXPECT_EQ(cleanCopyUpPath("/etc//"), "/etc");
    EXPECT_EQ(cleanCopyUpPath("/var/../etc"), "/etc");
    EXPECT_EQ(cleanCopyUpPath("/run/./user"), "/run/user");
    EXPECT_EQ(cleanCopyUpPath("/"), "/");
}

TEST(CopyUpTest, ParentRefusesWhatCannotBeCopiedUp) {
    TempTree tree;
    tree.file("plain");
    EXPECT_TRUE(checkCopyUpDirs({}).ok());
    EXPECT_TRUE(checkCopyUpDirs({tree.root(), tree.root() + "/"}).ok());
    EXPECT_EQ(checkCopyUpDirs({tree.root() + "/missing"}).message(),
              "copy-up " + tree.root() + "/missing: no such file or directory");
    EXPECT_EQ(checkCopyUpDirs({tree.root() + "/plain"}).message(),
              "copy-up " + tree.root() + "/plain: not a directory");
    EXPECT_EQ(checkCopyUpDirs({"/"}).message(),
              "copy-up /: the root directory cannot be copied up");
    // The first bad directory is the one named.
    EXPECT_EQ(checkCopyUpDirs({tree.root(), "/nonexistent-rk"}).message(),
              "copy-up /nonexistent-rk: no such file or directory");
}

// A copy of the state directory would hide what the parent writes into it later.
TEST(CopyUpTest, ParentRefusesTheStateDirectoryAndWhatIsBelowIt) {
    TempTree tree;
    std::string state = tree.root() + "/state";
    tree.dir("state/sub");

    EXPECT_EQ(checkCopyUpDirs({state}, state).message(),
              "copy-up " + state + ": the state directory " + state +
                  " and what is below it cannot be copied up");
    EXPECT_EQ(checkCopyUpDirs({state + "/sub"}, state + "/").code(), EINVAL);
    // Above it is fine: the state directory stays writable below a copied-up directory.
    EXPECT_TRUE(checkCopyUpDirs({tree.root()}, state).ok());
    EXPECT_TRUE(checkCopyUpDirs({state}, "").ok());
}

// Symlinks are followed before the checks: a link to /tmp or / is refused as they are.
TEST(CopyUpTest, ParentChecksWhereSymlinksLead) {
    TempTree tree;
    tree.dir("real");
    tree.link("tmp", "/tmp");
    tree.link("root", "/");
    tree.link("dir", "real");
    tree.link("dangling", "missing");
    EXPECT_TRUE(checkCopyUpDirs({tree.root() + "/dir"}).ok());
    EXPECT_EQ(checkCopyUpDirs({tree.root() + "/tmp/"}).message(),
              "copy-up " + tree.root() + "/tmp (it resolves to /tmp): /tmp cannot be copied up");
    EXPECT_EQ(checkCopyUpDirs({tree.root() + "/root"}).message(),
              "copy-up " + tree.root() +
                  "/root (it resolves to /): the root directory cannot be "
                  "copied up");
    EXPECT_EQ(checkCopyUpDirs({tree.root() + "/dangling"}).message(),
              "copy-up " + tree.root() + "/dangling: no such file or directory");
}

// Their entries differ per process or per namespace (/proc/self), so symlinks made at the start
// would lie.
TEST(CopyUpTest, ParentRefusesKernelFileSystems) {
    EXPECT_EQ(checkCopyUpDirs({"/proc"}).message(),
              "copy-up /proc: a proc file system cannot be copied up");
    EXPECT_EQ(checkCopyUpDirs({"/proc/self/"}).message().substr(0, 19), "copy-up /proc/self ");
    EXPECT_EQ(checkCopyUpDirs({"/sys"}).message(),
              "copy-up /sys: a sysfs file system cannot be copied up");
    // Its entries are the ptys of this mount: copies of them would be no terminal at all.
    EXPECT_EQ(checkCopyUpDirs({"/dev/pts"}).message(),
              "copy-up /dev/pts: a devpts file system cannot be copied up");
}

TEST(CopyUpTest, WhichRelativeTargetsClimbToTheCopiedUpDirectory) {
    // From a directory one level down: ".." is the copied-up directory itself.
    EXPECT_TRUE(climbsToCopiedUpDir("../init.d/dbus", 1));
    EXPECT_TRUE(climbsToCopiedUpDir("..", 1));
    EXPECT_TRUE(climbsToCopiedUpDir("../../usr/lib/x", 1));
    EXPECT_FALSE(climbsToCopiedUpDir("x", 1));
    EXPECT_FALSE(climbsToCopiedUpDir("./sub/../x", 1));
    // Two levels down: one ".." stays inside the top-level entry.
    EXPECT_FALSE(climbsToCopiedUpDir("../x", 2));
    EXPECT_TRUE(climbsToCopiedUpDir("../../x", 2));
    EXPECT_TRUE(climbsToCopiedUpDir("sub/../../../x", 2));
    EXPECT_FALSE(climbsToCopiedUpDir("sub/../../x", 2));
    // Absolute targets resolve the same from anywhere.
    EXPECT_FALSE(climbsToCopiedUpDir("/usr/lib/x", 3));
    EXPECT_FALSE(climbsToCopiedUpDir("", 1));
}

TEST(CopyUpTest, DirectoriesWithClimbingSymlinksAreRecreated) {
    TempTree tree;
    tree.dir("rc2.d");
    tree.dir("init.d");
    tree.file("init.d/dbus");
    tree.link("rc2.d/S01dbus", "../init.d/dbus");
    tree.dir("a/b/c");
    tree.link("a/b/c/out", "../../../../outside");
    tree.dir("plain/sub");
    tree.file("plain/sub/f");
    tree.link("plain/sub/inside", "f");
    tree.link("plain/up", "sub/f");
    tree.link("toplevel", "../anything");  // at the top: recreated as it is, no directory needed

    EXPECT_EQ(tree.recreated(), (std::vector<std::string>{"a", "a/b", "a/b/c", "rc2.d"}));
}

TEST(CopyUpTest, NothingToRecreateInATreeWithoutClimbingSymlinks) {
    TempTree tree;
    tree.dir("x/y");
    tree.link("x/y/abs", "/etc/hostname");
    tree.link("x/rel", "y/abs");
    EXPECT_TRUE(tree.recreated().empty());
}

TEST(CopyUpTest, ReplaceWithEmptyFile) {
    TempTree tree;
    tree.file("target");
    tree.link("link", "target");
    std::string link = tree.root() + "/link";
    ASSERT_TRUE(replaceWithEmptyFile(link).ok());
    struct stat st;
    ASSERT_EQ(lstat(link.c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_size, 0);
    EXPECT_EQ(st.st_mode & 0777, 0644u);
    EXPECT_EQ(fs::file_size(tree.root() + "/target"), 1u) << "the symlink's target is kept";

    // Absent: created. A regular file: left as it is.
    ASSERT_TRUE(replaceWithEmptyFile(tree.root() + "/absent").ok());
    EXPECT_TRUE(fs::is_regular_file(tree.root() + "/absent"));
    ASSERT_TRUE(replaceWithEmptyFile(tree.root() + "/target").ok());
    EXPECT_EQ(fs::file_size(tree.root() + "/target"), 1u);

    EXPECT_EQ(replaceWithEmptyFile(tree.root() + "/no/such/dir").message(),
              "replace " + tree.root() +
                  "/no/such/dir with an empty file: no such file or "
                  "directory");
}

}  // namespace
}  // namespace rootlesskit
