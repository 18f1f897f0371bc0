#!/bin/bash
# shellcheck disable=SC2154,SC2034 # PID_<name>, URL_<node>, hp: set by eval
# tests/failover-e2e.sh: automatic failover against running processes
# (issue 15).
#
#   make check-e2e        (or: top_builddir=B top_srcdir=S bash tests/failover-e2e.sh)
#
# On loopback, on free ports, in a temp dir, it starts replguard-simnode
# (one cluster of four nodes, --mode semi-sync --min-sync-replicas 1),
# replguard (cluster "demo", failover enabled, every failover and poll
# setting at its default: detect_after 3s, poll interval 1s), and HAProxy
# routing writes to the node whose /health/primary/demo/<node> answers
# 200 (a backend per node, checked against replguard every 200 ms).
# tests/foclient writes {"count": 1} through HAProxy from 4 threads
# (about 80 writes/s: each waits for its semi-sync ack), logging each acknowledged position, its time
# and the node that took it; a second foclient samples every node's
# /health/primary every 50 ms for the whole test. Then:
#
#   0. transients cause no failover: the primary hangs 1.5 s (under
#      detect_after), its API is down 6 s (replguard cut off, the replicas
#      still stream: failover_held in the audit log), one replica's stream
#      is cut 4 s.
#   1. crash: the simnode `crash` fault on the primary. RTO = the last
#      write acknowledged by the old primary to the first acknowledged by
#      the new one. RPO = 0: every acknowledged position is on the new
#      primary (GET /v1/read?position=P: has true, with the write_epoch of
#      the primary that acknowledged it).
#   2. the old primary returns (DELETE the fault): it takes no write (none
#      through HAProxy, a direct write is refused), and rejoins.
#   3. a switchover back to node1 (POST /api/v1/failover/demo {"to":
#      "node1"}) with the writer going: the pause in acknowledged writes,
#      and every write acknowledged (under three epochs) is on node1.
#   4. replguard SIGSTOPped for 5 s, then SIGCONT: no failover (it enters
#      TILT, which holds actions for 30 s).
#   At every 50 ms sample, at most one node answers 200.
#
# Prints RTO, detection time (crash to failover_plan in the audit log),
# the failover's phases, the switchover's write pause, writes
# acknowledged and checked. Exit 0 pass, 1
# fail, 77 skip (a program it needs is missing). On failure it names the
# step, what it saw and the daemons' log tails, and keeps the temp dir
# (E2E_KEEP=1 keeps it always; E2E_SKIP_TRANSIENTS=1 skips step 0).
# Every process it started runs in its own process group and is killed
# on exit.
set -u
export LC_ALL=C

: "${top_builddir:?set top_builddir (make check-e2e does)}"
: "${top_srcdir:?set top_srcdir (make check-e2e does)}"
top_builddir=$(cd "$top_builddir" && pwd)
top_srcdir=$(cd "$top_srcdir" && pwd)

HAPROXY=${HAPROXY:-haproxy}
[ -x /usr/sbin/haproxy ] && ! command -v "$HAPROXY" >/dev/null 2>&1 &&
    HAPROXY=/usr/sbin/haproxy

for p in "$HAPROXY" curl jq setsid; do
    if ! command -v "$p" >/dev/null 2>&1; then
        echo "failover-e2e: SKIP: $p not found (apt-get install haproxy curl jq)" >&2
        exit 77
    fi
done
for p in replguard replguard-simnode tests/foclient; do
    [ -x "$top_builddir/$p" ] || {
        echo "failover-e2e: $top_builddir/$p not built (make check-e2e builds it)" >&2
        exit 1
    }
done
FOCLIENT=$top_builddir/tests/foclient

E2E_NAME=failover-e2e
E2E_WAIT_STEP=0.1
. "$top_srcdir/tests/e2e-lib.sh"

# --- what a failure prints -------------------------------------------------
diagnostics() {
    local n
    echo "---- last values"
    for n in $NODES; do
        eval "u=\${URL_$n:-}"
        [ -n "$u" ] || continue
        echo "$n: role $(node_role "$u") epoch $(mval "$u" stemedb_epoch) acked $(mval "$u" stemedb_acked_position) connected $(mval "$u" stemedb_replication_connected); /health/primary $(health_code "$n")"
    done
    [ -n "${RG:-}" ] && curl -s -m 2 "$RG/metrics" | grep -E '^replguard_(failover|cluster_epoch|tilt)'
    [ -s "$T/writes" ] && echo "writes: $(grep -c '^ack' "$T/writes") acked, $(grep -c '^err' "$T/writes") not; by node: $(awk '$1 == "ack" { n[$4]++ } END { for (k in n) printf "%s=%d ", k, n[k] }' "$T/writes")"
    [ -s "$T/audit.jsonl" ] && { echo "---- audit log"; tail -n 30 "$T/audit.jsonl"; }
    tail_log replguard "$T/replguard.log"
    tail_log haproxy "$T/haproxy.log"
    tail_log simnode "$T/simnode.out"
}

# --- nodes, health and the audit log -----------------------------------------
# node_role URL: the role a node reports (stemedb_node_role{role} 1), or
# "down".
node_role() {
    curl -s -m 2 "$1/metrics" | awk '
        /^stemedb_node_role\{/ && $2 == 1 {
            r = $1; sub(/.*role="/, "", r); sub(/".*/, "", r); print r; f = 1
        }
        END { if (!f) print "down" }'
}

# health_code NODE: replguard's /health/primary status for NODE.
health_code() {
    curl -s -o /dev/null -m 2 -w '%{http_code}' "$RG/health/primary/demo/$1"
}

health_200() { # health_200 NODE: replguard answers 200 for NODE
    local c
    c=$(health_code "$1")
    echo "/health/primary/demo/$1: $c"
    [ "$c" = 200 ]
}

# iso_time TIME: seconds since the epoch of an RFC 3339 time.
iso_time() { date -d "$1" +%s.%N; }

# audit_count FILTER: audit records (cluster demo) matching the jq FILTER.
audit_count() {
    [ -s "$T/audit.jsonl" ] || {
        echo 0
        return
    }
    jq -c "select(.cluster == \"demo\" and ($1))" "$T/audit.jsonl" 2>/dev/null | wc -l
}

# --- 1. the simulated cluster ------------------------------------------------
NODES="node1 node2 node3 node4"
step "start replguard-simnode (4 nodes, semi-sync, min_sync_replicas 1)"
spawn simnode "$T/simnode.out" "$top_builddir/replguard-simnode" --port 0 \
    --nodes 4 --mode semi-sync --min-sync-replicas 1 --ingest-rate 100 \
    --seed 15
for i in $(seq 1 100); do
    grep -qx ready "$T/simnode.out" && break
    kill -0 "$PID_simnode" 2>/dev/null || fail "simnode exited: $(cat "$T/simnode.out")"
    sleep 0.1
done
grep -qx ready "$T/simnode.out" || fail "simnode printed no ready line"
for n in $NODES; do
    u=$(awk -v n="$n" '$1 == "node" && $2 == "c1" && $3 == n { print $5 }' "$T/simnode.out")
    [ -n "$u" ] || fail "no line for $n in simnode's output"
    eval "URL_$n=\$u"
    TAKEN_PORTS="$TAKEN_PORTS${u##*:} "
done
log "nodes: $(for n in $NODES; do eval "printf '%s %s, ' $n \$URL_$n"; done)"

# --- 2. replguard --------------------------------------------------------------
step "start replguard (failover enabled, defaults: detect_after 3s, poll 1s)"
mkdir -p "$T/state"
# The shipped runbooks: without any, replguard runs no executor, and so
# no failover (it only watches). No Alertmanager here: none of them runs.
{
    cat <<EOF
listen: "127.0.0.1:0"
state_dir: $T/state
audit_log: $T/audit.jsonl
rules: $top_srcdir/rules
clusters:
  - name: demo
    profile: stemedb
    replication: {mode: semi-sync, min_sync_replicas: 1}
    failover: {enabled: true}
    nodes:
EOF
    for n in $NODES; do
        role=replica
        [ "$n" = node1 ] && role=primary
        eval "printf '      - {name: %s, url: \"%s\", role: %s}\n' $n \$URL_$n $role"
    done
} >"$T/replguard.yml"
"$top_builddir/replguard" -c "$T/replguard.yml" --check-config >"$T/check-config.out" 2>&1 ||
    fail "replguard --check-config: $(cat "$T/check-config.out")"
spawn replguard "$T/replguard.log" "$top_builddir/replguard" -c "$T/replguard.yml"
RG_PID=$PID_replguard
T_RG_START=$(now)
for i in $(seq 1 100); do
    RG_PORT=$(sed -n 's/.*msg="replguard started".* listen=http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/replguard.log" | head -n 1)
    [ -n "$RG_PORT" ] && break
    kill -0 "$RG_PID" 2>/dev/null || fail "replguard exited at start"
    sleep 0.1
done
[ -n "$RG_PORT" ] || fail "replguard logged no listen address"
TAKEN_PORTS="$TAKEN_PORTS$RG_PORT "
RG=http://127.0.0.1:$RG_PORT
wait_for "replguard /-/ready" 10 get -o /dev/null "$RG/-/ready"
log "replguard ready at $RG (pid $RG_PID)"

# --- 3. HAProxy: writes to the node replguard says is the primary -------------
# A backend per node, each health-checked against replguard's
# /health/primary/demo/<node> (addr/port: the check goes to replguard, the
# traffic to the node). The frontend takes the first backend with a
# server up; none up: HAProxy answers 503 itself.
step "start HAProxy (writes to the node whose /health/primary is 200)"
gen_haproxy() {
    local n
    cat <<EOF
global
    maxconn 2000
defaults
    mode http
    timeout connect 500ms
    timeout client 30s
    timeout server 10s
    retries 1
frontend writes
    bind 127.0.0.1:$HA_PORT
EOF
    for n in $NODES; do
        echo "    use_backend be_$n if { nbsrv(be_$n) gt 0 }"
    done
    for n in $NODES; do
        eval "hp=\${URL_$n#http://}"
        cat <<EOF
backend be_$n
    option httpchk GET /health/primary/demo/$n
    http-check expect status 200
    http-response set-header X-Server $n
    server $n $hp check addr 127.0.0.1 port $RG_PORT inter 200ms fall 1 rise 1
EOF
    done
}
for try in 1 2 3; do
    pick_port
    HA_PORT=$PORT
    gen_haproxy >"$T/haproxy.cfg"
    "$HAPROXY" -c -q -f "$T/haproxy.cfg" >"$T/haproxy-check.out" 2>&1 ||
        fail "haproxy -c: $(cat "$T/haproxy-check.out")"
    spawn haproxy "$T/haproxy.log" "$HAPROXY" -db -f "$T/haproxy.cfg"
    for i in $(seq 1 50); do
        curl -s -o /dev/null -m 1 "http://127.0.0.1:$HA_PORT/" && break
        kill -0 "$PID_haproxy" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$PID_haproxy" 2>/dev/null && break
    grep -qi 'address already in use\|cannot bind' "$T/haproxy.log" || fail "haproxy exited at start"
    log "haproxy: port $HA_PORT taken meanwhile, trying another"
done
HA=http://127.0.0.1:$HA_PORT
log "HAProxy writes at $HA (pid $PID_haproxy)"

# --- 4. the writer and the /health/primary sampler -----------------------------
step "start the /health/primary sampler (50 ms) and the writer (through HAProxy)"
HEALTH_URLS=""
for n in $NODES; do HEALTH_URLS="$HEALTH_URLS $RG/health/primary/demo/$n"; done
# shellcheck disable=SC2086 # one word per URL
spawn sampler "$T/sampler.err" "$FOCLIENT" sample "$T/samples" 50 $HEALTH_URLS
spawn writer "$T/writer.err" "$FOCLIENT" write "$HA" "$T/writes" 4

acks_from() { # acks_from NODE MIN: at least MIN writes acknowledged by NODE
    local c
    c=$(awk -v n="$1" '$1 == "ack" && $4 == n' "$T/writes" 2>/dev/null | wc -l)
    echo "$c writes acknowledged by $1"
    [ "$c" -ge "$2" ]
}
wait_for "node1 answering 200 on /health/primary" 15 test "$(health_code node1)" = 200
wait_for "100 writes acknowledged by node1 through HAProxy" 20 acks_from node1 100
# Failover may start only after the engine's first detect_after (3 s).
while ! gt "$(diff_s "$T_RG_START" "$(now)")" 5; do sleep 0.2; done
E0=$(mval "$URL_node1" stemedb_epoch)
for n in $NODES; do
    [ "$n" = node1 ] && continue
    eval "u=\$URL_$n"
    [ "$(node_role "$u")" = replica ] || fail "$n is not a replica before the crash: $(node_role "$u")"
done
log "before the crash: node1 primary at epoch $E0; $(grep -c '^ack' "$T/writes") writes acknowledged"

# --- 5. transients: no failover --------------------------------------------------
# fault NODE KIND DURATION: a simnode fault, posted through node4 (never
# the faulted node here).
fault() {
    get -X POST -d "{\"node\": \"$1\", \"kind\": \"$2\", \"duration\": \"$3\"}" \
        "$URL_node4/v1/sim/fault" >/dev/null || fail "POST $2 fault on $1"
}
back_to_node1() { # node1 is the primary again and takes writes
    local before
    before=$(acks_from node1 0 | awk '{ print $1 }')
    health_200 node1 || return 1
    sleep 0.3
    acks_from node1 $((before + 1))
}
if [ -z "${E2E_SKIP_TRANSIENTS:-}" ]; then
step "transients: the primary hangs 1.5 s, its API is down 6 s, node3's stream cut 4 s: no failover"
fault node1 hang 1500ms
sleep 3
fault node1 api_down 6s
sleep 8
wait_for "node1 the primary again after api_down" 10 back_to_node1
fault node3 repl_partition 4s
sleep 6
[ "$(audit_count '.event == "failover_plan"')" = 0 ] ||
    fail "a failover was planned for a transient: $(jq -c 'select(.event == "failover_plan")' "$T/audit.jsonl" | head -n 1)"
[ "$(node_role "$URL_node1")" = primary ] || fail "node1 is no longer the primary"
wait_for "node1 the primary, taking writes" 10 back_to_node1
HELD=$(audit_count '.event == "failover_held"')
[ "$HELD" -ge 1 ] || fail "api_down on the primary: no failover_held in the audit log"
log "no failover; $HELD failover_held record(s) (api_down: the replicas still streamed)"
fi

# --- 6. crash ------------------------------------------------------------------
step "crash the primary (node1); a new primary takes writes"
t_a=$(now)
get -X POST -d '{"node": "node1", "kind": "crash"}' "$URL_node2/v1/sim/fault" >/dev/null ||
    fail "POST crash fault"
T_CRASH=$(awk -v a="$t_a" -v b="$(now)" 'BEGIN { printf "%.6f", (a + b) / 2 }')
new_primary_acks() {
    local n
    n=$(awk '$1 == "ack" && $4 != "node1" && $4 != "-" { print $4; exit }' "$T/writes")
    echo "first acknowledgement by another node: ${n:-none yet}"
    [ -n "$n" ]
}
wait_for "a write acknowledged by another node than node1" 30 new_primary_acks
NEW=$(awk '$1 == "ack" && $4 != "node1" { print $4; exit }' "$T/writes")
eval "URL_NEW=\$URL_$NEW"
T_LAST_OLD=$(awk '$1 == "ack" && $4 == "node1" { t = $2 } END { print t }' "$T/writes")
T_FIRST_NEW=$(awk -v n="$NEW" '$1 == "ack" && $4 == n { print $2; exit }' "$T/writes")
RTO=$(diff_s "$T_LAST_OLD" "$T_FIRST_NEW")
log "new primary $NEW: RTO ${RTO}s (last ack by node1 +$(diff_s "$T_CRASH" "$T_LAST_OLD")s after the crash, first by $NEW +$(diff_s "$T_CRASH" "$T_FIRST_NEW")s)"
gt "$T_CRASH" "$T_LAST_OLD" || gt 0.2 "$(diff_s "$T_CRASH" "$T_LAST_OLD")" ||
    fail "node1 acknowledged a write $(diff_s "$T_CRASH" "$T_LAST_OLD")s after the crash"
gt 30 "$RTO" || fail "RTO ${RTO}s: StemeDB's operators were promised under 30 s"
done_count() {
    local c
    c=$(audit_count '.event == "failover_done"')
    echo "$c failover_done records"
    [ "$c" -ge 1 ]
}
wait_for "audit: failover_done" 20 done_count
E1=$(mval "$URL_NEW" stemedb_epoch)
gt "$E1" "$E0" || fail "$NEW's epoch $E1 is not above the old $E0"
[ "$(node_role "$URL_NEW")" = primary ] || fail "$NEW reports role $(node_role "$URL_NEW")"

# the failover's own record: detection and phases, from the audit log
audit_t() { # audit_t FILTER: the time of the first matching record
    local t
    t=$(jq -r "select(.cluster == \"demo\" and ($1)) | .time" "$T/audit.jsonl" | head -n 1)
    [ -n "$t" ] && [ "$t" != null ] && iso_time "$t"
}
T_PLAN=$(audit_t '.event == "failover_plan"') || fail "no failover_plan in the audit log"
T_DONE=$(audit_t '.event == "failover_done"')
DETECT=$(diff_s "$T_CRASH" "$T_PLAN")
PHASES=$(jq -r 'select(.cluster == "demo" and .event == "failover_phase") |
    "\(.time) \(.phase // .action // .reason // "?")"' "$T/audit.jsonl" |
    while read -r t p; do echo "$(iso_time "$t") $p"; done |
    awk -v done="$T_DONE" '
        { t[NR] = $1; p[NR] = $2 }
        END {
            for (i = 1; i <= NR; i++) {
                e = i < NR ? t[i + 1] : done
                printf "%s %.3fs, ", p[i], e - t[i]
            }
        }')
log "detection (crash to failover_plan) ${DETECT}s; plan to done $(diff_s "$T_PLAN" "$T_DONE")s; phases: ${PHASES%, }"
[ "$(audit_count '.event == "failover_plan"')" = 1 ] ||
    fail "$(audit_count '.event == "failover_plan"') failover plans for one crash"

wait_for "/health/primary 200 for $NEW" 5 health_200 "$NEW"
counted() { # the metrics follow the view: up to a round behind the audit log
    local v
    v=$(mval "$RG" replguard_failovers_total kind=automatic outcome=success)
    echo "replguard_failovers_total{kind=automatic,outcome=success} $v"
    [ "$v" = 1 ]
}
wait_for "the failover counted in /metrics" 5 counted
[ "$(audit_count '.event == "escalated"')" -ge 1 ] ||
    fail "no escalation (the notice that a failover happened) in the audit log"
sleep 2 # writes go on through the new primary

# --- 7. the old primary returns ---------------------------------------------------
step "the old primary returns (crash fault deleted): it takes no write"
T_BACK=$(now)
get -X DELETE "$URL_NEW/v1/sim/fault" >/dev/null || fail "DELETE /v1/sim/fault"
wait_for "node1 answering again" 10 get -o /dev/null "$URL_node1/metrics"
st=$(curl -s -o "$T/direct-write.json" -w '%{http_code}' -m 10 -X POST \
    -d '{"count": 1}' "$URL_node1/v1/write")
[ "$st" != 200 ] || fail "the returned old primary acknowledged a direct write: $(cat "$T/direct-write.json")"
log "node1 back (role $(node_role "$URL_node1"), epoch $(mval "$URL_node1" stemedb_epoch)); a direct write: $st $(cat "$T/direct-write.json")"
rejoined() {
    local r e
    r=$(node_role "$URL_node1")
    e=$(mval "$URL_node1" stemedb_epoch)
    echo "node1 role $r epoch $e; audit rejoin records: $(audit_count '.event == "rejoin"')"
    [ "$r" = replica ] && [ "$e" = "$E1" ]
}
wait_for "node1 rejoining as a replica at epoch $E1" 20 rejoined
log "node1 rejoined as a replica at epoch $E1 (+$(diff_s "$T_BACK" "$(now)")s)"
sleep 2
[ "$(health_code node1)" != 200 ] || fail "/health/primary is 200 for the returned node1"

# --- 8. a switchover back to node1 ---------------------------------------------------
step "switchover back to node1 (POST /api/v1/failover/demo {\"to\": \"node1\"}) under the writer"
caught_up() { # node1 within 10 positions of $NEW
    local a b
    a=$(mval "$URL_NEW" stemedb_assertions_indexed_total)
    b=$(mval "$URL_node1" stemedb_assertions_indexed_total)
    echo "$NEW at $a, node1 at $b"
    awk -v a="$a" -v b="$b" 'BEGIN { exit !(a - b <= 10) }'
}
wait_for "node1 caught up with $NEW" 15 caught_up
T_SW=$(now)
st=$(curl -s -o "$T/switchover.json" -w '%{http_code}' -m 10 -X POST \
    -d '{"to": "node1"}' "$RG/api/v1/failover/demo")
[ "$st" = 202 ] || fail "POST /api/v1/failover/demo: $st $(cat "$T/switchover.json")"
node1_acks_again() {
    local c
    c=$(awk -v t="$T_SW" '$1 == "ack" && $4 == "node1" && $2 > t' "$T/writes" | wc -l)
    echo "$c writes acknowledged by node1 since the switchover request"
    [ "$c" -ge 1 ]
}
wait_for "writes acknowledged by node1 again" 60 node1_acks_again
sw_counted() {
    local v
    v=$(mval "$RG" replguard_failovers_total kind=switchover outcome=success)
    echo "replguard_failovers_total{kind=switchover,outcome=success} $v"
    [ "$v" = 1 ]
}
wait_for "the switchover counted a success" 10 sw_counted
E2=$(mval "$URL_node1" stemedb_epoch)
gt "$E2" "$E1" || fail "node1's epoch $E2 is not above $E1 after the switchover"
T_SW_LAST=$(awk -v n="$NEW" '$1 == "ack" && $4 == n { t = $2 } END { print t }' "$T/writes")
T_SW_FIRST=$(awk -v t="$T_SW" '$1 == "ack" && $4 == "node1" && $2 > t { print $2; exit }' "$T/writes")
SW_PAUSE=$(diff_s "$T_SW_LAST" "$T_SW_FIRST")
log "switchover: node1 primary at epoch $E2; writes paused ${SW_PAUSE}s (last ack by $NEW +$(diff_s "$T_SW" "$T_SW_LAST")s after the request, first by node1 +$(diff_s "$T_SW" "$T_SW_FIRST")s)"
wait_for "$NEW a replica again" 15 test "$(node_role "$URL_NEW")" = replica
sleep 1

# --- 9. replguard stopped for 5 s ---------------------------------------------------
step "SIGSTOP replguard for 5 s, then SIGCONT: no failover"
plans=$(audit_count '.event == "failover_plan"')
kill -STOP "$RG_PID" || fail "SIGSTOP replguard"
sleep 5
kill -CONT "$RG_PID" || fail "SIGCONT replguard"
T_CONT=$(now)
sleep 6 # past detect_after and a few rounds
[ "$(audit_count '.event == "failover_plan"')" = "$plans" ] ||
    fail "a failover was planned after replguard was stopped for 5 s"
[ "$(node_role "$URL_node1")" = primary ] || fail "node1 is no longer the primary"
wait_for "/health/primary 200 for node1 after SIGCONT" 5 health_200 node1
log "no failover; node1 still the primary (+$(diff_s "$T_CONT" "$(now)")s after SIGCONT); TILT entered $(mval "$RG" replguard_tilt_total) time(s)"
[ "$(mval "$RG" replguard_failovers_total)" = 2 ] ||
    fail "replguard_failovers_total sums to $(mval "$RG" replguard_failovers_total), not 2 (the crash's and the switchover's)"

# --- 10. the proof ------------------------------------------------------------------
step "stop the writer and the sampler; every acknowledged write on node1"
stop_pg "$PID_writer"
stop_pg "$PID_sampler"
bad=$(awk -v n="$NEW" '$1 == "ack" && $4 != "node1" && $4 != n' "$T/writes" | head -n 3)
[ -z "$bad" ] || fail "writes acknowledged by a third node: $bad"
late=$(awk -v a="$T_FIRST_NEW" -v b="$T_SW" '$1 == "ack" && $4 == "node1" && $2 > a && $2 < b' "$T/writes" | head -n 3)
[ -z "$late" ] || fail "node1 acknowledged writes while $NEW was the primary: $late"
late=$(awk -v n="$NEW" -v t="$T_SW_FIRST" '$1 == "ack" && $4 == n && $2 > t' "$T/writes" | head -n 3)
[ -z "$late" ] || fail "$NEW acknowledged writes after node1 took over again: $late"
# the epoch each write was acknowledged under: node1's before the crash,
# $NEW's, node1's after the switchover
awk -v n="$NEW" -v t="$T_SW" -v e0="$E0" -v e1="$E1" -v e2="$E2" '
    $1 == "ack" { print $3, ($4 == n ? e1 : $2 > t ? e2 : e0) }' "$T/writes" >"$T/acked"
N_ACK=$(wc -l <"$T/acked")
"$FOCLIENT" check "$URL_node1" <"$T/acked" >"$T/check.out" 2>&1 ||
    fail "acknowledged writes missing on node1: $(cat "$T/check.out")"
log "RPO 0: $(tail -n 1 "$T/check.out") on node1 ($(awk -v e="$E0" '$2 == e' "$T/acked" | wc -l) acknowledged at epoch $E0 by node1, $(awk -v e="$E1" '$2 == e' "$T/acked" | wc -l) at epoch $E1 by $NEW, $(awk -v e="$E2" '$2 == e' "$T/acked" | wc -l) at epoch $E2 by node1)"

step "at every 50 ms sample, at most one node answered 200"
read -r N_SAMPLES N_TWO N_NONE <<<"$(awk '
    { c = 0; for (i = 2; i <= NF; i++) if ($i == 200) c++
      n++; if (c > 1) two++; if (c == 0) none++ }
    END { print n + 0, two + 0, none + 0 }' "$T/samples")"
[ "$N_SAMPLES" -gt 100 ] || fail "only $N_SAMPLES samples of /health/primary"
[ "$N_TWO" = 0 ] || fail "$N_TWO samples with two or more 200s: $(awk '{ c = 0; for (i = 2; i <= NF; i++) if ($i == 200) c++ } c > 1' "$T/samples" | head -n 3)"
log "$N_SAMPLES samples: never two 200s; $N_NONE with none (the outage, replguard stopped)"

step "shutdown: replguard exits cleanly, no sanitizer report"
stop_pg "$RG_PID"
[ "$STOP_RC" = 0 ] || fail "replguard exited $STOP_RC on SIGTERM"
stop_pg "$PID_haproxy"
stop_pg "$PID_simnode"
for f in "$T/replguard.log" "$T/simnode.out" "$T/writer.err" "$T/sampler.err"; do
    if grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f"; then
        fail "sanitizer report in $f: $(grep -E -m 3 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f")"
    fi
done

step "done"
WPS=$(awk -v n="$N_ACK" -v a="$(awk '$1 == "ack" { print $2; exit }' "$T/writes")" \
    -v b="$(awk '$1 == "ack" { t = $2 } END { print t }' "$T/writes")" \
    'BEGIN { printf "%.0f", n / (b - a) }')
echo "failover-e2e: PASS in $(since "$T_START")s: RTO ${RTO}s, detection ${DETECT}s, switchover write pause ${SW_PAUSE}s, $N_ACK writes acknowledged (~${WPS}/s), 0 lost, $N_SAMPLES health samples, never two primaries"
