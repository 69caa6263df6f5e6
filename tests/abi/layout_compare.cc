// The append-only rule, checked on two layout tables (see layout_dump.h).
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/abi/layout_dump.h"

namespace rkabi {

namespace {

// One table line cut into its first word ("struct", "field", ...), its second (the name) and
// the rest (what must not change).
struct Entry {
    std::string kind;
    std::string name;
    std::string rest;
};

Entry parse(const std::string &line) {
    std::istringstream in(line);
    Entry entry;
    in >> entry.kind >> entry.name;
    std::getline(in >> std::ws, entry.rest);
    return entry;
}

// The number after word in rest ("size 24 align 8", "size") or -1.
long numberAfter(const std::string &rest, const std::string &word) {
    std::istringstream in(rest);
    std::string token;
    while (in >> token) {
        if (token == word && in >> token) {
            return std::stol(token);
        }
    }
    return -1;
}

// The struct a field line belongs to: "rkp_host.ctx" -> "rkp_host".
std::string structOf(const std::string &fieldName) {
    return fieldName.substr(0, fieldName.find('.'));
}

// How many members a field line stands for: an array type ("char [512]") its extent, else 1.
long membersOf(const std::string &rest) {
    size_t open = rest.rfind('[');
    if (rest.empty() || rest.back() != ']' || open == std::string::npos) {
        return 1;
    }
    return std::stol(rest.substr(open + 1));
}

std::string checkStruct(const Entry &frozen, const std::string &currentRest) {
    long oldSize = numberAfter(frozen.rest, "size");
    long newSize = numberAfter(currentRest, "size");
    if (newSize < oldSize) {
        return "struct " + frozen.name + " shrank from " + std::to_string(oldSize) + " to " +
               std::to_string(newSize) + " bytes";
    }
    long oldAlign = numberAfter(frozen.rest, "align");
    long newAlign = numberAfter(currentRest, "align");
    if (newAlign != oldAlign) {
        return "struct " + frozen.name + " changed its alignment from " + std::to_string(oldAlign) +
               " to " + std::to_string(newAlign);
    }
    return "";
}

std::string checkEntry(const Entry &frozen, const std::string &currentRest) {
    if (frozen.kind == "struct") {
        return checkStruct(frozen, currentRest);
    }
    if (frozen.kind == "const" && frozen.name == "RKP_ABI_MINOR") {
        if (std::stol(currentRest) < std::stol(frozen.rest)) {
            return "RKP_ABI_MINOR went back from " + frozen.rest + " to " + currentRest;
        }
        return "";
    }
    if (currentRest != frozen.rest) {
        return frozen.kind + " " + frozen.name + " changed: was \"" + frozen.rest + "\", is \"" +
               currentRest + "\"";
    }
    return "";
}

// Fields current lists that frozen has not must lie past the 1.0 end of their struct.
std::vector<std::string> insertedFields(const std::map<std::string, std::string> &frozen,
                                        const Layout &current) {
    std::vector<std::string> inserted;
    for (const std::string &line : current) {
        Entry entry = parse(line);
        if (entry.kind != "field" || frozen.count("field " + entry.name) != 0) {
            continue;
        }
        auto owner = frozen.find("struct " + structOf(entry.name));
        if (owner == frozen.end()) {
            continue;  // a struct new since 1.0
        }
        long offset = numberAfter(entry.rest, "offset");
        long oldSize = numberAfter(owner->second, "size");
        if (offset < oldSize) {
            inserted.push_back("field " + entry.name + " was inserted at offset " +
                               std::to_string(offset) + ", inside the " + std::to_string(oldSize) +
                               " bytes of the 1.0 struct");
        }
    }
    return inserted;
}

}  // namespace

std::vector<std::string> appendViolations(const Layout &frozen, const Layout &current) {
    std::map<std::string, std::string> now;
    for (const std::string &line : current) {
        Entry entry = parse(line);
        now[entry.kind + " " + entry.name] = entry.rest;
    }
    std::map<std::string, std::string> old;
    std::vector<std::string> violations;
    for (const std::string &line : frozen) {
        Entry entry = parse(line);
        old[entry.kind + " " + entry.name] = entry.rest;
        auto found = now.find(entry.kind + " " + entry.name);
        if (found == now.end()) {
            violations.push_back(entry.kind + " " + entry.name + " is gone");
            continue;
        }
        std::string problem = checkEntry(entry, found->second);
        if (!problem.empty()) {
            violations.push_back(problem);
        }
    }

    for (const std::string &problem : insertedFields(old, current)) {
        violations.push_back(problem);
    }
    return violations;
}

std::vector<std::string> unlistedMembers(const Layout &layout) {
    std::map<std::string, long> members;
    std::map<std::string, long> listed;
    for (const std::string &line : layout) {
        Entry entry = parse(line);
        if (entry.kind == "struct") {
            members[entry.name] = numberAfter(entry.rest, "members");
        } else if (entry.kind == "field") {
            listed[structOf(entry.name)] += membersOf(entry.rest);
        }
    }

    std::vector<std::string> unlisted;
    for (const auto &[name, count] : members) {
        if (listed[name] != count) {
            unlisted.push_back("struct " + name + " has " + std::to_string(count) +
                               " members, the layout list names " + std::to_string(listed[name]));
        }
    }
    return unlisted;
}

}  // namespace rkabi
