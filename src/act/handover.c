/* handover.c: the runbook steps a new owner must know of (ha:,
 * executor_internal.h).
 *
 * The owner keeps, as the cluster's "steps" job record
 * (act_env.job_phase), each job's steps not done yet (from the one in
 * flight) and whether a verify is still due; a step starts only once
 * etcd has the record listing it. A new owner does not run them: they
 * were planned on the old owner's view for an alert it saw, the step
 * in flight may or may not have reached the node, and the later ones
 * may depend on its outcome. It journals them dropped, audits
 * "steps_dropped" and raises an escalation (reason
 * handover_steps_dropped) naming them, then deletes the record: a
 * human decides, and Alertmanager's repeat of the alert is deduped as
 * usual. Steps this member itself still had queued for a cluster it
 * takes (again) are cancelled the same way. */
#include "act/escalation.h"
#include "act/executor_internal.h"
#include "act/fence.h"

#include "formats/alert.h"
#include "lib/jsonget.h"
#include "lib/log.h"
#include "lib/util.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KIND "steps"
/* the record stays well under what a member reads back (etcdjson.h) */
#define RECORD_MAX 1800

static struct steps_rec *rec_of(struct executor *x, const char *cluster)
{
    for (size_t i = 0; i < x->n_steprecs; i++)
        if (strcmp(x->steprecs[i].cluster, cluster) == 0)
            return &x->steprecs[i];
    x->steprecs =
        xrealloc(x->steprecs, (x->n_steprecs + 1) * sizeof(*x->steprecs));
    struct steps_rec *r = &x->steprecs[x->n_steprecs++];
    memset(r, 0, sizeof(*r));
    snprintf(r->cluster, sizeof(r->cluster), "%s", cluster);
    return r;
}

static bool pending(const struct job *j)
{
    return !j->dry_run && !j->cancelled && (j->at < j->n || j->verify_at > 0);
}

static cJSON *job_json(const struct job *j)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "runbook", runbook_name(j->rb));
    cJSON_AddStringToObject(o, "target", j->target);
    cJSON *steps = cJSON_AddArrayToObject(o, "steps");
    for (size_t i = j->at; i < j->n; i++)
        cJSON_AddItemToArray(steps, cJSON_CreateString(runbook_action_name(
                                        j->steps[i]->action)));
    cJSON_AddBoolToObject(o, "started", j->running);
    cJSON_AddBoolToObject(o, "verify", j->verify_at > 0);
    return o;
}

/* record_text: the record of cluster's jobs not done, or NULL: none. */
static char *record_text(const struct executor *x, const char *cluster)
{
    cJSON *o = cJSON_CreateObject(), *jobs = NULL;
    size_t n = 0, more = 0, len = 0;
    cJSON_AddStringToObject(o, "type", KIND);
    cJSON_AddStringToObject(o, "cluster", cluster);
    for (const struct job *j = x->jobs; j; j = j->next) {
        if (strcmp(j->cluster, cluster) != 0 || !pending(j))
            continue;
        if (!jobs)
            jobs = cJSON_AddArrayToObject(o, "jobs");
        cJSON *jo = job_json(j);
        char *t = cJSON_PrintUnformatted(jo);
        size_t l = t ? strlen(t) : RECORD_MAX;
        cJSON_free(t);
        if (len + l > RECORD_MAX) { /* counted, not named */
            cJSON_Delete(jo);
            more++;
            continue;
        }
        len += l + 1;
        cJSON_AddItemToArray(jobs, jo);
        n++;
    }
    char *text = NULL;
    if (n + more > 0) {
        if (more)
            cJSON_AddNumberToObject(o, "more", (double)more);
        text = cJSON_PrintUnformatted(o);
    }
    cJSON_Delete(o);
    return text;
}

/* signature: a hash of what cluster's record says (its pending jobs and
 * how far each got), so the record is rebuilt only when it changed. */
static uint64_t signature(const struct executor *x, const char *cluster)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const struct job *j = x->jobs; j; j = j->next) {
        if (strcmp(j->cluster, cluster) != 0 || !pending(j))
            continue;
        uint64_t v[] = {(uint64_t)(uintptr_t)j, j->at, j->n,
                        (uint64_t)j->running, (uint64_t)(j->verify_at > 0)};
        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
            h = (h ^ v[i]) * 0x100000001b3ULL;
        for (const char *k = j->key; *k; k++) /* an address reused */
            h = (h ^ (unsigned char)*k) * 0x100000001b3ULL;
    }
    return h;
}

/* in_ha: whether records are kept for cluster: this instance shares
 * the clusters (ha:) and owns it (a fencing token); without ha: there
 * is nobody to hand over to, and nothing is built. */
static bool in_ha(const struct executor *x, const char *cluster)
{
    int64_t token = 0;
    return x->env.job_phase && act_owner(&x->env, cluster, &token) && token > 0;
}

bool ho_steps_ready(struct executor *x, const char *cluster)
{
    if (!in_ha(x, cluster))
        return true;
    struct steps_rec *r = rec_of(x, cluster);
    uint64_t sig = signature(x, cluster);
    if (r->have_sig && r->sig == sig)
        return !x->env.job_synced ||
               x->env.job_synced(x->env.ctx, cluster, KIND);
    r->sig = sig;
    r->have_sig = true;
    char *text = record_text(x, cluster);
    bool same =
        (!text && !r->text) || (text && r->text && strcmp(text, r->text) == 0);
    if (!same) {
        x->env.job_phase(x->env.ctx, cluster, KIND, text);
        free(r->text);
        r->text = text ? xstrdup(text) : NULL;
    }
    cJSON_free(text);
    return !x->env.job_synced || x->env.job_synced(x->env.ctx, cluster, KIND);
}

void ho_steps_sync(struct executor *x)
{
    /* every cluster with a job that started a step has an entry: its
     * first step waited on ho_steps_ready() */
    for (size_t i = 0; i < x->n_steprecs; i++)
        ho_steps_ready(x, x->steprecs[i].cluster);
}

/* drop_one: one job's steps the owner before did not finish. */
static void drop_one(struct executor *x, const char *cluster, const cJSON *jo)
{
    const char *runbook = jsonget_str(jo, "runbook");
    const char *target = jsonget_str(jo, "target");
    char list[256] = "";
    size_t used = 0;
    const cJSON *st;
    cJSON_ArrayForEach(st, cJSON_GetObjectItemCaseSensitive(jo, "steps"))
    {
        if (cJSON_IsString(st) && used < sizeof(list))
            used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
                                     used ? "," : "", st->valuestring);
    }
    bool started =
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(jo, "started"));
    char why[400];
    snprintf(why, sizeof(why), "owner lost: steps not run here: [%s]%s%s", list,
             started ? " (the first was under way and may have acted)" : "",
             cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(jo, "verify"))
                 ? "; its verify not done"
                 : "");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "steps_dropped");
    cJSON_AddStringToObject(o, "cluster", cluster);
    cJSON_AddStringToObject(o, "runbook", runbook);
    cJSON_AddStringToObject(o, "target", target);
    cJSON_AddItemToObject(
        o, "steps",
        cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(jo, "steps"), true));
    cJSON_AddStringToObject(o, "reason", why);
    exec_journal_json(x, o);
    struct job tmp = {.lag_before = -1};
    snprintf(tmp.cluster, sizeof(tmp.cluster), "%s", cluster);
    snprintf(tmp.target, sizeof(tmp.target), "%s", target);
    exec_audit(x, "steps_dropped", &tmp, NULL, why, false, -1);
    log_msg(LOG_WARN,
            "msg=\"ha: runbook steps the owner before left are not run: "
            "escalated\" cluster=%s runbook=%s target=%s steps=\"%s\"",
            cluster, runbook, target, list);
    const char *labels[] = {"cluster", "runbook", NULL};
    const char *values[] = {cluster, runbook, NULL};
    exec_count(x, MF_ESCALATIONS_TOTAL, labels, values, 1);
    escalation_raise(x, cluster, target, runbook, "handover_steps_dropped");
}

/* cancel_local: this member's own steps not started on cluster, left
 * from before it lost the cluster (or from its journal, before a
 * restart): cancelled, journaled and audited, as the steps of any owner
 * before a handover (whoever held it meanwhile may have acted). */
static void cancel_local(struct executor *x, const char *cluster)
{
    for (struct job *j = x->jobs; j; j = j->next) {
        if (strcmp(j->cluster, cluster) != 0 || !pending(j) || j->at == j->n)
            continue;
        j->cancelled = true;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "cancel");
        cJSON_AddStringToObject(o, "job", j->key);
        exec_journal_json(x, o); /* a restart must not resume it */
        for (size_t i = j->at + (j->running ? 1 : 0); i < j->n; i++)
            exec_audit(
                x, "cancelled", j, runbook_action_name(j->steps[i]->action),
                "the cluster changed owners (ha): not run", j->dry_run, -1);
    }
}

int ho_steps_adopt(struct executor *x, const char *cluster, const char *json)
{
    cancel_local(x, cluster);
    if (!json) { /* none in etcd: ours (if any) is written again */
        for (size_t i = 0; i < x->n_steprecs; i++)
            if (strcmp(x->steprecs[i].cluster, cluster) == 0) {
                free(x->steprecs[i].text);
                x->steprecs[i].text = NULL;
                x->steprecs[i].have_sig = false;
            }
        return 0;
    }
    struct steps_rec *r = rec_of(x, cluster);
    free(r->text); /* the key is what etcd says now: written again */
    r->text = xstrdup(json);
    r->have_sig = false;
    cJSON *o = cJSON_Parse(json);
    bool ok = cJSON_IsObject(o) && strcmp(jsonget_str(o, "type"), KIND) == 0 &&
              strcmp(jsonget_str(o, "cluster"), cluster) == 0;
    const cJSON *jo;
    if (ok)
        cJSON_ArrayForEach(jo, cJSON_GetObjectItemCaseSensitive(o, "jobs"))
            drop_one(x, cluster, jo);
    cJSON_Delete(o);
    exec_journal_flush(x); /* dropped and escalated before the record goes */
    ho_steps_ready(x, cluster); /* deletes it (or writes ours) */
    return ok ? 0 : -1;
}

void ho_free(struct executor *x)
{
    for (size_t i = 0; i < x->n_steprecs; i++)
        free(x->steprecs[i].text);
    free(x->steprecs);
}

int executor_adopt_job(struct executor *x, const char *cluster,
                       const char *kind, const char *json)
{
    if (strcmp(kind, "failover") == 0)
        return json ? executor_adopt_failover(x, cluster, json) : 0;
    if (strcmp(kind, "throttle") == 0)
        return ramp_adopt(x, cluster, json);
    if (strcmp(kind, KIND) == 0)
        return ho_steps_adopt(x, cluster, json);
    return -1;
}
