/* webhookbench.c: POST /webhook load: T threads, each with one
 * keep-alive connection, sending Alertmanager payloads (one alert each,
 * a fresh fingerprint every time) back to back for D seconds. Prints
 * requests/s, non-200 answers and the latency distribution.
 *
 *   webhookbench URL THREADS SECONDS */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

struct worker {
    const char *url;
    double until;
    int id;
    double *lat;
    size_t n, cap, errors;
    pthread_t t;
};

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

static void *work(void *arg)
{
    struct worker *w = arg;
    CURL *c = curl_easy_init();
    struct curl_slist *h =
        curl_slist_append(NULL, "Content-Type: application/json");
    char body[1024];
    curl_easy_setopt(c, CURLOPT_URL, w->url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    for (unsigned long k = 0; now_s() < w->until; k++) {
        snprintf(body, sizeof(body),
                 "{\"version\":\"4\",\"status\":\"firing\",\"receiver\":\"r\","
                 "\"groupKey\":\"g\",\"alerts\":[{\"status\":\"firing\","
                 "\"labels\":{\"alertname\":\"BenchOnly\",\"replica\":"
                 "\"node2\"},\"annotations\":{},\"startsAt\":"
                 "\"2026-11-22T00:00:00Z\",\"endsAt\":\"0001-01-01T00:00:00Z\","
                 "\"fingerprint\":\"%04x%012lx\"}]}",
                 w->id, k);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        double t0 = now_s();
        long code = 0;
        if (curl_easy_perform(c) == CURLE_OK)
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        double dt = now_s() - t0;
        if (code != 200)
            w->errors++;
        if (w->n == w->cap) {
            w->cap = w->cap ? 2 * w->cap : 4096;
            w->lat = xrealloc(w->lat, w->cap * sizeof(double));
        }
        w->lat[w->n++] = dt;
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: webhookbench URL THREADS SECONDS\n");
        return 2;
    }
    int threads = (int)strtol(argv[2], NULL, 10);
    double secs = strtod(argv[3], NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct worker *w = xcalloc((size_t)threads, sizeof(*w));
    double start = now_s();
    for (int i = 0; i < threads; i++) {
        w[i] = (struct worker){.url = argv[1], .until = start + secs, .id = i};
        pthread_create(&w[i].t, NULL, work, &w[i]);
    }
    size_t total = 0, errors = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(w[i].t, NULL);
        total += w[i].n;
        errors += w[i].errors;
    }
    double elapsed = now_s() - start;
    double *all = xcalloc(total ? total : 1, sizeof(double));
    size_t k = 0;
    for (int i = 0; i < threads; i++) {
        memcpy(all + k, w[i].lat, w[i].n * sizeof(double));
        k += w[i].n;
        free(w[i].lat);
    }
    qsort(all, total, sizeof(double), cmp_double);
    printf("requests=%zu errors=%zu rps=%.0f p50_ms=%.2f p99_ms=%.2f "
           "max_ms=%.2f\n",
           total, errors, (double)total / elapsed,
           total ? all[total / 2] * 1e3 : 0,
           total ? all[total * 99 / 100] * 1e3 : 0,
           total ? all[total - 1] * 1e3 : 0);
    free(all);
    free(w);
    curl_global_cleanup();
    return 0;
}
