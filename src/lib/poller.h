/* poller.h: asynchronous HTTP requests for the engine thread (libcurl
 * multi), and SQL ones to PostgreSQL (libpq, pgreq.h) on the same loop.
 *
 * A struct poll_req is a reusable request slot: it keeps its easy handle
 * (made on its first libcurl request) and a body buffer of fixed
 * capacity between requests, and the multi handle keeps connections
 * alive across them. Plain GETs and JSON POSTs to http:// URLs with an
 * IP address and no proxy go through the slot's own keep-alive client
 * instead (httpget.h), with the same results, except that such a POST
 * is never repeated once it may have reached the server (libcurl
 * retries a request whose reused connection turns out dropped). Completions are
 * delivered by poller_run(), on the thread that calls it; nothing here is
 * thread-safe except poller_wakeup(). */
#ifndef REPLGUARD_POLLER_H
#define REPLGUARD_POLLER_H

#include <stdbool.h>
#include <stddef.h>

struct poller;
struct poll_req;

enum poll_outcome {
    POLL_OK,          /* a complete answer with a 2xx status */
    POLL_TIMEOUT,     /* no complete answer within the timeout */
    POLL_CONNECT,     /* refused, reset, unresolvable or dropped */
    POLL_HTTP_STATUS, /* an answer with a status other than 2xx */
    POLL_TOO_LARGE,   /* the body exceeded the slot's capacity */
};

struct poll_result {
    enum poll_outcome outcome;
    long status;       /* HTTP status, 0 if none */
    const char *error; /* libcurl's message when not POLL_OK/HTTP_STATUS;
                          SQL: libpq's or the server's message */
    const char *body;  /* NUL-terminated; valid during the callback */
    size_t len;
    double seconds; /* from start to completion */
    long connects;  /* connections it opened: 0 when it reused one */
};

typedef void (*poll_done_fn)(void *ctx, const struct poll_result *r);

/* poller_global_init: initialises libcurl once per process, before any
 * thread starts. Returns 0 or -1. poller_global_cleanup: the reverse, at
 * exit. */
int poller_global_init(void);
void poller_global_cleanup(void);

/* poller_new: a multi handle. Free with poller_free(). */
struct poller *poller_new(void);
/* poller_set_proxy: the proxy every request from now on goes through
 * (a copy of url), or none when url is NULL. Without one, requests go
 * direct: http_proxy, https_proxy and ALL_PROXY in the environment are
 * ignored. */
void poller_set_proxy(struct poller *p, const char *url);
/* poller_free: aborts every request still running (their callbacks are
 * not called) and frees p; the slots must be freed first. NULL is a
 * no-op. */
void poller_free(struct poller *p);

/* poller_req_new: a request slot whose answers may be up to body_cap
 * bytes. Free with poller_req_free(), which aborts a running request
 * without calling back; NULL is a no-op. */
struct poll_req *poller_req_new(struct poller *p, size_t body_cap);
void poller_req_free(struct poll_req *r);
/* poller_req_cancel: aborts r's running request, if any, without
 * calling back; r is idle afterwards. */
void poller_req_cancel(struct poll_req *r);
/* poller_req_set_header: one extra header line ("Name: value", copied)
 * sent with r's requests from the next one on; NULL or "" removes it.
 * A no-op while r is busy (libcurl reads the running one's headers). */
void poller_req_set_header(struct poll_req *r, const char *line);
/* poller_req_lend: moves from's kept connection to `to` when both are
 * idle slots of one poller whose requests go through httpget.h and `to`
 * holds none to the same server (hget_lend()); returns whether it did.
 * A slot that asks a node now and then (a Merkle compare) borrows the
 * connection of the slot that scrapes it every round, and lends it back
 * when done. */
bool poller_req_lend(struct poll_req *from, struct poll_req *to);
/* poller_req_busy: whether r has a request running. */
bool poller_req_busy(const struct poll_req *r);

/* poller_get, poller_post_json: start a request on an idle slot; fn is
 * called once with the outcome from a later poller_run(). The url and
 * json are copied. Return 0, or -1 if the slot is busy or libcurl
 * refused the request (fn is not called then). */
int poller_get(struct poll_req *r, const char *url, double timeout,
               poll_done_fn fn, void *ctx);
int poller_post_json(struct poll_req *r, const char *url, const char *json,
                     double timeout, poll_done_fn fn, void *ctx);

/* poller_request: any method (GET, POST, PUT, DELETE, PATCH) with an
 * optional JSON body (NULL: none); returns as poller_get().
 * Method "SQL" is a PostgreSQL request (pgreq.h): url is a libpq
 * connection string, json the SQL text (statements separated by lines
 * holding only ";"); the slot keeps its connection between requests,
 * and the answer comes in the same struct poll_result: POLL_OK with
 * the last statement's rows in COPY text form, POLL_HTTP_STATUS 500
 * (409 for SQLSTATE class RG) with the server's message on an SQL
 * error. */
int poller_request(struct poll_req *r, const char *method, const char *url,
                   const char *json, double timeout, poll_done_fn fn,
                   void *ctx);

/* poller_run: waits up to timeout_ms for network activity (or a
 * wakeup), advances every transfer and calls back for each one that
 * finished. Returns the number still running. */
int poller_run(struct poller *p, int timeout_ms);
/* poller_wakeup: makes a poller_run() sleeping in another thread return
 * early. Safe from any thread. */
void poller_wakeup(struct poller *p);

#endif
