/* rkp.h: the stable C ABI between rootlesskit and its network and port driver plugins.
 *
 * Theory of operation
 * -------------------
 * A plugin is a shared object that exports one symbol, rkp_plugin_entry(). The host calls it with
 * its own ABI version; the plugin returns a pointer to a static, immutable descriptor (or NULL to
 * decline). The descriptor names the plugin, declares what it supports and what it needs from the
 * host, and points at one table of operations: rkp_net_ops for a network driver, rkp_port_ops for
 * a port driver. Everything else travels through those tables; no other symbol is looked up.
 *
 * rootlesskit runs as two processes. The parent stays on the host; the child lives in the new
 * user and mount namespaces (and usually a new network namespace) and is the ancestor of the
 * user's command. A driver has one instance in each process: the host calls create() in the
 * parent with side RKP_SIDE_PARENT, and again in the child with side RKP_SIDE_CHILD. The two
 * instances share nothing but the JSON strings the host carries from the parent to the child
 * (the network message and the port driver's opaque object).
 *
 * Network driver, in order:
 *   parent: create -> [child: create -> prepare_child] -> configure_parent -> (run) -> teardown
 *   child:  configure_child (after the parent's configure_parent succeeded) -> ... -> teardown
 * Port driver, in order:
 *   parent: create -> init_parent -> run_parent (own thread) + add/remove/list (API threads)
 *   child:  create -> init_child -> run_child (own thread, until quit_fd is readable)
 *
 * Versioning: majors must be equal and the plugin's minor must not be newer than the host's.
 * Structs only ever grow at their end; every boundary struct starts with struct_size, set by its
 * writer to sizeof() as it was compiled. A reader touches a field added after 1.0 only when
 * RKP_HAS_FIELD() says the writer knew it. Flag bits and enum values are never reused.
 *
 * This header is C99 and C++ compatible and includes nothing but <stddef.h> and <stdint.h>.
 * C++ plugins may use rkp.hpp beside it (error, sink and log helpers, an exception barrier and
 * RKP_DEFINE_PLUGIN); sdk/README.md describes the whole contract.
 */
#ifndef ROOTLESSKIT_RKP_H
#define ROOTLESSKIT_RKP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RKP_ABI_MAJOR 1
#define RKP_ABI_MINOR 0

#define RKP_EXPORT __attribute__((visibility("default")))

/* True when a struct written with size (p)->struct_size contains field. */
#define RKP_HAS_FIELD(p, type, field) \
    ((p) != NULL && offsetof(type, field) + sizeof(((type *)0)->field) <= (p)->struct_size)

/* Opaque per-instance state, defined by each plugin. */
typedef struct rkp_instance rkp_instance;

/* rkp_plugin.kind */
#define RKP_KIND_NETWORK 1u
#define RKP_KIND_PORT 2u

/* rkp_host.side: which process an instance lives in. */
#define RKP_SIDE_PARENT 1u
#define RKP_SIDE_CHILD 2u

/* Log levels for rkp_host.log. */
#define RKP_LOG_TRACE 0u
#define RKP_LOG_DEBUG 1u
#define RKP_LOG_INFO 2u
#define RKP_LOG_WARN 3u
#define RKP_LOG_ERROR 4u

/* rkp_port_spec.proto */
#define RKP_PROTO_TCP 1u
#define RKP_PROTO_UDP 2u
#define RKP_PROTO_SCTP 3u

/* rkp_port_spec.family: which socket family the host side listens on. */
#define RKP_FAMILY_ANY 0u /* "tcp"/"udp": dual-stack where the address allows it */
#define RKP_FAMILY_IPV4 4u /* "tcp4"/"udp4" */
#define RKP_FAMILY_IPV6 6u /* "tcp6"/"udp6" */

/* "supports": what a plugin can do. The host ignores bits it does not know. */
#define RKP_SUP_TCP (UINT64_C(1) << 0) /* port: forwards TCP */
#define RKP_SUP_UDP (UINT64_C(1) << 1) /* port: forwards UDP */
#define RKP_SUP_SCTP (UINT64_C(1) << 2) /* port: forwards SCTP */
#define RKP_SUP_IPV6 (UINT64_C(1) << 3) /* net: --ipv6 routing; port: tcp6/udp6 listeners */
#define RKP_SUP_DETACH_NETNS (UINT64_C(1) << 4) /* works with --detach-netns */
#define RKP_SUP_SOURCE_IP (UINT64_C(1) << 5) /* port: the server sees the client's address */
#define RKP_SUP_IMPLICIT_PORTS (UINT64_C(1) << 6) /* net: forwards ports by itself;
                                                     port: only reports what the net forwards */
#define RKP_SUP_CIDR (UINT64_C(1) << 7) /* net: honours --cidr */
#define RKP_SUP_HOSTFWD_API (UINT64_C(1) << 8) /* net: serves slirp4netns' hostfwd API socket */
#define RKP_SUP_DYNAMIC_IP (UINT64_C(1) << 9) /* net: the child's address is leased, not fixed */
#define RKP_SUP_DISABLE_HOST_LOOPBACK (UINT64_C(1) << 10) /* net: can block host loopback */

/* "needs": obligations on the host. The host REFUSES a plugin with a needs bit it does not know,
 * because it could not honour it. */
#define RKP_NEED_NETNS (UINT64_C(1) << 0) /* net: the child gets a new network namespace;
                                             port: requires a network that creates one */
#define RKP_NEED_PORT_IMPLICIT (UINT64_C(1) << 1) /* net: pairs only with no port driver or one
                                                     that supports RKP_SUP_IMPLICIT_PORTS */
#define RKP_NEED_OWN_IFACE_SETUP (UINT64_C(1) << 2) /* net: the host must not configure the
                                                       interface from the network message */
#define RKP_NEED_CHILD_LOOP (UINT64_C(1) << 3) /* port: host runs run_child on a child thread */
#define RKP_NEED_NET_IMPLICIT_PORTS (UINT64_C(1) << 4) /* port: requires a network that
                                                          supports RKP_SUP_IMPLICIT_PORTS */
#define RKP_NEED_NET_HOSTFWD_API (UINT64_C(1) << 5) /* port: requires a network that supports
                                                       RKP_SUP_HOSTFWD_API */
#define RKP_NEED_PARENT_LOOP (UINT64_C(1) << 6) /* port: host runs run_parent on its own thread */

/* Per-call error, owned by the host. On failure a plugin fills message (lowercase, no trailing
 * period, "operation object: cause") and returns the same negative errno it stores in code. */
typedef struct rkp_error {
    uint32_t struct_size;
    int32_t code;
    char message[512];
} rkp_error;

/* Host-owned output. The plugin may call write() any number of times during the call it was
 * given to; the host copies the bytes before write() returns. */
typedef struct rkp_sink {
    void *ctx;
    void (*write)(void *ctx, const char *data, size_t len);
} rkp_sink;

/* Services the host offers an instance. Valid, with its strings, until destroy(). */
typedef struct rkp_host {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    uint32_t side; /* RKP_SIDE_* */
    uint32_t reserved0;
    void *ctx; /* pass back to log() */
    const char *state_dir; /* absolute path of the state directory */
    /* Thread-safe. Copies msg. The host adds the plugin's label ("net/<name>", "port/<name>"). */
    void (*log)(void *ctx, uint32_t level, const char *msg);
    /* Thread-safe. Non-zero when a message at level would be written; lets a plugin skip
     * formatting trace messages on the forwarding path. */
    int (*log_enabled)(void *ctx, uint32_t level);
    /* appended fields: since 1.1 and later */
} rkp_host;

/* Network settings the user chose, as the host resolved them. */
typedef struct rkp_net_params {
    uint32_t struct_size;
    int32_t child_pid; /* host PID of the rootlesskit child (parent side; 0 in the child) */
    const char *state_dir;
    const char *detached_netns_path; /* NULL unless --detach-netns: a path valid on this side */
    const char *ifname; /* never NULL: --ifname, or the plugin's default_ifname */
    const char *cidr; /* NULL when --cidr was not given */
    uint32_t mtu; /* never 0: --mtu, or the plugin's default_mtu */
    uint32_t enable_ipv6; /* --ipv6 */
    uint32_t disable_host_loopback; /* --disable-host-loopback */
    uint32_t reserved0;
    uint64_t port_driver_needs; /* RKP_NEED_* bits of the selected port driver, 0 for none */
    const char *port_driver; /* name of the selected port driver, "none" when none */
} rkp_net_params;

/* The network message is a JSON object that configure_parent writes and the host carries to the
 * child:
 *   {"dev": "tap0", "ip": "10.0.2.100", "prefix": 24, "gateway": "10.0.2.2",
 *    "dns": ["10.0.2.3"], "mtu": 65520, "opaque": {"key": "value", ...}}
 * Every member is optional; configure_child may rewrite it (a DHCP lease fills ip, prefix,
 * gateway and dns). Unless the plugin declares RKP_NEED_OWN_IFACE_SETUP, the host then brings dev
 * up, sets its MTU, adds ip/prefix and a default route via gateway. */
typedef struct rkp_net_ops {
    uint32_t struct_size;
    /* CHILD, optional (NULL). Runs inside the child's namespaces once they exist and the ID maps
     * are written, before the parent's configure_parent (for instance to create a TAP device
     * that a parent-side helper opens by name). */
    int (*prepare_child)(rkp_instance *inst, const rkp_net_params *params, rkp_error *err);
    /* PARENT. Connects the child's network namespace to the outside (starts helpers, waits for
     * them to be ready) and writes the network message to out. */
    int (*configure_parent)(rkp_instance *inst, const rkp_net_params *params,
                            const rkp_sink *out, rkp_error *err);
    /* CHILD, optional (NULL). Receives the network message; writes the message to hand to the
     * interface set-up (the same one, or an updated one) to out. */
    int (*configure_child)(rkp_instance *inst, const rkp_net_params *params,
                           const char *netmsg_json, const rkp_sink *out, rkp_error *err);
    /* PARENT, optional (NULL). Blocks until a helper the driver depends on dies, or quit_fd
     * becomes readable. Returns 0 on quit, a negative errno with a message when the network
     * failed (the host then stops the run with that message). */
    int (*watch)(rkp_instance *inst, int quit_fd, rkp_error *err);
    /* Either side. Undoes configure_*: stops helpers, removes what was created. Idempotent; also
     * called after a partial failure and without a prior configure call. */
    int (*teardown)(rkp_instance *inst, rkp_error *err);
    /* PARENT. Writes the JSON object for the "networkDriver" member of GET /v1/info, or nothing
     * at all to leave the member out (the built-in "host" driver does). */
    int (*info)(rkp_instance *inst, const rkp_sink *out, rkp_error *err);
} rkp_net_ops;

/* One port mapping. Strings are borrowed for the duration of a call. */
typedef struct rkp_port_spec {
    uint32_t struct_size;
    uint32_t proto; /* RKP_PROTO_* */
    uint32_t family; /* RKP_FAMILY_* */
    uint16_t parent_port; /* 1..65535 */
    uint16_t child_port; /* 1..65535 */
    const char *proto_name; /* as given: "tcp", "tcp4", "udp6", ... */
    const char *parent_ip; /* "" = every address */
    const char *child_ip; /* "" = the driver's default */
} rkp_port_spec;

/* Facts the port driver's parent half may need about the network. */
typedef struct rkp_port_context {
    uint32_t struct_size;
    uint32_t reserved0;
    const char *child_ip; /* IPv4 of the child from the network message, "" if unknown */
    const char *gateway_ip; /* "" if unknown */
    const char *detached_netns_path; /* NULL unless --detach-netns */
    const char *net_opaque_json; /* "opaque" object of the network message, "{}" if none */
    uint32_t source_ip_transparent; /* --source-ip-transparent */
    uint32_t reserved1;
} rkp_port_context;

/* list_ports callback: spec is valid only during the call. */
typedef void (*rkp_port_visit)(void *ctx, uint64_t id, const rkp_port_spec *spec);

/* Port driver operations. The host validates every spec (syntax, ranges, conflicts) and assigns
 * the IDs it shows users before calling add_port, so a plugin sees only well-formed requests. */
typedef struct rkp_port_ops {
    uint32_t struct_size;
    /* PARENT. Prepares the parent half and writes the JSON object the child half needs to
     * opaque_for_child (at least "{}"). */
    int (*init_parent)(rkp_instance *inst, const rkp_port_context *ctx,
                       const rkp_sink *opaque_for_child, rkp_error *err);
    /* PARENT, with RKP_NEED_PARENT_LOOP. Blocking loop on a host thread; returns 0 once quit_fd
     * is readable, or a negative errno when the driver failed. */
    int (*run_parent)(rkp_instance *inst, int quit_fd, rkp_error *err);
    /* CHILD. Sets up the child half from the opaque JSON; on return the parent half may send
     * requests. Runs in the child's network namespace, or with detached_netns_path set. */
    int (*init_child)(rkp_instance *inst, const char *opaque_json,
                      const char *detached_netns_path, rkp_error *err);
    /* CHILD, with RKP_NEED_CHILD_LOOP. Blocking loop on a host thread; returns 0 once quit_fd is
     * readable. */
    int (*run_child)(rkp_instance *inst, int quit_fd, rkp_error *err);
    /* PARENT. Starts forwarding spec; host_id is the ID the host assigned (the ID of a failed
     * add is offered again; the ID of a port that was added is never reused). When
     * this returns 0 the host side is listening. -EEXIST for a clash, -EACCES for a privileged
     * port, -EADDRINUSE when the address is taken, -ENOTSUP for what the driver cannot do. */
    int (*add_port)(rkp_instance *inst, uint64_t host_id, const rkp_port_spec *spec,
                    rkp_error *err);
    /* PARENT. Stops forwarding host_id; its listener is closed and its connections are ended
     * before this returns. -ENOENT for an unknown id. */
    int (*remove_port)(rkp_instance *inst, uint64_t host_id, rkp_error *err);
    /* PARENT, optional (NULL). For drivers whose ports the host does not add itself (implicit
     * forwarding): visits each port currently forwarded. */
    int (*list_ports)(rkp_instance *inst, rkp_port_visit visit, void *visit_ctx, rkp_error *err);
    /* PARENT. Writes the JSON object for the "portDriver" member of GET /v1/info, or nothing at
     * all to leave the member out. */
    int (*info)(rkp_instance *inst, const rkp_sink *out, rkp_error *err);
} rkp_port_ops;

/* The descriptor. Static and immutable in the plugin; lives as long as the shared object.
 * struct_size, abi_major and abi_minor open it in every major version, so that a host can read
 * them, and refuse the plugin with a precise message, whatever the rest of the layout is. */
typedef struct rkp_plugin {
    uint32_t struct_size;
    uint16_t abi_major; /* RKP_ABI_MAJOR the plugin was built with */
    uint16_t abi_minor; /* oldest host minor the plugin works with */
    uint32_t kind; /* RKP_KIND_* */
    uint32_t default_mtu; /* net: used when --mtu is 0; port: 0 */
    const char *name; /* [a-z0-9-]+, unique per kind; the file is rkp-<kind>-<name>.so */
    const char *version; /* the plugin's own version, free text */
    const char *description; /* one line for "plugins list" */
    uint64_t supports; /* RKP_SUP_* */
    uint64_t needs; /* RKP_NEED_* */
    /* net: used when --ifname is empty; NULL or "" for a network that sets up no interface of
     * its own (the host then refuses --ifname and ignores --mtu); port: NULL */
    const char *default_ifname;
    const char *protos; /* port: space-separated protos for /v1/info, e.g. "tcp tcp4 udp" */
    /* Either side. Validates config_json (the profile's config section for this driver, "{}"
     * when absent) and creates an instance. Must not start threads or helpers: the host may
     * fork after it. */
    int (*create)(const rkp_host *host, const char *config_json, rkp_instance **out,
                  rkp_error *err);
    /* Either side. Frees the instance; teardown has already run. */
    void (*destroy)(rkp_instance *inst);
    const rkp_net_ops *net; /* exactly one of net and port is non-NULL, matching kind */
    const rkp_port_ops *port;
} rkp_plugin;

/* The only exported symbol. Side-effect free: the host calls it to list plugins too. Returns
 * NULL to decline a host ABI the plugin cannot work with. */
typedef const rkp_plugin *(*rkp_plugin_entry_fn)(uint16_t host_abi_major,
                                                 uint16_t host_abi_minor);
#define RKP_PLUGIN_ENTRY_SYMBOL "rkp_plugin_entry"

RKP_EXPORT const rkp_plugin *rkp_plugin_entry(uint16_t host_abi_major, uint16_t host_abi_minor);

#ifdef __cplusplus
}
#endif

#endif /* ROOTLESSKIT_RKP_H */
