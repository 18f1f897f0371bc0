/* appthrottle.c: per-application throttles and check counts
 * (appthrottle.h). */
#include "act/appthrottle.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "formats/alert.h"
#include "lib/fileio.h"
#include "lib/log.h"
#include "lib/util.h"

#define CLUSTER_MAX 128
/* "other" series: one per cluster, clusters come from the configuration;
 * past this many the checks are answered but not counted. */
#define OTHER_SLOTS 64

struct entry {
    char app[APPTHROTTLE_NAME_MAX + 1];
    char cluster[CLUSTER_MAX];
    double ratio, expires;
};

struct slot {
    char app[APPTHROTTLE_NAME_MAX + 1];
    char cluster[CLUSTER_MAX];
    uint64_t ok, refused; /* code 200, 429 */
};

struct appthrottle {
    pthread_mutex_t mu;
    char *dir;
    const struct fileio_ops *ops;
    struct entry *set; /* the throttles */
    size_t n_set;
    struct slot *slots; /* fixed storage: pointers into it stay valid */
    size_t n_slots, n_named;
    uint64_t rng;
};

bool appthrottle_valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > APPTHROTTLE_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

int appthrottle_parse_expires(const char *s, double now, double *out,
                              const char **why)
{
    double d;
    struct alert_time t;
    size_t n = strlen(s);
    bool unit =
        n > 0 && (s[n - 1] == 's' || s[n - 1] == 'm' || s[n - 1] == 'h');
    if (unit && parse_duration(s, &d) == 0) {
        *out = now + d;
    } else if (alert_parse_time(s, n, &t, NULL) == 0 && !t.unset) {
        *out = t.seconds;
    } else {
        *why = "invalid expires: want a duration such as 10m or an RFC 3339 "
               "time";
        return -1;
    }
    if (*out <= now) {
        *why = "expires is not in the future";
        return -1;
    }
    return 0;
}

bool appthrottle_refuses(double ratio, uint64_t draw)
{
    if (ratio >= 1)
        return true;
    if (ratio <= 0)
        return false;
    /* the top 53 bits as a uniform number in [0, 1) */
    return (double)(draw >> 11) * 0x1.0p-53 < ratio;
}

/* --- the file ------------------------------------------------------------ */

static void load(struct appthrottle *t, double now)
{
    char path[4096], *text = NULL;
    snprintf(path, sizeof(path), "%s/%s", t->dir, APPTHROTTLE_FILE);
    if (fileio_read_file(t->ops, path, 1 << 20, &text, NULL) < 0)
        return;
    cJSON *o = cJSON_Parse(text);
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "throttles"), *e;
    cJSON_ArrayForEach(e, a)
    {
        const char *app =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "app"));
        const char *cl = cJSON_GetStringValue(
            cJSON_GetObjectItemCaseSensitive(e, "cluster"));
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(e, "ratio");
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(e, "expires");
        if (!app || !cl || !appthrottle_valid_name(app) ||
            strlen(cl) >= CLUSTER_MAX || !cJSON_IsNumber(r) ||
            !cJSON_IsNumber(x) || x->valuedouble <= now ||
            t->n_set == APPTHROTTLE_MAX_SET)
            continue;
        struct entry *en = &t->set[t->n_set++];
        snprintf(en->app, sizeof(en->app), "%s", app);
        snprintf(en->cluster, sizeof(en->cluster), "%s", cl);
        en->ratio = r->valuedouble;
        en->expires = x->valuedouble;
    }
    cJSON_Delete(o);
    free(text);
}

/* save: writes set (n entries) durably; 0 or -errno. */
static int save(struct appthrottle *t, const struct entry *set, size_t n)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *a = cJSON_AddArrayToObject(o, "throttles");
    for (size_t i = 0; i < n; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "app", set[i].app);
        cJSON_AddStringToObject(e, "cluster", set[i].cluster);
        cJSON_AddNumberToObject(e, "ratio", set[i].ratio);
        cJSON_AddNumberToObject(e, "expires", set[i].expires);
        cJSON_AddItemToArray(a, e);
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s)
        abort();
    int rc = fileio_replace(t->ops, t->dir, APPTHROTTLE_FILE, s, strlen(s));
    cJSON_free(s);
    return rc;
}

struct appthrottle *appthrottle_new(const char *state_dir,
                                    const struct fileio_ops *ops, double now)
{
    struct appthrottle *t = xcalloc(1, sizeof(*t));
    pthread_mutex_init(&t->mu, NULL);
    t->dir = xstrdup(state_dir);
    t->ops = ops;
    t->set = xcalloc(APPTHROTTLE_MAX_SET + 1, sizeof(*t->set));
    t->slots = xcalloc(APPTHROTTLE_MAX_APPS + OTHER_SLOTS, sizeof(*t->slots));
    t->rng = (uint64_t)(now * 1e6) ^ (uint64_t)(uintptr_t)t;
    load(t, now);
    return t;
}

void appthrottle_free(struct appthrottle *t)
{
    if (!t)
        return;
    pthread_mutex_destroy(&t->mu);
    free(t->dir);
    free(t->set);
    free(t->slots);
    free(t);
}

/* --- throttles ----------------------------------------------------------- */

static struct entry *find(struct appthrottle *t, const char *app,
                          const char *cluster)
{
    for (size_t i = 0; i < t->n_set; i++)
        if (strcmp(t->set[i].app, app) == 0 &&
            strcmp(t->set[i].cluster, cluster) == 0)
            return &t->set[i];
    return NULL;
}

/* next_set: into next (room for APPTHROTTLE_MAX_SET + 1), the table
 * after the change, without expired entries; returns its size or -1
 * when over the cap. */
static long next_set(struct appthrottle *t, struct entry *next,
                     const struct entry *change, double now)
{
    size_t n = 0;
    bool placed = false;
    for (size_t i = 0; i < t->n_set; i++) {
        const struct entry *e = &t->set[i];
        bool same = strcmp(e->app, change->app) == 0 &&
                    strcmp(e->cluster, change->cluster) == 0;
        if (same && change->ratio > 0)
            next[n++] = *change;
        else if (!same && e->expires > now)
            next[n++] = *e;
        placed = placed || same;
    }
    if (!placed && change->ratio > 0) {
        if (n == APPTHROTTLE_MAX_SET)
            return -1;
        next[n++] = *change;
    }
    return (long)n;
}

int appthrottle_set(struct appthrottle *t, const char *app, const char *cluster,
                    double ratio, double expires, double now)
{
    struct entry change = {.ratio = ratio > 1 ? 1 : ratio, .expires = expires};
    snprintf(change.app, sizeof(change.app), "%s", app);
    snprintf(change.cluster, sizeof(change.cluster), "%s", cluster);
    struct entry *next = xcalloc(APPTHROTTLE_MAX_SET + 1, sizeof(*next));
    pthread_mutex_lock(&t->mu);
    long n = next_set(t, next, &change, now);
    int rc = n < 0 ? -ENOSPC : save(t, next, (size_t)n);
    if (rc == 0) {
        struct entry *old = t->set;
        t->set = next;
        t->n_set = (size_t)n;
        next = old;
    }
    pthread_mutex_unlock(&t->mu);
    free(next);
    if (rc == 0)
        log_msg(LOG_WARN,
                "msg=\"app throttle\" app=%s cluster=%s ratio=%g expires=%.0f",
                app, cluster, change.ratio, expires);
    return rc;
}

double appthrottle_get(struct appthrottle *t, const char *app,
                       const char *cluster, double now, double *expires)
{
    pthread_mutex_lock(&t->mu);
    const struct entry *e = find(t, app, cluster);
    double ratio = e && e->expires > now ? e->ratio : 0;
    if (expires)
        *expires = ratio > 0 ? e->expires : 0;
    pthread_mutex_unlock(&t->mu);
    return ratio;
}

size_t appthrottle_list(struct appthrottle *t, double now,
                        struct appthrottle_entry *out, size_t max)
{
    pthread_mutex_lock(&t->mu);
    size_t n = 0;
    for (size_t i = 0; i < t->n_set; i++) {
        const struct entry *e = &t->set[i];
        if (e->expires <= now)
            continue;
        if (n < max) {
            struct appthrottle_entry *o = &out[n];
            snprintf(o->app, sizeof(o->app), "%s", e->app);
            snprintf(o->cluster, sizeof(o->cluster), "%s", e->cluster);
            o->ratio = e->ratio;
            o->expires = e->expires;
        }
        n++;
    }
    pthread_mutex_unlock(&t->mu);
    return n;
}

uint64_t appthrottle_draw(struct appthrottle *t)
{
    /* splitmix64 over a shared counter: cheap, thread-safe, and good
     * enough to spread refusals; not for secrets */
    uint64_t z =
        __atomic_add_fetch(&t->rng, 0x9e3779b97f4a7c15ULL, __ATOMIC_RELAXED);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* --- counts -------------------------------------------------------------- */

static struct slot *slot_for(struct appthrottle *t, const char *cluster,
                             const char *app)
{
    for (size_t i = 0; i < t->n_slots; i++)
        if (strcmp(t->slots[i].app, app) == 0 &&
            strcmp(t->slots[i].cluster, cluster) == 0)
            return &t->slots[i];
    return NULL;
}

void appthrottle_count(struct appthrottle *t, const char *cluster,
                       const char *app, unsigned code)
{
    if (code != 200 && code != 429)
        return;
    pthread_mutex_lock(&t->mu);
    struct slot *s = slot_for(t, cluster, app);
    if (!s && t->n_named == APPTHROTTLE_MAX_APPS)
        s = slot_for(t, cluster, app = "other");
    size_t cap = APPTHROTTLE_MAX_APPS + OTHER_SLOTS;
    if (!s && t->n_slots < cap) {
        s = &t->slots[t->n_slots++];
        snprintf(s->app, sizeof(s->app), "%s", app);
        snprintf(s->cluster, sizeof(s->cluster), "%s", cluster);
        if (strcmp(app, "other") != 0 || t->n_named < APPTHROTTLE_MAX_APPS)
            t->n_named++;
    }
    if (s && code == 200)
        s->ok++;
    else if (s)
        s->refused++;
    pthread_mutex_unlock(&t->mu);
}

size_t appthrottle_series(struct appthrottle *t, struct appthrottle_series *out,
                          size_t max)
{
    pthread_mutex_lock(&t->mu);
    size_t n = 0;
    for (size_t i = 0; i < t->n_slots; i++) {
        const struct slot *s = &t->slots[i];
        for (int k = 0; k < 2; k++, n++)
            if (n < max)
                out[n] = (struct appthrottle_series){s->cluster, s->app,
                                                     k ? "429" : "200",
                                                     k ? s->refused : s->ok};
    }
    pthread_mutex_unlock(&t->mu);
    return n;
}
