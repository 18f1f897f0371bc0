/* foclient.c: the client side of the failover end-to-end test
 * (tests/failover-e2e.sh) and of bench/run's failover section.
 *
 *   foclient write URL OUT [THREADS]
 *       POST URL/v1/write {"count": 1} from THREADS threads (default 4),
 *       each at most one write per 20 ms (so at most 50 * THREADS writes
 *       a second), until SIGTERM or SIGINT. One line per answer in OUT,
 *       flushed as it is written:
 *           ack T POSITION SERVER   200 with a position; SERVER is the
 *                                   X-Server header (HAProxy's server
 *                                   name), "-" without one
 *           err T STATUS SERVER     any other answer; STATUS 0: none
 *   foclient sample OUT INTERVAL_MS URL...
 *       GETs every URL at once, every INTERVAL_MS, until SIGTERM or
 *       SIGINT; one line per round in OUT: "T CODE CODE ..." (CODE 0: no
 *       answer within 300 ms).
 *   foclient check URL
 *       reads "POSITION EPOCH" lines on stdin and asks URL/v1/read?
 *       position=P for each: the write must be there (has true) with that
 *       write_epoch. Prints "checked N missing M wrong_epoch K errors E"
 *       and the first 10 bad positions; exit 0 only when all are there.
 *
 * T is wall-clock time in seconds with microseconds, comparable with the
 * shell's $EPOCHREALTIME and the audit log's timestamps. A write is
 * logged when its answer arrives, so for a write that was acknowledged T
 * is after the node acknowledged it. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define WRITE_GAP_NS      20000000L /* per thread: at most 50 writes a second */
#define WRITE_TIMEOUT_MS  6000L     /* over the simulator's 5 s ack timeout */
#define SAMPLE_TIMEOUT_MS 300L
#define MAX_THREADS       32
#define MAX_URLS          16

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

/* wall_now: the wall-clock time in seconds. */
static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* sleep_ns: sleeps NS nanoseconds (less when a signal comes). */
static void sleep_ns(long ns)
{
    struct timespec ts = {ns / 1000000000L, ns % 1000000000L};
    nanosleep(&ts, NULL);
}

/* arg_num: the whole number s (all of it) within [lo, hi], else -1. */
static long arg_num(const char *s, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    return v;
}

/* An answer body and the X-Server header, bounded. */
struct answer {
    char body[512];
    size_t len;
    char server[64];
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    struct answer *a = ud;
    size_t len = sz * n, room = sizeof(a->body) - 1 - a->len;
    size_t take = len < room ? len : room;
    memcpy(a->body + a->len, p, take);
    a->len += take;
    a->body[a->len] = '\0';
    return len; /* the rest is dropped, not an error */
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    struct answer *a = ud;
    size_t len = sz * n;
    static const char name[] = "X-Server:";
    if (len > sizeof(name) - 1 && strncasecmp(p, name, sizeof(name) - 1) == 0) {
        size_t i = sizeof(name) - 1, j = 0;
        while (i < len && p[i] == ' ')
            i++;
        while (i < len && p[i] != '\r' && p[i] != '\n' &&
               j < sizeof(a->server) - 1)
            a->server[j++] = p[i++];
        a->server[j] = '\0';
    }
    return len;
}

/* --- write ---------------------------------------------------------------- */

struct writer {
    const char *url; /* URL/v1/write */
    FILE *out;
    pthread_mutex_t *lock;
};

/* write_once: one POST on h; logs its answer. */
static void write_once(CURL *h, const struct writer *w)
{
    struct answer a = {.len = 0, .server = "-"};
    a.body[0] = '\0';
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &a);
    long code = 0;
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    double t = wall_now();
    double pos = -1;
    cJSON *j = code == 200 ? cJSON_Parse(a.body) : NULL;
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "position");
    if (cJSON_IsNumber(p))
        pos = p->valuedouble;
    cJSON_Delete(j);
    pthread_mutex_lock(w->lock);
    if (pos >= 0)
        fprintf(w->out, "ack %.6f %.0f %s\n", t, pos, a.server);
    else
        fprintf(w->out, "err %.6f %ld %s\n", t, code, a.server);
    fflush(w->out);
    pthread_mutex_unlock(w->lock);
}

static void *write_loop(void *arg)
{
    const struct writer *w = arg;
    CURL *h = curl_easy_init();
    if (!h)
        return NULL;
    struct curl_slist *hdr =
        curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, w->url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, "{\"count\": 1}");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, WRITE_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    while (!stop_flag) {
        double t0 = wall_now();
        write_once(h, w);
        long spent = (long)((wall_now() - t0) * 1e9);
        if (spent < WRITE_GAP_NS && !stop_flag)
            sleep_ns(WRITE_GAP_NS - spent);
    }
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    return NULL;
}

static int cmd_write(int argc, char **argv)
{
    if (argc < 2 || argc > 3)
        return 2;
    long n = argc == 3 ? arg_num(argv[2], 1, MAX_THREADS) : 4;
    if (n < 1)
        return 2;
    FILE *out = fopen(argv[1], "a");
    if (!out) {
        perror(argv[1]);
        return 1;
    }
    char url[1024];
    snprintf(url, sizeof(url), "%s/v1/write", argv[0]);
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    struct writer w = {url, out, &lock};
    pthread_t th[MAX_THREADS];
    int started = 0;
    for (int i = 0; i < n; i++)
        if (pthread_create(&th[i], NULL, write_loop, &w) == 0)
            started++;
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    fclose(out);
    return started == n ? 0 : 1;
}

/* --- sample ------------------------------------------------------------- */

/* sample_round: GETs every URL at once; their status codes in code[]. */
static void sample_round(CURLM *m, CURL **h, int n, long *code)
{
    for (int i = 0; i < n; i++)
        curl_multi_add_handle(m, h[i]);
    int running = n;
    while (running > 0) {
        if (curl_multi_perform(m, &running) != CURLM_OK)
            break;
        if (running > 0)
            curl_multi_poll(m, NULL, 0, 50, NULL);
    }
    for (int i = 0; i < n; i++) {
        code[i] = 0;
        curl_easy_getinfo(h[i], CURLINFO_RESPONSE_CODE, &code[i]);
        curl_multi_remove_handle(m, h[i]);
    }
}

static size_t discard(char *p, size_t sz, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return sz * n;
}

static int cmd_sample(int argc, char **argv)
{
    int n = argc - 2;
    long gap_ms = argc >= 2 ? arg_num(argv[1], 1, 60000) : -1;
    if (n < 1 || n > MAX_URLS || gap_ms < 1)
        return 2;
    FILE *out = fopen(argv[0], "a");
    if (!out) {
        perror(argv[0]);
        return 1;
    }
    CURLM *m = curl_multi_init();
    CURL *h[MAX_URLS];
    long code[MAX_URLS];
    for (int i = 0; i < n; i++) {
        h[i] = curl_easy_init();
        curl_easy_setopt(h[i], CURLOPT_URL, argv[2 + i]);
        curl_easy_setopt(h[i], CURLOPT_TIMEOUT_MS, SAMPLE_TIMEOUT_MS);
        curl_easy_setopt(h[i], CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h[i], CURLOPT_WRITEFUNCTION, discard);
    }
    double next = wall_now();
    while (!stop_flag) {
        double t = wall_now();
        sample_round(m, h, n, code);
        fprintf(out, "%.6f", t);
        for (int i = 0; i < n; i++)
            fprintf(out, " %ld", code[i]);
        fputc('\n', out);
        fflush(out);
        next += (double)gap_ms / 1000;
        double wait = next - wall_now();
        if (wait > 0)
            sleep_ns((long)(wait * 1e9));
        else
            next = wall_now(); /* late: no burst to catch up */
    }
    for (int i = 0; i < n; i++)
        curl_easy_cleanup(h[i]);
    curl_multi_cleanup(m);
    fclose(out);
    return 0;
}

/* --- check -------------------------------------------------------------- */

/* read_at: GET /v1/read?position=pos; 1 has it with *we, 0 has not, -1 no
 * answer. */
static int read_at(CURL *h, const char *base, double pos, double *we)
{
    char url[1024];
    struct answer a = {.len = 0, .server = "-"};
    a.body[0] = '\0';
    snprintf(url, sizeof(url), "%s/v1/read?position=%.0f", base, pos);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &a);
    long code = 0;
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if (code != 200)
        return -1;
    cJSON *j = cJSON_Parse(a.body);
    const cJSON *has = cJSON_GetObjectItemCaseSensitive(j, "has");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "write_epoch");
    int rc = !cJSON_IsBool(has) ? -1 : cJSON_IsTrue(has) ? 1 : 0;
    *we = cJSON_IsNumber(e) ? e->valuedouble : -1;
    cJSON_Delete(j);
    return rc;
}

static int cmd_check(int argc, char **argv)
{
    if (argc != 1)
        return 2;
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    long checked = 0, missing = 0, wrong = 0, errors = 0, shown = 0;
    double pos, epoch, we;
    while (scanf("%lf %lf", &pos, &epoch) == 2) {
        int rc = read_at(h, argv[0], pos, &we);
        checked++;
        const char *bad = rc < 0        ? "no answer"
                          : rc == 0     ? "missing"
                          : we != epoch ? "wrong write_epoch"
                                        : NULL;
        if (!bad)
            continue;
        rc < 0 ? errors++ : rc == 0 ? missing++ : wrong++;
        if (shown++ < 10)
            printf("bad: position %.0f acked at epoch %.0f: %s (write_epoch "
                   "%.0f)\n",
                   pos, epoch, bad, rc > 0 ? we : -1);
    }
    curl_easy_cleanup(h);
    printf("checked %ld missing %ld wrong_epoch %ld errors %ld\n", checked,
           missing, wrong, errors);
    return checked > 0 && missing + wrong + errors == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: sleeps end at once */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = 2;
    if (argc >= 2 && strcmp(argv[1], "write") == 0)
        rc = cmd_write(argc - 2, argv + 2);
    else if (argc >= 2 && strcmp(argv[1], "sample") == 0)
        rc = cmd_sample(argc - 2, argv + 2);
    else if (argc >= 2 && strcmp(argv[1], "check") == 0)
        rc = cmd_check(argc - 2, argv + 2);
    if (rc == 2)
        fprintf(stderr, "usage: foclient write URL OUT [THREADS] | sample OUT "
                        "INTERVAL_MS URL... | check URL < POSITIONS\n");
    curl_global_cleanup();
    return rc;
}
