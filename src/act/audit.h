/* audit.h: the audit log (SPEC section 8): one JSON object a line for
 * every remediation decision, taken or skipped.
 *
 *   {"time":"2025-11-22T00:00:00.250Z","event":"action","cluster":"main",
 *    "runbook":"high-replication-lag","action":"throttle","target":"node2",
 *    "fingerprint":"a1b2c3","dry_run":false,"reason":"lagging_replicas >= 2",
 *    "lag_before":12.5,"lag_after":0.25}
 *
 * (one line in the file). Every key up to "reason" is always present,
 * null when the record has no value for it; lag_before and lag_after
 * appear only when set, and the extra members (failover lines) last. Strings
 * are escaped here: quotes, backslashes and control characters, and invalid
 * UTF-8 becomes U+FFFD, so each line parses as JSON whatever a node or an alert
 * put into a reason.
 *
 * Lines never interleave: a line is built whole and appended (O_APPEND)
 * under the log's mutex, in one write(2) unless the kernel writes short.
 *
 * Durability: audit_write() does not fsync. The journal is what makes
 * remediation crash-safe (a decision is journaled, fsync'd, before it is
 * acted on); the audit log is the human-readable account of it, and an
 * fsync per decision would stall the engine loop. The engine calls
 * audit_sync() periodically (a no-op when nothing was written since the
 * last one) and audit_close() syncs. A kill -9 loses nothing (the page
 * cache survives); a power loss can lose the lines written since the last
 * audit_sync(). */
#ifndef REPLGUARD_AUDIT_H
#define REPLGUARD_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/fileio.h"

/* Longest string field written, in bytes; longer ones are cut. */
#define AUDIT_MAX_FIELD 4096

struct audit;

/* One decision. Strings are borrowed for the call; NULL writes null. */
struct audit_record {
    double time;       /* wall clock, seconds since the epoch */
    const char *event; /* "action", "skipped", "outcome", ... */
    const char *cluster;
    const char *runbook;
    const char *action;
    const char *target;      /* the node acted on */
    const char *fingerprint; /* the alert's */
    bool dry_run;
    const char *reason;
    bool has_lag_before; /* lag_before is written only when set */
    double lag_before;   /* seconds */
    bool has_lag_after;
    double lag_after;
    /* extra: more members, written last as they are: NULL, or the
     * inside of a JSON object (`"epoch":2,"phase":"fence"`, no braces)
     * that the caller built with a JSON printer (failover lines) */
    const char *extra;
};

/* audit_open: opens (creating, mode 0640) the audit log at path for
 * appending. When a crash left the last line unterminated, a newline is
 * added first so the next record starts a line of its own. ops may be
 * NULL (POSIX) and must outlive the log. Returns the log, to be closed
 * with audit_close(), or NULL with *err (when err is not NULL) set to
 * -errno. */
struct audit *audit_open(const char *path, const struct fileio_ops *ops,
                         int *err);

/* audit_format: the line for r, newline included, as a heap string the
 * caller frees. Pure; audit_write() uses it. */
char *audit_format(const struct audit_record *r);

/* audit_write: appends r's line. Thread-safe. Returns 0 or -errno from
 * write(2); after an error the next line starts on a fresh line. A failed
 * write (a full disk) is counted (audit_failures()) and logged, with the
 * path and errno, once per streak of failures; a good write after a
 * streak logs how many lines were lost. The caller does not log. */
int audit_write(struct audit *a, const struct audit_record *r);

/* audit_failures: lines lost to failed writes since audit_open().
 * Thread-safe. */
uint64_t audit_failures(struct audit *a);

/* audit_sync: fsyncs the log when something was written since the last
 * sync. Thread-safe. Returns 0 or -errno. */
int audit_sync(struct audit *a);

/* audit_close: syncs, closes and frees a. NULL is a no-op. Returns 0 or
 * the first -errno of the sync and the close. */
int audit_close(struct audit *a);

#endif
