#!/bin/bash
# The kernel pings tapir: 5 echo requests, 5 replies, 0% loss; tapir's --stats counters at
# exit agree with what the kernel sent; every frame tapir sent decodes cleanly.
. "$(dirname "$0")/lib.sh"

start_stack
out=$(in_ns ping -c 5 -i 0.2 -W 2 "$TAPIR_IP" 2>&1)
echo "$out"
expect_match "ping summary" '^5 packets transmitted, 5 received, 0% packet loss' "$out"
replies=$(printf '%s\n' "$out" | grep -cE "^64 bytes from $TAPIR_IP: icmp_seq=[1-5] ttl=64 ")
expect_eq "reply lines (64 bytes, ttl=64)" 5 "$replies"
expect_no_match "ping complaints (data not echoed, duplicates)" 'wrong data|DUP!|truncated' "$out"
stop_stack

expect_eq "stats: echo requests received" 5 "$(stat_value "$STACK_ERR" 'echo requests received')"
expect_eq "stats: echo replies sent" 5 "$(stat_value "$STACK_ERR" 'echo replies sent')"
expect_eq "stats: ICMP bad checksums" 0 "$(stat_value "$STACK_ERR" 'messages with a bad checksum')"

pcap_expect "echo requests from the kernel in the capture" eq 5 \
    "icmp.type == 8 && ip.src == $PEER_IP"
pcap_expect "echo replies from tapir in the capture" eq 5 \
    "icmp.type == 0 && eth.src == $TAPIR_MAC && ip.src == $TAPIR_IP && ip.dst == $PEER_IP"
pcap_verify "$PCAP"
pass
