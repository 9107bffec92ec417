/* timer.h - one-shot timers on the stack's clock.
 *
 * A timer is embedded in whatever owns it (an ARP entry, a TCB, ...). The stack keeps
 * the armed ones in a heap ordered by deadline (timer.c); stack_step() fires those that
 * are due, earliest first, and those with the same deadline in the order they were armed.
 * Arming and cancelling cost O(log n), so 10,000 connections re-arming timers on every
 * segment stay cheap; nothing is allocated (the heap links live in the timer).
 * Time is whatever clock the caller of stack_step() passes in, so tests use a fake one.
 */
#ifndef TAPIR_TIMER_H
#define TAPIR_TIMER_H

#include <stdbool.h>
#include <stdint.h>

struct stack;

struct timer {
    uint64_t when_us; /* deadline on the stack's clock */
    void (*fire)(struct stack *stack, void *arg);
    void *arg;
    bool armed;
    uint64_t order; /* stack->timer_arms when armed: equal deadlines fire in arming order */
    /* pairing-heap links: first child, next sibling, and the node before (the parent when
     * this is a first child, else the previous sibling); NULL for the root */
    struct timer *child, *sibling, *prev;
};

void timer_init(struct timer *t, void (*fire)(struct stack *, void *), void *arg);
/* (Re)arm to fire `delay_us` from now. */
void timer_arm(struct stack *stack, struct timer *t, uint64_t delay_us);
void timer_cancel(struct stack *stack, struct timer *t);
static inline bool timer_armed(const struct timer *t)
{
    return t->armed;
}
/* Fire every timer due at stack->now_us; returns how many fired. */
unsigned timers_run(struct stack *stack);
/* Microseconds until the next deadline, or UINT64_MAX when nothing is armed. */
uint64_t timers_next_delay(const struct stack *stack);

#endif
