/* test_guard.c: "never the wrong action" (issue 12).
 *
 * Tables for the pure checks of guard.c (the role each action may
 * target, the demotes counted in flight, implausible values), then
 * replguard against replguard-simnode: demote alerts racing for the last
 * healthy replica (one notification, and several a few milliseconds
 * apart), replica actions aimed at the primary (the shipped replica-down
 * runbook, force_sync), dry run refusing as live does, nodes that lie
 * (simnode's lie fault), and a SIGTERM while an exec action runs.
 *
 * What reached the nodes is read from simnode's own counters
 * (stemedb_admin_requests_total{endpoint}); what replguard decided, from
 * its audit log and metrics. Waits poll with deadlines. */
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_harness.h"
#include "act/guard.h"
#include "simnode_harness.h"
#include "test_support.h"
#include "lib/util.h"

#define DEADLINE (20.0 * wait_scale())

/* --- tables: guard.c ------------------------------------------------------ */

START_TEST(role_table)
{
    static const struct {
        enum runbook_action a;
        bool known, is_primary, ok;
    } cases[] = {
        {RUNBOOK_ACT_DEMOTE, true, false, true},
        {RUNBOOK_ACT_DEMOTE, true, true, false},
        {RUNBOOK_ACT_DEMOTE, false, false, false},
        {RUNBOOK_ACT_FORCE_SYNC, true, false, true},
        {RUNBOOK_ACT_FORCE_SYNC, true, true, false},
        /* promote may name the primary (an alert on it): the failover
         * machine then picks the candidate */
        {RUNBOOK_ACT_PROMOTE, true, true, true},
        {RUNBOOK_ACT_PROMOTE, true, false, true},
        /* breakers on the primary block the replication stream: a reset
         * there is a fix, not a mistake */
        {RUNBOOK_ACT_RESET_CIRCUIT_BREAKERS, true, true, true},
        {RUNBOOK_ACT_RESET_CIRCUIT_BREAKERS, true, false, true},
        /* throttles act on the cluster's primary, whatever the alert
         * names */
        {RUNBOOK_ACT_THROTTLE, true, false, true},
        {RUNBOOK_ACT_THROTTLE, false, false, true},
        {RUNBOOK_ACT_RESTORE_THROTTLE, true, true, true},
        {RUNBOOK_ACT_ESCALATE, false, false, true},
        {RUNBOOK_ACT_HTTP, true, true, true},
        {RUNBOOK_ACT_EXEC, true, true, true},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        ck_assert_msg(guard_role_ok(cases[i].a, cases[i].known,
                                    cases[i].is_primary) == cases[i].ok,
                      "case %zu (%s)", i, runbook_action_name(cases[i].a));
    ck_assert_int_eq(guard_action_target(RUNBOOK_ACT_THROTTLE),
                     GUARD_TARGET_CLUSTER);
    ck_assert_int_eq(guard_action_target(RUNBOOK_ACT_DEMOTE),
                     GUARD_TARGET_REPLICA);
}
END_TEST

START_TEST(demotes_table)
{
    struct guard_demotes d = {0};
    ck_assert(!guard_demotes_has(&d, "c1", "node2"));
    guard_demotes_start(&d, "c1", "node2");
    guard_demotes_start(&d, "c2", "node2");
    ck_assert(guard_demotes_has(&d, "c1", "node2"));
    ck_assert(!guard_demotes_has(&d, "c1", "node3"));
    /* in flight: no number of rounds drops it */
    guard_demotes_expire(&d, 1000);
    ck_assert(guard_demotes_has(&d, "c1", "node2"));
    /* done when 7 rounds were in: round 8 may have started before the
     * answer; round 9 shows the node */
    guard_demotes_done(&d, "c1", "node2", 7);
    guard_demotes_expire(&d, 7);
    guard_demotes_expire(&d, 8);
    ck_assert(guard_demotes_has(&d, "c1", "node2"));
    guard_demotes_expire(&d, 9);
    ck_assert(!guard_demotes_has(&d, "c1", "node2"));
    ck_assert(guard_demotes_has(&d, "c2", "node2"));
    /* started again: in flight again */
    guard_demotes_done(&d, "c2", "node2", 3);
    guard_demotes_start(&d, "c2", "node2");
    guard_demotes_expire(&d, 100);
    ck_assert(guard_demotes_has(&d, "c2", "node2"));
    guard_demotes_reset(&d);
    ck_assert_uint_eq(d.n, 0);
}
END_TEST

START_TEST(implausible_table)
{
    static const struct {
        double applied, sent;
        bool ahead;
    } hb[] = {
        {1000.0, 1000.0, false},    {999.5, 1000.0, false},
        {1000.0005, 1000.0, false}, /* printed with fewer decimals */
        {1000.01, 1000.0, true},    {4600.0, 1000.0, true},
        {4600.0, 0, false}, /* nothing sent yet: nothing to judge */
        {0, 1000.0, false},
    };
    for (size_t i = 0; i < ARRAY_LEN(hb); i++)
        ck_assert_msg(guard_heartbeat_ahead(hb[i].applied, hb[i].sent) ==
                          hb[i].ahead,
                      "heartbeat case %zu", i);
    static const struct {
        uint64_t replica, primary, slack;
        bool ahead;
    } pos[] = {
        {100, 100, 1, false},      {50, 100, 1, false},
        {101, 100, 1, false},      {102, 100, 1, true},
        {400, 100, 301, false},    {402, 100, 301, true},
        {1000100, 100, 301, true},
    };
    for (size_t i = 0; i < ARRAY_LEN(pos); i++)
        ck_assert_msg(guard_position_ahead(pos[i].replica, pos[i].primary,
                                           pos[i].slack) == pos[i].ahead,
                      "position case %zu", i);
    ck_assert_uint_eq(guard_position_slack(-1, 1), 1);
    ck_assert_uint_eq(guard_position_slack(0, 1), 1);
    ck_assert_uint_eq(guard_position_slack(1000, 0.3), 301);
    ck_assert_uint_eq(guard_position_slack(999.5, 0.2), 201);
    ck_assert_str_eq(guard_implausible_name(GUARD_HEARTBEAT_AHEAD),
                     "heartbeat_ahead");
    ck_assert_str_eq(guard_implausible_name(GUARD_POSITION_AHEAD),
                     "position_ahead");
}
END_TEST

/* --- replguard against simnode -------------------------------------------- */

static struct simnode sn;
static struct agent ag;

static const char RULES[] =
    "runbook: take-out\n"
    "match: {alertname: ReplicaBad}\n"
    "target_label: replica\n"
    "steps:\n"
    "  - action: demote\n"
    "cooldown: 1s\n"
    "max_actions_per_hour: 100\n"
    "---\n"
    "runbook: resync\n"
    "match: {alertname: Resync}\n"
    "target_label: replica\n"
    "steps:\n"
    "  - action: force_sync\n"
    "max_actions_per_hour: 100\n"
    "---\n"
    "runbook: promote\n"
    "match: {alertname: PromoteMe}\n"
    "target_label: replica\n"
    "steps:\n"
    "  - action: promote\n"
    "---\n"
    "runbook: slow\n"
    "match: {alertname: Slow}\n"
    "target_label: replica\n"
    "steps:\n"
    "  - action: exec\n"
    "    argv: [\"/bin/sh\", \"-c\", \"echo start >> {{label.marker}}; "
    "sleep {{label.secs}}; echo end >> {{label.marker}}\"]\n"
    "    timeout: 60s\n";

/* write_config: rules NULL: the shipped rules/; source: lag_source. */
static void write_config(const char *rules, bool dry_run, const char *source)
{
    char path[160];
    const char *top = getenv("top_srcdir");
    if (rules) {
        snprintf(path, sizeof(path), "%s/rules.yml", ag.dir);
        agent_write(path, rules);
    } else {
        snprintf(path, sizeof(path), "%s/rules", top ? top : ".");
    }
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b,
               "listen: \"127.0.0.1:0\"\n"
               "dry_run: %s\n"
               "state_dir: %s/state\n"
               "audit_log: %s\n"
               "rules: %s\n"
               "poll: {interval: 300ms, timeout: 150ms}\n"
               "clusters:\n"
               "  - name: c1\n"
               "    lag_source: %s\n"
               "    thresholds: {warning: 2s, critical: 4s, escalate: 60s, "
               "read_max_lag: 1s}\n"
               "    nodes:\n",
               dry_run ? "true" : "false", ag.dir, ag.audit, path, source);
    simnode_yaml_nodes(&sn, &b);
    agent_write(ag.cfg, b.data);
    buf_free(&b);
}

static void setup(void)
{
    agent_setup(&ag, &sn, SIMNODE_FOUR_NODES);
}

static void teardown(void)
{
    agent_teardown(&ag, &sn);
}

static const char *const replicas[] = {"node2", "node3", "node4"};

static void wait_all_healthy(void)
{
    for (size_t i = 0; i < ARRAY_LEN(replicas); i++) {
        char l[128];
        snprintf(l, sizeof(l),
                 "cluster=\"c1\",replica=\"%s\",health=\"healthy\"",
                 replicas[i]);
        assert_wait_for(ag.base, "replguard_replica_health", l, EQ, 1,
                        DEADLINE);
    }
}

/* notification: an Alertmanager webhook body (version 4) carrying one
 * firing alert per target, alertname name, fingerprints fp0, fp0+1.. */
static void notification(struct buf *b, const char *name,
                         const char *const *targets, size_t n, unsigned fp0,
                         const char *extra)
{
    buf_puts(b, "{\"receiver\":\"replguard\",\"status\":\"firing\","
                "\"alerts\":[");
    for (size_t i = 0; i < n; i++)
        buf_printf(b,
                   "%s{\"status\":\"firing\",\"labels\":{\"alertname\":"
                   "\"%s\",\"cluster\":\"c1\",\"replica\":\"%s\"%s},"
                   "\"annotations\":{},"
                   "\"startsAt\":\"2026-11-22T00:00:00Z\","
                   "\"endsAt\":\"0001-01-01T00:00:00Z\",\"generatorURL\":\"\","
                   "\"fingerprint\":\"%x\"}",
                   i ? "," : "", name, targets[i], extra ? extra : "",
                   fp0 + (unsigned)i);
    buf_puts(b, "],\"groupLabels\":{},\"commonLabels\":{},"
                "\"commonAnnotations\":{},\"externalURL\":\"http://am\","
                "\"version\":\"4\",\"groupKey\":\"{}:{}\","
                "\"truncatedAlerts\":0}");
}

static void post(const char *body)
{
    long st = agent_webhook(&ag, body);
    ck_assert_msg(st == 200, "webhook: HTTP %ld", st);
}

/* admin: simnode's own count of admin calls to endpoint on node. */
static double admin(const char *node, const char *endpoint)
{
    double v = admin_requests(simnode_url(&sn, node), endpoint);
    return isnan(v) ? 0 : v;
}

/* demoted_nodes: replicas simnode reports as demoted. */
static int demoted_nodes(void)
{
    int n = 0;
    for (size_t i = 0; i < ARRAY_LEN(replicas); i++)
        n += metric(simnode_url(&sn, replicas[i]), "stemedb_node_role",
                    "role=\"demoted\"") == 1;
    return n;
}

/* settle_demotes: two demotes done, one refused as the last healthy
 * replica, and one replica left serving reads. */
static void settle_demotes(void)
{
    wait_audit_prefix(ag.audit, "refused", "reason", "last_healthy", 1,
                      DEADLINE);
    wait_audit_prefix(ag.audit, "action", "action", "demote", 2, DEADLINE);
    assert_wait_for(simnode_url(&sn, "node1"), "stemedb_admin_requests_total",
                    "endpoint=\"demote\"", EQ, 2, DEADLINE);
    assert_wait_for(ag.base, "replguard_remediation_skipped_total",
                    "cluster=\"c1\",runbook=\"take-out\","
                    "reason=\"last_healthy\"",
                    EQ, 1, DEADLINE);
    /* a few more rounds: nothing else happens, one replica serves */
    sleep_ms(1000);
    ck_assert_double_eq(admin("node1", "demote"), 2);
    ck_assert_int_eq(demoted_nodes(), 2);
    ck_assert_int_eq(
        audit_count_prefix(ag.audit, "refused", "reason", "last_healthy"), 1);
    int in_rotation = 0;
    for (size_t i = 0; i < ARRAY_LEN(replicas); i++) {
        char l[96];
        snprintf(l, sizeof(l), "cluster=\"c1\",replica=\"%s\"", replicas[i]);
        in_rotation +=
            metric(ag.base, "replguard_replica_in_read_rotation", l) == 1;
    }
    ck_assert_int_eq(in_rotation, 1);
}

/* Three demote alerts, one per replica, in one notification: the guard
 * counts the demote it just started. */
START_TEST(demotes_in_one_notification_leave_a_replica)
{
    write_config(RULES, false, "heartbeat");
    agent_start(&ag);
    wait_all_healthy();
    struct buf b;
    buf_init(&b, 0);
    notification(&b, "ReplicaBad", replicas, ARRAY_LEN(replicas), 0xa100, NULL);
    post(b.data);
    buf_free(&b);
    settle_demotes();
}
END_TEST

/* The same in three notifications a few milliseconds apart: the guard
 * counts demotes done that no poll has shown yet. */
START_TEST(demotes_in_quick_notifications_leave_a_replica)
{
    write_config(RULES, false, "heartbeat");
    agent_start(&ag);
    wait_all_healthy();
    for (size_t i = 0; i < ARRAY_LEN(replicas); i++) {
        struct buf b;
        buf_init(&b, 0);
        notification(&b, "ReplicaBad", &replicas[i], 1, 0xa200 + (unsigned)i,
                     NULL);
        post(b.data);
        buf_free(&b);
        sleep_ms(30);
    }
    settle_demotes();
}
END_TEST

/* The shipped replica-down runbook given ReplicaDisconnected labelled
 * with the primary (a primary reports no replication stream: "not
 * connected"): breakers may be reset on any node, the demote is refused
 * before any node call; force_sync of the primary likewise. */
START_TEST(replica_actions_never_reach_the_primary)
{
    write_config(NULL, false, "heartbeat");
    agent_start(&ag);
    wait_all_healthy();
    const char *primary[] = {"node1"};
    struct buf b;
    buf_init(&b, 0);
    notification(&b, "ReplicaDisconnected", primary, 1, 0xb100, NULL);
    post(b.data);
    wait_audit_prefix(ag.audit, "refused", "reason", "wrong_role", 1, DEADLINE);
    agent_wait_audit(&ag, "refused", "action", "demote", 1, DEADLINE);
    assert_wait_for(ag.base, "replguard_remediation_skipped_total",
                    "cluster=\"c1\",runbook=\"replica-down\","
                    "reason=\"wrong_role\"",
                    EQ, 1, DEADLINE);
    agent_wait_audit(&ag, "action", "action", "reset_circuit_breakers", 1,
                     DEADLINE);
    buf_free(&b);
    agent_stop(&ag);
    /* force_sync (its own runbook) aimed at the primary */
    write_config(RULES, false, "heartbeat");
    agent_start(&ag);
    buf_init(&b, 0);
    notification(&b, "Resync", primary, 1, 0xb200, NULL);
    post(b.data);
    buf_free(&b);
    wait_audit_prefix(ag.audit, "refused", "reason", "wrong_role", 2, DEADLINE);
    sleep_ms(600); /* two rounds: a call, had one gone, would show */
    ck_assert_double_eq(admin("node1", "demote"), 0);
    ck_assert_double_eq(admin("node1", "sync"), 0);
    ck_assert_int_eq(audit_count_prefix(ag.audit, "action", "action", "demote"),
                     0);
    ck_assert_int_eq(
        audit_count_prefix(ag.audit, "action", "action", "force_sync"), 0);
    /* a replica is still a fine target */
    buf_init(&b, 0);
    notification(&b, "Resync", &replicas[0], 1, 0xb300, NULL);
    post(b.data);
    buf_free(&b);
    agent_wait_audit(&ag, "action", "action", "force_sync", 1, DEADLINE);
    assert_wait_for(simnode_url(&sn, "node1"), "stemedb_admin_requests_total",
                    "endpoint=\"sync\"", EQ, 1, DEADLINE);
}
END_TEST

/* Dry run takes the live path up to the node call: promote (the
 * failover machine's now) is recorded as a dry run and calls nothing, a
 * demote of the primary is refused, and of both demotes that would take
 * the last two replicas one is a dry_run outcome, the other refused. */
START_TEST(dry_run_refuses_as_live_does)
{
    write_config(RULES, true, "heartbeat");
    agent_start(&ag);
    wait_all_healthy();
    struct buf b;
    buf_init(&b, 0);
    notification(&b, "PromoteMe", &replicas[0], 1, 0xc100, NULL);
    post(b.data);
    buf_reset(&b);
    const char *primary[] = {"node1"};
    notification(&b, "ReplicaBad", primary, 1, 0xc200, NULL);
    post(b.data);
    buf_reset(&b);
    notification(&b, "ReplicaBad", replicas, ARRAY_LEN(replicas), 0xc300, NULL);
    post(b.data);
    buf_free(&b);
    wait_audit_prefix(ag.audit, "refused", "reason", "wrong_role", 1, DEADLINE);
    wait_audit_prefix(ag.audit, "refused", "reason", "last_healthy", 1,
                      DEADLINE);
    agent_wait_audit(&ag, "action", "dry_run", "true", 3, DEADLINE);
    ck_assert_int_eq(
        audit_count_prefix(ag.audit, "action", "action", "promote"), 1);
    ck_assert_int_eq(agent_audit_count(&ag, "refused", "dry_run", "true"), 2);
    ck_assert_double_eq(admin("node1", "demote"), 0);
    ck_assert_double_eq(admin("node2", "promote"), 0);
}
END_TEST

/* --- lying nodes ---------------------------------------------------------- */

static const struct {
    const char *source, *what, *node, *why;
} lies[] = {
    {"heartbeat", "heartbeat_ahead", "node2", "implausible heartbeat"},
    {"position", "position_ahead", "node3", "implausible position"},
};

static void expect_health(const char *node, long status, const char *reason)
{
    char why[128];
    double deadline = now_s() + DEADLINE;
    long st;
    while (((st = agent_replica_health(&ag, "c1", node, why, sizeof(why))) !=
                status ||
            (reason && strcmp(why, reason) != 0)) &&
           now_s() < deadline)
        sleep_ms(20);
    ck_assert_msg(st == status && (!reason || strcmp(why, reason) == 0),
                  "%s: %ld (%s), want %ld (%s)", node, st, why, status,
                  reason ? reason : "-");
}

static int log_count(const char *text, const char *node)
{
    FILE *f = fopen(ag.log, "r");
    char line[4096];
    int n = 0;
    while (f && fgets(line, sizeof(line), f))
        n += strstr(line, text) && strstr(line, node);
    if (f)
        fclose(f);
    return n;
}

/* A replica that reports a heartbeat newer than any replguard sent, or a
 * position past its primary's, reads as lag 0 to the arithmetic; it must
 * be lag unknown instead, out of rotation, counted, logged once; and
 * back once it tells the truth again. */
START_TEST(lying_replica_leaves_rotation)
{
    int i = _i;
    write_config(RULES, false, lies[i].source);
    agent_start(&ag);
    wait_all_healthy();
    expect_health(lies[i].node, 200, NULL);
    char body[160], l[160];
    snprintf(body, sizeof(body),
             "{\"node\":\"%s\",\"kind\":\"lie\","
             "\"what\":\"%s\"}",
             lies[i].node, lies[i].what);
    ck_assert_int_eq(
        call(simnode_url(&sn, "node1"), "POST", "/v1/sim/fault", body), 200);
    expect_health(lies[i].node, 503, lies[i].why);
    snprintf(l, sizeof(l), "cluster=\"c1\",node=\"%s\",kind=\"%s\"",
             lies[i].node, lies[i].what);
    assert_wait_for(ag.base, "replguard_implausible_values_total", l, GT, 3,
                    DEADLINE);
    snprintf(l, sizeof(l), "cluster=\"c1\",replica=\"%s\",health=\"unknown\"",
             lies[i].node);
    ck_assert_double_eq(metric(ag.base, "replguard_replica_health", l), 1);
    snprintf(l, sizeof(l), "cluster=\"c1\",replica=\"%s\"", lies[i].node);
    ck_assert(isnan(metric(ag.base, "replguard_replica_lag_seconds", l)));
    ck_assert_int_eq(log_count("implausible node value", lies[i].node), 1);
    /* the other replicas are untouched */
    for (size_t k = 0; k < ARRAY_LEN(replicas); k++)
        if (strcmp(replicas[k], lies[i].node) != 0)
            expect_health(replicas[k], 200, NULL);
    ck_assert_int_eq(
        call(simnode_url(&sn, "node4"), "DELETE", "/v1/sim/fault", NULL), 200);
    expect_health(lies[i].node, 200, NULL);
    ck_assert_int_eq(log_count("node values plausible again", lies[i].node), 1);
}
END_TEST

/* --- SIGTERM while an exec action runs ------------------------------------ */

/* start_slow: the Slow runbook's exec (sleeping secs) runs. */
static void start_slow(const char *marker, const char *secs, unsigned fp)
{
    char extra[256];
    snprintf(extra, sizeof(extra), ",\"marker\":\"%s\",\"secs\":\"%s\"", marker,
             secs);
    struct buf b;
    buf_init(&b, 0);
    notification(&b, "Slow", &replicas[0], 1, fp, extra);
    post(b.data);
    buf_free(&b);
    double deadline = now_s() + DEADLINE;
    while (file_count(marker, "start") < 1 && now_s() < deadline)
        sleep_ms(20);
    ck_assert_int_eq(file_count(marker, "start"), 1);
}

/* An action that finishes within the grace is let finish: exit 0, the
 * command's last line written, its success recorded. */
START_TEST(sigterm_lets_a_short_action_finish)
{
    write_config(RULES, false, "heartbeat");
    agent_start(&ag);
    char marker[128];
    snprintf(marker, sizeof(marker), "%s/ran", ag.dir);
    start_slow(marker, "2", 0xd100);
    double t0 = now_s();
    int st = agent_stop(&ag);
    fprintf(stderr, "SIGTERM with a 2 s exec running: exited after %.2f s\n",
            now_s() - t0);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
    ck_assert_int_eq(file_count(marker, "end"), 1);
    ck_assert_int_eq(agent_audit_count(&ag, "action", "reason", "exit 0"), 1);
    ck_assert_int_eq(agent_audit_count(&ag, "interrupted", NULL, NULL), 0);
}
END_TEST

/* One that outlives the grace is killed, journaled and audited as
 * interrupted with its runbook and fingerprint, within SPEC's 10 s (the
 * harness sends SIGKILL at 10 s: exit 0 means it stopped before); a
 * restart does not run it again nor report it twice. */
START_TEST(sigterm_interrupts_a_long_action_in_time)
{
    write_config(RULES, false, "heartbeat");
    agent_start(&ag);
    char marker[128];
    snprintf(marker, sizeof(marker), "%s/ran", ag.dir);
    start_slow(marker, "60", 0xd200);
    double t0 = now_s();
    int st = agent_stop(&ag);
    double took = now_s() - t0;
    fprintf(stderr, "SIGTERM with an exec running: exited after %.2f s\n",
            took);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
    ck_assert_msg(took >= 7.0, "stopped after %.1f s: no grace", took);
    ck_assert_int_eq(file_count(marker, "end"), 0);
    ck_assert_int_eq(agent_audit_count(&ag, "interrupted", "runbook", "slow"),
                     1);
    ck_assert_int_eq(
        agent_audit_count(&ag, "interrupted", "fingerprint", "d200"), 1);
    agent_start(&ag);
    sleep_ms(1000);
    ck_assert_int_eq(file_count(marker, "start"), 1);
    ck_assert_int_eq(agent_audit_count(&ag, "interrupted", NULL, NULL), 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("guard");
    TCase *tables = tcase_create("tables");
    tcase_add_test(tables, role_table);
    tcase_add_test(tables, demotes_table);
    tcase_add_test(tables, implausible_table);
    suite_add_tcase(s, tables);
    TCase *tc = tcase_create("agent");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, demotes_in_one_notification_leave_a_replica);
    tcase_add_test(tc, demotes_in_quick_notifications_leave_a_replica);
    tcase_add_test(tc, replica_actions_never_reach_the_primary);
    tcase_add_test(tc, dry_run_refuses_as_live_does);
    tcase_add_loop_test(tc, lying_replica_leaves_rotation, 0,
                        (int)ARRAY_LEN(lies));
    tcase_add_test(tc, sigterm_lets_a_short_action_finish);
    tcase_add_test(tc, sigterm_interrupts_a_long_action_in_time);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
