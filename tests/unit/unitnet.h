/* unitnet.h - one stack on a simulated wire, for unit tests of single layers.
 *
 *   test (plays the kernel, 10.0.0.1)  --wire end 0--  wire  --wire end 1--  stack (10.0.0.2)
 *
 * unet_inject() puts a frame on the wire as the kernel would and steps the stack past the
 * wire's delay, so the frame has been through eth_input() and everything above when it
 * returns. unet_sent() takes the next frame the stack put on the wire, so a test can check
 * a reply byte by byte. Time is a fake clock in microseconds that only the test moves.
 * Set UNIT_TRACE=1 in the environment to see the stack's trace lines.
 */
#ifndef TAPIR_UNITNET_H
#define TAPIR_UNITNET_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../stack/bytes.h"
#include "../../stack/checksum.h"
#include "../../stack/stack.h"
#include "../../tap/wire.h"

#define UNET_STACK_IP  0x0a000002u
#define UNET_MAX_FRAME 65536

struct unitnet {
    struct wire *wire;
    struct stack *stack;
    uint64_t now_us;
    uint8_t frame[UNET_MAX_FRAME]; /* the last frame unet_sent() returned */
};

static inline void unet_config(struct stack_config *cfg)
{
    stack_config_init(cfg); /* 10.0.0.2/24, 02:00:00:00:00:02: what the lab uses */
    snprintf(cfg->name, sizeof(cfg->name), "U");
    if (getenv("UNIT_TRACE"))
        cfg->trace_mask = TRACE_ALL;
}

/* Take the next frame the stack sent (0 when there is none); it is in u->frame. */
static inline size_t unet_sent(struct unitnet *u)
{
    ssize_t n = wire_ops.recv(wire_end(u->wire, 0), u->frame, sizeof(u->frame), UINT64_MAX);
    return n > 0 ? (size_t)n : 0;
}

/* Forget every frame the stack has sent so far; returns how many there were. */
static inline unsigned unet_drain(struct unitnet *u)
{
    unsigned n = 0;
    while (unet_sent(u))
        n++;
    return n;
}

/* Move the clock forward and let the stack run its timers. */
static inline void unet_advance(struct unitnet *u, uint64_t us)
{
    u->now_us += us;
    stack_step(u->stack, u->now_us);
}

/* Send a frame to the stack from the kernel's end and let the stack process it. */
static inline void unet_inject(struct unitnet *u, const void *frame, size_t len)
{
    wire_ops.send(wire_end(u->wire, 0), frame, len, u->now_us);
    unet_advance(u, 100); /* the wire's default one-way delay */
}

/* A stack with cfg (NULL: unet_config's), started, its gratuitous ARP already drained. */
static inline struct unitnet *unet_create(const struct stack_config *cfg)
{
    struct stack_config dflt;
    if (!cfg) {
        unet_config(&dflt);
        cfg = &dflt;
    }
    struct unitnet *u = calloc(1, sizeof(*u));
    if (!u)
        return NULL;
    u->now_us = 1000000; /* t = 1 s, so that nothing happens at time 0 */
    u->wire = wire_create(1, NULL);
    u->stack = u->wire ? stack_create(cfg, &wire_ops, wire_end(u->wire, 1)) : NULL;
    if (!u->stack) {
        wire_destroy(u->wire);
        free(u);
        return NULL;
    }
    stack_start(u->stack, u->now_us);
    unet_drain(u);
    return u;
}

static inline void unet_destroy(struct unitnet *u)
{
    if (!u)
        return;
    stack_destroy(u->stack);
    wire_destroy(u->wire);
    free(u);
}

/* The Internet checksum over bytes that include their checksum field: 0 when valid. */
static inline bool unet_checksum_ok(const uint8_t *p, size_t len)
{
    return inet_checksum(p, len) == 0;
}

#endif
