#!/bin/bash
# At start tapir announces itself (a gratuitous ARP in the RFC 5227 "announcement" form:
# a broadcast request whose sender and target protocol addresses are both its own), so a
# peer holding an old MAC for 10.0.0.2 updates it. It must be the first frame tapir sends.
. "$(dirname "$0")/lib.sh"

start_stack
# One echo round trip proves the stack is past its start before we stop it.
out=$(in_ns ping -c 1 -W 2 "$TAPIR_IP" 2>&1)
echo "$out"
expect_match "ping summary" '^1 packets transmitted, 1 received' "$out"
stop_stack
expect_eq "stats: gratuitous announcements sent" 1 \
    "$(stat_value "$STACK_ERR" 'gratuitous announcements sent')"

announce="eth.src == $TAPIR_MAC && eth.dst == ff:ff:ff:ff:ff:ff && arp.opcode == 1"
announce="$announce && arp.src.hw_mac == $TAPIR_MAC && arp.src.proto_ipv4 == $TAPIR_IP"
announce="$announce && arp.dst.proto_ipv4 == $TAPIR_IP && arp.dst.hw_mac == 00:00:00:00:00:00"
pcap_expect "gratuitous announcements in the capture" eq 1 "$announce"
pcap_verify "$PCAP"

# The first frame tapir sent: eth.dst, opcode, sender MAC and IP, target MAC and IP.
first=$(tshark_run "$PCAP" -Y "eth.src == $TAPIR_MAC" -T fields -E separator=' ' -e eth.dst \
    -e arp.opcode -e arp.src.hw_mac -e arp.src.proto_ipv4 -e arp.dst.hw_mac -e arp.dst.proto_ipv4 |
    head -n 1)
expect_eq "the first frame tapir sent" \
    "ff:ff:ff:ff:ff:ff 1 $TAPIR_MAC $TAPIR_IP 00:00:00:00:00:00 $TAPIR_IP" "$first"
pass
