#!/bin/bash
# tests/kernel/test_attack_arp.sh - the live peer's ARP entry survives a flood of
# resolutions to neighbours that do not exist (issue 14.4).
#
#   1. the kernel pings tapir, so tapir learns the kernel's MAC from its ARP request;
#   2. scapy sends 400 pings "from" 150 nonexistent on-link addresses: every reply makes
#      tapir resolve one of them, far more than its 64 ARP entries; meanwhile the kernel
#      keeps pinging (its entry is in use);
#   3. every one of the kernel's pings is answered, and tapir never had to ask for the
#      kernel's address again: the unanswered resolutions only pushed out each other.
# (Before: the pending entries evicted the live peer's, and its session stalled.)
. "$(dirname "$0")/lib.sh"

# (crafting frames with scapy is slow on a loaded machine)
# kernel-timeout: 60
need_root
start_stack --trace arp
wait_reachable
ip netns exec "$NS" timeout -k 2 40 /usr/bin/python3 "$KERNEL_DIR/craft.py" ghost-pings 400 \
    >"$WORK/ghosts.out" 2>&1 &
ghosts=$!
# the kernel pings all along (its entry stays in use), until the ghosts are done
ip netns exec "$NS" timeout -k 2 60 ping -i 0.2 -W 2 "$TAPIR_IP" >"$WORK/ping.out" 2>&1 &
pinger=$!
CLEANUP_FIRST="kill $ghosts $pinger"
wait_stat "entries evicted to make room \(idle, or never answered\)" 1
wait_gone "$ghosts" 400 || fail "craft.py ghost-pings did not end within 40 s"
wait "$ghosts" || fail "craft.py ghost-pings failed: $(cat "$WORK/ghosts.out")"
kill -INT "$pinger"
wait "$pinger"
CLEANUP_FIRST=""
stats=$(grep -E "packets transmitted" "$WORK/ping.out")
note "kernel's ping: $stats"
sent=$(echo "$stats" | awk '{print $1}')
got=$(echo "$stats" | awk '{print $4}')
expect_ge "the kernel's pings sent during the flood" 5 "$sent"
expect_ge "the kernel's pings answered (all but one in flight at most)" $((sent - 1)) "$got"
stop_stack

expect_ge "ARP entries evicted (unanswered resolutions)" 50 \
    "$(stat_value "$STACK_ERR" "entries evicted to make room \(idle, or never answered\)")"
expect_no_match "no eviction of the kernel's entry" "entry for $PEER_IP makes room" "$(cat "$STACK_ERR")"
pcap_expect "ARP requests tapir sent for the kernel's address" eq 0 \
    "eth.src == $TAPIR_MAC && arp.opcode == 1 && arp.dst.proto_ipv4 == $PEER_IP"
pcap_expect "ARP requests tapir sent for the ghosts" ge 150 \
    "eth.src == $TAPIR_MAC && arp.opcode == 1 && arp.dst.proto_ipv4 != $PEER_IP && arp.dst.proto_ipv4 != $TAPIR_IP"
pcap_verify "$PCAP"
pass
