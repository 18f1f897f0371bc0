# bench/ha.sh: section "ha" of bench/run (sourced by it, using its
# helpers): HA_CLUSTERS x HA_NODES simulated nodes (default 250 x 40 =
# 10,000) polled at 1 s by one replguard, then by four sharing them
# through a one-member etcd (ha: with poll: owned): each instance's CPU
# seconds and peak RSS against the one doing all of it. HA_SECS (30)
# sets the measuring window; HA_SIMS (4) simnode processes serve the
# nodes.

# cpu_of PID...: the CPU seconds (utime + stime) of each PID, one a line.
cpu_of() {
    for p in "$@"; do cpu_ticks "$p"; done
}

# start_etcd DIR: a one-member etcd on free ports; sets ETCDPID, ETCDURL.
start_etcd() {
    mkdir -p "$1"
    cport=$(free_port)
    pport=$(free_port)
    ETCDURL=http://127.0.0.1:$cport
    etcd --name b --data-dir "$1/data" --listen-client-urls "$ETCDURL" \
        --advertise-client-urls "$ETCDURL" \
        --listen-peer-urls "http://127.0.0.1:$pport" \
        --initial-advertise-peer-urls "http://127.0.0.1:$pport" \
        --initial-cluster "b=http://127.0.0.1:$pport" >"$1/log" 2>&1 &
    ETCDPID=$!
    PIDS="$PIDS $ETCDPID"
    wait_for 30 curl -sf "$ETCDURL/health" || die "etcd did not start"
}

# ha_config BASE MEMBER OUT: BASE with an ha: section for MEMBER.
ha_config() {
    {
        cat "$1"
        printf 'ha:\n  etcd: ["%s"]\n  prefix: /bench\n  member: %s\n' \
            "$ETCDURL" "$2"
        printf '  ttl: 10s\n  poll: owned\n'
    } >"$3"
    sed -i "s#^state_dir: .*#state_dir: $T/ha/$2#" "$3"
    mkdir -p "$T/ha/$2"
}

# ha_owned_total URL...: the clusters the instances own, summed.
ha_owned_total() {
    s=0
    for u in "$@"; do
        s=$(calc "$s + $(metric "$u" replguard_ha_owned_clusters)")
    done
    echo "$s"
}

# ha_all_owned URL...: whether the instances own every cluster.
ha_all_owned() {
    test "$(ha_owned_total "$@")" = "$HA_CLUSTERS"
}

# start_sims: the HA_CLUSTERS clusters over HA_SIMS simnode processes
# (a node costs a simnode three descriptors and the hard limit of open
# files may be 20,000: one process cannot serve 10,000 nodes); their
# node lines, the clusters renamed sI-cK to stay unique, go to
# $T/ha/nodes; sets SIMPIDS.
start_sims() {
    SIMPIDS=""
    : >"$T/ha/nodes"
    left=$HA_CLUSTERS
    s=1
    while [ "$s" -le "$HA_SIMS" ]; do
        n=$((left / (HA_SIMS - s + 1)))
        left=$((left - n))
        out=$T/ha/sim$s
        # 4,096 keys a cluster: the default 65,536 cost a simnode about
        # 43 MB a cluster (10 GB for 250), and the polls never read them
        "$B/replguard-simnode" --port 0 --clusters "$n" --nodes "$HA_NODES" \
            --ingest-rate 100 --keys 4096 --merkle-depth 3 \
            >"$out" 2>"$out.err" &
        SIMPID=$!
        PIDS="$PIDS $SIMPID"
        SIMPIDS="$SIMPIDS $SIMPID"
        # thousands of daemons start slowly on a busy machine
        wait_for 180 grep -qx ready "$out" ||
            die "simnode $s did not start: $(tail -n 3 "$out.err")"
        awk -v s="$s" '$1 == "node" { $2 = "s" s "-" $2 } { print }' \
            "$T/ha/sim$s" >>"$T/ha/nodes"
        s=$((s + 1))
    done
}

bench_ha() {
    HA_CLUSTERS=${HA_CLUSTERS:-250}
    HA_NODES=${HA_NODES:-40}
    HA_SECS=${HA_SECS:-30}
    HA_SIMS=${HA_SIMS:-4}
    total=$((HA_CLUSTERS * HA_NODES))
    echo
    echo "== 8. sharing ${total} nodes (${HA_CLUSTERS} clusters x ${HA_NODES}) polled"
    echo "   at 1 s: one replguard, then four with ha: (poll: owned) and a"
    echo "   one-member etcd 3.4, for ${HA_SECS} s each after a 10 s warm-up"
    echo "   (CPU: utime + stime from /proc/PID/stat; peak RSS: VmHWM)"
    command -v etcd >/dev/null 2>&1 || {
        echo "   skipped: etcd is not installed (Debian etcd-server)"
        return 0
    }
    ulimit -n 65536 2>/dev/null || true # a socket per node, twice
    mkdir -p "$T/ha"
    start_sims
    make_config "$T/ha/nodes" 1s 800ms "$T/ha/base.yml"
    start_replguard "$T/ha/base.yml" "$T/ha/one.log"
    sleep 10
    r0=$(metric "$RGURL" replguard_poll_rounds_total)
    window "$RGPID" "$HA_SECS"
    ONE_CPU=$CPU
    ONE_HWM=$(status_kib "$RGPID" VmHWM)
    rounds=$(calc "$(metric "$RGURL" replguard_poll_rounds_total) - $r0")
    last=$(metric "$RGURL" replguard_poll_round_duration_seconds)
    stop "$RGPID"
    printf '   one instance:  cpu=%ss peak_rss=%s KiB rounds=%s in %s s (one a second keeps up) last_round=%ss\n' \
        "$ONE_CPU" "$ONE_HWM" "$rounds" "$HA_SECS" "$last"

    start_etcd "$T/ha/etcd"
    pids=""
    urls=""
    for m in m1 m2 m3 m4; do
        ha_config "$T/ha/base.yml" "$m" "$T/ha/$m.yml"
        start_replguard "$T/ha/$m.yml" "$T/ha/$m.log"
        pids="$pids $RGPID"
        urls="$urls $RGURL"
    done
    # shellcheck disable=SC2086 # one word per URL
    # a starved machine (engine stalls past the lease) may not get there:
    # measured all the same, and said
    # (by the clock: each check reads four /metrics, slow when starved)
    end=$(($(date +%s) + 60))
    until ha_all_owned $urls || [ "$(date +%s)" -ge "$end" ]; do
        sleep 1
    done
    ha_all_owned $urls ||
        echo "   NOTE: after 60 s the four own $(ha_owned_total $urls) of the ${HA_CLUSTERS} clusters"
    sleep 10
    # shellcheck disable=SC2086 # one word per PID
    before=$(cpu_of $pids)
    rbefore=""
    for u in $urls; do
        rbefore="$rbefore $(metric "$u" replguard_poll_rounds_total)"
    done
    sleep "$HA_SECS"
    # shellcheck disable=SC2086
    after=$(cpu_of $pids)
    max_cpu=0
    max_hwm=0
    i=1
    for p in $pids; do
        a=$(echo "$before" | sed -n "${i}p")
        b=$(echo "$after" | sed -n "${i}p")
        c=$(calc "($b - $a) / $HZ")
        h=$(status_kib "$p" VmHWM)
        u=$(echo "$urls" | awk -v i="$i" '{ print $i }')
        r0=$(echo "$rbefore" | awk -v i="$i" '{ print $i }')
        rounds=$(calc "$(metric "$u" replguard_poll_rounds_total) - $r0")
        printf '   instance m%s:   cpu=%ss peak_rss=%s KiB owns=%s clusters rounds=%s last_round=%ss\n' \
            "$i" "$c" "$h" "$(metric "$u" replguard_ha_owned_clusters)" \
            "$rounds" "$(metric "$u" replguard_poll_round_duration_seconds)"
        max_cpu=$(awk -v a="$max_cpu" -v b="$c" 'BEGIN { print (b > a ? b : a) }')
        max_hwm=$(awk -v a="$max_hwm" -v b="$h" 'BEGIN { print (b > a ? b : a) }')
        i=$((i + 1))
    done
    for p in $pids; do stop "$p"; done
    stop "$ETCDPID"
    for p in $SIMPIDS; do stop "$p"; done
    r=$(ratio "$max_cpu" "$ONE_CPU")
    row "${total} nodes over 4 instances (ha:): the busiest one's CPU s over ${HA_SECS} s" \
        "$max_cpu" "one instance $ONE_CPU" "$r" "<= 0.35" "$(meets "$r" "<=" 0.35)"
    r=$(ratio "$max_hwm" "$ONE_HWM")
    row "${total} nodes over 4 instances (ha:): the largest peak RSS (MiB)" \
        "$(mib "$max_hwm")" "one instance $(mib "$ONE_HWM")" "$r" "<= 0.5" \
        "$(meets "$r" "<=" 0.5)"
}
