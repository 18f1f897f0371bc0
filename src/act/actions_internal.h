/* actions_internal.h: actions.c, the node calls of one remediation step.
 * Called by executor.c; actions.c calls down into execstate.c only
 * (executor_internal.h). */
#ifndef REPLGUARD_ACTIONS_INTERNAL_H
#define REPLGUARD_ACTIONS_INTERNAL_H

#include <stddef.h>

#include "act/executor_internal.h"

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
 * (counting demotes running or done since the last poll), promote on
 * a profile without failover.
 * Returns the reason ("wrong_role", "last_healthy", "unsupported") with
 * a sentence in why, or NULL. */
const char *act_refusal(struct executor *x, const struct job *j, char *why,
                        size_t n);
/* act_refuse: records the refusal of j's current step (journal intent and
 * outcome "refused", audit event "refused", skipped counter, recent, log)
 * and moves j to its next step. */
void act_refuse(struct executor *x, struct job *j, const char *reason,
                const char *why);
/* act_skip_step: as act_refuse, recorded as skipped (outcome and audit
 * event "skipped"): a step not run because of the cluster's state (a
 * failover in flight), not because of what it is. */
void act_skip_step(struct executor *x, struct job *j, const char *reason,
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
