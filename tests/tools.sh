#!/bin/sh
# tests/tools.sh - make sure the tools tapir needs are installed.
#   tools.sh build   the compiler side: cc, make, pkg-config, Check
#   tools.sh test    also the kernel-peer side: iproute2, ping, nc, socat, tshark
#   tools.sh root    fail with a clear message unless running as root
#   tools.sh bench   the optional reference of make bench: lwIP (liblwip-dev); never fails
# As root, missing Debian packages are installed with apt-get; otherwise the exact
# command to run is printed and the script fails.
set -u
mode=${1:-build}

if [ "$mode" = root ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "tapir: '${2:-this}' needs root (network namespaces, TAP). Run: sudo ${2:-$0}" >&2
        exit 1
    fi
    exit 0
fi

# lwIP is only a reference beside tapir in make bench's connections/s rows: install it when
# we can, and otherwise say nothing here (the bench prints one line saying the row is
# skipped, with the command).
if [ "$mode" = bench ]; then
    pkg-config --exists lwip 2>/dev/null && exit 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "tapir: installing liblwip-dev (optional: make bench's lwIP reference)"
        export DEBIAN_FRONTEND=noninteractive
        { apt-get update -qq && apt-get install -y -qq liblwip-dev; } >/tmp/tapir-apt.log 2>&1 ||
            echo "tapir: apt-get could not install liblwip-dev (see /tmp/tapir-apt.log)" >&2
    fi
    exit 0
fi

missing=""
need() { # need COMMAND-TEST PACKAGE
    if ! sh -c "$1" >/dev/null 2>&1; then missing="$missing $2"; fi
}
need "command -v cc" gcc
need "command -v make" make
need "command -v pkg-config" pkg-config
need "pkg-config --exists check" check
if [ "$mode" = test ]; then
    need "command -v ip" iproute2
    need "command -v ping" iputils-ping
    need "nc -h 2>&1 | grep -q -- -N" netcat-openbsd
    need "command -v socat" socat
    need "command -v tshark" tshark
    need "command -v tc" iproute2
    need "command -v sha256sum" coreutils
    need "command -v gdb" gdb
    # test_sim_pcap.sh becomes nobody to show that a sim run needs no root
    need "command -v setpriv" util-linux
    # test_lab_class.sh reads tap0 with a plain TAP reader (tests/kernel/tap_reader.py)
    need "command -v python3" python3
    # lesson 07's lab and make bench's lossy rows drop segments with an nftables rule
    need "command -v nft" nftables
    # the attack tests (test_attack_*.sh) craft hostile frames with scapy, flood with hping3
    need "/usr/bin/python3 -c 'import scapy.all'" python3-scapy
    need "command -v hping3" hping3
    # the libFuzzer run of make check (make fuzz): clang, and libFuzzer's runtime, which is
    # only a Recommends of clang (absent where apt is set to skip recommended packages)
    need "command -v clang" clang
    need "ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a" libclang-rt-dev
    # the --html pages are opened in a real (headless) browser
    need "command -v chromium" chromium
    # `tapir run curl` (tests/kernel/test_run_http.sh); the kernel side fetches with it too
    need "command -v curl" curl
fi
[ -z "$missing" ] && exit 0

cmd="apt-get install -y$missing"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "tapir: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    # tshark asks whether non-root users may capture; answer for it
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null
    if ! { apt-get update -qq && apt-get install -y -qq$missing; } >/tmp/tapir-apt.log 2>&1; then
        echo "tapir: apt-get failed (see /tmp/tapir-apt.log). Run by hand: $cmd" >&2
        exit 1
    fi
    exit 0
fi
echo "tapir: missing tools:$missing" >&2
echo "tapir: install them with: sudo $cmd" >&2
exit 1
