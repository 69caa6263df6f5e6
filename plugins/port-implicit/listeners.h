// The sockets a network namespace listens on, as the implicit port driver reports them: what
// pasta (--tcp-ports=auto --udp-ports=auto) forwards is exactly the set of TCP listeners and bound
// UDP sockets inside the namespace, which it derives from the same /proc/net tables.
//
// Run in the parent, which is not inside the child's network namespace: it finds the processes
// that are (readlink /proc/<pid>/ns/net), reads the tables through one of them
// (/proc/<pid>/net/tcp shows that process's namespace) and keeps only the sockets those
// processes hold. Sockets held by processes outside the namespace (pasta itself binds some
// inside for its host-to-namespace direction) are not the user's and are left out.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace rootlesskit::implicit {

struct Listener {
    uint32_t proto = 0;   // RKP_PROTO_TCP or RKP_PROTO_UDP
    uint32_t family = 0;  // RKP_FAMILY_IPV4 or RKP_FAMILY_IPV6
    std::string address;  // "0.0.0.0", "127.0.0.1", "::", ...
    uint16_t port = 0;
    uint64_t inode = 0;
};

// Parses one /proc/net/{tcp,tcp6,udp,udp6} table and returns the listening TCP sockets (state
// 0A) or the unconnected UDP sockets (state 07, remote port 0). Malformed lines are skipped.
std::vector<Listener> parseProcNetTable(const std::string &text, uint32_t proto, uint32_t family);

// The processes living in the network namespace whose nsfs inode is netnsInode, and the socket
// inodes they hold. Processes whose /proc entries this process may not read are skipped.
struct NamespaceMembers {
    std::vector<pid_t> pids;
    std::set<uint64_t> sockets;
};
NamespaceMembers findNamespaceMembers(uint64_t netnsInode);

// Every listener of the namespace held by one of its members, read through members.pids[0]'s
// /proc/<pid>/net tables; empty when the namespace has no member.
std::vector<Listener> namespaceListeners(const NamespaceMembers &members);

}  // namespace rootlesskit::implicit
