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

/* --- read_rise and read_fall ------------------------------------------- */

/* poll_view: one poll of a replica: 'o' fit (lag 50 ms), 'L' lag above
 * the 100 ms bound, 'D' disconnected, 'U' unreachable, 'S' stale, '?'
 * lag unknown, 'X' implausible. */
static struct replica_view poll_view(char k)
{
    struct replica_view v = {true, true, true, false, true, 0.05, NULL};
    switch (k) {
    case 'L':
        v.lag = 0.2;
        break;
    case 'D':
        v.connected = false;
        break;
    case 'U':
        v.reachable = false;
        break;
    case 'S':
        v.fresh = false;
        break;
    case '?':
        v.have_lag = false;
        break;
    case 'X':
        v.implausible = "implausible heartbeat";
        break;
    }
    return v;
}

static const struct {
    unsigned rise, fall;
    const char *polls; /* poll_view() kinds */
    const char *in;    /* in rotation after each poll */
    uint64_t changes;
} gates[] = {
    /* the first verdict stands at once, either way */
    {2, 1, "o", "1", 0},
    {2, 1, "L", "0", 0},
    /* defaults: leaving is immediate, entering takes 2 polls */
    {2, 1, "oLoLoLoL", "10000000", 1},
    {2, 1, "LooLoooL", "00100110", 4},
    /* rise 1, fall 1: every poll counts (the old behaviour) */
    {1, 1, "oLoLoL", "101010", 5},
    /* fall 3: three polls above the bound in a row */
    {1, 3, "oLLoLLLo", "11111101", 2},
    /* any fault but the lag leaves at once, whatever fall says */
    {1, 3, "oLDo", "1101", 2},
    {1, 3, "oUoSo?oXo", "101010101", 8},
    /* a fault while rising starts the count again */
    {3, 1, "LoooooUooo", "0001110001", 3},
    {3, 1, "LooLoooo", "00000011", 1},
    /* 0 counts as 1 */
    {0, 0, "LoL", "010", 2},
};

START_TEST(rotation_gate_table)
{
    struct rotation_gate g = {0};
    const char *p = gates[_i].polls;
    for (size_t k = 0; p[k]; k++) {
        struct replica_view v = poll_view(p[k]);
        const char *why = "unset";
        bool in = rotation_gate_step(&g, &v, 0.1, gates[_i].rise,
                                     gates[_i].fall, &why);
        ck_assert_msg(in == (gates[_i].in[k] == '1'), "case %d poll %zu", _i,
                      k);
        if (in)
            ck_assert_ptr_null(why);
        else
            ck_assert_ptr_nonnull(why);
    }
    ck_assert_uint_eq(g.changes, gates[_i].changes);
}
END_TEST

/* The reasons: a fit replica held out says so; one held in has none. */
START_TEST(rotation_gate_reasons)
{
    struct rotation_gate g = {0};
    struct replica_view lag = poll_view('L'), ok = poll_view('o'),
                        down = poll_view('D');
    const char *why;
    rotation_gate_step(&g, &lag, 0.1, 2, 2, &why);
    ck_assert_str_eq(why, "lag above max_lag");
    rotation_gate_step(&g, &ok, 0.1, 2, 2, &why);
    ck_assert_str_eq(why, ROTATION_WHY_RISE);
    ck_assert(rotation_gate_step(&g, &ok, 0.1, 2, 2, &why));
    ck_assert_ptr_null(why);
    ck_assert(rotation_gate_step(&g, &lag, 0.1, 2, 2, &why)); /* held */
    ck_assert_ptr_null(why);
    ck_assert(!rotation_gate_step(&g, &down, 0.1, 2, 2, &why));
    ck_assert_str_eq(why, "disconnected");
    ck_assert_uint_eq(g.changes, 2);
    /* held: judged again without a poll, nothing moves */
    struct rotation_gate before = g;
    ck_assert(!rotation_gate_hold(&g, &ok, 0.1, &why));
    ck_assert_str_eq(why, ROTATION_WHY_RISE);
    ck_assert(!rotation_gate_hold(&g, &down, 0.1, &why));
    ck_assert_str_eq(why, "disconnected");
    ck_assert(g.in == before.in && g.streak == before.streak &&
              g.changes == before.changes && g.decided == before.decided);
    rotation_gate_step(&g, &ok, 0.1, 2, 2, NULL);
    ck_assert(rotation_gate_step(&g, &ok, 0.1, 2, 2, NULL));
    ck_assert(rotation_gate_hold(&g, &lag, 0.1, &why));
    ck_assert_ptr_null(why);
}
END_TEST

/* Over long random runs, for each rise and fall: every entry follows
 * rise fit polls in a row, so entries are at least rise polls apart; a
 * replica that leaves for its lag alone has had fall such polls in a
 * row; and a poll with any other fault is never in rotation. */
START_TEST(rotation_gate_never_flaps)
{
    static const char kinds[] = "ooooLLLD";
    unsigned seed = 12345;
    for (unsigned rise = 1; rise <= 4; rise++) {
        for (unsigned fall = 1; fall <= 3; fall++) {
            struct rotation_gate g = {0};
            char hist[2000];
            long last_entry = -1000;
            bool was = false;
            for (long k = 0; k < (long)sizeof(hist); k++) {
                seed = seed * 1103515245u + 12345u;
                hist[k] = kinds[(seed >> 16) % (sizeof(kinds) - 1)];
                struct replica_view v = poll_view(hist[k]);
                bool in = rotation_gate_step(&g, &v, 0.1, rise, fall, NULL);
                if (hist[k] == 'D')
                    ck_assert(!in);
                if (in && !was && k > 0) {
                    ck_assert_int_ge(k - last_entry, (long)rise);
                    for (long j = k - (long)rise + 1; j <= k; j++)
                        ck_assert_int_eq(hist[j], 'o');
                    last_entry = k;
                }
                if (!in && was && hist[k] == 'L')
                    for (long j = k - (long)fall + 1; j <= k; j++)
                        ck_assert_int_eq(hist[j], 'L');
                was = in;
            }
            ck_assert_uint_gt(g.changes, 10); /* the runs did flap */
        }
    }
}
END_TEST

/* --- sync replicas ------------------------------------------------------ */

START_TEST(sync_replica_rules)
{
    struct replica_view v = poll_view('o');
    ck_assert(sync_replica_ok(&v, true, true, 0.05));
    ck_assert(!sync_replica_ok(&v, true, true, 0.04)); /* too far behind */
    ck_assert(!sync_replica_ok(&v, false, true, 1));   /* never said */
    ck_assert(!sync_replica_ok(&v, true, false, 1));   /* fenced */
    static const char faults[] = "DUS?X";
    for (size_t i = 0; faults[i]; i++) {
        v = poll_view(faults[i]);
        ck_assert_msg(!sync_replica_ok(&v, true, true, 1), "%c", faults[i]);
    }
    v = poll_view('o');
    v.demoted = true;
    ck_assert(!sync_replica_ok(&v, true, true, 1));
}
END_TEST

/* replica_state_step: the order removed, failed, paused, syncing,
 * active; a disconnect is syncing until critical, then failed, and a
 * return stays syncing until the lag is below warning. */
START_TEST(replica_states)
{
    struct replica_track t = {0};
    struct replica_obs ok = {.seen = true, .have_lag = true, .lag = 0.1};
    struct replica_obs o = ok;
    ck_assert_int_eq(replica_state_step(&t, &o, 10, 1, 5), RSTATE_ACTIVE);
    o.paused = true;
    ck_assert_int_eq(replica_state_step(&t, &o, 11, 1, 5), RSTATE_PAUSED);
    o = ok;
    o.forced_sync = true;
    ck_assert_int_eq(replica_state_step(&t, &o, 12, 1, 5), RSTATE_SYNCING);
    o = ok;
    o.stream_down = true;
    ck_assert_int_eq(replica_state_step(&t, &o, 20, 1, 5), RSTATE_SYNCING);
    ck_assert_int_eq(replica_state_step(&t, &o, 24.9, 1, 5), RSTATE_SYNCING);
    ck_assert_int_eq(replica_state_step(&t, &o, 25, 1, 5), RSTATE_FAILED);
    o = ok;
    o.lag = 3; /* back, behind */
    ck_assert_int_eq(replica_state_step(&t, &o, 26, 1, 5), RSTATE_SYNCING);
    o.lag = 0.5;
    ck_assert_int_eq(replica_state_step(&t, &o, 27, 1, 5), RSTATE_ACTIVE);
    o.lag = 3; /* a lag alone is no failure */
    ck_assert_int_eq(replica_state_step(&t, &o, 28, 1, 5), RSTATE_ACTIVE);
    o.seen = false;
    ck_assert_int_eq(replica_state_step(&t, &o, 29, 1, 5), RSTATE_FAILED);
    o = ok;
    o.removed = true;
    o.stream_down = true;
    ck_assert_int_eq(replica_state_step(&t, &o, 30, 1, 5), RSTATE_REMOVED);
    ck_assert_str_eq(replica_state_name(RSTATE_PAUSED), "paused");
    ck_assert_str_eq(replica_state_name(RSTATE_REMOVED), "removed");
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
    tcase_add_loop_test(tc, rotation_gate_table, 0, (int)ARRAY_LEN(gates));
    tcase_add_test(tc, rotation_gate_reasons);
    tcase_add_test(tc, rotation_gate_never_flaps);
    tcase_add_test(tc, sync_replica_rules);
    tcase_add_test(tc, replica_states);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
