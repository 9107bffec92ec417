#!/bin/bash
# tests/kernel/test_attack_synflood.sh - a SYN flood does not lock clients out (issue 14.2).
#
#   1. 300 SYNs from forged sources (scapy) fill the echo listener's backlog of half-open
#      connections (128) and are answered with SYN cookies beyond it (tapir keeps no state);
#   2. while hping3 keeps flooding port 7 with SYNs from random sources, a real client
#      (the kernel's nc) connects and is echoed: its handshake completes through a cookie
#      (counted, and traced as "SYN cookie ... good");
#   3. ACKs carrying made-up cookies open nothing: answered with RST, counted.
# (crafting frames with scapy is slow on a loaded machine)
# kernel-timeout: 60
. "$(dirname "$0")/lib.sh"

need_root
FORGED=300
start_stack --trace tcp
wait_reachable
in_ns timeout 60 /usr/bin/python3 "$KERNEL_DIR/craft.py" syn-flood "$FORGED" ||
    fail "craft.py syn-flood failed"
wait_stat "SYN cookies sent \(backlog full\)" $((FORGED - 128))

# hping3 floods (bounded in count and time) while the real client connects
ip netns exec "$NS" timeout -k 2 20 hping3 -q -S -p 7 --rand-source -i u500 -c 20000 "$TAPIR_IP" \
    >"$WORK/hping3.out" 2>&1 &
flood=$!
CLEANUP_FIRST="kill -INT $flood"
out=$(printf 'through the flood\n' | in_ns timeout 20 nc -N -w 10 "$TAPIR_IP" 7) ||
    fail "nc to port 7 during the SYN flood failed"
expect_eq "echo during the SYN flood" "through the flood" "$out"
alive "$flood" && note "hping3 was still flooding when the client was served"
kill -INT "$flood" 2>/dev/null
wait "$flood" 2>/dev/null
CLEANUP_FIRST=""

in_ns timeout 60 /usr/bin/python3 "$KERNEL_DIR/craft.py" bad-cookie 5 || fail "craft.py bad-cookie failed"
wait_stat "ACKs to a listener that were no SYN cookie of ours" 5
stop_stack

tcp_stat() { layer_stat "$STACK_ERR" TCP "$1"; }
expect_ge "SYN cookies sent" $((FORGED - 128)) "$(tcp_stat "SYN cookies sent \(backlog full\)")"
expect_ge "connections opened by a SYN cookie (the real client)" 1 \
    "$(tcp_stat "connections opened by a SYN cookie")"
expect_eq "connections opened by a SYN cookie (no forged ACK)" 1 \
    "$(tcp_stat "connections opened by a SYN cookie")"
expect_match "trace of the cookie connection" "SYN cookie [0-9]+ good" "$(cat "$STACK_ERR")"
expect_match "trace of a cookie sent" "backlog full \(128 half-open\): SYN cookie" "$(cat "$STACK_ERR")"
pass
