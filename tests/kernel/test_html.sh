#!/bin/bash
# `tapir --html FILE serve` against the kernel: the kernel pings tapir twice and sends a
# line to tapir's TCP echo service, then closes. The page tapir writes at exit opens in
# headless Chromium without a JavaScript error, draws one arrow per frame of tapir's own
# capture (--pcap), decodes the kernel's SYN field by field, and its state diagram
# highlights exactly the transitions of tapir's TCP trace, counted.
# kernel-timeout: 90
# (Chromium takes 5 to 30 s to start on a loaded machine)
. "$(dirname "$0")/lib.sh"

command -v chromium >/dev/null || fail "no chromium: run tests/tools.sh test (Debian package chromium)"
PAGE="$WORK/run.html"
start_stack --html "$PAGE" --trace tcp

out=$(in_ns ping -c 2 -i 0.2 -W 2 "$TAPIR_IP" 2>&1)
expect_match "ping" '^2 packets transmitted, 2 received' "$out"
echo "hello, pictures" | in_ns timeout 10 nc -N "$TAPIR_IP" 7 >"$WORK/echo.out" 2>&1 ||
    fail "nc to tapir's echo service failed: $(cat "$WORK/echo.out")"
expect_eq "echoed line" "hello, pictures" "$(cat "$WORK/echo.out")"
# the kernel closed first; tapir's side ends in LAST-ACK -> CLOSED: wait for it (bounded)
for ((i = 0; i < 50; i++)); do
    grep -q 'LAST-ACK -> CLOSED' "$STACK_ERR" && break
    sleep 0.1
done
expect_match "tapir's connection closed" 'LAST-ACK -> CLOSED' "$(cat "$STACK_ERR")"
stop_stack

frames=$(pcap_count "$PCAP" "frame")
python3 "$REPO/tests/html/html_tool.py" selftest "$PAGE" >"$WORK/selftest.json" 2>"$WORK/selftest.err" ||
    fail "the page did not pass its self-test: $(cat "$WORK/selftest.err")"
cat "$WORK/selftest.json"
field() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$WORK/selftest.json" "$1"; }
expect_eq "arrows in the ladder (frames in tapir's capture)" "$frames" "$(field 'v["arrows"]')"
expect_eq "frames in the page's data" "$frames" "$(field 'v["frames"]')"
expect_eq "frames marked lost (nothing is lost on a TAP device)" 0 "$(field 'v["lost"]')"
expect_eq "decoded layers of the clicked frame" "L2 Ethernet II|L3 IPv4 (RFC 791)|L4 TCP (RFC 9293)" \
    "$(field '"|".join(v["decoded"])')"
expect_eq "clicked frame: the kernel's SYN to port 7" "$PEER_IP 7 SYN" \
    "$(field 'v["values"]["L3 source"] + " " + v["values"]["L4 destination port"] + " " + v["values"]["L4 data offset, flags"].split(", ")[1]')"
states='(CLOSED|LISTEN|SYN-SENT|SYN-RECEIVED|ESTABLISHED|FIN-WAIT-1|FIN-WAIT-2|CLOSE-WAIT|CLOSING|LAST-ACK|TIME-WAIT)'
want=$(grep -oE "$states -> $states" "$STACK_ERR" | sed 's/ -> />/' | sort | uniq -c |
    awk '{ print $2 "=" $1 }' | sort | paste -sd' ')
expect_eq "state transitions highlighted (tapir's trace)" "$want" "$(field '" ".join(v["transitions"])')"
pass
