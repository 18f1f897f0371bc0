/* test_failoverview.c: what the renderers show of failover (issue 15):
 * the failover families of /metrics, the "epoch", "sync_mode" and
 * "failover" members of a cluster in /api/v1/state, and the verdict of
 * /health/primary (snap_primary_why) for each reason, on hand-made
 * views. */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "monitor/exporter.h"
#include "monitor/snapshot.h"
#include "monitor/statejson.h"

struct fixture {
    struct cluster_view clusters[2];
    struct node_view nodes[4];
    struct agent_view v;
};

static const struct view_failover last = {
    .kind = "switchover",
    .outcome = "success",
    .from = "n1",
    .to = "n2",
    .reason = NULL,
    .epoch = 2,
    .lost_positions = 7,
    .started_wall = 1763769600.5,
    .duration = 2.25,
};

static struct node_view node(const char *cluster, const char *name,
                             const char *role, uint64_t epoch)
{
    return (struct node_view){.cluster = cluster,
                              .name = name,
                              .role = role,
                              .url = "http://h:1",
                              .up = true,
                              .fresh = true,
                              .last_failure = -1,
                              .have_epoch = epoch > 0,
                              .epoch = epoch};
}

/* fixture_init: cluster "main" (n1 the old primary back at epoch 1, n2
 * the current primary at epoch 2, n3 fenced) in a failover's verify
 * phase, with a last failover; cluster "quiet" (q1) whose nodes report
 * no epoch and that never had a failover. */
static void fixture_init(struct fixture *fx)
{
    memset(fx, 0, sizeof(*fx));
    fx->nodes[0] = node("main", "n1", "primary", 1);
    fx->nodes[1] = node("main", "n2", "primary", 2);
    fx->nodes[1].is_primary = true;
    fx->nodes[2] = node("main", "n3", "fenced", 2);
    fx->nodes[3] = node("quiet", "q1", "primary", 0);
    fx->nodes[3].is_primary = true;
    struct cluster_view *c = fx->clusters;
    c[0] = (struct cluster_view){.name = "main",
                                 .lag_source = "heartbeat",
                                 .first_node = 0,
                                 .n_nodes = 3,
                                 .primary = 1};
    c[0].epoch = 2;
    c[0].have_acked = true;
    c[0].acked = 9007199254740993ULL; /* 2^53 + 1: exact */
    c[0].sync_mode = "semi-sync";
    c[0].failover_phase = "verify";
    c[0].failover_blocked = true;
    c[0].last_failover = &last;
    c[1] = (struct cluster_view){.name = "quiet",
                                 .lag_source = "heartbeat",
                                 .first_node = 3,
                                 .n_nodes = 1,
                                 .primary = 3};
    fx->v = (struct agent_view){.version = "t",
                                .ready = true,
                                .clusters = fx->clusters,
                                .n_clusters = 2,
                                .nodes = fx->nodes,
                                .n_nodes = 4};
}

static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = strstr(text, line); p; p = strstr(p + 1, line))
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return true;
    return false;
}

START_TEST(metrics_of_failover)
{
    struct fixture fx;
    struct buf b;
    fixture_init(&fx);
    buf_init(&b, 0);
    exporter_render(&fx.v, &b);
    const char *t = b.data;
    ck_assert(has_line(t, "replguard_cluster_epoch{cluster=\"main\"} 2"));
    /* no node of quiet reported an epoch: no series */
    ck_assert(!strstr(t, "replguard_cluster_epoch{cluster=\"quiet\"}"));
    ck_assert(
        has_line(t, "replguard_failover_in_progress{cluster=\"main\"} 1"));
    ck_assert(
        has_line(t, "replguard_failover_in_progress{cluster=\"quiet\"} 0"));
    ck_assert(has_line(t, "replguard_failover_blocked{cluster=\"main\"} 1"));
    ck_assert(has_line(t, "replguard_failover_blocked{cluster=\"quiet\"} 0"));
    ck_assert(has_line(t,
                       "replguard_failover_duration_seconds{cluster=\"main\"} "
                       "2.25"));
    ck_assert(has_line(t, "replguard_failover_lost_positions{cluster=\"main\"} "
                          "7"));
    ck_assert(
        !strstr(t, "replguard_failover_duration_seconds{cluster=\"quiet\""));
    ck_assert(
        !strstr(t, "replguard_failover_lost_positions{cluster=\"quiet\""));
    /* idle is not in progress */
    fx.clusters[0].failover_phase = "idle";
    b.len = 0;
    exporter_render(&fx.v, &b);
    ck_assert(
        has_line(b.data, "replguard_failover_in_progress{cluster=\"main\"} 0"));
    buf_free(&b);
}
END_TEST

static cJSON *cluster_json(const struct agent_view *v, int i)
{
    struct buf b;
    buf_init(&b, 0);
    statejson_render(v, &b);
    cJSON *root = cJSON_Parse(b.data);
    buf_free(&b);
    ck_assert_ptr_nonnull(root);
    cJSON *c = cJSON_DetachItemFromArray(
        cJSON_GetObjectItemCaseSensitive(root, "clusters"), i);
    cJSON_Delete(root);
    ck_assert_ptr_nonnull(c);
    return c;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);
    ck_assert_msg(cJSON_IsString(it), "\"%s\" is no string", k);
    return it->valuestring;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);
    ck_assert_msg(cJSON_IsNumber(it), "\"%s\" is no number", k);
    return it->valuedouble;
}

static bool null(const cJSON *o, const char *k)
{
    return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, k));
}

START_TEST(state_of_failover)
{
    struct fixture fx;
    fixture_init(&fx);
    struct buf text;
    buf_init(&text, 0);
    statejson_render(&fx.v, &text);
    ck_assert_ptr_nonnull(strstr(text.data, "\"acked\":9007199254740993,"));
    buf_free(&text);
    cJSON *c = cluster_json(&fx.v, 0);
    ck_assert_double_eq(num(c, "epoch"), 2);
    ck_assert_str_eq(str(c, "sync_mode"), "semi-sync");
    cJSON *f = cJSON_GetObjectItemCaseSensitive(c, "failover");
    ck_assert_str_eq(str(f, "phase"), "verify");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "blocked")));
    cJSON *l = cJSON_GetObjectItemCaseSensitive(f, "last");
    ck_assert_str_eq(str(l, "kind"), "switchover");
    ck_assert_str_eq(str(l, "outcome"), "success");
    ck_assert_str_eq(str(l, "from"), "n1");
    ck_assert_str_eq(str(l, "to"), "n2");
    ck_assert(null(l, "reason"));
    ck_assert_double_eq(num(l, "epoch"), 2);
    ck_assert_double_eq(num(l, "lost_positions"), 7);
    ck_assert_double_eq(num(l, "started"), 1763769600.5);
    ck_assert_double_eq(num(l, "duration"), 2.25);
    cJSON_Delete(c);

    c = cluster_json(&fx.v, 1);
    ck_assert(null(c, "epoch"));
    ck_assert(null(c, "acked"));
    ck_assert(null(c, "sync_mode"));
    f = cJSON_GetObjectItemCaseSensitive(c, "failover");
    ck_assert_str_eq(str(f, "phase"), "idle"); /* no executor: idle */
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(f, "blocked")));
    ck_assert(null(f, "last"));
    cJSON_Delete(c);
}
END_TEST

/* /health/primary's verdict: only the current primary, up, fresh, at
 * the cluster's epoch, passes. */
START_TEST(primary_verdicts)
{
    struct fixture fx;
    fixture_init(&fx);
    struct snapshot *s = snapshot_new(&fx.v);
    const struct snap_node *n1 = snapshot_find(s, "main", "n1");
    const struct snap_node *n2 = snapshot_find(s, "main", "n2");
    const struct snap_node *n3 = snapshot_find(s, "main", "n3");
    const struct snap_node *q1 = snapshot_find(s, "quiet", "q1");
    ck_assert(n1 && n2 && n3 && q1);
    ck_assert_ptr_null(snap_primary_why(n2));
    ck_assert_ptr_null(snap_primary_why(q1)); /* no epochs: role decides */
    ck_assert_str_eq(snap_primary_why(n1), "not the primary");
    ck_assert_str_eq(snap_primary_why(n3), "fenced");
    ck_assert_uint_eq(n2->epoch, 2);
    ck_assert_uint_eq(n1->cluster_epoch, 2);

    struct snap_node x = *n2;
    x.up = false;
    ck_assert_str_eq(snap_primary_why(&x), "unreachable");
    x = *n2;
    x.fresh = false;
    ck_assert_str_eq(snap_primary_why(&x), "stale");
    x = *n2;
    x.epoch = 1;
    ck_assert_str_eq(snap_primary_why(&x), "older epoch");
    x = *n2;
    x.role = "replica";
    ck_assert_str_eq(snap_primary_why(&x), "not the primary");
    x = *n2;
    x.role = "fenced";
    ck_assert_str_eq(snap_primary_why(&x), "fenced");
    snapshot_unref(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("failoverview");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, metrics_of_failover);
    tcase_add_test(tc, state_of_failover);
    tcase_add_test(tc, primary_verdicts);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
