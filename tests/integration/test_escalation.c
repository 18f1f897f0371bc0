/* test_escalation.c: escalations that reach a human, against a real
 * Alertmanager (Debian's prometheus-alertmanager; skipped, exit 77,
 * without it), replguard-simnode with three nodes and the shipped
 * rules/.
 *
 * One story, in order: both replicas stall, so the shipped lag
 * runbook's escalate_when (two replicas lagging, none healthy) holds.
 * replguard must page AND throttle the primary (throttle is reversible:
 * escalation latches only the risky steps). Alertmanager is not up yet:
 * the post fails, is counted and retried; once it is up the
 * ReplguardEscalation alert appears in its /api/v2/alerts with the
 * labels, and is re-posted while the latch holds; a restart of
 * replguard keeps the latch and the page; POST /api/v1/ack/c1 resolves
 * it; the next alert, both replicas still lagging, pages again. */
#include <arpa/inet.h>
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent_harness.h"
#include "test_support.h"
#include "simnode_harness.h"
#include "lib/util.h"

#define ALERTMANAGER "/usr/bin/prometheus-alertmanager"

static struct simnode sn;
static struct agent ag;
static pid_t am_pid = -1;
static char am_url[64];

/* write_config: the shipped rules/, escalations to am_url (re-posted
 * every second), thresholds low enough that a stall is lag at once. */
static void write_config(void)
{
    const char *top = getenv("top_srcdir");
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b,
               "listen: \"127.0.0.1:0\"\n"
               "state_dir: %s/state\n"
               "audit_log: %s/audit.jsonl\n"
               "rules: %s/rules\n"
               "poll: {interval: 200ms, timeout: 150ms}\n"
               "escalation:\n"
               "  alertmanager_url: %s\n"
               "  labels: {severity: page, team: db}\n"
               "  repost_interval: 1s\n"
               "clusters:\n  - name: c1\n"
               "    thresholds: {warning: 300ms, critical: 600ms}\n"
               "    nodes:\n",
               ag.dir, ag.dir, top ? top : ".", am_url);
    simnode_yaml_nodes(&sn, &b);
    agent_write(ag.cfg, b.data);
    buf_free(&b);
}

static void start_alertmanager(void)
{
    char cfg[128], data[128], listen[96];
    snprintf(cfg, sizeof(cfg), "%s/alertmanager.yml", ag.dir);
    agent_write(cfg, "route: {receiver: humans}\n"
                     "receivers: [{name: humans}]\n");
    snprintf(cfg, sizeof(cfg), "--config.file=%s/alertmanager.yml", ag.dir);
    snprintf(data, sizeof(data), "--storage.path=%s/am", ag.dir);
    snprintf(listen, sizeof(listen), "--web.listen-address=%s",
             am_url + strlen("http://"));
    pid_t parent = getpid();
    am_pid = fork();
    ck_assert_int_ge(am_pid, 0);
    if (am_pid == 0) {
        const char *argv[] = {
            ALERTMANAGER,       cfg, data, listen, "--cluster.listen-address=",
            "--log.level=warn", NULL};
        exec_child(parent, -1, argv);
    }
    double until = now_s() + 20 * wait_scale();
    while (call(am_url, "GET", "/-/ready", NULL) != 200) {
        ck_assert_msg(now_s() < until, "Alertmanager not ready on %s", am_url);
        sleep_ms(100);
    }
}

/* The ReplguardEscalation alert Alertmanager shows. */
struct am_alert {
    int n; /* how many it has (0: none) */
    char replica[32], runbook[64], reason[48], severity[16], team[16];
    char state[16], updated[48], summary[256];
};

static void copy_str(const cJSON *o, const char *key, char *out, size_t n)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    snprintf(out, n, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

/* am_escalation: GET /api/v2/alerts (active ones), the escalations of
 * cluster c1 in it. */
static struct am_alert am_escalation(void)
{
    struct am_alert out = {0};
    struct resp r;
    get(am_url, "/api/v2/alerts", &r);
    ck_assert_int_eq(r.status, 200);
    cJSON *arr = cJSON_Parse(r.body.data);
    buf_free(&r.body);
    ck_assert_ptr_nonnull(arr);
    const cJSON *a;
    cJSON_ArrayForEach(a, arr)
    {
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(a, "labels");
        char name[64], cluster[16];
        copy_str(l, "alertname", name, sizeof(name));
        copy_str(l, "cluster", cluster, sizeof(cluster));
        if (strcmp(name, "ReplguardEscalation") != 0 ||
            strcmp(cluster, "c1") != 0)
            continue;
        out.n++;
        copy_str(l, "replica", out.replica, sizeof(out.replica));
        copy_str(l, "runbook", out.runbook, sizeof(out.runbook));
        copy_str(l, "reason", out.reason, sizeof(out.reason));
        copy_str(l, "severity", out.severity, sizeof(out.severity));
        copy_str(l, "team", out.team, sizeof(out.team));
        copy_str(cJSON_GetObjectItemCaseSensitive(a, "status"), "state",
                 out.state, sizeof(out.state));
        copy_str(a, "updatedAt", out.updated, sizeof(out.updated));
        copy_str(cJSON_GetObjectItemCaseSensitive(a, "annotations"), "summary",
                 out.summary, sizeof(out.summary));
    }
    cJSON_Delete(arr);
    return out;
}

/* wait_escalations: until Alertmanager shows n escalations of c1. */
static struct am_alert wait_escalations(int n, double secs)
{
    double until = now_s() + secs * wait_scale();
    struct am_alert a = am_escalation();
    while (a.n != n && now_s() < until) {
        sleep_ms(200);
        a = am_escalation();
    }
    ck_assert_msg(a.n == n, "Alertmanager shows %d escalations of c1, not %d",
                  a.n, n);
    return a;
}

static void setup(void)
{
    static const char *const args[] = {"--nodes", "3", "--link-delay", "5ms",
                                       NULL};
    agent_setup(&ag, &sn, args);
    snprintf(am_url, sizeof(am_url), "http://127.0.0.1:%d", loopback_port());
    write_config();
}

static void teardown(void)
{
    if (am_pid > 0)
        reap(am_pid);
    am_pid = -1;
    agent_teardown(&ag, &sn);
}

/* stall_both: node2 and node3 stop applying: both lag past critical. */
static void stall_both(void)
{
    const char *p = simnode_url(&sn, "node1");
    ck_assert_int_eq(call(p, "POST", "/v1/sim/fault",
                          "{\"node\":\"node2\",\"kind\":\"stall\"}"),
                     200);
    ck_assert_int_eq(call(p, "POST", "/v1/sim/fault",
                          "{\"node\":\"node3\",\"kind\":\"stall\"}"),
                     200);
    assert_wait(ag.base, "replguard_replica_lag_seconds",
                "cluster=\"c1\",replica=\"node2\"", GT, 1);
    assert_wait(ag.base, "replguard_replica_lag_seconds",
                "cluster=\"c1\",replica=\"node3\"", GT, 1);
}

START_TEST(two_replicas_lagging_page_and_throttle)
{
    agent_start(&ag);
    stall_both();
    ck_assert_int_eq(agent_alert(&ag, "ReplicationLagWarning", "firing", "e1",
                                 "\"cluster\":\"c1\",\"replica\":\"node2\""),
                     200);
    /* the throttle ran on the primary, under the escalation */
    const char *primary = simnode_url(&sn, "node1");
    assert_wait(primary, "stemedb_admin_requests_total",
                "endpoint=\"rate-limit\"", EQ, 1);
    ck_assert_double_gt(
        metric(primary, "stemedb_rate_limit_assertions_per_second", NULL), 0);
    agent_wait_audit(&ag, "action", "action", "throttle", 1, WAIT_S);
    agent_wait_audit(&ag, "skipped", "action", "reset_circuit_breakers", 1,
                     WAIT_S);
    ck_assert_int_eq(agent_audit_count(&ag, "skipped", "reason", "escalated"),
                     1);
    ck_assert_double_eq(
        admin_requests(simnode_url(&sn, "node2"), "circuit-breakers"), 0);
    /* Alertmanager is down: counted, retried, never lost */
    agent_wait_audit(&ag, "escalated", "reason", "escalate_when", 1, WAIT_S);
    assert_wait(ag.base, "replguard_escalation_notify_failures_total",
                "receiver=\"alertmanager\"", GT, 0);
    agent_wait_audit(&ag, "escalation_failed", NULL, NULL, 1, WAIT_S);
    start_alertmanager();
    struct am_alert a = wait_escalations(1, 15);
    ck_assert_str_eq(a.replica, "node2");
    ck_assert_str_eq(a.runbook, "high-replication-lag");
    ck_assert_str_eq(a.reason, "escalate_when");
    ck_assert_str_eq(a.severity, "page");
    ck_assert_str_eq(a.team, "db");
    ck_assert_str_eq(a.state, "active");
    ck_assert_ptr_nonnull(strstr(a.summary, "high-replication-lag"));
    agent_wait_audit(&ag, "escalation_sent", NULL, NULL, 1, WAIT_S);
    /* re-posted while latched (every second here) */
    char first[48];
    snprintf(first, sizeof(first), "%s", a.updated);
    sleep_ms(2500);
    a = wait_escalations(1, 5);
    ck_assert_str_ne(a.updated, first);

    /* a restart keeps the latch and the page (the journal) */
    ck_assert_int_eq(agent_stop(&ag), 0);
    agent_start(&ag);
    agent_wait_audit(&ag, "escalation_sent", NULL, NULL, 2, WAIT_S);
    struct resp r;
    struct opts o = {.method = "POST", .body = ""};
    ck_assert_int_eq(agent_request(&ag, "/api/v1/ack/c1", &o, &r), 200);
    buf_free(&r.body);
    agent_wait_audit(&ag, "escalation_resolved", NULL, NULL, 1, WAIT_S);
    wait_escalations(0, 10);
    ck_assert(agent_log_has(&ag, "was_blocked=1"));

    /* acked, but both replicas still lag: the next alert pages again
     * (once this run of replguard has seen their lag again) */
    assert_wait(ag.base, "replguard_replica_lag_seconds",
                "cluster=\"c1\",replica=\"node2\"", GT, 1);
    assert_wait(ag.base, "replguard_replica_lag_seconds",
                "cluster=\"c1\",replica=\"node3\"", GT, 1);
    ck_assert_int_eq(agent_alert(&ag, "ReplicationLagWarning", "firing", "e2",
                                 "\"cluster\":\"c1\",\"replica\":\"node3\""),
                     200);
    a = wait_escalations(1, 10);
    ck_assert_str_eq(a.replica, "node3");
}
END_TEST

int main(void)
{
    if (access(ALERTMANAGER, X_OK) != 0) {
        puts("test_escalation: SKIP: no " ALERTMANAGER
             " (apt-get install prometheus-alertmanager)");
        return 77;
    }
    Suite *s = suite_create("escalation");
    TCase *tc = tcase_create("alertmanager");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120 * wait_scale());
    tcase_add_test(tc, two_replicas_lagging_page_and_throttle);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
