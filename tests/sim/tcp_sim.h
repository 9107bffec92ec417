/* tcp_sim.h - helpers for the TCP sim tests: an application endpoint driving a TCB
 * through tcp.h directly (no sockets), and a way to inject hand-made segments.
 *
 * An endpoint sends `tx` (then shuts down if asked), collects what it receives in `rx`,
 * and records the upcalls it saw. Everything runs inside the upcalls, as a real
 * event-driven application would.
 */
#ifndef TAPIR_TCP_SIM_H
#define TAPIR_TCP_SIM_H

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../stack/ip.h"
#include "../../stack/pkb.h"
#include "../../stack/tcp.h"
#include "../../stack/tcp_impl.h"
#include "../../stack/tcp_seg.h"
#include "simnet.h"

struct ep {
    struct stack *stack;
    struct tcb *tcb;
    struct tcb *listener; /* set on a server endpoint until it accepts */
    const uint8_t *tx;
    size_t tx_len, tx_off;
    bool shut_after_send, shut_done, close_after_send;
    uint8_t *rx;
    size_t rx_len, rx_cap;
    bool stalled; /* do not read */
    bool close_on_eof, close_on_error;
    int err;
    bool connected, peer_closed, eof, closed_by_us;
    unsigned readable_calls, writable_calls;
};

static inline void ep_push(struct ep *e)
{
    while (e->tcb && e->tx_off < e->tx_len) {
        ssize_t n = tcp_send(e->tcb, e->tx + e->tx_off, e->tx_len - e->tx_off);
        if (n <= 0)
            break;
        e->tx_off += (size_t)n;
    }
    if (e->tcb && e->tx_off == e->tx_len && e->shut_after_send && !e->shut_done) {
        e->shut_done = true;
        tcp_shutdown(e->tcb);
    }
    if (e->tcb && e->tx_off == e->tx_len && e->close_after_send && !e->closed_by_us) {
        e->closed_by_us = true;
        tcp_close(e->tcb);
        e->tcb = NULL;
    }
}

static inline void ep_drain(struct ep *e)
{
    while (e->tcb && !e->stalled) {
        if (e->rx_cap - e->rx_len < 65536) {
            e->rx_cap = e->rx_cap ? e->rx_cap * 2 : 1 << 20;
            e->rx = realloc(e->rx, e->rx_cap);
        }
        ssize_t n = tcp_recv(e->tcb, e->rx + e->rx_len, e->rx_cap - e->rx_len);
        if (n > 0) {
            e->rx_len += (size_t)n;
            continue;
        }
        if (n == 0) {
            e->eof = true;
            if (e->close_on_eof && !e->closed_by_us) {
                e->closed_by_us = true;
                tcp_close(e->tcb);
                e->tcb = NULL;
            }
        }
        break;
    }
}

static void ep_connected(void *ctx)
{
    struct ep *e = ctx;
    e->connected = true;
    ep_push(e);
}
static void ep_readable(void *ctx)
{
    struct ep *e = ctx;
    e->readable_calls++;
    ep_drain(e);
}
static void ep_writable(void *ctx)
{
    struct ep *e = ctx;
    e->writable_calls++;
    ep_push(e);
}
static void ep_peer_closed(void *ctx)
{
    struct ep *e = ctx;
    e->peer_closed = true;
}
static void ep_error(void *ctx, int err)
{
    struct ep *e = ctx;
    e->err = err;
    if (e->close_on_error && e->tcb) {
        e->closed_by_us = true;
        tcp_close(e->tcb); /* closing from inside the upcall must be safe */
        e->tcb = NULL;
    }
}
__attribute__((unused)) static const struct tcp_upcalls ep_up = {
    .connected = ep_connected,
    .readable = ep_readable,
    .writable = ep_writable,
    .peer_closed = ep_peer_closed,
    .error = ep_error,
};

static void ep_acceptable(void *ctx)
{
    struct ep *e = ctx;
    if (e->tcb)
        return; /* one connection per server endpoint */
    struct tcb *c = tcp_accept(e->listener);
    if (!c)
        return;
    e->tcb = c;
    e->connected = true;
    tcp_set_upcalls(c, &ep_up, e);
    ep_push(e);
    ep_drain(e); /* data may have come before we accepted */
}
__attribute__((unused)) static const struct tcp_upcalls listener_up = {.acceptable = ep_acceptable};

static inline void ep_init(struct ep *e, struct stack *stack)
{
    memset(e, 0, sizeof(*e));
    e->stack = stack;
}

static inline void ep_free(struct ep *e)
{
    free(e->rx);
    e->rx = NULL;
}

/* A listener on `port` whose first connection goes to e. */
static inline void ep_listen(struct ep *e, uint16_t port, unsigned backlog)
{
    e->listener = tcp_open(e->stack);
    ck_assert_ptr_nonnull(e->listener);
    tcp_set_upcalls(e->listener, &listener_up, e);
    ck_assert_int_eq(tcp_bind(e->listener, 0, port), 0);
    ck_assert_int_eq(tcp_listen(e->listener, backlog), 0);
}

static inline void ep_connect(struct ep *e, uint32_t ip, uint16_t port)
{
    e->tcb = tcp_open(e->stack);
    ck_assert_ptr_nonnull(e->tcb);
    tcp_set_upcalls(e->tcb, &ep_up, e);
    ck_assert_int_eq(tcp_connect(e->tcb, ip, port), 0);
}

static inline void fill_pattern(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

/* Hand a TCP segment from src:sport to dst:dport, with options `opts` (NULL: none),
 * straight to `stack`'s IP input, as if it had come off the wire. */
/* A TCP segment in an IP datagram, as a packet for ip_input (NULL when out of memory). */
static inline struct pkb *segment_pkb(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
                                      uint32_t seq, uint32_t ack, uint8_t flags, uint16_t wnd,
                                      const struct tcp_opts *opts, const void *data, size_t len)
{
    uint8_t buf[IP_HDR_LEN + TCP_HDR_MAX_LEN + 1500];
    struct tcp_hdr h;
    memset(&h, 0, sizeof(h));
    if (opts)
        h.opts = *opts;
    h.sport = sport;
    h.dport = dport;
    h.seq = seq;
    h.ack = ack;
    h.flags = flags;
    h.wnd = wnd;
    size_t hl = tcp_build(&h, buf + IP_HDR_LEN);
    if (len)
        memcpy(buf + IP_HDR_LEN + hl, data, len);
    tcp_set_checksum(buf + IP_HDR_LEN, hl + len, src, dst);
    struct ip_hdr ih;
    memset(&ih, 0, sizeof(ih));
    ih.version = 4;
    ih.ihl = 5;
    ih.total_len = (uint16_t)(IP_HDR_LEN + hl + len);
    ih.ttl = 64;
    ih.proto = IP_PROTO_TCP;
    ih.src = src;
    ih.dst = dst;
    ip_build(&ih, buf);
    return pkb_from_bytes(buf, ih.total_len);
}

static inline void inject_segment_opts(struct stack *stack, uint32_t src, uint16_t sport,
                                       uint32_t dst, uint16_t dport, uint32_t seq, uint32_t ack,
                                       uint8_t flags, uint16_t wnd, const struct tcp_opts *opts,
                                       const void *data, size_t len)
{
    ip_input(stack, segment_pkb(src, sport, dst, dport, seq, ack, flags, wnd, opts, data, len));
}

/* The same without options (for RST / SYN injection). */
static inline void inject_segment(struct stack *stack, uint32_t src, uint16_t sport, uint32_t dst,
                                  uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
                                  uint16_t wnd, const void *data, size_t len)
{
    inject_segment_opts(stack, src, sport, dst, dport, seq, ack, flags, wnd, NULL, data, len);
}

#endif
