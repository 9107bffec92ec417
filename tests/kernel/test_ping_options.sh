#!/bin/bash
# The kernel pings tapir with IP options (RFC 1122 3.2.2.6): `ping -R` (Record Route) gets
# the route back with tapir's address in it, `ping -T tsandaddr` (Timestamp) gets tapir's
# address and time. tapir checks the kernel's real options, reflects them whole, and every
# frame it sends decodes cleanly in tshark.
# conformance: IP-3.2.2.6-6 IP-3.2.1.8-2
. "$(dirname "$0")/lib.sh"

start_stack
step "ping -R"
out=$(in_ns ping -R -c 1 -W 2 "$TAPIR_IP" 2>&1)
echo "$out"
expect_match "ping -R reply" '^1 packets transmitted, 1 received' "$out"
# iputils prints the recorded route after "RR:", one address a line: the kernel's on the way
# out, tapir's (added to the reply), the kernel's again on the way in
route=$(printf '%s\n' "$out" | sed -n '/^RR:/,/^$/p' | grep -oE '[0-9]+(\.[0-9]+){3}' | tr '\n' ' ')
expect_eq "recorded route" "$PEER_IP $TAPIR_IP $PEER_IP " "$route"

step "ping -T tsandaddr"
out=$(in_ns ping -T tsandaddr -c 1 -W 2 "$TAPIR_IP" 2>&1)
echo "$out"
expect_match "ping -T reply" '^1 packets transmitted, 1 received' "$out"
# "TS:" then address and time a line (the first absolute, the others relative to it)
stamps=$(printf '%s\n' "$out" | sed -n '/^TS:/,/^$/p')
expect_eq "timestamped by" "$PEER_IP $TAPIR_IP $PEER_IP " \
    "$(printf '%s\n' "$stamps" | grep -oE '[0-9]+(\.[0-9]+){3}' | tr '\n' ' ')"
expect_match "tapir's timestamp" "^[[:space:]]+$TAPIR_IP[[:space:]]+-?[0-9]+\$" "$stamps"
stop_stack

expect_eq "stats: malformed options" 0 \
    "$(stat_value "$STACK_ERR" 'datagrams with a malformed option (parameter problem sent)')"
pcap_expect "replies carrying Record Route" eq 1 \
    "icmp.type == 0 && ip.src == $TAPIR_IP && ip.opt.type == 7"
pcap_expect "replies carrying a Timestamp" eq 1 \
    "icmp.type == 0 && ip.src == $TAPIR_IP && ip.opt.type == 68"
pcap_verify "$PCAP"
pass
