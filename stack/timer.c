/* timer.c - the armed timers in a pairing heap, ordered by (deadline, arming order).
 *
 * A pairing heap is a tree where every node is due no later than its children; the root is
 * the next timer to fire. Its links live in the timers themselves, so arming never
 * allocates and cannot fail. Costs: arm O(1), fire the earliest and cancel O(log n)
 * amortized (Fredman, Sedgewick, Sleator, Tarjan 1986). The earlier sorted list cost O(n)
 * per arm, and TCP re-arms a timer on almost every segment: with 10,000 connections that
 * was a scan of tens of thousands of timers per packet.
 *
 * Ties matter for reproducible runs: two timers due at the same microsecond fire in the
 * order they were armed, as they did in the list, so `tapir sim` traces stay the same. */
#include "timer.h"
#include "stack_impl.h"

void timer_init(struct timer *t, void (*fire)(struct stack *, void *), void *arg)
{
    t->when_us = 0;
    t->fire = fire;
    t->arg = arg;
    t->armed = false;
    t->order = 0;
    t->child = t->sibling = t->prev = NULL;
}

/* a fires before b */
static bool sooner(const struct timer *a, const struct timer *b)
{
    if (a->when_us != b->when_us)
        return a->when_us < b->when_us;
    return a->order < b->order;
}

/* Join two heaps (roots, either may be NULL): the later root becomes the first child of
 * the sooner one. */
static struct timer *meld(struct timer *a, struct timer *b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    if (sooner(b, a)) {
        struct timer *swap = a;
        a = b;
        b = swap;
    }
    b->prev = a;
    b->sibling = a->child;
    if (a->child)
        a->child->prev = b;
    a->child = b;
    a->sibling = a->prev = NULL;
    return a;
}

/* The children of a removed node become one heap again: meld them in pairs from the
 * left, then meld the pairs from the right (the "two-pass" rule behind the log n bound).
 * Iterative, so a long list of children cannot overflow the C stack. */
static struct timer *merge_children(struct timer *first)
{
    struct timer *pairs = NULL; /* melded pairs, most recent first, linked by sibling */
    while (first) {
        struct timer *a = first, *b = first->sibling;
        first = b ? b->sibling : NULL;
        a->sibling = a->prev = NULL;
        if (b)
            b->sibling = b->prev = NULL;
        struct timer *m = meld(a, b);
        m->sibling = pairs;
        pairs = m;
    }
    struct timer *heap = NULL;
    while (pairs) {
        struct timer *next = pairs->sibling;
        pairs->sibling = NULL;
        heap = meld(heap, pairs);
        pairs = next;
    }
    return heap;
}

void timer_cancel(struct stack *stack, struct timer *t)
{
    if (!t->armed)
        return;
    if (t == stack->timers) {
        stack->timers = merge_children(t->child);
    } else { /* cut t's subtree out of its parent's list of children, then put it back */
        if (t->prev->child == t)
            t->prev->child = t->sibling;
        else
            t->prev->sibling = t->sibling;
        if (t->sibling)
            t->sibling->prev = t->prev;
        stack->timers = meld(stack->timers, merge_children(t->child));
    }
    t->armed = false;
    t->child = t->sibling = t->prev = NULL;
}

void timer_arm(struct stack *stack, struct timer *t, uint64_t delay_us)
{
    timer_cancel(stack, t);
    t->when_us = stack->now_us + delay_us;
    t->order = stack->timer_arms++;
    t->armed = true;
    stack->timers = meld(stack->timers, t);
}

unsigned timers_run(struct stack *stack)
{
    unsigned fired = 0;
    /* A timer that re-arms itself for "now" would loop forever; the bound stops that. */
    while (stack->timers && stack->timers->when_us <= stack->now_us && fired < 100000) {
        struct timer *t = stack->timers;
        timer_cancel(stack, t);
        fired++;
        t->fire(stack, t->arg);
    }
    return fired;
}

uint64_t timers_next_delay(const struct stack *stack)
{
    if (!stack->timers)
        return UINT64_MAX;
    if (stack->timers->when_us <= stack->now_us)
        return 0;
    return stack->timers->when_us - stack->now_us;
}
