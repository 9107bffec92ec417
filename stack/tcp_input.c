/* tcp_input.c - SEGMENT ARRIVES (RFC 9293 section 3.10.7).
 *
 * Read this file beside the RFC: tcp_input() validates the segment and finds its TCB,
 * then the state decides which part of 3.10.7 applies:
 *   3.10.7.1  CLOSED (no TCB)        closed_input()
 *   3.10.7.2  LISTEN                 listen_input()
 *   3.10.7.3  SYN-SENT               syn_sent_input()
 *   3.10.7.4  every other state      synchronized_input(), in the RFC's eight steps:
 *             first, check the sequence number ... eighth, check the FIN bit.
 * RFC 5961 hardens steps two, four and five against blind attackers (challenge ACKs).
 * Sequence numbers are compared only with seq_lt / seq_leq / seq_between: they wrap.
 */
#include "bytes.h"
#include "ip.h"
#include "pkb.h"
#include "tcp_impl.h"

#include <errno.h>
#include <string.h>

/* The parts of an arriving segment the steps work on; trimming edits them. */
struct seg {
    uint32_t src, dst; /* IP addresses */
    struct tcp_hdr h;
    uint32_t seq;        /* of the first byte of data (after trimming) */
    const uint8_t *data; /* the data */
    uint32_t len;        /* data bytes (not counting SYN and FIN) */
    bool syn, fin;
};

static inline uint32_t min_u32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

/* RFC 9293 3.4: SEG.LEN counts the data and the SYN and FIN flags. */
static uint32_t seg_len(const struct seg *s)
{
    return s->len + (s->syn ? 1 : 0) + (s->fin ? 1 : 0);
}

/* RCV.WND: what we last offered beyond RCV.NXT */
static uint32_t rcv_wnd(const struct tcb *tcb)
{
    return seq_gt(tcb->rcv_adv, tcb->rcv_nxt) ? tcb->rcv_adv - tcb->rcv_nxt : 0;
}

/* The peer's options from its SYN: MSS (RFC 9293 3.7.1) and window scale (RFC 7323). */
static void take_syn_options(struct tcb *tcb, const struct tcp_hdr *h)
{
    uint32_t mss = h->opts.has_mss ? h->opts.mss : TCP_DEFAULT_MSS;
    uint32_t ours = tcb->stack->cfg.mtu - IP_HDR_LEN - TCP_HDR_LEN;
    if (mss > ours)
        mss = ours;
    if (mss < 64)
        mss = 64; /* a peer announcing less would have us send tiny segments forever */
    tcb->smss = (uint16_t)mss;
    if (h->opts.has_wscale) {
        tcb->wscale_ok = true;
        tcb->snd_wscale = h->opts.wscale;
    } else {
        tcb->wscale_ok = false;
        tcb->snd_wscale = 0;
        tcb->rcv_wscale = 0;
    }
    /* RFC 2018 2: SACK only if both SYNs said SACK-permitted. Our SYN offered what the
     * configuration allows; a SYN-ACK may only answer what our SYN offered. */
    tcb->sack_ok = tcb->stack->cfg.tcp_sack && h->opts.sack_permitted;
    /* RFC 7323 3.2: the same for timestamps. They take 12 bytes of every segment, so a
     * segment carries 12 bytes of data less (as Linux does). */
    tcb->ts_ok = tcb->stack->cfg.tcp_timestamps && h->opts.has_timestamp;
    if (tcb->ts_ok) {
        tcb->ts_recent = h->opts.ts_val;
        tcb->ts_recent_us = tcb->stack->now_us;
        tcb->smss = (uint16_t)(tcb->smss - TCP_TS_OPT_LEN);
    }
}

/* The arriving segment's trace line, its numbers relative to the ISNs known so far: a
 * SYN's own seq is the sender's ISN; a listener or SYN-SENT knows no ISN of the peer yet. */
static void trace_arriving(struct stack *stack, const struct tcb *tcb, const struct seg *s)
{
    struct tcp_state *ts = stack->tcp;
    bool synced = tcb && tcb->state != TCP_LISTEN && tcb->state != TCP_SYN_SENT;
    ts->have_peer_isn = s->syn || synced;
    ts->peer_isn = s->syn ? s->seq : synced ? tcb->irs : 0;
    ts->have_our_isn = tcb && tcb->state != TCP_LISTEN;
    ts->our_isn = ts->have_our_isn ? tcb->iss : 0;
    tcp_trace_segment(stack, NULL, false, &s->h, s->src, s->dst, s->len, ts->rx_line,
                      sizeof(ts->rx_line));
}

/* ---- 3.10.7.1 CLOSED: no connection. Answer with a RST so the sender learns. ---- */
static void closed_input(struct stack *stack, const struct seg *s)
{
    stack->stats.tcp.rx_no_connection++;
    /* "An incoming segment containing a RST is discarded." */
    if (s->h.flags & TCP_RST)
        return;
    if (s->h.flags & TCP_ACK)
        /* <SEQ=SEG.ACK><CTL=RST> */
        tcp_send_reset(stack, s->dst, s->src, s->h.dport, s->h.sport, s->h.ack, 0, false);
    else
        /* <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> */
        tcp_send_reset(stack, s->dst, s->src, s->h.dport, s->h.sport, 0, s->seq + seg_len(s), true);
}

/* ---- TIME-WAIT: a new SYN for the same 4-tuple (RFC 9293 3.6.1, RFC 6191) ----
 * A client that reconnects from the port it just used finds our side of the old
 * connection in TIME-WAIT (we closed first). RFC 9293 3.6.1 (RFC 1122 4.2.2.13) lets the
 * new SYN end the TIME-WAIT if its sequence number lies beyond everything the old
 * connection sent; RFC 6191 (SHLD-4) uses the timestamps instead, when the old connection
 * had them: a SYN whose TSval is newer than TS.Recent cannot be an old duplicate, even
 * if the client's ISN happens to be lower. Any other SYN meets the TIME-WAIT as before.
 * Linux does the same (tcp_timewait_state_process). */
static bool syn_may_reopen(const struct tcb *tcb, const struct seg *s)
{
    if (!s->syn || (s->h.flags & (TCP_ACK | TCP_RST)))
        return false;
    if (tcb->owner != OWNER_TCP || tcb->busy)
        return false; /* its socket is still open: the application has not let go */
    bool seq_newer = seq_leq(tcb->rcv_nxt, s->seq); /* beyond the old FIN */
    if (tcb->ts_ok && tcb->stack->cfg.tcp_timestamps && s->h.opts.has_timestamp) {
        int32_t age = (int32_t)(s->h.opts.ts_val - tcb->ts_recent);
        return age > 0 || (age == 0 && seq_newer); /* RFC 6191 2 */
    }
    return seq_newer;
}

/* End the TIME-WAIT: the SYN goes on to the listener, as for a new 4-tuple. */
static void end_time_wait(struct tcb *tcb)
{
    struct stack *stack = tcb->stack;
    char a[16];
    stack->stats.tcp.tw_reopened++;
    trace(stack, TRACE_TCP, "SYN from %s:%u newer than its TIME-WAIT (RFC 6191): reopened",
          ip_str(tcb->remote_ip, a), tcb->remote_port);
    tcb_hold(tcb);
    tcp_set_state(tcb, TCP_CLOSED);
    tcb_release(tcb); /* frees it */
}

/* ---- 3.10.7.2 LISTEN ---- */
static void synchronized_input(struct tcb *tcb, struct seg *s);

/* An ACK that returns one of our SYN cookies (tcp_syncookie.c): create the connection its
 * SYN asked for, in SYN-RECEIVED as if we had kept it, and let the ACK complete the
 * handshake there. False when it is no cookie of ours. */
static bool syncookie_open(struct tcb *l, const struct seg *s)
{
    struct stack *stack = l->stack;
    struct tcp_hdr syn = s->h; /* the SYN this ACK answers, as far as the cookie knows it */
    if (!tcp_syncookie_ack(l, s->dst, s->src, &s->h, &syn.opts))
        return false;
    if (l->acceptq_len >= l->backlog) {
        stack->stats.tcp.listen_drops++;
        trace(stack, TRACE_TCP, "accept queue full (%u): cookie ACK ignored", l->acceptq_len);
        return true; /* as if lost: the client sends again */
    }
    struct tcb *c = tcp_new_child(l, s->dst, s->src, s->h.sport);
    if (!c)
        return true;
    c->irs = s->seq - 1;
    c->rcv_nxt = s->seq;
    c->iss = s->h.ack - 1;
    c->snd_una = c->iss;
    c->snd_nxt = c->snd_max = c->snd_base = c->iss + 1;
    c->recover = c->iss;
    tcp_choose_wscale(c);
    take_syn_options(c, &syn);
    /* the window our cookie SYN-ACK offered (tcp_syncookie_send) */
    c->rcv_adv = c->rcv_nxt + min_u32(ring_free(&c->rcv), 65535);
    c->snd_wl1 = c->irs;
    c->snd_wl2 = c->iss;
    tcp_cc_init(c);
    stack->stats.tcp.passive_opens++;
    tcp_set_state(c, TCP_SYN_RECEIVED);
    tcp_hash(c);
    /* should the ACK not complete the handshake, the SYN-ACK is sent again */
    tcp_arm_rtx(c);
    struct seg rest = *s; /* the steps may trim it */
    tcb_hold(c);
    synchronized_input(c, &rest);
    tcb_release(c);
    return true;
}

static void listen_input(struct tcb *l, const struct seg *s)
{
    /* LAB handshake: begin */
    struct stack *stack = l->stack;
    /* first, check for a RST: nothing to reset yet */
    if (s->h.flags & TCP_RST)
        return;
    /* second, check for an ACK: nothing of ours can be acknowledged yet, unless it
     * returns a SYN cookie (RFC 4987 3.6) */
    if (s->h.flags & TCP_ACK) {
        if (!s->syn && syncookie_open(l, s))
            return;
        /* typically a late ACK for a connection that has already gone */
        stack->stats.tcp.rx_listen_ack++;
        trace(stack, TRACE_TCP, "ACK to a listener, for no connection: RST");
        tcp_send_reset(stack, s->dst, s->src, s->h.dport, s->h.sport, s->h.ack, 0, false);
        return;
    }
    /* third, check for a SYN */
    if (!s->syn)
        return; /* fourth, other text or control: drop */
    if (tcp_syncookie_needed(l)) {
        /* under a SYN flood: answer without keeping state (tcp_syncookie.c) */
        tcp_syncookie_send(l, s->dst, s->src, &s->h);
        return;
    }
    struct tcb *c = tcp_new_child(l, s->dst, s->src, s->h.sport);
    if (!c)
        return;
    c->irs = s->seq;
    c->rcv_nxt = s->seq + 1;
    c->rcv_adv = c->rcv_nxt;
    c->iss = tcp_new_isn(stack, c->local_ip, c->local_port, c->remote_ip, c->remote_port);
    c->snd_una = c->snd_nxt = c->snd_max = c->iss;
    c->snd_base = c->iss + 1;
    c->recover = c->iss;
    tcp_choose_wscale(c);
    take_syn_options(c, &s->h);
    c->snd_wnd = c->max_sndwnd = s->h.wnd; /* a SYN's window is never scaled */
    c->snd_wl1 = s->seq;
    c->snd_wl2 = c->iss;
    tcp_cc_init(c);
    /* Data in a SYN is not kept (no TCP Fast Open): we do not acknowledge it, so the
     * peer sends it again once the connection is up. */
    stack->stats.tcp.passive_opens++;
    tcp_set_state(c, TCP_SYN_RECEIVED);
    tcp_hash(c);
    tcp_send_syn(c); /* <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> */
    /* LAB handshake: end */
}

/* Both sides' SYNs are acknowledged: the connection is open. */
static void established(struct tcb *tcb)
{
    tcp_set_state(tcb, TCP_ESTABLISHED);
    tcb->retries = 0;
    tcp_sack_clear(tcb);
    /* RFC 6298 5.7: after a SYN timed out, with no RTT measured, data starts at 3 s */
    if (tcb->syn_timed_out && !tcb->rtt_valid)
        tcb->rto_us = 3000000;
    if (!tcb->parent)
        tcb->events |= EV_CONNECTED | EV_WRITABLE;
    if (tcb->close_after_estab) {
        /* the user closed (or shut down) during the handshake: the FIN goes now */
        tcb->fin_queued = true;
        tcp_set_state(tcb, TCP_FIN_WAIT_1);
    }
}

/* ---- 3.10.7.3 SYN-SENT ---- */
static void syn_sent_input(struct tcb *tcb, const struct seg *s)
{
    /* LAB handshake: begin */
    struct stack *stack = tcb->stack;
    bool ack_ok = false;
    /* first, check the ACK bit: it must acknowledge our SYN and nothing more */
    if (s->h.flags & TCP_ACK) {
        if (seq_leq(s->h.ack, tcb->iss) || seq_gt(s->h.ack, tcb->snd_nxt)) {
            if (!(s->h.flags & TCP_RST))
                tcp_send_reset(stack, s->dst, s->src, s->h.dport, s->h.sport, s->h.ack, 0, false);
            return;
        }
        ack_ok = true; /* SND.UNA < SEG.ACK =< SND.NXT */
    }
    /* second, check the RST bit: with an acceptable ACK it refuses our SYN */
    if (s->h.flags & TCP_RST) {
        if (ack_ok) {
            stack->stats.tcp.rx_resets++;
            tcp_connection_dead(tcb, -ECONNREFUSED);
        }
        return;
    }
    /* third, check the security: not implemented (RFC 9293 3.10.7.3 allows that) */
    /* fourth, check the SYN bit */
    if (!s->syn)
        return; /* fifth: neither SYN nor RST: drop */
    tcb->irs = s->seq;
    tcb->rcv_nxt = s->seq + 1;
    tcb->rcv_adv = tcb->rcv_nxt;
    take_syn_options(tcb, &s->h);
    tcb->snd_wnd = tcb->max_sndwnd = s->h.wnd; /* unscaled in a SYN */
    tcb->snd_wl1 = s->seq;
    tcb->snd_wl2 = s->h.ack;
    tcp_cc_init(tcb); /* the initial window depends on the MSS just learned */
    if (ack_ok) {
        tcb->snd_una = s->h.ack; /* our SYN is acknowledged */
        if (tcb->rtt_timing)
            tcp_rtt_sample(tcb, (uint32_t)(stack->now_us - tcb->rtt_start_us));
        tcb->rtt_timing = false;
        timer_cancel(stack, &tcb->rtx_timer);
        established(tcb);
        /* <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, plus any data queued meanwhile */
        tcb->ack_now = true;
        tcp_output(tcb);
        return;
    }
    /* A SYN without ACK: the other side opened at the same time (simultaneous open,
     * RFC 9293 figure 8). <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> */
    tcp_set_state(tcb, TCP_SYN_RECEIVED);
    tcp_send_syn(tcb);
    /* LAB handshake: end */
}

/* ---- out-of-order data (RFC 9293 3.10.7.4 seventh: "segments with higher beginning
 * sequence numbers than expected may be held for later processing") ----
 * The bytes go straight into the receive ring at their place; a short sorted list of
 * ranges remembers which places are filled. */
static void ooo_insert(struct tcb *tcb, uint32_t seq, const uint8_t *data, uint32_t len)
{
    /* LAB receive: begin */
    struct stack *stack = tcb->stack;
    for (unsigned i = 0; i < tcb->n_ooo; i++)
        if (seq_leq(tcb->ooo[i].start, seq) && seq_leq(seq + len, tcb->ooo[i].end)) {
            /* we hold all of it already: a duplicate (RFC 2883 D-SACK) */
            stack->stats.tcp.rx_duplicates++;
            tcp_sack_rx_duplicate(tcb, seq, seq + len);
            return;
        }
    uint32_t off = tcb->rcv.len + (seq - tcb->rcv_nxt);
    if (tcp_ring_reserve(tcb, &tcb->rcv, off + len) < 0) {
        record_drop(stack, "tcp", "no memory for the receive buffer");
        return; /* as if lost: not acknowledged, the sender repeats it */
    }
    if (!range_add(tcb->ooo, &tcb->n_ooo, stack->cfg.tcp_ooo_max, seq, seq + len)) {
        stack->stats.tcp.rx_ooo_drops++;
        record_drop(stack, "tcp", "out-of-order ranges full");
        trace(stack, TRACE_TCP, "drop: %u out-of-order ranges held already", tcb->n_ooo);
        return;
    }
    stack->stats.tcp.rx_out_of_order++;
    ring_write_at(&tcb->rcv, off, data, len);
    tcp_sack_rx_segment(tcb, seq, seq + len);
    /* LAB receive: end */
}

/* rcv_nxt moved: ranges it reached are now in-order data. */
static void ooo_advance(struct tcb *tcb)
{
    /* LAB receive: begin */
    while (tcb->n_ooo && seq_leq(tcb->ooo[0].start, tcb->rcv_nxt)) {
        if (seq_gt(tcb->ooo[0].end, tcb->rcv_nxt)) {
            tcb->rcv.len += tcb->ooo[0].end - tcb->rcv_nxt;
            tcb->rcv_nxt = tcb->ooo[0].end;
        }
        tcb->n_ooo--;
        memmove(&tcb->ooo[0], &tcb->ooo[1], tcb->n_ooo * sizeof(tcb->ooo[0]));
    }
    tcp_sack_rx_advance(tcb);
    /* LAB receive: end */
}

/* ---- 3.10.7.4, the steps for synchronized states (and SYN-RECEIVED) ---- */

/* first, check the sequence number: the four cases of RFC 9293 3.10.7.4's table */
static bool seq_acceptable(const struct tcb *tcb, const struct seg *s)
{
    /* LAB receive: begin */
    uint32_t wnd = rcv_wnd(tcb), len = seg_len(s), nxt = tcb->rcv_nxt;
    if (len == 0 && wnd == 0)
        return s->seq == nxt;
    if (len == 0)
        return seq_leq(nxt, s->seq) && seq_lt(s->seq, nxt + wnd);
    if (wnd == 0)
        /* "not acceptable", but RFC 9293 asks to accept the ACK (and RST) of a segment
         * at RCV.NXT even so; its text is trimmed away below */
        return s->seq == nxt;
    return (seq_leq(nxt, s->seq) && seq_lt(s->seq, nxt + wnd)) ||
           (seq_leq(nxt, s->seq + len - 1) && seq_lt(s->seq + len - 1, nxt + wnd));
    /* LAB receive: end */
}

/* Cut what lies before RCV.NXT (a duplicate) or beyond the window. */
static void trim_to_window(struct tcb *tcb, struct seg *s)
{
    /* LAB receive: begin */
    struct stack *stack = tcb->stack;
    if (s->syn && seq_lt(s->seq, tcb->rcv_nxt)) {
        s->syn = false; /* the SYN itself is old */
        s->seq++;
    }
    if (seq_lt(s->seq, tcb->rcv_nxt)) {
        uint32_t dup = tcb->rcv_nxt - s->seq;
        if (dup > s->len && s->fin)
            s->fin = false; /* the FIN is old too */
        if (dup > s->len)
            dup = s->len;
        tcp_sack_rx_duplicate(tcb, s->seq, s->seq + dup); /* RFC 2883 */
        s->data += dup;
        s->len -= dup;
        s->seq += dup;
        stack->stats.tcp.rx_duplicates++;
        tcb->ack_now = true; /* RFC 5681 4.2: answer a duplicate at once */
    }
    uint32_t edge = tcb->rcv_nxt + rcv_wnd(tcb);
    if (s->len && seq_gt(s->seq + s->len, edge)) {
        uint32_t over = s->seq + s->len - edge;
        s->len = over >= s->len ? 0 : s->len - over;
        s->fin = false;
        stack->stats.tcp.rx_beyond_window++;
        tcb->ack_now = true;
    }
    /* LAB receive: end */
}

/* ---- fifth, check the ACK field (RFC 9293 3.10.7.4), one function per part ---- */

/* RFC 7323 4.3: an RTT sample from the echoed timestamp. Karn's rule forbids timing a
 * retransmitted segment; the echo tells which transmission is answered, so every ACK of
 * new data yields a sample. A segment we time to the microsecond (send_data) gives the
 * finer sample when it is the one acknowledged. */
static void rtt_from_ack(struct tcb *tcb, const struct seg *s)
{
    struct stack *stack = tcb->stack;
    if (tcb->rtt_timing && seq_gt(s->h.ack, tcb->rtt_seq)) {
        tcp_rtt_sample(tcb, (uint32_t)(stack->now_us - tcb->rtt_start_us));
        tcb->rtt_timing = false;
    } else if (tcb->ts_ok && s->h.opts.has_timestamp && s->h.opts.ts_ecr && !tcb->rtt_timing) {
        uint32_t ms = tcp_ts_now(tcb) - s->h.opts.ts_ecr;
        if (ms < TCP_RTO_MAX_US / 1000)
            tcp_rtt_sample(tcb, ms * 1000);
    }
}

/* New data acknowledged (SND.UNA < SEG.ACK =< SND.MAX): "set SND.UNA <- SEG.ACK. Any
 * segments on the retransmission queue that are thereby entirely acknowledged are
 * removed." */
static void ack_new_data(struct tcb *tcb, const struct seg *s)
{
    struct stack *stack = tcb->stack;
    uint32_t ack = s->h.ack;
    uint32_t acked = ack - tcb->snd_una;
    uint32_t data_acked = 0;
    if (seq_gt(ack, tcb->snd_base)) {
        data_acked = min_u32(ack - tcb->snd_base, tcb->snd.len);
        ring_consume(&tcb->snd, data_acked);
        tcb->snd_base += data_acked;
        if (tcb->snd.len == 0)
            tcp_ring_drained(tcb, &tcb->snd); /* all acknowledged: memory back */
    }
    tcb->snd_una = ack;
    if (seq_lt(tcb->snd_nxt, tcb->snd_una))
        tcb->snd_nxt = tcb->snd_una; /* after going back, the peer had it already */
    tcp_sack_forget_acked(tcb);
    rtt_from_ack(tcb, s);
    tcb->retries = 0;
    tcp_cc_on_ack(tcb, acked);
    /* RFC 6298 5.2 / 5.3: stop the timer when all is acknowledged, else restart it */
    if (tcb->snd_una == tcb->snd_max)
        timer_cancel(stack, &tcb->rtx_timer);
    else if (!tcb->in_recovery)
        tcp_arm_rtx(tcb);
    tcp_tlp_arm(tcb);
    if (data_acked)
        tcb->events |= EV_WRITABLE;
}

/* RFC 5681 2: a duplicate ACK acknowledges nothing new, carries nothing, leaves the
 * window alone, while data is outstanding. With SACK, RFC 6675 2: it SACKs new data. */
static bool is_duplicate_ack(const struct tcb *tcb, const struct seg *s, uint32_t newly_sacked)
{
    if (s->h.ack != tcb->snd_una || tcb->snd_una == tcb->snd_max)
        return false;
    if (tcb->sack_ok && s->h.opts.n_sack)
        return newly_sacked > 0;
    uint32_t wnd = (uint32_t)s->h.wnd << tcb->snd_wscale;
    return s->len == 0 && !s->syn && !s->fin && wnd == tcb->snd_wnd;
}

/* "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be updated": from the newest
 * segment only, as SND.WL1 and SND.WL2 decide. */
static void update_send_window(struct tcb *tcb, const struct seg *s)
{
    uint32_t ack = s->h.ack, wnd = (uint32_t)s->h.wnd << tcb->snd_wscale;
    if (seq_leq(tcb->snd_una, ack) && (seq_lt(tcb->snd_wl1, s->h.seq) ||
                                       (tcb->snd_wl1 == s->h.seq && seq_leq(tcb->snd_wl2, ack)))) {
        tcb->snd_wnd = wnd;
        tcb->snd_wl1 = s->h.seq;
        tcb->snd_wl2 = ack;
        if (wnd > tcb->max_sndwnd)
            tcb->max_sndwnd = wnd;
    }
    tcb->probes = 0; /* the peer answers: not dead, however long its window stays shut */
    if (tcb->snd_wnd)
        tcb->persist_backoff = 0; /* the window opened */
}

/* SYN-RECEIVED: "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state and
 * continue processing"; otherwise <SEQ=SEG.ACK><CTL=RST>. False: the segment is done. */
static bool ack_in_syn_received(struct tcb *tcb, const struct seg *s)
{
    struct stack *stack = tcb->stack;
    uint32_t ack = s->h.ack;
    if (!(seq_lt(tcb->snd_una, ack) && seq_leq(ack, tcb->snd_max))) {
        tcp_send_reset(stack, s->dst, s->src, s->h.dport, s->h.sport, ack, 0, false);
        return false;
    }
    if (tcb->parent && !tcp_child_established(tcb))
        return false;            /* accept queue full: as if the ACK were lost */
    tcb->snd_una = tcb->iss + 1; /* our SYN is acknowledged */
    if (tcb->rtt_timing)
        tcp_rtt_sample(tcb, (uint32_t)(stack->now_us - tcb->rtt_start_us));
    tcb->rtt_timing = false;
    timer_cancel(stack, &tcb->rtx_timer);
    tcb->snd_wnd = (uint32_t)s->h.wnd << tcb->snd_wscale;
    tcb->max_sndwnd = tcb->snd_wnd;
    tcb->snd_wl1 = s->h.seq;
    tcb->snd_wl2 = ack;
    established(tcb);
    return true;
}

/* RFC 5961 5.2: an ACK is acceptable only within (SND.UNA - MAX.SND.WND, SND.NXT];
 * anything else is a blind injection or garbage: answer with an ACK and drop. */
static bool ack_acceptable(struct tcb *tcb, const struct seg *s)
{
    if (seq_between(tcb->snd_una - tcb->max_sndwnd, s->h.ack, tcb->snd_max))
        return true;
    tcb->stack->stats.tcp.rx_bad_ack++;
    tcp_send_challenge_ack(tcb);
    return false;
}

/* ESTABLISHED (and the states that continue "as in ESTABLISHED"): new data acknowledged,
 * the SACK scoreboard, a duplicate ACK, the send window. */
static void ack_in_established(struct tcb *tcb, const struct seg *s)
{
    bool new_data = seq_gt(s->h.ack, tcb->snd_una);
    if (new_data)
        ack_new_data(tcb, s);
    uint32_t newly_sacked = tcp_sack_update(tcb, &s->h.opts);
    bool rack_lost = tcp_rack_on_ack(tcb, &s->h.opts);
    tcp_tlp_on_ack(tcb, &s->h.opts);
    bool dup = !new_data && is_duplicate_ack(tcb, s, newly_sacked);
    update_send_window(tcb, s);
    if (dup)
        tcp_cc_on_dupack(tcb);
    else if (newly_sacked || rack_lost)
        tcp_cc_on_sack(tcb);
}

/* FIN-WAIT-1, CLOSING, LAST-ACK: is our FIN acknowledged now? False: the TCB closed. */
static bool ack_of_our_fin(struct tcb *tcb)
{
    struct stack *stack = tcb->stack;
    if (!tcp_fin_acked(tcb))
        return true;
    switch (tcb->state) {
    case TCP_FIN_WAIT_1:
        tcp_set_state(tcb, TCP_FIN_WAIT_2);
        if (tcb->owner == OWNER_TCP) /* nobody will read: do not wait forever */
            timer_arm(stack, &tcb->wait_timer, 2ull * stack->cfg.tcp_msl_ms * 1000);
        break;
    case TCP_CLOSING:
        tcp_enter_time_wait(tcb);
        break;
    case TCP_LAST_ACK:
        tcp_connection_dead(tcb, 0);
        return false;
    default:
        break;
    }
    return true;
}

/* Returns false when the segment is done with (dropped, or the TCB was closed). */
static bool check_ack(struct tcb *tcb, const struct seg *s)
{
    if (!(s->h.flags & TCP_ACK))
        return false; /* "if the ACK bit is off, drop the segment and return" */
    if (tcb->state == TCP_SYN_RECEIVED && !ack_in_syn_received(tcb, s))
        return false; /* else on as in ESTABLISHED */
    if (!ack_acceptable(tcb, s))
        return false;
    ack_in_established(tcb, s);
    return ack_of_our_fin(tcb);
}

/* seventh, process the segment text */
/* Returns false when the data reset the connection. */
static bool process_text(struct tcb *tcb, struct seg *s)
{
    if (s->len == 0)
        return true;
    if (tcb->state != TCP_ESTABLISHED && tcb->state != TCP_FIN_WAIT_1 &&
        tcb->state != TCP_FIN_WAIT_2)
        return true; /* the peer's FIN came already: "ignore the segment text" */
    if (tcb->owner == OWNER_TCP) {
        /* The user closed: nobody will ever read this. Tell the peer its data is lost
         * instead of acknowledging it (RFC 1122 4.2.2.13; Linux does the same). */
        tcb->stack->stats.tcp.rx_data_after_close++;
        tcp_send_rst_for(tcb);
        tcp_connection_dead(tcb, -ECONNRESET);
        return false;
    }
    if (s->seq != tcb->rcv_nxt) {
        /* a hole before it: hold it, and send a duplicate ACK at once (RFC 5681 4.2) */
        ooo_insert(tcb, s->seq, s->data, s->len);
        tcb->ack_now = true;
        return true;
    }
    if (tcp_ring_reserve(tcb, &tcb->rcv, tcb->rcv.len + s->len) < 0) {
        record_drop(tcb->stack, "tcp", "no memory for the receive buffer");
        return true; /* as if lost: not acknowledged, the sender repeats it */
    }
    ring_write_at(&tcb->rcv, tcb->rcv.len, s->data, s->len);
    tcb->rcv.len += s->len;
    tcb->rcv_nxt += s->len;
    tcb->events |= EV_READABLE;
    if (tcb->n_ooo) {
        ooo_advance(tcb);
        tcb->ack_now = true; /* it filled (part of) a hole: tell the sender now */
    } else {
        tcp_schedule_ack(tcb, s->len);
    }
    return true;
}

/* eighth, check the FIN bit */
static void process_fin(struct tcb *tcb, const struct seg *s)
{
    /* LAB close: begin */
    if (s->fin && s->seq + s->len != tcb->rcv_nxt) {
        /* a FIN beyond a hole: it counts once the data before it is here */
        tcb->ooo_fin = true;
        tcb->ooo_fin_seq = s->seq + s->len;
        tcb->ack_now = true;
        return;
    }
    bool fin = s->fin || (tcb->ooo_fin && tcb->ooo_fin_seq == tcb->rcv_nxt && !tcb->fin_rcvd);
    if (!fin)
        return;
    tcb->ooo_fin = false;
    tcb->rcv_nxt++; /* the FIN takes one sequence number */
    tcb->fin_rcvd = true;
    tcb->ack_now = true;
    tcb->events |= EV_READABLE | EV_PEER_CLOSED;
    switch (tcb->state) {
    case TCP_SYN_RECEIVED:
    case TCP_ESTABLISHED:
        tcp_set_state(tcb, TCP_CLOSE_WAIT);
        break;
    case TCP_FIN_WAIT_1:
        if (tcp_fin_acked(tcb))
            tcp_enter_time_wait(tcb);
        else
            tcp_set_state(tcb, TCP_CLOSING); /* simultaneous close */
        break;
    case TCP_FIN_WAIT_2:
        tcp_enter_time_wait(tcb);
        break;
    case TCP_TIME_WAIT:
        tcp_enter_time_wait(tcb); /* restart the 2 MSL timeout */
        break;
    default:
        break; /* CLOSE-WAIT, CLOSING, LAST-ACK: remain */
    }
    /* LAB close: end */
}

/* RFC 7323 5.3 R1: PAWS. A segment whose timestamp is older than TS.Recent is an old
 * duplicate (its sequence number may have wrapped into the window again): not acceptable.
 * TS.Recent older than 24 days proves nothing any more (5.5). A RST is exempt. */
static bool paws_rejects(const struct tcb *tcb, const struct seg *s)
{
    const uint64_t valid_us = 24ull * 24 * 3600 * 1000000;
    if (!tcb->ts_ok || !s->h.opts.has_timestamp || (s->h.flags & TCP_RST))
        return false;
    if (tcb->stack->now_us - tcb->ts_recent_us > valid_us)
        return false;
    return seq_lt(s->h.opts.ts_val, tcb->ts_recent);
}

/* RFC 7323 4.3 (2): keep the timestamp to echo: that of the segment our next ACK answers
 * (SEG.SEQ =< Last.ACK.sent), so that the echo covers any delay of that ACK. */
static void update_ts_recent(struct tcb *tcb, const struct seg *s)
{
    if (!tcb->ts_ok || !s->h.opts.has_timestamp)
        return;
    if (seq_geq(s->h.opts.ts_val, tcb->ts_recent) && seq_leq(s->h.seq, tcb->last_ack_sent)) {
        tcb->ts_recent = s->h.opts.ts_val;
        tcb->ts_recent_us = tcb->stack->now_us;
    }
}

static void synchronized_input(struct tcb *tcb, struct seg *s)
{
    struct stack *stack = tcb->stack;
    tcp_keepalive_rx(tcb);

    /* first, check the sequence number; RFC 7323 5.3: and the timestamp (PAWS) */
    if (paws_rejects(tcb, s)) {
        stack->stats.tcp.rx_paws_drops++;
        trace(stack, TRACE_TCP, "drop: PAWS, timestamp %u older than %u", s->h.opts.ts_val,
              tcb->ts_recent);
        tcp_send_ack(tcb);
        return;
    }
    if (!seq_acceptable(tcb, s)) {
        if (s->len && seq_leq(s->seq + s->len, tcb->rcv_nxt)) {
            stack->stats.tcp.rx_duplicates++; /* all of it came before */
            tcp_sack_rx_duplicate(tcb, s->seq, s->seq + s->len);
        } else
            stack->stats.tcp.rx_out_of_window++;
        if (s->h.flags & TCP_RST)
            return;
        if (tcb->state == TCP_TIME_WAIT && s->fin)
            tcp_enter_time_wait(tcb); /* the peer resent its FIN: our ACK was lost */
        if (s->syn)
            tcp_send_challenge_ack(tcb); /* RFC 5961 4.2: any SYN */
        else
            tcp_send_ack(tcb); /* <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> */
        return;
    }
    update_ts_recent(tcb, s);
    trim_to_window(tcb, s);

    /* second, check the RST bit (RFC 5961 3.2: only an exact RCV.NXT resets) */
    if (s->h.flags & TCP_RST) {
        if (s->h.seq != tcb->rcv_nxt) {
            tcp_send_challenge_ack(tcb);
            return;
        }
        stack->stats.tcp.rx_resets++;
        switch (tcb->state) {
        case TCP_SYN_RECEIVED:
            /* a passive open goes back to LISTEN (the listener is still there; this child
             * goes away); an active one was refused */
            tcp_connection_dead(tcb, tcb->parent ? 0 : -ECONNREFUSED);
            break;
        case TCP_ESTABLISHED:
        case TCP_FIN_WAIT_1:
        case TCP_FIN_WAIT_2:
        case TCP_CLOSE_WAIT:
            tcp_connection_dead(tcb, -ECONNRESET);
            break;
        default: /* CLOSING, LAST-ACK, TIME-WAIT */
            tcp_connection_dead(tcb, 0);
            break;
        }
        return;
    }

    /* third, check security: not implemented */

    /* fourth, check the SYN bit */
    if (s->syn) {
        if (tcb->state == TCP_SYN_RECEIVED && tcb->parent) {
            tcp_connection_dead(tcb, 0); /* passive open: "return to LISTEN" */
            return;
        }
        tcp_send_challenge_ack(tcb); /* RFC 5961 4.2 */
        return;
    }

    /* fifth, check the ACK field */
    if (!check_ack(tcb, s))
        return;

    /* sixth, check the URG bit: RCV.UP <- max(RCV.UP, SEG.UP) (tcp_urgent.c) */
    tcp_urgent_rx(tcb, s->h.flags, s->seq, s->h.urg_ptr);

    /* seventh, process the segment text; the urgent byte, once here, goes apart */
    if (!process_text(tcb, s))
        return;
    tcp_urgent_capture(tcb);

    /* eighth, check the FIN bit */
    process_fin(tcb, s);

    tcp_output(tcb); /* data the new window allows, and the ACK we owe */
}

static void drop(struct stack *stack, struct pkb *pkb, uint64_t *counter, const char *why)
{
    (*counter)++;
    record_drop(stack, "tcp", why);
    trace(stack, TRACE_TCP, "drop: %s", why);
    pkb_free(pkb);
}

void tcp_input(struct stack *stack, struct pkb *pkb)
{
    struct tcp_stats *st = &stack->stats.tcp;
    struct tcp_state *ts = stack->tcp;
    struct seg s;
    memset(&s, 0, sizeof(s));
    s.src = pkb->meta.ip_src;
    s.dst = pkb->meta.ip_dst;

    st->rx_segments++;
    enum tcp_parse_result r = tcp_parse(pkb->data, pkb->len, &s.h);
    if (r == TCP_PARSE_TRUNCATED)
        return drop(stack, pkb, &st->rx_truncated, "shorter than a TCP header");
    if (r == TCP_PARSE_BAD_OFFSET)
        return drop(stack, pkb, &st->rx_bad_offset, "data offset < 5 or past the segment");
    if (!tcp_checksum_ok(pkb->data, pkb->len, s.src, s.dst))
        return drop(stack, pkb, &st->rx_bad_checksum, "bad checksum");
    if (r == TCP_PARSE_BAD_FLAGS)
        return drop(stack, pkb, &st->rx_bad_flags, "impossible flags (SYN with FIN or RST)");
    if (r == TCP_PARSE_BAD_OPTIONS)
        return drop(stack, pkb, &st->rx_bad_options, "malformed options");
    /* RFC 1122 4.2.3.10: TCP is unicast only. (IP already dropped a multicast destination,
     * which is never ours, and a link-layer broadcast to a unicast address.) */
    if (pkb->meta.ip_broadcast)
        return drop(stack, pkb, &st->rx_not_unicast, "to a broadcast or multicast address");

    s.seq = s.h.seq;
    s.data = pkb->data + s.h.hdr_len;
    s.len = (uint32_t)(pkb->len - s.h.hdr_len);
    s.syn = (s.h.flags & TCP_SYN) != 0;
    s.fin = (s.h.flags & TCP_FIN) != 0;

    struct tcb *tcb = tcp_lookup(stack, s.dst, s.h.dport, s.src, s.h.sport);
    if (tcb && tcb->state == TCP_TIME_WAIT && syn_may_reopen(tcb, &s)) {
        end_time_wait(tcb);
        tcb = NULL;
    }
    if (!tcb)
        tcb = tcp_lookup_listener(stack, s.dst, s.h.dport);

    ts->transitions[0] = 0;
    ts->rx_pending = stack_trace_enabled(stack, TRACE_TCP);
    if (ts->rx_pending)
        trace_arriving(stack, tcb, &s);
    if (!tcb) {
        if (ts->rx_pending)
            strcat(ts->transitions, " | no connection");
        tcp_trace_flush(stack);
        closed_input(stack, &s);
        pkb_free(pkb);
        return;
    }
    /* Hold the TCB (and the listener its upcalls may go to) until we are done. */
    struct tcb *listener = tcb->parent;
    tcb_hold(tcb);
    if (listener)
        tcb_hold(listener);
    switch (tcb->state) {
    case TCP_LISTEN:
        listen_input(tcb, &s);
        break;
    case TCP_SYN_SENT:
        syn_sent_input(tcb, &s);
        break;
    case TCP_CLOSED:
        break; /* not hashed; cannot happen */
    default:
        synchronized_input(tcb, &s);
        break;
    }
    tcp_trace_flush(stack);
    pkb_free(pkb);
    tcb_release(tcb);
    if (listener)
        tcb_release(listener);
}

/* An ICMP error about a segment we sent (RFC 1122 4.2.3.9, RFC 5927). Only a port or
 * protocol unreachable during the handshake is fatal; everything else is "soft": kept,
 * and reported only if the connection later times out. One local error is fatal too:
 * ARP gave up on the next hop of our SYN (icmp_type 0, no one on the network could forge
 * it): connect() fails with -EHOSTUNREACH after ARP's 3 s, as Linux's does, instead of
 * retrying the SYN for minutes towards a host that is not there. */
void tcp_error(struct stack *stack, const struct ip_error *err)
{
    if (err->l4_len < 8)
        return;
    uint16_t sport = get_be16(err->l4), dport = get_be16(err->l4 + 2);
    uint32_t seq = get_be32(err->l4 + 4);
    struct tcb *tcb = tcp_lookup(stack, err->src, sport, err->dst, dport);
    if (!tcb)
        return;
    /* RFC 5927 4.1: the quoted sequence number must be one we have in flight */
    if (!seq_between(tcb->snd_una, seq, tcb->snd_max)) {
        stack->stats.tcp.rx_icmp_ignored++;
        return;
    }
    stack->stats.tcp.rx_icmp_errors++;
    tcb_hold(tcb);
    bool hard = err->icmp_type == 3 && (err->icmp_code == 2 || err->icmp_code == 3);
    bool local = err->icmp_type == 0;
    if (tcb->state == TCP_SYN_SENT && hard)
        tcp_connection_dead(tcb, -ECONNREFUSED);
    else if (tcb->state == TCP_SYN_SENT && local) {
        tcp_trace_conn(tcb, "ARP got no answer from the next hop: the connection fails");
        tcp_connection_dead(tcb, -err->err);
    } else
        tcb->soft_err = -err->err;
    tcb_release(tcb);
}
