/* httpd.c: the HTTP endpoints, answered from the current snapshot.
 *
 * A request is matched against a route table; a route names its path
 * (or path prefix), the methods it takes and its handler. A handler
 * fills a struct reply: an owned body, or a span of the snapshot held
 * by a reference the response drops once sent. Every error body is
 * {"error": "..."}.
 *
 * libmicrohttpd's timeout is an idle one: a client trickling a header
 * byte every few seconds would hold its connection forever. So every
 * connection is on a list with the time its current request began (its
 * start, or the end of the previous reply); a reaper thread shuts down,
 * once a second, those whose headers are not complete header_timeout
 * later, and libmicrohttpd closes them as it would a dropped peer. */
#include "httpd.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "alert.h"
#include "lag.h"
#include "log.h"
#include "remedy.h"
#include "snapshot.h"
#include "util.h"

#define DEFAULT_HOST        "127.0.0.1"
#define DEFAULT_THREADS     2
#define DEFAULT_TIMEOUT     10
#define DEFAULT_HEADER_TIME 15
#define DEFAULT_CONNECTIONS 1024 /* fewer when RLIMIT_NOFILE is lower */
#define FDS_RESERVED        256  /* descriptors kept for all but clients */
#define SHED_GRACE          0.5  /* seconds a new request's headers may take */
#define DEFAULT_PER_IP      64
#define DEFAULT_CONN_MEMORY (64 * 1024)
#define WEBHOOK_MAX_BODY    (1024 * 1024) /* SPEC section 4: 413 past it */

#define CT_JSON    "application/json"
#define CT_TEXT    "text/plain; charset=utf-8"
#define CT_METRICS "text/plain; version=0.0.4; charset=utf-8"

/* A connection on the reaper's list (its MHD socket context). */
struct conn_clock {
    struct conn_clock *prev, *next;
    int fd;
    double since;    /* when its current request began */
    bool in_headers; /* the request's headers are not complete yet */
    bool nul;        /* its path or query decoded to a NUL byte */
    bool cut;        /* shut down by the reaper, not closed yet */
    unsigned char addr[16]; /* the client's address (IPv4 in 4 bytes) */
};

struct httpd {
    struct MHD_Daemon *d;
    struct snapbox *box;
    struct remedy *rem;
    char *token; /* NULL: POSTs from loopback only */
    unsigned port;
    char host[NI_MAXHOST];
    /* While MHD_start_daemon() runs, its first error message is kept
     * here so httpd_start() can say why it failed. */
    pthread_mutex_t log_mu;
    bool starting;
    char start_err[256];
    /* Refused POSTs are logged at most once a second (under log_mu). */
    double refused_logged;
    unsigned refused_unlogged;
    /* The reaper: conns (a ring with a sentinel) under conns_mu. */
    pthread_mutex_t conns_mu;
    pthread_cond_t conns_cv;
    struct conn_clock conns;
    unsigned n_conns, max_conns; /* open now; libmicrohttpd's limit */
    double shed_logged;          /* shedding is logged once a second */
    unsigned shed_unlogged;
    double header_timeout;
    bool reaper_running, reaper_stop;
    pthread_t reaper;
    /* Webhooks waiting for the journal hold their connection suspended;
     * httpd_stop() lets them finish first (libmicrohttpd must not stop
     * with a connection suspended) and refuses new ones meanwhile. */
    pthread_mutex_t wait_mu;
    pthread_cond_t idle;
    unsigned suspended;
    bool stopping;
};

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- replies ------------------------------------------------------------- */

struct reply {
    unsigned status;
    const char *ctype;
    const char *allow;     /* the Allow header of a 405 */
    bool close;            /* Connection: close (framing not trusted) */
    struct buf body;       /* an owned body, or */
    struct snapshot *hold; /* a reference keeping bytes/len alive, or */
    bool from_file;        /* len bytes of the file fd (owned), from 0 */
    int fd;
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

/* reply_file: serves the len bytes of file fd (taken) from offset 0;
 * libmicrohttpd sends them with sendfile() and closes fd. */
static void reply_file(struct reply *rep, const char *ctype, int fd, size_t len)
{
    rep->status = MHD_HTTP_OK;
    rep->ctype = ctype;
    rep->from_file = true;
    rep->fd = fd;
    rep->len = len;
}

static void release_snapshot(void *cls)
{
    snapshot_unref(cls);
}

static struct MHD_Response *make_response(struct reply *rep)
{
    struct MHD_Response *resp;
    if (rep->from_file) {
        resp = MHD_create_response_from_fd_at_offset64(rep->len, rep->fd, 0);
        if (!resp)
            close(rep->fd);
        return resp;
    }
    if (rep->hold) {
        resp = MHD_create_response_from_buffer_with_free_callback_cls(
            rep->len, (void *)rep->bytes, release_snapshot, rep->hold);
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
    enum MHD_Result rc = MHD_queue_response(conn, rep->status, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* --- handlers ------------------------------------------------------------ */

/* A POST being received: its body, up to the limit; for a webhook, its
 * answer once the journal has it. */
struct upload {
    struct buf body;
    bool too_large;
    bool answered;         /* st and n_alerts are set */
    enum remedy_status st; /* the submission's outcome */
    size_t n_alerts;
    struct httpd *h; /* while suspended: who to resume */
    struct MHD_Connection *conn;
};

struct request {
    struct MHD_Connection *conn;
    const char *tail;      /* what follows a prefix route's prefix */
    struct snapshot *snap; /* the current snapshot, or NULL */
    struct httpd *h;
    const struct buf *body; /* POST: the request body */
    struct upload *up;      /* POST: the body and the request's state */
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

/* h_metrics: from the snapshot's file when it has one (sendfile: the
 * kernel sends the pages, no copy per scrape), else from its bytes. */
static void h_metrics(const struct request *r, struct reply *rep)
{
    size_t len;
    const char *p = snapshot_metrics(r->snap, &len);
    int fd = snapshot_metrics_fd(r->snap);
    if (fd >= 0)
        fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (fd >= 0)
        reply_file(rep, CT_METRICS, fd, len);
    else
        reply_snapshot(rep, r->snap, CT_METRICS, p, len);
}

static void h_state(const struct request *r, struct reply *rep)
{
    size_t len;
    const char *p = snapshot_state(r->snap, &len);
    reply_snapshot(rep, r->snap, CT_JSON, p, len);
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
static const struct snap_node *find_target(const struct request *r,
                                           struct reply *rep)
{
    char *cluster;
    const char *node;
    if (split_target(r->tail, &cluster, &node) < 0) {
        reply_error(rep, MHD_HTTP_NOT_FOUND, "not found");
        return NULL;
    }
    const struct snap_node *n = snapshot_find(r->snap, cluster, node);
    if (!n)
        reply_error(rep, MHD_HTTP_NOT_FOUND,
                    snapshot_has_cluster(r->snap, cluster) ? "unknown node"
                                                           : "unknown cluster");
    free(cluster);
    return n;
}

/* query_max_lag: ?max_lag=DURATION into *out (*given tells whether it
 * was there); -1 after a 400 reply when it does not parse. */
static int query_max_lag(const struct request *r, double *out, bool *given,
                         struct reply *rep)
{
    const char *q =
        MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "max_lag");
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

/* h_replica: 200 when the node is a replica fit to serve reads at
 * max_lag (the cluster's read_max_lag unless the query says), else 503;
 * the body says why. */
static void h_replica(const struct request *r, struct reply *rep)
{
    double max_lag = 0;
    bool given;
    if (query_max_lag(r, &max_lag, &given, rep) < 0)
        return;
    const struct snap_node *n = find_target(r, rep);
    if (!n)
        return;
    if (!given)
        max_lag = n->read_max_lag;
    const char *why = "not a replica";
    bool replica = !n->is_primary;
    bool ok = replica && read_rotation_ok(&n->rv, max_lag, &why);
    cJSON *o = target_json(n, ok, why);
    if (replica && n->rv.fresh && n->rv.have_lag)
        cJSON_AddNumberToObject(o, "lag", n->rv.lag);
    else
        cJSON_AddNullToObject(o, "lag");
    cJSON_AddNumberToObject(o, "max_lag", max_lag);
    if (replica)
        cJSON_AddStringToObject(o, "health", health_name(n->health));
    else
        cJSON_AddNullToObject(o, "health");
    reply_json(rep, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, o);
}

/* h_primary: 200 when the node is its cluster's current primary and was
 * scraped successfully, recently; else 503 with the reason. */
static void h_primary(const struct request *r, struct reply *rep)
{
    const struct snap_node *n = find_target(r, rep);
    if (!n)
        return;
    const char *why = NULL;
    if (!n->is_primary)
        why = "not the primary";
    else if (!n->up)
        why = "unreachable";
    else if (!n->fresh)
        why = "stale";
    cJSON *o = target_json(n, why == NULL, why);
    cJSON_AddStringToObject(o, "role", n->role);
    reply_json(rep, why ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK, o);
}

/* --- POST endpoints ------------------------------------------------------ */

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
    struct httpd *h = u->h;
    u->st = st;
    u->answered = true;
    MHD_resume_connection(u->conn); /* u may be gone once this returns */
    pthread_mutex_lock(&h->wait_mu);
    if (--h->suspended == 0)
        pthread_cond_broadcast(&h->idle);
    pthread_mutex_unlock(&h->wait_mu);
}

/* suspend: holds the connection for the journal; false when stopping. */
static bool suspend(struct httpd *h, struct MHD_Connection *conn)
{
    pthread_mutex_lock(&h->wait_mu);
    bool ok = !h->stopping;
    if (ok) {
        h->suspended++;
        MHD_suspend_connection(conn);
    }
    pthread_mutex_unlock(&h->wait_mu);
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
    u->h = r->h;
    u->conn = r->conn;
    if (suspend(r->h, r->conn)) {
        remedy_submit_async(r->h->rem, p, on_journaled, u); /* no reply yet */
    } else {
        u->st = REMEDY_STOPPING;
        webhook_answer(u, rep);
    }
    alert_payload_free(p);
}

static void set_pause(const struct request *r, struct reply *rep, bool on)
{
    if (remedy_set_paused(r->h->rem, on) < 0) {
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
    remedy_ack(r->h->rem, r->tail);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "acked", r->tail);
    reply_json(rep, MHD_HTTP_OK, o);
}

/* same_token: constant time in the token's length. */
static bool same_token(const char *want, const char *got)
{
    size_t n = strlen(want), m = strlen(got);
    unsigned char diff = (unsigned char)(n != m);
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(want[i] ^ (i < m ? got[i] : 0));
    return diff == 0;
}

static bool from_loopback(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    if (sa && sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >>
                24) == 127;
    if (sa && sa->sa_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(
            &((const struct sockaddr_in6 *)sa)->sin6_addr);
    return false;
}

/* client_text: the connection's peer address as text into out. */
static const char *client_text(struct MHD_Connection *conn, char *out, size_t n)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    const void *a = NULL;
    if (sa && sa->sa_family == AF_INET)
        a = &((const struct sockaddr_in *)sa)->sin_addr;
    else if (sa && sa->sa_family == AF_INET6)
        a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    if (!a || !inet_ntop(sa->sa_family, a, out, (socklen_t)n))
        snprintf(out, n, "unknown");
    return out;
}

/* note_refused: logs a refused POST, why but never the credentials it
 * carried; at most one line a second, counting those not logged. */
static void note_refused(struct httpd *h, struct MHD_Connection *conn,
                         const char *path, const char *why)
{
    double now = mono_now();
    pthread_mutex_lock(&h->log_mu);
    bool due = h->refused_logged == 0 || now - h->refused_logged >= 1.0;
    unsigned unlogged = h->refused_unlogged;
    if (due) {
        h->refused_logged = now;
        h->refused_unlogged = 0;
    } else {
        h->refused_unlogged++;
    }
    pthread_mutex_unlock(&h->log_mu);
    if (!due)
        return;
    char addr[INET6_ADDRSTRLEN];
    log_msg(LOG_WARN,
            "msg=\"POST refused\" path=%s reason=\"%s\" client=%s "
            "unlogged_before=%u",
            path, why, client_text(conn, addr, sizeof(addr)), unlogged);
}

/* authorized: false with the error reply filled (and a log line) when
 * the POST to path may not proceed: a bearer token when one is
 * configured, else loopback only. */
static bool authorized(struct httpd *h, struct MHD_Connection *conn,
                       const char *path, struct reply *rep)
{
    if (!h->token) {
        if (from_loopback(conn))
            return true;
        note_refused(h, conn, path, "not from loopback");
        reply_error(rep, MHD_HTTP_FORBIDDEN,
                    "without auth.token_file, POSTs are taken from loopback "
                    "only");
        return false;
    }
    const char *a = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION);
    bool bearer = a && strncasecmp(a, "Bearer ", 7) == 0; /* RFC 7235 */
    if (bearer && same_token(h->token, a + 7))
        return true;
    note_refused(h, conn, path,
                 !a       ? "no token"
                 : bearer ? "wrong token"
                          : "not a bearer token");
    reply_error(rep, MHD_HTTP_UNAUTHORIZED, "missing or wrong bearer token");
    return false;
}

/* --- the header deadline ------------------------------------------------- */

static struct conn_clock *clock_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* headers_done: the connection's request has all its headers. */
static void headers_done(struct httpd *h, struct MHD_Connection *conn)
{
    struct conn_clock *c = clock_of(conn);
    if (!c)
        return;
    pthread_mutex_lock(&h->conns_mu);
    c->in_headers = false;
    pthread_mutex_unlock(&h->conns_mu);
}

/* next_request: a reply is done; the connection's next request (if it
 * is kept alive) has header_timeout from now. */
static void next_request(struct httpd *h, struct MHD_Connection *conn)
{
    struct conn_clock *c = clock_of(conn);
    if (!c)
        return;
    pthread_mutex_lock(&h->conns_mu);
    c->since = mono_now();
    c->in_headers = true;
    c->nul = false;
    pthread_mutex_unlock(&h->conns_mu);
}

/* client_key: the connection's peer address into key (16 bytes). */
static void client_key(struct MHD_Connection *conn, unsigned char key[16])
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    memset(key, 0, 16);
    if (sa && sa->sa_family == AF_INET)
        memcpy(key, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    else if (sa && sa->sa_family == AF_INET6)
        memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
}

/* high_water, low_water: from high_water open connections on, the
 * reaper sheds slow ones until low_water are left, so that the table
 * always has room for a new client (a load balancer's health check). */
static unsigned high_water(const struct httpd *h)
{
    return h->max_conns - h->max_conns / 8;
}

static unsigned low_water(const struct httpd *h)
{
    return h->max_conns - h->max_conns / 4;
}

/* on_connection: puts a new connection on the reaper's list, takes a
 * closed one off (libmicrohttpd closes its socket only after this, so
 * the reaper never touches a reused descriptor). */
static void on_connection(void *cls, struct MHD_Connection *conn,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct httpd *h = cls;
    struct conn_clock *c = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        c = xcalloc(1, sizeof(*c));
        c->fd = ci ? ci->connect_fd : -1;
        c->since = mono_now();
        c->in_headers = true;
        client_key(conn, c->addr);
        pthread_mutex_lock(&h->conns_mu);
        c->next = h->conns.next;
        c->prev = &h->conns;
        c->next->prev = c;
        h->conns.next = c;
        if (++h->n_conns >= high_water(h))
            pthread_cond_signal(&h->conns_cv); /* make room now */
        pthread_mutex_unlock(&h->conns_mu);
        *socket_context = c;
        return;
    }
    if (!c)
        return;
    pthread_mutex_lock(&h->conns_mu);
    c->prev->next = c->next;
    c->next->prev = c->prev;
    h->n_conns--;
    pthread_mutex_unlock(&h->conns_mu);
    free(c);
    *socket_context = NULL;
}

/* cut_slow: shuts down the connections whose headers are overdue;
 * returns how many. Called with conns_mu held. */
static unsigned cut_slow(struct httpd *h, double now)
{
    unsigned n = 0;
    for (struct conn_clock *c = h->conns.next; c != &h->conns; c = c->next)
        if (c->in_headers && c->fd >= 0 && now - c->since > h->header_timeout) {
            shutdown(c->fd, SHUT_RDWR);
            c->in_headers = false; /* once */
            c->cut = true;
            n++;
        }
    return n;
}

struct candidate {
    struct conn_clock *c;
    unsigned from_addr; /* candidates from its address */
};

static int by_addr(const void *a, const void *b)
{
    const struct candidate *x = a, *y = b;
    return memcmp(x->c->addr, y->c->addr, sizeof(x->c->addr));
}

/* by_greed: the address holding the most first, then the oldest. */
static int by_greed(const void *a, const void *b)
{
    const struct candidate *x = a, *y = b;
    if (x->from_addr != y->from_addr)
        return x->from_addr > y->from_addr ? -1 : 1;
    return (x->c->since > y->c->since) - (x->c->since < y->c->since);
}

/* shed: when the table is nearly full, shuts down connections still
 * waiting for their request headers SHED_GRACE after it began (slow
 * senders and idle keep-alives), from the address holding the most
 * such first, oldest first, until low_water are left. Returns how many.
 * Called with conns_mu held. */
static unsigned shed(struct httpd *h, double now)
{
    unsigned open = 0, n = 0, k = 0;
    for (struct conn_clock *c = h->conns.next; c != &h->conns; c = c->next)
        open += !c->cut;
    if (open < high_water(h))
        return 0;
    struct candidate *v = xcalloc(open, sizeof(*v));
    for (struct conn_clock *c = h->conns.next; c != &h->conns; c = c->next)
        if (!c->cut && c->in_headers && c->fd >= 0 &&
            now - c->since >= SHED_GRACE)
            v[n++].c = c;
    qsort(v, n, sizeof(*v), by_addr);
    for (unsigned i = 0, j; i < n; i = j) {
        for (j = i; j < n && by_addr(&v[i], &v[j]) == 0; j++)
            ;
        for (unsigned m = i; m < j; m++)
            v[m].from_addr = j - i;
    }
    qsort(v, n, sizeof(*v), by_greed);
    for (; k < n && open - k > low_water(h); k++) {
        shutdown(v[k].c->fd, SHUT_RDWR);
        v[k].c->in_headers = false;
        v[k].c->cut = true;
    }
    free(v);
    return k;
}

static void *reaper_main(void *arg)
{
    struct httpd *h = arg;
    pthread_mutex_lock(&h->conns_mu);
    while (!h->reaper_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&h->conns_cv, &h->conns_mu, &ts);
        unsigned n = cut_slow(h, mono_now());
        if (n)
            log_msg(LOG_INFO,
                    "msg=\"closed connections whose request headers took "
                    "too long\" connections=%u limit=%.0fs",
                    n, h->header_timeout);
        h->shed_unlogged += shed(h, mono_now());
        if (h->shed_unlogged && mono_now() - h->shed_logged >= 1.0) {
            log_msg(LOG_INFO,
                    "msg=\"connection table nearly full: closed connections "
                    "still sending their request headers\" connections=%u "
                    "open=%u max=%u",
                    h->shed_unlogged, h->n_conns, h->max_conns);
            h->shed_unlogged = 0;
            h->shed_logged = mono_now();
        }
    }
    pthread_mutex_unlock(&h->conns_mu);
    return NULL;
}

static void reaper_init(struct httpd *h, unsigned header_timeout)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->conns_cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&h->conns_mu, NULL);
    h->conns.next = h->conns.prev = &h->conns;
    h->header_timeout = header_timeout;
}

static void reaper_stop(struct httpd *h)
{
    if (h->reaper_running) {
        pthread_mutex_lock(&h->conns_mu);
        h->reaper_stop = true;
        pthread_cond_signal(&h->conns_cv);
        pthread_mutex_unlock(&h->conns_mu);
        pthread_join(h->reaper, NULL);
        h->reaper_running = false;
    }
}

/* --- routing ------------------------------------------------------------- */

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

/* POST routes (webhook, pause/resume, ack) join this table. Their bodies
 * must be read before handle() runs: on_request() will then keep a
 * per-request context in *con_cls, collect the upload into a struct buf
 * created with the route's size limit (413 past it) and call handle()
 * on the final call, when *upload_data_size is 0. */
static const struct route routes[] = {
    {"/webhook", false, M_POST, "POST", false, h_webhook},
    {"/api/v1/pause", false, M_POST, "POST", false, h_pause},
    {"/api/v1/resume", false, M_POST, "POST", false, h_resume},
    {"/api/v1/ack/", true, M_POST, "POST", true, h_ack},
    {"/metrics", false, GET_HEAD, true, h_metrics},
    {"/-/healthy", false, GET_HEAD, false, h_healthy},
    {"/-/ready", false, GET_HEAD, false, h_ready},
    {"/health/replica/", true, GET_HEAD, true, h_replica},
    {"/health/primary/", true, GET_HEAD, true, h_primary},
    {"/api/v1/state", false, GET_HEAD, true, h_state},
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

static void dispatch(struct httpd *h, struct MHD_Connection *conn,
                     const struct route *rt, const char *tail,
                     struct upload *up, struct reply *rep)
{
    struct request r = {
        conn, tail, snapbox_get(h->box), h, up ? &up->body : NULL, up};
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

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode tc)
{
    next_request(cls, conn);
    struct upload *u = *con_cls;
    if (!u)
        return;
    buf_free(&u->body);
    free(u);
    *con_cls = NULL;
}

static void post(struct httpd *h, struct MHD_Connection *conn,
                 const struct route *rt, const char *tail, struct upload *u,
                 struct reply *rep)
{
    if (!h->rem)
        reply_error(rep, MHD_HTTP_NOT_FOUND, "remediation is not configured");
    else if (authorized(h, conn, rt->path, rep) && u->too_large)
        reply_error(rep, MHD_HTTP_CONTENT_TOO_LARGE, "body over 1 MiB");
    else if (rep->status == 0)
        dispatch(h, conn, rt, tail, u, rep);
    if (rt->handle == h_webhook && h->rem && rep->status)
        remedy_count_request(h->rem, rep->status);
}

/* unescape: decodes %XX in place as libmicrohttpd does (path, query
 * names and values); a %00 marks the request, which would otherwise be
 * read as ending there (/health/replica/c1/node2%00x as node2). */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    size_t n = MHD_http_unescape(s);
    struct conn_clock *c = clock_of(conn);
    if (c && strlen(s) != n)
        c->nul = true; /* only this connection's thread touches it */
    return n;
}

struct lengths {
    unsigned n;
    const char *first;
    bool differ;
};

static enum MHD_Result each_length(void *cls, enum MHD_ValueKind kind,
                                   const char *key, const char *value)
{
    struct lengths *l = cls;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) != 0)
        return MHD_YES;
    if (l->n++ == 0)
        l->first = value;
    else if (strcmp(l->first, value ? value : "") != 0)
        l->differ = true;
    return MHD_YES;
}

/* framing_error: why the request's framing is ambiguous (RFC 9112
 * sections 3.2 and 6), or NULL. */
static const char *framing_error(struct MHD_Connection *conn,
                                 const char *version)
{
    if (strcmp(version, MHD_HTTP_VERSION_1_1) == 0 &&
        !MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                     MHD_HTTP_HEADER_HOST))
        return "HTTP/1.1 request without Host";
    struct lengths l = {0};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, each_length, &l);
    if (l.n && MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                           MHD_HTTP_HEADER_TRANSFER_ENCODING))
        return "Content-Length with Transfer-Encoding";
    if (l.differ)
        return "conflicting Content-Length values";
    struct conn_clock *c = clock_of(conn);
    if (c && c->nul)
        return "NUL byte (%00) in the path or query";
    return NULL;
}

/* refuse_early: on a request's first call, before any of its body is
 * read or libmicrohttpd answers "100 Continue": 400 for ambiguous
 * framing or a NUL in the path or query; for a POST, 404 without
 * remediation or the authorization refusal. True with rep filled (the
 * connection then closes: its body was not read). */
static bool refuse_early(struct httpd *h, struct MHD_Connection *conn,
                         const char *version, const struct route *rt,
                         unsigned m, struct reply *rep)
{
    const char *why = framing_error(conn, version);
    if (why)
        reply_error(rep, MHD_HTTP_BAD_REQUEST, why);
    else if (!rt || !(rt->methods & m) || m != M_POST)
        return false;
    else if (!h->rem)
        reply_error(rep, MHD_HTTP_NOT_FOUND, "remediation is not configured");
    else if (authorized(h, conn, rt->path, rep))
        return false;
    rep->close = true;
    if (rt && rt->handle == h_webhook && h->rem && (rt->methods & m))
        remedy_count_request(h->rem, rep->status);
    return true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    struct httpd *h = cls;
    struct reply rep = {0};
    const char *tail = NULL;
    headers_done(h, conn);
    const struct route *rt = find_route(url, &tail);
    unsigned m = method_bit(method);
    buf_init(&rep.body, 0);
    if (!*con_cls && refuse_early(h, conn, version, rt, m, &rep))
        return send_reply(conn, &rep);
    if (rt && (rt->methods & m) && m == M_POST &&
        !receive(con_cls, upload, upload_size))
        return MHD_YES; /* more of the body to come */
    if (!rt) {
        reply_error(&rep, MHD_HTTP_NOT_FOUND, "not found");
    } else if (!(rt->methods & m)) {
        reply_error(&rep, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
        rep.allow = rt->allow;
    } else if (m == M_POST) {
        post(h, conn, rt, tail, *con_cls, &rep);
        if (rep.status == 0) { /* suspended: answered when resumed */
            buf_free(&rep.body);
            return MHD_YES;
        }
    } else {
        dispatch(h, conn, rt, tail, NULL, &rep);
    }
    return send_reply(conn, &rep);
}

/* --- the daemon ---------------------------------------------------------- */

__attribute__((format(printf, 2, 0))) static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct httpd *h = cls;
    char text[256], q[300];
    vsnprintf(text, sizeof(text), fmt, ap);
    text[strcspn(text, "\r\n")] = '\0';
    pthread_mutex_lock(&h->log_mu);
    bool starting = h->starting;
    if (starting && h->start_err[0] == '\0')
        snprintf(h->start_err, sizeof(h->start_err), "%s", text);
    pthread_mutex_unlock(&h->log_mu);
    log_msg(starting ? LOG_WARN : LOG_DEBUG, "msg=\"libmicrohttpd\" detail=%s",
            log_quote(q, sizeof(q), text));
}

static int resolve(const char *host, uint16_t port, struct sockaddr_storage *ss,
                   char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char service[8];
    snprintf(service, sizeof(service), "%u", (unsigned)port);
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve listen address %s: %s", host,
                 gai_strerror(rc));
        return -1;
    }
    memset(ss, 0, sizeof(*ss));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

static unsigned or_default(unsigned v, unsigned d)
{
    return v ? v : d;
}

/* connection_limit: want, raising RLIMIT_NOFILE (up to its hard limit)
 * so that want clients and FDS_RESERVED other descriptors fit, or fewer
 * when they cannot. */
static unsigned connection_limit(unsigned want)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)want + FDS_RESERVED;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
        rl.rlim_cur >= need)
        return want;
    rlim_t cur = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need
                      ? need
                      : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
        cur = rl.rlim_cur;
    if (cur >= need)
        return want;
    unsigned fit = cur > 2 * FDS_RESERVED ? (unsigned)(cur - FDS_RESERVED)
                                          : (unsigned)(cur / 2);
    log_msg(LOG_WARN,
            "msg=\"RLIMIT_NOFILE too low: fewer connections\" max=%u "
            "nofile=%llu",
            fit, (unsigned long long)cur);
    return fit;
}

static struct MHD_Daemon *start_daemon(struct httpd *h,
                                       const struct httpd_options *o,
                                       const struct sockaddr_storage *ss)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                     MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    if (ss->ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (o->tls_cert)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem tls[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)o->tls_cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)o->tls_key},
        {MHD_OPTION_END, 0, NULL}};
    size_t mem =
        o->connection_memory ? o->connection_memory : DEFAULT_CONN_MEMORY;
    return MHD_start_daemon(
        flags, o->port, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER,
        on_mhd_log, h, MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)ss,
        MHD_OPTION_THREAD_POOL_SIZE, or_default(o->threads, DEFAULT_THREADS),
        MHD_OPTION_CONNECTION_TIMEOUT, or_default(o->timeout, DEFAULT_TIMEOUT),
        MHD_OPTION_CONNECTION_LIMIT, h->max_conns,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        or_default(o->max_per_ip, DEFAULT_PER_IP),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, mem, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, h, MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape, h, MHD_OPTION_ARRAY,
        o->tls_cert ? tls : tls + 2, MHD_OPTION_END);
}

static void set_starting(struct httpd *h, bool starting)
{
    pthread_mutex_lock(&h->log_mu);
    h->starting = starting;
    pthread_mutex_unlock(&h->log_mu);
}

struct httpd *httpd_start(const struct httpd_options *o, struct snapbox *box,
                          char *err, size_t errlen)
{
    const char *host = o->host && o->host[0] ? o->host : DEFAULT_HOST;
    struct sockaddr_storage ss;
    if (o->tls_cert &&
        (!o->tls_key || MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)) {
        snprintf(err, errlen, "cannot serve HTTPS: %s",
                 o->tls_key ? "this libmicrohttpd was built without TLS"
                            : "a certificate without a key");
        return NULL;
    }
    if (resolve(host, o->port, &ss, err, errlen) < 0)
        return NULL;
    struct httpd *h = xcalloc(1, sizeof(*h));
    h->box = box;
    h->rem = o->rem;
    h->token = o->token ? xstrdup(o->token) : NULL;
    snprintf(h->host, sizeof(h->host), "%s", host);
    pthread_mutex_init(&h->log_mu, NULL);
    reaper_init(h, or_default(o->header_timeout, DEFAULT_HEADER_TIME));
    h->max_conns = o->max_connections ? o->max_connections
                                      : connection_limit(DEFAULT_CONNECTIONS);
    pthread_mutex_init(&h->wait_mu, NULL);
    pthread_cond_init(&h->idle, NULL);
    set_starting(h, true);
    h->d = start_daemon(h, o, &ss);
    set_starting(h, false);
    if (!h->d) {
        snprintf(err, errlen, "cannot listen on %s port %u: %s", host,
                 (unsigned)o->port,
                 h->start_err[0] ? h->start_err
                                 : "libmicrohttpd did not start");
        httpd_stop(h);
        return NULL;
    }
    int rc = pthread_create(&h->reaper, NULL, reaper_main, h);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start a thread: %s", strerror(rc));
        httpd_stop(h);
        return NULL;
    }
    h->reaper_running = true;
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : o->port;
    char q[NI_MAXHOST + 8];
    log_msg(LOG_INFO,
            "msg=\"http server listening\" host=%s port=%u threads=%u "
            "tls=%d",
            log_quote(q, sizeof(q), host), h->port,
            or_default(o->threads, DEFAULT_THREADS), o->tls_cert != NULL);
    return h;
}

unsigned httpd_port(const struct httpd *h)
{
    return h->port;
}

void httpd_stop(struct httpd *h)
{
    if (!h)
        return;
    reaper_stop(h);
    pthread_mutex_lock(&h->wait_mu);
    h->stopping = true;
    while (h->suspended > 0)
        pthread_cond_wait(&h->idle, &h->wait_mu);
    pthread_mutex_unlock(&h->wait_mu);
    if (h->d) {
        MHD_stop_daemon(h->d);
        char q[NI_MAXHOST + 8];
        log_msg(LOG_INFO, "msg=\"http server stopped\" host=%s port=%u",
                log_quote(q, sizeof(q), h->host), h->port);
    }
    pthread_mutex_destroy(&h->log_mu);
    pthread_mutex_destroy(&h->conns_mu);
    pthread_cond_destroy(&h->conns_cv);
    pthread_mutex_destroy(&h->wait_mu);
    pthread_cond_destroy(&h->idle);
    free(h->token);
    free(h);
}
