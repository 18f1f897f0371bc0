/* test_readhealth.c: sync health and flap-free read rotation (issue 16).
 *
 * First what the renderers make of a view (the sync families, and
 * /health/replica's answer from the damped rotation), then replguard
 * against replguard-simnode:
 *
 * - a replica whose lag hovers around read_max_lag: simnode's link delay
 *   of 100 ms puts both replicas' position lag at about 100 ms, above
 *   and below the bound from poll to poll. Three replguards poll the same
 *   nodes every 50 ms at once, read_rise/read_fall 1/1, 3/1 and 1/3; each
 *   one's rotation changes are counted against its polls, and the
 *   rounds /metrics shows are checked one by one against rise and fall;
 * - SIGHUPs while a replica waits out read_rise: a reload is no poll;
 * - semi-sync with min_sync_replicas 2: the sync replicas, sync_ok and
 *   the primary's fallback as replicas stall and disconnect, with
 *   simnode's --sync-fallback async and block.
 *
 * Waits poll with deadlines. */
#include <check.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_harness.h"
#include "lib/util.h"
#include "monitor/exporter.h"
#include "monitor/snapshot.h"
#include "monitor/statejson.h"
#include "simnode_harness.h"

#define DEADLINE (20.0 * wait_scale())

/* --- the renderers -------------------------------------------------------- */

static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p += n)
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
            return true;
    return false;
}

/* A cluster of a primary and two replicas, node2 held in rotation by
 * read_fall while its lag is above the bound, node3 fit but waiting out
 * read_rise. */
struct fixture {
    struct cluster_view c;
    struct node_view n[3];
    struct agent_view v;
};

static void fixture_init(struct fixture *fx)
{
    memset(fx, 0, sizeof(*fx));
    const char *names[] = {"node1", "node2", "node3"};
    for (int i = 0; i < 3; i++) {
        struct node_view *n = &fx->n[i];
        n->cluster = "main";
        n->name = names[i];
        n->role = i ? "replica" : "primary";
        n->is_primary = i == 0;
        n->up = n->fresh = true;
        n->last_failure = -1;
        n->rv =
            (struct replica_view){true, true, true, false, true, 0.05, NULL};
    }
    fx->n[1].rv.lag = 0.2;
    fx->n[1].in_rotation = true; /* held by read_fall */
    fx->n[2].in_rotation = false;
    fx->n[2].rotation_why = ROTATION_WHY_RISE;
    fx->n[2].rotation_changes = 5;
    fx->c = (struct cluster_view){.name = "main",
                                  .lag_source = "heartbeat",
                                  .th = {5, 10, 60, 0.1},
                                  .read_rise = 3,
                                  .read_fall = 2,
                                  .n_nodes = 3,
                                  .repl_mode = "semi-sync",
                                  .min_sync_replicas = 2,
                                  .sync_max_lag = 0.1,
                                  .sync_replicas = 1,
                                  .sync_ok = false,
                                  .sync_fallback = true,
                                  .sync_mode = "async"};
    fx->v = (struct agent_view){.version = "test",
                                .ready = true,
                                .clusters = &fx->c,
                                .n_clusters = 1,
                                .nodes = fx->n,
                                .n_nodes = 3};
}

START_TEST(sync_families_render)
{
    struct fixture fx;
    fixture_init(&fx);
    struct buf b;
    buf_init(&b, 0);
    exporter_render(&fx.v, &b);
    static const char *const want[] = {
        "replguard_cluster_sync_replicas{cluster=\"main\"} 1",
        "replguard_cluster_sync_ok{cluster=\"main\"} 0",
        "replguard_cluster_sync_fallback{cluster=\"main\"} 1",
        "replguard_cluster_sync_mode{cluster=\"main\",mode=\"async\"} 1",
        "replguard_cluster_sync_mode{cluster=\"main\",mode=\"semi-sync\"} 0",
        "replguard_cluster_sync_mode{cluster=\"main\",mode=\"blocked\"} 0",
        "replguard_read_rotation_changes_total{cluster=\"main\","
        "replica=\"node3\"} 5",
        "replguard_read_rotation_changes_total{cluster=\"main\","
        "replica=\"node2\"} 0",
        "replguard_replica_in_read_rotation{cluster=\"main\","
        "replica=\"node2\"} 1",
    };
    for (size_t i = 0; i < ARRAY_LEN(want); i++)
        ck_assert_msg(has_line(b.data, want[i]), "missing %s", want[i]);
    ck_assert_ptr_null(strstr(b.data, "replica=\"node1\""));
    promtool_check(&b);
    /* the mode is unknown until the primary reports one */
    fx.c.sync_mode = NULL;
    buf_reset(&b);
    exporter_render(&fx.v, &b);
    ck_assert_ptr_null(strstr(b.data, "replguard_cluster_sync_mode"));
    ck_assert(
        has_line(b.data, "replguard_cluster_sync_ok{cluster=\"main\"} 0"));
    buf_free(&b);
}
END_TEST

/* /api/v1/state: the replication object and the rise and fall. */
START_TEST(sync_in_state)
{
    struct fixture fx;
    fixture_init(&fx);
    struct buf b;
    buf_init(&b, 0);
    statejson_render(&fx.v, &b);
    cJSON *root = cJSON_Parse(b.data);
    ck_assert_ptr_nonnull(root);
    cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "clusters"), 0);
    cJSON *r = cJSON_GetObjectItem(c, "replication");
    ck_assert_str_eq(cJSON_GetObjectItem(r, "mode")->valuestring, "semi-sync");
    ck_assert_double_eq(
        cJSON_GetObjectItem(r, "min_sync_replicas")->valuedouble, 2);
    ck_assert_double_eq(cJSON_GetObjectItem(r, "sync_max_lag")->valuedouble,
                        0.1);
    ck_assert_double_eq(cJSON_GetObjectItem(r, "sync_replicas")->valuedouble,
                        1);
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(r, "sync_ok")));
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(r, "sync_fallback")));
    ck_assert_str_eq(cJSON_GetObjectItem(c, "sync_mode")->valuestring, "async");
    cJSON *th = cJSON_GetObjectItem(c, "thresholds");
    ck_assert_double_eq(cJSON_GetObjectItem(th, "read_rise")->valuedouble, 3);
    ck_assert_double_eq(cJSON_GetObjectItem(th, "read_fall")->valuedouble, 2);
    cJSON *n3 = cJSON_GetArrayItem(cJSON_GetObjectItem(c, "nodes"), 2);
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(n3, "in_read_rotation")));
    ck_assert_str_eq(cJSON_GetObjectItem(n3, "rotation_reason")->valuestring,
                     ROTATION_WHY_RISE);
    cJSON_Delete(root);
    buf_free(&b);
}
END_TEST

/* /health/replica's verdict: without ?max_lag= the engine's damped
 * rotation; with it, this poll's own at that bound. */
START_TEST(replica_health_follows_the_damped_rotation)
{
    struct fixture fx;
    fixture_init(&fx);
    struct snapshot *s = snapshot_new(&fx.v);
    const struct snap_node *n2 = snapshot_find(s, "main", "node2");
    const struct snap_node *n3 = snapshot_find(s, "main", "node3");
    const struct snap_node *n1 = snapshot_find(s, "main", "node1");
    const char *why = "unset";
    ck_assert(snap_read_ok(n2, false, 0, &why)); /* held in by read_fall */
    ck_assert_ptr_null(why);
    ck_assert(!snap_read_ok(n2, true, 0.1, &why));
    ck_assert_str_eq(why, "lag above max_lag");
    ck_assert(snap_read_ok(n2, true, 0.5, &why));
    ck_assert(!snap_read_ok(n3, false, 0, &why)); /* waits out read_rise */
    ck_assert_str_eq(why, ROTATION_WHY_RISE);
    ck_assert(snap_read_ok(n3, true, 0.1, &why));
    ck_assert(!snap_read_ok(n1, false, 0, &why));
    ck_assert_str_eq(why, "not a replica");
    ck_assert(!snap_read_ok(n1, true, 10, &why));
    snapshot_unref(s);
}
END_TEST

/* --- processes ------------------------------------------------------------ */

static struct simnode sn;
static struct agent ag[3];

static void setup(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    memset(&sn, 0, sizeof(sn));
    for (size_t i = 0; i < ARRAY_LEN(ag); i++)
        agent_init(&ag[i]);
}

static void teardown(void)
{
    for (size_t i = 1; i < ARRAY_LEN(ag); i++)
        agent_finish(&ag[i], &sn);
    agent_finish(&ag[0], &sn);
    curl_global_cleanup();
}

/* write_config: a's config over sn's nodes, with the cluster's extra
 * keys (each line indented 4 spaces) and poll interval. */
static void write_config(struct agent *a, const char *interval,
                         const char *timeout, const char *extra)
{
    struct buf b;
    char poll[64];
    buf_init(&b, 0);
    snprintf(poll, sizeof(poll), "interval: %s, timeout: %s", interval,
             timeout);
    agent_yaml_head(a, &b, NULL, poll);
    buf_printf(&b, "  - name: c1\n%s    nodes:\n", extra);
    simnode_yaml_nodes(&sn, &b);
    agent_write(a->cfg, b.data);
    buf_free(&b);
}

static double value(const struct agent *a, const char *name, const char *labels)
{
    double v = metric(a->base, name, labels);
    ck_assert_msg(!isnan(v), "%s{%s} missing", name, labels ? labels : "");
    return v;
}

static double changes(const struct agent *a, const char *replica)
{
    char l[64];
    snprintf(l, sizeof(l), "cluster=\"c1\",replica=\"%s\"", replica);
    return value(a, "replguard_read_rotation_changes_total", l);
}

static const char *const replicas[] = {"node2", "node3"};
static const unsigned rise[] = {1, 3, 1}, fall[] = {1, 1, 3};

/* The hovering replicas, watched for HOVER_S seconds. */
#define HOVER_S   10.0
#define MAX_LAG   0.1
#define MAX_ROUND 4096

/* What one replguard showed of node2 after each poll round, as often as
 * /metrics was read: round r's lag (NAN: none, or too close to the
 * bound to judge from its printed digits) and whether node2 was in
 * rotation; seen[r] says whether round r was caught. */
struct rounds {
    double r0;
    bool seen[MAX_ROUND];
    double lag[MAX_ROUND];
    bool in[MAX_ROUND];
};

static void catch_round(const struct agent *a, struct rounds *rs)
{
    struct resp r;
    get(a->base, "/metrics", &r);
    const char *t = r.body.data ? r.body.data : "";
    static const char l[] = "cluster=\"c1\",replica=\"node2\"";
    double round = metric_in(t, "replguard_poll_rounds_total", NULL);
    double lag = metric_in(t, "replguard_replica_lag_seconds", l);
    double in = metric_in(t, "replguard_replica_in_read_rotation", l);
    buf_free(&r.body);
    if (r.status != 200 || isnan(round) || isnan(in))
        return;
    if (rs->r0 == 0)
        rs->r0 = round;
    size_t k = (size_t)(round - rs->r0);
    if (k >= MAX_ROUND || rs->seen[k])
        return;
    rs->seen[k] = true;
    rs->lag[k] = fabs(lag - MAX_LAG) < 1e-6 ? NAN : lag;
    rs->in[k] = in == 1;
}

/* fit: round k was caught and node2's lag then was known and within
 * the bound (want true) or above it (want false). */
static bool judged(const struct rounds *rs, size_t k, bool want)
{
    if (!rs->seen[k] || isnan(rs->lag[k]))
        return false;
    return want ? rs->lag[k] <= MAX_LAG : rs->lag[k] > MAX_LAG;
}

/* window: rounds k+1-n .. k were all caught, node2's lag known in each,
 * and within the bound (want true) or above it (want false) in each;
 * *complete says whether they were all caught and judged. */
static bool window(const struct rounds *rs, size_t k, unsigned n, bool want,
                   bool *complete)
{
    bool all = true;
    *complete = true;
    for (size_t j = k + 1 - n; j <= k; j++) {
        *complete = *complete && rs->seen[j] && !isnan(rs->lag[j]);
        all = all && judged(rs, j, want);
    }
    return all;
}

/* check_rounds: every change node2 made in rotation that the caught
 * rounds show in full keeps to rise (entries) and fall (exits on lag):
 * an entry at round k follows rise fit rounds ending at k; an exit on
 * lag follows fall rounds above the bound. And the other way round: rise
 * fit rounds in a row leave it in rotation, fall rounds above the bound
 * out (not over-damped). Returns how many changes it could check. */
static int check_rounds(const struct rounds *rs, unsigned rise_, unsigned fall_)
{
    int checked = 0;
    bool complete;
    for (size_t k = 3; k < MAX_ROUND; k++) {
        if (!rs->seen[k] || !rs->seen[k - 1])
            continue;
        if (rs->in[k] && !rs->in[k - 1] && judged(rs, k, true)) { /* entry */
            bool fit = window(rs, k, rise_, true, &complete);
            ck_assert_msg(fit || !complete,
                          "round %zu: entered before %u fit rounds", k, rise_);
            checked += complete;
        }
        if (!rs->in[k] && rs->in[k - 1] && judged(rs, k, false)) {
            bool above = window(rs, k, fall_, false, &complete);
            ck_assert_msg(above || !complete,
                          "round %zu: left before %u rounds above", k, fall_);
            checked += complete;
        }
        if (window(rs, k, rise_, true, &complete))
            ck_assert_msg(rs->in[k], "round %zu: out after %u fit rounds", k,
                          rise_);
        if (window(rs, k, fall_, false, &complete))
            ck_assert_msg(!rs->in[k], "round %zu: in after %u rounds above", k,
                          fall_);
    }
    return checked;
}

/* start_hovering: simnode with a 100 ms link delay, and one replguard
 * per rise and fall, polling every 50 ms. */
static void start_hovering(void)
{
    static const char *const args[] = {"--link-delay", "100ms", NULL};
    spawn(&sn, args);
    for (size_t i = 0; i < ARRAY_LEN(ag); i++) {
        char extra[160];
        snprintf(extra, sizeof(extra),
                 "    lag_source: position\n"
                 "    thresholds: {read_max_lag: 100ms, read_rise: %u, "
                 "read_fall: %u}\n",
                 rise[i], fall[i]);
        write_config(&ag[i], "50ms", "40ms", extra);
        agent_start(&ag[i]);
    }
}

/* Each replguard's polls and rotation changes (node2, node3). */
struct counts {
    double polls[3], changes[3][2];
};

static void take_counts(struct counts *c)
{
    for (size_t i = 0; i < ARRAY_LEN(ag); i++) {
        c->polls[i] = value(&ag[i], "replguard_poll_rounds_total", NULL);
        for (size_t k = 0; k < 2; k++)
            c->changes[i][k] = changes(&ag[i], replicas[k]);
    }
}

/* watch: for HOVER_S, every round of the damped replguards that a quick
 * enough read of /metrics catches (rs[0]: rise 3, rs[1]: fall 3), and
 * what a load balancer's check of node2 sees from the read_rise 3 one;
 * returns how often that answer flipped. */
static long watch(struct rounds *rs)
{
    long flips = 0, last = 0, checks = 0;
    for (double end = now_s() + HOVER_S; now_s() < end; checks++) {
        char why[96];
        long st = agent_replica_health(&ag[1], "c1", "node2", why, sizeof(why));
        ck_assert(st == 200 || st == 503);
        flips += last && st != last;
        last = st;
        catch_round(&ag[1], &rs[0]);
        catch_round(&ag[2], &rs[1]);
        sleep_ms(5);
    }
    fprintf(stderr, "health checks of node2 (rise 3): %ld, %ld flips\n", checks,
            flips);
    return flips;
}

/* check_counts: each replguard's changes between a and b against its
 * polls: entries and exits alternate, so each is at most half the
 * changes, rounded up; at most one entry per read_rise polls and one
 * exit per read_fall. Sums each one's changes into total. */
static void check_counts(const struct counts *a, const struct counts *b,
                         double *total)
{
    for (size_t i = 0; i < ARRAY_LEN(ag); i++) {
        double polls = b->polls[i] - a->polls[i];
        total[i] = 0;
        for (size_t k = 0; k < 2; k++) {
            double d = b->changes[i][k] - a->changes[i][k];
            total[i] += d;
            fprintf(stderr, "rise %u fall %u %s: %.0f changes in %.0f polls\n",
                    rise[i], fall[i], replicas[k], d, polls);
            double each = ceil(d / 2);
            ck_assert_msg(each <= polls / rise[i] + 1,
                          "%s: %.0f entries in %.0f polls at read_rise %u",
                          replicas[k], each, polls, rise[i]);
            ck_assert_msg(each <= polls / fall[i] + 1,
                          "%s: %.0f exits in %.0f polls at read_fall %u",
                          replicas[k], each, polls, fall[i]);
        }
    }
}

START_TEST(rotation_damps_a_hovering_replica)
{
    static struct rounds rs[2];
    struct counts a, b;
    double total[3];
    start_hovering();
    take_counts(&a);
    memset(rs, 0, sizeof(rs));
    long flips = watch(rs);
    take_counts(&b);
    check_counts(&a, &b, total);
    int n_rise = check_rounds(&rs[0], 3, 1),
        n_fall = check_rounds(&rs[1], 1, 3);
    fprintf(stderr,
            "changes checked round by round: %d (rise 3), %d "
            "(fall 3)\n",
            n_rise, n_fall);
    /* the lag did hover: undamped, the replicas flapped */
    ck_assert_msg(total[0] >= 10, "only %.0f changes at rise 1, fall 1",
                  total[0]);
    /* damped, no more (the replguards sample the same nodes at slightly
     * different moments: a little slack), and together clearly less
     * (which of rise and fall damps more depends on whether the lag
     * spends longer above or below the bound) */
    ck_assert_msg(total[1] <= total[0] + 4, "rise 3: %.0f vs %.0f", total[1],
                  total[0]);
    ck_assert_msg(total[2] <= total[0] + 4, "fall 3: %.0f vs %.0f", total[2],
                  total[0]);
    ck_assert_msg(total[1] + total[2] < total[0] * 1.5,
                  "rise 3 and fall 3 together: %.0f vs %.0f at 1/1",
                  total[1] + total[2], total[0]);
    /* the health check flips with the damped rotation, not each poll */
    double node2 = b.changes[1][0] - a.changes[1][0];
    ck_assert_msg(flips <= node2 + 1,
                  "%ld flips of /health/replica, %.0f rotation changes", flips,
                  node2);
}
END_TEST

/* log_count: lines of a's log holding text. */
static int log_count(const struct agent *a, const char *text)
{
    FILE *f = fopen(a->log, "r");
    char line[4096];
    int n = 0;
    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof(line), f))
        n += strstr(line, text) != NULL;
    fclose(f);
    return n;
}

/* health_why: node2's /health/replica answer from a, its reason into
 * why. */
static long health_why(const struct agent *a, char *why, size_t n)
{
    return agent_replica_health(a, "c1", "node2", why, n);
}

/* A SIGHUP re-assesses the last round: that is no poll, and a replica
 * waiting out read_rise 5 (5 s at 1 s polls) is still waiting after six
 * reloads and one more poll. Then it enters, with one change each way
 * counted. */
START_TEST(reloads_are_no_polls)
{
    spawn(&sn, NULL);
    write_config(&ag[0], "1s", "500ms",
                 "    thresholds: {read_max_lag: 1s, read_rise: 5}\n");
    agent_start(&ag[0]);
    char why[96];
    ck_assert_int_eq(health_why(&ag[0], why, sizeof(why)), 200);
    ck_assert_int_eq(call(simnode_url(&sn, "node1"), "POST", "/v1/sim/fault",
                          "{\"node\": \"node2\", \"kind\": \"disconnect\"}"),
                     200);
    double end = now_s() + DEADLINE;
    while (health_why(&ag[0], why, sizeof(why)) == 200 && now_s() < end)
        sleep_ms(20);
    ck_assert_str_eq(why, "disconnected");
    ck_assert_int_eq(
        call(simnode_url(&sn, "node1"), "DELETE", "/v1/sim/fault", NULL), 200);
    while (strcmp(why, ROTATION_WHY_RISE) != 0 && now_s() < end) {
        sleep_ms(20);
        health_why(&ag[0], why, sizeof(why));
    }
    ck_assert_str_eq(why, ROTATION_WHY_RISE); /* the first fit poll */
    for (int i = 0; i < 6; i++) {
        kill(ag[0].pid, SIGHUP);
        sleep_ms(60);
    }
    /* a new snapshot comes with the next round: one more poll, two of 5 */
    sleep_ms(1500);
    ck_assert_int_eq(health_why(&ag[0], why, sizeof(why)), 503);
    ck_assert_str_eq(why, ROTATION_WHY_RISE);
    /* enough reloads that, counted as polls, they would have let it in */
    ck_assert_int_ge(log_count(&ag[0], "config reloaded"), 4);
    while (health_why(&ag[0], why, sizeof(why)) != 200 && now_s() < end)
        sleep_ms(50);
    ck_assert_str_eq(why, "null");
    ck_assert_double_eq(changes(&ag[0], "node2"), 2);
}
END_TEST

static void wait_sync(const struct agent *a, double replicas_, double ok,
                      double fallback, const char *mode)
{
    assert_wait_for(a->base, "replguard_cluster_sync_replicas",
                    "cluster=\"c1\"", EQ, replicas_, DEADLINE);
    assert_wait_for(a->base, "replguard_cluster_sync_ok", "cluster=\"c1\"", EQ,
                    ok, DEADLINE);
    assert_wait_for(a->base, "replguard_cluster_sync_fallback",
                    "cluster=\"c1\"", EQ, fallback, DEADLINE);
    char l[64];
    snprintf(l, sizeof(l), "cluster=\"c1\",mode=\"%s\"", mode);
    assert_wait_for(a->base, "replguard_cluster_sync_mode", l, EQ, 1, DEADLINE);
}

static long fault(const char *node, const char *kind)
{
    char json[128];
    snprintf(json, sizeof(json), "{\"node\": \"%s\", \"kind\": \"%s\"}", node,
             kind);
    return call(simnode_url(&sn, "node1"), "POST", "/v1/sim/fault", json);
}

static long clear_faults(void)
{
    return call(simnode_url(&sn, "node1"), "DELETE", "/v1/sim/fault", NULL);
}

static void start_semi_sync(const char *fallback)
{
    const char *args[] = {"--mode", "semi-sync",       "--min-sync-replicas",
                          "2",      "--sync-fallback", fallback,
                          NULL};
    spawn(&sn, args);
    write_config(&ag[0], "100ms", "80ms",
                 "    replication: {mode: semi-sync, min_sync_replicas: 2, "
                 "sync_max_lag: 500ms}\n");
    agent_start(&ag[0]);
}

/* A stalled replica is no sync replica (connected, but behind): sync_ok
 * drops while the primary still runs semi-sync; a disconnected one makes
 * the primary fall back to async. */
START_TEST(sync_health_follows_replicas_and_fallback)
{
    start_semi_sync("async");
    wait_sync(&ag[0], 2, 1, 0, "semi-sync");
    ck_assert_int_eq(fault("node2", "stall"), 200);
    wait_sync(&ag[0], 1, 0, 0, "semi-sync");
    ck_assert_int_eq(clear_faults(), 200);
    wait_sync(&ag[0], 2, 1, 0, "semi-sync");
    ck_assert_int_eq(fault("node3", "disconnect"), 200);
    wait_sync(&ag[0], 1, 0, 1, "async");
    ck_assert_int_eq(clear_faults(), 200);
    wait_sync(&ag[0], 2, 1, 0, "semi-sync");
}
END_TEST

/* --sync-fallback block: the primary refuses writes ("blocked"); that is
 * a fallback too, and sync_ok is 0. */
START_TEST(sync_blocked_is_a_fallback)
{
    start_semi_sync("block");
    wait_sync(&ag[0], 2, 1, 0, "semi-sync");
    ck_assert_int_eq(fault("node3", "disconnect"), 200);
    wait_sync(&ag[0], 1, 0, 1, "blocked");
    ck_assert_int_eq(clear_faults(), 200);
    wait_sync(&ag[0], 2, 1, 0, "semi-sync");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("readhealth");
    TCase *tc = tcase_create("views");
    tcase_add_test(tc, sync_families_render);
    tcase_add_test(tc, sync_in_state);
    tcase_add_test(tc, replica_health_follows_the_damped_rotation);
    suite_add_tcase(s, tc);
    tc = tcase_create("processes");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120 * wait_scale());
    tcase_add_test(tc, rotation_damps_a_hovering_replica);
    tcase_add_test(tc, reloads_are_no_polls);
    tcase_add_test(tc, sync_health_follows_replicas_and_fallback);
    tcase_add_test(tc, sync_blocked_is_a_fallback);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
