/* alert.c: Alertmanager webhook payloads (version 4) into plain structs.
 *
 * Three passes over the body: scan() checks what cJSON does not (nesting
 * depth, NUL bytes, raw control characters, "\u0000"), cJSON builds a
 * tree, and one get_*() function per kind of field copies and checks the
 * tree into structs allocated from the payload's arena. The tree is freed
 * before alert_parse() returns. RFC 3339 times are read in alerttime.c,
 * label sets sorted and searched by lib/labels.c. */
#include "formats/alert.h"

#include <inttypes.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lib/util.h"

/* Largest truncatedAlerts accepted: every integer below is exact. */
#define MAX_EXACT_DOUBLE 9007199254740992.0
/* Arena chunk size; larger requests get a chunk of their own. */
#define CHUNK_SIZE 65536
/* Most bytes of input quoted in an error message. */
#define SHOWN_MAX 40

/* ---- arena -------------------------------------------------------- */

struct chunk {
    struct chunk *next;
    size_t used;
    size_t cap;
    max_align_t data[];
};

struct alert_arena {
    struct chunk *head;
};

static struct chunk *chunk_new(size_t cap)
{
    struct chunk *c = xmalloc(sizeof(*c) + cap);

    c->next = NULL;
    c->used = 0;
    c->cap = cap;
    return c;
}

/* arena_alloc: n zeroed bytes, aligned for any type, owned by a. Large
 * requests get a chunk of their own behind the head, so that the head's
 * room stays in use for the small ones. */
static void *arena_alloc(struct alert_arena *a, size_t n)
{
    size_t al = alignof(max_align_t);
    struct chunk *c = a->head;
    void *p;

    n = (n + al - 1) / al * al;
    if (n > CHUNK_SIZE / 4) {
        c = chunk_new(n);
        if (a->head != NULL) {
            c->next = a->head->next;
            a->head->next = c;
        } else {
            a->head = c;
        }
    } else if (c == NULL || c->cap - c->used < n) {
        c = chunk_new(CHUNK_SIZE);
        c->next = a->head;
        a->head = c;
    }
    p = (char *)c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

static const char *arena_strndup(struct alert_arena *a, const char *s, size_t n)
{
    char *d = arena_alloc(a, n + 1);

    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static void arena_free(struct alert_arena *a)
{
    struct chunk *c;
    struct chunk *next;

    if (a == NULL)
        return;
    for (c = a->head; c != NULL; c = next) {
        next = c->next;
        free(c);
    }
    free(a);
}

/* ---- errors ------------------------------------------------------- */

struct ctx {
    struct alert_arena *arena;
    char *err;
    size_t errlen;
    char where[32]; /* "alerts[12]" while inside an alert, else "" */
    size_t trimmed; /* strings cut and annotations dropped */
};

/* show: s (n bytes) for an error message: printable ASCII but '"' and
 * '\\' kept, other bytes as '?', cut after SHOWN_MAX bytes with "...". */
static void show(char *dst, size_t size, const char *s, size_t n)
{
    size_t j = 0;

    for (size_t i = 0; i < n && i < SHOWN_MAX && j + 1 < size; i++) {
        unsigned char ch = (unsigned char)s[i];
        int plain = ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\';
        dst[j++] = plain ? (char)ch : '?';
    }
    if (n > SHOWN_MAX && j + 4 < size) {
        memcpy(dst + j, "...", 3);
        j += 3;
    }
    if (size > 0)
        dst[j] = '\0';
}

/* fail: writes "<where>.<key>.<sub>: <message>" (the parts that are set)
 * to the caller's buffer and returns code. */
static int fail(struct ctx *c, int code, const char *key, const char *sub,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int fail(struct ctx *c, int code, const char *key, const char *sub,
                const char *fmt, ...)
{
    char shown[SHOWN_MAX + 8] = "";
    size_t off = 0;
    va_list ap;

    if (c->errlen == 0)
        return code;
    if (sub != NULL)
        show(shown, sizeof(shown), sub, strlen(sub));
    if (c->where[0] != '\0' || key != NULL) {
        int n = snprintf(c->err, c->errlen, "%s%s%s%s%s: ", c->where,
                         c->where[0] != '\0' && key != NULL ? "." : "",
                         key != NULL ? key : "", sub != NULL ? "." : "", shown);
        off = n < 0 ? 0 : (size_t)n;
        if (off >= c->errlen)
            off = c->errlen - 1;
    }
    va_start(ap, fmt);
    vsnprintf(c->err + off, c->errlen - off, fmt, ap);
    va_end(ap);
    return code;
}

const char *alert_error_name(int code)
{
    switch (code) {
    case 0:
        return "ok";
    case ALERT_ERR_SYNTAX:
        return "syntax";
    case ALERT_ERR_VERSION:
        return "version";
    case ALERT_ERR_LIMIT:
        return "limit";
    case ALERT_ERR_MISSING:
        return "missing";
    case ALERT_ERR_TYPE:
        return "type";
    case ALERT_ERR_VALUE:
        return "value";
    default:
        return "unknown";
    }
}

/* ---- the scan before cJSON ---------------------------------------- */

/* scan_in_string: checks byte s[*i] of a string (the opening quote
 * excluded); steps over the escaped byte of a backslash. */
static int scan_in_string(struct ctx *c, const char *s, size_t len, size_t *i,
                          int *in_str)
{
    unsigned char ch = (unsigned char)s[*i];

    if (ch == '"') {
        *in_str = 0;
        return 0;
    }
    if (ch < 0x20)
        return fail(c, ALERT_ERR_SYNTAX, NULL, NULL,
                    "control character in a string at offset %zu", *i);
    if (ch != '\\' || *i + 1 >= len)
        return 0;
    *i += 1;
    if (s[*i] == '\0')
        return fail(c, ALERT_ERR_SYNTAX, NULL, NULL, "NUL byte at offset %zu",
                    *i);
    if (s[*i] == 'u' && len - *i >= 5 && memcmp(s + *i + 1, "0000", 4) == 0)
        return fail(c, ALERT_ERR_SYNTAX, NULL, NULL,
                    "\\u0000 in a string at offset %zu", *i - 1);
    return 0;
}

/* scan: what cJSON does not check: nesting depth (its own limit is far
 * higher and recursive), NUL bytes, control characters and "\u0000" in
 * strings (which would cut a C string short). */
static int scan(struct ctx *c, const char *s, size_t len)
{
    size_t depth = 0;
    int in_str = 0;
    int rc = 0;

    for (size_t i = 0; i < len && rc == 0; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\0') {
            rc = fail(c, ALERT_ERR_SYNTAX, NULL, NULL, "NUL byte at offset %zu",
                      i);
        } else if (in_str) {
            rc = scan_in_string(c, s, len, &i, &in_str);
        } else if (ch == '"') {
            in_str = 1;
        } else if (ch == '[' || ch == '{') {
            depth++;
            if (depth > ALERT_MAX_DEPTH)
                rc = fail(c, ALERT_ERR_LIMIT, NULL, NULL,
                          "nesting deeper than %d", ALERT_MAX_DEPTH);
        } else if ((ch == ']' || ch == '}') && depth > 0) {
            depth--;
        }
    }
    return rc;
}

/* utf8_seq: the number of continuation bytes after lead byte b and the
 * smallest code point such a sequence may encode; 0 when b leads none. */
static size_t utf8_seq(unsigned char b, uint32_t *cp, uint32_t *min)
{
    if ((b & 0xe0) == 0xc0) {
        *cp = b & 0x1fu;
        *min = 0x80;
        return 1;
    }
    if ((b & 0xf0) == 0xe0) {
        *cp = b & 0x0fu;
        *min = 0x800;
        return 2;
    }
    if ((b & 0xf8) == 0xf0) {
        *cp = b & 0x07u;
        *min = 0x10000;
        return 3;
    }
    return 0;
}

/* utf8_valid: whether n bytes at s are UTF-8 without overlong forms,
 * surrogates or code points past U+10FFFF. */
static int utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;

    while (i < n) {
        uint32_t cp = s[i];
        uint32_t min = 0;
        size_t k = 0;
        if (cp >= 0x80) {
            k = utf8_seq(s[i], &cp, &min);
            if (k == 0 || n - i <= k)
                return 0;
        }
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + j] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += k + 1;
    }
    return 1;
}

/* ---- fields ------------------------------------------------------- */

/* find: obj's member key into *item, NULL when absent or null. A key that
 * appears twice is an error: cJSON would take the first, Go the last. */
static int find(struct ctx *c, const cJSON *obj, const char *key,
                const cJSON **item)
{
    const cJSON *found = NULL;
    const cJSON *m;

    cJSON_ArrayForEach(m, obj)
    {
        if (m->string == NULL || strcmp(m->string, key) != 0)
            continue;
        if (found != NULL)
            return fail(c, ALERT_ERR_VALUE, key, NULL, "duplicate field");
        found = m;
    }
    *item = cJSON_IsNull(found) ? NULL : found;
    return 0;
}

/* count_upto: the number of items in a container, counting at most to
 * max + 1 (cJSON_GetArraySize walks them all into an int). */
static size_t count_upto(const cJSON *item, size_t max)
{
    const cJSON *m;
    size_t n = 0;

    cJSON_ArrayForEach(m, item)
    {
        n++;
        if (n > max)
            break;
    }
    return n;
}

/* cut_utf8: n cut to at most max bytes of the valid UTF-8 at s, never
 * inside a sequence. */
static size_t cut_utf8(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

/* copy_string: item, which must be a string, into the arena. A value
 * longer than ALERT_MAX_VALUE is an error when it is an alert's label
 * (identity: cutting it could make it name something else); any other
 * is kept cut to ALERT_MAX_VALUE bytes and counted in c->trimmed. */
static int copy_string(struct ctx *c, const cJSON *item, const char *key,
                       const char *sub, bool trim, const char **out)
{
    size_t n;

    if (!cJSON_IsString(item))
        return fail(c, ALERT_ERR_TYPE, key, sub, "not a string");
    n = strlen(item->valuestring);
    if (n > ALERT_MAX_VALUE && !trim)
        return fail(c, ALERT_ERR_LIMIT, key, sub, "longer than %d bytes",
                    ALERT_MAX_VALUE);
    if (!utf8_valid(item->valuestring, n))
        return fail(c, ALERT_ERR_SYNTAX, key, sub, "not valid UTF-8");
    if (n > ALERT_MAX_VALUE) {
        n = cut_utf8(item->valuestring, n, ALERT_MAX_VALUE);
        c->trimmed++;
    }
    *out = arena_strndup(c->arena, item->valuestring, n);
    return 0;
}

/* get_string: the string member key into *out ("" when absent or null).
 * Returns 1 when present, 0 when absent and optional, or an error. */
static int get_string(struct ctx *c, const cJSON *obj, const char *key,
                      bool required, const char **out)
{
    const cJSON *item;
    int rc = find(c, obj, key, &item);

    *out = "";
    if (rc < 0)
        return rc;
    if (item == NULL)
        return required ? fail(c, ALERT_ERR_MISSING, key, NULL, "missing") : 0;
    rc = copy_string(c, item, key, NULL, true, out);
    return rc < 0 ? rc : 1;
}

static int get_status(struct ctx *c, const cJSON *obj, enum alert_status *out)
{
    const char *s;
    char shown[SHOWN_MAX + 4];
    int rc = get_string(c, obj, "status", true, &s);

    if (rc < 0)
        return rc;
    if (strcmp(s, "firing") == 0) {
        *out = ALERT_FIRING;
    } else if (strcmp(s, "resolved") == 0) {
        *out = ALERT_RESOLVED;
    } else {
        show(shown, sizeof(shown), s, strlen(s));
        return fail(c, ALERT_ERR_VALUE, "status", NULL,
                    "\"%s\" is neither firing nor resolved", shown);
    }
    return 0;
}

/* get_time: an RFC 3339 member; absent or null is unset when optional. A
 * required time must be set. */
static int get_time(struct ctx *c, const cJSON *obj, const char *key,
                    bool required, struct alert_time *out)
{
    const char *s;
    const char *why = NULL;
    char shown[SHOWN_MAX + 4];
    int rc = get_string(c, obj, key, required, &s);

    memset(out, 0, sizeof(*out));
    if (rc < 0)
        return rc;
    if (rc == 0) {
        out->unset = true;
        return 0;
    }
    if (alert_parse_time(s, strlen(s), out, &why) < 0) {
        show(shown, sizeof(shown), s, strlen(s));
        return fail(c, ALERT_ERR_VALUE, key, NULL,
                    "not an RFC 3339 time (%s): \"%s\"", why, shown);
    }
    if (required && out->unset)
        return fail(c, ALERT_ERR_VALUE, key, NULL, "unset (the zero time)");
    return 0;
}

static int is_hex(const char *s)
{
    for (; *s != '\0'; s++) {
        char ch = *s;
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
              (ch >= 'A' && ch <= 'F')))
            return 0;
    }
    return 1;
}

static int get_fingerprint(struct ctx *c, const cJSON *obj, const char **out)
{
    int rc = get_string(c, obj, "fingerprint", true, out);
    size_t n;

    if (rc < 0)
        return rc;
    n = strlen(*out);
    if (n == 0 || n > ALERT_MAX_FINGERPRINT || !is_hex(*out))
        return fail(c, ALERT_ERR_VALUE, "fingerprint", NULL,
                    "not 1 to %d hex digits", ALERT_MAX_FINGERPRINT);
    return 0;
}

static int get_count(struct ctx *c, const cJSON *obj, const char *key,
                     uint64_t *out)
{
    const cJSON *item;
    int rc = find(c, obj, key, &item);
    double d;

    *out = 0;
    if (rc < 0 || item == NULL)
        return rc;
    if (!cJSON_IsNumber(item))
        return fail(c, ALERT_ERR_TYPE, key, NULL, "not a number");
    d = item->valuedouble;
    if (!(d >= 0 && d <= MAX_EXACT_DOUBLE) || (double)(uint64_t)d != d)
        return fail(c, ALERT_ERR_VALUE, key, NULL,
                    "not a whole number in [0, 2^53]");
    *out = (uint64_t)d;
    return 0;
}

/* ---- label sets --------------------------------------------------- */

static int copy_label(struct ctx *c, const char *key, const cJSON *m, bool trim,
                      struct label *l)
{
    size_t n = strlen(m->string);

    if (n == 0)
        return fail(c, ALERT_ERR_VALUE, key, NULL, "empty name");
    if (n > ALERT_MAX_NAME)
        return fail(c, ALERT_ERR_LIMIT, key, m->string,
                    "name longer than %d bytes", ALERT_MAX_NAME);
    if (!utf8_valid(m->string, n))
        return fail(c, ALERT_ERR_SYNTAX, key, m->string,
                    "name not valid UTF-8");
    l->name = arena_strndup(c->arena, m->string, n);
    return copy_string(c, m, key, m->string, trim, &l->value);
}

/* sort_labels: sorts v by name; two equal names are an error. */
static int sort_labels(struct ctx *c, const char *key, struct label *v,
                       size_t n)
{
    size_t dup = labels_sort(v, n);

    if (dup < n)
        return fail(c, ALERT_ERR_VALUE, key, v[dup].name, "duplicate name");
    return 0;
}

/* get_labels: the label or annotation set key. Labels are kept whole,
 * however many (the body's size bounds them: dropping one could change
 * the cluster or node an alert names); annotations (annotations true)
 * keep their first ALERT_MAX_LABELS entries in name order, values cut
 * to ALERT_MAX_VALUE bytes; what is dropped or cut is counted in
 * c->trimmed. */
static int get_labels(struct ctx *c, const cJSON *obj, const char *key,
                      bool required, bool annotations, struct labels *out)
{
    const cJSON *item;
    const cJSON *m;
    struct label *v;
    size_t count;
    size_t n = 0;
    int rc = find(c, obj, key, &item);

    out->v = NULL;
    out->n = 0;
    if (rc < 0)
        return rc;
    if (item == NULL)
        return required ? fail(c, ALERT_ERR_MISSING, key, NULL, "missing") : 0;
    if (!cJSON_IsObject(item))
        return fail(c, ALERT_ERR_TYPE, key, NULL, "not an object");
    count = count_upto(item, SIZE_MAX - 1);
    v = arena_alloc(c->arena, count * sizeof(*v));
    cJSON_ArrayForEach(m, item)
    {
        rc = copy_label(c, key, m, annotations, &v[n]);
        if (rc < 0)
            return rc;
        n++;
    }
    rc = sort_labels(c, key, v, n);
    if (annotations && n > ALERT_MAX_LABELS) {
        c->trimmed += n - ALERT_MAX_LABELS;
        n = ALERT_MAX_LABELS;
    }
    out->v = v;
    out->n = n;
    return rc;
}

/* ---- the payload -------------------------------------------------- */

static int parse_alert(struct ctx *c, const cJSON *a, struct alert *out)
{
    int rc;

    if (!cJSON_IsObject(a))
        return fail(c, ALERT_ERR_TYPE, NULL, NULL, "not an object");
    rc = get_status(c, a, &out->status);
    if (rc >= 0)
        rc = get_labels(c, a, "labels", true, false, &out->labels);
    if (rc >= 0)
        rc = get_labels(c, a, "annotations", false, true, &out->annotations);
    if (rc >= 0)
        rc = get_time(c, a, "startsAt", true, &out->starts_at);
    if (rc >= 0)
        rc = get_time(c, a, "endsAt", false, &out->ends_at);
    if (rc >= 0)
        rc = get_string(c, a, "generatorURL", false, &out->generator_url);
    if (rc >= 0)
        rc = get_fingerprint(c, a, &out->fingerprint);
    return rc < 0 ? rc : 0;
}

static int parse_alerts(struct ctx *c, const cJSON *root,
                        struct alert_payload *p)
{
    const cJSON *item;
    const cJSON *a;
    struct alert *v;
    size_t count;
    size_t n = 0;
    int rc = find(c, root, "alerts", &item);

    if (rc < 0)
        return rc;
    if (item == NULL)
        return fail(c, ALERT_ERR_MISSING, "alerts", NULL, "missing");
    if (!cJSON_IsArray(item))
        return fail(c, ALERT_ERR_TYPE, "alerts", NULL, "not an array");
    count = count_upto(item, ALERT_MAX_ALERTS);
    if (count > ALERT_MAX_ALERTS)
        return fail(c, ALERT_ERR_LIMIT, NULL, NULL, "more than %d alerts",
                    ALERT_MAX_ALERTS);
    v = arena_alloc(c->arena, count * sizeof(*v));
    cJSON_ArrayForEach(a, item)
    {
        snprintf(c->where, sizeof(c->where), "alerts[%zu]", n);
        rc = parse_alert(c, a, &v[n]);
        if (rc < 0)
            return rc;
        n++;
    }
    c->where[0] = '\0';
    p->alerts = v;
    p->nalerts = n;
    return 0;
}

static int get_version(struct ctx *c, const cJSON *root, const char **out)
{
    const cJSON *item;
    char shown[SHOWN_MAX + 4];
    int rc = find(c, root, "version", &item);

    if (rc < 0)
        return rc;
    if (item == NULL)
        return fail(c, ALERT_ERR_MISSING, "version", NULL, "missing");
    if (!cJSON_IsString(item))
        return fail(c, ALERT_ERR_TYPE, "version", NULL, "not a string");
    if (strcmp(item->valuestring, "4") != 0) {
        show(shown, sizeof(shown), item->valuestring,
             strlen(item->valuestring));
        return fail(c, ALERT_ERR_VERSION, NULL, NULL,
                    "version \"%s\" is not supported", shown);
    }
    *out = "4";
    return 0;
}

static int parse_payload(struct ctx *c, const cJSON *root,
                         struct alert_payload *p)
{
    int rc;

    if (!cJSON_IsObject(root))
        return fail(c, ALERT_ERR_TYPE, NULL, NULL, "not a JSON object");
    rc = get_version(c, root, &p->version);
    if (rc >= 0)
        rc = get_status(c, root, &p->status);
    if (rc >= 0)
        rc = get_string(c, root, "receiver", false, &p->receiver);
    if (rc >= 0)
        rc = get_string(c, root, "groupKey", false, &p->group_key);
    if (rc >= 0)
        rc = get_count(c, root, "truncatedAlerts", &p->truncated_alerts);
    if (rc >= 0)
        rc = get_labels(c, root, "groupLabels", false, false, &p->group_labels);
    if (rc >= 0)
        rc = get_labels(c, root, "commonLabels", false, false,
                        &p->common_labels);
    if (rc >= 0)
        rc = get_labels(c, root, "commonAnnotations", false, true,
                        &p->common_annotations);
    if (rc >= 0)
        rc = get_string(c, root, "externalURL", false, &p->external_url);
    if (rc >= 0)
        rc = parse_alerts(c, root, p);
    return rc < 0 ? rc : 0;
}

/* parse_json: the cJSON tree of the body into *root (the caller deletes
 * it, also on error); only whitespace may follow the value. */
static int parse_json(struct ctx *c, const char *data, size_t len, cJSON **root)
{
    const char *end = NULL;

    if (len == 0)
        return fail(c, ALERT_ERR_SYNTAX, NULL, NULL, "empty body");
    *root = cJSON_ParseWithLengthOpts(data, len, &end, 0);
    if (end == NULL || end < data || end > data + len)
        end = data;
    if (*root == NULL)
        return fail(c, ALERT_ERR_SYNTAX, NULL, NULL,
                    "not JSON (error at offset %zu)", (size_t)(end - data));
    for (size_t i = (size_t)(end - data); i < len; i++) {
        char ch = data[i];
        if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r')
            return fail(c, ALERT_ERR_SYNTAX, NULL, NULL,
                        "not JSON (data after the value at offset %zu)", i);
    }
    return 0;
}

enum alert_error alert_parse(const char *data, size_t len,
                             struct alert_payload **out, char *err,
                             size_t errlen)
{
    struct alert_payload *p = xcalloc(1, sizeof(*p));
    struct ctx c = {.err = err, .errlen = errlen};
    cJSON *root = NULL;
    int rc;

    *out = NULL;
    if (errlen > 0)
        err[0] = '\0';
    p->arena_ = xcalloc(1, sizeof(*p->arena_));
    c.arena = p->arena_;
    rc = scan(&c, data, len);
    if (rc < 0)
        goto out;
    rc = parse_json(&c, data, len, &root);
    if (rc < 0)
        goto out;
    rc = parse_payload(&c, root, p);
    p->trimmed = c.trimmed;
out:
    cJSON_Delete(root);
    if (rc < 0) {
        alert_payload_free(p);
        return (enum alert_error)rc;
    }
    *out = p;
    return ALERT_OK;
}

void alert_payload_free(struct alert_payload *p)
{
    if (p == NULL)
        return;
    arena_free(p->arena_);
    free(p);
}

/* ---- helpers for consumers ---------------------------------------- */

int alert_dedupe_key(const struct alert *a, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s@%" PRId64 ".%09" PRId32, a->fingerprint,
                     a->starts_at.sec, a->starts_at.nsec);

    if (n < 0 || (size_t)n >= size) {
        if (size > 0)
            buf[0] = '\0';
        return -1;
    }
    return n;
}

char *alert_label_env_name(const char *name)
{
    size_t n = strlen(name);
    char *out = xmalloc(n + 1);
    size_t j = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)name[i];
        unsigned char prev = i > 0 ? (unsigned char)name[i - 1] : 0;
        if ((ch & 0xc0) == 0x80 && prev >= 0x80)
            continue; /* the rest of a UTF-8 sequence already replaced */
        if (ch >= 'a' && ch <= 'z')
            out[j++] = (char)(ch - 'a' + 'A');
        else if ((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
            out[j++] = (char)ch;
        else
            out[j++] = '_';
    }
    out[j] = '\0';
    return out;
}
