#!/bin/bash
# The harness checks itself: check_pcap (lib.sh) must reject a capture in which a frame
# tapir sent has a bad IP, ICMP, UDP or TCP checksum or lies about its length, must reject
# an empty capture and one with no frame from tapir, and must accept good frames and a
# bad frame the KERNEL sent (not tapir's fault). Otherwise every "decodes cleanly" check in
# the other tests could pass vacuously. No namespace needed.
. "$(dirname "$0")/lib.sh"

# Hand-made frames (hex, from Ethernet on); tapir is 02:00:00:00:00:02 at 10.0.0.2, the
# kernel b2:eb:ef:44:fb:30 at 10.0.0.1. The bad ones differ from the good ones only in the
# field named.
GOOD_ICMP=b2ebef44fb3002000000000208004500002c123440004001149b0a0000020a0000010000d9f90042000174617069722d70696e672d6461746121
GOOD_UDP=b2ebef44fb3002000000000208004500002112344000401114960a0000020a0000019c400009000d0bb668656c6c6f
GOOD_TCP=b2ebef44fb30020000000002080045000028123440004006149a0a0000020a00000100079c40000003e8000000005002faf000c00000
BAD_IP_CHECKSUM=b2ebef44fb3002000000000208004500002c12344000400141ce0a0000020a0000010000d9f90042000174617069722d70696e672d6461746121
BAD_ICMP_CHECKSUM=b2ebef44fb3002000000000208004500002c123440004001149b0a0000020a00000100008cac0042000174617069722d70696e672d6461746121
BAD_UDP_CHECKSUM=b2ebef44fb3002000000000208004500002112344000401114960a0000020a0000019c400009000d5ee368656c6c6f
BAD_TCP_CHECKSUM=b2ebef44fb30020000000002080045000028123440004006149a0a0000020a00000100079c40000003e8000000005002faf055950000
IP_LENGTH_LIES=b2ebef44fb300200000000020800450000c812344000400113ff0a0000020a0000010000d9f90042000174617069722d70696e672d6461746121
KERNEL_BAD_IP_CHECKSUM=020000000002b2ebef44fb3008004500002c12344000400141ce0a0000010a0000020000d9f90042000174617069722d70696e672d6461746121

# make_pcap FILE HEX...: one frame per HEX, a second apart, via text2pcap (a hex dump,
# each frame preceded by its time).
make_pcap()
{
    local out=$1 hex i=0
    shift
    for hex in "$@"; do
        printf '00:00:%02d.\n000000 %s\n' $((i++)) "$(printf '%s' "$hex" | sed 's/../& /g')"
    done >"$WORK/frames.txt"
    text2pcap -q -t '%H:%M:%S.' "$WORK/frames.txt" "$out" >/dev/null 2>&1 || fail "text2pcap failed"
}

# verdict NAME HEX...: "accepted", "rejected" (for a bad frame) or "rejected: REASON" (for
# anything else) by check_pcap, run in a subshell so that its failure ends only the
# subshell and records no reason for run.sh.
verdict()
{
    local name=$1
    shift
    make_pcap "$WORK/$name.pcap" "$@"
    if (KERNEL_REASON='' check_pcap "$WORK/$name.pcap") >"$WORK/$name.log" 2>&1; then
        echo accepted
    elif grep -q 'sent are malformed or have a bad checksum' "$WORK/$name.log"; then
        echo rejected
    else
        echo "rejected: $(grep '^FAIL: ' "$WORK/$name.log" | head -n 1)"
    fi
}

# (One frame spans no time, so pcap_counts falls back to one tshark pass per filter.)
expect_eq "one good frame alone" accepted "$(verdict one "$GOOD_ICMP")"
expect_eq "no frame from tapir" "rejected: FAIL: capture $WORK/kernel_only.pcap holds no frame sent by tapir ($TAPIR_MAC)" \
    "$(verdict kernel_only "$KERNEL_BAD_IP_CHECKSUM")"
: >"$WORK/empty.pcap"
expect_eq "empty capture file" "rejected: FAIL: capture $WORK/empty.pcap is missing or empty" \
    "$( (KERNEL_REASON='' check_pcap "$WORK/empty.pcap") 2>&1 | grep '^FAIL: ' | sed 's/^/rejected: /')"

# All of them in one capture (tshark is slow to start, so one capture for all): frames 5-9
# and only those are rejected; frames 1-3 are good, and 4 is bad but the kernel sent it.
frames=("$GOOD_ICMP" "$GOOD_UDP" "$GOOD_TCP" "$KERNEL_BAD_IP_CHECKSUM" "$BAD_IP_CHECKSUM"
    "$BAD_ICMP_CHECKSUM" "$BAD_UDP_CHECKSUM" "$BAD_TCP_CHECKSUM" "$IP_LENGTH_LIES")
expect_eq "mixed capture" rejected "$(verdict mixed "${frames[@]}")"
head -n 1 "$WORK/mixed.log"
rejected=$(sed -n 's/^frames tapir sent that tshark rejects: *//p' "$WORK/mixed.log" | sed 's/ *$//')
expect_eq "frames rejected (1-3 good, 4 the kernel's; 5-9 bad IP, ICMP, UDP, TCP, length)" \
    "5 6 7 8 9" "$rejected"
expect_match "the rejection counts them" '5 of the 8 frames tapir sent are malformed' \
    "$(cat "$WORK/mixed.log")"

# pcap_counts agrees with what the frames are (the one-pass io,stat shortcut is exact).
filters=(frame icmp udp tcp "eth.src == $TAPIR_MAC" "ip.checksum.status == \"Bad\"" arp)
expect_eq "pcap_counts over the mixed capture" "9 5 2 2 8 2 0" \
    "$(pcap_counts "$WORK/mixed.pcap" "${filters[@]}" | tr '\n' ' ' | sed 's/ $//')"
pass
