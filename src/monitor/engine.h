/* engine.h: the engine thread: polls every node, assesses lag and
 * health, and publishes a snapshot after every round.
 *
 * One thread owns all of it; other threads talk to it only through
 * engine_reload() and engine_stop(). */
#ifndef REPLGUARD_ENGINE_H
#define REPLGUARD_ENGINE_H

#include "lib/clock.h"

struct config;
struct engine;
struct snapbox;

/* engine_new: an engine for cfg (the engine takes ownership of it),
 * publishing into box (which must outlive the engine), timed by clock
 * (copied). Free with engine_free(). */
struct engine *engine_new(struct config *cfg, struct snapbox *box,
                          const struct rg_clock *clock);
/* engine_attach: gives the engine its acting half: alerts from rem
 * (which must outlive the engine), runbooks rules (owned from now on),
 * the audit log at audit_path. Call before engine_start(); replays the
 * journal. Returns 0, or -1 with a reason in err. */
struct remedy;
struct runbook_set;
int engine_attach(struct engine *e, struct remedy *rem,
                  struct runbook_set *rules, const char *audit_path, char *err,
                  size_t errlen);
/* engine_reload_rules: new runbooks (owned), swapped in once no action
 * runs. Safe from any thread. */
void engine_reload_rules(struct engine *e, struct runbook_set *rules);

/* engine_start: starts the engine thread. Returns 0 or -errno. */
int engine_start(struct engine *e);
/* engine_reload: hands the engine a new, already validated config
 * (taking ownership); it is applied between two rounds, keeping the
 * history of every node that still exists. Safe from any thread. */
void engine_reload(struct engine *e, struct config *cfg);
/* engine_begin_stop: asks the thread to stop without waiting: it plans
 * and starts nothing more, gives running actions up to ENGINE_STOP_GRACE
 * (8 s) to finish, journals those still running as interrupted and
 * ends. Safe from any thread. */
void engine_begin_stop(struct engine *e);
/* engine_stop: engine_begin_stop(), then waits for the thread. Safe
 * from any thread but the engine's; a no-op when not started. */
void engine_stop(struct engine *e);
/* engine_free: stops the engine if needed and frees it; NULL is a
 * no-op. */
void engine_free(struct engine *e);

#endif
