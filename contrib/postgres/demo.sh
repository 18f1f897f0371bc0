#!/bin/bash
# contrib/postgres/demo.sh: replguard's demo on a real PostgreSQL 15
# cluster (issue 17). `./quickstart demo postgres` builds replguard and
# runs it; by hand: bash contrib/postgres/demo.sh BUILD_DIR.
#
# In a temp dir, on loopback: three PostgreSQL 15 servers
# (tests/pg/pgcluster.sh: node1 the primary, node2 and node3 standbys,
# run as an unprivileged user when started as root), replguard watching
# them with rules/postgres (older_than cut to 10 s), and, where installed,
# Prometheus (the alert rules of alerts/, every `for:` at 10 s) and
# Alertmanager calling replguard's webhook: the whole loop. A writer
# inserts a row a second.
# Every DEMO_EVERY seconds (default 180) a lag episode, in turn:
#
#   blocked   a long query on node2 whose snapshot a VACUUM on the
#             primary conflicts with (node2 has
#             max_standby_streaming_delay -1): replay stops, lag grows,
#             PostgresReplicationLag fires and the runbook's
#             cancel_blocking_queries frees it (without Prometheus the
#             query ends by itself after 90 s)
#   paused    pg_wal_replay_pause() on node3 for 40 s: lag grows at
#             wall-clock rate, node3 leaves read rotation, no runbook
#             touches it (paused by hand), then it catches up
#
# It prints the URLs to open and each episode. Ctrl-C stops everything
# and removes the temp dir.
set -u
export LC_ALL=C

build=${1:?usage: demo.sh BUILD_DIR}
build=$(cd "$build" && pwd)
top=$(cd "$(dirname "$0")/../.." && pwd)
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
EVERY=${DEMO_EVERY:-180}
PGC="bash $top/tests/pg/pgcluster.sh"

[ -x "$PGBIN/initdb" ] || {
    echo "demo: PostgreSQL 15 is not installed ($PGBIN; Debian: postgresql-15)" >&2
    exit 1
}
T=$(mktemp -d "${TMPDIR:-/tmp}/replguard-pgdemo.XXXXXX") || exit 1
chmod 755 "$T"
PIDS=""
say() { printf 'demo: %s\n' "$*"; }
cleanup() {
    local p
    for p in $PIDS; do kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null; done
    kill $(jobs -p) 2>/dev/null # a nap's sleep
    wait 2>/dev/null
    $PGC destroy "$T/pg" >/dev/null 2>&1
    rm -rf "$T"
    say "stopped"
}
trap cleanup EXIT
trap 'exit 0' INT TERM HUP
spawn() { # LOG CMD...
    local logf=$1
    shift
    setsid "$@" >"$logf" 2>&1 </dev/null &
    PIDS="$PIDS $!"
}
free_port() {
    local p
    while :; do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
}
sql() { $PGC sql "$T/pg" "$1" "$2"; }
# nap SECONDS: a sleep a signal ends at once (bash runs a trap only
# after its foreground child exits; `wait` it interrupts)
nap() { sleep "$1" & wait $!; }

say "starting three PostgreSQL 15 servers in $T/pg"
$PGC start "$T/pg" 2 >"$T/pgcluster.out" 2>&1 || {
    cat "$T/pgcluster.out" >&2
    exit 1
}
sql node1 "$(cat "$top/contrib/postgres/replguard-actions.sql")" >/dev/null
sql node2 "ALTER SYSTEM SET max_standby_streaming_delay = -1" >/dev/null
sql node2 "SELECT pg_reload_conf()" >/dev/null
sql node1 "CREATE TABLE demo (id bigserial PRIMARY KEY, at timestamptz DEFAULT now())
           WITH (autovacuum_enabled = off)" >/dev/null
# the long query runs as an application's role: replguard (not a
# superuser) may cancel it, as it may an application's
sql node1 "CREATE ROLE app LOGIN; GRANT SELECT ON demo TO app" >/dev/null
# the shipped rules/postgres, older_than cut from 30 s to 10 s like the
# alerts' for: (a runbook acting before its queries are old enough
# cancels nothing, and its cooldown holds it 5 minutes)
mkdir -p "$T/rules"
for f in "$top"/rules/postgres/*.yml; do
    sed 's/older_than: 30s/older_than: 10s/' "$f" >"$T/rules/${f##*/}"
done

RG_PORT=$(free_port)
PROM_PORT=$(free_port)
AM_PORT=$(free_port)
mkdir -p "$T/state"
{
    cat <<EOF
listen: "127.0.0.1:$RG_PORT"
state_dir: $T/state
audit_log: $T/audit.jsonl
rules: $T/rules
clusters:
  - name: pg
    profile: postgres
    password_file: $T/pg/replguard.password
    thresholds: {warning: 5s, critical: 10s, read_max_lag: 1s}
    failover: {replication_user: postgres}
    nodes:
EOF
    for n in node1 node2 node3; do
        role=replica
        [ $n = node1 ] && role=primary
        echo "      - {name: $n, dsn: \"host=127.0.0.1 port=$($PGC port "$T/pg" $n) user=replguard dbname=postgres\", role: $role}"
    done
} >"$T/replguard.yml"
spawn "$T/replguard.log" "$build/replguard" -c "$T/replguard.yml"

LOOP=""
if command -v prometheus >/dev/null && command -v prometheus-alertmanager >/dev/null; then
    for f in replguard postgres; do
        sed 's/^\( *\)for: .*/\1for: 10s/' "$top/alerts/$f.rules.yml" >"$T/$f.rules.yml"
    done
    cat >"$T/prometheus.yml" <<EOF
global: {scrape_interval: 2s, evaluation_interval: 2s}
rule_files: ["$T/replguard.rules.yml", "$T/postgres.rules.yml"]
alerting:
  alertmanagers:
    - static_configs: [{targets: ["127.0.0.1:$AM_PORT"]}]
scrape_configs:
  - job_name: replguard
    static_configs: [{targets: ["127.0.0.1:$RG_PORT"]}]
EOF
    cat >"$T/alertmanager.yml" <<EOF
route:
  receiver: replguard
  group_by: [alertname, cluster, replica]
  group_wait: 2s
  group_interval: 5s
  repeat_interval: 1h
receivers:
  - name: replguard
    webhook_configs:
      - url: "http://127.0.0.1:$RG_PORT/webhook"
        send_resolved: true
EOF
    spawn "$T/prometheus.log" prometheus --config.file="$T/prometheus.yml" \
        --storage.tsdb.path="$T/prometheus" --web.listen-address="127.0.0.1:$PROM_PORT"
    spawn "$T/alertmanager.log" prometheus-alertmanager \
        --config.file="$T/alertmanager.yml" --storage.path="$T/alertmanager" \
        --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address=
    LOOP=1
fi

for _ in $(seq 1 50); do
    curl -s -o /dev/null "http://127.0.0.1:$RG_PORT/metrics" && break
    nap 0.2
done
RG=http://127.0.0.1:$RG_PORT
cat <<EOF

replguard is watching a real PostgreSQL 15 cluster (temp dir $T):
  $RG/api/v1/state          the cluster as replguard sees it
  $RG/metrics               replguard_replica_lag_seconds, _lag_bytes, ...
  $RG/health/replica/pg/node2   200 while node2 is in read rotation
  $RG/route/pg              where to send a read
EOF
[ -n "$LOOP" ] && cat <<EOF
  http://127.0.0.1:$PROM_PORT/alerts     Prometheus: the alert rules
  http://127.0.0.1:$AM_PORT              Alertmanager
EOF
cat <<EOF
  psql: $PGBIN/psql -h 127.0.0.1 -p $($PGC port "$T/pg" node1) -U postgres postgres
  audit log: $T/audit.jsonl    replguard's log: $T/replguard.log
A lag episode every ${EVERY}s, the first in 20 s. Ctrl-C stops everything.

EOF

# the writer: a row a second on the primary (its own process group, as
# every child, so that cleanup ends it with its sleep)
setsid bash -c 'while :; do bash "$0" sql "$1" node1 "INSERT INTO demo DEFAULT VALUES" >/dev/null 2>&1; sleep 1; done' \
    "$top/tests/pg/pgcluster.sh" "$T/pg" </dev/null &
PIDS="$PIDS $!"

lag_of() {
    curl -s "$RG/metrics" | awk -v r="replica=\"$1\"" \
        '$1 ~ /^replguard_replica_lag_seconds\{/ && index($1, r) { print $2 }'
}

episode_blocked() {
    say "episode: a long query on node2 holds replay (VACUUM on node1 conflicts)"
    setsid "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$($PGC port "$T/pg" node2)" \
        -U app -d postgres -c "SELECT pg_sleep(90), count(*) FROM demo" \
        >/dev/null 2>&1 &
    local q=$!
    PIDS="$PIDS $q"
    nap 2
    sql node1 "DELETE FROM demo WHERE id % 2 = 0" >/dev/null
    sql node1 "VACUUM demo" >/dev/null
    for _ in $(seq 1 24); do
        nap 5
        say "  node2 lag $(lag_of node2)s"
        kill -0 "$q" 2>/dev/null || break
    done
    if kill -0 "$q" 2>/dev/null; then
        wait "$q" 2>/dev/null
        say "  the query ended by itself"
    else
        say "  the query is gone: $(grep -o '"action":"cancel_blocking_queries"[^}]*' "$T/audit.jsonl" | tail -n 1)"
    fi
    if [ -n "$(sql node1 "SELECT node FROM replguard.demoted")" ]; then
        nap 20
        say "  the runbook demoted node2 too; as an operator would, back in rotation:"
        say "  DELETE FROM replguard.demoted WHERE node = 'node2'"
        sql node1 "DELETE FROM replguard.demoted" >/dev/null
    fi
}

episode_paused() {
    say "episode: pg_wal_replay_pause() on node3 for 40 s"
    sql node3 "SELECT pg_wal_replay_pause()" >/dev/null
    for _ in 1 2 3 4; do
        nap 10
        say "  node3 lag $(lag_of node3)s, /health/replica/pg/node3 $(curl -s -o /dev/null -w '%{http_code}' "$RG/health/replica/pg/node3")"
    done
    sql node3 "SELECT pg_wal_replay_resume()" >/dev/null
    say "  resumed"
}

nap 20
n=0
while :; do
    if [ $((n % 2)) = 0 ]; then episode_blocked; else episode_paused; fi
    n=$((n + 1))
    nap "$EVERY"
done
