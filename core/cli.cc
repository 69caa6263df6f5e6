// The command line of rootlesskit: splits argv into flags and the command, stores the flags with
// CLI11, merges them over the profile, fills the driver configs and runs the parent-side
// validation in upstream's order.
//
// Why argv is scanned before CLI11 sees it: upstream's flag library (Go's) stops at the first
// argument that is not a flag and accepts long names after a single dash ("-net=host"). CLI11
// 2.1.2 knows neither: its prefix_command() mode puts unknown flags among the leftovers instead
// of failing, and "-net" reads as the short flag -n. The scan uses the flag table
// (cli_flags.h) to know which flags take a value, so it finds where the command starts, refuses
// unknown flags, and hands CLI11 only "--name value" pairs.
#include "core/cli.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/ParseHandler.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>
#include <CLI/CLI.hpp>

#include "core/cli_flags.h"
#include "core/log.h"
#include "core/profile.h"
#include "core/version.h"

namespace rootlesskit {
namespace {

using FlagNames = std::set<std::string>;

constexpr const char *kSeeHelp = ", see rootlesskit --help";

std::string inQuotes(const std::string &text) {
    return "\"" + text + "\"";
}

// ---------------------------------------------------------------------------------------------
// Scanning argv

struct FlagToken {
    const FlagSpec *flag;
    std::string value;  // "true"/"false" for a boolean flag
};

struct ScannedArgs {
    std::vector<FlagToken> flags;
    std::vector<std::string> command;
    bool terminated = false;  // the command came after "--"
};

bool isBoolFlag(const FlagSpec &flag) {
    return std::holds_alternative<bool Options::*>(flag.field) ||
           std::holds_alternative<std::monostate>(flag.field);
}

// Go's strconv.ParseBool, which upstream's flags use.
std::optional<bool> parseGoBool(const std::string &text) {
    static const FlagNames yes = {"1", "t", "T", "TRUE", "true", "True"};
    static const FlagNames no = {"0", "f", "F", "FALSE", "false", "False"};
    if (yes.count(text) != 0) {
        return true;
    }
    if (no.count(text) != 0) {
        return false;
    }
    return std::nullopt;
}

bool isDecimalInt(const std::string &text) {
    int value = 0;
    const char *end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    return !text.empty() && ec == std::errc() && ptr == end;
}

// Reads the flag at args[i], and its value from args[i + 1] when it takes one (i then points at
// the value). Accepts -name, --name, -name=value and --name=value, like Go's flag package.
Result<FlagToken> scanFlag(const std::vector<std::string> &args, size_t &i) {
    const std::string &arg = args[i];
    size_t dashes = arg[1] == '-' ? 2 : 1;
    std::string body = arg.substr(dashes);
    if (body.empty() || body[0] == '-' || body[0] == '=') {
        return Status::error("bad flag syntax: " + arg + kSeeHelp);
    }

    size_t eq = body.find('=');
    std::string shown = arg.substr(0, dashes) + body.substr(0, eq);
    const FlagSpec *flag = findFlag(body.substr(0, eq));
    if (flag == nullptr) {
        return Status::error("unknown flag " + shown + kSeeHelp);
    }
    bool hasValue = eq != std::string::npos;
    std::string value = hasValue ? body.substr(eq + 1) : "";

    if (isBoolFlag(*flag)) {
        // A boolean never takes the next argument: "--pidns false" runs the command "false".
        auto parsed = hasValue ? parseGoBool(value) : std::optional<bool>(true);
        if (!parsed) {
            return Status::error("invalid value " + inQuotes(value) + " for flag " + shown +
                                 ": expected true or false");
        }
        return FlagToken{flag, *parsed ? "true" : "false"};
    }
    if (!hasValue) {
        if (i + 1 >= args.size()) {
            return Status::error("flag " + shown + " needs a value" + kSeeHelp);
        }
        value = args[++i];
    }
    if (std::holds_alternative<int Options::*>(flag->field) && !isDecimalInt(value)) {
        return Status::error("invalid value " + inQuotes(value) + " for flag " + shown +
                             ": expected an integer");
    }
    return FlagToken{flag, value};
}

// Splits args into flags and the command: the command starts after "--" or at the first
// argument that does not start with "-" ("-" alone counts as an argument).
Result<ScannedArgs> scanArgs(const std::vector<std::string> &args) {
    ScannedArgs scanned;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string &arg = args[i];
        if (arg == "--") {
            scanned.terminated = true;
            scanned.command.assign(args.begin() + static_cast<long>(i) + 1, args.end());
            break;
        }
        if (arg.size() < 2 || arg[0] != '-') {
            scanned.command.assign(args.begin() + static_cast<long>(i), args.end());
            break;
        }
        auto token = scanFlag(args, i);
        if (!token) {
            return token.status();
        }
        scanned.flags.push_back(*token);
    }
    return scanned;
}

bool hasTrueFlag(const ScannedArgs &scanned, const std::string &name) {
    return std::any_of(scanned.flags.begin(), scanned.flags.end(), [&](const FlagToken &t) {
        return t.flag->name == name && t.value == "true";
    });
}

FlagNames namesOf(const ScannedArgs &scanned) {
    FlagNames names;
    for (const auto &token : scanned.flags) {
        names.insert(token.flag->name);
    }
    return names;
}

// ---------------------------------------------------------------------------------------------
// CLI11: storage of the flag values and the --help text

constexpr size_t kHelpWidth = 100;
constexpr size_t kHelpNameColumn = 34;

// Breaks text into lines of at most width characters at spaces (CLI11 2.1.2 does not wrap).
std::string wrapText(const std::string &text, size_t width) {
    std::istringstream words(text);
    std::string word;
    std::string out;
    size_t lineLength = 0;
    while (words >> word) {
        if (lineLength > 0 && lineLength + 1 + word.size() > width) {
            out += "\n";
            lineLength = 0;
        } else if (lineLength > 0) {
            out += " ";
            ++lineLength;
        }
        out += word;
        lineLength += word.size();
    }
    return out;
}

// CLI11's layout, with wrapped descriptions and one blank line between sections.
class HelpFormatter : public CLI::Formatter {
public:
    HelpFormatter() { column_width(kHelpNameColumn); }

    std::string make_description(const CLI::App *app) const override {
        return wrapText(app->get_description(), kHelpWidth) + "\n\n";
    }

    std::string make_usage(const CLI::App *, std::string) const override {
        return "Usage:\n"
               "  rootlesskit [flags] [--] COMMAND [ARG...]\n"
               "  rootlesskit [flags] plugins list [--json]\n\n";
    }

    std::string make_group(std::string group, bool positional,
                           std::vector<const CLI::Option *> options) const override {
        std::string out = group + ":\n";
        for (const CLI::Option *option : options) {
            out += make_option(option, positional);
        }
        return out;
    }

    std::string make_option_desc(const CLI::Option *option) const override {
        return wrapText(option->get_description(), kHelpWidth - kHelpNameColumn);
    }

    std::string make_footer(const CLI::App *app) const override {
        std::string out;
        std::istringstream paragraphs(app->get_footer());
        std::string paragraph;
        while (std::getline(paragraphs, paragraph)) {
            out += wrapText(paragraph, kHelpWidth) + "\n";
        }
        return out;
    }
};

std::string defaultText(const FlagSpec &flag, const Options &defaults) {
    struct Render {
        const Options &o;
        std::string operator()(std::monostate) const { return ""; }
        std::string operator()(bool Options::*f) const { return o.*f ? "true" : "false"; }
        std::string operator()(int Options::*f) const { return std::to_string(o.*f); }
        std::string operator()(std::string Options::*f) const {
            return (o.*f).empty() ? "" : inQuotes(o.*f);
        }
        std::string operator()(std::vector<std::string> Options::*) const { return ""; }
    };
    if (!flag.profileKey) {
        return "";
    }
    std::string text = std::visit(Render{defaults}, flag.field);
    return text.empty() ? "" : " (default: " + text + ")";
}

// The CLI11 application, bound to one Options that receives the flag values.
class FlagStore {
public:
    explicit FlagStore(const Options &defaults) : values_(defaults) {
        app_.set_help_flag();
        app_.formatter(std::make_shared<HelpFormatter>());
        for (const auto &flag : allFlags()) {
            addFlag(flag, defaultText(flag, defaults));
        }
    }

    // Stores every token; the tokens were checked by the scan, so CLI11 failures are unexpected
    // and reported as they come.
    Status parse(const std::vector<FlagToken> &tokens) {
        std::vector<std::string> args;
        for (const auto &token : tokens) {
            args.push_back(std::string("--") + token.flag->name);
            if (!isBoolFlag(*token.flag)) {
                args.push_back(token.value);
            } else {
                args.back() += "=" + token.value;
            }
        }
        std::reverse(args.begin(), args.end());  // CLI11 consumes a vector from its back
        try {
            app_.parse(args);
        } catch (const CLI::ParseError &e) {
            return Status::error(std::string("parse flags: ") + e.what() + kSeeHelp);
        }
        return Status();
    }

    const Options &values() const { return values_; }

    std::string help(const std::string &profileNote) {
        app_.footer(footer(profileNote));
        return app_.help();
    }

private:
    void addFlag(const FlagSpec &flag, const std::string &defaults) {
        std::string names = std::string("--") + flag.name;
        if (flag.shortName != 0) {
            names = std::string("-") + flag.shortName + "," + names;
        }
        std::string description = flag.help + defaults;

        CLI::Option *option = nullptr;
        if (auto f = std::get_if<bool Options::*>(&flag.field)) {
            option = app_.add_flag(names, values_.*(*f), description);
        } else if (auto f = std::get_if<int Options::*>(&flag.field)) {
            option = app_.add_option(names, values_.*(*f), description)->type_name("INT");
        } else if (auto f = std::get_if<std::string Options::*>(&flag.field)) {
            option = app_.add_option(names, values_.*(*f), description)->type_name("VALUE");
        } else if (auto f = std::get_if<std::vector<std::string> Options::*>(&flag.field)) {
            option = app_.add_option(names, values_.*(*f), description)->type_name("VALUE");
        } else {
            option = app_.add_flag(names, unusedFlag_, description);
        }
        option->group(flag.category);
        if (!std::holds_alternative<std::vector<std::string> Options::*>(flag.field)) {
            option->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // Go: last one wins
        }
    }

    static std::string footer(const std::string &profileNote) {
        return "The command is everything after \"--\", or from the first argument that is not "
               "a flag, passed as given: in \"rootlesskit bash --debug\", --debug goes to bash.\n"
               "\"plugins list\" as the first two words lists the installed network and port "
               "drivers instead; a command named \"plugins\" must then be given after \"--\" or "
               "with its path.\n"
               "Flags are also accepted as -name and -name=value; booleans as --name=false. List "
               "flags repeat, and each value is split on commas.\n" +
               profileNote;
    }

    CLI::App app_{
        "rootlesskit: run a command as a fake root in a user namespace, with its own "
        "network namespace and ports forwarded from the host.",
        "rootlesskit"};
    Options values_;
    bool unusedFlag_ = false;
};

// ---------------------------------------------------------------------------------------------
// Profiles

// Where shipped profiles live: the source tree's conf/ when this binary runs from the build
// tree, else the installed data directory, found from where the binary lies (so that an
// installation made with `cmake --install --prefix`, or moved, reads its own profiles).
std::string profilesDir() {
    std::error_code ec;
    std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) {
        return RK_PROFILE_INSTALL_DIR;
    }
    std::filesystem::path buildBin = std::filesystem::weakly_canonical(RK_BUILD_BIN_DIR, ec);
    if (!ec && exe.parent_path() == buildBin) {
        return RK_SOURCE_CONF_DIR;
    }
    return (exe.parent_path() / RK_PROFILE_DIR_FROM_BINDIR).lexically_normal().string();
}

// The profile file to load: --profile's value (a bare name such as "slirp4netns" that is not a
// regular file, or a symlink to one, names a shipped profile: a directory of that name does
// not hide it), else the shipped default.yaml when it exists; "" for none. "--profile=" loads
// no profile at all.
std::string resolveProfile(bool given, const std::string &value) {
    std::error_code ec;
    if (given) {
        bool bareName = !value.empty() && value.find('/') == std::string::npos;
        if (bareName && !std::filesystem::is_regular_file(value, ec)) {
            std::string file = value.ends_with(".yaml") ? value : value + ".yaml";
            return profilesDir() + "/" + file;
        }
        return value;
    }
    std::string fallback = profilesDir() + "/default.yaml";
    return std::filesystem::exists(fallback, ec) ? fallback : "";
}

// Splits each value of a list flag on commas and trims each piece, as upstream's flag library
// does. An empty piece is refused rather than passed on as an empty directory or port spec.
Result<std::vector<std::string>> splitListFlag(const FlagSpec &flag,
                                               const std::vector<std::string> &values) {
    constexpr const char *kSpace = " \t\n\r\f\v";
    std::vector<std::string> pieces;
    for (const auto &value : values) {
        size_t start = 0;
        while (true) {
            size_t comma = value.find(',', start);
            std::string piece =
                value.substr(start, comma == std::string::npos ? comma : comma - start);
            size_t first = piece.find_first_not_of(kSpace);
            if (first == std::string::npos) {
                return Status::error("flag --" + std::string(flag.name) + ": empty entry in " +
                                     inQuotes(value) + kSeeHelp);
            }
            pieces.push_back(piece.substr(first, piece.find_last_not_of(kSpace) - first + 1));
            if (comma == std::string::npos) {
                break;
            }
            start = comma + 1;
        }
    }
    return pieces;
}

// Copies the flags given on the command line over the profile's values; a list flag replaces
// the profile's list.
Status overlayFlags(const Options &flags, const FlagNames &given, Options &options) {
    for (const auto &flag : allFlags()) {
        if (given.count(flag.name) == 0 || !flag.profileKey) {
            continue;  // --profile and --print-semver were acted upon already
        }
        if (auto f = std::get_if<bool Options::*>(&flag.field)) {
            options.*(*f) = flags.*(*f);
        } else if (auto f = std::get_if<int Options::*>(&flag.field)) {
            options.*(*f) = flags.*(*f);
        } else if (auto f = std::get_if<std::string Options::*>(&flag.field)) {
            options.*(*f) = flags.*(*f);
        } else if (auto f = std::get_if<std::vector<std::string> Options::*>(&flag.field)) {
            auto pieces = splitListFlag(flag, flags.*(*f));
            if (!pieces) {
                return pieces.status();
            }
            options.*(*f) = *pieces;
        }
    }
    return Status();
}

// Writes the driver-specific flags into their drivers' JSON configs. By the time this runs,
// options holds the winning value of each: the command line, else the profile's drivers
// section, else the profile's flag key, else the default.
Status fillDriverConfigs(Options &options) {
    std::map<std::string, Poco::JSON::Object::Ptr> objects;
    try {
        for (const auto &mapping : driverFlagKeys()) {
            Poco::JSON::Object::Ptr &object = objects[mapping.section];
            if (object.isNull()) {
                auto existing = options.driverConfig.find(mapping.section);
                std::string text = existing == options.driverConfig.end() ? "{}" : existing->second;
                Poco::JSON::Parser parser(new Poco::JSON::ParseHandler(true));
                object = parser.parse(text).extract<Poco::JSON::Object::Ptr>();
            }
            const FlagSpec *flag = findFlag(mapping.flag);
            object->set(mapping.key, options.*std::get<std::string Options::*>(flag->field));
        }
        for (const auto &[section, object] : objects) {
            std::ostringstream json;
            Poco::JSON::Stringifier::condense(object, json);
            options.driverConfig[section] = json.str();
        }
    } catch (const Poco::Exception &e) {
        return Status::error("driver config: " +
                             (e.message().empty() ? e.displayText() : e.message()));
    }
    return Status();
}

// ---------------------------------------------------------------------------------------------
// Validation, in the order of upstream's parent (first failure wins)

using Check = Status (*)(Options &options, const FlagNames &given);

Status checkCommand(Options &options, const FlagNames &) {
    return options.command.empty() ? Status::error("no command specified") : Status();
}

// An empty --evacuate-cgroup2= means "not set", as upstream.
Status checkEvacuation(Options &options, const FlagNames &) {
    if (options.evacuateCgroup2.empty()) {
        return Status();
    }
    if (!options.cgroupns) {
        return Status::error("evacuate-cgroup2 requires --cgroupns");
    }
    if (!options.pidns) {
        return Status::error("evacuate-cgroup2 requires --pidns");
    }
    return checkEvacuateCgroup2(options.evacuateCgroup2);
}

// Makes --state-dir absolute against the working directory (a profile's relative state-dir was
// already resolved against the profile's directory). The directory is created later, by the
// runtime, together with its lock.
Status absolutizeStateDir(Options &options, const FlagNames &) {
    if (options.stateDir.empty()) {
        return Status();
    }
    std::error_code ec;
    std::filesystem::path absolute = std::filesystem::absolute(options.stateDir, ec);
    if (ec) {
        return Status::error("state-dir " + options.stateDir + ": " + ec.message());
    }
    std::string clean = absolute.lexically_normal().string();
    if (clean.size() > 1 && clean.back() == '/') {
        clean.pop_back();
    }
    options.stateDir = clean;
    return Status();
}

Status checkNetworkValues(Options &options, const FlagNames &) {
    Status status = checkMtu(options.mtu);
    if (status.ok()) {
        status = checkCidr(options.cidr);
    }
    if (status.ok()) {
        status = checkIfname(options.ifname);
    }
    return status;
}

Status checkReaperOptions(Options &options, const FlagNames &) {
    Status status = checkReaper(options.reaper);
    if (status.ok() && options.reaper == "true" && !options.pidns) {
        status = Status::error("reaper requires --pidns");
    }
    return status;
}

Status checkMountOptions(Options &options, const FlagNames &) {
    Status status = checkPropagation(options.propagation);
    if (status.ok()) {
        status = checkCopyUpMode(options.copyUpMode);
    }
    for (const auto &dir : options.copyUp) {
        if (status.ok()) {
            status = checkCopyUpDir(dir);
        }
    }
    // Copy-up bind-mounts the staged tmpfs over each directory; with shared propagation those
    // mounts would leak back into the host's mount namespace.
    bool shared = options.propagation == "shared" || options.propagation == "rshared";
    if (status.ok() && shared && !options.copyUp.empty()) {
        status = Status::error("propagation " + options.propagation +
                               " does not support copy-up driver " + options.copyUpMode);
    }
    return status;
}

Status checkHelperModes(Options &options, const FlagNames &) {
    Status status = checkSlirp4netnsSandbox(options.slirp4netnsSandbox);
    if (status.ok()) {
        status = checkSlirp4netnsSeccomp(options.slirp4netnsSeccomp);
    }
    if (status.ok()) {
        status = checkSubidSource(options.subidSource);
    }
    if (status.ok()) {
        status = checkLxcUserNicBridge(options.lxcUserNicBridge);
    }
    return status;
}

Status checkPublishing(Options &options, const FlagNames &) {
    if (options.portDriver == "none" && !options.publish.empty()) {
        return Status::error("port driver \"none\" does not support publishing ports");
    }
    for (const auto &spec : options.publish) {
        Status status = checkPublish(spec);
        if (!status.ok()) {
            return status;
        }
    }
    return Status();
}

constexpr Check kChecks[] = {
    checkCommand,       checkEvacuation,   absolutizeStateDir, checkNetworkValues,
    checkReaperOptions, checkMountOptions, checkHelperModes,   checkPublishing,
};

// ---------------------------------------------------------------------------------------------
// The steps of parseCommandLine

// "plugins list [--json]" in place of a command; nullopt when the command is something else.
Result<std::optional<CliResult>> pluginsListAction(const ScannedArgs &scanned) {
    const auto &command = scanned.command;
    if (scanned.terminated || command.size() < 2 || command[0] != "plugins" ||
        command[1] != "list") {
        return std::optional<CliResult>();
    }
    CliResult result;
    result.action = CliAction::PluginsList;
    for (size_t i = 2; i < command.size(); ++i) {
        if (command[i] == "--json" || command[i] == "-json") {
            result.pluginsJson = true;
            continue;
        }
        return Status::error("unknown argument " + command[i] +
                             " for \"rootlesskit plugins list\", valid: --json");
    }
    return std::optional<CliResult>(result);
}

// The profile, then the command line over it, then the driver configs.
Result<Options> mergeOptions(const FlagStore &store, const FlagNames &given, FlagNames &set) {
    Options options;
    options.lxcUserNicBinary = defaultLxcUserNicBinary();

    std::string profile = resolveProfile(given.count("profile") != 0, store.values().profilePath);
    if (!profile.empty()) {
        Status status = loadProfile(profile, options, set);
        if (!status.ok()) {
            return status;
        }
    }
    options.profilePath = profile;

    Status status = overlayFlags(store.values(), given, options);
    if (status.ok()) {
        status = fillDriverConfigs(options);
    }
    if (!status.ok()) {
        return status;
    }
    set.insert(given.begin(), given.end());
    return options;
}

// --help and --version, which win over everything else; nullopt when neither was given.
std::optional<CliResult> infoAction(const ScannedArgs &scanned, FlagStore &store) {
    CliResult result;
    if (hasTrueFlag(scanned, "help")) {
        std::string fallback = resolveProfile(false, "");
        result.action = CliAction::PrintHelp;
        result.text = store.help(fallback.empty() ? "No profile is read unless --profile is given."
                                                  : "Without --profile, " + fallback + " is read.");
        return result;
    }
    if (hasTrueFlag(scanned, "version")) {
        result.action = CliAction::PrintVersion;
        result.text = std::string("rootlesskit version ") + kVersion + "\n";
        return result;
    }
    return std::nullopt;
}

// --print-semver, which needs nothing else, not even a command; nullopt when not given.
Result<std::optional<CliResult>> semverAction(const FlagStore &store, const FlagNames &given) {
    if (given.count("print-semver") == 0) {
        return std::optional<CliResult>();
    }
    const std::string &component = store.values().printSemver;
    Status status = checkPrintSemver(component);
    if (!status.ok()) {
        return status;
    }
    int number = component == "major"   ? kVersionMajor
                 : component == "minor" ? kVersionMinor
                                        : kVersionPatch;
    CliResult result;
    result.action = CliAction::PrintSemver;
    result.text = std::to_string(number) + "\n";
    return std::optional<CliResult>(result);
}

Status validate(Options &options, const FlagNames &set) {
    for (Check check : kChecks) {
        Status status = check(options, set);
        if (!status.ok()) {
            return status;
        }
    }
    return Status();
}

Result<CliResult> parse(const std::vector<std::string> &args) {
    // 1. Split argv into flags and the command; --help and --version need nothing more.
    auto scanned = scanArgs(args);
    if (!scanned) {
        return scanned.status();
    }
    Options defaults;
    defaults.lxcUserNicBinary = defaultLxcUserNicBinary();
    FlagStore store(defaults);
    if (auto info = infoAction(*scanned, store)) {
        return *info;
    }

    // 2. Store the flags; then --print-semver, "plugins list", or a command to run.
    Status status = store.parse(scanned->flags);
    if (!status.ok()) {
        return status;
    }
    FlagNames given = namesOf(*scanned);
    auto semver = semverAction(store, given);
    if (!semver || *semver) {
        return semver ? **semver : Result<CliResult>(semver.status());
    }
    auto plugins = pluginsListAction(*scanned);
    if (!plugins) {
        return plugins.status();
    }
    CliResult result = *plugins ? **plugins : CliResult{};

    // 3. Merge profile and flags, then validate (a plugins listing needs only the plugin path).
    FlagNames set;
    auto options = mergeOptions(store, given, set);
    if (!options) {
        return options.status();
    }
    result.options = std::move(*options);
    if (result.action == CliAction::PluginsList) {
        return result;
    }
    result.options.command = scanned->command;
    status = validate(result.options, set);
    if (!status.ok()) {
        return status;
    }
    return result;
}

}  // namespace

Result<CliResult> parseCommandLine(const std::vector<std::string> &args) {
    // Every library exception is meant to be caught where it is thrown; this is the boundary
    // that keeps an unexpected one from ending the process without a message.
    try {
        return parse(args);
    } catch (const std::exception &e) {
        return Status::error(std::string("parse command line: ") + e.what());
    }
}

}  // namespace rootlesskit
