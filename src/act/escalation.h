/* escalation.h: escalations that reach a human. An escalation (a
 * runbook's escalate_when, a failed verify, an escalate step; see
 * act_escalation in actions_internal.h, which also latches the cluster)
 * becomes an Alertmanager alert named ReplguardEscalation, posted to the
 * config's escalation.alertmanager_url (POST /api/v2/alerts, a JSON
 * array) with the labels cluster, replica, runbook and reason, the
 * config's extra labels, and a summary and description annotation.
 *
 * Life of one: raised (journaled {"type":"escalation"}, audited
 * "escalated"), posted at once and re-posted every
 * escalation.repost_interval (default 1m) while its cluster is latched,
 * without an endsAt (Alertmanager would resolve an alert not re-posted
 * within its resolve_timeout, 5m by default); acked (POST
 * /api/v1/ack/{cluster}: journaled {"type":"escalation_ack"}), it is
 * posted once more with endsAt = now, which resolves it, and forgotten.
 * Audit events: "escalation_sent" when an alert first reached
 * Alertmanager, "escalation_resolved" when its resolution did,
 * "escalation_failed" at the first failed post of a streak.
 *
 * Never lost: a post that fails (no answer, a non-2xx status) is
 * logged, counted (replguard_escalation_notify_failures_total) and
 * retried every 5 s (or repost_interval when shorter) until Alertmanager
 * takes it; a restart replays the journal and posts the escalations
 * not acked yet again (the cluster stays latched). Posts go through the
 * engine's poller: non-blocking, on the engine thread, no thread of
 * their own. Without escalation: in the config nothing is posted; the
 * escalation is still counted, logged, audited and latches.
 *
 * Same cluster, replica and runbook twice: one alert (the first reason
 * stays). Everything here runs on the engine thread. */
#ifndef REPLGUARD_ESCALATION_H
#define REPLGUARD_ESCALATION_H

struct executor;

/* escalation_raise: raises the escalation of runbook on replica of
 * cluster for reason (a label value: "escalate_when", "verify_failed",
 * "escalate_step", ...; the other strings are names): journaled,
 * audited, posted as described above until cluster is acked. It does not
 * count, log or latch: act_escalation() does, then calls this; a caller
 * elsewhere in src/act (a failover's rewind, say) that wants a human
 * without latching the runbooks calls this alone. */
void escalation_raise(struct executor *x, const char *cluster,
                      const char *replica, const char *runbook,
                      const char *reason);

#endif
