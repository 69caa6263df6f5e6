// Sending and receiving the control channel's records, with SCM_RIGHTS for sockets.
#include "control_protocol.h"

#include <fcntl.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

namespace rkbuiltin {

namespace {

int sendRecord(int socket, const void *data, size_t size, int passFd) {
    iovec iov{const_cast<void *>(data), size};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;

    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    if (passFd >= 0) {
        msg.msg_control = control;
        msg.msg_controllen = sizeof(control);
        cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(cmsg), &passFd, sizeof(int));
    }

    for (;;) {
        ssize_t n = sendmsg(socket, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n >= 0) {
            return 0;
        }
        if (errno != EINTR) {
            return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        }
    }
}

// Keeps the first SCM_RIGHTS descriptor of msg in *passed (if not NULL) and closes the others.
void takeDescriptors(msghdr &msg, Fd *passed) {
    bool first = true;
    for (cmsghdr *c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
            continue;
        }
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            Fd owned(fd);
            if (first && passed != nullptr) {
                *passed = std::move(owned);
            }
            first = false;
        }
    }
}

// Receives one record of exactly size bytes; collects at most one SCM_RIGHTS descriptor.
int receiveRecord(int socket, void *data, size_t size, Fd *passed) {
    iovec iov{data, size};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);

    ssize_t n;
    do {
        n = recvmsg(socket, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
    if (n == 0) {
        return 0;
    }

    // Own every descriptor that arrived before judging the record, so none leaks either way.
    takeDescriptors(msg, passed);
    if (static_cast<size_t>(n) != size || (msg.msg_flags & MSG_TRUNC)) {
        return -EPROTO;
    }
    if (msg.msg_flags & MSG_CTRUNC) {
        // The kernel drops descriptors it could not install, typically for lack of fds.
        return -EMFILE;
    }
    return 1;
}

}  // namespace

int sendRequest(int socket, const DialRequest &request) {
    return sendRecord(socket, &request, sizeof(request), -1);
}

int sendReply(int socket, const DialReply &reply, int passFd) {
    return sendRecord(socket, &reply, sizeof(reply), passFd);
}

int receiveRequest(int socket, DialRequest *request) {
    int rc = receiveRecord(socket, request, sizeof(*request), nullptr);
    if (rc == 1 && request->version != kControlVersion) {
        return -EPROTO;
    }
    return rc;
}

int receiveReply(int socket, DialReply *reply, Fd *passed) {
    int rc = receiveRecord(socket, reply, sizeof(*reply), passed);
    if (rc == 1 && reply->version != kControlVersion) {
        return -EPROTO;
    }
    return rc;
}

}  // namespace rkbuiltin

namespace rkbuiltin {

namespace {

// Runs op (bind or connect) on a sockaddr_un for path, going through the directory's
// descriptor when the path does not fit.
template <typename Op>
int withUnixAddress(const std::string &path, Op op) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::string target = path;

    Fd directory;
    if (target.size() >= sizeof(address.sun_path)) {
        size_t slash = path.rfind('/');
        std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
        directory.reset(open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!directory.valid()) {
            return -errno;
        }
        target = "/proc/self/fd/" + std::to_string(directory.get()) + "/" +
                 path.substr(slash == std::string::npos ? 0 : slash + 1);
        if (target.size() >= sizeof(address.sun_path)) {
            return -ENAMETOOLONG;
        }
    }

    std::memcpy(address.sun_path, target.c_str(), target.size() + 1);
    int rc = op(reinterpret_cast<sockaddr *>(&address), static_cast<socklen_t>(sizeof(address)));
    return rc == 0 ? 0 : -errno;
}

}  // namespace

int bindUnix(int socket, const std::string &path) {
    return withUnixAddress(path,
                           [&](const sockaddr *a, socklen_t l) { return bind(socket, a, l); });
}

int connectUnix(int socket, const std::string &path) {
    return withUnixAddress(path, [&](const sockaddr *a, socklen_t l) {
        int rc;
        do {
            rc = connect(socket, a, l);
        } while (rc != 0 && errno == EINTR);
        return rc;
    });
}

}  // namespace rkbuiltin
