#!/bin/bash
# tests/kernel/test_tcp.sh - TCP (RFC 9293) with the Linux kernel as the peer, both ways.
#
#   1. the kernel's `nc -N` sends 10 MiB to tapir's echo service (port 7) and reads the
#      same bytes back (sha256); the kernel closed first, so its socket ends in TIME-WAIT
#      and no socket is left half-closed (FIN-WAIT, CLOSE-WAIT, LAST-ACK, ...);
#   2. the kernel's connect to a closed port of tapir is refused (tapir answers with RST);
#   3. `tapir nc 10.0.0.1 PORT` sends 10 MiB to the kernel's `nc -l PORT` (sha256), exits
#      0, and the kernel's socket is fully closed afterwards;
#   4. `tapir nc` to a closed port of the kernel exits 1 with "Connection refused";
#   5. the counters at exit agree (no bad checksum, the RST, one connection each) and
#      tshark finds no malformed frame and no bad checksum in anything tapir sent.
. "$(dirname "$0")/lib.sh"

need_root

MIB10=$((10 * 1024 * 1024))

sha() { sha256sum <"$1" | cut -d' ' -f1; }

# tcp_stat FILE TEXT: a counter of the "TCP (L4):" section of the last --stats block.
tcp_stat() { layer_stat "$1" TCP "$2"; }

# wait_closed: the kernel's sockets to or from tapir either are gone or wait in
# TIME-WAIT; poll (at most 5 s) for FIN-WAIT, CLOSE-WAIT, LAST-ACK, ... to drain, then
# fail naming whatever is still stuck half-way.
STUCK='^(SYN-SENT|SYN-RECV|ESTAB|FIN-WAIT-1|FIN-WAIT-2|CLOSE-WAIT|LAST-ACK|CLOSING) '
wait_closed() # WHAT
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

# kernel_listen PORT OUTFILE: the kernel's `nc -l PORT > OUTFILE` in the background
# ($LISTENER), polled until ss shows it listening.
kernel_listen()
{
    ip netns exec "$NS" nc -l "$1" >"$2" 2>"$WORK/listener.err" &
    LISTENER=$!
    local i
    for ((i = 0; i < 100; i++)); do
        in_ns ss -Htln "sport = :$1" | grep -q . && return 0
        alive "$LISTENER" || fail "nc -l $1 exited: $(cat "$WORK/listener.err")"
        sleep 0.1
    done
    fail "nc -l $1 was not listening within 10 s"
}

# ---- 1. kernel nc -> tapir echo, 10 MiB and back ------------------------------------------
head -c "$MIB10" /dev/urandom >"$WORK/echo.in"
start_stack
rc=0
in_ns timeout 20 nc -N "$TAPIR_IP" 7 <"$WORK/echo.in" >"$WORK/echo.out" 2>"$WORK/echo.err" ||
    rc=$?
[ "$rc" = 0 ] || fail "nc -N $TAPIR_IP 7 with 10 MiB exited $rc: $(cat "$WORK/echo.err")"
expect_eq "bytes echoed back" "$MIB10" "$(stat -c %s "$WORK/echo.out")"
expect_eq "sha256 of the 10 MiB echoed" "$(sha "$WORK/echo.in")" "$(sha "$WORK/echo.out")"
wait_closed "echo connection"
# the kernel sent the first FIN and got tapir's: it is the one in TIME-WAIT (RFC 9293 3.6)
expect_match "kernel socket after the echo" "^TIME-WAIT .* $TAPIR_IP:7 *\$" \
    "$(in_ns ss -Htan "dst $TAPIR_IP:7")"

# ---- 2. a closed port of tapir: RST, so the kernel reports "Connection refused" --------
rc=0
refused=$(in_ns timeout 10 nc -v -N -w 5 "$TAPIR_IP" 4242 </dev/null 2>&1) || rc=$?
expect_eq "exit status of nc to closed port 4242" 1 "$rc"
expect_match "nc to closed port 4242" "Connection refused" "$refused"
wait_closed "refused connection"

stop_stack
expect_eq "stats: TCP segments with a bad checksum" 0 \
    "$(tcp_stat "$STACK_ERR" "segments with a bad checksum")"
expect_eq "stats: passive opens" 1 "$(tcp_stat "$STACK_ERR" "passive opens \(SYN to a listener\)")"
expect_eq "stats: connections established" 1 \
    "$(tcp_stat "$STACK_ERR" "connections that reached ESTABLISHED")"
expect_eq "stats: segments for no connection (the SYN to 4242)" 1 \
    "$(tcp_stat "$STACK_ERR" "segments for no connection \(answered with RST\)")"
expect_ge "stats: RSTs sent" 1 "$(tcp_stat "$STACK_ERR" "RSTs sent")"
# at least one segment per 64 KiB: the TAP device may join segments (receive offload)
expect_ge "stats: segments received" $((MIB10 / 65536)) "$(tcp_stat "$STACK_ERR" "segments received")"
expect_ge "stats: bytes received at the link" "$MIB10" \
    "$(awk '/^Ethernet/ { b = "" } / bytes received$/ && !done { b = $1 } END { print b }' "$STACK_ERR")"
expect_eq "RST|ACK from tapir's port 4242 in the capture" 1 \
    "$(pcap_count "$PCAP" "eth.src == $TAPIR_MAC && tcp.srcport == 4242 && tcp.flags.reset == 1 && tcp.flags.ack == 1")"
expect_eq "FINs tapir sent on port 7" 1 \
    "$(pcap_count "$PCAP" "eth.src == $TAPIR_MAC && tcp.srcport == 7 && tcp.flags.fin == 1 && !tcp.analysis.retransmission")"
check_pcap "$PCAP"

# ---- 3. tapir nc -> kernel nc -l, 10 MiB ----------------------------------------------
# Only one process may attach to tap0: serve is stopped (above) before tapir nc runs.
# Text, not raw bytes: tshark's heuristic dissectors could take raw random payload on an
# arbitrary port for some protocol and call it malformed.
port=5001
head -c $((MIB10 / 4 * 3)) /dev/urandom | base64 -w 76 | head -c "$MIB10" >"$WORK/file.in"
kernel_listen "$port" "$WORK/file.out"
rc=0
in_ns timeout 20 "$TAPIR" --pcap "$WORK/nc.pcap" --stats nc "$PEER_IP" "$port" \
    <"$WORK/file.in" >"$WORK/nc.out" 2>"$WORK/nc.err" || rc=$?
[ "$rc" = 0 ] || fail "tapir nc $PEER_IP $port exited $rc: $(tail -n 5 "$WORK/nc.err")"
wait_gone "$LISTENER" 50 || fail "the kernel's nc -l did not exit after tapir's FIN"
wait "$LISTENER" || fail "the kernel's nc -l exited $?: $(cat "$WORK/listener.err")"
expect_eq "bytes the kernel's nc -l received" "$MIB10" "$(stat -c %s "$WORK/file.out")"
expect_eq "sha256 of the 10 MiB tapir nc sent" "$(sha "$WORK/file.in")" "$(sha "$WORK/file.out")"
wait_closed "tapir nc connection"
expect_eq "tapir nc: TCP segments with a bad checksum" 0 \
    "$(tcp_stat "$WORK/nc.err" "segments with a bad checksum")"
expect_eq "tapir nc: active opens" 1 "$(tcp_stat "$WORK/nc.err" "active opens \(connect\)")"
expect_eq "tapir nc: connections given up" 0 \
    "$(tcp_stat "$WORK/nc.err" "connections given up after too many retransmissions")"
check_pcap "$WORK/nc.pcap"

# ---- 4. tapir nc to a closed port of the kernel ---------------------------------------
rc=0
in_ns timeout 20 "$TAPIR" nc "$PEER_IP" 4243 </dev/null >"$WORK/refused.out" \
    2>"$WORK/refused.err" || rc=$?
expect_eq "exit status of tapir nc to closed port 4243" 1 "$rc"
expect_match "tapir nc to closed port 4243" "Connection refused" "$(cat "$WORK/refused.err")"

pass
