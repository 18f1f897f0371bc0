/* statejson.c: GET /api/v1/state, built with cJSON.
 *
 * One function per level of the document (agent, cluster, node,
 * replica); a later section (Merkle diff, throttle, pause, recent
 * actions) is one more add_*() call where it belongs. */
#include "statejson.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

static void add_str(cJSON *o, const char *key, const char *s)
{
    if (s)
        cJSON_AddStringToObject(o, key, s);
    else
        cJSON_AddNullToObject(o, key);
}

static void add_num(cJSON *o, const char *key, bool known, double d)
{
    if (known)
        cJSON_AddNumberToObject(o, key, d);
    else
        cJSON_AddNullToObject(o, key);
}

/* add_u64: exact, where a double would round positions past 2^53. */
static void add_u64(cJSON *o, const char *key, bool known, uint64_t u)
{
    char s[24];
    if (!known) {
        cJSON_AddNullToObject(o, key);
        return;
    }
    snprintf(s, sizeof(s), "%" PRIu64, u);
    cJSON_AddRawToObject(o, key, s);
}

/* add_merkle: the last finished Merkle compare, or null before one. */
static void add_merkle(cJSON *o, const struct node_view *n)
{
    if (!n->have_merkle) {
        cJSON_AddNullToObject(o, "merkle");
        return;
    }
    cJSON *m = cJSON_AddObjectToObject(o, "merkle");
    add_u64(m, "diff_buckets", true, n->merkle_diff);
    add_u64(m, "buckets", true, n->merkle_buckets);
    add_str(m, "diff_ranges", n->merkle_ranges);
    cJSON_AddNumberToObject(m, "compare_duration", n->merkle_duration);
    cJSON_AddNumberToObject(m, "last_compare", n->merkle_last_wall);
    add_u64(m, "compare_errors", true, n->merkle_errors_total);
}

/* add_replica: the fields only a replica has. Lags of a stale replica
 * are null, as in the metrics. */
static void add_replica(cJSON *o, const struct node_view *n)
{
    bool f = n->fresh;
    add_num(o, "lag", f && n->rv.have_lag, n->rv.lag);
    add_num(o, "lag_heartbeat", f && n->have_hb_lag, n->hb_lag);
    add_num(o, "lag_position", f && n->have_pos_lag, n->pos_lag);
    add_num(o, "lag_reported", f && n->have_reported_lag, n->reported_lag);
    add_u64(o, "lag_positions", f && n->have_lag_positions, n->lag_positions);
    if (f)
        cJSON_AddBoolToObject(o, "connected", n->rv.connected);
    else
        cJSON_AddNullToObject(o, "connected");
    cJSON_AddBoolToObject(o, "demoted", n->rv.demoted);
    cJSON_AddStringToObject(o, "health", health_name(n->health));
    cJSON_AddBoolToObject(o, "in_read_rotation", n->in_rotation);
    add_str(o, "rotation_reason", n->in_rotation ? NULL : n->rotation_why);
    add_merkle(o, n);
}

static void add_node(cJSON *arr, const struct node_view *n)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToArray(arr, o);
    add_str(o, "name", n->name);
    add_str(o, "url", n->url);
    add_str(o, "role", n->role);
    cJSON_AddBoolToObject(o, "is_primary", n->is_primary);
    cJSON_AddBoolToObject(o, "up", n->up);
    cJSON_AddBoolToObject(o, "fresh", n->fresh);
    add_str(o, "last_failure",
            n->last_failure >= 0 ? scrape_reason_name(n->last_failure) : NULL);
    add_num(o, "last_ok", n->last_ok_wall > 0, n->last_ok_wall);
    add_u64(o, "position", n->have_position, n->position);
    if (!n->is_primary)
        add_replica(o, n);
}

static void add_thresholds(cJSON *o, const struct thresholds *th)
{
    cJSON *t = cJSON_AddObjectToObject(o, "thresholds");
    cJSON_AddNumberToObject(t, "warning", th->warning);
    cJSON_AddNumberToObject(t, "critical", th->critical);
    cJSON_AddNumberToObject(t, "escalate", th->escalate);
    cJSON_AddNumberToObject(t, "read_max_lag", th->read_max_lag);
}

static void add_cluster(cJSON *arr, const struct agent_view *v,
                        const struct cluster_view *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToArray(arr, o);
    add_str(o, "name", c->name);
    add_str(o, "lag_source", c->lag_source);
    add_thresholds(o, &c->th);
    bool has_primary = c->primary >= 0 && (size_t)c->primary < v->n_nodes;
    add_str(o, "primary", has_primary ? v->nodes[c->primary].name : NULL);
    cJSON *th = cJSON_AddObjectToObject(o, "throttle");
    cJSON_AddBoolToObject(th, "active", c->throttle_active);
    add_num(th, "limit", c->throttle_active, c->throttle_limit);
    cJSON *nodes = cJSON_AddArrayToObject(o, "nodes");
    for (size_t i = 0; i < c->n_nodes && c->first_node + i < v->n_nodes; i++)
        add_node(nodes, &v->nodes[c->first_node + i]);
}

/* add_remediation: pause, actions running and the recent actions,
 * newest first; null when remediation is not configured. */
static void add_remediation(cJSON *root, const struct agent_view *v)
{
    if (!v->remediation) {
        cJSON_AddNullToObject(root, "remediation");
        return;
    }
    cJSON *o = cJSON_AddObjectToObject(root, "remediation");
    cJSON_AddBoolToObject(o, "paused", v->paused);
    cJSON_AddNumberToObject(o, "in_flight", v->in_flight);
    cJSON *arr = cJSON_AddArrayToObject(o, "recent_actions");
    for (size_t i = 0; i < v->n_recent; i++) {
        const struct view_action *a = &v->recent[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddItemToArray(arr, e);
        cJSON_AddNumberToObject(e, "time", a->time);
        add_str(e, "cluster", a->cluster);
        add_str(e, "runbook", a->runbook);
        add_str(e, "action", a->action);
        add_str(e, "target", a->target);
        add_str(e, "outcome", a->outcome);
        add_str(e, "detail", a->detail);
        cJSON_AddBoolToObject(e, "dry_run", a->dry_run);
    }
}

void statejson_render(const struct agent_view *v, struct buf *out)
{
    cJSON *root = cJSON_CreateObject();
    add_str(root, "version", v->version);
    cJSON_AddNumberToObject(root, "generated_at", v->generated_wall);
    cJSON_AddBoolToObject(root, "ready", v->ready);
    cJSON_AddBoolToObject(root, "dry_run", v->dry_run);
    add_u64(root, "rounds", true, v->rounds);
    cJSON *tilt = cJSON_AddObjectToObject(root, "tilt");
    cJSON_AddBoolToObject(tilt, "active", v->tilt);
    add_num(tilt, "until", v->tilt, v->tilt_until_wall);
    add_str(tilt, "reason", v->tilt_reason);
    add_num(tilt, "seconds", v->tilt_reason != NULL, v->tilt_amount);
    add_u64(tilt, "stall_total", true, v->tilt_total[TILT_STALL]);
    add_u64(tilt, "clock_jump_total", true, v->tilt_total[TILT_CLOCK_JUMP]);
    cJSON *clusters = cJSON_AddArrayToObject(root, "clusters");
    for (size_t i = 0; i < v->n_clusters; i++)
        add_cluster(clusters, v, &v->clusters[i]);
    add_remediation(root, v);
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!s) {
        fputs("replguard: out of memory rendering the state\n", stderr);
        abort();
    }
    buf_puts(out, s);
    cJSON_free(s);
}
