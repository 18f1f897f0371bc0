/* test_alert.c: Alertmanager webhook payloads: the captured fixtures,
 * every kind of rejection, RFC 3339 times and the helpers. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/alert.h"
#include "lib/util.h"

#define FIRING   "alertmanager-0.25-firing.json"
#define TWO      "alertmanager-0.25-firing-2alerts.json"
#define RESOLVED "alertmanager-0.25-resolved.json"
#define GEN_URL                                                                \
    "http://prometheus.example:19090/graph?g0.expr="                           \
    "stemedb_replication_lag_seconds+%3E+10&g0.tab=1"
/* 2026-11-21T23:51:40Z and 2026-11-21T23:57:23Z in Unix seconds. */
#define T_FIRING 1795305100
#define T_2326   1795305443

/* fixture: the whole file tests/fixtures/alertmanager/<name>, NUL
 * terminated; its length in *len. */
static char *fixture(const char *name, size_t *len)
{
    const char *top = getenv("top_srcdir");
    struct buf path;
    struct buf text;
    char chunk[4096];
    size_t n;

    buf_init(&path, 0);
    buf_printf(&path, "%s/tests/fixtures/alertmanager/%s", top ? top : ".",
               name);
    FILE *f = fopen(path.data, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path.data);
    buf_init(&text, 0);
    do {
        n = fread(chunk, 1, sizeof(chunk), f);
        buf_append(&text, chunk, n);
    } while (n > 0);
    fclose(f);
    buf_free(&path);
    *len = text.len;
    return buf_detach(&text);
}

/* parse_exact: alert_parse() on a heap copy of exactly len bytes (no NUL
 * after it, so that ASan sees any read past the end), freed before the
 * caller looks at the result. */
static int parse_exact(const char *data, size_t len, struct alert_payload **p,
                       char *err, size_t errlen)
{
    char *copy = xmalloc(len > 0 ? len : 1);
    int rc;

    memcpy(copy, data, len);
    rc = alert_parse(copy, len, p, err, errlen);
    free(copy);
    return rc;
}

static struct alert_payload *parse_fixture(const char *name)
{
    struct alert_payload *p = NULL;
    char err[256];
    size_t len;
    char *text = fixture(name, &len);
    int rc = parse_exact(text, len, &p, err, sizeof(err));

    ck_assert_msg(rc == 0, "%s: %d %s", name, rc, err);
    ck_assert_ptr_nonnull(p);
    free(text);
    return p;
}

/* edit: base with the first occurrence of from replaced by to. */
static char *edit(const char *base, const char *from, const char *to)
{
    const char *at = strstr(base, from);
    struct buf b;

    ck_assert_msg(at != NULL, "test bug: \"%s\" not in the base", from);
    buf_init(&b, 0);
    buf_append(&b, base, (size_t)(at - base));
    buf_puts(&b, to);
    buf_puts(&b, at + strlen(from));
    return buf_detach(&b);
}

static void assert_sorted(const struct labels *set)
{
    for (size_t i = 1; i < set->n; i++)
        ck_assert_msg(strcmp(set->v[i - 1].name, set->v[i].name) < 0,
                      "%s before %s", set->v[i - 1].name, set->v[i].name);
}

static void assert_label(const struct labels *set, const char *name,
                         const char *want)
{
    const char *got = labels_get(set, name);

    ck_assert_msg(got != NULL, "label %s missing", name);
    ck_assert_str_eq(got, want);
}

/* assert_alert: the fields the three fixtures' alerts share. */
static void assert_alert(const struct alert *a, const char *replica,
                         const char *fingerprint)
{
    ck_assert_uint_eq(a->labels.n, 5);
    assert_sorted(&a->labels);
    ck_assert_str_eq(a->labels.v[0].name, "alertname");
    assert_label(&a->labels, "alertname", "ReplicationLagCritical");
    assert_label(&a->labels, "instance", "127.0.0.1:19100");
    assert_label(&a->labels, "job", "node");
    assert_label(&a->labels, "replica", replica);
    assert_label(&a->labels, "severity", "critical");
    ck_assert_ptr_null(labels_get(&a->labels, "cluster"));
    ck_assert_uint_eq(a->annotations.n, 1);
    assert_label(&a->annotations, "summary", "lag 12.5");
    ck_assert_str_eq(a->generator_url, GEN_URL);
    ck_assert_str_eq(a->fingerprint, fingerprint);
    ck_assert(!a->starts_at.unset);
    ck_assert_int_eq(a->starts_at.nsec, 404000000);
}

static void assert_common(const struct alert_payload *p, size_t ncommon)
{
    ck_assert_str_eq(p->version, "4");
    ck_assert_str_eq(p->receiver, "hook");
    ck_assert_str_eq(p->group_key, "{}:{}");
    ck_assert_str_eq(p->external_url, "http://prometheus.example:19093");
    ck_assert_uint_eq(p->truncated_alerts, 0);
    ck_assert_uint_eq(p->group_labels.n, 0);
    ck_assert_uint_eq(p->common_labels.n, ncommon);
    assert_sorted(&p->common_labels);
    assert_label(&p->common_labels, "alertname", "ReplicationLagCritical");
    assert_label(&p->common_labels, "severity", "critical");
    ck_assert_uint_eq(p->common_annotations.n, 1);
    assert_label(&p->common_annotations, "summary", "lag 12.5");
}

START_TEST(fixture_firing)
{
    struct alert_payload *p = parse_fixture(FIRING);
    const struct alert *a = &p->alerts[0];
    char key[ALERT_DEDUPE_KEY_MAX];

    assert_common(p, 5);
    ck_assert_int_eq(p->status, ALERT_FIRING);
    assert_label(&p->common_labels, "replica", "node2");
    ck_assert_uint_eq(p->nalerts, 1);
    ck_assert_int_eq(a->status, ALERT_FIRING);
    assert_alert(a, "node2", "0e05ed67e762832d");
    ck_assert_int_eq(a->starts_at.sec, T_FIRING);
    ck_assert_double_eq_tol(a->starts_at.seconds, T_FIRING + 0.404, 1e-6);
    ck_assert(a->ends_at.unset);
    ck_assert_int_eq(a->ends_at.sec, 0);
    ck_assert_int_eq(a->ends_at.nsec, 0);
    ck_assert_double_eq(a->ends_at.seconds, 0);
    ck_assert_int_eq(alert_dedupe_key(a, key, sizeof(key)), 37);
    ck_assert_str_eq(key, "0e05ed67e762832d@1795305100.404000000");
    alert_payload_free(p);
}
END_TEST

START_TEST(fixture_two_alerts)
{
    struct alert_payload *p = parse_fixture(TWO);

    assert_common(p, 4);
    ck_assert_ptr_null(labels_get(&p->common_labels, "replica"));
    ck_assert_int_eq(p->status, ALERT_FIRING);
    ck_assert_uint_eq(p->nalerts, 2);
    assert_alert(&p->alerts[0], "node2", "0e05ed67e762832d");
    assert_alert(&p->alerts[1], "node3", "83036cd8777002b8");
    for (size_t i = 0; i < 2; i++) {
        ck_assert_int_eq(p->alerts[i].status, ALERT_FIRING);
        ck_assert_int_eq(p->alerts[i].starts_at.sec, T_2326);
        ck_assert(p->alerts[i].ends_at.unset);
    }
    alert_payload_free(p);
}
END_TEST

START_TEST(fixture_resolved)
{
    struct alert_payload *p = parse_fixture(RESOLVED);
    struct alert_payload *f = parse_fixture(TWO);
    char k1[ALERT_DEDUPE_KEY_MAX];
    char k2[ALERT_DEDUPE_KEY_MAX];

    assert_common(p, 4);
    ck_assert_int_eq(p->status, ALERT_RESOLVED);
    ck_assert_uint_eq(p->nalerts, 2);
    assert_alert(&p->alerts[0], "node2", "0e05ed67e762832d");
    assert_alert(&p->alerts[1], "node3", "83036cd8777002b8");
    for (size_t i = 0; i < 2; i++) {
        const struct alert *a = &p->alerts[i];
        ck_assert_int_eq(a->status, ALERT_RESOLVED);
        ck_assert_int_eq(a->starts_at.sec, T_2326);
        ck_assert(!a->ends_at.unset);
        ck_assert_int_eq(a->ends_at.sec, T_2326 + 5);
        ck_assert_int_eq(a->ends_at.nsec, 404000000);
        ck_assert_double_eq_tol(a->ends_at.seconds, T_2326 + 5.404, 1e-6);
        /* The resolution of an alert has the firing one's key. */
        ck_assert_int_gt(alert_dedupe_key(a, k1, sizeof(k1)), 0);
        ck_assert_int_gt(alert_dedupe_key(&f->alerts[i], k2, sizeof(k2)), 0);
        ck_assert_str_eq(k1, k2);
        if (i == 0)
            ck_assert_str_eq(k1, "0e05ed67e762832d@1795305443.404000000");
    }
    alert_payload_free(p);
    alert_payload_free(f);
}
END_TEST

/* Variants of the firing fixture: replace from by to (from NULL: the
 * whole body is to), expect code (0: accepted) and a reason containing
 * want. */
static const struct {
    const char *from;
    const char *to;
    int code;
    const char *want;
} variants[] = {
    {NULL, "hello", ALERT_ERR_SYNTAX, "not JSON"},
    {NULL, "", ALERT_ERR_SYNTAX, "empty body"},
    {NULL, "[]", ALERT_ERR_TYPE, "not a JSON object"},
    {NULL, "\"4\"", ALERT_ERR_TYPE, "not a JSON object"},
    {"\"truncatedAlerts\":0}", "\"truncatedAlerts\":0}x", ALERT_ERR_SYNTAX,
     "data after the value"},
    {"\"truncatedAlerts\":0}", "\"truncatedAlerts\":0}{}", ALERT_ERR_SYNTAX,
     "data after the value"},
    {"\"truncatedAlerts\":0}", "\"truncatedAlerts\":0} \r\n\t", 0, ""},
    {"\"truncatedAlerts\":0}", "\"truncatedAlerts\":0,}", ALERT_ERR_SYNTAX,
     "not JSON"},
    /* version */
    {"\"version\":\"4\"", "\"version\":\"3\"", ALERT_ERR_VERSION,
     "version \"3\" is not supported"},
    {"\"version\":\"4\"", "\"version\":\"4.0\"", ALERT_ERR_VERSION,
     "version \"4.0\" is not supported"},
    {"\"version\":\"4\"", "\"version\":4", ALERT_ERR_TYPE,
     "version: not a string"},
    {"\"version\":\"4\",", "", ALERT_ERR_MISSING, "version: missing"},
    {"\"version\":\"4\"", "\"version\":null", ALERT_ERR_MISSING,
     "version: missing"},
    /* version is checked before anything else */
    {"\"version\":\"4\"", "\"version\":\"5\",\"alerts\":7", ALERT_ERR_VERSION,
     "version \"5\" is not supported"},
    {"\"version\":\"4\"", "\"version\":\"4\",\"version\":\"4\"",
     ALERT_ERR_VALUE, "version: duplicate field"},
    /* top-level fields */
    {"\"status\":\"firing\",\"alerts\"", "\"status\":\"ok\",\"alerts\"",
     ALERT_ERR_VALUE, "status: \"ok\" is neither firing nor resolved"},
    {"\"status\":\"firing\",\"alerts\"", "\"alerts\"", ALERT_ERR_MISSING,
     "status: missing"},
    {"\"receiver\":\"hook\"", "\"receiver\":1", ALERT_ERR_TYPE,
     "receiver: not a string"},
    {"\"receiver\":\"hook\",", "", 0, ""},
    {"\"receiver\":\"hook\"", "\"receiver\":\"hook\",\"new\":{\"a\":[1,2]}", 0,
     ""},
    {"\"groupLabels\":{}", "\"groupLabels\":[]", ALERT_ERR_TYPE,
     "groupLabels: not an object"},
    {"\"groupLabels\":{}", "\"groupLabels\":null", 0, ""},
    {"\"commonLabels\":{\"alertname\"", "\"commonLabels\":{\"x\":1,\"a\"",
     ALERT_ERR_TYPE, "commonLabels.x: not a string"},
    {"\"externalURL\":\"http://prometheus.example:19093\"",
     "\"externalURL\":[\"http://prometheus.example:19093\"]", ALERT_ERR_TYPE,
     "externalURL: not a string"},
    {"\"truncatedAlerts\":0", "\"truncatedAlerts\":3", 0, ""},
    {"\"truncatedAlerts\":0", "\"truncatedAlerts\":-1", ALERT_ERR_VALUE,
     "truncatedAlerts: not a whole number"},
    {"\"truncatedAlerts\":0", "\"truncatedAlerts\":1.5", ALERT_ERR_VALUE,
     "truncatedAlerts: not a whole number"},
    {"\"truncatedAlerts\":0", "\"truncatedAlerts\":1e999", ALERT_ERR_VALUE,
     "truncatedAlerts: not a whole number"},
    {"\"truncatedAlerts\":0", "\"truncatedAlerts\":\"0\"", ALERT_ERR_TYPE,
     "truncatedAlerts: not a number"},
    /* alerts */
    {"\"alerts\":", "\"alertz\":", ALERT_ERR_MISSING, "alerts: missing"},
    {"\"alerts\":[", "\"alerts\":null,\"x\":[", ALERT_ERR_MISSING,
     "alerts: missing"},
    {"\"alerts\":[", "\"alerts\":\"no\",\"x\":[", ALERT_ERR_TYPE,
     "alerts: not an array"},
    {"\"alerts\":[", "\"alerts\":{\"a\":[", ALERT_ERR_SYNTAX, "not JSON"},
    {"\"alerts\":[", "\"alerts\":[1,", ALERT_ERR_TYPE,
     "alerts[0]: not an object"},
    {"\"alerts\":[", "\"alerts\":[],\"x\":[", 0, ""},
    {"{\"status\":\"firing\",\"labels\"", "{\"status\":\"pending\",\"labels\"",
     ALERT_ERR_VALUE, "alerts[0].status: \"pending\" is neither"},
    {"{\"status\":\"firing\",\"labels\"", "{\"status\":\"FIRING\",\"labels\"",
     ALERT_ERR_VALUE, "alerts[0].status: \"FIRING\" is neither"},
    {"{\"status\":\"firing\",\"labels\"", "{\"labels\"", ALERT_ERR_MISSING,
     "alerts[0].status: missing"},
    {"{\"status\":\"firing\",\"labels\"", "{\"status\":true,\"labels\"",
     ALERT_ERR_TYPE, "alerts[0].status: not a string"},
    /* label sets */
    {"\"severity\":\"critical\"},\"annotations\"",
     "\"severity\":3},\"annotations\"", ALERT_ERR_TYPE,
     "alerts[0].labels.severity: not a string"},
    {"\"severity\":\"critical\"},\"annotations\"",
     "\"severity\":{}},\"annotations\"", ALERT_ERR_TYPE,
     "alerts[0].labels.severity: not a string"},
    {"\"labels\":{", "\"labelz\":{", ALERT_ERR_MISSING,
     "alerts[0].labels: missing"},
    {"\"labels\":{", "\"labels\":[],\"x\":{", ALERT_ERR_TYPE,
     "alerts[0].labels: not an object"},
    {"\"labels\":{", "\"labels\":{},\"x\":{", 0, ""},
    {"\"job\":\"node\"", "\"job\":\"node\",\"job\":\"x\"", ALERT_ERR_VALUE,
     "alerts[0].labels.job: duplicate name"},
    {"\"job\":\"node\"", "\"\":\"node\"", ALERT_ERR_VALUE,
     "alerts[0].labels: empty name"},
    {"\"job\":\"node\"", "\"j\\u00f6b\":\"n\\u00f6de \\ud83d\\ude00\"", 0, ""},
    {"\"job\":\"node\"", "\"job\":\"\\ud83d\"", ALERT_ERR_SYNTAX, "not JSON"},
    {"\"summary\":\"lag 12.5\"},\"startsAt\"", "\"summary\":null},\"startsAt\"",
     ALERT_ERR_TYPE, "alerts[0].annotations.summary: not a string"},
    {"\"annotations\":{", "\"annotations\":null,\"x\":{", 0, ""},
    {"\"annotations\":{", "\"annotations\":\"\",\"x\":{", ALERT_ERR_TYPE,
     "alerts[0].annotations: not an object"},
    /* strings */
    {"\"lag 12.5\"", "\"lag\t12.5\"", ALERT_ERR_SYNTAX,
     "control character in a string"},
    {"\"lag 12.5\"", "\"lag\\u000012.5\"", ALERT_ERR_SYNTAX,
     "\\u0000 in a string"},
    {"\"lag 12.5\"", "\"lag\\\\u000012.5\"", 0, ""},
    {"\"lag 12.5\"", "\"lag \xff\"", ALERT_ERR_SYNTAX,
     "alerts[0].annotations.summary: not valid UTF-8"},
    {"\"lag 12.5\"", "\"lag \xc0\xaf\"", ALERT_ERR_SYNTAX, "not valid UTF-8"},
    {"\"lag 12.5\"", "\"lag \xed\xa0\x80\"", ALERT_ERR_SYNTAX,
     "not valid UTF-8"},
    {"\"lag 12.5\"", "\"lag \xe2\x82\"", ALERT_ERR_SYNTAX, "not valid UTF-8"},
    {"\"lag 12.5\"", "\"lag \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"", 0, ""},
    {"\"job\":\"node\"", "\"j\xffob\":\"node\"", ALERT_ERR_SYNTAX,
     "name not valid UTF-8"},
    /* fingerprint */
    {"\"fingerprint\":", "\"fingerprinz\":", ALERT_ERR_MISSING,
     "alerts[0].fingerprint: missing"},
    {"\"0e05ed67e762832d\"", "\"zz\"", ALERT_ERR_VALUE,
     "alerts[0].fingerprint: not 1 to 64 hex digits"},
    {"\"0e05ed67e762832d\"", "\"\"", ALERT_ERR_VALUE,
     "alerts[0].fingerprint: not 1 to 64 hex digits"},
    {"\"0e05ed67e762832d\"", "\"0E05ED67E762832D\"", 0, ""},
    {"\"fingerprint\":", "\"fingerprint\":\"ab\",\"fingerprint\":",
     ALERT_ERR_VALUE, "alerts[0].fingerprint: duplicate field"},
    /* times */
    {"\"startsAt\":", "\"startedAt\":", ALERT_ERR_MISSING,
     "alerts[0].startsAt: missing"},
    {"\"2026-11-21T23:51:40.404Z\"", "1795305100.404", ALERT_ERR_TYPE,
     "alerts[0].startsAt: not a string"},
    {"\"2026-11-21T23:51:40.404Z\"", "\"0001-01-01T00:00:00Z\"",
     ALERT_ERR_VALUE, "alerts[0].startsAt: unset"},
    {"\"2026-11-21T23:51:40.404Z\"", "\"2026-11-21T23:51:40.404\"",
     ALERT_ERR_VALUE,
     "alerts[0].startsAt: not an RFC 3339 time (missing time zone offset)"},
    {"\"2026-11-21T23:51:40.404Z\"", "\"2026-13-21T23:51:40.404Z\"",
     ALERT_ERR_VALUE, "not an RFC 3339 time (month out of range)"},
    {"\"2026-11-21T23:51:40.404Z\"", "\"2026-02-30T23:51:40.404Z\"",
     ALERT_ERR_VALUE, "not an RFC 3339 time (day out of range)"},
    {"\"2026-11-21T23:51:40.404Z\"", "\"2026-11-21T23:51:40.Z\"",
     ALERT_ERR_VALUE, "not an RFC 3339 time (fraction without digits)"},
    {"\"2026-11-21T23:51:40.404Z\"", "\"2026-11-21T23:51:40.404Zjunk\"",
     ALERT_ERR_VALUE, "not an RFC 3339 time (trailing characters)"},
    {"\"2026-11-21T23:51:40.404Z\"", "\"\"", ALERT_ERR_VALUE,
     "alerts[0].startsAt: not an RFC 3339 time"},
    {"\"2026-11-21T23:51:40.404Z\"", "\"2026-11-22T01:51:40.404+02:00\"", 0,
     ""},
    {"\"endsAt\":\"0001-01-01T00:00:00Z\"", "\"endsAt\":\"yesterday\"",
     ALERT_ERR_VALUE,
     "alerts[0].endsAt: not an RFC 3339 time (expected YYYY-MM-DD): "
     "\"yesterday\""},
    {"\"endsAt\":\"0001-01-01T00:00:00Z\",", "", 0, ""},
    {"\"endsAt\":\"0001-01-01T00:00:00Z\"", "\"endsAt\":null", 0, ""},
};

START_TEST(variant_table)
{
    size_t len;
    char *base = fixture(FIRING, &len);
    char *text = variants[_i].from != NULL
                     ? edit(base, variants[_i].from, variants[_i].to)
                     : xstrdup(variants[_i].to);
    struct alert_payload *p = NULL;
    char err[256];
    int rc = parse_exact(text, strlen(text), &p, err, sizeof(err));

    ck_assert_msg(rc == variants[_i].code, "%s\n  rc %d (%s), want %d", text,
                  rc, err, variants[_i].code);
    ck_assert_msg(strstr(err, variants[_i].want) != NULL,
                  "\n  got:  %s\n  want: ...%s...", err, variants[_i].want);
    if (rc == 0)
        ck_assert_uint_eq(p->nalerts, strstr(text, "\"x\":[") ? 0 : 1);
    else
        ck_assert_ptr_null(p);
    alert_payload_free(p);
    free(text);
    free(base);
}
END_TEST

/* Every prefix of a valid payload that stops short of its last '}' is
 * malformed JSON. */
START_TEST(truncated)
{
    size_t len;
    char *base = fixture(TWO, &len);
    size_t end = (size_t)(strrchr(base, '}') - base);

    ck_assert_uint_gt(end, 1000);
    for (size_t n = 0; n <= end; n++) {
        struct alert_payload *p = NULL;
        char err[256];
        int rc = parse_exact(base, n, &p, err, sizeof(err));
        ck_assert_msg(rc == ALERT_ERR_SYNTAX, "prefix %zu: %d %s", n, rc, err);
        ck_assert_ptr_null(p);
    }
    free(base);
}
END_TEST

START_TEST(nul_bytes)
{
    size_t len;
    char *base = fixture(FIRING, &len);
    size_t at = (size_t)(strstr(base, "lag 12.5") - base) + 3;
    struct alert_payload *p = NULL;
    char err[256];
    char want[64];

    base[at] = '\0';
    ck_assert_int_eq(parse_exact(base, len, &p, err, sizeof(err)),
                     ALERT_ERR_SYNTAX);
    snprintf(want, sizeof(want), "NUL byte at offset %zu", at);
    ck_assert_str_eq(err, want);
    base[at] = ' ';
    base[len - 1] = '\0'; /* the fixture's final newline */
    ck_assert_int_eq(parse_exact(base, len, &p, err, sizeof(err)),
                     ALERT_ERR_SYNTAX);
    ck_assert_ptr_nonnull(strstr(err, "NUL byte"));
    base[len - 1] = '\n';
    ck_assert_int_eq(parse_exact(base, len, &p, err, sizeof(err)), 0);
    alert_payload_free(p);
    free(base);
}
END_TEST

/* nested: the firing fixture with an unknown field of depth arrays. */
static char *nested(size_t depth, const char *open, const char *close)
{
    size_t len;
    char *base = fixture(FIRING, &len);
    struct buf b;
    char *text;

    buf_init(&b, 0);
    buf_puts(&b, "\"truncatedAlerts\":0,\"x\":");
    for (size_t i = 0; i < depth; i++)
        buf_puts(&b, open);
    for (size_t i = 0; i < depth; i++)
        buf_puts(&b, close);
    text = edit(base, "\"truncatedAlerts\":0", b.data);
    buf_free(&b);
    free(base);
    return text;
}

static int parse_text(const char *text, char *err, size_t errlen)
{
    struct alert_payload *p = NULL;
    int rc = parse_exact(text, strlen(text), &p, err, errlen);

    ck_assert(rc == 0 ? p != NULL : p == NULL);
    alert_payload_free(p);
    return rc;
}

START_TEST(nesting)
{
    char err[256];
    /* The payload object is depth 1: 63 arrays in it make 64. */
    char *ok = nested(ALERT_MAX_DEPTH - 1, "[", "]");
    char *deep = nested(ALERT_MAX_DEPTH, "[", "]");
    char *objects = nested(ALERT_MAX_DEPTH, "{\"a\":", "}");
    char *huge = nested(200000, "[", "]");
    char *in_string = nested(1,
                             "\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
                             "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"{",
                             "\"");

    ck_assert_int_eq(parse_text(ok, err, sizeof(err)), 0);
    ck_assert_int_eq(parse_text(deep, err, sizeof(err)), ALERT_ERR_LIMIT);
    ck_assert_str_eq(err, "nesting deeper than 64");
    ck_assert_int_eq(parse_text(objects, err, sizeof(err)), ALERT_ERR_LIMIT);
    ck_assert_str_eq(err, "nesting deeper than 64");
    ck_assert_int_eq(parse_text(huge, err, sizeof(err)), ALERT_ERR_LIMIT);
    ck_assert_int_eq(parse_text(in_string, err, sizeof(err)), 0);
    free(ok);
    free(deep);
    free(objects);
    free(huge);
    free(in_string);
}
END_TEST

/* many_alerts: the firing fixture with its alert repeated n times. */
static char *many_alerts(size_t n)
{
    size_t len;
    char *base = fixture(FIRING, &len);
    const char *start = strstr(base, "\"alerts\":[") + strlen("\"alerts\":[");
    const char *end = strstr(base, "],\"groupLabels\"");
    struct buf b;

    buf_init(&b, 0);
    buf_append(&b, base, (size_t)(start - base));
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            buf_puts(&b, ",");
        buf_append(&b, start, (size_t)(end - start));
    }
    buf_puts(&b, end);
    free(base);
    return buf_detach(&b);
}

START_TEST(alert_count)
{
    char *ok = many_alerts(ALERT_MAX_ALERTS);
    char *over = many_alerts(ALERT_MAX_ALERTS + 1);
    struct alert_payload *p = NULL;
    char err[256];

    ck_assert_int_eq(parse_exact(ok, strlen(ok), &p, err, sizeof(err)), 0);
    ck_assert_uint_eq(p->nalerts, ALERT_MAX_ALERTS);
    ck_assert_str_eq(p->alerts[ALERT_MAX_ALERTS - 1].fingerprint,
                     "0e05ed67e762832d");
    assert_label(&p->alerts[9999].labels, "replica", "node2");
    alert_payload_free(p);
    ck_assert_int_eq(parse_text(over, err, sizeof(err)), ALERT_ERR_LIMIT);
    ck_assert_str_eq(err, "more than 10000 alerts");
    free(ok);
    free(over);
}
END_TEST

/* firing_with: the firing fixture with its first `at` replaced by the
 * text b holds; frees b's buffer. The caller frees the result. */
static char *firing_with(const char *at, struct buf *b)
{
    size_t len;
    char *base = fixture(FIRING, &len);
    char *text = edit(base, at, b->data);
    buf_free(b);
    free(base);
    return text;
}

/* put_n: appends n copies of character c to b. */
static void put_n(struct buf *b, char c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf_append(b, &c, 1);
}

/* with_label: the firing fixture with one more alert label. */
static char *with_label(size_t name_len, size_t value_len)
{
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, "\"labels\":{\"");
    put_n(&b, 'n', name_len);
    buf_puts(&b, "\":\"");
    put_n(&b, 'v', value_len);
    buf_puts(&b, "\",");
    return firing_with("\"labels\":{", &b);
}

/* with_labels: the firing fixture with n alert labels l0 .. l<n-1>. */
static char *with_labels(size_t n)
{
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, "\"labels\":{");
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "%s\"l%zu\":\"%zu\"", i > 0 ? "," : "", i, i);
    buf_puts(&b, "},\"x\":{");
    return firing_with("\"labels\":{", &b);
}

START_TEST(sizes)
{
    char err[256];
    char *big = with_label(1, ALERT_MAX_VALUE);
    char *huge = with_label(1, ALERT_MAX_VALUE + 1);
    char *name = with_label(ALERT_MAX_NAME, 1);
    char *long_name = with_label(ALERT_MAX_NAME + 1, 1);
    char *full = with_labels(ALERT_MAX_LABELS);
    char *over = with_labels(ALERT_MAX_LABELS + 1);

    ck_assert_int_eq(parse_text(big, err, sizeof(err)), 0);
    ck_assert_int_eq(parse_text(huge, err, sizeof(err)), ALERT_ERR_LIMIT);
    ck_assert_str_eq(err, "alerts[0].labels.n: longer than 65536 bytes");
    ck_assert_int_eq(parse_text(name, err, sizeof(err)), 0);
    ck_assert_int_eq(parse_text(long_name, err, sizeof(err)), ALERT_ERR_LIMIT);
    ck_assert_str_eq(err, "alerts[0].labels.nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
                          "nnnnnnnn...: name longer than 1024 bytes");
    ck_assert_int_eq(parse_text(full, err, sizeof(err)), 0);
    /* Alertmanager does not retry a 400: more labels are legal and kept */
    ck_assert_int_eq(parse_text(over, err, sizeof(err)), 0);
    free(big);
    free(huge);
    free(name);
    free(long_name);
    free(full);
    free(over);
}
END_TEST

/* with_annotations: the firing fixture with alert annotations a0 ..
 * a<n-1> (a0 first), a0's value value_len bytes of 'v' then "\u00e9". */
static char *with_annotations(size_t n, size_t value_len)
{
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, "\"annotations\":{\"a0\":\"");
    put_n(&b, 'v', value_len);
    buf_puts(&b, "\u00e9\"");
    for (size_t i = 1; i < n; i++)
        buf_printf(&b, ",\"a%05zu\":\"%zu\"", i, i);
    buf_puts(&b, "},\"x\":{");
    return firing_with("\"annotations\":{", &b);
}

/* Legal payloads are accepted; only what is kept is bounded. */
START_TEST(kept_not_refused)
{
    static const struct {
        size_t n, value_len; /* annotations, a0's length before the é */
        size_t kept, a0_len, trimmed;
    } cases[] = {
        {1, 10, 1, 12, 0},
        {1, ALERT_MAX_VALUE - 2, 1, ALERT_MAX_VALUE, 0},
        /* é would straddle the cut: cut before it, not inside */
        {1, ALERT_MAX_VALUE - 1, 1, ALERT_MAX_VALUE - 1, 1},
        {1, 200000, 1, ALERT_MAX_VALUE, 1},
        {ALERT_MAX_LABELS, 1, ALERT_MAX_LABELS, 3, 0},
        {ALERT_MAX_LABELS + 1, 1, ALERT_MAX_LABELS, 3, 1},
        {1000, 200000, ALERT_MAX_LABELS, ALERT_MAX_VALUE, 1 + 1000 - 128},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char *text = with_annotations(cases[i].n, cases[i].value_len);
        struct alert_payload *p = NULL;
        char err[256];
        int rc = alert_parse(text, strlen(text), &p, err, sizeof(err));
        ck_assert_msg(rc == 0, "case %zu: %s", i, err);
        const struct labels *an = &p->alerts[0].annotations;
        ck_assert_uint_eq(an->n, cases[i].kept);
        ck_assert_str_eq(an->v[0].name, "a0");
        ck_assert_uint_eq(strlen(an->v[0].value), cases[i].a0_len);
        ck_assert_uint_eq(p->trimmed, cases[i].trimmed);
        alert_payload_free(p);
        free(text);
    }
}
END_TEST

START_TEST(sorted_lookup)
{
    char *text = with_labels(100);
    struct alert_payload *p = NULL;
    char err[256];
    char name[16];
    char want[16];

    ck_assert_int_eq(parse_exact(text, strlen(text), &p, err, sizeof(err)), 0);
    ck_assert_uint_eq(p->alerts[0].labels.n, 100);
    assert_sorted(&p->alerts[0].labels);
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "l%d", i);
        snprintf(want, sizeof(want), "%d", i);
        assert_label(&p->alerts[0].labels, name, want);
    }
    ck_assert_ptr_null(labels_get(&p->alerts[0].labels, "l100"));
    ck_assert_ptr_null(labels_get(&p->alerts[0].labels, ""));
    ck_assert_ptr_null(labels_get(&p->group_labels, "l1"));
    ck_assert_ptr_null(labels_get(NULL, "l1"));
    alert_payload_free(p);
    free(text);
}
END_TEST

START_TEST(error_buffer)
{
    char err[8];
    struct alert_payload *p = NULL;

    memset(err, 'x', sizeof(err));
    ck_assert_int_eq(
        alert_parse("{\"version\":\"3\"}", 15, &p, err, sizeof(err)),
        ALERT_ERR_VERSION);
    ck_assert_str_eq(err, "version");
    ck_assert_int_eq(alert_parse("{\"version\":1}", 13, &p, err, 1),
                     ALERT_ERR_TYPE);
    ck_assert_str_eq(err, "");
    ck_assert_int_eq(alert_parse("{}", 2, &p, NULL, 0), ALERT_ERR_MISSING);
    ck_assert_int_eq(alert_parse(NULL, 0, &p, NULL, 0), ALERT_ERR_SYNTAX);
    ck_assert_ptr_null(p);
    alert_payload_free(NULL);
    ck_assert_str_eq(alert_error_name(ALERT_ERR_VERSION), "version");
    ck_assert_str_eq(alert_error_name(ALERT_ERR_LIMIT), "limit");
    ck_assert_str_eq(alert_error_name(0), "ok");
    ck_assert_str_eq(alert_error_name(42), "unknown");
}
END_TEST

/* RFC 3339: rc 0 with the instant, or -1 with a reason. */
static const struct {
    const char *in;
    int rc;
    long long sec;
    int nsec;
    bool unset;
    const char *why;
} times[] = {
    {"2026-11-21T23:51:40Z", 0, T_FIRING, 0, false, NULL},
    {"2026-11-21T23:51:40.1Z", 0, T_FIRING, 100000000, false, NULL},
    {"2026-11-21T23:51:40.12Z", 0, T_FIRING, 120000000, false, NULL},
    {"2026-11-21T23:51:40.123Z", 0, T_FIRING, 123000000, false, NULL},
    {"2026-11-21T23:51:40.1234Z", 0, T_FIRING, 123400000, false, NULL},
    {"2026-11-21T23:51:40.12345Z", 0, T_FIRING, 123450000, false, NULL},
    {"2026-11-21T23:51:40.123456Z", 0, T_FIRING, 123456000, false, NULL},
    {"2026-11-21T23:51:40.1234567Z", 0, T_FIRING, 123456700, false, NULL},
    {"2026-11-21T23:51:40.12345678Z", 0, T_FIRING, 123456780, false, NULL},
    {"2026-11-21T23:51:40.123456789Z", 0, T_FIRING, 123456789, false, NULL},
    {"2026-11-21T23:51:40.1234567891Z", 0, T_FIRING, 123456789, false, NULL},
    {"2026-11-21T23:51:40.12345678999Z", 0, T_FIRING, 123456789, false, NULL},
    {"2026-11-21T23:51:40.999999999999Z", 0, T_FIRING, 999999999, false, NULL},
    {"2026-11-21T23:51:40.000000000001Z", 0, T_FIRING, 0, false, NULL},
    {"2026-11-22T01:51:40+02:00", 0, T_FIRING, 0, false, NULL},
    {"2026-11-21T16:21:40-07:30", 0, T_FIRING, 0, false, NULL},
    {"2026-11-21T23:51:40+00:00", 0, T_FIRING, 0, false, NULL},
    {"2026-11-21T23:51:40-00:00", 0, T_FIRING, 0, false, NULL},
    {"2026-11-22T23:50:40.5+23:59", 0, T_FIRING, 500000000, false, NULL},
    {"2026-11-21t23:51:40z", 0, T_FIRING, 0, false, NULL},
    {"1970-01-01T00:00:00Z", 0, 0, 0, false, NULL},
    {"1969-12-31T23:59:59.5Z", 0, -1, 500000000, false, NULL},
    {"2024-02-29T12:00:00Z", 0, 1709208000, 0, false, NULL},
    {"2000-02-29T00:00:00Z", 0, 951782400, 0, false, NULL},
    {"2024-12-31T23:59:59Z", 0, 1735689599, 0, false, NULL},
    {"9999-12-31T23:59:59.999999999Z", 0, 253402300799LL, 999999999, false,
     NULL},
    {"0001-01-01T00:00:00Z", 0, 0, 0, true, NULL},
    {"0001-01-01T00:00:00.000Z", 0, 0, 0, true, NULL},
    {"0001-01-01T02:00:00+02:00", 0, 0, 0, true, NULL},
    {"0001-01-01T00:00:00.000000001Z", 0, -62135596800LL, 1, false, NULL},
    {"0001-01-01T00:00:01Z", 0, -62135596799LL, 0, false, NULL},
    {"2026-02-29T00:00:00Z", -1, 0, 0, false, "day out of range"},
    {"1900-02-29T00:00:00Z", -1, 0, 0, false, "day out of range"},
    {"2026-02-30T00:00:00Z", -1, 0, 0, false, "day out of range"},
    {"2026-04-31T00:00:00Z", -1, 0, 0, false, "day out of range"},
    {"2026-11-00T00:00:00Z", -1, 0, 0, false, "day out of range"},
    {"2026-13-01T00:00:00Z", -1, 0, 0, false, "month out of range"},
    {"2026-00-01T00:00:00Z", -1, 0, 0, false, "month out of range"},
    {"2026-11-21T24:00:00Z", -1, 0, 0, false, "hour out of range"},
    {"2026-11-21T23:60:00Z", -1, 0, 0, false, "minute out of range"},
    {"2026-11-21T23:59:60Z", -1, 0, 0, false, "second out of range"},
    {"2026-11-21T23:51:40", -1, 0, 0, false, "missing time zone offset"},
    {"2026-11-21T23:51:40.404", -1, 0, 0, false, "missing time zone offset"},
    {"2026-11-21T23:51:40.Z", -1, 0, 0, false, "fraction without digits"},
    {"2026-11-21T23:51:40.", -1, 0, 0, false, "fraction without digits"},
    {"2026-11-21T23:51:40,5Z", -1, 0, 0, false, "expected 'Z'"},
    {"2026-11-21T23:51:40Zjunk", -1, 0, 0, false, "trailing characters"},
    {"2026-11-21T23:51:40Z ", -1, 0, 0, false, "trailing characters"},
    {"2026-11-21T23:51:40+02:00Z", -1, 0, 0, false, "trailing characters"},
    {"2026-11-21T23:51:40+0200", -1, 0, 0, false, "expected an offset"},
    {"2026-11-21T23:51:40+2:00", -1, 0, 0, false, "expected an offset"},
    {"2026-11-21T23:51:40+24:00", -1, 0, 0, false, "offset out of range"},
    {"2026-11-21T23:51:40+02:60", -1, 0, 0, false, "offset out of range"},
    {"2026-11-21 23:51:40Z", -1, 0, 0, false, "expected 'T'"},
    {"2026-11-21T23:51Z", -1, 0, 0, false, "expected hh:mm:ss"},
    {"2026-11-21T2:51:40Z", -1, 0, 0, false, "expected hh:mm:ss"},
    {"2026-1-21T23:51:40Z", -1, 0, 0, false, "expected YYYY-MM-DD"},
    {"26-11-21T23:51:40Z", -1, 0, 0, false, "expected YYYY-MM-DD"},
    {" 2026-11-21T23:51:40Z", -1, 0, 0, false, "expected YYYY-MM-DD"},
    {"+2026-11-21T23:51:40Z", -1, 0, 0, false, "expected YYYY-MM-DD"},
    {"", -1, 0, 0, false, "expected YYYY-MM-DD"},
    {"1795305100", -1, 0, 0, false, "expected YYYY-MM-DD"},
};

START_TEST(time_table)
{
    const char *in = times[_i].in;
    size_t len = strlen(in);
    char *copy = xmalloc(len > 0 ? len : 1); /* not NUL-terminated */
    struct alert_time t;
    const char *why = NULL;
    int rc;

    memcpy(copy, in, len);
    rc = alert_parse_time(copy, len, &t, &why);
    free(copy);
    ck_assert_msg(rc == times[_i].rc, "\"%s\": rc %d (%s)", in, rc,
                  why ? why : "");
    if (rc < 0) {
        ck_assert_msg(why != NULL && strstr(why, times[_i].why) != NULL,
                      "\"%s\": reason \"%s\", want \"%s\"", in, why,
                      times[_i].why);
        ck_assert(!t.unset && t.sec == 0 && t.nsec == 0 && t.seconds == 0);
        return;
    }
    ck_assert_msg(t.sec == times[_i].sec && t.nsec == times[_i].nsec,
                  "\"%s\": %lld.%09d", in, (long long)t.sec, (int)t.nsec);
    ck_assert_int_eq(t.unset, times[_i].unset);
    ck_assert_double_eq_tol(t.seconds, (double)t.sec + t.nsec / 1e9, 1e-6);
    ck_assert_int_eq(alert_parse_time(in, len, &t, NULL), 0);
}
END_TEST

#define TIME(s) s, strlen(s)

START_TEST(dedupe_key)
{
    struct alert a = {.fingerprint = "0e05ed67e762832d"};
    char key[ALERT_DEDUPE_KEY_MAX];
    char small[20];

    ck_assert_int_eq(alert_parse_time(TIME("2026-11-22T01:57:23.404+02:00"),
                                      &a.starts_at, NULL),
                     0);
    ck_assert_int_eq(alert_dedupe_key(&a, key, sizeof(key)), 37);
    ck_assert_str_eq(key, "0e05ed67e762832d@1795305443.404000000");
    ck_assert_int_eq(alert_parse_time(TIME("2026-11-21T23:57:23.4040000001Z"),
                                      &a.starts_at, NULL),
                     0);
    ck_assert_int_eq(alert_dedupe_key(&a, key, sizeof(key)), 37);
    ck_assert_str_eq(key, "0e05ed67e762832d@1795305443.404000000");
    ck_assert_int_eq(alert_parse_time(TIME("1969-12-31T23:59:59.000000001Z"),
                                      &a.starts_at, NULL),
                     0);
    ck_assert_int_eq(alert_dedupe_key(&a, key, sizeof(key)), 29);
    ck_assert_str_eq(key, "0e05ed67e762832d@-1.000000001");
    ck_assert_int_eq(alert_dedupe_key(&a, small, sizeof(small)), -1);
    ck_assert_str_eq(small, "");
    ck_assert_int_eq(alert_dedupe_key(&a, NULL, 0), -1);
}
END_TEST

static const struct {
    const char *in;
    const char *want;
} env_names[] = {
    {"severity", "SEVERITY"},
    {"alertname", "ALERTNAME"},
    {"Foo9_bar", "FOO9_BAR"},
    {"alert-name.x y", "ALERT_NAME_X_Y"},
    {"__name__", "__NAME__"},
    {"9lives", "9LIVES"},
    {"r\xc3\xa9gion", "R_GION"},
    {"\xe6\x97\xa5\xe6\x9c\xac", "__"},
    {"a\xf0\x9f\x98\x80z", "A_Z"},
    {"a\x80z", "A_Z"},
    {"a=b", "A_B"},
    {"", ""},
};

START_TEST(env_name_table)
{
    char *got = alert_label_env_name(env_names[_i].in);

    ck_assert_str_eq(got, env_names[_i].want);
    free(got);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("alert");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, fixture_firing);
    tcase_add_test(tc, fixture_two_alerts);
    tcase_add_test(tc, fixture_resolved);
    tcase_add_loop_test(tc, variant_table, 0, (int)ARRAY_LEN(variants));
    tcase_add_test(tc, truncated);
    tcase_add_test(tc, nul_bytes);
    tcase_add_test(tc, nesting);
    tcase_add_test(tc, alert_count);
    tcase_add_test(tc, sizes);
    tcase_add_test(tc, kept_not_refused);
    tcase_add_test(tc, sorted_lookup);
    tcase_add_test(tc, error_buffer);
    tcase_add_loop_test(tc, time_table, 0, (int)ARRAY_LEN(times));
    tcase_add_test(tc, dedupe_key);
    tcase_add_loop_test(tc, env_name_table, 0, (int)ARRAY_LEN(env_names));
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
