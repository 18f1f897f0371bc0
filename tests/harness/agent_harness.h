/* agent_harness.h: runs the built replguard for integration tests: a
 * temp dir for its config, state and log, start (waiting until it
 * listens and has polled once), stop. Failures abort the check test. */
#ifndef REPLGUARD_AGENT_HARNESS_H
#define REPLGUARD_AGENT_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

struct agent {
    pid_t pid;
    char dir[64];          /* a fresh temp dir, removed by agent_cleanup */
    char cfg[96], log[96]; /* dir/replguard.yml, dir/replguard.log */
    char audit[96];        /* dir/audit.jsonl: where a config puts audit_log */
    char base[64];         /* http(s)://127.0.0.1:PORT once started */
    long log_from;         /* where this run's lines start in the log */
    const char *cafile;    /* set: it serves https, verified against it */
    const char *log_level; /* set: --log-level log_level */
};

/* agent_init: makes the temp dir and the paths (removed by
 * agent_cleanup(), unless RG_TEST_KEEP=1 is in the environment). */
void agent_init(struct agent *ag);
/* agent_write: writes text to path (mode 0600). */
void agent_write(const char *path, const char *text);
struct buf;
/* agent_yaml_head: appends to b the start of a config for ag: listen on
 * an ephemeral loopback port, ag's state dir and audit log, the
 * runbooks in rules (NULL: the shipped rules/ under top_srcdir), poll as
 * the inside of its flow mapping ("interval: 100ms, timeout: 80ms"),
 * then "clusters:\n"; the caller appends the clusters. */
void agent_yaml_head(const struct agent *ag, struct buf *b, const char *rules,
                     const char *poll);
/* agent_yaml_top: the same without "clusters:\n", for a caller that
 * adds other top-level keys first. */
void agent_yaml_top(const struct agent *ag, struct buf *b, const char *rules,
                    const char *poll);
/* agent_start: runs replguard -c ag->cfg (stderr into ag->log) and waits
 * for it to listen and be ready. */
void agent_start(struct agent *ag);
/* agent_start_only: the same without waiting for ready (it may exit);
 * returns once it listens, or -1 when it exited first. */
int agent_start_only(struct agent *ag);
/* agent_stop: SIGTERM (then SIGKILL after 10 s); returns the wait
 * status. agent_kill: SIGKILL at once. */
int agent_stop(struct agent *ag);
void agent_kill(struct agent *ag);
/* agent_finish: a fixture's teardown: a running replguard must stop
 * cleanly on SIGTERM (exit 0, no sanitizer report); then the simulator
 * sn is reaped and the temp dir removed. */
struct simnode;
void agent_finish(struct agent *ag, struct simnode *sn);
/* agent_setup: the usual fixture: curl_global_init(), a simnode spawned
 * into sn with the extra arguments simnode_args (NULL: none), and ag
 * initialized (not started). agent_teardown: agent_finish(), then
 * curl_global_cleanup(). */
void agent_setup(struct agent *ag, struct simnode *sn,
                 const char *const *simnode_args);
void agent_teardown(struct agent *ag, struct simnode *sn);
/* agent_cleanup: stops it if running and removes the temp dir. */
void agent_cleanup(struct agent *ag);
/* agent_log_has: whether the log holds a line containing text. */
int agent_log_has(const struct agent *ag, const char *text);
/* replguard_path: $top_builddir/replguard into out. */
void replguard_path(char *out, size_t n);

/* agent_audit_count: the lines of ag->audit with this event and, when
 * key is not NULL, key equal to value (a string, or "true"/"false" for
 * a boolean). Every line must be JSON. */
int agent_audit_count(const struct agent *ag, const char *event,
                      const char *key, const char *value);
/* agent_wait_audit: waits up to secs for agent_audit_count() >= n and
 * fails the test when it stays below. */
void agent_wait_audit(const struct agent *ag, const char *event,
                      const char *key, const char *value, int n, double secs);
/* alert_payload: appends to b an Alertmanager webhook body (version 4,
 * the shape of tests/fixtures/alertmanager) carrying one alert: its
 * alertname, status ("firing" or "resolved"), fingerprint fp and the
 * extra labels, JSON members like "\"replica\":\"node2\"" (or ""). */
struct buf;
void alert_payload(struct buf *b, const char *alertname, const char *status,
                   const char *fp, const char *labels);
/* agent_webhook: POSTs body to ag's /webhook (from loopback, no token);
 * returns the HTTP status, 0 on a transport error. */
long agent_webhook(const struct agent *ag, const char *body);
/* agent_alert: agent_webhook() of the alert_payload() of these
 * arguments. */
long agent_alert(const struct agent *ag, const char *alertname,
                 const char *status, const char *fp, const char *labels);
/* agent_request: the request o (simnode_harness.h; method, body, one
 * header line...) to ag's base followed by path, trusting ag->cafile
 * unless o names a CA; the answer into r (r->body is the caller's).
 * Returns the status, 0 on a transport error. */
struct opts;
struct resp;
long agent_request(const struct agent *ag, const char *path,
                   const struct opts *o, struct resp *r);
/* agent_replica_health: GET /health/replica/CLUSTER/NODE from ag; returns
 * the status (0 on a transport error) and the body's "reason" into why
 * ("null" when it is JSON null, "(no JSON body)" when there is none). */
long agent_replica_health(const struct agent *ag, const char *cluster,
                          const char *node, char *why, size_t n);

#endif
