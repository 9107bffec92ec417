/* tcp_keepalive.c - what an application may tune per connection, and keep-alive.
 *
 *   keep-alive    RFC 9293 3.8.4, RFC 1122 4.2.3.6: off by default (MUST-25); when on, a
 *                 connection idle for `idle` seconds (default 2 hours, MUST-28) gets a probe
 *                 every `intvl` seconds; `cnt` unanswered probes in a row (several: ACKs
 *                 get lost, MUST-29) and the peer is declared dead (-ETIMEDOUT). The probe
 *                 is an ACK for SND.UNA-1 with no data (SHLD-12): any live TCP answers a
 *                 segment from the past with an ACK, and no byte is committed.
 *   R1, R2        how many retransmissions before negative advice to IP and a soft
 *                 error (R1), and before giving up (R2) (MUST-20/21, SHLD-9/10).
 *   TTL, TOS      the IP fields of every segment (MUST-48, MUST-49; RFC 1122 3.2.1.6/7).
 *   soft errors   the last ICMP error the connection survived, or -ETIMEDOUT from R1
 *                 (MUST-47).
 */
#include "ip.h"
#include "tcp_impl.h"

#include <errno.h>

#define KEEPALIVE_IDLE_S  7200 /* RFC 1122 4.2.3.6: at least two hours by default */
#define KEEPALIVE_INTVL_S 75   /* Linux's tcp_keepalive_intvl */
#define KEEPALIVE_CNT     9    /* Linux's tcp_keepalive_probes */

static bool keepalive_state(const struct tcb *tcb)
{
    return tcb->state == TCP_ESTABLISHED || tcb->state == TCP_CLOSE_WAIT ||
           tcb->state == TCP_FIN_WAIT_2;
}

static void keepalive_arm(struct tcb *tcb, uint64_t delay_us)
{
    timer_arm(tcb->stack, &tcb->ka_timer, delay_us);
}

static void keepalive_fire(struct stack *stack, void *arg)
{
    struct tcb *tcb = arg;
    uint64_t idle_us = (uint64_t)tcb->ka_idle_s * 1000000;
    bool over = tcb->state == TCP_CLOSED && tcb->used; /* not "not yet connected" */
    if (!tcb->keepalive || over || tcb->state == TCP_TIME_WAIT || tcb->state == TCP_LISTEN)
        return;
    tcb_hold(tcb);
    uint64_t quiet = stack->now_us - tcb->ka_last_rx_us;
    if (!keepalive_state(tcb) || tcb->snd_una != tcb->snd_max) {
        /* handshake or data in flight: the retransmission timer watches the peer, and
         * the idle time starts over */
        tcb->ka_last_rx_us = stack->now_us;
        keepalive_arm(tcb, idle_us);
    } else if (tcb->ka_probes == 0 && quiet < idle_us) {
        keepalive_arm(tcb, idle_us - quiet); /* MUST-26: only after `idle` of silence */
    } else if (tcb->ka_probes >= tcb->ka_cnt) {
        stack->stats.tcp.keepalive_timeouts++;
        trace(stack, TRACE_TCP, "keep-alive: no answer to %u probes, the peer is gone",
              tcb->ka_probes);
        tcp_connection_dead(tcb, tcb->soft_err ? tcb->soft_err : -ETIMEDOUT);
    } else {
        tcb->ka_probes++;
        stack->stats.tcp.keepalive_probes++;
        tcp_send_keepalive(tcb);
        keepalive_arm(tcb, (uint64_t)tcb->ka_intvl_s * 1000000);
    }
    tcb_release(tcb);
}

void tcp_keepalive_init(struct tcb *tcb)
{
    timer_init(&tcb->ka_timer, keepalive_fire, tcb);
    tcb->ka_idle_s = KEEPALIVE_IDLE_S;
    tcb->ka_intvl_s = KEEPALIVE_INTVL_S;
    tcb->ka_cnt = KEEPALIVE_CNT;
}

void tcp_keepalive_rx(struct tcb *tcb)
{
    tcb->ka_last_rx_us = tcb->stack->now_us;
    tcb->ka_probes = 0; /* the peer is alive */
    if (tcb->keepalive && !timer_armed(&tcb->ka_timer))
        keepalive_arm(tcb, (uint64_t)tcb->ka_idle_s * 1000000);
}

void tcp_inherit_settings(struct tcb *child, const struct tcb *listener)
{
    child->ip_ttl = listener->ip_ttl;
    child->ip_tos = listener->ip_tos;
    child->max_retries = listener->max_retries;
    child->retries1 = listener->retries1;
    child->keepalive = listener->keepalive;
    child->ka_idle_s = listener->ka_idle_s;
    child->ka_intvl_s = listener->ka_intvl_s;
    child->ka_cnt = listener->ka_cnt;
}

int tcp_set_keepalive(struct tcb *tcb, int on, unsigned idle_s, unsigned intvl_s, unsigned cnt)
{
    if (idle_s)
        tcb->ka_idle_s = idle_s;
    if (intvl_s)
        tcb->ka_intvl_s = intvl_s;
    if (cnt)
        tcb->ka_cnt = cnt;
    if (on >= 0)
        tcb->keepalive = on != 0;
    if (!tcb->keepalive) {
        timer_cancel(tcb->stack, &tcb->ka_timer);
        return 0;
    }
    /* Armed at once, even before connect(): keepalive_fire waits out the handshake. A
     * listener's connections inherit the setting and arm on their first segment. */
    if (tcb->state != TCP_LISTEN) {
        if (!tcb->ka_last_rx_us)
            tcb->ka_last_rx_us = tcb->stack->now_us;
        keepalive_arm(tcb, 0); /* recompute from the last segment received */
    }
    return 0;
}

int tcp_set_ip_fields(struct tcb *tcb, int ttl, int tos)
{
    if (ttl > 255 || tos > 255)
        return -EINVAL;
    if (ttl >= 0)
        tcb->ip_ttl = (uint8_t)ttl; /* 0: the stack's default */
    if (tos >= 0)
        tcb->ip_tos = (uint8_t)tos;
    return 0;
}

int tcp_set_max_retries(struct tcb *tcb, unsigned r2)
{
    tcb->max_retries = r2;
    return 0;
}

unsigned tcp_max_retries(const struct tcb *tcb)
{
    return tcb->max_retries ? tcb->max_retries : tcb->stack->cfg.tcp_max_retries;
}

int tcp_set_retries1(struct tcb *tcb, unsigned r1)
{
    tcb->retries1 = r1;
    return 0;
}

static unsigned tcp_retries1(const struct tcb *tcb)
{
    return tcb->retries1 ? tcb->retries1 : tcb->stack->cfg.tcp_retries1;
}

/* RFC 9293 3.8.3 (MUST-20, SHLD-9), RFC 1122 4.2.3.5: the retransmission timer fired with
 * R1 retransmissions of the same segment (SYN or data) unanswered. Something on the way
 * may have failed: IP gets negative advice (it checks the next hop and may switch to
 * another gateway, RFC 1122 3.3.1.4), and the application a soft error it can read with
 * sock_soft_error(), unless an ICMP error already explains the trouble. The connection
 * carries on until R2. */
void tcp_check_r1(struct tcb *tcb)
{
    struct stack *stack = tcb->stack;
    unsigned r1 = tcp_retries1(tcb);
    if (r1 == 0 || tcb->retries != r1 || tcb->snd_una == tcb->snd_max)
        return;
    stack->stats.tcp.r1_reached++;
    tcp_trace_conn(tcb, "%u retransmissions unanswered (R1): negative advice to IP", r1);
    if (!tcb->soft_err)
        tcb->soft_err = -ETIMEDOUT;
    ip_negative_advice(stack, tcb->remote_ip);
}

int tcp_soft_error(const struct tcb *tcb)
{
    return tcb->soft_err;
}
