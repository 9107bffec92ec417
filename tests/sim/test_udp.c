/* test_udp.c - UDP through the socket API between two stacks on the simulated wire.
 *
 * A (10.0.0.1) and B (10.0.0.2) exchange datagrams under a fake clock (simnet_run), so
 * every run is the same. What is checked is what an application sees -- on_readable and
 * on_error events, what sock_recvfrom returns -- and the counters that explain it.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../stack/bytes.h"
#include "../../stack/ip.h"
#include "../../stack/sock.h"
#include "simnet.h"

#define SECOND 1000000u

/* One socket and what happened to it. */
struct endpoint {
    struct sock *s;
    int readable;       /* on_readable events */
    int errors;         /* on_error events */
    int last_error;     /* the err of the last one */
    bool close_on_read; /* close the socket from inside on_readable */
};

static void on_readable(struct sock *s, void *ctx)
{
    struct endpoint *e = ctx;
    e->readable++;
    if (e->close_on_read) {
        sock_close(s);
        e->s = NULL;
    }
}

static void on_error(struct sock *s, int err, void *ctx)
{
    struct endpoint *e = ctx;
    (void)s;
    e->errors++;
    e->last_error = err;
}

static const struct sock_events events = {.on_readable = on_readable, .on_error = on_error};

/* A UDP socket on `stack`, bound to port (0: an ephemeral one at the first send). */
static void endpoint_open(struct endpoint *e, struct stack *stack, uint16_t port)
{
    memset(e, 0, sizeof(*e));
    e->s = sock_open(stack, SOCK_TYPE_UDP);
    ck_assert_ptr_nonnull(e->s);
    sock_on(e->s, &events, e);
    if (port)
        ck_assert_int_eq(sock_bind(e->s, 0, port), 0);
}

/* done() conditions for simnet_run */
struct wait {
    struct endpoint *e;
    int readable, errors;
};
static bool reached(void *ctx)
{
    struct wait *w = ctx;
    return w->e->readable >= w->readable && w->e->errors >= w->errors;
}
static bool wait_readable(struct simnet *n, struct endpoint *e, int count)
{
    struct wait w = {.e = e, .readable = count};
    return simnet_run(n, 2 * SECOND, reached, &w);
}
static bool wait_error(struct simnet *n, struct endpoint *e, int count)
{
    struct wait w = {.e = e, .errors = count};
    return simnet_run(n, 2 * SECOND, reached, &w);
}

static void fill_pattern(uint8_t *buf, size_t len, uint32_t seed)
{
    for (size_t i = 0; i < len; i++) {
        seed = seed * 1103515245u + 12345u;
        buf[i] = (uint8_t)(seed >> 16);
    }
}

/* ---- datagrams both ways ---- */

START_TEST(test_datagrams_both_ways)
{
    struct simnet n;
    ck_assert(simnet_init(&n, 1, NULL, 0));
    struct endpoint a, b;
    endpoint_open(&a, n.a, 5000);
    endpoint_open(&b, n.b, 6000);

    ck_assert_int_eq(sock_sendto(a.s, "ping from A", 11, SIM_IP_B, 6000), 11);
    ck_assert(wait_readable(&n, &b, 1));
    uint8_t buf[128];
    uint32_t ip = 0;
    uint16_t port = 0;
    ck_assert_int_eq(sock_recvfrom(b.s, buf, sizeof(buf), &ip, &port), 11);
    ck_assert_mem_eq(buf, "ping from A", 11);
    ck_assert_uint_eq(ip, SIM_IP_A);
    ck_assert_uint_eq(port, 5000);
    ck_assert_int_eq(sock_recvfrom(b.s, buf, sizeof(buf), &ip, &port), -EAGAIN);

    ck_assert_int_eq(sock_sendto(b.s, "pong from B", 11, ip, port), 11);
    ck_assert(wait_readable(&n, &a, 1));
    ck_assert_int_eq(sock_recvfrom(a.s, buf, sizeof(buf), &ip, &port), 11);
    ck_assert_mem_eq(buf, "pong from B", 11);
    ck_assert_uint_eq(ip, SIM_IP_B);
    ck_assert_uint_eq(port, 6000);

    /* datagram boundaries are kept: ten of sizes 0, 100, ..., 900 arrive as ten */
    for (int i = 0; i < 10; i++) {
        uint8_t d[900];
        fill_pattern(d, sizeof(d), (uint32_t)i);
        ck_assert_int_eq(sock_sendto(a.s, d, (size_t)i * 100, SIM_IP_B, 6000), i * 100);
    }
    ck_assert(wait_readable(&n, &b, 11));
    for (int i = 0; i < 10; i++) {
        uint8_t want[900], got[1000];
        fill_pattern(want, sizeof(want), (uint32_t)i);
        ck_assert_int_eq(sock_recvfrom(b.s, got, sizeof(got), NULL, NULL), i * 100);
        ck_assert_mem_eq(got, want, (size_t)i * 100);
    }
    ck_assert_int_eq(sock_recvfrom(b.s, buf, sizeof(buf), NULL, NULL), -EAGAIN);
    ck_assert_int_eq(b.readable, 11); /* one event per datagram */

    ck_assert_uint_eq(stack_stats(n.a)->udp.tx_datagrams, 11);
    ck_assert_uint_eq(stack_stats(n.b)->udp.rx_datagrams, 11);
    ck_assert_uint_eq(stack_stats(n.b)->udp.tx_datagrams, 1);
    ck_assert_uint_eq(stack_stats(n.a)->udp.rx_datagrams, 1);
    simnet_fini(&n);
}
END_TEST

/* An unbound socket gets an ephemeral port (RFC 6335 range) at its first send. */
/* conformance: UDP-4.1.3.5-3 UDP-4.1.3.5-4 */
START_TEST(test_ephemeral_source_port)
{
    struct simnet n;
    ck_assert(simnet_init(&n, 2, NULL, 0));
    struct endpoint a, b;
    endpoint_open(&a, n.a, 0);
    endpoint_open(&b, n.b, 6000);
    ck_assert_int_eq(sock_sendto(a.s, "x", 1, SIM_IP_B, 6000), 1);
    uint32_t lip;
    uint16_t lport;
    sock_local(a.s, &lip, &lport);
    ck_assert_uint_eq(lip, SIM_IP_A);
    ck_assert_uint_ge(lport, 49152);

    ck_assert(wait_readable(&n, &b, 1));
    uint8_t buf[8];
    uint16_t port;
    ck_assert_int_eq(sock_recvfrom(b.s, buf, sizeof(buf), NULL, &port), 1);
    ck_assert_uint_eq(port, lport);
    simnet_fini(&n);
}
END_TEST

/* A connected socket sends with sock_send and hears only its peer; a datagram from
 * anyone else finds no socket and is refused with ICMP, as on Linux. */
START_TEST(test_connected_socket)
{
    struct simnet n;
    ck_assert(simnet_init(&n, 3, NULL, 0));
    struct endpoint a, b, other;
    endpoint_open(&a, n.a, 5000);
    endpoint_open(&b, n.b, 6000);
    endpoint_open(&other, n.b, 6001);
    ck_assert_int_eq(sock_connect(a.s, SIM_IP_B, 6000), 0);
    uint32_t pip;
    uint16_t pport;
    ck_assert_int_eq(sock_peer(a.s, &pip, &pport), 0);
    ck_assert_uint_eq(pip, SIM_IP_B);
    ck_assert_uint_eq(pport, 6000);
    ck_assert_int_eq(sock_peer(b.s, &pip, &pport), -ENOTCONN);

    ck_assert_int_eq(sock_send(a.s, "hello", 5), 5);
    ck_assert(wait_readable(&n, &b, 1));
    uint8_t buf[16];
    ck_assert_int_eq(sock_recv(b.s, buf, sizeof(buf)), 5);
    ck_assert_mem_eq(buf, "hello", 5);

    ck_assert_int_eq(sock_sendto(b.s, "from 6000", 9, SIM_IP_A, 5000), 9);
    ck_assert(wait_readable(&n, &a, 1));
    ck_assert_int_eq(sock_recv(a.s, buf, sizeof(buf)), 9);

    ck_assert_int_eq(sock_sendto(other.s, "from 6001", 9, SIM_IP_A, 5000), 9);
    ck_assert(wait_error(&n, &other, 1));
    ck_assert_int_eq(other.last_error, -ECONNREFUSED);
    ck_assert_int_eq(a.readable, 1);
    ck_assert_uint_eq(stack_stats(n.a)->udp.rx_no_port, 1);
    simnet_fini(&n);
}
END_TEST

/* A datagram to ourselves goes through the loopback queue, not the wire. */
START_TEST(test_loopback)
{
    struct simnet n;
    ck_assert(simnet_init(&n, 4, NULL, 0));
    struct endpoint x, y;
    endpoint_open(&x, n.a, 5000);
    endpoint_open(&y, n.a, 5001);
    uint64_t sent_before = wire_stats(n.wire)->sent;
    ck_assert_int_eq(sock_sendto(x.s, "me", 2, SIM_IP_A, 5001), 2);
    ck_assert(wait_readable(&n, &y, 1));
    uint8_t buf[8];
    uint16_t port;
    ck_assert_int_eq(sock_recvfrom(y.s, buf, sizeof(buf), NULL, &port), 2);
    ck_assert_uint_eq(port, 5000);
    ck_assert_uint_eq(wire_stats(n.wire)->sent, sent_before);
    simnet_fini(&n);
}
END_TEST

/* recvfrom(2) semantics: a short buffer gets the start of the datagram, the rest is lost. */
START_TEST(test_short_buffer_truncates)
{
    struct simnet n;
    ck_assert(simnet_init(&n, 5, NULL, 0));
    struct endpoint a, b;
    endpoint_open(&a, n.a, 5000);
    endpoint_open(&b, n.b, 6000);
    uint8_t d[100];
    fill_pattern(d, sizeof(d), 7);
    ck_assert_int_eq(sock_sendto(a.s, d, sizeof(d), SIM_IP_B, 6000), 100);
    ck_assert_int_eq(sock_sendto(a.s, "next", 4, SIM_IP_B, 6000), 4);
    ck_assert(wait_readable(&n, &b, 2));
    uint8_t buf[10];
    ck_assert_int_eq(sock_recvfrom(b.s, buf, sizeof(buf), NULL, NULL), 10);
    ck_assert_mem_eq(buf, d, 10);
    ck_assert_int_eq(sock_recvfrom(b.s, buf, sizeof(buf), NULL, NULL), 4);
    ck_assert_mem_eq(buf, "next", 4);
    simnet_fini(&n);
}
END_TEST

/* ---- large datagrams: IP fragmentation and reassembly ---- */

static void send_large(uint32_t seed, size_t len, uint64_t fragments)
{
    struct simnet n;
    ck_assert(simnet_init(&n, seed, NULL, 0));
    struct endpoint a, b;
    endpoint_open(&a, n.a, 5000);
    endpoint_open(&b, n.b, 6000);
    uint8_t *d = malloc(len), *got = malloc(65536);
    ck_assert(d && got);
    fill_pattern(d, len, seed);

    ck_assert_int_eq(sock_sendto(a.s, d, len, SIM_IP_B, 6000), (ssize_t)len);
    /* 8 + len bytes of UDP in pieces of 1480 (MTU 1500 - 20, a multiple of 8) */
    ck_assert_uint_eq(stack_stats(n.a)->ip.tx_fragments, fragments);
    ck_assert_msg(wait_readable(&n, &b, 1), "no datagram after reassembly (reasm_ok=%llu)",
                  (unsigned long long)stack_stats(n.b)->ip.reasm_ok);
    ck_assert_uint_eq(stack_stats(n.b)->ip.rx_fragments, fragments);
    ck_assert_uint_eq(stack_stats(n.b)->ip.reasm_ok, 1);
    uint32_t ip;
    uint16_t port;
    ck_assert_int_eq(sock_recvfrom(b.s, got, 65536, &ip, &port), (ssize_t)len);
    ck_assert(memcmp(got, d, len) == 0);
    ck_assert_uint_eq(port, 5000);
    ck_assert_uint_eq(stack_stats(n.b)->udp.rx_bad_checksum, 0);

    /* and back: B echoes it, A reassembles */
    ck_assert_int_eq(sock_sendto(b.s, got, len, ip, port), (ssize_t)len);
    ck_assert(wait_readable(&n, &a, 1));
    memset(got, 0, 65536);
    ck_assert_int_eq(sock_recvfrom(a.s, got, 65536, NULL, NULL), (ssize_t)len);
    ck_assert(memcmp(got, d, len) == 0);
    free(d);
    free(got);
    simnet_fini(&n);
}

/* conformance: IP-3.3.3-1 IP-3.3.3-2 */
START_TEST(test_20000_byte_datagram)
{
    send_large(6, 20000, 14); /* 20008 = 13 * 1480 + 768 */
}
END_TEST

START_TEST(test_largest_datagram)
{
    send_large(7, 65507, 45); /* 65515 = 44 * 1480 + 395: IP's total length is full */
    struct simnet n;
    ck_assert(simnet_init(&n, 8, NULL, 0));
    struct endpoint a;
    endpoint_open(&a, n.a, 5000);
    static uint8_t d[65508];
    ck_assert_int_eq(sock_sendto(a.s, d, sizeof(d), SIM_IP_B, 6000), -EMSGSIZE);
    simnet_fini(&n);
}
END_TEST

/* ---- closed ports ---- */

START_TEST(test_closed_port_refused)
{
    struct simnet n;
    ck_assert(simnet_init(&n, 9, NULL, 0));
    struct endpoint a, b;
    endpoint_open(&a, n.a, 5000);
    ck_assert_int_eq(sock_sendto(a.s, "anyone?", 7, SIM_IP_B, 9999), 7);
    ck_assert(wait_error(&n, &a, 1));
    ck_assert_int_eq(a.last_error, -ECONNREFUSED);
    ck_assert_int_eq(a.readable, 0);
    uint8_t buf[16];
    ck_assert_int_eq(sock_recvfrom(a.s, buf, sizeof(buf), NULL, NULL), -ECONNREFUSED);
    ck_assert_int_eq(sock_recvfrom(a.s, buf, sizeof(buf), NULL, NULL), -EAGAIN); /* once */

    ck_assert_uint_eq(stack_stats(n.b)->udp.rx_no_port, 1);
    ck_assert_uint_eq(stack_stats(n.b)->icmp.dest_unreach_tx, 1);
    ck_assert_uint_eq(stack_stats(n.a)->icmp.dest_unreach_rx, 1);

    /* the error is not fatal: once someone listens, the same socket gets through */
    endpoint_open(&b, n.b, 9999);
    ck_assert_int_eq(sock_sendto(a.s, "now?", 4, SIM_IP_B, 9999), 4);
    ck_assert(wait_readable(&n, &b, 1));
    ck_assert_int_eq(sock_recvfrom(b.s, buf, sizeof(buf), NULL, NULL), 4);
    ck_assert_int_eq(a.errors, 1);
    simnet_fini(&n);
}
END_TEST

/* A datagram to the subnet broadcast reaches a socket on the port, and for a closed
 * port draws no ICMP (RFC 1122 3.2.2). */
/* conformance: IP-3.3.6-2 IP-3.3.6-4 IP-3.2.1.3-5 */
START_TEST(test_broadcast)
{
    struct simnet n;
    ck_assert(simnet_init(&n, 10, NULL, 0));
    struct endpoint a, b;
    endpoint_open(&a, n.a, 5000);
    endpoint_open(&b, n.b, 6000);
    ck_assert_int_eq(sock_sendto(a.s, "all", 3, 0x0a0000ff, 6000), 3);
    ck_assert(wait_readable(&n, &b, 1));
    ck_assert_int_eq(sock_sendto(a.s, "all", 3, 0x0a0000ff, 9999), 3);
    simnet_run(&n, SECOND, NULL, NULL);
    ck_assert_uint_eq(stack_stats(n.b)->udp.rx_no_port, 1);
    ck_assert_uint_eq(stack_stats(n.b)->icmp.dest_unreach_tx, 0);
    ck_assert_uint_eq(stack_stats(n.b)->icmp.errors_suppressed, 1);
    ck_assert_int_eq(a.errors, 0);

    /* a socket bound to the broadcast address still sends from our own address: a
     * broadcast source is discarded by every receiver (RFC 1122 3.2.1.3) */
    struct endpoint c;
    endpoint_open(&c, n.a, 0);
    ck_assert_int_eq(sock_bind(c.s, 0x0a0000ff, 5001), 0);
    ck_assert_int_eq(sock_sendto(c.s, "from bcast-bound", 16, SIM_IP_B, 6000), 16);
    ck_assert(wait_readable(&n, &b, 2));
    uint8_t buf[32];
    uint32_t ip;
    uint16_t port;
    ck_assert_int_eq(sock_recvfrom(b.s, buf, sizeof(buf), NULL, NULL), 3);
    ck_assert_int_eq(sock_recvfrom(b.s, buf, sizeof(buf), &ip, &port), 16);
    ck_assert_uint_eq(ip, SIM_IP_A);
    ck_assert_uint_eq(port, 5001);
    ck_assert_uint_eq(stack_stats(n.b)->ip.rx_bad_source, 0);
    simnet_fini(&n);
}
END_TEST

/* The application chooses the local address: a socket bound to the subnet broadcast
 * address gets the datagrams sent to it, not those sent to our own address. */
/* conformance: IP-3.3.4.2-2 UDP-4.1.3.5-2 */
START_TEST(test_bound_address_filters)
{
    struct simnet n;
    ck_assert(simnet_init(&n, 11, NULL, 0));
    struct endpoint a, d;
    endpoint_open(&a, n.a, 5000);
    endpoint_open(&d, n.b, 0);
    ck_assert_int_eq(sock_bind(d.s, 0x0a0000ff, 7000), 0);
    ck_assert_int_eq(sock_sendto(a.s, "unicast", 7, SIM_IP_B, 7000), 7);
    simnet_run(&n, SECOND, NULL, NULL);
    ck_assert_uint_eq(stack_stats(n.b)->udp.rx_no_port, 1);
    ck_assert_int_eq(sock_sendto(a.s, "all", 3, 0x0a0000ff, 7000), 3);
    ck_assert(wait_readable(&n, &d, 1));
    uint8_t buf[16];
    ck_assert_int_eq(sock_recvfrom(d.s, buf, sizeof(buf), NULL, NULL), 3);
    ck_assert_mem_eq(buf, "all", 3);
    simnet_fini(&n);
}
END_TEST

/* A datagram reassembled from fragments to a closed port is refused like any other. */
START_TEST(test_large_datagram_to_closed_port)
{
    struct simnet n;
    ck_assert(simnet_init(&n, 18, NULL, 0));
    struct endpoint a;
    endpoint_open(&a, n.a, 5000);
    static uint8_t d[20000];
    ck_assert_int_eq(sock_sendto(a.s, d, sizeof(d), SIM_IP_B, 9999), 20000);
    ck_assert(wait_error(&n, &a, 1));
    ck_assert_int_eq(a.last_error, -ECONNREFUSED);
    ck_assert_uint_eq(stack_stats(n.b)->ip.reasm_ok, 1);
    ck_assert_uint_eq(stack_stats(n.b)->udp.rx_no_port, 1);
    simnet_fini(&n);
}
END_TEST

/* ---- binding ---- */

/* conformance: IP-3.3.4.2-2 UDP-4.1.3.5-2 */
START_TEST(test_bind_errors)
{
    struct simnet n;
    ck_assert(simnet_init(&n, 11, NULL, 0));
    struct sock *s1 = sock_open(n.b, SOCK_TYPE_UDP), *s2 = sock_open(n.b, SOCK_TYPE_UDP);
    ck_assert(s1 && s2);
    ck_assert_int_eq(sock_bind(s1, 0, 7000), 0);
    ck_assert_int_eq(sock_bind(s2, 0, 7000), -EADDRINUSE);
    ck_assert_int_eq(sock_bind(s2, SIM_IP_B, 7000), -EADDRINUSE); /* wildcard covers it */
    ck_assert_int_eq(sock_bind(s2, 0x0a000003, 7001), -EADDRNOTAVAIL);
    ck_assert_int_eq(sock_bind(s1, 0, 7002), -EINVAL); /* already bound */

    /* the other way round: a specific bind first, then the wildcard */
    struct sock *s3 = sock_open(n.b, SOCK_TYPE_UDP);
    ck_assert_int_eq(sock_bind(s3, SIM_IP_B, 7100), 0);
    ck_assert_int_eq(sock_bind(s2, 0, 7100), -EADDRINUSE);
    /* the same port on the other stack is another host's business */
    struct sock *sa = sock_open(n.a, SOCK_TYPE_UDP);
    ck_assert_int_eq(sock_bind(sa, 0, 7000), 0);

    /* closing frees the port */
    ck_assert_int_eq(sock_close(s1), 0);
    ck_assert_int_eq(sock_bind(s2, 0, 7000), 0);
    simnet_fini(&n);
}
END_TEST

START_TEST(test_ephemeral_ports_distinct)
{
    enum { N = 500 };
    struct simnet n;
    ck_assert(simnet_init(&n, 12, NULL, 0));
    static uint8_t seen[65536];
    memset(seen, 0, sizeof(seen));
    struct sock *fixed = sock_open(n.b, SOCK_TYPE_UDP);
    for (int i = 0; i < N; i++) {
        struct sock *s = sock_open(n.b, SOCK_TYPE_UDP);
        ck_assert_ptr_nonnull(s);
        if (i == N / 2) { /* a port taken explicitly is skipped when its turn comes */
            uint32_t ip;
            uint16_t last;
            ck_assert_int_eq(sock_bind(s, 0, 0), 0);
            sock_local(s, &ip, &last);
            uint16_t next = (uint16_t)(last == 65535 ? 49152 : last + 1);
            ck_assert_int_eq(sock_bind(fixed, 0, next), 0);
            seen[last] = seen[next] = 1;
            continue;
        }
        ck_assert_int_eq(sock_bind(s, 0, 0), 0);
        uint32_t ip;
        uint16_t port;
        sock_local(s, &ip, &port);
        ck_assert_uint_ge(port, 49152);
        ck_assert_msg(!seen[port], "port %u handed out twice", port);
        seen[port] = 1;
    }
    simnet_fini(&n); /* releases all N sockets */
}
END_TEST

/* ---- the receive queue bound ---- */

START_TEST(test_receive_queue_bound)
{
    struct simnet n;
    ck_assert(simnet_init(&n, 13, NULL, 0));
    struct endpoint a, b;
    endpoint_open(&a, n.a, 5000);
    endpoint_open(&b, n.b, 6000);
    ck_assert_int_eq(sock_setopt(b.s, SOCK_OPT_RCVBUF, 4), 0);
    ck_assert_int_eq(sock_setopt(b.s, SOCK_OPT_RCVBUF, 0), -EINVAL);
    for (int i = 0; i < 10; i++) {
        char d[24];
        snprintf(d, sizeof(d), "dgram%d", i);
        ck_assert_int_eq(sock_sendto(a.s, d, strlen(d), SIM_IP_B, 6000), (ssize_t)strlen(d));
    }
    simnet_run(&n, SECOND, NULL, NULL); /* everything has arrived; b reads nothing */
    ck_assert_uint_eq(stack_stats(n.b)->udp.rx_datagrams, 10);
    ck_assert_uint_eq(stack_stats(n.b)->udp.rx_queue_full, 6);
    ck_assert_int_eq(b.readable, 4);
    for (int i = 0; i < 4; i++) { /* the first four, in order */
        char want[24], got[24];
        snprintf(want, sizeof(want), "dgram%d", i);
        ck_assert_int_eq(sock_recvfrom(b.s, got, sizeof(got), NULL, NULL), 6);
        ck_assert_mem_eq(got, want, 6);
    }
    uint8_t buf[16];
    ck_assert_int_eq(sock_recvfrom(b.s, buf, sizeof(buf), NULL, NULL), -EAGAIN);

    /* drained, it takes datagrams again */
    ck_assert_int_eq(sock_sendto(a.s, "again", 5, SIM_IP_B, 6000), 5);
    ck_assert(wait_readable(&n, &b, 5));
    ck_assert_int_eq(sock_recvfrom(b.s, buf, sizeof(buf), NULL, NULL), 5);
    ck_assert_uint_eq(stack_stats(n.b)->udp.rx_queue_full, 6);
    simnet_fini(&n);
}
END_TEST

/* The default bound comes from stack_config.udp_rcvq_len. */
START_TEST(test_receive_queue_default_from_config)
{
    struct simnet n;
    struct stack_config ca, cb;
    simnet_config(&ca, 0, 14, 0);
    simnet_config(&cb, 1, 14, 0);
    cb.udp_rcvq_len = 8;
    ck_assert(simnet_init_with(&n, 14, NULL, &ca, &cb));
    struct endpoint a, b;
    endpoint_open(&a, n.a, 5000);
    endpoint_open(&b, n.b, 6000);
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(sock_sendto(a.s, "q", 1, SIM_IP_B, 6000), 1);
    simnet_run(&n, SECOND, NULL, NULL);
    ck_assert_uint_eq(stack_stats(n.b)->udp.rx_queue_full, 12);
    ck_assert_int_eq(b.readable, 8);
    simnet_fini(&n); /* the 8 queued datagrams are freed with the socket */
}
END_TEST

/* ---- corruption: what gets through is exactly what was sent ---- */

START_TEST(test_corrupted_wire)
{
    struct simnet n;
    ck_assert(simnet_init(&n, 15, NULL, 0));
    struct endpoint a, b;
    endpoint_open(&a, n.a, 5000);
    endpoint_open(&b, n.b, 6000);
    /* resolve ARP on a clean wire first: ARP has no checksum of its own (a real link's FCS
     * protects it), so a damaged reply would teach A a wrong MAC for B */
    ck_assert_int_eq(sock_sendto(a.s, "hi", 2, SIM_IP_B, 6000), 2);
    ck_assert(wait_readable(&n, &b, 1));
    uint8_t hi[4];
    ck_assert_int_eq(sock_recvfrom(b.s, hi, sizeof(hi), NULL, NULL), 2);
    struct wire_impairments imp = {.corrupt_pct = 30};
    wire_set_impairments(n.wire, &imp);
    int delivered = 0;
    for (int i = 0; i < 300; i++) {
        uint8_t d[200], got[300];
        fill_pattern(d, sizeof(d), (uint8_t)i); /* byte 0 names the pattern */
        d[0] = (uint8_t)i;
        ck_assert_int_eq(sock_sendto(a.s, d, sizeof(d), SIM_IP_B, 6000), 200);
        simnet_run(&n, 10000, NULL, NULL);
        ssize_t r;
        while ((r = sock_recvfrom(b.s, got, sizeof(got), NULL, NULL)) != -EAGAIN) {
            ck_assert_int_eq(r, 200);
            uint8_t want[200];
            fill_pattern(want, sizeof(want), got[0]);
            want[0] = got[0];
            ck_assert_msg(memcmp(got, want, 200) == 0, "datagram %u delivered damaged", got[0]);
            delivered++;
        }
    }
    const struct stack_stats *sb = stack_stats(n.b);
    ck_assert_uint_gt(wire_stats(n.wire)->corrupted, 50);
    ck_assert_uint_gt(sb->udp.rx_bad_checksum, 0); /* some damage reached UDP */
    ck_assert_int_gt(delivered, 150);
    /* every datagram UDP saw ("hi" included) was delivered intact or dropped and counted */
    ck_assert_uint_eq(sb->udp.rx_datagrams, 1 + (uint64_t)delivered + sb->udp.rx_bad_checksum +
                                                sb->udp.rx_no_port + sb->udp.rx_bad_length +
                                                sb->udp.rx_truncated);
    simnet_fini(&n);
}
END_TEST

/* ---- lifetime ---- */

/* sock.h promises a callback may close its own socket. The datagrams still on the wire
 * then find the port closed. */
START_TEST(test_close_inside_callback)
{
    struct simnet n;
    ck_assert(simnet_init(&n, 16, NULL, 0));
    struct endpoint a, b;
    endpoint_open(&a, n.a, 5000);
    endpoint_open(&b, n.b, 6000);
    b.close_on_read = true;
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(sock_sendto(a.s, "bye", 3, SIM_IP_B, 6000), 3);
    simnet_run(&n, SECOND, NULL, NULL);
    ck_assert_int_eq(b.readable, 1);
    ck_assert_ptr_null(b.s);
    ck_assert_uint_eq(stack_stats(n.b)->udp.rx_no_port, 4);
    ck_assert_int_ge(a.errors, 1);
    ck_assert_uint_eq(stack_stats(n.b)->sock.opened, stack_stats(n.b)->sock.closed);
    simnet_fini(&n);
}
END_TEST

/* Sockets left open with queued datagrams and a pending error are freed by
 * stack_destroy (ASan's leak checker watches this); the socket limit is enforced and
 * closing makes room again. */
START_TEST(test_sockets_freed)
{
    struct simnet n;
    struct stack_config ca, cb;
    simnet_config(&ca, 0, 17, 0);
    simnet_config(&cb, 1, 17, 0);
    ca.max_sockets = 8;
    ck_assert(simnet_init_with(&n, 17, NULL, &ca, &cb));
    struct sock *s[8];
    for (int i = 0; i < 8; i++) {
        s[i] = sock_open(n.a, SOCK_TYPE_UDP);
        ck_assert_ptr_nonnull(s[i]);
    }
    ck_assert_ptr_null(sock_open(n.a, SOCK_TYPE_UDP)); /* the limit */
    ck_assert_int_eq(sock_close(s[7]), 0);
    s[7] = sock_open(n.a, SOCK_TYPE_UDP);
    ck_assert_ptr_nonnull(s[7]);
    for (int round = 0; round < 1000; round++) { /* open and close, nothing accumulates */
        ck_assert_int_eq(sock_close(s[7]), 0);
        s[7] = sock_open(n.a, SOCK_TYPE_UDP);
        ck_assert_ptr_nonnull(s[7]);
        ck_assert_int_eq(sock_bind(s[7], 0, 0), 0);
    }
    ck_assert_uint_eq(stack_stats(n.a)->sock.opened - stack_stats(n.a)->sock.closed, 8);

    struct endpoint b, c = {0};
    endpoint_open(&b, n.b, 6000);
    sock_on(s[0], &events, &c); /* so its error is observed */
    ck_assert_int_eq(sock_bind(s[0], 0, 5000), 0);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(sock_sendto(s[0], "kept", 4, SIM_IP_B, 6000), 4);
    ck_assert_int_eq(sock_sendto(s[0], "refused", 7, SIM_IP_B, 9999), 7);
    simnet_run(&n, SECOND, NULL, NULL);
    ck_assert_int_eq(b.readable, 3); /* three datagrams left queued in b */
    ck_assert_int_eq(c.errors, 1);   /* and an error pending on s[0] */
    simnet_fini(&n);
}
END_TEST

/* ---- IP fields and options through the socket (RFC 1122 3.2.1.8, 3.4, 4.1.3.2, 4.1.4) ---- */

/* The IPv4 datagrams A put on the wire: Ethernet header, IP header and options. */
struct sent_dgram {
    uint8_t eth[14];
    struct ip_hdr h;
    uint8_t options[IP_OPTS_MAX];
};
static struct sent_dgram sent[8];
static size_t n_sent;

static bool record_from_a(void *ctx, int side, const uint8_t *f, size_t len)
{
    (void)ctx;
    if (side != 0 || len < 14 + IP_HDR_LEN || get_be16(f + 12) != 0x0800 || n_sent >= 8)
        return false;
    struct sent_dgram *d = &sent[n_sent];
    if (ip_parse(f + 14, len - 14, &d->h) != IP_OK)
        return false;
    memcpy(d->eth, f, 14);
    memcpy(d->options, d->h.options, d->h.ihl * 4u - IP_HDR_LEN);
    d->h.options = d->options;
    n_sent++;
    return false;
}

static void open_recording(struct simnet *n, uint32_t seed, struct endpoint *a, struct endpoint *b)
{
    ck_assert(simnet_init(n, seed, NULL, 0));
    n_sent = 0;
    wire_set_filter(n->wire, record_from_a, NULL);
    endpoint_open(a, n->a, 5000);
    endpoint_open(b, n->b, 6000);
}

/* One empty Record Route slot: routers (none here) would fill it. */
static const uint8_t record_route[] = {IPOPT_RR, 7, 4, 0, 0, 0, 0};
/* Router Alert (RFC 2113): an option with the "copied" flag, for every fragment. */
static const uint8_t router_alert[] = {0x94, 4, 0, 0};

/* The application sets TTL, TOS and options for one datagram; they go down to IP and on
 * the wire, and the receiving application gets them all back with the address the
 * datagram was sent to (ours, or the broadcast address). */
/* conformance: UDP-4.1.3.2-1 UDP-4.1.3.2-2 UDP-4.1.4-2 UDP-4.1.3.5-1 IP-3.2.1.6-2 IP-3.2.1.6-3 */
START_TEST(test_ip_fields_per_datagram)
{
    struct simnet n;
    struct endpoint a, b;
    open_recording(&n, 21, &a, &b);
    struct sock_msg m = {.dst_ip = SIM_IP_B,
                         .dst_port = 6000,
                         .set = SOCK_MSG_TTL | SOCK_MSG_TOS | SOCK_MSG_OPTIONS,
                         .ttl = 7,
                         .tos = 0xb8,
                         .options_len = sizeof(record_route)};
    memcpy(m.options, record_route, sizeof(record_route));
    ck_assert_int_eq(sock_sendmsg(a.s, "with options", 12, &m), 12);
    ck_assert(wait_readable(&n, &b, 1));

    uint8_t padded[8] = {IPOPT_RR, 7, 4, 0, 0, 0, 0, IPOPT_EOL};
    ck_assert_uint_eq(n_sent, 1);
    ck_assert_uint_eq(sent[0].h.ihl, 7); /* 20 + 8 bytes */
    ck_assert_uint_eq(sent[0].h.ttl, 7);
    ck_assert_uint_eq(sent[0].h.tos, 0xb8);
    ck_assert_mem_eq(sent[0].options, padded, 8);

    struct sock_msg got;
    uint8_t buf[64];
    memset(&got, 0xee, sizeof(got));
    ck_assert_int_eq(sock_recvmsg(b.s, buf, sizeof(buf), &got), 12);
    ck_assert_mem_eq(buf, "with options", 12);
    ck_assert_uint_eq(got.src_ip, SIM_IP_A);
    ck_assert_uint_eq(got.src_port, 5000);
    ck_assert_uint_eq(got.dst_ip, SIM_IP_B);
    ck_assert_uint_eq(got.dst_port, 6000);
    ck_assert_uint_eq(got.ttl, 7);
    ck_assert_uint_eq(got.tos, 0xb8);
    ck_assert_uint_eq(got.options_len, 8);
    ck_assert_mem_eq(got.options, padded, 8);

    /* the next plain datagram has the socket's fields again: no options, TTL 64, TOS 0 */
    ck_assert_int_eq(sock_sendto(a.s, "plain", 5, SIM_IP_B, 6000), 5);
    ck_assert(wait_readable(&n, &b, 2));
    ck_assert_int_eq(sock_recvmsg(b.s, buf, sizeof(buf), &got), 5);
    ck_assert_uint_eq(got.ttl, 64);
    ck_assert_uint_eq(got.tos, 0);
    ck_assert_uint_eq(got.options_len, 0);
    ck_assert_uint_eq(sent[1].h.ihl, 5);
    /* RFC 1122 3.2.1.6: no link-layer mapping of TOS: the same Ethernet header for both */
    ck_assert_mem_eq(sent[0].eth, sent[1].eth, 14);

    /* a broadcast: the application learns which address it was sent to */
    ck_assert_int_eq(sock_sendto(a.s, "all", 3, 0x0a0000ff, 6000), 3);
    ck_assert(wait_readable(&n, &b, 3));
    ck_assert_int_eq(sock_recvmsg(b.s, buf, sizeof(buf), &got), 3);
    ck_assert_uint_eq(got.dst_ip, 0x0a0000ff);
    ck_assert_uint_eq(got.src_ip, SIM_IP_A);
    simnet_fini(&n);
}
END_TEST

/* TTL, TOS and options set once on the socket go with every datagram; a datagram may
 * still say otherwise. */
/* conformance: UDP-4.1.4-1 IP-3.2.1.6-1 IP-3.2.1.7-3 */
START_TEST(test_ip_fields_per_socket)
{
    struct simnet n;
    struct endpoint a, b;
    open_recording(&n, 22, &a, &b);
    ck_assert_int_eq(sock_setopt(a.s, SOCK_OPT_TTL, 3), 0);
    ck_assert_int_eq(sock_setopt(a.s, SOCK_OPT_TOS, 0x20), 0);
    ck_assert_int_eq(sock_set_ip_options(a.s, router_alert, sizeof(router_alert)), 0);
    ck_assert_int_eq(sock_setopt(a.s, SOCK_OPT_TTL, 256), -EINVAL);
    ck_assert_int_eq(sock_setopt(a.s, SOCK_OPT_TOS, -1), -EINVAL);

    ck_assert_int_eq(sock_sendto(a.s, "one", 3, SIM_IP_B, 6000), 3);
    struct sock_msg m = {.dst_ip = SIM_IP_B, .dst_port = 6000, .set = SOCK_MSG_OPTIONS};
    ck_assert_int_eq(sock_sendmsg(a.s, "two", 3, &m), 3); /* this one without options */
    ck_assert_int_eq(sock_set_ip_options(a.s, NULL, 0), 0);
    ck_assert_int_eq(sock_setopt(a.s, SOCK_OPT_TTL, 0), 0); /* the stack's again */
    ck_assert_int_eq(sock_sendto(a.s, "three", 5, SIM_IP_B, 6000), 5);
    ck_assert(wait_readable(&n, &b, 3));

    struct sock_msg got;
    uint8_t buf[16];
    ck_assert_int_eq(sock_recvmsg(b.s, buf, sizeof(buf), &got), 3);
    ck_assert_uint_eq(got.ttl, 3);
    ck_assert_uint_eq(got.tos, 0x20);
    ck_assert_uint_eq(got.options_len, 4);
    ck_assert_mem_eq(got.options, router_alert, 4);
    ck_assert_int_eq(sock_recvmsg(b.s, buf, sizeof(buf), &got), 3);
    ck_assert_uint_eq(got.ttl, 3);
    ck_assert_uint_eq(got.options_len, 0);
    ck_assert_int_eq(sock_recvmsg(b.s, buf, sizeof(buf), &got), 5);
    ck_assert_uint_eq(got.ttl, 64);
    ck_assert_uint_eq(got.tos, 0x20);
    ck_assert_uint_eq(got.options_len, 0);
    ck_assert_uint_eq(n_sent, 3);
    ck_assert_uint_eq(sent[0].h.ihl, 6);
    simnet_fini(&n);
}
END_TEST

/* Only well-formed options of at most 40 bytes go out, never a source route (left out on
 * purpose, so never two in one header) nor the obsolete Stream Identifier. */
/* conformance: IP-3.2.1.8b-1 IP-3.2.1.8c-4 */
START_TEST(test_ip_options_refused)
{
    struct simnet n;
    struct endpoint a, b;
    open_recording(&n, 23, &a, &b);
    static const uint8_t sid[] = {IPOPT_SID, 4, 0, 1};
    static const uint8_t lsrr[] = {IPOPT_LSRR, 7, 4, 10, 0, 0, 9};
    static const uint8_t two_ssrr[] = {IPOPT_SSRR, 7, 4, 10, 0, 0, 9, IPOPT_NOP,
                                       IPOPT_SSRR, 7, 4, 10, 0, 0, 8, IPOPT_NOP};
    static const uint8_t past_end[] = {IPOPT_RR, 9, 4, 0};
    static const uint8_t short_len[] = {0x94, 1, 0, 0};
    static const uint8_t bad_pointer[] = {IPOPT_RR, 7, 2, 0, 0, 0, 0};
    static const uint8_t bad_ts_flag[] = {IPOPT_TS, 8, 5, 2, 0, 0, 0, 0};
    uint8_t too_long[41];
    memset(too_long, IPOPT_NOP, sizeof(too_long));
    const struct {
        const uint8_t *o;
        size_t len;
    } bad[] = {{sid, sizeof(sid)},
               {lsrr, sizeof(lsrr)},
               {two_ssrr, sizeof(two_ssrr)},
               {past_end, sizeof(past_end)},
               {short_len, sizeof(short_len)},
               {bad_pointer, sizeof(bad_pointer)},
               {bad_ts_flag, sizeof(bad_ts_flag)},
               {too_long, sizeof(too_long)}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_eq(sock_set_ip_options(a.s, bad[i].o, bad[i].len), -EINVAL);
        struct sock_msg m = {.dst_ip = SIM_IP_B,
                             .dst_port = 6000,
                             .set = SOCK_MSG_OPTIONS,
                             .options_len = (uint8_t)bad[i].len};
        memcpy(m.options, bad[i].o, bad[i].len < 40 ? bad[i].len : 40);
        ck_assert_int_eq(sock_sendmsg(a.s, "x", 1, &m), -EINVAL);
    }
    simnet_run(&n, SECOND, NULL, NULL);
    ck_assert_uint_eq(n_sent, 0);
    ck_assert_int_eq(b.readable, 0);
    /* 40 bytes of NOPs are fine */
    ck_assert_int_eq(sock_set_ip_options(a.s, too_long, 40), 0);
    ck_assert_int_eq(sock_sendto(a.s, "x", 1, SIM_IP_B, 6000), 1);
    ck_assert(wait_readable(&n, &b, 1));
    ck_assert_uint_eq(sent[0].h.ihl, 15);
    simnet_fini(&n);
}
END_TEST

/* RFC 791: the first fragment carries every option, the others only the "copied" ones;
 * the receiver hands the application the first fragment's. */
/* conformance: IP-3.2.1.8-1 IP-3.2.1.8-2 IP-3.4-1 IP-3.4-3 UDP-4.1.3.2-3 */
START_TEST(test_fragments_copy_options)
{
    struct simnet n;
    struct endpoint a, b;
    open_recording(&n, 24, &a, &b);
    struct sock_msg m = {.dst_ip = SIM_IP_B, .dst_port = 6000, .set = SOCK_MSG_OPTIONS};
    memcpy(m.options, record_route, sizeof(record_route));
    m.options[7] = IPOPT_NOP;
    memcpy(m.options + 8, router_alert, sizeof(router_alert));
    m.options_len = 12;
    static uint8_t data[3000], got_data[3100];
    fill_pattern(data, sizeof(data), 24);
    ck_assert_int_eq(sock_sendmsg(a.s, data, sizeof(data), &m), 3000);
    ck_assert(wait_readable(&n, &b, 1));

    ck_assert_uint_eq(n_sent, 3);
    ck_assert_uint_eq(sent[0].h.ihl, 8);
    ck_assert_mem_eq(sent[0].options, m.options, 12);
    for (int i = 1; i < 3; i++) {
        ck_assert_uint_eq(sent[i].h.ihl, 6);
        ck_assert_mem_eq(sent[i].options, router_alert, 4);
        ck_assert_uint_le(sent[i].h.total_len, 1500);
    }
    ck_assert_uint_eq(sent[0].h.total_len, 32 + 1464); /* 1500 - 32, down to a multiple of 8 */
    struct sock_msg got;
    ck_assert_int_eq(sock_recvmsg(b.s, got_data, sizeof(got_data), &got), 3000);
    ck_assert_mem_eq(got_data, data, 3000);
    ck_assert_uint_eq(got.options_len, 12);
    ck_assert_mem_eq(got.options, m.options, 12);
    simnet_fini(&n);
}
END_TEST

static Suite *udp_suite(void)
{
    Suite *s = suite_create("udp-sim");
    TCase *tc = tcase_create("datagrams");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_datagrams_both_ways);
    tcase_add_test(tc, test_ephemeral_source_port);
    tcase_add_test(tc, test_connected_socket);
    tcase_add_test(tc, test_loopback);
    tcase_add_test(tc, test_short_buffer_truncates);
    tcase_add_test(tc, test_closed_port_refused);
    tcase_add_test(tc, test_broadcast);
    tcase_add_test(tc, test_bound_address_filters);
    tcase_add_test(tc, test_corrupted_wire);
    suite_add_tcase(s, tc);

    TCase *frag = tcase_create("fragmentation");
    tcase_set_timeout(frag, 30);
    tcase_add_test(frag, test_20000_byte_datagram);
    tcase_add_test(frag, test_largest_datagram);
    tcase_add_test(frag, test_large_datagram_to_closed_port);
    suite_add_tcase(s, frag);

    TCase *res = tcase_create("resources");
    tcase_set_timeout(res, 30);
    tcase_add_test(res, test_bind_errors);
    tcase_add_test(res, test_ephemeral_ports_distinct);
    tcase_add_test(res, test_receive_queue_bound);
    tcase_add_test(res, test_receive_queue_default_from_config);
    tcase_add_test(res, test_close_inside_callback);
    tcase_add_test(res, test_sockets_freed);
    suite_add_tcase(s, res);

    TCase *ipf = tcase_create("ip_fields");
    tcase_set_timeout(ipf, 30);
    tcase_add_test(ipf, test_ip_fields_per_datagram);
    tcase_add_test(ipf, test_ip_fields_per_socket);
    tcase_add_test(ipf, test_ip_options_refused);
    tcase_add_test(ipf, test_fragments_copy_options);
    suite_add_tcase(s, ipf);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(udp_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
