/* pgreq.h: SQL requests to PostgreSQL servers with libpq, non-blocking,
 * for the poller (poller.c hands requests whose method is "SQL" here;
 * use them through poller_request(), not directly).
 *
 * A struct pgreq is a request slot holding one connection, kept from
 * request to request; the set's epoll descriptor gathers the sockets of
 * all its slots, and the poller waits on it beside curl's sockets, so
 * no thread is spent per node. A request's text is one or more SQL
 * statements separated by lines holding only ";", sent one after
 * another, each in its own implicit transaction (so ALTER SYSTEM runs),
 * stopping at the first error.
 *
 * Answers come back as struct poll_result (poller.h):
 *   POLL_OK            status 200, body: the rows of the last statement
 *                      in COPY text form (tab between columns, newline
 *                      after each row, NULL as \N, \, tab, newline and
 *                      carriage return escaped as \\ \t \n \r)
 *   POLL_CONNECT       cannot connect, or the connection broke; error:
 *                      libpq's message (never the password)
 *   POLL_TIMEOUT       no answer within the timeout
 *   POLL_HTTP_STATUS   an SQL error: status 409 for SQLSTATE class RG
 *                      (raised by replguard's own SQL, RG409), else 500;
 *                      error: the server's message
 *   POLL_TOO_LARGE     the rows exceeded the slot's capacity
 *
 * Timeouts: PQcancel() blocks until the server closes the cancel
 * connection (libpq 15 has no non-blocking cancel), which a stopped
 * server never does, so a request past its timeout drops its
 * connection instead, and every connection runs with statement_timeout
 * 100 ms past the request timeout, so the server ends the query itself.
 * After a connection failure or a timeout the slot reconnects with
 * backoff: the next request tries at once, later ones wait 50 ms,
 * doubling up to 1 s (a request inside the wait fails at once with the
 * last error). */
#ifndef REPLGUARD_PGREQ_H
#define REPLGUARD_PGREQ_H

#include "lib/poller.h"
#include "lib/util.h"

#include <stdbool.h>
#include <stddef.h>

struct pgreq_set;
struct pgreq;

/* pgreq_set_new: an empty set; free with pgreq_set_free() after its
 * slots. NULL is a no-op for free. */
struct pgreq_set *pgreq_set_new(void);
void pgreq_set_free(struct pgreq_set *s);
/* pgreq_set_fd: a descriptor that polls readable when a slot's socket is
 * ready; the caller then calls pgreq_set_run(). */
int pgreq_set_fd(const struct pgreq_set *s);
/* pgreq_set_due: the monotonic time (seconds, clock_gettime) at which
 * pgreq_set_run() must run next to end a timeout or deliver an answer
 * known already; < 0: none. */
double pgreq_set_due(const struct pgreq_set *s);
/* pgreq_set_busy: how many slots of s have a request running. */
int pgreq_set_busy(const struct pgreq_set *s);
/* pgreq_set_run: advances every slot whose socket is ready, ends those
 * past their timeout, and calls back each that finished. */
void pgreq_set_run(struct pgreq_set *s);

/* pgreq_new: an idle slot in s whose answers may be up to body_cap
 * bytes. pgreq_free: closes its connection (a running request ends
 * without calling back); NULL is a no-op. */
struct pgreq *pgreq_new(struct pgreq_set *s, size_t body_cap);
void pgreq_free(struct pgreq *r);
/* pgreq_cancel: ends r's running request without calling back, and
 * drops its connection (it may be mid-answer). */
void pgreq_cancel(struct pgreq *r);
/* pgreq_busy: whether r has a request running. */
bool pgreq_busy(const struct pgreq *r);

/* pgreq_start: runs sql on the server of conninfo (a libpq connection
 * string; copied, and compared with the slot's connection's: a new one
 * reconnects); fn is called once from a later pgreq_set_run(). Returns
 * 0, or -1 when r is busy (fn is not called then). */
int pgreq_start(struct pgreq *r, const char *conninfo, const char *sql,
                double timeout, poll_done_fn fn, void *ctx);

/* pgreq_copy_value: appends v (n bytes) to b escaped as a COPY text
 * value; NULL v appends \N. Returns buf_append()'s result. */
int pgreq_copy_value(struct buf *b, const char *v, size_t n);

#endif
