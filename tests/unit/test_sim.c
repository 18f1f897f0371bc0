/* test_sim.c: the simulator's dynamics under an injected clock. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/merkle.h"
#include "sim/sim.h"

static struct manual_clock mc;
static struct rg_clock clk;

static struct sim *make(double ingest, double apply, double delay)
{
    struct sim_options o;
    sim_options_default(&o);
    o.ingest_rate = ingest;
    o.apply_rate = apply;
    o.link_delay = delay;
    o.merkle_depth = 3;
    o.keys = 4096;
    mc = (struct manual_clock){1000.0, 1.7e9};
    clk = clock_manual(&mc);
    char err[128];
    struct sim *s = sim_new(&o, &clk, err, sizeof(err));
    ck_assert_msg(s != NULL, "%s", err);
    return s;
}

/* run: advances the clock by secs in steps of dt. */
static void run(struct sim *s, double secs, double dt)
{
    for (double t = 0; t < secs - 1e-9; t += dt) {
        mc.mono += dt;
        mc.wall += dt;
        sim_step(s);
    }
}

static double lag_of(const struct sim *s, unsigned ni)
{
    struct buf b;
    buf_init(&b, 0);
    sim_render_metrics(s, 0, 0, &b);
    char pat[96];
    snprintf(pat, sizeof(pat),
             "stemedb_replication_lag_seconds{replica=\"%s\"} ",
             sim_node_name(s, 0, ni));
    const char *p = strstr(b.data, pat);
    ck_assert_ptr_nonnull(p);
    double v = strtod(p + strlen(pat), NULL);
    buf_free(&b);
    return v;
}

static uint64_t root(struct sim *s, unsigned ni)
{
    return merkle_hash(sim_merkle(s, 0, ni), 0, 0);
}

START_TEST(replicas_follow_and_converge)
{
    struct sim *s = make(1000, 5000, 0.02);
    run(s, 10, 0.01);
    uint64_t p = sim_position(s, 0, 0);
    ck_assert_uint_ge(p, 9990);
    ck_assert_uint_le(p, 10000);
    for (unsigned ni = 1; ni < 3; ni++) {
        ck_assert_uint_le(sim_position(s, 0, ni), p);
        ck_assert_uint_ge(sim_position(s, 0, ni), p - 40); /* ~20 ms */
        ck_assert(lag_of(s, ni) < 0.05);
        ck_assert(sim_connected(s, 0, ni));
    }
    /* stop ingest: the replicas catch up and their trees equal the
     * primary's */
    ck_assert_int_eq(sim_set_rate_limit(s, 0, 0, 1e-9), 0);
    run(s, 1, 0.01);
    for (unsigned ni = 1; ni < 3; ni++) {
        ck_assert_uint_eq(sim_position(s, 0, ni), sim_position(s, 0, 0));
        ck_assert_uint_eq(root(s, ni), root(s, 0));
        ck_assert(lag_of(s, ni) == 0);
    }
    sim_free(s);
}
END_TEST

START_TEST(lag_grows_then_drains_after_rate_limit)
{
    struct sim *s = make(1000, 500, 0.0);
    run(s, 10, 0.05);
    double lag = lag_of(s, 1);
    /* after 10 s at half speed a replica holds ~5 s of backlog: it has
     * applied what the primary had at t = 5 s */
    ck_assert_msg(lag > 4.5 && lag < 5.5, "lag %f", lag);
    uint64_t behind = sim_position(s, 0, 0) - sim_position(s, 0, 1);
    ck_assert_int_eq(sim_set_rate_limit(s, 0, 0, 100), 0);
    run(s, 5, 0.05);
    /* the backlog drains at once; lag in seconds keeps growing until the
     * replica passes the point where the limit took effect (it measures
     * how old the replica's newest write is) */
    uint64_t behind2 = sim_position(s, 0, 0) - sim_position(s, 0, 1);
    ck_assert_msg(behind2 < behind, "%llu -> %llu", (unsigned long long)behind,
                  (unsigned long long)behind2);
    ck_assert(lag_of(s, 1) > lag);
    run(s, 20, 0.05);
    ck_assert_msg(lag_of(s, 1) < 0.05, "lag %f", lag_of(s, 1));
    ck_assert_int_eq(sim_set_rate_limit(s, 0, 1, 100), -SIM_ENOTPRIMARY);
    ck_assert_int_eq(sim_set_rate_limit(s, 0, 0, -1), -SIM_EINVAL);
    sim_free(s);
}
END_TEST

START_TEST(step_size_does_not_change_the_outcome)
{
    struct sim *a = make(1000, 700, 0.1);
    run(a, 20, 0.01);
    uint64_t pa = sim_position(a, 0, 1), ha = sim_position(a, 0, 0);
    sim_free(a);
    struct sim *b = make(1000, 700, 0.1);
    run(b, 20, 0.5);
    uint64_t pb = sim_position(b, 0, 1), hb = sim_position(b, 0, 0);
    sim_free(b);
    ck_assert_uint_eq(ha, hb);
    ck_assert_msg(llabs((long long)pa - (long long)pb) < 200, "%llu vs %llu",
                  (unsigned long long)pa, (unsigned long long)pb);
}
END_TEST

START_TEST(heartbeats_arrive_in_order)
{
    struct sim *s = make(1000, 800, 0.05);
    double sent[200], last = 0;
    int nsent = 0;
    for (int i = 0; i < 200; i++) {
        sent[nsent++] = mc.wall;
        ck_assert_int_eq(sim_heartbeat(s, 0, 0, mc.wall), 0);
        ck_assert(sim_heartbeat_ts(s, 0, 0) == mc.wall);
        for (int k = 0; k < 10; k++) {
            run(s, 0.01, 0.01);
            double hb = sim_heartbeat_ts(s, 0, 1);
            ck_assert_msg(hb >= last, "heartbeat went back: %f < %f", hb, last);
            if (hb > 0) {
                int found = 0;
                for (int j = 0; j < nsent; j++)
                    found |= sent[j] == hb;
                ck_assert_msg(found, "replica shows a heartbeat never sent");
            }
            last = hb;
        }
    }
    /* the replica applies slower than ingest: its heartbeat lags by what
     * its backlog is worth */
    double hb_lag = mc.wall - sim_heartbeat_ts(s, 0, 1);
    ck_assert_msg(hb_lag > 1.0, "heartbeat lag %f", hb_lag);
    ck_assert_int_eq(sim_heartbeat(s, 0, 1, mc.wall), -SIM_ENOTPRIMARY);
    ck_assert_int_eq(sim_heartbeat(s, 0, 0, NAN), -SIM_EINVAL);
    /* once ingest stops, the newest heartbeat arrives */
    sim_set_rate_limit(s, 0, 0, 1e-9);
    run(s, 30, 0.1);
    ck_assert(sim_heartbeat_ts(s, 0, 1) == sent[nsent - 1]);
    sim_free(s);
}
END_TEST

static void add_fault(struct sim *s, unsigned ni, enum sim_fault_kind kind,
                      double duration)
{
    struct sim_fault f = {.kind = kind, .duration = duration};
    char err[128];
    ck_assert_int_eq(sim_fault_add(s, 0, ni, &f, err, sizeof(err)), 0);
}

START_TEST(disconnect_and_stall_expire)
{
    struct sim *s = make(1000, 5000, 0.0);
    run(s, 1, 0.01);
    uint64_t gen = sim_fault_generation(s);
    add_fault(s, 1, SIM_FAULT_DISCONNECT, 2);
    add_fault(s, 2, SIM_FAULT_STALL, 2);
    ck_assert_uint_ne(sim_fault_generation(s), gen);
    run(s, 1.5, 0.01);
    ck_assert(!sim_connected(s, 0, 1));
    ck_assert(sim_connected(s, 0, 2));
    ck_assert(lag_of(s, 1) > 1.0);
    ck_assert(lag_of(s, 2) > 1.0);
    run(s, 1.0, 0.01); /* both expire at 2 s */
    ck_assert(sim_connected(s, 0, 1));
    ck_assert(!sim_fault_on(s, 0, 2, SIM_FAULT_STALL));
    run(s, 2.0, 0.01);
    ck_assert(lag_of(s, 1) < 0.05);
    ck_assert(lag_of(s, 2) < 0.05);
    sim_free(s);
}
END_TEST

START_TEST(diverge_until_forced_sync)
{
    struct sim *s = make(1000, 5000, 0.0);
    run(s, 1, 0.01);
    struct sim_fault f = {.kind = SIM_FAULT_DIVERGE, .buckets = 7};
    char err[128];
    ck_assert_int_eq(sim_fault_add(s, 0, 1, &f, err, sizeof(err)), 0);
    sim_set_rate_limit(s, 0, 0, 1e-9);
    run(s, 1, 0.01);
    uint64_t got[512];
    long n =
        merkle_diff(sim_merkle(s, 0, 0), sim_merkle(s, 0, 1), got, 512, NULL);
    ck_assert_int_eq(n, 7);
    ck_assert_uint_eq(root(s, 2), root(s, 0));
    ck_assert_int_eq(sim_sync(s, 0, 1, "node2"), -SIM_ENOTPRIMARY);
    ck_assert_int_eq(sim_sync(s, 0, 0, "node9"), -SIM_ENONODE);
    ck_assert_int_eq(sim_sync(s, 0, 0, "node1"), -SIM_EINVAL);
    ck_assert_int_eq(sim_sync(s, 0, 0, "node2"), 0);
    run(s, 2, 0.01);
    ck_assert_int_eq(
        merkle_diff(sim_merkle(s, 0, 0), sim_merkle(s, 0, 1), got, 512, NULL),
        0);
    /* a sync of a disconnected replica fails and is counted */
    add_fault(s, 2, SIM_FAULT_DISCONNECT, 0);
    ck_assert_int_eq(sim_sync(s, 0, 0, "node3"), -SIM_EUNAVAIL);
    struct buf b;
    buf_init(&b, 0);
    sim_render_metrics(s, 0, 2, &b);
    ck_assert_ptr_nonnull(
        strstr(b.data, "stemedb_merkle_sync_errors_total 1\n"));
    buf_free(&b);
    sim_free(s);
}
END_TEST

START_TEST(burst_breaker_down_promote_demote)
{
    struct sim *s = make(1000, 5000, 0.0);
    run(s, 1, 0.01);
    uint64_t p0 = sim_position(s, 0, 0);
    struct sim_fault f = {
        .kind = SIM_FAULT_INGEST_BURST, .rate = 4000, .duration = 1};
    char err[128];
    ck_assert_int_eq(sim_fault_add(s, 0, 0, &f, err, sizeof(err)), 0);
    run(s, 1, 0.01);
    ck_assert_uint_ge(sim_position(s, 0, 0) - p0, 3900);

    /* a tripped breaker on a replica blocks its apply until reset */
    struct sim_fault tb = {.kind = SIM_FAULT_TRIP_BREAKER};
    snprintf(tb.agent_id, sizeof(tb.agent_id), "ingest-7");
    ck_assert_int_eq(sim_fault_add(s, 0, 1, &tb, err, sizeof(err)), 0);
    struct sim_breaker br[4];
    ck_assert_uint_eq(sim_breakers(s, 0, 1, br, 4), 1);
    ck_assert_str_eq(br[0].agent_id, "ingest-7");
    run(s, 1, 0.01);
    ck_assert(lag_of(s, 1) > 0.9);
    ck_assert_int_eq(sim_breaker_reset(s, 0, 1, "nope"), -SIM_EINVAL);
    ck_assert_int_eq(sim_breaker_reset(s, 0, 1, "ingest-7"), 0);
    run(s, 1, 0.01);
    ck_assert(lag_of(s, 1) < 0.05);

    /* a down primary takes no writes and its replicas lose the stream */
    add_fault(s, 0, SIM_FAULT_DOWN, 0);
    uint64_t frozen = sim_position(s, 0, 0);
    run(s, 1, 0.01);
    ck_assert_uint_eq(sim_position(s, 0, 0), frozen);
    ck_assert(!sim_connected(s, 0, 1));

    /* fail over to node3 */
    ck_assert_int_eq(sim_promote(s, 0, 1, "node3"), 0);
    ck_assert(sim_is_primary(s, 0, 2));
    ck_assert(!sim_is_primary(s, 0, 0));
    ck_assert_uint_ge(sim_position(s, 0, 2), frozen);
    run(s, 1, 0.01);
    ck_assert_uint_ge(sim_position(s, 0, 2), frozen + 900);
    ck_assert(sim_connected(s, 0, 1));
    ck_assert_int_eq(sim_heartbeat(s, 0, 2, mc.wall), 0);

    /* demote node2 from the new primary: reads there are refused */
    uint64_t pos;
    ck_assert_int_eq(sim_demote(s, 0, 0, "node2"), -SIM_ENOTPRIMARY);
    ck_assert_int_eq(sim_demote(s, 0, 2, "node3"), -SIM_ESTATE);
    ck_assert_int_eq(sim_demote(s, 0, 2, "node2"), 0);
    ck_assert(sim_is_demoted(s, 0, 1));
    ck_assert_int_eq(sim_read(s, 0, 1, &pos), -SIM_EUNAVAIL);
    ck_assert_int_eq(sim_read(s, 0, 2, &pos), 0);
    sim_fault_clear(s, 0);
    ck_assert(!sim_fault_on(s, 0, 0, SIM_FAULT_DOWN));
    sim_free(s);
}
END_TEST

static struct sim *make_mode(enum sim_mode mode, unsigned min_sync, bool block)
{
    struct sim_options o;
    sim_options_default(&o);
    o.ingest_rate = 0;
    o.link_delay = 0;
    o.merkle_depth = 3;
    o.keys = 4096;
    o.mode = mode;
    o.min_sync = min_sync;
    o.fallback_block = block;
    mc = (struct manual_clock){1000.0, 1.7e9};
    clk = clock_manual(&mc);
    char err[128];
    struct sim *s = sim_new(&o, &clk, err, sizeof(err));
    ck_assert_msg(s != NULL, "%s", err);
    return s;
}

START_TEST(semi_sync_acks_at_the_nth_replica)
{
    struct sim *s = make_mode(SIM_MODE_SEMI_SYNC, 2, false);
    uint64_t pos = 0;
    bool acked;
    add_fault(s, 2, SIM_FAULT_SLOW_APPLY, 0); /* node3: 500 a second */
    ck_assert_int_eq(sim_write(s, 0, 0, 1000, &pos), 0);
    ck_assert_uint_eq(pos, 1000);
    ck_assert(!sim_write_settled(s, 0, 0, pos, &acked));
    ck_assert_int_eq(sim_write(s, 0, 1, 1, &pos), -SIM_ENOTPRIMARY);
    run(s, 1, 0.01);
    /* node2 has it all, node3 about half: the ack is node3's */
    ck_assert_uint_eq(sim_position(s, 0, 1), 1000);
    ck_assert_uint_eq(sim_acked(s, 0, 0), sim_position(s, 0, 2));
    ck_assert_uint_lt(sim_acked(s, 0, 0), 1000);
    run(s, 1.2, 0.01);
    ck_assert(sim_write_settled(s, 0, 0, 1000, &acked) && acked);
    /* too few replicas: falls back to async, visibly */
    add_fault(s, 2, SIM_FAULT_DISCONNECT, 0);
    run(s, 0.1, 0.01);
    ck_assert_int_eq(sim_effective_mode(s, 0), SIM_MODE_ASYNC);
    ck_assert_int_eq(sim_write(s, 0, 0, 10, &pos), 0);
    ck_assert(sim_write_settled(s, 0, 0, pos, &acked) && acked);
    sim_free(s);
    /* or blocks */
    s = make_mode(SIM_MODE_SYNC, 2, true);
    add_fault(s, 1, SIM_FAULT_DISCONNECT, 0);
    run(s, 0.1, 0.01);
    ck_assert_int_eq(sim_effective_mode(s, 0), SIM_MODE_BLOCKED);
    ck_assert_int_eq(sim_write(s, 0, 0, 1, &pos), -SIM_EUNAVAIL);
    sim_free(s);
}
END_TEST

START_TEST(promotion_keeps_only_what_the_replica_applied)
{
    struct sim *s = make_mode(SIM_MODE_ASYNC, 1, false);
    uint64_t pos = 0, we = 0;
    ck_assert_int_eq(sim_write(s, 0, 0, 100, &pos), 0);
    run(s, 0.1, 0.01);
    add_fault(s, 1, SIM_FAULT_STALL, 0);
    ck_assert_int_eq(sim_write(s, 0, 0, 50, &pos), 0);
    run(s, 0.1, 0.01);
    ck_assert_uint_eq(sim_position(s, 0, 1), 100);
    ck_assert_uint_eq(sim_position(s, 0, 2), 150);
    /* a stale epoch is refused; no epoch means one above the highest */
    ck_assert_int_eq(sim_fence(s, 0, 2, 1), 0);
    ck_assert_int_eq(sim_replicate_from(s, 0, 2, "node1", 1), 0);
    ck_assert_int_eq(sim_promote(s, 0, 1, "node2"), 0);
    ck_assert_uint_eq(sim_epoch(s, 0, 1), 2);
    ck_assert_int_eq(sim_promote_epoch(s, 0, 1, "node3", 1), -SIM_ESTATE);
    ck_assert_str_eq(sim_role(s, 0, 0), "replica"); /* told: steps down */
    sim_fault_clear(s, 0);
    ck_assert_int_eq(sim_write(s, 0, 1, 60, &pos), 0);
    ck_assert_uint_eq(pos, 160);
    run(s, 0.2, 0.01);
    for (unsigned ni = 0; ni < 3; ni++) {
        ck_assert(sim_read_at(s, 0, ni, 100, &we) && we == 1);
        ck_assert(sim_read_at(s, 0, ni, 101, &we) && we == 2);
        ck_assert_uint_eq(sim_position(s, 0, ni), 160);
        ck_assert_uint_eq(sim_epoch(s, 0, ni), 2);
    }
    ck_assert(!sim_read_at(s, 0, 0, 161, &we));
    sim_free(s);
}
END_TEST

START_TEST(bad_fault_arguments)
{
    struct sim *s = make(1000, 5000, 0.0);
    char err[128] = "";
    struct sim_fault f = {.kind = SIM_FAULT_SLOW_APPLY, .factor = 2};
    ck_assert_int_eq(sim_fault_add(s, 0, 1, &f, err, sizeof(err)), -SIM_EINVAL);
    ck_assert_str_eq(err, "factor must be in (0, 1]");
    f = (struct sim_fault){.kind = SIM_FAULT_KINDS};
    ck_assert_int_eq(sim_fault_add(s, 0, 1, &f, err, sizeof(err)), -SIM_EINVAL);
    enum sim_fault_kind k;
    ck_assert_int_eq(sim_fault_parse("slow_body", &k), 0);
    ck_assert_int_eq(k, SIM_FAULT_SLOW_BODY);
    ck_assert_int_eq(sim_fault_parse("bogus", &k), -1);
    struct sim_options o;
    sim_options_default(&o);
    o.nodes = 0;
    ck_assert_ptr_null(sim_new(&o, &clk, err, sizeof(err)));
    sim_free(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sim");
    TCase *tc = tcase_create("dynamics");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, replicas_follow_and_converge);
    tcase_add_test(tc, lag_grows_then_drains_after_rate_limit);
    tcase_add_test(tc, step_size_does_not_change_the_outcome);
    tcase_add_test(tc, heartbeats_arrive_in_order);
    tcase_add_test(tc, disconnect_and_stall_expire);
    tcase_add_test(tc, diverge_until_forced_sync);
    tcase_add_test(tc, burst_breaker_down_promote_demote);
    tcase_add_test(tc, bad_fault_arguments);
    tcase_add_test(tc, semi_sync_acks_at_the_nth_replica);
    tcase_add_test(tc, promotion_keeps_only_what_the_replica_applied);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
