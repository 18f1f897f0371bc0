/* sim_internal.h: struct sim, shared by sim.c, simfault.c and
 * simrender.c. Nothing outside those files includes it. */
#ifndef REPLGUARD_SIM_INTERNAL_H
#define REPLGUARD_SIM_INTERNAL_H

#include "sim/sim.h"

#define HIST_CAP             8192 /* position samples: ~400 s of history */
#define HIST_STEP            0.05 /* seconds between samples */
#define HB_CAP               4096 /* heartbeats remembered for replicas to apply */
#define MAX_BREAKERS         32  /* tripped breakers per node */
#define WRITE_BYTES          64  /* replication bytes per write */
#define SYNC_BASE            0.5 /* seconds a forced sync takes at least */
#define SYNC_BUCKETS_PER_SEC 2000.0
#define FRAC_EPS             1e-6 /* absorbs rounding in summed rate * dt */
#define TL_CAP               64   /* epoch changes a node's history holds */

struct hist_sample {
    double t;
    uint64_t pos;
};

struct heartbeat {
    uint64_t pos;
    double ts;
};

/* A node's timeline: the write at position p was written at the epoch of
 * the last entry whose first position is <= p. */
struct tl_entry {
    uint64_t epoch;
    uint64_t first;
};

struct fault_slot {
    bool on;
    double until; /* monotonic; INFINITY = until cleared */
    struct sim_fault f;
};

struct node {
    char name[16];
    struct merkle *store;
    uint64_t applied;  /* position of the last write applied */
    uint64_t received; /* replicas: position received from the primary */
    double apply_frac; /* fractional writes owed to the apply rate */
    double hb_ts;      /* timestamp of the last heartbeat applied */
    bool demoted;
    uint64_t epoch; /* the highest epoch the node has seen */
    uint64_t acked; /* highest position acknowledged to a client */
    bool fenced;    /* fenced: no writes, no stream */
    bool stale;     /* an old primary not told of its successor */
    struct tl_entry tl[TL_CAP];
    size_t ntl;
    struct fault_slot faults[SIM_FAULT_KINDS];
    struct sim_breaker breakers[MAX_BREAKERS];
    size_t nbreakers;
    uint64_t admin[SIM_EP_COUNT];
    uint64_t bytes_sent;
    uint64_t http_conns; /* HTTP connections accepted */
    /* forced Merkle sync */
    bool syncing;
    double sync_start, sync_end;
    uint64_t *sync_leaves; /* corrupt leaves to repair, heap */
    size_t sync_nleaves;
    double sync_progress; /* 0..1 */
    double sync_duration; /* seconds, of the last finished sync */
    uint64_t sync_errors;
};

struct cluster {
    char name[16];
    uint64_t seed;
    uint64_t fault_rng;
    unsigned primary;
    double rate_limit;        /* 0 = none */
    double ingest_frac;       /* fractional writes owed to the ingest rate */
    uint64_t position;        /* the primary's position */
    enum sim_mode eff_mode;   /* the mode now (fallback or block shown) */
    struct hist_sample *hist; /* ring of HIST_CAP */
    size_t hist_head, hist_len;
    struct heartbeat *hb; /* ring of HB_CAP, ascending positions */
    size_t hb_head, hb_len;
    struct node *nodes;
    uint64_t fence;         /* the highest X-Replguard-Fence token seen */
    uint64_t fence_refused; /* admin calls refused for a lower one */
};

struct sim {
    struct sim_options opt;
    struct rg_clock clock;
    double now;         /* monotonic time of the last step */
    double next_expiry; /* earliest fault deadline, INFINITY if none */
    uint64_t fault_gen;
    struct cluster *clusters;
};

/* sim_expire_faults: ends the faults whose time is up (simfault.c). */
void sim_expire_faults(struct sim *s);
/* sim_node_connected: whether n's replication stream is up (sim.c). */
bool sim_node_connected(const struct sim *s, const struct cluster *c,
                        const struct node *n);
/* sim_replica_lag: the primary's view of n's lag in seconds (sim.c). */
double sim_replica_lag(const struct sim *s, const struct cluster *c,
                       const struct node *n);

/* sim_node_down: whether the node is down or crashed (sim.c). */
bool sim_node_down(const struct node *n);
/* sim_reset_stream: makes pos the primary's position: restarts the
 * position history and drops heartbeats past pos (sim.c). */
void sim_reset_stream(struct sim *s, struct cluster *c, uint64_t pos);
/* simrepl.c */
void sim_repl_init(struct node *n);
/* sim_repl_follows: whether n would take the primary's stream (epochs,
 * fencing), faults aside. */
bool sim_repl_follows(const struct cluster *c, const struct node *n);
/* sim_repl_adopt: before n streams from the primary, rewinds n to where
 * their timelines fork and takes the primary's timeline and epoch. */
void sim_repl_adopt(struct cluster *c, struct node *n);
/* sim_repl_ack: advances the primary's acknowledged position and the
 * effective mode after the cluster moved. */
void sim_repl_ack(const struct sim *s, struct cluster *c);
/* sim_append: count writes on the primary (sim.c). */
void sim_append(struct sim *s, struct cluster *c, uint64_t count);

#endif
