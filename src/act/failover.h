/* failover.h: the pure decisions of failover (issue 15), on a view and a
 * cluster's config, with no clock, I/O or state of their own: is the
 * primary dead (detection), how many acknowledged copies a write has
 * (the RPO bound), which replica to promote (candidate and RPO guard).
 * failover_run.c calls them every executor tick; tests call them on
 * hand-built views (tests/unit/test_failover_pick.c).
 *
 * Detection: the primary is dead only when replguard has not reached it
 * for detect_after AND at least quorum replicas are fresh and report
 * their replication stream down. Unreachable without the quorum is
 * "held" (the agent is cut off, the cluster is probably fine).
 *
 * Candidate: eligible replicas are up, fresh, role "replica" (not
 * demoted or fenced), with a known lag and a position. A replica holds
 * its position, or what it has received where the profile says
 * (fo_holds). need = max(the acknowledged position seen on the primary
 * (PostgreSQL: its flushed LSN), the highest a fresh replica holds);
 * loss(X) = need - what X holds (0 when negative). Among eligible
 * replicas with loss <= max_data_loss: lowest priority, then the most
 * held, then name. When acknowledged writes have k > 0
 * copies on replicas and k or more replicas are not fresh, the loss
 * cannot be bounded: with max_data_loss 0 that is a refusal
 * ("unprovable"). */
#ifndef REPLGUARD_FAILOVER_H
#define REPLGUARD_FAILOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "model/view.h"

/* What detection found for a cluster. */
enum fo_liveness {
    FO_PRIMARY_OK,   /* reached within detect_after (or no primary known) */
    FO_PRIMARY_HELD, /* unreachable, but the replicas' quorum is not met */
    FO_PRIMARY_DEAD  /* unreachable and the quorum reports the stream down */
};

/* The figures behind a detection, for logs and audit lines. */
struct fo_detect {
    double unreachable_for; /* seconds since the primary's last good scrape */
    unsigned down;          /* fresh replicas reporting the stream down */
    unsigned quorum;        /* how many it takes */
};

/* fo_primary: the index in v->nodes of cv's current primary, the node
 * marked is_primary, up or not (cluster_view.primary names it only
 * while it is up: a dead primary stays the current one, and detection
 * needs that); -1 when none. */
int fo_primary(const struct agent_view *v, const struct cluster_view *cv);

/* fo_detect: whether cv's primary is dead at monotonic time now, by c's
 * failover config (detect_after, quorum); the figures in *out (may be
 * NULL). A cluster with no primary known is FO_PRIMARY_OK: nothing to
 * replace. */
enum fo_liveness fo_detect(const struct agent_view *v,
                           const struct cluster_view *cv,
                           const struct config_cluster *c, double now,
                           struct fo_detect *out);

/* fo_sync_copies: k, how many replicas hold every acknowledged write:
 * min_sync_replicas in semi-sync, 1 in sync, 0 in async or when the
 * primary last reported sync_mode "async" (it fell back). */
unsigned fo_sync_copies(const struct config_cluster *c,
                        const struct cluster_view *cv);

/* fo_holds: the position replica n holds once promoted: its received
 * position where the profile reports one (a PostgreSQL standby applies
 * all it received before it takes writes), else its position. */
uint64_t fo_holds(const struct node_view *n);

/* fo_need: the position a promotion must reach to lose nothing: the
 * acknowledged position seen on the primary, or a fresh replica's
 * higher position. */
uint64_t fo_need(const struct agent_view *v, const struct cluster_view *cv);

/* fo_eligible: whether node n may be promoted, lag_known saying whether
 * its lag is known (see fo_choose); when not, why gets a short reason
 * ("stale", "demoted", "lag unknown", ...). A node showing an
 * implausible value now is never eligible. */
bool fo_eligible(const struct node_view *n, bool lag_known, char *why,
                 size_t len);

/* The outcome of fo_choose(). */
struct fo_choice {
    int node;           /* the chosen node's index in v->nodes, or -1 */
    uint64_t need;      /* as fo_need() */
    uint64_t loss;      /* of the chosen node (or of the best one refused) */
    const char *reason; /* NULL when chosen; else "no_candidate",
                           "not_eligible", "data_loss", "unprovable" */
    char why[256];      /* the sentence for logs and audit lines */
};

/* fo_choose: the replica of cv to promote by c's priorities and RPO
 * guard (see above). lag_known, when not NULL, says per node of cv
 * (cv->n_nodes entries, in view order) whether its lag was known: the
 * caller remembers it from the last round the primary was up, since a
 * replica's lag cannot be measured against a dead primary (no more
 * heartbeats); NULL: the view's lag now. to, when not NULL, is the only
 * one considered
 * (refused "not_eligible" when it may not be promoted). switchover: the
 * primary answers and the machine waits for the candidate to catch up,
 * so neither max_data_loss nor the unprovable rule applies. Returns 0
 * with out->node set, or -1 with out->reason and out->why. */
int fo_choose(const struct agent_view *v, const struct cluster_view *cv,
              const struct config_cluster *c, const bool *lag_known,
              const char *to, bool switchover, struct fo_choice *out);

/* fo_priority: the configured priority of node in c (UINT32_MAX when it
 * is not configured). */
unsigned fo_priority(const struct config_cluster *c, const char *node);

#endif
