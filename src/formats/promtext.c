/* promtext.c: the Prometheus text format 0.0.4 parser (see promtext.h).
 *
 * One pass over the input, a line at a time. Each line is checked in full
 * whatever the handler wants; label names and values are first recorded
 * as pointers into the input (struct raw_label) and only copied and
 * unescaped into the scratch buffer for a sample that is handed out. */
#include "formats/promtext.h"

#include "lib/util.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Room for every label name and value of one line with a NUL each, or for
 * one help text and its NUL: unescaping never makes a string longer. */
#define SCRATCH_SIZE (PROMTEXT_MAX_LINE + 2 * PROMTEXT_MAX_LABELS + 1)

/* Integers of up to this many digits convert to double exactly. */
#define EXACT_DIGITS 15

struct raw_label {
    const char *name; /* into the input */
    size_t name_len;
    const char *value; /* into the input, escaped, between the quotes */
    size_t value_len;
    bool escaped; /* value holds a backslash escape */
};

struct parser {
    const struct promtext_handler *h; /* may be NULL */
    const char *line;                 /* start of the current line */
    const char *end;                  /* end of the line, before its '\n' */
    const char *p;                    /* cursor, in [line, end] */
    size_t lineno;
    const char *msg;    /* error reason */
    const char *err_at; /* error position in the current line */
    struct raw_label raw[PROMTEXT_MAX_LABELS];
    size_t nraw;
    struct promtext_label out[PROMTEXT_MAX_LABELS];
    char *scratch; /* SCRATCH_SIZE bytes, allocated on first use */
    size_t samples;
    size_t passed;
};

static int fail(struct parser *ps, const char *at, const char *msg)
{
    ps->msg = msg;
    ps->err_at = at;
    return -EINVAL;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha_(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool at_eol(const struct parser *ps)
{
    return ps->p == ps->end;
}

/* skip_blanks: moves the cursor past spaces and tabs; returns how many. */
static size_t skip_blanks(struct parser *ps)
{
    const char *start = ps->p;
    while (ps->p < ps->end && is_blank(*ps->p))
        ps->p++;
    return (size_t)(ps->p - start);
}

/* skip_token: moves the cursor to the next blank or the end of line. */
static void skip_token(struct parser *ps)
{
    while (ps->p < ps->end && !is_blank(*ps->p))
        ps->p++;
}

/* ascii_ieq: s (n bytes) equals the lower-case word w, ignoring ASCII
 * case. */
static bool ascii_ieq(const char *s, size_t n, const char *w)
{
    size_t i;
    for (i = 0; i < n && w[i]; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != w[i])
            return false;
    }
    return i == n && !w[i];
}

/* utf8_seq: the length of the well-formed UTF-8 sequence at s (n bytes
 * available, s[0] >= 0x80), or 0: no overlong forms, surrogates or code
 * points above U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    size_t len;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    }
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
        (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
        return 0;
    return len;
}

/* scan_text: checks escapes and UTF-8 from the cursor on. A label value
 * (quoted) stops at its closing '"', left under the cursor, and may use
 * \" too; help text runs to the end of the line. Sets *escaped when a
 * backslash escape was seen. */
static int scan_text(struct parser *ps, bool quoted, bool *escaped)
{
    *escaped = false;
    while (ps->p < ps->end) {
        unsigned char c = (unsigned char)*ps->p;
        if (c == '"' && quoted)
            return 0;
        if (c == '\\') {
            char e = ps->p + 1 < ps->end ? ps->p[1] : '\0';
            if (e != '\\' && e != 'n' && !(quoted && e == '"'))
                return fail(ps, ps->p,
                            quoted ? "invalid escape in label value"
                                   : "invalid escape in help text");
            *escaped = true;
            ps->p += 2;
        } else if (c < 0x80) {
            ps->p++;
        } else {
            size_t n = utf8_seq((const unsigned char *)ps->p,
                                (size_t)(ps->end - ps->p));
            if (n == 0)
                return fail(ps, ps->p,
                            quoted ? "invalid UTF-8 in label value"
                                   : "invalid UTF-8 in help text");
            ps->p += n;
        }
    }
    if (quoted)
        return fail(ps, ps->p, "unterminated label value");
    return 0;
}

/* unescape: copies n bytes of text already checked by scan_text() from
 * src to dst, resolving escapes, and NUL-terminates it. Returns the
 * length written, without the NUL (at most n). */
static size_t unescape(char *dst, const char *src, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = src[i];
        if (c == '\\') {
            i++;
            c = src[i] == 'n' ? '\n' : src[i];
        }
        dst[o++] = c;
    }
    dst[o] = '\0';
    return o;
}

static char *scratch(struct parser *ps)
{
    if (!ps->scratch)
        ps->scratch = xmalloc(SCRATCH_SIZE);
    return ps->scratch;
}

/* wanted: whether the callback cb (may be NULL) is to be called for the
 * metric name. */
static bool wanted(const struct parser *ps, const char *name, size_t len,
                   bool cb)
{
    if (!cb)
        return false;
    if (!ps->h->want)
        return true;
    return ps->h->want(name, len, ps->h->ctx) != 0;
}

/* name_chars: the bytes of [a-zA-Z0-9_:], one lookup per byte of every
 * name of every scrape instead of five comparisons. */
static const bool name_chars[256] = {
    [':'] = 1, ['_'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1,
    ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['a'] = 1, ['b'] = 1,
    ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1,
    ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,
    ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1,
    ['x'] = 1, ['y'] = 1, ['z'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1,
    ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1,
    ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
    ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1,
    ['Z'] = 1,
};

/* read_metric_name: reads [a-zA-Z_:][a-zA-Z0-9_:]* at the cursor. The
 * caller checks what follows it. */
static int read_metric_name(struct parser *ps, const char **name, size_t *len)
{
    const char *s = ps->p, *end = ps->end;
    if (at_eol(ps) || !(is_alpha_(*s) || *s == ':'))
        return fail(ps, s, "invalid metric name");
    const char *q = s + 1;
    while (q < end && name_chars[(unsigned char)*q])
        q++;
    ps->p = q;
    *name = s;
    *len = (size_t)(ps->p - s);
    return 0;
}

/* read_label_name: reads [a-zA-Z_][a-zA-Z0-9_]* at the cursor into l,
 * refusing __name__ and a name the sample already has. */
static int read_label_name(struct parser *ps, struct raw_label *l)
{
    const char *s = ps->p;
    if (at_eol(ps) || !is_alpha_(*s))
        return fail(ps, s, "invalid label name");
    do {
        ps->p++;
    } while (ps->p < ps->end && (is_alpha_(*ps->p) || is_digit(*ps->p)));
    l->name = s;
    l->name_len = (size_t)(ps->p - s);
    if (promtext_streq(s, l->name_len, "__name__"))
        return fail(ps, s, "reserved label name __name__");
    for (size_t i = 0; i < ps->nraw; i++) {
        if (ps->raw[i].name_len == l->name_len &&
            memcmp(ps->raw[i].name, s, l->name_len) == 0)
            return fail(ps, s, "duplicate label name");
    }
    return 0;
}

/* read_label: reads name="value" at the cursor into the next raw slot. */
static int read_label(struct parser *ps)
{
    if (ps->nraw == PROMTEXT_MAX_LABELS)
        return fail(ps, ps->p, "too many labels");
    struct raw_label *l = &ps->raw[ps->nraw];
    int rc = read_label_name(ps, l);
    if (rc < 0)
        return rc;
    skip_blanks(ps);
    if (at_eol(ps) || *ps->p != '=')
        return fail(ps, ps->p, "expected '=' after label name");
    ps->p++;
    skip_blanks(ps);
    if (at_eol(ps) || *ps->p != '"')
        return fail(ps, ps->p, "expected '\"' to open label value");
    ps->p++;
    l->value = ps->p;
    rc = scan_text(ps, true, &l->escaped);
    if (rc < 0)
        return rc;
    l->value_len = (size_t)(ps->p - l->value);
    ps->p++; /* the closing quote */
    ps->nraw++;
    return 0;
}

/* read_labels: reads a label set; the cursor is on its '{'. */
static int read_labels(struct parser *ps)
{
    ps->p++;
    skip_blanks(ps);
    for (;;) {
        if (at_eol(ps))
            return fail(ps, ps->p, "unterminated label set");
        if (*ps->p == '}') {
            ps->p++;
            return 0;
        }
        int rc = read_label(ps);
        if (rc < 0)
            return rc;
        skip_blanks(ps);
        if (at_eol(ps))
            return fail(ps, ps->p, "unterminated label set");
        if (*ps->p == ',') {
            ps->p++;
            skip_blanks(ps);
        } else if (*ps->p != '}') {
            return fail(ps, ps->p, "expected ',' or '}' after label value");
        }
    }
}

/* value_ok: whether [s, e) is a value as promtext.h defines it. */
static bool value_ok(const char *s, const char *e)
{
    const char *p = s;
    size_t digits = 0;
    if (p < e && (*p == '+' || *p == '-'))
        p++;
    if (ascii_ieq(p, (size_t)(e - p), "inf"))
        return true;
    if (p == s && ascii_ieq(p, (size_t)(e - p), "nan"))
        return true;
    for (; p < e && is_digit(*p); p++)
        digits++;
    if (p < e && *p == '.') {
        for (p++; p < e && is_digit(*p); p++)
            digits++;
    }
    if (digits == 0)
        return false;
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        if (p == e || !is_digit(*p))
            return false;
        while (p < e && is_digit(*p))
            p++;
    }
    return p == e;
}

/* convert_value: the double of a value accepted by value_ok(), n bytes,
 * n <= PROMTEXT_MAX_VALUE. */
static double convert_value(const char *s, size_t n)
{
    char buf[PROMTEXT_MAX_VALUE + 1];
    size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0;
    double sign = s[0] == '-' ? -1.0 : 1.0;
    if (ascii_ieq(s + i, n - i, "inf"))
        return sign * INFINITY;
    if (ascii_ieq(s, n, "nan"))
        return NAN;
    if (n - i <= EXACT_DIGITS) {
        double v = 0;
        size_t j = i;
        for (; j < n && is_digit(s[j]); j++)
            v = v * 10 + (s[j] - '0');
        if (j == n)
            return sign * v;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    return strtod(buf, NULL);
}

/* read_timestamp: parses [s, e) as "[+-]?D+" into an int64_t. */
static int read_timestamp(struct parser *ps, const char *s, const char *e,
                          int64_t *out)
{
    const char *p = s;
    bool neg = *p == '-';
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t v = 0;
    if (*p == '+' || *p == '-')
        p++;
    if (p == e)
        return fail(ps, s, "invalid timestamp");
    for (; p < e; p++) {
        if (!is_digit(*p))
            return fail(ps, s, "invalid timestamp");
        unsigned d = (unsigned)(*p - '0');
        if (v > (limit - d) / 10)
            return fail(ps, s, "timestamp out of range");
        v = v * 10 + d;
    }
    if (!neg)
        *out = (int64_t)v;
    else
        *out = v == 0 ? 0 : -(int64_t)(v - 1) - 1;
    return 0;
}

/* emit_sample: copies the labels into the scratch buffer, converts the
 * value and hands the sample out. */
static int emit_sample(struct parser *ps, struct promtext_sample *s,
                       const char *v, size_t vlen)
{
    char *buf = ps->nraw ? scratch(ps) : NULL;
    size_t off = 0;
    for (size_t i = 0; i < ps->nraw; i++) {
        const struct raw_label *r = &ps->raw[i];
        struct promtext_label *o = &ps->out[i];
        memcpy(buf + off, r->name, r->name_len);
        buf[off + r->name_len] = '\0';
        o->name = buf + off;
        o->name_len = r->name_len;
        off += r->name_len + 1;
        o->value = buf + off;
        o->value_len = unescape(buf + off, r->value, r->value_len);
        off += o->value_len + 1;
    }
    s->labels = ps->out;
    s->nlabels = ps->nraw;
    s->value = convert_value(v, vlen);
    ps->passed++;
    return ps->h->sample(s, ps->h->ctx) != 0 ? PROMTEXT_STOPPED : 0;
}

/* read_value: reads the value token (and the blanks before it) after the
 * name or label set. */
static int read_value(struct parser *ps, size_t gap, const char **v,
                      size_t *vlen)
{
    if (at_eol(ps))
        return fail(ps, ps->p, "missing value");
    if (gap == 0)
        return fail(ps, ps->p, "expected blank before value");
    *v = ps->p;
    skip_token(ps);
    *vlen = (size_t)(ps->p - *v);
    if (!value_ok(*v, ps->p))
        return fail(ps, *v, "invalid value");
    if (*vlen > PROMTEXT_MAX_VALUE)
        return fail(ps, *v, "value too long");
    return 0;
}

static int parse_sample(struct parser *ps)
{
    struct promtext_sample s = {.line = ps->lineno};
    const char *v;
    size_t vlen;
    int rc = read_metric_name(ps, &s.name, &s.name_len);
    bool lazy = ps->h && ps->h->skip_unwanted;
    if (lazy && (rc < 0 || !wanted(ps, s.name, s.name_len, ps->h->sample))) {
        ps->msg = NULL; /* no callback reads it: not validated */
        ps->err_at = NULL;
        return 0;
    }
    if (rc < 0)
        return rc;
    if (!at_eol(ps) && !is_blank(*ps->p) && *ps->p != '{')
        return fail(ps, ps->p, "invalid character in metric name");
    size_t gap = skip_blanks(ps);
    ps->nraw = 0;
    if (!at_eol(ps) && *ps->p == '{') {
        rc = read_labels(ps);
        if (rc < 0)
            return rc;
        gap = skip_blanks(ps);
    }
    rc = read_value(ps, gap, &v, &vlen);
    if (rc < 0)
        return rc;
    if (skip_blanks(ps) && !at_eol(ps)) {
        const char *t = ps->p;
        skip_token(ps);
        rc = read_timestamp(ps, t, ps->p, &s.timestamp_ms);
        if (rc < 0)
            return rc;
        s.has_timestamp = 1;
        skip_blanks(ps);
        if (!at_eol(ps))
            return fail(ps, ps->p, "unexpected text after timestamp");
    }
    ps->samples++;
    if (!lazy && !wanted(ps, s.name, s.name_len, ps->h && ps->h->sample))
        return 0;
    return emit_sample(ps, &s, v, vlen);
}

static int parse_help(struct parser *ps, const char *name, size_t len)
{
    const char *text = ps->p;
    const struct promtext_handler *h = ps->h;
    bool escaped;
    int rc = scan_text(ps, false, &escaped);
    if (rc < 0)
        return rc;
    if (!wanted(ps, name, len, h && h->help))
        return 0;
    char *buf = scratch(ps);
    size_t n = unescape(buf, text, (size_t)(ps->end - text));
    return h->help(name, len, buf, n, h->ctx) != 0 ? PROMTEXT_STOPPED : 0;
}

static int parse_type(struct parser *ps, const char *name, size_t len)
{
    const char *t = ps->p;
    const struct promtext_handler *h = ps->h;
    enum promtext_type type = PROMTEXT_UNTYPED;
    bool found = false;
    if (at_eol(ps))
        return fail(ps, t, "missing metric type");
    skip_token(ps);
    for (int i = PROMTEXT_UNTYPED; i <= PROMTEXT_SUMMARY && !found; i++) {
        type = (enum promtext_type)i;
        found =
            promtext_streq(t, (size_t)(ps->p - t), promtext_type_name(type));
    }
    if (!found)
        return fail(ps, t, "unknown metric type");
    skip_blanks(ps);
    if (!at_eol(ps))
        return fail(ps, ps->p, "unexpected text after metric type");
    if (!wanted(ps, name, len, h && h->type))
        return 0;
    return h->type(name, len, type, h->ctx) != 0 ? PROMTEXT_STOPPED : 0;
}

/* parse_comment: a line whose first non-blank is '#', under the cursor. */
static int parse_comment(struct parser *ps)
{
    const char *name;
    size_t len;
    ps->p++;
    skip_blanks(ps);
    const char *kw = ps->p;
    skip_token(ps);
    bool help = promtext_streq(kw, (size_t)(ps->p - kw), "HELP");
    bool type = promtext_streq(kw, (size_t)(ps->p - kw), "TYPE");
    if (!help && !type)
        return 0; /* a plain comment */
    skip_blanks(ps);
    if (at_eol(ps))
        return fail(ps, ps->p, "missing metric name");
    int rc = read_metric_name(ps, &name, &len);
    if (rc < 0)
        return rc;
    if (!at_eol(ps) && !is_blank(*ps->p))
        return fail(ps, ps->p, "invalid character in metric name");
    skip_blanks(ps);
    return help ? parse_help(ps, name, len) : parse_type(ps, name, len);
}

static int parse_line(struct parser *ps)
{
    skip_blanks(ps);
    if (at_eol(ps))
        return 0;
    if (*ps->p == '#')
        return ps->h && ps->h->skip_unwanted && !ps->h->help && !ps->h->type
                   ? 0
                   : parse_comment(ps);
    return parse_sample(ps);
}

/* next_line: makes the line starting at data[*off] current and moves *off
 * past it; fails on an overlong line or a NUL byte. */
static int next_line(struct parser *ps, const char *data, size_t len,
                     size_t *off)
{
    const char *line = data + *off;
    size_t rest = len - *off;
    size_t window = rest <= PROMTEXT_MAX_LINE ? rest : PROMTEXT_MAX_LINE + 1;
    const char *nl = memchr(line, '\n', window);
    size_t n = nl ? (size_t)(nl - line) : window;
    ps->lineno++;
    ps->line = line;
    ps->p = line;
    ps->end = line + n;
    if (n > PROMTEXT_MAX_LINE)
        return fail(ps, line + PROMTEXT_MAX_LINE, "line too long");
    const char *nul = memchr(line, '\0', n);
    if (nul)
        return fail(ps, nul, "NUL byte");
    *off += n + (nl ? 1 : 0);
    return 0;
}

int promtext_parse(const char *data, size_t len,
                   const struct promtext_handler *h, struct promtext_error *err)
{
    struct parser ps;
    size_t off = 0;
    int rc = 0;
    ps.h = h;
    ps.line = NULL;
    ps.lineno = 0;
    ps.msg = NULL;
    ps.err_at = NULL;
    ps.nraw = 0;
    ps.scratch = NULL;
    ps.samples = 0;
    ps.passed = 0;
    if (!data && len)
        rc = fail(&ps, NULL, "no input");
    while (rc == 0 && off < len) {
        rc = next_line(&ps, data, len, &off);
        if (rc == 0)
            rc = parse_line(&ps);
    }
    free(ps.scratch);
    if (err) {
        err->line = rc ? ps.lineno : 0;
        err->column = ps.err_at ? (size_t)(ps.err_at - ps.line) + 1 : 0;
        err->msg = rc < 0 ? ps.msg : NULL;
        err->samples = ps.samples;
        err->passed = ps.passed;
    }
    return rc;
}

const struct promtext_label *
promtext_label_find(const struct promtext_label *labels, size_t n,
                    const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (promtext_streq(labels[i].name, labels[i].name_len, name))
            return &labels[i];
    }
    return NULL;
}

int promtext_streq(const char *p, size_t len, const char *s)
{
    size_t n = strlen(s);
    return n == len && memcmp(p, s, len) == 0;
}

const char *promtext_type_name(enum promtext_type type)
{
    switch (type) {
    case PROMTEXT_COUNTER:
        return "counter";
    case PROMTEXT_GAUGE:
        return "gauge";
    case PROMTEXT_HISTOGRAM:
        return "histogram";
    case PROMTEXT_SUMMARY:
        return "summary";
    case PROMTEXT_UNTYPED:
        break;
    }
    return "untyped";
}
