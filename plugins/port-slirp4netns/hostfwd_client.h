// A client for slirp4netns' API socket (--api-socket): one JSON request per unix connection.
#pragma once

#include <Poco/JSON/Object.h>

#include <string>

namespace rootlesskit::slirp4netns {

// Connects to socketPath, sends {"execute": execute, "arguments": arguments} and a newline, shuts
// the write side down (slirp4netns answers only then) and reads the reply to EOF. Returns the
// reply's "return" object. Throws rkp::Error: -errno for socket failures ("connect to slirp4netns
// api socket <path>: <cause>"), -EIO with "slirp4netns <execute>: <desc>" when slirp4netns
// answers with {"error": {"desc": ...}}, and "... unexpected reply: <text>" for anything else.
// Blocks the calling thread for at most 10 s per direction. Any thread; no shared state.
Poco::JSON::Object::Ptr callHostfwdApi(const std::string &socketPath, const std::string &execute,
                                       const Poco::JSON::Object &arguments);

}  // namespace rootlesskit::slirp4netns
