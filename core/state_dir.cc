// StateDir: creation, flocks, stale entry removal and final removal of the state directory.
#include "core/state_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "core/log.h"

namespace rootlesskit {

namespace {

Status errnoStatus(const std::string &what, int err) {
    return Status::error(what + ": " + errnoText(err), err);
}

Result<std::string> makeTemporary() {
    const char *tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/rootlesskitXXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
        return errnoStatus("create state dir " + pattern, errno);
    }
    return pattern;
}

Result<std::string> makeRequested(const std::string &requested) {
    std::error_code ec;
    std::filesystem::path path = std::filesystem::absolute(requested, ec).lexically_normal();
    if (ec) {
        return errnoStatus("create state dir " + requested, ec.value());
    }
    std::string text = path.string();
    if (text.size() > 1 && text.back() == '/') {
        text.pop_back();
    }
    std::filesystem::create_directories(path, ec);
    if (ec) {
        return errnoStatus("create state dir " + text, ec.value());
    }
    // An existing non-directory (a file named like the state dir) is refused here.
    struct stat st;
    if (stat(text.c_str(), &st) < 0 || !S_ISDIR(st.st_mode)) {
        return Status::error("state dir is inaccessible: " + text, ENOTDIR);
    }
    return text;
}

}  // namespace

StateDir::StateDir(std::string path, bool temporary)
    : path_(std::move(path)), temporary_(temporary), owner_(getpid()) {}

Result<StateDirPtr> StateDir::open(const std::string &requested) {
    Result<std::string> path = requested.empty() ? makeTemporary() : makeRequested(requested);
    if (!path) {
        return path.status();
    }

    StateDirPtr dir(new StateDir(*path, requested.empty()));
    Status locked = dir->lock();
    if (!locked) {
        // Another run owns a --state-dir directory: leave it alone.
        if (!dir->temporary_) {
            dir->owner_ = 0;
        }
        return locked;
    }
    if (!dir->temporary_ && chmod(dir->path_.c_str(), 0700) != 0) {
        return errnoStatus("chmod state dir " + dir->path_, errno);
    }
    Status cleared = dir->clearStale();
    if (!cleared) {
        return cleared;
    }
    logger("core")->debug("state dir {}", dir->path_);
    return dir;
}

Status StateDir::lock() {
    dirFd_.reset(::open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dirFd_.valid()) {
        return errnoStatus("open state dir " + path_, errno);
    }
    if (flock(dirFd_.get(), LOCK_SH | LOCK_NB) < 0) {
        logger("core")->warn("failed to lock state dir {}: {}", path_, errnoText(errno));
    }

    std::string lockPath = file("lock");
    lockFd_.reset(::open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!lockFd_.valid()) {
        return errnoStatus("open " + lockPath, errno);
    }
    if (flock(lockFd_.get(), LOCK_EX | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK) {
            return Status::error("failed to lock " + lockPath +
                                     ", another RootlessKit is running with the same state "
                                     "directory?",
                                 EBUSY);
        }
        return errnoStatus("lock " + lockPath, errno);
    }
    return {};
}

Status StateDir::clearStale() {
    std::error_code ec;
    for (const auto &entry : std::filesystem::directory_iterator(path_, ec)) {
        if (entry.path().filename() == "lock") {
            continue;
        }
        logger("core")->debug("removing stale {}", entry.path().string());
        std::filesystem::remove_all(entry.path(), ec);
        if (ec) {
            return errnoStatus("remove stale " + entry.path().string(), ec.value());
        }
    }
    if (ec) {
        return errnoStatus("read state dir " + path_, ec.value());
    }
    return {};
}

StateDir::~StateDir() {
    if (owner_ != getpid()) {
        return;
    }
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
    if (ec) {
        logger("core")->warn("failed to remove state dir {}: {}", path_, ec.message());
    }
}

}  // namespace rootlesskit
