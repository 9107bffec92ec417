#!/bin/bash
# tests/kernel/test_attack_self.sh - self-addressed traffic and UDP ping-pong (issue 14.1).
#
#   1. UDP datagrams "from" 10.0.0.2:7 (our own address), 127.0.0.1:7 and 0.0.0.0:7 to our
#      echo port, and LAND SYNs (10.0.0.2:7 -> 10.0.0.2:7), all crafted with scapy: every one
#      is dropped by IP (RFC 1122 3.2.1.3) and counted; tapir sends nothing for them (before
#      the rule, one such datagram made the echo service answer itself forever);
#   2. UDP datagrams from the kernel's port 19 (chargen) to echo draw no answer (two
#      services would bounce datagrams between them) and are counted;
#   3. a real client (nc -u from an ephemeral port) is still echoed.
. "$(dirname "$0")/lib.sh"

need_root
N=5
start_stack --trace ip,app
wait_reachable
in_ns timeout 60 /usr/bin/python3 "$KERNEL_DIR/craft.py" self "$N" || fail "craft.py self failed"
in_ns timeout 60 /usr/bin/python3 "$KERNEL_DIR/craft.py" service-port "$N" || fail "craft.py service-port failed"
# tapir handles frames in order: once this is echoed, the crafted ones were handled
out=$(printf 'hello\n' | in_ns timeout 20 nc -u -w1 "$TAPIR_IP" 7) || fail "nc -u $TAPIR_IP 7 failed"
expect_eq "echo to a real client" hello "$out"
stop_stack

expect_eq "IP datagrams from an impossible source" $((4 * N)) \
    "$(stat_value "$STACK_ERR" "datagrams from a martian source \(broadcast, 0/8, 127/8, ours\)")"
expect_eq "echo datagrams from a service port not answered" "$N" \
    "$(layer_stat "$STACK_ERR" Echo "datagrams from a service port \(< 1024\) not answered")"
expect_match "trace of the drop" "drop: martian source address" "$(cat "$STACK_ERR")"
expect_match "trace of the refused answer" "echo: no answer to port 19" "$(cat "$STACK_ERR")"
expect_eq "TCP segments received (LAND SYNs reach no TCP)" 0 \
    "$(layer_stat "$STACK_ERR" TCP "segments received")"
pcap_expect "UDP datagrams tapir sent (the one real echo)" eq 1 "eth.src == $TAPIR_MAC && udp"
pcap_expect "TCP segments tapir sent" eq 0 "eth.src == $TAPIR_MAC && tcp"
pcap_expect "datagrams tapir sent to itself" eq 0 "eth.src == $TAPIR_MAC && ip.dst == $TAPIR_IP"
pcap_verify "$PCAP"
pass
