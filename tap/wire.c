/* wire.c - the simulated wire. See wire.h. */
#include "wire.h"
#include "../stack/rand.h"
#include "../stack/stack.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define WIRE_MAX_IN_FLIGHT 8192 /* frames per direction; beyond this the wire drops */

struct frame {
    uint64_t due_us;
    size_t len;
    struct frame *next;
    uint8_t bytes[];
};

struct wire_end {
    struct wire *wire;
    int side;
    struct frame *inbox; /* frames on their way to this end, sorted by due_us */
    unsigned count;
};

struct wire {
    struct wire_end ends[2];
    struct wire_impairments imp;
    struct wire_stats stats;
    uint64_t rng;
    wire_filter_fn filter;
    void *filter_ctx;
};

static uint32_t wire_random(struct wire *w)
{
    return xorshift64s(&w->rng);
}

static bool chance(struct wire *w, unsigned pct)
{
    return pct && wire_random(w) % 100 < pct;
}

struct wire *wire_create(uint32_t seed, const struct wire_impairments *imp)
{
    struct wire *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    for (int i = 0; i < 2; i++) {
        w->ends[i].wire = w;
        w->ends[i].side = i;
    }
    w->rng = ((uint64_t)seed << 32 | 0x2545f491u) ^ 0x9e3779b97f4a7c15ull;
    wire_set_impairments(w, imp);
    return w;
}

void wire_set_impairments(struct wire *w, const struct wire_impairments *imp)
{
    if (imp)
        w->imp = *imp;
    else
        memset(&w->imp, 0, sizeof(w->imp));
    if (!w->imp.delay_us)
        w->imp.delay_us = 100;
    if (!w->imp.reorder_us)
        w->imp.reorder_us = 2000;
}

void wire_set_filter(struct wire *w, wire_filter_fn fn, void *ctx)
{
    w->filter = fn;
    w->filter_ctx = ctx;
}

void wire_destroy(struct wire *w)
{
    if (!w)
        return;
    for (int i = 0; i < 2; i++) {
        struct frame *f = w->ends[i].inbox;
        while (f) {
            struct frame *next = f->next;
            free(f);
            f = next;
        }
    }
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

static void enqueue(struct wire_end *to, const uint8_t *bytes, size_t len, uint64_t due_us)
{
    struct wire *w = to->wire;
    if (to->count >= WIRE_MAX_IN_FLIGHT) {
        w->stats.overflowed++;
        return;
    }
    struct frame *f = malloc(sizeof(*f) + len);
    if (!f) {
        w->stats.overflowed++;
        return;
    }
    f->due_us = due_us;
    f->len = len;
    memcpy(f->bytes, bytes, len);
    struct frame **pp = &to->inbox;
    while (*pp && (*pp)->due_us <= due_us) /* equal times keep their sending order */
        pp = &(*pp)->next;
    f->next = *pp;
    *pp = f;
    to->count++;
}

static int wire_send(void *driver, const uint8_t *frame, size_t len, uint64_t now_us)
{
    struct wire_end *from = driver;
    struct wire *w = from->wire;
    struct wire_end *to = &w->ends[!from->side];
    w->stats.sent++;

    if (w->filter && w->filter(w->filter_ctx, from->side, frame, len)) {
        w->stats.filtered++;
        return 0;
    }
    if (chance(w, w->imp.loss_pct)) {
        w->stats.lost++;
        return 0; /* the sender never knows: that is what a lossy wire is like */
    }
    uint64_t due = now_us + w->imp.delay_us;
    if (chance(w, w->imp.reorder_pct)) {
        w->stats.reordered++;
        due += w->imp.reorder_us;
    }
    if (chance(w, w->imp.corrupt_pct) && len > 0) {
        uint8_t copy[len];
        memcpy(copy, frame, len);
        copy[wire_random(w) % len] ^= (uint8_t)(1 + wire_random(w) % 255);
        w->stats.corrupted++;
        enqueue(to, copy, len, due);
    } else {
        enqueue(to, frame, len, due);
    }
    if (chance(w, w->imp.dup_pct)) {
        w->stats.duplicated++;
        enqueue(to, frame, len, due + 1);
    }
    return 0;
}

static ssize_t wire_recv(void *driver, uint8_t *buf, size_t cap, uint64_t now_us)
{
    struct wire_end *end = driver;
    struct frame *f = end->inbox;
    if (!f || f->due_us > now_us)
        return 0;
    end->inbox = f->next;
    end->count--;
    size_t n = f->len < cap ? f->len : cap;
    memcpy(buf, f->bytes, n);
    free(f);
    end->wire->stats.delivered++;
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

uint64_t wire_next_delivery(const struct wire *w)
{
    uint64_t next = UINT64_MAX;
    for (int i = 0; i < 2; i++)
        if (w->ends[i].inbox && w->ends[i].inbox->due_us < next)
            next = w->ends[i].inbox->due_us;
    return next;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
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
