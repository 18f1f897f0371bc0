#!/bin/bash
# pgcluster.sh: a real PostgreSQL 15 cluster on loopback for tests, the
# e2e checks and the demo: a primary (node1) and standbys (node2, node3,
# ...) made by pg_basebackup -R, streaming from it under their node names
# as application_name (so pg_stat_replication names them as replguard's
# config does).
#
#   pgcluster.sh start [DIR [N_STANDBYS]]   make and start the cluster in
#         DIR (a new temp dir when empty); prints "dir DIR" and one line
#         "node NAME PORT ROLE" per server, then "ready" once every
#         standby streams. Exit 77 when PostgreSQL 15 is not installed.
#   pgcluster.sh sql DIR NAME SQL          runs SQL on NAME (psql -At:
#         one row a line, columns separated by |); exit status psql's
#   pgcluster.sh stop|kill|restart|startnode DIR NAME
#         stop: a fast shutdown; kill: SIGKILL to the postmaster (a crash;
#         its children exit as it is gone); startnode: start a stopped or
#         killed server again; restart: stop then start
#   pgcluster.sh signal DIR NAME SIG       sends SIG (STOP, CONT, ...) to
#         NAME's postmaster and all its processes
#   pgcluster.sh port DIR NAME             NAME's port
#   pgcluster.sh destroy DIR               stops every server, removes DIR
#
# Servers run as an unprivileged user when the caller is root
# ($PGCLUSTER_USER, default nobody): PostgreSQL refuses to run as root.
# Each listens on 127.0.0.1 only, on a free port picked at start, with
# its Unix socket in DIR. Authentication: trust on loopback for the
# superuser "postgres" and replication; the role "replguard"
# (contrib/postgres/replguard.sql) logs in with the password in
# DIR/replguard.password (mode 0600, owned by the caller), by
# scram-sha-256. Servers log to DIR/NAME.log.
set -u

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
RUNAS=${PGCLUSTER_USER:-nobody}
HERE=$(cd "$(dirname "$0")" && pwd)
SQLFILE=${PGCLUSTER_SQL:-$HERE/../../contrib/postgres/replguard.sql}

die() { echo "pgcluster: $*" >&2; exit 1; }

# as_owner: runs a command as the servers' user (directly when not root).
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u "$RUNAS" -- "$@"
    else
        "$@"
    fi
}

# free_port: a loopback port nothing listens on (the server's start
# fails if another takes it first; start_server then tries another).
free_port() {
    local p
    for _ in $(seq 1 50); do
        # below Linux's ephemeral range (32768-60999), where the
        # cluster's own client connections would take ports
        p=$((20000 + RANDOM % 12000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

port_of() { cat "$1/$2.port" 2>/dev/null || die "no node $2 in $1"; }

psql_at() { # DIR NAME SQL
    "$PGBIN/psql" -X -q -At -h 127.0.0.1 -p "$(port_of "$1" "$2")" \
        -U postgres -d postgres -v ON_ERROR_STOP=1 -c "$3"
}

pg_ctl_node() { # DIR NAME ARGS...
    local dir=$1 name=$2
    shift 2
    as_owner "$PGBIN/pg_ctl" -D "$dir/$name" -l "$dir/$name.log" -s "$@"
}

pg_ctl_node_setsid() { # DIR NAME ARGS...
    local dir=$1 name=$2
    shift 2
    as_owner setsid -w "$PGBIN/pg_ctl" -D "$dir/$name" -l "$dir/$name.log" \
        -s "$@"
}

# start_server: starts NAME on its port, or on a new one when that is
# taken (a race with another process picking ports).
start_server() { # DIR NAME
    local dir=$1 name=$2 port
    for _ in 1 2 3 4 5; do
        port=$(port_of "$dir" "$name")
        # its own session: the servers outlive whoever started them and
        # are out of their process group (a check test's is killed)
        if pg_ctl_node_setsid "$dir" "$name" -w -t 30 \
            -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start \
            2>>"$dir/$name.ctl.log"; then
            return 0
        fi
        grep -q "could not bind\|already in use" "$dir/$name.log" 2>/dev/null || {
            cat "$dir/$name.ctl.log" >&2
            return 1
        }
        free_port >"$dir/$name.port"
    done
    return 1
}

write_conf() { # DATADIR
    cat >>"$1/postgresql.conf" <<'EOF'
# pgcluster.sh
wal_level = replica
max_wal_senders = 10
hot_standby = on
hot_standby_feedback = off
wal_receiver_status_interval = 1s
wal_retrieve_retry_interval = 500ms
fsync = off
synchronous_commit = local
full_page_writes = on
shared_buffers = 16MB
max_connections = 40
log_min_messages = warning
log_line_prefix = '%m [%p] '
EOF
    cat >"$1/pg_hba.conf" <<'EOF'
local all all trust
host all replguard 127.0.0.1/32 scram-sha-256
host all all 127.0.0.1/32 trust
host replication all 127.0.0.1/32 trust
EOF
}

make_primary() { # DIR
    local dir=$1
    as_owner "$PGBIN/initdb" -D "$dir/node1" -U postgres -A trust \
        --no-sync >"$dir/initdb.log" 2>&1 || die "initdb failed: $dir/initdb.log"
    write_conf "$dir/node1"
    free_port >"$dir/node1.port"
    start_server "$dir" node1 || die "node1 did not start: $dir/node1.log"
    local pw
    pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
    (umask 077 && printf '%s\n' "$pw" >"$dir/replguard.password")
    psql_at "$dir" node1 "$(cat "$SQLFILE")" >/dev/null ||
        die "replguard.sql failed"
    psql_at "$dir" node1 "ALTER ROLE replguard PASSWORD '$pw'" >/dev/null
}

make_standby() { # DIR NAME
    local dir=$1 name=$2 pport
    pport=$(port_of "$dir" node1)
    as_owner "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$pport" -U postgres \
        -D "$dir/$name" -R -X stream -c fast --no-sync \
        >"$dir/$name.basebackup.log" 2>&1 ||
        die "pg_basebackup for $name failed: $dir/$name.basebackup.log"
    # later lines of postgresql.auto.conf win: name the stream
    echo "primary_conninfo = 'host=127.0.0.1 port=$pport user=postgres application_name=$name'" |
        as_owner tee -a "$dir/$name/postgresql.auto.conf" >/dev/null
    free_port >"$dir/$name.port"
    start_server "$dir" "$name" || die "$name did not start: $dir/$name.log"
}

wait_streaming() { # DIR N
    local n
    for _ in $(seq 1 300); do
        n=$(psql_at "$1" node1 "SELECT count(*) FROM pg_stat_replication
                                WHERE state = 'streaming'" 2>/dev/null)
        [ "${n:-0}" -ge "$2" ] && return 0
        sleep 0.1
    done
    die "standbys not streaming after 30 s"
}

cmd_start() {
    local dir=${1:-} n=${2:-2}
    [ -x "$PGBIN/initdb" ] || {
        echo "pgcluster: PostgreSQL 15 is not installed ($PGBIN missing)" >&2
        exit 77
    }
    [ -n "$dir" ] || dir=$(mktemp -d /tmp/rg-pg.XXXXXX)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ "$(id -u)" = 0 ] && chown "$RUNAS" "$dir"
    chmod 0755 "$dir"
    echo "dir $dir"
    make_primary "$dir"
    echo "node node1 $(port_of "$dir" node1) primary"
    for i in $(seq 2 $((n + 1))); do
        make_standby "$dir" "node$i"
        echo "node node$i $(port_of "$dir" "node$i") replica"
    done
    wait_streaming "$dir" "$n"
    echo ready
}

# pids_of: the postmaster's pid and its children's.
pids_of() { # DIR NAME
    local pm
    pm=$(head -1 "$1/$2/postmaster.pid" 2>/dev/null) || return 1
    echo "$pm"
    pgrep -P "$pm"
}

# wait_gone: waits up to 10 s for the pids to exit.
wait_gone() {
    local p alive
    for _ in $(seq 1 100); do
        alive=
        for p in "$@"; do
            # a zombie counts as gone (in a container, nobody may reap it)
            case $(ps -o stat= -p "$p" 2>/dev/null) in
            "" | Z*) ;;
            *) alive=1 ;;
            esac
        done
        [ -z "$alive" ] && return 0
        sleep 0.1
    done
    return 1
}

# cmd_kill: SIGKILL to the postmaster, as a crash; returns once its
# children, which exit when they see it gone, have exited, so that
# startnode can start it again.
cmd_kill() { # DIR NAME
    local pids
    pids=$(pids_of "$1" "$2") || die "$2 is not running"
    kill -KILL $(head -1 "$1/$2/postmaster.pid")
    wait_gone $pids
    # where nobody reaps orphans (PID 1 in some containers) the dead
    # postmaster stays a zombie, and a zombie's pid in the lock file
    # looks alive to the next start
    local port
    port=$(port_of "$1" "$2")
    rm -f "$1/$2/postmaster.pid" "$1/.s.PGSQL.$port" "$1/.s.PGSQL.$port.lock"
}

cmd_destroy() {
    local dir=$1 d
    [ -d "$dir" ] || return 0
    for d in "$dir"/node*/; do
        [ -f "$d/postmaster.pid" ] || continue
        local name
        name=$(basename "$d")
        local pids
        pids=$(pids_of "$dir" "$name")
        # the data goes too: no shutdown needed
        kill -KILL $pids 2>/dev/null
        wait_gone $pids
    done
    rm -rf "$dir"
}

main() {
    local cmd=${1:-}
    shift || true
    case $cmd in
    start) cmd_start "$@" ;;
    sql) psql_at "$1" "$2" "$3" ;;
    port) port_of "$1" "$2" ;;
    stop) pg_ctl_node "$1" "$2" -m fast -w -t 30 stop ;;
    startnode) start_server "$1" "$2" ;;
    restart) pg_ctl_node "$1" "$2" -m fast -w -t 30 stop; start_server "$1" "$2" ;;
    kill) cmd_kill "$1" "$2" ;;
    signal) kill -"$3" $(pids_of "$1" "$2") ;;
    destroy) cmd_destroy "$1" ;;
    *) sed -n '2,30p' "$0" >&2; exit 2 ;;
    esac
}

main "$@"
