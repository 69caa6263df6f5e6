// NetDriver and PortDriver: the core's C++ view of one plugin instance. They own the rkp_host
// services table handed to the plugin (logging into spdlog under "net/<name>" or "port/<name>"),
// turn rkp_error into Status, and copy sink output into std::string. No C++ type or exception
// crosses the plugin boundary.
//
// Threads: construction, configure*/init*/teardown run on the main thread of their process.
// PortDriver's addPort/removePort/listPorts/info are serialised by the caller (PortManager) and
// may run while runParent/runChild block on their own threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/plugin_loader.h"
#include "core/status.h"
#include "rootlesskit/rkp.h"

namespace rootlesskit {

class HostServices;  // the rkp_host table and its logger; defined in driver.cc

class NetDriver {
public:
    // Creates an instance of plugin on side (RKP_SIDE_PARENT or RKP_SIDE_CHILD) with configJson.
    static Result<std::unique_ptr<NetDriver>> create(const PluginInfo &plugin, uint32_t side,
                                                     const std::string &stateDir,
                                                     const std::string &configJson);
    ~NetDriver();  // runs teardown if a configure call happened and teardown did not, then destroy

    const PluginInfo &plugin() const { return plugin_; }
    bool hasPrepareChild() const;
    bool hasConfigureChild() const;
    bool hasWatch() const;

    Status prepareChild(const rkp_net_params &params);
    Result<std::string> configureParent(const rkp_net_params &params);  // the network message
    Result<std::string> configureChild(const rkp_net_params &params, const std::string &netmsg);
    Status watch(int quitFd);
    Status teardown();
    Result<std::string> info();  // JSON object text

private:
    NetDriver(const PluginInfo &plugin, std::unique_ptr<HostServices> host);
    PluginInfo plugin_;
    std::unique_ptr<HostServices> host_;
    rkp_instance *instance_ = nullptr;
    bool configured_ = false;
    bool tornDown_ = false;
};
using NetDriverPtr = std::unique_ptr<NetDriver>;

class PortDriver {
public:
    static Result<std::unique_ptr<PortDriver>> create(const PluginInfo &plugin, uint32_t side,
                                                      const std::string &stateDir,
                                                      const std::string &configJson);
    ~PortDriver();

    const PluginInfo &plugin() const { return plugin_; }
    bool needsParentLoop() const { return plugin_.needs & RKP_NEED_PARENT_LOOP; }
    bool needsChildLoop() const { return plugin_.needs & RKP_NEED_CHILD_LOOP; }

    Result<std::string> initParent(const rkp_port_context &context);  // opaque JSON for the child
    Status runParent(int quitFd);
    Status initChild(const std::string &opaqueJson, const char *detachedNetnsPath);
    Status runChild(int quitFd);
    Status addPort(uint64_t id, const rkp_port_spec &spec);
    Status removePort(uint64_t id);
    bool hasListPorts() const;
    Status listPorts(rkp_port_visit visit, void *ctx);
    Result<std::string> info();  // JSON object text, "" to omit "portDriver"

private:
    PortDriver(const PluginInfo &plugin, std::unique_ptr<HostServices> host);
    PluginInfo plugin_;
    std::unique_ptr<HostServices> host_;
    rkp_instance *instance_ = nullptr;
};
using PortDriverPtr = std::unique_ptr<PortDriver>;

}  // namespace rootlesskit
