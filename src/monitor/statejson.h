/* statejson.h: the body of GET /api/v1/state, rendered from an
 * agent_view.
 *
 *   {"version":"0.1.0","generated_at":1763769600.25,"ready":true,
 *    "dry_run":false,"rounds":42,
 *    "clusters":[{"name":"main","lag_source":"heartbeat",
 *      "thresholds":{"warning":5,"critical":10,"escalate":60,
 *                    "read_max_lag":0.1},
 *      "primary":"node1",
 *      "nodes":[{"name":"node1","url":"http://...","role":"primary",
 *                "is_primary":true,"up":true,"fresh":true,
 *                "last_failure":null,"last_ok":1763769600.2,
 *                "position":1234},
 *               {"name":"node2",..., "lag":0.05,"lag_heartbeat":0.05,
 *                "lag_position":null,"lag_reported":null,
 *                "lag_positions":3,"connected":true,"demoted":false,
 *                "health":"healthy","in_read_rotation":true,
 *                "rotation_reason":null}]}]}
 *
 * Times are Unix seconds; durations and lags are seconds. Anything
 * replguard does not know is null (never 0): a node never scraped has
 * "last_ok":null, a stale replica "lag":null and "connected":null. */
#ifndef REPLGUARD_STATEJSON_H
#define REPLGUARD_STATEJSON_H

#include "lib/util.h"
#include "model/view.h"

/* statejson_render: appends the state document for v to out as one line
 * of JSON (no trailing newline). v is only read. A document that would
 * take out past its limit is not appended at all. */
void statejson_render(const struct agent_view *v, struct buf *out);

#endif
