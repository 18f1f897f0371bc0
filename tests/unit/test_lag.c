/* test_lag.c: lag arithmetic and health with hand-made clocks. */
#include <check.h>
#include <stdlib.h>

#include "model/lag.h"
#include "lib/util.h"

#define EPS 1e-9

START_TEST(position_lag_interpolates)
{
    struct poshist h;
    poshist_reset(&h);
    double lag;
    ck_assert_int_eq(poshist_lag(&h, 0, 10, &lag), -1);
    /* 1000 writes per second, seen once a second */
    for (int t = 0; t <= 10; t++)
        poshist_add(&h, t, (uint64_t)t * 1000);
    ck_assert_uint_eq(poshist_latest(&h), 10000);
    /* a replica at 4999 lacks write 5000, written at t = 5 */
    ck_assert_int_eq(poshist_lag(&h, 4999, 10, &lag), 0);
    ck_assert_double_eq_tol(lag, 5.0, EPS);
    /* between samples: write 2501 was at t = 2.501 */
    ck_assert_int_eq(poshist_lag(&h, 2500, 10, &lag), 0);
    ck_assert_double_eq_tol(lag, 10 - 2.501, EPS);
    /* caught up, or past the newest sample: no lag */
    ck_assert_int_eq(poshist_lag(&h, 10000, 10.5, &lag), 0);
    ck_assert_double_eq(lag, 0);
    ck_assert_int_eq(poshist_lag(&h, 10007, 10.5, &lag), 0);
    ck_assert_double_eq(lag, 0);
}
END_TEST

START_TEST(idle_primary_is_not_lag)
{
    struct poshist h;
    poshist_reset(&h);
    double lag;
    poshist_add(&h, 0, 100);
    for (int t = 1; t <= 600; t++) /* ten idle minutes */
        poshist_add(&h, t, 100);
    ck_assert_uint_eq(h.len, 2); /* the idle run costs two samples */
    /* a caught-up replica of an idle primary has no lag */
    ck_assert_int_eq(poshist_lag(&h, 100, 600.5, &lag), 0);
    ck_assert_double_eq(lag, 0);
    /* writes resume: 101..200 between t = 600 and 601 */
    poshist_add(&h, 601, 200);
    /* a replica still at 100 lacks write 101, written just after t = 600,
     * not ten minutes ago */
    ck_assert_int_eq(poshist_lag(&h, 100, 601, &lag), 0);
    ck_assert_double_eq_tol(lag, 1 - 0.01, EPS);
}
END_TEST

START_TEST(history_bounds_and_resets)
{
    struct poshist h;
    poshist_reset(&h);
    int n = 40 * POSHIST_CAP;
    for (int t = 0; t < n; t++)
        poshist_add(&h, t, (uint64_t)t * 10);
    ck_assert_uint_le(h.len, POSHIST_CAP);
    /* thinning keeps the very first sample and the newest */
    ck_assert_double_eq(h.s[0].t, 0);
    ck_assert_uint_eq(poshist_latest(&h), (uint64_t)(n - 1) * 10);
    double lag;
    /* old positions are still found, interpolated over coarser samples
     * (exact here: the rate is constant) */
    ck_assert_int_eq(poshist_lag(&h, 4, n, &lag), 0);
    ck_assert_double_eq_tol(lag, n - 0.5, 1e-6);
    ck_assert_int_eq(poshist_lag(&h, 10 * (uint64_t)n - 25, n, &lag), 0);
    ck_assert_double_eq_tol(lag, 2.4, 1e-6);
    /* recent samples keep full resolution */
    ck_assert_double_eq(h.s[h.len - 2].t, n - 2);
    /* a smaller position (a restart nobody corrected) starts over */
    poshist_add(&h, 4000, 3);
    ck_assert_uint_eq(h.len, 1);
    ck_assert_uint_eq(poshist_latest(&h), 3);

    struct counter_track c = {0};
    bool reset;
    ck_assert_uint_eq(counter_track_update(&c, 500, &reset), 500);
    ck_assert(!reset);
    ck_assert_uint_eq(counter_track_update(&c, 900, &reset), 900);
    ck_assert_uint_eq(counter_track_update(&c, 20, &reset), 920);
    ck_assert(reset);
    ck_assert_uint_eq(counter_track_update(&c, 50, &reset), 950);
    ck_assert(!reset);
}
END_TEST

START_TEST(heartbeat_lag)
{
    struct hbhist h;
    hbhist_reset(&h);
    double lag;
    ck_assert_int_eq(hbhist_lag(&h, 0, 100, &lag), -1);
    for (int i = 0; i < 10; i++)
        hbhist_add(&h, 100 + i); /* one a second, 100..109 */
    hbhist_add(&h, 105);         /* out of order: ignored */
    ck_assert_uint_eq(h.len, 10);
    /* has the newest: no lag, however old the newest is */
    ck_assert_int_eq(hbhist_lag(&h, 109, 150, &lag), 0);
    ck_assert_double_eq(lag, 0);
    /* applied 104: lacks 105, sent at 105 */
    ck_assert_int_eq(hbhist_lag(&h, 104, 109.25, &lag), 0);
    ck_assert_double_eq_tol(lag, 4.25, EPS);
    /* never applied any: lacks the first */
    ck_assert_int_eq(hbhist_lag(&h, 0, 109.5, &lag), 0);
    ck_assert_double_eq_tol(lag, 9.5, EPS);
    /* a replica's clock does not matter: values are ours */
    ck_assert_int_eq(hbhist_lag(&h, 108.5, 109.1, &lag), 0);
    ck_assert_double_eq_tol(lag, 0.1, EPS);
}
END_TEST

static const struct thresholds th = {5, 10, 60, 0.1};

static const struct {
    struct replica_view v;
    enum health want;
    bool rotation;
    const char *why;
} cases[] = {
    {{true, true, true, false, true, 0.05, NULL}, HEALTH_HEALTHY, true, NULL},
    {{true, true, true, false, true, 0.2, NULL},
     HEALTH_HEALTHY,
     false,
     "lag above max_lag"},
    {{true, true, true, false, true, 5, NULL},
     HEALTH_DEGRADED,
     false,
     "lag above max_lag"},
    {{true, true, true, false, true, 10, NULL},
     HEALTH_UNHEALTHY,
     false,
     "lag above max_lag"},
    {{true, true, false, false, true, 0, NULL},
     HEALTH_UNHEALTHY,
     false,
     "disconnected"},
    {{false, true, true, false, true, 0, NULL},
     HEALTH_UNKNOWN,
     false,
     "unreachable"},
    {{true, false, true, false, true, 0, NULL}, HEALTH_UNKNOWN, false, "stale"},
    {{true, true, true, false, false, 0, NULL},
     HEALTH_UNKNOWN,
     false,
     "lag unknown"},
    {{true, true, true, true, true, 0, NULL}, HEALTH_HEALTHY, false, "demoted"},
    /* a value that cannot be true: lag unknown, whatever number is left */
    {{true, true, true, false, false, 0, "implausible heartbeat"},
     HEALTH_UNKNOWN,
     false,
     "implausible heartbeat"},
    {{true, true, true, false, true, 0, "implausible position"},
     HEALTH_UNKNOWN,
     false,
     "implausible position"},
    {{true, true, false, false, false, 0, "implausible position"},
     HEALTH_UNHEALTHY,
     false,
     "disconnected"},
};

START_TEST(health_table)
{
    const char *why = "unset";
    ck_assert_int_eq(health_classify(&cases[_i].v, &th), cases[_i].want);
    ck_assert_int_eq(read_rotation_ok(&cases[_i].v, th.read_max_lag, &why),
                     cases[_i].rotation);
    if (cases[_i].why)
        ck_assert_str_eq(why, cases[_i].why);
    else
        ck_assert_ptr_null(why);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("lag");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, position_lag_interpolates);
    tcase_add_test(tc, idle_primary_is_not_lag);
    tcase_add_test(tc, history_bounds_and_resets);
    tcase_add_test(tc, heartbeat_lag);
    tcase_add_loop_test(tc, health_table, 0, (int)ARRAY_LEN(cases));
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
