#!/bin/bash
# test_gdb.sh - docs/debugging.md's gdb session still does what the page says.
#
#   tests/gdb/test_gdb.sh [BUILD]        (BUILD: a build directory, default build-debug)
#
# Runs `gdb -batch -x tests/gdb/walkthrough.gdb --args BUILD/tapir sim handshake --no-sack
# --no-timestamps` (the SYN of docs/debugging.md, 28 bytes of header); the script
# sources docs/tapir.gdb, stops where the page stops and prints what the page prints. Each
# check below is one thing the page claims (which stack a stop is on, the state a TCB is in,
# the bytes of a segment, the order of the state changes). Prints PASS/FAIL lines, then one
# line "gdb: N passed, N failed"; exit status 1 if anything failed.
set -u
cd "$(dirname "$0")/../.." || exit 1

BUILD=${1:-build-debug}
TAPIR=$BUILD/tapir
passed=0
failed=0

pass() {
    echo "PASS: $1"
    passed=$((passed + 1))
}
fail() {
    echo "FAIL: $1"
    failed=$((failed + 1))
}
finish() {
    echo "gdb: $passed passed, $failed failed"
    [ -z "${CHECK_SUMMARY:-}" ] || echo "$passed $failed" >>"$CHECK_SUMMARY" # make check's total
    [ "$failed" -eq 0 ]
    exit
}

if ! command -v gdb > /dev/null; then
    fail "gdb is not installed (apt-get install gdb)"
    finish
fi
# The page is written against an -O0 -g3 build: build one if there is none.
if [ ! -x "$TAPIR" ]; then
    if [ "$BUILD" = build-debug ]; then
        make --no-print-directory debug > /dev/null || { fail "make debug"; finish; }
    else
        make --no-print-directory BUILD="$BUILD" OPT="-O0 -g3" all > /dev/null ||
            { fail "make BUILD=$BUILD OPT=-O0 -g3"; finish; }
    fi
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
# A bound, not a measurement: the session takes a few seconds; a loaded machine (load 30)
# and software watchpoints can make it many times slower. GDB_TIMEOUT raises it.
limit=${GDB_TIMEOUT:-180}
start=$SECONDS
timeout -k 5 "$limit" gdb -nx -batch -x tests/gdb/walkthrough.gdb --args "$TAPIR" sim handshake \
    --no-sack --no-timestamps > "$out" 2>&1
status=$?
took=$((SECONDS - start))

# The lines from "=== N." up to the next "=== " marker.
section() {
    awk -v n="=== $1." 'index($0, "=== ") == 1 { on = index($0, n) == 1 } on' "$out"
}
# check DESCRIPTION TEXT ERE: TEXT has a line matching ERE
check() {
    if grep -Eq -- "$3" <<< "$2"; then pass "$1"; else fail "$1"; fi
}
# in_order DESCRIPTION TEXT ERE...: TEXT has lines matching each ERE, in this order
in_order() {
    local what=$1 text=$2 line=0 n
    shift 2
    for re in "$@"; do
        n=$(tail -n +$((line + 1)) <<< "$text" | grep -Enm1 -- "$re" | cut -d: -f1)
        if [ -z "$n" ]; then
            fail "$what (missing, or out of order: $re)"
            return
        fi
        line=$((line + n))
    done
    pass "$what"
}

all=$(cat "$out")
s1=$(section 1)
s2=$(section 2)
s3=$(section 3)
s4=$(section 4)
s5=$(section 5)
states=$(grep '^STATE ' "$out")

# gdb ran the whole session, and quickly
if [ $status -eq 0 ] && grep -q 'exited normally' "$out"; then
    pass "gdb ran the session; tapir sim handshake exited normally"
else
    fail "gdb exited $status; the program did not exit normally"
fi
if [ $status -eq 124 ] || [ $status -eq 137 ]; then
    fail "gdb timed out after ${limit}s in section $(grep -o '^=== [0-9]' "$out" | tail -n 1 | cut -c5-) (last section started; raise the limit with GDB_TIMEOUT=SECONDS)"
fi
echo "# the session took ${took}s"
check "docs/tapir.gdb loaded (no error sourcing it)" "$all" '^=== 1\.'
# Forced on every machine: where hardware watchpoints never fire, only software ones work.
check "docs/tapir.gdb switches to software watchpoints (can-use-hw-watchpoints is 0)" "$all" \
    'willingness to use watchpoint hardware is 0\.$'
if grep -q 'Error in sourced command file' "$out"; then
    fail "the script hit a gdb error: $(grep -A1 'Error in sourced' "$out" | tail -1)"
else
    pass "no gdb errors"
fi

# 1. break tcp_input: the first segment is A's SYN arriving at B
check "1: first tcp_input stop is on stack B, 28 bytes of TCP (SYN with options)" "$s1" \
    '^=== 1\. tcp_input: stack B, 28 bytes of TCP$'
in_order "1: bt shows tcp_input <- ip_input <- eth_input <- stack_step <- wire_run <- scenario_handshake <- main" "$s1" \
    '^#0 +tcp_input \(stack=' ' in ip_input \(' ' in eth_input \(' ' in stack_step \(' \
    ' in wire_run \(' ' in scenario_handshake \(' ' in main \('
check "1: print pkb->meta: from 10.0.0.1 (0xa000001) to 10.0.0.2, protocol 6" "$s1" \
    'ip_src = 167772161, ip_dst = 167772162, ip_proto = 6'
check "1: pkb command: len=28, headroom, the IP line" "$s1" '^pkb 0x[0-9a-f]+: len=28 headroom=[0-9]+ tailroom=[0-9]+ cap=[0-9]+$'
check "1: pkb command: ip: 10.0.0.1 > 10.0.0.2 proto=6 ttl=64" "$s1" '^  ip: 10\.0\.0\.1 > 10\.0\.0\.2 proto=6 ttl=64$'
check "1: pkb bytes: destination port 9, data offset 7 (0x70), flags SYN (0x02)" "$s1" \
    '^  0000: .. .. 00 09( ..){8} 70 02 ff ff$'
check "1: pkb bytes: options MSS 1460 (02 04 05 b4), NOP, window scale 3" "$s1" '^  0010: .. .. 00 00 02 04 05 b4 01 03 03 03$'
check "1: x/62xb frame: Ethernet to B from A" "$s1" \
    ':\s0x02\s0x00\s0x00\s0x00\s0x00\s0x02\s0x02\s0x00$'
check "1: x/62xb frame: ethertype 0x0800, IPv4 header 0x45" "$s1" \
    ':\s0x00\s0x00\s0x00\s0x01\s0x08\s0x00\s0x45\s0x00$'
check "1: tcbs: B has only its listener" "$s1" '^1 TCB\(s\) in stack B$'
check "1: tcbs: the listener is 0.0.0.0:9 in LISTEN" "$s1" '^  0x[0-9a-f]+ B 0\.0\.0\.0:9 > 0\.0\.0\.0:0 TCP_LISTEN$'

# 2. break listen_input: the listener and the SYN
check "2: tcb l: B's listener in LISTEN, backlog 4" "$s2" '^tcb 0x[0-9a-f]+ B 0\.0\.0\.0:9 > 0\.0\.0\.0:0 TCP_LISTEN$'
check "2: tcb l: no half-open connection yet" "$s2" 'backlog=4 half-open=0 waiting-accept=0'
check "2: tcphdr &s->h: a SYN to port 9 with MSS 1460" "$s2" \
    '^[0-9]+ > 9 seq=[0-9]+ ack=0 win=65535 hdr_len=28 flags=SYN \(0x02\) mss=1460 wscale=3$'

# 3. break syn_sent_input, then watch -l tcb->state
check "3: A's TCB is in SYN-SENT when the SYN-ACK arrives" "$s3" '^\$[0-9]+ = TCP_SYN_SENT$'
check "3: snd_nxt - iss = 1 (the SYN took one sequence number)" "$s3" '^\$[0-9]+ = 1$'
check "3: tcb tcb: A 10.0.0.1 > 10.0.0.2:9 in SYN-SENT" "$s3" '^tcb 0x[0-9a-f]+ A 10\.0\.0\.1:[0-9]+ > 10\.0\.0\.2:9 TCP_SYN_SENT$'
check "3: tcb tcb: una=iss+0 nxt=iss+1, one byte in flight" "$s3" 'una=iss\+0 nxt=iss\+1 max=iss\+1 in-flight=1'
check "3: tcb tcb: the IRS is not known in SYN-SENT" "$s3" 'irs not known yet'
in_order "3: the watchpoint fires in tcp_set_state: SYN-SENT -> ESTABLISHED" "$s3" \
    '^Old value = TCP_SYN_SENT$' \
    '^New value = TCP_ESTABLISHED$' '^=== 3\. the watchpoint fired$' \
    '^#0 +tcp_set_state \(tcb=0x[0-9a-f]+, s=TCP_ESTABLISHED\)' ' in established \('
if ! grep -q '^Old value = ' <<< "$s3"; then
    fail "3: the watchpoint on tcb->state never fired: the program ran on past it (a hardware watchpoint on a machine without debug registers? docs/tapir.gdb sets can-use-hw-watchpoints 0)"
fi
check "3: tcb tcb after: ESTABLISHED" "$s3" '^tcb 0x[0-9a-f]+ A 10\.0\.0\.1:[0-9]+ > 10\.0\.0\.2:9 TCP_ESTABLISHED$'
check "3: tcb tcb after: una=iss+1 nxt=iss+1, nothing in flight" "$s3" 'una=iss\+1 nxt=iss\+1 max=iss\+1 in-flight=0'
check "3: tcb tcb after: rcv_nxt = irs+1 (B's SYN counted)" "$s3" '^  recv: irs=[0-9]+ nxt=irs\+1 '

# 4. the conditional breakpoint: B, ACK without SYN
check "4: conditional stop: stack B, flags 0x10 (ACK), 20 bytes (no options)" "$s4" \
    '^=== 4\. conditional tcp_input: stack B, flags 0x10, 20 bytes of TCP$'
in_order "4: x/54xb: the whole 54-byte frame, the TCP flags byte 0x10 at offset 47" "$s4" \
    ':\s0x02\s0x00\s0x00\s0x00\s0x00\s0x02\s0x02\s0x00$' ':\s0x00\s0x28(\s0x..){6}$' \
    '(\s0x..){6}\s0x50\s0x10$' ':(\s0x..){6}$'
check "4: tcbs: B's new connection is in SYN-RECEIVED" "$s4" '^  0x[0-9a-f]+ B 10\.0\.0\.2:9 > 10\.0\.0\.1:[0-9]+ TCP_SYN_RECEIVED$'
check "4: tcbs: 2 TCBs in B (the connection and the listener)" "$s4" '^2 TCB\(s\) in stack B$'

# the state changes, as the tcp_set_state breakpoint printed them
in_order "states: B's listener CLOSED -> LISTEN comes first of all" "$states" '^STATE B TCP_CLOSED -> TCP_LISTEN$'
in_order "states: A goes CLOSED -> SYN-SENT -> ESTABLISHED" "$(grep '^STATE A' <<< "$states")" \
    '^STATE A TCP_CLOSED -> TCP_SYN_SENT$' '^STATE A TCP_SYN_SENT -> TCP_ESTABLISHED$'
in_order "states: B's first change from a segment is LISTEN -> SYN-RECEIVED, then ESTABLISHED" \
    "$(grep '^STATE B' <<< "$states" | tail -n +2)" \
    '^STATE B TCP_LISTEN -> TCP_SYN_RECEIVED$' '^STATE B TCP_SYN_RECEIVED -> TCP_ESTABLISHED$'
in_order "states: each change happens at the stop the page shows it at" "$all" \
    '^STATE B TCP_CLOSED -> TCP_LISTEN$' '^STATE A TCP_CLOSED -> TCP_SYN_SENT$' '^=== 1\.' \
    '^=== 2\.' '^STATE B TCP_LISTEN -> TCP_SYN_RECEIVED$' '^=== 3\. syn_sent_input' \
    '^STATE A TCP_SYN_SENT -> TCP_ESTABLISHED$' '^=== 4\.' '^=== 5\.' \
    '^STATE B TCP_SYN_RECEIVED -> TCP_ESTABLISHED$'

# 5. the end: the program's own summary
check "5: the program says A is connected" "$s5" '^A: connected \(ESTABLISHED\)$'
check "5: the program says B accepted" "$s5" '^B: accepted \(ESTABLISHED\)$'

if [ "$failed" -ne 0 ]; then
    echo "--- gdb output ---"
    cat "$out"
fi
finish
