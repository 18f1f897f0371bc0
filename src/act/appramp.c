/* appramp.c: the runbook action throttle_app and its restore ramp
 * (executor_internal.h).
 *
 * The rule: restore_throttle on a cluster also ramps down the app
 * throttles runbooks set there, in the ingest ramp's rhythm: with N the
 * cluster's number of restore_steps plus one, each restore_interval the
 * ratio moves one step of ratio/N toward 0 (the first at once), one step
 * back up while a replica is again at or above warning; at 0 the
 * throttle is removed. A throttle's own expiry still ends it earlier. */
#include "act/actions_internal.h"
#include "act/appthrottle.h"
#include "act/remedy.h"
#include "act/fence.h"
#include "config/config.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct app_ramp *ramp_of(struct executor *x, const char *cluster,
                                const char *app)
{
    for (size_t i = 0; i < x->n_app_ramps; i++)
        if (strcmp(x->app_ramps[i].cluster, cluster) == 0 &&
            strcmp(x->app_ramps[i].app, app) == 0)
            return &x->app_ramps[i];
    x->app_ramps =
        xrealloc(x->app_ramps, (x->n_app_ramps + 1) * sizeof(*x->app_ramps));
    struct app_ramp *r = &x->app_ramps[x->n_app_ramps++];
    memset(r, 0, sizeof(*r));
    snprintf(r->cluster, sizeof(r->cluster), "%s", cluster);
    snprintf(r->app, sizeof(r->app), "%s", app);
    return r;
}

static void drop(struct executor *x, struct app_ramp *r)
{
    *r = x->app_ramps[--x->n_app_ramps];
}

void appramp_set(struct executor *x, struct job *j,
                 const struct runbook_step *st)
{
    double now = clock_wall(x->env.clock);
    double expires = now + st->expires;
    int rc = appthrottle_set(remedy_apps(x->rem), st->app, j->cluster,
                             st->ratio, expires, now);
    char detail[128];
    if (rc < 0) {
        snprintf(detail, sizeof(detail), "cannot store the app throttle: %s",
                 strerror(-rc));
        act_finish_step(x, j, OUT_FAILURE, detail);
        return;
    }
    struct app_ramp *r = ramp_of(x, j->cluster, st->app);
    r->ratio0 = st->ratio;
    r->expires = expires;
    r->step = 0;
    r->ramping = false;
    snprintf(detail, sizeof(detail), "app %s throttled at ratio %g for %.0fs",
             st->app, st->ratio, st->expires);
    act_finish_step(x, j, OUT_SUCCESS, detail);
}

size_t appramp_restore(struct executor *x, const char *cluster)
{
    size_t n = 0;
    double now = clock_mono(x->env.clock);
    for (size_t i = 0; i < x->n_app_ramps; i++) {
        struct app_ramp *r = &x->app_ramps[i];
        if (strcmp(r->cluster, cluster) != 0 || r->ramping)
            continue;
        r->ramping = true;
        r->next_at = now;
        n++;
    }
    return n;
}

/* lag_back: whether a replica of cluster is at or above warning. */
static bool lag_back(const struct executor *x, const char *cluster)
{
    for (size_t i = 0; i < x->env.view->n_nodes; i++) {
        const struct node_view *n = &x->env.view->nodes[i];
        if (strcmp(n->cluster, cluster) == 0 && !n->is_primary &&
            n->health != HEALTH_HEALTHY)
            return true;
    }
    return false;
}

/* move: one step of r's ramp; false once r is done (removed). */
static bool move(struct executor *x, struct app_ramp *r, double now)
{
    const struct config_cluster *c =
        x->env.cluster_conf(x->env.ctx, r->cluster);
    double wall = clock_wall(x->env.clock);
    if (!c || wall >= r->expires)
        return false;
    size_t steps = c->throttle.n_restore_steps + 1;
    if (lag_back(x, r->cluster))
        r->step = r->step ? r->step - 1 : 0;
    else
        r->step++;
    double ratio = r->ratio0 *
                   (double)(steps - (r->step < steps ? r->step : steps)) /
                   (double)steps;
    if (exec_dry_run(x))
        log_msg(LOG_INFO, "msg=\"app throttle restore step (dry run)\"");
    else if (appthrottle_set(remedy_apps(x->rem), r->app, r->cluster, ratio,
                             r->expires, wall) < 0)
        log_msg(LOG_WARN, "msg=\"app throttle restore step not stored\"");
    log_msg(LOG_INFO,
            "msg=\"app throttle restore step\" cluster=%s app=%s ratio=%g",
            r->cluster, r->app, ratio);
    r->next_at = now + c->throttle.restore_interval;
    return ratio > 0;
}

void appramp_tick(struct executor *x, double now)
{
    for (size_t i = 0; i < x->n_app_ramps;) {
        struct app_ramp *r = &x->app_ramps[i];
        if (!r->ramping || now < r->next_at ||
            !act_owner(&x->env, r->cluster, NULL) || move(x, r, now))
            i++;
        else
            drop(x, r);
    }
}
