#!/bin/bash
# tests/kernel/test_route.sh - dead next hops, with the kernel as the one live gateway.
#
#   1. `tapir nc 10.0.0.9 7`: nobody has 10.0.0.9, so ARP gives up after 3 requests and
#      connect() fails with EHOSTUNREACH ("No route to host") in seconds, as on Linux,
#      not after minutes of SYN retries; no SYN ever leaves tapir.
#   2. Two default gateways (`--gw` twice, RFC 1122 3.3.1.2): the first, 10.0.0.254, is
#      dead; after its ARP requests go unanswered tapir switches to the second, the kernel
#      (3.3.1.4/3.3.1.5), and the waiting echo request reaches 192.0.2.1 (an address on the
#      kernel's loopback) through it and is answered.
# conformance: LINK-2.4-3 IP-3.3.1.2-4 IP-3.3.1.4-1 IP-3.3.1.5-1 IP-3.3.1.6-1
. "$(dirname "$0")/lib.sh"

need_root
lab_up

# ---- 1. connect() to an address nobody has -------------------------------------------------
step "tapir nc to 10.0.0.9, which nobody has"
rc=0
in_ns timeout "$(scaled 20)" "$TAPIR" --pcap "$PCAP" --stats nc 10.0.0.9 7 </dev/null \
    >"$STACK_OUT" 2>"$STACK_ERR" || rc=$?
expect_eq "tapir nc exit status (1: the connection failed; 124: still trying)" 1 "$rc"
expect_match "the error" "tapir: nc: .*No route to host" "$(cat "$STACK_ERR")"
expect_eq "stats: addresses that never answered" 1 "$(stat_value "$STACK_ERR" 'addresses that never answered')"
pcap_expect "ARP requests from tapir for 10.0.0.9" eq 3 "arp.opcode == 1 && arp.dst.proto_ipv4 == 10.0.0.9"
pcap_expect "TCP segments from tapir (the SYN waited for ARP)" eq 0 "eth.src == $TAPIR_MAC && tcp"
pcap_verify "$PCAP"

# ---- 2. the first default gateway is dead; the second is the kernel --------------------------
step "ping 192.0.2.1 through --gw 10.0.0.254 --gw $PEER_IP"
in_ns ip addr add 192.0.2.1/32 dev lo
in_ns ip link set lo up
rm -f "$PCAP"
rc=0
in_ns timeout "$(scaled 20)" "$TAPIR" --pcap "$PCAP" --stats --gw 10.0.0.254 --gw "$PEER_IP" \
    ping 192.0.2.1 -c 1 >"$STACK_OUT" 2>"$STACK_ERR" || rc=$?
cat "$STACK_OUT"
expect_eq "tapir ping exit status" 0 "$rc"
expect_match "the reply" "^64 bytes from 192\\.0\\.2\\.1: icmp_seq=1 " "$(cat "$STACK_OUT")"
expect_eq "stats: switches to the next default gateway" 1 \
    "$(stat_value "$STACK_ERR" 'switches to the next default gateway')"
pcap_expect "ARP requests for the dead gateway" eq 3 "arp.opcode == 1 && arp.dst.proto_ipv4 == 10.0.0.254"
pcap_expect "the echo request, to the kernel's MAC" eq 1 \
    "icmp.type == 8 && ip.dst == 192.0.2.1 && eth.src == $TAPIR_MAC && !(eth.dst == ff:ff:ff:ff:ff:ff)"
pcap_expect "the echo reply" eq 1 "icmp.type == 0 && ip.src == 192.0.2.1"
pcap_verify "$PCAP"
pass
