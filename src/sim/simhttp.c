/* simhttp.c: libmicrohttpd daemons for the simulated nodes, one thread.
 *
 * Each node's daemon runs in external polling mode with its own epoll
 * fd; the master epoll (h->ep) holds those and an eventfd for
 * simhttp_stop(). The loop wakes at least every STEP_EVERY seconds to
 * advance the sim, act out fault changes, resume suspended connections
 * whose time has come and run daemons that still have work.
 *
 * Suspended connections (hang, slow_body) sit on one list, h->susp;
 * a connection is resumed when its node leaves NODE_UP, when its hang
 * ends or when its next slow byte is due, so none is ever suspended
 * when a daemon stops. */
#include "sim/simhttp.h"

#include "lib/log.h"
#include "sim/sim.h"
#include "sim/simapi.h"
#include "sim/simnet.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define STEP_EVERY   0.01 /* seconds between sim_step() calls */
#define SWEEP_EVERY  1.0  /* every daemon runs at least this often */
#define DOWN_GRACE   0.2  /* a node going down may finish answers this long */
#define SLOW_GAP     0.1  /* slow_body: seconds per byte */
#define CONN_TIMEOUT 30u  /* idle connection timeout, seconds */
/* A connection's memory pool (headers, read buffer; bodies are ours).
 * libmicrohttpd 0.9.75 zeroes the pool after every request, so its size
 * is a memset per request: 64 KiB was 9 % of a simulator's CPU at 2,000
 * scrapes a second (bench/RESULTS.md). */
#define CONN_MEMORY ((size_t)16 * 1024)
#define CONN_LIMIT  256u /* connections per node */
#define BACKLOG     128
#define DISCARD_MAX ((size_t)16 * 1024 * 1024) /* oversized chunked body */
#define SLOW_BLOCK  4096
#define MAX_EVENTS  64
#define WAKE_TAG    UINT64_MAX

enum node_state { NODE_UP, NODE_QUIESCED, NODE_DOWN };

/* A suspended connection: a hung request or a slow body between bytes. */
struct susp {
    struct susp *prev, *next;
    bool linked;
    bool hang;         /* else a slow body or a write */
    double due;        /* slow body: when the next byte may go; write:
                          when it times out */
    uint64_t wait_pos; /* a write waiting for its acknowledgement */
    struct node *n;
    struct MHD_Connection *conn;
};

enum req_state { REQ_NEW, REQ_HUNG, REQ_ACKWAIT, REQ_RESUMED };

/* Per request (MHD's con_cls), freed when MHD completes the request. */
struct req {
    struct susp sp;
    enum req_state state;
    struct buf body;
    bool too_large;
    size_t discarded;
};

/* A response body sent a byte at a time, owned by its MHD response. */
struct slow {
    struct susp sp;
    char *data;
    size_t len;
};

struct node {
    struct simhttp *h;
    unsigned ci, ni;
    uint16_t port;
    enum node_state state;
    struct MHD_Daemon *d; /* NULL when NODE_DOWN */
    int epfd;             /* the daemon's epoll fd, or -1 */
    double stop_at;       /* NODE_QUIESCED: when to stop the daemon */
    bool pending;         /* MHD has work that no event will announce */
    bool start_failed;    /* the last restart failed (logged once) */
};

struct simhttp {
    struct sim *s;
    struct node *nodes;
    size_t nnodes;
    int ep;      /* master epoll */
    int wake_fd; /* eventfd of simhttp_stop() */
    bool stopping;
    struct sockaddr_storage addr; /* the host, port 0 */
    socklen_t addrlen;
    char url_host[96];
    uint64_t fault_gen;
    uint64_t rng; /* garbage bytes */
    double next_step, next_sweep;
    size_t *pend, *work; /* indices of pending nodes, and a scratch copy */
    size_t npend;
    size_t nquiesced;
    struct susp *susp; /* suspended connections */
};

static double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *node_name(const struct node *n)
{
    return sim_node_name(n->h->s, n->ci, n->ni);
}

static const char *cluster_name(const struct node *n)
{
    return sim_cluster_name(n->h->s, n->ci);
}

static bool fault_on(const struct node *n, enum sim_fault_kind kind)
{
    return sim_fault_on(n->h->s, n->ci, n->ni, kind);
}

static void mark_pending(struct simhttp *h, struct node *n)
{
    if (n->pending)
        return;
    n->pending = true;
    h->pend[h->npend++] = (size_t)(n - h->nodes);
}

/* --- suspended connections --------------------------------------------- */

static void susp_link(struct simhttp *h, struct susp *p)
{
    p->prev = NULL;
    p->next = h->susp;
    if (h->susp)
        h->susp->prev = p;
    h->susp = p;
    p->linked = true;
}

static void susp_unlink(struct simhttp *h, struct susp *p)
{
    if (!p->linked)
        return;
    if (p->prev)
        p->prev->next = p->next;
    else
        h->susp = p->next;
    if (p->next)
        p->next->prev = p->prev;
    p->prev = p->next = NULL;
    p->linked = false;
}

/* suspend: suspends p's connection; called only from MHD callbacks. */
static void suspend(struct susp *p)
{
    MHD_suspend_connection(p->conn);
    susp_link(p->n->h, p);
}

static bool must_resume(const struct susp *p, double now)
{
    if (p->n->state != NODE_UP)
        return true;
    if (p->hang)
        return !fault_on(p->n, SIM_FAULT_HANG);
    bool acked;
    if (p->wait_pos &&
        sim_write_settled(p->n->h->s, p->n->ci, p->n->ni, p->wait_pos, &acked))
        return true;
    return p->due <= now;
}

/* resume_due: resumes every suspended connection whose time has come. */
static void resume_due(struct simhttp *h, double now)
{
    struct susp *p = h->susp;
    while (p) {
        struct susp *next = p->next;
        if (must_resume(p, now)) {
            susp_unlink(h, p);
            MHD_resume_connection(p->conn);
            mark_pending(h, p->n);
        }
        p = next;
    }
}

/* --- answers ----------------------------------------------------------- */

static ssize_t slow_read(void *cls, uint64_t pos, char *out, size_t max)
{
    struct slow *sl = cls;
    if (sl->sp.n->state != NODE_UP)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (pos >= sl->len)
        return MHD_CONTENT_READER_END_OF_STREAM;
    size_t left = sl->len - (size_t)pos;
    if (!fault_on(sl->sp.n, SIM_FAULT_SLOW_BODY)) { /* the fault ended */
        size_t k = left < max ? left : max;
        memcpy(out, sl->data + pos, k);
        return (ssize_t)k;
    }
    double now = now_mono();
    if (now < sl->sp.due) {
        suspend(&sl->sp); /* allowed from a content reader */
        return 0;
    }
    out[0] = sl->data[pos];
    sl->sp.due = now + SLOW_GAP;
    return 1;
}

static void slow_free(void *cls)
{
    struct slow *sl = cls;
    susp_unlink(sl->sp.n->h, &sl->sp);
    free(sl->data);
    free(sl);
}

/* make_response: an MHD response for rep's body (taken from rep). */
static struct MHD_Response *make_response(struct node *n,
                                          struct MHD_Connection *conn,
                                          struct simapi_reply *rep, bool slow)
{
    size_t len = rep->body.len;
    if (!slow)
        return MHD_create_response_from_buffer(len, buf_detach(&rep->body),
                                               MHD_RESPMEM_MUST_FREE);
    struct slow *sl = xcalloc(1, sizeof(*sl));
    sl->sp.n = n;
    sl->sp.conn = conn;
    sl->data = buf_detach(&rep->body);
    sl->len = len;
    struct MHD_Response *r = MHD_create_response_from_callback(
        len, SLOW_BLOCK, slow_read, sl, slow_free);
    if (!r) {
        free(sl->data);
        free(sl);
    }
    return r;
}

/* send_reply: queues rep on conn and counts its bytes. */
static enum MHD_Result send_reply(struct node *n, struct MHD_Connection *conn,
                                  struct simapi_reply *rep, bool slow)
{
    size_t len = rep->body.len;
    struct MHD_Response *resp = make_response(n, conn, rep, slow);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            rep->content_type);
    if (rep->allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, rep->allow);
    enum MHD_Result rc = MHD_queue_response(conn, rep->status, resp);
    MHD_destroy_response(resp);
    sim_count_bytes(n->h->s, n->ci, n->ni, len);
    return rc;
}

static enum MHD_Result send_error(struct node *n, struct MHD_Connection *conn,
                                  unsigned status, const char *msg)
{
    struct simapi_reply rep;
    simapi_reply_init(&rep);
    simapi_error(&rep, status, msg);
    enum MHD_Result rc = send_reply(n, conn, &rep, false);
    simapi_reply_free(&rep);
    return rc;
}

static const char *query_arg(void *ctx, const char *name)
{
    return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, name);
}

/* answer: the node API's or the control plane's answer to a complete
 * request, with the faults of the node API acted out. */
static enum MHD_Result answer(struct node *n, struct req *r, const char *url,
                              const char *method)
{
    bool faultable = !simapi_control_path(url);
    if (faultable && fault_on(n, SIM_FAULT_HANG)) {
        r->state = REQ_HUNG;
        suspend(&r->sp);
        return MHD_YES;
    }
    struct simapi_reply rep;
    simapi_reply_init(&rep);
    if (faultable && fault_on(n, SIM_FAULT_HTTP_500)) {
        simapi_error(&rep, 500, "injected fault: http_500");
    } else if (faultable && fault_on(n, SIM_FAULT_GARBAGE) &&
               strcmp(url, "/metrics") == 0) {
        simapi_garbage(&rep, &n->h->rng);
    } else {
        struct simapi_request rq = {.method = method,
                                    .path = url,
                                    .arg = query_arg,
                                    .arg_ctx = r->sp.conn,
                                    .body = r->body.data,
                                    .body_len = r->body.len,
                                    .too_large = r->too_large};
        rq.fence = MHD_lookup_connection_value(r->sp.conn, MHD_HEADER_KIND,
                                               "X-Replguard-Fence");
        simapi_handle(n->h->s, n->ci, n->ni, &rq, &rep);
    }
    if (rep.wait_position) { /* a write: answered once acknowledged */
        r->state = REQ_ACKWAIT;
        r->sp.hang = false;
        r->sp.wait_pos = rep.wait_position;
        r->sp.due = now_mono() + SIMAPI_WRITE_TIMEOUT;
        suspend(&r->sp);
        simapi_reply_free(&rep);
        return MHD_YES;
    }
    bool slow = faultable && fault_on(n, SIM_FAULT_SLOW_BODY);
    enum MHD_Result rc = send_reply(n, r->sp.conn, &rep, slow);
    simapi_reply_free(&rep);
    return rc;
}

/* --- the request callbacks --------------------------------------------- */

static bool declared_too_large(struct MHD_Connection *conn)
{
    const char *cl = MHD_lookup_connection_value(
        conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    uint64_t len;
    return cl && parse_u64(cl, 0, UINT64_MAX, &len) == 0 &&
           len > SIMAPI_MAX_BODY;
}

/* begin: the first call of a request: its context, and an early 413
 * (MHD then reads no body) when Content-Length is over the limit. */
static enum MHD_Result begin(struct node *n, struct MHD_Connection *conn,
                             const char *url, const char *method,
                             void **con_cls)
{
    struct req *r = xcalloc(1, sizeof(*r));
    r->sp.n = n;
    r->sp.conn = conn;
    r->sp.hang = true;
    buf_init(&r->body, SIMAPI_MAX_BODY);
    *con_cls = r;
    if (!declared_too_large(conn))
        return MHD_YES;
    r->too_large = true;
    return answer(n, r, url, method);
}

/* upload: keeps a chunk of the body, or discards it once over the limit
 * (a chunked body has no Content-Length to refuse it early by). */
static enum MHD_Result upload(struct req *r, const char *data, size_t len)
{
    if (!r->too_large && buf_append(&r->body, data, len) < 0) {
        r->too_large = true;
        buf_free(&r->body);
    }
    if (r->too_large)
        r->discarded += len;
    return r->discarded > DISCARD_MAX ? MHD_NO : MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *data,
                                  size_t *data_len, void **con_cls)
{
    struct node *n = cls;
    struct req *r = *con_cls;
    (void)version;
    if (n->state != NODE_UP)
        return MHD_NO; /* going down: drop the connection */
    if (!r)
        return begin(n, conn, url, method, con_cls);
    if (*data_len) {
        size_t len = *data_len;
        *data_len = 0;
        return upload(r, data, len);
    }
    if (r->state == REQ_HUNG) {
        r->state = REQ_RESUMED;
        return send_error(n, conn, 503, "injected fault ended: hang");
    }
    if (r->state == REQ_ACKWAIT) {
        struct simapi_reply rep;
        simapi_reply_init(&rep);
        simapi_write_answer(n->h->s, n->ci, n->ni, r->sp.wait_pos, &rep);
        r->state = REQ_RESUMED;
        enum MHD_Result rc = send_reply(n, conn, &rep, false);
        simapi_reply_free(&rep);
        return rc;
    }
    if (r->state == REQ_RESUMED)
        return MHD_YES; /* answered already */
    return answer(n, r, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct node *n = cls;
    struct req *r = *con_cls;
    (void)conn;
    (void)toe;
    if (!r)
        return;
    susp_unlink(n->h, &r->sp);
    buf_free(&r->body);
    free(r);
    *con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct node *n = cls;
    (void)conn;
    (void)socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED)
        sim_count_connection(n->h->s, n->ci, n->ni);
}

__attribute__((format(printf, 2, 0))) static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct node *n = cls;
    if (!log_enabled(LOG_DEBUG))
        return;
    char text[256], q[300];
    vsnprintf(text, sizeof(text), fmt, ap);
    text[strcspn(text, "\r\n")] = '\0';
    log_msg(LOG_DEBUG, "msg=\"libmicrohttpd\" cluster=%s node=%s detail=%s",
            cluster_name(n), node_name(n), log_quote(q, sizeof(q), text));
}

/* --- listening sockets and daemons ------------------------------------- */

/* listen_on: a non-blocking listening socket on the node's port (an
 * ephemeral one, then kept, when it is 0); -1 with a message in err. */
static int listen_on(struct simhttp *h, struct node *n, char *err,
                     size_t errlen)
{
    struct sockaddr_storage ss = h->addr;
    socklen_t len = h->addrlen;
    int one = 1;
    simnet_set_port(&ss, n->port);
    int fd =
        socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, BACKLOG) < 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
        snprintf(err, errlen, "cannot listen on %s port %u: %s", h->url_host,
                 (unsigned)n->port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    n->port = simnet_get_port(&ss);
    return fd;
}

static struct MHD_Daemon *start_daemon(struct node *n, int fd)
{
    return MHD_start_daemon(
        MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL,
        NULL, on_request, n, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, n,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd, MHD_OPTION_CONNECTION_TIMEOUT,
        CONN_TIMEOUT, MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONN_MEMORY,
        MHD_OPTION_CONNECTION_LIMIT, CONN_LIMIT, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, n, MHD_OPTION_NOTIFY_CONNECTION, on_connection, n,
        MHD_OPTION_END);
}

/* node_start: binds the node's port and starts its daemon. */
static int node_start(struct simhttp *h, struct node *n, char *err,
                      size_t errlen)
{
    int fd = listen_on(h, n, err, errlen);
    if (fd < 0)
        return -1;
    n->d = start_daemon(n, fd);
    if (!n->d) {
        if (fcntl(fd, F_GETFD) != -1) /* MHD may have closed it */
            close(fd);
        snprintf(err, errlen, "cannot start the HTTP daemon for port %u",
                 (unsigned)n->port);
        return -1;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(n->d, MHD_DAEMON_INFO_EPOLL_FD);
    struct epoll_event ev = {.events = EPOLLIN,
                             .data.u64 = (uint64_t)(n - h->nodes)};
    if (!info || epoll_ctl(h->ep, EPOLL_CTL_ADD, info->epoll_fd, &ev) < 0) {
        snprintf(err, errlen, "cannot watch the daemon for port %u: %s",
                 (unsigned)n->port, strerror(errno));
        MHD_stop_daemon(n->d);
        n->d = NULL;
        return -1;
    }
    n->epfd = info->epoll_fd;
    n->state = NODE_UP;
    return 0;
}

/* node_run: lets the daemon do what it can now; marks it pending when
 * it has work left that no event will announce. */
static void node_run(struct simhttp *h, struct node *n)
{
    MHD_UNSIGNED_LONG_LONG ms;
    if (!n->d)
        return;
    MHD_run(n->d);
    if (MHD_get_timeout(n->d, &ms) == MHD_YES && ms == 0)
        mark_pending(h, n);
}

/* node_quiesce: the start of down: no new connections; those open get
 * DOWN_GRACE to finish the answer in flight (a node may have taken
 * itself down), then node_stop(). */
static void node_quiesce(struct simhttp *h, struct node *n, double now)
{
    n->state = NODE_QUIESCED;
    MHD_socket fd = MHD_quiesce_daemon(n->d);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    n->stop_at = now + DOWN_GRACE;
    h->nquiesced++;
    resume_due(h, now); /* suspended connections of n end now */
    log_msg(LOG_INFO, "msg=\"node down\" cluster=%s node=%s port=%u",
            cluster_name(n), node_name(n), (unsigned)n->port);
}

/* node_stop: stops a quiesced node's daemon; nothing of it is suspended
 * (resume_due resumes every connection of a node that is not up). */
static void node_stop(struct simhttp *h, struct node *n)
{
    resume_due(h, now_mono());
    MHD_run(n->d); /* resumed connections see the node going down */
    epoll_ctl(h->ep, EPOLL_CTL_DEL, n->epfd, NULL);
    MHD_stop_daemon(n->d);
    n->d = NULL;
    n->epfd = -1;
    n->state = NODE_DOWN;
    h->nquiesced--;
}

/* node_restart: brings a down node back on its port; a failure is
 * logged once and retried every sweep. */
static void node_restart(struct simhttp *h, struct node *n)
{
    char err[160];
    if (n->state == NODE_QUIESCED)
        node_stop(h, n);
    if (node_start(h, n, err, sizeof(err)) < 0) {
        if (!n->start_failed)
            log_msg(LOG_WARN,
                    "msg=\"node restart failed\" cluster=%s "
                    "node=%s error=\"%s\"",
                    cluster_name(n), node_name(n), err);
        n->start_failed = true;
        return;
    }
    n->start_failed = false;
    log_msg(LOG_INFO, "msg=\"node up\" cluster=%s node=%s port=%u",
            cluster_name(n), node_name(n), (unsigned)n->port);
}

/* reconcile: makes the node's network presence match its down fault. */
static void reconcile(struct simhttp *h, struct node *n, double now)
{
    bool down = fault_on(n, SIM_FAULT_DOWN) || fault_on(n, SIM_FAULT_CRASH) ||
                fault_on(n, SIM_FAULT_API_DOWN);
    if (down && n->state == NODE_UP)
        node_quiesce(h, n, now);
    else if (!down && n->state != NODE_UP)
        node_restart(h, n);
}

/* --- the loop ---------------------------------------------------------- */

static void run_pending(struct simhttp *h)
{
    size_t n = h->npend;
    memcpy(h->work, h->pend, n * sizeof(*h->work));
    h->npend = 0;
    for (size_t i = 0; i < n; i++)
        h->nodes[h->work[i]].pending = false;
    for (size_t i = 0; i < n; i++)
        node_run(h, &h->nodes[h->work[i]]);
}

static void stop_quiesced(struct simhttp *h, double now)
{
    for (size_t i = 0; h->nquiesced > 0 && i < h->nnodes; i++) {
        struct node *n = &h->nodes[i];
        if (n->state == NODE_QUIESCED && now >= n->stop_at)
            node_stop(h, n);
    }
}

/* tick: the timed work, after each wake-up. */
static void tick(struct simhttp *h)
{
    double now = now_mono();
    bool sweep = now >= h->next_sweep;
    if (now >= h->next_step) {
        sim_step(h->s);
        h->next_step = now + STEP_EVERY;
    }
    if (sweep || sim_fault_generation(h->s) != h->fault_gen) {
        h->fault_gen = sim_fault_generation(h->s);
        for (size_t i = 0; i < h->nnodes; i++)
            reconcile(h, &h->nodes[i], now);
    }
    resume_due(h, now);
    stop_quiesced(h, now);
    if (sweep) {
        for (size_t i = 0; i < h->nnodes; i++)
            node_run(h, &h->nodes[i]);
        h->next_sweep = now + SWEEP_EVERY;
    }
    run_pending(h);
}

static int wait_ms(const struct simhttp *h)
{
    if (h->npend > 0)
        return 0;
    double ms = ceil((h->next_step - now_mono()) * 1000);
    if (ms < 0)
        return 0;
    return ms > 1000 * STEP_EVERY ? (int)(1000 * STEP_EVERY) : (int)ms;
}

static void dispatch(struct simhttp *h, const struct epoll_event *ev)
{
    if (ev->data.u64 == WAKE_TAG) {
        uint64_t v;
        if (read(h->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
            log_msg(LOG_WARN, "msg=\"eventfd read failed\" error=\"%s\"",
                    strerror(errno));
        h->stopping = true;
        return;
    }
    if (ev->data.u64 < h->nnodes)
        node_run(h, &h->nodes[ev->data.u64]);
}

int simhttp_run(struct simhttp *h, volatile sig_atomic_t *stop)
{
    struct epoll_event evs[MAX_EVENTS];
    h->stopping = false;
    while (!h->stopping && !(stop && *stop)) {
        int n = epoll_wait(h->ep, evs, MAX_EVENTS, wait_ms(h));
        if (n < 0 && errno != EINTR)
            return -errno;
        for (int i = 0; i < n; i++)
            dispatch(h, &evs[i]);
        tick(h);
    }
    return 0;
}

void simhttp_stop(struct simhttp *h)
{
    uint64_t one = 1;
    int saved = errno; /* callable from a signal handler */
    if (write(h->wake_fd, &one, sizeof(one)) < 0) {
        /* the counter is full: a stop is pending anyway */
    }
    errno = saved;
}

/* --- lifecycle --------------------------------------------------------- */

/* setup: the loop's fds and the nodes' table. */
static int setup(struct simhttp *h, unsigned port, char *err, size_t errlen)
{
    unsigned nodes = sim_nodes(h->s);
    h->nnodes = (size_t)sim_clusters(h->s) * nodes;
    if (port != 0 && port + h->nnodes - 1 > 65535) {
        snprintf(err, errlen, "ports %u.. leave no room for %zu nodes", port,
                 h->nnodes);
        return -1;
    }
    h->nodes = xcalloc(h->nnodes, sizeof(*h->nodes));
    h->pend = xcalloc(h->nnodes, sizeof(*h->pend));
    h->work = xcalloc(h->nnodes, sizeof(*h->work));
    for (size_t i = 0; i < h->nnodes; i++) {
        struct node *n = &h->nodes[i];
        *n = (struct node){.h = h,
                           .ci = (unsigned)(i / nodes),
                           .ni = (unsigned)(i % nodes),
                           .port = (uint16_t)(port ? port + i : 0),
                           .state = NODE_DOWN,
                           .epfd = -1};
    }
    h->ep = epoll_create1(EPOLL_CLOEXEC);
    h->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = WAKE_TAG};
    if (h->ep < 0 || h->wake_fd < 0 ||
        epoll_ctl(h->ep, EPOLL_CTL_ADD, h->wake_fd, &ev) < 0) {
        snprintf(err, errlen, "epoll: %s", strerror(errno));
        return -1;
    }
    return 0;
}

struct simhttp *simhttp_new(struct sim *s, const char *host, unsigned port,
                            char *err, size_t errlen)
{
    struct simhttp *h = xcalloc(1, sizeof(*h));
    h->s = s;
    h->ep = h->wake_fd = -1;
    h->rng = (uint64_t)time(NULL) ^ (uint64_t)getpid();
    if (simnet_resolve(host, &h->addr, &h->addrlen, h->url_host,
                       sizeof(h->url_host), err, errlen) < 0 ||
        setup(h, port, err, errlen) < 0)
        goto fail;
    for (size_t i = 0; i < h->nnodes; i++)
        if (node_start(h, &h->nodes[i], err, errlen) < 0)
            goto fail;
    h->fault_gen = sim_fault_generation(s);
    h->next_step = now_mono();
    h->next_sweep = h->next_step + SWEEP_EVERY;
    return h;
fail:
    simhttp_free(h);
    return NULL;
}

void simhttp_free(struct simhttp *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->nnodes; i++) {
        struct node *n = &h->nodes[i];
        if (n->state == NODE_UP) { /* its connections end in node_stop */
            n->state = NODE_QUIESCED;
            h->nquiesced++;
        }
        if (n->d)
            node_stop(h, n);
    }
    if (h->ep >= 0)
        close(h->ep);
    if (h->wake_fd >= 0)
        close(h->wake_fd);
    free(h->nodes);
    free(h->pend);
    free(h->work);
    free(h);
}

unsigned simhttp_port(const struct simhttp *h, unsigned ci, unsigned ni)
{
    return h->nodes[(size_t)ci * sim_nodes(h->s) + ni].port;
}

const char *simhttp_url(const struct simhttp *h, unsigned ci, unsigned ni,
                        char *out, size_t n)
{
    snprintf(out, n, "http://%s:%u", h->url_host, simhttp_port(h, ci, ni));
    return out;
}
