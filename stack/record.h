/* record.h - what happened, as structured events, for pictures of a run.
 *
 * Trace lines are for people; these events are for programs. An application installs one
 * function with stack_set_recorder() and is told, as they happen, about every frame in
 * and out (with its bytes), every drop (with its layer and reason), every TCP state
 * change and timer, and TCP's congestion variables. apps/html.c turns them into ladder
 * diagrams and graphs. With no recorder installed each hook costs one test.
 */
#ifndef TAPIR_RECORD_H
#define TAPIR_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct stack;

enum record_kind {
    RECORD_RX,       /* a frame arrived (frame, len) */
    RECORD_TX,       /* a frame left (frame, len) */
    RECORD_DROP,     /* something was dropped inside the stack (layer, what = reason) */
    RECORD_STATE,    /* a TCP connection changed state (conn, from -> what) */
    RECORD_TIMER,    /* a timer fired (layer, what = "RTO", "delayed ACK", ...; conn for TCP) */
    RECORD_TCP_VARS, /* a TCP connection's congestion variables after an event (conn, tcp) */
};

/* A TCP connection, as its own end sees it (host order). */
struct record_conn {
    uint32_t local_ip, remote_ip;
    uint16_t local_port, remote_port;
};

struct record_tcp_vars {
    uint32_t cwnd, ssthresh;  /* bytes (RFC 5681) */
    uint32_t rto_us, srtt_us; /* RFC 6298 */
    uint32_t in_flight;       /* SND.MAX - SND.UNA */
    uint32_t snd_wnd;         /* the peer's window */
};

struct record_event {
    enum record_kind kind;
    uint64_t t_us; /* since the stack started, like trace lines */
    const uint8_t *frame;
    size_t len;
    const char *layer; /* "eth", "arp", "ip", "icmp", "udp", "tcp" */
    const char *what;
    const char *from;
    struct record_conn conn;
    struct record_tcp_vars tcp;
};

typedef void (*record_fn)(void *ctx, const struct record_event *ev);

/* Install (or, with fn NULL, remove) the recorder. */
void stack_set_recorder(struct stack *stack, record_fn fn, void *ctx);
bool stack_recording(const struct stack *stack);

/* For the layers: stamp the time and hand the event over (nothing when not recording). */
void record_emit(struct stack *stack, struct record_event *ev);
void record_frame(struct stack *stack, enum record_kind kind, const uint8_t *frame, size_t len);
void record_drop(struct stack *stack, const char *layer, const char *why);
void record_timer(struct stack *stack, const char *layer, const char *what);

#endif
