/* demo.h: `replguard --demo`: an embedded simulated cluster watched by
 * the agent, with a lag episode replayed on a schedule. */
#ifndef REPLGUARD_DEMO_H
#define REPLGUARD_DEMO_H

#include <stdbool.h>

/* demo_run: runs the demo until SIGINT/SIGTERM (the caller has blocked
 * them with agent_block_signals()). Returns the process exit code. */
int demo_run(bool dry_run);

#endif
