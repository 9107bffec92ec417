/* simnet.h - two stacks joined by the simulated wire, on a fake clock, for sim tests.
 *
 *   A: 10.0.0.1  02:00:00:00:00:01   (wire end 0)
 *   B: 10.0.0.2  02:00:00:00:00:02   (wire end 1)
 *
 * Everything is deterministic for a given seed: the wire's impairments and both stacks'
 * random numbers (IP ids, ports, ISNs) come from it.
 */
#ifndef TAPIR_SIMNET_H
#define TAPIR_SIMNET_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../stack/stack.h"
#include "../../tap/wire.h"

#define SIM_IP_A 0x0a000001u
#define SIM_IP_B 0x0a000002u

struct simnet {
    struct wire *wire;
    struct stack *a, *b;
    uint64_t now_us;
};

/* A config for side 0 (A) or 1 (B); tweak it before simnet_init_with. */
static inline void simnet_config(struct stack_config *cfg, int side, uint32_t seed,
                                 unsigned trace_mask)
{
    stack_config_init(cfg);
    snprintf(cfg->name, sizeof(cfg->name), "%s", side ? "B" : "A");
    cfg->ip = side ? SIM_IP_B : SIM_IP_A;
    cfg->mac[5] = side ? 2 : 1;
    cfg->seed = seed * 2 + (uint32_t)side;
    cfg->trace_mask = trace_mask;
    cfg->tcp_msl_ms = 1000; /* TIME-WAIT of 2 s keeps tests short */
}

static inline bool simnet_init_with(struct simnet *n, uint32_t seed,
                                    const struct wire_impairments *imp,
                                    const struct stack_config *cfg_a,
                                    const struct stack_config *cfg_b)
{
    memset(n, 0, sizeof(*n));
    n->now_us = 1000000; /* start at t=1 s so nothing is at time 0 */
    n->wire = wire_create(seed, imp);
    if (!n->wire)
        return false;
    n->a = stack_create(cfg_a, &wire_ops, wire_end(n->wire, 0));
    n->b = stack_create(cfg_b, &wire_ops, wire_end(n->wire, 1));
    if (!n->a || !n->b)
        return false;
    stack_start(n->a, n->now_us);
    stack_start(n->b, n->now_us);
    return true;
}

static inline bool simnet_init(struct simnet *n, uint32_t seed, const struct wire_impairments *imp,
                               unsigned trace_mask)
{
    struct stack_config a, b;
    simnet_config(&a, 0, seed, trace_mask);
    simnet_config(&b, 1, seed, trace_mask);
    return simnet_init_with(n, seed, imp, &a, &b);
}

/* Run for at most `for_us` of simulated time, or until done(ctx). Returns done's verdict
 * (true when done is NULL and the time ran out). */
static inline bool simnet_run(struct simnet *n, uint64_t for_us, bool (*done)(void *), void *ctx)
{
    bool r = wire_run(n->wire, n->a, n->b, &n->now_us, n->now_us + for_us, done, ctx);
    return done ? r : true;
}

static inline void simnet_fini(struct simnet *n)
{
    stack_destroy(n->a);
    stack_destroy(n->b);
    wire_destroy(n->wire);
    memset(n, 0, sizeof(*n));
}

#endif
