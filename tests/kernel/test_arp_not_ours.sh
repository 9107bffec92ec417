#!/bin/bash
# An ARP request for an address that is not tapir's (10.0.0.3) must not be answered
# (RFC 826: "Am I the target protocol address?" No: stop). The kernel asks because we
# send a UDP datagram to 10.0.0.3; tapir counts the request as "for another address".
. "$(dirname "$0")/lib.sh"

OTHER_IP=10.0.0.3

start_stack
# nc returns at once; the kernel broadcasts "who has 10.0.0.3" on tap0 meanwhile.
echo probe | in_ns nc -u -w 0 "$OTHER_IP" 9 || true
wait_stat 'ARP packets for another address' 1
neigh=$(in_ns ip neigh show "$OTHER_IP" dev tap0)
echo "ip neigh show $OTHER_IP dev tap0: $neigh"
expect_no_match "kernel neighbour entry for $OTHER_IP" 'lladdr' "$neigh"
stop_stack

expect_eq "stats: ARP replies sent" 0 "$(stat_value "$STACK_ERR" 'replies sent')"
pcap_expect "kernel requests for $OTHER_IP in the capture" ge 1 \
    "arp.opcode == 1 && arp.dst.proto_ipv4 == $OTHER_IP"
pcap_expect "ARP replies from tapir" eq 0 "arp.opcode == 2 && eth.src == $TAPIR_MAC"
pcap_expect "frames from tapir other than the announcement" eq 0 \
    "eth.src == $TAPIR_MAC && !(arp.opcode == 1 && arp.dst.proto_ipv4 == $TAPIR_IP)"
pcap_verify "$PCAP"
pass
