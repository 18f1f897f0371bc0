# bench/scale.sh: section "scale" of bench/run (sourced; uses its
# helpers). Issue 20: replguard alone polling 10,000 nodes at 1 s, as
# 250 clusters of 40 and as 2,500 clusters of 4, beside the same
# replguard polling 1,000 nodes (250 x 4) in the same run: round
# duration, scrape timeouts, CPU and RSS per node, bytes of /metrics.
#
# One replguard-simnode process serving 10,000 nodes is itself the
# bottleneck (the issue's run used two and still saw it), so the nodes
# are spread over SCALE_PROCS processes (default 5), each a slice of
# the clusters; replguard's config prefixes each process's cluster
# names (p1c1, p2c1, ...). Small Merkle trees (4,096 keys, depth 3):
# the defaults' 65,536-key trees cost the simulators ~1 MiB a node.

# scale_start PROCS CLUSTERS NODES NAME: starts PROCS simnodes of
# CLUSTERS x NODES each and writes $T/scale/NAME.yml for all of them;
# sets SCALE_SIMPIDS. (si, not i: wait_for uses i.) The nodes listen on
# consecutive ports from SCALE_PORT (default 10000; the 10,000 ports
# below 20,000, where free_port never looks): with port 0 the kernel
# takes them from the ephemeral range, which replguard's 10,000
# connections and the TIME_WAITs of the previous run also need, and a
# fifth simulator found it full ("Address already in use").
scale_start() {
    SCALE_SIMPIDS=""
    si=1
    while [ "$si" -le "$1" ]; do
        start_simnode "$T/scale/$4.nodes$si" --clusters "$2" --nodes "$3" \
            --port $((SCALE_PORT + (si - 1) * $2 * $3)) \
            --ingest-rate 100 --keys 4096 --merkle-depth 3
        SCALE_SIMPIDS="$SCALE_SIMPIDS $SIMPID"
        si=$((si + 1))
    done
    {
        echo "listen: \"127.0.0.1:0\""
        echo "state_dir: $T/scale"
        echo "poll: {interval: 1s, timeout: 800ms}"
        echo "clusters:"
        si=1
        while [ "$si" -le "$1" ]; do
            awk -v p="p$si" '$1 == "node" {
                if ($2 != cur) { cur = $2; print "  - name: " p $2; print "    nodes:" }
                print "      - {name: " $3 ", url: \"" $5 "\", role: " $4 "}"
            }' "$T/scale/$4.nodes$si"
            si=$((si + 1))
        done
    } >"$T/scale/$4.yml"
}

# scale_gauge URL NAME: one sample's value off /metrics (unlabelled).
scale_gauge() {
    curl -s -m 30 "$1/metrics" | awk -v n="$2" '$1 == n { print $2; exit }'
}

# scale_run NAME PROCS CLUSTERS NODES: one measured run; sets S_CPU (s),
# S_HWM (KiB), S_ROUNDS, S_FAILS, S_MAXROUND (s, the largest
# replguard_poll_round_duration_seconds seen at 5 samples), S_BYTES.
scale_run() {
    nodes=$(($2 * $3 * $4))
    scale_start "$2" "$3" "$4" "$1"
    start_replguard "$T/scale/$1.yml" "$T/scale/$1.log"
    sleep 10
    r0=$(metric "$RGURL" replguard_poll_rounds_total)
    f0=$(metric "$RGURL" replguard_scrape_failures_total)
    a=$(cpu_ticks "$RGPID")
    s0=0
    for p in $SCALE_SIMPIDS; do s0=$((s0 + $(cpu_ticks "$p"))); done
    S_MAXROUND=0
    k=0
    while [ "$k" -lt 5 ]; do
        sleep "$((SCALE_SECS / 5))"
        d=$(scale_gauge "$RGURL" replguard_poll_round_duration_seconds)
        S_MAXROUND=$(awk -v a="$S_MAXROUND" -v b="${d:-0}" 'BEGIN { print (b > a ? b : a) }')
        k=$((k + 1))
    done
    S_CPU=$(calc "($(cpu_ticks "$RGPID") - $a) / $HZ")
    s1=0
    for p in $SCALE_SIMPIDS; do s1=$((s1 + $(cpu_ticks "$p"))); done
    S_SIMCPU=$(calc "($s1 - $s0) / $HZ")
    S_HWM=$(status_kib "$RGPID" VmHWM)
    S_ROUNDS=$(calc "$(metric "$RGURL" replguard_poll_rounds_total) - $r0")
    S_FAILS=$(calc "$(metric "$RGURL" replguard_scrape_failures_total) - $f0")
    S_BYTES=$(curl -s -m 30 "$RGURL/metrics" | wc -c)
    printf '   %s: %s nodes (%s simnode x %s clusters x %s): cpu=%ss (%s%% of a core)\n' \
        "$1" "$nodes" "$2" "$3" "$4" "$S_CPU" "$(calc "100 * $S_CPU / $SCALE_SECS")"
    printf '      rounds=%s in %s s, longest round seen=%ss, failed_scrapes=%s\n' \
        "$S_ROUNDS" "$SCALE_SECS" "$S_MAXROUND" "$S_FAILS"
    printf '      peak_rss=%s KiB, /metrics=%s bytes; simnodes meanwhile cpu=%ss\n' \
        "$S_HWM" "$S_BYTES" "$S_SIMCPU"
    printf '      per node: cpu=%s ms/s, peak_rss=%s KiB\n' \
        "$(calc "1000 * $S_CPU / $SCALE_SECS / $nodes")" "$(calc "$S_HWM / $nodes")"
    printf '      (load average now: %s)\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
    stop "$RGPID"
    for p in $SCALE_SIMPIDS; do stop "$p"; done
}

# scale_rows NAME NODES: the summary rows of the last scale_run against
# the 1,000-node run's figures (B_CPU, B_ROUNDS, B_HWM).
scale_rows() {
    row "$1: rounds in ${SCALE_SECS} s at 1 s, longest round (s)" \
        "$S_ROUNDS, $S_MAXROUND" "interval 1 s" "$(ratio "$S_MAXROUND" 1)" "<= 1" \
        "$(meets "$S_MAXROUND" "<=" 1)"
    # failures are counted, and CPU is compared, per finished round: with
    # no round finished both say nothing
    if [ "$(calc "$S_ROUNDS >= 1")" != 1 ]; then
        row "$1: failed scrapes, CPU per node and round" "no round finished" \
            "-" "-" "0, <= 1x" "**no**"
    else
        row "$1: failed scrapes in ${SCALE_SECS} s" "$S_FAILS" "-" "-" "0" \
            "$(meets "$S_FAILS" "<=" 0)"
        a=$(calc "1e6 * $S_CPU / $S_ROUNDS / $2")
        b=$(calc "1e6 * $B_CPU / $B_ROUNDS / 1000")
        r=$(ratio "$a" "$b")
        row "$1: CPU per node and round (us), ratio to 1,000 nodes" "$a" "$b" \
            "$r" "<= 1" "$(meets "$r" "<=" 1)"
    fi
    r=$(ratio "$S_HWM" "$B_HWM")
    row "$1: peak RSS (MiB), ratio to 1,000 nodes" "$(mib "$S_HWM")" \
        "$(mib "$B_HWM")" "$r" "<= 10" "$(meets "$r" "<=" 10)"
}

bench_scale() {
    SCALE_SECS=${SCALE_SECS:-30}
    SCALE_PROCS=${SCALE_PROCS:-5}
    SCALE_PORT=${SCALE_PORT:-10000}
    echo
    echo "== 9. scale: replguard polling 10,000 nodes at 1 s (250 x 40, then"
    echo "   2,500 x 4) over ${SCALE_PROCS} replguard-simnode processes, beside 1,000"
    echo "   nodes (250 x 4, one process) in the same run; ${SCALE_SECS} s each after a"
    echo "   10 s warm-up (CPU: utime + stime; peak RSS: VmHWM; round: the"
    echo "   replguard_poll_round_duration_seconds gauge read 5 times)"
    # shellcheck disable=SC3045 # dash and bash have ulimit -n
    ulimit -n 20000 2>/dev/null || true # a socket per node, on both sides
    # shellcheck disable=SC3045
    [ "$(ulimit -n)" -ge 12000 ] || {
        echo "   skipped: needs 12,000 open files"
        return 0
    }
    mkdir -p "$T/scale"
    scale_run base 1 250 4
    B_CPU=$S_CPU
    B_ROUNDS=$S_ROUNDS
    B_HWM=$S_HWM
    row "1,000 nodes (250 x 4): longest round (s), failed scrapes, peak RSS (MiB)" \
        "$S_MAXROUND, $S_FAILS, $(mib "$S_HWM")" "-" "-" "RSS <= 32" \
        "$(meets "$(mib "$S_HWM")" "<=" 32)"
    scale_run wide "$SCALE_PROCS" $((250 / SCALE_PROCS)) 40
    scale_rows "10,000 nodes (250 x 40)" 10000
    scale_run many "$SCALE_PROCS" $((2500 / SCALE_PROCS)) 4
    scale_rows "10,000 nodes (2,500 x 4)" 10000
}
