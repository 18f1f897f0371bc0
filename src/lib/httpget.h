/* httpget.h: the poller's own HTTP/1.1 client, for scrapes, heartbeats
 * and compares (poller.c hands plain GETs and JSON POSTs to http:// URLs
 * with a numeric host here when no proxy is set; use it through
 * poller_get() and poller_post_json(), not directly).
 *
 * Why not libcurl for these: a scrape is the same small GET to the same
 * node every round, and libcurl spends about 100,000 instructions per
 * request on URL parsing, header formatting and connection bookkeeping;
 * this client keeps the request's bytes and the connection per slot and
 * costs a write(), a read() and the response parser (httpresp.h).
 *
 * A struct hget is a slot with at most one connection, kept alive from
 * request to request while the server allows (a different address
 * closes it first). A kept connection the server closed meanwhile is
 * noticed when it polls readable while idle, or when the next request
 * gets no byte back: a GET then retries once on a new one. A POST is
 * never repeated once any byte of it was written (it may have reached
 * the server, and actions are not idempotent): it takes a kept
 * connection only when that was idle under 4 s and still looks open
 * (else it opens a new one), and retries on a new one only when its
 * first write fails; otherwise a dropped connection is its failure.
 * Outcomes are poller.h's: POLL_OK, POLL_HTTP_STATUS (with the body),
 * POLL_TIMEOUT (the whole request, connect included, within the
 * timeout), POLL_CONNECT (refused, reset, closed early, or an answer
 * that is not valid HTTP/1.x), POLL_TOO_LARGE (body over the cap);
 * connects counts the connections the request opened. Callbacks run
 * from hget_set_run() only, never from hget_start(). */
#ifndef REPLGUARD_HTTPGET_H
#define REPLGUARD_HTTPGET_H

#include "lib/poller.h"

#include <stdbool.h>
#include <stddef.h>

struct hget_set;
struct hget;

/* hget_set_new: an empty set with its own epoll descriptor; free with
 * hget_set_free() after its slots (NULL: no-op). */
struct hget_set *hget_set_new(void);
void hget_set_free(struct hget_set *s);
/* hget_set_fd: polls readable when one of the set's sockets is ready. */
int hget_set_fd(const struct hget_set *s);
/* hget_set_due: the monotonic time (s) by which hget_set_run() must run
 * (a timeout, or an outcome known already); < 0: none. */
double hget_set_due(const struct hget_set *s);
/* hget_set_busy: how many slots have a request running. */
int hget_set_busy(const struct hget_set *s);
/* hget_set_run: advances the slots whose sockets are ready, ends the
 * requests past their timeout, and calls back for every request that
 * finished. */
void hget_set_run(struct hget_set *s);

/* hget_url_ok: whether url is one this client takes: "http://" with an
 * IPv4 or bracketed IPv6 address, an optional port and path, nothing
 * that needs resolving or escaping. */
bool hget_url_ok(const char *url);

/* hget_new: a slot whose answers' bodies may be up to cap bytes; free
 * with hget_free(), which drops a running request without calling back
 * (NULL: no-op). hget_cancel(): the same, keeping the slot. */
struct hget *hget_new(struct hget_set *s, size_t cap);
void hget_free(struct hget *h);
void hget_cancel(struct hget *h);
bool hget_busy(const struct hget *h);

/* hget_lend: moves from's kept connection to `to` when both are idle
 * slots of one set and `to` holds none to the same server (its own, to
 * another, is closed), so that a slot that asks a server now and then
 * can borrow the connection of one that asks it every round, and give
 * it back, instead of connecting anew each time. Returns whether it
 * moved one. */
bool hget_lend(struct hget *from, struct hget *to);

/* hget_start: GETs url (hget_url_ok() must hold), or POSTs json to it
 * (Content-Type: application/json) when json is not NULL, with extra
 * ("Name: value" or NULL) as one more header line; fn is called once
 * from a later hget_set_run(). Returns 0, or -1 when h is busy or url
 * is not one it takes. */
int hget_start(struct hget *h, const char *url, const char *extra,
               const char *json, double timeout, poll_done_fn fn, void *ctx);

#endif
