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

/* A duplicate ACK, as RFC 5681 section 2 defines it (tcp_input checked). */
void tcp_cc_on_dupack(struct tcb *tcb)
{
    /* LAB cc: begin */
    struct stack *stack = tcb->stack;
    tcb->dupacks++;
    if (tcb->in_recovery) {
        /* each duplicate means a segment left the network: inflate (RFC 6582 step 4) */
        tcb->cwnd += tcb->smss;
        tcp_output(tcb);
        return;
    }
    if (tcb->dupacks != 3)
        return;
    /* RFC 6582 3.2 step 2: only if this loss is newer than the last recovery (or
     * timeout); recover_set keeps the comparison from going stale after 2^31 bytes */
    if (tcb->recover_set && !seq_gt(tcb->snd_una, tcb->recover))
        return;
    stack->stats.tcp.fast_retransmits++;
    tcb->ssthresh = half_flight(tcb);
    tcb->recover = tcb->snd_max;
    tcb->recover_set = true;
    tcb->in_recovery = true;
    tcp_retransmit_first(tcb, "fast retransmit after 3 duplicate ACKs (RFC 5681 3.2)");
    tcb->cwnd = tcb->ssthresh + 3u * tcb->smss;
    tcp_arm_rtx(tcb);
    /* LAB cc: end */
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
    tcb->recover = tcb->snd_max;
    tcb->recover_set = true;
    /* LAB cc: end */
}
