/* routes.h: what replguard answers on each path (SPEC section 4):
 * /metrics, /-/healthy, /-/ready, /health/{replica,primary,read}/...,
 * /route/... (routeread.h), /check/... (routecheck.h), /api/v1/state,
 * and the POSTs /webhook, /api/v1/{pause,resume,ack,failover,
 * throttle-app}.
 *
 * httpd owns the listening daemon and the connections; it makes one
 * struct routes per server and hands every call of libmicrohttpd's
 * access handler to routes_answer() once its request framing is checked.
 * A request is matched against a route table; a route names its path
 * (or path prefix), the methods it takes and its handler. Every error
 * body is {"error": "..."}.
 *
 * Threads: routes_answer() and routes_completed() run on libmicrohttpd's
 * handler threads, any number at once; they read the snapshot box and
 * submit to remedy, never doing network I/O of their own. A webhook's
 * journal callback runs on the journal's writer thread and resumes the
 * connection; a read-your-writes wait (wait=) is resumed by the waiter
 * thread of routewait.h. routes_drain() and routes_free() run on the thread
 * that stops the server. */
#ifndef REPLGUARD_ROUTES_H
#define REPLGUARD_ROUTES_H

#include <stddef.h>

#include <microhttpd.h>

struct remedy;
struct routes;
struct snapbox;

/* One call of libmicrohttpd's access handler, as it passed it. */
struct routes_call {
    struct MHD_Connection *conn;
    const char *url;
    const char *method;
    const char *bad_framing; /* why the framing is refused (400), or NULL;
                                looked at on a request's first call only */
    const char *upload;      /* a piece of a POST's body */
    size_t *upload_size;
    void **con_cls; /* the request's context (routes_completed frees it) */
};

/* routes_new: the routes answering from box (which must outlive them);
 * POSTs go to rem (NULL: 404) when token (copied; NULL: loopback only)
 * allows. Free with routes_free(). */
struct routes *routes_new(struct snapbox *box, struct remedy *rem,
                          const char *token);

/* routes_answer: answers c (queues its response), or reads on (a POST's
 * body) or suspends the connection (a webhook waiting for the journal).
 * Returns what libmicrohttpd's access handler returns. */
enum MHD_Result routes_answer(struct routes *rs, const struct routes_call *c);

/* routes_completed: frees the request context in *con_cls (NULL: none)
 * once libmicrohttpd is done with the request. */
void routes_completed(void **con_cls);

/* routes_drain: refuses new webhooks (503 "shutting down") and waits
 * until no connection is suspended for the journal: libmicrohttpd must
 * not stop with one suspended. */
void routes_drain(struct routes *rs);

/* routes_free: frees rs once no handler thread can call it (after
 * MHD_stop_daemon()). NULL is a no-op. */
void routes_free(struct routes *rs);

#endif
