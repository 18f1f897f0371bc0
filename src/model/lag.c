/* lag.c: counter resets, position and heartbeat lag, health. */
#include "model/lag.h"

#include <math.h>
#include <string.h>

uint64_t counter_track_update(struct counter_track *c, uint64_t raw,
                              bool *reset)
{
    bool r = c->seen && raw < c->last_raw;
    if (r)
        c->offset += c->last_raw;
    c->last_raw = raw;
    c->seen = true;
    if (reset)
        *reset = r;
    return c->offset + raw;
}

/* --- position history --------------------------------------------------- */

#define AT(h, i) ((h)->s[(i)])

void poshist_reset(struct poshist *h)
{
    h->len = 0;
}

uint64_t poshist_latest(const struct poshist *h)
{
    return h->len ? AT(h, h->len - 1).pos : 0;
}

/* thin: keeps every other sample of the older half (its first always),
 * freeing a quarter of the history. */
static void thin(struct poshist *h)
{
    size_t half = h->len / 2, k = 0;
    for (size_t i = 0; i < half; i += 2)
        h->s[k++] = h->s[i];
    memmove(&h->s[k], &h->s[half], (h->len - half) * sizeof(h->s[0]));
    h->len = k + (h->len - half);
}

void poshist_add(struct poshist *h, double t, uint64_t pos)
{
    if (h->len && pos < poshist_latest(h))
        poshist_reset(h);
    if (h->len && t < AT(h, h->len - 1).t)
        return; /* time never goes back on the monotonic clock */
    /* a run of equal positions keeps its first and last sample */
    if (h->len >= 2 && AT(h, h->len - 1).pos == pos &&
        AT(h, h->len - 2).pos == pos) {
        AT(h, h->len - 1).t = t;
        return;
    }
    if (h->len == POSHIST_CAP)
        thin(h);
    AT(h, h->len).t = t;
    AT(h, h->len).pos = pos;
    h->len++;
}

int poshist_rate(const struct poshist *h, double window, double *rate)
{
    if (h->len < 2)
        return -1;
    size_t last = h->len - 1, first = last;
    while (first > 0 && AT(h, last).t - AT(h, first - 1).t <= window)
        first--;
    if (first == last)
        first = last - 1;
    double dt = AT(h, last).t - AT(h, first).t;
    if (dt <= 0)
        return -1;
    *rate = (double)(AT(h, last).pos - AT(h, first).pos) / dt;
    return 0;
}

int poshist_lag(const struct poshist *h, uint64_t pos, double now, double *lag)
{
    if (h->len == 0)
        return -1;
    if (pos >= poshist_latest(h)) {
        *lag = 0;
        return 0;
    }
    /* the oldest write the replica lacks is pos + 1: find the first
     * sample at or past it */
    uint64_t want = pos + 1;
    size_t lo = 0, hi = h->len;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (AT(h, mid).pos < want)
            lo = mid + 1;
        else
            hi = mid;
    }
    double reached;
    if (lo == 0) {
        reached = AT(h, 0).t;
    } else {
        double t0 = AT(h, lo - 1).t, t1 = AT(h, lo).t;
        uint64_t p0 = AT(h, lo - 1).pos, p1 = AT(h, lo).pos;
        reached = t0 + (t1 - t0) * (double)(want - p0) / (double)(p1 - p0);
    }
    *lag = now > reached ? now - reached : 0;
    return 0;
}

/* --- heartbeat history -------------------------------------------------- */

#define HB(h, i) ((h)->v[((h)->head + (i)) % HBHIST_CAP])

void hbhist_reset(struct hbhist *h)
{
    h->head = 0;
    h->len = 0;
}

void hbhist_add(struct hbhist *h, double value)
{
    if (h->len && value <= HB(h, h->len - 1))
        return;
    if (h->len == HBHIST_CAP) {
        h->head = (h->head + 1) % HBHIST_CAP;
        h->len--;
    }
    HB(h, h->len) = value;
    h->len++;
}

int hbhist_lag(const struct hbhist *h, double applied, double now, double *lag)
{
    if (h->len == 0)
        return -1;
    size_t lo = 0, hi = h->len; /* the oldest heartbeat newer than applied */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (HB(h, mid) <= applied)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == h->len) {
        *lag = 0;
        return 0;
    }
    double missing = HB(h, lo);
    *lag = now > missing ? now - missing : 0;
    return 0;
}

/* --- health ------------------------------------------------------------- */

const char *health_name(enum health h)
{
    static const char *const names[HEALTH_COUNT] = {"healthy", "degraded",
                                                    "unhealthy", "unknown"};
    return h < HEALTH_COUNT ? names[h] : "unknown";
}

enum health health_classify(const struct replica_view *v,
                            const struct thresholds *t)
{
    if (!v->reachable || !v->fresh)
        return HEALTH_UNKNOWN;
    if (!v->connected)
        return HEALTH_UNHEALTHY;
    if (!v->have_lag || v->implausible)
        return HEALTH_UNKNOWN;
    if (v->lag >= t->critical)
        return HEALTH_UNHEALTHY;
    if (v->lag >= t->warning)
        return HEALTH_DEGRADED;
    return HEALTH_HEALTHY;
}

bool read_rotation_ok(const struct replica_view *v, double max_lag,
                      const char **why)
{
    const char *r = NULL;
    if (!v->reachable)
        r = "unreachable";
    else if (!v->fresh)
        r = "stale";
    else if (!v->connected)
        r = "disconnected";
    else if (v->demoted)
        r = "demoted";
    else if (v->implausible)
        r = v->implausible;
    else if (!v->have_lag)
        r = "lag unknown";
    else if (v->lag > max_lag)
        r = "lag above max_lag";
    if (why)
        *why = r;
    return r == NULL;
}

/* --- flap-free read rotation -------------------------------------------- */

bool rotation_gate_step(struct rotation_gate *g, const struct replica_view *v,
                        double max_lag, unsigned rise, unsigned fall,
                        const char **why)
{
    const char *fault = NULL;
    bool ok = read_rotation_ok(v, max_lag, &fault);
    /* fit at any bound: the lag is the poll's only fault */
    bool lag_only = !ok && read_rotation_ok(v, HUGE_VAL, NULL);
    unsigned need = g->in ? (fall ? fall : 1) : (rise ? rise : 1);

    if (!g->decided) {
        g->decided = true;
        g->in = ok;
        g->streak = 0;
    } else if (ok == g->in) {
        g->streak = 0;
    } else if (g->in && !lag_only) {
        g->streak = need; /* leaves at once */
    } else {
        g->streak++;
    }
    if (g->streak >= need && ok != g->in) {
        g->in = ok;
        g->streak = 0;
        g->changes++;
    }
    if (why)
        *why = g->in ? NULL : ok ? ROTATION_WHY_RISE : fault;
    return g->in;
}

bool rotation_gate_hold(const struct rotation_gate *g,
                        const struct replica_view *v, double max_lag,
                        const char **why)
{
    const char *fault = NULL;
    bool ok = read_rotation_ok(v, max_lag, &fault);
    if (why)
        *why = g->in ? NULL : ok ? ROTATION_WHY_RISE : fault;
    return g->in;
}

/* --- sync health -------------------------------------------------------- */

bool sync_replica_ok(const struct replica_view *v, bool have_connected,
                     bool role_ok, double max_lag)
{
    return v->reachable && v->fresh && have_connected && v->connected &&
           role_ok && !v->demoted && !v->implausible && v->have_lag &&
           v->lag <= max_lag;
}

/* --- replica states ----------------------------------------------------- */

const char *replica_state_name(enum replica_state s)
{
    static const char *const names[RSTATE_COUNT] = {
        "active", "paused", "syncing", "failed", "removed"};
    return s < RSTATE_COUNT ? names[s] : "failed";
}

enum replica_state replica_state_step(struct replica_track *t,
                                      const struct replica_obs *o, double now,
                                      double warning, double critical)
{
    bool down = !o->seen || o->stream_down;
    if (!down)
        t->down_since = 0;
    else if (t->down_since == 0)
        t->down_since = now;
    if (down)
        t->catching_up = true;
    else if (o->have_lag && o->lag < warning)
        t->catching_up = false;
    if (o->removed)
        return RSTATE_REMOVED;
    if (!o->seen || (down && now - t->down_since >= critical))
        return RSTATE_FAILED;
    if (o->paused)
        return RSTATE_PAUSED;
    if (o->forced_sync || t->catching_up)
        return RSTATE_SYNCING;
    return RSTATE_ACTIVE;
}
