#!/bin/bash
# tests/conformance/mutate.sh - do the tests notice when a rule breaks?
#
#   tests/conformance/mutate.sh [ID...]
#
# Applies each one-line break of tests/conformance/mutations.tsv (all, or those of the
# requirement ids given) to a copy of the tree, rebuilds, runs the fast suites (unit and
# sim) and reports the break KILLED (some test failed) or SURVIVED (every test passed: the
# rule is not really tested). Ends with "mutate: K killed, S survived of N (kill rate P%)".
# Takes from seconds to a minute per break (a killed one stops at the first failing test
# program); not part of make check. Needs python3 and Check. A break whose original text
# is no longer in the file (the code moved on) is reported STALE and counts as an error,
# never as killed. MUTATE_TRUST_BASE=1 skips the run of the suites on the unmodified tree.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
list="$here/tests/conformance/mutations.tsv"
work=$(mktemp -d /tmp/tapir-mutate.XXXXXX)
trap 'rm -rf "$work"' EXIT

# The tree without its builds, built once; each break starts from a copy of it, so make
# recompiles only what the changed file touches.
mkdir -p "$work/base"
(cd "$here" && tar cf - --exclude='./build*' --exclude=./.git .) | tar xf - -C "$work/base"
if ! make -C "$work/base" --no-print-directory BUILD=build tests >"$work/base.log" 2>&1; then
    echo "mutate: the unmodified tree does not build (see below)"
    tail -20 "$work/base.log"
    exit 2
fi
# Every unit and sim program, the conformance tests first: a break is killed by the first
# program that fails, so most breaks cost one short run.
programs() {
    find build/tests/sim build/tests/unit -maxdepth 1 -type f -name 'test_*' ! -name '*.[od]' |
        sort | awk '/test_conformance$/ { print; next } { rest = rest $0 "\n" } END { printf "%s", rest }'
}
suites() { # run the programs in directory $1 until one fails; 0 when all pass
    (
        cd "$1" || exit 2
        for p in $(programs); do
            timeout 600 tests/run-suites.sh "$(basename "$p")" "$p" || exit 1
        done
    ) >"$1.out" 2>&1
}
# MUTATE_TRUST_BASE=1 skips this run (for several runs in parallel on a tree just tested)
if [ "${MUTATE_TRUST_BASE:-0}" != 1 ] && ! suites "$work/base"; then
    echo "mutate: the unmodified tree fails its tests; fix that first"
    grep -E '^[a-z]+: [0-9]+ passed|:[FE]:' "$work/base.out" | head
    exit 2
fi

killed=0 survived=0 broken=0 n=0
survivors=""
# the list comes on fd 3: make and the tests get no stdin to eat it
while IFS=$'\t' read -r id file orig repl <&3; do
    case "$id" in '#'* | '') continue ;; esac
    if [ $# -gt 0 ]; then
        want=0
        for a in "$@"; do [ "$a" = "$id" ] && want=1; done
        [ $want = 1 ] || continue
    fi
    n=$((n + 1))
    m="$work/m"
    rm -rf "$m" "$m.out"
    cp -a "$work/base" "$m"
    if ! python3 - "$m/$file" "$orig" "$repl" <<'EOF'; then
import sys
path, orig, repl = sys.argv[1], sys.argv[2].replace("\\n", "\n"), sys.argv[3].replace("\\n", "\n")
text = open(path).read()
if text.count(orig) != 1:
    sys.exit(1)
open(path, "w").write(text.replace(orig, repl))
EOF
        echo "STALE     $id $file: the original text is not there exactly once"
        broken=$((broken + 1))
        continue
    fi
    # the conformance tests alone first: they kill most breaks, and need one program built
    if ! make -C "$m" --no-print-directory BUILD=build build/tests/sim/test_conformance >"$m.log" 2>&1; then
        echo "NOBUILD   $id $file: the break does not compile"
        broken=$((broken + 1))
        continue
    fi
    if (cd "$m" && timeout 600 tests/run-suites.sh conformance build/tests/sim/test_conformance) >"$m.out" 2>&1; then
        make -C "$m" --no-print-directory BUILD=build tests >>"$m.log" 2>&1
    fi
    if ! grep -q ':[FE]:' "$m.out" 2>/dev/null && suites "$m"; then
        echo "SURVIVED  $id $file: ${orig:0:60}"
        survived=$((survived + 1))
        survivors="$survivors $id"
    else
        by=$(grep -oE ':[FE]:[a-z0-9_]+:[a-z0-9_]+' "$m.out" | cut -d: -f4 | sort -u | head -4 | tr '\n' ' ')
        [ -n "$by" ] || by="(a program crashed)"
        echo "KILLED    $id $file by: $by"
        killed=$((killed + 1))
    fi
done 3<"$list"

rate=0
[ $((killed + survived)) -gt 0 ] && rate=$((100 * killed / (killed + survived)))
[ -z "$survivors" ] || echo "mutate: survivors:$survivors"
echo "mutate: $killed killed, $survived survived of $n (kill rate $rate%)$([ $broken = 0 ] || echo ", $broken stale or not compiling")"
[ $survived = 0 ] && [ $broken = 0 ]
