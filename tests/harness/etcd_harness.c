/* etcd_harness.c: a loopback etcd cluster for tests (etcd_harness.h). */
#include "etcd_harness.h"

#include "agent_harness.h"

#include "ha/etcdjson.h"
#include "lib/util.h"
#include "simnode_harness.h"
#include "test_support.h"

#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define ETCD_START_S 20.0

const char *etcd_binary(void)
{
    const char *e = getenv("ETCD");
    const char *path = e && *e ? e : "/usr/bin/etcd";
    return access(path, X_OK) == 0 ? path : NULL;
}

static void start_member(struct etcd_cluster *ec, size_t i, int peer,
                         const char *initial)
{
    char name[16], data[128], log[128], purl[64];
    snprintf(name, sizeof(name), "e%zu", i);
    snprintf(data, sizeof(data), "%s/%s", ec->dir, name);
    snprintf(log, sizeof(log), "%s/%s.log", ec->dir, name);
    snprintf(purl, sizeof(purl), "http://127.0.0.1:%d", peer);
    const char *argv[] = {
        etcd_binary(), "--name", name, "--data-dir", data,
        "--listen-client-urls", ec->client[i], "--advertise-client-urls",
        ec->client[i], "--listen-peer-urls", purl,
        "--initial-advertise-peer-urls", purl, "--initial-cluster", initial,
        "--initial-cluster-token", ec->dir,
        /* quick elections on loopback */
        "--heartbeat-interval", "50", "--election-timeout", "500", NULL};
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ck_assert_int_ge(fd, 0);
    pid_t parent = getpid();
    ec->pid[i] = fork();
    ck_assert_int_ge(ec->pid[i], 0);
    if (ec->pid[i] == 0) {
        dup2(fd, STDERR_FILENO);
        unsetenv("REPLGUARD_TEST_WRAPPER"); /* etcd is not under test */
        exec_child(parent, fd, argv);
    }
    close(fd);
}

static bool healthy(const char *client)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/health", client);
    struct opts o = {.timeout_ms = 500};
    struct resp r;
    http(url, &o, &r);
    bool ok = r.rc == CURLE_OK && r.status == 200 && r.body.data &&
              strstr(r.body.data, "\"true\"");
    buf_free(&r.body);
    return ok;
}

/* distinct_port: a free loopback port not in used[0..n): the kernel
 * hands the same free port out again once it is closed, and a busy
 * machine has few. */
static int distinct_port(const int *used, size_t n)
{
    for (;;) {
        int p = loopback_port();
        size_t i = 0;
        while (i < n && used[i] != p)
            i++;
        if (i == n)
            return p;
    }
}

/* launch: n members on fresh loopback ports and a fresh directory. */
static void launch(struct etcd_cluster *ec, size_t n)
{
    int peer[ETCD_MAX_MEMBERS], used[2 * ETCD_MAX_MEMBERS];
    size_t n_used = 0;
    struct buf initial;
    memset(ec, 0, sizeof(*ec));
    ck_assert(n >= 1 && n <= ETCD_MAX_MEMBERS);
    ec->n = n;
    snprintf(ec->dir, sizeof(ec->dir), "/tmp/rg-etcd-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(ec->dir));
    buf_init(&initial, 0);
    for (size_t i = 0; i < n; i++) {
        used[n_used] = distinct_port(used, n_used);
        snprintf(ec->client[i], sizeof(ec->client[i]), "http://127.0.0.1:%d",
                 used[n_used++]);
        peer[i] = used[n_used] = distinct_port(used, n_used);
        n_used++;
        buf_printf(&initial, "%se%zu=http://127.0.0.1:%d", i ? "," : "", i,
                   peer[i]);
    }
    for (size_t i = 0; i < n; i++)
        start_member(ec, i, peer[i], initial.data);
    buf_free(&initial);
}

/* started: waits until every member is healthy; false as soon as one
 * has exited (a port loopback_port() gave was taken before etcd bound
 * it: a busy machine opens thousands of connections meanwhile). */
static bool started(struct etcd_cluster *ec)
{
    double deadline = now_s() + ETCD_START_S * wait_scale();
    for (size_t i = 0; i < ec->n; i++) {
        while (!healthy(ec->client[i])) {
            for (size_t k = 0; k < ec->n; k++) /* any: the others wait */
                if (waitpid(ec->pid[k], NULL, WNOHANG) == ec->pid[k]) {
                    ec->pid[k] = 0;
                    return false;
                }
            ck_assert_msg(now_s() < deadline,
                          "etcd member %zu not healthy "
                          "(logs in %s)",
                          i, ec->dir);
            sleep_ms(50);
        }
    }
    return true;
}

void etcd_start(struct etcd_cluster *ec, size_t n)
{
    for (int attempt = 1;; attempt++) {
        launch(ec, n);
        if (started(ec))
            return;
        fprintf(stderr,
                "etcd_harness: a member exited at start (attempt %d): "
                "new ports\n",
                attempt);
        ck_assert_msg(attempt < 4, "etcd did not start in %d attempts",
                      attempt);
        etcd_stop(ec);
    }
}

void etcd_yaml_endpoints(const struct etcd_cluster *ec, struct buf *b)
{
    buf_puts(b, "[");
    for (size_t i = 0; i < ec->n; i++)
        buf_printf(b, "%s\"%s\"", i ? ", " : "", ec->client[i]);
    buf_puts(b, "]");
}

void etcd_yaml_agent_head(const struct etcd_cluster *ec, const struct agent *ag,
                          struct buf *b, const char *rules, const char *poll,
                          const char *prefix, const char *member, double ttl_s,
                          const char *ha_poll)
{
    char path[160];
    snprintf(path, sizeof(path), "%s/rules.yml", ag->dir);
    agent_write(path, rules);
    agent_yaml_top(ag, b, path, poll);
    buf_puts(b, "ha:\n  etcd: ");
    etcd_yaml_endpoints(ec, b);
    buf_printf(b, "\n  prefix: %s\n  member: %s\n  ttl: %.0fs\n", prefix,
               member, ttl_s);
    if (ha_poll)
        buf_printf(b, "  poll: %s\n", ha_poll);
    buf_puts(b, "clusters:\n");
}

void etcd_pause(struct etcd_cluster *ec)
{
    for (size_t i = 0; i < ec->n; i++)
        kill(ec->pid[i], SIGSTOP);
}

void etcd_resume(struct etcd_cluster *ec)
{
    for (size_t i = 0; i < ec->n; i++)
        kill(ec->pid[i], SIGCONT);
}

void etcd_stop(struct etcd_cluster *ec)
{
    for (size_t i = 0; i < ec->n; i++) {
        if (ec->pid[i] <= 0)
            continue;
        kill(ec->pid[i], SIGCONT);
        kill(ec->pid[i], SIGKILL);
        waitpid(ec->pid[i], NULL, 0);
        ec->pid[i] = 0;
    }
    if (ec->dir[0])
        rm_tree(ec->dir);
    ec->dir[0] = '\0';
}

int etcd_get(const struct etcd_cluster *ec, const char *key, char *value,
             size_t cap, int64_t *create_revision)
{
    char url[128];
    char *body = etcd_range_json(key, NULL);
    snprintf(url, sizeof(url), "%s/v3/kv/range", ec->client[0]);
    struct opts o = {.method = "POST", .body = body, .timeout_ms = 2000};
    struct resp r;
    http(url, &o, &r);
    free(body);
    struct etcd_reply rep;
    int rc = -2; /* no answer, or a bad one */
    if (r.rc == CURLE_OK && r.status == 200 && r.body.data &&
        etcd_parse(r.body.data, r.body.len, 4, &rep) == 0) {
        rc = -1;
        if (rep.n_kvs == 1) {
            snprintf(value, cap, "%s", rep.kvs[0].value);
            *create_revision = rep.kvs[0].create_revision;
            rc = 0;
        }
        etcd_reply_free(&rep);
    }
    buf_free(&r.body);
    return rc;
}
