// PortManager: the parent's table of published ports. It validates each request (port_spec.h),
// assigns IDs (1, 2, 3 ... never reused), and calls the port driver. Both the start-up publishing
// of -p specs and the REST API go through it.
//
// Threads: every method may be called from any thread; one mutex serialises them, so the driver
// sees one add/remove/list at a time. Runs only in the parent.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/driver.h"
#include "core/port_spec.h"
#include "core/status.h"

namespace rootlesskit {

struct PortStatus {
    uint64_t id = 0;
    PortSpec spec;
    bool implicit = false;  // reported by a driver that forwards on its own (pasta)
};

class PortManager {
public:
    // driver may be nullptr (--port-driver=none): every port call then fails with
    // "no PortDriver is available" (EINVAL). driver is borrowed and MUST outlive the manager.
    explicit PortManager(PortDriver *driver);

    bool hasDriver() const { return driver_ != nullptr; }

    // Validates spec against the table, then asks the driver. On success the port is listening.
    // The ID is consumed once handed to the driver, even when the driver then fails; a spec
    // refused by validation consumes none. Errors: validatePortSpec's text, or the driver's.
    Result<PortStatus> add(const PortSpec &spec);

    // Stops forwarding id; ENOENT "unknown id: N" when there is no such port.
    Status remove(uint64_t id);

    // Every port, ordered by ID.
    Result<std::vector<PortStatus>> list();

    // The "portDriver" JSON object text for /v1/info, "" when there is none to show.
    Result<std::string> driverInfo();

private:
    PortDriver *driver_;
    std::mutex mutex_;
    uint64_t nextId_ = 1;
    std::map<uint64_t, PortSpec> ports_;
};

}  // namespace rootlesskit
