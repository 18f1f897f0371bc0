/* merklebench.c: what one Merkle compare (src/merklewalk) costs over
 * HTTP, beside fetching every leaf of both trees.
 *
 *   merklebench PRIMARY_URL REPLICA_URL [RUNS]
 *
 * The two nodes are a primary and a replica of a replguard-simnode
 * cluster, idle (--ingest-rate 0) so that their trees differ only where
 * a `diverge` fault corrupted the replica. Runs the compare RUNS times
 * (default 10) as replguard does: each request the walk asks for goes to
 * both nodes at once on one curl multi handle (connections kept), the
 * answers are fed to the walk. Then fetches every leaf of both trees,
 * GET /v1/admin/merkle?level=D in pages of 4096, both nodes at once.
 * Prints one line of key=value: the depth, leaves, differing leaves
 * found, requests per node, answer bytes from both nodes and the median
 * time of a compare; the same for the full fetch; and the ratios. Exit
 * 1 when a request or the compare fails. */
#include "profiles/stemedb/merklewalk.h"
#include "lib/util.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One node: its base URL, its easy handle and the answer being read. */
struct node {
    const char *base;
    char url[512];
    CURL *easy;
    struct buf body;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static size_t on_body(char *p, size_t s, size_t n, void *ctx)
{
    return buf_append(ctx, p, s * n) == 0 ? s * n : 0;
}

static void node_init(struct node *nd, const char *base)
{
    nd->base = base;
    nd->easy = curl_easy_init();
    buf_init(&nd->body, 0);
    curl_easy_setopt(nd->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(nd->easy, CURLOPT_WRITEDATA, &nd->body);
    curl_easy_setopt(nd->easy, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(nd->easy, CURLOPT_NOSIGNAL, 1L);
}

/* exchange: sends rq to both nodes at once; each answer is in its
 * node's body. Returns 0, or -1 (after saying why) when a transfer
 * failed or answered other than 200. */
static int exchange(CURLM *m, struct node nd[2],
                    const struct merklewalk_request *rq)
{
    for (int i = 0; i < 2; i++) {
        snprintf(nd[i].url, sizeof(nd[i].url), "%s%s", nd[i].base, rq->path);
        buf_reset(&nd[i].body);
        curl_easy_setopt(nd[i].easy, CURLOPT_URL, nd[i].url);
        if (rq->post)
            curl_easy_setopt(nd[i].easy, CURLOPT_POSTFIELDS, rq->body);
        else
            curl_easy_setopt(nd[i].easy, CURLOPT_HTTPGET, 1L);
        curl_multi_add_handle(m, nd[i].easy);
    }
    int running = 2, left, rc = 0;
    while (running > 0) {
        curl_multi_perform(m, &running);
        if (running > 0)
            curl_multi_poll(m, NULL, 0, 1000, NULL);
    }
    for (;;) {
        CURLMsg *msg = curl_multi_info_read(m, &left);
        if (!msg)
            break;
        long code = 0;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
        if (msg->data.result != CURLE_OK || code != 200) {
            fprintf(stderr, "merklebench: %s: %s (HTTP %ld)\n", rq->path,
                    curl_easy_strerror(msg->data.result), code);
            rc = -1;
        }
    }
    for (int i = 0; i < 2; i++)
        curl_multi_remove_handle(m, nd[i].easy);
    return rc;
}

/* compare: one whole compare; fills *res (pointing into *wp, which the
 * caller frees) and *st. Returns 0 or -1. */
static int compare(CURLM *m, struct node nd[2], struct merklewalk **wp,
                   struct merklewalk_result *res, struct merklewalk_stats *st)
{
    struct merklewalk *w = merklewalk_new(NULL);
    struct merklewalk_request rq;
    *wp = w;
    while (merklewalk_next(w, &rq) == 1) {
        if (exchange(m, nd, &rq) < 0)
            return -1;
        merklewalk_feed(w, MERKLEWALK_PRIMARY, nd[0].body.data, nd[0].body.len);
        merklewalk_feed(w, MERKLEWALK_REPLICA, nd[1].body.data, nd[1].body.len);
    }
    merklewalk_stats(w, st);
    if (merklewalk_result(w, res) < 0) {
        fprintf(stderr, "merklebench: %s\n", merklewalk_error_message(w));
        return -1;
    }
    return 0;
}

/* full_fetch: every leaf of both trees in pages of MERKLEWALK_MAX_BATCH;
 * adds the answer bytes of both nodes to *bytes and the requests per
 * node to *requests. Returns 0 or -1. */
static int full_fetch(CURLM *m, struct node nd[2], unsigned depth,
                      uint64_t *bytes, uint64_t *requests)
{
    uint64_t leaves = 1ULL << (4 * depth);
    for (uint64_t off = 0; off < leaves; off += MERKLEWALK_MAX_BATCH) {
        char path[128];
        snprintf(path, sizeof(path),
                 "/v1/admin/merkle?level=%u&offset=%" PRIu64 "&count=%d", depth,
                 off, MERKLEWALK_MAX_BATCH);
        struct merklewalk_request rq = {false, path, NULL};
        if (exchange(m, nd, &rq) < 0)
            return -1;
        *bytes += nd[0].body.len + nd[1].body.len;
        (*requests)++;
    }
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t runs = 10;
    if (argc < 3 || argc > 4 ||
        (argc == 4 && parse_u64(argv[3], 1, 10000, &runs) < 0)) {
        fprintf(stderr, "usage: merklebench PRIMARY_URL REPLICA_URL [RUNS]\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM *m = curl_multi_init();
    struct node nd[2];
    node_init(&nd[0], argv[1]);
    node_init(&nd[1], argv[2]);
    double *t = xcalloc(runs, sizeof(double));
    struct merklewalk *w = NULL;
    struct merklewalk_result res;
    struct merklewalk_stats st;
    uint64_t full_bytes = 0, full_requests = 0;
    int rc = 1;
    for (uint64_t i = 0; i < runs; i++) {
        merklewalk_free(w);
        double t0 = now_s();
        if (compare(m, nd, &w, &res, &st) < 0)
            goto out;
        t[i] = now_s() - t0;
    }
    double f0 = now_s();
    if (full_fetch(m, nd, res.depth, &full_bytes, &full_requests) < 0)
        goto out;
    double full_time = now_s() - f0;
    qsort(t, runs, sizeof(double), cmp_double);
    uint64_t bytes = st.bytes_primary + st.bytes_replica;
    printf("depth=%u leaves=%" PRIu64 " found=%" PRIu64
           " walk_requests=%" PRIu64 " walk_bytes=%" PRIu64
           " walk_ms=%.3f full_requests=%" PRIu64 " full_bytes=%" PRIu64
           " full_ms=%.3f bytes_pct=%.3f time_pct=%.3f"
           " runs=%" PRIu64 "\n",
           res.depth, res.buckets, res.diff_count, st.requests, bytes,
           t[runs / 2] * 1e3, full_requests, full_bytes, full_time * 1e3,
           100.0 * (double)bytes / (double)full_bytes,
           100.0 * t[runs / 2] / full_time, runs);
    rc = 0;
out:
    merklewalk_free(w);
    free(t);
    for (int i = 0; i < 2; i++) {
        curl_easy_cleanup(nd[i].easy);
        buf_free(&nd[i].body);
    }
    curl_multi_cleanup(m);
    curl_global_cleanup();
    return rc;
}
