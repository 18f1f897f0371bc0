/* walk_server.h: answers a merklewalk's requests from a simulated
 * cluster in process, through the simulator's own HTTP handler
 * (simapi_handle), so tests and benches exercise the real wire format
 * without a network. Shared by test_merklewalk and bench/merklebench. */
#ifndef REPLGUARD_WALK_SERVER_H
#define REPLGUARD_WALK_SERVER_H

#include "profiles/stemedb/merklewalk.h"
#include "sim/sim.h"
#include "sim/simapi.h"

/* walk_server_answer: node `node` (0 primary, 1 replica) of cluster 0 of
 * s answers rq into out (which the caller initialised with
 * simapi_reply_init and frees). */
void walk_server_answer(struct sim *s, unsigned node,
                        const struct merklewalk_request *rq,
                        struct simapi_reply *out);

#endif
