/* runbook.c: loading runbooks (SPEC section 8): the schema, documents,
 * files and directories.
 *
 * Each file's text is parsed by libyaml's document API, one document at
 * a time; the schema below (field tables, one per mapping) walks each
 * tree through yamlread.c, copies the values into struct runbook and
 * checks the rules between fields, collecting every error; each tree is
 * freed before the next document is read. The loaded set is served by
 * runbookset.c. */
#include "config/runbook.h"

#include "formats/expr.h"
#include "lib/log.h"
#include "config/runbook_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_PER_HOUR 1000
#define A(x)         (1u << RUNBOOK_ACT_##x)

static const char *const action_names[] = {
    [RUNBOOK_ACT_THROTTLE] = "throttle",
    [RUNBOOK_ACT_RESTORE_THROTTLE] = "restore_throttle",
    [RUNBOOK_ACT_FORCE_SYNC] = "force_sync",
    [RUNBOOK_ACT_RESET_CIRCUIT_BREAKERS] = "reset_circuit_breakers",
    [RUNBOOK_ACT_DEMOTE] = "demote",
    [RUNBOOK_ACT_PROMOTE] = "promote",
    [RUNBOOK_ACT_ESCALATE] = "escalate",
    [RUNBOOK_ACT_HTTP] = "http",
    [RUNBOOK_ACT_EXEC] = "exec",
    [RUNBOOK_ACT_THROTTLE_APP] = "throttle_app",
    [RUNBOOK_ACT_CANCEL_BLOCKING_QUERIES] = "cancel_blocking_queries",
};

static const char *const method_names[] = {
    [RUNBOOK_METHOD_GET] = "GET",     [RUNBOOK_METHOD_POST] = "POST",
    [RUNBOOK_METHOD_PUT] = "PUT",     [RUNBOOK_METHOD_DELETE] = "DELETE",
    [RUNBOOK_METHOD_PATCH] = "PATCH",
};

/* --- steps ------------------------------------------------------------ */

static bool read_action(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    size_t i;
    if (!yr_read_enum(c, v, action_names, ARRAY_LEN(action_names), &i))
        return false;
    *(enum runbook_action *)dst = (enum runbook_action)i;
    return true;
}

static bool read_method(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    size_t i;
    if (!yr_read_enum(c, v, method_names, ARRAY_LEN(method_names), &i))
        return false;
    *(enum runbook_method *)dst = (enum runbook_method)i;
    return true;
}

/* read_arg: argument i of the struct runbook_step arg. argv[0] is an
 * absolute path without placeholders; the others are templates. */
static bool read_arg(struct yr_ctx *c, yaml_node_t *v, size_t i, void *arg)
{
    struct runbook_step *st = arg;

    if (!yr_read_string(c, v, &st->argv[i]))
        return false;
    if (i > 0)
        return rb_check_template(c, v, st->argv[i]);
    if (st->argv[0][0] != '/') {
        yr_err_at(c, v->start_mark,
                  "must be an absolute path, got \"%.80s\" (argv runs "
                  "without a shell or PATH search)",
                  st->argv[0]);
        return false;
    }
    if (strstr(st->argv[0], "{{")) {
        yr_err_at(c, v->start_mark,
                  "takes no placeholders: alert labels do "
                  "not choose which program runs");
        return false;
    }
    return true;
}

static bool read_argv(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    struct runbook_step *st = dst;
    size_t n;

    if (!yr_want_items(c, v, 1, RUNBOOK_MAX_ARGV, "strings", &n))
        return false;
    st->argv = xcalloc(n + 1, sizeof(*st->argv));
    st->argc = n;
    return yr_each_item(c, v, read_arg, st);
}

enum {
    S_ACTION,
    S_WHEN,
    S_URL,
    S_METHOD,
    S_BODY,
    S_ARGV,
    S_TIMEOUT,
    S_APP,
    S_RATIO,
    S_EXPIRES,
    S_REVERSIBLE,
    S_OLDER_THAN
};
static const struct yr_field step_fields[] = {
    [S_ACTION] = {"action", read_action, offsetof(struct runbook_step, action),
                  true},
    [S_WHEN] = {"when", rb_read_condition, offsetof(struct runbook_step, when),
                false},
    [S_URL] = {"url", rb_read_url, offsetof(struct runbook_step, url), false},
    [S_METHOD] = {"method", read_method, offsetof(struct runbook_step, method),
                  false},
    [S_BODY] = {"body", rb_read_template, offsetof(struct runbook_step, body),
                false},
    [S_ARGV] = {"argv", read_argv, 0, false},
    [S_TIMEOUT] = {"timeout", rb_read_timeout,
                   offsetof(struct runbook_step, timeout), false},
    [S_APP] = {"app", rb_read_app, offsetof(struct runbook_step, app), false},
    [S_RATIO] = {"ratio", rb_read_ratio, offsetof(struct runbook_step, ratio),
                 false},
    [S_EXPIRES] = {"expires", rb_read_expires,
                   offsetof(struct runbook_step, expires), false},
    [S_REVERSIBLE] = {"reversible", yr_read_bool,
                      offsetof(struct runbook_step, reversible), false},
    [S_OLDER_THAN] = {"older_than", rb_read_older_than,
                      offsetof(struct runbook_step, older_than), false},
};

/* Which actions use each step key, indexed like step_fields: actions,
 * those that take it (a bit per enum runbook_action; 0: every action);
 * needed, those that require it. */
struct step_use {
    unsigned actions, needed;
};
static const struct step_use step_use[] = {
    [S_URL] = {A(ESCALATE) | A(HTTP), A(HTTP)},
    [S_METHOD] = {A(HTTP), 0},
    [S_BODY] = {A(HTTP), 0},
    [S_ARGV] = {A(EXEC), A(EXEC)},
    [S_TIMEOUT] = {A(ESCALATE) | A(HTTP) | A(EXEC), 0},
    [S_APP] = {A(THROTTLE_APP), A(THROTTLE_APP)},
    [S_RATIO] = {A(THROTTLE_APP), 0},
    [S_EXPIRES] = {A(THROTTLE_APP), 0},
    /* escalate is the page itself, and a promotion is never undone */
    [S_REVERSIBLE] = {((1u << RUNBOOK_N_ACTIONS) - 1) &
                          ~(A(ESCALATE) | A(PROMOTE)),
                      0},
    [S_OLDER_THAN] = {A(CANCEL_BLOCKING_QUERIES), 0},
};
_Static_assert(ARRAY_LEN(step_use) == ARRAY_LEN(step_fields),
               "one step_use per step field");

/* keys_of: the keys action a takes, for messages; the caller frees. */
static char *keys_of(enum runbook_action a)
{
    struct buf b;

    buf_init(&b, 0);
    for (size_t i = 0; i < ARRAY_LEN(step_fields); i++) {
        const struct step_use *u = &step_use[i];
        if (!u->actions || (u->actions & (1u << a)))
            buf_printf(&b, "%s%s", b.len ? ", " : "", step_fields[i].key);
    }
    return buf_detach(&b);
}

/* check_params: the keys given must be ones the action takes, and the
 * ones it needs must be there. */
static void check_params(struct yr_ctx *c, const yaml_node_t *map,
                         const struct runbook_step *st, const struct yr_seen *s)
{
    unsigned bit = 1u << st->action;
    const char *name = action_names[st->action];
    char *keys = keys_of(st->action);

    for (size_t i = 0; i < ARRAY_LEN(step_fields); i++) {
        const struct step_use *u = &step_use[i];
        const char *key = step_fields[i].key;
        if (s->state[i] != YR_ABSENT && u->actions && !(u->actions & bit))
            yr_err_at(c, s->key[i],
                      "action %s does not take \"%s\" (it takes: %s)", name,
                      key, keys);
        else if (s->state[i] == YR_ABSENT && (u->needed & bit))
            yr_err_at(c, map->start_mark,
                      "missing required key \"%s\" (action %s needs it)", key,
                      name);
    }
    if (st->action == RUNBOOK_ACT_HTTP && s->state[S_BODY] != YR_ABSENT &&
        s->state[S_METHOD] == YR_GOOD && st->method == RUNBOOK_METHOD_GET)
        yr_err_at(c, s->key[S_BODY],
                  "a GET request has no body (use POST, PUT or PATCH)");
    free(keys);
}

bool runbook_action_reversible(enum runbook_action a)
{
    return a == RUNBOOK_ACT_THROTTLE || a == RUNBOOK_ACT_RESTORE_THROTTLE ||
           a == RUNBOOK_ACT_THROTTLE_APP;
}

/* step_defaults: the default timeout of the actions that take one,
 * throttle_app's ratio and expiry, cancel_blocking_queries' age.
 * (reversible: read_step and read_named_step, which know whether it was
 * written.) */
static void step_defaults(struct runbook_step *st)
{
    if ((step_use[S_TIMEOUT].actions & (1u << st->action)) && st->timeout == 0)
        st->timeout = RUNBOOK_DEFAULT_TIMEOUT;
    if (st->action == RUNBOOK_ACT_THROTTLE_APP && st->ratio == 0)
        st->ratio = 1;
    if (st->action == RUNBOOK_ACT_THROTTLE_APP && st->expires == 0)
        st->expires = RUNBOOK_DEFAULT_APP_THROTTLE;
    if (st->action == RUNBOOK_ACT_CANCEL_BLOCKING_QUERIES &&
        st->older_than == 0)
        st->older_than = RUNBOOK_DEFAULT_OLDER_THAN;
}

static bool read_step(struct yr_ctx *c, yaml_node_t *v, struct runbook_step *st)
{
    struct yr_seen s;
    int before = c->count;

    st->line = (int)v->start_mark.line + 1;
    st->column = (int)v->start_mark.column + 1;
    if (!yr_want_map(c, v))
        return false;
    yr_walk_map(c, v, step_fields, ARRAY_LEN(step_fields), st, &s);
    if (s.state[S_ACTION] == YR_GOOD)
        check_params(c, v, st, &s);
    if (s.state[S_METHOD] != YR_GOOD)
        st->method = st->action == RUNBOOK_ACT_HTTP ? RUNBOOK_METHOD_POST
                                                    : RUNBOOK_METHOD_GET;
    if (s.state[S_REVERSIBLE] != YR_GOOD)
        st->reversible = runbook_action_reversible(st->action);
    step_defaults(st);
    return c->count == before;
}

/* read_named_step: an on_resolved entry written as an action's name,
 * for the actions without required parameters. */
static bool read_named_step(struct yr_ctx *c, yaml_node_t *v,
                            struct runbook_step *st)
{
    st->line = (int)v->start_mark.line + 1;
    st->column = (int)v->start_mark.column + 1;
    if (!read_action(c, v, &st->action))
        return false;
    for (size_t i = 0; i < ARRAY_LEN(step_fields); i++) {
        if (step_use[i].needed & (1u << st->action)) {
            yr_err_at(c, v->start_mark,
                      "action %s needs \"%s\": write it as a mapping",
                      action_names[st->action], step_fields[i].key);
            return false;
        }
    }
    st->reversible = runbook_action_reversible(st->action);
    step_defaults(st);
    return true;
}

/* read_list_step: step i of the struct rb_steps arg, a mapping. */
static bool read_list_step(struct yr_ctx *c, yaml_node_t *v, size_t i,
                           void *arg)
{
    struct rb_steps *l = arg;

    return read_step(c, v, &l->v[i]);
}

/* read_resolved_step: step i of on_resolved, a mapping or a name. */
static bool read_resolved_step(struct yr_ctx *c, yaml_node_t *v, size_t i,
                               void *arg)
{
    struct rb_steps *l = arg;

    if (v->type == YAML_SCALAR_NODE && !yr_is_null(v))
        return read_named_step(c, v, &l->v[i]);
    return read_step(c, v, &l->v[i]);
}

/* read_step_list: 1 to RUNBOOK_MAX_STEPS step mappings; for on_resolved
 * (names_ok) 0 to RUNBOOK_MAX_STEPS steps or action names. */
static bool read_step_list(struct yr_ctx *c, yaml_node_t *v, struct rb_steps *l,
                           bool names_ok)
{
    size_t n;

    if (!yr_want_items(c, v, names_ok ? 0 : 1, RUNBOOK_MAX_STEPS, "steps", &n))
        return false;
    l->v = xcalloc(n, sizeof(*l->v));
    l->n = n;
    return yr_each_item(c, v, names_ok ? read_resolved_step : read_list_step,
                        l);
}

static bool read_steps(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    return read_step_list(c, v, dst, false);
}

static bool read_on_resolved(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    return read_step_list(c, v, dst, true);
}

/* --- match ------------------------------------------------------------ */

/* read_match_value: value i of the struct rb_match arg. */
static bool read_match_value(struct yr_ctx *c, yaml_node_t *v, size_t i,
                             void *arg)
{
    struct rb_match *m = arg;

    return yr_read_string(c, v, &m->values[i]);
}

/* read_match_values: one value or a list of them. */
static bool read_match_values(struct yr_ctx *c, yaml_node_t *v,
                              struct rb_match *m)
{
    size_t n;

    if (v->type == YAML_SCALAR_NODE) {
        m->values = xcalloc(1, sizeof(*m->values));
        m->n_values = 1;
        return yr_read_string(c, v, &m->values[0]);
    }
    if (!yr_want_items(c, v, 1, RUNBOOK_MAX_VALUES, "values", &n))
        return false;
    m->values = xcalloc(n, sizeof(*m->values));
    m->n_values = n;
    return yr_each_item(c, v, read_match_value, m);
}

static bool read_match_label(struct yr_ctx *c, const yaml_node_pair_t *p,
                             struct runbook *rb, size_t i)
{
    yaml_node_t *k = yr_node(c, p->key), *v = yr_node(c, p->value);
    struct rb_match *m = &rb->match[i];
    size_t saved;
    bool ok;

    if (!rb_read_label_name(c, k, &m->label))
        return false;
    for (size_t j = 0; j < i; j++) {
        if (rb->match[j].label && strcmp(rb->match[j].label, m->label) == 0) {
            yr_err_at(c, k->start_mark, "duplicate label \"%s\"", m->label);
            return false;
        }
    }
    saved = yr_path_key(c, m->label);
    ok = read_match_values(c, v, m);
    yr_path_pop(c, saved);
    return ok;
}

static bool read_match(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    struct runbook *rb = dst;
    size_t n, i = 0;
    bool ok = true;

    if (!yr_want_map(c, v))
        return false;
    n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
    if (n == 0 || n > RUNBOOK_MAX_MATCH) {
        yr_err_at(c, v->start_mark, "expected 1 to %d labels, got %zu",
                  RUNBOOK_MAX_MATCH, n);
        return false;
    }
    rb->match = xcalloc(n, sizeof(*rb->match));
    rb->n_match = n;
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start;
         p < v->data.mapping.pairs.top; p++, i++)
        ok = read_match_label(c, p, rb, i) && ok;
    return ok;
}

/* --- the runbook ------------------------------------------------------ */

static const struct yr_field verify_fields[] = {
    {"within", yr_read_duration, 0, true},
};

static bool read_verify(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    return yr_read_map(c, v, verify_fields, ARRAY_LEN(verify_fields), dst);
}

static bool read_max_per_hour(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    return yr_read_uint(c, v, 1, MAX_PER_HOUR, dst);
}

enum {
    R_NAME,
    R_MATCH,
    R_TARGET,
    R_ESCALATE,
    R_DRY,
    R_STEPS,
    R_VERIFY,
    R_COOLDOWN,
    R_MAX,
    R_RESOLVED
};
static const struct yr_field runbook_fields[] = {
    [R_NAME] = {"runbook", rb_read_name, offsetof(struct runbook, name), true},
    [R_MATCH] = {"match", read_match, 0, true},
    [R_TARGET] = {"target_label", rb_read_label_name,
                  offsetof(struct runbook, target_label), true},
    [R_ESCALATE] = {"escalate_when", rb_read_condition,
                    offsetof(struct runbook, escalate_when), false},
    [R_DRY] = {"dry_run", yr_read_bool, offsetof(struct runbook, dry_run),
               false},
    [R_STEPS] = {"steps", read_steps, offsetof(struct runbook, steps), true},
    [R_VERIFY] = {"verify", read_verify,
                  offsetof(struct runbook, verify_within), false},
    [R_COOLDOWN] = {"cooldown", yr_read_duration,
                    offsetof(struct runbook, cooldown), false},
    [R_MAX] = {"max_actions_per_hour", read_max_per_hour,
               offsetof(struct runbook, max_per_hour), false},
    [R_RESOLVED] = {"on_resolved", read_on_resolved,
                    offsetof(struct runbook, on_resolved), false},
};

_Static_assert(ARRAY_LEN(runbook_fields) <= YR_MAX_FIELDS,
               "raise YR_MAX_FIELDS");
_Static_assert(RUNBOOK_N_ACTIONS <= 32, "action masks are 32 bits");

static void check_duplicate(struct yr_ctx *c, const struct runbook_set *set,
                            const struct runbook *rb, yaml_mark_t m)
{
    for (size_t i = 0; i < set->n; i++) {
        const struct runbook *o = set->rb[i];
        if (o->name && strcmp(o->name, rb->name) == 0) {
            yr_err_at(c, m, "duplicate runbook name \"%s\" (first at %s:%d)",
                      rb->name, o->file, o->line);
            return;
        }
    }
}

static void set_push(struct runbook_set *set, struct runbook *rb)
{
    if (set->n == set->cap) {
        set->cap = set->cap ? 2 * set->cap : 16;
        set->rb = xrealloc(set->rb, set->cap * sizeof(*set->rb));
    }
    set->rb[set->n++] = rb;
}

/* read_runbook: one document; an empty one is skipped. */
static void read_runbook(struct yr_ctx *c, yaml_node_t *root,
                         struct runbook_set *set)
{
    struct runbook *rb;
    struct yr_seen s;

    if (yr_is_null(root) || !yr_want_map(c, root))
        return;
    if (set->n == RUNBOOK_MAX) {
        yr_err_at(c, root->start_mark, "more than %d runbooks", RUNBOOK_MAX);
        return;
    }
    rb = xcalloc(1, sizeof(*rb));
    rb->file = xstrdup(c->name);
    rb->line = (int)root->start_mark.line + 1;
    rb->cooldown = RUNBOOK_DEFAULT_COOLDOWN;
    rb->max_per_hour = RUNBOOK_DEFAULT_MAX_PER_HOUR;
    yr_walk_map(c, root, runbook_fields, ARRAY_LEN(runbook_fields), rb, &s);
    if (s.state[R_NAME] == YR_GOOD) {
        rb->line = (int)s.key[R_NAME].line + 1;
        check_duplicate(c, set, rb, s.mark[R_NAME]);
    }
    set_push(set, rb);
}

/* --- files ------------------------------------------------------------ */

/* read_documents: every document of the file, up to a syntax error. */
static void read_documents(struct yr_ctx *c, struct runbook_set *set)
{
    yaml_parser_t p;
    yaml_document_t doc;
    yaml_node_t *root;

    yr_parser_init(&p, c->text, c->len);
    for (;;) {
        if (!yaml_parser_load(&p, &doc)) {
            yr_syntax_error(c, &p);
            break;
        }
        root = yaml_document_get_root_node(&doc);
        if (root) {
            c->doc = &doc;
            read_runbook(c, root, set);
        }
        yaml_document_delete(&doc);
        if (!root)
            break;
    }
    c->doc = NULL;
    yaml_parser_delete(&p);
}

/* load_text: one file's runbooks into set; returns its error count. */
static int load_text(const char *name, const char *text, size_t len, void *set,
                     struct errlist *errs)
{
    struct yr_ctx c;

    if (len > CONFIG_MAX_FILE_SIZE) {
        yr_err_plain(errs, name, "larger than %d bytes", CONFIG_MAX_FILE_SIZE);
        return 1;
    }
    yr_init(&c, name, text, len, errs);
    if (yr_check_depth(&c, YR_MAX_DEPTH))
        read_documents(&c, set);
    return yr_finish(&c);
}

static bool is_rule_file(const char *name)
{
    size_t n = strlen(name);

    if (name[0] == '.')
        return false;
    return (n > 4 && strcmp(name + n - 4, ".yml") == 0) ||
           (n > 5 && strcmp(name + n - 5, ".yaml") == 0);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* warn_subdir: logs a warning when name, in the open directory d (dir),
 * is a directory: runbooks are read from dir itself, not below it. */
static void warn_subdir(DIR *d, const char *dir, const char *name)
{
    struct stat st;
    char q[512], qn[512];
    if (name[0] == '.' || fstatat(dirfd(d), name, &st, 0) < 0 ||
        !S_ISDIR(st.st_mode))
        return;
    log_msg(LOG_WARN,
            "msg=\"runbook subdirectory not read: runbooks are loaded from "
            "the rules directory itself\" rules=%s subdirectory=%s",
            log_quote(q, sizeof(q), dir), log_quote(qn, sizeof(qn), name));
}

/* list_dir: the names of dir's runbook files, sorted, into *names (the
 * caller frees each and the array). Returns how many, -E2BIG past
 * RUNBOOK_MAX_FILES, or -errno. */
static int list_dir(const char *dir, char ***names)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;

    *names = NULL;
    if (!d)
        return -errno;
    for (;;) {
        de = readdir(d);
        if (!de || n > RUNBOOK_MAX_FILES)
            break;
        if (!is_rule_file(de->d_name)) {
            warn_subdir(d, dir, de->d_name);
            continue;
        }
        *names = xrealloc(*names, (n + 1) * sizeof(**names));
        (*names)[n++] = xstrdup(de->d_name);
    }
    closedir(d);
    if (n > RUNBOOK_MAX_FILES) {
        while (n)
            free((*names)[--n]);
        free(*names);
        *names = NULL;
        return -E2BIG;
    }
    if (n)
        qsort(*names, n, sizeof(**names), by_name);
    return (int)n;
}

static int load_dir(const char *dir, struct runbook_set *set,
                    struct errlist *errs)
{
    char **names;
    int n = list_dir(dir, &names), count = 0;
    size_t len = strlen(dir);
    struct buf path;

    if (n == -E2BIG) {
        yr_err_plain(errs, dir, "more than %d runbook files",
                     RUNBOOK_MAX_FILES);
        return 1;
    }
    if (n < 0) {
        yr_err_plain(errs, dir, "cannot read: %s", strerror(-n));
        return 1;
    }
    if (n == 0) {
        char q[512];
        log_msg(LOG_WARN,
                "msg=\"rules directory has no *.yml or *.yaml file: no "
                "runbook will act\" rules=%s",
                log_quote(q, sizeof(q), dir));
    }
    buf_init(&path, 0);
    for (int i = 0; i < n; i++) {
        buf_reset(&path);
        buf_printf(&path, "%s%s%s", dir, len && dir[len - 1] == '/' ? "" : "/",
                   names[i]);
        count += yr_load_file(path.data, load_text, set, errs);
        free(names[i]);
    }
    free(names);
    buf_free(&path);
    return count;
}

/* finish: hands set out when there were no errors, else frees it. */
static int finish(struct runbook_set *set, int count, struct runbook_set **out)
{
    if (count == 0)
        *out = set;
    else
        runbook_set_free(set);
    return count;
}

int runbook_load(const char *path, struct runbook_set **out,
                 struct errlist *errs)
{
    struct errlist discard;
    struct runbook_set *set = xcalloc(1, sizeof(*set));
    struct stat st;
    int count;

    *out = NULL;
    errlist_init(&discard);
    if (!errs)
        errs = &discard;
    if (stat(path, &st) < 0) {
        yr_err_plain(errs, path, "cannot read: %s", strerror(errno));
        count = 1;
    } else if (S_ISDIR(st.st_mode)) {
        count = load_dir(path, set, errs);
    } else {
        count = yr_load_file(path, load_text, set, errs);
    }
    errlist_reset(&discard);
    return finish(set, count, out);
}

int runbook_load_string(const char *name, const char *text, size_t len,
                        struct runbook_set **out, struct errlist *errs)
{
    struct errlist discard;
    struct runbook_set *set = xcalloc(1, sizeof(*set));
    int count;

    *out = NULL;
    errlist_init(&discard);
    count = load_text(name, text, len, set, errs ? errs : &discard);
    errlist_reset(&discard);
    return finish(set, count, out);
}

static const char *enum_name(const char *const *names, size_t n, int v)
{
    return v >= 0 && (size_t)v < n ? names[v] : "unknown";
}

const char *runbook_action_name(enum runbook_action a)
{
    return enum_name(action_names, ARRAY_LEN(action_names), (int)a);
}

const char *runbook_method_name(enum runbook_method m)
{
    return enum_name(method_names, ARRAY_LEN(method_names), (int)m);
}
