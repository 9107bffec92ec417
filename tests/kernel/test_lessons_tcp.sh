#!/bin/bash
# test_lessons_tcp.sh - as test_lessons.sh, for lessons 06-10 (TCP, sockets, hub): every
# block runs and its output matches the lesson; the citations exist.
. "$(dirname "$0")/lib.sh"

need_root
LAB_CREATED=1 # the checker creates and removes $NS; the trap removes it if left behind
out="$WORK/lessons.out"
# (lesson 11 starts Python's web server twice: test_lessons_run.sh, with more time)
lessons=()
for f in "$REPO"/docs/lessons/0[6-9]-*.md "$REPO"/docs/lessons/1[0-9]-*.md; do
    [ "$(basename "$f")" = 11-real-programs.md ] || lessons+=("$f")
done
"$REPO/tests/lessons/check.sh" --tapir "$TAPIR" --lab "$NS" "${lessons[@]}" >"$out" 2>&1
rc=$?
cat "$out"
[ "$rc" = 0 ] || fail "$(grep -m1 '^FAIL' "$out" || tail -n 1 "$out")"
expect_match "every lesson checked" '^lessons: [1-9][0-9]* passed, 0 failed' "$(tail -n 1 "$out")"
expect_no_match "no lab block skipped" '^SKIP .*console lab' "$(cat "$out")"
pass
