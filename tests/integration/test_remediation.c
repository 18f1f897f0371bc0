/* test_remediation.c: the webhook and the remediation engine against a
 * running replguard and replguard-simnode.
 *
 * What reached the nodes is read from simnode's own counters
 * (stemedb_admin_requests_total{endpoint}); what replguard decided, from
 * its audit log and metrics. */
#include <check.h>
#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_harness.h"
#include "simnode_harness.h"
#include "lib/util.h"

static struct simnode sn;
static struct agent ag;

static const char RULES[] = "runbook: lag\n"
                            "match: {alertname: ReplicationLagCritical}\n"
                            "target_label: replica\n"
                            "steps:\n"
                            "  - action: force_sync\n"
                            "  - action: reset_circuit_breakers\n"
                            "cooldown: 10m\n"
                            "max_actions_per_hour: 6\n"
                            "---\n"
                            "runbook: overload\n"
                            "match: {alertname: PrimaryOverload}\n"
                            "target_label: replica\n"
                            "steps:\n"
                            "  - action: throttle\n"
                            "on_resolved: [restore_throttle]\n"
                            "---\n"
                            "runbook: runaway\n"
                            "match: {alertname: Runaway}\n"
                            "target_label: replica\n"
                            "escalate_when: \"lag >= 0s\"\n"
                            "steps:\n"
                            "  - action: force_sync\n"
                            "---\n"
                            "runbook: checked\n"
                            "match: {alertname: Checked}\n"
                            "target_label: replica\n"
                            "steps:\n"
                            "  - action: reset_circuit_breakers\n"
                            "verify: {within: 1s}\n"
                            "---\n"
                            "runbook: slow-exec\n"
                            "match: {alertname: SlowExec}\n"
                            "target_label: replica\n"
                            "steps:\n"
                            "  - action: exec\n"
                            "    argv: [\"/bin/sh\", \"-c\", \"echo run >> "
                            "{{label.marker}}; sleep 3\"]\n"
                            "    timeout: 10s\n";

static const char *node_url(const char *name)
{
    return simnode_url(&sn, name);
}

/* write_config: dry_run and token are optional ("" / NULL). */
static double poll_ms = 200; /* poll.interval; a test may lengthen it */

static void write_config(bool dry_run, const char *token_file)
{
    char rules[128];
    snprintf(rules, sizeof(rules), "%s/rules.yml", ag.dir);
    agent_write(rules, RULES);
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b,
               "listen: \"127.0.0.1:0\"\n"
               "dry_run: %s\n"
               "state_dir: %s/state\n"
               "audit_log: %s/audit.jsonl\n"
               "rules: %s\n"
               "poll: {interval: %.0fms, timeout: %.0fms}\n",
               dry_run ? "true" : "false", ag.dir, ag.dir, rules,
               poll_ms * wait_scale(), poll_ms * 0.75 * wait_scale());
    if (token_file)
        buf_printf(&b, "auth: {token_file: %s}\n", token_file);
    buf_puts(&b, "clusters:\n  - name: c1\n"
                 "    throttle: {floor: 50, restore_steps: [600, 800], "
                 "restore_interval: 1s}\n"
                 "    nodes:\n");
    simnode_yaml_nodes(&sn, &b);
    agent_write(ag.cfg, b.data);
    buf_free(&b);
}

static void setup(void)
{
    agent_setup(&ag, &sn, NULL);
}

static void teardown(void)
{
    agent_teardown(&ag, &sn);
}

#define NODE2 "\"replica\":\"node2\""

/* payload: an Alertmanager 0.25 webhook body for one alert on node2,
 * with extra labels (",\"k\":\"v\"...") when not NULL. */
static void payload(struct buf *b, const char *alertname, const char *status,
                    const char *fp, const char *extra_labels)
{
    char labels[512];
    snprintf(labels, sizeof(labels), NODE2 "%s",
             extra_labels ? extra_labels : "");
    alert_payload(b, alertname, status, fp, labels);
}

/* post: POST body to path, with "Authorization: Bearer token" when
 * token is not NULL. */
static long post(const char *path, const char *body, const char *token,
                 struct resp *r)
{
    char auth[128];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
             token ? token : "");
    struct opts o = {
        .method = "POST", .body = body, .header = token ? auth : NULL};
    return agent_request(&ag, path, &o, r);
}

static double admin(const char *node, const char *endpoint)
{
    return admin_requests(node_url(node), endpoint);
}

START_TEST(alert_makes_exactly_the_expected_calls)
{
    write_config(false, NULL);
    agent_start(&ag);
    /* a tripped breaker on node2 for the runbook to reset */
    ck_assert_int_eq(call(node_url("node1"), "POST", "/v1/sim/fault",
                          "{\"node\":\"node2\",\"kind\":\"trip_breaker\","
                          "\"agent_id\":\"ingest-1\"}"),
                     200);
    struct buf b;
    buf_init(&b, 0);
    payload(&b, "ReplicationLagCritical", "firing", "0e05ed67e762832d", NULL);
    ck_assert_int_eq(agent_webhook(&ag, b.data), 200);
    assert_wait(node_url("node2"), "stemedb_admin_requests_total",
                "endpoint=\"circuit-breaker-reset\"", EQ, 1);
    ck_assert_double_eq(admin("node1", "sync"), 1);
    ck_assert_double_eq(admin("node2", "circuit-breakers"), 1);
    ck_assert_double_eq(admin("node3", "circuit-breaker-reset"), 0);
    ck_assert_double_eq(admin("node1", "demote"), 0);
    ck_assert_double_eq(admin("node1", "rate-limit"), 0);
    /* the same payload 20 more times, as repeat_interval and a second
     * Alertmanager peer would send it: nothing runs again */
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(agent_webhook(&ag, b.data), 200);
    /* and from a second Alertmanager peer: its own receiver and group */
    struct buf peer;
    buf_init(&peer, 0);
    payload(&peer, "ReplicationLagCritical", "firing", "0e05ed67e762832d",
            NULL);
    char *at = strstr(peer.data, "\"receiver\":\"replguard\"");
    ck_assert_ptr_nonnull(at);
    memcpy(at, "\"receiver\":\"peer2zzzz\"", 22);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(agent_webhook(&ag, peer.data), 200);
    buf_free(&peer);
    agent_wait_audit(&ag, "skipped", "reason", "duplicate", 25, WAIT_S);
    sleep_ms(500);
    ck_assert_double_eq(admin("node1", "sync"), 1);
    ck_assert_double_eq(admin("node2", "circuit-breaker-reset"), 1);
    assert_wait(ag.base, "replguard_remediation_actions_total",
                "cluster=\"c1\",runbook=\"lag\",action=\"force_sync\","
                "outcome=\"success\"",
                EQ, 1);
    assert_wait(ag.base, "replguard_remediation_skipped_total",
                "cluster=\"c1\",runbook=\"lag\",reason=\"duplicate\"", EQ, 25);
    assert_wait(ag.base, "replguard_webhook_requests_total", "code=\"200\"", EQ,
                26);
    buf_free(&b);
}
END_TEST

START_TEST(dry_run_touches_no_node)
{
    write_config(true, NULL);
    agent_start(&ag);
    ck_assert_int_eq(
        agent_alert(&ag, "ReplicationLagCritical", "firing", "aa01", NODE2),
        200);
    agent_wait_audit(&ag, "action", "action", "force_sync", 1, WAIT_S);
    agent_wait_audit(&ag, "action", "action", "reset_circuit_breakers", 1,
                     WAIT_S);
    ck_assert_int_eq(agent_audit_count(&ag, "action", "dry_run", "true"), 2);
    ck_assert_int_eq(agent_audit_count(&ag, "action", "dry_run", "false"), 0);
    sleep_ms(500);
    ck_assert_double_eq(admin("node1", "sync"), 0);
    ck_assert_double_eq(admin("node2", "circuit-breakers"), 0);
    assert_wait(ag.base, "replguard_remediation_actions_total",
                "cluster=\"c1\",runbook=\"lag\",action=\"force_sync\","
                "outcome=\"dry_run\"",
                EQ, 1);
}
END_TEST

START_TEST(bad_requests_get_4xx)
{
    char token[128];
    snprintf(token, sizeof(token), "%s/token", ag.dir);
    agent_write(token, "s3cret\n");
    write_config(false, token);
    agent_start(&ag);
    struct buf b;
    buf_init(&b, 0);
    payload(&b, "ReplicationLagCritical", "firing", "bb01", NULL);
    /* no token, wrong token: 401 */
    struct resp r;
    ck_assert_int_eq(post("/webhook", b.data, NULL, &r), 401);
    assert_error(&r, 401);
    buf_free(&r.body);
    ck_assert_int_eq(post("/webhook", b.data, "s3cre", &r), 401);
    buf_free(&r.body);
    ck_assert_int_eq(post("/webhook", b.data, "s3cretX", &r), 401);
    buf_free(&r.body);
    ck_assert_int_eq(post("/webhook", b.data, "s3cret", &r), 200);
    buf_free(&r.body);
    /* the pause endpoint needs the token too */
    ck_assert_int_eq(call(ag.base, "POST", "/api/v1/pause", ""), 401);
    ck_assert_int_eq(post("/api/v1/pause", "", "s3cret", &r), 200);
    buf_free(&r.body);
    ck_assert_int_eq(post("/api/v1/resume", "", "s3cret", &r), 200);
    buf_free(&r.body);
    buf_free(&b);
    ck_assert_int_eq(agent_stop(&ag), 0);

    /* without a token: loopback may post */
    write_config(false, NULL);
    agent_start(&ag);
    static const char *const bad[] = {
        "not json",
        "{\"version\":\"3\",\"status\":\"firing\",\"alerts\":[]}",
        "{\"version\":\"4\",\"status\":\"firing\"}",
        "[1,2,3]",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        ck_assert_int_eq(post("/webhook", bad[i], NULL, &r), 400);
        assert_error(&r, 400);
        buf_free(&r.body);
    }
    /* over 1 MiB: 413 */
    struct buf big;
    buf_init(&big, 0);
    for (int i = 0; i < (1 << 20) / 8 + 8; i++)
        buf_puts(&big, "zzzzzzzz");
    ck_assert_int_eq(post("/webhook", big.data, NULL, &r), 413);
    assert_error(&r, 413);
    buf_free(&r.body);
    buf_free(&big);
    /* GET on a POST endpoint: 405 */
    ck_assert_int_eq(call(ag.base, "GET", "/webhook", NULL), 405);
    assert_wait(ag.base, "replguard_webhook_requests_total", "code=\"400\"", EQ,
                4);
    assert_wait(ag.base, "replguard_webhook_requests_total", "code=\"413\"", EQ,
                1);
}
END_TEST

START_TEST(pause_survives_restart)
{
    write_config(false, NULL);
    agent_start(&ag);
    ck_assert_int_eq(call(ag.base, "POST", "/api/v1/pause", ""), 200);
    assert_wait(ag.base, "replguard_remediation_paused", NULL, EQ, 1);
    ck_assert_int_eq(agent_stop(&ag), 0);
    agent_start(&ag);
    assert_wait(ag.base, "replguard_remediation_paused", NULL, EQ, 1);
    ck_assert_int_eq(
        agent_alert(&ag, "ReplicationLagCritical", "firing", "cc01", NODE2),
        200);
    agent_wait_audit(&ag, "skipped", "reason", "paused", 1, WAIT_S);
    ck_assert_double_eq(admin("node1", "sync"), 0);
    /* resumed, Alertmanager's repeat of the alert acts */
    ck_assert_int_eq(call(ag.base, "POST", "/api/v1/resume", ""), 200);
    assert_wait(ag.base, "replguard_remediation_paused", NULL, EQ, 0);
    ck_assert_int_eq(
        agent_alert(&ag, "ReplicationLagCritical", "firing", "cc01", NODE2),
        200);
    assert_wait(node_url("node1"), "stemedb_admin_requests_total",
                "endpoint=\"sync\"", EQ, 1);
}
END_TEST

static int lines_in(const char *path)
{
    FILE *f = fopen(path, "r");
    int n = 0, c;
    while (f && (c = fgetc(f)) != EOF)
        n += c == '\n';
    if (f)
        fclose(f);
    return n;
}

START_TEST(kill_9_mid_action_runs_nothing_twice)
{
    write_config(false, NULL);
    agent_start(&ag);
    char marker[128], labels[192];
    snprintf(marker, sizeof(marker), "%s/ran", ag.dir);
    snprintf(labels, sizeof(labels), NODE2 ",\"marker\":\"%s\"", marker);
    ck_assert_int_eq(agent_alert(&ag, "SlowExec", "firing", "dd01", labels),
                     200);
    /* the command started (journaled before it ran) and is mid-way */
    double deadline = now_s() + WAIT_S;
    while (lines_in(marker) < 1 && now_s() < deadline)
        sleep_ms(20);
    ck_assert_int_eq(lines_in(marker), 1);
    agent_kill(&ag);
    /* after the restart: recorded as interrupted, not run again, and the
     * same alert re-sent is a duplicate */
    agent_start(&ag);
    agent_wait_audit(&ag, "interrupted", NULL, NULL, 1, WAIT_S);
    /* with the job's runbook and alert, from the journal */
    ck_assert_int_eq(
        agent_audit_count(&ag, "interrupted", "runbook", "slow-exec"), 1);
    ck_assert_int_eq(
        agent_audit_count(&ag, "interrupted", "fingerprint", "dd01"), 1);
    ck_assert_int_eq(agent_alert(&ag, "SlowExec", "firing", "dd01", labels),
                     200);
    agent_wait_audit(&ag, "skipped", "reason", "duplicate", 1, WAIT_S);
    sleep_ms(300);
    ck_assert_int_eq(lines_in(marker), 1);
}
END_TEST

START_TEST(throttle_then_gradual_restore)
{
    write_config(false, NULL);
    agent_start(&ag);
    sleep_ms(1500); /* a few rounds of the primary's write rate */
    ck_assert_int_eq(
        agent_alert(&ag, "PrimaryOverload", "firing", "ee01", NODE2), 200);
    /* half the ingest rate (1000/s by default) */
    assert_wait(node_url("node1"), "stemedb_admin_requests_total",
                "endpoint=\"rate-limit\"", EQ, 1);
    double limit = metric(node_url("node1"),
                          "stemedb_rate_limit_assertions_per_second", NULL);
    ck_assert_msg(limit >= 400 && limit <= 600, "limit %g", limit);
    assert_wait(ag.base, "replguard_throttle_active", "cluster=\"c1\"", EQ, 1);
    /* resolved: one step a second up restore_steps from the limit, then
     * no limit */
    ck_assert_int_eq(
        agent_alert(&ag, "PrimaryOverload", "resolved", "ee01", NODE2), 200);
    assert_wait(node_url("node1"), "stemedb_rate_limit_assertions_per_second",
                NULL, EQ, 600);
    assert_wait(node_url("node1"), "stemedb_rate_limit_assertions_per_second",
                NULL, EQ, 800);
    assert_wait(node_url("node1"), "stemedb_rate_limit_assertions_per_second",
                NULL, EQ, 0);
    ck_assert_double_eq(admin("node1", "rate-limit"), 4);
    assert_wait(ag.base, "replguard_throttle_active", "cluster=\"c1\"", EQ, 0);
}
END_TEST

START_TEST(escalation_blocks_until_ack)
{
    write_config(false, NULL);
    agent_start(&ag);
    ck_assert_int_eq(agent_alert(&ag, "Runaway", "firing", "ff01", NODE2), 200);
    assert_wait(ag.base, "replguard_escalations_total",
                "cluster=\"c1\",runbook=\"runaway\"", EQ, 1);
    /* escalated instead of acting, and the cluster is latched */
    ck_assert_int_eq(
        agent_alert(&ag, "ReplicationLagCritical", "firing", "ff02", NODE2),
        200);
    agent_wait_audit(&ag, "skipped", "reason", "blocked", 1, WAIT_S);
    ck_assert_double_eq(admin("node1", "sync"), 0);
    /* an operator acks: the next alert acts */
    ck_assert_int_eq(call(ag.base, "POST", "/api/v1/ack/c1", ""), 200);
    sleep_ms(300);
    ck_assert_int_eq(
        agent_alert(&ag, "ReplicationLagCritical", "firing", "ff03", NODE2),
        200);
    assert_wait(node_url("node1"), "stemedb_admin_requests_total",
                "endpoint=\"sync\"", EQ, 1);
}
END_TEST

START_TEST(verify_escalates_when_lag_does_not_fall)
{
    write_config(false, NULL);
    agent_start(&ag);
    /* node2 stops applying: its lag only grows */
    ck_assert_int_eq(call(node_url("node1"), "POST", "/v1/sim/fault",
                          "{\"node\":\"node2\",\"kind\":\"stall\"}"),
                     200);
    sleep_ms(600);
    ck_assert_int_eq(agent_alert(&ag, "Checked", "firing", "ab01", NODE2), 200);
    agent_wait_audit(&ag, "verify_failed", "runbook", "checked", 1, WAIT_S);
    assert_wait(ag.base, "replguard_escalations_total",
                "cluster=\"c1\",runbook=\"checked\"", EQ, 1);
    /* the audit line has the lag before and after */
    char path[128], line[8192];
    snprintf(path, sizeof(path), "%s/audit.jsonl", ag.dir);
    FILE *f = fopen(path, "r");
    bool seen = false;
    while (f && fgets(line, sizeof(line), f)) {
        if (!strstr(line, "\"event\":\"verify_failed\""))
            continue;
        cJSON *o = cJSON_Parse(line);
        double before = cJSON_GetObjectItem(o, "lag_before")->valuedouble;
        double after = cJSON_GetObjectItem(o, "lag_after")->valuedouble;
        ck_assert_msg(after > before, "lag %g -> %g", before, after);
        cJSON_Delete(o);
        seen = true;
    }
    if (f)
        fclose(f);
    ck_assert(seen);
}
END_TEST

/* add_rules: appends runbooks to the rules file (a SIGHUP loads them). */
static void add_rules(const char *more)
{
    char rules[128];
    snprintf(rules, sizeof(rules), "%s/rules.yml", ag.dir);
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b, "%s---\n%s", RULES, more);
    agent_write(rules, b.data);
    buf_free(&b);
}

START_TEST(sighup_loads_new_runbooks_and_http_templates)
{
    write_config(false, NULL);
    agent_start(&ag);
    /* an http step: the URL and body are templates */
    struct buf more;
    buf_init(&more, 0);
    buf_printf(
        &more,
        "runbook: via-http\n"
        "match: {alertname: ViaHttp}\n"
        "target_label: replica\n"
        "steps:\n"
        "  - action: http\n"
        "    method: POST\n"
        "    url: \"%s/v1/admin/cluster/sync\"\n"
        "    body: '{\"replica_id\": \"{{target}}\", \"force\": true}'\n",
        node_url("node1"));
    add_rules(more.data);
    buf_free(&more);
    kill(ag.pid, SIGHUP);
    sleep_ms(500);
    ck_assert_int_eq(agent_alert(&ag, "ViaHttp", "firing", "ac01", NODE2), 200);
    assert_wait(node_url("node1"), "stemedb_admin_requests_total",
                "endpoint=\"sync\"", EQ, 1);
    agent_wait_audit(&ag, "action", "action", "http", 1, WAIT_S);
}
END_TEST

/* An alert that arrives after a reload and before the next round is
 * planned against the reloaded config's nodes. (The engine once kept the
 * old view's counts over the new, zeroed view arrays until the next round
 * ended: the planner compared NULL names and replguard crashed.) node3
 * hangs, so each round lasts the whole 1.5 s poll timeout. */
START_TEST(alert_right_after_reload)
{
    poll_ms = 2000;
    write_config(false, NULL);
    agent_start(&ag);
    ck_assert_int_eq(call(node_url("node1"), "POST", "/v1/sim/fault",
                          "{\"node\":\"node3\",\"kind\":\"hang\"}"),
                     200);
    kill(ag.pid, SIGHUP);
    double deadline = now_s() + WAIT_S;
    while (!agent_log_has(&ag, "config reloaded") && now_s() < deadline)
        sleep_ms(5);
    ck_assert(agent_log_has(&ag, "config reloaded"));
    ck_assert_int_eq(
        agent_alert(&ag, "ReplicationLagCritical", "firing", "ab0e", NODE2),
        200);
    agent_wait_audit(&ag, "action", "action", "force_sync", 1, WAIT_S);
    ck_assert_int_eq(call(ag.base, "GET", "/-/healthy", NULL), 200);
    ck_assert_int_eq(call(node_url("node1"), "DELETE", "/v1/sim/fault", NULL),
                     200);
}
END_TEST

START_TEST(demote_but_never_the_last_healthy_replica)
{
    write_config(false, NULL);
    add_rules("runbook: out\n"
              "match: {alertname: TakeOut}\n"
              "target_label: replica\n"
              "steps:\n"
              "  - action: demote\n"
              "cooldown: 1s\n");
    agent_start(&ag);
    ck_assert_int_eq(call(ag.base, "GET", "/health/replica/c1/node2", NULL),
                     200);
    /* node3 is healthy: node2 may go */
    ck_assert_int_eq(agent_alert(&ag, "TakeOut", "firing", "ad01", NODE2), 200);
    assert_wait(node_url("node1"), "stemedb_admin_requests_total",
                "endpoint=\"demote\"", EQ, 1);
    /* out of read rotation within a poll */
    double deadline = now_s() + WAIT_S;
    while (call(ag.base, "GET", "/health/replica/c1/node2", NULL) != 503 &&
           now_s() < deadline)
        sleep_ms(20);
    ck_assert_int_eq(call(ag.base, "GET", "/health/replica/c1/node2", NULL),
                     503);
    /* node3 is now the last healthy replica: refused */
    sleep_ms(1100); /* past the cooldown */
    ck_assert_int_eq(
        agent_alert(&ag, "TakeOut", "firing", "ad02", "\"replica\":\"node3\""),
        200);
    agent_wait_audit(
        &ag, "refused", "reason",
        "last_healthy: node3 is the last healthy replica (counting "
        "demotes running or done since the last poll)",
        1, WAIT_S);
    assert_wait(ag.base, "replguard_remediation_skipped_total",
                "cluster=\"c1\",runbook=\"out\",reason=\"last_healthy\"", EQ,
                1);
    ck_assert_double_eq(admin("node1", "demote"), 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("remediation");
    TCase *tc = tcase_create("integration");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, alert_makes_exactly_the_expected_calls);
    tcase_add_test(tc, dry_run_touches_no_node);
    tcase_add_test(tc, bad_requests_get_4xx);
    tcase_add_test(tc, pause_survives_restart);
    tcase_add_test(tc, kill_9_mid_action_runs_nothing_twice);
    tcase_add_test(tc, throttle_then_gradual_restore);
    tcase_add_test(tc, escalation_blocks_until_ack);
    tcase_add_test(tc, verify_escalates_when_lag_does_not_fall);
    tcase_add_test(tc, sighup_loads_new_runbooks_and_http_templates);
    tcase_add_test(tc, demote_but_never_the_last_healthy_replica);
    tcase_add_test(tc, alert_right_after_reload);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
