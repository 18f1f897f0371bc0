/* lag.h: lag arithmetic and health classification (SPEC section 3).
 *
 * Pure: values in, values out. Times are seconds on replguard's own
 * clock; the caller passes `now`. */
#ifndef REPLGUARD_LAG_H
#define REPLGUARD_LAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --- counter resets ------------------------------------------------------ */

/* A node's stemedb_assertions_indexed_total is a counter: it restarts at
 * 0 when the node restarts. counter_track turns it into a position that
 * never goes back (as Prometheus' increase() does), by adding the last
 * value seen before each reset. */
struct counter_track {
    uint64_t last_raw;
    uint64_t offset;
    bool seen;
};

/* counter_track_update: feeds a new raw reading; returns the corrected
 * position. *reset, if not NULL, is set when a reset was detected. */
uint64_t counter_track_update(struct counter_track *c, uint64_t raw,
                              bool *reset);

/* --- position lag -------------------------------------------------------- */

#define POSHIST_CAP 256

/* The primary's applied position over time, as replguard saw it. A run
 * of equal positions keeps only its first and last sample, so an idle
 * primary costs two entries and interpolation does not spread an idle
 * period's silence over the writes that end it. When the history is
 * full, its older half is thinned to every other sample: recent
 * positions keep the poll interval's resolution and old ones coarser,
 * so the history reaches back ever further at a fixed size. */
struct poshist {
    struct {
        double t;
        uint64_t pos;
    } s[POSHIST_CAP];
    size_t len;
};

/* poshist_reset: empties h (after a promotion or a primary restart). */
void poshist_reset(struct poshist *h);
/* poshist_add: records that the primary was at pos at time t. A position
 * lower than the last one empties the history first (the caller should
 * have corrected resets with counter_track; this is the safety net). */
void poshist_add(struct poshist *h, double t, uint64_t pos);
/* poshist_latest: the newest position, or 0 when empty. */
uint64_t poshist_latest(const struct poshist *h);
/* poshist_rate: the primary's write rate (positions per second) over the
 * last `window` seconds of history; returns 0 and sets *rate, or -1 with
 * fewer than two samples. */
int poshist_rate(const struct poshist *h, double window, double *rate);

/* poshist_lag: the lag at time now of a replica at position pos:
 * now - the time the primary reached pos + 1, the oldest write the
 * replica lacks (interpolated), 0 once pos is at or past the newest
 * position. (Measuring from pos itself would add any idle time the
 * primary spent at pos.) A pos older than the history
 * gives now - the oldest sample: a lower bound. Returns 0 and sets *lag,
 * or -1 when h is empty. */
int poshist_lag(const struct poshist *h, uint64_t pos, double now, double *lag);

/* --- heartbeat lag ------------------------------------------------------- */

#define HBHIST_CAP 256

/* The heartbeats replguard wrote to the primary (their values are
 * replguard's wall clock when sent), oldest first. */
struct hbhist {
    double v[HBHIST_CAP];
    size_t head, len;
};

/* hbhist_reset: empties h. */
void hbhist_reset(struct hbhist *h);
/* hbhist_add: records a heartbeat the primary acknowledged; values must
 * increase (a smaller or equal one is ignored). */
void hbhist_add(struct hbhist *h, double value);
/* hbhist_lag: the lag at time now of a replica whose last applied
 * heartbeat carries `applied` (0 if none): now - the value of the oldest
 * acknowledged heartbeat it has not applied, 0 when it has the newest.
 * The true lag (the age of the oldest write it lacks) is at least this
 * and at most one heartbeat interval more; unlike now - applied, it does
 * not read a caught-up replica as one interval behind. Returns 0 and
 * sets *lag, or -1 when no heartbeat was acknowledged yet. */
int hbhist_lag(const struct hbhist *h, double applied, double now, double *lag);

/* --- health --------------------------------------------------------------- */

enum health {
    HEALTH_HEALTHY,
    HEALTH_DEGRADED,
    HEALTH_UNHEALTHY,
    HEALTH_UNKNOWN,
    HEALTH_COUNT
};

/* health_name: "healthy", "degraded", "unhealthy", "unknown". */
const char *health_name(enum health h);

struct thresholds {
    double warning, critical, escalate, read_max_lag;
};

/* What is known of a replica at one moment. */
struct replica_view {
    bool reachable; /* its last scrape succeeded */
    bool fresh;     /* a good scrape within the last 3 intervals */
    bool connected; /* stemedb_replication_connected */
    bool demoted;
    bool have_lag; /* the chosen lag source has a number */
    double lag;    /* seconds, when have_lag */
    /* non-NULL: the replica reported a value that cannot be true (this
     * says which, "implausible heartbeat"); its lag is unknown */
    const char *implausible;
};

/* health_classify: healthy below warning, degraded from warning,
 * unhealthy from critical or when disconnected, unknown when stale,
 * unreachable, implausible or without a lag number. */
enum health health_classify(const struct replica_view *v,
                            const struct thresholds *t);

/* read_rotation_ok: whether the replica may serve reads: reachable,
 * fresh, connected, not demoted, not implausible, with a lag of at most
 * max_lag. When it
 * may not, *why (if not NULL) gets a short reason. */
bool read_rotation_ok(const struct replica_view *v, double max_lag,
                      const char **why);

/* --- flap-free read rotation --------------------------------------------- */

/* A replica's place in read rotation over polls, as HAProxy's rise and
 * fall damp its health checks: it enters after `rise` consecutive polls
 * fit for reads, and leaves after `fall` consecutive polls whose only
 * fault is a lag above the bound. Any other fault (unreachable, stale,
 * disconnected, demoted, implausible, lag unknown) takes it out at the
 * poll that shows it, whatever fall says: those are not a lag hovering
 * around a bound, and a read there may be stale by any amount. The
 * first verdict is taken as it is (after a start there is no history
 * to damp, and holding a fit replica out would only send its reads
 * elsewhere). Zero-initialize; caller owned; the engine carries it
 * across reloads. */
struct rotation_gate {
    bool decided;     /* a poll was judged */
    bool in;          /* in read rotation */
    unsigned streak;  /* consecutive polls that disagree with `in` */
    uint64_t changes; /* entries and exits, the first verdict excluded */
};

#define ROTATION_WHY_RISE "waiting for read_rise"

/* rotation_gate_step: judges one poll of the replica v against max_lag
 * (read_rotation_ok) and moves g: returns whether the replica is in
 * rotation after this poll. rise and fall of 0 count as 1. *why (if not
 * NULL) gets NULL when in rotation, else the reason: the poll's own
 * fault, or ROTATION_WHY_RISE while a fit replica waits out rise. A
 * replica held in by fall has *why NULL. */
bool rotation_gate_step(struct rotation_gate *g, const struct replica_view *v,
                        double max_lag, unsigned rise, unsigned fall,
                        const char **why);

/* rotation_gate_hold: g's verdict for a replica judged again without a
 * new poll (the engine re-assesses the last round on a reload): whether
 * it is in rotation, and *why as rotation_gate_step() says it, without
 * moving g. */
bool rotation_gate_hold(const struct rotation_gate *g,
                        const struct replica_view *v, double max_lag,
                        const char **why);

/* --- replica states ------------------------------------------------------ */

/* A replica's state as operators name them (issue 16). */
enum replica_state {
    RSTATE_ACTIVE,  /* streaming and caught up enough to count */
    RSTATE_PAUSED,  /* it reports its stream paused by an operator */
    RSTATE_SYNCING, /* a forced (Merkle) sync runs, its stream is down
                       for less than critical, or it is catching up after
                       either: its lag has not come below warning yet */
    RSTATE_FAILED,  /* unreachable or stale, or its stream down for
                       critical or longer */
    RSTATE_REMOVED, /* demoted or fenced: out of the replica set */
    RSTATE_COUNT
};

/* replica_state_name: "active", "paused", "syncing", "failed",
 * "removed". */
const char *replica_state_name(enum replica_state s);

/* What replica_state_step() looks at, from the last scrape. */
struct replica_obs {
    bool removed;     /* role demoted or fenced */
    bool seen;        /* reachable and fresh */
    bool stream_down; /* it reports its stream disconnected */
    bool paused;      /* it reports stemedb_replication_paused 1 */
    bool forced_sync; /* stemedb_merkle_sync_progress below 1 */
    bool have_lag;    /* its lag is known (fresh, plausible) */
    double lag;       /* seconds */
};

/* Per replica across polls; zero-initialize, caller owned. */
struct replica_track {
    double down_since; /* monotonic start of the stream outage, 0: up */
    bool catching_up;  /* failed or down since its lag was last below
                          warning */
    bool decided;      /* a state was assessed (last holds it) */
    enum replica_state last;
};

/* replica_state_step: the state of a replica observed as o at monotonic
 * now, with the cluster's warning and critical (seconds); updates t.
 * Order: removed, failed, paused, syncing, active. */
enum replica_state replica_state_step(struct replica_track *t,
                                      const struct replica_obs *o, double now,
                                      double warning, double critical);

/* --- sync health -------------------------------------------------------- */

/* sync_replica_ok: whether a replica counts as a sync replica: fresh,
 * reachable, its stream connected as it reports it (have_connected
 * and connected), not demoted or fenced (role_ok), its lag known and
 * plausible and at most max_lag. */
bool sync_replica_ok(const struct replica_view *v, bool have_connected,
                     bool role_ok, double max_lag);

#endif
