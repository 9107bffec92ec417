#!/bin/bash
# tests/kernel/test_attack_frag.sh - fragments that never complete do not lock out real
# fragmented datagrams (issue 14.3).
#
#   1. 40 incomplete fragment trains (scapy: 8-byte last fragments at offset 65496, each
#      pinning 64 KiB of buffer, and first fragments of ever new datagrams) fill every
#      reassembly slot and all the buffer bytes;
#   2. while more of them keep arriving, the kernel's fragmented pings (3000 bytes, three
#      fragments each way) are all answered: each new datagram evicts the oldest
#      incomplete reassembly (counted, traced);
#   3. nothing is left reassembling forever: tapir's counters show the evictions.
# (crafting frames with scapy is slow on a loaded machine)
# kernel-timeout: 60
. "$(dirname "$0")/lib.sh"

need_root
start_stack --trace ip
wait_reachable
in_ns timeout 60 /usr/bin/python3 "$KERNEL_DIR/craft.py" frag-trains 40 || fail "craft.py frag-trains failed"
wait_stat "fragments received" 40

# more trains in the background (bounded: 300 frames, 2 ms apart) while the pings go
ip netns exec "$NS" timeout -k 2 30 /usr/bin/python3 "$KERNEL_DIR/craft.py" frag-trains 300 \
    >"$WORK/trains.out" 2>&1 &
trains=$!
CLEANUP_FIRST="kill $trains"
out=$(in_ns ping -c 3 -i 0.3 -W 3 -s 3000 "$TAPIR_IP" 2>&1) || true
expect_match "fragmented pings answered during the attack" "3 packets transmitted, 3 received" "$out"
wait_gone "$trains" 300 || fail "the background fragment trains did not end within 30 s"
wait "$trains" || fail "craft.py frag-trains (background) failed: $(cat "$WORK/trains.out")"
CLEANUP_FIRST=""
stop_stack

expect_ge "reassemblies evicted for newer ones" 40 \
    "$(stat_value "$STACK_ERR" "reassemblies given up to make room for newer ones")"
expect_ge "datagrams reassembled (the three pings)" 3 "$(stat_value "$STACK_ERR" "datagrams reassembled")"
expect_match "trace of an eviction" "evicted: buffers full, the oldest makes room" "$(cat "$STACK_ERR")"
pass
