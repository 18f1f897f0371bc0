/* config.c: the agent's YAML config.
 *
 * libyaml's document API parses the text into a tree whose every node has
 * a line and column; the schema below (field tables, one per mapping)
 * walks that tree through yamlread.c, copies the values into struct
 * config and checks the rules between fields, collecting every error; the
 * tree is freed before config_load_string() returns. */
#include "config/config.h"

#include "config/config_internal.h"
#include "config/nameindex.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *const lag_source_names[] = {
    [LAG_SOURCE_HEARTBEAT] = "heartbeat",
    [LAG_SOURCE_POSITION] = "position",
    [LAG_SOURCE_REPORTED] = "reported",
};
static const char *const role_names[] = {
    [NODE_ROLE_PRIMARY] = "primary",
    [NODE_ROLE_REPLICA] = "replica",
};
static const char *const profile_names[] = {
    [PROFILE_STEMEDB] = "stemedb", [PROFILE_POSTGRES] = "postgres"};
static const char *const repl_mode_names[] = {[REPL_ASYNC] = "async",
                                              [REPL_SEMI_SYNC] = "semi-sync",
                                              [REPL_SYNC] = "sync"};
static const uint64_t default_steps[] = {100, 500, 1000, 2000};

/* --- enums -------------------------------------------------------------- */

static bool read_role(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    size_t i;
    if (!yr_read_enum(c, v, role_names, ARRAY_LEN(role_names), &i))
        return false;
    *(enum node_role *)dst = (enum node_role)i;
    return true;
}

static bool read_lag_source(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    size_t i;
    if (!yr_read_enum(c, v, lag_source_names, ARRAY_LEN(lag_source_names), &i))
        return false;
    *(enum lag_source *)dst = (enum lag_source)i;
    return true;
}

static bool read_profile(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    size_t i;
    if (!yr_read_enum(c, v, profile_names, ARRAY_LEN(profile_names), &i))
        return false;
    *(enum cluster_profile *)dst = (enum cluster_profile)i;
    return true;
}

/* --- durations ---------------------------------------------------------- */

/* The range of each duration key: a poll interval past an hour, or a
 * threshold past a week, is a typo that would freeze polling or never
 * fire while health answers "healthy". */
static const struct yr_range poll_range = {0.01, 3600, "10ms", "1h"};
static const struct yr_range merkle_range = {0.1, 86400, "100ms", "24h"};
static const struct yr_range threshold_range = {0.001, 7 * 86400, "1ms",
                                                "168h"};
static const struct yr_range restore_range = {1, 7 * 86400, "1s", "168h"};

static bool read_poll_duration(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    return yr_read_duration_in(c, v, &poll_range, dst);
}

static bool read_merkle_duration(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    return yr_read_duration_in(c, v, &merkle_range, dst);
}

static bool read_threshold(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    return yr_read_duration_in(c, v, &threshold_range, dst);
}

static bool read_restore_interval(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    return yr_read_duration_in(c, v, &restore_range, dst);
}

/* read_polls: a count of consecutive polls (read_rise, read_fall),
 * 1-100: past that a replica would wait minutes at a fast poll. */
static bool read_polls(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    uint64_t n;
    if (!yr_read_uint(c, v, 1, 100, &n))
        return false;
    *(unsigned *)dst = (unsigned)n;
    return true;
}

/* --- poll, auth, tls ---------------------------------------------------- */

enum { P_INTERVAL, P_TIMEOUT, P_MERKLE };
static const struct yr_field poll_fields[] = {
    [P_INTERVAL] = {"interval", read_poll_duration,
                    offsetof(struct config_poll, interval), false},
    [P_TIMEOUT] = {"timeout", read_poll_duration,
                   offsetof(struct config_poll, timeout), false},
    [P_MERKLE] = {"merkle_interval", read_merkle_duration,
                  offsetof(struct config_poll, merkle_interval), false},
};

static bool read_poll(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    struct config_poll *p = dst;
    struct yr_seen s;
    int before = c->count;

    if (!yr_want_map(c, v))
        return false;
    yr_walk_map(c, v, poll_fields, ARRAY_LEN(poll_fields), p, &s);
    struct bound timeout = {P_TIMEOUT, "timeout", p->timeout};
    struct bound interval = {P_INTERVAL, "interval", p->interval};
    cfg_check_less(c, &s, &timeout, &interval, &timeout);
    return c->count == before;
}

static const struct yr_field auth_fields[] = {
    {"token_file", yr_read_string, offsetof(struct config, token_file), false},
};

static const struct yr_field tls_fields[] = {
    {"cert_file", yr_read_string, offsetof(struct config, tls_cert_file), true},
    {"key_file", yr_read_string, offsetof(struct config, tls_key_file), true},
};

static bool read_auth(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    return yr_read_map(c, v, auth_fields, ARRAY_LEN(auth_fields), dst);
}

static bool read_tls(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    return yr_read_map(c, v, tls_fields, ARRAY_LEN(tls_fields), dst);
}

/* --- thresholds and throttle -------------------------------------------- */

enum { T_WARNING, T_CRITICAL, T_ESCALATE, T_READ, T_RISE, T_FALL };
static const struct yr_field threshold_fields[] = {
    [T_WARNING] = {"warning", read_threshold,
                   offsetof(struct config_thresholds, warning), false},
    [T_CRITICAL] = {"critical", read_threshold,
                    offsetof(struct config_thresholds, critical), false},
    [T_ESCALATE] = {"escalate", read_threshold,
                    offsetof(struct config_thresholds, escalate), false},
    [T_READ] = {"read_max_lag", read_threshold,
                offsetof(struct config_thresholds, read_max_lag), false},
    [T_RISE] = {"read_rise", read_polls,
                offsetof(struct config_thresholds, read_rise), false},
    [T_FALL] = {"read_fall", read_polls,
                offsetof(struct config_thresholds, read_fall), false},
};

static bool read_thresholds(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    struct config_thresholds *t = dst;
    struct yr_seen s;
    int before = c->count;

    if (!yr_want_map(c, v))
        return false;
    yr_walk_map(c, v, threshold_fields, ARRAY_LEN(threshold_fields), t, &s);
    struct bound warning = {T_WARNING, "warning", t->warning};
    struct bound critical = {T_CRITICAL, "critical", t->critical};
    struct bound escalate = {T_ESCALATE, "escalate", t->escalate};
    cfg_check_less(c, &s, &warning, &critical, &critical);
    cfg_check_less(c, &s, &critical, &escalate, &escalate);
    return c->count == before;
}

/* read_step: restore step i of the struct config_throttle arg. */
static bool read_step(struct yr_ctx *c, yaml_node_t *v, size_t i, void *arg)
{
    struct config_throttle *t = arg;
    uint64_t *steps = t->restore_steps;
    bool ok = yr_read_uint(c, v, 1, UINT32_MAX, &steps[i]);

    /* A step that failed to parse is 0: compare only with a good one. */
    if (ok && i > 0 && steps[i - 1] && steps[i] <= steps[i - 1]) {
        yr_err_at(c, v->start_mark,
                  "steps must be strictly increasing: %" PRIu64
                  " after %" PRIu64,
                  steps[i], steps[i - 1]);
        ok = false;
    }
    return ok;
}

static bool read_steps(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    struct config_throttle *t = dst;
    size_t n;

    if (!yr_want_items(c, v, 1, CONFIG_MAX_RESTORE_STEPS, "steps", &n))
        return false;
    t->restore_steps = xcalloc(n, sizeof(*t->restore_steps));
    t->n_restore_steps = n;
    return yr_each_item(c, v, read_step, t);
}

static void set_default_steps(struct config_throttle *t)
{
    t->n_restore_steps = ARRAY_LEN(default_steps);
    t->restore_steps = xcalloc(t->n_restore_steps, sizeof(uint64_t));
    memcpy(t->restore_steps, default_steps, sizeof(default_steps));
}

enum { TH_FLOOR, TH_STEPS, TH_INTERVAL };
static const struct yr_field throttle_fields[] = {
    [TH_FLOOR] = {"floor", cfg_read_floor,
                  offsetof(struct config_throttle, floor), false},
    [TH_STEPS] = {"restore_steps", read_steps, 0, false},
    [TH_INTERVAL] = {"restore_interval", read_restore_interval,
                     offsetof(struct config_throttle, restore_interval), false},
};

/* read_throttle: the first restore step may not be below the floor. */
static bool read_throttle(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    struct config_throttle *t = dst;
    struct yr_seen s;
    int before = c->count;

    if (!yr_want_map(c, v))
        return false;
    yr_walk_map(c, v, throttle_fields, ARRAY_LEN(throttle_fields), t, &s);
    if (s.state[TH_STEPS] == YR_ABSENT)
        set_default_steps(t);
    if (s.state[TH_FLOOR] == YR_BAD || s.state[TH_STEPS] == YR_BAD ||
        t->restore_steps[0] >= t->floor)
        return c->count == before;
    if (s.state[TH_STEPS] == YR_GOOD)
        yr_err_at(c, s.mark[TH_STEPS],
                  "the first restore step (%" PRIu64
                  ") is below floor (%" PRIu64 ")",
                  t->restore_steps[0], t->floor);
    else
        yr_err_at(c, s.mark[TH_FLOOR],
                  "floor (%" PRIu64
                  ") is above the first restore step (%" PRIu64
                  ", the default)",
                  t->floor, t->restore_steps[0]);
    return false;
}

/* --- nodes -------------------------------------------------------------- */

enum { N_NAME, N_URL, N_DSN, N_ROLE, N_PRIORITY, N_ZONE };
/* url or dsn, by the cluster's profile: cfg_check_endpoints() */
static const struct yr_field node_fields[] = {
    [N_NAME] = {"name", cfg_read_name, offsetof(struct config_node, name),
                true},
    [N_URL] = {"url", cfg_read_url, offsetof(struct config_node, url), false},
    [N_DSN] = {"dsn", yr_read_string, offsetof(struct config_node, dsn), false},
    [N_ROLE] = {"role", read_role, offsetof(struct config_node, role), true},
    [N_PRIORITY] = {"priority", cfg_read_priority,
                    offsetof(struct config_node, priority), false},
    [N_ZONE] = {"zone", cfg_read_name, offsetof(struct config_node, zone),
                false},
};

static void check_node_name(struct yr_ctx *c, const struct config_cluster *cl,
                            size_t i, yaml_mark_t m)
{
    for (size_t j = 0; j < i; j++) {
        if (cl->nodes[j].name &&
            strcmp(cl->nodes[j].name, cl->nodes[i].name) == 0) {
            yr_err_at(c, m, "duplicate node name \"%s\" (first at line %d)",
                      cl->nodes[i].name, cl->nodes[j].line);
            return;
        }
    }
}

static void note_primary(struct yr_ctx *c, struct config_cluster *cl, size_t i,
                         yaml_mark_t m)
{
    const struct config_node *first;

    if (cl->primary == SIZE_MAX) {
        cl->primary = i;
        return;
    }
    first = &cl->nodes[cl->primary];
    yr_err_at(c, m,
              "a second primary: the node at line %d is already the primary "
              "(a cluster has exactly one)",
              first->line);
}

/* read_node: reads node i of cl, the struct config_cluster arg.
 * Returns whether its role is known. */
static bool read_node(struct yr_ctx *c, yaml_node_t *v, size_t i, void *arg)
{
    struct config_cluster *cl = arg;
    struct config_node *n = &cl->nodes[i];
    struct yr_seen s;

    if (!yr_want_map(c, v))
        return false;
    n->line = (int)v->start_mark.line + 1;
    n->column = (int)v->start_mark.column + 1;
    yr_walk_map(c, v, node_fields, ARRAY_LEN(node_fields), n, &s);
    if (s.state[N_NAME] == YR_GOOD)
        check_node_name(c, cl, i, s.mark[N_NAME]);
    if (s.state[N_ROLE] == YR_GOOD && n->role == NODE_ROLE_PRIMARY)
        note_primary(c, cl, i, s.mark[N_ROLE]);
    return s.state[N_ROLE] == YR_GOOD;
}

static bool read_nodes(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    struct config_cluster *cl = dst;
    int before = c->count;
    bool roles_known;
    size_t n;

    if (!yr_want_items(c, v, 1, CONFIG_MAX_NODES, "nodes", &n))
        return false;
    cl->nodes = xcalloc(n, sizeof(*cl->nodes));
    cl->n_nodes = n;
    cl->primary = SIZE_MAX;
    roles_known = yr_each_item(c, v, read_node, cl);
    if (roles_known && cl->primary == SIZE_MAX)
        yr_err_at(c, v->start_mark,
                  "no node has role primary (a cluster has exactly one)");
    return c->count == before;
}

/* --- clusters ----------------------------------------------------------- */

enum {
    C_NAME,
    C_PROFILE,
    C_PASSWORD,
    C_LAG,
    C_THRESHOLDS,
    C_THROTTLE,
    C_REPLICATION,
    C_FAILOVER,
    C_NODES
};
static const struct yr_field cluster_fields[] = {
    [C_NAME] = {"name", cfg_read_name, offsetof(struct config_cluster, name),
                true},
    [C_PROFILE] = {"profile", read_profile,
                   offsetof(struct config_cluster, profile), false},
    [C_PASSWORD] = {"password_file", yr_read_string,
                    offsetof(struct config_cluster, password_file), false},
    [C_LAG] = {"lag_source", read_lag_source,
               offsetof(struct config_cluster, lag_source), false},
    [C_THRESHOLDS] = {"thresholds", read_thresholds,
                      offsetof(struct config_cluster, thresholds), false},
    [C_THROTTLE] = {"throttle", read_throttle,
                    offsetof(struct config_cluster, throttle), false},
    [C_REPLICATION] = {"replication", cfg_read_replication,
                       offsetof(struct config_cluster, replication), false},
    [C_FAILOVER] = {"failover", cfg_read_failover,
                    offsetof(struct config_cluster, failover), false},
    [C_NODES] = {"nodes", read_nodes, 0, true},
};

static void cluster_defaults(struct config_cluster *cl)
{
    cl->profile = PROFILE_STEMEDB;
    cl->lag_source = LAG_SOURCE_HEARTBEAT;
    cl->thresholds.warning = 5;
    cl->thresholds.critical = 10;
    cl->thresholds.escalate = 60;
    cl->thresholds.read_max_lag = 0.1;
    cl->thresholds.read_rise = 2;
    cl->thresholds.read_fall = 1;
    cl->throttle.floor = 100;
    cl->throttle.restore_interval = 300;
    cl->replication.mode = REPL_ASYNC;
    cl->replication.min_sync_replicas = 1;
    cl->failover.detect_after = 3;
    cl->failover.quorum = QUORUM_MAJORITY;
    cl->failover.block_period = 3600;
}

/* check_cluster_name: adds cluster i's name to the index, or reports it
 * as a duplicate of the first cluster of that name. */
static void check_cluster_name(struct yr_ctx *c, struct config *cfg, size_t i,
                               yaml_mark_t m)
{
    size_t j = nameindex_add(cfg->names, cfg->clusters[i].name, i);
    if (j != i)
        yr_err_at(c, m, "duplicate cluster name \"%s\" (first at line %d)",
                  cfg->clusters[i].name, cfg->clusters[j].line);
}

/* read_cluster: reads cluster i of the struct config arg; the caller
 * counts the errors. */
static bool read_cluster(struct yr_ctx *c, yaml_node_t *v, size_t i, void *arg)
{
    struct config *cfg = arg;
    struct config_cluster *cl = &cfg->clusters[i];
    struct yr_seen s;

    cluster_defaults(cl);
    if (!yr_want_map(c, v))
        return false;
    cl->line = (int)v->start_mark.line + 1;
    cl->column = (int)v->start_mark.column + 1;
    yr_walk_map(c, v, cluster_fields, ARRAY_LEN(cluster_fields), cl, &s);
    if (!cl->throttle.restore_steps)
        set_default_steps(&cl->throttle);
    if (cl->replication.sync_max_lag == 0) /* not written */
        cl->replication.sync_max_lag = cl->thresholds.read_max_lag;
    if (s.state[C_NAME] == YR_GOOD)
        check_cluster_name(c, cfg, i, s.mark[C_NAME]);
    if (s.state[C_NODES] == YR_GOOD)
        cfg_check_failover(c, cl, v);
    if (s.state[C_NODES] == YR_GOOD && s.state[C_PROFILE] != YR_BAD)
        cfg_check_endpoints(c, cl, v);
    return true;
}

static bool read_clusters(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    struct config *cfg = dst;
    int before = c->count;
    size_t n;

    if (!yr_want_items(c, v, 1, CONFIG_MAX_CLUSTERS, "clusters", &n))
        return false;
    cfg->clusters = xcalloc(n, sizeof(*cfg->clusters));
    cfg->n_clusters = n;
    cfg->names = nameindex_new(n);
    yr_each_item(c, v, read_cluster, cfg);
    if (c->count == before && config_node_count(cfg) > CONFIG_MAX_TOTAL_NODES)
        yr_err_at(c, v->start_mark, "expected at most %d nodes in all, got %zu",
                  CONFIG_MAX_TOTAL_NODES, config_node_count(cfg));
    return c->count == before;
}

/* --- the document ------------------------------------------------------- */

enum {
    F_LISTEN,
    F_DRY,
    F_STATE,
    F_AUDIT,
    F_RULES,
    F_AUTH,
    F_TLS,
    F_PROXY,
    F_POLL,
    F_ESC,
    F_HA,
    F_CL
};
static const struct yr_field top_fields[] = {
    [F_LISTEN] = {"listen", cfg_read_listen, 0, false},
    [F_DRY] = {"dry_run", yr_read_bool, offsetof(struct config, dry_run),
               false},
    [F_STATE] = {"state_dir", yr_read_string,
                 offsetof(struct config, state_dir), false},
    [F_AUDIT] = {"audit_log", yr_read_string,
                 offsetof(struct config, audit_log), false},
    [F_RULES] = {"rules", yr_read_string, offsetof(struct config, rules),
                 false},
    [F_AUTH] = {"auth", read_auth, 0, false},
    [F_TLS] = {"tls", read_tls, 0, false},
    [F_PROXY] = {"proxy", cfg_read_url, offsetof(struct config, proxy), false},
    [F_POLL] = {"poll", read_poll, offsetof(struct config, poll), false},
    [F_ESC] = {"escalation", cfg_read_escalation,
               offsetof(struct config, escalation), false},
    [F_HA] = {"ha", cfg_read_ha, 0, false},
    [F_CL] = {"clusters", read_clusters, 0, true},
};

_Static_assert(ARRAY_LEN(top_fields) <= YR_MAX_FIELDS, "raise YR_MAX_FIELDS");
_Static_assert(ARRAY_LEN(cluster_fields) <= YR_MAX_FIELDS,
               "raise YR_MAX_FIELDS");

static void string_defaults(struct config *cfg)
{
    struct buf b;

    if (!cfg->listen_host)
        cfg->listen_host = xstrdup("127.0.0.1");
    if (!cfg->state_dir)
        cfg->state_dir = xstrdup("/var/lib/replguard");
    if (!cfg->rules)
        cfg->rules = xstrdup("/etc/replguard/rules");
    if (cfg->audit_log)
        return;
    buf_init(&b, 0);
    buf_puts(&b, cfg->state_dir);
    if (b.len && b.data[b.len - 1] != '/')
        buf_puts(&b, "/");
    buf_puts(&b, "audit.jsonl");
    cfg->audit_log = buf_detach(&b);
}

static struct config_where where_of(const struct yr_seen *s, size_t i)
{
    struct config_where w = {0, 0};
    if (s->state[i] == YR_GOOD) {
        w.line = (int)s->mark[i].line + 1;
        w.column = (int)s->mark[i].column + 1;
    }
    return w;
}

static void walk_top(struct yr_ctx *c, yaml_node_t *root, struct config *cfg)
{
    struct yr_seen s;
    yr_walk_map(c, root, top_fields, ARRAY_LEN(top_fields), cfg, &s);
    if (s.state[F_CL] == YR_GOOD)
        cfg_check_detect_after(c, root, cfg);
    cfg->where_state_dir = where_of(&s, F_STATE);
    cfg->where_rules = where_of(&s, F_RULES);
}

static struct config *build(struct yr_ctx *c, yaml_node_t *root)
{
    struct config *cfg = xcalloc(1, sizeof(*cfg));
    yaml_mark_t start = {0, 0, 0};

    cfg->path = xstrdup(c->name);
    cfg->listen_port = 9650;
    cfg->poll.interval = 1;
    cfg->poll.timeout = 0.8;
    cfg->poll.merkle_interval = 30;
    cfg->escalation.repost_interval = 60;
    if (!root)
        yr_err_at(c, start, "empty config: missing required key \"clusters\"");
    else if (yr_want_map(c, root))
        walk_top(c, root, cfg);
    string_defaults(cfg);
    return cfg;
}

/* load_doc: parses c->text into *doc, which the caller deletes when
 * this returns 0; -1 after a syntax error in the first document. A
 * second document is an error. */
static int load_doc(struct yr_ctx *c, yaml_document_t *doc)
{
    yaml_parser_t p;
    yaml_document_t extra;
    int rc = -1;

    yr_parser_init(&p, c->text, c->len);
    if (!yaml_parser_load(&p, doc)) {
        yr_syntax_error(c, &p);
        goto out;
    }
    rc = 0;
    if (!yaml_parser_load(&p, &extra)) {
        yr_syntax_error(c, &p);
        goto out;
    }
    if (yaml_document_get_root_node(&extra))
        yr_err_at(c, extra.start_mark, "only one YAML document is allowed");
    yaml_document_delete(&extra);
out:
    yaml_parser_delete(&p);
    return rc;
}

int config_load_string(const char *name, const char *text, size_t len,
                       struct config **out, struct errlist *errs)
{
    struct errlist discard;
    yaml_document_t doc;
    struct config *cfg = NULL;
    struct yr_ctx c;
    int count;

    *out = NULL;
    errlist_init(&discard);
    yr_init(&c, name, text, len, errs ? errs : &discard);
    c.doc = &doc;
    if (len > CONFIG_MAX_FILE_SIZE) {
        yr_err_plain(c.errs, name, "larger than %d bytes",
                     CONFIG_MAX_FILE_SIZE);
        c.count++;
    } else if (yr_check_depth(&c, YR_MAX_DEPTH) && load_doc(&c, &doc) == 0) {
        cfg = build(&c, yaml_document_get_root_node(&doc));
        yaml_document_delete(&doc);
    }
    count = yr_finish(&c);
    if (count == 0) {
        *out = cfg;
        cfg = NULL;
    }
    config_free(cfg);
    errlist_reset(&discard);
    return count;
}

static int load_text(const char *name, const char *text, size_t len, void *out,
                     struct errlist *errs)
{
    return config_load_string(name, text, len, out, errs);
}

int config_load(const char *path, struct config **out, struct errlist *errs)
{
    *out = NULL;
    return yr_load_file(path, load_text, out, errs);
}

/* --- the loaded config -------------------------------------------------- */

/* free_secret: wipes s (a conninfo holding a password) and frees it. */
static void free_secret(char *s)
{
    if (!s)
        return;
    volatile char *v = s;
    while (*v)
        *v++ = '\0';
    free(s);
}

static void free_cluster(struct config_cluster *cl)
{
    for (size_t i = 0; i < cl->n_nodes; i++) {
        free(cl->nodes[i].name);
        free(cl->nodes[i].url);
        free(cl->nodes[i].dsn);
        free_secret(cl->nodes[i].conninfo);
        free(cl->nodes[i].zone);
    }
    free(cl->nodes);
    free(cl->name);
    free(cl->password_file);
    free(cl->throttle.restore_steps);
}

void config_free(struct config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n_clusters; i++)
        free_cluster(&cfg->clusters[i]);
    free(cfg->clusters);
    nameindex_free(cfg->names);
    free(cfg->path);
    free(cfg->listen_host);
    free(cfg->state_dir);
    free(cfg->audit_log);
    free(cfg->rules);
    free(cfg->token_file);
    free(cfg->tls_cert_file);
    free(cfg->tls_key_file);
    free(cfg->proxy);
    cfg_free_escalation(&cfg->escalation);
    cfg_free_ha(&cfg->ha);
    free(cfg);
}

int config_cluster_index(const struct config *cfg, const char *name)
{
    if (cfg->names)
        return (int)nameindex_get(cfg->names, name);
    /* a config built by hand (tests) has no index */
    for (size_t i = 0; i < cfg->n_clusters; i++) {
        if (strcmp(cfg->clusters[i].name, name) == 0)
            return (int)i;
    }
    return -1;
}

const struct config_cluster *config_find_cluster(const struct config *cfg,
                                                 const char *name)
{
    int i = config_cluster_index(cfg, name);
    return i < 0 ? NULL : &cfg->clusters[i];
}

int config_node_index(const struct config_cluster *c, const char *name)
{
    for (size_t i = 0; i < c->n_nodes; i++) {
        if (strcmp(c->nodes[i].name, name) == 0)
            return (int)i;
    }
    return -1;
}

const struct config_node *config_find_node(const struct config_cluster *c,
                                           const char *name)
{
    int i = config_node_index(c, name);
    return i < 0 ? NULL : &c->nodes[i];
}

size_t config_primary_index(const struct config_cluster *c)
{
    return c->primary;
}

size_t config_node_count(const struct config *cfg)
{
    size_t n = 0;
    for (size_t i = 0; i < cfg->n_clusters; i++)
        n += cfg->clusters[i].n_nodes;
    return n;
}

static const char *enum_name(const char *const *names, size_t n, int v)
{
    return v >= 0 && (size_t)v < n ? names[v] : "unknown";
}

const char *config_lag_source_name(enum lag_source s)
{
    return enum_name(lag_source_names, ARRAY_LEN(lag_source_names), (int)s);
}

const char *config_role_name(enum node_role r)
{
    return enum_name(role_names, ARRAY_LEN(role_names), (int)r);
}

const char *config_profile_name(enum cluster_profile p)
{
    return enum_name(profile_names, ARRAY_LEN(profile_names), (int)p);
}

const char *config_repl_mode_name(enum repl_mode m)
{
    return enum_name(repl_mode_names, ARRAY_LEN(repl_mode_names), (int)m);
}

unsigned config_failover_quorum(const struct config_cluster *c)
{
    unsigned replicas = (unsigned)c->n_nodes - 1;
    switch (c->failover.quorum) {
    case QUORUM_ALL:
        return replicas;
    case QUORUM_COUNT:
        return c->failover.quorum_count;
    case QUORUM_MAJORITY:
    default:
        return replicas / 2 + 1;
    }
}
