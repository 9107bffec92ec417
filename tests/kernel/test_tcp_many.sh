#!/bin/bash
# tests/kernel/test_tcp_many.sh - 1,000 clients connect to the echo port at once (issue 14.9).
#
#   1. 1,000 kernel sockets connect at the same moment (hold.py) and all establish;
#   2. none of them needed a SYN retransmission (the kernel's TcpExtTCPSynRetrans stays
#      0 in the test's namespace): the listener's backlog and accept queue take them all,
#      and past the backlog SYN cookies answer;
#   3. after they close, echo still serves.
. "$(dirname "$0")/lib.sh"

# kernel-timeout: 60
need_root
start_stack
wait_reachable
out=$(in_ns timeout 50 /usr/bin/python3 "$KERNEL_DIR/hold.py" "$TAPIR_IP" 7 1000 1) ||
    fail "hold.py failed: $out"
expect_eq "connections established at once" "connected 1000" "$out"
retrans=$(in_ns nstat -az TcpExtTCPSynRetrans | awk '/TcpExtTCPSynRetrans/ {print $2}')
expect_eq "SYNs the kernel had to send again" 0 "${retrans:-missing}"
got=$(printf 'hi\n' | in_ns timeout 20 nc -N -w 5 "$TAPIR_IP" 7) || fail "nc after the 1,000: exit $?"
expect_eq "echo after 1,000 connections" hi "$got"
stop_stack
note "connections opened by a SYN cookie: $(layer_stat "$STACK_ERR" TCP "connections opened by a SYN cookie")"
pass
