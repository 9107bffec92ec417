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
# SACK blocks. Either way: no kernel socket stays half-closed, the counters show the repair
# work (segments held out of order / recovered with SACK) and no bad checksum, and tshark
# finds nothing wrong in what tapir sent. Two tests, not one, so each stays well inside the
# suite's per-test time limit.
#
# The impairment is `tc qdisc ... netem loss 5% delay 5ms reorder 25%` on tap0 (through
# an ifb device for the direction into the kernel). A kernel built without sch_netem
# (some VM kernels) gets the same impairment from a small relay instead: it holds tap0's
# user side (what tapir would attach to), tapir attaches to a second TAP device tap1, and
# the relay forwards frames between the two, dropping, delaying and reordering IPv4/TCP
# frames with a seeded random generator (python3, standard library only).
. "$(dirname "$0")/lib.sh"

need_root

# 5 MiB, as the issue asks. Without SACK and timestamps, both senders often fell back on
# retransmission timeouts at 5% loss (a run took 4-35 s, once over 100 s under ASan); with
# them a run takes a few seconds. The limit below only bounds a failure.
# TCP_NETEM_MIB=N overrides the size by hand.
# kernel-timeout: 120
MIB=${TCP_NETEM_MIB:-5}
BYTES=$((MIB * 1024 * 1024))
LOSS=5 DELAY_MS=5 REORDER=25
case "$TEST_NAME" in
tcp_netem_send) DIRECTION=to_kernel ;;
*) DIRECTION=to_tapir ;;
esac
TAPIR_TAP=tap0
RELAY_PID=""

sha() { sha256sum <"$1" | cut -d' ' -f1; }

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
    [ -z "$stuck" ] || fail "$1: kernel sockets stuck after the close: $stuck"
    note "ok: $1: no kernel socket stuck outside TIME-WAIT"
}

# ---- the impairment --------------------------------------------------------------------

netem_args() { echo "loss $LOSS% delay ${DELAY_MS}ms reorder $REORDER%"; }

have_netem()
{
    in_ns tc qdisc add dev lo root netem delay 1ms 2>/dev/null || return 1
    in_ns tc qdisc del dev lo root 2>/dev/null
    return 0
}

# netem on the kernel's side of tap0: its egress is what tapir receives; what tapir sends
# is tap0's ingress, redirected through ifb0 to get a qdisc of its own.
netem_up()
{
    if [ "$DIRECTION" = to_tapir ]; then
        # shellcheck disable=SC2046
        in_ns tc qdisc add dev tap0 root netem $(netem_args) || fail "tc netem on tap0 failed"
        IMPAIRED_DEV=tap0
    else
        in_ns ip link add ifb0 type ifb || fail "cannot create ifb0 (CONFIG_IFB)"
        in_ns ip link set ifb0 up
        in_ns tc qdisc add dev tap0 handle ffff: ingress || fail "tc ingress on tap0 failed"
        in_ns tc filter add dev tap0 parent ffff: protocol ip u32 match u32 0 0 \
            action mirred egress redirect dev ifb0 || fail "tc mirred tap0 -> ifb0 failed"
        # shellcheck disable=SC2046
        in_ns tc qdisc add dev ifb0 root netem $(netem_args) || fail "tc netem on ifb0 failed"
        IMPAIRED_DEV=ifb0
    fi
    note "impairment: tc netem $(netem_args) on $IMPAIRED_DEV ($DIRECTION)"
}

# frames netem dropped: at least one, or the test did not test what it says
netem_check()
{
    local dropped
    dropped=$(in_ns tc -s qdisc show dev "$IMPAIRED_DEV" | grep -oE 'dropped [0-9]+' | head -n 1 |
        awk '{print $2}')
    expect_ge "frames netem dropped on $IMPAIRED_DEV" 1 "${dropped:-0}"
}

write_relay()
{
    cat >"$WORK/relay.py" <<'EOF'
# relay.py TAP WIRE TO_TAPIR TO_KERNEL SEED - a bad cable between the kernel and tapir.
# TAP: the kernel's TAP device; we hold its user side. WIRE: the TAP device tapir attaches
# to; we use its kernel side through a packet socket. TO_TAPIR / TO_KERNEL: "loss,ms,reorder"
# for IPv4/TCP frames in that direction, netem-style: a lost frame is dropped, a reordered
# one skips the delay the others wait, so it overtakes them.
import fcntl, heapq, os, random, select, signal, socket, struct, sys, time

TUNSETIFF, IFF_TAP, IFF_NO_PI = 0x400454CA, 0x0002, 0x1000
SOL_PACKET, PACKET_QDISC_BYPASS, PACKET_OUTGOING, ETH_P_ALL = 263, 20, 4, 3
impair = {}
for name, arg in (("to_tapir", sys.argv[3]), ("to_kernel", sys.argv[4])):
    loss, delay_ms, reorder = (float(x) for x in arg.split(","))
    impair[name] = (loss, delay_ms / 1000.0, reorder)
rng = random.Random(int(sys.argv[5]))

kernel = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
fcntl.ioctl(kernel, TUNSETIFF, struct.pack("16sH", sys.argv[1].encode(), IFF_TAP | IFF_NO_PI))
wire = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
wire.setsockopt(SOL_PACKET, PACKET_QDISC_BYPASS, 1)
wire.bind((sys.argv[2], ETH_P_ALL))
wire.setblocking(False)


def to_tapir(frame):
    try:
        wire.send(frame)
    except OSError:
        pass  # tapir is not attached: lost, as on a cable


def to_kernel(frame):
    try:
        os.write(kernel, frame)
    except OSError:
        pass


stats = {n: {"frames": 0, "dropped": 0, "delayed": 0, "reordered": 0} for n in impair}
held, order, stop = [], 0, False


def on_term(sig, frame):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)


def handle(direction, frame, send):
    global order
    loss, delay_s, reorder = impair[direction]
    s = stats[direction]
    s["frames"] += 1
    tcp = len(frame) >= 34 and frame[12:14] == b"\x08\x00" and frame[23] == 6
    if not tcp or (loss == 0 and delay_s == 0):
        send(frame)
    elif rng.random() < loss:
        s["dropped"] += 1
    elif rng.random() < reorder:
        s["reordered"] += 1
        send(frame)
    else:
        s["delayed"] += 1
        order += 1
        heapq.heappush(held, (time.monotonic() + delay_s, order, send, frame))


print("relay: ready", flush=True)
while not stop:
    now = time.monotonic()
    while held and held[0][0] <= now:
        send, frame = heapq.heappop(held)[2:]
        send(frame)
    timeout = max(0.0, held[0][0] - now) if held else 0.5
    try:
        readable = select.select([kernel, wire], [], [], timeout)[0]
    except InterruptedError:
        continue
    for _ in range(64 if kernel in readable else 0):
        try:
            handle("to_tapir", os.read(kernel, 65536), to_tapir)
        except BlockingIOError:
            break
    for _ in range(64 if wire in readable else 0):
        try:
            frame, addr = wire.recvfrom(65536)
        except BlockingIOError:
            break
        if addr[2] != PACKET_OUTGOING:  # not our own frames towards tapir
            handle("to_kernel", frame, to_kernel)
for name in impair:
    print("relay:", name, " ".join("%s=%d" % kv for kv in stats[name].items()), flush=True)
EOF
}

relay_up()
{
    command -v python3 >/dev/null 2>&1 ||
        fail "this kernel has no sch_netem (tc netem) and python3 is missing for the fallback relay"
    write_relay
    # tap1: tapir's end. No address, no ARP, no IPv6: the kernel stays out of its traffic.
    in_ns ip tuntap add dev tap1 mode tap || fail "cannot create tap1"
    in_ns sh -c 'echo 1 > /proc/sys/net/ipv6/conf/tap1/disable_ipv6' 2>/dev/null
    in_ns ip link set tap1 arp off
    in_ns ip link set tap1 up
    local bad good="0,0,0" seed=$$
    bad="$(awk -v l="$LOSS" -v d="$DELAY_MS" -v r="$REORDER" 'BEGIN { print l / 100 "," d "," r / 100 }')"
    local to_tapir=$good to_kernel=$good
    if [ "$DIRECTION" = to_tapir ]; then to_tapir=$bad; else to_kernel=$bad; fi
    ip netns exec "$NS" python3 "$WORK/relay.py" tap0 tap1 "$to_tapir" "$to_kernel" "$seed" \
        >"$WORK/relay.out" 2>&1 &
    RELAY_PID=$!
    local i
    for ((i = 0; i < 50; i++)); do
        grep -q '^relay: ready' "$WORK/relay.out" && break
        alive "$RELAY_PID" || fail "the relay exited: $(cat "$WORK/relay.out")"
        sleep 0.1
    done
    grep -q '^relay: ready' "$WORK/relay.out" || fail "the relay did not start within 5 s"
    TAPIR_TAP=tap1
    note "impairment: no sch_netem in this kernel; relay tap0 <-> tap1 (seed $seed):" \
        "loss $LOSS% delay ${DELAY_MS}ms reorder $REORDER% ($DIRECTION)"
}

# the relay's counters for the impaired direction: it dropped and reordered frames
relay_check()
{
    kill -TERM "$RELAY_PID" 2>/dev/null
    wait_gone "$RELAY_PID" 50 || fail "the relay did not exit on SIGTERM"
    RELAY_PID=""
    cat "$WORK/relay.out"
    local line
    line=$(grep "^relay: $DIRECTION " "$WORK/relay.out")
    expect_ge "frames the relay dropped ($DIRECTION)" 1 \
        "$(printf '%s\n' "$line" | grep -oE 'dropped=[0-9]+' | cut -d= -f2)"
    expect_ge "frames the relay reordered ($DIRECTION)" 1 \
        "$(printf '%s\n' "$line" | grep -oE 'reordered=[0-9]+' | cut -d= -f2)"
}

# lib.sh's cleanup removes the namespace, and with it tap1, ifb0 and the relay (tap/lab
# down stops every process left in the namespace)
lab_up
if have_netem; then
    MODE=netem
    netem_up
else
    MODE=relay
    relay_up
fi
impairment_check() { if [ "$MODE" = netem ]; then netem_check; else relay_check; fi; }

if [ "$DIRECTION" = to_tapir ]; then
    # ---- the kernel sends the bytes through tapir's echo over the lossy link --------------
    head -c "$BYTES" /dev/urandom >"$WORK/echo.in"
    start_stack --offload off --tap "$TAPIR_TAP"
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
    impairment_check
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
    # --offload off: the impairment must see (and lose) single segments, not 64 KiB TSO frames
    in_ns timeout 240 "$TAPIR" --offload off --tap "$TAPIR_TAP" --pcap "$PCAP" --stats nc "$PEER_IP" "$port" \
        <"$WORK/file.in" >"$WORK/nc.out" 2>"$STACK_ERR" || rc=$?
    note "$MIB MiB sent in $((($(date +%s%N) - start) / 1000000)) ms"
    [ "$rc" = 0 ] || fail "tapir nc $PEER_IP $port exited $rc: $(tail -n 5 "$STACK_ERR")"
    wait_gone "$LISTENER" 50 || fail "the kernel's nc -l did not exit after tapir's FIN"
    wait "$LISTENER" || fail "the kernel's nc -l exited $?: $(cat "$WORK/listener.err")"
    expect_eq "bytes the kernel's nc -l received" "$BYTES" "$(stat -c %s "$WORK/file.out")"
    expect_eq "sha256 of the $MIB MiB tapir nc sent" "$(sha "$WORK/file.in")" "$(sha "$WORK/file.out")"
    wait_closed "tapir nc connection"
    impairment_check
    expect_ge "stats: segments retransmitted" 1 "$(tcp_stat "$STACK_ERR" "segments retransmitted")"
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
