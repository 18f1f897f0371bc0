/* configread.c: the generic half of the config loader (see
 * config_internal.h): error collection, YAML node types, scalar and
 * address readers, and the table-driven walk of a mapping. The schema
 * itself is in config.c. */
#include "config_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAME 64
#define NAME_CHARS                                                             \
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
#define V6_CHARS "0123456789abcdefABCDEF:."

/* --- error messages --------------------------------------------------- */

static void errors_push(struct config_errors *e, char *msg)
{
    if (e->n == e->cap) {
        e->cap = e->cap ? 2 * e->cap : 8;
        e->msg = xrealloc(e->msg, e->cap * sizeof(*e->msg));
    }
    e->msg[e->n++] = msg;
}

void config_errors_init(struct config_errors *errs)
{
    errs->msg = NULL;
    errs->n = 0;
    errs->cap = 0;
}

void config_errors_reset(struct config_errors *errs)
{
    for (size_t i = 0; i < errs->n; i++)
        free(errs->msg[i]);
    free(errs->msg);
    config_errors_init(errs);
}

/* One message is one line: control characters from escapes in quoted
 * scalars become '?'. */
static char *flatten(char *s)
{
    for (char *p = s; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    }
    return s;
}

static void add_pending(struct ctx *c, yaml_mark_t m, char *msg)
{
    struct pending *p;

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

/* cfg_err_at: adds "NAME:LINE:COLUMN: PATH: message" for the mark m. */
void cfg_err_at(struct ctx *c, yaml_mark_t m, const char *fmt, ...)
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
    const struct pending *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->column != y->column)
        return x->column < y->column ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* cfg_flush_errors: hands the walk's errors out in file order. */
void cfg_flush_errors(struct ctx *c)
{
    if (c->n_pend)
        qsort(c->pend, c->n_pend, sizeof(*c->pend), by_place);
    for (size_t i = 0; i < c->n_pend; i++)
        errors_push(c->errs, c->pend[i].msg);
    free(c->pend);
    c->pend = NULL;
    c->n_pend = 0;
}

/* cfg_err_plain: adds "NAME: message" for errors with no place in the file. */
void cfg_err_plain(struct config_errors *e, const char *name, const char *fmt,
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

static size_t path_key(struct ctx *c, const char *key)
{
    size_t saved = c->path.len;
    if (saved)
        buf_puts(&c->path, ".");
    buf_puts(&c->path, key);
    return saved;
}

size_t cfg_path_index(struct ctx *c, size_t i)
{
    size_t saved = c->path.len;
    buf_printf(&c->path, "[%zu]", i);
    return saved;
}

void cfg_path_pop(struct ctx *c, size_t saved)
{
    c->path.len = saved;
    if (c->path.data)
        c->path.data[saved] = '\0';
}

/* --- nodes and types -------------------------------------------------- */

yaml_node_t *cfg_node_at(const struct ctx *c, int i)
{
    return yaml_document_get_node(c->doc, i);
}

static const char *sval(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static bool is_plain(const yaml_node_t *n)
{
    return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static bool is_null(const yaml_node_t *n)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
    if (n->type != YAML_SCALAR_NODE || !is_plain(n))
        return false;
    for (size_t i = 0; i < ARRAY_LEN(nulls); i++) {
        if (strcmp(sval(n), nulls[i]) == 0)
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
    if (is_null(n))
        return "nothing (null)";
    return is_plain(n) ? "a plain scalar" : "a quoted string";
}

static bool want_type(struct ctx *c, const yaml_node_t *v, yaml_node_type_t t,
                      const char *what)
{
    if (v->type == t && !is_null(v))
        return true;
    cfg_err_at(c, v->start_mark, "expected %s, got %s", what, kind_of(v));
    return false;
}

bool cfg_want_map(struct ctx *c, const yaml_node_t *v)
{
    return want_type(c, v, YAML_MAPPING_NODE, "a mapping");
}

bool cfg_want_seq(struct ctx *c, const yaml_node_t *v)
{
    return want_type(c, v, YAML_SEQUENCE_NODE, "a list");
}

static bool want_scalar(struct ctx *c, const yaml_node_t *v, const char *what)
{
    if (!want_type(c, v, YAML_SCALAR_NODE, what))
        return false;
    if (strlen(sval(v)) == v->data.scalar.length)
        return true;
    cfg_err_at(c, v->start_mark, "contains a NUL character");
    return false;
}

/* want_plain: numbers and booleans are plain scalars; "5" is a string. */
static bool want_plain(struct ctx *c, const yaml_node_t *v, const char *what)
{
    if (!want_scalar(c, v, what))
        return false;
    if (is_plain(v))
        return true;
    cfg_err_at(c, v->start_mark, "expected %s, got a quoted string \"%.80s\"",
               what, sval(v));
    return false;
}

size_t cfg_n_items(const yaml_node_t *seq)
{
    return (size_t)(seq->data.sequence.items.top -
                    seq->data.sequence.items.start);
}

/* --- scalar readers --------------------------------------------------- */

bool cfg_read_string(struct ctx *c, yaml_node_t *v, void *dst)
{
    if (!want_scalar(c, v, "a string"))
        return false;
    if (!*sval(v)) {
        cfg_err_at(c, v->start_mark, "must not be empty");
        return false;
    }
    *(char **)dst = xstrdup(sval(v));
    return true;
}

bool cfg_read_name(struct ctx *c, yaml_node_t *v, void *dst)
{
    size_t n;

    if (!want_scalar(c, v, "a name"))
        return false;
    n = strlen(sval(v));
    if (n == 0 || n > MAX_NAME || strspn(sval(v), NAME_CHARS) != n) {
        cfg_err_at(c, v->start_mark,
                   "bad name \"%.80s\" (1 to %d letters, digits, '.', '_' or "
                   "'-')",
                   sval(v), MAX_NAME);
        return false;
    }
    *(char **)dst = xstrdup(sval(v));
    return true;
}

bool cfg_read_bool(struct ctx *c, yaml_node_t *v, void *dst)
{
    static const char *const yes[] = {"true", "True", "TRUE"};
    static const char *const no[] = {"false", "False", "FALSE"};

    if (!want_plain(c, v, "true or false"))
        return false;
    for (size_t i = 0; i < ARRAY_LEN(yes); i++) {
        if (strcmp(sval(v), yes[i]) == 0 || strcmp(sval(v), no[i]) == 0) {
            *(bool *)dst = strcmp(sval(v), yes[i]) == 0;
            return true;
        }
    }
    cfg_err_at(c, v->start_mark, "expected true or false, got \"%.80s\"",
               sval(v));
    return false;
}

/* cfg_read_duration: "250ms", "5s", "3m", "1h", greater than 0. A bare
 * number is refused: "5" could mean seconds or milliseconds. */
bool cfg_read_duration(struct ctx *c, yaml_node_t *v, void *dst)
{
    const char *s;
    size_t n;
    double d;

    if (!want_scalar(c, v, "a duration"))
        return false;
    s = sval(v);
    n = strlen(s);
    if (n == 0 || s[n - 1] < 'a' || s[n - 1] > 'z' ||
        parse_duration(s, &d) < 0) {
        cfg_err_at(c, v->start_mark,
                   "bad duration \"%.80s\" (expected a number and a unit: ms, "
                   "s, m or h)",
                   s);
        return false;
    }
    if (d <= 0) {
        cfg_err_at(c, v->start_mark, "must be greater than 0, got \"%.80s\"",
                   s);
        return false;
    }
    *(double *)dst = d;
    return true;
}

bool cfg_read_uint(struct ctx *c, const yaml_node_t *v, uint64_t min,
                   uint64_t max, uint64_t *out)
{
    if (!want_plain(c, v, "a whole number"))
        return false;
    if (parse_u64(sval(v), min, max, out) == 0)
        return true;
    cfg_err_at(c, v->start_mark,
               "expected a whole number from %" PRIu64 " to %" PRIu64
               ", got \"%.80s\"",
               min, max, sval(v));
    return false;
}

bool cfg_read_priority(struct ctx *c, yaml_node_t *v, void *dst)
{
    uint64_t x;
    if (!cfg_read_uint(c, v, 0, UINT32_MAX, &x))
        return false;
    *(unsigned *)dst = (unsigned)x;
    return true;
}

bool cfg_read_floor(struct ctx *c, yaml_node_t *v, void *dst)
{
    return cfg_read_uint(c, v, 1, UINT32_MAX, dst);
}

bool cfg_read_enum(struct ctx *c, const yaml_node_t *v,
                   const char *const *names, size_t n, size_t *out)
{
    struct buf b;

    if (!want_scalar(c, v, "a name"))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(sval(v), names[i]) == 0) {
            *out = i;
            return true;
        }
    }
    buf_init(&b, 0);
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "%s%s", i ? ", " : "", names[i]);
    cfg_err_at(c, v->start_mark,
               "unknown value \"%.80s\" (expected one of: %s)", sval(v),
               b.data);
    buf_free(&b);
    return false;
}

/* --- addresses -------------------------------------------------------- */

static bool all_in(const char *s, size_t n, const char *set)
{
    for (size_t i = 0; i < n; i++) {
        if (!s[i] || !strchr(set, s[i]))
            return false;
    }
    return true;
}

/* parse_port: n bytes of decimal digits, 1 to 65535 (0 too when
 * allow_zero: "listen on any free port"). */
static const char *parse_port(const char *s, size_t n, bool allow_zero,
                              unsigned *out)
{
    unsigned v = 0;
    if (n == 0 || n > 5 || !all_in(s, n, "0123456789"))
        return "bad port";
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (unsigned)(s[i] - '0');
    if (v > 65535 || (v == 0 && !allow_zero))
        return allow_zero ? "port out of range 0-65535"
                          : "port out of range 1-65535";
    *out = v;
    return NULL;
}

/* split_host_port: s[0..n) is HOST, HOST:PORT, [IPV6] or [IPV6]:PORT.
 * Returns NULL with *host a heap copy of the host (no brackets), *port
 * the port and *has_port whether there was one; else the reason,
 * allocating nothing. Port 0 is accepted when allow_zero. */
static const char *split_host_port(const char *s, size_t n, char **host,
                                   unsigned *port, bool *has_port,
                                   bool allow_zero)
{
    const char *h = s, *hend, *rest, *why = NULL;

    if (n && s[0] == '[') {
        h = s + 1;
        hend = memchr(s, ']', n);
        if (!hend || hend == h || !all_in(h, (size_t)(hend - h), V6_CHARS))
            return "bad IPv6 address";
        rest = hend + 1;
    } else {
        hend = memchr(s, ':', n);
        rest = hend ? hend : s + n;
        hend = rest;
        if (hend == s)
            return "missing host";
        if (!all_in(s, (size_t)(hend - s), NAME_CHARS))
            return "bad host";
    }
    *port = 0;
    *has_port = rest < s + n;
    if (rest < s + n && *rest != ':')
        return "bad host";
    if (rest < s + n)
        why =
            parse_port(rest + 1, (size_t)(s + n - rest - 1), allow_zero, port);
    if (!why)
        *host = xstrndup(h, (size_t)(hend - h));
    return why;
}

bool cfg_read_listen(struct ctx *c, yaml_node_t *v, void *dst)
{
    struct config *cfg = dst;
    char *host = NULL;
    unsigned port = 0;
    const char *why;

    if (!want_scalar(c, v, "HOST:PORT"))
        return false;
    bool has_port;
    why = split_host_port(sval(v), strlen(sval(v)), &host, &port, &has_port,
                          true);
    if (!why && !has_port)
        why = "missing port";
    if (why) {
        free(host);
        cfg_err_at(c, v->start_mark,
                   "bad listen address \"%.80s\": %s (expected HOST:PORT)",
                   sval(v), why);
        return false;
    }
    cfg->listen_host = host;
    cfg->listen_port = (uint16_t)port;
    return true;
}

/* check_url: http:// or https://, a host, an optional port and an
 * optional path. Returns NULL or what is wrong. */
static const char *check_url(const char *s)
{
    const char *auth, *end, *why;
    char *host = NULL;
    unsigned port;

    for (const char *p = s; *p; p++) {
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return "contains a space or control character";
    }
    if (strncmp(s, "http://", 7) == 0)
        auth = s + 7;
    else if (strncmp(s, "https://", 8) == 0)
        auth = s + 8;
    else
        return "must start with http:// or https://";
    if (strpbrk(auth, "?#"))
        return "must not have a query or fragment";
    end = strchr(auth, '/');
    if (!end)
        end = auth + strlen(auth);
    bool has_port;
    why = split_host_port(auth, (size_t)(end - auth), &host, &port, &has_port,
                          false);
    free(host);
    return why;
}

/* cfg_read_url: stores the URL without trailing slashes, so that callers
 * append "/metrics" and the like. */
bool cfg_read_url(struct ctx *c, yaml_node_t *v, void *dst)
{
    const char *why;
    size_t n;

    if (!want_scalar(c, v, "a URL"))
        return false;
    why = check_url(sval(v));
    if (why) {
        cfg_err_at(c, v->start_mark, "bad URL \"%.80s\": %s", sval(v), why);
        return false;
    }
    n = strlen(sval(v));
    while (n > 0 && sval(v)[n - 1] == '/')
        n--;
    *(char **)dst = xstrndup(sval(v), n);
    return true;
}

/* --- mappings --------------------------------------------------------- */

static void unknown_key(struct ctx *c, const yaml_node_t *k,
                        const struct field *f, size_t nf)
{
    struct buf b;

    buf_init(&b, 0);
    for (size_t i = 0; i < nf; i++)
        buf_printf(&b, "%s%s", i ? ", " : "", f[i].key);
    cfg_err_at(c, k->start_mark, "unknown key \"%.80s\" (expected one of: %s)",
               sval(k), b.data);
    buf_free(&b);
}

static void read_pair(struct ctx *c, const yaml_node_pair_t *p,
                      const struct field *f, size_t nf, void *base,
                      struct seen *s)
{
    yaml_node_t *k = cfg_node_at(c, p->key), *v = cfg_node_at(c, p->value);
    size_t i = 0, saved;

    if (!want_scalar(c, k, "a key"))
        return;
    while (i < nf && strcmp(f[i].key, sval(k)) != 0)
        i++;
    if (i == nf) {
        unknown_key(c, k, f, nf);
        return;
    }
    if (s->state[i] != ABSENT) {
        cfg_err_at(c, k->start_mark, "duplicate key \"%s\"", f[i].key);
        return;
    }
    saved = path_key(c, f[i].key);
    s->state[i] = f[i].read(c, v, (char *)base + f[i].off) ? GOOD : BAD;
    s->mark[i] = v->start_mark;
    cfg_path_pop(c, saved);
}

/* cfg_walk_map: reads every pair of the mapping map through the table f into
 * base, then reports the required keys that are missing. */
void cfg_walk_map(struct ctx *c, yaml_node_t *map, const struct field *f,
                  size_t nf, void *base, struct seen *s)
{
    yaml_node_pair_t *p;

    memset(s, 0, sizeof(*s));
    for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++)
        read_pair(c, p, f, nf, base, s);
    for (size_t i = 0; i < nf; i++) {
        if (f[i].required && s->state[i] == ABSENT)
            cfg_err_at(c, map->start_mark, "missing required key \"%s\"",
                       f[i].key);
    }
}

/* cfg_check_less: lo->val < hi->val must hold. The error goes to the value of
 * `blame` when it was written, else to the other one (both defaulted
 * never fails). Skipped when either value was bad. */
void cfg_check_less(struct ctx *c, const struct seen *s, const struct bound *lo,
                    const struct bound *hi, const struct bound *blame)
{
    const struct bound *at = blame, *other;

    if (s->state[lo->idx] == BAD || s->state[hi->idx] == BAD ||
        lo->val < hi->val)
        return;
    if (s->state[at->idx] != GOOD)
        at = at == lo ? hi : lo;
    other = at == lo ? hi : lo;
    cfg_err_at(c, s->mark[at->idx], "%s (%gs) must be %s than %s (%gs%s)",
               at->key, at->val, at == lo ? "less" : "greater", other->key,
               other->val, s->state[other->idx] == GOOD ? "" : ", the default");
}
