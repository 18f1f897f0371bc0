/* resume_internal.h: resume.c, the jobs a crash left planned, found again
 * in the journal at start. Called by replay.c only; resume.c calls down
 * into execstate.c (executor_internal.h) to put the jobs back. */
#ifndef REPLGUARD_RESUME_INTERNAL_H
#define REPLGUARD_RESUME_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct executor;
struct queued_alert;

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

#endif
