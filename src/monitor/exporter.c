/* exporter.c: Prometheus text format 0.0.4 for replguard's own metrics.
 *
 * The families of SPEC section 5, plus these, which the SPEC does not
 * list; names, types and help of all of them are in metrics.c:
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
 *   replguard_ha_member{member}, replguard_ha_owned_clusters,
 *   replguard_ha_is_owner{cluster}, replguard_ha_etcd_up       gauges,
 *       only with ha: in the config (ha.h)
 *   replguard_tilt                                             gauge 0/1
 *   replguard_tilt_total{reason}                               counter
 *       TILT (tilt.h): 1 while actions are held after a stall or a
 *       clock jump; triggers by reason (stall, clock_jump)
 *   replguard_journal_failed                                   gauge 0/1
 *   replguard_audit_write_failures_total                       counter
 *   replguard_cluster_epoch{cluster}                           gauge
 *   replguard_failover_in_progress{cluster}                    gauge 0/1
 *   replguard_failover_blocked{cluster}                        gauge 0/1
 *   replguard_failover_duration_seconds{cluster}               gauge
 *   replguard_failover_lost_positions{cluster}                 gauge
 *   replguard_failovers_total{cluster,kind,outcome}            counter
 *       failover (issue 15): per cluster, every cluster; the last two
 *       gauges once the cluster had a failover; the counter is the
 *       executor's (a sampled family)
 *   replguard_read_rotation_changes_total{cluster,replica}     counter
 *       entries into and exits from read rotation (read_rise/read_fall)
 *   replguard_cluster_sync_replicas{cluster}                   gauge
 *   replguard_cluster_sync_ok{cluster}                         gauge 0/1
 *   replguard_cluster_sync_fallback{cluster}                   gauge 0/1
 *   replguard_cluster_sync_mode{cluster,mode}                  gauge 0/1
 *   replguard_replica_state{cluster,replica,state}             gauge 0/1
 *       1 for the replica's state (active, paused, syncing, failed,
 *       removed: lag.h), 0 for the others
 *       sync health (issue 16): every cluster; the mode family (async,
 *       semi-sync, sync, blocked: what the primary last reported) only
 *       once the primary reported one
 *
 * Each family is written by one pass over the node array, so the output
 * groups its samples and costs O(families x nodes). */
#include "monitor/exporter.h"

#include "lib/labels.h"
#include "model/metrics.h"

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

/* One family being written: its header goes out before its first
 * sample, so a family without samples leaves no trace. */
struct family {
    struct buf *out;
    enum metric_family mf;
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
    const struct metric_info *m = metric_info(f->mf);
    if (!m || (!v.integer && !isfinite(v.d)))
        return;
    if (!f->started) {
        buf_printf(f->out, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help,
                   m->name, metric_type_name(m->type));
        f->started = true;
    }
    struct buf *out = f->out;
    buf_puts(out, m->name);
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
    struct family f = {out, MF_UP, false};
    for (size_t i = 0; i < v->n_nodes; i++) {
        const struct node_view *n = &v->nodes[i];
        struct label l[] = {
            {"cluster", n->cluster}, {"node", n->name}, {"role", n->role}};
        sample(&f, l, ARRAY_LEN(l), int_value(n->up));
    }
}

static void render_failures(const struct agent_view *v, struct buf *out)
{
    struct family f = {out, MF_SCRAPE_FAILURES_TOTAL, false};
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
    struct family f = {out, MF_IMPLAUSIBLE_VALUES_TOTAL, false};
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
    struct family f = {out, MF_REPLICA_HEALTH, false};
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

/* render_state: replguard_replica_state{cluster,replica,state}, every
 * state of every replica (lag.h: replica_state_step). */
static void render_state(const struct agent_view *v, struct buf *out)
{
    struct family f = {out, MF_REPLICA_STATE, false};
    for (size_t i = 0; i < v->n_nodes; i++) {
        const struct node_view *n = &v->nodes[i];
        if (!is_replica(n))
            continue;
        for (int s = 0; s < RSTATE_COUNT; s++) {
            struct label l[] = {{"cluster", n->cluster},
                                {"replica", n->name},
                                {"state", replica_state_name(s)}};
            sample(&f, l, ARRAY_LEN(l), int_value((int)n->state == s));
        }
    }
}

/* The families with one sample per node (or per replica), labelled
 * {cluster,node} (or {cluster,replica}). get() says whether the node has
 * the series and gives its value. A stale node's lags are never
 * exported, whatever the have_ flags say (SPEC section 3). */
struct node_family {
    enum metric_family mf;
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

static bool get_lag_bytes(const struct node_view *n, struct value *o)
{
    *o = int_value(n->lag_positions);
    return n->fresh && n->have_lag_bytes;
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

static bool get_rotation_changes(const struct node_view *n, struct value *o)
{
    *o = int_value(n->rotation_changes);
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
    {MF_SCRAPE_DURATION_SECONDS, false, get_scrape_duration},
    {MF_SCRAPE_LAST_SUCCESS_TIMESTAMP_SECONDS, false, get_last_ok},
    {MF_NODE_POSITION, false, get_position},
    {MF_REPLICA_LAG_SECONDS, true, get_lag},
    {MF_REPLICA_HEARTBEAT_LAG_SECONDS, true, get_hb_lag},
    {MF_REPLICA_POSITION_LAG_SECONDS, true, get_pos_lag},
    {MF_REPLICA_REPORTED_LAG_SECONDS, true, get_reported_lag},
    {MF_REPLICA_LAG_POSITIONS, true, get_lag_positions},
    {MF_REPLICA_LAG_BYTES, true, get_lag_bytes},
    {MF_REPLICA_CONNECTED, true, get_connected},
    {MF_MERKLE_DIFF_BUCKETS, true, get_merkle_diff},
    {MF_MERKLE_COMPARE_DURATION_SECONDS, true, get_merkle_duration},
    {MF_MERKLE_COMPARE_BYTES_TOTAL, true, get_merkle_bytes},
    {MF_MERKLE_LAST_COMPARE_TIMESTAMP_SECONDS, true, get_merkle_last},
    {MF_MERKLE_COMPARE_ERRORS_TOTAL, true, get_merkle_errors},
    {MF_REPLICA_IN_READ_ROTATION, true, get_in_rotation},
    {MF_READ_ROTATION_CHANGES_TOTAL, true, get_rotation_changes},
};

static void render_node_family(const struct agent_view *v,
                               const struct node_family *nf, struct buf *out)
{
    struct family f = {out, nf->mf, false};
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
    struct family f = {out, MF_MERKLE_BUCKETS, false};
    for (size_t i = 0; i < v->n_clusters; i++) {
        const struct cluster_view *c = &v->clusters[i];
        struct label l[] = {{"cluster", c->name}};
        if (c->merkle_buckets)
            sample(&f, l, ARRAY_LEN(l), int_value(c->merkle_buckets));
    }
}

/* --- remediation --------------------------------------------------------- */

/* render_samples: the executor's labelled counters, each family's
 * samples consecutive. A sample of a family that is not a labelled
 * counter (metric_info's sampled) is dropped: its family has its own
 * renderer, and a second header would split it. */
static void render_samples(const struct agent_view *v, struct buf *out)
{
    struct family f = {out, MF_COUNT, false};
    for (size_t i = 0; i < v->n_samples; i++) {
        const struct view_sample *s = &v->samples[i];
        const struct metric_info *m = metric_info(s->family);
        if (!m || !m->sampled)
            continue;
        if (f.mf != s->family)
            f = (struct family){out, s->family, false};
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
    struct family fl = {out, MF_REMEDIATION_IN_FLIGHT, false};
    sample(&fl, NULL, 0, int_value(v->in_flight));
    struct family fp = {out, MF_REMEDIATION_PAUSED, false};
    sample(&fp, NULL, 0, int_value(v->paused));
    struct family jf = {out, MF_JOURNAL_FAILED, false};
    sample(&jf, NULL, 0, int_value(v->journal_failed));
    struct family af = {out, MF_AUDIT_WRITE_FAILURES_TOTAL, false};
    sample(&af, NULL, 0, int_value(v->audit_write_failures));
    struct family ta = {out, MF_THROTTLE_ACTIVE, false};
    for (size_t i = 0; i < v->n_clusters; i++) {
        struct label l[] = {{"cluster", v->clusters[i].name}};
        sample(&ta, l, 1, int_value(v->clusters[i].throttle_active));
    }
    struct family tl = {out, MF_THROTTLE_LIMIT, false};
    for (size_t i = 0; i < v->n_clusters; i++) {
        struct label l[] = {{"cluster", v->clusters[i].name}};
        sample(&tl, l, 1,
               dbl_value(v->clusters[i].throttle_active
                             ? v->clusters[i].throttle_limit
                             : 0));
    }
}

/* --- failover ----------------------------------------------------------- */

/* render_failover: per cluster, always (whether failover is enabled or
 * not: the epoch and a switchover concern every cluster): the epoch
 * once a node reported one, in_progress and blocked, and the last
 * failover's duration and lost positions once there was one. Counts of
 * failovers are the executor's (replguard_failovers_total, sampled). */
static void render_failover(const struct agent_view *v, struct buf *out)
{
    struct family ep = {out, MF_CLUSTER_EPOCH, false};
    struct family ip = {out, MF_FAILOVER_IN_PROGRESS, false};
    struct family bl = {out, MF_FAILOVER_BLOCKED, false};
    struct family du = {out, MF_FAILOVER_DURATION_SECONDS, false};
    struct family lo = {out, MF_FAILOVER_LOST_POSITIONS, false};
    for (size_t i = 0; i < v->n_clusters; i++) {
        const struct cluster_view *c = &v->clusters[i];
        struct label l[] = {{"cluster", c->name}};
        if (c->epoch)
            sample(&ep, l, 1, int_value(c->epoch));
    }
    for (size_t i = 0; i < v->n_clusters; i++) {
        const struct cluster_view *c = &v->clusters[i];
        struct label l[] = {{"cluster", c->name}};
        bool running = c->failover_phase && strcmp(c->failover_phase, "idle");
        sample(&ip, l, 1, int_value(running));
    }
    for (size_t i = 0; i < v->n_clusters; i++) {
        struct label l[] = {{"cluster", v->clusters[i].name}};
        sample(&bl, l, 1, int_value(v->clusters[i].failover_blocked));
    }
    for (size_t i = 0; i < v->n_clusters; i++) {
        const struct view_failover *f = v->clusters[i].last_failover;
        struct label l[] = {{"cluster", v->clusters[i].name}};
        if (f)
            sample(&du, l, 1, dbl_value(f->duration));
    }
    for (size_t i = 0; i < v->n_clusters; i++) {
        const struct view_failover *f = v->clusters[i].last_failover;
        struct label l[] = {{"cluster", v->clusters[i].name}};
        if (f)
            sample(&lo, l, 1, int_value(f->lost_positions));
    }
}

/* --- sync health ---------------------------------------------------------- */

/* render_sync: per cluster, every cluster (an async one too: its count
 * shows what a switch to semi-sync would have): the sync replicas,
 * whether they suffice, the fallback, and the primary's reported mode
 * once it reported one. */
static void render_sync(const struct agent_view *v, struct buf *out)
{
    static const char *const modes[] = {"async", "semi-sync", "sync",
                                        "blocked"};
    struct family rp = {out, MF_CLUSTER_SYNC_REPLICAS, false};
    struct family ok = {out, MF_CLUSTER_SYNC_OK, false};
    struct family fb = {out, MF_CLUSTER_SYNC_FALLBACK, false};
    struct family md = {out, MF_CLUSTER_SYNC_MODE, false};
    for (size_t i = 0; i < v->n_clusters; i++) {
        struct label l[] = {{"cluster", v->clusters[i].name}};
        sample(&rp, l, 1, int_value(v->clusters[i].sync_replicas));
    }
    for (size_t i = 0; i < v->n_clusters; i++) {
        struct label l[] = {{"cluster", v->clusters[i].name}};
        sample(&ok, l, 1, int_value(v->clusters[i].sync_ok));
    }
    for (size_t i = 0; i < v->n_clusters; i++) {
        struct label l[] = {{"cluster", v->clusters[i].name}};
        sample(&fb, l, 1, int_value(v->clusters[i].sync_fallback));
    }
    for (size_t i = 0; i < v->n_clusters; i++) {
        const char *now = v->clusters[i].sync_mode;
        for (size_t m = 0; now && m < ARRAY_LEN(modes); m++) {
            struct label l[] = {{"cluster", v->clusters[i].name},
                                {"mode", modes[m]}};
            sample(&md, l, 2, int_value(strcmp(now, modes[m]) == 0));
        }
    }
}

/* --- agent-wide families ----------------------------------------------- */

static void render_agent(const struct agent_view *v, struct buf *out)
{
    struct family rounds = {out, MF_POLL_ROUNDS_TOTAL, false};
    sample(&rounds, NULL, 0, int_value(v->rounds));
    struct family dur = {out, MF_POLL_ROUND_DURATION_SECONDS, false};
    sample(&dur, NULL, 0, dbl_value(v->round_duration));
    struct family ready = {out, MF_READY, false};
    sample(&ready, NULL, 0, int_value(v->ready));
    struct family dry = {out, MF_DRY_RUN, false};
    sample(&dry, NULL, 0, int_value(v->dry_run));
    struct family tilt = {out, MF_TILT, false};
    sample(&tilt, NULL, 0, int_value(v->tilt));
    struct family tt = {out, MF_TILT_TOTAL, false};
    for (int r = 0; r < TILT_REASONS; r++) {
        struct label l[] = {{"reason", tilt_reason_name((enum tilt_reason)r)}};
        sample(&tt, l, ARRAY_LEN(l), int_value(v->tilt_total[r]));
    }
}

/* render_ha: the HA families, only when the config has ha:. */
static void render_ha(const struct agent_view *v, struct buf *out)
{
    if (!v->ha)
        return;
    struct family mem = {out, MF_HA_MEMBER, false};
    for (size_t i = 0; i < v->n_ha_members; i++) {
        struct label l[] = {{"member", v->ha_members[i]}};
        sample(&mem, l, ARRAY_LEN(l), int_value(1));
    }
    struct family owned = {out, MF_HA_OWNED_CLUSTERS, false};
    sample(&owned, NULL, 0, int_value(v->ha_owned));
    struct family own = {out, MF_HA_IS_OWNER, false};
    for (size_t i = 0; i < v->n_clusters; i++) {
        struct label l[] = {{"cluster", v->clusters[i].name}};
        sample(&own, l, ARRAY_LEN(l), int_value(v->clusters[i].ha_owner));
    }
    struct family up = {out, MF_HA_ETCD_UP, false};
    sample(&up, NULL, 0, int_value(v->ha_etcd_up));
}

void exporter_render(const struct agent_view *v, struct buf *out)
{
    struct family info = {out, MF_BUILD_INFO, false};
    struct label l[] = {{"version", v->version}};
    sample(&info, l, ARRAY_LEN(l), int_value(1));
    render_up(v, out);
    render_failures(v, out);
    for (size_t i = 0; i < ARRAY_LEN(node_families); i++)
        render_node_family(v, &node_families[i], out);
    render_health(v, out);
    render_state(v, out);
    render_implausible(v, out);
    render_merkle_buckets(v, out);
    render_remediation(v, out);
    render_failover(v, out);
    render_sync(v, out);
    render_agent(v, out);
    render_ha(v, out);
}
