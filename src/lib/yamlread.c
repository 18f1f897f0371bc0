/* yamlread.c: the YAML layer of the config and runbook loaders (see
 * yamlread.h): error collection, parsing helpers, node types, the
 * generic scalar readers and the table-driven walk of a mapping. */
#include "lib/yamlread.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* An error found in one text, sorted into file order before it is
 * handed out. */
struct yr_pending {
    size_t line, column, seq;
    char *msg;
};

/* --- error messages --------------------------------------------------- */

static void errors_push(struct errlist *e, char *msg)
{
    if (e->n == e->cap) {
        e->cap = e->cap ? 2 * e->cap : 8;
        e->msg = xrealloc(e->msg, e->cap * sizeof(*e->msg));
    }
    e->msg[e->n++] = msg;
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

static void add_pending(struct yr_ctx *c, yaml_mark_t m, char *msg)
{
    struct yr_pending *p;

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

void yr_err_at(struct yr_ctx *c, yaml_mark_t m, const char *fmt, ...)
{
    struct buf b;
    va_list ap;

    if (c->count > ERRLIST_MAX)
        return;
    buf_init(&b, 0);
    buf_printf(&b, "%s:%zu:%zu: ", c->name, m.line + 1, m.column + 1);
    if (c->count == ERRLIST_MAX) {
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
    const struct yr_pending *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->column != y->column)
        return x->column < y->column ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void yr_init(struct yr_ctx *c, const char *name, const char *text, size_t len,
             struct errlist *errs)
{
    memset(c, 0, sizeof(*c));
    c->name = name;
    c->text = text;
    c->len = len;
    c->errs = errs;
    buf_init(&c->path, 0);
}

int yr_finish(struct yr_ctx *c)
{
    if (c->n_pend)
        qsort(c->pend, c->n_pend, sizeof(*c->pend), by_place);
    for (size_t i = 0; i < c->n_pend; i++)
        errors_push(c->errs, c->pend[i].msg);
    free(c->pend);
    c->pend = NULL;
    c->n_pend = 0;
    c->cap_pend = 0;
    buf_free(&c->path);
    return c->count;
}

void yr_err_plain(struct errlist *e, const char *name, const char *fmt, ...)
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

size_t yr_path_key(struct yr_ctx *c, const char *key)
{
    size_t saved = c->path.len;
    if (saved)
        buf_puts(&c->path, ".");
    buf_puts(&c->path, key);
    return saved;
}

size_t yr_path_index(struct yr_ctx *c, size_t i)
{
    size_t saved = c->path.len;
    buf_printf(&c->path, "[%zu]", i);
    return saved;
}

void yr_path_pop(struct yr_ctx *c, size_t saved)
{
    c->path.len = saved;
    if (c->path.data)
        c->path.data[saved] = '\0';
}

/* --- parsing and files ------------------------------------------------ */

void yr_parser_init(yaml_parser_t *p, const char *text, size_t len)
{
    if (!yaml_parser_initialize(p)) {
        fprintf(stderr, "replguard: out of memory in libyaml\n");
        abort();
    }
    yaml_parser_set_input_string(p, (const unsigned char *)text, len);
}

bool yr_check_depth(struct yr_ctx *c, int max)
{
    yaml_parser_t p;
    yaml_event_t ev;
    int depth = 0;
    bool ok = true, done = false;

    yr_parser_init(&p, c->text, c->len);
    while (ok && !done && yaml_parser_parse(&p, &ev)) {
        if (ev.type == YAML_MAPPING_START_EVENT ||
            ev.type == YAML_SEQUENCE_START_EVENT)
            depth++;
        else if (ev.type == YAML_MAPPING_END_EVENT ||
                 ev.type == YAML_SEQUENCE_END_EVENT)
            depth--;
        if (depth > max) {
            yr_err_at(c, ev.start_mark,
                      "nested more than %d levels deep; refused", max);
            ok = false;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    return ok; /* a syntax error is the loader's to report */
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

void yr_syntax_error(struct yr_ctx *c, const yaml_parser_t *p)
{
    yaml_mark_t m = p->problem_mark;
    const char *problem = p->problem ? p->problem : "out of memory";

    if (p->error == YAML_READER_ERROR)
        m = offset_mark(c->text, c->len, p->problem_offset);
    if (p->context)
        yr_err_at(c, m, "YAML syntax error: %s (%s at line %zu, column %zu)",
                  problem, p->context, p->context_mark.line + 1,
                  p->context_mark.column + 1);
    else
        yr_err_at(c, m, "YAML syntax error: %s", problem);
}

/* read_fd: reads fd to its end into b. Returns 0, -EFBIG when it is too
 * large, or -errno. */
static int read_fd(int fd, struct buf *b)
{
    char chunk[8192];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return 0;
        if (buf_append(b, chunk, (size_t)n) < 0)
            return -EFBIG;
    }
}

/* slurp: reads the file at path into b (created with its size limit).
 * The file is opened without blocking (a FIFO's open would wait for a
 * writer) and must be a regular file: a FIFO or a device could block
 * the read, and the main thread reloads with SIGTERM blocked. Returns
 * 0, -EFBIG when it is too large, -EINVAL when it is not a regular
 * file, or -errno. */
static int slurp(const char *path, struct buf *b)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    int rc = fstat(fd, &st) < 0 ? -errno : 0;
    if (rc == 0 && !S_ISREG(st.st_mode))
        rc = -EINVAL;
    if (rc == 0)
        rc = read_fd(fd, b);
    close(fd);
    return rc;
}

int yr_slurp(const char *path, struct buf *b, struct errlist *errs)
{
    int rc;

    buf_init(b, LOAD_MAX_FILE_SIZE);
    errno = 0;
    rc = slurp(path, b);
    if (rc == -EFBIG && errs)
        yr_err_plain(errs, path, "larger than %d bytes", LOAD_MAX_FILE_SIZE);
    else if (rc == -EINVAL && errs)
        yr_err_plain(errs, path,
                     "not a regular file (a FIFO, device or directory); "
                     "refused without reading it");
    else if (rc < 0 && errs)
        yr_err_plain(errs, path, "cannot read: %s", strerror(-rc));
    return rc < 0 ? -1 : 0;
}

int yr_load_file(const char *path, yr_text_fn load, void *arg,
                 struct errlist *errs)
{
    struct buf b;
    int rc;

    if (yr_slurp(path, &b, errs) < 0)
        rc = 1;
    else
        rc = load(path, b.data ? b.data : "", b.len, arg, errs);
    buf_free(&b);
    return rc;
}

/* --- nodes and types -------------------------------------------------- */

yaml_node_t *yr_node(const struct yr_ctx *c, int i)
{
    return yaml_document_get_node(c->doc, i);
}

const char *yr_sval(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

yaml_node_t *yr_map_value(const struct yr_ctx *c, const yaml_node_t *map,
                          const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
         p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yr_node(c, p->key);
        if (k && k->type == YAML_SCALAR_NODE && strcmp(yr_sval(k), key) == 0)
            return yr_node(c, p->value);
    }
    return NULL;
}

static bool is_plain(const yaml_node_t *n)
{
    return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

bool yr_is_null(const yaml_node_t *n)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
    if (n->type != YAML_SCALAR_NODE || !is_plain(n))
        return false;
    for (size_t i = 0; i < ARRAY_LEN(nulls); i++) {
        if (strcmp(yr_sval(n), nulls[i]) == 0)
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
    if (yr_is_null(n))
        return "nothing (null)";
    return is_plain(n) ? "a plain scalar" : "a quoted string";
}

static bool want_type(struct yr_ctx *c, const yaml_node_t *v,
                      yaml_node_type_t t, const char *what)
{
    if (v->type == t && !yr_is_null(v))
        return true;
    yr_err_at(c, v->start_mark, "expected %s, got %s", what, kind_of(v));
    return false;
}

bool yr_want_map(struct yr_ctx *c, const yaml_node_t *v)
{
    return want_type(c, v, YAML_MAPPING_NODE, "a mapping");
}

bool yr_want_seq(struct yr_ctx *c, const yaml_node_t *v)
{
    return want_type(c, v, YAML_SEQUENCE_NODE, "a list");
}

bool yr_want_scalar(struct yr_ctx *c, const yaml_node_t *v, const char *what)
{
    if (!want_type(c, v, YAML_SCALAR_NODE, what))
        return false;
    if (strlen(yr_sval(v)) == v->data.scalar.length)
        return true;
    yr_err_at(c, v->start_mark, "contains a NUL character");
    return false;
}

/* url_scheme: the part of s after http:// or https:// into *rest.
 * Returns NULL or what is wrong. */
static const char *url_scheme(const char *s, const char **rest)
{
    for (const char *p = s; *p; p++) {
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return "contains a space or control character";
    }
    if (strncmp(s, "http://", 7) == 0)
        *rest = s + 7;
    else if (strncmp(s, "https://", 8) == 0)
        *rest = s + 8;
    else
        return "must start with http:// or https://";
    return NULL;
}

bool yr_want_url(struct yr_ctx *c, const yaml_node_t *v,
                 const char *(*check)(const char *rest))
{
    const char *rest = NULL, *why;

    if (!yr_want_scalar(c, v, "a URL"))
        return false;
    why = url_scheme(yr_sval(v), &rest);
    if (!why)
        why = check(rest);
    if (!why)
        return true;
    yr_err_at(c, v->start_mark, "bad URL \"%.80s\": %s", yr_sval(v), why);
    return false;
}

/* want_plain: numbers and booleans are plain scalars; "5" is a string. */
static bool want_plain(struct yr_ctx *c, const yaml_node_t *v, const char *what)
{
    if (!yr_want_scalar(c, v, what))
        return false;
    if (is_plain(v))
        return true;
    yr_err_at(c, v->start_mark, "expected %s, got a quoted string \"%.80s\"",
              what, yr_sval(v));
    return false;
}

size_t yr_n_items(const yaml_node_t *seq)
{
    return (size_t)(seq->data.sequence.items.top -
                    seq->data.sequence.items.start);
}

bool yr_want_items(struct yr_ctx *c, const yaml_node_t *v, size_t min,
                   size_t max, const char *what, size_t *n)
{
    if (!yr_want_seq(c, v))
        return false;
    *n = yr_n_items(v);
    if (*n >= min && *n <= max)
        return true;
    yr_err_at(c, v->start_mark, "expected %zu to %zu %s, got %zu", min, max,
              what, *n);
    return false;
}

bool yr_each_item(struct yr_ctx *c, const yaml_node_t *seq, yr_item_fn *item,
                  void *arg)
{
    yaml_node_item_t *it = seq->data.sequence.items.start;
    size_t i = 0, saved;
    bool ok = true;

    for (; it < seq->data.sequence.items.top; it++, i++) {
        saved = yr_path_index(c, i);
        ok = item(c, yr_node(c, *it), i, arg) && ok;
        yr_path_pop(c, saved);
    }
    return ok;
}

/* byte_at: the byte offset in the text of mark m (whose column counts
 * characters). */
static size_t byte_at(const struct yr_ctx *c, yaml_mark_t m)
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

yaml_mark_t yr_inner_mark(const struct yr_ctx *c, const yaml_node_t *v,
                          size_t off, bool *exact)
{
    yaml_mark_t m = v->start_mark;
    const char *val = yr_sval(v);
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

bool yr_read_string(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    if (!yr_want_scalar(c, v, "a string"))
        return false;
    if (!*yr_sval(v)) {
        yr_err_at(c, v->start_mark, "must not be empty");
        return false;
    }
    *(char **)dst = xstrdup(yr_sval(v));
    return true;
}

bool yr_read_bool(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    static const char *const yes[] = {"true", "True", "TRUE"};
    static const char *const no[] = {"false", "False", "FALSE"};

    if (!want_plain(c, v, "true or false"))
        return false;
    for (size_t i = 0; i < ARRAY_LEN(yes); i++) {
        if (strcmp(yr_sval(v), yes[i]) == 0 || strcmp(yr_sval(v), no[i]) == 0) {
            *(bool *)dst = strcmp(yr_sval(v), yes[i]) == 0;
            return true;
        }
    }
    yr_err_at(c, v->start_mark, "expected true or false, got \"%.80s\"",
              yr_sval(v));
    return false;
}

/* read_duration: "250ms", "5s", "3m", "1h" within r. A bare number is
 * refused: "5" could mean seconds or milliseconds. */
static bool read_duration(struct yr_ctx *c, yaml_node_t *v,
                          const struct yr_range *r, void *dst)
{
    const char *s;
    size_t n;
    double d;

    if (!yr_want_scalar(c, v, "a duration"))
        return false;
    s = yr_sval(v);
    n = strlen(s);
    if (n == 0 || s[n - 1] < 'a' || s[n - 1] > 'z' ||
        parse_duration(s, &d) < 0) {
        yr_err_at(c, v->start_mark,
                  "bad duration \"%.80s\" (expected a number and a unit: ms, "
                  "s, m or h)",
                  s);
        return false;
    }
    if (d <= 0) {
        yr_err_at(c, v->start_mark, "must be greater than 0, got \"%.80s\"", s);
        return false;
    }
    if (d < r->min || d > r->max) {
        yr_err_at(c, v->start_mark, "must be from %s to %s, got \"%.80s\"",
                  r->min_text, r->max_text, s);
        return false;
    }
    *(double *)dst = d;
    return true;
}

static const struct yr_range any_duration = {0.001, 30 * 86400.0, "1ms",
                                             "720h"};

bool yr_read_duration(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    return read_duration(c, v, &any_duration, dst);
}

bool yr_read_duration_in(struct yr_ctx *c, yaml_node_t *v,
                         const struct yr_range *r, void *dst)
{
    return read_duration(c, v, r, dst);
}

bool yr_read_uint(struct yr_ctx *c, const yaml_node_t *v, uint64_t min,
                  uint64_t max, uint64_t *out)
{
    if (!want_plain(c, v, "a whole number"))
        return false;
    if (parse_u64(yr_sval(v), min, max, out) == 0)
        return true;
    yr_err_at(c, v->start_mark,
              "expected a whole number from %" PRIu64 " to %" PRIu64
              ", got \"%.80s\"",
              min, max, yr_sval(v));
    return false;
}

bool yr_read_enum(struct yr_ctx *c, const yaml_node_t *v,
                  const char *const *names, size_t n, size_t *out)
{
    struct buf b;

    if (!yr_want_scalar(c, v, "a name"))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(yr_sval(v), names[i]) == 0) {
            *out = i;
            return true;
        }
    }
    buf_init(&b, 0);
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "%s%s", i ? ", " : "", names[i]);
    yr_err_at(c, v->start_mark, "unknown value \"%.80s\" (expected one of: %s)",
              yr_sval(v), b.data);
    buf_free(&b);
    return false;
}

/* --- mappings --------------------------------------------------------- */

static void unknown_key(struct yr_ctx *c, const yaml_node_t *k,
                        const struct yr_field *f, size_t nf)
{
    struct buf b;

    buf_init(&b, 0);
    for (size_t i = 0; i < nf; i++)
        buf_printf(&b, "%s%s", i ? ", " : "", f[i].key);
    yr_err_at(c, k->start_mark, "unknown key \"%.80s\" (expected one of: %s)",
              yr_sval(k), b.data);
    buf_free(&b);
}

static void read_pair(struct yr_ctx *c, const yaml_node_pair_t *p,
                      const struct yr_field *f, size_t nf, void *base,
                      struct yr_seen *s)
{
    yaml_node_t *k = yr_node(c, p->key), *v = yr_node(c, p->value);
    size_t i = 0, saved;

    if (!yr_want_scalar(c, k, "a key"))
        return;
    while (i < nf && strcmp(f[i].key, yr_sval(k)) != 0)
        i++;
    if (i == nf) {
        unknown_key(c, k, f, nf);
        return;
    }
    if (s->state[i] != YR_ABSENT) {
        yr_err_at(c, k->start_mark, "duplicate key \"%s\"", f[i].key);
        return;
    }
    saved = yr_path_key(c, f[i].key);
    s->state[i] = f[i].read(c, v, (char *)base + f[i].off) ? YR_GOOD : YR_BAD;
    s->key[i] = k->start_mark;
    s->mark[i] = v->start_mark;
    yr_path_pop(c, saved);
}

void yr_walk_map(struct yr_ctx *c, yaml_node_t *map, const struct yr_field *f,
                 size_t nf, void *base, struct yr_seen *s)
{
    yaml_node_pair_t *p;

    memset(s, 0, sizeof(*s));
    for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++)
        read_pair(c, p, f, nf, base, s);
    for (size_t i = 0; i < nf; i++) {
        if (f[i].required && s->state[i] == YR_ABSENT)
            yr_err_at(c, map->start_mark, "missing required key \"%s\"",
                      f[i].key);
    }
}

bool yr_read_map(struct yr_ctx *c, yaml_node_t *v, const struct yr_field *f,
                 size_t nf, void *base)
{
    struct yr_seen s;
    int before = c->count;

    if (!yr_want_map(c, v))
        return false;
    yr_walk_map(c, v, f, nf, base, &s);
    return c->count == before;
}
