/* guard.h: the checks that keep remediation from the wrong action (issue
 * 12): which role each action may target, the demotes of a cluster that
 * are running or done since the last poll (the last-healthy-replica guard
 * counts them), and node values that cannot be true.
 *
 * Pure: values in, values out; no I/O, no clock, no locks. The executor
 * (actions.c) and the assessment (assess.c) call it on the engine
 * thread. */
#ifndef REPLGUARD_GUARD_H
#define REPLGUARD_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/runbook.h"
#include "model/view.h"

/* --- the role an action may target ---------------------------------------- */

enum guard_target {
    GUARD_TARGET_ANY,     /* escalate, http, exec, reset_circuit_breakers,
                             promote (the failover machine picks: the
                             target when a replica, else the candidate) */
    GUARD_TARGET_REPLICA, /* demote, force_sync,
                             cancel_blocking_queries */
    GUARD_TARGET_CLUSTER, /* throttle, restore_throttle: act on the
                             cluster's primary, whatever the alert names */
};

/* guard_action_target: what action a may act on (table above). */
enum guard_target guard_action_target(enum runbook_action a);

/* guard_role_ok: whether action a may go to its target, which is known
 * (known false: not among the cluster's nodes) and is or says it is the
 * primary (is_primary). A replica-only action needs a known node that is
 * not a primary; the others go anywhere. */
bool guard_role_ok(enum runbook_action a, bool known, bool is_primary);

/* --- demotes in flight ---------------------------------------------------- */

#define GUARD_IN_FLIGHT UINT64_MAX

/* The replicas replguard is demoting or has demoted, by cluster. An entry
 * stays from the start of the demote until two poll rounds have finished
 * after it ended: the second one started after the demote's answer, so
 * the view shows the node's role as the node reports it (or the node as
 * unknown). Until then the last-healthy-replica guard counts the node as
 * gone whatever the last poll said. The strings are owned. */
struct guard_demotes {
    struct guard_demote {
        char *cluster, *node;
        uint64_t done_round; /* rounds finished when it ended, or
                                GUARD_IN_FLIGHT */
    } * v;
    size_t n;
};

/* guard_demotes_start: records a demote of node in cluster as running
 * (again, if it was there). */
void guard_demotes_start(struct guard_demotes *d, const char *cluster,
                         const char *node);
/* guard_demotes_done: the demote ended (any outcome: a timed-out one may
 * have taken effect) when `round` poll rounds had finished. */
void guard_demotes_done(struct guard_demotes *d, const char *cluster,
                        const char *node, uint64_t round);
/* guard_demotes_expire: drops the entries that the view of `round`
 * finished rounds shows (round >= done_round + 2). */
void guard_demotes_expire(struct guard_demotes *d, uint64_t round);
/* guard_demotes_has: whether node of cluster is being or was just
 * demoted. */
bool guard_demotes_has(const struct guard_demotes *d, const char *cluster,
                       const char *node);
/* guard_demotes_reset: frees every entry; d is empty after. */
void guard_demotes_reset(struct guard_demotes *d);

/* --- values that cannot be true ------------------------------------------- */

/* enum guard_implausible and guard_implausible_name() are in view.h,
 * which renderers include without the runbook types. */

/* GUARD_HB_SLACK: seconds a heartbeat may read above what was sent (the
 * value is sent with 6 decimals; a node may print fewer). */
#define GUARD_HB_SLACK 0.001

/* guard_heartbeat_ahead: whether a replica's applied heartbeat value is
 * newer than the newest one replguard sent (max_sent; 0: none sent yet,
 * nothing to judge). */
bool guard_heartbeat_ahead(double applied, double max_sent);

/* guard_position_slack: the writes a replica read a moment after its
 * primary may honestly be ahead by: the primary's rate (writes per
 * second; < 0: unknown, taken as 0) over one poll interval, plus one. */
uint64_t guard_position_slack(double rate, double interval);

/* guard_position_ahead: whether a replica at position replica is past
 * its primary's position by more than slack. */
bool guard_position_ahead(uint64_t replica, uint64_t primary, uint64_t slack);

#endif
