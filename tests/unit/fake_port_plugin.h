// A port plugin for tests of PortManager, the REST API and rootlessctl: it forwards nothing,
// records every call, and can be told to fail. Two descriptors share one recorder: "fake"
// (the host assigns and tracks ports) and "fake-implicit" (the plugin lists its own ports, as a
// driver that forwards implicitly does).
//
// Threads: the plugin functions and the test thread may run at the same time; the recorder's
// mutex guards it. One recorder per process: tests reset() it and use one driver at a time.
#pragma once

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/driver.h"
#include "core/plugin_loader.h"
#include "core/port_spec.h"
#include "rootlesskit/rkp.h"

namespace rktest {

struct FakePortCall {
    std::string op;  // "add" or "remove"
    uint64_t id = 0;
    uint32_t proto = 0;
    uint32_t family = 0;
    rootlesskit::PortSpec spec;  // as the plugin received it (add only)
};

struct FakePortRecorder {
    std::mutex mutex;
    std::vector<FakePortCall> calls;
    int failAdd = 0;  // when negative, add_port returns it with failMessage
    int failRemove = 0;
    int failInfo = 0;
    std::string failMessage;
    std::string info = R"({"driver":"fake","protos":["tcp","tcp4","tcp6","udp","udp4","udp6"]})";
    std::map<uint64_t, rootlesskit::PortSpec> listed;  // what "fake-implicit" lists

    void reset() {
        std::lock_guard<std::mutex> lock(mutex);
        calls.clear();
        failAdd = failRemove = failInfo = 0;
        failMessage.clear();
        info = R"({"driver":"fake","protos":["tcp","tcp4","tcp6","udp","udp4","udp6"]})";
        listed.clear();
    }

    std::vector<FakePortCall> snapshot() {
        std::lock_guard<std::mutex> lock(mutex);
        return calls;
    }
};

inline FakePortRecorder &fakePorts() {
    static FakePortRecorder recorder;
    return recorder;
}

namespace fake_port_detail {

inline int fail(int code, const std::string &message, rkp_error *err) {
    err->code = code;
    std::snprintf(err->message, sizeof(err->message), "%s", message.c_str());
    return code;
}

inline int create(const rkp_host *, const char *, rkp_instance **out, rkp_error *) {
    *out = reinterpret_cast<rkp_instance *>(&fakePorts());
    return 0;
}

inline void destroy(rkp_instance *) {}

inline int initParent(rkp_instance *, const rkp_port_context *, const rkp_sink *out, rkp_error *) {
    out->write(out->ctx, "{}", 2);
    return 0;
}

inline int initChild(rkp_instance *, const char *, const char *, rkp_error *) {
    return 0;
}

inline int addPort(rkp_instance *, uint64_t id, const rkp_port_spec *spec, rkp_error *err) {
    FakePortRecorder &r = fakePorts();
    std::lock_guard<std::mutex> lock(r.mutex);
    FakePortCall call{"add", id, spec->proto, spec->family, {}};
    call.spec.proto = spec->proto_name;
    call.spec.parentIP = spec->parent_ip;
    call.spec.parentPort = spec->parent_port;
    call.spec.childPort = spec->child_port;
    call.spec.childIP = spec->child_ip;
    r.calls.push_back(call);
    return r.failAdd < 0 ? fail(r.failAdd, r.failMessage, err) : 0;
}

inline int removePort(rkp_instance *, uint64_t id, rkp_error *err) {
    FakePortRecorder &r = fakePorts();
    std::lock_guard<std::mutex> lock(r.mutex);
    r.calls.push_back(FakePortCall{"remove", id, 0, 0, {}});
    return r.failRemove < 0 ? fail(r.failRemove, r.failMessage, err) : 0;
}

inline int listPorts(rkp_instance *, rkp_port_visit visit, void *ctx, rkp_error *) {
    FakePortRecorder &r = fakePorts();
    std::lock_guard<std::mutex> lock(r.mutex);
    // Visited in descending ID order on purpose: the host must sort.
    for (auto it = r.listed.rbegin(); it != r.listed.rend(); ++it) {
        const rootlesskit::PortSpec &s = it->second;
        rkp_port_spec spec{};
        spec.struct_size = sizeof(spec);
        spec.proto_name = s.proto.c_str();
        spec.parent_ip = s.parentIP.c_str();
        spec.parent_port = static_cast<uint16_t>(s.parentPort);
        spec.child_port = static_cast<uint16_t>(s.childPort);
        spec.child_ip = s.childIP.c_str();
        visit(ctx, it->first, &spec);
    }
    return 0;
}

inline int info(rkp_instance *, const rkp_sink *out, rkp_error *err) {
    FakePortRecorder &r = fakePorts();
    std::lock_guard<std::mutex> lock(r.mutex);
    if (r.failInfo < 0) {
        return fail(r.failInfo, r.failMessage, err);
    }
    out->write(out->ctx, r.info.data(), r.info.size());
    return 0;
}

inline const rkp_port_ops *ops(bool implicit) {
    static const rkp_port_ops explicitOps = {
        sizeof(rkp_port_ops), initParent, nullptr, initChild, nullptr, addPort,
        removePort,           nullptr,    info};
    static const rkp_port_ops implicitOps = {
        sizeof(rkp_port_ops), initParent, nullptr, initChild, nullptr, addPort,
        removePort,           listPorts,  info};
    return implicit ? &implicitOps : &explicitOps;
}

inline const rkp_plugin *descriptor(bool implicit) {
    static const rkp_plugin explicitPlugin = {sizeof(rkp_plugin),
                                              RKP_ABI_MAJOR,
                                              0,
                                              RKP_KIND_PORT,
                                              0,
                                              "fake",
                                              "1.0",
                                              "records calls, forwards nothing",
                                              RKP_SUP_TCP | RKP_SUP_UDP | RKP_SUP_IPV6,
                                              0,
                                              nullptr,
                                              "tcp tcp4 tcp6 udp udp4 udp6",
                                              create,
                                              destroy,
                                              nullptr,
                                              ops(false)};
    static const rkp_plugin implicitPlugin = {sizeof(rkp_plugin),
                                              RKP_ABI_MAJOR,
                                              0,
                                              RKP_KIND_PORT,
                                              0,
                                              "fake-implicit",
                                              "1.0",
                                              "lists ports it was given, forwards nothing",
                                              RKP_SUP_TCP | RKP_SUP_IMPLICIT_PORTS,
                                              0,
                                              nullptr,
                                              "tcp",
                                              create,
                                              destroy,
                                              nullptr,
                                              ops(true)};
    return implicit ? &implicitPlugin : &explicitPlugin;
}

}  // namespace fake_port_detail

// A PortDriver over the fake plugin, initialised on the parent side. Resets the recorder.
// Fails the calling test (and returns nullptr) when the driver cannot be created.
struct FakePortDriver {
    rootlesskit::PluginRegistry registry;
    rootlesskit::PortDriverPtr driver;
    std::string error;

    explicit FakePortDriver(bool implicit = false) {
        fakePorts().reset();
        registry.addDescriptor(fake_port_detail::descriptor(implicit), "(test)");
        auto plugin = registry.find("port", implicit ? "fake-implicit" : "fake");
        if (!plugin) {
            error = plugin.status().message();
            return;
        }
        auto created = rootlesskit::PortDriver::create(**plugin, RKP_SIDE_PARENT, "/tmp", "{}");
        if (!created) {
            error = created.status().message();
            return;
        }
        driver = std::move(*created);
        rkp_port_context context{};
        context.child_ip = "";
        context.gateway_ip = "";
        context.net_opaque_json = "{}";
        auto opaque = driver->initParent(context);
        if (!opaque) {
            error = opaque.status().message();
            driver.reset();
        }
    }
};

}  // namespace rktest
