/* tcp_urgent.c - urgent data (RFC 9293 3.8.5, RFC 6093), the way Linux and BSD offer it.
 *
 * A sender marks a point in its stream as urgent: every segment up to that point carries
 * URG and an urgent pointer, the offset from its sequence number to the octet *after* the
 * urgent data (MUST-62; RFC 6093 2 notes every stack reads it this way). The sockets API
 * turns the last urgent octet into one "out-of-band" byte: send(MSG_OOB) marks the last
 * byte of a write; on the receiving side (SO_OOBINLINE off) that byte is taken out of the
 * stream, kept apart for recv(MSG_OOB), and the application is told at once (MUST-32,
 * on_urgent). Reading the stream stops at the mark, so the application knows where the
 * urgent byte was (sockatmark).
 *
 *   RCV.UP   rcv_up: the octet after the urgent data; tcp_urgent_rx() keeps the furthest
 *   SND.UP   snd_up: set by tcp_send_urgent(), put into segments by tcp_urgent_fill()
 *
 * RFC 6093 asks new applications not to use urgent data; tapir supports it because peers
 * (telnet, ftp ABOR) still send it, and a byte delivered in-band by mistake is a byte of
 * garbage in the stream.
 */
#include "tcp_impl.h"

#include <errno.h>

/* The sequence number of the first unread byte in the receive ring (a FIN received takes
 * one sequence number after the data). */
static uint32_t ring_seq(const struct tcb *tcb)
{
    return tcb->rcv_nxt - tcb->rcv.len - (tcb->fin_rcvd ? 1 : 0);
}

void tcp_urgent_rx(struct tcb *tcb, uint8_t flags, uint32_t seq, uint16_t urg_ptr)
{
    if (!(flags & TCP_URG) || urg_ptr == 0)
        return;
    if (tcb->state != TCP_ESTABLISHED && tcb->state != TCP_FIN_WAIT_1 &&
        tcb->state != TCP_FIN_WAIT_2)
        return; /* "CLOSE-WAIT ... ignore the URG" (3.10.7.4 sixth) */
    uint32_t up = seq + urg_ptr;
    if (tcb->rcv_up_valid && !seq_gt(up, tcb->rcv_up))
        return; /* RCV.UP <- max(RCV.UP, SEG.UP): the same mark, repeated */
    tcb->rcv_up = up;
    tcb->rcv_up_valid = true;
    tcb->urg_captured = false;
    tcb->stack->stats.tcp.rx_urgent++;
}

/* After the text: once the urgent octet is in the receive ring, lift it out. */
void tcp_urgent_capture(struct tcb *tcb)
{
    if (!tcb->rcv_up_valid || tcb->urg_captured || seq_gt(tcb->rcv_up, tcb->rcv_nxt))
        return;
    uint32_t first = ring_seq(tcb);
    uint32_t mark = tcb->rcv_up - 1;
    tcb->urg_captured = true;
    if (seq_lt(mark, first))
        return; /* already read as ordinary data: too late to take it out */
    ring_read_at(&tcb->rcv, mark - first, &tcb->urg_byte, 1);
    tcb->urg_mark = mark;
    tcb->urg_in_stream = true;
    tcb->urg_byte_valid = true;
    tcb->events |= EV_URGENT;
}

uint32_t tcp_urgent_clip(struct tcb *tcb, uint32_t n)
{
    if (!tcb->urg_in_stream)
        return n;
    uint32_t off = tcb->urg_mark - ring_seq(tcb);
    if (off == 0) { /* at the mark: the urgent byte is not part of the stream */
        ring_consume(&tcb->rcv, 1);
        tcb->urg_in_stream = false;
        return n < tcb->rcv.len ? n : tcb->rcv.len;
    }
    return n < off ? n : off; /* read up to the mark, not past it */
}

int tcp_recv_urgent(struct tcb *tcb, uint8_t *byte)
{
    if (!tcb->urg_byte_valid)
        return -EINVAL; /* as recv(MSG_OOB) when no urgent byte waits */
    *byte = tcb->urg_byte;
    tcb->urg_byte_valid = false;
    return 1;
}

int tcp_at_mark(const struct tcb *tcb)
{
    return tcb->urg_in_stream && tcb->urg_mark == ring_seq(tcb);
}

ssize_t tcp_send_urgent(struct tcb *tcb, const void *buf, size_t len)
{
    uint32_t room = ring_free(&tcb->snd);
    uint32_t n = len < room ? (uint32_t)len : room;
    if (n) { /* SND.UP <- the octet after the last one of this write */
        tcb->snd_up = tcb->snd_base + tcb->snd.len + n;
        tcb->snd_up_valid = true;
    }
    ssize_t sent = tcp_send(tcb, buf, n);
    if (sent < (ssize_t)n && n) /* fewer than expected: nothing is urgent then */
        tcb->snd_up_valid = sent > 0;
    if (sent > 0 && sent < (ssize_t)n)
        tcb->snd_up = tcb->snd_base + tcb->snd.len;
    return sent;
}

void tcp_urgent_fill(struct tcb *tcb, struct tcp_hdr *h)
{
    if (!tcb->snd_up_valid)
        return;
    if (!seq_gt(tcb->snd_up, tcb->snd_una)) {
        tcb->snd_up_valid = false; /* the urgent data is acknowledged */
        return;
    }
    if (!seq_lt(h->seq, tcb->snd_up))
        return;
    uint32_t ptr = tcb->snd_up - h->seq;
    h->flags |= TCP_URG;
    h->urg_ptr = (uint16_t)(ptr > 65535 ? 65535 : ptr);
}
