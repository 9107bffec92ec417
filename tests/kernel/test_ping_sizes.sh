#!/bin/bash
# Echo payloads of awkward sizes from the kernel: empty, one byte and an odd length (the
# checksum's odd trailing byte, RFC 1071), exactly the MTU (1472 + 28 = 1500, not
# fragmented), one byte more (the smallest fragmented datagram: 1480 + 1 bytes), and the
# largest datagram IPv4 allows (65507 + 28 = 65535 bytes, 45 fragments each way).
# Each reply must come back whole: ping compares the data it gets with what it sent.
. "$(dirname "$0")/lib.sh"

SIZES="0 1 57 1472 1473 65507"

start_stack
for size in $SIZES; do
    out=$(in_ns ping -c 1 -W 2 -s "$size" "$TAPIR_IP" 2>&1)
    echo "$out"
    expect_match "ping -s $size: reply" "^$((size + 8)) bytes from $TAPIR_IP: icmp_seq=1 ttl=64" "$out"
    expect_match "ping -s $size: summary" '^1 packets transmitted, 1 received, 0% packet loss' "$out"
    expect_no_match "ping -s $size: complaints" 'wrong data|DUP!|truncated' "$out"
done
stop_stack

expect_eq "stats: echo replies sent" 6 "$(stat_value "$STACK_ERR" 'echo replies sent')"
expect_eq "stats: datagrams reassembled (1473 and 65507)" 2 \
    "$(stat_value "$STACK_ERR" 'datagrams reassembled')"
# 1473: 1480 + 1 bytes = 2 fragments; 65507: 65515 bytes = 44 x 1480 + 395 = 45 fragments.
pcap_expect "tapir fragments with MF set" eq 45 "eth.src == $TAPIR_MAC && ip.flags.mf == 1"
pcap_expect "tapir last fragments" eq 2 \
    "eth.src == $TAPIR_MAC && ip.flags.mf == 0 && ip.frag_offset > 0"
pcap_expect "tapir's unfragmented 1500-byte reply" eq 1 \
    "eth.src == $TAPIR_MAC && ip.len == 1500 && ip.flags.mf == 0 && ip.frag_offset == 0 && icmp"
pcap_expect "echo replies from tapir with a good ICMP checksum (tshark reassembles)" eq 6 \
    "eth.src == $TAPIR_MAC && icmp.type == 0 && icmp.checksum.status == \"Good\""
pcap_verify "$PCAP"
pass
