/* arp.c - the Address Resolution Protocol (RFC 826), between layers 2 and 3.
 *
 *  0       2       4   5   6       8            14      18           24      28
 *  +-------+-------+---+---+-------+------------+-------+------------+-------+
 *  | htype | ptype |hln|pln|  op   | sender MAC |sndr IP| target MAC |tgt IP |
 *  +-------+-------+---+---+-------+------------+-------+------------+-------+
 *
 * The cache is a fixed table. An entry is INCOMPLETE while we ask (packets for it wait
 * in a bounded queue, requests are retried a bounded number of times) and REACHABLE once
 * answered, until it expires.
 */
#include "arp.h"
#include "bytes.h"
#include "eth.h"
#include "pkb.h"
#include "stack_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum arp_entry_state { ARP_FREE, ARP_INCOMPLETE, ARP_REACHABLE };

struct arp_entry {
    enum arp_entry_state state;
    uint32_t ip;
    uint8_t mac[6];
    unsigned requests_sent;   /* while INCOMPLETE */
    struct pkb_queue waiting; /* packets for this address, while INCOMPLETE */
    struct timer timer;       /* retry while INCOMPLETE, expiry while REACHABLE */
    uint64_t used_us;         /* last learned, confirmed or used to send (REACHABLE) */
    uint64_t created_us;      /* when the entry was taken (INCOMPLETE: its age) */
    struct stack *stack;
};

/* A REACHABLE entry confirmed or used within this time is in use: nothing evicts it. */
#define ARP_IN_USE_US (10ull * 1000000)

struct arp_state {
    struct arp_entry *entries;
    unsigned n_entries;
    arp_unreachable_fn unreachable;
};

int arp_parse(const uint8_t *b, size_t len, struct arp_pkt *p)
{
    if (len < ARP_PKT_LEN)
        return -1;
    p->htype = get_be16(b);
    p->ptype = get_be16(b + 2);
    p->hlen = b[4];
    p->plen = b[5];
    p->op = get_be16(b + 6);
    memcpy(p->sha, b + 8, 6);
    p->spa = get_be32(b + 14);
    memcpy(p->tha, b + 18, 6);
    p->tpa = get_be32(b + 24);
    return 0;
}

void arp_build(const struct arp_pkt *p, uint8_t *b)
{
    put_be16(b, p->htype);
    put_be16(b + 2, p->ptype);
    b[4] = p->hlen;
    b[5] = p->plen;
    put_be16(b + 6, p->op);
    memcpy(b + 8, p->sha, 6);
    put_be32(b + 14, p->spa);
    memcpy(b + 18, p->tha, 6);
    put_be32(b + 24, p->tpa);
}

static void entry_timer(struct stack *stack, void *arg);
static void give_up(struct stack *stack, struct arp_entry *e);

int arp_init(struct stack *stack)
{
    struct arp_state *arp = calloc(1, sizeof(*arp));
    if (!arp)
        return -ENOMEM;
    arp->n_entries = stack->cfg.arp_cache_size ? stack->cfg.arp_cache_size : 1;
    arp->entries = calloc(arp->n_entries, sizeof(*arp->entries));
    if (!arp->entries) {
        free(arp);
        return -ENOMEM;
    }
    for (unsigned i = 0; i < arp->n_entries; i++) {
        arp->entries[i].stack = stack;
        timer_init(&arp->entries[i].timer, entry_timer, &arp->entries[i]);
    }
    stack->arp = arp;
    stack_register_ethertype(stack, ETH_TYPE_ARP, arp_input);
    return 0;
}

static void entry_free(struct stack *stack, struct arp_entry *e)
{
    timer_cancel(stack, &e->timer);
    pkb_queue_clear(&e->waiting);
    e->state = ARP_FREE;
    e->requests_sent = 0;
}

void arp_fini(struct stack *stack)
{
    struct arp_state *arp = stack->arp;
    if (!arp)
        return;
    for (unsigned i = 0; i < arp->n_entries; i++)
        entry_free(stack, &arp->entries[i]);
    free(arp->entries);
    free(arp);
    stack->arp = NULL;
}

void arp_on_unreachable(struct stack *stack, arp_unreachable_fn fn)
{
    stack->arp->unreachable = fn;
}

static struct arp_entry *find_entry(struct stack *stack, uint32_t ip)
{
    struct arp_state *arp = stack->arp;
    for (unsigned i = 0; i < arp->n_entries; i++)
        if (arp->entries[i].state != ARP_FREE && arp->entries[i].ip == ip)
            return &arp->entries[i];
    return NULL;
}

/* Is this entry a better victim than `best`? Prefer the one idle the longest. */
static bool idler(const struct arp_entry *e, const struct arp_entry *best)
{
    return !best || e->used_us < best->used_us;
}

/* A slot for a new entry, in this order (the cache is bounded, so someone must lose):
 *   1. a free entry;
 *   2. the REACHABLE entry idle the longest, if no packet used or confirmed it for
 *      ARP_IN_USE_US: a neighbour we are talking to is never pushed out;
 *   3. the oldest INCOMPLETE entry: a flood of packets from addresses that do not exist
 *      (each reply makes us resolve one) only pushes out its own resolutions.
 * NULL when every entry is in use (the caller drops: cache_full). */
static struct arp_entry *new_entry(struct stack *stack, uint32_t ip)
{
    struct arp_state *arp = stack->arp;
    struct arp_entry *idle = NULL, *pending = NULL, *victim = NULL;
    for (unsigned i = 0; i < arp->n_entries && !victim; i++) {
        struct arp_entry *e = &arp->entries[i];
        if (e->state == ARP_FREE)
            victim = e;
        else if (e->state == ARP_REACHABLE && stack->now_us - e->used_us >= ARP_IN_USE_US &&
                 idler(e, idle))
            idle = e;
        else if (e->state == ARP_INCOMPLETE && (!pending || e->created_us < pending->created_us))
            pending = e;
    }
    if (!victim)
        victim = idle ? idle : pending;
    if (!victim) {
        stack->stats.arp.cache_full++;
        return NULL;
    }
    if (victim->state != ARP_FREE) {
        char a[16], b[16];
        stack->stats.arp.evictions++;
        trace(stack, TRACE_ARP, "cache full: %s entry for %s makes room for %s",
              victim->state == ARP_REACHABLE ? "idle" : "unanswered", ip_str(victim->ip, a),
              ip_str(ip, b));
        if (victim->state == ARP_INCOMPLETE)
            give_up(stack, victim); /* its waiting packets are told, as if it timed out */
    }
    entry_free(stack, victim);
    victim->ip = ip;
    victim->created_us = stack->now_us;
    return victim;
}

static int send_arp(struct stack *stack, uint16_t op, const uint8_t eth_dst[6],
                    const uint8_t tha[6], uint32_t tpa)
{
    struct arp_pkt p = {
        .htype = 1,
        .ptype = ETH_TYPE_IPV4,
        .hlen = 6,
        .plen = 4,
        .op = op,
        .spa = stack->cfg.ip,
        .tpa = tpa,
    };
    memcpy(p.sha, stack->cfg.mac, 6);
    memcpy(p.tha, tha, 6);
    struct pkb *pkb = pkb_alloc(ARP_PKT_LEN);
    if (!pkb)
        return -ENOMEM;
    arp_build(&p, pkb_put(pkb, ARP_PKT_LEN));
    return eth_output(stack, pkb, eth_dst, ETH_TYPE_ARP);
}

static const uint8_t zero_mac[6];

static void send_request(struct stack *stack, struct arp_entry *e)
{
    char ip[16];
    e->requests_sent++;
    stack->stats.arp.requests_tx++;
    trace(stack, TRACE_ARP, "who-has %s tell %s (request %u of %u)", ip_str(e->ip, ip),
          ip_str(stack->cfg.ip, (char[16]){0}), e->requests_sent, stack->cfg.arp_max_requests);
    send_arp(stack, ARP_OP_REQUEST, eth_broadcast, zero_mac, e->ip);
    timer_arm(stack, &e->timer, (uint64_t)stack->cfg.arp_retry_ms * 1000);
}

void arp_announce(struct stack *stack)
{
    char ip[16];
    stack->stats.arp.gratuitous_tx++;
    trace(stack, TRACE_ARP, "announce %s is-at %s (gratuitous)", ip_str(stack->cfg.ip, ip),
          mac_str(stack->cfg.mac, (char[18]){0}));
    send_arp(stack, ARP_OP_REQUEST, eth_broadcast, zero_mac, stack->cfg.ip);
}

/* The address never answered: the entry goes, and IP hears about the address and gets
 * what waited for it (it may send some of it another way); the rest is dropped. The
 * entry is freed before IP is called, so IP may resolve other addresses at once. */
static void give_up(struct stack *stack, struct arp_entry *e)
{
    char ip[16];
    struct arp_state *arp = stack->arp;
    stack->stats.arp.resolve_failed++;
    record_drop(stack, "arp", "no answer to ARP: waiting packets dropped");
    trace(stack, TRACE_ARP, "%s did not answer %u requests: dropping %zu waiting packets",
          ip_str(e->ip, ip), e->requests_sent, e->waiting.count);
    uint32_t addr = e->ip;
    struct pkb_queue waiting = e->waiting;
    e->waiting = (struct pkb_queue){0};
    entry_free(stack, e);
    if (arp->unreachable)
        arp->unreachable(stack, addr, &waiting); /* IP may resend some another way */
    stack->stats.arp.unresolved_drops += waiting.count;
    pkb_queue_clear(&waiting);
}

/* RFC 1122 3.3.1.4: another layer says `ip` may be gone (TCP's retransmissions reached
 * R1). What we learned about it is forgotten, so the next packet asks again: an answer
 * confirms it, silence ends in give_up() and IP hears that the address is dead. */
void arp_reconfirm(struct stack *stack, uint32_t ip)
{
    struct arp_entry *e = find_entry(stack, ip);
    char a[16];
    if (!e || e->state != ARP_REACHABLE)
        return; /* unknown, or being asked already */
    stack->stats.arp.reconfirms++;
    trace(stack, TRACE_ARP, "negative advice about %s: forget it, ask again on next use",
          ip_str(ip, a));
    entry_free(stack, e);
}

static void entry_timer(struct stack *stack, void *arg)
{
    struct arp_entry *e = arg;
    char ip[16];
    record_timer(stack, "arp", e->state == ARP_REACHABLE ? "cache entry expired" : "ARP retry");
    if (e->state == ARP_REACHABLE) {
        trace(stack, TRACE_ARP, "entry for %s expired", ip_str(e->ip, ip));
        entry_free(stack, e);
    } else if (e->requests_sent >= stack->cfg.arp_max_requests) {
        give_up(stack, e);
    } else {
        send_request(stack, e);
    }
}

/* Learn (or refresh) ip -> mac; send whatever was waiting for it. */
static void learn(struct stack *stack, struct arp_entry *e, const uint8_t mac[6])
{
    memcpy(e->mac, mac, 6);
    e->state = ARP_REACHABLE;
    e->requests_sent = 0;
    e->used_us = stack->now_us;
    stack->stats.arp.cache_updates++;
    timer_arm(stack, &e->timer, (uint64_t)stack->cfg.arp_timeout_ms * 1000);
    struct pkb *pkb;
    while ((pkb = pkb_queue_pop(&e->waiting)))
        eth_output(stack, pkb, e->mac, ETH_TYPE_IPV4);
}

static void drop(struct stack *stack, struct pkb *pkb, uint64_t *counter, const char *why)
{
    (*counter)++;
    record_drop(stack, "arp", why);
    trace(stack, TRACE_ARP, "drop: %s", why);
    pkb_free(pkb);
}

/* RFC 826, "Packet Reception", in its order. */
void arp_input(struct stack *stack, struct pkb *pkb)
{
    /* LAB arp: begin */
    struct arp_stats *st = &stack->stats.arp;
    struct arp_pkt p;
    char a[16], b[16], m[18];

    st->rx_packets++;
    if (arp_parse(pkb->data, pkb->len, &p) < 0)
        return drop(stack, pkb, &st->rx_truncated, "shorter than 28 bytes");
    /* ?Do I have the hardware type in ar$hrd? ?Do I speak the protocol in ar$pro? */
    if (p.htype != 1 || p.ptype != ETH_TYPE_IPV4 || p.hlen != 6 || p.plen != 4)
        return drop(stack, pkb, &st->rx_bad_format, "not Ethernet/IPv4");
    if (p.op != ARP_OP_REQUEST && p.op != ARP_OP_REPLY)
        return drop(stack, pkb, &st->rx_bad_opcode, "unknown opcode");
    if (p.op == ARP_OP_REQUEST) {
        st->requests_rx++;
        trace(stack, TRACE_ARP, "who-has %s tell %s", ip_str(p.tpa, a), ip_str(p.spa, b));
    } else {
        st->replies_rx++;
        trace(stack, TRACE_ARP, "reply %s is-at %s", ip_str(p.spa, a), mac_str(p.sha, m));
    }
    /* Someone else claims our address (RFC 5227 calls it a conflict): never cache it. */
    if (p.spa == stack->cfg.ip) {
        st->rx_conflict++;
        trace(stack, TRACE_ARP, "conflict: %s claims our address %s", mac_str(p.sha, m),
              ip_str(p.spa, a));
        pkb_free(pkb);
        return;
    }
    /* A sender address of 0.0.0.0 is a probe (RFC 5227) and a multicast sender MAC is
     * a lie: neither may enter the cache. */
    bool may_learn = p.spa != 0 && !(p.sha[0] & 1);

    /* ?Is the pair <protocol type, sender protocol address> already in my table?
     * If so, update the sender hardware address and set Merge_flag. */
    struct arp_entry *e = may_learn ? find_entry(stack, p.spa) : NULL;
    bool merged = e != NULL;
    if (e)
        learn(stack, e, p.sha);

    /* ?Am I the target protocol address? */
    if (p.tpa != stack->cfg.ip) {
        if (merged) { /* not for us, but it refreshed what we knew about the sender */
            st->rx_not_for_us++;
            trace(stack, TRACE_ARP, "updated %s is-at %s (target is not us: no reply)",
                  ip_str(p.spa, a), mac_str(p.sha, m));
            pkb_free(pkb);
            return;
        }
        return drop(stack, pkb, &st->rx_not_for_us, "target is not our address");
    }

    /* If Merge_flag is false, add the triplet to the table. */
    if (!merged && may_learn && (e = new_entry(stack, p.spa)))
        learn(stack, e, p.sha);

    /* ?Is the opcode ares_op$REQUEST? Swap fields, put our address in, send the reply. */
    if (p.op == ARP_OP_REQUEST) {
        st->replies_tx++;
        trace(stack, TRACE_ARP, "reply %s is-at %s", ip_str(stack->cfg.ip, a),
              mac_str(stack->cfg.mac, m));
        send_arp(stack, ARP_OP_REPLY, p.sha, p.sha, p.spa);
    }
    pkb_free(pkb);
    /* LAB arp: end */
}

size_t arp_waiting(const struct stack *stack)
{
    size_t n = 0;
    for (unsigned i = 0; i < stack->arp->n_entries; i++)
        n += stack->arp->entries[i].waiting.count;
    return n;
}

bool arp_lookup(struct stack *stack, uint32_t ip, uint8_t mac[6])
{
    struct arp_entry *e = find_entry(stack, ip);
    if (!e || e->state != ARP_REACHABLE)
        return false;
    memcpy(mac, e->mac, 6);
    return true;
}

int arp_resolve(struct stack *stack, uint32_t next_hop, struct pkb *pkb)
{
    /* LAB arp: begin */
    struct arp_entry *e = find_entry(stack, next_hop);
    if (e && e->state == ARP_REACHABLE) {
        e->used_us = stack->now_us; /* in use: not evicted (new_entry) */
        return eth_output(stack, pkb, e->mac, ETH_TYPE_IPV4);
    }

    if (!e) {
        e = new_entry(stack, next_hop);
        if (!e) {
            char ip[16];
            trace(stack, TRACE_ARP, "cache full: cannot resolve %s", ip_str(next_hop, ip));
            pkb_free(pkb);
            return -ENOBUFS;
        }
        e->state = ARP_INCOMPLETE;
        send_request(stack, e);
    }
    /* Still asking: the packet waits. A full queue loses its oldest packet, as Linux does. */
    if (e->waiting.count >= stack->cfg.arp_queue_len) {
        stack->stats.arp.queue_drops++;
        record_drop(stack, "arp", "waiting queue full");
        trace(stack, TRACE_ARP, "waiting queue full: dropping the oldest packet");
        pkb_free(pkb_queue_pop(&e->waiting));
    }
    pkb_queue_push(&e->waiting, pkb);
    return 0;
    /* LAB arp: end */
}
