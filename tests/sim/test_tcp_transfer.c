/* test_tcp_transfer.c - TCP data transfer over the simulated wire: byte-exact in both
 * directions through loss, duplication and reordering; flow control with a stalled
 * receiver (persist probes); congestion control reacting to loss. */
#include "tcp_sim.h"

#define PORT 9
#define MiB  (1024 * 1024)

static struct simnet net;
static struct ep cli, srv;
static uint8_t *data_ab, *data_ba;

static void teardown(void)
{
    simnet_fini(&net);
    ep_free(&cli);
    ep_free(&srv);
    free(data_ab);
    free(data_ba);
    data_ab = data_ba = NULL;
}

static bool both_connected(void *ctx)
{
    (void)ctx;
    return cli.connected && srv.tcb && srv.connected;
}

static void open_connection(uint32_t seed, const struct wire_impairments *imp)
{
    ck_assert(simnet_init(&net, seed, imp, 0));
    ep_init(&cli, net.a);
    ep_init(&srv, net.b);
    ep_listen(&srv, PORT, 4);
    ep_connect(&cli, SIM_IP_B, PORT);
    ck_assert(simnet_run(&net, 60000000, both_connected, NULL));
    tcp_close(srv.listener);
}

static bool both_done(void *ctx)
{
    (void)ctx;
    return cli.eof && srv.eof;
}

static bool all_gone(void *ctx)
{
    (void)ctx;
    return tcp_count(net.a) == 0 && tcp_count(net.b) == 0;
}

/* 1 MiB each way at once, each side shutting down when done, then closing at EOF. */
static void transfer_both_ways(uint32_t seed, const struct wire_impairments *imp)
{
    open_connection(seed, imp);
    data_ab = malloc(MiB);
    data_ba = malloc(MiB);
    fill_pattern(data_ab, MiB, seed);
    fill_pattern(data_ba, MiB, seed + 1000);
    cli.tx = data_ab;
    srv.tx = data_ba;
    cli.tx_len = srv.tx_len = MiB;
    cli.shut_after_send = srv.shut_after_send = true;
    ep_push(&cli);
    ep_push(&srv);
    ck_assert_msg(simnet_run(&net, 600000000ull, both_done, NULL),
                  "seed %u: transfer did not finish (a got %zu, b got %zu)", seed, cli.rx_len,
                  srv.rx_len);
    ck_assert_uint_eq(srv.rx_len, MiB);
    ck_assert_uint_eq(cli.rx_len, MiB);
    ck_assert(memcmp(srv.rx, data_ab, MiB) == 0);
    ck_assert(memcmp(cli.rx, data_ba, MiB) == 0);
    ck_assert_int_eq(cli.err, 0);
    ck_assert_int_eq(srv.err, 0);
    tcp_close(cli.tcb);
    tcp_close(srv.tcb);
    cli.tcb = srv.tcb = NULL;
    ck_assert(simnet_run(&net, 600000000ull, all_gone, NULL));
}

/* Count A's data segments by size (Ethernet 14 + IP 20 + TCP 20 + timestamps 12 + data). */
static unsigned full_segments, short_segments;
static bool count_sizes(void *ctx, int side, const uint8_t *frame, size_t len)
{
    (void)ctx, (void)frame;
    if (side == 0 && len > 14 + 40 + 16) { /* more than padding */
        if (len == 14 + 40 + 1460)
            full_segments++;
        else
            short_segments++;
    }
    return false;
}

START_TEST(clean_wire_full_segments)
{
    transfer_both_ways(1, NULL);
    const struct tcp_stats *st = &stack_stats(net.a)->tcp;
    ck_assert_uint_eq(st->retransmits, 0);
    ck_assert_uint_eq(st->rx_out_of_order, 0);
    /* every buffer given back once the connection is gone */
    ck_assert_uint_eq(st->buffer_bytes, 0);
    ck_assert_uint_eq(stack_stats(net.b)->tcp.buffer_bytes, 0);
}
END_TEST

static bool small_echo_done(void *ctx)
{
    (void)ctx;
    return srv.rx_len == 100 && cli.rx_len == 100 && cli.tcb->snd.len == 0 && srv.tcb->snd.len == 0;
}

/* Buffers grow with use: an established connection holds none until data comes, a little
 * while a small message passes, none again once it is read and acknowledged. The window
 * still offers the whole configured buffer. */
START_TEST(idle_connection_holds_no_buffer)
{
    open_connection(1, NULL);
    ck_assert_uint_eq(stack_stats(net.a)->tcp.buffer_bytes, 0);
    ck_assert_uint_eq(stack_stats(net.b)->tcp.buffer_bytes, 0);
    /* the window offered is the configured buffer, not the (empty) allocation: in the
     * SYN-ACK unscaled, so at most 65535 (RFC 7323 2.2) */
    ck_assert_uint_eq(cli.tcb->snd_wnd, 65535);
    data_ab = malloc(100);
    data_ba = malloc(100);
    fill_pattern(data_ab, 100, 1);
    fill_pattern(data_ba, 100, 2);
    cli.tx = data_ab;
    srv.tx = data_ba;
    cli.tx_len = srv.tx_len = 100;
    ep_push(&cli);
    ep_push(&srv);
    ck_assert_uint_le(stack_stats(net.a)->tcp.buffer_bytes, 4096);
    ck_assert(simnet_run(&net, 10000000, small_echo_done, NULL));
    ck_assert(memcmp(srv.rx, data_ab, 100) == 0);
    ck_assert(memcmp(cli.rx, data_ba, 100) == 0);
    ck_assert_uint_eq(stack_stats(net.a)->tcp.buffer_bytes, 0);
    ck_assert_uint_eq(stack_stats(net.b)->tcp.buffer_bytes, 0);
    /* the whole buffer offered again, give or take receiver SWS avoidance's step */
    ck_assert_uint_ge(cli.tcb->snd_wnd, stack_config(net.b)->tcp_rcvbuf - 1448);
}
END_TEST

static bool sent_and_read(void *ctx)
{
    size_t want = *(size_t *)ctx;
    return srv.rx_len == want && cli.tcb->snd.len == 0;
}

/* A stream in full flow empties its rings often and refills them at once: a large ring
 * stays while the stream lives (freeing it would regrow it from 4 KiB, copying at every
 * doubling) and goes back once the connection has been quiet for a while. */
START_TEST(large_ring_kept_while_busy_freed_when_quiet)
{
    open_connection(1, NULL);
    size_t want = 200 * 1024;
    data_ab = malloc(want);
    fill_pattern(data_ab, want, 3);
    cli.tx = data_ab;
    cli.tx_len = want;
    ep_push(&cli);
    ck_assert(simnet_run(&net, 10000000, sent_and_read, &want));
    ck_assert(memcmp(srv.rx, data_ab, want) == 0);
    /* all acknowledged and all read, yet both large rings are still there */
    ck_assert_uint_gt(cli.tcb->snd.cap, 4096);
    ck_assert_uint_gt(srv.tcb->rcv.cap, 4096);
    simnet_run(&net, 300000, NULL, NULL); /* quiet for 300 ms */
    ck_assert_uint_eq(stack_stats(net.a)->tcp.buffer_bytes, 0);
    ck_assert_uint_eq(stack_stats(net.b)->tcp.buffer_bytes, 0);
}
END_TEST

/* conformance: SHLD-28 */
START_TEST(bulk_uses_full_mss)
{
    open_connection(1, NULL);
    full_segments = short_segments = 0;
    wire_set_filter(net.wire, count_sizes, NULL);
    data_ab = malloc(MiB);
    fill_pattern(data_ab, MiB, 9);
    cli.tx = data_ab;
    cli.tx_len = MiB;
    cli.shut_after_send = true;
    ep_push(&cli);
    simnet_run(&net, 10000000, NULL, NULL);
    ck_assert(srv.eof);
    /* 1 MiB = 724 full segments of 1448 (1460 less the timestamps option) and one of 224 */
    ck_assert_uint_eq(full_segments, MiB / 1448);
    ck_assert_uint_eq(short_segments, 1);
}
END_TEST

static const unsigned impaired_seeds[] = {1, 2, 3, 4, 5, 6};

/* conformance: SHLD-31 */
START_TEST(lossy_wire_byte_exact)
{
    struct wire_impairments imp = {.loss_pct = 10, .dup_pct = 5, .reorder_pct = 10};
    uint32_t seed = impaired_seeds[_i];
    transfer_both_ways(seed, &imp);
    const struct tcp_stats *a = &stack_stats(net.a)->tcp, *b = &stack_stats(net.b)->tcp;
    const struct wire_stats *w = wire_stats(net.wire);
    ck_assert_uint_gt(w->lost, 0);
    ck_assert_uint_gt(w->duplicated, 0);
    ck_assert_uint_gt(w->reordered, 0);
    ck_assert_uint_gt(a->retransmits + b->retransmits, 0);
    ck_assert_uint_gt(a->rx_out_of_order + b->rx_out_of_order, 0);
    ck_assert_uint_gt(a->rx_duplicates + b->rx_duplicates, 0);
}
END_TEST

/* Fast retransmit: one data segment lost on a clean wire is resent after 3 duplicate
 * ACKs, long before the RTO. */
static unsigned data_segments_seen;
static bool drop_tenth_data_segment(void *ctx, int side, const uint8_t *frame, size_t len)
{
    (void)ctx;
    if (side != 0 || len < 14 + 20 + 20 + 100)
        return false;
    return ++data_segments_seen == 10;
}

START_TEST(fast_retransmit_one_loss)
{
    open_connection(1, NULL);
    data_ab = malloc(MiB);
    fill_pattern(data_ab, MiB, 42);
    data_segments_seen = 0;
    wire_set_filter(net.wire, drop_tenth_data_segment, NULL);
    cli.tx = data_ab;
    cli.tx_len = MiB;
    cli.shut_after_send = true;
    ep_push(&cli);
    simnet_run(&net, 60000000, NULL, NULL);
    ck_assert(srv.eof);
    ck_assert_uint_eq(srv.rx_len, MiB);
    ck_assert(memcmp(srv.rx, data_ab, MiB) == 0);
    const struct tcp_stats *st = &stack_stats(net.a)->tcp;
    ck_assert_uint_eq(st->fast_retransmits, 1);
    ck_assert_uint_eq(st->timeouts, 0);
    ck_assert_uint_eq(st->retransmits, 1);
    /* cwnd was halved: ssthresh is set */
    ck_assert_uint_lt(cli.tcb->ssthresh, 1u << 30);
}
END_TEST

/* Flow control: the receiver stops reading; the sender fills the window, sees it close,
 * probes it, and finishes once the receiver reads again. */
static bool window_closed(void *ctx)
{
    (void)ctx;
    return cli.tcb->snd_wnd == 0 && stack_stats(net.a)->tcp.persist_probes >= 3;
}

/* conformance: MUST-35 MUST-36 */
START_TEST(zero_window_persist)
{
    open_connection(3, NULL);
    data_ab = malloc(MiB);
    fill_pattern(data_ab, MiB, 3);
    srv.stalled = true;
    cli.tx = data_ab;
    cli.tx_len = MiB;
    cli.shut_after_send = true;
    ep_push(&cli);
    ck_assert(simnet_run(&net, 60000000, window_closed, NULL));
    /* the receive buffer is exactly full, and nothing was lost or given up */
    ck_assert_uint_gt(srv.tcb->rcv.len, srv.tcb->rcv.cap - 8); /* (window scale 3 rounds) */
    ck_assert_int_eq(cli.err, 0);
    ck_assert_str_eq(tcp_state_name_of(cli.tcb), "ESTABLISHED");
    /* probes keep going for long (they never count as unanswered while ACKs come) */
    simnet_run(&net, 120000000ull, NULL, NULL);
    ck_assert_int_eq(cli.err, 0);
    uint64_t probes = stack_stats(net.a)->tcp.persist_probes;
    ck_assert_uint_gt(probes, 3);
    /* ... but their interval doubles (RFC 9293 3.8.6.1): at a fixed 400 ms there would
     * be ~300 in 120 s; doubling from 400 ms up to the 60 s cap gives about 10 */
    ck_assert_uint_lt(probes, 16);
    /* resume: the window update restarts the sender */
    srv.stalled = false;
    ep_drain(&srv);
    ck_assert(simnet_run(&net, 60000000, NULL, NULL));
    ck_assert(srv.eof);
    ck_assert_uint_eq(srv.rx_len, MiB);
    ck_assert(memcmp(srv.rx, data_ab, MiB) == 0);
    ck_assert_uint_gt(stack_stats(net.b)->tcp.window_updates, 0);
}
END_TEST

/* Slow start doubles the window each round trip even though the receiver acknowledges a
 * whole receive burst with one ACK: the sender counts every acknowledged byte. */
static unsigned flights[64], n_flights;
static uint64_t last_data_us;
static bool count_flights(void *ctx, int side, const uint8_t *frame, size_t len)
{
    (void)frame;
    struct simnet *n = ctx;
    if (side != 0 || len != 14 + 40 + 1460)
        return false;
    if (n_flights == 0 || n->now_us != last_data_us) /* a new burst: a new round trip */
        n_flights += n_flights < 64;
    flights[n_flights - 1]++;
    last_data_us = n->now_us;
    return false;
}

/* conformance: MUST-19 */
START_TEST(slow_start_doubles_per_round_trip)
{
    open_connection(1, NULL);
    n_flights = 0;
    memset(flights, 0, sizeof(flights));
    wire_set_filter(net.wire, count_flights, &net);
    data_ab = malloc(MiB);
    fill_pattern(data_ab, MiB, 5);
    cli.tx = data_ab;
    cli.tx_len = MiB;
    ep_push(&cli);
    simnet_run(&net, 2000000, NULL, NULL);
    ck_assert_uint_eq(srv.rx_len, MiB);
    /* initial window 10 segments, then twice as many each round trip */
    ck_assert_uint_ge(n_flights, 3);
    ck_assert_uint_eq(flights[0], 10);
    ck_assert_uint_ge(flights[1], 19);
    ck_assert_uint_ge(flights[2], 38);
}
END_TEST

/* Nagle: many small writes while data is in flight are coalesced. */
/* conformance: SHLD-7 MUST-17 */
START_TEST(nagle_coalesces)
{
    open_connection(1, NULL);
    uint64_t before = stack_stats(net.a)->tcp.tx_segments;
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(tcp_send(cli.tcb, "0123456789", 10), 10);
    simnet_run(&net, 1000000, NULL, NULL);
    ck_assert_uint_eq(srv.rx_len, 1000);
    /* the first write goes alone, the other 99 wait for its ACK and go together */
    uint64_t with_nagle = stack_stats(net.a)->tcp.tx_segments;
    ck_assert_uint_le(with_nagle - before, 3);
    ck_assert_int_eq(tcp_set_nodelay(cli.tcb, true), 0);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(tcp_send(cli.tcb, "0123456789", 10), 10);
    simnet_run(&net, 1000000, NULL, NULL);
    ck_assert_uint_eq(srv.rx_len, 2000);
    uint64_t without = stack_stats(net.a)->tcp.tx_segments - with_nagle;
    ck_assert_uint_ge(without, 100);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tcp_transfer");
    TCase *tc = tcase_create("transfer");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, clean_wire_full_segments);
    tcase_add_test(tc, bulk_uses_full_mss);
    tcase_add_test(tc, idle_connection_holds_no_buffer);
    tcase_add_test(tc, large_ring_kept_while_busy_freed_when_quiet);
    tcase_add_loop_test(tc, lossy_wire_byte_exact, 0,
                        sizeof(impaired_seeds) / sizeof(impaired_seeds[0]));
    tcase_add_test(tc, fast_retransmit_one_loss);
    tcase_add_test(tc, zero_window_persist);
    tcase_add_test(tc, nagle_coalesces);
    tcase_add_test(tc, slow_start_doubles_per_round_trip);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
