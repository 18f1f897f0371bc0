/* simnode_harness.h: test support for test_simnode: starts
 * replguard-simnode, sends HTTP requests with libcurl and reads samples
 * off /metrics. Failures abort the running check test (ck_assert). */
#ifndef REPLGUARD_SIMNODE_HARNESS_H
#define REPLGUARD_SIMNODE_HARNESS_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/util.h"

#define MAX_NODES 640 /* test_scale: 300 clusters of two nodes */
/* deadline of every wait for the dynamics (longer under valgrind) */
#define WAIT_S (5.0 * wait_scale())

/* A running replguard-simnode and the node lines it printed. */
struct simnode {
    pid_t pid;
    size_t n;
    char cluster[MAX_NODES][8];
    char name[MAX_NODES][16];
    char role[MAX_NODES][16];
    char url[MAX_NODES][64];
};

/* wait_scale: what the tests' deadlines are multiplied by:
 * $CK_TIMEOUT_MULTIPLIER (make check-valgrind sets it), else 1. */
double wait_scale(void);
/* now_s: seconds on the monotonic clock. */
double now_s(void);
/* sleep_ms: sleeps ms milliseconds. */
void sleep_ms(long ms);
/* binary_path: $top_builddir/replguard-simnode into out. */
void binary_path(char *out, size_t n);
/* exec_child: in a forked child: dies with the parent (PR_SET_PDEATHSIG),
 * sends stdout to out_fd (if >= 0) and executes argv; never returns. When
 * $REPLGUARD_TEST_WRAPPER is set (make check-valgrind sets it to a
 * valgrind command line), its words, split at spaces, come before argv. */
void exec_child(pid_t parent, int out_fd, const char *const *argv);
/* spawn: starts replguard-simnode on ephemeral loopback ports with the
 * extra arguments (NULL-terminated) and waits for "ready". */
void spawn(struct simnode *s, const char *const *extra);
/* SIMNODE_FOUR_NODES: spawn()'s extra arguments for a primary and three
 * replicas, ingesting 1000 and applying 5000 writes a second. */
extern const char *const SIMNODE_FOUR_NODES[];
/* simnode_url: the base URL of the node called name (aborts the test
 * when there is none). */
const char *simnode_url(const struct simnode *s, const char *name);
/* simnode_url_in: the same for the node called name in cluster (of a
 * simulator started with --clusters). */
const char *simnode_url_in(const struct simnode *s, const char *cluster,
                           const char *name);
/* simnode_yaml_nodes: appends the nodes as the items of a replguard
 * config's `nodes:` list ("      - {name: .., url: .., role: ..}"). */
void simnode_yaml_nodes(const struct simnode *s, struct buf *b);
/* reap: SIGTERM, then SIGKILL after 10 s; returns the wait status. */
int reap(pid_t pid);
/* simnode_stop: reaps s's process if it runs (a fixture's teardown). */
void simnode_stop(struct simnode *s);

/* The outcome of one request; body is the caller's to buf_free(). */
struct resp {
    CURLcode rc;
    long status;
    struct buf body;
    char allow[256];
    char ctype[256];
};

/* Options of one request; all default to zero. */
struct opts {
    const char *method; /* default GET */
    const char *body;   /* NULL: none */
    size_t body_len;    /* 0: strlen(body) */
    bool chunked;       /* send the body with chunked encoding */
    bool expect;        /* send Expect: 100-continue */
    long timeout_ms;    /* 0: 5000 */
    const char *header; /* one extra request header line, or NULL */
    const char *cainfo; /* https: trust only this CA file; NULL: default */
};

/* http: one request to url (o may be NULL for a plain GET). */
void http(const char *url, const struct opts *o, struct resp *r);
/* call: method on base+path with an optional body; returns the status,
 * 0 on a transport error. */
long call(const char *base, const char *method, const char *path,
          const char *body);
/* get: GET base+path into r. */
void get(const char *base, const char *path, struct resp *r);
/* assert_error: r is a status reply with a JSON {"error": "..."} body. */
void assert_error(const struct resp *r, long status);
/* expect_error: sends the request and asserts an error reply. */
void expect_error(const char *base, const char *path, const struct opts *o,
                  long status);

/* metric: scrapes base's /metrics for the sample name{labels} (labels
 * like "replica=\"node2\"", NULL for none); NAN when there is none. */
double metric(const char *base, const char *name, const char *labels);

/* admin_requests: base's stemedb_admin_requests_total{endpoint=...}, the
 * node's own count of admin calls to endpoint; NAN when there is none. */
double admin_requests(const char *base, const char *endpoint);

/* metric_in: the sample name{labels} in a /metrics text (labels as for
 * metric()); NAN when there is none. */
double metric_in(const char *text, const char *name, const char *labels);

enum cmp { GT, LT, EQ };
/* wait_metric: polls the sample until it compares op want, up to WAIT_S;
 * returns whether it did, the last value in *last (may be NULL). */
bool wait_metric(const char *base, const char *name, const char *labels,
                 enum cmp op, double want, double *last);
/* assert_wait: wait_metric() that fails the test on timeout. */
void assert_wait(const char *base, const char *name, const char *labels,
                 enum cmp op, double want);
/* wait_metric_for, assert_wait_for: the same with a deadline of secs. */
bool wait_metric_for(const char *base, const char *name, const char *labels,
                     enum cmp op, double want, double secs, double *last);
void assert_wait_for(const char *base, const char *name, const char *labels,
                     enum cmp op, double want, double secs);

/* promtool_check: `$PROMTOOL check metrics` must accept text silently.
 * Skipped when PROMTOOL is empty, except under CI=true (then fails). */
void promtool_check(const struct buf *text);

#endif
