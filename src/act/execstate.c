/* execstate.c: the executor's bookkeeping, the bottom of the acting half
 * (see executor_internal.h for the files above it): labelled counters,
 * the journal queue and its flush, fail-stop, audit lines, the recent
 * actions, the job list, and the remediation part of the view. It calls
 * nothing of executor.c, actions.c, replay.c or resume.c; they call it,
 * on the engine thread. */
#include "act/executor.h"
#include "act/executor_internal.h"

#include "act/audit.h"
#include "act/journal.h"
#include "act/planner.h"
#include "act/appthrottle.h"
#include "act/remedy.h"
#include "config/runbook.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/util.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- counters and records ----------------------------------------------- */

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

/* exec_journal_json: queues a record; exec_journal_flush writes the queued ones
 * as one durable record, so the plans of a batch of alerts cost one fsync.
 * Every record that must precede an action (plan, intent) is flushed
 * before the action starts. */
void exec_journal_json(struct executor *x, cJSON *o)
{
    if (!x->batch)
        x->batch = cJSON_CreateArray();
    cJSON_AddItemToArray(x->batch, o);
}

/* exec_fail_stop: whether the journal has failed; logs the transition once.
 * From then on nothing acts (an action must never run unrecorded) while
 * polling, /metrics (replguard_journal_failed) and health go on. */
bool exec_fail_stop(struct executor *x)
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

/* exec_journal_flush: writes the queued records as one durable record.
 * Returns 0 or -errno (the journal has failed). */
int exec_journal_flush(struct executor *x)
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

/* recent_after: the lag a verify saw, onto j's newest recent action, so
 * that the status page's timeline shows before and after. */
static void recent_after(struct executor *x, const struct job *j, double lag)
{
    for (size_t i = 0; i < x->n_recent; i++) {
        struct recent *r =
            &x->recent[(x->recent_head + RECENT - 1 - i) % RECENT];
        if (strcmp(r->cluster, j->cluster) == 0 &&
            strcmp(r->target, j->target) == 0 &&
            strcmp(r->runbook, runbook_name(j->rb)) == 0) {
            r->lag_after = lag;
            return;
        }
    }
}

void exec_audit(struct executor *x, const char *event, const struct job *j,
                const char *action, const char *reason, bool dry_run,
                double lag_after)
{
    struct audit_record r = {
        .time = clock_wall(x->env.clock),
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
    if (j && lag_after >= 0)
        recent_after(x, j, lag_after);
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
    r->time = clock_wall(x->env.clock);
    snprintf(r->cluster, sizeof(r->cluster), "%s", j->cluster);
    snprintf(r->runbook, sizeof(r->runbook), "%s", runbook_name(j->rb));
    snprintf(r->action, sizeof(r->action), "%s", action);
    snprintf(r->target, sizeof(r->target), "%s", j->target);
    snprintf(r->outcome, sizeof(r->outcome), "%s", outcome);
    snprintf(r->detail, sizeof(r->detail), "%s", detail ? detail : "");
    r->dry_run = j->dry_run;
    r->lag_before = j->lag_before;
    r->lag_after = -1;
}

/* --- the engine's answers (x->env) -------------------------------------- */

bool exec_dry_run(const struct executor *x)
{
    return x->env.dry_run(x->env.ctx);
}

/* --- jobs --------------------------------------------------------------- */

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
    j->alert = queued_alert_copy(a);
    /* at the tail: advance() starts jobs in the order they were planned,
     * so a steady stream of new alerts cannot starve older jobs */
    struct job **pp = &x->jobs;
    while (*pp)
        pp = &(*pp)->next;
    *pp = j;
    return j;
}

/* --- the view ----------------------------------------------------------- */

/* fill_app_throttles: the app throttles not expired, for the state. */
static void fill_app_throttles(struct executor *x, struct appthrottle *apps,
                               struct agent_view *v)
{
    double now = clock_wall(x->env.clock);
    if (!x->app_list) {
        x->app_list = xcalloc(APPTHROTTLE_MAX_SET, sizeof(*x->app_list));
        x->vapps = xcalloc(APPTHROTTLE_MAX_SET, sizeof(*x->vapps));
    }
    size_t n = appthrottle_list(apps, now, x->app_list, APPTHROTTLE_MAX_SET);
    n = n < APPTHROTTLE_MAX_SET ? n : APPTHROTTLE_MAX_SET;
    for (size_t i = 0; i < n; i++)
        x->vapps[i] = (struct view_app_throttle){
            x->app_list[i].app, x->app_list[i].cluster, x->app_list[i].ratio,
            x->app_list[i].expires};
    v->app_throttles = x->vapps;
    v->n_app_throttles = n;
}

/* check_samples: replguard_check_total into out (room for max series;
 * series added since they were counted wait for the next round).
 * Returns how many were written. The strings belong to apps. */
static size_t check_samples(struct appthrottle *apps, struct view_sample *out,
                            size_t max)
{
    struct appthrottle_series *ser = xcalloc(max + 1, sizeof(*ser));
    size_t n = appthrottle_series(apps, ser, max);
    n = n < max ? n : max;
    for (size_t i = 0; i < n; i++) {
        struct view_sample *s = &out[i];
        memset(s, 0, sizeof(*s));
        s->family = MF_CHECK_TOTAL;
        s->label[0] = "cluster";
        s->value[0] = ser[i].cluster;
        s->label[1] = "app";
        s->value[1] = ser[i].app;
        s->label[2] = "code";
        s->value[2] = ser[i].code;
        s->v = (double)ser[i].count;
    }
    free(ser);
    return n;
}

/* last_target: the target of the newest recent action of runbook in
 * cluster, or NULL. */
static const char *last_target(const struct executor *x, const char *runbook,
                               const char *cluster)
{
    for (size_t i = 0; i < x->n_recent; i++) {
        const struct recent *r =
            &x->recent[(x->recent_head + RECENT - 1 - i) % RECENT];
        if (strcmp(r->runbook, runbook) == 0 &&
            strcmp(r->cluster, cluster) == 0)
            return r->target;
    }
    return NULL;
}

/* fill_runbooks: each runbook's hourly budget in each cluster it was
 * planned for, and the cooldown on its last target. */
static void fill_runbooks(struct executor *x, struct agent_view *v)
{
    size_t n = planner_budget_count(x->planner), k = 0;
    if (n > x->rb_cap) {
        x->rb_cap = n;
        x->vrunbooks = xrealloc(x->vrunbooks, n * sizeof(*x->vrunbooks));
        x->rb_names = xrealloc(x->rb_names, n * sizeof(*x->rb_names));
    }
    double now = clock_wall(x->env.clock);
    for (size_t i = 0; i < n; i++) {
        char(*names)[PLANNER_NAME_MAX] = x->rb_names[k];
        size_t used = planner_budget_at(x->planner, i, now, names[0], names[1]);
        const struct runbook *rb =
            x->rules ? runbook_set_find(x->rules, names[0]) : NULL;
        if (!rb)
            continue; /* gone with a reload */
        const char *t = last_target(x, names[0], names[1]);
        snprintf(names[2], PLANNER_NAME_MAX, "%s", t ? t : "");
        double until =
            t ? planner_cooldown_until(x->planner, names[0], names[1], t) : 0;
        x->vrunbooks[k++] =
            (struct view_runbook){names[0],
                                  names[1],
                                  (unsigned)used,
                                  runbook_max_actions_per_hour(rb),
                                  t ? names[2] : NULL,
                                  until > now ? until : 0};
    }
    v->runbooks = x->vrunbooks;
    v->n_runbooks = k;
}

/* fill_clusters: each cluster's throttle and escalation latch, and the
 * recent actions, newest first. */
static void fill_clusters(struct executor *x, struct agent_view *v)
{
    for (size_t i = 0; i < v->n_clusters; i++) {
        struct cluster_view *c = &v->clusters[i];
        const struct throttle *t = NULL;
        for (size_t m = 0; m < x->n_throttles; m++)
            if (strcmp(x->throttles[m]->cluster, c->name) == 0)
                t = x->throttles[m];
        c->throttle_active = t && t->active;
        c->throttle_limit = t ? t->limit : 0;
        c->latched = planner_blocked(x->planner, c->name);
    }
    for (size_t i = 0; i < x->n_recent; i++) {
        const struct recent *r =
            &x->recent[(x->recent_head + RECENT - 1 - i) % RECENT];
        x->vrecent[i] = (struct view_action){
            r->time,    r->cluster, r->runbook, r->action,     r->target,
            r->outcome, r->detail,  r->dry_run, r->lag_before, r->lag_after};
    }
    v->recent = x->vrecent;
    v->n_recent = x->n_recent;
    fill_runbooks(x, v);
}

void exec_fill_view(struct executor *x, struct agent_view *v)
{
    v->remediation = true;
    v->paused = remedy_paused(x->rem);
    v->journal_failed = journal_failed(remedy_journal(x->rem));
    v->audit_write_failures = x->audit ? audit_failures(x->audit) : 0;
    v->in_flight = x->in_flight;
    struct appthrottle *apps = remedy_apps(x->rem);
    size_t n_checks = appthrottle_series(apps, NULL, 0);
    x->samples = xrealloc(x->samples,
                          (x->n_counters + 8 + n_checks) * sizeof(*x->samples));
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
    k += check_samples(apps, &x->samples[k], n_checks);
    fill_app_throttles(x, apps, v);
    v->samples = x->samples;
    v->n_samples = k;
    fill_clusters(x, v);
}
