/* test_pgactions.c: the PostgreSQL profile's action requests
 * (profiles/postgres/pgactions.h): the quoting of SQL literals and
 * connection string values (no value can end its literal early), and
 * what each builder sends where. tests/integration/test_pgact.c runs
 * the same SQL on real servers. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "lib/util.h"
#include "profiles/postgres/pgactions.h"
#include "profiles/postgres/postgres.h"
#include "profiles/profile.h"

static char *quoted(void (*q)(const char *, struct buf *), const char *s)
{
    struct buf b;
    buf_init(&b, 0);
    q(s, &b);
    return buf_detach(&b);
}

/* literal_end: the offset just past the E'...' literal starting at s,
 * read as PostgreSQL's lexer does ('' and \x are escapes), or 0 when
 * it does not end. */
static size_t literal_end(const char *s)
{
    ck_assert_msg(strncmp(s, "E'", 2) == 0, "not a literal: %s", s);
    for (size_t i = 2; s[i]; i++) {
        if (s[i] == '\\' && s[i + 1])
            i++;
        else if (s[i] == '\'' && s[i + 1] == '\'')
            i++;
        else if (s[i] == '\'')
            return i + 1;
    }
    return 0;
}

START_TEST(sql_literals_hold_any_text)
{
    static const char *const evil[] = {
        "node2",
        "x'); DROP TABLE t; --",
        "a\\'b",
        "\\",
        "'",
        "''",
        "it's \\\\ here\\",
        "$replguard$ END $replguard$; SELECT 1",
    };
    for (size_t i = 0; i < sizeof(evil) / sizeof(evil[0]); i++) {
        char *q = quoted(pgact_quote_literal, evil[i]);
        ck_assert_msg(literal_end(q) == strlen(q), "%s -> %s", evil[i], q);
        free(q);
    }
    char *q = quoted(pgact_quote_literal, "x'); DROP TABLE t; --");
    ck_assert_str_eq(q, "E'x''); DROP TABLE t; --'");
    free(q);
    q = quoted(pgact_quote_literal, "a\\b");
    ck_assert_str_eq(q, "E'a\\\\b'");
    free(q);
}
END_TEST

START_TEST(conninfo_values_quoted)
{
    char *q = quoted(pgact_quote_conninfo, "a b'c\\d");
    ck_assert_str_eq(q, "'a b\\'c\\\\d'");
    free(q);
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(
        pgact_primary_conninfo("host=10.0.0.1 port=5433 user=replguard "
                               "dbname=postgres password=secret "
                               "passfile=/etc/replguard/pgpass "
                               "application_name=replguard sslmode=require",
                               NULL, "node2", &b),
        0);
    ck_assert_str_eq(b.data, "host='10.0.0.1' port='5433' sslmode='require' "
                             "application_name='node2'");
    buf_reset(&b);
    /* a URI, and a name that tries to add a keyword */
    ck_assert_int_eq(
        pgact_primary_conninfo("postgresql://replguard@db1:6543/postgres",
                               "replicator", "n x=1", &b),
        0);
    ck_assert_str_eq(b.data, "host='db1' port='6543' user='replicator' "
                             "application_name='n x=1'");
    buf_reset(&b);
    ck_assert_int_eq(pgact_primary_conninfo("host='unterminated", "", "n", &b),
                     -1);
    ck_assert_int_eq(pgact_primary_conninfo("nokey=1", "", "n", &b), -1);
    buf_free(&b);
}
END_TEST

static void expect(struct profile_request *rq, enum profile_node at)
{
    ck_assert_str_eq(rq->method, "SQL");
    ck_assert_str_eq(rq->path, "");
    ck_assert_int_eq(rq->at, at);
    ck_assert_ptr_nonnull(rq->body);
}

/* statements: how many statements rq's body holds (pgactions.h). */
static int statements(const char *body)
{
    int n = 1;
    for (const char *p = body; (p = strstr(p, "\n;\n")) != NULL; p += 3)
        n++;
    return n;
}

static bool has(const char *body, const char *part)
{
    return strstr(body, part) != NULL;
}

START_TEST(cancel_on_the_standby)
{
    struct profile_request rq;
    pgact_cancel_queries(30, &rq);
    expect(&rq, PROFILE_AT_TARGET);
    ck_assert_int_eq(statements(rq.body), 1);
    ck_assert(has(rq.body, "pg_cancel_backend(pid)"));
    ck_assert(has(rq.body, "make_interval(secs => 30.000)"));
    ck_assert(has(rq.body, "backend_xmin IS NOT NULL"));
    ck_assert(has(rq.body, "AND pg_is_in_recovery()"));
    ck_assert(has(rq.body, "ORDER BY age DESC"));
    profile_request_free(&rq);
    pgact_cancel_queries(0.25, &rq);
    ck_assert(has(rq.body, "make_interval(secs => 0.250)"));
    profile_request_free(&rq);
}
END_TEST

START_TEST(demote_is_a_row_on_the_primary)
{
    struct profile_request rq;
    pgact_demote("node'3", &rq);
    expect(&rq, PROFILE_AT_PRIMARY);
    ck_assert_str_eq(rq.body, "INSERT INTO replguard.demoted (node) VALUES "
                              "(E'node''3') ON CONFLICT (node) DO NOTHING");
    profile_request_free(&rq);
}
END_TEST

START_TEST(fence_checks_the_timeline_first)
{
    struct profile_request rq;
    pgact_fence(7, &rq);
    expect(&rq, PROFILE_AT_TARGET);
    ck_assert_int_eq(statements(rq.body), 4);
    ck_assert(has(rq.body, "IF tl > 7 THEN RAISE EXCEPTION"));
    ck_assert(has(rq.body, "USING ERRCODE = 'RG409'"));
    /* the check comes first: a refusal changes nothing */
    ck_assert(strstr(rq.body, "RG409") <
              strstr(rq.body, "ALTER SYSTEM SET default_transaction_read_only "
                              "= on\n;\nSELECT pg_reload_conf()\n;\n"));
    ck_assert(has(rq.body, "pg_terminate_backend(pid)"));
    ck_assert(has(rq.body, "pid <> pg_backend_pid()"));
    profile_request_free(&rq);
}
END_TEST

START_TEST(promote_then_lift_a_fence)
{
    struct profile_request rq;
    pgact_promote("node2", 3, &rq);
    expect(&rq, PROFILE_AT_TARGET);
    ck_assert_int_eq(statements(rq.body), 3);
    ck_assert(has(rq.body, "IF tl > 3 THEN"));
    ck_assert(has(rq.body, "pg_promote(true, 8)"));
    ck_assert(has(rq.body, "RG504"));
    ck_assert(has(rq.body, "\n;\nALTER SYSTEM RESET "
                           "default_transaction_read_only\n;\nSELECT "
                           "pg_reload_conf()"));
    profile_request_free(&rq);
}
END_TEST

static struct config_cluster *cluster(void)
{
    static char names[2][8] = {"node1", "node2"}, cname[] = "pg";
    static char dsn[2][64] = {
        "host=127.0.0.1 port=5001 user=replguard dbname=postgres",
        "host=127.0.0.1 port=5002 user=replguard dbname=postgres"};
    static struct config_node nodes[2];
    static struct config_cluster c;
    for (int i = 0; i < 2; i++)
        nodes[i] = (struct config_node){.name = names[i], .dsn = dsn[i]};
    c = (struct config_cluster){.name = cname, .nodes = nodes, .n_nodes = 2};
    snprintf(c.failover.replication_user, sizeof(c.failover.replication_user),
             "postgres");
    return &c;
}

START_TEST(repoint_writes_primary_conninfo)
{
    struct profile_request rq;
    pgact_replicate_from(cluster(), "x'; SELECT 1; --", "node2", 4, &rq);
    expect(&rq, PROFILE_AT_TARGET);
    ck_assert_int_eq(statements(rq.body), 3);
    ck_assert(has(rq.body, "IF tl > 4 THEN"));
    ck_assert(has(rq.body, "IF NOT pg_is_in_recovery()"));
    ck_assert(has(rq.body, "pg_rewind"));
    ck_assert(has(rq.body, "RG412"));
    const char *set = "\n;\nALTER SYSTEM SET primary_conninfo = ";
    const char *lit = strstr(rq.body, set);
    ck_assert_ptr_nonnull(lit);
    lit += strlen(set);
    size_t end = literal_end(lit);
    ck_assert_uint_gt(end, 0);
    ck_assert_str_eq(lit + end, "\n;\nSELECT pg_reload_conf()");
    ck_assert(strncmp(lit,
                      "E'host=''127.0.0.1'' port=''5002'' user=''postgres'' "
                      "application_name=''x\\\\''; SELECT 1; --'''",
                      end) == 0);
    profile_request_free(&rq);
    /* an unknown primary: an error the node raises, nothing changed */
    pgact_replicate_from(cluster(), "node1", "node9", 4, &rq);
    ck_assert_int_eq(statements(rq.body), 1);
    ck_assert(has(rq.body, "RG400"));
    ck_assert(!has(rq.body, "ALTER SYSTEM"));
    profile_request_free(&rq);
}
END_TEST

START_TEST(probe_writes_the_heartbeat_row)
{
    struct profile_request rq;
    pgact_probe_write(&rq);
    expect(&rq, PROFILE_AT_TARGET);
    ck_assert(has(rq.body, "INSERT INTO replguard.heartbeat"));
    ck_assert(has(rq.body, "DO UPDATE SET ts = replguard.heartbeat.ts"));
    profile_request_free(&rq);
}
END_TEST

/* The demote's effect as the standby's scrape reads it back: its row in
 * replguard.demoted makes the scrape say "demoted", and the role is
 * demoted, whatever the order of the rows; the fence's, a read-only
 * primary: fenced. */
START_TEST(scrape_reads_demoted_and_fenced)
{
    static const char *const answers[] = {
        "recovery\ttrue\t\\N\nposition\t100\t\\N\ndemoted\ttrue\t\\N\n",
        "demoted\ttrue\t\\N\nrecovery\ttrue\t\\N\nposition\t100\t\\N\n",
    };
    for (size_t i = 0; i < 2; i++) {
        struct node_sample o;
        struct promtext_error err;
        ck_assert_int_eq(
            pgscrape_parse(answers[i], strlen(answers[i]), &o, &err), 0);
        ck_assert_int_eq(o.role, SEEN_ROLE_DEMOTED);
    }
    const char *plain = "recovery\ttrue\t\\N\nposition\t100\t\\N\n";
    struct node_sample o;
    struct promtext_error err;
    ck_assert_int_eq(pgscrape_parse(plain, strlen(plain), &o, &err), 0);
    ck_assert_int_eq(o.role, SEEN_ROLE_REPLICA);
    /* a primary is never demoted (the query asks standbys only) */
    const char *primary =
        "recovery\tfalse\t\\N\nposition\t100\t\\N\ndemoted\ttrue\t\\N\n";
    ck_assert_int_eq(pgscrape_parse(primary, strlen(primary), &o, &err), 0);
    ck_assert_int_eq(o.role, SEEN_ROLE_PRIMARY);
    ck_assert(strstr(POSTGRES_SCRAPE_SQL, "replguard.demoted") != NULL);
    /* the fence's effect: a primary whose new sessions are read-only */
    const char *fenced =
        "recovery\tfalse\t\\N\nposition\t100\t\\N\nfenced\ton\t\\N\n";
    ck_assert_int_eq(pgscrape_parse(fenced, strlen(fenced), &o, &err), 0);
    ck_assert_int_eq(o.role, SEEN_ROLE_FENCED);
    const char *open_ =
        "recovery\tfalse\t\\N\nposition\t100\t\\N\nfenced\toff\t\\N\n";
    ck_assert_int_eq(pgscrape_parse(open_, strlen(open_), &o, &err), 0);
    ck_assert_int_eq(o.role, SEEN_ROLE_PRIMARY);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pgactions");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, sql_literals_hold_any_text);
    tcase_add_test(tc, conninfo_values_quoted);
    tcase_add_test(tc, cancel_on_the_standby);
    tcase_add_test(tc, demote_is_a_row_on_the_primary);
    tcase_add_test(tc, fence_checks_the_timeline_first);
    tcase_add_test(tc, promote_then_lift_a_fence);
    tcase_add_test(tc, repoint_writes_primary_conninfo);
    tcase_add_test(tc, probe_writes_the_heartbeat_row);
    tcase_add_test(tc, scrape_reads_demoted_and_fenced);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
