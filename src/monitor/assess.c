/* assess.c: from a round's scrapes to lag, health, read rotation and the
 * view the renderers read. Runs on the engine thread after each round. */
#include "monitor/engine_internal.h"

#include "act/executor.h"
#include "monitor/snapshot.h"
#include "lib/log.h"
#include "lib/util.h"
#include "profiles/profile.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

static bool is_fresh(const struct engine *e, const struct node_rt *n,
                     double now)
{
    return n->have_sample &&
           now - n->ok_mono <= STALE_INTERVALS * e->cfg->poll.interval;
}

/* raise_epoch: the cluster's epoch is the highest any node reported;
 * it never goes down (a node that restarts with an old one does not
 * take the cluster back). A new epoch forgets the acked floor: it was
 * the old primary's. */
static void raise_epoch(struct cluster_rt *c)
{
    uint64_t top = c->epoch;
    for (size_t ni = 0; ni < c->n; ni++) {
        const struct node_rt *n = &c->nodes[ni];
        if (n->have_sample && n->has_epoch && n->epoch > top)
            top = n->epoch;
    }
    if (top == c->epoch)
        return;
    if (c->epoch)
        log_msg(LOG_INFO,
                "msg=\"cluster epoch changed\" cluster=%s "
                "from=%" PRIu64 " to=%" PRIu64,
                c->conf->name, c->epoch, top);
    c->epoch = top;
    c->have_acked = false;
    c->acked = 0;
}

/* may_be_primary: n reports itself primary, freshly, and at the
 * cluster's epoch when it reports one: an old primary back from a crash
 * reports primary at its old epoch and is never taken for the primary;
 * a fenced node reports role fenced. */
static bool may_be_primary(const struct engine *e, const struct cluster_rt *c,
                           const struct node_rt *n, double now)
{
    return is_fresh(e, n, now) && n->role == SEEN_ROLE_PRIMARY &&
           (!n->has_epoch || n->epoch >= c->epoch);
}

static void log_primary_change(const struct cluster_rt *c, size_t to)
{
    const struct node_rt *from = &c->nodes[c->primary], *n = &c->nodes[to];
    log_msg(LOG_WARN,
            "msg=\"primary changed\" cluster=%s from=%s to=%s "
            "from_epoch=%" PRIu64 " to_epoch=%" PRIu64
            " cluster_epoch=%" PRIu64,
            c->conf->name, from->conf->name, n->conf->name,
            from->has_epoch ? from->epoch : 0, n->has_epoch ? n->epoch : 0,
            c->epoch);
}

/* choose_primary: the node that may be primary (the configured one if
 * several may), else the last one known: a dead primary stays current
 * while it is down (failover detection needs that). A change of primary
 * empties the position history: positions of two primaries need not be
 * comparable. Then the primary's acked floor and last good scrape. */
static void choose_primary(struct engine *e, struct cluster_rt *c, double now)
{
    size_t found = c->n;
    raise_epoch(c);
    for (size_t ni = 0; ni < c->n; ni++) {
        if (!may_be_primary(e, c, &c->nodes[ni], now))
            continue;
        if (found == c->n || ni == c->conf->primary)
            found = ni;
    }
    if (found == c->n) {
        c->primary_seen = false;
        return;
    }
    if (found != c->primary) {
        log_primary_change(c, found);
        poshist_reset(&c->hist);
        c->primary = found;
    }
    c->primary_seen = true;
    const struct node_rt *p = &c->nodes[found];
    if (p->ok_mono > c->primary_ok_mono)
        c->primary_ok_mono = p->ok_mono;
    if (p->has_acked && (!c->have_acked || p->acked > c->acked)) {
        c->have_acked = true;
        c->acked = p->acked;
    }
    if (p->up && p->scraped)
        poshist_add(&c->hist, p->ok_mono, p->position);
}

static const struct reported_lag *find_reported(const struct node_rt *p,
                                                const char *replica)
{
    for (size_t i = 0; i < p->n_reported; i++)
        if (strcmp(p->reported[i].replica, replica) == 0)
            return &p->reported[i];
    return NULL;
}

static void replica_lags(struct engine *e, struct cluster_rt *c,
                         const struct node_rt *n, struct node_view *v,
                         double now)
{
    const struct node_rt *p = &c->nodes[c->primary];
    bool pfresh = c->primary_seen && is_fresh(e, p, now);
    /* heartbeat lag needs heartbeats: once the primary has taken none
     * for 3 intervals, a replica that applied the last one it took may
     * still lack any number of writes; its lag is unknown */
    bool hbfresh = /* (none ever taken: the history is empty) */
        now - c->hb_ok_mono <= STALE_INTERVALS * e->cfg->poll.interval;
    if (v->fresh && hbfresh && n->has_heartbeat)
        v->have_hb_lag =
            hbhist_lag(&c->hb, n->heartbeat, n->ok_wall, &v->hb_lag) == 0;
    if (v->fresh && pfresh) {
        v->have_pos_lag =
            poshist_lag(&c->hist, n->position, n->ok_mono, &v->pos_lag) == 0;
        v->have_lag_positions = true;
        v->lag_positions =
            p->position > n->position ? p->position - n->position : 0;
        v->have_lag_bytes = profile_of(c->conf->profile)->positions_are_bytes;
    }
    const struct reported_lag *r =
        pfresh ? find_reported(p, n->conf->name) : NULL;
    v->have_reported_lag = r != NULL;
    v->reported_lag = r ? r->lag : 0;
}

/* implausible: which of n's values cannot be true (guard.h): a heartbeat
 * newer than any replguard sent, a position past the primary's by more
 * than its writes in one interval. Bit k is set for kind k; *judged says
 * which kinds this round's scrapes could judge: a position only against
 * the primary's of the same round (an older one would read a replica
 * that kept applying while the primary hung as ahead of it). */
static unsigned implausible(struct engine *e, struct cluster_rt *c,
                            const struct node_rt *n, unsigned *judged)
{
    const struct node_rt *p = &c->nodes[c->primary];
    unsigned bits = 0;
    *judged = 0;
    if (!n->scraped || !n->up)
        return 0;
    *judged |= 1u << GUARD_HEARTBEAT_AHEAD;
    if (n->has_heartbeat && guard_heartbeat_ahead(n->heartbeat, c->hb_max_sent))
        bits |= 1u << GUARD_HEARTBEAT_AHEAD;
    if (!c->primary_seen || !p->scraped || !p->up)
        return bits;
    *judged |= 1u << GUARD_POSITION_AHEAD;
    double rate;
    if (poshist_rate(&c->hist, 10, &rate) < 0)
        rate = -1; /* unknown: no slack for writes */
    uint64_t slack = guard_position_slack(rate, e->cfg->poll.interval);
    if (guard_position_ahead(n->position, p->position, slack))
        bits |= 1u << GUARD_POSITION_AHEAD;
    return bits;
}

/* judge_values: counts n's implausible values once per scrape, logs a
 * streak's start and end, and makes a lying replica's lag unknown (so
 * its health is unknown and it leaves read rotation). A kind this round
 * could not judge keeps its last verdict. */
static void judge_values(struct engine *e, struct cluster_rt *c,
                         struct node_rt *n, struct node_view *v)
{
    unsigned judged, found = implausible(e, c, n, &judged), bits = 0;
    for (int k = 0; k < GUARD_IMPLAUSIBLE_KINDS; k++) {
        bool on = judged >> k & 1 ? found >> k & 1 : n->implausible_on[k];
        n->implausible[k] += on && judged >> k & 1;
        if (on != n->implausible_on[k])
            log_msg(on ? LOG_WARN : LOG_INFO,
                    "msg=\"%s\" cluster=%s replica=%s kind=%s",
                    on ? "implausible node value: lag unknown, out of "
                         "read rotation"
                       : "node values plausible again",
                    c->conf->name, n->conf->name,
                    guard_implausible_name((enum guard_implausible)k));
        n->implausible_on[k] = on;
        v->implausible[k] = n->implausible[k];
        bits |= (unsigned)on << k;
    }
    if (!bits)
        return;
    v->rv.implausible = bits >> GUARD_HEARTBEAT_AHEAD & 1
                            ? "implausible heartbeat"
                            : "implausible position";
    if (found >> GUARD_POSITION_AHEAD & 1)
        /* not a counter reading to carry forward: the next reading is
         * taken as it is (else the offset a lie left would read as
         * ahead forever) */
        memset(&n->pos_track, 0, sizeof(n->pos_track));
    v->have_hb_lag = v->have_pos_lag = v->have_reported_lag = false;
    v->have_lag_positions = false;
    v->have_lag_bytes = false;
}

static void choose_lag(const struct config_cluster *conf, struct node_view *v)
{
    switch (conf->lag_source) {
    case LAG_SOURCE_HEARTBEAT:
        v->rv.have_lag = v->have_hb_lag;
        v->rv.lag = v->hb_lag;
        break;
    case LAG_SOURCE_POSITION:
        v->rv.have_lag = v->have_pos_lag;
        v->rv.lag = v->pos_lag;
        break;
    case LAG_SOURCE_REPORTED:
        v->rv.have_lag = v->have_reported_lag;
        v->rv.lag = v->reported_lag;
        break;
    }
}

/* caught_up: fills v's have_caught_up and caught_up_mono (view.h). */
static void caught_up(const struct config_cluster *conf,
                      const struct node_rt *n, struct node_view *v)
{
    v->have_caught_up = v->rv.have_lag;
    if (conf->lag_source != LAG_SOURCE_HEARTBEAT) {
        v->caught_up_mono = n->ok_mono - v->rv.lag;
        return;
    }
    /* the heartbeat's value is the wall time replguard wrote it: to
     * monotonic through the scrape's pair of clocks; none applied yet
     * (0) bounds nothing */
    v->have_caught_up = v->have_caught_up && n->heartbeat > 0;
    v->caught_up_mono = n->ok_mono - (n->ok_wall - n->heartbeat);
}

static struct thresholds thresholds_of(const struct config_cluster *conf)
{
    const struct config_thresholds *t = &conf->thresholds;
    return (struct thresholds){t->warning, t->critical, t->escalate,
                               t->read_max_lag};
}

/* assess_state: the replica's state (lag.h), logged when it changes. */
static void assess_state(const struct cluster_rt *c, struct node_rt *n,
                         struct node_view *v, double now)
{
    enum replica_state before =
        n->track.decided ? n->track.last : RSTATE_ACTIVE;
    struct replica_obs o = {.removed = n->role == SEEN_ROLE_DEMOTED ||
                                       n->role == SEEN_ROLE_FENCED,
                            .seen = v->up && v->fresh,
                            .stream_down = v->have_connected && !v->connected,
                            .paused = n->paused,
                            .forced_sync = n->forced_sync,
                            .have_lag = v->rv.have_lag,
                            .lag = v->rv.lag};
    v->state =
        replica_state_step(&n->track, &o, now, c->conf->thresholds.warning,
                           c->conf->thresholds.critical);
    if (n->track.decided && v->state != before)
        log_msg(LOG_INFO,
                "msg=\"replica state changed\" cluster=%s replica=%s "
                "from=%s to=%s",
                c->conf->name, n->conf->name, replica_state_name(before),
                replica_state_name(v->state));
    n->track.decided = true;
    n->track.last = v->state;
}

static void assess_replica(struct engine *e, struct cluster_rt *c,
                           struct node_rt *n, struct node_view *v, double now)
{
    v->rv.reachable = n->up;
    v->rv.fresh = v->fresh;
    v->rv.connected = v->fresh && n->connected;
    v->rv.demoted = n->role == SEEN_ROLE_DEMOTED;
    replica_lags(e, c, n, v, now);
    judge_values(e, c, n, v);
    choose_lag(c->conf, v);
    caught_up(c->conf, n, v);
    struct thresholds th = thresholds_of(c->conf);
    enum health h = health_classify(&v->rv, &th);
    if (n->scraped || !n->gate.decided)
        v->in_rotation = rotation_gate_step(
            &n->gate, &v->rv, th.read_max_lag, c->conf->thresholds.read_rise,
            c->conf->thresholds.read_fall, &v->rotation_why);
    else /* a reload re-assesses the last round: no new poll to count */
        v->in_rotation = rotation_gate_hold(&n->gate, &v->rv, th.read_max_lag,
                                            &v->rotation_why);
    v->rotation_changes = n->gate.changes;

    if (h != n->health)
        log_msg(LOG_INFO,
                "msg=\"replica health changed\" cluster=%s replica=%s "
                "from=%s to=%s lag=%.3f",
                c->conf->name, n->conf->name, health_name(n->health),
                health_name(h), v->rv.have_lag ? v->rv.lag : -1.0);
    if (v->in_rotation != n->in_rotation)
        log_msg(LOG_INFO,
                "msg=\"read rotation changed\" cluster=%s replica=%s "
                "in_rotation=%d reason=\"%s\"",
                c->conf->name, n->conf->name, v->in_rotation,
                v->rotation_why ? v->rotation_why : "ok");
    n->health = h;
    n->in_rotation = v->in_rotation;
    v->health = h;
    assess_state(c, n, v, now);
}

static void view_node(struct engine *e, struct cluster_rt *c, size_t ni,
                      struct node_view *v, double now)
{
    struct node_rt *n = &c->nodes[ni];
    memset(v, 0, sizeof(*v));
    v->cluster = c->conf->name;
    v->name = n->conf->name;
    v->url = n->conf->url;
    v->role = scrape_role_name(n->role);
    if (!v->role)
        v->role = config_role_name(n->conf->role);
    v->is_primary = ni == c->primary;
    v->up = n->up;
    v->fresh = is_fresh(e, n, now);
    v->last_failure = n->last_failure;
    v->last_ok_wall = n->have_sample ? n->ok_wall : 0;
    v->last_ok_mono = n->have_sample ? n->ok_mono : 0;
    v->have_epoch = n->have_sample && n->has_epoch;
    v->epoch = n->epoch;
    v->have_acked = n->have_sample && n->has_acked;
    v->acked = n->acked;
    v->have_received = n->have_sample && n->has_received;
    v->received = n->received;
    v->have_connected = n->have_sample && n->has_connected;
    v->connected = n->connected;
    v->scrape_duration = n->duration;
    v->scrape_avg = n->scrape_avg;
    v->zone = n->conf->zone;
    memcpy(v->failures, n->failures, sizeof(v->failures));
    v->have_position = v->fresh;
    v->position = n->position;
    v->health = HEALTH_UNKNOWN;
    if (v->is_primary) {
        /* a primary serves no reads as a replica: should it become one
         * again (a rejoined old primary), it waits out read_rise */
        n->gate =
            (struct rotation_gate){.decided = true, .changes = n->gate.changes};
        n->in_rotation = false;
        return;
    }
    assess_replica(e, c, n, v, now);
    const struct merkle_rt *m = &n->mk;
    v->have_merkle = m->have;
    v->merkle_diff = m->diff;
    v->merkle_buckets = m->buckets;
    v->merkle_ranges = m->ranges;
    v->merkle_duration = m->duration;
    v->merkle_last_wall = m->last_wall;
    v->merkle_bytes_total = m->bytes_total;
    v->merkle_errors_total = m->errors;
}

/* sync_mode_name: the view's spelling of what a primary reports, NULL
 * when unknown. */
static const char *sync_mode_name(enum sync_seen m)
{
    static const char *const names[] = {[SYNC_SEEN_UNKNOWN] = NULL,
                                        [SYNC_SEEN_ASYNC] = "async",
                                        [SYNC_SEEN_SEMI_SYNC] = "semi-sync",
                                        [SYNC_SEEN_SYNC] = "sync",
                                        [SYNC_SEEN_BLOCKED] = "blocked"};
    return (unsigned)m < ARRAY_LEN(names) ? names[m] : NULL;
}

/* view_failover_inputs: what failover reads of the cluster; the
 * primary's sync mode as it last reported it (a dead primary's last
 * word still says whether it had fallen back to async). */
static void view_failover_inputs(const struct cluster_rt *c,
                                 struct cluster_view *cv)
{
    const struct node_rt *p = &c->nodes[c->primary];
    cv->epoch = c->epoch;
    cv->sync_mode = p->have_sample ? sync_mode_name(p->sync_mode) : NULL;
    cv->have_acked = c->have_acked;
    cv->acked = c->acked;
    cv->primary_ok_mono = c->primary_ok_mono;
}

/* view_sync_health: the cluster's sync replicas (of the nodes just
 * viewed, at nodes[0 .. n)), whether they meet min_sync_replicas, and
 * whether the primary fell back from the configured mode. An async
 * cluster promises no replica acknowledgement, so it is always ok (its
 * count is still shown). */
static void view_sync_health(const struct config_cluster *conf,
                             const struct node_view *nodes, size_t n,
                             struct cluster_view *cv)
{
    const struct config_replication *r = &conf->replication;
    cv->repl_mode = config_repl_mode_name(r->mode);
    cv->min_sync_replicas = r->min_sync_replicas;
    cv->sync_max_lag = r->sync_max_lag;
    cv->sync_replicas = 0;
    for (size_t i = 0; i < n; i++)
        cv->sync_replicas +=
            !nodes[i].is_primary &&
            sync_replica_ok(&nodes[i].rv, nodes[i].have_connected,
                            strcmp(nodes[i].role, "replica") == 0,
                            r->sync_max_lag);
    cv->sync_ok =
        r->mode == REPL_ASYNC || cv->sync_replicas >= r->min_sync_replicas;
    cv->sync_fallback = r->mode != REPL_ASYNC && cv->sync_mode &&
                        (strcmp(cv->sync_mode, "async") == 0 ||
                         strcmp(cv->sync_mode, "blocked") == 0);
}

void assess_round(struct engine *e)
{
    double now = clock_mono(&e->clock);
    e->early_publish = false; /* the publish that follows has it */
    e->last_publish = now;
    struct agent_view *av = &e->view;
    size_t k = 0;
    for (size_t ci = 0; ci < e->n_clusters; ci++) {
        struct cluster_rt *c = &e->clusters[ci];
        struct cluster_view *cv = &av->clusters[ci];
        choose_primary(e, c, now);
        cv->name = c->conf->name;
        cv->lag_source = config_lag_source_name(c->conf->lag_source);
        cv->th = thresholds_of(c->conf);
        cv->read_rise = c->conf->thresholds.read_rise;
        cv->read_fall = c->conf->thresholds.read_fall;
        cv->first_node = k;
        cv->n_nodes = c->n;
        cv->primary = -1;
        cv->merkle_buckets = 0;
        view_failover_inputs(c, cv);
        /* ha.poll: owned: a cluster another member owns is not polled
         * here, so it shows no nodes rather than stale or down ones */
        if (!engine_ha_polls(e, c))
            cv->n_nodes = 0;
        for (size_t ni = 0; ni < cv->n_nodes; ni++, k++) {
            view_node(e, c, ni, &av->nodes[k], now);
            if (av->nodes[k].is_primary && av->nodes[k].up &&
                av->nodes[k].fresh)
                cv->primary = (int)k;
            if (av->nodes[k].have_merkle)
                cv->merkle_buckets = av->nodes[k].merkle_buckets;
        }
        view_sync_health(c->conf, &av->nodes[cv->first_node], cv->n_nodes, cv);
    }
    av->n_clusters = e->n_clusters;
    av->n_nodes = k;
    av->generated_wall = clock_wall(&e->clock);
    av->rounds = e->rounds;
    av->round_duration = e->round_duration;
    av->interval = e->cfg->poll.interval;
    av->ready = e->ready;
    av->dry_run = e->cfg->dry_run;
    const struct tilt *t = &e->tilt;
    av->tilt = tilt_active(t);
    av->tilt_until_wall =
        av->tilt ? av->generated_wall + (t->until - clock_mono(&e->clock)) : 0;
    av->tilt_reason = t->total[TILT_STALL] + t->total[TILT_CLOCK_JUMP]
                          ? tilt_reason_name(t->reason)
                          : NULL;
    av->tilt_amount = t->amount;
    memcpy(av->tilt_total, t->total, sizeof(av->tilt_total));
    if (e->exec)
        executor_fill_view(e->exec, av);
}

/* view_entry: n's entry in e->view as the last assessment left it, or
 * NULL (a cluster another HA member owns shows no nodes). */
struct node_view *view_entry(struct engine *e, const struct cluster_rt *c,
                             const struct node_rt *n)
{
    size_t ci = (size_t)(c - e->clusters), ni = (size_t)(n - c->nodes);
    if (ci >= e->view.n_clusters || ni >= e->view.clusters[ci].n_nodes)
        return NULL;
    struct node_view *v = &e->view.nodes[e->view.clusters[ci].first_node + ni];
    return strcmp(v->name, n->conf->name) == 0 ? v : NULL;
}

bool assess_early_out(struct engine *e, struct cluster_rt *c, struct node_rt *n)
{
    struct node_view *v = view_entry(e, c, n);
    if (!v || v->is_primary || !n->in_rotation || !e->ready)
        return false;
    double now = clock_mono(&e->clock);
    struct node_view t = *v;
    t.up = n->up;
    t.fresh = is_fresh(e, n, now);
    t.have_connected = n->have_sample && n->has_connected;
    t.connected = n->connected;
    t.have_hb_lag = t.have_pos_lag = t.have_reported_lag = false;
    t.rv.reachable = n->up;
    t.rv.fresh = t.fresh;
    t.rv.connected = t.fresh && n->connected;
    t.rv.demoted = n->role == SEEN_ROLE_DEMOTED;
    t.rv.implausible = NULL; /* the round's end judges values */
    replica_lags(e, c, n, &t, now);
    choose_lag(c->conf, &t);
    /* the gate stepped on a copy: the round's end steps the real one
     * with the same poll, and so reaches the same verdict */
    struct rotation_gate g = n->gate;
    const char *why;
    if (rotation_gate_step(&g, &t.rv, c->conf->thresholds.read_max_lag,
                           c->conf->thresholds.read_rise,
                           c->conf->thresholds.read_fall, &why))
        return false;
    /* an exit damped over read_fall polls (lag alone) counts rounds: it
     * shows with the round that completes the count, as it always did */
    if (c->conf->thresholds.read_fall > 1 &&
        read_rotation_ok(&t.rv, HUGE_VAL, NULL))
        return false;
    t.in_rotation = false;
    t.rotation_why = why;
    t.rotation_changes = g.changes;
    t.health = health_classify(
        &t.rv, &(struct thresholds){c->conf->thresholds.warning,
                                    c->conf->thresholds.critical,
                                    c->conf->thresholds.escalate,
                                    c->conf->thresholds.read_max_lag});
    *v = t;
    return true;
}

void assess_publish_early(struct engine *e)
{
    double now = clock_mono(&e->clock), gap = e->cfg->poll.interval / 10;
    if (!e->early_publish || !e->hist_doc_ok ||
        now - e->last_publish < (gap > 0.005 ? gap : 0.005))
        return;
    e->early_publish = false;
    e->last_publish = now;
    /* the snapshot belongs to the round under way (its replica's data
     * is of it), so it counts that round, as the round's end will */
    e->view.rounds = e->rounds + 1;
    /* the parts of the view that other owners' state backs (the
     * executor's samples, the HA members) may have been reallocated
     * since the last assessment: taken again, as at a round's end */
    if (e->exec)
        executor_fill_view(e->exec, &e->view);
    engine_ha_view(e);
    snapbox_publish_view(e->box, &e->view, &e->hist_doc);
    e->view.rounds = e->rounds;
}
