/* profile.c: the table of datastore profiles and the runbook check (see
 * profile.h, which lists all a new datastore needs; here, one line in
 * profiles[]). */
#include "profiles/profile.h"

#include "lib/yamlread.h"
#include "profiles/postgres/postgres.h"
#include "profiles/stemedb/stemedb.h"

#include <stdio.h>
#include <stdlib.h>

/* indexed by enum cluster_profile */
static const struct profile_ops *const profiles[] = {
    [PROFILE_STEMEDB] = &stemedb_profile,
    [PROFILE_POSTGRES] = &postgres_profile,
};

const struct profile_ops *profile_of(enum cluster_profile p)
{
    if ((size_t)p >= sizeof(profiles) / sizeof(profiles[0]))
        return NULL;
    return profiles[p];
}

bool profile_supports(const struct profile_ops *ops, enum runbook_action a)
{
    switch (a) {
    case RUNBOOK_ACT_ESCALATE:
    case RUNBOOK_ACT_HTTP:
    case RUNBOOK_ACT_EXEC:
    case RUNBOOK_ACT_THROTTLE_APP: /* replguard's own check: no datastore */
        return true;
    default:
        return (size_t)a < RUNBOOK_N_ACTIONS &&
               (ops->actions & PROFILE_ACTION(a)) != 0;
    }
}

void profile_free_ids(char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

void profile_request_free(struct profile_request *rq)
{
    free(rq->body);
    rq->body = NULL;
}

typedef const struct runbook_step *(*step_fn)(const struct runbook *, size_t);

/* check_steps: one error per step (get(rb, i), i < n) whose action ops
 * lacks; key names the list in the message. */
static int check_steps(const struct runbook *rb, const char *key, step_fn get,
                       size_t n, const char *cluster,
                       const struct profile_ops *ops, struct errlist *errs)
{
    int count = 0;
    for (size_t i = 0; i < n; i++) {
        const struct runbook_step *st = get(rb, i);
        if (profile_supports(ops, st->action))
            continue;
        char where[1024];
        snprintf(where, sizeof(where), "%s:%d:%d", runbook_file(rb), st->line,
                 st->column);
        yr_err_plain(errs, where,
                     "%s[%zu].action: runbook %s: action %s is not "
                     "supported by cluster %s (profile %s)",
                     key, i, runbook_name(rb), runbook_action_name(st->action),
                     cluster, ops->name);
        count++;
    }
    return count;
}

int profile_check_runbook(const struct runbook *rb, const char *cluster,
                          const struct profile_ops *ops, struct errlist *errs)
{
    return check_steps(rb, "steps", runbook_step, runbook_n_steps(rb), cluster,
                       ops, errs) +
           check_steps(rb, "on_resolved", runbook_on_resolved,
                       runbook_n_on_resolved(rb), cluster, ops, errs);
}

int profile_check_rules(const struct config *cfg, const struct runbook_set *set,
                        struct errlist *errs)
{
    int count = 0;
    for (size_t r = 0; set && r < runbook_set_count(set); r++) {
        const struct runbook *rb = runbook_set_get(set, r);
        for (size_t c = 0; c < cfg->n_clusters; c++) {
            const struct config_cluster *cc = &cfg->clusters[c];
            if (runbook_may_match_cluster(rb, cc->name))
                count += profile_check_runbook(rb, cc->name,
                                               profile_of(cc->profile), errs);
        }
    }
    return count;
}
