#!/bin/bash
# tests/kernel/test_run_errors.sh - `tapir run`: Linux's errors, and programs that die.
#
#   1. tests/kernel/run_client.py, on tapir, gets Linux's errno for bad use: ECONNREFUSED
#      (closed port), EADDRINUSE (second bind), EAGAIN (empty non-blocking socket), EPIPE
#      and SIGPIPE (after the peer's RST), EAGAIN and no POLLOUT while a connection is in
#      progress; and a non-blocking client with select() fetches a file byte-exact. (The
#      same script passes against the kernel alone.)
#   2. A program killed (SIGKILL) mid-connection: tapir closes its connections as Linux
#      would (FIN for a clean one, RST for one with unread data), exits with 128+9, and
#      the kernel has no connection to tapir left.
#   3. Garbage on tapir's control socket is dropped, counted and traced; sockets still work.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/run_lib.sh"

need_root
lab_up
mkdir -p "$WORK/www"
head -c $((1024 * 1024 + 3)) /dev/urandom >"$WORK/www/file"
helper_bg "$WORK/http.log" sh -c "cd '$WORK/www' && exec $PYTHON -m http.server -b $PEER_IP 8000"
helper_bg "$WORK/peer.log" "$PYTHON" "$KERNEL_DIR/run_peer.py"
wait_kernel_listen 8000
wait_kernel_listen 9103

# ---- 1. errors ---------------------------------------------------------------------------
rc=0
in_ns timeout 60 "$TAPIR" --trace sock run "$PYTHON" "$KERNEL_DIR/run_client.py" "$PEER_IP" \
    "$(sha256sum <"$WORK/www/file" | cut -d' ' -f1)" >"$WORK/client.out" 2>"$WORK/client.trace" || rc=$?
cat "$WORK/client.out"
expect_eq "checks failed in run_client.py on tapir" 0 "$rc"
expect_eq "checks passed in run_client.py on tapir" 7 "$(grep -c '^ok ' "$WORK/client.out")"
expect_match "the trace shows the refused connect()" "L5 sock python3: fd [0-9]+: the program learns ECONNREFUSED" \
    "$(cat "$WORK/client.trace")"

# ---- 2. a program killed mid-connection --------------------------------------------------
rc=0
in_ns timeout 30 "$TAPIR" --pcap "$PCAP" --trace sock run "$PYTHON" -c '
import os, select, signal, socket
quiet = socket.create_connection(("10.0.0.1", 9101))  # the peer reads, never writes
quiet.sendall(b"q" * 3000)
talker = socket.create_connection(("10.0.0.1", 9103))  # the peer sends 1000 bytes
select.select([talker], [], [], 10)                   # ... which we never read
os.kill(os.getpid(), signal.SIGKILL)' 2>"$WORK/crash.trace" || rc=$?
expect_eq "exit status of tapir run (the program's SIGKILL)" 137 "$rc"
expect_match "the trace: the unread connection is aborted" "fd [0-9]+: closed with unread data: abort \(RST\)" \
    "$(cat "$WORK/crash.trace")"
pcap_expect "RSTs tapir sent to port 9103" eq 1 "ip.src == $TAPIR_IP && tcp.dstport == 9103 && tcp.flags.reset == 1"
pcap_expect "FINs tapir sent to port 9101" eq 1 "ip.src == $TAPIR_IP && tcp.dstport == 9101 && tcp.flags.fin == 1"
pcap_expect "RSTs tapir sent to port 9101" eq 0 "ip.src == $TAPIR_IP && tcp.dstport == 9101 && tcp.flags.reset == 1"
pcap_expect "the kernel's FIN on 9101, which tapir waited for" eq 1 \
    "ip.src == $PEER_IP && tcp.srcport == 9101 && tcp.flags.fin == 1"
pcap_verify "$PCAP"
expect_eq "kernel connections to tapir left (TIME-WAIT aside)" "" "$(connections_to_tapir)"

# ---- 3. garbage on the control socket: dropped, counted, traced; sockets still work -------
out=$(in_ns timeout 30 "$TAPIR" --trace sock run "$PYTHON" -c '
import os, socket
c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
c.connect("\0" + os.environ["TAPIR_RUN_SOCKET"])
c.send(b"garbage")                  # too short
c.send(b"\x63" + b"\0" * 200)       # too long
c.send(b"\x63" + b"\0" * 31)        # the right size, an unknown request: EINVAL
assert len(c.recv(100)) == 32
s = socket.create_connection(("10.0.0.1", 9101))
s.sendall(b"still fine")
print("connected after the garbage")' 2>&1) || fail "tapir run with garbage requests failed: $out"
expect_match "a socket works after the garbage" "^connected after the garbage" "$out"
expect_match "garbage traced" "a malformed request \(7 bytes\) dropped" "$out"
expect_match "garbage counted" "L5 sock [0-9]+ requests from the program, 3 malformed" "$out"
pass
