/* renderbench.c: how long the engine spends turning a round into a
 * snapshot, for 1,000 replicas (250 clusters of a primary and 4
 * replicas): exporter_render (/metrics), statejson_render
 * (/api/v1/state), histjson_render (/api/v1/history, its ring full: 300
 * slots a node; the engine renders it once a 3 s slot) and
 * snapshot_new_hist (the first two, the history copied, and the health
 * table: what the engine does each round, the gzip body included).
 *
 *   renderbench [METRICS_FILE]
 *
 * With a file (a real /metrics body), also times gzip_compress() of it
 * at levels 1 and 6 (lib/gzip.h's choice) and prints the sizes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "monitor/exporter.h"
#include "monitor/histjson.h"
#include "monitor/snapshot.h"
#include "monitor/statejson.h"
#include "lib/fileio.h"
#include "lib/gzip.h"
#include "lib/util.h"
#include "model/laghist.h"
#include "model/view.h"

#define CLUSTERS 250
#define PER      5
#define RUNS     200

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

static void fill(struct agent_view *v, char (*names)[16])
{
    for (size_t ci = 0; ci < CLUSTERS; ci++) {
        struct cluster_view *c = &v->clusters[ci];
        snprintf(names[ci], 16, "c%zu", ci + 1);
        c->name = names[ci];
        c->lag_source = "heartbeat";
        c->th = (struct thresholds){5, 10, 60, 0.1};
        c->first_node = ci * PER;
        c->n_nodes = PER;
        c->primary = (int)(ci * PER);
        for (size_t k = 0; k < PER; k++) {
            struct node_view *n = &v->nodes[ci * PER + k];
            static const char *const nn[PER] = {"node1", "node2", "node3",
                                                "node4", "node5"};
            n->cluster = names[ci];
            n->name = nn[k];
            n->url = "http://127.0.0.1:18180";
            n->role = k ? "replica" : "primary";
            n->is_primary = k == 0;
            n->up = n->fresh = true;
            n->last_failure = -1;
            n->last_ok_wall = 1.7e9;
            n->scrape_duration = 0.0004;
            n->have_position = true;
            n->position = 123456789 + k;
            if (k == 0)
                continue;
            n->rv = (struct replica_view){
                true, true, true, false, true, 0.012 * (double)k, NULL};
            n->have_hb_lag = n->have_pos_lag = n->have_reported_lag = true;
            n->have_lag_positions = true;
            n->hb_lag = n->pos_lag = n->reported_lag = n->rv.lag;
            n->lag_positions = 12;
            n->health = HEALTH_HEALTHY;
            n->in_rotation = true;
        }
    }
}

static void report(const char *what, double *t, size_t bytes)
{
    qsort(t, RUNS, sizeof(double), cmp_double);
    double sum = 0;
    for (int i = 0; i < RUNS; i++)
        sum += t[i];
    printf("   %-16s mean=%.3f ms p50=%.3f ms p99=%.3f ms bytes=%zu\n", what,
           sum / RUNS * 1e3, t[RUNS / 2] * 1e3, t[RUNS * 99 / 100] * 1e3,
           bytes);
}

/* gzip_levels: gzip_compress() of the file at path, levels 1 and 6. */
static void gzip_levels(const char *path, double *t)
{
    char *in;
    size_t len;
    if (fileio_read_file(NULL, path, 64u << 20, &in, &len) < 0) {
        fprintf(stderr, "renderbench: cannot read %s\n", path);
        exit(1);
    }
    for (int level = 1; level <= 6; level += 5) {
        size_t n = 0;
        for (int i = 0; i < RUNS / 10; i++) {
            double t0 = now_s();
            free(gzip_compress(in, len, level, &n));
            t[i] = now_s() - t0;
        }
        for (int i = RUNS / 10; i < RUNS; i++)
            t[i] = t[i % (RUNS / 10)];
        char what[32];
        snprintf(what, sizeof(what), "gzip level %d", level);
        report(what, t, n);
        printf("   %-16s %.1f %% of %zu bytes\n", "",
               100.0 * (double)n / (double)len, len);
    }
    free(in);
}

int main(int argc, char **argv)
{
    static char names[CLUSTERS][16];
    struct agent_view v = {.version = "bench", .ready = true, .interval = 1};
    v.clusters = xcalloc(CLUSTERS, sizeof(*v.clusters));
    v.nodes = xcalloc(CLUSTERS * PER, sizeof(*v.nodes));
    v.n_clusters = CLUSTERS;
    v.n_nodes = CLUSTERS * PER;
    fill(&v, names);
    double *t = xcalloc(RUNS, sizeof(double));
    struct buf b;
    buf_init(&b, 0);
    printf("   %d replicas (%d clusters x %d nodes), %d runs each\n",
           CLUSTERS * (PER - 1), CLUSTERS, PER, RUNS);
    for (int i = 0; i < RUNS; i++) {
        buf_reset(&b);
        double t0 = now_s();
        exporter_render(&v, &b);
        t[i] = now_s() - t0;
    }
    report("exporter_render", t, b.len);
    for (int i = 0; i < RUNS; i++) {
        buf_reset(&b);
        double t0 = now_s();
        statejson_render(&v, &b);
        t[i] = now_s() - t0;
    }
    report("statejson_render", t, b.len);
    struct laghist h;
    laghist_init(&h, v.n_nodes, LAGHIST_WINDOW, LAGHIST_POINTS, 1);
    for (int i = 0; i < LAGHIST_POINTS; i++)
        laghist_add(&h, &v, 1.7e9 + 3.0 * i);
    v.history = &h;
    struct histjson hj;
    for (int i = 0; i < RUNS; i++) {
        double t0 = now_s();
        histjson_render(&v, &hj);
        t[i] = now_s() - t0;
        if (i + 1 < RUNS)
            histjson_free(&hj);
    }
    report("histjson_render", t, hj.len);
    for (int i = 0; i < RUNS; i++) {
        double t0 = now_s();
        struct snapshot *s = snapshot_new_hist(&v, &hj);
        t[i] = now_s() - t0;
        snapshot_unref(s);
    }
    report("snapshot_new", t, 0);
    if (argc > 1)
        gzip_levels(argv[1], t);
    histjson_free(&hj);
    laghist_free(&h);
    buf_free(&b);
    free(t);
    free(v.clusters);
    free(v.nodes);
    return 0;
}
