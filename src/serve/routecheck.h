/* routecheck.h: the writers' throttle check, GET/HEAD
 * /check/{app}/{cluster}, and POST /api/v1/throttle-app (act/appthrottle.h).
 *
 * The check answers as freno does, so its clients work unchanged: 200
 * when every replica of the cluster is within thresholds.warning (health
 * "healthy" in the snapshot) and app is not refused by a throttle, else
 * 429; the body is freno's {"StatusCode", "Value" (the largest replica
 * lag, seconds), "Threshold" (warning), "Message"} plus "app", "cluster"
 * and "reason". freno's /check/{app}/{store_type}/{store} form is taken
 * too (the store type is ignored). Answered from the snapshot and the
 * throttle table only: no I/O. Runs on handler threads. */
#ifndef REPLGUARD_ROUTECHECK_H
#define REPLGUARD_ROUTECHECK_H

#include "lib/util.h"

struct remedy;
struct snapshot;

/* routecheck_check: the answer to /check/ + tail from s; rem (NULL:
 * remediation not configured, no throttles, nothing counted) holds the
 * throttles and counts the answer. Sets *status, writes the JSON body. */
void routecheck_check(const struct snapshot *s, struct remedy *rem,
                      const char *tail, unsigned *status, struct buf *body);

/* routecheck_throttle_app: POST /api/v1/throttle-app with the JSON
 * body req ({"app", "cluster", "ratio", "expires"}): validates it (400
 * with the reason; 404 for an unknown cluster), stores the throttle
 * durably (500 when it cannot) and answers 200 with what was set. */
void routecheck_throttle_app(const struct snapshot *s, struct remedy *rem,
                             const struct buf *req, unsigned *status,
                             struct buf *body);

#endif
