/* statejson.c: GET /api/v1/state, written straight into the buffer.
 *
 * One function per level of the document (agent, cluster, node,
 * replica); a later section (Merkle diff, throttle, pause, recent
 * actions) is one more add_*() call where it belongs. The engine renders
 * it every round, so it is written directly rather than built as a cJSON
 * tree and printed: at 1,000 nodes the tree was a quarter of a round's
 * instructions. Numbers are seconds, timestamps and limits, written as
 * in /metrics (buf_put_decimal: at most nine decimals), without printf;
 * one that is not finite is null. */
#include "monitor/statejson.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* key: starts a member of the object being written (`"key":`), after a
 * comma unless it is the first; key NULL starts an array element. */
static void key(struct buf *b, const char *k)
{
    if (b->len && b->data[b->len - 1] != '{' && b->data[b->len - 1] != '[')
        buf_puts(b, ",");
    if (k)
        buf_printf(b, "\"%s\":", k);
}

/* put_string: s as a JSON string; the escapes JSON requires, bytes
 * from 0x80 up as they are (as cJSON does). */
static void put_string(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    buf_puts(b, "\"");
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        buf_append(b, run, (size_t)(s - run));
        run = s + 1;
        char esc[7] = {'\\', (char)c, 0};
        if (c < 0x20) {
            const char *named = strchr("\bb\ff\nn\rr\tt", c);
            if (named) {
                esc[1] = named[1];
            } else {
                memcpy(esc + 1, "u00", 3);
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
            }
        }
        buf_puts(b, esc);
    }
    buf_append(b, run, (size_t)(s - run));
    buf_puts(b, "\"");
}

static void add_null(struct buf *b, const char *k)
{
    key(b, k);
    buf_puts(b, "null");
}

static void add_bool(struct buf *b, const char *k, bool v)
{
    key(b, k);
    buf_puts(b, v ? "true" : "false");
}

static void add_str(struct buf *b, const char *k, const char *s)
{
    key(b, k);
    if (s)
        put_string(b, s);
    else
        buf_puts(b, "null");
}

static void add_num(struct buf *b, const char *k, bool known, double d)
{
    key(b, k);
    if (known && isfinite(d))
        buf_put_decimal(b, d);
    else
        buf_puts(b, "null");
}

/* add_u64: exact, where a double would round positions past 2^53. */
static void add_u64(struct buf *b, const char *k, bool known, uint64_t u)
{
    key(b, k);
    if (known)
        buf_put_u64(b, u);
    else
        buf_puts(b, "null");
}

/* begin, end: an object or array, as member k or (k NULL) an element. */
static void begin(struct buf *b, const char *k, const char *bracket)
{
    key(b, k);
    buf_puts(b, bracket);
}

static void end(struct buf *b, const char *bracket)
{
    buf_puts(b, bracket);
}

/* add_merkle: the last finished Merkle compare, or null before one. */
static void add_merkle(struct buf *b, const struct node_view *n)
{
    if (!n->have_merkle) {
        add_null(b, "merkle");
        return;
    }
    begin(b, "merkle", "{");
    add_u64(b, "diff_buckets", true, n->merkle_diff);
    add_u64(b, "buckets", true, n->merkle_buckets);
    add_str(b, "diff_ranges", n->merkle_ranges);
    add_num(b, "compare_duration", true, n->merkle_duration);
    add_num(b, "last_compare", true, n->merkle_last_wall);
    add_u64(b, "compare_errors", true, n->merkle_errors_total);
    end(b, "}");
}

/* add_replica: the fields only a replica has. Lags of a stale replica
 * are null, as in the metrics. */
static void add_replica(struct buf *b, const struct node_view *n)
{
    bool f = n->fresh;
    add_num(b, "lag", f && n->rv.have_lag, n->rv.lag);
    add_num(b, "lag_heartbeat", f && n->have_hb_lag, n->hb_lag);
    add_num(b, "lag_position", f && n->have_pos_lag, n->pos_lag);
    add_num(b, "lag_reported", f && n->have_reported_lag, n->reported_lag);
    add_u64(b, "lag_positions", f && n->have_lag_positions, n->lag_positions);
    if (f)
        add_bool(b, "connected", n->rv.connected);
    else
        add_null(b, "connected");
    add_bool(b, "demoted", n->rv.demoted);
    add_str(b, "health", health_name(n->health));
    add_str(b, "state", replica_state_name(n->state));
    add_bool(b, "in_read_rotation", n->in_rotation);
    add_str(b, "rotation_reason", n->in_rotation ? NULL : n->rotation_why);
    add_merkle(b, n);
}

static void add_node(struct buf *b, const struct node_view *n)
{
    begin(b, NULL, "{");
    add_str(b, "name", n->name);
    add_str(b, "url", n->url);
    add_str(b, "role", n->role);
    add_bool(b, "is_primary", n->is_primary);
    add_bool(b, "up", n->up);
    add_bool(b, "fresh", n->fresh);
    add_str(b, "last_failure",
            n->last_failure >= 0 ? scrape_reason_name(n->last_failure) : NULL);
    add_num(b, "last_ok", n->last_ok_wall > 0, n->last_ok_wall);
    add_u64(b, "position", n->have_position, n->position);
    if (!n->is_primary)
        add_replica(b, n);
    end(b, "}");
}

static void add_thresholds(struct buf *b, const struct cluster_view *c)
{
    const struct thresholds *th = &c->th;
    begin(b, "thresholds", "{");
    add_num(b, "warning", true, th->warning);
    add_num(b, "critical", true, th->critical);
    add_num(b, "escalate", true, th->escalate);
    add_num(b, "read_max_lag", true, th->read_max_lag);
    add_num(b, "read_rise", true, c->read_rise);
    add_num(b, "read_fall", true, c->read_fall);
    end(b, "}");
}

/* add_sync: the configured replication and the sync health of the last
 * round (docs/config.md, "Sync health"). */
static void add_sync(struct buf *b, const struct cluster_view *c)
{
    begin(b, "replication", "{");
    add_str(b, "mode", c->repl_mode);
    add_num(b, "min_sync_replicas", true, c->min_sync_replicas);
    add_num(b, "sync_max_lag", true, c->sync_max_lag);
    add_num(b, "sync_replicas", true, c->sync_replicas);
    add_bool(b, "sync_ok", c->sync_ok);
    add_bool(b, "sync_fallback", c->sync_fallback);
    end(b, "}");
}

/* add_failover: the running phase ("idle" when the executor has none
 * or no executor runs), the anti-flap block and the last failover, or
 * null before one. */
static void add_failover(struct buf *b, const struct cluster_view *c)
{
    const struct view_failover *f = c->last_failover;
    begin(b, "failover", "{");
    add_str(b, "phase", c->failover_phase ? c->failover_phase : "idle");
    add_bool(b, "blocked", c->failover_blocked);
    if (!f) {
        add_null(b, "last");
        end(b, "}");
        return;
    }
    begin(b, "last", "{");
    add_str(b, "kind", f->kind);
    add_str(b, "outcome", f->outcome);
    add_str(b, "from", f->from);
    add_str(b, "to", f->to);
    add_str(b, "reason", f->reason);
    add_u64(b, "epoch", f->epoch > 0, f->epoch);
    add_u64(b, "lost_positions", true, f->lost_positions);
    add_num(b, "started", f->started_wall > 0, f->started_wall);
    add_num(b, "duration", true, f->duration);
    end(b, "}");
    end(b, "}");
}

static void add_cluster(struct buf *b, const struct agent_view *v,
                        const struct cluster_view *c)
{
    begin(b, NULL, "{");
    add_str(b, "name", c->name);
    add_str(b, "lag_source", c->lag_source);
    add_thresholds(b, c);
    bool has_primary = c->primary >= 0 && (size_t)c->primary < v->n_nodes;
    add_str(b, "primary", has_primary ? v->nodes[c->primary].name : NULL);
    begin(b, "throttle", "{");
    add_bool(b, "active", c->throttle_active);
    add_num(b, "limit", c->throttle_active, c->throttle_limit);
    end(b, "}");
    add_u64(b, "epoch", c->epoch > 0, c->epoch);
    add_u64(b, "acked", c->have_acked, c->acked);
    add_str(b, "sync_mode", c->sync_mode);
    add_sync(b, c);
    add_failover(b, c);
    begin(b, "escalation", "{");
    add_bool(b, "latched", c->latched);
    end(b, "}");
    begin(b, "nodes", "[");
    for (size_t i = 0; i < c->n_nodes && c->first_node + i < v->n_nodes; i++)
        add_node(b, &v->nodes[c->first_node + i]);
    end(b, "]");
    end(b, "}");
}

/* add_runbooks: each runbook's hourly budget per cluster and the
 * cooldown on its last target (null when none runs). */
static void add_runbooks(struct buf *b, const struct agent_view *v)
{
    begin(b, "runbooks", "[");
    for (size_t i = 0; i < v->n_runbooks; i++) {
        const struct view_runbook *r = &v->runbooks[i];
        begin(b, NULL, "{");
        add_str(b, "runbook", r->runbook);
        add_str(b, "cluster", r->cluster);
        add_num(b, "max_per_hour", true, r->max_per_hour);
        add_num(b, "budget_left", true,
                r->used < r->max_per_hour ? r->max_per_hour - r->used : 0);
        add_str(b, "cooldown_target", r->target);
        add_num(b, "cooldown_until", r->cooldown_until > 0, r->cooldown_until);
        end(b, "}");
    }
    end(b, "]");
}

/* add_remediation: pause, actions running, the recent actions, newest
 * first, and the writers' app throttles; null when remediation is not
 * configured. */
static void add_remediation(struct buf *b, const struct agent_view *v)
{
    if (!v->remediation) {
        add_null(b, "remediation");
        return;
    }
    begin(b, "remediation", "{");
    add_bool(b, "paused", v->paused);
    add_num(b, "in_flight", true, v->in_flight);
    begin(b, "recent_actions", "[");
    for (size_t i = 0; i < v->n_recent; i++) {
        const struct view_action *a = &v->recent[i];
        begin(b, NULL, "{");
        add_num(b, "time", true, a->time);
        add_str(b, "cluster", a->cluster);
        add_str(b, "runbook", a->runbook);
        add_str(b, "action", a->action);
        add_str(b, "target", a->target);
        add_str(b, "outcome", a->outcome);
        add_str(b, "detail", a->detail);
        add_bool(b, "dry_run", a->dry_run);
        add_num(b, "lag_before", a->lag_before >= 0, a->lag_before);
        add_num(b, "lag_after", a->lag_after >= 0, a->lag_after);
        end(b, "}");
    }
    end(b, "]");
    add_runbooks(b, v);
    begin(b, "app_throttles", "[");
    for (size_t i = 0; i < v->n_app_throttles; i++) {
        const struct view_app_throttle *a = &v->app_throttles[i];
        begin(b, NULL, "{");
        add_str(b, "app", a->app);
        add_str(b, "cluster", a->cluster);
        add_num(b, "ratio", true, a->ratio);
        add_num(b, "expires", true, a->expires);
        end(b, "}");
    }
    end(b, "]");
    end(b, "}");
}

void statejson_render(const struct agent_view *v, struct buf *out)
{
    struct buf b; /* the whole document, appended to out at once */
    buf_init(&b, 0);
    buf_puts(&b, "{");
    add_str(&b, "version", v->version);
    add_num(&b, "generated_at", true, v->generated_wall);
    add_bool(&b, "ready", v->ready);
    add_bool(&b, "dry_run", v->dry_run);
    add_u64(&b, "rounds", true, v->rounds);
    add_num(&b, "interval", v->interval > 0, v->interval);
    begin(&b, "tilt", "{");
    add_bool(&b, "active", v->tilt);
    add_num(&b, "until", v->tilt, v->tilt_until_wall);
    add_str(&b, "reason", v->tilt_reason);
    add_num(&b, "seconds", v->tilt_reason != NULL, v->tilt_amount);
    add_u64(&b, "stall_total", true, v->tilt_total[TILT_STALL]);
    add_u64(&b, "clock_jump_total", true, v->tilt_total[TILT_CLOCK_JUMP]);
    end(&b, "}");
    begin(&b, "clusters", "[");
    for (size_t i = 0; i < v->n_clusters; i++)
        add_cluster(&b, v, &v->clusters[i]);
    end(&b, "]");
    add_remediation(&b, v);
    end(&b, "}");
    buf_append(out, b.data, b.len);
    buf_free(&b);
}
