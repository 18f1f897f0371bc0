#!/bin/bash
# tests/pg-e2e.sh: failover of a real PostgreSQL 15 cluster behind
# HAProxy, with pgbench writing (issue 17).
#
#   make check-e2e E2E_ONLY=pg   (or: top_builddir=B top_srcdir=S bash tests/pg-e2e.sh)
#
# On loopback, in a temp dir: three PostgreSQL 15 servers
# (tests/pg/pgcluster.sh: node1 the primary, node2 and node3 standbys),
# synchronous_commit on with node2 the synchronous standby; replguard
# (cluster "pg", profile postgres, failover enabled, the poll and
# failover settings at their defaults: poll 1s, detect_after 3s) with
# rules/postgres; HAProxy in TCP mode with a write port (the node whose
# /health/primary/pg/<node> answers 200) and a read port (the standbys
# whose /health/replica/pg/<node> answers 200). Then:
#
#   1. reads avoid a lagging standby: node3's replay paused, a write:
#      every read through the read port comes from node2.
#   2. the alert loop (where prometheus and prometheus-alertmanager are
#      installed; alerts/ with every `for:` at 5 s, rules/postgres with
#      older_than 3 s): a query on node2 (max_standby_streaming_delay
#      -1) holds replay after a VACUUM on node1; PostgresReplicationLag
#      fires, Alertmanager calls replguard's webhook, the runbook's
#      cancel_blocking_queries cancels the query, lag returns to 0.
#   3. pgbench writes through the write port (4 clients, one INSERT a
#      transaction) and node1's postmaster is SIGKILLed. RTO: the kill to
#      the first write acknowledged through the write port again. Every
#      transaction pgbench counted as processed is on the new primary.
#   4. node1 restarted on its old timeline: /health/primary/pg/node1
#      never answers 200, it is fenced (default_transaction_read_only),
#      and replguard escalates that it needs pg_rewind.
#
# Exit 0 pass, 1 fail, 77 skip (PostgreSQL 15, haproxy or pgbench
# missing). E2E_KEEP=1 keeps the temp dir (always kept on failure).
set -u
export LC_ALL=C

: "${top_builddir:?set top_builddir (make check-e2e does)}"
: "${top_srcdir:?set top_srcdir (make check-e2e does)}"
top_builddir=$(cd "$top_builddir" && pwd)
top_srcdir=$(cd "$top_srcdir" && pwd)
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
HAPROXY=${HAPROXY:-haproxy}
[ -x /usr/sbin/haproxy ] && ! command -v "$HAPROXY" >/dev/null 2>&1 &&
    HAPROXY=/usr/sbin/haproxy
PGC="bash $top_srcdir/tests/pg/pgcluster.sh"

for p in "$HAPROXY" curl setsid "$PGBIN/pgbench" "$PGBIN/psql"; do
    command -v "$p" >/dev/null 2>&1 || {
        echo "pg-e2e: SKIP: $p not found (apt-get install postgresql-15 haproxy curl)" >&2
        exit 77
    }
done

now() { printf '%s\n' "${EPOCHREALTIME/,/.}"; }
T_START=$(now)
diff_s() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
log() { printf '[%6ss] %s\n' "$(diff_s "$T_START" "$(now)")" "$*"; }
STEP=setup
step() { STEP=$*; log "== $STEP"; }

T=$(mktemp -d "${TMPDIR:-/tmp}/replguard-pge2e.XXXXXX") || exit 1
chmod 755 "$T"
PGIDS=""
FAILED=0
cleanup() {
    local p
    for p in $PGIDS; do kill -TERM -- "-$p" 2>/dev/null; done
    sleep 0.3
    for p in $PGIDS; do kill -KILL -- "-$p" 2>/dev/null; done
    wait 2>/dev/null
    [ -d "$T/pg" ] && $PGC destroy "$T/pg" >/dev/null 2>&1
    if [ "$FAILED" = 0 ] && [ -z "${E2E_KEEP:-}" ]; then
        rm -rf "$T"
    else
        echo "pg-e2e: temp dir kept: $T" >&2
    fi
}
trap cleanup EXIT
trap 'echo "pg-e2e: interrupted at step: $STEP" >&2; exit 130' INT TERM HUP

fail() {
    FAILED=1
    {
        echo "pg-e2e: FAIL at step: $STEP: $*"
        [ -s "$T/audit.jsonl" ] && { echo "---- audit log"; tail -n 20 "$T/audit.jsonl"; }
        echo "---- replguard"; tail -n 25 "$T/replguard.log" 2>/dev/null
        echo "---- pgbench"; tail -n 15 "$T/pgbench.out" 2>/dev/null
    } >&2
    exit 1
}

# wait_for DESC SECONDS CMD...: CMD every 0.1 s until it succeeds (a
# command, not a test of a value expanded once: see is and sql_is).
wait_for() {
    local desc=$1 secs=$2 until
    shift 2
    until=$(awk -v a="$(now)" -v s="$secs" 'BEGIN { printf "%.3f", a + s }')
    until "$@" >/dev/null 2>&1; do
        awk -v a="$(now)" -v u="$until" 'BEGIN { exit !(a > u) }' &&
            fail "timed out after ${secs}s waiting for: $desc"
        sleep 0.1
    done
}

spawn() { # NAME LOG CMD...
    local name=$1 logf=$2
    shift 2
    setsid "$@" >"$logf" 2>&1 </dev/null &
    PGIDS="$PGIDS $!"
    eval "PID_$name=$!"
}

sql() { $PGC sql "$T/pg" "$1" "$2"; } # NODE SQL
grep_audit() { grep -q "$1" "$T/audit.jsonl" 2>/dev/null; }
# via PORT SQL: psql through HAProxy as postgres (trust on loopback)
via() {
    "$PGBIN/psql" -X -q -At -h 127.0.0.1 -p "$1" -U postgres -d postgres \
        -v ON_ERROR_STOP=1 -c "$2"
}
free_port() {
    local p
    while :; do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
}

# --- 1. the servers ----------------------------------------------------------
step "start PostgreSQL 15: node1 primary, node2 and node3 standbys"
$PGC start "$T/pg" 2 >"$T/pgcluster.out" 2>&1
rc=$?
[ $rc = 77 ] && exit 77
[ $rc = 0 ] || fail "pgcluster.sh start: $(tail -n 5 "$T/pgcluster.out")"
for n in node1 node2 node3; do
    eval "PORT_$n=$($PGC port "$T/pg" $n)"
done
sql node1 "$(cat "$top_srcdir/contrib/postgres/replguard-actions.sql")" >/dev/null ||
    fail "replguard-actions.sql"
sql node1 "ALTER SYSTEM SET synchronous_standby_names = 'node2'" >/dev/null &&
    sql node1 "ALTER SYSTEM SET synchronous_commit = on" >/dev/null &&
    sql node1 "SELECT pg_reload_conf()" >/dev/null || fail "sync settings"
# sql_is NODE SQL WANT: the query answers WANT
sql_is() { test "$(sql "$1" "$2")" = "$3"; }
wait_for "node2 synchronous" 10 sql_is node1 \
    "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'node2'" sync

# --- 2. replguard ------------------------------------------------------------
step "start replguard (profile postgres, failover enabled, defaults)"
{
    cat <<EOF
listen: "127.0.0.1:0"
state_dir: $T/state
audit_log: $T/audit.jsonl
rules: $T/rules
clusters:
  - name: pg
    profile: postgres
    password_file: $T/pg/replguard.password
    replication: {mode: sync}
    failover: {enabled: true, replication_user: postgres}
    nodes:
EOF
    for n in node1 node2 node3; do
        eval "p=\$PORT_$n"
        role=replica prio=1
        [ $n = node1 ] && role=primary
        [ $n = node3 ] && prio=2
        echo "      - {name: $n, dsn: \"host=127.0.0.1 port=$p user=replguard dbname=postgres\", role: $role, priority: $prio}"
    done
} >"$T/replguard.yml"
mkdir -p "$T/state" "$T/rules"
# the shipped rules/postgres, the query age cut from 30 s to 3 s
for f in "$top_srcdir"/rules/postgres/*.yml; do
    sed 's/older_than: 30s/older_than: 3s/' "$f" >"$T/rules/${f##*/}"
done
"$top_builddir/replguard" -c "$T/replguard.yml" --check-config >"$T/check.out" 2>&1 ||
    fail "--check-config: $(cat "$T/check.out")"
spawn replguard "$T/replguard.log" "$top_builddir/replguard" -c "$T/replguard.yml"
for _ in $(seq 1 100); do
    RG_PORT=$(sed -n 's/.*msg="replguard started".* listen=http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/replguard.log" | head -n 1)
    [ -n "$RG_PORT" ] && break
    sleep 0.1
done
[ -n "$RG_PORT" ] || fail "replguard did not start"
RG=http://127.0.0.1:$RG_PORT
code() { curl -s -o /dev/null -w '%{http_code}' -m 2 "$RG$1"; }
is() { test "$(code "$1")" = "$2"; } # PATH STATUS
wait_for "node1 /health/primary 200" 15 is /health/primary/pg/node1 200
wait_for "node2 in read rotation" 15 is /health/replica/pg/node2 200
wait_for "node3 in read rotation" 15 is /health/replica/pg/node3 200

# --- 3. HAProxy --------------------------------------------------------------
step "start HAProxy (TCP: writes to /health/primary 200, reads to /health/replica 200)"
HA_W=$(free_port)
HA_R=$(free_port)
servers() { # one per node; the check goes to replguard, the traffic to it
    for n in node1 node2 node3; do
        eval "p=\$PORT_$n"
        echo "    server $n 127.0.0.1:$p check addr 127.0.0.1 port $RG_PORT inter 200ms fall 1 rise 1 on-marked-down shutdown-sessions"
    done
}
{
    cat <<EOF
global
    maxconn 500
defaults
    mode tcp
    timeout connect 500ms
    timeout client 60s
    timeout server 60s
frontend writes
    bind 127.0.0.1:$HA_W
    default_backend primary
frontend reads
    bind 127.0.0.1:$HA_R
    default_backend standbys
backend primary
    option httpchk
    http-check send meth GET uri-lf /health/primary/pg/%[srv_name]
    http-check expect status 200
EOF
    servers
    cat <<EOF
backend standbys
    balance roundrobin
    option httpchk
    http-check send meth GET uri-lf /health/replica/pg/%[srv_name]
    http-check expect status 200
EOF
    servers
} >"$T/haproxy.cfg"
"$HAPROXY" -c -q -f "$T/haproxy.cfg" >"$T/haproxy-check.out" 2>&1 ||
    fail "haproxy -c: $(cat "$T/haproxy-check.out")"
spawn haproxy "$T/haproxy.log" "$HAPROXY" -db -f "$T/haproxy.cfg"
wait_for "a write through HAProxy" 10 via "$HA_W" "SELECT 1"

# --- 4. reads avoid a lagging standby ---------------------------------------
step "reads avoid node3 while its replay is paused"
sql node1 "CREATE TABLE w (id bigserial PRIMARY KEY, client int, at timestamptz DEFAULT now())" >/dev/null ||
    fail "create table"
sql node3 "SELECT pg_wal_replay_pause()" >/dev/null || fail "pause node3"
sql node1 "INSERT INTO w (client) VALUES (-2)" >/dev/null
wait_for "node3 out of read rotation" 15 is /health/replica/pg/node3 503
sleep 0.5 # HAProxy's next check
seen=""
for _ in $(seq 1 20); do
    seen="$seen $(via "$HA_R" "SELECT current_setting('port')")"
done
bad=$(printf '%s\n' $seen | grep -cvx "$PORT_node2")
[ "$bad" = 0 ] || fail "reads through HAProxy reached another server than node2:$seen"
log "20 reads through HAProxy, all on node2 (node3 paused: $(code /health/replica/pg/node3))"
sql node3 "SELECT pg_wal_replay_resume()" >/dev/null
wait_for "node3 back in read rotation" 15 is /health/replica/pg/node3 200

# --- 5. the alert loop cancels a query that holds replay ---------------------
if command -v prometheus >/dev/null 2>&1 &&
    command -v prometheus-alertmanager >/dev/null 2>&1; then
    step "the alert loop: a query on node2 holds replay, cancel_blocking_queries frees it"
    PROM_PORT=$(free_port)
    AM_PORT=$(free_port)
    for f in replguard postgres; do
        sed 's/^\( *\)for: .*/\1for: 5s/' "$top_srcdir/alerts/$f.rules.yml" >"$T/$f.rules.yml"
    done
    cat >"$T/prometheus.yml" <<PEOF
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: ["$T/replguard.rules.yml", "$T/postgres.rules.yml"]
alerting:
  alertmanagers:
    - static_configs: [{targets: ["127.0.0.1:$AM_PORT"]}]
scrape_configs:
  - job_name: replguard
    static_configs: [{targets: ["127.0.0.1:$RG_PORT"]}]
PEOF
    cat >"$T/alertmanager.yml" <<PEOF
route:
  receiver: replguard
  group_by: [alertname, cluster, replica]
  group_wait: 1s
  group_interval: 5s
  repeat_interval: 1h
receivers:
  - name: replguard
    webhook_configs:
      - url: "http://127.0.0.1:$RG_PORT/webhook"
        send_resolved: true
PEOF
    spawn prometheus "$T/prometheus.log" prometheus --config.file="$T/prometheus.yml" \
        --storage.tsdb.path="$T/prometheus" --web.listen-address="127.0.0.1:$PROM_PORT"
    spawn alertmanager "$T/alertmanager.log" prometheus-alertmanager \
        --config.file="$T/alertmanager.yml" --storage.path="$T/alertmanager" \
        --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address=
    sql node1 "CREATE TABLE t (i int) WITH (autovacuum_enabled = off);
               INSERT INTO t SELECT generate_series(1, 10000);
               CREATE ROLE app LOGIN; GRANT SELECT ON t TO app" >/dev/null ||
        fail "table t"
    sql node2 "ALTER SYSTEM SET max_standby_streaming_delay = -1" >/dev/null
    sql node2 "SELECT pg_reload_conf()" >/dev/null
    wait_for "t on node2" 10 sql_is node2 "SELECT count(*) FROM t" 10000
    setsid "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$PORT_node2" -U app -d postgres \
        -c "SELECT pg_sleep(300), count(*) FROM t" >"$T/holder.out" 2>&1 &
    HOLDER=$!
    PGIDS="$PGIDS $HOLDER"
    sleep 1
    sql node1 "DELETE FROM t" >/dev/null
    sql node1 "VACUUM t" >/dev/null
    T_HOLD=$(now)
    lag2() {
        curl -s -m 2 "$RG/metrics" | awk '$1 ~ /^replguard_replica_lag_seconds\{/ &&
            index($1, "replica=\"node2\"") { print $2 }'
    }
    lag_above() { awk -v l="$(lag2)" -v b="$1" 'BEGIN { exit !(l != "" && l > b) }'; }
    lag_below() { awk -v l="$(lag2)" -v b="$1" 'BEGIN { exit !(l != "" && l < b) }'; }
    wait_for "node2's replay held (lag above 3 s)" 15 lag_above 3
    wait_for "the holder cancelled by the runbook" 90 grep_audit '1 queries cancelled'
    T_CANCEL=$(now)
    wait_for "node2's lag back under 0.5 s" 15 lag_below 0.5
    wait "$HOLDER" 2>/dev/null
    grep -q "canceling statement" "$T/holder.out" || fail "the holder was not cancelled: $(cat "$T/holder.out")"
    log "replay held at $(diff_s "$T_START" "$T_HOLD")s; PostgresReplicationLag -> Alertmanager -> webhook -> cancel_blocking_queries $(diff_s "$T_HOLD" "$T_CANCEL")s later; lag back to 0 at $(diff_s "$T_HOLD" "$(now)")s"
    wait_for "node2 back in read rotation" 15 is /health/replica/pg/node2 200
else
    log "SKIP the alert loop: prometheus or prometheus-alertmanager not installed"
fi

# --- 6. failover under pgbench ------------------------------------------------
step "pgbench through HAProxy, then SIGKILL node1's postmaster"
echo "INSERT INTO w (client) VALUES (:client_id);" >"$T/insert.sql"
spawn pgbench "$T/pgbench.out" "$PGBIN/pgbench" -h 127.0.0.1 -p "$HA_W" \
    -U postgres -n -c 4 -j 2 -T 30 -f "$T/insert.sql" postgres
sleep 3
before=$(sql node1 "SELECT count(*) FROM w")
T_KILL=$(now)
$PGC kill "$T/pg" node1 >/dev/null || fail "kill node1"
log "node1 killed with $before rows committed so far"
# the writer that measures the RTO: one INSERT through HAProxy every 50 ms
T_UP=""
until=$(awk -v a="$T_KILL" 'BEGIN { printf "%.3f", a + 60 }')
while awk -v a="$(now)" -v u="$until" 'BEGIN { exit !(a < u) }'; do
    if via "$HA_W" "INSERT INTO w (client) VALUES (-1)" >/dev/null 2>&1; then
        T_UP=$(now)
        break
    fi
    sleep 0.05
done
[ -n "$T_UP" ] || fail "no write through HAProxy 60 s after the kill"
RTO=$(diff_s "$T_KILL" "$T_UP")
wait $PID_pgbench 2>/dev/null
processed=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$T/pgbench.out")
[ -n "$processed" ] || fail "pgbench printed no count: $(tail -n 5 "$T/pgbench.out")"
# node2, the synchronous standby, ranks first; node3 when it had
# received more at the crash (the RPO guard takes the one losing nothing)
new=$(grep '"event":"failover_done"' "$T/audit.jsonl" | grep -o '"to":"node[23]"' | head -n 1 | cut -d'"' -f4)
[ -n "$new" ] || fail "no failover_done to node2 or node3 in the audit log"
other=node3
[ "$new" = node3 ] && other=node2
rows=$(sql "$new" "SELECT count(*) FROM w WHERE client >= 0")
[ "$rows" -ge "$processed" ] ||
    fail "$new has $rows pgbench rows, pgbench committed $processed"
[ "$(sql "$new" "SELECT pg_is_in_recovery()")" = f ] || fail "$new still in recovery"
wait_for "$other streaming from $new" 15 sql_is "$new" \
    "SELECT count(*) FROM pg_stat_replication WHERE application_name = '$other' AND state = 'streaming'" 1
log "RTO ${RTO}s (kill to the first write through HAProxy on $new); pgbench: $processed transactions acknowledged, $rows rows on $new"

# --- 7. the old primary comes back on timeline 1 ------------------------------
step "node1 restarted on its old timeline"
$PGC startnode "$T/pg" node1 >/dev/null || fail "startnode node1"
wait_for "the escalation that node1 needs pg_rewind" 20 grep_audit 'pg_rewind'
[ "$(code /health/primary/pg/node1)" != 200 ] || fail "node1 answers /health/primary 200"
[ "$(code /health/primary/pg/$new)" = 200 ] || fail "$new lost /health/primary"
[ "$(sql node1 "SHOW default_transaction_read_only")" = on ] || fail "node1 not fenced"
eval "newport=\$PORT_$new"
via "$HA_W" "SELECT current_setting('port')" | grep -qx "$newport" ||
    fail "writes through HAProxy do not reach $new"
log "node1 back on timeline 1: fenced, /health/primary $(code /health/primary/pg/node1), escalated (pg_rewind)"

echo "pg-e2e: PASS: RTO ${RTO}s; $processed pgbench transactions acknowledged before the crash, all on $new ($rows rows)"
