/* ramp.c: the restore ramp of the ingest throttle (restore_throttle),
 * its record for a new owner and its handover (executor_internal.h).
 *
 * The ramp: one step up restore_steps per restore_interval while every
 * replica is healthy, one back down while one is not; past the last
 * step the limit is removed.
 *
 * With ha: the throttle's state is the cluster's "throttle" job record
 * (act_env.job_phase): written when the throttle is set, when the ramp
 * starts, before each move acts (the move decided: its step and limit,
 * "acting") and after the node took it; deleted once the limit is
 * gone. A move acts only once etcd has its record, so the record a new
 * owner reads is the move in flight or the last one taken, never one
 * behind: it makes the move in flight again (the same limit twice is
 * harmless) or waits out the interval after the last one, and no ramp
 * is left behind with the node throttled. */
#include "act/executor_internal.h"
#include "act/fence.h"

#include "config/config.h"
#include "lib/clock.h"
#include "lib/jsonget.h"
#include "lib/log.h"
#include "lib/poller.h"
#include "lib/util.h"
#include "profiles/profile.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KIND "throttle"

static struct throttle *find(struct executor *x, const char *cluster)
{
    for (size_t i = 0; i < x->n_throttles; i++)
        if (strcmp(x->throttles[i]->cluster, cluster) == 0)
            return x->throttles[i];
    return NULL;
}

struct throttle *ramp_throttle_of(struct executor *x, const char *cluster)
{
    struct throttle *t = find(x, cluster);
    if (t)
        return t;
    x->throttles =
        xrealloc(x->throttles, (x->n_throttles + 1) * sizeof(*x->throttles));
    t = xcalloc(1, sizeof(*t));
    t->x = x;
    snprintf(t->cluster, sizeof(t->cluster), "%s", cluster);
    x->throttles[x->n_throttles++] = t;
    return t;
}

void ramp_record(struct executor *x, const struct throttle *t)
{
    if (!x->env.job_phase || exec_dry_run(x))
        return;
    if (!t->active && !t->pending) {
        x->env.job_phase(x->env.ctx, t->cluster, KIND, NULL);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", KIND);
    cJSON_AddStringToObject(o, "cluster", t->cluster);
    cJSON_AddNumberToObject(o, "limit", t->limit);
    cJSON_AddBoolToObject(o, "ramping", t->ramping);
    cJSON_AddNumberToObject(o, "step", (double)t->step);
    cJSON_AddNumberToObject(o, "at", t->at);
    if (t->pending) {
        cJSON_AddNumberToObject(o, "acting_step", (double)t->pend_step);
        cJSON_AddNumberToObject(o, "acting_limit", t->pend_limit);
    }
    char *text = cJSON_PrintUnformatted(o);
    if (text)
        x->env.job_phase(x->env.ctx, t->cluster, KIND, text);
    cJSON_free(text);
    cJSON_Delete(o);
}

/* taken: the node took t's pending move (or a dry run pretends so). */
static void taken(struct executor *x, struct throttle *t)
{
    const struct config_cluster *c =
        x->env.cluster_conf(x->env.ctx, t->cluster);
    t->limit = t->pend_limit;
    t->step = t->pend_step + 1;
    t->pending = false;
    t->at = clock_wall(x->env.clock);
    t->next_at =
        clock_mono(x->env.clock) + (c ? c->throttle.restore_interval : 0);
    if (t->limit == 0)
        t->active = t->ramping = false;
    ramp_record(x, t);
}

static void on_ramp(void *arg, const struct poll_result *r)
{
    struct throttle *t = arg;
    struct executor *x = t->x;
    t->busy = false;
    if (r->outcome == POLL_OK) {
        taken(x, t);
        return;
    }
    /* the move stays pending and is tried again after the interval (a
     * deposed owner's 409 too: it does not act until it owns the
     * cluster again, and then takes over what etcd says) */
    const struct config_cluster *c =
        x->env.cluster_conf(x->env.ctx, t->cluster);
    t->next_at =
        clock_mono(x->env.clock) + (c ? c->throttle.restore_interval : 0);
    log_msg(LOG_WARN, "msg=\"restore step failed\" cluster=%s status=%ld",
            t->cluster, r->status);
}

/* lag_returned: whether a replica of cluster is at or above warning. */
static bool lag_returned(const struct executor *x, const char *cluster)
{
    for (size_t i = 0; i < x->env.view->n_nodes; i++) {
        const struct node_view *n = &x->env.view->nodes[i];
        if (strcmp(n->cluster, cluster) == 0 && !n->is_primary &&
            n->health != HEALTH_HEALTHY)
            return true;
    }
    return false;
}

/* decide: t's next move (step and limit), recorded before it acts. */
static void decide(struct executor *x, struct throttle *t,
                   const struct config_throttle *ct)
{
    size_t step = t->step;
    if (lag_returned(x, t->cluster))
        step = step > 1 ? step - 2 : 0; /* the step before the current one */
    t->pend_step = step;
    t->pend_limit = step < ct->n_restore_steps ? (double)ct->restore_steps[step]
                                               : 0; /* 0 removes the limit */
    t->pending = true;
    ramp_record(x, t);
}

static struct slot *free_slot(struct executor *x)
{
    for (int i = 0; i < SLOTS; i++)
        if (!x->slots[i].job && !poller_req_busy(x->slots[i].req))
            return &x->slots[i];
    return NULL;
}

/* ramp: t's move when one is due, this instance owns the cluster, and
 * the move's record is stored. */
static void ramp(struct executor *x, struct throttle *t, double now)
{
    if (!t->ramping || t->busy || now < t->next_at)
        return;
    const struct config_cluster *c =
        x->env.cluster_conf(x->env.ctx, t->cluster);
    struct slot *s = free_slot(x);
    if (!c || !s || !act_owner(&x->env, t->cluster, NULL))
        return;
    if (!t->pending)
        decide(x, t, &c->throttle);
    bool dry = exec_dry_run(x);
    if (!dry && x->env.job_synced &&
        !x->env.job_synced(x->env.ctx, t->cluster, KIND))
        return; /* a new owner must find this move, not the one before */
    char url[1024];
    struct profile_request rq;
    profile_of(c->profile)->set_limit(t->pend_limit, &rq);
    snprintf(url, sizeof(url), "%s%s",
             x->env.node_url(x->env.ctx, t->cluster, NULL), rq.path);
    act_fence(&x->env, s->req, t->cluster);
    log_msg(LOG_INFO,
            "msg=\"throttle restore step\" cluster=%s step=%zu limit=%.0f "
            "dry_run=%d",
            t->cluster, t->pend_step, t->pend_limit, dry);
    if (dry)
        taken(x, t);
    else if (poller_request(s->req, rq.method, url, rq.body, ACTION_TIMEOUT,
                            on_ramp, t) == 0)
        t->busy = true;
    else
        t->next_at = now + c->throttle.restore_interval;
    profile_request_free(&rq);
}

void ramp_tick(struct executor *x, double now)
{
    for (size_t i = 0; i < x->n_throttles; i++)
        ramp(x, x->throttles[i], now);
}

/* adopt_record: t from the record o the owner before left. */
static void adopt_record(struct executor *x, struct throttle *t, const cJSON *o)
{
    const struct config_cluster *c =
        x->env.cluster_conf(x->env.ctx, t->cluster);
    double interval = c ? c->throttle.restore_interval : 0;
    double wall = clock_wall(x->env.clock), mono = clock_mono(x->env.clock);
    t->active = true;
    t->limit = jsonget_num(o, "limit");
    t->ramping = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ramping"));
    t->step = (size_t)jsonget_num(o, "step");
    t->at = jsonget_num(o, "at");
    t->pending = cJSON_GetObjectItemCaseSensitive(o, "acting_step") != NULL;
    t->pend_step = (size_t)jsonget_num(o, "acting_step");
    t->pend_limit = jsonget_num(o, "acting_limit");
    /* a move in flight is made again at once; after one taken, the
     * interval runs from when it was taken */
    double wait = t->at + interval - wall;
    t->next_at = t->pending || wait <= 0 ? mono : mono + wait;
}

int ramp_adopt(struct executor *x, const char *cluster, const char *json)
{
    if (!json) { /* nothing in flight: whatever we knew is over */
        struct throttle *t = find(x, cluster);
        if (t && !t->busy)
            t->active = t->ramping = t->pending = false;
        return 0;
    }
    struct throttle *t = ramp_throttle_of(x, cluster);
    cJSON *o = cJSON_Parse(json);
    bool ok = cJSON_IsObject(o) && strcmp(jsonget_str(o, "type"), KIND) == 0 &&
              strcmp(jsonget_str(o, "cluster"), cluster) == 0;
    if (ok && !t->busy) {
        adopt_record(x, t, o);
        log_msg(LOG_WARN,
                "msg=\"ha: taking over the throttle the owner before left\" "
                "cluster=%s limit=%.0f ramping=%d next_step=%zu acting=%d",
                cluster, t->limit, t->ramping,
                t->pending ? t->pend_step : t->step, t->pending);
        struct job tmp = {.lag_before = -1};
        snprintf(tmp.cluster, sizeof(tmp.cluster), "%s", cluster);
        exec_audit(x, "throttle_handover", &tmp, "restore_throttle",
                   t->ramping ? "restore ramp taken over from the owner before"
                              : "throttle taken over from the owner before",
                   false, -1);
    }
    cJSON_Delete(o);
    return ok ? 0 : -1;
}
