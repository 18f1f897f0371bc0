/* pg_harness.h: test support for real PostgreSQL 15 clusters: a thin
 * C face on tests/pg/pgcluster.sh (which see), so check tests, the e2e
 * scripts and the demo share one way to make them.
 *
 * A cluster is a primary, node1, and standbys node2, node3, ... made by
 * pg_basebackup -R, streaming under their names as application_name, on
 * loopback ports, run by an unprivileged user when the test is root, in
 * a temp dir. Failures abort the running check test (ck_assert), except
 * in pgc_start(), which returns false when PostgreSQL 15 is missing
 * (the caller skips: exit 77). */
#ifndef REPLGUARD_PG_HARNESS_H
#define REPLGUARD_PG_HARNESS_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/util.h"

#define PGC_MAX_NODES 8

/* A running cluster: its dir and, per server, name and port. */
struct pgc {
    char dir[256];
    size_t n;
    char name[PGC_MAX_NODES][16];
    int port[PGC_MAX_NODES];
    char password_file[300]; /* the role replguard's password, 0600 */
};

/* pgc_available: whether PostgreSQL 15's programs are installed
 * (/usr/lib/postgresql/15/bin, or $PGBIN). */
bool pgc_available(void);

/* pgc_start: makes and starts a primary and n_standbys standbys (at
 * most PGC_MAX_NODES - 1) in a new temp dir and returns once every
 * standby streams (a few seconds). Returns false, with the reason on
 * stdout, when PostgreSQL 15 is missing; fails the test on any other
 * error. Undo with pgc_destroy(); the cluster started last is also
 * destroyed at exit, for a test that failed before its teardown. */
bool pgc_start(struct pgc *c, int n_standbys);

/* pgc_destroy: kills every server and removes the dir; a zeroed or
 * destroyed c is a no-op. */
void pgc_destroy(struct pgc *c);

/* pgc_port: the port of the server called name (fails the test when
 * there is none). */
int pgc_port(const struct pgc *c, const char *name);

/* pgc_dsn: the libpq connection string replguard's config gives the
 * server called name: host, port, user=replguard, dbname=postgres, no
 * password (that is in c->password_file). */
void pgc_dsn(const struct pgc *c, const char *name, char *out, size_t n);

/* pgc_sql: runs sql (one or more statements) on name as the superuser
 * with psql -At; the rows, one a line, columns separated by '|', are
 * appended to out when it is not NULL. Returns psql's exit status (0:
 * success). */
int pgc_sql(const struct pgc *c, const char *name, const char *sql,
            struct buf *out);

/* pgc_query: pgc_sql() that fails the test unless it succeeds; returns
 * the output without its final newline, a heap string the caller frees. */
char *pgc_query(const struct pgc *c, const char *name, const char *sql);

/* pgc_ctl: verb is "stop" (fast shutdown), "kill" (SIGKILL to the
 * postmaster, as a crash; returns once its processes are gone),
 * "startnode" (starts a stopped or killed server, on its port) or
 * "restart". Returns the script's exit status. */
int pgc_ctl(const struct pgc *c, const char *verb, const char *name);

/* pgc_signal: sends sig ("STOP", "CONT") to all of name's processes;
 * fails the test when that fails. */
void pgc_signal(const struct pgc *c, const char *name, const char *sig);

/* pgc_wait_streaming: waits up to secs for n standbys to stream from
 * name; returns whether they did. */
bool pgc_wait_streaming(const struct pgc *c, const char *name, int n,
                        double secs);

#endif
