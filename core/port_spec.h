// PortSpec: one port mapping as users write it ("127.0.0.1:8080:80/tcp") and as the REST API
// carries it, with upstream's parsing, validation and conflict rules.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "core/status.h"

namespace rootlesskit {

struct PortSpec {
    std::string proto;  // tcp tcp4 tcp6 udp udp4 udp6 sctp sctp4 sctp6
    std::string parentIP;  // "" = every address; kept as given (textual conflict rule)
    int parentPort = 0;
    int childPort = 0;
    std::string childIP;  // "" = the driver's default

    bool operator==(const PortSpec &) const = default;
};

// Parses "<parentIP>:<parentPort>:[<childIP>:]<childPort>/<proto>" exactly as upstream does
// (IPv6 in brackets; ":8080:80/tcp" for every address; short forms such as "8080:80/tcp" are
// refused). Does not check ranges: see validatePortSpec. Fails with a message that quotes text.
Result<PortSpec> parsePortSpec(const std::string &text);

// Renders spec back into the text form parsePortSpec accepts.
std::string formatPortSpec(const PortSpec &spec);

// Checks proto, addresses and port ranges, then conflicts against existing (by ID): the same
// proto string, parentIP string and parentPort as an existing entry gives "conflict with ID <id>".
Status validatePortSpec(const PortSpec &spec, const std::map<uint64_t, PortSpec> &existing);

}  // namespace rootlesskit
