/* failover_run.c: the failover machine's tick (see failover_internal.h):
 * switchover requests from the API, automatic detection per cluster,
 * the runbook action promote, refusals, rejoin of a returned old
 * primary, and the view. The phases of a run are failover_phase.c's. */
#include "act/failover_internal.h"
#include "act/executor_internal.h"
#include "act/fence.h"

#include "act/failover.h"
#include "act/remedy.h"
#include "config/config.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/poller.h"
#include "lib/util.h"
#include "model/tilt.h"
#include "profiles/profile.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REJOIN_RETRY 5.0 /* seconds before a rejoin of a node is retried */

/* --- state ---------------------------------------------------------------- */

struct fo_state *fo_new(double start_mono)
{
    struct fo_state *f = xcalloc(1, sizeof(*f));
    f->start_mono = start_mono;
    return f;
}

void fo_free(struct fo_state *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++) {
        struct fo_cluster *fc = f->v[i];
        for (size_t k = 0; k < fc->n_calls; k++) {
            poller_req_free(fc->calls[k]->req); /* cancels one in flight */
            free(fc->calls[k]);
        }
        free(fc->calls);
        free(fc->lag_known);
        free(fc);
    }
    free(f->v);
    free(f);
}

struct fo_cluster *fo_cluster_of(struct fo_state *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->v[i]->name, name) == 0)
            return f->v[i];
    f->v = xrealloc(f->v, (f->n + 1) * sizeof(*f->v));
    struct fo_cluster *fc = f->v[f->n++] = xcalloc(1, sizeof(*fc));
    snprintf(fc->name, sizeof(fc->name), "%s", name);
    return fc;
}

bool fo_running(struct executor *x, const char *cluster)
{
    for (size_t i = 0; i < x->fo->n; i++)
        if (strcmp(x->fo->v[i]->name, cluster) == 0)
            return x->fo->v[i]->active;
    return false;
}

/* block_holds: whether c's last successful failover is within
 * block_period and no ack lifted the block since. */
static bool block_holds(struct executor *x, const struct fo_cluster *fc,
                        const struct config_cluster *c)
{
    return !fc->acked && fc->last_success_wall > 0 &&
           c->failover.block_period > 0 &&
           clock_wall(x->env.clock) - fc->last_success_wall <
               c->failover.block_period;
}

void fo_ack(struct executor *x, const char *cluster)
{
    struct fo_cluster *fc = fo_cluster_of(x->fo, cluster);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "failover_ack");
    cJSON_AddStringToObject(o, "cluster", cluster);
    cJSON_AddNumberToObject(o, "t", clock_wall(x->env.clock));
    exec_journal_json(x, o);
    fc->acked = true;
    fc->blocked = false;
    fc->refused_said[0] = '\0'; /* decide afresh: it may fail over now */
}

/* remember_lags: while cv's primary is up, which nodes' lag is known. */
static void remember_lags(struct executor *x, struct fo_cluster *fc,
                          const struct cluster_view *cv)
{
    if (cv->primary < 0)
        return; /* keep what was known before the outage */
    if (fc->n_lag != cv->n_nodes) {
        fc->lag_known =
            xrealloc(fc->lag_known,
                     (cv->n_nodes ? cv->n_nodes : 1) * sizeof(*fc->lag_known));
        fc->n_lag = cv->n_nodes;
    }
    for (size_t i = 0; i < cv->n_nodes; i++) {
        const struct node_view *n = &x->env.view->nodes[cv->first_node + i];
        fc->lag_known[i] = n->fresh && n->rv.have_lag && !n->rv.implausible;
    }
}

/* lag_memory: remember_lags' record for fo_choose, NULL when it has none
 * for these nodes (the view's lag then). */
static const bool *lag_memory(const struct fo_cluster *fc,
                              const struct cluster_view *cv)
{
    return fc->n_lag == cv->n_nodes ? fc->lag_known : NULL;
}

/* --- starting and refusing ------------------------------------------------ */

static const struct cluster_view *cview_of(const struct executor *x,
                                           const char *name)
{
    for (size_t i = 0; i < x->env.view->n_clusters; i++)
        if (strcmp(x->env.view->clusters[i].name, name) == 0)
            return &x->env.view->clusters[i];
    return NULL;
}

static const char *primary_name(const struct executor *x,
                                const struct cluster_view *cv)
{
    int p = fo_primary(x->env.view, cv);
    return p >= 0 ? x->env.view->nodes[p].name : "";
}

/* setup: fc's run fields for a failover of kind from the view's primary
 * to `to` (NULL: none), from choice ch. */
static void setup(struct executor *x, struct fo_cluster *fc,
                  const struct cluster_view *cv, enum fo_kind kind,
                  bool planned, const struct fo_choice *ch)
{
    fc->kind = kind;
    fc->planned = planned;
    fc->dry_run = exec_dry_run(x);
    fc->t0_mono = clock_mono(x->env.clock);
    fc->t0_wall = clock_wall(x->env.clock);
    snprintf(fc->id, sizeof(fc->id), "%s-%.0f-%" PRIu64, fc->name,
             fc->t0_wall * 1000, fc->max_epoch + 1);
    snprintf(fc->from, sizeof(fc->from), "%s", primary_name(x, cv));
    snprintf(fc->to, sizeof(fc->to), "%s",
             ch->node >= 0 ? x->env.view->nodes[ch->node].name : "");
    fc->need = ch->need;
    fc->loss = planned ? 0 : ch->loss; /* a switchover catches up */
    fc->epoch = 0;
    fc->have_final = fc->probe_ok = fc->probe_sent = false;
    for (size_t i = 0; i < fc->n_calls; i++)
        if (!fc->calls[i]->busy) /* a rejoin's call finishes on its own */
            fc->calls[i]->done = fc->calls[i]->ok = false;
}

/* refuse: journals plan and refused, audits failover_refused, counts and
 * escalates (a dry run: journal and audit only). */
static void refuse(struct executor *x, struct fo_cluster *fc,
                   const struct cluster_view *cv, enum fo_kind kind,
                   const struct fo_choice *ch)
{
    setup(x, fc, cv, kind, kind == FO_SWITCHOVER, ch);
    exec_journal_json(x, fo_record(x, fc, "plan"));
    cJSON *o = fo_record(x, fc, "refused");
    cJSON_AddStringToObject(o, "reason", ch->reason);
    cJSON_AddStringToObject(o, "detail", ch->why);
    exec_journal_json(x, o);
    exec_journal_flush(x);
    char d[320];
    snprintf(d, sizeof(d), "%s: %s", ch->reason, ch->why);
    fo_audit(x, fc, "failover_refused", NULL, 0, d);
    log_msg(LOG_WARN,
            "msg=\"failover refused\" cluster=%s kind=%s reason=%s "
            "detail=\"%s\" dry_run=%d",
            fc->name, fo_kind_names[kind], ch->reason, ch->why, fc->dry_run);
    if (fc->dry_run)
        return;
    const char *labels[] = {"cluster", "kind", "outcome", NULL};
    const char *values[] = {fc->name, fo_kind_names[kind], "refused", NULL};
    exec_count(x, MF_FAILOVERS_TOTAL, labels, values, 1);
    fo_set_last(fc, fo_kind_names[kind], "refused", fc->from, "", ch->reason, 0,
                0, fc->t0_wall, 0);
    fo_escalate(x, fc, d);
}

/* start: journals the plan durably and starts the run; false when the
 * journal failed (nothing started). */
static bool start(struct executor *x, struct fo_cluster *fc,
                  const struct cluster_view *cv, enum fo_kind kind,
                  bool planned, const struct fo_choice *ch)
{
    setup(x, fc, cv, kind, planned, ch);
    cJSON *o = fo_record(x, fc, "plan");
    fo_mirror(x, fc, o, false);
    exec_journal_json(x, o);
    if (exec_journal_flush(x) < 0) {
        exec_fail_stop(x);
        return false;
    }
    fc->active = true;
    fc->phase = PH_PLAN;
    fc->begun = true; /* its record is the one just written */
    fc->phase_t0 = fc->t0_mono;
    fc->resumed = false;
    char d[256];
    snprintf(d, sizeof(d),
             "%s %s -> %s: need %" PRIu64 ", %s at %" PRIu64 " (loss %" PRIu64
             ")",
             fo_kind_names[kind], fc->from, fc->to, fc->need, fc->to,
             fc->need - fc->loss, fc->loss);
    fo_audit(x, fc, "failover_plan", "plan", 1, d);
    log_msg(LOG_WARN,
            "msg=\"failover planned\" cluster=%s detail=\"%s\" "
            "dry_run=%d",
            fc->name, d, fc->dry_run);
    return true;
}

/* --- the three ways in ---------------------------------------------------- */

/* automatic: detection on cluster c (failover enabled) this tick. */
static void automatic(struct executor *x, struct fo_cluster *fc,
                      const struct cluster_view *cv,
                      const struct config_cluster *c, double now)
{
    struct fo_detect d;
    if (cv->epoch < fc->success_epoch)
        return; /* the polls have not seen our own promotion yet */
    enum fo_liveness l = fo_detect(x->env.view, cv, c, now, &d);
    if (l == FO_PRIMARY_OK) { /* the outage, if any, is over */
        fc->held_said = fc->dry_done = false;
        fc->refused_said[0] = '\0';
        fc->blocked = fc->blocked && block_holds(x, fc, c);
        return;
    }
    if (l == FO_PRIMARY_HELD) {
        if (!fc->held_said) {
            char why[200];
            snprintf(why, sizeof(why),
                     "primary %s unreachable for %.1fs but only %u of %u "
                     "replicas report their stream down",
                     primary_name(x, cv), d.unreachable_for, d.down, d.quorum);
            log_msg(LOG_WARN,
                    "msg=\"failover held: replicas still stream "
                    "from the primary\" cluster=%s detail=\"%s\"",
                    fc->name, why);
            snprintf(fc->from, sizeof(fc->from), "%s", primary_name(x, cv));
            fc->to[0] = '\0';
            fo_audit(x, fc, "failover_held", NULL, -1, why);
            fc->held_said = true;
        }
        return;
    }
    if (fc->dry_done && exec_dry_run(x))
        return; /* a dry run plans once per outage */
    struct fo_choice ch;
    if (block_holds(x, fc, c)) {
        memset(&ch, 0, sizeof(ch));
        ch.node = -1;
        ch.reason = "blocked";
        snprintf(ch.why, sizeof(ch.why),
                 "within block_period %.0fs of the last failover; "
                 "POST /api/v1/ack/%s lifts it",
                 c->failover.block_period, fc->name);
        fc->blocked = true;
    } else if (fo_choose(x->env.view, cv, c, lag_memory(fc, cv), NULL, false,
                         &ch) == 0) {
        if (start(x, fc, cv, FO_AUTOMATIC, false, &ch))
            fc->dry_done = fc->dry_run;
        return;
    }
    if (strcmp(fc->refused_said, ch.reason) == 0)
        return; /* said once per outage and reason */
    snprintf(fc->refused_said, sizeof(fc->refused_said), "%s", ch.reason);
    refuse(x, fc, cv, FO_AUTOMATIC, &ch);
}

/* request_refusal: why a switchover of cluster may not start now: the
 * HTTP status (0: it may) and "code: sentence" in *reason. */
static unsigned request_refusal(struct executor *x, const struct fo_pending *p,
                                const struct cluster_view **cvp,
                                const char **reason)
{
    const struct config_cluster *c =
        x->env.cluster_conf(x->env.ctx, p->cluster);
    const struct cluster_view *cv = cview_of(x, p->cluster);
    *cvp = cv;
    if (!c || !cv)
        return *reason = "unknown_cluster: unknown cluster", 404;
    if (p->to[0] && !config_find_node(c, p->to))
        return *reason = "unknown_node: unknown node", 404;
    if (!profile_of(c->profile)->promote)
        return *reason = "unsupported: the cluster's profile has no failover",
               409;
    if (fo_running(x, p->cluster))
        return *reason = "in_flight: a failover of the cluster is in flight",
               409;
    if (remedy_paused(x->rem))
        return *reason = "paused: remediation is paused", 409;
    if (tilt_active(x->env.tilt))
        return *reason = "tilt: TILT holds actions (a stall or a clock jump)",
               409;
    if (exec_fail_stop(x) || x->draining)
        return *reason = "stopped: remediation stopped", 503;
    const struct node_view *pn =
        cv->primary >= 0 ? &x->env.view->nodes[cv->primary] : NULL; /* up */
    if (!pn || !pn->up || !pn->fresh)
        return *reason = "primary_down: the primary does not answer; a "
                         "switchover needs it",
               409;
    return 0;
}

/* take_requests: answers the switchover requests of the API. */
static void take_requests(struct executor *x)
{
    struct fo_pending p;
    unsigned long t;
    while ((t = fo_queue_take(remedy_failovers(x->rem), &p)) != 0) {
        const struct cluster_view *cv;
        const char *reason = NULL;
        unsigned st = request_refusal(x, &p, &cv, &reason);
        if (st) {
            fo_queue_answer(remedy_failovers(x->rem), t, st, reason);
            continue;
        }
        struct fo_cluster *fc = fo_cluster_of(x->fo, p.cluster);
        const struct config_cluster *c =
            x->env.cluster_conf(x->env.ctx, p.cluster);
        struct fo_choice ch;
        if (fo_choose(x->env.view, cv, c, lag_memory(fc, cv),
                      p.to[0] ? p.to : NULL, true, &ch)) {
            refuse(x, fc, cv, FO_SWITCHOVER, &ch);
            char r[320];
            snprintf(r, sizeof(r), "%s: %s", ch.reason, ch.why);
            fo_queue_answer(remedy_failovers(x->rem), t, 409, r);
        } else if (!start(x, fc, cv, FO_SWITCHOVER, true, &ch)) {
            fo_queue_answer(remedy_failovers(x->rem), t, 503,
                            "journal: the journal failed");
        } else {
            fo_queue_answer(remedy_failovers(x->rem), t, 202, fc->to);
        }
    }
}

const char *fo_start_runbook(struct executor *x, const char *cluster,
                             const char *target, char *why, size_t n)
{
    const struct config_cluster *c = x->env.cluster_conf(x->env.ctx, cluster);
    const struct cluster_view *cv = cview_of(x, cluster);
    if (!c || !cv || !profile_of(c->profile)->promote)
        return snprintf(why, n, "no failover for this cluster"), "unsupported";
    if (fo_running(x, cluster))
        return snprintf(why, n, "a failover is in flight"), "failover";
    const struct node_view *pn =
        cv->primary >= 0 ? &x->env.view->nodes[cv->primary] : NULL; /* up */
    bool alive = pn && pn->up && pn->fresh;
    /* the alert's target is the replica to promote when it is one */
    const char *to = target && config_find_node(c, target) &&
                             strcmp(primary_name(x, cv), target) != 0
                         ? target
                         : NULL;
    struct fo_cluster *fc = fo_cluster_of(x->fo, cluster);
    if (!alive && fo_detect(x->env.view, cv, c, clock_mono(x->env.clock),
                            NULL) != FO_PRIMARY_DEAD)
        return snprintf(why, n,
                        "the primary is not dead by the detection "
                        "rules (detect_after and quorum)"),
               "not_dead";
    struct fo_choice ch;
    if (fo_choose(x->env.view, cv, c, lag_memory(fc, cv), to, alive, &ch) !=
        0) {
        refuse(x, fc, cv, FO_RUNBOOK, &ch);
        snprintf(why, n, "%s", ch.why);
        return ch.reason;
    }
    if (!start(x, fc, cv, FO_RUNBOOK, alive, &ch))
        return snprintf(why, n, "the journal failed"), "journal";
    snprintf(why, n, "failover started: %s -> %s", fc->from, fc->to);
    return NULL;
}

/* --- rejoin of a returned old primary ------------------------------------- */

/* stray_primary: a node of cv that says it is primary at an epoch below
 * the cluster's while the current primary is up at the cluster's epoch:
 * an old primary back from a crash. NULL: none. */
static const struct node_view *stray_primary(const struct executor *x,
                                             const struct cluster_view *cv)
{
    const struct agent_view *v = x->env.view;
    const struct node_view *p =
        cv->primary >= 0 ? &v->nodes[cv->primary] : NULL; /* up */
    if (!p || !p->fresh || strcmp(p->role, "primary") != 0 || !p->have_epoch ||
        p->epoch != cv->epoch)
        return NULL;
    for (size_t i = cv->first_node; i < cv->first_node + cv->n_nodes; i++) {
        const struct node_view *n = &v->nodes[i];
        if ((int)i != cv->primary && n->fresh &&
            strcmp(n->role, "primary") == 0 && n->have_epoch &&
            n->epoch < cv->epoch)
            return n;
    }
    return NULL;
}

/* rejoin_start: journals and audits the rejoin of n, then fences it
 * with the cluster's epoch (rejoin_next repoints it). */
static void rejoin_start(struct executor *x, struct fo_cluster *fc,
                         const struct cluster_view *cv,
                         const struct node_view *n, double now)
{
    const char *primary = x->env.view->nodes[cv->primary].name;
    snprintf(fc->rejoin_node, sizeof(fc->rejoin_node), "%s", n->name);
    snprintf(fc->rejoin_primary, sizeof(fc->rejoin_primary), "%s", primary);
    fc->rejoin_epoch = cv->epoch;
    bool dry = exec_dry_run(x);
    fc->rejoin_next = now + (dry ? 3600 : REJOIN_RETRY); /* dry: said once */
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "failover_rejoin");
    cJSON_AddStringToObject(o, "cluster", fc->name);
    cJSON_AddStringToObject(o, "node", n->name);
    cJSON_AddStringToObject(o, "primary", primary);
    cJSON_AddNumberToObject(o, "epoch", (double)cv->epoch);
    cJSON_AddBoolToObject(o, "dry_run", dry);
    cJSON_AddNumberToObject(o, "t", clock_wall(x->env.clock));
    exec_journal_json(x, o);
    if (exec_journal_flush(x) < 0)
        return;
    char d[256];
    snprintf(d, sizeof(d),
             "%s reports primary at epoch %" PRIu64
             " below the cluster's %" PRIu64 ": fenced and repointed to %s",
             n->name, n->epoch, cv->epoch, primary);
    struct fo_cluster tmp = *fc; /* the audit line names this node */
    snprintf(tmp.from, sizeof(tmp.from), "%s", n->name);
    snprintf(tmp.to, sizeof(tmp.to), "%s", primary);
    tmp.epoch = cv->epoch;
    tmp.dry_run = dry;
    fo_audit(x, &tmp, "rejoin", NULL, -1, d);
    log_msg(LOG_WARN,
            "msg=\"rejoin of an old primary\" cluster=%s "
            "detail=\"%s\" dry_run=%d",
            fc->name, d, dry);
    if (dry)
        return;
    struct profile_request rq;
    const struct config_cluster *c = x->env.cluster_conf(x->env.ctx, fc->name);
    profile_of(c->profile)->fence(cv->epoch, &rq);
    if (fo_send(x, fc, n->name, &rq, ACTION_TIMEOUT) == 0)
        fc->rejoin_step = 1;
}

/* rejoin_refused: the returned old primary, fenced, refused to follow
 * the new one (409: a PostgreSQL primary needs pg_rewind first, which
 * replguard does not run): escalated once per node and epoch; the
 * fence holds it out meanwhile, and the retries repeat the fence. */
static void rejoin_refused(struct executor *x, struct fo_cluster *fc,
                           const struct fo_call *k)
{
    if (strcmp(fc->rejoin_said, fc->rejoin_node) == 0 &&
        fc->rejoin_said_epoch == fc->rejoin_epoch)
        return;
    snprintf(fc->rejoin_said, sizeof(fc->rejoin_said), "%s", fc->rejoin_node);
    fc->rejoin_said_epoch = fc->rejoin_epoch;
    char d[512];
    snprintf(d, sizeof(d),
             "%s, an old primary, is fenced but cannot follow %s at epoch "
             "%" PRIu64 ": %s; a human must rewind or rebuild it",
             fc->rejoin_node, fc->rejoin_primary, fc->rejoin_epoch, k->error);
    struct fo_cluster tmp = *fc; /* the audit line names this node */
    snprintf(tmp.from, sizeof(tmp.from), "%s", fc->rejoin_node);
    snprintf(tmp.to, sizeof(tmp.to), "%s", fc->rejoin_primary);
    tmp.epoch = fc->rejoin_epoch;
    fo_escalate(x, &tmp, d);
}

/* rejoin: moves a rejoin on (fenced: repoint it), or starts one. */
static void rejoin(struct executor *x, struct fo_cluster *fc,
                   const struct cluster_view *cv,
                   const struct config_cluster *c, double now)
{
    if (fc->rejoin_step == 1) {
        const struct fo_call *k = fo_call_of(fc, fc->rejoin_node);
        fc->rejoin_step = 0;
        if (!k || !k->ok) {
            log_msg(LOG_WARN,
                    "msg=\"rejoin: fence failed\" cluster=%s "
                    "node=%s error=\"%s\"",
                    fc->name, fc->rejoin_node, k ? k->error : "");
            return;
        }
        struct profile_request rq;
        profile_of(c->profile)
            ->replicate_from(c, fc->rejoin_node, fc->rejoin_primary,
                             fc->rejoin_epoch, &rq);
        if (fo_send(x, fc, fc->rejoin_node, &rq, ACTION_TIMEOUT) == 0)
            fc->rejoin_step = 2;
        return;
    }
    if (fc->rejoin_step == 2) {
        const struct fo_call *k = fo_call_of(fc, fc->rejoin_node);
        log_msg(k && k->ok ? LOG_INFO : LOG_WARN,
                "msg=\"rejoin: repointed\" cluster=%s node=%s primary=%s "
                "ok=%d",
                fc->name, fc->rejoin_node, fc->rejoin_primary, k && k->ok);
        fc->rejoin_step = 0;
        if (k && !k->ok && k->status == 409)
            rejoin_refused(x, fc, k);
        return;
    }
    const struct node_view *n = stray_primary(x, cv);
    if (n && now >= fc->rejoin_next)
        rejoin_start(x, fc, cv, n, now);
}

/* --- the tick ------------------------------------------------------------- */

static void tick_cluster(struct executor *x, const struct cluster_view *cv,
                         double now, bool held)
{
    const struct config_cluster *c = x->env.cluster_conf(x->env.ctx, cv->name);
    if (!c || !profile_of(c->profile)->promote)
        return;
    struct fo_cluster *fc = fo_cluster_of(x->fo, cv->name);
    remember_lags(x, fc, cv);
    if (fc->pending || held)
        return; /* a running failover holds between phases */
    if (fc->active) {
        fo_advance(x, fc, now);
        return;
    }
    if (c->failover.enabled &&
        now - x->fo->start_mono >= c->failover.detect_after)
        automatic(x, fc, cv, c, now);
    /* rejoin acts on nodes: only where failover is the operator's
     * choice, or replguard itself promoted (a switchover, promote) */
    if (!fc->active && !fc->pending &&
        (c->failover.enabled || fc->success_epoch > 0))
        rejoin(x, fc, cv, c, now);
}

void fo_tick(struct executor *x, double now, bool held)
{
    take_requests(x); /* answered even when held: 409 paused, TILT */
    held = held || exec_fail_stop(x);
    for (size_t i = 0; i < x->env.view->n_clusters; i++) {
        const struct cluster_view *cv = &x->env.view->clusters[i];
        /* ha: only the owner detects, fails over and rejoins */
        tick_cluster(x, cv, now, held || !act_owner(&x->env, cv->name, NULL));
    }
}

void fo_fill_view(struct executor *x, struct agent_view *v)
{
    for (size_t i = 0; i < v->n_clusters; i++) {
        struct cluster_view *cv = &v->clusters[i];
        const struct config_cluster *c =
            x->env.cluster_conf(x->env.ctx, cv->name);
        struct fo_cluster *fc = NULL;
        for (size_t k = 0; k < x->fo->n; k++)
            if (strcmp(x->fo->v[k]->name, cv->name) == 0)
                fc = x->fo->v[k];
        cv->failover_phase =
            fc && fc->active ? fo_phase_names[fc->phase] : "idle";
        cv->failover_blocked = fc && c && fc->blocked && block_holds(x, fc, c);
        cv->last_failover = fc && fc->have_last ? &fc->last : NULL;
    }
}
