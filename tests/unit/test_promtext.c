/* test_promtext.c: the Prometheus text format parser.
 *
 * Every input is copied into a heap buffer of exactly its length (no NUL
 * after it), so AddressSanitizer catches any read past the end. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "formats/promtext.h"
#include "lib/util.h"

#define MAX_GOT        24
#define MAX_GOT_LABELS 4

struct got_label {
    char name[64];
    char value[256];
    size_t value_len;
};

struct got_sample {
    char name[128];
    struct got_label labels[MAX_GOT_LABELS];
    size_t nlabels;
    double value;
    int has_ts;
    int64_t ts;
    size_t line;
};

/* What the callbacks saw. */
struct collector {
    struct got_sample s[MAX_GOT];
    size_t n;
    size_t want_calls;
    const char *only;  /* want(): this name only; NULL wants all */
    int refuse_all;    /* want(): nothing */
    size_t stop_after; /* sample(): stop after this many; 0 never */
    char help[4][128]; /* help texts, unescaped */
    size_t help_len[4];
    size_t nhelp;
    enum promtext_type types[4];
    size_t ntypes;
};

static void copy_str(char *dst, size_t cap, const char *src, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int col_want(const char *name, size_t len, void *ctx)
{
    struct collector *c = ctx;
    c->want_calls++;
    if (c->refuse_all)
        return 0;
    return !c->only || promtext_streq(name, len, c->only);
}

static int col_sample(const struct promtext_sample *s, void *ctx)
{
    struct collector *c = ctx;
    if (c->n < MAX_GOT) {
        struct got_sample *g = &c->s[c->n];
        copy_str(g->name, sizeof(g->name), s->name, s->name_len);
        g->nlabels = s->nlabels;
        for (size_t i = 0; i < s->nlabels && i < MAX_GOT_LABELS; i++) {
            const struct promtext_label *l = &s->labels[i];
            ck_assert_uint_eq(strlen(l->name), l->name_len);
            ck_assert(l->value[l->value_len] == '\0');
            copy_str(g->labels[i].name, sizeof(g->labels[i].name), l->name,
                     l->name_len);
            copy_str(g->labels[i].value, sizeof(g->labels[i].value), l->value,
                     l->value_len);
            g->labels[i].value_len = l->value_len;
        }
        g->value = s->value;
        g->has_ts = s->has_timestamp;
        g->ts = s->timestamp_ms;
        g->line = s->line;
    }
    c->n++;
    return c->stop_after && c->n >= c->stop_after;
}

static int col_help(const char *name, size_t name_len, const char *text,
                    size_t text_len, void *ctx)
{
    struct collector *c = ctx;
    ck_assert(text[text_len] == '\0');
    if (c->nhelp < 4) {
        copy_str(c->help[c->nhelp], sizeof(c->help[0]), text, text_len);
        c->help_len[c->nhelp] = text_len;
        c->nhelp++;
    }
    return 0;
}

static int col_type(const char *name, size_t name_len, enum promtext_type t,
                    void *ctx)
{
    struct collector *c = ctx;
    if (c->ntypes < 4)
        c->types[c->ntypes++] = t;
    return 0;
}

static struct promtext_handler col_handler(struct collector *c)
{
    struct promtext_handler h = {.want = col_want,
                                 .sample = col_sample,
                                 .help = col_help,
                                 .type = col_type,
                                 .ctx = c};
    return h;
}

/* parse_exact: parses n bytes of s from a heap copy of exactly n bytes. */
static int parse_exact(const char *s, size_t n,
                       const struct promtext_handler *h,
                       struct promtext_error *err)
{
    char *copy = xmalloc(n);
    memcpy(copy, s, n);
    int rc = promtext_parse(copy, n, h, err);
    free(copy);
    return rc;
}

static int parse_str(const char *s, struct collector *c,
                     struct promtext_error *err)
{
    struct promtext_handler h = col_handler(c);
    memset(c, 0, sizeof(*c));
    return parse_exact(s, strlen(s), &h, err);
}

/* same_double: equal, both NaN, and zeros of the same sign. */
static int same_double(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    return a == b && signbit(a) == signbit(b);
}

/* --- valid input --------------------------------------------------------- */

struct exp_label {
    const char *name;
    const char *value;
};

struct exp_sample {
    const char *name;
    struct exp_label labels[MAX_GOT_LABELS];
    double value;
    int has_ts;
    int64_t ts;
    size_t line;
};

static const struct {
    const char *in;
    size_t n;
    struct exp_sample s[3];
} valid[] = {
    {"foo 1\n", 1, {{"foo", {{0}}, 1, 0, 0, 1}}},
    {"foo 1", 1, {{"foo", {{0}}, 1, 0, 0, 1}}},
    {"foo{} 2\n", 1, {{"foo", {{0}}, 2, 0, 0, 1}}},
    {"foo{a=\"b\"} 3\n", 1, {{"foo", {{"a", "b"}}, 3, 0, 0, 1}}},
    {"foo{a=\"b\",} 3\n", 1, {{"foo", {{"a", "b"}}, 3, 0, 0, 1}}},
    {"foo{a=\"b\",c=\"d\"} 4",
     1,
     {{"foo", {{"a", "b"}, {"c", "d"}}, 4, 0, 0, 1}}},
    {"foo{a=\"x\\\\y\",b=\"q\\\"t\",c=\"l1\\nl2\"} 5\n",
     1,
     {{"foo", {{"a", "x\\y"}, {"b", "q\"t"}, {"c", "l1\nl2"}}, 5, 0, 0, 1}}},
    {"foo{a=\"\"} 1\n", 1, {{"foo", {{"a", ""}}, 1, 0, 0, 1}}},
    {"foo{a=\"}{,=#\\\\n\"} 1\n",
     1,
     {{"foo", {{"a", "}{,=#\\n"}}, 1, 0, 0, 1}}},
    {"foo{a=\"tab\there\"} 1\n",
     1,
     {{"foo", {{"a", "tab\there"}}, 1, 0, 0, 1}}},
    {"foo{a=\"h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9d\x84\x9e\"} 1\n",
     1,
     {{"foo",
       {{"a", "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9d\x84\x9e"}},
       1,
       0,
       0,
       1}}},
    /* values */
    {"a NaN\nb nan\nc NAN\n",
     3,
     {{"a", {{0}}, NAN, 0, 0, 1},
      {"b", {{0}}, NAN, 0, 0, 2},
      {"c", {{0}}, NAN, 0, 0, 3}}},
    {"a +Inf\nb -Inf\nc Inf\n",
     3,
     {{"a", {{0}}, INFINITY, 0, 0, 1},
      {"b", {{0}}, -INFINITY, 0, 0, 2},
      {"c", {{0}}, INFINITY, 0, 0, 3}}},
    {"a inf\nb -INF\nc +inf",
     3,
     {{"a", {{0}}, INFINITY, 0, 0, 1},
      {"b", {{0}}, -INFINITY, 0, 0, 2},
      {"c", {{0}}, INFINITY, 0, 0, 3}}},
    {"a 1.5e3\nb -2.5E-3\nc 1e+10\n",
     3,
     {{"a", {{0}}, 1.5e3, 0, 0, 1},
      {"b", {{0}}, -2.5e-3, 0, 0, 2},
      {"c", {{0}}, 1e10, 0, 0, 3}}},
    {"a .5\nb 5.\nc -0\n",
     3,
     {{"a", {{0}}, 0.5, 0, 0, 1},
      {"b", {{0}}, 5.0, 0, 0, 2},
      {"c", {{0}}, -0.0, 0, 0, 3}}},
    {"a 0.1\nb +3\nc 123456789012345678\n",
     3,
     {{"a", {{0}}, 0.1, 0, 0, 1},
      {"b", {{0}}, 3, 0, 0, 2},
      {"c", {{0}}, 123456789012345678.0, 0, 0, 3}}},
    {"a 123456789012345\nb 1e400\nc -1e400\n",
     3,
     {{"a", {{0}}, 123456789012345.0, 0, 0, 1},
      {"b", {{0}}, INFINITY, 0, 0, 2},
      {"c", {{0}}, -INFINITY, 0, 0, 3}}},
    {"a 00012\nb 1.7976931348623157e308\nc 4.9e-324\n",
     3,
     {{"a", {{0}}, 12, 0, 0, 1},
      {"b", {{0}}, 1.7976931348623157e308, 0, 0, 2},
      {"c", {{0}}, 4.9e-324, 0, 0, 3}}},
    /* timestamps */
    {"a 1 1700000000000\nb 2 -5\nc 3 +7\n",
     3,
     {{"a", {{0}}, 1, 1, 1700000000000LL, 1},
      {"b", {{0}}, 2, 1, -5, 2},
      {"c", {{0}}, 3, 1, 7, 3}}},
    {"a 1 9223372036854775807\nb 2 -9223372036854775808\nc{x=\"y\"} 3 0",
     3,
     {{"a", {{0}}, 1, 1, INT64_MAX, 1},
      {"b", {{0}}, 2, 1, INT64_MIN, 2},
      {"c", {{"x", "y"}}, 3, 1, 0, 3}}},
    /* blanks */
    {"  foo \t{ a = \"b\" ,\tc=\"d\" , }\t 1 \t 123 \t\n",
     1,
     {{"foo", {{"a", "b"}, {"c", "d"}}, 1, 1, 123, 1}}},
    {"foo\t2\t\nbar   3  \n",
     2,
     {{"foo", {{0}}, 2, 0, 0, 1}, {"bar", {{0}}, 3, 0, 0, 2}}},
    /* names */
    {"ns:sub_name:rate5m 1\n_foo{_l1=\"v\"} 2\n:x{L_2=\"w\"} 3\n",
     3,
     {{"ns:sub_name:rate5m", {{0}}, 1, 0, 0, 1},
      {"_foo", {{"_l1", "v"}}, 2, 0, 0, 2},
      {":x", {{"L_2", "w"}}, 3, 0, 0, 3}}},
    /* comments, blank lines, line numbers */
    {"# just a comment\n\n   \n#\n# HELP foo some help\n# TYPE foo gauge\n"
     "foo 1\n# EOF\n\t# indented comment\n",
     1,
     {{"foo", {{0}}, 1, 0, 0, 7}}},
    {"a 1\n\nb 2\n# TYPE c untyped\nc 3\n",
     3,
     {{"a", {{0}}, 1, 0, 0, 1},
      {"b", {{0}}, 2, 0, 0, 3},
      {"c", {{0}}, 3, 0, 0, 5}}},
    {"#HELP foo\n#  TYPE  foo  summary  \n# HELP foo \\\\ \\n\n# random \\x "
     "\"\n",
     0,
     {{0}}},
    {"", 0, {{0}}},
    {"\n\n\n", 0, {{0}}},
};

START_TEST(valid_table)
{
    struct collector c;
    struct promtext_error err;
    int rc = parse_str(valid[_i].in, &c, &err);
    ck_assert_msg(rc == 0, "case %d: rc %d line %zu: %s", _i, rc, err.line,
                  err.msg ? err.msg : "");
    ck_assert_ptr_null(err.msg);
    ck_assert_uint_eq(c.n, valid[_i].n);
    ck_assert_uint_eq(err.samples, valid[_i].n);
    ck_assert_uint_eq(err.passed, valid[_i].n);
    for (size_t k = 0; k < c.n; k++) {
        const struct exp_sample *e = &valid[_i].s[k];
        const struct got_sample *g = &c.s[k];
        size_t nl = 0;
        ck_assert_str_eq(g->name, e->name);
        while (nl < MAX_GOT_LABELS && e->labels[nl].name)
            nl++;
        ck_assert_uint_eq(g->nlabels, nl);
        for (size_t i = 0; i < nl; i++) {
            ck_assert_str_eq(g->labels[i].name, e->labels[i].name);
            ck_assert_str_eq(g->labels[i].value, e->labels[i].value);
            ck_assert_uint_eq(g->labels[i].value_len,
                              strlen(e->labels[i].value));
        }
        ck_assert_msg(same_double(g->value, e->value),
                      "case %d sample %zu: value %.17g, want %.17g", _i, k,
                      g->value, e->value);
        ck_assert_int_eq(g->has_ts, e->has_ts);
        ck_assert_int_eq(g->ts, e->ts);
        ck_assert_uint_eq(g->line, e->line);
    }
}
END_TEST

START_TEST(help_and_type)
{
    struct collector c;
    struct promtext_error err;
    const char *in = "# HELP a Plain help.\n"
                     "# HELP b  back\\\\slash and\\nnewline \"quoted\" \n"
                     "# HELP c\n"
                     "#HELP d h\xc3\xa9\n"
                     "# TYPE a counter\n# TYPE b gauge\n# TYPE c histogram\n"
                     "# TYPE d summary\n# TYPE e untyped\n";
    ck_assert_int_eq(parse_str(in, &c, &err), 0);
    ck_assert_uint_eq(c.nhelp, 4);
    ck_assert_str_eq(c.help[0], "Plain help.");
    ck_assert_str_eq(c.help[1], "back\\slash and\nnewline \"quoted\" ");
    ck_assert_str_eq(c.help[2], "");
    ck_assert_uint_eq(c.help_len[2], 0);
    ck_assert_str_eq(c.help[3], "h\xc3\xa9");
    ck_assert_uint_eq(c.ntypes, 4);
    ck_assert_int_eq(c.types[0], PROMTEXT_COUNTER);
    ck_assert_int_eq(c.types[1], PROMTEXT_GAUGE);
    ck_assert_int_eq(c.types[2], PROMTEXT_HISTOGRAM);
    ck_assert_int_eq(c.types[3], PROMTEXT_SUMMARY);
    ck_assert_uint_eq(err.samples, 0);
    ck_assert_str_eq(promtext_type_name(PROMTEXT_COUNTER), "counter");
    ck_assert_str_eq(promtext_type_name(PROMTEXT_UNTYPED), "untyped");
    ck_assert_str_eq(promtext_type_name((enum promtext_type)99), "untyped");
}
END_TEST

/* --- invalid input ------------------------------------------------------- */

static const struct {
    const char *in;
    size_t len; /* 0: strlen(in) */
    size_t line;
    size_t column; /* 0: not checked */
    const char *msg;
} invalid[] = {
    {"foo{a=\"b} 1\n", 0, 1, 12, "unterminated label value"},
    {"foo{a=\"b\\x\"} 1\n", 0, 1, 9, "invalid escape in label value"},
    {"foo{a=\"b\\\"} 1", 0, 1, 0, "unterminated label value"},
    {"foo{a=\"b\\", 0, 1, 0, "invalid escape in label value"},
    {"foo{a=\"b\"}\n", 0, 1, 11, "missing value"},
    {"foo\n", 0, 1, 4, "missing value"},
    {"foo \t\n", 0, 1, 0, "missing value"},
    {"foo abc\n", 0, 1, 5, "invalid value"},
    {"foo 1x\n", 0, 1, 5, "invalid value"},
    {"foo 0x1p3\n", 0, 1, 0, "invalid value"},
    {"foo 0x10\n", 0, 1, 0, "invalid value"},
    {"foo infinity\n", 0, 1, 0, "invalid value"},
    {"foo -Infinity\n", 0, 1, 0, "invalid value"},
    {"foo +NaN\n", 0, 1, 0, "invalid value"},
    {"foo -nan\n", 0, 1, 0, "invalid value"},
    {"foo 1e\n", 0, 1, 0, "invalid value"},
    {"foo 1e+\n", 0, 1, 0, "invalid value"},
    {"foo .\n", 0, 1, 0, "invalid value"},
    {"foo +\n", 0, 1, 0, "invalid value"},
    {"foo -\n", 0, 1, 0, "invalid value"},
    {"foo 1.2.3\n", 0, 1, 0, "invalid value"},
    {"foo 1_000\n", 0, 1, 0, "invalid value"},
    {"foo 1,5\n", 0, 1, 0, "invalid value"},
    {"foo \"1\"\n", 0, 1, 0, "invalid value"},
    {"foo 1\r\n", 0, 1, 5, "invalid value"},
    {"foo 1 abc\n", 0, 1, 7, "invalid timestamp"},
    {"foo 1 1.5\n", 0, 1, 0, "invalid timestamp"},
    {"foo 1 -\n", 0, 1, 0, "invalid timestamp"},
    {"foo 1 1e3\n", 0, 1, 0, "invalid timestamp"},
    {"foo 1 9223372036854775808\n", 0, 1, 0, "timestamp out of range"},
    {"foo 1 -9223372036854775809\n", 0, 1, 0, "timestamp out of range"},
    {"foo 1 99999999999999999999999\n", 0, 1, 0, "timestamp out of range"},
    {"foo 1 2 3\n", 0, 1, 9, "unexpected text after timestamp"},
    {"foo 1\nbar\0 2\n", 13, 2, 4, "NUL byte"},
    {"foo 1\nbar 2\n# co\0mment\n", 23, 3, 5, "NUL byte"},
    {"foo{a=\"\0\"} 1\n", 13, 1, 0, "NUL byte"},
    {"\0", 1, 1, 1, "NUL byte"},
    {"foo{a=\"b\"", 0, 1, 0, "unterminated label set"},
    {"foo{a=\"b\",", 0, 1, 0, "unterminated label set"},
    {"foo{a=\"b", 0, 1, 0, "unterminated label value"},
    {"foo{", 0, 1, 0, "unterminated label set"},
    {"foo{a", 0, 1, 0, "expected '=' after label name"},
    {"foo{a=", 0, 1, 0, "expected '\"' to open label value"},
    {"foo{a=b} 1\n", 0, 1, 7, "expected '\"' to open label value"},
    {"foo{a=\"b\"c=\"d\"} 1\n", 0, 1, 10, "expected ',' or '}'"},
    {"foo{a=\"b\";c=\"d\"} 1\n", 0, 1, 0, "expected ',' or '}'"},
    {"foo{,} 1\n", 0, 1, 5, "invalid label name"},
    {"foo{a=\"b\",,} 1\n", 0, 1, 0, "invalid label name"},
    {"foo{1a=\"b\"} 1\n", 0, 1, 0, "invalid label name"},
    {"foo{\"a\"=\"b\"} 1\n", 0, 1, 0, "invalid label name"},
    {"foo{a:b=\"c\"} 1\n", 0, 1, 0, "expected '=' after label name"},
    {"foo{a-b=\"c\"} 1\n", 0, 1, 0, "expected '=' after label name"},
    {"foo{a=\"1\",a=\"2\"} 1\n", 0, 1, 11, "duplicate label name"},
    {"foo{a=\"1\",b=\"2\",a=\"3\"} 1\n", 0, 1, 0, "duplicate label name"},
    {"foo{__name__=\"x\"} 1\n", 0, 1, 0, "reserved label name"},
    {"1foo 1\n", 0, 1, 1, "invalid metric name"},
    {"foo-bar 1\n", 0, 1, 4, "invalid character in metric name"},
    {"foo.bar 1\n", 0, 1, 0, "invalid character in metric name"},
    {"f\xc3\xa9 1\n", 0, 1, 0, "invalid character in metric name"},
    {"{a=\"b\"} 1\n", 0, 1, 1, "invalid metric name"},
    {"foo{a=\"b\"}1\n", 0, 1, 11, "expected blank before value"},
    {"foo{} {} 1\n", 0, 1, 0, "invalid value"},
    {"foo{a=\"\xff\"} 1\n", 0, 1, 8, "invalid UTF-8 in label value"},
    {"foo{a=\"\xc0\xaf\"} 1\n", 0, 1, 0, "invalid UTF-8 in label value"},
    {"foo{a=\"\xed\xa0\x80\"} 1\n", 0, 1, 0, "invalid UTF-8 in label value"},
    {"foo{a=\"\xe2\x9c\"} 1\n", 0, 1, 0, "invalid UTF-8 in label value"},
    {"foo{a=\"\xf4\x90\x80\x80\"} 1\n", 0, 1, 0, "invalid UTF-8"},
    {"foo{a=\"\xe2\x9c", 0, 1, 0, "invalid UTF-8 in label value"},
    {"# HELP\n", 0, 1, 7, "missing metric name"},
    {"# TYPE   \n", 0, 1, 0, "missing metric name"},
    {"# HELP 1foo x\n", 0, 1, 8, "invalid metric name"},
    {"# HELP foo-bar x\n", 0, 1, 11, "invalid character in metric name"},
    {"# HELP foo bad \\x escape\n", 0, 1, 16, "invalid escape in help text"},
    {"# HELP foo ends with \\", 0, 1, 0, "invalid escape in help text"},
    {"# HELP foo \\\"q\\\"\n", 0, 1, 0, "invalid escape in help text"},
    {"# HELP foo \xff\n", 0, 1, 0, "invalid UTF-8 in help text"},
    {"# TYPE foo\n", 0, 1, 0, "missing metric type"},
    {"# TYPE foo \n", 0, 1, 0, "missing metric type"},
    {"# TYPE foo Counter\n", 0, 1, 12, "unknown metric type"},
    {"# TYPE foo gaugex\n", 0, 1, 0, "unknown metric type"},
    {"# TYPE foo counter extra\n", 0, 1, 20, "unexpected text after"},
    {"# TYPE foo{a=\"b\"} counter\n", 0, 1, 11,
     "invalid character in metric name"},
    {"a 1\nb 2\nc{ 3\n", 0, 3, 0, "invalid label name"},
    {"a 1\n\n\n# TYPE a counter\nb 2\nc\n", 0, 6, 0, "missing value"},
    {"a 1\nb 2\nc 3\nd{x=\"y\"", 0, 4, 0, "unterminated label set"},
    {"a 1\nb 2\nc 3\nd", 0, 4, 2, "missing value"},
};

static void check_invalid(int i, const struct promtext_handler *h)
{
    struct promtext_error err;
    size_t len = invalid[i].len ? invalid[i].len : strlen(invalid[i].in);
    int rc = parse_exact(invalid[i].in, len, h, &err);
    ck_assert_msg(rc == -EINVAL, "case %d: rc %d", i, rc);
    ck_assert_ptr_nonnull(err.msg);
    ck_assert_msg(err.line == invalid[i].line, "case %d: line %zu want %zu", i,
                  err.line, invalid[i].line);
    ck_assert_msg(strstr(err.msg, invalid[i].msg) != NULL,
                  "case %d: msg \"%s\" want \"%s\"", i, err.msg,
                  invalid[i].msg);
    if (invalid[i].column)
        ck_assert_msg(err.column == invalid[i].column,
                      "case %d: column %zu want %zu", i, err.column,
                      invalid[i].column);
    ck_assert_uint_ge(err.column, 1);
    /* Invalid lines are never handed out; earlier valid ones may be. */
    ck_assert_uint_le(err.samples, invalid[i].line - 1);
}

START_TEST(invalid_table)
{
    struct collector c;
    struct promtext_handler h = col_handler(&c);
    /* The verdict must not depend on the handler or the want filter. */
    check_invalid(_i, NULL);
    memset(&c, 0, sizeof(c));
    check_invalid(_i, &h);
    memset(&c, 0, sizeof(c));
    c.refuse_all = 1;
    check_invalid(_i, &h);
    ck_assert_uint_eq(c.n, 0);
}
END_TEST

/* --- filter, stop, helpers ----------------------------------------------- */

START_TEST(want_filter)
{
    struct collector c;
    struct promtext_error err;
    struct promtext_handler h = col_handler(&c);
    const char *in = "# HELP a help of a\n# TYPE a gauge\n"
                     "# HELP b help of b\n# TYPE b counter\n"
                     "a{x=\"1\\\\\"} 1\nb{x=\"2\\n\"} 2\nc 3\n"
                     "b{x=\"4\",y=\"5\"} 4 99\n";
    memset(&c, 0, sizeof(c));
    c.only = "b";
    ck_assert_int_eq(parse_exact(in, strlen(in), &h, &err), 0);
    ck_assert_uint_eq(c.n, 2);
    ck_assert_uint_eq(err.samples, 4);
    ck_assert_uint_eq(err.passed, 2);
    ck_assert_str_eq(c.s[0].name, "b");
    ck_assert_str_eq(c.s[0].labels[0].value, "2\n");
    ck_assert_uint_eq(c.s[0].line, 6);
    ck_assert_uint_eq(c.s[1].nlabels, 2);
    ck_assert_str_eq(c.s[1].labels[1].name, "y");
    ck_assert_int_eq(c.s[1].ts, 99);
    ck_assert_uint_eq(c.nhelp, 1);
    ck_assert_str_eq(c.help[0], "help of b");
    ck_assert_uint_eq(c.ntypes, 1);
    ck_assert_int_eq(c.types[0], PROMTEXT_COUNTER);
    /* want() runs once per sample, HELP and TYPE line. */
    ck_assert_uint_eq(c.want_calls, 8);

    /* Only a sample callback: want() runs for samples only. */
    struct promtext_handler hs = {
        .want = col_want, .sample = col_sample, .ctx = &c};
    memset(&c, 0, sizeof(c));
    ck_assert_int_eq(parse_exact(in, strlen(in), &hs, &err), 0);
    ck_assert_uint_eq(c.want_calls, 4);
    ck_assert_uint_eq(c.n, 4);

    /* No handler at all: a validator that still counts. */
    ck_assert_int_eq(parse_exact(in, strlen(in), NULL, &err), 0);
    ck_assert_uint_eq(err.samples, 4);
    ck_assert_uint_eq(err.passed, 0);
    ck_assert_int_eq(parse_exact(in, strlen(in), NULL, NULL), 0);
}
END_TEST

/* skip_unwanted: lines that reach no callback are skipped unvalidated;
 * wanted ones are validated as before. */
START_TEST(skip_unwanted)
{
    struct collector c;
    struct promtext_error err;
    struct promtext_handler h = {
        .want = col_want, .sample = col_sample, .ctx = &c, .skip_unwanted = 1};
    const char *in = "# HELP b \xff not UTF-8\n# TYPE b nonsense\n"
                     "a{x=\"\\q\"} NaNa\n"
                     "b{x=\"2\"} 2\n"
                     "{{{ garbage\n"
                     "b 3 44\n";
    memset(&c, 0, sizeof(c));
    c.only = "b";
    ck_assert_int_eq(parse_exact(in, strlen(in), &h, &err), 0);
    ck_assert_uint_eq(c.n, 2);
    ck_assert_uint_eq(err.samples, 2); /* the validated ones */
    ck_assert_uint_eq(err.passed, 2);
    ck_assert_uint_eq(c.s[0].line, 4);
    ck_assert_int_eq(c.s[1].ts, 44);
    ck_assert_uint_eq(c.want_calls, 3); /* a, b, b: not the garbage line */

    /* Without skip_unwanted the same text is invalid at line 1. */
    h.skip_unwanted = 0;
    memset(&c, 0, sizeof(c));
    c.only = "b";
    ck_assert_int_eq(parse_exact(in, strlen(in), &h, &err), -EINVAL);
    ck_assert_uint_eq(err.line, 1);

    /* A wanted line with garbage still fails, on its own line. */
    const char *bad = "a{ 1\nb{x=\"2\" 2\n";
    h.skip_unwanted = 1;
    memset(&c, 0, sizeof(c));
    c.only = "b";
    ck_assert_int_eq(parse_exact(bad, strlen(bad), &h, &err), -EINVAL);
    ck_assert_uint_eq(err.line, 2);
    ck_assert_ptr_nonnull(err.msg);

    /* With a help callback, HELP lines are parsed (and validated). */
    struct promtext_handler hh = col_handler(&c);
    hh.skip_unwanted = 1;
    memset(&c, 0, sizeof(c));
    c.only = "b";
    ck_assert_int_eq(parse_exact(in, strlen(in), &hh, &err), -EINVAL);
    ck_assert_uint_eq(err.line, 1);

    /* Length and NUL bytes are still checked on skipped lines. */
    const char nul[] = "a 1\0\nb 2\n";
    h.skip_unwanted = 1;
    memset(&c, 0, sizeof(c));
    c.only = "b";
    ck_assert_int_eq(parse_exact(nul, sizeof(nul) - 1, &h, &err), -EINVAL);
    ck_assert_uint_eq(err.line, 1);
}
END_TEST

static int stop_on_help(const char *name, size_t name_len, const char *text,
                        size_t text_len, void *ctx)
{
    return 1;
}

START_TEST(callback_stops)
{
    struct collector c;
    struct promtext_error err;
    struct promtext_handler h = col_handler(&c);
    const char *in = "a 1\nb 2\nc 3\nd{\n";
    memset(&c, 0, sizeof(c));
    c.stop_after = 2;
    ck_assert_int_eq(parse_exact(in, strlen(in), &h, &err), PROMTEXT_STOPPED);
    ck_assert_uint_eq(c.n, 2);
    ck_assert_uint_eq(err.line, 2);
    ck_assert_ptr_null(err.msg);
    ck_assert_uint_eq(err.passed, 2);

    struct promtext_handler hh = {.help = stop_on_help};
    const char *in2 = "a 1\n# HELP a x\nb{\n";
    ck_assert_int_eq(parse_exact(in2, strlen(in2), &hh, &err),
                     PROMTEXT_STOPPED);
    ck_assert_uint_eq(err.line, 2);
}
END_TEST

static int find_labels(const struct promtext_sample *s, void *ctx)
{
    int *seen = ctx;
    const struct promtext_label *l;
    l = promtext_label_find(s->labels, s->nlabels, "replica");
    ck_assert_ptr_nonnull(l);
    ck_assert_str_eq(l->value, "node2");
    l = promtext_label_find(s->labels, s->nlabels, "zone");
    ck_assert_ptr_nonnull(l);
    ck_assert_str_eq(l->value, "a\"b");
    ck_assert_ptr_null(promtext_label_find(s->labels, s->nlabels, "rep"));
    ck_assert_ptr_null(promtext_label_find(s->labels, s->nlabels, ""));
    ck_assert_ptr_null(promtext_label_find(s->labels, 0, "replica"));
    (*seen)++;
    return 0;
}

START_TEST(helpers)
{
    int seen = 0;
    struct promtext_handler h = {.sample = find_labels, .ctx = &seen};
    const char *in = "lag{replica=\"node2\",zone=\"a\\\"b\"} 0.5\n";
    ck_assert_int_eq(parse_exact(in, strlen(in), &h, NULL), 0);
    ck_assert_int_eq(seen, 1);
    ck_assert_int_eq(promtext_streq("abc", 3, "abc"), 1);
    ck_assert_int_eq(promtext_streq("abcd", 3, "abc"), 1);
    ck_assert_int_eq(promtext_streq("abc", 2, "abc"), 0);
    ck_assert_int_eq(promtext_streq("abc", 3, "ab"), 0);
    ck_assert_int_eq(promtext_streq("", 0, ""), 1);
    ck_assert_int_eq(promtext_parse(NULL, 0, NULL, NULL), 0);
    struct promtext_error err;
    ck_assert_int_eq(promtext_parse(NULL, 5, NULL, &err), -EINVAL);
    ck_assert_ptr_nonnull(err.msg);
}
END_TEST

/* --- limits -------------------------------------------------------------- */

static int count_labels(const struct promtext_sample *s, void *ctx)
{
    size_t *n = ctx;
    *n = s->nlabels;
    ck_assert_str_eq(s->labels[s->nlabels - 1].value, "v");
    return 0;
}

static void labels_line(struct buf *b, int n)
{
    buf_reset(b);
    buf_puts(b, "m{");
    for (int i = 0; i < n; i++)
        buf_printf(b, "l%d=\"v\",", i);
    buf_puts(b, "} 1\n");
}

START_TEST(label_cap)
{
    struct buf b;
    size_t n = 0;
    struct promtext_error err;
    struct promtext_handler h = {.sample = count_labels, .ctx = &n};
    buf_init(&b, 0);
    labels_line(&b, PROMTEXT_MAX_LABELS);
    ck_assert_int_eq(parse_exact(b.data, b.len, &h, &err), 0);
    ck_assert_uint_eq(n, PROMTEXT_MAX_LABELS);
    labels_line(&b, PROMTEXT_MAX_LABELS + 1);
    ck_assert_int_eq(parse_exact(b.data, b.len, &h, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "too many labels");
    ck_assert_uint_eq(err.line, 1);
    buf_free(&b);
}
END_TEST

static int check_long_value(const struct promtext_sample *s, void *ctx)
{
    size_t *len = ctx;
    const struct promtext_label *l = &s->labels[0];
    *len = l->value_len;
    for (size_t i = 0; i < l->value_len; i++)
        ck_assert(l->value[i] == (i % 2 ? '\n' : '\\'));
    ck_assert(l->value[l->value_len] == '\0');
    return 0;
}

START_TEST(line_limit)
{
    struct buf b;
    struct promtext_error err;
    size_t vlen = 0;
    struct promtext_handler h = {.sample = check_long_value, .ctx = &vlen};
    buf_init(&b, 0);

    /* A comment of exactly the limit passes, one byte more does not. */
    buf_puts(&b, "a 1\n#");
    while (b.len < 4 + PROMTEXT_MAX_LINE)
        buf_puts(&b, "x");
    buf_puts(&b, "\nb 2\n");
    ck_assert_int_eq(parse_exact(b.data, b.len, NULL, &err), 0);
    ck_assert_uint_eq(err.samples, 2);
    buf_reset(&b);
    buf_puts(&b, "a 1\n#");
    while (b.len < 4 + PROMTEXT_MAX_LINE + 1)
        buf_puts(&b, "x");
    buf_puts(&b, "\nb 2\n");
    ck_assert_int_eq(parse_exact(b.data, b.len, NULL, &err), -EINVAL);
    ck_assert_uint_eq(err.line, 2);
    ck_assert_str_eq(err.msg, "line too long");
    /* Also without any newline after it. */
    ck_assert_int_eq(parse_exact(b.data, b.len - 5, NULL, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "line too long");

    /* A wanted label value that fills the whole line, all escapes. */
    buf_reset(&b);
    buf_puts(&b, "m{a=\"");
    while (b.len < PROMTEXT_MAX_LINE - 8)
        buf_puts(&b, "\\\\\\n");
    size_t escapes = (b.len - 5) / 4;
    buf_puts(&b, "\"} 1\n");
    ck_assert_uint_le(b.len, PROMTEXT_MAX_LINE + 1);
    ck_assert_uint_ge(b.len, PROMTEXT_MAX_LINE - 4);
    ck_assert_int_eq(parse_exact(b.data, b.len, &h, &err), 0);
    ck_assert_uint_eq(vlen, escapes * 2);
    buf_free(&b);
}
END_TEST

START_TEST(value_limit)
{
    struct buf b;
    struct promtext_error err;
    buf_init(&b, 0);
    buf_puts(&b, "m ");
    while (b.len < 2 + PROMTEXT_MAX_VALUE)
        buf_puts(&b, "1");
    ck_assert_int_eq(parse_exact(b.data, b.len, NULL, &err), 0);
    buf_puts(&b, "1");
    ck_assert_int_eq(parse_exact(b.data, b.len, NULL, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "value too long");
    buf_free(&b);
}
END_TEST

/* --- a real node body ---------------------------------------------------- */

static const char node_body[] =
    "# HELP stemedb_assertions_indexed_total Assertions applied by this "
    "node.\n"
    "# TYPE stemedb_assertions_indexed_total counter\n"
    "stemedb_assertions_indexed_total 12345\n"
    "# HELP stemedb_replication_lag_seconds Replication lag per replica.\n"
    "# TYPE stemedb_replication_lag_seconds gauge\n"
    "stemedb_replication_lag_seconds{replica=\"node2\"} 0.02\n"
    "stemedb_replication_lag_seconds{replica=\"node3\"} 1.5e-01\n"
    "# HELP stemedb_replication_connected 1 while the stream is up.\n"
    "# TYPE stemedb_replication_connected gauge\n"
    "stemedb_replication_connected 1\n"
    "# HELP stemedb_heartbeat_timestamp_seconds Last heartbeat applied.\n"
    "# TYPE stemedb_heartbeat_timestamp_seconds gauge\n"
    "stemedb_heartbeat_timestamp_seconds 1.76376960025e+09\n"
    "# HELP stemedb_node_role The node's role.\n"
    "# TYPE stemedb_node_role gauge\n"
    "stemedb_node_role{role=\"primary\"} 1\n"
    "# HELP stemedb_rate_limit_assertions_per_second Ingest limit, 0 = "
    "none.\n"
    "# TYPE stemedb_rate_limit_assertions_per_second gauge\n"
    "stemedb_rate_limit_assertions_per_second 0\n"
    "# HELP stemedb_merkle_sync_errors_total Merkle sync errors.\n"
    "# TYPE stemedb_merkle_sync_errors_total counter\n"
    "stemedb_merkle_sync_errors_total 0\n"
    "# HELP stemedb_merkle_sync_duration_seconds Merkle sync duration.\n"
    "# TYPE stemedb_merkle_sync_duration_seconds histogram\n"
    "stemedb_merkle_sync_duration_seconds_bucket{le=\"0.1\"} 3\n"
    "stemedb_merkle_sync_duration_seconds_bucket{le=\"1\"} 5\n"
    "stemedb_merkle_sync_duration_seconds_bucket{le=\"+Inf\"} 6\n"
    "stemedb_merkle_sync_duration_seconds_sum 4.25\n"
    "stemedb_merkle_sync_duration_seconds_count 6\n"
    "# HELP stemedb_merkle_sync_progress Progress of the running sync.\n"
    "# TYPE stemedb_merkle_sync_progress gauge\n"
    "stemedb_merkle_sync_progress NaN\n"
    "# HELP stemedb_admin_requests_total Admin API calls by endpoint.\n"
    "# TYPE stemedb_admin_requests_total counter\n"
    "stemedb_admin_requests_total{endpoint=\"heartbeat\"} 7\n"
    "stemedb_admin_requests_total{endpoint=\"merkle\"} 2\n"
    "stemedb_admin_requests_total{endpoint=\"rate-limit\"} 0\n"
    "stemedb_admin_requests_total{endpoint=\"sync\"} 1\n"
    "stemedb_admin_requests_total{endpoint=\"demote\"} 0\n"
    "stemedb_network_bytes_sent_total 9.8304e+06 1763769600250\n";

/* What a poller takes from a node: the handful of series it uses. */
struct node_view {
    double position;
    double lag_node2;
    double lag_node3;
    double connected;
    double heartbeats;
    int primary;
    size_t types;
};

static int node_want(const char *name, size_t len, void *ctx)
{
    return promtext_streq(name, len, "stemedb_assertions_indexed_total") ||
           promtext_streq(name, len, "stemedb_replication_lag_seconds") ||
           promtext_streq(name, len, "stemedb_replication_connected") ||
           promtext_streq(name, len, "stemedb_node_role") ||
           promtext_streq(name, len, "stemedb_admin_requests_total");
}

static int node_sample(const struct promtext_sample *s, void *ctx)
{
    struct node_view *v = ctx;
    const struct promtext_label *l;
    if (promtext_streq(s->name, s->name_len,
                       "stemedb_assertions_indexed_total")) {
        v->position = s->value;
    } else if (promtext_streq(s->name, s->name_len,
                              "stemedb_replication_lag_seconds")) {
        l = promtext_label_find(s->labels, s->nlabels, "replica");
        ck_assert_ptr_nonnull(l);
        if (strcmp(l->value, "node2") == 0)
            v->lag_node2 = s->value;
        else
            v->lag_node3 = s->value;
    } else if (promtext_streq(s->name, s->name_len,
                              "stemedb_replication_connected")) {
        v->connected = s->value;
    } else if (promtext_streq(s->name, s->name_len, "stemedb_node_role")) {
        l = promtext_label_find(s->labels, s->nlabels, "role");
        v->primary = l && strcmp(l->value, "primary") == 0 && s->value == 1;
    } else {
        l = promtext_label_find(s->labels, s->nlabels, "endpoint");
        ck_assert_ptr_nonnull(l);
        if (strcmp(l->value, "heartbeat") == 0)
            v->heartbeats = s->value;
    }
    return 0;
}

static int node_type(const char *name, size_t len, enum promtext_type t,
                     void *ctx)
{
    struct node_view *v = ctx;
    v->types++;
    return 0;
}

static size_t count_lines(const char *s, size_t n)
{
    size_t lines = 0;
    for (size_t i = 0; i < n; i++)
        lines += s[i] == '\n';
    return lines;
}

START_TEST(node_metrics_body)
{
    struct node_view v = {0};
    struct promtext_error err;
    struct promtext_handler h = {
        .want = node_want, .sample = node_sample, .type = node_type, .ctx = &v};
    size_t n = sizeof(node_body) - 1;
    ck_assert_uint_eq(count_lines(node_body, n), 40);
    ck_assert_int_eq(parse_exact(node_body, n, &h, &err), 0);
    ck_assert_uint_eq(err.samples, 20);
    ck_assert_uint_eq(err.passed, 10);
    ck_assert_double_eq(v.position, 12345);
    ck_assert_double_eq(v.lag_node2, 0.02);
    ck_assert_double_eq(v.lag_node3, 0.15);
    ck_assert_double_eq(v.connected, 1);
    ck_assert_double_eq(v.heartbeats, 7);
    ck_assert_int_eq(v.primary, 1);
    ck_assert_uint_eq(v.types, 5);

    /* Everything, unfiltered. */
    struct collector c;
    ck_assert_int_eq(parse_str(node_body, &c, &err), 0);
    ck_assert_uint_eq(c.n, 20);
    ck_assert_str_eq(c.s[10].labels[0].value, "+Inf");
    ck_assert(isnan(c.s[13].value));
    ck_assert_double_eq(c.s[19].value, 9830400);
    ck_assert_int_eq(c.s[19].ts, 1763769600250LL);
    ck_assert_uint_eq(c.s[19].line, 40);
}
END_TEST

/* Every prefix of a valid body either parses or fails on its last,
 * cut line; never anywhere else, and never out of bounds. */
START_TEST(node_body_prefixes)
{
    size_t n = sizeof(node_body) - 1;
    struct collector c;
    struct promtext_handler h = col_handler(&c);
    for (size_t k = 0; k <= n; k++) {
        struct promtext_error err;
        memset(&c, 0, sizeof(c));
        int rc = parse_exact(node_body, k, &h, &err);
        size_t complete = count_lines(node_body, k);
        if (k == 0 || node_body[k - 1] == '\n') {
            ck_assert_msg(rc == 0, "prefix %zu: %s", k, err.msg);
        } else if (rc != 0) {
            ck_assert_int_eq(rc, -EINVAL);
            ck_assert_uint_eq(err.line, complete + 1);
        }
    }
}
END_TEST

static int sample_noop(const struct promtext_sample *s, void *ctx)
{
    for (size_t i = 0; i < s->nlabels; i++)
        ck_assert(s->labels[i].value[s->labels[i].value_len] == '\0');
    return 0;
}

static int want_even(const char *name, size_t len, void *ctx)
{
    return len % 2 == 0;
}

/* Random corruptions of a valid body: no crash, no out-of-bounds read,
 * and the same verdict whatever the handler. */
START_TEST(mutations)
{
    static const char alphabet[] = "\"\\{}=, \t\n#\0xn.e+-:_9\x80\xc3\xff";
    size_t n = sizeof(node_body) - 1;
    uint64_t rng = 42;
    char *copy = xmalloc(n);
    struct promtext_handler all = {.sample = sample_noop};
    struct promtext_handler some = {.want = want_even, .sample = sample_noop};
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(copy, node_body, n);
        int edits = 1 + (int)(rng_next(&rng) % 4);
        for (int e = 0; e < edits; e++) {
            size_t at = rng_next(&rng) % n;
            copy[at] = alphabet[rng_next(&rng) % (sizeof(alphabet) - 1)];
        }
        size_t len = n - rng_next(&rng) % 64;
        struct promtext_error e1, e2, e3;
        int r1 = promtext_parse(copy, len, &all, &e1);
        int r2 = promtext_parse(copy, len, &some, &e2);
        int r3 = promtext_parse(copy, len, NULL, &e3);
        /* skipping: never stricter, never a different verdict on what
         * it reads */
        struct promtext_handler lazy = some;
        lazy.skip_unwanted = 1;
        struct promtext_error e4;
        int r4 = promtext_parse(copy, len, &lazy, &e4);
        if (r2 == 0)
            ck_assert(r4 == 0 && e4.passed == e2.passed);
        if (r4 != 0)
            ck_assert(r2 != 0 && e2.line <= e4.line);
        ck_assert_int_eq(r1, r2);
        ck_assert_int_eq(r1, r3);
        ck_assert_uint_eq(e1.line, e2.line);
        ck_assert_uint_eq(e1.line, e3.line);
        ck_assert_uint_eq(e1.samples, e3.samples);
        if (r1 != 0) {
            ck_assert_int_eq(r1, -EINVAL);
            ck_assert_str_eq(e1.msg, e3.msg);
            ck_assert_uint_ge(e1.line, 1);
        }
    }
    free(copy);
}
END_TEST

/* --- a huge body --------------------------------------------------------- */

struct sums {
    double total;
    size_t n;
    size_t with_ts;
};

static int sum_sample(const struct promtext_sample *s, void *ctx)
{
    struct sums *sm = ctx;
    const struct promtext_label *l;
    l = promtext_label_find(s->labels, s->nlabels, "replica");
    ck_assert_ptr_nonnull(l);
    ck_assert_uint_eq(l->value_len, 5);
    sm->total += s->value;
    sm->n++;
    sm->with_ts += (size_t)s->has_timestamp;
    return 0;
}

static int want_lag(const char *name, size_t len, void *ctx)
{
    return promtext_streq(name, len, "node_lag_seconds");
}

START_TEST(huge_body)
{
    const size_t lines = 100000;
    struct buf b;
    struct sums sm = {0};
    struct promtext_error err;
    struct promtext_handler h = {
        .want = want_lag, .sample = sum_sample, .ctx = &sm};
    double want_total = 0;
    size_t want_n = 0;
    buf_init(&b, 0);
    for (size_t i = 0; i < lines; i++) {
        if (i % 1000 == 0)
            buf_printf(&b, "# HELP node_lag_seconds Lag, shard %zu.\n", i);
        else if (i % 1000 == 1)
            buf_puts(&b, "# TYPE node_lag_seconds gauge\n");
        else if (i % 3 == 0)
            buf_printf(&b, "other_total{shard=\"%zu\",path=\"a\\\\b\"} %zu\n",
                       i, i);
        else {
            buf_printf(&b,
                       "node_lag_seconds{shard=\"%zu\",replica=\"node%zu\"} "
                       "%zu.5 %zu\n",
                       i, i % 10, i, 1700000000000 + i);
            want_total += (double)i + 0.5;
            want_n++;
        }
    }
    ck_assert_uint_eq(count_lines(b.data, b.len), lines);
    ck_assert_int_eq(parse_exact(b.data, b.len, &h, &err), 0);
    ck_assert_uint_eq(sm.n, want_n);
    ck_assert_uint_eq(sm.with_ts, want_n);
    ck_assert_uint_eq(err.passed, want_n);
    ck_assert_uint_eq(err.samples, lines - 200);
    ck_assert_double_eq(sm.total, want_total);
    buf_free(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("promtext");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, valid_table, 0, (int)ARRAY_LEN(valid));
    tcase_add_test(tc, help_and_type);
    tcase_add_loop_test(tc, invalid_table, 0, (int)ARRAY_LEN(invalid));
    tcase_add_test(tc, want_filter);
    tcase_add_test(tc, skip_unwanted);
    tcase_add_test(tc, callback_stops);
    tcase_add_test(tc, helpers);
    tcase_add_test(tc, label_cap);
    tcase_add_test(tc, line_limit);
    tcase_add_test(tc, value_limit);
    tcase_add_test(tc, node_metrics_body);
    tcase_add_test(tc, node_body_prefixes);
    tcase_add_test(tc, mutations);
    tcase_add_test(tc, huge_body);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
