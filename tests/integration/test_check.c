/* test_check.c: the writers' throttle check (issue 16): GET/HEAD
 * /check/{app}/{cluster} and POST /api/v1/throttle-app.
 *
 * First the pure parts (app names, expires, the ratio's draw), then
 * replguard against replguard-simnode: 200/429 flipping as a replica
 * stalls and recovers, a throttle at ratio 1 refusing until it expires,
 * a throttle surviving a restart, malformed requests, and
 * replguard_check_total. Waits poll with deadlines. */
#include <check.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "act/appthrottle.h"
#include "agent_harness.h"
#include "lib/util.h"
#include "simnode_harness.h"

#define DEADLINE (20.0 * wait_scale())

/* --- the pure parts ------------------------------------------------------- */

START_TEST(app_names)
{
    ck_assert(appthrottle_valid_name("archive"));
    ck_assert(appthrottle_valid_name("a.b_c-D9"));
    char long_name[70];
    memset(long_name, 'x', 64);
    long_name[64] = '\0';
    ck_assert(appthrottle_valid_name(long_name));
    long_name[64] = 'x';
    long_name[65] = '\0';
    ck_assert(!appthrottle_valid_name(long_name));
    ck_assert(!appthrottle_valid_name(""));
    ck_assert(!appthrottle_valid_name("a b"));
    ck_assert(!appthrottle_valid_name("a\"b"));
    ck_assert(!appthrottle_valid_name("a/b"));
}
END_TEST

START_TEST(expires_parse)
{
    double out;
    const char *why = NULL;
    ck_assert_int_eq(appthrottle_parse_expires("10m", 1000, &out, &why), 0);
    ck_assert_double_eq(out, 1600);
    ck_assert_int_eq(
        appthrottle_parse_expires("2030-01-01T00:00:00Z", 1000, &out, &why), 0);
    ck_assert_double_eq(out, 1893456000);
    ck_assert_int_eq(appthrottle_parse_expires("soon", 1000, &out, &why), -1);
    ck_assert_ptr_nonnull(why);
    ck_assert_int_eq(appthrottle_parse_expires("0s", 1000, &out, &why), -1);
    ck_assert_int_eq(appthrottle_parse_expires("2001-01-01T00:00:00Z",
                                               1e9 + 1e8, &out, &why),
                     -1);
    ck_assert_str_eq(why, "expires is not in the future");
}
END_TEST

START_TEST(ratio_draws)
{
    ck_assert(appthrottle_refuses(1, 0));
    ck_assert(appthrottle_refuses(1, UINT64_MAX));
    ck_assert(!appthrottle_refuses(0, 0));
    ck_assert(appthrottle_refuses(0.5, 0));
    ck_assert(!appthrottle_refuses(0.5, UINT64_MAX));
    /* the share refused follows the ratio */
    struct appthrottle *t = appthrottle_new("/nonexistent", NULL, 1000);
    int refused = 0;
    for (int i = 0; i < 10000; i++)
        refused += appthrottle_refuses(0.3, appthrottle_draw(t));
    ck_assert_int_gt(refused, 2700);
    ck_assert_int_lt(refused, 3300);
    appthrottle_free(t);
}
END_TEST

/* Past APPTHROTTLE_MAX_APPS apps, the checks count under app="other". */
START_TEST(series_are_capped)
{
    struct appthrottle *t = appthrottle_new("/nonexistent", NULL, 1000);
    char app[32];
    for (int i = 0; i < APPTHROTTLE_MAX_APPS + 50; i++) {
        snprintf(app, sizeof(app), "app%d", i);
        appthrottle_count(t, "c1", app, 200);
    }
    appthrottle_count(t, "c1", "app0", 429);
    size_t n = appthrottle_series(t, NULL, 0);
    ck_assert_uint_eq(n, 2 * (APPTHROTTLE_MAX_APPS + 1));
    struct appthrottle_series *s = xcalloc(n, sizeof(*s));
    appthrottle_series(t, s, n);
    ck_assert_str_eq(s[1].app, "app0");
    ck_assert_str_eq(s[1].code, "429");
    ck_assert_uint_eq(s[1].count, 1);
    ck_assert_str_eq(s[n - 2].app, "other");
    ck_assert_uint_eq(s[n - 2].count, 50);
    free(s);
    appthrottle_free(t);
}
END_TEST

/* --- processes ------------------------------------------------------------ */

static struct simnode sn;
static struct agent ag;

static void setup(void)
{
    agent_setup(&ag, &sn, NULL);
}

static void teardown(void)
{
    agent_teardown(&ag, &sn);
}

/* A runbook throttling app "archive" on a warning alert, its ramp down
 * on resolve. */
static const char RULES[] = "runbook: writers\n"
                            "match: {alertname: ReplicationLagWarning}\n"
                            "target_label: replica\n"
                            "steps:\n"
                            "  - action: throttle_app\n"
                            "    app: archive\n"
                            "    ratio: 1\n"
                            "    expires: 10m\n"
                            "on_resolved: [restore_throttle]\n";

/* start_with: replguard over sn's nodes; rules: a runbook file's text,
 * or NULL for the repository's rules/. */
static void start_with(const char *rules)
{
    const char *top = getenv("top_srcdir");
    char path[160];
    if (rules) {
        snprintf(path, sizeof(path), "%s/rules.yml", ag.dir);
        agent_write(path, rules);
    } else {
        snprintf(path, sizeof(path), "%s/rules", top ? top : ".");
    }
    struct buf b;
    buf_init(&b, 0);
    agent_yaml_head(&ag, &b, path, "interval: 100ms, timeout: 80ms");
    buf_puts(&b, "  - name: c1\n"
                 "    lag_source: position\n"
                 "    thresholds: {warning: 500ms, critical: 2s}\n"
                 "    throttle: {restore_steps: [100, 1000], "
                 "restore_interval: 1s}\n"
                 "    nodes:\n");
    simnode_yaml_nodes(&sn, &b);
    agent_write(ag.cfg, b.data);
    buf_free(&b);
    agent_start(&ag);
}

static void start(void)
{
    start_with(NULL);
}

/* check: GET /check/app/c1 (or HEAD); the body's "reason" into why. */
static long check(const char *app, const char *method, char *why, size_t n)
{
    char path[128];
    snprintf(path, sizeof(path), "/check/%s/c1", app);
    struct opts o = {.method = method};
    struct resp r;
    buf_init(&r.body, 0);
    long st = agent_request(&ag, path, &o, &r);
    snprintf(why, n, "(none)");
    cJSON *j = r.body.data ? cJSON_Parse(r.body.data) : NULL;
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(j, "reason");
    if (cJSON_IsString(w))
        snprintf(why, n, "%s", w->valuestring);
    else if (cJSON_IsNull(w))
        snprintf(why, n, "null");
    if (j && st != 400 && st != 404) {
        ck_assert_int_eq(
            cJSON_GetObjectItemCaseSensitive(j, "StatusCode")->valueint, st);
        ck_assert(
            cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, "Threshold")));
    }
    cJSON_Delete(j);
    buf_free(&r.body);
    return st;
}

static long wait_check(const char *app, long want, char *why, size_t n)
{
    long st = 0;
    for (double end = now_s() + DEADLINE; now_s() < end; sleep_ms(50))
        if ((st = check(app, "GET", why, n)) == want)
            break;
    return st;
}

static long fault(const char *node, const char *kind)
{
    char json[128];
    snprintf(json, sizeof(json), "{\"node\": \"%s\", \"kind\": \"%s\"}", node,
             kind);
    return call(simnode_url(&sn, "node1"), "POST", "/v1/sim/fault", json);
}

static long throttle(const char *body)
{
    return call(ag.base, "POST", "/api/v1/throttle-app", body);
}

START_TEST(check_flips_with_lag)
{
    char why[256];
    start();
    ck_assert_int_eq(wait_check("archive", 200, why, sizeof(why)), 200);
    ck_assert_str_eq(why, "null");
    ck_assert_int_eq(check("archive", "HEAD", why, sizeof(why)), 200);
    ck_assert_int_eq(fault("node2", "stall"), 200);
    double t0 = now_s();
    ck_assert_int_eq(wait_check("archive", 429, why, sizeof(why)), 429);
    fprintf(stderr, "stall to 429: %.2f s (warning 500ms, polls 100ms)\n",
            now_s() - t0);
    ck_assert_msg(strstr(why, "node2"), "reason: %s", why);
    ck_assert_int_eq(check("archive", "HEAD", why, sizeof(why)), 429);
    ck_assert_int_eq(
        call(simnode_url(&sn, "node1"), "DELETE", "/v1/sim/fault", NULL), 200);
    t0 = now_s();
    ck_assert_int_eq(wait_check("archive", 200, why, sizeof(why)), 200);
    fprintf(stderr, "fault cleared to 200: %.2f s\n", now_s() - t0);
    t0 = now_s();
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(check("archive", "HEAD", why, sizeof(why)), 200);
    fprintf(stderr, "1000 HEAD checks, one connection each: %.3f s\n",
            now_s() - t0);
    /* freno's /check/{app}/{store_type}/{store} */
    ck_assert_int_eq(call(ag.base, "GET", "/check/archive/mysql/c1", NULL),
                     200);
    ck_assert_int_eq(call(ag.base, "GET", "/check/archive/nope", NULL), 404);
    assert_wait_for(ag.base, "replguard_check_total",
                    "cluster=\"c1\",app=\"archive\",code=\"429\"", GT, 1,
                    DEADLINE);
    assert_wait_for(ag.base, "replguard_check_total",
                    "cluster=\"c1\",app=\"archive\",code=\"200\"", GT, 2,
                    DEADLINE);
}
END_TEST

START_TEST(throttle_app_ratio_and_expiry)
{
    char why[256];
    start();
    ck_assert_int_eq(wait_check("archive", 200, why, sizeof(why)), 200);
    ck_assert_int_eq(throttle("{\"app\": \"archive\", \"cluster\": \"c1\", "
                              "\"ratio\": 1, \"expires\": \"2s\"}"),
                     200);
    ck_assert_int_eq(check("archive", "GET", why, sizeof(why)), 429);
    ck_assert_msg(strstr(why, "throttled"), "reason: %s", why);
    ck_assert_int_eq(check("other-app", "GET", why, sizeof(why)), 200);
    /* expires: back to 200 within a little more than 2 s */
    double t0 = now_s();
    ck_assert_int_eq(wait_check("archive", 200, why, sizeof(why)), 200);
    ck_assert_double_lt(now_s() - t0, 4);
    /* ratio 0 lifts a throttle at once */
    ck_assert_int_eq(throttle("{\"app\": \"archive\", \"cluster\": \"c1\", "
                              "\"ratio\": 1, \"expires\": \"1h\"}"),
                     200);
    ck_assert_int_eq(check("archive", "GET", why, sizeof(why)), 429);
    ck_assert_int_eq(
        throttle("{\"app\": \"archive\", \"cluster\": \"c1\", \"ratio\": 0}"),
        200);
    ck_assert_int_eq(check("archive", "GET", why, sizeof(why)), 200);
}
END_TEST

START_TEST(throttle_survives_restart)
{
    char why[256];
    start();
    ck_assert_int_eq(throttle("{\"app\": \"etl\", \"cluster\": \"c1\", "
                              "\"ratio\": 1, \"expires\": "
                              "\"2099-01-01T00:00:00Z\"}"),
                     200);
    ck_assert_int_eq(check("etl", "GET", why, sizeof(why)), 429);
    ck_assert_int_eq(agent_stop(&ag), 0);
    agent_start(&ag);
    ck_assert_int_eq(check("etl", "GET", why, sizeof(why)), 429);
    ck_assert_msg(strstr(why, "throttled"), "reason: %s", why);
    /* and /api/v1/state lists it */
    struct resp r;
    get(ag.base, "/api/v1/state", &r);
    cJSON *st = cJSON_Parse(r.body.data);
    const cJSON *rem = cJSON_GetObjectItemCaseSensitive(st, "remediation");
    const cJSON *a = cJSON_GetArrayItem(
        cJSON_GetObjectItemCaseSensitive(rem, "app_throttles"), 0);
    ck_assert_ptr_nonnull(a);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(a, "app")->valuestring,
                     "etl");
    ck_assert_double_eq(
        cJSON_GetObjectItemCaseSensitive(a, "ratio")->valuedouble, 1);
    ck_assert_double_eq(
        cJSON_GetObjectItemCaseSensitive(a, "expires")->valuedouble,
        4070908800);
    cJSON_Delete(st);
    buf_free(&r.body);
}
END_TEST

/* The ratio of archive's throttle as refusals of n checks show it. */
static int refused_of(int n)
{
    char why[256];
    int k = 0;
    for (int i = 0; i < n; i++)
        k += check("archive", "GET", why, sizeof(why)) == 429;
    return k;
}

/* A warning alert throttles app archive (ratio 1); its resolve ramps the
 * ratio down over restore_steps + 1 = 3 steps of 1 s (2/3, 1/3, 0). */
START_TEST(runbook_throttle_app_and_ramp)
{
    char why[256];
    start_with(RULES);
    ck_assert_int_eq(wait_check("archive", 200, why, sizeof(why)), 200);
    ck_assert_int_eq(agent_alert(&ag, "ReplicationLagWarning", "firing", "ab01",
                                 "\"replica\":\"node2\""),
                     200);
    ck_assert_int_eq(wait_check("archive", 429, why, sizeof(why)), 429);
    ck_assert_msg(strstr(why, "throttled at ratio 1"), "reason: %s", why);
    ck_assert_int_eq(check("etl", "GET", why, sizeof(why)), 200);
    ck_assert_int_eq(agent_alert(&ag, "ReplicationLagWarning", "resolved",
                                 "ab01", "\"replica\":\"node2\""),
                     200);
    /* first step: 2/3 of the checks refused, then 1/3, then none */
    double t0 = now_s();
    while (!strstr(why, "ratio 0.66") && now_s() < t0 + DEADLINE) {
        check("archive", "GET", why, sizeof(why));
        sleep_ms(5);
    }
    ck_assert_msg(strstr(why, "ratio 0.66"), "reason: %s", why);
    int k = refused_of(300);
    fprintf(stderr, "ramp step 1: %d of 300 refused\n", k);
    ck_assert_int_gt(k, 100);
    ck_assert_int_lt(k, 300);
    ck_assert_int_eq(wait_check("archive", 200, why, sizeof(why)), 200);
    sleep_ms(2500); /* past the last step */
    ck_assert_int_eq(refused_of(200), 0);
    ck_assert_double_gt(now_s() - t0, 1.5);
}
END_TEST

static void expect_400(const char *body)
{
    struct opts o = {.method = "POST", .body = body};
    expect_error(ag.base, "/api/v1/throttle-app", &o, 400);
}

START_TEST(malformed_requests)
{
    start();
    expect_400("not json");
    expect_400("[]");
    expect_400("{\"cluster\": \"c1\", \"ratio\": 1}");
    expect_400("{\"app\": \"a b\", \"cluster\": \"c1\", \"ratio\": 1}");
    expect_400("{\"app\": \"a\", \"ratio\": 1}");
    expect_400("{\"app\": \"a\", \"cluster\": \"c1\", \"ratio\": 1.5}");
    expect_400("{\"app\": \"a\", \"cluster\": \"c1\", \"ratio\": \"1\"}");
    expect_400("{\"app\": \"a\", \"cluster\": \"c1\", \"ratio\": 1, "
               "\"expires\": \"tomorrow\"}");
    expect_400("{\"app\": \"a\", \"cluster\": \"c1\", \"ratio\": 1, "
               "\"expires\": \"2001-01-01T00:00:00Z\"}");
    struct opts o = {.method = "POST",
                     .body = "{\"app\": \"a\", \"cluster\": \"nope\", "
                             "\"ratio\": 1}"};
    expect_error(ag.base, "/api/v1/throttle-app", &o, 404);
    struct opts g = {0};
    expect_error(ag.base, "/check/a%20b/c1", &g, 400);
    expect_error(ag.base, "/check/a/nope", &g, 404);
    expect_error(ag.base, "/check//c1", &g, 400);
    char path[400];
    snprintf(path, sizeof(path), "/check/%0150d/c1", 7); /* cut at 127 */
    expect_error(ag.base, path, &g, 400);
    expect_error(ag.base, "/check/a", &g, 404);
    struct opts p = {.method = "POST"};
    expect_error(ag.base, "/check/a/c1", &p, 405);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("check");
    TCase *tc = tcase_create("pure");
    tcase_add_test(tc, app_names);
    tcase_add_test(tc, expires_parse);
    tcase_add_test(tc, ratio_draws);
    tcase_add_test(tc, series_are_capped);
    suite_add_tcase(s, tc);
    tc = tcase_create("processes");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60 * wait_scale());
    tcase_add_test(tc, check_flips_with_lag);
    tcase_add_test(tc, throttle_app_ratio_and_expiry);
    tcase_add_test(tc, throttle_survives_restart);
    tcase_add_test(tc, malformed_requests);
    tcase_add_test(tc, runbook_throttle_app_and_ramp);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
