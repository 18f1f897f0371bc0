/* view.h: a plain-data picture of what replguard knows, rebuilt by the
 * engine after every poll round and read by the renderers (exporter,
 * state JSON) and by snapshot_new(). The engine owns every view and the
 * strings it points to; a renderer only reads it, on the engine thread. */
#ifndef REPLGUARD_VIEW_H
#define REPLGUARD_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/lag.h"
#include "model/metrics.h"
#include "model/tilt.h"

/* Why a scrape failed (replguard_scrape_failures_total{reason}). */
enum scrape_reason {
    SCRAPE_TIMEOUT,
    SCRAPE_CONNECT,
    SCRAPE_HTTP_STATUS,
    SCRAPE_PARSE,
    SCRAPE_TOO_LARGE,
    SCRAPE_REASONS
};

/* scrape_reason_name: "timeout", "connect", "http_status", "parse",
 * "too_large". */
const char *scrape_reason_name(enum scrape_reason r);

/* Node values that cannot be true (guard.h judges them). */
enum guard_implausible {
    GUARD_HEARTBEAT_AHEAD, /* a heartbeat newer than any replguard sent */
    GUARD_POSITION_AHEAD,  /* a replica's position past its primary's */
    GUARD_IMPLAUSIBLE_KINDS
};

/* guard_implausible_name: "heartbeat_ahead", "position_ahead". */
const char *guard_implausible_name(enum guard_implausible k);

struct node_view {
    const char *cluster;
    const char *name;
    const char *url;
    const char *role;       /* "primary", "replica", "demoted" or "fenced":
                               as last scraped, else as configured */
    bool is_primary;        /* the cluster's current primary */
    bool up;                /* the last scrape succeeded */
    bool fresh;             /* a good scrape within the last 3 intervals */
    int last_failure;       /* enum scrape_reason of the last scrape, or -1 */
    double last_ok_wall;    /* wall time of the last good scrape, 0: never */
    double scrape_duration; /* seconds, of the last scrape */
    double scrape_avg;      /* seconds, moving average of scrape
                               durations; 0: none answered yet */
    const char *zone;       /* configured zone:, or NULL */
    uint64_t failures[SCRAPE_REASONS]; /* since start */
    double last_ok_mono; /* monotonic time of the last good scrape */
    bool have_position;
    uint64_t position; /* stemedb_assertions_indexed_total, reset-corrected */
    /* Failover inputs, from the last good scrape. */
    bool have_epoch;
    uint64_t epoch; /* the highest epoch the node has seen */
    bool have_acked;
    uint64_t acked; /* primary: highest position acked to a client */
    bool have_received;
    uint64_t received; /* replica: highest position received (postgres:
                          pg_last_wal_receive_lsn), applied or not */
    bool have_connected;
    bool connected; /* replica: its replication stream is up */

    /* Replicas only (is_primary false). */
    struct replica_view rv; /* rv.lag is the cluster's lag_source */
    bool have_hb_lag, have_pos_lag, have_reported_lag, have_lag_positions;
    bool have_lag_bytes; /* lag_positions counts bytes (the profile's) */
    double hb_lag, pos_lag, reported_lag; /* seconds */
    uint64_t lag_positions;
    enum health health;
    /* values that cannot be true (guard.h): scrapes that showed each,
     * since start; while one shows, the replica's lag is unknown */
    uint64_t implausible[GUARD_IMPLAUSIBLE_KINDS];
    bool in_rotation;          /* at the cluster's read_max_lag, after
                                  read_rise and read_fall */
    const char *rotation_why;  /* NULL when in rotation */
    uint64_t rotation_changes; /* entries and exits since start */
    enum replica_state state;  /* replica_state_step() */
    /* The lag bound of ?hold= (routes): the replica is known to have
     * every write made before caught_up_mono (monotonic), so its lag at
     * time t is at most t - caught_up_mono. Exact for the heartbeat
     * source (the last heartbeat it applied); position and reported:
     * the last scrape's time minus its lag, as good as that lag. */
    bool have_caught_up;
    double caught_up_mono;

    /* Merkle divergence from the primary (replicas only): the last
     * finished compare, when have_merkle. */
    bool have_merkle;
    uint64_t merkle_diff;         /* differing leaf buckets */
    uint64_t merkle_buckets;      /* leaf buckets per tree */
    const char *merkle_ranges;    /* the first differing buckets, "1-4,9" */
    double merkle_duration;       /* seconds, walk and rechecks */
    double merkle_last_wall;      /* when it finished */
    uint64_t merkle_bytes_total;  /* answer bytes of every compare */
    uint64_t merkle_errors_total; /* compares that failed */
};

struct cluster_view {
    const char *name;
    const char *lag_source; /* "heartbeat", "position" or "reported" */
    struct thresholds th;
    unsigned read_rise, read_fall; /* thresholds.read_rise, read_fall */
    size_t first_node;             /* this cluster's nodes are */
    size_t n_nodes;          /* agent_view.nodes[first_node .. + n_nodes) */
    int primary;             /* index into agent_view.nodes, or -1: none up */
    uint64_t merkle_buckets; /* leaf buckets per tree; 0: not known yet */
    bool latched;            /* an escalation latched it until an ack */
    bool throttle_active;    /* replguard set the primary's ingest limit */
    double throttle_limit;   /* assertions per second, when active */
    /* Failover inputs (the engine): */
    uint64_t epoch;         /* the highest epoch any node reported */
    const char *sync_mode;  /* the primary's mode now ("async",
                               "semi-sync", "sync", "blocked"), NULL:
                               unknown */
    bool have_acked;        /* the highest position any primary of */
    uint64_t acked;         /* epoch acked, as last seen */
    double primary_ok_mono; /* when a scrape of the primary last
                               succeeded, or the engine started */
    /* Sync health (assess.c): */
    const char *repl_mode;      /* configured: "async", "semi-sync", "sync" */
    unsigned min_sync_replicas; /* configured */
    double sync_max_lag;        /* configured, seconds */
    unsigned sync_replicas;     /* replicas that count as sync replicas
                                   (sync_replica_ok) */
    bool sync_ok;               /* async: always; else sync_replicas >=
                                   min_sync_replicas */
    bool sync_fallback;         /* semi-sync or sync configured, and the
                                   primary last reported async or blocked */
    /* Failover state (the executor, executor_fill_view): */
    const char *failover_phase; /* "idle", or the running step */
    bool failover_blocked;      /* block_period since the last one */
    const struct view_failover *last_failover; /* NULL: none yet */
    /* HA (agent_view.ha): this member holds the cluster's ownership key
     * under a lease known to be alive */
    bool ha_owner;
};

/* The last failover of a cluster, for /api/v1/state and the metrics. */
struct view_failover {
    const char *kind;      /* "automatic", "switchover", "runbook" */
    const char *outcome;   /* "success", "refused", "failed" */
    const char *from, *to; /* old primary, the promoted node (NULL: none) */
    const char *reason;    /* why refused or failed, NULL on success */
    uint64_t epoch;        /* the epoch it promoted at (0: none) */
    uint64_t lost_positions;
    double started_wall, duration; /* seconds */
};

/* One labelled sample of a remediation family (metrics.h: a family whose
 * row says sampled). Samples of one family are consecutive. */
struct view_sample {
    enum metric_family family;
    const char *label[4]; /* names, NULL after the last */
    const char *value[4];
    double v;
};

/* One recent action, for /api/v1/state. */
struct view_action {
    double time;
    const char *cluster, *runbook, *action, *target, *outcome, *detail;
    bool dry_run;
    double lag_before, lag_after; /* the target's lag, seconds; -1 unknown */
};

/* One runbook's limits in one cluster, for the status page. */
struct view_runbook {
    const char *runbook, *cluster;
    unsigned used, max_per_hour; /* actions in the last hour, the budget */
    const char *target;          /* its last action's target, NULL: none kept */
    double cooldown_until;       /* wall seconds, on target; 0: none */
};

/* One app throttle of the writers' check, for /api/v1/state. */
struct view_app_throttle {
    const char *app, *cluster;
    double ratio, expires; /* expires: Unix seconds */
};

struct laghist; /* model/laghist.h */

struct agent_view {
    const char *version;
    double generated_wall; /* when the view was built */
    uint64_t rounds;       /* poll rounds finished */
    double round_duration; /* seconds, of the last round */
    double interval;       /* configured poll interval, seconds */
    bool ready;            /* config loaded and a round finished */
    bool dry_run;
    /* TILT (tilt.h): actions held after a stall or a clock jump */
    bool tilt;
    double tilt_until_wall;            /* when it ends, while tilt */
    const char *tilt_reason;           /* of the last trigger; NULL: none yet */
    double tilt_amount;                /* seconds: the stall, or the jump */
    uint64_t tilt_total[TILT_REASONS]; /* triggers since start */
    struct cluster_view *clusters;
    size_t n_clusters;
    struct node_view *nodes;
    size_t n_nodes;
    /* each node's lag over the last 15 minutes, rows as nodes; NULL:
     * none kept */
    const struct laghist *history;

    /* Remediation (filled by the executor). */
    bool remediation; /* runbooks are loaded and the intake is open */
    bool paused;
    bool journal_failed;           /* the journal refused a record: fail-stop */
    uint64_t audit_write_failures; /* audit lines lost (audit.h) */
    unsigned in_flight;            /* actions running */
    const struct view_sample *samples;
    size_t n_samples;
    const struct view_action *recent; /* newest first */
    size_t n_recent;
    const struct view_runbook *runbooks; /* budgets and cooldowns */
    size_t n_runbooks;
    const struct view_app_throttle *app_throttles; /* not expired */
    size_t n_app_throttles;

    /* HA (the config's ha:, ha.h); the rest is unset while ha is false */
    bool ha;
    bool ha_etcd_up;               /* etcd answered the last request */
    uint64_t ha_owned;             /* clusters owned now */
    const char *const *ha_members; /* the live members etcd listed last */
    size_t n_ha_members;
};

#endif
