/* test_tcp_cc.c - RFC 5681 congestion control on a bare TCB (stack/tcp_cc.c): slow start,
 * congestion avoidance and the retransmission timeout. Fast retransmit and recovery need a
 * stack to resend through: tests/sim/test_tcp_transfer.c covers them. */
#include <check.h>
#include <string.h>

#include "../../stack/tcp_impl.h"

#define SMSS 1000u

static struct tcb tcb;

/* A TCB after the handshake: snd_una = 1000, `flight` bytes sent and not acknowledged. */
static void fresh(uint32_t flight)
{
    memset(&tcb, 0, sizeof(tcb));
    tcb.smss = SMSS;
    tcb.snd_una = 1000;
    tcb.snd_max = tcb.snd_nxt = 1000 + flight;
    tcp_cc_init(&tcb);
}

/* RFC 5681 3.1: in slow start (cwnd < ssthresh) cwnd grows by the bytes acknowledged
 * (byte counting, RFC 3465), so it doubles every round trip. */
START_TEST(slow_start_grows_by_acked_bytes)
{
    fresh(20 * SMSS);
    uint32_t before = tcb.cwnd;
    tcb.snd_una += 2 * SMSS;
    tcp_cc_on_ack(&tcb, 2 * SMSS);
    ck_assert_uint_eq(tcb.cwnd, before + 2 * SMSS);
    ck_assert_uint_eq(tcb.dupacks, 0);
}
END_TEST

/* RFC 5681 3.1 equation (3): in congestion avoidance cwnd grows by one SMSS per cwnd's
 * worth of acknowledged bytes, not per ACK. */
START_TEST(avoidance_one_smss_per_window)
{
    fresh(20 * SMSS);
    tcb.cwnd = 10 * SMSS;
    tcb.ssthresh = 5 * SMSS;
    for (int i = 0; i < 9; i++) {
        tcb.snd_una += SMSS;
        tcp_cc_on_ack(&tcb, SMSS);
    }
    ck_assert_uint_eq(tcb.cwnd, 10 * SMSS); /* 9 segments: not a whole window yet */
    tcb.snd_una += SMSS;
    tcp_cc_on_ack(&tcb, SMSS);
    ck_assert_uint_eq(tcb.cwnd, 11 * SMSS);
}
END_TEST

/* RFC 5681 3.1 equations (4) and (5): after a timeout ssthresh = max(FlightSize / 2,
 * 2 * SMSS) and cwnd = the loss window, one SMSS. */
START_TEST(timeout_halves_ssthresh_and_restarts)
{
    fresh(16 * SMSS);
    tcb.cwnd = 16 * SMSS;
    tcp_cc_on_timeout(&tcb);
    ck_assert_uint_eq(tcb.ssthresh, 8 * SMSS);
    ck_assert_uint_eq(tcb.cwnd, SMSS);
    fresh(SMSS); /* a tiny flight: ssthresh never goes below 2 * SMSS */
    tcp_cc_on_timeout(&tcb);
    ck_assert_uint_eq(tcb.ssthresh, 2 * SMSS);
    ck_assert(!tcb.in_recovery);
}
END_TEST

/* RFC 5681 3.2 step 2: only the third duplicate ACK starts fast retransmit. */
START_TEST(two_dupacks_change_nothing)
{
    fresh(10 * SMSS);
    uint32_t cwnd = tcb.cwnd, ssthresh = tcb.ssthresh;
    tcp_cc_on_dupack(&tcb);
    tcp_cc_on_dupack(&tcb);
    ck_assert_uint_eq(tcb.dupacks, 2);
    ck_assert_uint_eq(tcb.cwnd, cwnd);
    ck_assert_uint_eq(tcb.ssthresh, ssthresh);
    ck_assert(!tcb.in_recovery);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tcp_cc");
    TCase *tc = tcase_create("rfc5681");
    tcase_add_test(tc, slow_start_grows_by_acked_bytes);
    tcase_add_test(tc, avoidance_one_smss_per_window);
    tcase_add_test(tc, timeout_halves_ssthresh_and_restarts);
    tcase_add_test(tc, two_dupacks_change_nothing);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
