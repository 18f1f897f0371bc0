/* laghist.h: each node's replication lag over the last 15 minutes, a
 * fixed ring of samples for the status page's sparklines
 * (/api/v1/history).
 *
 * The engine owns one, sized with its view (laghist_init() when the
 * config's clusters are built, laghist_free() when they go) and feeds it
 * once a round from the view it just assessed (laghist_add()); nothing
 * is allocated per round. Rounds are decimated into slots of `step`
 * seconds (window / points, or the poll interval when that is longer):
 * a slot keeps the highest lag of its rounds, so a short spike is not
 * averaged away. At 1,000 nodes and 300 points the ring takes 1.2 MB.
 *
 *   struct laghist h;
 *   laghist_init(&h, n_nodes, 900, 300, interval);
 *   ... each round: laghist_add(&h, &view, wall_now);
 *   laghist_free(&h);
 *
 * Engine thread only; renderers read it through agent_view.history. */
#ifndef REPLGUARD_LAGHIST_H
#define REPLGUARD_LAGHIST_H

/* What the engine keeps: 15 minutes in at most 300 slots. */
#define LAGHIST_WINDOW 900.0
#define LAGHIST_POINTS 300

#include <stddef.h>
#include <stdint.h>

struct agent_view;

struct laghist {
    size_t n_nodes; /* rows: agent_view.nodes[0 .. n_nodes) */
    size_t cap;     /* slots per node */
    size_t n;       /* slots filled (<= cap) */
    size_t head;    /* the newest slot, when n > 0 */
    double step;    /* seconds per slot */
    double window;  /* seconds the ring covers */
    uint64_t slots; /* slots begun since init: a renderer that caches
                       re-renders when it changes */
    double *t;      /* cap: wall time of each slot's first round */
    float *v;       /* n_nodes * cap, node-major: seconds; NaN unknown */
};

/* laghist_init: an empty ring for n_nodes nodes covering window seconds
 * in at most points slots (step: window / points, or interval when that
 * is longer). points must be at least 1. Free with laghist_free(). */
void laghist_init(struct laghist *h, size_t n_nodes, double window,
                  size_t points, double interval);

/* laghist_free: releases h's arrays (h itself is the caller's); a freed
 * or zeroed ring is empty. */
void laghist_free(struct laghist *h);

/* laghist_add: one round of v at wall time now: each replica's lag (a
 * fresh replica with a lag number; else unknown) into the current slot,
 * keeping the slot's highest, or into a new slot once step seconds have
 * passed since the current one began (the oldest is overwritten). A
 * clock that went back empties the ring first. v->n_nodes must be
 * h->n_nodes (another count is ignored). */
void laghist_add(struct laghist *h, const struct agent_view *v, double now);

/* laghist_slot: the ring index of the i-th oldest filled slot
 * (0 <= i < h->n). */
size_t laghist_slot(const struct laghist *h, size_t i);

#endif
