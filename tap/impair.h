/* impair.h - a bad cable: the one model of loss, duplication, reordering, corruption and
 * delay that both the simulated wire (tap/wire.c) and `tapir --impair` (a TAP link with
 * the same faults, no tc netem needed) use.
 *
 * A path carries frames one way. Each frame offered to it meets its fate, drawn from a
 * seeded generator (stack/rand.h), in this order (the order is part of the model: the
 * same seed and the same frames give the same fates):
 *   lost       with probability loss%: never arrives
 *   reordered  with probability reorder%: held back reorder_us longer than the others,
 *              so frames sent after it overtake it
 *   corrupted  with probability corrupt%: one byte flipped
 *   duplicated with probability dup%: a second, intact copy arrives 1 us after the first
 * and every frame that is not lost arrives delay_us after it was sent, on the stack's
 * clock. Frames in flight wait in a queue sorted by arrival time, bounded in length.
 */
#ifndef TAPIR_IMPAIR_H
#define TAPIR_IMPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "../stack/netif.h"

struct stack;

#define IMPAIR_MAX_IN_FLIGHT 8192 /* frames per path; beyond this the path drops */

struct impair_spec {
    unsigned loss_pct;    /* frames lost, percent */
    unsigned dup_pct;     /* frames delivered twice */
    unsigned reorder_pct; /* frames held back so that later ones overtake them */
    unsigned corrupt_pct; /* frames with one byte flipped */
    uint32_t delay_us;    /* one-way delay of every frame */
    uint32_t reorder_us;  /* extra delay of a reordered frame */
};

struct impair_stats {
    uint64_t sent;      /* frames offered to the path */
    uint64_t delivered; /* frames that came out of it (duplicates count twice) */
    uint64_t lost, duplicated, reordered, corrupted;
    uint64_t overflowed; /* dropped: IMPAIR_MAX_IN_FLIGHT frames were in flight */
};

/* What a path did to a frame, for a trace line (impair_trace). */
enum impair_what {
    IMPAIR_LOST,
    IMPAIR_DUPLICATED,
    IMPAIR_REORDERED,
    IMPAIR_CORRUPTED,
    IMPAIR_OVERFLOWED
};

struct impair_event {
    enum impair_what what;
    int path;             /* which path: the wire's receiving side, or IMPAIR_IN / IMPAIR_OUT */
    const uint8_t *frame; /* the frame as it was sent */
    size_t len;
    uint32_t held_us; /* IMPAIR_REORDERED: the extra delay */
    size_t byte;      /* IMPAIR_CORRUPTED: which byte, and its value before and after */
    uint8_t was, now;
};

typedef void (*impair_observer_fn)(void *ctx, const struct impair_event *ev);

struct impair_frame;

/* One direction of a link. spec, rng and stats may be shared by several paths (the
 * simulated wire shares all three between its two directions). */
struct impair_path {
    const struct impair_spec *spec;
    uint64_t *rng;
    struct impair_stats *stats;
    int id; /* reported in events as ev->path */
    impair_observer_fn observer;
    void *observer_ctx;
    struct impair_frame *queue; /* in flight, sorted by due time */
    unsigned count;
};

/* A generator state for `seed`, as the wire has always seeded its own. */
uint64_t impair_seed(uint32_t seed);

/* A frame enters the path at now_us: decide its fate and queue what will arrive. */
void impair_send(struct impair_path *p, const uint8_t *frame, size_t len, uint64_t now_us);
/* The next frame due at now_us into buf (cut to cap); returns its length, or 0 if none is due. */
size_t impair_take(struct impair_path *p, uint8_t *buf, size_t cap, uint64_t now_us);
/* When the next frame is due (absolute, stack clock), or UINT64_MAX when none is in flight. */
uint64_t impair_next_due(const struct impair_path *p);
/* Free every frame still in flight. */
void impair_clear(struct impair_path *p);

/* ---- `tapir --impair SPEC`: the model on a real link ---- */

enum { IMPAIR_IN = 0, IMPAIR_OUT = 1 }; /* in: the peer -> tapir; out: tapir -> the peer */

struct impair_config {
    struct impair_spec dir[2]; /* [IMPAIR_IN], [IMPAIR_OUT] */
    uint32_t seed;
};

/* Parse "loss=5%,delay=5ms,reorder=25%,dup=1%,corrupt=1%,seed=7" (any subset, any order;
 * "in:" or "out:" before a key limits it to one direction). Returns 0, or -1 with a
 * one-line reason in why. */
int impair_parse(const char *spec, struct impair_config *cfg, char *why, size_t why_size);
/* "in: loss=5% delay=5ms; out: none" (for the start-up line and --stats). */
void impair_describe(const struct impair_config *cfg, char *buf, size_t size);

/* A link driver that puts the model between the stack and another driver (the TAP):
 * what the stack sends goes through the out path, what the inner driver receives through
 * the in path. Frames held back are released when due: the stack asks next_due, so its
 * event loop wakes for them, and each recv call releases what is due. */
struct impair_link;
extern const struct netif_ops impair_link_ops;
struct impair_link *impair_link_create(const struct impair_config *cfg,
                                       const struct netif_ops *inner, void *inner_driver);
void impair_link_destroy(struct impair_link *link);
/* Trace each loss, duplicate, reordering and corruption as a line of `stack`'s (L1 link). */
void impair_link_trace_to(struct impair_link *link, struct stack *stack);
const struct impair_stats *impair_link_stats(const struct impair_link *link, int dir);
/* The counters, per direction, in the format of stack_print_stats. */
void impair_link_print_stats(const struct impair_link *link, FILE *out);

/* One trace line on `stack` for ev: "L1 link out lost 10.0.0.2:7 > 10.0.0.1:40112 tcp ..." */
void impair_trace(struct stack *stack, const char *dir, const struct impair_event *ev);

#endif
