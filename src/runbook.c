/* runbook.c: loading runbooks (SPEC section 8): the schema, documents,
 * files and directories.
 *
 * Each file's text is parsed by libyaml's document API, one document at
 * a time; the schema below (field tables, one per mapping) walks each
 * tree through runbookread.c, copies the values into struct runbook and
 * checks the rules between fields, collecting every error; each tree is
 * freed before the next document is read. The loaded set is served by
 * runbookset.c. */
#include "runbook.h"

#include "expr.h"
#include "runbook_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
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
};

static const char *const method_names[] = {
    [RUNBOOK_METHOD_GET] = "GET",     [RUNBOOK_METHOD_POST] = "POST",
    [RUNBOOK_METHOD_PUT] = "PUT",     [RUNBOOK_METHOD_DELETE] = "DELETE",
    [RUNBOOK_METHOD_PATCH] = "PATCH",
};

/* --- steps ------------------------------------------------------------ */

static bool read_action(struct rb_ctx *c, yaml_node_t *v, void *dst)
{
    size_t i;
    if (!rb_read_enum(c, v, action_names, ARRAY_LEN(action_names), &i))
        return false;
    *(enum runbook_action *)dst = (enum runbook_action)i;
    return true;
}

static bool read_method(struct rb_ctx *c, yaml_node_t *v, void *dst)
{
    size_t i;
    if (!rb_read_enum(c, v, method_names, ARRAY_LEN(method_names), &i))
        return false;
    *(enum runbook_method *)dst = (enum runbook_method)i;
    return true;
}

/* read_arg: argv[0] is an absolute path without placeholders; the
 * others are templates. */
static bool read_arg(struct rb_ctx *c, yaml_node_t *v, struct runbook_step *st,
                     size_t i)
{
    if (!rb_read_string(c, v, &st->argv[i]))
        return false;
    if (i > 0)
        return rb_check_template(c, v, st->argv[i]);
    if (st->argv[0][0] != '/') {
        rb_err_at(c, v->start_mark,
                  "must be an absolute path, got \"%.80s\" (argv runs "
                  "without a shell or PATH search)",
                  st->argv[0]);
        return false;
    }
    if (strstr(st->argv[0], "{{")) {
        rb_err_at(c, v->start_mark,
                  "takes no placeholders: alert labels do "
                  "not choose which program runs");
        return false;
    }
    return true;
}

static bool read_argv(struct rb_ctx *c, yaml_node_t *v, void *dst)
{
    struct runbook_step *st = dst;
    size_t n, i = 0, saved;
    bool ok = true;

    if (!rb_want_seq(c, v))
        return false;
    n = rb_n_items(v);
    if (n == 0 || n > RUNBOOK_MAX_ARGV) {
        rb_err_at(c, v->start_mark, "expected 1 to %d strings, got %zu",
                  RUNBOOK_MAX_ARGV, n);
        return false;
    }
    st->argv = xcalloc(n + 1, sizeof(*st->argv));
    st->argc = n;
    for (yaml_node_item_t *it = v->data.sequence.items.start;
         it < v->data.sequence.items.top; it++, i++) {
        saved = rb_path_index(c, i);
        if (!read_arg(c, rb_node(c, *it), st, i))
            ok = false;
        rb_path_pop(c, saved);
    }
    return ok;
}

enum { S_ACTION, S_WHEN, S_URL, S_METHOD, S_BODY, S_ARGV, S_TIMEOUT };
static const struct rb_field step_fields[] = {
    [S_ACTION] = {"action", read_action, offsetof(struct runbook_step, action),
                  true, 0, 0},
    [S_WHEN] = {"when", rb_read_condition, offsetof(struct runbook_step, when),
                false, 0, 0},
    [S_URL] = {"url", rb_read_url, offsetof(struct runbook_step, url), false,
               A(ESCALATE) | A(HTTP), A(ESCALATE) | A(HTTP)},
    [S_METHOD] = {"method", read_method, offsetof(struct runbook_step, method),
                  false, A(HTTP), 0},
    [S_BODY] = {"body", rb_read_template, offsetof(struct runbook_step, body),
                false, A(HTTP), 0},
    [S_ARGV] = {"argv", read_argv, 0, false, A(EXEC), A(EXEC)},
    [S_TIMEOUT] = {"timeout", rb_read_timeout,
                   offsetof(struct runbook_step, timeout), false,
                   A(ESCALATE) | A(HTTP) | A(EXEC), 0},
};

/* keys_of: the keys action a takes, for messages; the caller frees. */
static char *keys_of(enum runbook_action a)
{
    struct buf b;

    buf_init(&b, 0);
    for (size_t i = 0; i < ARRAY_LEN(step_fields); i++) {
        const struct rb_field *f = &step_fields[i];
        if (!f->actions || (f->actions & (1u << a)))
            buf_printf(&b, "%s%s", b.len ? ", " : "", f->key);
    }
    return buf_detach(&b);
}

/* check_params: the keys given must be ones the action takes, and the
 * ones it needs must be there. */
static void check_params(struct rb_ctx *c, const yaml_node_t *map,
                         const struct runbook_step *st, const struct rb_seen *s)
{
    unsigned bit = 1u << st->action;
    const char *name = action_names[st->action];
    char *keys = keys_of(st->action);

    for (size_t i = 0; i < ARRAY_LEN(step_fields); i++) {
        const struct rb_field *f = &step_fields[i];
        if (s->state[i] != RB_ABSENT && f->actions && !(f->actions & bit))
            rb_err_at(c, s->key[i],
                      "action %s does not take \"%s\" (it takes: %s)", name,
                      f->key, keys);
        else if (s->state[i] == RB_ABSENT && (f->needed & bit))
            rb_err_at(c, map->start_mark,
                      "missing required key \"%s\" (action %s needs it)",
                      f->key, name);
    }
    if (st->action == RUNBOOK_ACT_HTTP && s->state[S_BODY] != RB_ABSENT &&
        s->state[S_METHOD] == RB_GOOD && st->method == RUNBOOK_METHOD_GET)
        rb_err_at(c, s->key[S_BODY],
                  "a GET request has no body (use POST, PUT or PATCH)");
    free(keys);
}

/* step_defaults: the default timeout of the actions that take one. */
static void step_defaults(struct runbook_step *st)
{
    if ((step_fields[S_TIMEOUT].actions & (1u << st->action)) &&
        st->timeout == 0)
        st->timeout = RUNBOOK_DEFAULT_TIMEOUT;
}

static bool read_step(struct rb_ctx *c, yaml_node_t *v, struct runbook_step *st)
{
    struct rb_seen s;
    int before = c->count;

    st->line = (int)v->start_mark.line + 1;
    st->column = (int)v->start_mark.column + 1;
    if (!rb_want_map(c, v))
        return false;
    rb_walk_map(c, v, step_fields, ARRAY_LEN(step_fields), st, &s);
    if (s.state[S_ACTION] == RB_GOOD)
        check_params(c, v, st, &s);
    if (s.state[S_METHOD] != RB_GOOD)
        st->method = st->action == RUNBOOK_ACT_HTTP ? RUNBOOK_METHOD_POST
                                                    : RUNBOOK_METHOD_GET;
    step_defaults(st);
    return c->count == before;
}

/* read_named_step: an on_resolved entry written as an action's name,
 * for the actions without required parameters. */
static bool read_named_step(struct rb_ctx *c, yaml_node_t *v,
                            struct runbook_step *st)
{
    st->line = (int)v->start_mark.line + 1;
    st->column = (int)v->start_mark.column + 1;
    if (!read_action(c, v, &st->action))
        return false;
    for (size_t i = 0; i < ARRAY_LEN(step_fields); i++) {
        if (step_fields[i].needed & (1u << st->action)) {
            rb_err_at(c, v->start_mark,
                      "action %s needs \"%s\": write it as a mapping",
                      action_names[st->action], step_fields[i].key);
            return false;
        }
    }
    step_defaults(st);
    return true;
}

/* read_step_list: 1 to RUNBOOK_MAX_STEPS step mappings; for on_resolved
 * (names_ok) 0 to RUNBOOK_MAX_STEPS steps or action names. */
static bool read_step_list(struct rb_ctx *c, yaml_node_t *v, struct rb_steps *l,
                           bool names_ok)
{
    size_t n, i = 0, saved;
    bool ok = true;

    if (!rb_want_seq(c, v))
        return false;
    n = rb_n_items(v);
    if ((n == 0 && !names_ok) || n > RUNBOOK_MAX_STEPS) {
        rb_err_at(c, v->start_mark, "expected %d to %d steps, got %zu",
                  names_ok ? 0 : 1, RUNBOOK_MAX_STEPS, n);
        return false;
    }
    l->v = xcalloc(n, sizeof(*l->v));
    l->n = n;
    for (yaml_node_item_t *it = v->data.sequence.items.start;
         it < v->data.sequence.items.top; it++, i++) {
        yaml_node_t *item = rb_node(c, *it);
        saved = rb_path_index(c, i);
        if (names_ok && item->type == YAML_SCALAR_NODE && !rb_is_null(item))
            ok = read_named_step(c, item, &l->v[i]) && ok;
        else
            ok = read_step(c, item, &l->v[i]) && ok;
        rb_path_pop(c, saved);
    }
    return ok;
}

static bool read_steps(struct rb_ctx *c, yaml_node_t *v, void *dst)
{
    return read_step_list(c, v, dst, false);
}

static bool read_on_resolved(struct rb_ctx *c, yaml_node_t *v, void *dst)
{
    return read_step_list(c, v, dst, true);
}

/* --- match ------------------------------------------------------------ */

static bool read_match_values(struct rb_ctx *c, yaml_node_t *v,
                              struct rb_match *m)
{
    size_t n, i = 0, saved;
    bool ok = true;

    if (v->type == YAML_SCALAR_NODE) {
        m->values = xcalloc(1, sizeof(*m->values));
        m->n_values = 1;
        return rb_read_string(c, v, &m->values[0]);
    }
    if (!rb_want_seq(c, v))
        return false;
    n = rb_n_items(v);
    if (n == 0 || n > RUNBOOK_MAX_VALUES) {
        rb_err_at(c, v->start_mark, "expected 1 to %d values, got %zu",
                  RUNBOOK_MAX_VALUES, n);
        return false;
    }
    m->values = xcalloc(n, sizeof(*m->values));
    m->n_values = n;
    for (yaml_node_item_t *it = v->data.sequence.items.start;
         it < v->data.sequence.items.top; it++, i++) {
        saved = rb_path_index(c, i);
        ok = rb_read_string(c, rb_node(c, *it), &m->values[i]) && ok;
        rb_path_pop(c, saved);
    }
    return ok;
}

static bool read_match_label(struct rb_ctx *c, const yaml_node_pair_t *p,
                             struct runbook *rb, size_t i)
{
    yaml_node_t *k = rb_node(c, p->key), *v = rb_node(c, p->value);
    struct rb_match *m = &rb->match[i];
    size_t saved;
    bool ok;

    if (!rb_read_label_name(c, k, &m->label))
        return false;
    for (size_t j = 0; j < i; j++) {
        if (rb->match[j].label && strcmp(rb->match[j].label, m->label) == 0) {
            rb_err_at(c, k->start_mark, "duplicate label \"%s\"", m->label);
            return false;
        }
    }
    saved = rb_path_key(c, m->label);
    ok = read_match_values(c, v, m);
    rb_path_pop(c, saved);
    return ok;
}

static bool read_match(struct rb_ctx *c, yaml_node_t *v, void *dst)
{
    struct runbook *rb = dst;
    size_t n, i = 0;
    bool ok = true;

    if (!rb_want_map(c, v))
        return false;
    n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
    if (n == 0 || n > RUNBOOK_MAX_MATCH) {
        rb_err_at(c, v->start_mark, "expected 1 to %d labels, got %zu",
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

static const struct rb_field verify_fields[] = {
    {"within", rb_read_duration, 0, true, 0, 0},
};

static bool read_verify(struct rb_ctx *c, yaml_node_t *v, void *dst)
{
    struct rb_seen s;
    int before = c->count;

    if (!rb_want_map(c, v))
        return false;
    rb_walk_map(c, v, verify_fields, ARRAY_LEN(verify_fields), dst, &s);
    return c->count == before;
}

static bool read_max_per_hour(struct rb_ctx *c, yaml_node_t *v, void *dst)
{
    return rb_read_uint(c, v, 1, MAX_PER_HOUR, dst);
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
static const struct rb_field runbook_fields[] = {
    [R_NAME] = {"runbook", rb_read_name, offsetof(struct runbook, name), true,
                0, 0},
    [R_MATCH] = {"match", read_match, 0, true, 0, 0},
    [R_TARGET] = {"target_label", rb_read_label_name,
                  offsetof(struct runbook, target_label), true, 0, 0},
    [R_ESCALATE] = {"escalate_when", rb_read_condition,
                    offsetof(struct runbook, escalate_when), false, 0, 0},
    [R_DRY] = {"dry_run", rb_read_bool, offsetof(struct runbook, dry_run),
               false, 0, 0},
    [R_STEPS] = {"steps", read_steps, offsetof(struct runbook, steps), true, 0,
                 0},
    [R_VERIFY] = {"verify", read_verify,
                  offsetof(struct runbook, verify_within), false, 0, 0},
    [R_COOLDOWN] = {"cooldown", rb_read_duration,
                    offsetof(struct runbook, cooldown), false, 0, 0},
    [R_MAX] = {"max_actions_per_hour", read_max_per_hour,
               offsetof(struct runbook, max_per_hour), false, 0, 0},
    [R_RESOLVED] = {"on_resolved", read_on_resolved,
                    offsetof(struct runbook, on_resolved), false, 0, 0},
};

_Static_assert(ARRAY_LEN(runbook_fields) <= RB_MAX_FIELDS,
               "raise RB_MAX_FIELDS");
_Static_assert(RUNBOOK_N_ACTIONS <= 32, "action masks are 32 bits");

static void check_duplicate(struct rb_ctx *c, const struct runbook_set *set,
                            const struct runbook *rb, yaml_mark_t m)
{
    for (size_t i = 0; i < set->n; i++) {
        const struct runbook *o = set->rb[i];
        if (o->name && strcmp(o->name, rb->name) == 0) {
            rb_err_at(c, m, "duplicate runbook name \"%s\" (first at %s:%d)",
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
static void read_runbook(struct rb_ctx *c, yaml_node_t *root,
                         struct runbook_set *set)
{
    struct runbook *rb;
    struct rb_seen s;

    if (rb_is_null(root) || !rb_want_map(c, root))
        return;
    if (set->n == RUNBOOK_MAX) {
        rb_err_at(c, root->start_mark, "more than %d runbooks", RUNBOOK_MAX);
        return;
    }
    rb = xcalloc(1, sizeof(*rb));
    rb->file = xstrdup(c->name);
    rb->line = (int)root->start_mark.line + 1;
    rb->cooldown = RUNBOOK_DEFAULT_COOLDOWN;
    rb->max_per_hour = RUNBOOK_DEFAULT_MAX_PER_HOUR;
    rb_walk_map(c, root, runbook_fields, ARRAY_LEN(runbook_fields), rb, &s);
    if (s.state[R_NAME] == RB_GOOD) {
        rb->line = (int)s.key[R_NAME].line + 1;
        check_duplicate(c, set, rb, s.mark[R_NAME]);
    }
    set_push(set, rb);
}

/* --- files ------------------------------------------------------------ */

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

static void syntax_error(struct rb_ctx *c, const yaml_parser_t *p)
{
    yaml_mark_t m = p->problem_mark;
    const char *problem = p->problem ? p->problem : "out of memory";

    if (p->error == YAML_READER_ERROR)
        m = offset_mark(c->text, c->len, p->problem_offset);
    if (p->context)
        rb_err_at(c, m, "YAML syntax error: %s (%s at line %zu, column %zu)",
                  problem, p->context, p->context_mark.line + 1,
                  p->context_mark.column + 1);
    else
        rb_err_at(c, m, "YAML syntax error: %s", problem);
}

/* read_documents: every document of the file, up to a syntax error. */
static void read_documents(struct rb_ctx *c, struct runbook_set *set)
{
    yaml_parser_t p;
    yaml_document_t doc;
    yaml_node_t *root;

    if (!yaml_parser_initialize(&p)) {
        fprintf(stderr, "replguard: out of memory in libyaml\n");
        abort();
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)c->text, c->len);
    for (;;) {
        if (!yaml_parser_load(&p, &doc)) {
            syntax_error(c, &p);
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
static int load_text(const char *name, const char *text, size_t len,
                     struct runbook_set *set, struct config_errors *errs)
{
    struct rb_ctx c = {.name = name, .text = text, .len = len, .errs = errs};

    if (len > CONFIG_MAX_FILE_SIZE) {
        rb_err_plain(errs, name, "larger than %d bytes", CONFIG_MAX_FILE_SIZE);
        return 1;
    }
    buf_init(&c.path, 0);
    read_documents(&c, set);
    rb_flush_errors(&c);
    buf_free(&c.path);
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

static int load_file(const char *path, struct runbook_set *set,
                     struct config_errors *errs)
{
    struct buf b;
    int rc;

    buf_init(&b, CONFIG_MAX_FILE_SIZE);
    errno = 0;
    rc = slurp(path, &b);
    if (rc == -EFBIG)
        rb_err_plain(errs, path, "larger than %d bytes", CONFIG_MAX_FILE_SIZE);
    else if (rc < 0)
        rb_err_plain(errs, path, "cannot read: %s", strerror(-rc));
    if (rc < 0)
        rc = 1;
    else
        rc = load_text(path, b.data ? b.data : "", b.len, set, errs);
    buf_free(&b);
    return rc;
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
        if (!is_rule_file(de->d_name))
            continue;
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
                    struct config_errors *errs)
{
    char **names;
    int n = list_dir(dir, &names), count = 0;
    size_t len = strlen(dir);
    struct buf path;

    if (n == -E2BIG) {
        rb_err_plain(errs, dir, "more than %d runbook files",
                     RUNBOOK_MAX_FILES);
        return 1;
    }
    if (n < 0) {
        rb_err_plain(errs, dir, "cannot read: %s", strerror(-n));
        return 1;
    }
    buf_init(&path, 0);
    for (int i = 0; i < n; i++) {
        buf_reset(&path);
        buf_printf(&path, "%s%s%s", dir, len && dir[len - 1] == '/' ? "" : "/",
                   names[i]);
        count += load_file(path.data, set, errs);
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
                 struct config_errors *errs)
{
    struct config_errors discard;
    struct runbook_set *set = xcalloc(1, sizeof(*set));
    struct stat st;
    int count;

    *out = NULL;
    config_errors_init(&discard);
    if (!errs)
        errs = &discard;
    if (stat(path, &st) < 0) {
        rb_err_plain(errs, path, "cannot read: %s", strerror(errno));
        count = 1;
    } else if (S_ISDIR(st.st_mode)) {
        count = load_dir(path, set, errs);
    } else {
        count = load_file(path, set, errs);
    }
    config_errors_reset(&discard);
    return finish(set, count, out);
}

int runbook_load_string(const char *name, const char *text, size_t len,
                        struct runbook_set **out, struct config_errors *errs)
{
    struct config_errors discard;
    struct runbook_set *set = xcalloc(1, sizeof(*set));
    int count;

    *out = NULL;
    config_errors_init(&discard);
    count = load_text(name, text, len, set, errs ? errs : &discard);
    config_errors_reset(&discard);
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
