#!/bin/bash
# test_lessons_tcp.sh - as test_lessons.sh, for lessons 06-10 (TCP, sockets, hub) and the
# instructor's guide (docs/lessons/instructor.md, the answers to the exercises): every block
# runs and its output matches the page; the citations exist.
# kernel-timeout: 60
. "$(dirname "$0")/lib.sh"

need_root
LAB_CREATED=1 # the checker creates and removes $NS; the trap removes it if left behind
out="$WORK/lessons.out"
step "tests/lessons/check.sh on lessons 06-10 and instructor.md"
# (lesson 11 starts Python's web server twice: test_lessons_run.sh, with time of its own)
lessons=()
for f in "$REPO"/docs/lessons/0[6-9]-*.md "$REPO"/docs/lessons/1[0-9]-*.md; do
    [ "$(basename "$f")" = 11-real-programs.md ] || lessons+=("$f")
done
LESSONS_PROGRESS="$STEP_FILE" "$REPO/tests/lessons/check.sh" --tapir "$TAPIR" --lab "$NS" \
    "${lessons[@]}" "$REPO"/docs/lessons/instructor.md >"$out" 2>&1
rc=$?
cat "$out"
[ "$rc" = 0 ] || fail "$(grep -m1 '^FAIL' "$out" || tail -n 1 "$out")"
expect_match "every lesson checked" '^lessons: [1-9][0-9]* passed, 0 failed' "$(tail -n 1 "$out")"
expect_no_match "no lab block skipped" '^SKIP .*console lab' "$(cat "$out")"
expect_no_match "no gdb block skipped (make debug builds build-debug/tapir)" '^SKIP .*console gdb' "$(cat "$out")"
expect_match "the instructor's guide checked" '^PASS docs/lessons/instructor\.md:[0-9]+ \(console lab block\)' "$(cat "$out")"
pass
