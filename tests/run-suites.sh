#!/bin/sh
# tests/run-suites.sh NAME BINARY... - run Check test programs and sum up their results.
# Each program prints Check's "NN%: Checks: N, Failures: N, Errors: N"; we add them up and
# end with one line "NAME: N passed, N failed". Exits 1 if anything failed or crashed.
set -u
name=$1; shift
passed=0; failed=0; broken=""
for bin in "$@"; do
    out=$(CK_FORK=yes "$bin" 2>&1); rc=$?
    printf '%s\n' "$out"
    line=$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks: ' | tail -n 1)
    if [ -z "$line" ]; then
        broken="$broken $(basename "$bin")"; failed=$((failed + 1)); continue
    fi
    checks=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
    fails=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
    errs=$(echo "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
    passed=$((passed + checks - fails - errs)); failed=$((failed + fails + errs))
    [ "$rc" = 0 ] || [ $((fails + errs)) -gt 0 ] || { broken="$broken $(basename "$bin")"; failed=$((failed + 1)); }
done
[ -z "$broken" ] || echo "$name: these programs crashed or printed no result:$broken"
echo "$name: $passed passed, $failed failed"
# make check adds every suite's counts into one closing line
[ -z "${CHECK_SUMMARY:-}" ] || echo "$passed $failed" >>"$CHECK_SUMMARY"
[ "$failed" = 0 ]
