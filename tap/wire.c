/* wire.c - the simulated wire. See wire.h. */
#include "wire.h"
#include "../stack/stack.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The two directions are two paths of the shared model (tap/impair.c) that share one
 * generator, one set of impairments and one set of counters: a seed gives the same run. */
struct wire_end {
    struct wire *wire;
    int side;
    struct impair_path inbox; /* frames on their way to this end */
};

struct wire {
    struct wire_end ends[2];
    struct impair_spec imp;
    struct impair_stats counts;
    struct wire_stats stats; /* counts, plus what the filter dropped */
    uint64_t rng;
    wire_filter_fn filter;
    void *filter_ctx;
    impair_observer_fn observer;
    void *observer_ctx;
};

static void wire_observe(void *ctx, const struct impair_event *ev)
{
    struct wire *w = ctx;
    if (w->observer)
        w->observer(w->observer_ctx, ev);
}

struct wire *wire_create(uint32_t seed, const struct wire_impairments *imp)
{
    struct wire *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    for (int i = 0; i < 2; i++) {
        w->ends[i].wire = w;
        w->ends[i].side = i;
        w->ends[i].inbox = (struct impair_path){.spec = &w->imp,
                                                .rng = &w->rng,
                                                .stats = &w->counts,
                                                .id = i,
                                                .observer = wire_observe,
                                                .observer_ctx = w};
    }
    w->rng = impair_seed(seed);
    wire_set_impairments(w, imp);
    return w;
}

void wire_set_impairments(struct wire *w, const struct wire_impairments *imp)
{
    struct wire_impairments none = {0};
    if (!imp)
        imp = &none;
    w->imp = (struct impair_spec){.loss_pct = imp->loss_pct,
                                  .dup_pct = imp->dup_pct,
                                  .reorder_pct = imp->reorder_pct,
                                  .corrupt_pct = imp->corrupt_pct,
                                  .delay_us = imp->delay_us ? imp->delay_us : 100,
                                  .reorder_us = imp->reorder_us ? imp->reorder_us : 2000};
}

void wire_set_filter(struct wire *w, wire_filter_fn fn, void *ctx)
{
    w->filter = fn;
    w->filter_ctx = ctx;
}

void wire_set_observer(struct wire *w, impair_observer_fn fn, void *ctx)
{
    w->observer = fn;
    w->observer_ctx = ctx;
}

void wire_destroy(struct wire *w)
{
    if (!w)
        return;
    for (int i = 0; i < 2; i++)
        impair_clear(&w->ends[i].inbox);
    free(w);
}

void *wire_end(struct wire *w, int side)
{
    return &w->ends[side & 1];
}

const struct wire_stats *wire_stats(const struct wire *w)
{
    return &w->stats;
}

static void sync_stats(struct wire *w)
{
    const struct impair_stats *c = &w->counts;
    w->stats.sent = c->sent + w->stats.filtered;
    w->stats.delivered = c->delivered;
    w->stats.lost = c->lost;
    w->stats.duplicated = c->duplicated;
    w->stats.reordered = c->reordered;
    w->stats.corrupted = c->corrupted;
    w->stats.overflowed = c->overflowed;
}

static int wire_send(void *driver, const uint8_t *frame, size_t len, uint64_t now_us)
{
    struct wire_end *from = driver;
    struct wire *w = from->wire;
    if (w->filter && w->filter(w->filter_ctx, from->side, frame, len))
        w->stats.filtered++;
    else
        impair_send(&w->ends[!from->side].inbox, frame, len, now_us);
    sync_stats(w);
    return 0;
}

static ssize_t wire_recv(void *driver, uint8_t *buf, size_t cap, uint64_t now_us)
{
    struct wire_end *end = driver;
    size_t n = impair_take(&end->inbox, buf, cap, now_us);
    sync_stats(end->wire);
    return (ssize_t)n;
}

static int wire_fd(void *driver)
{
    (void)driver;
    return -1;
}

const struct netif_ops wire_ops = {
    .kind = "wire",
    .send = wire_send,
    .recv = wire_recv,
    .fd = wire_fd,
};

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

uint64_t wire_next_delivery(const struct wire *w)
{
    return min_u64(impair_next_due(&w->ends[0].inbox), impair_next_due(&w->ends[1].inbox));
}

static uint64_t deadline_of(const struct stack *s, uint64_t now)
{
    uint64_t d = stack_next_timeout_us(s);
    return d == UINT64_MAX ? UINT64_MAX : now + d;
}

bool wire_run(struct wire *w, struct stack *a, struct stack *b, uint64_t *now_us,
              uint64_t deadline_us, bool (*done)(void *), void *ctx)
{
    /* Bounded: even a stack that misbehaves cannot keep a test spinning forever. */
    for (unsigned long rounds = 0; rounds < 50000000ul; rounds++) {
        stack_step(a, *now_us);
        stack_step(b, *now_us);
        if (done && done(ctx))
            return true;
        uint64_t next = min_u64(wire_next_delivery(w),
                                min_u64(deadline_of(a, *now_us), deadline_of(b, *now_us)));
        if (next <= *now_us)
            continue; /* more work at this same instant */
        if (next > deadline_us) {
            *now_us = deadline_us;
            stack_step(a, *now_us);
            stack_step(b, *now_us);
            return done ? done(ctx) : false;
        }
        *now_us = next;
    }
    return false;
}
