/* header_only.c: rkp.h on its own, first and alone, compiled as C99 and as C++17 with
 * -Wall -Wextra -pedantic -Werror (tests/abi/CMakeLists.txt). Every type, macro and constant is
 * used once, so that a construct one of those languages rejects cannot hide in an unused part. */
#include "rootlesskit/rkp.h"

typedef struct header_only_use {
    rkp_error error;
    rkp_sink sink;
    rkp_host host;
    rkp_net_params net_params;
    rkp_net_ops net_ops;
    rkp_port_spec port_spec;
    rkp_port_context port_context;
    rkp_port_ops port_ops;
    rkp_plugin plugin;
    rkp_port_visit visit;
    rkp_plugin_entry_fn entry;
    rkp_instance *instance;
} header_only_use;

int header_only_check(const header_only_use *use);

int header_only_check(const header_only_use *use) {
    uint64_t bits = RKP_SUP_TCP | RKP_SUP_UDP | RKP_SUP_SCTP | RKP_SUP_IPV6 | RKP_SUP_DETACH_NETNS |
                    RKP_SUP_SOURCE_IP | RKP_SUP_IMPLICIT_PORTS | RKP_SUP_CIDR |
                    RKP_SUP_HOSTFWD_API | RKP_SUP_DYNAMIC_IP | RKP_SUP_DISABLE_HOST_LOOPBACK |
                    RKP_NEED_NETNS | RKP_NEED_PORT_IMPLICIT | RKP_NEED_OWN_IFACE_SETUP |
                    RKP_NEED_CHILD_LOOP | RKP_NEED_NET_IMPLICIT_PORTS | RKP_NEED_NET_HOSTFWD_API |
                    RKP_NEED_PARENT_LOOP;
    uint32_t values = RKP_ABI_MAJOR + RKP_ABI_MINOR + RKP_KIND_NETWORK + RKP_KIND_PORT +
                      RKP_SIDE_PARENT + RKP_SIDE_CHILD + RKP_LOG_TRACE + RKP_LOG_DEBUG +
                      RKP_LOG_INFO + RKP_LOG_WARN + RKP_LOG_ERROR + RKP_PROTO_TCP + RKP_PROTO_UDP +
                      RKP_PROTO_SCTP + RKP_FAMILY_ANY + RKP_FAMILY_IPV4 + RKP_FAMILY_IPV6;
    const char *symbol = RKP_PLUGIN_ENTRY_SYMBOL;
    int known = RKP_HAS_FIELD(&use->plugin, rkp_plugin, port) &&
                RKP_HAS_FIELD(&use->net_ops, rkp_net_ops, info) &&
                RKP_HAS_FIELD(&use->port_ops, rkp_port_ops, info);
    return (int)(bits != 0) + (int)(values != 0) + (symbol[0] == 'r') + known +
           (use->instance == NULL) + (use->entry == rkp_plugin_entry);
}
