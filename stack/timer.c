/* timer.c - a sorted list of armed timers. Arming is O(n), firing the earliest O(1);
 * the stack holds a few hundred timers at most, which keeps this simple and fast enough. */
#include "timer.h"
#include "stack_impl.h"

void timer_init(struct timer *t, void (*fire)(struct stack *, void *), void *arg)
{
    t->when_us = 0;
    t->fire = fire;
    t->arg = arg;
    t->armed = false;
    t->next = NULL;
}

void timer_cancel(struct stack *stack, struct timer *t)
{
    if (!t->armed)
        return;
    for (struct timer **pp = &stack->timers; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    t->armed = false;
    t->next = NULL;
}

void timer_arm(struct stack *stack, struct timer *t, uint64_t delay_us)
{
    timer_cancel(stack, t);
    t->when_us = stack->now_us + delay_us;
    struct timer **pp = &stack->timers;
    while (*pp && (*pp)->when_us <= t->when_us)
        pp = &(*pp)->next;
    t->next = *pp;
    *pp = t;
    t->armed = true;
}

unsigned timers_run(struct stack *stack)
{
    unsigned fired = 0;
    /* A timer that re-arms itself for "now" would loop forever; the bound stops that. */
    while (stack->timers && stack->timers->when_us <= stack->now_us && fired < 100000) {
        struct timer *t = stack->timers;
        stack->timers = t->next;
        t->next = NULL;
        t->armed = false;
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
