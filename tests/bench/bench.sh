#!/bin/sh
# tests/bench/bench.sh TAPIR BENCHTOOL [LWIP_ECHO] - `make bench`: tapir's figures beside
# references.
#
# A benchmark, never a test: it prints figures and ratios and fails only if it cannot run.
# Everything runs inside network namespaces it creates and removes:
#   tapir-bench-PID        the lab (tap0 = 10.0.0.1 kernel, tapir = 10.0.0.2)
#   tapir-bva-PID/-bvb-PID two kernels joined by a veth pair (10.9.0.1 <-> 10.9.0.2), the
#                          reference for what the kernel does talking to itself
# SECONDS_PER_TEST (3) and BULK_MB (200) make it shorter or longer.
# Connections/s: CPS_ROUNDS (5) rounds of tapir, lwIP (LWIP_ECHO, tests/bench/lwip_echo.c,
# optional: Debian's liblwip-dev) and Linux over veth, one after the other, medians; each
# run at most CPS_MAX (10000) connections, from a fresh client namespace.
# BENCH_ONLY=cps runs only those rounds.
# Idle rows: IDLE_COUNTS ("1000 10000") connections held open to the echo service (tapir
# with --max-sockets 11000, and benchtool echod over veth): the server's RSS, and the echo
# round trip while they are open. IDLE_COUNTS= (empty) skips them.
# Lossy rows: both the lab's kernel and the veth reference lose LOSSY_PCTS (1 2 5) percent
# of non-SYN TCP frames in each direction (an nftables `numgen random` rule on the same
# hooks, since this kernel has no sch_netem); LOSSY_MB (5) MiB per transfer, LOSSY_ROUNDS
# (3) rounds with Linux and tapir interleaved, medians. LOSSY_ROUNDS=0 skips them.
# LOSSY_COMPARE="--no-rack" (any tapir options) adds, in the same rounds, tapir run with
# those options: rows to compare a mechanism on and off under the same load.
set -u
TAPIR=$(realpath "$1")
BT=$(realpath "$2")
LWIP=${3:+$(realpath "$3")}
LAB=$(cd "$(dirname "$0")/../../tap" && pwd)/lab
T=${SECONDS_PER_TEST:-3}
MB=${BULK_MB:-200}
NS=tapir-bench-$$
VA=tapir-bva-$$
VB=tapir-bvb-$$
CA=tapir-bca-$$ # the connections/s rounds' own veth pair, made afresh for each run
CB=tapir-bcb-$$
TMP=$(mktemp -d /tmp/tapir-bench.XXXXXX)
PIDS=""

cleanup() {
    for p in $PIDS ${cp:-}; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    "$LAB" down "$NS" >/dev/null 2>&1
    ip netns del "$VA" 2>/dev/null
    ip netns del "$VB" 2>/dev/null
    ip netns del "$CA" 2>/dev/null
    ip netns del "$CB" 2>/dev/null
    [ "${KEEP:-0}" = 1 ] || rm -rf "$TMP" # KEEP=1 keeps the raw output, never the namespaces
}
trap cleanup EXIT INT TERM

[ "$(id -u)" = 0 ] || { echo "bench: needs root (namespaces, TAP). Run: sudo make bench" >&2; exit 1; }

val() { sed -n "s/^$1=//p" "$2" | tail -n 1; }
# wait_for FILE PATTERN: poll (bounded, 10 s) until PATTERN shows up in FILE
wait_for() {
    i=0
    while ! grep -q "$2" "$1" 2>/dev/null; do
        i=$((i + 1)); [ $i -gt 200 ] && return 1; sleep 0.05
    done
}
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "n/a"; else printf "%.2f", a / b }'; }
# ping_stats NS DST COUNT: median and p99 round trip in µs from ping's per-reply lines
ping_stats() {
    ip netns exec "$1" ping -n -c "$3" -i 0.002 "$2" 2>/dev/null |
        sed -n 's/.*time=\([0-9.]*\) ms/\1/p' | sort -n |
        awk '{ v[NR] = $1 * 1000 } END { if (NR) printf "median_us=%.1f\np99_us=%.1f\n", v[int(NR/2)+1], v[int(NR*0.99)+1] }'
}

# veth_pair A B: namespaces A (10.9.0.1) and B (10.9.0.2) joined by a veth pair
veth_pair() {
    ip netns add "$1"; ip netns add "$2"
    ip link add tapir-bv0 netns "$1" type veth peer name tapir-bv1 netns "$2"
    ip -n "$1" addr add 10.9.0.1/24 dev tapir-bv0; ip -n "$1" link set tapir-bv0 up; ip -n "$1" link set lo up
    ip -n "$2" addr add 10.9.0.2/24 dev tapir-bv1; ip -n "$2" link set tapir-bv1 up; ip -n "$2" link set lo up
}
row() { # figure tapir reference
    printf '| %-44s | %12s | %12s | %6s |\n' "$1" "${2:-n/a}" "${3:-n/a}" "$(ratio "${2:-}" "${3:-}")"
}

# ---- TCP connections/s: tapir, lwIP and Linux in the same rounds ----
# Every run starts from a fresh client namespace: the connecting kernel keeps a TIME-WAIT
# for each connection, and once thousands of them hold its ports to one server, connect()
# spends its time searching for a free port (see cps in benchtool.c). All three serve echo
# on port 7 and take every connection their stack completes (benchtool echod accepts in a
# loop; tapir's service and lwip_echo.c are called once per completed connection).
CPS_ROUNDS=${CPS_ROUNDS:-5}
CPS_MAX=${CPS_MAX:-10000}
wide_ports() { ip netns exec "$1" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"; }
# cps_lab TAG CMD...: a fresh lab, CMD serving in it as 10.0.0.2, one run of benchtool cps
cps_lab() {
    tag=$1; shift
    "$LAB" down "$NS" >/dev/null 2>&1
    "$LAB" up "$NS" >/dev/null
    wide_ports "$NS"
    ip netns exec "$NS" "$@" >"$TMP/cs.out" 2>"$TMP/cs.err" &
    cp=$!
    if wait_for "$TMP/cs.out" ": up"; then
        timeout 60 ip netns exec "$NS" "$BT" cps 10.0.0.2 7 "$T" "$CPS_MAX" >"$TMP/cps" 2>&1
        val conn_per_s "$TMP/cps" >>"$TMP/cps.$tag"
    fi
    kill "$cp"; wait "$cp" 2>/dev/null
}
# cps_linux: the same between two fresh kernels over veth, benchtool echod serving
cps_linux() {
    ip netns del "$CA" 2>/dev/null; ip netns del "$CB" 2>/dev/null
    veth_pair "$CA" "$CB"
    wide_ports "$CA"
    ip netns exec "$CB" "$BT" echod 7 >"$TMP/cs.out" 2>&1 &
    cp=$!
    if wait_for "$TMP/cs.out" ready=1; then
        timeout 60 ip netns exec "$CA" "$BT" cps 10.9.0.2 7 "$T" "$CPS_MAX" >"$TMP/cps" 2>&1
        val conn_per_s "$TMP/cps" >>"$TMP/cps.linux"
    fi
    kill "$cp"; wait "$cp" 2>/dev/null
}
HAVE_LWIP=0
[ -n "$LWIP" ] && [ -x "$LWIP" ] && HAVE_LWIP=1
cps_rounds() {
    : >"$TMP/cps.tapir"; : >"$TMP/cps.lwip"; : >"$TMP/cps.linux"
    CPS_LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
    r=0
    while [ $r -lt "$CPS_ROUNDS" ]; do
        r=$((r + 1))
        cps_lab tapir "$TAPIR" serve
        [ $HAVE_LWIP = 1 ] && cps_lab lwip "$LWIP"
        cps_linux
    done
    CPS_LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
    ip netns del "$CA"; ip netns del "$CB"
}
cps_table() {
    echo
    echo "TCP connect + close, connections/s, median of $CPS_ROUNDS rounds (tapir, lwIP, Linux in"
    echo "each round; at most $CPS_MAX connections a run; load average $CPS_LOAD_BEFORE before,"
    echo "$CPS_LOAD_AFTER after). Each run:"
    for tag in tapir lwip linux; do
        [ -s "$TMP/cps.$tag" ] && echo "  $tag: $(tr '\n' ' ' <"$TMP/cps.$tag")"
    done
    echo "| figure                                       |        tapir |    reference |  ratio |"
    echo "|----------------------------------------------|--------------|--------------|--------|"
    row "TCP connections/s vs Linux over veth" "$(median <"$TMP/cps.tapir")" "$(median <"$TMP/cps.linux")"
    if [ $HAVE_LWIP = 1 ]; then
        row "TCP connections/s vs lwIP 2.1.3 (same lab)" "$(median <"$TMP/cps.tapir")" "$(median <"$TMP/cps.lwip")"
        row "lwIP's connections/s vs Linux (lwIP/Linux)" "$(median <"$TMP/cps.lwip")" "$(median <"$TMP/cps.linux")"
    else
        echo "(lwIP row skipped: liblwip-dev is not installed; install it with: sudo apt-get install -y liblwip-dev)"
    fi
    echo "Goal: tapir >= 0.5x Linux and above lwIP (ratios >= 0.50 and > 1.00)."
}

echo "tapir bench: $(date -u '+%Y-%m-%d %H:%M UTC') on $(uname -n), $(nproc) cores, $(uname -r)"
if [ "${BENCH_ONLY:-}" = cps ]; then
    cps_rounds
    cps_table
    exit 0
fi

# ---- the link's ceiling: a program that only reads tap0, while the kernel floods it ----
"$LAB" up "$NS" >/dev/null
ip -n "$NS" neigh replace 10.0.0.2 lladdr 02:00:00:00:00:02 dev tap0 nud permanent
for size in 1472 18; do
    ip netns exec "$NS" "$BT" tapread tap0 "$T" >"$TMP/read.$size" 2>&1 &
    rp=$!
    wait_for "$TMP/read.$size" ready=1
    ip netns exec "$NS" "$BT" flood 10.0.0.2 9 "$size" "$((T + 1))" >/dev/null 2>&1
    wait "$rp"
done
ip -n "$NS" neigh del 10.0.0.2 dev tap0 2>/dev/null
LINK_FPS=$(val frames_per_s "$TMP/read.1472")
LINK_MBIT=$(val mbit_per_s "$TMP/read.1472")
LINK_MIN_FPS=$(val frames_per_s "$TMP/read.18")

# ---- the kernel talking to itself over veth: the reference ----
veth_pair "$VA" "$VB"
ip netns exec "$VB" "$BT" echod 7 >"$TMP/echod" 2>&1 &
ECHOD=$!
PIDS="$PIDS $ECHOD"
wait_for "$TMP/echod" ready=1
ping_stats "$VA" 10.9.0.2 500 >"$TMP/kping"
ip netns exec "$VA" "$BT" rtt 10.9.0.2 7 2000 >"$TMP/krtt" 2>&1
ip netns exec "$VB" "$BT" sink 5001 >"$TMP/ksink" 2>&1 &
sp=$!
wait_for "$TMP/ksink" ready=1
ip netns exec "$VA" "$BT" send 10.9.0.2 5001 "$MB" >"$TMP/ksend" 2>&1
wait "$sp"

# ---- tapir ----
ip netns exec "$NS" "$TAPIR" serve >"$TMP/serve.out" 2>"$TMP/serve.err" &
TP=$!
PIDS="$PIDS $TP"
wait_for "$TMP/serve.out" "tapir: up"
ping_stats "$NS" 10.0.0.2 500 >"$TMP/tping"
timeout 60 ip netns exec "$NS" "$BT" send 10.0.0.2 9 "$MB" >"$TMP/tbulkin" 2>&1
timeout 60 ip netns exec "$NS" "$BT" rtt 10.0.0.2 7 2000 >"$TMP/trtt" 2>&1
kill "$TP"; wait "$TP" 2>/dev/null
# the same without offloads: every frame at most 1514 bytes, as the link's ceiling counts them
ip netns exec "$NS" "$TAPIR" --offload off serve >"$TMP/serve2.out" 2>"$TMP/serve2.err" &
TP=$!
PIDS="$PIDS $TP"
wait_for "$TMP/serve2.out" "tapir: up"
timeout 60 ip netns exec "$NS" "$BT" send 10.0.0.2 9 "$MB" >"$TMP/tbulkin_plain" 2>&1
kill "$TP"; wait "$TP" 2>/dev/null
ip netns exec "$NS" "$BT" sink 5001 >"$TMP/tsink_plain" 2>&1 &
sp=$!
wait_for "$TMP/tsink_plain" ready=1
head -c "$((MB * 1048576))" /dev/zero | timeout 60 ip netns exec "$NS" "$TAPIR" --offload off nc 10.0.0.1 5001 >/dev/null 2>>"$TMP/tnc.err"
timeout 10 sh -c "wait $sp" 2>/dev/null; kill "$sp" 2>/dev/null
ip netns exec "$NS" "$BT" sink 5001 >"$TMP/tsink" 2>&1 &
sp=$!
wait_for "$TMP/tsink" ready=1
head -c "$((MB * 1048576))" /dev/zero | timeout 60 ip netns exec "$NS" "$TAPIR" nc 10.0.0.1 5001 >/dev/null 2>"$TMP/tnc.err"
timeout 10 sh -c "wait $sp" 2>/dev/null; kill "$sp" 2>/dev/null

cps_rounds

# ---- idle connections: the server's memory, and the echo round trip with them open ----
IDLE=${IDLE_COUNTS-1000 10000}
rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status" 2>/dev/null; }
# idle NS DST SERVER_PID TAG: RSS and round trip with 0, then each count of IDLE held
idle() {
    rss_kb "$3" >"$TMP/rss.$4.0"
    timeout 60 ip netns exec "$1" "$BT" rtt "$2" 7 500 >"$TMP/rtt.$4.0" 2>&1
    for n in $IDLE; do
        ip netns exec "$1" "$BT" hold "$2" 7 "$n" >"$TMP/hold.$4.$n" 2>&1 &
        hp=$!
        i=0 # bounded: 120 s for the connections to open and echo
        while ! grep -q ready=1 "$TMP/hold.$4.$n" 2>/dev/null && kill -0 "$hp" 2>/dev/null && [ $i -lt 1200 ]; do
            i=$((i + 1)); sleep 0.1
        done
        rss_kb "$3" >"$TMP/rss.$4.$n"
        timeout 60 ip netns exec "$1" "$BT" rtt "$2" 7 500 >"$TMP/rtt.$4.$n" 2>&1
        kill "$hp"; wait "$hp" 2>/dev/null
    done
}
if [ -n "$IDLE" ]; then
    idle "$VA" 10.9.0.2 "$ECHOD" linux
    ip netns exec "$NS" "$TAPIR" --max-sockets 11000 serve >"$TMP/is.out" 2>"$TMP/is.err" &
    TP=$!
    PIDS="$PIDS $TP"
    wait_for "$TMP/is.out" "tapir: up"
    idle "$NS" 10.0.0.2 "$TP" tapir
    kill "$TP"; wait "$TP" 2>/dev/null
fi

# ---- lossy links: transfer times at 1, 2, 5% loss, tapir beside Linux-to-Linux ----
LOSSY_MB=${LOSSY_MB:-5}
ROUNDS=${LOSSY_ROUNDS:-3}
PCTS=${LOSSY_PCTS:-1 2 5}
# lossy NS PCT: drop PCT% of the TCP frames (SYNs spared) entering and leaving NS. TCP in
# NS sends single segments (gso_max_segs 1 on DEV), so a drop loses one segment, not a
# 64 KiB GSO super-frame; tapir runs with --offload off for the same reason.
lossy() {
    ip -n "$1" link set "$2" gso_max_segs 1
    ip netns exec "$1" nft delete table inet bench 2>/dev/null
    ip netns exec "$1" nft "add table inet bench;
        add chain inet bench in { type filter hook input priority 0; };
        add chain inet bench out { type filter hook output priority 0; };
        add rule inet bench in tcp flags & syn == 0 numgen random mod 1000 < $(($3 * 10)) drop;
        add rule inet bench out tcp flags & syn == 0 numgen random mod 1000 < $(($3 * 10)) drop"
}
secs() { awk -v m="$1" -v mb="$LOSSY_MB" 'BEGIN { if (m == "" || m == 0) print ""; else printf "%.2f\n", mb * 8.388608 / m }'; }
# lossy_tapir PCT OPTS: one round of tapir both ways (OPTS: extra tapir options, whose
# figures go to files of their own)
lossy_tapir() {
    sfx=${2:+.cmp}
    # shellcheck disable=SC2086 # OPTS are words
    ip netns exec "$NS" "$TAPIR" --offload off $2 serve >"$TMP/ls.out" 2>"$TMP/ls.err" &
    TP=$!
    wait_for "$TMP/ls.out" "tapir: up"
    timeout 120 ip netns exec "$NS" "$BT" send 10.0.0.2 9 "$LOSSY_MB" >"$TMP/li" 2>&1
    secs "$(val mbit_per_s "$TMP/li")" >>"$TMP/l.$1.in$sfx"
    kill "$TP"; wait "$TP" 2>/dev/null
    ip netns exec "$NS" "$BT" sink 5001 >"$TMP/lo" 2>&1 &
    sp=$!
    wait_for "$TMP/lo" ready=1
    # shellcheck disable=SC2086
    head -c "$((LOSSY_MB * 1048576))" /dev/zero |
        timeout 120 ip netns exec "$NS" "$TAPIR" --offload off $2 nc 10.0.0.1 5001 >/dev/null 2>>"$TMP/lnc.err"
    timeout 10 sh -c "wait $sp" 2>/dev/null; kill "$sp" 2>/dev/null
    secs "$(val mbit_per_s "$TMP/lo")" >>"$TMP/l.$1.out$sfx"
}
COMPARE=${LOSSY_COMPARE:-}
if [ "$ROUNDS" -gt 0 ] && command -v nft >/dev/null; then
    for pct in $PCTS; do
        lossy "$VA" tapir-bv0 "$pct"
        lossy "$NS" tap0 "$pct"
        : >"$TMP/l.$pct.linux"; : >"$TMP/l.$pct.in"; : >"$TMP/l.$pct.out"
        : >"$TMP/l.$pct.in.cmp"; : >"$TMP/l.$pct.out.cmp"
        r=0
        while [ $r -lt "$ROUNDS" ]; do
            r=$((r + 1))
            ip netns exec "$VB" "$BT" sink 5001 >"$TMP/lk" 2>&1 &
            sp=$!
            wait_for "$TMP/lk" ready=1
            timeout 120 ip netns exec "$VA" "$BT" send 10.9.0.2 5001 "$LOSSY_MB" >/dev/null 2>&1
            timeout 10 sh -c "wait $sp" 2>/dev/null; kill "$sp" 2>/dev/null
            secs "$(val mbit_per_s "$TMP/lk")" >>"$TMP/l.$pct.linux"
            lossy_tapir "$pct" ""
            [ -n "$COMPARE" ] && lossy_tapir "$pct" "$COMPARE"
        done
        ip netns exec "$VA" nft delete table inet bench
        ip netns exec "$NS" nft delete table inet bench
    done
fi

echo
echo "| figure                                       |        tapir |    reference |  ratio |"
echo "|----------------------------------------------|--------------|--------------|--------|"
row "link ceiling, full frames/s (TAP reader)" "$LINK_FPS" "$LINK_FPS"
row "link ceiling, Mbit/s (1514-byte frames)" "$LINK_MBIT" "$LINK_MBIT"
row "link ceiling, minimum frames/s (60 bytes)" "$LINK_MIN_FPS" "$LINK_MIN_FPS"
row "bulk TCP kernel -> tapir, Mbit/s (vs link)" "$(val mbit_per_s "$TMP/tbulkin")" "$LINK_MBIT"
row "bulk TCP tapir -> kernel, Mbit/s (vs link)" "$(val mbit_per_s "$TMP/tsink")" "$LINK_MBIT"
row "bulk TCP kernel -> tapir, offload off (vs link)" "$(val mbit_per_s "$TMP/tbulkin_plain")" "$LINK_MBIT"
row "bulk TCP tapir -> kernel, offload off (vs link)" "$(val mbit_per_s "$TMP/tsink_plain")" "$LINK_MBIT"
row "bulk TCP kernel -> tapir vs kernel over veth" "$(val mbit_per_s "$TMP/tbulkin")" "$(val mbit_per_s "$TMP/ksink")"
row "ping round trip median, us (vs veth)" "$(val median_us "$TMP/tping")" "$(val median_us "$TMP/kping")"
row "ping round trip p99, us (vs veth)" "$(val p99_us "$TMP/tping")" "$(val p99_us "$TMP/kping")"
row "TCP echo round trip median, us (vs veth)" "$(val median_us "$TMP/trtt")" "$(val median_us "$TMP/krtt")"
row "TCP echo round trip p99, us (vs veth)" "$(val p99_us "$TMP/trtt")" "$(val p99_us "$TMP/krtt")"
row "TCP connections/s (vs veth), median" "$(median <"$TMP/cps.tapir")" "$(median <"$TMP/cps.linux")"
cps_table
if [ -n "$IDLE" ]; then
    echo
    echo "Idle connections to the echo service: RSS of the server process in KiB, and the echo"
    echo "round trip with them open (Linux: benchtool echod; its sockets live in the kernel,"
    echo "outside its RSS). held/echoed: connections open, and how many echoed a byte."
    echo "| figure                                       |        tapir |        Linux |  ratio |"
    echo "|----------------------------------------------|--------------|--------------|--------|"
    row "server RSS, KiB, no connection" "$(cat "$TMP/rss.tapir.0")" "$(cat "$TMP/rss.linux.0")"
    row "TCP echo round trip median, us, none idle" "$(val median_us "$TMP/rtt.tapir.0")" "$(val median_us "$TMP/rtt.linux.0")"
    for n in $IDLE; do
        row "connections held/echoed of $n" "$(val held "$TMP/hold.tapir.$n")/$(val echoed "$TMP/hold.tapir.$n")" \
            "$(val held "$TMP/hold.linux.$n")/$(val echoed "$TMP/hold.linux.$n")"
        row "server RSS, KiB, $n idle" "$(cat "$TMP/rss.tapir.$n")" "$(cat "$TMP/rss.linux.$n")"
        row "server RSS per idle connection, KiB, $n" \
            "$(awk -v a="$(cat "$TMP/rss.tapir.$n")" -v b="$(cat "$TMP/rss.tapir.0")" -v n="$n" 'BEGIN { if (a != "" && b != "") printf "%.2f", (a - b) / n }')" \
            "$(awk -v a="$(cat "$TMP/rss.linux.$n")" -v b="$(cat "$TMP/rss.linux.0")" -v n="$n" 'BEGIN { if (a != "" && b != "") printf "%.2f", (a - b) / n }')"
        row "TCP echo round trip median, us, $n idle" "$(val median_us "$TMP/rtt.tapir.$n")" "$(val median_us "$TMP/rtt.linux.$n")"
        row "TCP echo round trip p99, us, $n idle" "$(val p99_us "$TMP/rtt.tapir.$n")" "$(val p99_us "$TMP/rtt.linux.$n")"
    done
fi
if [ "$ROUNDS" -gt 0 ] && command -v nft >/dev/null; then
    echo
    echo "Lossy link, $LOSSY_MB MiB, median of $ROUNDS rounds: transfer time in s (lower is better)"
    echo "| figure                                       |        tapir |  Linux-Linux |  ratio |"
    echo "|----------------------------------------------|--------------|--------------|--------|"
    for pct in $PCTS; do
        ref=$(median <"$TMP/l.$pct.linux")
        row "kernel -> tapir, $pct% loss both ways, s" "$(median <"$TMP/l.$pct.in")" "$ref"
        row "tapir -> kernel, $pct% loss both ways, s" "$(median <"$TMP/l.$pct.out")" "$ref"
        if [ -n "$COMPARE" ]; then
            row "kernel -> tapir $COMPARE, $pct%, s" "$(median <"$TMP/l.$pct.in.cmp")" "$ref"
            row "tapir $COMPARE -> kernel, $pct%, s" "$(median <"$TMP/l.$pct.out.cmp")" "$ref"
        fi
    done
elif [ "$ROUNDS" -gt 0 ]; then
    echo "(lossy rows skipped: nft not found; tests/tools.sh test installs nftables)"
fi
echo
echo "Targets: bulk TCP >= 0.60 of the link's ceiling; round trips <= 2x the kernel's veth figure."
echo "Lossy rows: within 1.3x of Linux-to-Linux (a ratio is tapir/Linux: lower is better)."
echo "The ceiling counts 1514-byte frames; with offloads (the default) tapir moves up to 64 KiB"
echo "per frame and can pass it, so the 'offload off' rows are the like-for-like comparison."
echo "(a round-trip ratio is tapir/kernel: lower is better). n/a: that measurement did not run;"
echo "its log: rerun with KEEP=1 to keep $TMP."
[ "${KEEP:-0}" = 1 ] && echo "kept $TMP"
exit 0
