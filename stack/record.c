/* record.c - hand structured events to the application's recorder (see record.h). */
#include "record.h"
#include "stack_impl.h"

void stack_set_recorder(struct stack *stack, record_fn fn, void *ctx)
{
    stack->record = fn;
    stack->record_ctx = ctx;
}

bool stack_recording(const struct stack *stack)
{
    return stack->record != NULL;
}

void record_emit(struct stack *stack, struct record_event *ev)
{
    if (!stack->record)
        return;
    ev->t_us = stack->now_us - stack->start_us;
    stack->record(stack->record_ctx, ev);
}

void record_frame(struct stack *stack, enum record_kind kind, const uint8_t *frame, size_t len)
{
    struct record_event ev = {.kind = kind, .frame = frame, .len = len};
    record_emit(stack, &ev);
}

void record_drop(struct stack *stack, const char *layer, const char *why)
{
    struct record_event ev = {.kind = RECORD_DROP, .layer = layer, .what = why};
    record_emit(stack, &ev);
}

void record_timer(struct stack *stack, const char *layer, const char *what)
{
    struct record_event ev = {.kind = RECORD_TIMER, .layer = layer, .what = what};
    record_emit(stack, &ev);
}
