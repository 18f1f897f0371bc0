/* fence.c: the owner check and the fencing header (fence.h). */
#include "act/fence.h"

#include "act/executor.h"
#include "lib/poller.h"

#include <inttypes.h>
#include <stdio.h>

bool act_owner(const struct act_env *env, const char *cluster, int64_t *token)
{
    int64_t t = 0;
    bool owns = !env->owner || env->owner(env->ctx, cluster, &t);
    if (token)
        *token = t;
    return owns;
}

bool act_fence(const struct act_env *env, struct poll_req *r,
               const char *cluster)
{
    int64_t token;
    bool owns = act_owner(env, cluster, &token);
    char line[64] = "";
    if (token > 0)
        snprintf(line, sizeof(line), FENCE_HEADER ": %" PRId64, token);
    poller_req_set_header(r, line);
    return owns;
}
