# tests/kernel/run_lib.sh - sourced (after lib.sh) by the `tapir run` tests.
#
#   helper_bg LOG CMD...        run CMD in $NS in the background (killed by the cleanup)
#   wait_kernel_listen PORT     poll until a kernel socket in $NS listens on PORT (10 s)
#   wait_file_match FILE RE     poll until FILE has a line matching RE (10 s)
#   tapir_run_bg LOG ARGS...    `tapir --trace sock,tcp ARGS` in $NS, in the background;
#                               its pid in $RUN_PID (stopped by the cleanup too)
#   stop_tapir_run              SIGTERM (tapir passes it to the program), wait (bounded)
#   connections_to_tapir        the kernel's TCP sockets facing tapir, TIME-WAIT aside

# Debian's python3 (a version manager's wrapper script on PATH only slows each start)
PYTHON=python3
[ -x /usr/bin/python3 ] && PYTHON=/usr/bin/python3

for tool in curl python3 dumpcap; do
    command -v "$tool" >/dev/null 2>&1 || fail "needs $tool: run sudo tests/tools.sh test"
done

HELPER_PIDS=()
RUN_PID=""

stop_helpers()
{
    local p
    for p in "${HELPER_PIDS[@]}" $RUN_PID; do kill -TERM "$p" 2>/dev/null; done
    for p in "${HELPER_PIDS[@]}" $RUN_PID; do wait_gone "$p" 30 || kill -KILL "$p" 2>/dev/null; done
}
CLEANUP_FIRST=stop_helpers

helper_bg()
{
    local log=$1
    shift
    ip netns exec "$NS" "$@" >"$log" 2>&1 &
    HELPER_PIDS+=($!)
}

wait_kernel_listen()
{
    local i
    for ((i = 0; i < 100; i++)); do
        in_ns ss -Htln "sport = :$1" | grep -q LISTEN && return 0
        sleep 0.1
    done
    fail "nothing listens on the kernel's port $1 after 10 s"
}

wait_file_match()
{
    local i
    for ((i = 0; i < 100; i++)); do
        grep -Eq -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "no line matching /$2/ in $(basename "$1") after 10 s: $(tail -n 5 "$1" 2>/dev/null)"
}

tapir_run_bg()
{
    local log=$1
    shift
    ip netns exec "$NS" "$TAPIR" --trace sock,tcp "$@" >"$log.out" 2>"$log" &
    RUN_PID=$!
}

stop_tapir_run()
{
    kill -TERM "$RUN_PID" 2>/dev/null
    wait_gone "$RUN_PID" 100 || fail "tapir run did not exit within 10 s of SIGTERM"
    RUN_PID=""
}

# connections_to_tapir: the kernel's TCP sockets with tapir as the peer, TIME-WAIT aside
connections_to_tapir()
{
    in_ns ss -Htan "dst $TAPIR_IP" | grep -v TIME-WAIT || true
}
