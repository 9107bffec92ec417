/* test_icmp_errors.c - what a pinger is told when its echo request cannot be delivered:
 * ARP gives up on the next hop ("Destination Host Unreachable" from ourselves, as Linux's
 * ping prints it), and a remote ICMP error quoting our echo request. */
#include <check.h>

#include "simnet.h"

static struct ping_event last;
static unsigned events;

static void on_ping(void *ctx, const struct ping_event *ev)
{
    (void)ctx;
    last = *ev;
    last.data = NULL;
    events++;
}

static bool got_event(void *ctx)
{
    (void)ctx;
    return events > 0;
}

/* conformance: LINK-2.4-3 */
START_TEST(arp_give_up_reports_host_unreachable)
{
    struct simnet n;
    ck_assert(simnet_init(&n, 7, NULL, 0));
    events = 0;
    stack_on_ping(n.a, on_ping, NULL);
    ck_assert_int_eq(stack_ping(n.a, 0x0a000009u /* 10.0.0.9: nobody */, 42, 1, "x", 1), 0);
    /* 3 requests 1 s apart, then ARP gives up */
    ck_assert(simnet_run(&n, 10000000, got_event, NULL));
    ck_assert_uint_eq(events, 1);
    ck_assert_int_eq(last.kind, PING_UNREACHABLE);
    ck_assert_uint_eq(last.from, SIM_IP_A); /* reported by ourselves */
    ck_assert_uint_eq(last.id, 42);
    ck_assert_uint_eq(last.seq, 1);
    ck_assert_uint_eq(stack_stats(n.a)->arp.resolve_failed, 1);
    ck_assert_uint_eq(stack_stats(n.a)->arp.requests_tx, 3);
    simnet_fini(&n);
}
END_TEST

START_TEST(reachable_host_gets_reply_not_error)
{
    struct simnet n;
    ck_assert(simnet_init(&n, 7, NULL, 0));
    events = 0;
    stack_on_ping(n.a, on_ping, NULL);
    ck_assert_int_eq(stack_ping(n.a, SIM_IP_B, 42, 1, "x", 1), 0);
    ck_assert(simnet_run(&n, 10000000, got_event, NULL));
    ck_assert_int_eq(last.kind, PING_REPLY);
    ck_assert_uint_eq(last.from, SIM_IP_B);
    simnet_fini(&n);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("icmp_errors");
    TCase *tc = tcase_create("ping");
    tcase_add_test(tc, arp_give_up_reports_host_unreachable);
    tcase_add_test(tc, reachable_host_gets_reply_not_error);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
