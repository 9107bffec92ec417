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
