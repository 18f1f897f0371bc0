/* remedy.h: the intake of the acting half: what HTTP handler threads
 * hand to the engine (SPEC sections 4 and 8).
 *
 * POST /webhook: the alerts of a payload are journaled in records of at
 * most 100 alerts (durably, with group commit: concurrent requests share
 * one fsync) and queued for the engine, which plans and acts after the answer.
 * The queue is bounded: when full, or after shutdown began, or once the journal
 * failed, the webhook answers 503 and Alertmanager retries. Pause is a flag
 * kept in state_dir/pause (replaced durably), so it survives restarts. Acks are
 * queued like alerts.
 *
 * Thread-safe; the engine thread takes what is queued with
 * remedy_take(). remedy.c is the intake queue and owns the journal; the
 * pause switch (pause.h), the ack queue (acks.h) and the webhook answer
 * counts (webhookcount.h) are modules of their own that the functions
 * below hand on to. */
#ifndef REPLGUARD_REMEDY_H
#define REPLGUARD_REMEDY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/runbook.h"
#include "lib/labels.h"

struct alert_payload;
struct fileio_ops;
struct journal;

#define REMEDY_QUEUE_CAP 20000 /* alerts waiting for the engine */

/* One queued alert: its labels and identity, copied. */
struct queued_alert {
    uint64_t seq; /* its journal record */
    size_t index; /* its place in that record */
    struct label *labels;
    size_t n_labels;
    char *fingerprint;
    double starts_at;
    bool resolved;
    char *strings; /* one block holding every string above */
};

struct remedy;

/* remedy_open: opens (creating) state_dir's journal and reads the pause
 * flag. Every durable file of the acting half (the journal, the pause
 * flag, the executor's audit log) goes through ops: NULL for the real
 * POSIX calls; a table passed in (tests inject failures) must outlive
 * the remedy. Returns NULL with a reason in err. Free with
 * remedy_close(). */
struct remedy *remedy_open(const char *state_dir, const struct fileio_ops *ops,
                           char *err, size_t errlen);
void remedy_close(struct remedy *r);

/* remedy_set_waker: fn(ctx) is called after something was queued (the
 * engine's poller_wakeup). */
void remedy_set_waker(struct remedy *r, void (*fn)(void *), void *ctx);

enum remedy_status {
    REMEDY_OK,       /* journaled and queued: answer 200 */
    REMEDY_FULL,     /* queue full: 503, Alertmanager retries */
    REMEDY_STOPPING, /* shutting down: 503 */
    REMEDY_FAILED,   /* the journal failed (fail-stop): 503 */
};

/* remedy_submit: reserves places in the queue for the alerts of p, then
 * journals them (records of at most 100, durable, group-committed) and
 * queues them in those places. Returns a remedy_status: REMEDY_FULL
 * (nothing reserved) only before anything was journaled. */
enum remedy_status remedy_submit(struct remedy *r,
                                 const struct alert_payload *p);

/* remedy_done_fn: the outcome of an asynchronous submission. */
typedef void (*remedy_done_fn)(void *ctx, enum remedy_status st);

/* remedy_submit_async: remedy_submit() without waiting: p is copied and
 * may be freed on return; done(ctx, status) is called exactly once, when
 * the records are durable and the alerts queued (or it failed): from the
 * journal's writer thread, or from this call when it fails at once or
 * the journal was quicker. done must not block on the journal. */
void remedy_submit_async(struct remedy *r, const struct alert_payload *p,
                         remedy_done_fn done, void *ctx);

/* remedy_take: moves up to max queued alerts into out (the caller frees
 * each with queued_alert_free); returns how many. */
size_t remedy_take(struct remedy *r, struct queued_alert **out, size_t max);
void queued_alert_free(struct queued_alert *a);

/* remedy_requeue: queues an alert found unplanned in the journal at
 * start (the engine's replay); takes ownership of a. */
void remedy_requeue(struct remedy *r, struct queued_alert *a);

/* remedy_set_paused: sets and persists the pause flag; returns 0 or
 * -errno (then nothing changed). remedy_paused: the flag. */
int remedy_set_paused(struct remedy *r, bool paused);
bool remedy_paused(struct remedy *r);

/* remedy_ack: queues an ack of cluster's latched block.
 * remedy_take_acks: the engine takes them (strings to free). */
void remedy_ack(struct remedy *r, const char *cluster);
size_t remedy_take_acks(struct remedy *r, char **out, size_t max);

/* remedy_count_request: counts one answer of POST /webhook by status
 * (replguard_webhook_requests_total{code}). remedy_request_counts: the
 * counts so far, for the codes in codes[] (n of them). */
void remedy_count_request(struct remedy *r, unsigned status);
void remedy_request_counts(struct remedy *r, const unsigned *codes,
                           uint64_t *counts, size_t n);

/* remedy_stop: no more submissions (SIGTERM); switchover requests
 * waiting are answered 503. */
void remedy_stop(struct remedy *r);

/* How long a switchover request waits for the engine to take it. */
#define REMEDY_FAILOVER_WAIT 5.0

/* remedy_failover: a switchover request for cluster (to: the replica to
 * promote, NULL: the candidate rule), from an HTTP handler: wakes the
 * engine and blocks until it answers (forequest.h). Returns the HTTP
 * status (202 once the plan is journaled, 409, 404, 503) with the
 * reason in reason. */
unsigned remedy_failover(struct remedy *r, const char *cluster, const char *to,
                         char *reason, size_t len);
/* remedy_failovers: the request queue, for the engine (forequest.h). */
struct fo_queue *remedy_failovers(struct remedy *r);

/* remedy_journal: the journal, for the engine's own records. */
struct journal *remedy_journal(struct remedy *r);
/* remedy_fileio: the ops remedy_open() was given (NULL: POSIX), for the
 * other durable files of the acting half. */
const struct fileio_ops *remedy_fileio(const struct remedy *r);

/* remedy_parse_record: the alerts of a journal record of webhook
 * alerts ({"type":"alerts",...}), for the engine's replay at start:
 * returns how many, in *out (heap; the caller frees the array and each
 * alert); 0 for any other record. */
size_t remedy_parse_record(const char *text, uint64_t seq,
                           struct queued_alert ***out);

#endif
