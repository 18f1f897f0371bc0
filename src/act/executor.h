/* executor.h: the acting half on the engine thread: plans the queued
 * alerts (planner.c), journals and audits every decision, runs the
 * actions against the nodes, ramps throttles back and verifies.
 *
 * Order of records for an action (SPEC: "an action is journaled before
 * it runs"): the plan ({"type":"plan"}: dedupe key, cooldown, budget),
 * then {"type":"intent"} before the node call, then {"type":"outcome"}.
 * At start the journal is replayed: plans restore the planner's
 * bookkeeping, an intent without an outcome is recorded as interrupted
 * (and not run again: none of it is re-applied automatically), a job
 * planned whose steps had not all started (and was neither interrupted
 * nor cancelled) resumes at its first step without an intent
 * (resume.c), and alerts journaled by the webhook but never planned are
 * planned (the engine ticks the executor only once its first poll round
 * is in, so they find their targets).
 *
 * An intent is journaled only once its step has a slot and starts: it
 * promises that the act follows at once. When the journal fails
 * (fail-stop), nothing more starts. */
#ifndef REPLGUARD_EXECUTOR_H
#define REPLGUARD_EXECUTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct agent_view;
struct config_cluster;
struct config_escalation;
struct executor;
struct poller;
struct remedy;
struct rg_clock;
struct runbook_set;
struct tilt;

/* act_env: what the acting half reads of the monitoring half, filled by
 * the engine (which owns all of it and outlives the executor). Pointers
 * and callbacks are read and called on the engine thread only, during
 * executor_tick() and the other calls below, as the engine's own state.
 * view is the plain-data picture the engine rebuilds after every round;
 * the callbacks answer from the engine's live runtime and config (which
 * a reload may swap), at the moment they are called. */
struct act_env {
    const struct agent_view *view;
    const struct rg_clock *clock;
    const struct tilt *tilt; /* while active, nothing new starts */
    struct poller *poller;   /* the node calls' curl multi handle */
    void *ctx;               /* the callbacks' first argument */
    /* dry_run: the config's dry_run, now */
    bool (*dry_run)(void *ctx);
    /* cluster_conf: the config of the cluster called name, or NULL */
    const struct config_cluster *(*cluster_conf)(void *ctx, const char *name);
    /* node_url: the base URL of node of cluster (node NULL: its current
     * primary, observed else configured), or NULL when unknown */
    const char *(*node_url)(void *ctx, const char *cluster, const char *node);
    /* ingest_rate: the cluster's write rate (positions per second) over
     * the last window seconds, as poshist_rate(); -1 when unknown */
    int (*ingest_rate)(void *ctx, const char *cluster, double window,
                       double *rate);
    /* escalation_conf: the config's escalation: section, now (its
     * alertmanager_url NULL when there is none); NULL callback: none */
    const struct config_escalation *(*escalation_conf)(void *ctx);
    /* owner: whether this instance may act on cluster now (config ha:,
     * it owns the cluster), setting *token to the fencing token its
     * node calls carry; NULL: always, token 0 (act/fence.h) */
    bool (*owner)(void *ctx, const char *cluster, int64_t *token);
    /* job_phase: the record of kind ("failover": a failover's phase;
     * "throttle": the throttle set and its restore ramp; "steps": the
     * runbook steps not done yet) of a job of cluster in flight, json
     * (its JSON text, borrowed), or ended (json NULL): ha keeps it for a
     * new owner to take over (executor_adopt_job); NULL: not kept */
    void (*job_phase)(void *ctx, const char *cluster, const char *kind,
                      const char *json);
    /* job_synced: whether the last job_phase record of kind of cluster
     * is stored (ha: etcd acknowledged it); a failover phase, a ramp
     * move and a runbook step act only then, so a new owner never takes
     * over behind what was done. NULL: always */
    bool (*job_synced)(void *ctx, const char *cluster, const char *kind);
};

/* executor_new: the executor reading env (copied), taking alerts from
 * rem (which outlives it), acting by rules (owned from now on; NULL: no
 * runbooks) and writing audit lines to audit_path. Replays rem's journal.
 * Returns NULL with a reason in err. */
struct executor *executor_new(const struct act_env *env, struct remedy *rem,
                              struct runbook_set *rules, const char *audit_path,
                              char *err, size_t errlen);
/* executor_free: cancels what runs (journaled as interrupted) and frees
 * x; NULL is a no-op. */
void executor_free(struct executor *x);
/* executor_tick: takes queued alerts and acks, plans them, advances the
 * running actions, ramps and verifies. Cheap when idle. */
void executor_tick(struct executor *x, double now);
/* executor_audit_tilt: writes the audit line of a TILT change: event
 * "tilt_enter", "tilt_extend" or "tilt_exit", and why (borrowed). While
 * the engine is in TILT, executor_tick() starts nothing: alerts stay
 * queued (journaled already), steps, restore-ramp moves and verifies
 * wait, running actions finish. */
void executor_audit_tilt(struct executor *x, const char *event,
                         const char *why);
/* executor_reload_rules: swaps in new runbooks (owned) at once: alerts
 * are planned with them from now on, while jobs already planned finish
 * under the set they were planned with (each holds a reference). */
void executor_reload_rules(struct executor *x, struct runbook_set *rules);
/* executor_fill_view: adds remediation's counters, throttles, pause and
 * recent actions to v (strings owned by x, valid until the next tick). */
void executor_fill_view(struct executor *x, struct agent_view *v);
/* executor_adopt_failover: ha: this instance took over cluster from an
 * owner that had a failover in flight, whose last phase record is json
 * (act_env.job_phase): the run is journaled here and resumes at that
 * phase, as after a restart (failover_replay.c). Returns 0, or -1 when
 * json is no such record or a failover of the cluster runs already. */
int executor_adopt_failover(struct executor *x, const char *cluster,
                            const char *json);
/* executor_adopt_job: ha: this instance took cluster over, and the job
 * record of kind (act_env.job_phase) the owner before it left is json
 * (NULL: none). "failover": executor_adopt_failover(). "throttle": the
 * throttle and its restore ramp continue here from the move they
 * reached (a move recorded but maybe not acted is made again: setting
 * the same limit twice is harmless); NULL forgets what this instance
 * remembers of the cluster's throttle (whoever owned it since ended
 * it). "steps": the runbook steps the owner before had not finished are
 * not run here: each job's are journaled, audited "steps_dropped" and
 * escalated (reason handover_steps_dropped), then the record goes.
 * Returns 0, or -1 when json is no such record. */
int executor_adopt_job(struct executor *x, const char *cluster,
                       const char *kind, const char *json);
/* executor_idle: whether no action is running (for shutdown). */
bool executor_idle(const struct executor *x);
/* executor_drain: stopping (SIGTERM/SIGINT): from now on executor_tick()
 * plans nothing and starts no step, ramp move or verify (what is planned
 * stays journaled, to resume at the next start); running actions go on
 * until they finish. */
void executor_drain(struct executor *x);
/* executor_interrupt: ends every action still running (its child's group
 * is killed, its request cancelled) and journals and audits each as
 * interrupted, so a restart does not run it again. Returns how many. */
unsigned executor_interrupt(struct executor *x);

#endif
