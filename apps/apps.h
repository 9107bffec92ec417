/* apps.h - the applications that run on tapir's sockets (layer 7). They see only
 * stack/stack.h and stack/sock.h, as any program written against tapir would. */
#ifndef TAPIR_APPS_H
#define TAPIR_APPS_H

#include <signal.h>
#include <stdint.h>

#include "../stack/sock.h"
#include "../stack/stack.h"

/* ping.c: ICMP echo to dst, `count` times (0: until *stop), one per interval_ms.
 * Prints lines like the system ping. Returns 0 if any reply came, 1 otherwise. */
/* What iputils ping prints for an error event ("Destination Host Unreachable", ...). */
const char *ping_error_text(const struct ping_event *ev);
int ping_run(struct stack *stack, uint32_t dst, unsigned count, unsigned interval_ms,
             size_t payload_len, volatile sig_atomic_t *stop);

/* echo.c: echo (RFC 862) and discard (RFC 863) on UDP and TCP port `port`. */
struct service;
struct service *echo_start(struct stack *stack, uint16_t port, int *err);
struct service *discard_start(struct stack *stack, uint16_t port, int *err);
void service_stop(struct service *svc);
/* Its counters, netstat -s style (for --stats); nothing for NULL. */
void service_print_stats(const struct service *svc, FILE *out);

/* hub.c: the event hub (rooms, emit, durable clients) on TCP `port`; docs/chapters/08-hub.md. */
struct hub_server;
struct hub_server *hub_start(struct stack *stack, uint16_t port, int *err);
void hub_stop(struct hub_server *srv);
/* The hub's counters, netstat -s style (for --stats). */
void hub_print_stats(const struct hub_server *srv, FILE *out);

/* nc.c: `tapir nc`: stdin -> socket -> stdout. host 0 with listen = server. */
struct nc_options {
    bool udp;
    bool listen;
    uint32_t host;
    uint16_t port;
    uint32_t source;      /* -s ADDR: the local address to bind (0: any) */
    unsigned keepalive_s; /* -K SECONDS: TCP keep-alive, idle and interval (0: off) */
    const char *urgent;   /* -U TEXT: sent first, its last byte urgent (MSG_OOB) */
};
int nc_run(struct stack *stack, const struct nc_options *opt, volatile sig_atomic_t *stop);

/* run.c: `tapir run`: PROGRAM (argv, NULL-terminated) with its TCP sockets on tapir through
 * the preload shim at shim_path; link_fd is the link driver's fd. Returns the program's
 * exit status (128 + signal when a signal ended it). */
int run_program(struct stack *stack, int link_fd, const char *shim_path, char **argv,
                volatile sig_atomic_t *stop);
/* Where libtapir-shim.so is: $TAPIR_SHIM, else beside the tapir binary; 0 or -1. */
int run_find_shim(char *path, size_t len);

/* sim.c: `tapir sim [SCENARIO]`: two stacks over the simulated wire, fake clock, traced. */
int sim_main(int argc, char **argv);

#endif
