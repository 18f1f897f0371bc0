/* simapirepl.c: the node API of client writes and of failover:
 * POST /v1/write and /v1/admin/cluster/{promote,fence,replicate-from}. */
#include "sim/simapi_internal.h"

#include "lib/log.h"
#include "sim/sim.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>

/* get_epoch: a whole epoch >= 1 from *d (0 when absent), or 400. */
static int get_epoch(struct call *c, double d, bool required, uint64_t *out)
{
    if ((d == 0 && !required) ||
        (d >= 1 && d <= 9007199254740992.0 && floor(d) == d)) {
        *out = (uint64_t)d;
        return 0;
    }
    simapi_error(c->out, 400, "field epoch must be a whole number >= 1");
    return -1;
}

/* reply_epoch: like simapi_reply_rc, naming a refused epoch. */
static void reply_epoch(struct call *c, int rc, const char *what,
                        const char *node)
{
    if (rc == -SIM_ESTATE) {
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "%s refused: stale epoch or wrong state "
                 "(node epoch %" PRIu64 ")",
                 what, sim_epoch(c->s, c->ci, c->ni));
        simapi_error(c->out, 409, msg);
        return;
    }
    if (rc == 0) {
        char q[96];
        log_msg(LOG_INFO, "msg=\"%s\" cluster=%s node=%s epoch=%" PRIu64, what,
                sim_cluster_name(c->s, c->ci), log_quote(q, sizeof(q), node),
                sim_epoch(c->s, c->ci, c->ni));
    }
    simapi_reply_rc(c->out, rc, 200);
}

void simapi_h_promote(struct call *c)
{
    char replica[64] = "";
    bool force = true;
    double e = 0;
    uint64_t epoch;
    const struct field f[] = {
        {"replica_id", F_STR, true, replica, sizeof(replica)},
        {"force", F_BOOL, false, &force, 0},
        {"epoch", F_NUM, false, &e, 0}};
    if (simapi_fields(c, f, ARRAY_LEN(f)) < 0 ||
        get_epoch(c, e, false, &epoch) < 0)
        return;
    int rc = sim_promote_epoch(c->s, c->ci, c->ni, replica, epoch);
    reply_epoch(c, rc, "replica promoted", replica);
}

void simapi_h_write(struct call *c)
{
    double count = 0;
    uint64_t pos = 0;
    const struct field f[] = {{"count", F_NUM, false, &count, 0}};
    if (simapi_fields(c, f, ARRAY_LEN(f)) < 0)
        return;
    if (count == 0)
        count = 1;
    if (!(count >= 1 && count <= 1e6 && floor(count) == count)) {
        simapi_error(c->out, 400, "field count must be a whole 1..1000000");
        return;
    }
    int rc = sim_write(c->s, c->ci, c->ni, (uint64_t)count, &pos);
    if (rc == -SIM_EUNAVAIL) {
        simapi_write_answer(c->s, c->ci, c->ni, 0, c->out);
        return;
    }
    if (rc < 0) {
        simapi_error(c->out, simapi_status(rc),
                     rc == -SIM_ESTATE ? "fenced: no writes"
                                       : sim_strerror(rc));
        return;
    }
    bool acked;
    if (sim_write_settled(c->s, c->ci, c->ni, pos, &acked))
        simapi_write_answer(c->s, c->ci, c->ni, pos, c->out);
    else
        c->out->wait_position = pos;
}

void simapi_write_answer(struct sim *s, unsigned ci, unsigned ni, uint64_t pos,
                         struct simapi_reply *out)
{
    bool acked = false;
    bool settled = pos && sim_write_settled(s, ci, ni, pos, &acked);
    cJSON *j = cJSON_CreateObject();
    out->wait_position = 0;
    if (acked) {
        cJSON_AddNumberToObject(j, "position", (double)pos);
        simapi_emit(out, 200, j);
        return;
    }
    const char *reason = !sim_is_primary(s, ci, ni) ? "not_primary"
                         : sim_effective_mode(s, ci) == SIM_MODE_BLOCKED
                             ? "blocked"
                         : settled ? "fenced"
                                   : "timeout";
    cJSON_AddStringToObject(j, "error", "write not acknowledged");
    cJSON_AddStringToObject(j, "reason", reason);
    if (pos)
        cJSON_AddNumberToObject(j, "position", (double)pos);
    simapi_emit(out, 503, j);
}

void simapi_h_fence(struct call *c)
{
    double e = 0;
    uint64_t epoch;
    const struct field f[] = {{"epoch", F_NUM, true, &e, 0}};
    if (simapi_fields(c, f, ARRAY_LEN(f)) < 0 ||
        get_epoch(c, e, true, &epoch) < 0)
        return;
    int rc = sim_fence(c->s, c->ci, c->ni, epoch);
    reply_epoch(c, rc, "node fenced", sim_node_name(c->s, c->ci, c->ni));
}

void simapi_h_replicate_from(struct call *c)
{
    char primary[64] = "";
    double e = 0;
    uint64_t epoch;
    const struct field f[] = {
        {"primary_id", F_STR, true, primary, sizeof(primary)},
        {"epoch", F_NUM, true, &e, 0}};
    if (simapi_fields(c, f, ARRAY_LEN(f)) < 0 ||
        get_epoch(c, e, true, &epoch) < 0)
        return;
    int rc = sim_replicate_from(c->s, c->ci, c->ni, primary, epoch);
    reply_epoch(c, rc, "replicating from", primary);
}
