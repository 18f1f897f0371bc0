/* executor.c: the job life cycle on the engine thread (see executor.h):
 * the targets' picture from the engine's view, planning queued alerts
 * into jobs, starting and reaping their steps, the tick, and the
 * executor's birth and end. It is the top of the acting
 * half and is called by the engine (src/monitor) only; it calls down
 * into actions.c (one step's node calls), ramp.c (the restore ramp),
 * handover.c (the steps a new owner must know of), replay.c (the
 * journal at start) and execstate.c (bookkeeping); see
 * executor_internal.h. */
#include "act/executor.h"
#include "act/actions_internal.h"
#include "act/executor_internal.h"
#include "act/failover_internal.h"
#include "act/replay_internal.h"
#include "act/fence.h"

#include "formats/alert.h"
#include "act/audit.h"
#include "act/journal.h"
#include "lib/jsonget.h"
#include "lib/log.h"
#include "act/planner.h"
#include "lib/poller.h"
#include "profiles/profile.h"
#include "act/remedy.h"
#include "config/runbook.h"
#include "model/tilt.h"
#include "config/config.h"
#include "lib/clock.h"
#include "lib/util.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAKE 256 /* alerts planned per tick */

/* --- the engine's view of a target ---------------------------------------- */

static const struct node_view *view_of(const struct agent_view *v,
                                       const char *cluster, const char *node)
{
    for (size_t i = 0; i < v->n_nodes; i++) {
        const struct node_view *n = &v->nodes[i];
        if (strcmp(n->cluster, cluster) == 0 && strcmp(n->name, node) == 0)
            return n;
    }
    return NULL;
}

/* fill_env: the condition variables of target in cluster c. */
static void fill_env(const struct agent_view *v, const struct cluster_view *c,
                     const struct node_view *t, struct plan_target *out)
{
    double healthy = 0, lagging = 0;
    for (size_t i = c->first_node; i < c->first_node + c->n_nodes; i++) {
        const struct node_view *n = &v->nodes[i];
        if (n->is_primary)
            continue;
        /* a demoted replica serves no reads: it is not a healthy one */
        healthy += n->health == HEALTH_HEALTHY && !n->rv.demoted;
        lagging += n->health != HEALTH_HEALTHY;
    }
    const struct node_view *p = c->primary >= 0 ? &v->nodes[c->primary] : NULL;
    out->fresh = t->fresh && t->up && p && p->fresh;
    expr_env_init(&out->env);
    if (t->rv.have_lag)
        expr_env_set(&out->env, EXPR_VAR_LAG, t->rv.lag);
    if (t->have_lag_positions)
        expr_env_set(&out->env, EXPR_VAR_LAG_POSITIONS,
                     (double)t->lag_positions);
    if (t->have_merkle)
        expr_env_set(&out->env, EXPR_VAR_MERKLE_DIFF, (double)t->merkle_diff);
    if (t->fresh)
        expr_env_set(&out->env, EXPR_VAR_CONNECTED, t->rv.connected);
    expr_env_set(&out->env, EXPR_VAR_LAGGING_REPLICAS, lagging);
    expr_env_set(&out->env, EXPR_VAR_HEALTHY_REPLICAS, healthy);
}

static int lookup(void *ctx, const char *cluster, const char *target,
                  struct plan_target *out)
{
    const struct agent_view *v = ((const struct executor *)ctx)->env.view;
    const struct cluster_view *found = NULL;
    const struct node_view *node = NULL;
    for (size_t ci = 0; ci < v->n_clusters; ci++) {
        const struct cluster_view *c = &v->clusters[ci];
        if (cluster && strcmp(c->name, cluster) != 0)
            continue;
        const struct node_view *n = view_of(v, c->name, target);
        if (!n)
            continue;
        if (found)
            return -2;
        found = c;
        node = n;
    }
    if (!found)
        return -1;
    snprintf(out->cluster, sizeof(out->cluster), "%s", found->name);
    fill_env(v, found, node, out);
    return 0;
}

/* --- jobs ----------------------------------------------------------------- */

static struct slot *free_slot(struct executor *x)
{
    for (int i = 0; i < SLOTS; i++)
        if (!x->slots[i].job)
            return &x->slots[i];
    return NULL;
}

/* firing_in_flight: whether the firing job key has a step running: its
 * on_resolved steps wait for it (undo after the act, never before). */
static bool firing_in_flight(const struct executor *x, const char *key)
{
    for (const struct job *k = x->jobs; key[0] && k; k = k->next)
        if (k->running && !k->on_resolved && strcmp(k->key, key) == 0)
            return true;
    return false;
}

/* advance: starts the next step of every idle job while slots last. A
 * step's intent is journaled only once it has a slot and is about to
 * run: an intent is a promise that the act follows at once. */
static void advance(struct executor *x)
{
    for (struct job *j = x->jobs; j; j = j->next) {
        if (j->running || j->cancelled || j->at == j->n ||
            firing_in_flight(x, j->after))
            continue;
        if (exec_fail_stop(x))
            return; /* never act unrecorded */
        char why[192];
        if (!act_owner(&x->env, j->cluster, NULL))
            continue; /* ha: another member owns it now (or the lease may
                         have expired): nothing starts here */
        if (!j->dry_run && !ho_steps_ready(x, j->cluster))
            continue; /* ha: a new owner must know this step was due */
        if (fo_running(x, j->cluster)) { /* the cluster is changing hands */
            act_skip_step(x, j, "failover",
                          "a failover of the cluster is in flight");
            continue;
        }
        const char *refused = act_refusal(x, j, why, sizeof(why));
        if (refused) { /* live and dry run alike, before any node call */
            act_refuse(x, j, refused, why);
            continue;
        }
        struct slot *s = j->dry_run ? NULL : free_slot(x);
        if (!j->dry_run && !s)
            return; /* waits for a slot; replay resumes it after a crash */
        act_journal_step(x, j, "intent", NULL);
        /* the plan and the intent, durable before the act */
        if (exec_journal_flush(x) < 0) {
            exec_fail_stop(x);
            return;
        }
        x->in_flight++;
        j->running = true;
        if (j->dry_run) {
            act_finish_step(x, j, OUT_DRY_RUN, "dry run: no node call");
            continue;
        }
        s->job = j;
        j->slot = s;
        act_start_action(x, j, s);
    }
}

static void verify(struct executor *x, struct job *j)
{
    const struct node_view *v = view_of(x->env.view, j->cluster, j->target);
    double after = v && v->fresh && v->rv.have_lag ? v->rv.lag : -1;
    bool ok = after >= 0 && j->lag_before >= 0 && after < j->lag_before;
    j->verify_at = 0;
    exec_audit(x, ok ? "verified" : "verify_failed", j, NULL,
               ok ? "lag fell" : "lag did not fall in time", false, after);
    if (ok)
        return;
    act_escalation(x, j, "verify_failed");
    for (size_t i = 0; i < runbook_n_steps(j->rb); i++) {
        const struct runbook_step *st = runbook_step(j->rb, i);
        if (st->action == RUNBOOK_ACT_ESCALATE && j->n < RUNBOOK_MAX_STEPS) {
            j->steps[j->n++] = st; /* send the notice */
            return;
        }
    }
}

/* reap: frees the jobs that are done (and verified); while held (TILT)
 * due verifies wait, since the lag they would judge may be stale. */
static void reap(struct executor *x, double now, bool held)
{
    struct job **pp = &x->jobs;
    while (*pp) {
        struct job *j = *pp;
        if (j->verify_at > 0 && now >= j->verify_at && !j->running && !held)
            verify(x, j);
        bool done =
            !j->running && (j->cancelled || j->at == j->n) && j->verify_at == 0;
        if (!done) {
            pp = &j->next;
            continue;
        }
        *pp = j->next;
        queued_alert_free(j->alert);
        runbook_set_free(j->set);
        free(j);
    }
}

static struct job *job_for(struct executor *x, const struct plan_decision *d,
                           const struct queued_alert *a)
{
    for (struct job *j = x->jobs; j; j = j->next)
        if (j->at == 0 && !j->running && j->rb == d->rb &&
            strcmp(j->key, d->key) == 0 && j->on_resolved == d->on_resolved)
            return j;
    return exec_new_job(x, d, a);
}

/* step_index: where step sits in rb's steps (or on_resolved list), for
 * the journal; -1 when it is not there. */
static int step_index(const struct runbook *rb, const struct runbook_step *st,
                      bool on_resolved)
{
    size_t n = on_resolved ? runbook_n_on_resolved(rb) : runbook_n_steps(rb);
    for (size_t i = 0; i < n; i++)
        if ((on_resolved ? runbook_on_resolved(rb, i) : runbook_step(rb, i)) ==
            st)
            return (int)i;
    return -1;
}

/* journal_plan: the plan of decision i of x->plans for alert a: its
 * dedupe key, cooldown and budget, and what a restart needs to resume
 * steps not started yet: the alert's place in the journal and the steps
 * (indexes into the runbook's steps or on_resolved list). */
static void journal_plan(struct executor *x, size_t i,
                         const struct queued_alert *a)
{
    const struct plan_decision *d = &x->plans.v[i];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "plan");
    cJSON_AddStringToObject(o, "key", d->key);
    cJSON_AddStringToObject(o, "runbook", runbook_name(d->rb));
    cJSON_AddStringToObject(o, "cluster", d->cluster);
    cJSON_AddStringToObject(o, "target", d->target);
    cJSON_AddNumberToObject(o, "cooldown", runbook_cooldown(d->rb));
    cJSON_AddNumberToObject(o, "t", clock_wall(x->env.clock));
    cJSON *steps = cJSON_AddArrayToObject(o, "steps");
    /* "ran" as the planner books it: when any step of the key runs, not
     * only the first (which its `when` may skip) */
    bool ran = false;
    for (size_t k = i; k < x->plans.n; k++) {
        const struct plan_decision *s = &x->plans.v[k];
        if (strcmp(s->key, d->key) != 0)
            break;
        ran = ran || (s->kind == PLAN_RUN && !s->on_resolved);
        if (s->step && (s->kind == PLAN_RUN || s->kind == PLAN_ESCALATE))
            cJSON_AddItemToArray(steps, cJSON_CreateNumber(step_index(
                                            s->rb, s->step, s->on_resolved)));
    }
    cJSON_AddBoolToObject(o, "ran", ran);
    if (d->unbooked) /* steps held by a latch: the repeat may run them */
        cJSON_AddBoolToObject(o, "booked", false);
    if (cJSON_GetArraySize(steps) > 0) {
        cJSON_AddNumberToObject(o, "record", (double)a->seq);
        cJSON_AddNumberToObject(o, "index", (double)a->index);
        cJSON_AddBoolToObject(o, "on_resolved", d->on_resolved);
        cJSON_AddBoolToObject(o, "dry_run", d->dry_run);
        cJSON_AddNumberToObject(o, "lag_before", d->lag_before);
    }
    exec_journal_json(x, o);
}

/* cancel: the firing job's steps not started are cancelled, one audit
 * line each; a step in flight finishes (and is audited) as it ends. */
static void cancel(struct executor *x, const struct plan_decision *d)
{
    for (struct job *j = x->jobs; j; j = j->next) {
        if (strcmp(j->key, d->key) != 0 || j->on_resolved || j->at == j->n)
            continue;
        j->cancelled = true;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "cancel");
        cJSON_AddStringToObject(o, "job", j->key);
        exec_journal_json(x, o); /* a restart must not resume it */
        for (size_t i = j->at + (j->running ? 1 : 0); i < j->n; i++)
            exec_audit(x, "cancelled", j,
                       runbook_action_name(j->steps[i]->action),
                       "alert resolved", j->dry_run, -1);
    }
}

static void skipped(struct executor *x, const struct plan_decision *d,
                    const struct queued_alert *a)
{
    const char *labels[] = {"cluster", "runbook", "reason", NULL};
    const char *values[] = {d->cluster[0] ? d->cluster : "unknown",
                            runbook_name(d->rb), skip_reason_name(d->reason),
                            NULL};
    exec_count(x, MF_REMEDIATION_SKIPPED_TOTAL, labels, values, 1);
    struct job tmp = {.rb = d->rb,
                      .lag_before = d->lag_before,
                      .alert = (struct queued_alert *)a};
    snprintf(tmp.cluster, sizeof(tmp.cluster), "%s", d->cluster);
    snprintf(tmp.target, sizeof(tmp.target), "%s", d->target);
    exec_audit(x, "skipped", &tmp,
               d->step ? runbook_action_name(d->step->action) : NULL,
               skip_reason_name(d->reason), d->dry_run, -1);
}

/* take_decisions: journals, audits and queues the plans of one alert. */
static void take_decisions(struct executor *x, const struct queued_alert *a)
{
    const char *booked = "", *cancelled = "";
    for (size_t i = 0; i < x->plans.n; i++) {
        const struct plan_decision *d = &x->plans.v[i];
        if (d->cluster[0] && x->env.cluster_conf(x->env.ctx, d->cluster) &&
            !act_owner(&x->env, d->cluster, NULL)) {
            /* ha: the owner (which gets the alert too) decides; with
             * poll: owned this instance does not even know the target */
            struct plan_decision nd = *d;
            nd.kind = PLAN_SKIP;
            nd.reason = SKIP_NOT_OWNER;
            skipped(x, &nd, a);
            continue;
        }
        /* every key the planner booked is journaled once, before any of
         * its actions: steps skipped on their condition were booked too */
        bool books = d->kind != PLAN_SKIP || d->reason == SKIP_CONDITION;
        if (books && strcmp(booked, d->key) != 0) {
            journal_plan(x, i, a); /* before any of its actions */
            booked = d->key;
        }
        if (d->kind == PLAN_SKIP) {
            skipped(x, d, a);
        } else if (d->kind == PLAN_CANCEL) {
            cancel(x, d);
            cancelled = d->key; /* its on_resolved steps follow */
        } else if (d->kind == PLAN_ESCALATE) {
            struct job *j = exec_new_job(x, d, a);
            act_escalation(x, j, "escalate_when");
            if (d->step)
                j->steps[j->n++] = d->step;
        } else {
            struct job *j = job_for(x, d, a);
            if (j->n < RUNBOOK_MAX_STEPS)
                j->steps[j->n++] = d->step;
            if (d->on_resolved)
                snprintf(j->after, sizeof(j->after), "%s", cancelled);
        }
    }
}

static void count_alert(struct executor *x, const struct queued_alert *a)
{
    const char *name = labels_find(&a->labels, "alertname");
    const char *labels[] = {"alertname", "status", NULL};
    const char *values[] = {name ? name : "",
                            a->resolved ? "resolved" : "firing", NULL};
    exec_count(x, MF_ALERTS_RECEIVED_TOTAL, labels, values, 1);
}

static void plan_alert(struct executor *x, struct queued_alert *a)
{
    struct plan_alert pa = {a->labels, a->fingerprint, a->starts_at,
                            a->resolved};
    count_alert(x, a);
    plan_list_reset(&x->plans);
    if (x->rules)
        planner_plan(x->planner, x->rules, &pa, exec_dry_run(x),
                     clock_wall(x->env.clock), lookup, x, &x->plans);
    take_decisions(x, a);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "processed");
    cJSON_AddNumberToObject(o, "record", (double)a->seq);
    cJSON_AddNumberToObject(o, "index", (double)a->index);
    exec_journal_json(x, o);
}

/* --- the tick ------------------------------------------------------------- */

static void take_acks(struct executor *x)
{
    char *acks[16];
    size_t n = remedy_take_acks(x->rem, acks, ARRAY_LEN(acks));
    for (size_t i = 0; i < n; i++) {
        bool was = planner_ack(x->planner, acks[i]);
        esc_ack(x, acks[i]); /* resolves its Alertmanager alerts */
        fo_ack(x, acks[i]);  /* lifts the failover's block_period too */
        log_msg(LOG_INFO, "msg=\"ack\" cluster=%s was_blocked=%d", acks[i],
                was);
        free(acks[i]);
    }
}

/* executor_tick: in TILT (a stall or a clock jump, see tilt.h) nothing
 * new starts: queued alerts stay queued, to be planned with their usual
 * staleness and cooldown checks once it is over; steps, ramp moves and
 * verifies wait; running actions finish. */
void executor_tick(struct executor *x, double now)
{
    exec_fail_stop(x);
    bool held = tilt_active(x->env.tilt);
    take_acks(x);
    planner_set_paused(x->planner, remedy_paused(x->rem));
    held |= x->draining; /* stopping: only running actions go on */
    struct queued_alert *batch[TAKE];
    size_t n = held ? 0 : remedy_take(x->rem, batch, TAKE);
    for (size_t i = 0; i < n; i++) {
        plan_alert(x, batch[i]);
        queued_alert_free(batch[i]);
    }
    for (int i = 0; i < SLOTS; i++)
        if (x->slots[i].child)
            act_poll_child(x, &x->slots[i], now);
    exec_journal_flush(x);
    guard_demotes_expire(&x->demotes, x->env.view->rounds);
    fo_tick(x, now, held || remedy_paused(x->rem));
    if (!held) {
        advance(x);
        ramp_tick(x, now);
        appramp_tick(x, now);
    }
    esc_tick(x, now); /* pages go out in TILT too: they touch no node */
    ho_steps_sync(x);
    reap(x, now, held);
    exec_journal_flush(x);
    if (now - x->audit_synced >= 1.0) {
        audit_sync(x->audit); /* the journal is the record; this is for
                                 people, synced once a second */
        x->audit_synced = now;
    }
}

void executor_fill_view(struct executor *x, struct agent_view *v)
{
    exec_fill_view(x, v);
    fo_fill_view(x, v);
}

bool executor_idle(const struct executor *x)
{
    return x->in_flight == 0;
}

void executor_drain(struct executor *x)
{
    x->draining = true;
}

unsigned executor_interrupt(struct executor *x)
{
    unsigned n = 0;
    for (int i = 0; i < SLOTS; i++) {
        struct slot *s = &x->slots[i];
        struct job *j = s->job;
        if (!j)
            continue;
        const char *action = runbook_action_name(j->steps[j->at]->action);
        poller_req_cancel(s->req);
        act_release_slot(s); /* kills an exec's process group */
        act_journal_step(x, j, "outcome", "interrupted");
        exec_audit(x, "interrupted", j, action,
                   "replguard stopped and the action outlived the stop "
                   "grace; not run again",
                   j->dry_run, -1);
        exec_remember(x, j, action, "interrupted", "stopped");
        log_msg(LOG_WARN,
                "msg=\"action interrupted by the stop\" cluster=%s "
                "runbook=%s action=%s target=%s",
                j->cluster, runbook_name(j->rb), action, j->target);
        j->slot = NULL;
        j->running = false;
        x->in_flight--;
        n++;
    }
    exec_journal_flush(x);
    return n;
}

/* executor_reload_rules: the new set plans every alert from now on; a
 * job keeps a reference to the set it was planned under and finishes
 * (steps, verify, on_resolved merge) by its rules. */
void executor_reload_rules(struct executor *x, struct runbook_set *rules)
{
    size_t old_jobs = 0;
    for (const struct job *j = x->jobs; j; j = j->next)
        old_jobs++;
    runbook_set_free(x->rules);
    x->rules = rules;
    log_msg(LOG_INFO,
            "msg=\"runbooks reloaded: new alerts are planned with them now; "
            "jobs under way finish under the runbooks they started with\" "
            "runbooks=%zu jobs_under_previous=%zu",
            runbook_set_count(rules), old_jobs);
}

/* --- life cycle ----------------------------------------------------------- */

struct executor *executor_new(const struct act_env *env, struct remedy *rem,
                              struct runbook_set *rules, const char *audit_path,
                              char *err, size_t errlen)
{
    int aerr = 0;
    struct audit *au = audit_open(audit_path, remedy_fileio(rem), &aerr);
    if (!au) {
        snprintf(err, errlen, "cannot open the audit log %s: %s", audit_path,
                 strerror(-aerr));
        return NULL;
    }
    struct executor *x = xcalloc(1, sizeof(*x));
    x->env = *env;
    x->rem = rem;
    x->rules = rules;
    x->audit = au;
    x->planner = planner_new();
    planner_set_paused(x->planner, remedy_paused(rem));
    x->fo = fo_new(clock_mono(env->clock));
    esc_init(x);
    for (int i = 0; i < SLOTS; i++) {
        x->slots[i].x = x;
        x->slots[i].req = poller_req_new(env->poller, 1 << 20);
    }
    exec_replay(x);
    exec_journal_flush(x);
    return x;
}

void executor_free(struct executor *x)
{
    if (!x)
        return;
    exec_journal_flush(x);
    while (x->jobs) {
        struct job *j = x->jobs;
        x->jobs = j->next;
        queued_alert_free(j->alert);
        runbook_set_free(j->set);
        free(j);
    }
    for (int i = 0; i < SLOTS; i++) {
        act_release_slot(&x->slots[i]);
        poller_req_free(x->slots[i].req);
    }
    fo_free(x->fo);
    esc_free(x);
    planner_free(x->planner);
    plan_list_free(&x->plans);
    runbook_set_free(x->rules);
    audit_close(x->audit);
    guard_demotes_reset(&x->demotes);
    for (size_t i = 0; i < x->n_throttles; i++)
        free(x->throttles[i]);
    free(x->throttles);
    ho_free(x);
    free(x->app_ramps);
    free(x->app_list);
    free(x->vapps);
    free(x->counters);
    free(x->samples);
    free(x->vrunbooks);
    free(x->rb_names);
    free(x);
}
