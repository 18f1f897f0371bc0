/* runbooktmpl.c: runbook templates ("http://x/{{cluster}}/{{target}}")
 * and alert labels: finding placeholders (for the loader's checks and
 * for rendering), rendering with escaping, and label lookups. Pure. */
#include "config/runbook_internal.h"

#include <errno.h>
#include <string.h>

#define LABEL_PREFIX    "label."
#define MAX_PLACEHOLDER (sizeof(LABEL_PREFIX) + RB_MAX_LABEL)
#define URL_SAFE                                                               \
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~"

/* known: cluster, target, alertname or label.NAME with a valid NAME. */
static bool known(const char *s, size_t n)
{
    static const char *const names[] = {"cluster", "target", "alertname"};
    size_t p = strlen(LABEL_PREFIX);

    for (size_t i = 0; i < ARRAY_LEN(names); i++) {
        if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0)
            return true;
    }
    if (n <= p || n - p > RB_MAX_LABEL || memcmp(s, LABEL_PREFIX, p) != 0)
        return false;
    if (s[p] >= '0' && s[p] <= '9')
        return false;
    for (size_t i = p; i < n; i++) {
        if (!s[i] || !strchr(RB_LABEL_CHARS, s[i]))
            return false;
    }
    return true;
}

int rb_placeholder(const char *s, size_t from, size_t *start, size_t *end,
                   size_t *name, size_t *name_len)
{
    const char *open = strstr(s + from, "{{"), *close;
    size_t a, b;

    if (!open)
        return -1;
    *start = (size_t)(open - s);
    close = strstr(open + 2, "}}");
    if (!close) {
        *end = strlen(s);
        *name = *start + 2;
        *name_len = 0;
        return 2;
    }
    *end = (size_t)(close - s) + 2;
    a = *start + 2;
    b = (size_t)(close - s);
    while (a < b && s[a] == ' ')
        a++;
    while (b > a && s[b - 1] == ' ')
        b--;
    *name = a;
    *name_len = b - a;
    return known(s + a, b - a) ? 0 : 1;
}

/* put_escaped: appends v escaped by esc; -1 at out's limit. */
static int put_escaped(struct buf *out, const char *v, enum runbook_escape esc)
{
    int rc = 0;

    if (esc == RUNBOOK_ESCAPE_NONE)
        return buf_puts(out, v);
    for (const unsigned char *p = (const unsigned char *)v; *p && rc == 0;
         p++) {
        if (esc == RUNBOOK_ESCAPE_URL && *p < 0x80 && strchr(URL_SAFE, *p))
            rc = buf_append(out, p, 1);
        else if (esc == RUNBOOK_ESCAPE_URL)
            rc = buf_printf(out, "%%%02X", *p);
        else if (*p == '"' || *p == '\\')
            rc = buf_printf(out, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            rc = buf_printf(out, "\\u%04x", *p);
        else
            rc = buf_append(out, p, 1);
    }
    return rc;
}

int runbook_render_template(const char *tmpl, runbook_lookup_fn lookup,
                            void *ctx, enum runbook_escape esc, struct buf *out)
{
    size_t from = 0, start, end, name, len;
    char key[MAX_PLACEHOLDER + 1];
    const char *val;

    for (;;) {
        int r = rb_placeholder(tmpl, from, &start, &end, &name, &len);
        if (r < 0)
            break;
        if (r > 0 || len > MAX_PLACEHOLDER)
            return -EINVAL;
        if (buf_append(out, tmpl + from, start - from) < 0)
            return -ENOSPC;
        memcpy(key, tmpl + name, len);
        key[len] = '\0';
        val = lookup(ctx, key);
        if (!val)
            return -ENOENT;
        if (put_escaped(out, val, esc) < 0)
            return -ENOSPC;
        from = end;
    }
    return buf_puts(out, tmpl + from) < 0 ? -ENOSPC : 0;
}

const char *runbook_vars_lookup(void *ctx, const char *name)
{
    const struct runbook_vars *v = ctx;
    size_t p = strlen(LABEL_PREFIX);

    if (strcmp(name, "cluster") == 0)
        return v->cluster;
    if (strcmp(name, "target") == 0)
        return v->target;
    if (strcmp(name, "alertname") == 0)
        return labels_find(&v->labels, "alertname");
    if (strncmp(name, LABEL_PREFIX, p) == 0)
        return labels_find(&v->labels, name + p);
    return NULL;
}
