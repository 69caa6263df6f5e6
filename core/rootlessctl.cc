// rootlessctl: command line, REST calls and output formatting.
#include "core/rootlessctl.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include <CLI/CLI.hpp>

#include "core/log.h"
#include "core/port_spec.h"
#include "core/version.h"

namespace rootlesskit::ctl {

namespace {

// ---- Talking to the server ----------------------------------------------------------------------

Result<std::string> socketPath(const std::string &flag) {
    if (!flag.empty()) {
        return flag;
    }
    const char *stateDir = std::getenv("ROOTLESSKIT_STATE_DIR");
    if (stateDir != nullptr && stateDir[0] != '\0') {
        return std::string(stateDir) + "/api.sock";
    }
    return Status::error("please specify --socket or set $ROOTLESSKIT_STATE_DIR");
}

class Client {
public:
    // Checks that the socket exists first, so that a wrong path reads as such rather than as a
    // refused connection.
    static Result<Client> open(const std::string &path) {
        struct stat st {};
        if (stat(path.c_str(), &st) != 0) {
            return Status::error("stat " + path + ": " + errnoText(errno), errno);
        }
        return Client(path);
    }

    // Sends one request; the reply body on a 2xx status, the server's error otherwise.
    Result<std::string> call(const std::string &method, const std::string &target,
                             const std::string &body = "") const {
        auto reply = httpUnixRequest(path_, method, target, body);
        if (!reply) {
            return reply.status();
        }
        logger("rootlessctl")->debug("{} {}: {} {}", method, target, reply->status, reply->reason);
        if (reply->status < 200 || reply->status > 299) {
            return replyError(*reply);
        }
        return reply->body;
    }

    // Like call(), then decodes the JSON body.
    Result<Poco::Dynamic::Var> callJson(const std::string &method, const std::string &target,
                                        const std::string &body = "") const {
        auto text = call(method, target, body);
        if (!text) {
            return text.status();
        }
        auto value = parseJson(*text);
        if (!value) {
            return value.status().wrap("invalid reply to " + method + " " + target);
        }
        return value;
    }

private:
    explicit Client(std::string path) : path_(std::move(path)) {}
    std::string path_;
};

// ---- Commands -----------------------------------------------------------------------------------

Status infoCommand(const Client &client, bool json, std::ostream &out) {
    auto value = client.callJson("GET", "/v1/info");
    if (!value) {
        return value.status();
    }
    auto info = infoFromJson(*value);
    if (!info) {
        return info.status().wrap("invalid reply to GET /v1/info");
    }
    out << (json ? writeJson(infoToJson(*info), 4) + "\n" : formatInfo(*info));
    return {};
}

Status listPortsCommand(const Client &client, bool json, std::ostream &out) {
    auto value = client.callJson("GET", "/v1/ports");
    if (!value) {
        return value.status();
    }
    auto ports = portListFromJson(*value);
    if (!ports) {
        return ports.status().wrap("invalid reply to GET /v1/ports");
    }

    if (!json) {
        out << formatPortTable(*ports);
        return {};
    }
    for (const PortStatus &port : *ports) {
        out << writeJson(portStatusToJson(port)) << "\n";
    }
    return {};
}

// Every spec is parsed before the first request, so a typo adds nothing; the server's first
// refusal stops the rest (the ports added before it stay).
Status addPortsCommand(const std::string &socketFlag, const std::vector<std::string> &args,
                       bool json, std::ostream &out) {
    if (args.empty()) {
        return Status::error("no port specified");
    }
    std::vector<PortSpec> specs;
    for (const std::string &arg : args) {
        auto spec = parsePortSpec(arg);
        if (!spec) {
            return spec.status();
        }
        specs.push_back(*spec);
    }

    auto path = socketPath(socketFlag);
    auto client = path ? Client::open(*path) : Result<Client>(path.status());
    if (!client) {
        return client.status();
    }
    for (const PortSpec &spec : specs) {
        auto value = client->callJson("POST", "/v1/ports", writeJson(portSpecToJson(spec)));
        auto status = value ? portStatusFromJson(*value) : Result<PortStatus>(value.status());
        if (!status) {
            return status.status();
        }
        out << (json ? writeJson(portStatusToJson(*status)) : std::to_string(status->id)) << "\n";
    }
    return {};
}

Result<uint64_t> parseId(const std::string &text) {
    uint64_t id = 0;
    const char *end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, id);
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || ptr != end) {
        return Status::error("bad id " + text + ": not a decimal number");
    }
    if (ec == std::errc::result_out_of_range) {
        return Status::error("bad id " + text + ": out of range");
    }
    return id;
}

Status removePortsCommand(const std::string &socketFlag, const std::vector<std::string> &args,
                          std::ostream &out) {
    if (args.empty()) {
        return Status::error("no ID specified");
    }
    std::vector<uint64_t> ids;
    for (const std::string &arg : args) {
        auto id = parseId(arg);
        if (!id) {
            return id.status();
        }
        ids.push_back(*id);
    }

    auto path = socketPath(socketFlag);
    auto client = path ? Client::open(*path) : Result<Client>(path.status());
    if (!client) {
        return client.status();
    }
    for (uint64_t id : ids) {
        auto removed = client->call("DELETE", "/v1/ports/" + std::to_string(id));
        if (!removed) {
            return removed.status();
        }
        out << id << "\n";
    }
    return {};
}

// ---- Command line -------------------------------------------------------------------------------

struct Flags {
    bool debug = false;
    std::string socket;
    bool json = false;
    std::vector<std::string> args;
    std::string helpTopic;
};

// The command table: one CLI11 subcommand per command, all sharing flags.
void defineCommands(CLI::App &app, Flags &flags) {
    app.add_flag("--debug", flags.debug, "Print debug messages");
    app.add_option("--socket", flags.socket,
                   "Path of api.sock (in the rootlesskit state directory); defaults to "
                   "$ROOTLESSKIT_STATE_DIR/api.sock");
    app.set_version_flag("--version,-v", std::string("rootlessctl version ") + kVersion,
                         "Print the version and exit");
    app.require_subcommand(0, 1);

    CLI::App *list = app.add_subcommand("list-ports", "List the published ports");
    list->add_flag("--json", flags.json, "One JSON object per port and line");

    CLI::App *add = app.add_subcommand("add-ports", "Publish ports");
    add->add_flag("--json", flags.json, "Print each new port as a JSON object");
    add->add_option("spec", flags.args, "PARENTIP:PARENTPORT:[CHILDIP:]CHILDPORT/PROTO");

    CLI::App *remove = app.add_subcommand("remove-ports", "Remove published ports by ID");
    remove->add_option("id", flags.args, "Port ID, as list-ports shows it");

    CLI::App *info = app.add_subcommand("info", "Show the API, driver and state information");
    info->add_flag("--json", flags.json, "Print the information as indented JSON");

    CLI::App *help = app.add_subcommand("help", "Show the commands, or one command's help");
    help->alias("h");
    help->add_option("command", flags.helpTopic, "Command to describe");
}

Status dispatch(CLI::App &app, const Flags &flags, std::ostream &out) {
    std::string command = app.get_subcommands().empty() ? "" : app.get_subcommands()[0]->get_name();
    if (command.empty() || command == "help") {
        CLI::App *topic = nullptr;
        if (!flags.helpTopic.empty()) {
            try {
                topic = app.get_subcommand(flags.helpTopic);
            } catch (const CLI::OptionNotFound &) {
                return Status::error("no help topic for \"" + flags.helpTopic + "\"");
            }
        }
        // App::help() would describe the selected subcommand, "help" itself.
        CLI::App *described = topic != nullptr ? topic : &app;
        std::string usage = topic != nullptr ? "rootlessctl " + topic->get_name() : "rootlessctl";
        out << app.get_formatter()->make_help(described, usage, CLI::AppFormatMode::Normal);
        return {};
    }
    if (command == "add-ports") {
        return addPortsCommand(flags.socket, flags.args, flags.json, out);
    }
    if (command == "remove-ports") {
        return removePortsCommand(flags.socket, flags.args, out);
    }

    auto path = socketPath(flags.socket);
    auto client = path ? Client::open(*path) : Result<Client>(path.status());
    if (!client) {
        return client.status();
    }
    return command == "info" ? infoCommand(*client, flags.json, out)
                             : listPortsCommand(*client, flags.json, out);
}

std::string lowerFirst(std::string text) {
    if (!text.empty()) {
        text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
    }
    return text;
}

// ---- Formatting ---------------------------------------------------------------------------------

// Width of s in characters (UTF-8 code points), as Go's tabwriter counts it.
size_t displayWidth(const std::string &s) {
    return static_cast<size_t>(std::count_if(
        s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string bracketList(const std::vector<std::string> &items) {
    std::string text = "[";
    for (size_t i = 0; i < items.size(); ++i) {
        text += (i > 0 ? " " : "") + items[i];
    }
    return text + "]";
}

// Decodes one UTF-8 sequence at s[i]; 0 when invalid.
size_t decodeUtf8(const std::string &s, size_t i, uint32_t *cp) {
    auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char c = byte(i);
    size_t length = c < 0xC2 ? 0 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF5 ? 4 : 0;
    if (length == 0 || i + length > s.size()) {
        return 0;
    }
    uint32_t value = c & (0xFF >> (length + 1));
    for (size_t k = 1; k < length; ++k) {
        if ((byte(i + k) & 0xC0) != 0x80) {
            return 0;
        }
        value = (value << 6) | (byte(i + k) & 0x3F);
    }
    bool overlong = (length == 3 && value < 0x800) || (length == 4 && value < 0x10000);
    if (overlong || (value >= 0xD800 && value <= 0xDFFF) || value > 0x10FFFF) {
        return 0;
    }
    *cp = value;
    return length;
}

// Go's unicode.IsPrint for the code points an error body may plausibly hold: C1 controls and
// the invisible format characters are escaped, everything else is printed. (Go's full table
// also escapes unassigned code points; those do not occur in server messages.)
bool isPrintable(uint32_t cp) {
    bool c1 = cp >= 0x80 && cp <= 0x9F;
    bool format = cp == 0xAD || (cp >= 0x200B && cp <= 0x200F) || cp == 0x2028 || cp == 0x2029 ||
                  (cp >= 0x202A && cp <= 0x202E) || cp == 0xFEFF;
    return !c1 && !format;
}

void appendHex(std::string &out, const char *prefix, uint32_t value, int digits) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += prefix;
    for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) {
        out += kHex[(value >> shift) & 0xF];
    }
}

void appendAsciiQuoted(std::string &out, unsigned char c) {
    switch (c) {
        case '\a':
            out += "\\a";
            break;
        case '\b':
            out += "\\b";
            break;
        case '\f':
            out += "\\f";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        case '\v':
            out += "\\v";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '"':
            out += "\\\"";
            break;
        default:
            if (c < 0x20 || c == 0x7F) {
                appendHex(out, "\\x", c, 2);
            } else {
                out += static_cast<char>(c);
            }
    }
}

}  // namespace

Status replyError(const HttpReply &reply) {
    auto value = parseJson(reply.body);
    if (value && !value->isEmpty() && value->type() == typeid(Poco::JSON::Object::Ptr)) {
        auto object = value->extract<Poco::JSON::Object::Ptr>();
        Poco::Dynamic::Var message = object->get("message");
        if (!message.isEmpty() && message.isString()) {
            return Status::error(message.extract<std::string>());
        }
    }
    return Status::error("unexpected HTTP status " + std::to_string(reply.status) + " " +
                         reply.reason + ", body=" + goQuote(reply.body));
}

std::string formatPortTable(const std::vector<PortStatus> &ports) {
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"ID", "PROTO", "PARENTIP", "PARENTPORT", "CHILDIP", "CHILDPORT"});
    for (const PortStatus &p : ports) {
        rows.push_back({std::to_string(p.id), p.spec.proto, p.spec.parentIP,
                        std::to_string(p.spec.parentPort), p.spec.childIP,
                        std::to_string(p.spec.childPort)});
    }
    // Ports the network forwards by itself (pasta) get one more column; upstream's table is
    // unchanged when there are none.
    bool anyImplicit = std::any_of(ports.begin(), ports.end(),
                                   [](const PortStatus &p) { return p.implicit; });
    for (size_t i = 0; anyImplicit && i < rows.size(); ++i) {
        rows[i].push_back(i == 0 ? "FORWARDING" : ports[i - 1].implicit ? "implicit" : "");
    }

    constexpr size_t kMinWidth = 4;
    constexpr size_t kPadding = 4;
    std::vector<size_t> widths(rows[0].size(), kMinWidth);
    for (const auto &row : rows) {
        for (size_t c = 0; c < row.size(); ++c) {
            widths[c] = std::max(widths[c], displayWidth(row[c]) + kPadding);
        }
    }

    std::string text;
    for (const auto &row : rows) {
        for (size_t c = 0; c < row.size(); ++c) {
            text += row[c];
            text.append(widths[c] - displayWidth(row[c]), ' ');
        }
        text += "\n";
    }
    return text;
}

std::string formatInfo(const InfoView &info) {
    std::string text;
    text += "- REST API version: " + info.apiVersion + "\n";
    text += "- Implementation version: " + info.version + "\n";
    text += "- State Directory: " + info.stateDir + "\n";
    text += "- Child PID: " + std::to_string(info.childPID) + "\n";
    if (info.networkDriver) {
        text += "- Network Driver: " + info.networkDriver->driver + "\n";
        text += "  - DNS: " + bracketList(info.networkDriver->dns) + "\n";
        if (!info.networkDriver->childIP.empty()) {
            text += "  - IP: " + info.networkDriver->childIP + "\n";
        }
    }
    if (info.portDriver) {
        text += "- Port Driver: " + info.portDriver->driver + "\n";
        text += "  - Supported protocols: " +
                bracketList(info.portDriver->protos.value_or(std::vector<std::string>{})) + "\n";
    }
    return text;
}

std::string goQuote(const std::string &s) {
    std::string out = "\"";
    for (size_t i = 0; i < s.size();) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            appendAsciiQuoted(out, c);
            ++i;
            continue;
        }
        uint32_t cp = 0;
        size_t length = decodeUtf8(s, i, &cp);
        if (length == 0) {
            appendHex(out, "\\x", c, 2);
            ++i;
        } else if (!isPrintable(cp)) {
            appendHex(out, "\\u", cp, 4);
            i += length;
        } else {
            out.append(s, i, length);
            i += length;
        }
    }
    return out + "\"";
}

// Upstream's flag library also takes long names after one dash ("-socket PATH", "-json");
// CLI11 would read "-socket" as the short flags -s -o -c ..., so those become "--socket".
std::vector<std::string> withDoubleDashes(const std::vector<std::string> &args) {
    static const char *const kLongNames[] = {"debug", "socket", "version", "help", "json"};
    std::vector<std::string> out;
    for (const std::string &arg : args) {
        if (arg == "--") {
            out.insert(out.end(), args.begin() + static_cast<long>(out.size()), args.end());
            break;
        }
        bool singleDash = arg.size() > 2 && arg[0] == '-' && arg[1] != '-';
        std::string name = singleDash ? arg.substr(1, arg.find('=') - 1) : "";
        bool known = std::find(std::begin(kLongNames), std::end(kLongNames), name) !=
                     std::end(kLongNames);
        out.push_back(singleDash && known ? "-" + arg : arg);
    }
    return out;
}

int run(const std::vector<std::string> &args, std::ostream &out, std::ostream &err) {
    CLI::App app("rootlessctl: client of the rootlesskit REST API", "rootlessctl");
    Flags flags;
    defineCommands(app, flags);

    try {
        // CLI11 takes a vector in reverse order (it pops arguments from the back).
        std::vector<std::string> normalized = withDoubleDashes(args);
        std::vector<std::string> reversed(normalized.rbegin(), normalized.rend());
        app.parse(reversed);
    } catch (const CLI::Success &e) {
        return app.exit(e, out, err);  // --help, --version
    } catch (const CLI::ParseError &e) {
        err << "error: " << lowerFirst(e.what()) << "\n";
        return 1;
    }

    initLogging("rootlessctl", flags.debug);
    Status status = dispatch(app, flags, out);
    if (!status) {
        err << "error: " << status.message() << "\n";
        return 1;
    }
    return 0;
}

}  // namespace rootlesskit::ctl
