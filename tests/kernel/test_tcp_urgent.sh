#!/bin/bash
# tests/kernel/test_tcp_urgent.sh - TCP urgent data (RFC 9293 3.8.5, RFC 6093) both ways with
# the Linux kernel, which keeps the urgent byte out of the stream (SO_OOBINLINE off):
#
#   1. a python3 client sends "ab", then "!" with send(MSG_OOB), then "cd" to `tapir nc -l`:
#      tapir prints the stream "abcd" and reports the urgent byte 0x21 apart;
#   2. `tapir nc -U 'xy!'` sends "xy!" with its last byte urgent, then stdin ("tail"): the
#      kernel's recv(MSG_OOB) returns "!" and its stream is "xytail".
# conformance: MUST-30 MUST-31 MUST-32 MUST-62
. "$(dirname "$0")/lib.sh"

need_root
command -v python3 >/dev/null || fail "python3 is needed on the kernel side"
lab_up

# ---- 1. kernel -> tapir ----------------------------------------------------------------
ip netns exec "$NS" "$TAPIR" --stats nc -l 5100 </dev/null >"$WORK/in.out" 2>"$WORK/in.err" &
STACK_PID=$!
cat >"$WORK/client.py" <<'EOF'
import socket, sys, time
for attempt in range(100):          # tapir nc starts listening within a moment
    try:
        s = socket.create_connection(("10.0.0.2", 5100), timeout=5)
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit("could not connect to tapir nc -l 5100")
s.sendall(b"ab")
s.send(b"!", socket.MSG_OOB)
s.sendall(b"cd")
s.shutdown(socket.SHUT_WR)
while s.recv(4096):
    pass
EOF
in_ns timeout 20 python3 "$WORK/client.py" || fail "the kernel-side client failed"
wait_gone "$STACK_PID" 100 || fail "tapir nc -l did not finish within 10 s"
rc=0
wait "$STACK_PID" || rc=$?
STACK_PID=""
expect_eq "tapir nc -l exit status" 0 "$rc"
expect_eq "the stream tapir received (the urgent byte is not in it)" "abcd" "$(cat "$WORK/in.out")"
expect_match "tapir reports the urgent byte apart" 'urgent byte 0x21' "$(cat "$WORK/in.err")"
expect_eq "urgent marks tapir received" 1 \
    "$(layer_stat "$WORK/in.err" TCP "urgent pointers received \(a new mark\)")"

# ---- 2. tapir -> kernel ----------------------------------------------------------------
cat >"$WORK/server.py" <<'EOF'
import select, socket, sys
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("10.0.0.1", 5101))
l.listen(1)
print("listening", flush=True)
l.settimeout(15)
c, _ = l.accept()
_, _, x = select.select([], [], [c], 10)    # urgent data is an "exceptional condition"
oob = c.recv(1, socket.MSG_OOB) if x else b""
data = b""
c.settimeout(10)
while True:
    d = c.recv(4096)
    if not d:
        break
    data += d
print("oob=%s data=%s" % (oob.decode(), data.decode()), flush=True)
EOF
in_ns timeout 30 python3 "$WORK/server.py" >"$WORK/server.out" 2>&1 &
SERVER=$!
for ((i = 0; i < 100; i++)); do
    grep -q listening "$WORK/server.out" && break
    alive "$SERVER" || fail "the kernel-side server exited: $(cat "$WORK/server.out")"
    sleep 0.1
done
grep -q listening "$WORK/server.out" || fail "the kernel-side server is not listening"
printf tail >"$WORK/tail"
rc=0
ip netns exec "$NS" timeout 20 "$TAPIR" nc -U 'xy!' "$PEER_IP" 5101 <"$WORK/tail" \
    >"$WORK/out.out" 2>"$WORK/out.err" || rc=$?
expect_eq "tapir nc -U exit status" 0 "$rc"
wait_gone "$SERVER" 100 || fail "the kernel-side server did not finish"
expect_eq "what the kernel read" "oob=! data=xytail" "$(tail -n 1 "$WORK/server.out")"
pass
