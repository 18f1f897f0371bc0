/* test_failover.c: the failover machine (issue 15) against the built
 * replguard polling a 4-node replguard-simnode every 150 ms, with
 * detect_after 1s. node3 has priority 0, the others 1: it is the
 * expected candidate.
 *
 *   crash_fails_over        the primary crashes: node3 is promoted, takes
 *                           a write, holds every position acknowledged
 *                           before the crash; audit and counter say so
 *   api_down_holds          the primary's API gone, replication on: held
 *   partition_is_nothing    one replica's stream cut: nothing
 *   async_lag_refused       async, replicas behind the acked position,
 *                           max_data_loss 0: refused, escalated, nothing
 *                           promoted
 *   second_crash_blocked    within block_period: blocked (and the old
 *                           primary rejoined meanwhile); an ack lifts it
 *   dry_run_calls_nothing   the plan in the audit log, no admin call
 *   kill9_resumes_once      (loop over the phases) replguard SIGKILLed
 *                           right after a phase is journaled, restarted:
 *                           the failover completes once, one promote, one
 *                           primary at the top epoch
 *   kill9_primary_back      SIGKILLed after the plan, the old primary back
 *                           before the restart: nothing promoted
 *   switchover_rpo0         POST /api/v1/failover/c1 {"to":"node3"} with
 *                           writes flowing: RPO 0, old primary a replica
 *   switchover_gives_up     to a replica that stopped applying: it never
 *                           gets within a round; after 30 s the
 *                           switchover fails having changed nothing: no
 *                           fence, no promote, the primary unthrottled
 *   runbook_promote         the action promote on an alert for node4: a
 *                           switchover of kind runbook
 *   endpoint_refusals       400, 404, 409 with JSON reasons */
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent_harness.h"
#include "lib/util.h"
#include "simnode_harness.h"
#include "test_support.h"

#define DEADLINE (25.0 * wait_scale())
#define DETECT   1.0 /* failover.detect_after */
#define N        4
#define MAX_ACK  100000

static struct simnode sn;
static struct agent ag;

static const char *const nodes[N] = {"node1", "node2", "node3", "node4"};

static const char *const SEMI[] = {"--nodes",
                                   "4",
                                   "--ingest-rate",
                                   "1000",
                                   "--apply-rate",
                                   "5000",
                                   "--mode",
                                   "semi-sync",
                                   "--min-sync-replicas",
                                   "1",
                                   NULL};
static const char *const ASYNC[] = {
    "--nodes", "4",      "--ingest-rate", "1000", "--apply-rate",
    "5000",    "--mode", "async",         NULL};

/* --- fixture ------------------------------------------------------------ */

/* rules: the runbooks directory of the next begin() (NULL: the shipped
 * rules/; "": no rules key, so the default, which is not installed). */
static const char *rules;

/* write_config: the cluster in mode, failover enabled; dry_run. */
static void write_config(const char *mode, bool dry_run)
{
    const char *top = getenv("top_srcdir");
    char shipped[PATH_MAX];
    snprintf(shipped, sizeof(shipped), "%s/rules", top ? top : ".");
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b,
               "listen: \"127.0.0.1:0\"\n"
               "dry_run: %s\n"
               "state_dir: %s/state\n"
               "audit_log: %s\n"
               "%s%s%s"
               "poll: {interval: 150ms, timeout: 100ms}\n"
               "clusters:\n"
               "  - name: c1\n"
               "    replication: {mode: %s, min_sync_replicas: 1}\n"
               "    failover: {enabled: true, detect_after: 1s}\n"
               "    nodes:\n",
               dry_run ? "true" : "false", ag.dir, ag.audit,
               rules && !*rules ? "" : "rules: ", rules ? rules : shipped,
               rules && !*rules ? "" : "\n", mode);
    for (size_t i = 0; i < sn.n; i++)
        buf_printf(&b,
                   "      - {name: %s, url: \"%s\", role: %s, priority: %d}\n",
                   sn.name[i], sn.url[i], sn.role[i],
                   strcmp(sn.name[i], "node3") == 0 ? 0 : 1);
    agent_write(ag.cfg, b.data);
    buf_free(&b);
}

/* begin: simnode with args, replguard with the config, and a wait past
 * detect_after so detection is armed and every node polled. */
static void begin(const char *const *args, const char *mode, bool dry_run)
{
    agent_setup(&ag, &sn, args);
    write_config(mode, dry_run);
    agent_start(&ag);
    sleep_ms((long)(1000 * (DETECT + 0.4)));
}

static void setup(void)
{
    rules = NULL;
    memset(&ag, 0, sizeof(ag));
    memset(&sn, 0, sizeof(sn));
}

static void teardown(void)
{
    if (ag.dir[0])
        agent_teardown(&ag, &sn);
}

/* --- the nodes ---------------------------------------------------------- */

static long fault(const char *node, const char *kind)
{
    char json[128];
    snprintf(json, sizeof(json), "{\"node\": \"%s\", \"kind\": \"%s\"}", node,
             kind);
    return call(simnode_url(&sn, "node2"), "POST", "/v1/sim/fault", json);
}

static void clear_faults(void)
{
    ck_assert_int_eq(
        call(simnode_url(&sn, "node2"), "DELETE", "/v1/sim/fault", NULL), 200);
}

/* write1: one client write on node: its acknowledged position, or -1. */
static double write1(const char *node)
{
    struct resp r;
    struct opts o = {
        .method = "POST", .body = "{\"count\": 1}", .timeout_ms = 3000};
    char url[256];
    snprintf(url, sizeof(url), "%s/v1/write", simnode_url(&sn, node));
    http(url, &o, &r);
    cJSON *j = cJSON_Parse(r.body.data ? r.body.data : "");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "position");
    double pos = r.status == 200 && cJSON_IsNumber(p) ? p->valuedouble : -1;
    cJSON_Delete(j);
    buf_free(&r.body);
    return pos;
}

/* has: whether node has the write at position p (/v1/read). */
static bool has(const char *node, double p)
{
    char path[96];
    struct resp r;
    snprintf(path, sizeof(path), "/v1/read?position=%.0f", p);
    get(simnode_url(&sn, node), path, &r);
    cJSON *j = cJSON_Parse(r.body.data ? r.body.data : "");
    bool yes = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "has"));
    cJSON_Delete(j);
    buf_free(&r.body);
    return yes;
}

static double role(const char *node, const char *r)
{
    char labels[64];
    snprintf(labels, sizeof(labels), "role=\"%s\"", r);
    return metric(simnode_url(&sn, node), "stemedb_node_role", labels);
}

static double epoch_of(const char *node)
{
    return metric(simnode_url(&sn, node), "stemedb_epoch", NULL);
}

/* admin_sum: the admin calls of endpoint over the nodes that answer. */
static double admin_sum(const char *endpoint)
{
    double n = 0;
    for (int i = 0; i < N; i++) {
        double v = admin_requests(simnode_url(&sn, nodes[i]), endpoint);
        n += isnan(v) ? 0 : v;
    }
    return n;
}

/* top_primaries: the nodes answering role primary at the highest epoch
 * any answering node reports. */
static int top_primaries(void)
{
    double top = 0;
    for (int i = 0; i < N; i++)
        if (epoch_of(nodes[i]) > top)
            top = epoch_of(nodes[i]);
    int n = 0;
    for (int i = 0; i < N; i++)
        n += role(nodes[i], "primary") == 1 && epoch_of(nodes[i]) == top;
    return n;
}

/* --- replguard's side --------------------------------------------------- */

static int audits(const char *event)
{
    return agent_audit_count(&ag, event, NULL, NULL);
}

static double failovers(const char *kind, const char *outcome)
{
    char labels[160];
    snprintf(labels, sizeof(labels),
             "cluster=\"c1\",kind=\"%s\",outcome=\"%s\"", kind, outcome);
    double v = metric(ag.base, "replguard_failovers_total", labels);
    return isnan(v) ? 0 : v;
}

/* journal_count: occurrences of text in replguard's journal. */
static int journal_count(const char *text)
{
    char path[160];
    snprintf(path, sizeof(path), "%s/state/journal.jsonl", ag.dir);
    char *s = file_text(path);
    int n = 0;
    for (const char *p = s; (p = strstr(p, text)) != NULL; p += strlen(text))
        n++;
    free(s);
    return n;
}

static long post_api(const char *path, const char *body, char *reason, size_t n)
{
    struct resp r;
    struct opts o = {
        .method = "POST", .body = body ? body : "", .timeout_ms = 10000};
    char url[256];
    snprintf(url, sizeof(url), "%s%s", ag.base, path);
    http(url, &o, &r);
    cJSON *j = cJSON_Parse(r.body.data ? r.body.data : "");
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(j, "reason");
    const cJSON *to = cJSON_GetObjectItemCaseSensitive(j, "to");
    snprintf(reason, n, "%s",
             cJSON_IsString(w)    ? w->valuestring
             : cJSON_IsString(to) ? to->valuestring
                                  : "(none)");
    cJSON_Delete(j);
    buf_free(&r.body);
    return r.status;
}

/* acked_writes: n writes on node; their positions into v (heap). */
static double *acked_writes(const char *node, int n)
{
    double *v = xcalloc((size_t)n, sizeof(*v));
    for (int i = 0; i < n; i++) {
        v[i] = write1(node);
        ck_assert_msg(v[i] > 0, "write %d on %s not acknowledged", i, node);
    }
    return v;
}

/* assert_kept: every position of v is readable on node. */
static void assert_kept(const char *node, const double *v, int n)
{
    for (int i = 0; i < n; i++)
        ck_assert_msg(has(node, v[i]), "%s lost acknowledged position %.0f",
                      node, v[i]);
}

/* crash_and_fail_over: node1 crashes after 20 acked writes; returns
 * when the failover is done, after checking RPO 0 on node3. */
static void crash_and_fail_over(int done_before)
{
    double *acked = acked_writes("node1", 20);
    sleep_ms(400); /* replguard scrapes the acked position */
    ck_assert_int_eq(fault("node1", "crash"), 200);
    agent_wait_audit(&ag, "failover_done", "ok", "true", done_before + 1,
                     DEADLINE);
    assert_kept("node3", acked, 20);
    free(acked);
}

/* --- the cases ---------------------------------------------------------- */

START_TEST(crash_fails_over)
{
    begin(SEMI, "semi-sync", false);
    crash_and_fail_over(0);
    ck_assert_int_eq(agent_audit_count(&ag, "failover_plan", "target", "node3"),
                     1);
    ck_assert_int_ge(audits("failover_phase"), 5);
    ck_assert_int_eq(agent_audit_count(&ag, "failover_phase", "ok", "false"),
                     1); /* the fence the dead primary did not take */
    ck_assert_double_eq(role("node3", "primary"), 1);
    ck_assert_double_ge(epoch_of("node3"), 2);
    ck_assert_msg(write1("node3") > 0, "the new primary takes no write");
    assert_wait_for(ag.base, "replguard_failovers_total",
                    "cluster=\"c1\",kind=\"automatic\",outcome=\"success\"", EQ,
                    1, DEADLINE);
    ck_assert_int_ge(agent_audit_count(&ag, "escalated", "runbook", "failover"),
                     1);
    ck_assert_int_eq(top_primaries(), 1);
    ck_assert_double_eq(admin_sum("promote"), 1);
}
END_TEST

/* No runbooks installed (the default rules path does not exist): the
 * acting half still runs for failover. */
START_TEST(no_runbooks_still_fails_over)
{
    struct stat st;
    if (stat("/etc/replguard/rules", &st) == 0) {
        /* installed here: the default is not missing, nothing to prove
         * (check has no per-test skip: say so in the log) */
        printf("SKIP: no_runbooks_still_fails_over: /etc/replguard/rules "
               "exists on this machine\n");
        fflush(stdout);
        return;
    }
    rules = "";
    begin(SEMI, "semi-sync", false);
    ck_assert(agent_log_has(&ag, "no runbooks: failover only"));
    crash_and_fail_over(0);
    ck_assert_int_eq(top_primaries(), 1);
}
END_TEST

START_TEST(api_down_holds)
{
    begin(SEMI, "semi-sync", false);
    ck_assert_int_eq(fault("node1", "api_down"), 200);
    sleep_ms((long)(3000 * DETECT));
    ck_assert_int_eq(audits("failover_plan"), 0);
    ck_assert_int_ge(audits("failover_held"), 1);
    ck_assert_double_eq(admin_sum("promote"), 0);
    ck_assert(agent_log_has(&ag, "failover held: replicas still stream"));
    clear_faults();
}
END_TEST

START_TEST(partition_is_nothing)
{
    begin(SEMI, "semi-sync", false);
    ck_assert_int_eq(fault("node2", "repl_partition"), 200);
    sleep_ms((long)(3000 * DETECT));
    ck_assert_int_eq(audits("failover_plan"), 0);
    ck_assert_int_eq(audits("failover_held"), 0);
    ck_assert_double_eq(admin_sum("promote"), 0);
    ck_assert_double_eq(role("node1", "primary"), 1);
}
END_TEST

/* async: the replicas cut off, the primary acks writes they never get;
 * then it crashes. Promoting any replica would lose them. */
START_TEST(async_lag_refused)
{
    begin(ASYNC, "async", false);
    for (int i = 1; i < N; i++)
        ck_assert_int_eq(fault(nodes[i], "repl_partition"), 200);
    sleep_ms(300);
    double *acked = acked_writes("node1", 20);
    free(acked);
    sleep_ms(500); /* scraped: the acked position is the guard's floor */
    ck_assert_int_eq(fault("node1", "crash"), 200);
    wait_audit_prefix(ag.audit, "failover_refused", "reason", "data_loss", 1,
                      DEADLINE);
    ck_assert_int_ge(agent_audit_count(&ag, "escalated", "runbook", "failover"),
                     1);
    sleep_ms(1000); /* and it stays refused, said once */
    ck_assert_int_eq(audits("failover_refused"), 1);
    ck_assert_int_eq(audits("failover_plan"), 0);
    ck_assert_double_eq(admin_sum("promote"), 0);
    ck_assert_double_eq(failovers("automatic", "refused"), 1);
    ck_assert_double_eq(failovers("automatic", "success"), 0);
}
END_TEST

/* A second crash within block_period: the old primary came back and
 * rejoined as a replica first; the new one crashes: blocked until an
 * ack, then it fails over. */
START_TEST(second_crash_blocked)
{
    begin(SEMI, "semi-sync", false);
    crash_and_fail_over(0);
    clear_faults(); /* node1 returns at epoch 1, believing it is primary */
    wait_audit(ag.audit, "rejoin", NULL, NULL, 1, DEADLINE);
    assert_wait_for(simnode_url(&sn, "node1"), "stemedb_node_role",
                    "role=\"replica\"", EQ, 1, DEADLINE);
    sleep_ms(600);
    ck_assert_int_eq(fault("node3", "crash"), 200);
    wait_audit_prefix(ag.audit, "failover_refused", "reason", "blocked", 1,
                      DEADLINE);
    assert_wait_for(ag.base, "replguard_failover_blocked", "cluster=\"c1\"", EQ,
                    1, DEADLINE);
    sleep_ms(1000);
    ck_assert_int_eq(audits("failover_done"), 1);
    ck_assert_int_eq(audits("failover_plan"), 1);
    char reason[128];
    ck_assert_int_eq(post_api("/api/v1/ack/c1", NULL, reason, sizeof(reason)),
                     200);
    agent_wait_audit(&ag, "failover_done", "ok", "true", 2, DEADLINE);
    assert_wait_for(ag.base, "replguard_failover_blocked", "cluster=\"c1\"", EQ,
                    0, DEADLINE);
    ck_assert_int_eq(top_primaries(), 1);
    assert_wait_for(ag.base, "replguard_failovers_total",
                    "cluster=\"c1\",kind=\"automatic\",outcome=\"success\"", EQ,
                    2, DEADLINE);
}
END_TEST

START_TEST(dry_run_calls_nothing)
{
    begin(SEMI, "semi-sync", true);
    ck_assert_int_eq(fault("node1", "crash"), 200);
    agent_wait_audit(&ag, "failover_done", "dry_run", "true", 1, DEADLINE);
    sleep_ms(1500); /* planned once per outage */
    ck_assert_int_eq(agent_audit_count(&ag, "failover_plan", "dry_run", "true"),
                     1);
    ck_assert_int_eq(agent_audit_count(&ag, "failover_plan", "target", "node3"),
                     1);
    ck_assert_int_ge(
        agent_audit_count(&ag, "failover_phase", "dry_run", "true"), 5);
    ck_assert_double_eq(admin_sum("promote"), 0);
    ck_assert_double_eq(admin_sum("fence"), 0);
    ck_assert_double_eq(admin_sum("replicate-from"), 0);
    ck_assert_double_eq(failovers("automatic", "success"), 0);
    ck_assert_double_eq(role("node2", "replica"), 1);
    ck_assert_double_eq(role("node3", "replica"), 1);
}
END_TEST

static const char *const phases[] = {"plan",    "epoch",   "fence",
                                     "promote", "repoint", "verify"};

/* kill9_resumes_once: SIGKILL the moment phase _i is in the journal,
 * restart, and the failover completes exactly once. */
START_TEST(kill9_resumes_once)
{
    begin(SEMI, "semi-sync", false);
    char want[64];
    snprintf(want, sizeof(want), "\"phase\":\"%s\"", phases[_i]);
    ck_assert_int_eq(fault("node1", "crash"), 200);
    double t0 = now_s();
    while (journal_count(want) == 0 && now_s() - t0 < DEADLINE)
        sleep_ms(1);
    agent_kill(&ag);
    ck_assert_int_eq(journal_count(want), 1);
    fprintf(stderr, "kill9 at %s: done already %d, promotes %.0f\n", phases[_i],
            journal_count("\"phase\":\"done\""), admin_sum("promote"));
    agent_start(&ag);
    agent_wait_audit(&ag, "failover_done", "ok", "true", 1, DEADLINE);
    sleep_ms(1500); /* nothing more comes */
    ck_assert_int_eq(audits("failover_done"), 1);
    ck_assert_int_eq(journal_count("\"phase\":\"done\""), 1);
    ck_assert_double_eq(admin_sum("promote"), 1);
    ck_assert_int_eq(top_primaries(), 1);
    ck_assert_double_eq(role("node3", "primary"), 1);
    ck_assert_msg(write1("node3") > 0, "the new primary takes no write");
}
END_TEST

/* kill9_primary_back: SIGKILL once the plan is journaled, the crashed
 * primary returns before replguard does: the resumed failover must not
 * replace a live primary. */
START_TEST(kill9_primary_back)
{
    begin(SEMI, "semi-sync", false);
    ck_assert_int_eq(fault("node1", "crash"), 200);
    double t0 = now_s();
    while (journal_count("\"phase\":\"plan\"") == 0 && now_s() - t0 < DEADLINE)
        sleep_ms(1);
    agent_kill(&ag);
    bool promoted = admin_sum("promote") > 0;
    fprintf(stderr, "kill9_primary_back: promoted before the kill: %d\n",
            promoted);
    clear_faults();
    assert_wait(simnode_url(&sn, "node1"), "stemedb_node_role",
                "role=\"primary\"", EQ, 1);
    agent_start(&ag);
    agent_wait_audit(&ag, "failover_done", NULL, NULL, 1, DEADLINE);
    if (promoted) /* the kill came too late: then it completes */
        return;
    ck_assert_int_eq(agent_audit_count(&ag, "failover_done", "ok", "false"), 1);
    ck_assert_double_eq(admin_sum("promote"), 0);
    ck_assert_double_eq(role("node1", "primary"), 1);
    ck_assert_msg(write1("node1") > 0, "the primary takes no write");
}
END_TEST

/* --- switchover --------------------------------------------------------- */

/* A writer on node1 until told to stop: the positions acknowledged. */
struct writer {
    pthread_t th;
    atomic_bool stop;
    double *acked;
    int n, refused;
};

static void *writer_run(void *arg)
{
    struct writer *w = arg;
    while (!atomic_load(&w->stop) && w->n < MAX_ACK) {
        double p = write1("node1");
        if (p > 0)
            w->acked[w->n++] = p;
        else
            w->refused++; /* fenced, or throttled: not acknowledged */
        if (p <= 0)
            sleep_ms(5);
    }
    return NULL;
}

START_TEST(switchover_rpo0)
{
    begin(SEMI, "semi-sync", false);
    struct writer w = {.acked = xcalloc(MAX_ACK, sizeof(double))};
    atomic_init(&w.stop, false);
    ck_assert_int_eq(pthread_create(&w.th, NULL, writer_run, &w), 0);
    sleep_ms(800);
    char reason[256];
    long st = post_api("/api/v1/failover/c1", "{\"to\": \"node3\"}", reason,
                       sizeof(reason));
    ck_assert_msg(st == 202, "switchover: %ld %s", st, reason);
    ck_assert_str_eq(reason, "node3");
    agent_wait_audit(&ag, "failover_done", NULL, NULL, 1, DEADLINE);
    atomic_store(&w.stop, true);
    pthread_join(w.th, NULL);
    ck_assert_int_eq(agent_audit_count(&ag, "failover_done", "ok", "true"), 1);
    fprintf(stderr, "switchover: %d writes acked, %d refused\n", w.n,
            w.refused);
    ck_assert_int_ge(w.n, 5);
    assert_kept("node3", w.acked, w.n);
    free(w.acked);
    ck_assert_double_eq(role("node3", "primary"), 1);
    assert_wait_for(simnode_url(&sn, "node1"), "stemedb_node_role",
                    "role=\"replica\"", EQ, 1, DEADLINE);
    ck_assert_int_eq(top_primaries(), 1);
    assert_wait_for(ag.base, "replguard_failovers_total",
                    "cluster=\"c1\",kind=\"switchover\",outcome=\"success\"",
                    EQ, 1, DEADLINE);
    ck_assert_double_eq(
        metric(ag.base, "replguard_failover_lost_positions", "cluster=\"c1\""),
        0);
    ck_assert_msg(write1("node3") > 0, "the new primary takes no write");
}
END_TEST

START_TEST(switchover_gives_up)
{
    begin(SEMI, "semi-sync", false);
    ck_assert_int_eq(fault("node3", "stall"), 200);
    sleep_ms(500);
    char reason[256];
    ck_assert_int_eq(post_api("/api/v1/failover/c1", "{\"to\": \"node3\"}",
                              reason, sizeof(reason)),
                     202);
    agent_wait_audit(&ag, "failover_done", NULL, NULL, 1, 40 * wait_scale());
    ck_assert_int_eq(agent_audit_count(&ag, "failover_done", "ok", "false"), 1);
    ck_assert_int_eq(
        agent_audit_count(&ag, "failover_phase", "phase", "prepare"), 1);
    ck_assert_int_eq(agent_audit_count(&ag, "failover_phase", "phase", "fence"),
                     0);
    ck_assert_double_eq(admin_sum("promote"), 0);
    ck_assert_double_eq(admin_sum("fence"), 0);
    ck_assert_double_eq(role("node1", "primary"), 1);
    assert_wait_for(simnode_url(&sn, "node1"),
                    "stemedb_rate_limit_assertions_per_second", NULL, EQ, 0,
                    DEADLINE);
    ck_assert_msg(write1("node1") > 0, "the primary takes no write");
    assert_wait_for(ag.base, "replguard_failovers_total",
                    "cluster=\"c1\",kind=\"switchover\",outcome=\"failed\"", EQ,
                    1, DEADLINE);
}
END_TEST

/* The runbook action promote, on an alert naming node4, with the primary
 * alive: a switchover of kind runbook to node4. */
START_TEST(runbook_promote)
{
    char dir[PATH_MAX], path[PATH_MAX + 16];
    agent_setup(&ag, &sn, SEMI);
    snprintf(dir, sizeof(dir), "%s/rules", ag.dir);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    snprintf(path, sizeof(path), "%s/promote.yml", dir);
    agent_write(path, "runbook: promote\n"
                      "match: {alertname: PromoteMe}\n"
                      "target_label: replica\n"
                      "steps:\n"
                      "  - action: promote\n");
    rules = dir;
    write_config("semi-sync", false);
    agent_start(&ag);
    sleep_ms((long)(1000 * (DETECT + 0.4)));
    struct buf b;
    buf_init(&b, 0);
    alert_payload(&b, "PromoteMe", "firing", "f0a1",
                  "\"replica\":\"node4\",\"cluster\":\"c1\"");
    ck_assert_int_eq(agent_webhook(&ag, b.data), 200);
    buf_free(&b);
    agent_wait_audit(&ag, "failover_done", "ok", "true", 1, DEADLINE);
    ck_assert_int_eq(agent_audit_count(&ag, "failover_plan", "kind", "runbook"),
                     1);
    ck_assert_int_eq(agent_audit_count(&ag, "action", "action", "promote"), 1);
    ck_assert_double_eq(role("node4", "primary"), 1);
    assert_wait_for(simnode_url(&sn, "node1"), "stemedb_node_role",
                    "role=\"replica\"", EQ, 1, DEADLINE);
    assert_wait_for(ag.base, "replguard_failovers_total",
                    "cluster=\"c1\",kind=\"runbook\",outcome=\"success\"", EQ,
                    1, DEADLINE);
}
END_TEST

START_TEST(endpoint_refusals)
{
    begin(SEMI, "semi-sync", false);
    char reason[256];
    ck_assert_int_eq(
        post_api("/api/v1/failover/c1", "[1]", reason, sizeof(reason)), 400);
    ck_assert_int_eq(
        post_api("/api/v1/failover/c1", "{\"to\": 3}", reason, sizeof(reason)),
        400);
    ck_assert_int_eq(
        post_api("/api/v1/failover/nope", NULL, reason, sizeof(reason)), 404);
    ck_assert_int_eq(post_api("/api/v1/failover/c1", "{\"to\": \"node9\"}",
                              reason, sizeof(reason)),
                     404);
    ck_assert_str_eq(reason, "unknown_node");
    ck_assert_int_eq(post_api("/api/v1/failover/c1", "{\"to\": \"node1\"}",
                              reason, sizeof(reason)),
                     409);
    ck_assert_str_eq(reason, "not_eligible");
    ck_assert_int_eq(post_api("/api/v1/pause", NULL, reason, sizeof(reason)),
                     200);
    ck_assert_int_eq(
        post_api("/api/v1/failover/c1", NULL, reason, sizeof(reason)), 409);
    ck_assert_str_eq(reason, "paused");
    ck_assert_int_eq(post_api("/api/v1/resume", NULL, reason, sizeof(reason)),
                     200);
    ck_assert_double_eq(admin_sum("promote"), 0);
    ck_assert_double_eq(role("node1", "primary"), 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("failover");
    TCase *tc = tcase_create("failover");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, crash_fails_over);
    tcase_add_test(tc, no_runbooks_still_fails_over);
    tcase_add_test(tc, api_down_holds);
    tcase_add_test(tc, partition_is_nothing);
    tcase_add_test(tc, async_lag_refused);
    tcase_add_test(tc, second_crash_blocked);
    tcase_add_test(tc, dry_run_calls_nothing);
    tcase_add_loop_test(tc, kill9_resumes_once, 0, (int)ARRAY_LEN(phases));
    tcase_add_test(tc, kill9_primary_back);
    tcase_add_test(tc, switchover_rpo0);
    tcase_add_test(tc, switchover_gives_up);
    tcase_add_test(tc, runbook_promote);
    tcase_add_test(tc, endpoint_refusals);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
