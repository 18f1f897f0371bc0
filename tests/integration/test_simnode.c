/* test_simnode.c: integration test of replguard-simnode over HTTP.
 *
 * Each test starts the built binary ($top_builddir/replguard-simnode)
 * on ephemeral loopback ports, reads its node lines, drives endpoints
 * and faults with libcurl and checks their effects through /metrics.
 * Waits for the dynamics poll with a deadline; nothing asserts speed.
 * The child gets PR_SET_PDEATHSIG, so a failing test never leaves it
 * running. Helpers are in simnode_harness.c. */
#include <check.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "simnode_harness.h"
#include "lib/util.h"

/* The fixture's child: check fixtures take no arguments. */
static struct simnode sn;

static void setup(void)
{
    static const char *const args[] = {"--ingest-rate", "1000", "--apply-rate",
                                       "5000", NULL};
    curl_global_init(CURL_GLOBAL_DEFAULT);
    spawn(&sn, args);
    ck_assert_uint_eq(sn.n, 3);
}

static void teardown(void)
{
    simnode_stop(&sn);
    curl_global_cleanup();
}

/* url_of: the base URL of node name of the fixture's child. */
static const char *url_of(const char *name)
{
    return simnode_url(&sn, name);
}

static double position(const char *base)
{
    return metric(base, "stemedb_assertions_indexed_total", NULL);
}

/* root: the node's Merkle root, as a heap string the caller frees. */
static char *root(const char *base)
{
    struct resp r;
    get(base, "/v1/admin/merkle?level=0&offset=0&count=1", &r);
    ck_assert_int_eq(r.status, 200);
    cJSON *j = cJSON_Parse(r.body.data);
    const cJSON *h =
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "hashes"), 0);
    ck_assert_msg(cJSON_IsString(h), "no root in %s", r.body.data);
    ck_assert_uint_eq(strlen(h->valuestring), 16);
    char *out = xstrdup(h->valuestring);
    cJSON_Delete(j);
    buf_free(&r.body);
    return out;
}

static bool same_root(const char *a, const char *b)
{
    char *ra = root(a), *rb = root(b);
    bool same = strcmp(ra, rb) == 0;
    free(ra);
    free(rb);
    return same;
}

/* wait_caught_up: until every replica's position equals the primary's
 * (the ingest must be frozen). */
static void wait_caught_up(void)
{
    double deadline = now_s() + WAIT_S;
    bool equal = false;
    while (!equal && now_s() < deadline) {
        double p = position(url_of("node1"));
        equal =
            p == position(url_of("node2")) && p == position(url_of("node3"));
        if (!equal)
            sleep_ms(20);
    }
    ck_assert_msg(equal, "replicas did not catch up");
}

static void freeze_ingest(void)
{
    ck_assert_int_eq(call(url_of("node1"), "POST", "/v1/admin/rate-limit",
                          "{\"max_assertions_per_sec\": 0.0001}"),
                     200);
    wait_caught_up();
}

/* growth: how far the primary's position moves in about ms. */
static double growth(long ms, double *elapsed)
{
    double t0 = now_s(), p0 = position(url_of("node1"));
    sleep_ms(ms);
    double p1 = position(url_of("node1"));
    *elapsed = now_s() - t0;
    return p1 - p0;
}

/* wait_still: until the node's position stays put for 150 ms. */
static double wait_still(const char *base)
{
    double deadline = now_s() + WAIT_S, a = position(base), b;
    for (;;) {
        sleep_ms(150);
        b = position(base);
        if (a == b || now_s() > deadline)
            break;
        a = b;
    }
    ck_assert_msg(a == b, "%s kept applying", base);
    return b;
}

static long fault(const char *via, const char *json)
{
    return call(url_of(via), "POST", "/v1/sim/fault", json);
}

/* --- tests: startup and the node API -------------------------------------- */

START_TEST(prints_nodes_and_serves_metrics)
{
    ck_assert_str_eq(sn.cluster[0], "c1");
    ck_assert_str_eq(sn.name[0], "node1");
    ck_assert_str_eq(sn.role[0], "primary");
    ck_assert_str_eq(sn.role[1], "replica");
    ck_assert_str_eq(sn.role[2], "replica");
    ck_assert_str_ne(sn.url[0], sn.url[1]);
    ck_assert(strncmp(sn.url[0], "http://127.0.0.1:", 17) == 0);
    for (size_t i = 0; i < sn.n; i++) {
        struct resp r;
        get(sn.url[i], "/metrics", &r);
        ck_assert_int_eq(r.status, 200);
        ck_assert(strncmp(r.ctype, "text/plain; version=0.0.4", 25) == 0);
        promtool_check(&r.body);
        buf_free(&r.body);
        get(sn.url[i], "/v1/read", &r);
        ck_assert_int_eq(r.status, 200);
        cJSON *j = cJSON_Parse(r.body.data);
        const cJSON *node = cJSON_GetObjectItemCaseSensitive(j, "node");
        ck_assert(cJSON_IsString(node));
        ck_assert_str_eq(node->valuestring, sn.name[i]);
        ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(j, "position")));
        cJSON_Delete(j);
        buf_free(&r.body);
    }
}
END_TEST

START_TEST(positions_grow_and_heartbeats_replicate)
{
    const char *p = url_of("node1"), *r2 = url_of("node2");
    double p0 = position(p);
    assert_wait(p, "stemedb_assertions_indexed_total", NULL, GT, p0);
    assert_wait(r2, "stemedb_assertions_indexed_total", NULL, GT, p0);
    double hb0 = admin_requests(p, "heartbeat");
    ck_assert_int_eq(
        call(p, "POST", "/v1/admin/heartbeat", "{\"ts\": 1763769600.25}"), 200);
    ck_assert_double_eq(admin_requests(p, "heartbeat"), hb0 + 1);
    assert_wait(p, "stemedb_heartbeat_timestamp_seconds", NULL, EQ,
                1763769600.25);
    assert_wait(r2, "stemedb_heartbeat_timestamp_seconds", NULL, EQ,
                1763769600.25);
    assert_wait(url_of("node3"), "stemedb_heartbeat_timestamp_seconds", NULL,
                EQ, 1763769600.25);
    struct opts o = {.method = "POST", .body = "{\"ts\": 5}"};
    expect_error(r2, "/v1/admin/heartbeat", &o, 409); /* not the primary */
    ck_assert_double_eq(admin_requests(r2, "heartbeat"), 1);
}
END_TEST

START_TEST(rate_limit_slows_ingest)
{
    const char *p = url_of("node1");
    double dt;
    ck_assert_int_eq(call(p, "POST", "/v1/admin/rate-limit",
                          "{\"max_assertions_per_sec\": 20}"),
                     200);
    ck_assert_double_eq(
        metric(p, "stemedb_rate_limit_assertions_per_second", NULL), 20);
    double g = growth(500, &dt);
    ck_assert_msg(g <= 20 * (dt + 0.1) + 2, "grew %g in %gs at 20/s", g, dt);
    ck_assert_double_eq(admin_requests(p, "rate-limit"), 1);
    struct opts o = {.method = "POST",
                     .body = "{\"max_assertions_per_sec\": -1}"};
    expect_error(p, "/v1/admin/rate-limit", &o, 400);
    o.body = "{\"max_assertions_per_sec\": 10}";
    expect_error(url_of("node2"), "/v1/admin/rate-limit", &o, 409);
    ck_assert_int_eq(call(p, "POST", "/v1/admin/rate-limit",
                          "{\"max_assertions_per_sec\": 0}"),
                     200);
    ck_assert_double_eq(
        metric(p, "stemedb_rate_limit_assertions_per_second", NULL), 0);
    ck_assert_double_eq(admin_requests(p, "rate-limit"), 3);
}
END_TEST

START_TEST(merkle_endpoints)
{
    const char *p = url_of("node1");
    struct resp r;
    freeze_ingest();
    get(p, "/v1/admin/merkle?level=1&offset=0&count=16", &r);
    ck_assert_int_eq(r.status, 200);
    cJSON *lvl = cJSON_Parse(r.body.data);
    buf_free(&r.body);
    ck_assert_int_eq(cJSON_GetObjectItem(lvl, "fanout")->valueint, 16);
    ck_assert_int_eq(cJSON_GetObjectItem(lvl, "depth")->valueint, 4);
    ck_assert_int_eq(cJSON_GetObjectItem(lvl, "level")->valueint, 1);
    ck_assert_int_eq(cJSON_GetObjectItem(lvl, "offset")->valueint, 0);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(lvl, "hashes")),
                     16);
    struct opts o = {.method = "POST",
                     .body = "{\"level\": 0, \"parents\": [0]}"};
    char url[256];
    snprintf(url, sizeof(url), "%s/v1/admin/merkle/children", p);
    http(url, &o, &r);
    ck_assert_int_eq(r.status, 200);
    cJSON *kids = cJSON_Parse(r.body.data);
    buf_free(&r.body);
    ck_assert_int_eq(cJSON_GetObjectItem(kids, "level")->valueint, 1);
    char *a = cJSON_PrintUnformatted(cJSON_GetObjectItem(lvl, "hashes"));
    char *b = cJSON_PrintUnformatted(
        cJSON_GetArrayItem(cJSON_GetObjectItem(kids, "children"), 0));
    ck_assert_str_eq(a, b); /* the root's children are level 1 */
    cJSON_free(a);
    cJSON_free(b);
    cJSON_Delete(lvl);
    cJSON_Delete(kids);
    ck_assert_double_eq(admin_requests(p, "merkle"), 2);
}
END_TEST

START_TEST(merkle_bad_queries)
{
    const char *p = url_of("node2");
    static const char *const bad[] = {
        "?level=5",          "?level=x",           "?level=1&count=0",
        "?level=1&count=17", "?level=1&offset=16", "?level=4&count=4097",
        "?level=-1"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        char path[96];
        snprintf(path, sizeof(path), "/v1/admin/merkle%s", bad[i]);
        expect_error(p, path, NULL, 400);
    }
    static const char *const bodies[] = {"{\"level\": 4, \"parents\": [0]}",
                                         "{\"level\": 0, \"parents\": []}",
                                         "{\"level\": 1, \"parents\": [16]}",
                                         "{\"level\": 1, \"parents\": 3}",
                                         "{\"level\": 0.5, \"parents\": [0]}",
                                         "{\"parents\": [0]}",
                                         "[1, 2]",
                                         "{\"level\": 0, \"parents\": [0]"};
    for (size_t i = 0; i < ARRAY_LEN(bodies); i++) {
        struct opts o = {.method = "POST", .body = bodies[i]};
        expect_error(p, "/v1/admin/merkle/children", &o, 400);
    }
    ck_assert_double_eq(admin_requests(p, "merkle"),
                        ARRAY_LEN(bad) + ARRAY_LEN(bodies));
}
END_TEST

/* --- tests: dynamics faults ---------------------------------------------- */

START_TEST(slow_apply_raises_lag_of_that_replica)
{
    const char *p = url_of("node1");
    ck_assert_int_eq(fault("node1",
                           "{\"node\": \"node2\", \"kind\": \"slow_apply\", "
                           "\"duration\": \"30s\", \"factor\": 0.1}"),
                     200);
    assert_wait(p, "stemedb_replication_lag_seconds", "replica=\"node2\"", GT,
                0.5);
    ck_assert_double_lt(
        metric(p, "stemedb_replication_lag_seconds", "replica=\"node3\""), 0.3);
    struct resp r;
    get(p, "/v1/sim/fault", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body.data, "\"slow_apply\""));
    ck_assert_ptr_nonnull(strstr(r.body.data, "\"node2\""));
    buf_free(&r.body);
}
END_TEST

START_TEST(stall_and_disconnect)
{
    const char *r2 = url_of("node2"), *r3 = url_of("node3");
    ck_assert_int_eq(fault("node2", "{\"kind\": \"stall\"}"), 200);
    double b = wait_still(r2);
    ck_assert_double_gt(position(url_of("node1")), b);
    ck_assert_double_eq(metric(r2, "stemedb_replication_connected", NULL), 1);
    ck_assert_int_eq(fault("node2", "{\"node\": \"node3\", \"kind\": "
                                    "\"disconnect\"}"),
                     200);
    assert_wait(r3, "stemedb_replication_connected", NULL, EQ, 0);
    ck_assert_int_eq(call(r3, "DELETE", "/v1/sim/fault", NULL), 200);
    assert_wait(r3, "stemedb_replication_connected", NULL, EQ, 1);
    assert_wait(r2, "stemedb_assertions_indexed_total", NULL, GT, b);
}
END_TEST

START_TEST(diverge_then_forced_sync_repairs)
{
    const char *p = url_of("node1"), *r2 = url_of("node2");
    freeze_ingest();
    ck_assert(same_root(p, r2));
    ck_assert_int_eq(fault("node1", "{\"node\": \"node2\", \"kind\": "
                                    "\"diverge\", \"buckets\": 3}"),
                     200);
    ck_assert(!same_root(p, r2));
    ck_assert(same_root(p, url_of("node3")));
    ck_assert_double_eq(
        metric(r2, "stemedb_merkle_sync_duration_seconds", NULL), 0);
    struct opts o = {.method = "POST",
                     .body = "{\"replica_id\": \"node2\", \"force\": true}"};
    expect_error(r2, "/v1/admin/cluster/sync", &o, 409); /* not primary */
    ck_assert_int_eq(call(p, "POST", "/v1/admin/cluster/sync",
                          "{\"replica_id\": \"node2\", \"force\": true}"),
                     202);
    ck_assert_double_eq(admin_requests(p, "sync"), 1);
    assert_wait(r2, "stemedb_merkle_sync_duration_seconds", NULL, GT, 0);
    ck_assert_double_eq(metric(r2, "stemedb_merkle_sync_progress", NULL), 1);
    ck_assert(same_root(p, r2));
    o.body = "{\"replica_id\": \"node9\"}";
    expect_error(p, "/v1/admin/cluster/sync", &o, 404);
}
END_TEST

START_TEST(ingest_burst_raises_ingest)
{
    double dt0, dt1;
    double before = growth(500, &dt0) / dt0;
    ck_assert_int_eq(fault("node2", "{\"node\": \"node1\", \"kind\": "
                                    "\"ingest_burst\", \"rate\": 20000, "
                                    "\"duration\": \"10s\"}"),
                     200);
    double during = growth(500, &dt1) / dt1;
    ck_assert_msg(during > 3 * before, "ingest %g/s before, %g/s during",
                  before, during);
}
END_TEST

START_TEST(breaker_trip_list_reset)
{
    const char *r2 = url_of("node2");
    struct resp r;
    ck_assert_int_eq(fault("node2", "{\"kind\": \"trip_breaker\", "
                                    "\"agent_id\": \"agent-7\"}"),
                     200);
    get(r2, "/v1/admin/circuit-breakers/tripped", &r);
    ck_assert_int_eq(r.status, 200);
    cJSON *j = cJSON_Parse(r.body.data);
    ck_assert_int_eq(cJSON_GetArraySize(j), 1);
    const cJSON *b = cJSON_GetArrayItem(j, 0);
    ck_assert_str_eq(cJSON_GetObjectItem(b, "agent_id")->valuestring,
                     "agent-7");
    double at = cJSON_GetObjectItem(b, "tripped_at")->valuedouble;
    ck_assert(fabs(at - (double)time(NULL)) < 60);
    cJSON_Delete(j);
    buf_free(&r.body);
    ck_assert_int_eq(call(r2, "POST", "/v1/admin/circuit-breaker/reset",
                          "{\"agent_id\": \"agent-7\"}"),
                     200);
    get(r2, "/v1/admin/circuit-breakers/tripped", &r);
    ck_assert_str_eq(r.body.data, "[]");
    buf_free(&r.body);
    struct opts o = {.method = "POST", .body = "{\"agent_id\": \"agent-7\"}"};
    expect_error(r2, "/v1/admin/circuit-breaker/reset", &o, 404);
    ck_assert_double_eq(admin_requests(r2, "circuit-breakers"), 2);
    ck_assert_double_eq(admin_requests(r2, "circuit-breaker-reset"), 2);
}
END_TEST

START_TEST(demote_and_promote)
{
    const char *p = url_of("node1"), *r2 = url_of("node2");
    const char *r3 = url_of("node3");
    ck_assert_int_eq(call(p, "POST", "/v1/admin/cluster/demote",
                          "{\"replica_id\": \"node2\"}"),
                     200);
    expect_error(r2, "/v1/read", NULL, 503);
    ck_assert_int_eq(call(r3, "GET", "/v1/read", NULL), 200);
    ck_assert_double_eq(metric(r2, "stemedb_node_role", "role=\"demoted\""), 1);
    struct opts o = {.method = "POST", .body = "{\"replica_id\": \"node3\"}"};
    expect_error(r3, "/v1/admin/cluster/demote", &o, 409); /* not primary */
    o.body = "{\"replica_id\": \"node1\"}";
    expect_error(p, "/v1/admin/cluster/demote", &o, 409); /* the primary */
    o.body = "{\"replica_id\": \"node7\"}";
    expect_error(p, "/v1/admin/cluster/demote", &o, 404);
    ck_assert_double_eq(admin_requests(p, "demote"), 3);
    ck_assert_int_eq(call(r2, "POST", "/v1/admin/cluster/promote",
                          "{\"replica_id\": \"node3\"}"),
                     200);
    ck_assert_double_eq(metric(r3, "stemedb_node_role", "role=\"primary\""), 1);
    ck_assert_double_eq(metric(p, "stemedb_node_role", "role=\"primary\""), 0);
    ck_assert_double_eq(admin_requests(r2, "promote"), 1);
    ck_assert_int_eq(call(r3, "POST", "/v1/admin/heartbeat", "{\"ts\": 7}"),
                     200);
    ck_assert_int_eq(call(p, "POST", "/v1/admin/heartbeat", "{\"ts\": 8}"),
                     409);
}
END_TEST

/* --- tests: HTTP faults -------------------------------------------------- */

START_TEST(hang_never_answers_but_control_plane_does)
{
    const char *r2 = url_of("node2");
    struct resp r;
    struct opts quick = {.timeout_ms = 500};
    char url[256];
    snprintf(url, sizeof(url), "%s/metrics", r2);
    ck_assert_int_eq(fault("node2", "{\"kind\": \"hang\"}"), 200);
    http(url, &quick, &r);
    ck_assert_int_eq(r.rc, CURLE_OPERATION_TIMEDOUT);
    buf_free(&r.body);
    ck_assert_int_eq(call(r2, "GET", "/v1/sim/fault", NULL), 200);
    ck_assert_int_eq(call(url_of("node3"), "GET", "/metrics", NULL), 200);
    ck_assert_int_eq(call(r2, "DELETE", "/v1/sim/fault", NULL), 200);
    http(url, &quick, &r);
    ck_assert_int_eq(r.rc, CURLE_OK);
    ck_assert_int_eq(r.status, 200);
    buf_free(&r.body);
}
END_TEST

START_TEST(http_500_expires_by_itself)
{
    const char *r2 = url_of("node2");
    ck_assert_int_eq(fault("node1",
                           "{\"node\": \"node2\", \"kind\": \"http_500\", "
                           "\"duration\": \"1s\"}"),
                     200);
    expect_error(r2, "/metrics", NULL, 500);
    expect_error(r2, "/v1/read", NULL, 500);
    ck_assert_int_eq(call(r2, "GET", "/v1/sim/fault", NULL), 200);
    double deadline = now_s() + WAIT_S;
    long status = 500;
    while (status == 500 && now_s() < deadline) {
        sleep_ms(50);
        status = call(r2, "GET", "/metrics", NULL);
    }
    ck_assert_int_eq(status, 200);
}
END_TEST

START_TEST(garbage_metrics)
{
    const char *r2 = url_of("node2");
    struct resp r;
    ck_assert_int_eq(fault("node2", "{\"kind\": \"garbage\"}"), 200);
    get(r2, "/metrics", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_gt(r.body.len, 1024);
    ck_assert(memchr(r.body.data, '\0', r.body.len) != NULL);
    ck_assert(r.body.data[0] != '#');
    ck_assert(strstr(r.body.data, "stemedb_") == NULL);
    buf_free(&r.body);
    ck_assert_int_eq(call(r2, "GET", "/v1/read", NULL), 200);
}
END_TEST

START_TEST(slow_body_dribbles)
{
    const char *r2 = url_of("node2");
    struct resp r;
    char url[256];
    snprintf(url, sizeof(url), "%s/v1/read", r2);
    ck_assert_int_eq(fault("node2", "{\"kind\": \"slow_body\"}"), 200);
    struct opts quick = {.timeout_ms = 300};
    http(url, &quick, &r);
    ck_assert_int_eq(r.rc, CURLE_OPERATION_TIMEDOUT);
    ck_assert_uint_gt(r.body.len, 0); /* some bytes came */
    buf_free(&r.body);
    struct opts patient = {.timeout_ms = 15000};
    http(url, &patient, &r);
    ck_assert_int_eq(r.rc, CURLE_OK);
    ck_assert_int_eq(r.status, 200);
    cJSON *j = cJSON_Parse(r.body.data);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(cJSON_GetObjectItem(j, "node")->valuestring, "node2");
    cJSON_Delete(j);
    buf_free(&r.body);
}
END_TEST

/* wait_refused: until base refuses connections (want) or answers. */
static void wait_refused(const char *base, bool want)
{
    double deadline = now_s() + WAIT_S;
    bool refused = !want;
    while (refused != want && now_s() < deadline) {
        struct resp r;
        get(base, "/v1/read", &r);
        refused = r.rc == CURLE_COULDNT_CONNECT;
        buf_free(&r.body);
        if (refused != want)
            sleep_ms(20);
    }
    ck_assert_msg(refused == want, "%s %s", base,
                  want ? "still answers" : "still refuses");
}

START_TEST(down_refuses_then_comes_back_on_its_port)
{
    const char *r2 = url_of("node2"), *r3 = url_of("node3");
    ck_assert_int_eq(fault("node1", "{\"node\": \"node3\", \"kind\": "
                                    "\"down\"}"),
                     200);
    wait_refused(r3, true);
    ck_assert_int_eq(call(url_of("node1"), "DELETE", "/v1/sim/fault", NULL),
                     200);
    wait_refused(r3, false);
    ck_assert_int_eq(call(r3, "GET", "/metrics", NULL), 200);
    /* a node can take itself down and still answer that request */
    ck_assert_int_eq(fault("node2", "{\"kind\": \"down\", \"duration\": "
                                    "\"1s\"}"),
                     200);
    wait_refused(r2, true);
    wait_refused(r2, false); /* the duration ran out */
}
END_TEST

/* --- tests: counting and bad input --------------------------------------- */

static const struct {
    const char *node, *method, *path, *body, *endpoint;
    long status;
} admin_calls[] = {
    {"node1", "POST", "/v1/admin/heartbeat", "{\"ts\": 10}", "heartbeat", 200},
    {"node2", "GET", "/v1/admin/merkle?level=0", NULL, "merkle", 200},
    {"node2", "POST", "/v1/admin/merkle/children",
     "{\"level\": 0, \"parents\": [0]}", "merkle", 200},
    {"node1", "POST", "/v1/admin/rate-limit",
     "{\"max_assertions_per_sec\": 500}", "rate-limit", 200},
    {"node1", "POST", "/v1/admin/rate-limit", "{oops", "rate-limit", 400},
    {"node1", "POST", "/v1/admin/cluster/sync",
     "{\"replica_id\": \"node3\", \"force\": true}", "sync", 202},
    {"node3", "GET", "/v1/admin/circuit-breakers/tripped", NULL,
     "circuit-breakers", 200},
    {"node3", "POST", "/v1/admin/circuit-breaker/reset",
     "{\"agent_id\": \"nobody\"}", "circuit-breaker-reset", 404},
    {"node1", "POST", "/v1/admin/cluster/demote", "{\"replica_id\": \"node3\"}",
     "demote", 200},
    {"node1", "POST", "/v1/admin/cluster/promote",
     "{\"replica_id\": \"node2\"}", "promote", 200},
};

START_TEST(every_admin_call_is_counted)
{
    const char *node = admin_calls[_i].node;
    double before = admin_requests(url_of(node), admin_calls[_i].endpoint);
    ck_assert_int_eq(call(url_of(node), admin_calls[_i].method,
                          admin_calls[_i].path, admin_calls[_i].body),
                     admin_calls[_i].status);
    ck_assert_double_eq(admin_requests(url_of(node), admin_calls[_i].endpoint),
                        before + 1);
}
END_TEST

static const struct {
    const char *method, *path, *body;
    long status;
} bad_requests[] = {
    {"POST", "/v1/admin/heartbeat", "{\"ts\": ", 400},
    {"POST", "/v1/admin/heartbeat", "", 400},
    {"POST", "/v1/admin/heartbeat", "[1]", 400},
    {"POST", "/v1/admin/heartbeat", "{\"ts\": \"now\"}", 400},
    {"POST", "/v1/admin/heartbeat", "{}", 400},
    {"POST", "/v1/admin/heartbeat", "{\"ts\": -5}", 400},
    {"POST", "/v1/admin/cluster/demote", "{\"replica_id\": 2}", 400},
    {"POST", "/v1/sim/fault", "{\"kind\": \"meteor\"}", 400},
    {"POST", "/v1/sim/fault", "{\"node\": \"node9\", \"kind\": \"stall\"}",
     404},
    {"POST", "/v1/sim/fault", "{\"kind\": \"stall\", \"duration\": \"x\"}",
     400},
    {"POST", "/v1/sim/fault", "{\"kind\": \"slow_apply\", \"factor\": 2}", 400},
    {"POST", "/v1/sim/fault", "{\"kind\": \"slow_apply\", \"factor\": 0}", 400},
    {"POST", "/v1/sim/fault", "{\"kind\": \"diverge\", \"buckets\": 1.5}", 400},
    {"POST", "/v1/sim/fault", "{\"kind\": \"ingest_burst\", \"rate\": -1}",
     400},
    {"POST", "/v1/sim/fault", "{\"node\": \"node2\"}", 400},
    {"GET", "/v1/nothing", NULL, 404},
    {"GET", "/", NULL, 404},
    {"PUT", "/v1/sim/fault", "{}", 405},
    {"GET", "/v1/admin/heartbeat", NULL, 405},
    {"POST", "/metrics", "{}", 405},
    {"DELETE", "/v1/read", NULL, 405},
};

START_TEST(bad_input_gets_4xx_json)
{
    const char *base = url_of("node1");
    struct opts o = {.method = bad_requests[_i].method,
                     .body = bad_requests[_i].body};
    char url[256];
    struct resp r;
    snprintf(url, sizeof(url), "%s%s", base, bad_requests[_i].path);
    http(url, &o, &r);
    assert_error(&r, bad_requests[_i].status);
    if (r.status == 405)
        ck_assert_msg(r.allow[0] != '\0', "405 without Allow");
    buf_free(&r.body);
    /* the simulation keeps running and answering */
    assert_wait(base, "stemedb_assertions_indexed_total", NULL, GT,
                position(base));
}
END_TEST

START_TEST(oversized_bodies_get_413)
{
    const char *p = url_of("node1");
    size_t n = 70 * 1024;
    char *big = xmalloc(n + 1);
    memset(big, ' ', n);
    big[n] = '\0';
    struct opts o = {.method = "POST", .body = big, .expect = true};
    expect_error(p, "/v1/admin/heartbeat", &o, 413);
    o.expect = false;
    o.chunked = true;
    expect_error(p, "/v1/admin/heartbeat", &o, 413);
    expect_error(p, "/v1/sim/fault", &o, 413);
    free(big);
    ck_assert_double_eq(admin_requests(p, "heartbeat"), 2);
    ck_assert_int_eq(call(p, "GET", "/v1/sim/fault", NULL), 200);
    struct resp r;
    get(p, "/v1/sim/fault", &r);
    ck_assert_str_eq(r.body.data, "[]"); /* nothing was injected */
    buf_free(&r.body);
}
END_TEST

/* --- tests: process ------------------------------------------------------ */

START_TEST(clusters_are_separate)
{
    static const char *const args[] = {"--clusters", "2", "--nodes", "2", NULL};
    struct simnode two;
    simnode_stop(&sn); /* the fixture's child is not used here */
    spawn(&two, args);
    sn = two; /* so that teardown reaps it */
    ck_assert_uint_eq(two.n, 4);
    ck_assert_str_eq(two.cluster[0], "c1");
    ck_assert_str_eq(two.cluster[2], "c2");
    ck_assert_str_eq(two.name[2], "node1");
    ck_assert_str_eq(two.role[2], "primary");
    ck_assert_int_eq(
        call(two.url[1], "POST", "/v1/sim/fault", "{\"kind\": \"http_500\"}"),
        200);
    ck_assert_int_eq(call(two.url[1], "GET", "/metrics", NULL), 500);
    ck_assert_int_eq(call(two.url[3], "GET", "/metrics", NULL), 200);
    struct resp r;
    get(two.url[2], "/v1/sim/fault", &r);
    ck_assert_str_eq(r.body.data, "[]");
    buf_free(&r.body);
}
END_TEST

START_TEST(sigterm_exits_0)
{
    pid_t pid = sn.pid;
    sn.pid = 0;
    int status = reap(pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "status %#x after SIGTERM", status);
}
END_TEST

/* run_cli: runs the binary with args, output discarded; returns its exit
 * status. */
static int run_cli(const char *a1, const char *a2)
{
    char bin[PATH_MAX];
    binary_path(bin, sizeof(bin));
    const char *argv[] = {bin, a1, a2, NULL};
    pid_t parent = getpid();
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, STDERR_FILENO);
        exec_child(parent, null, argv);
    }
    int status;
    waitpid(pid, &status, 0);
    ck_assert(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static const struct {
    const char *a1, *a2;
    int status;
} cli_cases[] = {
    {"--help", NULL, 0},         {"--version", NULL, 0},
    {"--nodes", "0", 2},         {"--nodes", "65", 2},
    {"--clusters", "x", 2},      {"--port", "70000", 2},
    {"--link-delay", "soon", 2}, {"--merkle-depth", "7", 2},
    {"--ingest-rate", "-3", 2},  {"--keys", "0", 2},
    {"--bogus", NULL, 2},        {"extra", NULL, 2},
    {"--port", "65535", 2}, /* no room for 3 nodes */
};

START_TEST(command_line)
{
    ck_assert_int_eq(run_cli(cli_cases[_i].a1, cli_cases[_i].a2),
                     cli_cases[_i].status);
}
END_TEST

static Suite *simnode_suite(void)
{
    Suite *s = suite_create("simnode");
    TCase *api = tcase_create("api");
    tcase_add_checked_fixture(api, setup, teardown);
    tcase_add_test(api, prints_nodes_and_serves_metrics);
    tcase_add_test(api, positions_grow_and_heartbeats_replicate);
    tcase_add_test(api, rate_limit_slows_ingest);
    tcase_add_test(api, merkle_endpoints);
    tcase_add_test(api, merkle_bad_queries);
    tcase_add_test(api, demote_and_promote);
    tcase_add_loop_test(api, every_admin_call_is_counted, 0,
                        (int)ARRAY_LEN(admin_calls));
    tcase_add_loop_test(api, bad_input_gets_4xx_json, 0,
                        (int)ARRAY_LEN(bad_requests));
    tcase_add_test(api, oversized_bodies_get_413);
    suite_add_tcase(s, api);
    TCase *faults = tcase_create("faults");
    tcase_add_checked_fixture(faults, setup, teardown);
    tcase_add_test(faults, slow_apply_raises_lag_of_that_replica);
    tcase_add_test(faults, stall_and_disconnect);
    tcase_add_test(faults, diverge_then_forced_sync_repairs);
    tcase_add_test(faults, ingest_burst_raises_ingest);
    tcase_add_test(faults, breaker_trip_list_reset);
    tcase_add_test(faults, hang_never_answers_but_control_plane_does);
    tcase_add_test(faults, http_500_expires_by_itself);
    tcase_add_test(faults, garbage_metrics);
    tcase_add_test(faults, slow_body_dribbles);
    tcase_add_test(faults, down_refuses_then_comes_back_on_its_port);
    suite_add_tcase(s, faults);
    TCase *proc = tcase_create("process");
    tcase_add_checked_fixture(proc, setup, teardown);
    tcase_add_test(proc, clusters_are_separate);
    tcase_add_test(proc, sigterm_exits_0);
    tcase_add_loop_test(proc, command_line, 0, (int)ARRAY_LEN(cli_cases));
    suite_add_tcase(s, proc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(simnode_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
