/* test_simrepl.c: replication modes, epochs and fencing, the failover
 * faults and /v1/read?position of replguard-simnode, against the built
 * binary over HTTP (helpers in simnode_harness.c). */
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "simnode_harness.h"

static struct simnode sn;

static void start(const char *const *args)
{
    spawn(&sn, args);
    ck_assert_uint_eq(sn.n, 3);
}

static void setup(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void teardown(void)
{
    simnode_stop(&sn);
    curl_global_cleanup();
}

static const char *url_of(const char *name)
{
    return simnode_url(&sn, name);
}

static long fault(const char *node, const char *kind)
{
    char json[128];
    snprintf(json, sizeof(json), "{\"node\": \"%s\", \"kind\": \"%s\"}", node,
             kind);
    return call(url_of("node3"), "POST", "/v1/sim/fault", json);
}

/* post: POST body to node's path; the status, the JSON answer in *j
 * (the caller frees it; may be NULL). */
static long post(const char *node, const char *path, const char *body,
                 cJSON **j)
{
    struct resp r;
    struct opts o = {.method = "POST", .body = body, .timeout_ms = 15000};
    char url[256];
    snprintf(url, sizeof(url), "%s%s", url_of(node), path);
    http(url, &o, &r);
    if (j)
        *j = cJSON_Parse(r.body.data ? r.body.data : "");
    buf_free(&r.body);
    return r.status;
}

static double num(const cJSON *j, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const char *str(const cJSON *j, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* write: a client write of one on node; its position, or -status. */
static double write1(const char *node, char *reason, size_t n)
{
    cJSON *j = NULL;
    long st = post(node, "/v1/write", "{\"count\": 1}", &j);
    double pos = st == 200 ? num(j, "position") : -(double)st;
    if (reason)
        snprintf(reason, n, "%s", str(j, "reason"));
    cJSON_Delete(j);
    return pos;
}

/* read_at: whether node has the write at pos; its epoch in *we. */
static bool read_at(const char *node, double pos, double *we)
{
    char path[96];
    struct resp r;
    snprintf(path, sizeof(path), "/v1/read?position=%.0f", pos);
    get(url_of(node), path, &r);
    ck_assert_int_eq(r.status, 200);
    cJSON *j = cJSON_Parse(r.body.data);
    bool has = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "has"));
    *we = num(j, "write_epoch");
    cJSON_Delete(j);
    buf_free(&r.body);
    return has;
}

static double role(const char *node, const char *name)
{
    char l[64];
    snprintf(l, sizeof(l), "role=\"%s\"", name);
    return metric(url_of(node), "stemedb_node_role", l);
}

static void admin(const char *node, const char *what, const char *body,
                  long want)
{
    char path[96];
    snprintf(path, sizeof(path), "/v1/admin/cluster/%s", what);
    long st = post(node, path, body, NULL);
    ck_assert_msg(st == want, "%s %s %s: %ld, want %ld", node, what, body, st,
                  want);
}

/* --- replication modes --------------------------------------------------- */

START_TEST(semi_sync_ack_waits_for_replicas)
{
    static const char *const a[] = {
        "--mode", "semi-sync", "--min-sync-replicas", "2", "--sync-fallback",
        "block",  NULL};
    start(a);
    const char *p = url_of("node1");
    double pos = write1("node1", NULL, 0);
    ck_assert(pos > 0);
    /* acknowledged: both replicas applied it */
    ck_assert(metric(p, "stemedb_acked_position", NULL) >= pos);
    ck_assert(metric(url_of("node2"), "stemedb_assertions_indexed_total",
                     NULL) >= pos);
    ck_assert(metric(url_of("node3"), "stemedb_assertions_indexed_total",
                     NULL) >= pos);
    ck_assert_double_eq(metric(p, "stemedb_sync_mode", "mode=\"semi-sync\""),
                        1);
    /* a stalled replica is connected but cannot ack: the write times out */
    ck_assert_int_eq(fault("node3", "stall"), 200);
    char why[32];
    double t0 = now_s();
    ck_assert(write1("node1", why, sizeof(why)) == -503);
    ck_assert_str_eq(why, "timeout");
    ck_assert(now_s() - t0 >= 4.5);
    ck_assert_int_eq(call(p, "DELETE", "/v1/sim/fault", NULL), 200);
    ck_assert(write1("node1", NULL, 0) > pos);
    /* one of two replicas cut off: too few, and the block is visible */
    ck_assert_int_eq(fault("node2", "repl_partition"), 200);
    assert_wait(p, "stemedb_sync_mode", "mode=\"blocked\"", EQ, 1);
    ck_assert(write1("node1", why, sizeof(why)) == -503);
    ck_assert_str_eq(why, "blocked");
}
END_TEST

START_TEST(too_few_replicas_fall_back_to_async_visibly)
{
    static const char *const a[] = {"--mode", "semi-sync",
                                    "--min-sync-replicas", "2", NULL};
    start(a);
    const char *p = url_of("node1");
    ck_assert_int_eq(fault("node2", "repl_partition"), 200);
    assert_wait(p, "stemedb_sync_mode", "mode=\"async\"", EQ, 1);
    ck_assert_double_eq(metric(p, "stemedb_sync_mode", "mode=\"semi-sync\""),
                        0);
    double pos = write1("node1", NULL, 0);
    ck_assert(pos > 0);
    ck_assert(metric(p, "stemedb_acked_position", NULL) >= pos);
    ck_assert_int_eq(call(p, "DELETE", "/v1/sim/fault", NULL), 200);
    assert_wait(p, "stemedb_sync_mode", "mode=\"semi-sync\"", EQ, 1);
}
END_TEST

START_TEST(sync_waits_for_every_connected_replica)
{
    static const char *const a[] = {"--mode", "sync", NULL};
    start(a);
    ck_assert_int_eq(fault("node3", "stall"), 200);
    char why[32];
    ck_assert(write1("node1", why, sizeof(why)) == -503);
    ck_assert_str_eq(why, "timeout");
    /* once node3 is cut off, node2 alone (>= min 1) acknowledges */
    ck_assert_int_eq(fault("node3", "repl_partition"), 200);
    assert_wait(url_of("node3"), "stemedb_replication_connected", NULL, EQ, 0);
    ck_assert(write1("node1", NULL, 0) > 0);
}
END_TEST

/* --- epochs and fencing -------------------------------------------------- */

START_TEST(epochs_fence_and_repoint)
{
    start(NULL);
    ck_assert_double_eq(metric(url_of("node1"), "stemedb_epoch", NULL), 1);
    admin("node1", "fence", "{\"epoch\": 3}", 200);
    ck_assert_double_eq(role("node1", "fenced"), 1);
    ck_assert_double_eq(metric(url_of("node1"), "stemedb_epoch", NULL), 3);
    ck_assert(write1("node1", NULL, 0) == -409);
    admin("node1", "fence", "{\"epoch\": 2}", 409); /* lower than seen */
    admin("node1", "fence", "{}", 400);
    admin("node2", "promote", "{\"replica_id\": \"node2\", \"epoch\": 3}",
          409); /* the fenced primary already has epoch 3 */
    admin("node2", "promote", "{\"replica_id\": \"node2\", \"epoch\": 4}", 200);
    ck_assert_double_eq(role("node2", "primary"), 1);
    ck_assert(write1("node2", NULL, 0) > 0);
    ck_assert(write1("node1", NULL, 0) == -409); /* not the primary */
    admin("node1", "replicate-from",
          "{\"primary_id\": \"node2\", \"epoch\": 2}", 409);
    admin("node1", "replicate-from",
          "{\"primary_id\": \"node3\", \"epoch\": 4}", 409);
    admin("node1", "replicate-from",
          "{\"primary_id\": \"node2\", \"epoch\": 4}", 200);
    ck_assert_double_eq(role("node1", "replica"), 1);
    assert_wait(url_of("node1"), "stemedb_replication_connected", NULL, EQ, 1);
    ck_assert_double_eq(admin_requests(url_of("node1"), "replicate-from"), 3);
}
END_TEST

START_TEST(replica_refuses_an_older_epoch_primary)
{
    start(NULL);
    const char *r3 = url_of("node3");
    assert_wait(r3, "stemedb_replication_connected", NULL, EQ, 1);
    admin("node3", "replicate-from",
          "{\"primary_id\": \"node1\", \"epoch\": 5}", 200);
    assert_wait(r3, "stemedb_replication_connected", NULL, EQ, 0);
    double a = metric(r3, "stemedb_assertions_indexed_total", NULL);
    sleep_ms(300);
    ck_assert_double_eq(metric(r3, "stemedb_assertions_indexed_total", NULL),
                        a);
    /* a primary of epoch 5 is followed again */
    admin("node1", "promote", "{\"replica_id\": \"node2\", \"epoch\": 5}", 200);
    assert_wait(r3, "stemedb_replication_connected", NULL, EQ, 1);
}
END_TEST

START_TEST(crashed_primary_returns_with_its_old_epoch)
{
    start(NULL);
    ck_assert_int_eq(fault("node1", "crash"), 200);
    ck_assert_int_eq(call(url_of("node1"), "GET", "/metrics", NULL), 0);
    assert_wait(url_of("node2"), "stemedb_replication_connected", NULL, EQ, 0);
    admin("node2", "promote", "{\"replica_id\": \"node2\", \"epoch\": 2}", 200);
    admin("node3", "replicate-from",
          "{\"primary_id\": \"node2\", \"epoch\": 2}", 200);
    ck_assert_int_eq(call(url_of("node2"), "DELETE", "/v1/sim/fault", NULL),
                     200);
    assert_wait(url_of("node1"), "stemedb_epoch", NULL, EQ, 1);
    ck_assert_double_eq(role("node1", "primary"), 1); /* it believes */
    ck_assert(write1("node1", NULL, 0) == -409);      /* but takes none */
    ck_assert_double_eq(
        metric(url_of("node1"), "stemedb_replication_connected", NULL), 0);
    admin("node1", "fence", "{\"epoch\": 1}", 200);
    ck_assert_double_eq(role("node1", "fenced"), 1);
    admin("node1", "replicate-from",
          "{\"primary_id\": \"node2\", \"epoch\": 2}", 200);
    assert_wait(url_of("node1"), "stemedb_replication_connected", NULL, EQ, 1);
    assert_wait(url_of("node1"), "stemedb_epoch", NULL, EQ, 2);
}
END_TEST

/* --- faults failover must tell apart ------------------------------------- */

START_TEST(api_down_keeps_replicating_repl_partition_keeps_api)
{
    start(NULL);
    const char *r2 = url_of("node2");
    ck_assert_int_eq(fault("node1", "api_down"), 200);
    ck_assert_int_eq(call(url_of("node1"), "GET", "/metrics", NULL), 0);
    double a = metric(r2, "stemedb_assertions_indexed_total", NULL);
    sleep_ms(300);
    ck_assert(metric(r2, "stemedb_assertions_indexed_total", NULL) > a);
    ck_assert_double_eq(metric(r2, "stemedb_replication_connected", NULL), 1);
    ck_assert_int_eq(call(r2, "DELETE", "/v1/sim/fault", NULL), 200);
    ck_assert_int_eq(fault("node1", "repl_partition"), 200);
    double deadline = now_s() + WAIT_S; /* node1's API comes back */
    while (call(url_of("node1"), "GET", "/metrics", NULL) != 200 &&
           now_s() < deadline)
        sleep_ms(50);
    ck_assert_int_eq(call(url_of("node1"), "GET", "/metrics", NULL), 200);
    assert_wait(r2, "stemedb_replication_connected", NULL, EQ, 0);
    assert_wait(url_of("node3"), "stemedb_replication_connected", NULL, EQ, 0);
}
END_TEST

/* --- what an async promotion keeps --------------------------------------- */

START_TEST(async_promotion_of_a_lagging_replica_loses_writes)
{
    start(NULL);
    double kept = write1("node1", NULL, 0);
    assert_wait(url_of("node2"), "stemedb_assertions_indexed_total", NULL, GT,
                kept);
    ck_assert_int_eq(fault("node2", "stall"), 200);
    sleep_ms(200);
    double lost = write1("node1", NULL, 0);
    ck_assert(lost > kept);
    double we;
    assert_wait(url_of("node3"), "stemedb_assertions_indexed_total", NULL, GT,
                lost);
    ck_assert(read_at("node3", lost, &we) && we == 1);
    ck_assert(!read_at("node2", lost, &we));
    ck_assert_int_eq(fault("node1", "crash"), 200);
    admin("node2", "promote", "{\"replica_id\": \"node2\", \"epoch\": 2}", 200);
    admin("node3", "replicate-from",
          "{\"primary_id\": \"node2\", \"epoch\": 2}", 200);
    /* node2 takes writes again past the lost position, at epoch 2 */
    assert_wait(url_of("node3"), "stemedb_assertions_indexed_total", NULL, GT,
                lost + 100);
    ck_assert(read_at("node2", kept, &we) && we == 1);
    ck_assert(read_at("node2", lost, &we) && we == 2);
    ck_assert(read_at("node3", lost, &we) && we == 2); /* rewound */
}
END_TEST

static Suite *simrepl_suite(void)
{
    Suite *s = suite_create("simrepl");
    TCase *tc = tcase_create("simrepl");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, semi_sync_ack_waits_for_replicas);
    tcase_add_test(tc, too_few_replicas_fall_back_to_async_visibly);
    tcase_add_test(tc, sync_waits_for_every_connected_replica);
    tcase_add_test(tc, epochs_fence_and_repoint);
    tcase_add_test(tc, replica_refuses_an_older_epoch_primary);
    tcase_add_test(tc, crashed_primary_returns_with_its_old_epoch);
    tcase_add_test(tc, api_down_keeps_replicating_repl_partition_keeps_api);
    tcase_add_test(tc, async_promotion_of_a_lagging_replica_loses_writes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(simrepl_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
