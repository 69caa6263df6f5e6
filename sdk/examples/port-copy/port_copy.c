/* port_copy.c: rkp-port-copy.so, a port driver that publishes TCP ports of the child's network
 * namespace on the host by copying the bytes in user space, and counts them. Each port's totals
 * show in the "portDriver" member of the REST API's GET /v1/info; each connection's byte counts are
 * logged at trace when it closes (ROOTLESSKIT_LOG_LEVEL=trace). It is the SDK's example: plain
 * C99 and POSIX threads, built only against the installed SDK.
 *
 * Theory of operation
 * -------------------
 * The parent half listens on the host; the child half, inside the namespace, makes the
 * connections to the target and hands them over. They talk over one unix SOCK_SEQPACKET
 * connection, the control channel:
 *
 *   parent  init_parent  listens on <state dir>/.copy.sock (mode 0600)
 *   child   init_child   connects to it (the parent listens already, so this cannot be early)
 *   child   run_child    host thread: answers each dial request with a connected socket
 *                        (SCM_RIGHTS) or an errno, until quit_fd is readable
 *   parent  run_parent   host thread, "the loop": accepts the control connection once (same
 *                        user only), accepts clients of every listener, asks the child for a
 *                        socket for each, and starts one copy thread per connection
 *   parent  add_port     API thread: binds and listens, so errors come back directly, then puts
 *                        the listener into the port table and wakes the loop
 *   parent  remove_port  API thread: takes the port out of the table, waits until the loop has
 *                        dropped its listener, closes it, shuts the port's connections down and
 *                        waits for their copy threads to end
 *
 * One mutex guards the port table and every counter. The loop polls the set of listeners it
 * built under the mutex; each rebuild increments loop_generation, which is how remove_port knows
 * the loop no longer looks at a listener it is about to close.
 *
 * A copy thread moves bytes both ways with recv/send (MSG_NOSIGNAL) through a 64 KiB buffer:
 * EOF from one side becomes shutdown(SHUT_WR) towards the other; an error on either side ends
 * both. Known shortcomings: one thread per connection and a copy through user space make it
 * slower than the builtin driver under many connections; UDP and --detach-netns are not
 * supported. The plugin does not declare them, so the host refuses them on the command line;
 * a UDP port requested through the REST API still reaches add_port, which refuses it with
 * -ENOTSUP. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "rootlesskit/rkp.h"

#define COPY_VERSION "1.0.0"
#define COPY_SOCKET_NAME "/.copy.sock"
#define COPY_PROTOCOL 1u
#define COPY_BUFFER_SIZE 65536
#define COPY_DIAL_TIMEOUT_SECONDS 10

/* ---- Control channel records (both halves are this file: the layouts always agree). ---- */

typedef struct copy_dial_request {
    uint32_t protocol; /* COPY_PROTOCOL */
    uint32_t family;   /* AF_INET or AF_INET6 */
    uint16_t port;
    char address[INET6_ADDRSTRLEN];
} copy_dial_request;

typedef struct copy_dial_reply {
    uint32_t protocol;
    int32_t error; /* 0, and the socket as SCM_RIGHTS; or a negative errno */
} copy_dial_reply;

/* ---- Parent state. ---- */

struct copy_port;

typedef struct copy_conn {
    struct copy_port *port;
    int client;
    int backend;
    char peer[INET6_ADDRSTRLEN + 8];
    struct copy_conn *next;
} copy_conn;

typedef struct copy_port {
    uint64_t id;
    int listener;
    uint32_t family; /* of the target inside */
    char target[INET6_ADDRSTRLEN];
    uint16_t target_port;
    char label[INET6_ADDRSTRLEN + 16]; /* "127.0.0.1:8080/tcp" */
    uint64_t connections;
    uint64_t bytes_in;  /* client to namespace */
    uint64_t bytes_out; /* namespace to client */
    int active;         /* copy threads still running */
    int dial_failing;   /* warned about a failing dial; reset by a success */
    copy_conn *conns;
    struct copy_port *next;
} copy_port;

struct rkp_instance {
    const rkp_host *host;
    char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    int control_listener; /* parent */
    int control;          /* parent: accepted; child: connected */
    int wake;             /* parent: eventfd that makes the loop rebuild its poll set */
    pthread_mutex_t lock;
    pthread_cond_t changed;
    copy_port *ports;
    int loop_running;
    uint64_t loop_generation;
};

/* ---- Small helpers. ---- */

static int fail(rkp_error *err, int code, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(rkp_error *err, int code, const char *format, ...) {
    va_list args;
    va_start(args, format);
    vsnprintf(err->message, sizeof(err->message), format, args);
    va_end(args);
    err->code = code;
    return code;
}

static void logf_(rkp_instance *inst, uint32_t level, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static void logf_(rkp_instance *inst, uint32_t level, const char *format, ...) {
    char line[512];
    va_list args;
    if (inst->host->log_enabled != NULL && !inst->host->log_enabled(inst->host->ctx, level)) {
        return;
    }
    va_start(args, format);
    vsnprintf(line, sizeof(line), format, args);
    va_end(args);
    inst->host->log(inst->host->ctx, level, line);
}

/* strerror() in the lowercase the error style asks for, into buffer (thread-safe). */
static const char *errtext(int error, char *buffer, size_t size) {
    char scratch[128];
    snprintf(buffer, size, "%s", strerror_r(error, scratch, sizeof(scratch)));
    if (buffer[0] >= 'A' && buffer[0] <= 'Z' && !(buffer[1] >= 'A' && buffer[1] <= 'Z')) {
        buffer[0] = (char)(buffer[0] - 'A' + 'a');
    }
    return buffer;
}

static void close_fd(int *fd) {
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

static void wake_loop(rkp_instance *inst) {
    uint64_t one = 1;
    if (write(inst->wake, &one, sizeof(one)) < 0) {
        /* EAGAIN: the counter is already non-zero, the loop will wake anyway. */
    }
}

static void drain_wake(rkp_instance *inst) {
    uint64_t count;
    if (read(inst->wake, &count, sizeof(count)) < 0) {
        /* EAGAIN: another iteration drained it. */
    }
}

/* ---- Addresses. ---- */

/* How a spec listens: the address (empty for the wildcard) and the socket family. */
typedef struct copy_listen {
    char address[INET6_ADDRSTRLEN];
    int family;
    int v6only;
} copy_listen;

static int plan_listen(const rkp_port_spec *spec, copy_listen *plan, rkp_error *err) {
    struct in6_addr v6;
    struct in_addr v4;
    int wildcard = spec->parent_ip[0] == '\0' || strcmp(spec->parent_ip, "0.0.0.0") == 0 ||
                   strcmp(spec->parent_ip, "::") == 0;

    snprintf(plan->address, sizeof(plan->address), "%s", spec->parent_ip);
    if (wildcard) {
        plan->family = spec->family == RKP_FAMILY_IPV4 ? AF_INET : AF_INET6;
        plan->v6only = spec->family == RKP_FAMILY_IPV6;
        plan->address[0] = '\0';
        return 0;
    }
    if (inet_pton(AF_INET, spec->parent_ip, &v4) == 1 && spec->family != RKP_FAMILY_IPV6) {
        plan->family = AF_INET;
        plan->v6only = 0;
        return 0;
    }
    if (inet_pton(AF_INET6, spec->parent_ip, &v6) == 1 && spec->family != RKP_FAMILY_IPV4) {
        plan->family = AF_INET6;
        plan->v6only = 1;
        return 0;
    }
    return fail(err, -EINVAL, "listen %s %s:%u: address is not usable for %s", spec->proto_name,
                spec->parent_ip, spec->parent_port, spec->proto_name);
}

/* Fills addr for address:port of family ("" = the wildcard); returns its length. */
static socklen_t make_sockaddr(int family, const char *address, uint16_t port,
                               struct sockaddr_storage *addr) {
    memset(addr, 0, sizeof(*addr));
    if (family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)addr;
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        if (address[0] != '\0') {
            inet_pton(AF_INET, address, &in->sin_addr);
        }
        return sizeof(*in);
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        if (address[0] != '\0') {
            inet_pton(AF_INET6, address, &in6->sin6_addr);
        }
        return sizeof(*in6);
    }
}

/* The dial target inside: the child IP when given, else a loopback parent IP, else 127.0.0.1. */
static void plan_target(const rkp_port_spec *spec, copy_port *port) {
    const char *target = "127.0.0.1";
    if (spec->child_ip[0] != '\0') {
        target = spec->child_ip;
    } else if (strncmp(spec->parent_ip, "127.", 4) == 0 || strcmp(spec->parent_ip, "::1") == 0) {
        target = spec->parent_ip;
    }
    snprintf(port->target, sizeof(port->target), "%s", target);
    port->family = strchr(target, ':') != NULL ? AF_INET6 : AF_INET;
    port->target_port = spec->child_port;
}

/* Binds and listens for spec; the listener or a negative errno with err filled. */
static int open_listener(const rkp_port_spec *spec, rkp_error *err) {
    copy_listen plan;
    struct sockaddr_storage addr;
    socklen_t length;
    int one = 1;
    int fd;
    char text[128];
    int rc = plan_listen(spec, &plan, err);
    if (rc < 0) {
        return rc;
    }

    fd = socket(plan.family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 && plan.family == AF_INET6 && plan.address[0] == '\0' && !plan.v6only) {
        plan.family = AF_INET; /* a kernel without IPv6: the wildcard is IPv4 only */
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    }
    if (fd < 0) {
        return fail(err, -errno, "listen %s: socket: %s", spec->proto_name,
                    errtext(errno, text, sizeof(text)));
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (plan.family == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &plan.v6only, sizeof(plan.v6only));
    }

    length = make_sockaddr(plan.family, plan.address, spec->parent_port, &addr);
    if (bind(fd, (struct sockaddr *)&addr, length) < 0 || listen(fd, SOMAXCONN) < 0) {
        int error = errno;
        close(fd);
        return fail(err, -error, "listen %s %s:%u: %s", spec->proto_name,
                    spec->parent_ip[0] != '\0' ? spec->parent_ip : "0.0.0.0", spec->parent_port,
                    errtext(error, text, sizeof(text)));
    }
    return fd;
}

/* ---- Parent: copy threads. ---- */

/* Sends all of data; 0, or -1 when the peer is gone. */
static int send_all(int fd, const char *data, size_t length) {
    while (length > 0) {
        ssize_t sent = send(fd, data, length, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR) {
            continue;
        }
        if (sent <= 0) {
            return -1;
        }
        data += sent;
        length -= (size_t)sent;
    }
    return 0;
}

/* Moves what is readable on from to to. Returns 1 to go on, 0 on EOF (to is then half-closed),
 * -1 on an error. */
static int pump(int from, int to, char *buffer, uint64_t *counter) {
    ssize_t got = recv(from, buffer, COPY_BUFFER_SIZE, 0);
    if (got < 0 && errno == EINTR) {
        return 1;
    }
    if (got < 0) {
        return -1;
    }
    if (got == 0) {
        shutdown(to, SHUT_WR);
        return 0;
    }
    if (send_all(to, buffer, (size_t)got) < 0) {
        return -1;
    }
    *counter += (uint64_t)got;
    return 1;
}

static void unlink_conn(copy_conn *conn) {
    copy_conn **at = &conn->port->conns;
    while (*at != NULL && *at != conn) {
        at = &(*at)->next;
    }
    if (*at != NULL) {
        *at = conn->next;
    }
}

typedef struct copy_thread_arg {
    rkp_instance *inst;
    copy_conn *conn;
} copy_thread_arg;

static void *copy_thread(void *opaque) {
    copy_thread_arg arg = *(copy_thread_arg *)opaque;
    copy_conn *conn = arg.conn;
    copy_port *port = conn->port;
    uint64_t in = 0, out = 0;
    int inbound = 1, outbound = 1, broken = 0;
    char *buffer = malloc(COPY_BUFFER_SIZE);
    free(opaque);

    while (buffer != NULL && !broken && (inbound || outbound)) {
        struct pollfd fds[2] = {{conn->client, inbound ? POLLIN : 0, 0},
                                {conn->backend, outbound ? POLLIN : 0, 0}};
        if (poll(fds, 2, -1) < 0) {
            broken = errno != EINTR;
            continue;
        }
        if (inbound && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
            int state = pump(conn->client, conn->backend, buffer, &in);
            inbound = state > 0;
            broken = state < 0;
        }
        if (!broken && outbound && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            int state = pump(conn->backend, conn->client, buffer, &out);
            outbound = state > 0;
            broken = state < 0;
        }
    }
    free(buffer);

    /* Out of the list before the descriptors close: remove_port shuts down only listed ones. */
    pthread_mutex_lock(&arg.inst->lock);
    unlink_conn(conn);
    pthread_mutex_unlock(&arg.inst->lock);
    close(conn->client);
    close(conn->backend);
    logf_(arg.inst, RKP_LOG_TRACE, "%s: connection from %s closed: %llu bytes in, %llu bytes out",
          port->label, conn->peer, (unsigned long long)in, (unsigned long long)out);

    pthread_mutex_lock(&arg.inst->lock);
    port->bytes_in += in;
    port->bytes_out += out;
    port->active--;
    pthread_cond_broadcast(&arg.inst->changed);
    pthread_mutex_unlock(&arg.inst->lock);
    free(conn);
    return NULL;
}

/* ---- Parent: dialing through the child. ---- */

/* Asks the child for a socket connected to the port's target; the socket or a negative errno.
 * Runs on the loop thread only, so requests never interleave. */
static int dial_through_child(rkp_instance *inst, const copy_port *port) {
    copy_dial_request request;
    copy_dial_reply reply;
    char control[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {&reply, sizeof(reply)};
    struct msghdr message;
    struct cmsghdr *cmsg;
    int fd = -1;

    memset(&request, 0, sizeof(request));
    request.protocol = COPY_PROTOCOL;
    request.family = port->family;
    request.port = port->target_port;
    snprintf(request.address, sizeof(request.address), "%s", port->target);
    if (send(inst->control, &request, sizeof(request), MSG_NOSIGNAL) != sizeof(request)) {
        return -EPIPE;
    }

    memset(&message, 0, sizeof(message));
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof(control);
    if (recvmsg(inst->control, &message, MSG_CMSG_CLOEXEC) != sizeof(reply)) {
        return errno == EAGAIN ? -ETIMEDOUT : -EPIPE;
    }
    cmsg = CMSG_FIRSTHDR(&message);
    if (cmsg != NULL && cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS) {
        memcpy(&fd, CMSG_DATA(cmsg), sizeof(fd));
    }
    if (reply.error != 0 || fd < 0) {
        close_fd(&fd);
        return reply.error != 0 ? reply.error : -EPROTO;
    }
    return fd;
}

/* Logs a failed dial once per port until a dial of that port succeeds again. */
static void note_dial(rkp_instance *inst, copy_port *port, int result) {
    char text[128];
    if (result >= 0) {
        port->dial_failing = 0;
        return;
    }
    if (!port->dial_failing) {
        port->dial_failing = 1;
        logf_(inst, RKP_LOG_WARN,
              "%s: dial %s:%u inside the namespace: %s (clients are closed "
              "until it works)",
              port->label, port->target, port->target_port, errtext(-result, text, sizeof(text)));
    }
}

static void describe_peer(int fd, char *peer, size_t size) {
    struct sockaddr_storage addr;
    socklen_t length = sizeof(addr);
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (getpeername(fd, (struct sockaddr *)&addr, &length) == 0) {
        if (addr.ss_family == AF_INET) {
            struct sockaddr_in *in = (struct sockaddr_in *)&addr;
            inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
            port = ntohs(in->sin_port);
        } else if (addr.ss_family == AF_INET6) {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&addr;
            inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
            port = ntohs(in6->sin6_port);
        }
    }
    snprintf(peer, size, "%s:%u", host, port);
}

/* Accepts one client of port, pairs it with a socket from the child and starts its thread. */
static void accept_client(rkp_instance *inst, copy_port *port) {
    copy_conn *conn;
    copy_thread_arg *arg;
    pthread_t thread;
    int client = accept4(port->listener, NULL, NULL, SOCK_CLOEXEC);
    int backend;
    if (client < 0) {
        return; /* gone already, or out of descriptors: the next poll retries */
    }

    backend = inst->control >= 0 ? dial_through_child(inst, port) : -ENOTCONN;
    conn = calloc(1, sizeof(*conn));
    arg = calloc(1, sizeof(*arg));
    pthread_mutex_lock(&inst->lock);
    note_dial(inst, port, backend);
    if (backend < 0 || conn == NULL || arg == NULL) {
        pthread_mutex_unlock(&inst->lock);
        close(client);
        close_fd(&backend);
        free(conn);
        free(arg);
        return;
    }

    conn->port = port;
    conn->client = client;
    conn->backend = backend;
    describe_peer(client, conn->peer, sizeof(conn->peer));
    conn->next = port->conns;
    port->conns = conn;
    port->connections++;
    port->active++;
    arg->inst = inst;
    arg->conn = conn;
    if (pthread_create(&thread, NULL, copy_thread, arg) != 0) {
        unlink_conn(conn);
        port->active--;
        pthread_mutex_unlock(&inst->lock);
        close(client);
        close(backend);
        free(conn);
        free(arg);
        return;
    }
    pthread_detach(thread);
    pthread_mutex_unlock(&inst->lock);
}

/* Takes the child's control connection, from the same user only. */
static void accept_control(rkp_instance *inst) {
    struct ucred peer = {0, (uid_t)-1, (gid_t)-1};
    socklen_t length = sizeof(peer);
    struct timeval timeout = {COPY_DIAL_TIMEOUT_SECONDS, 0};
    int fd = accept4(inst->control_listener, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
        return;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &length) < 0 || peer.uid != geteuid() ||
        inst->control >= 0) {
        logf_(inst, RKP_LOG_WARN, "control socket %s: refused a connection from uid %u",
              inst->socket_path, (unsigned)peer.uid);
        close(fd);
        return;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    inst->control = fd;
    logf_(inst, RKP_LOG_DEBUG, "child connected to %s", inst->socket_path);
}

/* ---- Parent: the loop. ---- */

#define COPY_FIXED_FDS 3 /* quit, wake, control listener */

/* Builds the poll set under the lock; ports[i] belongs to fds[COPY_FIXED_FDS + i]. */
static size_t build_poll_set(rkp_instance *inst, int quit_fd, struct pollfd **fds,
                             copy_port ***ports) {
    size_t count = 0, i = 0;
    copy_port *port;
    pthread_mutex_lock(&inst->lock);
    for (port = inst->ports; port != NULL; port = port->next) {
        count++;
    }
    *fds = calloc(COPY_FIXED_FDS + count, sizeof(**fds));
    *ports = calloc(count + 1, sizeof(**ports));
    if (*fds == NULL || *ports == NULL) {
        count = 0;
    } else {
        (*fds)[0].fd = quit_fd;
        (*fds)[1].fd = inst->wake;
        (*fds)[2].fd = inst->control < 0 ? inst->control_listener : -1;
        for (port = inst->ports; port != NULL && i < count; port = port->next, i++) {
            (*fds)[COPY_FIXED_FDS + i].fd = port->listener;
            (*ports)[i] = port;
        }
        for (i = 0; i < COPY_FIXED_FDS + count; i++) {
            (*fds)[i].events = POLLIN;
        }
    }
    inst->loop_generation++;
    pthread_cond_broadcast(&inst->changed);
    pthread_mutex_unlock(&inst->lock);
    return count;
}

static int copy_run_parent(rkp_instance *inst, int quit_fd, rkp_error *err) {
    int quit = 0;
    pthread_mutex_lock(&inst->lock);
    inst->loop_running = 1;
    pthread_mutex_unlock(&inst->lock);

    while (!quit) {
        struct pollfd *fds = NULL;
        copy_port **ports = NULL;
        size_t count = build_poll_set(inst, quit_fd, &fds, &ports), i;
        if (fds == NULL || poll(fds, COPY_FIXED_FDS + count, -1) < 0) {
            quit = fds == NULL || errno != EINTR ? -1 : 0;
        } else {
            quit = (fds[0].revents & POLLIN) != 0;
            if (fds[1].revents & POLLIN) {
                drain_wake(inst);
            }
            if (!quit && (fds[2].revents & POLLIN)) {
                accept_control(inst);
            }
            for (i = 0; !quit && i < count; i++) {
                if (fds[COPY_FIXED_FDS + i].revents & POLLIN) {
                    accept_client(inst, ports[i]);
                }
            }
        }
        free(fds);
        free(ports);
    }

    pthread_mutex_lock(&inst->lock);
    inst->loop_running = 0;
    pthread_cond_broadcast(&inst->changed);
    pthread_mutex_unlock(&inst->lock);
    if (quit < 0) {
        return fail(err, -ENOMEM, "copy loop: out of memory");
    }
    return 0;
}

/* ---- Parent: ports. ---- */

static copy_port **find_port(rkp_instance *inst, uint64_t id) {
    copy_port **at = &inst->ports;
    while (*at != NULL && (*at)->id != id) {
        at = &(*at)->next;
    }
    return at;
}

static int copy_add_port(rkp_instance *inst, uint64_t id, const rkp_port_spec *spec,
                         rkp_error *err) {
    copy_port *port;
    int listener;
    if (spec->proto != RKP_PROTO_TCP) {
        return fail(err, -ENOTSUP, "unsupported port protocol %s", spec->proto_name);
    }
    pthread_mutex_lock(&inst->lock);
    port = *find_port(inst, id);
    pthread_mutex_unlock(&inst->lock);
    if (port != NULL) {
        return fail(err, -EEXIST, "add port: id %llu already exists", (unsigned long long)id);
    }

    listener = open_listener(spec, err);
    if (listener < 0) {
        return listener;
    }
    port = calloc(1, sizeof(*port));
    if (port == NULL) {
        close(listener);
        return fail(err, -ENOMEM, "add port: out of memory");
    }
    port->id = id;
    port->listener = listener;
    plan_target(spec, port);
    snprintf(port->label, sizeof(port->label), "%s:%u/%s",
             spec->parent_ip[0] != '\0' ? spec->parent_ip : "0.0.0.0", spec->parent_port,
             spec->proto_name);

    pthread_mutex_lock(&inst->lock);
    port->next = inst->ports;
    inst->ports = port;
    pthread_mutex_unlock(&inst->lock);
    wake_loop(inst);
    logf_(inst, RKP_LOG_DEBUG, "port %llu %s -> %s:%u added", (unsigned long long)id, port->label,
          port->target, port->target_port);
    return 0;
}

/* Closes the listener of a port already out of the table, ends its connections and frees it.
 * Called with the lock held; returns with it held. */
static void retire_port(rkp_instance *inst, copy_port *port) {
    uint64_t generation = inst->loop_generation;
    copy_conn *conn;
    if (inst->loop_running) {
        wake_loop(inst);
        while (inst->loop_running && inst->loop_generation == generation) {
            pthread_cond_wait(&inst->changed, &inst->lock);
        }
    }
    close(port->listener);
    for (conn = port->conns; conn != NULL; conn = conn->next) {
        shutdown(conn->client, SHUT_RDWR);
        shutdown(conn->backend, SHUT_RDWR);
    }
    while (port->active > 0) {
        pthread_cond_wait(&inst->changed, &inst->lock);
    }
    logf_(inst, RKP_LOG_DEBUG,
          "port %llu %s removed: %llu connections, %llu bytes in, %llu bytes "
          "out",
          (unsigned long long)port->id, port->label, (unsigned long long)port->connections,
          (unsigned long long)port->bytes_in, (unsigned long long)port->bytes_out);
    free(port);
}

static int copy_remove_port(rkp_instance *inst, uint64_t id, rkp_error *err) {
    copy_port **at;
    copy_port *port;
    pthread_mutex_lock(&inst->lock);
    at = find_port(inst, id);
    port = *at;
    if (port == NULL) {
        pthread_mutex_unlock(&inst->lock);
        return fail(err, -ENOENT, "unknown id: %llu", (unsigned long long)id);
    }
    *at = port->next;
    retire_port(inst, port);
    pthread_mutex_unlock(&inst->lock);
    return 0;
}

/* {"driver":"copy","protos":[...],"ports":[{"id":1,"connections":2,"active":0,"bytesIn":10,
 *  "bytesOut":20},...]}: numbers only, so nothing needs escaping. */
static int copy_info(rkp_instance *inst, const rkp_sink *out, rkp_error *err) {
    const char *head = "{\"driver\":\"copy\",\"protos\":[\"tcp\",\"tcp4\",\"tcp6\"],\"ports\":[";
    char item[256];
    copy_port *port;
    (void)err;
    out->write(out->ctx, head, strlen(head));
    pthread_mutex_lock(&inst->lock);
    for (port = inst->ports; port != NULL; port = port->next) {
        int length =
            snprintf(item, sizeof(item),
                     "%s{\"id\":%llu,\"connections\":%llu,\"active\":%d,\"bytesIn\":%llu,"
                     "\"bytesOut\":%llu}",
                     port == inst->ports ? "" : ",", (unsigned long long)port->id,
                     (unsigned long long)port->connections, port->active,
                     (unsigned long long)port->bytes_in, (unsigned long long)port->bytes_out);
        if (length > 0 && (size_t)length < sizeof(item)) {
            out->write(out->ctx, item, (size_t)length);
        }
    }
    pthread_mutex_unlock(&inst->lock);
    out->write(out->ctx, "]}", 2);
    return 0;
}

/* ---- Parent: set-up. ---- */

static int copy_init_parent(rkp_instance *inst, const rkp_port_context *ctx,
                            const rkp_sink *opaque_for_child, rkp_error *err) {
    struct sockaddr_un addr;
    char text[128];
    (void)ctx;
    inst->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (inst->wake < 0) {
        return fail(err, -errno, "eventfd: %s", errtext(errno, text, sizeof(text)));
    }

    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path, inst->socket_path, sizeof(addr.sun_path));
    unlink(inst->socket_path); /* a stale socket of an earlier run in the same state dir */
    inst->control_listener = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (inst->control_listener < 0 ||
        bind(inst->control_listener, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
        chmod(inst->socket_path, 0600) < 0 || listen(inst->control_listener, 1) < 0) {
        return fail(err, -errno, "listen on %s: %s", inst->socket_path,
                    errtext(errno, text, sizeof(text)));
    }
    opaque_for_child->write(opaque_for_child->ctx, "{}", 2);
    return 0;
}

/* ---- Child. ---- */

static int copy_init_child(rkp_instance *inst, const char *opaque_json,
                           const char *detached_netns_path, rkp_error *err) {
    struct sockaddr_un addr;
    char text[128];
    (void)opaque_json;
    (void)detached_netns_path; /* not declared: the host never passes one */
    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path, inst->socket_path, sizeof(addr.sun_path));
    inst->control = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (inst->control < 0 || connect(inst->control, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        return fail(err, -errno, "connect to %s: %s", inst->socket_path,
                    errtext(errno, text, sizeof(text)));
    }
    return 0;
}

/* Connects to the requested target; the socket or a negative errno. */
static int dial(const copy_dial_request *request) {
    struct sockaddr_storage addr;
    char address[INET6_ADDRSTRLEN];
    socklen_t length;
    int fd;
    if (request->protocol != COPY_PROTOCOL ||
        (request->family != AF_INET && request->family != AF_INET6)) {
        return -EPROTO;
    }
    memcpy(address, request->address, sizeof(address));
    address[sizeof(address) - 1] = '\0';
    length = make_sockaddr((int)request->family, address, request->port, &addr);
    fd = socket((int)request->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    if (connect(fd, (struct sockaddr *)&addr, length) < 0) {
        int error = errno;
        close(fd);
        return -error;
    }
    return fd;
}

static int answer(int control, int fd) {
    copy_dial_reply reply = {COPY_PROTOCOL, fd < 0 ? fd : 0};
    char space[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {&reply, sizeof(reply)};
    struct msghdr message;
    memset(&message, 0, sizeof(message));
    memset(space, 0, sizeof(space));
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    if (fd >= 0) {
        struct cmsghdr *cmsg;
        message.msg_control = space;
        message.msg_controllen = sizeof(space);
        cmsg = CMSG_FIRSTHDR(&message);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
    }
    return sendmsg(control, &message, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

static int copy_run_child(rkp_instance *inst, int quit_fd, rkp_error *err) {
    for (;;) {
        struct pollfd fds[2] = {{quit_fd, POLLIN, 0}, {inst->control, POLLIN, 0}};
        copy_dial_request request;
        ssize_t got;
        int fd;
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail(err, -errno, "copy child loop: poll failed");
        }
        if (fds[0].revents & POLLIN) {
            return 0;
        }
        got = recv(inst->control, &request, sizeof(request), 0);
        if (got <= 0) {
            return 0; /* the parent closed the channel: it is stopping */
        }
        fd = got == sizeof(request) ? dial(&request) : -EPROTO;
        if (answer(inst->control, fd) < 0) {
            close_fd(&fd);
            return 0;
        }
        close_fd(&fd);
    }
}

/* ---- Both sides. ---- */

/* The plugin takes no settings: config_json must be an empty object. The first key, if any, is
 * named in the error. */
static int check_config(const char *config_json, rkp_error *err) {
    const char *c = config_json;
    const char *key;
    size_t length;
    while (*c == ' ' || *c == '\t' || *c == '\n' || *c == '\r' || *c == '{' || *c == '}') {
        c++;
    }
    if (*c == '\0') {
        return 0;
    }
    key = strchr(config_json, '"');
    length =
        key != NULL && strchr(key + 1, '"') != NULL ? (size_t)(strchr(key + 1, '"') - key - 1) : 0;
    return fail(err, -EINVAL, "copy config: unknown key \"%.*s\" (this driver takes no settings)",
                (int)(length < 64 ? length : 64), key != NULL ? key + 1 : "");
}

static int copy_create(const rkp_host *host, const char *config_json, rkp_instance **out,
                       rkp_error *err) {
    rkp_instance *inst;
    int rc = check_config(config_json, err);
    if (rc < 0) {
        return rc;
    }
    if (strlen(host->state_dir) + strlen(COPY_SOCKET_NAME) >= sizeof(inst->socket_path)) {
        return fail(err, -ENAMETOOLONG, "state dir %s: too long for a unix socket path",
                    host->state_dir);
    }
    inst = calloc(1, sizeof(*inst));
    if (inst == NULL) {
        return fail(err, -ENOMEM, "out of memory");
    }
    inst->host = host;
    snprintf(inst->socket_path, sizeof(inst->socket_path), "%s%s", host->state_dir,
             COPY_SOCKET_NAME);
    inst->control_listener = -1;
    inst->control = -1;
    inst->wake = -1;
    pthread_mutex_init(&inst->lock, NULL);
    pthread_cond_init(&inst->changed, NULL);
    *out = inst;
    return 0;
}

static void copy_destroy(rkp_instance *inst) {
    pthread_mutex_lock(&inst->lock);
    while (inst->ports != NULL) {
        copy_port *port = inst->ports;
        inst->ports = port->next;
        retire_port(inst, port);
    }
    pthread_mutex_unlock(&inst->lock);
    if (inst->control_listener >= 0) {
        unlink(inst->socket_path);
    }
    close_fd(&inst->control_listener);
    close_fd(&inst->control);
    close_fd(&inst->wake);
    pthread_cond_destroy(&inst->changed);
    pthread_mutex_destroy(&inst->lock);
    free(inst);
}

static const rkp_port_ops copy_ops = {
    sizeof(rkp_port_ops),
    copy_init_parent,
    copy_run_parent,
    copy_init_child,
    copy_run_child,
    copy_add_port,
    copy_remove_port,
    NULL, /* list_ports: the host lists the ports it added */
    copy_info,
};

static const rkp_plugin copy_plugin = {
    sizeof(rkp_plugin),
    RKP_ABI_MAJOR,
    RKP_ABI_MINOR,
    RKP_KIND_PORT,
    0,
    "copy",
    COPY_VERSION,
    "TCP ports copied in user space, with per-connection byte counts (SDK example)",
    RKP_SUP_TCP | RKP_SUP_IPV6,
    RKP_NEED_NETNS | RKP_NEED_PARENT_LOOP | RKP_NEED_CHILD_LOOP,
    NULL,
    "tcp tcp4 tcp6",
    copy_create,
    copy_destroy,
    NULL,
    &copy_ops,
};

RKP_EXPORT const rkp_plugin *rkp_plugin_entry(uint16_t host_abi_major, uint16_t host_abi_minor) {
    (void)host_abi_minor;
    return host_abi_major == RKP_ABI_MAJOR ? &copy_plugin : NULL;
}
