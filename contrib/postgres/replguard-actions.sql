-- replguard-actions.sql: what replguard's actions need on a PostgreSQL
-- 15 cluster, beyond watching (replguard.sql, run that first). Run once
-- on the primary as a superuser (psql -f replguard-actions.sql); the
-- standbys get the table and the grants by replication. Safe to run
-- again. Leave it out where replguard only watches.
--
--   action                    needs
--   cancel_blocking_queries   pg_signal_backend (pg_cancel_backend of
--                             other roles' queries)
--   demote                    INSERT on replguard.demoted
--   fence                     ALTER SYSTEM on default_transaction_read_only,
--                             EXECUTE on pg_reload_conf, pg_signal_backend
--                             (pg_terminate_backend of client sessions)
--   promote                   EXECUTE on pg_promote, ALTER SYSTEM on
--                             default_transaction_read_only (a fence is
--                             lifted), EXECUTE on pg_reload_conf
--   repoint (replicate_from)  ALTER SYSTEM on primary_conninfo,
--                             EXECUTE on pg_reload_conf
--
-- pg_signal_backend cannot signal a superuser's backends: a fence ends
-- every other client session only when replguard is a superuser.

GRANT pg_signal_backend TO replguard;
GRANT EXECUTE ON FUNCTION pg_reload_conf() TO replguard;
GRANT EXECUTE ON FUNCTION pg_promote(boolean, integer) TO replguard;
GRANT ALTER SYSTEM ON PARAMETER default_transaction_read_only TO replguard;
GRANT ALTER SYSTEM ON PARAMETER primary_conninfo TO replguard;

-- The demote action: a row in replguard.demoted (made by
-- replguard.sql). A standby whose name (its application_name, the
-- replguard node name) is there reports role demoted and serves no
-- reads; it keeps replicating. Bring it back by hand once it is fixed:
--   DELETE FROM replguard.demoted WHERE node = 'node2';
GRANT INSERT ON replguard.demoted TO replguard;
