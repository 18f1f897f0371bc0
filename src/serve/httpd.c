/* httpd.c: the daemon serving replguard's endpoints (SPEC section 4):
 * libmicrohttpd started and stopped, its limits, the connection table's
 * header deadline and shedding, and the request framing checks. What a
 * request is answered is routes.c's; who may POST, httpauth.c's.
 *
 * libmicrohttpd's timeout is an idle one: a client trickling a header
 * byte every few seconds would hold its connection forever. So every
 * connection is on a list with the time its current request began (its
 * start, or the end of the previous reply); a reaper thread shuts down,
 * once a second, those whose headers are not complete header_timeout
 * later, and libmicrohttpd closes them as it would a dropped peer. */
#include "serve/httpd.h"

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

#include <microhttpd.h>

#include "lib/log.h"
#include "serve/routes.h"
#include "lib/util.h"

#define DEFAULT_HOST        "127.0.0.1"
#define DEFAULT_THREADS     2
#define DEFAULT_TIMEOUT     10
#define DEFAULT_HEADER_TIME 15
#define DEFAULT_CONNECTIONS 1024 /* fewer when RLIMIT_NOFILE is lower */
#define FDS_RESERVED        256  /* descriptors kept for all but clients */
#define SHED_GRACE          0.5  /* seconds a new request's headers may take */
#define DEFAULT_PER_IP      64
#define DEFAULT_CONN_MEMORY (64 * 1024)

/* A connection on the reaper's list (its MHD socket context). */
struct conn_clock {
    struct conn_clock *prev, *next;
    int fd;
    double since;           /* when its current request began */
    bool in_headers;        /* the request's headers are not complete yet */
    bool nul;               /* its path or query decoded to a NUL byte */
    bool cut;               /* shut down by the reaper, not closed yet */
    unsigned char addr[16]; /* the client's address (IPv4 in 4 bytes) */
};

struct httpd {
    struct MHD_Daemon *d;
    struct routes *routes; /* what each request is answered */
    unsigned port;
    char host[NI_MAXHOST];
    /* While MHD_start_daemon() runs, its first error message is kept
     * here so httpd_start() can say why it failed. */
    pthread_mutex_t log_mu;
    bool starting;
    char start_err[256];
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
};

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- the header deadline ------------------------------------------------ */

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

/* --- request framing ---------------------------------------------------- */

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

/* on_request: the access handler; the request's headers are complete.
 * Its framing is checked on its first call, then the routes answer. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    struct httpd *h = cls;
    headers_done(h, conn);
    struct routes_call c = {.conn = conn,
                            .url = url,
                            .method = method,
                            .upload = upload,
                            .upload_size = upload_size,
                            .con_cls = con_cls};
    if (!*con_cls)
        c.bad_framing = framing_error(conn, version);
    return routes_answer(h->routes, &c);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode tc)
{
    next_request(cls, conn);
    routes_completed(con_cls);
}

/* --- the daemon --------------------------------------------------------- */

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
    h->routes = routes_new(box, o->rem, o->token);
    snprintf(h->host, sizeof(h->host), "%s", host);
    pthread_mutex_init(&h->log_mu, NULL);
    reaper_init(h, or_default(o->header_timeout, DEFAULT_HEADER_TIME));
    h->max_conns = o->max_connections ? o->max_connections
                                      : connection_limit(DEFAULT_CONNECTIONS);
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
    routes_drain(h->routes);
    if (h->d) {
        MHD_stop_daemon(h->d);
        char q[NI_MAXHOST + 8];
        log_msg(LOG_INFO, "msg=\"http server stopped\" host=%s port=%u",
                log_quote(q, sizeof(q), h->host), h->port);
    }
    pthread_mutex_destroy(&h->log_mu);
    pthread_mutex_destroy(&h->conns_mu);
    pthread_cond_destroy(&h->conns_cv);
    routes_free(h->routes);
    free(h);
}
