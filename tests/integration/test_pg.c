/* test_pg.c: the postgres profile against real PostgreSQL 15 servers
 * (tests/pg/pgcluster.sh through pg_harness.h): a primary and two
 * standbys and one replguard polling them every 200 ms, made once for
 * the whole program, the cases run in order on them:
 *
 * - the harness itself: the standbys stream under their node names, a
 *   killed standby starts again and streams;
 * - SQL through the poller: COPY text rows, statements run one after
 *   another (ALTER SYSTEM too), 409 for SQLSTATE class RG, 500 for
 *   others and nothing run after them, a timeout on time and a
 *   reconnect after it, a refused connection;
 * - /metrics, /api/v1/state, /health/replica and /route on a postgres
 *   cluster; the password is in none of them, nor in the log;
 * - lag accuracy: recovery_min_apply_delay = 3s on node3 reads 3 s
 *   within one poll interval plus 100 ms; pg_wal_replay_pause() on
 *   node2: its lag grows at wall-clock rate, positions and bytes behind
 *   grow under writes; resumed, all back to about 0;
 * - an idle primary (IDLE_S seconds): every replica's lag stays within
 *   one poll interval (no growth as with replay timestamps);
 * - a standby that hangs (SIGSTOP) or refuses connections (stopped)
 *   fails its scrapes (timeout, connect), the others are scraped on
 *   schedule, and it is scraped again within a second of coming back.
 *
 * Skipped (exit 77) when PostgreSQL 15 is not installed. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "agent_harness.h"
#include "lib/poller.h"
#include "lib/util.h"
#include "pg_harness.h"
#include "simnode_harness.h"
#include "test_support.h"

#include <curl/curl.h>
#include <math.h>

#define INTERVAL 0.2
#define IDLE_S   30

static struct pgc pg;
static struct agent ag;

/* lag: a replica's replguard_replica_lag_seconds (heartbeat); NAN when
 * there is none. */
static double lag(const char *replica, const char *family)
{
    char labels[96];
    snprintf(labels, sizeof(labels), "cluster=\"pg\",replica=\"%s\"", replica);
    return metric(ag.base, family, labels);
}

static double hb_lag(const char *replica)
{
    return lag(replica, "replguard_replica_lag_seconds");
}

/* wait_lag_below: waits up to secs for replica's lag below max. */
static bool wait_lag_below(const char *replica, double max, double secs)
{
    double deadline = now_s() + secs * wait_scale();
    while (now_s() < deadline) {
        double l = hb_lag(replica);
        if (!isnan(l) && l < max)
            return true;
        sleep_ms(50);
    }
    return false;
}

static void sql(const char *node, const char *text)
{
    free(pgc_query(&pg, node, text));
}

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

START_TEST(metrics_state_and_health)
{
    char labels[96];
    const char *nodes[] = {"node1", "node2", "node3"};
    for (int i = 0; i < 3; i++) {
        snprintf(labels, sizeof(labels), "cluster=\"pg\",node=\"%s\"",
                 nodes[i]);
        ck_assert(wait_metric(ag.base, "replguard_node_position", labels, GT, 0,
                              NULL));
    }
    ck_assert(wait_lag_below("node2", 0.5, 5));
    ck_assert(!isnan(lag("node2", "replguard_replica_lag_bytes")));
    ck_assert(!isnan(lag("node2", "replguard_replica_position_lag_seconds")));
    ck_assert(!isnan(lag("node2", "replguard_replica_reported_lag_seconds")));
    char why[128];
    ck_assert_int_eq(agent_replica_health(&ag, "pg", "node2", why, sizeof(why)),
                     200);
    struct resp r;
    get(ag.base, "/route/pg?preference=secondary", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body.data, "node2"));
    buf_free(&r.body);
    /* the password appears nowhere replguard shows or writes */
    char *pw = file_text(pg.password_file);
    pw[strcspn(pw, "\n")] = '\0';
    ck_assert_uint_gt(strlen(pw), 8);
    get(ag.base, "/api/v1/state", &r);
    ck_assert_ptr_nonnull(strstr(r.body.data, "user=replguard"));
    ck_assert_ptr_null(strstr(r.body.data, pw));
    buf_free(&r.body);
    get(ag.base, "/metrics", &r);
    ck_assert_ptr_null(strstr(r.body.data, pw));
    promtool_check(&r.body);
    buf_free(&r.body);
    ck_assert(!file_has(ag.log, pw));
    free(pw);
}
END_TEST

START_TEST(apply_delay_reads_three_seconds)
{
    sql("node3", "ALTER SYSTEM SET recovery_min_apply_delay = '3s'");
    sql("node3", "SELECT pg_reload_conf()");
    /* settled: the heartbeats applied now were written with the delay */
    sleep_ms(4500);
    double lo = 1e9, hi = 0;
    for (int i = 0; i < 20; i++) {
        double l = hb_lag("node3");
        ck_assert(!isnan(l));
        lo = l < lo ? l : lo;
        hi = l > hi ? l : hi;
        sleep_ms(100);
    }
    printf("apply delay 3s: heartbeat lag %.3f .. %.3f s\n", lo, hi);
    ck_assert_msg(lo >= 3.0 - INTERVAL - 0.1 && hi <= 3.0 + INTERVAL + 0.1,
                  "lag %.3f .. %.3f s, not 3 s within %.1f s", lo, hi,
                  INTERVAL + 0.1);
    sql("node3", "ALTER SYSTEM RESET recovery_min_apply_delay");
    sql("node3", "SELECT pg_reload_conf()");
    ck_assert(wait_lag_below("node3", INTERVAL + 0.1, 10));
}
END_TEST

/* state_of: node's "state" in /api/v1/state's text (good enough: the
 * nodes' objects are flat). */
static bool state_is(const char *node, const char *state)
{
    struct resp r;
    get(ag.base, "/api/v1/state", &r);
    char key[64], want[64];
    snprintf(key, sizeof(key), "\"name\":\"%s\"", node);
    snprintf(want, sizeof(want), "\"state\":\"%s\"", state);
    const char *at = strstr(r.body.data, key);
    const char *end = at ? strchr(at, '}') : NULL;
    const char *s = at ? strstr(at, want) : NULL;
    bool yes = s && end && s < end;
    buf_free(&r.body);
    return yes;
}

START_TEST(paused_replay_grows_at_wall_clock_rate)
{
    ck_assert(wait_lag_below("node2", 0.5, 5));
    sql("node2", "SELECT pg_wal_replay_pause()");
    sql("node1", "CREATE TABLE IF NOT EXISTS filler (x int)");
    sleep_ms(1000);
    double t1 = now_s(), l1 = hb_lag("node2");
    sql("node1", "INSERT INTO filler SELECT generate_series(1, 20000)");
    sleep_ms(2000);
    double t2 = now_s(), l2 = hb_lag("node2");
    double rate = (l2 - l1) / (t2 - t1);
    printf("paused: lag %.3f -> %.3f s over %.3f s: rate %.3f\n", l1, l2,
           t2 - t1, rate);
    ck_assert_msg(rate > 0.85 && rate < 1.15, "lag grew at %.3f s/s", rate);
    double bytes = lag("node2", "replguard_replica_lag_bytes");
    ck_assert_msg(bytes > 100000, "lag_bytes %.0f", bytes);
    ck_assert(lag("node2", "replguard_replica_position_lag_seconds") > 1.0);
    ck_assert(state_is("node2", "paused"));
    ck_assert(wait_metric_for(ag.base, "replguard_replica_lag_bytes",
                              "cluster=\"pg\",replica=\"node3\"", LT, 100000, 2,
                              NULL));
    sql("node2", "SELECT pg_wal_replay_resume()");
    ck_assert(wait_lag_below("node2", INTERVAL + 0.1, 10));
    ck_assert(wait_metric_for(ag.base, "replguard_replica_lag_bytes",
                              "cluster=\"pg\",replica=\"node2\"", LT, 10000, 5,
                              NULL));
    ck_assert(!state_is("node2", "paused"));
}
END_TEST

START_TEST(idle_primary_reads_no_lag)
{
    double worst = 0;
    for (int i = 0; i < IDLE_S * 4; i++) {
        for (int k = 2; k <= 3; k++) {
            char name[8];
            snprintf(name, sizeof(name), "node%d", k);
            double l = hb_lag(name);
            ck_assert(!isnan(l));
            worst = l > worst ? l : worst;
        }
        sleep_ms(250);
    }
    printf("idle primary for %d s: worst heartbeat lag %.3f s\n", IDLE_S,
           worst);
    ck_assert_msg(worst <= INTERVAL + 0.1, "lag %.3f s while idle", worst);
}
END_TEST

static double failures(const char *node, const char *reason)
{
    char labels[128];
    snprintf(labels, sizeof(labels), "cluster=\"pg\",node=\"%s\",reason=\"%s\"",
             node, reason);
    double v = metric(ag.base, "replguard_scrape_failures_total", labels);
    return isnan(v) ? 0 : v;
}

/* up_within: waits up to secs for replguard_up of node to be want;
 * returns the seconds it took, or -1. */
static double up_within(const char *node, int want, double secs)
{
    char labels[96];
    snprintf(labels, sizeof(labels), "cluster=\"pg\",node=\"%s\"", node);
    double t0 = now_s();
    while (now_s() - t0 < secs * wait_scale()) {
        struct resp r;
        get(ag.base, "/metrics", &r);
        char line[160];
        snprintf(line, sizeof(line), "replguard_up{%s,role=", labels);
        const char *at = strstr(r.body.data, line);
        const char *sp = at ? strchr(at, ' ') : NULL;
        bool yes = sp && (sp[1] - '0') == want;
        buf_free(&r.body);
        if (yes)
            return now_s() - t0;
        sleep_ms(20);
    }
    return -1;
}

START_TEST(hung_and_refusing_standby_cost_scrapes_not_rounds)
{
    double before = failures("node3", "timeout");
    pgc_signal(&pg, "node3", "STOP");
    ck_assert(up_within("node3", 0, 3) >= 0);
    sleep_ms(1000);
    ck_assert(failures("node3", "timeout") > before);
    /* the others are scraped on schedule meanwhile */
    ck_assert(wait_lag_below("node2", INTERVAL + 0.1, 2));
    pgc_signal(&pg, "node3", "CONT");
    double back = up_within("node3", 1, 5);
    printf("hung standby: up again %.3f s after SIGCONT\n", back);
    ck_assert(back >= 0 && back <= 1.0 + 2 * INTERVAL);

    before = failures("node3", "connect");
    ck_assert_int_eq(pgc_ctl(&pg, "stop", "node3"), 0);
    ck_assert(up_within("node3", 0, 3) >= 0);
    sleep_ms(1000);
    ck_assert(failures("node3", "connect") > before);
    ck_assert_int_eq(pgc_ctl(&pg, "startnode", "node3"), 0);
    back = up_within("node3", 1, 5);
    printf("refusing standby: up again %.3f s after it started\n", back);
    ck_assert(back >= 0 && back <= 1.0 + 2 * INTERVAL);
}
END_TEST

/* --- SQL through the poller (the transport PGACT's actions use) --------- */

struct answer {
    bool done;
    enum poll_outcome outcome;
    long status;
    char error[256];
    char body[1024];
    double seconds;
};

static void on_answer(void *ctx, const struct poll_result *r)
{
    struct answer *a = ctx;
    a->done = true;
    a->outcome = r->outcome;
    a->status = r->status;
    a->seconds = r->seconds;
    snprintf(a->error, sizeof(a->error), "%s", r->error ? r->error : "");
    snprintf(a->body, sizeof(a->body), "%.*s", (int)r->len, r->body);
}

/* ask: one SQL request on slot q of p, run until answered. */
static void ask(struct poller *p, struct poll_req *q, const char *conninfo,
                const char *text, double timeout, struct answer *a)
{
    memset(a, 0, sizeof(*a));
    ck_assert_int_eq(
        poller_request(q, "SQL", conninfo, text, timeout, on_answer, a), 0);
    double deadline = now_s() + 10;
    while (!a->done && now_s() < deadline)
        poller_run(p, 100);
    ck_assert(a->done);
}

START_TEST(sql_requests_through_the_poller)
{
    struct poller *p = poller_new();
    struct poll_req *q = poller_req_new(p, 1 << 16);
    char ci[160];
    snprintf(ci, sizeof(ci),
             "host=127.0.0.1 port=%d user=postgres dbname=postgres",
             pgc_port(&pg, "node1"));
    struct answer a;
    ask(p, q, ci, "SELECT 1, NULL, E'a\\tb', 'x'", 2, &a);
    ck_assert_int_eq(a.outcome, POLL_OK);
    ck_assert_int_eq(a.status, 200);
    ck_assert_str_eq(a.body, "1\t\\N\ta\\tb\tx\n");
    /* statements one after another, each its own transaction: ALTER
     * SYSTEM runs; the answer is the last one's rows */
    ask(p, q, ci,
        "ALTER SYSTEM SET work_mem = '5MB'\n;\nSELECT pg_reload_conf()\n"
        ";\nSELECT 42 UNION ALL SELECT 43",
        2, &a);
    ck_assert_int_eq(a.outcome, POLL_OK);
    ck_assert_str_eq(a.body, "42\n43\n");
    /* replguard's own refusals: SQLSTATE class RG is 409 */
    ask(p, q, ci,
        "DO $$ BEGIN RAISE EXCEPTION 'epoch 3 is stale' USING ERRCODE = "
        "'RG409'; END $$",
        2, &a);
    ck_assert_int_eq(a.outcome, POLL_HTTP_STATUS);
    ck_assert_int_eq(a.status, 409);
    ck_assert_str_eq(a.error, "epoch 3 is stale");
    /* other errors: 500, and the statements after one do not run */
    ask(p, q, ci,
        "CREATE TABLE IF NOT EXISTS pgreq_t (x int)\n;\nSELECT 1/0\n;\n"
        "INSERT INTO pgreq_t VALUES (1)",
        2, &a);
    ck_assert_int_eq(a.outcome, POLL_HTTP_STATUS);
    ck_assert_int_eq(a.status, 500);
    ck_assert_str_eq(a.error, "division by zero");
    ask(p, q, ci, "SELECT count(*) FROM pgreq_t", 2, &a);
    ck_assert_str_eq(a.body, "0\n");
    /* a timeout ends the request on time; the next reconnects */
    ask(p, q, ci, "SELECT pg_sleep(5)", 0.3, &a);
    ck_assert_int_eq(a.outcome, POLL_TIMEOUT);
    ck_assert_msg(a.seconds < 0.6, "timed out after %.3f s", a.seconds);
    ask(p, q, ci, "SELECT 7", 2, &a);
    ck_assert_int_eq(a.outcome, POLL_OK);
    ck_assert_str_eq(a.body, "7\n");
    /* nobody listening: POLL_CONNECT */
    struct poll_req *q2 = poller_req_new(p, 1024);
    ask(p, q2, "host=127.0.0.1 port=1 user=postgres dbname=postgres",
        "SELECT 1", 2, &a);
    ck_assert_int_eq(a.outcome, POLL_CONNECT);
    ck_assert_ptr_nonnull(strstr(a.error, "127.0.0.1"));
    poller_req_free(q2);
    poller_req_free(q);
    poller_free(p);
}
END_TEST

/* write_config: the cluster, polled every INTERVAL. */
static void write_config(void)
{
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b,
               "listen: \"127.0.0.1:0\"\n"
               "state_dir: %s/state\n"
               "audit_log: %s\n"
               "rules: %s/rules\n"
               "poll: {interval: 200ms, timeout: 150ms}\n"
               "clusters:\n"
               "  - name: pg\n"
               "    profile: postgres\n"
               "    password_file: %s\n"
               "    nodes:\n",
               ag.dir, ag.audit, ag.dir, pg.password_file);
    for (size_t i = 0; i < pg.n; i++) {
        char dsn[256];
        pgc_dsn(&pg, pg.name[i], dsn, sizeof(dsn));
        buf_printf(&b, "      - {name: %s, dsn: \"%s\", role: %s}\n",
                   pg.name[i], dsn, i == 0 ? "primary" : "replica");
    }
    char rules[160];
    snprintf(rules, sizeof(rules), "%s/rules", ag.dir);
    ck_assert_int_eq(mkdir(rules, 0700), 0);
    agent_write(ag.cfg, b.data);
    buf_free(&b);
}

/* setup: one cluster for every case (an unchecked fixture: made once,
 * in the runner). */
static void setup(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    ck_assert(pgc_start(&pg, 2));
    agent_init(&ag);
    write_config();
    agent_start(&ag);
}

static void teardown(void)
{
    if (ag.pid > 0) {
        int st = agent_stop(&ag);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                      "replguard exit status %d (see %s)", st, ag.log);
    }
    agent_cleanup(&ag);
    pgc_destroy(&pg);
    curl_global_cleanup();
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
    tcase_add_test(tc, sql_requests_through_the_poller);
    tcase_add_test(tc, metrics_state_and_health);
    tcase_add_test(tc, apply_delay_reads_three_seconds);
    tcase_add_test(tc, paused_replay_grows_at_wall_clock_rate);
    tcase_add_test(tc, idle_primary_reads_no_lag);
    tcase_add_test(tc, hung_and_refusing_standby_cost_scrapes_not_rounds);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
