/* stack_impl.h - the inside of `struct stack`, shared by the layers (not by applications).
 *
 * Each layer keeps its own state behind a pointer (struct arp_state, struct ip_state, ...),
 * defined in that layer's .c file, created by its *_init() and freed by its *_fini().
 * The demultiplexing tables here are how a lower layer reaches the one above it: a layer
 * registers itself for an ethertype or an IP protocol number at start-up.
 */
#ifndef TAPIR_STACK_IMPL_H
#define TAPIR_STACK_IMPL_H

#include "stack.h"
#include "pkb.h"
#include "record.h"

struct pkb;

/* Handed to a transport when an ICMP error (or a failed ARP) concerns one of its datagrams. */
struct ip_error {
    int err;           /* ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, EMSGSIZE, ... */
    uint8_t icmp_type; /* 3 or 11, or 0 for a local failure (ARP gave up) */
    uint8_t icmp_code;
    uint32_t reporter; /* who sent the ICMP error (our own address for local failures) */
    uint32_t src, dst; /* addresses of the datagram that failed (src is ours) */
    const uint8_t *l4; /* its transport header, at least 8 bytes */
    size_t l4_len;
};

typedef void (*eth_handler_fn)(struct stack *stack, struct pkb *pkb);
typedef void (*ip_input_fn)(struct stack *stack, struct pkb *pkb);
typedef void (*ip_error_fn)(struct stack *stack, const struct ip_error *err);

#define STACK_MAX_ETHERTYPES  4
#define STACK_MAX_WATCHED_FDS 8
#define STACK_FRAME_MAX       65536 /* largest frame a driver may hand us */

struct stack {
    struct stack_config cfg;
    char name[8];
    uint32_t netmask; /* from cfg.prefix_len */

    /* the link */
    const struct netif_ops *link;
    void *link_driver;
    uint8_t *rx_frame; /* STACK_FRAME_MAX bytes, reused for every received frame */

    /* time: only what stack_step() was given */
    uint64_t now_us;
    uint64_t start_us;
    uint64_t wall_offset_us; /* added to now_us for pcap timestamps */
    bool started;
    struct timer *timers; /* armed timers: the root of a pairing heap, the soonest (timer.c) */
    uint64_t timer_arms;  /* timers armed so far: breaks ties between equal deadlines */

    /* observation */
    unsigned trace_mask;
    FILE *trace_out;
    FILE *pcap;
    record_fn record; /* structured events for pictures (record.h), or NULL */
    void *record_ctx;
    struct stack_stats stats;

    /* demultiplexing, filled in by each layer's *_init() */
    struct {
        uint16_t ethertype;
        eth_handler_fn input;
    } ethertypes[STACK_MAX_ETHERTYPES];
    unsigned n_ethertypes;
    struct {
        ip_input_fn input;
        ip_error_fn error;
    } ip_protocols[256];

    /* per-layer state */
    struct arp_state *arp;
    struct ip_state *ip;
    struct ip_frag_state *ip_frag; /* reassemblies in progress (ip_frag.c) */
    struct udp_state *udp;
    struct tcp_state *tcp;
    struct sock_state *sock;

    /* datagrams we sent to ourselves, delivered on the next step */
    struct pkb_queue loopback;

    /* ICMP echo for applications */
    void (*ping_fn)(void *ctx, const struct ping_event *ev);
    void *ping_ctx;

    /* extra fds for stack_run() */
    struct {
        int fd;
        void (*fn)(struct stack *, int, void *);
        void *ctx;
    } watched[STACK_MAX_WATCHED_FDS];
    unsigned n_watched;

    uint64_t rng; /* xorshift state, from cfg.seed */
};

/* A pseudo-random 32-bit number from the stack's seeded generator (not for secrets). */
uint32_t stack_random(struct stack *stack);

/* Registration, called from the layers' *_init(). */
void stack_register_ethertype(struct stack *stack, uint16_t ethertype, eth_handler_fn input);
void stack_register_ip_protocol(struct stack *stack, uint8_t proto, ip_input_fn input,
                                ip_error_fn error);

#endif
