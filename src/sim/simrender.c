/* simrender.c: a simulated node's /metrics in text format 0.0.4. */
#include "sim/sim_internal.h"

#include "lib/merkle.h"

#include <inttypes.h>
#include <string.h>

static const char *const endpoint_names[SIM_EP_COUNT] = {
    [SIM_EP_HEARTBEAT] = "heartbeat",
    [SIM_EP_MERKLE] = "merkle",
    [SIM_EP_RATE_LIMIT] = "rate-limit",
    [SIM_EP_SYNC] = "sync",
    [SIM_EP_BREAKERS] = "circuit-breakers",
    [SIM_EP_BREAKER_RESET] = "circuit-breaker-reset",
    [SIM_EP_DEMOTE] = "demote",
    [SIM_EP_PROMOTE] = "promote",
    [SIM_EP_FENCE] = "fence",
    [SIM_EP_REPLICATE_FROM] = "replicate-from",
};

static void head(struct buf *out, const char *name, const char *type,
                 const char *help)
{
    buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void render_role(const struct sim *s, unsigned ci, unsigned ni,
                        struct buf *out)
{
    static const char *const roles[] = {"primary", "replica", "demoted",
                                        "fenced"};
    const char *role = sim_role(s, ci, ni);
    head(out, "stemedb_node_role", "gauge",
         "The node's role: 1 for the current one, 0 for the others.");
    for (size_t i = 0; i < ARRAY_LEN(roles); i++)
        buf_printf(out, "stemedb_node_role{role=\"%s\"} %d\n", roles[i],
                   strcmp(role, roles[i]) == 0);
    head(out, "stemedb_acked_position", "gauge",
         "The highest position this node acknowledged to a client.");
    buf_printf(out, "stemedb_acked_position %" PRIu64 "\n",
               s->clusters[ci].nodes[ni].acked);
    head(out, "stemedb_epoch", "gauge",
         "The highest epoch (term) this node has seen.");
    buf_printf(out, "stemedb_epoch %" PRIu64 "\n",
               s->clusters[ci].nodes[ni].epoch);
}

static void render_primary(const struct sim *s, const struct cluster *c,
                           struct buf *out)
{
    head(out, "stemedb_replication_lag_seconds", "gauge",
         "The primary's view of each replica's replication lag.");
    for (unsigned ri = 0; ri < s->opt.nodes; ri++) {
        if (ri == c->primary)
            continue;
        buf_printf(out,
                   "stemedb_replication_lag_seconds{replica=\"%s\"} %.6f\n",
                   c->nodes[ri].name, sim_replica_lag(s, c, &c->nodes[ri]));
    }
    head(out, "stemedb_rate_limit_assertions_per_second", "gauge",
         "Ingest limit in assertions per second, 0 for none.");
    buf_printf(out, "stemedb_rate_limit_assertions_per_second %.17g\n",
               c->rate_limit);
    head(out, "stemedb_sync_mode", "gauge",
         "The replication mode now: 1 for the current one (a fallback to "
         "async shows as async, refused writes as blocked).");
    for (int m = SIM_MODE_ASYNC; m <= SIM_MODE_BLOCKED; m++)
        buf_printf(out, "stemedb_sync_mode{mode=\"%s\"} %d\n",
                   sim_mode_name((enum sim_mode)m), (int)c->eff_mode == m);
}

static void render_sync(const struct node *n, struct buf *out)
{
    head(out, "stemedb_merkle_sync_errors_total", "counter",
         "Forced Merkle syncs of this node that failed.");
    buf_printf(out, "stemedb_merkle_sync_errors_total %" PRIu64 "\n",
               n->sync_errors);
    head(out, "stemedb_merkle_sync_duration_seconds", "gauge",
         "Duration of the last completed Merkle sync.");
    buf_printf(out, "stemedb_merkle_sync_duration_seconds %.6f\n",
               n->sync_duration);
    head(out, "stemedb_merkle_sync_progress", "gauge",
         "Progress of the running Merkle sync, 0 to 1 (1 when idle).");
    buf_printf(out, "stemedb_merkle_sync_progress %.4f\n",
               n->sync_progress > 1 ? 1.0 : n->sync_progress);
}

static void render_counters(const struct node *n, uint64_t fence,
                            uint64_t refused, struct buf *out)
{
    head(out, "stemedb_network_bytes_sent_total", "counter",
         "Bytes this node sent: replication, sync and HTTP answers.");
    buf_printf(out, "stemedb_network_bytes_sent_total %" PRIu64 "\n",
               n->bytes_sent);
    head(out, "stemedb_http_connections_total", "counter",
         "HTTP connections this node accepted (the simulator's own).");
    buf_printf(out, "stemedb_http_connections_total %" PRIu64 "\n",
               n->http_conns);
    head(out, "stemedb_admin_requests_total", "counter",
         "Admin API calls this node received, by endpoint.");
    for (int ep = 0; ep < SIM_EP_COUNT; ep++)
        buf_printf(
            out, "stemedb_admin_requests_total{endpoint=\"%s\"} %" PRIu64 "\n",
            endpoint_names[ep], n->admin[ep]);
    head(out, "stemedb_fence_token", "gauge",
         "The highest X-Replguard-Fence token the cluster's nodes saw.");
    buf_printf(out, "stemedb_fence_token %" PRIu64 "\n", fence);
    head(out, "stemedb_fence_refused_total", "counter",
         "Admin calls to the cluster refused for a lower fencing token.");
    buf_printf(out, "stemedb_fence_refused_total %" PRIu64 "\n", refused);
    head(out, "stemedb_circuit_breakers_tripped", "gauge",
         "Circuit breakers currently tripped on this node.");
    buf_printf(out, "stemedb_circuit_breakers_tripped %zu\n", n->nbreakers);
}

void sim_render_metrics(const struct sim *s, unsigned ci, unsigned ni,
                        struct buf *out)
{
    const struct cluster *c = &s->clusters[ci];
    const struct node *n = &c->nodes[ni];
    /* the lie fault: values no honest node could report */
    const struct fault_slot *lie = &n->faults[SIM_FAULT_LIE];
    bool hb_lie = lie->on && strcmp(lie->f.what, "heartbeat_ahead") == 0;
    bool pos_lie = lie->on && strcmp(lie->f.what, "position_ahead") == 0;
    head(out, "stemedb_assertions_indexed_total", "counter",
         "Position of the last assertion this node applied.");
    buf_printf(out, "stemedb_assertions_indexed_total %" PRIu64 "\n",
               pos_lie ? c->position + 1000000 : n->applied);
    head(out, "stemedb_heartbeat_timestamp_seconds", "gauge",
         "Timestamp carried by the last heartbeat this node applied.");
    buf_printf(out, "stemedb_heartbeat_timestamp_seconds %.6f\n",
               hb_lie ? clock_wall(&s->clock) + 3600 : n->hb_ts);
    render_role(s, ci, ni, out);
    if (c->primary == ni) {
        render_primary(s, c, out);
    } else {
        head(out, "stemedb_replication_connected", "gauge",
             "Whether the replication stream from the primary is up.");
        buf_printf(out, "stemedb_replication_connected %d\n",
                   sim_node_connected(s, c, n));
        head(out, "stemedb_replication_paused", "gauge",
             "Whether an operator paused applying the stream.");
        buf_printf(out, "stemedb_replication_paused %d\n",
                   n->faults[SIM_FAULT_PAUSE].on ? 1 : 0);
    }
    render_sync(n, out);
    render_counters(n, c->fence, c->fence_refused, out);
}
