/* resume.c: the jobs a crash left planned but not finished starting,
 * found in the journal at start and put back on the executor (see
 * executor_internal.h).
 *
 * A plan record that has steps names its alert (journal record and index)
 * and the steps (indexes into the runbook's steps or on_resolved list).
 * Every intent record after it started one step; a cancel record (the
 * alert resolved) ends the job. A job is resumed from its first step
 * without an intent, unless it was cancelled or one of its steps was
 * interrupted (an intent without an outcome: by policy none of that job
 * is run again). When a key was planned twice (its dedupe entry expired),
 * the latest plan counts.
 *
 * Called by replay.c (resume_internal.h); calls down into execstate.c
 * (exec_new_job) only. */
#include "act/resume_internal.h"
#include "act/executor_internal.h"

#include "lib/jsonget.h"
#include "lib/log.h"
#include "act/remedy.h"
#include "lib/util.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MARK_CANCEL      (-1)
#define MARK_INTERRUPTED (-2)

struct resume_plan {
    char key[PLANNER_KEY_MAX];
    char runbook[PLANNER_NAME_MAX], cluster[PLANNER_NAME_MAX],
        target[PLANNER_NAME_MAX];
    uint64_t seq;   /* its journal record */
    uint64_t alert; /* record << 20 | index of its alert */
    int steps[RUNBOOK_MAX_STEPS];
    size_t n, started;
    bool on_resolved, dry_run, cancelled, interrupted;
    double lag_before;
};

/* An intent (step >= 0), a cancel or an interruption of a job. */
struct resume_mark {
    char key[PLANNER_KEY_MAX];
    uint64_t seq;
    int step;
};

struct resume {
    struct resume_plan *plans;
    size_t n_plans, cap_plans;
    struct resume_mark *marks;
    size_t n_marks, cap_marks;
};

struct resume *resume_new(void)
{
    return xcalloc(1, sizeof(struct resume));
}

void resume_free(struct resume *r)
{
    if (!r)
        return;
    free(r->plans);
    free(r->marks);
    free(r);
}

void resume_plan(struct resume *r, const cJSON *o, uint64_t seq)
{
    if (r->n_plans == r->cap_plans) {
        r->cap_plans = r->cap_plans ? 2 * r->cap_plans : 64;
        r->plans = xrealloc(r->plans, r->cap_plans * sizeof(*r->plans));
    }
    struct resume_plan *p = &r->plans[r->n_plans++];
    memset(p, 0, sizeof(*p));
    snprintf(p->key, sizeof(p->key), "%s", jsonget_str(o, "key"));
    snprintf(p->runbook, sizeof(p->runbook), "%s", jsonget_str(o, "runbook"));
    snprintf(p->cluster, sizeof(p->cluster), "%s", jsonget_str(o, "cluster"));
    snprintf(p->target, sizeof(p->target), "%s", jsonget_str(o, "target"));
    p->seq = seq;
    p->alert = (uint64_t)jsonget_num(o, "record") << 20 |
               (uint64_t)jsonget_num(o, "index");
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "steps"))
    {
        if (cJSON_IsNumber(it) && p->n < RUNBOOK_MAX_STEPS)
            p->steps[p->n++] = (int)it->valuedouble;
    }
    p->on_resolved =
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "on_resolved"));
    p->dry_run = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "dry_run"));
    p->lag_before = cJSON_GetObjectItemCaseSensitive(o, "lag_before")
                        ? jsonget_num(o, "lag_before")
                        : -1;
}

static void mark(struct resume *r, const char *key, uint64_t seq, int step)
{
    if (r->n_marks == r->cap_marks) {
        r->cap_marks = r->cap_marks ? 2 * r->cap_marks : 64;
        r->marks = xrealloc(r->marks, r->cap_marks * sizeof(*r->marks));
    }
    struct resume_mark *m = &r->marks[r->n_marks++];
    snprintf(m->key, sizeof(m->key), "%s", key);
    m->seq = seq;
    m->step = step;
}

void resume_intent(struct resume *r, const char *key, int step, uint64_t seq)
{
    if (step >= 0)
        mark(r, key, seq, step);
}

void resume_cancel(struct resume *r, const char *key, uint64_t seq)
{
    mark(r, key, seq, MARK_CANCEL);
}

void resume_interrupted(struct resume *r, const char *key, uint64_t seq)
{
    mark(r, key, seq, MARK_INTERRUPTED);
}

int resume_origin(const struct resume *r, const char *key, const char **runbook,
                  uint64_t *alert)
{
    const struct resume_plan *found = NULL;
    for (size_t i = 0; i < r->n_plans; i++)
        if (strcmp(r->plans[i].key, key) == 0 &&
            (!found || r->plans[i].seq > found->seq))
            found = &r->plans[i];
    if (!found)
        return -1;
    *runbook = found->runbook;
    *alert = found->alert;
    return 0;
}

/* by_key_seq: plans by key, then journal order. */
static int by_key_seq(const void *a, const void *b)
{
    const struct resume_plan *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

static int by_key(const void *key, const void *p)
{
    return strcmp(key, ((const struct resume_plan *)p)->key);
}

static int by_alert(const void *id, const void *a)
{
    const struct queued_alert *q = *(struct queued_alert *const *)a;
    uint64_t x = *(const uint64_t *)id, y = q->seq << 20 | q->index;
    return (x > y) - (x < y);
}

/* settle: keeps the latest plan of each key and applies the marks. */
static void settle(struct resume *r)
{
    if (!r->n_plans)
        return;
    qsort(r->plans, r->n_plans, sizeof(*r->plans), by_key_seq);
    size_t k = 0;
    for (size_t i = 0; i < r->n_plans; i++) {
        if (k && strcmp(r->plans[k - 1].key, r->plans[i].key) == 0)
            k--; /* a later plan of the same key replaces it */
        r->plans[k++] = r->plans[i];
    }
    r->n_plans = k;
    for (size_t i = 0; i < r->n_marks; i++) {
        const struct resume_mark *m = &r->marks[i];
        struct resume_plan *p =
            bsearch(m->key, r->plans, r->n_plans, sizeof(*p), by_key);
        if (!p || m->seq < p->seq)
            continue;
        if (m->step == MARK_CANCEL)
            p->cancelled = true;
        else if (m->step == MARK_INTERRUPTED)
            p->interrupted = true;
        else if ((size_t)m->step + 1 > p->started)
            p->started = (size_t)m->step + 1;
    }
}

/* step_of: step i of p in rb, or NULL when the runbook changed. */
static const struct runbook_step *step_of(const struct resume_plan *p,
                                          const struct runbook *rb, size_t i)
{
    size_t n = p->on_resolved ? runbook_n_on_resolved(rb) : runbook_n_steps(rb);
    if (p->steps[i] < 0 || (size_t)p->steps[i] >= n)
        return NULL;
    return p->on_resolved ? runbook_on_resolved(rb, (size_t)p->steps[i])
                          : runbook_step(rb, (size_t)p->steps[i]);
}

/* revive: puts plan p's job back on x, at its first step not started. */
static bool revive(struct executor *x, const struct resume_plan *p,
                   struct queued_alert *const *alerts, size_t n_alerts)
{
    struct queued_alert *const *a =
        bsearch(&p->alert, alerts, n_alerts, sizeof(*alerts), by_alert);
    const struct runbook *rb =
        x->rules ? runbook_set_find(x->rules, p->runbook) : NULL;
    if (!a || !rb)
        return false;
    struct plan_decision d = {.kind = PLAN_RUN,
                              .rb = rb,
                              .dry_run = p->dry_run,
                              .on_resolved = p->on_resolved,
                              .lag_before = p->lag_before};
    snprintf(d.key, sizeof(d.key), "%s", p->key);
    snprintf(d.cluster, sizeof(d.cluster), "%s", p->cluster);
    snprintf(d.target, sizeof(d.target), "%s", p->target);
    const struct runbook_step *steps[RUNBOOK_MAX_STEPS];
    for (size_t i = 0; i < p->n; i++) {
        steps[i] = step_of(p, rb, i);
        if (!steps[i])
            return false;
    }
    struct job *j = exec_new_job(x, &d, *a);
    memcpy(j->steps, steps, p->n * sizeof(*steps));
    j->n = p->n;
    j->at = p->started;
    return true;
}

size_t resume_finish(struct resume *r, struct executor *x,
                     struct queued_alert *const *alerts, size_t n_alerts)
{
    size_t resumed = 0;
    settle(r);
    for (size_t i = 0; i < r->n_plans; i++) {
        const struct resume_plan *p = &r->plans[i];
        if (p->cancelled || p->interrupted || p->started >= p->n)
            continue;
        char q[PLANNER_KEY_MAX + 8];
        log_quote(q, sizeof(q), p->key);
        if (revive(x, p, alerts, n_alerts)) {
            resumed++;
            log_msg(LOG_INFO,
                    "msg=\"resuming a job a restart left unstarted\" job=%s "
                    "runbook=%s step=%zu of=%zu",
                    q, p->runbook, p->started, p->n);
        } else {
            log_msg(LOG_WARN,
                    "msg=\"cannot resume a job: its alert or runbook step "
                    "is gone\" job=%s runbook=%s",
                    q, p->runbook);
        }
    }
    return resumed;
}
