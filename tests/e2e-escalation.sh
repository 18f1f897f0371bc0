# tests/e2e-escalation.sh: step 8c of tests/e2e.sh, sourced by it (its
# helpers, $T, $RG, $AMURL, $N1 and the rest are e2e.sh's): both
# replicas of c1 (three nodes) lag, so the shipped lag runbook's
# escalate_when holds. replguard must page AND throttle c1's primary
# (throttle is reversible): the ReplguardEscalation alert appears in this
# Alertmanager (the escalation: section, applied by a SIGHUP), the
# shipped alertmanager.yml routes it to the humans and never back to
# replguard's webhook, and POST /api/v1/ack/c1 resolves it.
am_escalation() { # c1's ReplguardEscalation alerts Alertmanager holds, active
    get "$AMURL/api/v2/alerts?active=true" | jq -r \
        '[.[] | select(.labels.alertname == "ReplguardEscalation" and .labels.cluster == "c1" and .status.state == "active") | "\(.labels.replica)/\(.labels.runbook)/\(.labels.reason)/\(.labels.severity)"] | join(" ")'
}
run_escalation() {
    local audit=$1 base_rl base_thr base_pager a n
    step "escalation: both of c1's replicas lag: page (Alertmanager) and throttle"
    write_rg_config "$T/replguard.yml" "127.0.0.1:0" false "$T/state" "$T/audit.jsonl"
    printf 'escalation:\n  alertmanager_url: %s\n  labels: {severity: page}\n  repost_interval: 2s\n' \
        "$AMURL" >>"$T/replguard.yml"
    "$top_builddir/replguard" -c "$T/replguard.yml" --check-config >"$T/check-config.out" 2>&1 ||
        fail "replguard --check-config (escalation): $(cat "$T/check-config.out")"
    kill -HUP "$RG_PID"
    sleep 1
    ! grep -q "reload refused" "$T/replguard.log" ||
        fail "replguard refused the reload: $(grep -A3 "reload refused" "$T/replguard.log")"
    wait_for "no lag alert in Prometheus" 30 no_lag_alerts
    base_rl=$(mval "$N1" stemedb_admin_requests_total endpoint=rate-limit)
    base_thr=$(audit_count "$audit" '.cluster == "c1" and .event == "action" and .action == "throttle"')
    base_pager=$(pager_notifications)
    get -X POST -d '{"node": "node1", "kind": "ingest_burst", "rate": 3000, "duration": "60s"}' \
        "$N1/v1/sim/fault" >/dev/null || fail "POST ingest_burst (c1)"
    for n in node2 node3; do
        get -X POST -d "{\"node\": \"$n\", \"kind\": \"slow_apply\", \"factor\": 0.1, \"duration\": \"60s\"}" \
            "$N1/v1/sim/fault" >/dev/null || fail "POST slow_apply $n (c1)"
    done
    paged() { a=$(am_escalation) || return 1; echo "Alertmanager: ${a:-no ReplguardEscalation}"; [ -n "$a" ]; }
    wait_for "ReplguardEscalation of c1 active in Alertmanager" 60 paged
    log "paged: $LAST"
    case $LAST in *"/high-replication-lag/escalate_when/page"*) ;; *) fail "unexpected escalation labels: $LAST" ;; esac
    c1_throttled() {
        local c
        c=$(mval "$N1" stemedb_admin_requests_total endpoint=rate-limit)
        echo "c1 node1: rate-limit calls $c (was $base_rl), limit $(mval "$N1" stemedb_rate_limit_assertions_per_second)"
        gt "$c" "$base_rl"
    }
    wait_for "c1's primary throttled under the escalation" 20 c1_throttled
    gt "$(audit_count "$audit" '.cluster == "c1" and .event == "action" and .action == "throttle"')" "$base_thr" ||
        fail "c1's primary got a rate limit but no throttle action was audited"
    # the risky steps wait for the ack: held as escalated (the alert that
    # escalated) or blocked (the other replica's, under the latch); node2
    # may be in its cooldown from the live run, then node3 throttles
    audit_has "$audit" '.cluster == "c1" and .event == "skipped" and .action == "reset_circuit_breakers" and (.reason == "escalated" or .reason == "blocked")' >/dev/null ||
        fail "no risky step of c1 was held by the escalation: $(jq -c 'select(.cluster == "c1")' "$audit" | tail -n 8)"
    pager_more() { local v; v=$(pager_notifications); echo "oncall sink: $v (was $base_pager)"; gt "$v" "$base_pager"; }
    wait_for "the humans' receiver notified" 15 pager_more
    [ "$(received ReplguardEscalation firing)" = 0 ] ||
        fail "Alertmanager sent ReplguardEscalation back to replguard's webhook"
    log "routed to the humans only (replguard received no ReplguardEscalation)"

    step "escalation: faults cleared, POST /api/v1/ack/c1 resolves the page"
    get -X DELETE "$N1/v1/sim/fault" >/dev/null || fail "DELETE /v1/sim/fault (c1)"
    get -X POST "$RG/api/v1/ack/c1" >/dev/null || fail "POST /api/v1/ack/c1"
    unpaged() { a=$(am_escalation) || return 1; echo "Alertmanager: ${a:-none}"; [ -z "$a" ]; }
    wait_for "ReplguardEscalation resolved in Alertmanager" 15 unpaged
    audit_has "$audit" '.event == "escalation_resolved" and .cluster == "c1"' >/dev/null ||
        fail "no escalation_resolved audit line"
    wait_for "no lag alert left in Prometheus" 60 no_lag_alerts
    c1_unthrottled() { local v; v=$(mval "$N1" stemedb_rate_limit_assertions_per_second); echo "c1 node1 limit $v"; [ "$v" = 0 ]; }
    wait_for "c1's throttle restored and removed" 40 c1_unthrottled
}
