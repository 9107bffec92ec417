#!/bin/bash
# tap/lab, the lab network script (README.md, "The lab"): `up` on a fresh name builds
# the namespace with tap0 = 10.0.0.1/24, link up, MTU 1500, IPv6 off; `up` again reuses
# it; `exec` runs a command inside and passes its exit status back; `down` removes it,
# and `down` of a namespace that does not exist is quiet and succeeds.
. "$(dirname "$0")/lib.sh"
need_root

ns_exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$1"; }

ns_exists "$NS" && fail "namespace $NS exists before the test"
LAB_CREATED=1 # from here on the trap removes it whatever happens
out=$("$LAB" up "$NS" 2>&1) || fail "tap/lab up $NS failed: $out"
echo "$out"
ns_exists "$NS" || fail "tap/lab up $NS: no namespace $NS afterwards"

expect_match "tap0 address" "inet 10\\.0\\.0\\.1/24 " "$(in_ns ip -o -4 addr show dev tap0)"
link=$(in_ns ip -o link show dev tap0)
echo "$link"
expect_match "tap0 is administratively up" '<[^>]*[<,]UP[,>]' "$link"
expect_match "tap0 MTU" ' mtu 1500 ' "$link"
expect_eq "IPv6 off on tap0" 1 "$(in_ns cat /proc/sys/net/ipv6/conf/tap0/disable_ipv6)"
expect_match "lo is up" '<[^>]*[<,]UP[,>]' "$(in_ns ip -o link show dev lo)"

out=$("$LAB" up "$NS" 2>&1) || fail "tap/lab up $NS a second time failed: $out"
expect_match "second up reuses the namespace" 'already exists; reusing it' "$out"
expect_eq "addresses on tap0 after a second up" 1 "$(in_ns ip -o -4 addr show dev tap0 | grep -c 'inet ')"

# exec runs inside the namespace (another network namespace than ours) ...
"$LAB" exec "$NS" test -e /sys/class/net/tap0 || fail "tap/lab exec $NS: no tap0 inside"
[ "$("$LAB" exec "$NS" readlink /proc/self/ns/net)" != "$(readlink /proc/self/ns/net)" ] ||
    fail "tap/lab exec ran in the host's network namespace"
# ... and hands back the command's exit status.
rc=0
"$LAB" exec "$NS" sh -c 'exit 3' || rc=$?
expect_eq "exit status through tap/lab exec" 3 "$rc"

out=$("$LAB" down "$NS" 2>&1) || fail "tap/lab down $NS failed: $out"
echo "$out"
ns_exists "$NS" && fail "tap/lab down $NS: namespace still there"
LAB_CREATED=""

rc=0
out=$("$LAB" down "$NS" 2>&1) || rc=$?
expect_eq "exit status of down of a missing namespace" 0 "$rc"
expect_eq "output of down of a missing namespace" "" "$out"

rc=0
"$LAB" bogus >/dev/null 2>&1 || rc=$?
expect_eq "exit status of an unknown tap/lab command" 2 "$rc"
pass
