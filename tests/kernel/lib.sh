# tests/kernel/lib.sh - sourced by every tests/kernel/test_*.sh.
#
# A kernel test puts the real Linux kernel on one end of a TAP device and tapir on the
# other, inside a network namespace of its own (tap/lab up tapir-k<pid>-<test>), so tests
# never see each other's traffic and nothing reaches the host's network. Whatever way the
# test ends (pass, failure, timeout, ^C) the trap stops tapir and removes the namespace.
# KERNEL_NS_PREFIX replaces "tapir-k" (two users' suites on one machine never collide, as
# the pid already differs; a prefix makes them easy to tell apart), and the test's files go
# to a private directory under $TMPDIR (default /tmp).
#
# Waits scale with KERNEL_TIMEOUT_SCALE (default 3, set by run.sh), so a machine at load 30
# passes; `step TEXT` names what the test is doing, and a test stopped by run.sh's time
# limit (or ^C) reports the step it was in.
#
#   need_root                      fail unless root (before anything else that needs it)
#   lab_up                         create this test's namespace $NS (10.0.0.1 = kernel)
#   start_stack [OPTIONS...]       run `$TAPIR --pcap $PCAP --stats OPTIONS serve` in $NS,
#                                  wait until it prints `tapir: up ...`
#   wait_reachable                 poll (bounded) until the kernel's ping reaches tapir
#   stop_stack                     SIGTERM, wait (bounded), require exit status 0;
#                                  afterwards $STACK_OUT / $STACK_ERR hold its stdout/stderr
#   in_ns CMD...                   run CMD inside $NS
#   check_pcap FILE                every frame tapir sent decodes cleanly in tshark
#   pcap_expect WHAT eq|ge N FILTER   queue "N frames match FILTER" ...
#   pcap_verify FILE               ... and check them all, with check_pcap, in one tshark pass
#   pcap_count FILE FILTER         how many frames match a tshark display filter
#   stat_value FILE TEXT           a --stats counter by its text ("echo requests received")
#   layer_stat FILE LAYER TEXT     the same within one layer's section (TCP, UDP, Hub)
#   wait_stat TEXT MIN             poll the live counters (SIGUSR1) until TEXT >= MIN
#   expect_eq / expect_ge / expect_match / expect_no_match / fail / pass
#   step TEXT                      what the test does now (named if it is interrupted)
#   scaled N                       N times KERNEL_TIMEOUT_SCALE (for a test's own polls)
#
# run.sh passes $TAPIR (the binary) and $KERNEL_REASON (a file for the one-line reason a
# test failed). Every wait is a bounded poll; no test sleeps a fixed time to let
# something happen.

set -u

TEST_NAME=$(basename "$0" .sh)
TEST_NAME=${TEST_NAME#test_}
NS_PREFIX=${KERNEL_NS_PREFIX:-tapir-k}
NS="$NS_PREFIX$$-$TEST_NAME"
TIMEOUT_SCALE=${KERNEL_TIMEOUT_SCALE:-3}
TAPIR_MAC=02:00:00:00:00:02
# shellcheck disable=SC2034 # used by the tests that source this file
TAPIR_IP=10.0.0.2
# shellcheck disable=SC2034
PEER_IP=10.0.0.1
KERNEL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$KERNEL_DIR/../.." && pwd)
LAB="$REPO/tap/lab"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/$NS.XXXXXX")
PCAP="$WORK/tapir.pcap"
STACK_OUT="$WORK/stack.out"
STACK_ERR="$WORK/stack.err"
STACK_PID=""
LAB_CREATED=""
CLEANUP_FIRST="" # a command the trap runs before its own cleanup (a test's extra process)
TSHARK_PREFS=(-o ip.check_checksum:TRUE -o udp.check_checksum:TRUE -o tcp.check_checksum:TRUE)

: "${TAPIR:?run through tests/kernel/run.sh, which sets TAPIR}"
# make check's running total (run.sh adds this suite's counts): a test that runs run.sh
# itself (test_lab_class.sh) must not add its inner run's counts to it
unset CHECK_SUMMARY
case "$TAPIR" in /*) ;; *) TAPIR="$PWD/$TAPIR" ;; esac

# ---- reporting -------------------------------------------------------------------------

# fail REASON: print it, record it for run.sh's FAIL line, end the test.
fail()
{
    echo "FAIL: $*" >&2
    if [ -n "${KERNEL_REASON:-}" ] && [ ! -s "$KERNEL_REASON" ]; then
        printf '%s\n' "$*" >"$KERNEL_REASON"
    fi
    exit 1
}

# note TEXT: a progress line in the test's log (shown when it fails); the last one is also
# named when the test is interrupted.
note()
{
    echo "# $*"
    printf '%s\n' "$*" >"$WORK/last-note"
}

# step TEXT: what the test is doing now; a program the test runs may write its own, finer
# step into $STEP_FILE (the lesson checker names the block it runs).
STEP_FILE="$WORK/step"
step()
{
    printf '%s\n' "$*" >"$STEP_FILE"
    note "step: $*"
}

# scaled N: N multiplied by KERNEL_TIMEOUT_SCALE (a bound for a poll, never a sleep).
scaled() { echo $(($1 * TIMEOUT_SCALE)); }

expect_eq() # WHAT EXPECTED SEEN
{
    [ "$2" = "$3" ] || fail "$1: expected '$2', saw '$3'"
    note "ok: $1 = $3"
}

expect_ge() # WHAT MINIMUM SEEN
{
    [ "$3" -ge "$2" ] 2>/dev/null || fail "$1: expected at least $2, saw '$3'"
    note "ok: $1 = $3 (>= $2)"
}

expect_match() # WHAT EXTENDED-REGEX TEXT
{
    printf '%s\n' "$3" | grep -Eq -- "$2" ||
        fail "$1: expected a line matching /$2/, saw: $(printf '%s' "$3" | head -c 2000)"
    note "ok: $1 matches /$2/"
}

expect_no_match() # WHAT EXTENDED-REGEX TEXT
{
    if printf '%s\n' "$3" | grep -Eq -- "$2"; then
        fail "$1: expected no line matching /$2/, saw: $(printf '%s\n' "$3" | grep -E -- "$2" | head -n 3)"
    fi
    note "ok: $1 has no line matching /$2/"
}

pass() { exit 0; }

# ---- setup and cleanup -----------------------------------------------------------------

need_root()
{
    [ "$(id -u)" = 0 ] || fail "needs root (network namespaces, TAP): run sudo make check"
}

# alive PID: running and not a zombie waiting to be reaped.
alive()
{
    [ -r "/proc/$1/stat" ] || return 1
    local state
    state=$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# wait_gone PID TENTHS: poll until PID is gone, at most TENTHS tenths of a second.
wait_gone()
{
    local i
    for ((i = 0; i < $2; i++)); do
        alive "$1" || return 0
        sleep 0.1
    done
    ! alive "$1"
}

show_stack_logs()
{
    local f
    for f in "$STACK_OUT" "$STACK_ERR"; do
        [ -s "$f" ] || continue
        echo "---- $(basename "$f") (last 60 lines) ----"
        tail -n 60 "$f"
    done
}

cleanup()
{
    local rc=$?
    trap - EXIT INT TERM
    exec 1>&8 2>&9
    [ -z "$CLEANUP_FIRST" ] || $CLEANUP_FIRST
    if [ -n "$STACK_PID" ] && alive "$STACK_PID"; then
        kill -TERM "$STACK_PID" 2>/dev/null
        wait_gone "$STACK_PID" 30 || kill -KILL "$STACK_PID" 2>/dev/null
    fi
    [ "$rc" = 0 ] || show_stack_logs >&2
    if [ -n "$LAB_CREATED" ]; then
        "$LAB" down "$NS" >/dev/null 2>&1 || echo "warning: could not remove namespace $NS" >&2
    fi
    if [ "$rc" != 0 ] && [ -n "${KERNEL_KEEP:-}" ]; then
        echo "kept $WORK (KERNEL_KEEP is set)" >&2
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
# The test's own stdout/stderr, kept on fds 8 and 9: a trap may run while a command's
# output is redirected to a file (`in_ns tapir ... >file`), and what it says belongs in
# the test's log.
exec 8>&1 9>&2
trap cleanup EXIT
trap 'exec 1>&8 2>&9; fail "interrupted (signal: run.sh'"'"'s time limit, or ^C) during: $(cat "$STEP_FILE" 2>/dev/null || echo "(no step named)") (last progress: $(cat "$WORK/last-note" 2>/dev/null || echo none))"' INT TERM

lab_up()
{
    need_root
    LAB_CREATED=1
    "$LAB" up "$NS" >"$WORK/lab.log" 2>&1 || fail "tap/lab up $NS failed: $(cat "$WORK/lab.log")"
}

in_ns() { ip netns exec "$NS" "$@"; }

# wait_link_up: the kernel's side of tap0 is operationally up. Attaching tapir turns the
# carrier on, but the kernel activates the device's transmit queue only when its
# "linkwatch" work runs, which is rate-limited system-wide (up to a second); until then
# everything the kernel sends on tap0 is silently dropped.
wait_link_up()
{
    local i state=""
    for ((i = 0; i < $(scaled 50); i++)); do
        state=$(in_ns cat /sys/class/net/tap0/operstate 2>/dev/null)
        [ "$state" = up ] && return 0
        sleep 0.05
    done
    fail "the kernel's tap0 is not operationally up $(scaled 25)/10 s after tapir attached (operstate '$state'; KERNEL_TIMEOUT_SCALE=$TIMEOUT_SCALE)"
}

# start_stack [OPTIONS...]: tapir serve in the background, capturing to $PCAP.
start_stack()
{
    [ -n "$LAB_CREATED" ] || lab_up
    : >"$STACK_OUT"
    : >"$STACK_ERR"
    ip netns exec "$NS" "$TAPIR" --pcap "$PCAP" --stats "$@" serve >"$STACK_OUT" 2>"$STACK_ERR" &
    STACK_PID=$!
    local i
    step "starting tapir serve $*"
    for ((i = 0; i < $(scaled 100); i++)); do # 10 s (scaled): the ASan build starts slowly
        if grep -q '^tapir: up ' "$STACK_OUT"; then
            note "stack up: $(grep '^tapir: up ' "$STACK_OUT")"
            wait_link_up
            return 0
        fi
        alive "$STACK_PID" || fail "tapir serve exited before printing 'tapir: up'"
        sleep 0.1
    done
    fail "tapir serve did not print 'tapir: up' within $(scaled 10) s (raise KERNEL_TIMEOUT_SCALE, now $TIMEOUT_SCALE)"
}

# wait_reachable: the kernel's ping reaches tapir (at most 10 tries of 1 s): its link may
# come up late, and a crafted or flooded frame sent before that is lost.
wait_reachable()
{
    local i
    for ((i = 0; i < 10; i++)); do
        in_ns ping -c 1 -W 1 "$TAPIR_IP" >/dev/null 2>&1 && return 0
    done
    fail "the kernel cannot ping tapir at $TAPIR_IP"
}

# stop_stack: SIGTERM, then tapir prints --stats and must exit 0 (a sanitizer report or a
# crash at exit shows up here).
stop_stack()
{
    [ -n "$STACK_PID" ] || fail "stop_stack: no stack running"
    kill -TERM "$STACK_PID" 2>/dev/null
    step "stopping tapir (SIGTERM)"
    wait_gone "$STACK_PID" "$(scaled 100)" || fail "tapir did not exit within $(scaled 10) s of SIGTERM"
    local rc=0
    wait "$STACK_PID" || rc=$?
    STACK_PID=""
    [ "$rc" = 0 ] || fail "tapir serve exited with status $rc after SIGTERM"
    note "stack stopped (exit 0)"
}

# ---- counters and captures -------------------------------------------------------------

# stat_value FILE TEXT: a --stats counter printed as "    N TEXT", from the last block of
# counters in FILE (0 when not printed: zero counters are skipped). TEXT must be unique to
# one layer's list.
stat_value()
{
    local n
    n=$(awk '/^Ethernet \(L2\):$/ { block = "" } { block = block $0 "\n" } END { printf "%s", block }' "$1" |
        grep -E "^ +[0-9]+ $2\$" | head -n 1 | awk '{print $1}')
    echo "${n:-0}"
}

# layer_stat FILE LAYER TEXT: the counter TEXT from the last section of --stats output
# headed "LAYER ..." ("TCP", "UDP", "Hub"; 0 when not printed). Unlike stat_value, TEXT
# need not be unique across layers (IP and UDP both count "datagrams received").
layer_stat()
{
    awk -v layer="$2" -v text="$3" '
        /^[A-Za-z]/ { inside = (index($0, layer " ") == 1); if (inside) v = 0 }
        inside && $0 ~ "^ +[0-9]+ " text "$" { v = $1 }
        END { print v + 0 }' "$1"
}

# wait_stat TEXT MINIMUM: ask the running stack for its counters (SIGUSR1) until the
# counter TEXT reaches MINIMUM; at most 5 s.
wait_stat()
{
    local i v=0
    for ((i = 0; i < $(scaled 50); i++)); do
        kill -USR1 "$STACK_PID" 2>/dev/null || fail "wait_stat: tapir is not running"
        sleep 0.1
        v=$(stat_value "$STACK_ERR" "$1")
        if [ "$v" -ge "$2" ]; then
            note "ok: live counter '$1' = $v (>= $2)"
            return 0
        fi
    done
    fail "counter '$1' stayed at $v, expected at least $2 within $(scaled 5) s"
}

# tshark_run FILE ARGS...: tshark on a capture with checksum validation on; fails the
# test if tshark itself fails (a bad filter must never read as "no bad frames").
tshark_run()
{
    local file=$1
    shift
    local out="$WORK/tshark.out" err="$WORK/tshark.err"
    if ! tshark -r "$file" -n -2 "${TSHARK_PREFS[@]}" "$@" >"$out" 2>"$err"; then
        fail "tshark failed on $file ($*): $(grep -v 'Running as user' "$err" | head -n 5)"
    fi
    cat "$out"
}

# pcap_count FILE FILTER: number of frames matching a display filter.
pcap_count()
{
    local lines
    lines=$(tshark_run "$1" -Y "$2" -T fields -e frame.number) || exit 1
    printf '%s\n' "$lines" | grep -c '[0-9]' || true
}

# pcap_counts FILE FILTER...: the number of frames matching each filter, one per line, in
# ONE tshark pass (tshark takes a third of a second to start). Filters must not contain
# commas (io,stat separates them with commas).
pcap_counts()
{
    local file=$1
    shift
    local f spec="io,stat,0"
    for f in "$@"; do
        case "$f" in *,*) fail "pcap_counts: filter has a comma: $f" ;; esac
        spec="$spec,$f"
    done
    local table row
    table=$(tshark_run "$file" -q -z "$spec") || exit 1
    # The one data row: "| 0.000 <> 1.234 | frames | bytes | frames | bytes | ..."
    row=$(printf '%s\n' "$table" | grep -E '^\| *[0-9.]+ <> ' | head -n 1)
    if [ -z "$row" ]; then
        # tshark prints no row for a capture spanning no time (one frame): ask one by one
        for f in "$@"; do pcap_count "$file" "$f" || exit 1; done
        return 0
    fi
    printf '%s\n' "$row" | awk -F'|' -v n=$# '{ for (i = 0; i < n; i++) { v = $(3 + 2 * i); gsub(/ /, "", v); print v } }'
}

# pcap_expect WHAT OP N FILTER: queue a check that the number of frames matching FILTER
# is OP (eq or ge) N; pcap_verify FILE runs every queued check and check_pcap in one pass.
PCAP_EXPECT_WHAT=()
PCAP_EXPECT_OP=()
PCAP_EXPECT_N=()
PCAP_EXPECT_FILTER=()
pcap_expect()
{
    case "$2" in eq | ge) ;; *) fail "pcap_expect: OP must be eq or ge, not '$2'" ;; esac
    PCAP_EXPECT_WHAT+=("$1")
    PCAP_EXPECT_OP+=("$2")
    PCAP_EXPECT_N+=("$3")
    PCAP_EXPECT_FILTER+=("$4")
}

pcap_verify()
{
    check_pcap "$1" "${PCAP_EXPECT_FILTER[@]}"
    local i
    for ((i = 0; i < ${#PCAP_EXPECT_WHAT[@]}; i++)); do
        "expect_${PCAP_EXPECT_OP[i]}" "${PCAP_EXPECT_WHAT[i]}" "${PCAP_EXPECT_N[i]}" "${CHECK_PCAP_COUNTS[i]}"
    done
    # checked: a second capture in the same test starts with an empty queue
    PCAP_EXPECT_WHAT=() PCAP_EXPECT_OP=() PCAP_EXPECT_N=() PCAP_EXPECT_FILTER=()
}

# check_pcap FILE [FILTER...]: every frame tapir sent decodes with no malformed packet, no
# expert error and no bad checksum (IP, ICMP, UDP, TCP). The capture must hold frames from
# tapir, so the check cannot pass on an empty file. The counts for the extra FILTERs come
# from the same tshark pass and are left in the array CHECK_PCAP_COUNTS.
check_pcap()
{
    local file=$1
    shift
    [ -s "$file" ] || fail "capture $file is missing or empty"
    local badf="eth.src == $TAPIR_MAC && (_ws.malformed || _ws.expert.severity == error"
    badf="$badf || ip.checksum.status == \"Bad\" || icmp.checksum.status == \"Bad\""
    badf="$badf || udp.checksum.status == \"Bad\" || tcp.checksum.status == \"Bad\")"
    local counts
    counts=$(pcap_counts "$file" frame "eth.src == $TAPIR_MAC" "$badf" "$@") || exit 1
    mapfile -t CHECK_PCAP_COUNTS <<<"$counts"
    [ ${#CHECK_PCAP_COUNTS[@]} = $((3 + $#)) ] ||
        fail "check_pcap: expected $((3 + $#)) counts from tshark, got: $counts"
    local total=${CHECK_PCAP_COUNTS[0]} sent=${CHECK_PCAP_COUNTS[1]} bad=${CHECK_PCAP_COUNTS[2]}
    CHECK_PCAP_COUNTS=("${CHECK_PCAP_COUNTS[@]:3}")
    [ "$total" -gt 0 ] || fail "capture $file holds no frames"
    [ "$sent" -gt 0 ] || fail "capture $file holds no frame sent by tapir ($TAPIR_MAC)"
    if [ "$bad" != 0 ]; then
        tshark_run "$file" -Y "$badf" -V >"$WORK/rejected.txt"
        {
            echo "frames tapir sent that tshark rejects:" \
                "$(grep -oE '^Frame [0-9]+:' "$WORK/rejected.txt" | tr -dc '0-9\n' | head -n 50 | tr '\n' ' ')"
            echo "---- the first of them in detail ----"
            awk '/^Frame [0-9]+:/ { n++ } n <= 1' "$WORK/rejected.txt" | head -n 150
        } >&2
        fail "$bad of the $sent frames tapir sent are malformed or have a bad checksum"
    fi
    note "ok: capture: $sent frames from tapir (of $total) decode with good checksums"
}
