#!/bin/bash
# tests/kernel/test_tcp_offload.sh - TCP segmentation offload on the TAP device, on and off.
#
# With offloads (the default) tapir hands the kernel large TCP segments for it to cut up
# (TSO) and takes large ones from it: the echo of 4 MiB comes back byte-exact, tapir's
# capture shows frames beyond the MTU and its counters show TSO frames. Then, in the SAME
# namespace (tap0 persists, and the kernel remembers offloads turned on for it), tapir runs
# with --offload off: the same echo is byte-exact and no frame either way exceeds 1514
# bytes. Every frame tapir sent decodes cleanly, with good checksums, in both runs.
. "$(dirname "$0")/lib.sh"

need_root
BYTES=$((4 * 1024 * 1024))
head -c "$BYTES" /dev/urandom >"$WORK/in"
sha() { sha256sum <"$1" | cut -d' ' -f1; }

echo_through_tapir() # WHAT
{
    in_ns timeout 20 nc -N "$TAPIR_IP" 7 <"$WORK/in" >"$WORK/out" 2>"$WORK/nc.err" ||
        fail "$1: nc to the echo service failed: $(cat "$WORK/nc.err")"
    expect_eq "$1: sha256 of the echo" "$(sha "$WORK/in")" "$(sha "$WORK/out")"
}

# ---- offload on ----------------------------------------------------------------------
start_stack
echo_through_tapir "offload on"
stop_stack
expect_ge "offload on: TSO frames tapir sent" 1 \
    "$(stat_value "$STACK_ERR" "of which large frames the link cut into segments \(TSO\)")"
expect_ge "offload on: frames over 1514 bytes from tapir" 1 \
    "$(pcap_count "$PCAP" "eth.src == $TAPIR_MAC && frame.len > 1514")"
expect_ge "offload on: frames over 1514 bytes from the kernel" 1 \
    "$(pcap_count "$PCAP" "eth.dst == $TAPIR_MAC && frame.len > 1514")"
check_pcap "$PCAP"
mv "$PCAP" "$WORK/on.pcap"

# ---- offload off, same tap0 ------------------------------------------------------------
start_stack --offload off
echo_through_tapir "offload off"
stop_stack
expect_eq "offload off: TSO frames tapir sent" 0 \
    "$(stat_value "$STACK_ERR" "of which large frames the link cut into segments \(TSO\)")"
expect_eq "offload off: frames over 1514 bytes either way" 0 \
    "$(pcap_count "$PCAP" "frame.len > 1514")"
expect_eq "offload off: frames tapir dropped as too long" 0 \
    "$(stat_value "$STACK_ERR" "frames longer than the MTU allows")"
check_pcap "$PCAP"
pass
