/* pgreq.c: libpq request slots on one epoll set (see pgreq.h).
 *
 * A slot is idle, connecting (PQconnectPoll until PGRES_POLLING_OK) or
 * querying (a statement sent, results read as its socket turns
 * readable). Statements run one after another on the same connection;
 * the first, on a new connection or a new timeout, is replguard's own
 * SET statement_timeout, whose result is not the caller's. */
#include "lib/pgreq.h"

#include <errno.h>
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS         64
#define BACKOFF_MIN        0.05
#define BACKOFF_MAX        1.0
#define STATEMENT_SLACK_MS 100

enum state { IDLE, CONNECTING, QUERYING };

struct pgreq_set {
    int epfd;
    struct pgreq *head;
};

struct pgreq {
    struct pgreq_set *set;
    struct pgreq *prev, *next;
    PGconn *conn;
    enum state state;
    bool busy;       /* a request runs (or waits to be delivered) */
    int fd;          /* the socket in the epoll set, or -1 */
    char *conninfo;  /* of conn */
    char *sql;       /* the request's statements */
    size_t pos;      /* where the next statement starts in sql */
    bool internal;   /* the statement running is our SET */
    long timeout_ms; /* the connection's statement_timeout; 0: not set */
    long want_ms;    /* the request's */
    double started, deadline;
    bool pending; /* finished already: deliver at the next run */
    enum poll_outcome outcome;
    long status;
    char *error;
    struct buf body;
    size_t cap;
    bool too_large;
    long connects;
    int failures;
    double retry_at;
    char error_last[256]; /* the last connection failure's message */
    poll_done_fn fn;
    void *ctx;
};

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct pgreq_set *pgreq_set_new(void)
{
    struct pgreq_set *s = xcalloc(1, sizeof(*s));
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s->epfd < 0)
        abort();
    return s;
}

void pgreq_set_free(struct pgreq_set *s)
{
    if (!s)
        return;
    close(s->epfd);
    free(s);
}

int pgreq_set_fd(const struct pgreq_set *s)
{
    return s->epfd;
}

/* watch: waits for events on r's socket, which libpq may have changed
 * (a new connection, another host of the list): the old one leaves the
 * set (closed already, as often as not). */
static void watch(struct pgreq *r, uint32_t events)
{
    int fd = r->conn ? PQsocket(r->conn) : -1;
    if (r->fd >= 0 && r->fd != fd)
        epoll_ctl(r->set->epfd, EPOLL_CTL_DEL, r->fd, NULL);
    r->fd = fd;
    if (fd < 0)
        return;
    struct epoll_event ev = {.events = events, .data.ptr = r};
    if (epoll_ctl(r->set->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 && errno == ENOENT)
        epoll_ctl(r->set->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* drop: closes r's connection. */
static void drop(struct pgreq *r)
{
    if (r->fd >= 0)
        epoll_ctl(r->set->epfd, EPOLL_CTL_DEL, r->fd, NULL);
    r->fd = -1;
    PQfinish(r->conn);
    r->conn = NULL;
    r->timeout_ms = 0;
}

/* failed: a connection failure or timeout: drop, and back off. */
static void failed(struct pgreq *r)
{
    drop(r);
    r->failures++;
    double wait = 0;
    if (r->failures > 1) {
        wait = BACKOFF_MIN;
        for (int i = 2; i < r->failures && wait < BACKOFF_MAX; i++)
            wait *= 2;
        if (wait > BACKOFF_MAX)
            wait = BACKOFF_MAX;
    }
    r->retry_at = mono_s() + wait;
}

/* finish: marks r's request finished with this outcome, delivered at
 * the end of the run (never from inside pgreq_start). */
static void finish(struct pgreq *r, enum poll_outcome o, long status,
                   const char *error)
{
    r->pending = true;
    r->outcome = o;
    r->status = status;
    free(r->error);
    r->error = xstrdup(error ? error : "");
    r->error[strcspn(r->error, "\n")] = '\0'; /* libpq ends lines */
    r->state = IDLE;
    r->deadline = 0; /* due now */
}

static void conn_failed(struct pgreq *r)
{
    char msg[512];
    snprintf(msg, sizeof(msg), "%s",
             r->conn ? PQerrorMessage(r->conn) : "connection failed");
    failed(r);
    r->state = IDLE;
    finish(r, POLL_CONNECT, 0, msg);
}

/* next_stmt: the next non-blank statement of r->sql (up to a line
 * holding only ";" or the end), a heap string, or NULL when none is
 * left; advances r->pos. */
static char *next_stmt(struct pgreq *r)
{
    const char *sql = r->sql;
    while (sql[r->pos]) {
        size_t start = r->pos, end = start, p = start;
        for (;;) {
            size_t eol = p + strcspn(sql + p, "\n");
            size_t a = p, b = eol;
            while (a < b && (sql[a] == ' ' || sql[a] == '\t'))
                a++;
            while (b > a && (sql[b - 1] == ' ' || sql[b - 1] == '\t' ||
                             sql[b - 1] == '\r'))
                b--;
            bool sep = b == a + 1 && sql[a] == ';';
            end = sep ? p : eol;
            p = sql[eol] ? eol + 1 : eol;
            if (sep || !sql[eol])
                break;
        }
        r->pos = p;
        size_t k = start;
        while (k < end && strchr(" \t\r\n", sql[k]))
            k++;
        if (k < end)
            return xstrndup(sql + start, end - start);
    }
    return NULL;
}

/* send: sends text as one statement (extended protocol: one statement,
 * its own implicit transaction) and waits for its answer. */
static void send_text(struct pgreq *r, const char *text)
{
    if (!PQsendQueryParams(r->conn, text, 0, NULL, NULL, NULL, NULL, 0)) {
        conn_failed(r);
        return;
    }
    int rc = PQflush(r->conn);
    if (rc < 0) {
        conn_failed(r);
        return;
    }
    watch(r, rc ? EPOLLIN | EPOLLOUT : EPOLLIN);
}

/* send_next: the next statement, or the answer when none is left. */
static void send_next(struct pgreq *r)
{
    r->state = QUERYING;
    if (r->timeout_ms != r->want_ms) {
        char set[64];
        /* a backstop a little past our own deadline: the request
         * times out here first, on replguard's clock */
        snprintf(set, sizeof(set), "SET statement_timeout = %ld",
                 r->want_ms + STATEMENT_SLACK_MS);
        r->internal = true;
        r->timeout_ms = r->want_ms;
        send_text(r, set);
        return;
    }
    r->internal = false;
    char *stmt = next_stmt(r);
    if (!stmt) {
        r->state = IDLE;
        watch(r, EPOLLIN); /* a server closing the connection shows */
        finish(r, r->too_large ? POLL_TOO_LARGE : POLL_OK,
               r->too_large ? 0 : 200, r->too_large ? "answer too large" : "");
        return;
    }
    buf_reset(&r->body); /* the last statement's rows are the answer */
    send_text(r, stmt);
    free(stmt);
}

int pgreq_copy_value(struct buf *b, const char *v, size_t n)
{
    if (!v)
        return buf_append(b, "\\N", 2);
    int rc = 0;
    size_t run = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *esc = v[i] == '\\'   ? "\\\\"
                          : v[i] == '\t' ? "\\t"
                          : v[i] == '\n' ? "\\n"
                          : v[i] == '\r' ? "\\r"
                                         : NULL;
        if (!esc)
            continue;
        rc = buf_append(b, v + run, i - run);
        if (rc == 0)
            rc = buf_append(b, esc, 2);
        run = i + 1;
    }
    return rc ? rc : buf_append(b, v + run, n - run);
}

/* add_rows: res's rows into r's body, COPY text form. */
static void add_rows(struct pgreq *r, const PGresult *res)
{
    int rows = PQntuples(res), cols = PQnfields(res);
    for (int i = 0; i < rows && !r->too_large; i++) {
        int rc = 0;
        for (int j = 0; j < cols && rc == 0; j++) {
            if (j > 0)
                rc = buf_append(&r->body, "\t", 1);
            if (rc == 0)
                rc = pgreq_copy_value(
                    &r->body,
                    PQgetisnull(res, i, j) ? NULL : PQgetvalue(res, i, j),
                    (size_t)PQgetlength(res, i, j));
        }
        if (rc == 0)
            rc = buf_append(&r->body, "\n", 1);
        r->too_large = rc != 0;
    }
}

/* on_result: one result of the running statement; an error is kept in
 * r->error (the first one) until the statement's results end. */
static void on_result(struct pgreq *r, const PGresult *res)
{
    switch (PQresultStatus(res)) {
    case PGRES_TUPLES_OK:
        if (!r->internal)
            add_rows(r, res);
        break;
    case PGRES_COMMAND_OK:
    case PGRES_EMPTY_QUERY:
        break;
    default: {
        if (r->status)
            break;
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        r->status = state && strncmp(state, "RG", 2) == 0 ? 409 : 500;
        free(r->error);
        r->error = xstrdup(msg ? msg : PQresultErrorMessage(res));
        break;
    }
    }
}

/* drain: reads every result libpq has without blocking; at the end of
 * a statement's results, sends the next or finishes with its error. */
static void drain(struct pgreq *r)
{
    while (!PQisBusy(r->conn)) {
        PGresult *res = PQgetResult(r->conn);
        if (!res) {
            if (r->status) {
                char *msg = r->error;
                r->error = NULL;
                r->state = IDLE;
                finish(r, POLL_HTTP_STATUS, r->status, msg);
                free(msg);
            } else {
                send_next(r);
            }
            return;
        }
        on_result(r, res);
        PQclear(res);
    }
    watch(r, EPOLLIN);
}

/* step_connect: one PQconnectPoll on socket readiness. */
static void step_connect(struct pgreq *r)
{
    switch (PQconnectPoll(r->conn)) {
    case PGRES_POLLING_OK:
        r->failures = 0;
        if (PQsetnonblocking(r->conn, 1) != 0) {
            conn_failed(r);
            return;
        }
        send_next(r);
        break;
    case PGRES_POLLING_READING:
        watch(r, EPOLLIN);
        break;
    case PGRES_POLLING_WRITING:
        watch(r, EPOLLOUT);
        break;
    default:
        conn_failed(r);
        break;
    }
}

/* step: r's socket is ready (events). */
static void step(struct pgreq *r, uint32_t events)
{
    if (r->pending || !r->conn)
        return;
    if (r->state == CONNECTING) {
        step_connect(r);
        return;
    }
    if (r->state == IDLE) {
        /* nothing asked: the server closed or sent a notice */
        if (!PQconsumeInput(r->conn) || PQstatus(r->conn) != CONNECTION_OK)
            drop(r);
        return;
    }
    if ((events & EPOLLOUT) && PQflush(r->conn) < 0) {
        conn_failed(r);
        return;
    }
    if (!PQconsumeInput(r->conn)) {
        conn_failed(r);
        return;
    }
    drain(r);
}

/* connect: starts a connection to r->conninfo. */
static void connect_start(struct pgreq *r)
{
    r->conn = PQconnectStart(r->conninfo);
    if (!r->conn)
        abort(); /* out of memory */
    r->connects++;
    if (PQstatus(r->conn) == CONNECTION_BAD) {
        conn_failed(r);
        return;
    }
    r->state = CONNECTING;
    watch(r, EPOLLOUT);
}

int pgreq_start(struct pgreq *r, const char *conninfo, const char *sql,
                double timeout, poll_done_fn fn, void *ctx)
{
    if (r->busy)
        return -1;
    double now = mono_s();
    r->busy = true;
    r->fn = fn;
    r->ctx = ctx;
    r->started = now;
    r->want_ms = timeout > 0 ? (long)(timeout * 1000) : 1000;
    r->deadline = now + (double)r->want_ms / 1e3;
    r->pending = false;
    r->status = 0;
    r->too_large = false;
    r->connects = 0;
    free(r->error);
    r->error = NULL;
    free(r->sql);
    r->sql = xstrdup(sql ? sql : "");
    r->pos = 0;
    buf_free(&r->body);
    buf_init(&r->body, r->cap + 1); /* + its NUL */
    if (r->conn && (strcmp(r->conninfo, conninfo) != 0 ||
                    PQstatus(r->conn) != CONNECTION_OK))
        drop(r);
    if (!r->conn && now < r->retry_at) {
        finish(r, POLL_CONNECT, 0,
               r->error_last[0] ? r->error_last : "reconnect backoff");
        return 0;
    }
    if (!r->conn) {
        free(r->conninfo);
        r->conninfo = xstrdup(conninfo);
        connect_start(r);
    } else {
        send_next(r);
    }
    return 0;
}

struct pgreq *pgreq_new(struct pgreq_set *s, size_t body_cap)
{
    struct pgreq *r = xcalloc(1, sizeof(*r));
    r->set = s;
    r->fd = -1;
    r->cap = body_cap;
    buf_init(&r->body, body_cap);
    r->next = s->head;
    if (s->head)
        s->head->prev = r;
    s->head = r;
    return r;
}

void pgreq_cancel(struct pgreq *r)
{
    if (r->busy && !r->pending)
        drop(r); /* mid-answer: the connection is in no known state */
    r->busy = false;
    r->pending = false;
    r->state = IDLE;
    buf_free(&r->body);
}

void pgreq_free(struct pgreq *r)
{
    if (!r)
        return;
    drop(r);
    if (r->prev)
        r->prev->next = r->next;
    else
        r->set->head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    buf_free(&r->body);
    free(r->conninfo);
    free(r->sql);
    free(r->error);
    free(r);
}

bool pgreq_busy(const struct pgreq *r)
{
    return r->busy;
}

int pgreq_set_busy(const struct pgreq_set *s)
{
    int n = 0;
    for (const struct pgreq *r = s->head; r; r = r->next)
        n += r->busy;
    return n;
}

double pgreq_set_due(const struct pgreq_set *s)
{
    double due = -1;
    for (const struct pgreq *r = s->head; r; r = r->next)
        if (r->busy && (due < 0 || r->deadline < due))
            due = r->deadline;
    return due;
}

/* expire: ends r's request past its deadline: the connection is
 * dropped (see pgreq.h: no PQcancel), the server's statement_timeout
 * ends the query. */
static void expire(struct pgreq *r)
{
    char msg[96];
    snprintf(msg, sizeof(msg), "no answer within %.3fs%s",
             (double)r->want_ms / 1e3,
             r->state == CONNECTING ? " (connecting)" : "");
    failed(r);
    r->state = IDLE;
    finish(r, POLL_TIMEOUT, 0, msg);
}

/* deliver: calls back for r's finished request. The body and the error
 * are taken from r first: the callback may start r's next request. */
static void deliver(struct pgreq *r)
{
    if (r->outcome == POLL_CONNECT || r->outcome == POLL_TIMEOUT)
        snprintf(r->error_last, sizeof(r->error_last), "%s", r->error);
    if (r->outcome == POLL_OK && buf_append(&r->body, "", 1) == 0)
        r->body.len--; /* NUL-terminated, the NUL not counted */
    struct buf body = r->body;
    char *error = r->error;
    r->error = NULL;
    buf_init(&r->body, r->cap + 1);
    struct poll_result res = {
        .outcome = r->outcome,
        .status = r->status,
        .error = error ? error : "",
        .body = r->outcome == POLL_OK && body.data ? body.data : "",
        .len = r->outcome == POLL_OK ? body.len : 0,
        .seconds = mono_s() - r->started,
        .connects = r->connects,
    };
    r->busy = false;
    r->pending = false;
    if (r->fn)
        r->fn(r->ctx, &res);
    buf_free(&body);
    free(error);
}

void pgreq_set_run(struct pgreq_set *s)
{
    struct epoll_event ev[MAX_EVENTS];
    int n = epoll_wait(s->epfd, ev, MAX_EVENTS, 0);
    for (int i = 0; i < n; i++)
        step(ev[i].data.ptr, ev[i].events);
    double now = mono_s();
    for (struct pgreq *r = s->head; r;) {
        struct pgreq *next = r->next;
        if (r->busy && !r->pending && now >= r->deadline)
            expire(r);
        if (r->busy && r->pending)
            deliver(r);
        r = next;
    }
}
