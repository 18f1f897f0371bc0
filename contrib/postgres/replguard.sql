-- replguard.sql: what replguard needs on a PostgreSQL cluster, run once
-- on the primary as a superuser (psql -f replguard.sql); standbys get it
-- by replication. Safe to run again.
--
-- The least privilege that works for watching:
--   pg_monitor        reads pg_stat_replication (with replay_lag and the
--                     LSNs of every standby), pg_stat_wal_receiver and
--                     the WAL functions (pg_current_wal_lsn, ...)
--   SELECT, INSERT, UPDATE on replguard.heartbeat
--                     the heartbeat: replguard upserts its own clock
--                     into the one row on the primary each round and
--                     reads the row each standby has replayed
-- Give the role a password (ALTER ROLE replguard PASSWORD '...') and put
-- it in the node's password_file (docs/config.md); replguard's dsn names
-- user=replguard. Actions (cancel, promote, fence, repoint) need more:
-- see docs/reference.md, "PostgreSQL".
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'replguard') THEN
        CREATE ROLE replguard LOGIN;
    END IF;
END
$$;

GRANT pg_monitor TO replguard;

CREATE SCHEMA IF NOT EXISTS replguard;
GRANT USAGE ON SCHEMA replguard TO replguard;

-- one row (id 1): ts is replguard's clock, unix seconds, when it wrote it
CREATE TABLE IF NOT EXISTS replguard.heartbeat (
    id integer PRIMARY KEY CHECK (id = 1),
    ts double precision NOT NULL
);
GRANT SELECT, INSERT, UPDATE ON replguard.heartbeat TO replguard;

-- The standbys replguard took out of read rotation (the demote action,
-- contrib/postgres/replguard-actions.sql grants it INSERT): a standby
-- whose name is here reports role demoted. Read by every scrape, so it
-- exists even where replguard only watches.
CREATE TABLE IF NOT EXISTS replguard.demoted (
    node text PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT ON replguard.demoted TO replguard;
