// The fuzz targets' bodies (see fuzz_targets.h): port specs, profiles, REST API requests and
// plugin descriptors, each with the properties that must hold for every input.
#include "tests/support/fuzz_targets.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequest.h>

#include "core/api_json.h"
#include "core/api_server.h"
#include "core/options.h"
#include "core/plugin_loader.h"
#include "core/port_manager.h"
#include "core/port_spec.h"
#include "core/profile.h"
#include "core/unique_fd.h"
#include "tests/unit/fake_port_plugin.h"

namespace rkfuzz {

namespace {

using rootlesskit::ApiReply;
using rootlesskit::ApiRequest;
using rootlesskit::PortManager;
using rootlesskit::PortSpec;
using rootlesskit::PortStatus;

constexpr size_t kMaxApiRequests = 8;
constexpr int64_t kMaxBodyBytes = 64 * 1024;  // the server's limit (api_server.cc)

// ---- Port specs ----

std::string checkParsedSpec(const std::string &text, const PortSpec &spec) {
    std::string formatted = rootlesskit::formatPortSpec(spec);
    auto again = rootlesskit::parsePortSpec(formatted);
    if (!again) {
        return "\"" + text + "\" parsed, but its formatted form \"" + formatted +
               "\" does not: " + again.status().message();
    }
    if (!(*again == spec)) {
        return "\"" + text + "\" formats to \"" + formatted + "\", which parses differently";
    }

    std::map<uint64_t, PortSpec> existing = {{1, {"tcp", "127.0.0.1", 8080, 80, ""}},
                                             {2, {"udp", "", 8081, 81, ""}}};
    rootlesskit::Status valid = rootlesskit::validatePortSpec(spec, existing);
    if (!valid && valid.message().empty()) {
        return "validatePortSpec failed without a message for \"" + text + "\"";
    }
    return "";
}

// ---- Plugin descriptors ----

// Reads fields from the input, front to back; zeros once it is used up.
class Reader {
public:
    Reader(const uint8_t *data, size_t size) : data_(data), size_(size) {}

    template <typename T>
    T take() {
        T value{};
        size_t n = std::min(sizeof(T), size_ - offset_);
        std::memcpy(&value, data_ + offset_, n);
        offset_ += n;
        return value;
    }

    bool flag() { return (take<uint8_t>() & 1) != 0; }

    // A string of up to 31 bytes (may contain any byte but NUL).
    std::string text() {
        size_t length = std::min<size_t>(take<uint8_t>() % 32, size_ - offset_);
        std::string out(reinterpret_cast<const char *>(data_ + offset_), length);
        offset_ += length;
        out.erase(std::remove(out.begin(), out.end(), '\0'), out.end());
        return out;
    }

private:
    const uint8_t *data_;
    size_t size_;
    size_t offset_ = 0;
};

// The functions a fuzzed descriptor points at. Validation must never call a plugin function, so
// each of them aborts.
[[noreturn]] void calledPluginFunction() {
    std::fputs("fuzz: the host called a function of a plugin it was only validating\n", stderr);
    std::abort();
}
int fakeCreate(const rkp_host *, const char *, rkp_instance **, rkp_error *) {
    calledPluginFunction();
}
void fakeDestroy(rkp_instance *) {
    calledPluginFunction();
}
int fakeNetConfigure(rkp_instance *, const rkp_net_params *, const rkp_sink *, rkp_error *) {
    calledPluginFunction();
}
int fakeNetTeardown(rkp_instance *, rkp_error *) {
    calledPluginFunction();
}
int fakeInfo(rkp_instance *, const rkp_sink *, rkp_error *) {
    calledPluginFunction();
}
int fakeInitParent(rkp_instance *, const rkp_port_context *, const rkp_sink *, rkp_error *) {
    calledPluginFunction();
}
int fakeRun(rkp_instance *, int, rkp_error *) {
    calledPluginFunction();
}
int fakeInitChild(rkp_instance *, const char *, const char *, rkp_error *) {
    calledPluginFunction();
}
int fakeAddPort(rkp_instance *, uint64_t, const rkp_port_spec *, rkp_error *) {
    calledPluginFunction();
}
int fakeRemovePort(rkp_instance *, uint64_t, rkp_error *) {
    calledPluginFunction();
}

// A descriptor and everything it points at, owned together.
struct FuzzedPlugin {
    std::string name;
    std::string version;
    std::string description;
    std::string ifname;
    std::string protos;
    std::string path;
    rkp_net_ops net{};
    rkp_port_ops port{};
    rkp_plugin descriptor{};
};

// A size that is mostly the right one, sometimes a smaller or an arbitrary one.
uint32_t fuzzedSize(Reader &in, uint32_t right) {
    switch (in.take<uint8_t>() % 4) {
        case 0:
            return in.take<uint32_t>();
        case 1:
            return right - std::min<uint32_t>(right, in.take<uint8_t>());
        default:
            return right;
    }
}

const char *maybe(Reader &in, const std::string &text) {
    return in.flag() ? nullptr : text.c_str();
}

void fillOps(Reader &in, FuzzedPlugin &p) {
    uint16_t present = in.take<uint16_t>();
    auto bit = [present](int i) { return (present & (1u << i)) != 0; };
    p.net.struct_size = fuzzedSize(in, sizeof(rkp_net_ops));
    p.net.configure_parent = bit(0) ? fakeNetConfigure : nullptr;
    p.net.teardown = bit(1) ? fakeNetTeardown : nullptr;
    p.net.info = bit(2) ? fakeInfo : nullptr;
    p.port.struct_size = fuzzedSize(in, sizeof(rkp_port_ops));
    p.port.init_parent = bit(3) ? fakeInitParent : nullptr;
    p.port.run_parent = bit(4) ? fakeRun : nullptr;
    p.port.init_child = bit(5) ? fakeInitChild : nullptr;
    p.port.run_child = bit(6) ? fakeRun : nullptr;
    p.port.add_port = bit(7) ? fakeAddPort : nullptr;
    p.port.remove_port = bit(8) ? fakeRemovePort : nullptr;
    p.port.info = bit(9) ? fakeInfo : nullptr;
    p.descriptor.create = bit(10) ? fakeCreate : nullptr;
    p.descriptor.destroy = bit(11) ? fakeDestroy : nullptr;
    p.descriptor.net = bit(12) ? &p.net : nullptr;
    p.descriptor.port = bit(13) ? &p.port : nullptr;
}

// The file name the descriptor comes with: none, the one it promises, or another.
std::string fuzzedPath(Reader &in, const FuzzedPlugin &p) {
    switch (in.take<uint8_t>() % 4) {
        case 0:
            return "(fuzz)";
        case 1:
            return "/plugins/rkp-port-" + p.name + ".so";
        case 2:
            return "/plugins/rkp-net-" + p.name + ".so";
        default:
            return "/plugins/" + in.text();
    }
}

void fillDescriptor(Reader &in, FuzzedPlugin &p) {
    rkp_plugin &d = p.descriptor;
    d.struct_size = fuzzedSize(in, sizeof(rkp_plugin));
    d.abi_major = in.flag() ? in.take<uint16_t>() : RKP_ABI_MAJOR;
    d.abi_minor = in.take<uint8_t>() % 3;
    d.kind = in.take<uint8_t>() % 4;
    d.default_mtu = in.take<uint32_t>();
    p.name = in.flag() ? in.text() : "fuzz";
    p.version = in.text();
    p.description = in.text();
    p.ifname = in.text();
    p.protos = in.text();
    d.name = maybe(in, p.name);
    d.version = maybe(in, p.version);
    d.description = maybe(in, p.description);
    d.default_ifname = maybe(in, p.ifname);
    d.protos = maybe(in, p.protos);
    d.supports = in.take<uint64_t>();
    d.needs = in.flag() ? in.take<uint64_t>() : in.take<uint8_t>();
    fillOps(in, p);
    p.path = fuzzedPath(in, p);
}

std::string checkRegistered(const rootlesskit::PluginRegistry &registry, const FuzzedPlugin &p) {
    const rootlesskit::PluginInfo &info = registry.all().back();
    if ((info.descriptor == nullptr) == info.refusal.empty()) {
        return "plugin " + info.name + ": usable and refused at once, or neither";
    }
    if (info.descriptor == nullptr) {
        return "";
    }
    if (info.descriptor != &p.descriptor) {
        return "a usable plugin does not point at its own descriptor";
    }
    auto found = registry.find(info.kind, info.name);
    if (!found || *found != &info) {
        return "usable " + info.kind + " plugin \"" + info.name + "\" is not found by its name";
    }
    rootlesskit::supportNames(info.supports);
    rootlesskit::needNames(info.needs);
    return "";
}

// Pairs a usable fuzzed plugin with the built-in "host" network (as a port plugin), or with no
// port driver (as a network plugin). Only the absence of a crash is checked.
void pairWithBuiltins(const rootlesskit::PluginRegistry &registry) {
    const rootlesskit::PluginInfo &info = registry.all().back();
    if (info.descriptor == nullptr) {
        return;
    }
    rootlesskit::Options options;
    std::vector<std::string> warnings;
    if (info.kind == "port") {
        auto host = registry.find("network", "host");
        if (host) {
            rootlesskit::checkPairing(registry, **host, &info, options, warnings);
        }
        return;
    }
    rootlesskit::checkPairing(registry, info, nullptr, options, warnings);
}

// ---- REST API ----

// The next request of the stream, as Poco's server would read it; nullopt at the end or on a
// request Poco refuses before our handler sees it (a bad request line or header, a
// Content-Length that is not a number: the server answers 400 and closes the connection).
std::optional<ApiRequest> readRequest(std::istream &in) {
    Poco::Net::HTTPRequest request;
    bool chunked = false;
    int64_t length = -1;
    try {
        request.read(in);
        chunked = request.getChunkedTransferEncoding();
        length = !chunked && request.hasContentLength() ? request.getContentLength64() : -1;
    } catch (const Poco::Exception &) {
        return std::nullopt;
    }
    if (!in) {
        return std::nullopt;
    }

    ApiRequest out{request.getMethod(), request.getURI(), std::string()};
    if (chunked) {
        out.body = std::string(std::istreambuf_iterator<char>(in), {});
    } else if (length >= 0) {
        if (length > kMaxBodyBytes) {
            out.body = std::nullopt;
        } else {
            std::string body(static_cast<size_t>(length), '\0');
            in.read(body.data(), length);
            body.resize(static_cast<size_t>(in.gcount()));
            out.body = body;
        }
    }
    return out;
}

std::string checkReply(const ApiRequest &request, const ApiReply &reply) {
    static const std::set<int> kStatuses = {200, 201, 400, 404, 405, 413};
    std::string what = request.method + " " + request.uri;
    if (kStatuses.count(reply.status) == 0) {
        return what + ": unexpected status " + std::to_string(reply.status) + ": " + reply.body;
    }
    if (reply.contentType == "application/json" && !rootlesskit::parseJson(reply.body)) {
        return what + ": reply is not JSON: " + reply.body;
    }
    return "";
}

// The table after a request: IDs unique and ascending; an ID not seen before is larger than
// every ID seen before (none comes back once removed).
std::string checkTable(PortManager &ports, std::set<uint64_t> &seen, uint64_t &highest) {
    auto listed = ports.list();
    if (!listed) {
        return ports.hasDriver() ? "list failed: " + listed.status().message() : "";
    }
    uint64_t previous = 0;
    for (const PortStatus &status : *listed) {
        if (status.id <= previous) {
            return "port IDs not unique and ascending at " + std::to_string(status.id);
        }
        previous = status.id;
        if (seen.insert(status.id).second) {
            if (status.id <= highest) {
                return "ID " + std::to_string(status.id) + " handed out again";
            }
            highest = status.id;
        }
    }
    return "";
}

std::string runRequests(const std::string &input, rootlesskit::PortDriver *driver) {
    PortManager ports(driver);
    if (driver != nullptr) {
        ports.add(PortSpec{"tcp", "127.0.0.1", 8080, 80, ""});
    }
    rootlesskit::ApiInfo info{"/run/user/1000/rootlesskit", 42, R"({"driver":"slirp4netns"})"};
    std::set<uint64_t> seen;
    uint64_t highest = 0;
    std::string problem = checkTable(ports, seen, highest);

    std::istringstream in(input);
    for (size_t i = 0; i < kMaxApiRequests && problem.empty(); ++i) {
        std::optional<ApiRequest> request = readRequest(in);
        if (!request) {
            break;
        }
        ApiReply reply = rootlesskit::handleApiRequest(info, ports, *request);
        problem = checkReply(*request, reply);
        if (problem.empty()) {
            problem = checkTable(ports, seen, highest);
        }
        if (reply.close) {
            break;
        }
    }
    return problem;
}

}  // namespace

std::string checkPortSpec(const uint8_t *data, size_t size) {
    std::string text(reinterpret_cast<const char *>(data), size);
    auto spec = rootlesskit::parsePortSpec(text);
    if (!spec) {
        return spec.status().message().empty() ? "parse failed without a message" : "";
    }
    return checkParsedSpec(text, *spec);
}

std::string checkProfile(const uint8_t *data, size_t size) {
    rootlesskit::UniqueFd file(memfd_create("profile.yaml", MFD_CLOEXEC));
    if (!file.valid() || write(file.get(), data, size) != static_cast<ssize_t>(size)) {
        return "";  // nothing to test without the file
    }
    std::string path = "/proc/self/fd/" + std::to_string(file.get());

    rootlesskit::Options options;
    std::set<std::string> keys;
    rootlesskit::Status loaded;
    try {
        loaded = rootlesskit::loadProfile(path, options, keys);
    } catch (const std::exception &e) {
        return std::string("loadProfile threw: ") + e.what();
    } catch (...) {
        return "loadProfile threw something that is not a std::exception";
    }
    if (loaded.ok()) {
        return "";
    }
    const std::string &message = loaded.message();
    if (message.rfind(path, 0) != 0) {
        return "error does not start with the profile's path: " + message;
    }
    if (message.find('\n') != std::string::npos) {
        return "error is more than one line: " + message;
    }
    return "";
}

std::string checkApiRequests(const uint8_t *data, size_t size) {
    std::string input(reinterpret_cast<const char *>(data), size);
    for (bool implicit : {false, true}) {
        rktest::FakePortDriver fake(implicit);
        if (!fake.driver) {
            return "fake port driver: " + fake.error;
        }
        std::string problem = runRequests(input, fake.driver.get());
        if (!problem.empty()) {
            return std::string(implicit ? "implicit" : "explicit") + " driver: " + problem;
        }
    }
    std::string problem = runRequests(input, nullptr);
    return problem.empty() ? "" : "no driver: " + problem;
}

std::string checkPluginDescriptor(const uint8_t *data, size_t size) {
    Reader in(data, size);
    FuzzedPlugin plugin;
    fillDescriptor(in, plugin);

    rootlesskit::PluginRegistry registry;
    registry.addBuiltins();
    size_t before = registry.all().size();
    registry.addDescriptor(&plugin.descriptor, plugin.path);
    if (registry.all().size() != before + 1) {
        return "addDescriptor did not record exactly one plugin";
    }
    std::string problem = checkRegistered(registry, plugin);
    if (problem.empty()) {
        pairWithBuiltins(registry);
    }
    return problem;
}

}  // namespace rkfuzz
