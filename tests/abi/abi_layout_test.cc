// The plugin ABI only ever grows at its end: the frozen 1.0 header still matches its checked-in
// table (sdk/abi/v1.0/layout.txt), the current header keeps every line of that table, and the
// check catches the mutants the build derives from the current header.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "tests/abi/layout_dump.h"

namespace rkabi {
namespace {

// The table without its comment and blank lines.
Layout readTable(const std::string &path) {
    std::ifstream in(path);
    Layout table;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line[0] != '#') {
            table.push_back(line);
        }
    }
    return table;
}

std::string joined(const std::vector<std::string> &lines) {
    std::string text;
    for (const std::string &line : lines) {
        text += "  " + line + "\n";
    }
    return text;
}

bool mentions(const std::vector<std::string> &lines, const std::string &text) {
    return std::any_of(lines.begin(), lines.end(), [&](const std::string &line) {
        return line.find(text) != std::string::npos;
    });
}

class AbiLayoutTest : public testing::Test {
protected:
    void SetUp() override {
        if (sizeof(void *) != 8 || sizeof(long) != 8) {
            GTEST_SKIP() << "the layout table describes LP64 targets (x86-64, aarch64)";
        }
        table_ = readTable(RK_ABI_TABLE);
        ASSERT_FALSE(table_.empty()) << "cannot read " << RK_ABI_TABLE;
    }

    // A mutant equal to the current header means its pattern no longer matched rkp.h.
    void expectDerived(const Layout &mutant) {
        ASSERT_NE(mutant, layoutOfCurrent())
            << "the mutant header was not derived: its pattern no longer occurs in rkp.h; "
               "update the rk_abi_mutant() lines in tests/abi/CMakeLists.txt";
    }

    Layout table_;
};

TEST_F(AbiLayoutTest, FrozenHeaderMatchesTheTable) {
    Layout frozen = layoutOfFrozenV1_0();
    EXPECT_EQ(frozen, table_) << "sdk/abi/v1.0/rkp.h no longer matches sdk/abi/v1.0/layout.txt; "
                                 "neither may change. The frozen header's table is:\n"
                              << joined(frozen);
}

TEST_F(AbiLayoutTest, EveryMemberIsListed) {
    // The ops tables have 4 bytes of padding after struct_size: a member put there moves
    // nothing, and only the member count shows it.
    EXPECT_EQ(unlistedMembers(table_), std::vector<std::string>{});
    EXPECT_EQ(unlistedMembers(layoutOfCurrent()), std::vector<std::string>{})
        << "name every member appended since 1.0 in tests/abi/layout_dump.inc";
}

TEST_F(AbiLayoutTest, CurrentHeaderOnlyAppends) {
    std::vector<std::string> violations = appendViolations(table_, layoutOfCurrent());
    EXPECT_TRUE(violations.empty())
        << "sdk/include/rootlesskit/rkp.h changed the 1.0 ABI; only appends are allowed within "
           "a major version (sdk/README.md, section 9):\n"
        << joined(violations);
}

TEST_F(AbiLayoutTest, InsertedFunctionIsCaught) {
    Layout mutant = layoutOfMutantInserted();
    expectDerived(mutant);
    std::vector<std::string> violations = appendViolations(table_, mutant);
    EXPECT_TRUE(mentions(violations, "field rkp_net_ops.teardown changed")) << joined(violations);
    EXPECT_TRUE(mentions(violations, "field rkp_net_ops.info changed")) << joined(violations);
}

TEST_F(AbiLayoutTest, WidenedFieldIsCaught) {
    Layout mutant = layoutOfMutantRetyped();
    expectDerived(mutant);
    std::vector<std::string> violations = appendViolations(table_, mutant);
    EXPECT_TRUE(mentions(violations, "field rkp_port_spec.parent_port changed"))
        << joined(violations);
}

TEST_F(AbiLayoutTest, RenumberedFlagIsCaught) {
    Layout mutant = layoutOfMutantRenumbered();
    expectDerived(mutant);
    std::vector<std::string> violations = appendViolations(table_, mutant);
    EXPECT_EQ(violations,
              std::vector<std::string>{"const RKP_SUP_UDP changed: was \"2\", is \"4096\""});
}

TEST_F(AbiLayoutTest, MemberInPaddingIsCaught) {
    Layout mutant = layoutOfMutantFilledHole();
    expectDerived(mutant);
    EXPECT_EQ(
        unlistedMembers(mutant),
        std::vector<std::string>{"struct rkp_net_ops has 8 members, the layout list names 7"});
}

TEST_F(AbiLayoutTest, AppendedFieldIsAccepted) {
    Layout mutant = layoutOfMutantAppended();
    expectDerived(mutant);
    EXPECT_EQ(appendViolations(table_, mutant), std::vector<std::string>{});
    EXPECT_EQ(unlistedMembers(mutant), std::vector<std::string>{});
}

}  // namespace
}  // namespace rkabi
