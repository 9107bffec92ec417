/* test_tcp_advice.c - what TCP does when its segments stop getting through (RFC 9293
 * 3.8.3, RFC 1122 4.2.3.5): at R1 retransmissions it gives IP negative advice and the
 * application a soft error, and goes on; when ARP gives up on the next hop, a connection
 * being opened fails at once with -EHOSTUNREACH and an open one just hears about it. */
#include "tcp_pair.h"
#include "../../stack/bytes.h"

/* B's host is up (it answers ARP) but no IP gets through. */
static bool drop_ip(void *ctx, int side, const uint8_t *frame, size_t len)
{
    (void)ctx, (void)side;
    return len >= 14 && get_be16(frame + 12) == 0x0800;
}

/* B is gone: nothing gets through, ARP included. */
static bool drop_all(void *ctx, int side, const uint8_t *frame, size_t len)
{
    (void)ctx, (void)side, (void)frame, (void)len;
    return true;
}

static bool r1_reached(void *ctx)
{
    (void)ctx;
    return stack_stats(net.a)->tcp.r1_reached > 0;
}

static bool cli_err(void *ctx)
{
    (void)ctx;
    return cli.err != 0;
}

static bool srv_got(void *ctx)
{
    return srv.rx_len >= *(size_t *)ctx;
}

static const uint8_t hello[] = "hello, advice";

/* MUST-20: when R1 retransmissions of a segment went unanswered, TCP gives IP negative
 * advice (its next hop's ARP entry is asked for again); SHLD-10: R1 is 3; SHLD-9: the
 * application is told (the soft error -ETIMEDOUT) and the connection lives on to R2. */
/* conformance: MUST-20 SHLD-9 SHLD-10 */
START_TEST(r1_advises_ip_and_tells_application)
{
    open_connection();
    wire_set_filter(net.wire, drop_ip, NULL);
    cli.tx = hello;
    cli.tx_len = sizeof(hello);
    ep_push(&cli);
    const struct stack_stats *st = stack_stats(net.a);
    uint64_t arp_before = st->arp.requests_tx;
    ck_assert(simnet_run(&net, 60000000, r1_reached, NULL));
    /* the advice came with the 4th timeout, once 3 retransmissions went unanswered */
    ck_assert_uint_eq(st->tcp.timeouts, 4);
    ck_assert_uint_eq(st->ip.negative_advice, 1);
    ck_assert_uint_eq(st->arp.reconfirms, 1);
    ck_assert_uint_eq(st->arp.requests_tx, arp_before + 1); /* B's address asked again */
    ck_assert_int_eq(tcp_soft_error(cli.tcb), -ETIMEDOUT);
    ck_assert_str_eq(tcp_state_name_of(cli.tcb), "ESTABLISHED");
    ck_assert_int_eq(cli.err, 0);
    /* the path heals before R2: the data gets through, the connection never noticed */
    wire_set_filter(net.wire, NULL, NULL);
    size_t want = sizeof(hello);
    ck_assert(simnet_run(&net, 60000000, srv_got, &want));
    ck_assert_uint_eq(st->tcp.r1_reached, 1);
    ck_assert_int_eq(cli.err, 0);
}
END_TEST

/* RFC 1122 4.2.3.5: R1 can be set per connection (SOCK_OPT_RETRIES1); a SYN is handled
 * the same way (RFC 9293 3.8.3: "SYN retransmissions MUST be handled in the general
 * way"). */
/* conformance: MUST-20 SHLD-9 */
START_TEST(r1_per_connection_and_for_syn)
{
    wire_set_filter(net.wire, drop_ip, NULL);
    ep_listen(&srv, PORT, 4);
    ep_connect(&cli, SIM_IP_B, PORT);
    ck_assert_int_eq(tcp_set_retries1(cli.tcb, 5), 0);
    ck_assert(simnet_run(&net, 120000000, r1_reached, NULL));
    ck_assert_uint_eq(stack_stats(net.a)->tcp.timeouts, 6); /* 5 SYN retransmissions first */
    ck_assert_str_eq(tcp_state_name_of(cli.tcb), "SYN-SENT");
    ck_assert_int_eq(tcp_soft_error(cli.tcb), -ETIMEDOUT);
    ck_assert_int_eq(cli.err, 0);
}
END_TEST

/* A connect() to an on-link address nobody has fails when ARP gives up on it (3 s), with
 * -EHOSTUNREACH as on Linux, not after minutes of SYN retries. */
/* conformance: LINK-2.4-3 */
START_TEST(connect_fails_when_arp_gives_up)
{
    ep_connect(&cli, 0x0a000009u /* 10.0.0.9: nobody */, PORT);
    ck_assert(simnet_run(&net, 30000000, cli_err, NULL));
    ck_assert_int_eq(cli.err, -EHOSTUNREACH);
    ck_assert_uint_le(net.now_us, 1000000 + 3100000); /* started at 1 s; ARP's 3 requests */
    ck_assert_uint_eq(stack_stats(net.a)->arp.resolve_failed, 1);
    ck_assert_str_eq(tcp_state_name_of(cli.tcb), "CLOSED");
}
END_TEST

/* An open connection only hears about it: the soft error -EHOSTUNREACH, readable while it
 * lives; when B answers again, the data goes through. */
/* conformance: LINK-2.4-3 MUST-47 */
START_TEST(arp_failure_is_soft_when_established)
{
    open_connection();
    wire_set_filter(net.wire, drop_all, NULL);
    cli.tx = hello;
    cli.tx_len = sizeof(hello);
    ep_push(&cli);
    /* at R1 B's address is asked for again, and ARP gives up 3 s later */
    for (int i = 0; i < 600 && !stack_stats(net.a)->arp.resolve_failed; i++)
        simnet_run(&net, 100000, NULL, NULL);
    ck_assert_uint_eq(stack_stats(net.a)->arp.resolve_failed, 1);
    ck_assert_int_eq(tcp_soft_error(cli.tcb), -EHOSTUNREACH);
    ck_assert_str_eq(tcp_state_name_of(cli.tcb), "ESTABLISHED");
    ck_assert_int_eq(cli.err, 0);
    wire_set_filter(net.wire, NULL, NULL);
    size_t want = sizeof(hello);
    ck_assert(simnet_run(&net, 120000000, srv_got, &want));
    ck_assert_int_eq(cli.err, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tcp_advice");
    TCase *tc = tcase_create("advice");
    tcase_add_checked_fixture(tc, pair_setup, pair_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, r1_advises_ip_and_tells_application);
    tcase_add_test(tc, r1_per_connection_and_for_syn);
    tcase_add_test(tc, connect_fails_when_arp_gives_up);
    tcase_add_test(tc, arp_failure_is_soft_when_established);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
