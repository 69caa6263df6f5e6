// The plugin ABI only ever grows at its end: the frozen 1.0 header still matches its checked-in
// table (sdk/abi/v1.0/layout.txt), the current header keeps every line of that table, no
// constant reuses the value of another of its family, and the checks catch the mutants the build
// derives from the current header.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
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

std::string readText(const std::string &path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Constants of one family (RKP_SUP_*, RKP_KIND_*, ...) that share a value, and flag bits not
// written as (UINT64_C(1) << N), one line each. The layout table only holds the 1.0 constants: a
// constant appended later that reuses the value of another would pass it unseen.
std::vector<std::string> reusedValues(const std::string &header) {
    static const std::regex define(
        R"(#define (RKP_(KIND|SIDE|LOG|PROTO|FAMILY|SUP|NEED)_[A-Z0-9_]+) ([^/\n]*[^/\s]))");
    static const std::regex bit(R"(\(UINT64_C\(1\) << ([0-9]+)\))");
    static const std::regex number(R"(([0-9]+)u)");
    std::map<std::string, std::map<unsigned long, std::string>> seen;  // family -> value -> name
    std::vector<std::string> problems;
    for (std::sregex_iterator it(header.begin(), header.end(), define), end; it != end; ++it) {
        std::string name = (*it)[1];
        std::string family = (*it)[2];
        std::string value = (*it)[3];
        bool flags = family == "SUP" || family == "NEED";
        std::smatch parsed;
        if (!std::regex_match(value, parsed, flags ? bit : number)) {
            problems.push_back(name + " is not written as " +
                               (flags ? "(UINT64_C(1) << N)" : "Nu") + ": " + value);
            continue;
        }
        unsigned long n = std::stoul(parsed[1]);
        auto [earlier, fresh] = seen[family].emplace(n, name);
        if (!fresh) {
            problems.push_back(name + " reuses the value of " + earlier->second);
        }
    }
    return problems;
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

TEST_F(AbiLayoutTest, ConstantsAreNeverReused) {
    std::string frozen = readText(RK_ABI_FROZEN_HEADER);
    ASSERT_FALSE(frozen.empty()) << "cannot read " << RK_ABI_FROZEN_HEADER;
    EXPECT_EQ(reusedValues(frozen), std::vector<std::string>{});
    std::string current = readText(RK_ABI_CURRENT_HEADER);
    ASSERT_FALSE(current.empty()) << "cannot read " << RK_ABI_CURRENT_HEADER;
    EXPECT_EQ(reusedValues(current), std::vector<std::string>{})
        << "a flag bit or constant value is never reused (sdk/README.md, section 9)";
}

TEST_F(AbiLayoutTest, ReusedFlagBitIsCaught) {
    std::string mutant = readText(std::string(RK_ABI_MUTANT_DIR) + "/reusedbit.h");
    ASSERT_NE(mutant.find("RKP_NEED_APPENDED"), std::string::npos)
        << "the mutant header was not derived: its pattern no longer occurs in rkp.h; "
           "update the rk_abi_mutant() lines in tests/abi/CMakeLists.txt";
    EXPECT_EQ(reusedValues(mutant),
              std::vector<std::string>{"RKP_NEED_APPENDED reuses the value of "
                                       "RKP_NEED_OWN_IFACE_SETUP"});
}

}  // namespace
}  // namespace rkabi
