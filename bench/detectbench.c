/* detectbench.c: how soon a replica whose lag crosses read_max_lag gets
 * 503 from replguard's health endpoint.
 *
 *   detectbench REPLGUARD_URL NODE_URL CLUSTER REPLICA MAX_LAG_S RUNS
 *
 * Each run waits until the replica is in rotation (200), stalls it with
 * a 1 s `stall` fault through NODE_URL (any node of its simulated
 * cluster, started with --link-delay 0), and polls
 * /health/replica/CLUSTER/REPLICA every millisecond. A stalled replica's
 * lag passes MAX_LAG_S seconds after the fault lands, so the detection
 * time is the first 503 minus (fault acknowledged + MAX_LAG_S). Prints
 * the median, p90, p99, max and how many runs took over 150 ms (interval
 * + 50 ms at the bench's 100 ms) over the runs, then a histogram of them
 * in 10 ms buckets ("hist" lines: the bucket's lower bound in ms and its
 * count; the last bucket takes everything from 300 ms). */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/util.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static size_t sink(char *p, size_t s, size_t n, void *ctx)
{
    (void)p;
    (void)ctx;
    return s * n;
}

static long request(CURL *c, const char *url, const char *post)
{
    long code = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
    if (post)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
    else
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    if (curl_easy_perform(c) != CURLE_OK)
        return 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    return code;
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* one_run: returns the detection time in seconds, or -1. */
static double one_run(CURL *c, const char *health, const char *fault_url,
                      const char *fault, double max_lag)
{
    double deadline = now_s() + 10;
    while (request(c, health, NULL) != 200)
        if (now_s() > deadline)
            return -1;
        else
            pause_ms(5);
    pause_ms(200 + rand() % 100); /* land anywhere in a poll interval */
    if (request(c, fault_url, fault) != 200)
        return -1;
    double crossed = now_s() + max_lag;
    deadline = now_s() + 5;
    while (request(c, health, NULL) != 503)
        if (now_s() > deadline)
            return -1;
        else
            pause_ms(1);
    return now_s() - crossed;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: detectbench REPLGUARD_URL NODE_URL CLUSTER "
                        "REPLICA MAX_LAG_S RUNS\n");
        return 2;
    }
    double max_lag = strtod(argv[5], NULL);
    int runs = (int)strtol(argv[6], NULL, 10);
    char health[512], fault_url[512], fault[256];
    snprintf(health, sizeof(health), "%s/health/replica/%s/%s", argv[1],
             argv[3], argv[4]);
    snprintf(fault_url, sizeof(fault_url), "%s/v1/sim/fault", argv[2]);
    snprintf(fault, sizeof(fault),
             "{\"node\":\"%s\",\"kind\":\"stall\",\"duration\":\"1s\"}",
             argv[4]);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *c = curl_easy_init();
    double *t = xcalloc((size_t)runs, sizeof(double));
    int n = 0, lost = 0;
    srand(7);
    for (int i = 0; i < runs; i++) {
        double d = one_run(c, health, fault_url, fault, max_lag);
        if (d < -0.5)
            lost++;
        else
            t[n++] = d;
    }
    qsort(t, (size_t)n, sizeof(double), cmp_double);
    int hist[31] = {0}, over = 0;
    for (int i = 0; i < n; i++) {
        over += t[i] > 0.15; /* past interval + 50 ms at 100 ms */
        int b = t[i] < 0 ? 0 : (int)(t[i] * 100);
        hist[b < 30 ? b : 30]++;
    }
    if (n)
        printf("runs=%d missed=%d median_ms=%.1f p90_ms=%.1f p99_ms=%.1f "
               "max_ms=%.1f over_150ms=%d\n",
               n, lost, t[n / 2] * 1e3, t[n * 9 / 10] * 1e3,
               t[n * 99 / 100] * 1e3, t[n - 1] * 1e3, over);
    else
        printf("runs=0 missed=%d\n", lost);
    for (int b = 0; b <= 30; b++)
        if (hist[b])
            printf(
                "hist %3d%s ms %3d %.*s\n", b * 10, b == 30 ? "+" : " ",
                hist[b], hist[b] > 60 ? 60 : hist[b],
                "############################################################");
    free(t);
    curl_easy_cleanup(c);
    curl_global_cleanup();
    return n ? 0 : 1;
}
