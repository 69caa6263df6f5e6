// Sub-ID sources and newuidmap arguments (core/idmap.h).
#include "core/idmap.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "tests/support/process.h"

namespace rootlesskit {
namespace {

class IdmapSubIdFileTest : public ::testing::Test {
protected:
    std::string write(const std::string &name, const std::string &content) {
        std::string path = dir_.path() + "/" + name;
        std::ofstream(path) << content;
        return path;
    }

    rktest::TempDir dir_;
    Identity who_{1000, 1000, "penguin"};
};

TEST(IdmapArgsTest, PacksRangesFromContainerIdOne) {
    std::vector<SubIdRange> ranges = {{100000, 65536}, {200000, 65536}};
    std::vector<std::string> expected = {"0",     "1000",  "1",      "1",    "100000",
                                         "65536", "65537", "200000", "65536"};
    EXPECT_EQ(idmapArgs(1000, ranges), expected);
}

TEST(IdmapArgsTest, OnlyTheCallerWithoutRanges) {
    EXPECT_EQ(idmapArgs(42, {}), (std::vector<std::string>{"0", "42", "1"}));
}

TEST_F(IdmapSubIdFileTest, MatchesByNameAndByUidInFileOrder) {
    std::string path = write("subuid",
                             "# comment\n\n"
                             "penguin:100000:65536\n"
                             "other:300000:65536\n"
                             "  1000:200000:1000  \n");
    Result<std::vector<SubIdRange>> ranges = readSubIdFile(path, "subuid", who_);
    ASSERT_TRUE(ranges.ok()) << ranges.status().message();
    EXPECT_EQ(*ranges, (std::vector<SubIdRange>{{100000, 65536}, {200000, 1000}}));
}

TEST_F(IdmapSubIdFileTest, NoMatchingLine) {
    std::string path = write("subgid", "other:100000:65536\n");
    Result<std::vector<SubIdRange>> ranges = readSubIdFile(path, "subgid", who_);
    ASSERT_FALSE(ranges.ok());
    EXPECT_EQ(ranges.status().message(), "No subgid ranges found for user 1000 (\"penguin\")");
}

TEST_F(IdmapSubIdFileTest, BadFormatOnAnyLine) {
    std::string path = write("subuid", "penguin:100000:65536\nbroken:line\n");
    Result<std::vector<SubIdRange>> ranges = readSubIdFile(path, "subuid", who_);
    ASSERT_FALSE(ranges.ok());
    EXPECT_EQ(ranges.status().message(),
              "Cannot parse subuid/gid information: Format not correct for " + path + " file");
}

TEST_F(IdmapSubIdFileTest, BadNumberOfAMatchingLine) {
    std::string path = write("subuid", "penguin:lots:65536\n");
    Result<std::vector<SubIdRange>> ranges = readSubIdFile(path, "subuid", who_);
    ASSERT_FALSE(ranges.ok());
    EXPECT_NE(ranges.status().message().find("String to int conversion failed"), std::string::npos);
}

TEST_F(IdmapSubIdFileTest, MissingFile) {
    Result<std::vector<SubIdRange>> ranges = readSubIdFile(dir_.path() + "/absent", "subuid", who_);
    ASSERT_FALSE(ranges.ok());
    EXPECT_NE(ranges.status().message().find("no such file"), std::string::npos);
}

TEST_F(IdmapSubIdFileTest, StaticSourceReadsBothFiles) {
    std::string subuid = write("subuid", "penguin:100000:65536\n");
    std::string subgid = write("subgid", "penguin:500000:10\n");
    Result<SubIdRanges> ranges = acquireSubIds("static", who_, subuid, subgid);
    ASSERT_TRUE(ranges.ok()) << ranges.status().message();
    EXPECT_EQ(ranges->uids, (std::vector<SubIdRange>{{100000, 65536}}));
    EXPECT_EQ(ranges->gids, (std::vector<SubIdRange>{{500000, 10}}));
}

TEST(IdmapGetsubidsParseTest, UpstreamVector) {
    std::vector<std::string> warnings;
    Result<std::vector<SubIdRange>> ranges =
        parseGetsubidsOutput("# foo\n0: foo 100000 655360\n", &warnings);
    ASSERT_TRUE(ranges.ok()) << ranges.status().message();
    EXPECT_EQ(*ranges, (std::vector<SubIdRange>{{100000, 655360}}));
    EXPECT_TRUE(warnings.empty());
}

TEST(IdmapGetsubidsParseTest, SeveralRangesAndBlankLines) {
    Result<std::vector<SubIdRange>> ranges =
        parseGetsubidsOutput("0: foo 1 2\n\n1: foo 3 4\n", nullptr);
    ASSERT_TRUE(ranges.ok());
    EXPECT_EQ(*ranges, (std::vector<SubIdRange>{{1, 2}, {3, 4}}));
}

TEST(IdmapGetsubidsParseTest, ExtraFieldsWarnOnly) {
    std::vector<std::string> warnings;
    Result<std::vector<SubIdRange>> ranges =
        parseGetsubidsOutput("0: foo 100000 65536 extra\n", &warnings);
    ASSERT_TRUE(ranges.ok());
    EXPECT_EQ(*ranges, (std::vector<SubIdRange>{{100000, 65536}}));
    EXPECT_EQ(warnings.size(), 1u);
}

TEST(IdmapGetsubidsParseTest, TooFewFieldsFail) {
    EXPECT_FALSE(parseGetsubidsOutput("0: foo 100000\n", nullptr).ok());
    EXPECT_FALSE(parseGetsubidsOutput("foo 100000 65536\n", nullptr).ok());
    EXPECT_FALSE(parseGetsubidsOutput("0: foo many 65536\n", nullptr).ok());
}

// A fake getsubids through $GETSUBIDS: ranges for the name only (the number query fails), the
// way shadow's getsubids behaves for a user listed by name.
class IdmapDynamicSourceTest : public IdmapSubIdFileTest {
protected:
    void SetUp() override {
        script_ = write("getsubids",
                        "#!/bin/sh\n"
                        "if [ \"$1\" = -g ]; then shift; base=500000; else base=100000; fi\n"
                        "[ \"$1\" = penguin ] || { echo 'Error fetching ranges' >&2; exit 1; }\n"
                        "echo \"0: penguin $base 65536\"\n");
        chmod(script_.c_str(), 0755);
        const char *old = std::getenv("GETSUBIDS");
        saved_ = old != nullptr ? old : "";
        hadOld_ = old != nullptr;
    }
    void TearDown() override {
        if (hadOld_) {
            setenv("GETSUBIDS", saved_.c_str(), 1);
        } else {
            unsetenv("GETSUBIDS");
        }
    }

    std::string script_;
    std::string saved_;
    bool hadOld_ = false;
};

TEST_F(IdmapDynamicSourceTest, UsesGetsubidsByName) {
    setenv("GETSUBIDS", script_.c_str(), 1);
    Result<SubIdRanges> ranges = acquireSubIds("dynamic", who_);
    ASSERT_TRUE(ranges.ok()) << ranges.status().message();
    EXPECT_EQ(ranges->uids, (std::vector<SubIdRange>{{100000, 65536}}));
    EXPECT_EQ(ranges->gids, (std::vector<SubIdRange>{{500000, 65536}}));
}

TEST_F(IdmapDynamicSourceTest, DynamicFailsWhenBothQueriesFail) {
    setenv("GETSUBIDS", script_.c_str(), 1);
    Identity stranger{4242, 4242, "stranger"};
    Result<SubIdRanges> ranges = acquireSubIds("dynamic", stranger);
    ASSERT_FALSE(ranges.ok());
    EXPECT_NE(ranges.status().message().find("Error fetching ranges"), std::string::npos);
}

TEST_F(IdmapDynamicSourceTest, AutoFallsBackToStatic) {
    setenv("GETSUBIDS", (dir_.path() + "/no-such-getsubids").c_str(), 1);
    std::string subuid = write("subuid", "penguin:700000:5\n");
    std::string subgid = write("subgid", "penguin:800000:6\n");
    Result<SubIdRanges> ranges = acquireSubIds("auto", who_, subuid, subgid);
    ASSERT_TRUE(ranges.ok()) << ranges.status().message();
    EXPECT_EQ(ranges->uids, (std::vector<SubIdRange>{{700000, 5}}));
    EXPECT_EQ(ranges->gids, (std::vector<SubIdRange>{{800000, 6}}));
}

// auto without $GETSUBIDS: getsubids is looked up in $PATH, where the fake one leaves a mark.
class IdmapAutoSourceTest : public IdmapDynamicSourceTest {
protected:
    void SetUp() override {
        IdmapDynamicSourceTest::SetUp();
        std::string bin = dir_.path() + "/bin";
        mkdir(bin.c_str(), 0755);
        marked_ = dir_.path() + "/getsubids-ran";
        std::string fake = write("bin/getsubids", "#!/bin/sh\ntouch " + marked_ + "\nexec " +
                                                      script_ + " \"$@\"\n");
        chmod(fake.c_str(), 0755);
        const char *path = std::getenv("PATH");
        savedPath_ = path != nullptr ? path : "";
        setenv("PATH", (bin + ":" + savedPath_).c_str(), 1);
        unsetenv("GETSUBIDS");
        subuid_ = write("subuid", "penguin:700000:5\n");
        subgid_ = write("subgid", "penguin:800000:6\n");
    }
    void TearDown() override {
        setenv("PATH", savedPath_.c_str(), 1);
        IdmapDynamicSourceTest::TearDown();
    }
    bool getsubidsRan() const { return access(marked_.c_str(), F_OK) == 0; }

    std::string marked_;
    std::string savedPath_;
    std::string subuid_;
    std::string subgid_;
};

TEST_F(IdmapAutoSourceTest, WithoutASubidServiceTheFilesAreReadDirectly) {
    std::string nsswitch = write("nsswitch.conf", "passwd: files\n#subid: sss\n");
    Result<SubIdRanges> ranges = acquireSubIds("auto", who_, subuid_, subgid_, nsswitch);
    ASSERT_TRUE(ranges.ok()) << ranges.status().message();
    EXPECT_EQ(ranges->uids, (std::vector<SubIdRange>{{700000, 5}}));
    EXPECT_EQ(ranges->gids, (std::vector<SubIdRange>{{800000, 6}}));
    EXPECT_FALSE(getsubidsRan());
}

TEST_F(IdmapAutoSourceTest, WithASubidServiceGetsubidsIsAsked) {
    std::string nsswitch = write("nsswitch.conf", "passwd: files\nsubid:  sss\n");
    Result<SubIdRanges> ranges = acquireSubIds("auto", who_, subuid_, subgid_, nsswitch);
    ASSERT_TRUE(ranges.ok()) << ranges.status().message();
    EXPECT_EQ(ranges->uids, (std::vector<SubIdRange>{{100000, 65536}}));
    EXPECT_EQ(ranges->gids, (std::vector<SubIdRange>{{500000, 65536}}));
    EXPECT_TRUE(getsubidsRan());
}

TEST_F(IdmapAutoSourceTest, DynamicAlwaysAsksGetsubids) {
    std::string nsswitch = write("nsswitch.conf", "passwd: files\n");
    Result<SubIdRanges> ranges = acquireSubIds("dynamic", who_, subuid_, subgid_, nsswitch);
    ASSERT_TRUE(ranges.ok()) << ranges.status().message();
    EXPECT_EQ(ranges->uids, (std::vector<SubIdRange>{{100000, 65536}}));
    EXPECT_TRUE(getsubidsRan());
}

TEST(IdmapOwnIdTest, RangeContainingTheOwnUidIsRefusedWithTheRangeAndTheUid) {
    Identity who{1001, 1001, "alice"};
    SubIdRanges ranges{{{100000, 65536}, {996, 10}}, {{100000, 65536}}};
    Status checked = checkOwnIdOutsideRanges(who, ranges);
    EXPECT_EQ(checked.message(),
              "subordinate UID range 996-1005 of user alice contains the user's own UID 1001: "
              "ranges in /etc/subuid (or from getsubids) must not include it");
}

TEST(IdmapOwnIdTest, RangeContainingTheOwnGidIsRefused) {
    Identity who{1001, 50, "alice"};
    Status checked = checkOwnIdOutsideRanges(who, SubIdRanges{{{100000, 10}}, {{50, 1}}});
    EXPECT_NE(checked.message().find("GID range 50-50 of user alice"), std::string::npos)
        << checked.message();
}

TEST(IdmapOwnIdTest, RangesNextToTheOwnIdsAreFine) {
    Identity who{1001, 1001, "alice"};
    SubIdRanges ranges{{{991, 10}, {1002, 10}}, {{991, 10}, {1002, 10}}};
    EXPECT_TRUE(checkOwnIdOutsideRanges(who, ranges).ok());
}

}  // namespace
}  // namespace rootlesskit
