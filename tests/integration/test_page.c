/* test_page.c: the status page (GET /) in a real browser: Debian's
 * chromium, headless, driven over WebDriver (chromedriver speaks plain
 * HTTP and JSON, so libcurl and cJSON drive it; no npm), against a live
 * replguard and replguard-simnode.
 *
 * One replguard, one simnode, one browser session for the whole program
 * (starting Chromium takes a second or two); the tests run in order on
 * it. Screenshots go to tests/integration/test_page-*.png in the build
 * tree. Without chromium or chromedriver the program skips (exit 77)
 * and says what to install. */
#include <check.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_harness.h"
#include "test_support.h"
#include "simnode_harness.h"
#include "lib/util.h"

#define TOKEN       "page-test-token-7f3a"
#define HOSTILE     "<img src=x onerror=window.__xss=1>"
#define ELEMENT_KEY "element-6066-11e4-a52e-4f735466cecf"

static struct simnode sn;
static struct agent ag;
static pid_t driver_pid = -1;
static int driver_out = -1; /* chromedriver's stdout */
static char driver[64];     /* http://127.0.0.1:PORT */
static char sid[128];       /* the WebDriver session */
static char chromium[256], chromedriver[256];

/* --- WebDriver over libcurl --------------------------------------------- */

static size_t collect(char *p, size_t size, size_t n, void *ctx)
{
    buf_append(ctx, p, size * n);
    return size * n;
}

/* wd_raw: method path (under the driver's base) with a JSON body (NULL:
 * none); the parsed answer's "value" detached, or NULL. *status gets
 * the HTTP status. */
static cJSON *wd_raw(const char *method, const char *path, const char *body,
                     long *status)
{
    char url[512];
    struct buf b;
    buf_init(&b, 0);
    snprintf(url, sizeof(url), "%s%s", driver, path);
    CURL *c = curl_easy_init();
    struct curl_slist *h =
        curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    CURLcode rc = curl_easy_perform(c);
    *status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    cJSON *root = rc == CURLE_OK && b.data ? cJSON_Parse(b.data) : NULL;
    cJSON *v = root ? cJSON_DetachItemFromObject(root, "value") : NULL;
    if (*status != 200)
        fprintf(stderr, "webdriver %s %s: %ld %s\n", method, path, *status,
                b.data ? b.data : "");
    cJSON_Delete(root);
    buf_free(&b);
    return v;
}

/* wd: a session command; fails the test unless it answers 200. */
static cJSON *wd(const char *method, const char *cmd, const char *body)
{
    char path[256];
    long st;
    snprintf(path, sizeof(path), "/session/%s%s", sid, cmd);
    cJSON *v = wd_raw(method, path, body, &st);
    ck_assert_msg(st == 200, "webdriver %s %s: HTTP %ld", method, cmd, st);
    return v;
}

/* js: runs script (a function body; arguments[] empty) in the page and
 * returns its value as a string the caller frees (JSON for non-strings). */
static char *js(const char *script)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "script", script);
    cJSON_AddItemToObject(o, "args", cJSON_CreateArray());
    char *body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    cJSON *v = wd("POST", "/execute/sync", body);
    free(body);
    char *s =
        cJSON_IsString(v) ? xstrdup(v->valuestring) : cJSON_PrintUnformatted(v);
    cJSON_Delete(v);
    return s;
}

/* js_true: whether script returns true. */
static bool js_true(const char *script)
{
    char *s = js(script);
    bool t = strcmp(s, "true") == 0;
    free(s);
    return t;
}

/* wait_js: waits up to secs for script to return true; fails with what. */
static void wait_js(const char *script, double secs, const char *what)
{
    double until = now_s() + secs * wait_scale();
    while (!js_true(script)) {
        ck_assert_msg(now_s() < until, "the page never showed %s", what);
        sleep_ms(200);
    }
}

/* element: the WebDriver id of the first element matching css. */
static char *element(const char *css)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "using", "css selector");
    cJSON_AddStringToObject(o, "value", css);
    char *body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    cJSON *v = wd("POST", "/element", body);
    free(body);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(v, ELEMENT_KEY);
    ck_assert_msg(cJSON_IsString(id), "no element %s", css);
    char *s = xstrdup(id->valuestring);
    cJSON_Delete(v);
    return s;
}

/* click, type: a real click and real key strokes, as a person would. */
static void click(const char *css)
{
    char cmd[256], *id = element(css);
    snprintf(cmd, sizeof(cmd), "/element/%s/click", id);
    cJSON_Delete(wd("POST", cmd, "{}"));
    free(id);
}

static void type(const char *css, const char *text)
{
    char cmd[256], *id = element(css);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "text", text);
    char *body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    snprintf(cmd, sizeof(cmd), "/element/%s/value", id);
    cJSON_Delete(wd("POST", cmd, body));
    free(body);
    free(id);
}

static int b64(int c)
{
    const char *t =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = c ? strchr(t, c) : NULL;
    return p ? (int)(p - t) : -1;
}

/* screenshot: the viewport as tests/integration/test_page-NAME.png. */
static void screenshot(const char *name)
{
    cJSON *v = wd("GET", "/screenshot", NULL);
    ck_assert(cJSON_IsString(v));
    char path[256];
    snprintf(path, sizeof(path), "tests/integration/test_page-%s.png", name);
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    unsigned acc = 0;
    int bits = 0;
    for (const char *p = v->valuestring; *p; p++) {
        int d = b64((unsigned char)*p);
        if (d < 0)
            continue;
        acc = (acc << 6) | (unsigned)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            fputc((int)((acc >> bits) & 0xff), f);
        }
    }
    fclose(f);
    cJSON_Delete(v);
    fprintf(stderr, "test_page: screenshot %s\n", path);
}

/* --- the browser -------------------------------------------------------- */

/* find_exe: name on $PATH into out; false when it is not there. */
static bool find_exe(const char *name, char *out, size_t n)
{
    const char *path = getenv("PATH");
    char dirs[4096];
    snprintf(dirs, sizeof(dirs), "%s", path ? path : "/usr/bin:/bin");
    for (char *save, *d = strtok_r(dirs, ":", &save); d;
         d = strtok_r(NULL, ":", &save)) {
        snprintf(out, n, "%s/%s", d, name);
        if (access(out, X_OK) == 0)
            return true;
    }
    return false;
}

/* start_driver: chromedriver on an ephemeral loopback port (it prints
 * the port it took). */
static void start_driver(void)
{
    int fds[2];
    ck_assert(pipe(fds) == 0);
    pid_t parent = getpid();
    driver_pid = fork();
    ck_assert(driver_pid >= 0);
    if (driver_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent || dup2(fds[1], STDOUT_FILENO) < 0)
            _exit(127);
        execl(chromedriver, chromedriver, "--port=0", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char out[4096];
    size_t len = 0;
    int port = 0;
    double until = now_s() + 20 * wait_scale();
    while (!port && len + 1 < sizeof(out)) {
        struct pollfd p = {fds[0], POLLIN, 0};
        int ms = (int)((until - now_s()) * 1000);
        ssize_t n;
        if (ms <= 0 || poll(&p, 1, ms) <= 0 ||
            (n = read(fds[0], out + len, sizeof(out) - 1 - len)) <= 0)
            break;
        len += (size_t)n;
        out[len] = '\0';
        const char *at = strstr(out, "successfully on port ");
        if (at && strchr(at, '\n'))
            port = atoi(at + strlen("successfully on port "));
    }
    driver_out = fds[0]; /* open until it stops: a write must not SIGPIPE */
    ck_assert_msg(port > 0, "chromedriver did not say its port");
    snprintf(driver, sizeof(driver), "http://127.0.0.1:%d", port);
}

static void start_browser(void)
{
    char body[1024];
    long st;
    snprintf(body, sizeof(body),
             "{\"capabilities\":{\"alwaysMatch\":{\"goog:chromeOptions\":{"
             "\"binary\":\"%s\",\"args\":[\"--headless=new\","
             "\"--no-sandbox\",\"--disable-gpu\",\"--disable-dev-shm-usage\","
             "\"--window-size=1280,1000\",\"--no-first-run\"]}}}}",
             chromium);
    cJSON *v = wd_raw("POST", "/session", body, &st);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(v, "sessionId");
    ck_assert_msg(st == 200 && cJSON_IsString(id), "no browser session");
    snprintf(sid, sizeof(sid), "%s", id->valuestring);
    cJSON_Delete(v);
}

static void stop_browser(void)
{
    long st;
    char path[256];
    snprintf(path, sizeof(path), "/session/%s", sid);
    if (sid[0])
        cJSON_Delete(wd_raw("DELETE", path, NULL, &st));
    sid[0] = '\0';
    if (driver_pid > 0)
        reap(driver_pid);
    driver_pid = -1;
    if (driver_out >= 0)
        close(driver_out);
    driver_out = -1;
}

/* --- the fixture -------------------------------------------------------- */

static const char RULES[] = "runbook: page-test\n"
                            "match: {alertname: PageTest}\n"
                            "target_label: replica\n"
                            "steps:\n"
                            "  - action: reset_circuit_breakers\n";

/* write_config: c1 with simnode's four nodes, a token, the test's
 * runbook. */
static void write_config(void)
{
    char rules[128], token[128];
    snprintf(rules, sizeof(rules), "%s/rules.yml", ag.dir);
    snprintf(token, sizeof(token), "%s/token", ag.dir);
    agent_write(rules, RULES);
    agent_write(token, TOKEN "\n");
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b,
               "listen: \"127.0.0.1:0\"\nstate_dir: %s/state\n"
               "audit_log: %s/audit.jsonl\nrules: %s\n"
               "auth: {token_file: %s}\n"
               "poll: {interval: 250ms, timeout: 200ms}\n"
               "clusters:\n  - name: c1\n"
               "    thresholds: {read_max_lag: 300ms}\n    nodes:\n",
               ag.dir, ag.dir, rules, token);
    simnode_yaml_nodes(&sn, &b);
    agent_write(ag.cfg, b.data);
    buf_free(&b);
}

static void setup(void)
{
    agent_setup(&ag, &sn, SIMNODE_FOUR_NODES);
    write_config();
    agent_start(&ag);
    start_driver();
    start_browser();
    char body[256];
    snprintf(body, sizeof(body), "{\"url\":\"%s/\"}", ag.base);
    cJSON_Delete(wd("POST", "/url", body));
    wait_js("return document.querySelector('details.cluster') !== null", 20,
            "the cluster c1");
}

static void teardown(void)
{
    stop_browser();
    agent_teardown(&ag, &sn);
}

/* --- the tests ---------------------------------------------------------- */

static size_t keep_header(char *p, size_t size, size_t n, void *ctx)
{
    buf_append(ctx, p, size * n);
    return size * n;
}

/* head_of: GET path from replguard; its headers into h, its status
 * returned. */
static long head_of(const char *path, struct buf *h)
{
    char url[256];
    struct buf body;
    long st = 0;
    buf_init(&body, 0);
    snprintf(url, sizeof(url), "%s%s", ag.base, path);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, keep_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    curl_easy_cleanup(c);
    buf_puts(h, "");
    buf_free(&body);
    return st;
}

/* The page and its files carry a CSP that allows no inline code and no
 * other origin, nosniff, and are never cached. */
START_TEST(test_headers)
{
    static const char *const paths[] = {"/", "/app.js", "/style.css",
                                        "/api/v1/history"};
    for (size_t i = 0; i < ARRAY_LEN(paths); i++) {
        struct buf h;
        buf_init(&h, 0);
        ck_assert_int_eq(head_of(paths[i], &h), 200);
        ck_assert_msg(strstr(h.data, "Content-Security-Policy: default-src "
                                     "'none'; script-src 'self';"),
                      "%s: %s", paths[i], h.data);
        ck_assert_ptr_nonnull(
            strstr(h.data, "X-Content-Type-Options: nosniff"));
        ck_assert_ptr_nonnull(strstr(h.data, "Cache-Control: no-store"));
        buf_free(&h);
    }
    struct buf h;
    buf_init(&h, 0);
    ck_assert_int_eq(head_of("/api/v1/history?cluster=nope", &h), 404);
    ck_assert_int_eq(head_of("/nope.js", &h), 404);
    buf_free(&h);
    /* relative URLs only, so that a path prefix before them (a reverse
     * proxy's) stays: no "/..." in the markup, no '/api' in the script */
    struct resp r;
    get(ag.base, "/", &r); /* get() sets r.body up; the caller frees it */
    ck_assert_ptr_null(strstr(r.body.data, "=\"/"));
    buf_free(&r.body);
    get(ag.base, "/app.js", &r);
    ck_assert_ptr_null(strstr(r.body.data, "'/api"));
    ck_assert_ptr_nonnull(strstr(r.body.data, "'api/v1/state'"));
    ck_assert_ptr_null(strstr(r.body.data, "innerHTML"));
    buf_free(&r.body);
    /* the page loaded its script and style from replguard alone */
    ck_assert(js_true("return performance.getEntriesByType('resource')"
                      ".every(function (e) { return e.name.indexOf("
                      "location.origin) === 0; })"));
}
END_TEST

/* Without a token the page is read-only; with it typed once, the pause
 * button pauses (Bearer header) and the banner says so; resume clears
 * it. The token stays in the tab's sessionStorage, not in a cookie. */
START_TEST(test_pause_banner)
{
    ck_assert(js_true("return document.getElementById('pause').disabled"));
    type("#token", TOKEN);
    click("#token-set");
    wait_js("return !document.getElementById('pause').disabled", 5,
            "the buttons enabled");
    ck_assert(
        js_true("return sessionStorage.getItem('replguard.token') === '" TOKEN
                "' && document.cookie === '' && "
                "document.getElementById('token').value === ''"));
    click("#pause");
    wait_js("return !!document.querySelector('[data-banner=\"Paused\"]')", 10,
            "the pause banner");
    screenshot("paused");
    struct resp r;
    get(ag.base, "/api/v1/state", &r);
    ck_assert_ptr_nonnull(strstr(r.body.data, "\"paused\":true"));
    buf_free(&r.body);
    click("#resume");
    wait_js("return !document.querySelector('[data-banner=\"Paused\"]')", 10,
            "the pause banner gone");
}
END_TEST

/* A stalled replica falls behind: the page shows it out of read
 * rotation with the reason replguard gives, and its sparkline. */
START_TEST(test_lagging_replica)
{
    char json[128];
    snprintf(json, sizeof(json),
             "{\"node\":\"node2\",\"kind\":\"stall\",\"duration\":\"60s\"}");
    ck_assert_int_eq(
        call(simnode_url(&sn, "node1"), "POST", "/v1/sim/fault", json), 200);
    click("details.cluster[data-cluster=\"c1\"] > summary");
    const char *row =
        "var td = document.querySelector('details.cluster[data-cluster=\"c1\"]"
        " tr[data-node=\"node2\"] td.rotation');";
    char script[512];
    snprintf(script, sizeof(script),
             "%s return !!td && td.textContent.indexOf('out: ') === 0", row);
    wait_js(script, 15, "node2 out of read rotation");
    char why[256];
    ck_assert_int_eq(agent_replica_health(&ag, "c1", "node2", why, sizeof(why)),
                     503);
    snprintf(script, sizeof(script), "%s return td.textContent", row);
    char *text = js(script);
    char want[300];
    snprintf(want, sizeof(want), "out: %s", why);
    ck_assert_str_eq(text, want);
    free(text);
    wait_js("return !!document.querySelector('tr[data-node=\"node2\"] "
            "svg.spark polyline')",
            10, "node2's sparkline");
    screenshot("lagging");
    call(simnode_url(&sn, "node1"), "DELETE", "/v1/sim/fault", NULL);
}
END_TEST

/* An alert's action shows in the timeline, and its runbook's budget
 * and cooldown in the runbooks table. */
START_TEST(test_timeline)
{
    struct buf alert;
    struct resp r;
    char url[128];
    buf_init(&alert, 0);
    alert_payload(&alert, "PageTest", "firing", "0a9e0000000000f1",
                  "\"replica\":\"node3\"");
    struct opts o = {.method = "POST",
                     .body = alert.data,
                     .header = "Authorization: Bearer " TOKEN};
    snprintf(url, sizeof(url), "%s/webhook", ag.base);
    http(url, &o, &r);
    ck_assert_msg(r.status == 200, "webhook: %ld %s", r.status,
                  r.body.data ? r.body.data : "");
    buf_free(&alert);
    buf_free(&r.body);
    wait_js("var tr = document.querySelector('#timeline tbody "
            "tr[data-action=\"reset_circuit_breakers\"]'); return !!tr && "
            "tr.textContent.indexOf('node3') >= 0 && "
            "tr.textContent.indexOf('page-test') >= 0",
            15, "the action in the timeline");
    /* the runbook's budget (6 an hour by default) and cooldown (10m) */
    wait_js("var tr = document.querySelector('#budgets "
            "tr[data-runbook=\"page-test\"]'); return !!tr && "
            "tr.textContent.indexOf('5 of 6') >= 0 && "
            "tr.textContent.indexOf('left on node3') >= 0",
            10, "the runbook's budget and cooldown");
    screenshot("timeline");
}
END_TEST

/* At a phone's width the page does not scroll sideways (wide tables
 * scroll in their own box) and the cluster line still reads. */
START_TEST(test_phone_width)
{
    cJSON_Delete(wd("POST", "/window/rect", "{\"width\":390,\"height\":844}"));
    sleep_ms(300);
    ck_assert(js_true("return document.documentElement.scrollWidth <= "
                      "window.innerWidth + 1 && window.innerWidth < 500"));
    screenshot("phone");
    cJSON_Delete(
        wd("POST", "/window/rect", "{\"width\":1280,\"height\":1000}"));
}
END_TEST

/* A name that is markup shows as those characters: nothing parses it
 * (no <img> appears, its handler never runs). The same state has every
 * banner up: paused, TILT, a failover blocked, an escalation latched.
 * replguard's config refuses such node names, so the page is fed a state that
 * has them (a node, a cluster, an action's detail) through its own render(). */
START_TEST(test_hostile_name)
{
    ck_assert(js_true(
        "var h = '" HOSTILE "', now = Date.now() / 1000;"
        "var doc = {version: h, generated_at: now, ready: true, rounds: 1,"
        "  interval: 1, tilt: {active: true, reason: h, until: now},"
        "  clusters: [{name: h, lag_source: h, primary: h, epoch: 1,"
        "    thresholds: {warning: 5}, escalation: {latched: true},"
        "    failover: {phase: h, blocked: true, last: null},"
        "    nodes: [{name: h, role: h, is_primary: true, up: true,"
        "      fresh: true, last_failure: null, last_ok: now, position: 1},"
        "     {name: h + '2', role: h, is_primary: false, up: true,"
        "      fresh: true, last_failure: h, last_ok: now, position: 1,"
        "      lag: 1, health: h, in_read_rotation: false,"
        "      rotation_reason: h, merkle: {diff_buckets: 1, buckets: 2,"
        "      diff_ranges: h}}]}],"
        "  remediation: {paused: true, recent_actions: [{time: now,"
        "    cluster: h, runbook: h, action: h, target: h, outcome: h,"
        "    detail: h, dry_run: false, lag_before: 1, lag_after: null}]}};"
        "window.replguard.render(doc, [h]);"
        "var shown = Array.prototype.some.call("
        "  document.querySelectorAll('table.nodes th'),"
        "  function (th) { return th.firstChild && th.firstChild.nodeValue === "
        "h; });"
        "var ok = shown && document.querySelectorAll('img').length === 0 &&"
        "  document.body.textContent.indexOf(h) >= 0 &&"
        "  ['Paused', 'TILT', 'Failover blocked', 'Escalated'].every("
        "    function (b) { return !!document.querySelector("
        "      '#banners [data-banner=\"' + b + '\"]'); });"
        "window.replguard.render(doc, []);"
        "return ok"));
    sleep_ms(500); /* an onerror would have fired by now */
    ck_assert(js_true("return window.__xss === undefined && "
                      "document.querySelectorAll('img').length === 0"));
}
END_TEST

/* FIXTURE_JS: a state of 10 clusters of a primary and 100 replicas each
 * (1,000 replicas), half of them lagging and out of rotation. */
#define FIXTURE_JS                                                             \
    "var now = Date.now() / 1000, clusters = [], names = [];"                  \
    "for (var c = 0; c < 10; c++) {"                                           \
    "  var nodes = [{name: 'p' + c, role: 'primary', is_primary: true,"        \
    "    up: true, fresh: true, last_failure: null, last_ok: now,"             \
    "    position: 1000}];"                                                    \
    "  for (var k = 0; k < 100; k++) nodes.push({name: 'r' + c + '-' + k,"     \
    "    role: 'replica', is_primary: false, up: true, fresh: true,"           \
    "    last_failure: null, last_ok: now, position: 990, lag: k / 10,"        \
    "    lag_heartbeat: k / 10, lag_position: null, lag_reported: null,"       \
    "    lag_positions: k, connected: true, demoted: false,"                   \
    "    health: k < 50 ? 'healthy' : k < 80 ? 'degraded' : 'unhealthy',"      \
    "    state: 'ok', in_read_rotation: k < 50,"                               \
    "    rotation_reason: k < 50 ? null : 'lag above read_max_lag',"           \
    "    merkle: null});"                                                      \
    "  names.push('f' + c);"                                                   \
    "  clusters.push({name: 'f' + c, lag_source: 'heartbeat',"                 \
    "    thresholds: {warning: 5}, primary: 'p' + c, epoch: 1,"                \
    "    sync_mode: 'async', nodes: nodes, escalation: {latched: false},"      \
    "    failover: {phase: 'idle', blocked: false, last: null}});"             \
    "}"                                                                        \
    "var doc = {version: 'fixture', generated_at: now, ready: true,"           \
    "  rounds: 1, interval: 1, tilt: {active: false}, clusters: clusters,"     \
    "  remediation: {paused: false, recent_actions: []}};"

/* 1,000 replicas render in under 200 ms with the clusters collapsed;
 * the time with every cluster open is reported too. The page's own
 * render() is timed on a fixture state (the live poll redraws the real
 * one afterwards). */
START_TEST(test_render_1000)
{
    char *ms =
        js(FIXTURE_JS "var best = 1e9; for (var i = 0; i < 3; i++)"
                      "  best = Math.min(best, window.replguard.render(doc));"
                      "var open = window.replguard.render(doc, names);"
                      "window.replguard.render(doc, []);"
                      "return best.toFixed(1) + ' ' + open.toFixed(1) + ' ' +"
                      "  document.querySelectorAll('details.cluster').length");
    double collapsed = 0, expanded = 0;
    int boxes = 0;
    ck_assert_int_eq(sscanf(ms, "%lf %lf %d", &collapsed, &expanded, &boxes),
                     3);
    fprintf(stderr,
            "test_page: 1,000 replicas rendered in %.1f ms collapsed, "
            "%.1f ms with every cluster open\n",
            collapsed, expanded);
    free(ms);
    /* a figure, not a timed assertion (the bar: speed is measured, not
     * asserted); the 200 ms is compared in its note */
    ck_assert_int_eq(boxes, 10);
}
END_TEST

/* --- behind a reverse proxy under a path prefix ------------------------- */

/* start_proxy: HAProxy on a free port serving replguard under /rg/ (the
 * prefix stripped, as a reverse proxy does); its pid, the proxy's base
 * URL in base. */
static pid_t start_proxy(const char *haproxy, char *base, size_t n)
{
    char cfg[128];
    int port = loopback_port();
    const char *rg = strstr(ag.base, "//") + 2;
    snprintf(cfg, sizeof(cfg), "%s/haproxy.cfg", ag.dir);
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b,
               "defaults\n    mode http\n    timeout connect 2s\n"
               "    timeout client 10s\n    timeout server 10s\n"
               "frontend fe\n    bind 127.0.0.1:%d\n"
               "    http-request replace-path ^/rg(/.*)$ \\1\n"
               "    default_backend rg\n"
               "backend rg\n    server rg %s\n",
               port, rg);
    agent_write(cfg, b.data);
    buf_free(&b);
    snprintf(base, n, "http://127.0.0.1:%d/rg/", port);
    pid_t parent = getpid(), pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        const char *argv[] = {haproxy, "-db", "-q", "-f", cfg, NULL};
        exec_child(parent, -1, argv);
    }
    return pid;
}

/* Behind HAProxy under /rg/: the page loads, draws the cluster from
 * the state it fetched through the proxy, and every request it made
 * stayed under the prefix (relative URLs only); the browser's own
 * /favicon.ico at the origin's root is not the page's. */
START_TEST(test_path_prefix)
{
    char haproxy[256], base[96], body[160], script[320];
    if (!find_exe("haproxy", haproxy, sizeof(haproxy)) &&
        access("/usr/sbin/haproxy", X_OK) != 0) {
        fprintf(stderr, "test_page: path prefix: SKIP: no haproxy\n");
        return;
    }
    if (access(haproxy, X_OK) != 0)
        snprintf(haproxy, sizeof(haproxy), "/usr/sbin/haproxy");
    pid_t pid = start_proxy(haproxy, base, sizeof(base));
    double until = now_s() + 20 * wait_scale();
    struct resp r = {0};
    do {
        buf_free(&r.body);
        sleep_ms(50);
        get(base, "api/v1/state", &r);
    } while (r.status != 200 && now_s() < until);
    buf_free(&r.body);
    ck_assert_int_eq(r.status, 200);
    snprintf(body, sizeof(body), "{\"url\":\"%s\"}", base);
    cJSON_Delete(wd("POST", "/url", body));
    wait_js("return document.querySelector('details.cluster') !== null", 20,
            "the cluster c1 through the proxy");
    wait_js("return performance.getEntriesByType('resource').some("
            "function (e) { return e.name.indexOf('api/v1/state') >= 0; })",
            20, "a state fetch through the proxy");
    snprintf(script, sizeof(script),
             "return performance.getEntriesByType('resource').every("
             "function (e) { return e.name.indexOf('%s') === 0 || "
             "/\\/favicon\\.ico$/.test(e.name); })",
             base);
    if (!js_true(script)) {
        char *names = js("return performance.getEntriesByType('resource')"
                         ".map(function (e) { return e.name; }).join(' ')");
        ck_abort_msg("a request left the prefix %s: %s", base, names);
    }
    screenshot("prefix");
    reap(pid);
}
END_TEST

int main(void)
{
    if (!find_exe("chromium", chromium, sizeof(chromium)) ||
        !find_exe("chromedriver", chromedriver, sizeof(chromedriver))) {
        fprintf(stderr, "test_page: SKIP: needs chromium and chromedriver "
                        "(apt-get install chromium chromium-driver)\n");
        return 77;
    }
    Suite *s = suite_create("page");
    TCase *tc = tcase_create("browser");
    tcase_set_timeout(tc, 120 * wait_scale());
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_headers);
    tcase_add_test(tc, test_pause_banner);
    tcase_add_test(tc, test_lagging_replica);
    tcase_add_test(tc, test_timeline);
    tcase_add_test(tc, test_phone_width);
    tcase_add_test(tc, test_hostile_name);
    tcase_add_test(tc, test_render_1000);
    tcase_add_test(tc, test_path_prefix);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
