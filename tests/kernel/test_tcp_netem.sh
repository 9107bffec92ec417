#!/bin/bash
# tests/kernel/test_tcp_netem.sh - TCP over a bad link: 5% loss, 5 ms delay, 25% reordering.
#
# Run as test_tcp_netem.sh, the link from the kernel to tapir is impaired and the kernel's
# `nc -N` sends 5 MiB through tapir's echo service (port 7): tapir must put the lost and
# reordered segments back in order and echo the same bytes (sha256), telling the kernel
# what it holds with SACK blocks (RFC 2018). Run through test_tcp_netem_send.sh (which
# sources this file), the link from tapir to the kernel is impaired and `tapir nc` sends
# 5 MiB to the kernel's `nc -l`: tapir's retransmissions (SACK recovery, RFC 6675; the tail
# loss probe, RFC 8985; RFC 6298 timeouts) must deliver it intact, guided by the kernel's
# SACK blocks.
#
# The impairment is tapir's own (`--impair in:...` or `out:...`, tap/impair.c, the model
# of the simulated wire): no tc netem (many VM kernels lack sch_netem) and no relay. It is
# seeded, and its counters must agree with everything else that saw the frames: its own
# trace lines (one per lost or reordered frame), tapir's Ethernet counters, the kernel's
# tap0 counters and TCP's retransmissions on the impaired side.
# Either way: no kernel socket stays half-closed, the counters show the repair work and no
# bad checksum, and tshark finds nothing wrong in what tapir sent. Two tests, not one, so
# each stays well inside the suite's per-test time limit.
. "$(dirname "$0")/lib.sh"

need_root

# 5 MiB, as the issue asks. Without SACK and timestamps, both senders often fell back on
# retransmission timeouts at 5% loss (a run took 4-35 s, once over 100 s under ASan); with
# them a run takes a few seconds. The limit below only bounds a failure.
# TCP_NETEM_MIB=N overrides the size, TCP_NETEM_SEED=N the impairment's seed.
# kernel-timeout: 120
MIB=${TCP_NETEM_MIB:-5}
BYTES=$((MIB * 1024 * 1024))
SEED=${TCP_NETEM_SEED:-7}
case "$TEST_NAME" in
tcp_netem_send) DIRECTION=out ;; # tapir -> the kernel
*) DIRECTION=in ;;               # the kernel -> tapir
esac
OTHER=$([ "$DIRECTION" = in ] && echo out || echo in)
IMPAIR="$DIRECTION:loss=5%,$DIRECTION:delay=5ms,$DIRECTION:reorder=25%,seed=$SEED"
TRACE=link,tcp

sha() { sha256sum <"$1" | cut -d' ' -f1; }

# tcp_stat FILE TEXT: a counter of the "TCP (L4):" section of the last --stats block.
tcp_stat() { layer_stat "$1" TCP "$2"; }
# impair_stat FILE in|out TEXT: a counter of the impairment's section for one direction.
impair_stat() { layer_stat "$1" "Impairment $2" "$3"; }
# trace_count FILE REGEX: lines of the trace matching REGEX
trace_count() { grep -cE "$2" "$1" || true; }

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
    [ -z "$stuck" ] || fail "$1: kernel sockets stuck after the close: $stuck"
    note "ok: $1: no kernel socket stuck outside TIME-WAIT"
}

# The impairment did what was asked, on the asked side only, and every count agrees:
# its trace lines, tapir's Ethernet counters and the kernel's tap0 counters.
impairment_check()
{
    local log=$1 d
    note "impairment counters:"
    grep -A 8 '^Impairment ' "$log" | sed 's/^/#   /'
    expect_ge "impairment: frames lost ($DIRECTION)" 1 "$(impair_stat "$log" "$DIRECTION" "frames lost")"
    expect_ge "impairment: frames reordered ($DIRECTION)" 1 \
        "$(impair_stat "$log" "$DIRECTION" "frames reordered")"
    for what in lost reordered duplicated corrupted; do
        expect_eq "impairment: frames $what ($OTHER, not impaired)" 0 \
            "$(impair_stat "$log" "$OTHER" "frames $what")"
    done
    for d in in out; do
        expect_eq "trace lines 'link $d lost' = frames lost ($d)" \
            "$(impair_stat "$log" "$d" "frames lost")" "$(trace_count "$log" "\] L1 link $d lost len=")"
        expect_eq "trace lines 'link $d reordered' = frames reordered ($d)" \
            "$(impair_stat "$log" "$d" "frames reordered")" \
            "$(trace_count "$log" "\] L1 link $d reordered \(held ")"
    done
    # what went in came out, less the losses (nothing duplicated, nothing left over)
    for d in in out; do
        expect_eq "impairment $d: offered - lost - in flight = delivered" \
            "$(impair_stat "$log" "$d" "frames delivered")" \
            "$(($(impair_stat "$log" "$d" "frames offered to the link") - \
                $(impair_stat "$log" "$d" "frames lost") - $(impair_stat "$log" "$d" "frames in flight")))"
    done
    expect_eq "tapir's Ethernet frames sent = frames offered to the link (out)" \
        "$(layer_stat "$log" Ethernet "frames sent")" "$(impair_stat "$log" out "frames offered to the link")"
    expect_eq "tapir's Ethernet frames received = frames the link delivered (in)" \
        "$(layer_stat "$log" Ethernet "frames received")" "$(impair_stat "$log" in "frames delivered")"
    expect_eq "the kernel's tap0 rx_packets = frames the link delivered (out)" \
        "$(impair_stat "$log" out "frames delivered")" "$(in_ns cat /sys/class/net/tap0/statistics/rx_packets)"
}

lab_up
note "impairment: tapir --impair $IMPAIR (no tc netem, no relay)"

if [ "$DIRECTION" = in ]; then
    # ---- the kernel sends the bytes through tapir's echo over the lossy link --------------
    head -c "$BYTES" /dev/urandom >"$WORK/echo.in"
    start_stack --impair "$IMPAIR" --trace "$TRACE"
    expect_match "start-up line names the impairment" \
        "^tapir: impaired link: in: loss=5% delay=5.000ms reorder=25%; out: none; seed=$SEED\$" \
        "$(grep '^tapir: impaired link' "$STACK_ERR")"
    start=$(date +%s%N)
    rc=0
    in_ns timeout 240 nc -N "$TAPIR_IP" 7 <"$WORK/echo.in" >"$WORK/echo.out" 2>"$WORK/echo.err" ||
        rc=$?
    note "$MIB MiB echoed in $((($(date +%s%N) - start) / 1000000)) ms"
    [ "$rc" = 0 ] || fail "nc -N $TAPIR_IP 7 with $MIB MiB exited $rc: $(cat "$WORK/echo.err")"
    expect_eq "bytes echoed back" "$BYTES" "$(stat -c %s "$WORK/echo.out")"
    expect_eq "sha256 of the $MIB MiB echoed" "$(sha "$WORK/echo.in")" "$(sha "$WORK/echo.out")"
    wait_closed "echo connection"
    stop_stack
    impairment_check "$STACK_ERR"
    # the kernel saw the losses too: it had to send segments again
    expect_ge "the kernel's TcpRetransSegs" 1 \
        "$(in_ns nstat -az TcpRetransSegs | awk '$1 == "TcpRetransSegs" { print $2 }')"
    expect_ge "stats: segments held out of order" 1 \
        "$(tcp_stat "$STACK_ERR" "segments held out of order")"
    expect_eq "stats: segments with a bad checksum" 0 \
        "$(tcp_stat "$STACK_ERR" "segments with a bad checksum")"
    expect_eq "stats: connections established" 1 \
        "$(tcp_stat "$STACK_ERR" "connections that reached ESTABLISHED")"
    expect_eq "stats: connections given up" 0 \
        "$(tcp_stat "$STACK_ERR" "connections given up after too many retransmissions")"
    pcap_expect "ACKs from tapir with SACK blocks" ge 1 \
        "eth.src == $TAPIR_MAC && tcp.options.sack_le"
    pcap_verify "$PCAP"
else
    # ---- tapir nc sends the bytes to the kernel's nc -l over the lossy link ---------------
    # text: tshark's heuristics could call raw random payload on port 5001 malformed
    port=5001
    head -c $((BYTES / 4 * 3)) /dev/urandom | base64 -w 76 | head -c "$BYTES" >"$WORK/file.in"
    ip netns exec "$NS" nc -l "$port" >"$WORK/file.out" 2>"$WORK/listener.err" &
    LISTENER=$!
    for ((i = 0; i < 100; i++)); do
        in_ns ss -Htln "sport = :$port" | grep -q . && break
        alive "$LISTENER" || fail "nc -l $port exited: $(cat "$WORK/listener.err")"
        sleep 0.1
    done
    in_ns ss -Htln "sport = :$port" | grep -q . || fail "nc -l $port not listening within 10 s"
    start=$(date +%s%N)
    rc=0
    in_ns timeout 240 "$TAPIR" --impair "$IMPAIR" --trace "$TRACE" --pcap "$PCAP" --stats \
        nc "$PEER_IP" "$port" <"$WORK/file.in" >"$WORK/nc.out" 2>"$STACK_ERR" || rc=$?
    note "$MIB MiB sent in $((($(date +%s%N) - start) / 1000000)) ms"
    [ "$rc" = 0 ] || fail "tapir nc $PEER_IP $port exited $rc: $(tail -n 5 "$STACK_ERR")"
    wait_gone "$LISTENER" 50 || fail "the kernel's nc -l did not exit after tapir's FIN"
    wait "$LISTENER" || fail "the kernel's nc -l exited $?: $(cat "$WORK/listener.err")"
    expect_eq "bytes the kernel's nc -l received" "$BYTES" "$(stat -c %s "$WORK/file.out")"
    expect_eq "sha256 of the $MIB MiB tapir nc sent" "$(sha "$WORK/file.in")" "$(sha "$WORK/file.out")"
    wait_closed "tapir nc connection"
    impairment_check "$STACK_ERR"
    retransmits=$(tcp_stat "$STACK_ERR" "segments retransmitted")
    expect_ge "stats: segments retransmitted" 1 "$retransmits"
    expect_eq "trace: one 'retransmit' line per segment retransmitted" "$retransmits" \
        "$(trace_count "$STACK_ERR" '\] L4 tcp  [0-9.:]+ > [0-9.:]+ retransmit seq=[0-9]+ ')"
    expect_ge "stats: fast retransmits" 1 \
        "$(tcp_stat "$STACK_ERR" "fast retransmits \(3 duplicate ACKs\)")"
    expect_eq "trace: one 'fast retransmit' line per fast retransmit" \
        "$(tcp_stat "$STACK_ERR" "fast retransmits \(3 duplicate ACKs\)")" \
        "$(trace_count "$STACK_ERR" ': fast retransmit after 3 duplicate ACKs .*; RTO [0-9]+ ms$')"
    expect_ge "stats: recoveries with SACK" 1 \
        "$(tcp_stat "$STACK_ERR" "of which recovered with SACK \(RFC 6675\)")"
    expect_eq "stats: segments with a bad checksum" 0 \
        "$(tcp_stat "$STACK_ERR" "segments with a bad checksum")"
    expect_eq "stats: connections given up" 0 \
        "$(tcp_stat "$STACK_ERR" "connections given up after too many retransmissions")"
    pcap_expect "ACKs from the kernel with SACK blocks" ge 1 \
        "eth.dst == $TAPIR_MAC && tcp.options.sack_le"
    pcap_verify "$PCAP"
fi
pass
