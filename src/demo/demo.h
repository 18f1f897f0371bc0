/* demo.h: `replguard --demo`: an embedded simulated cluster watched by
 * the agent, with fault episodes replayed on a schedule that the
 * shipped runbooks repair, each decision printed as it is taken. */
#ifndef REPLGUARD_DEMO_H
#define REPLGUARD_DEMO_H

#include <stdbool.h>

#define DEMO_DIR "/tmp/replguard-demo"

struct demo_options {
    bool dry_run;    /* --dry-run */
    bool keep_state; /* --keep-state: reuse the state dir of the last run */
};

/* demo_run: runs the demo until SIGINT/SIGTERM (the caller has blocked
 * them with agent_block_signals()). The environment may move it (for
 * tests): REPLGUARD_DEMO_DIR (state dir, default DEMO_DIR),
 * REPLGUARD_DEMO_PORTS ("LISTEN,SIM,PROMETHEUS,ALERTMANAGER", default
 * "9650,18180,19090,19093"; SIM 0 picks free ports) and
 * REPLGUARD_DEMO_FIRST and REPLGUARD_DEMO_EVERY (seconds to the first
 * episode and between episodes, default 20 and 120).
 * Returns the process exit code. */
int demo_run(const struct demo_options *o);

#endif
