/* scrape.c: the stemedb profile: which series mean what. */
#include "profiles/stemedb/scrape.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

enum series {
    S_POSITION,
    S_CONNECTED,
    S_HEARTBEAT,
    S_ROLE,
    S_RATE_LIMIT,
    S_REPORTED,
    S_EPOCH,
    S_ACKED,
    S_SYNC_MODE,
    S_PAUSED,
    S_SYNC_PROGRESS,
    S_COUNT
};

/* the names with their lengths, so a lookup compares lengths first */
#define SERIES(n)                                                              \
    {                                                                          \
        n, sizeof(n) - 1                                                       \
    }
static const struct {
    const char *name;
    size_t len;
} series_names[S_COUNT] = {
    [S_POSITION] = SERIES("stemedb_assertions_indexed_total"),
    [S_CONNECTED] = SERIES("stemedb_replication_connected"),
    [S_HEARTBEAT] = SERIES("stemedb_heartbeat_timestamp_seconds"),
    [S_ROLE] = SERIES("stemedb_node_role"),
    [S_RATE_LIMIT] = SERIES("stemedb_rate_limit_assertions_per_second"),
    [S_REPORTED] = SERIES("stemedb_replication_lag_seconds"),
    [S_EPOCH] = SERIES("stemedb_epoch"),
    [S_ACKED] = SERIES("stemedb_acked_position"),
    [S_SYNC_MODE] = SERIES("stemedb_sync_mode"),
    [S_PAUSED] = SERIES("stemedb_replication_paused"),
    [S_SYNC_PROGRESS] = SERIES("stemedb_merkle_sync_progress"),
};
#undef SERIES

struct ctx {
    struct node_sample *out;
    const char *bad; /* a reason to reject the answer */
};

/* series_of: which series name is, or -1. Called for every sample line
 * of every scrape: the lengths are compared before the bytes. */
static int series_of(const char *name, size_t len)
{
    if (len < 8 || memcmp(name, "stemedb_", 8) != 0)
        return -1;
    for (int i = 0; i < S_COUNT; i++)
        if (series_names[i].len == len &&
            memcmp(name + 8, series_names[i].name + 8, len - 8) == 0)
            return i;
    return -1;
}

static int want(const char *name, size_t len, void *ctx)
{
    (void)ctx;
    return series_of(name, len) >= 0;
}

static void on_role(struct node_sample *o, const struct promtext_sample *s)
{
    const struct promtext_label *l =
        promtext_label_find(s->labels, s->nlabels, "role");
    if (!l || s->value != 1)
        return;
    if (strcmp(l->value, "primary") == 0)
        o->role = SEEN_ROLE_PRIMARY;
    else if (strcmp(l->value, "replica") == 0)
        o->role = SEEN_ROLE_REPLICA;
    else if (strcmp(l->value, "demoted") == 0)
        o->role = SEEN_ROLE_DEMOTED;
    else if (strcmp(l->value, "fenced") == 0)
        o->role = SEEN_ROLE_FENCED;
}

static void on_sync_mode(struct node_sample *o, const struct promtext_sample *s)
{
    static const char *const modes[] = {[SYNC_SEEN_ASYNC] = "async",
                                        [SYNC_SEEN_SEMI_SYNC] = "semi-sync",
                                        [SYNC_SEEN_SYNC] = "sync",
                                        [SYNC_SEEN_BLOCKED] = "blocked"};
    const struct promtext_label *l =
        promtext_label_find(s->labels, s->nlabels, "mode");
    if (!l || s->value != 1)
        return;
    for (int m = SYNC_SEEN_ASYNC; m <= SYNC_SEEN_BLOCKED; m++)
        if (strcmp(l->value, modes[m]) == 0)
            o->sync_mode = (enum sync_seen)m;
}

/* whole: v as a count (0 .. 2^53), else false. */
static bool whole(double v, uint64_t *out)
{
    if (!isfinite(v) || v < 0 || v > 9007199254740992.0 || floor(v) != v)
        return false;
    *out = (uint64_t)v;
    return true;
}

static void on_reported(struct ctx *c, const struct promtext_sample *s)
{
    struct node_sample *o = c->out;
    const struct promtext_label *l =
        promtext_label_find(s->labels, s->nlabels, "replica");
    if (!l || !isfinite(s->value) || s->value < 0 ||
        o->n_reported == SCRAPE_MAX_REPORTED ||
        l->value_len >= sizeof(o->reported[0].replica))
        return;
    struct reported_lag *r = &o->reported[o->n_reported++];
    memcpy(r->replica, l->value, l->value_len + 1);
    r->lag = s->value;
}

static int on_sample(const struct promtext_sample *s, void *arg)
{
    struct ctx *c = arg;
    struct node_sample *o = c->out;
    double v = s->value;
    switch (series_of(s->name, s->name_len)) {
    case S_POSITION:
        if (!isfinite(v) || v < 0 || v > 1.8e19) {
            c->bad = "position is not a non-negative number";
            return 1;
        }
        o->has_position = true;
        o->position = (uint64_t)v;
        break;
    case S_CONNECTED:
        o->has_connected = true;
        o->connected = v == 1;
        break;
    case S_HEARTBEAT:
        o->has_heartbeat = isfinite(v) && v >= 0;
        o->heartbeat = o->has_heartbeat ? v : 0;
        break;
    case S_ROLE:
        on_role(o, s);
        break;
    case S_RATE_LIMIT:
        o->has_rate_limit = isfinite(v) && v >= 0;
        o->rate_limit = o->has_rate_limit ? v : 0;
        break;
    case S_REPORTED:
        on_reported(c, s);
        break;
    case S_EPOCH:
        o->has_epoch = whole(v, &o->epoch);
        break;
    case S_ACKED:
        o->has_acked = whole(v, &o->acked);
        break;
    case S_SYNC_MODE:
        on_sync_mode(o, s);
        break;
    case S_PAUSED:
        o->has_paused = true;
        o->paused = v == 1;
        break;
    case S_SYNC_PROGRESS:
        o->has_sync_progress = isfinite(v) && v >= 0;
        o->sync_progress = o->has_sync_progress ? v : 1;
        break;
    default:
        break;
    }
    return 0;
}

int scrape_parse(const char *body, size_t len, struct node_sample *out,
                 struct promtext_error *err)
{
    size_t keep = offsetof(struct node_sample, reported);
    memset(out, 0, keep); /* the reported array is filled as counted */
    struct ctx c = {out, NULL};
    /* families it does not read are skipped unvalidated (promtext.h) */
    struct promtext_handler h = {
        .want = want, .sample = on_sample, .ctx = &c, .skip_unwanted = 1};
    int rc = promtext_parse(body, len, &h, err);
    if (c.bad) {
        err->msg = c.bad;
        return -1;
    }
    if (rc < 0)
        return -1;
    if (!out->has_position) {
        err->line = 0;
        err->msg = "no stemedb_assertions_indexed_total";
        return -1;
    }
    return 0;
}

const char *scrape_role_name(enum node_seen_role r)
{
    static const char *const names[] = {NULL, "primary", "replica", "demoted",
                                        "fenced"};
    return r <= SEEN_ROLE_FENCED ? names[r] : NULL;
}
