/* replay.c: the journal replayed when the executor starts (called by
 * executor_new() in executor.c, through replay_internal.h): plans restore
 * the planner's bookkeeping, an intent without an outcome is recorded as
 * interrupted, jobs planned but not fully started go to resume.c, and
 * alerts journaled but never planned are queued again. Calls down into
 * resume.c and execstate.c only. */
#include "act/replay_internal.h"
#include "act/resume_internal.h"
#include "act/executor_internal.h"
#include "act/failover_internal.h"

#include "act/audit.h"
#include "act/journal.h"
#include "act/planner.h"
#include "act/remedy.h"
#include "config/runbook.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/jsonget.h"
#include "lib/util.h"
#include "formats/alert.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    /* "booked": false: a latch held some of its steps (planner.h) */
    if (!cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(o, "booked")))
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
    } else if (strncmp(type, "failover", 8) == 0) {
        fo_replay_record(rp->x, o);
    } else if (strncmp(type, "escalation", 10) == 0) {
        esc_replay_record(rp->x, o);
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
            .time = clock_wall(x->env.clock),
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

void exec_replay(struct executor *x)
{
    struct replay rp = {.x = x, .resume = resume_new()};
    journal_replay(remedy_journal(x->rem), replay_one, &rp);
    replay_finish(&rp);
    fo_replay_finish(x);
}
