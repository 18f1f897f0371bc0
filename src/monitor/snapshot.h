/* snapshot.h: an immutable, reference-counted picture of one poll round,
 * and the box the engine publishes it in.
 *
 * The engine builds a snapshot from its agent_view after every round
 * (rendering /metrics, plain and gzip-compressed, and /api/v1/state
 * once) and publishes it with
 * snapbox_publish(). HTTP handler threads take a reference with
 * snapbox_get(), read it without any lock, and drop it with
 * snapshot_unref():
 *
 *   struct snapshot *s = snapbox_get(box);
 *   if (!s)
 *       ... not ready: nothing published yet
 *   const struct snap_node *n = snapshot_find(s, "main", "node2");
 *   ...
 *   snapshot_unref(s);
 *
 * A snapshot never changes once built, so any number of threads may
 * read it at once; the box's mutex covers only the pointer swap and the
 * reference count increment. */
#ifndef REPLGUARD_SNAPSHOT_H
#define REPLGUARD_SNAPSHOT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/lag.h"
#include "model/view.h"

struct snapshot;

/* What the health endpoints need to know of one node. The strings
 * belong to the snapshot and live as long as it does. */
struct snap_node {
    const char *cluster;
    const char *node;
    const char *role;         /* "primary", "replica", "demoted", "fenced" */
    bool is_primary;          /* the cluster's current primary */
    bool have_epoch;          /* the node reported an epoch */
    uint64_t epoch;           /* the highest it has seen */
    uint64_t cluster_epoch;   /* the highest any node of its cluster did */
    bool up;                  /* its last scrape succeeded */
    bool fresh;               /* a good scrape within the last 3 intervals */
    struct replica_view rv;   /* replicas only */
    enum health health;       /* replicas only */
    double read_max_lag;      /* the cluster's thresholds.read_max_lag */
    double warning;           /* its thresholds.warning (/check) */
    bool in_rotation;         /* replicas: at read_max_lag, after read_rise
                                 and read_fall (node_view's) */
    const char *rotation_why; /* static string; NULL when in rotation */
    const char *lag_source;   /* the cluster's */
    /* Read routing (/route, /health/read): */
    const char *url;       /* the configured base URL */
    const char *zone;      /* the configured zone:, or NULL */
    bool have_position;    /* fresh, with a position */
    uint64_t position;     /* applied position, when have_position */
    double scrape_avg;     /* seconds, moving average of scrape
                              durations; 0: none answered yet */
    bool have_caught_up;   /* node_view's: the lag bound of ?hold= */
    double caught_up_mono; /* monotonic, CLOCK_MONOTONIC's */
};

/* snap_primary_why: NULL when n may take writes as its cluster's
 * primary (/health/primary answers 200): the current primary, up,
 * fresh, reporting role primary and, when it reports an epoch, the
 * cluster's. Else why not, a static string: "fenced", "not the
 * primary", "unreachable", "stale" or "older epoch". At most one node
 * of a cluster passes at a time: only the current primary can. */
const char *snap_primary_why(const struct snap_node *n);

/* snap_read_ok: whether the replica n may serve reads (/health/replica
 * answers 200). Without a bound of its own (given false) the answer is
 * the read rotation the engine keeps, read_rise and read_fall included,
 * so a load balancer sees the same flap-free rotation as the metrics.
 * With a bound (?max_lag=) it is this poll's verdict at max_lag: a
 * caller's own bound has no history to damp. *why (if not NULL) gets
 * the reason when not, a static string; "not a replica" for the
 * current primary. */
bool snap_read_ok(const struct snap_node *n, bool given, double max_lag,
                  const char **why);

/* snap_hold_why: NULL when the replica n's lag stays within max_lag
 * until hold seconds after now (monotonic, CLOCK_MONOTONIC): its lag
 * grows at most at wall-clock rate from what the last scrape proved
 * (n->caught_up_mono), so a load balancer that trusts this answer for
 * hold seconds sends no read to a replica beyond max_lag. Else why not,
 * a static string. Applies only to replicas; the primary always
 * passes. */
const char *snap_hold_why(const struct snap_node *n, double max_lag,
                          double hold, double now);

/* snapshot_new: renders v's metrics and state and copies the node table
 * (sorted by cluster, then node). v is only read; the snapshot copies
 * every string it keeps. The result has one reference, owned by the
 * caller: hand it to snapbox_publish() or drop it with
 * snapshot_unref(). Never returns NULL. */
struct snapshot *snapshot_new(const struct agent_view *v);

/* snapshot_new_hist: snapshot_new() with the /api/v1/history document
 * copied from hist (rendered by the caller, who keeps it) rather than
 * rendered from v: the engine renders it once a history slot, not once a
 * round. */
struct histjson;
struct snapshot *snapshot_new_hist(const struct agent_view *v,
                                   const struct histjson *hist);

/* snapbox_publish_view: the engine's publish: snapshot_new_hist() into
 * box, with the gzip body only when snapbox_gzip_wanted(box):
 * compressing costs about as much as rendering, and most deployments'
 * rounds go unscraped by a client that wants it. */
struct snapbox;
void snapbox_publish_view(struct snapbox *box, const struct agent_view *v,
                          const struct histjson *hist);

/* snapshot_ref: takes one more reference to s (which must not be NULL)
 * and returns s. Safe from any thread. */
struct snapshot *snapshot_ref(struct snapshot *s);

/* snapshot_unref: drops one reference; the last one frees s. NULL is a
 * no-op. Safe from any thread. */
void snapshot_unref(struct snapshot *s);
/* snapshot_release: snapshot_unref() for a free callback's void pointer
 * (a libmicrohttpd response sending a snapshot's bytes holds one). */
void snapshot_release(void *s);

/* snapshot_metrics: the rendered /metrics body (NUL-terminated, its
 * length in *len), owned by s and valid while the caller holds a
 * reference. */
const char *snapshot_metrics(const struct snapshot *s, size_t *len);

/* snapshot_metrics_gz: the same /metrics body compressed as one gzip
 * member (RFC 1952, lib/gzip.h's level), compressed when s was built,
 * so it is always of the same round as snapshot_metrics(); its length
 * in *len. NULL (with *len 0) when compressing failed: serve the plain
 * body. Owned by s, as snapshot_metrics(). */
const char *snapshot_metrics_gz(const struct snapshot *s, size_t *len);

/* snapshot_state: the rendered /api/v1/state body, as
 * snapshot_metrics(). */
const char *snapshot_state(const struct snapshot *s, size_t *len);

/* snapshot_history: the rendered /api/v1/history body (histjson.h), as
 * snapshot_metrics(). */
const char *snapshot_history(const struct snapshot *s, size_t *len);

/* snapshot_history_cluster: appends to out the history document of
 * cluster alone (a copy of the part rendered with the snapshot, nothing
 * computed). Returns -1 when s knows no such cluster. */
struct buf;
int snapshot_history_cluster(const struct snapshot *s, const char *cluster,
                             struct buf *out);

/* snapshot_ready: the view's ready flag (config loaded, a round
 * finished). */
bool snapshot_ready(const struct snapshot *s);

/* snapshot_find: the node named node in cluster, or NULL. O(log n); the
 * result is owned by s. */
const struct snap_node *snapshot_find(const struct snapshot *s,
                                      const char *cluster, const char *node);

/* snapshot_cluster: the nodes of cluster (sorted by name, consecutive
 * in s's table), their count in *count; NULL with *count 0 when s knows
 * no such cluster. Owned by s. */
const struct snap_node *snapshot_cluster(const struct snapshot *s,
                                         const char *cluster, size_t *count);

/* snapshot_has_cluster: whether s knows a cluster of that name. */
bool snapshot_has_cluster(const struct snapshot *s, const char *cluster);

/* The engine's publishing point. Caller-owned storage. */
struct snapbox {
    pthread_mutex_t mu;
    pthread_cond_t published; /* broadcast by each publish */
    uint64_t gen;             /* publishes so far */
    struct snapshot *cur;     /* NULL until the first publish */
    void (*kick)(void *ctx);  /* asks the engine for a round now */
    void *kick_ctx;
    atomic_llong gzip_at_ms; /* monotonic ms of the last gzip request */
    /* the publisher's own (snapbox_publish_view()): the last bodies'
     * sizes, so the next round's buffers are made at once, not grown
     * by doubling (a dozen reallocs of megabytes at 1,000 nodes) */
    size_t last_metrics, last_state;
};

/* snapbox_init: an empty box. */
void snapbox_init(struct snapbox *box);

/* snapbox_publish: makes snap the current snapshot, taking over the
 * caller's reference, and drops the box's reference to the previous one
 * (readers holding it keep it valid until they let go). snap may be
 * NULL to empty the box. */
void snapbox_publish(struct snapbox *box, struct snapshot *snap);

/* snapbox_get: a new reference to the current snapshot, which the caller
 * drops with snapshot_unref(); NULL before the first publish. */
struct snapshot *snapbox_get(struct snapbox *box);

/* snapbox_wait: waits until the box's publish count passes seen, at
 * most timeout seconds, and returns the count then (seen or less: the
 * timeout passed). Any thread. */
uint64_t snapbox_wait(struct snapbox *box, uint64_t seen, double timeout);

/* snapbox_set_kick: the engine's way to be asked for a poll round now
 * (fn(ctx) on the asking thread; it must only flag and wake); NULL
 * removes it. snapbox_kick: asks, when one is set. Any thread: a
 * read-your-writes wait (serve/routewait.h) asks so that the replicas'
 * positions come sooner than the next scheduled round. */
void snapbox_set_kick(struct snapbox *box, void (*fn)(void *ctx), void *ctx);
void snapbox_kick(struct snapbox *box);

/* snapbox_want_gzip: a client accepted gzip for /metrics just now. Any
 * thread; one relaxed atomic store. snapbox_gzip_wanted: whether one did
 * within the last SNAPBOX_GZIP_WANTED seconds: the engine then compresses
 * every round's body; until the first such request, and again after that
 * long without one, bodies are rendered plain only and a gzip request is
 * answered plain (identity is always acceptable unless refused). */
#define SNAPBOX_GZIP_WANTED 300
void snapbox_want_gzip(struct snapbox *box);
bool snapbox_gzip_wanted(struct snapbox *box);

/* snapbox_destroy: drops the current snapshot and the mutex. No thread
 * may use the box afterwards; snapshots readers still hold stay
 * valid. */
void snapbox_destroy(struct snapbox *box);

#endif
