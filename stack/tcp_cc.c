/* tcp_cc.c - congestion control: how much TCP may have in flight so that it does not
 * overrun the network (RFC 5681), with NewReno fast recovery (RFC 6582).
 *
 *   cwnd      congestion window: bytes in flight allowed (besides the peer's window)
 *   ssthresh  below it cwnd grows fast (slow start), above it slowly (congestion avoidance)
 *
 * Slow start adds what each ACK acknowledges (doubling per round trip); congestion avoidance
 * one MSS per window acknowledged. Three duplicate ACKs mean one segment was lost but
 * later ones arrived: resend it at once (fast retransmit), halve the window and keep
 * sending while the duplicates come (fast recovery). An ACK that covers only part of
 * what was outstanding ("partial ACK") shows the next hole: resend that one too, without
 * halving again (NewReno). A retransmission timeout means worse: back to one segment.
 *
 * With SACK (RFC 6675) the sender knows every hole: recovery starts on the third
 * duplicate ACK or as soon as the scoreboard shows the first unacknowledged byte lost,
 * cwnd is halved once, and "pipe" (tcp_sack.c), not an inflated cwnd, says how much may
 * be in flight. Before that, RFC 3042 limited transmit lets the first two duplicate ACKs
 * each send one new segment, so that a small window still produces three duplicates.
 */
#include "tcp_impl.h"

#define CWND_MAX (1u << 30)

static uint32_t flight_size(const struct tcb *tcb)
{
    return tcb->snd_max - tcb->snd_una;
}

/* RFC 5681 (4): ssthresh = max(FlightSize / 2, 2 * SMSS) */
static uint32_t half_flight(const struct tcb *tcb)
{
    uint32_t half = flight_size(tcb) / 2;
    return half > 2u * tcb->smss ? half : 2u * tcb->smss;
}

void tcp_cc_init(struct tcb *tcb)
{
    /* RFC 6928 initial window of 10 segments, as Linux (RFC 5681 allows 3-4). */
    tcb->cwnd = 10u * tcb->smss;
    tcb->ssthresh = CWND_MAX; /* "arbitrarily high" (RFC 5681 3.1) */
    tcb->bytes_acked = 0;
    tcb->dupacks = 0;
    tcb->in_recovery = false;
    tcb->limited_transmit = 0;
}

/* New data acknowledged (`acked` bytes; snd_una already moved). */
void tcp_cc_on_ack(struct tcb *tcb, uint32_t acked)
{
    /* LAB cc: begin */
    uint32_t smss = tcb->smss;
    if (tcb->in_recovery) {
        if (seq_geq(tcb->snd_una, tcb->recover)) {
            /* full ACK (RFC 6582 3.2 step 3): deflate to ssthresh, recovery is over */
            uint32_t f = flight_size(tcb);
            uint32_t w = (f > smss ? f : smss) + smss;
            tcb->cwnd = w < tcb->ssthresh ? w : tcb->ssthresh;
            tcb->in_recovery = false;
            tcb->dupacks = 0;
        } else if (tcb->sack_ok) {
            /* partial ACK with SACK: pipe goes down, tcp_output sends the next holes */
            tcp_arm_rtx(tcb);
        } else {
            /* partial ACK: resend the next hole, deflate by what was acked */
            tcp_retransmit_first(tcb, "partial ACK in fast recovery (RFC 6582)");
            tcb->cwnd = tcb->cwnd > acked ? tcb->cwnd - acked : 0;
            if (acked >= smss)
                tcb->cwnd += smss;
            if (tcb->cwnd < smss)
                tcb->cwnd = smss;
            tcp_arm_rtx(tcb);
        }
        return;
    }
    tcb->dupacks = 0;
    tcb->limited_transmit = 0;
    if (tcb->recover_set && seq_gt(tcb->snd_una, tcb->recover))
        tcb->recover_set = false;
    if (tcb->cwnd < tcb->ssthresh) {
        /* slow start with byte counting (RFC 3465): cwnd grows by what was acknowledged.
         * RFC 3465 caps one ACK at L = 2*SMSS; like Linux we do not, because receivers
         * that acknowledge a whole receive burst at once (tapir itself, Linux with GRO)
         * would otherwise turn the doubling per round trip into +2 segments. */
        tcb->cwnd += acked;
    } else {
        /* congestion avoidance: one SMSS per cwnd of acknowledged bytes */
        tcb->bytes_acked += acked;
        if (tcb->bytes_acked >= tcb->cwnd) {
            tcb->bytes_acked -= tcb->cwnd;
            tcb->cwnd += smss;
        }
    }
    if (tcb->cwnd > CWND_MAX)
        tcb->cwnd = CWND_MAX;
    /* LAB cc: end */
}

/* Fast retransmit and the start of fast recovery (RFC 5681 3.2, RFC 6582 3.2 step 2,
 * RFC 6675 5 steps 4.1-4.3). */
static void enter_recovery(struct tcb *tcb)
{
    /* LAB cc: begin */
    struct stack *stack = tcb->stack;
    stack->stats.tcp.fast_retransmits++;
    tcb->ssthresh = half_flight(tcb);
    tcb->recover = tcb->snd_max;
    tcb->recover_set = true;
    tcb->in_recovery = true;
    tcb->limited_transmit = 0;
    if (tcb->sack_ok) {
        /* cwnd = ssthresh; resend the first hole, then as much as pipe allows */
        stack->stats.tcp.sack_recoveries++;
        tcb->cwnd = tcb->ssthresh;
        tcb->high_rxt = tcb->snd_una;
        tcb->high_rxt += tcp_retransmit_at(
            tcb, tcb->snd_una, tcb->snd_max - tcb->snd_una,
            "fast retransmit after 3 duplicate ACKs or SACKs above the hole (RFC 6675)");
        tcp_output(tcb);
    } else {
        tcp_retransmit_first(tcb, "fast retransmit after 3 duplicate ACKs (RFC 5681 3.2)");
        tcb->cwnd = tcb->ssthresh + 3u * tcb->smss;
    }
    tcp_arm_rtx(tcb);
    /* LAB cc: end */
}

/* Is this a loss worth a fast retransmit? Three duplicates, or (SACK) the scoreboard says
 * the first unacknowledged byte is lost; and RFC 6582 3.2 step 2: only a loss newer than
 * the last recovery or timeout (recover_set keeps the comparison from going stale). The
 * RFC's "recover" is the highest sequence number sent, ours is SND.MAX, one beyond: an ACK
 * "covers more than recover" once it reaches ours. */
static bool loss_detected(const struct tcb *tcb)
{
    bool lost = tcb->dupacks == 3 || (tcb->sack_ok && tcp_sack_is_lost(tcb, tcb->snd_una));
    return lost && !(tcb->recover_set && seq_lt(tcb->snd_una, tcb->recover));
}

/* A duplicate ACK, as RFC 5681 section 2 defines it (tcp_input checked); with SACK, as
 * RFC 6675 2 does (it SACKed new data). */
void tcp_cc_on_dupack(struct tcb *tcb)
{
    struct stack *stack = tcb->stack;
    tcb->dupacks++;
    if (tcb->in_recovery) {
        /* NewReno: each duplicate means a segment left the network: inflate (RFC 6582
         * step 4). SACK: the scoreboard already counts it in pipe. */
        if (!tcb->sack_ok)
            tcb->cwnd += tcb->smss;
        tcp_output(tcb);
        return;
    }
    if (loss_detected(tcb)) {
        enter_recovery(tcb);
        return;
    }
    if (tcb->dupacks <= 2) {
        /* RFC 3042: one new segment per duplicate, cwnd itself unchanged */
        uint32_t before = tcb->snd_max;
        tcb->limited_transmit = tcb->dupacks * (uint32_t)tcb->smss;
        tcp_output(tcb);
        if (tcb->snd_max != before)
            stack->stats.tcp.limited_transmits++;
    }
}

/* SACK blocks told something new on an ACK that was no duplicate (it acknowledged data
 * too): the scoreboard alone may show a loss. */
void tcp_cc_on_sack(struct tcb *tcb)
{
    if (!tcb->in_recovery && loss_detected(tcb))
        enter_recovery(tcb);
}

/* RFC 8985 7.4.2: the probe resent the only lost segment, and repaired it: still a
 * loss, so the window halves as in fast recovery. */
void tcp_cc_on_tlp_loss(struct tcb *tcb)
{
    uint32_t half = tcb->cwnd / 2;
    tcb->ssthresh = half > 2u * tcb->smss ? half : 2u * tcb->smss;
    if (tcb->cwnd > tcb->ssthresh)
        tcb->cwnd = tcb->ssthresh;
}

/* RFC 5681 3.1 (4) and (5): after a retransmission timeout, ssthresh halves and cwnd
 * falls to the loss window of one segment; RFC 6582 4: recovery ends. */
void tcp_cc_on_timeout(struct tcb *tcb)
{
    /* LAB cc: begin */
    tcb->ssthresh = half_flight(tcb);
    tcb->cwnd = tcb->smss;
    tcb->bytes_acked = 0;
    tcb->dupacks = 0;
    tcb->in_recovery = false;
    tcb->limited_transmit = 0;
    tcb->recover = tcb->snd_max;
    tcb->recover_set = true;
    /* LAB cc: end */
}
