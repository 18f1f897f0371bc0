/* routes.c: the endpoints, answered from the current snapshot.
 *
 * A handler fills a struct reply: an owned body, or a span of the
 * snapshot held by a reference the response drops once sent, or one of
 * the snapshot's shared /metrics responses (metricsresp.h). */
#include "serve/routes.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "formats/alert.h"
#include "serve/acceptenc.h"
#include "serve/httpauth.h"
#include "serve/metricsresp.h"
#include "model/lag.h"
#include "act/remedy.h"
#include "monitor/snapshot.h"
#include "serve/routecheck.h"
#include "serve/routehealth.h"
#include "serve/routepage.h"
#include "serve/routeread.h"
#include "serve/routewait.h"
#include "lib/util.h"

#define WEBHOOK_MAX_BODY (1024 * 1024) /* SPEC section 4: 413 past it */

#define CT_JSON    "application/json"
#define CT_TEXT    "text/plain; charset=utf-8"
#define CT_METRICS "text/plain; version=0.0.4; charset=utf-8"

struct routes {
    struct snapbox *box;
    struct remedy *rem;
    struct httpauth *auth;
    struct routewait *wait;    /* read-your-writes waits (wait=) */
    struct metricsresp *mresp; /* /metrics' shared responses */
    /* Webhooks waiting for the journal hold their connection suspended;
     * routes_drain() lets them finish first and refuses new ones. */
    pthread_mutex_t wait_mu;
    pthread_cond_t idle;
    unsigned suspended;
    bool stopping;
};

/* --- replies ------------------------------------------------------------ */

struct reply {
    unsigned status;
    const char *ctype;
    const char *allow;     /* the Allow header of a 405 */
    bool close;            /* Connection: close (framing not trusted) */
    bool page;             /* the status page's headers (routepage.h) */
    bool vary;             /* Vary: Accept-Encoding (the body depends on it) */
    const char *encoding;  /* Content-Encoding, or NULL */
    struct buf body;       /* an owned body, or */
    struct snapshot *hold; /* a reference keeping bytes/len alive, or */
    bool queued;           /* the handler queued a shared response */
    enum MHD_Result rc;    /* what queueing it returned */
    const char *bytes;
    size_t len;
};

static void reply_text(struct reply *rep, unsigned status, const char *text)
{
    rep->status = status;
    rep->ctype = CT_TEXT;
    buf_puts(&rep->body, text);
}

/* reply_json: prints root as the body and frees it. */
static void reply_json(struct reply *rep, unsigned status, cJSON *root)
{
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!s) {
        fputs("replguard: out of memory rendering a reply\n", stderr);
        abort();
    }
    rep->status = status;
    rep->ctype = CT_JSON;
    buf_puts(&rep->body, s);
    cJSON_free(s);
}

static void reply_error(struct reply *rep, unsigned status, const char *msg)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "error", msg);
    reply_json(rep, status, root);
}

/* reply_snapshot: serves len bytes at p, owned by s, without a copy. */
static void reply_snapshot(struct reply *rep, struct snapshot *s,
                           const char *ctype, const char *p, size_t len)
{
    rep->status = MHD_HTTP_OK;
    rep->ctype = ctype;
    rep->hold = snapshot_ref(s);
    rep->bytes = p;
    rep->len = len;
}

static struct MHD_Response *make_response(struct reply *rep)
{
    struct MHD_Response *resp;
    if (rep->hold) {
        resp = MHD_create_response_from_buffer_with_free_callback_cls(
            rep->len, (void *)rep->bytes, snapshot_release, rep->hold);
        if (!resp)
            snapshot_unref(rep->hold);
        rep->hold = NULL;
        return resp;
    }
    size_t len = rep->body.len;
    char *body = buf_detach(&rep->body);
    resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp)
        free(body);
    return resp;
}

static enum MHD_Result send_reply(struct MHD_Connection *conn,
                                  struct reply *rep)
{
    struct MHD_Response *resp = make_response(rep);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rep->ctype);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (rep->allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, rep->allow);
    if (rep->close)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    if (rep->page)
        routepage_headers(resp);
    if (rep->vary)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    if (rep->encoding)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING,
                                rep->encoding);
    enum MHD_Result rc = MHD_queue_response(conn, rep->status, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* --- handlers ----------------------------------------------------------- */

/* A POST being received: its body, up to the limit; for a webhook, its
 * answer once the journal has it. */
struct upload {
    struct buf body;
    bool too_large;
    bool answered;         /* st and n_alerts are set */
    enum remedy_status st; /* the submission's outcome */
    size_t n_alerts;
    struct routes *rs; /* while suspended: who to tell */
    struct MHD_Connection *conn;
};

struct request {
    struct MHD_Connection *conn;
    const char *tail;      /* what follows a prefix route's prefix */
    struct snapshot *snap; /* the current snapshot, or NULL */
    struct routes *rs;
    const struct buf *body; /* POST: the request body */
    struct upload *up;      /* POST: the body and the request's state */
    const char *path;       /* the route's path */
};

static void h_healthy(const struct request *r, struct reply *rep)
{
    reply_text(rep, MHD_HTTP_OK, "healthy\n");
}

static void h_ready(const struct request *r, struct reply *rep)
{
    if (r->snap && snapshot_ready(r->snap))
        reply_text(rep, MHD_HTTP_OK, "ready\n");
    else
        reply_error(rep, MHD_HTTP_SERVICE_UNAVAILABLE, "not ready");
}

/* h_metrics: the body the request accepts (acceptenc.h), gzip or plain,
 * both rendered with the round: the snapshot's shared response for it
 * (metricsresp.h: nothing built per scrape), else its bytes. */
static void h_metrics(const struct request *r, struct reply *rep)
{
    size_t len;
    enum acceptenc enc = acceptenc_of(r->conn);
    rep->vary = true;
    if (enc == ACCEPTENC_NONE) {
        reply_error(rep, MHD_HTTP_NOT_ACCEPTABLE,
                    "neither identity nor gzip is acceptable");
        return;
    }
    if (enc == ACCEPTENC_GZIP) /* the engine compresses from now on */
        snapbox_want_gzip(r->rs->box);
    const char *p = snapshot_metrics_gz(r->snap, &len);
    bool gz = enc == ACCEPTENC_GZIP && p; /* NULL: not compressed (no
                                             gzip client lately) or failed */
    if (enc == ACCEPTENC_GZIP && !p && !acceptenc_identity_ok(r->conn)) {
        reply_error(rep, MHD_HTTP_NOT_ACCEPTABLE,
                    "no gzip body in this round and identity is refused");
        return;
    }
    if (metricsresp_queue(r->rs->mresp, r->conn, r->snap, gz, CT_METRICS,
                          &rep->rc)) {
        rep->status = MHD_HTTP_OK;
        rep->queued = true;
        return;
    }
    if (!gz)
        p = snapshot_metrics(r->snap, &len);
    rep->encoding = gz ? "gzip" : NULL;
    reply_snapshot(rep, r->snap, CT_METRICS, p, len);
}

static void h_state(const struct request *r, struct reply *rep)
{
    size_t len;
    const char *p = snapshot_state(r->snap, &len);
    reply_snapshot(rep, r->snap, CT_JSON, p, len);
}

/* h_replica, h_primary: the health checks, in routehealth.c. */
static void h_replica(const struct request *r, struct reply *rep)
{
    rep->ctype = CT_JSON;
    routehealth_replica(r->snap, r->conn, r->tail, &rep->status, &rep->body);
}

static void h_primary(const struct request *r, struct reply *rep)
{
    rep->ctype = CT_JSON;
    routehealth_primary(r->snap, r->tail, &rep->status, &rep->body);
}

/* h_route, h_read: read preferences, in routeread.c. */
static void h_route(const struct request *r, struct reply *rep)
{
    rep->ctype = CT_JSON;
    routeread_route(r->snap, r->rs->wait, r->conn, r->tail, &rep->status,
                    &rep->body);
}

static void h_read(const struct request *r, struct reply *rep)
{
    rep->ctype = CT_JSON;
    routeread_health(r->snap, r->rs->wait, r->conn, r->tail, &rep->status,
                     &rep->body);
}

/* h_page: the status page, its files and its history, in routepage.c. */
static void h_page(const struct request *r, struct reply *rep)
{
    rep->page = true;
    routepage_answer(r->path, r->snap, r->conn, &rep->status, &rep->ctype,
                     &rep->body);
}

/* h_check, h_throttle_app: the writers' throttle check, in routecheck.c. */
static void h_check(const struct request *r, struct reply *rep)
{
    rep->ctype = CT_JSON;
    routecheck_check(r->snap, r->rs->rem, r->tail, &rep->status, &rep->body);
}

static void h_throttle_app(const struct request *r, struct reply *rep)
{
    rep->ctype = CT_JSON;
    routecheck_throttle_app(r->snap, r->rs->rem, r->body, &rep->status,
                            &rep->body);
}

/* --- POST endpoints ----------------------------------------------------- */

/* webhook_answer: the answer of a webhook whose submission is done. */
static void webhook_answer(const struct upload *u, struct reply *rep)
{
    if (u->st != REMEDY_OK) {
        reply_error(rep, MHD_HTTP_SERVICE_UNAVAILABLE,
                    u->st == REMEDY_FULL       ? "queue full, retry later"
                    : u->st == REMEDY_STOPPING ? "shutting down"
                                               : "journal failed: remediation "
                                                 "stopped");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "accepted");
    cJSON_AddNumberToObject(o, "alerts", (double)u->n_alerts);
    reply_json(rep, MHD_HTTP_OK, o);
}

/* on_journaled: the journal has the webhook's alerts (or failed):
 * wakes its connection, whose handler then answers. Any thread. */
static void on_journaled(void *ctx, enum remedy_status st)
{
    struct upload *u = ctx;
    struct routes *rs = u->rs;
    u->st = st;
    u->answered = true;
    MHD_resume_connection(u->conn); /* u may be gone once this returns */
    pthread_mutex_lock(&rs->wait_mu);
    if (--rs->suspended == 0)
        pthread_cond_broadcast(&rs->idle);
    pthread_mutex_unlock(&rs->wait_mu);
}

/* suspend: holds the connection for the journal; false when stopping. */
static bool suspend(struct routes *rs, struct MHD_Connection *conn)
{
    pthread_mutex_lock(&rs->wait_mu);
    bool ok = !rs->stopping;
    if (ok) {
        rs->suspended++;
        MHD_suspend_connection(conn);
    }
    pthread_mutex_unlock(&rs->wait_mu);
    return ok;
}

/* h_webhook: journals the payload's alerts without holding a handler
 * thread: the connection is suspended until the journal's fsync (shared
 * with every webhook arriving meanwhile) and then answered on the call
 * libmicrohttpd makes when it resumes. */
static void h_webhook(const struct request *r, struct reply *rep)
{
    struct upload *u = r->up;
    if (u->answered) {
        webhook_answer(u, rep);
        return;
    }
    struct alert_payload *p = NULL;
    char err[256];
    int rc = alert_parse(r->body->data ? r->body->data : "", r->body->len, &p,
                         err, sizeof(err));
    if (rc < 0) {
        reply_error(rep, MHD_HTTP_BAD_REQUEST, err);
        return;
    }
    u->n_alerts = p->nalerts;
    u->rs = r->rs;
    u->conn = r->conn;
    if (suspend(r->rs, r->conn)) {
        remedy_submit_async(r->rs->rem, p, on_journaled, u); /* no reply yet */
    } else {
        u->st = REMEDY_STOPPING;
        webhook_answer(u, rep);
    }
    alert_payload_free(p);
}

static void set_pause(const struct request *r, struct reply *rep, bool on)
{
    if (remedy_set_paused(r->rs->rem, on) < 0) {
        reply_error(rep, MHD_HTTP_INTERNAL_SERVER_ERROR,
                    "cannot persist the pause flag");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "paused", on);
    reply_json(rep, MHD_HTTP_OK, o);
}

static void h_pause(const struct request *r, struct reply *rep)
{
    set_pause(r, rep, true);
}

static void h_resume(const struct request *r, struct reply *rep)
{
    set_pause(r, rep, false);
}

static void h_ack(const struct request *r, struct reply *rep)
{
    if (r->tail[0] == '\0' || strchr(r->tail, '/')) {
        reply_error(rep, MHD_HTTP_NOT_FOUND, "usage: /api/v1/ack/{cluster}");
        return;
    }
    if (!snapshot_has_cluster(r->snap, r->tail)) {
        reply_error(rep, MHD_HTTP_NOT_FOUND, "unknown cluster");
        return;
    }
    remedy_ack(r->rs->rem, r->tail);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "acked", r->tail);
    reply_json(rep, MHD_HTTP_OK, o);
}

/* failover_body: the optional {"to": "node"} of a switchover request
 * into to (len bytes; "" when not given). -1 with a 400 reply when the
 * body is not such an object. */
static int failover_body(const struct buf *body, char *to, size_t len,
                         struct reply *rep)
{
    to[0] = '\0';
    if (!body->data || body->len == 0)
        return 0;
    cJSON *o = cJSON_ParseWithLength(body->data, body->len);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "to");
    const char *why = NULL;
    if (!cJSON_IsObject(o))
        why = "the body must be a JSON object: {} or {\"to\": \"node\"}";
    else if (t && (!cJSON_IsString(t) || !t->valuestring[0] ||
                   strlen(t->valuestring) >= len))
        why = "\"to\" must be a node name";
    else if (t)
        snprintf(to, len, "%s", t->valuestring);
    cJSON_Delete(o);
    if (why)
        reply_error(rep, MHD_HTTP_BAD_REQUEST, why);
    return why ? -1 : 0;
}

/* h_failover: a switchover of {cluster}: the engine checks it and
 * journals its plan before the 202 (remedy_failover waits for that);
 * refusals carry the engine's reason code and sentence. */
static void h_failover(const struct request *r, struct reply *rep)
{
    char to[128], reason[320];
    if (r->tail[0] == '\0' || strchr(r->tail, '/')) {
        reply_error(rep, MHD_HTTP_NOT_FOUND,
                    "usage: /api/v1/failover/{cluster}");
        return;
    }
    if (failover_body(r->body, to, sizeof(to), rep) < 0)
        return;
    if (!snapshot_has_cluster(r->snap, r->tail)) {
        reply_error(rep, MHD_HTTP_NOT_FOUND, "unknown cluster");
        return;
    }
    unsigned st = remedy_failover(r->rs->rem, r->tail, to[0] ? to : NULL,
                                  reason, sizeof(reason));
    cJSON *o = cJSON_CreateObject();
    if (st == MHD_HTTP_ACCEPTED) {
        cJSON_AddStringToObject(o, "cluster", r->tail);
        cJSON_AddStringToObject(o, "kind", "switchover");
        cJSON_AddStringToObject(o, "to", reason);
    } else {
        /* "code: sentence" from the engine */
        char *sep = strstr(reason, ": ");
        cJSON_AddStringToObject(o, "error", sep ? sep + 2 : reason);
        if (sep)
            *sep = '\0';
        cJSON_AddStringToObject(o, "reason", sep ? reason : "unavailable");
    }
    reply_json(rep, st, o);
}

/* --- routing ------------------------------------------------------------ */

enum { M_GET = 1u << 0, M_HEAD = 1u << 1, M_POST = 1u << 2 };

struct route {
    const char *path;    /* the whole path, or a prefix */
    bool prefix;         /* the rest of the path is the request's tail */
    unsigned methods;    /* M_* */
    const char *allow;   /* the Allow header for the others */
    bool needs_snapshot; /* 503 "not ready" before the first publish */
    void (*handle)(const struct request *r, struct reply *rep);
};

#define GET_HEAD M_GET | M_HEAD, "GET, HEAD"

/* POST routes (webhook, pause/resume, ack, failover) join this table. Their
 * bodies must be read before handle() runs: routes_answer() will then keep a
 * per-request context in *con_cls, collect the upload into a struct buf
 * created with the route's size limit (413 past it) and call handle()
 * on the final call, when *upload_data_size is 0. */
static const struct route routes[] = {
    {"/webhook", false, M_POST, "POST", false, h_webhook},
    {"/api/v1/pause", false, M_POST, "POST", false, h_pause},
    {"/api/v1/resume", false, M_POST, "POST", false, h_resume},
    {"/api/v1/ack/", true, M_POST, "POST", true, h_ack},
    {"/api/v1/failover/", true, M_POST, "POST", true, h_failover},
    {"/api/v1/throttle-app", false, M_POST, "POST", true, h_throttle_app},
    {"/metrics", false, GET_HEAD, true, h_metrics},
    {"/-/healthy", false, GET_HEAD, false, h_healthy},
    {"/-/ready", false, GET_HEAD, false, h_ready},
    {"/health/replica/", true, GET_HEAD, true, h_replica},
    {"/health/primary/", true, GET_HEAD, true, h_primary},
    {"/health/read/", true, GET_HEAD, true, h_read},
    {"/route/", true, GET_HEAD, true, h_route},
    {"/check/", true, GET_HEAD, true, h_check},
    {"/api/v1/state", false, GET_HEAD, true, h_state},
    {ROUTEPAGE_HISTORY, false, GET_HEAD, true, h_page},
    {"/", false, GET_HEAD, false, h_page},
    {"/app.js", false, GET_HEAD, false, h_page},
    {"/style.css", false, GET_HEAD, false, h_page},
};

static const struct route *find_route(const char *url, const char **tail)
{
    for (size_t i = 0; i < ARRAY_LEN(routes); i++) {
        const struct route *rt = &routes[i];
        size_t n = strlen(rt->path);
        if (rt->prefix ? strncmp(url, rt->path, n) == 0
                       : strcmp(url, rt->path) == 0) {
            *tail = url + n;
            return rt;
        }
    }
    return NULL;
}

static unsigned method_bit(const char *method)
{
    if (strcmp(method, MHD_HTTP_METHOD_GET) == 0)
        return M_GET;
    if (strcmp(method, MHD_HTTP_METHOD_HEAD) == 0)
        return M_HEAD;
    if (strcmp(method, MHD_HTTP_METHOD_POST) == 0)
        return M_POST;
    return 0;
}

static void dispatch(struct routes *rs, struct MHD_Connection *conn,
                     const struct route *rt, const char *tail,
                     struct upload *up, struct reply *rep)
{
    struct request r = {
        conn, tail,    snapbox_get(rs->box), rs, up ? &up->body : NULL,
        up,   rt->path};
    if (rt->needs_snapshot && !r.snap)
        reply_error(rep, MHD_HTTP_SERVICE_UNAVAILABLE, "not ready");
    else
        rt->handle(&r, rep);
    snapshot_unref(r.snap); /* a reply serving its bytes took its own */
}

/* receive: collects a POST body over MHD's calls; returns true once it
 * is complete (the final call, with nothing more to upload). */
static bool receive(void **con_cls, const char *data, size_t *size)
{
    struct upload *u = *con_cls;
    if (!u) {
        u = xcalloc(1, sizeof(*u));
        buf_init(&u->body, WEBHOOK_MAX_BODY);
        *con_cls = u;
        return false;
    }
    if (*size) {
        if (!u->too_large && buf_append(&u->body, data, *size) < 0) {
            u->too_large = true; /* read on, keep nothing */
            buf_free(&u->body);
        }
        *size = 0;
        return false;
    }
    return true;
}

/* authorized: false with the error reply filled (and a log line) when
 * the POST to path may not proceed (see httpauth_check()). */
static bool authorized(struct routes *rs, struct MHD_Connection *conn,
                       const char *path, struct reply *rep)
{
    enum httpauth_result a = httpauth_check(rs->auth, conn, path);
    if (a == HTTPAUTH_OK)
        return true;
    reply_error(rep, httpauth_status(a), httpauth_message(a));
    return false;
}

static void post(struct routes *rs, struct MHD_Connection *conn,
                 const struct route *rt, const char *tail, struct upload *u,
                 struct reply *rep)
{
    if (!rs->rem)
        reply_error(rep, MHD_HTTP_NOT_FOUND, "remediation is not configured");
    else if (authorized(rs, conn, rt->path, rep) && u->too_large)
        reply_error(rep, MHD_HTTP_CONTENT_TOO_LARGE, "body over 1 MiB");
    else if (rep->status == 0)
        dispatch(rs, conn, rt, tail, u, rep);
    if (rt->handle == h_webhook && rs->rem && rep->status)
        remedy_count_request(rs->rem, rep->status);
}

/* refuse_early: on a request's first call, before any of its body is
 * read or libmicrohttpd answers "100 Continue": 400 for ambiguous
 * framing or a NUL in the path or query (httpd found why); for a POST,
 * 404 without remediation or the authorization refusal. True with rep
 * filled (the connection then closes: its body was not read). */
static bool refuse_early(struct routes *rs, const struct routes_call *c,
                         const struct route *rt, unsigned m, struct reply *rep)
{
    if (c->bad_framing)
        reply_error(rep, MHD_HTTP_BAD_REQUEST, c->bad_framing);
    else if (!rt || !(rt->methods & m) || m != M_POST)
        return false;
    else if (!rs->rem)
        reply_error(rep, MHD_HTTP_NOT_FOUND, "remediation is not configured");
    else if (authorized(rs, c->conn, rt->path, rep))
        return false;
    rep->close = true;
    if (rt && rt->handle == h_webhook && rs->rem && (rt->methods & m))
        remedy_count_request(rs->rem, rep->status);
    return true;
}

/* headers_only: the request context of a GET or HEAD between its first
 * call and its answer (routes_answer). */
static const char headers_only;

/* has_body: whether the request announces a body (Content-Length other
 * than 0, or a Transfer-Encoding). */
static bool has_body(struct MHD_Connection *conn)
{
    const char *len = MHD_lookup_connection_value(
        conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    return (len && strcmp(len, "0") != 0) ||
           MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                       MHD_HTTP_HEADER_TRANSFER_ENCODING);
}

enum MHD_Result routes_answer(struct routes *rs, const struct routes_call *c)
{
    struct reply rep = {0};
    const char *tail = NULL;
    const struct route *rt = find_route(c->url, &tail);
    unsigned m = method_bit(c->method);
    buf_init(&rep.body, 0);
    if (!*c->con_cls && refuse_early(rs, c, rt, m, &rep))
        return send_reply(c->conn, &rep);
    if (!*c->con_cls && m != M_POST && !has_body(c->conn)) {
        /* answered on the next call: libmicrohttpd (0.9.75) closes the
         * connection of a reply queued before it has read the whole
         * request, so answering now would cost every client a connect
         * per request (keep-alive lost). A body no route reads is not
         * waited for: answered now, and the connection closes. */
        *c->con_cls = (void *)&headers_only;
        return MHD_YES;
    }
    if (rt && (rt->methods & m) && m == M_POST &&
        !receive(c->con_cls, c->upload, c->upload_size))
        return MHD_YES; /* more of the body to come */
    if (!rt) {
        reply_error(&rep, MHD_HTTP_NOT_FOUND, "not found");
    } else if (!(rt->methods & m)) {
        reply_error(&rep, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
        rep.allow = rt->allow;
    } else if (m == M_POST) {
        post(rs, c->conn, rt, tail, *c->con_cls, &rep);
        if (rep.status == 0) { /* suspended: answered when resumed */
            buf_free(&rep.body);
            return MHD_YES;
        }
    } else {
        dispatch(rs, c->conn, rt, tail, NULL, &rep);
        if (rep.status == 0 || rep.queued) { /* a wait= suspended it
                                                (routewait.h), or queued */
            buf_free(&rep.body);
            return rep.queued ? rep.rc : MHD_YES;
        }
    }
    return send_reply(c->conn, &rep);
}

void routes_completed(void **con_cls)
{
    struct upload *u = *con_cls;
    if (!u || *con_cls == (void *)&headers_only) {
        *con_cls = NULL;
        return;
    }
    buf_free(&u->body);
    free(u);
    *con_cls = NULL;
}

/* --- lifetime ----------------------------------------------------------- */

struct routes *routes_new(struct snapbox *box, struct remedy *rem,
                          const char *token)
{
    struct routes *rs = xcalloc(1, sizeof(*rs));
    rs->box = box;
    rs->rem = rem;
    rs->auth = httpauth_new(token);
    rs->mresp = metricsresp_new();
    rs->wait = routewait_new(box);
    pthread_mutex_init(&rs->wait_mu, NULL);
    pthread_cond_init(&rs->idle, NULL);
    return rs;
}

void routes_drain(struct routes *rs)
{
    routewait_drain(rs->wait);
    pthread_mutex_lock(&rs->wait_mu);
    rs->stopping = true;
    while (rs->suspended > 0)
        pthread_cond_wait(&rs->idle, &rs->wait_mu);
    pthread_mutex_unlock(&rs->wait_mu);
}

void routes_free(struct routes *rs)
{
    if (!rs)
        return;
    pthread_mutex_destroy(&rs->wait_mu);
    pthread_cond_destroy(&rs->idle);
    httpauth_free(rs->auth);
    metricsresp_free(rs->mresp);
    routewait_free(rs->wait);
    free(rs);
}
