/* wire.h - a simulated Ethernet cable joining two stacks inside one process.
 *
 * Frames sent by one end arrive at the other after a delay, on the stacks' own (fake)
 * clock. Impairments are drawn from a seeded generator, so a given seed produces the
 * same losses, duplicates, reorderings and corruptions on every run: tests and lessons
 * are deterministic and need no root.
 */
#ifndef TAPIR_WIRE_H
#define TAPIR_WIRE_H

#include <stdbool.h>
#include <stdint.h>

#include "../stack/netif.h"
#include "impair.h"

struct stack;
struct wire;

/* The model is tap/impair.c's, shared with `tapir --impair`; a zero delay here means 100 us
 * and a zero reorder_us 2 ms. */
struct wire_impairments {
    unsigned loss_pct;    /* frames lost, percent */
    unsigned dup_pct;     /* frames delivered twice */
    unsigned reorder_pct; /* frames held back so that later ones overtake them */
    unsigned corrupt_pct; /* frames with one byte flipped */
    uint32_t delay_us;    /* one-way delay (default 100 us) */
    uint32_t reorder_us;  /* extra delay of a reordered frame (default 2 ms) */
};

struct wire_stats {
    uint64_t sent, delivered, lost, duplicated, reordered, corrupted, overflowed, filtered;
};

/* Decides the fate of each frame before impairments: return true to drop it. Lessons
 * and tests use it to lose exactly the segment they want. `side` is the sender (0 or 1). */
typedef bool (*wire_filter_fn)(void *ctx, int side, const uint8_t *frame, size_t len);

extern const struct netif_ops wire_ops;

struct wire *wire_create(uint32_t seed, const struct wire_impairments *imp);
void wire_destroy(struct wire *wire);
/* The driver pointer for end 0 or end 1, to pass to stack_create() with &wire_ops. */
void *wire_end(struct wire *wire, int side);
void wire_set_impairments(struct wire *wire, const struct wire_impairments *imp);
void wire_set_filter(struct wire *wire, wire_filter_fn fn, void *ctx);
/* Tell fn each loss, duplicate, reordering and corruption (ev->path: the receiving side). */
void wire_set_observer(struct wire *wire, impair_observer_fn fn, void *ctx);
const struct wire_stats *wire_stats(const struct wire *wire);
/* When the next frame is due (absolute, stack clock), or UINT64_MAX if none is in flight. */
uint64_t wire_next_delivery(const struct wire *wire);

/* Drive stacks a and b over the wire on a fake clock, jumping from event to event, until
 * done(ctx) is true (returns true) or *now_us would pass deadline_us (returns false). */
bool wire_run(struct wire *wire, struct stack *a, struct stack *b, uint64_t *now_us,
              uint64_t deadline_us, bool (*done)(void *ctx), void *ctx);

#endif
