/* test_primary.c: which node replguard takes for the primary once epochs
 * change (issue 15, the observing half of failover), against the built
 * replguard polling a 4-node replguard-simnode every 150 ms.
 *
 * The promotion here is made by hand, through the simulator's admin API,
 * as an operator (or replguard's own failover) would: replguard only
 * watches. What it must show: /health/primary answers 200 for the
 * promoted replica within one poll interval (and some slack), the
 * cluster's epoch goes up, and an old primary that comes back from a
 * crash still believing it is the primary at its old epoch never gets a
 * 200: at every instant at most one node of the cluster answers 200,
 * the new one. A fenced node answers 503 "fenced". */
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_harness.h"
#include "lib/util.h"
#include "simnode_harness.h"

#define INTERVAL 0.15 /* poll.interval */
#define DEADLINE 20.0 /* of every wait for the dynamics */
#define SLACK    0.35 /* a scrape, the round's end and our own poll */

static struct simnode sn;
static struct agent ag;

static const char *const nodes[] = {"node1", "node2", "node3", "node4"};

static void write_config(void)
{
    struct buf b;
    buf_init(&b, 0);
    agent_yaml_head(&ag, &b, NULL, "interval: 150ms, timeout: 100ms");
    buf_puts(&b, "  - name: c1\n"
                 "    failover: {detect_after: 1s}\n"
                 "    nodes:\n");
    simnode_yaml_nodes(&sn, &b);
    agent_write(ag.cfg, b.data);
    buf_free(&b);
}

static void setup(void)
{
    agent_setup(&ag, &sn, SIMNODE_FOUR_NODES);
    write_config();
    agent_start(&ag);
}

static void teardown(void)
{
    agent_teardown(&ag, &sn);
}

/* health_primary: GET /health/primary/c1/NODE; the status (0: no
 * answer) and the body's reason into why ("null" for JSON null). */
static long health_primary(const char *node, char *why, size_t n)
{
    char path[96];
    struct resp r;
    snprintf(path, sizeof(path), "/health/primary/c1/%s", node);
    get(ag.base, path, &r);
    snprintf(why, n, "(no JSON body)");
    cJSON *o = r.body.data ? cJSON_Parse(r.body.data) : NULL;
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(o, "reason");
    if (cJSON_IsString(reason))
        snprintf(why, n, "%s", reason->valuestring);
    else if (cJSON_IsNull(reason))
        snprintf(why, n, "null");
    cJSON_Delete(o);
    buf_free(&r.body);
    return r.rc == CURLE_OK ? r.status : 0;
}

/* wait_primary: waits up to secs for node's /health/primary to answer
 * status (and, when reason is set, that reason); returns the seconds it
 * took, or fails the test. */
static double wait_primary(const char *node, long status, const char *reason,
                           double secs)
{
    double t0 = now_s();
    char why[128];
    long st = 0;
    while (now_s() - t0 < secs * wait_scale()) {
        st = health_primary(node, why, sizeof(why));
        if (st == status && (!reason || strcmp(why, reason) == 0))
            return now_s() - t0;
        sleep_ms(5);
    }
    ck_abort_msg("%s: /health/primary %ld \"%s\", want %ld %s", node, st, why,
                 status, reason ? reason : "");
    return 0;
}

static long admin(const char *node, const char *what, const char *body)
{
    char path[96];
    snprintf(path, sizeof(path), "/v1/admin/cluster/%s", what);
    return call(simnode_url(&sn, node), "POST", path, body);
}

static long fault(const char *node, const char *kind)
{
    char json[128];
    snprintf(json, sizeof(json), "{\"node\": \"%s\", \"kind\": \"%s\"}", node,
             kind);
    return call(simnode_url(&sn, "node3"), "POST", "/v1/sim/fault", json);
}

static void wait_epoch(double want)
{
    assert_wait_for(ag.base, "replguard_cluster_epoch", "cluster=\"c1\"", EQ,
                    want, DEADLINE);
}

static cJSON *state_c1(cJSON **root);

/* cluster_acked: the state's "acked" of c1, -1 when null. */
static double cluster_acked(void)
{
    cJSON *root;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(state_c1(&root), "acked");
    double v = cJSON_IsNumber(a) ? a->valuedouble : -1;
    cJSON_Delete(root);
    return v;
}

/* crash_and_promote: node1 crashes; once replguard sees it down, node2 is
 * promoted at epoch 2. Returns when node2 answers 200, after checking
 * that took at most one poll interval and some slack. */
static void crash_and_promote(void)
{
    wait_primary("node1", 200, NULL, DEADLINE);
    wait_epoch(1);
    ck_assert_int_eq(fault("node1", "crash"), 200);
    wait_primary("node1", 503, NULL, DEADLINE);
    /* the acked floor stays while the primary is down */
    double acked = cluster_acked();
    ck_assert_double_gt(acked, 0);
    sleep_ms((long)(3 * INTERVAL * 1000));
    ck_assert_double_eq(cluster_acked(), acked);
    /* the dead primary stays the current one: nobody else gets a 200 */
    char why[128];
    ck_assert_int_eq(health_primary("node2", why, sizeof(why)), 503);
    ck_assert_str_eq(why, "not the primary");
    ck_assert_int_eq(
        admin("node2", "promote", "{\"replica_id\": \"node2\", \"epoch\": 2}"),
        200);
    double took = wait_primary("node2", 200, NULL, DEADLINE);
    fprintf(stderr,
            "test_primary: node2 answered 200 %.3f s after its "
            "promotion (poll interval %.3f s)\n",
            took, INTERVAL);
    ck_assert_msg(took <= (INTERVAL + SLACK) * wait_scale(),
                  "node2 answered 200 %.3f s after its promotion", took);
    wait_epoch(2);
}

START_TEST(promoted_replica_is_the_only_primary)
{
    crash_and_promote();
    for (size_t i = 2; i < ARRAY_LEN(nodes); i++)
        ck_assert_int_eq(admin(nodes[i], "replicate-from",
                               "{\"primary_id\": \"node2\", \"epoch\": 2}"),
                         200);
    /* node1 comes back believing it is the primary, at epoch 1 */
    ck_assert_int_eq(
        call(simnode_url(&sn, "node2"), "DELETE", "/v1/sim/fault", NULL), 200);
    assert_wait_for(simnode_url(&sn, "node1"), "stemedb_node_role",
                    "role=\"primary\"", EQ, 1, DEADLINE);
    assert_wait_for(simnode_url(&sn, "node1"), "stemedb_epoch", NULL, EQ, 1,
                    DEADLINE);
    assert_wait_for(ag.base, "replguard_up",
                    "cluster=\"c1\",node=\"node1\",role=\"primary\"", EQ, 1,
                    DEADLINE);
    int node2_ok = 0;
    for (double t0 = now_s(); now_s() - t0 < 3.0;) {
        int ok = 0;
        for (size_t i = 0; i < ARRAY_LEN(nodes); i++) {
            char why[128];
            long st = health_primary(nodes[i], why, sizeof(why));
            ck_assert_msg(st == 200 || st == 503, "%s: %ld", nodes[i], st);
            if (st != 200)
                continue;
            ck_assert_msg(strcmp(nodes[i], "node2") == 0,
                          "%s answers 200 for the primary", nodes[i]);
            ok++;
        }
        ck_assert_int_le(ok, 1);
        node2_ok += ok;
        sleep_ms(50);
    }
    ck_assert_int_gt(node2_ok, 0);
    /* failover is not enabled and replguard promoted nobody: the old
     * primary is the operator's to deal with, it is not fenced */
    ck_assert_double_eq(metric(simnode_url(&sn, "node1"),
                               "stemedb_admin_requests_total",
                               "endpoint=\"fence\""),
                        0);
    ck_assert_int_eq(agent_audit_count(&ag, "rejoin", NULL, NULL), 0);
    wait_epoch(2);
    ck_assert(agent_log_has(&ag, "msg=\"primary changed\" cluster=c1 "
                                 "from=node1 to=node2 from_epoch=1 "
                                 "to_epoch=2"));
}
END_TEST

/* state_json: GET /api/v1/state's cluster c1. */
static cJSON *state_c1(cJSON **root)
{
    struct resp r;
    get(ag.base, "/api/v1/state", &r);
    ck_assert_int_eq(r.status, 200);
    *root = cJSON_Parse(r.body.data);
    buf_free(&r.body);
    ck_assert_ptr_nonnull(*root);
    cJSON *c = cJSON_GetArrayItem(
        cJSON_GetObjectItemCaseSensitive(*root, "clusters"), 0);
    ck_assert_ptr_nonnull(c);
    return c;
}

START_TEST(fenced_node_answers_fenced)
{
    wait_primary("node1", 200, NULL, DEADLINE);
    cJSON *root;
    cJSON *c = state_c1(&root);
    ck_assert_double_eq(
        cJSON_GetObjectItemCaseSensitive(c, "epoch")->valuedouble, 1);
    ck_assert_str_eq(
        cJSON_GetObjectItemCaseSensitive(c, "sync_mode")->valuestring, "async");
    cJSON *f = cJSON_GetObjectItemCaseSensitive(c, "failover");
    ck_assert_ptr_nonnull(f);
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(f, "blocked")));
    ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(f, "last")));
    cJSON_Delete(root);

    ck_assert_int_eq(admin("node1", "fence", "{\"epoch\": 2}"), 200);
    wait_primary("node1", 503, "fenced", DEADLINE);
    wait_epoch(2);
    char why[128];
    for (size_t i = 1; i < ARRAY_LEN(nodes); i++) {
        ck_assert_int_eq(health_primary(nodes[i], why, sizeof(why)), 503);
        ck_assert_str_eq(why, "not the primary");
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("primary");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, promoted_replica_is_the_only_primary);
    tcase_add_test(tc, fenced_node_answers_fenced);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
