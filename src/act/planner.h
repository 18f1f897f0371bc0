/* planner.h: the remediation planner: from an alert, the runbooks and
 * what the engine knows of the target, to decisions (SPEC section 8).
 *
 * Pure: values in, decisions out, with its own bookkeeping (dedupe keys,
 * cooldowns, budgets, pause, latched blocks) in a struct planner that
 * the engine owns. Time is passed in (wall seconds), so tests replay any
 * schedule instantly. Nothing here does I/O; the engine journals each
 * decision before it acts, and replays them with planner_restore_*()
 * after a restart.
 *
 * For one alert and each runbook it matches, in this order:
 *   target     the alert's target_label names a node; its cluster is the
 *              alert's `cluster` label, else the one cluster having a
 *              node of that name (none or several: unknown_target)
 *   duplicate  the same alert (fingerprint, startsAt, status) for this
 *              runbook was planned before, or a firing alert's resolve
 *              was (a late or reordered firing: it must not act)
 *   paused     remediation is paused
 *   blocked    an escalation latched the cluster until an ack, and
 *              the runbook has no reversible step (else see steps)
 *   stale      the target or its primary was not polled successfully in
 *              the last 3 intervals: do not act on old data
 *   escalate   escalate_when holds (not evaluated under a latch):
 *              escalate (PLAN_ESCALATE) and latch the cluster (an
 *              unknown value here counts as stale); a runbook without
 *              reversible steps stops here
 *   cooldown   this runbook acted on this target less than cooldown ago
 *   budget     max_actions_per_hour of this runbook in this cluster
 *   steps      each step whose `when` holds runs (dry_run when the agent
 *              or the runbook says so); `when` false or unknown: skipped
 *              with reason condition. Escalated or latched, only the
 *              reversible steps (runbook.h) run: the others are skipped
 *              as escalated (this alert escalated) or blocked (latched
 *              before), and an escalate step is left out (the
 *              PLAN_ESCALATE carries it). Paging a human and stopping
 *              the risky acts are one thing; lowering the ingest is not.
 *              A latched alert with a step held as blocked is not booked
 *              (decisions flagged unbooked): its repeat after the ack
 *              can run it.
 * A resolved alert runs the runbook's on_resolved steps (no cooldown or
 * budget: they undo) and cancels the firing alert's steps not started
 * (its PLAN_CANCEL comes first; the executor starts on_resolved only once
 * the firing job's step in flight has finished). */
#ifndef REPLGUARD_PLANNER_H
#define REPLGUARD_PLANNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "formats/expr.h"
#include "config/runbook.h"

#define PLANNER_KEY_MAX    192
#define PLANNER_NAME_MAX   64
#define PLANNER_DEDUPE_TTL (7 * 86400.0) /* how long a key is remembered */

enum skip_reason {
    SKIP_DUPLICATE,
    SKIP_COOLDOWN,
    SKIP_PAUSED,
    SKIP_STALE,
    SKIP_BUDGET,
    SKIP_BLOCKED,
    SKIP_CONDITION,
    SKIP_ESCALATED,
    SKIP_UNKNOWN_TARGET,
    SKIP_NOT_OWNER, /* ha: another instance owns the cluster (fence.h) */
    SKIP_REASONS
};

/* skip_reason_name: "duplicate", "cooldown", ... (SPEC section 5). */
const char *skip_reason_name(enum skip_reason r);

/* What the engine knows of an alert's target. */
struct plan_target {
    char cluster[PLANNER_NAME_MAX];
    bool fresh;          /* target and primary polled within 3 intervals */
    struct expr_env env; /* lag, merkle_diff, ... of the target */
};

/* The engine's answer to "which cluster, and what of it": fill *out for
 * node `target` in `cluster` (NULL: search every cluster). Return 0, or
 * -1 when there is no such node, -2 when several clusters have one. */
typedef int (*plan_lookup_fn)(void *ctx, const char *cluster,
                              const char *target, struct plan_target *out);

/* The alert, as the planner needs it. */
struct plan_alert {
    struct labels labels; /* any order */
    const char *fingerprint;
    double starts_at; /* seconds; identifies the firing instance */
    bool resolved;
};

enum plan_kind {
    PLAN_RUN,      /* run step (dry_run: record only) */
    PLAN_SKIP,     /* not run, for reason (step NULL: the whole runbook) */
    PLAN_ESCALATE, /* escalate instead of acting (step: the runbook's
                      escalate step, or NULL when it has none) */
    PLAN_CANCEL,   /* cancel the steps not started of the firing job key */
};

struct plan_decision {
    enum plan_kind kind;
    enum skip_reason reason; /* PLAN_SKIP */
    const struct runbook *rb;
    const struct runbook_step *step;
    bool dry_run;
    bool on_resolved;
    char cluster[PLANNER_NAME_MAX]; /* "" when unknown */
    char target[PLANNER_NAME_MAX];
    char key[PLANNER_KEY_MAX]; /* the job: fingerprint|startsAt|rb */
    double lag_before;         /* the target's lag, or -1 unknown */
    bool unbooked; /* the key was not booked (steps held by a latch):
                      a replay must not restore it */
};

/* A growable list of decisions; the caller owns it. */
struct plan_list {
    struct plan_decision *v;
    size_t n, cap;
};

/* plan_list_reset: empties l, keeping its allocation; plan_list_free:
 * releases it. */
void plan_list_reset(struct plan_list *l);
void plan_list_free(struct plan_list *l);

struct planner;

/* planner_new: empty bookkeeping, not paused. Free with planner_free();
 * NULL is a no-op. */
struct planner *planner_new(void);
void planner_free(struct planner *p);

/* planner_plan: appends the decisions for alert a at time now to out,
 * and books them (dedupe key, cooldown, budget, latch). dry_run is the
 * agent's global dry-run. Runbooks are tried in set order. */
void planner_plan(struct planner *p, const struct runbook_set *rs,
                  const struct plan_alert *a, bool dry_run, double now,
                  plan_lookup_fn lookup, void *ctx, struct plan_list *out);

/* Pause and latches. */
void planner_set_paused(struct planner *p, bool paused);
bool planner_paused(const struct planner *p);
/* planner_block: latches cluster (an escalation); planner_ack clears it
 * and returns whether it was latched. planner_blocked: whether it is. */
void planner_block(struct planner *p, const char *cluster);
bool planner_ack(struct planner *p, const char *cluster);
bool planner_blocked(const struct planner *p, const char *cluster);

/* Replay after a restart: the bookkeeping a journaled decision made.
 * planner_restore_key: a dedupe key seen at time t. planner_restore_run:
 * a step of rb that ran at t for cluster/target (cooldown and budget). */
void planner_restore_key(struct planner *p, const char *key, double t);
void planner_restore_run(struct planner *p, const char *runbook,
                         const char *cluster, const char *target, double t,
                         double cooldown);

/* planner_dedupe_key: the key of alert a under runbook rb, in out. */
void planner_dedupe_key(const struct plan_alert *a, const char *runbook,
                        char *out, size_t n);

/* For the status page (executor_fill_view): the hourly budgets p keeps,
 * one per runbook and cluster that an alert was planned for.
 * planner_budget_count: how many. planner_budget_at: budget i (0 <= i <
 * count): its runbook and cluster names (into buffers of
 * PLANNER_NAME_MAX) and the actions charged in the hour before now.
 * planner_cooldown_until: when the cooldown of runbook on cluster/target
 * ends (wall seconds), 0 when it has none. Read only. */
size_t planner_budget_count(const struct planner *p);
size_t planner_budget_at(const struct planner *p, size_t i, double now,
                         char *runbook, char *cluster);
double planner_cooldown_until(const struct planner *p, const char *runbook,
                              const char *cluster, const char *target);

#endif
