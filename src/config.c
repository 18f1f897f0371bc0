/* config.c: the agent's YAML config.
 *
 * libyaml's document API parses the text into a tree whose every node has
 * a line and column; the schema below (field tables, one per mapping)
 * walks that tree through configread.c, copies the values into struct
 * config and checks the rules between fields, collecting every error; the
 * tree is freed before config_load_string() returns. */
#include "config.h"

#include "config_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
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
static const char *const profile_names[] = {[PROFILE_STEMEDB] = "stemedb"};
static const uint64_t default_steps[] = {100, 500, 1000, 2000};

/* --- enums ------------------------------------------------------------ */

static bool read_role(struct ctx *c, yaml_node_t *v, void *dst)
{
    size_t i;
    if (!cfg_read_enum(c, v, role_names, ARRAY_LEN(role_names), &i))
        return false;
    *(enum node_role *)dst = (enum node_role)i;
    return true;
}

static bool read_lag_source(struct ctx *c, yaml_node_t *v, void *dst)
{
    size_t i;
    if (!cfg_read_enum(c, v, lag_source_names, ARRAY_LEN(lag_source_names), &i))
        return false;
    *(enum lag_source *)dst = (enum lag_source)i;
    return true;
}

static bool read_profile(struct ctx *c, yaml_node_t *v, void *dst)
{
    size_t i;
    if (!cfg_read_enum(c, v, profile_names, ARRAY_LEN(profile_names), &i))
        return false;
    *(enum cluster_profile *)dst = (enum cluster_profile)i;
    return true;
}

/* --- poll, auth, tls -------------------------------------------------- */

enum { P_INTERVAL, P_TIMEOUT, P_MERKLE };
static const struct field poll_fields[] = {
    [P_INTERVAL] = {"interval", cfg_read_duration,
                    offsetof(struct config_poll, interval), false},
    [P_TIMEOUT] = {"timeout", cfg_read_duration,
                   offsetof(struct config_poll, timeout), false},
    [P_MERKLE] = {"merkle_interval", cfg_read_duration,
                  offsetof(struct config_poll, merkle_interval), false},
};

static bool read_poll(struct ctx *c, yaml_node_t *v, void *dst)
{
    struct config_poll *p = dst;
    struct seen s;
    int before = c->count;

    if (!cfg_want_map(c, v))
        return false;
    cfg_walk_map(c, v, poll_fields, ARRAY_LEN(poll_fields), p, &s);
    struct bound timeout = {P_TIMEOUT, "timeout", p->timeout};
    struct bound interval = {P_INTERVAL, "interval", p->interval};
    cfg_check_less(c, &s, &timeout, &interval, &timeout);
    return c->count == before;
}

static const struct field auth_fields[] = {
    {"token_file", cfg_read_string, offsetof(struct config, token_file), false},
};

static const struct field tls_fields[] = {
    {"cert_file", cfg_read_string, offsetof(struct config, tls_cert_file),
     true},
    {"key_file", cfg_read_string, offsetof(struct config, tls_key_file), true},
};

static bool read_auth(struct ctx *c, yaml_node_t *v, void *dst)
{
    struct seen s;
    int before = c->count;

    if (!cfg_want_map(c, v))
        return false;
    cfg_walk_map(c, v, auth_fields, ARRAY_LEN(auth_fields), dst, &s);
    return c->count == before;
}

static bool read_tls(struct ctx *c, yaml_node_t *v, void *dst)
{
    struct seen s;
    int before = c->count;

    if (!cfg_want_map(c, v))
        return false;
    cfg_walk_map(c, v, tls_fields, ARRAY_LEN(tls_fields), dst, &s);
    return c->count == before;
}

/* --- thresholds and throttle ------------------------------------------ */

enum { T_WARNING, T_CRITICAL, T_ESCALATE, T_READ };
static const struct field threshold_fields[] = {
    [T_WARNING] = {"warning", cfg_read_duration,
                   offsetof(struct config_thresholds, warning), false},
    [T_CRITICAL] = {"critical", cfg_read_duration,
                    offsetof(struct config_thresholds, critical), false},
    [T_ESCALATE] = {"escalate", cfg_read_duration,
                    offsetof(struct config_thresholds, escalate), false},
    [T_READ] = {"read_max_lag", cfg_read_duration,
                offsetof(struct config_thresholds, read_max_lag), false},
};

static bool read_thresholds(struct ctx *c, yaml_node_t *v, void *dst)
{
    struct config_thresholds *t = dst;
    struct seen s;
    int before = c->count;

    if (!cfg_want_map(c, v))
        return false;
    cfg_walk_map(c, v, threshold_fields, ARRAY_LEN(threshold_fields), t, &s);
    struct bound warning = {T_WARNING, "warning", t->warning};
    struct bound critical = {T_CRITICAL, "critical", t->critical};
    struct bound escalate = {T_ESCALATE, "escalate", t->escalate};
    cfg_check_less(c, &s, &warning, &critical, &critical);
    cfg_check_less(c, &s, &critical, &escalate, &escalate);
    return c->count == before;
}

static bool read_step(struct ctx *c, yaml_node_t *v, struct config_throttle *t,
                      size_t i)
{
    size_t saved = cfg_path_index(c, i);
    uint64_t *steps = t->restore_steps;
    bool ok = cfg_read_uint(c, v, 1, UINT32_MAX, &steps[i]);

    /* A step that failed to parse is 0: compare only with a good one. */
    if (ok && i > 0 && steps[i - 1] && steps[i] <= steps[i - 1]) {
        cfg_err_at(c, v->start_mark,
                   "steps must be strictly increasing: %" PRIu64
                   " after %" PRIu64,
                   steps[i], steps[i - 1]);
        ok = false;
    }
    cfg_path_pop(c, saved);
    return ok;
}

static bool read_steps(struct ctx *c, yaml_node_t *v, void *dst)
{
    struct config_throttle *t = dst;
    size_t n, i = 0;
    bool ok = true;

    if (!cfg_want_seq(c, v))
        return false;
    n = cfg_n_items(v);
    if (n == 0 || n > CONFIG_MAX_RESTORE_STEPS) {
        cfg_err_at(c, v->start_mark, "expected 1 to %d steps, got %zu",
                   CONFIG_MAX_RESTORE_STEPS, n);
        return false;
    }
    t->restore_steps = xcalloc(n, sizeof(*t->restore_steps));
    t->n_restore_steps = n;
    for (yaml_node_item_t *it = v->data.sequence.items.start;
         it < v->data.sequence.items.top; it++) {
        if (!read_step(c, cfg_node_at(c, *it), t, i++))
            ok = false;
    }
    return ok;
}

static void set_default_steps(struct config_throttle *t)
{
    t->n_restore_steps = ARRAY_LEN(default_steps);
    t->restore_steps = xcalloc(t->n_restore_steps, sizeof(uint64_t));
    memcpy(t->restore_steps, default_steps, sizeof(default_steps));
}

enum { TH_FLOOR, TH_STEPS, TH_INTERVAL };
static const struct field throttle_fields[] = {
    [TH_FLOOR] = {"floor", cfg_read_floor,
                  offsetof(struct config_throttle, floor), false},
    [TH_STEPS] = {"restore_steps", read_steps, 0, false},
    [TH_INTERVAL] = {"restore_interval", cfg_read_duration,
                     offsetof(struct config_throttle, restore_interval), false},
};

/* read_throttle: the first restore step may not be below the floor. */
static bool read_throttle(struct ctx *c, yaml_node_t *v, void *dst)
{
    struct config_throttle *t = dst;
    struct seen s;
    int before = c->count;

    if (!cfg_want_map(c, v))
        return false;
    cfg_walk_map(c, v, throttle_fields, ARRAY_LEN(throttle_fields), t, &s);
    if (s.state[TH_STEPS] == ABSENT)
        set_default_steps(t);
    if (s.state[TH_FLOOR] == BAD || s.state[TH_STEPS] == BAD ||
        t->restore_steps[0] >= t->floor)
        return c->count == before;
    if (s.state[TH_STEPS] == GOOD)
        cfg_err_at(c, s.mark[TH_STEPS],
                   "the first restore step (%" PRIu64
                   ") is below floor (%" PRIu64 ")",
                   t->restore_steps[0], t->floor);
    else
        cfg_err_at(c, s.mark[TH_FLOOR],
                   "floor (%" PRIu64
                   ") is above the first restore step (%" PRIu64
                   ", the default)",
                   t->floor, t->restore_steps[0]);
    return false;
}

/* --- nodes ------------------------------------------------------------ */

enum { N_NAME, N_URL, N_ROLE, N_PRIORITY };
static const struct field node_fields[] = {
    [N_NAME] = {"name", cfg_read_name, offsetof(struct config_node, name),
                true},
    [N_URL] = {"url", cfg_read_url, offsetof(struct config_node, url), true},
    [N_ROLE] = {"role", read_role, offsetof(struct config_node, role), true},
    [N_PRIORITY] = {"priority", cfg_read_priority,
                    offsetof(struct config_node, priority), false},
};

static void check_node_name(struct ctx *c, const struct config_cluster *cl,
                            size_t i, yaml_mark_t m)
{
    for (size_t j = 0; j < i; j++) {
        if (cl->nodes[j].name &&
            strcmp(cl->nodes[j].name, cl->nodes[i].name) == 0) {
            cfg_err_at(c, m, "duplicate node name \"%s\" (first at line %d)",
                       cl->nodes[i].name, cl->nodes[j].line);
            return;
        }
    }
}

static void note_primary(struct ctx *c, struct config_cluster *cl, size_t i,
                         yaml_mark_t m)
{
    const struct config_node *first;

    if (cl->primary == SIZE_MAX) {
        cl->primary = i;
        return;
    }
    first = &cl->nodes[cl->primary];
    cfg_err_at(c, m,
               "a second primary: the node at line %d is already the primary "
               "(a cluster has exactly one)",
               first->line);
}

/* read_node: reads node i of cl. Returns whether its role is known. */
static bool read_node(struct ctx *c, yaml_node_t *v, struct config_cluster *cl,
                      size_t i)
{
    struct config_node *n = &cl->nodes[i];
    struct seen s;

    if (!cfg_want_map(c, v))
        return false;
    n->line = (int)v->start_mark.line + 1;
    n->column = (int)v->start_mark.column + 1;
    cfg_walk_map(c, v, node_fields, ARRAY_LEN(node_fields), n, &s);
    if (s.state[N_NAME] == GOOD)
        check_node_name(c, cl, i, s.mark[N_NAME]);
    if (s.state[N_ROLE] == GOOD && n->role == NODE_ROLE_PRIMARY)
        note_primary(c, cl, i, s.mark[N_ROLE]);
    return s.state[N_ROLE] == GOOD;
}

static bool read_nodes(struct ctx *c, yaml_node_t *v, void *dst)
{
    struct config_cluster *cl = dst;
    int before = c->count;
    bool roles_known = true;
    size_t n, i = 0, saved;

    if (!cfg_want_seq(c, v))
        return false;
    n = cfg_n_items(v);
    if (n == 0 || n > CONFIG_MAX_NODES) {
        cfg_err_at(c, v->start_mark, "expected 1 to %d nodes, got %zu",
                   CONFIG_MAX_NODES, n);
        return false;
    }
    cl->nodes = xcalloc(n, sizeof(*cl->nodes));
    cl->n_nodes = n;
    cl->primary = SIZE_MAX;
    for (yaml_node_item_t *it = v->data.sequence.items.start;
         it < v->data.sequence.items.top; it++, i++) {
        saved = cfg_path_index(c, i);
        if (!read_node(c, cfg_node_at(c, *it), cl, i))
            roles_known = false;
        cfg_path_pop(c, saved);
    }
    if (roles_known && cl->primary == SIZE_MAX)
        cfg_err_at(c, v->start_mark,
                   "no node has role primary (a cluster has exactly one)");
    return c->count == before;
}

/* --- clusters --------------------------------------------------------- */

enum { C_NAME, C_PROFILE, C_LAG, C_THRESHOLDS, C_THROTTLE, C_NODES };
static const struct field cluster_fields[] = {
    [C_NAME] = {"name", cfg_read_name, offsetof(struct config_cluster, name),
                true},
    [C_PROFILE] = {"profile", read_profile,
                   offsetof(struct config_cluster, profile), false},
    [C_LAG] = {"lag_source", read_lag_source,
               offsetof(struct config_cluster, lag_source), false},
    [C_THRESHOLDS] = {"thresholds", read_thresholds,
                      offsetof(struct config_cluster, thresholds), false},
    [C_THROTTLE] = {"throttle", read_throttle,
                    offsetof(struct config_cluster, throttle), false},
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
    cl->throttle.floor = 100;
    cl->throttle.restore_interval = 300;
}

static void check_cluster_name(struct ctx *c, const struct config *cfg,
                               size_t i, yaml_mark_t m)
{
    for (size_t j = 0; j < i; j++) {
        if (cfg->clusters[j].name &&
            strcmp(cfg->clusters[j].name, cfg->clusters[i].name) == 0) {
            cfg_err_at(c, m, "duplicate cluster name \"%s\" (first at line %d)",
                       cfg->clusters[i].name, cfg->clusters[j].line);
            return;
        }
    }
}

static void read_cluster(struct ctx *c, yaml_node_t *v, struct config *cfg,
                         size_t i)
{
    struct config_cluster *cl = &cfg->clusters[i];
    struct seen s;

    cluster_defaults(cl);
    if (!cfg_want_map(c, v))
        return;
    cl->line = (int)v->start_mark.line + 1;
    cl->column = (int)v->start_mark.column + 1;
    cfg_walk_map(c, v, cluster_fields, ARRAY_LEN(cluster_fields), cl, &s);
    if (!cl->throttle.restore_steps)
        set_default_steps(&cl->throttle);
    if (s.state[C_NAME] == GOOD)
        check_cluster_name(c, cfg, i, s.mark[C_NAME]);
}

static bool read_clusters(struct ctx *c, yaml_node_t *v, void *dst)
{
    struct config *cfg = dst;
    int before = c->count;
    size_t n, i = 0, saved;

    if (!cfg_want_seq(c, v))
        return false;
    n = cfg_n_items(v);
    if (n == 0 || n > CONFIG_MAX_CLUSTERS) {
        cfg_err_at(c, v->start_mark, "expected 1 to %d clusters, got %zu",
                   CONFIG_MAX_CLUSTERS, n);
        return false;
    }
    cfg->clusters = xcalloc(n, sizeof(*cfg->clusters));
    cfg->n_clusters = n;
    for (yaml_node_item_t *it = v->data.sequence.items.start;
         it < v->data.sequence.items.top; it++, i++) {
        saved = cfg_path_index(c, i);
        read_cluster(c, cfg_node_at(c, *it), cfg, i);
        cfg_path_pop(c, saved);
    }
    return c->count == before;
}

/* --- the document ----------------------------------------------------- */

enum {
    F_LISTEN,
    F_DRY,
    F_STATE,
    F_AUDIT,
    F_RULES,
    F_AUTH,
    F_TLS,
    F_POLL,
    F_CL
};
static const struct field top_fields[] = {
    [F_LISTEN] = {"listen", cfg_read_listen, 0, false},
    [F_DRY] = {"dry_run", cfg_read_bool, offsetof(struct config, dry_run),
               false},
    [F_STATE] = {"state_dir", cfg_read_string,
                 offsetof(struct config, state_dir), false},
    [F_AUDIT] = {"audit_log", cfg_read_string,
                 offsetof(struct config, audit_log), false},
    [F_RULES] = {"rules", cfg_read_string, offsetof(struct config, rules),
                 false},
    [F_AUTH] = {"auth", read_auth, 0, false},
    [F_TLS] = {"tls", read_tls, 0, false},
    [F_POLL] = {"poll", read_poll, offsetof(struct config, poll), false},
    [F_CL] = {"clusters", read_clusters, 0, true},
};

_Static_assert(ARRAY_LEN(top_fields) <= MAX_FIELDS, "raise MAX_FIELDS");
_Static_assert(ARRAY_LEN(cluster_fields) <= MAX_FIELDS, "raise MAX_FIELDS");

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

static struct config *build(struct ctx *c, yaml_node_t *root)
{
    struct config *cfg = xcalloc(1, sizeof(*cfg));
    struct seen s;
    yaml_mark_t start = {0, 0, 0};

    cfg->path = xstrdup(c->name);
    cfg->listen_port = 9650;
    cfg->poll.interval = 1;
    cfg->poll.timeout = 0.8;
    cfg->poll.merkle_interval = 30;
    if (!root)
        cfg_err_at(c, start, "empty config: missing required key \"clusters\"");
    else if (cfg_want_map(c, root))
        cfg_walk_map(c, root, top_fields, ARRAY_LEN(top_fields), cfg, &s);
    string_defaults(cfg);
    return cfg;
}

/* offset_mark: the line and column of byte offset off, for reader errors
 * (bad UTF-8), which libyaml reports as an offset only. */
static yaml_mark_t offset_mark(const char *text, size_t len, size_t off)
{
    yaml_mark_t m = {off, 0, 0};

    for (size_t i = 0; i < off && i < len; i++) {
        m.column++;
        if (text[i] == '\n') {
            m.line++;
            m.column = 0;
        }
    }
    return m;
}

static void syntax_error(struct ctx *c, const yaml_parser_t *p,
                         const char *text, size_t len)
{
    yaml_mark_t m = p->problem_mark;
    const char *problem = p->problem ? p->problem : "out of memory";

    if (p->error == YAML_READER_ERROR)
        m = offset_mark(text, len, p->problem_offset);
    if (p->context)
        cfg_err_at(c, m, "YAML syntax error: %s (%s at line %zu, column %zu)",
                   problem, p->context, p->context_mark.line + 1,
                   p->context_mark.column + 1);
    else
        cfg_err_at(c, m, "YAML syntax error: %s", problem);
}

/* load_doc: parses text into *doc, which the caller deletes when this
 * returns 0; -1 after a syntax error in the first document. A second
 * document is an error. */
static int load_doc(struct ctx *c, const char *text, size_t len,
                    yaml_document_t *doc)
{
    yaml_parser_t p;
    yaml_document_t extra;
    int rc = -1;

    if (!yaml_parser_initialize(&p)) {
        fprintf(stderr, "replguard: out of memory in libyaml\n");
        abort();
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    if (!yaml_parser_load(&p, doc)) {
        syntax_error(c, &p, text, len);
        goto out;
    }
    rc = 0;
    if (!yaml_parser_load(&p, &extra)) {
        syntax_error(c, &p, text, len);
        goto out;
    }
    if (yaml_document_get_root_node(&extra))
        cfg_err_at(c, extra.start_mark, "only one YAML document is allowed");
    yaml_document_delete(&extra);
out:
    yaml_parser_delete(&p);
    return rc;
}

int config_load_string(const char *name, const char *text, size_t len,
                       struct config **out, struct config_errors *errs)
{
    struct config_errors discard;
    yaml_document_t doc;
    struct config *cfg = NULL;
    struct ctx c = {.name = name, .doc = &doc};

    *out = NULL;
    config_errors_init(&discard);
    c.errs = errs ? errs : &discard;
    buf_init(&c.path, 0);
    if (len > CONFIG_MAX_FILE_SIZE) {
        cfg_err_plain(c.errs, name, "larger than %d bytes",
                      CONFIG_MAX_FILE_SIZE);
        c.count++;
    } else if (load_doc(&c, text, len, &doc) == 0) {
        cfg = build(&c, yaml_document_get_root_node(&doc));
        yaml_document_delete(&doc);
    }
    cfg_flush_errors(&c);
    if (c.count == 0) {
        *out = cfg;
        cfg = NULL;
    }
    config_free(cfg);
    buf_free(&c.path);
    config_errors_reset(&discard);
    return c.count;
}

/* slurp: reads the file at path into b (created with its size limit).
 * Returns 0, -EFBIG when it is too large, or -errno. */
static int slurp(const char *path, struct buf *b)
{
    char chunk[8192];
    size_t n;
    int rc = 0;
    FILE *f = fopen(path, "rb");

    if (!f)
        return -errno;
    for (;;) {
        n = fread(chunk, 1, sizeof(chunk), f);
        if (n == 0)
            break;
        if (buf_append(b, chunk, n) < 0) {
            rc = -EFBIG;
            break;
        }
    }
    if (rc == 0 && ferror(f))
        rc = errno ? -errno : -EIO;
    fclose(f);
    return rc;
}

int config_load(const char *path, struct config **out,
                struct config_errors *errs)
{
    struct buf b;
    int rc;

    *out = NULL;
    buf_init(&b, CONFIG_MAX_FILE_SIZE);
    rc = slurp(path, &b);
    if (rc == -EFBIG && errs)
        cfg_err_plain(errs, path, "larger than %d bytes", CONFIG_MAX_FILE_SIZE);
    else if (rc < 0 && errs)
        cfg_err_plain(errs, path, "cannot read: %s", strerror(-rc));
    if (rc < 0)
        rc = 1;
    else
        rc = config_load_string(path, b.data ? b.data : "", b.len, out, errs);
    buf_free(&b);
    return rc;
}

/* --- the loaded config ------------------------------------------------ */

static void free_cluster(struct config_cluster *cl)
{
    for (size_t i = 0; i < cl->n_nodes; i++) {
        free(cl->nodes[i].name);
        free(cl->nodes[i].url);
    }
    free(cl->nodes);
    free(cl->name);
    free(cl->throttle.restore_steps);
}

void config_free(struct config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n_clusters; i++)
        free_cluster(&cfg->clusters[i]);
    free(cfg->clusters);
    free(cfg->path);
    free(cfg->listen_host);
    free(cfg->state_dir);
    free(cfg->audit_log);
    free(cfg->rules);
    free(cfg->token_file);
    free(cfg->tls_cert_file);
    free(cfg->tls_key_file);
    free(cfg);
}

int config_cluster_index(const struct config *cfg, const char *name)
{
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
