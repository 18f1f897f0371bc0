/* configha.c: the top-level `ha:` mapping (config_internal.h): the etcd
 * endpoints several replguard instances share the clusters through, the
 * key prefix, this member's name, the lease ttl and what it polls. */
#include "config/config_internal.h"

#include <string.h>
#include <unistd.h>

#define MAX_PREFIX 128

/* ttl: etcd raises a lease under about 2 s to its minimum anyway; past
 * an hour a dead member's clusters would wait that long for an owner. */
static const struct yr_range ttl_range = {2, 3600, "2s", "1h"};

static const char *const poll_names[] = {
    [HA_POLL_OWNED] = "owned", [HA_POLL_ALL] = "all"};

static bool read_endpoint(struct yr_ctx *c, yaml_node_t *v, size_t i, void *arg)
{
    struct config_ha *ha = arg;
    return cfg_read_url(c, v, &ha->etcd[i]);
}

static bool read_etcd(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    struct config_ha *ha = dst;
    size_t n;

    if (!yr_want_items(c, v, 1, CONFIG_MAX_ETCD, "endpoints", &n))
        return false;
    ha->etcd = xcalloc(n, sizeof(*ha->etcd));
    ha->n_etcd = n;
    return yr_each_item(c, v, read_endpoint, ha);
}

/* read_prefix: keys are built as PREFIX/members/NAME, so the prefix is
 * an absolute path of printable characters without spaces; a trailing
 * slash is dropped ("/" alone becomes ""). */
static bool read_prefix(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    const char *s;
    size_t n;

    if (!yr_want_scalar(c, v, "a key prefix"))
        return false;
    s = yr_sval(v);
    n = strlen(s);
    if (s[0] != '/' || n > MAX_PREFIX) {
        yr_err_at(c, v->start_mark,
                  "bad prefix \"%.80s\" (starts with '/', at most %d bytes)", s,
                  MAX_PREFIX);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f) {
            yr_err_at(c, v->start_mark,
                      "bad prefix \"%.80s\" (printable, no spaces)", s);
            return false;
        }
    }
    while (n > 0 && s[n - 1] == '/')
        n--;
    *(char **)dst = xstrndup(s, n);
    return true;
}

static bool read_ttl(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    return yr_read_duration_in(c, v, &ttl_range, dst);
}

static bool read_ha_poll(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    size_t i;
    if (!yr_read_enum(c, v, poll_names, ARRAY_LEN(poll_names), &i))
        return false;
    *(enum ha_poll *)dst = (enum ha_poll)i;
    return true;
}

static const struct yr_field ha_fields[] = {
    {"etcd", read_etcd, 0, true},
    {"prefix", read_prefix, offsetof(struct config_ha, prefix), false},
    {"member", cfg_read_name, offsetof(struct config_ha, member), false},
    {"ttl", read_ttl, offsetof(struct config_ha, ttl), false},
    {"poll", read_ha_poll, offsetof(struct config_ha, poll), false},
};

/* host_member: the host name when it is a valid member name (1-64 of
 * [A-Za-z0-9._-]), else "replguard". */
static char *host_member(void)
{
    char host[256] = "";
    size_t n;

    if (gethostname(host, sizeof(host) - 1) < 0)
        host[0] = '\0';
    n = strlen(host);
    if (n == 0 || n > 64 ||
        strspn(host, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789._-") != n)
        return xstrdup("replguard");
    return xstrdup(host);
}

bool cfg_read_ha(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    struct config *cfg = dst;
    struct config_ha *ha = &cfg->ha;
    bool ok = yr_read_map(c, v, ha_fields, ARRAY_LEN(ha_fields), ha);

    ha->enabled = true;
    if (ha->ttl == 0)
        ha->ttl = 10;
    if (!ha->prefix)
        ha->prefix = xstrdup("/replguard");
    if (!ha->member)
        ha->member = host_member();
    return ok;
}

void cfg_free_ha(struct config_ha *ha)
{
    for (size_t i = 0; i < ha->n_etcd; i++)
        free(ha->etcd[i]);
    free(ha->etcd);
    free(ha->prefix);
    free(ha->member);
    memset(ha, 0, sizeof(*ha));
}

const char *config_ha_poll_name(enum ha_poll p)
{
    return (size_t)p < ARRAY_LEN(poll_names) ? poll_names[p] : "unknown";
}
