#!/bin/bash
# `make run` works: it brings the lab up and runs `tapir serve` in it, which answers a ping
# from the kernel. Run with LAB= this test's own namespace and BUILD= the directory of the
# binary under test, which make must not rebuild (-o).
. "$(dirname "$0")/lib.sh"
need_root

build=$(dirname "$TAPIR")
[ "$(basename "$TAPIR")" = tapir ] || fail "make run needs a binary named BUILD/tapir, not $TAPIR"

LAB_CREATED=1 # make run creates $NS; the trap removes it
# A session of its own, so that one signal reaches make, tap/lab and tapir alike. The
# outer make's jobserver and flags must not leak into this one.
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL setsid make --no-print-directory -C "$REPO" \
    BUILD="$build" LAB="$NS" -o "$TAPIR" run >"$STACK_OUT" 2>"$STACK_ERR" </dev/null &
make_pid=$!

group_alive() { kill -0 -- "-$make_pid" 2>/dev/null; }
stop_make()
{
    group_alive || return 0
    kill -TERM -- "-$make_pid" 2>/dev/null
    local i
    for ((i = 0; i < 50; i++)); do
        group_alive || return 0
        sleep 0.1
    done
    kill -KILL -- "-$make_pid" 2>/dev/null
    return 1
}
CLEANUP_FIRST=stop_make

up=""
for ((i = 0; i < 100; i++)); do
    if grep -q '^tapir: up ' "$STACK_OUT"; then
        up=1
        break
    fi
    alive "$make_pid" || break
    sleep 0.1
done
cat "$STACK_OUT"
[ -n "$up" ] || fail "make run did not print 'tapir: up' within 10 s"
expect_match "make run prints how to reach the lab" "tap/lab exec $NS ping 10\\.0\\.0\\.2" \
    "$(cat "$STACK_OUT")"

out=$(in_ns ping -c 1 -W 2 "$TAPIR_IP" 2>&1)
echo "$out"
expect_match "ping through make run" '^1 packets transmitted, 1 received' "$out"
stop_make || fail "make run did not stop within 5 s of SIGTERM"
pass
