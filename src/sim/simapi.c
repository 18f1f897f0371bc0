/* simapi.c: the request handlers of replguard-simnode (see simapi.h).
 *
 * A table routes (path, method) to a handler. Handlers parse their JSON
 * body into locals through one table-driven extractor (get_fields), so
 * no cJSON tree outlives the function that parsed it, call into the sim
 * and build their answer with cJSON. */
#include "sim/simapi_internal.h"

#include "lib/log.h"
#include "lib/merkle.h"
#include "sim/sim.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CT_JSON     "application/json"
#define CT_METRICS  "text/plain; version=0.0.4; charset=utf-8"
#define CT_BYTES    "text/plain; version=0.0.4"
#define MAX_BATCH   4096 /* hashes or parents in one merkle call */
#define NO_ENDPOINT -1

void simapi_reply_init(struct simapi_reply *r)
{
    r->status = 200;
    r->content_type = CT_JSON;
    r->allow = NULL;
    r->wait_position = 0;
    buf_init(&r->body, 0);
}

void simapi_reply_free(struct simapi_reply *r)
{
    buf_free(&r->body);
}

/* simapi_emit: prints j (which the caller made) as r's body and frees it. */
void simapi_emit(struct simapi_reply *r, unsigned status, cJSON *j)
{
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!text) {
        fprintf(stderr, "replguard: out of memory printing JSON\n");
        abort();
    }
    buf_reset(&r->body);
    buf_puts(&r->body, text);
    cJSON_free(text);
    r->status = status;
    r->content_type = CT_JSON;
}

void simapi_error(struct simapi_reply *r, unsigned status, const char *msg)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "error", msg);
    simapi_emit(r, status, j);
}

static void reply_ok(struct simapi_reply *r, unsigned status)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddTrueToObject(j, "ok");
    simapi_emit(r, status, j);
}

unsigned simapi_status(int rc)
{
    switch (rc < 0 ? -rc : rc) {
    case SIM_EINVAL:
        return 400;
    case SIM_ENONODE:
        return 404;
    case SIM_ENOTPRIMARY:
    case SIM_ESTATE:
        return 409;
    case SIM_EUNAVAIL:
        return 503;
    default:
        return 500;
    }
}

/* simapi_reply_rc: the answer to a sim call that returned rc. */
void simapi_reply_rc(struct simapi_reply *r, int rc, unsigned ok_status)
{
    if (rc < 0)
        simapi_error(r, simapi_status(rc), sim_strerror(rc));
    else
        reply_ok(r, ok_status);
}

void simapi_garbage(struct simapi_reply *r, uint64_t *rng)
{
    size_t n = 2048 + (size_t)(rng_next(rng) % 6144);
    buf_reset(&r->body);
    for (size_t i = 0; i < n; i += 8) {
        uint64_t x = rng_next(rng);
        buf_append(&r->body, &x, n - i < 8 ? n - i : 8);
    }
    /* make sure of a NUL, an invalid UTF-8 sequence and no leading '#' */
    r->body.data[0] = '\xff';
    r->body.data[1] = '\0';
    r->body.data[n / 2] = '\xc3';
    r->body.data[n / 2 + 1] = '\x28';
    r->status = 200;
    r->content_type = CT_BYTES;
}

/* --- JSON bodies ------------------------------------------------------- */

static int field_error(char *err, size_t errlen, const char *name,
                       const char *what)
{
    snprintf(err, errlen, "field %s %s", name, what);
    return -1;
}

static int get_duration(const cJSON *v, const struct field *f, char *err,
                        size_t errlen)
{
    double *d = f->dst;
    if (cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble >= 0)
        *d = v->valuedouble;
    else if (!cJSON_IsString(v) || parse_duration(v->valuestring, d) < 0)
        return field_error(err, errlen, f->name,
                           "must be a duration like \"30s\"");
    return 0;
}

static int get_field(const cJSON *obj, const struct field *f, char *err,
                     size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, f->name);
    if (!v || cJSON_IsNull(v))
        return f->required ? field_error(err, errlen, f->name, "is missing")
                           : 0;
    switch (f->type) {
    case F_NUM:
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
            return field_error(err, errlen, f->name, "must be a number");
        *(double *)f->dst = v->valuedouble;
        return 0;
    case F_STR:
        if (!cJSON_IsString(v))
            return field_error(err, errlen, f->name, "must be a string");
        if (strlen(v->valuestring) >= f->size)
            return field_error(err, errlen, f->name, "is too long");
        snprintf(f->dst, f->size, "%s", v->valuestring);
        return 0;
    case F_BOOL:
        if (!cJSON_IsBool(v))
            return field_error(err, errlen, f->name, "must be true or false");
        *(bool *)f->dst = cJSON_IsTrue(v);
        return 0;
    case F_DUR:
        return get_duration(v, f, err, errlen);
    }
    return -1;
}

/* get_fields: parses the request body as a JSON object and copies the n
 * fields into their destinations. Returns 0, or -1 with a reason. */
static int get_fields(const struct simapi_request *rq, const struct field *f,
                      size_t n, char *err, size_t errlen)
{
    int rc = 0;
    cJSON *j = cJSON_ParseWithLength(rq->body ? rq->body : "", rq->body_len);
    if (!j) {
        snprintf(err, errlen, "malformed JSON body");
        return -1;
    }
    if (!cJSON_IsObject(j)) {
        snprintf(err, errlen, "the body must be a JSON object");
        rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = get_field(j, &f[i], err, errlen);
    cJSON_Delete(j);
    return rc;
}

/* simapi_fields: get_fields(), answering 400 on failure. */
int simapi_fields(struct call *c, const struct field *f, size_t n)
{
    char err[160];
    if (get_fields(c->rq, f, n, err, sizeof(err)) == 0)
        return 0;
    simapi_error(c->out, 400, err);
    return -1;
}

/* --- the node API ------------------------------------------------------ */

static void h_metrics(struct call *c)
{
    buf_reset(&c->out->body);
    sim_render_metrics(c->s, c->ci, c->ni, &c->out->body);
    c->out->status = 200;
    c->out->content_type = CT_METRICS;
}

static void h_heartbeat(struct call *c)
{
    double ts = 0;
    const struct field f[] = {{"ts", F_NUM, true, &ts, 0}};
    if (simapi_fields(c, f, ARRAY_LEN(f)) < 0)
        return;
    simapi_reply_rc(c->out, sim_heartbeat(c->s, c->ci, c->ni, ts), 200);
}

static void h_rate_limit(struct call *c)
{
    double limit = 0;
    const struct field f[] = {
        {"max_assertions_per_sec", F_NUM, true, &limit, 0}};
    if (simapi_fields(c, f, ARRAY_LEN(f)) < 0)
        return;
    if (limit < 0) {
        simapi_error(c->out, 400, "max_assertions_per_sec must be >= 0");
        return;
    }
    int rc = sim_set_rate_limit(c->s, c->ci, c->ni, limit);
    if (rc == 0)
        log_msg(LOG_INFO, "msg=\"rate limit set\" cluster=%s limit=%g",
                sim_cluster_name(c->s, c->ci), limit);
    simapi_reply_rc(c->out, rc, 200);
}

/* replica_call: the calls whose body is {"replica_id": ...}. */
static void replica_call(struct call *c, const char *what,
                         int (*fn)(struct sim *, unsigned, unsigned,
                                   const char *),
                         unsigned ok_status)
{
    char replica[64] = "";
    bool force = true;
    const struct field f[] = {
        {"replica_id", F_STR, true, replica, sizeof(replica)},
        {"force", F_BOOL, false, &force, 0}};
    if (simapi_fields(c, f, ARRAY_LEN(f)) < 0)
        return;
    int rc = fn(c->s, c->ci, c->ni, replica);
    if (rc == 0) {
        char q[96];
        log_msg(LOG_INFO, "msg=\"%s\" cluster=%s node=%s", what,
                sim_cluster_name(c->s, c->ci),
                log_quote(q, sizeof(q), replica));
    }
    simapi_reply_rc(c->out, rc, ok_status);
}

static void h_sync(struct call *c)
{
    replica_call(c, "forced sync started", sim_sync, 202);
}

static void h_demote(struct call *c)
{
    replica_call(c, "replica demoted", sim_demote, 200);
}

static void h_breakers(struct call *c)
{
    size_t n = sim_breakers(c->s, c->ci, c->ni, NULL, 0);
    struct sim_breaker *b = xcalloc(n ? n : 1, sizeof(*b));
    n = sim_breakers(c->s, c->ci, c->ni, b, n);
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "agent_id", b[i].agent_id);
        cJSON_AddNumberToObject(o, "tripped_at", b[i].tripped_at);
        cJSON_AddItemToArray(arr, o);
    }
    free(b);
    simapi_emit(c->out, 200, arr);
}

static void h_breaker_reset(struct call *c)
{
    char agent[64] = "";
    const struct field f[] = {{"agent_id", F_STR, true, agent, sizeof(agent)}};
    if (simapi_fields(c, f, ARRAY_LEN(f)) < 0)
        return;
    int rc = sim_breaker_reset(c->s, c->ci, c->ni, agent);
    if (rc < 0) {
        simapi_error(c->out, 404, "no tripped circuit breaker by that id");
        return;
    }
    reply_ok(c->out, 200);
}

static int query_u64(struct call *c, const char *name, uint64_t min,
                     uint64_t max, uint64_t def, uint64_t *out);

/* h_read: GET /v1/read[?position=P]. */
static void h_read(struct call *c)
{
    uint64_t pos = 0;
    int rc = sim_read(c->s, c->ci, c->ni, &pos);
    if (rc < 0) {
        simapi_error(c->out, simapi_status(rc),
                     rc == -SIM_EUNAVAIL ? "node is demoted: no reads"
                                         : sim_strerror(rc));
        return;
    }
    uint64_t at = 0, we = 0;
    if (query_u64(c, "position", 1, UINT64_MAX, 0, &at) < 0)
        return;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "node", sim_node_name(c->s, c->ci, c->ni));
    cJSON_AddNumberToObject(j, "position", (double)pos);
    cJSON_AddNumberToObject(j, "epoch", (double)sim_epoch(c->s, c->ci, c->ni));
    cJSON_AddNumberToObject(j, "lag_seconds", sim_read_lag(c->s, c->ci, c->ni));
    if (at) {
        bool has = sim_read_at(c->s, c->ci, c->ni, at, &we);
        cJSON_AddNumberToObject(j, "read_position", (double)at);
        cJSON_AddBoolToObject(j, "has", has);
        if (has)
            cJSON_AddNumberToObject(j, "write_epoch", (double)we);
    }
    simapi_emit(c->out, 200, j);
}

/* --- Merkle ------------------------------------------------------------ */

static void add_hex(cJSON *arr, uint64_t h)
{
    char hex[17];
    snprintf(hex, sizeof(hex), "%016" PRIx64, h);
    cJSON_AddItemToArray(arr, cJSON_CreateString(hex));
}

/* merkle_head: {"fanout":16,"depth":D,"level":L}, for the caller to
 * complete, simapi_emit and so free. */
static cJSON *merkle_head(unsigned depth, uint64_t level)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "fanout", MERKLE_FANOUT);
    cJSON_AddNumberToObject(j, "depth", depth);
    cJSON_AddNumberToObject(j, "level", (double)level);
    return j;
}

/* query_u64: the query argument name as a whole number in [min, max],
 * def when absent; answers 400 and returns -1 when it is not. */
static int query_u64(struct call *c, const char *name, uint64_t min,
                     uint64_t max, uint64_t def, uint64_t *out)
{
    const char *v = c->rq->arg ? c->rq->arg(c->rq->arg_ctx, name) : NULL;
    *out = def;
    if (!v || parse_u64(v, min, max, out) == 0)
        return 0;
    char err[128];
    snprintf(err, sizeof(err),
             "query argument %s must be a whole number in %" PRIu64
             "..%" PRIu64,
             name, min, max);
    simapi_error(c->out, 400, err);
    return -1;
}

static void h_merkle(struct call *c)
{
    struct merkle *t = sim_merkle(c->s, c->ci, c->ni);
    unsigned depth = merkle_depth(t);
    uint64_t level, offset, count;
    if (query_u64(c, "level", 0, depth, 0, &level) < 0)
        return;
    uint64_t size = merkle_level_size(t, (unsigned)level);
    if (query_u64(c, "offset", 0, size - 1, 0, &offset) < 0)
        return;
    uint64_t left = size - offset;
    uint64_t def = left < MAX_BATCH ? left : MAX_BATCH;
    if (query_u64(c, "count", 1, MAX_BATCH, def, &count) < 0)
        return;
    if (count > left) {
        simapi_error(c->out, 400, "offset + count exceeds the level's size");
        return;
    }
    cJSON *j = merkle_head(depth, level);
    cJSON_AddNumberToObject(j, "offset", (double)offset);
    cJSON *arr = cJSON_AddArrayToObject(j, "hashes");
    for (uint64_t i = 0; i < count; i++)
        add_hex(arr, merkle_hash(t, (unsigned)level, offset + i));
    simapi_emit(c->out, 200, j);
}

/* whole: whether v is a JSON number that is a whole number in [0, max). */
static bool whole(const cJSON *v, double max)
{
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < max &&
           floor(v->valuedouble) == v->valuedouble;
}

/* copy_parents: copies the parent list arr (indices below size) into a
 * heap array *out of *n entries that the caller frees. */
static int copy_parents(const cJSON *arr, uint64_t size, uint64_t **out,
                        size_t *n, char *err, size_t errlen)
{
    int count = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : 0;
    if (count < 1 || count > MAX_BATCH) {
        snprintf(err, errlen, "parents must be a list of 1..%d indices",
                 MAX_BATCH);
        return -1;
    }
    *out = xcalloc((size_t)count, sizeof(**out));
    *n = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, arr)
    {
        if (!whole(v, (double)size)) {
            snprintf(err, errlen, "parent indices must be 0..%" PRIu64,
                     size - 1);
            free(*out);
            *out = NULL;
            return -1;
        }
        (*out)[(*n)++] = (uint64_t)v->valuedouble;
    }
    return 0;
}

/* get_parents: parses {"level": L, "parents": [...]} for a tree of the
 * given depth. On success *parents is a heap array the caller frees. */
static int get_parents(const struct simapi_request *rq, unsigned depth,
                       unsigned *level, uint64_t **parents, size_t *n,
                       char *err, size_t errlen)
{
    int rc = -1;
    cJSON *j = cJSON_ParseWithLength(rq->body ? rq->body : "", rq->body_len);
    const cJSON *lv = cJSON_GetObjectItemCaseSensitive(j, "level");
    if (!j)
        snprintf(err, errlen, "malformed JSON body");
    else if (!cJSON_IsObject(j))
        snprintf(err, errlen, "the body must be a JSON object");
    else if (!whole(lv, depth))
        snprintf(err, errlen, "level must be a whole number in 0..%u",
                 depth - 1);
    else
        rc = copy_parents(cJSON_GetObjectItemCaseSensitive(j, "parents"),
                          (uint64_t)1 << (4 * (unsigned)lv->valuedouble),
                          parents, n, err, errlen);
    if (rc == 0)
        *level = (unsigned)lv->valuedouble;
    cJSON_Delete(j);
    return rc;
}

static void h_merkle_children(struct call *c)
{
    struct merkle *t = sim_merkle(c->s, c->ci, c->ni);
    unsigned depth = merkle_depth(t), level;
    uint64_t *parents = NULL;
    size_t n = 0;
    char err[128];
    if (get_parents(c->rq, depth, &level, &parents, &n, err, sizeof(err))) {
        simapi_error(c->out, 400, err);
        return;
    }
    cJSON *j = merkle_head(depth, level + 1);
    cJSON *all = cJSON_AddArrayToObject(j, "children");
    for (size_t i = 0; i < n; i++) {
        cJSON *kids = cJSON_CreateArray();
        for (uint64_t k = 0; k < MERKLE_FANOUT; k++)
            add_hex(kids,
                    merkle_hash(t, level + 1, parents[i] * MERKLE_FANOUT + k));
        cJSON_AddItemToArray(all, kids);
    }
    free(parents);
    simapi_emit(c->out, 200, j);
}

/* --- the control plane: /v1/sim/fault ---------------------------------- */

/* check_fault: the checks of a fault request that the sim leaves to us:
 * an explicit factor or rate must be positive, buckets whole. */
static int check_fault(double factor, double rate, double buckets, char *err,
                       size_t errlen)
{
    if (!isnan(factor) && !(factor > 0))
        snprintf(err, errlen, "factor must be in (0, 1]");
    else if (!isnan(rate) && !(rate > 0))
        snprintf(err, errlen, "rate must be > 0");
    else if (!isnan(buckets) &&
             !(buckets >= 1 && buckets <= 1e9 && floor(buckets) == buckets))
        snprintf(err, errlen, "buckets must be a whole number >= 1");
    else
        return 0;
    return -1;
}

/* parse_fault: fills f and *ni (the target, default the node asked) from
 * the body; returns 0 or the HTTP status of the error in err. */
static unsigned parse_fault(struct call *c, struct sim_fault *f, int *ni,
                            char *err, size_t errlen)
{
    char node[64] = "", kind[32] = "";
    double factor = NAN, rate = NAN, buckets = NAN;
    const struct field fl[] = {
        {"node", F_STR, false, node, sizeof(node)},
        {"kind", F_STR, true, kind, sizeof(kind)},
        {"duration", F_DUR, false, &f->duration, 0},
        {"factor", F_NUM, false, &factor, 0},
        {"buckets", F_NUM, false, &buckets, 0},
        {"rate", F_NUM, false, &rate, 0},
        {"agent_id", F_STR, false, f->agent_id, sizeof(f->agent_id)},
        {"what", F_STR, false, f->what, sizeof(f->what)}};
    if (get_fields(c->rq, fl, ARRAY_LEN(fl), err, errlen) < 0 ||
        check_fault(factor, rate, buckets, err, errlen) < 0)
        return 400;
    if (sim_fault_parse(kind, &f->kind) < 0) {
        snprintf(err, errlen, "unknown fault kind");
        return 400;
    }
    *ni = node[0] ? sim_find_node(c->s, c->ci, node) : (int)c->ni;
    if (*ni < 0) {
        snprintf(err, errlen, "no such node in cluster %s",
                 sim_cluster_name(c->s, c->ci));
        return 404;
    }
    f->factor = isnan(factor) ? 0 : factor;
    f->rate = isnan(rate) ? 0 : rate;
    f->buckets = isnan(buckets) ? 0 : (uint64_t)buckets;
    return 0;
}

static void h_fault_add(struct call *c)
{
    struct sim_fault f;
    memset(&f, 0, sizeof(f));
    int ni = 0;
    char err[128];
    unsigned status = parse_fault(c, &f, &ni, err, sizeof(err));
    if (status == 0 &&
        sim_fault_add(c->s, c->ci, (unsigned)ni, &f, err, sizeof(err)) < 0)
        status = 400;
    if (status) {
        simapi_error(c->out, status, err);
        return;
    }
    log_msg(LOG_INFO,
            "msg=\"fault injected\" cluster=%s node=%s kind=%s duration=%g",
            sim_cluster_name(c->s, c->ci),
            sim_node_name(c->s, c->ci, (unsigned)ni), sim_fault_name(f.kind),
            f.duration);
    reply_ok(c->out, 200);
}

static void h_fault_clear(struct call *c)
{
    sim_fault_clear(c->s, c->ci);
    log_msg(LOG_INFO, "msg=\"faults cleared\" cluster=%s",
            sim_cluster_name(c->s, c->ci));
    reply_ok(c->out, 200);
}

static void h_fault_list(struct call *c)
{
    buf_reset(&c->out->body);
    sim_faults_render(c->s, c->ci, &c->out->body);
    c->out->status = 200;
    c->out->content_type = CT_JSON;
}

/* --- routing ----------------------------------------------------------- */

struct route {
    const char *path;
    const char *method;
    int endpoint; /* enum sim_endpoint counted, or NO_ENDPOINT */
    void (*fn)(struct call *c);
    const char *allow; /* every method of path */
};

#define ADMIN "/v1/admin/"
static const struct route routes[] = {
    {"/metrics", "GET", NO_ENDPOINT, h_metrics, "GET, HEAD"},
    {"/v1/read", "GET", NO_ENDPOINT, h_read, "GET, HEAD"},
    {"/v1/write", "POST", NO_ENDPOINT, simapi_h_write, "POST"},
    {ADMIN "heartbeat", "POST", SIM_EP_HEARTBEAT, h_heartbeat, "POST"},
    {ADMIN "merkle", "GET", SIM_EP_MERKLE, h_merkle, "GET, HEAD"},
    {ADMIN "merkle/children", "POST", SIM_EP_MERKLE, h_merkle_children, "POST"},
    {ADMIN "rate-limit", "POST", SIM_EP_RATE_LIMIT, h_rate_limit, "POST"},
    {ADMIN "cluster/sync", "POST", SIM_EP_SYNC, h_sync, "POST"},
    {ADMIN "circuit-breakers/tripped", "GET", SIM_EP_BREAKERS, h_breakers,
     "GET, HEAD"},
    {ADMIN "circuit-breaker/reset", "POST", SIM_EP_BREAKER_RESET,
     h_breaker_reset, "POST"},
    {ADMIN "cluster/demote", "POST", SIM_EP_DEMOTE, h_demote, "POST"},
    {ADMIN "cluster/promote", "POST", SIM_EP_PROMOTE, simapi_h_promote, "POST"},
    {ADMIN "cluster/fence", "POST", SIM_EP_FENCE, simapi_h_fence, "POST"},
    {ADMIN "cluster/replicate-from", "POST", SIM_EP_REPLICATE_FROM,
     simapi_h_replicate_from, "POST"},
    {"/v1/sim/fault", "GET", NO_ENDPOINT, h_fault_list,
     "GET, HEAD, POST, DELETE"},
    {"/v1/sim/fault", "POST", NO_ENDPOINT, h_fault_add,
     "GET, HEAD, POST, DELETE"},
    {"/v1/sim/fault", "DELETE", NO_ENDPOINT, h_fault_clear,
     "GET, HEAD, POST, DELETE"},
};

bool simapi_control_path(const char *path)
{
    return strncmp(path, "/v1/sim/", 8) == 0 || strcmp(path, "/v1/sim") == 0;
}

/* route_of: the route of (path, method); NULL with *allow set when only
 * the method is wrong, NULL with *allow NULL when the path is unknown. */
static const struct route *route_of(const char *path, const char *method,
                                    const char **allow)
{
    if (strcmp(method, "HEAD") == 0)
        method = "GET";
    *allow = NULL;
    for (size_t i = 0; i < ARRAY_LEN(routes); i++) {
        if (strcmp(routes[i].path, path) != 0)
            continue;
        if (strcmp(routes[i].method, method) == 0)
            return &routes[i];
        *allow = routes[i].allow;
    }
    return NULL;
}

void simapi_handle(struct sim *s, unsigned ci, unsigned ni,
                   const struct simapi_request *req, struct simapi_reply *out)
{
    const char *allow;
    const struct route *r = route_of(req->path, req->method, &allow);
    out->allow = NULL;
    if (!r && allow) {
        simapi_error(out, 405, "method not allowed");
        out->allow = allow;
        return;
    }
    if (!r) {
        simapi_error(out, 404, "no such endpoint");
        return;
    }
    uint64_t token;
    if (r->endpoint != NO_ENDPOINT && req->fence &&
        (parse_u64(req->fence, 0, UINT64_MAX, &token) < 0 ||
         sim_fence_token(s, ci, token) < 0)) {
        /* a deposed owner's late call: refused before it counts */
        simapi_error(out, 409, "stale or bad fencing token");
        return;
    }
    if (r->endpoint != NO_ENDPOINT)
        sim_count_admin(s, ci, ni, (enum sim_endpoint)r->endpoint);
    if (req->too_large) {
        simapi_error(out, 413, "request body over 64 KiB");
        return;
    }
    struct call c = {s, ci, ni, req, out};
    r->fn(&c);
}
