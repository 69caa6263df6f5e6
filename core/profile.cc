// Profiles: reads a YAML file whose keys are flag names and applies it onto Options, reporting
// the first problem as "<file>:<line>:<col>: <what is wrong>, <what is valid>".
#include "core/profile.h"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <sstream>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Stringifier.h>
#include <Poco/JSONString.h>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "core/cli_flags.h"

namespace rootlesskit {
namespace {

// Keys a profile accepts besides the flag names.
constexpr const char *kPluginPathKey = "plugin-path";
constexpr const char *kDriversKey = "drivers";

// How much the drivers section may expand to once YAML aliases are followed: an alias is a
// copy of its anchor wherever it is used, so a few lines can nest into billions of values.
constexpr size_t kMaxDriverValues = 10000;  // over all driver sections together
constexpr int kMaxDriverDepth = 64;         // levels of lists and mappings in one section

std::string inQuotes(const std::string &text) {
    return "\"" + text + "\"";
}

// How a node reads in an error message: its text for a scalar, else its kind.
std::string describe(const YAML::Node &node) {
    switch (node.Type()) {
        case YAML::NodeType::Scalar:
            return inQuotes(node.Scalar());
        case YAML::NodeType::Sequence:
            return "a list";
        case YAML::NodeType::Map:
            return "a mapping";
        default:
            return "nothing";
    }
}

// The edit distance between a and b, for "did you mean" suggestions.
size_t editDistance(const std::string &a, const std::string &b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t next =
                std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = row[j];
            row[j] = next;
        }
    }
    return row[b.size()];
}

std::vector<std::string> validKeys() {
    std::vector<std::string> keys = {kDriversKey, kPluginPathKey};
    for (const auto &flag : allFlags()) {
        if (flag.profileKey) {
            keys.emplace_back(flag.name);
        }
    }
    std::sort(keys.begin(), keys.end());
    return keys;
}

std::string unknownKeyMessage(const std::string &key) {
    std::vector<std::string> keys = validKeys();
    std::string best;
    size_t bestDistance = 3;  // suggest only close misspellings
    std::string list;
    for (const auto &candidate : keys) {
        size_t distance = editDistance(key, candidate);
        if (distance < bestDistance) {
            best = candidate;
            bestDistance = distance;
        }
        list += (list.empty() ? "" : ", ") + candidate;
    }
    std::string hint = best.empty() ? "" : ", did you mean " + inQuotes(best) + "?";
    return "unknown key " + inQuotes(key) + hint + " valid keys: " + list;
}

// Reads the whole file; fails with the errno text.
Result<std::string> readFile(const std::string &path) {
    std::unique_ptr<FILE, int (*)(FILE *)> file(std::fopen(path.c_str(), "re"), &std::fclose);
    if (!file) {
        int err = errno;
        return Status::error(path + ": read profile: " + errnoText(err), err);
    }
    std::string text;
    char buf[4096];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof(buf), file.get())) > 0) {
        text.append(buf, n);
    }
    if (std::ferror(file.get()) != 0) {
        int err = errno;
        return Status::error(path + ": read profile: " + errnoText(err), err);
    }
    return text;
}

// Plain YAML scalars become JSON booleans, null, numbers or strings by their look; quoted
// scalars (tag "!") stay strings.
Poco::Dynamic::Var scalarToJson(const YAML::Node &node) {
    const std::string &text = node.Scalar();
    if (node.Tag() == "!") {
        return text;
    }
    if (text == "true" || text == "True" || text == "TRUE") {
        return true;
    }
    if (text == "false" || text == "False" || text == "FALSE") {
        return false;
    }
    if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
        return Poco::Dynamic::Var();
    }
    int64_t integer = 0;
    auto [iend, iec] = std::from_chars(text.data(), text.data() + text.size(), integer);
    if (iec == std::errc() && iend == text.data() + text.size()) {
        return integer;
    }
    double real = 0;
    auto [rend, rec] = std::from_chars(text.data(), text.data() + text.size(), real);
    if (rec == std::errc() && rend == text.data() + text.size()) {
        return real;
    }
    return text;
}

// Applies one profile file. Every method fails with the position of the offending node.
class ProfileReader {
public:
    ProfileReader(const std::string &path, Options &options, std::set<std::string> &keysSet)
        : path_(path),
          baseDir_(std::filesystem::absolute(path).parent_path()),
          options_(options),
          keysSet_(keysSet) {}

    Status apply(const YAML::Node &root);

private:
    Status fail(const YAML::Node &node, const std::string &message) const {
        YAML::Mark mark = node.Mark();
        return Status::error(path_ + ":" + std::to_string(mark.line + 1) + ":" +
                             std::to_string(mark.column + 1) + ": " + message);
    }

    Status applyKey(const YAML::Node &key, const YAML::Node &value);
    Status applyFlag(const FlagSpec &flag, const YAML::Node &value);
    Status convertValue(const FlagSpec &flag, const YAML::Node &value);
    Result<std::vector<std::string>> readList(const std::string &key, const YAML::Node &value);
    Status applyDrivers(const YAML::Node &value);
    Status applyDriverSection(const std::string &section, const YAML::Node &value);
    Result<Poco::Dynamic::Var> toJson(const YAML::Node &node, int depth);
    std::string relativeToProfile(const std::string &path) const;

    std::string path_;
    std::filesystem::path baseDir_;
    Options &options_;
    std::set<std::string> &keysSet_;
    size_t driverValues_ = 0;  // values of the drivers section converted so far
};

Status ProfileReader::apply(const YAML::Node &root) {
    if (root.IsNull()) {
        return Status();  // an empty file sets nothing
    }
    if (!root.IsMap()) {
        return fail(root,
                    "a profile must be a mapping of flag names to values, got " + describe(root));
    }

    // Driver sections last, so that their keys win over the same setting given as a flag key.
    std::map<std::string, int> seenOnLine;
    std::optional<YAML::Node> drivers;
    for (const auto &item : root) {
        const std::string &name = item.first.Scalar();
        if (auto seen = seenOnLine.find(name); seen != seenOnLine.end()) {
            return fail(item.first, "duplicate key " + inQuotes(name) + ", first set on line " +
                                        std::to_string(seen->second));
        }
        seenOnLine[name] = item.first.Mark().line + 1;
        if (name == kDriversKey) {
            drivers = item.second;  // applied after the loop
            continue;
        }
        Status status = applyKey(item.first, item.second);
        if (!status.ok()) {
            return status;
        }
    }
    return drivers ? applyDrivers(*drivers) : Status();
}

Status ProfileReader::applyKey(const YAML::Node &key, const YAML::Node &value) {
    const std::string &name = key.Scalar();
    if (name == kPluginPathKey) {
        auto dirs = readList(name, value);
        if (!dirs) {
            return dirs.status();
        }
        for (auto &dir : *dirs) {
            dir = relativeToProfile(dir);
        }
        options_.pluginPath = *dirs;
        return Status();
    }

    const FlagSpec *flag = findFlag(name);
    if (flag == nullptr || !flag->profileKey || name.size() == 1) {
        return fail(key, unknownKeyMessage(name));
    }
    return applyFlag(*flag, value);
}

// Stores value into flag's field, converted to the field's type.
Status ProfileReader::convertValue(const FlagSpec &flag, const YAML::Node &value) {
    const std::string key = flag.name;
    const std::string typeError = "key " + inQuotes(key) + ": expected ";
    if (auto field = std::get_if<bool Options::*>(&flag.field)) {
        const std::string text = value.IsScalar() ? value.Scalar() : "";
        if (text != "true" && text != "false" && text != "True" && text != "False" &&
            text != "TRUE" && text != "FALSE") {
            return fail(value, typeError + "true or false, got " + describe(value));
        }
        options_.*(*field) = text[0] == 't' || text[0] == 'T';
    } else if (auto field = std::get_if<int Options::*>(&flag.field)) {
        const std::string text = value.IsScalar() ? value.Scalar() : "";
        int number = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
        if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
            return fail(value, typeError + "an integer, got " + describe(value));
        }
        options_.*(*field) = number;
    } else if (auto field = std::get_if<std::string Options::*>(&flag.field)) {
        if (!value.IsScalar()) {
            return fail(value, typeError + "a string, got " + describe(value));
        }
        options_.*(*field) =
            key == "state-dir" ? relativeToProfile(value.Scalar()) : value.Scalar();
    } else if (auto field = std::get_if<std::vector<std::string> Options::*>(&flag.field)) {
        auto list = readList(key, value);
        if (!list) {
            return list.status();
        }
        options_.*(*field) = *list;
    }
    return Status();
}

Status ProfileReader::applyFlag(const FlagSpec &flag, const YAML::Node &value) {
    Status status = convertValue(flag, value);
    if (!status.ok()) {
        return status;
    }

    // The same value checks as on the command line, named by the key; a list entry is pointed
    // at directly.
    const std::string key = "key " + inQuotes(flag.name) + ": ";
    if (value.IsSequence() && flag.checkString != nullptr) {
        for (const auto &entry : value) {
            Status status = flag.checkString(entry.Scalar());
            if (!status.ok()) {
                return fail(entry, key + status.message());
            }
        }
    }
    status = checkFlagValue(flag, options_);
    if (!status.ok()) {
        return fail(value, key + status.message());
    }
    keysSet_.insert(flag.name);
    return Status();
}

Result<std::vector<std::string>> ProfileReader::readList(const std::string &key,
                                                         const YAML::Node &value) {
    const std::string typeError = "key " + inQuotes(key) + ": expected a list of strings, got ";
    if (!value.IsSequence()) {
        return fail(value, typeError + describe(value));
    }
    std::vector<std::string> list;
    for (const auto &entry : value) {
        if (!entry.IsScalar()) {
            return fail(entry, typeError + describe(entry) + " as an entry");
        }
        list.push_back(entry.Scalar());
    }
    return list;
}

Status ProfileReader::applyDrivers(const YAML::Node &value) {
    if (!value.IsMap()) {
        return fail(value,
                    "key \"drivers\": expected a mapping with \"network\" and \"port\", got " +
                        describe(value));
    }
    for (const auto &kind : value) {
        const std::string &kindName = kind.first.Scalar();
        if (kindName != "network" && kindName != "port") {
            return fail(kind.first, "unknown driver kind " + inQuotes(kindName) +
                                        " under \"drivers\", valid: network, port");
        }
        if (!kind.second.IsMap()) {
            return fail(kind.second,
                        "key \"drivers." + kindName +
                            "\": expected a mapping of driver names to settings, got " +
                            describe(kind.second));
        }
        for (const auto &driver : kind.second) {
            Status status =
                applyDriverSection(kindName + "/" + driver.first.Scalar(), driver.second);
            if (!status.ok()) {
                return status;
            }
        }
    }
    return Status();
}

Status ProfileReader::applyDriverSection(const std::string &section, const YAML::Node &value) {
    std::string dotted = "drivers." + section.substr(0, section.find('/')) + "." +
                         section.substr(section.find('/') + 1);
    if (!value.IsMap() && !value.IsNull()) {
        return fail(value, "key " + inQuotes(dotted) + ": expected a mapping of settings, got " +
                               describe(value));
    }

    // Keys that mirror a flag set that flag too, with the flag's checks.
    for (const auto &mapping : driverFlagKeys()) {
        if (section != mapping.section || !value.IsMap()) {
            continue;
        }
        YAML::Node setting = value[mapping.key];
        if (!setting.IsDefined()) {
            continue;
        }
        const FlagSpec *flag = findFlag(mapping.flag);
        std::string key = dotted + "." + mapping.key;
        if (!setting.IsScalar()) {
            return fail(setting,
                        "key " + inQuotes(key) + ": expected a string, got " + describe(setting));
        }
        options_.*std::get<std::string Options::*>(flag->field) = setting.Scalar();
        Status status = checkFlagValue(*flag, options_);
        if (!status.ok()) {
            return fail(setting, "key " + inQuotes(key) + ": " + status.message());
        }
        keysSet_.insert(mapping.flag);
    }

    // An empty section ("slirp4netns:" with nothing under it) is an empty object. A value that
    // goes past the limits fails at the setting holding it.
    Poco::JSON::Object::Ptr config = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    for (auto item = value.begin(); value.IsMap() && item != value.end(); ++item) {
        auto converted = toJson(item->second, 1);
        if (!converted) {
            return fail(item->first, "key " + inQuotes(dotted + "." + item->first.Scalar()) +
                                         ": " + converted.status().message());
        }
        config->set(item->first.Scalar(), *converted);
    }
    std::ostringstream json;
    Poco::JSON::Stringifier::condense(config, json);
    options_.driverConfig[section] = json.str();
    return Status();
}

// node as JSON. Each value is counted, and the limits checked, before it is built, so that an
// alias bomb fails at its first value past the limit instead of filling memory. Fails with the
// bare reason: a node reached through an alias carries the position of its anchor, so the
// caller names the entry it was converting instead.
Result<Poco::Dynamic::Var> ProfileReader::toJson(const YAML::Node &node, int depth) {
    if (++driverValues_ > kMaxDriverValues) {
        return Status::error("more than " + std::to_string(kMaxDriverValues) +
                             " values with YAML aliases expanded, the drivers section may hold "
                             "at most " +
                             std::to_string(kMaxDriverValues));
    }
    if (depth > kMaxDriverDepth) {
        return Status::error("nested more than " + std::to_string(kMaxDriverDepth) +
                             " levels deep, a driver section may nest at most " +
                             std::to_string(kMaxDriverDepth));
    }
    if (node.IsScalar()) {
        return scalarToJson(node);
    }
    if (node.IsSequence()) {
        Poco::JSON::Array::Ptr array = new Poco::JSON::Array();
        for (const auto &item : node) {
            auto converted = toJson(item, depth + 1);
            if (!converted) {
                return converted.status();
            }
            array->add(*converted);
        }
        return Poco::Dynamic::Var(array);
    }
    if (node.IsMap()) {
        Poco::JSON::Object::Ptr object = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
        for (const auto &item : node) {
            auto converted = toJson(item.second, depth + 1);
            if (!converted) {
                return converted.status();
            }
            object->set(item.first.Scalar(), *converted);
        }
        return Poco::Dynamic::Var(object);
    }
    return Poco::Dynamic::Var();
}

std::string ProfileReader::relativeToProfile(const std::string &path) const {
    if (path.empty() || std::filesystem::path(path).is_absolute()) {
        return path;
    }
    return (baseDir_ / path).lexically_normal().string();
}

// status with the control characters of its message (from a key, a value, the path, the
// character a YAML error is about) written as escapes, so that the error stays one line.
Status oneLine(const Status &status) {
    if (status.ok()) {
        return status;
    }
    std::string text;
    for (char c : status.message()) {
        auto byte = static_cast<unsigned char>(c);
        if (c == '\n') {
            text += "\\n";
        } else if (byte < 0x20 || byte == 0x7f) {
            text += fmt::format("\\x{:02x}", byte);
        } else {
            text += c;
        }
    }
    return Status::error(text, status.code());
}

// How many flow collections ("[", "{") line leaves open, quotes and comments skipped.
int flowDepthChange(const std::string &line) {
    int depth = 0;
    char quote = 0;
    for (size_t i = 0; i < line.size(); ++i) {
        char c = line[i];
        if (quote != 0) {
            quote = c == quote ? 0 : quote;
        } else if (c == '"' || c == '\'') {
            quote = c;
        } else if (c == '#' && (i == 0 || line[i - 1] == ' ')) {
            break;
        } else if (c == '[' || c == '{') {
            ++depth;
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
    return depth;
}

// The last top-level key written as a plain word ("mtu:" at the start of a line, outside any
// flow collection left open above) on or before line (0-based) of text: the key a YAML syntax
// error belongs to. "" when there is none.
std::string enclosingKey(const std::string &text, int line) {
    std::istringstream lines(text);
    std::string current;
    std::string key;
    int depth = 0;
    for (int i = 0; i <= line && std::getline(lines, current); ++i) {
        size_t end = current.find_first_not_of(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
        bool plainKey =
            depth <= 0 && end != std::string::npos && end > 0 && current[0] != '-' &&
            current[end] == ':' &&
            (end + 1 == current.size() || current[end + 1] == ' ' || current[end + 1] == '\t');
        if (plainKey) {
            key = current.substr(0, end);
        }
        depth += flowDepthChange(current);
    }
    return key;
}

}  // namespace

Status loadProfile(const std::string &path, Options &options, std::set<std::string> &keysSet) {
    auto text = readFile(path);
    if (!text) {
        return oneLine(text.status());
    }

    YAML::Node root;
    try {
        root = YAML::Load(*text);
    } catch (const YAML::Exception &e) {
        std::string key = enclosingKey(*text, e.mark.line);
        std::string where = key.empty() ? "" : " in key " + inQuotes(key);
        return oneLine(Status::error(path + ":" + std::to_string(e.mark.line + 1) + ":" +
                                     std::to_string(e.mark.column + 1) + ": invalid YAML" + where +
                                     ": " + e.msg));
    }

    // yaml-cpp throws on type conversions; the reader checks types itself, so anything caught
    // here is an unexpected document shape, still reported with its position.
    try {
        return oneLine(ProfileReader(path, options, keysSet).apply(root));
    } catch (const YAML::Exception &e) {
        return oneLine(Status::error(path + ":" + std::to_string(e.mark.line + 1) + ":" +
                                     std::to_string(e.mark.column + 1) + ": " + e.msg));
    }
}

}  // namespace rootlesskit
