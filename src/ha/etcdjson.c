/* etcdjson.c: etcd v3 gateway bodies (etcdjson.h). */
#include "ha/etcdjson.h"

#include "lib/util.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *etcd_b64(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    char *out = xcalloc(1, (len + 2) / 3 * 4 + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)u[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)u[i + 1] << 8;
        if (i + 2 < len)
            v |= u[i + 2];
        out[o++] = b64chars[(v >> 18) & 63];
        out[o++] = b64chars[(v >> 12) & 63];
        out[o++] = i + 1 < len ? b64chars[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? b64chars[v & 63] : '=';
    }
    return out;
}

static int b64val(char c)
{
    const char *p = c ? strchr(b64chars, c) : NULL;
    return p ? (int)(p - b64chars) : -1;
}

long etcd_unb64(const char *in, char *out, size_t cap)
{
    size_t n = strlen(in), o = 0;
    uint32_t acc = 0;
    int bits = 0;
    while (n > 0 && in[n - 1] == '=')
        n--;
    for (size_t i = 0; i < n; i++) {
        int v = b64val(in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap)
                return -1;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[o] = '\0';
    return (long)o;
}

char *etcd_range_end(const char *prefix)
{
    char *end = xstrdup(prefix);
    size_t n = strlen(end);
    /* the prefixes replguard builds end in '/', never in 0xff */
    if (n > 0)
        end[n - 1] = (char)(end[n - 1] + 1);
    return end;
}

/* add_b64: member name of o set to the base64 of s. */
static void add_b64(cJSON *o, const char *name, const char *s)
{
    char *b = etcd_b64(s, strlen(s));
    cJSON_AddStringToObject(o, name, b);
    free(b);
}

/* add_int: member name of o set to v as the gateway writes int64s. */
static void add_int(cJSON *o, const char *name, int64_t v)
{
    char num[32];
    snprintf(num, sizeof(num), "%" PRId64, v);
    cJSON_AddStringToObject(o, name, num);
}

static char *finish(cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s)
        abort();
    return s;
}

char *etcd_grant_json(double ttl)
{
    cJSON *o = cJSON_CreateObject();
    add_int(o, "TTL", (int64_t)(ttl + 0.5));
    return finish(o);
}

char *etcd_lease_json(int64_t id)
{
    cJSON *o = cJSON_CreateObject();
    add_int(o, "ID", id);
    return finish(o);
}

char *etcd_range_json(const char *key, const char *range_end)
{
    cJSON *o = cJSON_CreateObject();
    add_b64(o, "key", key);
    if (range_end)
        add_b64(o, "range_end", range_end);
    return finish(o);
}

static cJSON *put_op(const char *key, const char *value, int64_t lease)
{
    cJSON *put = cJSON_CreateObject();
    add_b64(put, "key", key);
    add_b64(put, "value", value);
    if (lease)
        add_int(put, "lease", lease);
    return put;
}

char *etcd_put_json(const char *key, const char *value, int64_t lease)
{
    return finish(put_op(key, value, lease));
}

/* op: {name: body}, one request of a transaction. */
static cJSON *op(const char *name, cJSON *body)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, name, body);
    return o;
}

/* range_op: a read of key, or of every key under it (prefix true). */
static cJSON *range_op(const char *key, bool prefix)
{
    cJSON *rr = cJSON_CreateObject();
    add_b64(rr, "key", key);
    if (prefix) {
        char *end = etcd_range_end(key);
        add_b64(rr, "range_end", end);
        free(end);
    }
    return op("request_range", rr);
}

/* txn: a transaction with one compare, the requests ok1 and ok2 (may be
 * NULL) on success, and a read of key_on_fail on failure. */
static char *txn(cJSON *cmp, cJSON *ok1, cJSON *ok2, const char *key_on_fail)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *cmps = cJSON_AddArrayToObject(o, "compare");
    cJSON_AddItemToArray(cmps, cmp);
    cJSON *succ = cJSON_AddArrayToObject(o, "success");
    cJSON_AddItemToArray(succ, ok1);
    if (ok2)
        cJSON_AddItemToArray(succ, ok2);
    cJSON *fail = cJSON_AddArrayToObject(o, "failure");
    cJSON_AddItemToArray(fail, range_op(key_on_fail, false));
    return finish(o);
}

/* create_cmp: key's create revision equals rev (0: it does not exist). */
static cJSON *create_cmp(const char *key, int64_t rev)
{
    cJSON *cmp = cJSON_CreateObject();
    cJSON_AddStringToObject(cmp, "target", "CREATE");
    cJSON_AddStringToObject(cmp, "result", "EQUAL");
    add_b64(cmp, "key", key);
    add_int(cmp, "create_revision", rev);
    return cmp;
}

char *etcd_create_json(const char *key, const char *value, int64_t lease,
                       const char *also_read)
{
    return txn(create_cmp(key, 0), op("request_put", put_op(key, value, lease)),
               also_read ? range_op(also_read, true) : NULL, key);
}

char *etcd_fenced_json(const char *owner_key, int64_t token, const char *key,
                       const char *value)
{
    cJSON *req;
    if (value) {
        req = op("request_put", put_op(key, value, 0));
    } else {
        cJSON *del = cJSON_CreateObject();
        add_b64(del, "key", key);
        req = op("request_delete_range", del);
    }
    return txn(create_cmp(owner_key, token), req, NULL, owner_key);
}

char *etcd_delete_if_json(const char *key, const char *value)
{
    cJSON *cmp = cJSON_CreateObject();
    cJSON_AddStringToObject(cmp, "target", "VALUE");
    cJSON_AddStringToObject(cmp, "result", "EQUAL");
    add_b64(cmp, "key", key);
    add_b64(cmp, "value", value);
    cJSON *del = cJSON_CreateObject();
    add_b64(del, "key", key);
    return txn(cmp, op("request_delete_range", del), NULL, key);
}

/* --- parsing ------------------------------------------------------------ */

/* get_int: o's member name as an int64 written as a string or a
 * number; 0 when missing or malformed. */
static int64_t get_int(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (cJSON_IsNumber(v)) /* in range: a cast of NaN or 1e300 is UB */
        return v->valuedouble > -9e18 && v->valuedouble < 9e18
                   ? (int64_t)v->valuedouble
                   : 0;
    if (!cJSON_IsString(v) || !v->valuestring)
        return 0;
    char *end;
    long long x = strtoll(v->valuestring, &end, 10);
    return *end == '\0' ? (int64_t)x : 0;
}

/* parse_kv: one pair; -1 when it has no key replguard could have
 * written (not base64, or longer than any of its keys). A value too
 * long to keep reads as "" with too_long set: someone else's large
 * value must not make the whole answer unreadable. */
static int parse_kv(const cJSON *o, struct etcd_kv *kv)
{
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "key");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "value");
    memset(kv, 0, sizeof(*kv));
    if (!cJSON_IsString(k) ||
        etcd_unb64(k->valuestring, kv->key, ETCD_MAX_KEY) < 0)
        return -1;
    if (cJSON_IsString(v) &&
        etcd_unb64(v->valuestring, kv->value, ETCD_MAX_VALUE) < 0) {
        kv->value[0] = '\0';
        kv->too_long = true;
    }
    kv->create_revision = get_int(o, "create_revision");
    kv->mod_revision = get_int(o, "mod_revision");
    kv->lease = get_int(o, "lease");
    return 0;
}

static int parse_kvs(const cJSON *arr, size_t max, struct etcd_reply *r)
{
    if (!cJSON_IsArray(arr))
        return 0; /* no kvs: an empty range */
    size_t n = (size_t)cJSON_GetArraySize(arr);
    if (n > max)
        n = max;
    r->kvs = n ? xcalloc(n, sizeof(*r->kvs)) : NULL;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (r->n_kvs == n)
            break;
        if (!cJSON_IsObject(it))
            return -1;
        if (parse_kv(it, &r->kvs[r->n_kvs]) == 0)
            r->n_kvs++; /* a key not ours is left out */
    }
    return 0;
}

/* parse_txn_range: the kvs of a txn's first response_range, if any. */
static int parse_txn_range(const cJSON *o, size_t max, struct etcd_reply *r)
{
    const cJSON *resps = cJSON_GetObjectItemCaseSensitive(o, "responses");
    const cJSON *it;
    if (!cJSON_IsArray(resps))
        return 0;
    cJSON_ArrayForEach(it, resps)
    {
        const cJSON *rr =
            cJSON_GetObjectItemCaseSensitive(it, "response_range");
        if (cJSON_IsObject(rr))
            return parse_kvs(cJSON_GetObjectItemCaseSensitive(rr, "kvs"), max,
                             r);
    }
    return 0;
}

int etcd_parse(const char *body, size_t len, size_t max_kvs,
               struct etcd_reply *r)
{
    memset(r, 0, sizeof(*r));
    cJSON *root = cJSON_ParseWithLength(body, len);
    const cJSON *o = root;
    int rc = -1;
    if (!cJSON_IsObject(o))
        goto out;
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(o, "result");
    if (cJSON_IsObject(res))
        o = res; /* a streamed keep-alive answer */
    if (cJSON_GetObjectItemCaseSensitive(o, "error"))
        goto out;
    const cJSON *hdr = cJSON_GetObjectItemCaseSensitive(o, "header");
    r->revision = cJSON_IsObject(hdr) ? get_int(hdr, "revision") : 0;
    r->id = get_int(o, "ID");
    r->ttl = get_int(o, "TTL");
    r->succeeded =
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "succeeded"));
    rc = parse_kvs(cJSON_GetObjectItemCaseSensitive(o, "kvs"), max_kvs, r);
    if (rc == 0 && !r->kvs)
        rc = parse_txn_range(o, max_kvs, r);
out:
    cJSON_Delete(root);
    if (rc < 0)
        etcd_reply_free(r);
    return rc;
}

void etcd_reply_free(struct etcd_reply *r)
{
    free(r->kvs);
    memset(r, 0, sizeof(*r));
}
