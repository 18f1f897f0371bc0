/* demo.c: the embedded cluster, the agent's config for it, and the fault
 * episodes that the runbooks repair.
 *
 * The simulated cluster runs its own single-threaded loop (simhttp) in a
 * second thread; the agent talks to it over loopback HTTP exactly as to
 * real nodes, and so does the episode thread that injects faults. Every
 * remediation decision reaches the terminal through demofeed. */
#include "demo/demo.h"

#include "demo/demofeed.h"
#include "demo/demopage.h"
#include "demo/demostack.h"
#include "demo/demostate.h"

#include "agent/agent.h"
#include "lib/clock.h"
#include "config/config.h"
#include "lib/log.h"
#include "sim/sim.h"
#include "sim/simhttp.h"
#include "lib/util.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEMO_NODES    4
#define EPISODE_FIRST 20  /* seconds after start */
#define EPISODE_EVERY 120 /* seconds between episodes */

struct demo {
    const struct demo_options *opt;
    char dir[512];
    struct demostack_ports ports;
    unsigned sim_port;
    int first, every;
    struct sim *sim;
    struct simhttp *http;
    struct demostack *stack;
    pthread_t sim_thread, episode_thread;
    volatile sig_atomic_t sim_stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping;
    char node1[128];
    double limit;         /* node1's ingest limit as last printed; 0: none */
    struct demopage page; /* the escalation in Alertmanager */
};

/* One episode: what the terminal is told, and the faults injected. */
struct episode {
    const char *what;
    const char *faults[4];
};

static const struct episode episodes[] = {
    {"node2: a circuit breaker trips and blocks its replication; lag "
     "alerts fire, the runbook resets the breaker",
     {"{\"node\": \"node2\", \"kind\": \"trip_breaker\", "
      "\"agent_id\": \"ingest-7\"}"}},
    {"node3: 3 Merkle buckets diverge from the primary; MerkleDivergence "
     "fires, the runbook forces a sync that repairs them",
     {"{\"node\": \"node3\", \"kind\": \"diverge\", \"buckets\": 3}"}},
    {"node1: an ingest burst (4000/s for 40 s) that node2 and node3 cannot "
     "follow; the runbook throttles the primary, then restores it step "
     "by step",
     {"{\"node\": \"node1\", \"kind\": \"ingest_burst\", \"rate\": 4000, "
      "\"duration\": \"40s\"}",
      "{\"node\": \"node2\", \"kind\": \"slow_apply\", \"factor\": 0.4, "
      "\"duration\": \"40s\"}",
      "{\"node\": \"node3\", \"kind\": \"slow_apply\", \"factor\": 0.4, "
      "\"duration\": \"40s\"}"}},
    {"node1: an ingest burst (4000/s for 40 s) that no replica can follow; "
     "the runbook pages a human through Alertmanager AND throttles the "
     "primary (throttle is reversible: the page latches only the risky "
     "steps)",
     {"{\"node\": \"node1\", \"kind\": \"ingest_burst\", \"rate\": 4000, "
      "\"duration\": \"40s\"}",
      "{\"node\": \"node2\", \"kind\": \"slow_apply\", \"factor\": 0.4, "
      "\"duration\": \"40s\"}",
      "{\"node\": \"node3\", \"kind\": \"slow_apply\", \"factor\": 0.4, "
      "\"duration\": \"40s\"}",
      "{\"node\": \"node4\", \"kind\": \"slow_apply\", \"factor\": 0.4, "
      "\"duration\": \"40s\"}"}},
};

static void *sim_main(void *arg)
{
    struct demo *d = arg;
    simhttp_run(d->http, &d->sim_stop);
    return NULL;
}

/* discard: the fault API's answer is not shown. */
static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

/* inject: POSTs one fault to the simulated cluster. */
static void inject(const struct demo *d, const char *json)
{
    char url[192];
    snprintf(url, sizeof(url), "%s/v1/sim/fault", d->node1);
    CURL *c = curl_easy_init();
    if (!c)
        return;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_PROXY, ""); /* loopback: never a proxy */
    long code = 0;
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    if (rc != CURLE_OK || code != 200)
        log_msg(LOG_WARN,
                "msg=\"demo: fault injection failed\" error=\"%s\" code=%ld",
                curl_easy_strerror(rc), code);
    curl_easy_cleanup(c);
}

static size_t keep(char *p, size_t size, size_t n, void *ud)
{
    return buf_append(ud, p, size * n) == 0 ? size * n : 0;
}

/* ingest_limit: node1's rate limit from its /metrics; -1 when unknown. */
static double ingest_limit(const struct demo *d)
{
    static const char name[] = "\nstemedb_rate_limit_assertions_per_second ";
    char url[192];
    snprintf(url, sizeof(url), "%s/metrics", d->node1);
    CURL *c = curl_easy_init();
    struct buf b;
    buf_init(&b, 1 << 20);
    double v = -1;
    if (!c)
        return v;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 800L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (curl_easy_perform(c) == CURLE_OK && buf_puts(&b, "") == 0) {
        const char *p = strstr(b.data, name);
        if (p && sscanf(p + strlen(name), "%lf", &v) != 1)
            v = -1;
    }
    curl_easy_cleanup(c);
    buf_free(&b);
    return v;
}

/* show_limit: prints node1's ingest limit when it changed, so that the
 * throttle and each step of its restore ramp are seen as they happen. */
static void show_limit(struct demo *d)
{
    double v = ingest_limit(d);
    if (v < 0 || v == d->limit)
        return;
    if (v > 0)
        printf("demo: node1's ingest limit is now %.0f/s\n", v);
    else
        printf("demo: node1's ingest limit is removed\n");
    fflush(stdout);
    d->limit = v;
}

/* sleep_until_stop: waits secs or until the demo stops; true if it
 * stopped. */
static bool sleep_until_stop(struct demo *d, int secs)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += secs;
    pthread_mutex_lock(&d->mu);
    while (!d->stopping &&
           pthread_cond_timedwait(&d->cv, &d->mu, &until) != ETIMEDOUT)
        ;
    bool stopped = d->stopping;
    pthread_mutex_unlock(&d->mu);
    return stopped;
}

static void run_episode(const struct demo *d, unsigned k)
{
    const struct episode *e = &episodes[k % ARRAY_LEN(episodes)];
    printf("demo: episode %u: %s\n", k + 1, e->what);
    fflush(stdout);
    log_msg(LOG_INFO, "msg=\"demo: episode\" cluster=demo n=%u next_in=%ds",
            k + 1, d->every);
    for (size_t i = 0; i < ARRAY_LEN(e->faults) && e->faults[i]; i++)
        inject(d, e->faults[i]);
}

/* episode_main: an episode every EPISODE_EVERY s; every second, checks
 * that Prometheus and Alertmanager still run. */
static void *episode_main(void *arg)
{
    struct demo *d = arg;
    int wait = d->first;
    unsigned k = 0;
    while (!sleep_until_stop(d, 1)) {
        demostack_check(d->stack);
        show_limit(d);
        if (d->stack) {
            struct rg_clock c = clock_system();
            demopage_check(&d->page, clock_mono(&c));
        }
        if (--wait > 0)
            continue;
        run_episode(d, k++);
        wait = d->every;
    }
    return NULL;
}

static struct config *demo_config(struct demo *d)
{
    struct buf y;
    buf_init(&y, 0);
    buf_printf(&y,
               "listen: \"127.0.0.1:%u\"\n"
               "state_dir: %s\n"
               "audit_log: %s/audit.jsonl\n"
               "rules: \"%s/rules\"\n"
               "poll: {interval: 1s, timeout: 800ms, merkle_interval: 5s}\n"
               "escalation:\n"
               "  alertmanager_url: \"http://127.0.0.1:%u\"\n"
               "  labels: {severity: page}\n"
               "  repost_interval: 10s\n"
               "clusters:\n"
               "  - name: demo\n"
               "    throttle: {floor: 100, restore_interval: 10s,\n"
               "               restore_steps: [1000, 2000, 3000, 4000]}\n"
               "    nodes:\n",
               d->ports.replguard, d->dir, d->dir, d->dir,
               d->ports.alertmanager);
    for (unsigned ni = 0; ni < sim_nodes(d->sim); ni++) {
        char url[128];
        simhttp_url(d->http, 0, ni, url, sizeof(url));
        buf_printf(&y, "      - {name: %s, url: \"%s\", role: %s}\n",
                   sim_node_name(d->sim, 0, ni), url,
                   ni == 0 ? "primary" : "replica");
    }
    struct config *cfg = NULL;
    struct errlist errs;
    errlist_init(&errs);
    if (config_load_string("demo", y.data, y.len, &cfg, &errs) != 0) {
        for (size_t i = 0; i < errs.n; i++)
            log_msg(LOG_ERROR, "msg=\"demo config\" error=\"%s\"", errs.msg[i]);
        cfg = NULL;
    }
    errlist_reset(&errs);
    buf_free(&y);
    return cfg;
}

static int start_cluster(struct demo *d)
{
    struct sim_options o;
    sim_options_default(&o);
    o.nodes = DEMO_NODES;
    o.name = "demo";
    struct rg_clock clock = clock_system();
    char err[256];
    d->sim = sim_new(&o, &clock, err, sizeof(err));
    if (d->sim)
        d->http =
            simhttp_new(d->sim, "127.0.0.1", d->sim_port, err, sizeof(err));
    if (!d->sim || !d->http) {
        log_msg(LOG_ERROR,
                "msg=\"demo: cannot start the cluster\" error=\"%s\"", err);
        return -1;
    }
    simhttp_url(d->http, 0, 0, d->node1, sizeof(d->node1));
    if (pthread_create(&d->sim_thread, NULL, sim_main, d) != 0)
        return -1;
    return 0;
}

/* settings: the state dir and ports, from the environment or the
 * defaults. Returns 0 or -1 (reported) for a malformed value. */
static int settings(struct demo *d)
{
    const char *dir = getenv("REPLGUARD_DEMO_DIR");
    const char *ports = getenv("REPLGUARD_DEMO_PORTS");
    const char *first = getenv("REPLGUARD_DEMO_FIRST");
    const char *every = getenv("REPLGUARD_DEMO_EVERY");
    snprintf(d->dir, sizeof(d->dir), "%s", dir && *dir ? dir : DEMO_DIR);
    d->ports = (struct demostack_ports){9650, DEMO_PROMETHEUS_PORT,
                                        DEMO_ALERTMANAGER_PORT};
    d->sim_port = 18180;
    d->first = EPISODE_FIRST;
    d->every = EPISODE_EVERY;
    char extra;
    if (ports &&
        sscanf(ports, "%u,%u,%u,%u%c", &d->ports.replguard, &d->sim_port,
               &d->ports.prometheus, &d->ports.alertmanager, &extra) != 4) {
        fprintf(stderr, "replguard demo: REPLGUARD_DEMO_PORTS must be "
                        "LISTEN,SIM,PROMETHEUS,ALERTMANAGER\n");
        return -1;
    }
    if ((first &&
         (sscanf(first, "%d%c", &d->first, &extra) != 1 || d->first < 1)) ||
        (every &&
         (sscanf(every, "%d%c", &d->every, &extra) != 1 || d->every < 1))) {
        fprintf(stderr, "replguard demo: REPLGUARD_DEMO_FIRST and _EVERY "
                        "must be numbers of seconds\n");
        return -1;
    }
    return 0;
}

/* prepare: a clean state dir (unless kept) and the demo's runbooks. */
static int prepare(struct demo *d)
{
    char err[1024], rules[1024];
    snprintf(rules, sizeof(rules), "%s/rules", demostate_share());
    if (demostate_prepare(d->dir, d->opt->keep_state, err, sizeof(err)) < 0 ||
        demostate_rules(rules, d->dir, err, sizeof(err)) < 0) {
        fprintf(stderr, "replguard demo: %s\n", err);
        return -1;
    }
    return 0;
}

static void banner(const struct demo *d)
{
    printf("replguard demo: a simulated %d-node StemeDB cluster \"demo\" "
           "on %s..\n"
           "  metrics:      http://127.0.0.1:%u/metrics\n"
           "  state:        http://127.0.0.1:%u/api/v1/state\n"
           "  read health:  http://127.0.0.1:%u/health/replica/demo/node2\n"
           "  state dir:    %s (%s; audit.jsonl, journal, logs)\n"
           "Every %d s (the first after %d s) a fault episode: a tripped "
           "breaker,\na diverged replica, an ingest burst, a burst no "
           "replica follows (a page), in turn. "
           "Ctrl-C stops everything.\n%s%s",
           DEMO_NODES, d->node1, d->ports.replguard, d->ports.replguard,
           d->ports.replguard, d->dir,
           d->opt->keep_state ? "kept from the last run" : "emptied at start",
           d->every, d->first,
           d->stack
               ? "With the shipped alerts and runbooks (cooldown " DEMO_COOLDOWN
                 "): alerts fire, Alertmanager calls\n"
                 "the webhook, replguard acts; each decision is "
                 "printed below as it is taken:\n"
               : "No Prometheus and Alertmanager: no alert fires and "
                 "nothing is remediated\n(install prometheus and "
                 "prometheus-alertmanager for the alert loop).\n",
           demostack_banner(d->stack));
    fflush(stdout);
}

static void stop_episodes(struct demo *d)
{
    pthread_mutex_lock(&d->mu);
    d->stopping = true;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->episode_thread, NULL);
}

/* run_agent: the monitoring stack, the banner, the episodes and the
 * agent until Ctrl-C. */
static int run_agent(struct demo *d, struct config *cfg)
{
    const char *urls[DEMO_NODES];
    char url_buf[DEMO_NODES][128];
    for (unsigned i = 0; i < DEMO_NODES; i++)
        urls[i] = simhttp_url(d->http, 0, i, url_buf[i], sizeof(url_buf[i]));
    d->stack =
        demostack_start(d->dir, demostate_share(), urls, DEMO_NODES, &d->ports);
    banner(d);
    d->page.am_port = d->ports.alertmanager;
    d->page.rg_port = d->ports.replguard;
    char audit[1024];
    snprintf(audit, sizeof(audit), "%s/audit.jsonl", d->dir);
    struct demofeed *feed = demofeed_start(audit, stdout);
    pthread_create(&d->episode_thread, NULL, episode_main, d);
    struct agent_options o = {.config_path = NULL,
                              .force_dry_run = d->opt->dry_run};
    int rc = agent_run(cfg, &o);
    stop_episodes(d);
    demofeed_stop(feed);
    demostack_stop(d->stack);
    return rc;
}

int demo_run(const struct demo_options *opt)
{
    struct demo d;
    memset(&d, 0, sizeof(d));
    d.opt = opt;
    pthread_mutex_init(&d.mu, NULL);
    pthread_cond_init(&d.cv, NULL);
    int rc = 1;
    if (settings(&d) < 0 || prepare(&d) < 0 || start_cluster(&d) < 0)
        goto out;
    struct config *cfg = demo_config(&d);
    if (cfg)
        rc = run_agent(&d, cfg);
    d.sim_stop = 1;
    simhttp_stop(d.http);
    pthread_join(d.sim_thread, NULL);
out:
    simhttp_free(d.http);
    sim_free(d.sim);
    pthread_cond_destroy(&d.cv);
    pthread_mutex_destroy(&d.mu);
    return rc;
}
