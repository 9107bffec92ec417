#!/bin/bash
# A flood ping (`ping -f`: the next request as soon as a reply arrives): 1000 requests, 1000
# replies, nothing lost or duplicated, counters exact.
. "$(dirname "$0")/lib.sh"

start_stack
out=$(in_ns ping -f -c 1000 -W 2 "$TAPIR_IP" 2>&1)
echo "$out" | tail -n 3
expect_match "ping summary" '^1000 packets transmitted, 1000 received, 0% packet loss' "$out"
stop_stack

expect_eq "stats: echo requests received" 1000 "$(stat_value "$STACK_ERR" 'echo requests received')"
expect_eq "stats: echo replies sent" 1000 "$(stat_value "$STACK_ERR" 'echo replies sent')"
pcap_expect "echo replies from tapir" eq 1000 "eth.src == $TAPIR_MAC && icmp.type == 0"
pcap_verify "$PCAP"
pass
