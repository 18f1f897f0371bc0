/* configread.c: the config's own readers (see config_internal.h): the
 * error list, names, listen addresses, node URLs and the checks between
 * fields. The generic YAML layer is yamlread.c; the schema is in
 * config.c. */
#include "config/config_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAME 64
#define NAME_CHARS                                                             \
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
#define V6_CHARS "0123456789abcdefABCDEF:."

/* --- error messages --------------------------------------------------- */

void config_key_error(const struct config *cfg, struct errlist *errs,
                      const char *key, struct config_where where,
                      const char *fmt, ...)
{
    struct buf name;
    va_list ap;
    char msg[1024];

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    buf_init(&name, 0);
    if (where.line > 0)
        buf_printf(&name, "%s:%d:%d", cfg->path, where.line, where.column);
    else
        buf_puts(&name, cfg->path);
    yr_err_plain(errs, name.data, "%s%s: %s", key,
                 where.line > 0 ? "" : " (the default)", msg);
    buf_free(&name);
}

/* --- scalar readers --------------------------------------------------- */

bool cfg_read_name(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    size_t n;

    if (!yr_want_scalar(c, v, "a name"))
        return false;
    n = strlen(yr_sval(v));
    if (n == 0 || n > MAX_NAME || strspn(yr_sval(v), NAME_CHARS) != n) {
        yr_err_at(c, v->start_mark,
                  "bad name \"%.80s\" (1 to %d letters, digits, '.', '_' or "
                  "'-')",
                  yr_sval(v), MAX_NAME);
        return false;
    }
    *(char **)dst = xstrdup(yr_sval(v));
    return true;
}

bool cfg_read_priority(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    uint64_t x;
    if (!yr_read_uint(c, v, 0, UINT32_MAX, &x))
        return false;
    *(unsigned *)dst = (unsigned)x;
    return true;
}

bool cfg_read_floor(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    return yr_read_uint(c, v, 1, UINT32_MAX, dst);
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

bool cfg_read_listen(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    struct config *cfg = dst;
    char *host = NULL;
    unsigned port = 0;
    const char *why;

    if (!yr_want_scalar(c, v, "HOST:PORT"))
        return false;
    bool has_port;
    why = split_host_port(yr_sval(v), strlen(yr_sval(v)), &host, &port,
                          &has_port, true);
    if (!why && !has_port)
        why = "missing port";
    if (why) {
        free(host);
        yr_err_at(c, v->start_mark,
                  "bad listen address \"%.80s\": %s (expected HOST:PORT)",
                  yr_sval(v), why);
        return false;
    }
    cfg->listen_host = host;
    cfg->listen_port = (uint16_t)port;
    return true;
}

/* check_authority: what follows a URL's scheme: a host, an optional port
 * and an optional path. Returns NULL or what is wrong. */
static const char *check_authority(const char *auth)
{
    const char *end, *why;
    char *host = NULL;
    unsigned port;

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
bool cfg_read_url(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    size_t n;

    if (!yr_want_url(c, v, check_authority))
        return false;
    n = strlen(yr_sval(v));
    while (n > 0 && yr_sval(v)[n - 1] == '/')
        n--;
    *(char **)dst = xstrndup(yr_sval(v), n);
    return true;
}

/* --- checks between fields ------------------------------------------- */

/* cfg_check_less: lo->val < hi->val must hold. The error goes to the value of
 * `blame` when it was written, else to the other one (both defaulted
 * never fails). Skipped when either value was bad. */
void cfg_check_less(struct yr_ctx *c, const struct yr_seen *s,
                    const struct bound *lo, const struct bound *hi,
                    const struct bound *blame)
{
    const struct bound *at = blame, *other;

    if (s->state[lo->idx] == YR_BAD || s->state[hi->idx] == YR_BAD ||
        lo->val < hi->val)
        return;
    if (s->state[at->idx] != YR_GOOD)
        at = at == lo ? hi : lo;
    other = at == lo ? hi : lo;
    yr_err_at(c, s->mark[at->idx], "%s (%gs) must be %s than %s (%gs%s)",
              at->key, at->val, at == lo ? "less" : "greater", other->key,
              other->val,
              s->state[other->idx] == YR_GOOD ? "" : ", the default");
}
