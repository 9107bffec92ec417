#!/bin/bash
# tests/kernel/test_tcp_options.sh - the kernel and tapir agree on SACK (RFC 2018) and
# timestamps (RFC 7323), both ways, and turn them off together.
#
#   1. the kernel connects to tapir's echo service: both SYNs carry SACK-permitted and a
#      timestamp, every later segment either side sends carries a timestamp, and tapir's
#      echo the kernel's clock;
#   2. tapir (`tapir nc`) connects to the kernel's `nc -l`: the same from tapir's SYN;
#   3. tapir with --no-sack --no-timestamps: its SYN-ACK carries neither, and then neither
#      side sends them (the kernel follows what the SYN-ACK said).
# Each run is byte-exact, and tshark's TCP analysis finds nothing wrong (no lost segment,
# no out-of-order, no window problem) in a clean exchange.
. "$(dirname "$0")/lib.sh"

need_root
BYTES=$((256 * 1024))
# text: tshark's heuristic dissectors could take random bytes for some protocol
head -c $((BYTES / 4 * 3)) /dev/urandom | base64 -w 76 | head -c "$BYTES" >"$WORK/in"
sha() { sha256sum <"$1" | cut -d' ' -f1; }
FROM_TAPIR="eth.src == $TAPIR_MAC"
FROM_KERNEL="eth.dst == $TAPIR_MAC"
SYN="tcp.flags.syn == 1"
# (a retransmission is no problem of the options: a loaded machine can delay an ACK past
# the RTO; the transfer tests check recovery)
PROBLEMS="tcp.analysis.flags && !tcp.analysis.window_update && !tcp.analysis.retransmission"
PROBLEMS="$PROBLEMS && !tcp.analysis.spurious_retransmission"

expect_options() # WHAT PCAP: both SYNs with both options, every other segment with a timestamp
{
    # (a SYN may be sent again on a loaded machine: every copy must carry both options)
    pcap_expect "$1: tapir's SYN with SACK-permitted" ge 1 "$FROM_TAPIR && $SYN && tcp.options.sack_perm"
    pcap_expect "$1: the kernel's SYN with SACK-permitted" ge 1 "$FROM_KERNEL && $SYN && tcp.options.sack_perm"
    pcap_expect "$1: tapir's SYN with a timestamp" ge 1 "$FROM_TAPIR && $SYN && tcp.options.timestamp.tsval"
    pcap_expect "$1: the kernel's SYN with a timestamp" ge 1 "$FROM_KERNEL && $SYN && tcp.options.timestamp.tsval"
    pcap_expect "$1: SYNs without SACK-permitted or a timestamp" eq 0 \
        "$SYN && !(tcp.options.sack_perm && tcp.options.timestamp.tsval)"
    pcap_expect "$1: TCP segments without a timestamp (RSTs aside)" eq 0 \
        "tcp && !tcp.options.timestamp.tsval && tcp.flags.reset == 0"
    pcap_expect "$1: TCP analysis problems" eq 0 "$PROBLEMS"
    pcap_verify "$2"
    PCAP_EXPECT_WHAT=() PCAP_EXPECT_OP=() PCAP_EXPECT_N=() PCAP_EXPECT_FILTER=()
}

# tapir echoes the kernel's latest timestamp: every TSecr tapir sent is a TSval the kernel sent
expect_echoes() # PCAP
{
    local sent echoed missing
    sent=$(tshark_run "$1" -Y "$FROM_KERNEL && tcp.options.timestamp.tsval" -T fields \
        -e tcp.options.timestamp.tsval | sort -u)
    echoed=$(tshark_run "$1" -Y "$FROM_TAPIR && tcp.flags.ack == 1" -T fields \
        -e tcp.options.timestamp.tsecr | sort -u)
    missing=$(comm -13 <(printf '%s\n' "$sent") <(printf '%s\n' "$echoed") | grep -c . || true)
    expect_eq "TSecr values tapir sent that the kernel never sent as TSval" 0 "$missing"
}

# ---- 1. the kernel connects to tapir --------------------------------------------------
start_stack
in_ns timeout 20 nc -N "$TAPIR_IP" 7 <"$WORK/in" >"$WORK/out" 2>"$WORK/nc.err" ||
    fail "nc to the echo service failed: $(cat "$WORK/nc.err")"
stop_stack
expect_eq "echo: sha256" "$(sha "$WORK/in")" "$(sha "$WORK/out")"
expect_options "kernel -> tapir" "$PCAP"
expect_echoes "$PCAP"

# ---- 2. tapir connects to the kernel --------------------------------------------------
port=5001
ip netns exec "$NS" nc -l "$port" >"$WORK/file.out" 2>"$WORK/listener.err" &
LISTENER=$!
for ((i = 0; i < 100; i++)); do
    in_ns ss -Htln "sport = :$port" | grep -q . && break
    alive "$LISTENER" || fail "nc -l $port exited: $(cat "$WORK/listener.err")"
    sleep 0.1
done
in_ns timeout 20 "$TAPIR" --pcap "$WORK/nc.pcap" nc "$PEER_IP" "$port" <"$WORK/in" \
    >"$WORK/tnc.out" 2>"$WORK/tnc.err" || fail "tapir nc failed: $(tail -n 3 "$WORK/tnc.err")"
wait_gone "$LISTENER" 50 || fail "the kernel's nc -l did not exit after tapir's FIN"
expect_eq "tapir nc -> kernel: sha256" "$(sha "$WORK/in")" "$(sha "$WORK/file.out")"
expect_options "tapir -> kernel" "$WORK/nc.pcap"

# ---- 3. tapir without them: neither side uses them -------------------------------------
start_stack --no-sack --no-timestamps
in_ns timeout 20 nc -N "$TAPIR_IP" 7 <"$WORK/in" >"$WORK/out" 2>"$WORK/nc.err" ||
    fail "nc to the echo service failed: $(cat "$WORK/nc.err")"
stop_stack
expect_eq "without options: sha256" "$(sha "$WORK/in")" "$(sha "$WORK/out")"
pcap_expect "without: the kernel offered SACK and timestamps still" ge 1 \
    "$FROM_KERNEL && $SYN && tcp.options.sack_perm && tcp.options.timestamp.tsval"
pcap_expect "without: tapir's segments with SACK-permitted or a timestamp" eq 0 \
    "$FROM_TAPIR && (tcp.options.sack_perm || tcp.options.timestamp.tsval)"
pcap_expect "without: the kernel's segments after its SYN with a timestamp" eq 0 \
    "$FROM_KERNEL && !($SYN) && tcp.options.timestamp.tsval"
pcap_expect "without: TCP analysis problems" eq 0 "$PROBLEMS"
pcap_verify "$PCAP"
pass
