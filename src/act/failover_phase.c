/* failover_phase.c: the journaled phases of one failover (see
 * failover_internal.h) and their node calls. A phase is journaled
 * durably before it starts; a restart resumes at the last journaled
 * phase, so every phase's start re-checks the view for what already took
 * effect (the candidate already primary at the epoch: no second promote)
 * and every node call is safe to repeat (epochs: a node refuses a lower
 * one, and E is never reused for another promotion). */
#include "act/failover_internal.h"
#include "act/executor_internal.h"
#include "act/fence.h"

#include "act/audit.h"
#include "config/config.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/poller.h"
#include "lib/util.h"
#include "profiles/profile.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREPARE_WAIT 30.0 /* switchover: the candidate within one round */
#define CATCHUP_WAIT 30.0 /* switchover: the candidate has every write */
#define VERIFY_WAIT  10.0 /* a write and the replicas streaming */

const char *const fo_phase_names[PH_COUNT] = {
    "idle",    "plan",    "prepare", "epoch",    "fence", "catchup",
    "promote", "repoint", "verify",  "rollback", "done",  "refused"};
const char *const fo_kind_names[FO_KINDS] = {"automatic", "switchover",
                                             "runbook"};

/* --- records, audit lines, notices ---------------------------------------- */

cJSON *fo_record(struct executor *x, const struct fo_cluster *fc,
                 const char *phase)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "failover");
    cJSON_AddStringToObject(o, "cluster", fc->name);
    cJSON_AddStringToObject(o, "id", fc->id);
    cJSON_AddStringToObject(o, "phase", phase);
    cJSON_AddStringToObject(o, "kind", fo_kind_names[fc->kind]);
    cJSON_AddBoolToObject(o, "planned", fc->planned);
    cJSON_AddStringToObject(o, "from", fc->from);
    cJSON_AddStringToObject(o, "to", fc->to);
    cJSON_AddNumberToObject(o, "need", (double)fc->need);
    cJSON_AddNumberToObject(o, "loss", (double)fc->loss);
    cJSON_AddNumberToObject(o, "epoch", (double)fc->epoch);
    cJSON_AddBoolToObject(o, "dry_run", fc->dry_run);
    cJSON_AddNumberToObject(o, "t", clock_wall(x->env.clock));
    int64_t token;
    act_owner(&x->env, fc->name, &token);
    if (token > 0) /* ha: the fencing token the phase's calls carry */
        cJSON_AddNumberToObject(o, "fence", (double)token);
    return o;
}

void fo_audit(struct executor *x, const struct fo_cluster *fc,
              const char *event, const char *phase, int ok, const char *detail)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", fc->id);
    cJSON_AddStringToObject(o, "kind", fo_kind_names[fc->kind]);
    cJSON_AddStringToObject(o, "from", fc->from);
    cJSON_AddStringToObject(o, "to", fc->to);
    cJSON_AddNumberToObject(o, "epoch", (double)fc->epoch);
    cJSON_AddNumberToObject(o, "need", (double)fc->need);
    cJSON_AddNumberToObject(o, "loss", (double)fc->loss);
    if (phase)
        cJSON_AddStringToObject(o, "phase", phase);
    if (ok >= 0)
        cJSON_AddBoolToObject(o, "ok", ok);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    size_t n = strlen(text);
    text[n - 1] = '\0'; /* the members only: no braces */
    struct audit_record r = {
        .time = clock_wall(x->env.clock),
        .event = event,
        .cluster = fc->name,
        .runbook = "failover",
        .action = phase,
        .target = fc->to[0] ? fc->to : NULL,
        .dry_run = fc->dry_run,
        .reason = detail,
        .extra = text + 1,
    };
    if (x->audit)
        audit_write(x->audit, &r);
    cJSON_free(text);
}

void fo_escalate(struct executor *x, const struct fo_cluster *fc,
                 const char *why)
{
    const char *labels[] = {"cluster", "runbook", NULL};
    const char *values[] = {fc->name, "failover", NULL};
    exec_count(x, MF_ESCALATIONS_TOTAL, labels, values, 1);
    fo_audit(x, fc, "escalated", NULL, -1, why);
    char q[320];
    log_msg(LOG_WARN, "msg=\"failover: escalation\" cluster=%s reason=%s",
            fc->name, log_quote(q, sizeof(q), why));
}

void fo_set_last(struct fo_cluster *fc, const char *kind, const char *outcome,
                 const char *from, const char *to, const char *reason,
                 uint64_t epoch, uint64_t lost, double started_wall,
                 double duration)
{
    snprintf(fc->last_kind, sizeof(fc->last_kind), "%s", kind);
    snprintf(fc->last_outcome, sizeof(fc->last_outcome), "%s", outcome);
    snprintf(fc->last_from, sizeof(fc->last_from), "%s", from);
    snprintf(fc->last_to, sizeof(fc->last_to), "%s", to);
    snprintf(fc->last_reason, sizeof(fc->last_reason), "%s",
             reason ? reason : "");
    fc->last = (struct view_failover){
        .kind = fc->last_kind,
        .outcome = fc->last_outcome,
        .from = fc->last_from[0] ? fc->last_from : NULL,
        .to = fc->last_to[0] ? fc->last_to : NULL,
        .reason = reason && reason[0] ? fc->last_reason : NULL,
        .epoch = epoch,
        .lost_positions = lost,
        .started_wall = started_wall,
        .duration = duration,
    };
    fc->have_last = true;
}

/* --- node calls ----------------------------------------------------------- */

double fo_call_timeout(const struct executor *x)
{
    double t = x->env.view->interval * 0.8;
    return t < 0.1 ? 0.1 : t > ACTION_TIMEOUT ? ACTION_TIMEOUT : t;
}

struct fo_call *fo_call_of(struct fo_cluster *fc, const char *node)
{
    for (size_t i = 0; i < fc->n_calls; i++)
        if (strcmp(fc->calls[i]->node, node) == 0)
            return fc->calls[i];
    return NULL;
}

static void on_call(void *arg, const struct poll_result *r)
{
    struct fo_call *c = arg;
    c->busy = false;
    c->done = true;
    c->ok = r->outcome == POLL_OK;
    c->status = r->status;
    if (r->outcome == POLL_HTTP_STATUS) /* an SQL node says why */
        snprintf(c->error, sizeof(c->error), "HTTP %ld%s%s", r->status,
                 exec_status_reason(r)[0] ? ": " : "", exec_status_reason(r));
    else
        snprintf(c->error, sizeof(c->error), "%s",
                 c->ok      ? ""
                 : r->error ? r->error
                            : "failed");
    c->fc->pending--;
}

int fo_send(struct executor *x, struct fo_cluster *fc, const char *node,
            struct profile_request *rq, double timeout)
{
    struct fo_call *c = fo_call_of(fc, node);
    if (!c) {
        fc->calls = xrealloc(fc->calls, (fc->n_calls + 1) * sizeof(*fc->calls));
        c = fc->calls[fc->n_calls++] = xcalloc(1, sizeof(*c));
        c->fc = fc;
        c->req = poller_req_new(x->env.poller, 64 * 1024);
        snprintf(c->node, sizeof(c->node), "%s", node);
    }
    const char *base = x->env.node_url(x->env.ctx, fc->name, node);
    int rc = -1;
    c->done = c->ok = false;
    snprintf(c->error, sizeof(c->error), "no URL or call busy");
    if (base && !c->busy) {
        char url[1024];
        snprintf(url, sizeof(url), "%s%s", base, rq->path);
        act_fence(&x->env, c->req, fc->name);
        rc = poller_request(c->req, rq->method, url, rq->body, timeout, on_call,
                            c);
    }
    profile_request_free(rq);
    if (rc == 0) {
        c->busy = true;
        fc->pending++;
    }
    return rc;
}

/* --- the view of the run's nodes ------------------------------------------ */

static const struct cluster_view *cview(const struct executor *x,
                                        const char *name)
{
    for (size_t i = 0; i < x->env.view->n_clusters; i++)
        if (strcmp(x->env.view->clusters[i].name, name) == 0)
            return &x->env.view->clusters[i];
    return NULL;
}

static const struct node_view *nview(const struct executor *x,
                                     const char *cluster, const char *node)
{
    const struct cluster_view *cv = cview(x, cluster);
    for (size_t i = 0; cv && i < cv->n_nodes; i++) {
        const struct node_view *n = &x->env.view->nodes[cv->first_node + i];
        if (strcmp(n->name, node) == 0)
            return n;
    }
    return NULL;
}

static const struct profile_ops *ops(const struct executor *x,
                                     const struct fo_cluster *fc)
{
    const struct config_cluster *c = x->env.cluster_conf(x->env.ctx, fc->name);
    return profile_of(c ? c->profile : PROFILE_STEMEDB);
}

/* primary_at: whether the view shows node of fc's cluster as primary at
 * fc's epoch or later (a promote that already took effect). */
static bool primary_at(const struct executor *x, const struct fo_cluster *fc,
                       const char *node)
{
    const struct node_view *n = nview(x, fc->name, node);
    return n && n->fresh && strcmp(n->role, "primary") == 0 && n->have_epoch &&
           n->epoch >= fc->epoch;
}

static bool candidate_promoted(const struct executor *x,
                               const struct fo_cluster *fc)
{
    return primary_at(x, fc, fc->to);
}

/* send_promote: promotes node at fc's epoch, unless the view shows it
 * done (a restart after the promote: never a second one). */
static void send_promote(struct executor *x, struct fo_cluster *fc,
                         const char *node)
{
    if (primary_at(x, fc, node))
        return;
    struct profile_request rq;
    ops(x, fc)->promote(node, fc->epoch, &rq);
    fo_send(x, fc, node, &rq, ACTION_TIMEOUT);
}

/* --- the phases ------------------------------------------------------------
 * begin() starts a phase (its record is durable by then); check() says
 * how it stands: NEXT_OK or NEXT_NOT_OK (go on; the audit line says ok
 * false, as a fence the dead primary did not answer), WAIT, or FAIL
 * (the run ends, outcome failed, with detail). In a dry run begin()
 * calls nothing and check() says NEXT_OK at once. */

enum verdict { FAIL = -1, WAIT = 0, NEXT_NOT_OK = 1, NEXT_OK = 2 };

static void begin_prepare(struct executor *x, struct fo_cluster *fc)
{
    const struct config_cluster *c = x->env.cluster_conf(x->env.ctx, fc->name);
    struct profile_request rq;
    if (!ops(x, fc)->set_limit) /* no ingest limit (postgres): just wait */
        return;
    ops(x, fc)->set_limit(c ? (double)c->throttle.floor : 1, &rq);
    fo_send(x, fc, fc->from, &rq, ACTION_TIMEOUT);
}

/* check_prepare: the candidate within one round of the primary. */
static enum verdict check_prepare(struct executor *x, struct fo_cluster *fc,
                                  double now, char *d, size_t n)
{
    const struct node_view *p = nview(x, fc->name, fc->from),
                           *t = nview(x, fc->name, fc->to);
    double round = x->env.view->interval;
    bool close = p && t && t->fresh && t->rv.have_lag && t->rv.lag <= round;
    if (close) {
        snprintf(d, n, "%s%s within one round",
                 ops(x, fc)->set_limit ? "primary throttled; " : "", fc->to);
        return NEXT_OK;
    }
    if (now < fc->deadline)
        return WAIT;
    /* not fenced yet: giving up here changes nothing but the throttle,
     * which fo_finish removes */
    snprintf(d, n, "%s not within one round of the primary after %.0fs", fc->to,
             PREPARE_WAIT);
    return FAIL;
}

/* begin_fence: the fence carries E - 1, the epoch being ended (never
 * below what a node reported: E is past all of them): a node refuses a
 * promotion at an epoch its fenced primary has seen (two primaries of
 * one epoch), so the promotion's E must stay above the fence's. */
static void begin_fence(struct executor *x, struct fo_cluster *fc)
{
    struct profile_request rq;
    ops(x, fc)->fence(fc->epoch - 1, &rq);
    /* a dead primary must not hold an automatic failover long */
    fo_send(x, fc, fc->from, &rq,
            fc->planned ? ACTION_TIMEOUT : fo_call_timeout(x));
}

static enum verdict check_fence(struct executor *x, struct fo_cluster *fc,
                                double now, char *d, size_t n)
{
    (void)x;
    (void)now;
    const struct fo_call *c = fo_call_of(fc, fc->from);
    if (c && c->ok) {
        snprintf(d, n, "%s fenced at epoch %" PRIu64, fc->from, fc->epoch - 1);
        return NEXT_OK;
    }
    snprintf(d, n, "%s did not take the fence (%s)%s", fc->from,
             c ? c->error : "not sent",
             fc->planned ? "" : ": skipped, it is down");
    return fc->planned ? FAIL : NEXT_NOT_OK;
}

/* check_catchup: the fenced primary's last position (once a poll shows
 * it fenced), then the candidate at or past it. */
static enum verdict check_catchup(struct executor *x, struct fo_cluster *fc,
                                  double now, char *d, size_t n)
{
    const struct node_view *p = nview(x, fc->name, fc->from),
                           *t = nview(x, fc->name, fc->to);
    if (!fc->have_final && p && p->fresh && p->have_position &&
        p->last_ok_mono > fc->phase_t0 && strcmp(p->role, "primary") != 0) {
        fc->final_pos = p->position;
        fc->have_final = true;
    }
    if (fc->have_final && t && t->fresh && t->have_position &&
        t->position >= fc->final_pos) {
        snprintf(d, n, "%s at %" PRIu64 ", the fenced primary's last %" PRIu64,
                 fc->to, t->position, fc->final_pos);
        return NEXT_OK;
    }
    if (now < fc->deadline)
        return WAIT;
    snprintf(d, n, "%s did not catch up with the fenced primary in %.0fs",
             fc->to, CATCHUP_WAIT);
    return FAIL;
}

static void begin_promote(struct executor *x, struct fo_cluster *fc)
{
    send_promote(x, fc, fc->to);
}

static enum verdict check_promote(struct executor *x, struct fo_cluster *fc,
                                  double now, char *d, size_t n)
{
    const struct fo_call *c = fo_call_of(fc, fc->to);
    if ((c && c->ok) || candidate_promoted(x, fc)) {
        snprintf(d, n, "%s promoted at epoch %" PRIu64, fc->to, fc->epoch);
        return NEXT_OK;
    }
    /* refused or lost: a resumed promote may have taken effect before
     * the crash; the next polls tell, for a few rounds */
    if (now < fc->deadline)
        return WAIT;
    snprintf(d, n, "%s was not promoted (%s)", fc->to,
             c ? c->error : "not sent: already primary?");
    return FAIL;
}

/* begin_repoint: every other node of the cluster; the old primary too
 * in a switchover (it is alive and must follow); in an automatic
 * failover it is down, and rejoins when it returns (failover_run.c). */
static void begin_repoint(struct executor *x, struct fo_cluster *fc)
{
    const struct config_cluster *c = x->env.cluster_conf(x->env.ctx, fc->name);
    for (size_t i = 0; c && i < c->n_nodes; i++) {
        if (strcmp(c->nodes[i].name, fc->to) == 0 ||
            (!fc->planned && strcmp(c->nodes[i].name, fc->from) == 0))
            continue;
        struct profile_request rq;
        ops(x, fc)->replicate_from(c, c->nodes[i].name, fc->to, fc->epoch, &rq);
        fo_send(x, fc, c->nodes[i].name, &rq, fo_call_timeout(x));
    }
}

static enum verdict check_repoint(struct executor *x, struct fo_cluster *fc,
                                  double now, char *d, size_t n)
{
    (void)x;
    (void)now;
    unsigned ok = 0, all = 0;
    struct buf b;
    buf_init(&b, 0);
    for (size_t i = 0; i < fc->n_calls; i++) {
        const struct fo_call *c = fc->calls[i];
        if (strcmp(c->node, fc->to) == 0 || !c->done)
            continue;
        all++;
        ok += c->ok;
        if (!c->ok)
            buf_printf(&b, " %s: %s;", c->node, c->error);
    }
    snprintf(d, n, "%u of %u repointed to %s%s%s", ok, all, fc->to,
             b.len ? ", failed:" : "", b.len ? b.data : "");
    buf_free(&b);
    return ok == all ? NEXT_OK : NEXT_NOT_OK;
}

/* streaming: repointed replicas a poll since the repoint shows
 * connected, and how many were repointed (*of). */
static unsigned streaming(struct executor *x, struct fo_cluster *fc,
                          unsigned *of)
{
    unsigned n = 0;
    *of = 0;
    for (size_t i = 0; i < fc->n_calls; i++) {
        const struct fo_call *c = fc->calls[i];
        if (strcmp(c->node, fc->to) == 0 || strcmp(c->node, fc->from) == 0 ||
            !c->ok)
            continue;
        const struct node_view *v = nview(x, fc->name, c->node);
        (*of)++;
        n += v && v->fresh && v->last_ok_mono > fc->phase_t0 &&
             v->have_connected && v->connected;
    }
    return n;
}

/* check_verify: the replicas stream, then a probe write is acked. */
static enum verdict check_verify(struct executor *x, struct fo_cluster *fc,
                                 double now, char *d, size_t n)
{
    unsigned of, up = streaming(x, fc, &of);
    const struct fo_call *c = fo_call_of(fc, fc->to);
    if (fc->probe_sent && c && c->done) {
        fc->probe_ok = fc->probe_ok || c->ok;
        fc->probe_sent = false;
    }
    bool late = now >= fc->deadline;
    if (!fc->probe_ok && !fc->probe_sent && !late &&
        (up == of || now >= fc->deadline - VERIFY_WAIT / 2)) {
        struct profile_request rq;
        ops(x, fc)->probe_write(&rq);
        fc->probe_sent = fo_send(x, fc, fc->to, &rq, ACTION_TIMEOUT) == 0;
        return WAIT;
    }
    if ((fc->probe_ok && up == of) || late) {
        snprintf(d, n, "%s %s a write; %u of %u replicas stream from it",
                 fc->to, fc->probe_ok ? "took" : "took no", up, of);
        return !fc->probe_ok ? FAIL : up == of ? NEXT_OK : NEXT_NOT_OK;
    }
    return WAIT;
}

/* begin_rollback: a switchover that fenced its primary and then failed
 * to promote the candidate promotes the old primary back at E (above the
 * fence's E-1), unless a poll shows it primary at E already: the cluster
 * is not left without a primary. Should the candidate have become
 * primary at E after all, the node refuses (two primaries of one epoch)
 * and the candidate stays the primary. */
static void begin_rollback(struct executor *x, struct fo_cluster *fc)
{
    send_promote(x, fc, fc->from);
}

static enum verdict check_rollback(struct executor *x, struct fo_cluster *fc,
                                   double now, char *d, size_t n)
{
    const struct fo_call *c = fo_call_of(fc, fc->from);
    bool back = (c && c->ok) || primary_at(x, fc, fc->from);
    if (!back && now < fc->deadline)
        return WAIT;
    snprintf(d, n, "%s %s the primary again at epoch %" PRIu64 "%s%s", fc->from,
             back ? "is" : "is not", fc->epoch, back ? "" : ": ",
             back ? ""
             : c  ? c->error
                  : "not sent");
    return back ? NEXT_OK : NEXT_NOT_OK;
}

/* rollback_due: whether fc's failure must roll back: a switchover past
 * its fence (which it requires) whose candidate is not the primary. */
static bool rollback_due(const struct executor *x, const struct fo_cluster *fc)
{
    return fc->planned && !fc->dry_run &&
           (fc->phase == PH_CATCHUP || fc->phase == PH_PROMOTE) &&
           !candidate_promoted(x, fc);
}

/* primary_back: whether a failover of a dead primary resumed after a
 * restart, not past its fence, finds that primary up again, primary at
 * the cluster's epoch: the outage it was planned for is over, and a
 * promotion now would replace a live primary. */
static bool primary_back(const struct executor *x, const struct fo_cluster *fc)
{
    const struct cluster_view *cv = cview(x, fc->name);
    if (!fc->resumed || fc->planned || fc->phase > PH_FENCE || !cv ||
        cv->primary < 0)
        return false;
    const struct node_view *p = &x->env.view->nodes[cv->primary];
    return strcmp(p->name, fc->from) == 0 && p->fresh &&
           strcmp(p->role, "primary") == 0 &&
           (!p->have_epoch || p->epoch >= cv->epoch);
}

/* --- driving a run -------------------------------------------------------- */

static enum fo_phase next_phase(const struct fo_cluster *fc)
{
    switch (fc->phase) {
    case PH_PLAN:
        return fc->planned ? PH_PREPARE : PH_EPOCH;
    case PH_PREPARE:
        return PH_EPOCH;
    case PH_EPOCH:
        return PH_FENCE;
    case PH_FENCE:
        return fc->planned ? PH_CATCHUP : PH_PROMOTE;
    case PH_CATCHUP:
        return PH_PROMOTE;
    case PH_PROMOTE:
        return PH_REPOINT;
    case PH_REPOINT:
        return PH_VERIFY;
    default:
        return PH_DONE;
    }
}

/* record: journals fc's phase durably and hands it to env.job_phase.
 * False when the journal failed (fail-stop: the phase does not run). */
static bool record(struct executor *x, struct fo_cluster *fc)
{
    if (fc->phase == PH_EPOCH && fc->epoch == 0) {
        const struct cluster_view *cv = cview(x, fc->name);
        uint64_t seen =
            cv && cv->epoch > fc->max_epoch ? cv->epoch : fc->max_epoch;
        /* never one a node or the journal has seen; at least 2, so the
         * fence's E - 1 is an epoch (nodes start at 1) */
        fc->epoch = (seen > 1 ? seen : 1) + 1;
    }
    if (fc->epoch > fc->max_epoch)
        fc->max_epoch = fc->epoch;
    cJSON *o = fo_record(x, fc, fo_phase_names[fc->phase]);
    if (fc->phase == PH_ROLLBACK)
        cJSON_AddStringToObject(o, "reason", fc->fail_reason);
    fo_mirror(x, fc, o, false);
    exec_journal_json(x, o);
    if (exec_journal_flush(x) < 0) {
        exec_fail_stop(x);
        return false;
    }
    return true;
}

/* begin: records fc's phase (once), waits until env.job_synced says the
 * record is stored (ha), then starts the phase. Returns 1 started, 0
 * waiting, -1 the journal failed. */
static int begin(struct executor *x, struct fo_cluster *fc, double now)
{
    if (!fc->recorded && !record(x, fc))
        return -1;
    fc->recorded = true;
    if (!fc->dry_run && x->env.job_synced &&
        !x->env.job_synced(x->env.ctx, fc->name, "failover"))
        return 0; /* a new owner must find this phase, not the one before */
    fc->recorded = false;
    fc->begun = true;
    fc->phase_t0 = now;
    for (size_t i = 0; i < fc->n_calls && fc->phase != PH_VERIFY; i++)
        fc->calls[i]->done = fc->calls[i]->ok = false; /* this phase's own;
                                      verify reads the repoint's */
    double wait = fc->phase == PH_PREPARE   ? PREPARE_WAIT
                  : fc->phase == PH_CATCHUP ? CATCHUP_WAIT
                  : fc->phase == PH_VERIFY  ? VERIFY_WAIT
                                            : 3 * x->env.view->interval;
    fc->deadline = now + wait;
    if (fc->dry_run)
        return 1;
    switch (fc->phase) {
    case PH_PREPARE:
        begin_prepare(x, fc);
        break;
    case PH_FENCE:
        begin_fence(x, fc);
        break;
    case PH_PROMOTE:
        begin_promote(x, fc);
        break;
    case PH_REPOINT:
        begin_repoint(x, fc);
        break;
    case PH_ROLLBACK:
        begin_rollback(x, fc);
        break;
    default:
        break;
    }
    return 1;
}

static enum verdict check(struct executor *x, struct fo_cluster *fc, double now,
                          char *d, size_t n)
{
    if (fc->dry_run) {
        snprintf(d, n, "dry run: no node call");
        return NEXT_OK;
    }
    switch (fc->phase) {
    case PH_PREPARE:
        return check_prepare(x, fc, now, d, n);
    case PH_FENCE:
        return check_fence(x, fc, now, d, n);
    case PH_CATCHUP:
        return check_catchup(x, fc, now, d, n);
    case PH_PROMOTE:
        return check_promote(x, fc, now, d, n);
    case PH_REPOINT:
        return check_repoint(x, fc, now, d, n);
    case PH_VERIFY:
        return check_verify(x, fc, now, d, n);
    case PH_ROLLBACK:
        return check_rollback(x, fc, now, d, n);
    case PH_EPOCH:
        snprintf(d, n, "epoch %" PRIu64, fc->epoch);
        return NEXT_OK;
    default:
        snprintf(d, n, "journaled");
        return NEXT_OK;
    }
}

void fo_advance(struct executor *x, struct fo_cluster *fc, double now)
{
    while (fc->active && fc->pending == 0 && !exec_fail_stop(x)) {
        if (fc->phase == PH_DONE) {
            fo_finish(x, fc, true, NULL);
            return;
        }
        if (!fc->begun && primary_back(x, fc)) {
            fo_finish(x, fc, false,
                      "the old primary answers again at the cluster's epoch; "
                      "nothing was promoted");
            return;
        }
        if (!fc->begun) {
            if (begin(x, fc, now) <= 0)
                return; /* fail-stop, or its record is not stored yet */
            continue;   /* check at once what needs no call */
        }
        char d[512];
        enum verdict v = check(x, fc, now, d, sizeof(d));
        if (v == WAIT)
            return;
        fo_audit(x, fc, "failover_phase", fo_phase_names[fc->phase],
                 v == NEXT_OK, d);
        log_msg(v == NEXT_OK ? LOG_INFO : LOG_WARN,
                "msg=\"failover phase\" cluster=%s phase=%s ok=%d "
                "seconds=%.3f detail=\"%s\"",
                fc->name, fo_phase_names[fc->phase], v == NEXT_OK,
                now - fc->phase_t0, d);
        if (fc->phase == PH_ROLLBACK) {
            fo_finish(x, fc, false, fc->fail_reason);
            return;
        }
        if (v == FAIL && rollback_due(x, fc)) {
            snprintf(fc->fail_reason, sizeof(fc->fail_reason), "%s", d);
            fc->phase = PH_ROLLBACK;
            fc->begun = false;
            continue;
        }
        if (v == FAIL) {
            fo_finish(x, fc, false, d);
            return;
        }
        fc->phase = next_phase(fc);
        fc->begun = false;
    }
}

void fo_finish(struct executor *x, struct fo_cluster *fc, bool ok,
               const char *reason)
{
    double now = clock_mono(x->env.clock);
    double took = now - fc->t0_mono;
    const char *outcome = ok ? "success" : "failed";
    cJSON *o = fo_record(x, fc, "done");
    cJSON_AddStringToObject(o, "outcome", outcome);
    cJSON_AddNumberToObject(o, "duration", took);
    cJSON_AddNumberToObject(o, "lost_positions", (double)(ok ? fc->loss : 0));
    if (reason)
        cJSON_AddStringToObject(o, "reason", reason);
    fo_mirror(x, fc, o, true);
    exec_journal_json(x, o);
    exec_journal_flush(x);
    fc->active = false;
    fc->phase = PH_IDLE;
    char d[640];
    snprintf(d, sizeof(d), "%s %s in %.3fs%s%s", fo_kind_names[fc->kind],
             outcome, took, reason ? ": " : "", reason ? reason : "");
    fo_audit(x, fc, "failover_done", NULL, ok, d);
    log_msg(ok ? LOG_INFO : LOG_ERROR,
            "msg=\"failover done\" cluster=%s kind=%s outcome=%s from=%s "
            "to=%s epoch=%" PRIu64 " seconds=%.3f lost=%" PRIu64 " dry_run=%d",
            fc->name, fo_kind_names[fc->kind], outcome, fc->from, fc->to,
            fc->epoch, took, ok ? fc->loss : 0, fc->dry_run);
    if (fc->dry_run)
        return; /* not counted, sets no block, no notice */
    const char *labels[] = {"cluster", "kind", "outcome", NULL};
    const char *values[] = {fc->name, fo_kind_names[fc->kind], outcome, NULL};
    exec_count(x, MF_FAILOVERS_TOTAL, labels, values, 1);
    fo_set_last(fc, fo_kind_names[fc->kind], outcome, fc->from,
                ok ? fc->to : "", reason, fc->epoch, ok ? fc->loss : 0,
                fc->t0_wall, took);
    if (ok)
        fc->success_epoch = fc->epoch;
    if (ok && !fc->planned) { /* anti-flap: an operator's switchover is
                                 no flap, and blocks nothing */
        fc->last_success_wall = clock_wall(x->env.clock);
        fc->acked = false;
    }
    if (fc->planned && ops(x, fc)->set_limit) { /* its throttle goes */
        struct profile_request rq;
        ops(x, fc)->set_limit(0, &rq);
        fo_send(x, fc, fc->from, &rq, ACTION_TIMEOUT);
    }
    fo_escalate(x, fc, d);
}
