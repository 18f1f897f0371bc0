/* engine.c: the engine thread's loop, poll rounds and reloads.
 *
 * A round starts every poll interval: a heartbeat POST to each cluster's
 * primary and a GET /metrics to every node, all at once on the poller.
 * Each answer is parsed as it arrives; when the last one is in (the
 * per-request timeout is shorter than the interval) the round is assessed
 * and a snapshot published (a replica leaving read rotation: at once). Rounds
 * never overlap: one still running when the next is due delays it. The
 * executor (src/act) reads the engine only through the struct act_env of
 * engine_attach(): the view, clock, TILT, callbacks into the runtime. */
#include "monitor/engine_internal.h"

#include "act/executor.h"
#include "act/remedy.h"
#include "lib/log.h"
#include "lib/poller.h"
#include "lib/schedslice.h"
#include "config/runbook.h"
#include "monitor/snapshot.h"
#include "profiles/profile.h"
#include "lib/util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- building and tearing down the runtime state ------------------------- */

static char *join_url(const char *base, const char *path)
{
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, base);
    buf_puts(&b, path);
    return buf_detach(&b);
}

static void node_init(struct engine *e, struct cluster_rt *c, struct node_rt *n,
                      const struct config_node *conf)
{
    n->c = c;
    n->conf = conf;
    /* a profile with its own scrape request (postgres) has no URL */
    n->metrics_url =
        profile_of(c->conf->profile)->scrape
            ? NULL
            : join_url(conf->url, profile_of(c->conf->profile)->metrics_path);
    n->req = poller_req_new(e->poller, BODY_CAP);
    n->last_failure = -1;
    n->health = HEALTH_UNKNOWN;
}

static void build_clusters(struct engine *e)
{
    const struct config *cfg = e->cfg;
    e->n_clusters = cfg->n_clusters;
    e->clusters = xcalloc(cfg->n_clusters, sizeof(*e->clusters));
    e->n_nodes = 0;
    for (size_t ci = 0; ci < cfg->n_clusters; ci++) {
        struct cluster_rt *c = &e->clusters[ci];
        c->e = e;
        c->conf = &cfg->clusters[ci];
        c->n = c->conf->n_nodes;
        c->nodes = xcalloc(c->n, sizeof(*c->nodes));
        c->primary = c->conf->primary;
        c->primary_ok_mono = clock_mono(&e->clock);
        poshist_reset(&c->hist);
        hbhist_reset(&c->hb);
        for (size_t ni = 0; ni < c->n; ni++)
            node_init(e, c, &c->nodes[ni], &c->conf->nodes[ni]);
        e->n_nodes += c->n;
    }
    e->view.clusters = xcalloc(e->n_clusters, sizeof(struct cluster_view));
    e->view.nodes =
        xcalloc(e->n_nodes ? e->n_nodes : 1, sizeof(struct node_view));
    laghist_init(&e->hist, e->n_nodes, LAGHIST_WINDOW, LAGHIST_POINTS,
                 cfg->poll.interval);
    e->view.history = &e->hist;
}

static void free_cluster_array(struct cluster_rt *clusters, size_t n)
{
    for (size_t ci = 0; ci < n; ci++) {
        struct cluster_rt *c = &clusters[ci];
        for (size_t ni = 0; ni < c->n; ni++) {
            divergence_node_free(c->e, &c->nodes[ni]);
            poller_req_free(c->nodes[ni].req);
            free(c->nodes[ni].metrics_url);
            free(c->nodes[ni].reported);
        }
        free(c->nodes);
    }
    free(clusters);
}

static void free_clusters(struct engine *e)
{
    free_cluster_array(e->clusters, e->n_clusters);
    e->clusters = NULL;
    free(e->view.clusters);
    free(e->view.nodes);
    e->view.clusters = NULL;
    e->view.nodes = NULL;
    laghist_free(&e->hist);
    e->view.history = NULL;
    histjson_free(&e->hist_doc);
    e->hist_doc_ok = false;
}

/* carry_node: moves what a reload keeps from an old node to its
 * successor: counters, the last good sample and the derived health. */
static void carry_node(struct node_rt *to, struct node_rt *from)
{
    memcpy(to->failures, from->failures, sizeof(to->failures));
    to->up = from->up;
    to->last_failure = from->last_failure;
    to->duration = from->duration;
    to->scrape_avg = from->scrape_avg;
    to->paused = from->paused;
    to->forced_sync = from->forced_sync;
    to->track = from->track;
    to->have_sample = from->have_sample;
    to->ok_mono = from->ok_mono;
    to->ok_wall = from->ok_wall;
    to->position = from->position;
    to->pos_track = from->pos_track;
    to->connected = from->connected;
    to->has_heartbeat = from->has_heartbeat;
    to->heartbeat = from->heartbeat;
    to->role = from->role;
    to->has_connected = from->has_connected;
    to->has_epoch = from->has_epoch;
    to->epoch = from->epoch;
    to->has_acked = from->has_acked;
    to->acked = from->acked;
    to->has_received = from->has_received;
    to->received = from->received;
    to->sync_mode = from->sync_mode;
    to->reported = from->reported;
    to->n_reported = from->n_reported;
    from->reported = NULL;
    to->health = from->health;
    to->in_rotation = from->in_rotation;
    to->gate = from->gate;
    memcpy(to->implausible, from->implausible, sizeof(to->implausible));
    memcpy(to->implausible_on, from->implausible_on,
           sizeof(to->implausible_on));
    /* the last Merkle verdict stands; a running compare starts over */
    struct merkle_rt *tm = &to->mk, *fm = &from->mk;
    tm->have = fm->have;
    tm->diff = fm->diff;
    tm->buckets = fm->buckets;
    tm->listed = fm->listed;
    tm->nlisted = fm->nlisted;
    tm->ranges = fm->ranges;
    tm->duration = fm->duration;
    tm->last_wall = fm->last_wall;
    tm->bytes_total = fm->bytes_total;
    tm->errors = fm->errors;
    fm->listed = NULL;
    fm->ranges = NULL;
}

static void carry_cluster(struct cluster_rt *to, struct cluster_rt *from)
{
    to->hist = from->hist;
    to->hb = from->hb;
    to->hb_ok_mono = from->hb_ok_mono;
    to->epoch = from->epoch;
    to->have_acked = from->have_acked;
    to->acked = from->acked;
    to->primary_ok_mono = from->primary_ok_mono;
    for (size_t ni = 0; ni < to->n; ni++) {
        int old = config_node_index(from->conf, to->conf->nodes[ni].name);
        if (old < 0)
            continue;
        carry_node(&to->nodes[ni], &from->nodes[old]);
        if ((size_t)old == from->primary && from->primary_seen) {
            to->primary = ni;
            to->primary_seen = true;
        }
    }
}

/* apply_reload: swaps in next_cfg between rounds, keeping the history of
 * every node that still exists (matched by cluster and node name). */
static void apply_reload(struct engine *e, struct config *cfg)
{
    struct config *old_cfg = e->cfg;
    struct cluster_rt *old = e->clusters;
    size_t n_old = e->n_clusters;
    free(e->view.clusters);
    free(e->view.nodes);
    laghist_free(&e->hist); /* rows follow the nodes: a reload starts it anew */
    histjson_free(&e->hist_doc);
    e->hist_doc_ok = false;
    e->cfg = cfg;
    engine_ha_config(e); /* before old_cfg, which it borrowed, goes */
    poller_set_proxy(e->poller, cfg->proxy);
    build_clusters(e);
    for (size_t ci = 0; ci < e->n_clusters; ci++) {
        const char *name = e->clusters[ci].conf->name;
        int o = config_cluster_index(old_cfg, name);
        if (o >= 0)
            carry_cluster(&e->clusters[ci], &old[o]);
    }
    free_cluster_array(old, n_old);
    config_free(old_cfg);
    divergence_schedule(e, clock_mono(&e->clock));
    /* the view's arrays are new (zeroed) and sized for the new config:
     * refill them now from the carried state, or the executor would plan
     * an alert that arrives before the next round against stale counts
     * and NULL names */
    assess_round(e);
    engine_ha_view(e);
    log_msg(LOG_INFO, "msg=\"config reloaded\" clusters=%zu nodes=%zu",
            e->n_clusters, e->n_nodes);
}

/* --- scrapes -------------------------------------------------------------- */

static enum scrape_reason reason_of(enum poll_outcome o)
{
    switch (o) {
    case POLL_TIMEOUT:
        return SCRAPE_TIMEOUT;
    case POLL_HTTP_STATUS:
        return SCRAPE_HTTP_STATUS;
    case POLL_TOO_LARGE:
        return SCRAPE_TOO_LARGE;
    default:
        return SCRAPE_CONNECT;
    }
}

static void scrape_failed(struct node_rt *n, enum scrape_reason reason,
                          const char *detail)
{
    n->failures[reason]++;
    bool was_up = n->up || n->last_failure < 0;
    bool new_reason = n->last_failure != (int)reason;
    n->up = false;
    n->last_failure = (int)reason;
    if (!was_up && !new_reason)
        return; /* a repeat of the same failure: logged already */
    char q[256];
    log_msg(LOG_WARN,
            "msg=\"scrape failed\" cluster=%s node=%s reason=%s error=%s",
            n->c->conf->name, n->conf->name, scrape_reason_name(reason),
            log_quote(q, sizeof(q), detail));
}

static void keep_sample(struct node_rt *n, const struct node_sample *s)
{
    struct engine *e = n->c->e;
    bool reset;
    n->position = counter_track_update(&n->pos_track, s->position, &reset);
    if (reset)
        log_msg(LOG_INFO, "msg=\"position counter reset\" cluster=%s node=%s",
                n->c->conf->name, n->conf->name);
    n->connected = s->has_connected && s->connected;
    n->has_heartbeat = s->has_heartbeat;
    n->heartbeat = s->heartbeat;
    n->role = s->role;
    n->has_connected = s->has_connected;
    n->has_epoch = s->has_epoch;
    n->epoch = s->epoch;
    n->has_acked = s->has_acked;
    n->acked = s->acked;
    n->has_received = s->has_received;
    n->received = s->received;
    n->sync_mode = s->sync_mode;
    n->paused = s->has_paused && s->paused;
    n->forced_sync = s->has_sync_progress && s->sync_progress < 1;
    n->reported = xrealloc(n->reported, (s->n_reported ? s->n_reported : 1) *
                                            sizeof(*n->reported));
    memcpy(n->reported, s->reported, s->n_reported * sizeof(*n->reported));
    n->n_reported = s->n_reported;
    n->have_sample = true;
    n->ok_mono = clock_mono(&e->clock);
    n->ok_wall = clock_wall(&e->clock);
}

static void take_scrape(struct node_rt *n, const struct poll_result *r)
{
    struct engine *e = n->c->e;
    n->scraped = true;
    n->duration = r->seconds;
    /* an exponential moving average (weight 0.25 for the newest) ranks
     * ?preference=nearest without one slow scrape reordering it */
    n->scrape_avg = n->scrape_avg > 0 ? 0.75 * n->scrape_avg + 0.25 * r->seconds
                                      : r->seconds;
    e->pending--;
    if (r->outcome != POLL_OK) {
        char detail[256];
        bool sql = profile_of(n->c->conf->profile)->scrape != NULL;
        if (r->outcome == POLL_HTTP_STATUS && sql) /* the server's words */
            snprintf(detail, sizeof(detail), "SQL error (%ld): %s", r->status,
                     r->error);
        else if (r->outcome == POLL_HTTP_STATUS)
            snprintf(detail, sizeof(detail), "HTTP %ld", r->status);
        scrape_failed(n, reason_of(r->outcome),
                      r->outcome == POLL_HTTP_STATUS ? detail : r->error);
        return;
    }
    struct promtext_error err = {0};
    if (profile_of(n->c->conf->profile)
            ->parse_sample(r->body, r->len, &e->scratch, &err) < 0) {
        char detail[160];
        snprintf(detail, sizeof(detail), "line %zu: %s", err.line,
                 err.msg ? err.msg : "invalid");
        scrape_failed(n, SCRAPE_PARSE, detail);
        return;
    }
    if (!n->up && n->last_failure >= 0)
        log_msg(LOG_INFO, "msg=\"scrape recovered\" cluster=%s node=%s",
                n->c->conf->name, n->conf->name);
    n->up = true;
    n->last_failure = -1;
    keep_sample(n, &e->scratch);
}

static void on_scrape(void *arg, const struct poll_result *r)
{
    struct node_rt *n = arg;
    take_scrape(n, r);
    /* out of read rotation: published now, not after the slowest scrape */
    if (assess_early_out(n->c->e, n->c, n))
        n->c->e->early_publish = true;
}

/* send_scrape: the profile's scrape request to n; returns as
 * poller_request(). */
static int send_scrape(struct node_rt *n, double timeout)
{
    const struct profile_ops *ops = profile_of(n->c->conf->profile);
    if (!ops->scrape)
        return poller_get(n->req, n->metrics_url, timeout, on_scrape, n);
    struct profile_request rq;
    ops->scrape(&rq);
    int rc = poller_request(n->req, rq.method, config_node_target(n->conf),
                            rq.body, timeout, on_scrape, n);
    profile_request_free(&rq);
    return rc;
}

static void start_scrape(struct engine *e, struct node_rt *n, double timeout)
{
    n->scraped = false;
    if (send_scrape(n, timeout) < 0) {
        e->pending--;
        n->scraped = true;
        scrape_failed(n, SCRAPE_CONNECT, "request not started");
    }
}

/* on_heartbeat: the primary's heartbeat is in; its scrape follows on the
 * same slot (and connection) within what is left of the timeout, so a
 * heartbeat costs no extra handle or connection per cluster. */
static void on_heartbeat(void *arg, const struct poll_result *r)
{
    struct node_rt *p = arg;
    struct cluster_rt *c = p->c;
    struct engine *e = c->e;
    if (r->outcome == POLL_OK) {
        hbhist_add(&c->hb, c->hb_value);
        c->hb_ok_mono = clock_mono(&e->clock);
    } else
        log_msg(LOG_DEBUG, "msg=\"heartbeat failed\" cluster=%s status=%ld",
                c->conf->name, r->status);
    double left = e->round_start + e->cfg->poll.timeout - clock_mono(&e->clock);
    start_scrape(e, p, left > 0.001 ? left : 0.001);
}

/* send_heartbeat: POSTs wall, the round's start, to the primary (one
 * value a round: docs/reference.md, "How soon"); 0, or -1 if not sent. */
static int send_heartbeat(struct engine *e, struct cluster_rt *c, double wall)
{
    struct node_rt *p = &c->nodes[c->primary];
    char url[1024], ts[32];
    struct profile_request rq;
    snprintf(ts, sizeof(ts), "%.6f", wall);
    /* remember the value exactly as the node will store and report it,
     * so comparing it with what a replica applied is exact */
    c->hb_value = strtod(ts, NULL);
    if (c->hb_value > c->hb_max_sent)
        c->hb_max_sent = c->hb_value;
    profile_of(c->conf->profile)->heartbeat(ts, &rq);
    snprintf(url, sizeof(url), "%s%s", config_node_target(p->conf), rq.path);
    p->scraped = false;
    int rc = poller_request(p->req, rq.method, url, rq.body,
                            e->cfg->poll.timeout, on_heartbeat, p);
    profile_request_free(&rq);
    return rc;
}

static void start_round(struct engine *e, double now)
{
    e->round_active = true;
    e->round_start = now;
    e->pending = e->n_nodes;
    double wall = clock_wall(&e->clock);
    for (size_t ci = 0; ci < e->n_clusters; ci++) {
        struct cluster_rt *c = &e->clusters[ci];
        if (!engine_ha_polls(e, c)) { /* ha.poll: owned, not ours */
            e->pending -= c->n;
            continue;
        }
        bool hb = send_heartbeat(e, c, wall) == 0;
        for (size_t ni = 0; ni < c->n; ni++)
            if (!hb || ni != c->primary)
                start_scrape(e, &c->nodes[ni], e->cfg->poll.timeout);
    }
}

static void finish_round(struct engine *e, double now)
{
    e->round_active = false;
    e->rounds++;
    e->round_duration = now - e->round_start;
    e->ready = true;
    assess_round(e);
    engine_ha_view(e);
    laghist_add(&e->hist, &e->view, clock_wall(&e->clock));
    /* the history (300 numbers a node) is rendered when a slot begins,
     * not every round: the newest slot shows its first round's lag until
     * the next one begins, at most one step later */
    if (!e->hist_doc_ok || e->hist_doc_slots != e->hist.slots) {
        histjson_free(&e->hist_doc);
        histjson_render(&e->view, &e->hist_doc);
        e->hist_doc_slots = e->hist.slots;
        e->hist_doc_ok = true;
    }
    snapbox_publish_view(e->box, &e->view, &e->hist_doc);
}

/* --- the loop ------------------------------------------------------------- */

/* schedule_next: one interval after this round started (now), not on a
 * fixed grid, so a stalled replica's heartbeat lag passes one interval
 * at the next round's scrape (docs/reference.md, "How soon"). */
static void schedule_next(struct engine *e, double now)
{
    double interval = e->cfg->poll.interval;
    double behind = now - (e->next_round + interval);
    if (behind >= 0) /* a stall: missed rounds are skipped, not run */
        log_msg(LOG_WARN, "msg=\"poll rounds skipped\" behind=%.3f", behind);
    e->next_round = now + interval;
}

static void take_reload(struct engine *e)
{
    pthread_mutex_lock(&e->mu);
    struct config *cfg = e->next_cfg;
    struct runbook_set *rules = e->next_rules;
    e->next_cfg = NULL;
    e->next_rules = NULL;
    pthread_mutex_unlock(&e->mu);
    if (cfg && e->exec && !executor_idle(e->exec)) {
        /* running actions point into the config: apply it after they
         * finish (no wakeup: the loop comes back on its own) */
        pthread_mutex_lock(&e->mu);
        if (!e->next_cfg)
            e->next_cfg = cfg;
        else
            config_free(cfg); /* a newer one arrived meanwhile */
        pthread_mutex_unlock(&e->mu);
        cfg = NULL;
    }
    if (cfg)
        apply_reload(e, cfg);
    if (rules && e->exec)
        executor_reload_rules(e->exec, rules);
    else
        runbook_set_free(rules);
}

/* SOON_GAP: seconds between the starts of early rounds (snapbox_kick),
 * so that waiting clients cost the nodes at most 1/SOON_GAP scrapes a
 * second. */
#define SOON_GAP 0.01

/* round_soon: whether an early round is asked for and may start. */
static bool round_soon(struct engine *e, double now)
{
    return atomic_load(&e->poll_soon) && now >= e->round_start + SOON_GAP;
}

static int wait_ms(const struct engine *e, double now)
{
    double until = e->round_active ? e->round_start + e->cfg->poll.interval
                                   : e->next_round;
    if (!e->round_active && atomic_load(&e->poll_soon) &&
        e->round_start + SOON_GAP < until)
        until = e->round_start + SOON_GAP;
    double ms = (until - now) * 1000;
    if (ms < 0)
        ms = 0;
    return ms > 50 ? 50 : (int)ceil(ms); /* Merkle compares tick too */
}

/* --- TILT ----------------------------------------------------------------- */

/* read_clocks: both clocks as of one instant: the wall clock between two
 * monotonic readings, read again when the thread lost the CPU between
 * them (a SIGSTOP there would otherwise read as a clock jump). *mono is
 * the midpoint of the two monotonic readings. */
static void read_clocks(const struct engine *e, double *mono, double *wall)
{
    double m1, m2;
    for (int i = 0;; i++) {
        m1 = clock_mono(&e->clock);
        *wall = clock_wall(&e->clock);
        m2 = clock_mono(&e->clock);
        if (m2 - m1 < 0.01 || i == 2)
            break;
    }
    *mono = (m1 + m2) / 2;
}

/* check_tilt: feeds this iteration's clocks to the detector; logs and
 * audits entering, re-triggering and leaving TILT. */
static void check_tilt(struct engine *e)
{
    double mono, wall;
    read_clocks(e, &mono, &wall);
    enum tilt_event ev = tilt_observe(&e->tilt, mono, wall);
    const struct tilt *t = &e->tilt;
    char why[160];
    if (ev == TILT_NONE)
        return;
    if (ev == TILT_LEFT) {
        log_msg(LOG_INFO, "msg=\"TILT over: actions resume\" held=%.0f",
                TILT_HOLD);
        snprintf(why, sizeof(why), "no stall or clock jump for %.0fs",
                 TILT_HOLD);
        if (e->exec)
            executor_audit_tilt(e->exec, "tilt_exit", why);
        return;
    }
    const char *reason = tilt_reason_name(t->reason);
    log_msg(LOG_WARN,
            "msg=\"TILT %s: actions held\" reason=%s gap=%.3f hold=%.0f",
            ev == TILT_ENTERED ? "entered" : "extended", reason, t->amount,
            TILT_HOLD);
    if (t->reason == TILT_STALL)
        snprintf(why, sizeof(why), "stall: the engine loop stood still %.3fs",
                 t->amount);
    else
        snprintf(why, sizeof(why),
                 "clock_jump: the wall clock moved %+.3fs against the "
                 "monotonic clock",
                 t->amount);
    if (e->exec)
        executor_audit_tilt(
            e->exec, ev == TILT_ENTERED ? "tilt_enter" : "tilt_extend", why);
}

/* --- one iteration ------------------------------------------------------- */

void engine_step(struct engine *e)
{
    check_tilt(e);
    double now = clock_mono(&e->clock);
    if (!e->round_active)
        take_reload(e);
    if (!e->round_active && (now >= e->next_round || round_soon(e, now))) {
        /* an early round leaves the schedule as it is */
        bool due = now >= e->next_round;
        atomic_store(&e->poll_soon, false);
        start_round(e, now);
        if (due)
            schedule_next(e, now);
    }
    poller_run(e->poller, wait_ms(e, clock_mono(&e->clock)));
    if (e->round_active && e->pending == 0)
        finish_round(e, clock_mono(&e->clock));
    assess_publish_early(e);
    engine_ha_tick(e); /* before acting: ownership is as fresh as it gets */
    divergence_tick(e, clock_mono(&e->clock));
    /* again right before acting: a stall inside this iteration (in the
     * curl wait, say) holds actions now, not one iteration late */
    check_tilt(e);
    /* nothing is planned before the first round is in: until then no
     * target is known, and the alerts replayed from the journal at start
     * would be skipped (and consumed) as unknown_target */
    if (e->exec && e->ready)
        executor_tick(e->exec, clock_mono(&e->clock));
}

/* drain: on stop, running actions get up to ENGINE_STOP_GRACE seconds
 * to finish (polls go on meanwhile, nothing new starts); those still
 * running then are killed and journaled as interrupted. */
static void drain(struct engine *e)
{
    if (!e->exec)
        return;
    executor_drain(e->exec);
    double deadline = clock_mono(&e->clock) + ENGINE_STOP_GRACE;
    if (!executor_idle(e->exec))
        log_msg(LOG_INFO,
                "msg=\"stopping: waiting for running actions\" grace=%.0f",
                ENGINE_STOP_GRACE);
    while (!executor_idle(e->exec) && clock_mono(&e->clock) < deadline)
        engine_step(e);
    unsigned n = executor_interrupt(e->exec);
    if (n)
        log_msg(LOG_WARN,
                "msg=\"stopping: actions still running after the grace "
                "were killed and journaled as interrupted\" count=%u",
                n);
}

static void *run(void *arg)
{
    struct engine *e = arg;
    schedslice_set(ENGINE_SLICE); /* best effort: see engine_internal.h */
    while (!atomic_load(&e->stop))
        engine_step(e);
    drain(e);
    engine_ha_stop(e); /* after the drain: running actions kept it */
    return NULL;
}

/* --- the API ------------------------------------------------------------- */

/* kick: snapbox_kick()'s hook: an early round, on the next iteration. */
static void kick(void *ctx)
{
    struct engine *e = ctx;
    atomic_store(&e->poll_soon, true);
    poller_wakeup(e->poller);
}

struct engine *engine_new(struct config *cfg, struct snapbox *box,
                          const struct rg_clock *clock)
{
    struct engine *e = xcalloc(1, sizeof(*e));
    e->cfg = cfg;
    e->box = box;
    e->clock = *clock;
    e->poller = poller_new();
    poller_set_proxy(e->poller, cfg->proxy);
    pthread_mutex_init(&e->mu, NULL);
    atomic_init(&e->stop, false);
    divergence_init(e);
    build_clusters(e);
    engine_ha_config(e);
    divergence_schedule(e, clock_mono(&e->clock));
    e->next_round = clock_mono(&e->clock);
    tilt_init(&e->tilt);
    e->view.version = PACKAGE_VERSION;
    atomic_init(&e->poll_soon, false);
    snapbox_set_kick(box, kick, e);
    return e;
}

static void wake(void *ctx)
{
    poller_wakeup(ctx);
}

/* --- what the executor reads (executor.h: struct act_env) ----------------- */

/* cluster_named: e->clusters is in e->cfg's order, so the config's name
 * index finds it (the executor asks per cluster per round: a scan made
 * that O(clusters^2)). */
static struct cluster_rt *cluster_named(struct engine *e, const char *name)
{
    int ci = config_cluster_index(e->cfg, name);
    return ci < 0 ? NULL : &e->clusters[ci];
}

static bool env_dry_run(void *ctx)
{
    const struct engine *e = ctx;
    return e->cfg->dry_run;
}

static const struct config_cluster *env_cluster_conf(void *ctx,
                                                     const char *name)
{
    struct cluster_rt *c = cluster_named(ctx, name);
    return c ? c->conf : NULL;
}

static const char *env_node_url(void *ctx, const char *cluster,
                                const char *node)
{
    struct cluster_rt *c = cluster_named(ctx, cluster);
    /* a postgres node's conninfo, with its password: the executor
     * hands it to the poller only */
    if (c && !node)
        return config_node_target(c->nodes[c->primary].conf);
    int i = c ? config_node_index(c->conf, node) : -1;
    return i >= 0 ? config_node_target(c->nodes[i].conf) : NULL;
}

static int env_ingest_rate(void *ctx, const char *cluster, double window,
                           double *rate)
{
    struct cluster_rt *c = cluster_named(ctx, cluster);
    return c ? poshist_rate(&c->hist, window, rate) : -1;
}

static const struct config_escalation *env_escalation_conf(void *ctx)
{
    const struct engine *e = ctx;
    return &e->cfg->escalation;
}

int engine_attach(struct engine *e, struct remedy *rem,
                  struct runbook_set *rules, const char *audit_path, char *err,
                  size_t errlen)
{
    struct act_env env = {
        .view = &e->view,
        .clock = &e->clock,
        .tilt = &e->tilt,
        .poller = e->poller,
        .ctx = e,
        .dry_run = env_dry_run,
        .cluster_conf = env_cluster_conf,
        .node_url = env_node_url,
        .ingest_rate = env_ingest_rate,
        .escalation_conf = env_escalation_conf,
        .owner = engine_ha_owner,
        .job_phase = engine_ha_job,
        .job_synced = engine_ha_job_synced,
    };
    e->exec = executor_new(&env, rem, rules, audit_path, err, errlen);
    if (!e->exec) {
        runbook_set_free(rules);
        return -1;
    }
    remedy_set_waker(rem, wake, e->poller);
    return 0;
}

void engine_reload_rules(struct engine *e, struct runbook_set *rules)
{
    pthread_mutex_lock(&e->mu);
    runbook_set_free(e->next_rules);
    e->next_rules = rules;
    pthread_mutex_unlock(&e->mu);
    poller_wakeup(e->poller);
}

int engine_start(struct engine *e)
{
    int rc = pthread_create(&e->thread, NULL, run, e);
    if (rc != 0)
        return -rc;
    e->started = true;
    return 0;
}

void engine_reload(struct engine *e, struct config *cfg)
{
    pthread_mutex_lock(&e->mu);
    config_free(e->next_cfg);
    e->next_cfg = cfg;
    pthread_mutex_unlock(&e->mu);
    poller_wakeup(e->poller);
}

void engine_begin_stop(struct engine *e)
{
    atomic_store(&e->stop, true);
    poller_wakeup(e->poller);
}

void engine_stop(struct engine *e)
{
    if (!e->started)
        return;
    engine_begin_stop(e);
    pthread_join(e->thread, NULL);
    e->started = false;
}

void engine_free(struct engine *e)
{
    if (!e)
        return;
    snapbox_set_kick(e->box, NULL, NULL);
    engine_stop(e);
    executor_free(e->exec);
    runbook_set_free(e->next_rules);
    free_clusters(e);
    divergence_free(e);
    engine_ha_free(e); /* its request slot before the poller */
    poller_free(e->poller);
    config_free(e->cfg);
    config_free(e->next_cfg);
    pthread_mutex_destroy(&e->mu);
    free(e);
}
