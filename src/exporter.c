/* exporter.c: Prometheus text format 0.0.4 for replguard's own metrics.
 *
 * The families of SPEC section 5 that the poll loop knows about, plus
 * these, which the SPEC does not list:
 *
 *   replguard_replica_heartbeat_lag_seconds{cluster,replica}  gauge
 *   replguard_replica_position_lag_seconds{cluster,replica}   gauge
 *       every lag kind replguard measures, whatever the cluster's
 *       lag_source (replguard_replica_lag_seconds is the chosen one)
 *   replguard_poll_rounds_total                                counter
 *   replguard_poll_round_duration_seconds                      gauge
 *   replguard_ready                                            gauge 0/1
 *   replguard_dry_run                                          gauge 0/1
 *   replguard_merkle_compare_errors_total{cluster,replica}     counter
 *   replguard_implausible_values_total{cluster,node,kind}      counter
 *       scrapes of a replica showing a heartbeat or position that
 *       cannot be true (guard.h)
 *   replguard_tilt                                             gauge 0/1
 *   replguard_tilt_total{reason}                               counter
 *       TILT (tilt.h): 1 while actions are held after a stall or a
 *       clock jump; triggers by reason (stall, clock_jump)
 *   replguard_journal_failed                                   gauge 0/1
 *   replguard_audit_write_failures_total                       counter
 *
 * Each family is written by one pass over the node array, so the output
 * groups its samples and costs O(families x nodes). */
#include "exporter.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* view.h declares scrape_reason_name() for every renderer; it lives
 * here, next to the replguard_scrape_failures_total{reason} it names. */
const char *scrape_reason_name(enum scrape_reason r)
{
    static const char *const names[SCRAPE_REASONS] = {
        "timeout", "connect", "http_status", "parse", "too_large"};
    return (unsigned)r < SCRAPE_REASONS ? names[r] : "unknown";
}

/* --- samples ----------------------------------------------------------- */

struct value {
    bool integer;
    uint64_t u;
    double d;
};

static struct value int_value(uint64_t u)
{
    return (struct value){.integer = true, .u = u};
}

static struct value dbl_value(double d)
{
    return (struct value){.integer = false, .d = d};
}

struct label {
    const char *name;
    const char *value;
};

/* One family being written: its header goes out before its first
 * sample, so a family without samples leaves no trace. */
struct family {
    struct buf *out;
    const char *name, *type, *help;
    bool started;
};

static void put_escaped(struct buf *out, const char *s)
{
    size_t run = strcspn(s, "\\\"\n");
    while (s[run] != '\0') {
        buf_append(out, s, run);
        buf_append(out,
                   s[run] == '\n'  ? "\\n"
                   : s[run] == '"' ? "\\\""
                                   : "\\\\",
                   2);
        s += run + 1;
        run = strcspn(s, "\\\"\n");
    }
    buf_append(out, s, run);
}

static void sample(struct family *f, const struct label *l, size_t nl,
                   struct value v)
{
    if (!v.integer && !isfinite(v.d))
        return;
    if (!f->started) {
        buf_printf(f->out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help,
                   f->name, f->type);
        f->started = true;
    }
    struct buf *out = f->out;
    buf_puts(out, f->name);
    for (size_t i = 0; i < nl; i++) {
        buf_append(out, i ? "," : "{", 1);
        buf_puts(out, l[i].name);
        buf_append(out, "=\"", 2);
        put_escaped(out, l[i].value ? l[i].value : "");
        buf_append(out, "\"", 1);
    }
    buf_append(out, nl ? "} " : " ", nl ? 2 : 1);
    if (v.integer)
        buf_put_u64(out, v.u);
    else
        buf_put_decimal(out, v.d);
    buf_append(out, "\n", 1);
}

/* --- per-node families ------------------------------------------------- */

static bool is_replica(const struct node_view *n)
{
    return !n->is_primary;
}

static void render_up(const struct agent_view *v, struct buf *out)
{
    struct family f = {out, "replguard_up", "gauge",
                       "Whether the last scrape of the node succeeded.", false};
    for (size_t i = 0; i < v->n_nodes; i++) {
        const struct node_view *n = &v->nodes[i];
        struct label l[] = {
            {"cluster", n->cluster}, {"node", n->name}, {"role", n->role}};
        sample(&f, l, ARRAY_LEN(l), int_value(n->up));
    }
}

static void render_failures(const struct agent_view *v, struct buf *out)
{
    struct family f = {out, "replguard_scrape_failures_total", "counter",
                       "Failed scrapes of the node, by reason.", false};
    for (size_t i = 0; i < v->n_nodes; i++) {
        const struct node_view *n = &v->nodes[i];
        for (int r = 0; r < SCRAPE_REASONS; r++) {
            struct label l[] = {{"cluster", n->cluster},
                                {"node", n->name},
                                {"reason", scrape_reason_name(r)}};
            sample(&f, l, ARRAY_LEN(l), int_value(n->failures[r]));
        }
    }
}

static void render_implausible(const struct agent_view *v, struct buf *out)
{
    struct family f = {out, "replguard_implausible_values_total", "counter",
                       "Scrapes of a replica that showed a value that cannot "
                       "be true, by kind (its lag is unknown meanwhile).",
                       false};
    for (size_t i = 0; i < v->n_nodes; i++) {
        const struct node_view *n = &v->nodes[i];
        if (!is_replica(n))
            continue;
        for (int k = 0; k < GUARD_IMPLAUSIBLE_KINDS; k++) {
            struct label l[] = {
                {"cluster", n->cluster},
                {"node", n->name},
                {"kind", guard_implausible_name((enum guard_implausible)k)}};
            sample(&f, l, ARRAY_LEN(l), int_value(n->implausible[k]));
        }
    }
}

static void render_health(const struct agent_view *v, struct buf *out)
{
    struct family f = {out, "replguard_replica_health", "gauge",
                       "1 for the replica's current health, 0 for the "
                       "others.",
                       false};
    for (size_t i = 0; i < v->n_nodes; i++) {
        const struct node_view *n = &v->nodes[i];
        if (!is_replica(n))
            continue;
        for (int h = 0; h < HEALTH_COUNT; h++) {
            struct label l[] = {{"cluster", n->cluster},
                                {"replica", n->name},
                                {"health", health_name(h)}};
            sample(&f, l, ARRAY_LEN(l), int_value((int)n->health == h));
        }
    }
}

/* The families with one sample per node (or per replica), labelled
 * {cluster,node} (or {cluster,replica}). get() says whether the node has
 * the series and gives its value. A stale node's lags are never
 * exported, whatever the have_ flags say (SPEC section 3). */
struct node_family {
    const char *name, *type, *help;
    bool replicas_only;
    bool (*get)(const struct node_view *n, struct value *out);
};

static bool get_scrape_duration(const struct node_view *n, struct value *o)
{
    *o = dbl_value(n->scrape_duration);
    return true;
}

static bool get_last_ok(const struct node_view *n, struct value *o)
{
    *o = dbl_value(n->last_ok_wall);
    return n->last_ok_wall > 0;
}

static bool get_position(const struct node_view *n, struct value *o)
{
    *o = int_value(n->position);
    return n->have_position;
}

static bool get_lag(const struct node_view *n, struct value *o)
{
    *o = dbl_value(n->rv.lag);
    return n->fresh && n->rv.have_lag;
}

static bool get_hb_lag(const struct node_view *n, struct value *o)
{
    *o = dbl_value(n->hb_lag);
    return n->fresh && n->have_hb_lag;
}

static bool get_pos_lag(const struct node_view *n, struct value *o)
{
    *o = dbl_value(n->pos_lag);
    return n->fresh && n->have_pos_lag;
}

static bool get_reported_lag(const struct node_view *n, struct value *o)
{
    *o = dbl_value(n->reported_lag);
    return n->fresh && n->have_reported_lag;
}

static bool get_lag_positions(const struct node_view *n, struct value *o)
{
    *o = int_value(n->lag_positions);
    return n->fresh && n->have_lag_positions;
}

static bool get_connected(const struct node_view *n, struct value *o)
{
    *o = int_value(n->rv.connected);
    return n->fresh;
}

static bool get_in_rotation(const struct node_view *n, struct value *o)
{
    *o = int_value(n->in_rotation);
    return true;
}

static bool get_merkle_diff(const struct node_view *n, struct value *o)
{
    *o = int_value(n->merkle_diff);
    return n->have_merkle;
}

static bool get_merkle_duration(const struct node_view *n, struct value *o)
{
    *o = dbl_value(n->merkle_duration);
    return n->have_merkle;
}

static bool get_merkle_bytes(const struct node_view *n, struct value *o)
{
    *o = int_value(n->merkle_bytes_total);
    return true;
}

static bool get_merkle_last(const struct node_view *n, struct value *o)
{
    *o = dbl_value(n->merkle_last_wall);
    return n->have_merkle;
}

static bool get_merkle_errors(const struct node_view *n, struct value *o)
{
    *o = int_value(n->merkle_errors_total);
    return true;
}

static const struct node_family node_families[] = {
    {"replguard_scrape_duration_seconds", "gauge",
     "Duration of the last scrape of the node.", false, get_scrape_duration},
    {"replguard_scrape_last_success_timestamp_seconds", "gauge",
     "When the last successful scrape of the node finished (Unix time).", false,
     get_last_ok},
    {"replguard_node_position", "gauge",
     "Applied position of the node (assertions indexed, reset-corrected).",
     false, get_position},
    {"replguard_replica_lag_seconds", "gauge",
     "Replication lag of the replica, from the cluster's lag_source.", true,
     get_lag},
    {"replguard_replica_heartbeat_lag_seconds", "gauge",
     "Replication lag of the replica measured by heartbeats.", true,
     get_hb_lag},
    {"replguard_replica_position_lag_seconds", "gauge",
     "Replication lag of the replica measured by positions.", true,
     get_pos_lag},
    {"replguard_replica_reported_lag_seconds", "gauge",
     "Replication lag of the replica as its primary reports it.", true,
     get_reported_lag},
    {"replguard_replica_lag_positions", "gauge",
     "Positions the replica is behind its primary.", true, get_lag_positions},
    {"replguard_replica_connected", "gauge",
     "Whether the replica's replication stream is up.", true, get_connected},
    {"replguard_merkle_diff_buckets", "gauge",
     "Leaf buckets whose Merkle hash differs from the primary's, as of the "
     "last finished compare (writes in flight excluded).",
     true, get_merkle_diff},
    {"replguard_merkle_compare_duration_seconds", "gauge",
     "Duration of the last finished Merkle compare, rechecks included.", true,
     get_merkle_duration},
    {"replguard_merkle_compare_bytes_total", "counter",
     "Answer bytes fetched from both nodes by Merkle compares.", true,
     get_merkle_bytes},
    {"replguard_merkle_last_compare_timestamp_seconds", "gauge",
     "When the last Merkle compare finished (Unix time).", true,
     get_merkle_last},
    {"replguard_merkle_compare_errors_total", "counter",
     "Merkle compares that ended in an error (bad answer, timeout).", true,
     get_merkle_errors},
    {"replguard_replica_in_read_rotation", "gauge",
     "Whether the replica may serve reads at the cluster's read_max_lag.", true,
     get_in_rotation},
};

static void render_node_family(const struct agent_view *v,
                               const struct node_family *nf, struct buf *out)
{
    struct family f = {out, nf->name, nf->type, nf->help, false};
    for (size_t i = 0; i < v->n_nodes; i++) {
        const struct node_view *n = &v->nodes[i];
        struct value val;
        if (nf->replicas_only && !is_replica(n))
            continue;
        if (!nf->get(n, &val))
            continue;
        struct label l[] = {{"cluster", n->cluster},
                            {nf->replicas_only ? "replica" : "node", n->name}};
        sample(&f, l, ARRAY_LEN(l), val);
    }
}

static void render_merkle_buckets(const struct agent_view *v, struct buf *out)
{
    struct family f = {out, "replguard_merkle_buckets", "gauge",
                       "Leaf buckets of the cluster's Merkle trees.", false};
    for (size_t i = 0; i < v->n_clusters; i++) {
        const struct cluster_view *c = &v->clusters[i];
        struct label l[] = {{"cluster", c->name}};
        if (c->merkle_buckets)
            sample(&f, l, ARRAY_LEN(l), int_value(c->merkle_buckets));
    }
}

/* --- remediation --------------------------------------------------------- */

struct family_meta {
    const char *name, *type, *help;
};

static const struct family_meta rem_families[] = {
    {"replguard_alerts_received_total", "counter",
     "Alerts received from Alertmanager, by alertname and status."},
    {"replguard_webhook_requests_total", "counter",
     "Webhook requests answered, by HTTP status."},
    {"replguard_remediation_actions_total", "counter",
     "Remediation actions taken, by outcome (dry_run: recorded only)."},
    {"replguard_remediation_skipped_total", "counter",
     "Remediation decisions not acted on, by reason."},
    {"replguard_escalations_total", "counter",
     "Escalations raised (escalate_when, failed verify, escalate steps)."},
    {"replguard_alert_labels_folded_total", "counter",
     "Counts that went to a series with an alert-given label folded into "
     "\"_other\", by metric (series per metric are bounded)."},
};

static const struct family_meta *rem_family(const char *name)
{
    for (size_t i = 0; i < ARRAY_LEN(rem_families); i++)
        if (strcmp(rem_families[i].name, name) == 0)
            return &rem_families[i];
    return NULL;
}

static void render_samples(const struct agent_view *v, struct buf *out)
{
    struct family f = {0};
    for (size_t i = 0; i < v->n_samples; i++) {
        const struct view_sample *s = &v->samples[i];
        if (!f.name || strcmp(f.name, s->family) != 0) {
            const struct family_meta *meta = rem_family(s->family);
            if (!meta)
                continue;
            f = (struct family){out, meta->name, meta->type, meta->help, false};
        }
        struct label l[4];
        size_t n = 0;
        for (; n < 4 && s->label[n]; n++)
            l[n] = (struct label){s->label[n], s->value[n]};
        sample(&f, l, n, dbl_value(s->v));
    }
}

static void render_remediation(const struct agent_view *v, struct buf *out)
{
    if (!v->remediation)
        return;
    render_samples(v, out);
    struct family fl = {out, "replguard_remediation_in_flight", "gauge",
                        "Remediation actions running.", false};
    sample(&fl, NULL, 0, int_value(v->in_flight));
    struct family fp = {out, "replguard_remediation_paused", "gauge",
                        "1 while remediation is paused.", false};
    sample(&fp, NULL, 0, int_value(v->paused));
    struct family jf = {out, "replguard_journal_failed", "gauge",
                        "1 once a journal write or fsync failed: remediation "
                        "stopped (fail-stop) until restart.",
                        false};
    sample(&jf, NULL, 0, int_value(v->journal_failed));
    struct family af = {out, "replguard_audit_write_failures_total", "counter",
                        "Audit log lines lost to failed writes (actions go "
                        "on; the journal records them).",
                        false};
    sample(&af, NULL, 0, int_value(v->audit_write_failures));
    struct family ta = {out, "replguard_throttle_active", "gauge",
                        "1 while replguard limits the primary's ingest.",
                        false};
    for (size_t i = 0; i < v->n_clusters; i++) {
        struct label l[] = {{"cluster", v->clusters[i].name}};
        sample(&ta, l, 1, int_value(v->clusters[i].throttle_active));
    }
    struct family tl = {out, "replguard_throttle_limit", "gauge",
                        "The ingest limit replguard set (assertions per "
                        "second), 0 when none.",
                        false};
    for (size_t i = 0; i < v->n_clusters; i++) {
        struct label l[] = {{"cluster", v->clusters[i].name}};
        sample(&tl, l, 1,
               dbl_value(v->clusters[i].throttle_active
                             ? v->clusters[i].throttle_limit
                             : 0));
    }
}

/* --- agent-wide families ----------------------------------------------- */

static void render_agent(const struct agent_view *v, struct buf *out)
{
    struct family rounds = {out, "replguard_poll_rounds_total", "counter",
                            "Poll rounds finished.", false};
    sample(&rounds, NULL, 0, int_value(v->rounds));
    struct family dur = {out, "replguard_poll_round_duration_seconds", "gauge",
                         "Duration of the last poll round.", false};
    sample(&dur, NULL, 0, dbl_value(v->round_duration));
    struct family ready = {
        out, "replguard_ready", "gauge",
        "Whether the config is loaded and a poll round finished.", false};
    sample(&ready, NULL, 0, int_value(v->ready));
    struct family dry = {out, "replguard_dry_run", "gauge",
                         "Whether replguard runs in dry-run mode.", false};
    sample(&dry, NULL, 0, int_value(v->dry_run));
    struct family tilt = {out, "replguard_tilt", "gauge",
                          "1 while actions are held after an engine stall "
                          "or a clock jump (TILT).",
                          false};
    sample(&tilt, NULL, 0, int_value(v->tilt));
    struct family tt = {out, "replguard_tilt_total", "counter",
                        "TILT triggers (entering or extending it), by reason.",
                        false};
    for (int r = 0; r < TILT_REASONS; r++) {
        struct label l[] = {{"reason", tilt_reason_name((enum tilt_reason)r)}};
        sample(&tt, l, ARRAY_LEN(l), int_value(v->tilt_total[r]));
    }
}

void exporter_render(const struct agent_view *v, struct buf *out)
{
    struct family info = {out, "replguard_build_info", "gauge",
                          "replguard's version; always 1.", false};
    struct label l[] = {{"version", v->version}};
    sample(&info, l, ARRAY_LEN(l), int_value(1));
    render_up(v, out);
    render_failures(v, out);
    for (size_t i = 0; i < ARRAY_LEN(node_families); i++)
        render_node_family(v, &node_families[i], out);
    render_health(v, out);
    render_implausible(v, out);
    render_merkle_buckets(v, out);
    render_remediation(v, out);
    render_agent(v, out);
}
