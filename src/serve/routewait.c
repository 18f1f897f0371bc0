/* routewait.c: the waiter thread of read-your-writes waits. */
#include "serve/routewait.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lib/util.h"

/* TICK: seconds the thread waits for a snapshot before it looks at the
 * deadlines (and new waiters) again. */
#define TICK 0.02

struct waiter {
    struct waiter *next;
    struct MHD_Connection *conn;
    double deadline; /* monotonic */
    routewait_ready_fn ready;
    void *arg;
    void (*free_arg)(void *arg);
};

/* RESUMED_TTL: seconds a resumed connection's note is kept. Its handler
 * runs again within milliseconds; a connection closed before that
 * leaves its note behind, so notes are dropped after this (a later
 * connection at the same address then answers at once, which a wait=
 * request may always do). */
#define RESUMED_TTL 5.0

/* A connection resumed whose handler has not run again yet. */
struct resumed {
    struct resumed *next;
    struct MHD_Connection *conn;
    double at; /* monotonic: when it was resumed */
};

struct routewait {
    struct snapbox *box;
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* a waiter arrived, or stop, or drain */
    pthread_cond_t idle;    /* the waiting list became empty */
    struct waiter *waiting; /* suspended connections */
    struct resumed *resumed;
    bool draining, stop;
    pthread_t thread;
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* take_done: moves the waiters whose test holds on s (NULL: none yet),
 * whose deadline passed, or all of them while draining, from the
 * waiting list to *done, and notes their connections as resumed. Called
 * with mu held. First drops resumed notes older than RESUMED_TTL. */
static void take_done(struct routewait *w, const struct snapshot *s, double now,
                      struct waiter **done)
{
    for (struct resumed **rp = &w->resumed; *rp;) {
        struct resumed *r = *rp;
        if (now - r->at <= RESUMED_TTL) {
            rp = &r->next;
            continue;
        }
        *rp = r->next;
        free(r);
    }
    struct waiter **pp = &w->waiting;
    while (*pp) {
        struct waiter *x = *pp;
        if (!w->draining && now < x->deadline && !(s && x->ready(s, x->arg))) {
            pp = &x->next;
            continue;
        }
        *pp = x->next;
        x->next = *done;
        *done = x;
        struct resumed *r = xcalloc(1, sizeof(*r));
        r->conn = x->conn;
        r->at = now;
        r->next = w->resumed;
        w->resumed = r;
    }
}

/* resume_all: resumes the connections of done and frees the list; its
 * handlers run again on libmicrohttpd's threads. */
static void resume_all(struct waiter *done)
{
    while (done) {
        struct waiter *next = done->next;
        MHD_resume_connection(done->conn);
        if (done->free_arg)
            done->free_arg(done->arg);
        free(done);
        done = next;
    }
}

static void *run(void *arg)
{
    struct routewait *w = arg;
    uint64_t gen = 0;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        if (!w->waiting) {
            pthread_cond_broadcast(&w->idle);
            pthread_cond_wait(&w->cv, &w->mu);
            continue;
        }
        pthread_mutex_unlock(&w->mu);
        /* the tests run without mu: a handler suspending meanwhile
         * waits for nothing but the list */
        snapbox_kick(w->box);
        gen = snapbox_wait(w->box, gen, TICK);
        struct snapshot *s = snapbox_get(w->box);
        struct waiter *done = NULL;
        pthread_mutex_lock(&w->mu);
        take_done(w, s, mono(), &done);
        pthread_mutex_unlock(&w->mu);
        resume_all(done);
        snapshot_unref(s);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

struct routewait *routewait_new(struct snapbox *box)
{
    struct routewait *w = xcalloc(1, sizeof(*w));
    w->box = box;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    pthread_cond_init(&w->idle, NULL);
    if (pthread_create(&w->thread, NULL, run, w) != 0) {
        fputs("replguard: cannot start the read-your-writes waiter\n", stderr);
        abort();
    }
    return w;
}

bool routewait_suspend(struct routewait *w, struct MHD_Connection *conn,
                       double timeout, routewait_ready_fn ready, void *arg,
                       void (*free_arg)(void *arg))
{
    struct waiter *x = xcalloc(1, sizeof(*x));
    *x = (struct waiter){NULL, conn, mono() + timeout, ready, arg, free_arg};
    pthread_mutex_lock(&w->mu);
    bool ok = !w->draining;
    if (ok) {
        MHD_suspend_connection(conn);
        x->next = w->waiting;
        w->waiting = x;
        pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    if (!ok) {
        if (free_arg)
            free_arg(arg);
        free(x);
    }
    return ok;
}

bool routewait_resumed(struct routewait *w, struct MHD_Connection *conn)
{
    struct resumed *found = NULL;
    pthread_mutex_lock(&w->mu);
    for (struct resumed **pp = &w->resumed; *pp; pp = &(*pp)->next) {
        if ((*pp)->conn == conn) {
            found = *pp;
            *pp = found->next;
            break;
        }
    }
    pthread_mutex_unlock(&w->mu);
    free(found);
    return found != NULL;
}

void routewait_drain(struct routewait *w)
{
    pthread_mutex_lock(&w->mu);
    w->draining = true;
    pthread_cond_signal(&w->cv);
    while (w->waiting)
        pthread_cond_wait(&w->idle, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

void routewait_free(struct routewait *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    while (w->resumed) {
        struct resumed *next = w->resumed->next;
        free(w->resumed);
        w->resumed = next;
    }
    pthread_cond_destroy(&w->cv);
    pthread_cond_destroy(&w->idle);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
