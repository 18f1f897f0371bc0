/* executor_internal.h: the executor's state and the bookkeeping on it
 * (execstate.c), the bottom of src/act's acting half. The files above
 * it, each calling only those below it (no include circles):
 *
 *   executor.c   the tick, planning, life cycle
 *     handover.c the runbook steps a new owner must know of (ha), and
 *                the handover entry point (executor_adopt_job)
 *     replay.c   the journal replayed at start (replay_internal.h)
 *       resume.c   jobs a crash left planned (resume_internal.h)
 *     actions.c  the node calls of one step (actions_internal.h)
 *       failover_*.c  the failover machine (failover_internal.h)
 *       ramp.c   the restore ramp, its record and handover (ha)
 *   execstate.c  counters, records, the journal queue, jobs, the view
 *
 * Only src/act includes it. Everything here belongs to the engine
 * thread; what the executor reads of the engine is x->env (executor.h). */
#ifndef REPLGUARD_EXECUTOR_INTERNAL_H
#define REPLGUARD_EXECUTOR_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "act/executor.h"
#include "act/guard.h"
#include "act/planner.h"
#include "config/runbook.h"
#include "model/view.h"

#define SLOTS          4  /* actions running at once */
#define RECENT         32 /* actions kept for /api/v1/state */
#define ACTION_TIMEOUT 5.0

enum outcome { OUT_SUCCESS, OUT_FAILURE, OUT_DRY_RUN };

struct executor;
struct esc_state;
struct fo_state;
struct job;
struct poll_req;
struct queued_alert;
struct spawn;

/* A running action: its slot and where it is in a multi-call action. */
struct slot {
    struct executor *x;
    struct poll_req *req;
    double limit;    /* throttle: the limit being set */
    struct job *job; /* NULL: free */
    int phase;       /* reset_circuit_breakers: 0 list, 1.. resets */
    char **agents;   /* breakers to reset */
    size_t n_agents, next_agent;
    struct spawn *child;
};

/* A planned alert's steps on one target, and how far they got. */
struct job {
    struct job *next;
    char key[PLANNER_KEY_MAX];
    char cluster[PLANNER_NAME_MAX], target[PLANNER_NAME_MAX];
    const struct runbook *rb;
    struct runbook_set *set; /* rb's set: a reference, so a reload that
                                swaps the rules leaves this job's alone */
    const struct runbook_step *steps[RUNBOOK_MAX_STEPS + 1];
    size_t n, at;
    bool dry_run, cancelled, running, on_resolved;
    double lag_before, verify_at;
    struct queued_alert *alert; /* labels for templates and exec */
    struct slot *slot;
    char after[PLANNER_KEY_MAX]; /* on_resolved: the firing job whose step
                                    in flight it waits for ("" none) */
};

/* A throttle replguard set, and its way back (restore_throttle). */
struct throttle {
    struct executor *x;
    char cluster[PLANNER_NAME_MAX];
    bool active, ramping;
    double limit;   /* in force (the last move the node took) */
    size_t step;    /* next restore step */
    double next_at; /* when the ramp moves (monotonic) */
    double at;      /* when the last move was taken (wall) */
    bool busy;      /* a rate-limit call is running */
    bool pending;   /* a move decided and recorded, not taken yet */
    size_t pend_step;
    double pend_limit;
};

/* The runbook steps record last handed to env.job_phase per cluster
 * (handover.c). */
struct steps_rec {
    char cluster[PLANNER_NAME_MAX];
    char *text;    /* NULL: none */
    uint64_t sig;  /* what text was built from (handover.c) */
    bool have_sig; /* sig is set */
};

/* A labelled counter for /metrics (up to 4 labels). */
/* Most series of one counter family (see exec_count). */
#define EXEC_MAX_SERIES 512

struct counter {
    enum metric_family family;
    char label[4][24];
    char value[4][PLANNER_NAME_MAX];
    double v;
};

/* A finished action, as /api/v1/state shows it. */
struct recent {
    double time;
    char cluster[PLANNER_NAME_MAX], runbook[PLANNER_NAME_MAX];
    char action[32], target[PLANNER_NAME_MAX], outcome[16], detail[128];
    bool dry_run;
    double lag_before, lag_after; /* seconds; -1 unknown (after: set by
                                     the verify's audit line) */
};

/* An app throttle a runbook set (throttle_app), for its restore ramp
 * (appramp.c). */
struct app_ramp {
    char cluster[PLANNER_NAME_MAX], app[65];
    double ratio0;  /* the ratio the step set */
    double expires; /* Unix seconds */
    size_t step;    /* steps taken down */
    bool ramping;
    double next_at; /* monotonic: when the ramp moves */
};

/* The executor: owned by the engine, used on its thread only. */
struct executor {
    struct act_env env; /* what it reads of the engine (executor.h) */
    struct remedy *rem;
    struct runbook_set *rules; /* what new alerts are planned with */
    struct planner *planner;
    struct audit *audit;
    struct plan_list plans;
    struct job *jobs;
    struct slot slots[SLOTS];
    struct throttle **throttles; /* each on its own: a ramp's call holds
                                    a pointer to it */
    size_t n_throttles;
    struct steps_rec *steprecs;
    size_t n_steprecs;
    struct app_ramp *app_ramps;
    size_t n_app_ramps;
    struct appthrottle_entry *app_list; /* the view's copy (execstate.c) */
    struct view_app_throttle *vapps;
    struct counter *counters;
    size_t n_counters;
    struct view_sample *samples;
    struct view_action vrecent[RECENT];
    struct recent recent[RECENT];
    size_t n_recent, recent_head;
    unsigned in_flight;
    cJSON *batch;                 /* journal records not written yet */
    bool fail_stopped;            /* the journal failed: logged, nothing acts */
    struct guard_demotes demotes; /* demotes running or not yet polled */
    bool draining; /* stopping: nothing new starts, running ones finish */
    double audit_synced;
    struct fo_state *fo;   /* failover (failover_internal.h) */
    struct esc_state *esc; /* escalation alerts (escalation.c) */
    /* the view's runbook limits (execstate.c), grown, never shrunk */
    struct view_runbook *vrunbooks;
    char (*rb_names)[3][PLANNER_NAME_MAX]; /* runbook, cluster, target */
    size_t rb_cap;
};

/* --- execstate.c: counters, records, the journal queue, jobs ------------ */

/* exec_count: adds add to the counter of family with labels = values
 * (NULL-terminated, at most 4), creating it at 0 first. The counters are
 * owned by x and live until executor_free. */
void exec_count(struct executor *x, enum metric_family family,
                const char *const *labels, const char *const *values,
                double add);
/* exec_journal_json: queues journal record o (owned from now on) for the
 * next exec_journal_flush, which writes the queued ones as one durable record.
 */
void exec_journal_json(struct executor *x, cJSON *o);
/* exec_audit: writes one audit line for event on job j (NULL: none);
 * action and reason may be NULL, lag_after < 0 means unknown. A failed
 * write is logged, never returned. */
void exec_audit(struct executor *x, const char *event, const struct job *j,
                const char *action, const char *reason, bool dry_run,
                double lag_after);
/* exec_remember: keeps j's action and its outcome among the recent ones
 * shown in the view (copied; the oldest is dropped past RECENT). */
void exec_remember(struct executor *x, const struct job *j, const char *action,
                   const char *outcome, const char *detail);
/* exec_journal_flush: writes the queued records as one durable record.
 * Returns 0 or -errno (the journal has failed). */
int exec_journal_flush(struct executor *x);
/* exec_fail_stop: whether the journal has failed (fail-stop: nothing
 * acts from then on); logs the transition once. */
bool exec_fail_stop(struct executor *x);
/* exec_dry_run: the config's dry_run, now (x->env). */
bool exec_dry_run(const struct executor *x);

/* exec_fill_view: remediation's part of executor_fill_view() (counters,
 * throttles, pause, recent actions); the failover part is fo_fill_view's.
 */
void exec_fill_view(struct executor *x, struct agent_view *v);

/* --- appramp.c: throttle_app and its restore ramp ----------------------- */

struct runbook_step;
/* appramp_set: runs j's throttle_app step st: throttles st->app on j's
 * cluster (durably, appthrottle.h) and finishes the step. */
void appramp_set(struct executor *x, struct job *j,
                 const struct runbook_step *st);
/* appramp_restore: starts the restore ramp of the app throttles runbooks
 * set on cluster (restore_throttle); returns how many. */
size_t appramp_restore(struct executor *x, const char *cluster);
/* appramp_tick: moves the ramps due at now (monotonic). */
void appramp_tick(struct executor *x, double now);

struct poll_result;
/* exec_status_reason: what a node answering with a status other than
 * success said, for details: an SQL node's error message (lib/poller.h),
 * or "" (an HTTP node says it in its body, which details leave out). */
const char *exec_status_reason(const struct poll_result *r);

/* --- ramp.c: the restore ramp, its records and its handover ------------- */

/* ramp_throttle_of: cluster's throttle, created inactive. */
struct throttle *ramp_throttle_of(struct executor *x, const char *cluster);
/* ramp_record: hands t's state to env.job_phase ("throttle"): the
 * limit in force, the ramp, and a move decided but not taken; NULL once
 * t is inactive. */
void ramp_record(struct executor *x, const struct throttle *t);
/* ramp_tick: moves the ramps due at now (monotonic). A move is decided,
 * recorded, and taken once env.job_synced says the record is stored. */
void ramp_tick(struct executor *x, double now);
/* ramp_adopt: executor_adopt_job()'s "throttle". */
int ramp_adopt(struct executor *x, const char *cluster, const char *json);

/* --- handover.c: runbook steps in flight, for a new owner (ha) ---------- */

/* ho_steps_ready: records the runbook steps not done on cluster (its
 * jobs' from their current one) when they changed since the last
 * record, and says whether the record is stored (env.job_synced): a
 * step starts only then. */
bool ho_steps_ready(struct executor *x, const char *cluster);
/* ho_steps_sync: ho_steps_ready() for every cluster that had a record
 * (the record goes once the jobs are done). Both do nothing without
 * ha: (no fencing token) and rebuild a record only when its jobs
 * moved. */
void ho_steps_sync(struct executor *x);
/* ho_steps_adopt: executor_adopt_job()'s "steps". */
int ho_steps_adopt(struct executor *x, const char *cluster, const char *json);
/* ho_free: frees the records' cache. */
void ho_free(struct executor *x);

/* --- escalation.c: escalations as Alertmanager alerts (escalation.h) ---- */

/* esc_init: x's escalation state (x->env set); esc_free: releases it,
 * aborting a post in flight. */
void esc_init(struct executor *x);
void esc_free(struct executor *x);
/* esc_ack: cluster acked: its escalation alerts are resolved (journaled,
 * posted with endsAt now, then forgotten). */
void esc_ack(struct executor *x, const char *cluster);
/* esc_tick: starts a post when one is due (now: monotonic seconds);
 * never blocks. */
void esc_tick(struct executor *x, double now);
/* esc_replay_record: a journaled "escalation" (the alert again, its
 * cluster latched in the planner) or "escalation_ack" record. */
void esc_replay_record(struct executor *x, const cJSON *o);

/* exec_new_job: a job for decision d (no steps yet, d->rb of x->rules,
 * whose reference the job holds) on a copy of alert a, put at the tail
 * of x's jobs (they start in that order); owned by x. */
struct job *exec_new_job(struct executor *x, const struct plan_decision *d,
                         const struct queued_alert *a);

#endif
