/* test_tcp_close.c - the close, step by step (RFC 9293 3.6, 3.10.7.4 "eighth"): a FIN
 * moves the receiver to CLOSE-WAIT and reads as end of stream; the side that closes first
 * waits in TIME-WAIT for exactly 2*MSL. test_tcp_conn.c closes in every order as a whole. */
#include "tcp_pair.h"

/* A connection, and no listener left (so only the connection's TCBs remain). */
static void open_connection_alone(void)
{
    open_connection();
    tcp_close(srv.listener);
    srv.listener = NULL;
}

static bool srv_eof(void *ctx)
{
    (void)ctx;
    return srv.eof || srv.peer_closed;
}

/* ESTABLISHED + FIN: CLOSE-WAIT, RCV.NXT past the FIN, the FIN acknowledged (the sender
 * reaches FIN-WAIT-2) and the application sees the end of the stream. */
START_TEST(fin_gives_close_wait_and_eof)
{
    open_connection_alone();
    uint32_t rcv_nxt = srv.tcb->rcv_nxt;
    tcp_shutdown(cli.tcb);
    ck_assert(simnet_run(&net, 1000000, srv_eof, NULL));
    simnet_run(&net, 100000, NULL, NULL);
    ck_assert_str_eq(tcp_state_name_of(srv.tcb), "CLOSE-WAIT");
    ck_assert_uint_eq(srv.tcb->rcv_nxt, rcv_nxt + 1); /* the FIN takes one number */
    ck_assert_str_eq(tcp_state_name_of(cli.tcb), "FIN-WAIT-2");
}
END_TEST

static bool server_gone(void *ctx)
{
    (void)ctx;
    return tcp_count(net.b) == 0;
}

static bool client_gone(void *ctx)
{
    (void)ctx;
    return tcp_count(net.a) == 0;
}

/* The side that closes first ends in TIME-WAIT and leaves it 2*MSL later (simnet: MSL 1 s). */
START_TEST(time_wait_lasts_two_msl)
{
    open_connection_alone();
    srv.close_on_eof = true;
    tcp_close(cli.tcb);
    cli.tcb = NULL;
    ck_assert(simnet_run(&net, 1000000, server_gone, NULL)); /* LAST-ACK -> CLOSED */
    uint64_t t0 = net.now_us;
    ck_assert_uint_eq(tcp_count(net.a), 1); /* the client, in TIME-WAIT */
    ck_assert(simnet_run(&net, 10000000, client_gone, NULL));
    ck_assert_uint_ge(net.now_us - t0, 2000000 - 1000);
    ck_assert_uint_le(net.now_us - t0, 2000000 + 1000);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tcp_close");
    TCase *tc = tcase_create("close");
    tcase_add_checked_fixture(tc, pair_setup, pair_teardown);
    tcase_add_test(tc, fin_gives_close_wait_and_eof);
    tcase_add_test(tc, time_wait_lasts_two_msl);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
