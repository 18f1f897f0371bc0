/* divergence.c: Merkle compares between each replica and its primary,
 * on the engine thread, in the same curl multi loop as the lag polls.
 *
 * Every replica gets one compare per merkle_interval, the replicas' turns
 * spread evenly over the interval, at most MERKLE_SLOTS at once and one
 * a cluster, each on the connections the two nodes' scrapes keep. A
 * compare is a merklewalk: the roots, then the children of the
 * differing nodes level by level.
 *
 * Writes in flight. While a replica lags, the writes it has not applied
 * yet also make buckets differ. So a compare that finds differences
 * notes the primary's position when it started, waits until the replica
 * has applied past it, and rechecks only the differing leaves; leaves
 * that now agree were writes in flight. Writes in flight during the
 * recheck can make a leaf differ again, so while a recheck shrinks the
 * set it is repeated (up to MERKLE_RECHECKS times, each waiting for the
 * replica to pass the position at its own start); a set that a recheck
 * confirms unchanged is the divergence. A replica that lags without
 * corruption thus reports no lasting diff, and a caught-up replica with
 * N corrupt buckets reports exactly N. Until a compare finishes, the
 * last result stands; a compare on stale data is not started. */
#include "monitor/engine_internal.h"

#include "lib/log.h"
#include "profiles/stemedb/merklewalk.h"
#include "lib/poller.h"
#include "profiles/profile.h"
#include "lib/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TICK        0.05 /* seconds between scheduling passes */
#define MIN_TIMEOUT 1.0  /* compares are not urgent: at least 1 s a request */

static bool is_replica(const struct node_rt *n)
{
    return n != &n->c->nodes[n->c->primary];
}

static bool usable(const struct engine *e, const struct node_rt *n, double now)
{
    return n->up && n->have_sample &&
           now - n->ok_mono <= STALE_INTERVALS * e->cfg->poll.interval;
}

void divergence_init(struct engine *e)
{
    struct merklewalk_options o;
    merklewalk_options_default(&o);
    size_t cap = merklewalk_answer_cap(&o);
    for (int i = 0; i < MERKLE_SLOTS; i++) {
        struct merkle_slot *s = &e->mk_slots[i];
        for (int side = 0; side < 2; side++)
            s->req[side] = poller_req_new(e->poller, cap);
        s->owner = NULL;
    }
}

/* ends: the compare's two nodes, side 0 the primary, side 1 the replica. */
static void ends(const struct node_rt *n, const struct node_rt *out[2])
{
    out[0] = &n->c->nodes[n->c->primary];
    out[1] = n;
}

/* release: frees m's slot; with give_back, lending the lenders' scrape
 * slots back the connections start() borrowed (a scrape that ran
 * meanwhile opened its own: the compare slot then keeps this one, for a
 * later compare). Without (the nodes are being freed), the slot keeps
 * them until its next request elsewhere closes them. */
static void release(struct merkle_rt *m, bool give_back)
{
    if (!m->slot)
        return;
    for (int side = 0; side < 2; side++) {
        poller_req_cancel(m->slot->req[side]);
        if (give_back)
            poller_req_lend(m->slot->req[side], m->slot->lender[side]->req);
    }
    m->slot->owner = NULL;
    m->slot = NULL;
}

void divergence_node_free(struct engine *e, struct node_rt *n)
{
    (void)e;
    struct merkle_rt *m = &n->mk;
    release(m, false); /* its cluster's nodes are being freed */
    merklewalk_free(m->w);
    m->w = NULL;
    free(m->cand);
    free(m->listed);
    free(m->ranges);
    m->cand = m->listed = NULL;
    m->ranges = NULL;
}

void divergence_free(struct engine *e)
{
    for (int i = 0; i < MERKLE_SLOTS; i++)
        for (int side = 0; side < 2; side++)
            poller_req_free(e->mk_slots[i].req[side]);
}

void divergence_schedule(struct engine *e, double now)
{
    size_t k = 0, replicas = e->n_nodes - e->n_clusters;
    double iv = e->cfg->poll.merkle_interval;
    for (size_t ci = 0; ci < e->n_clusters; ci++) {
        struct cluster_rt *c = &e->clusters[ci];
        for (size_t ni = 0; ni < c->n; ni++) {
            if (ni == c->conf->primary)
                continue;
            /* after two poll rounds, then evenly over the interval */
            c->nodes[ni].mk.due = now + 2 * e->cfg->poll.interval +
                                  iv * (double)k++ / (double)(replicas + 1);
        }
    }
}

/* --- finishing a compare ------------------------------------------------ */

static void publish(struct engine *e, struct node_rt *n,
                    const struct merklewalk_result *r)
{
    struct merkle_rt *m = &n->mk;
    if (!m->have || m->diff != r->diff_count) {
        enum log_level lvl = r->diff_count ? LOG_WARN : LOG_INFO;
        log_msg(lvl,
                "msg=\"merkle divergence %s\" cluster=%s replica=%s "
                "diff_buckets=%" PRIu64 " buckets=%" PRIu64,
                r->diff_count ? "found" : "none", n->c->conf->name,
                n->conf->name, r->diff_count, r->buckets);
    }
    m->have = true;
    m->diff = r->diff_count;
    m->buckets = r->buckets;
    m->nlisted = r->listed;
    m->listed =
        xrealloc(m->listed, (r->listed ? r->listed : 1) * sizeof(*m->listed));
    if (r->listed)
        memcpy(m->listed, r->diff, r->listed * sizeof(*m->listed));
    char ranges[1024];
    merklewalk_format_ranges(r->diff, r->listed, r->diff_count > r->listed,
                             ranges, sizeof(ranges));
    free(m->ranges);
    m->ranges = xstrdup(ranges);
    struct node_view *v = view_entry(e, n->c, n); /* it pointed at the old */
    if (v)
        v->merkle_ranges = m->ranges;
    m->duration = clock_mono(&e->clock) - m->started;
    m->last_wall = clock_wall(&e->clock);
}

static void end_compare(struct engine *e, struct node_rt *n)
{
    struct merkle_rt *m = &n->mk;
    release(m, true);
    merklewalk_free(m->w);
    m->w = NULL;
    m->phase = MK_IDLE;
    m->due = m->started + e->cfg->poll.merkle_interval;
    if (m->due < clock_mono(&e->clock))
        m->due = clock_mono(&e->clock) + e->cfg->poll.merkle_interval;
}

static void failed(struct engine *e, struct node_rt *n, const char *why)
{
    struct merkle_rt *m = &n->mk;
    m->errors++;
    char q[256];
    log_msg(LOG_WARN,
            "msg=\"merkle compare failed\" cluster=%s replica=%s error=%s",
            n->c->conf->name, n->conf->name, log_quote(q, sizeof(q), why));
    end_compare(e, n);
}

/* walk_done: a walk or recheck finished: publish, or recheck. */
static void walk_done(struct engine *e, struct node_rt *n)
{
    struct merkle_rt *m = &n->mk;
    struct merklewalk_result r;
    struct merklewalk_stats st;
    merklewalk_stats(m->w, &st);
    m->bytes += st.bytes_primary + st.bytes_replica;
    m->bytes_total += st.bytes_primary + st.bytes_replica;
    if (merklewalk_result(m->w, &r) < 0) {
        failed(e, n, merklewalk_error_message(m->w));
        return;
    }
    bool stable = m->phase == MK_RECHECK && r.diff_count == m->ncand;
    if (r.diff_count == 0 || stable) {
        publish(e, n, &r);
        end_compare(e, n);
        return;
    }
    if (m->rechecks >= MERKLE_RECHECKS) {
        /* still shrinking: writes in flight, not divergence; no verdict */
        log_msg(LOG_DEBUG,
                "msg=\"merkle compare inconclusive\" cluster=%s replica=%s "
                "diff_buckets=%" PRIu64,
                n->c->conf->name, n->conf->name, r.diff_count);
        end_compare(e, n);
        return;
    }
    /* recheck the leaves found, or walk again when there were more than
     * a list holds, once the replica has passed the primary's position */
    m->rewalk = r.diff_count > r.listed;
    m->depth = r.depth;
    m->ncand = r.listed;
    m->cand = xrealloc(m->cand, (r.listed ? r.listed : 1) * sizeof(*m->cand));
    if (r.listed)
        memcpy(m->cand, r.diff, r.listed * sizeof(*m->cand));
    merklewalk_free(m->w);
    m->w = NULL;
    release(m, true);
    m->phase = MK_WAIT;
    m->wait_start = clock_mono(&e->clock);
}

/* --- requests ----------------------------------------------------------- */

static void on_answer(void *arg, const struct poll_result *r);

/* issue: sends the walk's next request to both nodes, or finishes. */
static void issue(struct engine *e, struct node_rt *n)
{
    struct merkle_rt *m = &n->mk;
    struct merklewalk_request rq;
    int rc = merklewalk_next(m->w, &rq);
    if (rc == 0) {
        walk_done(e, n);
        return;
    }
    if (rc < 0) {
        failed(e, n, merklewalk_error_message(m->w));
        return;
    }
    const struct node_rt *end[2];
    ends(n, end);
    for (int side = 0; side < 2; side++) {
        char url[1024];
        snprintf(url, sizeof(url), "%s%s", end[side]->conf->url, rq.path);
        struct poll_req *req = m->slot->req[side];
        void *ctx = &m->slot->ctx[side];
        double t = e->cfg->poll.timeout > MIN_TIMEOUT ? e->cfg->poll.timeout
                                                      : MIN_TIMEOUT;
        int sent = rq.post
                       ? poller_post_json(req, url, rq.body, t, on_answer, ctx)
                       : poller_get(req, url, t, on_answer, ctx);
        if (sent < 0) {
            failed(e, n, "request not started");
            return;
        }
    }
}

static void on_answer(void *arg, const struct poll_result *r)
{
    const struct merkle_ctx *ctx = arg;
    struct node_rt *n = ctx->n;
    int side = ctx->side;
    struct merkle_rt *m = &n->mk;
    struct engine *e = n->c->e;
    enum merklewalk_side ws = side ? MERKLEWALK_REPLICA : MERKLEWALK_PRIMARY;
    int rc;
    if (r->outcome == POLL_OK) {
        rc = merklewalk_feed(m->w, ws, r->body, r->len);
    } else {
        char why[160];
        snprintf(why, sizeof(why), "%s",
                 r->outcome == POLL_HTTP_STATUS ? "HTTP error status"
                                                : r->error);
        rc = merklewalk_fail(m->w, ws, why);
    }
    if (rc == 1)
        issue(e, n);
    else if (rc < 0)
        failed(e, n, merklewalk_error_message(m->w));
}

/* --- starting compares -------------------------------------------------- */

/* take_slot: a free slot for n's compare, or NULL when none is free or
 * another compare in n's cluster holds one: one compare a cluster at a
 * time, so the one borrows the primary's connection (start()) and
 * needs no other (a cluster's replicas come due one after another, and
 * their rechecks start after the same scrape). */
static struct merkle_slot *take_slot(struct engine *e, struct node_rt *n)
{
    struct merkle_slot *s = NULL;
    for (int i = 0; i < MERKLE_SLOTS; i++) {
        struct merkle_slot *t = &e->mk_slots[i];
        if (t->owner && t->owner->c == n->c)
            return NULL;
        if (!t->owner && !s)
            s = t;
    }
    if (!s)
        return NULL;
    s->owner = n;
    for (int side = 0; side < 2; side++) {
        s->ctx[side].n = n;
        s->ctx[side].side = side;
    }
    return s;
}

static void start(struct engine *e, struct node_rt *n, bool recheck)
{
    struct merkle_rt *m = &n->mk;
    struct merkle_slot *s = take_slot(e, n);
    if (!s)
        return; /* none free for it now: try on a later tick */
    m->slot = s;
    /* each side asks on the connection its node's scrapes keep open,
     * unless a scrape is running or the slot has one to that node */
    ends(n, s->lender);
    for (int side = 0; side < 2; side++)
        poller_req_lend(s->lender[side]->req, s->req[side]);
    m->target = n->c->nodes[n->c->primary].position;
    if (recheck && m->rewalk) {
        m->w = merklewalk_new(NULL);
        m->phase = MK_WALK;
        m->rechecks++;
    } else if (recheck) {
        struct merklewalk_options o;
        merklewalk_options_default(&o);
        o.recheck_parents = true; /* one request, 16 hashes a leaf */
        m->w = merklewalk_recheck_new(m->depth, m->cand, m->ncand, &o);
        m->phase = MK_RECHECK;
        m->rechecks++;
    } else {
        m->w = merklewalk_new(NULL);
        m->phase = MK_WALK;
        m->rechecks = 0;
        m->bytes = 0;
        m->started = clock_mono(&e->clock);
    }
    issue(e, n);
}

static void tick_node(struct engine *e, struct node_rt *n, double now)
{
    struct merkle_rt *m = &n->mk;
    const struct node_rt *p = &n->c->nodes[n->c->primary];
    bool ok = usable(e, n, now) && usable(e, p, now);
    if (m->phase == MK_IDLE && now >= m->due) {
        if (ok)
            start(e, n, false);
        else /* stale data: no compare, and no verdict */
            m->due = now + e->cfg->poll.interval;
    } else if (m->phase == MK_WAIT &&
               now - m->wait_start > e->cfg->poll.merkle_interval) {
        /* a replica that keeps falling behind never passes the position
         * (its lag is what the lag alerts are for), or its recheck found
         * no slot all along: no verdict this time */
        log_msg(LOG_DEBUG,
                "msg=\"merkle compare inconclusive: no recheck within "
                "merkle_interval\" cluster=%s replica=%s caught_up=%s",
                n->c->conf->name, n->conf->name,
                n->position >= m->target ? "yes" : "no");
        end_compare(e, n);
    } else if (m->phase == MK_WAIT && ok && n->position >= m->target) {
        start(e, n, true);
    }
}

void divergence_tick(struct engine *e, double now)
{
    if (now < e->mk_next_tick)
        return;
    e->mk_next_tick = now + TICK;
    for (size_t ci = 0; ci < e->n_clusters; ci++) {
        struct cluster_rt *c = &e->clusters[ci];
        if (!profile_of(c->conf->profile)->merkle)
            continue; /* its datastore has no Merkle compares */
        for (size_t ni = 0; ni < c->n; ni++)
            if (is_replica(&c->nodes[ni]))
                tick_node(e, &c->nodes[ni], now);
    }
}
