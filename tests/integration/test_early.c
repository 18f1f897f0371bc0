/* test_early.c: a replica that leaves read rotation is published as soon
 * as its own scrape shows it, not after the round's slowest scrape
 * (monitor/engine_internal.h, assess_early_out).
 *
 * One cluster of three simulated nodes polled every 2 s with a 1.5 s
 * timeout. node3 hangs (its /metrics never answers, so every round
 * waits 1.5 s for it); then node2 stops applying. node2's 503 must not
 * wait for node3: /metrics shows node2 out of read rotation with node3's
 * timeouts as they were when it last showed it in rotation, that is
 * before the round that saw node2's lag ended (node3 times out in every
 * round). No timing is asserted: the order of what the snapshots
 * show. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_harness.h"
#include "simnode_harness.h"
#include "test_support.h"
#include "lib/util.h"

static struct simnode sn;
static struct agent ag;

static void setup(void)
{
    static const char *const args[] = {"--nodes", "3", NULL};
    agent_setup(&ag, &sn, args);
    struct buf b;
    buf_init(&b, 0);
    agent_yaml_head(&ag, &b, NULL, "interval: 2s, timeout: 1500ms");
    buf_puts(&b, "  - name: c1\n"
                 "    thresholds: {read_max_lag: 100ms, read_rise: 1}\n"
                 "    nodes:\n");
    simnode_yaml_nodes(&sn, &b);
    agent_write(ag.cfg, b.data);
    buf_free(&b);
}

static void teardown(void)
{
    agent_teardown(&ag, &sn);
}

/* look: one /metrics: node3's timeouts and node2's read rotation. */
static void look(double *timeouts, double *in)
{
    struct resp r;
    get(ag.base, "/metrics", &r);
    ck_assert_int_eq(r.status, 200);
    *timeouts = metric_in(r.body.data, "replguard_scrape_failures_total",
                          "cluster=\"c1\",node=\"node3\",reason=\"timeout\"");
    *in = metric_in(r.body.data, "replguard_replica_in_read_rotation",
                    "cluster=\"c1\",replica=\"node2\"");
    buf_free(&r.body);
}

START_TEST(a_hung_node_does_not_delay_another_nodes_503)
{
    agent_start(&ag);
    const char *p = simnode_url(&sn, "node1");
    assert_wait(ag.base, "replguard_replica_in_read_rotation",
                "cluster=\"c1\",replica=\"node2\"", EQ, 1);
    ck_assert_int_eq(call(p, "POST", "/v1/sim/fault",
                          "{\"node\":\"node3\",\"kind\":\"hang\"}"),
                     200);
    /* a round that waited for the hung node: node3 timed out in it */
    assert_wait_for(ag.base, "replguard_scrape_failures_total",
                    "cluster=\"c1\",node=\"node3\",reason=\"timeout\"", GT, 0,
                    10 * wait_scale());
    ck_assert_int_eq(call(p, "POST", "/v1/sim/fault",
                          "{\"node\":\"node2\",\"kind\":\"stall\"}"),
                     200);
    double timeouts_in = -1, timeouts, in = 1;
    double until = now_s() + 15 * wait_scale();
    while (now_s() < until) {
        look(&timeouts, &in);
        if (in != 1)
            break;
        timeouts_in = timeouts;
        sleep_ms(10);
    }
    ck_assert_msg(in == 0, "node2 still in read rotation (%g)", in);
    ck_assert_msg(timeouts == timeouts_in,
                  "node2 left read rotation with node3's timeout %.0f, after "
                  "%.0f: published at the round's end, after the hung node",
                  timeouts, timeouts_in);
    struct resp r;
    get(ag.base, "/health/replica/c1/node2", &r);
    ck_assert_int_eq(r.status, 503);
    buf_free(&r.body);
    /* the round's end (node3's next timeout) agrees */
    assert_wait(ag.base, "replguard_scrape_failures_total",
                "cluster=\"c1\",node=\"node3\",reason=\"timeout\"", GT,
                timeouts + 0.5);
    look(&timeouts, &in);
    ck_assert_double_eq(in, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("early");
    TCase *tc = tcase_create("rotation");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60 * wait_scale());
    tcase_add_test(tc, a_hung_node_does_not_delay_another_nodes_503);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
