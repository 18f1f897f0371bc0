/* forequest.c: the switchover request queue (forequest.h). One mutex
 * and one condition variable (CLOCK_MONOTONIC) for all requests: they
 * are rare, and a handler waits for its own one to be answered. */
#include "act/forequest.h"

#include "lib/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum req_state { REQ_QUEUED, REQ_TAKEN, REQ_ANSWERED, REQ_GONE };

struct req {
    unsigned long ticket;
    struct fo_pending p;
    enum req_state state;
    unsigned status;
    char reason[FO_REASON_MAX];
};

struct fo_queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct req v[FO_QUEUE_MAX]; /* ticket 0: a free place */
    unsigned long next_ticket;
    bool stopped;
};

struct fo_queue *fo_queue_new(void)
{
    struct fo_queue *q = xcalloc(1, sizeof(*q));
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&q->mu, NULL);
    q->next_ticket = 1;
    return q;
}

void fo_queue_free(struct fo_queue *q)
{
    if (!q)
        return;
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

static struct req *find(struct fo_queue *q, unsigned long ticket)
{
    for (size_t i = 0; i < FO_QUEUE_MAX; i++)
        if (q->v[i].ticket == ticket)
            return &q->v[i];
    return NULL;
}

/* answer_locked: sets r's answer (the caller holds q->mu). */
static void answer_locked(struct req *r, unsigned status, const char *reason)
{
    r->state = REQ_ANSWERED;
    r->status = status;
    snprintf(r->reason, sizeof(r->reason), "%s", reason ? reason : "");
}

static struct req *enqueue(struct fo_queue *q, const char *cluster,
                           const char *to)
{
    struct req *r = q->stopped ? NULL : find(q, 0);
    if (!r)
        return NULL;
    memset(r, 0, sizeof(*r));
    r->ticket = q->next_ticket++;
    snprintf(r->p.cluster, sizeof(r->p.cluster), "%s", cluster);
    snprintf(r->p.to, sizeof(r->p.to), "%s", to ? to : "");
    r->state = REQ_QUEUED;
    return r;
}

unsigned fo_queue_submit(struct fo_queue *q, const char *cluster,
                         const char *to, double timeout, void (*wake)(void *),
                         void *wake_ctx, char *reason, size_t len)
{
    pthread_mutex_lock(&q->mu);
    struct req *r = enqueue(q, cluster, to);
    if (!r) {
        pthread_mutex_unlock(&q->mu);
        snprintf(reason, len, "%s",
                 q->stopped ? "shutting down" : "too many requests waiting");
        return 503;
    }
    unsigned long ticket = r->ticket;
    pthread_mutex_unlock(&q->mu);
    if (wake)
        wake(wake_ctx);
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)timeout;
    until.tv_nsec += (long)((timeout - (double)(time_t)timeout) * 1e9);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&q->mu);
    r = find(q, ticket);
    bool late = false;
    while (r->state != REQ_ANSWERED && !(late && r->state == REQ_QUEUED)) {
        /* once taken, the engine answers within its tick (after the
         * journal's fsync): wait for it, so a plan journaled is never
         * answered to nobody */
        if (late)
            pthread_cond_wait(&q->cv, &q->mu);
        else
            late = pthread_cond_timedwait(&q->cv, &q->mu, &until) != 0;
    }
    unsigned status = 503;
    if (r->state == REQ_ANSWERED) {
        status = r->status;
        snprintf(reason, len, "%s", r->reason);
    } else {
        /* withdrawn: fo_queue_answer will say the handler is gone and
         * the engine must not act on it */
        snprintf(reason, len, "the engine did not answer in time; retry");
    }
    r->ticket = 0; /* the place is free again (or withdrawn) */
    pthread_mutex_unlock(&q->mu);
    return status;
}

unsigned long fo_queue_take(struct fo_queue *q, struct fo_pending *out)
{
    unsigned long best = 0;
    pthread_mutex_lock(&q->mu);
    for (size_t i = 0; i < FO_QUEUE_MAX; i++) {
        struct req *r = &q->v[i];
        if (r->ticket && r->state == REQ_QUEUED && (!best || r->ticket < best))
            best = r->ticket;
    }
    if (best) {
        struct req *r = find(q, best);
        r->state = REQ_TAKEN;
        *out = r->p;
    }
    pthread_mutex_unlock(&q->mu);
    return best;
}

bool fo_queue_answer(struct fo_queue *q, unsigned long ticket, unsigned status,
                     const char *reason)
{
    pthread_mutex_lock(&q->mu);
    struct req *r = find(q, ticket);
    bool there = r && r->state == REQ_TAKEN;
    if (there)
        answer_locked(r, status, reason);
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return there;
}

void fo_queue_stop(struct fo_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->stopped = true;
    for (size_t i = 0; i < FO_QUEUE_MAX; i++)
        if (q->v[i].ticket && q->v[i].state != REQ_ANSWERED)
            answer_locked(&q->v[i], 503, "shutting down");
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}
