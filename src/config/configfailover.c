/* configfailover.c: a cluster's `replication:` and `failover:` mappings
 * (config_internal.h) and the checks that need the rest of the config:
 * the replica count (nodes may come after these keys) and the poll
 * interval (poll: may come after clusters:). Those checks run once the
 * walk is done and find the key they blame again in the tree, so an
 * error points at the value as written. */
#include "config/config_internal.h"

#include <inttypes.h>
#include <string.h>

#define MAX_DATA_LOSS    1000000000000000ULL /* 10^15 positions */
#define DETECT_DEFAULT   3.0
#define DETECT_INTERVALS 2 /* detect_after spans at least this many polls */

static const char *const mode_names[] = {[REPL_ASYNC] = "async",
                                         [REPL_SEMI_SYNC] = "semi-sync",
                                         [REPL_SYNC] = "sync"};

/* detect_after: below 100ms a scrape timeout is an outage; past an hour
 * nobody is waiting for the failover any more. block_period: 0 is
 * allowed (no block) and handled before the range. */
static const struct yr_range detect_range = {0.1, 3600, "100ms", "1h"};
static const struct yr_range block_range = {1e-9, 7 * 86400, "0s", "168h"};
/* sync_max_lag: a bound on how far behind a replica that acknowledges
 * writes may be; an hour behind is no longer in sync by any reading. */
static const struct yr_range sync_lag_range = {0.001, 3600, "1ms", "1h"};

/* --- replication -------------------------------------------------------- */

static bool read_mode(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    size_t i;
    if (!yr_read_enum(c, v, mode_names, ARRAY_LEN(mode_names), &i))
        return false;
    *(enum repl_mode *)dst = (enum repl_mode)i;
    return true;
}

static bool read_min_sync(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    uint64_t n;
    if (!yr_read_uint(c, v, 1, CONFIG_MAX_NODES - 1, &n))
        return false;
    *(unsigned *)dst = (unsigned)n;
    return true;
}

static bool read_sync_max_lag(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    return yr_read_duration_in(c, v, &sync_lag_range, dst);
}

static const struct yr_field repl_fields[] = {
    {"mode", read_mode, offsetof(struct config_replication, mode), false},
    {"min_sync_replicas", read_min_sync,
     offsetof(struct config_replication, min_sync_replicas), false},
    {"sync_max_lag", read_sync_max_lag,
     offsetof(struct config_replication, sync_max_lag), false},
};

bool cfg_read_replication(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    return yr_read_map(c, v, repl_fields, ARRAY_LEN(repl_fields), dst);
}

/* --- failover ----------------------------------------------------------- */

static bool read_detect_after(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    return yr_read_duration_in(c, v, &detect_range, dst);
}

/* read_block_period: "0", "0s" (any zero duration) or 1ms-168h. */
static bool read_block_period(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    double d;
    if (v->type == YAML_SCALAR_NODE && parse_duration(yr_sval(v), &d) == 0 &&
        d == 0) {
        *(double *)dst = 0;
        return true;
    }
    return yr_read_duration_in(c, v, &block_range, dst);
}

static bool read_max_data_loss(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    return yr_read_uint(c, v, 0, MAX_DATA_LOSS, dst);
}

/* read_quorum: majority, all, or a number of replicas (checked against
 * the cluster's replicas once its nodes are read). */
static bool read_quorum(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    static const char *const names[] = {"majority", "all"};
    struct config_failover *f = dst;
    const char *s;
    uint64_t n;
    size_t i;

    if (!yr_want_scalar(c, v, "majority, all or a number"))
        return false;
    s = yr_sval(v);
    if (*s >= '0' && *s <= '9') {
        if (!yr_read_uint(c, v, 1, CONFIG_MAX_NODES - 1, &n))
            return false;
        f->quorum = QUORUM_COUNT;
        f->quorum_count = (unsigned)n;
        return true;
    }
    if (!yr_read_enum(c, v, names, ARRAY_LEN(names), &i))
        return false;
    f->quorum = i == 0 ? QUORUM_MAJORITY : QUORUM_ALL;
    return true;
}

/* read_replication_user: a PostgreSQL role name, 1-63 of [A-Za-z0-9_.-]
 * (it goes into primary_conninfo; other names need quoting nobody
 * wants there). */
static bool read_replication_user(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    static const char ok[] = "abcdefghijklmnopqrstuvwxyz"
                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
    if (!yr_want_scalar(c, v, "a role name"))
        return false;
    const char *s = yr_sval(v);
    size_t n = strlen(s);
    if (n == 0 || n > 63 || strspn(s, ok) != n) {
        yr_err_at(c, v->start_mark,
                  "bad role name \"%.80s\" (1 to 63 of A-Z, a-z, 0-9, '_', "
                  "'.', '-')",
                  s);
        return false;
    }
    memcpy(dst, s, n + 1);
    return true;
}

static const struct yr_field failover_fields[] = {
    {"enabled", yr_read_bool, offsetof(struct config_failover, enabled), false},
    {"detect_after", read_detect_after,
     offsetof(struct config_failover, detect_after), false},
    {"quorum", read_quorum, 0, false},
    {"max_data_loss", read_max_data_loss,
     offsetof(struct config_failover, max_data_loss), false},
    {"block_period", read_block_period,
     offsetof(struct config_failover, block_period), false},
    {"replication_user", read_replication_user,
     offsetof(struct config_failover, replication_user), false},
};

bool cfg_read_failover(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    return yr_read_map(c, v, failover_fields, ARRAY_LEN(failover_fields), dst);
}

/* --- checks against the rest of the config ------------------------------ */

/* err_in: an error at the value of section.key in the cluster mapping
 * cmap (at cmap itself when it was not written), with that key on the
 * path. */
static void err_in(struct yr_ctx *c, const yaml_node_t *cmap,
                   const char *section, const char *key, const char *msg)
{
    yaml_node_t *v = yr_map_value(c, yr_map_value(c, cmap, section), key);
    size_t saved = yr_path_key(c, section);
    yr_path_key(c, key);
    yr_err_at(c, v ? v->start_mark : cmap->start_mark, "%s", msg);
    yr_path_pop(c, saved);
}

void cfg_check_failover(struct yr_ctx *c, const struct config_cluster *cl,
                        const yaml_node_t *cmap)
{
    unsigned replicas = cl->n_nodes ? (unsigned)cl->n_nodes - 1 : 0;
    char msg[160];

    if (cl->primary == SIZE_MAX) /* nodes were bad: reported already */
        return;
    bool written = yr_map_value(c, yr_map_value(c, cmap, "replication"),
                                "min_sync_replicas") != NULL;
    if ((cl->replication.mode == REPL_SEMI_SYNC || written) &&
        cl->replication.min_sync_replicas > replicas) {
        snprintf(msg, sizeof(msg),
                 "%u is more than the cluster's replicas (%u)",
                 cl->replication.min_sync_replicas, replicas);
        err_in(c, cmap, "replication", "min_sync_replicas", msg);
    }
    if (cl->failover.quorum == QUORUM_COUNT &&
        cl->failover.quorum_count > replicas) {
        snprintf(msg, sizeof(msg),
                 "%u is more than the cluster's replicas (%u)",
                 cl->failover.quorum_count, replicas);
        err_in(c, cmap, "failover", "quorum", msg);
    }
    if (cl->failover.enabled && replicas == 0)
        err_in(c, cmap, "failover", "enabled",
               "automatic failover needs at least one replica");
}

/* check_detect: cluster i's detect_after against the poll interval. A
 * detect_after written shorter than DETECT_INTERVALS polls is an error
 * (one slow scrape would read as a dead primary); the default grows to
 * that many polls instead, so a slow poll alone is no error. */
static void check_detect(struct yr_ctx *c, struct config_cluster *cl,
                         yaml_node_t *cmap, double interval)
{
    yaml_node_t *v =
        yr_map_value(c, yr_map_value(c, cmap, "failover"), "detect_after");
    double min = DETECT_INTERVALS * interval;
    if (cl->failover.detect_after >= min)
        return;
    if (!v) {
        cl->failover.detect_after = min > DETECT_DEFAULT ? min : DETECT_DEFAULT;
        return;
    }
    size_t saved = yr_path_key(c, "failover");
    yr_path_key(c, "detect_after");
    yr_err_at(c, v->start_mark,
              "%gs is less than %d poll intervals (poll.interval %gs)",
              cl->failover.detect_after, DETECT_INTERVALS, interval);
    yr_path_pop(c, saved);
}

void cfg_check_detect_after(struct yr_ctx *c, yaml_node_t *root,
                            struct config *cfg)
{
    yaml_node_t *seq = yr_map_value(c, root, "clusters");
    if (!seq || seq->type != YAML_SEQUENCE_NODE)
        return;
    size_t saved = yr_path_key(c, "clusters");
    for (size_t i = 0; i < cfg->n_clusters && i < yr_n_items(seq); i++) {
        yaml_node_t *cmap = yr_node(c, seq->data.sequence.items.start[i]);
        size_t at = yr_path_index(c, i);
        check_detect(c, &cfg->clusters[i], cmap, cfg->poll.interval);
        yr_path_pop(c, at);
    }
    yr_path_pop(c, saved);
}
