/* pgactions.c: the PostgreSQL profile's action requests (see
 * pgactions.h). */
#include "profiles/postgres/pgactions.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

/* Between two statements of one request (pgactions.h). */
#define NEXT "\n;\n"

/* sql: fills rq with the SQL request of body (taken). */
static void sql(struct profile_request *rq, enum profile_node at, char *body)
{
    rq->method = "SQL";
    rq->at = at;
    rq->path[0] = '\0';
    rq->body = body;
}

void pgact_quote_literal(const char *s, struct buf *out)
{
    buf_puts(out, "E'");
    for (; *s; s++) {
        if (*s == '\'' || *s == '\\')
            buf_append(out, s, 1);
        buf_append(out, s, 1);
    }
    buf_puts(out, "'");
}

void pgact_quote_conninfo(const char *s, struct buf *out)
{
    buf_puts(out, "'");
    for (; *s; s++) {
        if (*s == '\'' || *s == '\\')
            buf_puts(out, "\\");
        buf_append(out, s, 1);
    }
    buf_puts(out, "'");
}

const char *pgact_timeline_sql(void)
{
    /* pg_control_checkpoint() trails a promotion (its checkpoint comes
     * later); the current WAL file's name starts with the timeline */
    return "(CASE WHEN pg_is_in_recovery() THEN greatest("
           "(SELECT timeline_id FROM pg_control_checkpoint()), "
           "(SELECT max(received_tli) FROM pg_stat_wal_receiver)) "
           "ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, "
           "8))::bit(32)::int END)";
}

/* epoch_check: a DO block refusing (RG409) a node whose timeline is
 * above epoch, then more, a PL/pgSQL statement list (may be ""). */
static void epoch_check(struct buf *b, uint64_t epoch, const char *more)
{
    buf_printf(b,
               "DO $replguard$ DECLARE tl bigint := %s; BEGIN "
               "IF tl > %" PRIu64 " THEN RAISE EXCEPTION "
               "'timeline %% is above epoch %" PRIu64 "', tl "
               "USING ERRCODE = 'RG409'; END IF; %sEND $replguard$",
               pgact_timeline_sql(), epoch, epoch, more);
}

void pgact_cancel_queries(double older_than, struct profile_request *rq)
{
    struct buf b;
    buf_init(&b, 0);
    /* snapshot age: an active statement's from its start (READ
     * COMMITTED takes one per statement), an idle transaction's from
     * the transaction's start (REPEATABLE READ keeps its first) */
    buf_printf(
        &b,
        "SELECT pid, round(extract(epoch FROM age)::numeric, 3), "
        "pg_cancel_backend(pid) FROM ("
        "SELECT pid, clock_timestamp() - CASE WHEN state = 'active' "
        "THEN query_start ELSE xact_start END AS age "
        "FROM pg_stat_activity "
        "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() "
        "AND backend_xmin IS NOT NULL) q "
        "WHERE age >= make_interval(secs => %.3f) "
        "AND pg_is_in_recovery() AND NOT pg_is_wal_replay_paused() "
        "AND pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn() "
        "ORDER BY age DESC",
        older_than);
    sql(rq, PROFILE_AT_TARGET, buf_detach(&b));
}

void pgact_demote(const char *replica, struct profile_request *rq)
{
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, "INSERT INTO replguard.demoted (node) VALUES (");
    pgact_quote_literal(replica, &b);
    buf_puts(&b, ") ON CONFLICT (node) DO NOTHING");
    sql(rq, PROFILE_AT_PRIMARY, buf_detach(&b));
}

void pgact_fence(uint64_t epoch, struct profile_request *rq)
{
    struct buf b;
    buf_init(&b, 0);
    epoch_check(&b, epoch, "");
    buf_puts(&b, NEXT "ALTER SYSTEM SET default_transaction_read_only = on" NEXT
                      "SELECT pg_reload_conf()" NEXT
                      /* sessions keep the setting they started with */
                      "SELECT count(pg_terminate_backend(pid)) "
                      "FROM pg_stat_activity "
                      "WHERE backend_type = 'client backend' "
                      "AND pid <> pg_backend_pid()");
    sql(rq, PROFILE_AT_TARGET, buf_detach(&b));
}

void pgact_promote(const char *replica, uint64_t epoch,
                   struct profile_request *rq)
{
    (void)replica;
    struct buf b;
    char more[200];
    buf_init(&b, 0);
    snprintf(more, sizeof(more),
             "IF pg_is_in_recovery() AND NOT pg_promote(true, %d) THEN "
             "RAISE EXCEPTION 'recovery did not end within %d s' "
             "USING ERRCODE = 'RG504'; END IF; ",
             PGACT_PROMOTE_WAIT, PGACT_PROMOTE_WAIT);
    epoch_check(&b, epoch, more);
    buf_puts(&b, NEXT "ALTER SYSTEM RESET default_transaction_read_only" NEXT
                      "SELECT pg_reload_conf()");
    sql(rq, PROFILE_AT_TARGET, buf_detach(&b));
}

/* kept: whether the primary_conninfo of a standby keeps keyword kw of
 * the primary's dsn. Not what is replguard's own (its password, its
 * files, its database and name) nor what a walreceiver sets itself. */
static bool kept(const char *kw)
{
    static const char *const dropped[] = {
        "password",         "passfile",    "dbname",
        "application_name", "replication", "user",
        "sslcert",          "sslkey",      "sslrootcert",
        "sslcrl",           "sslcrldir",   "sslpassword",
        "service",          "options",     "fallback_application_name",
    };
    for (size_t i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++)
        if (strcmp(kw, dropped[i]) == 0)
            return false;
    return true;
}

int pgact_primary_conninfo(const char *dsn, const char *user,
                           const char *target, struct buf *out)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(dsn ? dsn : "", &err);
    if (!opts) {
        PQfreemem(err);
        return -1;
    }
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val || !o->val[0] || !kept(o->keyword))
            continue;
        buf_printf(out, "%s=", o->keyword);
        pgact_quote_conninfo(o->val, out);
        buf_puts(out, " ");
    }
    if (user && user[0]) {
        buf_puts(out, "user=");
        pgact_quote_conninfo(user, out);
        buf_puts(out, " ");
    }
    buf_puts(out, "application_name=");
    pgact_quote_conninfo(target, out);
    PQconninfoFree(opts);
    return 0;
}

void pgact_replicate_from(const struct config_cluster *c, const char *target,
                          const char *primary, uint64_t epoch,
                          struct profile_request *rq)
{
    const struct config_node *p = c ? config_find_node(c, primary) : NULL;
    struct buf b, ci;
    buf_init(&b, 0);
    buf_init(&ci, 0);
    if (!p || pgact_primary_conninfo(p->dsn, c->failover.replication_user,
                                     target, &ci) < 0) {
        buf_puts(&b, "DO $replguard$ BEGIN RAISE EXCEPTION "
                     "'no dsn of the new primary to repoint to' "
                     "USING ERRCODE = 'RG400'; END $replguard$");
        goto out;
    }
    epoch_check(&b, epoch,
                "IF NOT pg_is_in_recovery() THEN RAISE EXCEPTION "
                "'a primary on timeline %: it needs pg_rewind and a "
                "standby.signal to follow the new primary', tl "
                "USING ERRCODE = 'RG412'; END IF; ");
    buf_puts(&b, NEXT "ALTER SYSTEM SET primary_conninfo = ");
    pgact_quote_literal(ci.data, &b);
    buf_puts(&b, NEXT "SELECT pg_reload_conf()");
out:
    buf_free(&ci);
    sql(rq, PROFILE_AT_TARGET, buf_detach(&b));
}

void pgact_probe_write(struct profile_request *rq)
{
    /* the row keeps its value: heartbeat lag reads replguard's clock
     * only; a missing row gets the server's */
    sql(rq, PROFILE_AT_TARGET,
        xstrdup("INSERT INTO replguard.heartbeat (id, ts) VALUES (1, "
                "extract(epoch FROM clock_timestamp())) "
                "ON CONFLICT (id) DO UPDATE SET ts = replguard.heartbeat.ts "
                "RETURNING ts"));
}
