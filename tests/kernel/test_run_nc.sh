#!/bin/bash
# tests/kernel/test_run_nc.sh - `tapir run nc` (OpenBSD netcat, unmodified) both ways with
# the kernel's nc: a client on tapir sends a file to the kernel, a server on tapir
# receives one from it; byte-exact (sha256), and no connection left behind. Also tapir
# run's own errors: no PROGRAM (status 2), a program that does not exist (127).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/run_lib.sh"

need_root
lab_up
head -c 300007 /dev/urandom >"$WORK/data"
sha_data=$(sha256sum <"$WORK/data" | cut -d' ' -f1)

# ---- tapir run nc HOST PORT -> the kernel's nc -l ---------------------------------------
helper_bg "$WORK/kernel-nc.out" nc -l "$PEER_IP" 9000
wait_kernel_listen 9000
in_ns timeout 30 "$TAPIR" --trace sock run nc -N "$PEER_IP" 9000 <"$WORK/data" 2>"$WORK/client.trace" ||
    fail "tapir run nc $PEER_IP 9000 failed (status $?): $(tail -n 5 "$WORK/client.trace")"
wait_gone "${HELPER_PIDS[0]}" 100 || fail "the kernel's nc -l did not end after tapir's nc closed"
expect_eq "sha256 of what tapir run nc sent to the kernel" "$sha_data" \
    "$(sha256sum <"$WORK/kernel-nc.out" | cut -d' ' -f1)"
expect_match "the trace shows nc's connect()" "L5 sock nc: connect\(fd [0-9]+, $PEER_IP:9000\)" \
    "$(cat "$WORK/client.trace")"

# ---- tapir run nc -l PORT <- the kernel's nc ----------------------------------------------
tapir_run_bg "$WORK/server.trace" run nc -l 9001 </dev/null
wait_file_match "$WORK/server.trace" "L5 sock nc: listen\(fd [0-9]+, [0-9]+\) = 0"
wait_link_up
in_ns timeout 30 nc -N "$TAPIR_IP" 9001 <"$WORK/data" || fail "the kernel's nc to tapir's nc -l failed"
wait_gone "$RUN_PID" 100 || fail "tapir run nc -l did not end after the kernel's nc closed"
rc=0
wait "$RUN_PID" || rc=$?
RUN_PID=""
expect_eq "exit status of tapir run nc -l (nc's)" 0 "$rc"
expect_eq "sha256 of what tapir run nc -l received" "$sha_data" \
    "$(sha256sum <"$WORK/server.trace.out" | cut -d' ' -f1)"

expect_eq "kernel connections to tapir left (TIME-WAIT aside)" "" "$(connections_to_tapir)"

# ---- bad use of tapir run itself ----------------------------------------------------------
rc=0
out=$("$TAPIR" run 2>&1) || rc=$?
expect_eq "exit status of tapir run without a PROGRAM" 2 "$rc"
expect_match "its one-line error" "^tapir: run needs a PROGRAM" "$out"
rc=0
out=$(in_ns "$TAPIR" run /nonexistent/program 2>&1) || rc=$?
expect_eq "exit status of tapir run with a missing program (as a shell's)" 127 "$rc"
expect_match "its error" "tapir: run: cannot start '/nonexistent/program': No such file" "$out"
pass
