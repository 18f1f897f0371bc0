/* planner.c: remediation decisions and their bookkeeping. */
#include "act/planner.h"

#include "lib/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOUR 3600.0

const char *skip_reason_name(enum skip_reason r)
{
    static const char *const names[SKIP_REASONS] = {
        "duplicate", "cooldown",  "paused",    "stale",          "budget",
        "blocked",   "condition", "escalated", "unknown_target", "not_owner"};
    return (unsigned)r < SKIP_REASONS ? names[r] : "unknown";
}

/* --- a small hash table: 64-bit key hash -> time ------------------------ */

struct slot {
    uint64_t h; /* 0: empty */
    double t;
};

struct table {
    struct slot *v;
    size_t cap, n;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    h = mix64(h);
    return h ? h : 1;
}

static struct slot *find(const struct table *t, uint64_t h)
{
    if (!t->cap)
        return NULL;
    for (size_t i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        if (t->v[i].h == h || t->v[i].h == 0)
            return &t->v[i];
    }
}

/* grow: doubles the table, dropping entries older than `before`. */
static void grow(struct table *t, double before)
{
    struct table old = *t;
    t->cap = old.cap ? old.cap * 2 : 64;
    t->v = xcalloc(t->cap, sizeof(*t->v));
    t->n = 0;
    for (size_t i = 0; i < old.cap; i++) {
        if (old.v[i].h && old.v[i].t >= before) {
            *find(t, old.v[i].h) = old.v[i];
            t->n++;
        }
    }
    free(old.v);
}

static double table_get(const struct table *t, const char *key)
{
    const struct slot *s = find(t, hash_str(key));
    return s && s->h ? s->t : -INFINITY;
}

static void table_put(struct table *t, const char *key, double v,
                      double expire_before)
{
    if (2 * (t->n + 1) > t->cap)
        grow(t, expire_before);
    uint64_t h = hash_str(key);
    struct slot *s = find(t, h);
    if (!s->h)
        t->n++;
    s->h = h;
    s->t = v;
}

/* --- budgets: per runbook and cluster, the times of the last hour ------- */

struct budget {
    char key[2 * PLANNER_NAME_MAX + 2];
    double *t;
    size_t n, cap;
};

struct planner {
    struct table seen;     /* dedupe key -> when */
    struct table cooldown; /* runbook|cluster|target -> until */
    struct budget *budgets;
    size_t n_budgets;
    char (*blocked)[PLANNER_NAME_MAX];
    size_t n_blocked;
    bool paused;
};

static struct budget *budget_of(struct planner *p, const char *rb,
                                const char *cluster)
{
    char key[sizeof(p->budgets[0].key)];
    snprintf(key, sizeof(key), "%s|%s", rb, cluster);
    for (size_t i = 0; i < p->n_budgets; i++)
        if (strcmp(p->budgets[i].key, key) == 0)
            return &p->budgets[i];
    p->budgets = xrealloc(p->budgets, (p->n_budgets + 1) * sizeof(*p->budgets));
    struct budget *b = &p->budgets[p->n_budgets++];
    memset(b, 0, sizeof(*b));
    snprintf(b->key, sizeof(b->key), "%s", key);
    return b;
}

/* budget_used: actions in the hour before now (older ones forgotten). */
static size_t budget_used(struct budget *b, double now)
{
    size_t k = 0;
    for (size_t i = 0; i < b->n; i++)
        if (b->t[i] > now - HOUR)
            b->t[k++] = b->t[i];
    b->n = k;
    return k;
}

static void budget_charge(struct budget *b, double now)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 8;
        b->t = xrealloc(b->t, b->cap * sizeof(*b->t));
    }
    b->t[b->n++] = now;
}

/* --- life cycle, pause, latches, replay --------------------------------- */

struct planner *planner_new(void)
{
    return xcalloc(1, sizeof(struct planner));
}

void planner_free(struct planner *p)
{
    if (!p)
        return;
    free(p->seen.v);
    free(p->cooldown.v);
    for (size_t i = 0; i < p->n_budgets; i++)
        free(p->budgets[i].t);
    free(p->budgets);
    free(p->blocked);
    free(p);
}

void planner_set_paused(struct planner *p, bool paused)
{
    p->paused = paused;
}

bool planner_paused(const struct planner *p)
{
    return p->paused;
}

bool planner_blocked(const struct planner *p, const char *cluster)
{
    for (size_t i = 0; i < p->n_blocked; i++)
        if (strcmp(p->blocked[i], cluster) == 0)
            return true;
    return false;
}

void planner_block(struct planner *p, const char *cluster)
{
    if (planner_blocked(p, cluster))
        return;
    p->blocked = xrealloc(p->blocked, (p->n_blocked + 1) * sizeof(*p->blocked));
    snprintf(p->blocked[p->n_blocked++], PLANNER_NAME_MAX, "%s", cluster);
}

bool planner_ack(struct planner *p, const char *cluster)
{
    for (size_t i = 0; i < p->n_blocked; i++) {
        if (strcmp(p->blocked[i], cluster) == 0) {
            memcpy(p->blocked[i], p->blocked[--p->n_blocked], PLANNER_NAME_MAX);
            return true;
        }
    }
    return false;
}

void planner_restore_key(struct planner *p, const char *key, double t)
{
    table_put(&p->seen, key, t, t - PLANNER_DEDUPE_TTL);
}

static void cooldown_key(char *out, size_t n, const char *rb,
                         const char *cluster, const char *target)
{
    snprintf(out, n, "%s|%s|%s", rb, cluster, target);
}

void planner_restore_run(struct planner *p, const char *runbook,
                         const char *cluster, const char *target, double t,
                         double cooldown)
{
    char key[3 * PLANNER_NAME_MAX];
    cooldown_key(key, sizeof(key), runbook, cluster, target);
    if (t + cooldown > table_get(&p->cooldown, key))
        table_put(&p->cooldown, key, t + cooldown, t - HOUR);
    budget_charge(budget_of(p, runbook, cluster), t);
}

void planner_dedupe_key(const struct plan_alert *a, const char *runbook,
                        char *out, size_t n)
{
    snprintf(out, n, "%s|%.3f|%s|%s", a->fingerprint, a->starts_at,
             a->resolved ? "resolved" : "firing", runbook);
}

/* --- planning ----------------------------------------------------------- */

void plan_list_reset(struct plan_list *l)
{
    l->n = 0;
}

void plan_list_free(struct plan_list *l)
{
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

/* Which steps of a firing alert run: all of them; only the reversible
 * ones, because escalate_when just escalated (M_ESCALATED) or an
 * earlier escalation latched the cluster (M_LATCHED). */
enum step_mode { M_ALL, M_ESCALATED, M_LATCHED };

/* One runbook's planning for one alert. */
struct job {
    struct planner *p;
    const struct runbook *rb;
    const struct plan_alert *a;
    struct plan_target tgt;
    const char *target;
    bool dry_run;
    double now;
    char key[PLANNER_KEY_MAX];
    struct plan_list *out;
    enum step_mode mode;
};

static struct plan_decision *emit(struct job *j, enum plan_kind kind,
                                  const struct runbook_step *step)
{
    struct plan_list *l = j->out;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    struct plan_decision *d = &l->v[l->n++];
    memset(d, 0, sizeof(*d));
    d->kind = kind;
    d->rb = j->rb;
    d->step = step;
    d->dry_run = j->dry_run;
    d->on_resolved = j->a->resolved;
    snprintf(d->cluster, sizeof(d->cluster), "%s", j->tgt.cluster);
    snprintf(d->target, sizeof(d->target), "%s", j->target ? j->target : "");
    snprintf(d->key, sizeof(d->key), "%s", j->key);
    const struct expr_env *env = &j->tgt.env;
    d->lag_before = env->known[EXPR_VAR_LAG] ? env->value[EXPR_VAR_LAG] : -1;
    return d;
}

static void skip(struct job *j, enum skip_reason r,
                 const struct runbook_step *step)
{
    emit(j, PLAN_SKIP, step)->reason = r;
}

static const struct runbook_step *escalate_step(const struct runbook *rb)
{
    for (size_t i = 0; i < runbook_n_steps(rb); i++)
        if (runbook_step(rb, i)->action == RUNBOOK_ACT_ESCALATE)
            return runbook_step(rb, i);
    return NULL;
}

/* resolve_target: finds the target and its cluster; false: skipped. */
static bool resolve_target(struct job *j, plan_lookup_fn lookup, void *ctx)
{
    const struct plan_alert *a = j->a;
    j->target = labels_find(&a->labels, runbook_target_label(j->rb));
    const char *cluster = labels_find(&a->labels, "cluster");
    memset(&j->tgt, 0, sizeof(j->tgt));
    expr_env_init(&j->tgt.env);
    if (j->target && lookup(ctx, cluster, j->target, &j->tgt) == 0)
        return true;
    if (cluster)
        snprintf(j->tgt.cluster, sizeof(j->tgt.cluster), "%s", cluster);
    skip(j, SKIP_UNKNOWN_TARGET, NULL);
    return false;
}

/* resolve_known: whether j is a firing alert whose resolve (the same
 * fingerprint and startsAt) was planned already: a late or reordered
 * notification of an alert that is over, not one to act on. */
static bool resolve_known(const struct job *j)
{
    if (j->a->resolved)
        return false;
    struct plan_alert resolved = *j->a;
    resolved.resolved = true;
    char key[PLANNER_KEY_MAX];
    planner_dedupe_key(&resolved, runbook_name(j->rb), key, sizeof(key));
    return table_get(&j->p->seen, key) > j->now - PLANNER_DEDUPE_TTL;
}

/* has_reversible: whether rb has a step that runs under a latch. */
static bool has_reversible(const struct runbook *rb)
{
    for (size_t i = 0; i < runbook_n_steps(rb); i++)
        if (runbook_step(rb, i)->reversible)
            return true;
    return false;
}

/* gate: the checks before any step; false when the runbook is skipped.
 * A latched cluster skips a firing alert's runbook as blocked, unless
 * it has reversible steps: then j->mode is M_LATCHED and they go on. */
static bool gate(struct job *j)
{
    struct planner *p = j->p;
    const char *cluster = j->tgt.cluster;
    if (table_get(&p->seen, j->key) > j->now - PLANNER_DEDUPE_TTL ||
        resolve_known(j)) {
        skip(j, SKIP_DUPLICATE, NULL);
        return false;
    }
    /* paused, blocked and stale are passing states: the key is not
     * booked, so Alertmanager's next repeat of the alert can act */
    enum skip_reason r = SKIP_REASONS;
    bool latched = !j->a->resolved && planner_blocked(p, cluster);
    if (p->paused)
        r = SKIP_PAUSED;
    else if (latched && !has_reversible(j->rb))
        r = SKIP_BLOCKED;
    else if (!j->tgt.fresh)
        r = SKIP_STALE;
    if (r != SKIP_REASONS)
        skip(j, r, NULL);
    j->mode = latched ? M_LATCHED : M_ALL;
    return r == SKIP_REASONS;
}

/* escalating: escalate_when holds: escalate (booked, latched) and go on
 * with the reversible steps only (M_ESCALATED); true when nothing more
 * is planned: escalate_when cannot be told (skipped as stale), or the
 * runbook has no reversible step. Under a latch it is not evaluated:
 * the latch's escalation is paging already. */
static bool escalating(struct job *j)
{
    const struct expr *ew = runbook_escalate_when(j->rb);
    bool yes = false;
    if (!ew || j->mode == M_LATCHED)
        return false;
    if (expr_eval(ew, &j->tgt.env, &yes) != 0) {
        skip(j, SKIP_STALE, NULL);
        return true;
    }
    if (!yes)
        return false;
    planner_restore_key(j->p, j->key, j->now);
    emit(j, PLAN_ESCALATE, escalate_step(j->rb));
    planner_block(j->p, j->tgt.cluster);
    j->mode = M_ESCALATED;
    return !has_reversible(j->rb);
}

/* within_limits: cooldown and hourly budget of this runbook. */
static bool within_limits(struct job *j)
{
    char ck[3 * PLANNER_NAME_MAX];
    cooldown_key(ck, sizeof(ck), runbook_name(j->rb), j->tgt.cluster,
                 j->target);
    if (j->now < table_get(&j->p->cooldown, ck)) {
        skip(j, SKIP_COOLDOWN, NULL);
        return false;
    }
    struct budget *b = budget_of(j->p, runbook_name(j->rb), j->tgt.cluster);
    if (budget_used(b, j->now) >= runbook_max_actions_per_hour(j->rb)) {
        skip(j, SKIP_BUDGET, NULL);
        return false;
    }
    return true;
}

/* held: why step s does not run in j's mode (SKIP_REASONS: it runs);
 * *omit: not even a decision, for an escalate step of an escalation
 * that is already its PLAN_ESCALATE. */
static enum skip_reason held(const struct job *j, const struct runbook_step *s,
                             bool *omit)
{
    *omit = j->mode == M_ESCALATED && s->action == RUNBOOK_ACT_ESCALATE;
    if (j->mode == M_ALL || s->reversible)
        return SKIP_REASONS;
    return j->mode == M_ESCALATED ? SKIP_ESCALATED : SKIP_BLOCKED;
}

/* plan_steps: the steps (or on_resolved steps) whose `when` holds run,
 * but those held by the mode; returns how many were held as blocked. */
static size_t plan_steps(struct job *j, bool resolved)
{
    size_t n = resolved ? runbook_n_on_resolved(j->rb) : runbook_n_steps(j->rb);
    size_t ran = 0, blocked = 0;
    for (size_t i = 0; i < n; i++) {
        const struct runbook_step *s =
            resolved ? runbook_on_resolved(j->rb, i) : runbook_step(j->rb, i);
        bool yes = true, omit = false;
        enum skip_reason r = resolved ? SKIP_REASONS : held(j, s, &omit);
        if (omit)
            continue;
        if (s->when && (expr_eval(s->when, &j->tgt.env, &yes) != 0 || !yes))
            r = SKIP_CONDITION;
        if (r != SKIP_REASONS) {
            skip(j, r, s);
            blocked += r == SKIP_BLOCKED;
            continue;
        }
        emit(j, PLAN_RUN, s);
        ran++;
    }
    if (ran && !resolved)
        planner_restore_run(j->p, runbook_name(j->rb), j->tgt.cluster,
                            j->target, j->now, runbook_cooldown(j->rb));
    return blocked;
}

/* plan_firing: a firing alert past the gate: escalation, limits, steps.
 * Under a latch, a step held as blocked leaves the key unbooked (the
 * alert's repeat after the ack can run it), flagged on its decisions
 * from first on. */
static void plan_firing(struct job *j, size_t first)
{
    if (escalating(j) || !within_limits(j))
        return;
    if (j->mode != M_LATCHED) {
        planner_restore_key(j->p, j->key, j->now);
        plan_steps(j, false);
        return;
    }
    if (plan_steps(j, false) == 0) {
        planner_restore_key(j->p, j->key, j->now);
        return;
    }
    for (size_t i = first; i < j->out->n; i++)
        j->out->v[i].unbooked = true;
}

static void plan_runbook(struct job *j, plan_lookup_fn lookup, void *ctx)
{
    size_t first = j->out->n;
    planner_dedupe_key(j->a, runbook_name(j->rb), j->key, sizeof(j->key));
    if (!resolve_target(j, lookup, ctx) || !gate(j))
        return;
    if (j->a->resolved) {
        planner_restore_key(j->p, j->key, j->now);
        /* the firing job's steps not started are cancelled */
        struct plan_alert firing = *j->a;
        firing.resolved = false;
        struct plan_decision *d = emit(j, PLAN_CANCEL, NULL);
        planner_dedupe_key(&firing, runbook_name(j->rb), d->key,
                           sizeof(d->key));
        plan_steps(j, true);
        return;
    }
    plan_firing(j, first);
}

void planner_plan(struct planner *p, const struct runbook_set *rs,
                  const struct plan_alert *a, bool dry_run, double now,
                  plan_lookup_fn lookup, void *ctx, struct plan_list *out)
{
    for (size_t i = 0; i < runbook_set_count(rs); i++) {
        const struct runbook *rb = runbook_set_get(rs, i);
        if (!runbook_match(rb, &a->labels))
            continue;
        struct job j = {.p = p,
                        .rb = rb,
                        .a = a,
                        .dry_run = dry_run || runbook_dry_run(rb),
                        .now = now,
                        .out = out};
        plan_runbook(&j, lookup, ctx);
    }
}

/* --- for the status page ------------------------------------------------ */

size_t planner_budget_count(const struct planner *p)
{
    return p->n_budgets;
}

size_t planner_budget_at(const struct planner *p, size_t i, double now,
                         char *runbook, char *cluster)
{
    const struct budget *b = &p->budgets[i];
    const char *bar = strchr(b->key, '|'); /* names hold no '|' */
    size_t n = bar ? (size_t)(bar - b->key) : strlen(b->key);
    snprintf(runbook, PLANNER_NAME_MAX, "%.*s", (int)n, b->key);
    snprintf(cluster, PLANNER_NAME_MAX, "%s", bar ? bar + 1 : "");
    size_t used = 0;
    for (size_t k = 0; k < b->n; k++)
        used += b->t[k] > now - HOUR;
    return used;
}

double planner_cooldown_until(const struct planner *p, const char *runbook,
                              const char *cluster, const char *target)
{
    char key[3 * PLANNER_NAME_MAX];
    cooldown_key(key, sizeof(key), runbook, cluster, target);
    double t = table_get(&p->cooldown, key);
    return isfinite(t) ? t : 0;
}
