/* test_gzip.c: GET /metrics gzip-compressed against the running
 * replguard (replguard-simnode, one cluster of three nodes): the gzip
 * and plain bodies decode to the same bytes, Accept-Encoding's q=0,
 * identity and * are honoured, HEAD, Vary on every answer, both bodies
 * always of the same round, a slow scrape gets its round's body whole
 * while newer rounds replace it, and a real Prometheus (Debian's, which asks
 * for gzip; that part is skipped without it) gets every sample. */
#include <check.h>
#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "agent_harness.h"
#include "simnode_harness.h"
#include "test_support.h"
#include "lib/util.h"

#define PROMETHEUS "/usr/bin/prometheus"

static struct simnode sn;
static struct agent ag;

/* One answer, as sent: the body not decoded unless decode was asked. */
struct got {
    long status;
    struct buf body;
    char encoding[32]; /* Content-Encoding */
    char vary[64];
    long length; /* Content-Length; -1: none */
};

static size_t on_body(char *p, size_t s, size_t n, void *ctx)
{
    struct got *g = ctx;
    return buf_append(&g->body, p, s * n) == 0 ? s * n : 0;
}

/* header_value: copies the value of header name from the line p (of
 * len bytes) into out when p is that header. */
static void header_value(const char *p, size_t len, const char *name, char *out,
                         size_t n)
{
    size_t k = strlen(name);
    if (len <= k + 1 || strncasecmp(p, name, k) != 0 || p[k] != ':')
        return;
    p += k + 1, len -= k + 1;
    while (len && (*p == ' ' || *p == '\t'))
        p++, len--;
    while (len && (p[len - 1] == '\r' || p[len - 1] == '\n'))
        len--;
    snprintf(out, n, "%.*s", (int)len, p);
}

static size_t on_header(char *p, size_t s, size_t n, void *ctx)
{
    struct got *g = ctx;
    char len[32] = "";
    header_value(p, s * n, "Content-Encoding", g->encoding,
                 sizeof(g->encoding));
    header_value(p, s * n, "Vary", g->vary, sizeof(g->vary));
    header_value(p, s * n, "Content-Length", len, sizeof(len));
    if (len[0])
        g->length = strtol(len, NULL, 10);
    return s * n;
}

/* fetch: method (GET or HEAD) /metrics with the Accept-Encoding line ae
 * (NULL: none), or, decode set, as curl --compressed asks and decodes. */
static void fetch(const char *method, const char *ae, bool decode,
                  struct got *g)
{
    char url[128], hdr[160];
    memset(g, 0, sizeof(*g));
    g->length = -1;
    buf_init(&g->body, 0);
    snprintf(url, sizeof(url), "%s/metrics", ag.base);
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    if (ae) {
        snprintf(hdr, sizeof(hdr), "Accept-Encoding: %s", ae);
        h = curl_slist_append(h, hdr);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, g);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, g);
    if (decode)
        curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, ""); /* --compressed */
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &g->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

/* gunzip: g's body decoded as one gzip member (asserted) into out. */
static void gunzip(const struct got *g, struct buf *out)
{
    z_stream z;
    char chunk[65536];
    memset(&z, 0, sizeof(z));
    buf_init(out, 0);
    ck_assert_int_eq(inflateInit2(&z, 16 + 15), Z_OK);
    z.next_in = (unsigned char *)g->body.data;
    z.avail_in = (uInt)g->body.len;
    int rc = Z_OK;
    while (rc == Z_OK) {
        z.next_out = (unsigned char *)chunk;
        z.avail_out = sizeof(chunk);
        rc = inflate(&z, Z_NO_FLUSH);
        buf_append(out, chunk, sizeof(chunk) - z.avail_out);
    }
    ck_assert_int_eq(rc, Z_STREAM_END);
    ck_assert_uint_eq(z.avail_in, 0); /* nothing after the member */
    inflateEnd(&z);
}

static void write_config(const char *poll)
{
    struct buf b;
    buf_init(&b, 0);
    agent_yaml_head(&ag, &b, NULL, poll);
    buf_puts(&b, "  - name: c1\n    nodes:\n");
    simnode_yaml_nodes(&sn, &b);
    agent_write(ag.cfg, b.data);
    buf_free(&b);
}

static void setup(void)
{
    static const char *const args[] = {"--nodes", "3", NULL};
    agent_setup(&ag, &sn, args);
}

/* setup_large: 64 nodes, and freed memory overwritten in replguard
 * (0xA5 bytes, by glibc's malloc or ASan's), so a body sent after its
 * snapshot was freed reads as garbage instead of its old bytes. */
static void setup_large(void)
{
    static char asan[512];
    const char *old = getenv("ASAN_OPTIONS");
    snprintf(asan, sizeof(asan),
             "%s%smax_free_fill_size=16777216:"
             "free_fill_byte=165",
             old ? old : "", old && *old ? ":" : "");
    setenv("ASAN_OPTIONS", asan, 1);
    setenv("MALLOC_PERTURB_", "165", 1);
    static const char *const args[] = {"--nodes", "64", NULL};
    agent_setup(&ag, &sn, args);
}

static void teardown(void)
{
    agent_teardown(&ag, &sn);
}

/* start: replguard with the config written, once it compresses.
 * It compresses only once a client has asked for gzip
 * (snapbox_want_gzip()): the first gzip request finds no gzip body (one
 * refusing identity gets 406), the rounds after it have both codings. */
static void start(void)
{
    agent_start(&ag);
    struct got g;
    /* nobody asked before: no gzip body, and this one refuses plain */
    fetch("GET", "gzip, identity;q=0", false, &g);
    ck_assert_int_eq(g.status, 406);
    ck_assert_str_eq(g.vary, "Accept-Encoding");
    buf_free(&g.body);
    for (int i = 0; i < 100 * wait_scale(); i++) {
        fetch("GET", "gzip", false, &g);
        bool gz = strcmp(g.encoding, "gzip") == 0;
        buf_free(&g.body);
        if (gz)
            return;
        sleep_ms(100);
    }
    ck_abort_msg("no gzip body in the rounds after a gzip request");
}

static bool same(const struct buf *a, const struct buf *b)
{
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

/* The decoded gzip body is the plain one, byte for byte, whether curl
 * decodes it (--compressed) or zlib does. Rounds are 2 s apart, so the
 * four requests normally fall in one; a round between them retries. */
START_TEST(gzip_decodes_to_the_plain_body)
{
    write_config("interval: 2s, timeout: 500ms");
    start();
    for (int tries = 0;; tries++) {
        struct got plain, curl_gz, raw, again;
        struct buf unz;
        fetch("GET", NULL, false, &plain);
        fetch("GET", NULL, true, &curl_gz);
        fetch("GET", "gzip", false, &raw);
        fetch("GET", NULL, false, &again);
        ck_assert_int_eq(raw.status, 200);
        ck_assert_str_eq(raw.encoding, "gzip");
        ck_assert_str_eq(raw.vary, "Accept-Encoding");
        ck_assert_int_eq(raw.length, (long)raw.body.len);
        ck_assert_str_eq(plain.encoding, "");
        ck_assert_str_eq(plain.vary, "Accept-Encoding");
        ck_assert_uint_lt(raw.body.len, plain.body.len / 2);
        gunzip(&raw, &unz);
        bool one_round = same(&plain.body, &again.body);
        if (one_round) {
            ck_assert_msg(same(&unz, &plain.body), "gunzip differs from plain");
            ck_assert_msg(same(&curl_gz.body, &plain.body),
                          "curl --compressed differs from plain");
        }
        buf_free(&plain.body), buf_free(&curl_gz.body), buf_free(&raw.body);
        buf_free(&again.body), buf_free(&unz);
        if (one_round)
            break;
        ck_assert_int_lt(tries, 5);
    }
}
END_TEST

/* expect: what /metrics answers for the Accept-Encoding line ae. */
static void expect(const char *method, const char *ae, long status,
                   const char *encoding)
{
    struct got g;
    fetch(method, ae, false, &g);
    ck_assert_msg(g.status == status && strcmp(g.encoding, encoding) == 0,
                  "Accept-Encoding \"%s\": %ld \"%s\", want %ld \"%s\"", ae,
                  g.status, g.encoding, status, encoding);
    ck_assert_str_eq(g.vary, "Accept-Encoding");
    if (strcmp(method, "HEAD") == 0)
        ck_assert_uint_eq(g.body.len, 0);
    buf_free(&g.body);
}

START_TEST(accept_encoding_is_honoured)
{
    write_config("interval: 2s, timeout: 500ms");
    start();
    expect("GET", "gzip;q=0", 200, "");
    expect("GET", "identity", 200, "");
    expect("GET", "br", 200, "");
    expect("GET", "gzip;q=0.5, identity", 200, "");
    expect("GET", "deflate, gzip, br, zstd", 200, "gzip");
    expect("GET", "*", 200, "gzip");
    expect("GET", "*;q=0, gzip", 200, "gzip");
    expect("GET", "identity;q=0", 406, "");
    expect("GET", "*;q=0", 406, "");
    expect("HEAD", "gzip", 200, "gzip");
    expect("HEAD", NULL, 200, "");
    /* HEAD's Content-Length is the body GET sends, in each coding */
    struct got head, get_;
    fetch("HEAD", "gzip", false, &head);
    fetch("GET", "gzip", false, &get_);
    ck_assert_int_eq(head.length, (long)get_.body.len);
    buf_free(&head.body), buf_free(&get_.body);
    fetch("HEAD", NULL, false, &head);
    fetch("GET", NULL, false, &get_);
    ck_assert_int_eq(head.length, (long)get_.body.len);
    buf_free(&head.body), buf_free(&get_.body);
}
END_TEST

/* Scrapes reuse their connection (libmicrohttpd closed it after every
 * answer queued on its first call); a GET announcing a body is still
 * answered, on a connection then closed. */
START_TEST(scrapes_keep_their_connection)
{
    write_config("interval: 2s, timeout: 500ms");
    start();
    char url[128];
    snprintf(url, sizeof(url), "%s/metrics", ag.base);
    CURL *c = curl_easy_init();
    struct got g = {0};
    buf_init(&g.body, 0);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "gzip");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &g);
    for (int i = 0; i < 3; i++) {
        long connects = -1, code = 0;
        ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
        ck_assert_int_eq(code, 200);
        ck_assert_int_eq(connects, i == 0 ? 1 : 0); /* reused */
    }
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "GET");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "hello");
    long code = 0;
    ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    ck_assert_int_eq(code, 200);
    curl_easy_cleanup(c);
    buf_free(&g.body);
}
END_TEST

/* rounds_of: the replguard_poll_rounds_total sample of a body. */
static double rounds_of(const struct buf *body)
{
    double v = metric_in(body->data, "replguard_poll_rounds_total", NULL);
    ck_assert_msg(v == v, "no replguard_poll_rounds_total");
    return v;
}

/* A new round shows in both codings at once: a request never sees an
 * older round than one answered before it, whichever coding each. */
START_TEST(both_codings_show_the_same_round)
{
    write_config("interval: 20ms, timeout: 15ms");
    start();
    double seen = 0, first = -1;
    for (int i = 0; i < 300; i++) {
        struct got g;
        struct buf unz;
        bool gz = i % 2;
        fetch("GET", gz ? "gzip" : NULL, false, &g);
        if (gz)
            gunzip(&g, &unz);
        double r = rounds_of(gz ? &unz : &g.body);
        ck_assert_msg(r >= seen, "%s body of round %.0f after round %.0f",
                      gz ? "gzip" : "plain", r, seen);
        seen = r;
        first = first < 0 ? r : first;
        sleep_ms(3); /* a few requests a round */
        buf_free(&g.body);
        if (gz)
            buf_free(&unz);
    }
    ck_assert_msg(seen - first >= 10, "only %.0f rounds passed", seen - first);
}
END_TEST

static double rounds_of(const struct buf *body);

/* rounds_now: the round of the plain body served now. */
static double rounds_now(void)
{
    struct got g;
    fetch("GET", NULL, false, &g);
    double r = rounds_of(&g.body);
    buf_free(&g.body);
    return r;
}

/* slow_fetch: GET /metrics (gzip when gz) on a socket with a 4 KiB
 * receive buffer, set before connecting so the server cannot push a
 * large body into the kernel's buffers at once. After the first 4 KiB
 * it reads nothing until the round served to other requests has passed
 * until_round, then reads the rest. g gets the status, Content-Encoding
 * and -Length, and the body as sent. */
static void slow_fetch(bool gz, double until_round, struct got *g)
{
    memset(g, 0, sizeof(*g));
    g->length = -1;
    buf_init(&g->body, 0);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), n = 4096;
    ck_assert_int_ge(fd, 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &n, sizeof(n));
    /* small segments too: the server sizes its send buffer from the
     * segment size (loopback's 64 KiB would buffer some megabytes) */
    n = 536;
    setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &n, sizeof(n));
    struct sockaddr_in sa = {
        .sin_family = AF_INET,
        .sin_port = htons((uint16_t)atoi(strrchr(ag.base, ':') + 1)),
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    char req[128];
    int len = snprintf(req, sizeof(req),
                       "GET /metrics HTTP/1.1\r\nHost: x\r\n%s"
                       "Connection: close\r\n\r\n",
                       gz ? "Accept-Encoding: gzip\r\n" : "");
    ck_assert_int_eq(write(fd, req, (size_t)len), len);
    struct buf all;
    buf_init(&all, 0);
    char chunk[4096];
    ssize_t got;
    bool held = false;
    while ((got = read(fd, chunk, sizeof(chunk))) > 0) {
        buf_append(&all, chunk, (size_t)got);
        for (int i = 0; !held && rounds_now() < until_round; i++) {
            ck_assert_msg(i < 1500 * wait_scale(), "rounds stopped");
            sleep_ms(20);
        }
        held = true;
    }
    ck_assert_int_eq(got, 0);
    close(fd);
    buf_append(&all, "", 1); /* a NUL for the header search */
    all.len--;
    const char *end = strstr(all.data, "\r\n\r\n");
    ck_assert_ptr_nonnull(end);
    g->status = strtol(all.data + strlen("HTTP/1.1 "), NULL, 10);
    for (const char *p = all.data; p < end;) {
        const char *nl = strstr(p, "\r\n");
        on_header((char *)p, 1, (size_t)(nl + 2 - p), g);
        p = nl + 2;
    }
    end += 4;
    buf_append(&g->body, end, all.len - (size_t)(end - all.data));
    buf_free(&all);
}

/* A scrape read slowly, while newer rounds are published, gets its own
 * round's body whole: each response holds the snapshot whose bytes it
 * sends, and the snapshots published meanwhile do not free them (under
 * ASan, reading a freed body aborts replguard; without it, the
 * Content-Length, the round counter and gzip's CRC catch changed or cut
 * bytes). The plain body of 64 nodes is many times what the kernel
 * buffers for a 4 KiB window, so replguard is still sending it while
 * the rounds pass; the gzip one is smaller (it may be buffered whole)
 * and is read the same way for its CRC. */
START_TEST(a_slow_scrape_keeps_its_round)
{
    write_config("interval: 100ms, timeout: 80ms");
    start();
    for (int gz = 0; gz < 2; gz++) {
        struct got g;
        struct buf unz;
        double before = rounds_now();
        slow_fetch(gz, before + 3, &g);
        ck_assert_int_eq(g.status, 200);
        ck_assert_str_eq(g.encoding, gz ? "gzip" : "");
        ck_assert_int_eq(g.length, (long)g.body.len);
        if (!gz) {
            ck_assert_uint_gt(g.body.len, 16 * 4096);
            for (size_t i = 0; i < g.body.len; i++) {
                unsigned char c = (unsigned char)g.body.data[i];
                ck_assert_msg((c >= ' ' && c < 0x7f) || c == '\n',
                              "byte %zu of %zu is 0x%02x", i, g.body.len, c);
            }
        }
        if (gz)
            gunzip(&g, &unz);
        double r = rounds_of(gz ? &unz : &g.body);
        ck_assert_msg(r >= before && r < before + 3,
                      "%s: round %.0f, asked in round %.0f",
                      gz ? "gzip" : "plain", r, before);
        buf_free(&g.body);
        if (gz)
            buf_free(&unz);
    }
}
END_TEST

/* samples: the sample lines of a /metrics body. */
static int samples(const struct buf *b)
{
    int n = 0;
    for (const char *p = b->data; p && *p;) {
        const char *nl = strchr(p, '\n');
        n += *p != '#' && *p != '\n';
        p = nl ? nl + 1 : p + strlen(p);
    }
    return n;
}

/* prom_value: the first value of an instant query (NAN: none). */
static double prom_value(const char *prom, const char *query)
{
    char path[256];
    struct resp r;
    char *q = curl_easy_escape(NULL, query, 0);
    snprintf(path, sizeof(path), "/api/v1/query?query=%s", q);
    curl_free(q);
    get(prom, path, &r);
    const char *v = r.body.data ? strstr(r.body.data, "\"value\":[") : NULL;
    const char *s = v ? strchr(v, ',') : NULL;
    double out = s && s[1] == '"' ? strtod(s + 2, NULL) : NAN;
    buf_free(&r.body);
    return out;
}

static pid_t start_prometheus(char *url, size_t n)
{
    char cfg[128], arg_cfg[160], data[160], listen[96];
    int port = loopback_port();
    snprintf(url, n, "http://127.0.0.1:%d", port);
    snprintf(cfg, sizeof(cfg), "%s/prometheus.yml", ag.dir);
    char yml[512];
    snprintf(yml, sizeof(yml),
             "global: {scrape_interval: 1s, scrape_timeout: 900ms}\n"
             "scrape_configs:\n  - job_name: replguard\n"
             "    static_configs: [{targets: ['%s']}]\n",
             ag.base + strlen("http://"));
    agent_write(cfg, yml);
    snprintf(arg_cfg, sizeof(arg_cfg), "--config.file=%s", cfg);
    snprintf(data, sizeof(data), "--storage.tsdb.path=%s/prom", ag.dir);
    snprintf(listen, sizeof(listen), "--web.listen-address=127.0.0.1:%d", port);
    pid_t parent = getpid(), pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        const char *argv[] = {PROMETHEUS,         arg_cfg, data, listen,
                              "--log.level=warn", NULL};
        exec_child(parent, -1, argv);
    }
    return pid;
}

/* Prometheus (which sends Accept-Encoding: gzip) scrapes every sample
 * of the body: scrape_samples_scraped equals the plain body's lines. */
START_TEST(prometheus_gets_every_sample)
{
    if (access(PROMETHEUS, X_OK) != 0)
        return; /* main() says so */
    write_config("interval: 200ms, timeout: 150ms");
    start();
    char prom[64];
    pid_t pid = start_prometheus(prom, sizeof(prom));
    int want = 0;
    double got = NAN, up = NAN, until = now_s() + 30 * wait_scale();
    while (now_s() < until && !(got == want && up == 1)) {
        sleep_ms(500);
        /* the body as it is now: a family may appear after some rounds */
        struct got plain;
        fetch("GET", NULL, false, &plain);
        want = samples(&plain.body);
        buf_free(&plain.body);
        got = prom_value(prom, "scrape_samples_scraped{job=\"replguard\"}");
        up = prom_value(prom, "up{job=\"replguard\"}");
    }
    reap(pid);
    ck_assert_msg(up == 1 && got == want,
                  "Prometheus: up %g, %g samples scraped, the body has %d", up,
                  got, want);
    ck_assert_int_gt(want, 20);
}
END_TEST

int main(void)
{
    if (access(PROMETHEUS, X_OK) != 0)
        puts("test_gzip: no " PROMETHEUS " (apt-get install prometheus): "
             "the Prometheus scrape is skipped");
    Suite *s = suite_create("gzip");
    TCase *tc = tcase_create("metrics");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60 * wait_scale());
    tcase_add_test(tc, gzip_decodes_to_the_plain_body);
    tcase_add_test(tc, accept_encoding_is_honoured);
    tcase_add_test(tc, scrapes_keep_their_connection);
    tcase_add_test(tc, both_codings_show_the_same_round);
    tcase_add_test(tc, prometheus_gets_every_sample);
    suite_add_tcase(s, tc);
    tc = tcase_create("large");
    tcase_add_checked_fixture(tc, setup_large, teardown);
    tcase_set_timeout(tc, 60 * wait_scale());
    tcase_add_test(tc, a_slow_scrape_keeps_its_round);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
