/* failover_internal.h: the failover machine of the executor (issue 15),
 * on the engine thread. Its files, each calling only those below it:
 *
 *   failover_run.c     the tick: detection, switchover requests, the
 *                      runbook promote, starts and refusals, rejoin of
 *                      a returned old primary, the view
 *   failover_phase.c   the journaled phases of one failover and their
 *                      node calls (profile builders, the poller)
 *   failover_replay.c  failover records of the journal at start: the
 *                      epochs used, the last outcome, block_period, and
 *                      the run a crash interrupted (resumed)
 *   failover.c         the pure decisions (failover.h)
 *
 * Journal records (each queued and flushed durably before what it
 * announces happens), all {"type":"failover", ...} with every field of
 * the run, so the last one of a cluster says all a restart needs:
 *   cluster, id, kind (automatic|switchover|runbook), planned (the
 *   switchover sequence: prepare, catchup, fence required), from, to,
 *   need, loss, epoch (0 until the epoch phase), dry_run, t (wall), and
 *   phase: plan, prepare, epoch, fence, catchup, promote, repoint,
 *   verify, rollback (with reason; each before it runs), done (with
 *   outcome success|failed,
 *   duration, lost_positions, reason) or refused (with reason).
 * Besides: {"type":"failover_ack","cluster","t"} (an ack lifted the
 * block) and {"type":"failover_rejoin","cluster","node","primary",
 * "epoch","t"} (before a returned old primary is fenced and repointed).
 *
 * Only src/act includes it. */
#ifndef REPLGUARD_FAILOVER_INTERNAL_H
#define REPLGUARD_FAILOVER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "act/forequest.h"
#include "model/view.h"

struct executor;
struct poll_req;
struct config_cluster;
struct profile_request;

enum fo_kind { FO_AUTOMATIC, FO_SWITCHOVER, FO_RUNBOOK, FO_KINDS };

enum fo_phase {
    PH_IDLE,
    PH_PLAN,
    PH_PREPARE,
    PH_EPOCH,
    PH_FENCE,
    PH_CATCHUP,
    PH_PROMOTE,
    PH_REPOINT,
    PH_VERIFY,
    PH_ROLLBACK, /* a switchover failed after the fence: the old primary
                    promoted back at E */
    PH_DONE,
    PH_REFUSED,
    PH_COUNT
};

struct fo_cluster;

/* One node call of a failover (fence, promote, ...) in flight or done. */
struct fo_call {
    struct fo_cluster *fc;
    struct poll_req *req;
    char node[FO_NAME_MAX];
    bool busy, done, ok;
    long status;
    char error[256]; /* "HTTP 409: the node's message", or the poller's */
};

/* A cluster's failover: the run in flight (active) and its history. */
struct fo_cluster {
    char name[FO_NAME_MAX];
    /* the run */
    bool active;
    enum fo_phase phase;
    bool begun;    /* the current phase's record is journaled, calls sent */
    bool recorded; /* journaled, waiting for env.job_synced (ha) */
    bool resumed;  /* restored from the journal after a restart */
    bool planned;  /* the switchover sequence */
    bool dry_run;
    enum fo_kind kind;
    char id[96];
    char from[FO_NAME_MAX], to[FO_NAME_MAX];
    uint64_t need, loss, epoch;
    uint64_t final_pos; /* catchup: the fenced primary's last position */
    bool have_final, probe_ok, probe_sent;
    char fail_reason[512]; /* rollback: why the switchover failed */
    double t0_mono, t0_wall, phase_t0, deadline;
    /* calls, one per node name (pointers: the poller keeps them) */
    struct fo_call **calls;
    size_t n_calls;
    unsigned pending;
    /* history */
    uint64_t max_epoch;       /* the highest epoch journaled */
    double last_success_wall; /* of the last success but a planned one
                                 (switchover): block_period counts from
                                 it; 0: none (dry runs set none) */
    uint64_t success_epoch;   /* the epoch of the last success */
    bool acked;               /* an ack lifted the block since */
    bool blocked;             /* a failover due was refused as blocked */
    bool have_last;
    struct view_failover last;
    char last_kind[16], last_outcome[16], last_reason[48];
    char last_from[FO_NAME_MAX], last_to[FO_NAME_MAX];
    /* per node of the cluster (view order): its lag was known at the
     * last round the primary was up (a dead primary sends no heartbeat,
     * so the lag now is unknown for all) */
    bool *lag_known;
    size_t n_lag;
    /* the current outage of the primary (detection) */
    bool held_said, dry_done;
    char refused_said[24];
    /* rejoin of a returned old primary */
    int rejoin_step; /* 0 none, 1 fencing, 2 repointing */
    char rejoin_node[FO_NAME_MAX], rejoin_primary[FO_NAME_MAX];
    uint64_t rejoin_epoch;
    double rejoin_next;
    char rejoin_said[FO_NAME_MAX]; /* escalated: it refused to follow */
    uint64_t rejoin_said_epoch;
};

/* All clusters' failover state (executor.fo). */
struct fo_state {
    struct fo_cluster **v;
    size_t n;
    double start_mono; /* when the executor started: detection waits a
                          full detect_after from here */
};

/* --- failover_run.c ----------------------------------------------------- */

/* fo_new, fo_free: the state; free cancels the calls in flight. */
struct fo_state *fo_new(double start_mono);
void fo_free(struct fo_state *f);
/* fo_cluster_of: the state of cluster name, created on first use. */
struct fo_cluster *fo_cluster_of(struct fo_state *f, const char *name);
/* fo_tick: answers switchover requests, runs detection on clusters with
 * failover enabled, advances running failovers (not while held: paused,
 * TILT, draining; they hold between phases) and rejoins returned old
 * primaries. */
void fo_tick(struct executor *x, double now, bool held);
/* fo_running: whether a failover of cluster is in flight. */
bool fo_running(struct executor *x, const char *cluster);
/* fo_ack: an ack of cluster: lifts the block_period block (journaled). */
void fo_ack(struct executor *x, const char *cluster);
/* fo_start_runbook: the runbook action promote on cluster, target its
 * alert's target (the replica to promote when it is one). Returns NULL
 * when a failover started (journaled), else the refusal reason with a
 * sentence in why. */
const char *fo_start_runbook(struct executor *x, const char *cluster,
                             const char *target, char *why, size_t n);
/* fo_fill_view: the failover fields of each cluster of v (strings owned
 * by x, valid until the next tick). */
void fo_fill_view(struct executor *x, struct agent_view *v);

/* --- failover_phase.c --------------------------------------------------- */

extern const char *const fo_phase_names[PH_COUNT];
extern const char *const fo_kind_names[FO_KINDS];

/* fo_record: a journal record of fc's run at phase (the caller adds
 * what else it needs and queues it). */
cJSON *fo_record(struct executor *x, const struct fo_cluster *fc,
                 const char *phase);
/* fo_audit: an audit line of fc's run: event, the phase (NULL: none),
 * ok (-1: not said), detail (NULL: none). */
void fo_audit(struct executor *x, const struct fo_cluster *fc,
              const char *event, const char *phase, int ok, const char *detail);
/* fo_escalate: the notice that needs a human: escalations counter
 * (runbook "failover"), audit "escalated", a WARN line. */
void fo_escalate(struct executor *x, const struct fo_cluster *fc,
                 const char *why);
/* fo_send: sends rq (freed) to node of fc's cluster within timeout;
 * -1 when it could not start (no URL, its call busy). */
int fo_send(struct executor *x, struct fo_cluster *fc, const char *node,
            struct profile_request *rq, double timeout);
/* fo_call_of: fc's call for node, or NULL when none was made. */
struct fo_call *fo_call_of(struct fo_cluster *fc, const char *node);
/* fo_advance: moves fc's run on as far as it can this tick: journals a
 * phase before it starts it, checks its calls and the view, finishes
 * the run (done record, audit, counters, notice). */
void fo_advance(struct executor *x, struct fo_cluster *fc, double now);
/* fo_finish: ends fc's run with outcome "success" or "failed" (reason
 * NULL on success): the done record, audit failover_done, counters,
 * the escalation notice and the last-failover record. */
void fo_finish(struct executor *x, struct fo_cluster *fc, bool ok,
               const char *reason);
/* fo_call_timeout: how long a node call of a failover may take: the
 * poll timeout's order (a dead node must not hold the failover). */
double fo_call_timeout(const struct executor *x);
/* fo_set_last: the last-failover record of fc for the view. */
void fo_set_last(struct fo_cluster *fc, const char *kind, const char *outcome,
                 const char *from, const char *to, const char *reason,
                 uint64_t epoch, uint64_t lost, double started_wall,
                 double duration);

/* --- failover_replay.c -------------------------------------------------- */

/* fo_replay_record: one failover record of the journal at start (type
 * "failover", "failover_ack", "failover_rejoin"). */
void fo_replay_record(struct executor *x, const cJSON *o);
/* fo_mirror: hands fc's phase record o to env.job_phase (a run's end:
 * end true, the kept phase is cleared). */
void fo_mirror(struct executor *x, const struct fo_cluster *fc, const cJSON *o,
               bool end);
/* fo_replay_finish: after the journal: a run whose last record is
 * neither done nor refused is resumed at that phase (logged, audited). */
void fo_replay_finish(struct executor *x);

#endif
