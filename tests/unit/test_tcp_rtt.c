/* test_tcp_rtt.c - RFC 6298 section 2: SRTT, RTTVAR and RTO from round-trip samples
 * (tcp_rtt_sample in stack/tcp_output.c), with tapir's floor and ceiling. */
#include <check.h>
#include <string.h>

#include "../../stack/tcp_impl.h"

static struct tcb tcb;

static void fresh(void)
{
    memset(&tcb, 0, sizeof(tcb));
    tcb.rto_us = TCP_RTO_INITIAL_US;
}

/* 2.2: the first measurement R gives SRTT = R, RTTVAR = R/2, RTO = SRTT + max(G, 4*RTTVAR). */
START_TEST(first_sample)
{
    fresh();
    tcp_rtt_sample(&tcb, 100000);
    ck_assert(tcb.rtt_valid);
    ck_assert_uint_eq(tcb.srtt_us, 100000);
    ck_assert_uint_eq(tcb.rttvar_us, 50000);
    ck_assert_uint_eq(tcb.rto_us, 300000);
}
END_TEST

/* 2.3: RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R'| (with the old SRTT), then SRTT = 7/8 SRTT + 1/8 R'. */
START_TEST(later_samples)
{
    fresh();
    tcp_rtt_sample(&tcb, 100000);
    tcp_rtt_sample(&tcb, 200000);
    ck_assert_uint_eq(tcb.rttvar_us, 62500);
    ck_assert_uint_eq(tcb.srtt_us, 112500);
    ck_assert_uint_eq(tcb.rto_us, 362500);
    tcp_rtt_sample(&tcb, 112500); /* on the average: the variance shrinks by a quarter */
    ck_assert_uint_eq(tcb.srtt_us, 112500);
    ck_assert_uint_eq(tcb.rttvar_us, 46875);
}
END_TEST

/* 2.4 asks for a floor (tapir takes Linux's 200 ms); the clock granularity G = 1 ms counts
 * when the variance is tiny. */
START_TEST(floor_and_granularity)
{
    fresh();
    tcp_rtt_sample(&tcb, 1000);
    ck_assert_uint_eq(tcb.rto_us, TCP_RTO_MIN_US);
    fresh();
    for (int i = 0; i < 200; i++) /* a steady 400 ms: RTTVAR decays towards 0 */
        tcp_rtt_sample(&tcb, 400000);
    ck_assert_uint_eq(tcb.srtt_us, 400000);
    ck_assert_uint_eq(tcb.rto_us, 401000); /* SRTT + G */
}
END_TEST

/* 2.5: a maximum MAY be placed on RTO, provided it is at least 60 seconds. */
START_TEST(ceiling)
{
    fresh();
    tcp_rtt_sample(&tcb, 100000000);
    ck_assert_uint_eq(tcb.rto_us, TCP_RTO_MAX_US);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tcp_rtt");
    TCase *tc = tcase_create("rfc6298");
    tcase_add_test(tc, first_sample);
    tcase_add_test(tc, later_samples);
    tcase_add_test(tc, floor_and_granularity);
    tcase_add_test(tc, ceiling);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
