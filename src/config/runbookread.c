/* runbookread.c: the runbook's own readers (see runbook_internal.h):
 * runbook and label names, timeouts, conditions, templates and URLs.
 * The generic YAML layer is yamlread.c; the schema is in runbook.c. */
#include "config/runbook_internal.h"

#include "formats/expr.h"

#include <stdlib.h>
#include <string.h>

#define RUNBOOK_NAME_CHARS "abcdefghijklmnopqrstuvwxyz0123456789-"
#define HOST_CHARS                                                             \
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:[]"
#define MAX_TIMEOUT 3600.0

/* --- scalar readers --------------------------------------------------- */

bool rb_read_name(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    size_t n;

    if (!yr_want_scalar(c, v, "a name"))
        return false;
    n = strlen(yr_sval(v));
    if (n == 0 || n > RB_MAX_NAME ||
        strspn(yr_sval(v), RUNBOOK_NAME_CHARS) != n) {
        yr_err_at(c, v->start_mark,
                  "bad runbook name \"%.80s\" (1 to %d lowercase letters, "
                  "digits or '-')",
                  yr_sval(v), RB_MAX_NAME);
        return false;
    }
    *(char **)dst = xstrdup(yr_sval(v));
    return true;
}

bool rb_read_label_name(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    const char *s;
    size_t n;

    if (!yr_want_scalar(c, v, "a label name"))
        return false;
    s = yr_sval(v);
    n = strlen(s);
    if (n == 0 || n > RB_MAX_LABEL || strspn(s, RB_LABEL_CHARS) != n ||
        (s[0] >= '0' && s[0] <= '9')) {
        yr_err_at(c, v->start_mark,
                  "bad label name \"%.80s\" (letters, digits and '_', not "
                  "starting with a digit)",
                  s);
        return false;
    }
    *(char **)dst = xstrdup(s);
    return true;
}

bool rb_read_timeout(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    if (!yr_read_duration(c, v, dst))
        return false;
    if (*(double *)dst <= MAX_TIMEOUT)
        return true;
    yr_err_at(c, v->start_mark, "must be at most 1h, got \"%.80s\"",
              yr_sval(v));
    return false;
}

/* rb_read_condition: an error inside the condition points at its column
 * in the file when the scalar is written on one line without escapes;
 * else at the scalar, naming the column in the condition. */
bool rb_read_condition(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    struct expr_error err;
    struct expr *e;
    yaml_mark_t m;
    bool exact;

    if (!yr_want_scalar(c, v, "a condition"))
        return false;
    if (expr_parse(yr_sval(v), &e, &err) == 0) {
        *(struct expr **)dst = e;
        return true;
    }
    m = yr_inner_mark(c, v, (size_t)(err.column - 1), &exact);
    if (exact)
        yr_err_at(c, m, "%s", err.msg);
    else
        yr_err_at(c, m, "column %d of the condition: %s", err.column, err.msg);
    return false;
}

/* --- templates and URLs ----------------------------------------------- */

bool rb_check_template(struct yr_ctx *c, const yaml_node_t *v, const char *s)
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
        m = yr_inner_mark(c, v, start, &exact);
        ok = false;
        if (r == 2) {
            yr_err_at(c, m, "%s'{{' without a closing '}}'",
                      exact ? "" : "in the text: ");
            break;
        }
        yr_err_at(c, m,
                  "unknown placeholder '%.*s' (known: {{cluster}}, "
                  "{{target}}, {{alertname}}, {{label.NAME}})",
                  (int)(end - start < 80 ? end - start : 80), s + start);
    }
    return ok;
}

bool rb_read_template(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    if (!yr_read_string(c, v, dst))
        return false;
    if (rb_check_template(c, v, *(char **)dst))
        return true;
    free(*(char **)dst);
    *(char **)dst = NULL;
    return false;
}

/* check_host: what follows a URL's scheme: a host without placeholders,
 * then anything. Returns NULL or what is wrong. */
static const char *check_host(const char *host)
{
    size_t n;

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

bool rb_read_url(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    if (!yr_want_url(c, v, check_host))
        return false;
    return rb_read_template(c, v, dst);
}

bool rb_read_app(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    static const char ok[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
        "0123456789._-";
    if (!yr_want_scalar(c, v, "an app name"))
        return false;
    const char *s = yr_sval(v);
    size_t n = strlen(s);
    if (n == 0 || n > 64 || strspn(s, ok) != n) {
        yr_err_at(c, v->start_mark,
                  "bad app name \"%.80s\" (1 to 64 of A-Z, a-z, 0-9, '.', "
                  "'_', '-')",
                  s);
        return false;
    }
    *(char **)dst = xstrdup(s);
    return true;
}

bool rb_read_ratio(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    if (!yr_want_scalar(c, v, "a ratio"))
        return false;
    char *end;
    double r = strtod(yr_sval(v), &end);
    if (end == yr_sval(v) || *end || !(r > 0 && r <= 1)) {
        yr_err_at(c, v->start_mark,
                  "must be a number above 0 and at most 1, got \"%.80s\"",
                  yr_sval(v));
        return false;
    }
    *(double *)dst = r;
    return true;
}

bool rb_read_expires(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    if (!yr_read_duration(c, v, dst))
        return false;
    double d = *(double *)dst;
    if (d >= 1 && d <= 7 * 86400.0)
        return true;
    yr_err_at(c, v->start_mark, "must be from 1s to 7 days, got \"%.80s\"",
              yr_sval(v));
    return false;
}

bool rb_read_older_than(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    if (!yr_read_duration(c, v, dst))
        return false;
    double d = *(double *)dst;
    if (d >= 0.001 && d <= 86400.0)
        return true;
    yr_err_at(c, v->start_mark, "must be from 1ms to 1 day, got \"%.80s\"",
              yr_sval(v));
    return false;
}
