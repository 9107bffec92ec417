#!/bin/sh
# tests/labs/grade-branches.sh LAB REF... - grade many students' work in one go (a teacher's tool).
#
# Each REF is a git ref this repository can see (a student's branch, e.g. origin/lab/eth/alice,
# after `git fetch`). For each one: a temporary worktree, `make grade LAB=LAB KERNEL=no`
# there, and one line `REF PASSED/TOTAL` on stdout (`REF build-failed 0/TOTAL` when it does
# not compile). The full grade of REF goes to build/grades/LAB/REF.txt (slashes made dashes).
# Runs as any user; the kernel tests are left out (grade those one by one, as root).
set -u
[ $# -ge 2 ] || { echo "usage: tests/labs/grade-branches.sh LAB REF..." >&2; exit 2; }
lab=$1; shift
repo=$(cd "$(dirname "$0")/../.." && pwd)
out="$repo/build/grades/$lab"
mkdir -p "$out"
tmp=$(mktemp -d /tmp/tapir-grade.XXXXXX)
trap 'git -C "$repo" worktree prune; rm -rf "$tmp"' EXIT
for ref in "$@"; do
    name=$(echo "$ref" | tr '/' '-')
    wt="$tmp/$name"
    if ! git -C "$repo" worktree add -q --detach "$wt" "$ref" 2>/dev/null; then
        echo "$ref no-such-ref"
        continue
    fi
    (cd "$wt" && make --no-print-directory grade LAB="$lab" KERNEL=no OPT="-O1 -g") >"$out/$name.txt" 2>&1
    last=$(tail -n 1 "$out/$name.txt")
    case "$last" in
    "grade: "*/*) score=${last#grade: } ;;
    *) score="error" ;;
    esac
    grep -q 'does not build' "$out/$name.txt" && score="build-failed $score"
    echo "$ref $score"
    git -C "$repo" worktree remove --force "$wt" >/dev/null 2>&1
done
