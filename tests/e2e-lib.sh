# tests/e2e-lib.sh: what the end-to-end scripts share (sourced by
# tests/e2e.sh and tests/failover-e2e.sh): timing and step logging, the
# temp dir and the process groups killed on exit, failing with
# diagnostics, waiting, metrics, free ports and spawning daemons.
#
# The sourcing script sets E2E_NAME (its name in messages) before, and
# defines diagnostics() (what to print on failure) and, if it has more
# to undo on exit, cleanup_hook(). Bash only (EPOCHREALTIME, local).

: "${E2E_NAME:?set E2E_NAME before sourcing e2e-lib.sh}"

# --- timing, logging, failing ---------------------------------------------
now() { printf '%s\n' "${EPOCHREALTIME/,/.}"; }
T_START=$(now)
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
diff_s() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
gt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'; }
log() { printf '[%6ss] %s\n' "$(since "$T_START")" "$*"; }
STEP="setup"
step() {
    STEP=$*
    log "== $STEP"
}

T=$(mktemp -d "${TMPDIR:-/tmp}/replguard-$E2E_NAME.XXXXXX") || exit 1
PGIDS=""
FAILED=0

# cleanup: on exit, cleanup_hook (if defined), then every process group
# spawned (SIGTERM, SIGKILL after 5 s), then the temp dir unless the
# test failed or E2E_KEEP is set.
cleanup() {
    local p left i
    if declare -F cleanup_hook >/dev/null; then cleanup_hook; fi
    # a group the test stopped (SIGSTOP) takes SIGTERM only once continued
    for p in $PGIDS; do kill -CONT -- "-$p" 2>/dev/null; done
    for p in $PGIDS; do kill -TERM -- "-$p" 2>/dev/null; done
    for i in $(seq 1 50); do
        left=""
        for p in $PGIDS; do kill -0 -- "-$p" 2>/dev/null && left="$left $p"; done
        [ -z "$left" ] && break
        sleep 0.1
    done
    for p in $left; do kill -KILL -- "-$p" 2>/dev/null; done
    wait 2>/dev/null
    if [ "$FAILED" = 0 ] && [ -z "${E2E_KEEP:-}" ]; then
        rm -rf "$T"
    else
        echo "$E2E_NAME: temp dir kept: $T" >&2
    fi
}
trap cleanup EXIT
trap 'echo "$E2E_NAME: interrupted at step: $STEP" >&2; exit 130' INT TERM HUP

tail_log() { # NAME FILE: the last lines of a daemon's log
    [ -s "$2" ] || return 0
    echo "---- $1 ($2), last 25 lines"
    tail -n 25 "$2"
}

# fail MESSAGE: fails the test: the step, the message, diagnostics.
fail() {
    FAILED=1
    {
        echo
        echo "$E2E_NAME: FAIL at step: $STEP"
        echo "$E2E_NAME: $*"
        diagnostics
        echo "$E2E_NAME: FAIL at step: $STEP ($(since "$T_START")s)"
    } >&2
    exit 1
}

# wait_for DESC SECONDS CMD...: runs CMD every E2E_WAIT_STEP seconds
# (0.2) until it succeeds; fails the test after SECONDS with CMD's last
# output (in LAST).
wait_for() {
    local desc=$1 secs=$2 deadline
    shift 2
    deadline=$(awk -v t="$(now)" -v s="$secs" 'BEGIN { printf "%.3f", t + s }')
    while :; do
        if LAST=$("$@" 2>&1); then return 0; fi
        if gt "$(now)" "$deadline"; then
            fail "timed out after ${secs}s waiting for: $desc; last seen: $LAST"
        fi
        sleep "${E2E_WAIT_STEP:-0.2}"
    done
}

# --- HTTP and metrics helpers ----------------------------------------------
get() { curl -s -f -m 10 "$@"; }

# mval URL NAME [LABEL=VALUE...]: the sum of the samples of NAME carrying
# every label given (0 when none does).
mval() {
    local url=$1 name=$2
    shift 2
    curl -s -m 2 "$url/metrics" | awk -v name="$name" -v want="$*" '
        BEGIN { n = split(want, w, " ") }
        $1 == name || index($1, name "{") == 1 {
            ok = 1
            for (i = 1; i <= n; i++) {
                split(w[i], kv, "=")
                if (index($1, kv[1] "=\"" kv[2] "\"") == 0) ok = 0
            }
            if (ok) s += $2
        }
        END { printf "%.17g\n", s + 0 }'
}

# --- free ports --------------------------------------------------------------
# pick_port: sets PORT to a port nobody on this host uses and that this
# test has not handed out yet. Below the kernel's ephemeral range, so no
# outgoing connection takes it meanwhile; a daemon that still loses the
# race fails to bind, and its starter retries with another port.
TAKEN_PORTS=" "
pick_port() {
    local p
    while :; do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
        case "$TAKEN_PORTS" in *" $p "*) continue ;; esac
        if command -v ss >/dev/null 2>&1; then
            [ -n "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ] && continue
        elif (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            continue
        fi
        TAKEN_PORTS="$TAKEN_PORTS$p "
        PORT=$p
        return 0
    done
}

# --- processes ---------------------------------------------------------------
# spawn NAME LOG CMD...: starts CMD in a process group of its own
# (setsid: the job is not a group leader, so setsid execs in place and
# $! is the group's id), logging to LOG; sets SPAWNED and PID_NAME to
# its pid.
spawn() {
    local name=$1 logf=$2
    shift 2
    setsid "$@" >"$logf" 2>&1 </dev/null &
    SPAWNED=$!
    PGIDS="$PGIDS $SPAWNED"
    eval "PID_$name=$SPAWNED"
}

# stop_pg PID: stops the process group PID (SIGTERM, then SIGKILL after
# 10 s) and waits for it; sets STOP_RC to the leader's exit status.
stop_pg() {
    local p=$1 i
    kill -CONT -- "-$p" 2>/dev/null
    kill -TERM -- "-$p" 2>/dev/null
    for i in $(seq 1 100); do
        kill -0 -- "-$p" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL -- "-$p" 2>/dev/null
    wait "$p" 2>/dev/null
    STOP_RC=$?
    PGIDS=$(echo "$PGIDS" | tr ' ' '\n' | grep -vx "$p" | tr '\n' ' ')
}
