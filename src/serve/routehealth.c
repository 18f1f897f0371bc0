/* routehealth.c: the load balancers' health checks, answered from the
 * snapshot (moved out of routes.c, which kept the routing). */
#include "serve/routehealth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "model/lag.h"
#include "monitor/snapshot.h"
#include "serve/routeread.h"

/* What the handlers below fill: the status and the JSON body. */
struct reply {
    unsigned *status;
    struct buf *body;
};

/* reply_json: prints root as the body and frees it. */
static void reply_json(struct reply *rep, unsigned status, cJSON *root)
{
    char *p = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!p) {
        fputs("replguard: out of memory rendering a reply\n", stderr);
        abort();
    }
    *rep->status = status;
    buf_puts(rep->body, p);
    cJSON_free(p);
}

static void reply_error(struct reply *rep, unsigned status, const char *msg)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "error", msg);
    reply_json(rep, status, root);
}

/* split_target: "{cluster}/{node}" into a heap copy of the cluster
 * (*cluster, which the caller frees) and the node (pointing into tail).
 * Returns -1 when either part is empty or there is a third one. */
static int split_target(const char *tail, char **cluster, const char **node)
{
    const char *slash = strchr(tail, '/');
    if (!slash || slash == tail || slash[1] == '\0' || strchr(slash + 1, '/'))
        return -1;
    *cluster = xstrndup(tail, (size_t)(slash - tail));
    *node = slash + 1;
    return 0;
}

/* find_target: the node a /health/{kind}/{cluster}/{node} path names;
 * NULL after a 404 reply when there is none. */
static const struct snap_node *find_target(const struct snapshot *s,
                                           const char *tail, struct reply *rep)
{
    char *cluster;
    const char *node;
    if (split_target(tail, &cluster, &node) < 0) {
        reply_error(rep, MHD_HTTP_NOT_FOUND, "not found");
        return NULL;
    }
    const struct snap_node *n = snapshot_find(s, cluster, node);
    if (!n)
        reply_error(rep, MHD_HTTP_NOT_FOUND,
                    snapshot_has_cluster(s, cluster) ? "unknown node"
                                                     : "unknown cluster");
    free(cluster);
    return n;
}

/* query_max_lag: ?max_lag=DURATION into *out (*given tells whether it
 * was there); -1 after a 400 reply when it does not parse. */
static int query_max_lag(struct MHD_Connection *conn, double *out, bool *given,
                         struct reply *rep)
{
    const char *q =
        MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "max_lag");
    *given = q != NULL;
    size_t n = q ? strlen(q) : 0;
    bool unit =
        n > 0 && (q[n - 1] == 's' || q[n - 1] == 'm' || q[n - 1] == 'h');
    if (!q || (unit && parse_duration(q, out) == 0))
        return 0;
    reply_error(rep, MHD_HTTP_BAD_REQUEST,
                "invalid max_lag: want a duration such as 250ms or 2s");
    return -1;
}

static cJSON *target_json(const struct snap_node *n, bool ok, const char *why)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "cluster", n->cluster);
    cJSON_AddStringToObject(o, "node", n->node);
    cJSON_AddStringToObject(o, "status", ok ? "ok" : "unavailable");
    if (ok || !why)
        cJSON_AddNullToObject(o, "reason");
    else
        cJSON_AddStringToObject(o, "reason", why);
    return o;
}

/* replica: 200 when the node is a replica fit to serve reads at
 * max_lag (the cluster's read rotation, read_rise and read_fall
 * included, unless the query gives a bound: snap_read_ok), else 503;
 * the body says why. */
static void replica(const struct snapshot *s, struct MHD_Connection *conn,
                    const char *tail, struct reply *rep)
{
    double max_lag = 0;
    bool given;
    if (query_max_lag(conn, &max_lag, &given, rep) < 0)
        return;
    const struct snap_node *n = find_target(s, tail, rep);
    if (!n)
        return;
    if (!given)
        max_lag = n->read_max_lag;
    const char *why = "not a replica";
    bool replica = !n->is_primary;
    bool ok = snap_read_ok(n, given, max_lag, &why);
    bool hold_given;
    double hold;
    if (routeread_hold(conn, &hold_given, &hold) < 0) {
        reply_error(rep, MHD_HTTP_BAD_REQUEST,
                    "invalid hold: want a duration up to 60s, such as 50ms");
        return;
    }
    if (ok && hold_given &&
        (why = snap_hold_why(n, max_lag, hold, routeread_now())) != NULL)
        ok = false; /* the strict bound: snapshot.h */
    bool pos_given;
    uint64_t pos = 0;
    if (routeread_min_position(conn, &pos_given, &pos) < 0) {
        reply_error(rep, MHD_HTTP_BAD_REQUEST, "invalid min_position");
        return;
    }
    if (ok && pos_given && (why = routeread_position_why(n, pos)) != NULL)
        ok = false; /* read-your-writes: routeread.h */
    cJSON *o = target_json(n, ok, why);
    if (replica && n->rv.fresh && n->rv.have_lag)
        cJSON_AddNumberToObject(o, "lag", n->rv.lag);
    else
        cJSON_AddNullToObject(o, "lag");
    cJSON_AddNumberToObject(o, "max_lag", max_lag);
    if (hold_given && replica && n->have_caught_up)
        /* the bound hold judged: the lag it may reach by then */
        cJSON_AddNumberToObject(o, "lag_bound",
                                routeread_now() + hold - n->caught_up_mono);
    if (replica)
        cJSON_AddStringToObject(o, "health", health_name(n->health));
    else
        cJSON_AddNullToObject(o, "health");
    reply_json(rep, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, o);
}

/* primary: 200 when the node may take writes as its cluster's
 * primary (snap_primary_why), else 503 with the reason; the body says
 * the role and epoch it reported. */
static void primary(const struct snapshot *s, const char *tail,
                    struct reply *rep)
{
    const struct snap_node *n = find_target(s, tail, rep);
    if (!n)
        return;
    const char *why = snap_primary_why(n);
    cJSON *o = target_json(n, why == NULL, why);
    cJSON_AddStringToObject(o, "role", n->role);
    if (n->have_epoch)
        cJSON_AddNumberToObject(o, "epoch", (double)n->epoch);
    else
        cJSON_AddNullToObject(o, "epoch");
    reply_json(rep, why ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK, o);
}

void routehealth_replica(const struct snapshot *s, struct MHD_Connection *conn,
                         const char *tail, unsigned *status, struct buf *body)
{
    struct reply rep = {status, body};
    replica(s, conn, tail, &rep);
}

void routehealth_primary(const struct snapshot *s, const char *tail,
                         unsigned *status, struct buf *body)
{
    struct reply rep = {status, body};
    primary(s, tail, &rep);
}
