// The child's mount namespace beyond copy-up: propagation, /sys, cgroup2; the mountinfo reader.
#include "core/mounts.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <utility>

#include "core/copy_up.h"
#include "core/log.h"

namespace rootlesskit {

namespace {

bool isOctalEscape(const std::string &text, size_t i) {
    if (text[i] != '\\' || i + 3 >= text.size()) {
        return false;
    }
    return std::all_of(text.begin() + static_cast<long>(i) + 1,
                       text.begin() + static_cast<long>(i) + 4,
                       [](char c) { return c >= '0' && c <= '7'; });
}

// mountinfo writes space, tab, newline and backslash in paths as \ooo octal escapes.
std::string unescapeOctal(const std::string &text) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        if (isOctalEscape(text, i)) {
            out += static_cast<char>(std::strtol(text.substr(i + 1, 3).c_str(), nullptr, 8));
            i += 3;
        } else {
            out += text[i];
        }
    }
    return out;
}

std::vector<std::string> splitCommas(const std::string &text) {
    std::vector<std::string> parts;
    std::istringstream in(text);
    std::string part;
    while (std::getline(in, part, ',')) {
        parts.push_back(part);
    }
    return parts;
}

bool parseLine(const std::string &line, MountEntry *entry) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, mountPoint, options, field;
    if (!(fields >> id >> parent >> devno >> root >> mountPoint >> options)) {
        return false;
    }
    entry->mountPoint = unescapeOctal(mountPoint);
    entry->mountOptions = splitCommas(options);
    entry->optionalFields.clear();
    while (fields >> field && field != "-") {
        entry->optionalFields.push_back(field);
    }
    return field == "-" && static_cast<bool>(fields >> entry->fsType);
}

bool hasOption(const MountEntry &entry, const std::string &option) {
    const auto &options = entry.mountOptions;
    return std::find(options.begin(), options.end(), option) != options.end();
}

}  // namespace

std::vector<MountEntry> parseMountInfo(const std::string &text) {
    std::vector<MountEntry> entries;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        MountEntry entry;
        if (parseLine(line, &entry)) {
            entries.push_back(std::move(entry));
        }
    }
    return entries;
}

std::vector<MountEntry> readMountInfo() {
    std::ifstream in("/proc/self/mountinfo");
    std::ostringstream text;
    text << in.rdbuf();
    return parseMountInfo(text.str());
}

bool rootMountIsShared(const std::vector<MountEntry> &mounts) {
    // The last "/" entry is the one on top, the one a path lookup sees.
    const MountEntry *root = nullptr;
    for (const MountEntry &entry : mounts) {
        root = entry.mountPoint == "/" ? &entry : root;
    }
    if (root == nullptr) {
        return false;
    }
    return std::any_of(root->optionalFields.begin(), root->optionalFields.end(),
                       [](const std::string &field) { return field.rfind("shared:", 0) == 0; });
}

std::string cgroup2MountPoint(const std::vector<MountEntry> &mounts) {
    for (const MountEntry &entry : mounts) {
        if (entry.fsType == "cgroup2") {
            return entry.mountPoint;
        }
    }
    return "";
}

std::vector<MountEntry> mountsAtOrBelow(const std::vector<MountEntry> &mounts,
                                        const std::string &path) {
    std::string prefix = path == "/" ? "/" : path + "/";
    std::vector<MountEntry> found;
    for (const MountEntry &entry : mounts) {
        if (entry.mountPoint == path || entry.mountPoint.rfind(prefix, 0) == 0) {
            found.push_back(entry);
        }
    }
    return found;
}

unsigned long preservedMountFlags(const MountEntry &entry) {
    static const std::pair<const char *, unsigned long> kKept[] = {
        {"nosuid", MS_NOSUID},           {"nodev", MS_NODEV},           {"noexec", MS_NOEXEC},
        {"noatime", MS_NOATIME},         {"nodiratime", MS_NODIRATIME}, {"relatime", MS_RELATIME},
        {"nosymfollow", MS_NOSYMFOLLOW},
    };
    unsigned long flags = 0;
    for (const auto &[name, flag] : kKept) {
        flags |= hasOption(entry, name) ? flag : 0;
    }
    // No atime option in mountinfo means strictatime, which a remount must name: without any
    // atime flag the kernel picks relatime, a change of a locked flag.
    if ((flags & (MS_NOATIME | MS_RELATIME)) == 0) {
        flags |= MS_STRICTATIME;
    }
    return flags;
}

Status setRootPropagation(const std::string &mode) {
    static const std::pair<const char *, unsigned long> kModes[] = {
        {"private", MS_PRIVATE}, {"rprivate", MS_REC | MS_PRIVATE},
        {"shared", MS_SHARED},   {"rshared", MS_REC | MS_SHARED},
        {"slave", MS_SLAVE},     {"rslave", MS_REC | MS_SLAVE},
    };
    for (const auto &[name, flags] : kModes) {
        if (mode != name) {
            continue;
        }
        if (mount("none", "/", nullptr, flags, nullptr) < 0) {
            return Status::error("failed to share mount point: /: " + errnoText(errno), errno);
        }
        logger("core")->debug("propagation of / set to {}", mode);
        return {};
    }
    return {};  // the CLI refuses unknown modes; upstream ignores them
}

// The sysfs of the host's network namespace shows the host's interfaces; only a sysfs mounted
// from inside the new one shows its own. The kernel allows that mount to the owner of the
// network namespace, and only over a /sys that is fully visible already.
void remountSys(const std::string &scratchDir) {
    auto log = logger("core");
    const char *saved = scratchDir.c_str();
    bool haveCgroup = mount("/sys/fs/cgroup", saved, nullptr, MS_BIND | MS_REC, nullptr) == 0;
    if (mount("none", "/sys", "sysfs", 0, nullptr) < 0 &&
        mount("none", "/sys", "sysfs", MS_RDONLY, nullptr) < 0) {
        log->warn("failed to mount sysfs on /sys: {}", errnoText(errno));
    }
    if (haveCgroup && mount(saved, "/sys/fs/cgroup", nullptr, MS_MOVE, nullptr) < 0) {
        log->warn("failed to move the cgroup mounts back to /sys/fs/cgroup: {}", errnoText(errno));
        umount2(saved, MNT_DETACH);
    }
    log->debug("mounted a fresh sysfs on /sys");
}

Result<std::vector<std::string>> setUpMountNamespace(const Options &options,
                                                     const std::string &stateDir, bool newNetns,
                                                     const std::string &scratchDir) {
    Status propagated = setRootPropagation(options.propagation);
    if (!propagated) {
        return propagated;
    }
    const char *runtimeDir = std::getenv("XDG_RUNTIME_DIR");
    Result<std::vector<std::string>> copied =
        copyUpDirs(options.copyUp, {stateDir, runtimeDir != nullptr ? runtimeDir : ""},
                   scratchDir);
    if (!copied) {
        return copied;
    }
    if (newNetns) {
        remountSys(scratchDir);
    }
    if (!options.evacuateCgroup2.empty()) {
        mountCgroup2();
    }
    return copied;
}

void mountCgroup2() {
    std::string point = cgroup2MountPoint(readMountInfo());
    if (point.empty()) {
        logger("core")->debug("no cgroup2 mount to renew");
        return;
    }
    // The kernel refuses a second mount of the same superblock right on top of the first one
    // (EBUSY): a tmpfs in between separates them.
    unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME;
    if (mount("tmpfs", point.c_str(), "tmpfs", flags, "mode=755") < 0 ||
        mount("cgroup2", point.c_str(), "cgroup2", flags, nullptr) < 0) {
        logger("core")->warn("failed to mount cgroup2 on {}: {}", point, errnoText(errno));
        return;
    }
    logger("core")->debug("mounted a fresh cgroup2 on {}", point);
}

}  // namespace rootlesskit
