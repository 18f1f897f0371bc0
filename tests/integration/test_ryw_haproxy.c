/* test_ryw_haproxy.c: read-your-writes through HAProxy, end to end
 * (issue 16, "Proven against running processes").
 *
 * replguard-simnode (a primary and two replicas, replication delayed
 * 5 ms), replguard polling every 50 ms, and HAProxy with the
 * read_your_writes frontend of contrib/haproxy/read-preferences.cfg (the
 * servers checked with /health/read/c1/<node>?preference=any every
 * 100 ms; a read goes to the node its X-Read-Node header names while that
 * node passes, else to the primary). Four client threads run 10,000
 * operations in all, each:
 *
 *   POST /v1/write on the primary             -> position P
 *   GET /route/c1?preference=any&min_position=P&wait=200ms on replguard
 *   GET /v1/read?position=P through HAProxy, X-Read-Node: the first node
 *
 * while a fault thread makes node2 stall and node3 apply slowly, in
 * turns, and recover. A read that does not have P ({"has": false}) is a
 * miss: there must be none. The counts (reads per node, mean operation
 * time) are printed.
 *
 * Then the strict bound (a fixture of its own): replguard polling every
 * 15 ms, HAProxy's read_secondary backend checking every 20 ms (check
 * timeout 20 ms) with /health/read/c1/<node>?preference=secondary&
 * hold=40ms, the primary as its backup server. hold makes replguard
 * answer 200 only for a replica whose lag cannot pass read_max_lag
 * (100 ms) before the next check's answer: its lag grows at most at
 * wall-clock rate from the last heartbeat it was seen to apply. 2,000
 * reads under the same faults; each read's answer carries the serving
 * node's exact lag as it was served (simnode's lag_seconds): none may
 * be above 100 ms, and the replicas must serve most reads (a bound that
 * sent everything to the primary would prove nothing). Skipped (exit
 * 77) without haproxy; not run under
 * valgrind (real time). */
#include <check.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_harness.h"
#include "test_support.h"
#include "lib/util.h"
#include "simnode_harness.h"

#define THREADS 4
#define OPS     10000

static struct simnode sn;
static struct agent ag;
/* the strict fixture's settings (setup_strict), else the RYW test's */
static bool strict;
static pid_t haproxy_pid = -1;
static char haproxy_url[64], secondary_url[64];
static char haproxy_bin[256];

static void write_config(void)
{
    struct buf b;
    buf_init(&b, 0);
    agent_yaml_head(&ag, &b, NULL,
                    strict ? "interval: 15ms, timeout: 10ms"
                           : "interval: 50ms, timeout: 40ms");
    buf_puts(&b, "  - name: c1\n"
                 "    thresholds: {read_max_lag: 100ms}\n"
                 "    nodes:\n");
    simnode_yaml_nodes(&sn, &b);
    agent_write(ag.cfg, b.data);
    buf_free(&b);
}

/* host_port: "127.0.0.1:PORT" of a node's URL. */
static const char *host_port(const char *url)
{
    return strstr(url, "//") + 2;
}

/* write_haproxy: the read_your_writes and read_secondary frontends and
 * backends of contrib/haproxy/read-preferences.cfg, on this run's ports
 * (port, port2). */
static void write_haproxy(const char *path, int port, int port2)
{
    const char *rg = host_port(ag.base);
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b,
               "defaults\n    mode http\n    timeout connect 2s\n"
               "    timeout client 30s\n    timeout server 30s\n"
               "    timeout check 500ms\n    retries 2\n"
               "    option redispatch\n"
               "    default-server inter 100ms fall 1 rise 2\n"
               "frontend read_your_writes\n    bind 127.0.0.1:%d\n"
               "    default_backend read_your_writes\n"
               "backend read_your_writes\n    option httpchk\n"
               "    http-check connect addr %.*s port %s\n"
               "    http-check send meth GET uri-lf "
               "/health/read/c1/%%[srv_name]?preference=any\n"
               "    http-check expect status 200\n"
               "    use-server node2 if { req.hdr(x-read-node) -m str node2 }\n"
               "    use-server node3 if { req.hdr(x-read-node) -m str node3 }\n"
               "    server node1 %s check\n"
               "    server node2 %s check weight 0\n"
               "    server node3 %s check weight 0\n",
               port, (int)(strchr(rg, ':') - rg), rg, strchr(rg, ':') + 1,
               host_port(simnode_url(&sn, "node1")),
               host_port(simnode_url(&sn, "node2")),
               host_port(simnode_url(&sn, "node3")));
    /* strict: checks every 20 ms with a 20 ms timeout, so an answer is
     * relied on for at most 40 ms: hold=40ms; the primary serves when no
     * replica passes */
    buf_printf(&b,
               "frontend read_secondary\n    bind 127.0.0.1:%d\n"
               "    default_backend read_secondary\n"
               "backend read_secondary\n    balance roundrobin\n"
               "    option httpchk\n%s"
               "    http-check connect addr %.*s port %s\n"
               "    http-check send meth GET uri-lf "
               "/health/read/c1/%%[srv_name]?preference=secondary%s\n"
               "    http-check expect status 200\n"
               "    server node1 %s backup\n"
               "    server node2 %s check\n"
               "    server node3 %s check\n",
               port2,
               strict ? "    timeout check 20ms\n"
                        "    default-server inter 20ms fall 1 rise 2\n"
                      : "",
               (int)(strchr(rg, ':') - rg), rg, strchr(rg, ':') + 1,
               strict ? "&hold=40ms" : "", host_port(simnode_url(&sn, "node1")),
               host_port(simnode_url(&sn, "node2")),
               host_port(simnode_url(&sn, "node3")));
    agent_write(path, b.data);
    buf_free(&b);
}

static bool find_haproxy(void)
{
    const char *env = getenv("HAPROXY");
    const char *cands[] = {env, "/usr/sbin/haproxy", "/usr/local/sbin/haproxy",
                           "/usr/bin/haproxy"};
    for (size_t i = 0; i < ARRAY_LEN(cands); i++)
        if (cands[i] && access(cands[i], X_OK) == 0) {
            snprintf(haproxy_bin, sizeof(haproxy_bin), "%s", cands[i]);
            return true;
        }
    return false;
}

static void start_haproxy(void)
{
    char cfg[128];
    int port = loopback_port(), port2 = loopback_port();
    while (port2 == port)
        port2 = loopback_port();
    snprintf(cfg, sizeof(cfg), "%s/haproxy.cfg", ag.dir);
    write_haproxy(cfg, port, port2);
    snprintf(haproxy_url, sizeof(haproxy_url), "http://127.0.0.1:%d", port);
    snprintf(secondary_url, sizeof(secondary_url), "http://127.0.0.1:%d",
             port2);
    pid_t parent = getpid();
    haproxy_pid = fork();
    ck_assert_int_ge(haproxy_pid, 0);
    if (haproxy_pid == 0) {
        const char *argv[] = {haproxy_bin, "-db", "-q", "-f", cfg, NULL};
        exec_child(parent, -1, argv);
    }
}

static void setup(void)
{
    static const char *const args[] = {"--nodes",
                                       "3",
                                       "--ingest-rate",
                                       "1000",
                                       "--apply-rate",
                                       "5000",
                                       "--link-delay",
                                       "5ms",
                                       NULL};
    agent_setup(&ag, &sn, args);
    write_config();
    agent_start(&ag);
    start_haproxy();
}

static void setup_strict(void)
{
    strict = true;
    setup();
}

static void teardown(void)
{
    if (haproxy_pid > 0)
        reap(haproxy_pid);
    haproxy_pid = -1;
    agent_teardown(&ag, &sn);
}

/* --- the clients ------------------------------------------------------- */

static size_t sink(char *p, size_t size, size_t n, void *arg)
{
    buf_append(arg, p, size * n);
    return size * n;
}

/* fetch: one request on h (kept alive between calls): a POST of body,
 * or a GET; header may add one line. The status (0: transport error),
 * the body in out. */
static long fetch(CURL *h, const char *url, const char *body,
                  const char *header, struct buf *out)
{
    struct curl_slist *hs = NULL;
    long status = 0;
    buf_reset(out);
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    if (body) {
        hs = curl_slist_append(hs, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    }
    if (header)
        hs = curl_slist_append(hs, header);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hs);
    buf_append(out, "", 1); /* NUL-terminated for cJSON */
    return status;
}

/* What the clients count. */
static atomic_uint ops, misses, errors, by_node[4], via_route_primary;
static atomic_bool faults_stop;
/* errors by step (the write, the route, the read), and the first one's
 * answer, for the report */
static atomic_uint err_at[3];
static atomic_flag first_noted = ATOMIC_FLAG_INIT;
static char first_error[200];

/* step_failed: counts a failed step of an operation; returns false. */
static bool step_failed(int step, long status, const struct buf *b)
{
    err_at[step]++;
    if (!atomic_flag_test_and_set(&first_noted))
        snprintf(first_error, sizeof(first_error), "step %d: HTTP %ld %.120s",
                 step, status, b->data ? b->data : "");
    return false;
}

/* json_u64, json_str: a member of the JSON text t. */
static bool json_u64(const char *t, const char *key, uint64_t *out)
{
    cJSON *o = cJSON_Parse(t);
    const cJSON *v = cJSON_GetObjectItem(o, key);
    bool ok = cJSON_IsNumber(v) && v->valuedouble >= 0;
    if (ok)
        *out = (uint64_t)v->valuedouble;
    cJSON_Delete(o);
    return ok;
}

/* one_op: write, route, read; false on an error (counted). */
static bool one_op(CURL *h[3], struct buf *b, const char *write_url)
{
    char url[256], hdr[64] = "X-Read-Node: none";
    uint64_t p;
    long st = fetch(h[0], write_url, "{\"count\":1}", NULL, b);
    if (st != 200 || !json_u64(b->data, "position", &p))
        return step_failed(0, st, b);
    snprintf(url, sizeof(url),
             "%s/route/c1?preference=any&min_position=%llu&wait=200ms", ag.base,
             (unsigned long long)p);
    if ((st = fetch(h[1], url, NULL, NULL, b)) != 200)
        return step_failed(1, st, b);
    cJSON *o = cJSON_Parse(b->data);
    const char *first = cJSON_GetStringValue(cJSON_GetObjectItem(
        cJSON_GetArrayItem(cJSON_GetObjectItem(o, "nodes"), 0), "name"));
    if (first)
        snprintf(hdr, sizeof(hdr), "X-Read-Node: %s", first);
    if (first && strcmp(first, "node1") == 0)
        via_route_primary++;
    cJSON_Delete(o);
    snprintf(url, sizeof(url), "%s/v1/read?position=%llu", haproxy_url,
             (unsigned long long)p);
    if ((st = fetch(h[2], url, NULL, hdr, b)) != 200)
        return step_failed(2, st, b);
    o = cJSON_Parse(b->data);
    const char *node = cJSON_GetStringValue(cJSON_GetObjectItem(o, "node"));
    bool has = cJSON_IsTrue(cJSON_GetObjectItem(o, "has"));
    if (node && strlen(node) == 5 && node[4] >= '1' && node[4] <= '3')
        by_node[node[4] - '0']++;
    cJSON_Delete(o);
    if (!has)
        misses++;
    return true;
}

static void *client(void *arg)
{
    int n = *(int *)arg;
    CURL *h[3] = {curl_easy_init(), curl_easy_init(), curl_easy_init()};
    struct buf b;
    char write_url[128];
    buf_init(&b, 0);
    snprintf(write_url, sizeof(write_url), "%s/v1/write",
             simnode_url(&sn, "node1"));
    for (int i = 0; i < n; i++) {
        if (!one_op(h, &b, write_url))
            errors++;
        ops++;
    }
    buf_free(&b);
    for (int i = 0; i < 3; i++)
        curl_easy_cleanup(h[i]);
    return NULL;
}

/* faulter: node2 stalls 400 ms, node3 applies at a twentieth for 400 ms,
 * in turns, each followed by 600 ms to recover. */
static void *faulter(void *arg)
{
    (void)arg;
    static const char *const f[] = {
        "{\"node\":\"node2\",\"kind\":\"stall\",\"duration\":\"400ms\"}",
        "{\"node\":\"node3\",\"kind\":\"slow_apply\",\"factor\":0.05,"
        "\"duration\":\"400ms\"}"};
    for (unsigned i = 0; !atomic_load(&faults_stop); i++) {
        call(simnode_url(&sn, "node1"), "POST", "/v1/sim/fault", f[i % 2]);
        for (int k = 0; k < 10 && !atomic_load(&faults_stop); k++)
            sleep_ms(100);
    }
    return NULL;
}

/* haproxy_ready: a read naming node2 lands on node2 (its check passes). */
static bool haproxy_ready(void)
{
    struct resp r;
    struct opts o = {.header = "X-Read-Node: node2", .timeout_ms = 1000};
    char url[128];
    snprintf(url, sizeof(url), "%s/v1/read?position=1", haproxy_url);
    http(url, &o, &r);
    bool ok = r.status == 200 && r.body.data &&
              strstr(r.body.data, "\"node\":\"node2\"");
    buf_free(&r.body);
    return ok;
}

START_TEST(ten_thousand_reads_never_miss_a_write)
{
    double until = now_s() + 20 * wait_scale();
    while (!haproxy_ready() && now_s() < until)
        sleep_ms(100);
    ck_assert_msg(haproxy_ready(), "haproxy does not route to node2");

    pthread_t th[THREADS], ft;
    int per = OPS / THREADS;
    double t0 = now_s();
    ck_assert_int_eq(pthread_create(&ft, NULL, faulter, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, client, &per), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    atomic_store(&faults_stop, true);
    pthread_join(ft, NULL);
    double secs = now_s() - t0;
    unsigned n_ops = atomic_load(&ops), n_miss = atomic_load(&misses),
             n_err = atomic_load(&errors);
    printf("read-your-writes through haproxy: %u operations in %.1fs "
           "(%.1f ms each, %d clients), %u misses, %u errors; reads served "
           "by node1 %u, node2 %u, node3 %u; route chose the primary %u "
           "times\n",
           atomic_load(&ops), secs, secs * 1000 * THREADS / OPS, THREADS,
           atomic_load(&misses), atomic_load(&errors), atomic_load(&by_node[1]),
           atomic_load(&by_node[2]), atomic_load(&by_node[3]),
           atomic_load(&via_route_primary));
    if (n_err)
        printf("errors by step: write %u, route %u, read %u; the first: %s\n",
               atomic_load(&err_at[0]), atomic_load(&err_at[1]),
               atomic_load(&err_at[2]), first_error);
    fflush(stdout);
    ck_assert_uint_eq(n_ops, OPS);
    ck_assert_uint_eq(n_err, 0);
    ck_assert_uint_eq(n_miss, 0);
    /* the replicas served, each of them, not only the primary */
    ck_assert_uint_gt(atomic_load(&by_node[2]), OPS / 10);
    ck_assert_uint_gt(atomic_load(&by_node[3]), OPS / 10);
}
END_TEST

/* served_lag: one read through read_secondary: the serving node's lag
 * as the read was served, in seconds (-1: no read); *node gets its
 * number (1-3, 0 if unknown). */
static double served_lag(CURL *h, struct buf *b, int *node)
{
    char url[160];
    snprintf(url, sizeof(url), "%s/v1/read?position=1", secondary_url);
    *node = 0;
    if (fetch(h, url, NULL, NULL, b) != 200)
        return -1;
    cJSON *o = cJSON_Parse(b->data);
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(o, "node"));
    const cJSON *lag = cJSON_GetObjectItem(o, "lag_seconds");
    if (name && strlen(name) == 5 && name[4] >= '1' && name[4] <= '3')
        *node = name[4] - '0';
    double v = cJSON_IsNumber(lag) ? lag->valuedouble : -1;
    cJSON_Delete(o);
    return v;
}

START_TEST(secondary_reads_stay_within_the_lag_bound)
{
    double until = now_s() + 20 * wait_scale();
    while (!haproxy_ready() && now_s() < until)
        sleep_ms(100);
    CURL *h = curl_easy_init();
    struct buf b;
    buf_init(&b, 0);
    pthread_t ft;
    unsigned reads = 0, none = 0, served[4] = {0};
    unsigned over[4] = {0}; /* > 25, 50, 75, 100 ms */
    double worst = 0;
    ck_assert_int_eq(pthread_create(&ft, NULL, faulter, NULL), 0);
    for (int i = 0; i < 2000; i++) {
        int node;
        double lag = served_lag(h, &b, &node);
        if (lag < 0) {
            none++;
            continue;
        }
        reads++;
        served[node]++;
        worst = lag > worst ? lag : worst;
        for (int k = 0; k < 4; k++)
            over[k] += lag > 0.025 * (k + 1);
    }
    atomic_store(&faults_stop, true);
    pthread_join(ft, NULL);
    buf_free(&b);
    curl_easy_cleanup(h);
    printf("reads through read_secondary (read_max_lag 100ms, poll 15ms, "
           "check 20ms, hold=40ms): %u served (node1 %u, node2 %u, node3 "
           "%u), %u refused; lag at the read: max %.3fs, over 25ms %u, "
           "over 50ms %u, over 75ms %u, over 100ms %u\n",
           reads, served[1], served[2], served[3], none, worst, over[0],
           over[1], over[2], over[3]);
    fflush(stdout);
    ck_assert_uint_eq(none, 0);
    ck_assert_uint_gt(served[2] + served[3], reads / 2);
    ck_assert_msg(worst <= 0.1, "a read reached a replica %.3fs behind", worst);
}
END_TEST

int main(void)
{
    if (!find_haproxy()) {
        puts("test_ryw_haproxy: SKIP: no haproxy");
        return 77;
    }
    Suite *s = suite_create("ryw_haproxy");
    TCase *tc = tcase_create("e2e");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600 * wait_scale());
    tcase_add_test(tc, ten_thousand_reads_never_miss_a_write);
    suite_add_tcase(s, tc);
    TCase *st = tcase_create("strict");
    tcase_add_checked_fixture(st, setup_strict, teardown);
    tcase_set_timeout(st, 600 * wait_scale());
    tcase_add_test(st, secondary_reads_stay_within_the_lag_bound);
    suite_add_tcase(s, st);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
