/* actions.c: the node calls of one remediation step, on the engine
 * thread (see executor_internal.h). Node calls go through the engine's curl
 * multi handle on a few action slots; exec actions through spawn.c.
 * Called by executor.c (actions_internal.h); calls down into execstate.c
 * only, and reads the engine through x->env. */
#include "act/actions_internal.h"
#include "act/executor_internal.h"
#include "act/escalation.h"
#include "act/failover_internal.h"
#include "act/fence.h"

#include "act/guard.h"
#include "lib/log.h"
#include "act/planner.h"
#include "lib/poller.h"
#include "profiles/profile.h"
#include "act/remedy.h"
#include "config/runbook.h"
#include "lib/spawn.h"
#include "config/config.h"
#include "lib/clock.h"
#include "lib/util.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THROTTLE_FACTOR 0.5 /* multiplicative decrease of the ingest rate */

static const char *const outcome_names[] = {"success", "failure", "dry_run"};

/* --- finishing steps ------------------------------------------------------ */

void act_release_slot(struct slot *s)
{
    profile_free_ids(s->agents, s->n_agents);
    s->agents = NULL;
    s->n_agents = s->next_agent = 0;
    spawn_free(s->child);
    s->child = NULL;
    s->phase = 0;
    s->job = NULL;
}

void act_journal_step(struct executor *x, const struct job *j, const char *type,
                      const char *outcome)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", type);
    cJSON_AddStringToObject(o, "job", j->key);
    cJSON_AddNumberToObject(o, "step", (double)j->at);
    cJSON_AddStringToObject(o, "action",
                            runbook_action_name(j->steps[j->at]->action));
    cJSON_AddStringToObject(o, "cluster", j->cluster);
    cJSON_AddStringToObject(o, "target", j->target);
    if (!outcome) { /* what an "interrupted" record needs after a crash */
        cJSON_AddStringToObject(o, "runbook", runbook_name(j->rb));
        cJSON_AddStringToObject(o, "fingerprint", j->alert->fingerprint);
        int64_t token;
        act_owner(&x->env, j->cluster, &token);
        if (token > 0) /* ha: the fencing token the step's calls carry */
            cJSON_AddNumberToObject(o, "fence", (double)token);
    }
    if (outcome)
        cJSON_AddStringToObject(o, "outcome", outcome);
    exec_journal_json(x, o);
}

void act_finish_step(struct executor *x, struct job *j, enum outcome o,
                     const char *detail)
{
    const char *action = runbook_action_name(j->steps[j->at]->action);
    if (j->steps[j->at]->action == RUNBOOK_ACT_DEMOTE) {
        if (o == OUT_DRY_RUN) /* decided as live would: counted alike */
            guard_demotes_start(&x->demotes, j->cluster, j->target);
        guard_demotes_done(&x->demotes, j->cluster, j->target,
                           x->env.view->rounds);
    }
    act_journal_step(x, j, "outcome", outcome_names[o]);
    exec_audit(x, "action", j, action, detail, o == OUT_DRY_RUN, -1);
    const char *labels[] = {"cluster", "runbook", "action", "outcome", NULL};
    const char *values[] = {j->cluster, runbook_name(j->rb), action,
                            outcome_names[o], NULL};
    exec_count(x, MF_REMEDIATION_ACTIONS_TOTAL, labels, values, 1);
    exec_remember(x, j, action, outcome_names[o], detail);
    char q[192];
    log_msg(o == OUT_FAILURE ? LOG_WARN : LOG_INFO,
            "msg=\"remediation action\" cluster=%s runbook=%s action=%s "
            "target=%s outcome=%s detail=%s",
            j->cluster, runbook_name(j->rb), action, j->target,
            outcome_names[o], log_quote(q, sizeof(q), detail ? detail : ""));
    if (j->slot)
        act_release_slot(j->slot);
    j->slot = NULL;
    j->running = false;
    x->in_flight--;
    j->at++;
    if (j->at == j->n && !j->dry_run && !j->on_resolved && !j->cancelled &&
        runbook_verify_within(j->rb) > 0)
        j->verify_at = clock_mono(x->env.clock) + runbook_verify_within(j->rb);
}

void act_escalation(struct executor *x, const struct job *j, const char *why)
{
    const char *labels[] = {"cluster", "runbook", NULL};
    const char *values[] = {j->cluster, runbook_name(j->rb), NULL};
    exec_count(x, MF_ESCALATIONS_TOTAL, labels, values, 1);
    planner_block(x->planner, j->cluster);
    log_msg(LOG_ERROR,
            "msg=\"escalation: cluster blocked until acked\" cluster=%s "
            "runbook=%s target=%s reason=\"%s\"",
            j->cluster, runbook_name(j->rb), j->target, why);
    escalation_raise(x, j->cluster, j->target, runbook_name(j->rb), why);
}

/* --- node calls ----------------------------------------------------------- */

static void on_done(void *arg, const struct poll_result *r);

static const char *primary_url(struct executor *x, const char *cluster)
{
    return x->env.node_url(x->env.ctx, cluster, NULL);
}

static const char *node_url(struct executor *x, const char *cluster,
                            const char *node)
{
    return x->env.node_url(x->env.ctx, cluster, node);
}

/* call: one request for the slot's running step. */
static int call(struct executor *x, struct slot *s, const char *method,
                const char *base, const char *path, const char *json)
{
    char url[1024];
    if (!base)
        return -1;
    snprintf(url, sizeof(url), "%s%s", base, path);
    act_fence(&x->env, s->req, s->job->cluster);
    return poller_request(s->req, method, url, json, ACTION_TIMEOUT, on_done,
                          s);
}

/* ops_of: the profile of the cluster called cluster. */
static const struct profile_ops *ops_of(struct executor *x, const char *cluster)
{
    const struct config_cluster *c = x->env.cluster_conf(x->env.ctx, cluster);
    return profile_of(c ? c->profile : PROFILE_STEMEDB);
}

/* send: sends rq to the primary or to the target of s's job; frees it. */
static int send(struct executor *x, struct slot *s, struct profile_request *rq)
{
    const struct job *j = s->job;
    const char *base = rq->at == PROFILE_AT_PRIMARY
                           ? primary_url(x, j->cluster)
                           : node_url(x, j->cluster, j->target);
    int rc = call(x, s, rq->method, base, rq->path, rq->body);
    profile_request_free(rq);
    return rc;
}

static int replica_call(struct executor *x, struct slot *s,
                        void (*build)(const char *, struct profile_request *))
{
    struct profile_request rq;
    build(s->job->target, &rq);
    return send(x, s, &rq);
}

static double throttle_limit(struct executor *x, const struct job *j)
{
    const struct config_cluster *c =
        x->env.cluster_conf(x->env.ctx, j->cluster);
    double rate = 0, floor_ = c ? (double)c->throttle.floor : 1;
    if (c && x->env.ingest_rate(x->env.ctx, j->cluster, 10, &rate) == 0)
        rate *= THROTTLE_FACTOR;
    return rate > floor_ ? floor(rate) : floor_;
}

static int set_rate_limit(struct executor *x, struct slot *s,
                          const char *cluster, double limit)
{
    struct profile_request rq;
    ops_of(x, cluster)->set_limit(limit, &rq);
    return send(x, s, &rq);
}

/* healthy_others: healthy, serving replicas of the target's cluster but
 * it, as the last poll saw them, less those replguard is demoting or has
 * demoted since (the poll does not show them yet). */
static int healthy_others(struct executor *x, const struct job *j)
{
    int n = 0;
    for (size_t i = 0; i < x->env.view->n_nodes; i++) {
        const struct node_view *v = &x->env.view->nodes[i];
        n += strcmp(v->cluster, j->cluster) == 0 && !v->is_primary &&
             strcmp(v->name, j->target) != 0 && v->health == HEALTH_HEALTHY &&
             !v->rv.demoted &&
             !guard_demotes_has(&x->demotes, j->cluster, v->name);
    }
    return n;
}

/* target_role: whether j's target is among its cluster's nodes (the
 * return) and whether it is, or says it is, a primary. */
static bool target_role(struct executor *x, const struct job *j,
                        bool *is_primary)
{
    for (size_t i = 0; i < x->env.view->n_nodes; i++) {
        const struct node_view *v = &x->env.view->nodes[i];
        if (strcmp(v->cluster, j->cluster) != 0 ||
            strcmp(v->name, j->target) != 0)
            continue;
        *is_primary = v->is_primary || strcmp(v->role, "primary") == 0;
        return true;
    }
    *is_primary = false;
    return false;
}

const char *act_refusal(struct executor *x, const struct job *j, char *why,
                        size_t n)
{
    enum runbook_action a = j->steps[j->at]->action;
    const char *name = runbook_action_name(a);
    bool primary;
    bool known = target_role(x, j, &primary);
    if (!guard_role_ok(a, known, primary)) {
        snprintf(why, n, "%s acts on a replica; %s is %s", name, j->target,
                 known ? "the primary" : "not a node of the cluster");
        return "wrong_role";
    }
    if (a == RUNBOOK_ACT_DEMOTE && healthy_others(x, j) == 0) {
        snprintf(why, n,
                 "%s is the last healthy replica (counting demotes running "
                 "or done since the last poll)",
                 j->target);
        return "last_healthy";
    }
    if (a == RUNBOOK_ACT_PROMOTE && !ops_of(x, j->cluster)->promote) {
        snprintf(why, n, "the cluster's profile has no failover");
        return "unsupported";
    }
    return NULL;
}

/* close_step: j's current step closed without running: journal intent
 * and outcome, audit event, the skipped counter, recent, log. */
static void close_step(struct executor *x, struct job *j, const char *event,
                       const char *outcome, const char *reason, const char *why)
{
    const char *action = runbook_action_name(j->steps[j->at]->action);
    char text[256];
    snprintf(text, sizeof(text), "%s: %s", reason, why);
    /* an intent closed at once: a restart neither resumes nor reports it
     * as interrupted */
    act_journal_step(x, j, "intent", NULL);
    act_journal_step(x, j, "outcome", outcome);
    exec_audit(x, event, j, action, text, j->dry_run, -1);
    const char *labels[] = {"cluster", "runbook", "reason", NULL};
    const char *values[] = {j->cluster, runbook_name(j->rb), reason, NULL};
    exec_count(x, MF_REMEDIATION_SKIPPED_TOTAL, labels, values, 1);
    exec_remember(x, j, action, outcome, text);
    char q[300];
    log_msg(LOG_WARN,
            "msg=\"remediation action %s\" cluster=%s runbook=%s "
            "action=%s target=%s reason=%s detail=%s dry_run=%d",
            outcome, j->cluster, runbook_name(j->rb), action, j->target, reason,
            log_quote(q, sizeof(q), why), j->dry_run);
    j->at++;
}

void act_refuse(struct executor *x, struct job *j, const char *reason,
                const char *why)
{
    close_step(x, j, "refused", "refused", reason, why);
}

void act_skip_step(struct executor *x, struct job *j, const char *reason,
                   const char *why)
{
    close_step(x, j, "skipped", "skipped", reason, why);
}

static const char *lookup_var(void *ctx, const char *name)
{
    return runbook_vars_lookup(ctx, name);
}

static struct runbook_vars vars_of(const struct job *j)
{
    return (struct runbook_vars){j->cluster, j->target, j->alert->labels};
}

static int start_http(struct executor *x, struct slot *s,
                      const struct runbook_step *st)
{
    struct runbook_vars v = vars_of(s->job);
    struct buf url, body;
    buf_init(&url, 8192);
    buf_init(&body, 65536);
    int rc = runbook_render_template(st->url, lookup_var, &v,
                                     RUNBOOK_ESCAPE_URL, &url);
    if (rc == 0 && st->body)
        rc = runbook_render_template(st->body, lookup_var, &v,
                                     RUNBOOK_ESCAPE_JSON, &body);
    act_fence(&x->env, s->req, s->job->cluster);
    if (rc == 0)
        rc = poller_request(s->req, runbook_method_name(st->method), url.data,
                            st->body ? body.data : NULL, st->timeout, on_done,
                            s);
    buf_free(&url);
    buf_free(&body);
    return rc;
}

static int start_escalate(struct executor *x, struct slot *s,
                          const struct runbook_step *st)
{
    const struct job *j = s->job;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "source", "replguard");
    cJSON_AddStringToObject(o, "cluster", j->cluster);
    cJSON_AddStringToObject(o, "target", j->target);
    cJSON_AddStringToObject(o, "runbook", runbook_name(j->rb));
    cJSON_AddStringToObject(o, "fingerprint", j->alert->fingerprint);
    if (j->lag_before >= 0)
        cJSON_AddNumberToObject(o, "lag_seconds", j->lag_before);
    cJSON_AddNumberToObject(o, "time", clock_wall(x->env.clock));
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    act_fence(&x->env, s->req, j->cluster);
    int rc =
        poller_request(s->req, "POST", st->url, text, st->timeout, on_done, s);
    cJSON_free(text);
    return rc;
}

static int start_exec(struct executor *x, struct slot *s,
                      const struct runbook_step *st, char *err, size_t n)
{
    const struct job *j = s->job;
    struct runbook_vars v = vars_of(j);
    char **argv = xcalloc(st->argc + 1, sizeof(*argv));
    const struct labels *labels = &j->alert->labels;
    char **env = xcalloc(labels->n + 1, sizeof(*env));
    size_t ne = 0;
    for (size_t i = 0; i < st->argc; i++) {
        struct buf b;
        buf_init(&b, 65536);
        runbook_render_template(st->argv[i], lookup_var, &v,
                                RUNBOOK_ESCAPE_NONE, &b);
        argv[i] = buf_detach(&b);
    }
    for (size_t i = 0; i < labels->n; i++) {
        struct buf b;
        buf_init(&b, 65536);
        const struct label *l = &labels->v[i];
        if (spawn_label_env(l->name, l->value, strlen(l->value), &b) == 0)
            env[ne++] = buf_detach(&b);
        buf_free(&b);
    }
    struct spawn_env se = {(const char *const *)env, ne};
    s->child = spawn_start((const char *const *)argv, &se, st->timeout,
                           clock_mono(x->env.clock), err, n);
    for (size_t i = 0; i < st->argc; i++)
        free(argv[i]);
    for (size_t i = 0; i < ne; i++)
        free(env[i]);
    free(argv);
    free(env);
    return s->child ? 0 : -1;
}

/* start_restore: starts the restore ramp of j's cluster's throttle, up
 * from where the limit is: the first step above it (past the last one,
 * the next move removes the limit). */
static void start_restore(struct executor *x, struct job *j)
{
    struct throttle *t = ramp_throttle_of(x, j->cluster);
    if (t->active && !t->ramping) {
        const struct config_throttle *ct =
            &x->env.cluster_conf(x->env.ctx, j->cluster)->throttle;
        t->step = 0;
        while (t->step < ct->n_restore_steps &&
               (double)ct->restore_steps[t->step] <= t->limit)
            t->step++;
        t->ramping = true;
        t->pending = false;
        t->next_at = clock_mono(x->env.clock);
        ramp_record(x, t); /* a new owner continues it */
    }
    act_finish_step(x, j, OUT_SUCCESS,
                    t->active ? "restore ramp started" : "no throttle set");
}

/* start_promote: the failover machine runs it (failover_run.c); the
 * step is done once the failover is journaled and started, or refused. */
static void start_promote(struct executor *x, struct job *j)
{
    char why[256] = "", detail[300];
    const char *no =
        fo_start_runbook(x, j->cluster, j->target, why, sizeof(why));
    snprintf(detail, sizeof(detail), "%s%s%s", no ? no : "", no ? ": " : "",
             why);
    act_finish_step(x, j, no ? OUT_FAILURE : OUT_SUCCESS, detail);
}

/* start_cancel: cancel_blocking_queries on the target standby. */
static int start_cancel(struct executor *x, struct slot *s,
                        const struct runbook_step *st)
{
    const struct profile_ops *ops = ops_of(x, s->job->cluster);
    if (!ops->cancel_queries) /* --check-config refuses it */
        return -1;
    struct profile_request rq;
    ops->cancel_queries(st->older_than, &rq);
    return send(x, s, &rq);
}

/* act_start_action: the node call(s) of the job's current step; returns 0
 * when a call or child is under way, else finishes the step itself. */
void act_start_action(struct executor *x, struct job *j, struct slot *s)
{
    const struct runbook_step *st = j->steps[j->at];
    char err[256] = "";
    int rc = -1;
    switch (st->action) {
    case RUNBOOK_ACT_THROTTLE:
        s->limit = throttle_limit(x, j);
        rc = set_rate_limit(x, s, j->cluster, s->limit);
        break;
    case RUNBOOK_ACT_RESTORE_THROTTLE:
        appramp_restore(x, j->cluster);
        start_restore(x, j);
        return;
    case RUNBOOK_ACT_THROTTLE_APP:
        appramp_set(x, j, st);
        return;
    case RUNBOOK_ACT_FORCE_SYNC:
        rc = replica_call(x, s, ops_of(x, j->cluster)->force_sync);
        break;
    case RUNBOOK_ACT_RESET_CIRCUIT_BREAKERS: {
        struct profile_request rq;
        ops_of(x, j->cluster)->list_breakers(&rq);
        rc = send(x, s, &rq);
        break;
    }
    case RUNBOOK_ACT_CANCEL_BLOCKING_QUERIES:
        rc = start_cancel(x, s, st);
        break;
    case RUNBOOK_ACT_DEMOTE:
        /* counted by the last-healthy guard from now until the poll
         * shows the node's role (act_refusal ran just before) */
        guard_demotes_start(&x->demotes, j->cluster, j->target);
        rc = replica_call(x, s, ops_of(x, j->cluster)->demote);
        break;
    case RUNBOOK_ACT_ESCALATE:
        act_escalation(x, j, "escalate_step");
        if (!st->url) { /* Alertmanager only (escalation.h) */
            act_finish_step(x, j, OUT_SUCCESS, "escalation raised");
            return;
        }
        rc = start_escalate(x, s, st);
        break;
    case RUNBOOK_ACT_PROMOTE:
        start_promote(x, j);
        return;
    case RUNBOOK_ACT_HTTP:
        rc = start_http(x, s, st);
        break;
    case RUNBOOK_ACT_EXEC:
        rc = start_exec(x, s, st, err, sizeof(err));
        break;
    default:
        break;
    }
    if (rc < 0)
        act_finish_step(x, j, OUT_FAILURE,
                        err[0] ? err : "request not started");
}

/* breakers_next: resets the next tripped breaker, or finishes. */
static void breakers_next(struct executor *x, struct slot *s)
{
    struct job *j = s->job;
    if (s->next_agent == s->n_agents) {
        char detail[64];
        snprintf(detail, sizeof(detail), "%zu breakers reset", s->n_agents);
        act_finish_step(x, j, OUT_SUCCESS, detail);
        return;
    }
    struct profile_request rq;
    ops_of(x, j->cluster)->reset_breaker(s->agents[s->next_agent++], &rq);
    int rc = send(x, s, &rq);
    if (rc < 0)
        act_finish_step(x, j, OUT_FAILURE, "request not started");
}

const char *exec_status_reason(const struct poll_result *r)
{
    /* for an HTTP status curl's message is its "No error" */
    if (r->outcome != POLL_HTTP_STATUS || !r->error ||
        strcmp(r->error, "No error") == 0)
        return "";
    return r->error;
}

/* cancelled_detail: "N queries cancelled (ids: a b ...)" from an
 * answer of cancel_queries, a row per query, its id first. */
static void cancelled_detail(const char *body, size_t len, char *out, size_t n)
{
    struct buf ids;
    buf_init(&ids, 120); /* the first ids: enough to find them in logs */
    unsigned count = 0;
    for (const char *p = body, *end = body + len; p < end;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *stop = eol ? eol : end;
        size_t id = strcspn(p, "\t\n");
        if (stop > p) {
            count++;
            buf_printf(&ids, " %.*s",
                       (int)(id < (size_t)(stop - p) ? id : (size_t)(stop - p)),
                       p);
        }
        p = stop + 1;
    }
    snprintf(out, n, "%u queries cancelled%s%s%s", count, count ? " (ids:" : "",
             count && ids.data ? ids.data : "", count ? ")" : "");
    buf_free(&ids);
}

static void on_done(void *arg, const struct poll_result *r)
{
    struct slot *s = arg;
    struct executor *x = s->x;
    struct job *j = s->job;
    const struct runbook_step *st = j->steps[j->at];
    char detail[192];
    if (r->outcome != POLL_OK) {
        if (r->outcome == POLL_HTTP_STATUS) /* an SQL node says why */
            snprintf(detail, sizeof(detail), "HTTP %ld%s%.140s", r->status,
                     exec_status_reason(r)[0] ? ": " : "",
                     exec_status_reason(r));
        else
            snprintf(detail, sizeof(detail), "%s", r->error);
        act_finish_step(x, j, OUT_FAILURE, detail);
        return;
    }
    if (st->action == RUNBOOK_ACT_RESET_CIRCUIT_BREAKERS) {
        if (s->phase++ == 0 &&
            ops_of(x, j->cluster)
                    ->read_breakers(r->body, r->len, &s->agents, &s->n_agents) <
                0) {
            act_finish_step(x, j, OUT_FAILURE,
                            "the tripped breakers answer is not a list of "
                            "agent_ids");
            return;
        }
        breakers_next(x, s);
        return;
    }
    snprintf(detail, sizeof(detail), "HTTP %ld", r->status);
    if (st->action == RUNBOOK_ACT_CANCEL_BLOCKING_QUERIES)
        cancelled_detail(r->body, r->len, detail, sizeof(detail));
    if (st->action == RUNBOOK_ACT_THROTTLE) {
        struct throttle *t = ramp_throttle_of(x, j->cluster);
        t->active = true;
        t->ramping = t->pending = false;
        t->limit = s->limit;
        t->at = clock_wall(x->env.clock);
        ramp_record(x, t); /* a new owner knows it is throttled */
        snprintf(detail, sizeof(detail), "ingest limit %.0f/s", s->limit);
    }
    act_finish_step(x, j, OUT_SUCCESS, detail);
}

/* act_poll_child: an exec step's child, without blocking. */
void act_poll_child(struct executor *x, struct slot *s, double now)
{
    if (!s->child || !spawn_poll(s->child, now))
        return;
    struct spawn_result res;
    spawn_result(s->child, &res);
    char detail[160];
    if (res.timed_out)
        snprintf(detail, sizeof(detail), "timed out; process group killed");
    else if (res.term_signal)
        snprintf(detail, sizeof(detail), "killed by signal %d",
                 res.term_signal);
    else
        snprintf(detail, sizeof(detail), "exit %d", res.exit_code);
    bool ok = !res.timed_out && !res.term_signal && res.exit_code == 0;
    act_finish_step(x, s->job, ok ? OUT_SUCCESS : OUT_FAILURE, detail);
}
