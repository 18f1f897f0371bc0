/* runbookset.c: a loaded set of runbooks: lookups, alert matching,
 * accessors and freeing. Loading is in runbook.c. */
#include "config/runbook_internal.h"

#include "formats/expr.h"

#include <stdlib.h>
#include <string.h>

static void free_steps(struct rb_steps *l)
{
    for (size_t i = 0; i < l->n; i++) {
        struct runbook_step *st = &l->v[i];
        expr_free(st->when);
        free(st->url);
        free(st->app);
        free(st->body);
        for (size_t j = 0; j < st->argc; j++)
            free(st->argv[j]);
        free(st->argv);
    }
    free(l->v);
}

static void free_runbook(struct runbook *rb)
{
    for (size_t i = 0; i < rb->n_match; i++) {
        for (size_t j = 0; j < rb->match[i].n_values; j++)
            free(rb->match[i].values[j]);
        free(rb->match[i].values);
        free(rb->match[i].label);
    }
    free(rb->match);
    free_steps(&rb->steps);
    free_steps(&rb->on_resolved);
    expr_free(rb->escalate_when);
    free(rb->name);
    free(rb->file);
    free(rb->target_label);
    free(rb);
}

struct runbook_set *runbook_set_ref(struct runbook_set *set)
{
    set->refs++;
    return set;
}

void runbook_set_free(struct runbook_set *set)
{
    if (!set)
        return;
    if (set->refs > 0) {
        set->refs--;
        return;
    }
    for (size_t i = 0; i < set->n; i++)
        free_runbook(set->rb[i]);
    free(set->rb);
    free(set);
}

size_t runbook_set_count(const struct runbook_set *set)
{
    return set->n;
}

const struct runbook *runbook_set_get(const struct runbook_set *set, size_t i)
{
    return i < set->n ? set->rb[i] : NULL;
}

const struct runbook *runbook_set_find(const struct runbook_set *set,
                                       const char *name)
{
    for (size_t i = 0; i < set->n; i++) {
        if (strcmp(set->rb[i]->name, name) == 0)
            return set->rb[i];
    }
    return NULL;
}

static bool one_of(const struct rb_match *m, const char *value)
{
    for (size_t i = 0; i < m->n_values; i++) {
        if (strcmp(m->values[i], value) == 0)
            return true;
    }
    return false;
}

bool runbook_match(const struct runbook *rb, const struct labels *labels)
{
    for (size_t i = 0; i < rb->n_match; i++) {
        const char *v = labels_find(labels, rb->match[i].label);
        if (!v || !one_of(&rb->match[i], v))
            return false;
    }
    return true;
}

bool runbook_may_match_cluster(const struct runbook *rb, const char *cluster)
{
    for (size_t i = 0; i < rb->n_match; i++)
        if (strcmp(rb->match[i].label, "cluster") == 0 &&
            !one_of(&rb->match[i], cluster))
            return false;
    return true;
}

/* --- accessors -------------------------------------------------------- */

const char *runbook_name(const struct runbook *rb)
{
    return rb->name;
}

const char *runbook_file(const struct runbook *rb)
{
    return rb->file;
}

int runbook_line(const struct runbook *rb)
{
    return rb->line;
}

const char *runbook_target_label(const struct runbook *rb)
{
    return rb->target_label;
}

const struct expr *runbook_escalate_when(const struct runbook *rb)
{
    return rb->escalate_when;
}

bool runbook_dry_run(const struct runbook *rb)
{
    return rb->dry_run;
}

double runbook_verify_within(const struct runbook *rb)
{
    return rb->verify_within;
}

double runbook_cooldown(const struct runbook *rb)
{
    return rb->cooldown;
}

unsigned runbook_max_actions_per_hour(const struct runbook *rb)
{
    return (unsigned)rb->max_per_hour;
}

size_t runbook_n_steps(const struct runbook *rb)
{
    return rb->steps.n;
}

const struct runbook_step *runbook_step(const struct runbook *rb, size_t i)
{
    return i < rb->steps.n ? &rb->steps.v[i] : NULL;
}

size_t runbook_n_on_resolved(const struct runbook *rb)
{
    return rb->on_resolved.n;
}

const struct runbook_step *runbook_on_resolved(const struct runbook *rb,
                                               size_t i)
{
    return i < rb->on_resolved.n ? &rb->on_resolved.v[i] : NULL;
}
