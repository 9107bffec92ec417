# tapir.gdb - gdb commands for looking inside tapir (docs/debugging.md shows them in use).
#
#   (gdb) source docs/tapir.gdb
#
# or have them in every session: put `source /path/to/tapir/docs/tapir.gdb` in ~/.gdbinit.
#
# The commands only read memory: they work on a running program and on a core file alike,
# and never call a function inside tapir. Build with `make debug` (build-debug/tapir,
# -O0 -g3) so that every variable is there to be read.
#
#   ipfmt ADDR        an IPv4 address held in host order (tcb->local_ip, pkb->meta.ip_src)
#   pkb PTR [N]       a packet buffer: length, headroom, tailroom, its first N bytes (32)
#   tcphdr PTR        a parsed TCP header (struct tcp_hdr): ports, seq, ack, flags, window
#   tcb PTR           a connection: 4-tuple, state, relative sequence numbers, windows,
#                     congestion window, RTO
#   tcbs [STACK]      every TCB of a stack (default: the variable `stack` of this frame)
#
# It also switches gdb to software watchpoints (below): they work on every machine.

# ---- watchpoints ----

# Many virtual machines and containers give gdb no debug registers: a hardware watchpoint
# is accepted there ("watch -l tcb->state" answers as usual) and then never fires, and the
# program runs to its end. A software watchpoint single-steps the program and compares the
# value after every instruction: slower (a second or two for a `tapir sim` scenario), but
# it stops on every machine. `set can-use-hw-watchpoints 1` turns hardware ones back on.
set can-use-hw-watchpoints 0

# ---- addresses ----

# Without a newline, for the other commands.
define _tapir_ip
  printf "%u.%u.%u.%u", (($arg0) >> 24) & 255, (($arg0) >> 16) & 255, (($arg0) >> 8) & 255, ($arg0) & 255
end
document _tapir_ip
Print an IPv4 address held in host byte order, without a newline (used by the other commands).
end

define ipfmt
  _tapir_ip $arg0
  printf "\n"
end
document ipfmt
ipfmt ADDR: print an IPv4 address held in host byte order as a dotted quad.
tapir keeps addresses in host order everywhere above the wire (tcb->remote_ip,
pkb->meta.ip_src, stack->cfg.ip), so `print/x` shows 0xa000001 for 10.0.0.1.
Example: ipfmt tcb->remote_ip
end

# ---- packet buffers ----

define pkb
  set $_pkb = (struct pkb *)($arg0)
  set $_pkb_n = 32
  if $argc > 1
    set $_pkb_n = $arg1
  end
  if $_pkb_n > $_pkb->len
    set $_pkb_n = $_pkb->len
  end
  printf "pkb %p: len=%lu headroom=%lu tailroom=%lu cap=%lu\n", $_pkb, (unsigned long)$_pkb->len, (unsigned long)($_pkb->data - $_pkb->head), (unsigned long)($_pkb->cap - ($_pkb->data - $_pkb->head) - $_pkb->len), (unsigned long)$_pkb->cap
  if $_pkb->meta.ip_proto != 0
    printf "  ip: "
    _tapir_ip $_pkb->meta.ip_src
    printf " > "
    _tapir_ip $_pkb->meta.ip_dst
    printf " proto=%u ttl=%u", $_pkb->meta.ip_proto, $_pkb->meta.ip_ttl
    if $_pkb->meta.src_port != 0
      printf " sport=%u", $_pkb->meta.src_port
    end
    printf "\n"
  end
  set $_pkb_i = 0
  while $_pkb_i < $_pkb_n
    if $_pkb_i % 16 == 0
      printf "  %04x:", $_pkb_i
    end
    printf " %02x", $_pkb->data[$_pkb_i]
    set $_pkb_i = $_pkb_i + 1
    if $_pkb_i % 16 == 0 || $_pkb_i == $_pkb_n
      printf "\n"
    end
  end
end
document pkb
pkb PTR [N]: show a packet buffer (struct pkb, stack/pkb.h).
Prints len, headroom (data - head: room to push headers in front), tailroom and cap; what
the lower layers noted in pkb->meta (addresses, protocol, TTL) once IP has seen it; then
the first N bytes from pkb->data as hex (default 32, at most len).
On the way up each layer pulls its header, so in tcp_input pkb->data is the TCP header and
the whole frame starts 14 bytes before pkb->meta.ip_hdr:  x/54xb pkb->meta.ip_hdr - 14
Example: pkb pkb 20
end

# ---- TCP ----

define tcphdr
  set $_th = (struct tcp_hdr *)($arg0)
  printf "%u > %u seq=%u ack=%u win=%u hdr_len=%u flags=", $_th->sport, $_th->dport, $_th->seq, $_th->ack, $_th->wnd, $_th->hdr_len
  if $_th->flags & 0x02
    printf "SYN "
  end
  if $_th->flags & 0x01
    printf "FIN "
  end
  if $_th->flags & 0x04
    printf "RST "
  end
  if $_th->flags & 0x08
    printf "PSH "
  end
  if $_th->flags & 0x10
    printf "ACK "
  end
  printf "(0x%02x)", $_th->flags
  if $_th->opts.has_mss
    printf " mss=%u", $_th->opts.mss
  end
  if $_th->opts.has_wscale
    printf " wscale=%u", $_th->opts.wscale
  end
  if $_th->opts.sack_permitted
    printf " sackOK"
  end
  if $_th->opts.has_timestamp
    printf " ts=%u/%u", $_th->opts.ts_val, $_th->opts.ts_ecr
  end
  if $_th->opts.n_sack
    printf " sack-blocks=%u", $_th->opts.n_sack
  end
  printf "\n"
end
document tcphdr
tcphdr PTR: a parsed TCP header (struct tcp_hdr, stack/tcp_seg.h), e.g. `tcphdr &s->h`
in listen_input / syn_sent_input / synchronized_input. Numbers are absolute, as on the wire.
end

# One line: "B 10.0.0.2:9 > 10.0.0.1:55441 TCP_ESTABLISHED"
define _tapir_tcb_line
  set $_tl = (struct tcb *)($arg0)
  printf "%s ", $_tl->stack->name
  _tapir_ip $_tl->local_ip
  printf ":%u > ", $_tl->local_port
  _tapir_ip $_tl->remote_ip
  printf ":%u ", $_tl->remote_port
  output $_tl->state
end
document _tapir_tcb_line
Print one TCB's stack, 4-tuple and state, without a newline (used by tcb and tcbs).
end

define tcb
  set $_t = (struct tcb *)($arg0)
  printf "tcb %p ", $_t
  _tapir_tcb_line $_t
  printf "\n"
  if $_t->state == TCP_CLOSED || $_t->state == TCP_LISTEN
    printf "  owner="
    output $_t->owner
    printf " backlog=%u half-open=%u waiting-accept=%u\n", $_t->backlog, $_t->syn_recv_count, $_t->acceptq_len
  else
    printf "  send: iss=%u una=iss+%u nxt=iss+%u max=iss+%u in-flight=%u wnd=%u (peer's)\n", $_t->iss, $_t->snd_una - $_t->iss, $_t->snd_nxt - $_t->iss, $_t->snd_max - $_t->iss, $_t->snd_max - $_t->snd_una, $_t->snd_wnd
    if $_t->state == TCP_SYN_SENT
      printf "  recv: irs not known yet (no SYN from the peer)\n"
    else
      printf "  recv: irs=%u nxt=irs+%u adv=nxt+%u buffered=%u\n", $_t->irs, $_t->rcv_nxt - $_t->irs, $_t->rcv_adv - $_t->rcv_nxt, $_t->rcv.len
    end
    printf "  mss=%u cwnd=%u ssthresh=%u dupacks=%u%s\n", $_t->smss, $_t->cwnd, $_t->ssthresh, $_t->dupacks, $_t->in_recovery ? " (fast recovery)" : ""
    printf "  rto=%u us srtt=%u us rttvar=%u us retries=%u%s\n", $_t->rto_us, $_t->srtt_us, $_t->rttvar_us, $_t->retries, $_t->rtt_valid ? "" : " (no RTT sample yet)"
  end
end
document tcb
tcb PTR: a TCP connection (struct tcb, stack/tcp_impl.h) in a few lines.
The stack (A or B), local > remote address and port, the state; then, for a connection,
the send sequence space relative to the ISS (una = oldest unacknowledged, nxt = next to
send, max = highest sent) and the receive space relative to the IRS, as RFC 9293 3.3.1
draws them; the windows, the congestion window (RFC 5681) and the RTO (RFC 6298).
Relative numbers are what Wireshark shows: after the handshake both nxt are iss+1 / irs+1.
Example: tcb tcb        (in tcp_set_state, listen_input, syn_sent_input, ...)
end

define tcbs
  if $argc > 0
    set $_st = (struct stack *)($arg0)
  else
    set $_st = stack
  end
  set $_tt = $_st->tcp->all
  set $_tn = 0
  while $_tt != 0
    printf "  %p ", $_tt
    _tapir_tcb_line $_tt
    printf "\n"
    set $_tt = $_tt->all_next
    set $_tn = $_tn + 1
  end
  printf "%d TCB(s) in stack %s\n", $_tn, $_st->name
end
document tcbs
tcbs [STACK]: every TCB of a stack, listeners and connections, one line each.
Without an argument it uses the variable `stack` of the selected frame (tcp_input,
ip_input, stack_step, ... have one); elsewhere name one, e.g. `tcbs tcb->stack`.
end
