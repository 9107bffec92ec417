/* tcp_tlp.c - the tail loss probe (RFC 8985 section 7).
 *
 * Fast recovery needs ACKs, and ACKs need segments that arrive after the loss. When the
 * last segments of a burst are lost, nothing comes back, and only the retransmission
 * timeout (200 ms at least, far more once it backed off) would resend them. The probe
 * goes after about two round trips of silence instead (the PTO): one segment, new data if
 * the window allows, else the last segment again. If that segment was the only one lost,
 * the probe repaired it; otherwise its ACK carries a SACK block for it, and everything
 * sent before it and still unacknowledged is lost: RACK (tcp_rack.c) concludes that from
 * the probe's send time, and fast recovery resends it at once. With RACK switched off
 * (--no-rack), this file applies the same rule to the probe alone.
 */
#include "tcp_impl.h"

#define TLP_MIN_US    10000u  /* Linux's floor under 2 * SRTT */
#define TLP_DELACK_US 200000u /* RFC 8985 WCDelAckT: a lone segment's ACK may be delayed */

/* RFC 8985 7.2: PTO = 2 * SRTT, plus the worst delayed ACK when one segment is out. */
static uint32_t probe_timeout(const struct tcb *tcb)
{
    uint32_t pto = 2 * tcb->srtt_us;
    if (pto < TLP_MIN_US)
        pto = TLP_MIN_US;
    if (tcb->snd_max - tcb->snd_una <= tcb->smss)
        pto += TLP_DELACK_US;
    return pto;
}

/* After new data went out or new data was acknowledged (RFC 8985 7.2): (re)start the PTO
 * timer while data is outstanding, no recovery or backed-off timeout is under way, and no
 * probe is out already. A PTO later than the RTO takes the RTO's place (RFC 8985 7.2, as
 * Linux does): the probe goes just before the RTO would, and the RTO restarts after it. A
 * lone last segment (its PTO has the delayed-ACK allowance) is then probed, not timed out,
 * and a repaired loss halves cwnd instead of collapsing it to one segment. */
void tcp_tlp_arm(struct tcb *tcb)
{
    struct stack *stack = tcb->stack;
    if (!stack->cfg.tcp_tlp || !tcb->sack_ok || !tcb->rtt_valid || tcb->tlp_out ||
        tcb->in_recovery || tcb->retries || tcb->snd_una == tcb->snd_max) {
        timer_cancel(stack, &tcb->tlp_timer);
        return;
    }
    uint64_t pto = probe_timeout(tcb);
    if (timer_armed(&tcb->rtx_timer)) {
        uint64_t rto_at = tcb->rtx_timer.when_us;
        uint64_t left = rto_at > stack->now_us ? rto_at - stack->now_us : 0;
        if (left <= 1) {
            timer_cancel(stack, &tcb->tlp_timer);
            return;
        }
        if (pto >= left)
            pto = left - 1; /* timers due at once fire in arming order: be first */
    }
    timer_arm(stack, &tcb->tlp_timer, pto);
}

/* Nothing new may go: the last segment again. Segments were cut at SMSS from the first
 * byte in flight, so the last one holds what is left over (and the FIN if it was sent). */
static uint32_t resend_last_segment(struct tcb *tcb)
{
    uint32_t fin =
        tcp_fin_acked(tcb) || !tcb->fin_queued || seq_leq(tcb->snd_max, tcp_fin_seq(tcb)) ? 0 : 1;
    uint32_t data = tcb->snd_max - tcb->snd_una - fin;
    uint32_t tail = data % tcb->smss ? data % tcb->smss : (data ? tcb->smss : 0);
    return tcp_retransmit_at(tcb, tcb->snd_max - fin - tail, tail + fin,
                             "tail loss probe: the last segment again (RFC 8985 7.3)");
}

/* RFC 8985 7.3: the PTO expired: send the probe, then leave the rest to the RTO. */
void tcp_tlp_fire(struct stack *stack, void *arg)
{
    struct tcb *tcb = arg;
    tcb_hold(tcb);
    if (tcb->snd_una != tcb->snd_max && !tcb->in_recovery && !tcb->tlp_out &&
        (tcb->state == TCP_ESTABLISHED || tcb->state == TCP_CLOSE_WAIT ||
         tcb->state == TCP_FIN_WAIT_1 || tcb->state == TCP_CLOSING || tcb->state == TCP_LAST_ACK)) {
        tcb->tlp_out = true; /* before sending: sending would re-arm the PTO */
        stack->stats.tcp.tlp_probes++;
        uint32_t n = tcp_send_new_segment(tcb);
        tcb->tlp_was_rxt = n == 0;
        if (n == 0)
            n = resend_last_segment(tcb);
        trace(stack, TRACE_TCP, "tail loss probe: %u bytes %s", n,
              tcb->tlp_was_rxt ? "resent" : "of new data");
        tcb->tlp_high_seq = tcb->snd_max;
        tcb->tlp_seq = tcb->snd_max - n;
        tcp_arm_rtx(tcb);
    }
    tcb_release(tcb);
}

/* An ACK arrived while a probe is out (SND.UNA already moved, the scoreboard updated). */
void tcp_tlp_on_ack(struct tcb *tcb, const struct tcp_opts *o)
{
    if (!tcb->tlp_out)
        return;
    if (seq_geq(tcb->snd_una, tcb->tlp_high_seq)) {
        /* RFC 8985 7.4: the episode is over. A resent probe that drew no D-SACK repaired
         * a real loss. */
        tcb->tlp_out = false;
        if (tcb->tlp_was_rxt && !tcp_sack_is_dsack(o, tcb->snd_una))
            tcp_cc_on_tlp_loss(tcb);
        tcp_tlp_arm(tcb);
        return;
    }
    /* The probe arrived (the peer SACKed it) and what was sent before it did not: lost.
     * RACK (tcp_rack.c) sees that itself: the probe is the most recently sent segment
     * delivered. Without RACK, the scoreboard counts every hole below the probe as lost
     * from now on: RACK's rule reduced to the probe. */
    if (tcp_rack_enabled(tcb))
        return;
    if (tcp_sack_holds(tcb, tcb->tlp_seq) && seq_gt(tcb->tlp_seq, tcb->lost_below)) {
        tcb->lost_below = tcb->tlp_seq;
        tcp_cc_on_sack(tcb);
    }
}
