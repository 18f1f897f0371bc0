/* test_actenv.c: the executor (src/act) on a hand-filled struct act_env,
 * with no engine: a view of one cluster (node1 primary, node2 a lagging
 * replica), a manual clock, a TILT state and callbacks that count their
 * calls. What the acting half reads of the monitoring half is all in
 * that struct (executor.h), so a dry-run force_sync is planned, run and
 * audited from it alone, and a TILT set in it holds the alert. */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "act/executor.h"
#include "act/remedy.h"
#include "config/config.h"
#include "config/runbook.h"
#include "formats/alert.h"
#include "lib/clock.h"
#include "lib/poller.h"
#include "lib/util.h"
#include "model/tilt.h"
#include "model/view.h"
#include "test_support.h"

static char dir[64], audit_path[128];
static struct manual_clock mc = {1000, 1.8e9};
static struct rg_clock clk;
static struct tilt tilt;
static struct node_view nodes[2];
static struct cluster_view cview;
static struct agent_view view;
static struct poller *poller;
static struct remedy *rem;
static int dry_run_calls;

static bool env_dry_run(void *ctx)
{
    (void)ctx;
    dry_run_calls++;
    return true;
}

static const struct config_cluster *env_cluster_conf(void *ctx,
                                                     const char *name)
{
    (void)ctx;
    (void)name;
    return NULL;
}

static const char *env_node_url(void *ctx, const char *cluster,
                                const char *node)
{
    (void)ctx;
    (void)cluster;
    (void)node;
    return "http://127.0.0.1:9";
}

static int env_ingest_rate(void *ctx, const char *cluster, double window,
                           double *rate)
{
    (void)ctx;
    (void)cluster;
    (void)window;
    (void)rate;
    return -1;
}

static void fill_view(void)
{
    const char *names[] = {"node1", "node2"};
    for (int i = 0; i < 2; i++) {
        struct node_view *n = &nodes[i];
        memset(n, 0, sizeof(*n));
        n->cluster = "c1";
        n->name = names[i];
        n->url = "http://127.0.0.1:9";
        n->role = i == 0 ? "primary" : "replica";
        n->is_primary = i == 0;
        n->up = n->fresh = true;
        n->last_failure = -1;
        n->health = i == 0 ? HEALTH_HEALTHY : HEALTH_DEGRADED;
        n->rv = (struct replica_view){.reachable = true,
                                      .fresh = true,
                                      .connected = true,
                                      .have_lag = true,
                                      .lag = 30};
    }
    cview = (struct cluster_view){.name = "c1",
                                  .lag_source = "heartbeat",
                                  .first_node = 0,
                                  .n_nodes = 2,
                                  .primary = 0};
    view = (struct agent_view){.rounds = 3,
                               .ready = true,
                               .clusters = &cview,
                               .n_clusters = 1,
                               .nodes = nodes,
                               .n_nodes = 2};
}

static struct executor *start(void)
{
    static const char rules[] = "runbook: sync\n"
                                "match: {alertname: Lag}\n"
                                "target_label: replica\n"
                                "steps:\n"
                                "  - action: force_sync\n";
    struct runbook_set *set = NULL;
    ck_assert_int_eq(
        runbook_load_string("sync.yml", rules, strlen(rules), &set, NULL), 0);
    struct act_env env = {
        .view = &view,
        .clock = &clk,
        .tilt = &tilt,
        .poller = poller,
        .dry_run = env_dry_run,
        .cluster_conf = env_cluster_conf,
        .node_url = env_node_url,
        .ingest_rate = env_ingest_rate,
    };
    char err[256];
    struct executor *x =
        executor_new(&env, rem, set, audit_path, err, sizeof(err));
    ck_assert_msg(x, "%s", err);
    return x;
}

static void submit_alert(void)
{
    static const char body[] =
        "{\"receiver\":\"replguard\",\"status\":\"firing\",\"alerts\":[{"
        "\"status\":\"firing\",\"labels\":{\"alertname\":\"Lag\","
        "\"cluster\":\"c1\",\"replica\":\"node2\"},\"annotations\":{},"
        "\"startsAt\":\"2026-11-22T00:00:00Z\","
        "\"endsAt\":\"0001-01-01T00:00:00Z\",\"generatorURL\":\"\","
        "\"fingerprint\":\"f1\"}],\"groupLabels\":{},\"commonLabels\":{},"
        "\"commonAnnotations\":{},\"externalURL\":\"http://am\","
        "\"version\":\"4\",\"groupKey\":\"{}:{}\",\"truncatedAlerts\":0}";
    struct alert_payload *p = NULL;
    char err[256];
    ck_assert_int_eq(alert_parse(body, strlen(body), &p, err, sizeof(err)), 0);
    ck_assert_int_eq(remedy_submit(rem, p), REMEDY_OK);
    alert_payload_free(p);
}

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/rg-actenv-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(audit_path, sizeof(audit_path), "%s/audit.jsonl", dir);
    char err[256];
    rem = remedy_open(dir, NULL, err, sizeof(err));
    ck_assert_msg(rem, "%s", err);
    poller = poller_new();
    clk = clock_manual(&mc);
    tilt_init(&tilt);
    dry_run_calls = 0;
    fill_view();
}

static void teardown(void)
{
    poller_free(poller);
    remedy_close(rem);
    rm_tree(dir);
}

/* The executor plans from the env's view and config callbacks and, dry
 * run as env says, records the step without calling a node. */
START_TEST(test_dry_run_from_env)
{
    struct executor *x = start();
    submit_alert();
    executor_tick(x, clock_mono(&clk));
    ck_assert_int_gt(dry_run_calls, 0);
    ck_assert(executor_idle(x));
    executor_free(x);
    ck_assert_int_eq(audit_count(audit_path, "action", "action", "force_sync"),
                     1);
    ck_assert_int_eq(audit_count(audit_path, "action", "dry_run", "true"), 1);
}
END_TEST

/* A TILT in the env holds the queued alert; once it is over the next
 * tick plans it. */
START_TEST(test_tilt_from_env_holds)
{
    struct executor *x = start();
    submit_alert();
    tilt.active = true;
    executor_tick(x, clock_mono(&clk));
    ck_assert_int_eq(dry_run_calls, 0);
    ck_assert_int_eq(audit_count(audit_path, "action", NULL, NULL), 0);
    ck_assert_int_eq(audit_count(audit_path, "skipped", NULL, NULL), 0);
    tilt.active = false;
    mc.mono += 1;
    executor_tick(x, clock_mono(&clk));
    ck_assert_int_gt(dry_run_calls, 0);
    executor_free(x);
    ck_assert_int_eq(audit_count(audit_path, "action", "action", "force_sync"),
                     1);
}
END_TEST

int main(void)
{
    poller_global_init();
    Suite *s = suite_create("actenv");
    TCase *tc = tcase_create("env");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_dry_run_from_env);
    tcase_add_test(tc, test_tilt_from_env_holds);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    poller_global_cleanup();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
