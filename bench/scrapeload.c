/* scrapeload.c: scrapes many URLs concurrently once per interval, like a
 * Prometheus server would, and reports the latency distribution.
 *
 *   scrapeload [-s] [-i INTERVAL_MS] [-d SECONDS] [-t TIMEOUT_MS] < urls
 *
 * Reads one URL per line on stdin (lines "node <c> <n> <role> <url>" from
 * replguard-simnode are accepted too), then every interval starts a GET
 * of each on one curl multi handle: all at once (as replguard polls), or
 * with -s spread evenly over the interval (as Prometheus staggers its
 * targets). Prints the number of
 * requests, failures and the p50/p90/p99/max of the time to the last
 * byte. A benchmark tool, not part of replguard. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

struct target {
    char *url;
    CURL *easy;
    int busy;
    double next; /* when its next scrape is due */
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

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static size_t read_targets(struct target **out)
{
    char line[1024];
    size_t n = 0, cap = 0;
    struct target *t = NULL;
    while (fgets(line, sizeof(line), stdin)) {
        line[strcspn(line, "\r\n")] = '\0';
        const char *url = strstr(line, "http://");
        if (!url)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            t = xrealloc(t, cap * sizeof(*t));
        }
        struct buf b;
        buf_init(&b, 0);
        buf_printf(&b, "%s/metrics", url);
        t[n].url = buf_detach(&b);
        t[n].easy = NULL;
        t[n].busy = 0;
        n++;
    }
    *out = t;
    return n;
}

int main(int argc, char **argv)
{
    long interval_ms = 1000, timeout_ms = 1000;
    double duration = 30;
    int opt, spread = 0;
    while ((opt = getopt(argc, argv, "si:d:t:")) != -1) {
        if (opt == 's')
            spread = 1;
        else if (opt == 'i')
            interval_ms = strtol(optarg, NULL, 10);
        else if (opt == 'd')
            duration = strtod(optarg, NULL);
        else if (opt == 't')
            timeout_ms = strtol(optarg, NULL, 10);
        else
            return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct target *t;
    size_t n = read_targets(&t);
    if (n == 0) {
        fprintf(stderr, "scrapeload: no URLs on stdin\n");
        return 2;
    }
    CURLM *multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)n + 16);
    size_t cap = (size_t)(duration * 1000 / (double)interval_ms + 2) * n;
    double *lat = xcalloc(cap, sizeof(double));
    size_t nlat = 0, failures = 0, skipped = 0;
    for (size_t i = 0; i < n; i++) {
        t[i].easy = curl_easy_init();
        curl_easy_setopt(t[i].easy, CURLOPT_URL, t[i].url);
        curl_easy_setopt(t[i].easy, CURLOPT_WRITEFUNCTION, sink);
        curl_easy_setopt(t[i].easy, CURLOPT_TIMEOUT_MS, timeout_ms);
        curl_easy_setopt(t[i].easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(t[i].easy, CURLOPT_PRIVATE, &t[i]);
    }
    double start = now_s(), iv = (double)interval_ms / 1000;
    for (size_t i = 0; i < n; i++)
        t[i].next = start + (spread ? iv * (double)i / (double)n : 0);
    while (now_s() - start < duration) {
        double now = now_s(), next = now + iv;
        for (size_t i = 0; i < n; i++) {
            if (t[i].next <= now) {
                if (t[i].busy) {
                    skipped++;
                } else {
                    t[i].busy = 1;
                    curl_multi_add_handle(multi, t[i].easy);
                }
                t[i].next += iv;
            }
            if (t[i].next < next)
                next = t[i].next;
        }
        int running, left;
        curl_multi_perform(multi, &running);
        CURLMsg *m;
        for (m = curl_multi_info_read(multi, &left); m;
             m = curl_multi_info_read(multi, &left)) {
            if (m->msg != CURLMSG_DONE)
                continue;
            struct target *tg;
            double secs = 0;
            long code = 0;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&tg);
            curl_easy_getinfo(m->easy_handle, CURLINFO_TOTAL_TIME, &secs);
            curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            if (m->data.result != CURLE_OK || code != 200)
                failures++;
            else if (nlat < cap)
                lat[nlat++] = secs;
            curl_multi_remove_handle(multi, m->easy_handle);
            tg->busy = 0;
        }
        int wait = (int)((next - now_s()) * 1000);
        curl_multi_poll(multi, NULL, 0,
                        wait > 0 ? (wait > 100 ? 100 : wait) : 0, NULL);
    }
    qsort(lat, nlat, sizeof(double), cmp_double);
    double p50 = nlat ? lat[nlat / 2] : 0, p90 = nlat ? lat[nlat * 9 / 10] : 0;
    double p99 = nlat ? lat[nlat * 99 / 100] : 0,
           max = nlat ? lat[nlat - 1] : 0;
    printf("targets=%zu requests=%zu failures=%zu skipped=%zu "
           "p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
           n, nlat + failures, failures, skipped, p50 * 1e3, p90 * 1e3,
           p99 * 1e3, max * 1e3);
    for (size_t i = 0; i < n; i++) {
        curl_multi_remove_handle(multi, t[i].easy);
        curl_easy_cleanup(t[i].easy);
        free(t[i].url);
    }
    free(t);
    free(lat);
    curl_multi_cleanup(multi);
    curl_global_cleanup();
    return 0;
}
