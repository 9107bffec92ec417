/* timer.h - one-shot timers on the stack's clock.
 *
 * A timer is embedded in whatever owns it (an ARP entry, a TCB, ...). The stack keeps
 * the armed ones in a list sorted by deadline; stack_step() fires those that are due.
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
    struct timer *next; /* in stack->timers, sorted by when_us */
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
