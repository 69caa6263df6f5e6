// NetDriver and PortDriver: the core's C++ view of one plugin instance. They own the rkp_host
// services table handed to the plugin (logging into spdlog under "net/<name>" or "port/<name>",
// each message one line passed through terminalSafe() of log.h and cut at kPluginLogLineMax),
// turn rkp_error into Status, and copy sink output into std::string. No C++ type or exception
// crosses the plugin boundary.
//
// Threads: construction, configure*/init*/teardown run on the main thread of their process.
// PortDriver's addPort/removePort/listPorts/info are serialised by the caller (PortManager) and
// may run while runParent/runChild block on their own threads. NetDriver::watch blocks on its
// own thread while the main thread waits; info() may run on an API thread meanwhile.
//
// Errors: a failed plugin call returns the plugin's own message, its control characters escaped
// by terminalSafe() (log.h) and otherwise unchanged (callers add their context, e.g. "failed to
// setup network slirp4netns: ...") with the plugin's errno as the code.
// A plugin that fails without a message gets "<kind> plugin <name> <function>: <errno text>".
// A return value that is neither 0 nor a negative errno (e.g. +42) fails with EIO and
// "<kind> plugin <name> <function> returned 42, which is neither 0 nor a negative errno", then
// ": <plugin message>" when there is one.
//
// Structs passed in (rkp_net_params, rkp_port_context, rkp_port_spec) are copied and their
// struct_size is set by the wrapper, so callers need not fill it.
//
// Processes: an instance belongs to the process that created it. A copy of a wrapper inherited
// through clone() without exec is inert in the other process: its destructor neither tears
// down nor destroys the instance, which still belongs to the original process.
#pragma once

#include <sys/types.h>

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
    // Creates an instance of plugin (a usable network plugin: descriptor non-NULL) on side
    // (RKP_SIDE_PARENT or RKP_SIDE_CHILD) with configJson ("{}" when the profile has no section).
    // stateDir is copied and handed to the plugin as rkp_host.state_dir. Fails with
    // "create network driver <name>: <plugin message>" when the plugin's create() fails.
    static Result<std::unique_ptr<NetDriver>> create(const PluginInfo &plugin, uint32_t side,
                                                     const std::string &stateDir,
                                                     const std::string &configJson);
    ~NetDriver();  // runs teardown if a configure call happened and teardown did not, then destroy
    NetDriver(const NetDriver &) = delete;
    NetDriver &operator=(const NetDriver &) = delete;

    const PluginInfo &plugin() const { return plugin_; }
    bool hasPrepareChild() const;
    bool hasConfigureChild() const;
    bool hasWatch() const;

    // CHILD. prepare_child; ok when the plugin has none.
    Status prepareChild(const rkp_net_params &params);
    // PARENT. configure_parent; the network message (JSON object text, "{}" when the plugin
    // wrote nothing).
    Result<std::string> configureParent(const rkp_net_params &params);
    // CHILD. configure_child; the message to set the interface up with. A plugin without
    // configure_child returns netmsg unchanged; one that writes nothing keeps netmsg too.
    Result<std::string> configureChild(const rkp_net_params &params, const std::string &netmsg);
    // PARENT, own thread. watch; blocks until quitFd (borrowed) is readable or the network
    // fails, with "network driver <name>: <plugin message>" (the one call whose error names the
    // driver itself). Ok at once when the plugin has no watch.
    Status watch(int quitFd);
    // Either side. teardown; later calls (and the destructor) do nothing.
    Status teardown();
    // PARENT. info; JSON object text, "" when the plugin writes nothing (no "networkDriver").
    Result<std::string> info();

private:
    NetDriver(const PluginInfo &plugin, std::unique_ptr<HostServices> host);
    PluginInfo plugin_;
    std::unique_ptr<HostServices> host_;
    rkp_instance *instance_ = nullptr;
    // The process that created the instance (PID and user namespace); 0 until create() succeeded.
    pid_t owner_ = 0;
    uint64_t ownerUserns_ = 0;
    bool configured_ = false;
    bool tornDown_ = false;
};
using NetDriverPtr = std::unique_ptr<NetDriver>;

class PortDriver {
public:
    // As NetDriver::create, for a usable port plugin; "create port driver <name>: <message>".
    static Result<std::unique_ptr<PortDriver>> create(const PluginInfo &plugin, uint32_t side,
                                                      const std::string &stateDir,
                                                      const std::string &configJson);
    ~PortDriver();  // destroy
    PortDriver(const PortDriver &) = delete;
    PortDriver &operator=(const PortDriver &) = delete;

    const PluginInfo &plugin() const { return plugin_; }
    bool needsParentLoop() const { return plugin_.needs & RKP_NEED_PARENT_LOOP; }
    bool needsChildLoop() const { return plugin_.needs & RKP_NEED_CHILD_LOOP; }

    // PARENT. init_parent; the opaque JSON for the child ("{}" when the plugin wrote nothing).
    Result<std::string> initParent(const rkp_port_context &context);
    // PARENT, own thread. run_parent until quitFd (borrowed) is readable; ok at once without one.
    Status runParent(int quitFd);
    // CHILD. init_child; detachedNetnsPath MAY be NULL.
    Status initChild(const std::string &opaqueJson, const char *detachedNetnsPath);
    // CHILD, own thread. run_child until quitFd (borrowed) is readable; ok at once without one.
    Status runChild(int quitFd);
    // PARENT. add_port / remove_port with the host's ID.
    Status addPort(uint64_t id, const rkp_port_spec &spec);
    Status removePort(uint64_t id);
    // PARENT. list_ports; visit is called synchronously, spec valid only during the call.
    // ENOTSUP when the plugin has no list_ports.
    bool hasListPorts() const;
    Status listPorts(rkp_port_visit visit, void *ctx);
    // PARENT. info; JSON object text, "" to omit "portDriver".
    Result<std::string> info();

private:
    PortDriver(const PluginInfo &plugin, std::unique_ptr<HostServices> host);
    PluginInfo plugin_;
    std::unique_ptr<HostServices> host_;
    rkp_instance *instance_ = nullptr;
    // The process that created the instance (PID and user namespace); 0 until create() succeeded.
    pid_t owner_ = 0;
    uint64_t ownerUserns_ = 0;
};
using PortDriverPtr = std::unique_ptr<PortDriver>;

}  // namespace rootlesskit
