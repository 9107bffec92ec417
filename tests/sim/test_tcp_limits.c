/* test_tcp_limits.c - a full TCB table does not lock new clients out (issue 14.5).
 *
 * Server B has max_sockets = 4, so at most 8 TCBs. Connections its application closes
 * first leave TIME-WAITs behind; connections closed while the peer keeps its window shut
 * leave orphans. Either may fill the table; a new client must still get in. */
#include "tcp_sim.h"

#define PORT 7

static struct simnet net;
static struct ep cli, srv;
static const uint8_t hello[] = "hello, world\n";

static void setup(void)
{
    struct stack_config a, b;
    simnet_config(&a, 0, 1, 0);
    simnet_config(&b, 1, 1, 0);
    b.max_sockets = 4;    /* 8 TCBs */
    b.tcp_msl_ms = 30000; /* TIME-WAIT of 60 s: it outlives the test */
    a.tcp_rcvbuf = 4096;  /* the client's window shuts soon when it stops reading */
    ck_assert(simnet_init_with(&net, 1, NULL, &a, &b));
    ep_init(&srv, net.b);
    ep_listen(&srv, PORT, 4);
}

static void teardown(void)
{
    simnet_fini(&net);
    ep_free(&cli);
    ep_free(&srv);
}

static bool cli_eof(void *ctx)
{
    (void)ctx;
    return cli.eof;
}

static bool srv_accepted(void *ctx)
{
    const struct ep *c = ctx;
    return c->connected && srv.tcb != NULL;
}

/* A client connects (from local port lport, or any with 0); the server says hello and
 * closes first (TIME-WAIT on B). Within 500 ms: no SYN was retransmitted (the first RTO
 * is 1 s). */
static void server_closes_first_from(uint16_t lport)
{
    ep_free(&cli);
    ep_init(&cli, net.a);
    cli.close_on_eof = true;
    srv.tx = hello;
    srv.tx_len = sizeof(hello);
    srv.tx_off = 0;
    srv.close_after_send = true;
    srv.closed_by_us = false;
    if (lport) {
        cli.tcb = tcp_open(cli.stack);
        ck_assert_ptr_nonnull(cli.tcb);
        tcp_set_upcalls(cli.tcb, &ep_up, &cli);
        ck_assert_int_eq(tcp_bind(cli.tcb, 0, lport), 0);
        ck_assert_int_eq(tcp_connect(cli.tcb, SIM_IP_B, PORT), 0);
    } else {
        ep_connect(&cli, SIM_IP_B, PORT);
    }
    ck_assert(simnet_run(&net, 500000, cli_eof, NULL));
    ck_assert_mem_eq(cli.rx, hello, sizeof(hello));
}

static void server_closes_first(void)
{
    server_closes_first_from(0);
}

START_TEST(time_wait_recycled)
{
    for (int i = 0; i < 12; i++)
        server_closes_first();
    simnet_run(&net, 100000, NULL, NULL);
    const struct tcp_stats *st = &stack_stats(net.b)->tcp;
    ck_assert_uint_eq(st->tcb_limit, 0);
    ck_assert_uint_ge(st->tw_recycled, 12 - 7); /* the listener and 7 TIME-WAITs fit */
    ck_assert_uint_le(tcp_count(net.b), 8);
}
END_TEST

/* A client that reconnects from the port it just used meets the server's TIME-WAIT of
 * that 4-tuple; its SYN is newer (timestamp and sequence number), so the TIME-WAIT ends
 * and the new connection is served at once (RFC 6191; RFC 9293 3.6.1). Without that,
 * the SYN got a challenge ACK, and the client connected only with its retransmission. */
/* conformance: SHLD-4 */
START_TEST(time_wait_reopened_by_newer_syn)
{
    server_closes_first_from(40000);
    simnet_run(&net, 100000, NULL, NULL);   /* the client's last ACK arrives */
    ck_assert_uint_eq(tcp_count(net.b), 2); /* the listener and the TIME-WAIT */
    simnet_run(&net, 1000000, NULL, NULL);  /* a second later: clock and ISN moved on */
    server_closes_first_from(40000);        /* within 500 ms: no SYN sent twice */
    const struct tcp_stats *st = &stack_stats(net.b)->tcp;
    ck_assert_uint_eq(st->tw_reopened, 1);
    ck_assert_uint_eq(st->tw_recycled, 0);
    ck_assert_uint_eq(st->challenge_acks, 0);
    ck_assert_uint_eq(stack_stats(net.a)->tcp.retransmits, 0);
}
END_TEST

/* The server sends more than the stalled client's window takes, then closes: an orphan
 * whose peer answers every zero-window probe with a zero window. */
static uint8_t big[512 * 1024]; /* more than the send buffer and the window take */

static void orphan_with_shut_window(struct ep *c)
{
    ep_init(c, net.a);
    c->stalled = true;
    srv.tx = big;
    srv.tx_len = sizeof(big);
    srv.tx_off = 0;
    srv.close_after_send = false;
    srv.closed_by_us = false;
    ep_connect(c, SIM_IP_B, PORT);
    ck_assert(simnet_run(&net, 500000, srv_accepted, c));
    simnet_run(&net, 500000, NULL, NULL); /* the window shuts */
    ck_assert_uint_lt(srv.tx_off, sizeof(big));
    tcp_close(srv.tcb); /* data still unsent: an orphan */
    srv.tcb = NULL;
}

START_TEST(orphans_bounded)
{
    static struct ep stalled[10]; /* the clients that never read */
    for (int i = 0; i < 10; i++)
        orphan_with_shut_window(&stalled[i]);
    const struct tcp_stats *st = &stack_stats(net.b)->tcp;
    /* 10 orphans do not fit in 8 TCBs with the listener: the oldest were aborted */
    ck_assert_uint_ge(st->orphans_aborted, 3);
    ck_assert_uint_eq(st->tcb_limit, 0);
    /* a new client still gets in */
    server_closes_first();
    /* and an orphan whose peer answers every probe with a zero window gives up: after
     * TCP_ORPHAN_PROBES probes (backing off up to 60 s), not never */
    uint64_t before = st->orphans_aborted;
    simnet_run(&net, 20ull * 60 * 1000000, NULL, NULL);
    ck_assert_uint_gt(st->orphans_aborted, before);
    ck_assert_uint_eq(tcp_count(net.b), 1); /* the listener: the last TIME-WAIT is over too */
    for (int i = 0; i < 10; i++) {
        if (stalled[i].tcb)
            tcp_abort(stalled[i].tcb);
        ep_free(&stalled[i]);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tcp_limits");
    TCase *tc = tcase_create("limits");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, time_wait_recycled);
    tcase_add_test(tc, time_wait_reopened_by_newer_syn);
    tcase_add_test(tc, orphans_bounded);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
