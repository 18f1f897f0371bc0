/* test_tilt.c: TILT mode: the detector with plain numbers, the engine and
 * executor driven step by step on a manual clock against a running
 * replguard-simnode, and the built replguard stopped with SIGSTOP.
 *
 * What reached the nodes is read from simnode's own counters
 * (stemedb_admin_requests_total{endpoint}). */
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "agent_harness.h"
#include "formats/alert.h"
#include "config/config.h"
#include "monitor/engine.h"
#include "monitor/engine_internal.h"
#include "act/remedy.h"
#include "config/runbook.h"
#include "simnode_harness.h"
#include "monitor/snapshot.h"
#include "test_support.h"
#include "model/tilt.h"
#include "lib/util.h"

/* --- the detector --------------------------------------------------------- */

START_TEST(first_observation_only_primes)
{
    struct tilt t;
    tilt_init(&t);
    /* whatever the readings, there is nothing to compare them with */
    ck_assert_int_eq(tilt_observe(&t, 5, 1.8e9), TILT_NONE);
    ck_assert(!tilt_active(&t));
    ck_assert_int_eq(tilt_observe(&t, 5.05, 1.8e9 + 0.05), TILT_NONE);
    ck_assert(!tilt_active(&t));
}
END_TEST

START_TEST(normal_ticks_never_tilt)
{
    struct tilt t;
    tilt_init(&t);
    double mono = 100, wall = 1.8e9;
    ck_assert_int_eq(tilt_observe(&t, mono, wall), TILT_NONE);
    /* an hour of 50 ms ticks, with slewing at the kernel's maximum
     * (500 ppm), read jitter, the odd slow iteration (a journal fsync,
     * a big render) and one gap of 1.9 s, just under the threshold */
    for (int i = 1; i <= 72000; i++) {
        double dt = i % 1000 == 0 ? 0.8 : 0.05;
        if (i == 36000)
            dt = 1.9;
        mono += dt;
        wall += dt * 1.0005 + (i % 7 == 0 ? 0.004 : -0.0005);
        ck_assert_int_eq(tilt_observe(&t, mono, wall), TILT_NONE);
    }
    ck_assert(!tilt_active(&t));
    ck_assert_uint_eq(t.total[TILT_STALL] + t.total[TILT_CLOCK_JUMP], 0);
}
END_TEST

START_TEST(stall_enters_tilt)
{
    struct tilt t;
    tilt_init(&t);
    tilt_observe(&t, 100, 1000);
    tilt_observe(&t, 100.05, 1000.05);
    /* exactly at the threshold is not a stall */
    ck_assert_int_eq(tilt_observe(&t, 102.05, 1002.05), TILT_NONE);
    ck_assert_int_eq(tilt_observe(&t, 104.55, 1004.55), TILT_ENTERED);
    ck_assert(tilt_active(&t));
    ck_assert_int_eq(t.reason, TILT_STALL);
    ck_assert_double_eq_tol(t.amount, 2.5, 1e-9);
    ck_assert_double_eq_tol(t.until, 104.55 + TILT_HOLD, 1e-9);
    ck_assert_uint_eq(t.total[TILT_STALL], 1);
    ck_assert_uint_eq(t.total[TILT_CLOCK_JUMP], 0);
    ck_assert_str_eq(tilt_reason_name(t.reason), "stall");
}
END_TEST

START_TEST(clock_jump_forward_and_backward)
{
    struct tilt t;
    tilt_init(&t);
    tilt_observe(&t, 100, 1000);
    /* wall clock stepped 5 s ahead during a 50 ms tick */
    ck_assert_int_eq(tilt_observe(&t, 100.05, 1005.05), TILT_ENTERED);
    ck_assert_int_eq(t.reason, TILT_CLOCK_JUMP);
    ck_assert_double_eq_tol(t.amount, 5, 1e-9);
    ck_assert_str_eq(tilt_reason_name(t.reason), "clock_jump");

    tilt_init(&t);
    tilt_observe(&t, 100, 1000);
    /* a jump just under the threshold is not one */
    ck_assert_int_eq(tilt_observe(&t, 100.05, 1000.05 + 0.99), TILT_NONE);
    /* stepped 3 s back: the wall clock reads earlier than a tick ago */
    ck_assert_int_eq(tilt_observe(&t, 100.10, 1001.09 - 3), TILT_ENTERED);
    ck_assert_int_eq(t.reason, TILT_CLOCK_JUMP);
    ck_assert_double_eq_tol(t.amount, -3, 1e-9);
    ck_assert_uint_eq(t.total[TILT_CLOCK_JUMP], 1);
    ck_assert_uint_eq(t.total[TILT_STALL], 0);
}
END_TEST

/* ticks: observes 50 ms ticks from mono (wall = mono + off) up to and
 * including end; returns the first event that is not TILT_NONE (the
 * mono of it in *at), or TILT_NONE. */
static enum tilt_event ticks(struct tilt *t, double from, double end,
                             double off, double *at)
{
    for (int i = 1;; i++) {
        double m = from + i * 0.05;
        if (m > end + 1e-9)
            return TILT_NONE;
        enum tilt_event ev = tilt_observe(t, m, m + off);
        if (ev != TILT_NONE) {
            *at = m;
            return ev;
        }
    }
}

START_TEST(leaves_tilt_after_the_hold)
{
    struct tilt t;
    tilt_init(&t);
    tilt_observe(&t, 100, 1000);
    ck_assert_int_eq(tilt_observe(&t, 103, 1003), TILT_ENTERED);
    double at = 0;
    /* held for the whole 30 s, and not a tick longer */
    ck_assert_int_eq(ticks(&t, 103, 103 + TILT_HOLD - 0.05, 900, &at),
                     TILT_NONE);
    ck_assert(tilt_active(&t));
    ck_assert_int_eq(ticks(&t, 103 + TILT_HOLD - 0.05, 200, 900, &at),
                     TILT_LEFT);
    ck_assert_double_eq_tol(at, 103 + TILT_HOLD, 1e-6);
    ck_assert(!tilt_active(&t));
    /* and stays out */
    ck_assert_int_eq(ticks(&t, at, at + 60, 900, &at), TILT_NONE);
    ck_assert(!tilt_active(&t));
}
END_TEST

START_TEST(retrigger_extends_the_hold)
{
    struct tilt t;
    tilt_init(&t);
    tilt_observe(&t, 100, 1000);
    ck_assert_int_eq(tilt_observe(&t, 103, 1003), TILT_ENTERED);
    double at = 0;
    ck_assert_int_eq(ticks(&t, 103, 123, 900, &at), TILT_NONE);
    /* 20 s in, the clock jumps back 2 s: the hold starts over */
    ck_assert_int_eq(tilt_observe(&t, 123.05, 1023.05 - 2), TILT_EXTENDED);
    ck_assert_int_eq(t.reason, TILT_CLOCK_JUMP);
    ck_assert_double_eq_tol(t.until, 123.05 + TILT_HOLD, 1e-9);
    ck_assert_uint_eq(t.total[TILT_STALL], 1);
    ck_assert_uint_eq(t.total[TILT_CLOCK_JUMP], 1);
    /* still held past the first trigger's 30 s */
    ck_assert_int_eq(ticks(&t, 123.05, 133 + 5, 898, &at), TILT_NONE);
    ck_assert(tilt_active(&t));
    ck_assert_int_eq(ticks(&t, 138, 300, 898, &at), TILT_LEFT);
    ck_assert_double_eq_tol(at, 123.05 + TILT_HOLD, 1e-6);
}
END_TEST

/* --- the engine and executor on a manual clock ---------------------------- */

static struct simnode sn;
static struct agent ag; /* its temp dir; the test's own replguard below */

static const char RULES[] = "runbook: lag\n"
                            "match: {alertname: ReplicationLagCritical}\n"
                            "target_label: replica\n"
                            "steps:\n"
                            "  - action: force_sync\n"
                            "cooldown: 10m\n";

static void setup(void)
{
    agent_setup(&ag, &sn, NULL);
}

static void teardown(void)
{
    agent_teardown(&ag, &sn);
}

/* syncs: force_sync calls that reached any node. */
static double syncs(void)
{
    double n = 0;
    for (size_t i = 0; i < sn.n; i++) {
        double v = metric(sn.url[i], "stemedb_admin_requests_total",
                          "endpoint=\"sync\"");
        n += isnan(v) ? 0 : v;
    }
    return n;
}

/* payload: an Alertmanager 0.25 webhook body for one firing alert on
 * node2. */
static void payload(struct buf *b, const char *fp)
{
    alert_payload(b, "ReplicationLagCritical", "firing", fp,
                  "\"replica\":\"node2\"");
}

static struct manual_clock mc;

/* round_after: moves both clocks by dt, then steps the engine until a poll
 * round has finished. */
static void round_after(struct engine *e, double dt)
{
    mc.mono += dt;
    mc.wall += dt;
    uint64_t r = e->rounds;
    double deadline = now_s() + WAIT_S;
    do
        engine_step(e);
    while (e->rounds == r && now_s() < deadline);
    ck_assert_msg(e->rounds > r, "no poll round finished");
}

START_TEST(engine_holds_an_alert_until_tilt_ends)
{
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b,
               "listen: \"127.0.0.1:0\"\n"
               "state_dir: %s/state\n"
               "audit_log: %s/audit.jsonl\n"
               "poll: {interval: 1s, timeout: 800ms}\n"
               "clusters:\n  - name: c1\n    nodes:\n",
               ag.dir, ag.dir);
    simnode_yaml_nodes(&sn, &b);
    struct config *cfg = NULL;
    ck_assert_int_eq(config_load_string("t.yml", b.data, b.len, &cfg, NULL), 0);
    buf_free(&b);
    struct runbook_set *rules = NULL;
    ck_assert_int_eq(
        runbook_load_string("r.yml", RULES, strlen(RULES), &rules, NULL), 0);
    char dir[128], audit[128], err[256];
    snprintf(dir, sizeof(dir), "%s/state", ag.dir);
    snprintf(audit, sizeof(audit), "%s/audit.jsonl", ag.dir);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    struct remedy *rem = remedy_open(dir, NULL, err, sizeof(err));
    ck_assert_msg(rem != NULL, "%s", err);

    mc = (struct manual_clock){.mono = 1000, .wall = 1.8e9};
    struct rg_clock clock = clock_manual(&mc);
    struct snapbox box;
    snapbox_init(&box);
    struct engine *e = engine_new(cfg, &box, &clock);
    ck_assert_int_eq(engine_attach(e, rem, rules, audit, err, sizeof(err)), 0);
    for (int i = 0; i < 3; i++)
        round_after(e, i ? 1 : 0);
    ck_assert(!tilt_active(&e->tilt));

    /* the loop stood still for 3 s */
    round_after(e, 3);
    ck_assert(tilt_active(&e->tilt));
    ck_assert_int_eq(e->tilt.reason, TILT_STALL);
    ck_assert_double_eq_tol(e->tilt.amount, 3, 1e-6);
    ck_assert_int_eq(audit_count_prefix(audit, "tilt_enter", "reason", "stall"),
                     1);
    ck_assert(e->view.tilt);
    ck_assert_double_eq_tol(e->view.tilt_until_wall, mc.wall + TILT_HOLD, 1e-6);

    /* an alert arrives: accepted, journaled, queued; nothing acts */
    buf_init(&b, 0);
    payload(&b, "0e05ed67e762832d");
    struct alert_payload *p = NULL;
    ck_assert_int_eq(alert_parse(b.data, b.len, &p, err, sizeof(err)), 0);
    ck_assert_int_eq(remedy_submit(rem, p), REMEDY_OK);
    alert_payload_free(p);
    buf_free(&b);
    uint64_t rounds = e->rounds;
    for (int i = 0; i < 29; i++)
        round_after(e, 1);
    ck_assert(tilt_active(&e->tilt));          /* 29 s after the stall */
    ck_assert_uint_eq(e->rounds, rounds + 29); /* monitoring went on */
    ck_assert_double_eq(syncs(), 0);
    ck_assert_int_eq(audit_count(audit, "action", NULL, NULL), 0);

    /* 30 s after the stall: TILT ends and the held alert is planned on
     * fresh polls and acts, once */
    round_after(e, 1);
    ck_assert(!tilt_active(&e->tilt));
    ck_assert_int_eq(audit_count(audit, "tilt_exit", NULL, NULL), 1);
    double deadline = now_s() + WAIT_S;
    while (syncs() < 1 && now_s() < deadline)
        engine_step(e);
    ck_assert_double_eq(syncs(), 1);
    for (int i = 0; i < 5; i++)
        round_after(e, 1);
    ck_assert_double_eq(syncs(), 1);
    ck_assert_int_eq(audit_count(audit, "action", NULL, NULL), 1);
    ck_assert_int_eq(audit_count(audit, "tilt_enter", NULL, NULL), 1);

    /* a wall clock stepped back 10 s is a TILT too */
    mc.wall -= 10;
    round_after(e, 1);
    ck_assert(tilt_active(&e->tilt));
    ck_assert_int_eq(e->tilt.reason, TILT_CLOCK_JUMP);
    ck_assert_double_eq_tol(e->tilt.amount, -10, 1e-6);
    ck_assert_int_eq(
        audit_count_prefix(audit, "tilt_enter", "reason", "clock_jump"), 1);

    engine_free(e);
    snapbox_destroy(&box);
    remedy_close(rem);
}
END_TEST

/* --- the built replguard, stopped ----------------------------------------- */

/* write_config: SPEC's default poll timing: a scrape that times out
 * leaves its node stale, and an alert planned on a stale target is
 * skipped (by design), so the test keeps timeouts out of reach of a
 * loaded machine. */
static void write_config(void)
{
    char rules[128];
    snprintf(rules, sizeof(rules), "%s/rules.yml", ag.dir);
    agent_write(rules, RULES);
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b,
               "listen: \"127.0.0.1:0\"\n"
               "state_dir: %s/state\n"
               "audit_log: %s/audit.jsonl\n"
               "rules: %s\n"
               "poll: {interval: 1s, timeout: 800ms}\n"
               "clusters:\n  - name: c1\n    nodes:\n",
               ag.dir, ag.dir, rules);
    simnode_yaml_nodes(&sn, &b);
    agent_write(ag.cfg, b.data);
    buf_free(&b);
}

/* dump: path to stderr, to tell why a test failed. */
static void dump(const char *path)
{
    char line[8192];
    FILE *f = fopen(path, "r");
    fprintf(stderr, "--- %s\n", path);
    while (f && fgets(line, sizeof(line), f))
        fputs(line, stderr);
    if (f)
        fclose(f);
}

/* state_tilt: /api/v1/state's "tilt" object, as a parsed copy the caller
 * frees with cJSON_Delete. */
static cJSON *state_tilt(void)
{
    struct resp r;
    get(ag.base, "/api/v1/state", &r);
    ck_assert_int_eq(r.status, 200);
    cJSON *root = cJSON_Parse(r.body.data);
    buf_free(&r.body);
    ck_assert_ptr_nonnull(root);
    cJSON *t = cJSON_DetachItemFromObject(root, "tilt");
    cJSON_Delete(root);
    ck_assert_ptr_nonnull(t);
    return t;
}

START_TEST(sigstop_holds_actions_while_monitoring_goes_on)
{
    write_config();
    agent_start(&ag);
    char audit[128];
    snprintf(audit, sizeof(audit), "%s/audit.jsonl", ag.dir);
    assert_wait(ag.base, "replguard_tilt", NULL, EQ, 0);
    assert_wait(ag.base, "replguard_tilt_total", "reason=\"stall\"", EQ, 0);

    ck_assert_int_eq(kill(ag.pid, SIGSTOP), 0);
    sleep_ms(3000);
    ck_assert_int_eq(kill(ag.pid, SIGCONT), 0);
    assert_wait(ag.base, "replguard_tilt", NULL, EQ, 1);
    ck_assert_double_eq(
        metric(ag.base, "replguard_tilt_total", "reason=\"stall\""), 1);
    ck_assert_double_eq(
        metric(ag.base, "replguard_tilt_total", "reason=\"clock_jump\""), 0);
    ck_assert_int_eq(audit_count_prefix(audit, "tilt_enter", "reason", "stall"),
                     1);
    ck_assert(agent_log_has(&ag, "msg=\"TILT entered: actions held\" "
                                 "reason=stall gap="));
    cJSON *t = state_tilt();
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(t, "active")));
    ck_assert_str_eq(cJSON_GetObjectItem(t, "reason")->valuestring, "stall");
    double until = cJSON_GetObjectItem(t, "until")->valuedouble;
    double now = (double)time(NULL);
    ck_assert_msg(until > now + 15 && until < now + TILT_HOLD + 2,
                  "until %.3f, now %.0f", until, now);
    cJSON_Delete(t);
    struct resp r;
    get(ag.base, "/metrics", &r);
    promtool_check(&r.body);
    buf_free(&r.body);

    /* an alert now: accepted, but no node call while TILT holds */
    struct buf b;
    buf_init(&b, 0);
    payload(&b, "5e1f");
    ck_assert_int_eq(agent_webhook(&ag, b.data), 200);
    buf_free(&b);
    double rounds = metric(ag.base, "replguard_poll_rounds_total", NULL);
    sleep_ms(2000);
    ck_assert_double_eq(syncs(), 0);
    ck_assert_double_eq(metric(ag.base, "replguard_tilt", NULL), 1);
    assert_wait(ag.base, "replguard_poll_rounds_total", NULL, GT, rounds + 1);
    ck_assert_int_eq(audit_count(audit, "action", NULL, NULL), 0);

    /* TILT ends 30 s after the stall; then the alert acts, once */
    double deadline = now_s() + TILT_HOLD + 10;
    while (metric(ag.base, "replguard_tilt", NULL) != 0 && now_s() < deadline)
        sleep_ms(200);
    ck_assert_double_eq(metric(ag.base, "replguard_tilt", NULL), 0);
    ck_assert(agent_log_has(&ag, "msg=\"TILT over: actions resume\""));
    ck_assert_int_eq(audit_count(audit, "tilt_exit", NULL, NULL), 1);
    deadline = now_s() + WAIT_S;
    while (syncs() < 1 && now_s() < deadline)
        sleep_ms(50);
    if (syncs() != 1) {
        dump(audit);
        dump(ag.log);
    }
    ck_assert_double_eq(syncs(), 1);
    sleep_ms(1000);
    ck_assert_double_eq(syncs(), 1);
    ck_assert_int_eq(audit_count(audit, "action", NULL, NULL), 1);
    t = state_tilt();
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(t, "active")));
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(t, "until")));
    cJSON_Delete(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tilt");
    TCase *tc = tcase_create("detector");
    tcase_add_test(tc, first_observation_only_primes);
    tcase_add_test(tc, normal_ticks_never_tilt);
    tcase_add_test(tc, stall_enters_tilt);
    tcase_add_test(tc, clock_jump_forward_and_backward);
    tcase_add_test(tc, leaves_tilt_after_the_hold);
    tcase_add_test(tc, retrigger_extends_the_hold);
    suite_add_tcase(s, tc);
    tc = tcase_create("integration");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, engine_holds_an_alert_until_tilt_ends);
    tcase_add_test(tc, sigstop_holds_actions_while_monitoring_goes_on);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
