/* engine_internal.h: the engine's state, shared by engine.c (the loop,
 * rounds and reloads) and assess.c (lag, health and the view). Nothing
 * else includes it. Everything here belongs to the engine thread. */
#ifndef REPLGUARD_ENGINE_INTERNAL_H
#define REPLGUARD_ENGINE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "clock.h"
#include "config.h"
#include "engine.h"
#include "lag.h"
#include "scrape.h"
#include "view.h"

#define BODY_CAP        (4u << 20) /* a node answer over this is too_large */
#define STALE_INTERVALS 3

struct cluster_rt;

struct node_rt {
    struct cluster_rt *c;
    const struct config_node *conf;
    char *metrics_url;
    struct poll_req *req;
    bool scraped; /* answered (well or not) in this round */
    /* the last scrape */
    bool up;
    int last_failure; /* enum scrape_reason, or -1 */
    double duration;
    uint64_t failures[SCRAPE_REASONS];
    /* the last good scrape */
    bool have_sample;
    double ok_mono, ok_wall;
    uint64_t position; /* reset-corrected */
    struct counter_track pos_track;
    bool connected, has_heartbeat;
    double heartbeat;
    enum node_seen_role role;
    struct reported_lag *reported; /* heap, n_reported entries */
    size_t n_reported;
    /* assessed at the end of each round */
    enum health health;
    bool in_rotation;
};

struct cluster_rt {
    struct engine *e;
    const struct config_cluster *conf;
    struct node_rt *nodes;
    size_t n;
    size_t primary;    /* the current primary: observed, else configured */
    bool primary_seen; /* primary was observed reporting that role */
    struct poshist hist;
    struct hbhist hb;
    double hb_value; /* the heartbeat in flight */
};

struct engine {
    struct config *cfg;
    struct rg_clock clock;
    struct poller *poller;
    struct snapbox *box;
    struct cluster_rt *clusters;
    size_t n_clusters, n_nodes;
    struct node_sample scratch; /* parse target, copied on success */

    double next_round; /* monotonic */
    double round_start;
    bool round_active;
    size_t pending; /* nodes of the running round not answered yet */
    uint64_t rounds;
    double round_duration;
    bool ready;

    struct agent_view view; /* arrays sized for n_nodes, refilled */

    pthread_t thread;
    bool started;
    atomic_bool stop;
    pthread_mutex_t mu;      /* guards next_cfg */
    struct config *next_cfg; /* a reload waiting for the loop */
};

/* assess_round: derives lag, health and read rotation for every
 * replica from the round's scrapes and rebuilds e->view. */
void assess_round(struct engine *e);

#endif
