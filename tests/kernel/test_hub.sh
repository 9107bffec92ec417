#!/bin/bash
# tests/kernel/test_hub.sh - the hub (docs/chapters/08-hub.md) with the kernel's TCP as the client:
# plain `nc` sessions in the test's namespace against `tapir serve` (hub on port 7000).
#
#   1. rooms: three nc clients join "lobby", a fourth "other"; an EMIT reaches exactly the
#      other two lobby members, with seq going up by one; errors get ERR and the session
#      goes on;
#   2. durability: "dave" says HELLO, joins, QUITs; five events later he says HELLO again
#      and gets OK HELLO dave 5, then the five in order; after ACK and a reconnect only the
#      unacknowledged ones come back;
#   3. --stats shows the hub's counters; tshark finds no bad frame in what tapir sent.
. "$(dirname "$0")/lib.sh"

need_root

HUB_PORT=7000
CLIENT_PIDS=()

# client NAME: start `nc` to the hub; commands go in through fd ${NAME}_fd (a fifo), what
# the hub says lands in $WORK/NAME.out.
client()
{
    local name=$1 fifo="$WORK/$1.in" fd
    mkfifo "$fifo"
    : >"$WORK/$name.out"
    ip netns exec "$NS" timeout 30 nc "$TAPIR_IP" "$HUB_PORT" <"$fifo" >"$WORK/$name.out" \
        2>"$WORK/$name.err" &
    CLIENT_PIDS+=($!)
    eval "${name}_pid=$!"
    exec {fd}>"$fifo" # opening the writer lets nc's "<fifo" open complete
    eval "${name}_fd=$fd"
}

say() # NAME LINE
{
    local fd
    eval "fd=\$${1}_fd"
    printf '%s\n' "$2" >&"$fd" || fail "could not write to client $1"
}

# wait_line NAME REGEX [COUNT]: poll (at most 10 s) until NAME's output has COUNT lines
# matching REGEX.
wait_line()
{
    local i n=0 want=${3:-1}
    for ((i = 0; i < 100; i++)); do
        n=$(grep -cE -- "$2" "$WORK/$1.out" || true)
        [ "$n" -ge "$want" ] && return 0
        sleep 0.1
    done
    fail "client $1: expected $want line(s) matching /$2/ within 10 s, saw $n: $(head -c 600 "$WORK/$1.out")"
}

# wait_closed NAME: after OK BYE the hub closes the connection; nc (stdin still open) sits
# in CLOSE-WAIT, which proves the hub's FIN arrived. Then end that nc. At most 10 s each.
wait_closed()
{
    local i pid n=0
    eval "pid=\$${1}_pid"
    for ((i = 0; i < 100; i++)); do
        n=$(in_ns ss -Htn state close-wait "( dport = :$HUB_PORT )" | grep -c . || true)
        [ "$n" -ge 1 ] && break
        sleep 0.1
    done
    [ "$n" -ge 1 ] || fail "client $1: the hub did not close the connection within 10 s of QUIT"
    kill "$pid" 2>/dev/null
    wait_gone "$pid" 100 || fail "client $1: nc did not end"
    for ((i = 0; i < 100; i++)); do
        n=$(in_ns ss -Htn state close-wait "( dport = :$HUB_PORT )" | grep -c . || true)
        [ "$n" = 0 ] && return 0
        sleep 0.1
    done
    fail "client $1: its socket stayed in CLOSE-WAIT"
}

# hub_stat TEXT: a counter from the "Hub (L7):" block tapir printed at exit.
hub_stat() { layer_stat "$STACK_ERR" Hub "$1"; }

stop_clients()
{
    local pid
    for pid in "${CLIENT_PIDS[@]}"; do
        kill "$pid" 2>/dev/null
    done
}
trap 'hub_rc=$?; stop_clients; (exit $hub_rc); cleanup' EXIT

start_stack --trace app

# ---- 1. rooms ------------------------------------------------------------------------------
client c1
say c1 "JOIN lobby"
wait_line c1 "^OK JOIN lobby$" # c1 is connected first: it is anon-1
for c in c2 c3; do
    client $c
    say $c "JOIN lobby"
    wait_line $c "^OK JOIN lobby$"
done
client c4
say c4 "join other" # commands are not case-sensitive
wait_line c4 "^OK JOIN other$"

say c1 "EMIT lobby chat hello from c1"
wait_line c1 "^OK EMIT 1$"
say c2 "EMIT   lobby chat  hi  "
wait_line c2 "^OK EMIT 2$"
wait_line c3 "^EVENT 2 "
wait_line c1 "^EVENT 2 "
expect_eq "c3 heard both, in order" \
    "OK JOIN lobby|EVENT 1 lobby chat anon-1 hello from c1|EVENT 2 lobby chat anon-2 hi  " \
    "$(paste -sd'|' "$WORK/c3.out")"
expect_eq "c1 heard c2 only (not its own EMIT)" \
    "OK JOIN lobby|OK EMIT 1|EVENT 2 lobby chat anon-2 hi  " "$(paste -sd'|' "$WORK/c1.out")"

# errors: each answered with ERR, and the session goes on
say c3 "EMIT nowhere chat x"
wait_line c3 "^ERR 403 "
say c3 "EMIT lobby disconnect x"
wait_line c3 "^ERR 422 "
say c3 "FLY away"
wait_line c3 "^ERR 400 "
say c3 "$(head -c 3000 /dev/zero | tr '\0' 'x')"
wait_line c3 "^ERR 413 "
say c3 "EMIT lobby chat still here"
wait_line c3 "^OK EMIT 3$"
wait_line c1 "^EVENT 3 lobby chat anon-3 still here$"
wait_line c2 "^EVENT 3 lobby chat anon-3 still here$"
expect_no_match "c4 (room other) saw nothing of the lobby" "EVENT" "$(cat "$WORK/c4.out")"
expect_eq "c2 saw no ERR of c3" 0 "$(grep -c ERR "$WORK/c2.out" || true)"

# ---- 2. durability ------------------------------------------------------------------------
client dave
say dave "HELLO dave"
wait_line dave "^OK HELLO dave 0$"
say dave "JOIN lobby"
wait_line dave "^OK JOIN lobby$"
say dave "QUIT"
wait_line dave "^OK BYE$"
wait_closed dave

for i in 1 2 3 4 5; do
    say c1 "EMIT lobby news item $i"
    wait_line c1 "^OK EMIT $((3 + i))$"
done

client dave2
say dave2 "HELLO dave"
wait_line dave2 "^EVENT 8 "
expect_eq "dave back: OK HELLO first, then the five he missed, in order" \
    "OK HELLO dave 5|EVENT 4 lobby news anon-1 item 1|EVENT 5 lobby news anon-1 item 2|EVENT 6 lobby news anon-1 item 3|EVENT 7 lobby news anon-1 item 4|EVENT 8 lobby news anon-1 item 5" \
    "$(paste -sd'|' "$WORK/dave2.out")"
say dave2 "ACK 6"
wait_line dave2 "^OK ACK 6$"
say dave2 "QUIT"
wait_line dave2 "^OK BYE$"
wait_closed dave2

client dave3
say dave3 "HELLO dave"
wait_line dave3 "^EVENT 8 "
expect_eq "dave again: only the unacknowledged two" \
    "OK HELLO dave 2|EVENT 7 lobby news anon-1 item 4|EVENT 8 lobby news anon-1 item 5" \
    "$(paste -sd'|' "$WORK/dave3.out")"

for c in c1 c2 c3 c4 dave3; do
    say $c "QUIT"
    wait_line $c "^OK BYE$"
    wait_closed $c
done

# ---- 3. counters, trace, capture ----------------------------------------------------------
stop_stack
expect_eq "hub: events emitted" 8 "$(hub_stat "events emitted")"
expect_eq "hub: HELLOs" 3 "$(hub_stat "HELLOs \(durable sessions started\)")"
expect_eq "hub: ACKs" 1 "$(hub_stat "ACKs")"
expect_eq "hub: ERR replies" 4 "$(hub_stat "ERR replies")"
expect_eq "hub: lines over 1024 bytes" 1 "$(hub_stat "lines over 1024 bytes")"
expect_eq "hub: clients connected at exit" 0 "$(hub_stat "clients connected")"
# events delivered: 1,2 to two each; 3 to two; 4-8 to c2, c3 live and 5 replays; 7,8 again
expect_eq "hub: events delivered" 23 "$(hub_stat "events delivered")"
expect_match "trace: the hub's L7 lines" "L7 app +hub: anon-1 EMIT lobby chat seq=1" \
    "$(cat "$STACK_ERR")"
check_pcap "$PCAP"
pass
