#!/bin/bash
# tests/lessons/check.sh - run the commands in docs/lessons/*.md and check their output.
#
#   tests/lessons/check.sh [--tapir PATH] [--tapir-debug PATH] [--lab NS] [--skip-lab]
#                          [--show] [--no-citations] [--per-user] [FILE.md...]
#
# Every fenced block whose info string starts with `console` is a terminal session:
# `$ COMMAND` lines, each followed by the output the lesson promises. The format (`...`
# lines, `<any>`, and the block kinds `console`, `console gdb`, `console lab`,
# `console norun`) is described in docs/lessons/README.md, for students and authors alike.
#
# Lessons are per user: a command names the lab's namespace `$LAB` and puts its files in
# `$OUT` (a student sets both once per shell, docs/lessons/README.md), never `tapir-lab` or
# `/tmp/` (the checker fails a command that does; --per-user holds every FILE to that, not
# only docs/lessons/; another page may write to `/tmp/`, which then becomes the block's
# directory and is written back as `/tmp/`). The checker runs each block's commands
# from the repository root, in one bash session per block, with LAB set to the namespace
# given with --lab and OUT to a fresh directory of this run's own (so two checker runs never
# collide), `build/tapir` replaced by --tapir (default build/tapir), `build-debug/tapir`
# (the -O0 build the gdb blocks use) by --tapir-debug (default build-debug/tapir; `make
# debug` builds it), and (lab blocks) `sudo ` removed. In the output, the namespace and the
# directory are written back as `$LAB` and `$OUT` and the binaries as the lesson names them,
# so the expected output never depends on who runs it. A command must exit 0 and its output
# must match the expected lines in order, `...` skipping any number of lines and `<any>`
# any text within one line. The first mismatch is reported as FILE:LINE with the expected
# line and the real output.
#
# It also checks the citations: every `path/file.c` named in a lesson exists, every
# `function()` is defined in the tree, and in a table row naming one source file, the
# functions in the cell after it are defined in that file.
#
# Without --lab, `console lab` blocks are skipped (they need root and a namespace); tests/
# kernel/test_lessons.sh runs them. `console gdb` blocks are skipped when gdb is missing or
# cannot trace, or there is no -O0 build. Prints one line per block (PASS/FAIL/SKIP) and a
# summary `lessons: N passed, N failed, N skipped`; exits 1 if anything failed.
#
# It also checks the pages around the lessons (every Markdown file in docs/ and README.md):
# each relative link resolves, none cites a file outside the repository (DESIGN.md), and
# README.md states the last line of `make check` as the Makefile prints it.
#
# Time limits: LESSONS_TIMEOUT (seconds, default 120) bounds each foreground command; a
# background command (`... &`) has a quarter of it to print what the lesson promises. A
# command that runs out of time is reported with its lesson, line and this variable. With
# LESSONS_PROGRESS=FILE the block being run is written to FILE before it starts (so a
# caller that is interrupted can say where), and ^C or SIGTERM prints it too.
#
# --show prints every command's real output as the checker saw it (for writing a lesson).
# Internal: check.sh --match EXPECTED ACTUAL [REPORT] compares two files (exit 0 on match).
set -u
# Blocks run as a student types them at a shell prompt: not inside a make of ours, whose
# MAKELEVEL would make a `make` in a block print "Entering directory" lines.
unset MAKELEVEL MAKEFLAGS MFLAGS

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
self="$here/check.sh"
CMD_TIMEOUT=${LESSONS_TIMEOUT:-120}     # seconds, per foreground command
case "$CMD_TIMEOUT" in '' | *[!0-9]* | 0) echo "lessons: LESSONS_TIMEOUT must be a number of seconds, not '$CMD_TIMEOUT'"; exit 2 ;; esac
BG_WAIT_TENTHS=$((CMD_TIMEOUT * 10 / 4)) # what a background command has to print what it promises

# ---- the matcher -------------------------------------------------------------------------
#
# match EXPECTED ACTUAL [REPORT]: the whole of ACTUAL must match EXPECTED, line by line.
# A line `...` matches any number of lines (none too); `<any>` within a line matches any
# text (none too). On failure, REPORT gets the index (1-based) of the first expected line
# that cannot be matched, or "extra N" if every expected line matched but output line N
# was left over.
match()
{
    awk -v report="${3:-/dev/null}" -v wantfile="$1" '
    function strip(s) { sub(/[ \t\r]+$/, "", s); return s }
    # glob-match one line: pieces between <any> must appear in order, the first at the
    # start, the last at the end
    function linematch(pat, s,    n, parts, i, p, pos) {
        n = split(pat, parts, "<any>")
        if (n == 1) return pat == s
        if (substr(s, 1, length(parts[1])) != parts[1]) return 0
        pos = length(parts[1]) + 1
        for (i = 2; i < n; i++) {
            p = index(substr(s, pos), parts[i])
            if (p == 0) return 0
            pos += p - 1 + length(parts[i])
        }
        if (length(s) - pos + 1 < length(parts[n])) return 0
        return substr(s, length(s) - length(parts[n]) + 1) == parts[n]
    }
    BEGIN { ne = 0; na = 0; while ((getline line < wantfile) > 0) want[++ne] = strip(line) }
    { act[++na] = strip($0) }
    END {
        # reach[i, j]: the first i expected lines match the first j output lines
        reach[0, 0] = 1
        best = 0
        for (i = 0; i < ne; i++) {
            any = 0
            for (j = 0; j <= na; j++) {
                if (!((i, j) in reach)) continue
                any = 1
                if (want[i + 1] == "...") {
                    for (k = j; k <= na; k++) reach[i + 1, k] = 1
                    break
                }
                if (j < na && linematch(want[i + 1], act[j + 1])) reach[i + 1, j + 1] = 1
            }
            if (!any) break
            best = i
        }
        if ((ne, na) in reach) exit 0
        for (i = ne; i >= 0; i--) {
            found = 0
            for (j = 0; j <= na; j++) if ((i, j) in reach) { found = 1; last = j }
            if (found) break
        }
        if (i == ne) print "extra " (last + 1) > report
        else print (i + 1) > report
        exit 1
    }' "$2"
}

if [ "${1:-}" = --match ]; then
    shift
    match "$@"
    exit $?
fi

# ---- options -----------------------------------------------------------------------------

tapir="$repo/build/tapir"
tapir_debug="$repo/build-debug/tapir"
ns=""
skip_lab=""
show_output=""
no_citations=""
per_user_all=""
files=()
while [ $# -gt 0 ]; do
    case "$1" in
    --tapir) tapir=$2; shift 2 ;;
    --tapir-debug) tapir_debug=$2; shift 2 ;;
    --lab) ns=$2; shift 2 ;;
    --skip-lab) skip_lab=1; shift ;;
    --show) show_output=1; shift ;;
    --no-citations) no_citations=1; shift ;;
    --per-user) per_user_all=1; shift ;;
    -h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$self" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "check.sh: unknown option '$1'" >&2; exit 2 ;;
    *) files+=("$1"); shift ;;
    esac
done
case "$tapir" in /*) ;; *) tapir="$PWD/$tapir" ;; esac
case "$tapir_debug" in /*) ;; *) tapir_debug="$PWD/$tapir_debug" ;; esac
[ ${#files[@]} -gt 0 ] || files=("$repo"/docs/lessons/[0-9]*.md)
for i in "${!files[@]}"; do
    case "${files[i]}" in /*) ;; *) files[i]="$PWD/${files[i]}" ;; esac
done
[ -x "$tapir" ] || { echo "lessons: no tapir binary at '$tapir': build it first (make)"; echo "lessons: 0 passed, 1 failed, 0 skipped"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/tapir-lessons.XXXXXX")
cleanup()
{
    [ "$BASHPID" = "$$" ] || return 0
    [ -z "$ns" ] || "$repo/tap/lab" down "$ns" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
running="" # the block being run, for an interrupted run
# (A signal to the process group reaches the subshells of $(...) too, which inherit these
# traps: only the checker itself reports and cleans up.)
running_dir=""
stop_running() # the foreground command of an interrupted block, and everything it started
{
    local f
    for f in "${running_dir:-/nonexistent}"/c*.pid; do
        [ -f "$f" ] && kill -TERM -- "-$(cat "$f")" 2>/dev/null
    done
    return 0
}
trap '[ "$BASHPID" != "$$" ] || { stop_running; echo "lessons: interrupted (signal) while running ${running:-no block}" >&2; }; exit 130' INT TERM

passed=0
failed=0
skipped=0

# The name a lesson file is reported by: relative to the repository when inside it.
show() { case "$1" in "$repo"/*) echo "${1#"$repo"/}" ;; *) echo "$1" ;; esac; }

# ---- parsing -----------------------------------------------------------------------------
#
# parse FILE DIR: one directory per console block, DIR/NNN/ holding `kind` (the info
# string after "console"), `line` (where the block opens), and per command K: cK.cmd (the
# command, continuation lines joined), cK.exp (expected lines), cK.lines (their line
# numbers in FILE) and cK.at (the command's line number).
parse()
{
    awk -v dir="$2" '
    function out(name) { return dir "/" sprintf("%03d", nb) "/" name }
    /^```/ {
        if (state == 0) {
            info = substr($0, 4)
            sub(/^[ \t]+/, "", info)
            if (info ~ /^console([ \t]|$)/) {
                state = 1; nb++; nc = 0; cont = 0
                kind = info; sub(/^console[ \t]*/, "", kind)
                system("mkdir -p \"" dir "/" sprintf("%03d", nb) "\"")
                print kind > out("kind"); close(out("kind"))
                print FNR > out("line"); close(out("line"))
            } else {
                state = 2
            }
        } else {
            state = 0
        }
        next
    }
    state != 1 { next }
    cont {
        print $0 > cmdf
        cont = ($0 ~ /\\$/)
        if (!cont) close(cmdf)
        next
    }
    /^\$ / {
        nc++
        cmdf = out("c" nc ".cmd")
        print substr($0, 3) > cmdf
        print FNR > out("c" nc ".at"); close(out("c" nc ".at"))
        printf "" > out("c" nc ".exp"); printf "" > out("c" nc ".lines")
        cont = ($0 ~ /\\$/)
        if (!cont) close(cmdf)
        next
    }
    nc == 0 { print FNR > out("orphan"); next }
    { print $0 >> out("c" nc ".exp"); print FNR >> out("c" nc ".lines") }
    ' "$1"
}

# ---- running one block -------------------------------------------------------------------

# to_run TEXT: a lesson's command as the checker runs it.
to_run()
{
    local s=$1
    # a page that is not per user (no --per-user, not a lesson) may write to /tmp/: it gets
    # the block's directory instead (first: the tapir path may itself live under /tmp)
    [ -n "$per_user" ] || s=${s//\/tmp\//$tmpdir/}
    s=${s//build-debug\/tapir/$tapir_debug}
    s=${s//build\/tapir/$tapir}
    if [ -n "$lab" ]; then
        s=$(printf '%s\n' "$s" | sed -E 's/(^|[;&|(]|\$\() *sudo +/\1/g; s/^sudo +//')
    fi
    printf '%s\n' "$s"
}

# unrun FILE: undo the replacements in a command's output.
unrun()
{
    sed -e "s#$tmpdir#$out_as#g" -e "s#$tapir_debug#build-debug/tapir#g" -e "s#$tapir#build/tapir#g" \
        -e "s#$block_lab#\$LAB#g" -e '/^Running as user "root" and group "root"/d' "$1"
}

block_fail() # LESSON BLOCKLINE TEXT...
{
    echo "FAIL $(show "$1"):$2 ${block_title}"
    shift 2
    printf '%s\n' "$@" | sed 's/^/    /'
    block_ok=""
}

# run_block LESSON DIR: generate a bash script for the block, run it, compare.
run_block()
{
    local lesson=$1 d=$2 k n cmd runcmd
    n=$(ls "$d" | grep -c '\.cmd$')
    local script="$d/run.sh"
    {
        echo "cd \"$repo\" || exit 1"
        echo "export TAPIR_LESSON_CHECK=1"
        printf 'export LAB=%q OUT=%q\n' "$block_lab" "$tmpdir"
        printf 'unrun() { sed -e "s#%s#%s#g" -e "s#%s#build-debug/tapir#g" -e "s#%s#build/tapir#g" -e "s#%s#\\$LAB#g" "$1"; }\n' \
            "$tmpdir" "${out_as/\$/\\\$}" "$tapir_debug" "$tapir" "$block_lab"
        for ((k = 1; k <= n; k++)); do
            cmd=$(cat "$d/c$k.cmd")
            runcmd=$(to_run "$cmd")
            if [[ "$runcmd" =~ ^(.*[^&])\&[[:space:]]*$ ]]; then
                # a background command: start it, then poll (bounded) for what it promises
                printf '{ %s\n} >"%s" 2>&1 </dev/null &\n' "${BASH_REMATCH[1]}" "$d/c$k.raw"
                printf 'echo bg >"%s"\n' "$d/c$k.status"
                printf 'for ((t = 0; t < %d; t++)); do unrun "%s" >"%s"; "%s" --match "%s" "%s" && break; sleep 0.1; done\n' \
                    "$BG_WAIT_TENTHS" "$d/c$k.raw" "$d/c$k.out" "$self" "$d/c$k.exp" "$d/c$k.out"
            else
                # timeout runs in a process group of its own: its pid lets an interrupted
                # checker stop it (and what it runs) instead of leaving it behind
                printf 'timeout -k 5 %s bash -c %q >"%s" 2>&1 </dev/null &\n' "$CMD_TIMEOUT" "$runcmd" "$d/c$k.raw"
                printf 'echo $! >"%s"; wait $!\n' "$d/c$k.pid"
                printf 'echo $? >"%s"\n' "$d/c$k.status"
            fi
        done
    } >"$script"
    mkdir -p "$tmpdir"
    bash "$script" >"$d/script.log" 2>&1 </dev/null

    local exp_line line_no what report at status
    if [ -n "$show_output" ]; then
        for ((k = 1; k <= n; k++)); do
            echo "\$ $(cat "$d/c$k.cmd")"
            if [ "$(cat "$d/c$k.status" 2>/dev/null)" = bg ]; then cat "$d/c$k.out"; else unrun "$d/c$k.raw"; fi
        done
    fi
    for ((k = 1; k <= n; k++)); do
        at=$(cat "$d/c$k.at")
        cmd=$(head -n 1 "$d/c$k.cmd")
        status=$(cat "$d/c$k.status" 2>/dev/null || echo "not run")
        [ "$status" = bg ] || unrun "$d/c$k.raw" >"$d/c$k.out"
        if [ "$status" = 124 ] || [ "$status" = 137 ]; then
            block_fail "$lesson" "$at" "\$ $cmd" "timed out after ${CMD_TIMEOUT}s (raise the limit with LESSONS_TIMEOUT=SECONDS); its output so far:" \
                "$(head -n 40 "$d/c$k.out")"
            return
        fi
        if [ "$status" != bg ] && [ "$status" != 0 ]; then
            block_fail "$lesson" "$at" "\$ $cmd" "exited with status $status; its output:" \
                "$(head -n 40 "$d/c$k.out")"
            return
        fi
        report="$d/c$k.report"
        : >"$report"
        if ! match "$d/c$k.exp" "$d/c$k.out" "$report"; then
            what=$(cat "$report")
            if [[ "$what" == extra* ]]; then
                line_no=${what#extra }
                block_fail "$lesson" "$at" "\$ $cmd" \
                    "unexpected output line $line_no (the lesson ends its expected output before it; add it, or '...'):" \
                    "> $(sed -n "${line_no}p" "$d/c$k.out")" "---- the command's output ----" \
                    "$(head -n 80 "$d/c$k.out")"
            else
                exp_line=$(sed -n "${what}p" "$d/c$k.exp")
                [ "$status" != bg ] || exp_line="$exp_line   (a background command: waited $((BG_WAIT_TENTHS / 10))s for it; LESSONS_TIMEOUT=SECONDS raises the wait)"
                line_no=$(sed -n "${what}p" "$d/c$k.lines")
                block_fail "$lesson" "$line_no" "\$ $cmd" \
                    "expected line $(show "$lesson"):$line_no not found where the lesson puts it:" \
                    "> $exp_line" "---- the command's output ----" "$(head -n 80 "$d/c$k.out")"
            fi
            return
        fi
    done
}

# ---- citations ---------------------------------------------------------------------------

# The index of definitions: "FILE NAME" for every line at column 0 that names a function
# (or a function-like macro) in the tree's C files. Built once.
declare -A defs_in=()
index_definitions()
{
    local f name
    while read -r f name; do
        defs_in[$name]+=" $f "
    done < <(cd "$repo" && find stack tap apps tests -name '*.[ch]' -print0 | xargs -0 awk '
        /^#define [a-z_][a-z0-9_]*\(/ { n = $2; sub(/\(.*/, "", n); print FILENAME, n; next }
        /^[a-z_]/ && match($0, /[a-z_][a-z0-9_]*\(/) { print FILENAME, substr($0, RSTART, RLENGTH - 1) }')
}

# cited LESSON: one row per citation, "LINE<TAB>path<TAB>P" for a file, "LINE<TAB>fn<TAB>F<TAB>SRC"
# for a function (SRC: the file it must be in, or empty), "LINE<TAB>link<TAB>L" for a link.
cited()
{
    awk -v OFS='\t' '
    function srcfile(p) { return p ~ /\.[ch]$/ }
    /^```/ { fence = !fence; next }
    {
        line = $0; nsrc = 0; src = ""
        s = line
        while (match(s, /`[a-z_.\/-]+\.(c|h|md|sh)`|`tap\/lab`/)) {
            p = substr(s, RSTART + 1, RLENGTH - 2)
            print FNR, p, "P"
            if (srcfile(p)) { nsrc++; src = p }
            s = substr(s, RSTART + RLENGTH)
        }
        # in a table row naming one source file, the cell after its cell must hold
        # functions from that file
        must = ""
        if (line ~ /^\|/ && nsrc == 1) {
            n = split(line, cells, "|")
            for (c = 1; c < n; c++) if (index(cells[c], "`" src "`")) { must = cells[c + 1]; break }
        }
        s = line
        while (match(s, /`[a-z_][a-z0-9_]*\(\)`/)) {
            f = substr(s, RSTART + 1, RLENGTH - 4)
            print FNR, f, "F", (index(must, "`" f "()`") ? src : "")
            s = substr(s, RSTART + RLENGTH)
        }
        s = line
        while (match(s, /\]\([^):# ]+/)) {
            print FNR, substr(s, RSTART + 2, RLENGTH - 2), "L"
            s = substr(s, RSTART + RLENGTH)
        }
    }' "$1"
}

check_citations()
{
    local lesson=$1 bad=() lineno what kind src dir
    dir=$(dirname "$lesson")
    while IFS=$'\t' read -r lineno what kind src; do
        case "$kind" in
        P) [ -e "$repo/$what" ] || [ -e "$dir/$what" ] || bad+=("$(show "$lesson"):$lineno: \`$what\` does not exist") ;;
        L) [ -e "$dir/$what" ] || bad+=("$(show "$lesson"):$lineno: link target '$what' does not exist") ;;
        F)
            if [ -n "$src" ]; then
                [[ "${defs_in[$what]:-}" == *" $src "* ]] || bad+=("$(show "$lesson"):$lineno: \`$what()\` is not defined in $src")
            else
                [ -n "${defs_in[$what]:-}" ] || bad+=("$(show "$lesson"):$lineno: \`$what()\` is not defined anywhere in the tree")
            fi
            ;;
        esac
    done < <(cited "$lesson")
    if [ ${#bad[@]} -gt 0 ]; then
        echo "FAIL $(show "$lesson") citations"
        printf '    %s\n' "${bad[@]}"
        failed=$((failed + 1))
    else
        passed=$((passed + 1))
    fi
}

# ---- the pages around the lessons --------------------------------------------------------

# check_docs: in README.md and every Markdown file under docs/, relative links resolve and
# nothing cites a file outside the repository; README.md states make check's last line as
# the Makefile prints it.
check_docs()
{
    local bad=() f line target
    while IFS= read -r f; do
        while IFS=$'\t' read -r line target; do
            [ -e "$(dirname "$f")/$target" ] || bad+=("$(show "$f"):$line: link target '$target' does not exist")
        done < <(awk -v OFS='\t' '/^```/ { fence = !fence; next } !fence {
            s = $0
            while (match(s, /\]\([^):# ]+/)) { print FNR, substr(s, RSTART + 2, RLENGTH - 2); s = substr(s, RSTART + RLENGTH) }
        }' "$f")
        while IFS=: read -r line _; do
            bad+=("$(show "$f"):$line: cites a file outside the repository (DESIGN.md, ../shared): say it here instead")
        done < <(grep -nE 'DESIGN\.md|\.\./shared|/work/shared' "$f")
    done < <(find "$repo/docs" -name '*.md' | LC_ALL=C sort; echo "$repo/README.md")
    # The Makefile adds up the suites with printf "check: %d passed, %d failed\n"; README.md
    # must quote that line (as `check: N passed, 0 failed`).
    if ! grep -qF 'printf "check: %d passed, %d failed\n"' "$repo/Makefile"; then
        bad+=("Makefile: no 'check: %d passed, %d failed' total line (update README.md and tests/lessons/check.sh with it)")
    elif ! grep -qF '`check: N passed, 0 failed`' "$repo/README.md"; then
        bad+=("README.md: does not state make check's last line as the Makefile prints it: \`check: N passed, 0 failed\`")
    fi
    if [ ${#bad[@]} -gt 0 ]; then
        echo "FAIL docs (links, citations, README's make check line)"
        printf '    %s\n' "${bad[@]}"
        failed=$((failed + 1))
    else
        echo "PASS docs (links, citations, README's make check line)"
        passed=$((passed + 1))
    fi
}

# ---- main --------------------------------------------------------------------------------

gdb_ok=""
if command -v gdb >/dev/null 2>&1 &&
    gdb -q -batch -ex run --args /bin/true 2>&1 | grep -q 'exited normally'; then
    gdb_ok=1
fi

start=$(date +%s%N)
index_definitions
[ -n "$no_citations" ] || check_docs
nlesson=0
for lesson in "${files[@]}"; do
    [ -f "$lesson" ] || { echo "FAIL $lesson (no such file)"; failed=$((failed + 1)); continue; }
    nlesson=$((nlesson + 1))
    [ -n "$no_citations" ] || check_citations "$lesson"
    # The lessons (and any page given with --per-user) are per user: $LAB and $OUT only.
    per_user=$per_user_all
    case "$lesson" in "$repo"/docs/lessons/*) per_user=1 ;; esac
    out_as='$OUT'
    [ -n "$per_user" ] || out_as=/tmp
    ldir="$work/$(basename "$lesson" .md)"
    mkdir -p "$ldir"
    parse "$lesson" "$ldir"
    for d in "$ldir"/[0-9]*; do
        [ -d "$d" ] || continue
        kind=$(cat "$d/kind")
        bline=$(cat "$d/line")
        block_title="(console${kind:+ $kind} block)"
        ncmd=$(ls "$d" | grep -c '\.cmd$')
        if [ -f "$d/orphan" ]; then
            echo "FAIL $(show "$lesson"):$(head -n 1 "$d/orphan") $block_title"
            echo "    a console block must start with a '\$ command' line"
            failed=$((failed + 1))
            continue
        fi
        # Per user: thirty students on one server run the same lines, so a command names no
        # fixed namespace or shared path (docs/lessons/README.md, "A class on one server").
        shared=$(cat "$d"/c*.cmd | grep -E 'tapir-lab|/tmp/' | head -n 1)
        if [ -n "$per_user" ] && [ -n "$shared" ]; then
            echo "FAIL $(show "$lesson"):$bline $block_title: a command names 'tapir-lab' or '/tmp/'; write \$LAB and \$OUT (per user):"
            echo "    $shared"
            failed=$((failed + 1))
            continue
        fi
        lab=""
        block_lab=${ns:-tapir-lessons-nolab-$$}
        case "$kind" in
        norun*) skipped=$((skipped + 1)); continue ;;
        lab*)
            if [ -n "$skip_lab" ] || [ -z "$ns" ]; then
                echo "SKIP $(show "$lesson"):$bline $block_title: needs root and a namespace (tests/kernel/test_lessons.sh)"
                skipped=$((skipped + 1))
                continue
            fi
            lab=1
            ;;
        gdb*)
            if [ -z "$gdb_ok" ]; then
                echo "SKIP $(show "$lesson"):$bline $block_title: gdb is missing or cannot trace here"
                skipped=$((skipped + 1))
                continue
            fi
            ;;
        "") ;;
        *)
            echo "FAIL $(show "$lesson"):$bline: unknown block kind 'console $kind' (console, console gdb, console lab, console norun)"
            failed=$((failed + 1))
            continue
            ;;
        esac
        [ "$ncmd" -gt 0 ] || { echo "FAIL $(show "$lesson"):$bline $block_title: no '\$ command' line"; failed=$((failed + 1)); continue; }
        if [ -n "$lab" ]; then
            # a lab block must name its namespace, so it never touches a student's own lab
            if cat "$d"/c*.cmd | grep -E 'tap/lab +(up|down|exec)' | grep -vqE 'tap/lab +(up|down|exec) +\$LAB( |$)'; then
                echo "FAIL $(show "$lesson"):$bline $block_title: write 'tap/lab up|down|exec \$LAB ...' (the checker sets LAB to its own namespace)"
                failed=$((failed + 1))
                continue
            fi
            "$repo/tap/lab" down "$ns" >/dev/null 2>&1
        fi
        if [ "$kind" = gdb ] && [ ! -x "$tapir_debug" ]; then
            echo "SKIP $(show "$lesson"):$bline $block_title: no -O0 build at $(show "$tapir_debug") (run: make debug)"
            skipped=$((skipped + 1))
            continue
        fi
        tmpdir="$d/tmp"
        block_ok=1
        running="$(show "$lesson"):$bline $block_title, its first command: $(head -n 1 "$d/c1.cmd")"
        running_dir=$d
        [ -z "${LESSONS_PROGRESS:-}" ] || printf 'lesson block %s (LESSONS_TIMEOUT=%s s per command)\n' "$running" "$CMD_TIMEOUT" >"$LESSONS_PROGRESS"
        run_block "$lesson" "$d"
        if [ -n "$lab" ]; then
            "$repo/tap/lab" down "$ns" >/dev/null 2>&1
        fi
        if [ -n "$block_ok" ]; then
            echo "PASS $(show "$lesson"):$bline $block_title ($ncmd command$([ "$ncmd" = 1 ] || echo s))"
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
        fi
    done
done
ms=$((($(date +%s%N) - start) / 1000000))
echo "lessons: $passed passed, $failed failed, $skipped skipped ($nlesson lessons, ${ms} ms)"
[ "$failed" = 0 ] && [ "$nlesson" -gt 0 ]
