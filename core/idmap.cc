// Sub-ID ranges and the newuidmap/newgidmap calls that write the child's ID maps.
#include "core/idmap.h"

#include <fcntl.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/log.h"
#include "core/signals.h"
#include "core/spawn.h"
#include "core/unique_fd.h"

namespace rootlesskit {

namespace {

std::string trim(const std::string &text) {
    const char *space = " \t\r\n";
    size_t begin = text.find_first_not_of(space);
    if (begin == std::string::npos) {
        return "";
    }
    return text.substr(begin, text.find_last_not_of(space) - begin + 1);
}

std::vector<std::string> split(const std::string &text, char separator) {
    std::vector<std::string> parts;
    std::stringstream in(text);
    std::string part;
    while (std::getline(in, part, separator)) {
        parts.push_back(part);
    }
    if (!text.empty() && text.back() == separator) {
        parts.emplace_back();
    }
    return parts;
}

std::vector<std::string> fields(const std::string &text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string field;
    while (in >> field) {
        out.push_back(field);
    }
    return out;
}

bool parseNumber(const std::string &text, uint64_t *out) {
    const char *end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, *out);
    return !text.empty() && ec == std::errc() && ptr == end;
}

bool isSkipped(const std::string &line) {
    return line.empty() || line[0] == '#';
}

// One getsubids query, e.g. {"-g", "rktest"}.
Result<std::vector<SubIdRange>> querySubIds(const std::vector<std::string> &args) {
    const char *env = std::getenv("GETSUBIDS");
    std::vector<std::string> argv = {env != nullptr && *env != '\0' ? env : "getsubids"};
    argv.insert(argv.end(), args.begin(), args.end());

    std::string shown = argv[0];
    for (const std::string &arg : args) {
        shown += " " + arg;
    }
    Result<CapturedRun> run = runCaptured(argv);
    if (!run) {
        return run.status().wrap(shown);
    }
    if (run->status != 0) {
        std::string output = trim(run->output);
        return Status::error(shown + " failed: " + (output.empty() ? "" : output + ": ") +
                             waitStatusText(run->status));
    }
    std::vector<std::string> warnings;
    Result<std::vector<SubIdRange>> ranges = parseGetsubidsOutput(run->output, &warnings);
    for (const std::string &warning : warnings) {
        logger("core")->warn("{}", warning);
    }
    return ranges;
}

// By name, then by number, without exact duplicates; fails only when both queries fail.
Result<std::vector<SubIdRange>> queryBoth(const Identity &who, bool gids) {
    std::vector<std::string> prefix =
        gids ? std::vector<std::string>{"-g"} : std::vector<std::string>{};
    std::vector<std::string> byName = prefix;
    byName.push_back(who.name);
    std::vector<std::string> byNumber = prefix;
    // Both queries are by user, also for gids: "getsubids -g <uid>".
    byNumber.push_back(std::to_string(who.uid));

    Result<std::vector<SubIdRange>> named = querySubIds(byName);
    Result<std::vector<SubIdRange>> numbered = querySubIds(byNumber);
    if (!named && !numbered) {
        return named.status();
    }
    std::vector<SubIdRange> all = named ? *named : std::vector<SubIdRange>{};
    for (const SubIdRange &range : numbered ? *numbered : std::vector<SubIdRange>{}) {
        if (std::find(all.begin(), all.end(), range) == all.end()) {
            all.push_back(range);
        }
    }
    return all;
}

Result<SubIdRanges> acquireDynamic(const Identity &who) {
    Result<std::vector<SubIdRange>> uids = queryBoth(who, false);
    if (!uids) {
        return uids.status();
    }
    Result<std::vector<SubIdRange>> gids = queryBoth(who, true);
    if (!gids) {
        return gids.status();
    }
    return SubIdRanges{*uids, *gids};
}

Result<SubIdRanges> acquireStatic(const Identity &who, const std::string &subuidPath,
                                  const std::string &subgidPath) {
    Result<std::vector<SubIdRange>> uids = readSubIdFile(subuidPath, "subuid", who);
    if (!uids) {
        return uids.status();
    }
    Result<std::vector<SubIdRange>> gids = readSubIdFile(subgidPath, "subgid", who);
    if (!gids) {
        return gids.status();
    }
    return SubIdRanges{*uids, *gids};
}

Status runIdMapProgram(const std::string &program, pid_t pid, uint64_t id,
                       const std::vector<SubIdRange> &ranges) {
    std::vector<std::string> args = idmapArgs(id, ranges);
    std::vector<std::string> argv = {program, std::to_string(pid)};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string joined;
    for (const std::string &arg : args) {
        joined += (joined.empty() ? "" : " ") + arg;
    }
    std::string shown = program + " " + std::to_string(pid) + " [" + joined + "]";
    logger("core")->debug("running {} {}", program, std::to_string(pid) + " " + joined);

    Result<CapturedRun> run = runCaptured(argv);
    if (!run) {
        return Status::error(shown + " failed: " + run.status().message(), run.status().code());
    }
    if (run->status != 0) {
        return Status::error(shown + " failed: " + trim(run->output) + ": " +
                             waitStatusText(run->status));
    }
    return {};
}

Status writeProcFile(const std::string &path, const std::string &text) {
    UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd.valid() || write(fd.get(), text.data(), text.size()) < 0) {
        return Status::error("write " + path + ": " + errnoText(errno), errno);
    }
    return {};
}

// True when nsswitchPath has a "subid:" line naming a service (a missing file has none).
bool nsswitchNamesSubidService(const std::string &nsswitchPath) {
    std::ifstream in(nsswitchPath);
    std::string line;
    while (std::getline(in, line)) {
        line = trim(line);
        if (line.rfind("subid:", 0) == 0 && !trim(line.substr(6)).empty()) {
            return true;
        }
    }
    return false;
}

}  // namespace

Result<Identity> currentIdentity() {
    uid_t uid = getuid();
    struct passwd pw;
    struct passwd *found = nullptr;
    std::vector<char> buffer(16384);
    int err = getpwuid_r(uid, &pw, buffer.data(), buffer.size(), &found);
    if (found == nullptr) {
        std::string cause = err != 0 ? errnoText(err) : "no passwd entry";
        return Status::error("look up user " + std::to_string(uid) + ": " + cause, ENOENT);
    }
    return Identity{uid, pw.pw_gid, pw.pw_name};
}

Result<std::vector<SubIdRange>> readSubIdFile(const std::string &path, const std::string &kind,
                                              const Identity &who) {
    std::ifstream in(path);
    if (!in) {
        return Status::error("open " + path + ": " + errnoText(errno), errno ? errno : ENOENT);
    }
    std::vector<SubIdRange> ranges;
    std::string line;
    while (std::getline(in, line)) {
        line = trim(line);
        if (isSkipped(line)) {
            continue;
        }
        std::vector<std::string> parts = split(line, ':');
        if (parts.size() != 3) {
            return Status::error("Cannot parse subuid/gid information: Format not correct for " +
                                 path + " file");
        }
        if (parts[0] != who.name && parts[0] != std::to_string(who.uid)) {
            continue;
        }
        SubIdRange range;
        if (!parseNumber(parts[1], &range.start) || !parseNumber(parts[2], &range.count)) {
            return Status::error("String to int conversion failed during subuid/gid parsing of " +
                                 path + ": invalid number in \"" + line + "\"");
        }
        ranges.push_back(range);
    }
    if (ranges.empty()) {
        return Status::error("No " + kind + " ranges found for user " + std::to_string(who.uid) +
                                 " (\"" + who.name + "\")",
                             ENOENT);
    }
    return ranges;
}

Result<std::vector<SubIdRange>> parseGetsubidsOutput(const std::string &text,
                                                     std::vector<std::string> *warnings) {
    std::vector<SubIdRange> ranges;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        line = trim(line);
        if (isSkipped(line)) {
            continue;
        }
        std::vector<std::string> parts = split(line, ':');
        std::vector<std::string> words = parts.size() >= 2 ? fields(parts[1]) : fields("");
        SubIdRange range;
        if (parts.size() < 2 || words.size() < 3 || !parseNumber(words[1], &range.start) ||
            !parseNumber(words[2], &range.count)) {
            return Status::error("getsubids: unexpected line \"" + line + "\"");
        }
        if (warnings != nullptr && (parts.size() > 2 || words.size() > 3)) {
            warnings->push_back("getsubids: ignoring extra text in line \"" + line + "\"");
        }
        ranges.push_back(range);
    }
    return ranges;
}

Result<SubIdRanges> acquireSubIds(const std::string &source, const Identity &who,
                                  const std::string &subuidPath, const std::string &subgidPath,
                                  const std::string &nsswitchPath) {
    if (source == "static") {
        return acquireStatic(who, subuidPath, subgidPath);
    }
    // Without a subid service in nsswitch.conf, getsubids (libsubid) answers from /etc/subuid
    // and /etc/subgid itself: reading them here gives the same ranges without starting it four
    // times, which was a third of the start-up time.
    const char *program = std::getenv("GETSUBIDS");
    bool defaultProgram = program == nullptr || *program == '\0';
    if (source != "dynamic" && defaultProgram && !nsswitchNamesSubidService(nsswitchPath)) {
        logger("core")->debug("subid source auto: no subid service in {}; using static",
                              nsswitchPath);
        return acquireStatic(who, subuidPath, subgidPath);
    }
    Result<SubIdRanges> dynamic = acquireDynamic(who);
    if (source == "dynamic") {
        return dynamic;
    }
    if (dynamic && !dynamic->uids.empty() && !dynamic->gids.empty()) {
        return dynamic;
    }
    logger("core")->debug("subid source dynamic: {}; using static",
                          dynamic ? "no ranges" : dynamic.status().message());
    return acquireStatic(who, subuidPath, subgidPath);
}

std::vector<std::string> idmapArgs(uint64_t id, const std::vector<SubIdRange> &ranges) {
    std::vector<std::string> args = {"0", std::to_string(id), "1"};
    uint64_t next = 1;
    for (const SubIdRange &range : ranges) {
        args.push_back(std::to_string(next));
        args.push_back(std::to_string(range.start));
        args.push_back(std::to_string(range.count));
        next += range.count;
    }
    return args;
}

Status checkOwnIdOutsideRanges(const Identity &who, const SubIdRanges &ranges) {
    struct Kind {
        const char *name;  // "UID"
        const char *file;  // "/etc/subuid"
        uint64_t own;
        const std::vector<SubIdRange> &ranges;
    };
    for (const Kind &kind : {Kind{"UID", "/etc/subuid", who.uid, ranges.uids},
                             Kind{"GID", "/etc/subgid", who.gid, ranges.gids}}) {
        for (const SubIdRange &range : kind.ranges) {
            if (kind.own >= range.start && kind.own - range.start < range.count) {
                return Status::error(std::string("subordinate ") + kind.name + " range " +
                                     std::to_string(range.start) + "-" +
                                     std::to_string(range.start + range.count - 1) + " of user " +
                                     who.name + " contains the user's own " + kind.name + " " +
                                     std::to_string(kind.own) + ": ranges in " + kind.file +
                                     " (or from getsubids) must not include it");
            }
        }
    }
    return {};
}

Status runNewIdMaps(pid_t pid, const Identity &who, const SubIdRanges &ranges) {
    // The kernel refuses a map whose outside IDs overlap, and the own ID is mapped to 0 already:
    // say which range is wrong instead of letting newuidmap fail on it.
    Status disjoint = checkOwnIdOutsideRanges(who, ranges);
    if (!disjoint) {
        return disjoint;
    }

    // The uid map first, in upstream's order.
    Status uids = runIdMapProgram("newuidmap", pid, who.uid, ranges.uids);
    if (!uids) {
        return uids;
    }
    return runIdMapProgram("newgidmap", pid, who.gid, ranges.gids);
}

Status writeIdentityMaps(pid_t pid) {
    std::string dir = "/proc/" + std::to_string(pid);
    Status uids = writeProcFile(dir + "/uid_map", "0 0 4294967295\n");
    if (!uids) {
        return uids;
    }
    return writeProcFile(dir + "/gid_map", "0 0 4294967295\n");
}

}  // namespace rootlesskit
