/* A UDP echo server for the rootless Docker end-to-end test: busybox has no UDP server, so the
 * test's local image carries this one, linked statically so that it needs nothing else there.
 *
 * Usage: rk-udp-echo PORT. Binds 0.0.0.0:PORT and sends every datagram back to its sender
 * unchanged, until SIGTERM or SIGINT (handled: as a container's PID 1 it would otherwise ignore
 * them). Exit status 0 on a signal, 1 on a set-up error (printed to stderr). */
#define _GNU_SOURCE /* SOCK_CLOEXEC, sigaction */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stopping;

static void onStop(int sig) {
    (void)sig;
    stopping = 1;
}

/* Installs onStop for SIGTERM and SIGINT without SA_RESTART, so that recvfrom() returns EINTR. */
static int handleStopSignals(void) {
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = onStop;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGTERM, &action, NULL) < 0 || sigaction(SIGINT, &action, NULL) < 0) {
        return -1;
    }
    return 0;
}

/* Returns a UDP socket bound to 0.0.0.0:port, or -1 with errno set. */
static int bindUdp(int port) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)port);
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

/* Echoes datagrams on fd until a stop signal arrives. */
static void echoLoop(int fd) {
    char buf[65536];
    while (!stopping) {
        struct sockaddr_storage peer;
        socklen_t peerLen = sizeof(peer);
        ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &peerLen);
        if (n < 0) {
            continue; /* EINTR from a stop signal, or a transient error: look at stopping */
        }
        (void)sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, peerLen);
    }
}

int main(int argc, char **argv) {
    char *end = NULL;
    long parsed = argc == 2 ? strtol(argv[1], &end, 10) : 0;
    if (parsed <= 0 || parsed > 65535 || *end != '\0') {
        fprintf(stderr, "usage: rk-udp-echo PORT (1-65535)\n");
        return 1;
    }
    if (handleStopSignals() < 0) {
        fprintf(stderr, "rk-udp-echo: sigaction: %s\n", strerror(errno));
        return 1;
    }

    int port = (int)parsed;
    int fd = bindUdp(port);
    if (fd < 0) {
        fprintf(stderr, "rk-udp-echo: bind 0.0.0.0:%d/udp: %s\n", port, strerror(errno));
        return 1;
    }
    echoLoop(fd);
    close(fd);
    return 0;
}
