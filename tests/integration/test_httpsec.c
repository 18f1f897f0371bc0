/* test_httpsec.c: replguard's HTTP security against the running binary:
 * HTTPS with a generated certificate, the rules for credential files,
 * bearer tokens on every mutating endpoint, no secret in any output,
 * and the connection limits under a slow-loris and a flood.
 *
 * The hostile clients use raw sockets bound to their own loopback
 * addresses (127.0.0.2, 127.0.0.3), so the per-address limit applies to
 * them and not to the well-behaved client on 127.0.0.1. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_harness.h"
#include "simnode_harness.h"
#include "test_support.h"
#include "lib/util.h"

#define TOKEN  "tok-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
#define FP     "feedbeef01"
#define IDLE_S 10 /* httpd's default idle timeout */

static struct simnode sn;
static struct agent ag;
static char path_token[128], path_cert[128], path_key[128], path_rules[128];

static const char RULES[] = "runbook: lag\n"
                            "match: {alertname: ReplicationLagCritical}\n"
                            "target_label: replica\n"
                            "steps:\n"
                            "  - action: force_sync\n";

/* run: runs argv (output discarded); returns its exit status. */
static int run(const char *const *argv)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* make_cert: a self-signed certificate for 127.0.0.1 at dir/NAME.crt,
 * its key at dir/NAME.key (0600). */
static void make_cert(const char *name, char *crt, char *key, size_t n)
{
    snprintf(crt, n, "%s/%s.crt", ag.dir, name);
    snprintf(key, n, "%s/%s.key", ag.dir, name);
    const char *argv[] = {"openssl",
                          "req",
                          "-x509",
                          "-newkey",
                          "ec",
                          "-pkeyopt",
                          "ec_paramgen_curve:prime256v1",
                          "-nodes",
                          "-days",
                          "2",
                          "-subj",
                          "/CN=127.0.0.1",
                          "-addext",
                          "subjectAltName=IP:127.0.0.1",
                          "-keyout",
                          key,
                          "-out",
                          crt,
                          NULL};
    ck_assert_int_eq(run(argv), 0);
    ck_assert_int_eq(chmod(key, 0600), 0);
}

/* write_config: a config on sn's nodes; tls and token are optional. */
static void write_config(bool tls, bool token)
{
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b,
               "listen: \"127.0.0.1:0\"\n"
               "state_dir: %s/state\n"
               "audit_log: %s/audit.jsonl\n"
               "rules: %s\n"
               "poll: {interval: 200ms, timeout: 150ms}\n",
               ag.dir, ag.dir, path_rules);
    if (token)
        buf_printf(&b, "auth: {token_file: %s}\n", path_token);
    if (tls)
        buf_printf(&b, "tls: {cert_file: %s, key_file: %s}\n", path_cert,
                   path_key);
    buf_puts(&b, "clusters:\n  - name: c1\n    nodes:\n");
    simnode_yaml_nodes(&sn, &b);
    agent_write(ag.cfg, b.data);
    buf_free(&b);
}

static void setup(void)
{
    agent_setup(&ag, &sn, NULL);
    snprintf(path_token, sizeof(path_token), "%s/token", ag.dir);
    snprintf(path_rules, sizeof(path_rules), "%s/rules.yml", ag.dir);
    agent_write(path_token, TOKEN "\n");
    agent_write(path_rules, RULES);
}

static void teardown(void)
{
    agent_teardown(&ag, &sn);
}

/* payload: a one-alert Alertmanager webhook body no runbook takes. */
static void payload(struct buf *b)
{
    alert_payload(b, "Other", "firing", FP, "\"replica\":\"node2\"");
}

/* request: method on ag.base+path with an optional body, Authorization
 * header (NULL: none) and CA (NULL: ag.cafile); r->body is the
 * caller's. */
static void request(const char *method, const char *path, const char *body,
                    const char *auth, const char *ca, struct resp *r)
{
    char hdr[256];
    snprintf(hdr, sizeof(hdr), "Authorization: %s", auth ? auth : "");
    struct opts o = {.method = method,
                     .body = body,
                     .header = auth ? hdr : NULL,
                     .cainfo = ca};
    agent_request(&ag, path, &o, r);
}

static long status_of(const char *method, const char *path, const char *body,
                      const char *auth)
{
    struct resp r;
    request(method, path, body, auth, NULL, &r);
    buf_free(&r.body);
    return r.rc == CURLE_OK ? r.status : 0;
}

/* --- TLS ----------------------------------------------------------------- */

START_TEST(serves_https_with_its_certificate)
{
    char other_crt[128], other_key[128];
    make_cert("tls", path_cert, path_key, sizeof(path_cert));
    make_cert("other", other_crt, other_key, sizeof(other_crt));
    write_config(true, true);
    ag.cafile = path_cert;
    agent_start(&ag);
    ck_assert_msg(strncmp(ag.base, "https://", 8) == 0, "%s", ag.base);

    struct resp r;
    request("GET", "/metrics", NULL, NULL, NULL, &r);
    ck_assert_msg(r.rc == CURLE_OK, "GET /metrics over https: %s",
                  curl_easy_strerror(r.rc));
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body.data, "replguard_ready 1"));
    buf_free(&r.body);

    struct buf b;
    buf_init(&b, 0);
    payload(&b);
    request("POST", "/webhook", b.data, "Bearer " TOKEN, NULL, &r);
    ck_assert_int_eq(r.rc, CURLE_OK);
    ck_assert_int_eq(r.status, 200);
    buf_free(&r.body);
    buf_free(&b);

    /* a CA that did not sign it: verification fails */
    request("GET", "/metrics", NULL, NULL, other_crt, &r);
    ck_assert_msg(r.rc == CURLE_PEER_FAILED_VERIFICATION ||
                      r.rc == CURLE_SSL_CACERT_BADFILE,
                  "with the wrong CA: %s", curl_easy_strerror(r.rc));
    buf_free(&r.body);

    /* plain HTTP to the port gets no metrics */
    char url[128];
    snprintf(url, sizeof(url), "http://%s/metrics", ag.base + 8);
    http(url, NULL, &r);
    ck_assert_msg(r.rc != CURLE_OK || r.status != 200, "plain http: %ld",
                  r.status);
    ck_assert(!r.body.data || !strstr(r.body.data, "replguard_"));
    buf_free(&r.body);

    /* a new certificate needs a restart: said, and the old one kept */
    make_cert("tls", path_cert, path_key, sizeof(path_cert));
    kill(ag.pid, SIGHUP);
    double deadline = now_s() + 10;
    while (!agent_log_has(&ag, "restart replguard to apply") &&
           now_s() < deadline)
        sleep_ms(50);
    ck_assert(agent_log_has(&ag, "restart replguard to apply"));
    request("GET", "/metrics", NULL, NULL, path_cert, &r);
    ck_assert_int_eq(r.rc, CURLE_PEER_FAILED_VERIFICATION);
    buf_free(&r.body);
    ck_assert_int_eq(agent_stop(&ag), 0);
    agent_start(&ag); /* the restart serves the new one */
}
END_TEST

START_TEST(a_bad_certificate_stops_the_start)
{
    make_cert("tls", path_cert, path_key, sizeof(path_cert));
    agent_write(path_key, "-----BEGIN PRIVATE KEY-----\nnope\n"
                          "-----END PRIVATE KEY-----\n");
    write_config(true, false);
    ag.cafile = path_cert;
    ck_assert_int_eq(agent_start_only(&ag), -1);
    ck_assert(agent_log_has(&ag, "msg=\"cannot start\""));
}
END_TEST

/* --- credential files ---------------------------------------------------- */

/* refused: replguard exits 1 at start with a log line naming path and
 * saying why. */
static void refused(const char *path, const char *why)
{
    struct stat st;
    ag.log_from = stat(ag.log, &st) == 0 ? (long)st.st_size : 0;
    ck_assert_int_eq(agent_start_only(&ag), -1);
    char want[512];
    snprintf(want, sizeof(want), "%s: %s", path, why);
    ck_assert_msg(agent_log_has(&ag, want), "no \"%s\" in %s", want, ag.log);
    ck_assert(agent_log_has(&ag, "msg=\"cannot start\""));
}

START_TEST(secret_files_must_be_private)
{
    make_cert("tls", path_cert, path_key, sizeof(path_cert));
    write_config(true, true);
    char bin[PATH_MAX];
    replguard_path(bin, sizeof(bin));
    const char *check[] = {bin, "--check-config", "-c", ag.cfg, NULL};
    const struct {
        const char *path;
        mode_t mode;
        const char *why;
    } cases[] = {
        {path_token, 0640, "mode 0640 lets group or others"},
        {path_token, 0604, "mode 0604 lets group or others"},
        {path_token, 0620, "mode 0620 lets group or others"},
        {path_key, 0644, "mode 0644 lets group or others"},
        {path_key, 0602, "mode 0602 lets group or others"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        ck_assert_int_eq(chmod(cases[i].path, cases[i].mode), 0);
        refused(cases[i].path, cases[i].why);
        ck_assert_int_eq(run(check), 1); /* --check-config says so too */
        ck_assert_int_eq(chmod(cases[i].path, 0600), 0);
    }
    /* not regular files: a directory, a FIFO (without blocking on it) */
    char saved[160];
    snprintf(saved, sizeof(saved), "%s/token.saved", ag.dir);
    ck_assert_int_eq(rename(path_token, saved), 0);
    ck_assert_int_eq(mkdir(path_token, 0700), 0);
    refused(path_token, "not a regular file");
    ck_assert_int_eq(rmdir(path_token), 0);
    ck_assert_int_eq(mkfifo(path_token, 0600), 0);
    refused(path_token, "not a regular file");
    ck_assert_int_eq(unlink(path_token), 0);
    refused(path_token, "cannot read");
    agent_write(path_token, "\n");
    refused(path_token, "the first line is empty");
    ck_assert_int_eq(rename(saved, path_token), 0);
    /* the certificate is public, but must be there */
    ck_assert_int_eq(chmod(path_cert, 0644), 0);
    char gone[160];
    snprintf(gone, sizeof(gone), "%s.gone", path_cert);
    ck_assert_int_eq(rename(path_cert, gone), 0);
    refused(path_cert, "cannot read");
    ck_assert_int_eq(rename(gone, path_cert), 0);
    /* all fine: it checks and starts */
    ck_assert_int_eq(run(check), 0);
    ag.cafile = path_cert;
    agent_start(&ag);
}
END_TEST

/* dial: a TCP connection from 127.0.0.X (src) to the agent's port;
 * -1 when refused. */
static int dial(const char *src)
{
    unsigned port = (unsigned)strtoul(strrchr(ag.base, ':') + 1, NULL, 10);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in me = {.sin_family = AF_INET};
    inet_pton(AF_INET, src, &me.sin_addr);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&me, sizeof(me)), 0);
    struct sockaddr_in to = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    if (connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* closed: whether the server has closed fd (waits up to ms). */
static bool closed(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, ms) <= 0)
        return false;
    char c[4096];
    ssize_t n = recv(fd, c, sizeof(c), MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN);
}

/* send_raw: sends text on a fresh connection from 127.0.0.1 and waits
 * (up to 10 s) for the server to answer or close. */
static void send_raw(const char *text)
{
    int fd = dial("127.0.0.1");
    ck_assert_int_ge(fd, 0);
    send(fd, text, strlen(text), MSG_NOSIGNAL);
    shutdown(fd, SHUT_WR);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    poll(&p, 1, 10000);
    close(fd);
}

/* --- tokens -------------------------------------------------------------- */

/* The Authorization values that must not pass. */
static const char *const WRONG[] = {
    NULL,                                          /* missing */
    "Bearer tok-9f8e7d6c5b4a39281706f5e4d3c2b1aX", /* same length */
    "Bearer tok-9f8e7d6c5b4a39281706f5e4d3c2b1a",  /* a prefix */
    "Bearer " TOKEN "0",                           /* a suffix */
    "Bearer ",
    "Bearer",
    "Basic " TOKEN,
    "Basic dG9rLTlmOGU3ZDZjNWI0YTM5MjgxNzA2ZjVlNGQzYzJiMWEwOg==",
    "Bearer  " TOKEN,
    TOKEN,
};

static const char *const MUTATING[] = {"/webhook", "/api/v1/pause",
                                       "/api/v1/resume", "/api/v1/ack/c1",
                                       "/api/v1/throttle-app"};

/* assert_no_secret: fails when text holds the token or an Authorization
 * header, quoting the offending line. */
static void assert_no_secret(const char *what, const char *text)
{
    static const char *const secret[] = {"9f8e7d6c5b4a392817", "uthorization",
                                         "Bearer", "Basic "};
    for (size_t i = 0; i < ARRAY_LEN(secret); i++) {
        const char *p = strstr(text, secret[i]);
        if (!p)
            continue;
        const char *line = p;
        while (line > text && line[-1] != '\n')
            line--;
        ck_abort_msg("\"%s\" in %s: %.*s", secret[i], what,
                     (int)strcspn(line, "\n"), line);
    }
}

START_TEST(every_mutating_endpoint_wants_the_exact_token)
{
    write_config(false, true);
    ag.log_level = "debug";
    agent_start(&ag);
    struct buf b;
    buf_init(&b, 0);
    payload(&b);
    char state_file[160], journal[160];
    snprintf(state_file, sizeof(state_file), "%s/state/state.json", ag.dir);
    snprintf(journal, sizeof(journal), "%s/state/journal.jsonl", ag.dir);
    for (size_t e = 0; e < ARRAY_LEN(MUTATING); e++)
        for (size_t w = 0; w < ARRAY_LEN(WRONG); w++) {
            struct resp r;
            bool hook = strcmp(MUTATING[e], "/webhook") == 0;
            if (hook) /* refusals are logged once a second: each one */
                sleep_ms(1100);
            request("POST", MUTATING[e], hook ? b.data : "", WRONG[w], NULL,
                    &r);
            ck_assert_msg(r.status == 401, "%s with \"%s\": %ld", MUTATING[e],
                          WRONG[w] ? WRONG[w] : "(none)", r.status);
            assert_error(&r, 401);
            buf_free(&r.body);
        }
    /* nothing changed: not paused, no alert journaled */
    sleep_ms(600); /* a few rounds: the snapshot would show a pause */
    ck_assert_double_eq(metric(ag.base, "replguard_remediation_paused", NULL),
                        0);
    ck_assert(!file_has(state_file, "\"paused\":true"));
    ck_assert(!file_has(journal, FP));
    ck_assert_double_eq(
        metric(ag.base, "replguard_webhook_requests_total", "code=\"401\""),
        ARRAY_LEN(WRONG));

    /* the right token works everywhere */
    ck_assert_int_eq(status_of("POST", "/webhook", b.data, "Bearer " TOKEN),
                     200);
    ck_assert_int_eq(status_of("POST", "/api/v1/pause", "", "Bearer " TOKEN),
                     200);
    assert_wait(ag.base, "replguard_remediation_paused", NULL, EQ, 1);
    ck_assert(file_has(state_file, "\"paused\":true"));
    ck_assert(file_has(journal, FP));
    ck_assert_int_eq(status_of("POST", "/api/v1/ack/c1", "", "bearer " TOKEN),
                     200); /* the scheme is case-insensitive */
    ck_assert_int_eq(status_of("POST", "/api/v1/resume", "", "Bearer " TOKEN),
                     200);
    assert_wait(ag.base, "replguard_remediation_paused", NULL, EQ, 0);
    buf_free(&b);

    /* no secret in what it says: state, metrics, its own log */
    struct resp r;
    request("GET", "/api/v1/state", NULL, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    assert_no_secret("/api/v1/state", r.body.data);
    buf_free(&r.body);
    request("GET", "/metrics", NULL, NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    assert_no_secret("/metrics", r.body.data);
    buf_free(&r.body);
    /* requests libmicrohttpd itself rejects (it logs those at debug) */
    send_raw("POST /webhook HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " TOKEN
             "\r\nContent-Length: 12x\r\n\r\n");
    send_raw("POST /webhook HTTP/1.1\r\nAuthorization: Bearer " TOKEN
             "\r\nContent-Length: 5\r\n\r\n{");
    send_raw("POST /api/v1/pause HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
             "wrong-" TOKEN "\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    ck_assert_int_eq(agent_stop(&ag), 0);
    ck_assert(agent_log_has(&ag, "level=debug")); /* it was verbose */
    ck_assert(agent_log_has(&ag, "reason=\"no token\""));
    ck_assert(agent_log_has(&ag, "reason=\"wrong token\""));
    ck_assert(agent_log_has(&ag, "reason=\"not a bearer token\""));
    struct buf logtext;
    buf_init(&logtext, 0);
    FILE *f = fopen(ag.log, "r");
    ck_assert_ptr_nonnull(f);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_append(&logtext, chunk, n);
    fclose(f);
    buf_puts(&logtext, "");
    assert_no_secret(ag.log, logtext.data);
    buf_free(&logtext);
}
END_TEST

/* --- limits -------------------------------------------------------------- */

#define LORIS 80 /* > the per-address limit of 64 */

struct hostile {
    atomic_bool done;
    unsigned cut_at_once; /* slow-loris connections refused at once */
    unsigned cut_later;   /* closed for their slow headers */
    unsigned floods, big_refused;
};

/* loris: LORIS connections from 127.0.0.2, each trickling a request's
 * headers a byte every 2 s (well inside the idle timeout) until the
 * server closes it, up to 60 s. */
static void *loris(void *arg)
{
    struct hostile *h = arg;
    int fds[LORIS];
    for (int i = 0; i < LORIS; i++) {
        fds[i] = dial("127.0.0.2");
        if (fds[i] >= 0 && send(fds[i], "GET /metrics HTTP/1.1\r\nX", 24,
                                MSG_NOSIGNAL) != 24) {
            close(fds[i]);
            fds[i] = -1;
        }
    }
    /* those past the limit are closed at once: wait for at least that
     * many, up to half the idle timeout (which must not be what closes
     * them) */
    for (int i = 0; i < LORIS; i++)
        h->cut_at_once += fds[i] < 0;
    double until = now_s() + IDLE_S / 2;
    while (h->cut_at_once < LORIS - 64 && now_s() < until) {
        sleep_ms(100);
        for (int i = 0; i < LORIS; i++)
            if (fds[i] >= 0 && closed(fds[i], 0)) {
                h->cut_at_once++;
                close(fds[i]);
                fds[i] = -1;
            }
    }
    double deadline = now_s() + 60;
    unsigned left = LORIS - h->cut_at_once;
    while (left > 0 && now_s() < deadline) {
        sleep_ms(2000);
        for (int i = 0; i < LORIS; i++) {
            if (fds[i] < 0)
                continue;
            if (closed(fds[i], 0) || send(fds[i], "a", 1, MSG_NOSIGNAL) != 1) {
                close(fds[i]);
                fds[i] = -1;
                h->cut_later++;
                left--;
            }
        }
    }
    for (int i = 0; i < LORIS; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return NULL;
}

/* flood: from 127.0.0.3, connections opened and dropped (RST) as fast
 * as it can, and requests whose headers are larger than the
 * per-connection memory limit (64 KiB). */
static void *flood(void *arg)
{
    struct hostile *h = arg;
    struct linger rst = {1, 0};
    size_t big_len = 100 * 1024;
    char *big = xmalloc(big_len + 64);
    int k = snprintf(big, 64, "GET /metrics HTTP/1.1\r\nX-Big: ");
    memset(big + k, 'b', big_len - (size_t)k - 4);
    memcpy(big + big_len - 4, "\r\n\r\n", 4);
    for (int i = 0; i < 400; i++) {
        int fd = dial("127.0.0.3");
        if (fd < 0)
            continue;
        h->floods++;
        if (i % 20 == 0) {
            send(fd, big, big_len, MSG_NOSIGNAL);
            char reply[64] = "";
            struct pollfd p = {.fd = fd, .events = POLLIN};
            if (poll(&p, 1, 5000) > 0)
                recv(fd, reply, sizeof(reply) - 1, 0);
            if (strncmp(reply, "HTTP/1.1 200", 12) != 0)
                h->big_refused++;
        }
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
        close(fd);
    }
    free(big);
    return NULL;
}

START_TEST(limits_hold_under_slow_and_flooding_clients)
{
    write_config(false, true);
    agent_start(&ag);
    struct hostile h = {0};
    pthread_t tl, tf;
    ck_assert_int_eq(pthread_create(&tl, NULL, loris, &h), 0);
    ck_assert_int_eq(pthread_create(&tf, NULL, flood, &h), 0);

    /* idle connections from the good address are closed: one that sent
     * nothing, and one stalled in its body (past its headers, so only the
     * idle timeout applies to it) */
    int idle = dial("127.0.0.1"), stalled = dial("127.0.0.1");
    ck_assert_int_ge(idle, 0);
    ck_assert_int_ge(stalled, 0);
    /* (authorized: a refused POST is answered and closed at once) */
    const char part[] = "POST /webhook HTTP/1.1\r\nHost: x\r\n"
                        "Authorization: Bearer " TOKEN "\r\n"
                        "Content-Length: 100\r\n\r\n{";
    ck_assert_int_eq(send(stalled, part, sizeof(part) - 1, MSG_NOSIGNAL),
                     (ssize_t)sizeof(part) - 1);

    /* meanwhile, the well-behaved client is served every time */
    struct buf b;
    buf_init(&b, 0);
    payload(&b);
    unsigned served = 0;
    double until = now_s() + IDLE_S + 8;
    while (now_s() < until) {
        ck_assert_int_eq(status_of("GET", "/metrics", NULL, NULL), 200);
        ck_assert_int_eq(status_of("POST", "/webhook", b.data, "Bearer " TOKEN),
                         200);
        served++;
        sleep_ms(200);
    }
    buf_free(&b);
    ck_assert(closed(idle, 30000));
    ck_assert(closed(stalled, 30000));
    close(idle);
    close(stalled);
    pthread_join(tf, NULL);
    pthread_join(tl, NULL);
    ck_assert_uint_gt(served, 0);
    ck_assert_uint_ge(h.floods, 100);
    ck_assert_uint_eq(h.big_refused, 20);
    /* past the per-address limit, at once; the rest for taking too long
     * over their headers (their idle time never reached the timeout) */
    ck_assert_uint_ge(h.cut_at_once, LORIS - 64);
    ck_assert_uint_eq(h.cut_at_once + h.cut_later, LORIS);
    ck_assert_uint_gt(h.cut_later, 0);
    ck_assert(agent_log_has(&ag, "request headers took too long"));
    ck_assert_int_eq(call(ag.base, "GET", "/-/healthy", NULL), 200);
    ck_assert_int_eq(call(ag.base, "GET", "/-/ready", NULL), 200);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("httpsec");
    TCase *tc = tcase_create("agent");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, serves_https_with_its_certificate);
    tcase_add_test(tc, a_bad_certificate_stops_the_start);
    tcase_add_test(tc, secret_files_must_be_private);
    tcase_add_test(tc, every_mutating_endpoint_wants_the_exact_token);
    tcase_add_test(tc, limits_hold_under_slow_and_flooding_clients);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
