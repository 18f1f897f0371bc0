/* test_readroute.c: read preferences and read-your-writes (issue 16)
 * against replguard-simnode:
 *
 * - each preference's order over HTTP (/route and /health/read):
 *   primary, secondary (by lag), any (replicas by lag, then the
 *   primary), nearest (by the scrape-time average; zone= first), and
 *   the 400 and 404 answers;
 * - min_position: a write on the primary (POST /v1/write) while node2
 *   stalls; /route?min_position=P lists the replicas that applied it and
 *   excludes node2, /health/replica and /health/read agree, the primary
 *   always qualifies, and node2 qualifies again once it applies P;
 * - wait=: with polls 2 s apart and a 100 ms replication delay, a
 *   /route?min_position=P&wait=1s right after a write answers as soon as
 *   a replica has P (timed: well under the interval), the same request
 *   without wait= lists no replica, and with every replica stalled a
 *   wait ends after D with none;
 * - replica states in /metrics and /api/v1/state: active, paused (the
 *   simnode's pause fault), syncing (a forced sync, a short disconnect),
 *   failed (a disconnect past critical, a crash), removed (demoted).
 *
 * Waits poll with deadlines. */
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_harness.h"
#include "lib/util.h"
#include "simnode_harness.h"

#define DEADLINE (10.0 * wait_scale())

static struct simnode sn;
static struct agent ag;

static const char *const zones[] = {"a", "b", "a", "b"};

/* write_config: the four nodes with zones a, b, a, b; read_max_lag high
 * enough that a stalled replica stays in rotation for a while: what
 * excludes it below is min_position. */
static const char *interval = "100ms", *timeout = "80ms";
static const char *thresholds =
    "{warning: 20s, critical: 30s, read_max_lag: 20s, read_rise: 1}";

static void write_config(void)
{
    struct buf b;
    char poll[64];
    buf_init(&b, 0);
    snprintf(poll, sizeof(poll), "interval: %s, timeout: %s", interval,
             timeout);
    agent_yaml_head(&ag, &b, NULL, poll);
    buf_printf(&b, "  - name: c1\n    thresholds: %s\n    nodes:\n",
               thresholds);
    for (size_t i = 0; i < sn.n; i++)
        buf_printf(&b, "      - {name: %s, url: \"%s\", role: %s, zone: %s}\n",
                   sn.name[i], sn.url[i], sn.role[i], zones[i % 4]);
    agent_write(ag.cfg, b.data);
    buf_free(&b);
}

static void setup(void)
{
    agent_setup(&ag, &sn, SIMNODE_FOUR_NODES);
    write_config();
    agent_start(&ag);
}

/* setup_slow: polls 2 s apart, replication delayed by 100 ms. */
static void setup_slow(void)
{
    static const char *const args[] = {"--nodes",
                                       "4",
                                       "--ingest-rate",
                                       "1000",
                                       "--apply-rate",
                                       "5000",
                                       "--link-delay",
                                       "100ms",
                                       NULL};
    agent_setup(&ag, &sn, args);
    interval = "2s";
    timeout = "500ms";
    write_config();
    interval = "100ms";
    timeout = "80ms";
    agent_start(&ag);
}

/* setup_states: warning 500 ms, critical 1 s: a disconnect fails soon. */
static void setup_states(void)
{
    agent_setup(&ag, &sn, SIMNODE_FOUR_NODES);
    const char *keep = thresholds;
    thresholds = "{warning: 500ms, critical: 1s, read_max_lag: 20s}";
    write_config();
    thresholds = keep;
    agent_start(&ag);
}

static void teardown(void)
{
    agent_teardown(&ag, &sn);
}

/* route: GET path from replguard; its status, the body parsed into
 * *out (the caller deletes it; NULL when not JSON). */
static long route(const char *path, cJSON **out)
{
    struct resp r;
    get(ag.base, path, &r);
    *out = r.body.data ? cJSON_Parse(r.body.data) : NULL;
    buf_free(&r.body);
    return r.status;
}

/* names: the "name" members of o's array key, comma-separated. */
static void names(const cJSON *o, const char *key, char *out, size_t n)
{
    out[0] = '\0';
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(o, key))
    {
        const cJSON *nm = cJSON_GetObjectItem(e, "name");
        size_t len = strlen(out);
        snprintf(out + len, n - len, "%s%s", len ? "," : "",
                 cJSON_IsString(nm) ? nm->valuestring : "?");
    }
}

/* reason_of: the reason o's "excluded" gives for node, or NULL. */
static const char *reason_of(const cJSON *o, const char *node)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(o, "excluded"))
    {
        const cJSON *nm = cJSON_GetObjectItem(e, "name");
        if (cJSON_IsString(nm) && strcmp(nm->valuestring, node) == 0)
            return cJSON_GetStringValue(cJSON_GetObjectItem(e, "reason"));
    }
    return NULL;
}

/* nondecreasing: whether the numbers key of o's nodes rise (from
 * index first on; a null ends the check with false). */
static bool nondecreasing(const cJSON *o, const char *key, int first, int last)
{
    const cJSON *nodes = cJSON_GetObjectItem(o, "nodes");
    double prev = -1;
    for (int i = first; i <= last; i++) {
        const cJSON *v = cJSON_GetObjectItem(cJSON_GetArrayItem(nodes, i), key);
        if (!cJSON_IsNumber(v) || v->valuedouble < prev)
            return false;
        prev = v->valuedouble;
    }
    return true;
}

/* wait_listed: polls path until its node names are want; returns the
 * last answer (the caller deletes it). */
static cJSON *wait_listed(const char *path, const char *want)
{
    char got[128] = "";
    double until = now_s() + DEADLINE;
    cJSON *o = NULL;
    do {
        cJSON_Delete(o);
        ck_assert_int_eq(route(path, &o), 200);
        names(o, "nodes", got, sizeof(got));
        if (strcmp(got, want) == 0)
            return o;
        sleep_ms(20);
    } while (now_s() < until);
    ck_abort_msg("%s: nodes %s, want %s", path, got, want);
    return NULL;
}

static long read_health(const char *node, const char *query)
{
    char path[160];
    cJSON *o;
    snprintf(path, sizeof(path), "/health/read/c1/%s?%s", node, query);
    long st = route(path, &o);
    ck_assert_ptr_nonnull(o);
    const char *status = cJSON_GetStringValue(cJSON_GetObjectItem(o, "status"));
    ck_assert_ptr_nonnull(status);
    ck_assert_str_eq(status, st == 200 ? "ok" : "unavailable");
    cJSON_Delete(o);
    return st;
}

START_TEST(preferences_order_the_nodes)
{
    char got[128];
    cJSON *o = wait_listed("/route/c1?preference=primary", "node1");
    names(o, "excluded", got, sizeof(got));
    ck_assert_str_eq(got, "node2,node3,node4");
    ck_assert_str_eq(reason_of(o, "node2"), "not the primary");
    cJSON_Delete(o);

    /* secondary: the replicas, least lag first; the primary excluded */
    ck_assert_int_eq(route("/route/c1?preference=secondary", &o), 200);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(o, "preference")),
                     "secondary");
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(o, "nodes")), 3);
    ck_assert(nondecreasing(o, "lag_seconds", 0, 2));
    ck_assert_str_eq(reason_of(o, "node1"), "primary (preference secondary)");
    cJSON_Delete(o);

    /* any (also the default): the replicas by lag, then the primary */
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(
            route(k ? "/route/c1" : "/route/c1?preference=any", &o), 200);
        names(o, "nodes", got, sizeof(got));
        ck_assert_int_eq((int)strlen(got), 23);
        ck_assert_str_eq(got + 18, "node1");
        ck_assert(nondecreasing(o, "lag_seconds", 0, 2));
        cJSON_Delete(o);
    }

    /* nearest: by the scrape-time average; zone= puts its zone first */
    ck_assert_int_eq(route("/route/c1?preference=nearest", &o), 200);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(o, "nodes")), 4);
    ck_assert(nondecreasing(o, "latency_seconds", 0, 3));
    cJSON_Delete(o);
    ck_assert_int_eq(route("/route/c1?preference=nearest&zone=b", &o), 200);
    const cJSON *nodes = cJSON_GetObjectItem(o, "nodes");
    for (int i = 0; i < 4; i++) {
        const cJSON *z =
            cJSON_GetObjectItem(cJSON_GetArrayItem(nodes, i), "zone");
        ck_assert_str_eq(cJSON_GetStringValue(z), i < 2 ? "b" : "a");
    }
    ck_assert(nondecreasing(o, "latency_seconds", 0, 1));
    ck_assert(nondecreasing(o, "latency_seconds", 2, 3));
    cJSON_Delete(o);

    /* /health/read: the same verdicts, one node at a time */
    ck_assert_int_eq(read_health("node1", "preference=primary"), 200);
    ck_assert_int_eq(read_health("node2", "preference=primary"), 503);
    ck_assert_int_eq(read_health("node1", "preference=secondary"), 503);
    ck_assert_int_eq(read_health("node3", "preference=secondary"), 200);
    ck_assert_int_eq(read_health("node4", "preference=nearest&zone=a"), 200);
    ck_assert_int_eq(read_health("node1", "preference=any"), 200);
    /* a bound of the caller's own: no replica is within 1 ns */
    ck_assert_int_eq(read_health("node2", "preference=secondary&max_lag=0s"),
                     503);

    expect_error(ag.base, "/route/c1?preference=closest", NULL, 400);
    expect_error(ag.base, "/route/c1?max_lag=5", NULL, 400);
    expect_error(ag.base, "/route/c1?min_position=-1", NULL, 400);
    expect_error(ag.base, "/route/c1?min_position=0", NULL, 400);
    expect_error(ag.base, "/route/nosuch", NULL, 404);
    expect_error(ag.base, "/health/read/c1/nosuch", NULL, 404);
    expect_error(ag.base, "/health/read/nosuch/node1", NULL, 404);
    expect_error(ag.base, "/health/read/c1", NULL, 404);
    expect_error(ag.base, "/health/replica/c1/node2?min_position=x", NULL, 400);
}
END_TEST

/* write: POST /v1/write {"count": 1} on the primary; the position it
 * returned. */
static uint64_t write_one(void)
{
    struct resp r;
    struct opts o = {.method = "POST", .body = "{\"count\":1}"};
    char url[128];
    snprintf(url, sizeof(url), "%s/v1/write", simnode_url(&sn, "node1"));
    http(url, &o, &r);
    ck_assert_int_eq(r.status, 200);
    cJSON *j = cJSON_Parse(r.body.data);
    buf_free(&r.body);
    const cJSON *p = cJSON_GetObjectItem(j, "position");
    ck_assert(cJSON_IsNumber(p) && p->valuedouble >= 1);
    uint64_t pos = (uint64_t)p->valuedouble;
    cJSON_Delete(j);
    return pos;
}

static long fault(const char *body)
{
    return call(simnode_url(&sn, "node1"), "POST", "/v1/sim/fault", body);
}

START_TEST(min_position_waits_for_the_write)
{
    char path[160];
    cJSON_Delete(
        wait_listed("/route/c1?preference=any", "node2,node3,node4,node1"));
    ck_assert_int_eq(fault("{\"node\":\"node2\",\"kind\":\"stall\","
                           "\"duration\":\"30s\"}"),
                     200);
    sleep_ms(200); /* node2 stops before the write */
    uint64_t p = write_one();

    snprintf(path, sizeof(path),
             "/route/c1?preference=secondary&"
             "min_position=%llu",
             (unsigned long long)p);
    cJSON *o = NULL;
    double until = now_s() + DEADLINE;
    char got[128] = "";
    do { /* node3 and node4 apply it within a poll or two */
        cJSON_Delete(o);
        ck_assert_int_eq(route(path, &o), 200);
        names(o, "nodes", got, sizeof(got));
    } while ((!strstr(got, "node3") || !strstr(got, "node4")) &&
             now_s() < until && (sleep_ms(20), 1));
    ck_assert_msg(strstr(got, "node3") && strstr(got, "node4"), "nodes %s",
                  got);
    ck_assert_ptr_null(strstr(got, "node2"));
    ck_assert_str_eq(reason_of(o, "node2"), "min_position not applied");
    cJSON_Delete(o);

    snprintf(path, sizeof(path), "min_position=%llu", (unsigned long long)p);
    ck_assert_int_eq(read_health("node2", path), 503);
    ck_assert_int_eq(read_health("node3", path), 200);
    ck_assert_int_eq(read_health("node1", path), 200); /* the primary has it */
    snprintf(path, sizeof(path), "/health/replica/c1/node2?min_position=%llu",
             (unsigned long long)p);
    struct resp r;
    get(ag.base, path, &r);
    ck_assert_int_eq(r.status, 503);
    ck_assert_ptr_nonnull(strstr(r.body.data, "min_position not applied"));
    buf_free(&r.body);
    path[strlen("/health/replica/c1/node")] = '3';
    get(ag.base, path, &r);
    ck_assert_int_eq(r.status, 200);
    buf_free(&r.body);

    /* node2 applies it once the stall ends */
    ck_assert_int_eq(
        call(simnode_url(&sn, "node1"), "DELETE", "/v1/sim/fault", NULL), 200);
    snprintf(path, sizeof(path),
             "/route/c1?preference=secondary&"
             "min_position=%llu",
             (unsigned long long)p);
    o = NULL;
    until = now_s() + DEADLINE;
    do {
        cJSON_Delete(o);
        ck_assert_int_eq(route(path, &o), 200);
        names(o, "nodes", got, sizeof(got));
    } while (!strstr(got, "node2") && now_s() < until && (sleep_ms(20), 1));
    ck_assert_msg(strstr(got, "node2"), "nodes %s", got);
    cJSON_Delete(o);
}
END_TEST

/* timed: route() and the seconds it took. */
static long timed(const char *path, cJSON **out, double *secs)
{
    double t0 = now_s();
    long st = route(path, out);
    *secs = now_s() - t0;
    return st;
}

/* all_have: every node o lists reports a position of at least p. */
static bool all_have(const cJSON *o, uint64_t p)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(o, "nodes"))
    {
        const cJSON *v = cJSON_GetObjectItem(e, "position");
        if (!cJSON_IsNumber(v) || v->valuedouble < (double)p)
            return false;
    }
    return true;
}

START_TEST(wait_answers_once_a_replica_has_it)
{
    char path[160];
    cJSON *o;
    double secs, worst = 0, sum = 0;
    cJSON_Delete(wait_listed("/route/c1", "node2,node3,node4,node1"));
    for (int i = 0; i < 5; i++) {
        uint64_t p = write_one();
        snprintf(path, sizeof(path),
                 "/route/c1?preference=secondary&min_position=%llu",
                 (unsigned long long)p);
        /* the last poll is older than the write: no replica has it */
        ck_assert_int_eq(route(path, &o), 200);
        ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(o, "nodes")),
                         0);
        cJSON_Delete(o);
        strcat(path, "&wait=1s");
        ck_assert_int_eq(timed(path, &o, &secs), 200);
        ck_assert_int_ge(cJSON_GetArraySize(cJSON_GetObjectItem(o, "nodes")),
                         1);
        ck_assert(all_have(o, p));
        cJSON_Delete(o);
        ck_assert_msg(secs < 0.6, "wait took %.3fs", secs);
        worst = secs > worst ? secs : worst;
        sum += secs;
        sleep_ms(150);
    }
    printf("wait=1s after a write, 100 ms replication delay: mean %.3fs, "
           "max %.3fs over 5\n",
           sum / 5, worst);

    /* every replica stalled: the wait ends after D, with none */
    for (int i = 2; i <= 4; i++) {
        char f[96];
        snprintf(f, sizeof(f),
                 "{\"node\":\"node%d\",\"kind\":\"stall\","
                 "\"duration\":\"30s\"}",
                 i);
        ck_assert_int_eq(fault(f), 200);
    }
    sleep_ms(200);
    uint64_t p = write_one();
    snprintf(path, sizeof(path),
             "/route/c1?preference=secondary&min_position=%llu&wait=300ms",
             (unsigned long long)p);
    ck_assert_int_eq(timed(path, &o, &secs), 200);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(o, "nodes")), 0);
    ck_assert_str_eq(reason_of(o, "node3"), "min_position not applied");
    cJSON_Delete(o);
    ck_assert_msg(secs >= 0.28 && secs < 0.8, "wait took %.3fs", secs);
    snprintf(path, sizeof(path),
             "/health/read/c1/node2?min_position=%llu&wait=300ms",
             (unsigned long long)p);
    ck_assert_int_eq(timed(path, &o, &secs), 503);
    cJSON_Delete(o);
    ck_assert_msg(secs >= 0.28 && secs < 0.8, "wait took %.3fs", secs);
    expect_error(ag.base, "/route/c1?min_position=1&wait=2s", NULL, 400);
    expect_error(ag.base, "/route/c1?min_position=1&wait=5", NULL, 400);
}
END_TEST

/* state_json: node's "state" in /api/v1/state, into out. */
static void state_json(const char *node, char *out, size_t n)
{
    cJSON *o;
    snprintf(out, n, "(none)");
    ck_assert_int_eq(route("/api/v1/state", &o), 200);
    const cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "clusters"), 0);
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(c, "nodes"))
    {
        const char *nm = cJSON_GetStringValue(cJSON_GetObjectItem(e, "name"));
        const char *st = cJSON_GetStringValue(cJSON_GetObjectItem(e, "state"));
        if (nm && strcmp(nm, node) == 0 && st)
            snprintf(out, n, "%s", st);
    }
    cJSON_Delete(o);
}

/* wait_state: waits until node's state is want in both /metrics and
 * /api/v1/state. */
static void wait_state(const char *node, const char *want)
{
    char l[128], got[32];
    snprintf(l, sizeof(l), "cluster=\"c1\",replica=\"%s\",state=\"%s\"", node,
             want);
    assert_wait_for(ag.base, "replguard_replica_state", l, EQ, 1, DEADLINE);
    state_json(node, got, sizeof(got));
    ck_assert_msg(strcmp(got, want) == 0, "%s: state %s, want %s", node, got,
                  want);
}

static long admin(const char *what, const char *replica)
{
    char path[64], body[64];
    snprintf(path, sizeof(path), "/v1/admin/cluster/%s", what);
    snprintf(body, sizeof(body), "{\"replica_id\":\"%s\"}", replica);
    return call(simnode_url(&sn, "node1"), "POST", path, body);
}

/* hold_reason: /health/replica/c1/node2 with query q: its status, the
 * reason (copied into why, "" for none). */
static long hold_reason(const char *q, char *why, size_t n)
{
    char path[160];
    cJSON *o;
    snprintf(path, sizeof(path), "/health/replica/c1/node2?%s", q);
    long st = route(path, &o);
    const char *r = cJSON_GetStringValue(cJSON_GetObjectItem(o, "reason"));
    const cJSON *b = cJSON_GetObjectItem(o, "lag_bound");
    snprintf(why, n, "%s (bound %.3f)", r ? r : "",
             cJSON_IsNumber(b) ? b->valuedouble : -1);
    cJSON_Delete(o);
    return st;
}

/* hold=: a replica passes only while its lag cannot pass the bound
 * within the hold, so a hold longer than the bound refuses every
 * replica, a short one passes a healthy one, and a stalled replica is
 * refused while its last polled lag is still within the bound. */
START_TEST(hold_refuses_what_may_go_stale)
{
    char why[96];
    wait_state("node2", "active");
    double until = now_s() + DEADLINE;
    while (hold_reason("max_lag=1s&hold=1ms", why, sizeof(why)) != 200 &&
           now_s() < until)
        sleep_ms(10); /* until node2 applied a heartbeat */
    ck_assert_msg(hold_reason("max_lag=1s&hold=1ms", why, sizeof(why)) == 200,
                  "hold=1ms: %s", why);
    ck_assert_int_eq(hold_reason("max_lag=1s&hold=2s", why, sizeof(why)), 503);
    ck_assert(strncmp(why, "lag may pass max_lag within hold", 32) == 0);
    cJSON *o;
    ck_assert_int_eq(
        route("/route/c1?preference=secondary&max_lag=1s&hold=2s", &o), 200);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(o, "nodes")), 0);
    ck_assert_str_eq(reason_of(o, "node3"), "lag may pass max_lag within hold");
    cJSON_Delete(o);

    /* node2 stalls: with a 600 ms hold at a 1 s bound it is refused
     * once it is 400 ms behind, while its polled lag passes */
    ck_assert_int_eq(fault("{\"node\":\"node2\",\"kind\":\"stall\","
                           "\"duration\":\"3s\"}"),
                     200);
    until = now_s() + DEADLINE;
    while (hold_reason("max_lag=1s&hold=600ms", why, sizeof(why)) == 200 &&
           now_s() < until)
        sleep_ms(10);
    ck_assert(strncmp(why, "lag may pass max_lag within hold", 32) == 0);
    ck_assert_int_eq(hold_reason("max_lag=1s", why, sizeof(why)), 200);

    expect_error(ag.base, "/health/replica/c1/node2?hold=5", NULL, 400);
    expect_error(ag.base, "/health/read/c1/node2?hold=61s", NULL, 400);
    expect_error(ag.base, "/route/c1?hold=x", NULL, 400);
}
END_TEST

START_TEST(replica_states_follow_faults)
{
    wait_state("node2", "active");
    wait_state("node3", "active");
    wait_state("node4", "active");
    ck_assert(isnan(metric(ag.base, "replguard_replica_state",
                           "cluster=\"c1\",replica=\"node1\","
                           "state=\"active\"")));

    ck_assert_int_eq(fault("{\"node\":\"node2\",\"kind\":\"pause\"}"), 200);
    wait_state("node2", "paused");

    /* a disconnect: syncing (reconnecting) at first, failed past
     * critical; back: syncing until its lag is below warning */
    ck_assert_int_eq(fault("{\"node\":\"node3\",\"kind\":\"disconnect\","
                           "\"duration\":\"3s\"}"),
                     200);
    wait_state("node3", "syncing");
    wait_state("node3", "failed");
    wait_state("node3", "active");

    /* a forced sync of a diverged replica */
    ck_assert_int_eq(fault("{\"node\":\"node4\",\"kind\":\"diverge\","
                           "\"buckets\":3000}"),
                     200);
    ck_assert_int_eq(admin("sync", "node4"), 202);
    wait_state("node4", "syncing");
    wait_state("node4", "active");

    ck_assert_int_eq(admin("demote", "node4"), 200);
    wait_state("node4", "removed");
    ck_assert_int_eq(
        call(simnode_url(&sn, "node1"), "DELETE", "/v1/sim/fault", NULL), 200);
    wait_state("node2", "active");
    ck_assert_int_eq(fault("{\"node\":\"node2\",\"kind\":\"crash\"}"), 200);
    wait_state("node2", "failed");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("readroute");
    TCase *tc = tcase_create("processes");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60 * wait_scale());
    tcase_add_test(tc, preferences_order_the_nodes);
    tcase_add_test(tc, min_position_waits_for_the_write);
    suite_add_tcase(s, tc);
    tc = tcase_create("states");
    tcase_add_checked_fixture(tc, setup_states, teardown);
    tcase_set_timeout(tc, 60 * wait_scale());
    tcase_add_test(tc, replica_states_follow_faults);
    tcase_add_test(tc, hold_refuses_what_may_go_stale);
    suite_add_tcase(s, tc);
    tc = tcase_create("wait");
    tcase_add_checked_fixture(tc, setup_slow, teardown);
    tcase_set_timeout(tc, 60 * wait_scale());
    tcase_add_test(tc, wait_answers_once_a_replica_has_it);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
