// Copy-up, mode tmpfs+symlink: the steps of copy_up.h's theory of operation.
#include "core/copy_up.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>

#include "core/log.h"
#include "core/mounts.h"
#include "core/unique_fd.h"

namespace rootlesskit {

namespace {

Status failure(const std::string &what, int err) {
    return Status::error(what + ": " + errnoText(err), err);
}

Result<std::string> realPath(const std::string &path) {
    char resolved[PATH_MAX];
    if (realpath(path.c_str(), resolved) == nullptr) {
        return failure("resolve " + path, errno);
    }
    return std::string(resolved);
}

// The names in the directory open at dirFd, without "." and "..". Does not take dirFd.
Result<std::vector<std::string>> listDir(int dirFd) {
    int copy = fcntl(dirFd, F_DUPFD_CLOEXEC, 0);
    DIR *dir = copy >= 0 ? fdopendir(copy) : nullptr;
    if (dir == nullptr) {
        int err = errno;
        if (copy >= 0) {
            close(copy);
        }
        return Status::error(errnoText(err), err);
    }
    // The copy shares the file offset with dirFd, which an earlier listing left at the end.
    rewinddir(dir);
    std::vector<std::string> names;
    while (struct dirent *entry = readdir(dir)) {
        std::string name = entry->d_name;
        if (name != "." && name != "..") {
            names.push_back(name);
        }
    }
    closedir(dir);
    std::sort(names.begin(), names.end());
    return names;
}

Result<std::string> readLinkAt(int dirFd, const std::string &name) {
    std::string target(PATH_MAX, '\0');
    ssize_t n = readlinkat(dirFd, name.c_str(), target.data(), target.size());
    if (n < 0) {
        return Status::error(errnoText(errno), errno);
    }
    target.resize(static_cast<size_t>(n));
    return target;
}

UniqueFd openDirAt(int dirFd, const std::string &name) {
    return UniqueFd(openat(dirFd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
}

// Looks through the directory at dirFd (rel below the root, depth levels down) and adds to out
// every directory to recreate; true when this one is one of them.
bool scanDir(int dirFd, const std::string &rel, size_t depth, std::set<std::string> &out) {
    Result<std::vector<std::string>> names = listDir(dirFd);
    bool recreate = false;
    for (const std::string &name : names ? *names : std::vector<std::string>()) {
        struct stat st;
        if (fstatat(dirFd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
            continue;
        }
        if (S_ISLNK(st.st_mode) && depth >= 1) {
            Result<std::string> target = readLinkAt(dirFd, name);
            recreate = recreate || (target && climbsToCopiedUpDir(*target, depth));
        } else if (S_ISDIR(st.st_mode)) {
            UniqueFd sub = openDirAt(dirFd, name);
            std::string subRel = rel.empty() ? name : rel + "/" + name;
            recreate = (sub.valid() && scanDir(sub.get(), subRel, depth + 1, out)) || recreate;
        }
    }
    if (recreate && !rel.empty()) {
        out.insert(rel);
    }
    return recreate;
}

// The scratch mount point the parent made (mounts.h): unmounted, if still mounted, when the
// owner goes away, on every path. The parent removes the directory.
class Scratch {
public:
    explicit Scratch(std::string path) : path_(std::move(path)) {}
    ~Scratch() {
        if (!path_.empty()) {
            umount2(path_.c_str(), MNT_DETACH);
        }
    }
    Scratch(const Scratch &) = delete;
    Scratch &operator=(const Scratch &) = delete;

    Status check() const {
        if (path_.empty()) {
            return Status::error("copy-up: no scratch directory was made for it", EINVAL);
        }
        return {};
    }
    const std::string &path() const { return path_; }

private:
    std::string path_;
};

// One copy-up of directory dir_ (already resolved), step by step.
class CopyUp {
public:
    CopyUp(std::string dir, const std::vector<std::string> &writable,
           const std::string &scratchDir)
        : dir_(std::move(dir)), writable_(writable), scratch_(scratchDir) {}

    Status run();

private:
    Status bindOriginals();
    void makeReadOnly();
    Status bindWritableWindows();
    Status mountTmpfs();
    Status moveOriginals();
    Status populate(const std::string &rel, int hiddenFd, const std::set<std::string> &recreate);
    Status addEntry(const std::string &rel, int hiddenFd, const std::string &name,
                    const std::set<std::string> &recreate);
    Status recreateDir(const std::string &relName, int hiddenFd, const std::string &name,
                       const std::set<std::string> &recreate);

    std::string dir_;
    const std::vector<std::string> &writable_;
    Scratch scratch_;
    std::string hidden_;  // dir_ + "/.roXXXXXX"
};

Status CopyUp::run() {
    Status step = scratch_.check();
    if (step) {
        step = bindOriginals();
    }
    if (step) {
        makeReadOnly();
        step = bindWritableWindows();
    }
    if (step) {
        step = mountTmpfs();
    }
    if (step) {
        step = moveOriginals();
    }
    UniqueFd hiddenFd;
    if (step) {
        hiddenFd.reset(open(hidden_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        step = hiddenFd.valid() ? Status() : failure("open " + hidden_, errno);
    }
    if (step) {
        std::vector<std::string> dirs = dirsToRecreate(hiddenFd.get());
        step = populate("", hiddenFd.get(), std::set<std::string>(dirs.begin(), dirs.end()));
    }
    return step.wrap("copy-up " + dir_);
}

Status CopyUp::bindOriginals() {
    if (mount(dir_.c_str(), scratch_.path().c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) {
        return failure("bind-mount " + dir_ + " on " + scratch_.path(), errno);
    }
    return {};
}

// Every mount below the scratch bind, submounts included: a read-only flag is per mount.
void CopyUp::makeReadOnly() {
    for (const MountEntry &entry : mountsAtOrBelow(readMountInfo(), scratch_.path())) {
        unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY | preservedMountFlags(entry);
        if (mount(nullptr, entry.mountPoint.c_str(), nullptr, flags, nullptr) < 0) {
            std::string original = dir_ + entry.mountPoint.substr(scratch_.path().size());
            logger("core")->warn(
                "copy-up {}: cannot make {} read-only ({}); in-place writes to files below it "
                "reach the host's files",
                dir_, original, errnoText(errno));
        }
    }
}

// Writable windows are bound after the read-only remount, so they keep their own flags.
Status CopyUp::bindWritableWindows() {
    std::vector<std::string> bound;
    for (const std::string &path : writable_) {
        if (path.empty()) {
            continue;
        }
        Result<std::string> real = realPath(path);
        if (!real || real->rfind(dir_ + "/", 0) != 0) {
            continue;  // absent, or not below this directory
        }
        bool inside = std::any_of(bound.begin(), bound.end(), [&](const std::string &outer) {
            return *real == outer || real->rfind(outer + "/", 0) == 0;
        });
        if (inside) {
            continue;
        }
        std::string target = scratch_.path() + real->substr(dir_.size());
        if (mount(real->c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) {
            return failure("bind-mount " + *real + " writable on " + target, errno);
        }
        logger("core")->debug("copy-up {}: {} stays writable", dir_, *real);
        bound.push_back(*real);
    }
    return {};
}

Status CopyUp::mountTmpfs() {
    struct stat st;
    if (stat(dir_.c_str(), &st) < 0) {
        return failure("stat " + dir_, errno);
    }
    std::ostringstream data;
    data << "mode=" << std::oct << (st.st_mode & 07777);
    if (mount("tmpfs", dir_.c_str(), "tmpfs", 0, data.str().c_str()) < 0) {
        return failure("mount tmpfs on " + dir_, errno);
    }
    return {};
}

Status CopyUp::moveOriginals() {
    std::string tmpl = dir_ + "/.roXXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) {
        return failure("mkdtemp " + tmpl, errno);
    }
    hidden_ = tmpl;
    if (mount(scratch_.path().c_str(), hidden_.c_str(), nullptr, MS_MOVE, nullptr) < 0) {
        return failure("move " + scratch_.path() + " to " + hidden_, errno);
    }
    return {};
}

// Fills dir_/rel from the hidden copy of it, open at hiddenFd.
Status CopyUp::populate(const std::string &rel, int hiddenFd,
                        const std::set<std::string> &recreate) {
    Result<std::vector<std::string>> names = listDir(hiddenFd);
    std::string where = hidden_ + (rel.empty() ? "" : "/" + rel);
    if (!names) {
        return names.status().wrap("read directory " + where);
    }
    for (const std::string &name : *names) {
        Status added = addEntry(rel, hiddenFd, name, recreate);
        if (!added) {
            return added;
        }
    }
    return {};
}

Status CopyUp::addEntry(const std::string &rel, int hiddenFd, const std::string &name,
                        const std::set<std::string> &recreate) {
    std::string relName = rel.empty() ? name : rel + "/" + name;
    std::string path = dir_ + "/" + relName;
    if (recreate.count(relName) != 0) {
        return recreateDir(relName, hiddenFd, name, recreate);
    }

    // A symlink keeps its own target: at the same depth it resolves as on the host.
    std::string target;
    Result<std::string> link = readLinkAt(hiddenFd, name);
    if (link) {
        target = *link;
    } else {
        size_t depth = rel.empty() ? 0 : std::count(rel.begin(), rel.end(), '/') + 1;
        for (size_t i = 0; i < depth; ++i) {
            target += "../";
        }
        target += hidden_.substr(dir_.size() + 1) + "/" + relName;
    }
    // A fresh tmpfs is empty; a stale entry of the same name would only come from the tmpfs.
    unlink(path.c_str());
    if (symlink(target.c_str(), path.c_str()) < 0) {
        return failure("create symlink " + path, errno);
    }
    return {};
}

// A real directory with the original's permission bits, owned by root of the namespace like
// the tmpfs: the original's owner is, but for the user's own files, an ID outside the map, which
// the namespace cannot give.
Status CopyUp::recreateDir(const std::string &relName, int hiddenFd, const std::string &name,
                           const std::set<std::string> &recreate) {
    std::string path = dir_ + "/" + relName;
    struct stat st;
    UniqueFd sub = openDirAt(hiddenFd, name);
    if (!sub.valid() || fstat(sub.get(), &st) < 0) {
        return failure("open " + hidden_ + "/" + relName, errno);
    }
    if (mkdir(path.c_str(), 0700) < 0) {
        return failure("create directory " + path, errno);
    }
    if (chmod(path.c_str(), st.st_mode & 07777) < 0) {
        return failure("chmod " + path, errno);
    }
    return populate(relName, sub.get(), recreate);
}

// The file system types whose entries the kernel makes per process, per namespace or per
// mount: symlinks to them, read once at start, would name the wrong process (/proc/self) or
// nothing usable (a pty of /dev/pts), and a non-host network mounts a fresh sysfs over /sys.
constexpr decltype(statfs::f_type) kMqueueMagic = 0x19800202;  // not in <linux/magic.h>

const char *kernelFileSystemAt(const std::string &path) {
    struct statfs fs;
    if (statfs(path.c_str(), &fs) < 0) {
        return nullptr;
    }
    switch (fs.f_type) {
        case PROC_SUPER_MAGIC:
            return "proc";
        case SYSFS_MAGIC:
            return "sysfs";
        case CGROUP_SUPER_MAGIC:
            return "cgroup";
        case CGROUP2_SUPER_MAGIC:
            return "cgroup2";
        case DEVPTS_SUPER_MAGIC:
            return "devpts";
        case kMqueueMagic:
            return "mqueue";
        case DEBUGFS_MAGIC:
            return "debugfs";
        case TRACEFS_MAGIC:
            return "tracefs";
        case SECURITYFS_MAGIC:
            return "securityfs";
        case BPF_FS_MAGIC:
            return "bpf";
        case PSTOREFS_MAGIC:
            return "pstore";
        case EFIVARFS_MAGIC:
            return "efivarfs";
        default:
            return nullptr;
    }
}

// Why the directory at real (symlinks resolved, so that a link to /tmp or / is refused as they
// are) cannot be copied up; "" when it can.
std::string copyUpRefusal(const std::string &real) {
    if (real == "/") {
        return "the root directory cannot be copied up";
    }
    if (real == "/tmp") {
        return "/tmp cannot be copied up";  // the scratch directories live there
    }
    if (const char *kind = kernelFileSystemAt(real)) {
        return "a " + std::string(kind) + " file system cannot be copied up";
    }
    struct stat st;
    if (stat(real.c_str(), &st) < 0 || !S_ISDIR(st.st_mode)) {
        return "not a directory";
    }
    // The child lists it with the user's rights on the host's files: root of the namespace has
    // no more rights than the user over them.
    if (access(real.c_str(), R_OK | X_OK) < 0) {
        return "cannot list it: " + errnoText(errno);
    }
    return "";
}

}  // namespace

std::string cleanCopyUpPath(const std::string &dir) {
    std::string clean = std::filesystem::path(dir).lexically_normal().string();
    while (clean.size() > 1 && clean.back() == '/') {
        clean.pop_back();
    }
    return clean;
}

Status checkCopyUpDirs(const std::vector<std::string> &dirs, const std::string &stateDir) {
    // The state directory may not exist yet: then its path is taken as given.
    Result<std::string> realStateDir = stateDir.empty() ? Result<std::string>(std::string())
                                                        : realPath(stateDir);
    std::string state = realStateDir ? *realStateDir : cleanCopyUpPath(stateDir);
    for (const std::string &dir : dirs) {
        std::string clean = cleanCopyUpPath(dir);
        Result<std::string> real = realPath(clean);
        if (!real) {
            return Status::error("copy-up " + clean + ": " + errnoText(real.status().code()),
                                 real.status().code());
        }
        std::string refusal = copyUpRefusal(*real);
        if (!refusal.empty()) {
            std::string via = *real == clean ? "" : " (it resolves to " + *real + ")";
            return Status::error("copy-up " + clean + via + ": " + refusal, EINVAL);
        }
        // Inside, the copy would hide what the parent adds later (api.sock, child_pid).
        if (!state.empty() && (*real == state || real->rfind(state + "/", 0) == 0)) {
            return Status::error("copy-up " + clean + ": the state directory " + state +
                                     " and what is below it cannot be copied up",
                                 EINVAL);
        }
    }
    return {};
}

Result<std::vector<std::string>> copyUpDirs(const std::vector<std::string> &dirs,
                                            const std::vector<std::string> &writable,
                                            const std::string &scratchDir) {
    std::vector<std::string> done;
    for (const std::string &dir : dirs) {
        std::string clean = cleanCopyUpPath(dir);
        Result<std::string> real = realPath(clean);
        if (!real) {
            return real.status().wrap("copy-up " + clean);
        }
        Status copied = CopyUp(*real, writable, scratchDir).run();
        if (!copied) {
            return copied;
        }
        logger("core")->debug("copied up {}", clean);
        done.push_back(clean);
    }
    return done;
}

Status replaceWithEmptyFile(const std::string &path) {
    struct stat st;
    if (lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
        return {};
    }
    if (unlink(path.c_str()) < 0 && errno != ENOENT) {
        return failure("replace " + path + " with an empty file", errno);
    }
    UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!fd.valid() || fchmod(fd.get(), 0644) < 0) {
        return failure("replace " + path + " with an empty file", errno);
    }
    return {};
}

bool climbsToCopiedUpDir(const std::string &target, size_t depth) {
    if (target.empty() || target[0] == '/') {
        return false;
    }
    std::istringstream parts(target);
    std::string part;
    long level = static_cast<long>(depth);
    while (std::getline(parts, part, '/')) {
        if (part.empty() || part == ".") {
            continue;
        }
        level += part == ".." ? -1 : 1;
        if (level <= 0) {
            return true;
        }
    }
    return false;
}

std::vector<std::string> dirsToRecreate(int rootFd) {
    std::set<std::string> found;
    scanDir(rootFd, "", 0, found);
    return std::vector<std::string>(found.begin(), found.end());
}

}  // namespace rootlesskit
