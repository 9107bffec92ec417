#!/bin/bash
# tests/kernel/test_tcp_keepalive.sh - TCP keep-alive (RFC 9293 3.8.4, RFC 1122 4.2.3.6)
# with the Linux kernel as the peer, and the address rules of a connection's OPEN.
#
#   1. `tapir nc -K 1 10.0.0.1 PORT` (keep-alive after 1 s of silence, every 1 s, 3 lost
#      and the peer is dead) to the kernel's `nc -l`: nothing is said, yet the connection
#      stays up because the kernel answers each probe (tapir's live counters show probes
#      sent and none given up; tshark sees the kernel's keep-alive ACKs);
#   2. the kernel then goes silent (nftables drops what it sends): after 3 unanswered
#      probes tapir gives up, `nc` exits 1 with "Connection timed out";
#   3. `tapir nc -s 10.0.0.255 ...` (a socket bound to the subnet broadcast) is refused
#      with "Cannot assign requested address" and sends no SYN (MUST-43).
# conformance: MUST-24 MUST-26 MUST-27 MUST-29 SHLD-12 MUST-43
# kernel-timeout: 60
. "$(dirname "$0")/lib.sh"

need_root
command -v nft >/dev/null || fail "nft (nftables) is needed to silence the kernel"
lab_up
PORT=5099

# ---- 1. probes answered by the kernel --------------------------------------------------
# stdin that stays open (and silent) for a bounded time, so neither nc sends or ends
ip netns exec "$NS" nc -l "$PORT" < <(sleep 25) >"$WORK/listener.out" 2>&1 &
for ((i = 0; i < 100; i++)); do
    in_ns ss -Htln "sport = :$PORT" | grep -q . && break
    sleep 0.1
done
in_ns ss -Htln "sport = :$PORT" | grep -q . || fail "the kernel's nc -l is not listening"

STACK_OUT="$WORK/nc.out"
STACK_ERR="$WORK/nc.err"
ip netns exec "$NS" "$TAPIR" --pcap "$PCAP" --stats nc -K 1 "$PEER_IP" "$PORT" < <(sleep 25) \
    >"$STACK_OUT" 2>"$STACK_ERR" &
STACK_PID=$!
for ((i = 0; i < 100; i++)); do
    in_ns ss -Htan "dst $TAPIR_IP" | grep -q '^ESTAB' && break
    sleep 0.1
done
in_ns ss -Htan "dst $TAPIR_IP" | grep -q '^ESTAB' || fail "no connection from tapir nc within 10 s"
note "ok: connected; now both sides are silent"

# Four probes sent: the kernel has answered the first three (each answer leaves it within
# microseconds; the next probe comes a second later), so none races the nft rule below.
wait_stat "keep-alive probes sent" 4
expect_eq "connections given up by keep-alive while the kernel answers" 0 \
    "$(stat_value "$STACK_ERR" "connections given up: keep-alive probes unanswered")"
in_ns ss -Htan "dst $TAPIR_IP" | grep -q '^ESTAB' || fail "the idle connection did not survive"
note "ok: the kernel answered the probes; the connection lives"

# ---- 2. a peer that went silent is found dead ------------------------------------------
in_ns nft add table inet tapir_ka
in_ns nft add chain inet tapir_ka out '{ type filter hook output priority 0; }'
in_ns nft add rule inet tapir_ka out tcp sport "$PORT" drop
wait_gone "$STACK_PID" 200 || fail "tapir nc did not give up on a silent peer within 20 s"
rc=0
wait "$STACK_PID" || rc=$?
STACK_PID=""
expect_eq "nc exit status after the peer went silent" 1 "$rc"
expect_match "nc says why" 'Connection timed out' "$(cat "$STACK_ERR")"
expect_eq "connections given up by keep-alive" 1 \
    "$(layer_stat "$STACK_ERR" TCP "connections given up: keep-alive probes unanswered")"
expect_ge "keep-alive probes sent" 6 "$(layer_stat "$STACK_ERR" TCP "keep-alive probes sent")"
pcap_expect "keep-alive probes tapir sent" ge 6 "ip.src == $TAPIR_IP && tcp.analysis.keep_alive"
pcap_expect "the kernel's answers to them" ge 3 "ip.src == $PEER_IP && tcp.analysis.keep_alive_ack"
pcap_verify "$PCAP"

# ---- 3. connect from a broadcast-bound socket is refused --------------------------------
rc=0
ip netns exec "$NS" timeout 10 "$TAPIR" --stats nc -s 10.0.0.255 "$PEER_IP" "$PORT" </dev/null \
    >"$WORK/bcast.out" 2>"$WORK/bcast.err" || rc=$?
expect_eq "nc -s 10.0.0.255 exit status" 1 "$rc"
expect_match "nc -s 10.0.0.255 says why" 'connect: Cannot assign requested address' \
    "$(cat "$WORK/bcast.err")"
expect_eq "segments sent from a broadcast-bound socket" 0 \
    "$(layer_stat "$WORK/bcast.err" TCP "segments sent")"
pass
