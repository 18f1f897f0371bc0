/* routeread.h: read routing from the current snapshot: which nodes of a
 * cluster a client should read from under a read preference, best
 * first (GET /route/{cluster}), whether one node qualifies (GET
 * /health/read/{cluster}/{node}, for load balancers), and the
 * read-your-writes test (?min_position=) /health/replica shares.
 *
 * Query parameters, all optional:
 *   preference=primary|secondary|nearest|any (default any)
 *   max_lag=DURATION   replicas: this poll's lag at most DURATION instead
 *                      of the cluster's damped read rotation
 *   min_position=P     replicas: only those that applied position P (the
 *                      primary always has it)
 *   zone=Z             nearest: nodes of zone Z first
 *   wait=DURATION      with min_position: when no replica (/route) or
 *                      not this node (/health/read) has applied P as of
 *                      the last poll, wait up to DURATION (at most 1s)
 *                      for one to (routewait.h), then answer
 *
 * Threads: any handler thread; a call reads the snapshot it is given
 * (the caller holds a reference) and copies and sorts one cluster's
 * nodes, nothing more: no lock, no network I/O. */
#ifndef REPLGUARD_ROUTEREAD_H
#define REPLGUARD_ROUTEREAD_H

#include <stdbool.h>
#include <stdint.h>

#include <microhttpd.h>

#include "lib/util.h"
#include "monitor/snapshot.h"
#include "serve/routewait.h"

/* routeread_route: answers /route/{cluster} (tail is what follows
 * "/route/"): *status 200 with the JSON body {"cluster", "preference",
 * "nodes": [...], "excluded": [...]} appended to body; 400 for a bad
 * query, 404 for an unknown cluster, each with {"error"}; 0 with nothing
 * appended when the connection is suspended to wait (rw, NULL: never
 * wait): libmicrohttpd calls the handler again once it is resumed. */
void routeread_route(const struct snapshot *s, struct routewait *rw,
                     struct MHD_Connection *conn, const char *tail,
                     unsigned *status, struct buf *body);

/* routeread_health: answers /health/read/{cluster}/{node} (tail is what
 * follows "/health/read/"): *status 200 when the node is among the
 * nodes /route lists for the same query, else 503; the JSON body says
 * its rank or why not. 400, 404 and 0 (waiting) as routeread_route(). */
void routeread_health(const struct snapshot *s, struct routewait *rw,
                      struct MHD_Connection *conn, const char *tail,
                      unsigned *status, struct buf *body);

/* routeread_min_position: ?min_position=P of conn into *p, *given
 * telling whether it was there. Returns -1 when it is not a whole
 * number from 1 to 2^63. */
int routeread_min_position(struct MHD_Connection *conn, bool *given,
                           uint64_t *p);

/* routeread_position_why: NULL when n has applied position p (a primary
 * always counts as having it), else why not, a static string: "position
 * unknown" or "min_position not applied". */
const char *routeread_position_why(const struct snap_node *n, uint64_t p);

/* ?hold=D on /health/replica, /health/read and /route: the answer is
 * to hold for D (a load balancer's check interval plus its check
 * timeout), so a replica qualifies only if its lag cannot pass the
 * bound before then (snap_hold_why). At most ROUTEREAD_HOLD_MAX. */
#define ROUTEREAD_HOLD_MAX 60.0

/* routeread_hold: parses ?hold= into *hold (seconds; 0 when absent),
 * *given whether it was there; -1 when it is not a duration with a unit
 * up to ROUTEREAD_HOLD_MAX. */
int routeread_hold(struct MHD_Connection *conn, bool *given, double *hold);

/* routeread_now: CLOCK_MONOTONIC in seconds, the clock of
 * snap_node.caught_up_mono. */
double routeread_now(void);

#endif
