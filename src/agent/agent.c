/* agent.c: wiring the snapshot box, the HTTP server and the engine, and
 * the signal loop (sigwait in the main thread: no async handlers). */
#include "agent/agent.h"

#include "config/config.h"
#include "monitor/engine.h"
#include "serve/httpd.h"
#include "profiles/profile.h"
#include "lib/log.h"
#include "act/remedy.h"
#include "config/runbook.h"
#include "config/secrets.h"
#include "monitor/snapshot.h"
#include "lib/util.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static void log_errors(const struct errlist *errs);

/* check_secrets: the credential files are read at start only (the HTTP
 * server holds them); on a reload, says when cfg's differ from the
 * running ones, or could not be read: a restart applies them. */
static void check_secrets(const struct config *cfg,
                          const struct secrets *running)
{
    struct secrets now;
    char err[512], q[600];
    if (secrets_load(cfg, &now, err, sizeof(err)) < 0) {
        log_msg(LOG_ERROR,
                "msg=\"credential file unusable: still serving with the "
                "ones read at start, a restart would fail\" error=%s",
                log_quote(q, sizeof(q), err));
        return;
    }
    if (!secrets_equal(&now, running))
        log_msg(LOG_WARN, "msg=\"token or TLS files changed: restart "
                          "replguard to apply them; still serving with the "
                          "ones read at start\"");
    secrets_reset(&now);
}

/* reload: loads the config again; an invalid one is logged, error by
 * error, and the running one kept. */
static void reload(struct engine *e, const struct agent_options *o,
                   const struct secrets *running)
{
    if (!o->config_path) {
        log_msg(LOG_INFO, "msg=\"SIGHUP ignored: no config file\"");
        return;
    }
    struct config *cfg = NULL;
    struct errlist errs;
    errlist_init(&errs);
    if (config_load(o->config_path, &cfg, &errs) != 0) {
        char q[512];
        for (size_t i = 0; i < errs.n; i++)
            log_msg(LOG_ERROR, "msg=\"config error\" error=%s",
                    log_quote(q, sizeof(q), errs.msg[i]));
        log_msg(LOG_ERROR,
                "msg=\"reload refused, keeping the running "
                "config\" errors=%zu",
                errs.n);
        errlist_reset(&errs);
        return;
    }
    struct runbook_set *rules = NULL;
    if (agent_load_rules(cfg, &rules, &errs) != 0) {
        log_errors(&errs);
        log_msg(LOG_ERROR, "msg=\"reload refused, keeping the running "
                           "config and runbooks\"");
        errlist_reset(&errs);
        config_free(cfg);
        return;
    }
    errlist_reset(&errs);
    check_secrets(cfg, running);
    if (o->force_dry_run)
        cfg->dry_run = true;
    engine_reload(e, cfg);
    if (rules)
        engine_reload_rules(e, rules);
}

static void wait_for_stop(struct engine *e, const struct agent_options *o,
                          const struct secrets *running)
{
    sigset_t set;
    signal_set(&set);
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            log_msg(LOG_INFO, "msg=\"SIGHUP: reloading config\"");
            reload(e, o, running);
            continue;
        }
        log_msg(LOG_INFO, "msg=\"stopping\" signal=%s",
                sig == SIGINT ? "SIGINT" : "SIGTERM");
        return;
    }
}

int agent_load_rules(const struct config *cfg, struct runbook_set **out,
                     struct errlist *errs)
{
    struct stat st;
    *out = NULL;
    if (stat(cfg->rules, &st) < 0) {
        if (errno == ENOENT && strcmp(cfg->rules, AGENT_DEFAULT_RULES) == 0)
            return 0; /* no runbooks installed: watch only */
        config_key_error(cfg, errs, "rules", cfg->where_rules,
                         "cannot read %s: %s", cfg->rules, strerror(errno));
        return 1;
    }
    int n = runbook_load(cfg->rules, out, errs);
    if (n == 0 && (n = profile_check_rules(cfg, *out, errs)) > 0) {
        runbook_set_free(*out);
        *out = NULL;
    }
    return n;
}

/* parent_of: the directory holding path (heap), "." for a bare name. */
static char *parent_of(const char *path)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    while (n > 0 && path[n - 1] != '/')
        n--;
    while (n > 1 && path[n - 1] == '/')
        n--;
    return n == 0 ? xstrdup(".") : xstrndup(path, n);
}

/* dir_problem: why replguard could not create (when absent) or use the
 * directory dir, or NULL; *err the errno behind it, or 0. */
static const char *dir_problem(const char *dir, int *err)
{
    struct stat st;
    *err = 0;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return "exists and is not a directory";
        if (access(dir, R_OK | W_OK | X_OK) < 0) {
            *err = errno;
            return "is not writable";
        }
        return NULL;
    }
    *err = errno;
    if (errno != ENOENT)
        return "cannot be read";
    char *parent = parent_of(dir);
    const char *why = NULL;
    if (stat(parent, &st) < 0 || !S_ISDIR(st.st_mode))
        why = "cannot be created: its parent directory does not exist";
    else if (access(parent, W_OK | X_OK) < 0)
        why = "cannot be created: its parent directory is not writable";
    *err = 0;
    free(parent);
    return why;
}

int agent_check_state_dir(const struct config *cfg, struct errlist *errs)
{
    int err;
    const char *why = dir_problem(cfg->state_dir, &err);
    if (!why)
        return 0;
    config_key_error(cfg, errs, "state_dir", cfg->where_state_dir, "%s %s%s%s",
                     cfg->state_dir, why, err ? ": " : "",
                     err ? strerror(err) : "");
    return 1;
}

static void log_errors(const struct errlist *errs)
{
    char q[512];
    for (size_t i = 0; i < errs->n; i++)
        log_msg(LOG_ERROR, "msg=\"config error\" error=%s",
                log_quote(q, sizeof(q), errs->msg[i]));
}

/* The pieces of a running agent, torn down in reverse. */
struct agent {
    struct snapbox box;
    struct remedy *rem;
    struct engine *e;
    struct httpd *h;
    struct secrets sec; /* as read at start: reloads do not change them */
};

/* any_failover: whether some cluster of cfg has automatic failover. */
static bool any_failover(const struct config *cfg)
{
    for (size_t i = 0; i < cfg->n_clusters; i++)
        if (cfg->clusters[i].failover.enabled)
            return true;
    return false;
}

static int start_remediation(struct agent *a, struct config *cfg, char *err,
                             size_t errlen)
{
    struct runbook_set *rules = NULL;
    struct errlist errs;
    errlist_init(&errs);
    if (agent_load_rules(cfg, &rules, &errs) != 0) {
        log_errors(&errs);
        errlist_reset(&errs);
        snprintf(err, errlen, "the runbooks in %s have errors", cfg->rules);
        return -1;
    }
    /* failover needs the acting half (its journal, its audit) even
     * where no runbooks are installed */
    bool failover = any_failover(cfg);
    if ((rules || failover) && agent_check_state_dir(cfg, &errs) != 0) {
        log_errors(&errs);
        errlist_reset(&errs);
        runbook_set_free(rules);
        snprintf(err, errlen, "state_dir %s is unusable", cfg->state_dir);
        return -1;
    }
    errlist_reset(&errs);
    if (!rules && !failover) {
        log_msg(LOG_WARN, "msg=\"no runbooks: watching only\" rules=%s",
                cfg->rules);
        return 0;
    }
    if (!rules)
        log_msg(LOG_WARN, "msg=\"no runbooks: failover only\" rules=%s",
                cfg->rules);
    a->rem = remedy_open(cfg->state_dir, NULL, err, errlen);
    if (!a->rem) {
        runbook_set_free(rules);
        return -1;
    }
    return engine_attach(a->e, a->rem, rules, cfg->audit_log, err, errlen);
}

static int start(struct agent *a, struct config *cfg, char *err, size_t errlen)
{
    if (secrets_load(cfg, &a->sec, err, errlen) < 0)
        return -1;
    struct rg_clock clock = clock_system();
    a->e = engine_new(cfg, &a->box, &clock);
    if (start_remediation(a, cfg, err, errlen) < 0)
        return -1;
    struct httpd_options ho = {.host = cfg->listen_host,
                               .port = cfg->listen_port,
                               .rem = a->rem,
                               .token = a->sec.token,
                               .tls_cert = a->sec.cert,
                               .tls_key = a->sec.key};
    a->h = httpd_start(&ho, &a->box, err, errlen);
    if (!a->h)
        return -1;
    log_msg(LOG_INFO,
            "msg=\"replguard started\" version=%s listen=%s://%s:%u "
            "clusters=%zu nodes=%zu dry_run=%d remediation=%d",
            PACKAGE_VERSION, a->sec.cert ? "https" : "http", cfg->listen_host,
            httpd_port(a->h), cfg->n_clusters, config_node_count(cfg),
            cfg->dry_run, a->rem != NULL);
    int rc = engine_start(a->e);
    if (rc < 0)
        snprintf(err, errlen, "cannot start the engine: %s", strerror(-rc));
    return rc < 0 ? -1 : 0;
}

int agent_run(struct config *cfg, const struct agent_options *o)
{
    if (o->force_dry_run)
        cfg->dry_run = true;
    struct agent a = {0};
    snapbox_init(&a.box);
    char err[512];
    int rc = start(&a, cfg, err, sizeof(err));
    if (rc < 0) {
        char q[600];
        log_msg(LOG_ERROR, "msg=\"cannot start\" error=%s",
                log_quote(q, sizeof(q), err));
    } else {
        wait_for_stop(a.e, o, &a.sec);
    }
    if (a.rem)
        remedy_stop(a.rem); /* webhooks answer 503 from now on */
    /* the running actions' grace starts now, while the server stops */
    if (a.e)
        engine_begin_stop(a.e);
    httpd_stop(a.h);
    if (a.e)
        engine_free(a.e); /* waits for the grace (engine_begin_stop) */
    else
        config_free(cfg);
    remedy_close(a.rem);
    snapbox_destroy(&a.box);
    secrets_reset(&a.sec);
    log_msg(LOG_INFO, "msg=\"stopped\"");
    return rc < 0 ? 1 : 0;
}
