/* test_tcp_conn.c - TCP connections over the simulated wire: opening, closing in every
 * order, resets (RFC 9293 3.10.7, RFC 5961), give-up timeouts, the listener backlog. */
#include "tcp_pair.h"
#include "../../stack/bytes.h"

static bool all_gone(void *ctx)
{
    (void)ctx;
    return tcp_count(net.a) == 0 && tcp_count(net.b) == 0;
}

/* conformance: MUST-16 MUST-44 MUST-67 SHLD-5 IP-3.3.2-4 */
START_TEST(handshake_traced)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    stack_set_trace(net.b, TRACE_TCP, out);
    open_connection();
    fflush(out);
    /* the passive side traces the SYN with the transition it caused, as DESIGN.md shows */
    ck_assert_ptr_nonnull(strstr(buf, "10.0.0.1:"));
    ck_assert_ptr_nonnull(strstr(buf, " > 10.0.0.2:7 SYN seq="));
    ck_assert_ptr_nonnull(strstr(buf, "mss=1460"));
    ck_assert_ptr_nonnull(strstr(buf, "| LISTEN -> SYN-RECEIVED"));
    ck_assert_ptr_nonnull(strstr(buf, "| SYN-RECEIVED -> ESTABLISHED"));
    stack_set_trace(net.b, 0, NULL);
    fclose(out);
    free(buf);
    ck_assert_uint_eq(stack_stats(net.a)->tcp.active_opens, 1);
    ck_assert_uint_eq(stack_stats(net.b)->tcp.passive_opens, 1);
    /* window scaling was negotiated: 256 KiB needs a shift of 3 */
    ck_assert(cli.tcb->wscale_ok && srv.tcb->wscale_ok);
    ck_assert_uint_eq(cli.tcb->snd_wscale, 3);
    /* both offered SACK and timestamps: a segment holds 1460 - 12 bytes of data */
    ck_assert(cli.tcb->sack_ok && srv.tcb->sack_ok && cli.tcb->ts_ok && srv.tcb->ts_ok);
    ck_assert_uint_eq(cli.tcb->smss, 1448);
    uint32_t ip;
    uint16_t port;
    ck_assert_int_eq(tcp_peer(srv.tcb, &ip, &port), 0);
    ck_assert_uint_eq(ip, SIM_IP_A);
    tcp_local(cli.tcb, &ip, &port);
    ck_assert_uint_ge(port, 49152);
}
END_TEST

/* ---- closing in every order; every TCB is freed in the end ---- */

static const uint8_t hello[] = "hello, world\n";

START_TEST(close_client_first)
{
    open_connection();
    tcp_close(srv.listener);
    cli.tx = hello;
    cli.tx_len = sizeof(hello);
    cli.close_after_send = true;
    srv.close_on_eof = true;
    ep_push(&cli);
    ck_assert(simnet_run(&net, 10000000, all_gone, NULL));
    ck_assert_uint_eq(srv.rx_len, sizeof(hello));
    ck_assert_mem_eq(srv.rx, hello, sizeof(hello));
    ck_assert(srv.eof); /* (it closed inside readable, so peer_closed never came) */
    ck_assert_int_eq(srv.err, 0);
}
END_TEST

START_TEST(close_server_first)
{
    open_connection();
    srv.tx = hello;
    srv.tx_len = sizeof(hello);
    srv.close_after_send = true;
    cli.close_on_eof = true;
    ep_push(&srv);
    /* the server, closing first, goes through TIME-WAIT: still there after 1 s */
    simnet_run(&net, 1000000, NULL, NULL);
    ck_assert_uint_eq(tcp_count(net.a), 0);
    ck_assert_uint_eq(tcp_count(net.b), 2); /* the listener and the TIME-WAIT connection */
    tcp_close(srv.listener);
    ck_assert(simnet_run(&net, 10000000, all_gone, NULL));
    ck_assert_mem_eq(cli.rx, hello, sizeof(hello));
}
END_TEST

START_TEST(close_simultaneous)
{
    open_connection();
    tcp_close(srv.listener);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    stack_set_trace(net.a, TRACE_TCP, out);
    /* both FINs leave before either arrives */
    tcp_close(cli.tcb);
    tcp_close(srv.tcb);
    cli.tcb = srv.tcb = NULL;
    ck_assert(simnet_run(&net, 10000000, all_gone, NULL));
    fflush(out);
    ck_assert_ptr_nonnull(strstr(buf, "FIN-WAIT-1 -> CLOSING"));
    ck_assert_ptr_nonnull(strstr(buf, "CLOSING -> TIME-WAIT"));
    ck_assert_ptr_nonnull(strstr(buf, "TIME-WAIT -> CLOSED"));
    stack_set_trace(net.a, 0, NULL);
    fclose(out);
    free(buf);
}
END_TEST

static bool cli_eof(void *ctx)
{
    (void)ctx;
    return cli.eof;
}

START_TEST(half_close_then_close)
{
    open_connection();
    tcp_close(srv.listener);
    /* the client says it is done sending; the server still answers, then closes */
    ck_assert_int_eq(tcp_shutdown(cli.tcb), 0);
    ck_assert_str_eq(tcp_state_name_of(cli.tcb), "FIN-WAIT-1");
    simnet_run(&net, 100000, NULL, NULL);
    ck_assert(srv.peer_closed);
    ck_assert_str_eq(tcp_state_name_of(srv.tcb), "CLOSE-WAIT");
    ck_assert_str_eq(tcp_state_name_of(cli.tcb), "FIN-WAIT-2");
    ck_assert_int_eq(tcp_send(cli.tcb, "x", 1), -EPIPE);
    static uint8_t big[100000];
    fill_pattern(big, sizeof(big), 7);
    srv.tx = big;
    srv.tx_len = sizeof(big);
    srv.close_after_send = true;
    ep_push(&srv);
    ck_assert(simnet_run(&net, 10000000, cli_eof, NULL));
    ck_assert_uint_eq(cli.rx_len, sizeof(big));
    ck_assert_mem_eq(cli.rx, big, sizeof(big));
    ck_assert_str_eq(tcp_state_name_of(cli.tcb), "TIME-WAIT");
    simnet_run(&net, 3000000, NULL, NULL); /* 2*MSL is 2 s here */
    ck_assert_str_eq(tcp_state_name_of(cli.tcb), "CLOSED");
    ck_assert_int_eq(tcp_error_of(cli.tcb), 0);
    tcp_close(cli.tcb);
    cli.tcb = NULL;
    ck_assert(simnet_run(&net, 1000000, all_gone, NULL));
}
END_TEST

/* ---- simultaneous open (RFC 9293 figure 8) ---- */

/* conformance: MUST-10 */
START_TEST(simultaneous_open)
{
    struct tcb *a = tcp_open(net.a), *b = tcp_open(net.b);
    tcp_set_upcalls(a, &ep_up, &cli);
    tcp_set_upcalls(b, &ep_up, &srv);
    cli.tcb = a;
    srv.tcb = b;
    ck_assert_int_eq(tcp_bind(a, 0, 5000), 0);
    ck_assert_int_eq(tcp_bind(b, 0, 6000), 0);
    ck_assert_int_eq(tcp_connect(a, SIM_IP_B, 6000), 0);
    ck_assert_int_eq(tcp_connect(b, SIM_IP_A, 5000), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    stack_set_trace(net.a, TRACE_TCP, out);
    ck_assert(simnet_run(&net, 5000000, both_connected, NULL));
    fflush(out);
    ck_assert_ptr_nonnull(strstr(buf, "SYN-SENT -> SYN-RECEIVED"));
    ck_assert_ptr_nonnull(strstr(buf, "SYN-RECEIVED -> ESTABLISHED"));
    stack_set_trace(net.a, 0, NULL);
    fclose(out);
    free(buf);
    ck_assert_uint_eq(stack_stats(net.a)->tcp.rx_no_connection, 0);
    /* and it carries data */
    cli.tx = hello;
    cli.tx_len = sizeof(hello);
    ep_push(&cli);
    simnet_run(&net, 200000, NULL, NULL);
    ck_assert_uint_eq(srv.rx_len, sizeof(hello));
}
END_TEST

/* ---- resets ---- */

static bool cli_err(void *ctx)
{
    (void)ctx;
    return cli.err != 0;
}

/* conformance: MUST-12 */
START_TEST(connect_to_closed_port_refused)
{
    cli.close_on_error = true; /* tcp_close inside the error upcall */
    ep_connect(&cli, SIM_IP_B, 9999);
    ck_assert(simnet_run(&net, 5000000, cli_err, NULL));
    ck_assert_int_eq(cli.err, -ECONNREFUSED);
    ck_assert_uint_eq(stack_stats(net.b)->tcp.rx_no_connection, 1);
    ck_assert_uint_eq(stack_stats(net.b)->tcp.tx_resets, 1);
    ck_assert_uint_eq(tcp_count(net.a), 0);
}
END_TEST

START_TEST(abort_resets_peer)
{
    open_connection();
    tcp_abort(srv.tcb);
    srv.tcb = NULL;
    ck_assert(simnet_run(&net, 1000000, cli_err, NULL));
    ck_assert_int_eq(cli.err, -ECONNRESET);
    ck_assert_str_eq(tcp_state_name_of(cli.tcb), "CLOSED");
    ck_assert_int_eq(tcp_send(cli.tcb, "x", 1), -ECONNRESET);
    ck_assert_int_eq(tcp_recv(cli.tcb, (char[4]){0}, 4), -ECONNRESET);
    /* a CLOSED TCB stays until the user closes it */
    ck_assert_uint_eq(tcp_count(net.a), 1);
    tcp_close(cli.tcb);
    cli.tcb = NULL;
    ck_assert_uint_eq(tcp_count(net.a), 0);
}
END_TEST

/* RFC 1122 4.2.2.13: data that arrives after our user closed cannot be delivered to
 * anyone: it is answered with RST, not acknowledged as if it had been read. */
START_TEST(data_after_close_is_reset)
{
    open_connection();
    tcp_close(srv.tcb); /* B closes: FIN goes out, A is in CLOSE-WAIT */
    srv.tcb = NULL;
    simnet_run(&net, 100000, NULL, NULL);
    ck_assert(cli.peer_closed);
    ck_assert_int_eq(tcp_send(cli.tcb, "late data", 9), 9); /* half-close: A may still send */
    ck_assert(simnet_run(&net, 1000000, cli_err, NULL));
    ck_assert_int_eq(cli.err, -ECONNRESET);
    ck_assert_uint_eq(stack_stats(net.b)->tcp.rx_data_after_close, 1);
    simnet_run(&net, 1000, NULL, NULL);
    ck_assert_uint_eq(tcp_count(net.b), 1); /* only the listener: no TIME-WAIT for B */
}
END_TEST

/* RFC 5961 3.2: a RST inside the window but not at RCV.NXT draws a challenge ACK and
 * leaves the connection alone; only the exact sequence number resets. */
START_TEST(rst_in_window_challenged)
{
    open_connection();
    struct tcb *t = cli.tcb;
    uint16_t lport = t->local_port;
    uint64_t before = stack_stats(net.a)->tcp.challenge_acks;
    uint64_t sent = stack_stats(net.a)->tcp.tx_segments;
    inject_segment(net.a, SIM_IP_B, PORT, SIM_IP_A, lport, t->rcv_nxt + 1000, 0, TCP_RST, 0, NULL,
                   0);
    ck_assert_uint_eq(stack_stats(net.a)->tcp.challenge_acks, before + 1);
    ck_assert_uint_eq(stack_stats(net.a)->tcp.tx_segments, sent + 1);
    ck_assert_str_eq(tcp_state_name_of(t), "ESTABLISHED");
    /* out of the window entirely: silently dropped */
    inject_segment(net.a, SIM_IP_B, PORT, SIM_IP_A, lport, t->rcv_nxt + 0x40000000u, 0, TCP_RST, 0,
                   NULL, 0);
    ck_assert_uint_eq(stack_stats(net.a)->tcp.tx_segments, sent + 1);
    ck_assert_str_eq(tcp_state_name_of(t), "ESTABLISHED");
    /* exact: the connection is reset */
    inject_segment(net.a, SIM_IP_B, PORT, SIM_IP_A, lport, t->rcv_nxt, 0, TCP_RST, 0, NULL, 0);
    ck_assert_int_eq(cli.err, -ECONNRESET);
    ck_assert_str_eq(tcp_state_name_of(t), "CLOSED");
}
END_TEST

/* RFC 5961 4.2: a SYN on a synchronized connection draws a challenge ACK. */
START_TEST(syn_on_established_challenged)
{
    open_connection();
    struct tcb *t = cli.tcb;
    uint64_t before = stack_stats(net.a)->tcp.challenge_acks;
    inject_segment(net.a, SIM_IP_B, PORT, SIM_IP_A, t->local_port, t->rcv_nxt + 5, 0, TCP_SYN, 1000,
                   NULL, 0);
    ck_assert_uint_eq(stack_stats(net.a)->tcp.challenge_acks, before + 1);
    ck_assert_str_eq(tcp_state_name_of(t), "ESTABLISHED");
    ck_assert_int_eq(cli.err, 0);
    /* an ACK for data never sent (RFC 5961 5.2) is answered too, and ignored */
    inject_segment(net.a, SIM_IP_B, PORT, SIM_IP_A, t->local_port, t->rcv_nxt, t->snd_nxt + 100000,
                   TCP_ACK, 1000, NULL, 0);
    ck_assert_uint_eq(stack_stats(net.a)->tcp.challenge_acks, before + 2);
    ck_assert_uint_eq(stack_stats(net.a)->tcp.rx_bad_ack, 1);
    ck_assert_str_eq(tcp_state_name_of(t), "ESTABLISHED");
    /* the connection still works */
    cli.tx = hello;
    cli.tx_len = sizeof(hello);
    ep_push(&cli);
    simnet_run(&net, 200000, NULL, NULL);
    ck_assert_uint_eq(srv.rx_len, sizeof(hello));
}
END_TEST

/* A stray ACK to a listener gets <SEQ=SEG.ACK><CTL=RST>; a segment to no port gets a
 * RST,ACK acknowledging it (RFC 9293 3.10.7.1-2); a RST for no connection gets nothing. */
START_TEST(rst_rules_without_connection)
{
    ep_listen(&srv, PORT, 4);
    inject_segment(net.b, SIM_IP_A, 1234, SIM_IP_B, PORT, 100, 5555, TCP_ACK, 1000, NULL, 0);
    ck_assert_uint_eq(stack_stats(net.b)->tcp.tx_resets, 1);
    inject_segment(net.b, SIM_IP_A, 1234, SIM_IP_B, 4321, 100, 0, TCP_SYN, 1000, NULL, 0);
    ck_assert_uint_eq(stack_stats(net.b)->tcp.tx_resets, 2);
    ck_assert_uint_eq(stack_stats(net.b)->tcp.rx_no_connection, 1);
    inject_segment(net.b, SIM_IP_A, 1234, SIM_IP_B, 4321, 100, 0, TCP_RST, 1000, NULL, 0);
    ck_assert_uint_eq(stack_stats(net.b)->tcp.tx_resets, 2);
    ck_assert_uint_eq(stack_stats(net.b)->tcp.rx_no_connection, 2);
}
END_TEST

/* ---- giving up ---- */

static bool drop_all(void *ctx, int side, const uint8_t *frame, size_t len)
{
    (void)ctx, (void)side, (void)frame, (void)len;
    return true;
}

/* The peer's host is up (it answers ARP) but nothing IP gets through: TCP's own timers,
 * not ARP giving up on the peer, end the connection. */
static bool drop_ip(void *ctx, int side, const uint8_t *frame, size_t len)
{
    (void)ctx, (void)side;
    return len >= 14 && get_be16(frame + 12) == 0x0800;
}

/* conformance: MUST-20.2 */
START_TEST(data_retransmission_gives_up)
{
    open_connection();
    net.a->cfg.tcp_tlp = false; /* the tail loss probe would go first: the RTO is tested */
    wire_set_filter(net.wire, drop_ip, NULL);
    cli.tx = hello;
    cli.tx_len = sizeof(hello);
    ep_push(&cli);
    /* 8 retries with the RTO doubling from 200 ms, capped at 60 s: a few minutes */
    ck_assert(simnet_run(&net, 600000000ull, cli_err, NULL));
    ck_assert_int_eq(cli.err, -ETIMEDOUT);
    const struct tcp_stats *st = &stack_stats(net.a)->tcp;
    ck_assert_uint_eq(st->conn_timeouts, 1);
    ck_assert_uint_eq(st->timeouts, 9);
    ck_assert_uint_eq(st->retransmits, 8);
}
END_TEST

/* conformance: MUST-22 MUST-23 */
START_TEST(syn_retransmission_gives_up)
{
    wire_set_filter(net.wire, drop_ip, NULL);
    ep_connect(&cli, SIM_IP_B, PORT);
    ck_assert(simnet_run(&net, 600000000ull, cli_err, NULL));
    ck_assert_int_eq(cli.err, -ETIMEDOUT);
    /* MUST-23: R2 for a SYN is at least 3 minutes: 1+2+4+8+16+32+60+60 s = 183 s */
    ck_assert_uint_ge(net.now_us, 180000000);
    ck_assert_uint_le(net.now_us, 185000000);
}
END_TEST

/* ---- ICMP errors (RFC 1122 4.2.3.9, RFC 5927) ---- */

/* What IP hands TCP when an ICMP error quotes our segment src:sport -> dst:dport. */
static void icmp_error_for(struct tcb *t, int err, uint8_t code, uint32_t seq)
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
    ip_deliver_error(t->stack, err, 3, code, t->remote_ip, orig, sizeof(orig));
}

/* conformance: IP-3.2.2.1-3 MUST-54 SHLD-26 */
START_TEST(icmp_port_unreachable_refuses_syn)
{
    wire_set_filter(net.wire, drop_all, NULL);
    ep_connect(&cli, SIM_IP_B, PORT);
    simnet_run(&net, 100000, NULL, NULL);
    /* a quoted sequence number we never sent is ignored (RFC 5927 4.1) */
    icmp_error_for(cli.tcb, ECONNREFUSED, 3, cli.tcb->iss + 5000);
    ck_assert_uint_eq(stack_stats(net.a)->tcp.rx_icmp_ignored, 1);
    ck_assert_int_eq(cli.err, 0);
    icmp_error_for(cli.tcb, ECONNREFUSED, 3, cli.tcb->iss);
    ck_assert_int_eq(cli.err, -ECONNREFUSED);
    ck_assert_str_eq(tcp_state_name_of(cli.tcb), "CLOSED");
}
END_TEST

/* conformance: IP-3.2.2.1-4 MUST-56 */
START_TEST(icmp_host_unreachable_is_soft)
{
    wire_set_filter(net.wire, drop_ip, NULL);
    ep_connect(&cli, SIM_IP_B, PORT);
    simnet_run(&net, 100000, NULL, NULL);
    icmp_error_for(cli.tcb, EHOSTUNREACH, 1, cli.tcb->iss);
    ck_assert_int_eq(cli.err, 0);
    ck_assert_str_eq(tcp_state_name_of(cli.tcb), "SYN-SENT");
    /* when the SYNs finally time out, the soft error is what is reported */
    ck_assert(simnet_run(&net, 600000000ull, cli_err, NULL));
    ck_assert_int_eq(cli.err, -EHOSTUNREACH);
}
END_TEST

/* ---- the listener's bounds ---- */

START_TEST(backlog_bounded)
{
    struct tcb *l = tcp_open(net.b);
    ck_assert_int_eq(tcp_bind(l, 0, PORT), 0);
    ck_assert_int_eq(tcp_listen(l, 2), 0);
    struct ep c[5];
    for (int i = 0; i < 5; i++) {
        ep_init(&c[i], net.a);
        ep_connect(&c[i], SIM_IP_B, PORT);
    }
    simnet_run(&net, 500000, NULL, NULL);
    /* two accepted-to-be, the rest dropped (and retrying) */
    ck_assert_uint_ge(stack_stats(net.b)->tcp.listen_drops, 1);
    unsigned n = 0;
    struct tcb *t;
    while ((t = tcp_accept(l)) != NULL) {
        n++;
        tcp_close(t);
    }
    ck_assert_uint_eq(n, 2);
    tcp_close(l); /* takes its unaccepted children along */
    for (int i = 0; i < 5; i++) {
        if (c[i].tcb)
            tcp_abort(c[i].tcb);
        ep_free(&c[i]);
    }
    ck_assert(simnet_run(&net, 20000000, all_gone, NULL));
}
END_TEST

START_TEST(bind_conflicts)
{
    struct tcb *l = tcp_open(net.b), *m = tcp_open(net.b);
    ck_assert_int_eq(tcp_bind(l, 0, PORT), 0);
    ck_assert_int_eq(tcp_listen(l, 2), 0);
    ck_assert_int_eq(tcp_bind(m, 0, PORT), -EADDRINUSE);
    ck_assert_int_eq(tcp_bind(m, 0x0a000063, 80), -EADDRNOTAVAIL);
    ck_assert_int_eq(tcp_send(m, "x", 1), -ENOTCONN);
    ck_assert_int_eq(tcp_recv(m, (char[4]){0}, 4), -ENOTCONN);
    tcp_close(l);
    tcp_close(m);
    ck_assert_uint_eq(tcp_count(net.b), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tcp_conn");
    TCase *tc = tcase_create("conn");
    tcase_add_checked_fixture(tc, pair_setup, pair_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, handshake_traced);
    tcase_add_test(tc, close_client_first);
    tcase_add_test(tc, close_server_first);
    tcase_add_test(tc, close_simultaneous);
    tcase_add_test(tc, half_close_then_close);
    tcase_add_test(tc, simultaneous_open);
    tcase_add_test(tc, connect_to_closed_port_refused);
    tcase_add_test(tc, abort_resets_peer);
    tcase_add_test(tc, data_after_close_is_reset);
    tcase_add_test(tc, rst_in_window_challenged);
    tcase_add_test(tc, syn_on_established_challenged);
    tcase_add_test(tc, rst_rules_without_connection);
    tcase_add_test(tc, data_retransmission_gives_up);
    tcase_add_test(tc, syn_retransmission_gives_up);
    tcase_add_test(tc, icmp_port_unreachable_refuses_syn);
    tcase_add_test(tc, icmp_host_unreachable_is_soft);
    tcase_add_test(tc, backlog_bounded);
    tcase_add_test(tc, bind_conflicts);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
