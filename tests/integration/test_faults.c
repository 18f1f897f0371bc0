/* test_faults.c: every replguard-simnode fault kind (SPEC section 7)
 * against the built replguard, polling every 300 ms with the shipped
 * rules/.
 *
 * Each test starts a fresh 4-node cluster (node1 primary, node2..node4
 * replicas) and replguard, injects one fault and checks, from outside:
 * the metrics replguard exports, its health endpoints (the faulty replica
 * out with the right reason, the others in), the runbook that acts on
 * the alert (posted here as Alertmanager would, since there is none):
 * in the audit log and on the nodes' own counters; then that everything
 * recovers once the fault is cleared. While a node hangs, answers slowly,
 * lies or is down, the other nodes must stay on schedule: the scrape
 * times replguard records (replguard_scrape_last_success_timestamp_seconds)
 * of a healthy node are never more than two intervals apart.
 *
 * Waits poll with generous deadlines (sanitizer builds are slow); nothing
 * asserts speed, only schedule relative to the configured interval. */
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_harness.h"
#include "simnode_harness.h"
#include "lib/util.h"

#define INTERVAL 0.3  /* poll.interval */
#define TIMEOUT  0.15 /* poll.timeout */
#define DEADLINE 20.0 /* of every wait for the dynamics */

#define LAST_COMPARE "replguard_merkle_last_compare_timestamp_seconds"

static struct simnode sn;
static struct agent ag;

static const char *const replicas[] = {"node2", "node3", "node4"};

static void write_config(void)
{
    const char *top = getenv("top_srcdir");
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b,
               "listen: \"127.0.0.1:0\"\n"
               "state_dir: %s/state\n"
               "audit_log: %s\n"
               "rules: %s/rules\n"
               "poll: {interval: 300ms, timeout: 150ms, merkle_interval: 1s}\n"
               "clusters:\n"
               "  - name: c1\n"
               "    thresholds: {warning: 1s, critical: 2s, escalate: 60s, "
               "read_max_lag: 500ms}\n"
               "    throttle: {floor: 100, restore_steps: [2000], "
               "restore_interval: 1s}\n"
               "    nodes:\n",
               ag.dir, ag.audit, top ? top : ".");
    simnode_yaml_nodes(&sn, &b);
    agent_write(ag.cfg, b.data);
    buf_free(&b);
}

static void setup(void)
{
    agent_setup(&ag, &sn, SIMNODE_FOUR_NODES);
    write_config();
    agent_start(&ag);
}

static void teardown(void)
{
    agent_teardown(&ag, &sn);
}

static const char *node_url(const char *name)
{
    return simnode_url(&sn, name);
}

/* --- what replguard says ------------------------------------------------ */

/* labels: "cluster=\"c1\",KEY=\"node\"" plus ",extra" when extra is set. */
static const char *labels(char *out, size_t n, const char *key,
                          const char *node, const char *extra)
{
    snprintf(out, n, "cluster=\"c1\",%s=\"%s\"%s%s", key, node,
             extra ? "," : "", extra ? extra : "");
    return out;
}

/* rg: replguard's sample name{cluster="c1",key="node"[,extra]}. */
static double rg(const char *name, const char *key, const char *node,
                 const char *extra)
{
    char l[256];
    return metric(ag.base, name, labels(l, sizeof(l), key, node, extra));
}

/* rg_wait: waits for that sample to compare op want; fails otherwise. */
static void rg_wait(const char *name, const char *key, const char *node,
                    const char *extra, enum cmp op, double want)
{
    char l[256];
    assert_wait_for(ag.base, name, labels(l, sizeof(l), key, node, extra), op,
                    want, DEADLINE);
}

static void wait_health_metric(const char *node, const char *health)
{
    char h[64];
    snprintf(h, sizeof(h), "health=\"%s\"", health);
    rg_wait("replguard_replica_health", "replica", node, h, EQ, 1);
}

/* expect_health: waits for the replica's health endpoint to answer
 * status, then checks its JSON reason ("null" when in rotation). */
static void expect_health(const char *node, long status, const char *reason)
{
    char why[128];
    double deadline = now_s() + DEADLINE;
    while (agent_replica_health(&ag, "c1", node, why, sizeof(why)) != status &&
           now_s() < deadline)
        sleep_ms(20);
    long st = agent_replica_health(&ag, "c1", node, why, sizeof(why));
    ck_assert_msg(st == status, "/health/replica/c1/%s: %ld (%s), want %ld",
                  node, st, why, status);
    ck_assert_msg(strcmp(why, reason) == 0,
                  "/health/replica/c1/%s reason \"%s\", want \"%s\"", node, why,
                  reason);
}

/* others_in: every replica but the faulty one is in read rotation. */
static void others_in(const char *faulty)
{
    for (size_t i = 0; i < ARRAY_LEN(replicas); i++)
        if (strcmp(replicas[i], faulty) != 0)
            expect_health(replicas[i], 200, "null");
}

static void all_in(void)
{
    others_in("");
}

/* --- faults and alerts -------------------------------------------------- */

static void fault(const char *json)
{
    long st = call(node_url("node1"), "POST", "/v1/sim/fault", json);
    ck_assert_msg(st == 200, "fault %s: HTTP %ld", json, st);
}

/* clear: DELETE /v1/sim/fault through a node no fault takes down. */
static void clear(void)
{
    ck_assert_int_eq(call(node_url("node4"), "DELETE", "/v1/sim/fault", NULL),
                     200);
}

/* alert: posts one alert on replica node of c1; the webhook takes it. */
static void alert(const char *alertname, const char *status, const char *node,
                  const char *fp)
{
    char l[96];
    snprintf(l, sizeof(l), "\"cluster\":\"c1\",\"replica\":\"%s\"", node);
    long st = agent_alert(&ag, alertname, status, fp, l);
    ck_assert_msg(st == 200, "webhook %s: HTTP %ld", alertname, st);
}

/* admin: the node's own count of admin calls to endpoint. */
static double admin(const char *node, const char *endpoint)
{
    double v = admin_requests(node_url(node), endpoint);
    ck_assert_msg(!isnan(v), "%s: no admin count for %s", node, endpoint);
    return v;
}

/* acted: runbook's action on target is in the audit log and counted as a
 * success. */
static void acted(const char *runbook, const char *action)
{
    agent_wait_audit(&ag, "action", "action", action, 1, DEADLINE);
    char l[256];
    snprintf(l, sizeof(l),
             "cluster=\"c1\",runbook=\"%s\",action=\"%s\",outcome=\"success\"",
             runbook, action);
    assert_wait_for(ag.base, "replguard_remediation_actions_total", l, EQ, 1,
                    DEADLINE);
}

/* --- the schedule ------------------------------------------------------- */

/* One node's scrape times as seen in replguard's /metrics. */
struct track {
    double last;    /* the last value seen, NAN before the first */
    double max_gap; /* largest gap between two successive scrapes */
    int gaps;       /* gaps measured */
    int changes;    /* values seen after the first */
};

/* observe: a new sample v of the node's last-scrape time. A gap counts
 * only when the previous sample of replguard was taken less than half of
 * INTERVAL - TIMEOUT ago: a node's scrapes end at least INTERVAL -
 * TIMEOUT apart (each within TIMEOUT of its round's start, rounds start
 * INTERVAL apart) and each is shown until the next round's end, so none
 * can have come and gone unseen in between. */
static void observe(struct track *t, double v, double since_prev)
{
    if (isnan(v) || v == t->last)
        return;
    if (!isnan(t->last)) {
        t->changes++;
        if (since_prev < (INTERVAL - TIMEOUT) / 2) {
            t->gaps++;
            if (v - t->last > t->max_gap)
                t->max_gap = v - t->last;
        }
    }
    t->last = v;
}

/* watch_schedule: samples replguard's /metrics for secs seconds and
 * checks every healthy node was scraped in every interval (no gap over 2
 * intervals, enough gaps measured to mean it) and that the faulty one
 * was not scraped successfully at all. */
static void watch_schedule(const char *faulty, double secs)
{
    const char *nodes[] = {"node1", "node2", "node3", "node4"};
    struct track t[ARRAY_LEN(nodes)];
    for (size_t i = 0; i < ARRAY_LEN(nodes); i++)
        t[i] = (struct track){.last = NAN};
    double start = now_s(), prev = start;
    double rounds0 = metric(ag.base, "replguard_poll_rounds_total", NULL);
    while (now_s() - start < secs) {
        struct resp r;
        get(ag.base, "/metrics", &r);
        double now = now_s();
        ck_assert_int_eq(r.status, 200);
        for (size_t i = 0; i < ARRAY_LEN(nodes); i++) {
            char l[96];
            double v = metric_in(r.body.data,
                                 "replguard_scrape_last_success_timestamp_"
                                 "seconds",
                                 labels(l, sizeof(l), "node", nodes[i], NULL));
            observe(&t[i], v, now - prev);
        }
        buf_free(&r.body);
        prev = now;
        sleep_ms(20);
    }
    double rounds =
        metric(ag.base, "replguard_poll_rounds_total", NULL) - rounds0;
    for (size_t i = 0; i < ARRAY_LEN(nodes); i++) {
        if (strcmp(nodes[i], faulty) == 0) {
            ck_assert_msg(t[i].changes == 0, "%s (faulty) scraped %d times",
                          nodes[i], t[i].changes);
            continue;
        }
        /* fewer measured gaps than half the rounds: the sampler itself
         * fell behind too often for the check to mean anything */
        ck_assert_msg(t[i].gaps >= rounds / 2,
                      "%s: %d gaps measured in %g rounds", nodes[i], t[i].gaps,
                      rounds);
        ck_assert_msg(t[i].max_gap <= 2 * INTERVAL,
                      "%s: %.3f s between two scrapes (interval %.1f s), "
                      "while %s was faulty",
                      nodes[i], t[i].max_gap, INTERVAL, faulty);
    }
}

/* --- HTTP-level faults: each costs its own node's scrape ---------------- */

static const struct {
    const char *kind;
    const char *reason; /* replguard_scrape_failures_total{reason} */
} http_faults[] = {
    {"hang", "timeout"},         {"slow_body", "timeout"}, {"garbage", "parse"},
    {"http_500", "http_status"}, {"down", "connect"},
};

START_TEST(http_fault_costs_only_its_node)
{
    const char *kind = http_faults[_i].kind, *reason = http_faults[_i].reason;
    char json[128], why[64];
    all_in();
    snprintf(why, sizeof(why), "reason=\"%s\"", reason);
    double before = rg("replguard_scrape_failures_total", "node", "node3", why);
    ck_assert_double_eq(before, 0);
    rg_wait(LAST_COMPARE, "replica", "node2", NULL, GT, 0); /* a first one */
    snprintf(json, sizeof(json), "{\"node\":\"node3\",\"kind\":\"%s\"}", kind);
    fault(json);

    rg_wait("replguard_scrape_failures_total", "node", "node3", why, GT, 0);
    rg_wait("replguard_up", "node", "node3", "role=\"replica\"", EQ, 0);
    wait_health_metric("node3", "unknown");
    expect_health("node3", 503, "unreachable");
    others_in("node3");
    double mk2 = rg(LAST_COMPARE, "replica", "node2", NULL);
    watch_schedule("node3", 10 * INTERVAL);
    /* nor are the others' Merkle compares held up (merkle_interval 1s) */
    rg_wait(LAST_COMPARE, "replica", "node2", NULL, GT, mk2);
    /* only this reason counts: the fault is not misread as another */
    for (int r = 0; r < 5; r++) {
        static const char *const all[] = {"timeout", "connect", "http_status",
                                          "parse", "too_large"};
        char other[64];
        snprintf(other, sizeof(other), "reason=\"%s\"", all[r]);
        if (strcmp(all[r], reason) != 0)
            ck_assert_double_eq(
                rg("replguard_scrape_failures_total", "node", "node3", other),
                0);
    }
    others_in("node3");

    /* replica-down acts on nothing it cannot see: the alert is recorded
     * as skipped, stale, and nothing reaches the nodes */
    alert("ReplicaUnknown", "firing", "node3", "f00d0001");
    agent_wait_audit(&ag, "skipped", "reason", "stale", 1, DEADLINE);
    ck_assert_int_eq(agent_audit_count(&ag, "action", NULL, NULL), 0);
    ck_assert_double_eq(admin("node1", "demote"), 0);

    double mk3 = rg(LAST_COMPARE, "replica", "node3", NULL);
    clear();
    rg_wait("replguard_up", "node", "node3", "role=\"replica\"", EQ, 1);
    ck_assert_double_eq(admin("node3", "circuit-breaker-reset"), 0);
    /* node3's compares resume */
    rg_wait(LAST_COMPARE, "replica", "node3", NULL, GT, isnan(mk3) ? 0 : mk3);
    ck_assert_double_eq(
        rg("replguard_merkle_diff_buckets", "replica", "node3", NULL), 0);
    wait_health_metric("node3", "healthy");
    all_in();
    watch_schedule("", 5 * INTERVAL);
}
END_TEST

/* --- HTTP-level faults on the primary ----------------------------------- */

static const struct {
    const char *kind;
    const char *reason; /* the primary's scrape failures */
    const char *health; /* then the replicas' */
    const char *why;    /* and their /health reason */
} primary_faults[] = {
    /* replication goes on, but replguard can no longer measure it */
    {"hang", "timeout", "unknown", "lag unknown"},
    /* off the network: the replicas' streams are down too */
    {"down", "connect", "unhealthy", "disconnected"},
    /* only /metrics lies: heartbeats still measure the lag */
    {"garbage", "parse", "healthy", "null"},
};

/* While replguard cannot reach the primary, the replicas keep being
 * scraped on schedule, but their lag is a number replguard no longer has
 * (SPEC section 3) unless the primary still takes heartbeats: they are
 * out of rotation, whichever lag_source. */
START_TEST(primary_fault_leaves_replica_lag_unknown)
{
    const char *kind = primary_faults[_i].kind;
    const char *want = primary_faults[_i].health,
               *want_why = primary_faults[_i].why;
    bool in = strcmp(want, "healthy") == 0;
    char json[128], why[64];
    all_in();
    snprintf(why, sizeof(why), "reason=\"%s\"", primary_faults[_i].reason);
    snprintf(json, sizeof(json), "{\"node\":\"node1\",\"kind\":\"%s\"}", kind);
    fault(json);
    rg_wait("replguard_scrape_failures_total", "node", "node1", why, GT, 0);
    rg_wait("replguard_up", "node", "node1", "role=\"primary\"", EQ, 0);
    for (size_t i = 0; i < ARRAY_LEN(replicas); i++) {
        const char *r = replicas[i];
        wait_health_metric(r, want);
        expect_health(r, in ? 200 : 503, want_why);
        double deadline = now_s() + DEADLINE; /* 3 intervals' grace */
        while (!in && now_s() < deadline &&
               !isnan(rg("replguard_replica_lag_seconds", "replica", r, NULL)))
            sleep_ms(20);
        ck_assert_msg(in == !isnan(rg("replguard_replica_lag_seconds",
                                      "replica", r, NULL)),
                      "%s: lag exported: %d, want %d", r, !in, in);
        ck_assert_double_eq(rg("replguard_up", "node", r, "role=\"replica\""),
                            1);
    }
    watch_schedule("node1", 10 * INTERVAL);

    clear();
    rg_wait("replguard_up", "node", "node1", "role=\"primary\"", EQ, 1);
    for (size_t i = 0; i < ARRAY_LEN(replicas); i++)
        wait_health_metric(replicas[i], "healthy");
    all_in();
}
END_TEST

/* --- lag faults --------------------------------------------------------- */

/* lagging: node's lag has passed critical (or only warning): every lag
 * figure shows it, it is unhealthy (no longer healthy) and out of
 * rotation. */
static void lagging(const char *node, bool critical)
{
    rg_wait("replguard_replica_lag_seconds", "replica", node, NULL, GT,
            critical ? 2 : 1);
    if (critical)
        wait_health_metric(node, "unhealthy");
    else
        rg_wait("replguard_replica_health", "replica", node,
                "health=\"healthy\"", EQ, 0);
    /* every lag figure shows it (each waited for: a primary's scrape
     * that is late under the load of a burst holds some back a round) */
    rg_wait("replguard_replica_lag_positions", "replica", node, NULL, GT, 0);
    rg_wait("replguard_replica_heartbeat_lag_seconds", "replica", node, NULL,
            GT, 1);
    rg_wait("replguard_replica_position_lag_seconds", "replica", node, NULL, GT,
            1);
    rg_wait("replguard_replica_connected", "replica", node, NULL, EQ, 1);
    rg_wait("replguard_replica_in_read_rotation", "replica", node, NULL, EQ, 0);
    expect_health(node, 503, "lag above max_lag");
}

/* recovered: node's lag is back under read_max_lag and it is healthy. */
static void recovered(const char *node)
{
    rg_wait("replguard_replica_lag_seconds", "replica", node, NULL, LT, 0.5);
    wait_health_metric(node, "healthy");
    expect_health(node, 200, "null");
}

static const char *const lag_faults[] = {
    "{\"node\":\"node2\",\"kind\":\"slow_apply\",\"factor\":0.01}",
    "{\"node\":\"node2\",\"kind\":\"stall\"}",
};

/* One replica lags: high-replication-lag resets its breakers (a no-op
 * here) and neither throttles (one lagging replica) nor syncs (no
 * divergence); node2 comes back once the fault is cleared. */
START_TEST(one_replica_lags)
{
    all_in();
    fault(lag_faults[_i]);
    lagging("node2", true);
    others_in("node2");
    wait_health_metric("node3", "healthy");

    alert("ReplicationLagCritical", "firing", "node2", "f00d0002");
    acted("high-replication-lag", "reset_circuit_breakers");
    agent_wait_audit(&ag, "skipped", "action", "throttle", 1, DEADLINE);
    ck_assert_int_ge(agent_audit_count(&ag, "skipped", "reason", "condition"),
                     3); /* throttle, force_sync, escalate */
    ck_assert_int_eq(agent_audit_count(&ag, "action", NULL, NULL), 1);
    ck_assert_double_eq(admin("node1", "rate-limit"), 0);
    ck_assert_double_eq(admin("node1", "sync"), 0);

    clear();
    recovered("node2");
    all_in();
}
END_TEST

/* Two replicas of three lag: the primary is overloaded; the runbook
 * throttles it, and gives the ingest back once the alert resolves. */
START_TEST(two_replicas_lag_and_throttle)
{
    all_in();
    fault("{\"node\":\"node2\",\"kind\":\"slow_apply\",\"factor\":0.01}");
    fault("{\"node\":\"node3\",\"kind\":\"slow_apply\",\"factor\":0.01}");
    lagging("node2", true);
    lagging("node3", true);
    expect_health("node4", 200, "null");

    alert("ReplicationLagCritical", "firing", "node2", "f00d0003");
    acted("high-replication-lag", "throttle");
    ck_assert_double_ge(admin("node1", "rate-limit"), 1);
    double limit = metric(node_url("node1"),
                          "stemedb_rate_limit_assertions_per_second", NULL);
    ck_assert_msg(limit >= 100 && limit < 1000, "rate limit %g", limit);
    assert_wait_for(ag.base, "replguard_throttle_active", "cluster=\"c1\"", EQ,
                    1, DEADLINE);

    clear();
    recovered("node2");
    recovered("node3");
    alert("ReplicationLagCritical", "resolved", "node2", "f00d0003");
    acted("high-replication-lag", "restore_throttle");
    /* the ramp climbs its one step, then lifts the limit */
    assert_wait_for(node_url("node1"),
                    "stemedb_rate_limit_assertions_per_second", NULL, EQ, 0,
                    DEADLINE);
    assert_wait_for(ag.base, "replguard_throttle_active", "cluster=\"c1\"", EQ,
                    0, DEADLINE);
    all_in();
}
END_TEST

/* A write burst on the primary: every replica falls behind (the runbook
 * would escalate, none being healthy: not posted here, since its
 * receiver is a fixed port), and all catch up once it stops. */
START_TEST(ingest_burst_lags_every_replica)
{
    all_in();
    double pos0 = rg("replguard_node_position", "node", "node1", NULL);
    /* twice what the replicas apply: lag grows half a second a second */
    fault("{\"node\":\"node1\",\"kind\":\"ingest_burst\",\"rate\":10000}");
    for (size_t i = 0; i < ARRAY_LEN(replicas); i++)
        lagging(replicas[i], false);
    ck_assert(rg("replguard_node_position", "node", "node1", NULL) >
              pos0 + 10000);
    clear();
    for (size_t i = 0; i < ARRAY_LEN(replicas); i++)
        recovered(replicas[i]);
}
END_TEST

/* --- the replication stream and the data -------------------------------- */

/* A disconnected replica is unhealthy whatever its lag; replica-down
 * demotes it (two healthy replicas are left) and it stays out of
 * rotation, demoted, after its stream is back. */
START_TEST(disconnect_demotes)
{
    all_in();
    fault("{\"node\":\"node2\",\"kind\":\"disconnect\"}");
    rg_wait("replguard_replica_connected", "replica", "node2", NULL, EQ, 0);
    wait_health_metric("node2", "unhealthy");
    expect_health("node2", 503, "disconnected");
    others_in("node2");

    alert("ReplicaDisconnected", "firing", "node2", "f00d0004");
    acted("replica-down", "reset_circuit_breakers");
    acted("replica-down", "demote");
    ck_assert_double_eq(admin("node1", "demote"), 1);
    agent_wait_audit(&ag, "skipped", "action", "escalate", 1, DEADLINE);

    clear();
    rg_wait("replguard_replica_connected", "replica", "node2", NULL, EQ, 1);
    rg_wait("replguard_up", "node", "node2", "role=\"demoted\"", EQ, 1);
    expect_health("node2", 503, "demoted");
    others_in("node2");
}
END_TEST

/* Divergence is not lag: the replica stays in rotation (SPEC section 4),
 * replguard counts the corrupt buckets exactly, and merkle-divergence
 * repairs them with a forced sync. */
START_TEST(diverge_is_synced)
{
    all_in();
    fault("{\"node\":\"node2\",\"kind\":\"diverge\",\"buckets\":5}");
    rg_wait("replguard_merkle_diff_buckets", "replica", "node2", NULL, EQ, 5);
    ck_assert_double_eq(
        rg("replguard_merkle_diff_buckets", "replica", "node3", NULL), 0);
    expect_health("node2", 200, "null");

    alert("MerkleDivergence", "firing", "node2", "f00d0005");
    acted("merkle-divergence", "force_sync");
    ck_assert_double_eq(admin("node1", "sync"), 1);
    rg_wait("replguard_merkle_diff_buckets", "replica", "node2", NULL, EQ, 0);
    all_in();
}
END_TEST

/* A tripped breaker on a replica blocks its apply: it lags until
 * circuit-breaker-tripped resets the breaker on that node. */
START_TEST(trip_breaker_is_reset)
{
    struct resp r;
    all_in();
    fault("{\"node\":\"node2\",\"kind\":\"trip_breaker\","
          "\"agent_id\":\"ingest-7\"}");
    get(node_url("node2"), "/v1/admin/circuit-breakers/tripped", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body.data, "\"ingest-7\""));
    buf_free(&r.body);
    lagging("node2", true);
    others_in("node2");

    alert("CircuitBreakerTripped", "firing", "node2", "f00d0006");
    acted("circuit-breaker-tripped", "reset_circuit_breakers");
    ck_assert_double_eq(admin("node2", "circuit-breaker-reset"), 1);
    get(node_url("node2"), "/v1/admin/circuit-breakers/tripped", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_null(strstr(r.body.data, "ingest-7"));
    buf_free(&r.body);
    agent_wait_audit(&ag, "skipped", "action", "escalate", 1, DEADLINE);
    recovered("node2");
    all_in();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("faults");
    TCase *tc = tcase_create("faults");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, http_fault_costs_only_its_node, 0,
                        (int)ARRAY_LEN(http_faults));
    tcase_add_loop_test(tc, primary_fault_leaves_replica_lag_unknown, 0,
                        (int)ARRAY_LEN(primary_faults));
    tcase_add_loop_test(tc, one_replica_lags, 0, (int)ARRAY_LEN(lag_faults));
    tcase_add_test(tc, two_replicas_lag_and_throttle);
    tcase_add_test(tc, ingest_burst_lags_every_replica);
    tcase_add_test(tc, disconnect_demotes);
    tcase_add_test(tc, diverge_is_synced);
    tcase_add_test(tc, trip_breaker_is_reset);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
