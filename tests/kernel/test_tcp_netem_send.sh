#!/bin/bash
# tests/kernel/test_tcp_netem_send.sh - the other half of test_tcp_netem.sh: `tapir nc`
# sends 5 MiB to the kernel over a link that loses 5%, delays 5 ms and reorders 25% of
# what tapir sends (see test_tcp_netem.sh, which picks the direction from this name).
# kernel-timeout: 120
. "$(dirname "$0")/test_tcp_netem.sh"
