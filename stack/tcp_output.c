/* tcp_output.c - sending segments, and the timers that make TCP reliable.
 *
 * tcp_output() is the one place that decides what may leave now: as much queued data as
 * the peer's window (flow control) and the congestion window allow, in full-MSS segments,
 * holding back small ones by Nagle's algorithm (RFC 9293 3.7.4) and sender-side silly
 * window avoidance (3.8.6.2.1), then the FIN once the data is out, and otherwise an ACK
 * if one is owed. The timers:
 *   retransmission  RFC 6298: RTO from SRTT/RTTVAR, doubled on each timeout; the SYN, the
 *                   data and the FIN are all resent from it; after too many, -ETIMEDOUT.
 *   persist         RFC 9293 3.8.6.1: the peer's window is zero and nothing is in flight,
 *                   so no ACK will come to reopen it: probe until it does.
 *   delayed ACK     RFC 1122 4.2.3.2: ACK every second segment, or after 40 ms.
 *   wait            TIME-WAIT lasts 2*MSL (3.10.7.4); an orphaned FIN-WAIT-2 as long.
 */
#include "bytes.h"
#include "ip.h"
#include "pkb.h"
#include "tcp_impl.h"

#include <errno.h>
#include <string.h>

static inline uint32_t min_u32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

/* ---- the receive window we advertise ---- */

/* RFC 9293 3.8.6.2.2 (receiver SWS avoidance): the window is the free receive buffer,
 * but its right edge only moves on by at least min(buffer/2, MSS) at a time; until then
 * we keep offering the edge we offered before. It never moves left (RFC 9293 3.8.6). */
uint32_t tcp_rcv_window(struct tcb *tcb)
{
    uint32_t free = ring_free(&tcb->rcv);
    uint32_t cur = seq_gt(tcb->rcv_adv, tcb->rcv_nxt) ? tcb->rcv_adv - tcb->rcv_nxt : 0;
    if (cur > free)
        cur = free;
    uint32_t step = min_u32(tcb->rcv.limit / 2, tcb->rcv_mss);
    if (free - cur < step)
        return cur;
    return free;
}

/* The 16-bit window field: the window shifted right by our scale (RFC 7323 2.3), rounded
 * up when the buffer has room for it so the advertised edge does not creep backwards. */
static uint16_t window_field(struct tcb *tcb)
{
    uint32_t win = tcp_rcv_window(tcb);
    uint8_t ws = tcb->rcv_wscale;
    uint32_t field = (uint32_t)(((uint64_t)win + (1u << ws) - 1) >> ws);
    if (((uint64_t)field << ws) > ring_free(&tcb->rcv))
        field = win >> ws;
    if (field > 65535)
        field = 65535;
    uint32_t edge = tcb->rcv_nxt + (field << ws);
    if (seq_gt(edge, tcb->rcv_adv))
        tcb->rcv_adv = edge;
    return (uint16_t)field;
}

/* ---- one segment ---- */

/* RFC 7323 5.4: a clock of 1 ms per tick; the ISS as offset keeps each connection's
 * timestamps unrelated to the others' and to the machine's uptime (RFC 7323 7.1). */
uint32_t tcp_ts_now(const struct tcb *tcb)
{
    return (uint32_t)(tcb->stack->now_us / 1000) + tcb->iss;
}

/* RFC 7323 3.2: once both sides sent the option, every segment but a RST carries it;
 * TSecr echoes TS.Recent, and is 0 without an ACK (our SYN). */
static void add_timestamps(struct tcb *tcb, struct tcp_hdr *h)
{
    bool offer = h->flags & TCP_SYN && tcb->state == TCP_SYN_SENT;
    if (h->flags & TCP_RST || !(offer ? tcb->stack->cfg.tcp_timestamps : tcb->ts_ok))
        return;
    h->opts.has_timestamp = true;
    h->opts.ts_val = tcp_ts_now(tcb);
    h->opts.ts_ecr = (h->flags & TCP_ACK) ? tcb->ts_recent : 0;
}

/* RFC 2018 4: SACK blocks on our ACKs while we hold data out of order, as many as fit:
 * in the 40 option bytes, and in a data segment beside its data within the MSS (a full
 * segment has no room: tcp_output then sends a pure ACK with them too). */
static void add_sack_blocks(struct tcb *tcb, struct tcp_hdr *h, uint32_t len)
{
    if (!tcb->sack_ok || (!tcb->n_sack_recent && !tcb->dsack_pending))
        return;
    uint32_t room = TCP_HDR_MAX_LEN - TCP_HDR_LEN - (uint32_t)tcp_opts_len(&h->opts);
    uint32_t data_room = len < tcb->smss ? tcb->smss - len : 0;
    if (data_room < room)
        room = data_room;
    if (room < 4 + 8)
        return;
    unsigned max = (room - 4) / 8;
    h->opts.n_sack = (uint8_t)tcp_sack_fill(tcb, h->opts.sack, min_u32(max, TCP_MAX_SACK_BLOCKS));
    tcb->sack_owed = false;
}

/* Build and send one segment of this connection: `len` bytes of the send ring starting at
 * sequence number `seq`. Every segment but the first SYN carries an ACK of rcv_nxt, which
 * settles any ACK we owed. */
static void xmit(struct tcb *tcb, uint32_t seq, uint8_t flags, uint32_t len)
{
    struct stack *stack = tcb->stack;
    struct tcp_hdr h;
    memset(&h, 0, sizeof(h));
    h.sport = tcb->local_port;
    h.dport = tcb->remote_port;
    h.seq = seq;
    h.flags = flags;
    if (flags & TCP_ACK)
        h.ack = tcb->rcv_nxt;
    if (flags & TCP_SYN) {
        /* RFC 9293 3.7.1: announce our MSS; RFC 7323 2.2: offer window scaling in a SYN,
         * and in a SYN-ACK only if the peer offered it. A SYN's window is never scaled. */
        h.opts.has_mss = true;
        h.opts.mss = tcb->rcv_mss;
        if (tcb->state == TCP_SYN_SENT || tcb->wscale_ok) {
            h.opts.has_wscale = true;
            h.opts.wscale = tcb->rcv_wscale;
        }
        /* RFC 2018 2 and RFC 7323 3.2: the same rule for SACK-permitted and timestamps */
        h.opts.sack_permitted = tcb->state == TCP_SYN_SENT ? stack->cfg.tcp_sack : tcb->sack_ok;
        h.wnd = (uint16_t)min_u32(ring_free(&tcb->rcv), 65535);
        if (seq_gt(tcb->rcv_nxt + h.wnd, tcb->rcv_adv))
            tcb->rcv_adv = tcb->rcv_nxt + h.wnd;
    } else if (!(flags & TCP_RST) || (flags & TCP_ACK)) {
        h.wnd = window_field(tcb);
    }
    add_timestamps(tcb, &h);
    if ((flags & TCP_ACK) && !(flags & (TCP_SYN | TCP_RST)))
        add_sack_blocks(tcb, &h, len);
    tcp_urgent_fill(tcb, &h);
    size_t hlen = TCP_HDR_LEN + tcp_opts_len(&h.opts);
    struct pkb *pkb = pkb_alloc(hlen + len);
    if (!pkb) {
        stack->stats.tcp.tx_errors++;
        return;
    }
    uint8_t *p = pkb_put(pkb, hlen + len);
    tcp_build(&h, p);
    if (len)
        ring_read_at(&tcb->snd, seq - tcb->snd_base, p + hlen, len);
    if ((len || (flags & TCP_FIN)) && !(flags & (TCP_SYN | TCP_RST)))
        tcp_rack_sent(tcb, seq, seq + len + ((flags & TCP_FIN) ? 1 : 0));
    tcp_set_checksum(p, hlen + len, tcb->local_ip, tcb->remote_ip);
    if (len > tcb->smss) { /* TSO: the link cuts it into segments of SMSS */
        pkb->tso_mss = tcb->smss;
        stack->stats.tcp.tx_tso_frames++;
    }
    if (stack_trace_enabled(stack, TRACE_TCP)) {
        char line[256];
        tcp_trace_flush(stack);
        tcp_trace_segment(stack, tcb, true, &h, tcb->local_ip, tcb->remote_ip, len, line,
                          sizeof(line));
        trace(stack, TRACE_TCP, "%s", line);
    }
    if (flags & TCP_ACK) {
        timer_cancel(stack, &tcb->delack_timer);
        tcb->segs_unacked = 0;
        tcb->ack_now = false;
        tcb->last_ack_sent = tcb->rcv_nxt;
    }
    if (flags & TCP_RST)
        stack->stats.tcp.tx_resets++;
    stack->stats.tcp.tx_segments++;
    /* DF stays off: without path MTU discovery, IP fragments rather than black-holes */
    struct ip_send send = {.src = tcb->local_ip,
                           .dst = tcb->remote_ip,
                           .proto = IP_PROTO_TCP,
                           .ttl = tcb->ip_ttl,
                           .tos = tcb->ip_tos};
    if (ip_output(stack, pkb, &send) < 0)
        stack->stats.tcp.tx_errors++;
}

void tcp_send_segment(struct stack *stack, uint32_t src, uint32_t dst, const struct tcp_hdr *h)
{
    size_t hlen = TCP_HDR_LEN + tcp_opts_len(&h->opts);
    struct pkb *pkb = pkb_alloc(hlen);
    if (!pkb) {
        stack->stats.tcp.tx_errors++;
        return;
    }
    uint8_t *p = pkb_put(pkb, hlen);
    tcp_build(h, p);
    tcp_set_checksum(p, hlen, src, dst);
    if (stack_trace_enabled(stack, TRACE_TCP)) {
        char line[256];
        tcp_trace_flush(stack);
        tcp_trace_segment(stack, NULL, true, h, src, dst, 0, line, sizeof(line));
        trace(stack, TRACE_TCP, "%s", line);
    }
    stack->stats.tcp.tx_segments++;
    if (h->flags & TCP_RST)
        stack->stats.tcp.tx_resets++;
    struct ip_send send = {.src = src, .dst = dst, .proto = IP_PROTO_TCP};
    if (ip_output(stack, pkb, &send) < 0)
        stack->stats.tcp.tx_errors++;
}

void tcp_send_reset(struct stack *stack, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                    uint32_t seq, uint32_t ack, bool with_ack)
{
    struct tcp_hdr h;
    memset(&h, 0, sizeof(h));
    h.sport = sport;
    h.dport = dport;
    h.seq = seq;
    h.ack = with_ack ? ack : 0;
    h.flags = TCP_RST | (with_ack ? TCP_ACK : 0);
    tcp_send_segment(stack, src, dst, &h);
}

void tcp_arm_rtx(struct tcb *tcb)
{
    timer_arm(tcb->stack, &tcb->rtx_timer, tcb->rto_us);
}

/* SYN (SYN-SENT) or SYN-ACK (SYN-RECEIVED), first time or again. */
void tcp_send_syn(struct tcb *tcb)
{
    uint8_t flags = TCP_SYN;
    if (tcb->state == TCP_SYN_RECEIVED)
        flags |= TCP_ACK;
    /* Karn: time the SYN only when it was sent once, so the sample is unambiguous */
    tcb->rtt_timing = tcb->retries == 0;
    tcb->rtt_seq = tcb->iss;
    tcb->rtt_start_us = tcb->stack->now_us;
    xmit(tcb, tcb->iss, flags, 0);
    tcb->snd_nxt = tcb->iss + 1;
    if (seq_gt(tcb->snd_nxt, tcb->snd_max))
        tcb->snd_max = tcb->snd_nxt;
    tcp_arm_rtx(tcb);
}

/* A pure ACK carries the highest sequence number we ever sent (SND.MAX), not SND.NXT:
 * after a timeout SND.NXT goes back to resend, while the peer may hold everything up to
 * SND.MAX already. An ACK numbered below its RCV.NXT would be "not acceptable" there and
 * be answered with an ACK of its own; two peers in that state would ping-pong ACKs
 * forever (Linux, too, numbers pure ACKs with the highest sequence sent). */
void tcp_send_ack(struct tcb *tcb)
{
    xmit(tcb, tcb->snd_max, TCP_ACK, 0);
}

/* RFC 5961 3.2 / 4.2: <SEQ=SND.MAX><ACK=RCV.NXT><CTL=ACK> (see tcp_send_ack). A peer that really
 * lost its connection answers it with a RST carrying the exact sequence number; a blind attacker
 * never sees it. (The rate limit of RFC 5961 section 7 is not implemented.) */
void tcp_send_challenge_ack(struct tcb *tcb)
{
    tcb->stack->stats.tcp.challenge_acks++;
    tcp_send_ack(tcb);
}

void tcp_send_rst_for(struct tcb *tcb)
{
    if (tcb->state == TCP_CLOSED || tcb->state == TCP_LISTEN || tcb->state == TCP_SYN_SENT)
        return;
    xmit(tcb, tcb->snd_nxt, TCP_RST | TCP_ACK, 0);
}

uint32_t tcp_fin_seq(const struct tcb *tcb)
{
    return tcb->snd_base + tcb->snd.len;
}

bool tcp_fin_acked(const struct tcb *tcb)
{
    return tcb->fin_queued && seq_gt(tcb->snd_una, tcp_fin_seq(tcb));
}

/* Data bytes (at snd_nxt) not sent yet. */
static uint32_t unsent_bytes(const struct tcb *tcb)
{
    uint32_t off = tcb->snd_nxt - tcb->snd_base;
    return off < tcb->snd.len ? tcb->snd.len - off : 0;
}

/* The most data one call may hand to IP: one segment, or with TCP segmentation offload
 * (a link that cuts large segments up itself, tap/tap.c with a virtio-net header) up to
 * TCP_TSO_MAX bytes of whole segments. Fewer, larger writes are what lets a user-space
 * stack keep up with the kernel; what travels on the link is still segments of SMSS. */
static uint32_t max_segment(const struct tcb *tcb)
{
    struct stack *stack = tcb->stack;
    if (!stack->link->send_tso || !stack->cfg.tso || tcb->remote_ip == stack->cfg.ip)
        return tcb->smss;
    return TCP_TSO_MAX / tcb->smss * tcb->smss;
}

/* How many of the `room` bytes the windows allow (of `unsent` waiting) go in one call:
 * up to max_segment(), and a TSO frame holds whole segments but the last. */
static uint32_t next_len(const struct tcb *tcb, uint32_t room, uint32_t unsent)
{
    uint32_t len = min_u32(min_u32(unsent, room), max_segment(tcb));
    if (len > tcb->smss && len < unsent)
        len -= len % tcb->smss;
    return len;
}

/* Send `len` bytes at snd_nxt (and the FIN after them if `fin`), advancing snd_nxt. */
static void send_data(struct tcb *tcb, uint32_t len, bool fin)
{
    struct stack *stack = tcb->stack;
    uint8_t flags = TCP_ACK;
    if (fin)
        flags |= TCP_FIN;
    if (len && len == unsent_bytes(tcb))
        flags |= TCP_PSH;
    if (seq_lt(tcb->snd_nxt, tcb->snd_max)) {
        stack->stats.tcp.retransmits++; /* going back over data after a timeout */
        tcp_trace_conn(tcb, "retransmit seq=%u len=%u: after a timeout; RTO %u ms",
                       tcp_trace_seq(tcb, tcb->snd_nxt), len, tcb->rto_us / 1000);
    } else if (!tcb->rtt_timing && len) {
        tcb->rtt_timing = true; /* time one segment per round trip (RFC 6298 3) */
        tcb->rtt_seq = tcb->snd_nxt;
        tcb->rtt_start_us = stack->now_us;
    }
    xmit(tcb, tcb->snd_nxt, flags, len);
    tcb->snd_nxt += len + (fin ? 1 : 0);
    if (seq_gt(tcb->snd_nxt, tcb->snd_max))
        tcb->snd_max = tcb->snd_nxt;
    if (!timer_armed(&tcb->rtx_timer))
        tcp_arm_rtx(tcb);
    timer_cancel(stack, &tcb->persist_timer);
    tcp_tlp_arm(tcb);
}

uint32_t tcp_send_new_segment(struct tcb *tcb)
{
    uint32_t unsent = unsent_bytes(tcb);
    uint32_t edge = tcb->snd_una + tcb->snd_wnd;
    uint32_t room = seq_gt(edge, tcb->snd_nxt) ? edge - tcb->snd_nxt : 0;
    uint32_t len = min_u32(min_u32(unsent, room), tcb->smss);
    bool fin = tcb->fin_queued && len == unsent && tcb->snd_nxt + len == tcp_fin_seq(tcb);
    if (len == 0 && !fin)
        return 0;
    if (len < tcb->smss && len < unsent)
        return 0; /* no small segment in the middle of the data */
    send_data(tcb, len, fin);
    return len + (fin ? 1 : 0);
}

/* May a segment shorter than the MSS go now? RFC 9293 3.7.4 (Nagle): not while earlier
 * data is unacknowledged, unless the user turned Nagle off. RFC 9293 3.8.6.2.1 (sender
 * SWS avoidance): only if it carries all we have, or at least half the largest window
 * the peer ever offered. */
static bool small_segment_ok(const struct tcb *tcb, uint32_t len, uint32_t unsent)
{
    if (tcb->snd_nxt != tcb->snd_una && !tcb->nodelay)
        return false;
    if (len == unsent)
        return true;
    return len >= tcb->max_sndwnd / 2;
}

static bool may_send_data(const struct tcb *tcb)
{
    switch (tcb->state) {
    case TCP_ESTABLISHED:
    case TCP_CLOSE_WAIT:
    case TCP_FIN_WAIT_1:
    case TCP_CLOSING:
    case TCP_LAST_ACK:
        return true;
    default:
        return false;
    }
}

static uint64_t backoff_us(const struct tcb *tcb, unsigned shift)
{
    /* LAB rto: begin */
    uint64_t t = (uint64_t)tcb->rto_us << (shift > 10 ? 10 : shift);
    return t > TCP_RTO_MAX_US ? TCP_RTO_MAX_US : t;
    /* LAB rto: end */
}

/* The normal way out: from SND.NXT, as much as the windows allow. After a timeout SND.NXT
 * went back to SND.UNA; what the peer SACKed meanwhile is stepped over, not resent. */
static bool send_from_snd_nxt(struct tcb *tcb)
{
    bool sent = false;
    for (;;) {
        uint32_t hole = UINT32_MAX;
        bool resend = seq_lt(tcb->snd_nxt, tcb->snd_max);
        if (resend && tcb->n_sacked)
            tcb->snd_nxt = tcp_sack_skip(tcb, tcb->snd_nxt, &hole);
        uint32_t unsent = unsent_bytes(tcb);
        /* RFC 3042: on the first two duplicate ACKs, up to 2 segments beyond cwnd */
        uint32_t wnd = min_u32(tcb->snd_wnd, tcb->cwnd + tcb->limited_transmit);
        uint32_t flight = tcb->snd_nxt - tcb->snd_una;
        uint32_t usable = wnd > flight ? wnd - flight : 0;
        uint32_t len = next_len(tcb, min_u32(usable, hole), unsent);
        /* the FIN goes with (or after) the last byte, and needs no window; never on
         * a TSO frame (the link would have to put it on the last piece) */
        bool fin = tcb->fin_queued && len == unsent && len <= tcb->smss &&
                   tcb->snd_nxt + len == tcp_fin_seq(tcb);
        if (len == 0 && !fin)
            break;
        if (len < tcb->smss && !fin && !(resend && len == hole) &&
            !small_segment_ok(tcb, len, unsent))
            break;
        send_data(tcb, len, fin);
        sent = true;
        if (fin)
            break;
    }
    return sent;
}

void tcp_output(struct tcb *tcb)
{
    bool sent = false;
    if (may_send_data(tcb)) {
        if (tcb->in_recovery && tcb->sack_ok)
            sent = tcp_sack_recovery_output(tcb); /* RFC 6675: pipe decides */
        else
            sent = send_from_snd_nxt(tcb);
        /* Data waits, nothing is in flight, so no ACK will come: only a probe can learn
         * that the window opened (RFC 9293 3.8.6.1). */
        if (unsent_bytes(tcb) && tcb->snd_nxt == tcb->snd_una && !timer_armed(&tcb->rtx_timer) &&
            !timer_armed(&tcb->persist_timer))
            timer_arm(tcb->stack, &tcb->persist_timer, backoff_us(tcb, tcb->persist_backoff));
    }
    if (sent) /* data went out: the bytes in flight grew (pictures: record.h) */
        tcp_record(tcb, RECORD_TCP_VARS, NULL, NULL);
    /* an ACK we owe; or SACK blocks that did not fit beside the data just sent */
    if (((!sent && tcb->ack_now) || tcb->sack_owed) && tcb->state != TCP_CLOSED &&
        tcb->state != TCP_LISTEN && tcb->state != TCP_SYN_SENT)
        tcp_send_ack(tcb);
}

/* Resend one segment at seq, within the `max` sequence numbers of a hole: its data (up to
 * SMSS), and the FIN if the hole holds it. */
uint32_t tcp_retransmit_at(struct tcb *tcb, uint32_t seq, uint32_t max, const char *why)
{
    uint32_t off = seq - tcb->snd_base;
    uint32_t len = off < tcb->snd.len ? min_u32(min_u32(tcb->snd.len - off, tcb->smss), max) : 0;
    bool fin = tcb->fin_queued && seq + len == tcp_fin_seq(tcb) && len < max &&
               seq_gt(tcb->snd_max, tcp_fin_seq(tcb));
    if (len == 0 && !fin)
        return 0;
    tcb->stack->stats.tcp.retransmits++;
    tcp_trace_conn(tcb, "retransmit seq=%u len=%u: %s; RTO %u ms", tcp_trace_seq(tcb, seq), len,
                   why, tcb->rto_us / 1000);
    tcb->rtt_timing = false; /* Karn: an ACK now could be for either copy */
    xmit(tcb, seq, TCP_ACK | (fin ? TCP_FIN : 0), len);
    return len + (fin ? 1 : 0);
}

/* Resend the oldest unacknowledged segment (fast retransmit, NewReno partial ACK). */
void tcp_retransmit_first(struct tcb *tcb, const char *why)
{
    uint32_t n = tcp_retransmit_at(tcb, tcb->snd_una, tcb->snd_max - tcb->snd_una, why);
    if (seq_gt(tcb->snd_una + n, tcb->snd_nxt))
        tcb->snd_nxt = tcb->snd_una + n;
}

/* ---- round-trip time (RFC 6298 2) ---- */

void tcp_rtt_sample(struct tcb *tcb, uint32_t r)
{
    /* LAB rto: begin */
    if (!tcb->rtt_valid) {
        tcb->srtt_us = r;
        tcb->rttvar_us = r / 2;
        tcb->rtt_valid = true;
    } else {
        uint32_t delta = tcb->srtt_us > r ? tcb->srtt_us - r : r - tcb->srtt_us;
        tcb->rttvar_us = (3 * tcb->rttvar_us + delta) / 4; /* beta = 1/4 */
        tcb->srtt_us = (7 * tcb->srtt_us + r) / 8;         /* alpha = 1/8 */
    }
    uint64_t rto = (uint64_t)tcb->srtt_us +
                   (4 * (uint64_t)tcb->rttvar_us > 1000 ? 4 * (uint64_t)tcb->rttvar_us : 1000);
    if (rto < TCP_RTO_MIN_US)
        rto = TCP_RTO_MIN_US;
    if (rto > TCP_RTO_MAX_US)
        rto = TCP_RTO_MAX_US;
    tcb->rto_us = (uint32_t)rto;
    /* LAB rto: end */
}

/* ---- receiving side helpers ---- */

/* In-order data arrived: ACK at least every second segment, else within 40 ms. */
void tcp_schedule_ack(struct tcb *tcb, uint32_t len)
{
    struct tcp_state *ts = tcb->stack->tcp;
    /* a large segment joined by the link (receive offload) counts as the MSS-sized
     * segments it was made of */
    uint32_t segs = tcb->rcv_mss ? (len + tcb->rcv_mss - 1) / tcb->rcv_mss : 1;
    tcb->segs_unacked += segs ? segs : 1;
    /* Segments that arrive together in one receive burst get one ACK at the end of the
     * burst (tcp_burst_end), as Linux's GRO gives them: far fewer ACKs for the same data.
     * Outside a burst, the RFC 1122 rule below. */
    if (ts->in_burst && tcb->segs_unacked < TCP_BURST_MAX_UNACKED) {
        if (!tcb->in_ack_batch) {
            tcb_hold(tcb); /* kept alive until the burst ends */
            tcb->in_ack_batch = true;
            tcb->ack_batch_next = ts->ack_batch;
            ts->ack_batch = tcb;
        }
        return;
    }
    tcp_ack_due(tcb);
}

/* RFC 1122 4.2.3.2: ACK at least every second full segment, and none later than 40 ms. */
void tcp_ack_due(struct tcb *tcb)
{
    if (tcb->segs_unacked >= 2)
        tcb->ack_now = true;
    else if (tcb->segs_unacked && !timer_armed(&tcb->delack_timer))
        timer_arm(tcb->stack, &tcb->delack_timer, TCP_DELACK_US);
}

/* The user read data: if that opened the window noticeably, say so now (a sender facing
 * a closed window would otherwise wait for its next probe). */
void tcp_window_update(struct tcb *tcb)
{
    if (tcb->state != TCP_ESTABLISHED && tcb->state != TCP_FIN_WAIT_1 &&
        tcb->state != TCP_FIN_WAIT_2)
        return;
    uint32_t old = seq_gt(tcb->rcv_adv, tcb->rcv_nxt) ? tcb->rcv_adv - tcb->rcv_nxt : 0;
    /* no more than the window field can say: without window scaling a large buffer's
     * window stays at 65535, and each read would otherwise "open" it by one segment */
    uint32_t now = min_u32(tcp_rcv_window(tcb), 65535u << tcb->rcv_wscale);
    uint32_t step = min_u32(2u * tcb->rcv_mss, tcb->rcv.limit / 2);
    if (now >= old + step || (old < tcb->rcv_mss && now > old)) {
        tcb->stack->stats.tcp.window_updates++;
        tcp_send_ack(tcb);
    }
}

/* ---- TIME-WAIT ---- */

void tcp_enter_time_wait(struct tcb *tcb)
{
    /* LAB close: begin */
    struct stack *stack = tcb->stack;
    tcp_set_state(tcb, TCP_TIME_WAIT);
    timer_cancel(stack, &tcb->rtx_timer);
    timer_cancel(stack, &tcb->persist_timer);
    timer_cancel(stack, &tcb->tlp_timer);
    timer_cancel(stack, &tcb->rack_timer);
    timer_arm(stack, &tcb->wait_timer, 2ull * stack->cfg.tcp_msl_ms * 1000);
    /* LAB close: end */
}

/* ---- timers ---- */

static void give_up(struct tcb *tcb)
{
    struct stack *stack = tcb->stack;
    char a[16];
    stack->stats.tcp.conn_timeouts++;
    trace(stack, TRACE_TCP, "giving up on %s:%u after %u retransmissions",
          ip_str(tcb->remote_ip, a), tcb->remote_port, tcb->retries - 1);
    tcp_connection_dead(tcb, tcb->soft_err ? tcb->soft_err : -ETIMEDOUT);
}

static void rtx_fire(struct stack *stack, void *arg)
{
    struct tcb *tcb = arg;
    tcb_hold(tcb);
    tcp_record(tcb, RECORD_TIMER, NULL, "RTO");
    tcp_check_r1(tcb); /* RFC 9293 3.8.3: R1 reached? advise IP before resending */
    if (tcb->state == TCP_SYN_SENT || tcb->state == TCP_SYN_RECEIVED) {
        stack->stats.tcp.timeouts++;
        if (++tcb->retries > stack->cfg.tcp_syn_retries) {
            give_up(tcb);
        } else {
            tcp_trace_conn(
                tcb, "retransmit seq=%u %s: timeout, no answer within RTO %u ms (try %u of %u)",
                tcp_trace_seq(tcb, tcb->iss), tcb->state == TCP_SYN_SENT ? "SYN" : "SYN|ACK",
                tcb->rto_us / 1000, tcb->retries, stack->cfg.tcp_syn_retries);
            tcb->rto_us = (uint32_t)backoff_us(tcb, 1);
            tcb->syn_timed_out = true;
            stack->stats.tcp.retransmits++;
            tcp_send_syn(tcb);
        }
    } else if (may_send_data(tcb) && tcb->snd_una != tcb->snd_max) {
        stack->stats.tcp.timeouts++;
        if (++tcb->retries > tcp_max_retries(tcb)) {
            give_up(tcb);
        } else {
            /* RFC 6298 5.5-5.6: back off, resend from the oldest unacknowledged byte;
             * RFC 5681 3.1: one segment of congestion window after a loss this bad. */
            uint32_t rto_ms = tcb->rto_us / 1000;
            tcp_cc_on_timeout(tcb);
            /* RFC 6675 5.1: the scoreboard stays (SACKed data is not resent), unless the
             * timeout repeats: then the peer may have dropped what it SACKed (reneging) */
            if (tcb->retries > 1)
                tcp_sack_clear(tcb);
            tcb->rto_us = (uint32_t)backoff_us(tcb, 1);
            tcp_trace_conn(tcb,
                           "timeout: seq=%u not acknowledged within RTO %u ms (timeout %u of %u); "
                           "resend from it, RTO now %u ms",
                           tcp_trace_seq(tcb, tcb->snd_una), rto_ms, tcb->retries,
                           stack->cfg.tcp_max_retries, tcb->rto_us / 1000);
            tcb->rtt_timing = false;
            tcb->snd_nxt = tcb->snd_una; /* go back: everything after it is resent too */
            tcp_output(tcb);
        }
    }
    tcb_release(tcb);
}

static void persist_fire(struct stack *stack, void *arg)
{
    struct tcb *tcb = arg;
    tcb_hold(tcb);
    tcp_record(tcb, RECORD_TIMER, NULL, "persist");
    uint32_t unsent = unsent_bytes(tcb);
    if (may_send_data(tcb) && unsent && tcb->snd_nxt == tcb->snd_una) {
        if (tcb->snd_wnd == 0) {
            /* A zero-window probe. Like Linux we send an already-acknowledged sequence
             * number (SND.UNA - 1) with no data: any TCP must answer it with an ACK that
             * carries its current window (RFC 9293 3.10.7.4 "first"), and no new byte
             * is committed to a window that has no room for it. */
            /* An orphan (its application closed it) may not wait for ever on a peer that
             * keeps its window shut while answering every probe: its probes are counted
             * from the close on, answered or not (Linux: tcp_orphan_retries). */
            if (tcb->owner == OWNER_TCP && ++tcb->orphan_probes > TCP_ORPHAN_PROBES) {
                stack->stats.tcp.orphans_aborted++;
                trace(stack, TRACE_TCP, "orphan: window still shut after %u probes: RST",
                      TCP_ORPHAN_PROBES);
                tcp_send_rst_for(tcb);
                tcp_connection_dead(tcb, -ETIMEDOUT);
                tcb_release(tcb);
                return;
            }
            if (++tcb->probes > tcp_max_retries(tcb)) {
                tcb->retries = tcb->probes;
                give_up(tcb);
                tcb_release(tcb);
                return;
            }
            stack->stats.tcp.persist_probes++;
            tcb->persist_backoff++; /* RFC 9293 3.8.6.1: the interval grows exponentially */
            xmit(tcb, tcb->snd_una - 1, TCP_ACK, 0);
        } else {
            /* the window is open but too small for silly-window avoidance: the RFC's
             * "override timeout" sends what fits anyway */
            uint32_t len = min_u32(min_u32(unsent, tcb->snd_wnd), tcb->smss);
            send_data(tcb, len, false);
        }
        if (tcb->snd_nxt == tcb->snd_una)
            timer_arm(stack, &tcb->persist_timer, backoff_us(tcb, tcb->persist_backoff));
    }
    tcb_release(tcb);
}

static void delack_fire(struct stack *stack, void *arg)
{
    struct tcb *tcb = arg;
    tcb_hold(tcb);
    tcp_record(tcb, RECORD_TIMER, NULL, "delayed ACK");
    if (tcb->state != TCP_CLOSED && tcb->state != TCP_LISTEN && tcb->state != TCP_SYN_SENT) {
        stack->stats.tcp.delayed_acks++;
        tcp_send_ack(tcb);
    }
    tcb_release(tcb);
}

static void wait_fire(struct stack *stack, void *arg)
{
    /* LAB close: begin */
    struct tcb *tcb = arg;
    (void)stack;
    tcb_hold(tcb);
    tcp_record(tcb, RECORD_TIMER, NULL,
               tcb->state == TCP_TIME_WAIT ? "2MSL (TIME-WAIT over)" : "FIN-WAIT-2 timeout");
    if (tcb->state == TCP_TIME_WAIT || tcb->state == TCP_FIN_WAIT_2)
        tcp_set_state(tcb, TCP_CLOSED);
    tcb_release(tcb);
    /* LAB close: end */
}

void tcp_timers_init(struct tcb *tcb)
{
    timer_init(&tcb->rtx_timer, rtx_fire, tcb);
    timer_init(&tcb->persist_timer, persist_fire, tcb);
    timer_init(&tcb->delack_timer, delack_fire, tcb);
    timer_init(&tcb->wait_timer, wait_fire, tcb);
    timer_init(&tcb->tlp_timer, tcp_tlp_fire, tcb);
    timer_init(&tcb->ring_timer, tcp_ring_idle_fire, tcb);
    tcp_rack_init(tcb);
    tcp_keepalive_init(tcb);
}

void tcp_send_keepalive(struct tcb *tcb)
{
    xmit(tcb, tcb->snd_una - 1, TCP_ACK, 0);
}

void tcp_timers_cancel(struct tcb *tcb)
{
    timer_cancel(tcb->stack, &tcb->rtx_timer);
    timer_cancel(tcb->stack, &tcb->persist_timer);
    timer_cancel(tcb->stack, &tcb->delack_timer);
    timer_cancel(tcb->stack, &tcb->wait_timer);
    timer_cancel(tcb->stack, &tcb->tlp_timer);
    timer_cancel(tcb->stack, &tcb->rack_timer);
    timer_cancel(tcb->stack, &tcb->ka_timer);
    timer_cancel(tcb->stack, &tcb->ring_timer);
}
