#!/bin/sh
# install.sh: the layout `make install` leaves (README, "Installing").
#
#   install.sh check DESTDIR BINDIR PKGDATADIR DOCDIR UNITDIR
#       every installed file in its place; the installed unit runs the
#       installed binary; the installed replguard answers --version and
#       validates the installed example config with the installed runbooks
#       (run by `make installcheck`, and so by `make distcheck`)
#   install.sh test
#       from `make check`: `make install installcheck DESTDIR=TMP` in
#       $top_builddir (nothing outside TMP is touched)
set -eu

fail() {
    echo "install.sh: FAIL: $*" >&2
    exit 1
}

check() {
    d=$1 bindir=$2 share=$3 docdir=$4 unitdir=$5
    for f in "$bindir/replguard" "$bindir/replguard-simnode"; do
        [ -x "$d$f" ] || fail "$d$f missing or not executable"
    done
    for f in rules/circuit-breaker.yml rules/high-replication-lag.yml \
        rules/merkle.yml rules/replica-down.yml alerts/replguard.rules.yml \
        contrib/replguard.yml contrib/prometheus.yml contrib/alertmanager.yml \
        contrib/haproxy.cfg contrib/replguard.service \
        contrib/grafana/replguard-dashboard.json \
        rules/postgres/replication-lag.yml rules/postgres/replica-down.yml \
        alerts/postgres.rules.yml contrib/postgres/replguard.sql \
        contrib/postgres/replguard-actions.sql; do
        [ -f "$d$share/$f" ] || fail "$d$share/$f missing"
    done
    for f in README.md config.md reference.md; do
        [ -f "$d$docdir/$f" ] || fail "$d$docdir/$f missing"
    done
    unit="$d$unitdir/replguard.service"
    [ -f "$unit" ] || fail "$unit missing"
    grep -q "^ExecStart=$bindir/replguard -c /etc/replguard/replguard.yml\$" \
        "$unit" || fail "$unit does not run $bindir/replguard"
    "$d$bindir/replguard" --version | grep -q '^replguard [0-9]' ||
        fail "replguard --version"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    sed "s|^rules: .*|rules: $d$share/rules|" "$d$share/contrib/replguard.yml" \
        >"$tmp/replguard.yml"
    out=$("$d$bindir/replguard" --check-config -c "$tmp/replguard.yml") ||
        fail "--check-config of the installed example: $out"
    [ "$out" = "OK: 1 clusters, 3 nodes, 5 runbooks" ] ||
        fail "--check-config said: $out"
    echo "install.sh: layout under ${d:-/} complete; example config OK"
}

case "${1:-}" in
check)
    shift
    check "$@"
    ;;
test)
    : "${top_builddir:?}"
    dest=$(mktemp -d)
    trap 'rm -rf "$dest"' EXIT
    make -s -C "$top_builddir" install installcheck DESTDIR="$dest" \
        >"$dest.log" 2>&1 || { cat "$dest.log"; rm -f "$dest.log"; exit 1; }
    cat "$dest.log"
    rm -f "$dest.log"
    ;;
*)
    echo "usage: install.sh check DESTDIR BINDIR PKGDATADIR DOCDIR UNITDIR" \
        "| install.sh test" >&2
    exit 2
    ;;
esac
