/* profile.h: a datastore profile, the one place a datastore's node API
 * is written (paths, bodies, metric names). A cluster's `profile:`
 * (config.h, enum cluster_profile) selects its ops table.
 *
 * A profile builds requests (method, which node, path, body) and reads
 * answers; it never sends them: the engine and the executor send them
 * with the poller, as before. Adding a datastore is one folder under
 * src/profiles/ with its ops table (listed in Makefile.am), a value of
 * enum cluster_profile with its spelling in config.c's profile_names,
 * and one line in profile.c's table.
 *
 *   what to scrape        metrics_path (GET) or scrape(), read by
 *                         parse_sample
 *   heartbeat             heartbeat(): POST to the primary; the sample's
 *                         heartbeat field reads it back
 *   actions               the set it supports (actions, a bit per enum
 *                         runbook_action) and a builder per node request
 *                         (a profile with SQL nodes builds method "SQL",
 *                         an empty path and the SQL text as body)
 *   merkle                whether Merkle compares are supported
 *   failover              epochs and fencing: promote, fence,
 *                         replicate_from and a probe write (NULL
 *                         builders when the datastore has none) */
#ifndef REPLGUARD_PROFILE_H
#define REPLGUARD_PROFILE_H

#include "config/config.h"
#include "config/runbook.h"
#include "formats/promtext.h"
#include "lib/errlist.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROFILE_MAX_REPORTED 64 /* replicas a primary reports lag for */
#define PROFILE_PATH_MAX     256

enum node_seen_role {
    SEEN_ROLE_UNKNOWN,
    SEEN_ROLE_PRIMARY,
    SEEN_ROLE_REPLICA,
    SEEN_ROLE_DEMOTED,
    SEEN_ROLE_FENCED /* an old primary told to stop taking writes */
};

/* The replication mode a primary reports it runs now (a semi-sync
 * primary that fell back shows SYNC_SEEN_ASYNC). */
enum sync_seen {
    SYNC_SEEN_UNKNOWN,
    SYNC_SEEN_ASYNC,
    SYNC_SEEN_SEMI_SYNC,
    SYNC_SEEN_SYNC,
    SYNC_SEEN_BLOCKED /* refusing writes: too few replicas */
};

struct reported_lag {
    char replica[64];
    double lag;
};

/* One node's answer, reduced to the series replguard uses. */
struct node_sample {
    bool has_position;
    uint64_t position; /* raw count of writes applied */
    bool has_connected;
    bool connected;
    bool has_heartbeat;
    double heartbeat; /* the last heartbeat applied, unix seconds */
    enum node_seen_role role;
    bool has_rate_limit;
    double rate_limit;
    bool has_epoch;
    uint64_t epoch; /* the highest epoch (term) the node has seen */
    bool has_acked;
    uint64_t acked; /* primary: the highest position acked to a client */
    bool has_received;
    uint64_t received; /* replica: the highest position it received
                          (not necessarily applied) */
    enum sync_seen sync_mode;
    bool has_paused;
    bool paused; /* replica: its stream paused by an operator */
    bool has_sync_progress;
    double sync_progress; /* a forced (Merkle) sync: 0..1, 1: none runs */
    size_t n_reported;
    struct reported_lag reported[PROFILE_MAX_REPORTED];
};

/* Which node of the cluster a request goes to. */
enum profile_node { PROFILE_AT_PRIMARY, PROFILE_AT_TARGET };

/* A node request, built by a profile; the caller sends it to the node's
 * URL followed by path, then frees it with profile_request_free().
 * Method "SQL" (the postgres profile) goes to the node's conninfo
 * (config_node_target()), path empty, body the SQL (poller.h). */
struct profile_request {
    const char *method; /* "GET", "POST", "SQL" */
    enum profile_node at;
    char path[PROFILE_PATH_MAX];
    char *body; /* heap JSON, or NULL */
};

#define PROFILE_ACTION(a) (1u << (a))

struct profile_ops {
    const char *name;         /* as in the config's profile: */
    const char *metrics_path; /* GET, when scrape is NULL */
    /* scrape: the request whose answer parse_sample reads, when it is
     * not a GET of metrics_path (NULL: that GET). */
    void (*scrape)(struct profile_request *rq);
    /* parse_sample: reads an answer of metrics_path into *out; 0, or -1
     * with *err set. */
    int (*parse_sample)(const char *body, size_t len, struct node_sample *out,
                        struct promtext_error *err);
    /* positions_are_bytes: positions count bytes (replguard_replica_
     * lag_bytes is exported for them). */
    bool positions_are_bytes;
    /* heartbeat: the request writing ts (seconds, as text "%.6f"). */
    void (*heartbeat)(const char *ts, struct profile_request *rq);
    unsigned actions; /* PROFILE_ACTION() bits of the supported ones */
    /* set_limit: the primary's ingest limit (0 removes it). */
    void (*set_limit)(double limit, struct profile_request *rq);
    /* force_sync, demote: of the replica called replica. */
    void (*force_sync)(const char *replica, struct profile_request *rq);
    void (*demote)(const char *replica, struct profile_request *rq);
    /* cancel_queries: cancels the target's queries whose snapshot is
     * older_than seconds or more and holds replay back, oldest first;
     * the answer is one row per cancelled query, its first column the
     * query's id (NULL when the datastore has no such queries). */
    void (*cancel_queries)(double older_than, struct profile_request *rq);
    /* list_breakers, read_breakers, reset_breaker: the target's tripped
     * breakers, their ids from the answer (0, or < 0 with *ids NULL; a
     * heap array of heap strings the caller frees with
     * profile_free_ids()), and the reset of one. */
    void (*list_breakers)(struct profile_request *rq);
    int (*read_breakers)(const char *body, size_t len, char ***ids, size_t *n);
    void (*reset_breaker)(const char *id, struct profile_request *rq);
    bool merkle; /* Merkle compares (merklewalk's node API) */
    /* Failover (NULL when the datastore has no epochs), all at the
     * target: promote makes replica the primary of epoch; fence stops
     * the target taking writes from epoch on; replicate_from repoints
     * target (a node of cluster c) to primary of epoch; probe_write is
     * one client write, answered 200 once acknowledged. Each call
     * carrying an epoch lower than the node has seen is refused (409). */
    void (*promote)(const char *replica, uint64_t epoch,
                    struct profile_request *rq);
    void (*fence)(uint64_t epoch, struct profile_request *rq);
    void (*replicate_from)(const struct config_cluster *c, const char *target,
                           const char *primary, uint64_t epoch,
                           struct profile_request *rq);
    void (*probe_write)(struct profile_request *rq);
};

/* profile_of: the ops of p (never NULL for a configured profile). */
const struct profile_ops *profile_of(enum cluster_profile p);

/* profile_supports: whether ops can run action a. Actions that do not
 * talk to the datastore (escalate, http, exec) are always supported. */
bool profile_supports(const struct profile_ops *ops, enum runbook_action a);

/* profile_free_ids: frees the n ids of read_breakers and the array. */
void profile_free_ids(char **ids, size_t n);

/* profile_request_free: frees rq's body. */
void profile_request_free(struct profile_request *rq);

/* profile_check_runbook: appends to errs an error for each step and
 * on_resolved step of rb whose action ops (the profile of cluster)
 * does not support, "FILE:LINE:COLUMN: steps[i].action: ..."; returns
 * how many it appended. */
int profile_check_runbook(const struct runbook *rb, const char *cluster,
                          const struct profile_ops *ops, struct errlist *errs);

/* profile_check_rules: profile_check_runbook() of every runbook of set
 * against each cluster of cfg it can match (runbook_may_match_cluster);
 * returns how many errors it appended. */
int profile_check_rules(const struct config *cfg, const struct runbook_set *set,
                        struct errlist *errs);

#endif
