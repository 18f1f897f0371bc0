/* executor_internal.h: the executor's state, shared by executor.c
 * (counters and records, jobs and planning, the restore ramp, the tick,
 * the view, replay) and actions.c (the node calls of one step). Nothing
 * else includes it. Everything here belongs to the engine thread. */
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
    char cluster[PLANNER_NAME_MAX];
    bool active, ramping;
    double limit;
    size_t step;    /* next restore step */
    double next_at; /* when the ramp moves */
    bool busy;      /* a rate-limit call is running */
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
    struct throttle *throttles;
    size_t n_throttles;
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
};

/* --- executor.c: counters, records and lookups ---------------------------- */

/* exec_count: adds add to the counter of family with labels = values
 * (NULL-terminated, at most 4), creating it at 0 first. The counters are
 * owned by x and live until executor_free. */
void exec_count(struct executor *x, enum metric_family family,
                const char *const *labels, const char *const *values,
                double add);
/* exec_journal_json: queues journal record o (owned from now on) for the
 * next journal_flush, which writes the queued ones as one durable record. */
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
/* exec_dry_run: the config's dry_run, now (x->env). */
bool exec_dry_run(const struct executor *x);

/* exec_new_job: a job for decision d (no steps yet, d->rb of x->rules,
 * whose reference the job holds) on a copy of alert a, put at the tail
 * of x's jobs (they start in that order); owned by x. */
struct job *exec_new_job(struct executor *x, const struct plan_decision *d,
                         const struct queued_alert *a);

/* --- resume.c: jobs a crash left planned, found again at start ------------ */

struct resume;

/* resume_new, resume_free: the replay's bookkeeping (free(NULL) is a
 * no-op). */
struct resume *resume_new(void);
void resume_free(struct resume *r);
/* resume_plan: a plan record o (journal record seq); resume_intent: an
 * intent of step of job key; resume_cancel: the job was cancelled;
 * resume_interrupted: a step of the job was interrupted (an intent
 * without an outcome now, or an earlier start's "interrupted" outcome;
 * seq UINT64_MAX: after every record). */
void resume_plan(struct resume *r, const cJSON *o, uint64_t seq);
void resume_intent(struct resume *r, const char *key, int step, uint64_t seq);
void resume_cancel(struct resume *r, const char *key, uint64_t seq);
void resume_interrupted(struct resume *r, const char *key, uint64_t seq);
/* resume_origin: the runbook (borrowed from r) and alert (journal
 * record << 20 | index; 0 when the plan had no steps) of the latest plan
 * of job key. Returns 0, or -1 when no plan has that key. */
int resume_origin(const struct resume *r, const char *key, const char **runbook,
                  uint64_t *alert);
/* resume_finish: puts every job that has steps not started (and was not
 * cancelled or interrupted) back on x, from its first step not started;
 * alerts (n_alerts, in journal order) are the journal's alerts. Returns
 * how many were resumed. */
size_t resume_finish(struct resume *r, struct executor *x,
                     struct queued_alert *const *alerts, size_t n_alerts);

/* --- actions.c: the node calls of one step -------------------------------- */

/* act_release_slot: frees what slot s holds (breaker list, child) and
 * marks it free. The slot's request handle is kept. */
void act_release_slot(struct slot *s);
/* act_journal_step: queues a step record of type ("intent", "outcome")
 * for j's current step; outcome may be NULL. */
void act_journal_step(struct executor *x, const struct job *j, const char *type,
                      const char *outcome);
/* act_refusal: whether j's current step must not run, checked before
 * its intent in live and dry-run mode alike: the target's role does not
 * fit the action (guard.h), a demote of the last healthy replica
 * (counting demotes running or done since the last poll), promote.
 * Returns the reason ("wrong_role", "last_healthy", "unsupported") with
 * a sentence in why, or NULL. */
const char *act_refusal(struct executor *x, const struct job *j, char *why,
                        size_t n);
/* act_refuse: records the refusal of j's current step (journal intent and
 * outcome "refused", audit event "refused", skipped counter, recent, log)
 * and moves j to its next step. */
void act_refuse(struct executor *x, struct job *j, const char *reason,
                const char *why);
/* act_finish_step: records outcome o of j's current step (journal, audit,
 * counter, recent, log), frees its slot and moves j to its next step,
 * arming the verify when that was the last one. */
void act_finish_step(struct executor *x, struct job *j, enum outcome o,
                     const char *detail);
/* act_escalation: counts an escalation of j, blocks its cluster in the
 * planner until acked and logs why. */
void act_escalation(struct executor *x, const struct job *j, const char *why);
/* act_start_action: starts the node call(s) of j's current step on slot s;
 * when nothing could be started it finishes the step itself. */
void act_start_action(struct executor *x, struct job *j, struct slot *s);
/* act_poll_child: finishes the exec step of slot s once its child has
 * exited, without blocking; a no-op while it runs. */
void act_poll_child(struct executor *x, struct slot *s, double now);

#endif
