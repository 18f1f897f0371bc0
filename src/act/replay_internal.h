/* replay_internal.h: replay.c, the journal replayed when the executor
 * starts. Called by executor.c (executor_new) only; replay.c calls down
 * into resume.c and execstate.c. */
#ifndef REPLGUARD_REPLAY_INTERNAL_H
#define REPLGUARD_REPLAY_INTERNAL_H

struct executor;

/* exec_replay: replays x's journal (x->rem's): plans restore the
 * planner's bookkeeping, an intent without an outcome is journaled and
 * audited as interrupted (not run again), jobs planned but not fully
 * started are resumed (resume.c), alerts journaled but never planned
 * are queued again. Queues journal records; the caller flushes. */
void exec_replay(struct executor *x);

#endif
