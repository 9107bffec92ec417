/* pkb.h - the packet buffer: one frame's bytes with room in front for headers.
 *
 * A pkb travels up the stack by pulling headers off the front (pkb_pull) and down
 * the stack by pushing headers on (pkb_push). Outbound code allocates a pkb with
 * PKB_HEADROOM spare bytes in front, so every layer can prepend its header
 * without copying the payload.
 *
 *   head            data                    data+len        head+cap
 *   |<- headroom -->|<------- len --------->|<-- tailroom -->|
 */
#ifndef TAPIR_PKB_H
#define TAPIR_PKB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Ethernet (14) + IPv4 with options (60) + TCP with options (60), rounded up. */
#define PKB_HEADROOM 160
/* Every pkb has room for at least this much data, the Ethernet minimum frame and more. */
#define PKB_MIN_DATA 64

/* What lower layers learned about a packet on its way up. */
struct pkb_meta {
    bool link_broadcast;   /* arrived to ff:ff:ff:ff:ff:ff */
    bool looped;           /* our own datagram, back through the loopback queue */
    uint8_t link_src[6];   /* Ethernet source address */
    uint32_t ip_src;       /* IPv4 source, host order */
    uint32_t ip_dst;       /* IPv4 destination, host order */
    uint8_t ip_proto;      /* IPv4 protocol number */
    uint8_t ip_ttl;        /* IPv4 time to live */
    bool ip_broadcast;     /* destination was a broadcast address */
    const uint8_t *ip_hdr; /* start of the IPv4 header inside this pkb */
    size_t ip_hdr_len;     /* its length in bytes */
    uint16_t src_port;     /* UDP/TCP source port, host order */
    bool rerouted;         /* outbound: its gateway died once and IP sent it another way */
};

struct pkb {
    uint8_t *head;    /* start of the allocation */
    uint8_t *data;    /* first byte of the current layer's view */
    size_t len;       /* bytes from data */
    size_t cap;       /* bytes from head */
    struct pkb *next; /* link for the queue that owns it, if any */
    uint16_t tso_mss; /* outbound: a TCP segment the link cuts into pieces of this size */
    struct pkb_meta meta;
};

/* A pkb with PKB_HEADROOM bytes in front and room for `size` bytes of data (len 0). */
struct pkb *pkb_alloc(size_t size);
/* A pkb holding a copy of `len` bytes, with headroom in front. */
struct pkb *pkb_from_bytes(const void *bytes, size_t len);
/* A deep copy (data, headroom and meta). */
struct pkb *pkb_copy(const struct pkb *pkb);
void pkb_free(struct pkb *pkb);
/* Free a whole chain linked through ->next. */
void pkb_free_chain(struct pkb *pkb);

/* Prepend n bytes; returns the new start, or NULL if the headroom is too small. */
uint8_t *pkb_push(struct pkb *pkb, size_t n);
/* Strip n bytes off the front; returns the old start, or NULL if len < n. */
uint8_t *pkb_pull(struct pkb *pkb, size_t n);
/* Append n bytes at the end; returns where they go, or NULL if there is no room. */
uint8_t *pkb_put(struct pkb *pkb, size_t n);
/* Cut the data to `len` bytes (no-op if already shorter). */
void pkb_trim(struct pkb *pkb, size_t len);
size_t pkb_headroom(const struct pkb *pkb);
size_t pkb_tailroom(const struct pkb *pkb);

/* A bounded FIFO of pkbs. */
struct pkb_queue {
    struct pkb *first, *last;
    size_t count;
    size_t bytes;
};
void pkb_queue_push(struct pkb_queue *q, struct pkb *pkb);
struct pkb *pkb_queue_pop(struct pkb_queue *q);
void pkb_queue_clear(struct pkb_queue *q);

#endif
