// The control channel between the two halves of the builtin port driver.
//
// One SOCK_SEQPACKET unix connection per run, opened by the child half to the socket the parent
// half listens on (<state dir>/.bp.sock). Each record is one fixed-size struct: the parent sends
// DialRequest, the child answers each with one DialReply carrying the connected socket as
// SCM_RIGHTS ancillary data, or an error text instead. A request also carries the client's
// address, so that the child half can dial from it (transparent_source.h). Requests are tagged
// with an id, so many may be outstanding and replies may come back in any order. Both halves
// are the same shared object, so the layouts always match; the version field guards against a
// mismatched pair.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "fd.h"

namespace rkbuiltin {

constexpr uint32_t kControlVersion = 2;

constexpr uint32_t kTransportTcp = 1;
constexpr uint32_t kTransportUdp = 2;

struct DialRequest {
    uint32_t version = kControlVersion;
    uint32_t transport = 0;  // kTransportTcp or kTransportUdp
    uint64_t id = 0;         // chosen by the parent, echoed in the reply
    uint32_t addressLength = 0;
    uint32_t reserved = 0;
    sockaddr_storage address{};  // where to connect inside the namespace
    uint32_t sourceLength = 0;   // 0: the client's address is unknown
    uint32_t reserved2 = 0;
    sockaddr_storage source{};  // the client's address and port, as the parent half saw it
};

struct DialReply {
    uint32_t version = kControlVersion;
    int32_t error = 0;  // 0 (a socket is attached) or a negative errno
    uint64_t id = 0;
    char message[240] = {};  // with error: "dial tcp 127.0.0.1:80: connection refused"
};

// Sends one record without blocking. Returns 0, -EAGAIN when the socket buffer is full, or
// another negative errno. passFd (borrowed, may be -1) travels as SCM_RIGHTS; the caller keeps
// its own copy and closes it.
int sendRequest(int socket, const DialRequest &request);
int sendReply(int socket, const DialReply &reply, int passFd);

// Receives one record without blocking. Returns 1 with the record filled, 0 at EOF, -EAGAIN when
// nothing is queued, -EPROTO for a record of the wrong size or version, or another negative
// errno. A passed descriptor is received close-on-exec into *passed. When the kernel could not
// install a passed descriptor (no free fd), the record is still filled and -EMFILE is returned.
int receiveRequest(int socket, DialRequest *request);
int receiveReply(int socket, DialReply *reply, Fd *passed);

}  // namespace rkbuiltin

namespace rkbuiltin {

// bind() (listen side) or connect() (dial side) socket to the unix socket at path. A path too
// long for sun_path is reached through /proc/self/fd/<dir>/<name>, so deep state directories
// work too. Returns 0 or a negative errno.
int bindUnix(int socket, const std::string &path);
int connectUnix(int socket, const std::string &path);

}  // namespace rkbuiltin
