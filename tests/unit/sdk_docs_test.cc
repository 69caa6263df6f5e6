// The SDK's documentation of its CMake functions matches what the functions parse: a plugin
// author copies the usage line from the installed package's header or from sdk/README.md, and a
// keyword that does not exist is silently taken as an argument of the one before it.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace {

const std::string kSource = RK_TEST_SOURCE_DIR;

std::string readFile(const std::string &path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// The keywords cmake_parse_arguments takes in the definition of function, from the helpers file.
std::set<std::string> parsedKeywords(const std::string &function) {
    std::string helpers = readFile(kSource + "/sdk/cmake/RootlessKitPluginHelpers.cmake");
    size_t at = helpers.find("function(" + function);
    EXPECT_NE(at, std::string::npos) << function;
    std::smatch match;
    std::string body = at == std::string::npos ? "" : helpers.substr(at);
    std::regex call(R"re(cmake_parse_arguments\(ARG\s+"([^"]*)"\s+"([^"]*)"\s+"([^"]*)")re");
    EXPECT_TRUE(std::regex_search(body, match, call)) << function;
    std::set<std::string> keywords;
    for (size_t group = 1; group < match.size(); group++) {
        std::stringstream list(match[group].str());
        for (std::string word; std::getline(list, word, ';');) {
            if (!word.empty()) {
                keywords.insert(word);
            }
        }
    }
    return keywords;
}

// The keywords ("[NET <...>]" gives NET) of the first usage "function(...)" in text, which may
// run over several comment lines.
std::set<std::string> documentedKeywords(const std::string &text, const std::string &function) {
    size_t at = text.find(function + "(<");
    EXPECT_NE(at, std::string::npos) << "no usage of " << function;
    if (at == std::string::npos) {
        return {};
    }
    size_t depth = 0;
    size_t end = at + function.size();
    for (; end < text.size(); end++) {
        depth += text[end] == '(' ? 1 : 0;
        if (text[end] == ')' && --depth == 0) {
            break;
        }
    }
    std::string usage = text.substr(at, end - at);
    std::set<std::string> keywords;
    std::regex option(R"(\[([A-Z_]+))");
    for (std::sregex_iterator it(usage.begin(), usage.end(), option), last; it != last; ++it) {
        keywords.insert((*it)[1].str());
    }
    return keywords;
}

TEST(SdkDocsTest, InstalledConfigHeaderNamesTheConformanceTestKeywords) {
    std::string config = readFile(kSource + "/sdk/cmake/RootlessKitPluginConfig.cmake.in");
    EXPECT_EQ(documentedKeywords(config, "rootlesskit_add_conformance_test"),
              parsedKeywords("rootlesskit_add_conformance_test"));
}

TEST(SdkDocsTest, ReadmeNamesTheConformanceTestKeywords) {
    std::string readme = readFile(kSource + "/sdk/README.md");
    EXPECT_EQ(documentedKeywords(readme, "rootlesskit_add_conformance_test"),
              parsedKeywords("rootlesskit_add_conformance_test"));
}

TEST(SdkDocsTest, ReadmeNamesThePluginKeywords) {
    std::string readme = readFile(kSource + "/sdk/README.md");
    std::set<std::string> documented = documentedKeywords(readme, "rootlesskit_add_plugin");
    documented.insert({"KIND", "SOURCES"});  // written without brackets: they are required
    EXPECT_EQ(documented, parsedKeywords("rootlesskit_add_plugin"));
}

}  // namespace
