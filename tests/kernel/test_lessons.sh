#!/bin/bash
# test_lessons.sh - the lessons in docs/lessons/ say what each command prints; check it.
#
# Runs tests/lessons/check.sh over every lesson: the root-free blocks (tapir sim, gdb on the
# -O0 build), the lab blocks (each in this test's own namespace $NS, created and removed per
# block), and the citations (files and functions named in the text exist). Then shows that
# the checker catches drift: a copy of a lesson with one expected line changed must fail,
# naming that line; and that a command that runs out of time, or a checker interrupted by a
# signal, names the lesson block and the variable that raises the limit; that commands use
# $LAB and $OUT (per user), never tapir-lab or /tmp/.
# kernel-timeout: 60
. "$(dirname "$0")/lib.sh"

need_root
LAB_CREATED=1 # the checker creates and removes $NS; the trap removes it if left behind
checker="$REPO/tests/lessons/check.sh"

# Lessons 01-05 here, 06-10 and the instructor's guide in test_lessons_tcp.sh.
out="$WORK/lessons.out"
step "tests/lessons/check.sh on lessons 01-05"
LESSONS_PROGRESS="$STEP_FILE" "$checker" --tapir "$TAPIR" --lab "$NS" "$REPO"/docs/lessons/0[1-5]-*.md >"$out" 2>&1
rc=$?
cat "$out"
[ "$rc" = 0 ] || fail "$(grep -m1 '^FAIL' "$out" || tail -n 1 "$out")"
expect_match "every lesson checked" '^lessons: [1-9][0-9]* passed, 0 failed' "$(tail -n 1 "$out")"
expect_no_match "no lab block skipped" '^SKIP .*console lab' "$(cat "$out")"
expect_no_match "no gdb block skipped (make debug builds build-debug/tapir)" '^SKIP .*console gdb' "$(cat "$out")"
expect_match "the pages around the lessons checked" '^PASS docs \(links' "$(cat "$out")"

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

# Per user: a command sees LAB and OUT (a directory of this run's own), and its output has
# them written back as $LAB and $OUT; a command naming tapir-lab or /tmp/ fails the block.
step "lessons are per user: \$LAB and \$OUT"
peruser="$WORK/peruser.md"
printf '# per user\n\n```console\n$ test -d $OUT && test -w $OUT && echo "$LAB $OUT/x"\n$LAB $OUT/x\n```\n' >"$peruser"
out=$("$checker" --tapir "$TAPIR" --no-citations --per-user "$peruser" 2>&1) || fail "a block using \$LAB and \$OUT failed: $out"
expect_match "\$OUT is a writable directory, both written back" "^PASS $peruser:3 " "$out"
printf '# shared\n\n```console\n$ true\n```\n\n```console\n$ build/tapir sim arp --html /tmp/arp.html\n```\n' >"$peruser"
out=$("$checker" --tapir "$TAPIR" --no-citations --per-user "$peruser" 2>&1) && fail "the checker passed a command writing to /tmp/"
expect_match "a command naming /tmp/ is reported" "^FAIL $peruser:7 .*names 'tapir-lab' or '/tmp/'" "$out"
printf '# shared\n\n```console lab\n$ sudo tap/lab up tapir-lab\n```\n' >"$peruser"
out=$("$checker" --tapir "$TAPIR" --no-citations --per-user --lab "$NS" "$peruser" 2>&1) && fail "the checker passed a lab block naming tapir-lab"
expect_match "a lab block naming tapir-lab is reported" "^FAIL $peruser:3 .*names 'tapir-lab' or '/tmp/'" "$out"

# A command that runs out of time names its lesson and line and the variable to raise.
step "a lesson command that times out"
slow="$WORK/slow.md"
printf '# slow\n\n```console\n$ true\n$ sleep 30\n```\n' >"$slow"
out=$(LESSONS_TIMEOUT=1 "$checker" --tapir "$TAPIR" --no-citations "$slow" 2>&1) && fail "the checker passed a command that ran out of time"
echo "$out"
expect_match "a timeout names the lesson's line" "^FAIL $slow:5 " "$out"
expect_match "and the variable that raises the limit" 'timed out after 1s \(raise the limit with LESSONS_TIMEOUT=SECONDS\)' "$out"

# Interrupted (run.sh's limit sends SIGTERM): the checker says which block was running, and
# the progress file (lib.sh's step, in run.sh's FAIL line) names it too.
step "a lesson checker interrupted by SIGTERM"
progress="$WORK/progress"
# its own process group, which gets the signal as run.sh's `timeout` sends it
LESSONS_PROGRESS="$progress" setsid "$checker" --tapir "$TAPIR" --no-citations "$slow" >"$WORK/int.out" 2>&1 &
cpid=$!
for ((i = 0; i < $(scaled 100); i++)); do
    [ -s "$progress" ] && break
    sleep 0.1
done
expect_match "the progress file names the block" "^lesson block $slow:3 \(console block\), its first command: true \(LESSONS_TIMEOUT=120 s per command\)$" "$(cat "$progress")"
kill -TERM -- "-$cpid"
wait_gone "$cpid" "$(scaled 100)" || fail "the checker did not stop on SIGTERM"
expect_match "an interrupted checker names the block it was running" \
    "^lessons: interrupted \(signal\) while running $slow:3 \(console block\)" "$(cat "$WORK/int.out")"
pass
