#!/bin/bash
# tests/kernel/test_sim_pcap.sh - a student without root opens a sim run in Wireshark:
# `tapir sim transfer --loss 10 --pcap F --stats`, run as an unprivileged user (nobody),
# writes a capture that tshark, run as that same user, reads cleanly: no malformed frame,
# no expert error, no bad checksum, as many frames as A's Ethernet counters say it saw,
# and tshark finds the retransmissions that tapir's trace and counters report.
# (Needs no namespace; root only to become nobody, so the test proves the "no root" part.)
. "$(dirname "$0")/lib.sh"

need_root
command -v setpriv >/dev/null 2>&1 || fail "setpriv (util-linux) is missing"
# nobody, with a home of its own (tshark reads its preferences from $HOME)
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups -- env HOME="${SIM_DIR:-/}" "$@"; }

chmod 755 "$WORK"
chmod o+rx "$TAPIR" 2>/dev/null
SIM_DIR=""
SIM_DIR=$(as_nobody mktemp -d /tmp/tapir-sim-pcap.XXXXXX) || fail "nobody cannot make a temp dir"
CLEANUP_FIRST="rm -rf $SIM_DIR"
CAP="$SIM_DIR/transfer.pcap"

rc=0
as_nobody "$TAPIR" sim transfer --loss 10 --pcap "$CAP" --stats >"$WORK/sim.out" 2>"$WORK/sim.err" ||
    rc=$?
[ "$rc" = 0 ] || fail "tapir sim transfer --loss 10 --pcap exited $rc as nobody: $(tail -n 5 "$WORK/sim.err")"
expect_match "the transfer got through" "^B received 20000 of 20000 bytes, byte-exact$" \
    "$(cat "$WORK/sim.out")"
[ -s "$CAP" ] || fail "no capture at $CAP"
expect_eq "owner of the capture" nobody "$(stat -c %U "$CAP")"

# A's counters (the first block of --stats) and the wire's
a_stats=$(sed -n '/^==== A /,/^==== B /p' "$WORK/sim.err")
a_rx=$(printf '%s\n' "$a_stats" | awk '$2 " " $3 == "frames received" { print $1; exit }')
a_tx=$(printf '%s\n' "$a_stats" | awk '$2 " " $3 == "frames sent" { print $1; exit }')
a_rtx=$(printf '%s\n' "$a_stats" | awk '/ segments retransmitted$/ { print $1; exit }')
lost=$(awk '/ frames lost$/ { print $1 }' "$WORK/sim.err" | tail -n 1)
expect_ge "frames the wire lost" 1 "${lost:-0}"
expect_ge "segments A retransmitted" 1 "${a_rtx:-0}"
expect_eq "trace: one 'link ... lost' line per frame the wire lost" "$lost" \
    "$(grep -cE '\] L1 link [AB]: out lost len=' "$WORK/sim.out")"
expect_eq "trace: one 'retransmit' line per segment A retransmitted" "$a_rtx" \
    "$(grep -cE '\] L4 tcp  A: [0-9.:]+ > [0-9.:]+ retransmit seq=' "$WORK/sim.out")"

# tshark as nobody, checksums checked, in one pass
bad='_ws.malformed || _ws.expert.severity == error || ip.checksum.status == "Bad"'
bad="$bad || tcp.checksum.status == \"Bad\" || udp.checksum.status == \"Bad\""
rc=0
as_nobody tshark -r "$CAP" -n "${TSHARK_PREFS[@]}" -q \
    -z "io,stat,0,frame,$bad,tcp.analysis.retransmission,eth.src == 02:00:00:00:00:01" \
    >"$WORK/tshark.out" 2>"$WORK/tshark.err" || rc=$?
[ "$rc" = 0 ] || fail "tshark (as nobody) failed on the capture: $(head -n 5 "$WORK/tshark.err")"
row=$(grep -E '^\| *[0-9.]+ <> ' "$WORK/tshark.out" | head -n 1)
[ -n "$row" ] || fail "no io,stat row from tshark: $(cat "$WORK/tshark.out")"
mapfile -t counts < <(printf '%s\n' "$row" |
    awk -F'|' '{ for (i = 0; i < 4; i++) { v = $(3 + 2 * i); gsub(/ /, "", v); print v } }')
expect_eq "frames in the capture = A's frames received + sent" "$((a_rx + a_tx))" "${counts[0]}"
expect_eq "frames tshark finds malformed or with a bad checksum" 0 "${counts[1]}"
expect_eq "retransmissions tshark finds = A's segments retransmitted" "$a_rtx" "${counts[2]}"
expect_eq "frames from A in the capture = A's frames sent" "$a_tx" "${counts[3]}"
pass
