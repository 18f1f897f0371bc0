/* routecheck.c: the writers' throttle check and throttle-app
 * (routecheck.h). */
#include "serve/routecheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "act/appthrottle.h"
#include "act/remedy.h"
#include "monitor/snapshot.h"

static void put_json(struct buf *body, cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s)
        abort();
    buf_puts(body, s);
    cJSON_free(s);
}

static void put_error(unsigned *status, struct buf *body, unsigned code,
                      const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    *status = code;
    put_json(body, o);
}

/* split_check: "{app}/{cluster}" or "{app}/{type}/{cluster}" into app
 * and cluster (size bytes each; a longer app is cut); -1 when it is
 * neither. */
static int split_check(const char *tail, char *app, char *cluster, size_t size)
{
    const char *a = strchr(tail, '/');
    if (!a)
        return -1;
    /* a name too long is cut: still over 64, so refused as invalid */
    snprintf(app, size, "%.*s",
             (int)(a - tail < (long)size ? a - tail : (long)size - 1), tail);
    const char *b = strchr(a + 1, '/');
    const char *c = b ? b + 1 : a + 1;
    if (b && (b == a + 1 || strchr(c, '/')))
        return -1;
    if (!c[0] || strlen(c) >= size)
        return -1;
    snprintf(cluster, size, "%s", c);
    return 0;
}

/* lag_verdict: over the replicas of the cluster (nodes, n), the largest
 * lag in *value and NULL when all are within warning, else why not
 * (reason, len bytes). */
static const char *lag_verdict(const struct snap_node *nodes, size_t n,
                               double *value, char *reason, size_t len)
{
    const char *why = NULL;
    *value = 0;
    for (size_t i = 0; i < n; i++) {
        const struct snap_node *m = &nodes[i];
        if (m->is_primary || strcmp(m->role, "replica") != 0)
            continue;
        if (m->rv.have_lag && m->rv.lag > *value)
            *value = m->rv.lag;
        if (why || m->health == HEALTH_HEALTHY)
            continue;
        if (m->health == HEALTH_DEGRADED || (m->rv.have_lag && m->rv.connected))
            snprintf(reason, len, "replica %s lag %.3fs over warning %.3fs",
                     m->node, m->rv.lag, m->warning);
        else
            snprintf(reason, len, "replica %s is %s", m->node,
                     health_name(m->health));
        why = reason;
    }
    return why;
}

void routecheck_check(const struct snapshot *s, struct remedy *rem,
                      const char *tail, unsigned *status, struct buf *body)
{
    char app[128], cluster[128], reason[256];
    if (split_check(tail, app, cluster, sizeof(app)) < 0) {
        put_error(status, body, 404, "usage: /check/{app}/{cluster}");
        return;
    }
    if (!appthrottle_valid_name(app)) {
        put_error(status, body, 400,
                  "invalid app: want 1-64 characters of [A-Za-z0-9._-]");
        return;
    }
    size_t n;
    const struct snap_node *nodes = snapshot_cluster(s, cluster, &n);
    if (!nodes) {
        put_error(status, body, 404, "unknown cluster");
        return;
    }
    double value, expires = 0;
    const char *why = lag_verdict(nodes, n, &value, reason, sizeof(reason));
    const char *msg = why ? "Threshold exceeded" : "";
    double ratio = rem ? appthrottle_get(remedy_apps(rem), app, cluster,
                                         (double)time(NULL), &expires)
                       : 0;
    if (!why && ratio > 0 &&
        appthrottle_refuses(ratio, appthrottle_draw(remedy_apps(rem)))) {
        snprintf(reason, sizeof(reason),
                 "app %s throttled at ratio %g for %.0fs more", app, ratio,
                 expires - (double)time(NULL));
        why = reason;
        msg = "App denied";
    }
    *status = why ? 429 : 200;
    if (rem)
        appthrottle_count(remedy_apps(rem), cluster, app, *status);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "StatusCode", *status);
    cJSON_AddNumberToObject(o, "Value", value);
    cJSON_AddNumberToObject(o, "Threshold", nodes[0].warning);
    cJSON_AddStringToObject(o, "Message", msg);
    cJSON_AddStringToObject(o, "app", app);
    cJSON_AddStringToObject(o, "cluster", cluster);
    if (why)
        cJSON_AddStringToObject(o, "reason", why);
    else
        cJSON_AddNullToObject(o, "reason");
    put_json(body, o);
}

/* throttle_fields: app, cluster, ratio and expires of the request o;
 * NULL when they are fine, else why not. */
static const char *throttle_fields(const cJSON *o, const char **app,
                                   const char **cluster, double *ratio,
                                   double *expires)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "ratio");
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, "expires");
    *app = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "app"));
    *cluster =
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "cluster"));
    if (!cJSON_IsObject(o))
        return "the body must be a JSON object: {\"app\", \"cluster\", "
               "\"ratio\", \"expires\"}";
    if (!*app || !appthrottle_valid_name(*app))
        return "\"app\" must be 1-64 characters of [A-Za-z0-9._-]";
    if (!*cluster || !(*cluster)[0])
        return "\"cluster\" must be a cluster name";
    if (!cJSON_IsNumber(r) || !(r->valuedouble >= 0 && r->valuedouble <= 1))
        return "\"ratio\" must be a number from 0 (unthrottle) to 1 (refuse "
               "every check)";
    *ratio = r->valuedouble;
    double now = (double)time(NULL);
    const char *why = NULL;
    if (!x || cJSON_IsNull(x))
        *expires = now + APPTHROTTLE_DEFAULT_TTL;
    else if (!cJSON_IsString(x))
        return "\"expires\" must be a string: a duration such as 10m or an "
               "RFC 3339 time";
    else if (appthrottle_parse_expires(x->valuestring, now, expires, &why) < 0)
        return why;
    return NULL;
}

void routecheck_throttle_app(const struct snapshot *s, struct remedy *rem,
                             const struct buf *req, unsigned *status,
                             struct buf *body)
{
    cJSON *o = req->data ? cJSON_ParseWithLength(req->data, req->len) : NULL;
    const char *app, *cluster;
    double ratio = 0, expires = 0;
    const char *why = throttle_fields(o, &app, &cluster, &ratio, &expires);
    if (why)
        put_error(status, body, 400, why);
    else if (!snapshot_has_cluster(s, cluster))
        put_error(status, body, 404, "unknown cluster");
    else if (appthrottle_set(remedy_apps(rem), app, cluster, ratio, expires,
                             (double)time(NULL)) < 0)
        put_error(status, body, 500, "cannot persist the throttle");
    else {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "app", app);
        cJSON_AddStringToObject(a, "cluster", cluster);
        cJSON_AddNumberToObject(a, "ratio", ratio);
        if (ratio > 0)
            cJSON_AddNumberToObject(a, "expires", expires);
        else
            cJSON_AddNullToObject(a, "expires");
        *status = 200;
        put_json(body, a);
    }
    cJSON_Delete(o);
}
