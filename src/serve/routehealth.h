/* routehealth.h: GET/HEAD /health/replica/{cluster}/{node} and
 * /health/primary/{cluster}/{node} (SPEC section 4), the checks load
 * balancers make. Answered from the snapshot alone, no I/O; any handler
 * thread. Both set *status and write a JSON body: 404 {"error"} for an
 * unknown cluster or node or a malformed tail, 400 for a bad query. */
#ifndef REPLGUARD_ROUTEHEALTH_H
#define REPLGUARD_ROUTEHEALTH_H

#include <microhttpd.h>

#include "lib/util.h"

struct snapshot;

/* routehealth_replica: 200 when the node tail names is a replica fit to
 * serve reads at max_lag (the cluster's read rotation, read_rise and
 * read_fall included, unless ?max_lag= gives a bound: snap_read_ok),
 * with ?hold= and ?min_position= (routeread.h) when given; else 503.
 * The body says why, and the lag, max_lag and health. */
void routehealth_replica(const struct snapshot *s, struct MHD_Connection *conn,
                         const char *tail, unsigned *status, struct buf *body);

/* routehealth_primary: 200 when the node tail names may take writes as
 * its cluster's primary (snap_primary_why), else 503 with the reason;
 * the body says the role and epoch it reported. */
void routehealth_primary(const struct snapshot *s, const char *tail,
                         unsigned *status, struct buf *body);

#endif
