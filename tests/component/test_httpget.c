/* test_httpget.c: the poller's own client (httpget.h) through
 * poller_get() and poller_post_json(), against a scripted server on
 * loopback: keep-alive, answers in pieces, chunked, over the cap,
 * garbage, early closes, a server that stalls (slowloris) against the
 * timeout, a kept connection the server dropped, the extra header line,
 * POST bodies, and a POST never repeated once it may have arrived. */
#include "lib/poller.h"
#include "lib/util.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* What the server does with the next request on a connection. */
enum mode {
    M_OK,           /* 200 with Content-Length, keeps the connection */
    M_DRIBBLE,      /* the same, one byte per write, 1 ms apart */
    M_CHUNKED,      /* 200 chunked */
    M_BIG,          /* 200 with a 100,000-byte body */
    M_GARBAGE,      /* not HTTP */
    M_EARLY_CLOSE,  /* announces 100 bytes, sends 3, closes */
    M_STALL,        /* half a head, then nothing until the client goes */
    M_DROP_AFTER,   /* 200 OK, then closes without saying so */
    M_CLOSE_HEADER, /* 200 OK with Connection: close, then closes */
    M_NOT_FOUND,    /* 404 with a body */
    M_SILENT_CLOSE, /* reads the request, closes without a byte */
    M_HALF_CLOSE,   /* reads the request, half a head, closes */
};

static int listen_fd;
static char base[64];
static pthread_t server;
static _Atomic int mode;
static _Atomic int accepted;
static _Atomic int requests; /* requests read, body included */
static char last_request[32768];
static pthread_mutex_t req_lock = PTHREAD_MUTEX_INITIALIZER;

static const char ok_body[] = "stemedb_assertions_indexed_total 42\n";

static void put(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t k = send(fd, s, n, MSG_NOSIGNAL);
        if (k <= 0)
            return;
        s += k;
        n -= (size_t)k;
    }
}

static void put_ok(int fd, const char *extra)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n%s\r\n",
                     sizeof(ok_body) - 1, extra);
    put(fd, head, (size_t)n);
    put(fd, ok_body, sizeof(ok_body) - 1);
}

/* read_request: one request, its head and the Content-Length bytes of
 * body after it; false when the client went away. */
static bool read_request(int fd)
{
    static char buf[sizeof(last_request)];
    size_t len = 0, want = 0;
    while (len < sizeof(buf) - 1) {
        ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (n <= 0)
            return false;
        len += (size_t)n;
        buf[len] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (!end)
            continue;
        if (!want) {
            const char *cl = strstr(buf, "\r\nContent-Length: ");
            want = (size_t)(end + 4 - buf) +
                   (cl && cl < end ? strtoul(cl + 18, NULL, 10) : 0);
        }
        if (len >= want) {
            pthread_mutex_lock(&req_lock);
            memcpy(last_request, buf, len + 1);
            pthread_mutex_unlock(&req_lock);
            requests++;
            return true;
        }
    }
    return false;
}

static void wait_for_close(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char c;
    while (poll(&p, 1, 5000) == 1 && recv(fd, &c, 1, 0) > 0)
        ;
}

/* answer: one request per the mode; false: close the connection. */
static bool answer(int fd, enum mode m)
{
    static const char big_head[] =
        "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n";
    static const char chunked[] =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "7\r\nstemedb\r\n1d\r\n_assertions_indexed_total 42\n\r\n0\r\n\r\n";
    static char zeros[100000];
    char ok[256];
    switch (m) {
    case M_DRIBBLE:
        snprintf(ok, sizeof(ok),
                 "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s",
                 sizeof(ok_body) - 1, ok_body);
        for (size_t i = 0; ok[i]; i++) {
            put(fd, ok + i, 1);
            nanosleep(&(struct timespec){0, 1000000}, NULL);
        }
        return true;
    case M_CHUNKED:
        put(fd, chunked, sizeof(chunked) - 1);
        return true;
    case M_BIG:
        put(fd, big_head, sizeof(big_head) - 1);
        put(fd, zeros, sizeof(zeros));
        return true;
    case M_GARBAGE:
        put(fd, "\x01\x02garbage\xff\r\n\r\n", 15);
        return false;
    case M_EARLY_CLOSE:
        put(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc", 43);
        return false;
    case M_STALL:
        put(fd, "HTTP/1.1 200 OK\r\nContent-", 26);
        wait_for_close(fd);
        return false;
    case M_DROP_AFTER:
        put_ok(fd, "");
        return false;
    case M_CLOSE_HEADER:
        put_ok(fd, "Connection: close\r\n");
        return false;
    case M_NOT_FOUND:
        put(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope", 50);
        return true;
    case M_SILENT_CLOSE:
        return false;
    case M_HALF_CLOSE:
        put(fd, "HTTP/1.1 200 OK\r\nContent-", 26);
        return false;
    default:
        put_ok(fd, "");
        return true;
    }
}

static void *serve(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0)
            return NULL;
        accepted++;
        while (read_request(fd) && answer(fd, (enum mode)mode))
            ;
        close(fd);
    }
}

static void setup(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(listen_fd, 0);
    ck_assert_int_eq(bind(listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(listen_fd, 8), 0);
    getsockname(listen_fd, (struct sockaddr *)&a, &len);
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", ntohs(a.sin_port));
    mode = M_OK;
    accepted = 0;
    requests = 0;
    pthread_create(&server, NULL, serve, NULL);
}

static void teardown(void)
{
    shutdown(listen_fd, SHUT_RDWR);
    close(listen_fd);
    pthread_join(server, NULL);
}

struct got {
    bool done;
    struct poll_result r;
    char body[256];
};

static void on_done(void *ctx, const struct poll_result *r)
{
    struct got *g = ctx;
    g->done = true;
    g->r = *r;
    snprintf(g->body, sizeof(g->body), "%.*s", (int)r->len, r->body);
    g->r.body = g->body;
}

/* get: one GET of path on r, waited for; the outcome. */
static struct got get(struct poller *p, struct poll_req *r, const char *path,
                      double timeout)
{
    struct got g = {0};
    char url[128];
    snprintf(url, sizeof(url), "%s%s", base, path);
    ck_assert_int_eq(poller_get(r, url, timeout, on_done, &g), 0);
    ck_assert(poller_req_busy(r));
    for (int i = 0; i < 1000 && !g.done; i++)
        poller_run(p, 20);
    ck_assert(g.done);
    ck_assert(!poller_req_busy(r));
    return g;
}

/* post: one POST of json to path on r, waited for; the outcome. */
static struct got post(struct poller *p, struct poll_req *r, const char *path,
                       const char *json)
{
    struct got g = {0};
    char url[128];
    snprintf(url, sizeof(url), "%s%s", base, path);
    ck_assert_int_eq(poller_post_json(r, url, json, 2, on_done, &g), 0);
    for (int i = 0; i < 1000 && !g.done; i++)
        poller_run(p, 20);
    ck_assert(g.done);
    ck_assert(!poller_req_busy(r));
    return g;
}

START_TEST(keeps_the_connection)
{
    struct poller *p = poller_new();
    struct poll_req *r = poller_req_new(p, 1 << 16);
    for (int i = 0; i < 3; i++) {
        struct got g = get(p, r, "/metrics", 2);
        ck_assert_int_eq(g.r.outcome, POLL_OK);
        ck_assert_int_eq(g.r.status, 200);
        ck_assert_str_eq(g.body, ok_body);
        ck_assert_int_eq(g.r.connects, i == 0 ? 1 : 0);
    }
    ck_assert_int_eq(accepted, 1);
    /* the request: a GET of the path with Host and the extra line */
    poller_req_set_header(r, "X-Replguard-Fence: 7");
    get(p, r, "/metrics?x=1", 2);
    pthread_mutex_lock(&req_lock);
    ck_assert_msg(strncmp(last_request, "GET /metrics?x=1 HTTP/1.1\r\n", 27) ==
                      0,
                  "%s", last_request);
    ck_assert(strstr(last_request, "\r\nHost: 127.0.0.1:") != NULL);
    ck_assert(strstr(last_request, "\r\nX-Replguard-Fence: 7\r\n") != NULL);
    pthread_mutex_unlock(&req_lock);
    poller_req_set_header(r, NULL);
    get(p, r, "/metrics", 2);
    pthread_mutex_lock(&req_lock);
    ck_assert(strstr(last_request, "X-Replguard-Fence") == NULL);
    pthread_mutex_unlock(&req_lock);
    poller_req_free(r);
    poller_free(p);
}
END_TEST

/* A slot borrows another's kept connection and lends it back: no new
 * connection either way, and nothing moves while either is busy or
 * when the lender has none. */
START_TEST(lends_a_kept_connection)
{
    struct poller *p = poller_new();
    struct poll_req *a = poller_req_new(p, 1 << 16);
    struct poll_req *b = poller_req_new(p, 1 << 16);
    ck_assert(!poller_req_lend(a, b)); /* none yet */
    ck_assert_int_eq(get(p, a, "/metrics", 2).r.connects, 1);
    ck_assert(poller_req_lend(a, b));
    ck_assert(!poller_req_lend(a, b)); /* a has none now */
    struct got g = get(p, b, "/v1/admin/merkle", 2);
    ck_assert_int_eq(g.r.outcome, POLL_OK);
    ck_assert_int_eq(g.r.connects, 0);
    ck_assert(poller_req_lend(b, a));
    ck_assert_int_eq(get(p, a, "/metrics", 2).r.connects, 0);
    ck_assert_int_eq(accepted, 1);
    /* busy: nothing changes hands */
    struct got busy = {0};
    char url[128];
    snprintf(url, sizeof(url), "%s/metrics", base);
    ck_assert_int_eq(poller_get(a, url, 2, on_done, &busy), 0);
    ck_assert(!poller_req_lend(a, b));
    ck_assert(!poller_req_lend(b, a));
    for (int i = 0; i < 1000 && !busy.done; i++)
        poller_run(p, 20);
    ck_assert_int_eq(busy.r.connects, 0);
    /* the lent connection's events go to its new slot (under ASan or
     * valgrind, one reported to the freed lender is a use after free):
     * the server's close after b's answer is noticed, and b's next GET
     * connects anew */
    ck_assert(poller_req_lend(a, b));
    poller_req_free(a);
    a = NULL;
    mode = M_DROP_AFTER;
    g = get(p, b, "/metrics", 2);
    ck_assert_int_eq(g.r.outcome, POLL_OK);
    ck_assert_int_eq(g.r.connects, 0);
    for (int i = 0; i < 10; i++)
        poller_run(p, 10);
    mode = M_OK;
    ck_assert_int_eq(get(p, b, "/metrics", 2).r.connects, 1);
    ck_assert_int_eq(accepted, 2);
    poller_req_free(a);
    poller_req_free(b);
    poller_free(p);
}
END_TEST

START_TEST(pieces_and_chunks)
{
    struct poller *p = poller_new();
    struct poll_req *r = poller_req_new(p, 1 << 16);
    mode = M_DRIBBLE;
    struct got g = get(p, r, "/", 5);
    ck_assert_int_eq(g.r.outcome, POLL_OK);
    ck_assert_str_eq(g.body, ok_body);
    mode = M_CHUNKED;
    g = get(p, r, "/", 5);
    ck_assert_int_eq(g.r.outcome, POLL_OK);
    ck_assert_str_eq(g.body, ok_body);
    ck_assert_int_eq(g.r.connects, 0);
    mode = M_NOT_FOUND;
    g = get(p, r, "/", 5);
    ck_assert_int_eq(g.r.outcome, POLL_HTTP_STATUS);
    ck_assert_int_eq(g.r.status, 404);
    ck_assert_str_eq(g.body, "nope");
    poller_req_free(r);
    poller_free(p);
}
END_TEST

/* Each failure costs its request only: the next one on the slot works. */
START_TEST(failures_cost_one_request)
{
    static const struct {
        enum mode m;
        enum poll_outcome want;
    } cases[] = {
        {M_BIG, POLL_TOO_LARGE},
        {M_GARBAGE, POLL_CONNECT},
        {M_EARLY_CLOSE, POLL_CONNECT},
    };
    struct poller *p = poller_new();
    struct poll_req *r = poller_req_new(p, 1 << 16);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mode = cases[i].m;
        struct got g = get(p, r, "/", 5);
        ck_assert_msg(g.r.outcome == cases[i].want, "case %zu: %d (%s)", i,
                      (int)g.r.outcome, g.r.error);
        ck_assert(g.r.outcome == POLL_TOO_LARGE || *g.r.error);
        mode = M_OK;
        g = get(p, r, "/", 5);
        ck_assert_int_eq(g.r.outcome, POLL_OK);
    }
    poller_req_free(r);
    poller_free(p);
}
END_TEST

/* A server that sends half a head and stalls: the timeout ends it. */
START_TEST(stall_times_out)
{
    struct poller *p = poller_new();
    struct poll_req *r = poller_req_new(p, 1 << 16);
    mode = M_STALL;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct got g = get(p, r, "/", 0.3);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ck_assert_int_eq(g.r.outcome, POLL_TIMEOUT);
    ck_assert(strstr(g.r.error, "timed out") != NULL);
    double secs = (double)(t1.tv_sec - t0.tv_sec) +
                  (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    ck_assert_msg(secs >= 0.29, "ended after %.3f s", secs);
    mode = M_OK;
    g = get(p, r, "/", 2);
    ck_assert_int_eq(g.r.outcome, POLL_OK);
    ck_assert_int_eq(g.r.connects, 1);
    poller_req_free(r);
    poller_free(p);
}
END_TEST

/* A kept connection the server closed, said or unsaid: the next request
 * opens a new one and succeeds. Unsaid, the client either finds out
 * when its request gets no byte back (it retries once on a new
 * connection) or, given time, when the idle connection polls readable. */
START_TEST(reconnects_after_close)
{
    struct poller *p = poller_new();
    struct poll_req *r = poller_req_new(p, 1 << 16);
    static const enum mode modes[] = {M_CLOSE_HEADER, M_DROP_AFTER,
                                      M_DROP_AFTER};
    for (int i = 0; i < 3; i++) {
        mode = modes[i];
        struct got g = get(p, r, "/", 2);
        ck_assert_int_eq(g.r.outcome, POLL_OK);
        mode = M_OK;
        if (i == 2) { /* the idle connection's end is seen first */
            nanosleep(&(struct timespec){0, 50000000}, NULL);
            poller_run(p, 0);
        }
        g = get(p, r, "/", 2);
        ck_assert_msg(g.r.outcome == POLL_OK, "case %d: %s", i, g.r.error);
        ck_assert_int_eq(g.r.connects, 1);
    }
    ck_assert_int_eq(accepted, 4);
    poller_req_free(r);
    poller_free(p);
}
END_TEST

START_TEST(refused_and_cancelled)
{
    struct poller *p = poller_new();
    struct poll_req *r = poller_req_new(p, 1 << 16);
    struct got g = {0};
    /* port 1 on loopback: nobody listens */
    ck_assert_int_eq(
        poller_get(r, "http://127.0.0.1:1/metrics", 2, on_done, &g), 0);
    ck_assert(!g.done); /* never called back from the start */
    for (int i = 0; i < 100 && !g.done; i++)
        poller_run(p, 20);
    ck_assert(g.done);
    ck_assert_int_eq(g.r.outcome, POLL_CONNECT);
    /* a cancelled request never calls back */
    mode = M_STALL;
    memset(&g, 0, sizeof(g));
    char url[128];
    snprintf(url, sizeof(url), "%s/", base);
    ck_assert_int_eq(poller_get(r, url, 0.2, on_done, &g), 0);
    poller_run(p, 50);
    poller_req_cancel(r);
    ck_assert(!poller_req_busy(r));
    for (int i = 0; i < 20; i++)
        poller_run(p, 20);
    ck_assert(!g.done);
    poller_req_free(r);
    poller_free(p);
}
END_TEST

/* A POST's body arrives whole after its head (Content-Type, the
 * Content-Length, the extra line), on the slot's kept connection, which
 * GETs and POSTs share. */
START_TEST(posts_a_json_body)
{
    struct poller *p = poller_new();
    struct poll_req *r = poller_req_new(p, 1 << 16);
    poller_req_set_header(r, "X-Replguard-Fence: 7");
    static char json[20001];
    memset(json, 'x', sizeof(json) - 1);
    memcpy(json, "{\"pad\":\"", 8);
    memcpy(json + sizeof(json) - 3, "\"}", 2);
    json[sizeof(json) - 1] = '\0';
    for (int i = 0; i < 3; i++) {
        const char *body = i == 1 ? json : "{\"epoch\":3}";
        struct got g = post(p, r, "/v1/heartbeat", body);
        ck_assert_msg(g.r.outcome == POLL_OK, "%d: %s", i, g.r.error);
        ck_assert_str_eq(g.body, ok_body);
        ck_assert_int_eq(g.r.connects, i == 0 ? 1 : 0);
        pthread_mutex_lock(&req_lock);
        char cl[64];
        snprintf(cl, sizeof(cl), "\r\nContent-Length: %zu\r\n", strlen(body));
        ck_assert_msg(
            strncmp(last_request, "POST /v1/heartbeat HTTP/1.1\r\n", 29) == 0,
            "%.200s", last_request);
        ck_assert(strstr(last_request, cl) != NULL);
        ck_assert(
            strstr(last_request, "\r\nContent-Type: application/json\r\n"));
        ck_assert(strstr(last_request, "\r\nX-Replguard-Fence: 7\r\n"));
        const char *at = strstr(last_request, "\r\n\r\n");
        ck_assert(at && strcmp(at + 4, body) == 0);
        pthread_mutex_unlock(&req_lock);
    }
    struct got g = get(p, r, "/metrics", 2);
    ck_assert_int_eq(g.r.outcome, POLL_OK);
    ck_assert_int_eq(g.r.connects, 0);
    ck_assert_int_eq(accepted, 1);
    ck_assert_int_eq(requests, 4);
    poller_req_free(r);
    poller_free(p);
}
END_TEST

/* A POST is never repeated once it may have reached the server: on a
 * kept connection the server drops after reading it (with nothing, or
 * half a head, sent back) it fails, and the server saw it once. A GET
 * in the same spot is retried on a new connection. A kept connection
 * the server closed while idle is looked at before the POST is written:
 * that one goes on a new connection and succeeds; so does one idle too
 * long to trust. */
START_TEST(post_not_repeated)
{
    static const enum mode drops[] = {M_SILENT_CLOSE, M_HALF_CLOSE};
    struct poller *p = poller_new();
    struct poll_req *r = poller_req_new(p, 1 << 16);
    for (int i = 0; i < 2; i++) {
        mode = M_OK;
        ck_assert_int_eq(post(p, r, "/v1/write", "{}").r.outcome, POLL_OK);
        int before = requests;
        mode = drops[i];
        struct got g = post(p, r, "/v1/write", "{\"count\":1}");
        ck_assert_int_eq(g.r.outcome, POLL_CONNECT);
        ck_assert_int_eq(g.r.connects, 0);
        ck_assert_int_eq(requests - before, 1);
    }
    /* a GET in the silent case: retried once on a new connection */
    mode = M_OK;
    ck_assert_int_eq(get(p, r, "/", 2).r.outcome, POLL_OK);
    int before = requests;
    mode = M_SILENT_CLOSE;
    struct got g = get(p, r, "/", 2);
    ck_assert_int_eq(g.r.outcome, POLL_CONNECT);
    ck_assert_int_eq(g.r.connects, 1);
    ck_assert_int_eq(requests - before, 2);
    /* closed while idle, noticed before the POST is written */
    mode = M_DROP_AFTER;
    ck_assert_int_eq(post(p, r, "/v1/write", "{}").r.outcome, POLL_OK);
    nanosleep(&(struct timespec){0, 50000000}, NULL); /* no poller_run */
    mode = M_OK;
    before = requests;
    g = post(p, r, "/v1/write", "{}");
    ck_assert_msg(g.r.outcome == POLL_OK, "%s", g.r.error);
    ck_assert_int_eq(g.r.connects, 1);
    ck_assert_int_eq(requests - before, 1);
    /* idle over 4 s, open for all the client can see: a POST still takes
     * a new one (the server may be closing it that moment), a GET not */
    nanosleep(&(struct timespec){4, 200000000}, NULL);
    g = post(p, r, "/v1/write", "{}");
    ck_assert_int_eq(g.r.outcome, POLL_OK);
    ck_assert_int_eq(g.r.connects, 1);
    nanosleep(&(struct timespec){4, 200000000}, NULL);
    g = get(p, r, "/", 2);
    ck_assert_int_eq(g.r.outcome, POLL_OK);
    ck_assert_int_eq(g.r.connects, 0);
    poller_req_free(r);
    poller_free(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("httpget");
    TCase *tc = tcase_create("loopback");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, keeps_the_connection);
    tcase_add_test(tc, lends_a_kept_connection);
    tcase_add_test(tc, pieces_and_chunks);
    tcase_add_test(tc, failures_cost_one_request);
    tcase_add_test(tc, stall_times_out);
    tcase_add_test(tc, reconnects_after_close);
    tcase_add_test(tc, refused_and_cancelled);
    tcase_add_test(tc, posts_a_json_body);
    tcase_add_test(tc, post_not_repeated);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
