#!/bin/bash
# test_lessons.sh - the lessons in docs/lessons/ say what each command prints; check it.
#
# Runs tests/lessons/check.sh over every lesson: the root-free blocks (tapir sim, gdb), the
# lab blocks (each in this test's own namespace $NS, created and removed per block), and
# the citations (files and functions named in the text exist). Then shows that the checker
# catches drift: a copy of a lesson with one expected line changed must fail, naming that
# line.
. "$(dirname "$0")/lib.sh"

need_root
LAB_CREATED=1 # the checker creates and removes $NS; the trap removes it if left behind
checker="$REPO/tests/lessons/check.sh"

# Lessons 01-05 here, 06-10 in test_lessons_tcp.sh: each test has 30 s.
out="$WORK/lessons.out"
"$checker" --tapir "$TAPIR" --lab "$NS" "$REPO"/docs/lessons/0[1-5]-*.md >"$out" 2>&1
rc=$?
cat "$out"
[ "$rc" = 0 ] || fail "$(grep -m1 '^FAIL' "$out" || tail -n 1 "$out")"
expect_match "every lesson checked" '^lessons: [1-9][0-9]* passed, 0 failed' "$(tail -n 1 "$out")"
expect_no_match "no lab block skipped" '^SKIP .*console lab' "$(cat "$out")"

# Drift: change one expected trace line of a sim block in a copy; the checker must fail
# and name the lesson's file and line.
copy="$WORK/02-arp.md"
sed 's/tell 10.0.0.1 (request 1 of 3)$/tell 10.0.0.1 (request 1 of 4)/' \
    "$REPO/docs/lessons/02-arp.md" >"$copy"
line=$(grep -n '(request 1 of 4)$' "$copy" | head -n 1 | cut -d: -f1)
[ -n "$line" ] || fail "drift test: docs/lessons/02-arp.md no longer has the line to change"
drift=$("$checker" --tapir "$TAPIR" --skip-lab --no-citations "$copy" 2>&1) && fail "drift test: the checker passed a lesson with a wrong line"
expect_match "drift reported at the changed line" "^FAIL $copy:$line " "$drift"
expect_match "drift shows the expected line" '> .*\(request 1 of 4\)' "$drift"

# A line the program prints that the lesson does not show (no `...` there) is drift too.
sed '/L2 arp  B: reply 10.0.0.2 is-at 02:00:00:00:00:02$/d' "$REPO/docs/lessons/02-arp.md" >"$copy"
drift=$("$checker" --tapir "$TAPIR" --skip-lab --no-citations "$copy" 2>&1) && fail "drift test: the checker passed a lesson missing an output line"
expect_match "a missing expected line is reported" "^FAIL $copy:[0-9]+ " "$drift"
pass
