/* routewait.h: read-your-writes waits (?min_position=P&wait=D) without
 * holding an HTTP thread.
 *
 * A handler whose answer from the last poll is "no replica has P yet"
 * suspends its connection here (libmicrohttpd's suspend/resume, as a
 * webhook waits for the journal) with a test of its own. One waiter
 * thread then asks the engine for early poll rounds (snapbox_kick: the
 * rounds scrape every node, so the replicas' positions come within a
 * round's time instead of an interval), runs each waiting test on every
 * snapshot published, and resumes a connection as soon as its test
 * holds or its deadline passes. libmicrohttpd then calls the handler
 * again, which sees routewait_resumed() and answers from the snapshot of
 * that moment.
 *
 * Threads: routewait_suspend() and routewait_resumed() on handler
 * threads; the tests run on the waiter thread; routewait_drain() and
 * routewait_free() on the thread stopping the server. */
#ifndef REPLGUARD_ROUTEWAIT_H
#define REPLGUARD_ROUTEWAIT_H

#include <stdbool.h>

#include <microhttpd.h>

#include "monitor/snapshot.h"

#define ROUTEWAIT_MAX 1.0 /* seconds: the longest wait= taken */

struct routewait;

/* A waiting request's test: whether s lets it answer now. */
typedef bool (*routewait_ready_fn)(const struct snapshot *s, void *arg);

/* routewait_new: waits over box's snapshots (box must outlive it); starts
 * the waiter thread. Never returns NULL. */
struct routewait *routewait_new(struct snapbox *box);

/* routewait_suspend: suspends conn (from its access handler, which then
 * returns without a response) until ready(snapshot, arg) holds or
 * timeout seconds pass, then resumes it. Takes arg, released with
 * free_arg (may be NULL) once done. Returns false, without suspending
 * and with arg released, while draining. */
bool routewait_suspend(struct routewait *w, struct MHD_Connection *conn,
                       double timeout, routewait_ready_fn ready, void *arg,
                       void (*free_arg)(void *arg));

/* routewait_resumed: whether conn comes back from a wait (true once per
 * wait): its handler answers from the snapshot as it is, not waiting
 * again. */
bool routewait_resumed(struct routewait *w, struct MHD_Connection *conn);

/* routewait_drain: refuses new waits, resumes every waiting connection
 * now and returns once none is suspended: libmicrohttpd must not stop
 * with one suspended. */
void routewait_drain(struct routewait *w);

/* routewait_free: stops the thread and frees w (after drain, once no
 * handler thread can call it). NULL is a no-op. */
void routewait_free(struct routewait *w);

#endif
