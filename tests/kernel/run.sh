#!/bin/bash
# tests/kernel/run.sh PATH/TO/tapir [NAME...] - the kernel-peer suite.
#
# Runs every tests/kernel/test_*.sh (sorted; or only the NAMEs given, e.g. `ping arp`),
# each under a time limit with $TAPIR set to the binary, and prints one line per test:
#   PASS name
#   FAIL name (reason)        followed by the test's log, indented
# then exactly one summary line `kernel: N passed, N failed`. Exits 1 if anything failed.
#
# Environment: each test's limit is 30 s (or its "# kernel-timeout: SECONDS" line) times
# KERNEL_TIMEOUT_SCALE (default 3: room for a machine at load 30, still bounded; the tests'
# own polls scale with it too); KERNEL_TIMEOUT=SECONDS sets every test's limit instead.
# A test that runs out of time is named with the step it was in and the variable to raise.
# KERNEL_NS_PREFIX (default tapir-k) starts every test namespace's name. KERNEL_KEEP=1
# keeps a failed test's work directory (capture, logs) under $TMPDIR (default /tmp).
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
scale=${KERNEL_TIMEOUT_SCALE:-3}
case "$scale" in '' | *[!0-9]* | 0) echo "kernel: KERNEL_TIMEOUT_SCALE must be a whole number >= 1, not '$scale'"; exit 2 ;; esac
export KERNEL_TIMEOUT_SCALE=$scale
prefix=${KERNEL_NS_PREFIX:-tapir-k}

summary() # PASSED FAILED
{
    echo "kernel: $1 passed, $2 failed"
    [ -z "${CHECK_SUMMARY:-}" ] || echo "$1 $2" >>"$CHECK_SUMMARY" # make check's total
    [ "$2" = 0 ]
    exit $?
}

# A problem that stops the whole suite: say what it is and what to run, and fail.
preflight_fail()
{
    echo "kernel: $*"
    summary 0 1
}

[ $# -ge 1 ] || preflight_fail "usage: tests/kernel/run.sh PATH/TO/tapir [NAME...]"
tapir_arg=$1
tapir=$1
shift
case "$tapir" in /*) ;; *) tapir="$PWD/$tapir" ;; esac
[ -x "$tapir" ] || preflight_fail "no tapir binary at '$tapir_arg': build it first (make, or make BUILD=dir)"

if [ "$(id -u)" != 0 ]; then
    preflight_fail "these tests need root (network namespaces, TAP devices). Run: sudo make check (or sudo tests/kernel/run.sh $tapir_arg)"
fi
missing=""
for tool in ip ping tshark text2pcap timeout tc nc socat; do
    command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
    preflight_fail "missing tools:$missing. Run: sudo tests/tools.sh test (or sudo make tools-test)"
fi

tests=()
if [ $# -gt 0 ]; then
    for name in "$@"; do
        name=${name#test_}
        name=${name%.sh}
        [ -f "$here/test_$name.sh" ] || preflight_fail "no test named '$name' in $here"
        tests+=("$here/test_$name.sh")
    done
else
    while IFS= read -r t; do
        [ -f "$t" ] && tests+=("$t")
    done < <(printf '%s\n' "$here"/test_*.sh | LC_ALL=C sort)
fi
[ ${#tests[@]} -gt 0 ] || preflight_fail "no tests/kernel/test_*.sh found"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/${prefix}run.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Namespaces a test left behind: named <prefix><pid>-<name> (lib.sh) whose test shell is gone.
leaked_namespaces() # NAME
{
    local ns pid
    for ns in $(ip netns list 2>/dev/null |
        awk -v p="$prefix" -v n="$1" 'index($1, p) == 1 && substr($1, length(p) + 1) ~ ("^[0-9]+-" n "$") { print $1 }'); do
        pid=${ns#"$prefix"}
        pid=${pid%%-*}
        [ -d "/proc/$pid" ] || echo "$ns"
    done
}

passed=0
failed=0
cd "$repo" || preflight_fail "cannot cd to $repo"
for t in "${tests[@]}"; do
    name=$(basename "$t" .sh)
    name=${name#test_}
    log="$tmp/$name.log"
    reason_file="$tmp/$name.reason"
    : >"$reason_file"
    start=$(date +%s%N)
    # a test may ask for more time with a line "# kernel-timeout: SECONDS"
    test_limit=$(sed -n 's/^# kernel-timeout: *\([0-9][0-9]*\)$/\1/p' "$t" | head -n 1)
    limit=$((${test_limit:-30} * scale))
    [ -z "${KERNEL_TIMEOUT:-}" ] || limit=$KERNEL_TIMEOUT
    TAPIR="$tapir" KERNEL_REASON="$reason_file" timeout -k 5 "$limit" bash "$t" >"$log" 2>&1 </dev/null
    rc=$?
    ms=$((($(date +%s%N) - start) / 1000000))
    reason=""
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        reason="timed out after ${limit}s during: $(sed 's/^interrupted (signal[^)]*) during: //' "$reason_file" | head -n 1); raise the limit with KERNEL_TIMEOUT_SCALE=$((scale * 2)) (now $scale) or KERNEL_TIMEOUT=SECONDS"
    elif [ "$rc" != 0 ]; then
        reason=$(head -n 1 "$reason_file")
        [ -n "$reason" ] || reason="exit status $rc"
    fi
    leaked=$(leaked_namespaces "$name")
    if [ -n "$leaked" ]; then
        for ns in $leaked; do "$repo/tap/lab" down "$ns" >/dev/null 2>&1; done
        [ -n "$reason" ] || reason="left namespace(s) behind: $leaked"
    fi
    if [ -z "$reason" ]; then
        echo "PASS $name ($((ms / 1000)).$((ms % 1000 / 100)) s)"
        [ -n "${KERNEL_VERBOSE:-}" ] && sed 's/^/    /' "$log"
        passed=$((passed + 1))
    else
        echo "FAIL $name ($reason)"
        echo "    ---- log of $name (${ms} ms) ----"
        sed 's/^/    /' "$log"
        failed=$((failed + 1))
    fi
done
summary "$passed" "$failed"
