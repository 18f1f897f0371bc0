/* demo.c: the embedded cluster, the agent's config for it, and the lag
 * episodes.
 *
 * The simulated cluster runs its own single-threaded loop (simhttp) in a
 * second thread; the agent talks to it over loopback HTTP exactly as to
 * real nodes, and so does the episode thread that injects faults. */
#include "demo.h"

#include "demostack.h"

#include "agent.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "sim.h"
#include "simhttp.h"
#include "util.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define DEMO_SIM_PORT    18180
#define DEMO_LISTEN_PORT 9650
#define DEMO_DIR         "/tmp/replguard-demo"
#define EPISODE_FIRST    20  /* seconds after start */
#define EPISODE_EVERY    180 /* seconds between episodes */
#define EPISODE_LENGTH   45  /* seconds of slow apply */

struct demo {
    struct sim *sim;
    struct simhttp *http;
    pthread_t sim_thread, episode_thread;
    volatile sig_atomic_t sim_stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping;
    char node1[128];
};

static void *sim_main(void *arg)
{
    struct demo *d = arg;
    simhttp_run(d->http, &d->sim_stop);
    return NULL;
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
    curl_easy_setopt(c, CURLOPT_PROXY, ""); /* loopback: never a proxy */
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        log_msg(LOG_WARN, "msg=\"demo: fault injection failed\" error=\"%s\"",
                curl_easy_strerror(rc));
    curl_easy_cleanup(c);
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

static void *episode_main(void *arg)
{
    struct demo *d = arg;
    int wait = EPISODE_FIRST;
    while (!sleep_until_stop(d, wait)) {
        char json[160];
        snprintf(json, sizeof(json),
                 "{\"node\": \"node2\", \"kind\": \"slow_apply\", "
                 "\"factor\": 0.05, \"duration\": \"%ds\"}",
                 EPISODE_LENGTH);
        log_msg(LOG_INFO,
                "msg=\"demo: lag episode: node2 applies at 5%% speed\" "
                "duration=%ds next_in=%ds",
                EPISODE_LENGTH, EPISODE_EVERY);
        inject(d, json);
        wait = EPISODE_EVERY;
    }
    return NULL;
}

static struct config *demo_config(struct demo *d)
{
    struct buf y;
    buf_init(&y, 0);
    buf_printf(&y,
               "listen: \"127.0.0.1:%d\"\n"
               "state_dir: %s\n"
               "audit_log: %s/audit.jsonl\n"
               "rules: \"%s/rules\"\n"
               "poll: {interval: 1s, timeout: 800ms}\n"
               "clusters:\n"
               "  - name: demo\n"
               "    nodes:\n",
               DEMO_LISTEN_PORT, DEMO_DIR, DEMO_DIR, REPLGUARD_SRCDIR);
    for (unsigned ni = 0; ni < sim_nodes(d->sim); ni++) {
        char url[128];
        simhttp_url(d->http, 0, ni, url, sizeof(url));
        buf_printf(&y, "      - {name: %s, url: \"%s\", role: %s}\n",
                   sim_node_name(d->sim, 0, ni), url,
                   ni == 0 ? "primary" : "replica");
    }
    struct config *cfg = NULL;
    struct config_errors errs;
    config_errors_init(&errs);
    if (config_load_string("demo", y.data, y.len, &cfg, &errs) != 0) {
        for (size_t i = 0; i < errs.n; i++)
            log_msg(LOG_ERROR, "msg=\"demo config\" error=\"%s\"", errs.msg[i]);
        cfg = NULL;
    }
    config_errors_reset(&errs);
    buf_free(&y);
    return cfg;
}

static int start_cluster(struct demo *d)
{
    struct sim_options o;
    sim_options_default(&o);
    struct rg_clock clock = clock_system();
    char err[256];
    d->sim = sim_new(&o, &clock, err, sizeof(err));
    if (d->sim)
        d->http =
            simhttp_new(d->sim, "127.0.0.1", DEMO_SIM_PORT, err, sizeof(err));
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

static void banner(const struct demo *d, const struct demostack *stack)
{
    printf("replguard demo: a simulated 3-node StemeDB cluster on %s..\n"
           "  metrics:      http://127.0.0.1:%d/metrics\n"
           "  state:        http://127.0.0.1:%d/api/v1/state\n"
           "  read health:  http://127.0.0.1:%d/health/replica/demo/node2\n"
           "  node2 itself: http://127.0.0.1:%d/metrics\n"
           "Every %d s node2 slows down for %d s: watch its lag, health and\n"
           "read rotation change. Ctrl-C stops everything.\n%s%s",
           d->node1, DEMO_LISTEN_PORT, DEMO_LISTEN_PORT, DEMO_LISTEN_PORT,
           DEMO_SIM_PORT + 1, EPISODE_EVERY, EPISODE_LENGTH,
           stack ? "With the shipped alerts and runbooks: alerts fire, "
                   "Alertmanager calls the webhook, replguard acts:\n"
                 : "(install prometheus and prometheus-alertmanager for the "
                   "alert loop)\n",
           demostack_banner(stack));
    fflush(stdout);
}

int demo_run(bool dry_run)
{
    struct demo d;
    memset(&d, 0, sizeof(d));
    pthread_mutex_init(&d.mu, NULL);
    pthread_cond_init(&d.cv, NULL);
    int rc = 1;
    if (start_cluster(&d) < 0)
        goto out;
    mkdir(DEMO_DIR, 0700);
    struct config *cfg = demo_config(&d);
    if (!cfg)
        goto stop_sim;
    const char *urls[8];
    char url_buf[8][128];
    unsigned n = sim_nodes(d.sim) < 8 ? sim_nodes(d.sim) : 8;
    for (unsigned i = 0; i < n; i++)
        urls[i] = simhttp_url(d.http, 0, i, url_buf[i], sizeof(url_buf[i]));
    struct demostack *stack =
        demostack_start(DEMO_DIR, REPLGUARD_SRCDIR, urls, n, DEMO_LISTEN_PORT);
    banner(&d, stack);
    pthread_create(&d.episode_thread, NULL, episode_main, &d);
    struct agent_options o = {.config_path = NULL, .force_dry_run = dry_run};
    rc = agent_run(cfg, &o);
    demostack_stop(stack);
    pthread_mutex_lock(&d.mu);
    d.stopping = true;
    pthread_cond_signal(&d.cv);
    pthread_mutex_unlock(&d.mu);
    pthread_join(d.episode_thread, NULL);
stop_sim:
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
