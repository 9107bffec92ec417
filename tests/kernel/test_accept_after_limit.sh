#!/bin/bash
# tests/kernel/test_accept_after_limit.sh - a service recovers once the socket limit is
# no longer reached (issue 14.7).
#
#   1. 1,200 kernel clients hold connections to the echo port: more than tapir's 1,024
#      sockets, so the last ones wait in the listener's accept queue (sock_accept says
#      -EMFILE) and the rest of the handshakes are refused;
#   2. they all close; as sockets are freed, the queued connections are offered again
#      (on_accept, "sockets free again" in the trace);
#   3. a new client (`echo hi | nc -N`) is served at once.
# (Before: on_accept fired only for a newly completed handshake, which the full accept
# queue refused, so the port was dead for good.)
. "$(dirname "$0")/lib.sh"

# kernel-timeout: 90
need_root
start_stack --trace sock
wait_reachable
out=$(in_ns timeout 60 /usr/bin/python3 "$KERNEL_DIR/hold.py" "$TAPIR_IP" 7 1200 2) ||
    fail "hold.py failed: $out"
note "kernel side: $out"
expect_match "the kernel's handshakes" "connected (1[0-9]{3})" "$out"
expect_match "tapir reached its socket limit" "socket limit \(1024\): connections wait" "$(cat "$STACK_ERR")"

# served at once: nc gives up after 5 s without an answer (a dead port never answers)
got=$(printf 'hi\n' | in_ns timeout 20 nc -N -w 5 "$TAPIR_IP" 7) || fail "nc after the limit: exit $?"
expect_eq "echo after 1,200 connections closed" hi "$got"
stop_stack
expect_ge "queued connections offered again" 1 \
    "$(layer_stat "$STACK_ERR" Sockets "times queued connections were offered again \(sockets freed\)")"
pass
