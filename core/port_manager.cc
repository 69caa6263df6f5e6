// PortManager: validation, ID assignment and the table of published ports, in front of the port
// driver.
//
// IDs: an ID is consumed as soon as it is handed to the driver, whether the driver then succeeds
// or fails, and is never handed out again. (Upstream's builtin driver advances its counter only
// on success; never reusing an ID that a driver has seen is the safer rule, since a driver that
// failed half-way may still hold state under it.) A request refused by validation reaches no
// driver and consumes no ID.
#include "core/port_manager.h"

#include <algorithm>

#include "core/log.h"

namespace rootlesskit {

namespace {

constexpr const char *kNoDriver = "no PortDriver is available";

Status noDriver() {
    return Status::error(kNoDriver, EINVAL);
}

// The protocol number and socket family of a validated proto string ("tcp6" -> TCP, IPv6).
void protoOf(const std::string &proto, uint32_t *number, uint32_t *family) {
    std::string base = proto;
    *family = RKP_FAMILY_ANY;
    if (!base.empty() && (base.back() == '4' || base.back() == '6')) {
        *family = base.back() == '4' ? RKP_FAMILY_IPV4 : RKP_FAMILY_IPV6;
        base.pop_back();
    }
    *number = base == "udp" ? RKP_PROTO_UDP : base == "sctp" ? RKP_PROTO_SCTP : RKP_PROTO_TCP;
}

// Rebuilds the user-facing spec from what a driver reports (list_ports).
PortSpec specFromAbi(const rkp_port_spec &abi) {
    PortSpec spec;
    if (abi.proto_name != nullptr && abi.proto_name[0] != '\0') {
        spec.proto = abi.proto_name;
    } else {
        spec.proto = abi.proto == RKP_PROTO_UDP    ? "udp"
                     : abi.proto == RKP_PROTO_SCTP ? "sctp"
                                                   : "tcp";
        if (abi.family == RKP_FAMILY_IPV4 || abi.family == RKP_FAMILY_IPV6) {
            spec.proto += abi.family == RKP_FAMILY_IPV4 ? "4" : "6";
        }
    }
    spec.parentIP = abi.parent_ip != nullptr ? abi.parent_ip : "";
    spec.parentPort = abi.parent_port;
    spec.childPort = abi.child_port;
    spec.childIP = abi.child_ip != nullptr ? abi.child_ip : "";
    return spec;
}

void collectPort(void *ctx, uint64_t id, const rkp_port_spec *spec) {
    auto *out = static_cast<std::vector<PortStatus> *>(ctx);
    if (spec != nullptr) {
        out->push_back(PortStatus{id, specFromAbi(*spec), true});
    }
}

}  // namespace

PortManager::PortManager(PortDriver *driver) : driver_(driver) {}

Result<PortStatus> PortManager::add(const PortSpec &spec) {
    if (driver_ == nullptr) {
        return noDriver();
    }
    std::lock_guard<std::mutex> lock(mutex_);

    Status valid = validatePortSpec(spec, ports_);
    if (!valid) {
        return valid;
    }

    rkp_port_spec abi{};
    abi.struct_size = sizeof(abi);
    protoOf(spec.proto, &abi.proto, &abi.family);
    abi.parent_port = static_cast<uint16_t>(spec.parentPort);
    abi.child_port = static_cast<uint16_t>(spec.childPort);
    abi.proto_name = spec.proto.c_str();
    abi.parent_ip = spec.parentIP.c_str();
    abi.child_ip = spec.childIP.c_str();

    // As upstream's: an ID is used up only by a port that was added, so IDs stay consecutive.
    uint64_t id = nextId_;
    Status added = driver_->addPort(id, abi);
    if (!added) {
        return added;
    }
    ++nextId_;

    ports_.emplace(id, spec);
    logger("core")->debug("port {} added: {}", id, formatPortSpec(spec));
    return PortStatus{id, spec, false};
}

Status PortManager::remove(uint64_t id) {
    if (driver_ == nullptr) {
        return noDriver();
    }
    std::lock_guard<std::mutex> lock(mutex_);

    // A driver that lists its own ports knows IDs the table never saw; let it answer.
    auto it = ports_.find(id);
    if (it == ports_.end() && !driver_->hasListPorts()) {
        return Status::error("unknown id: " + std::to_string(id), ENOENT);
    }

    Status removed = driver_->removePort(id);
    if (!removed) {
        return removed;
    }
    if (it != ports_.end()) {
        ports_.erase(it);
    }
    logger("core")->debug("port {} removed", id);
    return {};
}

Result<std::vector<PortStatus>> PortManager::list() {
    if (driver_ == nullptr) {
        return noDriver();
    }
    std::lock_guard<std::mutex> lock(mutex_);

    std::vector<PortStatus> out;
    if (driver_->hasListPorts()) {
        Status listed = driver_->listPorts(collectPort, &out);
        if (!listed) {
            return listed;
        }
        std::stable_sort(out.begin(), out.end(),
                         [](const PortStatus &a, const PortStatus &b) { return a.id < b.id; });
        return out;
    }

    for (const auto &[id, spec] : ports_) {
        out.push_back(PortStatus{id, spec, false});
    }
    return out;
}

Result<std::string> PortManager::driverInfo() {
    if (driver_ == nullptr) {
        return std::string();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    return driver_->info();
}

}  // namespace rootlesskit
