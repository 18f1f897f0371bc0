/* routeread.c: read preferences and read-your-writes over the
 * snapshot (/route, /health/read, ?min_position=). */
#include "serve/routeread.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "serve/routewait.h"

enum pref { PREF_PRIMARY, PREF_SECONDARY, PREF_NEAREST, PREF_ANY };

static const char *const pref_names[] = {[PREF_PRIMARY] = "primary",
                                         [PREF_SECONDARY] = "secondary",
                                         [PREF_NEAREST] = "nearest",
                                         [PREF_ANY] = "any"};

/* A request's query, parsed. */
struct rquery {
    enum pref pref;
    bool lag_given;
    double max_lag;
    bool pos_given;
    uint64_t min_pos;
    const char *zone; /* NULL: none (owned by the connection, or by a
                         struct wait_arg) */
    double wait;      /* seconds, 0: answer from the last poll */
    bool hold_given;  /* ?hold=: the strict bound (snap_hold_why) */
    double hold;      /* seconds */
};

/* One node of the cluster, judged. */
struct cand {
    const struct snap_node *n;
    const char *why; /* NULL: it qualifies */
    int group;       /* sorted by group, then key, then name */
    double key;
};

static const char *arg(struct MHD_Connection *conn, const char *key)
{
    return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, key);
}

int routeread_min_position(struct MHD_Connection *conn, bool *given,
                           uint64_t *p)
{
    const char *q = arg(conn, "min_position");
    *given = q != NULL;
    if (!q)
        return 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(q, &end, 10);
    if (q[0] < '0' || q[0] > '9' || *end || errno || v == 0 || v > (1ull << 63))
        return -1;
    *p = v;
    return 0;
}

const char *routeread_position_why(const struct snap_node *n, uint64_t p)
{
    if (n->is_primary)
        return NULL;
    if (!n->have_position)
        return "position unknown";
    return n->position >= p ? NULL : "min_position not applied";
}

int routeread_hold(struct MHD_Connection *conn, bool *given, double *hold)
{
    const char *v = arg(conn, "hold");
    *given = v != NULL;
    *hold = 0;
    if (!v)
        return 0;
    size_t n = strlen(v);
    if (n == 0 || !strchr("smh", v[n - 1]) || parse_duration(v, hold) < 0 ||
        *hold > ROUTEREAD_HOLD_MAX)
        return -1;
    return 0;
}

double routeread_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* parse_lag: ?max_lag=, a duration with its unit, as /health/replica
 * takes it. */
static int parse_lag(struct MHD_Connection *conn, struct rquery *q)
{
    const char *v = arg(conn, "max_lag");
    q->lag_given = v != NULL;
    if (!v)
        return 0;
    size_t n = strlen(v);
    bool unit = n > 0 && strchr("smh", v[n - 1]) != NULL;
    return unit && parse_duration(v, &q->max_lag) == 0 ? 0 : -1;
}

/* parse_query: the query into *q; NULL, or the 400's message. */
static const char *parse_query(struct MHD_Connection *conn, struct rquery *q)
{
    const char *p = arg(conn, "preference");
    memset(q, 0, sizeof(*q));
    q->pref = PREF_ANY;
    if (p) {
        size_t i = 0;
        while (i < ARRAY_LEN(pref_names) && strcmp(p, pref_names[i]) != 0)
            i++;
        if (i == ARRAY_LEN(pref_names))
            return "invalid preference: want primary, secondary, nearest "
                   "or any";
        q->pref = (enum pref)i;
    }
    if (parse_lag(conn, q) < 0)
        return "invalid max_lag: want a duration such as 250ms or 2s";
    if (routeread_min_position(conn, &q->pos_given, &q->min_pos) < 0)
        return "invalid min_position: want a position from 1 to 2^63";
    q->zone = arg(conn, "zone");
    if (q->zone && q->zone[0] == '\0')
        return "invalid zone: empty";
    const char *w = arg(conn, "wait");
    size_t n = w ? strlen(w) : 0;
    if (w && (n == 0 || !strchr("smh", w[n - 1]) ||
              parse_duration(w, &q->wait) < 0 || q->wait > ROUTEWAIT_MAX))
        return "invalid wait: want a duration up to 1s, such as 200ms";
    if (routeread_hold(conn, &q->hold_given, &q->hold) < 0)
        return "invalid hold: want a duration up to 60s, such as 50ms";
    return NULL;
}

/* judge_primary: whether the cluster's primary n may serve this read. */
static const char *judge_primary(const struct snap_node *n,
                                 const struct rquery *q)
{
    if (q->pref == PREF_SECONDARY)
        return "primary (preference secondary)";
    return snap_primary_why(n);
}

/* judge: fills c for n under q: why it does not qualify (NULL: it
 * does), and its sort group and key. */
static void judge(struct cand *c, const struct snap_node *n,
                  const struct rquery *q)
{
    c->n = n;
    c->group = 0;
    c->key = 0;
    if (n->is_primary) {
        c->why = judge_primary(n, q);
        c->group = q->pref == PREF_ANY ? 1 : 0; /* any: replicas first */
    } else if (q->pref == PREF_PRIMARY) {
        c->why = "not the primary";
    } else {
        double max_lag = q->lag_given ? q->max_lag : n->read_max_lag;
        if (snap_read_ok(n, q->lag_given, max_lag, &c->why) && q->hold_given)
            c->why = snap_hold_why(n, max_lag, q->hold, routeread_now());
        if (!c->why && q->pos_given)
            c->why = routeread_position_why(n, q->min_pos);
    }
    if (q->pref == PREF_NEAREST) {
        c->key = n->scrape_avg;
        c->group = q->zone && !(n->zone && strcmp(n->zone, q->zone) == 0);
    } else if (!n->is_primary) {
        c->key = n->rv.have_lag ? n->rv.lag : 0;
    }
}

static int cmp_cand(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if ((x->why == NULL) != (y->why == NULL))
        return x->why == NULL ? -1 : 1;
    if (x->why == NULL && x->group != y->group)
        return x->group < y->group ? -1 : 1;
    if (x->why == NULL && x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return strcmp(x->n->node, y->n->node);
}

/* rank: the cluster's nodes judged and sorted, the qualified ones first
 * and best first (the caller frees the array); NULL when s knows no
 * such cluster. */
static struct cand *rank(const struct snapshot *s, const char *cluster,
                         const struct rquery *q, size_t *count)
{
    const struct snap_node *nodes = snapshot_cluster(s, cluster, count);
    if (!nodes)
        return NULL;
    struct cand *c = xcalloc(*count, sizeof(*c));
    for (size_t i = 0; i < *count; i++)
        judge(&c[i], &nodes[i], q);
    qsort(c, *count, sizeof(*c), cmp_cand);
    return c;
}

static void add_num_or_null(cJSON *o, const char *key, bool have, double v)
{
    if (have)
        cJSON_AddNumberToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

static void add_str_or_null(cJSON *o, const char *key, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

static cJSON *node_json(const struct snap_node *n)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", n->node);
    cJSON_AddStringToObject(o, "url", n->url);
    cJSON_AddStringToObject(o, "role", n->is_primary ? "primary" : n->role);
    bool lag = n->is_primary || (n->rv.fresh && n->rv.have_lag);
    add_num_or_null(o, "lag_seconds", lag, n->is_primary ? 0 : n->rv.lag);
    add_num_or_null(o, "position", n->have_position, (double)n->position);
    add_str_or_null(o, "zone", n->zone);
    add_num_or_null(o, "latency_seconds", n->scrape_avg > 0, n->scrape_avg);
    return o;
}

static void answer(unsigned *status, struct buf *body, unsigned code,
                   cJSON *root)
{
    char *p = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!p)
        abort(); /* out of memory, as every other reply */
    *status = code;
    buf_puts(body, p);
    cJSON_free(p);
}

static void answer_error(unsigned *status, struct buf *body, unsigned code,
                         const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    answer(status, body, code, o);
}

/* --- waiting for a position (wait=) ------------------------------------- */

/* A suspended request's test, on the waiter thread. */
struct wait_arg {
    struct rquery q; /* q.zone is zone */
    char *zone;
    char *cluster;
    char *node; /* NULL: /route */
};

static bool lacks_position(const char *why)
{
    return why && (strcmp(why, "min_position not applied") == 0 ||
                   strcmp(why, "position unknown") == 0);
}

/* worth_waiting: whether a newer poll may change the answer: for /route
 * (node NULL) no replica qualifies and one lacks only the position; for
 * /health/read the node lacks the position. */
static bool worth_waiting(const struct cand *c, size_t count, const char *node)
{
    bool lacking = false;
    for (size_t i = 0; i < count; i++) {
        if (node && strcmp(c[i].n->node, node) != 0)
            continue;
        if (!node && !c[i].why && !c[i].n->is_primary)
            return false;
        lacking = lacking || lacks_position(c[i].why);
    }
    return lacking;
}

static bool wait_ready(const struct snapshot *s, void *arg)
{
    const struct wait_arg *a = arg;
    size_t count;
    struct cand *c = rank(s, a->cluster, &a->q, &count);
    bool ready = !c || !worth_waiting(c, count, a->node);
    free(c);
    return ready;
}

static void wait_free(void *arg)
{
    struct wait_arg *a = arg;
    free(a->zone);
    free(a->cluster);
    free(a->node);
    free(a);
}

/* maybe_wait: suspends the request (true: answer nothing now) when it
 * asks to wait, did not come back from a wait (back), and a newer poll
 * may change the answer c. */
static bool maybe_wait(struct routewait *rw, struct MHD_Connection *conn,
                       bool back, const struct rquery *q, const char *cluster,
                       const char *node, const struct cand *c, size_t count)
{
    if (!rw || back || q->wait <= 0 || !q->pos_given ||
        q->pref == PREF_PRIMARY || !worth_waiting(c, count, node))
        return false;
    struct wait_arg *a = xcalloc(1, sizeof(*a));
    a->q = *q;
    a->zone = q->zone ? xstrdup(q->zone) : NULL;
    a->q.zone = a->zone;
    a->cluster = xstrdup(cluster);
    a->node = node ? xstrdup(node) : NULL;
    return routewait_suspend(rw, conn, q->wait, wait_ready, a, wait_free);
}

/* --- the handlers ------------------------------------------------------- */

static cJSON *route_json(const char *cluster, const struct rquery *q,
                         const struct cand *c, size_t count)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "cluster", cluster);
    cJSON_AddStringToObject(o, "preference", pref_names[q->pref]);
    cJSON *nodes = cJSON_AddArrayToObject(o, "nodes");
    cJSON *excluded = cJSON_AddArrayToObject(o, "excluded");
    for (size_t i = 0; i < count; i++) {
        if (!c[i].why) {
            cJSON_AddItemToArray(nodes, node_json(c[i].n));
            continue;
        }
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", c[i].n->node);
        cJSON_AddStringToObject(e, "reason", c[i].why);
        cJSON_AddItemToArray(excluded, e);
    }
    return o;
}

void routeread_route(const struct snapshot *s, struct routewait *rw,
                     struct MHD_Connection *conn, const char *tail,
                     unsigned *status, struct buf *body)
{
    bool back = rw && routewait_resumed(rw, conn);
    struct rquery q;
    const char *bad = parse_query(conn, &q);
    if (bad) {
        answer_error(status, body, MHD_HTTP_BAD_REQUEST, bad);
        return;
    }
    size_t count;
    struct cand *c = rank(s, tail, &q, &count);
    if (!c) {
        answer_error(status, body, MHD_HTTP_NOT_FOUND, "unknown cluster");
        return;
    }
    if (maybe_wait(rw, conn, back, &q, tail, NULL, c, count))
        *status = 0; /* answered when resumed */
    else
        answer(status, body, MHD_HTTP_OK, route_json(tail, &q, c, count));
    free(c);
}

/* split: "{cluster}/{node}" into a heap copy of the cluster and the
 * node (pointing into tail); -1 when either is empty or more follows. */
static int split(const char *tail, char **cluster, const char **node)
{
    const char *slash = strchr(tail, '/');
    if (!slash || slash == tail || slash[1] == '\0' || strchr(slash + 1, '/'))
        return -1;
    *cluster = xstrndup(tail, (size_t)(slash - tail));
    *node = slash + 1;
    return 0;
}

/* health_json: the /health/read body of c, 1-based rank when it
 * qualifies. */
static cJSON *health_json(const struct cand *c, const struct rquery *q,
                          size_t rank_1)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "cluster", c->n->cluster);
    cJSON_AddStringToObject(o, "node", c->n->node);
    cJSON_AddStringToObject(o, "preference", pref_names[q->pref]);
    cJSON_AddStringToObject(o, "status", c->why ? "unavailable" : "ok");
    add_str_or_null(o, "reason", c->why);
    add_num_or_null(o, "rank", !c->why, (double)rank_1);
    return o;
}

/* find: the index of node in c, count when none. */
static size_t find(const struct cand *c, size_t count, const char *node)
{
    size_t i = 0;
    while (i < count && strcmp(c[i].n->node, node) != 0)
        i++;
    return i;
}

void routeread_health(const struct snapshot *s, struct routewait *rw,
                      struct MHD_Connection *conn, const char *tail,
                      unsigned *status, struct buf *body)
{
    bool back = rw && routewait_resumed(rw, conn);
    struct rquery q;
    char *cluster;
    const char *node;
    const char *bad = parse_query(conn, &q);
    if (bad || split(tail, &cluster, &node) < 0) {
        answer_error(status, body,
                     bad ? MHD_HTTP_BAD_REQUEST : MHD_HTTP_NOT_FOUND,
                     bad ? bad : "not found");
        return;
    }
    size_t count, i;
    struct cand *c = rank(s, cluster, &q, &count);
    if (!c || (i = find(c, count, node)) == count)
        answer_error(status, body, MHD_HTTP_NOT_FOUND,
                     c ? "unknown node" : "unknown cluster");
    else if (maybe_wait(rw, conn, back, &q, cluster, node, c, count))
        *status = 0; /* answered when resumed */
    else
        answer(status, body,
               c[i].why ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK,
               health_json(&c[i], &q, i + 1));
    free(c);
    free(cluster);
}
