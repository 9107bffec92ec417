/* tcp_sack.c - selective acknowledgment (RFC 2018, RFC 2883) and the scoreboard that loss
 * recovery works from (RFC 6675).
 *
 * A cumulative ACK tells the sender only the first byte the receiver misses. With three
 * holes in one window, NewReno learns of one hole per round trip. With SACK the receiver
 * also lists the ranges it holds beyond that byte (up to four "SACK blocks" in an option),
 * so the sender learns of every hole at once and resends only what is missing.
 *
 * Receiving side: the blocks on our ACKs come from the out-of-order ranges we hold
 * (tcp_input.c). RFC 2018 4: the first block holds the segment that arrived last, the
 * others repeat the most recently reported ranges, so that a block lost with one ACK still
 * reaches the sender with the next ones. A duplicate segment is reported once, in the first
 * block, as a D-SACK (RFC 2883): the sender learns that a retransmission was not needed.
 *
 * Sending side: the scoreboard is the sorted list of ranges the peer said it holds above
 * SND.UNA (tcb->sacked). From it RFC 6675 4 defines:
 *   IsLost(seq)  a byte is lost once DupThresh (3) segments' worth of data above it arrived:
 *                more than 2 * SMSS bytes SACKed above it, or 3 separate ranges.
 *   pipe         the bytes still in the network: neither SACKed nor lost, plus the lost
 *                ones already resent.
 *   NextSeg()    what to send while pipe < cwnd: the first lost hole not yet resent, else
 *                new data, else a hole below SACKed data, else (once per recovery, and
 *                only without RACK) the last unSACKed segment: the "rescue" retransmission.
 * RACK (tcp_rack.c) adds losses found by time: it moves the lost boundary, and hands
 * back retransmissions that were lost again.
 * tcp_cc.c decides when recovery starts and ends; tcp_sack_recovery_output() is its
 * sending loop (RFC 6675 5, step C).
 */
#include "tcp_impl.h"

#include <string.h>

#define DUPTHRESH 3 /* RFC 6675 2 */

static inline uint32_t min_u32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

/* Add [start, end) to a sorted list of disjoint ranges, merging what it touches. False
 * when it touches nothing and the list is full (`max` ranges). */
bool range_add(struct seq_range *set, unsigned *n, unsigned max, uint32_t start, uint32_t end)
{
    unsigned i = 0, j;
    while (i < *n && seq_lt(set[i].end, start))
        i++;
    for (j = i; j < *n && seq_leq(set[j].start, end); j++)
        ;
    if (i == j) { /* touches no range: needs a new slot */
        if (*n >= max)
            return false;
        memmove(&set[i + 1], &set[i], (*n - i) * sizeof(set[0]));
        set[i].start = start;
        set[i].end = end;
        (*n)++;
        return true;
    }
    /* merge ranges i..j-1 with the new one */
    if (seq_lt(set[i].start, start))
        start = set[i].start;
    if (seq_gt(set[j - 1].end, end))
        end = set[j - 1].end;
    set[i].start = start;
    set[i].end = end;
    memmove(&set[i + 1], &set[j], (*n - j) * sizeof(set[0]));
    *n -= j - i - 1;
    return true;
}

static bool range_within(struct seq_range outer, struct seq_range inner)
{
    return seq_leq(outer.start, inner.start) && seq_leq(inner.end, outer.end);
}

/* ==== receiving side: the blocks we send ==== */

/* The out-of-order range holding [start, end) becomes the first block to report; earlier
 * blocks it swallowed are gone, the others move down (RFC 2018 4). */
static void report_first(struct tcb *tcb, struct seq_range seg)
{
    struct seq_range first = seg;
    for (unsigned i = 0; i < tcb->n_ooo; i++)
        if (range_within(tcb->ooo[i], seg))
            first = tcb->ooo[i];
    struct seq_range keep[TCP_MAX_SACK_BLOCKS];
    unsigned n = 0;
    keep[n++] = first;
    for (unsigned i = 0; i < tcb->n_sack_recent && n < TCP_MAX_SACK_BLOCKS; i++)
        if (!range_within(first, tcb->sack_recent[i]))
            keep[n++] = tcb->sack_recent[i];
    memcpy(tcb->sack_recent, keep, n * sizeof(keep[0]));
    tcb->n_sack_recent = n;
}

/* A segment [start, end) joined the out-of-order queue. */
void tcp_sack_rx_segment(struct tcb *tcb, uint32_t start, uint32_t end)
{
    if (!tcb->sack_ok)
        return;
    report_first(tcb, (struct seq_range){start, end});
    tcb->sack_owed = true;
}

/* RCV.NXT moved: blocks it passed are acknowledged now. */
void tcp_sack_rx_advance(struct tcb *tcb)
{
    unsigned n = 0;
    for (unsigned i = 0; i < tcb->n_sack_recent; i++)
        if (seq_gt(tcb->sack_recent[i].end, tcb->rcv_nxt))
            tcb->sack_recent[n++] = tcb->sack_recent[i];
    tcb->n_sack_recent = n;
}

/* [start, end) arrived a second time: report it once as a D-SACK (RFC 2883 4). If we hold
 * it out of order, the range holding it goes second (it becomes the first of the others). */
void tcp_sack_rx_duplicate(struct tcb *tcb, uint32_t start, uint32_t end)
{
    if (!tcb->sack_ok || !seq_lt(start, end))
        return;
    tcb->dsack = (struct seq_range){start, end};
    tcb->dsack_pending = true;
    tcb->sack_owed = true;
    if (seq_geq(start, tcb->rcv_nxt))
        report_first(tcb, tcb->dsack);
}

/* Fill at most `max` blocks for the ACK being built: the D-SACK first (once), then the
 * ranges in the order report_first() keeps. */
unsigned tcp_sack_fill(struct tcb *tcb, struct tcp_sack_block *out, unsigned max)
{
    unsigned n = 0;
    if (!tcb->sack_ok || max == 0)
        return 0;
    if (tcb->dsack_pending) {
        out[n].start = tcb->dsack.start;
        out[n].end = tcb->dsack.end;
        n++;
        tcb->dsack_pending = false;
        tcb->stack->stats.tcp.tx_dsacks++;
    }
    for (unsigned i = 0; i < tcb->n_sack_recent && n < max; i++, n++) {
        out[n].start = tcb->sack_recent[i].start;
        out[n].end = tcb->sack_recent[i].end;
    }
    return n;
}

/* ==== sending side: the scoreboard ==== */

/* RFC 2883 4: the first block is a D-SACK if it lies below the cumulative ACK, or inside
 * the second block. */
bool tcp_sack_is_dsack(const struct tcp_opts *o, uint32_t ack)
{
    if (o->n_sack == 0)
        return false;
    const struct tcp_sack_block *b = &o->sack[0];
    if (seq_lt(b->start, ack))
        return true;
    return o->n_sack > 1 && seq_leq(o->sack[1].start, b->start) && seq_leq(b->end, o->sack[1].end);
}

static uint32_t sacked_bytes(const struct tcb *tcb)
{
    uint32_t n = 0;
    for (unsigned i = 0; i < tcb->n_sacked; i++)
        n += tcb->sacked[i].end - tcb->sacked[i].start;
    return n;
}

/* SND.UNA moved: what it passed leaves the scoreboard. */
void tcp_sack_forget_acked(struct tcb *tcb)
{
    unsigned drop = 0;
    while (drop < tcb->n_sacked && seq_leq(tcb->sacked[drop].end, tcb->snd_una))
        drop++;
    tcb->n_sacked -= drop;
    memmove(&tcb->sacked[0], &tcb->sacked[drop], tcb->n_sacked * sizeof(tcb->sacked[0]));
    if (tcb->n_sacked && seq_lt(tcb->sacked[0].start, tcb->snd_una))
        tcb->sacked[0].start = tcb->snd_una;
    if (!seq_between(tcb->snd_una, tcb->high_rxt, tcb->snd_max))
        tcb->high_rxt = tcb->snd_una;
    if (!seq_between(tcb->snd_una, tcb->lost_below, tcb->snd_max))
        tcb->lost_below = tcb->snd_una;
}

void tcp_sack_clear(struct tcb *tcb)
{
    tcb->n_sacked = 0;
    tcb->high_rxt = tcb->snd_una;
    tcb->lost_below = tcb->snd_una;
}

/* The SACK blocks of an arriving ACK (SND.UNA already moved). Blocks outside
 * (SND.UNA, SND.MAX] are old or bogus and ignored. Returns the bytes newly SACKed. */
uint32_t tcp_sack_update(struct tcb *tcb, const struct tcp_opts *o)
{
    if (!tcb->sack_ok || o->n_sack == 0)
        return 0;
    uint32_t before = sacked_bytes(tcb);
    for (unsigned k = 0; k < o->n_sack; k++) {
        uint32_t start = o->sack[k].start, end = o->sack[k].end;
        if (k == 0 && tcp_sack_is_dsack(o, tcb->snd_una)) {
            tcb->stack->stats.tcp.rx_dsacks++;
            continue;
        }
        if (!seq_lt(start, end) || seq_gt(end, tcb->snd_max) || seq_leq(end, tcb->snd_una))
            continue;
        if (seq_lt(start, tcb->snd_una))
            start = tcb->snd_una;
        /* a full scoreboard forgets the block: its bytes are just resent */
        range_add(tcb->sacked, &tcb->n_sacked, TCP_SACK_SCOREBOARD, start, end);
    }
    uint32_t after = sacked_bytes(tcb);
    return after > before ? after - before : 0;
}

/* IsLost() is true below a boundary: counting SACKed data from the top, the start of the
 * range where DupThresh ranges or more than (DupThresh - 1) * SMSS bytes are reached. A
 * probe that got through (tcp_tlp.c) may set the boundary higher (RFC 8985). */
static uint32_t lost_boundary(const struct tcb *tcb)
{
    uint32_t bound = tcb->snd_una, bytes = 0;
    for (unsigned i = tcb->n_sacked; i-- > 0;) {
        bytes += tcb->sacked[i].end - tcb->sacked[i].start;
        if (tcb->n_sacked - i >= DUPTHRESH || bytes > (DUPTHRESH - 1) * (uint32_t)tcb->smss) {
            bound = tcb->sacked[i].start;
            break;
        }
    }
    if (seq_gt(tcb->lost_below, bound) && seq_between(tcb->snd_una, tcb->lost_below, tcb->snd_max))
        bound = tcb->lost_below;
    return bound;
}

/* The SACKed range holding seq, or NULL. */
static const struct seq_range *sacked_at(const struct tcb *tcb, uint32_t seq)
{
    for (unsigned i = 0; i < tcb->n_sacked; i++)
        if (seq_leq(tcb->sacked[i].start, seq) && seq_lt(seq, tcb->sacked[i].end))
            return &tcb->sacked[i];
    return NULL;
}

bool tcp_sack_holds(const struct tcb *tcb, uint32_t seq)
{
    return sacked_at(tcb, seq) != NULL;
}

bool tcp_sack_is_lost(const struct tcb *tcb, uint32_t seq)
{
    return seq_lt(seq, lost_boundary(tcb)) && !sacked_at(tcb, seq);
}

/* Bytes in [from, to) the peer has not SACKed. */
static uint32_t unsacked_between(const struct tcb *tcb, uint32_t from, uint32_t to)
{
    if (!seq_lt(from, to))
        return 0;
    uint32_t n = to - from;
    for (unsigned i = 0; i < tcb->n_sacked; i++) {
        uint32_t s = seq_gt(tcb->sacked[i].start, from) ? tcb->sacked[i].start : from;
        uint32_t e = seq_lt(tcb->sacked[i].end, to) ? tcb->sacked[i].end : to;
        if (seq_lt(s, e))
            n -= e - s;
    }
    return n;
}

/* RFC 6675 4 SetPipe(): every unSACKed byte that is not lost counts once, and every
 * unSACKed byte resent (below HighRxt) counts once more, unless RACK found that
 * retransmission lost too (tcp_rack.c). */
uint32_t tcp_sack_pipe(const struct tcb *tcb)
{
    uint32_t lost = lost_boundary(tcb);
    uint32_t rxt = seq_gt(tcb->high_rxt, tcb->snd_una) ? tcb->high_rxt : tcb->snd_una;
    uint32_t pipe =
        unsacked_between(tcb, lost, tcb->snd_max) + unsacked_between(tcb, tcb->snd_una, rxt);
    uint32_t gone = tcp_rack_lost_retransmitted_bytes(tcb);
    return pipe > gone ? pipe - gone : 0;
}

/* If seq lies in a SACKed range, move it to the range's end; *room gets the bytes from there
 * to the next SACKed range (or to SND.MAX). */
uint32_t tcp_sack_skip(const struct tcb *tcb, uint32_t seq, uint32_t *room)
{
    const struct seq_range *r = sacked_at(tcb, seq);
    if (r)
        seq = r->end;
    *room = tcb->snd_max - seq;
    for (unsigned i = 0; i < tcb->n_sacked; i++)
        if (seq_gt(tcb->sacked[i].start, seq)) {
            *room = tcb->sacked[i].start - seq;
            break;
        }
    return seq;
}

/* RFC 6675 4 NextSeg() rules (1) and (3): the first unSACKed hole at or above HighRxt
 * that is lost (rule 1), or, with `lost_only` false, any hole below SACKed data (rule 3).
 * *len is the hole's length. */
bool tcp_sack_next_hole(const struct tcb *tcb, uint32_t *seq, uint32_t *len, bool lost_only)
{
    uint32_t s = seq_gt(tcb->high_rxt, tcb->snd_una) ? tcb->high_rxt : tcb->snd_una;
    uint32_t room;
    s = tcp_sack_skip(tcb, s, &room);
    uint32_t limit =
        lost_only ? lost_boundary(tcb) : (tcb->n_sacked ? tcb->sacked[tcb->n_sacked - 1].start : s);
    if (!seq_lt(s, limit))
        return false;
    *seq = s;
    *len = min_u32(room, limit - s);
    return true;
}

/* RFC 6675 4 NextSeg() rule (4), the rescue retransmission: once per recovery, when
 * nothing else may go, the segment holding the highest unSACKed byte (the tail of the
 * flight may be lost, and no SACK above it will ever say so). *len: the bytes to it. */
static bool rescue_segment(const struct tcb *tcb, uint32_t *seq, uint32_t *len)
{
    /* With RACK, as in Linux, no rescue: at the end of the data it resends a tail that is
     * usually still in flight, in nearly every recovery. A lost tail is left to RACK (when
     * anything sent after it arrives) or to the RTO. */
    if (tcp_rack_enabled(tcb))
        return false;
    if (tcb->rescue_set && !seq_gt(tcb->snd_una, tcb->rescue_rxt))
        return false;
    uint32_t top = tcb->snd_max, low = tcb->snd_una;
    unsigned n = tcb->n_sacked;
    if (n && tcb->sacked[n - 1].end == top)
        top = tcb->sacked[--n].start;
    if (n)
        low = tcb->sacked[n - 1].end;
    if (!seq_lt(low, top))
        return false;
    uint32_t fin = tcb->fin_queued && seq_between(low, tcp_fin_seq(tcb), top - 1) ? 1 : 0;
    uint32_t data = top - fin - low;
    uint32_t take = data < tcb->smss ? data : tcb->smss;
    *seq = top - fin - take;
    *len = take + fin;
    return true;
}

/* RFC 6675 5 step (C): while cwnd - pipe >= 1 SMSS, send what NextSeg() picks. Returns
 * whether anything went. RACK (tcp_rack.c) adds a rule before the first: a retransmission
 * found lost again goes before anything else. */
bool tcp_sack_recovery_output(struct tcb *tcb)
{
    struct stack *stack = tcb->stack;
    bool sent = false;
    /* each round sends a segment or stops; the window bounds the rounds anyway */
    for (unsigned round = 0; round < 1024; round++) {
        if (tcp_sack_pipe(tcb) + tcb->smss > tcb->cwnd)
            break;
        uint32_t seq, len, n = 0;
        if (tcp_rack_lost_retransmission(tcb, &seq, &len)) {
            n = tcp_retransmit_at(tcb, seq, len, "RACK: a retransmission was lost too");
        } else if (tcp_sack_next_hole(tcb, &seq, &len, true)) {
            n = tcp_retransmit_at(tcb, seq, len, "SACK recovery: a hole the scoreboard shows lost");
        } else if (tcp_send_new_segment(tcb)) {
            sent = true;
            continue;
        } else if (tcp_sack_next_hole(tcb, &seq, &len, false)) {
            n = tcp_retransmit_at(tcb, seq, len, "SACK recovery: a hole below SACKed data");
        } else if (rescue_segment(tcb, &seq, &len)) {
            n = tcp_retransmit_at(tcb, seq, len, "SACK recovery: rescue retransmission (RFC 6675)");
            if (n) { /* HighRxt stays: the rescue is outside the scoreboard's order */
                tcb->rescue_set = true;
                tcb->rescue_rxt = tcb->recover;
                stack->stats.tcp.rescue_retransmits++;
                sent = true;
            }
            break;
        }
        if (n == 0)
            break;
        stack->stats.tcp.sack_retransmits++;
        if (seq_gt(seq + n, tcb->high_rxt))
            tcb->high_rxt = seq + n;
        sent = true;
    }
    return sent;
}
