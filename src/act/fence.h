/* fence.h: only the owner acts (config ha:, issue 19).
 *
 * With ha:, several instances watch the same clusters and each cluster
 * has one owner (ha.h); only the owner starts runbook actions, restore
 * ramps and failovers on it, and every node call it makes carries the
 * cluster's fencing token in X-Replguard-Fence, so a node refuses the
 * late call of a deposed owner (simnode answers 409 to a token lower
 * than the highest it has seen). Without ha: every cluster is owned and
 * no header is sent. */
#ifndef REPLGUARD_FENCE_H
#define REPLGUARD_FENCE_H

#include <stdbool.h>
#include <stdint.h>

struct act_env;
struct poll_req;

#define FENCE_HEADER "X-Replguard-Fence"

/* act_owner: whether this instance may act on cluster now (env->owner;
 * true without it). Sets *token (may be NULL) to the fencing token, 0
 * for none. */
bool act_owner(const struct act_env *env, const char *cluster, int64_t *token);
/* act_fence: sets idle slot r's fence header for a call to a node of
 * cluster: "X-Replguard-Fence: TOKEN", or none when the token is 0.
 * Returns whether this instance may act on cluster (act_owner). */
bool act_fence(const struct act_env *env, struct poll_req *r,
               const char *cluster);

#endif
