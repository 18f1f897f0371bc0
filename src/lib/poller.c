/* poller.c: request slots over one libcurl multi handle.
 *
 * The multi handle is driven by its socket interface: libcurl tells us
 * which sockets to watch (on_socket) and when its next timeout is due
 * (on_timer); poller_run() waits on an epoll set and hands libcurl only
 * the sockets that are ready. curl_multi_poll()/curl_multi_perform()
 * would instead walk every transfer and every socket on each wakeup,
 * which at 1,000 nodes is a thousand-fold work per answer received. */
#include "lib/poller.h"

#include "lib/httpget.h"
#include "lib/pgreq.h"
#include "lib/util.h"

#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define RECV_BUFFER 4096
#define MAX_EVENTS  64

struct poller {
    CURLM *multi;
    int epfd, wakefd; /* the watched sockets; poller_wakeup()'s eventfd */
    double timer_due; /* libcurl's next timeout, monotonic s; < 0: none */
    int running;
    bool own_gets;         /* plain GETs through httpget.h, not libcurl */
    bool own_posts;        /* and JSON POSTs */
    long slots, max_slots; /* request slots alive, and the most ever */
    char *proxy;           /* NULL: none (the environment's is ignored) */
    unsigned proxy_gen;    /* bumped by each poller_set_proxy() */
    struct pgreq_set *pg;  /* SQL requests' connections, made on demand */
    struct hget_set *hg;   /* scrapes' own client (httpget.h) */
};

struct poll_req {
    struct poller *p;
    CURL *easy; /* NULL until its first libcurl request */
    struct buf body;
    size_t cap;
    bool busy, too_large;
    char *url, *json;
    long timeout_ms;                /* the one libcurl has; 0: none yet */
    unsigned proxy_gen;             /* the poller's when libcurl got it */
    struct curl_slist *headers;     /* with a body: Content-Type, extra */
    struct curl_slist *get_headers; /* without: the extra line or NULL */
    poll_done_fn fn;
    void *ctx;
    char errbuf[CURL_ERROR_SIZE];
    struct pgreq *sql; /* method "SQL": its libpq slot, made on demand */
    struct hget *get;  /* plain GETs (httpget.h), made on demand */
    char *extra;       /* the extra header line, or NULL */
};

int poller_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void poller_global_cleanup(void)
{
    curl_global_cleanup();
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* watch: makes the epoll set wait for events on fd (0: stop watching).
 * libcurl may reuse a socket number it never told us it closed, so an
 * add that finds fd present modifies it and vice versa. */
static void watch(struct poller *p, int fd, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.fd = fd};
    if (events == 0) {
        epoll_ctl(p->epfd, EPOLL_CTL_DEL, fd, NULL);
        return;
    }
    if (epoll_ctl(p->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 && errno == ENOENT)
        epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *ctx,
                     void *sockp)
{
    static const uint32_t events[] = {
        [CURL_POLL_NONE] = 0,       [CURL_POLL_IN] = EPOLLIN,
        [CURL_POLL_OUT] = EPOLLOUT, [CURL_POLL_INOUT] = EPOLLIN | EPOLLOUT,
        [CURL_POLL_REMOVE] = 0,
    };
    (void)easy;
    (void)sockp;
    if (what >= 0 && (size_t)what < ARRAY_LEN(events))
        watch(ctx, fd, events[what]);
    return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *ctx)
{
    struct poller *p = ctx;
    (void)multi;
    p->timer_due = timeout_ms < 0 ? -1 : mono_s() + (double)timeout_ms / 1e3;
    return 0;
}

struct poller *poller_new(void)
{
    struct poller *p = xcalloc(1, sizeof(*p));
    p->multi = curl_multi_init();
    p->epfd = epoll_create1(EPOLL_CLOEXEC);
    p->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!p->multi || p->epfd < 0 || p->wakefd < 0)
        abort();
    p->timer_due = -1;
    watch(p, p->wakefd, EPOLLIN);
    p->hg = hget_set_new();
    /* REPLGUARD_CURL_GETS=1: every request through libcurl, and
     * REPLGUARD_CURL_POSTS=1: every POST, to compare */
    const char *env = getenv("REPLGUARD_CURL_GETS");
    p->own_gets = !(env && strcmp(env, "1") == 0);
    env = getenv("REPLGUARD_CURL_POSTS");
    p->own_posts = p->own_gets && !(env && strcmp(env, "1") == 0);
    watch(p, hget_set_fd(p->hg), EPOLLIN);
    curl_multi_setopt(p->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(p->multi, CURLMOPT_SOCKETDATA, p);
    curl_multi_setopt(p->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(p->multi, CURLMOPT_TIMERDATA, p);
    /* no per-host connection limit: a scrape must never queue behind
     * a Merkle compare's requests to the same node (its timeout runs
     * while it waits), so a compare in a round opens its own connection */
    return p;
}

void poller_free(struct poller *p)
{
    if (!p)
        return;
    curl_multi_cleanup(p->multi);
    pgreq_set_free(p->pg);
    hget_set_free(p->hg);
    close(p->epfd);
    close(p->wakefd);
    free(p->proxy);
    free(p);
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    struct poll_req *r = ctx;
    size_t len = size * n;
    if (r->body.len + len > r->cap || buf_append(&r->body, data, len) < 0) {
        r->too_large = true;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    return len;
}

/* keep_connections: sizes the connection cache to the most slots there
 * ever were. libcurl's default keeps 4 per easy handle *attached*; a slot
 * is attached only while its request runs, so at the end of a round the
 * cache shrank to a handful and every round reconnected to most nodes.
 * It never shrinks: short-lived slots (Merkle compares) would otherwise
 * trim it each time they go, closing some node's connection. */
static void keep_connections(struct poller *p, long delta)
{
    p->slots += delta;
    if (p->slots > p->max_slots) {
        p->max_slots = p->slots;
        curl_multi_setopt(p->multi, CURLMOPT_MAXCONNECTS, p->max_slots);
    }
}

void poller_set_proxy(struct poller *p, const char *url)
{
    free(p->proxy);
    p->proxy = url ? xstrdup(url) : NULL;
    p->proxy_gen++;
}

/* set_constant_options: what every request of the slot shares, set
 * once: each curl_easy_setopt() costs a call and often a copy, and a
 * round at 1,000 nodes starts 1,250 requests. */
static void set_constant_options(struct poll_req *r)
{
    CURL *e = r->easy;
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "replguard/" PACKAGE_VERSION);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->cap);
    /* "" disables proxies, http_proxy and friends in the environment too */
    curl_easy_setopt(e, CURLOPT_PROXY, "");
}

/* easy_of: r's libcurl handle, made on its first libcurl request: a
 * node's slot that only scrapes (through httpget) never needs one, and
 * at 1,000 nodes the handles were megabytes. */
static CURL *easy_of(struct poll_req *r)
{
    if (r->easy)
        return r->easy;
    r->easy = curl_easy_init();
    if (!r->easy)
        abort();
    /* node answers are a few KiB: libcurl's 16 KiB default receive
     * buffer per handle would be most of replguard's memory at 1,000
     * nodes */
    curl_easy_setopt(r->easy, CURLOPT_BUFFERSIZE, (long)RECV_BUFFER);
    set_constant_options(r);
    return r->easy;
}

struct poll_req *poller_req_new(struct poller *p, size_t body_cap)
{
    struct poll_req *r = xcalloc(1, sizeof(*r));
    r->p = p;
    r->cap = body_cap;
    buf_init(&r->body, body_cap);
    r->headers = curl_slist_append(NULL, "Content-Type: application/json");
    keep_connections(p, 1);
    return r;
}

static void detach(struct poll_req *r)
{
    if (r->busy)
        curl_multi_remove_handle(r->p->multi, r->easy);
    r->busy = false;
}

void poller_req_free(struct poll_req *r)
{
    if (!r)
        return;
    detach(r);
    pgreq_free(r->sql);
    hget_free(r->get);
    free(r->extra);
    keep_connections(r->p, -1);
    curl_easy_cleanup(r->easy); /* NULL: none was made */
    curl_slist_free_all(r->headers);
    curl_slist_free_all(r->get_headers);
    buf_free(&r->body);
    free(r->url);
    free(r->json);
    free(r);
}

void poller_req_cancel(struct poll_req *r)
{
    if (r->sql)
        pgreq_cancel(r->sql);
    if (r->get)
        hget_cancel(r->get);
    detach(r);
    buf_free(&r->body);
}

void poller_req_set_header(struct poll_req *r, const char *line)
{
    if (r->busy)
        return;
    curl_slist_free_all(r->headers);
    curl_slist_free_all(r->get_headers);
    r->headers = curl_slist_append(NULL, "Content-Type: application/json");
    r->get_headers = NULL;
    free(r->extra);
    r->extra = line && *line ? xstrdup(line) : NULL;
    if (line && *line) {
        r->headers = curl_slist_append(r->headers, line);
        r->get_headers = curl_slist_append(NULL, line);
    }
}

bool poller_req_busy(const struct poll_req *r)
{
    return r->busy || (r->sql && pgreq_busy(r->sql)) ||
           (r->get && hget_busy(r->get));
}

/* get_of: r's own-client slot (httpget.h), made on first use. */
static struct hget *get_of(struct poll_req *r)
{
    if (!r->get)
        r->get = hget_new(r->p->hg, r->cap);
    return r->get;
}

bool poller_req_lend(struct poll_req *from, struct poll_req *to)
{
    if (from->p != to->p || !from->get || poller_req_busy(from) ||
        poller_req_busy(to))
        return false;
    return hget_lend(from->get, get_of(to));
}

/* set_changed: the options that may differ from the slot's previous
 * request (URL, timeout, proxy), set only when they do. */
static void set_changed(struct poll_req *r, const char *url, long ms)
{
    CURL *e = r->easy;
    if (!r->url || strcmp(r->url, url) != 0) {
        free(r->url);
        r->url = xstrdup(url);
        curl_easy_setopt(e, CURLOPT_URL, r->url);
    }
    if (ms != r->timeout_ms) {
        r->timeout_ms = ms;
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ms);
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, ms);
    }
    if (r->proxy_gen != r->p->proxy_gen) {
        r->proxy_gen = r->p->proxy_gen;
        curl_easy_setopt(e, CURLOPT_PROXY, r->p->proxy ? r->p->proxy : "");
    }
}

static int start(struct poll_req *r, const char *url, double timeout,
                 poll_done_fn fn, void *ctx)
{
    if (r->busy)
        return -1;
    long ms = timeout > 0 ? (long)(timeout * 1000) : 1000;
    set_changed(r, url, ms > 0 ? ms : 1);
    buf_reset(&r->body);
    r->too_large = false;
    r->errbuf[0] = '\0';
    r->fn = fn;
    r->ctx = ctx;
    if (curl_multi_add_handle(r->p->multi, r->easy) != CURLM_OK)
        return -1;
    r->busy = true;
    return 0;
}

/* sql_request: method "SQL": url is a libpq conninfo, json the SQL. */
static int sql_request(struct poll_req *r, const char *conninfo,
                       const char *sql, double timeout, poll_done_fn fn,
                       void *ctx)
{
    struct poller *p = r->p;
    if (!p->pg) {
        p->pg = pgreq_set_new();
        watch(p, pgreq_set_fd(p->pg), EPOLLIN);
    }
    if (!r->sql)
        r->sql = pgreq_new(p->pg, r->cap);
    return pgreq_start(r->sql, conninfo, sql, timeout, fn, ctx);
}

/* own_client: whether a request of method (with json or not) goes
 * through httpget.h when its URL is one it takes: a plain GET, or a
 * POST with a JSON body, without a proxy. */
static bool own_client(const struct poller *p, const char *method,
                       const char *json)
{
    if (p->proxy)
        return false;
    if (!json)
        return p->own_gets && strcmp(method, "GET") == 0;
    return p->own_posts && strcmp(method, "POST") == 0;
}

int poller_request(struct poll_req *r, const char *method, const char *url,
                   const char *json, double timeout, poll_done_fn fn, void *ctx)
{
    if (poller_req_busy(r))
        return -1;
    if (strcmp(method, "SQL") == 0)
        return sql_request(r, url, json, timeout, fn, ctx);
    if (own_client(r->p, method, json) && hget_url_ok(url))
        return hget_start(get_of(r), url, r->extra, json, timeout, fn, ctx);
    CURL *e = easy_of(r);
    if (json) {
        free(r->json);
        r->json = xstrdup(json);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->json);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(r->json));
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->get_headers);
    }
    bool plain = strcmp(method, json ? "POST" : "GET") == 0;
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, plain ? NULL : method);
    return start(r, url, timeout, fn, ctx);
}

int poller_get(struct poll_req *r, const char *url, double timeout,
               poll_done_fn fn, void *ctx)
{
    return poller_request(r, "GET", url, NULL, timeout, fn, ctx);
}

int poller_post_json(struct poll_req *r, const char *url, const char *json,
                     double timeout, poll_done_fn fn, void *ctx)
{
    return poller_request(r, "POST", url, json, timeout, fn, ctx);
}

static enum poll_outcome classify(const struct poll_req *r, CURLcode rc,
                                  long status)
{
    if (r->too_large || rc == CURLE_FILESIZE_EXCEEDED)
        return POLL_TOO_LARGE;
    switch (rc) {
    case CURLE_OK:
        return status >= 200 && status < 300 ? POLL_OK : POLL_HTTP_STATUS;
    case CURLE_OPERATION_TIMEDOUT:
        return POLL_TIMEOUT;
    default:
        return POLL_CONNECT;
    }
}

static void finish(struct poll_req *r, CURLcode rc)
{
    long status = 0, connects = 0;
    double secs = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME, &secs);
    curl_easy_getinfo(r->easy, CURLINFO_NUM_CONNECTS, &connects);
    detach(r);
    struct poll_result res = {
        .outcome = classify(r, rc, status),
        .status = status,
        .error = r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc),
        .body = r->body.data ? r->body.data : "",
        .len = r->body.len,
        .seconds = secs,
        .connects = connects,
    };
    if (r->fn)
        r->fn(r->ctx, &res);
    /* answers are parsed as they complete, so only the transfers still
     * running hold a body buffer: at 1,000 nodes that is a handful, not
     * a thousand */
    buf_free(&r->body);
}

/* wait_ms: timeout_ms, or less when libcurl's timeout is due sooner. */
static int wait_ms(const struct poller *p, int timeout_ms)
{
    int ms = timeout_ms < 0 ? 0 : timeout_ms;
    double dues[3] = {p->timer_due, p->pg ? pgreq_set_due(p->pg) : -1,
                      hget_set_due(p->hg)};
    for (int i = 0; i < 3; i++) {
        if (dues[i] < 0)
            continue;
        double due = ceil((dues[i] - mono_s()) * 1e3);
        if (due < ms)
            ms = due > 0 ? (int)due : 0;
    }
    return ms;
}

/* pending: requests still running, curl's and SQL ones. */
static int pending(const struct poller *p)
{
    return p->running + (p->pg ? pgreq_set_busy(p->pg) : 0) +
           hget_set_busy(p->hg);
}

int poller_run(struct poller *p, int timeout_ms)
{
    struct epoll_event ev[MAX_EVENTS];
    int n = epoll_wait(p->epfd, ev, MAX_EVENTS, wait_ms(p, timeout_ms));
    for (int i = 0; i < n; i++) {
        int fd = ev[i].data.fd;
        if (fd == p->wakefd) {
            uint64_t count;
            ssize_t rc = read(fd, &count, sizeof(count)); /* resets it */
            (void)rc; /* EAGAIN: nothing to reset */
            continue;
        }
        if ((p->pg && fd == pgreq_set_fd(p->pg)) || fd == hget_set_fd(p->hg))
            continue; /* run below, with their timeouts */
        int flags =
            (ev[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
            (ev[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
            (ev[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
        curl_multi_socket_action(p->multi, fd, flags, &p->running);
    }
    if (p->timer_due >= 0 && mono_s() >= p->timer_due) {
        p->timer_due = -1;
        curl_multi_socket_action(p->multi, CURL_SOCKET_TIMEOUT, 0, &p->running);
    }
    if (p->pg)
        pgreq_set_run(p->pg);
    hget_set_run(p->hg);
    CURLMsg *msg;
    int left;
    for (;;) {
        msg = curl_multi_info_read(p->multi, &left);
        if (!msg)
            break;
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct poll_req *r = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        if (r)
            finish(r, msg->data.result);
    }
    return pending(p);
}

void poller_wakeup(struct poller *p)
{
    uint64_t one = 1;
    ssize_t rc = write(p->wakefd, &one, sizeof(one));
    (void)rc; /* fails only when full: a wakeup is pending anyway */
}
