// "rootlesskit plugins list": the registry as a table for people or as JSON for scripts.
#include "core/plugins_command.h"

#include <algorithm>
#include <array>
#include <iostream>
#include <string>
#include <vector>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <fmt/format.h>

#include "core/log.h"

namespace rootlesskit {

namespace {

constexpr size_t kColumns = 8;
// A longer kind, name or version is cut, so that one descriptor cannot push the other columns
// of every row off the screen.
constexpr size_t kCellMax = 64;
using Row = std::array<std::string, kColumns>;

std::string abiText(const PluginInfo &info) {
    if (info.abiMajor == 0 && info.abiMinor == 0) {
        return "-";  // refused before a descriptor could be read
    }
    return fmt::format("{}.{}", info.abiMajor, info.abiMinor);
}

std::string wordList(const std::vector<std::string> &words) {
    return words.empty() ? "-" : fmt::format("{}", fmt::join(words, ","));
}

// A cell of the table: the text with its control characters escaped (log.h), "-" when empty.
// The version, a refusal quoting the descriptor and the path come from outside the host.
std::string cell(const std::string &text) {
    return text.empty() ? "-" : terminalSafe(text, kCellMax);
}

Row tableRow(const PluginInfo &info) {
    return {cell(info.kind),
            cell(info.name),
            cell(info.version),
            abiText(info),
            wordList(supportNames(info.supports)),
            wordList(needNames(info.needs)),
            info.refusal.empty() ? "ok" : "refused: " + terminalSafe(info.refusal),
            terminalSafe(info.path)};
}

void printTable(const PluginRegistry &registry, std::ostream &out) {
    std::vector<Row> rows = {
        {"KIND", "NAME", "VERSION", "ABI", "SUPPORTS", "NEEDS", "STATUS", "PATH"}};
    for (const PluginInfo &info : registry.all()) {
        rows.push_back(tableRow(info));
    }

    // STATUS may be long (a refusal reason): it and PATH are not padded to a common width
    // beyond what the "ok" rows need, so a refusal does not push every path to the right.
    std::array<size_t, kColumns> width{};
    for (const Row &row : rows) {
        for (size_t i = 0; i < kColumns; i++) {
            bool refusal = i == 6 && row[i].rfind("refused", 0) == 0;
            if (!refusal) {
                width[i] = std::max(width[i], row[i].size());
            }
        }
    }
    for (const Row &row : rows) {
        std::string line;
        for (size_t i = 0; i + 1 < kColumns; i++) {
            line += fmt::format("{:<{}}  ", row[i], width[i]);
        }
        line += row[kColumns - 1];
        out << line << '\n';
    }
}

Poco::JSON::Array::Ptr wordArray(const std::vector<std::string> &words) {
    Poco::JSON::Array::Ptr array = new Poco::JSON::Array();
    for (const std::string &word : words) {
        array->add(word);
    }
    return array;
}

Poco::JSON::Object::Ptr jsonEntry(const PluginInfo &info) {
    Poco::JSON::Object::Ptr entry = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    entry->set("kind", info.kind);
    entry->set("name", info.name);
    entry->set("version", info.version);
    entry->set("description", info.description);
    std::string abi = abiText(info);
    entry->set("abi", abi == "-" ? "" : abi);  // "": refused before its ABI could be read
    entry->set("supports", wordArray(supportNames(info.supports)));
    entry->set("needs", wordArray(needNames(info.needs)));
    entry->set("path", info.path);
    entry->set("status", info.refusal.empty() ? "ok" : "refused");
    if (!info.refusal.empty()) {
        entry->set("refusal", info.refusal);
    }
    return entry;
}

void printJson(const PluginRegistry &registry, std::ostream &out) {
    Poco::JSON::Array array;
    for (const PluginInfo &info : registry.all()) {
        array.add(jsonEntry(info));
    }
    array.stringify(out);
    out << '\n';
}

}  // namespace

void printPlugins(const PluginRegistry &registry, bool json, std::ostream &out) {
    if (json) {
        printJson(registry, out);
    } else {
        printTable(registry, out);
    }
}

int runPluginsList(const PluginRegistry &registry, bool json) {
    printPlugins(registry, json, std::cout);
    std::cout.flush();
    return 0;
}

}  // namespace rootlesskit
