/* exporter.h: replguard's own /metrics body (SPEC section 5), rendered
 * from an agent_view in Prometheus text format 0.0.4.
 *
 * Pure: the view in, text out. The engine renders once per poll round
 * (through snapshot_new()); HTTP handlers only serve the bytes. */
#ifndef REPLGUARD_EXPORTER_H
#define REPLGUARD_EXPORTER_H

#include "lib/util.h"
#include "model/view.h"

/* exporter_render: appends the exposition text for v to out: HELP and
 * TYPE once per family, every sample of a family together, label values
 * escaped. Families without a sample are left out; a series whose number
 * is unknown (a stale replica's lag, say) or not finite is left out
 * rather than invented. v is only read. Appending stops silently when
 * out reaches its limit, so give it none (or a generous one). */
void exporter_render(const struct agent_view *v, struct buf *out);

#endif
