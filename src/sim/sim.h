/* sim.h: the simulated StemeDB clusters behind replguard-simnode.
 *
 * Pure state and dynamics, no I/O: the HTTP layer (simhttp) calls in with
 * requests and renders what it gets back; time comes from an injected
 * clock and advances only in sim_step(), so tests drive it by hand.
 *
 * Model (SPEC section 7). Each cluster has one write stream: the primary
 * takes writes at the ingest rate (or an ingest_burst's rate), capped by
 * its rate limit, at positions 1, 2, 3, ...; the write at position p sets
 * key hash(seed, p) to p. A heartbeat is a write too: it takes the next
 * position and carries a timestamp instead of a row. Each replica receives
 * the stream as the primary had it link_delay ago (nothing while
 * disconnected or while the primary is down) and applies what it received
 * in order at up to the apply rate (times a slow_apply factor; zero while
 * stalled, down or blocked by a tripped circuit breaker). Every node keeps
 * a struct merkle over the rows it applied, so a caught-up replica's tree
 * equals the primary's.
 *
 * Nodes are addressed by (cluster index, node index), both from 0. */
#ifndef REPLGUARD_SIM_H
#define REPLGUARD_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/clock.h"
#include "lib/util.h"

struct merkle;
struct sim;

/* Replication modes: when a client write (sim_write) is acknowledged. */
enum sim_mode {
    SIM_MODE_ASYNC,     /* at once */
    SIM_MODE_SEMI_SYNC, /* once min_sync replicas applied it */
    SIM_MODE_SYNC,      /* once every connected replica (>= min_sync) did */
    SIM_MODE_BLOCKED,   /* effective mode only: too few replicas, and
                           sync_fallback_block: writes are refused */
};

struct sim_options {
    unsigned clusters;     /* default 1 */
    unsigned nodes;        /* per cluster, default 3 */
    double ingest_rate;    /* writes per second, default 1000 */
    double apply_rate;     /* per replica, default 5000 */
    double link_delay;     /* seconds, default 0.02 */
    unsigned merkle_depth; /* default 4 */
    uint32_t keys;         /* default 65536 */
    uint64_t seed;         /* default 1 */
    enum sim_mode mode;    /* default async */
    unsigned min_sync;     /* replicas a semi-sync/sync ack needs, default 1 */
    bool fallback_block;   /* too few replicas: refuse writes (true) or
                              fall back to async (false, default) */
    const char *name;      /* cluster names NAME, NAME2, ...; default c1,
                              c2, ...; borrowed for sim_new() only */
};

/* sim_options_default: fills o with the defaults above. */
void sim_options_default(struct sim_options *o);

/* Error codes returned (negated) by the request functions below. */
enum sim_error {
    SIM_OK = 0,
    SIM_EINVAL,      /* a bad argument: 400 */
    SIM_ENONODE,     /* no such node in the cluster: 404 */
    SIM_ENOTPRIMARY, /* the call needs the primary: 409 */
    SIM_ESTATE,      /* not possible in the current state: 409 */
    SIM_EUNAVAIL,    /* the node is demoted or the target down: 503 */
};

/* sim_strerror: a short message for a (negated or not) sim_error. */
const char *sim_strerror(int err);

/* sim_new: builds the clusters of o, all caught up at position 0, with
 * its clock (copied). Returns NULL (and a message in err) for options
 * out of range. Free with sim_free(). */
struct sim *sim_new(const struct sim_options *o, const struct rg_clock *clock,
                    char *err, size_t errlen);
/* sim_free: releases s; NULL is a no-op. */
void sim_free(struct sim *s);

/* sim_step: advances every cluster to the clock's current time and
 * expires faults whose duration has passed. Cheap to call often; the
 * dynamics are exact for any step size. */
void sim_step(struct sim *s);

/* Shape and names. */
unsigned sim_clusters(const struct sim *s);
unsigned sim_nodes(const struct sim *s);
const char *sim_cluster_name(const struct sim *s, unsigned ci); /* "c1" */
const char *sim_node_name(const struct sim *s, unsigned ci, unsigned ni);
/* sim_find_node: the index of the node called name in cluster ci, or -1. */
int sim_find_node(const struct sim *s, unsigned ci, const char *name);

/* State readers. */
bool sim_is_primary(const struct sim *s, unsigned ci, unsigned ni);
bool sim_is_demoted(const struct sim *s, unsigned ci, unsigned ni);
uint64_t sim_position(const struct sim *s, unsigned ci, unsigned ni);
/* sim_heartbeat_ts: the timestamp of the last heartbeat the node applied
 * (0 if none). */
double sim_heartbeat_ts(const struct sim *s, unsigned ci, unsigned ni);
/* sim_connected: whether a replica's replication stream is up. */
bool sim_connected(const struct sim *s, unsigned ci, unsigned ni);
/* sim_merkle: the node's store; valid until the next sim_step(). */
struct merkle *sim_merkle(struct sim *s, unsigned ci, unsigned ni);

/* The admin API. (ci, ni) is the node the request reached. Each returns
 * 0 or a negated sim_error. Counting the call in
 * stemedb_admin_requests_total is the caller's (sim_count_admin). */
int sim_heartbeat(struct sim *s, unsigned ci, unsigned ni, double ts);
int sim_set_rate_limit(struct sim *s, unsigned ci, unsigned ni, double limit);
int sim_sync(struct sim *s, unsigned ci, unsigned ni, const char *replica);
int sim_demote(struct sim *s, unsigned ci, unsigned ni, const char *replica);
int sim_promote(struct sim *s, unsigned ci, unsigned ni, const char *replica);
/* sim_read: a simulated read; fails with SIM_EUNAVAIL on a demoted node. */
int sim_read(struct sim *s, unsigned ci, unsigned ni, uint64_t *position);
/* sim_read_lag: the node's exact time lag now, in seconds (0 for the
 * primary), as stemedb_replication_lag_seconds reports it: what a read
 * served by the node is behind by (/v1/read's lag_seconds). */
double sim_read_lag(const struct sim *s, unsigned ci, unsigned ni);

/* Epochs and fencing (simrepl.c). Every node starts at epoch 1. An
 * epoch argument of 0 means "none given". Each returns 0 or a negated
 * sim_error; -SIM_ESTATE (409) for an epoch lower than the highest the
 * node has seen. */
/* sim_promote_epoch: makes replica the primary at epoch (0: one above
 * the highest epoch of the cluster's nodes). The new primary keeps
 * exactly what it applied; writes past it are lost. The old primary
 * steps down to a replica when the call reached it or gave no epoch;
 * otherwise it keeps its old epoch and believes itself primary (role
 * primary, no stream, no writes) until fenced or repointed. */
int sim_promote_epoch(struct sim *s, unsigned ci, unsigned ni,
                      const char *replica, uint64_t epoch);
/* sim_fence: the node takes epoch and stops taking writes and
 * replicating (role fenced) until repointed with sim_replicate_from. */
int sim_fence(struct sim *s, unsigned ci, unsigned ni, uint64_t epoch);
/* sim_replicate_from: the node (not the primary) takes epoch and follows
 * primary_id, which must be the cluster's primary (-SIM_ESTATE if not).
 * It streams only while that primary's epoch is at least its own. */
int sim_replicate_from(struct sim *s, unsigned ci, unsigned ni,
                       const char *primary_id, uint64_t epoch);
/* sim_epoch: the highest epoch the node has seen. */
uint64_t sim_epoch(const struct sim *s, unsigned ci, unsigned ni);
/* sim_role: "primary", "replica", "demoted" or "fenced", as the node
 * reports it. */
const char *sim_role(const struct sim *s, unsigned ci, unsigned ni);
/* sim_read_at: whether the node has the write at position pos, and if so
 * the epoch that wrote it (*write_epoch). A write acknowledged at epoch E
 * survived on the node iff it has it with write_epoch E. */
bool sim_read_at(const struct sim *s, unsigned ci, unsigned ni, uint64_t pos,
                 uint64_t *write_epoch);

/* Client writes (simrepl.c). */
/* sim_write: count (1..1e6) writes on the primary ni; *position is the
 * last one's. -SIM_ENOTPRIMARY for any other node (an old primary that
 * was not told of its successor included), -SIM_ESTATE when fenced,
 * -SIM_EUNAVAIL when blocked (too few replicas, fallback block). */
int sim_write(struct sim *s, unsigned ci, unsigned ni, uint64_t count,
              uint64_t *position);
/* sim_write_settled: whether a write at pos on node ni has its answer:
 * acknowledged (*acked true), or never will be (the node is no longer
 * the primary, or writes are blocked). */
bool sim_write_settled(const struct sim *s, unsigned ci, unsigned ni,
                       uint64_t pos, bool *acked);
/* sim_acked: the highest position node ni acknowledged to a client. */
uint64_t sim_acked(const struct sim *s, unsigned ci, unsigned ni);
/* sim_mode_name: "async", "semi-sync", "sync" or "blocked";
 * sim_mode_parse: the reverse for the first three, 0 or -1. */
const char *sim_mode_name(enum sim_mode m);
int sim_mode_parse(const char *name, enum sim_mode *m);
/* sim_effective_mode: the cluster's mode now (a fallback shows as async,
 * a block as blocked). */
enum sim_mode sim_effective_mode(const struct sim *s, unsigned ci);

struct sim_breaker {
    char agent_id[64];
    double tripped_at; /* wall clock seconds */
};
/* sim_breakers: copies up to max tripped breakers of the node into out;
 * returns how many there are in all. */
size_t sim_breakers(const struct sim *s, unsigned ci, unsigned ni,
                    struct sim_breaker *out, size_t max);
/* sim_breaker_reset: resets one tripped breaker; SIM_ENONODE-like
 * -SIM_EINVAL if none by that id is tripped. */
int sim_breaker_reset(struct sim *s, unsigned ci, unsigned ni,
                      const char *agent_id);

enum sim_endpoint {
    SIM_EP_HEARTBEAT,
    SIM_EP_MERKLE,
    SIM_EP_RATE_LIMIT,
    SIM_EP_SYNC,
    SIM_EP_BREAKERS,
    SIM_EP_BREAKER_RESET,
    SIM_EP_DEMOTE,
    SIM_EP_PROMOTE,
    SIM_EP_FENCE,
    SIM_EP_REPLICATE_FROM,
    SIM_EP_COUNT
};
/* sim_fence_token: an admin call to cluster ci carrying fencing token token
 * (X-Replguard-Fence, issue 19): 0 when it is at least the highest the
 * cluster has seen (which it becomes), else -SIM_ESTATE (409), counted
 * in stemedb_fence_refused_total. */
int sim_fence_token(struct sim *s, unsigned ci, uint64_t token);
/* sim_count_admin: counts one admin call to the node. */
void sim_count_admin(struct sim *s, unsigned ci, unsigned ni,
                     enum sim_endpoint ep);
/* sim_count_connection: counts one HTTP connection the node accepted
 * (stemedb_http_connections_total, the simulator's own: how well a
 * client keeps its connections). */
void sim_count_connection(struct sim *s, unsigned ci, unsigned ni);
/* sim_count_bytes: adds n to the node's stemedb_network_bytes_sent_total
 * (the HTTP layer reports what it sent). */
void sim_count_bytes(struct sim *s, unsigned ci, unsigned ni, uint64_t n);

/* Faults (SPEC section 7). */
enum sim_fault_kind {
    SIM_FAULT_SLOW_APPLY,
    SIM_FAULT_STALL,
    SIM_FAULT_DISCONNECT,
    SIM_FAULT_DIVERGE,
    SIM_FAULT_INGEST_BURST,
    SIM_FAULT_TRIP_BREAKER,
    SIM_FAULT_HANG,
    SIM_FAULT_HTTP_500,
    SIM_FAULT_GARBAGE,
    SIM_FAULT_SLOW_BODY,
    SIM_FAULT_DOWN,
    SIM_FAULT_LIE,
    SIM_FAULT_CRASH,          /* gone: no HTTP, no replication, data kept */
    SIM_FAULT_API_DOWN,       /* HTTP off, replication goes on */
    SIM_FAULT_REPL_PARTITION, /* replication links cut, HTTP answers */
    SIM_FAULT_PAUSE,          /* an operator paused applying: stays
                                 connected, reports
                                 stemedb_replication_paused 1 */
    SIM_FAULT_KINDS
};

/* A fault to inject. Zero (or an empty agent_id) selects the default
 * written beside each field. */
struct sim_fault {
    enum sim_fault_kind kind;
    double duration;   /* seconds; 0 = until cleared */
    double factor;     /* slow_apply: apply rate multiplier in (0, 1];
                          default 0.1 */
    uint64_t buckets;  /* diverge: leaf buckets to corrupt; default 16 */
    double rate;       /* ingest_burst: writes per second; default ten
                          times the ingest rate */
    char agent_id[64]; /* trip_breaker: default "agent-1" */
    char what[24];     /* lie: "heartbeat_ahead" (default: /metrics shows
                          a heartbeat an hour newer than the one applied)
                          or "position_ahead" (a position a million
                          writes past the primary's) */
};

/* sim_fault_name: "slow_apply", ...; sim_fault_parse: the reverse,
 * returning 0 or -1. */
const char *sim_fault_name(enum sim_fault_kind kind);
int sim_fault_parse(const char *name, enum sim_fault_kind *kind);

/* sim_fault_add: injects f on node ni of cluster ci. A fault of the same
 * kind on the same node is replaced. diverge and trip_breaker act at once
 * (their duration is ignored: corruption lasts until a forced sync, a
 * breaker until reset). Returns 0 or -SIM_EINVAL with a reason in err. */
int sim_fault_add(struct sim *s, unsigned ci, unsigned ni,
                  const struct sim_fault *f, char *err, size_t errlen);
/* sim_fault_clear: removes every fault of cluster ci (down nodes come
 * back; corruption and tripped breakers stay, being data). */
void sim_fault_clear(struct sim *s, unsigned ci);
/* sim_fault_on: whether a fault of kind is active on the node. */
bool sim_fault_on(const struct sim *s, unsigned ci, unsigned ni,
                  enum sim_fault_kind kind);
/* sim_fault_generation: a counter that changes whenever any fault is
 * added, cleared or expires; the HTTP layer rechecks on change. */
uint64_t sim_fault_generation(const struct sim *s);
/* sim_faults_render: appends the cluster's active faults as a JSON array
 * ([{"node":..,"kind":..,"remaining":..}]) to out. */
void sim_faults_render(const struct sim *s, unsigned ci, struct buf *out);

/* sim_render_metrics: appends the node's /metrics (Prometheus text
 * format 0.0.4) to out. */
void sim_render_metrics(const struct sim *s, unsigned ci, unsigned ni,
                        struct buf *out);

#endif
