/* test_pgact.c: the postgres profile's actions and failover against
 * real PostgreSQL 15 servers (tests/pg/pgcluster.sh through
 * pg_harness.h) and the built replguard polling them every 200 ms.
 * Each case makes its own cluster: node1 the primary, node2 and node3
 * standbys.
 *
 *   cancel_frees_replay    a long query on node2 (max_standby_streaming_
 *                          delay -1) holds replay after a VACUUM on the
 *                          primary; the alert PostgresReplicationLag
 *                          (as Alertmanager sends it) runs the runbook's
 *                          cancel_blocking_queries: the query is
 *                          cancelled, node3's untouched, lag back to 0
 *   demote_leaves_rotation demote: a row in replguard.demoted; node2
 *                          leaves read rotation and keeps streaming
 *   failover_keeps_commits synchronous_commit on, node2 the synchronous
 *                          standby, a writer committing rows on node1
 *                          when its postmaster is SIGKILLed: replguard
 *                          promotes node2 (timeline 2), repoints node3;
 *                          every committed row is on node2; the RTO is
 *                          printed. node1 restarted on timeline 1 never
 *                          gets /health/primary 200, is fenced, and the
 *                          escalation says it needs pg_rewind
 *
 * Skipped (exit 77) when PostgreSQL 15 is not installed. */
#include <check.h>
#include <curl/curl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_harness.h"
#include "lib/util.h"
#include "pg_harness.h"
#include "simnode_harness.h"
#include "test_support.h"

#define DEADLINE (20.0 * wait_scale())

static struct pgc pg;
static struct agent ag;
static struct simnode none; /* agent_finish() stops a simulator: none */

/* --- fixture ------------------------------------------------------------ */

/* write_config: replguard on pg's three servers; rules the runbooks
 * directory; failover on or off; sync: replication mode sync. */
static void write_config(const char *rules, bool failover)
{
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b,
               "listen: \"127.0.0.1:0\"\n"
               "state_dir: %s/state\n"
               "audit_log: %s\n"
               "rules: %s\n"
               "poll: {interval: 200ms, timeout: 150ms}\n"
               "clusters:\n"
               "  - name: pg\n"
               "    profile: postgres\n"
               "    password_file: %s\n"
               "    thresholds: {read_max_lag: 1s}\n"
               "    replication: {mode: %s}\n"
               "    failover: {enabled: %s, detect_after: 1s, "
               "replication_user: postgres}\n"
               "    nodes:\n",
               ag.dir, ag.audit, rules, pg.password_file,
               failover ? "sync" : "async", failover ? "true" : "false");
    for (size_t i = 0; i < pg.n; i++) {
        char dsn[256];
        pgc_dsn(&pg, pg.name[i], dsn, sizeof(dsn));
        buf_printf(&b,
                   "      - {name: %s, dsn: \"%s\", role: %s, "
                   "priority: %zu}\n",
                   pg.name[i], dsn, i == 0 ? "primary" : "replica", i);
    }
    agent_write(ag.cfg, b.data);
    buf_free(&b);
}

/* rules_dir: the shipped rules/postgres, or a directory with one test
 * runbook (text) written into ag's dir. */
static const char *rules_dir(const char *text)
{
    static char dir[PATH_MAX];
    const char *top = getenv("top_srcdir");
    if (!text) {
        snprintf(dir, sizeof(dir), "%s/rules/postgres", top ? top : ".");
        return dir;
    }
    snprintf(dir, sizeof(dir), "%s/rules.yml", ag.dir);
    agent_write(dir, text);
    return dir;
}

/* actions_sql: contrib/postgres/replguard-actions.sql on the primary. */
static void actions_sql(void)
{
    const char *top = getenv("top_srcdir");
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/contrib/postgres/replguard-actions.sql",
             top ? top : ".");
    char *sql = file_text(path);
    ck_assert_ptr_nonnull(sql);
    free(pgc_query(&pg, "node1", sql));
    free(sql);
}

/* begin: the cluster, the actions' grants, replguard with rules and
 * failover, and the first polls. */
static void begin(const char *runbook, bool failover)
{
    ck_assert(pgc_start(&pg, 2));
    actions_sql();
    agent_init(&ag);
    write_config(rules_dir(runbook), failover);
    agent_start(&ag);
    sleep_ms(1500);
}

static void setup(void)
{
    memset(&ag, 0, sizeof(ag));
    memset(&pg, 0, sizeof(pg));
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void teardown(void)
{
    /* PGACT_KEEP=DIR: replguard's log and audit log kept for a look */
    const char *keep = getenv("PGACT_KEEP");
    if (keep && ag.dir[0]) {
        int st = agent_stop(&ag);
        fprintf(stderr, "PGACT_KEEP: replguard's wait status %d\n", st);
        const char *from[] = {ag.log, ag.audit};
        const char *name[] = {"replguard.log", "audit.jsonl"};
        for (int i = 0; i < 2; i++) {
            char *text = file_text(from[i]), path[PATH_MAX];
            snprintf(path, sizeof(path), "%s/%s", keep, name[i]);
            if (text)
                agent_write(path, text);
            free(text);
        }
    }
    if (ag.dir[0])
        agent_finish(&ag, &none);
    pgc_destroy(&pg);
    curl_global_cleanup();
}

/* --- helpers ------------------------------------------------------------ */

/* lag: replguard's lag of replica (NaN when it has none). */
static double lag(const char *replica)
{
    char labels[96];
    snprintf(labels, sizeof(labels), "cluster=\"pg\",replica=\"%s\"", replica);
    return metric(ag.base, "replguard_replica_lag_seconds", labels);
}

/* wait_lag: waits up to secs for replica's lag to be above (above true)
 * or below bound; returns whether it was. */
static bool wait_lag(const char *replica, bool above, double bound, double secs)
{
    double until = now_s() + secs;
    do {
        double l = lag(replica);
        if (l == l && (above ? l > bound : l < bound))
            return true;
        sleep_ms(100);
    } while (now_s() < until);
    return false;
}

/* spawn_psql: psql running sql on node as user in the background (its
 * output discarded); returns its pid. */
static pid_t spawn_psql(const char *node, const char *user, const char *sql)
{
    char port[16];
    snprintf(port, sizeof(port), "%d", pgc_port(&pg, node));
    const char *bin = getenv("PGBIN");
    char psql[512];
    snprintf(psql, sizeof(psql), "%s/psql",
             bin ? bin : "/usr/lib/postgresql/15/bin");
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        freopen("/dev/null", "w", stdout);
        freopen("/dev/null", "w", stderr);
        execl(psql, "psql", "-X", "-q", "-h", "127.0.0.1", "-p", port, "-U",
              user, "-d", "postgres", "-c", sql, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* exited: waits up to secs for pid; its wait status, or -1 (killed). */
static int exited(pid_t pid, double secs)
{
    double until = now_s() + secs;
    int st;
    do {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return st;
        sleep_ms(50);
    } while (now_s() < until);
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

static long primary_health(const char *node)
{
    char path[96];
    struct resp r;
    snprintf(path, sizeof(path), "/health/primary/pg/%s", node);
    struct opts o = {.method = "GET", .timeout_ms = 2000};
    long status = agent_request(&ag, path, &o, &r);
    buf_free(&r.body);
    return status;
}

/* --- cancel_blocking_queries -------------------------------------------- */

/* rules/postgres's lag runbook with older_than 1s (30s there) */
#define CANCEL_RULE                                                            \
    "runbook: lag\nmatch: {alertname: PostgresReplicationLag}\n"               \
    "target_label: replica\nsteps:\n  - action: cancel_blocking_queries\n"     \
    "    older_than: 1s\n"

START_TEST(cancel_frees_replay)
{
    begin(CANCEL_RULE, false);
    free(pgc_query(&pg, "node1",
                   "CREATE TABLE t (i int) WITH (autovacuum_enabled = off);"
                   "INSERT INTO t SELECT generate_series(1, 10000);"
                   /* an application's role: pg_signal_backend cannot
                    * cancel a superuser's query */
                   "CREATE ROLE app LOGIN; GRANT SELECT ON t TO app"));
    free(pgc_query(&pg, "node2",
                   "ALTER SYSTEM SET max_standby_streaming_delay = -1"));
    free(pgc_query(&pg, "node2", "SELECT pg_reload_conf()"));
    double until = now_s() + DEADLINE;
    char *n = NULL;
    do {
        free(n);
        sleep_ms(100);
        n = pgc_query(&pg, "node2",
                      "SELECT count(*) FROM pg_class WHERE relname = 't'");
    } while (strcmp(n, "1") != 0 && now_s() < until);
    free(n);
    /* a query holding its snapshot on node2, a cleanup it conflicts with */
    pid_t holder =
        spawn_psql("node2", "app", "SELECT pg_sleep(600), count(*) FROM t");
    sleep_ms(1500);
    free(pgc_query(&pg, "node1", "DELETE FROM t"));
    free(pgc_query(&pg, "node1", "VACUUM t"));
    ck_assert_msg(wait_lag("node2", true, 3, DEADLINE),
                  "node2's replay never stalled (lag %.3f)", lag("node2"));
    ck_assert_double_lt(lag("node3"), 1);
    double t0 = now_s();
    ck_assert_int_eq(agent_alert(&ag, "PostgresReplicationLag", "firing", "a1",
                                 "\"cluster\":\"pg\",\"replica\":\"node2\""),
                     200);
    agent_wait_audit(&ag, "action", "action", "cancel_blocking_queries", 1,
                     DEADLINE);
    ck_assert_msg(file_has(ag.audit, "\"reason\":\"1 queries cancelled (ids:"),
                  "no query cancelled (see the audit log)");
    int st = exited(holder, DEADLINE);
    ck_assert_msg(st != -1 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0),
                  "the blocking query was not cancelled");
    ck_assert_msg(wait_lag("node2", false, 0.5, DEADLINE),
                  "node2's lag did not return (%.3f)", lag("node2"));
    printf("cancel_frees_replay: lag back under 0.5 s %.2f s after the "
           "alert\n",
           now_s() - t0);
}
END_TEST

/* --- demote ------------------------------------------------------------- */

#define DEMOTE_RULE                                                            \
    "runbook: demote-it\nmatch: {alertname: DemoteIt}\n"                       \
    "target_label: replica\nsteps:\n  - action: demote\n"

START_TEST(demote_leaves_rotation)
{
    begin(DEMOTE_RULE, false);
    char why[128];
    double until = now_s() + DEADLINE;
    while (agent_replica_health(&ag, "pg", "node2", why, sizeof(why)) != 200 &&
           now_s() < until)
        sleep_ms(100);
    ck_assert_int_eq(agent_replica_health(&ag, "pg", "node2", why, sizeof(why)),
                     200);
    ck_assert_int_eq(agent_alert(&ag, "DemoteIt", "firing", "d1",
                                 "\"cluster\":\"pg\",\"replica\":\"node2\""),
                     200);
    agent_wait_audit(&ag, "action", "action", "demote", 1, DEADLINE);
    char *row = pgc_query(&pg, "node1", "SELECT node FROM replguard.demoted");
    ck_assert_str_eq(row, "node2");
    free(row);
    until = now_s() + DEADLINE;
    while (agent_replica_health(&ag, "pg", "node2", why, sizeof(why)) == 200 &&
           now_s() < until)
        sleep_ms(100);
    ck_assert_int_eq(agent_replica_health(&ag, "pg", "node2", why, sizeof(why)),
                     503);
    ck_assert_msg(strstr(why, "demoted") != NULL, "%s", why);
    /* it keeps streaming; node3 still serves */
    ck_assert(pgc_wait_streaming(&pg, "node1", 2, 1));
    until = now_s() + DEADLINE; /* a poll late under load may lag 1 s */
    while (agent_replica_health(&ag, "pg", "node3", why, sizeof(why)) != 200 &&
           now_s() < until)
        sleep_ms(100);
    ck_assert_int_eq(agent_replica_health(&ag, "pg", "node3", why, sizeof(why)),
                     200);
}
END_TEST

/* --- failover ----------------------------------------------------------- */

/* The writer: rows 1, 2, ... committed one by one on node1 until a
 * commit fails; committed is the last one node1 acknowledged. */
struct writer {
    char conninfo[256];
    long committed;
    pid_t pid;
    int fd;
};

/* writer_run: in a child, writes each acknowledged row's number as a
 * line to fd (a crash of the primary ends it). */
static void writer_run(const char *conninfo, int fd)
{
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK)
        _exit(2);
    for (long i = 1;; i++) {
        char sql[96];
        snprintf(sql, sizeof(sql), "INSERT INTO w VALUES (%ld)", i);
        PGresult *r = PQexec(c, sql);
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (!ok)
            _exit(0);
        char line[32];
        int n = snprintf(line, sizeof(line), "%ld\n", i);
        if (write(fd, line, (size_t)n) != n)
            _exit(3);
    }
}

static void writer_start(struct writer *w)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    w->pid = fork();
    ck_assert_int_ge(w->pid, 0);
    if (w->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(p[0]);
        writer_run(w->conninfo, p[1]);
    }
    close(p[1]);
    w->fd = p[0];
}

/* writer_end: the last row acknowledged, once the writer has ended. */
static long writer_end(struct writer *w)
{
    ck_assert_int_ne(exited(w->pid, DEADLINE), -1);
    char buf[4096];
    long last = 0;
    ssize_t n;
    struct buf all;
    buf_init(&all, 0);
    while ((n = read(w->fd, buf, sizeof(buf))) > 0)
        buf_append(&all, buf, (size_t)n);
    close(w->fd);
    for (char *s = all.data; s && *s;) {
        char *nl = strchr(s, '\n');
        if (!nl)
            break;
        last = strtol(s, NULL, 10);
        s = nl + 1;
    }
    buf_free(&all);
    return last;
}

/* writable: whether node takes a write now. */
static bool writable(const char *node)
{
    char conninfo[128];
    snprintf(conninfo, sizeof(conninfo),
             "host=127.0.0.1 port=%d user=postgres dbname=postgres "
             "connect_timeout=1",
             pgc_port(&pg, node));
    PGconn *c = PQconnectdb(conninfo);
    bool ok = false;
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexec(c, "INSERT INTO probe VALUES (1)");
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
    }
    PQfinish(c);
    return ok;
}

START_TEST(failover_keeps_commits)
{
    begin(NULL, true);
    free(pgc_query(&pg, "node1", "CREATE TABLE w (i bigint PRIMARY KEY)"));
    free(pgc_query(&pg, "node1", "CREATE TABLE probe (i int)"));
    free(pgc_query(&pg, "node1",
                   "ALTER SYSTEM SET synchronous_standby_names = 'node2'"));
    free(pgc_query(&pg, "node1", "ALTER SYSTEM SET synchronous_commit = on"));
    free(pgc_query(&pg, "node1", "SELECT pg_reload_conf()"));
    sleep_ms(1500); /* node2 sync; replguard has seen it */
    char *sync = pgc_query(&pg, "node1",
                           "SELECT sync_state FROM pg_stat_replication "
                           "WHERE application_name = 'node2'");
    ck_assert_str_eq(sync, "sync");
    free(sync);

    struct writer w = {0};
    snprintf(w.conninfo, sizeof(w.conninfo),
             "host=127.0.0.1 port=%d user=postgres dbname=postgres",
             pgc_port(&pg, "node1"));
    writer_start(&w);
    sleep_ms(1000);
    double t0 = now_s();
    ck_assert_int_eq(pgc_ctl(&pg, "kill", "node1"), 0);
    long committed = writer_end(&w);
    ck_assert_int_gt(committed, 10);

    /* node2 is the synchronous standby and ranks first; node3 may have
     * received a few bytes more at the crash, and then it is the one
     * that loses nothing: the RPO guard picks it */
    agent_wait_audit(&ag, "failover_done", NULL, NULL, 1, DEADLINE);
    const char *to =
        agent_audit_count(&ag, "failover_done", "to", "node2") == 1   ? "node2"
        : agent_audit_count(&ag, "failover_done", "to", "node3") == 1 ? "node3"
                                                                      : NULL;
    ck_assert_msg(to, "the failover promoted neither standby");
    const char *other = strcmp(to, "node2") == 0 ? "node3" : "node2";
    double until = t0 + DEADLINE;
    while (!writable(to) && now_s() < until)
        sleep_ms(50);
    double rto = now_s() - t0;
    ck_assert_msg(writable(to), "%s never took writes", to);
    printf("failover_keeps_commits: RTO %.2f s (kill to the first write on "
           "%s), %ld rows committed before the crash\n",
           rto, to, committed);

    char sql[160];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM w WHERE i <= %ld",
             committed);
    char *have = pgc_query(&pg, to, sql);
    long rows = strtol(have, NULL, 10);
    free(have);
    ck_assert_int_eq(rows, committed);
    char *tl = pgc_query(&pg, to,
                         "SELECT substr(pg_walfile_name(pg_current_wal_lsn()),"
                         " 1, 8)::int");
    ck_assert_str_eq(tl, "2");
    free(tl);
    ck_assert(pgc_wait_streaming(&pg, to, 1, DEADLINE));
    char *follows = pgc_query(&pg, to,
                              "SELECT application_name FROM "
                              "pg_stat_replication");
    ck_assert_str_eq(follows, other);
    free(follows);
    ck_assert_int_eq(primary_health(to), 200);

    /* the old primary back on timeline 1 */
    ck_assert_int_eq(pgc_ctl(&pg, "startnode", "node1"), 0);
    wait_file_has(ag.audit, "pg_rewind", DEADLINE);
    ck_assert_int_eq(agent_audit_count(&ag, "rejoin", NULL, NULL), 1);
    char *ro = pgc_query(&pg, "node1", "SHOW default_transaction_read_only");
    bool fenced = strcmp(ro, "on") == 0;
    free(ro);
    ck_assert_msg(fenced, "node1 is not read-only");
    ck_assert_int_eq(primary_health("node1"), 503);
    ck_assert_int_eq(primary_health(to), 200);
    /* once: the retries fence again but say it no more */
    sleep_ms(6000);
    ck_assert_int_eq(file_count(ag.audit, "pg_rewind"), 1);
    ck_assert_int_eq(primary_health("node1"), 503);
}
END_TEST

/* --- switchover --------------------------------------------------------- */

START_TEST(switchover_to_node3)
{
    begin(NULL, true);
    free(pgc_query(&pg, "node1",
                   "CREATE TABLE s (i int); CREATE TABLE probe (i int)"));
    free(pgc_query(&pg, "node1",
                   "INSERT INTO s SELECT generate_series(1, 500)"));
    sleep_ms(1000);
    struct resp r;
    struct opts o = {
        .method = "POST", .body = "{\"to\": \"node3\"}", .timeout_ms = 5000};
    long st = agent_request(&ag, "/api/v1/failover/pg", &o, &r);
    buf_free(&r.body);
    ck_assert_int_eq(st, 202);
    agent_wait_audit(&ag, "failover_done", NULL, NULL, 1, DEADLINE);
    ck_assert_int_eq(agent_audit_count(&ag, "failover_done", "to", "node3"), 1);
    char *n = pgc_query(&pg, "node3",
                        "SELECT pg_is_in_recovery()::text || ' ' || "
                        "count(*) FROM s");
    ck_assert_str_eq(n, "false 500");
    free(n);
    /* the old primary: fenced, out; node2 follows node3 */
    char *ro = pgc_query(&pg, "node1", "SHOW default_transaction_read_only");
    bool fenced = strcmp(ro, "on") == 0;
    free(ro);
    ck_assert(fenced);
    ck_assert_int_eq(primary_health("node1"), 503);
    ck_assert_int_eq(primary_health("node3"), 200);
    ck_assert(pgc_wait_streaming(&pg, "node3", 1, DEADLINE));
    ck_assert(writable("node3"));
    ck_assert(!writable("node1"));
}
END_TEST

int main(void)
{
    if (!pgc_available()) {
        puts("test_pgact: SKIP: PostgreSQL 15 is not installed "
             "(/usr/lib/postgresql/15/bin; Debian: postgresql-15)");
        return 77;
    }
    Suite *s = suite_create("pgact");
    TCase *tc = tcase_create("actions");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    const char *only = getenv("PGACT_ONLY"); /* one case, by name */
    if (!only || strcmp(only, "cancel") == 0)
        tcase_add_test(tc, cancel_frees_replay);
    if (!only || strcmp(only, "demote") == 0)
        tcase_add_test(tc, demote_leaves_rotation);
    if (!only || strcmp(only, "failover") == 0)
        tcase_add_test(tc, failover_keeps_commits);
    if (!only || strcmp(only, "switchover") == 0)
        tcase_add_test(tc, switchover_to_node3);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
