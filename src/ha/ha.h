/* ha.h: several replguard instances sharing the clusters through etcd
 * (config `ha:`, issue 19).
 *
 * Each instance holds a lease and a member key PREFIX/members/NAME under
 * it, kept alive every ttl/3. Each cluster belongs to one live member by
 * rendezvous hashing of the cluster name over the member names; the
 * owner takes PREFIX/owners/CLUSTER under its lease with a
 * create-if-absent transaction, and that key's create revision is the
 * cluster's fencing token. A member that finds a cluster it holds now
 * hashes to another member releases it (a delete comparing the value).
 * The owner keeps the records of its jobs in flight on a cluster in
 * PREFIX/jobs/CLUSTER/KIND (ha_put_job): a failover's phase, the
 * throttle and its restore ramp, the runbook steps still queued; the
 * next owner reads them with its claim and takes them over
 * (ha_set_adopt).
 *
 * Threading: everything runs on the thread that calls ha_tick() and
 * drives the poller it was given (the engine thread): requests go
 * through that poller's slots, one at a time, so nothing here ever
 * blocks that thread or the HTTP threads. ha_stop() is the only call
 * that waits (bounded), at shutdown.
 *
 * Safety: ha_owns() answers true only while the lease is known to be
 * alive: until ttl after the send time of the last keep-alive etcd
 * acknowledged. A process stopped (SIGSTOP) or cut off from etcd for
 * longer than that owns nothing until it has renewed or re-taken its
 * keys; its clusters' keys may then belong to another member, whose
 * higher token the nodes prefer. */
#ifndef REPLGUARD_HA_H
#define REPLGUARD_HA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config_ha;
struct poller;
struct ha;

#define HA_MAX_MEMBERS 64

/* The kinds of job record (the last part of a job key): "failover",
 * "throttle", "steps". */
#define HA_JOB_KINDS 3
extern const char *const ha_job_kinds[HA_JOB_KINDS];

/* What the metrics show (copied out by ha_status). */
struct ha_status {
    bool etcd_up;     /* the last request to etcd was answered */
    bool lease_alive; /* ha_owns() may answer true */
    size_t n_members;
    char members[HA_MAX_MEMBERS][65];
    size_t owned;          /* clusters whose key this member holds, alive */
    uint64_t etcd_errors;  /* requests that failed, since start */
    uint64_t lease_losses; /* leases found expired or lost */
};

/* ha_new: an HA member as conf says (borrowed: it must outlive h, or be
 * replaced with ha_set_clusters()), its requests on poller p. Starts
 * nothing until ha_tick(). Free with ha_free(). */
struct ha *ha_new(const struct config_ha *conf, struct poller *p);
/* ha_set_clusters: the cluster names to share (copied); ownership of
 * names no longer listed is forgotten. conf as for ha_new(). */
void ha_set_clusters(struct ha *h, const struct config_ha *conf,
                     const char *const *names, size_t n);
/* ha_set_busy: busy(ctx, cluster) says whether this member has work in
 * flight on cluster (a failover between phases): a cluster it holds
 * that the hash now gives another member is kept until busy() says no,
 * so a handover never cuts a failover in half. NULL: never busy. */
void ha_set_busy(struct ha *h, bool (*busy)(void *ctx, const char *cluster),
                 void *ctx);
/* ha_put_job: the record of kind (one of ha_job_kinds; another is
 * ignored) of cluster's job in flight (json text, copied; NULL: the job
 * ended), written to PREFIX/jobs/CLUSTER/KIND (no lease: it outlives
 * this member) at the next idle moment, before the next cycle's
 * requests, only while this member owns the cluster (a transaction
 * comparing its token). A newer record replaces one not written yet. */
void ha_put_job(struct ha *h, const char *cluster, const char *kind,
                const char *job);
/* ha_job_synced: whether cluster's last ha_put_job() of kind is in
 * etcd (or was dropped: the cluster is not ours). */
bool ha_job_synced(const struct ha *h, const char *cluster, const char *kind);
/* ha_set_adopt: each time this member takes a cluster, adopt(ctx,
 * cluster, kind, job) is called once per kind, job being the record the
 * claim read (NULL: none, that job is not in flight, whatever this
 * member remembers of it). */
void ha_set_adopt(struct ha *h,
                  void (*adopt)(void *ctx, const char *cluster,
                                const char *kind, const char *job),
                  void *ctx);
/* ha_tick: advances the state machine at monotonic time now: starts
 * the next request when one is due and none runs. Cheap otherwise. */
void ha_tick(struct ha *h, double now);
/* ha_owns: whether this member may act on cluster at now: it holds the
 * ownership key under a lease known to be alive. Sets *token to the
 * fencing token then (0 otherwise). */
bool ha_owns(const struct ha *h, const char *cluster, double now,
             int64_t *token);
/* ha_holds: whether this member held cluster's key when etcd last
 * answered (even if the lease may have expired since): what poll: owned
 * keeps polling while etcd is away (fail static). */
bool ha_holds(const struct ha *h, const char *cluster);
/* ha_status: the state for /metrics, at now. */
void ha_status(const struct ha *h, double now, struct ha_status *out);
/* ha_stop: a clean stop: revokes the lease (its keys go at once, and
 * the other members take the clusters at their next check), waiting at
 * most timeout seconds on the poller. */
void ha_stop(struct ha *h, double timeout);
/* ha_free: cancels a running request and frees h; NULL is a no-op. */
void ha_free(struct ha *h);

/* ha_rendezvous: the index in members[0..n) of the member cluster
 * belongs to (highest hash of the pair, ties to the smaller name), or
 * -1 when n is 0. */
int ha_rendezvous(const char *cluster, const char *const *members, size_t n);

#endif
