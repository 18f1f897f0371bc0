/* test_agent.c: integration test of replguard against replguard-simnode.
 *
 * Each test starts a 3-node simulated cluster and replguard polling it
 * every 200 ms, both on ephemeral loopback ports, then injects faults
 * and checks what replguard exports and answers. replguard logs to a
 * file, where the test reads the port it bound. Waits poll with a
 * deadline; nothing asserts speed. */
#include <check.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_harness.h"
#include "lib/poller.h"
#include "simnode_harness.h"
#include "lib/util.h"

#define INTERVAL (0.2 * wait_scale()) /* seconds; longer under valgrind */

/* the poll interval of the running fixture: INTERVAL, or 1 s (scaled)
 * for the "keepalive" case, where a round's scrapes and a compare must
 * rarely overlap even on a loaded machine */
static double interval = 0.2;

static struct simnode sn;
static struct agent ag;

/* config_text: a config for the fixture's cluster; extra goes into the
 * cluster's thresholds. */
static void config_text(struct buf *b, const char *read_max_lag)
{
    buf_printf(b,
               "listen: \"127.0.0.1:0\"\n"
               "state_dir: %s\n"
               "poll: {interval: %.0fms, timeout: %.0fms, "
               "merkle_interval: %.0fms}\n"
               "clusters:\n"
               "  - name: c1\n"
               "    thresholds: {warning: 1s, critical: 2s, escalate: 30s, "
               "read_max_lag: %s}\n"
               "    nodes:\n",
               ag.dir, interval * 1000, interval * 750, wait_scale() * 1000,
               read_max_lag);
    simnode_yaml_nodes(&sn, b);
}

static void write_config(const char *read_max_lag)
{
    struct buf b;
    buf_init(&b, 0);
    config_text(&b, read_max_lag);
    agent_write(ag.cfg, b.data);
    buf_free(&b);
}

static void setup(void)
{
    static const char *const args[] = {"--ingest-rate", "1000", "--apply-rate",
                                       "5000", NULL};
    interval = INTERVAL;
    agent_setup(&ag, &sn, args);
    write_config("100ms");
    agent_start(&ag);
}

/* setup_keepalive: the same with 1 s rounds and a 1 s merkle_interval. */
static void setup_keepalive(void)
{
    static const char *const args[] = {"--ingest-rate", "1000", "--apply-rate",
                                       "5000", NULL};
    interval = 1.0 * wait_scale();
    agent_setup(&ag, &sn, args);
    write_config("100ms");
    agent_start(&ag);
}

static void teardown(void)
{
    agent_teardown(&ag, &sn);
}

static const char *node_url(const char *name)
{
    return simnode_url(&sn, name);
}

static long health(const char *node, const char *query)
{
    char path[128];
    snprintf(path, sizeof(path), "/health/replica/c1/%s%s", node,
             query ? query : "");
    return call(ag.base, "GET", path, NULL);
}

/* wait_health: polls /health/replica/c1/node until it answers status. */
static bool wait_health(const char *node, long status, double secs)
{
    double deadline = now_s() + secs * wait_scale();
    while (health(node, NULL) != status && now_s() < deadline)
        sleep_ms(20);
    return health(node, NULL) == status;
}

static void fault(const char *json)
{
    long st = call(node_url("node1"), "POST", "/v1/sim/fault", json);
    ck_assert_msg(st == 200, "fault %s: HTTP %ld", json, st);
}

START_TEST(exports_every_node_and_lints)
{
    ck_assert_int_eq(call(ag.base, "GET", "/-/healthy", NULL), 200);
    const char *names[] = {"node1", "node2", "node3"};
    for (int i = 0; i < 3; i++) {
        char labels[96];
        snprintf(labels, sizeof(labels),
                 "cluster=\"c1\",node=\"%s\",role=\"%s\"", names[i],
                 i == 0 ? "primary" : "replica");
        assert_wait(ag.base, "replguard_up", labels, EQ, 1);
    }
    assert_wait(ag.base, "replguard_replica_in_read_rotation",
                "cluster=\"c1\",replica=\"node2\"", EQ, 1);
    struct resp r;
    get(ag.base, "/metrics", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.ctype, "text/plain"));
    promtool_check(&r.body);
    buf_free(&r.body);

    get(ag.base, "/api/v1/state", &r);
    ck_assert_int_eq(r.status, 200);
    cJSON *j = cJSON_Parse(r.body.data);
    ck_assert_ptr_nonnull(j);
    cJSON *cl = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "clusters"), 0);
    ck_assert_str_eq(cJSON_GetObjectItem(cl, "name")->valuestring, "c1");
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(cl, "nodes")), 3);
    cJSON_Delete(j);
    buf_free(&r.body);

    /* the primary endpoint knows who the primary is */
    ck_assert_int_eq(call(ag.base, "GET", "/health/primary/c1/node1", NULL),
                     200);
    ck_assert_int_eq(call(ag.base, "GET", "/health/primary/c1/node2", NULL),
                     503);
    ck_assert_int_eq(call(ag.base, "GET", "/health/replica/c1/nodeX", NULL),
                     404);
}
END_TEST

START_TEST(slow_apply_takes_node2_out_alone)
{
    ck_assert(wait_health("node2", 200, 5));
    ck_assert(wait_health("node3", 200, 5));
    fault("{\"node\":\"node2\",\"kind\":\"slow_apply\",\"factor\":0.01,"
          "\"duration\":\"30s\"}");
    /* node2 leaves read rotation as soon as its lag passes 100 ms */
    ck_assert(wait_health("node2", 503, 5));
    ck_assert_int_eq(health("node3", NULL), 200);
    /* and turns unhealthy past the 2 s critical threshold */
    assert_wait(ag.base, "replguard_replica_health",
                "cluster=\"c1\",replica=\"node2\",health=\"unhealthy\"", EQ, 1);
    ck_assert_int_eq(health("node3", NULL), 200);
    ck_assert_double_eq(
        metric(ag.base, "replguard_replica_health",
               "cluster=\"c1\",replica=\"node3\",health=\"healthy\""),
        1);
    /* a looser max_lag lets a caller accept node2 anyway */
    ck_assert_int_eq(health("node2", "?max_lag=1h"), 200);
    ck_assert_int_eq(health("node2", "?max_lag=bogus"), 400);
    /* every lag kind sees it */
    const char *kinds[] = {"replguard_replica_heartbeat_lag_seconds",
                           "replguard_replica_position_lag_seconds",
                           "replguard_replica_reported_lag_seconds"};
    for (int i = 0; i < 3; i++)
        ck_assert_msg(
            metric(ag.base, kinds[i], "cluster=\"c1\",replica=\"node2\"") > 1.0,
            "%s", kinds[i]);
    ck_assert(metric(ag.base, "replguard_replica_lag_positions",
                     "cluster=\"c1\",replica=\"node2\"") > 1000);
    /* once the fault is gone the backlog drains and node2 comes back */
    ck_assert_int_eq(call(node_url("node1"), "DELETE", "/v1/sim/fault", NULL),
                     200);
    ck_assert(wait_health("node2", 200, 10));
}
END_TEST

static const struct {
    const char *kind;
    const char *reason;
} failures[] = {
    {"down", "connect"},      {"hang", "timeout"},         {"garbage", "parse"},
    {"slow_body", "timeout"}, {"http_500", "http_status"},
};

START_TEST(each_fault_is_its_own_failure)
{
    const char *kind = failures[_i].kind, *reason = failures[_i].reason;
    char labels[128], json[128];
    snprintf(labels, sizeof(labels),
             "cluster=\"c1\",node=\"node3\",reason=\"%s\"", reason);
    double before = metric(ag.base, "replguard_scrape_failures_total", labels);
    ck_assert_double_eq(before, 0);
    double rounds0 = metric(ag.base, "replguard_poll_rounds_total", NULL);
    double t0 = now_s();
    snprintf(json, sizeof(json), "{\"node\":\"node3\",\"kind\":\"%s\"}", kind);
    fault(json);
    assert_wait(ag.base, "replguard_scrape_failures_total", labels, GT, 0);
    assert_wait(ag.base, "replguard_up",
                "cluster=\"c1\",node=\"node3\",role=\"replica\"", EQ, 0);
    assert_wait(ag.base, "replguard_replica_health",
                "cluster=\"c1\",replica=\"node3\",health=\"unknown\"", EQ, 1);
    ck_assert_int_eq(health("node3", NULL), 503);
    /* the others keep being scraped, on time */
    sleep_ms(1000);
    ck_assert_double_eq(
        metric(ag.base, "replguard_up",
               "cluster=\"c1\",node=\"node2\",role=\"replica\""),
        1);
    ck_assert_double_eq(
        metric(ag.base, "replguard_replica_health",
               "cluster=\"c1\",replica=\"node2\",health=\"unknown\""),
        0);
    double rounds =
        metric(ag.base, "replguard_poll_rounds_total", NULL) - rounds0;
    double expect = (now_s() - t0) / INTERVAL;
    ck_assert_msg(rounds >= expect - 2, "%g rounds in %g intervals", rounds,
                  expect);
    /* after the fault, node3 is back */
    ck_assert_int_eq(call(node_url("node1"), "DELETE", "/v1/sim/fault", NULL),
                     200);
    ck_assert(wait_health("node3", 200, 5));
}
END_TEST

START_TEST(sighup_reloads_and_keeps_a_good_config)
{
    fault("{\"node\":\"node2\",\"kind\":\"slow_apply\",\"factor\":0.05,"
          "\"duration\":\"30s\"}");
    ck_assert(wait_health("node2", 503, 5));
    /* a looser read_max_lag, applied by SIGHUP */
    write_config("1h");
    kill(ag.pid, SIGHUP);
    ck_assert(wait_health("node2", 200, 5));
    /* an invalid config is refused and the running one kept */
    agent_write(ag.cfg, "clusters: [ {name: c1, bogus: 1} ]\n");
    kill(ag.pid, SIGHUP);
    sleep_ms(600);
    ck_assert_int_eq(health("node2", NULL), 200);
    ck_assert_int_eq(call(ag.base, "GET", "/-/ready", NULL), 200);
    FILE *f = fopen(ag.log, "r");
    char line[1024];
    bool refused = false;
    while (f && fgets(line, sizeof(line), f))
        refused |= strstr(line, "reload refused") != NULL;
    if (f)
        fclose(f);
    ck_assert(refused);
}
END_TEST

static const char *const DIFF2 = "cluster=\"c1\",replica=\"node2\"";
static const char *const DIFF3 = "cluster=\"c1\",replica=\"node3\"";

START_TEST(merkle_divergence_is_exact)
{
    /* a first verdict: no divergence */
    assert_wait(ag.base, "replguard_merkle_diff_buckets", DIFF2, EQ, 0);
    assert_wait(ag.base, "replguard_merkle_buckets", "cluster=\"c1\"", EQ,
                65536);
    fault("{\"node\":\"node2\",\"kind\":\"diverge\",\"buckets\":7}");
    /* within two merkle intervals (1 s here), exactly 7 */
    assert_wait(ag.base, "replguard_merkle_diff_buckets", DIFF2, EQ, 7);
    ck_assert_double_eq(metric(ag.base, "replguard_merkle_diff_buckets", DIFF3),
                        0);
    struct resp r;
    get(ag.base, "/api/v1/state", &r);
    cJSON *j = cJSON_Parse(r.body.data);
    cJSON *nodes = cJSON_GetObjectItem(
        cJSON_GetArrayItem(cJSON_GetObjectItem(j, "clusters"), 0), "nodes");
    cJSON *mk = cJSON_GetObjectItem(cJSON_GetArrayItem(nodes, 1), "merkle");
    ck_assert_ptr_nonnull(mk);
    ck_assert_int_eq(cJSON_GetObjectItem(mk, "diff_buckets")->valueint, 7);
    ck_assert(cJSON_IsString(cJSON_GetObjectItem(mk, "diff_ranges")));
    cJSON_Delete(j);
    buf_free(&r.body);
    /* a forced sync repairs them */
    ck_assert_int_eq(call(node_url("node1"), "POST", "/v1/admin/cluster/sync",
                          "{\"replica_id\":\"node2\",\"force\":true}"),
                     202);
    assert_wait(ag.base, "replguard_merkle_diff_buckets", DIFF2, EQ, 0);
}
END_TEST

START_TEST(lag_is_not_divergence)
{
    assert_wait(ag.base, "replguard_merkle_diff_buckets", DIFF3, EQ, 0);
    /* node3 falls behind and catches up, over and over: its trees differ
     * by the writes in flight all along, but that is lag, not divergence */
    double until = now_s() + 6;
    int episodes = 0;
    while (now_s() < until) {
        if (episodes++ % 3 == 0)
            fault("{\"node\":\"node3\",\"kind\":\"stall\","
                  "\"duration\":\"700ms\"}");
        double d = metric(ag.base, "replguard_merkle_diff_buckets", DIFF3);
        ck_assert_msg(d == 0, "node3 reported %g differing buckets", d);
        sleep_ms(200);
    }
    /* and the compares did run meanwhile */
    ck_assert(metric(ag.base, "replguard_merkle_compare_bytes_total", DIFF3) >
              0);
}
END_TEST

/* scrape_failures: replguard's failed scrapes of node, every reason. */
static double scrape_failures(const char *node)
{
    static const char *const reasons[] = {"timeout", "connect", "http_status",
                                          "parse", "too_large"};
    double sum = 0;
    for (size_t i = 0; i < ARRAY_LEN(reasons); i++) {
        char labels[128];
        snprintf(labels, sizeof(labels),
                 "cluster=\"c1\",node=\"%s\",reason=\"%s\"", node, reasons[i]);
        double v = metric(ag.base, "replguard_scrape_failures_total", labels);
        sum += isnan(v) ? 0 : v;
    }
    return sum;
}

/* The compares ask on the connections the scrapes keep (divergence.c
 * borrows them): over five Merkle intervals, some five compares of each
 * replica and their rechecks, no node accepts a connection but the
 * test's own read, one spare (for a scrape that came due during a
 * compare: it opens its own), and one for each scrape that failed
 * (a failed request drops its connection). Rounds of 1 s here, so that
 * scrapes and compares rarely overlap on a loaded machine. */
START_TEST(merkle_compares_keep_connections)
{
    static const char *const nodes[] = {"node1", "node2", "node3"};
    const char *conns = "stemedb_http_connections_total";
    double before[3], failed[3];
    assert_wait(ag.base, "replguard_merkle_diff_buckets", DIFF2, EQ, 0);
    assert_wait(ag.base, "replguard_merkle_diff_buckets", DIFF3, EQ, 0);
    double bytes =
        metric(ag.base, "replguard_merkle_compare_bytes_total", DIFF3);
    for (int i = 0; i < 3; i++) {
        before[i] = metric(node_url(nodes[i]), conns, NULL);
        failed[i] = scrape_failures(nodes[i]);
    }
    sleep_ms((int)(5 * wait_scale() * 1000)); /* five merkle_intervals */
    ck_assert(metric(ag.base, "replguard_merkle_compare_bytes_total", DIFF3) >
              bytes);
    for (int i = 0; i < 3; i++) {
        double d = metric(node_url(nodes[i]), conns, NULL) - before[i];
        double f = scrape_failures(nodes[i]) - failed[i];
        ck_assert_msg(d <= 2 + f,
                      "%s accepted %g connections (%g scrapes failed)",
                      nodes[i], d, f);
    }
}
END_TEST

/* run: runs replguard with args, stdout and stderr into out. */
static int run(const char *const *args, struct buf *out)
{
    char bin[PATH_MAX], path[128];
    replguard_path(bin, sizeof(bin));
    snprintf(path, sizeof(path), "%s/run.out", ag.dir);
    const char *argv[8] = {bin};
    for (int i = 0; args[i] && i < 6; i++)
        argv[i + 1] = args[i];
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    FILE *f = fopen(path, "r");
    char chunk[512];
    size_t n;
    while (f && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_append(out, chunk, n);
    if (f)
        fclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(check_config)
{
    struct buf out;
    buf_init(&out, 0);
    const char *good[] = {"--check-config", "-c", ag.cfg, NULL};
    ck_assert_int_eq(run(good, &out), 0);
    ck_assert_str_eq(out.data, "OK: 1 clusters, 3 nodes, 0 runbooks\n");
    char bad[128];
    snprintf(bad, sizeof(bad), "%s/bad.yml", ag.dir);
    agent_write(bad, "poll:\n  interval: soon\nclusters: []\nlisten: 5\n");
    const char *badargs[] = {"--check-config", "-c", bad, NULL};
    buf_reset(&out);
    ck_assert_int_eq(run(badargs, &out), 1);
    char want[160];
    snprintf(want, sizeof(want), "%s:2:13: ", bad);
    ck_assert_msg(strstr(out.data, want) != NULL, "%s", out.data);
    snprintf(want, sizeof(want), "%s:4:9: ", bad);
    ck_assert_msg(strstr(out.data, want) != NULL, "%s", out.data);
    buf_free(&out);
}
END_TEST

/* poller outcomes against the live node: too_large needs a small cap. */
static void on_done(void *ctx, const struct poll_result *r)
{
    *(struct poll_result *)ctx = *r;
    ((struct poll_result *)ctx)->body = NULL;
}

static enum poll_outcome fetch(struct poller *p, size_t cap, const char *url)
{
    struct poll_req *r = poller_req_new(p, cap);
    struct poll_result res = {.outcome = -1};
    ck_assert_int_eq(poller_get(r, url, 0.5, on_done, &res), 0);
    double deadline = now_s() + 5 * wait_scale();
    while ((int)res.outcome == -1 && now_s() < deadline)
        poller_run(p, 100);
    poller_req_free(r);
    return res.outcome;
}

START_TEST(poller_outcomes)
{
    struct poller *p = poller_new();
    char url[128];
    snprintf(url, sizeof(url), "%s/metrics", node_url("node2"));
    ck_assert_int_eq(fetch(p, 1 << 20, url), POLL_OK);
    ck_assert_int_eq(fetch(p, 100, url), POLL_TOO_LARGE);
    snprintf(url, sizeof(url), "%s/nope", node_url("node2"));
    ck_assert_int_eq(fetch(p, 1 << 20, url), POLL_HTTP_STATUS);
    ck_assert_int_eq(fetch(p, 1 << 20, "http://127.0.0.1:1/metrics"),
                     POLL_CONNECT);
    fault("{\"node\":\"node2\",\"kind\":\"hang\"}");
    snprintf(url, sizeof(url), "%s/metrics", node_url("node2"));
    ck_assert_int_eq(fetch(p, 1 << 20, url), POLL_TIMEOUT);
    poller_free(p);
}
END_TEST

/* Connections outlive a round: with more slots than libcurl keeps by
 * default (4 per transfer still running), a second round to the same
 * node must open none. */
static void count_connects(void *ctx, const struct poll_result *r)
{
    long *n = ctx;
    n[0] += r->outcome == POLL_OK;
    n[1] += r->connects;
}

START_TEST(poller_keeps_connections)
{
    enum { SLOTS = 16 };
    struct poller *p = poller_new();
    struct poll_req *r[SLOTS];
    for (int i = 0; i < SLOTS; i++)
        r[i] = poller_req_new(p, 1 << 20);
    char url[128];
    snprintf(url, sizeof(url), "%s/metrics", node_url("node2"));
    for (int round = 0; round < 3; round++) {
        long n[2] = {0, 0}; /* answers, connections opened */
        for (int i = 0; i < SLOTS; i++)
            ck_assert_int_eq(poller_get(r[i], url, 2, count_connects, n), 0);
        double deadline = now_s() + 10;
        while (n[0] < SLOTS && now_s() < deadline)
            poller_run(p, 100);
        ck_assert_int_eq(n[0], SLOTS);
        if (round == 0)
            ck_assert_int_gt(n[1], 0);
        else
            ck_assert_msg(n[1] == 0, "round %d opened %ld connections",
                          round + 1, n[1]);
    }
    for (int i = 0; i < SLOTS; i++)
        poller_req_free(r[i]);
    poller_free(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("agent");
    TCase *tc = tcase_create("integration");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, exports_every_node_and_lints);
    tcase_add_test(tc, slow_apply_takes_node2_out_alone);
    tcase_add_loop_test(tc, each_fault_is_its_own_failure, 0,
                        (int)ARRAY_LEN(failures));
    tcase_add_test(tc, sighup_reloads_and_keeps_a_good_config);
    tcase_add_test(tc, check_config);
    tcase_add_test(tc, merkle_divergence_is_exact);
    tcase_add_test(tc, lag_is_not_divergence);
    tcase_add_test(tc, poller_outcomes);
    tcase_add_test(tc, poller_keeps_connections);
    suite_add_tcase(s, tc);
    TCase *ka = tcase_create("keepalive");
    tcase_add_checked_fixture(ka, setup_keepalive, teardown);
    tcase_set_timeout(ka, 120);
    tcase_add_test(ka, merkle_compares_keep_connections);
    suite_add_tcase(s, ka);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
