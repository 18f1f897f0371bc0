/* test_planner.c: remediation decisions with an injected clock. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "act/planner.h"
#include "config/runbook.h"
#include "lib/util.h"

static const char RULES[] =
    "runbook: lag\n"
    "match: {alertname: [ReplicationLagCritical, ReplicationLagWarning]}\n"
    "target_label: replica\n"
    "escalate_when: \"lag > 60s\"\n"
    "steps:\n"
    "  - action: throttle\n"
    "    when: \"lagging_replicas >= 2\"\n"
    "  - action: force_sync\n"
    "    when: \"merkle_diff > 0\"\n"
    "  - action: reset_circuit_breakers\n"
    "  - action: escalate\n"
    "    url: \"http://127.0.0.1:9651/escalate\"\n"
    "    when: \"lag > 3600s\"\n"
    "cooldown: 10m\n"
    "max_actions_per_hour: 2\n"
    "on_resolved: [restore_throttle]\n"
    "---\n"
    "runbook: staging\n"
    "match: {alertname: StagingOnly}\n"
    "target_label: replica\n"
    "dry_run: true\n"
    "steps:\n"
    "  - action: force_sync\n";

/* The world the planner sees: node2 and node3 of c1, node3 also in c2. */
struct world {
    bool fresh;
    double lag, merkle_diff, lagging;
};

static int lookup(void *ctx, const char *cluster, const char *target,
                  struct plan_target *out)
{
    const struct world *w = ctx;
    bool in_c1 = strcmp(target, "node2") == 0 || strcmp(target, "node3") == 0;
    bool in_c2 = strcmp(target, "node3") == 0;
    if (cluster && !((strcmp(cluster, "c1") == 0 && in_c1) ||
                     (strcmp(cluster, "c2") == 0 && in_c2)))
        return -1;
    if (!cluster && in_c1 && in_c2)
        return -2;
    if (!cluster && !in_c1)
        return -1;
    snprintf(out->cluster, sizeof(out->cluster), "%s",
             cluster ? cluster : "c1");
    out->fresh = w->fresh;
    expr_env_init(&out->env);
    expr_env_set(&out->env, EXPR_VAR_LAG, w->lag);
    expr_env_set(&out->env, EXPR_VAR_MERKLE_DIFF, w->merkle_diff);
    expr_env_set(&out->env, EXPR_VAR_LAGGING_REPLICAS, w->lagging);
    expr_env_set(&out->env, EXPR_VAR_HEALTHY_REPLICAS, 2 - w->lagging);
    expr_env_set(&out->env, EXPR_VAR_LAG_POSITIONS, w->lag * 1000);
    expr_env_set(&out->env, EXPR_VAR_CONNECTED, 1);
    return 0;
}

struct fx {
    struct runbook_set *rs;
    struct planner *p;
    struct plan_list out;
    struct world w;
};

static void fx_init_rules(struct fx *f, const char *rules)
{
    struct errlist errs;
    errlist_init(&errs);
    int n = runbook_load_string("t.yml", rules, strlen(rules), &f->rs, &errs);
    ck_assert_msg(n == 0, "%s", errs.n ? errs.msg[0] : "?");
    errlist_reset(&errs);
    f->p = planner_new();
    memset(&f->out, 0, sizeof(f->out));
    f->w = (struct world){true, 20, 0, 1};
}

static void fx_init(struct fx *f)
{
    fx_init_rules(f, RULES);
}

static void fx_free(struct fx *f)
{
    plan_list_free(&f->out);
    planner_free(f->p);
    runbook_set_free(f->rs);
}

/* plan: one alert; returns the decisions as a compact string like
 * "run:reset_circuit_breakers skip:throttle:condition". */
static const char *plan(struct fx *f, const char *alertname,
                        const char *replica, const char *cluster, double starts,
                        bool resolved, double now)
{
    static char s[512];
    struct label l[3] = {{"alertname", alertname}, {"replica", replica}};
    size_t n = 2;
    if (cluster)
        l[n++] = (struct label){"cluster", cluster};
    struct plan_alert a = {{l, n}, "fp1", starts, resolved};
    plan_list_reset(&f->out);
    planner_plan(f->p, f->rs, &a, false, now, lookup, &f->w, &f->out);
    s[0] = '\0';
    size_t len = 0;
    for (size_t i = 0; i < f->out.n && len < sizeof(s); i++) {
        const struct plan_decision *d = &f->out.v[i];
        static const char *const kinds[] = {"run", "skip", "escalate",
                                            "cancel"};
        int k =
            snprintf(s + len, sizeof(s) - len, "%s%s%s%s%s%s%s", i ? " " : "",
                     kinds[d->kind], d->step ? ":" : "",
                     d->step ? runbook_action_name(d->step->action) : "",
                     d->kind == PLAN_SKIP ? ":" : "",
                     d->kind == PLAN_SKIP ? skip_reason_name(d->reason) : "",
                     d->dry_run ? ":dry" : "");
        len += k > 0 ? (size_t)k : 0;
    }
    return s;
}

#define LAG "ReplicationLagCritical"

START_TEST(steps_and_conditions)
{
    struct fx f;
    fx_init(&f);
    ck_assert_str_eq(plan(&f, LAG, "node2", "c1", 100, false, 1000),
                     "skip:throttle:condition skip:force_sync:condition "
                     "run:reset_circuit_breakers skip:escalate:condition");
    ck_assert_str_eq(f.out.v[2].cluster, "c1");
    ck_assert_str_eq(f.out.v[2].target, "node2");
    ck_assert_double_eq(f.out.v[2].lag_before, 20);
    /* another firing instance, two replicas lagging, a diff: all run
     * (after the cooldown) */
    f.w.lagging = 2;
    f.w.merkle_diff = 3;
    ck_assert_str_eq(plan(&f, LAG, "node2", "c1", 200, false, 1000 + 601),
                     "run:throttle run:force_sync run:reset_circuit_breakers "
                     "skip:escalate:condition");
    fx_free(&f);
}
END_TEST

START_TEST(duplicates_run_once)
{
    struct fx f;
    fx_init(&f);
    const char *first = plan(&f, LAG, "node2", "c1", 100, false, 1000);
    ck_assert_ptr_nonnull(strstr(first, "run:reset_circuit_breakers"));
    /* re-sent by repeat_interval, or by a second Alertmanager */
    for (int i = 1; i < 20; i++)
        ck_assert_str_eq(plan(&f, LAG, "node2", "c1", 100, false, 1000 + i),
                         "skip:duplicate");
    /* a new firing instance of the same alert is not a duplicate, but
     * the cooldown holds it */
    ck_assert_str_eq(plan(&f, LAG, "node2", "c1", 500, false, 1100),
                     "skip:cooldown");
    fx_free(&f);
}
END_TEST

START_TEST(cooldown_and_budget)
{
    struct fx f;
    fx_init(&f);
    /* cooldown is per target: node3 of c1 is free to act */
    plan(&f, LAG, "node2", "c1", 1, false, 0);
    ck_assert_str_eq(plan(&f, LAG, "node2", "c1", 2, false, 599),
                     "skip:cooldown");
    ck_assert_ptr_nonnull(
        strstr(plan(&f, LAG, "node3", "c1", 3, false, 599), "run:"));
    /* the budget (2 per hour per cluster) is spent */
    ck_assert_str_eq(plan(&f, LAG, "node2", "c1", 4, false, 700),
                     "skip:budget");
    /* an hour later it is back */
    ck_assert_ptr_nonnull(
        strstr(plan(&f, LAG, "node2", "c1", 5, false, 3601), "run:"));
    fx_free(&f);
}
END_TEST

START_TEST(pause_stale_and_unknown_targets)
{
    struct fx f;
    fx_init(&f);
    planner_set_paused(f.p, true);
    ck_assert_str_eq(plan(&f, LAG, "node2", "c1", 1, false, 0), "skip:paused");
    planner_set_paused(f.p, false);
    /* paused did not book the alert: its repeat acts */
    ck_assert_ptr_nonnull(
        strstr(plan(&f, LAG, "node2", "c1", 1, false, 10), "run:"));
    f.w.fresh = false;
    ck_assert_str_eq(plan(&f, LAG, "node3", "c1", 2, false, 20), "skip:stale");
    f.w.fresh = true;
    /* no cluster label: node3 is in two clusters, node9 in none */
    ck_assert_str_eq(plan(&f, LAG, "node3", NULL, 3, false, 30),
                     "skip:unknown_target");
    ck_assert_str_eq(plan(&f, LAG, "node9", NULL, 4, false, 40),
                     "skip:unknown_target");
    ck_assert_str_eq(plan(&f, LAG, "node9", "c1", 5, false, 50),
                     "skip:unknown_target");
    /* an alert no runbook matches: no decision at all */
    ck_assert_str_eq(plan(&f, "Other", "node2", "c1", 6, false, 60), "");
    fx_free(&f);
}
END_TEST

START_TEST(escalation_latches_until_ack)
{
    struct fx f;
    fx_init(&f);
    f.w.lag = 120; /* escalate_when: lag > 60s */
    /* escalated: the page, and the steps but the reversible throttle
     * (its `when` false here) held; the escalate step is the page's */
    ck_assert_str_eq(plan(&f, LAG, "node2", "c1", 1, false, 0),
                     "escalate:escalate skip:throttle:condition "
                     "skip:force_sync:condition "
                     "skip:reset_circuit_breakers:escalated");
    ck_assert(planner_blocked(f.p, "c1"));
    f.w.lag = 1;
    const char *latched = "skip:throttle:condition skip:force_sync:condition "
                          "skip:reset_circuit_breakers:blocked "
                          "skip:escalate:condition";
    ck_assert_str_eq(plan(&f, LAG, "node3", "c1", 2, false, 10), latched);
    for (size_t i = 0; i < f.out.n; i++)
        ck_assert(f.out.v[i].unbooked);
    /* held by the latch, the alert was not consumed: its repeat acts
     * once acked */
    ck_assert_str_eq(plan(&f, LAG, "node3", "c1", 2, false, 11), latched);
    ck_assert(planner_ack(f.p, "c1"));
    ck_assert(!planner_ack(f.p, "c1"));
    ck_assert_ptr_nonnull(
        strstr(plan(&f, LAG, "node3", "c1", 2, false, 20), "run:"));
    ck_assert(!f.out.v[0].unbooked);
    fx_free(&f);
}
END_TEST

/* The shipped lag runbook in a three-node cluster (two replicas), and a
 * runbook without reversible steps, which escalation stops as before. */
static const char SHIPPED[] =
    "runbook: high-replication-lag\n"
    "match: {alertname: [ReplicationLagWarning, ReplicationLagCritical]}\n"
    "target_label: replica\n"
    "escalate_when: \"lag > 60s or lagging_replicas >= 2 and "
    "healthy_replicas == 0\"\n"
    "steps:\n"
    "  - {action: throttle, when: \"lagging_replicas >= 2\"}\n"
    "  - {action: force_sync, when: \"merkle_diff > 0\"}\n"
    "  - action: reset_circuit_breakers\n"
    "  - {action: escalate, when: \"lag > 60s\"}\n"
    "verify: {within: 2m}\n"
    "on_resolved: [restore_throttle]\n"
    "---\n"
    "runbook: merkle\n"
    "match: {alertname: MerkleDivergence}\n"
    "target_label: replica\n"
    "escalate_when: \"merkle_diff > 100\"\n"
    "steps: [{action: force_sync}]\n";

START_TEST(escalation_pages_and_reversible_steps_run)
{
    static const struct {
        const char *alert, *replica;
        double starts, lag, diff, lagging;
        bool resolved;
        const char *want;
    } cases[] = {
        /* both replicas lag: page AND throttle the primary */
        {LAG, "node2", 1, 20, 0, 2, false,
         "escalate:escalate run:throttle skip:force_sync:condition "
         "skip:reset_circuit_breakers:escalated"},
        /* the other replica's alert under the latch: the throttle (its
         * own cooldown) still runs, the rest waits for the ack */
        {LAG, "node3", 2, 20, 5, 2, false,
         "run:throttle skip:force_sync:blocked "
         "skip:reset_circuit_breakers:blocked skip:escalate:condition"},
        /* resolved: the restore ramp runs, latch or not */
        {LAG, "node2", 1, 5, 0, 1, true, "cancel run:restore_throttle"},
        /* no reversible step: blocked as a whole */
        {"MerkleDivergence", "node2", 3, 1, 3, 0, false, "skip:blocked"},
    };
    struct fx f;
    fx_init_rules(&f, SHIPPED);
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        f.w =
            (struct world){true, cases[i].lag, cases[i].diff, cases[i].lagging};
        ck_assert_str_eq(plan(&f, cases[i].alert, cases[i].replica, "c1",
                              cases[i].starts, cases[i].resolved,
                              10.0 * (double)i),
                         cases[i].want);
    }
    /* one replica past 60 s: page, and nothing else fits */
    planner_ack(f.p, "c1");
    f.w = (struct world){true, 90, 0, 1};
    ck_assert_str_eq(plan(&f, LAG, "node3", "c1", 7, false, 700),
                     "escalate:escalate skip:throttle:condition "
                     "skip:force_sync:condition "
                     "skip:reset_circuit_breakers:escalated");
    planner_ack(f.p, "c1");
    /* a runbook without reversible steps escalates as before */
    f.w = (struct world){true, 1, 200, 0};
    ck_assert_str_eq(plan(&f, "MerkleDivergence", "node2", "c1", 8, false, 710),
                     "escalate");
    fx_free(&f);
}
END_TEST

START_TEST(resolve_cancels_and_restores)
{
    struct fx f;
    fx_init(&f);
    plan(&f, LAG, "node2", "c1", 100, false, 0);
    ck_assert_str_eq(plan(&f, LAG, "node2", "c1", 100, true, 30),
                     "cancel run:restore_throttle");
    char firing[PLANNER_KEY_MAX];
    struct label l[] = {{"alertname", LAG}, {"replica", "node2"}};
    struct plan_alert a = {{l, 2}, "fp1", 100, false};
    planner_dedupe_key(&a, "lag", firing, sizeof(firing));
    ck_assert_str_eq(f.out.v[0].key, firing);
    ck_assert(f.out.v[1].on_resolved);
    /* the resolved notification re-sent: once only */
    ck_assert_str_eq(plan(&f, LAG, "node2", "c1", 100, true, 40),
                     "skip:duplicate");
    fx_free(&f);
}
END_TEST

/* A resolve that comes before its firing (the same fingerprint and
 * startsAt), or before a repeat of it: the firing must not act. Another
 * firing instance (startsAt) is a new alert; a restart keeps the resolve
 * (its key is journaled and restored). */
START_TEST(firing_after_its_resolve_is_skipped)
{
    static const struct {
        double starts, now;
        bool resolved;
        const char *want;
    } cases[] = {
        {100, 10, true, "cancel run:restore_throttle"},
        {100, 11, false, "skip:duplicate"},
        {100, 12, false, "skip:duplicate"},
        /* another firing instance is a new alert */
        {200, 13, false,
         "skip:throttle:condition skip:force_sync:condition "
         "run:reset_circuit_breakers skip:escalate:condition"},
    };
    struct fx f;
    fx_init(&f);
    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        ck_assert_str_eq(plan(&f, LAG, "node2", "c1", cases[i].starts,
                              cases[i].resolved, cases[i].now),
                         cases[i].want);
    /* after a restart, from the resolve's journaled key */
    struct planner *q = planner_new();
    char key[PLANNER_KEY_MAX];
    struct label l[] = {{"alertname", LAG}, {"replica", "node2"}};
    struct plan_alert a = {{l, 2}, "fp1", 300, true};
    planner_dedupe_key(&a, "lag", key, sizeof(key));
    planner_restore_key(q, key, 50);
    planner_free(f.p);
    f.p = q;
    ck_assert_str_eq(plan(&f, LAG, "node2", "c1", 300, false, 60),
                     "skip:duplicate");
    fx_free(&f);
}
END_TEST

START_TEST(dry_run_same_path)
{
    struct fx f;
    fx_init(&f);
    /* the runbook's own dry_run */
    ck_assert_str_eq(plan(&f, "StagingOnly", "node2", "c1", 1, false, 0),
                     "run:force_sync:dry");
    /* the agent's: same decisions, flagged */
    struct label l[] = {
        {"alertname", LAG}, {"replica", "node2"}, {"cluster", "c1"}};
    struct plan_alert a = {{l, 3}, "fp9", 7, false};
    plan_list_reset(&f.out);
    planner_plan(f.p, f.rs, &a, true, 0, lookup, &f.w, &f.out);
    ck_assert_uint_eq(f.out.n, 4);
    ck_assert_int_eq(f.out.v[2].kind, PLAN_RUN);
    ck_assert(f.out.v[2].dry_run);
    fx_free(&f);
}
END_TEST

START_TEST(restore_rebuilds_bookkeeping)
{
    struct fx f;
    fx_init(&f);
    struct label l[] = {{"alertname", LAG}, {"replica", "node2"}};
    struct plan_alert a = {{l, 2}, "fp1", 100, false};
    char key[PLANNER_KEY_MAX];
    planner_dedupe_key(&a, "lag", key, sizeof(key));
    /* what a journal replay after a restart feeds back */
    planner_restore_key(f.p, key, 0);
    planner_restore_run(f.p, "lag", "c1", "node2", 0, 600);
    ck_assert_str_eq(plan(&f, LAG, "node2", "c1", 100, false, 5),
                     "skip:duplicate");
    ck_assert_str_eq(plan(&f, LAG, "node2", "c1", 101, false, 5),
                     "skip:cooldown");
    fx_free(&f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("planner");
    TCase *tc = tcase_create("decisions");
    tcase_add_test(tc, steps_and_conditions);
    tcase_add_test(tc, duplicates_run_once);
    tcase_add_test(tc, cooldown_and_budget);
    tcase_add_test(tc, pause_stale_and_unknown_targets);
    tcase_add_test(tc, escalation_latches_until_ack);
    tcase_add_test(tc, escalation_pages_and_reversible_steps_run);
    tcase_add_test(tc, resolve_cancels_and_restores);
    tcase_add_test(tc, firing_after_its_resolve_is_skipped);
    tcase_add_test(tc, dry_run_same_path);
    tcase_add_test(tc, restore_rebuilds_bookkeeping);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
