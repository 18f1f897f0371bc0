/* remedy.c: the webhook's journal-then-queue intake: the bounded queue
 * of alerts (places reserved before journaling) and the journal it owns.
 * The pause switch (pause.c), the ack queue (acks.c) and the webhook's
 * answer counts (webhookcount.c) are modules of their own; remedy holds
 * one of each so that remedy.h's users keep one handle. */
#include "act/remedy.h"

#include "act/acks.h"
#include "act/forequest.h"
#include "act/pause.h"
#include "act/appthrottle.h"
#include "act/webhookcount.h"
#include "formats/alert.h"
#include "lib/fileio.h"
#include "act/journal.h"
#include "lib/util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#define CHUNK 100 /* alerts per journal record */

struct remedy {
    pthread_mutex_t mu;
    struct journal *journal;
    const struct fileio_ops *ops; /* the caller's, or NULL: POSIX */
    struct queued_alert **q;      /* ring of REMEDY_QUEUE_CAP */
    size_t head, len;
    size_t reserved; /* places held for submissions being journaled */
    bool stopping;
    struct pause_switch *pause;
    struct appthrottle *apps; /* /check and throttle-app */
    struct ack_queue *acks;
    struct fo_queue *failovers; /* switchover requests */
    struct webhook_counts *counts;
    void (*wake)(void *);
    void *wake_ctx;
};

/* --- queued alerts ------------------------------------------------------ */

void queued_alert_free(struct queued_alert *a)
{
    if (!a)
        return;
    free((void *)a->labels.v); /* owned: see make_alert */
    free(a->strings);
    free(a);
}

/* make_alert: one allocation for the strings, one for the labels. */
static struct queued_alert *make_alert(const struct labels *labels,
                                       const char *fp, double starts,
                                       bool resolved)
{
    size_t n = labels->n, size = strlen(fp) + 1;
    for (size_t i = 0; i < n; i++)
        size += strlen(labels->v[i].name) + strlen(labels->v[i].value) + 2;
    struct queued_alert *a = xcalloc(1, sizeof(*a));
    a->strings = xmalloc(size);
    struct label *v = xcalloc(n ? n : 1, sizeof(*v));
    char *p = a->strings;
    for (size_t i = 0; i < n; i++) {
        size_t ln = strlen(labels->v[i].name) + 1,
               lv = strlen(labels->v[i].value) + 1;
        memcpy(p, labels->v[i].name, ln);
        v[i].name = p;
        memcpy(p + ln, labels->v[i].value, lv);
        v[i].value = p + ln;
        p += ln + lv;
    }
    memcpy(p, fp, strlen(fp) + 1);
    a->fingerprint = p;
    a->labels = (struct labels){v, n};
    a->starts_at = starts;
    a->resolved = resolved;
    return a;
}

struct queued_alert *queued_alert_copy(const struct queued_alert *a)
{
    struct queued_alert *c =
        make_alert(&a->labels, a->fingerprint, a->starts_at, a->resolved);
    c->seq = a->seq;
    c->index = a->index;
    return c;
}

static cJSON *alert_object(const struct labels *labels, const char *fingerprint,
                           double starts_at, bool resolved)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "fingerprint", fingerprint);
    cJSON_AddNumberToObject(o, "starts_at", starts_at);
    cJSON_AddStringToObject(o, "status", resolved ? "resolved" : "firing");
    cJSON *l = cJSON_AddObjectToObject(o, "labels");
    for (size_t i = 0; i < labels->n; i++)
        cJSON_AddStringToObject(l, labels->v[i].name, labels->v[i].value);
    return o;
}

/* alert_of: a queued alert from one element of a journal record. */
static struct queued_alert *alert_of(const cJSON *o, uint64_t seq, size_t index)
{
    const cJSON *fp = cJSON_GetObjectItemCaseSensitive(o, "fingerprint");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "starts_at");
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(o, "status");
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(o, "labels");
    if (!cJSON_IsString(fp) || !cJSON_IsNumber(st) || !cJSON_IsString(status) ||
        !cJSON_IsObject(l))
        return NULL;
    size_t n = (size_t)cJSON_GetArraySize(l), k = 0;
    struct label *v = xcalloc(n ? n : 1, sizeof(*v));
    const cJSON *it;
    cJSON_ArrayForEach(it, l)
    {
        if (cJSON_IsString(it))
            v[k++] = (struct label){it->string, it->valuestring};
    }
    struct queued_alert *a =
        make_alert(&(struct labels){v, k}, fp->valuestring, st->valuedouble,
                   strcmp(status->valuestring, "resolved") == 0);
    a->seq = seq;
    a->index = index;
    free(v);
    return a;
}

size_t remedy_parse_record(const char *text, uint64_t seq,
                           struct queued_alert ***out)
{
    cJSON *o = cJSON_Parse(text);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "type");
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "alerts");
    size_t n = 0;
    *out = NULL;
    if (cJSON_IsString(type) && strcmp(type->valuestring, "alerts") == 0 &&
        cJSON_IsArray(arr)) {
        size_t cap = (size_t)cJSON_GetArraySize(arr);
        *out = xcalloc(cap ? cap : 1, sizeof(**out));
        for (size_t i = 0; i < cap; i++) {
            struct queued_alert *a =
                alert_of(cJSON_GetArrayItem(arr, (int)i), seq, i);
            if (a)
                (*out)[n++] = a;
        }
    }
    cJSON_Delete(o);
    return n;
}

/* --- life cycle --------------------------------------------------------- */

struct remedy *remedy_open(const char *state_dir, const struct fileio_ops *ops,
                           char *err, size_t errlen)
{
    if (mkdir(state_dir, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create state_dir %s: %s", state_dir,
                 strerror(errno));
        return NULL;
    }
    int jerr = 0;
    struct journal *j = journal_open(state_dir, ops, &jerr);
    if (!j) {
        snprintf(err, errlen, "cannot open the journal in %s: %s", state_dir,
                 strerror(-jerr));
        return NULL;
    }
    struct remedy *r = xcalloc(1, sizeof(*r));
    pthread_mutex_init(&r->mu, NULL);
    r->journal = j;
    r->ops = ops;
    r->q = xcalloc(REMEDY_QUEUE_CAP, sizeof(*r->q));
    r->pause = pause_new(state_dir, ops);
    r->apps = appthrottle_new(state_dir, ops, (double)time(NULL));
    r->acks = acks_new();
    r->failovers = fo_queue_new();
    r->counts = webhookcount_new();
    return r;
}

void remedy_close(struct remedy *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->len; i++)
        queued_alert_free(r->q[(r->head + i) % REMEDY_QUEUE_CAP]);
    acks_free(r->acks);
    fo_queue_free(r->failovers);
    pause_free(r->pause);
    appthrottle_free(r->apps);
    webhookcount_free(r->counts);
    journal_close(r->journal);
    pthread_mutex_destroy(&r->mu);
    free(r->q);
    free(r);
}

void remedy_set_waker(struct remedy *r, void (*fn)(void *), void *ctx)
{
    pthread_mutex_lock(&r->mu);
    r->wake = fn;
    r->wake_ctx = ctx;
    pthread_mutex_unlock(&r->mu);
}

struct journal *remedy_journal(struct remedy *r)
{
    return r->journal;
}

const struct fileio_ops *remedy_fileio(const struct remedy *r)
{
    return r->ops;
}

/* --- submitting --------------------------------------------------------- */

static void wake(struct remedy *r)
{
    pthread_mutex_lock(&r->mu);
    void (*fn)(void *) = r->wake;
    void *ctx = r->wake_ctx;
    pthread_mutex_unlock(&r->mu);
    if (fn)
        fn(ctx);
}

/* push: queues a; false when full (a is not taken). */
static bool push(struct remedy *r, struct queued_alert *a)
{
    pthread_mutex_lock(&r->mu);
    bool ok = r->len + r->reserved < REMEDY_QUEUE_CAP;
    if (ok)
        r->q[(r->head + r->len++) % REMEDY_QUEUE_CAP] = a;
    pthread_mutex_unlock(&r->mu);
    return ok;
}

/* reserve: holds n places in the queue for a submission before any of
 * it is journaled, so that what is journaled always finds its place
 * (the answer is then 200, never a 503 for a payload already durable);
 * false, holding nothing, when it is full, stopping or failed. */
static bool reserve(struct remedy *r, size_t n, enum remedy_status *why)
{
    *why = journal_failed(r->journal) ? REMEDY_FAILED : REMEDY_OK;
    pthread_mutex_lock(&r->mu);
    if (*why == REMEDY_OK)
        *why = r->stopping                                   ? REMEDY_STOPPING
               : r->len + r->reserved + n > REMEDY_QUEUE_CAP ? REMEDY_FULL
                                                             : REMEDY_OK;
    if (*why == REMEDY_OK)
        r->reserved += n;
    pthread_mutex_unlock(&r->mu);
    return *why == REMEDY_OK;
}

/* chunk_text: the journal record of alerts [from, to) of p (cJSON's
 * string: free with cJSON_free). */
static char *chunk_text(const struct alert_payload *p, size_t from, size_t to)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "alerts");
    cJSON *arr = cJSON_AddArrayToObject(o, "alerts");
    for (size_t i = from; i < to; i++) {
        const struct alert *al = &p->alerts[i];
        cJSON_AddItemToArray(arr, alert_object(&al->labels, al->fingerprint,
                                               al->starts_at.seconds,
                                               al->status == ALERT_RESOLVED));
    }
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text)
        abort();
    return text;
}

/* A submission in flight: its alerts, copied at once (the payload may go
 * when remedy_submit_async() returns) and queued when every record of it
 * is durable. left counts the records not yet called back, plus one
 * while they are still being handed to the journal; whoever takes it to
 * zero finishes. */
struct submission;
struct chunk {
    struct submission *s;
    int rc; /* the journal's verdict on this record */
};
struct submission {
    struct remedy *r;
    struct queued_alert **alerts;
    size_t n;
    struct chunk *chunks;
    atomic_size_t left;
    remedy_done_fn done;
    void *ctx;
};

/* finish: queues the alerts of the records that are durable, in order,
 * in the places reserved for them, and tells the caller. */
static void finish(struct submission *s)
{
    enum remedy_status st = REMEDY_OK;
    struct remedy *r = s->r;
    pthread_mutex_lock(&r->mu);
    r->reserved -= s->n;
    for (size_t i = 0; i < s->n; i++) {
        struct queued_alert *a = s->alerts[i];
        if (s->chunks[i / CHUNK].rc < 0) {
            st = REMEDY_FAILED;
            queued_alert_free(a);
        } else {
            r->q[(r->head + r->len++) % REMEDY_QUEUE_CAP] = a;
        }
    }
    pthread_mutex_unlock(&r->mu);
    wake(s->r);
    s->done(s->ctx, st);
    free(s->alerts);
    free(s->chunks);
    free(s);
}

static void release(struct submission *s)
{
    if (atomic_fetch_sub(&s->left, 1) == 1)
        finish(s);
}

static void on_durable(void *arg, int rc)
{
    struct chunk *c = arg;
    c->rc = rc;
    release(c->s);
}

void remedy_submit_async(struct remedy *r, const struct alert_payload *p,
                         remedy_done_fn done, void *ctx)
{
    enum remedy_status st;
    if (!reserve(r, p->nalerts, &st)) {
        done(ctx, st);
        return;
    }
    struct submission *s = xcalloc(1, sizeof(*s));
    size_t nchunks = (p->nalerts + CHUNK - 1) / CHUNK;
    *s = (struct submission){.r = r, .n = p->nalerts, .done = done, .ctx = ctx};
    s->alerts = xcalloc(s->n ? s->n : 1, sizeof(*s->alerts));
    s->chunks = xcalloc(nchunks ? nchunks : 1, sizeof(*s->chunks));
    atomic_init(&s->left, nchunks + 1);
    for (size_t i = 0; i < s->n; i++) {
        const struct alert *al = &p->alerts[i];
        s->alerts[i] =
            make_alert(&al->labels, al->fingerprint, al->starts_at.seconds,
                       al->status == ALERT_RESOLVED);
        s->alerts[i]->index = i % CHUNK;
    }
    /* records of at most CHUNK alerts keep each under the journal's
     * record limit whatever the payload's size */
    int rc = 0;
    for (size_t k = 0; k < nchunks; k++) {
        size_t from = k * CHUNK, to = from + CHUNK < s->n ? from + CHUNK : s->n;
        uint64_t seq = 0;
        s->chunks[k].s = s;
        if (rc == 0) {
            char *text = chunk_text(p, from, to);
            rc = journal_append_async(r->journal, text, &seq, on_durable,
                                      &s->chunks[k]);
            cJSON_free(text);
        }
        if (rc < 0) { /* refused: never called back */
            s->chunks[k].rc = rc;
            release(s);
            continue;
        }
        for (size_t i = from; i < to; i++)
            s->alerts[i]->seq = seq;
    }
    release(s);
}

/* A remedy_submit() waiting for its submission. */
struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    enum remedy_status st;
};

static void on_submitted(void *arg, enum remedy_status st)
{
    struct waiter *w = arg;
    pthread_mutex_lock(&w->mu);
    w->st = st;
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

enum remedy_status remedy_submit(struct remedy *r,
                                 const struct alert_payload *p)
{
    struct waiter w = {.done = false};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    remedy_submit_async(r, p, on_submitted, &w);
    pthread_mutex_lock(&w.mu);
    while (!w.done)
        pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    return w.st;
}

size_t remedy_take(struct remedy *r, struct queued_alert **out, size_t max)
{
    pthread_mutex_lock(&r->mu);
    size_t n = r->len < max ? r->len : max;
    for (size_t i = 0; i < n; i++)
        out[i] = r->q[(r->head + i) % REMEDY_QUEUE_CAP];
    r->head = (r->head + n) % REMEDY_QUEUE_CAP;
    r->len -= n;
    pthread_mutex_unlock(&r->mu);
    return n;
}

void remedy_requeue(struct remedy *r, struct queued_alert *a)
{
    if (!push(r, a))
        queued_alert_free(a);
}

/* --- pause, acks, stop -------------------------------------------------- */

int remedy_set_paused(struct remedy *r, bool paused)
{
    return pause_set(r->pause, paused);
}

struct appthrottle *remedy_apps(struct remedy *r)
{
    return r->apps;
}

bool remedy_paused(struct remedy *r)
{
    return pause_get(r->pause);
}

void remedy_ack(struct remedy *r, const char *cluster)
{
    acks_push(r->acks, cluster);
    wake(r);
}

size_t remedy_take_acks(struct remedy *r, char **out, size_t max)
{
    return acks_take(r->acks, out, max);
}

void remedy_count_request(struct remedy *r, unsigned status)
{
    webhookcount_add(r->counts, status);
}

void remedy_request_counts(struct remedy *r, const unsigned *codes,
                           uint64_t *counts, size_t n)
{
    webhookcount_read(r->counts, codes, counts, n);
}

void remedy_stop(struct remedy *r)
{
    pthread_mutex_lock(&r->mu);
    r->stopping = true;
    pthread_mutex_unlock(&r->mu);
    fo_queue_stop(r->failovers);
}

unsigned remedy_failover(struct remedy *r, const char *cluster, const char *to,
                         char *reason, size_t len)
{
    pthread_mutex_lock(&r->mu);
    void (*fn)(void *) = r->wake;
    void *ctx = r->wake_ctx;
    pthread_mutex_unlock(&r->mu);
    return fo_queue_submit(r->failovers, cluster, to, REMEDY_FAILOVER_WAIT, fn,
                           ctx, reason, len);
}

struct fo_queue *remedy_failovers(struct remedy *r)
{
    return r->failovers;
}
