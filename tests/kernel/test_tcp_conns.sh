#!/bin/bash
# tests/kernel/test_tcp_conns.sh - many TCP connections to tapir's echo service (port 7).
#
#   1. 100 sequential connections from the kernel's `nc -N`: each sends one line and gets
#      the same line back; every close completes, so the kernel (which closed first)
#      holds exactly 100 sockets in TIME-WAIT and none half-closed;
#   2. 50 concurrent connections: all 50 are ESTABLISHED at the same moment and each gets
#      its own line back; then all close cleanly;
#   3. tapir's counters agree (150 passive opens, 150 established, nothing dropped for a
#      full backlog or the TCB limit, no bad checksum) and tshark finds no malformed
#      frame and no bad checksum in anything tapir sent.
. "$(dirname "$0")/lib.sh"

need_root

# kernel-timeout: 60
SEQUENTIAL=100
CONCURRENT=50

# tcp_stat FILE TEXT: a counter of the "TCP (L4):" section of the last --stats block.
tcp_stat() { layer_stat "$1" TCP "$2"; }

# wait_closed WHAT: poll (at most 5 s) until no kernel socket to tapir is half-way
# through a handshake or a close; gone or TIME-WAIT are the only acceptable ends.
STUCK='^(SYN-SENT|SYN-RECV|ESTAB|FIN-WAIT-1|FIN-WAIT-2|CLOSE-WAIT|LAST-ACK|CLOSING) '
wait_closed()
{
    local i stuck=""
    for ((i = 0; i < 50; i++)); do
        stuck=$(in_ns ss -Htan "dst $TAPIR_IP" | grep -E "$STUCK")
        [ -z "$stuck" ] && break
        sleep 0.1
    done
    [ -z "$stuck" ] || fail "$1: kernel sockets stuck after the close: $(echo "$stuck" | head -n 5)"
    note "ok: $1: no kernel socket stuck outside TIME-WAIT"
}

time_wait_count() { in_ns ss -Htan state time-wait "dst $TAPIR_IP:7" | grep -c . || true; }

start_stack

# ---- 1. sequential --------------------------------------------------------------------
# One shell inside the namespace runs the whole loop: an `ip netns exec` per connection
# would cost more than the connections do.
start=$(date +%s%N)
rc=0
out=$(in_ns timeout 25 bash -c '
    for ((i = 1; i <= $1; i++)); do
        got=$(printf "sequential %d\n" "$i" | nc -N -w 5 "$2" 7) ||
            { echo "connection $i: nc exited $?"; exit 1; }
        [ "$got" = "sequential $i" ] || { echo "connection $i: got [$got]"; exit 1; }
    done
    echo "all $1 echoed"' _ "$SEQUENTIAL" "$TAPIR_IP" 2>&1) || rc=$?
note "$SEQUENTIAL sequential connections in $((($(date +%s%N) - start) / 1000000)) ms"
[ "$rc" = 0 ] || fail "sequential connections (exit $rc): $out"
expect_eq "sequential connections" "all $SEQUENTIAL echoed" "$out"
wait_closed "after $SEQUENTIAL sequential connections"
# TIME-WAIT lasts 60 s in Linux: every one of them is still there, none was reset
expect_eq "kernel sockets in TIME-WAIT after the sequential connections" "$SEQUENTIAL" \
    "$(time_wait_count)"

# ---- 2. concurrent --------------------------------------------------------------------
# Each client sends its line and then keeps its stdin open until $WORK/go exists, so all
# of them are connected at once; then they all end (FIN) together. Starting 50 shells
# takes seconds on a loaded machine: the clients wait for "go" (and we for them) by the
# clock, not by a count of polls, with room for a load of 30 (KERNEL_TIMEOUT_SCALE).
step "50 concurrent connections"
start=$(date +%s%N)
ip netns exec "$NS" bash -c '
    for ((i = 1; i <= $1; i++)); do
        ( { printf "concurrent %d\n" "$i"
            end=$((SECONDS + $4))
            while [ "$SECONDS" -lt "$end" ] && [ ! -e "$3/go" ]; do sleep 0.05; done; } |
          nc -N -w "$4" "$2" 7 >"$3/conc.$i" 2>&1; echo "$?" >"$3/conc.$i.rc" ) &
    done
    wait' _ "$CONCURRENT" "$TAPIR_IP" "$WORK" "$(scaled 15)" &
clients=$!
established=0
deadline=$((SECONDS + $(scaled 10)))
while [ "$SECONDS" -lt "$deadline" ]; do
    established=$(in_ns ss -Htan state established "dst $TAPIR_IP:7" | grep -c . || true)
    [ "$established" -ge "$CONCURRENT" ] && break
    sleep 0.1
done
touch "$WORK/go"
expect_eq "connections established at the same time" "$CONCURRENT" "$established"
wait_gone "$clients" $((10 * $(scaled 10))) ||
    fail "the concurrent clients did not finish within $(scaled 10) s of 'go'"
wait "$clients"
note "$CONCURRENT concurrent connections in $((($(date +%s%N) - start) / 1000000)) ms"
ok=0
for ((i = 1; i <= CONCURRENT; i++)); do
    [ "$(cat "$WORK/conc.$i.rc" 2>/dev/null)" = 0 ] ||
        fail "concurrent connection $i: nc exit status '$(cat "$WORK/conc.$i.rc" 2>/dev/null)': $(cat "$WORK/conc.$i")"
    [ "$(cat "$WORK/conc.$i")" = "concurrent $i" ] ||
        fail "concurrent connection $i: got [$(cat "$WORK/conc.$i")]"
    ok=$((ok + 1))
done
expect_eq "concurrent connections echoed their own line" "$CONCURRENT" "$ok"
wait_closed "after $CONCURRENT concurrent connections"
expect_eq "kernel sockets in TIME-WAIT after all connections" $((SEQUENTIAL + CONCURRENT)) \
    "$(time_wait_count)"

# ---- 3. counters and capture --------------------------------------------------------------
stop_stack
total=$((SEQUENTIAL + CONCURRENT))
expect_eq "stats: passive opens" "$total" "$(tcp_stat "$STACK_ERR" "passive opens \(SYN to a listener\)")"
expect_eq "stats: connections established" "$total" \
    "$(tcp_stat "$STACK_ERR" "connections that reached ESTABLISHED")"
expect_eq "stats: listen drops" 0 \
    "$(tcp_stat "$STACK_ERR" "handshake ACKs dropped: accept queue full")"
expect_eq "stats: TCB limit" 0 "$(tcp_stat "$STACK_ERR" "connections refused: TCB limit reached")"
expect_eq "stats: segments with a bad checksum" 0 \
    "$(tcp_stat "$STACK_ERR" "segments with a bad checksum")"
expect_eq "stats: RSTs sent" 0 "$(tcp_stat "$STACK_ERR" "RSTs sent")"
expect_eq "SYN|ACKs tapir sent" "$total" \
    "$(pcap_count "$PCAP" "eth.src == $TAPIR_MAC && tcp.flags.syn == 1 && tcp.flags.ack == 1")"
expect_eq "FINs tapir sent" "$total" \
    "$(pcap_count "$PCAP" "eth.src == $TAPIR_MAC && tcp.flags.fin == 1")"
check_pcap "$PCAP"
pass
