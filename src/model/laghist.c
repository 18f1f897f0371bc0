/* laghist.c: the lag history ring (laghist.h). */
#include "model/laghist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "model/view.h"

void laghist_init(struct laghist *h, size_t n_nodes, double window,
                  size_t points, double interval)
{
    memset(h, 0, sizeof(*h));
    h->n_nodes = n_nodes;
    h->window = window;
    h->step = window / (double)points;
    if (interval > h->step)
        h->step = interval;
    h->cap = (size_t)ceil(window / h->step);
    if (h->cap < 1)
        h->cap = 1;
    if (h->cap > points)
        h->cap = points;
    h->t = xcalloc(h->cap, sizeof(*h->t));
    h->v = xcalloc(n_nodes ? n_nodes * h->cap : 1, sizeof(*h->v));
}

void laghist_free(struct laghist *h)
{
    free(h->t);
    free(h->v);
    memset(h, 0, sizeof(*h));
}

size_t laghist_slot(const struct laghist *h, size_t i)
{
    return (h->head + h->cap + 1 - h->n + i) % h->cap;
}

/* sample: what the ring keeps of node n this round: a fresh replica's
 * lag, else NaN (unknown, or the primary). */
static float sample(const struct node_view *n)
{
    if (n->is_primary || !n->fresh || !n->rv.have_lag || !isfinite(n->rv.lag))
        return NAN;
    return (float)n->rv.lag;
}

void laghist_add(struct laghist *h, const struct agent_view *v, double now)
{
    if (!h->t || v->n_nodes != h->n_nodes)
        return;
    if (h->n > 0 && now < h->t[h->head])
        h->n = 0; /* the clock went back: the old times mean nothing */
    /* a round a little early (jitter) still counts as the next slot */
    bool fresh_slot = h->n == 0 || now - h->t[h->head] >= h->step * 0.95;
    if (fresh_slot) {
        h->head = h->n == 0 ? 0 : (h->head + 1) % h->cap;
        if (h->n < h->cap)
            h->n++;
        h->t[h->head] = now;
        h->slots++;
    }
    for (size_t i = 0; i < h->n_nodes; i++) {
        float s = sample(&v->nodes[i]);
        float *slot = &h->v[i * h->cap + h->head];
        if (fresh_slot || isnan(*slot) || s > *slot)
            *slot = s;
    }
}
