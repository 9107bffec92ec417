#!/bin/bash
# tapir pings the kernel with 4000-byte payloads: tapir fragments its requests, the kernel
# reassembles them and fragments its replies, and tapir reassembles those.
. "$(dirname "$0")/lib.sh"

lab_up
rc=0
in_ns timeout --foreground 15 "$TAPIR" --pcap "$PCAP" --stats ping "$PEER_IP" -c 2 -i 0.2 -s 4000 \
    >"$STACK_OUT" 2>"$STACK_ERR" || rc=$?
out=$(cat "$STACK_OUT")
echo "$out"
expect_eq "tapir ping exit status" 0 "$rc"
replies=$(printf '%s\n' "$out" | grep -cE "^4008 bytes from $PEER_IP: icmp_seq=[1-2] ")
expect_eq "reply lines (4008 bytes)" 2 "$replies"
expect_match "summary" '^2 packets transmitted, 2 received, 0% packet loss' "$out"

expect_eq "stats: datagrams reassembled" 2 "$(stat_value "$STACK_ERR" 'datagrams reassembled')"
expect_eq "stats: echo replies received" 2 "$(stat_value "$STACK_ERR" 'echo replies received')"
pcap_expect "tapir fragments with MF set" eq 4 "eth.src == $TAPIR_MAC && ip.flags.mf == 1"
pcap_expect "kernel fragments with MF set" ge 4 "ip.src == $PEER_IP && ip.flags.mf == 1"
# tshark reassembles tapir's requests and verifies the ICMP checksum over all of it; the
# kernel answering at all means it accepted them too.
pcap_expect "reassembled echo requests from tapir" eq 2 \
    "eth.src == $TAPIR_MAC && icmp.type == 8 && icmp.checksum.status == \"Good\""
pcap_verify "$PCAP"
pass
