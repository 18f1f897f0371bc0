/* failover.c: the pure decisions of failover (see failover.h): detection,
 * the number of acknowledged copies, the candidate and the RPO guard. */
#include "act/failover.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* each node of cv, as i over v->nodes */
#define FOR_NODES(v, cv, i)                                                    \
    for (size_t i = (cv)->first_node; i < (cv)->first_node + (cv)->n_nodes; i++)

int fo_primary(const struct agent_view *v, const struct cluster_view *cv)
{
    FOR_NODES(v, cv, i)
    {
        if (v->nodes[i].is_primary)
            return (int)i;
    }
    return -1;
}

enum fo_liveness fo_detect(const struct agent_view *v,
                           const struct cluster_view *cv,
                           const struct config_cluster *c, double now,
                           struct fo_detect *out)
{
    struct fo_detect d = {0};
    d.quorum = config_failover_quorum(c);
    enum fo_liveness res = FO_PRIMARY_OK;
    if (fo_primary(v, cv) >= 0) {
        d.unreachable_for = now - cv->primary_ok_mono;
        FOR_NODES(v, cv, i)
        {
            const struct node_view *n = &v->nodes[i];
            /* a fresh replica that says its stream is down: it has
             * lost the primary too (a stale one tells nothing) */
            if (!n->is_primary && n->fresh && n->have_connected &&
                !n->connected)
                d.down++;
        }
        if (d.unreachable_for >= c->failover.detect_after)
            res = d.quorum > 0 && d.down >= d.quorum ? FO_PRIMARY_DEAD
                                                     : FO_PRIMARY_HELD;
    }
    if (out)
        *out = d;
    return res;
}

unsigned fo_sync_copies(const struct config_cluster *c,
                        const struct cluster_view *cv)
{
    /* a primary that fell back to async acks without any copy */
    if (cv->sync_mode && strcmp(cv->sync_mode, "async") == 0)
        return 0;
    switch (c->replication.mode) {
    case REPL_SEMI_SYNC:
        return c->replication.min_sync_replicas;
    case REPL_SYNC:
        return 1;
    default:
        return 0;
    }
}

uint64_t fo_holds(const struct node_view *n)
{
    return n->have_received && n->received > n->position ? n->received
                                                         : n->position;
}

uint64_t fo_need(const struct agent_view *v, const struct cluster_view *cv)
{
    uint64_t need = cv->have_acked ? cv->acked : 0;
    FOR_NODES(v, cv, i)
    {
        const struct node_view *n = &v->nodes[i];
        if (!n->is_primary && n->fresh && n->have_position &&
            fo_holds(n) > need)
            need = fo_holds(n);
    }
    return need;
}

bool fo_eligible(const struct node_view *n, bool lag_known, char *why,
                 size_t len)
{
    const char *no = NULL;
    if (n->is_primary)
        no = "the primary";
    else if (!n->up)
        no = "unreachable";
    else if (!n->fresh)
        no = "stale";
    else if (strcmp(n->role, "replica") != 0)
        no = n->role; /* "demoted", "fenced", or a primary of old */
    else if (n->rv.implausible)
        no = "implausible values";
    else if (!lag_known)
        no = "lag unknown";
    else if (!n->have_position)
        no = "position unknown";
    if (no && why)
        snprintf(why, len, "%s", no);
    return no == NULL;
}

unsigned fo_priority(const struct config_cluster *c, const char *node)
{
    const struct config_node *n = config_find_node(c, node);
    return n ? n->priority : UINT32_MAX;
}

static uint64_t loss_of(const struct node_view *n, uint64_t need)
{
    return need > fo_holds(n) ? need - fo_holds(n) : 0;
}

/* better: whether a ranks before b: lowest priority, then highest
 * position, then name. */
static bool better(const struct config_cluster *c, const struct node_view *a,
                   const struct node_view *b)
{
    unsigned pa = fo_priority(c, a->name), pb = fo_priority(c, b->name);
    if (pa != pb)
        return pa < pb;
    if (fo_holds(a) != fo_holds(b))
        return fo_holds(a) > fo_holds(b);
    return strcmp(a->name, b->name) < 0;
}

/* unseen: replicas of cv replguard cannot see now (not fresh). */
static unsigned unseen(const struct agent_view *v,
                       const struct cluster_view *cv)
{
    unsigned n = 0;
    FOR_NODES(v, cv, i)
    {
        const struct node_view *x = &v->nodes[i];
        n += !x->is_primary && !x->fresh;
    }
    return n;
}

/* pick: the best eligible node (to: only that one) within max_loss, and
 * the best eligible one at all (*best), as indexes, -1 for none. */
static bool lag_known_of(const struct agent_view *v,
                         const struct cluster_view *cv, const bool *lag_known,
                         size_t i)
{
    return lag_known ? lag_known[i - cv->first_node] : v->nodes[i].rv.have_lag;
}

static int pick(const struct agent_view *v, const struct cluster_view *cv,
                const struct config_cluster *c, const bool *lag_known,
                const char *to, uint64_t need, uint64_t max_loss, int *best)
{
    int chosen = -1;
    *best = -1;
    FOR_NODES(v, cv, i)
    {
        const struct node_view *n = &v->nodes[i];
        if ((to && strcmp(n->name, to) != 0) ||
            !fo_eligible(n, lag_known_of(v, cv, lag_known, i), NULL, 0))
            continue;
        if (*best < 0 || better(c, n, &v->nodes[*best]))
            *best = (int)i;
        if (loss_of(n, need) <= max_loss &&
            (chosen < 0 || better(c, n, &v->nodes[chosen])))
            chosen = (int)i;
    }
    return chosen;
}

/* refuse_target: why to may not be promoted; -1 with out filled. */
static int refuse_target(const struct agent_view *v,
                         const struct cluster_view *cv, const bool *lag_known,
                         const char *to, struct fo_choice *out)
{
    char why[64] = "not a node of the cluster";
    FOR_NODES(v, cv, i)
    {
        if (strcmp(v->nodes[i].name, to) == 0)
            fo_eligible(&v->nodes[i], lag_known_of(v, cv, lag_known, i), why,
                        sizeof(why));
    }
    out->reason = "not_eligible";
    snprintf(out->why, sizeof(out->why), "%s may not be promoted: %s", to, why);
    return -1;
}

int fo_choose(const struct agent_view *v, const struct cluster_view *cv,
              const struct config_cluster *c, const bool *lag_known,
              const char *to, bool switchover, struct fo_choice *out)
{
    memset(out, 0, sizeof(*out));
    out->node = -1;
    out->need = fo_need(v, cv);
    uint64_t max_loss = switchover ? UINT64_MAX : c->failover.max_data_loss;
    int best;
    int chosen = pick(v, cv, c, lag_known, to, out->need, max_loss, &best);
    if (best < 0) {
        if (to)
            return refuse_target(v, cv, lag_known, to, out);
        out->reason = "no_candidate";
        snprintf(out->why, sizeof(out->why),
                 "no replica may be promoted (up, fresh, role replica, lag "
                 "and position known)");
        return -1;
    }
    unsigned k = fo_sync_copies(c, cv), gone = unseen(v, cv);
    if (!switchover && max_loss == 0 && k > 0 && gone >= k) {
        out->reason = "unprovable";
        snprintf(out->why, sizeof(out->why),
                 "%u replica(s) unreachable and acknowledged writes have %u "
                 "copies: one may exist only there; the loss cannot be "
                 "bounded (max_data_loss 0)",
                 gone, k);
        return -1;
    }
    if (chosen < 0) {
        const struct node_view *b = &v->nodes[best];
        out->loss = loss_of(b, out->need);
        out->reason = "data_loss";
        snprintf(out->why, sizeof(out->why),
                 "%s would lose %" PRIu64
                 " acknowledged positions, max_data_loss %" PRIu64,
                 b->name, out->loss, max_loss);
        return -1;
    }
    out->node = chosen;
    out->loss = loss_of(&v->nodes[chosen], out->need);
    return 0;
}
