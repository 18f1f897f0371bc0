/* journal.h: the remediation journal, an append-only file of records
 * that are durable (fsync'd) before journal_append() returns.
 *
 * The file is dir/journal.jsonl, one record a line:
 *
 *   {"seq":7,"ts":1763769600.250,"type":"intent",...,"crc":"1c291ca3"}
 *
 * seq counts from 1 without gaps, ts is the wall clock (seconds) when the
 * record was queued, the fields between are the caller's payload object,
 * and crc is the CRC-32 (IEEE) of every byte of the line before
 * `,"crc":`, as 8 lowercase hex digits.
 *
 * Appends share fsyncs (group commit): a writer thread writes and fsyncs
 * everything queued; records queued meanwhile go out together with the
 * next fsync. An append either waits for its record (journal_append) or
 * is called back once it is durable (journal_append_async), so a caller
 * that must not block (an HTTP handler) need not.
 *
 * Fail-stop: once a write or fsync fails, the journal refuses every later
 * append with -EIO (journal_failed() turns true) until it is reopened.
 * After a failed fsync nobody knows what reached the disk, and
 * remediation must stop rather than act unrecorded. Records in the failed
 * batch were refused, yet may still turn up on the next open.
 *
 * Recovery on open: a crash can tear the end of the file (a partial
 * line, garbage, zeros). Lines from the first invalid one to the end are
 * truncated away, with a warning, when no valid record follows them;
 * they were never acknowledged. An invalid line followed by a valid
 * record is damage to acknowledged data: journal_open() fails with
 * -EBADMSG and leaves the file alone for an operator to inspect.
 *
 * Out of scope: rotation and compaction. The file grows until an
 * operator moves it aside while replguard is stopped. */
#ifndef REPLGUARD_JOURNAL_H
#define REPLGUARD_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/fileio.h"

/* The largest payload journal_append() accepts, in bytes. */
#define JOURNAL_MAX_PAYLOAD (1024 * 1024)

struct journal;

/* One record as journal_replay() hands it over; valid during the call. */
struct journal_record {
    uint64_t seq;
    double ts;
    /* payload: the caller's object as compact JSON, without seq, ts and
     * crc. */
    const char *payload;
};

/* Counters since journal_open(). */
struct journal_stats {
    uint64_t appends;           /* appends that returned 0 */
    uint64_t fsyncs;            /* fsyncs issued by appends (group commits) */
    uint64_t last_seq;          /* the highest durable seq (0: none) */
    uint64_t queued_seq;        /* the highest seq queued (durable or not) */
    uint64_t recovered_records; /* valid records found by journal_open() */
    uint64_t dropped_bytes;     /* torn tail truncated by journal_open() */
};

/* journal_open: opens dir/journal.jsonl, creating it (mode 0600) when it
 * does not exist, validates every line, truncates a torn tail (see above)
 * and makes that durable. ops may be NULL (POSIX) and must outlive the
 * journal. Returns the journal, to be closed with journal_close(), or
 * NULL with *err set to -errno: -EBADMSG for damage before the tail,
 * -EBUSY when another journal (another replguard) holds the file, or
 * the failing call's error. err may be NULL. */
struct journal *journal_open(const char *dir, const struct fileio_ops *ops,
                             int *err);

/* journal_append: appends one record whose fields are those of
 * payload_json, a JSON object that must not use the keys "seq", "ts" or
 * "crc". Thread-safe; blocks until the record is durable, then stores its
 * seq in *seq (when seq is not NULL). Returns 0, -EINVAL when the payload
 * is not such an object, -EMSGSIZE when it is over JOURNAL_MAX_PAYLOAD,
 * or -EIO when the journal has failed (this append's write or fsync, or
 * an earlier one). */
int journal_append(struct journal *j, const char *payload_json, uint64_t *seq);

/* journal_done_fn: the outcome of an asynchronous append: rc 0 when its
 * record is durable, -EIO when the journal failed first. */
typedef void (*journal_done_fn)(void *ctx, int rc);

/* journal_append_async: queues a record as journal_append() does and
 * returns at once; its seq is in *seq (when not NULL). fn(ctx, rc) is
 * then called exactly once, from the journal's writer thread, after the
 * record's fsync (rc 0) or the failure that lost it (-EIO); it must not
 * append synchronously. Returns 0, or journal_append()'s errors (then fn
 * is never called). Callbacks come in seq order. */
int journal_append_async(struct journal *j, const char *payload_json,
                         uint64_t *seq, journal_done_fn fn, void *ctx);

/* journal_replay_fn: called for each record in seq order; a non-zero
 * return stops the walk and becomes journal_replay()'s result. */
typedef int (*journal_replay_fn)(void *ctx, const struct journal_record *r);

/* journal_replay: reads the durable records back from the file, in order,
 * and calls fn for each (restart recovery). Records appended while it
 * runs may be left out. Returns 0, fn's non-zero result, -EBADMSG when a
 * record no longer validates, or -errno from reading. */
int journal_replay(struct journal *j, journal_replay_fn fn, void *ctx);

/* journal_failed: true once the journal refuses appends (fail-stop). */
bool journal_failed(struct journal *j);

/* journal_stats: copies the counters into *out. */
void journal_stats(struct journal *j, struct journal_stats *out);

/* journal_close: writes what is queued (calling back its asynchronous
 * appends), stops the writer, closes the file and frees j; no append may
 * be running.
 * NULL is a no-op. Returns 0 or -errno from close(2) (every acknowledged
 * record was already durable). */
int journal_close(struct journal *j);

#endif
