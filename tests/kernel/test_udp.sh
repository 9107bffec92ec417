#!/bin/bash
# tests/kernel/test_udp.sh - UDP (RFC 768) with the Linux kernel as the peer.
#
#   1. the kernel's `nc -u` gets every datagram echoed by tapir's echo service (port 7),
#      byte for byte (sha256), from 1 byte to 8000 (fragmented both ways);
#   2. a datagram to a closed port makes the kernel report "Connection refused" (tapir's
#      ICMP port unreachable reached the sending socket); one to the subnet broadcast
#      draws no ICMP at all (RFC 1122 3.2.2);
#   3. `tapir nc -u 10.0.0.1 PORT < file` delivers a file to the kernel's `nc -u -l PORT`;
#   4. tshark finds no malformed frame and no bad checksum in anything tapir sent.
. "$(dirname "$0")/lib.sh"

need_root

# udp_stat FILE TEXT: a counter of the "UDP (L4):" section of --stats output. (IP and UDP
# both have "datagrams received" and "datagrams sent", so stat_value could pick IP's.)
udp_stat() { layer_stat "$1" UDP "$2"; }

sha() { sha256sum <"$1" | cut -d' ' -f1; }

# ---- 1. echo: kernel nc -> tapir port 7 -> back ----------------------------------------
start_stack
# The kernel may drop what it sends for up to a second after tapir attaches to tap0 (see
# part 3); wait until it reaches tapir at all, so nc's idle timeout below cannot expire
# while the kernel is still resolving tapir's address.
reached=""
for ((i = 0; i < 10; i++)); do
    if in_ns ping -c 1 -W 1 "$TAPIR_IP" >/dev/null 2>&1; then
        reached=1
        break
    fi
done
[ -n "$reached" ] || fail "the kernel cannot ping tapir at $TAPIR_IP"
# 1472 is the largest payload in one 1500-byte frame; 1473 and 8000 need fragments.
sizes="1 100 1472 1473 8000"
for size in $sizes; do
    head -c "$size" /dev/urandom >"$WORK/echo-$size.in"
    # one read of the file is one datagram; -w1: quit 1 s after the reply stops coming
    in_ns timeout 20 nc -u -w1 "$TAPIR_IP" 7 <"$WORK/echo-$size.in" >"$WORK/echo-$size.out" ||
        fail "nc -u $TAPIR_IP 7 with $size bytes failed"
    expect_eq "sha256 of the $size-byte datagram echoed" "$(sha "$WORK/echo-$size.in")" \
        "$(sha "$WORK/echo-$size.out")"
done

# ---- 2. closed port: ICMP port unreachable -> ECONNREFUSED in the kernel ------------------
# socat's UDP socket is connected, so Linux hands it the ICMP error: its read fails with
# ECONNREFUSED. -t5 keeps it reading (bounded) after stdin ends, so the error cannot be
# missed by exiting first.
rc=0
refused=$(printf 'anyone?\n' | in_ns timeout 20 socat -t5 - "UDP:$TAPIR_IP:4242" 2>&1) || rc=$?
expect_match "socat to closed port 4242" "E read\(.*\): Connection refused" "$refused"
[ "$rc" != 0 ] || fail "socat to a closed port exited 0"

# the same to the subnet broadcast: tapir must stay quiet (no ICMP about a broadcast)
printf 'all?\n' | in_ns timeout 20 socat -u - "UDP-DATAGRAM:10.0.0.255:4242,broadcast" ||
    fail "socat could not send to 10.0.0.255"
# a unicast datagram after it; once tapir answered this one it has handled the broadcast
printf 'last\n' | in_ns timeout 20 nc -u -w1 "$TAPIR_IP" 7 >"$WORK/last.out" ||
    fail "nc -u $TAPIR_IP 7 after the broadcast failed"
expect_eq "echo after the broadcast" "last" "$(cat "$WORK/last.out")"

stop_stack
expect_eq "UDP datagrams to a closed port" 2 "$(udp_stat "$STACK_ERR" "datagrams to a closed port")"
expect_eq "ICMP destination unreachable sent" 1 \
    "$(stat_value "$STACK_ERR" "destination unreachable sent")"
expect_ge "ICMP errors not sent (the broadcast)" 1 \
    "$(stat_value "$STACK_ERR" "errors not sent \(RFC 1122 3.2.2 forbids\)")"
expect_ge "IP datagrams reassembled (1473 and 8000 bytes)" 2 \
    "$(stat_value "$STACK_ERR" "datagrams reassembled")"
expect_eq "UDP datagrams with a bad checksum" 0 \
    "$(udp_stat "$STACK_ERR" "datagrams with a bad checksum")"

# what the capture shows: one echo per datagram, one port unreachable, none for 10.0.0.255
expect_eq "echo replies in the capture" 6 \
    "$(pcap_count "$PCAP" "eth.src == $TAPIR_MAC && udp.srcport == 7")"
expect_eq "port unreachable in the capture" 1 \
    "$(pcap_count "$PCAP" "eth.src == $TAPIR_MAC && icmp.type == 3 && icmp.code == 3")"
expect_eq "ICMP about the broadcast" 0 "$(pcap_count "$PCAP" "icmp && ip.dst == 10.0.0.255")"
check_pcap "$PCAP"

# ---- 3. tapir nc -u -> kernel nc -u -l --------------------------------------------------
# Only one process may attach to tap0, so serve is stopped (above) before tapir nc runs.
#
# tapir nc exits 200 ms after its stdin ends, and a datagram still waiting for ARP then is
# lost. Right after a process attaches to tap0 the kernel may not answer ARP for up to a
# second (its link watcher has not yet brought the device's queue up), so tapir's first
# ARP request can go unanswered and the retry comes 1 s later. So we feed stdin through a
# FIFO: first a line, and only once the kernel's listener has it (ARP is resolved), the
# file and then EOF.
port=5555
# text, not raw random bytes: tshark's heuristic dissectors take random UDP payloads for
# RTP/RTCP now and then and call them malformed (ASCII never starts an RTP version 2 header)
head -c 49152 /dev/urandom | base64 -w 0 >"$WORK/file.in" # 65536 bytes
ip netns exec "$NS" nc -d -u -l "$port" >"$WORK/file.out" 2>"$WORK/listener.err" &
listener=$!
bound=""
for ((i = 0; i < 100; i++)); do # the listener must be bound before the first datagram
    if in_ns ss -Huln "sport = :$port" | grep -q .; then
        bound=1
        break
    fi
    alive "$listener" || fail "nc -u -l $port exited: $(cat "$WORK/listener.err")"
    sleep 0.1
done
[ -n "$bound" ] || fail "nc -u -l $port was not bound within 10 s"

mkfifo "$WORK/nc.stdin"
in_ns timeout 30 "$TAPIR" --pcap "$WORK/nc.pcap" --stats nc -u "$PEER_IP" "$port" \
    <"$WORK/nc.stdin" >"$WORK/nc.out" 2>"$WORK/nc.err" &
sender=$!
exec 3>"$WORK/nc.stdin"
printf 'hello\n' >&3
for ((i = 0; i < 100; i++)); do # ARP: 3 requests 1 s apart at most
    [ "$(stat -c %s "$WORK/file.out")" -ge 6 ] && break
    alive "$sender" || fail "tapir nc -u exited early: $(tail -n 5 "$WORK/nc.err")"
    sleep 0.1
done
expect_eq "first line through tapir nc -u" "hello" "$(head -n 1 "$WORK/file.out")"
cat "$WORK/file.in" >&3 # each read() of stdin (at most 8192 bytes) is one datagram
exec 3>&-
rc=0
wait "$sender" || rc=$?
[ "$rc" = 0 ] || fail "tapir nc -u exited with $rc: $(tail -n 5 "$WORK/nc.err")"
expect_ge "tapir nc UDP datagrams sent" 9 "$(udp_stat "$WORK/nc.err" "datagrams sent")"

want=$((6 + 65536))
for ((i = 0; i < 100; i++)); do # the kernel's nc may still be writing the last datagram
    [ "$(stat -c %s "$WORK/file.out")" -ge "$want" ] && break
    sleep 0.1
done
kill "$listener" 2>/dev/null
wait "$listener" 2>/dev/null
expect_eq "bytes the kernel's nc -u -l received" "$want" "$(stat -c %s "$WORK/file.out")"
tail -c +7 "$WORK/file.out" >"$WORK/file.body"
expect_eq "sha256 of the file tapir nc -u sent" "$(sha "$WORK/file.in")" "$(sha "$WORK/file.body")"
check_pcap "$WORK/nc.pcap"

pass
