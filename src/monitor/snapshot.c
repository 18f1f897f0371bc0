/* snapshot.c: immutable, reference-counted snapshots and their box. */
#include "monitor/snapshot.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/gzip.h"
#include "monitor/exporter.h"
#include "monitor/histjson.h"
#include "monitor/statejson.h"
#include "lib/util.h"

struct snapshot {
    atomic_size_t refs;
    bool ready;
    char *metrics; /* NUL-terminated */
    size_t metrics_len;
    char *gz; /* the body gzip-compressed (RFC 1952), or NULL */
    size_t gz_len;
    char *state;
    size_t state_len;
    struct histjson history; /* /api/v1/history and its clusters' parts */
    struct snap_node *nodes; /* sorted by (cluster, node) */
    size_t n_nodes;
    char *strings; /* every string the table points to, back to back */
};

/* --- building ---------------------------------------------------------- */

static size_t strsize(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

/* keep: copies s (NULL stays NULL) to *cursor and advances it. */
static const char *keep(char **cursor, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = *cursor;
    memcpy(p, s, n);
    *cursor += n;
    return p;
}

/* cluster_count: how many nodes of v->nodes belong to c (its range,
 * clamped to the array). */
static size_t cluster_count(const struct agent_view *v,
                            const struct cluster_view *c)
{
    if (c->first_node >= v->n_nodes)
        return 0;
    size_t left = v->n_nodes - c->first_node;
    return c->n_nodes < left ? c->n_nodes : left;
}

/* node_strings: the bytes of n's strings the table keeps. */
static size_t node_strings(const struct node_view *n)
{
    return strsize(n->name) + strsize(n->role) + strsize(n->url) +
           strsize(n->zone);
}

/* table_size: the table's rows and the bytes of every string it keeps,
 * counted as fill_cluster() copies them. */
static size_t table_size(const struct agent_view *v, size_t *strings)
{
    size_t rows = 0;
    *strings = 1;
    for (size_t i = 0; i < v->n_clusters; i++) {
        const struct cluster_view *c = &v->clusters[i];
        size_t n = cluster_count(v, c);
        *strings += strsize(c->name) + strsize(c->lag_source);
        for (size_t k = 0; k < n; k++)
            *strings += node_strings(&v->nodes[c->first_node + k]);
        rows += n;
    }
    return rows;
}

static void fill_cluster(struct snapshot *s, const struct agent_view *v,
                         const struct cluster_view *c, char **cursor)
{
    const char *name = keep(cursor, c->name);
    const char *lag_source = keep(cursor, c->lag_source);
    size_t count = cluster_count(v, c);
    for (size_t i = 0; i < count; i++) {
        const struct node_view *n = &v->nodes[c->first_node + i];
        struct snap_node *sn = &s->nodes[s->n_nodes++];
        sn->cluster = name ? name : "";
        sn->node = n->name ? keep(cursor, n->name) : "";
        sn->role = n->role ? keep(cursor, n->role) : "";
        sn->is_primary = n->is_primary;
        sn->have_epoch = n->have_epoch;
        sn->epoch = n->epoch;
        sn->cluster_epoch = c->epoch;
        sn->up = n->up;
        sn->fresh = n->fresh;
        sn->rv = n->rv;
        sn->health = n->health;
        sn->read_max_lag = c->th.read_max_lag;
        sn->warning = c->th.warning;
        sn->in_rotation = n->in_rotation;
        sn->rotation_why = n->rotation_why;
        sn->lag_source = lag_source ? lag_source : "";
        sn->url = n->url ? keep(cursor, n->url) : "";
        sn->zone = keep(cursor, n->zone);
        sn->have_position = n->have_position;
        sn->position = n->position;
        sn->scrape_avg = n->scrape_avg;
        sn->have_caught_up = n->have_caught_up;
        sn->caught_up_mono = n->caught_up_mono;
    }
}

const char *snap_hold_why(const struct snap_node *n, double max_lag,
                          double hold, double now)
{
    if (n->is_primary)
        return NULL;
    if (!n->have_caught_up)
        return "lag unknown";
    if (now + hold - n->caught_up_mono > max_lag)
        return "lag may pass max_lag within hold";
    return NULL;
}

const char *snap_primary_why(const struct snap_node *n)
{
    if (strcmp(n->role, "fenced") == 0)
        return "fenced";
    if (!n->is_primary)
        return "not the primary";
    if (!n->up)
        return "unreachable";
    if (!n->fresh)
        return "stale";
    if (n->have_epoch && n->epoch < n->cluster_epoch)
        return "older epoch";
    if (strcmp(n->role, "primary") != 0)
        return "not the primary";
    return NULL;
}

bool snap_read_ok(const struct snap_node *n, bool given, double max_lag,
                  const char **why)
{
    const char *r = "not a replica";
    if (!n->is_primary && given)
        read_rotation_ok(&n->rv, max_lag, &r);
    else if (!n->is_primary)
        r = n->in_rotation    ? NULL
            : n->rotation_why ? n->rotation_why
                              : "not in read rotation";
    if (why)
        *why = r;
    return r == NULL;
}

static int cmp_node(const void *a, const void *b)
{
    const struct snap_node *x = a, *y = b;
    int c = strcmp(x->cluster, y->cluster);
    return c ? c : strcmp(x->node, y->node);
}

/* presize: room for a body like the last one (0: none yet), and a
 * sixteenth more for growth. */
static void presize(struct buf *b, size_t last)
{
    if (last)
        buf_reserve(b, last + last / 16);
}

/* build: the snapshot of v, its history copied from hist, or rendered
 * from v when hist is NULL; box (or NULL) keeps the bodies' sizes. */
static struct snapshot *build(const struct agent_view *v,
                              const struct histjson *hist, bool gz,
                              struct snapbox *box)
{
    struct snapshot *s = xcalloc(1, sizeof(*s));
    struct buf b;
    atomic_init(&s->refs, 1);
    s->ready = v->ready;
    buf_init(&b, 0);
    presize(&b, box ? box->last_metrics : 0);
    exporter_render(v, &b);
    /* compressed here, with the round, not per scrape: every gzip
     * scrape of this snapshot shares it, and both bodies are always of
     * the same round */
    s->gz = gz && b.data ? gzip_compress(b.data, b.len, GZIP_LEVEL, &s->gz_len)
                         : NULL;
    s->metrics_len = b.len;
    s->metrics = buf_detach(&b);
    presize(&b, box ? box->last_state : 0);
    statejson_render(v, &b);
    s->state_len = b.len;
    s->state = buf_detach(&b);
    if (hist)
        histjson_copy(&s->history, hist);
    else
        histjson_render(v, &s->history);

    size_t strings;
    size_t rows = table_size(v, &strings);
    s->nodes = xcalloc(rows ? rows : 1, sizeof(*s->nodes));
    s->strings = xmalloc(strings);
    char *cursor = s->strings;
    for (size_t i = 0; i < v->n_clusters; i++)
        fill_cluster(s, v, &v->clusters[i], &cursor);
    qsort(s->nodes, s->n_nodes, sizeof(*s->nodes), cmp_node);
    if (box) {
        box->last_metrics = s->metrics_len;
        box->last_state = s->state_len;
    }
    return s;
}

struct snapshot *snapshot_new(const struct agent_view *v)
{
    return build(v, NULL, true, NULL);
}

struct snapshot *snapshot_new_hist(const struct agent_view *v,
                                   const struct histjson *hist)
{
    return build(v, hist, true, NULL);
}

void snapbox_publish_view(struct snapbox *box, const struct agent_view *v,
                          const struct histjson *hist)
{
    snapbox_publish(box, build(v, hist, snapbox_gzip_wanted(box), box));
}

/* --- references -------------------------------------------------------- */

void snapshot_release(void *s)
{
    snapshot_unref(s);
}

struct snapshot *snapshot_ref(struct snapshot *s)
{
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

void snapshot_unref(struct snapshot *s)
{
    if (!s)
        return;
    if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    free(s->metrics);
    free(s->gz);
    free(s->state);
    histjson_free(&s->history);
    free(s->nodes);
    free(s->strings);
    free(s);
}

/* --- reading ----------------------------------------------------------- */

const char *snapshot_metrics(const struct snapshot *s, size_t *len)
{
    *len = s->metrics_len;
    return s->metrics;
}

const char *snapshot_metrics_gz(const struct snapshot *s, size_t *len)
{
    *len = s->gz_len;
    return s->gz;
}

const char *snapshot_state(const struct snapshot *s, size_t *len)
{
    *len = s->state_len;
    return s->state;
}

const char *snapshot_history(const struct snapshot *s, size_t *len)
{
    *len = s->history.len;
    return s->history.doc;
}

int snapshot_history_cluster(const struct snapshot *s, const char *cluster,
                             struct buf *out)
{
    return histjson_cluster(&s->history, cluster, out);
}

bool snapshot_ready(const struct snapshot *s)
{
    return s->ready;
}

const struct snap_node *snapshot_find(const struct snapshot *s,
                                      const char *cluster, const char *node)
{
    struct snap_node key = {.cluster = cluster, .node = node};
    return bsearch(&key, s->nodes, s->n_nodes, sizeof(*s->nodes), cmp_node);
}

/* first_row: the first row of s's table whose cluster is not before
 * cluster (n_nodes: none). */
static size_t first_row(const struct snapshot *s, const char *cluster)
{
    size_t lo = 0, hi = s->n_nodes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(s->nodes[mid].cluster, cluster) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const struct snap_node *snapshot_cluster(const struct snapshot *s,
                                         const char *cluster, size_t *count)
{
    size_t lo = first_row(s, cluster), hi = lo;
    while (hi < s->n_nodes && strcmp(s->nodes[hi].cluster, cluster) == 0)
        hi++;
    *count = hi - lo;
    return hi > lo ? &s->nodes[lo] : NULL;
}

bool snapshot_has_cluster(const struct snapshot *s, const char *cluster)
{
    size_t lo = first_row(s, cluster);
    return lo < s->n_nodes && strcmp(s->nodes[lo].cluster, cluster) == 0;
}

/* --- the box ----------------------------------------------------------- */

void snapbox_init(struct snapbox *box)
{
    pthread_condattr_t ca;
    pthread_mutex_init(&box->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&box->published, &ca);
    pthread_condattr_destroy(&ca);
    box->gen = 0;
    box->last_metrics = box->last_state = 0;
    box->cur = NULL;
    box->kick = NULL;
    atomic_init(&box->gzip_at_ms, 0);
    box->kick_ctx = NULL;
}

void snapbox_publish(struct snapbox *box, struct snapshot *snap)
{
    pthread_mutex_lock(&box->mu);
    struct snapshot *old = box->cur;
    box->cur = snap;
    box->gen++;
    pthread_cond_broadcast(&box->published);
    pthread_mutex_unlock(&box->mu);
    snapshot_unref(old); /* outside the lock: freeing takes a while */
}

struct snapshot *snapbox_get(struct snapbox *box)
{
    pthread_mutex_lock(&box->mu);
    struct snapshot *s = box->cur ? snapshot_ref(box->cur) : NULL;
    pthread_mutex_unlock(&box->mu);
    return s;
}

uint64_t snapbox_wait(struct snapbox *box, uint64_t seen, double timeout)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    double t = (double)until.tv_sec + (double)until.tv_nsec / 1e9 + timeout;
    until.tv_sec = (time_t)t;
    until.tv_nsec = (long)((t - (double)until.tv_sec) * 1e9);
    pthread_mutex_lock(&box->mu);
    int rc = 0;
    while (box->gen <= seen && rc == 0)
        rc = pthread_cond_timedwait(&box->published, &box->mu, &until);
    uint64_t gen = box->gen;
    pthread_mutex_unlock(&box->mu);
    return gen;
}

void snapbox_set_kick(struct snapbox *box, void (*fn)(void *ctx), void *ctx)
{
    pthread_mutex_lock(&box->mu);
    box->kick = fn;
    box->kick_ctx = ctx;
    pthread_mutex_unlock(&box->mu);
}

void snapbox_kick(struct snapbox *box)
{
    /* under the lock: the engine removes its kick before it is freed */
    pthread_mutex_lock(&box->mu);
    if (box->kick)
        box->kick(box->kick_ctx);
    pthread_mutex_unlock(&box->mu);
}

void snapbox_destroy(struct snapbox *box)
{
    snapshot_unref(box->cur);
    box->cur = NULL;
    pthread_cond_destroy(&box->published);
    pthread_mutex_destroy(&box->mu);
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void snapbox_want_gzip(struct snapbox *box)
{
    atomic_store_explicit(&box->gzip_at_ms, mono_ms(), memory_order_relaxed);
}

bool snapbox_gzip_wanted(struct snapbox *box)
{
    long long at = atomic_load_explicit(&box->gzip_at_ms, memory_order_relaxed);
    return at > 0 && mono_ms() - at <= SNAPBOX_GZIP_WANTED * 1000LL;
}
