#!/bin/bash
# tests/kernel/test_run_udp.sh - `tapir run`: UDP (SOCK_DGRAM) sockets on tapir.
#
#   1. run_udp.py client, on tapir, against the kernel's UDP echo server: sendto/recvfrom
#      with the source address, connect/send/recv/sendmsg/recvmsg, MSG_PEEK, truncation
#      (MSG_TRUNC), EAGAIN, select(), ECONNREFUSED after ICMP port unreachable on a
#      connected socket (by the next recv and the next send), EOPNOTSUPP/EADDRINUSE/EINVAL
#      (the script passes on the kernel alone too).
#   2. The other way: run_udp.py server on tapir echoes what the kernel sends.
#   3. `tapir run nc -u` (OpenBSD netcat, unmodified) to the kernel's `nc -u -l`;
#   4. `tapir run nc -u -l` from the kernel's `nc -u`.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/run_lib.sh"

need_root
lab_up
helper_bg "$WORK/echo.log" "$PYTHON" "$KERNEL_DIR/run_udp.py" echo "$PEER_IP" 9300
wait_file_match "$WORK/echo.log" "^ready"

# ---- 1. tapir's side sends and receives ---------------------------------------------------
rc=0
in_ns timeout 60 "$TAPIR" --pcap "$PCAP" --trace sock run "$PYTHON" "$KERNEL_DIR/run_udp.py" client \
    "$PEER_IP" 9300 >"$WORK/client.out" 2>"$WORK/client.trace" || rc=$?
cat "$WORK/client.out"
expect_eq "checks failed in run_udp.py client on tapir" 0 "$rc"
expect_eq "checks passed in run_udp.py client on tapir" 6 "$(grep -c '^ok ' "$WORK/client.out")"
trace=$(cat "$WORK/client.trace")
expect_match "the trace shows the UDP socket()" "L5 sock python3: socket\(AF_INET, SOCK_DGRAM\) = fd [0-9]+" "$trace"
expect_match "the trace shows the refused datagram" "L5 sock fd [0-9]+: ECONNREFUSED: the program's next receive reports it" "$trace"
pcap_expect "datagrams from tapir to the echo server" ge 8 "ip.src == $TAPIR_IP && udp.dstport == 9300"
pcap_expect "ICMP port unreachable for tapir's datagram to port 9" ge 1 \
    "ip.src == $PEER_IP && icmp.type == 3 && icmp.code == 3 && udp.dstport == 9"

# ---- 2. tapir's side serves, the kernel sends -----------------------------------------------
tapir_run_bg "$WORK/server.trace" run "$PYTHON" "$KERNEL_DIR/run_udp.py" server 9301 2
wait_file_match "$WORK/server.trace" "L5 sock python3: bind\(fd [0-9]+, 0.0.0.0:9301\) = 0"
wait_link_up
out=$(in_ns timeout 30 "$PYTHON" "$KERNEL_DIR/run_udp.py" send "$TAPIR_IP" 9301 2>&1) || true
expect_eq "the kernel's datagrams came back from tapir's server" "ok" "$out"
wait_gone "$RUN_PID" 100 || fail "tapir run of the UDP server did not end after 2 datagrams"
rc=0
wait "$RUN_PID" || rc=$?
RUN_PID=""
expect_eq "exit status of the UDP server on tapir" 0 "$rc"
expect_match "the server saw the kernel's address" "echoed 3000 bytes to $PEER_IP:[0-9]+" \
    "$(cat "$WORK/server.trace.out")"

# ---- 3. tapir run nc -u -> the kernel's nc -u -l --------------------------------------------
helper_bg "$WORK/kernel-nc.out" nc -u -l "$PEER_IP" 9302
for ((i = 0; i < 100; i++)); do
    in_ns ss -Hulnp "sport = :9302" | grep -q nc && break
    sleep 0.1
done
printf 'hello over udp\n' | in_ns timeout 5 "$TAPIR" --trace sock run nc -u -q 1 "$PEER_IP" 9302 \
    2>"$WORK/nc.trace" >/dev/null || true
wait_file_match "$WORK/kernel-nc.out" "^hello over udp$"
expect_match "the trace shows nc's UDP connect()" "L5 sock nc: connect\(fd [0-9]+, $PEER_IP:9302\) = 0" \
    "$(cat "$WORK/nc.trace")"

# ---- 4. tapir run nc -u -l <- the kernel's nc -u ---------------------------------------------
tapir_run_bg "$WORK/nc-server.trace" run nc -u -l 9303 </dev/null
wait_file_match "$WORK/nc-server.trace" "L5 sock nc: bind\(fd [0-9]+, 0.0.0.0:9303\) = 0"
printf 'hello back\n' | in_ns timeout 5 nc -u -q 1 "$TAPIR_IP" 9303 || true
wait_file_match "$WORK/nc-server.trace.out" "^hello back$"
expect_match "tapir's nc -u -l connected to the kernel's nc (as nc does after the first datagram)" \
    "L5 sock nc: connect\(fd [0-9]+, $PEER_IP:[0-9]+\) = 0" "$(cat "$WORK/nc-server.trace")"
stop_tapir_run
pass
