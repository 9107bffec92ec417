/* tcp.c - the Transmission Control Protocol (RFC 9293): the TCB and the user's calls.
 *
 * A connection is a TCB (struct tcb in tcp_impl.h). This file creates, finds and frees
 * TCBs, makes every state change (tcp_set_state: the one place a state moves, and the
 * one that traces "LISTEN -> SYN-RECEIVED"), and implements the user calls of RFC 9293
 * 3.10.1-3.10.5: OPEN (tcp_listen, tcp_connect), SEND, RECEIVE, CLOSE, ABORT.
 * What happens when a segment arrives is tcp_input.c; sending and timers are tcp_output.c.
 *
 * Lifetime. The socket owns a TCB from tcp_open() until tcp_close()/tcp_abort(); after
 * that TCP owns it, finishes the connection and frees it once CLOSED. A listener owns
 * its children until tcp_accept() hands them over. While TCP is working on a TCB (a
 * segment, a timer) the TCB is "held": upcalls are collected as bits and delivered when
 * the work is done (tcb_release), and a TCB closed from inside an upcall is only freed
 * after the upcall returns. So an upcall may call any tcp_* function safely.
 */
#include "tcp.h"
#include "bytes.h"
#include "ip.h"
#include "pkb.h"
#include "tcp_impl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EPHEMERAL_FIRST 49152 /* RFC 6335 dynamic ports */
#define EPHEMERAL_COUNT (65536 - EPHEMERAL_FIRST)

/* ---- the byte ring ---- */

uint32_t ring_free(const struct tcp_ring *r)
{
    return r->limit - r->len;
}

/* Copy n bytes into the ring at `off` bytes past head (off + n <= cap: reserve first). */
void ring_write_at(struct tcp_ring *r, uint32_t off, const uint8_t *src, uint32_t n)
{
    uint32_t pos = (r->head + off) % r->cap;
    uint32_t first = r->cap - pos < n ? r->cap - pos : n;
    memcpy(r->buf + pos, src, first);
    memcpy(r->buf, src + first, n - first);
}

void ring_read_at(const struct tcp_ring *r, uint32_t off, uint8_t *dst, uint32_t n)
{
    uint32_t pos = (r->head + off) % r->cap;
    uint32_t first = r->cap - pos < n ? r->cap - pos : n;
    memcpy(dst, r->buf + pos, first);
    memcpy(dst + first, r->buf, n - first);
}

void ring_consume(struct tcp_ring *r, uint32_t n)
{
    if (n == 0)
        return;
    r->head = (r->head + n) % r->cap;
    r->len -= n;
}

#define RING_MIN 4096u /* the first allocation: a few segments */

/* Make room for bytes up to `end` past head (end <= limit): the capacity doubles until it
 * fits. Everything the old ring held (in-order and out-of-order data alike) moves over,
 * unwrapped, so offsets past head stay where they were. */
int tcp_ring_reserve(struct tcb *tcb, struct tcp_ring *r, uint32_t end)
{
    if (end <= r->cap)
        return 0;
    uint32_t cap = r->cap ? r->cap : r->limit < RING_MIN ? r->limit : RING_MIN;
    while (cap < end && cap < r->limit)
        cap = cap > r->limit / 2 ? r->limit : cap * 2;
    if (cap < end)
        cap = end;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        tcb->stack->stats.tcp.buffer_failures++;
        trace(tcb->stack, TRACE_TCP, "buffer of %u bytes: out of memory", cap);
        return -ENOMEM;
    }
    if (r->buf)
        ring_read_at(r, 0, buf, r->cap);
    free(r->buf);
    tcb->stack->stats.tcp.buffer_bytes += cap - r->cap;
    r->buf = buf;
    r->cap = cap;
    r->head = 0;
    return 0;
}

/* An empty ring gives its memory back; the next data allocates again. */
void tcp_ring_release(struct tcb *tcb, struct tcp_ring *r)
{
    tcb->stack->stats.tcp.buffer_bytes -= r->cap;
    free(r->buf);
    r->buf = NULL;
    r->cap = r->head = r->len = 0;
}

#define RING_IDLE_US 200000u /* how long a large emptied ring waits before it goes back */

/* A ring just emptied. A small one (a message or two passed) goes back at once. A large
 * one belongs to a stream in full flow, which empties it often and refills it at once:
 * freeing it each time would grow it again from 4 KiB, copying at every doubling (bulk
 * sending ran at a third of its speed that way). It goes back once the connection has
 * been quiet for RING_IDLE_US (tcp_ring_idle_fire). */
void tcp_ring_drained(struct tcb *tcb, struct tcp_ring *r)
{
    if (r->cap <= RING_MIN)
        tcp_ring_release(tcb, r);
    else if (!timer_armed(&tcb->ring_timer))
        timer_arm(tcb->stack, &tcb->ring_timer, RING_IDLE_US);
}

/* The idle time passed: whatever ring is empty now gives its memory back. */
void tcp_ring_idle_fire(struct stack *stack, void *arg)
{
    struct tcb *tcb = arg;
    (void)stack;
    if (tcb->snd.len == 0)
        tcp_ring_release(tcb, &tcb->snd);
    if (tcb->rcv.len == 0 && tcb->n_ooo == 0)
        tcp_ring_release(tcb, &tcb->rcv);
}

static void ring_size(struct tcp_ring *r, size_t size)
{
    if (size > (1u << 30))
        size = 1u << 30;
    r->limit = (uint32_t)size;
}

/* ---- states ---- */

static const char *const state_names[] = {
    [TCP_CLOSED] = "CLOSED",           [TCP_LISTEN] = "LISTEN",
    [TCP_SYN_SENT] = "SYN-SENT",       [TCP_SYN_RECEIVED] = "SYN-RECEIVED",
    [TCP_ESTABLISHED] = "ESTABLISHED", [TCP_FIN_WAIT_1] = "FIN-WAIT-1",
    [TCP_FIN_WAIT_2] = "FIN-WAIT-2",   [TCP_CLOSE_WAIT] = "CLOSE-WAIT",
    [TCP_CLOSING] = "CLOSING",         [TCP_LAST_ACK] = "LAST-ACK",
    [TCP_TIME_WAIT] = "TIME-WAIT",
};

const char *tcp_state_name(enum tcb_state s)
{
    return state_names[s];
}

const char *tcp_state_name_of(const struct tcb *tcb)
{
    return tcp_state_name(tcb->state);
}

static void unhash(struct tcb *tcb);

/* Every state change goes through here (RFC 9293 figure 5 is the map). While a segment
 * is being processed the change is appended to its trace line; otherwise (a user call,
 * a timer) it gets a line of its own. */
void tcp_set_state(struct tcb *tcb, enum tcb_state s)
{
    struct stack *stack = tcb->stack;
    struct tcp_state *ts = stack->tcp;
    enum tcb_state old = tcb->state;
    if (old == s)
        return;
    tcb->state = s;
    tcp_record(tcb, RECORD_STATE, tcp_state_name(old), tcp_state_name(s));
    if (ts->rx_pending) {
        size_t n = strlen(ts->transitions);
        snprintf(ts->transitions + n, sizeof(ts->transitions) - n, " | %s -> %s",
                 tcp_state_name(old), tcp_state_name(s));
    } else if (stack_trace_enabled(stack, TRACE_TCP)) {
        char a[16], b[16];
        trace(stack, TRACE_TCP, "%s:%u > %s:%u %s -> %s", ip_str(tcb->local_ip, a), tcb->local_port,
              ip_str(tcb->remote_ip, b), tcb->remote_port, tcp_state_name(old), tcp_state_name(s));
    }
    if (s == TCP_ESTABLISHED)
        stack->stats.tcp.established++;
    if (s == TCP_CLOSED) {
        /* The 4-tuple is free again; the TCB itself lives until its owner lets go. */
        unhash(tcb);
        tcp_timers_cancel(tcb);
    }
}

/* ---- trace lines ----
 *
 * Sequence numbers are shown as tshark shows them: relative to the ISN of the side that
 * chose them, so the first data byte is 1 and a SYN's seq is 0 (--trace-absolute shows the
 * raw numbers). A number with no known ISN (a stray segment that belongs to no
 * connection, and our RST answering it) stays raw. */
static uint32_t shown(const struct stack *stack, uint32_t n, bool have_base, uint32_t base)
{
    return have_base && !stack->cfg.trace_absolute ? n - base : n;
}

void tcp_trace_segment(struct stack *stack, const struct tcb *tcb, bool tx, const struct tcp_hdr *h,
                       uint32_t src, uint32_t dst, size_t len, char *buf, size_t size)
{
    struct tcp_state *ts = stack->tcp;
    struct tcp_hdr rel = *h;
    if (tx && tcb) {
        rel.seq = shown(stack, h->seq, true, tcb->iss);
        rel.ack = shown(stack, h->ack, true, tcb->irs);
    } else if (tx) { /* a RST answering the segment in hand: its numbers are the reverse */
        rel.seq = shown(stack, h->seq, ts->have_our_isn, ts->our_isn);
        rel.ack = shown(stack, h->ack, ts->have_peer_isn, ts->peer_isn);
    } else {
        rel.seq = shown(stack, h->seq, ts->have_peer_isn, ts->peer_isn);
        rel.ack = shown(stack, h->ack, ts->have_our_isn, ts->our_isn);
    }
    for (unsigned k = 0; k < rel.opts.n_sack; k++) { /* SACK blocks count like the ACK */
        rel.opts.sack[k].start -= h->ack - rel.ack;
        rel.opts.sack[k].end -= h->ack - rel.ack;
    }
    int n = snprintf(buf, size, "%s ", tx ? "tx" : "rx");
    tcp_format(&rel, src, dst, len, buf + n, size - (size_t)n);
}

uint32_t tcp_trace_seq(const struct tcb *tcb, uint32_t seq)
{
    return shown(tcb->stack, seq, true, tcb->iss);
}

void tcp_trace_conn(const struct tcb *tcb, const char *fmt, ...)
{
    struct stack *stack = tcb->stack;
    if (!stack_trace_enabled(stack, TRACE_TCP))
        return;
    char a[16], b[16], text[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    tcp_trace_flush(stack);
    trace_emit(stack, TRACE_TCP, "%s:%u > %s:%u %s", ip_str(tcb->local_ip, a), tcb->local_port,
               ip_str(tcb->remote_ip, b), tcb->remote_port, text);
}

void tcp_trace_flush(struct stack *stack)
{
    struct tcp_state *ts = stack->tcp;
    if (!ts->rx_pending)
        return;
    ts->rx_pending = false;
    trace(stack, TRACE_TCP, "%s%s", ts->rx_line, ts->transitions);
    ts->transitions[0] = 0;
}

/* ---- finding TCBs: a hash of the 4-tuple, plus a short list of listeners ---- */

static unsigned bucket_of(const struct tcp_state *ts, uint32_t lip, uint16_t lport, uint32_t rip,
                          uint16_t rport)
{
    uint32_t h = (rip ^ lip) * 0x9e3779b1u;
    h ^= ((uint32_t)rport << 16 | lport) * 0x85ebca6bu;
    h ^= h >> 15;
    return (h * 0x2545f491u) >> (32 - ts->hash_bits);
}

void tcp_hash(struct tcb *tcb)
{
    struct tcp_state *ts = tcb->stack->tcp;
    if (tcb->hashed)
        return;
    struct tcb **head;
    tcb->in_listeners = tcb->state == TCP_LISTEN;
    if (tcb->in_listeners)
        head = &ts->listeners;
    else
        head = &ts->buckets[bucket_of(ts, tcb->local_ip, tcb->local_port, tcb->remote_ip,
                                      tcb->remote_port)];
    tcb->hash_next = *head;
    *head = tcb;
    tcb->hashed = true;
}

static void unhash(struct tcb *tcb)
{
    struct tcp_state *ts = tcb->stack->tcp;
    if (!tcb->hashed)
        return;
    struct tcb **pp = &ts->listeners;
    if (!tcb->in_listeners)
        pp = &ts->buckets[bucket_of(ts, tcb->local_ip, tcb->local_port, tcb->remote_ip,
                                    tcb->remote_port)];
    for (; *pp; pp = &(*pp)->hash_next)
        if (*pp == tcb) {
            *pp = tcb->hash_next;
            break;
        }
    tcb->hashed = false;
    tcb->hash_next = NULL;
}

struct tcb *tcp_lookup(struct stack *stack, uint32_t lip, uint16_t lport, uint32_t rip,
                       uint16_t rport)
{
    struct tcb *t = stack->tcp->buckets[bucket_of(stack->tcp, lip, lport, rip, rport)];
    for (; t; t = t->hash_next)
        if (t->local_port == lport && t->remote_port == rport && t->remote_ip == rip &&
            t->local_ip == lip)
            return t;
    return NULL;
}

/* A listener on lport, bound to lip or to any address (the specific one wins). */
struct tcb *tcp_lookup_listener(struct stack *stack, uint32_t lip, uint16_t lport)
{
    struct tcb *any = NULL;
    for (struct tcb *t = stack->tcp->listeners; t; t = t->hash_next) {
        if (t->local_port != lport)
            continue;
        if (t->local_ip == lip)
            return t;
        if (t->local_ip == 0)
            any = t;
    }
    return any;
}

/* ---- RFC 6528 initial sequence numbers ----
 * ISN = M + F(localip, localport, remoteip, remoteport, secretkey), where M ticks every
 * 4 microseconds and F is a keyed hash, here SipHash-2-4 (Aumasson and Bernstein, 2012).
 * An attacker who cannot see our traffic cannot guess the ISN of a connection; a new
 * incarnation of the same 4-tuple still starts above the old one because M moves on. */

static inline uint64_t rotl64(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = rotl64(v1, 13);                                                                       \
        v1 ^= v0;                                                                                  \
        v0 = rotl64(v0, 32);                                                                       \
        v2 += v3;                                                                                  \
        v3 = rotl64(v3, 16);                                                                       \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = rotl64(v3, 21);                                                                       \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = rotl64(v1, 17);                                                                       \
        v1 ^= v2;                                                                                  \
        v2 = rotl64(v2, 32);                                                                       \
    } while (0)

uint64_t tcp_siphash24(const uint64_t k[2], const uint8_t *m, size_t len)
{
    uint64_t v0 = 0x736f6d6570736575ull ^ k[0], v1 = 0x646f72616e646f6dull ^ k[1];
    uint64_t v2 = 0x6c7967656e657261ull ^ k[0], v3 = 0x7465646279746573ull ^ k[1];
    size_t i, whole = len - len % 8;
    for (i = 0; i < whole; i += 8) {
        uint64_t w = 0;
        for (int j = 7; j >= 0; j--)
            w = w << 8 | m[i + (size_t)j]; /* little-endian words */
        v3 ^= w;
        SIPROUND;
        SIPROUND;
        v0 ^= w;
    }
    uint64_t last = (uint64_t)len << 56;
    for (int j = 0; i + (size_t)j < len; j++)
        last |= (uint64_t)m[i + (size_t)j] << (8 * j);
    v3 ^= last;
    SIPROUND;
    SIPROUND;
    v0 ^= last;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

uint32_t tcp_new_isn(struct stack *stack, uint32_t lip, uint16_t lport, uint32_t rip,
                     uint16_t rport)
{
    uint8_t tuple[12];
    put_be32(tuple, lip);
    put_be16(tuple + 4, lport);
    put_be32(tuple + 6, rip);
    put_be16(tuple + 10, rport);
    uint32_t m = (uint32_t)(stack->now_us / 4);
    return m + (uint32_t)tcp_siphash24(stack->tcp->isn_key, tuple, sizeof(tuple));
}

/* ---- creating and freeing ---- */

static unsigned tcb_limit(const struct stack *stack)
{
    /* the sockets' TCBs, plus as many again finishing in the background or not accepted */
    return stack->cfg.max_sockets * 2;
}

/* Is this TCB only finishing in the background (its socket is closed)? */
static bool background(const struct tcb *t)
{
    return t->owner == OWNER_TCP && t->busy == 0 && t->state != TCP_CLOSED;
}

/* The table is full: make room for a new connection rather than refuse it (issue: a
 * table full of TIME-WAITs or of orphans locked every new client out). First choice is
 * the TIME-WAIT closest to its end: it only guards against old duplicates, and Linux,
 * too, drops TIME-WAITs beyond tcp_max_tw_buckets. Else the oldest orphan (a connection
 * its application closed, still sending or closing): it gets a RST, as Linux does with
 * orphans beyond tcp_max_orphans. Connections a socket owns are never taken. A scan of
 * every TCB, but only when the table is full. */
static bool reclaim_one(struct stack *stack)
{
    struct tcb *tw = NULL, *orphan = NULL;
    for (struct tcb *t = stack->tcp->all; t; t = t->all_next) {
        if (!background(t))
            continue;
        if (t->state == TCP_TIME_WAIT) {
            if (!tw || t->wait_timer.when_us < tw->wait_timer.when_us)
                tw = t;
        } else {
            orphan = t; /* the list is newest first: the last one is the oldest */
        }
    }
    struct tcb *victim = tw ? tw : orphan;
    if (!victim)
        return false;
    char a[16];
    tcb_hold(victim);
    if (victim == tw) {
        stack->stats.tcp.tw_recycled++;
        trace(stack, TRACE_TCP, "TCB table full: TIME-WAIT with %s:%u ends early",
              ip_str(victim->remote_ip, a), victim->remote_port);
        tcp_set_state(victim, TCP_CLOSED);
    } else {
        stack->stats.tcp.orphans_aborted++;
        trace(stack, TRACE_TCP, "TCB table full: orphan %s with %s:%u aborted (RST)",
              tcp_state_name(victim->state), ip_str(victim->remote_ip, a), victim->remote_port);
        tcp_send_rst_for(victim);
        tcp_connection_dead(victim, -ECONNABORTED);
    }
    tcb_release(victim); /* frees it */
    return true;
}

static struct tcb *tcb_new(struct stack *stack)
{
    struct tcp_state *ts = stack->tcp;
    if (ts->count >= tcb_limit(stack) && !reclaim_one(stack)) {
        stack->stats.tcp.tcb_limit++;
        trace(stack, TRACE_TCP, "no TCB: limit of %u reached", tcb_limit(stack));
        return NULL;
    }
    struct tcb *tcb = calloc(1, sizeof(*tcb));
    if (!tcb)
        return NULL;
    tcb->stack = stack;
    tcb->state = TCP_CLOSED;
    tcb->owner = OWNER_USER;
    tcb->sndbuf_size = stack->cfg.tcp_sndbuf;
    tcb->rcvbuf_size = stack->cfg.tcp_rcvbuf;
    tcb->rto_us = TCP_RTO_INITIAL_US;
    tcb->smss = TCP_DEFAULT_MSS;
    tcb->rcv_mss = (uint16_t)(stack->cfg.mtu - IP_HDR_LEN - TCP_HDR_LEN);
    tcp_timers_init(tcb);
    tcb->all_next = ts->all;
    if (ts->all)
        ts->all->all_prev = tcb;
    ts->all = tcb;
    ts->count++;
    return tcb;
}

static void tcb_free(struct tcb *tcb)
{
    struct tcp_state *ts = tcb->stack->tcp;
    unhash(tcb);
    tcp_timers_cancel(tcb);
    if (tcb->all_prev)
        tcb->all_prev->all_next = tcb->all_next;
    else
        ts->all = tcb->all_next;
    if (tcb->all_next)
        tcb->all_next->all_prev = tcb->all_prev;
    ts->count--;
    tcp_ring_release(tcb, &tcb->snd);
    tcp_ring_release(tcb, &tcb->rcv);
    free(tcb->ooo);
    tcp_rack_free(tcb);
    free(tcb);
}

/* Free a TCB nobody needs any more: CLOSED, not the socket's, not being worked on. */
static void tcb_maybe_free(struct tcb *tcb)
{
    if (tcb->busy == 0 && tcb->state == TCP_CLOSED && tcb->owner == OWNER_TCP)
        tcb_free(tcb);
}

static int alloc_buffers(struct tcb *tcb)
{
    /* only their sizes: memory comes with the data (tcp_ring_reserve) */
    if (!tcb->snd.limit)
        ring_size(&tcb->snd, tcb->sndbuf_size);
    if (!tcb->rcv.limit)
        ring_size(&tcb->rcv, tcb->rcvbuf_size);
    if (!tcb->ooo) {
        unsigned n = tcb->stack->cfg.tcp_ooo_max ? tcb->stack->cfg.tcp_ooo_max : 1;
        tcb->ooo = calloc(n, sizeof(*tcb->ooo));
        if (!tcb->ooo)
            return -ENOMEM;
    }
    return 0;
}

/* RFC 7323 2.3: the smallest shift that lets the 16-bit field cover the whole buffer. */
uint8_t tcp_wscale_for(uint32_t rcvbuf)
{
    uint8_t s = 0;
    while (s < TCP_MAX_WSCALE && (rcvbuf >> s) > 65535)
        s++;
    return s;
}

void tcp_choose_wscale(struct tcb *tcb)
{
    tcb->rcv_wscale = tcp_wscale_for(tcb->rcv.limit);
}

/* A SYN reached a listener: a new TCB for the connection, in LISTEN like its parent until
 * tcp_input moves it on (so the trace reads LISTEN -> SYN-RECEIVED). NULL when the TCB
 * limit is reached. (With its backlog of half-open connections full, a listener answers
 * with SYN cookies instead: tcp_syncookie.c.) */
struct tcb *tcp_new_child(struct tcb *listener, uint32_t lip, uint32_t rip, uint16_t rport)
{
    struct stack *stack = listener->stack;
    struct tcb *c = tcb_new(stack);
    if (!c)
        return NULL;
    c->sndbuf_size = listener->sndbuf_size;
    c->rcvbuf_size = listener->rcvbuf_size;
    c->nodelay = listener->nodelay;
    tcp_inherit_settings(c, listener);
    if (alloc_buffers(c) < 0) {
        tcb_free(c);
        return NULL;
    }
    c->state = TCP_LISTEN;
    c->owner = OWNER_LISTENER;
    c->parent = listener;
    c->used = c->bound = true;
    c->local_ip = lip;
    c->local_port = listener->local_port;
    c->remote_ip = rip;
    c->remote_port = rport;
    listener->syn_recv_count++;
    return c;
}

/* Take a child off its listener's books (it died, or was accepted). */
static void detach_child(struct tcb *c)
{
    struct tcb *l = c->parent;
    if (!l)
        return;
    if (c->in_acceptq) {
        for (struct tcb **pp = &l->acceptq_head; *pp; pp = &(*pp)->acceptq_next)
            if (*pp == c) {
                *pp = c->acceptq_next;
                break;
            }
        l->acceptq_tail = NULL;
        for (struct tcb *t = l->acceptq_head; t; t = t->acceptq_next)
            l->acceptq_tail = t;
        l->acceptq_len--;
        c->in_acceptq = false;
        c->acceptq_next = NULL;
    } else {
        l->syn_recv_count--;
    }
    c->parent = NULL;
}

bool tcp_child_established(struct tcb *c)
{
    struct tcb *l = c->parent;
    if (!l)
        return true;
    if (l->acceptq_len >= l->backlog) {
        c->stack->stats.tcp.listen_drops++;
        record_drop(c->stack, "tcp", "handshake ACK: accept queue full");
        trace(c->stack, TRACE_TCP, "accept queue full (%u): handshake ACK ignored", l->acceptq_len);
        return false;
    }
    l->syn_recv_count--;
    c->in_acceptq = true;
    c->acceptq_next = NULL;
    if (l->acceptq_tail)
        l->acceptq_tail->acceptq_next = c;
    else
        l->acceptq_head = c;
    l->acceptq_tail = c;
    l->acceptq_len++;
    l->events |= EV_ACCEPTABLE;
    return true;
}

void tcp_connection_dead(struct tcb *tcb, int err)
{
    if (err && !tcb->err) {
        tcb->err = err;
        tcb->events |= EV_ERROR;
    }
    tcp_set_state(tcb, TCP_CLOSED);
    if (tcb->owner == OWNER_LISTENER) {
        detach_child(tcb); /* nobody accepted it: it goes away */
        tcb->owner = OWNER_TCP;
    }
}

/* ---- holding a TCB and delivering upcalls ---- */

void tcb_hold(struct tcb *tcb)
{
    tcb->busy++;
}

static void deliver_events(struct tcb *tcb)
{
    while (tcb->events && tcb->owner == OWNER_USER) {
        unsigned ev = tcb->events;
        tcb->events = 0;
        const struct tcp_upcalls *up = &tcb->up;
        /* each upcall may close the TCB: check the owner before the next one */
        if ((ev & EV_ACCEPTABLE) && up->acceptable)
            up->acceptable(tcb->ctx);
        if ((ev & EV_CONNECTED) && tcb->owner == OWNER_USER && up->connected)
            up->connected(tcb->ctx);
        if ((ev & EV_URGENT) && tcb->owner == OWNER_USER && up->urgent)
            up->urgent(tcb->ctx);
        if ((ev & EV_READABLE) && tcb->owner == OWNER_USER && up->readable)
            up->readable(tcb->ctx);
        if ((ev & EV_WRITABLE) && tcb->owner == OWNER_USER && up->writable)
            up->writable(tcb->ctx);
        if ((ev & EV_PEER_CLOSED) && tcb->owner == OWNER_USER && up->peer_closed)
            up->peer_closed(tcb->ctx);
        if ((ev & EV_ERROR) && tcb->owner == OWNER_USER && up->error)
            up->error(tcb->ctx, tcb->err);
    }
    if (tcb->owner != OWNER_USER)
        tcb->events = 0; /* nobody to tell (not accepted yet, or closed) */
}

/* For pictures of the run (record.h): the connection's identity, its congestion variables
 * and the event. */
void tcp_record(struct tcb *tcb, enum record_kind kind, const char *from, const char *what)
{
    if (!stack_recording(tcb->stack))
        return;
    struct record_event ev = {
        .kind = kind,
        .layer = "tcp",
        .what = what,
        .from = from,
        .conn = {tcb->local_ip, tcb->remote_ip, tcb->local_port, tcb->remote_port},
        .tcp = {tcb->cwnd, tcb->ssthresh, tcb->rto_us, tcb->srtt_us, tcb->snd_max - tcb->snd_una,
                tcb->snd_wnd},
    };
    record_emit(tcb->stack, &ev);
}

void tcb_release(struct tcb *tcb)
{
    if (tcb->busy == 1 && tcb->state >= TCP_ESTABLISHED)
        tcp_record(tcb, RECORD_TCP_VARS, NULL, NULL);
    if (tcb->busy == 1)
        deliver_events(tcb);
    tcb->busy--;
    tcb_maybe_free(tcb);
}

/* ---- receive bursts ---- */

void tcp_burst_begin(struct stack *stack)
{
    stack->tcp->in_burst = true;
}

/* The burst is over: let each application that got data act on it first (an echo
 * server's reply then carries the ACK), then send the ACKs still owed. */
void tcp_burst_end(struct stack *stack)
{
    struct tcp_state *ts = stack->tcp;
    ts->in_burst = false;
    while (ts->ack_batch) {
        struct tcb *tcb = ts->ack_batch;
        ts->ack_batch = tcb->ack_batch_next;
        tcb->in_ack_batch = false;
        deliver_events(tcb); /* our hold keeps the TCB alive through the upcalls */
        if (tcb->state != TCP_CLOSED) {
            tcp_ack_due(tcb);
            tcp_output(tcb);
        }
        tcb_release(tcb);
    }
}

/* ---- start and stop ---- */

/* Bits for about one bucket per TCB the table may hold (see TCP_HASH_MIN_BITS). */
static unsigned hash_bits_for(const struct stack *stack)
{
    unsigned bits = TCP_HASH_MIN_BITS;
    while (bits < TCP_HASH_MAX_BITS && (1ul << bits) < (unsigned long)tcb_limit(stack))
        bits++;
    return bits;
}

int tcp_init(struct stack *stack)
{
    struct tcp_state *ts = calloc(1, sizeof(*ts));
    if (!ts)
        return -ENOMEM;
    ts->hash_bits = hash_bits_for(stack);
    ts->buckets = calloc(1ul << ts->hash_bits, sizeof(*ts->buckets));
    if (!ts->buckets) {
        free(ts);
        return -ENOMEM;
    }
    /* RFC 6528: the key must be secret, or ISNs can be predicted. A real run passes
     * 128 random bits; tests leave it zero and get a key from their seed instead. */
    ts->isn_key[0] = stack->cfg.isn_secret[0];
    ts->isn_key[1] = stack->cfg.isn_secret[1];
    if (!ts->isn_key[0] && !ts->isn_key[1])
        for (int i = 0; i < 4; i++)
            ts->isn_key[i / 2] = ts->isn_key[i / 2] << 32 | stack_random(stack);
    ts->next_ephemeral = (uint16_t)(EPHEMERAL_FIRST + stack_random(stack) % EPHEMERAL_COUNT);
    stack->tcp = ts;
    stack_register_ip_protocol(stack, IP_PROTO_TCP, tcp_input, tcp_error);
    return 0;
}

void tcp_fini(struct stack *stack)
{
    struct tcp_state *ts = stack->tcp;
    if (!ts)
        return;
    while (ts->all)
        tcb_free(ts->all);
    free(ts->buckets);
    free(ts);
    stack->tcp = NULL;
}

unsigned tcp_count(const struct stack *stack)
{
    return stack->tcp ? stack->tcp->count : 0;
}

/* ---- the user calls ---- */

struct tcb *tcp_open(struct stack *stack)
{
    return tcb_new(stack);
}

void tcp_set_upcalls(struct tcb *tcb, const struct tcp_upcalls *up, void *ctx)
{
    if (up)
        tcb->up = *up;
    else
        memset(&tcb->up, 0, sizeof(tcb->up));
    tcb->ctx = ctx;
}

/* Would a socket bound to ip:port take segments another one on that port should get? A
 * listener or a bound, unconnected socket would. A connection would not: it has its whole
 * 4-tuple, and tcp_input() looks that up before any listener. So a LISTEN may share the
 * port of a connection from it, in SYN-SENT or later (RFC 9293 3.9.1, MUST-42): the
 * SYN-ACK for the connection reaches the connection, other SYNs the listener. */
static bool port_in_use(struct stack *stack, uint32_t ip, uint16_t port)
{
    for (struct tcb *t = stack->tcp->all; t; t = t->all_next)
        if (t->bound && t->local_port == port && (!t->local_ip || !ip || t->local_ip == ip) &&
            (t->state == TCP_LISTEN || (t->owner == OWNER_USER && t->remote_port == 0)))
            return true;
    return false;
}

/* Any TCB at all on this port (a connect picks a port nobody uses, so its 4-tuple is new). */
static bool port_used_at_all(struct stack *stack, uint16_t port)
{
    for (struct tcb *t = stack->tcp->all; t; t = t->all_next)
        if (t->bound && t->local_port == port)
            return true;
    return false;
}

int tcp_bind(struct tcb *tcb, uint32_t ip, uint16_t port)
{
    struct stack *stack = tcb->stack;
    if (tcb->bound || tcb->state != TCP_CLOSED)
        return -EINVAL;
    if (ip && !ip_is_local(stack, ip))
        return -EADDRNOTAVAIL;
    if (port == 0) {
        struct tcp_state *ts = stack->tcp;
        for (unsigned i = 0;; i++) {
            if (i == EPHEMERAL_COUNT)
                return -EADDRINUSE;
            uint16_t p = ts->next_ephemeral;
            ts->next_ephemeral = (uint16_t)(p == 65535 ? EPHEMERAL_FIRST : p + 1);
            if (!port_used_at_all(stack, p)) {
                port = p;
                break;
            }
        }
    } else if (port_in_use(stack, ip, port)) {
        return -EADDRINUSE;
    }
    tcb->local_ip = ip;
    tcb->local_port = port;
    tcb->bound = true;
    return 0;
}

/* OPEN, passive (RFC 9293 3.10.1) */
int tcp_listen(struct tcb *tcb, unsigned backlog)
{
    if (tcb->state == TCP_LISTEN) {
        tcb->backlog = backlog ? backlog : 1;
        return 0;
    }
    if (tcb->state != TCP_CLOSED || tcb->used)
        return -EINVAL;
    if (!tcb->bound) {
        int err = tcp_bind(tcb, 0, 0);
        if (err < 0)
            return err;
    }
    tcb->used = true;
    tcb->backlog = backlog ? backlog : 1;
    tcp_set_state(tcb, TCP_LISTEN);
    tcp_hash(tcb);
    return 0;
}

struct tcb *tcp_accept(struct tcb *l)
{
    if (l->state != TCP_LISTEN || !l->acceptq_head)
        return NULL;
    struct tcb *c = l->acceptq_head;
    detach_child(c);
    c->owner = OWNER_USER;
    return c;
}

/* OPEN, active (RFC 9293 3.10.1): choose the ISS, send SYN, enter SYN-SENT. */
int tcp_connect(struct tcb *tcb, uint32_t ip, uint16_t port)
{
    struct stack *stack = tcb->stack;
    uint32_t next_hop;
    if (tcb->state == TCP_SYN_SENT || tcb->state == TCP_SYN_RECEIVED)
        return -EALREADY;
    if (tcb->state != TCP_CLOSED)
        return -EISCONN;
    if (tcb->used)
        return -EINVAL;
    if (!ip || !port || ip_is_broadcast(stack, ip) || (ip >> 28) == 0xe)
        return -EINVAL;
    if (ip_route(stack, ip, &next_hop) < 0)
        return -ENETUNREACH;
    if (!tcb->bound) {
        int err = tcp_bind(tcb, 0, 0);
        if (err < 0)
            return err;
    }
    /* RFC 1122 3.2.1.3 and RFC 9293 MUST-43: the local address of a connection is one
     * host's address, never a broadcast one (bind() accepts it, for listeners). */
    if (tcb->local_ip && ip_is_broadcast(stack, tcb->local_ip)) {
        trace(stack, TRACE_TCP, "connect refused: bound to a broadcast address");
        return -EADDRNOTAVAIL;
    }
    uint32_t lip = tcb->local_ip ? tcb->local_ip : stack->cfg.ip;
    if (tcp_lookup(stack, lip, tcb->local_port, ip, port))
        return -EADDRINUSE;
    if (alloc_buffers(tcb) < 0)
        return -ENOMEM;
    tcb->used = true;
    tcb->local_ip = lip;
    tcb->remote_ip = ip;
    tcb->remote_port = port;
    tcb->iss = tcp_new_isn(stack, lip, tcb->local_port, ip, port);
    tcb->snd_una = tcb->snd_nxt = tcb->snd_max = tcb->iss;
    tcb->snd_base = tcb->iss + 1;
    tcb->recover = tcb->iss;
    tcp_choose_wscale(tcb);
    tcp_cc_init(tcb);
    stack->stats.tcp.active_opens++;
    tcp_set_state(tcb, TCP_SYN_SENT);
    tcp_hash(tcb);
    tcp_send_syn(tcb);
    return 0;
}

static bool can_send_data(const struct tcb *tcb)
{
    switch (tcb->state) {
    case TCP_SYN_SENT:
    case TCP_SYN_RECEIVED:
        return !tcb->close_after_estab;
    case TCP_ESTABLISHED:
    case TCP_CLOSE_WAIT:
        return !tcb->fin_queued;
    default:
        return false;
    }
}

/* SEND (RFC 9293 3.10.2): copy into the send ring; tcp_output decides when it leaves. */
ssize_t tcp_send(struct tcb *tcb, const void *buf, size_t len)
{
    if (!can_send_data(tcb)) {
        if (tcb->err)
            return tcb->err;
        if (tcb->state == TCP_CLOSED || tcb->state == TCP_LISTEN)
            return -ENOTCONN;
        return -EPIPE; /* we said FIN already */
    }
    uint32_t room = ring_free(&tcb->snd);
    if (room == 0)
        return -EAGAIN;
    uint32_t n = len < room ? (uint32_t)len : room;
    if (tcp_ring_reserve(tcb, &tcb->snd, tcb->snd.len + n) < 0)
        return -ENOMEM;
    ring_write_at(&tcb->snd, tcb->snd.len, buf, n);
    tcb->snd.len += n;
    if (tcb->state != TCP_SYN_SENT && tcb->state != TCP_SYN_RECEIVED)
        tcp_output(tcb);
    return (ssize_t)n;
}

/* RECEIVE (RFC 9293 3.10.3): copy out of the receive ring; a reader that frees enough
 * room gets a window update sent at once, so a stalled sender wakes up. */
ssize_t tcp_recv(struct tcb *tcb, void *buf, size_t len)
{
    uint32_t n = tcb->rcv.len < len ? tcb->rcv.len : (uint32_t)len;
    n = tcp_urgent_clip(tcb, n); /* stop at the urgent mark; skip the urgent byte */
    if (n == 0) {
        if (len == 0)
            return 0;
        if (tcb->fin_rcvd)
            return 0; /* end of stream */
        if (tcb->err)
            return tcb->err;
        if (tcb->state == TCP_CLOSED || tcb->state == TCP_LISTEN)
            return -ENOTCONN;
        return -EAGAIN;
    }
    ring_read_at(&tcb->rcv, 0, buf, n);
    ring_consume(&tcb->rcv, n);
    if (tcb->rcv.len == 0 && tcb->n_ooo == 0)
        tcp_ring_drained(tcb, &tcb->rcv); /* all read: an idle connection holds no buffer */
    if (tcb->state != TCP_CLOSED)
        tcp_window_update(tcb);
    return (ssize_t)n;
}

/* No more sending: FIN after the queued data (a half-close; RFC 9293 3.10.4 for one
 * direction). */
int tcp_shutdown(struct tcb *tcb)
{
    switch (tcb->state) {
    case TCP_SYN_SENT:
    case TCP_SYN_RECEIVED:
        tcb->close_after_estab = true; /* FIN once ESTABLISHED */
        return 0;
    case TCP_ESTABLISHED:
        tcb->fin_queued = true;
        tcp_set_state(tcb, TCP_FIN_WAIT_1);
        tcp_output(tcb);
        return 0;
    case TCP_CLOSE_WAIT:
        tcb->fin_queued = true;
        tcp_set_state(tcb, TCP_LAST_ACK);
        tcp_output(tcb);
        return 0;
    case TCP_CLOSED:
    case TCP_LISTEN:
        return tcb->err ? tcb->err : -ENOTCONN;
    default:
        return 0; /* FIN already queued */
    }
}

/* A listener going away takes its unaccepted children with it (with a RST, as Linux). */
static void close_children(struct tcb *l)
{
    struct tcb *t = l->stack->tcp->all;
    while (t) {
        struct tcb *next = t->all_next;
        if (t->parent == l) {
            tcp_send_rst_for(t);
            tcp_connection_dead(t, 0);
            tcb_maybe_free(t);
        }
        t = next;
    }
}

/* CLOSE (RFC 9293 3.10.4). From here on the TCB is TCP's: it finishes the connection and
 * frees itself; no upcall reaches the former owner. */
int tcp_close(struct tcb *tcb)
{
    memset(&tcb->up, 0, sizeof(tcb->up));
    tcb->ctx = NULL;
    tcb->events = 0;
    tcb->owner = OWNER_TCP;
    switch (tcb->state) {
    case TCP_LISTEN:
        close_children(tcb);
        tcp_set_state(tcb, TCP_CLOSED);
        break;
    case TCP_SYN_SENT:
        tcp_set_state(tcb, TCP_CLOSED); /* "delete the TCB" */
        break;
    case TCP_ESTABLISHED:
    case TCP_CLOSE_WAIT:
        if (tcb->rcv.len > 0) {
            /* Data the user never read would be lost silently: tell the peer with a RST
             * instead of a FIN (RFC 2525 2.17, and what Linux does). */
            tcp_send_rst_for(tcb);
            tcp_set_state(tcb, TCP_CLOSED);
            break;
        }
        tcp_shutdown(tcb);
        break;
    case TCP_SYN_RECEIVED:
        tcb->close_after_estab = true;
        break;
    case TCP_FIN_WAIT_2:
        /* The peer might never send its FIN; an orphan does not wait forever (Linux's
         * tcp_fin_timeout; RFC 9293 sets no limit). */
        timer_arm(tcb->stack, &tcb->wait_timer, 2ull * tcb->stack->cfg.tcp_msl_ms * 1000);
        break;
    default:
        break;
    }
    tcb_maybe_free(tcb);
    return 0;
}

/* ABORT (RFC 9293 3.10.5): RST to the peer if it thinks we are connected, then gone. */
void tcp_abort(struct tcb *tcb)
{
    memset(&tcb->up, 0, sizeof(tcb->up));
    tcb->ctx = NULL;
    tcb->events = 0;
    switch (tcb->state) {
    case TCP_SYN_RECEIVED:
    case TCP_ESTABLISHED:
    case TCP_FIN_WAIT_1:
    case TCP_FIN_WAIT_2:
    case TCP_CLOSE_WAIT:
        tcp_send_rst_for(tcb);
        break;
    case TCP_LISTEN:
        close_children(tcb);
        break;
    default:
        break;
    }
    detach_child(tcb);
    tcp_set_state(tcb, TCP_CLOSED);
    tcb->owner = OWNER_TCP;
    tcb_maybe_free(tcb);
}

int tcp_set_nodelay(struct tcb *tcb, bool on)
{
    tcb->nodelay = on;
    if (on && tcb->snd.len && tcb->state != TCP_CLOSED)
        tcp_output(tcb);
    return 0;
}

/* 0 leaves a size as it is. The send buffer can change at any time (not below what it
 * holds); the receive buffer only before the handshake, since the window scale we
 * announce in our SYN depends on it. */
int tcp_set_bufsize(struct tcb *tcb, size_t sndbuf, size_t rcvbuf)
{
    if (rcvbuf && rcvbuf != tcb->rcvbuf_size) {
        if (tcb->rcv.limit)
            return -EISCONN;
        tcb->rcvbuf_size = rcvbuf < 2048 ? 2048 : rcvbuf;
    }
    if (sndbuf) {
        if (sndbuf < 2048)
            sndbuf = 2048;
        if (tcb->snd.limit) {
            if (sndbuf < tcb->snd.len)
                return -EINVAL;
            ring_size(&tcb->snd, sndbuf); /* the memory follows on the next write */
        }
        tcb->sndbuf_size = sndbuf;
    }
    return 0;
}

size_t tcp_send_space(const struct tcb *tcb)
{
    if (!can_send_data(tcb))
        return 0;
    return tcb->snd.limit ? ring_free(&tcb->snd) : tcb->sndbuf_size;
}

size_t tcp_send_pending(const struct tcb *tcb)
{
    return tcb->snd.len;
}

void tcp_local(const struct tcb *tcb, uint32_t *ip, uint16_t *port)
{
    *ip = tcb->local_ip ? tcb->local_ip : tcb->stack->cfg.ip;
    *port = tcb->local_port;
}

int tcp_peer(const struct tcb *tcb, uint32_t *ip, uint16_t *port)
{
    if (!tcb->remote_port)
        return -ENOTCONN;
    *ip = tcb->remote_ip;
    *port = tcb->remote_port;
    return 0;
}

int tcp_error_of(const struct tcb *tcb)
{
    return tcb->err;
}
