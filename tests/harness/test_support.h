/* test_support.h: helpers the test programs share beside the process
 * harnesses (simnode_harness.h, agent_harness.h): the audit log, files
 * and logs, temp trees, and an fsync gate for the journal. */
#ifndef REPLGUARD_TEST_SUPPORT_H
#define REPLGUARD_TEST_SUPPORT_H

#include <pthread.h>
#include <stdbool.h>

#include "lib/fileio.h"

/* audit_count: the lines of the JSON-lines audit log at path (none when
 * it does not exist) with this event and, when key is not NULL, key
 * equal to value (a string, or "true"/"false" for a boolean). Fails
 * the test on a line that is not JSON. */
int audit_count(const char *path, const char *event, const char *key,
                const char *value);
/* audit_count_prefix: audit_count() with key a string starting with
 * prefix. */
int audit_count_prefix(const char *path, const char *event, const char *key,
                       const char *prefix);
/* wait_audit: waits up to secs for audit_count() >= n and fails the
 * test when it stays below. */
void wait_audit(const char *path, const char *event, const char *key,
                const char *value, int n, double secs);
/* wait_audit_prefix: wait_audit() for audit_count_prefix(). */
void wait_audit_prefix(const char *path, const char *event, const char *key,
                       const char *prefix, int n, double secs);

/* file_text: the whole of path as a heap string the caller frees ("" when
 * it cannot be read). */
char *file_text(const char *path);
/* file_has: whether path's content contains text (false when it does
 * not exist). */
bool file_has(const char *path, const char *text);
/* file_count: the lines of path (up to 4 KiB each) that contain text;
 * 0 when it does not exist. */
int file_count(const char *path, const char *text);
/* wait_file_has: waits up to secs for file_has(); fails the test when
 * it stays false. */
void wait_file_has(const char *path, const char *text, double secs);

/* rm_tree: removes dir and all below it; returns nftw()'s result. */
int rm_tree(const char *dir);

/* fsync_gate: POSIX file operations (ops) whose fsync waits while the
 * gate is held; fsyncs counts the fsyncs begun. */
struct fsync_gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool held;
    int fsyncs;
    struct fileio_ops ops;
};
/* fsync_gate_init: an open gate; fsync_gate_destroy releases it. */
void fsync_gate_init(struct fsync_gate *g);
void fsync_gate_destroy(struct fsync_gate *g);
/* fsync_gate_hold: holds (true) or opens (false) the gate. */
void fsync_gate_hold(struct fsync_gate *g, bool held);
/* fsync_gate_fsyncs: how many fsyncs have begun. */
int fsync_gate_fsyncs(struct fsync_gate *g);

/* loopback_port: a loopback port nobody listens on now (bound to 0 and
 * closed: the daemon a test starts binds it a moment later). */
int loopback_port(void);

#endif
