/* guard.c: which role each action may target, the demotes in flight, and
 * implausible node values (see guard.h). */
#include "act/guard.h"

#include "lib/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum guard_target guard_action_target(enum runbook_action a)
{
    switch (a) {
    case RUNBOOK_ACT_DEMOTE:
    case RUNBOOK_ACT_FORCE_SYNC:
    case RUNBOOK_ACT_CANCEL_BLOCKING_QUERIES:
        return GUARD_TARGET_REPLICA;
    case RUNBOOK_ACT_THROTTLE:
    case RUNBOOK_ACT_RESTORE_THROTTLE:
    case RUNBOOK_ACT_THROTTLE_APP:
        return GUARD_TARGET_CLUSTER;
    default:
        return GUARD_TARGET_ANY;
    }
}

bool guard_role_ok(enum runbook_action a, bool known, bool is_primary)
{
    if (guard_action_target(a) != GUARD_TARGET_REPLICA)
        return true;
    return known && !is_primary;
}

static struct guard_demote *find(const struct guard_demotes *d,
                                 const char *cluster, const char *node)
{
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->v[i].cluster, cluster) == 0 &&
            strcmp(d->v[i].node, node) == 0)
            return &d->v[i];
    return NULL;
}

void guard_demotes_start(struct guard_demotes *d, const char *cluster,
                         const char *node)
{
    struct guard_demote *g = find(d, cluster, node);
    if (!g) {
        d->v = xrealloc(d->v, (d->n + 1) * sizeof(*d->v));
        g = &d->v[d->n++];
        g->cluster = xstrdup(cluster);
        g->node = xstrdup(node);
    }
    g->done_round = GUARD_IN_FLIGHT;
}

void guard_demotes_done(struct guard_demotes *d, const char *cluster,
                        const char *node, uint64_t round)
{
    struct guard_demote *g = find(d, cluster, node);
    if (g)
        g->done_round = round;
}

void guard_demotes_expire(struct guard_demotes *d, uint64_t round)
{
    size_t k = 0;
    for (size_t i = 0; i < d->n; i++) {
        struct guard_demote *g = &d->v[i];
        if (g->done_round != GUARD_IN_FLIGHT && round >= g->done_round + 2) {
            free(g->cluster);
            free(g->node);
            continue;
        }
        d->v[k++] = *g;
    }
    d->n = k;
}

bool guard_demotes_has(const struct guard_demotes *d, const char *cluster,
                       const char *node)
{
    return find(d, cluster, node) != NULL;
}

void guard_demotes_reset(struct guard_demotes *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->v[i].cluster);
        free(d->v[i].node);
    }
    free(d->v);
    d->v = NULL;
    d->n = 0;
}

const char *guard_implausible_name(enum guard_implausible k)
{
    static const char *const names[GUARD_IMPLAUSIBLE_KINDS] = {
        "heartbeat_ahead", "position_ahead"};
    return (unsigned)k < GUARD_IMPLAUSIBLE_KINDS ? names[k] : "unknown";
}

bool guard_heartbeat_ahead(double applied, double max_sent)
{
    return max_sent > 0 && applied > max_sent + GUARD_HB_SLACK;
}

uint64_t guard_position_slack(double rate, double interval)
{
    double w = rate > 0 && interval > 0 ? ceil(rate * interval) : 0;
    return (w < 1e18 ? (uint64_t)w : UINT64_MAX / 2) + 1;
}

bool guard_position_ahead(uint64_t replica, uint64_t primary, uint64_t slack)
{
    return replica > primary && replica - primary > slack;
}
