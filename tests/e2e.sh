#!/bin/bash
# tests/e2e.sh: the whole loop, for real (issue 6).
#
#   make check-e2e        (or: top_builddir=B top_srcdir=S bash tests/e2e.sh)
#
# On loopback, on free ports, in a temp dir, it starts replguard-simnode
# (one cluster c1 of three nodes), replguard, Prometheus (scraping both,
# with the shipped alert rules, every `for:` shortened to 2s),
# Alertmanager (the shipped config, webhook pointed at this replguard)
# and HAProxy (the shipped config: reads balanced over node2 and node3,
# health-checked against replguard's /health/replica/c1/<node>). Then:
#
#   1. live run: slows node2's apply down under an ingest burst and
#      follows the loop: ReplicationLagCritical fires in Prometheus,
#      reaches Alertmanager, reaches replguard's webhook, the shipped
#      runbook (rules/high-replication-lag.yml) calls the nodes' admin
#      API; the fault is cleared, lag drains, the alert resolves and
#      replguard receives the resolution; a throttle, if one was set, is
#      restored step by step. Meanwhile HAProxy sends no read to node2
#      while it lags, and reads come back to it once it has caught up.
#   1b. throttle: a second simulated cluster (t1: a primary and three
#      replicas) gets two lagging replicas, one stays healthy; the
#      runbook throttles its primary, and once the alerts resolve the
#      limit climbs throttle.restore_steps above it (1500, 3000) and is
#      removed.
#   1c. escalation: both replicas of c1 (three nodes) lag: escalate_when
#      holds, and replguard pages AND throttles c1's primary (throttle is
#      reversible): the ReplguardEscalation alert appears in this
#      Alertmanager (escalation: section, applied by a SIGHUP), the
#      shipped routing sends it to the humans and never back to
#      replguard's webhook, and POST /api/v1/ack/c1 resolves it.
#   2. dry run: replguard restarted (same port) with dry_run: true and a
#      fresh state dir; the same loop; the audit log records dry_run
#      decisions and no node receives a remediation call.
#   3. every panel query of contrib/grafana/replguard-dashboard.json (if
#      present) runs against this Prometheus without an error.
#
# It prints the time from lag injection to the first remediation call.
# Exit 0 pass, 1 fail, 77 skip (a program it needs is missing). On
# failure it names the step, what it saw and the daemons' log tails, and
# keeps the temp dir (E2E_KEEP=1 keeps it always). Every process it
# started runs in its own process group and is killed on exit.
set -u
export LC_ALL=C

: "${top_builddir:?set top_builddir (make check-e2e does)}"
: "${top_srcdir:?set top_srcdir (make check-e2e does)}"
top_builddir=$(cd "$top_builddir" && pwd)
top_srcdir=$(cd "$top_srcdir" && pwd)

PROMETHEUS=${PROMETHEUS:-prometheus}
ALERTMANAGER=${ALERTMANAGER:-prometheus-alertmanager}
HAPROXY=${HAPROXY:-haproxy}
PROMTOOL=${PROMTOOL:-promtool}
[ -x /usr/sbin/haproxy ] && ! command -v "$HAPROXY" >/dev/null 2>&1 &&
    HAPROXY=/usr/sbin/haproxy

for p in "$PROMETHEUS" "$ALERTMANAGER" "$HAPROXY" curl jq setsid; do
    if ! command -v "$p" >/dev/null 2>&1; then
        echo "e2e: SKIP: $p not found (apt-get install prometheus" \
            "prometheus-alertmanager haproxy curl jq)" >&2
        exit 77
    fi
done
for p in replguard replguard-simnode; do
    [ -x "$top_builddir/$p" ] || {
        echo "e2e: $top_builddir/$p not built" >&2
        exit 1
    }
done

E2E_NAME=e2e
. "$top_srcdir/tests/e2e-lib.sh"

# --- what a failure prints -------------------------------------------------
diagnostics() {
    echo "---- last values"
    [ -n "${RG:-}" ] && {
        echo "replguard lag / health / rotation / alerts received / actions:"
        curl -s -m 2 "$RG/metrics" | grep -E '^replguard_(replica_lag_seconds|replica_health\{.*\} 1|replica_in_read_rotation|alerts_received_total|remediation_(actions|skipped)_total|escalations_total|throttle_(active|limit)|webhook_requests_total)'
    }
    [ -n "${N1:-}" ] && echo "admin calls: $(admin_summary)"
    [ -n "${N1:-}" ] && echo "node1 rate limit: $(mval "$N1" stemedb_rate_limit_assertions_per_second)"
    [ -n "${N1:-}" ] && echo "sim faults: $(curl -s -m 2 "$N1/v1/sim/fault")"
    [ -n "${T1_node1:-}" ] && echo "t1: node1 rate limit $(mval "$T1_node1" stemedb_rate_limit_assertions_per_second), rate-limit calls $(mval "$T1_node1" stemedb_admin_requests_total endpoint=rate-limit), faults $(curl -s -m 2 "$T1_node1/v1/sim/fault")"
    [ -n "${PROM:-}" ] && echo "prometheus alerts: $(curl -s -m 2 "$PROM/api/v1/alerts" |
        jq -c '[.data.alerts[] | {n: .labels.alertname, r: .labels.replica, s: .state}]' 2>/dev/null)"
    [ -n "${AMURL:-}" ] && echo "alertmanager alerts: $(curl -s -m 2 "$AMURL/api/v2/alerts" |
        jq -c '[.[] | {n: .labels.alertname, r: .labels.replica, s: .status.state}]' 2>/dev/null)"
    [ -n "${HASTATS:-}" ] && echo "oncall sink notifications: $(pager_notifications)"
    [ -n "${HASTATS:-}" ] && echo "haproxy servers: $(curl -s -m 2 "$HASTATS;csv" |
        awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "status") c = i; next } $2 ~ /^node/ { printf "%s/%s=%s ", $1, $2, $c }')"
    [ -s "$T/audit.jsonl" ] && { echo "---- audit log (live)"; tail -n 15 "$T/audit.jsonl"; }
    [ -s "$T/audit-dry.jsonl" ] && { echo "---- audit log (dry run)"; tail -n 15 "$T/audit-dry.jsonl"; }
    tail_log replguard "$T/replguard.log"
    tail_log replguard-dry-run "$T/replguard-dry.log"
    tail_log prometheus "$T/prometheus.log"
    tail_log alertmanager "$T/alertmanager.log"
    tail_log haproxy "$T/haproxy.log"
    tail_log simnode "$T/simnode.out"
    tail_log simnode-t1 "$T/simnode-t1.out"
}

# --- the nodes' admin calls ------------------------------------------------
# The remediation endpoints of the node API: every admin call that acts.
# heartbeat and merkle are replguard's monitoring; circuit-breakers (the
# GET listing tripped breakers) is the first half of
# reset_circuit_breakers.
REMEDY_EPS="rate-limit sync circuit-breakers circuit-breaker-reset demote promote"

# admin_counts: "node:endpoint=count ..." for the remediation endpoints.
admin_counts() {
    local n u
    for n in node1 node2 node3; do
        eval "u=\$URL_$n"
        curl -s -m 2 "$u/metrics" | awk -v node="$n" -v eps=" $REMEDY_EPS " '
            /^stemedb_admin_requests_total\{/ {
                ep = $1
                sub(/.*endpoint="/, "", ep)
                sub(/".*/, "", ep)
                if (index(eps, " " ep " ")) printf "%s:%s=%d ", node, ep, $2
            }'
    done
    echo
}
admin_total() { # the sum of admin_counts
    admin_counts | tr ' ' '\n' | awk -F= 'NF == 2 { s += $2 } END { print s + 0 }'
}
admin_summary() { admin_counts | tr ' ' '\n' | awk -F= 'NF == 2 && $2 > 0' | tr '\n' ' '; }

# start_daemon NAME LOG READY_URL CMD... (CMD may use @PORT@): up to three
# tries on fresh ports; sets PORT. Fails when the daemon dies or is not
# ready within 20 s for another reason than a port taken.
start_daemon() {
    local name=$1 logf=$2 ready=$3 try i arg
    shift 3
    for try in 1 2 3; do
        pick_port
        local cmd=()
        for arg in "$@"; do cmd+=("${arg//@PORT@/$PORT}"); done
        spawn "$name" "$logf" "${cmd[@]}"
        for i in $(seq 1 100); do
            if ! kill -0 "$SPAWNED" 2>/dev/null; then
                break
            fi
            if curl -s -f -m 1 -o /dev/null "${ready//@PORT@/$PORT}"; then
                log "$name ready on 127.0.0.1:$PORT (pid $SPAWNED)"
                return 0
            fi
            sleep 0.2
        done
        if kill -0 "$SPAWNED" 2>/dev/null; then
            fail "$name not ready within 20 s at ${ready//@PORT@/$PORT}"
        fi
        wait "$SPAWNED" 2>/dev/null
        if grep -qi 'address already in use\|cannot bind' "$logf"; then
            log "$name: port $PORT taken meanwhile, trying another"
            continue
        fi
        fail "$name exited at start"
    done
    fail "$name: no free port in 3 tries"
}

# --- 0. the programs and the shipped files --------------------------------
step "shipped files"
RULES_SRC=$top_srcdir/alerts/replguard.rules.yml
AM_SRC=$top_srcdir/contrib/alertmanager.yml
PROM_SRC=$top_srcdir/contrib/prometheus.yml
HA_SRC=$top_srcdir/contrib/haproxy.cfg
DASH_SRC=$top_srcdir/contrib/grafana/replguard-dashboard.json
for f in "$RULES_SRC" "$AM_SRC" "$PROM_SRC" "$HA_SRC" "$DASH_SRC"; do
    if [ -f "$f" ]; then
        log "using ${f#"$top_srcdir"/}"
    else
        log "WARNING: ${f#"$top_srcdir"/} missing: using the test's minimal stand-in"
    fi
done

# --- 1. the simulated cluster ------------------------------------------------
step "start replguard-simnode"
spawn simnode "$T/simnode.out" "$top_builddir/replguard-simnode" --port 0 \
    --nodes 3 --ingest-rate 1000 --apply-rate 5000 --seed 6
SIM_PID=$SPAWNED
for i in $(seq 1 100); do
    grep -qx ready "$T/simnode.out" && break
    kill -0 "$SIM_PID" 2>/dev/null || fail "simnode exited: $(cat "$T/simnode.out")"
    sleep 0.1
done
grep -qx ready "$T/simnode.out" || fail "simnode printed no ready line: $(cat "$T/simnode.out")"
for n in node1 node2 node3; do
    u=$(awk -v n="$n" '$1 == "node" && $2 == "c1" && $3 == n { print $5 }' "$T/simnode.out")
    [ -n "$u" ] || fail "no line for $n in simnode's output"
    eval "URL_$n=\$u"
    eval "HP_$n=\${u#http://}"
done
N1=$URL_node1
N2=$URL_node2
log "nodes: node1 $URL_node1, node2 $URL_node2, node3 $URL_node3"

# A second simulated cluster, t1 in replguard's config: a primary and
# three replicas: two lag while one stays healthy, so the runbook
# throttles without escalating (c1's two replicas both lagging is the
# escalation case, step 8c).
step "start replguard-simnode for cluster t1 (4 nodes)"
spawn simnode_t1 "$T/simnode-t1.out" "$top_builddir/replguard-simnode" --port 0 \
    --nodes 4 --ingest-rate 1000 --apply-rate 5000 --seed 7
for i in $(seq 1 100); do
    grep -qx ready "$T/simnode-t1.out" && break
    kill -0 "$SPAWNED" 2>/dev/null || fail "simnode (t1) exited: $(cat "$T/simnode-t1.out")"
    sleep 0.1
done
grep -qx ready "$T/simnode-t1.out" || fail "simnode (t1) printed no ready line"
for n in node1 node2 node3 node4; do
    u=$(awk -v n="$n" '$1 == "node" && $2 == "c1" && $3 == n { print $5 }' "$T/simnode-t1.out")
    [ -n "$u" ] || fail "no line for $n in simnode (t1)'s output"
    eval "T1_$n=\$u"
done

# --- 2. replguard --------------------------------------------------------------
# write_rg_config FILE LISTEN DRY_RUN STATE_DIR AUDIT_LOG
write_rg_config() {
    cat >"$1" <<EOF
listen: "$2"
dry_run: $3
state_dir: $4
audit_log: $5
rules: $top_srcdir/rules
poll:
  interval: 200ms
  timeout: 150ms
  merkle_interval: 5s
clusters:
  - name: c1
    profile: stemedb
    lag_source: heartbeat
    thresholds: {warning: 1s, critical: 2s, escalate: 60s, read_max_lag: 100ms}
    throttle:
      floor: 100
      restore_steps: [200, 400]
      restore_interval: 2s
    nodes:
      - {name: node1, url: "$URL_node1", role: primary}
      - {name: node2, url: "$URL_node2", role: replica, priority: 1}
      - {name: node3, url: "$URL_node3", role: replica, priority: 2}
  - name: t1
    profile: stemedb
    lag_source: heartbeat
    thresholds: {warning: 1s, critical: 2s, escalate: 60s, read_max_lag: 100ms}
    throttle:
      floor: 100
      restore_steps: [1500, 3000]
      restore_interval: 2s
    nodes:
      - {name: node1, url: "$T1_node1", role: primary}
      - {name: node2, url: "$T1_node2", role: replica}
      - {name: node3, url: "$T1_node3", role: replica}
      - {name: node4, url: "$T1_node4", role: replica}
EOF
}

# start_replguard CONFIG LOG: starts it, waits for /-/ready; sets RG_PID
# and RG_PORT (from its "replguard started" line).
start_replguard() {
    local cfg=$1 logf=$2 i
    "$top_builddir/replguard" -c "$cfg" --check-config >"$T/check-config.out" 2>&1 ||
        fail "replguard --check-config: $(cat "$T/check-config.out")"
    spawn replguard "$logf" "$top_builddir/replguard" -c "$cfg"
    RG_PID=$SPAWNED
    for i in $(seq 1 100); do
        RG_PORT=$(sed -n 's/.*msg="replguard started".* listen=http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$logf" | head -n 1)
        [ -n "$RG_PORT" ] && break
        kill -0 "$RG_PID" 2>/dev/null || fail "replguard exited at start"
        sleep 0.1
    done
    [ -n "$RG_PORT" ] || fail "replguard logged no listen address"
    RG=http://127.0.0.1:$RG_PORT
    wait_for "replguard /-/ready" 10 get -o /dev/null "$RG/-/ready"
    log "replguard ready at $RG (pid $RG_PID)"
}

step "start replguard"
mkdir -p "$T/state"
write_rg_config "$T/replguard.yml" "127.0.0.1:0" false "$T/state" "$T/audit.jsonl"
start_replguard "$T/replguard.yml" "$T/replguard.log"
TAKEN_PORTS="$TAKEN_PORTS$RG_PORT "

# --- 3. the configs, from the shipped ones -------------------------------
# Every port the HAProxy config needs is picked now: Alertmanager's
# "oncall" receiver (the humans) posts to a sink HAProxy serves, which
# counts the notifications.
uncommented() { grep -v '^[[:space:]]*#' "$1"; }
pick_haproxy_ports() {
    pick_port
    HA_FE_PORT=$PORT
    pick_port
    HA_WR_PORT=$PORT
    pick_port
    HA_ST_PORT=$PORT
    pick_port
    HA_PG_PORT=$PORT
}
pick_haproxy_ports

# gen_am_config OUT: the shipped config with replguard's webhook pointed
# at this replguard, the humans' at the sink, the timings shortened and no
# credentials (replguard has no token here: it takes POSTs from loopback).
gen_am_config() {
    if [ -f "$AM_SRC" ]; then
        sed -E \
            -e "s#^([[:space:]]*-?[[:space:]]*url:[[:space:]]*)['\"]?https?://[^/'\"]*/webhook['\"]?[[:space:]]*\$#\1http://127.0.0.1:$RG_PORT/webhook#" \
            -e "s#^([[:space:]]*-?[[:space:]]*url:[[:space:]]*)['\"]?https?://[^/'\"]*:9651/([^'\"]*)['\"]?[[:space:]]*\$#\1http://127.0.0.1:$HA_PG_PORT/\2#" \
            -e 's/^([[:space:]]*group_wait:[[:space:]]*).*/\11s/' \
            -e 's/^([[:space:]]*group_interval:[[:space:]]*).*/\12s/' \
            -e 's/^([[:space:]]*repeat_interval:[[:space:]]*).*/\11m/' \
            "$AM_SRC" |
            awk '# drop every http_config: block (the bearer token)
                 skip && (NF == 0 || (match($0, /^ */) && RLENGTH > ind)) { next }
                 { skip = 0 }
                 /^ *http_config:/ { skip = 1; match($0, /^ */); ind = RLENGTH; next }
                 { print }' >"$1"
        grep -q "127.0.0.1:$RG_PORT/webhook" "$1" ||
            fail "cannot point $AM_SRC's replguard webhook at this replguard: adapt gen_am_config"
        ! uncommented "$1" | grep -Eq 'credentials|:9650|:9651' ||
            fail "generated alertmanager.yml still has credentials or production ports: adapt gen_am_config"
    else
        cat >"$1" <<EOF
route:
  receiver: replguard
  group_by: [alertname, cluster, replica]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1m
  routes:
    - receiver: replguard
      matchers: ['alertname=~"ReplicationLag.*"']
      continue: true
    - receiver: oncall
receivers:
  - name: replguard
    webhook_configs:
      - url: http://127.0.0.1:$RG_PORT/webhook
        send_resolved: true
  - name: oncall
    webhook_configs:
      - url: http://127.0.0.1:$HA_PG_PORT/alertmanager
        send_resolved: true
EOF
    fi
    if command -v amtool >/dev/null 2>&1; then
        amtool check-config "$1" >"$T/amtool.out" 2>&1 ||
            fail "generated alertmanager.yml invalid: $(cat "$T/amtool.out")"
    fi
}

# gen_rules OUT: the shipped rules, every for: 2s, thresholds in step
# with this test's replguard.
gen_rules() {
    if [ -f "$RULES_SRC" ]; then
        # The shipped lag thresholds repeat a production config's
        # warning 5s / critical 10s; this test's replguard has 1s / 2s.
        sed -E \
            -e 's/^([[:space:]]*for:[[:space:]]*)[0-9smhd]+/\12s/' \
            -e 's/(replguard_replica_lag_seconds[[:space:]]*>=?[[:space:]]*)5([^0-9.]|$)/\11\2/' \
            -e 's/(replguard_replica_lag_seconds[[:space:]]*>=?[[:space:]]*)10([^0-9.]|$)/\12\2/' \
            "$RULES_SRC" >"$1"
        grep -Eq 'replguard_replica_lag_seconds[[:space:]]*>=?[[:space:]]*1([^0-9.]|$)' "$1" &&
            grep -Eq 'replguard_replica_lag_seconds[[:space:]]*>=?[[:space:]]*2([^0-9.]|$)' "$1" ||
            fail "cannot set the lag thresholds (5s, 10s) of $RULES_SRC to this test's 1s, 2s: adapt gen_rules"
    else
        cat >"$1" <<'EOF'
groups:
  - name: replguard
    rules:
      - alert: ReplicationLagWarning
        expr: replguard_replica_lag_seconds >= 1
        for: 2s
        labels: {severity: warning}
      - alert: ReplicationLagCritical
        expr: replguard_replica_lag_seconds >= 2
        for: 2s
        labels: {severity: critical}
EOF
    fi
}

# gen_prom_config OUT (rules at alerts/replguard.rules.yml next to it):
# the shipped config, every interval 1s, this run's addresses.
gen_prom_config() {
    if [ -f "$PROM_SRC" ]; then
        sed -E \
            -e 's/^([[:space:]]*scrape_interval:[[:space:]]*).*/\11s/' \
            -e 's/^([[:space:]]*scrape_timeout:[[:space:]]*).*/\1800ms/' \
            -e 's/^([[:space:]]*evaluation_interval:[[:space:]]*).*/\11s/' \
            -e "s/127\.0\.0\.1:9093/127.0.0.1:$AM_PORT/g" \
            -e "s/127\.0\.0\.1:9650/127.0.0.1:$RG_PORT/g" \
            -e "s/10\.0\.0\.1:18180/$HP_node1/g" \
            -e "s/10\.0\.0\.2:18180/$HP_node2/g" \
            -e "s/10\.0\.0\.3:18180/$HP_node3/g" \
            -e 's/cluster: main([,}[:space:]]|$)/cluster: c1\1/g' \
            "$PROM_SRC" >"$1"
        ! uncommented "$1" | grep -Eq '10\.0\.0\.|:9093|:9650|cluster: main' ||
            fail "generated prometheus.yml still has production addresses: adapt gen_prom_config"
    else
        cat >"$1" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 800ms
  evaluation_interval: 1s
rule_files:
  - alerts/replguard.rules.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['127.0.0.1:$AM_PORT']
scrape_configs:
  - job_name: replguard
    honor_labels: true
    static_configs:
      - targets: ['127.0.0.1:$RG_PORT']
  - job_name: stemedb
    static_configs:
      - targets: ['$HP_node1']
        labels: {cluster: c1, node: node1}
      - targets: ['$HP_node2']
        labels: {cluster: c1, node: node2}
      - targets: ['$HP_node3']
        labels: {cluster: c1, node: node3}
EOF
    fi
    if command -v "$PROMTOOL" >/dev/null 2>&1; then
        "$PROMTOOL" check config "$1" >"$T/promtool.out" 2>&1 ||
            fail "generated prometheus.yml or rules invalid: $(cat "$T/promtool.out")"
    fi
}

# gen_haproxy OUT: the shipped config with this run's ports and nodes,
# cluster c1, a global section fit for a foreground run in a temp dir,
# plus a stats page (for the test) and the humans' notification sink.
gen_haproxy() {
    if [ -f "$HA_SRC" ]; then
        awk -v fe="$HA_FE_PORT" -v wr="$HA_WR_PORT" '
            /^[^ \t#]/ { sect = $1 " " $2 }
            sect ~ /^global/ { next }
            /^[ \t]*bind[ \t]/ {
                if (sect == "frontend stemedb_read") { print "    bind 127.0.0.1:" fe; next }
                if (sect == "frontend stemedb_write") { print "    bind 127.0.0.1:" wr; next }
                print "e2e: unknown bind in " sect > "/dev/stderr"; exit 1
            }
            { print }' "$HA_SRC" >"$1.body" ||
            fail "cannot adapt $HA_SRC: adapt gen_haproxy"
        sed -i -E \
            -e "s/port 9650([^0-9]|\$)/port $RG_PORT\1/g" \
            -e 's#/health/(replica|primary)/main/#/health/\1/c1/#g' \
            -e "s/10\.0\.0\.1:18180/$HP_node1/g" \
            -e "s/10\.0\.0\.2:18180/$HP_node2/g" \
            -e "s/10\.0\.0\.3:18180/$HP_node3/g" "$1.body"
        ! uncommented "$1.body" | grep -Eq '10\.0\.0\.|9650|/main/' ||
            fail "generated haproxy.cfg still has production addresses: adapt gen_haproxy"
    else
        cat >"$1.body" <<EOF
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout check 500ms
frontend stemedb_read
    bind 127.0.0.1:$HA_FE_PORT
    default_backend stemedb_read
backend stemedb_read
    balance roundrobin
    option httpchk
    http-check connect addr 127.0.0.1 port $RG_PORT
    http-check send meth GET uri-lf /health/replica/c1/%[srv_name]
    http-check expect status 200
    default-server inter 100ms fall 1 rise 2
    server node2 $HP_node2 check
    server node3 $HP_node3 check
EOF
    fi
    {
        printf 'global\n    maxconn 512\n\n'
        cat "$1.body"
        cat <<EOF

listen e2e_stats
    bind 127.0.0.1:$HA_ST_PORT
    stats enable
    stats uri /stats

frontend e2e_pager
    bind 127.0.0.1:$HA_PG_PORT
    http-request return status 200 content-type text/plain string ok
EOF
    } >"$1"
    "$HAPROXY" -c -q -f "$1" >"$T/haproxy-check.out" 2>&1 ||
        fail "generated haproxy.cfg invalid: $(cat "$T/haproxy-check.out")"
}

# --- 4. Alertmanager ----------------------------------------------------------
step "start alertmanager"
gen_am_config "$T/alertmanager.yml"
mkdir -p "$T/am"
start_daemon alertmanager "$T/alertmanager.log" "http://127.0.0.1:@PORT@/-/ready" \
    "$ALERTMANAGER" --config.file="$T/alertmanager.yml" --storage.path="$T/am" \
    --web.listen-address=127.0.0.1:@PORT@ --cluster.listen-address= \
    --log.level=info
AM_PID=$SPAWNED
AM_PORT=$PORT
AMURL=http://127.0.0.1:$AM_PORT

# --- 5. Prometheus --------------------------------------------------------------
step "start prometheus"
mkdir -p "$T/alerts" "$T/prom"
gen_rules "$T/alerts/replguard.rules.yml"
# the shipped prometheus.yml also loads the PostgreSQL rules (no series
# for them here: they must only load)
for f in "$top_srcdir"/alerts/*.rules.yml; do
    [ -e "$T/alerts/${f##*/}" ] || cp "$f" "$T/alerts/"
done
gen_prom_config "$T/prometheus.yml"
start_daemon prometheus "$T/prometheus.log" "http://127.0.0.1:@PORT@/-/ready" \
    "$PROMETHEUS" --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/prom" \
    --web.listen-address=127.0.0.1:@PORT@ --log.level=info
PROM_PORT=$PORT
PROM=http://127.0.0.1:$PROM_PORT

# --- 6. HAProxy ------------------------------------------------------------------
step "start haproxy"
ok=0
for try in 1 2 3; do
    if [ "$try" -gt 1 ]; then
        # A port was taken meanwhile: new ones, and Alertmanager told
        # where the sink went.
        pick_haproxy_ports
        gen_am_config "$T/alertmanager.yml"
        kill -HUP "$AM_PID"
    fi
    gen_haproxy "$T/haproxy.cfg"
    spawn haproxy "$T/haproxy.log" "$HAPROXY" -db -f "$T/haproxy.cfg"
    HA_PID=$SPAWNED
    for i in $(seq 1 50); do
        kill -0 "$HA_PID" 2>/dev/null || break
        if get -o /dev/null "http://127.0.0.1:$HA_ST_PORT/stats" &&
            [ "$(curl -s -o /dev/null -w '%{http_code}' -m 1 "http://127.0.0.1:$HA_FE_PORT/v1/read")" != 000 ]; then
            ok=1
            break
        fi
        sleep 0.1
    done
    [ "$ok" = 1 ] && break
    kill -0 "$HA_PID" 2>/dev/null && fail "haproxy not answering"
    grep -qi 'address already in use\|cannot bind' "$T/haproxy.log" || fail "haproxy exited at start"
    log "haproxy: a port was taken meanwhile, trying others"
done
[ "$ok" = 1 ] || fail "haproxy: no free ports in 3 tries"
HA=http://127.0.0.1:$HA_FE_PORT
HASTATS=http://127.0.0.1:$HA_ST_PORT/stats
log "haproxy reads at $HA (pid $HA_PID)"

# ha_server_status BACKEND SERVER: UP, DOWN, ... per HAProxy's stats
ha_server_status() {
    curl -s -m 2 "$HASTATS;csv" | awk -F, -v b="$1" -v s="$2" '
        NR == 1 { for (i = 1; i <= NF; i++) if ($i == "status") c = i; next }
        $1 == b && $2 == s { print $c }'
}

# pager_notifications: how many requests the humans' sink took
pager_notifications() {
    curl -s -m 2 "$HASTATS;csv" | awk -F, '
        NR == 1 { for (i = 1; i <= NF; i++) if ($i == "req_tot") c = i; next }
        $1 == "e2e_pager" && $2 == "FRONTEND" { print $c + 0; f = 1 }
        END { if (!f) print 0 }'
}

# read_node: which node answered a read through HAProxy ("503" etc.
# when none did).
read_node() {
    local out code
    out=$(curl -s -m 1 -w '\n%{http_code}' "$HA/v1/read")
    code=${out##*$'\n'}
    if [ "$code" = 200 ]; then
        printf '%s\n' "${out%$'\n'*}" | jq -r '.node // "?"' 2>/dev/null || echo "?"
    else
        echo "http_$code"
    fi
}

# --- 7. everything up and scraped ----------------------------------------------
step "everything up"
targets_up() {
    local s
    s=$(get "$PROM/api/v1/targets") || return 1
    echo "$s" | jq -r '[.data.activeTargets[] | .health] | join(",")'
    echo "$s" | jq -e '[.data.activeTargets[] | select(.health == "up")] | length == 4' >/dev/null
}
wait_for "Prometheus scraping replguard and the 3 nodes" 20 targets_up
am_sees_prom() {
    get "$PROM/api/v1/alertmanagers" | jq -e '.data.activeAlertmanagers | length == 1' >/dev/null
}
wait_for "Prometheus has Alertmanager" 10 am_sees_prom
# ha_both: 20 reads reach both replicas and nothing else.
ha_both() {
    local seen="" i r
    for i in $(seq 1 20); do
        r=$(read_node)
        seen="$seen $r"
    done
    echo "reads:$seen"
    case "$seen" in *node1* | *http_* | *'?'*) return 1 ;; esac
    case "$seen" in *node2*) ;; *) return 1 ;; esac
    case "$seen" in *node3*) ;; *) return 1 ;; esac
}
wait_for "HAProxy balancing reads over node2 and node3" 10 ha_both
log "HAProxy: $LAST"

# --- 8. the loop -----------------------------------------------------------------
prom_alert() { # NAME STATE: the alert for node2 is in STATE in Prometheus
    get "$PROM/api/v1/alerts" | jq -e --arg n "$1" --arg s "$2" \
        '[.data.alerts[] | select(.labels.alertname == $n and .labels.cluster == "c1" and .labels.replica == "node2" and .state == $s)] | length > 0' >/dev/null
}
prom_lag_alerts() { # the lag alerts Prometheus has, any state
    get "$PROM/api/v1/alerts" | jq -r \
        '[.data.alerts[] | select(.labels.alertname | test("^ReplicationLag")) | "\(.labels.alertname)/\(.labels.cluster)/\(.labels.replica)/\(.state)"] | join(" ")'
}
no_lag_alerts() {
    local a
    a=$(prom_lag_alerts) || return 1
    echo "prometheus: ${a:-none}"
    [ -z "$a" ]
}
am_active() { # NAME: Alertmanager has NAME for node2, active
    get "$AMURL/api/v2/alerts?active=true&silenced=false&inhibited=false" |
        jq -e --arg n "$1" '[.[] | select(.labels.alertname == $n and .labels.cluster == "c1" and .labels.replica == "node2" and .status.state == "active")] | length > 0' >/dev/null
}
lag2() { # c1's node2's lag per replguard, "absent" when it exports none
    curl -s -m 2 "$RG/metrics" | awk '
        /^replguard_replica_lag_seconds\{/ && /cluster="c1"/ && /replica="node2"/ { v = $2 }
        END { print (v == "" ? "absent" : v) }'
}
lag2_below() { # SECONDS
    local v
    v=$(lag2)
    echo "node2 lag ${v}s"
    [ "$v" != absent ] && awk -v v="$v" -v m="$1" 'BEGIN { exit !(v + 0 < m) }'
}
received() { mval "$RG" replguard_alerts_received_total "alertname=$1" "status=$2"; }
gt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'; }

# audit_count FILE JQ_FILTER: how many audit lines match
audit_count() {
    [ -f "$1" ] || { echo 0; return; }
    jq -c "select($2)" "$1" 2>/dev/null | wc -l
}

audit_has() { # FILE JQ_FILTER
    local c
    c=$(audit_count "$1" "$2")
    echo "$c matching audit lines"
    [ "$c" -gt 0 ]
}

INJECT_TO_ADMIN=""
# run_loop MODE AUDIT: MODE live or dry
run_loop() {
    local mode=$1 audit=$2
    local base_admin base_counts base_crit_fire base_crit_res base_warn_res t0 t_clear
    local t_prom="" t_am="" t_rg="" t_act="" t_ha_down="" last_node2=""
    local r lag deadline t

    step "$mode: quiet before injection"
    wait_for "no lag alert in Prometheus" 30 no_lag_alerts
    wait_for "node2 lag below 100ms" 10 lag2_below 0.1
    base_counts=$(admin_counts)
    base_admin=$(admin_total)
    base_crit_fire=$(received ReplicationLagCritical firing)
    base_crit_res=$(received ReplicationLagCritical resolved)
    base_warn_res=$(received ReplicationLagWarning resolved)
    log "baseline: remediation calls $base_admin (${base_counts% }), Critical received firing $base_crit_fire resolved $base_crit_res"

    step "$mode: inject ingest_burst (node1, the primary) and slow_apply (node2)"
    t0=$(now)
    get -X POST -d '{"node": "node1", "kind": "ingest_burst", "rate": 3000, "duration": "60s"}' \
        "$N1/v1/sim/fault" >/dev/null || fail "POST ingest_burst"
    get -X POST -d '{"node": "node2", "kind": "slow_apply", "factor": 0.1, "duration": "60s"}' \
        "$N1/v1/sim/fault" >/dev/null || fail "POST slow_apply"

    step "$mode: alert fires, travels, is acted on; node2 leaves read rotation"
    deadline=$(awk -v t="$t0" 'BEGIN { printf "%.3f", t + 40 }')
    while :; do
        t=$(now)
        r=$(read_node)
        if [ "$r" = node2 ]; then
            last_node2=$(diff_s "$t0" "$t")
            gt "$last_node2" 2 && fail "HAProxy sent a read to node2 ${last_node2}s after lag was injected (lag $(lag2))"
        fi
        [ -z "$t_ha_down" ] && [ "$(ha_server_status stemedb_read node2)" = DOWN ] && t_ha_down=$(now) &&
            log "HAProxy: marks node2 DOWN in stemedb_read (+$(diff_s "$t0" "$t_ha_down")s)"
        [ -z "$t_prom" ] && prom_alert ReplicationLagCritical firing && t_prom=$(now) &&
            log "Prometheus: ReplicationLagCritical{replica=node2} firing (+$(diff_s "$t0" "$t_prom")s)"
        [ -z "$t_am" ] && am_active ReplicationLagCritical && t_am=$(now) &&
            log "Alertmanager: has it (+$(diff_s "$t0" "$t_am")s)"
        [ -z "$t_rg" ] && gt "$(received ReplicationLagCritical firing)" "$base_crit_fire" && t_rg=$(now) &&
            log "replguard: received it, replguard_alerts_received_total{status=firing} up (+$(diff_s "$t0" "$t_rg")s)"
        if [ -z "$t_act" ]; then
            if [ "$mode" = live ]; then
                if gt "$(admin_total)" "$base_admin"; then
                    t_act=$(now)
                    INJECT_TO_ADMIN=$(diff_s "$t0" "$t_act")
                    log "nodes: first remediation admin call (+${INJECT_TO_ADMIN}s): $(admin_summary)"
                fi
            elif [ "$(audit_count "$audit" '.event == "action" and .dry_run == true and .action == "reset_circuit_breakers" and .target == "node2"')" -gt 0 ]; then
                t_act=$(now)
                log "audit: first dry_run decision (+$(diff_s "$t0" "$t_act")s)"
            fi
        fi
        [ -n "$t_prom" ] && [ -n "$t_am" ] && [ -n "$t_rg" ] && [ -n "$t_act" ] && [ -n "$t_ha_down" ] && break
        if gt "$(now)" "$deadline"; then
            fail "within 40 s of injection: Prometheus firing=${t_prom:+yes} Alertmanager=${t_am:+yes} replguard received=${t_rg:+yes} action=${t_act:+yes} haproxy node2 down=${t_ha_down:+yes}; node2 lag $(lag2); admin calls: $(admin_summary)"
        fi
        sleep 0.1
    done
    log "HAProxy: last read on node2 at +${last_node2:-(none)}s after injection (limit 2s); lag now $(lag2)s"

    if [ "$mode" = live ]; then
        step "live: the runbook's decisions"
        local acts
        acts=$(jq -r 'select(.event == "action") | "\(.action)/\(.target)/\(.reason // "")/dry_run=\(.dry_run)"' "$audit" 2>/dev/null | tr '\n' ' ')
        log "audit actions: $acts"
        [ "$(audit_count "$audit" '.event == "action" and .action == "reset_circuit_breakers" and .target == "node2" and .dry_run == false')" -gt 0 ] ||
            wait_for "audit: reset_circuit_breakers on node2 (the runbook's unconditional step)" 5 \
                audit_has "$audit" '.event == "action" and .action == "reset_circuit_breakers" and .target == "node2" and .dry_run == false'
        [ "$(mval "$N2" stemedb_admin_requests_total endpoint=circuit-breakers)" != 0 ] ||
            fail "node2 never saw GET /v1/admin/circuit-breakers/tripped"
        [ "$(audit_count "$audit" '.dry_run == true')" = 0 ] || fail "live run wrote dry_run decisions"
    fi

    step "$mode: clear the faults; lag drains; node2 back in read rotation"
    get -X DELETE "$N1/v1/sim/fault" >/dev/null || fail "DELETE /v1/sim/fault"
    t_clear=$(now)
    log "faults cleared at +$(diff_s "$t0" "$t_clear")s, node2 lag $(lag2)s"
    wait_for "node2 lag back under 100ms" 30 lag2_below 0.1
    log "node2 caught up (+$(diff_s "$t_clear" "$(now)")s after clearing)"
    node2_reads() {
        local i seen=""
        for i in 1 2 3 4; do seen="$seen $(read_node)"; done
        echo "reads:$seen"
        case "$seen" in *node2*) return 0 ;; esac
        return 1
    }
    wait_for "a read through HAProxy reaching node2 again" 10 node2_reads
    log "HAProxy: node2 serves reads again (+$(diff_s "$t_clear" "$(now)")s after clearing)"

    step "$mode: alert resolves in Prometheus, then replguard receives status=resolved"
    prom_crit_gone() {
        local a
        a=$(prom_lag_alerts) || return 1
        echo "prometheus: ${a:-none}"
        case "$a" in *ReplicationLagCritical/c1/node2/*) return 1 ;; esac
    }
    wait_for "ReplicationLagCritical resolved in Prometheus" 20 prom_crit_gone
    log "Prometheus: resolved (+$(diff_s "$t_clear" "$(now)")s after clearing)"
    rg_resolved() {
        local v
        v=$(received ReplicationLagCritical resolved)
        echo "replguard_alerts_received_total{alertname=ReplicationLagCritical,status=resolved} $v (was $base_crit_res)"
        gt "$v" "$base_crit_res"
    }
    wait_for "replguard receiving ReplicationLagCritical status=resolved" 20 rg_resolved
    log "replguard: received the resolution (+$(diff_s "$t_clear" "$(now)")s after clearing)"
    wait_for "no lag alert left in Prometheus" 20 no_lag_alerts
    rg_warn_resolved() {
        local v
        v=$(received ReplicationLagWarning resolved)
        echo "replguard_alerts_received_total{alertname=ReplicationLagWarning,status=resolved} $v (was $base_warn_res)"
        gt "$v" "$base_warn_res"
    }
    wait_for "replguard receiving ReplicationLagWarning status=resolved too" 20 rg_warn_resolved
    pager_got() {
        local v
        v=$(pager_notifications)
        echo "oncall sink: $v notifications"
        [ "$v" -gt 0 ]
    }
    wait_for "Alertmanager notifying the humans' receiver too (oncall)" 10 pager_got
    log "humans' receiver: $LAST"

    if [ "$mode" = live ]; then
        wait_for "audit: on_resolved restore_throttle" 10 \
            audit_has "$audit" '.event == "action" and .action == "restore_throttle" and .dry_run == false'
        step "live: throttle restored step by step (if one was set)"
        if [ "$(audit_count "$audit" '.event == "action" and .action == "throttle" and .dry_run == false')" -gt 0 ]; then
            local seen_limits="" v prev=""
            deadline=$(awk -v t="$(now)" 'BEGIN { printf "%.3f", t + 30 }')
            while :; do
                v=$(mval "$N1" stemedb_rate_limit_assertions_per_second)
                [ "$v" != "$prev" ] && seen_limits="$seen_limits $v" && prev=$v
                case "$seen_limits" in *" 200 "*" 400 0"*) [ "$v" = 0 ] && break ;; esac
                gt "$(now)" "$deadline" && fail "throttle restore: node1's rate limit went through:$seen_limits (want ... 200 400 0)"
                sleep 0.1
            done
            log "throttle restored: node1 rate limit went$seen_limits"
        else
            log "no throttle set: the runbook throttles only when lagging_replicas >= 2; only node2 lagged"
            [ "$(mval "$N1" stemedb_rate_limit_assertions_per_second)" = 0 ] ||
                fail "node1 has a rate limit though no throttle was audited"
        fi
        [ "$(audit_count "$audit" '.event == "action" and .action == "escalate"')" = 0 ] ||
            fail "the live run escalated"
    else
        step "dry: decisions recorded as dry_run, no remediation call reached a node"
        local now_counts
        now_counts=$(admin_counts)
        [ "$now_counts" = "$base_counts" ] ||
            fail "remediation calls changed in dry run: before ${base_counts% }, after ${now_counts% }"
        [ "$(audit_count "$audit" '.dry_run == false and .event == "action"')" = 0 ] ||
            fail "dry run audited actions with dry_run false"
        log "audit (dry run): $(jq -r 'select(.event == "action") | "\(.action)/\(.target)/dry_run=\(.dry_run)"' "$audit" | sort | uniq -c | tr -s ' \n' '  ')"
        log "no remediation call reached a node (counts unchanged: ${now_counts% })"
    fi
}

run_loop live "$T/audit.jsonl"

# --- 8b. throttle and its step-by-step restore (cluster t1) ----------------
run_throttle() {
    local audit=$1 t0 base_rl t_thr seq="" v prev="" deadline
    step "throttle: t1's node2 and node3 lag, node4 stays healthy"
    wait_for "no lag alert in Prometheus" 30 no_lag_alerts
    base_rl=$(mval "$T1_node1" stemedb_admin_requests_total endpoint=rate-limit)
    t0=$(now)
    get -X POST -d '{"node": "node1", "kind": "ingest_burst", "rate": 3000, "duration": "60s"}' \
        "$T1_node1/v1/sim/fault" >/dev/null || fail "POST ingest_burst (t1)"
    get -X POST -d '{"node": "node2", "kind": "slow_apply", "factor": 0.1, "duration": "60s"}' \
        "$T1_node1/v1/sim/fault" >/dev/null || fail "POST slow_apply node2 (t1)"
    get -X POST -d '{"node": "node3", "kind": "slow_apply", "factor": 0.2, "duration": "60s"}' \
        "$T1_node1/v1/sim/fault" >/dev/null || fail "POST slow_apply node3 (t1)"
    t1_throttled() {
        local c l
        c=$(mval "$T1_node1" stemedb_admin_requests_total endpoint=rate-limit)
        l=$(mval "$T1_node1" stemedb_rate_limit_assertions_per_second)
        echo "t1 node1: rate-limit calls $c (was $base_rl), limit $l; audit: $(audit_count "$audit" '.cluster == "t1" and .event == "action"') t1 actions"
        gt "$c" "$base_rl" && gt "$l" 0
    }
    wait_for "the runbook throttling t1's primary (rate-limit call, limit set)" 40 t1_throttled
    t_thr=$(now)
    log "t1: primary throttled to $(mval "$T1_node1" stemedb_rate_limit_assertions_per_second)/s (+$(diff_s "$t0" "$t_thr")s after injection); audit: $(jq -r 'select(.cluster == "t1" and .event == "action") | "\(.action)/\(.target)"' "$audit" | tr '\n' ' ')"
    [ "$(audit_count "$audit" '.cluster == "t1" and .event == "action" and .action == "throttle" and .dry_run == false')" -gt 0 ] ||
        fail "t1's primary got a rate limit but the audit log has no throttle action"

    step "throttle: faults cleared; alerts resolve; the limit climbs the restore_steps above it (1500, 3000), then goes"
    get -X DELETE "$T1_node1/v1/sim/fault" >/dev/null || fail "DELETE /v1/sim/fault (t1)"
    # the ramp starts at the first restore step above the throttled limit
    # (which follows the measured ingest rate: 1027 here, 1502 there)
    local thr want=""
    thr=$(mval "$T1_node1" stemedb_rate_limit_assertions_per_second)
    for v in 1500 3000; do gt "$v" "$thr" && want="$want $v"; done
    want="$want 0"
    deadline=$(awk -v t="$(now)" 'BEGIN { printf "%.3f", t + 45 }')
    while :; do
        v=$(mval "$T1_node1" stemedb_rate_limit_assertions_per_second)
        if [ "$v" != "$prev" ]; then
            seq="$seq $v"
            prev=$v
            log "t1 node1 rate limit: $v"
        fi
        case "$seq " in *"$want ") break ;; esac
        gt "$(now)" "$deadline" &&
            fail "t1 node1's rate limit went:$seq (want it to end$want within 45 s of clearing)"
        sleep 0.1
    done
    log "throttle restored step by step:$seq (+$(diff_s "$t_thr" "$(now)")s after throttling)"
    [ "$(audit_count "$audit" '.event == "action" and .action == "escalate"')" = 0 ] ||
        fail "the throttle run escalated"
    throttle_inactive() {
        local v
        v=$(mval "$RG" replguard_throttle_active cluster=t1)
        echo "replguard_throttle_active{cluster=t1} $v"
        [ "$v" = 0 ]
    }
    wait_for "replguard_throttle_active{cluster=t1} 0 after the restore" 5 throttle_inactive
}
run_throttle "$T/audit.jsonl"

# --- 8c. a page AND a throttle: c1's two replicas lag (none healthy) -------
# shellcheck source=tests/e2e-escalation.sh
. "$top_srcdir/tests/e2e-escalation.sh"
run_escalation "$T/audit.jsonl"

# --- 9. the same loop in dry-run mode -------------------------------------------
step "restart replguard with dry_run: true, fresh state dir, same port"
stop_pg "$RG_PID"
[ "$STOP_RC" = 0 ] || fail "replguard exited $STOP_RC on SIGTERM (SPEC: 0 within 10 s)"
mkdir -p "$T/state-dry"
write_rg_config "$T/replguard-dry.yml" "127.0.0.1:$RG_PORT" true "$T/state-dry" "$T/audit-dry.jsonl"
OLD_RG_PORT=$RG_PORT
start_replguard "$T/replguard-dry.yml" "$T/replguard-dry.log"
[ "$RG_PORT" = "$OLD_RG_PORT" ] || fail "dry-run replguard on port $RG_PORT, not $OLD_RG_PORT"
[ "$(mval "$RG" replguard_dry_run)" = 1 ] || fail "replguard_dry_run is not 1"
run_loop dry "$T/audit-dry.jsonl"

# --- 10. the Grafana dashboard's queries --------------------------------------
step "grafana: every panel query against this Prometheus"
if [ -f "$DASH_SRC" ]; then
    # Template variables -> concrete values; Grafana's interval macros ->
    # durations that hold samples at a 1 s scrape interval.
    jq '[.. | objects | select(has("expr")) | .expr | select(type == "string" and . != "")] | unique' \
        "$DASH_SRC" >"$T/dash-queries.json" || fail "cannot read $DASH_SRC"
    nq=$(jq length "$T/dash-queries.json")
    [ "$nq" -gt 0 ] || fail "no panel query in $DASH_SRC"
    # Panels about what did not happen in this run (no escalation, no
    # scrape failure, no Merkle error) may be empty; the others must not.
    EMPTY_OK=${E2E_EMPTY_OK:-'escalations_total|scrape_failures_total|compare_errors_total|merkle_sync_errors_total'}
    nempty=0
    for i in $(seq 0 $((nq - 1))); do
        q=$(jq -r ".[$i]" "$T/dash-queries.json")
        qq=$(printf '%s' "$q" | sed -E \
            -e 's/\$__rate_interval|\$\{__rate_interval\}/30s/g' \
            -e 's/\$__interval|\$\{__interval\}/5s/g' \
            -e 's/\$__range|\$\{__range\}/5m/g' \
            -e 's/\$\{?cluster(:[a-z]+)?\}?/c1/g' \
            -e 's/\$\{?(replica|node)(:[a-z]+)?\}?/node2/g' \
            -e 's/\$\{?[A-Za-z_][A-Za-z0-9_]*(:[a-z]+)?\}?/.*/g')
        # Series that the restarted (dry-run) replguard exports only after
        # its first Merkle compare of a replica that caught up may take a
        # merkle_interval (5 s) and a scrape to appear: retry for 15 s.
        for try in $(seq 1 15); do
            res=$(curl -s -m 5 --data-urlencode "query=$qq" "$PROM/api/v1/query")
            st=$(printf '%s' "$res" | jq -r '.status' 2>/dev/null)
            [ "$st" = success ] || fail "panel query failed: $qq: $res"
            cnt=$(printf '%s' "$res" | jq -r '.data.result | if type == "array" then length else 1 end')
            [ "$cnt" != 0 ] && break
            printf '%s' "$q" | grep -Eq "$EMPTY_OK" && break
            sleep 1
        done
        if [ "$cnt" = 0 ]; then
            nempty=$((nempty + 1))
            printf '%s' "$q" | grep -Eq "$EMPTY_OK" ||
                fail "panel query returned no data though what it shows happened in this run: $(printf '%s' "$qq" | tr -s ' \n' '  ')"
            log "  empty (did not happen in this run): $(printf '%s' "$qq" | tr -s ' \n' '  ')"
        fi
    done
    log "grafana: $nq queries, all answered, $nempty empty (things that did not happen in this run)"
else
    log "grafana: contrib/grafana/replguard-dashboard.json absent, skipped"
fi

step "shutdown: replguard and the simulators exit cleanly, no sanitizer report"
stop_pg "$RG_PID"
[ "$STOP_RC" = 0 ] || fail "dry-run replguard exited $STOP_RC on SIGTERM"
stop_pg "$PID_simnode_t1"
stop_pg "$PID_simnode"
for f in "$T/replguard.log" "$T/replguard-dry.log" "$T/simnode.out" "$T/simnode-t1.out"; do
    if grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f"; then
        fail "sanitizer report in $f: $(grep -E -m 3 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f")"
    fi
done

step "done"
echo "e2e: PASS in $(since "$T_START")s; lag injection to first remediation admin call: ${INJECT_TO_ADMIN}s"
