#!/bin/bash
# Fragmentation both ways: `ping -s 4000` sends 4028-byte datagrams, which the kernel splits
# into three fragments at MTU 1500; tapir must reassemble them (RFC 791/815, ip_frag.c),
# answer, and fragment its 4028-byte reply the same way for the kernel to reassemble.
. "$(dirname "$0")/lib.sh"

start_stack
out=$(in_ns ping -c 3 -i 0.2 -W 2 -s 4000 "$TAPIR_IP" 2>&1)
echo "$out"
expect_match "ping summary" '^3 packets transmitted, 3 received, 0% packet loss' "$out"
replies=$(printf '%s\n' "$out" | grep -cE "^4008 bytes from $TAPIR_IP: icmp_seq=[1-3] ")
expect_eq "reply lines (4008 bytes)" 3 "$replies"
expect_no_match "ping complaints (data not echoed, duplicates)" 'wrong data|DUP!|truncated' "$out"
stop_stack

expect_eq "stats: datagrams reassembled" 3 "$(stat_value "$STACK_ERR" 'datagrams reassembled')"
expect_eq "stats: echo requests received" 3 "$(stat_value "$STACK_ERR" 'echo requests received')"
expect_eq "stats: echo replies sent" 3 "$(stat_value "$STACK_ERR" 'echo replies sent')"

# The kernel fragmented its requests (so tapir really reassembled) ...
pcap_expect "kernel fragments with MF set" ge 3 "ip.src == $PEER_IP && ip.flags.mf == 1"
# ... and tapir fragmented its replies: 3 datagrams x 2 fragments with MF plus a last one.
pcap_expect "tapir fragments with MF set" eq 6 "eth.src == $TAPIR_MAC && ip.flags.mf == 1"
pcap_expect "tapir last fragments (MF clear, offset > 0)" eq 3 \
    "eth.src == $TAPIR_MAC && ip.flags.mf == 0 && ip.frag_offset > 0"
pcap_expect "tapir fragments larger than the MTU" eq 0 "eth.src == $TAPIR_MAC && ip.len > 1500"
# tshark reassembles tapir's replies: the ICMP checksum over all 4008 bytes is verified.
pcap_expect "reassembled echo replies from tapir" eq 3 \
    "eth.src == $TAPIR_MAC && icmp.type == 0 && icmp.checksum.status == \"Good\""
pcap_verify "$PCAP"
pass
