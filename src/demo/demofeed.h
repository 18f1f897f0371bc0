/* demofeed.h: the demo's running account of remediation: every decision
 * replguard records in its audit log (acted, skipped and why, verified,
 * cancelled, TILT) as one line on the terminal, as it happens.
 *
 * It reads the audit log (audit.h) from the side, as a user running
 * `tail -f` would: the executor is not involved, and what the terminal
 * shows is exactly what the audit file holds. */
#ifndef REPLGUARD_DEMOFEED_H
#define REPLGUARD_DEMOFEED_H

#include <stddef.h>
#include <stdio.h>

struct demofeed;

/* demofeed_format: the terminal line for one audit log line (JSON, with
 * or without its newline), e.g.
 *   "16:02:11 acted    high-replication-lag reset_circuit_breakers node2:
 *    reset 1 breaker"
 * written into out (always terminated, cut at outlen). Pure. Returns 0,
 * or -1 (out empty) for a line that is not an audit record. */
int demofeed_format(const char *line, char *out, size_t outlen);

/* demofeed_start: a thread that follows the audit log at path (which may
 * not exist yet) from its start and writes each record's line to out,
 * flushed. Returns the feed, to be stopped with demofeed_stop(). */
struct demofeed *demofeed_start(const char *path, FILE *out);

/* demofeed_stop: prints what is left, stops and frees f; NULL is a
 * no-op. */
void demofeed_stop(struct demofeed *f);

#endif
