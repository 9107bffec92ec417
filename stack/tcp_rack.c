/* tcp_rack.c - RACK, time-based loss detection (RFC 8985 section 6).
 *
 * Duplicate ACKs count segments: RFC 6675 calls a segment lost once three segments above
 * it were SACKed (tcp_sack.c). That misses three cases: a short flight (one segment
 * above the hole can be all there is), a retransmission that is lost again (the count
 * above it was used up when it was resent: only the RTO would notice), and reordering
 * (three segments overtaking one is a "loss" that was not).
 *
 * RACK ("recent acknowledgment") reasons with time instead. Every piece of the sequence
 * space remembers when it last went out. When the peer acknowledges or SACKs a segment,
 * any segment sent before it and still not acknowledged should have arrived by now too,
 * give or take a reordering window:
 *
 *     segment S is lost if  some segment sent after S was delivered, and
 *                           S.xmit_ts + RACK.rtt + reo_wnd <= now
 *
 * RACK.rtt is the round trip of that most recently sent delivered segment, so S has had
 * one round trip plus reo_wnd (a quarter of the minimum RTT) to be acknowledged. If the
 * reordering window has not elapsed yet, a timer fires when it has.
 *
 * The three cases: one segment delivered after a hole starts recovery once reo_wnd passed
 * (no three duplicates needed); a resent segment that is lost again gets noticed as soon
 * as anything sent after it arrives; a segment merely overtaken arrives within reo_wnd
 * and is never resent, and once the peer shows reordering (a segment delivered below
 * one delivered earlier, or a D-SACK), the window stays open and grows.
 *
 * What RACK finds lost feeds the RFC 6675 scoreboard (tcp_sack.c): lost original segments
 * move its "lost below" boundary, so NextSeg() resends them; lost retransmissions are
 * resent first and leave pipe. The tail loss probe (tcp_tlp.c) relies on RACK: the probe's
 * ACK is a delivery like any other, so everything sent before it is lost at once.
 *
 * Records (struct rack_seg) cover [SND.UNA, SND.MAX) in sequence order. Segments sent at
 * the same moment share a record; a record is split where a retransmission or a SACK
 * block cuts it, so that each part keeps its own time. The table is bounded: when it is
 * full, new data joins the last record and takes its (later) time, which only delays
 * RACK's verdict on it (the RTO and the scoreboard still work). The table (1.5 KiB) is
 * allocated when data goes out and freed when all of it is acknowledged, like the rings:
 * an idle connection pays nothing for it.
 */
#include "tcp_impl.h"

#include <stdlib.h>
#include <string.h>

#define RACK_RXT    0x01 /* Segment.retransmitted: sent more than once */
#define RACK_SACKED 0x02 /* delivered (SACKed) */
#define RACK_LOST   0x04 /* Segment.lost: RACK found it lost; cleared when resent */

#define DUPTHRESH       3  /* RFC 8985 6.2 step 4 */
#define REO_WND_PERSIST 16 /* recoveries a grown window survives (RFC 8985 6.2 step 4) */

bool tcp_rack_enabled(const struct tcb *tcb)
{
    return tcb->stack->cfg.tcp_rack && tcb->sack_ok;
}

void tcp_rack_init(struct tcb *tcb)
{
    memset(&tcb->rack, 0, sizeof(tcb->rack));
    tcb->rack.reo_wnd_mult = 1;
    timer_init(&tcb->rack_timer, tcp_rack_fire, tcb);
}

void tcp_rack_free(struct tcb *tcb)
{
    free(tcb->rack.segs);
    tcb->rack.segs = NULL;
    tcb->rack.n_segs = 0;
}

/* ==== the send-time records ==== */

/* Split the record holding seq so that a record starts at seq. False if the table is full. */
static bool split_at(struct rack_state *r, uint32_t seq)
{
    for (unsigned i = 0; i < r->n_segs; i++) {
        struct rack_seg *s = &r->segs[i];
        if (!seq_lt(s->start, seq) || !seq_lt(seq, s->end))
            continue;
        if (r->n_segs == TCP_RACK_SEGS)
            return false;
        memmove(&r->segs[i + 1], &r->segs[i], (r->n_segs - i) * sizeof(*s));
        r->n_segs++;
        r->segs[i].end = seq;
        r->segs[i + 1].start = seq;
        return true;
    }
    return true; /* a boundary already, or outside the records */
}

/* Neighbours both delivered are one record to RACK: merging them frees a slot. */
static void merge_delivered(struct rack_state *r)
{
    unsigned n = 0;
    for (unsigned i = 0; i < r->n_segs; i++) {
        if (n && (r->segs[n - 1].flags & RACK_SACKED) && (r->segs[i].flags & RACK_SACKED) &&
            r->segs[n - 1].end == r->segs[i].start) {
            r->segs[n - 1].end = r->segs[i].end;
            continue;
        }
        r->segs[n++] = r->segs[i];
    }
    r->n_segs = n;
}

static void append_new(struct tcb *tcb, uint32_t seq, uint32_t end)
{
    struct rack_state *r = &tcb->rack;
    uint64_t now = tcb->stack->now_us;
    if (!r->segs) {
        r->segs = calloc(TCP_RACK_SEGS, sizeof(r->segs[0]));
        if (!r->segs) { /* no memory: RACK is blind to this data, the RTO is not */
            tcb->stack->stats.tcp.tx_errors++;
            return;
        }
    }
    struct rack_seg *last = r->n_segs ? &r->segs[r->n_segs - 1] : NULL;
    if (last && last->end == seq && last->flags == 0 && last->xmit_us == now &&
        last->order + 1 == r->sends) {
        last->end = end; /* the same burst */
        return;
    }
    if (r->n_segs == TCP_RACK_SEGS)
        merge_delivered(r);
    if (r->n_segs == TCP_RACK_SEGS) {
        /* full: the last record absorbs the new data and its later time (safe: RACK
         * only waits longer before calling any of it lost) */
        last->end = end;
        last->xmit_us = now;
        last->order = r->sends++;
        last->flags &= (uint8_t)~RACK_LOST;
        return;
    }
    r->segs[r->n_segs++] = (struct rack_seg){seq, end, now, r->sends++, 0};
}

/* [seq, end) went out again now: its records take the new time. */
static void retime(struct tcb *tcb, uint32_t seq, uint32_t end)
{
    struct rack_state *r = &tcb->rack;
    uint32_t order = r->sends++;
    split_at(r, seq);
    split_at(r, end);
    for (unsigned i = 0; i < r->n_segs; i++) {
        struct rack_seg *s = &r->segs[i];
        if (seq_lt(s->start, end) && seq_lt(seq, s->end)) {
            s->xmit_us = tcb->stack->now_us;
            s->order = order;
            /* a SACKed piece stays delivered: a SACK of it now may be the first copy's */
            s->flags = (uint8_t)((s->flags | RACK_RXT) & ~RACK_LOST);
        }
    }
}

void tcp_rack_sent(struct tcb *tcb, uint32_t seq, uint32_t end)
{
    if (!tcp_rack_enabled(tcb) || !seq_lt(seq, end))
        return;
    if (seq_lt(seq, tcb->snd_max)) {
        uint32_t old_end = seq_lt(end, tcb->snd_max) ? end : tcb->snd_max;
        retime(tcb, seq, old_end);
        seq = old_end;
    }
    if (seq_lt(seq, end))
        append_new(tcb, seq, end);
}

/* SND.UNA moved: acknowledged records go, a record it cut starts at SND.UNA. */
static void forget_acked(struct tcb *tcb)
{
    struct rack_state *r = &tcb->rack;
    unsigned drop = 0;
    while (drop < r->n_segs && seq_leq(r->segs[drop].end, tcb->snd_una))
        drop++;
    r->n_segs -= drop;
    if (r->n_segs == 0) {
        tcp_rack_free(tcb); /* all acknowledged: memory back */
        return;
    }
    memmove(&r->segs[0], &r->segs[drop], r->n_segs * sizeof(r->segs[0]));
    if (seq_lt(r->segs[0].start, tcb->snd_una))
        r->segs[0].start = tcb->snd_una;
}

/* ==== RFC 8985 6.2: on every ACK ==== */

/* RACK_sent_after(): was a sent after b? RFC 8985 compares the send times and, when they
 * are equal, the end sequence numbers. A coarse clock makes equal times common (on the
 * simulated wire a whole burst leaves in one microsecond), and then a retransmission sent
 * just after new data would count as sent before it. Numbering the transmissions orders
 * them exactly; within one transmission (one record, or the parts SACK blocks cut it
 * into) the segments went out in sequence order. */
static bool sent_after(uint32_t a_order, uint32_t a_end, uint32_t b_order, uint32_t b_end)
{
    if (a_order != b_order)
        return (int32_t)(a_order - b_order) > 0;
    return seq_gt(a_end, b_end);
}

/* Steps 2 and 3 for one segment just delivered, cumulatively or (by_sack) selectively. */
static void delivered(struct tcb *tcb, const struct rack_seg *s, const struct tcp_opts *o,
                      bool by_sack)
{
    struct rack_state *r = &tcb->rack;
    uint64_t now = tcb->stack->now_us;
    uint32_t rtt = (uint32_t)(now - s->xmit_us);
    /* Step 3: delivered below something delivered before, and not because it was resent:
     * the network reorders */
    if (seq_gt(s->end, r->fack) || !r->valid)
        r->fack = s->end;
    else if (seq_lt(s->end, r->fack) && !(s->flags & RACK_RXT))
        r->reordering_seen = true;
    /* Step 2: a retransmitted segment's ACK may answer the first copy. The echoed
     * timestamp says which copy it answers; without it, an RTT below the minimum cannot
     * be the retransmission's. A SACK echoes the segment that last advanced the ACK
     * (RFC 7323 4.3), not the one it reports: there only the RTT tells. */
    if (s->flags & RACK_RXT) {
        if (!by_sack && tcb->ts_ok && o && o->has_timestamp &&
            (int32_t)(o->ts_ecr - (uint32_t)(s->xmit_us / 1000 + tcb->iss)) < 0)
            return;
        if (r->min_rtt_us && rtt < r->min_rtt_us)
            return;
    }
    if (!r->min_rtt_us || rtt < r->min_rtt_us)
        r->min_rtt_us = rtt;
    if (!r->valid || sent_after(s->order, s->end, r->order, r->end_seq)) {
        r->rtt_us = rtt;
        r->xmit_us = s->xmit_us;
        r->order = s->order;
        r->end_seq = s->end;
        r->valid = true;
    }
}

/* Is [start, end) wholly inside one SACKed range? A receiver never SACKs a FIN (it holds
 * no byte): the data the FIN rode with tells. */
static bool all_sacked(const struct tcb *tcb, uint32_t start, uint32_t end)
{
    if (tcb->fin_queued && end == tcp_fin_seq(tcb) + 1 && seq_lt(start, end - 1))
        end--;
    for (unsigned i = 0; i < tcb->n_sacked; i++)
        if (seq_leq(tcb->sacked[i].start, start) && seq_leq(end, tcb->sacked[i].end))
            return true;
    return false;
}

/* Step 1 and the loop of steps 2-3: the records this ACK delivered, in sequence order. */
static void update_delivered(struct tcb *tcb, const struct tcp_opts *o)
{
    struct rack_state *r = &tcb->rack;
    unsigned i = 0;
    for (; i < r->n_segs && seq_leq(r->segs[i].end, tcb->snd_una); i++)
        if (!(r->segs[i].flags & RACK_SACKED))
            delivered(tcb, &r->segs[i], o, false);
    forget_acked(tcb);
    /* SACK blocks cut records: each part keeps its time (but the FIN stays with the data
     * before it: all_sacked()) */
    bool fin_sent = tcb->fin_queued && seq_gt(tcb->snd_max, tcp_fin_seq(tcb));
    for (unsigned k = 0; k < tcb->n_sacked; k++) {
        split_at(r, tcb->sacked[k].start);
        if (!fin_sent || tcb->sacked[k].end != tcp_fin_seq(tcb))
            split_at(r, tcb->sacked[k].end);
    }
    for (i = 0; i < r->n_segs; i++) {
        struct rack_seg *s = &r->segs[i];
        if (!(s->flags & RACK_SACKED) && all_sacked(tcb, s->start, s->end)) {
            s->flags = (uint8_t)((s->flags | RACK_SACKED) & ~RACK_LOST);
            delivered(tcb, s, o, true);
        }
    }
}

/* Step 4: the reordering window. Zero while no reordering was seen and the duplicate
 * threshold already tells (in recovery, or three segments SACKed); else a quarter of the
 * minimum RTT, times a multiplier that each D-SACK round grows (a retransmission was not
 * needed: the window was too small) and that sixteen recoveries without one reset.
 * RACK.min_RTT here is the smallest RACK.rtt of the connection's life; RFC 8985 asks for
 * a minimum over a recent window (Linux keeps five minutes), which matters only when a
 * path's delay grows for good. */
static uint32_t reo_wnd(struct tcb *tcb, const struct tcp_opts *o)
{
    struct rack_state *r = &tcb->rack;
    if (r->dsack_round_set && seq_geq(tcb->snd_una, r->dsack_round))
        r->dsack_round_set = false;
    if (!r->dsack_round_set && o && tcp_sack_is_dsack(o, tcb->snd_una)) {
        r->dsack_round_set = true;
        r->dsack_round = tcb->snd_max;
        r->reo_wnd_mult++;
        r->reo_wnd_persist = REO_WND_PERSIST;
    } else if (r->was_recovering && !tcb->in_recovery) {
        if (r->reo_wnd_persist && --r->reo_wnd_persist == 0)
            r->reo_wnd_mult = 1;
    }
    r->was_recovering = tcb->in_recovery;
    if (!r->reordering_seen) {
        uint32_t sacked = 0;
        for (unsigned i = 0; i < tcb->n_sacked; i++)
            sacked += tcb->sacked[i].end - tcb->sacked[i].start;
        if (tcb->in_recovery || sacked >= DUPTHRESH * (uint32_t)tcb->smss)
            return 0;
    }
    uint32_t w = r->reo_wnd_mult * (r->min_rtt_us / 4);
    return tcb->rtt_valid && w > tcb->srtt_us ? tcb->srtt_us : w;
}

/* Step 5: every unacknowledged segment sent before RACK's one is lost once RACK.rtt +
 * reo_wnd passed since it went out; the earliest of the others arms the timer. Returns
 * the segments newly found lost. */
static unsigned detect_loss(struct tcb *tcb, uint32_t wnd)
{
    struct rack_state *r = &tcb->rack;
    struct stack *stack = tcb->stack;
    uint64_t now = stack->now_us, timeout = 0;
    unsigned lost = 0;
    for (unsigned i = 0; i < r->n_segs && r->valid; i++) {
        struct rack_seg *s = &r->segs[i];
        if (s->flags & (RACK_SACKED | RACK_LOST))
            continue;
        if (!sent_after(r->order, r->end_seq, s->order, s->end))
            continue;
        uint64_t due = s->xmit_us + r->rtt_us + wnd;
        if (due <= now) {
            s->flags |= RACK_LOST;
            lost++;
            stack->stats.tcp.rack_lost++;
            if (s->flags & RACK_RXT)
                stack->stats.tcp.rack_lost_retransmits++;
        } else if (due - now > timeout) {
            timeout = due - now;
        }
    }
    if (timeout)
        timer_arm(stack, &tcb->rack_timer, timeout);
    else
        timer_cancel(stack, &tcb->rack_timer);
    return lost;
}

/* Hand the verdicts to the scoreboard: lost segments not resent in this recovery form a
 * run from SND.UNA (they went out in sequence order), and the scoreboard counts what lies
 * below its end as lost. Lost retransmissions (below HighRxt) are found by
 * tcp_rack_lost_retransmission() instead. */
static void mark_scoreboard(struct tcb *tcb)
{
    struct rack_state *r = &tcb->rack;
    uint32_t bound = tcb->snd_una;
    for (unsigned i = 0; i < r->n_segs; i++) {
        const struct rack_seg *s = &r->segs[i];
        if ((s->flags & RACK_SACKED) || seq_lt(s->start, tcb->high_rxt))
            continue;
        if (!(s->flags & RACK_LOST))
            break;
        bound = s->end;
    }
    if (seq_gt(bound, tcb->lost_below))
        tcb->lost_below = bound;
}

static bool detect_and_mark(struct tcb *tcb, const struct tcp_opts *o)
{
    if (detect_loss(tcb, reo_wnd(tcb, o)) == 0)
        return false;
    bool head_was_lost = tcp_sack_is_lost(tcb, tcb->snd_una);
    mark_scoreboard(tcb);
    if (!head_was_lost && tcp_sack_is_lost(tcb, tcb->snd_una))
        tcb->stack->stats.tcp.rack_first++; /* the duplicate-ACK rule had not seen it */
    return true;
}

bool tcp_rack_on_ack(struct tcb *tcb, const struct tcp_opts *o)
{
    if (!tcp_rack_enabled(tcb))
        return false;
    update_delivered(tcb, o);
    return detect_and_mark(tcb, o);
}

/* The reordering window elapsed (RFC 8985 6.2 step 5's timer): look again. */
void tcp_rack_fire(struct stack *stack, void *arg)
{
    struct tcb *tcb = arg;
    (void)stack;
    tcb_hold(tcb);
    if (tcp_rack_enabled(tcb) && tcb->snd_una != tcb->snd_max && detect_and_mark(tcb, NULL)) {
        if (tcb->in_recovery)
            tcp_output(tcb);
        else
            tcp_cc_on_sack(tcb);
    }
    tcb_release(tcb);
}

/* ==== what the scoreboard asks ==== */

/* A retransmission RACK found lost, and not SACKed since: recovery resends it first. */
static bool is_lost_retransmission(const struct rack_seg *s)
{
    return (s->flags & (RACK_LOST | RACK_RXT | RACK_SACKED)) == (RACK_LOST | RACK_RXT);
}

bool tcp_rack_lost_retransmission(const struct tcb *tcb, uint32_t *seq, uint32_t *len)
{
    if (!tcp_rack_enabled(tcb))
        return false;
    const struct rack_state *r = &tcb->rack;
    for (unsigned i = 0; i < r->n_segs && seq_lt(r->segs[i].start, tcb->high_rxt); i++) {
        const struct rack_seg *s = &r->segs[i];
        if (is_lost_retransmission(s)) {
            *seq = s->start;
            *len = s->end - s->start;
            return true;
        }
    }
    return false;
}

uint32_t tcp_rack_lost_retransmitted_bytes(const struct tcb *tcb)
{
    if (!tcp_rack_enabled(tcb))
        return 0;
    const struct rack_state *r = &tcb->rack;
    uint32_t n = 0;
    for (unsigned i = 0; i < r->n_segs && seq_lt(r->segs[i].start, tcb->high_rxt); i++) {
        const struct rack_seg *s = &r->segs[i];
        if (is_lost_retransmission(s)) {
            uint32_t end = seq_lt(s->end, tcb->high_rxt) ? s->end : tcb->high_rxt;
            n += end - s->start;
        }
    }
    return n;
}
