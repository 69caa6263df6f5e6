// Listening sockets of a network namespace, from /proc (see listeners.h).
#include "listeners.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "rootlesskit/rkp.h"

namespace rootlesskit::implicit {
namespace {

// /proc/net/tcp states (include/net/tcp_states.h): TCP_LISTEN, and TCP_CLOSE for UDP sockets
// that are bound but not connected.
constexpr int kTcpListen = 0x0A;
constexpr int kUdpUnconnected = 0x07;

// "0100007F:1F90" -> "127.0.0.1", 8080. The address is the kernel's in-memory words printed in
// hex, so each 32-bit group is in host byte order.
bool parseEndpoint(const std::string &text, uint32_t family, std::string *address, uint16_t *port) {
    size_t colon = text.find(':');
    size_t hexLength = family == RKP_FAMILY_IPV4 ? 8 : 32;
    if (colon != hexLength) {
        return false;
    }
    uint32_t words[4] = {};
    for (size_t i = 0; i < hexLength / 8; i++) {
        words[i] = static_cast<uint32_t>(std::stoul(text.substr(i * 8, 8), nullptr, 16));
    }
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(family == RKP_FAMILY_IPV4 ? AF_INET : AF_INET6, words, buf, sizeof(buf));
    *address = buf;
    *port = static_cast<uint16_t>(std::stoul(text.substr(colon + 1), nullptr, 16));
    return true;
}

// One table line: "sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...".
bool parseLine(const std::string &line, uint32_t proto, uint32_t family, Listener *out) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
    if (!(fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
          timeout >> inode)) {
        return false;
    }
    std::string remoteAddress;
    uint16_t remotePort = 0;
    int st = static_cast<int>(std::stoul(state, nullptr, 16));
    if (!parseEndpoint(local, family, &out->address, &out->port) ||
        !parseEndpoint(remote, family, &remoteAddress, &remotePort)) {
        return false;
    }
    bool listening =
        proto == RKP_PROTO_TCP ? st == kTcpListen : st == kUdpUnconnected && remotePort == 0;
    out->proto = proto;
    out->family = family;
    out->inode = std::stoull(inode);
    return listening && out->port != 0;
}

std::string readFile(const std::string &path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// readlink() as a string, "" on failure.
std::string readLink(const std::string &path) {
    char buf[64] = {};
    ssize_t n = readlink(path.c_str(), buf, sizeof(buf) - 1);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

// Adds the socket inodes of pid's descriptors ("socket:[123]") to sockets.
void collectSockets(pid_t pid, std::set<uint64_t> *sockets) {
    std::string dir = "/proc/" + std::to_string(pid) + "/fd";
    DIR *fds = opendir(dir.c_str());
    if (fds == nullptr) {
        return;
    }
    while (dirent *entry = readdir(fds)) {
        std::string target = readLink(dir + "/" + entry->d_name);
        if (target.rfind("socket:[", 0) == 0) {
            sockets->insert(std::stoull(target.substr(8)));
        }
    }
    closedir(fds);
}

}  // namespace

std::vector<Listener> parseProcNetTable(const std::string &text, uint32_t proto, uint32_t family) {
    std::vector<Listener> out;
    std::istringstream lines(text);
    std::string line;
    std::getline(lines, line);  // the header
    while (std::getline(lines, line)) {
        Listener listener;
        try {
            if (parseLine(line, proto, family, &listener)) {
                out.push_back(listener);
            }
        } catch (const std::exception &) {
            // A line that is not what the kernel writes: skipped.
        }
    }
    return out;
}

NamespaceMembers findNamespaceMembers(uint64_t netnsInode) {
    NamespaceMembers members;
    const std::string wanted = "net:[" + std::to_string(netnsInode) + "]";
    DIR *proc = opendir("/proc");
    if (proc == nullptr) {
        return members;
    }
    while (dirent *entry = readdir(proc)) {
        char *end = nullptr;
        long pid = std::strtol(entry->d_name, &end, 10);
        if (*end != '\0' || pid <= 0 ||
            readLink("/proc/" + std::string(entry->d_name) + "/ns/net") != wanted) {
            continue;
        }
        members.pids.push_back(static_cast<pid_t>(pid));
        collectSockets(static_cast<pid_t>(pid), &members.sockets);
    }
    closedir(proc);
    return members;
}

std::vector<Listener> namespaceListeners(const NamespaceMembers &members) {
    std::vector<Listener> out;
    if (members.pids.empty()) {
        return out;
    }
    const std::string net = "/proc/" + std::to_string(members.pids.front()) + "/net/";
    const struct {
        const char *table;
        uint32_t proto;
        uint32_t family;
    } kTables[] = {
        {"tcp", RKP_PROTO_TCP, RKP_FAMILY_IPV4},
        {"tcp6", RKP_PROTO_TCP, RKP_FAMILY_IPV6},
        {"udp", RKP_PROTO_UDP, RKP_FAMILY_IPV4},
        {"udp6", RKP_PROTO_UDP, RKP_FAMILY_IPV6},
    };
    for (const auto &table : kTables) {
        for (const Listener &l :
             parseProcNetTable(readFile(net + table.table), table.proto, table.family)) {
            if (members.sockets.count(l.inode) != 0) {
                out.push_back(l);
            }
        }
    }
    return out;
}

}  // namespace rootlesskit::implicit
