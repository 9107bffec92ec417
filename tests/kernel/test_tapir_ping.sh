#!/bin/bash
# tapir pings the kernel: `tapir ping 10.0.0.1 -c 3` (no serve running: only one process
# may attach to tap0) resolves the kernel's MAC with ARP, prints three reply lines and
# "3 received", and its --stats agree.
. "$(dirname "$0")/lib.sh"

lab_up
rc=0
in_ns timeout --foreground 15 "$TAPIR" --pcap "$PCAP" --stats ping "$PEER_IP" -c 3 >"$STACK_OUT" 2>"$STACK_ERR" || rc=$?
out=$(cat "$STACK_OUT")
echo "$out"
expect_eq "tapir ping exit status" 0 "$rc"
expect_match "header" "^PING $PEER_IP \\($PEER_IP\\) 56\\(84\\) bytes of data\\.\$" "$out"
replies=$(printf '%s\n' "$out" | grep -cE "^64 bytes from $PEER_IP: icmp_seq=[1-3] ttl=64 time=[0-9.]+ ms\$")
expect_eq "reply lines" 3 "$replies"
for seq in 1 2 3; do
    expect_match "reply to icmp_seq=$seq" "icmp_seq=$seq " "$out"
done
expect_match "summary" '^3 packets transmitted, 3 received, 0% packet loss' "$out"

expect_eq "stats: echo requests sent" 3 "$(stat_value "$STACK_ERR" 'echo requests sent')"
expect_eq "stats: echo replies received" 3 "$(stat_value "$STACK_ERR" 'echo replies received')"
# At least one: tapir asks at once, and the kernel may not send its answer until its
# side of tap0 is fully up (see wait_link_up in lib.sh); tapir then asks again a second
# later.
expect_ge "stats: ARP requests sent" 1 "$(stat_value "$STACK_ERR" 'requests sent')"

pcap_expect "ARP requests from tapir for $PEER_IP" ge 1 \
    "eth.src == $TAPIR_MAC && eth.dst == ff:ff:ff:ff:ff:ff && arp.opcode == 1 && arp.src.proto_ipv4 == $TAPIR_IP && arp.dst.proto_ipv4 == $PEER_IP"
pcap_expect "ARP requests from tapir for anything else (the announcement aside)" eq 0 \
    "eth.src == $TAPIR_MAC && arp.opcode == 1 && arp.dst.proto_ipv4 != $PEER_IP && arp.dst.proto_ipv4 != $TAPIR_IP"
pcap_expect "echo requests from tapir" eq 3 \
    "eth.src == $TAPIR_MAC && icmp.type == 8 && ip.src == $TAPIR_IP && ip.dst == $PEER_IP"
pcap_expect "echo replies from the kernel" eq 3 "icmp.type == 0 && ip.src == $PEER_IP && ip.dst == $TAPIR_IP"
pcap_verify "$PCAP"
pass
