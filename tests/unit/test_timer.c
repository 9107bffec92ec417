/* test_timer.c - the stack's timers (stack/timer.c): many timers, many ties, cancels and
 * re-arms, and the firing order must be exactly "earliest deadline first, equal deadlines
 * in the order they were armed" (what keeps `tapir sim` runs reproducible).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../stack/stack_impl.h"
#include "../../stack/timer.h"
#include "unitnet.h"

#define N 20000

struct probe {
    struct timer timer;
    unsigned id;
    uint64_t when, seq; /* what the test expects: deadline, and its own arming counter */
    bool armed;
};

static struct probe probes[N];
static unsigned fired[N], n_fired;
static uint64_t arm_seq;

static void record_fire(struct stack *stack, void *arg)
{
    (void)stack;
    struct probe *p = arg;
    ck_assert(p->armed);
    p->armed = false;
    fired[n_fired++] = p->id;
}

static void arm(struct unitnet *u, struct probe *p, uint64_t delay)
{
    timer_arm(u->stack, &p->timer, delay);
    p->when = u->now_us + delay;
    p->seq = arm_seq++;
    p->armed = true;
}

static int by_deadline_then_arming(const void *a, const void *b)
{
    const struct probe *x = *(struct probe *const *)a, *y = *(struct probe *const *)b;
    if (x->when != y->when)
        return x->when < y->when ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

START_TEST(many_timers_fire_in_order)
{
    struct unitnet *u = unet_create(NULL);
    ck_assert_ptr_nonnull(u);
    srand(14);
    n_fired = 0;
    arm_seq = 0;
    for (unsigned i = 0; i < N; i++) {
        probes[i].id = i;
        probes[i].armed = false;
        timer_init(&probes[i].timer, record_fire, &probes[i]);
        arm(u, &probes[i], (uint64_t)(rand() % 64) * 1000); /* 64 deadlines: many ties */
    }
    /* cancel a third, re-arm a fifth (moving them to the back of their new tie), and
     * cancel some that were never armed or were cancelled already */
    for (unsigned i = 0; i < N; i += 3) {
        timer_cancel(u->stack, &probes[i].timer);
        timer_cancel(u->stack, &probes[i].timer);
        probes[i].armed = false;
    }
    for (unsigned i = 0; i < N; i += 5)
        arm(u, &probes[i], (uint64_t)(rand() % 64) * 1000);
    struct probe **expect = malloc(N * sizeof(*expect));
    unsigned n_expect = 0;
    for (unsigned i = 0; i < N; i++) {
        ck_assert(timer_armed(&probes[i].timer) == probes[i].armed);
        if (probes[i].armed)
            expect[n_expect++] = &probes[i];
    }
    qsort(expect, n_expect, sizeof(*expect), by_deadline_then_arming);
    /* time moves in steps of 0.7 ms, so some steps fire several deadlines and some none */
    for (unsigned step = 0, seen = 0; step < 100; step++) {
        unet_advance(u, 700);
        for (; seen < n_fired; seen++) /* nothing fired early */
            ck_assert_uint_le(probes[fired[seen]].when, u->now_us);
    }
    ck_assert_uint_eq(n_fired, n_expect);
    for (unsigned i = 0; i < n_expect; i++)
        ck_assert_msg(fired[i] == expect[i]->id, "firing %u: timer %u, expected %u", i, fired[i],
                      expect[i]->id);
    free(expect);
    unet_destroy(u);
}
END_TEST

/* A timer armed from inside a firing one, due now, fires in the same round, after the
 * others already due (it was armed last); cancelling one that is due keeps it silent. */
static struct probe chain[3];
static void fire_and_arm_next(struct stack *stack, void *arg)
{
    struct probe *p = arg;
    fired[n_fired++] = p->id;
    if (p->id == 0) {
        timer_arm(stack, &chain[2].timer, 0);
        timer_cancel(stack, &chain[1].timer);
    }
}

START_TEST(arm_and_cancel_while_firing)
{
    struct unitnet *u = unet_create(NULL);
    ck_assert_ptr_nonnull(u);
    n_fired = 0;
    for (unsigned i = 0; i < 3; i++) {
        chain[i].id = i;
        timer_init(&chain[i].timer, fire_and_arm_next, &chain[i]);
    }
    timer_arm(u->stack, &chain[0].timer, 1000);
    timer_arm(u->stack, &chain[1].timer, 1000);
    unet_advance(u, 1000);
    ck_assert_uint_eq(n_fired, 2);
    ck_assert_uint_eq(fired[0], 0);
    ck_assert_uint_eq(fired[1], 2);
    ck_assert(!timer_armed(&chain[1].timer));
    unet_destroy(u);
}
END_TEST

static Suite *timer_suite(void)
{
    Suite *s = suite_create("timer");
    TCase *tc = tcase_create("timer");
    tcase_set_timeout(tc, 60); /* a loaded machine */
    tcase_add_test(tc, many_timers_fire_in_order);
    tcase_add_test(tc, arm_and_cancel_while_firing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(timer_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
