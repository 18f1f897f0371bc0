/* sim.c: dynamics and admin operations of the simulated clusters.
 *
 * The cluster's write stream is implicit: the write at position p is
 * (key hash(seed, p), value p) unless p holds a heartbeat. So a replica
 * needs no copy of the stream, only the primary's position history (to
 * know what the primary had link_delay ago) and the heartbeat ring.
 *
 * Faults and rendering live in simfault.c and simrender.c; this file
 * and those share struct sim through sim_internal.h. */
#include "sim/sim_internal.h"

#include "lib/merkle.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sim_options_default(struct sim_options *o)
{
    o->clusters = 1;
    o->nodes = 3;
    o->ingest_rate = 1000;
    o->apply_rate = 5000;
    o->link_delay = 0.02;
    o->merkle_depth = 4;
    o->keys = 65536;
    o->seed = 1;
    o->mode = SIM_MODE_ASYNC;
    o->min_sync = 1;
    o->fallback_block = false;
    o->name = NULL;
}

const char *sim_strerror(int err)
{
    static const char *const msg[] = {
        [SIM_OK] = "ok",
        [SIM_EINVAL] = "invalid argument",
        [SIM_ENONODE] = "no such node",
        [SIM_ENOTPRIMARY] = "not the primary",
        [SIM_ESTATE] = "not possible in the current state",
        [SIM_EUNAVAIL] = "unavailable",
    };
    if (err < 0)
        err = -err;
    if (err >= (int)ARRAY_LEN(msg))
        return "unknown error";
    return msg[err];
}

static int check_options(const struct sim_options *o, char *err, size_t errlen)
{
    const char *bad = NULL;
    if (o->clusters < 1 || o->clusters > 10000)
        bad = "clusters must be 1..10000";
    else if (o->nodes < 1 || o->nodes > 64)
        bad = "nodes must be 1..64";
    else if (o->clusters * o->nodes > 20000)
        bad = "at most 20000 nodes in all";
    else if (!(o->ingest_rate >= 0 && o->ingest_rate <= 1e7))
        bad = "ingest rate must be 0..1e7";
    else if (!(o->apply_rate >= 0 && o->apply_rate <= 1e7))
        bad = "apply rate must be 0..1e7";
    else if (!(o->link_delay >= 0 && o->link_delay <= 60))
        bad = "link delay must be 0..60s";
    else if (o->merkle_depth < 1 || o->merkle_depth > MERKLE_MAX_DEPTH)
        bad = "merkle depth must be 1..6";
    else if (o->keys < 1)
        bad = "keys must be at least 1";
    else if (o->mode > SIM_MODE_SYNC || o->min_sync < 1 ||
             o->min_sync >= o->nodes + (o->mode == SIM_MODE_ASYNC))
        bad = "min sync replicas must be 1..nodes-1";
    if (bad)
        snprintf(err, errlen, "%s", bad);
    return bad ? -1 : 0;
}

static void cluster_init(struct sim *s, struct cluster *c, unsigned ci)
{
    if (s->opt.name && ci == 0)
        snprintf(c->name, sizeof(c->name), "%s", s->opt.name);
    else
        snprintf(c->name, sizeof(c->name), "%s%u",
                 s->opt.name ? s->opt.name : "c", ci + 1);
    c->seed = mix64(s->opt.seed * 0x9e3779b97f4a7c15ULL + ci);
    c->fault_rng = c->seed ^ 0x5851f42d4c957f2dULL;
    c->hist = xcalloc(HIST_CAP, sizeof(*c->hist));
    c->hb = xcalloc(HB_CAP, sizeof(*c->hb));
    c->hist[0] = (struct hist_sample){s->now, 0};
    c->hist_len = 1;
    c->nodes = xcalloc(s->opt.nodes, sizeof(*c->nodes));
    for (unsigned ni = 0; ni < s->opt.nodes; ni++) {
        struct node *n = &c->nodes[ni];
        snprintf(n->name, sizeof(n->name), "node%u", ni + 1);
        n->store = merkle_new(s->opt.merkle_depth, s->opt.keys);
        n->sync_progress = 1;
        sim_repl_init(n);
    }
}

struct sim *sim_new(const struct sim_options *o, const struct rg_clock *clock,
                    char *err, size_t errlen)
{
    if (check_options(o, err, errlen) < 0)
        return NULL;
    struct sim *s = xcalloc(1, sizeof(*s));
    s->opt = *o;
    s->clock = *clock;
    s->now = clock_mono(clock);
    s->next_expiry = INFINITY;
    s->clusters = xcalloc(o->clusters, sizeof(*s->clusters));
    for (unsigned ci = 0; ci < o->clusters; ci++)
        cluster_init(s, &s->clusters[ci], ci);
    s->opt.name = NULL; /* borrowed */
    return s;
}

void sim_free(struct sim *s)
{
    if (!s)
        return;
    for (unsigned ci = 0; ci < s->opt.clusters; ci++) {
        struct cluster *c = &s->clusters[ci];
        for (unsigned ni = 0; ni < s->opt.nodes; ni++) {
            merkle_free(c->nodes[ni].store);
            free(c->nodes[ni].sync_leaves);
        }
        free(c->nodes);
        free(c->hist);
        free(c->hb);
    }
    free(s->clusters);
    free(s);
}

/* --- the primary's position history ------------------------------------ */

static const struct hist_sample *hist_at(const struct cluster *c, size_t i)
{
    return &c->hist[(c->hist_head + i) % HIST_CAP];
}

static void hist_push(struct cluster *c, double t, uint64_t pos)
{
    const struct hist_sample *last = hist_at(c, c->hist_len - 1);
    if (t - last->t < HIST_STEP && last->pos != 0) {
        /* too soon for a new sample: the live point is (now, position) */
        return;
    }
    if (c->hist_len < HIST_CAP) {
        c->hist_len++;
    } else {
        c->hist_head = (c->hist_head + 1) % HIST_CAP;
    }
    c->hist[(c->hist_head + c->hist_len - 1) % HIST_CAP] =
        (struct hist_sample){t, pos};
}

/* position_at: the primary's position at time t, interpolated between
 * samples; the live point (now, position) ends the history. */
static uint64_t position_at(const struct sim *s, const struct cluster *c,
                            double t)
{
    if (t >= s->now)
        return c->position;
    size_t lo = 0, hi = c->hist_len; /* first sample with time > t */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (hist_at(c, mid)->t <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return hist_at(c, 0)->pos;
    const struct hist_sample *a = hist_at(c, lo - 1);
    struct hist_sample b = lo < c->hist_len
                               ? *hist_at(c, lo)
                               : (struct hist_sample){s->now, c->position};
    if (b.t <= a->t)
        return b.pos;
    double f = (t - a->t) / (b.t - a->t);
    return a->pos + (uint64_t)floor(f * (double)(b.pos - a->pos));
}

/* time_reached: when the primary first reached pos (pos <= position). */
static double time_reached(const struct sim *s, const struct cluster *c,
                           uint64_t pos)
{
    size_t lo = 0, hi = c->hist_len; /* first sample with pos >= target */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (hist_at(c, mid)->pos < pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return hist_at(c, 0)->t;
    const struct hist_sample *a = hist_at(c, lo - 1);
    struct hist_sample b = lo < c->hist_len
                               ? *hist_at(c, lo)
                               : (struct hist_sample){s->now, c->position};
    if (b.pos <= a->pos)
        return b.t;
    double f = (double)(pos - a->pos) / (double)(b.pos - a->pos);
    return a->t + f * (b.t - a->t);
}

double sim_replica_lag(const struct sim *s, const struct cluster *c,
                       const struct node *n)
{
    if (n->applied >= c->position)
        return 0;
    double lag = s->now - time_reached(s, c, n->applied + 1);
    return lag > 0 ? lag : 0;
}

/* --- applying the stream -------------------------------------------------- */

static uint32_t key_of(const struct sim *s, const struct cluster *c,
                       uint64_t pos)
{
    return (uint32_t)(mix64(c->seed ^ pos) % s->opt.keys);
}

/* hb_first_after: index (from the oldest) of the first heartbeat with a
 * position above pos, or hb_len. */
static size_t hb_first_after(const struct cluster *c, uint64_t pos)
{
    size_t lo = 0, hi = c->hb_len;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c->hb[(c->hb_head + mid) % HB_CAP].pos <= pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* apply_to: applies the stream to node n up to position `to`, in order. */
static void apply_to(struct sim *s, struct cluster *c, struct node *n,
                     uint64_t to)
{
    size_t j = hb_first_after(c, n->applied);
    for (uint64_t p = n->applied + 1; p <= to; p++) {
        const struct heartbeat *hb =
            j < c->hb_len ? &c->hb[(c->hb_head + j) % HB_CAP] : NULL;
        if (hb && hb->pos == p) {
            n->hb_ts = hb->ts;
            j++;
        } else {
            merkle_put(n->store, key_of(s, c, p), p);
        }
    }
    if (to > n->applied)
        n->applied = to;
}

static bool node_down(const struct node *n)
{
    return n->faults[SIM_FAULT_DOWN].on || n->faults[SIM_FAULT_CRASH].on;
}

bool sim_node_down(const struct node *n)
{
    return node_down(n);
}

static double ingest_rate(const struct sim *s, const struct cluster *c)
{
    const struct node *p = &c->nodes[c->primary];
    if (node_down(p) || p->fenced)
        return 0;
    double rate = p->faults[SIM_FAULT_INGEST_BURST].on
                      ? p->faults[SIM_FAULT_INGEST_BURST].f.rate
                      : s->opt.ingest_rate;
    if (c->rate_limit > 0 && rate > c->rate_limit)
        rate = c->rate_limit;
    return rate;
}

static void step_primary(struct sim *s, struct cluster *c, double dt)
{
    struct node *p = &c->nodes[c->primary];
    c->ingest_frac += ingest_rate(s, c) * dt;
    uint64_t n = (uint64_t)(c->ingest_frac + FRAC_EPS);
    c->ingest_frac -= (double)n;
    apply_to(s, c, p, c->position + n);
    c->position = p->applied;
}

void sim_append(struct sim *s, struct cluster *c, uint64_t count)
{
    struct node *p = &c->nodes[c->primary];
    apply_to(s, c, p, c->position + count);
    c->position = p->applied;
}

bool sim_node_connected(const struct sim *s, const struct cluster *c,
                        const struct node *n)
{
    (void)s;
    const struct node *p = &c->nodes[c->primary];
    return !node_down(n) && !node_down(p) &&
           !n->faults[SIM_FAULT_DISCONNECT].on &&
           !n->faults[SIM_FAULT_REPL_PARTITION].on &&
           !p->faults[SIM_FAULT_REPL_PARTITION].on && sim_repl_follows(c, n);
}

static double apply_rate(const struct sim *s, const struct node *n)
{
    if (node_down(n) || n->faults[SIM_FAULT_STALL].on ||
        n->faults[SIM_FAULT_PAUSE].on || n->nbreakers > 0)
        return 0;
    if (n->faults[SIM_FAULT_SLOW_APPLY].on)
        return s->opt.apply_rate * n->faults[SIM_FAULT_SLOW_APPLY].f.factor;
    return s->opt.apply_rate;
}

static void step_replica(struct sim *s, struct cluster *c, struct node *n,
                         double dt)
{
    bool stream_blocked = c->nodes[c->primary].nbreakers > 0;
    if (sim_node_connected(s, c, n) && !stream_blocked) {
        sim_repl_adopt(c, n);
        uint64_t avail = position_at(s, c, s->now - s->opt.link_delay);
        if (avail > n->received) {
            c->nodes[c->primary].bytes_sent +=
                (avail - n->received) * WRITE_BYTES;
            n->received = avail;
        }
    }
    n->apply_frac += apply_rate(s, n) * dt;
    uint64_t backlog = n->received - n->applied;
    uint64_t k = (uint64_t)(n->apply_frac + FRAC_EPS);
    if (k >= backlog) {
        k = backlog;
        n->apply_frac = 0; /* no credit is banked while caught up */
    } else {
        n->apply_frac -= (double)k;
    }
    apply_to(s, c, n, n->applied + k);
}

static void step_sync(struct sim *s, struct cluster *c, struct node *n)
{
    if (!n->syncing)
        return;
    if (!sim_node_connected(s, c, n)) {
        n->syncing = false;
        n->sync_errors++;
        free(n->sync_leaves);
        n->sync_leaves = NULL;
        return;
    }
    double span = n->sync_end - n->sync_start;
    n->sync_progress = span > 0 ? (s->now - n->sync_start) / span : 1;
    if (s->now < n->sync_end)
        return;
    for (size_t i = 0; i < n->sync_nleaves; i++)
        merkle_repair(n->store, n->sync_leaves[i]);
    free(n->sync_leaves);
    n->sync_leaves = NULL;
    n->syncing = false;
    n->sync_progress = 1;
    n->sync_duration = span;
}

void sim_step(struct sim *s)
{
    double now = clock_mono(&s->clock);
    double dt = now - s->now;
    if (dt < 0)
        dt = 0;
    s->now = now > s->now ? now : s->now;
    sim_expire_faults(s);
    for (unsigned ci = 0; ci < s->opt.clusters; ci++) {
        struct cluster *c = &s->clusters[ci];
        step_primary(s, c, dt);
        hist_push(c, s->now, c->position);
        for (unsigned ni = 0; ni < s->opt.nodes; ni++) {
            if (ni == c->primary)
                continue;
            step_replica(s, c, &c->nodes[ni], dt);
            step_sync(s, c, &c->nodes[ni]);
        }
        sim_repl_ack(s, c);
    }
}

/* --- shape and readers ---------------------------------------------------- */

unsigned sim_clusters(const struct sim *s)
{
    return s->opt.clusters;
}

unsigned sim_nodes(const struct sim *s)
{
    return s->opt.nodes;
}

const char *sim_cluster_name(const struct sim *s, unsigned ci)
{
    return s->clusters[ci].name;
}

const char *sim_node_name(const struct sim *s, unsigned ci, unsigned ni)
{
    return s->clusters[ci].nodes[ni].name;
}

int sim_find_node(const struct sim *s, unsigned ci, const char *name)
{
    if (!name)
        return -1;
    for (unsigned ni = 0; ni < s->opt.nodes; ni++)
        if (strcmp(s->clusters[ci].nodes[ni].name, name) == 0)
            return (int)ni;
    return -1;
}

bool sim_is_primary(const struct sim *s, unsigned ci, unsigned ni)
{
    return s->clusters[ci].primary == ni;
}

bool sim_is_demoted(const struct sim *s, unsigned ci, unsigned ni)
{
    return s->clusters[ci].nodes[ni].demoted;
}

uint64_t sim_position(const struct sim *s, unsigned ci, unsigned ni)
{
    return s->clusters[ci].nodes[ni].applied;
}

double sim_heartbeat_ts(const struct sim *s, unsigned ci, unsigned ni)
{
    return s->clusters[ci].nodes[ni].hb_ts;
}

bool sim_connected(const struct sim *s, unsigned ci, unsigned ni)
{
    const struct cluster *c = &s->clusters[ci];
    return sim_node_connected(s, c, &c->nodes[ni]);
}

struct merkle *sim_merkle(struct sim *s, unsigned ci, unsigned ni)
{
    return s->clusters[ci].nodes[ni].store;
}

/* --- the admin API -------------------------------------------------------- */

/* target: resolves a replica_id for a call that only the primary takes. */
static int primary_target(struct sim *s, unsigned ci, unsigned ni,
                          const char *replica, struct node **out)
{
    struct cluster *c = &s->clusters[ci];
    if (c->primary != ni)
        return -SIM_ENOTPRIMARY;
    int ri = sim_find_node(s, ci, replica);
    if (ri < 0)
        return -SIM_ENONODE;
    if ((unsigned)ri == c->primary)
        return -SIM_EINVAL;
    *out = &c->nodes[ri];
    return 0;
}

int sim_heartbeat(struct sim *s, unsigned ci, unsigned ni, double ts)
{
    struct cluster *c = &s->clusters[ci];
    if (c->primary != ni)
        return -SIM_ENOTPRIMARY;
    if (c->nodes[ni].fenced)
        return -SIM_ESTATE;
    if (!isfinite(ts) || ts <= 0)
        return -SIM_EINVAL;
    if (c->hb_len == HB_CAP) {
        c->hb_head = (c->hb_head + 1) % HB_CAP;
        c->hb_len--;
    }
    struct node *p = &c->nodes[ni];
    c->hb[(c->hb_head + c->hb_len) % HB_CAP] =
        (struct heartbeat){c->position + 1, ts};
    c->hb_len++;
    apply_to(s, c, p, c->position + 1);
    c->position = p->applied;
    return 0;
}

int sim_set_rate_limit(struct sim *s, unsigned ci, unsigned ni, double limit)
{
    struct cluster *c = &s->clusters[ci];
    if (c->primary != ni)
        return -SIM_ENOTPRIMARY;
    if (!isfinite(limit) || limit < 0)
        return -SIM_EINVAL;
    c->rate_limit = limit;
    return 0;
}

int sim_sync(struct sim *s, unsigned ci, unsigned ni, const char *replica)
{
    struct node *r;
    int rc = primary_target(s, ci, ni, replica, &r);
    if (rc < 0)
        return rc;
    if (!sim_node_connected(s, &s->clusters[ci], r)) {
        r->sync_errors++;
        return -SIM_EUNAVAIL;
    }
    size_t n = merkle_corrupt_count(r->store);
    free(r->sync_leaves);
    r->sync_leaves = xcalloc(n ? n : 1, sizeof(uint64_t));
    r->sync_nleaves = merkle_corrupt_list(r->store, r->sync_leaves, n);
    r->syncing = true;
    r->sync_start = s->now;
    r->sync_end = s->now + SYNC_BASE + (double)n / SYNC_BUCKETS_PER_SEC;
    r->sync_progress = 0;
    s->clusters[ci].nodes[ni].bytes_sent += 4096 + (uint64_t)n * 1024;
    return 0;
}

int sim_demote(struct sim *s, unsigned ci, unsigned ni, const char *replica)
{
    struct node *r;
    int rc = primary_target(s, ci, ni, replica, &r);
    if (rc == -SIM_EINVAL)
        return -SIM_ESTATE; /* the primary cannot be demoted */
    if (rc < 0)
        return rc;
    r->demoted = true;
    return 0;
}

int sim_promote(struct sim *s, unsigned ci, unsigned ni, const char *replica)
{
    return sim_promote_epoch(s, ci, ni, replica, 0);
}

void sim_reset_stream(struct sim *s, struct cluster *c, uint64_t pos)
{
    c->hb_len = hb_first_after(c, pos);
    c->hist_head = 0;
    c->hist_len = 1;
    c->hist[0] = (struct hist_sample){s->now, pos};
    c->position = pos;
    c->rate_limit = 0;
    c->ingest_frac = 0;
}

int sim_read(struct sim *s, unsigned ci, unsigned ni, uint64_t *position)
{
    const struct node *n = &s->clusters[ci].nodes[ni];
    if (n->demoted)
        return -SIM_EUNAVAIL;
    *position = n->applied;
    return 0;
}

double sim_read_lag(const struct sim *s, unsigned ci, unsigned ni)
{
    const struct cluster *c = &s->clusters[ci];
    return ni == c->primary ? 0 : sim_replica_lag(s, c, &c->nodes[ni]);
}

size_t sim_breakers(const struct sim *s, unsigned ci, unsigned ni,
                    struct sim_breaker *out, size_t max)
{
    const struct node *n = &s->clusters[ci].nodes[ni];
    for (size_t i = 0; i < n->nbreakers && i < max; i++)
        out[i] = n->breakers[i];
    return n->nbreakers;
}

int sim_breaker_reset(struct sim *s, unsigned ci, unsigned ni,
                      const char *agent_id)
{
    struct node *n = &s->clusters[ci].nodes[ni];
    for (size_t i = 0; agent_id && i < n->nbreakers; i++) {
        if (strcmp(n->breakers[i].agent_id, agent_id) == 0) {
            n->breakers[i] = n->breakers[--n->nbreakers];
            return 0;
        }
    }
    return -SIM_EINVAL;
}

int sim_fence_token(struct sim *s, unsigned ci, uint64_t token)
{
    struct cluster *c = &s->clusters[ci];
    if (token < c->fence) {
        c->fence_refused++;
        return -SIM_ESTATE;
    }
    c->fence = token;
    return 0;
}

void sim_count_admin(struct sim *s, unsigned ci, unsigned ni,
                     enum sim_endpoint ep)
{
    if (ep < SIM_EP_COUNT)
        s->clusters[ci].nodes[ni].admin[ep]++;
}

void sim_count_connection(struct sim *s, unsigned ci, unsigned ni)
{
    s->clusters[ci].nodes[ni].http_conns++;
}

void sim_count_bytes(struct sim *s, unsigned ci, unsigned ni, uint64_t n)
{
    s->clusters[ci].nodes[ni].bytes_sent += n;
}
