/* test_lifecycle.c: the life of a remediation job against a running
 * replguard and replguard-simnode: reloads while jobs live, resolves that
 * come early or while a step is in flight, restarts after a step skipped
 * on its condition, and the webhook's answer when the queue fills.
 *
 * What reached the nodes is read from simnode's own counters
 * (stemedb_admin_requests_total{endpoint}); what replguard decided, from
 * its audit log, its journal and its metrics. */
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent_harness.h"
#include "simnode_harness.h"
#include "test_support.h"
#include "lib/util.h"

static struct simnode sn;
static struct agent ag;

/* cond: its first step's `when` is false on a healthy cluster (as the
 * shipped high-replication-lag's throttle); checked: a verify window
 * keeps its job alive long after its step; overload: a throttle undone
 * on resolve. */
static const char RULES[] = "runbook: cond\n"
                            "match: {alertname: Cond}\n"
                            "target_label: replica\n"
                            "steps:\n"
                            "  - action: throttle\n"
                            "    when: \"lagging_replicas >= 2\"\n"
                            "  - action: reset_circuit_breakers\n"
                            "cooldown: 10m\n"
                            "max_actions_per_hour: 6\n"
                            "---\n"
                            "runbook: checked\n"
                            "match: {alertname: Checked}\n"
                            "target_label: replica\n"
                            "steps:\n"
                            "  - action: reset_circuit_breakers\n"
                            "verify: {within: 8s}\n"
                            "---\n"
                            "runbook: overload\n"
                            "match: {alertname: PrimaryOverload}\n"
                            "target_label: replica\n"
                            "steps:\n"
                            "  - action: throttle\n"
                            "on_resolved: [restore_throttle]\n"
                            "---\n"
                            "runbook: lag\n"
                            "match: {alertname: Lag}\n"
                            "target_label: replica\n"
                            "steps:\n"
                            "  - action: force_sync\n";

static void write_rules(const char *text)
{
    char rules[128];
    snprintf(rules, sizeof(rules), "%s/rules.yml", ag.dir);
    agent_write(rules, text);
}

/* write_config: poll interval ms; nodes: the simnode's, or (when
 * blackhole_port) one node at a port that accepts and never answers. */
static void write_config(double poll_ms, int blackhole_port)
{
    char rules[128];
    snprintf(rules, sizeof(rules), "%s/rules.yml", ag.dir);
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b,
               "listen: \"127.0.0.1:0\"\n"
               "state_dir: %s/state\n"
               "audit_log: %s/audit.jsonl\n"
               "rules: %s\n"
               "poll: {interval: %.0fms, timeout: %.0fms}\n"
               "clusters:\n  - name: c1\n"
               "    throttle: {floor: 50, restore_steps: [600, 800], "
               "restore_interval: 1s}\n"
               "    nodes:\n",
               ag.dir, ag.dir, rules, poll_ms * wait_scale(),
               poll_ms * 0.75 * wait_scale());
    if (blackhole_port)
        buf_printf(&b,
                   "      - {name: node1, url: \"http://127.0.0.1:%d\", "
                   "role: primary}\n",
                   blackhole_port);
    else
        simnode_yaml_nodes(&sn, &b);
    agent_write(ag.cfg, b.data);
    buf_free(&b);
}

static void setup(void)
{
    agent_setup(&ag, &sn, NULL);
    write_rules(RULES);
}

static void teardown(void)
{
    agent_teardown(&ag, &sn);
}

static long post_alert(const char *alertname, const char *status,
                       const char *fp)
{
    return agent_alert(&ag, alertname, status, fp, "\"replica\":\"node2\"");
}

static double admin(const char *endpoint)
{
    return admin_requests(simnode_url(&sn, "node2"), endpoint);
}

static double primary_admin(const char *endpoint)
{
    return admin_requests(simnode_url(&sn, "node1"), endpoint);
}

static char *journal_text(void)
{
    char path[160];
    snprintf(path, sizeof(path), "%s/state/journal.jsonl", ag.dir);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    struct buf b;
    buf_init(&b, 0);
    char chunk[65536];
    size_t k;
    while ((k = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_append(&b, chunk, k);
    fclose(f);
    return buf_detach(&b);
}

static bool journal_has(const char *text)
{
    char *j = journal_text();
    bool yes = strstr(j, text) != NULL;
    free(j);
    return yes;
}

/* Issue 13: the plan record said "ran": false when the first step was
 * skipped on its `when`, so a restart forgot the cooldown that the
 * second step's run had booked, and the runbook ran again at once. */
START_TEST(cooldown_survives_restart_when_first_step_is_skipped)
{
    write_config(300, 0);
    agent_start(&ag);
    ck_assert_int_eq(post_alert("Cond", "firing", "c001"), 200);
    agent_wait_audit(&ag, "action", "action", "reset_circuit_breakers", 1,
                     WAIT_S);
    ck_assert_int_eq(agent_audit_count(&ag, "skipped", "reason", "condition"),
                     1);
    ck_assert_int_eq(agent_stop(&ag), 0);
    agent_start(&ag);
    /* another firing of the same runbook on the same target, well inside
     * the 10m cooldown */
    ck_assert_int_eq(post_alert("Cond", "firing", "c002"), 200);
    agent_wait_audit(&ag, "skipped", "reason", "cooldown", 1, WAIT_S);
    ck_assert_int_eq(
        agent_audit_count(&ag, "action", "action", "reset_circuit_breakers"),
        1);
    ck_assert_double_eq(admin("circuit-breakers"), 1);
}
END_TEST

/* verdicts: the verify lines (either way) of runbook rb. */
static int verdicts(const char *rb)
{
    return agent_audit_count(&ag, "verified", "runbook", rb) +
           agent_audit_count(&ag, "verify_failed", "runbook", rb);
}

/* Item 3: a SIGHUP while a job lives (its verify window) applies the new
 * runbooks to new alerts at once: a runbook now dry_run does not act, a
 * new runbook acts; the living job still finishes under its old rules
 * (its runbook is gone from the new set, its verify still comes). */
START_TEST(reload_applies_runbooks_while_a_job_lives)
{
    write_config(300, 0);
    agent_start(&ag);
    ck_assert_int_eq(post_alert("Checked", "firing", "d001"), 200);
    agent_wait_audit(&ag, "action", "runbook", "checked", 1, WAIT_S);
    write_rules("runbook: lag\n"
                "match: {alertname: Lag}\n"
                "target_label: replica\n"
                "dry_run: true\n"
                "steps:\n"
                "  - action: force_sync\n"
                "---\n"
                "runbook: added\n"
                "match: {alertname: Added}\n"
                "target_label: replica\n"
                "steps:\n"
                "  - action: reset_circuit_breakers\n");
    kill(ag.pid, SIGHUP);
    wait_file_has(ag.log, "config reloaded",
                  WAIT_S); /* the rules are swapped in the same step */
    ck_assert_int_eq(post_alert("Lag", "firing", "d002"), 200);
    ck_assert_int_eq(post_alert("Added", "firing", "d003"), 200);
    agent_wait_audit(&ag, "action", "runbook", "added", 1, WAIT_S);
    agent_wait_audit(&ag, "action", "runbook", "lag", 1, WAIT_S);
    ck_assert_int_eq(agent_audit_count(&ag, "action", "dry_run", "true"), 1);
    ck_assert_double_eq(metric(simnode_url(&sn, "node1"),
                               "stemedb_admin_requests_total",
                               "endpoint=\"sync\""),
                        0);
    /* the old job's verify, under the runbook the reload removed */
    double deadline = now_s() + 4 * WAIT_S;
    while (verdicts("checked") < 1 && now_s() < deadline)
        sleep_ms(50);
    ck_assert_int_eq(verdicts("checked"), 1);
    /* and the log says what happened */
    ck_assert(agent_log_has(&ag, "jobs_under_previous=1"));
}
END_TEST

/* Item 4: a resolve processed before its firing (same fingerprint and
 * startsAt): the firing is over and must not act. */
START_TEST(firing_after_its_resolve_does_not_act)
{
    write_config(300, 0);
    agent_start(&ag);
    sleep_ms(1000); /* a few rounds of the primary's write rate */
    ck_assert_int_eq(post_alert("PrimaryOverload", "resolved", "e001"), 200);
    agent_wait_audit(&ag, "action", "action", "restore_throttle", 1, WAIT_S);
    ck_assert_int_eq(post_alert("PrimaryOverload", "firing", "e001"), 200);
    agent_wait_audit(&ag, "skipped", "reason", "duplicate", 1, WAIT_S);
    ck_assert_int_eq(agent_audit_count(&ag, "action", "action", "throttle"), 0);
    ck_assert_double_eq(primary_admin("rate-limit"), 0);
    ck_assert_double_eq(
        metric(ag.base, "replguard_throttle_active", "cluster=\"c1\""), 0);
}
END_TEST

/* Item 4: a resolve that arrives while the throttle call is in flight
 * (the primary answers slowly): on_resolved waits for the call, then
 * restores step by step; the audit says nothing was cancelled (the only
 * step completed). */
START_TEST(resolve_while_throttle_in_flight_restores)
{
    write_config(1000, 0);
    agent_start(&ag);
    sleep_ms(2500); /* a few rounds of the primary's write rate */
    ck_assert_int_eq(call(simnode_url(&sn, "node1"), "POST", "/v1/sim/fault",
                          "{\"node\":\"node1\",\"kind\":\"slow_body\","
                          "\"duration\":\"2s\"}"),
                     200);
    ck_assert_int_eq(post_alert("PrimaryOverload", "firing", "e101"), 200);
    /* the intent is durable before the call starts */
    double deadline = now_s() + WAIT_S;
    while (!journal_has("\"type\":\"intent\",\"job\":\"e101|") &&
           now_s() < deadline)
        sleep_ms(5);
    ck_assert(journal_has("\"type\":\"intent\",\"job\":\"e101|"));
    ck_assert_int_eq(post_alert("PrimaryOverload", "resolved", "e101"), 200);
    agent_wait_audit(&ag, "action", "action", "throttle", 1, 3 * WAIT_S);
    agent_wait_audit(&ag, "action", "action", "restore_throttle", 1, WAIT_S);
    ck_assert_int_eq(
        agent_audit_count(&ag, "action", "reason", "restore ramp started"), 1);
    /* 600, 800, then no limit */
    assert_wait_for(simnode_url(&sn, "node1"),
                    "stemedb_rate_limit_assertions_per_second", NULL, EQ, 0,
                    6 * WAIT_S);
    assert_wait(ag.base, "replguard_throttle_active", "cluster=\"c1\"", EQ, 0);
    ck_assert_int_eq(agent_audit_count(&ag, "cancelled", NULL, NULL), 0);
}
END_TEST

/* --- item 9: the queue fills ------------------------------------------- */

#define FILL_EACH 2000

/* big_payload: n alerts, fingerprints TAG00000 .. TAG followed by n - 1
 * in 5 hex digits (fingerprints are hex). */
static void big_payload(struct buf *b, const char *tag, int n)
{
    buf_puts(b, "{\"receiver\":\"replguard\",\"status\":\"firing\","
                "\"alerts\":[");
    for (int i = 0; i < n; i++)
        buf_printf(b,
                   "%s{\"status\":\"firing\",\"labels\":{\"alertname\":"
                   "\"Fill\",\"replica\":\"node1\"},\"annotations\":{},"
                   "\"startsAt\":\"2026-11-22T00:00:00Z\","
                   "\"endsAt\":\"0001-01-01T00:00:00Z\",\"generatorURL\":"
                   "\"\",\"fingerprint\":\"%s%05x\"}",
                   i ? "," : "", tag, i);
    buf_puts(b, "],\"groupLabels\":{},\"commonLabels\":{},"
                "\"commonAnnotations\":{},\"externalURL\":\"http://am\","
                "\"version\":\"4\",\"groupKey\":\"{}:{}\","
                "\"truncatedAlerts\":0}");
}

struct racer {
    pthread_t t;
    char tag[32];
    int n;
    long status;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    struct buf b;
    buf_init(&b, 0);
    big_payload(&b, r->tag, r->n);
    r->status = agent_webhook(&ag, b.data);
    buf_free(&b);
    return NULL;
}

/* A node that takes connections and never answers: the first poll round
 * lasts the whole timeout, and nothing is planned (the queue only fills)
 * until it ends. */
static int blackhole(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(fd, 64), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* Item 9: webhooks racing for the last places of the queue: each is
 * answered 200 with all its alerts journaled, or 503 with none of them
 * journaled. (Room was checked before journaling and taken after it: a
 * 503 went to payloads already durable.) */
START_TEST(full_queue_answers_what_is_true)
{
    int port, fd = blackhole(&port);
    write_config(60000, port);
    ck_assert_int_ge(agent_start_only(&ag), 0);
    int filled = 0;
    for (int i = 0; filled + FILL_EACH <= 18000; i++, filled += FILL_EACH) {
        struct racer r = {.n = FILL_EACH};
        snprintf(r.tag, sizeof(r.tag), "f%02x", i);
        race(&r);
        ck_assert_int_eq(r.status, 200);
    }
    int room = 20000 - filled, round = 0, ok = 0, full = 0;
    struct racer rs[6];
    while (room >= 20 && round < 8) {
        int each = room / 2 + 1; /* only one of them fits */
        for (int i = 0; i < 6; i++) {
            rs[i] = (struct racer){.n = each};
            snprintf(rs[i].tag, sizeof(rs[i].tag), "b%xc%x", round, i);
            pthread_create(&rs[i].t, NULL, race, &rs[i]);
        }
        for (int i = 0; i < 6; i++)
            pthread_join(rs[i].t, NULL);
        char *j = journal_text();
        for (int i = 0; i < 6; i++) {
            char first[48], last[48];
            snprintf(first, sizeof(first), "\"%s00000\"", rs[i].tag);
            snprintf(last, sizeof(last), "\"%s%05x\"", rs[i].tag, each - 1);
            ck_assert_msg(rs[i].status == 200 || rs[i].status == 503,
                          "status %ld", rs[i].status);
            bool in = strstr(j, first) && strstr(j, last);
            bool any = strstr(j, first) || strstr(j, last);
            if (rs[i].status == 200) {
                ck_assert_msg(in, "%s answered 200, not journaled", rs[i].tag);
                room -= each;
                ok++;
            } else {
                ck_assert_msg(!any, "%s answered 503 but journaled", rs[i].tag);
                full++;
            }
        }
        free(j);
        round++;
    }
    ck_assert_int_ge(ok, 1);
    ck_assert_int_ge(full, 1);
    ck_assert_int_ge(room, 0);
    close(fd);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("lifecycle");
    TCase *tc = tcase_create("integration");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, cooldown_survives_restart_when_first_step_is_skipped);
    tcase_add_test(tc, reload_applies_runbooks_while_a_job_lives);
    tcase_add_test(tc, firing_after_its_resolve_does_not_act);
    tcase_add_test(tc, resolve_while_throttle_in_flight_restores);
    tcase_add_test(tc, full_queue_answers_what_is_true);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
