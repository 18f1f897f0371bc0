/* simrepl.c: epochs, fencing and honest promotion of the simulated nodes.
 *
 * Each node keeps the highest epoch it has seen and a timeline: which
 * epoch wrote each position it holds. A promotion starts a new timeline
 * entry on the new primary at its applied position + 1, so the writes
 * the old primary had past that point are lost, and a node that had them
 * is rewound (like pg_rewind) when it next streams from the new primary.
 * Writes stay a function of position (the Merkle trees of caught-up
 * nodes agree); which epoch wrote a position is what /v1/read reports. */
#include "sim/sim_internal.h"

#include <stdlib.h>
#include <string.h>

void sim_repl_init(struct node *n)
{
    n->epoch = 1;
    n->tl[0] = (struct tl_entry){1, 1};
    n->ntl = 1;
}

/* sim_repl_follows: a fenced primary takes no client write but still
 * streams what it has, as a real one set read-only does: its replicas
 * drain it, which a switchover's catch-up (fence, then wait for the
 * candidate to hold the fenced primary's last write) relies on. */
bool sim_repl_follows(const struct cluster *c, const struct node *n)
{
    const struct node *p = &c->nodes[c->primary];
    return !n->fenced && !n->stale && n->epoch <= p->epoch;
}

/* fork_point: the last position at which a and b hold the same write. */
static uint64_t fork_point(const struct node *a, const struct node *b)
{
    size_t i = 0;
    while (i < a->ntl && i < b->ntl && a->tl[i].epoch == b->tl[i].epoch &&
           a->tl[i].first == b->tl[i].first)
        i++;
    uint64_t fa = i < a->ntl ? a->tl[i].first : UINT64_MAX;
    uint64_t fb = i < b->ntl ? b->tl[i].first : UINT64_MAX;
    uint64_t f = fa < fb ? fa : fb;
    return f == UINT64_MAX ? UINT64_MAX : f - 1;
}

void sim_repl_adopt(struct cluster *c, struct node *n)
{
    const struct node *p = &c->nodes[c->primary];
    uint64_t fork = fork_point(n, p);
    if (fork < n->applied)
        n->applied = fork;
    if (fork < n->received)
        n->received = fork;
    memcpy(n->tl, p->tl, p->ntl * sizeof(p->tl[0]));
    n->ntl = p->ntl;
    n->epoch = p->epoch;
}

/* stale_epoch: whether epoch (0: none given) is below what n has seen. */
static bool stale_epoch(const struct node *n, uint64_t epoch)
{
    return epoch != 0 && epoch < n->epoch;
}

static uint64_t next_epoch(const struct sim *s, const struct cluster *c)
{
    uint64_t top = 0;
    for (unsigned i = 0; i < s->opt.nodes; i++)
        if (c->nodes[i].epoch > top)
            top = c->nodes[i].epoch;
    return top + 1;
}

/* promote_check: the target of a promotion, or a negated sim_error. */
static int promote_check(struct sim *s, unsigned ci, unsigned ni,
                         const char *replica, uint64_t epoch)
{
    struct cluster *c = &s->clusters[ci];
    int ri = sim_find_node(s, ci, replica);
    if (ri < 0)
        return -SIM_ENONODE;
    struct node *np = &c->nodes[ri];
    if ((unsigned)ri == c->primary && !np->fenced)
        return -SIM_ESTATE;
    if (stale_epoch(&c->nodes[ni], epoch) || stale_epoch(np, epoch))
        return -SIM_ESTATE;
    if (epoch != 0 && epoch <= c->nodes[c->primary].epoch &&
        (unsigned)ri != c->primary)
        return -SIM_ESTATE; /* two primaries of one epoch */
    if (sim_node_down(np))
        return -SIM_EUNAVAIL;
    if (np->ntl == TL_CAP)
        return -SIM_ESTATE;
    return ri;
}

int sim_promote_epoch(struct sim *s, unsigned ci, unsigned ni,
                      const char *replica, uint64_t epoch)
{
    struct cluster *c = &s->clusters[ci];
    int ri = promote_check(s, ci, ni, replica, epoch);
    if (ri < 0)
        return ri;
    /* the old primary steps down when told (no epoch: as before epochs
     * existed; or the call reached it), else it is left believing */
    struct node *op = &c->nodes[c->primary], *np = &c->nodes[ri];
    if (op != np && !op->fenced)
        op->stale = epoch != 0 && ni != c->primary;
    op->received = op->applied;
    if (epoch == 0)
        epoch = next_epoch(s, c);
    np->epoch = epoch;
    np->tl[np->ntl++] = (struct tl_entry){epoch, np->applied + 1};
    np->received = np->applied;
    np->acked = np->applied;
    np->demoted = np->fenced = np->stale = false;
    c->primary = (unsigned)ri;
    sim_reset_stream(s, c, np->applied);
    return 0;
}

int sim_fence(struct sim *s, unsigned ci, unsigned ni, uint64_t epoch)
{
    struct node *n = &s->clusters[ci].nodes[ni];
    if (epoch == 0)
        return -SIM_EINVAL;
    if (stale_epoch(n, epoch))
        return -SIM_ESTATE;
    n->epoch = epoch;
    n->fenced = true;
    n->stale = false;
    return 0;
}

int sim_replicate_from(struct sim *s, unsigned ci, unsigned ni,
                       const char *primary_id, uint64_t epoch)
{
    struct cluster *c = &s->clusters[ci];
    struct node *n = &c->nodes[ni];
    int pi = sim_find_node(s, ci, primary_id);
    if (epoch == 0)
        return -SIM_EINVAL;
    if (pi < 0)
        return -SIM_ENONODE;
    if (stale_epoch(n, epoch) || (unsigned)pi != c->primary || ni == c->primary)
        return -SIM_ESTATE;
    n->epoch = epoch;
    n->fenced = n->stale = false;
    return 0;
}

uint64_t sim_epoch(const struct sim *s, unsigned ci, unsigned ni)
{
    return s->clusters[ci].nodes[ni].epoch;
}

const char *sim_role(const struct sim *s, unsigned ci, unsigned ni)
{
    const struct cluster *c = &s->clusters[ci];
    const struct node *n = &c->nodes[ni];
    if (n->fenced)
        return "fenced";
    if (c->primary == ni || n->stale)
        return "primary";
    return n->demoted ? "demoted" : "replica";
}

bool sim_read_at(const struct sim *s, unsigned ci, unsigned ni, uint64_t pos,
                 uint64_t *write_epoch)
{
    const struct node *n = &s->clusters[ci].nodes[ni];
    if (pos == 0 || pos > n->applied)
        return false;
    size_t i = n->ntl;
    while (i > 1 && n->tl[i - 1].first > pos)
        i--;
    *write_epoch = n->tl[i - 1].epoch;
    return true;
}

/* --- replication modes and client writes ---------------------------------- */

static const char *const mode_names[] = {
    [SIM_MODE_ASYNC] = "async",
    [SIM_MODE_SEMI_SYNC] = "semi-sync",
    [SIM_MODE_SYNC] = "sync",
    [SIM_MODE_BLOCKED] = "blocked",
};

const char *sim_mode_name(enum sim_mode m)
{
    return m <= SIM_MODE_BLOCKED ? mode_names[m] : "unknown";
}

int sim_mode_parse(const char *name, enum sim_mode *m)
{
    for (int i = SIM_MODE_ASYNC; i <= SIM_MODE_SYNC; i++) {
        if (name && strcmp(name, mode_names[i]) == 0) {
            *m = (enum sim_mode)i;
            return 0;
        }
    }
    return -1;
}

static int cmp_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* ack_candidate: the position the connected replicas acknowledge under
 * s's mode, or -1 with none when fewer than min_sync are connected. */
static int ack_candidate(const struct sim *s, const struct cluster *c,
                         uint64_t *pos)
{
    uint64_t applied[64];
    unsigned k = 0;
    for (unsigned i = 0; i < s->opt.nodes && k < 64; i++)
        if (i != c->primary && sim_node_connected(s, c, &c->nodes[i]))
            applied[k++] = c->nodes[i].applied;
    if (k < s->opt.min_sync)
        return -1;
    qsort(applied, k, sizeof(applied[0]), cmp_desc);
    unsigned need = s->opt.mode == SIM_MODE_SYNC ? k : s->opt.min_sync;
    *pos = applied[need - 1];
    return 0;
}

void sim_repl_ack(const struct sim *s, struct cluster *c)
{
    struct node *p = &c->nodes[c->primary];
    uint64_t pos = c->position;
    c->eff_mode = s->opt.mode;
    if (p->fenced || sim_node_down(p))
        return;
    if (s->opt.mode != SIM_MODE_ASYNC && ack_candidate(s, c, &pos) < 0) {
        c->eff_mode = s->opt.fallback_block ? SIM_MODE_BLOCKED : SIM_MODE_ASYNC;
        if (c->eff_mode == SIM_MODE_BLOCKED)
            return;
        pos = c->position;
    }
    if (pos > c->position)
        pos = c->position;
    if (pos > p->acked)
        p->acked = pos;
}

int sim_write(struct sim *s, unsigned ci, unsigned ni, uint64_t count,
              uint64_t *position)
{
    struct cluster *c = &s->clusters[ci];
    struct node *n = &c->nodes[ni];
    if (count < 1 || count > 1000000)
        return -SIM_EINVAL;
    if (c->primary != ni)
        return -SIM_ENOTPRIMARY;
    if (n->fenced)
        return -SIM_ESTATE;
    sim_repl_ack(s, c);
    if (c->eff_mode == SIM_MODE_BLOCKED)
        return -SIM_EUNAVAIL;
    sim_append(s, c, count);
    *position = c->position;
    sim_repl_ack(s, c);
    return 0;
}

bool sim_write_settled(const struct sim *s, unsigned ci, unsigned ni,
                       uint64_t pos, bool *acked)
{
    const struct cluster *c = &s->clusters[ci];
    const struct node *n = &c->nodes[ni];
    *acked = n->acked >= pos;
    return *acked || c->primary != ni || n->fenced ||
           c->eff_mode == SIM_MODE_BLOCKED;
}

uint64_t sim_acked(const struct sim *s, unsigned ci, unsigned ni)
{
    return s->clusters[ci].nodes[ni].acked;
}

enum sim_mode sim_effective_mode(const struct sim *s, unsigned ci)
{
    return s->clusters[ci].eff_mode;
}
