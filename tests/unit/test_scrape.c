/* test_scrape.c: reading the stemedb profile out of /metrics text. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "profiles/stemedb/scrape.h"

static const char primary_body[] =
    "# HELP stemedb_assertions_indexed_total Position.\n"
    "# TYPE stemedb_assertions_indexed_total counter\n"
    "stemedb_assertions_indexed_total 123456\n"
    "stemedb_heartbeat_timestamp_seconds 1763769600.250000\n"
    "stemedb_node_role{role=\"primary\"} 1\n"
    "stemedb_node_role{role=\"replica\"} 0\n"
    "stemedb_node_role{role=\"demoted\"} 0\n"
    "stemedb_replication_lag_seconds{replica=\"node2\"} 0.020000\n"
    "stemedb_replication_lag_seconds{replica=\"node3\"} 7.5\n"
    "stemedb_rate_limit_assertions_per_second 500\n"
    "stemedb_admin_requests_total{endpoint=\"heartbeat\"} 7\n"
    "unrelated_metric{a=\"b\"} 1\n";

START_TEST(primary_answer)
{
    struct node_sample s;
    struct promtext_error err = {0};
    ck_assert_int_eq(scrape_parse(primary_body, strlen(primary_body), &s, &err),
                     0);
    ck_assert(s.has_position);
    ck_assert_uint_eq(s.position, 123456);
    ck_assert(s.has_heartbeat);
    ck_assert_double_eq_tol(s.heartbeat, 1763769600.25, 1e-6);
    ck_assert_int_eq(s.role, SEEN_ROLE_PRIMARY);
    ck_assert_str_eq(scrape_role_name(s.role), "primary");
    ck_assert(!s.has_connected);
    ck_assert(s.has_rate_limit);
    ck_assert_double_eq(s.rate_limit, 500);
    ck_assert_uint_eq(s.n_reported, 2);
    ck_assert_str_eq(s.reported[1].replica, "node3");
    ck_assert_double_eq(s.reported[1].lag, 7.5);
}
END_TEST

START_TEST(replica_answer)
{
    static const char body[] = "stemedb_assertions_indexed_total 99\n"
                               "stemedb_replication_connected 0\n"
                               "stemedb_node_role{role=\"demoted\"} 1\n";
    struct node_sample s;
    struct promtext_error err = {0};
    ck_assert_int_eq(scrape_parse(body, strlen(body), &s, &err), 0);
    ck_assert(s.has_connected);
    ck_assert(!s.connected);
    ck_assert_int_eq(s.role, SEEN_ROLE_DEMOTED);
    ck_assert_uint_eq(s.n_reported, 0);
    ck_assert(!s.has_heartbeat);
}
END_TEST

/* The failover inputs (issue 15): epoch, acked position, sync mode and
 * the fenced role, as replguard-simnode writes them. */
START_TEST(failover_series)
{
    static const char body[] = "stemedb_assertions_indexed_total 500\n"
                               "stemedb_epoch 3\n"
                               "stemedb_acked_position 498\n"
                               "stemedb_sync_mode{mode=\"async\"} 0\n"
                               "stemedb_sync_mode{mode=\"semi-sync\"} 1\n"
                               "stemedb_sync_mode{mode=\"blocked\"} 0\n"
                               "stemedb_node_role{role=\"primary\"} 0\n"
                               "stemedb_node_role{role=\"fenced\"} 1\n"
                               "stemedb_replication_connected 1\n";
    struct node_sample s;
    struct promtext_error err = {0};
    ck_assert_int_eq(scrape_parse(body, strlen(body), &s, &err), 0);
    ck_assert(s.has_epoch);
    ck_assert_uint_eq(s.epoch, 3);
    ck_assert(s.has_acked);
    ck_assert_uint_eq(s.acked, 498);
    ck_assert_int_eq(s.sync_mode, SYNC_SEEN_SEMI_SYNC);
    ck_assert_int_eq(s.role, SEEN_ROLE_FENCED);
    ck_assert_str_eq(scrape_role_name(s.role), "fenced");
    ck_assert(s.has_connected && s.connected);

    /* absent series: unknown; a fractional or negative epoch: unknown */
    static const char bare[] = "stemedb_assertions_indexed_total 5\n"
                               "stemedb_epoch 1.5\n"
                               "stemedb_acked_position -1\n"
                               "stemedb_sync_mode{mode=\"blocked\"} 1\n";
    ck_assert_int_eq(scrape_parse(bare, strlen(bare), &s, &err), 0);
    ck_assert(!s.has_epoch);
    ck_assert(!s.has_acked);
    ck_assert_int_eq(s.sync_mode, SYNC_SEEN_BLOCKED);
    ck_assert_int_eq(s.role, SEEN_ROLE_UNKNOWN);
    ck_assert_int_eq(scrape_parse(primary_body, strlen(primary_body), &s, &err),
                     0);
    ck_assert(!s.has_epoch && !s.has_acked);
    ck_assert_int_eq(s.sync_mode, SYNC_SEEN_UNKNOWN);
}
END_TEST

static const struct {
    const char *body;
    const char *why;
} bad[] = {
    {"stemedb_replication_connected 1\n",
     "no stemedb_assertions_indexed_total"},
    {"stemedb_assertions_indexed_total -5\n", "position"},
    {"stemedb_assertions_indexed_total NaN\n", "position"},
    /* garbage in a family the profile reads still fails the scrape */
    {"stemedb_assertions_indexed_total 5\nstemedb_epoch{ 1\n", NULL},
    {"stemedb_assertions_indexed_total 5\n"
     "stemedb_replication_lag_seconds{replica=\"a\\q\"} 1\n",
     NULL},
    {"stemedb_assertions_indexed_total 5\nstemedb_node_role@ 1\n", NULL},
    {"stemedb_assertions_indexed_total 5 x\n", NULL},
    {"\x01\x02garbage\xff\xfe", NULL},
    {"", "no stemedb_assertions_indexed_total"},
};

START_TEST(rejects_bad_answers)
{
    struct node_sample s;
    struct promtext_error err = {0};
    const char *body = bad[_i].body;
    ck_assert_int_eq(scrape_parse(body, strlen(body), &s, &err), -1);
    ck_assert_ptr_nonnull(err.msg);
    if (bad[_i].why)
        ck_assert_msg(strstr(err.msg, bad[_i].why) != NULL, "%s", err.msg);
}
END_TEST

/* Families the profile does not read are skipped without validation
 * (promtext.h, skip_unwanted): garbage in them, in HELP/TYPE lines or
 * on a line without a valid name costs nothing, while the families it
 * reads around them still count. */
START_TEST(skips_garbage_in_unread_families)
{
    static const char body[] =
        "# HELP stemedb_epoch \xff\xfe not UTF-8\n"
        "# TYPE stemedb_epoch nonsense\n"
        "broken{ 1\n"
        "stemedb_admin_requests_total{path=\"\\q\"} x y z\n"
        "stemedb_assertions_indexed_total 42\n"
        "stemedb_assertions_indexed_totals{{{ 1\n"
        "\x01\x02garbage\xff\n"
        "stemedb_epoch 7\n";
    struct node_sample s;
    struct promtext_error err = {0};
    ck_assert_int_eq(scrape_parse(body, sizeof(body) - 1, &s, &err), 0);
    ck_assert(s.has_position);
    ck_assert_uint_eq(s.position, 42);
    ck_assert(s.has_epoch);
    ck_assert_uint_eq(s.epoch, 7);
    ck_assert_uint_eq(err.passed, 2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("scrape");
    TCase *tc = tcase_create("stemedb");
    tcase_add_test(tc, primary_answer);
    tcase_add_test(tc, replica_answer);
    tcase_add_test(tc, failover_series);
    tcase_add_test(tc, skips_garbage_in_unread_families);
    tcase_add_loop_test(tc, rejects_bad_answers, 0,
                        (int)(sizeof(bad) / sizeof(bad[0])));
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
