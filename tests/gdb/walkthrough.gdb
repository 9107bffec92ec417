# walkthrough.gdb - the gdb session of docs/debugging.md, as a script:
#
#   gdb -batch -x tests/gdb/walkthrough.gdb --args build-debug/tapir sim handshake --no-sack --no-timestamps
#
# Every stop prints a line starting "=== " and then the state it shows; test_gdb.sh checks
# those against what the doc says. Run from the top of the repository (it sources
# docs/tapir.gdb by a relative path).
set pagination off
set confirm off
set width 0
set print pretty off
source docs/tapir.gdb
# tapir.gdb turns hardware watchpoints off (they never fire on many VMs): the test checks
# this line, so section 6 is run with software watchpoints on every machine.
show can-use-hw-watchpoints

# Every state change, printed without stopping: which stack, old state -> new state.
# Set before `run`: B's listener goes CLOSED -> LISTEN before any segment arrives.
break tcp_set_state
commands
  silent
  printf "STATE %s ", tcb->stack->name
  output tcb->state
  printf " -> "
  output s
  printf "\n"
  continue
end

# 1. The first segment to arrive anywhere: A's SYN, at B.
break tcp_input
run
printf "=== 1. tcp_input: stack %s, %lu bytes of TCP\n", stack->name, pkb->len
bt
print pkb->meta
pkb pkb
printf "=== 1. the whole frame (Ethernet, IP, TCP with options)\n"
x/62xb pkb->meta.ip_hdr - 14
tcbs
delete 2

# 2. The listener takes the SYN.
break listen_input
continue
printf "=== 2. listen_input\n"
tcb l
tcphdr &s->h
delete 3

# 3. The SYN-ACK arrives at A: the TCB before and, with a watchpoint on its state, during.
break syn_sent_input
continue
printf "=== 3. syn_sent_input\n"
print tcb->state
print tcb->snd_nxt - tcb->iss
tcb tcb
delete 4
watch -l tcb->state
continue
printf "=== 3. the watchpoint fired\n"
bt 2
tcb tcb
delete 5

# 4. A conditional breakpoint: only B, only a segment with ACK and without SYN (the
#    third segment of the handshake; byte 13 of the TCP header holds the flags).
break tcp_input if stack->name[0] == 'B' && (pkb->data[13] & 0x12) == 0x10
continue
printf "=== 4. conditional tcp_input: stack %s, flags 0x%02x, %lu bytes of TCP\n", stack->name, pkb->data[13], pkb->len
x/54xb pkb->meta.ip_hdr - 14
tcbs
delete 6

# 5. The rest runs without stopping (the state changes still print).
printf "=== 5. to the end\n"
continue
