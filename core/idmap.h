// UID/GID maps of the child's user namespace: where the sub-ID ranges come from (--subid-source:
// /etc/subuid and /etc/subgid, the getsubids program, or both), the argument lists handed to
// newuidmap/newgidmap, and running them. Runs in the parent, on the main thread, before any
// other thread exists.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace rootlesskit {

struct SubIdRange {
    uint64_t start = 0;
    uint64_t count = 0;
    bool operator==(const SubIdRange &) const = default;
};

struct SubIdRanges {
    std::vector<SubIdRange> uids;
    std::vector<SubIdRange> gids;
};

// Who is mapped to root: the real UID, with the name and primary GID of its passwd entry
// (upstream uses the passwd group, not getegid()).
struct Identity {
    uid_t uid = 0;
    gid_t gid = 0;
    std::string name;
};

// Looks up the real UID in the passwd database. Fails "look up user <uid>: ..." without an entry.
Result<Identity> currentIdentity();

// Reads a subuid/subgid file (path) and returns, in file order, every range of a line whose
// first field is who.uid in decimal or who.name. kind is "subuid" or "subgid" for messages.
// Fails "Cannot parse subuid/gid information: Format not correct for <path> file" for a line
// that is not three ':'-separated fields, "String to int conversion failed during subuid/gid
// parsing of <path>: ..." for a bad number of a matching line, "No <kind> ranges found for user
// <uid> (\"<name>\")" when no line matches, or "open <path>: ..." when unreadable.
Result<std::vector<SubIdRange>> readSubIdFile(const std::string &path, const std::string &kind,
                                              const Identity &who);

// Parses getsubids output: one "<index>: <name> <start> <count>" per line, blank and '#' lines
// skipped. Extra ':' parts and extra fields add a line to warnings (MAY be nullptr) and are
// ignored. Fails "getsubids: unexpected line \"...\"" for a line without ':' or with fewer than
// three fields after it, or with a bad number.
Result<std::vector<SubIdRange>> parseGetsubidsOutput(const std::string &text,
                                                     std::vector<std::string> *warnings);

// Acquires the ranges from source ("static", "dynamic", "auto" or ""). static: the two files
// named by subuidPath and subgidPath. dynamic: runs $GETSUBIDS or "getsubids" for the name and
// the uid (and with -g for gids); fails only when both queries of a kind fail. auto/"": dynamic,
// falling back to static when dynamic fails or yields an empty list (logged at debug). auto/""
// reads the files directly when $GETSUBIDS is unset and nsswitchPath has no "subid:" service
// line: getsubids would then read the same files.
Result<SubIdRanges> acquireSubIds(const std::string &source, const Identity &who,
                                  const std::string &subuidPath = "/etc/subuid",
                                  const std::string &subgidPath = "/etc/subgid",
                                  const std::string &nsswitchPath = "/etc/nsswitch.conf");

// The map arguments after the PID: "0 <id> 1", then each range packed from container ID 1:
// "1 <s1> <n1> <1+n1> <s2> <n2> ...".
std::vector<std::string> idmapArgs(uint64_t id, const std::vector<SubIdRange> &ranges);

// Checks that no UID range contains who.uid and no GID range who.gid (the kernel refuses
// overlapping outside IDs, and the own IDs are mapped to 0). Fails "subordinate UID range
// <first>-<last> of user <name> contains the user's own UID <uid>: ranges in /etc/subuid (or from
// getsubids) must not include it", or the same for GIDs.
Status checkOwnIdOutsideRanges(const Identity &who, const SubIdRanges &ranges);

// Writes the maps of process pid: runs "newuidmap <pid> <args>" then "newgidmap <pid> <args>"
// (found in $PATH), after checkOwnIdOutsideRanges, whose error it returns as it is. Fails
// "newuidmap <pid> [<args>] failed: <output>: <exit status>" (the caller prefixes "failed to
// setup UID/GID map: ").
Status runNewIdMaps(pid_t pid, const Identity &who, const SubIdRanges &ranges);

// Real root without sub-ID ranges: writes "0 0 4294967295" to /proc/<pid>/uid_map and gid_map
// directly. Fails "write /proc/<pid>/uid_map: ...".
Status writeIdentityMaps(pid_t pid);

}  // namespace rootlesskit
