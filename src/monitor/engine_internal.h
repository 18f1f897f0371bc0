/* engine_internal.h: the engine's state, shared by engine.c (the loop,
 * rounds and reloads), assess.c (lag, health and the view) and
 * divergence.c (Merkle compares). Nothing
 * else includes it. Everything here belongs to the engine thread. */
#ifndef REPLGUARD_ENGINE_INTERNAL_H
#define REPLGUARD_ENGINE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "lib/clock.h"
#include "config/config.h"
#include "monitor/engine.h"
#include "act/guard.h"
#include "model/lag.h"
#include "profiles/stemedb/scrape.h"
#include "model/tilt.h"
#include "model/laghist.h"
#include "monitor/histjson.h"
#include "model/view.h"

#define BODY_CAP        (4u << 20) /* a node answer over this is too_large */
#define STALE_INTERVALS 3
#define MERKLE_SLOTS    4 /* Merkle compares running at once */
#define MERKLE_RECHECKS 5 /* rechecks before a diff is taken as it is */
/* seconds running actions get to finish once asked to stop (SPEC: exit
 * within 10 s of SIGTERM) */
#define ENGINE_STOP_GRACE 8.0
/* the engine thread's CPU time slice (lib/schedslice.h): short, so that
 * on a busy machine it runs soon after each scrape's answer wakes it
 * (detection waits for it); each wakeup's work is far shorter. Kernels
 * before 6.12 keep their default. */
#define ENGINE_SLICE 0.0005

struct cluster_rt;
struct merklewalk;
struct node_rt;

enum merkle_phase {
    MK_IDLE,    /* waiting for its next turn */
    MK_WALK,    /* a full top-down compare is running */
    MK_WAIT,    /* found differences: waiting for the replica to apply
                   past the primary's position at the compare's start */
    MK_RECHECK, /* re-comparing only the differing leaves */
};

/* What a compare's request callback gets: whose, and which end. */
struct merkle_ctx {
    struct node_rt *n;
    int side; /* 0 primary, 1 replica */
};

/* One pair of request slots (primary, replica) for a running compare. */
struct merkle_slot {
    struct poll_req *req[2];
    struct node_rt *owner; /* NULL: free */
    /* the nodes whose scrape slots lent their connections (start()),
     * side 0 the primary when the compare started */
    const struct node_rt *lender[2];
    struct merkle_ctx ctx[2];
};

/* A replica's Merkle compares and their last result. */
struct merkle_rt {
    enum merkle_phase phase;
    struct merklewalk *w;
    struct merkle_slot *slot;
    double due;      /* monotonic: when the next compare starts */
    double started;  /* monotonic start of the running compare */
    uint64_t target; /* primary position the replica must pass */
    double wait_start;
    int rechecks;
    bool rewalk;    /* too many differences to list: walk again */
    uint64_t bytes; /* of the running compare, walk and rechecks */
    uint64_t *cand; /* leaves to recheck */
    size_t ncand;
    unsigned depth;
    /* the last finished compare */
    bool have;
    uint64_t diff, buckets;
    uint64_t *listed; /* the first MERKLE_LISTED differing leaves */
    size_t nlisted;
    char *ranges; /* "12-15,400,..." of listed, for the state API */
    double duration, last_wall;
    uint64_t bytes_total, errors;
};

struct node_rt {
    struct cluster_rt *c;
    const struct config_node *conf;
    char *metrics_url;
    struct poll_req *req;
    bool scraped; /* answered (well or not) in this round */
    /* the last scrape */
    bool up;
    int last_failure; /* enum scrape_reason, or -1 */
    double duration;
    double scrape_avg; /* moving average of duration (nearest reads);
                          0: no scrape answered yet */
    uint64_t failures[SCRAPE_REASONS];
    /* the last good scrape */
    bool have_sample;
    double ok_mono, ok_wall;
    uint64_t position; /* reset-corrected */
    struct counter_track pos_track;
    bool connected, has_heartbeat;
    double heartbeat;
    enum node_seen_role role;
    bool has_connected; /* the sample had the series */
    bool has_epoch, has_acked, has_received;
    uint64_t epoch, acked, received; /* as the node reported them */
    enum sync_seen sync_mode;
    bool paused;                   /* stemedb_replication_paused 1 */
    bool forced_sync;              /* stemedb_merkle_sync_progress below 1 */
    struct reported_lag *reported; /* heap, n_reported entries */
    size_t n_reported;
    /* implausible values (guard.h): scrapes that showed each kind, and
     * whether the last one did (a streak is logged once) */
    uint64_t implausible[GUARD_IMPLAUSIBLE_KINDS];
    bool implausible_on[GUARD_IMPLAUSIBLE_KINDS];
    /* assessed at the end of each round */
    enum health health;
    bool in_rotation;
    struct rotation_gate gate;  /* read_rise and read_fall */
    struct replica_track track; /* replica state (lag.h) */
    struct merkle_rt mk;        /* replicas only */
};

struct cluster_rt {
    struct engine *e;
    const struct config_cluster *conf;
    struct node_rt *nodes;
    size_t n;
    size_t primary;    /* the current primary: observed, else configured */
    bool primary_seen; /* primary was observed reporting that role */
    struct poshist hist;
    struct hbhist hb;
    double hb_value;    /* the heartbeat in flight */
    double hb_max_sent; /* the newest heartbeat sent (0: none yet) */
    double hb_ok_mono;  /* when the primary last took one */
    /* failover inputs (view.h's cluster_view): */
    uint64_t epoch;         /* the highest any node reported; never down */
    bool have_acked;        /* the highest acked position of a primary */
    uint64_t acked;         /* of this epoch (reset when it changes) */
    double primary_ok_mono; /* last good scrape of the primary, or the
                               engine's start */
};

struct ha;

struct engine {
    struct config *cfg;
    struct ha *ha;           /* config ha:, else NULL */
    const char **ha_members; /* the view's member names, into ha_names */
    char *ha_names;
    struct rg_clock clock;
    struct poller *poller;
    struct snapbox *box;
    struct cluster_rt *clusters;
    size_t n_clusters, n_nodes;
    struct node_sample scratch; /* parse target, copied on success */

    double next_round; /* monotonic */
    double round_start;
    bool round_active;
    bool early_publish;  /* a replica left read rotation mid-round
                            (assess_early_out): publish before the end */
    double last_publish; /* monotonic: the last assessment or early one */
    size_t pending;      /* nodes of the running round not answered yet */
    uint64_t rounds;
    double round_duration;
    bool ready;

    struct agent_view view;   /* arrays sized for n_nodes, refilled */
    struct laghist hist;      /* view.history: sized with the view */
    struct histjson hist_doc; /* /api/v1/history, rendered once a slot */
    uint64_t hist_doc_slots;  /* hist.slots when it was rendered */
    bool hist_doc_ok;         /* hist_doc holds a document */

    struct merkle_slot mk_slots[MERKLE_SLOTS];
    double mk_next_tick;

    struct tilt tilt; /* actions held after a stall or a clock jump */

    struct executor *exec;          /* NULL: no remediation */
    struct runbook_set *next_rules; /* a reload waiting for the loop */

    pthread_t thread;
    bool started;
    atomic_bool stop;
    atomic_bool poll_soon;   /* a read-your-writes wait asked for a round
                                (snapbox_kick): run one early */
    pthread_mutex_t mu;      /* guards next_cfg */
    struct config *next_cfg; /* a reload waiting for the loop */
};

/* engine_step: one iteration of the engine thread's loop: TILT check,
 * reload, round start, curl (waiting up to 50 ms), round end, Merkle
 * compares, TILT check again, executor. The thread runs it until stopped; tests
 * with a manual clock call it directly instead of engine_start(). */
void engine_step(struct engine *e);

/* assess_round: derives lag, health and read rotation for every
 * replica from the round's scrapes and rebuilds e->view. */
void assess_round(struct engine *e);

/* assess_early_out: called as a replica's scrape comes in, mid-round:
 * when this poll alone takes it out of read rotation (its lag past
 * read_max_lag with a read_fall of 1, or any other fault; an exit
 * damped over several polls shows with its round), updates its
 * entry in e->view (lag, health, in_rotation false and why) and returns
 * true, so the engine publishes at once instead of after the round's
 * slowest scrape. Changes nothing else: the round's end assesses the
 * same poll for real and reaches the same verdict. False otherwise (not
 * in rotation, the primary, before the first round). */
bool assess_early_out(struct engine *e, struct cluster_rt *c,
                      struct node_rt *n);

/* view_entry: n's entry in e->view as the last assessment left it, or
 * NULL (a cluster another HA member owns shows no nodes). A string the
 * entry points to that changes between assessments must be set there
 * too: an early publish renders the view mid-round. */
struct node_view *view_entry(struct engine *e, const struct cluster_rt *c,
                             const struct node_rt *n);
/* assess_publish_early: publishes e->view when assess_early_out() changed
 * it since the last publish, at most once every interval / 10 (at least
 * 5 ms: a mass exit, say a dead primary's replicas, costs a few
 * renders, not one a replica); the round's end publishes what is left.
 * Such a snapshot counts the round under way in its rounds (its
 * replica's data is of that round). Every iteration of the loop. */
void assess_publish_early(struct engine *e);

/* divergence_init: the slot pool; divergence_free releases it and every
 * replica's compare state. divergence_schedule: spreads the first
 * compare of every replica over one merkle_interval from now.
 * divergence_tick: starts due compares and rechecks (cheap; call it
 * from the loop). divergence_node_free: one node's compare state. */
void divergence_init(struct engine *e);
void divergence_free(struct engine *e);
void divergence_schedule(struct engine *e, double now);
void divergence_tick(struct engine *e, double now);
void divergence_node_free(struct engine *e, struct node_rt *n);

/* engineha.c: the config's ha: section on the engine thread (ha.h).
 * engine_ha_config: after e->cfg is set or replaced, starts, updates or
 * (ha: gone) stops the HA member. engine_ha_tick: advances it, every
 * iteration. engine_ha_polls: whether a round polls c (poll: owned
 * polls only what this member holds). engine_ha_owner: act_env.owner.
 * engine_ha_view: the HA fields of e->view. engine_ha_stop: revokes the
 * lease at a clean stop. engine_ha_free: frees what engineha keeps. */
void engine_ha_config(struct engine *e);
void engine_ha_tick(struct engine *e);
bool engine_ha_polls(const struct engine *e, const struct cluster_rt *c);
bool engine_ha_owner(void *ctx, const char *cluster, int64_t *token);
/* engine_ha_job: act_env.job_phase (ha_put_job). */
void engine_ha_job(void *ctx, const char *cluster, const char *kind,
                   const char *json);
/* engine_ha_job_synced: act_env.job_synced (ha_job_synced). */
bool engine_ha_job_synced(void *ctx, const char *cluster, const char *kind);
void engine_ha_view(struct engine *e);
void engine_ha_stop(struct engine *e);
void engine_ha_free(struct engine *e);

#endif
