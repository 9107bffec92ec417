#!/bin/bash
# test_lessons_run.sh - as test_lessons.sh, for lesson 11 (`tapir run` with curl and
# Python's web server): every block runs and its output matches; the citations exist.
# kernel-timeout: 90
. "$(dirname "$0")/lib.sh"

need_root
LAB_CREATED=1 # the checker creates and removes $NS; the trap removes it if left behind
out="$WORK/lessons.out"
"$REPO/tests/lessons/check.sh" --tapir "$TAPIR" --lab "$NS" "$REPO"/docs/lessons/11-real-programs.md \
    >"$out" 2>&1
rc=$?
cat "$out"
[ "$rc" = 0 ] || fail "$(grep -m1 '^FAIL' "$out" || tail -n 1 "$out")"
expect_match "every block checked" '^lessons: [1-9][0-9]* passed, 0 failed, 0 skipped' "$(tail -n 1 "$out")"
pass
