/* test_impair.c - the bad cable's model (tap/impair.c), shared by the simulated wire and
 * `tapir --impair`: its SPEC parser, and that its faults are what the spec asks, seeded
 * (the same seed and frames give the same fates) and delivered on the stack's clock. */
#include <check.h>
#include <string.h>

#include "../../tap/impair.h"

/* ---- the SPEC ---- */

START_TEST(parses_the_issue_example_for_both_directions)
{
    struct impair_config c;
    char why[160];
    ck_assert_int_eq(impair_parse("loss=5%,delay=5ms,reorder=25%,dup=1%,corrupt=1%,seed=7", &c, why,
                                  sizeof(why)),
                     0);
    for (int d = 0; d < 2; d++) {
        ck_assert_uint_eq(c.dir[d].loss_pct, 5);
        ck_assert_uint_eq(c.dir[d].delay_us, 5000);
        ck_assert_uint_eq(c.dir[d].reorder_pct, 25);
        ck_assert_uint_eq(c.dir[d].dup_pct, 1);
        ck_assert_uint_eq(c.dir[d].corrupt_pct, 1);
        ck_assert_uint_eq(c.dir[d].reorder_us, 2000); /* the wire's default */
    }
    ck_assert_uint_eq(c.seed, 7);
}
END_TEST

START_TEST(prefixes_limit_a_key_to_one_direction)
{
    struct impair_config c;
    char why[160], text[200];
    ck_assert_int_eq(impair_parse("in:loss=10,out:delay=500us,delay=1s", &c, why, sizeof(why)), 0);
    ck_assert_uint_eq(c.dir[IMPAIR_IN].loss_pct, 10);
    ck_assert_uint_eq(c.dir[IMPAIR_OUT].loss_pct, 0);
    ck_assert_uint_eq(c.dir[IMPAIR_OUT].delay_us, 1000000); /* later keys win */
    ck_assert_uint_eq(c.dir[IMPAIR_IN].delay_us, 1000000);
    ck_assert_uint_eq(c.seed, 1); /* the default */
    ck_assert_int_eq(impair_parse("out:loss=3%", &c, why, sizeof(why)), 0);
    impair_describe(&c, text, sizeof(text));
    ck_assert_str_eq(text, "in: none; out: loss=3%; seed=1");
}
END_TEST

START_TEST(refuses_bad_specs_with_a_reason)
{
    static const char *const bad[] = {"",         "loss",         "loss=",      "loss=101%",
                                      "loss=-1%", "loss=5%%",     "delay=5min", "delay=11s",
                                      "seed=x",   "in:seed=3",    "speed=5%",   "out:",
                                      "in:",      "loss=5%,,x=1", "corrupt",    "reorder=1e2"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct impair_config c;
        char why[160] = "";
        ck_assert_msg(impair_parse(bad[i], &c, why, sizeof(why)) < 0, "accepted '%s'", bad[i]);
        ck_assert_msg(why[0] && !strchr(why, '\n'), "no one-line reason for '%s'", bad[i]);
    }
}
END_TEST

/* ---- the model ---- */

struct fates {
    uint64_t rng;
    struct impair_spec spec;
    struct impair_stats stats;
    struct impair_path path;
    unsigned events[5];
};

static void count_event(void *ctx, const struct impair_event *ev)
{
    ((struct fates *)ctx)->events[ev->what]++;
}

static void fates_init(struct fates *f, uint32_t seed, const struct impair_spec *spec)
{
    memset(f, 0, sizeof(*f));
    f->rng = impair_seed(seed);
    f->spec = *spec;
    f->path = (struct impair_path){.spec = &f->spec,
                                   .rng = &f->rng,
                                   .stats = &f->stats,
                                   .observer = count_event,
                                   .observer_ctx = f};
}

/* Send n numbered frames, one per microsecond, and read everything out at the end: the
 * order in which they came out, into order[]. Returns how many came out. */
static unsigned run(struct fates *f, unsigned n, uint16_t *order, unsigned cap)
{
    uint8_t frame[64] = {0}, buf[64];
    for (unsigned i = 0; i < n; i++) {
        frame[0] = (uint8_t)(i >> 8);
        frame[1] = (uint8_t)i;
        impair_send(&f->path, frame, sizeof(frame), 1000 + i);
    }
    unsigned got = 0;
    while (impair_take(&f->path, buf, sizeof(buf), UINT64_MAX - 1) > 0)
        if (got < cap)
            order[got++] = (uint16_t)(buf[0] << 8 | buf[1]);
    impair_clear(&f->path);
    return got;
}

static const struct impair_spec everything = {.loss_pct = 5,
                                              .dup_pct = 2,
                                              .reorder_pct = 25,
                                              .corrupt_pct = 1,
                                              .delay_us = 5000,
                                              .reorder_us = 2000};

START_TEST(the_same_seed_gives_the_same_fates)
{
    static uint16_t o1[12000], o2[12000], o3[12000];
    struct fates a, b, c;
    fates_init(&a, 7, &everything);
    fates_init(&b, 7, &everything);
    fates_init(&c, 8, &everything);
    unsigned n1 = run(&a, 5000, o1, 12000), n2 = run(&b, 5000, o2, 12000),
             n3 = run(&c, 5000, o3, 12000);
    ck_assert_uint_eq(n1, n2);
    ck_assert_mem_eq(o1, o2, n1 * sizeof(o1[0]));
    ck_assert_mem_eq(&a.stats, &b.stats, sizeof(a.stats));
    ck_assert(n1 != n3 || memcmp(o1, o3, n1 * sizeof(o1[0])) != 0); /* another seed, another run */
}
END_TEST

START_TEST(rates_and_counters_agree)
{
    static uint16_t order[12000];
    struct fates f;
    fates_init(&f, 3, &everything);
    unsigned got = run(&f, 5000, order, 12000);
    const struct impair_stats *s = &f.stats;
    ck_assert_uint_eq(s->sent, 5000);
    ck_assert_uint_eq(s->delivered, got);
    ck_assert_uint_eq(s->delivered, s->sent - s->lost + s->duplicated);
    /* near the asked rates (5000 draws: well within these bounds) */
    ck_assert(s->lost > 170 && s->lost < 330);
    ck_assert(s->reordered > 1100 && s->reordered < 1400);
    ck_assert(s->duplicated > 50 && s->duplicated < 150);
    ck_assert(s->corrupted > 20 && s->corrupted < 85);
    /* every fault was reported, once */
    ck_assert_uint_eq(f.events[IMPAIR_LOST], s->lost);
    ck_assert_uint_eq(f.events[IMPAIR_REORDERED], s->reordered);
    ck_assert_uint_eq(f.events[IMPAIR_DUPLICATED], s->duplicated);
    ck_assert_uint_eq(f.events[IMPAIR_CORRUPTED], s->corrupted);
    /* and reordering reordered: some frame came out after a later one */
    bool overtaken = false;
    for (unsigned i = 1; i < got && !overtaken; i++)
        overtaken = order[i] < order[i - 1];
    ck_assert(overtaken);
}
END_TEST

START_TEST(nothing_arrives_before_its_delay)
{
    struct fates f;
    const struct impair_spec delay = {.delay_us = 5000};
    fates_init(&f, 1, &delay);
    uint8_t frame[60] = {1}, buf[60];
    impair_send(&f.path, frame, sizeof(frame), 1000);
    ck_assert_uint_eq(impair_next_due(&f.path), 6000);
    ck_assert_uint_eq(impair_take(&f.path, buf, sizeof(buf), 5999), 0);
    ck_assert_uint_eq(impair_take(&f.path, buf, sizeof(buf), 6000), sizeof(frame));
    ck_assert_uint_eq(impair_next_due(&f.path), UINT64_MAX);
    /* no faults asked, none drawn: a clean path is a plain delay line */
    ck_assert_uint_eq(f.stats.lost + f.stats.reordered + f.stats.duplicated + f.stats.corrupted, 0);
}
END_TEST

START_TEST(the_queue_is_bounded)
{
    struct fates f;
    const struct impair_spec delay = {.delay_us = 1000000};
    fates_init(&f, 1, &delay);
    uint8_t frame[60] = {0};
    for (unsigned i = 0; i < IMPAIR_MAX_IN_FLIGHT + 10; i++)
        impair_send(&f.path, frame, sizeof(frame), 0);
    ck_assert_uint_eq(f.path.count, IMPAIR_MAX_IN_FLIGHT);
    ck_assert_uint_eq(f.stats.overflowed, 10);
    ck_assert_uint_eq(f.events[IMPAIR_OVERFLOWED], 10);
    impair_clear(&f.path);
    ck_assert_uint_eq(f.path.count, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("impair");
    TCase *spec = tcase_create("spec");
    tcase_add_test(spec, parses_the_issue_example_for_both_directions);
    tcase_add_test(spec, prefixes_limit_a_key_to_one_direction);
    tcase_add_test(spec, refuses_bad_specs_with_a_reason);
    suite_add_tcase(s, spec);
    TCase *model = tcase_create("model");
    tcase_add_test(model, the_same_seed_gives_the_same_fates);
    tcase_add_test(model, rates_and_counters_agree);
    tcase_add_test(model, nothing_arrives_before_its_delay);
    tcase_add_test(model, the_queue_is_bounded);
    suite_add_tcase(s, model);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
