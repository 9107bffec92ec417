#!/bin/bash
# ARP with the kernel (RFC 826): the kernel asks who has 10.0.0.2, tapir answers with its
# MAC, and the kernel's neighbour table then maps 10.0.0.2 to 02:00:00:00:00:02. Tapir
# learns the kernel's MAC from the request itself (it is the target), so it needs to send
# no request of its own before its echo reply.
. "$(dirname "$0")/lib.sh"

start_stack
peer_mac=$(in_ns cat /sys/class/net/tap0/address)
out=$(in_ns ping -c 1 -W 2 "$TAPIR_IP" 2>&1)
echo "$out"
expect_match "ping summary" '^1 packets transmitted, 1 received' "$out"

neigh=$(in_ns ip neigh show dev tap0)
echo "ip neigh show dev tap0: $neigh"
expect_match "kernel neighbour table" \
    "^$TAPIR_IP lladdr $TAPIR_MAC (REACHABLE|STALE|DELAY|PROBE)" "$neigh"
stop_stack

expect_ge "stats: ARP requests received" 1 "$(stat_value "$STACK_ERR" 'requests received')"
expect_ge "stats: ARP replies sent" 1 "$(stat_value "$STACK_ERR" 'replies sent')"
expect_eq "stats: ARP requests sent" 0 "$(stat_value "$STACK_ERR" 'requests sent')"

# The reply, field by field: to the asker's MAC, sender = tapir, target = the asker.
reply="arp.opcode == 2 && eth.src == $TAPIR_MAC && eth.dst == $peer_mac"
reply="$reply && arp.src.hw_mac == $TAPIR_MAC && arp.src.proto_ipv4 == $TAPIR_IP"
reply="$reply && arp.dst.hw_mac == $peer_mac && arp.dst.proto_ipv4 == $PEER_IP"
pcap_expect "well-formed ARP replies from tapir" ge 1 "$reply"
pcap_expect "other ARP replies from tapir" eq 0 "arp.opcode == 2 && eth.src == $TAPIR_MAC && !($reply)"
# Other than the gratuitous announcement, tapir asked nothing.
pcap_expect "ARP requests from tapir other than the announcement" eq 0 \
    "arp.opcode == 1 && eth.src == $TAPIR_MAC && arp.dst.proto_ipv4 != $TAPIR_IP"
pcap_verify "$PCAP"
pass
