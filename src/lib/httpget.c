/* httpget.c: keep-alive GETs and JSON POSTs on the set's epoll
 * (httpget.h). */
#include "lib/httpget.h"

#include "lib/httpresp.h"
#include "lib/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define READ_BUFFER 65536
#define MAX_EVENTS  64
/* A POST reuses a kept connection only when it was idle less than this
 * (s): a server closes idle connections after its own timeout (5 s in
 * Apache, 30 s in the simulator), and a POST written as it does so is
 * lost (it is never repeated, see stale()). Heartbeats, every round at
 * the usual intervals, stay within it; rarer POSTs connect anew. */
#define POST_REUSE_IDLE 4.0

enum conn_state { C_IDLE, C_CONNECTING, C_SENDING, C_RECEIVING };

struct hlist {
    struct hget *head, *tail;
};

struct hget_set {
    int epfd;
    int busy;
    struct hlist running; /* by deadline, earliest first */
    struct hlist done;    /* finished, their callbacks not yet called */
    char *rbuf;           /* every slot's reads land here first */
};

struct hget {
    struct hget_set *s;
    size_t cap;
    int fd;            /* -1: no connection */
    uint32_t watching; /* fd's events in the epoll set (0: none) */
    enum conn_state st;
    struct sockaddr_storage peer, to; /* the connection's; the URL's */
    socklen_t peer_len, to_len;
    char *url, *extra; /* what req was built from */
    struct buf req;    /* the request's bytes, kept while url is */
    bool get_ready;    /* req is a GET of url with extra, to reuse */
    bool post;         /* the running request is a POST */
    size_t sent, got;  /* request bytes written, answer bytes read */
    struct buf in;     /* a partial line carried to the next read */
    struct buf body;
    struct httpresp resp;
    bool busy, reused;
    long connects;
    enum poll_outcome outcome; /* once on the done list */
    double start, deadline;
    double idle_since;  /* when the kept connection's last answer ended */
    struct hlist *list; /* running, done or NULL */
    struct hget *prev, *next;
    poll_done_fn fn;
    void *ctx;
    char err[160];
};

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void unlink_h(struct hget *h)
{
    struct hlist *l = h->list;
    if (!l)
        return;
    if (h->prev)
        h->prev->next = h->next;
    else
        l->head = h->next;
    if (h->next)
        h->next->prev = h->prev;
    else
        l->tail = h->prev;
    h->prev = h->next = NULL;
    h->list = NULL;
}

/* insert_by_deadline: from the tail, where a request with the usual
 * timeout belongs, so a round's inserts cost O(1) each. */
static void insert_by_deadline(struct hlist *l, struct hget *h)
{
    struct hget *at = l->tail;
    while (at && at->deadline > h->deadline)
        at = at->prev;
    h->prev = at;
    h->next = at ? at->next : l->head;
    if (h->next)
        h->next->prev = h;
    else
        l->tail = h;
    if (at)
        at->next = h;
    else
        l->head = h;
    h->list = l;
}

static void append(struct hlist *l, struct hget *h)
{
    h->prev = l->tail;
    h->next = NULL;
    if (l->tail)
        l->tail->next = h;
    else
        l->head = h;
    l->tail = h;
    h->list = l;
}

struct hget_set *hget_set_new(void)
{
    struct hget_set *s = xcalloc(1, sizeof(*s));
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s->epfd < 0)
        abort();
    s->rbuf = xmalloc(READ_BUFFER);
    return s;
}

void hget_set_free(struct hget_set *s)
{
    if (!s)
        return;
    close(s->epfd);
    free(s->rbuf);
    free(s);
}

int hget_set_fd(const struct hget_set *s)
{
    return s->epfd;
}

double hget_set_due(const struct hget_set *s)
{
    if (s->done.head)
        return 0;
    return s->running.head ? s->running.head->deadline : -1;
}

int hget_set_busy(const struct hget_set *s)
{
    return s->busy;
}

/* --- URLs and the request's bytes -------------------------------------- */

/* parse_url: url's address into *to and the start of its path into
 * *path ("" when absent); false when it is not one this client takes. */
static bool parse_url(const char *url, struct sockaddr_storage *to,
                      socklen_t *len, const char **path)
{
    if (strncmp(url, "http://", 7) != 0)
        return false;
    const char *host = url + 7, *end;
    char addr[64];
    bool v6 = *host == '[';
    end = v6 ? strchr(host, ']') : host + strcspn(host, ":/");
    if (!end || end == host || (size_t)(end - host) >= sizeof(addr))
        return false;
    memcpy(addr, host + v6, (size_t)(end - host - v6));
    addr[end - host - v6] = '\0';
    const char *p = end + v6;
    long port = 80;
    if (*p == ':') {
        char *q;
        port = strtol(p + 1, &q, 10);
        if (q == p + 1 || port < 1 || port > 65535 || (*q && *q != '/'))
            return false;
        p = q;
    }
    for (const char *c = p; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == '#' || (unsigned char)*c >= 0x7f)
            return false;
    memset(to, 0, sizeof(*to));
    struct sockaddr_in *a4 = (struct sockaddr_in *)to;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)to;
    if (!v6 && inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *len = sizeof(*a4);
    } else if (v6 && inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*a6);
    } else
        return false;
    *path = p;
    return true;
}

bool hget_url_ok(const char *url)
{
    struct sockaddr_storage to;
    socklen_t len;
    const char *path;
    return parse_url(url, &to, &len, &path);
}

/* prepare: the request's bytes for url, extra and json (NULL: a GET).
 * A GET's are kept and rebuilt only when url or extra changed; a POST's
 * body differs each time, so its bytes are built for each request. */
static bool prepare(struct hget *h, const char *url, const char *extra,
                    const char *json)
{
    const char *ex = extra ? extra : "";
    if (!json && h->get_ready && strcmp(h->url, url) == 0 &&
        strcmp(h->extra, ex) == 0)
        return true;
    const char *path;
    struct sockaddr_storage to;
    socklen_t to_len;
    if (!parse_url(url, &to, &to_len, &path))
        return false;
    h->to = to;
    h->to_len = to_len;
    free(h->url);
    free(h->extra);
    h->url = xstrdup(url);
    h->extra = xstrdup(ex);
    h->get_ready = !json;
    const char *host = url + 7;
    buf_reset(&h->req);
    buf_printf(&h->req,
               "%s %s HTTP/1.1\r\nHost: %.*s\r\n"
               "User-Agent: replguard/" PACKAGE_VERSION "\r\n"
               "Accept: */*\r\n",
               json ? "POST" : "GET", *path ? path : "/", (int)(path - host),
               host);
    size_t len = json ? strlen(json) : 0;
    if (json)
        buf_printf(&h->req,
                   "Content-Type: application/json\r\n"
                   "Content-Length: %zu\r\n",
                   len);
    if (*ex)
        buf_printf(&h->req, "%s\r\n", ex);
    buf_puts(&h->req, "\r\n");
    if (json)
        buf_append(&h->req, json, len);
    return true;
}

/* --- connections ------------------------------------------------------- */

/* watch: waits for events on the connection; no call when they are
 * those already watched (a kept connection waits for EPOLLIN while idle,
 * after its request is sent and after its answer: one epoll_ctl() less
 * each time, two a scrape). */
static void watch(struct hget *h, uint32_t events)
{
    if (h->watching == events)
        return;
    struct epoll_event ev = {.events = events, .data.ptr = h};
    epoll_ctl(h->s->epfd, EPOLL_CTL_MOD, h->fd, &ev);
    h->watching = events;
}

static void drop_conn(struct hget *h)
{
    if (h->fd < 0)
        return;
    epoll_ctl(h->s->epfd, EPOLL_CTL_DEL, h->fd, NULL);
    close(h->fd);
    h->fd = -1;
    h->watching = 0;
    h->st = C_IDLE;
}

static void addr_text(const struct sockaddr_storage *a, char *out, size_t size,
                      int *port)
{
    if (a->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)a;
        inet_ntop(AF_INET6, &a6->sin6_addr, out, (socklen_t)size);
        *port = ntohs(a6->sin6_port);
    } else {
        const struct sockaddr_in *a4 = (const struct sockaddr_in *)a;
        inet_ntop(AF_INET, &a4->sin_addr, out, (socklen_t)size);
        *port = ntohs(a4->sin_port);
    }
}

/* complete: ends the running request with outcome (error text: "what
 * ADDR port PORT: detail" when what is not NULL); its callback is called
 * from hget_set_run(). */
static void complete(struct hget *h, enum poll_outcome outcome,
                     const char *what, const char *detail)
{
    if (h->list != &h->s->running)
        return;
    unlink_h(h);
    h->outcome = outcome;
    if (what) {
        char a[INET6_ADDRSTRLEN];
        int port;
        addr_text(&h->to, a, sizeof(a), &port);
        snprintf(h->err, sizeof(h->err), "%s %s port %d: %s", what, a, port,
                 detail);
    } else
        h->err[0] = '\0';
    append(&h->s->done, h);
}

static void connect_failed(struct hget *h, int err)
{
    drop_conn(h);
    complete(h, POLL_CONNECT, "Failed to connect to", strerror(err));
}

static void send_some(struct hget *h);

/* open_conn: a new non-blocking connection to the URL's address. */
static void open_conn(struct hget *h)
{
    drop_conn(h);
    h->reused = false;
    h->connects++;
    h->fd =
        socket(h->to.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (h->fd < 0) {
        connect_failed(h, errno);
        return;
    }
    int one = 1;
    setsockopt(h->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(h->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    memcpy(&h->peer, &h->to, sizeof(h->peer));
    h->peer_len = h->to_len;
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = h};
    epoll_ctl(h->s->epfd, EPOLL_CTL_ADD, h->fd, &ev);
    h->watching = EPOLLOUT;
    if (connect(h->fd, (struct sockaddr *)&h->to, h->to_len) == 0) {
        h->st = C_SENDING;
        send_some(h);
    } else if (errno == EINPROGRESS)
        h->st = C_CONNECTING;
    else
        connect_failed(h, errno);
}

/* stale: a kept connection that turned out closed: retry once on a new
 * one (true), else false. A GET is safe to repeat as long as no byte of
 * the answer came. A POST is not (an action or a fenced write must not
 * run twice): once any byte of it was written it may have reached the
 * server, so it is retried only when the very first write failed. */
static bool stale(struct hget *h)
{
    if (!h->reused || h->got > 0 || (h->post && h->sent > 0))
        return false;
    h->sent = 0;
    open_conn(h);
    return true;
}

/* post_may_reuse: whether a POST may go on the idle kept connection: it
 * was idle less than POST_REUSE_IDLE and still looks open (no end of
 * stream, error or unasked bytes waiting). A POST is not retried once
 * written (stale()), so the server must not be about to close it; it
 * may still do so between this look and the write, and that POST then
 * fails. */
static bool post_may_reuse(struct hget *h, double now)
{
    if (now - h->idle_since >= POST_REUSE_IDLE)
        return false;
    char c;
    ssize_t n = recv(h->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

static void send_some(struct hget *h)
{
    while (h->sent < h->req.len) {
        ssize_t n = send(h->fd, h->req.data + h->sent, h->req.len - h->sent,
                         MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            watch(h, EPOLLOUT);
            return;
        }
        if (n < 0) {
            int err = errno;
            if (!stale(h))
                complete(h, POLL_CONNECT, "Send failure to", strerror(err));
            return;
        }
        h->sent += (size_t)n;
    }
    h->st = C_RECEIVING;
    watch(h, EPOLLIN);
}

/* --- answers ----------------------------------------------------------- */

/* answered: the parser's verdict on what has arrived. */
static void answered(struct hget *h, enum httpresp_rc rc, bool surplus)
{
    if (rc == HR_MORE)
        return;
    if (rc == HR_DONE) {
        bool ok = h->resp.status >= 200 && h->resp.status < 300;
        if (h->resp.close || surplus)
            drop_conn(h);
        else {
            h->st = C_IDLE;
            h->idle_since = mono_s();
            watch(h, EPOLLIN); /* readable while idle: the server closed */
        }
        complete(h, ok ? POLL_OK : POLL_HTTP_STATUS, NULL, NULL);
        return;
    }
    drop_conn(h);
    if (rc == HR_TOO_LARGE)
        complete(h, POLL_TOO_LARGE, NULL, NULL);
    else
        complete(h, POLL_CONNECT, "Invalid answer from", h->resp.error);
}

/* feed: n bytes just read at s->rbuf, after what was carried over. */
static void feed(struct hget *h, size_t n)
{
    const char *data = h->s->rbuf;
    size_t len = n, used;
    if (h->in.len) {
        if (buf_append(&h->in, data, n) < 0) {
            answered(h, HR_TOO_LARGE, false);
            return;
        }
        data = h->in.data;
        len = h->in.len;
    }
    enum httpresp_rc rc = httpresp_feed(&h->resp, data, len, &used);
    if (rc == HR_MORE && used < len) { /* a partial line: keep it */
        if (h->in.len)
            memmove(h->in.data, data + used, len - used);
        else
            buf_append(&h->in, data + used, len - used);
        h->in.len = len - used;
    } else
        buf_reset(&h->in);
    answered(h, rc, rc == HR_DONE && used < len);
}

static void receive(struct hget *h)
{
    for (;;) {
        ssize_t n = recv(h->fd, h->s->rbuf, READ_BUFFER, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            int err = n < 0 ? errno : 0;
            if (stale(h))
                return;
            if (err)
                complete(h, POLL_CONNECT, "Recv failure from", strerror(err));
            else
                answered(h, httpresp_eof(&h->resp), false);
            drop_conn(h);
            return;
        }
        h->got += (size_t)n;
        feed(h, (size_t)n);
        if (h->list != &h->s->running || n < READ_BUFFER)
            return;
    }
}

static void on_event(struct hget *h, uint32_t events)
{
    if (!h->busy || h->list != &h->s->running) {
        drop_conn(h); /* idle and readable: closed, or sent unasked bytes */
        return;
    }
    if (h->st == C_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        if (err) {
            connect_failed(h, err);
            return;
        }
        if (!(events & EPOLLOUT))
            return;
        h->st = C_SENDING;
    }
    if (h->st == C_SENDING)
        send_some(h);
    else if (h->st == C_RECEIVING)
        receive(h);
}

/* --- slots ------------------------------------------------------------- */

struct hget *hget_new(struct hget_set *s, size_t cap)
{
    struct hget *h = xcalloc(1, sizeof(*h));
    h->s = s;
    h->cap = cap;
    h->fd = -1;
    buf_init(&h->req, 0);
    buf_init(&h->in, HTTPRESP_MAX_LINE + READ_BUFFER + 2);
    buf_init(&h->body, cap);
    return h;
}

void hget_cancel(struct hget *h)
{
    if (h->busy) {
        unlink_h(h);
        h->busy = false;
        h->s->busy--;
        if (h->st != C_IDLE)
            drop_conn(h); /* half an answer may still arrive */
    }
    buf_free(&h->in);
    buf_free(&h->body);
}

void hget_free(struct hget *h)
{
    if (!h)
        return;
    hget_cancel(h);
    drop_conn(h);
    buf_free(&h->req);
    free(h->url);
    free(h->extra);
    free(h);
}

bool hget_busy(const struct hget *h)
{
    return h->busy;
}

/* conn_to: whether h holds a connection to addr. */
static bool conn_to(const struct hget *h, const struct sockaddr_storage *addr,
                    socklen_t len)
{
    return h->fd >= 0 && h->peer_len == len && memcmp(&h->peer, addr, len) == 0;
}

bool hget_lend(struct hget *from, struct hget *to)
{
    if (from == to || from->busy || to->busy || from->s != to->s ||
        from->fd < 0)
        return false;
    if (conn_to(to, &from->peer, from->peer_len))
        return false; /* it has its own */
    drop_conn(to);
    to->fd = from->fd;
    to->watching = 0; /* so watch() points the registration at `to` */
    to->st = C_IDLE;
    to->peer = from->peer;
    to->peer_len = from->peer_len;
    to->idle_since = from->idle_since;
    watch(to, from->watching);
    from->fd = -1;
    from->watching = 0;
    return true;
}

int hget_start(struct hget *h, const char *url, const char *extra,
               const char *json, double timeout, poll_done_fn fn, void *ctx)
{
    if (h->busy || !prepare(h, url, extra, json))
        return -1;
    h->post = json != NULL;
    h->busy = true;
    h->s->busy++;
    h->fn = fn;
    h->ctx = ctx;
    h->start = mono_s();
    h->deadline = h->start + (timeout > 0 ? timeout : 1);
    h->sent = h->got = 0;
    h->connects = 0;
    buf_reset(&h->body);
    buf_reset(&h->in);
    httpresp_init(&h->resp, &h->body, h->cap);
    insert_by_deadline(&h->s->running, h);
    bool same = conn_to(h, &h->to, h->to_len) &&
                (!h->post || post_may_reuse(h, h->start));
    if (!same)
        open_conn(h);
    else {
        h->reused = true;
        h->st = C_SENDING;
        send_some(h);
    }
    return 0;
}

/* --- the set's loop ---------------------------------------------------- */

static void expire(struct hget_set *s, double now)
{
    while (s->running.head && s->running.head->deadline <= now) {
        struct hget *h = s->running.head;
        long ms = (long)((now - h->start) * 1e3);
        drop_conn(h);
        complete(h, POLL_TIMEOUT, NULL, NULL);
        snprintf(h->err, sizeof(h->err),
                 "Operation timed out after %ld milliseconds with %zu bytes "
                 "received",
                 ms, h->body.len);
    }
}

/* deliver: calls back for each finished request. A callback may start
 * a new request on its slot or free any slot: each is taken off the
 * done list before its callback runs, and the body handed over is a
 * copy of the slot's buffer the callback cannot reset. */
static void deliver(struct hget_set *s, double now)
{
    struct hget *h;
    while ((h = s->done.head)) {
        unlink_h(h);
        h->busy = false;
        s->busy--;
        struct buf body = h->body;
        buf_init(&h->body, h->cap);
        buf_free(&h->in);
        struct poll_result res = {
            .outcome = h->outcome,
            .status = h->resp.status,
            .error = h->err[0] ? h->err : "",
            .body = body.data ? body.data : "",
            .len = body.len,
            .seconds = now - h->start,
            .connects = h->connects,
        };
        if (h->fn)
            h->fn(h->ctx, &res);
        buf_free(&body);
    }
}

void hget_set_run(struct hget_set *s)
{
    struct epoll_event ev[MAX_EVENTS];
    int n;
    do {
        n = epoll_wait(s->epfd, ev, MAX_EVENTS, 0);
        for (int i = 0; i < n; i++)
            on_event(ev[i].data.ptr, ev[i].events);
    } while (n == MAX_EVENTS);
    double now = mono_s();
    expire(s, now);
    deliver(s, now);
}
