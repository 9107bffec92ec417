#!/bin/bash
# The tapir command line (DESIGN.md, "The tapir command"): a bad option gives a one-line
# error naming what was wrong and exit status 2, before touching any TAP device; --help
# prints the usage on stdout and exits 0. No root or namespace needed.
. "$(dirname "$0")/lib.sh"

HINT='(tapir --help shows the usage)'

# bad_usage WHAT-IT-MUST-NAME ARGS...: exit status 2, nothing on stdout, and on stderr one
# line "tapir: ..." naming the culprit (optionally followed by the --help hint).
bad_usage()
{
    local culprit=$1
    shift
    local rc=0
    timeout --foreground 5 "$TAPIR" "$@" </dev/null >"$WORK/out" 2>"$WORK/err" || rc=$?
    echo "\$ tapir $* -> exit $rc"
    sed 's/^/  stderr: /' "$WORK/err"
    expect_eq "exit status of 'tapir $*'" 2 "$rc"
    expect_eq "stdout of 'tapir $*'" "" "$(cat "$WORK/out")"
    local first rest
    first=$(head -n 1 "$WORK/err")
    rest=$(tail -n +2 "$WORK/err")
    expect_match "error line of 'tapir $*'" "^tapir: .*$culprit" "$first"
    [ -z "$rest" ] || expect_eq "lines after the error of 'tapir $*'" "$HINT" "$rest"
}

bad_usage "'300\\.1\\.2\\.3'" --ip 300.1.2.3
bad_usage "'10\\.0\\.0\\.2/33'" --ip 10.0.0.2/33
bad_usage "'bogus'" --trace bogus
bad_usage "'bogus'" bogus
bad_usage "'70000'" --echo 70000
bad_usage "'-1'" --hub -1
bad_usage "'01:00:00:00:00:01'" --mac 01:00:00:00:00:01
bad_usage "'1\\.2\\.3'" --gw 1.2.3
bad_usage "too many --gw" --gw 10.0.0.1 --gw 10.0.0.3 --gw 10.0.0.4 --gw 10.0.0.5 --gw 10.0.0.6
bad_usage "'extra'" serve extra
bad_usage "HOST" ping
bad_usage "'0'" ping 10.0.0.1 -c 0
bad_usage "PORT" nc 10.0.0.1
bad_usage "'loss=200%'" --impair loss=200%
bad_usage "unknown key 'speed'" --impair speed=1 serve
bad_usage "'5min'" serve --impair in:delay=5min
bad_usage "seed= takes no in:/out: prefix" --impair out:seed=3

# Options getopt itself rejects: exit status 2 and the option named first. (tapir follows
# the message with the full usage here, so only the first line is held to the format.)
for args in "--bogus" "--ip"; do
    rc=0
    # shellcheck disable=SC2086 # one word each
    timeout --foreground 5 "$TAPIR" $args </dev/null >"$WORK/out" 2>"$WORK/err" || rc=$?
    expect_eq "exit status of 'tapir $args'" 2 "$rc"
    expect_match "error line of 'tapir $args'" "^[^ ]*tapir: .*'$args'" "$(head -n 1 "$WORK/err")"
done

rc=0
timeout --foreground 5 "$TAPIR" --help </dev/null >"$WORK/out" 2>"$WORK/err" || rc=$?
expect_eq "exit status of 'tapir --help'" 0 "$rc"
expect_match "usage on stdout" '^usage: tapir \[OPTIONS\] \[serve\]' "$(cat "$WORK/out")"
expect_match "usage lists --pcap and --stats" '--pcap FILE +--stats' "$(cat "$WORK/out")"
expect_eq "stderr of 'tapir --help'" "" "$(cat "$WORK/err")"
pass
