/* test_ha_handover.c: jobs in flight handed over to a new owner when
 * the owner dies (issue 19, config ha:): a throttle's restore ramp is
 * continued from the move it reached, and runbook steps still queued
 * are dropped and escalated by the new owner, never run twice.
 *
 * One fixture: a one-member etcd on loopback, one simnode serving 6
 * clusters of two nodes, two replguard instances (a, b) with a 2 s
 * lease. Each test starts a and b (in the test's process, which reaps
 * them), kills a (kill -9) while it owns a cluster with a job in
 * flight, checks what b did with it against simnode's own counters,
 * and stops b. Skipped (exit 77) when etcd is not installed. */
#include <check.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_harness.h"
#include "etcd_harness.h"
#include "ha/ha.h"
#include "lib/util.h"
#include "simnode_harness.h"
#include "test_support.h"

#define CLUSTERS 6
#define TTL_S    2.0
#define POLL_MS  200

static struct etcd_cluster ec;
static struct simnode sn;
static struct agent ags[2];
static const char *const names[2] = {"a", "b"};

/* overload throttles and ramps back when resolved; slowfix runs a
 * 5 s child, then throttles: killed during the child, the throttle
 * is a step still queued */
static const char RULES[] = "runbook: overload\n"
                            "match: {alertname: PrimaryOverload}\n"
                            "target_label: replica\n"
                            "steps:\n"
                            "  - action: throttle\n"
                            "on_resolved: [restore_throttle]\n"
                            "cooldown: 1s\n"
                            "---\n"
                            "runbook: slowfix\n"
                            "match: {alertname: SlowFix}\n"
                            "target_label: replica\n"
                            "steps:\n"
                            "  - action: exec\n"
                            "    argv: [/bin/sleep, \"5\"]\n"
                            "  - action: throttle\n"
                            "cooldown: 1s\n";

/* the ramp: the throttle (50/s: half the ingest rate), then these
 * steps a second apart, then the limit removed */
static const int STEPS[] = {60, 70, 80, 90};
#define N_STEPS 4

static void write_config(struct agent *ag, const char *member)
{
    char poll[64];
    struct buf b;
    snprintf(poll, sizeof(poll), "interval: %dms, timeout: %dms", POLL_MS,
             POLL_MS * 3 / 4);
    buf_init(&b, 0);
    etcd_yaml_agent_head(&ec, ag, &b, RULES, poll, "/rg/ho", member, TTL_S,
                         NULL);
    for (int c = 1; c <= CLUSTERS; c++) {
        char cl[16];
        snprintf(cl, sizeof(cl), "c%d", c);
        buf_printf(&b,
                   "  - name: %s\n"
                   "    throttle: {floor: 10, restore_steps: [%d, %d, %d, %d],"
                   " restore_interval: 1s}\n"
                   "    nodes:\n"
                   "      - {name: node1, url: \"%s\", role: primary}\n"
                   "      - {name: node2, url: \"%s\", role: replica}\n",
                   cl, STEPS[0], STEPS[1], STEPS[2], STEPS[3],
                   simnode_url_in(&sn, cl, "node1"),
                   simnode_url_in(&sn, cl, "node2"));
    }
    agent_write(ag->cfg, b.data);
    buf_free(&b);
}

static void setup(void)
{
    static const char *const args[] = {"--clusters",    "6",   "--nodes", "2",
                                       "--ingest-rate", "100", NULL};
    if (!etcd_binary()) {
        fprintf(stderr, "test_ha_handover: SKIP: etcd is not installed "
                        "(Debian etcd-server)\n");
        exit(77);
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    etcd_start(&ec, 1);
    spawn(&sn, args);
    for (int i = 0; i < 2; i++) {
        agent_init(&ags[i]);
        write_config(&ags[i], names[i]);
    }
}

static void teardown(void)
{
    for (int i = 0; i < 2; i++)
        agent_cleanup(&ags[i]);
    simnode_stop(&sn);
    etcd_stop(&ec);
    curl_global_cleanup();
}

/* a_cluster: the k-th cluster (from 0) the hash gives a over {a, b};
 * waits until a's /metrics says a owns it. */
static void a_cluster(int k, char *out, size_t n)
{
    for (int c = 1; c <= CLUSTERS; c++) {
        char cl[16], labels[64];
        snprintf(cl, sizeof(cl), "c%d", c);
        if (ha_rendezvous(cl, names, 2) != 0 || k-- > 0)
            continue;
        snprintf(out, n, "%s", cl);
        snprintf(labels, sizeof(labels), "cluster=\"%s\"", cl);
        assert_wait(ags[0].base, "replguard_ha_is_owner", labels, EQ, 1);
        return;
    }
    ck_abort_msg("a owns fewer than %d clusters", k + 1);
}

static void alert_both(const char *name, const char *status, const char *cl,
                       const char *fp)
{
    char labels[128];
    snprintf(labels, sizeof(labels), "\"cluster\":\"%s\",\"replica\":\"node2\"",
             cl);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(agent_alert(&ags[i], name, status, fp, labels), 200);
}

/* job_has: whether etcd's job record kind of cl holds text. */
static bool job_has(const char *cl, const char *kind, const char *text)
{
    char key[96], value[2048] = "";
    int64_t rev;
    snprintf(key, sizeof(key), "/rg/ho/jobs/%s/%s", cl, kind);
    return etcd_get(&ec, key, value, sizeof(value), &rev) == 0 &&
           strstr(value, text) != NULL;
}

static void start_both(void)
{
    for (int i = 0; i < 2; i++)
        agent_start(&ags[i]);
}

/* stop_b: b, the one left, stops cleanly (its lease revoked). */
static void stop_b(void)
{
    ck_assert_int_eq(agent_stop(&ags[1]), 0);
}

/* a is killed between two moves of its restore ramp: b takes the
 * cluster, continues the ramp from the next move, and the node ends
 * with no limit, each move's call arriving once */
START_TEST(a_restore_ramp_is_finished_by_the_next_owner)
{
    char cl[16], done[64];
    start_both();
    a_cluster(0, cl, sizeof(cl));
    const char *primary = simnode_url_in(&sn, cl, "node1");
    double before = admin_requests(primary, "rate-limit");
    alert_both("PrimaryOverload", "firing", cl, "00000000000ab001");
    assert_wait(primary, "stemedb_admin_requests_total",
                "endpoint=\"rate-limit\"", EQ, before + 1);
    double limit =
        metric(primary, "stemedb_rate_limit_assertions_per_second", NULL);
    ck_assert(limit > 0 && limit < STEPS[0]);
    alert_both("PrimaryOverload", "resolved", cl, "00000000000ab001");
    /* killed once the second move is taken and etcd says so (the move
     * after it is a second away) */
    assert_wait(primary, "stemedb_rate_limit_assertions_per_second", NULL, EQ,
                STEPS[1]);
    snprintf(done, sizeof(done), "\"limit\":%d,", STEPS[1]);
    double t0 = now_s();
    while (!(job_has(cl, "throttle", done) &&
             !job_has(cl, "throttle", "acting")) &&
           now_s() - t0 < 5 * wait_scale())
        sleep_ms(20);
    ck_assert_msg(job_has(cl, "throttle", done), "etcd has no move to %d",
                  STEPS[1]);
    agent_kill(&ags[0]);
    ck_assert_double_eq(admin_requests(primary, "rate-limit"), before + 3);
    /* b: the two moves left, then the limit removed */
    assert_wait_for(primary, "stemedb_rate_limit_assertions_per_second", NULL,
                    EQ, 0, TTL_S + 3 * N_STEPS);
    fprintf(stderr,
            "test_ha_handover: %s's ramp, its owner killed after the move "
            "to %d, finished by b %.2fs after the kill\n",
            cl, STEPS[1], now_s() - t0);
    sleep_ms(1500); /* no move comes after the last one */
    ck_assert_double_eq(admin_requests(primary, "rate-limit"),
                        before + 1 + N_STEPS + 1);
    ck_assert(agent_log_has(&ags[1], "taking over the throttle"));
    agent_wait_audit(&ags[1], "throttle_handover", NULL, NULL, 1, WAIT_S);
    ck_assert(!job_has(cl, "throttle", "throttle")); /* the record went */
    stop_b();
}
END_TEST

/* a is killed while the first of a runbook's two steps runs (a 5 s
 * child): b does not run the queued throttle (nor the child again); it
 * journals and audits them dropped and escalates */
START_TEST(queued_steps_are_dropped_and_escalated_by_the_next_owner)
{
    char cl[16], journal[160];
    start_both();
    a_cluster(1, cl, sizeof(cl));
    const char *primary = simnode_url_in(&sn, cl, "node1");
    double before = admin_requests(primary, "rate-limit");
    alert_both("SlowFix", "firing", cl, "00000000000ab002");
    double t0 = now_s();
    while (!job_has(cl, "steps", "\"started\":true") &&
           now_s() - t0 < 5 * wait_scale())
        sleep_ms(20);
    ck_assert_msg(job_has(cl, "steps", "\"steps\":[\"exec\",\"throttle\"]"),
                  "etcd has not the steps of %s", cl);
    agent_kill(&ags[0]);
    agent_wait_audit(&ags[1], "steps_dropped", NULL, NULL, 1,
                     TTL_S + 3 * wait_scale());
    agent_wait_audit(&ags[1], "escalated", "reason", "handover_steps_dropped",
                     1, WAIT_S);
    fprintf(stderr,
            "test_ha_handover: %s's queued steps dropped and escalated by b "
            "%.2fs after the kill\n",
            cl, now_s() - t0);
    snprintf(journal, sizeof(journal), "%s/state/journal.jsonl", ags[1].dir);
    ck_assert(file_has(journal, "\"type\":\"steps_dropped\""));
    sleep_ms(6000); /* past the child a started: nothing follows it */
    ck_assert_double_eq(admin_requests(primary, "rate-limit"), before);
    ck_assert(!job_has(cl, "steps", "steps"));
    stop_b();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ha_handover");
    TCase *tc = tcase_create("ha_handover");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, a_restore_ramp_is_finished_by_the_next_owner);
    tcase_add_test(tc,
                   queued_steps_are_dropped_and_escalated_by_the_next_owner);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
