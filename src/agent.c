/* agent.c: wiring the snapshot box, the HTTP server and the engine, and
 * the signal loop (sigwait in the main thread: no async handlers). */
#include "agent.h"

#include "config.h"
#include "engine.h"
#include "httpd.h"
#include "log.h"
#include "snapshot.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>

static void signal_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
}

void agent_block_signals(void)
{
    sigset_t set;
    signal_set(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* reload: loads the config again; an invalid one is logged, error by
 * error, and the running one kept. */
static void reload(struct engine *e, const struct agent_options *o)
{
    if (!o->config_path) {
        log_msg(LOG_INFO, "msg=\"SIGHUP ignored: no config file\"");
        return;
    }
    struct config *cfg = NULL;
    struct config_errors errs;
    config_errors_init(&errs);
    if (config_load(o->config_path, &cfg, &errs) != 0) {
        char q[512];
        for (size_t i = 0; i < errs.n; i++)
            log_msg(LOG_ERROR, "msg=\"config error\" error=%s",
                    log_quote(q, sizeof(q), errs.msg[i]));
        log_msg(LOG_ERROR,
                "msg=\"reload refused, keeping the running "
                "config\" errors=%zu",
                errs.n);
        config_errors_reset(&errs);
        return;
    }
    config_errors_reset(&errs);
    if (o->force_dry_run)
        cfg->dry_run = true;
    engine_reload(e, cfg);
}

static void wait_for_stop(struct engine *e, const struct agent_options *o)
{
    sigset_t set;
    signal_set(&set);
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            log_msg(LOG_INFO, "msg=\"SIGHUP: reloading config\"");
            reload(e, o);
            continue;
        }
        log_msg(LOG_INFO, "msg=\"stopping\" signal=%s",
                sig == SIGINT ? "SIGINT" : "SIGTERM");
        return;
    }
}

int agent_run(struct config *cfg, const struct agent_options *o)
{
    if (o->force_dry_run)
        cfg->dry_run = true;
    struct snapbox box;
    snapbox_init(&box);
    struct httpd_options ho = {.host = cfg->listen_host,
                               .port = cfg->listen_port};
    char err[256];
    struct httpd *h = httpd_start(&ho, &box, err, sizeof(err));
    if (!h) {
        log_msg(LOG_ERROR, "msg=\"cannot serve HTTP\" listen=%s:%u error=%s",
                cfg->listen_host, cfg->listen_port, err);
        config_free(cfg);
        snapbox_destroy(&box);
        return 1;
    }
    log_msg(LOG_INFO,
            "msg=\"replguard started\" version=%s listen=http://%s:%u "
            "clusters=%zu nodes=%zu dry_run=%d",
            PACKAGE_VERSION, cfg->listen_host, httpd_port(h), cfg->n_clusters,
            config_node_count(cfg), cfg->dry_run);
    struct rg_clock clock = clock_system();
    struct engine *e = engine_new(cfg, &box, &clock);
    int rc = engine_start(e);
    if (rc < 0) {
        log_msg(LOG_ERROR, "msg=\"cannot start the engine\" errno=%d", -rc);
    } else {
        wait_for_stop(e, o);
    }
    engine_free(e);
    httpd_stop(h);
    snapbox_destroy(&box);
    log_msg(LOG_INFO, "msg=\"stopped\"");
    return rc < 0 ? 1 : 0;
}
