/* simnode_harness.c: runs replguard-simnode and talks to it over HTTP
 * for test_simnode (see simnode_harness.h). */
#include "simnode_harness.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define START_WAIT_S 20 /* for the child to print "ready" */
#define MAX_BODY     (4 << 20)

/* --- the child ---------------------------------------------------------- */

double wait_scale(void)
{
    const char *m = getenv("CK_TIMEOUT_MULTIPLIER");
    double k = m ? strtod(m, NULL) : 1;
    return k >= 1 ? k : 1;
}

double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

void binary_path(char *out, size_t n)
{
    const char *top = getenv("top_builddir");
    snprintf(out, n, "%s/replguard-simnode", top ? top : ".");
}

/* wrap: argv with the words of $REPLGUARD_TEST_WRAPPER (split at spaces)
 * before it, into out (cap entries, NULL-terminated) using words as the
 * words' storage; no allocation, as it runs between fork and exec.
 * Returns how many wrapper words were put in front. */
static size_t wrap(const char *const *argv, const char **out, size_t cap,
                   char *words, size_t words_len)
{
    const char *w = getenv("REPLGUARD_TEST_WRAPPER");
    size_t n = 0, k = 0;
    if (w && strlen(w) < words_len) {
        memcpy(words, w, strlen(w) + 1);
        for (char *p = words; *p && n + 1 < cap;) {
            while (*p == ' ')
                *p++ = '\0';
            if (*p)
                out[n++] = p;
            while (*p && *p != ' ')
                p++;
        }
    }
    k = n;
    for (size_t i = 0; argv[i] && n + 1 < cap; i++)
        out[n++] = argv[i];
    out[n] = NULL;
    return k;
}

/* exec_child: the forked child's side; never returns. */
void exec_child(pid_t parent, int out_fd, const char *const *argv)
{
    char words[4096];
    const char *av[96];
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    if (out_fd >= 0 && dup2(out_fd, STDOUT_FILENO) < 0)
        _exit(127);
    if (wrap(argv, av, ARRAY_LEN(av), words, sizeof(words)) > 0)
        execvp(av[0], (char *const *)av); /* e.g. valgrind, from PATH */
    else
        execv(argv[0], (char *const *)argv);
    _exit(127);
}

/* read_line: reads one line of the child's stdout into line, waiting up
 * to the deadline. Returns 0 or -1 (EOF, timeout). */
static int read_line(int fd, char *line, size_t n, double deadline)
{
    size_t len = 0;
    while (len + 1 < n) {
        struct pollfd p = {fd, POLLIN, 0};
        int ms = (int)((deadline - now_s()) * 1000);
        if (ms <= 0 || poll(&p, 1, ms) <= 0)
            return -1;
        char c;
        if (read(fd, &c, 1) != 1)
            return -1;
        if (c == '\n')
            break;
        line[len++] = c;
    }
    line[len] = '\0';
    return 0;
}

static void read_nodes(struct simnode *s, int fd)
{
    char line[256];
    double deadline = now_s() + START_WAIT_S * wait_scale();
    for (;;) {
        ck_assert_msg(read_line(fd, line, sizeof(line), deadline) == 0,
                      "replguard-simnode printed no \"ready\"");
        if (strcmp(line, "ready") == 0)
            return;
        ck_assert_uint_lt(s->n, MAX_NODES);
        size_t i = s->n++;
        int k = sscanf(line, "node %7s %15s %15s %63s", s->cluster[i],
                       s->name[i], s->role[i], s->url[i]);
        ck_assert_msg(k == 4, "bad node line: %s", line);
    }
}

/* spawn: starts replguard-simnode on ephemeral loopback ports with the
 * extra arguments (NULL-terminated) and waits for "ready". */
const char *const SIMNODE_FOUR_NODES[] = {
    "--nodes", "4", "--ingest-rate", "1000", "--apply-rate", "5000", NULL};

void spawn(struct simnode *s, const char *const *extra)
{
    char bin[PATH_MAX];
    const char *argv[32] = {bin, "--port", "0", "--host", "127.0.0.1"};
    size_t argc = 5;
    binary_path(bin, sizeof(bin));
    for (size_t i = 0; extra && extra[i] && argc + 1 < ARRAY_LEN(argv); i++)
        argv[argc++] = extra[i];
    argv[argc] = NULL;
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    memset(s, 0, sizeof(*s));
    pid_t parent = getpid();
    s->pid = fork();
    ck_assert_int_ge(s->pid, 0);
    if (s->pid == 0)
        exec_child(parent, p[1], argv);
    close(p[1]);
    read_nodes(s, p[0]);
    close(p[0]); /* the child ignores SIGPIPE and writes nothing more */
}

const char *simnode_url(const struct simnode *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->name[i], name) == 0)
            return s->url[i];
    ck_abort_msg("no node %s", name);
    return NULL;
}

const char *simnode_url_in(const struct simnode *s, const char *cluster,
                           const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->cluster[i], cluster) == 0 &&
            strcmp(s->name[i], name) == 0)
            return s->url[i];
    ck_abort_msg("no node %s/%s", cluster, name);
    return NULL;
}

void simnode_yaml_nodes(const struct simnode *s, struct buf *b)
{
    for (size_t i = 0; i < s->n; i++)
        buf_printf(b, "      - {name: %s, url: \"%s\", role: %s}\n", s->name[i],
                   s->url[i], s->role[i]);
}

/* reap: SIGTERM, then SIGKILL after 10 s (times wait_scale); returns the
 * wait status. */
int reap(pid_t pid)
{
    int status = 0;
    kill(pid, SIGTERM);
    for (int i = 0; i < 1000 * wait_scale(); i++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return status;
        sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return status;
}

void simnode_stop(struct simnode *s)
{
    if (s->pid > 0)
        reap(s->pid);
    s->pid = 0;
}

/* --- HTTP --------------------------------------------------------------- */

struct upload {
    const char *p;
    size_t left;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct resp *r = ud;
    return buf_append(&r->body, p, size * n) == 0 ? size * n : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct resp *r = ud;
    size_t len = size * n;
    char line[256];
    snprintf(line, sizeof(line), "%.*s", (int)len, p);
    line[strcspn(line, "\r\n")] = '\0';
    if (strncasecmp(line, "Allow: ", 7) == 0)
        snprintf(r->allow, sizeof(r->allow), "%s", line + 7);
    if (strncasecmp(line, "Content-Type: ", 14) == 0)
        snprintf(r->ctype, sizeof(r->ctype), "%s", line + 14);
    return len;
}

static size_t on_upload(char *out, size_t size, size_t n, void *ud)
{
    struct upload *u = ud;
    size_t k = size * n < u->left ? size * n : u->left;
    memcpy(out, u->p, k);
    u->p += k;
    u->left -= k;
    return k;
}

static void set_body(CURL *c, const struct opts *o, struct upload *u,
                     struct curl_slist **hdrs)
{
    u->p = o->body;
    u->left = o->body_len ? o->body_len : strlen(o->body);
    if (o->chunked) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_upload);
        curl_easy_setopt(c, CURLOPT_READDATA, u);
        *hdrs = curl_slist_append(*hdrs, "Transfer-Encoding: chunked");
    } else {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, o->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)u->left);
    }
    *hdrs = curl_slist_append(*hdrs,
                              o->expect ? "Expect: 100-continue" : "Expect:");
}

/* http: one request; the caller frees r->body (buf_free). */
void http(const char *url, const struct opts *o, struct resp *r)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    struct upload u;
    memset(r, 0, sizeof(*r));
    buf_init(&r->body, MAX_BODY);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                     o && o->timeout_ms ? o->timeout_ms : 5000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    if (o && o->body)
        set_body(c, o, &u, &hdrs);
    if (o && o->method && strcmp(o->method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L); /* else curl waits for one */
    else if (o && o->method)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, o->method);
    if (o && o->header)
        hdrs = curl_slist_append(hdrs, o->header);
    if (o && o->cainfo)
        curl_easy_setopt(c, CURLOPT_CAINFO, o->cainfo);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    r->rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
}

/* call: method on base+path with an optional JSON body; returns the
 * status (0 on a transport error) and frees the body. */
long call(const char *base, const char *method, const char *path,
          const char *body)
{
    char url[256];
    struct resp r;
    struct opts o = {.method = method, .body = body};
    snprintf(url, sizeof(url), "%s%s", base, path);
    http(url, &o, &r);
    buf_free(&r.body);
    return r.rc == CURLE_OK ? r.status : 0;
}

/* get: GET base+path into r (the caller frees r->body). */
void get(const char *base, const char *path, struct resp *r)
{
    char url[256];
    snprintf(url, sizeof(url), "%s%s", base, path);
    http(url, NULL, r);
}

/* assert_error: r is status with a JSON body {"error": "..."}. */
void assert_error(const struct resp *r, long status)
{
    ck_assert_int_eq(r->rc, CURLE_OK);
    ck_assert_msg(r->status == status, "status %ld, want %ld (body %s)",
                  r->status, status, r->body.data ? r->body.data : "");
    ck_assert_str_eq(r->ctype, "application/json");
    cJSON *j = cJSON_Parse(r->body.data);
    ck_assert_msg(j != NULL, "error body is not JSON: %s", r->body.data);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    ck_assert_msg(cJSON_IsString(e) && e->valuestring[0],
                  "no error string in %s", r->body.data);
    cJSON_Delete(j);
}

/* expect_error: sends the request and asserts an error reply. */
void expect_error(const char *base, const char *path, const struct opts *o,
                  long status)
{
    char url[256];
    struct resp r;
    snprintf(url, sizeof(url), "%s%s", base, path);
    http(url, o, &r);
    assert_error(&r, status);
    buf_free(&r.body);
}

/* --- metrics ------------------------------------------------------------ */

/* sample_value: where the value of name{labels} starts if line is that
 * sample, else NULL. */
static const char *sample_value(const char *line, const char *name,
                                const char *labels)
{
    size_t nl = strlen(name), ll = strlen(labels);
    if (line[0] == '#' || strncmp(line, name, nl) != 0)
        return NULL;
    const char *p = line + nl;
    if (ll == 0)
        return *p == ' ' ? p : NULL;
    if (*p != '{' || strncmp(p + 1, labels, ll) != 0 || p[1 + ll] != '}')
        return NULL;
    return p + ll + 2;
}

/* sample: the value of name{labels} (labels "" for none) in text. */
static bool sample(const char *text, const char *name, const char *labels,
                   double *out)
{
    for (const char *line = text; line && *line;) {
        const char *v = sample_value(line, name, labels);
        if (v) {
            *out = strtod(v, NULL);
            return true;
        }
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    return false;
}

/* metric: scrapes base's /metrics and returns the sample (NAN when the
 * node does not answer or has no such sample). */
double metric(const char *base, const char *name, const char *labels)
{
    struct resp r;
    double v = NAN;
    get(base, "/metrics", &r);
    if (r.rc != CURLE_OK || r.status != 200 ||
        !sample(r.body.data ? r.body.data : "", name, labels ? labels : "", &v))
        v = NAN;
    buf_free(&r.body);
    return v;
}

double admin_requests(const char *base, const char *endpoint)
{
    char labels[64];
    snprintf(labels, sizeof(labels), "endpoint=\"%s\"", endpoint);
    return metric(base, "stemedb_admin_requests_total", labels);
}

static bool holds(double v, enum cmp op, double want)
{
    return op == GT ? v > want : op == LT ? v < want : v == want;
}

double metric_in(const char *text, const char *name, const char *labels)
{
    double v;
    return sample(text, name, labels ? labels : "", &v) ? v : NAN;
}

/* wait_metric_for: polls the sample until it compares op want, up to
 * secs; returns whether it did, the last value in *last. */
bool wait_metric_for(const char *base, const char *name, const char *labels,
                     enum cmp op, double want, double secs, double *last)
{
    double deadline = now_s() + secs, v;
    do {
        v = metric(base, name, labels);
        if (holds(v, op, want))
            break;
        sleep_ms(20);
    } while (now_s() < deadline);
    if (last)
        *last = v;
    return holds(v, op, want);
}

bool wait_metric(const char *base, const char *name, const char *labels,
                 enum cmp op, double want, double *last)
{
    return wait_metric_for(base, name, labels, op, want, WAIT_S, last);
}

void assert_wait_for(const char *base, const char *name, const char *labels,
                     enum cmp op, double want, double secs)
{
    double v;
    ck_assert_msg(wait_metric_for(base, name, labels, op, want, secs, &v),
                  "%s{%s} on %s stayed %g (want %s %g)", name,
                  labels ? labels : "", base, v,
                  op == GT   ? ">"
                  : op == LT ? "<"
                             : "==",
                  want);
}

void assert_wait(const char *base, const char *name, const char *labels,
                 enum cmp op, double want)
{
    assert_wait_for(base, name, labels, op, want, WAIT_S);
}

/* promtool_check: `$PROMTOOL check metrics` must accept text silently.
 * Skipped without promtool, except under CI=true. */
void promtool_check(const struct buf *text)
{
    const char *pt = getenv("PROMTOOL");
    if (!pt || !*pt) {
        const char *ci = getenv("CI");
        ck_assert_msg(!ci || strcmp(ci, "true") != 0,
                      "CI=true but PROMTOOL is empty: install promtool");
        return;
    }
    char path[] = "/tmp/test_simnode.XXXXXX";
    int fd = mkstemp(path), p[2];
    ck_assert_int_ge(fd, 0);
    unlink(path);
    ck_assert_int_eq(write(fd, text->data, text->len), (ssize_t)text->len);
    lseek(fd, 0, SEEK_SET);
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd, STDIN_FILENO);
        dup2(p[1], STDOUT_FILENO);
        dup2(p[1], STDERR_FILENO);
        execl(pt, pt, "check", "metrics", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    close(fd);
    struct buf out;
    char chunk[512];
    ssize_t k = 1;
    buf_init(&out, 8192); /* drains everything, keeps the start */
    while (k > 0) {
        k = read(p[0], chunk, sizeof(chunk));
        if (k > 0)
            buf_append(&out, chunk, (size_t)k);
    }
    close(p[0]);
    int status;
    waitpid(pid, &status, 0);
    bool silent = out.len == 0;
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0 && silent,
                  "promtool check metrics said: %s", out.data ? out.data : "");
    buf_free(&out);
}
