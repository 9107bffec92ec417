/* hub.h - the event hub: rooms, emit/listen, durable clients with replay (docs/chapters/08-hub.md).
 *
 * Two halves in hub.c:
 *   - the core (struct hub, struct hub_conn): rooms, clients, queues, seq numbers. It sees
 *     bytes in and bytes out and no sockets, so a unit test can drive it directly;
 *   - the server (struct hub_server): a TCP listener on the stack that feeds each
 *     connection's bytes to the core and moves the core's output into the socket, as far
 *     as sock_send_space() allows.
 *
 * Every table and buffer has a bound (struct hub_config); when one is full the hub
 * refuses (ERR) or drops, and counts it (struct hub_stats).
 */
#ifndef TAPIR_HUB_H
#define TAPIR_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hub_proto.h"

struct stack;

struct hub_config {
    unsigned max_clients;          /* connections at once (1024) */
    unsigned max_rooms;            /* rooms at once (1024) */
    unsigned max_rooms_per_client; /* rooms one client may join (64) */
    unsigned max_durable;          /* durable client-ids remembered, online or not (1024) */
    unsigned queue_len;            /* events kept per durable client until ACKed (1000) */
    size_t store_bytes;            /* all kept events together (32 MiB); oldest go first */
    size_t out_bytes;              /* per-connection output buffer above TCP's (8 KiB) */
    unsigned sndbuf;               /* TCP send buffer per connection, 0: the stack's default */
    unsigned stall_ms; /* an anonymous subscriber over the high-water mark that reads nothing
                          for this long is disconnected (5000) */
};

#define HUB_COUNTERS(X)                                                                            \
    X(conns_accepted, "connections accepted")                                                      \
    X(conns_refused, "connections refused: hub full")                                              \
    X(hellos, "HELLOs (durable sessions started)")                                                 \
    X(takeovers, "durable clients that reconnected while still connected")                         \
    X(durable_evicted, "offline durable clients forgotten to make room")                           \
    X(events_in, "events emitted")                                                                 \
    X(events_out, "events delivered")                                                              \
    X(acks, "ACKs")                                                                                \
    X(queue_drops, "events dropped: a durable client's queue full (oldest first)")                 \
    X(store_drops, "events dropped: the hub's event store full (oldest first)")                    \
    X(slow_drops, "events dropped: an anonymous client's output buffer full")                      \
    X(emitters_paused, "times an emitter was not read: a subscriber of its room is behind")         \
    X(slow_disconnects, "anonymous subscribers disconnected: stalled, or an event did not fit")   \
    X(errors, "ERR replies")                                                                       \
    X(lines_too_long, "lines over 1024 bytes")

#define HUB_DECLARE_COUNTER(name, text) uint64_t name;
struct hub_stats {
    HUB_COUNTERS(HUB_DECLARE_COUNTER)
    /* gauges: how things stand now */
    uint64_t clients, durable, rooms, stored_events;
};
#undef HUB_DECLARE_COUNTER

struct hub;
struct hub_conn;

/* ---- the core ---- */

void hub_config_init(struct hub_config *cfg);
/* `stack` is only used for trace lines (TRACE_APP) and may be NULL. */
struct hub *hub_create(const struct hub_config *cfg, struct stack *stack);
void hub_destroy(struct hub *hub);
const struct hub_stats *hub_stats(const struct hub *hub);
void hub_stats_print(const struct hub *hub, FILE *out);
/* The seq of the last event emitted (0 before the first). */
uint64_t hub_last_seq(const struct hub *hub);
/* Unacknowledged events queued for durable client `id`, or -1 if the hub does not know it. */
long hub_queued(const struct hub *hub, const char *id);

/* A new connection (an anonymous client until it says HELLO), or NULL when the hub is
 * full. `io` is the caller's, handed back by hub_conn_io(). */
struct hub_conn *hub_conn_open(struct hub *hub, void *io);
void *hub_conn_io(const struct hub_conn *c);
/* The transport is gone (closed, reset, or the caller is closing it): forget c. */
void hub_conn_closed(struct hub_conn *c);
/* Feed received bytes; returns how many were taken. Fewer than len means the connection's
 * output buffer is too full to answer another command: offer the rest again once output
 * drained (hub_conn_sent). */
size_t hub_conn_input(struct hub_conn *c, const void *data, size_t len);
/* The bytes waiting to go out (contiguous); returns their count. */
size_t hub_conn_output(const struct hub_conn *c, const void **data);
/* n of them went out: frees room and moves queued events of a durable client in. */
void hub_conn_sent(struct hub_conn *c, size_t n);
/* After QUIT, or when another connection took over this client-id: close once the
 * output is out. */
bool hub_conn_closing(const struct hub_conn *c);
/* The hub cut this connection off (a stalled subscriber): close it now, output or not. */
bool hub_conn_kicked(const struct hub_conn *c);
/* Emitters waiting for a slow subscriber: how many. The server asks them again now and
 * then (hub_wake_paused), so a subscriber that stalls for good is found and cut off. */
unsigned hub_paused(const struct hub *hub);
void hub_wake_paused(struct hub *hub);
/* The name the hub gives this connection's client ("anon-3" or its HELLO id). */
const char *hub_conn_name(const struct hub_conn *c);
/* Connections that got new output since the last call, one at a time, then NULL. */
struct hub_conn *hub_next_dirty(struct hub *hub);

/* ---- the server on a tapir stack ---- */

struct hub_server;
/* Listen on TCP `port` of `stack`; cfg NULL for the defaults. NULL and *err on failure. */
struct hub_server *hub_server_start(struct stack *stack, uint16_t port,
                                    const struct hub_config *cfg, int *err);
void hub_server_stop(struct hub_server *srv);
struct hub *hub_server_core(struct hub_server *srv);

#endif
