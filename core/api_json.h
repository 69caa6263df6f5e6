// The REST API's JSON documents (PortSpec, PortStatus, Info) and a JSON writer that prints them
// byte for byte as upstream's Go encoder does, shared by the API server and rootlessctl.
//
// Reading uses Poco::JSON (objects keep their member order). Writing goes through writeJson(),
// because Poco's own stringifier differs from Go's encoding/json in ways clients can see: empty
// arrays printed over several lines when indented, and no escaping of <, > and &.
//
// Threads: every function is pure and may run on any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Object.h>

#include "core/port_manager.h"
#include "core/status.h"

namespace rootlesskit {

// Parses text as one JSON value, keeping the member order of objects. Fails with the parser's
// own description of the problem ("unexpected end of text"), without any prefix.
Result<Poco::Dynamic::Var> parseJson(const std::string &text);

// Prints value as Go's json.Marshal does (indent == 0: compact, no spaces) or as
// json.MarshalIndent(value, "", <indent spaces>) does. Objects keep their member order. Strings
// are escaped like Go: ", \, control characters, <, >, &, U+2028 and U+2029; invalid UTF-8
// becomes U+FFFD. An empty Var prints as null.
std::string writeJson(const Poco::Dynamic::Var &value, int indent = 0);

// The PortSpec object: members in upstream's order (proto, parentIP, parentPort, childPort,
// childIP), each omitted when empty or zero.
Poco::JSON::Object::Ptr portSpecToJson(const PortSpec &spec);

// The PortStatus object: {"id": N, "spec": {...}}, plus "implicit": true for a port the network
// forwards by itself (the implicit port driver; absent otherwise, as upstream).
Poco::JSON::Object::Ptr portStatusToJson(const PortStatus &status);

// Reads a PortSpec from a decoded JSON value. Member names match case-insensitively (as Go's
// decoder does); unknown members and null values are ignored. Fails when value is not an object
// or a known member has the wrong type: `"parentPort" must be an integer, not a string`. Does
// not check ranges or protocols (validatePortSpec does).
Result<PortSpec> portSpecFromJson(const Poco::Dynamic::Var &value);

// Reads a PortStatus ({"id": N, "spec": {...}}) the same way.
Result<PortStatus> portStatusFromJson(const Poco::Dynamic::Var &value);

// Reads the GET /v1/ports reply: an array of PortStatus, or null for none.
Result<std::vector<PortStatus>> portListFromJson(const Poco::Dynamic::Var &value);

// The Info document of GET /v1/info, as rootlessctl reads it. Members the client does not know
// are dropped; absent members stay empty.
struct InfoView {
    struct Network {
        std::string driver;
        std::vector<std::string> dns;
        std::string childIP;
        bool dynamicChildIP = false;
    };
    struct Port {
        std::string driver;
        std::optional<std::vector<std::string>> protos;  // nullopt prints as null
        bool disallowLoopbackChildIP = false;
    };
    std::string apiVersion;
    std::string version;
    std::string stateDir;
    int64_t childPID = 0;
    std::optional<Network> networkDriver;
    std::optional<Port> portDriver;
};

// Reads an Info object. Fails when value is not an object or a known member has the wrong type.
Result<InfoView> infoFromJson(const Poco::Dynamic::Var &value);

// The Info object with upstream's member order and omission rules (networkDriver and portDriver
// omitted when absent; dns, childIP, dynamicChildIP and disallowLoopbackChildIP omitted when
// empty or false; protos always present inside portDriver).
Poco::JSON::Object::Ptr infoToJson(const InfoView &info);

}  // namespace rootlesskit
