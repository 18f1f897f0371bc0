/* postgres.c: the PostgreSQL ops table and its SQL (see postgres.h). */
#include "profiles/postgres/postgres.h"

#include "lib/util.h"
#include "profiles/postgres/pgactions.h"

#include <stdio.h>

/* The scrape: one statement, whatever the node's role, so the profile
 * needs no guess of it; functions that fail in recovery
 * (pg_current_wal_lsn and friends) are only evaluated on a primary,
 * inside CASE. Positions are LSNs minus 0/0: bytes. A row whose value
 * is NULL says nothing. */
const char POSTGRES_SCRAPE_SQL[] =
    "WITH n AS (SELECT pg_is_in_recovery() AS rec),\n"
    " w AS (SELECT status, received_tli FROM pg_stat_wal_receiver)\n"
    "SELECT 'recovery', rec::text, NULL FROM n\n"
    "UNION ALL SELECT 'position', (CASE WHEN rec THEN "
    "pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END - '0/0')::text, "
    "NULL FROM n\n"
    "UNION ALL SELECT 'acked', CASE WHEN NOT rec THEN "
    "(pg_current_wal_flush_lsn() - '0/0')::text END, NULL FROM n\n"
    "UNION ALL SELECT 'received', CASE WHEN rec THEN "
    "(pg_last_wal_receive_lsn() - '0/0')::text END, NULL FROM n\n"
    "UNION ALL SELECT 'timeline', CASE WHEN rec THEN COALESCE("
    "(SELECT received_tli FROM w), "
    "(pg_control_checkpoint()).timeline_id)::text ELSE "
    "(('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))"
    "::bit(32)::bigint)::text END, NULL FROM n\n"
    "UNION ALL SELECT 'connected', CASE WHEN rec THEN "
    "COALESCE((SELECT status = 'streaming' FROM w), false)::text END, "
    "NULL FROM n\n"
    "UNION ALL SELECT 'paused', CASE WHEN rec THEN "
    "pg_is_wal_replay_paused()::text END, NULL FROM n\n"
    "UNION ALL SELECT 'heartbeat', ts::text, NULL FROM replguard.heartbeat "
    "WHERE id = 1\n"
    /* a primary fenced (pgactions.h): new sessions are read-only */
    "UNION ALL SELECT 'fenced', "
    "current_setting('default_transaction_read_only'), NULL FROM n "
    "WHERE NOT n.rec\n"
    /* a standby replguard demoted (pgactions.h): its name is the
     * application_name it streams under */
    "UNION ALL SELECT 'demoted', 'true', NULL FROM n, replguard.demoted d "
    "WHERE n.rec AND d.node = substring(current_setting('primary_conninfo') "
    "from 'application_name=''?([^'' ]+)')\n"
    "UNION ALL SELECT 'sync_names', "
    "current_setting('synchronous_standby_names'), NULL FROM n "
    "WHERE NOT rec\n"
    "UNION ALL SELECT 'standby', sync_state, application_name "
    "FROM pg_stat_replication WHERE NOT pg_is_in_recovery() "
    "AND state = 'streaming'\n"
    "UNION ALL SELECT 'reported', COALESCE(extract(epoch FROM replay_lag), "
    "CASE WHEN replay_lsn >= pg_current_wal_lsn() THEN 0 END)::text, "
    "application_name FROM pg_stat_replication WHERE NOT pg_is_in_recovery()";

static void request(struct profile_request *rq, enum profile_node at,
                    const char *sql)
{
    rq->method = "SQL";
    rq->at = at;
    rq->path[0] = '\0';
    rq->body = xstrdup(sql);
}

static void scrape(struct profile_request *rq)
{
    request(rq, PROFILE_AT_TARGET, POSTGRES_SCRAPE_SQL);
}

/* heartbeat: ts is replguard's clock as "%.6f" (engine.c), a number: it
 * goes into the SQL as a literal. */
static void heartbeat(const char *ts, struct profile_request *rq)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "INSERT INTO replguard.heartbeat (id, ts) VALUES (1, %s) "
             "ON CONFLICT (id) DO UPDATE SET ts = EXCLUDED.ts",
             ts);
    request(rq, PROFILE_AT_PRIMARY, sql);
}

const struct profile_ops postgres_profile = {
    .name = "postgres",
    .metrics_path = "",
    .scrape = scrape,
    .parse_sample = pgscrape_parse,
    .positions_are_bytes = true,
    .heartbeat = heartbeat,
    .actions = PGACT_ACTIONS,
    .demote = pgact_demote,
    .cancel_queries = pgact_cancel_queries,
    .merkle = false,
    .promote = pgact_promote,
    .fence = pgact_fence,
    .replicate_from = pgact_replicate_from,
    .probe_write = pgact_probe_write,
};
