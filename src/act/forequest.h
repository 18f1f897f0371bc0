/* forequest.h: switchover requests (POST /api/v1/failover/{cluster}),
 * handed from an HTTP handler thread to the engine thread and answered
 * back. The handler waits (bounded) for the engine's answer: the engine
 * decides on the request in its next tick (in flight, paused, TILT, a
 * node that may not be promoted: a refusal; else it journals the
 * failover's plan durably) and answers; only then does the handler
 * reply, so a 202 is a promise the journal already holds.
 *
 * A handler that gives up waiting (fo_queue_submit's timeout) before the
 * engine took its request withdraws it under the queue's lock: the
 * engine never acts on a request whose handler has gone. Once taken,
 * the handler waits for the answer, which comes within that tick.
 * Thread-safe. */
#ifndef REPLGUARD_FOREQUEST_H
#define REPLGUARD_FOREQUEST_H

#include <stdbool.h>
#include <stddef.h>

#define FO_QUEUE_MAX  16 /* requests waiting; more are refused (503) */
#define FO_NAME_MAX   65 /* cluster and node names, NUL included */
#define FO_REASON_MAX 256

struct fo_queue;

/* A request as the engine sees it (fo_queue_take). */
struct fo_pending {
    char cluster[FO_NAME_MAX];
    char to[FO_NAME_MAX]; /* "" none: the candidate rule */
};

/* fo_queue_new, fo_queue_free: the queue; free answers what still
 * waits with 503 "shutting down" first (no handler may wait by then). */
struct fo_queue *fo_queue_new(void);
void fo_queue_free(struct fo_queue *q);

/* fo_queue_submit: queues a request for cluster (to may be NULL), calls
 * wake(wake_ctx) (may be NULL) and waits up to timeout seconds for the
 * engine's answer. Returns the HTTP status the engine gave (202, 409,
 * 404...) with its reason in reason, or 503 when the queue is full,
 * stopped, or the engine did not answer in time (then the request is
 * withdrawn: never acted on). */
unsigned fo_queue_submit(struct fo_queue *q, const char *cluster,
                         const char *to, double timeout, void (*wake)(void *),
                         void *wake_ctx, char *reason, size_t len);

/* fo_queue_take: the oldest request still wanted, copied into *out,
 * and a ticket for fo_queue_answer; 0 when none. The engine answers
 * every ticket it takes. */
unsigned long fo_queue_take(struct fo_queue *q, struct fo_pending *out);

/* fo_queue_answer: answers the request of ticket (status, reason) and
 * wakes its handler. Returns false when there is no such request
 * waiting (fo_queue_stop answered it already). */
bool fo_queue_answer(struct fo_queue *q, unsigned long ticket, unsigned status,
                     const char *reason);

/* fo_queue_stop: from now on submissions are refused (503) and the
 * waiting ones answered 503 "shutting down". */
void fo_queue_stop(struct fo_queue *q);

#endif
