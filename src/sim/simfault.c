/* simfault.c: injecting, expiring and listing the simulator's faults. */
#include "sim/sim_internal.h"

#include "lib/merkle.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const fault_names[SIM_FAULT_KINDS] = {
    [SIM_FAULT_SLOW_APPLY] = "slow_apply",
    [SIM_FAULT_STALL] = "stall",
    [SIM_FAULT_DISCONNECT] = "disconnect",
    [SIM_FAULT_DIVERGE] = "diverge",
    [SIM_FAULT_INGEST_BURST] = "ingest_burst",
    [SIM_FAULT_TRIP_BREAKER] = "trip_breaker",
    [SIM_FAULT_HANG] = "hang",
    [SIM_FAULT_HTTP_500] = "http_500",
    [SIM_FAULT_GARBAGE] = "garbage",
    [SIM_FAULT_SLOW_BODY] = "slow_body",
    [SIM_FAULT_DOWN] = "down",
    [SIM_FAULT_LIE] = "lie",
    [SIM_FAULT_CRASH] = "crash",
    [SIM_FAULT_API_DOWN] = "api_down",
    [SIM_FAULT_REPL_PARTITION] = "repl_partition",
    [SIM_FAULT_PAUSE] = "pause",
};

const char *sim_fault_name(enum sim_fault_kind kind)
{
    return kind < SIM_FAULT_KINDS ? fault_names[kind] : "unknown";
}

int sim_fault_parse(const char *name, enum sim_fault_kind *kind)
{
    for (int k = 0; k < SIM_FAULT_KINDS; k++) {
        if (name && strcmp(name, fault_names[k]) == 0) {
            *kind = (enum sim_fault_kind)k;
            return 0;
        }
    }
    return -1;
}

/* diverge: corrupts `want` distinct random leaves of n that are not
 * corrupt yet (or all that are left). */
static void diverge(struct cluster *c, struct node *n, uint64_t want)
{
    uint64_t leaves = merkle_level_size(n->store, merkle_depth(n->store));
    uint64_t room = leaves - merkle_corrupt_count(n->store);
    if (want > room)
        want = room;
    uint64_t *list = xcalloc(leaves, sizeof(uint64_t));
    size_t have = merkle_corrupt_list(n->store, list, leaves);
    uint8_t *taken = xcalloc(leaves, 1);
    for (size_t i = 0; i < have; i++)
        taken[list[i]] = 1;
    while (want > 0) {
        uint64_t leaf = rng_next(&c->fault_rng) % leaves;
        if (taken[leaf])
            continue;
        taken[leaf] = 1;
        merkle_corrupt(n->store, leaf, rng_next(&c->fault_rng));
        want--;
    }
    free(taken);
    free(list);
}

static int trip_breaker(struct sim *s, struct node *n, const char *agent_id)
{
    for (size_t i = 0; i < n->nbreakers; i++)
        if (strcmp(n->breakers[i].agent_id, agent_id) == 0)
            return 0;
    if (n->nbreakers == MAX_BREAKERS)
        return -1;
    struct sim_breaker *b = &n->breakers[n->nbreakers++];
    snprintf(b->agent_id, sizeof(b->agent_id), "%s", agent_id);
    b->tripped_at = clock_wall(&s->clock);
    return 0;
}

static int fill_defaults(const struct sim *s, struct sim_fault *f, char *err,
                         size_t errlen)
{
    const char *bad = NULL;
    if (f->kind >= SIM_FAULT_KINDS)
        bad = "unknown fault kind";
    else if (!(f->duration >= 0) || !isfinite(f->duration))
        bad = "duration must be a non-negative time";
    else if (f->factor == 0)
        f->factor = 0.1;
    else if (!(f->factor > 0 && f->factor <= 1))
        bad = "factor must be in (0, 1]";
    if (!bad && f->rate == 0)
        f->rate = s->opt.ingest_rate > 0 ? 10 * s->opt.ingest_rate : 10000;
    else if (!bad && !(f->rate > 0 && f->rate <= 1e7))
        bad = "rate must be in (0, 1e7]";
    if (!bad && f->buckets == 0)
        f->buckets = 16;
    if (!bad && f->agent_id[0] == '\0')
        snprintf(f->agent_id, sizeof(f->agent_id), "agent-1");
    if (!bad && f->what[0] == '\0')
        snprintf(f->what, sizeof(f->what), "heartbeat_ahead");
    else if (!bad && f->kind == SIM_FAULT_LIE &&
             strcmp(f->what, "heartbeat_ahead") != 0 &&
             strcmp(f->what, "position_ahead") != 0)
        bad = "what must be heartbeat_ahead or position_ahead";
    if (bad)
        snprintf(err, errlen, "%s", bad);
    return bad ? -1 : 0;
}

int sim_fault_add(struct sim *s, unsigned ci, unsigned ni,
                  const struct sim_fault *fault, char *err, size_t errlen)
{
    struct cluster *c = &s->clusters[ci];
    struct node *n = &c->nodes[ni];
    struct sim_fault f = *fault;
    if (fill_defaults(s, &f, err, errlen) < 0)
        return -SIM_EINVAL;
    if (f.kind == SIM_FAULT_DIVERGE) {
        diverge(c, n, f.buckets);
        return 0;
    }
    if (f.kind == SIM_FAULT_TRIP_BREAKER) {
        if (trip_breaker(s, n, f.agent_id) < 0) {
            snprintf(err, errlen, "too many tripped breakers");
            return -SIM_EINVAL;
        }
        return 0;
    }
    struct fault_slot *slot = &n->faults[f.kind];
    slot->on = true;
    slot->f = f;
    slot->until = f.duration > 0 ? s->now + f.duration : INFINITY;
    if (slot->until < s->next_expiry)
        s->next_expiry = slot->until;
    s->fault_gen++;
    return 0;
}

void sim_fault_clear(struct sim *s, unsigned ci)
{
    struct cluster *c = &s->clusters[ci];
    for (unsigned ni = 0; ni < s->opt.nodes; ni++)
        for (int k = 0; k < SIM_FAULT_KINDS; k++)
            c->nodes[ni].faults[k].on = false;
    s->fault_gen++;
}

void sim_expire_faults(struct sim *s)
{
    if (s->now < s->next_expiry)
        return;
    double next = INFINITY;
    for (unsigned ci = 0; ci < s->opt.clusters; ci++) {
        for (unsigned ni = 0; ni < s->opt.nodes; ni++) {
            struct node *n = &s->clusters[ci].nodes[ni];
            for (int k = 0; k < SIM_FAULT_KINDS; k++) {
                struct fault_slot *slot = &n->faults[k];
                if (slot->on && slot->until <= s->now) {
                    slot->on = false;
                    s->fault_gen++;
                } else if (slot->on && slot->until < next) {
                    next = slot->until;
                }
            }
        }
    }
    s->next_expiry = next;
}

bool sim_fault_on(const struct sim *s, unsigned ci, unsigned ni,
                  enum sim_fault_kind kind)
{
    return kind < SIM_FAULT_KINDS && s->clusters[ci].nodes[ni].faults[kind].on;
}

uint64_t sim_fault_generation(const struct sim *s)
{
    return s->fault_gen;
}

void sim_faults_render(const struct sim *s, unsigned ci, struct buf *out)
{
    const struct cluster *c = &s->clusters[ci];
    const char *sep = "";
    buf_puts(out, "[");
    for (unsigned ni = 0; ni < s->opt.nodes; ni++) {
        for (int k = 0; k < SIM_FAULT_KINDS; k++) {
            const struct fault_slot *slot = &c->nodes[ni].faults[k];
            if (!slot->on)
                continue;
            buf_printf(out, "%s{\"node\":\"%s\",\"kind\":\"%s\"", sep,
                       c->nodes[ni].name, fault_names[k]);
            if (isfinite(slot->until))
                buf_printf(out, ",\"remaining\":%.3f", slot->until - s->now);
            buf_puts(out, "}");
            sep = ",";
        }
    }
    buf_puts(out, "]");
}
