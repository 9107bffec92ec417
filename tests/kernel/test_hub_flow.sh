#!/bin/bash
# tests/kernel/test_hub_flow.sh - the hub loses no event silently (issue 14.6).
#
#   1. an emitter pipelines 2,000 EMITs to a room with one subscriber that reads promptly:
#      the subscriber gets all 2,000, complete and in order (before: 912 of them, and
#      nobody was told), because the hub stops reading the emitter while the subscriber
#      is behind (flow control);
#   2. the same with 300 large events and a second subscriber that never reads: the
#      prompt one still gets every event in order; the stalled one holds the emitter back
#      until it has read nothing for 5 s, then is disconnected with a reason (counted);
#   3. 1,000 clients hold hub connections: the hub's limit (992, below the stack's 1,024
#      sockets) is reached first, so one more client is told "ERR 503 hub full" instead
#      of waiting unaccepted.
. "$(dirname "$0")/lib.sh"

# kernel-timeout: 90
need_root
start_stack --trace app
wait_reachable
out=$(in_ns timeout 70 /usr/bin/python3 "$KERNEL_DIR/hub_flood.py" "$TAPIR_IP" 7000 2000 0) ||
    fail "hub_flood.py failed: $out"
expect_match "OK EMITs to the emitter" "^emitter-oks 2000$" "$out"
expect_match "events at the prompt subscriber" "^prompt-events 2000$" "$out"
expect_match "events in order" "^prompt-in-order 1$" "$out"

out=$(in_ns timeout 70 /usr/bin/python3 "$KERNEL_DIR/hub_flood.py" "$TAPIR_IP" 7000 300 900 stalled) ||
    fail "hub_flood.py stalled failed: $out"
expect_match "OK EMITs to the emitter (with a stalled subscriber)" "^emitter-oks 300$" "$out"
expect_match "events at the prompt subscriber (with a stalled one)" "^prompt-events 300$" "$out"
expect_match "events in order (with a stalled one)" "^prompt-in-order 1$" "$out"
out=$(in_ns timeout 60 /usr/bin/python3 "$KERNEL_DIR/hold.py" "$TAPIR_IP" 7000 1000 0 probe) ||
    fail "hold.py failed: $out"
expect_match "a client beyond the limit" "^probe: ERR 503 hub full$" "$out"
stop_stack
hub_stat() { layer_stat "$STACK_ERR" Hub "$1"; }
expect_eq "events dropped for a full buffer" 0 \
    "$(hub_stat "events dropped: an anonymous client's output buffer full")"
expect_eq "stalled subscribers disconnected" 1 \
    "$(hub_stat "anonymous subscribers disconnected: stalled, or an event did not fit")"
expect_ge "emitters paused" 1 "$(hub_stat "times an emitter was not read: a subscriber of its room is behind")"
expect_match "trace of the disconnect" "disconnected: too slow" "$(cat "$STACK_ERR")"
pass
