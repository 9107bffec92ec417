#!/bin/bash
# A class on one server (README.md, "Many students on one server"):
#  - two labs with different names run side by side, each with its own tapir answering;
#  - a TAP device is left as a fresh one would be: after tapir exits (its close switches
#    the offloads off) and after `tap/lab up` on a reused lab (tapir killed with SIGKILL
#    never closed), a plain TAP reader gets TCP with finished checksums;
#  - the kernel tests run under a custom namespace prefix (KERNEL_NS_PREFIX), and one that
#    runs out of time is named with the step it was in and the variable that raises it;
#  - without root: where /dev/net/tun is not open to everyone, `tap/lab` says exactly why;
#    where it is (a 0666 device node, in a mount namespace of this test only), `nobody`
#    runs the lab with `tap/lab shell` and pings tapir.
# kernel-timeout: 60
. "$(dirname "$0")/lib.sh"
need_root

NS2="${NS}-2"
lab2_down() { "$LAB" down "$NS2" >/dev/null 2>&1; }
CLEANUP_FIRST=lab2_down
reader="$KERNEL_DIR/tap_reader.py"

# ---- two labs side by side ---------------------------------------------------------------
step "two labs side by side: $NS and $NS2"
start_stack
out=$("$LAB" up "$NS2" 2>&1) || fail "tap/lab up $NS2: $out"
ip netns exec "$NS2" "$TAPIR" serve >"$WORK/two.out" 2>&1 &
pid2=$!
for ((i = 0; i < $(scaled 100); i++)); do
    grep -q '^tapir: up ' "$WORK/two.out" && break
    alive "$pid2" || break
    sleep 0.1
done
grep -q '^tapir: up ' "$WORK/two.out" || fail "the second lab's tapir did not come up: $(cat "$WORK/two.out")"
expect_match "ping in lab 1" '^1 packets transmitted, 1 received' "$(in_ns ping -c 1 -W 5 "$TAPIR_IP" 2>&1)"
expect_match "ping in lab 2" '^1 packets transmitted, 1 received' \
    "$(ip netns exec "$NS2" ping -c 1 -W 5 "$TAPIR_IP" 2>&1)"
kill -TERM "$pid2"
wait_gone "$pid2" "$(scaled 100)" || fail "the second lab's tapir did not stop"
# each lab saw only its own ping: lab 1's tapir answered exactly one echo request
wait_stat "echo requests received" 1
stop_stack
expect_eq "lab 1 answered only its own ping" 1 "$(stat_value "$STACK_ERR" 'echo requests received')"

# ---- a TAP device as fresh as a new one --------------------------------------------------
# plain_reader_sees: attach the plain reader to the lab's tap0, have the kernel send a
# SYN to 10.0.0.2 (a static neighbour entry: the reader answers no ARP), print its verdict.
plain_reader_sees()
{
    in_ns ip neigh replace "$TAPIR_IP" lladdr "$TAPIR_MAC" dev tap0 nud permanent
    in_ns python3 "$reader" tap0 "$(scaled 5)" >"$WORK/reader.out" 2>&1 &
    local rpid=$! i
    for ((i = 0; i < $(scaled 50); i++)); do
        grep -q attached "$WORK/reader.out" && break
        sleep 0.1
    done
    wait_link_up
    in_ns nc -z -w 1 "$TAPIR_IP" 9 >/dev/null 2>&1
    wait "$rpid"
    grep '^tcp checksum' "$WORK/reader.out" || echo "no TCP segment: $(cat "$WORK/reader.out")"
}

step "the plain TAP reader after tapir exited normally"
start_stack # offloads on (the default)
stop_stack
expect_eq "a SYN to the plain reader after tapir's exit" "tcp checksum ok flags=0x02" "$(plain_reader_sees)"

step "the plain TAP reader after tapir was killed, and tap/lab up"
start_stack
kill -KILL "$STACK_PID"
wait_gone "$STACK_PID" "$(scaled 50)"
STACK_PID=""
out=$("$LAB" up "$NS" 2>&1) || fail "tap/lab up $NS (reuse): $out"
expect_match "tap/lab up on a reused lab resets tap0" 'reusing it \(tap0 reset\)' "$out"
expect_eq "a SYN to the plain reader after tap/lab up" "tcp checksum ok flags=0x02" "$(plain_reader_sees)"

# ---- kernel tests under a custom prefix --------------------------------------------------
step "tests/kernel/run.sh lab with KERNEL_NS_PREFIX"
prefix="tapir-c$$-"
out=$(KERNEL_NS_PREFIX="$prefix" KERNEL_VERBOSE=1 "$KERNEL_DIR/run.sh" "$TAPIR" lab 2>&1)
echo "$out"
expect_match "the lab test passes under the prefix" '^kernel: 1 passed, 0 failed$' "$out"
expect_match "its namespace carries the prefix" "namespace '$prefix[0-9]+-lab' up" "$out"

# ---- a test that runs out of time ----------------------------------------------------------
step "tests/kernel/run.sh lessons with KERNEL_TIMEOUT=3"
out=$(KERNEL_NS_PREFIX="$prefix" KERNEL_TIMEOUT=3 "$KERNEL_DIR/run.sh" "$TAPIR" lessons 2>&1)
echo "$out" | head -n 5
expect_match "a timed-out test is named, with the step it was in and the variable to raise" \
    '^FAIL lessons \(timed out after 3s during: (tests/lessons/check\.sh on lessons 01-05|lesson block docs/lessons/[0-9]+-[a-z-]+\.md:[0-9]+ .*)( \(last progress: .*\))?; raise the limit with KERNEL_TIMEOUT_SCALE=[0-9]+ \(now [0-9]+\) or KERNEL_TIMEOUT=SECONDS\)$' "$out"
expect_no_match "it left no namespace behind" "^$prefix" "$(ip netns list)"

# ---- without root ------------------------------------------------------------------------
# Both cases on every machine, whatever the host's /dev/net/tun allows: a TAP control
# device node of mode 0600 or 0666 is bound over /dev/net/tun in a mount namespace of this
# test only, and `nobody` runs tap/lab there.
step "tap/lab as nobody"
chmod 755 "$WORK"
for mode in 600 666; do
    mknod "$WORK/tun$mode" c 10 200 && chmod "$mode" "$WORK/tun$mode" || fail "mknod of a TAP control device failed"
done
touch "$WORK/nobody.out" && chmod 666 "$WORK/nobody.out"
# as_nobody MODE CMD...: CMD as nobody, with /dev/net/tun of mode MODE
as_nobody()
{
    local mode=$1
    shift
    unshare -m sh -c 'mount --make-rprivate / && mount --bind "$0" /dev/net/tun || exit 9
        exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"' "$WORK/tun$mode" "$@"
}

rc=0
out=$(as_nobody 600 "$LAB" up 2>&1) || rc=$?
echo "$out"
expect_eq "tap/lab up as nobody fails" 1 "$rc"
expect_match "and says it needs root and how" "needs root .* Run: sudo " "$out"
rc=0
out=$(as_nobody 600 "$LAB" shell true 2>&1) || rc=$?
echo "$out"
expect_eq "tap/lab shell as nobody without access to /dev/net/tun fails" 1 "$rc"
expect_match "and says why and what to do" '/dev/net/tun is not readable and writable for you \(crw-------\).*chmod 0666 /dev/net/tun' "$out"

if ! setpriv --reuid=65534 --regid=65534 --clear-groups unshare -Urn true 2>/dev/null; then
    out=$(as_nobody 666 "$LAB" shell true 2>&1)
    expect_match "no user namespaces: tap/lab says so" 'does not let unprivileged users create user namespaces' "$out"
    note "unprivileged user namespaces are off here: the lab without root cannot be shown"
    pass
fi
out=$(as_nobody 666 "$LAB" shell sh -c "
        \"$TAPIR\" serve >\"$WORK/nobody.out\" 2>&1 & p=\$!
        i=0; while [ \$i -lt $(scaled 100) ] && ! grep -q '^tapir: up' \"$WORK/nobody.out\"; do sleep 0.1; i=\$((i + 1)); done
        ping -c 1 -W 5 10.0.0.2; kill \$p" 2>&1)
echo "$out"
expect_match "tap/lab shell as nobody: a namespace of its own" 'a namespace of your own: tap0 10\.0\.0\.1/24' "$out"
expect_match "tapir came up as nobody" '^tapir: up ' "$(cat "$WORK/nobody.out")"
expect_match "and answered the kernel's ping" '^1 packets transmitted, 1 received' "$out"
pass
