/* pgactions.h: the PostgreSQL profile's action requests (profile.h):
 * the SQL replguard sends to act on a PostgreSQL 15 server. Each
 * builder fills a struct profile_request with method "SQL", an empty
 * path and the SQL text as body: statements separated by a line that
 * holds only ";", run one after another, each in its own implicit
 * transaction (ALTER SYSTEM refuses a transaction block), stopping at
 * the first error. replguard's own refusals raise SQLSTATE class RG
 * (RG409: an epoch lower than the node has seen), which the poller
 * answers as status 409.
 *
 * The epoch of a PostgreSQL node is its timeline (pgact_timeline_sql).
 *
 * Pure: text in, text out; the poller sends the requests. Free each
 * request with profile_request_free(). */
#ifndef REPLGUARD_PGACTIONS_H
#define REPLGUARD_PGACTIONS_H

#include "config/config.h"
#include "lib/util.h"
#include "profiles/profile.h"

#include <stdint.h>

/* PGACT_PROMOTE_WAIT: seconds pg_promote() waits for the end of
 * recovery (its request's timeout is longer: profile users give
 * ACTION_TIMEOUT). */
#define PGACT_PROMOTE_WAIT 8

/* pgact_quote_literal: appends s to out as one SQL string literal,
 * E'...' with ' and \ doubled, the same whatever
 * standard_conforming_strings says. */
void pgact_quote_literal(const char *s, struct buf *out);

/* pgact_quote_conninfo: appends s to out as one libpq connection
 * string value, '...' with ' and \ escaped by \. */
void pgact_quote_conninfo(const char *s, struct buf *out);

/* pgact_timeline_sql: an SQL expression, the node's timeline: on a
 * primary that of its current WAL file, on a standby the higher of its
 * last restartpoint's and the one it receives. */
const char *pgact_timeline_sql(void);

/* pgact_cancel_queries: on the target standby, cancels (with
 * pg_cancel_backend) the client queries whose snapshot (backend_xmin)
 * is at least older_than seconds old while replay is behind what was
 * received and not paused by hand, oldest first; answers one row per
 * query: pid, age in seconds, whether the cancel was sent. On a
 * primary it answers no rows. */
void pgact_cancel_queries(double older_than, struct profile_request *rq);

/* pgact_demote: takes replica out of read rotation: a row in
 * replguard.demoted on the primary (contrib/postgres), which replicates
 * to every standby, whose scrape then reports role demoted. The
 * standby keeps replicating; an operator brings it back by deleting the
 * row. */
void pgact_demote(const char *replica, struct profile_request *rq);

/* pgact_fence: on the target (an old primary): refuses with RG409 when
 * its timeline is above epoch; else default_transaction_read_only on
 * (ALTER SYSTEM, so a restart keeps it), reload, and ends every other
 * client session. */
void pgact_fence(uint64_t epoch, struct profile_request *rq);

/* pgact_promote: on the target: refuses with RG409 when its timeline is
 * above epoch; a standby is promoted with pg_promote(true,
 * PGACT_PROMOTE_WAIT) (RG504 when recovery has not ended by then); then
 * a fence of old is lifted (ALTER SYSTEM RESET
 * default_transaction_read_only, reload), so an old primary promoted
 * back (a switchover's rollback) takes writes again. replica, the
 * target's name, is not needed by PostgreSQL. */
void pgact_promote(const char *replica, uint64_t epoch,
                   struct profile_request *rq);

/* pgact_replicate_from: repoints target, a standby of cluster c, to
 * primary: primary_conninfo is the primary's dsn (its address and
 * connection options, not replguard's user, password, files or
 * database) with user = c's failover.replication_user (when set) and
 * application_name = target, by ALTER SYSTEM, then reload
 * (recovery_target_timeline is latest by default: the standby follows the new
 * timeline). Refuses with RG409 when the target's timeline is above epoch, and
 * with RG412 when the target is not in recovery: an old primary cannot follow a
 * new timeline until pg_rewind has rewound it and a standby.signal is
 * in its data directory. When the dsn cannot be parsed the body raises
 * RG400 instead. */
void pgact_replicate_from(const struct config_cluster *c, const char *target,
                          const char *primary, uint64_t epoch,
                          struct profile_request *rq);

/* pgact_primary_conninfo: the primary_conninfo pgact_replicate_from
 * writes for target following the server of dsn as user (NULL or "":
 * none given), appended to out; returns 0, or -1 when dsn is not a
 * libpq connection string. */
int pgact_primary_conninfo(const char *dsn, const char *user,
                           const char *target, struct buf *out);

/* pgact_probe_write: one write on the target (the heartbeat row, its
 * value unchanged), committed as any client's: it fails on a standby or
 * a fenced primary and, with synchronous_commit, waits for the
 * synchronous standbys. */
void pgact_probe_write(struct profile_request *rq);

/* PGACT_ACTIONS: the runbook actions the profile can run. */
#define PGACT_ACTIONS                                                          \
    (PROFILE_ACTION(RUNBOOK_ACT_DEMOTE) |                                      \
     PROFILE_ACTION(RUNBOOK_ACT_PROMOTE) |                                     \
     PROFILE_ACTION(RUNBOOK_ACT_CANCEL_BLOCKING_QUERIES))

#endif
