/* test_conformance.c - RFC 9293 requirements that are easy to break without noticing.
 *
 * Each test checks one rule of tests/conformance/requirements.tsv (the tag above it says
 * which) so that changing the rule in one line of the stack makes it fail; the mutation
 * tool tests/conformance/mutate.sh checks that it does.
 *
 * Two kinds of peer: the other tapir stack over the simulated wire, or a "scripted peer":
 * the test plays B by hand. Every TCP frame A sends is recorded (and, for a scripted peer,
 * dropped before B sees it); the test answers with inject_segment(), choosing exactly the
 * windows, options and acknowledgements the rule is about.
 */
#include "tcp_pair.h"
#include "../../stack/bytes.h"
#include "../../stack/checksum.h"

#define ETH    14
#define MAXSEG 4096

/* One TCP segment seen on the wire. */
struct seen {
    int side; /* 0: from A, 1: from B */
    uint64_t at_us;
    struct tcp_hdr h;
    uint32_t src, dst;
    uint8_t ttl, tos;
    size_t len; /* data bytes */
};

static struct seen segs[MAXSEG];
static size_t nsegs;
static bool scripted;           /* drop every TCP frame: B is played by the test */
static int drop_data_from_a[4]; /* 1-based numbers of A's first-time data segments to lose */
static unsigned a_data_sent;    /* A's data segments seen so far (first transmissions) */
static uint32_t a_max_seq;
static bool a_seen_data;
static bool drop_all_from_a, drop_all_from_b;

static bool record(void *ctx, int side, const uint8_t *f, size_t len)
{
    (void)ctx;
    if (len < ETH + IP_HDR_LEN || get_be16(f + 12) != 0x0800)
        return false; /* ARP passes */
    struct ip_hdr ih;
    if (ip_parse(f + ETH, len - ETH, &ih) != IP_OK || ih.proto != IP_PROTO_TCP)
        return false;
    const uint8_t *t = f + ETH + ih.ihl * 4;
    size_t tlen = ih.total_len - ih.ihl * 4u;
    struct seen s = {.side = side,
                     .at_us = net.now_us,
                     .src = ih.src,
                     .dst = ih.dst,
                     .ttl = ih.ttl,
                     .tos = ih.tos};
    if (tcp_parse(t, tlen, &s.h) != TCP_PARSE_OK)
        return false;
    s.len = tlen - s.h.hdr_len;
    if (nsegs < MAXSEG)
        segs[nsegs++] = s;
    if (side == 0 && s.len) {
        bool first_time = !a_seen_data || seq_geq(s.h.seq, a_max_seq);
        if (first_time) {
            a_seen_data = true;
            a_max_seq = s.h.seq + (uint32_t)s.len;
            a_data_sent++;
            for (size_t i = 0; i < 4; i++)
                if (drop_data_from_a[i] == (int)a_data_sent)
                    return true;
        }
    }
    if ((side == 0 && drop_all_from_a) || (side == 1 && drop_all_from_b))
        return true;
    return scripted;
}

static void setup(void)
{
    pair_init(3);
    nsegs = 0;
    scripted = drop_all_from_a = drop_all_from_b = false;
    memset(drop_data_from_a, 0, sizeof(drop_data_from_a));
    a_data_sent = 0;
    a_max_seq = 0;
    a_seen_data = false;
    wire_set_filter(net.wire, record, NULL);
}

/* The last segment A sent with any of `flags` (0: any), or NULL. */
static const struct seen *last_from_a(uint8_t flags)
{
    for (size_t i = nsegs; i-- > 0;)
        if (segs[i].side == 0 && (!flags || (segs[i].h.flags & flags)))
            return &segs[i];
    return NULL;
}

static unsigned count_from(int side, uint8_t flags, size_t from)
{
    unsigned n = 0;
    for (size_t i = from; i < nsegs; i++)
        if (segs[i].side == side && (segs[i].h.flags & flags) == flags)
            n++;
    return n;
}

/* ---- the scripted peer ---- */

static uint32_t peer_seq; /* B's next sequence number */

static bool a_sent_syn(void *ctx)
{
    (void)ctx;
    return last_from_a(TCP_SYN) != NULL;
}

/* A connects to a B the test plays: B's SYN-ACK has no options (so A must assume an MSS
 * of 536) and offers `wnd`. Returns with A ESTABLISHED. */
static void scripted_connect(uint16_t wnd)
{
    scripted = true;
    ep_connect(&cli, SIM_IP_B, PORT);
    ck_assert(simnet_run(&net, 5000000, a_sent_syn, NULL));
    const struct seen *syn = last_from_a(TCP_SYN);
    peer_seq = 5000;
    inject_segment(net.a, SIM_IP_B, PORT, SIM_IP_A, syn->h.sport, peer_seq, syn->h.seq + 1,
                   TCP_SYN | TCP_ACK, wnd, NULL, 0);
    peer_seq++;
    simnet_run(&net, 1000, NULL, NULL);
    ck_assert_str_eq(tcp_state_name_of(cli.tcb), "ESTABLISHED");
}

/* B acknowledges up to `ack` and offers `wnd`. */
static void peer_ack(uint32_t ack, uint16_t wnd)
{
    inject_segment(net.a, SIM_IP_B, PORT, SIM_IP_A, cli.tcb->local_port, peer_seq, ack, TCP_ACK,
                   wnd, NULL, 0);
}

/* A zero-window probe: an old sequence number, which A must answer with an ACK that
 * carries its current window (RFC 9293 3.10.7.4). */
static void peer_probe(void)
{
    inject_segment(net.a, SIM_IP_B, PORT, SIM_IP_A, cli.tcb->local_port, peer_seq - 1,
                   cli.tcb->snd_nxt, TCP_ACK, 65535, NULL, 0);
}

static void peer_data(const void *data, size_t len, uint16_t wnd)
{
    inject_segment(net.a, SIM_IP_B, PORT, SIM_IP_A, cli.tcb->local_port, peer_seq, cli.tcb->snd_nxt,
                   TCP_ACK, wnd, data, len);
    peer_seq += (uint32_t)len;
}

/* ---- options, MSS, window ---- */

/* MUST-15: a peer that sends no MSS option gets segments of at most 536 bytes.
 * MUST-65: MSS only ever travels on a SYN. */
/* MUST-61, SHLD-27: PSH on the segment that empties the send queue, and only there. */
/* conformance: MUST-15 MUST-65 MUST-61 SHLD-27 */
START_TEST(default_mss_is_536)
{
    scripted_connect(65535);
    ck_assert_uint_eq(cli.tcb->smss, 536);
    static uint8_t d[4000];
    ck_assert_int_eq(tcp_send(cli.tcb, d, sizeof(d)), (int)sizeof(d));
    simnet_run(&net, 1000, NULL, NULL);
    unsigned data_segs = 0;
    for (size_t i = 0; i < nsegs; i++) {
        if (segs[i].side != 0)
            continue;
        ck_assert_uint_le(segs[i].len, 536);
        if (segs[i].len)
            data_segs++;
        if (!(segs[i].h.flags & TCP_SYN))
            ck_assert(!segs[i].h.opts.has_mss);
    }
    ck_assert_uint_ge(data_segs, 7); /* 4000 bytes in segments of 536 */
    for (int round = 0; round < 4 && cli.tcb->snd_una != cli.tcb->snd_max; round++) {
        peer_ack(cli.tcb->snd_nxt, 65535);
        simnet_run(&net, 1000, NULL, NULL);
    }
    ck_assert_uint_eq(cli.tcb->snd_una, cli.tcb->snd_max);
    unsigned psh = 0;
    for (size_t i = 0; i < nsegs; i++)
        if (segs[i].side == 0 && segs[i].len && (segs[i].h.flags & TCP_PSH)) {
            psh++;
            ck_assert_uint_eq(segs[i].h.seq + segs[i].len, cli.tcb->snd_max);
        }
    ck_assert_uint_eq(psh, 1);
}
END_TEST

/* MUST-16: the segments A sends are no larger than the smaller of the peer's MSS and what
 * A's own MTU carries (1500 - 40): a peer on a jumbo-frame link announcing 8960 gets 1460. */
/* conformance: MUST-16 IP-3.3.3-1 */
START_TEST(peer_mss_capped_by_our_mtu)
{
    scripted = true;
    ep_connect(&cli, SIM_IP_B, PORT);
    ck_assert(simnet_run(&net, 5000000, a_sent_syn, NULL));
    const struct seen *syn = last_from_a(TCP_SYN);
    peer_seq = 5000;
    struct tcp_opts o = {.has_mss = true, .mss = 8960};
    inject_segment_opts(net.a, SIM_IP_B, PORT, SIM_IP_A, syn->h.sport, peer_seq, syn->h.seq + 1,
                        TCP_SYN | TCP_ACK, 65535, &o, NULL, 0);
    peer_seq++;
    simnet_run(&net, 1000, NULL, NULL);
    ck_assert_str_eq(tcp_state_name_of(cli.tcb), "ESTABLISHED");
    ck_assert_uint_eq(cli.tcb->smss, 1460);
    static uint8_t d[4000];
    ck_assert_int_eq(tcp_send(cli.tcb, d, sizeof(d)), (int)sizeof(d));
    simnet_run(&net, 1000, NULL, NULL);
    size_t largest = 0;
    for (size_t i = 0; i < nsegs; i++)
        if (segs[i].side == 0 && segs[i].len > largest)
            largest = segs[i].len;
    ck_assert_uint_eq(largest, 1460);
}
END_TEST

/* MUST-1: the window is an unsigned number: 65535 is the largest window, not -1. */
/* conformance: MUST-1 */
START_TEST(window_is_unsigned)
{
    scripted_connect(65535);
    ck_assert_uint_eq(cli.tcb->snd_wnd, 65535);
    static uint8_t d[20000];
    ck_assert_int_eq(tcp_send(cli.tcb, d, sizeof(d)), (int)sizeof(d));
    simnet_run(&net, 1000, NULL, NULL);
    /* the whole initial window (10 segments of 536) leaves at once */
    ck_assert_uint_eq(cli.tcb->snd_nxt - cli.tcb->snd_una, 10 * 536);
    peer_ack(cli.tcb->snd_una + 536, 40000); /* > 32767 */
    ck_assert_uint_eq(cli.tcb->snd_wnd, 40000);
}
END_TEST

/* MUST-38: the sender avoids silly windows: no segment shorter than the MSS unless it
 * holds all the data there is, or at least half the largest window the peer offered. */
/* conformance: MUST-38 */
START_TEST(sender_sws_avoidance)
{
    scripted_connect(1000); /* max_sndwnd 1000: a short segment must be >= 500 bytes */
    ck_assert_int_eq(tcp_set_nodelay(cli.tcb, true), 0); /* Nagle is another rule */
    static uint8_t d[3000];
    ck_assert_int_eq(tcp_send(cli.tcb, d, sizeof(d)), (int)sizeof(d));
    simnet_run(&net, 1000, NULL, NULL);
    /* 536 fits; the 464 left of the window would be a silly segment */
    ck_assert_uint_eq(cli.tcb->snd_nxt - cli.tcb->snd_una, 536);
    for (int round = 0; round < 6 && cli.tcb->snd_una != cli.tcb->snd_max; round++) {
        peer_ack(cli.tcb->snd_nxt, 1000);
        simnet_run(&net, 1000, NULL, NULL);
    }
    for (size_t i = 0; i < nsegs; i++)
        if (segs[i].side == 0 && segs[i].len && segs[i].len < 536)
            ck_assert_msg(segs[i].len >= 500 || segs[i].h.flags & TCP_PSH,
                          "silly segment of %zu bytes", segs[i].len);
}
END_TEST

/* A connects to a B the test plays, with a receive buffer of `rcvbuf` bytes and an
 * application that reads only when the test says (cli.stalled). */
static void scripted_receiver(size_t rcvbuf)
{
    cli.stalled = true;
    cli.tcb = tcp_open(net.a);
    ck_assert_int_eq(tcp_set_bufsize(cli.tcb, 0, rcvbuf), 0);
    tcp_set_upcalls(cli.tcb, &ep_up, &cli);
    scripted = true;
    ck_assert_int_eq(tcp_connect(cli.tcb, SIM_IP_B, PORT), 0);
    ck_assert(simnet_run(&net, 5000000, a_sent_syn, NULL));
    peer_seq = 9000;
    inject_segment(net.a, SIM_IP_B, PORT, SIM_IP_A, cli.tcb->local_port, peer_seq, cli.tcb->iss + 1,
                   TCP_SYN | TCP_ACK, 65535, NULL, 0);
    peer_seq++;
    simnet_run(&net, 1000, NULL, NULL);
}

/* MUST-39: the receiver avoids silly windows: once closed, the window reopens only by
 * min(buffer / 2, MSS) at a time, never by the few bytes the application just read. */
/* conformance: MUST-39 */
START_TEST(receiver_sws_avoidance)
{
    scripted_receiver(4096);
    static uint8_t d[1024];
    for (int i = 0; i < 4; i++) /* fill the 4096-byte buffer */
        peer_data(d, sizeof(d), 65535);
    simnet_run(&net, 100000, NULL, NULL);
    ck_assert_uint_eq(last_from_a(TCP_ACK)->h.wnd, 0);
    size_t from = nsegs;
    uint8_t buf[100];
    for (int i = 0; i < 10; i++) { /* the application reads 100 bytes at a time */
        ck_assert_int_eq(tcp_recv(cli.tcb, buf, sizeof(buf)), 100);
        peer_probe(); /* and B probes the window */
        simnet_run(&net, 100000, NULL, NULL);
    }
    uint32_t step = 536 < 4096 / 2 ? 536 : 4096 / 2; /* MSS 536: B sent no MSS option */
    unsigned acks = 0;
    for (size_t i = from; i < nsegs; i++) {
        if (segs[i].side != 0)
            continue;
        acks++;
        uint32_t w = (uint32_t)segs[i].h.wnd << cli.tcb->rcv_wscale;
        ck_assert_msg(w == 0 || w >= step, "silly window of %u bytes advertised", w);
    }
    ck_assert_uint_ge(acks, 1);
}
END_TEST

/* ---- the initial sequence number ---- */

/* MUST-8: the ISN has a clock term that ticks every 4 microseconds (RFC 9293 3.4.1). */
/* conformance: MUST-8 SHLD-1 MUST-9 */
START_TEST(isn_has_a_clock_term)
{
    uint32_t a = tcp_new_isn(net.a, SIM_IP_A, 40000, SIM_IP_B, 80);
    uint64_t t0 = net.now_us;
    simnet_run(&net, 1000000, NULL, NULL);
    uint32_t b = tcp_new_isn(net.a, SIM_IP_A, 40000, SIM_IP_B, 80);
    ck_assert_uint_eq(b - a, (uint32_t)((net.now_us - t0) / 4));
    /* SHLD-1 / MUST-9: another connection's ISN is not predictable from this one */
    uint32_t c = tcp_new_isn(net.a, SIM_IP_A, 40001, SIM_IP_B, 80);
    ck_assert_uint_ne(c - b, 0);
    ck_assert_uint_ne(c - b, 1);
}
END_TEST

/* ---- addresses ---- */

/* MUST-57: a SYN to a broadcast or multicast address is dropped without an answer.
 * MUST-63: so is a SYN from an address no host can have (IP's martian filter). */
/* conformance: MUST-57 MUST-57.2 MUST-63 */
START_TEST(syn_to_broadcast_or_from_martian_dropped)
{
    ep_listen(&srv, PORT, 4);
    size_t from = nsegs;
    inject_segment(net.b, SIM_IP_A, 40000, 0x0a0000ff, PORT, 1, 0, TCP_SYN, 65535, NULL, 0);
    inject_segment(net.b, SIM_IP_A, 40001, 0xffffffff, PORT, 1, 0, TCP_SYN, 65535, NULL, 0);
    static const uint32_t martians[] = {0x7f000001, 0x0a0000ff, 0, SIM_IP_B, 0xe0000001};
    for (size_t i = 0; i < sizeof(martians) / sizeof(martians[0]); i++)
        inject_segment(net.b, martians[i], 40002, SIM_IP_B, PORT, 1, 0, TCP_SYN, 65535, NULL, 0);
    /* to B's own address, but in a link-layer broadcast frame */
    struct pkb *p =
        segment_pkb(SIM_IP_A, 40003, SIM_IP_B, PORT, 1, 0, TCP_SYN, 65535, NULL, NULL, 0);
    ck_assert_ptr_nonnull(p);
    p->meta.link_broadcast = true;
    ip_input(net.b, p);
    simnet_run(&net, 2000000, NULL, NULL);
    ck_assert_uint_eq(count_from(1, 0, from), 0); /* B sent nothing */
    ck_assert_uint_eq(tcp_count(net.b), 1);       /* the listener alone */
    ck_assert_uint_eq(stack_stats(net.b)->tcp.rx_not_unicast, 2);
    /* the link broadcast to a unicast address: IP drops it first (RFC 1122 3.3.6) */
    ck_assert_uint_eq(stack_stats(net.b)->ip.rx_link_broadcast, 1);
    ck_assert_uint_eq(stack_stats(net.b)->ip.rx_bad_source, 5);
}
END_TEST

/* MUST-46: OPEN to a broadcast or multicast address is refused.
 * MUST-43 (RFC 1122 3.2.1.3): a connection's local address is one host's, so a socket
 * bound to the subnet broadcast may not connect. Neither sends a thing. */
/* conformance: MUST-46 MUST-46.2 MUST-43 IP-3.2.1.3-5 */
START_TEST(broadcast_addresses_refused_by_connect)
{
    static const uint32_t bad[] = {0x0a0000ff, 0xffffffff, 0xe0000001, 0};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct tcb *t = tcp_open(net.a);
        ck_assert_int_eq(tcp_connect(t, bad[i], PORT), -EINVAL);
        tcp_close(t);
    }
    struct tcb *t = tcp_open(net.a);
    ck_assert_int_eq(tcp_bind(t, 0x0a0000ff, 0), 0);
    ck_assert_int_eq(tcp_connect(t, SIM_IP_B, PORT), -EADDRNOTAVAIL);
    tcp_close(t);
    simnet_run(&net, 2000000, NULL, NULL);
    ck_assert_uint_eq(nsegs, 0);
    ck_assert_uint_eq(tcp_count(net.a), 0);
}
END_TEST

/* MUST-45 (RFC 9293 3.9.1 OPEN): once a connection has a local address, its segments
 * use it, not whatever IP would pick now. Re-addressing A's interface mid-connection
 * shows the difference: the next segment still comes from the connection's address. */
/* conformance: MUST-45 */
START_TEST(connection_keeps_its_local_address)
{
    open_connection();
    ck_assert_uint_eq(cli.tcb->local_ip, SIM_IP_A);
    net.a->cfg.ip = SIM_IP_A + 100; /* IP's default source from now on */
    static const uint8_t x[] = "x";
    cli.tx = x;
    cli.tx_len = 1;
    size_t before = nsegs;
    ep_push(&cli);
    simnet_run(&net, 100000, NULL, NULL);
    unsigned data = 0;
    for (size_t i = before; i < nsegs; i++)
        if (segs[i].side == 0 && segs[i].len > 0) {
            ck_assert_uint_eq(segs[i].src, SIM_IP_A);
            data++;
        }
    ck_assert_uint_ge(data, 1);
}
END_TEST

/* ---- ICMP ---- */

static void icmp_error_for(struct tcb *t, uint8_t type, uint8_t code, int err, uint32_t seq)
{
    uint8_t orig[IP_HDR_LEN + 8];
    struct ip_hdr ih;
    memset(&ih, 0, sizeof(ih));
    ih.version = 4;
    ih.ihl = 5;
    ih.total_len = IP_HDR_LEN + 40;
    ih.ttl = 64;
    ih.proto = IP_PROTO_TCP;
    ih.src = t->local_ip;
    ih.dst = t->remote_ip;
    ip_build(&ih, orig);
    put_be16(orig + IP_HDR_LEN, t->local_port);
    put_be16(orig + IP_HDR_LEN + 2, t->remote_port);
    put_be32(orig + IP_HDR_LEN + 4, seq);
    ip_deliver_error(t->stack, err, type, code, t->remote_ip, orig, sizeof(orig));
}

static bool srv_got_all(void *ctx)
{
    return srv.rx_len >= *(size_t *)ctx;
}

/* MUST-56: no ICMP error aborts a synchronized connection: port and protocol unreachable
 * (hard only in SYN-SENT), net/host unreachable, time exceeded all leave it working. */
/* conformance: MUST-56 MUST-56.2 IP-3.2.2-3 */
START_TEST(icmp_errors_do_not_abort_established)
{
    open_connection();
    static uint8_t d[50000];
    drop_all_from_a = true; /* keep data in flight so the errors quote a valid seq */
    ck_assert_int_eq(tcp_send(cli.tcb, d, sizeof(d)), (int)sizeof(d));
    simnet_run(&net, 1000, NULL, NULL);
    static const uint8_t codes[][2] = {{3, 3}, {3, 2}, {3, 1}, {3, 0}, {11, 0}};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        icmp_error_for(cli.tcb, codes[i][0], codes[i][1], ECONNREFUSED, cli.tcb->snd_una);
    ck_assert_uint_eq(stack_stats(net.a)->tcp.rx_icmp_errors, 5);
    ck_assert_str_eq(tcp_state_name_of(cli.tcb), "ESTABLISHED");
    ck_assert_int_eq(cli.err, 0);
    drop_all_from_a = false;
    size_t want = sizeof(d);
    ck_assert(simnet_run(&net, 30000000, srv_got_all, &want));
    ck_assert_int_eq(cli.err, 0);
}
END_TEST

/* ---- closing ---- */

static bool srv_err(void *ctx)
{
    (void)ctx;
    return srv.err != 0;
}

/* SHLD-3 (RFC 2525 2.17): CLOSE with received data the application never read tells the
 * peer with RST instead of FIN: the data is lost, and the peer must know. */
/* conformance: SHLD-3 MUST-12 */
START_TEST(close_with_unread_data_sends_rst)
{
    open_connection();
    cli.stalled = true;
    ck_assert_int_eq(tcp_send(srv.tcb, "unread", 6), 6);
    simnet_run(&net, 100000, NULL, NULL);
    size_t from = nsegs;
    tcp_close(cli.tcb);
    cli.tcb = NULL;
    ck_assert(simnet_run(&net, 1000000, srv_err, NULL));
    ck_assert_int_eq(srv.err, -ECONNRESET);
    ck_assert_uint_eq(count_from(0, TCP_RST, from), 1);
    ck_assert_uint_eq(count_from(0, TCP_FIN, from), 0);
}
END_TEST

static bool only_listener_left(void *ctx)
{
    (void)ctx;
    return tcp_count(net.a) == 0 && tcp_count(net.b) == 1;
}

/* CLOSE in SYN-SENT deletes the TCB (RFC 9293 3.10.4): no more SYNs, and the SYN-ACK that
 * was already on its way is answered with RST, so the server forgets it too. */
/* conformance: MUST-12 */
START_TEST(close_during_handshake)
{
    ep_listen(&srv, PORT, 4);
    ep_connect(&cli, SIM_IP_B, PORT);
    tcp_close(cli.tcb);
    cli.tcb = NULL;
    ck_assert(simnet_run(&net, 30000000, only_listener_left, NULL));
    simnet_run(&net, 10000000, NULL, NULL);
    ck_assert_uint_le(count_from(0, TCP_SYN, 0), 1);
    ck_assert_ptr_null(srv.tcb);
    ck_assert_uint_eq(tcp_count(net.a), 0);
    ck_assert_uint_eq(tcp_count(net.b), 1);
}
END_TEST

/* MUST-11: a connection that came from LISTEN and is reset in SYN-RECEIVED goes back to
 * LISTEN: the half-open child goes away, the listener stays and accepts the next one. */
/* conformance: MUST-11 */
START_TEST(rst_in_syn_received_returns_to_listen)
{
    ep_listen(&srv, PORT, 4);
    scripted = true;
    inject_segment(net.b, SIM_IP_A, 40000, SIM_IP_B, PORT, 1000, 0, TCP_SYN, 65535, NULL, 0);
    simnet_run(&net, 1000, NULL, NULL);
    ck_assert_uint_eq(count_from(1, TCP_SYN | TCP_ACK, 0), 1);
    ck_assert_uint_eq(tcp_count(net.b), 2); /* the listener and the half-open child */
    inject_segment(net.b, SIM_IP_A, 40000, SIM_IP_B, PORT, 1001, 0, TCP_RST, 0, NULL, 0);
    simnet_run(&net, 1000, NULL, NULL);
    ck_assert_uint_eq(tcp_count(net.b), 1);
    ck_assert_ptr_null(srv.tcb);
    scripted = false;
    ep_connect(&cli, SIM_IP_B, PORT);
    ck_assert(simnet_run(&net, 5000000, both_connected, NULL));
}
END_TEST

/* ---- retransmission and congestion control ---- */

static bool all_acked(void *ctx)
{
    (void)ctx;
    return cli.tcb && cli.tcb->snd_una == cli.tcb->snd_max;
}

/* MUST-18 (Karn): the ACK of a retransmitted segment gives no RTT sample: it could be for
 * either copy. Here it would be a sample of a whole RTO instead of the wire's 200 us. */
/* conformance: MUST-18 */
START_TEST(karn_no_sample_from_retransmission)
{
    open_connection();
    net.a->cfg.tcp_tlp = false; /* the tail loss probe would go first: the RTO is tested */
    uint32_t srtt = cli.tcb->srtt_us;
    ck_assert_uint_lt(srtt, 5000);
    drop_data_from_a[0] = 1; /* the first data segment is lost once */
    ck_assert_int_eq(tcp_send(cli.tcb, "hello", 5), 5);
    ck_assert(simnet_run(&net, 5000000, all_acked, NULL));
    ck_assert_uint_eq(stack_stats(net.a)->tcp.timeouts, 1);
    ck_assert_uint_lt(cli.tcb->srtt_us, 5000);
}
END_TEST

/* MUST-19 (RFC 6298 5.5): each timeout of the same data doubles the RTO (up to 60 s). */
/* conformance: MUST-19 MUST-20.2 */
START_TEST(rto_doubles_on_data_timeouts)
{
    open_connection();
    net.a->cfg.tcp_tlp = false; /* the tail loss probe would go first: the RTO is tested */
    drop_all_from_a = true;
    ck_assert_int_eq(tcp_send(cli.tcb, "hello", 5), 5);
    uint64_t t0 = net.now_us;
    simnet_run(&net, 600000000ull, NULL, NULL);
    uint64_t at[16];
    unsigned n = 0;
    for (size_t i = 0; i < nsegs && n < 16; i++)
        if (segs[i].side == 0 && segs[i].len == 5)
            at[n++] = segs[i].at_us;
    ck_assert_uint_eq(n, 9); /* the first send and tcp_max_retries (8) retransmissions */
    ck_assert_int_eq(cli.err, -ETIMEDOUT);
    for (unsigned i = 2; i < n; i++) {
        uint64_t prev = at[i - 1] - at[i - 2], cur = at[i] - at[i - 1];
        if (prev * 2 <= 60000000)
            ck_assert_msg(cur >= prev * 2 - 1000 && cur <= prev * 2 + 1000,
                          "interval %u: %llu us after %llu us", i, (unsigned long long)cur,
                          (unsigned long long)prev);
    }
    ck_assert_uint_ge(at[n - 1] - t0, 50000000); /* the backoff takes its time */
}
END_TEST

/* RFC 5681 3.1: after a retransmission timeout cwnd is one segment and ssthresh half the
 * flight (at least two segments). */
/* conformance: MUST-19 */
START_TEST(timeout_cuts_cwnd_to_one_segment)
{
    open_connection();
    static uint8_t d[30000];
    drop_all_from_a = true;
    ck_assert_int_eq(tcp_send(cli.tcb, d, sizeof(d)), (int)sizeof(d));
    simnet_run(&net, 1000, NULL, NULL);
    uint32_t flight = cli.tcb->snd_max - cli.tcb->snd_una;
    ck_assert_uint_eq(flight, 10 * cli.tcb->smss); /* RFC 6928 initial window */
    while (stack_stats(net.a)->tcp.timeouts == 0)
        simnet_run(&net, 10000, NULL, NULL);
    ck_assert_uint_eq(cli.tcb->cwnd, cli.tcb->smss);
    /* FlightSize when the timer fired: the tail loss probe (RFC 8985) sent one more
     * segment of new data before it */
    flight = cli.tcb->snd_max - cli.tcb->snd_una;
    ck_assert_uint_eq(flight, 11 * cli.tcb->smss);
    ck_assert_uint_eq(cli.tcb->ssthresh, flight / 2);
}
END_TEST

/* RFC 5681 3.1: in congestion avoidance cwnd grows by one SMSS per cwnd acknowledged, not
 * by what each ACK covers as in slow start. */
/* conformance: MUST-19 */
START_TEST(congestion_avoidance_grows_one_mss_per_window)
{
    open_connection();
    struct tcb *t = cli.tcb;
    uint32_t smss = t->smss;
    t->ssthresh = 10 * smss;
    t->cwnd = 10 * smss;
    for (int i = 0; i < 10; i++)
        tcp_cc_on_ack(t, smss);
    ck_assert_uint_eq(t->cwnd, 11 * smss);
    for (int i = 0; i < 5; i++)
        tcp_cc_on_ack(t, smss);
    ck_assert_uint_eq(t->cwnd, 11 * smss); /* half a window: no growth yet */
    /* and below ssthresh, slow start: each ACK adds what it acknowledged */
    t->cwnd = 2 * smss;
    tcp_cc_on_ack(t, smss);
    ck_assert_uint_eq(t->cwnd, 3 * smss);
}
END_TEST

/* RFC 6582 (NewReno): two losses in one window. Fast retransmit repairs the first; the ACK
 * that follows covers only part of the flight, and the second hole is resent at once
 * instead of waiting for a timeout. */
/* conformance: MUST-19 */
START_TEST(newreno_partial_ack_retransmits)
{
    /* without SACK: with it, the scoreboard would fill the second hole instead */
    pair_teardown();
    struct stack_config ca, cb;
    simnet_config(&ca, 0, 3, 0);
    simnet_config(&cb, 1, 3, 0);
    ca.tcp_sack = cb.tcp_sack = false;
    ck_assert(simnet_init_with(&net, 3, NULL, &ca, &cb));
    ep_init(&cli, net.a);
    ep_init(&srv, net.b);
    wire_set_filter(net.wire, record, NULL);
    open_connection();
    drop_data_from_a[0] = 2;
    drop_data_from_a[1] = 5;
    static uint8_t d[40 * 1460];
    fill_pattern(d, sizeof(d), 7);
    cli.tx = d;
    cli.tx_len = sizeof(d);
    ep_push(&cli);
    size_t want = sizeof(d);
    ck_assert(simnet_run(&net, 30000000, srv_got_all, &want));
    ck_assert(memcmp(srv.rx, d, sizeof(d)) == 0);
    ck_assert_uint_eq(stack_stats(net.a)->tcp.fast_retransmits, 1);
    ck_assert_uint_eq(stack_stats(net.a)->tcp.timeouts, 0);
}
END_TEST

/* MUST-35, SHLD-29, SHLD-30: a shut window is probed, the first probe one RTO after it
 * shut, then again and again with the interval doubling each time (RFC 9293 3.8.6.1). */
/* conformance: MUST-35 SHLD-29 SHLD-30 */
START_TEST(zero_window_probes_back_off)
{
    scripted_connect(65535);
    ck_assert_int_eq(tcp_send(cli.tcb, "ab", 2), 2);
    simnet_run(&net, 1000, NULL, NULL);
    peer_ack(cli.tcb->snd_nxt, 0); /* all acknowledged, and the window shuts */
    uint64_t shut_at = net.now_us;
    uint32_t rto = cli.tcb->rto_us;
    ck_assert_int_eq(tcp_send(cli.tcb, "cd", 2), 2);
    size_t from = nsegs;
    simnet_run(&net, 60000000, NULL, NULL);
    uint64_t at[8];
    unsigned probes = 0;
    for (size_t i = from; i < nsegs && probes < 8; i++)
        if (segs[i].side == 0 && segs[i].len == 0 && segs[i].h.seq == cli.tcb->snd_una - 1)
            at[probes++] = segs[i].at_us;
    ck_assert_uint_ge(probes, 4);
    ck_assert_uint_ge(at[0] - shut_at, rto);
    for (unsigned k = 2; k < probes; k++)
        ck_assert_uint_ge(at[k] - at[k - 1], 2 * (at[k - 1] - at[k - 2]) - 1000);
}
END_TEST

/* ---- acknowledgements ---- */

/* MUST-58: segments that arrive together (one receive burst) are acknowledged together:
 * eight full segments in one burst get one ACK, for all of them, where one by one they
 * would get an ACK for every second segment. MUST-59: that ACK goes only after all eight
 * were processed, and acknowledges the last. */
/* conformance: MUST-58 MUST-59 */
START_TEST(ack_aggregated_over_a_burst)
{
    scripted_connect(65535);
    static const uint8_t d[536];
    size_t from = nsegs;
    tcp_burst_begin(net.a);
    for (int i = 0; i < 8; i++)
        peer_data(d, sizeof(d), 65535);
    tcp_burst_end(net.a);
    simnet_run(&net, 1000, NULL, NULL);
    ck_assert_uint_eq(count_from(0, TCP_ACK, from), 1);
    ck_assert_uint_eq(last_from_a(TCP_ACK)->h.ack, peer_seq);
}
END_TEST

/* MUST-40: an ACK is delayed (SHLD-18) but by less than 0.5 s. */
/* conformance: MUST-40 SHLD-18 */
START_TEST(delayed_ack_within_500ms)
{
    open_connection();
    /* the first data lets B advertise its whole (scaled) window: that update goes at once */
    ck_assert_int_eq(tcp_send(cli.tcb, "x", 1), 1);
    ck_assert(simnet_run(&net, 2000000, all_acked, NULL));
    simnet_run(&net, 1000000, NULL, NULL);
    size_t from = nsegs;
    /* a patient sender: its retransmission must not draw the ACK before the timer does */
    cli.tcb->rto_us = 3000000;
    ck_assert_int_eq(tcp_send(cli.tcb, "x", 1), 1);
    ck_assert(simnet_run(&net, 2000000, all_acked, NULL));
    const struct seen *data = NULL, *ack = NULL;
    for (size_t i = from; i < nsegs; i++) {
        if (segs[i].side == 0 && segs[i].len == 1 && !data)
            data = &segs[i];
        if (segs[i].side == 1 && data && !ack)
            ack = &segs[i];
    }
    ck_assert_ptr_nonnull(data);
    ck_assert_ptr_nonnull(ack);
    uint64_t delay = ack->at_us - data->at_us;
    ck_assert_uint_eq(stack_stats(net.a)->tcp.timeouts, 0);   /* the delayed-ACK timer's, */
    ck_assert_uint_eq(stack_stats(net.a)->tcp.tlp_probes, 0); /* not drawn by a probe */
    ck_assert_uint_gt(delay, 1000);                           /* delayed (the wire takes 100 us) */
    ck_assert_uint_le(delay, 500000);                         /* but under half a second */
}
END_TEST

/* ---- per-connection settings ---- */

static bool cli_err_set(void *ctx)
{
    (void)ctx;
    return cli.err != 0;
}

/* MUST-48, MUST-49 (RFC 1122 3.2.1.6, 3.2.1.7): the application sets the TTL and the
 * DSCP/TOS of its connection's segments, and they reach IP unchanged (SHLD-22). */
/* conformance: MUST-48 MUST-49 SHLD-22 SHLD-21 IP-3.2.1.6-1 IP-3.2.1.7-3 IP-3.2.1.7-1 */
START_TEST(ttl_and_tos_per_connection)
{
    open_connection();
    const struct seen *s = last_from_a(0);
    ck_assert_uint_eq(s->ttl, 64); /* the stack's default, never 0 */
    ck_assert_uint_eq(s->tos, 0);
    ck_assert_int_eq(tcp_set_ip_fields(cli.tcb, 7, 0xb8), 0); /* DSCP EF */
    ck_assert_int_eq(tcp_send(cli.tcb, "x", 1), 1);
    ck_assert(simnet_run(&net, 2000000, all_acked, NULL));
    s = last_from_a(0);
    ck_assert_uint_eq(s->ttl, 7);
    ck_assert_uint_eq(s->tos, 0xb8);
    ck_assert_int_eq(tcp_set_ip_fields(cli.tcb, 0, -1), 0); /* back to the default TTL */
    ck_assert_int_eq(tcp_send(cli.tcb, "y", 1), 1);
    ck_assert(simnet_run(&net, 2000000, all_acked, NULL));
    ck_assert_uint_eq(last_from_a(0)->ttl, 64);
    ck_assert_uint_eq(last_from_a(0)->tos, 0xb8);
    ck_assert_int_eq(tcp_set_ip_fields(cli.tcb, 256, -1), -EINVAL);
}
END_TEST

/* MUST-21: the application sets R2, the retransmissions after which TCP gives up. */
/* conformance: MUST-21 MUST-20.2 */
START_TEST(r2_per_connection)
{
    open_connection();
    net.a->cfg.tcp_tlp = false; /* the tail loss probe would go first: the RTO is tested */
    ck_assert_int_eq(tcp_set_max_retries(cli.tcb, 3), 0);
    drop_all_from_a = true;
    size_t from = nsegs;
    ck_assert_int_eq(tcp_send(cli.tcb, "hello", 5), 5);
    ck_assert(simnet_run(&net, 600000000ull, cli_err_set, NULL));
    ck_assert_int_eq(cli.err, -ETIMEDOUT);
    unsigned sends = 0;
    for (size_t i = from; i < nsegs; i++)
        sends += segs[i].side == 0 && segs[i].len == 5;
    ck_assert_uint_eq(sends, 1 + 3);
}
END_TEST

/* An ICMP message about a segment A sent, delivered to A as if from B's network. */
static void inject_icmp_about(struct tcb *t, uint8_t type, uint8_t code, uint32_t seq)
{
    uint8_t f[IP_HDR_LEN + 8 + IP_HDR_LEN + 8];
    memset(f, 0, sizeof(f));
    struct ip_hdr oh = {.version = 4,
                        .ihl = 5,
                        .total_len = IP_HDR_LEN + 40,
                        .ttl = 64,
                        .proto = IP_PROTO_TCP,
                        .src = t->local_ip,
                        .dst = t->remote_ip};
    uint8_t *icmp = f + IP_HDR_LEN, *orig = icmp + 8;
    ip_build(&oh, orig);
    put_be16(orig + IP_HDR_LEN, t->local_port);
    put_be16(orig + IP_HDR_LEN + 2, t->remote_port);
    put_be32(orig + IP_HDR_LEN + 4, seq);
    icmp[0] = type;
    icmp[1] = code;
    put_be16(icmp + 2, inet_checksum(icmp, 8 + IP_HDR_LEN + 8));
    struct ip_hdr ih = {.version = 4,
                        .ihl = 5,
                        .total_len = sizeof(f),
                        .ttl = 64,
                        .proto = IP_PROTO_ICMP,
                        .src = t->remote_ip,
                        .dst = t->local_ip};
    ip_build(&ih, f);
    ip_input(t->stack, pkb_from_bytes(f, sizeof(f)));
}

/* RFC 1122 3.2.2.5: Parameter Problem reaches the transport; TCP keeps the connection
 * (MUST-56) and, like every soft error, reports it to the application while the connection
 * lives (MUST-47: tcp_soft_error / sock_soft_error). */
/* conformance: MUST-47 MUST-56.3 MUST-54 IP-3.2.2.5-2 SHLD-25 */
START_TEST(soft_errors_reported_while_alive)
{
    open_connection();
    static uint8_t d[20000];
    drop_all_from_a = true;
    ck_assert_int_eq(tcp_send(cli.tcb, d, sizeof(d)), (int)sizeof(d));
    simnet_run(&net, 1000, NULL, NULL);
    ck_assert_int_eq(tcp_soft_error(cli.tcb), 0);
    inject_icmp_about(cli.tcb, 12, 0, cli.tcb->snd_una);
    ck_assert_uint_eq(stack_stats(net.a)->icmp.param_problem_rx, 1);
    ck_assert_uint_eq(stack_stats(net.a)->tcp.rx_icmp_errors, 1);
    ck_assert_int_eq(tcp_soft_error(cli.tcb), -EPROTO);
    inject_icmp_about(cli.tcb, 3, 1, cli.tcb->snd_una); /* host unreachable */
    ck_assert_int_eq(tcp_soft_error(cli.tcb), -EHOSTUNREACH);
    ck_assert_str_eq(tcp_state_name_of(cli.tcb), "ESTABLISHED");
    ck_assert_int_eq(cli.err, 0);
    drop_all_from_a = false;
    size_t want = sizeof(d);
    ck_assert(simnet_run(&net, 30000000, srv_got_all, &want));
}
END_TEST

/* ---- keep-alive (RFC 9293 3.8.4, RFC 1122 4.2.3.6) ---- */

static unsigned keepalives_from_a(size_t from)
{
    unsigned n = 0;
    for (size_t i = from; i < nsegs; i++)
        if (segs[i].side == 0 && segs[i].len == 0 && segs[i].h.flags == TCP_ACK &&
            segs[i].h.seq == cli.tcb->snd_una - 1)
            n++;
    return n;
}

/* Off by default (MUST-25); on request (MUST-24) the first probe comes only after two
 * hours of silence (MUST-26, MUST-28), carries no data (SHLD-12), and the peer's answer
 * keeps the connection. */
/* conformance: MUST-24 MUST-25 MUST-26 MUST-28 SHLD-12 MAY-5 */
START_TEST(keepalive_off_by_default_then_after_two_hours)
{
    open_connection();
    size_t from = nsegs;
    simnet_run(&net, 3 * 3600 * 1000000ull, NULL, NULL);
    ck_assert_uint_eq(count_from(0, 0, from), 0); /* off: three silent hours */
    ck_assert_int_eq(tcp_set_keepalive(cli.tcb, 1, 0, 0, 0), 0);
    simnet_run(&net, 7199 * 1000000ull, NULL, NULL);
    ck_assert_uint_eq(keepalives_from_a(from), 0);
    simnet_run(&net, 2 * 1000000ull, NULL, NULL);
    ck_assert_uint_eq(keepalives_from_a(from), 1);
    ck_assert_uint_eq(count_from(1, TCP_ACK, from), 1); /* B answered */
    simnet_run(&net, 3600 * 1000000ull, NULL, NULL);
    ck_assert_uint_eq(keepalives_from_a(from), 1); /* answered: the next in two hours */
    ck_assert_str_eq(tcp_state_name_of(cli.tcb), "ESTABLISHED");
    ck_assert_uint_eq(stack_stats(net.a)->tcp.keepalive_probes, 1);
}
END_TEST

/* A dead peer is found after `cnt` unanswered probes `intvl` apart (MUST-27: all of it
 * configurable); one lost answer is not enough (MUST-29). */
/* conformance: MUST-27 MUST-29 */
START_TEST(keepalive_detects_dead_peer)
{
    open_connection();
    ck_assert_int_eq(tcp_set_keepalive(cli.tcb, 1, 10, 5, 3), 0);
    size_t from = nsegs;
    drop_all_from_b = true; /* the first answer is lost */
    simnet_run(&net, 12 * 1000000ull, NULL, NULL);
    ck_assert_uint_eq(keepalives_from_a(from), 1);
    drop_all_from_b = false;
    simnet_run(&net, 5 * 1000000ull, NULL, NULL);
    ck_assert_uint_eq(keepalives_from_a(from), 2);
    ck_assert_int_eq(cli.err, 0);
    /* now B is gone for good */
    drop_all_from_b = true;
    uint64_t t0 = net.now_us;
    ck_assert(simnet_run(&net, 3600 * 1000000ull, cli_err_set, NULL));
    ck_assert_int_eq(cli.err, -ETIMEDOUT);
    ck_assert_uint_eq(keepalives_from_a(from), 2 + 3);
    ck_assert_uint_le(net.now_us - t0, 30 * 1000000ull); /* 10 s idle + 3 x 5 s */
    ck_assert_uint_eq(stack_stats(net.a)->tcp.keepalive_timeouts, 1);
}
END_TEST

/* ---- urgent data (RFC 9293 3.8.5, RFC 6093) ---- */

static unsigned urgent_calls;
static void srv_urgent(void *ctx)
{
    (void)ctx;
    urgent_calls++;
}

/* "ab", then "!" sent urgent, then "cd": every segment up to the mark says URG with a
 * pointer to the octet after "!" (MUST-62); the receiver is told at once (MUST-32), takes
 * "!" apart (MUST-33: one urgent byte waits, or -EINVAL), and its stream is "ab" up to the
 * mark, then "cd". */
/* conformance: MUST-30 MUST-62 MUST-31 MUST-32 MUST-33 */
START_TEST(urgent_byte_out_of_band)
{
    open_connection();
    static struct tcp_upcalls up;
    up = ep_up;
    up.urgent = srv_urgent;
    urgent_calls = 0;
    tcp_set_upcalls(srv.tcb, &up, &srv);
    srv.stalled = true;
    uint8_t oob;
    ck_assert_int_eq(tcp_recv_urgent(srv.tcb, &oob), -EINVAL);
    size_t from = nsegs;
    ck_assert_int_eq(tcp_send(cli.tcb, "ab", 2), 2);
    ck_assert_int_eq(tcp_send_urgent(cli.tcb, "!", 1), 1);
    ck_assert_int_eq(tcp_send(cli.tcb, "cd", 2), 2);
    ck_assert_int_eq(tcp_shutdown(cli.tcb), 0); /* the FIN is in before anything is read */
    ck_assert(simnet_run(&net, 2000000, all_acked, NULL));
    unsigned urg = 0;
    for (size_t i = from; i < nsegs; i++) {
        if (segs[i].side != 0 || !(segs[i].h.flags & TCP_URG))
            continue;
        urg++;
        /* the pointer names the octet after "!", which is cli's byte 3 */
        ck_assert_uint_eq(segs[i].h.seq + segs[i].h.urg_ptr, cli.tcb->iss + 1 + 3);
    }
    ck_assert_uint_ge(urg, 1);
    ck_assert_uint_eq(urgent_calls, 1);
    ck_assert_int_eq(tcp_recv_urgent(srv.tcb, &oob), 1);
    ck_assert_uint_eq(oob, '!');
    ck_assert_int_eq(tcp_recv_urgent(srv.tcb, &oob), -EINVAL);
    char buf[16];
    ck_assert_int_eq(tcp_at_mark(srv.tcb), 0);
    ck_assert_int_eq(tcp_recv(srv.tcb, buf, sizeof(buf)), 2); /* stops at the mark */
    ck_assert_mem_eq(buf, "ab", 2);
    ck_assert_int_eq(tcp_at_mark(srv.tcb), 1);
    ck_assert_int_eq(tcp_recv(srv.tcb, buf, sizeof(buf)), 2);
    ck_assert_mem_eq(buf, "cd", 2);
    ck_assert_int_eq(tcp_at_mark(srv.tcb), 0);
    ck_assert_int_eq(tcp_recv(srv.tcb, buf, sizeof(buf)), 0); /* then the end of the stream */
    ck_assert_uint_eq(stack_stats(net.b)->tcp.rx_urgent, 1);
}
END_TEST

/* ---- ports: LISTEN beside an active open (RFC 9293 3.9.1) ---- */

/* MUST-42: an application may LISTEN on the port a connection of its own is opening from
 * (SYN-SENT). Segments are demultiplexed by the whole 4-tuple first: the SYN-ACK for the
 * connection reaches it, a SYN from anyone else reaches the listener.
 * MUST-41: that LISTEN leaves the connection alone, and a second LISTEN on the port is
 * refused instead of taking the first listener's SYNs. */
/* conformance: MUST-42 MUST-41 */
START_TEST(listen_beside_a_connection_in_syn_sent)
{
    scripted = true;
    ep_connect(&cli, SIM_IP_B, PORT);
    ck_assert(simnet_run(&net, 5000000, a_sent_syn, NULL));
    uint16_t lport = cli.tcb->local_port;
    struct tcb *l = tcp_open(net.a);
    ck_assert_int_eq(tcp_bind(l, 0, lport), 0);
    ck_assert_int_eq(tcp_listen(l, 4), 0);
    ck_assert_str_eq(tcp_state_name_of(cli.tcb), "SYN-SENT");
    struct tcb *l2 = tcp_open(net.a);
    ck_assert_int_eq(tcp_bind(l2, 0, lport), -EADDRINUSE);
    tcp_close(l2);
    /* a SYN from another port of B: the listener answers it with a SYN-ACK */
    size_t from = nsegs;
    inject_segment(net.a, SIM_IP_B, 5555, SIM_IP_A, lport, 7000, 0, TCP_SYN, 65535, NULL, 0);
    simnet_run(&net, 1000, NULL, NULL);
    unsigned synacks = 0;
    for (size_t i = from; i < nsegs; i++)
        synacks += segs[i].side == 0 && segs[i].h.flags == (TCP_SYN | TCP_ACK) &&
                   segs[i].h.sport == lport && segs[i].h.dport == 5555 && segs[i].h.ack == 7001;
    ck_assert_uint_eq(synacks, 1);
    ck_assert_uint_eq(tcp_count(net.a), 3); /* the connection, the listener, its child */
    ck_assert_str_eq(tcp_state_name_of(cli.tcb), "SYN-SENT");
    /* the SYN-ACK for the connection's own SYN reaches the connection */
    inject_segment(net.a, SIM_IP_B, PORT, SIM_IP_A, lport, 5000, cli.tcb->iss + 1,
                   TCP_SYN | TCP_ACK, 65535, NULL, 0);
    simnet_run(&net, 1000, NULL, NULL);
    ck_assert_str_eq(tcp_state_name_of(cli.tcb), "ESTABLISHED");
    ck_assert(cli.connected);
    ck_assert_uint_eq(tcp_count(net.a), 3);
    tcp_close(l);
}
END_TEST

/* ---- windows: 32 bits, shrinking, closed for long ---- */

static bool new_from_a(void *ctx)
{
    for (size_t i = *(size_t *)ctx; i < nsegs; i++)
        if (segs[i].side == 0)
            return true;
    return false;
}

/* The scripted B answers every segment A sends for `us` microseconds with an ACK of `ack`
 * offering `wnd`. Returns how many it answered. */
static unsigned answer_a(uint64_t us, uint32_t ack, uint16_t wnd)
{
    uint64_t end = net.now_us + us;
    unsigned n = 0;
    for (int i = 0; i < 10000 && net.now_us < end; i++) {
        size_t seen = nsegs;
        if (!simnet_run(&net, end - net.now_us, new_from_a, &seen))
            break;
        peer_ack(ack, wnd);
        n++;
    }
    return n;
}

/* B acknowledges whatever A sends, offering 65535, until all is acknowledged. */
static bool peer_takes_everything(void)
{
    for (int round = 0; round < 200 && cli.tcb->snd_una != cli.tcb->snd_max; round++) {
        peer_ack(cli.tcb->snd_nxt, 65535);
        simnet_run(&net, 300000, NULL, NULL);
    }
    return cli.tcb->snd_una == cli.tcb->snd_max && tcp_send_pending(cli.tcb) == 0;
}

/* REC-1: the send window is a 32-bit number: a peer that scales its window (RFC 7323)
 * offers more than 65535 bytes, and A fills it. */
/* conformance: REC-1 */
START_TEST(window_is_a_32_bit_number)
{
    scripted = true;
    ep_connect(&cli, SIM_IP_B, PORT);
    ck_assert(simnet_run(&net, 5000000, a_sent_syn, NULL));
    ck_assert(last_from_a(TCP_SYN)->h.opts.has_wscale);
    peer_seq = 5000;
    struct tcp_opts o = {.has_wscale = true, .wscale = 7};
    inject_segment_opts(net.a, SIM_IP_B, PORT, SIM_IP_A, cli.tcb->local_port, peer_seq,
                        cli.tcb->iss + 1, TCP_SYN | TCP_ACK, 65535, &o, NULL, 0);
    peer_seq++;
    simnet_run(&net, 1000, NULL, NULL);
    ck_assert_str_eq(tcp_state_name_of(cli.tcb), "ESTABLISHED");
    peer_ack(cli.tcb->snd_nxt, 1024); /* 1024 << 7: 128 KB */
    ck_assert_uint_eq(cli.tcb->snd_wnd, 131072);
    static uint8_t d[200000];
    ck_assert_int_eq(tcp_send(cli.tcb, d, sizeof(d)), (int)sizeof(d));
    uint32_t most = 0;
    for (int round = 0; round < 20 && cli.tcb->snd_una != cli.tcb->snd_max; round++) {
        simnet_run(&net, 1000, NULL, NULL);
        uint32_t flight = cli.tcb->snd_nxt - cli.tcb->snd_una;
        if (flight > most)
            most = flight;
        peer_ack(cli.tcb->snd_nxt, 1024);
    }
    ck_assert_uint_gt(most, 65535);
    ck_assert_uint_le(most, 131072);
}
END_TEST

/* MUST-34: B shrinks its window: its right edge moves back below data A has sent, so
 * the usable window is negative. A must not take that for a huge window: it sends no new
 * data (SHLD-15), retransmits the old data at SND.UNA, within the window, when its timer
 * says so (SHLD-16), and once B opens again everything gets through. */
/* conformance: MUST-34 SHLD-15 SHLD-16 */
START_TEST(shrunk_window_sends_no_new_data)
{
    scripted_connect(65535);
    ck_assert_int_eq(tcp_set_nodelay(cli.tcb, true), 0);
    static uint8_t d[10 * 536];
    ck_assert_int_eq(tcp_send(cli.tcb, d, sizeof(d)), (int)sizeof(d));
    simnet_run(&net, 1000, NULL, NULL);
    uint32_t una = cli.tcb->snd_una, max = cli.tcb->snd_max;
    ck_assert_uint_eq(max - una, sizeof(d));
    /* B takes two segments and offers two more: its edge goes from una + 65535 back to
     * una + 4 * 536, below max */
    size_t from = nsegs;
    peer_ack(una + 2 * 536, 2 * 536);
    ck_assert_int_eq(tcp_send(cli.tcb, d, 1000), 1000);
    simnet_run(&net, 5000000, NULL, NULL); /* several retransmission timeouts */
    unsigned resent = 0;
    for (size_t i = from; i < nsegs; i++) {
        if (segs[i].side != 0 || !segs[i].len)
            continue;
        ck_assert_msg(seq_lt(segs[i].h.seq, max), "new data sent into a shrunk window");
        resent += segs[i].h.seq == una + 2 * 536;
    }
    ck_assert_uint_ge(resent, 1);
    ck_assert_int_eq(cli.err, 0);
    ck_assert(peer_takes_everything());
}
END_TEST

/* MUST-37: B shuts its window (SHLD-17: with data A sent beyond it) and keeps it shut for
 * half an hour, answering every probe (MUST-35). A neither times out the connection nor
 * gives up probing; when B opens, everything gets through. */
/* conformance: MUST-37 SHLD-17 MUST-35 */
START_TEST(zero_window_held_while_probes_answered)
{
    scripted_connect(65535);
    static uint8_t d[10 * 536];
    ck_assert_int_eq(tcp_send(cli.tcb, d, sizeof(d)), (int)sizeof(d));
    simnet_run(&net, 1000, NULL, NULL);
    uint32_t edge = cli.tcb->snd_una + 2 * 536;
    peer_ack(edge, 0); /* eight segments A sent now lie beyond B's right edge */
    unsigned answers = answer_a(1800 * 1000000ull, edge, 0);
    ck_assert_uint_ge(answers, 20);
    ck_assert_uint_ge(stack_stats(net.a)->tcp.persist_probes, 20);
    ck_assert_int_eq(cli.err, 0);
    ck_assert_str_eq(tcp_state_name_of(cli.tcb), "ESTABLISHED");
    ck_assert(peer_takes_everything());
}
END_TEST

/* MUST-60: without PUSH on SEND, data must not wait in the send buffer for ever. B offers
 * 400 bytes (less than a segment, less than half its largest window: sender SWS avoidance
 * holds such a segment back) and sends nothing but ACKs; A's override timer sends what
 * fits anyway, again and again, until all the data is through. */
/* conformance: MUST-60 */
START_TEST(data_never_held_for_ever)
{
    scripted_connect(65535);
    peer_ack(cli.tcb->snd_nxt, 400);
    static uint8_t d[3000];
    ck_assert_int_eq(tcp_send(cli.tcb, d, sizeof(d)), (int)sizeof(d));
    for (int i = 0; i < 100 && tcp_send_pending(cli.tcb); i++) {
        size_t seen = nsegs;
        if (!simnet_run(&net, 60000000, new_from_a, &seen))
            break;
        const struct seen *s = last_from_a(0);
        peer_ack(s->h.seq + (uint32_t)s->len, 400);
        simnet_run(&net, 1000, NULL, NULL);
    }
    ck_assert_uint_eq(tcp_send_pending(cli.tcb), 0);
    ck_assert_uint_eq(cli.tcb->snd_una, cli.tcb->snd_max);
}
END_TEST

/* SHLD-14: a receiver does not move its right window edge to the left. A's application
 * reads nothing while B fills A's 4096-byte buffer in uneven pieces: every ACK A sends
 * offers an edge (ACK + window) at least as far as the one before. */
/* conformance: SHLD-14 */
START_TEST(receive_window_never_shrinks)
{
    scripted_receiver(4096);
    static const uint8_t d[1024];
    static const size_t pieces[] = {1024, 1024, 1024, 600, 300, 124};
    for (size_t k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++) {
        peer_data(d, pieces[k], 65535);
        simnet_run(&net, 100000, NULL, NULL);
    }
    uint32_t edge = 0;
    unsigned acks = 0;
    for (size_t i = 0; i < nsegs; i++) {
        if (segs[i].side != 0 || !(segs[i].h.flags & TCP_ACK))
            continue;
        uint32_t e = segs[i].h.ack + segs[i].h.wnd;
        if (acks++)
            ck_assert_msg(seq_geq(e, edge), "edge moved left by %u", edge - e);
        edge = e;
    }
    ck_assert_uint_ge(acks, 4);
    ck_assert_uint_eq(last_from_a(TCP_ACK)->h.wnd, 0); /* the buffer is full */
}
END_TEST

/* A segment from B with URG set and urgent pointer `ptr`, no text. */
static void peer_urgent_pointer(uint16_t ptr)
{
    struct pkb *p = segment_pkb(SIM_IP_B, PORT, SIM_IP_A, cli.tcb->local_port, peer_seq,
                                cli.tcb->snd_nxt, TCP_ACK | TCP_URG, 65535, NULL, NULL, 0);
    ck_assert_ptr_nonnull(p);
    put_be16(p->data + IP_HDR_LEN + 18, ptr);
    tcp_set_checksum(p->data + IP_HDR_LEN, p->len - IP_HDR_LEN, SIM_IP_B, SIM_IP_A);
    ip_input(net.a, p);
}

/* MUST-66: with its receive window at zero A still processes the URG and RST of B's
 * segments: the urgent pointer is taken (and the urgent byte, when it comes, goes apart),
 * and a RST at RCV.NXT resets the connection. */
/* conformance: MUST-66 */
START_TEST(rst_and_urg_processed_with_zero_window)
{
    scripted_receiver(4096);
    static const uint8_t d[1024];
    for (int i = 0; i < 4; i++)
        peer_data(d, sizeof(d), 65535);
    simnet_run(&net, 100000, NULL, NULL);
    ck_assert_uint_eq(last_from_a(TCP_ACK)->h.wnd, 0);
    /* the urgent data ends 3 bytes on: "xy!" */
    peer_urgent_pointer(3);
    ck_assert_uint_eq(stack_stats(net.a)->tcp.rx_urgent, 1);
    /* the application reads; the data comes, and "!" goes apart */
    uint8_t buf[4096];
    ck_assert_int_eq(tcp_recv(cli.tcb, buf, sizeof(buf)), 4096);
    peer_data("xy!", 3, 65535);
    uint8_t oob;
    ck_assert_int_eq(tcp_recv_urgent(cli.tcb, &oob), 1);
    ck_assert_uint_eq(oob, '!');
    /* shut the window again, then a RST */
    for (int i = 0; i < 4; i++)
        peer_data(d, i < 3 ? sizeof(d) : sizeof(d) - 2, 65535);
    simnet_run(&net, 100000, NULL, NULL);
    ck_assert_uint_eq(last_from_a(TCP_ACK)->h.wnd, 0);
    inject_segment(net.a, SIM_IP_B, PORT, SIM_IP_A, cli.tcb->local_port,
                   last_from_a(TCP_ACK)->h.ack, 0, TCP_RST, 0, NULL, 0);
    ck_assert_int_eq(cli.err, -ECONNRESET);
}
END_TEST

/* SHLD-2: a RST may carry data (a diagnostic, say): it resets all the same. */
/* conformance: SHLD-2 */
START_TEST(rst_with_data_accepted)
{
    scripted_connect(65535);
    inject_segment(net.a, SIM_IP_B, PORT, SIM_IP_A, cli.tcb->local_port, peer_seq, cli.tcb->snd_nxt,
                   TCP_RST | TCP_ACK, 0, "no such service", 15);
    ck_assert_int_eq(cli.err, -ECONNRESET);
    ck_assert_uint_eq(stack_stats(net.a)->tcp.rx_resets, 1);
}
END_TEST

/* ---- acknowledgements ---- */

/* SHLD-19: outside a receive burst, the first full-sized segment waits for the delayed-ACK
 * timer; the second is acknowledged at once, with the first. (The application does not
 * read, so no window update can send the ACK instead.) */
/* conformance: SHLD-19 */
START_TEST(ack_every_second_full_segment)
{
    scripted_connect(65535);
    cli.stalled = true;
    uint32_t rmss = cli.tcb->rcv_mss;
    static const uint8_t d[1460];
    ck_assert_uint_le(rmss, sizeof(d));
    size_t from = nsegs;
    peer_data(d, rmss, 65535);
    simnet_run(&net, 1000, NULL, NULL);
    ck_assert_uint_eq(count_from(0, TCP_ACK, from), 0);
    peer_data(d, rmss, 65535);
    simnet_run(&net, 1000, NULL, NULL);
    ck_assert_uint_eq(count_from(0, TCP_ACK, from), 1);
    ck_assert_uint_eq(last_from_a(TCP_ACK)->h.ack, peer_seq);
}
END_TEST

/* SHLD-11: R2, the time before a connection whose data is never acknowledged is given up,
 * is at least 100 s, even at the smallest RTO (a 200 us wire: RTO 200 ms). */
/* conformance: SHLD-11 */
START_TEST(r2_at_least_100_seconds)
{
    open_connection();
    ck_assert_uint_eq(cli.tcb->rto_us, TCP_RTO_MIN_US);
    drop_all_from_a = true;
    uint64_t t0 = net.now_us;
    ck_assert_int_eq(tcp_send(cli.tcb, "hello", 5), 5);
    ck_assert(simnet_run(&net, 600000000ull, cli_err_set, NULL));
    ck_assert_int_eq(cli.err, -ETIMEDOUT);
    ck_assert_uint_ge(net.now_us - t0, 100000000ull);
}
END_TEST

/* ---- urgent data of any length ---- */

/* MUST-31: 100000 bytes sent urgent: the urgent pointer of the first segments cannot
 * reach the end of the urgent data (16 bits: it says 65535, RFC 6093 4), and moves on with
 * each segment; the receiver is told once, marks the end exactly, and the last urgent byte
 * goes apart as the sockets API has it. */
/* conformance: MUST-31 */
START_TEST(urgent_data_of_any_length)
{
    open_connection();
    static struct tcp_upcalls up;
    up = ep_up;
    up.urgent = srv_urgent;
    urgent_calls = 0;
    tcp_set_upcalls(srv.tcb, &up, &srv);
    srv.stalled = true;
    static uint8_t d[100000];
    fill_pattern(d, sizeof(d), 31);
    size_t from = nsegs;
    ck_assert_int_eq(tcp_send_urgent(cli.tcb, d, sizeof(d)), (int)sizeof(d));
    ck_assert(simnet_run(&net, 10000000, all_acked, NULL));
    uint32_t end = cli.tcb->iss + 1 + sizeof(d);
    unsigned urg = 0;
    for (size_t i = from; i < nsegs; i++) {
        if (segs[i].side != 0 || !segs[i].len)
            continue;
        ck_assert(segs[i].h.flags & TCP_URG);
        uint32_t want = end - segs[i].h.seq;
        ck_assert_uint_eq(segs[i].h.urg_ptr, want > 65535 ? 65535 : want);
        urg++;
    }
    ck_assert_uint_ge(urg, 60);
    ck_assert_uint_eq(urgent_calls, 1);
    uint8_t oob;
    ck_assert_int_eq(tcp_recv_urgent(srv.tcb, &oob), 1);
    ck_assert_uint_eq(oob, d[sizeof(d) - 1]);
    static uint8_t got[100000];
    size_t n = 0;
    for (int i = 0; i < 1000 && !tcp_at_mark(srv.tcb); i++) {
        ssize_t r = tcp_recv(srv.tcb, got + n, sizeof(got) - n);
        ck_assert_int_gt(r, 0);
        n += (size_t)r;
    }
    ck_assert_uint_eq(n, sizeof(d) - 1);
    ck_assert(memcmp(got, d, n) == 0);
}
END_TEST

/* ---- the ISN's secret ---- */

/* MUST-9: the ISN's keyed hash cannot be computed from outside: its key is each stack's
 * own secret, so two stacks give the same 4-tuple at the same moment unrelated ISNs. */
/* conformance: MUST-9 */
START_TEST(isn_key_differs_per_stack)
{
    uint32_t a = tcp_new_isn(net.a, SIM_IP_A, 40000, SIM_IP_B, 80) - (uint32_t)(net.a->now_us / 4);
    uint32_t b = tcp_new_isn(net.b, SIM_IP_A, 40000, SIM_IP_B, 80) - (uint32_t)(net.b->now_us / 4);
    ck_assert_uint_ne(a, b);
    ck_assert_uint_ne(a, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("conformance");
    TCase *tc = tcase_create("rfc9293");
    tcase_add_checked_fixture(tc, setup, pair_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, default_mss_is_536);
    tcase_add_test(tc, peer_mss_capped_by_our_mtu);
    tcase_add_test(tc, window_is_unsigned);
    tcase_add_test(tc, sender_sws_avoidance);
    tcase_add_test(tc, receiver_sws_avoidance);
    tcase_add_test(tc, isn_has_a_clock_term);
    tcase_add_test(tc, syn_to_broadcast_or_from_martian_dropped);
    tcase_add_test(tc, broadcast_addresses_refused_by_connect);
    tcase_add_test(tc, connection_keeps_its_local_address);
    tcase_add_test(tc, icmp_errors_do_not_abort_established);
    tcase_add_test(tc, close_with_unread_data_sends_rst);
    tcase_add_test(tc, close_during_handshake);
    tcase_add_test(tc, rst_in_syn_received_returns_to_listen);
    tcase_add_test(tc, karn_no_sample_from_retransmission);
    tcase_add_test(tc, rto_doubles_on_data_timeouts);
    tcase_add_test(tc, timeout_cuts_cwnd_to_one_segment);
    tcase_add_test(tc, congestion_avoidance_grows_one_mss_per_window);
    tcase_add_test(tc, newreno_partial_ack_retransmits);
    tcase_add_test(tc, delayed_ack_within_500ms);
    tcase_add_test(tc, zero_window_probes_back_off);
    tcase_add_test(tc, ack_aggregated_over_a_burst);
    tcase_add_test(tc, ttl_and_tos_per_connection);
    tcase_add_test(tc, r2_per_connection);
    tcase_add_test(tc, soft_errors_reported_while_alive);
    tcase_add_test(tc, keepalive_off_by_default_then_after_two_hours);
    tcase_add_test(tc, keepalive_detects_dead_peer);
    tcase_add_test(tc, urgent_byte_out_of_band);
    tcase_add_test(tc, listen_beside_a_connection_in_syn_sent);
    tcase_add_test(tc, window_is_a_32_bit_number);
    tcase_add_test(tc, shrunk_window_sends_no_new_data);
    tcase_add_test(tc, zero_window_held_while_probes_answered);
    tcase_add_test(tc, data_never_held_for_ever);
    tcase_add_test(tc, receive_window_never_shrinks);
    tcase_add_test(tc, rst_and_urg_processed_with_zero_window);
    tcase_add_test(tc, rst_with_data_accepted);
    tcase_add_test(tc, ack_every_second_full_segment);
    tcase_add_test(tc, r2_at_least_100_seconds);
    tcase_add_test(tc, urgent_data_of_any_length);
    tcase_add_test(tc, isn_key_differs_per_stack);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
