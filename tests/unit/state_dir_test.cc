// The state directory's locks, stale entry removal and final removal (core/state_dir.h).
#include "core/state_dir.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/unique_fd.h"
#include "tests/support/process.h"

namespace rootlesskit {
namespace {

namespace fs = std::filesystem;

// True when an exclusive non-blocking flock on path succeeds (from a fresh open file
// description, so it conflicts with locks this process holds through StateDir too).
bool canLockExclusively(const std::string &path) {
    UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    return fd.valid() && flock(fd.get(), LOCK_EX | LOCK_NB) == 0;
}

class StateDirTest : public ::testing::Test {
protected:
    rktest::TempDir tmp_;
    std::string requested_ = tmp_.path() + "/state";
};

TEST_F(StateDirTest, CreatesRequestedDirectoryWithLock) {
    Result<StateDirPtr> dir = StateDir::open(requested_);
    ASSERT_TRUE(dir.ok()) << dir.status().message();
    EXPECT_EQ((*dir)->path(), requested_);
    EXPECT_TRUE(fs::is_directory(requested_));
    EXPECT_TRUE(fs::exists(requested_ + "/lock"));
    EXPECT_EQ((*dir)->file("child_pid"), requested_ + "/child_pid");
}

TEST_F(StateDirTest, RequestedDirectoryIsPrivateEvenWhenItExisted) {
    fs::create_directory(requested_);
    chmod(requested_.c_str(), 0755);
    Result<StateDirPtr> dir = StateDir::open(requested_);
    ASSERT_TRUE(dir.ok()) << dir.status().message();
    struct stat st {};
    ASSERT_EQ(stat(requested_.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(StateDirTest, RelativePathBecomesAbsolute) {
    std::string cwd = fs::current_path();
    fs::current_path(tmp_.path());
    Result<StateDirPtr> dir = StateDir::open("rel/state");
    fs::current_path(cwd);
    ASSERT_TRUE(dir.ok()) << dir.status().message();
    EXPECT_EQ((*dir)->path(), tmp_.path() + "/rel/state");
}

TEST_F(StateDirTest, SecondRunIsRefusedAndLeavesTheDirectory) {
    Result<StateDirPtr> first = StateDir::open(requested_);
    ASSERT_TRUE(first.ok());
    std::ofstream(requested_ + "/child_pid") << "123";

    Result<StateDirPtr> second = StateDir::open(requested_);
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.status().message(),
              "failed to lock " + requested_ +
                  "/lock, another RootlessKit is running with the same state directory?");
    EXPECT_TRUE(fs::exists(requested_ + "/child_pid"));
}

TEST_F(StateDirTest, HoldsExclusiveLockAndSharedDirectoryLock) {
    Result<StateDirPtr> dir = StateDir::open(requested_);
    ASSERT_TRUE(dir.ok());
    EXPECT_FALSE(canLockExclusively(requested_ + "/lock"));
    EXPECT_FALSE(canLockExclusively(requested_));
    UniqueFd shared(open(requested_.c_str(), O_RDONLY | O_CLOEXEC));
    EXPECT_EQ(flock(shared.get(), LOCK_SH | LOCK_NB), 0);
}

TEST_F(StateDirTest, ClearsStaleEntriesButKeepsLock) {
    fs::create_directories(requested_ + "/sub/deeper");
    std::ofstream(requested_ + "/child_pid") << "123";
    std::ofstream(requested_ + "/sub/deeper/file") << "x";
    std::ofstream(requested_ + "/lock") << "";
    struct stat before;
    ASSERT_EQ(stat((requested_ + "/lock").c_str(), &before), 0);

    Result<StateDirPtr> dir = StateDir::open(requested_);
    ASSERT_TRUE(dir.ok()) << dir.status().message();
    std::vector<std::string> left;
    for (const auto &entry : fs::directory_iterator(requested_)) {
        left.push_back(entry.path().filename());
    }
    EXPECT_EQ(left, std::vector<std::string>{"lock"});
    struct stat after;
    ASSERT_EQ(stat((requested_ + "/lock").c_str(), &after), 0);
    EXPECT_EQ(before.st_ino, after.st_ino);
}

TEST_F(StateDirTest, RemovedOnDestruction) {
    {
        Result<StateDirPtr> dir = StateDir::open(requested_);
        ASSERT_TRUE(dir.ok());
        std::ofstream((*dir)->file("api.sock")) << "";
    }
    EXPECT_FALSE(fs::exists(requested_));
}

TEST_F(StateDirTest, TemporaryUnderTmpdirWithMode0700) {
    const char *old = std::getenv("TMPDIR");
    std::string saved = old != nullptr ? old : "";
    setenv("TMPDIR", tmp_.path().c_str(), 1);
    Result<StateDirPtr> dir = StateDir::open("");
    if (old != nullptr) {
        setenv("TMPDIR", saved.c_str(), 1);
    } else {
        unsetenv("TMPDIR");
    }
    ASSERT_TRUE(dir.ok()) << dir.status().message();
    std::string path = (*dir)->path();
    EXPECT_EQ(path.rfind(tmp_.path() + "/rootlesskit", 0), 0u) << path;
    struct stat st;
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    dir->reset();
    EXPECT_FALSE(fs::exists(path));
}

TEST_F(StateDirTest, NotADirectory) {
    std::ofstream(requested_) << "file";
    Result<StateDirPtr> dir = StateDir::open(requested_);
    ASSERT_FALSE(dir.ok());
    EXPECT_TRUE(fs::is_regular_file(requested_));
}

}  // namespace
}  // namespace rootlesskit
