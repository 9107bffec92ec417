#!/bin/bash
# tests/kernel/test_attack_timewait.sh - a TCB table full of TIME-WAITs, then one full of
# zero-window orphans, leaves room for a new client (issue 14.5).
#
# tapir runs with --max-sockets 1000: its table holds 2,000 TCBs.
#   0. a kernel client opens two hub sessions from port 40000, one after the other: the
#      second SYN meets the first one's TIME-WAIT, and being newer ends it (RFC 6191);
#   1. 2,100 short hub sessions (QUIT): the hub closes first, so each leaves a TIME-WAIT
#      in tapir (60 s), more than the table holds;
#   2. the sessions beyond the table and a new echo client all get in: each new
#      connection ends the TIME-WAIT closest to its end (counted, traced);
#   3. 2,000 kernel clients each send 8 KiB and a FIN to the echo port and never read,
#      with the smallest receive buffer: echo closes each, and its unsent echo makes an
#      orphan whose peer answers every zero-window probe with a zero window. They take the
#      TIME-WAITs' places, then fill the table (the oldest orphan is aborted with a RST);
#   4. with the 2,000 peers still holding on, a new echo client is served at once.
# conformance: SHLD-4
# (Before: every SYN past the limit was dropped until the TIME-WAITs expired, and 2,048
# orphans locked every new client out for minutes.)
. "$(dirname "$0")/lib.sh"

# kernel-timeout: 120
need_root
start_stack --max-sockets 1000
wait_reachable
step "a client reconnects from the port of its TIME-WAIT (RFC 6191)"
# the kernel's second SYN is newer (timestamp): the TIME-WAIT gives way at once
out=$(in_ns timeout 30 /usr/bin/python3 "$KERNEL_DIR/sessions.py" "$TAPIR_IP" 7000 2 QUIT 40000) ||
    fail "sessions.py from port 40000 failed: $out"
expect_eq "hub sessions from port 40000" "done 2" "$out"
# counted now: a later session may by chance get a port whose TIME-WAIT is still in
# tapir, and that SYN reopens it too (rightly)
TW_REOPENED="TIME-WAITs ended by a newer SYN for the same 4-tuple \(RFC 6191\)"
wait_stat "$TW_REOPENED" 1
expect_eq "TIME-WAITs ended by a newer SYN (the second session from port 40000)" 1 \
    "$(stat_value "$STACK_ERR" "$TW_REOPENED")"
step "2,100 hub sessions that end in TIME-WAIT"
out=$(in_ns timeout 100 /usr/bin/python3 "$KERNEL_DIR/sessions.py" "$TAPIR_IP" 7000 2100 QUIT) ||
    fail "sessions.py failed: $out"
expect_eq "hub sessions that ended with the hub's close" "done 2100" "$out"
got=$(printf 'hi\n' | in_ns timeout 20 nc -N -w 5 "$TAPIR_IP" 7) || fail "nc after the sessions: exit $?"
expect_eq "echo with the table full of TIME-WAITs" hi "$got"

step "2,000 peers that leave zero-window orphans"
in_ns timeout 100 /usr/bin/python3 "$KERNEL_DIR/orphans.py" "$TAPIR_IP" 7 2000 60 >"$WORK/orphans.out" 2>&1 &
peers=$!
CLEANUP_FIRST="kill $peers"
for ((i = 0; i < $(scaled 300); i++)); do # 30 s (scaled): orphans.py prints within 30 s
    grep -q '^sent' "$WORK/orphans.out" && break
    alive "$peers" || break
    sleep 0.1
done
expect_eq "peers that sent 8 KiB and their FIN" "sent 2000" "$(grep '^sent' "$WORK/orphans.out")"
# the table is full of orphans once one had to go: no TIME-WAIT was left to end instead
wait_stat "orphaned connections aborted \(table full, or window shut too long\)" 1
got=$(printf 'hi\n' | in_ns timeout 20 nc -N -w 5 "$TAPIR_IP" 7) || fail "nc among the orphans: exit $?"
expect_eq "echo with the table full of orphans" hi "$got"
kill "$peers"
CLEANUP_FIRST=""
stop_stack

tcp_stat() { layer_stat "$STACK_ERR" TCP "$1"; }
# about 60 when the sessions take less than a TIME-WAIT (60 s); fewer on a slow run, as
# the first TIME-WAITs then end by themselves: at least one proves the table was full
expect_ge "TIME-WAITs ended early for new connections" 1 \
    "$(tcp_stat "TIME-WAITs ended early: the TCB table was full")"
expect_ge "orphans aborted for new connections" 1 \
    "$(tcp_stat "orphaned connections aborted \(table full, or window shut too long\)")"
expect_ge "zero-window probes (the orphans' windows were shut)" 1000 "$(tcp_stat "zero-window probes sent")"
expect_eq "connections refused for the TCB limit" 0 "$(tcp_stat "connections refused: TCB limit reached")"
note "ACKs to a listener, no cookie: $(tcp_stat "ACKs to a listener that were no SYN cookie of ours"), accept queue full: $(tcp_stat "handshake ACKs dropped: accept queue full")"
pass
