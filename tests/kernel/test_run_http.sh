#!/bin/bash
# tests/kernel/test_run_http.sh - `tapir run`: curl and python3 -m http.server, unmodified,
# on tapir's TCP (apps/shim.c, apps/run.c), with the Linux kernel as the peer.
#
#   1. `tapir run curl` downloads a 10 MiB file from the kernel's `python3 -m http.server`,
#      byte-exact (sha256). A capture on tap0 (the kernel's side) shows tapir's MAC and
#      the initial sequence number tapir's trace chose (--trace-absolute), and the trace shows curl's
#      connect() at layer 5 above the SYN it causes;
#   2. `tapir run python3 -m http.server` serves a file the kernel's curl fetches
#      byte-exact;
#   3. no connection to tapir is left in the kernel.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/run_lib.sh"

need_root
lab_up
mkdir -p "$WORK/www"
head -c $((10 * 1024 * 1024)) /dev/urandom >"$WORK/www/big"
sha_big=$(sha256sum <"$WORK/www/big" | cut -d' ' -f1)

# ---- 1. tapir run curl <- the kernel's http.server -------------------------------------
helper_bg "$WORK/http.log" sh -c "cd '$WORK/www' && exec $PYTHON -m http.server -b $PEER_IP 8000"
wait_kernel_listen 8000
helper_bg "$WORK/dumpcap.log" dumpcap -q -i tap0 -s 128 -f "tcp[tcpflags] & tcp-syn != 0" \
    -w "$WORK/tap0.pcap"
wait_file_match "$WORK/dumpcap.log" "Capturing on"
in_ns timeout 60 "$TAPIR" --trace sock,tcp --trace-absolute run curl -s "http://$PEER_IP:8000/big" \
    >"$WORK/got" 2>"$WORK/curl.trace" || fail "tapir run curl failed (status $?): $(tail -n 5 "$WORK/curl.trace")"
expect_eq "sha256 of the 10 MiB file curl fetched through tapir" "$sha_big" \
    "$(sha256sum <"$WORK/got" | cut -d' ' -f1)"

# the trace: the call at layer 5, then the SYN it sends at layer 4
order=$(grep -nE "L5 sock curl: connect\(fd [0-9]+, $PEER_IP:8000\)$|L4 tcp .* > $PEER_IP:8000 SYN seq=" \
    "$WORK/curl.trace" | head -n 2 | sed -E 's/^[0-9]+:\[ *[0-9.]+\] //')
expect_match "first of connect() and SYN in the trace" "^L5 sock curl: connect" "$(head -n 1 <<<"$order")"
expect_match "second" "^L4 tcp .* SYN seq=" "$(sed -n 2p <<<"$order")"
isn=$(sed -nE "s/.*L4 tcp +(tx +)?$TAPIR_IP:[0-9]+ > $PEER_IP:8000 SYN seq=([0-9]+) .*/\2/p" "$WORK/curl.trace" | head -n 1)
[ -n "$isn" ] || fail "no SYN from tapir in the trace"

# the kernel's view on tap0: the SYN came from tapir's MAC with tapir's ISN
kill -INT "${HELPER_PIDS[1]}"
wait_gone "${HELPER_PIDS[1]}" 50 || fail "dumpcap did not stop"
syn=$(tshark_run "$WORK/tap0.pcap" -o tcp.relative_sequence_numbers:FALSE \
    -Y "ip.src == $TAPIR_IP && tcp.flags.syn == 1 && tcp.flags.ack == 0" -T fields -e eth.src -e tcp.seq)
expect_eq "MAC and ISN of the SYN seen on tap0" "$TAPIR_MAC $isn" "$(head -n 1 <<<"$syn" | tr '\t' ' ')"

# ---- 2. tapir run python3 -m http.server <- the kernel's curl --------------------------
head -c $((3 * 1024 * 1024 + 5)) /dev/urandom >"$WORK/www/served"
tapir_run_bg "$WORK/server.trace" run sh -c "cd '$WORK/www' && exec $PYTHON -m http.server 8080"
wait_file_match "$WORK/server.trace" "L5 sock python3: listen\(fd [0-9]+, [0-9]+\) = 0"
wait_link_up
in_ns timeout 30 curl -s --retry 3 --retry-connrefused -o "$WORK/got2" "http://$TAPIR_IP:8080/served" ||
    fail "the kernel's curl from tapir's http.server failed (status $?)"
expect_eq "sha256 of the file python3 -m http.server served on tapir" \
    "$(sha256sum <"$WORK/www/served" | cut -d' ' -f1)" "$(sha256sum <"$WORK/got2" | cut -d' ' -f1)"
expect_match "the trace shows the accept()" "L5 sock python3: accept\(fd [0-9]+\) = a connection from $PEER_IP:" \
    "$(cat "$WORK/server.trace")"
stop_tapir_run

# ---- 3. nothing left behind -----------------------------------------------------------
expect_eq "kernel connections to tapir left (TIME-WAIT aside)" "" "$(connections_to_tapir)"
pass
