/* stack.h - the public face of a tapir stack: create it, attach a link, drive it.
 *
 * One `struct stack` holds all state (interfaces, caches, sockets, timers, counters).
 * Nothing is global, so a test can run two stacks in one process over a simulated wire.
 * The stack is single-threaded: stack_step() does one round of work at the time it is
 * given, and stack_run() is the real-time loop around it.
 */
#ifndef TAPIR_STACK_H
#define TAPIR_STACK_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "netif.h"
#include "record.h"
#include "stats.h"
#include "timer.h"
#include "trace.h"

struct stack;

#define STACK_MAX_GATEWAYS 4 /* default gateways a stack knows (--gw given up to 4 times) */

struct stack_config {
    char name[8];       /* shown in trace lines when two stacks share a terminal ("A") */
    uint8_t mac[6];     /* our Ethernet address */
    uint32_t ip;        /* our IPv4 address, host order */
    uint8_t prefix_len; /* on-link prefix, e.g. 24 */
    /* RFC 1122 3.3.1.2: a list of default gateways, in order of preference (unused
     * entries 0). `gateway` is another name for the first, for code that knows only one. */
    union {
        uint32_t gateway;
        uint32_t gateways[STACK_MAX_GATEWAYS];
    };
    uint16_t mtu;           /* IP MTU of the link (1500) */
    uint8_t ttl;            /* TTL of datagrams we originate (64) */
    uint32_t seed;          /* seeds IP ids and ephemeral ports: fixed in tests */
    uint64_t isn_secret[2]; /* RFC 6528 key for TCP's initial sequence numbers: from
                               getrandom() in real runs; all zero: derived from seed */
    unsigned trace_mask;    /* TRACE_* bits */
    FILE *trace_out;        /* where trace lines go (stderr when NULL) */
    bool trace_absolute;    /* TCP lines show raw sequence numbers, not relative to the ISN */

    /* ARP (RFC 826) */
    unsigned arp_cache_size;   /* entries (64) */
    unsigned arp_queue_len;    /* packets waiting per unresolved address (101) */
    unsigned arp_max_requests; /* requests before giving up (3) */
    uint32_t arp_retry_ms;     /* between requests (1000) */
    uint32_t arp_timeout_ms;   /* lifetime of a learned entry (60000) */

    /* IPv4 reassembly (RFC 815, RFC 1122 3.3.2) */
    unsigned reasm_max_datagrams; /* reassemblies in progress at once (16) */
    size_t reasm_max_bytes;       /* buffer bytes for all of them (512 KiB) */
    uint32_t reasm_timeout_ms;    /* give up after (30000) */

    /* UDP */
    unsigned udp_rcvq_len; /* datagrams queued per socket (64) */

    /* TCP (RFC 9293) */
    uint32_t tcp_msl_ms;      /* maximum segment lifetime; TIME-WAIT lasts 2*MSL (30000) */
    size_t tcp_sndbuf;        /* bytes buffered for sending per connection (256 KiB) */
    size_t tcp_rcvbuf;        /* bytes buffered for receiving per connection (256 KiB) */
    unsigned tcp_max_retries; /* R2: retransmissions before -ETIMEDOUT (8) */
    unsigned tcp_retries1;    /* R1: retransmissions before TCP tells IP the path looks
                                 dead and the application gets a soft error (3) */
    unsigned tcp_syn_retries; /* SYN retransmissions before giving up (7: 183 s) */
    unsigned tcp_ooo_max;     /* out-of-order segments held per connection (64) */
    unsigned max_sockets;     /* sockets at once (1024) */
    bool tso;                 /* hand the link large TCP segments when it offers TSO (on) */
    bool tcp_sack;            /* offer and accept SACK, RFC 2018 (on) */
    bool tcp_timestamps;      /* offer and accept timestamps, RFC 7323 (on) */
    bool tcp_tlp;             /* tail loss probes, RFC 8985 7 (on) */
    bool tcp_rack;            /* RACK time-based loss detection, RFC 8985 6 (on) */
};

/* Fill in the defaults above (10.0.0.2/24, 02:00:00:00:00:02, MTU 1500, ...). */
void stack_config_init(struct stack_config *cfg);

/* Create a stack on a link driver. Returns NULL if memory runs out. */
struct stack *stack_create(const struct stack_config *cfg, const struct netif_ops *ops,
                           void *driver);
void stack_destroy(struct stack *stack);

/* Start at time now_us: announce ourselves with a gratuitous ARP. */
void stack_start(struct stack *stack, uint64_t now_us);
/* One round at time now_us: read waiting frames (bounded), then fire due timers. */
void stack_step(struct stack *stack, uint64_t now_us);
/* Microseconds until the stack next needs stack_step() without a frame arriving. */
uint64_t stack_next_timeout_us(const struct stack *stack);
/* The real clock (CLOCK_MONOTONIC, microseconds) that stack_run() drives the stack with;
 * also ties pcap timestamps to the wall clock. For stack_start() before stack_run(). */
uint64_t stack_real_clock_us(struct stack *stack);
/* The real-time loop: poll() the link and any watched fds until *stop becomes nonzero.
 * Returns 0, or -errno if the link failed. */
int stack_run(struct stack *stack, volatile sig_atomic_t *stop);
/* Watch an extra fd in stack_run() (stdin for nc); fn runs when it is readable. */
int stack_watch_fd(struct stack *stack, int fd, void (*fn)(struct stack *, int fd, void *ctx),
                   void *ctx);
void stack_unwatch_fd(struct stack *stack, int fd);

uint64_t stack_now_us(const struct stack *stack);
/* Packets still waiting for ARP to resolve their next hop: an application that wants its
 * datagrams out before it exits waits for this to reach 0 (ARP gives up in a few s). */
size_t stack_packets_waiting(const struct stack *stack);
const struct stack_config *stack_config(const struct stack *stack);
const struct stack_stats *stack_stats(const struct stack *stack);
void stack_print_stats(const struct stack *stack, FILE *out);
void stack_set_trace(struct stack *stack, unsigned mask, FILE *out);
/* Capture every frame in and out to a pcap file; returns 0 or -errno. */
int stack_set_pcap(struct stack *stack, const char *path);

/* ICMP echo from the stack (what `tapir ping` uses). */
enum ping_event_kind { PING_REPLY, PING_UNREACHABLE, PING_TIME_EXCEEDED };
struct ping_event {
    enum ping_event_kind kind;
    uint32_t from;       /* who answered */
    uint16_t id, seq;    /* of our echo request */
    uint8_t ttl;         /* of the reply */
    uint8_t code;        /* ICMP code for errors */
    size_t len;          /* ICMP message length (header + data) of a reply */
    const uint8_t *data; /* echo data of a reply */
    size_t data_len;
};
int stack_ping(struct stack *stack, uint32_t dst, uint16_t id, uint16_t seq, const void *data,
               size_t len);
void stack_on_ping(struct stack *stack, void (*fn)(void *ctx, const struct ping_event *ev),
                   void *ctx);

/* RFC 1122 3.3.1.6: one more default gateway, less preferred than those added before.
 * 0, -EINVAL (address 0) or -ENOSPC (STACK_MAX_GATEWAYS already). */
int stack_config_add_gateway(struct stack_config *cfg, uint32_t gateway);
/* "10.0.0.2" -> host order; returns 0 or -1. */
int parse_ipv4(const char *s, uint32_t *ip);
/* "10.0.0.2/24" -> address and prefix; a missing prefix means /32 unless dflt_prefix. */
int parse_ipv4_prefix(const char *s, uint32_t *ip, uint8_t *prefix, uint8_t dflt_prefix);
/* "02:00:00:00:00:02"; returns 0 or -1. */
int parse_mac(const char *s, uint8_t mac[6]);

#endif
