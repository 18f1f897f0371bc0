/* merklebench.c: what one Merkle compare (src/merklewalk) costs.
 *
 * For depth 4 and depth 5, a primary and a replica whose tree differs in
 * 100 random leaf buckets; runs the compare repeatedly and prints the
 * requests per node, the bytes received from both nodes, the time per
 * compare and, measured in the same run, the bytes of fetching every
 * leaf of both trees (GET merkle?level=D in pages of 4096) with the
 * ratio. No network: the requests go to replguard-simnode's own request
 * handler (simapi_handle) over in-memory trees, so the time includes
 * the simulated nodes' work of printing their answers.
 *
 * Usage: merklebench [RUNS] (default 20). */
#include "clock.h"
#include "merkle.h"
#include "merklewalk.h"
#include "sim.h"
#include "simapi.h"
#include "walk_server.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIFFERING 100

/* answer: node (0 primary, 1 replica) answers rq into out; the HTTP
 * status must be 200. */
static void answer(struct sim *s, unsigned node,
                   const struct merklewalk_request *rq,
                   struct simapi_reply *out)
{
    walk_server_answer(s, node, rq, out);
    if (out->status != 200) {
        fprintf(stderr, "merklebench: %s: %u %s\n", rq->path, out->status,
                out->body.data);
        exit(1);
    }
}

/* Time spent in the walk itself versus in the simulated nodes. */
struct timing {
    double walk, nodes;
};

/* compare: one whole compare; fills *st and returns the differing count. */
static uint64_t compare(struct sim *s, const struct rg_clock *clk,
                        struct timing *t, struct merklewalk_stats *st)
{
    struct merklewalk *w = merklewalk_new(NULL);
    struct merklewalk_request rq;
    double t0 = clock_mono(clk);
    while (merklewalk_next(w, &rq) == 1) {
        for (unsigned node = 0; node < 2; node++) {
            struct simapi_reply r;
            simapi_reply_init(&r);
            double t1 = clock_mono(clk);
            answer(s, node, &rq, &r);
            double t2 = clock_mono(clk);
            t->nodes += t2 - t1;
            merklewalk_feed(w, (enum merklewalk_side)node, r.body.data,
                            r.body.len);
            simapi_reply_free(&r);
        }
    }
    t->walk += clock_mono(clk) - t0;
    struct merklewalk_result res;
    if (merklewalk_result(w, &res) < 0) {
        fprintf(stderr, "merklebench: %s\n", merklewalk_error_message(w));
        exit(1);
    }
    merklewalk_stats(w, st);
    merklewalk_free(w);
    return res.diff_count;
}

/* full_fetch: the bytes of every leaf of both nodes in 4096-leaf pages. */
static uint64_t full_fetch(struct sim *s, unsigned depth)
{
    uint64_t total = 0, leaves = 1ULL << (4 * depth);
    for (uint64_t off = 0; off < leaves; off += MERKLEWALK_MAX_BATCH) {
        char path[96];
        snprintf(path, sizeof(path),
                 "/v1/admin/merkle?level=%u&offset=%" PRIu64 "&count=%d", depth,
                 off, MERKLEWALK_MAX_BATCH);
        struct merklewalk_request rq = {false, path, NULL};
        for (unsigned node = 0; node < 2; node++) {
            struct simapi_reply r;
            simapi_reply_init(&r);
            answer(s, node, &rq, &r);
            total += r.body.len;
            simapi_reply_free(&r);
        }
    }
    return total;
}

static struct sim *make_pair(unsigned depth, const struct rg_clock *clk)
{
    struct sim_options o;
    sim_options_default(&o);
    o.nodes = 2;
    o.merkle_depth = depth;
    char err[128];
    struct sim *s = sim_new(&o, clk, err, sizeof(err));
    if (!s) {
        fprintf(stderr, "merklebench: %s\n", err);
        exit(1);
    }
    struct merkle *t = sim_merkle(s, 0, 1);
    uint64_t rng = 4242 + depth, leaves = merkle_level_size(t, depth);
    while (merkle_corrupt_count(t) < DIFFERING)
        merkle_corrupt(t, rng_next(&rng) % leaves, rng_next(&rng) | 1);
    return s;
}

static void run_depth(unsigned depth, int runs, const struct rg_clock *clk)
{
    struct sim *s = make_pair(depth, clk);
    struct timing t = {0, 0};
    struct merklewalk_stats st;
    uint64_t found = 0;
    for (int i = 0; i < runs; i++)
        found = compare(s, clk, &t, &st);
    uint64_t bytes = st.bytes_primary + st.bytes_replica;
    uint64_t buckets = (uint64_t)1 << (4 * depth);
    double f0 = clock_mono(clk);
    uint64_t full = full_fetch(s, depth);
    double full_time = clock_mono(clk) - f0;
    printf("   depth %u (%" PRIu64 " buckets), %d differing: found %" PRIu64
           ", %" PRIu64 " requests/node, %" PRIu64 " bytes from both nodes\n",
           depth, buckets, DIFFERING, found, st.requests, bytes);
    printf("     time per compare %.3f ms (merklewalk %.3f ms, simulated nodes "
           "%.3f ms; mean of %d)\n",
           1e3 * t.walk / runs, 1e3 * (t.walk - t.nodes) / runs,
           1e3 * t.nodes / runs, runs);
    printf("     full fetch of every leaf: %" PRIu64 " bytes, %" PRIu64
           " requests/node, %.3f ms; walk/full = %.3f%%\n",
           full, buckets / MERKLEWALK_MAX_BATCH, 1e3 * full_time,
           100.0 * (double)bytes / (double)full);
    sim_free(s);
}

int main(int argc, char **argv)
{
    uint64_t runs = 20;
    if (argc > 1 && parse_u64(argv[1], 1, 100000, &runs) < 0) {
        fprintf(stderr, "usage: merklebench [RUNS]\n");
        return 2;
    }
    struct rg_clock clk = clock_system();
    printf("   (in process, no network: requests answered by simnode's "
           "handler over in-memory trees)\n");
    run_depth(4, (int)runs, &clk);
    run_depth(5, (int)runs, &clk);
    return 0;
}
