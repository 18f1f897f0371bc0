/* test_failover_pick.c: failover's pure decisions (act/failover.h) on
 * hand-built views: detection (detect_after and the replicas' quorum),
 * the acknowledged copies per mode, the candidate by priority and
 * position, and the RPO guard (data_loss, unprovable, lag unknown). */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "act/failover.h"
#include "config/config.h"
#include "model/view.h"

#define N 4

/* A cluster of node1 (the primary) and node2..node4, all fresh and up,
 * replicas streaming with a known lag, positions 100; acked 100. */
struct world {
    struct config_node cn[N];
    struct config_cluster c;
    struct node_view n[N];
    struct cluster_view cv;
    struct agent_view v;
};

static struct world w;

static void setup(void)
{
    static char names[N][8] = {"node1", "node2", "node3", "node4"};
    static char cname[] = "c1";
    memset(&w, 0, sizeof(w));
    for (int i = 0; i < N; i++) {
        w.cn[i].name = names[i];
        w.cn[i].role = i == 0 ? NODE_ROLE_PRIMARY : NODE_ROLE_REPLICA;
        w.n[i] = (struct node_view){.cluster = "c1",
                                    .name = names[i],
                                    .role = i == 0 ? "primary" : "replica",
                                    .is_primary = i == 0,
                                    .up = true,
                                    .fresh = true,
                                    .last_ok_mono = 100,
                                    .have_position = true,
                                    .position = 100,
                                    .have_epoch = true,
                                    .epoch = 1,
                                    .have_connected = i != 0,
                                    .connected = i != 0};
        w.n[i].rv.have_lag = i != 0;
        w.n[i].rv.fresh = true;
    }
    w.c.name = cname;
    w.c.nodes = w.cn;
    w.c.n_nodes = N;
    w.c.replication.mode = REPL_SEMI_SYNC;
    w.c.replication.min_sync_replicas = 1;
    w.c.failover.enabled = true;
    w.c.failover.detect_after = 3;
    w.c.failover.quorum = QUORUM_MAJORITY;
    w.cv = (struct cluster_view){.name = "c1",
                                 .first_node = 0,
                                 .n_nodes = N,
                                 .primary = 0,
                                 .epoch = 1,
                                 .sync_mode = "semi-sync",
                                 .have_acked = true,
                                 .acked = 100,
                                 .primary_ok_mono = 100};
    w.v.clusters = &w.cv;
    w.v.n_clusters = 1;
    w.v.nodes = w.n;
    w.v.n_nodes = N;
    w.v.interval = 1;
}

/* crash: the primary unreachable since 100 (the engine's view then names
 * no primary up, while node1 stays is_primary), every replica's stream
 * down. */
static void crash(void)
{
    w.n[0].up = false;
    w.cv.primary = -1;
    for (int i = 1; i < N; i++)
        w.n[i].connected = false;
}

/* --- detection ------------------------------------------------------------ */

START_TEST(detect_needs_time_and_quorum)
{
    crash();
    struct fo_detect d;
    ck_assert_int_eq(fo_detect(&w.v, &w.cv, &w.c, 102.9, &d), FO_PRIMARY_OK);
    ck_assert_int_eq(fo_detect(&w.v, &w.cv, &w.c, 103, &d), FO_PRIMARY_DEAD);
    ck_assert_uint_eq(d.down, 3);
    ck_assert_uint_eq(d.quorum, 2); /* more than half of 3 */
    /* the agent cut off, two replicas still streaming: held */
    w.n[1].connected = w.n[2].connected = true;
    ck_assert_int_eq(fo_detect(&w.v, &w.cv, &w.c, 110, &d), FO_PRIMARY_HELD);
    ck_assert_uint_eq(d.down, 1);
    /* a stale replica's word counts for nothing */
    w.n[1].connected = false;
    w.n[1].fresh = false;
    ck_assert_int_eq(fo_detect(&w.v, &w.cv, &w.c, 110, NULL), FO_PRIMARY_HELD);
    w.n[1].fresh = true;
    ck_assert_int_eq(fo_detect(&w.v, &w.cv, &w.c, 110, NULL), FO_PRIMARY_DEAD);
}
END_TEST

START_TEST(detect_replicas_down_primary_answers)
{
    for (int i = 1; i < N; i++)
        w.n[i].connected = false;
    /* the primary was reached just now: nothing */
    w.cv.primary_ok_mono = 200;
    ck_assert_int_eq(fo_detect(&w.v, &w.cv, &w.c, 200.5, NULL), FO_PRIMARY_OK);
    w.n[0].is_primary = false; /* no primary known: nothing to replace */
    ck_assert_int_eq(fo_detect(&w.v, &w.cv, &w.c, 1000, NULL), FO_PRIMARY_OK);
}
END_TEST

START_TEST(quorum_all_and_number)
{
    crash();
    w.n[3].connected = true;
    w.c.failover.quorum = QUORUM_ALL;
    ck_assert_int_eq(fo_detect(&w.v, &w.cv, &w.c, 110, NULL), FO_PRIMARY_HELD);
    w.c.failover.quorum = QUORUM_COUNT;
    w.c.failover.quorum_count = 2;
    ck_assert_int_eq(fo_detect(&w.v, &w.cv, &w.c, 110, NULL), FO_PRIMARY_DEAD);
}
END_TEST

/* --- copies --------------------------------------------------------------- */

START_TEST(sync_copies_by_mode)
{
    w.c.replication.min_sync_replicas = 2;
    ck_assert_uint_eq(fo_sync_copies(&w.c, &w.cv), 2);
    w.c.replication.mode = REPL_SYNC;
    ck_assert_uint_eq(fo_sync_copies(&w.c, &w.cv), 1);
    w.c.replication.mode = REPL_ASYNC;
    ck_assert_uint_eq(fo_sync_copies(&w.c, &w.cv), 0);
    /* semi-sync that fell back to async acks with no copy */
    w.c.replication.mode = REPL_SEMI_SYNC;
    w.cv.sync_mode = "async";
    ck_assert_uint_eq(fo_sync_copies(&w.c, &w.cv), 0);
}
END_TEST

/* --- the candidate -------------------------------------------------------- */

START_TEST(pick_priority_then_position_then_name)
{
    crash();
    struct fo_choice ch;
    w.n[1].position = 90; /* node2 behind: would lose 10 */
    ck_assert_int_eq(fo_choose(&w.v, &w.cv, &w.c, NULL, NULL, false, &ch), 0);
    ck_assert_str_eq(w.n[ch.node].name, "node3"); /* node3 < node4 by name */
    ck_assert_uint_eq(ch.need, 100);
    ck_assert_uint_eq(ch.loss, 0);
    w.n[3].position = 101; /* node4 ahead of the acked position */
    ck_assert_int_eq(fo_choose(&w.v, &w.cv, &w.c, NULL, NULL, false, &ch), 0);
    ck_assert_str_eq(w.n[ch.node].name, "node4");
    ck_assert_uint_eq(ch.need, 101);
    /* a lower priority number wins when it loses nothing */
    w.n[3].position = 100;
    w.cn[1].priority = 0;
    w.cn[2].priority = 5;
    w.cn[3].priority = 5;
    w.n[1].position = 100;
    ck_assert_int_eq(fo_choose(&w.v, &w.cv, &w.c, NULL, NULL, false, &ch), 0);
    ck_assert_str_eq(w.n[ch.node].name, "node2");
}
END_TEST

START_TEST(never_a_replica_with_unknown_lag)
{
    crash();
    struct fo_choice ch;
    w.cn[1].priority = 0;
    w.cn[2].priority = w.cn[3].priority = 9;
    w.n[1].rv.have_lag = false; /* node2 first by priority, lag unknown */
    ck_assert_int_eq(fo_choose(&w.v, &w.cv, &w.c, NULL, NULL, false, &ch), 0);
    ck_assert_str_ne(w.n[ch.node].name, "node2");
    w.n[1].rv.have_lag = true;
    w.n[1].rv.implausible = "implausible heartbeat";
    ck_assert_int_eq(fo_choose(&w.v, &w.cv, &w.c, NULL, NULL, false, &ch), 0);
    ck_assert_str_ne(w.n[ch.node].name, "node2");
    char why[64];
    ck_assert(!fo_eligible(&w.n[1], true, why, sizeof(why)));
    ck_assert_str_eq(why, "implausible values");
    w.n[1].rv.implausible = NULL;
    ck_assert(!fo_eligible(&w.n[1], false, why, sizeof(why)));
    ck_assert_str_eq(why, "lag unknown");
    w.n[2].role = "demoted";
    ck_assert(!fo_eligible(&w.n[2], true, why, sizeof(why)));
    ck_assert_str_eq(why, "demoted");
    w.n[2].role = "fenced";
    ck_assert(!fo_eligible(&w.n[2], true, NULL, 0));
}
END_TEST

/* With the primary dead no heartbeat comes: every replica's lag is
 * unknown now. The lag known at the last round the primary was up is
 * what counts (the caller remembers it). */
START_TEST(lag_remembered_from_before_the_outage)
{
    crash();
    for (int i = 1; i < N; i++)
        w.n[i].rv.have_lag = false;
    struct fo_choice ch;
    ck_assert_int_eq(fo_choose(&w.v, &w.cv, &w.c, NULL, NULL, false, &ch), -1);
    ck_assert_str_eq(ch.reason, "no_candidate");
    bool known[N] = {false, true, false, true}; /* node3 never measured */
    ck_assert_int_eq(fo_choose(&w.v, &w.cv, &w.c, known, NULL, false, &ch), 0);
    ck_assert_str_eq(w.n[ch.node].name, "node2");
    ck_assert_int_eq(fo_choose(&w.v, &w.cv, &w.c, known, "node3", false, &ch),
                     -1);
    ck_assert_str_eq(ch.why, "node3 may not be promoted: lag unknown");
}
END_TEST

START_TEST(rpo_guard_refuses_data_loss)
{
    crash();
    w.c.replication.mode = REPL_ASYNC;
    for (int i = 1; i < N; i++)
        w.n[i].position = 80;
    w.n[2].position = 90;
    struct fo_choice ch;
    ck_assert_int_eq(fo_choose(&w.v, &w.cv, &w.c, NULL, NULL, false, &ch), -1);
    ck_assert_str_eq(ch.reason, "data_loss");
    ck_assert_int_eq(ch.node, -1);
    ck_assert_uint_eq(ch.loss, 10);
    ck_assert_msg(strstr(ch.why, "node3 would lose 10 acknowledged "
                                 "positions, max_data_loss 0") != NULL,
                  "%s", ch.why);
    /* within a max_data_loss that allows it */
    w.c.failover.max_data_loss = 10;
    ck_assert_int_eq(fo_choose(&w.v, &w.cv, &w.c, NULL, NULL, false, &ch), 0);
    ck_assert_str_eq(w.n[ch.node].name, "node3");
    ck_assert_uint_eq(ch.loss, 10);
    /* a switchover catches up: the guard does not apply */
    w.c.failover.max_data_loss = 0;
    ck_assert_int_eq(fo_choose(&w.v, &w.cv, &w.c, NULL, NULL, true, &ch), 0);
}
END_TEST

/* PostgreSQL: a standby's replay (position) trails what it received
 * (flushed WAL), which a promotion applies before taking writes: the
 * guard counts what it received against the primary's flushed LSN. */
START_TEST(rpo_guard_counts_received)
{
    crash();
    w.c.replication.mode = REPL_ASYNC;
    for (int i = 1; i < N; i++)
        w.n[i].position = 80; /* replayed */
    w.n[3].have_received = true;
    w.n[3].received = 100; /* node4 has every flushed byte */
    struct fo_choice ch;
    ck_assert_int_eq(fo_choose(&w.v, &w.cv, &w.c, NULL, NULL, false, &ch), 0);
    ck_assert_str_eq(w.n[ch.node].name, "node4");
    ck_assert_uint_eq(ch.loss, 0);
    ck_assert_uint_eq(fo_holds(&w.n[3]), 100);
    ck_assert_uint_eq(fo_holds(&w.n[1]), 80);
    /* received short of the flushed LSN: refused as data loss */
    w.n[3].received = 95;
    ck_assert_int_eq(fo_choose(&w.v, &w.cv, &w.c, NULL, NULL, false, &ch), -1);
    ck_assert_str_eq(ch.reason, "data_loss");
    ck_assert_uint_eq(ch.loss, 5);
    /* a received position below the replayed one (a stale walreceiver
     * value) never lowers what a replica holds */
    w.n[3].received = 10;
    ck_assert_uint_eq(fo_holds(&w.n[3]), 80);
}
END_TEST

START_TEST(rpo_unprovable_when_copies_may_hide)
{
    crash();
    struct fo_choice ch;
    w.n[3].fresh = false; /* one of three unseen; semi-sync k = 1 */
    ck_assert_int_eq(fo_choose(&w.v, &w.cv, &w.c, NULL, NULL, false, &ch), -1);
    ck_assert_str_eq(ch.reason, "unprovable");
    ck_assert_msg(strstr(ch.why, "1 replica(s) unreachable") != NULL, "%s",
                  ch.why);
    /* with k = 2 one unseen replica cannot hold the only copy */
    w.c.replication.min_sync_replicas = 2;
    ck_assert_int_eq(fo_choose(&w.v, &w.cv, &w.c, NULL, NULL, false, &ch), 0);
    /* in async there is no bound to prove: the last scrape's */
    w.c.replication.mode = REPL_ASYNC;
    w.c.replication.min_sync_replicas = 1;
    ck_assert_int_eq(fo_choose(&w.v, &w.cv, &w.c, NULL, NULL, false, &ch), 0);
}
END_TEST

START_TEST(target_only_that_one)
{
    struct fo_choice ch;
    ck_assert_int_eq(fo_choose(&w.v, &w.cv, &w.c, NULL, "node4", true, &ch), 0);
    ck_assert_str_eq(w.n[ch.node].name, "node4");
    w.n[3].role = "demoted";
    ck_assert_int_eq(fo_choose(&w.v, &w.cv, &w.c, NULL, "node4", true, &ch),
                     -1);
    ck_assert_str_eq(ch.reason, "not_eligible");
    ck_assert_str_eq(ch.why, "node4 may not be promoted: demoted");
    ck_assert_int_eq(fo_choose(&w.v, &w.cv, &w.c, NULL, "node1", true, &ch),
                     -1);
    ck_assert_str_eq(ch.why, "node1 may not be promoted: the primary");
    ck_assert_int_eq(fo_choose(&w.v, &w.cv, &w.c, NULL, "node9", true, &ch),
                     -1);
    ck_assert_str_eq(ch.why,
                     "node9 may not be promoted: not a node of the cluster");
}
END_TEST

START_TEST(no_candidate_at_all)
{
    crash();
    for (int i = 1; i < N; i++)
        w.n[i].up = false;
    struct fo_choice ch;
    ck_assert_int_eq(fo_choose(&w.v, &w.cv, &w.c, NULL, NULL, false, &ch), -1);
    ck_assert_str_eq(ch.reason, "no_candidate");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("failover_pick");
    TCase *tc = tcase_create("pick");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, detect_needs_time_and_quorum);
    tcase_add_test(tc, detect_replicas_down_primary_answers);
    tcase_add_test(tc, quorum_all_and_number);
    tcase_add_test(tc, sync_copies_by_mode);
    tcase_add_test(tc, pick_priority_then_position_then_name);
    tcase_add_test(tc, never_a_replica_with_unknown_lag);
    tcase_add_test(tc, lag_remembered_from_before_the_outage);
    tcase_add_test(tc, rpo_guard_refuses_data_loss);
    tcase_add_test(tc, rpo_guard_counts_received);
    tcase_add_test(tc, rpo_unprovable_when_copies_may_hide);
    tcase_add_test(tc, target_only_that_one);
    tcase_add_test(tc, no_candidate_at_all);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
