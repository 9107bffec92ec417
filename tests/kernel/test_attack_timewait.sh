#!/bin/bash
# tests/kernel/test_attack_timewait.sh - a TCB table full of TIME-WAITs leaves room for a
# new client (issue 14.5).
#
#   1. 2,100 short hub sessions (QUIT): the hub closes first, so each leaves a TIME-WAIT
#      in tapir (60 s), more than its 2,048 TCBs hold;
#   2. the sessions beyond the table and a new echo client all get in: each new
#      connection ends the TIME-WAIT closest to its end (counted, traced).
# (Before: every SYN past the limit was dropped until the TIME-WAITs expired.)
# The orphan half of the issue (zero-window orphans, bounded in number and probes) is
# tested on the simulated wire: tests/sim/test_tcp_limits.c.
. "$(dirname "$0")/lib.sh"

# kernel-timeout: 120
need_root
start_stack
wait_reachable
out=$(in_ns timeout 100 /usr/bin/python3 "$KERNEL_DIR/sessions.py" "$TAPIR_IP" 7000 2100 QUIT) ||
    fail "sessions.py failed: $out"
expect_eq "hub sessions that ended with the hub's close" "done 2100" "$out"
got=$(printf 'hi\n' | in_ns timeout 20 nc -N -w 5 "$TAPIR_IP" 7) || fail "nc after the sessions: exit $?"
expect_eq "echo with the table full of TIME-WAITs" hi "$got"
stop_stack
tcp_stat() { layer_stat "$STACK_ERR" TCP "$1"; }
# about 60 when the sessions take less than a TIME-WAIT (60 s); fewer on a slow run, as
# the first TIME-WAITs then end by themselves: at least one proves the table was full
expect_ge "TIME-WAITs ended early for new connections" 1 \
    "$(tcp_stat "TIME-WAITs ended early: the TCB table was full")"
expect_eq "connections refused for the TCB limit" 0 "$(tcp_stat "connections refused: TCB limit reached")"
pass
