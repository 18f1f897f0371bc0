/* test_httpd.c: every endpoint of the HTTP server, over real loopback
 * connections with libcurl, answered from snapshots the test publishes.
 *
 * The view: cluster "main" (read_max_lag 100ms) with node1 primary,
 * node2 a replica 200ms behind, node3 one 10ms behind, node4 stale. */
#define _XOPEN_SOURCE 700
#include <check.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/fileio.h"
#include "serve/httpd.h"
#include "act/journal.h"
#include "lib/log.h"
#include "act/remedy.h"
#include "monitor/snapshot.h"
#include "test_support.h"
#include "lib/util.h"

#define CT_METRICS "text/plain; version=0.0.4; charset=utf-8"
#define CT_JSON    "application/json"

struct fixture {
    struct cluster_view cluster;
    struct node_view nodes[4];
    struct agent_view v;
};

static struct node_view replica(const char *name, double lag)
{
    struct node_view n = {.cluster = "main",
                          .name = name,
                          .role = "replica",
                          .url = "http://127.0.0.1:1",
                          .up = true,
                          .fresh = true,
                          .last_failure = -1,
                          .health = HEALTH_HEALTHY};
    n.rv = (struct replica_view){.reachable = true,
                                 .fresh = true,
                                 .connected = true,
                                 .have_lag = true,
                                 .lag = lag};
    n.in_rotation = read_rotation_ok(&n.rv, 0.1, &n.rotation_why);
    return n;
}

static void fixture_init(struct fixture *fx, bool ready)
{
    fx->nodes[0] = (struct node_view){.cluster = "main",
                                      .name = "node1",
                                      .role = "primary",
                                      .is_primary = true,
                                      .url = "http://127.0.0.1:1",
                                      .up = true,
                                      .fresh = true,
                                      .last_failure = -1};
    fx->nodes[1] = replica("node2", 0.2);
    fx->nodes[2] = replica("node3", 0.01);
    fx->nodes[3] = replica("node4", 0);
    fx->nodes[3].up = fx->nodes[3].fresh = false;
    fx->nodes[3].rv = (struct replica_view){0};
    fx->nodes[3].health = HEALTH_UNKNOWN;
    fx->cluster = (struct cluster_view){.name = "main",
                                        .lag_source = "heartbeat",
                                        .th = {5, 10, 60, 0.1},
                                        .n_nodes = 4};
    fx->v = (struct agent_view){.version = "0.1.0-test",
                                .rounds = 1,
                                .ready = ready,
                                .clusters = &fx->cluster,
                                .n_clusters = 1,
                                .nodes = fx->nodes,
                                .n_nodes = 4};
}

/* --- the server under test ---------------------------------------------- */

struct server {
    struct snapbox box;
    struct httpd *h;
    unsigned port;
};

static void server_start_with(struct server *s, struct remedy *rem)
{
    char err[256] = "";
    struct httpd_options o = {.host = "127.0.0.1", .port = 0, .rem = rem};
    snapbox_init(&s->box);
    s->h = httpd_start(&o, &s->box, err, sizeof(err));
    ck_assert_msg(s->h != NULL, "httpd_start: %s", err);
    s->port = httpd_port(s->h);
    ck_assert_uint_ne(s->port, 0);
}

static void server_start(struct server *s)
{
    server_start_with(s, NULL);
}

static void server_stop(struct server *s)
{
    httpd_stop(s->h);
    snapbox_destroy(&s->box);
}

/* publish: v's snapshot, each replica's read rotation judged first as
 * the engine does at read_rise 1 and read_fall 1 (the view's rv is what
 * the tests change). */
static void publish(struct server *s, struct agent_view *v)
{
    for (size_t i = 0; i < v->n_nodes; i++) {
        struct node_view *n = &v->nodes[i];
        if (!n->is_primary)
            n->in_rotation = read_rotation_ok(
                &n->rv, v->clusters[0].th.read_max_lag, &n->rotation_why);
    }
    snapbox_publish(&s->box, snapshot_new(v));
}

/* --- the client --------------------------------------------------------- */

struct resp {
    long status;
    char ctype[128];
    struct buf body;
    struct buf headers;
};

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    buf_append(ud, p, size * n);
    return size * n;
}

/* http: one request; method is GET, HEAD, POST (with a small body) or
 * any other verb. Free the answer with resp_free(). */
static void http(const struct server *s, const char *method, const char *path,
                 struct resp *r)
{
    char url[512];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", s->port, path);
    memset(r, 0, sizeof(*r));
    buf_init(&r->body, 0);
    buf_init(&r->headers, 0);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "POST") == 0)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{}");
    else if (strcmp(method, "GET") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    CURLcode rc = curl_easy_perform(c);
    ck_assert_msg(rc == CURLE_OK, "%s %s: %s", method, path,
                  curl_easy_strerror(rc));
    char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(r->ctype, sizeof(r->ctype), "%s", ct ? ct : "");
    curl_easy_cleanup(c);
    if (!r->body.data)
        buf_puts(&r->body, "");
}

static void resp_free(struct resp *r)
{
    buf_free(&r->body);
    buf_free(&r->headers);
}

/* expect_json: r is status with a JSON body; returns the parsed body
 * (cJSON_Delete it). */
static cJSON *expect_json(const struct resp *r, long status)
{
    ck_assert_msg(r->status == status, "status %ld, want %ld: %s", r->status,
                  status, r->body.data);
    ck_assert_str_eq(r->ctype, CT_JSON);
    cJSON *j = cJSON_Parse(r->body.data);
    ck_assert_msg(j != NULL, "not JSON: %s", r->body.data);
    return j;
}

/* expect_error: r is status with body {"error": msg}. */
static void expect_error(const struct resp *r, long status, const char *msg)
{
    cJSON *j = expect_json(r, status);
    cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    ck_assert_msg(cJSON_IsString(e), "no error in %s", r->body.data);
    ck_assert_str_eq(e->valuestring, msg);
    ck_assert_int_eq(cJSON_GetArraySize(j), 1);
    cJSON_Delete(j);
}

static void get_expect_error(const struct server *s, const char *method,
                             const char *path, long status, const char *msg)
{
    struct resp r;
    http(s, method, path, &r);
    expect_error(&r, status, msg);
    resp_free(&r);
}

static const char *str_field(const cJSON *j, const char *key)
{
    cJSON *it = cJSON_GetObjectItemCaseSensitive(j, key);
    ck_assert_msg(cJSON_IsString(it), "\"%s\" is not a string", key);
    return it->valuestring;
}

static double num_field(const cJSON *j, const char *key)
{
    cJSON *it = cJSON_GetObjectItemCaseSensitive(j, key);
    ck_assert_msg(cJSON_IsNumber(it), "\"%s\" is not a number", key);
    return it->valuedouble;
}

static bool null_field(const cJSON *j, const char *key)
{
    return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, key));
}

/* --- tests -------------------------------------------------------------- */

START_TEST(not_ready_before_the_first_snapshot)
{
    struct server s;
    server_start(&s);
    struct resp r;
    http(&s, "GET", "/-/healthy", &r);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    const char *data[] = {"/-/ready", "/metrics", "/api/v1/state",
                          "/health/replica/main/node2",
                          "/health/primary/main/node1"};
    for (size_t i = 0; i < ARRAY_LEN(data); i++)
        get_expect_error(&s, "GET", data[i], 503, "not ready");
    http(&s, "HEAD", "/health/replica/main/node3", &r);
    ck_assert_int_eq(r.status, 503);
    ck_assert_uint_eq(r.body.len, 0);
    resp_free(&r);
    server_stop(&s);
}
END_TEST

START_TEST(ready_flips_with_a_ready_snapshot)
{
    struct server s;
    struct fixture fx;
    struct resp r;
    server_start(&s);
    fixture_init(&fx, false);
    publish(&s, &fx.v);
    get_expect_error(&s, "GET", "/-/ready", 503, "not ready");
    http(&s, "GET", "/metrics", &r); /* data is served all the same */
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    fx.v.ready = true;
    publish(&s, &fx.v);
    http(&s, "GET", "/-/ready", &r);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    http(&s, "HEAD", "/-/ready", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.body.len, 0);
    resp_free(&r);
    server_stop(&s);
}
END_TEST

START_TEST(metrics_serves_the_snapshot)
{
    struct server s;
    struct fixture fx;
    struct resp r;
    server_start(&s);
    fixture_init(&fx, true);
    publish(&s, &fx.v);
    struct snapshot *snap = snapbox_get(&s.box);
    size_t len;
    const char *want = snapshot_metrics(snap, &len);
    http(&s, "GET", "/metrics", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.ctype, CT_METRICS);
    ck_assert_uint_eq(r.body.len, len);
    ck_assert_str_eq(r.body.data, want);
    resp_free(&r);

    http(&s, "HEAD", "/metrics", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.ctype, CT_METRICS);
    ck_assert_uint_eq(r.body.len, 0);
    char cl[64];
    snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n", len);
    ck_assert_msg(strstr(r.headers.data, cl), "no %s in %s", cl,
                  r.headers.data);
    resp_free(&r);
    snapshot_unref(snap);
    server_stop(&s);
}
END_TEST

START_TEST(state_is_json)
{
    struct server s;
    struct fixture fx;
    struct resp r;
    server_start(&s);
    fixture_init(&fx, true);
    publish(&s, &fx.v);
    http(&s, "GET", "/api/v1/state", &r);
    cJSON *j = expect_json(&r, 200);
    ck_assert_str_eq(str_field(j, "version"), "0.1.0-test");
    cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "clusters"), 0);
    ck_assert_str_eq(str_field(c, "name"), "main");
    ck_assert_str_eq(str_field(c, "primary"), "node1");
    cJSON_Delete(j);
    resp_free(&r);
    server_stop(&s);
}
END_TEST

/* replica_check: GET path answers status with that JSON status, reason
 * (NULL: null) and max_lag. */
static void replica_check(const struct server *s, const char *path, long status,
                          const char *reason, double max_lag)
{
    struct resp r;
    http(s, "GET", path, &r);
    cJSON *j = expect_json(&r, status);
    ck_assert_str_eq(str_field(j, "cluster"), "main");
    ck_assert_str_eq(str_field(j, "status"),
                     status == 200 ? "ok" : "unavailable");
    if (reason)
        ck_assert_str_eq(str_field(j, "reason"), reason);
    else
        ck_assert(null_field(j, "reason"));
    ck_assert_double_eq_tol(num_field(j, "max_lag"), max_lag, 1e-12);
    cJSON_Delete(j);
    resp_free(&r);
}

START_TEST(replica_health)
{
    struct server s;
    struct fixture fx;
    struct resp r;
    server_start(&s);
    fixture_init(&fx, true);
    publish(&s, &fx.v);
    /* node2 is 200ms behind: out at the default 100ms, in at 1s */
    http(&s, "GET", "/health/replica/main/node2", &r);
    cJSON *j = expect_json(&r, 503);
    ck_assert_str_eq(str_field(j, "node"), "node2");
    ck_assert_str_eq(str_field(j, "status"), "unavailable");
    ck_assert_str_eq(str_field(j, "reason"), "lag above max_lag");
    ck_assert_double_eq_tol(num_field(j, "lag"), 0.2, 1e-12);
    ck_assert_double_eq_tol(num_field(j, "max_lag"), 0.1, 1e-12);
    ck_assert_str_eq(str_field(j, "health"), "healthy");
    cJSON_Delete(j);
    resp_free(&r);
    replica_check(&s, "/health/replica/main/node2?max_lag=1s", 200, NULL, 1);
    replica_check(&s, "/health/replica/main/node2?max_lag=250ms", 200, NULL,
                  0.25);
    replica_check(&s, "/health/replica/main/node3", 200, NULL, 0.1);
    replica_check(&s, "/health/replica/main/node3?max_lag=0s", 503,
                  "lag above max_lag", 0);
    replica_check(&s, "/health/replica/main/node1", 503, "not a replica", 0.1);
    replica_check(&s, "/health/replica/main/node4", 503, "unreachable", 0.1);
    http(&s, "GET", "/health/replica/main/node4", &r);
    j = expect_json(&r, 503);
    ck_assert(null_field(j, "lag"));
    ck_assert_str_eq(str_field(j, "health"), "unknown");
    cJSON_Delete(j);
    resp_free(&r);
    get_expect_error(&s, "GET", "/health/replica/main/node2?max_lag=bogus", 400,
                     "invalid max_lag: want a duration such as 250ms or 2s");
    get_expect_error(&s, "GET", "/health/replica/main/node2?max_lag=-1s", 400,
                     "invalid max_lag: want a duration such as 250ms or 2s");
    server_stop(&s);
}
END_TEST

START_TEST(head_answers_without_a_body)
{
    struct server s;
    struct fixture fx;
    struct resp r;
    server_start(&s);
    fixture_init(&fx, true);
    publish(&s, &fx.v);
    const struct {
        const char *path;
        long status;
    } cases[] = {{"/health/replica/main/node3", 200},
                 {"/health/replica/main/node2", 503},
                 {"/health/replica/main/node2?max_lag=1s", 200},
                 {"/health/primary/main/node1", 200},
                 {"/health/primary/main/node2", 503},
                 {"/health/replica/main/nodeX", 404}};
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        http(&s, "HEAD", cases[i].path, &r);
        ck_assert_msg(r.status == cases[i].status, "HEAD %s: %ld",
                      cases[i].path, r.status);
        ck_assert_str_eq(r.ctype, CT_JSON);
        ck_assert_uint_eq(r.body.len, 0);
        resp_free(&r);
    }
    server_stop(&s);
}
END_TEST

START_TEST(unknown_targets_are_404)
{
    struct server s;
    struct fixture fx;
    server_start(&s);
    fixture_init(&fx, true);
    publish(&s, &fx.v);
    get_expect_error(&s, "GET", "/health/replica/main/nodeX", 404,
                     "unknown node");
    get_expect_error(&s, "GET", "/health/replica/nope/node2", 404,
                     "unknown cluster");
    get_expect_error(&s, "GET", "/health/primary/main/nodeX", 404,
                     "unknown node");
    const char *bad[] = {
        "/health/replica/main",         "/health/replica/main/",
        "/health/replica//node2",       "/health/replica/",
        "/health/replica/main/node2/x", "/health/primary/"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        get_expect_error(&s, "GET", bad[i], 404, "not found");
    server_stop(&s);
}
END_TEST

START_TEST(primary_health)
{
    struct server s;
    struct fixture fx;
    struct resp r;
    server_start(&s);
    fixture_init(&fx, true);
    publish(&s, &fx.v);
    http(&s, "GET", "/health/primary/main/node1", &r);
    cJSON *j = expect_json(&r, 200);
    ck_assert_str_eq(str_field(j, "status"), "ok");
    ck_assert(null_field(j, "reason"));
    ck_assert_str_eq(str_field(j, "role"), "primary");
    cJSON_Delete(j);
    resp_free(&r);
    http(&s, "GET", "/health/primary/main/node2", &r);
    j = expect_json(&r, 503);
    ck_assert_str_eq(str_field(j, "reason"), "not the primary");
    cJSON_Delete(j);
    resp_free(&r);

    fx.nodes[0].up = false; /* the primary's last scrape failed */
    publish(&s, &fx.v);
    http(&s, "GET", "/health/primary/main/node1", &r);
    j = expect_json(&r, 503);
    ck_assert_str_eq(str_field(j, "status"), "unavailable");
    ck_assert_str_eq(str_field(j, "reason"), "unreachable");
    cJSON_Delete(j);
    resp_free(&r);
    server_stop(&s);
}
END_TEST

START_TEST(wrong_paths_and_methods)
{
    struct server s;
    struct fixture fx;
    struct resp r;
    server_start(&s);
    fixture_init(&fx, true);
    publish(&s, &fx.v);
    /* "/" is the status page (issue 18); a path under it is not */
    const char *missing[] = {"/index.html",     "/nope",           "/metrics/",
                             "/api/v1/state/x", "/health/replica", "/health"};
    for (size_t i = 0; i < ARRAY_LEN(missing); i++)
        get_expect_error(&s, "GET", missing[i], 404, "not found");
    http(&s, "GET", "/", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.ctype, "text/html; charset=utf-8");
    resp_free(&r);
    get_expect_error(&s, "POST", "/nope", 404, "not found");
    const struct {
        const char *method, *path;
    } wrong[] = {{"POST", "/metrics"},
                 {"DELETE", "/-/healthy"},
                 {"PUT", "/health/replica/main/node2"},
                 {"POST", "/health/primary/main/node1"},
                 {"PATCH", "/api/v1/state"}};
    for (size_t i = 0; i < ARRAY_LEN(wrong); i++) {
        http(&s, wrong[i].method, wrong[i].path, &r);
        expect_error(&r, 405, "method not allowed");
        ck_assert_msg(strstr(r.headers.data, "\r\nAllow: GET, HEAD\r\n"),
                      "%s %s: no Allow in %s", wrong[i].method, wrong[i].path,
                      r.headers.data);
        resp_free(&r);
    }
    server_stop(&s);
}
END_TEST

START_TEST(a_new_snapshot_changes_answers)
{
    struct server s;
    struct fixture fx;
    server_start(&s);
    fixture_init(&fx, true);
    publish(&s, &fx.v);
    replica_check(&s, "/health/replica/main/node3", 200, NULL, 0.1);
    fx.nodes[2].rv.lag = 0.5; /* node3 falls behind */
    publish(&s, &fx.v);
    replica_check(&s, "/health/replica/main/node3", 503, "lag above max_lag",
                  0.1);
    fx.nodes[2].rv.lag = 0.01;
    fx.nodes[2].rv.connected = false;
    publish(&s, &fx.v);
    replica_check(&s, "/health/replica/main/node3", 503, "disconnected", 0.1);
    fx.cluster.th.read_max_lag = 1; /* node2's 200ms is fine now */
    publish(&s, &fx.v);
    replica_check(&s, "/health/replica/main/node2", 200, NULL, 1);
    server_stop(&s);
}
END_TEST

START_TEST(start_reports_errors)
{
    struct snapbox box;
    char err[256] = "";
    snapbox_init(&box);
    struct httpd_options o = {.host = "no-such-host.invalid", .port = 0};
    ck_assert_ptr_null(httpd_start(&o, &box, err, sizeof(err)));
    ck_assert_msg(strstr(err, "no-such-host.invalid"), "err: %s", err);

    o.host = "127.0.0.1";
    struct httpd *h = httpd_start(&o, &box, err, sizeof(err));
    ck_assert_ptr_nonnull(h);
    o.port = (uint16_t)httpd_port(h); /* taken */
    err[0] = '\0';
    ck_assert_ptr_null(httpd_start(&o, &box, err, sizeof(err)));
    ck_assert_msg(strstr(err, "cannot listen on 127.0.0.1"), "err: %s", err);
    httpd_stop(h);
    httpd_stop(NULL);
    snapbox_destroy(&box);
}
END_TEST

/* --- webhooks and the journal ------------------------------------------- */

/* One webhook POST from its own thread. */
struct poster {
    const struct server *s;
    int id;
    long status;
    pthread_t t;
};

static void *post_webhook(void *arg)
{
    struct poster *p = arg;
    char url[128], body[512];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/webhook", p->s->port);
    snprintf(
        body, sizeof(body),
        "{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[{"
        "\"status\":\"firing\",\"labels\":{\"alertname\":\"A\"},"
        "\"startsAt\":\"2026-11-22T00:00:00Z\",\"fingerprint\":\"%04x\"}]}",
        p->id);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    struct buf sink;
    buf_init(&sink, 0);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &p->status);
    curl_easy_cleanup(c);
    buf_free(&sink);
    return NULL;
}

/* A webhook waiting for its journal fsync holds no handler thread: with
 * the fsync held, more webhooks than the two handler threads are in
 * flight, unanswered, and GET /-/healthy still answers at once; when
 * the fsync completes, each gets its 200 and its alert is queued. */
START_TEST(webhooks_wait_for_the_journal_without_a_thread)
{
    enum { POSTS = 6 };
    char dir[] = "/tmp/replguard-httpd.XXXXXX", err[256];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    struct fsync_gate g;
    fsync_gate_init(&g);
    struct remedy *rem = remedy_open(dir, &g.ops, err, sizeof(err));
    ck_assert_msg(rem != NULL, "%s", err);
    struct server s;
    server_start_with(&s, rem);
    fsync_gate_hold(&g, true);
    int before = fsync_gate_fsyncs(&g);
    struct poster p[POSTS];
    for (int i = 0; i < POSTS; i++) {
        p[i] = (struct poster){.s = &s, .id = i};
        ck_assert_int_eq(pthread_create(&p[i].t, NULL, post_webhook, &p[i]), 0);
    }
    for (int i = 0; i < 10000 && fsync_gate_fsyncs(&g) == before; i++) {
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
    ck_assert_int_gt(fsync_gate_fsyncs(&g), before); /* the journal is held */
    /* every webhook reaches the journal: none holds a thread waiting */
    struct journal_stats st = {0};
    for (int i = 0; i < 10000; i++) {
        journal_stats(remedy_journal(rem), &st);
        if (st.queued_seq - st.last_seq == POSTS)
            break;
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
    ck_assert_uint_eq(st.queued_seq - st.last_seq, POSTS);
    struct resp r;
    http(&s, "GET", "/-/healthy", &r);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    struct queued_alert *q[POSTS + 1];
    ck_assert_uint_eq(remedy_take(rem, q, POSTS + 1), 0); /* none durable */
    fsync_gate_hold(&g, false);
    for (int i = 0; i < POSTS; i++) {
        pthread_join(p[i].t, NULL);
        ck_assert_int_eq(p[i].status, 200);
    }
    ck_assert_uint_eq(remedy_take(rem, q, POSTS + 1), POSTS);
    for (int i = 0; i < POSTS; i++)
        queued_alert_free(q[i]);
    /* refused at once (the callback comes before the handler returns):
     * the connection is resumed all the same */
    remedy_stop(rem);
    post_webhook(&p[0]);
    ck_assert_int_eq(p[0].status, 503);
    server_stop(&s);
    remedy_close(rem);
    rm_tree(dir);
    fsync_gate_destroy(&g);
}
END_TEST

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    log_set_level(LOG_ERROR); /* start/stop lines, one per test */
    Suite *s = suite_create("httpd");
    TCase *tc = tcase_create("routes");
    tcase_add_test(tc, not_ready_before_the_first_snapshot);
    tcase_add_test(tc, ready_flips_with_a_ready_snapshot);
    tcase_add_test(tc, metrics_serves_the_snapshot);
    tcase_add_test(tc, state_is_json);
    tcase_add_test(tc, replica_health);
    tcase_add_test(tc, head_answers_without_a_body);
    tcase_add_test(tc, unknown_targets_are_404);
    tcase_add_test(tc, primary_health);
    tcase_add_test(tc, wrong_paths_and_methods);
    tcase_add_test(tc, a_new_snapshot_changes_answers);
    tcase_add_test(tc, start_reports_errors);
    tcase_add_test(tc, webhooks_wait_for_the_journal_without_a_thread);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    curl_global_cleanup();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
