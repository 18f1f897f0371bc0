/* executor.c: plans queued alerts and runs their actions on the engine
 * thread (see executor.h): counters and records, jobs and planning, the
 * restore ramp, the tick, the view, replay and life cycle. The node calls
 * of one step are in actions.c. */
#include "act/executor.h"
#include "act/executor_internal.h"

#include "formats/alert.h"
#include "act/audit.h"
#include "monitor/engine_internal.h"
#include "act/journal.h"
#include "lib/jsonget.h"
#include "lib/log.h"
#include "act/planner.h"
#include "lib/poller.h"
#include "profiles/profile.h"
#include "act/remedy.h"
#include "config/runbook.h"
#include "model/tilt.h"
#include "lib/util.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAKE 256 /* alerts planned per tick */

/* --- counters and records ------------------------------------------------- */

/* find_series: the counter of family with these values, or NULL; *after
 * is where a new one goes, *n how many the family has. */
static struct counter *find_series(struct executor *x,
                                   enum metric_family family,
                                   const char *const *labels,
                                   const char *const *values, size_t *after,
                                   size_t *n)
{
    *after = x->n_counters;
    *n = 0;
    for (size_t i = 0; i < x->n_counters; i++) {
        struct counter *c = &x->counters[i];
        if (c->family != family)
            continue;
        *after = i + 1;
        (*n)++;
        bool same = true;
        for (int k = 0; same && labels[k]; k++)
            same = strcmp(c->value[k], values[k]) == 0;
        if (same)
            return c;
    }
    return NULL;
}

/* exec_count: adds to a labelled counter. The counters are kept grouped by
 * family (a new one goes after the last of its family), so the view
 * copies them in one pass. Alert labels reach the first label of some
 * families (alertname, cluster): once a family has EXEC_MAX_SERIES
 * series, a new one has that value folded into "_other", counted in
 * replguard_alert_labels_folded_total{metric}. Only a family whose row
 * in metrics.c says sampled is counted here; the others have their own
 * renderer, so counting one is a bug, logged and ignored. */
void exec_count(struct executor *x, enum metric_family family,
                const char *const *labels, const char *const *values,
                double add)
{
    const struct metric_info *m = metric_info(family);
    if (!m || !m->sampled) {
        log_msg(LOG_ERROR, "msg=\"bug: not a counted family\" metric=%s",
                metric_name(family));
        return;
    }
    size_t after, n;
    struct counter *c = find_series(x, family, labels, values, &after, &n);
    const char *folded[5];
    if (!c && n >= EXEC_MAX_SERIES && labels[0]) {
        for (int k = 0; k < 4 && labels[k]; k++)
            folded[k] = k == 0 ? "_other" : values[k];
        values = folded;
        c = find_series(x, family, labels, values, &after, &n);
        const char *fl[] = {"metric", NULL},
                   *fv[] = {metric_name(family), NULL};
        exec_count(x, MF_ALERT_LABELS_FOLDED_TOTAL, fl, fv, add);
    }
    if (c) {
        c->v += add;
        return;
    }
    x->counters =
        xrealloc(x->counters, (x->n_counters + 1) * sizeof(*x->counters));
    memmove(&x->counters[after + 1], &x->counters[after],
            (x->n_counters - after) * sizeof(*x->counters));
    x->n_counters++;
    c = &x->counters[after];
    memset(c, 0, sizeof(*c));
    c->family = family;
    for (int k = 0; k < 4 && labels[k]; k++) {
        snprintf(c->label[k], sizeof(c->label[k]), "%s", labels[k]);
        snprintf(c->value[k], sizeof(c->value[k]), "%s", values[k]);
    }
    c->v = add;
}

/* exec_journal_json: queues a record; journal_flush writes the queued ones as
 * one durable record, so the plans of a batch of alerts cost one fsync.
 * Every record that must precede an action (plan, intent) is flushed
 * before the action starts. */
void exec_journal_json(struct executor *x, cJSON *o)
{
    if (!x->batch)
        x->batch = cJSON_CreateArray();
    cJSON_AddItemToArray(x->batch, o);
}

/* fail_stop: whether the journal has failed; logs the transition once.
 * From then on nothing acts (an action must never run unrecorded) while
 * polling, /metrics (replguard_journal_failed) and health go on. */
static bool fail_stop(struct executor *x)
{
    if (x->fail_stopped)
        return true;
    if (!journal_failed(remedy_journal(x->rem)))
        return false;
    x->fail_stopped = true;
    log_msg(LOG_ERROR, "msg=\"fail-stop: the journal failed, remediation "
                       "stopped until restart\"");
    return true;
}

/* journal_flush: writes the queued records as one durable record.
 * Returns 0 or -errno (the journal has failed). */
static int journal_flush(struct executor *x)
{
    if (!x->batch)
        return 0;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "batch");
    cJSON_AddItemToObject(o, "records", x->batch);
    x->batch = NULL;
    char *text = cJSON_PrintUnformatted(o);
    int rc = journal_append(remedy_journal(x->rem), text, NULL);
    if (rc < 0)
        log_msg(LOG_ERROR,
                "msg=\"journal write failed\" error=\"%s\" "
                "failed=%d",
                strerror(-rc), journal_failed(remedy_journal(x->rem)));
    cJSON_free(text);
    cJSON_Delete(o);
    return rc;
}

void exec_audit(struct executor *x, const char *event, const struct job *j,
                const char *action, const char *reason, bool dry_run,
                double lag_after)
{
    struct audit_record r = {
        .time = clock_wall(&x->e->clock),
        .event = event,
        .cluster = j ? j->cluster : NULL,
        .runbook = j && j->rb ? runbook_name(j->rb) : NULL,
        .action = action,
        .target = j ? j->target : NULL,
        .fingerprint = j && j->alert ? j->alert->fingerprint : NULL,
        .dry_run = dry_run,
        .reason = reason,
        .has_lag_before = j && j->lag_before >= 0,
        .lag_before = j ? j->lag_before : 0,
        .has_lag_after = lag_after >= 0,
        .lag_after = lag_after,
    };
    if (x->audit)
        audit_write(x->audit, &r); /* a failure is counted and logged there */
}

void executor_audit_tilt(struct executor *x, const char *event, const char *why)
{
    exec_audit(x, event, NULL, NULL, why, false, -1);
}

void exec_remember(struct executor *x, const struct job *j, const char *action,
                   const char *outcome, const char *detail)
{
    struct recent *r = &x->recent[x->recent_head];
    x->recent_head = (x->recent_head + 1) % RECENT;
    if (x->n_recent < RECENT)
        x->n_recent++;
    r->time = clock_wall(&x->e->clock);
    snprintf(r->cluster, sizeof(r->cluster), "%s", j->cluster);
    snprintf(r->runbook, sizeof(r->runbook), "%s", runbook_name(j->rb));
    snprintf(r->action, sizeof(r->action), "%s", action);
    snprintf(r->target, sizeof(r->target), "%s", j->target);
    snprintf(r->outcome, sizeof(r->outcome), "%s", outcome);
    snprintf(r->detail, sizeof(r->detail), "%s", detail ? detail : "");
    r->dry_run = j->dry_run;
}

/* --- the engine's view of a target ---------------------------------------- */

struct cluster_rt *exec_cluster_named(struct engine *e, const char *name)
{
    for (size_t ci = 0; ci < e->n_clusters; ci++)
        if (strcmp(e->clusters[ci].conf->name, name) == 0)
            return &e->clusters[ci];
    return NULL;
}

static const struct node_view *view_of(const struct engine *e,
                                       const char *cluster, const char *node)
{
    for (size_t i = 0; i < e->view.n_nodes; i++) {
        const struct node_view *n = &e->view.nodes[i];
        if (strcmp(n->cluster, cluster) == 0 && strcmp(n->name, node) == 0)
            return n;
    }
    return NULL;
}

/* fill_env: the condition variables of target in cluster c. */
static void fill_env(const struct engine *e, const struct cluster_view *c,
                     const struct node_view *t, struct plan_target *out)
{
    double healthy = 0, lagging = 0;
    for (size_t i = c->first_node; i < c->first_node + c->n_nodes; i++) {
        const struct node_view *n = &e->view.nodes[i];
        if (n->is_primary)
            continue;
        /* a demoted replica serves no reads: it is not a healthy one */
        healthy += n->health == HEALTH_HEALTHY && !n->rv.demoted;
        lagging += n->health != HEALTH_HEALTHY;
    }
    const struct node_view *p =
        c->primary >= 0 ? &e->view.nodes[c->primary] : NULL;
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
    const struct engine *e = ctx;
    const struct cluster_view *found = NULL;
    const struct node_view *node = NULL;
    for (size_t ci = 0; ci < e->view.n_clusters; ci++) {
        const struct cluster_view *c = &e->view.clusters[ci];
        if (cluster && strcmp(c->name, cluster) != 0)
            continue;
        const struct node_view *n = view_of(e, c->name, target);
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
    fill_env(e, found, node, out);
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
        if (fail_stop(x))
            return; /* never act unrecorded */
        char why[192];
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
        if (journal_flush(x) < 0) {
            fail_stop(x);
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
    const struct node_view *v = view_of(x->e, j->cluster, j->target);
    double after = v && v->fresh && v->rv.have_lag ? v->rv.lag : -1;
    bool ok = after >= 0 && j->lag_before >= 0 && after < j->lag_before;
    j->verify_at = 0;
    exec_audit(x, ok ? "verified" : "verify_failed", j, NULL,
               ok ? "lag fell" : "lag did not fall in time", false, after);
    if (ok)
        return;
    act_escalation(x, j, "verify: lag did not fall");
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

struct job *exec_new_job(struct executor *x, const struct plan_decision *d,
                         const struct queued_alert *a)
{
    struct job *j = xcalloc(1, sizeof(*j));
    snprintf(j->key, sizeof(j->key), "%s", d->key);
    snprintf(j->cluster, sizeof(j->cluster), "%s", d->cluster);
    snprintf(j->target, sizeof(j->target), "%s", d->target);
    j->rb = d->rb;
    j->set = x->rules ? runbook_set_ref(x->rules) : NULL;
    j->dry_run = d->dry_run;
    j->on_resolved = d->on_resolved;
    j->lag_before = d->lag_before;
    struct buf b;
    buf_init(&b, 0);
    j->alert = xcalloc(1, sizeof(*j->alert));
    struct queued_alert *c = j->alert;
    size_t n = a->n_labels;
    /* a private copy: the queued alert is freed after planning */
    c->labels = xcalloc(n ? n : 1, sizeof(*c->labels));
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "%s%c%s%c", a->labels[i].name, 0, a->labels[i].value, 0);
    buf_printf(&b, "%s", a->fingerprint);
    c->strings = buf_detach(&b);
    const char *p = c->strings;
    for (size_t i = 0; i < n; i++) {
        c->labels[i].name = p;
        p += strlen(p) + 1;
        c->labels[i].value = p;
        p += strlen(p) + 1;
    }
    c->fingerprint = (char *)p;
    c->n_labels = n;
    /* at the tail: advance() starts jobs in the order they were planned,
     * so a steady stream of new alerts cannot starve older jobs */
    struct job **pp = &x->jobs;
    while (*pp)
        pp = &(*pp)->next;
    *pp = j;
    return j;
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
    cJSON_AddNumberToObject(o, "t", clock_wall(&x->e->clock));
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
    const char *name = runbook_label(a->labels, a->n_labels, "alertname");
    const char *labels[] = {"alertname", "status", NULL};
    const char *values[] = {name ? name : "",
                            a->resolved ? "resolved" : "firing", NULL};
    exec_count(x, MF_ALERTS_RECEIVED_TOTAL, labels, values, 1);
}

static void plan_alert(struct executor *x, struct queued_alert *a)
{
    struct plan_alert pa = {a->labels, a->n_labels, a->fingerprint,
                            a->starts_at, a->resolved};
    count_alert(x, a);
    plan_list_reset(&x->plans);
    if (x->rules)
        planner_plan(x->planner, x->rules, &pa, x->e->cfg->dry_run,
                     clock_wall(&x->e->clock), lookup, x->e, &x->plans);
    take_decisions(x, a);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "processed");
    cJSON_AddNumberToObject(o, "record", (double)a->seq);
    cJSON_AddNumberToObject(o, "index", (double)a->index);
    exec_journal_json(x, o);
}

/* --- the restore ramp ----------------------------------------------------- */

static void on_ramp(void *arg, const struct poll_result *r)
{
    struct throttle *t = arg;
    t->busy = false;
    if (r->outcome != POLL_OK)
        log_msg(LOG_WARN, "msg=\"restore step failed\" cluster=%s status=%ld",
                t->cluster, r->status);
}

/* lag_returned: whether a replica of cluster is at or above warning. */
static bool lag_returned(const struct executor *x, const char *cluster)
{
    for (size_t i = 0; i < x->e->view.n_nodes; i++) {
        const struct node_view *n = &x->e->view.nodes[i];
        if (strcmp(n->cluster, cluster) == 0 && !n->is_primary &&
            n->health != HEALTH_HEALTHY)
            return true;
    }
    return false;
}

/* ramp: one step up restore_steps per restore_interval while every
 * replica is healthy, one back down while one is not; past the last
 * step the limit is removed. */
static void ramp(struct executor *x, struct throttle *t, double now)
{
    struct cluster_rt *c = exec_cluster_named(x->e, t->cluster);
    struct slot *s = free_slot(x);
    if (!c || !t->ramping || t->busy || now < t->next_at || !s)
        return;
    const struct config_throttle *ct = &c->conf->throttle;
    bool back = lag_returned(x, t->cluster);
    if (back && t->step > 1)
        t->step -= 2; /* the step before the current one */
    else if (back)
        t->step = 0;
    double limit = t->step < ct->n_restore_steps
                       ? (double)ct->restore_steps[t->step]
                       : 0; /* 0 removes the limit */
    char url[1024];
    struct profile_request rq;
    profile_of(c->conf->profile)->set_limit(limit, &rq);
    snprintf(url, sizeof(url), "%s%s", c->nodes[c->primary].conf->url, rq.path);
    if (x->e->cfg->dry_run || poller_request(s->req, rq.method, url, rq.body,
                                             ACTION_TIMEOUT, on_ramp, t) == 0)
        t->busy = !x->e->cfg->dry_run;
    profile_request_free(&rq);
    log_msg(LOG_INFO,
            "msg=\"throttle restore step\" cluster=%s limit=%.0f "
            "lag_returned=%d dry_run=%d",
            t->cluster, limit, back, x->e->cfg->dry_run);
    t->limit = limit;
    t->step++;
    t->next_at = now + ct->restore_interval;
    if (limit == 0) {
        t->active = false;
        t->ramping = false;
    }
}

/* --- the tick ------------------------------------------------------------- */

static void take_acks(struct executor *x)
{
    char *acks[16];
    size_t n = remedy_take_acks(x->rem, acks, ARRAY_LEN(acks));
    for (size_t i = 0; i < n; i++) {
        bool was = planner_ack(x->planner, acks[i]);
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
    fail_stop(x);
    bool held = tilt_active(&x->e->tilt);
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
    journal_flush(x);
    guard_demotes_expire(&x->demotes, x->e->view.rounds);
    if (!held) {
        advance(x);
        for (size_t i = 0; i < x->n_throttles; i++)
            ramp(x, &x->throttles[i], now);
    }
    reap(x, now, held);
    journal_flush(x);
    if (now - x->audit_synced >= 1.0) {
        audit_sync(x->audit); /* the journal is the record; this is for
                                 people, synced once a second */
        x->audit_synced = now;
    }
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
    journal_flush(x);
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

/* --- the view ------------------------------------------------------------- */

void executor_fill_view(struct executor *x, struct agent_view *v)
{
    v->remediation = true;
    v->paused = remedy_paused(x->rem);
    v->journal_failed = journal_failed(remedy_journal(x->rem));
    v->audit_write_failures = x->audit ? audit_failures(x->audit) : 0;
    v->in_flight = x->in_flight;
    x->samples =
        xrealloc(x->samples, (x->n_counters + 8) * sizeof(*x->samples));
    size_t k = 0;
    for (size_t i = 0; i < x->n_counters; i++, k++) {
        const struct counter *o = &x->counters[i];
        struct view_sample *s = &x->samples[k];
        memset(s, 0, sizeof(*s));
        s->family = o->family;
        for (int l = 0; l < 4 && o->label[l][0]; l++) {
            s->label[l] = o->label[l];
            s->value[l] = o->value[l];
        }
        s->v = o->v;
    }
    static const unsigned codes[] = {200, 400, 401, 403, 413, 503};
    static const char *const code_names[] = {"200", "400", "401",
                                             "403", "413", "503"};
    uint64_t counts[ARRAY_LEN(codes)];
    remedy_request_counts(x->rem, codes, counts, ARRAY_LEN(codes));
    for (size_t i = 0; i < ARRAY_LEN(codes); i++) {
        struct view_sample *s = &x->samples[k++];
        memset(s, 0, sizeof(*s));
        s->family = MF_WEBHOOK_REQUESTS_TOTAL;
        s->label[0] = "code";
        s->value[0] = code_names[i];
        s->v = (double)counts[i];
    }
    v->samples = x->samples;
    v->n_samples = k;
    for (size_t i = 0; i < v->n_clusters; i++) {
        struct cluster_view *c = &v->clusters[i];
        const struct throttle *t = NULL;
        for (size_t m = 0; m < x->n_throttles; m++)
            if (strcmp(x->throttles[m].cluster, c->name) == 0)
                t = &x->throttles[m];
        c->throttle_active = t && t->active;
        c->throttle_limit = t ? t->limit : 0;
    }
    for (size_t i = 0; i < x->n_recent; i++) {
        const struct recent *r =
            &x->recent[(x->recent_head + RECENT - 1 - i) % RECENT];
        x->vrecent[i] =
            (struct view_action){r->time,   r->cluster, r->runbook, r->action,
                                 r->target, r->outcome, r->detail,  r->dry_run};
    }
    v->recent = x->vrecent;
    v->n_recent = x->n_recent;
}

/* --- replay at start ------------------------------------------------------ */

struct intent {
    char key[PLANNER_KEY_MAX];
    int step;
    char action[32], cluster[PLANNER_NAME_MAX], target[PLANNER_NAME_MAX];
    char runbook[PLANNER_NAME_MAX], fingerprint[ALERT_MAX_FINGERPRINT + 1];
};

struct replay {
    struct executor *x;
    struct queued_alert **alerts;
    size_t n_alerts, cap_alerts;
    uint64_t *done; /* seq << 20 | index of processed alerts */
    size_t n_done, cap_done;
    struct intent *open;
    size_t n_open, cap_open;
    struct resume *resume;
    uint64_t seq; /* of the record being replayed */
};

static void replay_plan(struct replay *rp, const cJSON *o)
{
    struct planner *p = rp->x->planner;
    planner_restore_key(p, jsonget_str(o, "key"), jsonget_num(o, "t"));
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ran")))
        planner_restore_run(p, jsonget_str(o, "runbook"),
                            jsonget_str(o, "cluster"), jsonget_str(o, "target"),
                            jsonget_num(o, "t"), jsonget_num(o, "cooldown"));
}

static void replay_step(struct replay *rp, const cJSON *o, bool intent)
{
    int step = (int)jsonget_num(o, "step");
    if (!intent) {
        for (size_t i = rp->n_open; i-- > 0;) {
            if (rp->open[i].step == step &&
                strcmp(rp->open[i].key, jsonget_str(o, "job")) == 0) {
                rp->open[i] = rp->open[--rp->n_open];
                return;
            }
        }
        return;
    }
    if (rp->n_open == rp->cap_open) {
        rp->cap_open = rp->cap_open ? 2 * rp->cap_open : 16;
        rp->open = xrealloc(rp->open, rp->cap_open * sizeof(*rp->open));
    }
    struct intent *it = &rp->open[rp->n_open++];
    snprintf(it->key, sizeof(it->key), "%s", jsonget_str(o, "job"));
    it->step = step;
    snprintf(it->action, sizeof(it->action), "%s", jsonget_str(o, "action"));
    snprintf(it->cluster, sizeof(it->cluster), "%s", jsonget_str(o, "cluster"));
    snprintf(it->target, sizeof(it->target), "%s", jsonget_str(o, "target"));
    snprintf(it->runbook, sizeof(it->runbook), "%s", jsonget_str(o, "runbook"));
    snprintf(it->fingerprint, sizeof(it->fingerprint), "%s",
             jsonget_str(o, "fingerprint"));
}

/* intent_origin: an intent's runbook and alert fingerprint; an intent
 * journaled before they were recorded in it takes them from its job's
 * plan and the plan's alert. */
static void intent_origin(struct replay *rp, struct intent *it)
{
    const char *runbook = NULL;
    uint64_t alert = 0;
    if (it->runbook[0] && it->fingerprint[0])
        return;
    if (resume_origin(rp->resume, it->key, &runbook, &alert) < 0)
        return;
    if (!it->runbook[0])
        snprintf(it->runbook, sizeof(it->runbook), "%s", runbook);
    for (size_t i = 0; i < rp->n_alerts && !it->fingerprint[0]; i++)
        if ((rp->alerts[i]->seq << 20 | rp->alerts[i]->index) == alert)
            snprintf(it->fingerprint, sizeof(it->fingerprint), "%s",
                     rp->alerts[i]->fingerprint);
}

static void replay_alerts(struct replay *rp, const char *text, uint64_t seq)
{
    struct queued_alert **v;
    size_t n = remedy_parse_record(text, seq, &v);
    for (size_t i = 0; i < n; i++) {
        if (rp->n_alerts == rp->cap_alerts) {
            rp->cap_alerts = rp->cap_alerts ? 2 * rp->cap_alerts : 64;
            rp->alerts =
                xrealloc(rp->alerts, rp->cap_alerts * sizeof(*rp->alerts));
        }
        rp->alerts[rp->n_alerts++] = v[i];
    }
    free(v);
}

static void replay_done(struct replay *rp, const cJSON *o)
{
    if (rp->n_done == rp->cap_done) {
        rp->cap_done = rp->cap_done ? 2 * rp->cap_done : 64;
        rp->done = xrealloc(rp->done, rp->cap_done * sizeof(*rp->done));
    }
    rp->done[rp->n_done++] = (uint64_t)jsonget_num(o, "record") << 20 |
                             (uint64_t)jsonget_num(o, "index");
}

static void replay_obj(struct replay *rp, const cJSON *o)
{
    const char *type = jsonget_str(o, "type");
    if (strcmp(type, "processed") == 0) {
        replay_done(rp, o);
    } else if (strcmp(type, "plan") == 0) {
        replay_plan(rp, o);
        resume_plan(rp->resume, o, rp->seq);
    } else if (strcmp(type, "intent") == 0 || strcmp(type, "outcome") == 0) {
        replay_step(rp, o, type[0] == 'i');
        if (type[0] == 'i')
            resume_intent(rp->resume, jsonget_str(o, "job"),
                          (int)jsonget_num(o, "step"), rp->seq);
        else if (strcmp(jsonget_str(o, "outcome"), "interrupted") == 0)
            resume_interrupted(rp->resume, jsonget_str(o, "job"), rp->seq);
    } else if (strcmp(type, "cancel") == 0) {
        resume_cancel(rp->resume, jsonget_str(o, "job"), rp->seq);
    }
}

static int replay_one(void *ctx, const struct journal_record *r)
{
    struct replay *rp = ctx;
    rp->seq = r->seq;
    cJSON *o = cJSON_Parse(r->payload);
    const char *type = jsonget_str(o, "type");
    const cJSON *it;
    if (strcmp(type, "alerts") == 0) {
        replay_alerts(rp, r->payload, r->seq);
    } else if (strcmp(type, "batch") == 0) {
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "records"))
        {
            replay_obj(rp, it);
        }
    }
    cJSON_Delete(o);
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* replay_finish: interrupted intents are recorded; unplanned alerts go
 * back on the queue. */
static void replay_finish(struct replay *rp)
{
    struct executor *x = rp->x;
    for (size_t i = 0; i < rp->n_open; i++) {
        struct intent *it = &rp->open[i];
        intent_origin(rp, it);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "outcome");
        cJSON_AddStringToObject(o, "job", it->key);
        cJSON_AddNumberToObject(o, "step", it->step);
        cJSON_AddStringToObject(o, "outcome", "interrupted");
        exec_journal_json(x, o);
        struct audit_record ar = {
            .time = clock_wall(&x->e->clock),
            .event = "interrupted",
            .cluster = it->cluster,
            .runbook = it->runbook[0] ? it->runbook : NULL,
            .action = it->action,
            .target = it->target,
            .fingerprint = it->fingerprint[0] ? it->fingerprint : NULL,
            .reason = "replguard stopped mid-action; "
                      "not run again"};
        if (x->audit)
            audit_write(x->audit, &ar);
        log_msg(LOG_WARN,
                "msg=\"action interrupted by a restart\" job=\"%s\" "
                "action=%s target=%s",
                it->key, it->action, it->target);
        resume_interrupted(rp->resume, it->key, UINT64_MAX);
    }
    size_t resumed = resume_finish(rp->resume, x, rp->alerts, rp->n_alerts);
    if (rp->n_done)
        qsort(rp->done, rp->n_done, sizeof(*rp->done), cmp_u64);
    size_t requeued = 0;
    for (size_t i = 0; i < rp->n_alerts; i++) {
        struct queued_alert *a = rp->alerts[i];
        uint64_t id = a->seq << 20 | a->index;
        if (rp->n_done &&
            bsearch(&id, rp->done, rp->n_done, sizeof(id), cmp_u64)) {
            queued_alert_free(a);
        } else {
            remedy_requeue(x->rem, a);
            requeued++;
        }
    }
    if (requeued || rp->n_open || resumed)
        log_msg(LOG_INFO,
                "msg=\"journal replayed\" requeued_alerts=%zu "
                "interrupted=%zu resumed_jobs=%zu",
                requeued, rp->n_open, resumed);
    resume_free(rp->resume);
    free(rp->alerts);
    free(rp->done);
    free(rp->open);
}

/* --- life cycle ----------------------------------------------------------- */

struct executor *executor_new(struct engine *e, struct remedy *rem,
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
    x->e = e;
    x->rem = rem;
    x->rules = rules;
    x->audit = au;
    x->planner = planner_new();
    planner_set_paused(x->planner, remedy_paused(rem));
    for (int i = 0; i < SLOTS; i++) {
        x->slots[i].x = x;
        x->slots[i].req = poller_req_new(e->poller, 1 << 20);
    }
    struct replay rp = {.x = x, .resume = resume_new()};
    journal_replay(remedy_journal(rem), replay_one, &rp);
    replay_finish(&rp);
    journal_flush(x);
    return x;
}

void executor_free(struct executor *x)
{
    if (!x)
        return;
    journal_flush(x);
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
    planner_free(x->planner);
    plan_list_free(&x->plans);
    runbook_set_free(x->rules);
    audit_close(x->audit);
    guard_demotes_reset(&x->demotes);
    free(x->throttles);
    free(x->counters);
    free(x->samples);
    free(x);
}
