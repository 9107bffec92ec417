#!/bin/bash
# tests/kernel/test_tcp_many.sh - 1,000 clients connect to the echo port at once (issue 14.9).
#
#   1. 1,000 kernel sockets connect at the same moment (hold.py) and all establish;
#   2. no SYN was sent twice: the kernel's own count (TcpExtTCPSynRetrans, this namespace
#      only) stays 0, and tapir dropped no handshake ACK and hit no TCB limit. The
#      listener's backlog takes 128 half-open connections and SYN cookies answer the rest
#      at once. The TAP device's queue toward tapir is sized for the burst (txqueuelen
#      4096): at the default 1000 the kernel itself drops a few of 1,000 SYNs and their
#      ACKs when tapir falls behind reading (tap0's "TX dropped"), and each costs a 1 s
#      retransmission whatever tapir does;
#   3. after they close, echo still serves.
. "$(dirname "$0")/lib.sh"

# kernel-timeout: 60
need_root
lab_up
in_ns ip link set tap0 txqueuelen 4096
start_stack
wait_reachable
out=$(in_ns timeout 50 /usr/bin/python3 "$KERNEL_DIR/hold.py" "$TAPIR_IP" 7 1000 1) ||
    fail "hold.py failed: $out"
expect_eq "connections established at once" "connected 1000" "$out"
# the kernel's counters are per namespace: they count this test's clients only
dropped=$(in_ns cat /sys/class/net/tap0/statistics/tx_dropped)
note "frames the kernel dropped toward tapir (tap0 TX dropped): $dropped"
expect_eq "SYNs the kernel sent again (TcpExtTCPSynRetrans; tap0 dropped $dropped frames toward tapir)" 0 \
    "$(in_ns nstat -az TcpExtTCPSynRetrans | awk '/TcpExtTCPSynRetrans/ {print $2}')"
got=$(printf 'hi\n' | in_ns timeout 20 nc -N -w 5 "$TAPIR_IP" 7) || fail "nc after the 1,000: exit $?"
expect_eq "echo after 1,000 connections" hi "$got"
stop_stack
tcp_stat() { layer_stat "$STACK_ERR" TCP "$1"; }
note "connections opened by a SYN cookie: $(tcp_stat "connections opened by a SYN cookie")"
expect_eq "handshake ACKs dropped (accept queue full)" 0 \
    "$(tcp_stat "handshake ACKs dropped: accept queue full")"
expect_eq "connections refused for the TCB limit" 0 "$(tcp_stat "connections refused: TCB limit reached")"
expect_ge "passive opens" 1001 "$(tcp_stat "passive opens \(SYN to a listener\)")"
pass
