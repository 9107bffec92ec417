/* test_tcp_recovery.c - loss recovery beyond NewReno, on the simulated wire with fixed seeds:
 * SACK (RFC 2018) and the RFC 6675 scoreboard, D-SACK (RFC 2883), timestamps (RFC 7323: RTT
 * from echoes, PAWS), limited transmit (RFC 3042) and the tail loss probe (RFC 8985 7).
 * Each test drops exactly the segments it wants and checks what recovered them. */
#include "tcp_sim.h"

#include "../../stack/bytes.h"

#define PORT 9
#define SEG  1448 /* data per segment: 1460 less the 12-byte timestamps option */

static struct simnet net;
static struct ep cli, srv;
static uint8_t *data_ab;

static void teardown(void)
{
    simnet_fini(&net);
    ep_free(&cli);
    ep_free(&srv);
    free(data_ab);
    data_ab = NULL;
}

static bool both_connected(void *ctx)
{
    (void)ctx;
    return cli.connected && srv.tcb && srv.connected;
}

/* A connection A -> B; `tweak` may change both stacks' configuration first. */
static void open_with(uint32_t seed, void (*tweak)(struct stack_config *))
{
    struct stack_config a, b;
    simnet_config(&a, 0, seed, 0);
    simnet_config(&b, 1, seed, 0);
    if (tweak) {
        tweak(&a);
        tweak(&b);
    }
    ck_assert(simnet_init_with(&net, seed, NULL, &a, &b));
    ep_init(&cli, net.a);
    ep_init(&srv, net.b);
    ep_listen(&srv, PORT, 4);
    ep_connect(&cli, SIM_IP_B, PORT);
    ck_assert(simnet_run(&net, 10000000, both_connected, NULL));
    tcp_close(srv.listener);
}

static void no_sack(struct stack_config *c)
{
    c->tcp_sack = false;
}
static void no_timestamps(struct stack_config *c)
{
    c->tcp_timestamps = false;
}
static void no_tlp(struct stack_config *c)
{
    c->tcp_tlp = false;
}
static void no_rack(struct stack_config *c)
{
    c->tcp_rack = false;
}
static void no_tlp_no_rack(struct stack_config *c)
{
    c->tcp_tlp = false;
    c->tcp_rack = false;
}

/* ---- the wire: drop A's data segments by number (first copies), note resend times ---- */

struct frame_tcp {
    struct tcp_hdr h;
    uint32_t len; /* data bytes */
};

/* Ethernet 14 + IPv4 20 (tapir sends no IP options) + TCP */
static bool frame_tcp(const uint8_t *f, size_t n, struct frame_tcp *t)
{
    if (n < 14 + 20 + 20 || get_be16(f + 12) != 0x0800 || f[23] != 6)
        return false;
    uint16_t ip_len = get_be16(f + 16);
    if (ip_len < 40 || 14u + ip_len > n)
        return false;
    if (tcp_parse(f + 34, ip_len - 20u, &t->h) != TCP_PARSE_OK)
        return false;
    t->len = ip_len - 20u - t->h.hdr_len;
    return true;
}

static struct {
    uint64_t drop;    /* A's data segments to drop (bit n-1), first copies only */
    unsigned nth;     /* A's first copies so far */
    uint32_t high;    /* end of the highest data A sent */
    unsigned resends; /* A's copies of data it sent before */
    uint64_t first_resend_us, last_resend_us;
    bool b_dsack_seen; /* B sent a D-SACK block (first block below its ACK) */
    struct tcp_sack_block b_dsack;
    unsigned drop_rxt_nth; /* also drop the first resend of this segment (RACK tests) */
    uint32_t drop_rxt_seq;
    unsigned rxt_dropped;
    unsigned hold_nth; /* hold this segment back (dropped) until B sends a SACK... */
    uint8_t held[1600];
    size_t held_len;
    bool release; /* ... then the test hands it to B: B saw it overtaken */
} w;

static bool drop_filter(void *ctx, int side, const uint8_t *frame, size_t len)
{
    (void)ctx;
    struct frame_tcp t;
    if (!frame_tcp(frame, len, &t))
        return false;
    if (side == 1 && t.h.opts.n_sack && seq_lt(t.h.opts.sack[0].start, t.h.ack)) {
        w.b_dsack_seen = true;
        w.b_dsack = t.h.opts.sack[0];
    }
    if (side == 1 && t.h.opts.n_sack && w.held_len)
        w.release = true;
    if (side != 0 || t.len == 0)
        return false;
    if (w.nth && seq_lt(t.h.seq, w.high)) {
        if (!w.resends++)
            w.first_resend_us = net.now_us;
        w.last_resend_us = net.now_us;
        if (w.drop_rxt_nth && t.h.seq == w.drop_rxt_seq && !w.rxt_dropped) {
            w.rxt_dropped = 1;
            return true;
        }
        return false;
    }
    w.high = t.h.seq + t.len;
    w.nth++;
    if (w.nth == w.drop_rxt_nth)
        w.drop_rxt_seq = t.h.seq;
    if (w.nth == w.hold_nth && len <= sizeof(w.held)) {
        memcpy(w.held, frame, len);
        w.held_len = len;
        return true;
    }
    return w.nth <= 64 && (w.drop & (1ull << (w.nth - 1)));
}

static void watch_drops(uint64_t drop)
{
    memset(&w, 0, sizeof(w));
    w.drop = drop;
    wire_set_filter(net.wire, drop_filter, NULL);
}

#define SEGS(n) (1ull << ((n)-1))

static bool srv_done(void *ctx)
{
    (void)ctx;
    return srv.eof;
}

/* A sends `len` bytes and shuts down; B reads them all, byte-exact. The time it took until
 * B had everything (simulated); with `settle`, the run goes on until all is quiet. */
static uint64_t send_bytes(size_t len, bool settle)
{
    data_ab = malloc(len);
    fill_pattern(data_ab, len, 7);
    cli.tx = data_ab;
    cli.tx_len = len;
    cli.shut_after_send = true;
    uint64_t start = net.now_us;
    ep_push(&cli);
    ck_assert(simnet_run(&net, 30000000, srv_done, NULL));
    uint64_t took = net.now_us - start;
    if (settle)
        simnet_run(&net, 1000000, NULL, NULL);
    ck_assert_uint_eq(srv.rx_len, len);
    ck_assert(memcmp(srv.rx, data_ab, len) == 0);
    return took;
}

/* ---- SACK ---- */

/* Three holes in one window: SACK shows all three at once. Recovery starts once, with no
 * timeout, resends exactly the three segments, all within one round trip (the wire's RTT
 * is 200 us) of the first resend. */
START_TEST(sack_three_holes_one_round_trip)
{
    open_with(1, NULL);
    ck_assert(cli.tcb->sack_ok && srv.tcb->sack_ok);
    watch_drops(SEGS(3) | SEGS(5) | SEGS(7));
    send_bytes(20000, true);
    const struct tcp_stats *a = &stack_stats(net.a)->tcp;
    ck_assert_uint_eq(a->timeouts, 0);
    ck_assert_uint_eq(a->sack_recoveries, 1);
    ck_assert_uint_eq(a->retransmits, 3);
    ck_assert_uint_eq(w.resends, 3);
    ck_assert_uint_le(w.last_resend_us - w.first_resend_us, 200);
    /* B listed its out-of-order ranges: A's scoreboard saw them */
    ck_assert_uint_gt(stack_stats(net.b)->tcp.rx_out_of_order, 0);
}
END_TEST

/* The same loss without SACK: NewReno finds one hole per round trip (partial ACKs). */
START_TEST(no_sack_one_hole_per_round_trip)
{
    open_with(1, no_sack);
    ck_assert(!cli.tcb->sack_ok && !srv.tcb->sack_ok);
    watch_drops(SEGS(3) | SEGS(5) | SEGS(7));
    send_bytes(20000, true);
    const struct tcp_stats *a = &stack_stats(net.a)->tcp;
    ck_assert_uint_eq(a->sack_recoveries, 0);
    ck_assert_uint_eq(w.resends, 3);
    ck_assert_uint_ge(w.last_resend_us - w.first_resend_us, 2 * 200);
}
END_TEST

/* SACK is used only if both SYNs offered it (RFC 2018 2): B without it, A offering. */
static void b_no_sack(struct stack_config *c)
{
    if (c->ip == SIM_IP_B)
        c->tcp_sack = false;
}
START_TEST(sack_needs_both_sides)
{
    open_with(1, b_no_sack);
    ck_assert(!cli.tcb->sack_ok && !srv.tcb->sack_ok);
    watch_drops(SEGS(3));
    send_bytes(20000, true);
    ck_assert_uint_eq(stack_stats(net.a)->tcp.sack_recoveries, 0);
    ck_assert_uint_eq(stack_stats(net.a)->tcp.fast_retransmits, 1);
}
END_TEST

/* Many holes over a long transfer, both directions at 5% random loss: byte-exact, and the
 * scoreboard did the work (SACK recoveries, no more timeouts than without SACK). */
static uint64_t lossy_timeouts(void (*tweak)(struct stack_config *))
{
    struct wire_impairments imp = {.loss_pct = 5};
    struct stack_config a, b;
    simnet_config(&a, 0, 11, 0);
    simnet_config(&b, 1, 11, 0);
    if (tweak) {
        tweak(&a);
        tweak(&b);
    }
    ck_assert(simnet_init_with(&net, 11, &imp, &a, &b));
    ep_init(&cli, net.a);
    ep_init(&srv, net.b);
    ep_listen(&srv, PORT, 4);
    ep_connect(&cli, SIM_IP_B, PORT);
    ck_assert(simnet_run(&net, 60000000, both_connected, NULL));
    tcp_close(srv.listener);
    size_t len = 1 << 20;
    data_ab = malloc(len);
    fill_pattern(data_ab, len, 3);
    cli.tx = data_ab;
    cli.tx_len = len;
    cli.shut_after_send = true;
    ep_push(&cli);
    ck_assert(simnet_run(&net, 600000000ull, srv_done, NULL));
    ck_assert_uint_eq(srv.rx_len, len);
    ck_assert(memcmp(srv.rx, data_ab, len) == 0);
    uint64_t t = stack_stats(net.a)->tcp.timeouts;
    if (!tweak)
        ck_assert_uint_gt(stack_stats(net.a)->tcp.sack_recoveries, 3);
    teardown();
    return t;
}

START_TEST(sack_fewer_timeouts_at_5_percent)
{
    uint64_t with = lossy_timeouts(NULL), without = lossy_timeouts(no_sack);
    ck_assert_uint_lt(with, without);
}
END_TEST

/* ---- the scoreboard against hand-computed cases (RFC 6675 4) ----
 * 10 segments of 100 bytes in flight, [1000, 2000). The peer SACKs [1100,1200),
 * [1300,1500), [1600,1700). */
static struct tcb *board(void)
{
    open_with(1, NULL);
    struct tcb *t = cli.tcb;
    t->smss = 100;
    t->snd_una = 1000;
    t->snd_max = t->snd_nxt = 2000;
    tcp_sack_clear(t);
    return t;
}

static void sack_blocks(struct tcb *t, uint32_t ack, const uint32_t (*b)[2], unsigned n)
{
    struct tcp_opts o;
    memset(&o, 0, sizeof(o));
    o.n_sack = (uint8_t)n;
    for (unsigned i = 0; i < n; i++) {
        o.sack[i].start = b[i][0];
        o.sack[i].end = b[i][1];
    }
    ck_assert_uint_eq(t->snd_una, ack);
    tcp_sack_update(t, &o);
}

START_TEST(scoreboard_hand_computed)
{
    struct tcb *t = board();
    const uint32_t blocks[][2] = {{1600, 1700}, {1300, 1500}, {1100, 1200}};
    sack_blocks(t, 1000, blocks, 3);
    ck_assert_uint_eq(t->n_sacked, 3);
    ck_assert_uint_eq(t->sacked[0].start, 1100);
    ck_assert_uint_eq(t->sacked[2].end, 1700);
    /* IsLost: more than 2 * SMSS SACKed above: true below 1300 (300 bytes above 1200) */
    ck_assert(tcp_sack_is_lost(t, 1000));
    ck_assert(tcp_sack_is_lost(t, 1200));
    ck_assert(!tcp_sack_is_lost(t, 1100)); /* SACKed */
    ck_assert(!tcp_sack_is_lost(t, 1500)); /* only 100 bytes above */
    /* pipe: unSACKed and not lost: [1500,1600) + [1700,2000) = 400 */
    ck_assert_uint_eq(tcp_sack_pipe(t), 400);
    uint32_t seq, len;
    ck_assert(tcp_sack_next_hole(t, &seq, &len, true));
    ck_assert_uint_eq(seq, 1000);
    ck_assert_uint_eq(len, 100);
    /* resent [1000,1100): it counts in pipe again; the next lost hole is [1200,1300) */
    t->high_rxt = 1100;
    ck_assert_uint_eq(tcp_sack_pipe(t), 500);
    ck_assert(tcp_sack_next_hole(t, &seq, &len, true));
    ck_assert_uint_eq(seq, 1200);
    ck_assert_uint_eq(len, 100);
    /* both lost holes resent: none left (rule 1); rule 3 offers [1500,1600) */
    t->high_rxt = 1300;
    ck_assert(!tcp_sack_next_hole(t, &seq, &len, true));
    ck_assert(tcp_sack_next_hole(t, &seq, &len, false));
    ck_assert_uint_eq(seq, 1500);
    ck_assert_uint_eq(len, 100);
    /* a D-SACK (below the ACK) changes nothing but its counter */
    const uint32_t dsack[][2] = {{900, 1000}, {1100, 1200}};
    uint64_t d = stack_stats(net.a)->tcp.rx_dsacks;
    sack_blocks(t, 1000, dsack, 2);
    ck_assert_uint_eq(stack_stats(net.a)->tcp.rx_dsacks, d + 1);
    ck_assert_uint_eq(t->n_sacked, 3);
    /* a block filling the gap merges two ranges */
    const uint32_t fill[][2] = {{1500, 1600}};
    sack_blocks(t, 1000, fill, 1);
    ck_assert_uint_eq(t->n_sacked, 2);
    ck_assert_uint_eq(t->sacked[1].start, 1300);
    ck_assert_uint_eq(t->sacked[1].end, 1700);
    /* the ACK reaches 1200: what lies below leaves the scoreboard */
    t->snd_una = 1200;
    tcp_sack_forget_acked(t);
    ck_assert_uint_eq(t->n_sacked, 1);
    ck_assert_uint_eq(t->sacked[0].start, 1300);
    /* blocks outside (SND.UNA, SND.MAX] are ignored */
    const uint32_t bogus[][2] = {{2100, 2200}, {1250, 1240}};
    sack_blocks(t, 1200, bogus, 2);
    ck_assert_uint_eq(t->n_sacked, 1);
    t->smss = SEG; /* leave the TCB as it was for the teardown */
}
END_TEST

/* ---- D-SACK (RFC 2883) ---- */

/* A segment B already has arrives again: B reports it in the first block, below its ACK,
 * and A counts a D-SACK. */
START_TEST(dsack_for_a_spurious_retransmission)
{
    open_with(1, NULL);
    watch_drops(0);
    data_ab = malloc(10000);
    fill_pattern(data_ab, 10000, 5);
    ck_assert_int_eq(tcp_send(cli.tcb, data_ab, 10000), 10000);
    /* the first segment is on the wire; A resends its first 500 bytes right behind it, as
     * if a timer had fired too early */
    uint32_t first = cli.tcb->snd_una;
    ck_assert_uint_eq(tcp_retransmit_at(cli.tcb, first, 500, "a test"), 500);
    simnet_run(&net, 100000, NULL, NULL);
    ck_assert_uint_eq(srv.rx_len, 10000);
    ck_assert(memcmp(srv.rx, data_ab, 10000) == 0); /* the copy was not delivered twice */
    ck_assert_uint_eq(stack_stats(net.b)->tcp.tx_dsacks, 1);
    ck_assert_uint_eq(stack_stats(net.a)->tcp.rx_dsacks, 1);
    ck_assert(w.b_dsack_seen);
    ck_assert_uint_eq(w.b_dsack.start, first);
    ck_assert_uint_eq(w.b_dsack.end, first + 500);
}
END_TEST

/* ---- timestamps (RFC 7323) ---- */

/* PAWS: a segment at RCV.NXT whose timestamp is older than TS.Recent is an old duplicate:
 * dropped (and answered with an ACK); the same segment with a current timestamp is data. */
static void inject_data_with_ts(uint32_t tsval)
{
    struct tcp_opts o;
    memset(&o, 0, sizeof(o));
    o.has_timestamp = true;
    o.ts_val = tsval;
    o.ts_ecr = tcp_ts_now(cli.tcb);
    struct tcb *b = srv.tcb;
    inject_segment_opts(net.b, SIM_IP_A, b->remote_port, SIM_IP_B, PORT, b->rcv_nxt, b->snd_nxt,
                        TCP_ACK | TCP_PSH, 1000, &o, "hello", 5);
}

START_TEST(paws_drops_an_old_duplicate)
{
    open_with(1, NULL);
    ck_assert(srv.tcb->ts_ok);
    uint32_t recent = srv.tcb->ts_recent;
    uint64_t acks = stack_stats(net.b)->tcp.tx_segments;
    inject_data_with_ts(recent - 1000);
    simnet_run(&net, 100000, NULL, NULL);
    ck_assert_uint_eq(stack_stats(net.b)->tcp.rx_paws_drops, 1);
    ck_assert_uint_eq(srv.rx_len, 0);
    ck_assert_uint_gt(stack_stats(net.b)->tcp.tx_segments, acks); /* it was answered */
    inject_data_with_ts(recent + 1);
    simnet_run(&net, 100000, NULL, NULL);
    ck_assert_uint_eq(stack_stats(net.b)->tcp.rx_paws_drops, 1);
    ck_assert_uint_eq(srv.rx_len, 5);
    ck_assert_uint_eq(srv.tcb->ts_recent, recent + 1); /* and TS.Recent moved on */
}
END_TEST

/* Without timestamps negotiated there is no PAWS: the "old" segment is data. */
START_TEST(no_timestamps_no_paws)
{
    open_with(1, no_timestamps);
    ck_assert(!srv.tcb->ts_ok && !cli.tcb->ts_ok);
    ck_assert_uint_eq(cli.tcb->smss, 1460);
    inject_data_with_ts(1);
    simnet_run(&net, 100000, NULL, NULL);
    ck_assert_uint_eq(stack_stats(net.b)->tcp.rx_paws_drops, 0);
    ck_assert_uint_eq(srv.rx_len, 5);
}
END_TEST

/* RTT from the echo: a segment Karn's rule would not time (as if retransmitted) still
 * gives a sample through its timestamp echo. SRTT set far too high comes down. */
static void rtt_from_untimed_segment(void (*tweak)(struct stack_config *), bool expect_sample)
{
    open_with(1, tweak);
    ck_assert(tcp_send(cli.tcb, "x", 1) == 1);
    cli.tcb->rtt_timing = false; /* Karn: no timing of our own */
    cli.tcb->srtt_us = 400000;
    simnet_run(&net, 1000000, NULL, NULL);
    ck_assert_uint_eq(srv.rx_len, 1);
    if (expect_sample)
        ck_assert_uint_lt(cli.tcb->srtt_us, 400000);
    else
        ck_assert_uint_eq(cli.tcb->srtt_us, 400000);
}

START_TEST(timestamps_rtt_without_karn_timing)
{
    rtt_from_untimed_segment(NULL, true);
}
END_TEST

START_TEST(no_timestamps_no_rtt_sample)
{
    rtt_from_untimed_segment(no_timestamps, false);
}
END_TEST

/* Every segment after the SYNs carries the option, and B echoes A's clock (RFC 7323 3). */
static struct {
    unsigned a_with_ts, b_with_ts, segs;
    bool echo_ok;
} tsw;
static bool ts_filter(void *ctx, int side, const uint8_t *frame, size_t len)
{
    (void)ctx;
    struct frame_tcp t;
    if (!frame_tcp(frame, len, &t))
        return false;
    tsw.segs++;
    if (t.h.opts.has_timestamp && side)
        tsw.b_with_ts++;
    else if (t.h.opts.has_timestamp)
        tsw.a_with_ts++;
    if (side == 1 && t.h.opts.has_timestamp) {
        uint32_t a_now = tcp_ts_now(cli.tcb);
        /* an echo of A's clock, from the last 2 s */
        tsw.echo_ok =
            tsw.echo_ok && seq_leq(t.h.opts.ts_ecr, a_now) && seq_lt(a_now - 2000, t.h.opts.ts_ecr);
    }
    return false;
}

START_TEST(timestamps_on_every_segment)
{
    open_with(1, NULL);
    memset(&tsw, 0, sizeof(tsw));
    tsw.echo_ok = true;
    wire_set_filter(net.wire, ts_filter, NULL);
    send_bytes(100000, true);
    ck_assert_uint_gt(tsw.segs, 50);
    ck_assert_uint_eq(tsw.a_with_ts + tsw.b_with_ts, tsw.segs);
    ck_assert(tsw.echo_ok);
}
END_TEST

/* ---- limited transmit (RFC 3042) ---- */

/* cwnd of 3 segments and the first lost: only 2 duplicate ACKs could come. Limited
 * transmit sends a new segment on each, which brings the third duplicate: fast retransmit,
 * no timeout (the probe is off, so without limited transmit only the RTO would help). */
START_TEST(limited_transmit_brings_the_third_dupack)
{
    open_with(1, no_tlp);
    cli.tcb->cwnd = 3 * SEG;
    watch_drops(SEGS(1));
    send_bytes(10 * SEG, true);
    const struct tcp_stats *a = &stack_stats(net.a)->tcp;
    ck_assert_uint_eq(a->limited_transmits, 2);
    ck_assert_uint_eq(a->fast_retransmits, 1);
    ck_assert_uint_eq(a->timeouts, 0);
    ck_assert_uint_eq(a->retransmits, 1);
}
END_TEST

/* ---- the tail loss probe (RFC 8985 7) ---- */

/* The last three segments lost: no ACK comes. The probe (the last segment again) goes
 * after ~10 ms, its SACK shows the other two lost, and they are resent: no RTO. */
START_TEST(tlp_recovers_a_lost_tail)
{
    open_with(1, NULL);
    watch_drops(SEGS(12) | SEGS(13) | SEGS(14));
    uint64_t took = send_bytes(20000, false);
    const struct tcp_stats *a = &stack_stats(net.a)->tcp;
    ck_assert_uint_eq(a->tlp_probes, 1);
    ck_assert_uint_eq(a->timeouts, 0);
    ck_assert_uint_eq(a->retransmits, 3);
    ck_assert_uint_lt(took, 50000); /* simulated time: the RTO alone is 200 ms */
}
END_TEST

START_TEST(no_tlp_waits_for_the_rto)
{
    open_with(1, no_tlp);
    watch_drops(SEGS(12) | SEGS(13) | SEGS(14));
    uint64_t took = send_bytes(20000, false);
    const struct tcp_stats *a = &stack_stats(net.a)->tcp;
    ck_assert_uint_eq(a->tlp_probes, 0);
    ck_assert_uint_eq(a->timeouts, 1);
    ck_assert_uint_gt(took, 200000);
}
END_TEST

/* ---- RACK, time-based loss detection (RFC 8985 6) ---- */

/* Segment 3 is lost, and so is its fast retransmission. The scoreboard has used up its
 * evidence (HighRxt is past it): without RACK only the RTO would resend it. RACK sees new
 * segments sent after the retransmission arrive, calls the retransmission lost and resends
 * it: no timeout, every byte delivered. */
START_TEST(rack_recovers_a_lost_retransmission)
{
    open_with(1, NULL);
    watch_drops(SEGS(3));
    w.drop_rxt_nth = 3;
    uint64_t took = send_bytes(200000, true);
    const struct tcp_stats *a = &stack_stats(net.a)->tcp;
    ck_assert_uint_eq(w.rxt_dropped, 1);
    ck_assert_uint_eq(a->timeouts, 0);
    ck_assert_uint_eq(a->rack_lost_retransmits, 1);
    ck_assert_uint_eq(a->sack_recoveries, 1);
    ck_assert_uint_eq(a->retransmits, 2); /* the segment twice, nothing else */
    ck_assert_uint_lt(took, 100000);      /* simulated: the RTO alone is 200 ms */
}
END_TEST

START_TEST(no_rack_lost_retransmission_waits_for_the_rto)
{
    open_with(1, no_rack);
    watch_drops(SEGS(3));
    w.drop_rxt_nth = 3;
    uint64_t took = send_bytes(200000, true);
    const struct tcp_stats *a = &stack_stats(net.a)->tcp;
    ck_assert_uint_eq(w.rxt_dropped, 1);
    ck_assert_uint_eq(a->timeouts, 1);
    ck_assert_uint_eq(a->rack_lost, 0);
    ck_assert_uint_gt(took, 200000);
}
END_TEST

static bool held_release(void *ctx)
{
    (void)ctx;
    return w.release;
}

/* Segment 9 of the first window is overtaken by segment 10: B SACKs 10 first, then gets 9
 * right after. RACK waits a quarter of the minimum RTT (the reordering window) before
 * calling 9 lost, and the ACK for 9 arrives inside it: nothing is resent. (With a window
 * of zero, the SACK alone would make 9 lost and resend it; one segment SACKed is too few
 * for the duplicate-ACK rule.) */
START_TEST(rack_reordering_within_reo_wnd_is_no_loss)
{
    open_with(1, NULL);
    watch_drops(0);
    w.hold_nth = 9;
    size_t len = 20000;
    data_ab = malloc(len);
    fill_pattern(data_ab, len, 7);
    cli.tx = data_ab;
    cli.tx_len = len;
    cli.shut_after_send = true;
    ep_push(&cli);
    ck_assert(simnet_run(&net, 1000000, held_release, NULL));
    /* B sent its SACK for 10 just now; 9 arrives (100 us before A sees that SACK) */
    ip_input(net.b, pkb_from_bytes(w.held + 14, w.held_len - 14));
    ck_assert(simnet_run(&net, 30000000, srv_done, NULL));
    simnet_run(&net, 1000000, NULL, NULL);
    ck_assert_uint_eq(srv.rx_len, len);
    ck_assert(memcmp(srv.rx, data_ab, len) == 0);
    const struct tcp_stats *a = &stack_stats(net.a)->tcp;
    ck_assert_uint_gt(stack_stats(net.b)->tcp.rx_out_of_order, 0);
    ck_assert_uint_eq(a->retransmits, 0);
    ck_assert_uint_eq(a->rack_lost, 0);
    ck_assert_uint_eq(a->fast_retransmits, 0);
    ck_assert_uint_eq(stack_stats(net.b)->tcp.tx_dsacks, 0);
}
END_TEST

/* Segment 13 of 14 is lost: only one segment arrives after it, so three duplicate ACKs
 * never come, and the probe is off. RACK's reordering timer calls 13 lost a quarter RTT
 * after the SACK for 14: resent at once, no RTO. */
START_TEST(rack_timer_finds_a_loss_one_segment_from_the_tail)
{
    open_with(1, no_tlp);
    watch_drops(SEGS(13));
    uint64_t took = send_bytes(20000, true);
    const struct tcp_stats *a = &stack_stats(net.a)->tcp;
    ck_assert_uint_eq(a->timeouts, 0);
    ck_assert_uint_eq(a->rack_lost, 1);
    ck_assert_uint_eq(a->retransmits, 1);
    ck_assert_uint_lt(took, 50000);
}
END_TEST

START_TEST(no_rack_one_segment_from_the_tail_waits_for_the_rto)
{
    open_with(1, no_tlp_no_rack);
    watch_drops(SEGS(13));
    uint64_t took = send_bytes(20000, true);
    const struct tcp_stats *a = &stack_stats(net.a)->tcp;
    ck_assert_uint_eq(a->timeouts, 1);
    ck_assert_uint_gt(took, 200000);
}
END_TEST

/* The last segment alone is lost: one segment is out, so the PTO allows for a delayed ACK
 * and would come after the RTO; the probe then takes the RTO's place (RFC 8985 7.2), goes
 * just before it, and repairs the loss: no timeout, nothing else resent. */
START_TEST(tlp_repairs_a_single_lost_last_segment)
{
    open_with(1, NULL);
    watch_drops(SEGS(14));
    uint64_t took = send_bytes(20000, true);
    const struct tcp_stats *a = &stack_stats(net.a)->tcp;
    ck_assert_uint_eq(a->tlp_probes, 1);
    ck_assert_uint_eq(a->timeouts, 0);
    ck_assert_uint_eq(a->retransmits, 1);
    ck_assert_uint_eq(w.resends, 1);
    ck_assert_uint_lt(took, 250000); /* the probe goes just before the 200 ms RTO */
}
END_TEST

/* ---- the rescue retransmission (RFC 6675 4, NextSeg rule 4; used without RACK) ---- */

/* Segment 3 and the last one (14) are lost; no probe, no RACK. Recovery resends 3; nothing
 * SACKed lies above 14, so the scoreboard never calls it lost. Rule 4 resends the highest
 * unSACKed segment once per recovery: 14 comes back without a timeout. */
START_TEST(rescue_retransmission_repairs_the_tail_in_recovery)
{
    open_with(1, no_tlp_no_rack);
    watch_drops(SEGS(3) | SEGS(14));
    send_bytes(20000, true);
    const struct tcp_stats *a = &stack_stats(net.a)->tcp;
    ck_assert_uint_eq(a->rescue_retransmits, 1);
    ck_assert_uint_eq(a->sack_recoveries, 1);
    ck_assert_uint_eq(a->timeouts, 0);
    ck_assert_uint_eq(a->retransmits, 2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tcp_recovery");
    TCase *tc = tcase_create("recovery");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, sack_three_holes_one_round_trip);
    tcase_add_test(tc, no_sack_one_hole_per_round_trip);
    tcase_add_test(tc, sack_needs_both_sides);
    tcase_add_test(tc, sack_fewer_timeouts_at_5_percent);
    tcase_add_test(tc, scoreboard_hand_computed);
    tcase_add_test(tc, dsack_for_a_spurious_retransmission);
    tcase_add_test(tc, paws_drops_an_old_duplicate);
    tcase_add_test(tc, no_timestamps_no_paws);
    tcase_add_test(tc, timestamps_rtt_without_karn_timing);
    tcase_add_test(tc, no_timestamps_no_rtt_sample);
    tcase_add_test(tc, timestamps_on_every_segment);
    tcase_add_test(tc, limited_transmit_brings_the_third_dupack);
    tcase_add_test(tc, tlp_recovers_a_lost_tail);
    tcase_add_test(tc, no_tlp_waits_for_the_rto);
    tcase_add_test(tc, rack_recovers_a_lost_retransmission);
    tcase_add_test(tc, no_rack_lost_retransmission_waits_for_the_rto);
    tcase_add_test(tc, rack_reordering_within_reo_wnd_is_no_loss);
    tcase_add_test(tc, rack_timer_finds_a_loss_one_segment_from_the_tail);
    tcase_add_test(tc, no_rack_one_segment_from_the_tail_waits_for_the_rto);
    tcase_add_test(tc, tlp_repairs_a_single_lost_last_segment);
    tcase_add_test(tc, rescue_retransmission_repairs_the_tail_in_recovery);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
