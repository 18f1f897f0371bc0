#!/bin/sh
# valgrind.sh PROGRAM [ARGS...]: make check-valgrind's LOG_COMPILER. Runs a
# check program under valgrind memcheck, and the replguard and
# replguard-simnode processes it starts too (the harnesses put
# $REPLGUARD_TEST_WRAPPER in front of their argv). Every process writes its
# own log under tests/valgrind/PROGRAM/ (check forks per test: valgrind
# follows the fork into a log of its own).
#
# Fails when the program fails or any log holds an error: invalid reads
# and writes, uses of uninitialised values, bad frees, fd misuse in
# syscalls, and definite or indirect leaks (possible leaks and memory
# still reachable at exit are not errors). -q keeps a clean log empty.
#
# A program named in $VALGRIND_SKIP (Makefile.am says why) is skipped
# (exit 77). Exit 0, 1 (a failure) or 77.
set -u
prog=$1
name=$(basename "$prog")
logs=$(pwd)/tests/valgrind/$name
rm -rf "$logs"
for s in ${VALGRIND_SKIP:-}; do
    if [ "$s" = "$name" ]; then
        echo "valgrind: $name skipped (see VALGRIND_SKIP in Makefile.am)"
        exit 77
    fi
done
command -v valgrind >/dev/null 2>&1 || {
    echo "valgrind: not installed (apt-get install valgrind)"
    exit 77
}

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
mkdir -p "$logs"

vg="valgrind -q --tool=memcheck --leak-check=full"
vg="$vg --show-leak-kinds=definite,indirect"
vg="$vg --errors-for-leak-kinds=definite,indirect --error-exitcode=99"
vg="$vg --num-callers=40 --suppressions=$top_srcdir/tests/valgrind.supp"
vg="$vg --log-file=$logs/%p.log"
# the daemons' own forks are spawn()'s children, which exec or _exit at
# once; one whose starter was killed (test_crash) _exits before exec
# holding a copy of the parent's heap, which memcheck would report as lost
REPLGUARD_TEST_WRAPPER="$vg --child-silent-after-fork=yes"
export REPLGUARD_TEST_WRAPPER
# check's per-test timeouts (CK_DEFAULT_TIMEOUT and the tests' own) times
# this, and so do the integration tests' deadlines and poll timings
# (wait_scale): valgrind runs code 10 to 50 times slower. Not more: the
# runbooks' own durations in test_remediation (verify within 1s,
# restore_interval 1s) do not scale
CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-4}
export CK_TIMEOUT_MULTIPLIER

$vg "$@"
rc=$?

# every log that is not empty is an error report (-q)
bad=0
for f in "$logs"/*.log; do
    [ -s "$f" ] || continue
    bad=$((bad + 1))
    echo "valgrind: errors in $f:"
    cat "$f"
done
if [ "$bad" -gt 0 ]; then
    echo "valgrind: $name: $bad process(es) with errors"
    exit 1
fi
if [ "$rc" = 99 ]; then
    echo "valgrind: $name: valgrind found errors (exit 99)"
    exit 1
fi
exit "$rc"
