// Unit tests of the mountinfo reader and the pure parts of the process options: what the parent
// and the child decide from /proc/self/mountinfo and /proc/self/cgroup.
#include "core/mounts.h"

#include <sys/mount.h>

#include <string>

#include <gtest/gtest.h>

#include "core/process_options.h"

namespace rootlesskit {
namespace {

// A hybrid-layout host: "/" private, one shared mount, a path with a space, cgroup2 unified.
const char kMountInfo[] =
    "23 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
    "24 23 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
    "31 24 0:28 / /sys/fs/cgroup rw,nosuid,nodev,noexec - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw\n"
    "50 23 0:40 / /tmp/with\\040space rw,noatime,nosymfollow master:3 - tmpfs tmpfs rw\n"
    "51 50 0:41 / /tmp/with\\040space/sub ro,nodiratime,relatime - tmpfs tmpfs rw\n"
    "not a mountinfo line\n";

TEST(MountsTest, ParsesFieldsAndEscapes) {
    std::vector<MountEntry> mounts = parseMountInfo(kMountInfo);
    ASSERT_EQ(mounts.size(), 7u);
    EXPECT_EQ(mounts[0].mountPoint, "/");
    EXPECT_EQ(mounts[0].fsType, "ext4");
    EXPECT_TRUE(mounts[0].optionalFields.empty());
    EXPECT_EQ(mounts[1].optionalFields, (std::vector<std::string>{"shared:7"}));
    EXPECT_EQ(mounts[1].mountOptions,
              (std::vector<std::string>{"rw", "nosuid", "nodev", "noexec", "relatime"}));
    EXPECT_EQ(mounts[5].mountPoint, "/tmp/with space");
    EXPECT_EQ(mounts[5].optionalFields, (std::vector<std::string>{"master:3"}));
}

TEST(MountsTest, RootSharedOnlyWithASharedTag) {
    EXPECT_FALSE(rootMountIsShared(parseMountInfo(kMountInfo)));
    EXPECT_TRUE(rootMountIsShared(
        parseMountInfo("1 0 8:1 / / rw shared:1 master:2 - ext4 /dev/sda1 rw\n")));
    // The last "/" entry is the visible one.
    EXPECT_FALSE(rootMountIsShared(parseMountInfo(
        "1 0 8:1 / / rw shared:1 - ext4 /dev/sda1 rw\n2 1 0:5 / / rw - tmpfs t rw\n")));
    EXPECT_FALSE(rootMountIsShared(parseMountInfo("")));
}

TEST(MountsTest, Cgroup2MountPoint) {
    EXPECT_EQ(cgroup2MountPoint(parseMountInfo(kMountInfo)), "/sys/fs/cgroup/unified");
    EXPECT_EQ(cgroup2MountPoint(
                  parseMountInfo("5 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n")),
              "/sys/fs/cgroup");
    EXPECT_EQ(cgroup2MountPoint(parseMountInfo("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n")), "");
}

TEST(MountsTest, MountsAtOrBelowAPath) {
    std::vector<MountEntry> mounts = parseMountInfo(kMountInfo);
    std::vector<MountEntry> below = mountsAtOrBelow(mounts, "/tmp/with space");
    ASSERT_EQ(below.size(), 2u);
    EXPECT_EQ(below[0].mountPoint, "/tmp/with space");
    EXPECT_EQ(below[1].mountPoint, "/tmp/with space/sub");
    // A sibling whose name starts the same is not below.
    EXPECT_EQ(mountsAtOrBelow(mounts, "/sys/fs/cgroup/cp").size(), 0u);
    EXPECT_EQ(mountsAtOrBelow(mounts, "/").size(), 7u);
}

TEST(MountsTest, RemountKeepsLockedFlags) {
    std::vector<MountEntry> mounts = parseMountInfo(kMountInfo);
    EXPECT_EQ(preservedMountFlags(mounts[1]), MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME);
    // No atime option: strictatime, which has to be asked for.
    EXPECT_EQ(preservedMountFlags(mounts[2]), MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_STRICTATIME);
    EXPECT_EQ(preservedMountFlags(mounts[5]), MS_NOATIME | MS_NOSYMFOLLOW);
    EXPECT_EQ(preservedMountFlags(mounts[6]), MS_NODIRATIME | MS_RELATIME);
}

TEST(ProcessOptionsTest, Cgroup2GroupOf) {
    EXPECT_EQ(cgroup2GroupOf("0::/user.slice/user-1001.slice/session-3.scope\n"),
              "/user.slice/user-1001.slice/session-3.scope");
    EXPECT_EQ(cgroup2GroupOf("9:name=systemd:/\n4:memory:/x\n0::/\n"), "/");
    EXPECT_EQ(cgroup2GroupOf("4:memory:/x\n"), "");
}

TEST(ProcessOptionsTest, ListenPidIsReservedOnlyWhenRewritten) {
    std::vector<std::string> env = {"A=1", "LISTEN_PID=42", "LISTEN_FDS=1"};
    CommandSetup setup;
    setup.listenFds = 1;
    reserveListenPid(setup, env);
    EXPECT_EQ(env[1], "LISTEN_PID=42");

    setup.rewriteListenPid = true;
    reserveListenPid(setup, env);
    ASSERT_EQ(env[1].rfind("LISTEN_PID=", 0), 0u);
    EXPECT_GE(env[1].size(), std::string("LISTEN_PID=").size() + 19) << "room for any pid";
    EXPECT_EQ(env[0], "A=1");
    EXPECT_EQ(env[2], "LISTEN_FDS=1");
}

}  // namespace
}  // namespace rootlesskit
