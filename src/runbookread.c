/* runbookread.c: the generic half of the runbook loader (see
 * runbook_internal.h): error collection, YAML node types, scalar readers
 * and the table-driven walk of a mapping, in the style and with the
 * messages of the config loader (configread.c). The schema itself is in
 * runbook.c. */
#include "runbook_internal.h"

#include "expr.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define RUNBOOK_NAME_CHARS "abcdefghijklmnopqrstuvwxyz0123456789-"
#define HOST_CHARS                                                             \
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:[]"
#define MAX_TIMEOUT 3600.0

/* --- error messages --------------------------------------------------- */

static void errors_push(struct config_errors *e, char *msg)
{
    if (e->n == e->cap) {
        e->cap = e->cap ? 2 * e->cap : 8;
        e->msg = xrealloc(e->msg, e->cap * sizeof(*e->msg));
    }
    e->msg[e->n++] = msg;
}

/* One message is one line: control characters become '?'. */
static char *flatten(char *s)
{
    for (char *p = s; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    }
    return s;
}

static void add_pending(struct rb_ctx *c, yaml_mark_t m, char *msg)
{
    struct rb_pending *p;

    if (c->n_pend == c->cap_pend) {
        c->cap_pend = c->cap_pend ? 2 * c->cap_pend : 8;
        c->pend = xrealloc(c->pend, c->cap_pend * sizeof(*c->pend));
    }
    p = &c->pend[c->n_pend];
    p->line = m.line;
    p->column = m.column;
    p->seq = c->n_pend++;
    p->msg = flatten(msg);
    c->count++;
}

void rb_err_at(struct rb_ctx *c, yaml_mark_t m, const char *fmt, ...)
{
    struct buf b;
    va_list ap;

    if (c->count > CONFIG_MAX_ERRORS)
        return;
    buf_init(&b, 0);
    buf_printf(&b, "%s:%zu:%zu: ", c->name, m.line + 1, m.column + 1);
    if (c->count == CONFIG_MAX_ERRORS) {
        buf_puts(&b, "too many errors, not reporting more");
        m.line = SIZE_MAX; /* sorts last */
    } else {
        if (c->path.len)
            buf_printf(&b, "%s: ", c->path.data);
        va_start(ap, fmt);
        buf_vprintf(&b, fmt, ap);
        va_end(ap);
    }
    add_pending(c, m, buf_detach(&b));
}

static int by_place(const void *a, const void *b)
{
    const struct rb_pending *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->column != y->column)
        return x->column < y->column ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void rb_flush_errors(struct rb_ctx *c)
{
    if (c->n_pend)
        qsort(c->pend, c->n_pend, sizeof(*c->pend), by_place);
    for (size_t i = 0; i < c->n_pend; i++)
        errors_push(c->errs, c->pend[i].msg);
    free(c->pend);
    c->pend = NULL;
    c->n_pend = 0;
    c->cap_pend = 0;
}

void rb_err_plain(struct config_errors *e, const char *name, const char *fmt,
                  ...)
{
    struct buf b;
    va_list ap;

    buf_init(&b, 0);
    buf_printf(&b, "%s: ", name);
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    errors_push(e, flatten(buf_detach(&b)));
}

size_t rb_path_key(struct rb_ctx *c, const char *key)
{
    size_t saved = c->path.len;
    if (saved)
        buf_puts(&c->path, ".");
    buf_puts(&c->path, key);
    return saved;
}

size_t rb_path_index(struct rb_ctx *c, size_t i)
{
    size_t saved = c->path.len;
    buf_printf(&c->path, "[%zu]", i);
    return saved;
}

void rb_path_pop(struct rb_ctx *c, size_t saved)
{
    c->path.len = saved;
    if (c->path.data)
        c->path.data[saved] = '\0';
}

/* --- nodes and types -------------------------------------------------- */

yaml_node_t *rb_node(const struct rb_ctx *c, int i)
{
    return yaml_document_get_node(c->doc, i);
}

const char *rb_sval(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static bool is_plain(const yaml_node_t *n)
{
    return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

bool rb_is_null(const yaml_node_t *n)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
    if (n->type != YAML_SCALAR_NODE || !is_plain(n))
        return false;
    for (size_t i = 0; i < ARRAY_LEN(nulls); i++) {
        if (strcmp(rb_sval(n), nulls[i]) == 0)
            return true;
    }
    return false;
}

static const char *kind_of(const yaml_node_t *n)
{
    if (n->type == YAML_MAPPING_NODE)
        return "a mapping";
    if (n->type == YAML_SEQUENCE_NODE)
        return "a list";
    if (rb_is_null(n))
        return "nothing (null)";
    return is_plain(n) ? "a plain scalar" : "a quoted string";
}

static bool want_type(struct rb_ctx *c, const yaml_node_t *v,
                      yaml_node_type_t t, const char *what)
{
    if (v->type == t && !rb_is_null(v))
        return true;
    rb_err_at(c, v->start_mark, "expected %s, got %s", what, kind_of(v));
    return false;
}

bool rb_want_map(struct rb_ctx *c, const yaml_node_t *v)
{
    return want_type(c, v, YAML_MAPPING_NODE, "a mapping");
}

bool rb_want_seq(struct rb_ctx *c, const yaml_node_t *v)
{
    return want_type(c, v, YAML_SEQUENCE_NODE, "a list");
}

bool rb_want_scalar(struct rb_ctx *c, const yaml_node_t *v, const char *what)
{
    if (!want_type(c, v, YAML_SCALAR_NODE, what))
        return false;
    if (strlen(rb_sval(v)) == v->data.scalar.length)
        return true;
    rb_err_at(c, v->start_mark, "contains a NUL character");
    return false;
}

/* want_plain: numbers and booleans are plain scalars; "5" is a string. */
static bool want_plain(struct rb_ctx *c, const yaml_node_t *v, const char *what)
{
    if (!rb_want_scalar(c, v, what))
        return false;
    if (is_plain(v))
        return true;
    rb_err_at(c, v->start_mark, "expected %s, got a quoted string \"%.80s\"",
              what, rb_sval(v));
    return false;
}

size_t rb_n_items(const yaml_node_t *seq)
{
    return (size_t)(seq->data.sequence.items.top -
                    seq->data.sequence.items.start);
}

/* byte_at: the byte offset in the text of mark m (whose column counts
 * characters). */
static size_t byte_at(const struct rb_ctx *c, yaml_mark_t m)
{
    size_t i = 0, line = 0, col = 0;

    while (i < c->len && line < m.line) {
        if (c->text[i++] == '\n')
            line++;
    }
    while (i < c->len && col < m.column) {
        i++;
        while (i < c->len && ((unsigned char)c->text[i] & 0xc0) == 0x80)
            i++;
        col++;
    }
    return i;
}

yaml_mark_t rb_inner_mark(const struct rb_ctx *c, const yaml_node_t *v,
                          size_t off, bool *exact)
{
    yaml_mark_t m = v->start_mark;
    const char *val = rb_sval(v);
    size_t quote = is_plain(v) ? 0 : 1, at;

    *exact = false;
    if (v->data.scalar.style > YAML_DOUBLE_QUOTED_SCALAR_STYLE ||
        off > strlen(val) || !c->text)
        return m;
    at = byte_at(c, m) + quote;
    if (at > c->len || off > c->len - at || memchr(val, '\n', off) ||
        memcmp(c->text + at, val, off) != 0)
        return m;
    m.index += quote + off;
    m.column += quote;
    for (size_t i = 0; i < off; i++)
        m.column += ((unsigned char)val[i] & 0xc0) != 0x80;
    *exact = true;
    return m;
}

/* --- scalar readers --------------------------------------------------- */

bool rb_read_string(struct rb_ctx *c, yaml_node_t *v, void *dst)
{
    if (!rb_want_scalar(c, v, "a string"))
        return false;
    if (!*rb_sval(v)) {
        rb_err_at(c, v->start_mark, "must not be empty");
        return false;
    }
    *(char **)dst = xstrdup(rb_sval(v));
    return true;
}

bool rb_read_name(struct rb_ctx *c, yaml_node_t *v, void *dst)
{
    size_t n;

    if (!rb_want_scalar(c, v, "a name"))
        return false;
    n = strlen(rb_sval(v));
    if (n == 0 || n > RB_MAX_NAME ||
        strspn(rb_sval(v), RUNBOOK_NAME_CHARS) != n) {
        rb_err_at(c, v->start_mark,
                  "bad runbook name \"%.80s\" (1 to %d lowercase letters, "
                  "digits or '-')",
                  rb_sval(v), RB_MAX_NAME);
        return false;
    }
    *(char **)dst = xstrdup(rb_sval(v));
    return true;
}

bool rb_read_label_name(struct rb_ctx *c, yaml_node_t *v, void *dst)
{
    const char *s;
    size_t n;

    if (!rb_want_scalar(c, v, "a label name"))
        return false;
    s = rb_sval(v);
    n = strlen(s);
    if (n == 0 || n > RB_MAX_LABEL || strspn(s, RB_LABEL_CHARS) != n ||
        (s[0] >= '0' && s[0] <= '9')) {
        rb_err_at(c, v->start_mark,
                  "bad label name \"%.80s\" (letters, digits and '_', not "
                  "starting with a digit)",
                  s);
        return false;
    }
    *(char **)dst = xstrdup(s);
    return true;
}

bool rb_read_bool(struct rb_ctx *c, yaml_node_t *v, void *dst)
{
    static const char *const yes[] = {"true", "True", "TRUE"};
    static const char *const no[] = {"false", "False", "FALSE"};

    if (!want_plain(c, v, "true or false"))
        return false;
    for (size_t i = 0; i < ARRAY_LEN(yes); i++) {
        if (strcmp(rb_sval(v), yes[i]) == 0 || strcmp(rb_sval(v), no[i]) == 0) {
            *(bool *)dst = strcmp(rb_sval(v), yes[i]) == 0;
            return true;
        }
    }
    rb_err_at(c, v->start_mark, "expected true or false, got \"%.80s\"",
              rb_sval(v));
    return false;
}

/* rb_read_duration: "250ms", "5s", "3m", "1h", greater than 0. A bare
 * number is refused: "5" could mean seconds or milliseconds. */
bool rb_read_duration(struct rb_ctx *c, yaml_node_t *v, void *dst)
{
    const char *s;
    size_t n;
    double d;

    if (!rb_want_scalar(c, v, "a duration"))
        return false;
    s = rb_sval(v);
    n = strlen(s);
    if (n == 0 || s[n - 1] < 'a' || s[n - 1] > 'z' ||
        parse_duration(s, &d) < 0) {
        rb_err_at(c, v->start_mark,
                  "bad duration \"%.80s\" (expected a number and a unit: ms, "
                  "s, m or h)",
                  s);
        return false;
    }
    if (d <= 0) {
        rb_err_at(c, v->start_mark, "must be greater than 0, got \"%.80s\"", s);
        return false;
    }
    *(double *)dst = d;
    return true;
}

bool rb_read_timeout(struct rb_ctx *c, yaml_node_t *v, void *dst)
{
    if (!rb_read_duration(c, v, dst))
        return false;
    if (*(double *)dst <= MAX_TIMEOUT)
        return true;
    rb_err_at(c, v->start_mark, "must be at most 1h, got \"%.80s\"",
              rb_sval(v));
    return false;
}

bool rb_read_uint(struct rb_ctx *c, const yaml_node_t *v, uint64_t min,
                  uint64_t max, uint64_t *out)
{
    if (!want_plain(c, v, "a whole number"))
        return false;
    if (parse_u64(rb_sval(v), min, max, out) == 0)
        return true;
    rb_err_at(c, v->start_mark,
              "expected a whole number from %" PRIu64 " to %" PRIu64
              ", got \"%.80s\"",
              min, max, rb_sval(v));
    return false;
}

bool rb_read_enum(struct rb_ctx *c, const yaml_node_t *v,
                  const char *const *names, size_t n, size_t *out)
{
    struct buf b;

    if (!rb_want_scalar(c, v, "a name"))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rb_sval(v), names[i]) == 0) {
            *out = i;
            return true;
        }
    }
    buf_init(&b, 0);
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "%s%s", i ? ", " : "", names[i]);
    rb_err_at(c, v->start_mark, "unknown value \"%.80s\" (expected one of: %s)",
              rb_sval(v), b.data);
    buf_free(&b);
    return false;
}

/* rb_read_condition: an error inside the condition points at its column
 * in the file when the scalar is written on one line without escapes;
 * else at the scalar, naming the column in the condition. */
bool rb_read_condition(struct rb_ctx *c, yaml_node_t *v, void *dst)
{
    struct expr_error err;
    struct expr *e;
    yaml_mark_t m;
    bool exact;

    if (!rb_want_scalar(c, v, "a condition"))
        return false;
    if (expr_parse(rb_sval(v), &e, &err) == 0) {
        *(struct expr **)dst = e;
        return true;
    }
    m = rb_inner_mark(c, v, (size_t)(err.column - 1), &exact);
    if (exact)
        rb_err_at(c, m, "%s", err.msg);
    else
        rb_err_at(c, m, "column %d of the condition: %s", err.column, err.msg);
    return false;
}

/* --- templates and URLs ----------------------------------------------- */

bool rb_check_template(struct rb_ctx *c, const yaml_node_t *v, const char *s)
{
    size_t from = 0, start, end, name, len;
    yaml_mark_t m;
    bool exact, ok = true;
    int r;

    for (;;) {
        r = rb_placeholder(s, from, &start, &end, &name, &len);
        if (r < 0)
            break;
        from = end;
        if (r == 0)
            continue;
        m = rb_inner_mark(c, v, start, &exact);
        ok = false;
        if (r == 2) {
            rb_err_at(c, m, "%s'{{' without a closing '}}'",
                      exact ? "" : "in the text: ");
            break;
        }
        rb_err_at(c, m,
                  "unknown placeholder '%.*s' (known: {{cluster}}, "
                  "{{target}}, {{alertname}}, {{label.NAME}})",
                  (int)(end - start < 80 ? end - start : 80), s + start);
    }
    return ok;
}

bool rb_read_template(struct rb_ctx *c, yaml_node_t *v, void *dst)
{
    if (!rb_read_string(c, v, dst))
        return false;
    if (rb_check_template(c, v, *(char **)dst))
        return true;
    free(*(char **)dst);
    *(char **)dst = NULL;
    return false;
}

/* check_url: http:// or https://, then a host without placeholders.
 * Returns NULL or what is wrong. */
static const char *check_url(const char *s)
{
    const char *host;
    size_t n;

    for (const char *p = s; *p; p++) {
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return "contains a space or control character";
    }
    if (strncmp(s, "http://", 7) == 0)
        host = s + 7;
    else if (strncmp(s, "https://", 8) == 0)
        host = s + 8;
    else
        return "must start with http:// or https://";
    n = strcspn(host, "/?#");
    if (n == 0)
        return "missing host";
    if (memchr(host, '{', n))
        return "placeholders are not allowed in the host: alert labels do "
               "not choose where requests go";
    if (strspn(host, HOST_CHARS) < n)
        return "bad host";
    return NULL;
}

bool rb_read_url(struct rb_ctx *c, yaml_node_t *v, void *dst)
{
    const char *why;

    if (!rb_want_scalar(c, v, "a URL"))
        return false;
    why = check_url(rb_sval(v));
    if (why) {
        rb_err_at(c, v->start_mark, "bad URL \"%.80s\": %s", rb_sval(v), why);
        return false;
    }
    return rb_read_template(c, v, dst);
}

/* --- mappings --------------------------------------------------------- */

static void unknown_key(struct rb_ctx *c, const yaml_node_t *k,
                        const struct rb_field *f, size_t nf)
{
    struct buf b;

    buf_init(&b, 0);
    for (size_t i = 0; i < nf; i++)
        buf_printf(&b, "%s%s", i ? ", " : "", f[i].key);
    rb_err_at(c, k->start_mark, "unknown key \"%.80s\" (expected one of: %s)",
              rb_sval(k), b.data);
    buf_free(&b);
}

static void read_pair(struct rb_ctx *c, const yaml_node_pair_t *p,
                      const struct rb_field *f, size_t nf, void *base,
                      struct rb_seen *s)
{
    yaml_node_t *k = rb_node(c, p->key), *v = rb_node(c, p->value);
    size_t i = 0, saved;

    if (!rb_want_scalar(c, k, "a key"))
        return;
    while (i < nf && strcmp(f[i].key, rb_sval(k)) != 0)
        i++;
    if (i == nf) {
        unknown_key(c, k, f, nf);
        return;
    }
    if (s->state[i] != RB_ABSENT) {
        rb_err_at(c, k->start_mark, "duplicate key \"%s\"", f[i].key);
        return;
    }
    saved = rb_path_key(c, f[i].key);
    s->state[i] = f[i].read(c, v, (char *)base + f[i].off) ? RB_GOOD : RB_BAD;
    s->key[i] = k->start_mark;
    s->mark[i] = v->start_mark;
    rb_path_pop(c, saved);
}

void rb_walk_map(struct rb_ctx *c, yaml_node_t *map, const struct rb_field *f,
                 size_t nf, void *base, struct rb_seen *s)
{
    yaml_node_pair_t *p;

    memset(s, 0, sizeof(*s));
    for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++)
        read_pair(c, p, f, nf, base, s);
    for (size_t i = 0; i < nf; i++) {
        if (f[i].required && s->state[i] == RB_ABSENT)
            rb_err_at(c, map->start_mark, "missing required key \"%s\"",
                      f[i].key);
    }
}
