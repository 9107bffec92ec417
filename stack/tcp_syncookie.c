/* tcp_syncookie.c - SYN cookies (RFC 4987 3.6): a listener that keeps no state for a SYN.
 *
 * A SYN flood sends SYNs from forged addresses that never complete the handshake. Every
 * SYN normally costs a TCB in SYN-RECEIVED, and once the listener's backlog of half-open
 * connections is full, the SYN of a real client is dropped too: the service is locked out.
 *
 * With SYN cookies, a listener whose backlog is full still answers every SYN with a
 * SYN-ACK, but keeps nothing: everything it must remember about the connection is folded
 * into the one number the client is bound to send back, our initial sequence number. A
 * real client answers with ACK = ISS + 1; we check that the number is one we made (a
 * keyed hash an attacker cannot compute), take the remembered options back out of it and
 * create the connection, directly in ESTABLISHED. A forged source never answers: it costs
 * us one SYN-ACK and no memory.
 *
 * Our cookie, the ISS of the SYN-ACK (32 bits):
 *
 *   31 30 29                                     8 7     5 4       1 0
 *  +-----+----------------------------------------+--------+---------+-+
 *  |  t  |  MAC: 22 bits of SipHash(key, ...)     | MSS ix | wscale  |S|
 *  +-----+----------------------------------------+--------+---------+-+
 *
 *   t       the time, in periods of 64 s, modulo 4: a cookie is good for 64-128 s
 *   MSS ix  the peer's MSS, rounded down to one of eight values (mss_table)
 *   wscale  the peer's window scale (0-14), or 15 when it offered none (RFC 7323)
 *   S       the peer offered SACK (RFC 2018) and we use it: the SYN-ACK offers it back
 *   MAC     SipHash-2-4 with the stack's secret over both addresses and ports, the peer's
 *           ISN, the full time counter and the low 8 bits above: change any of them and
 *           the MAC no longer matches
 *
 * What a cookie cannot carry is lost: the exact MSS (rounded down), and everything but the
 * first segment's options; our window scale is not stored but recomputed, since it only
 * depends on the listener's buffer size. A blind attacker has one chance in 2^22 per ACK to
 * hit a valid cookie. Linux's cookies (net/ipv4/syncookies.c) are built the same way,
 * with the options kept in the timestamp option when there is one.
 *
 * Cookies are used only while the listener's backlog is full, as in Linux: a cookie
 * connection loses what the cookie cannot carry, so normal handshakes stay the rule.
 */
#include "bytes.h"
#include "ip.h"
#include "pkb.h"
#include "tcp_impl.h"

#include <string.h>

#define COOKIE_PERIOD_US (64ull * 1000000) /* t ticks every 64 s */
#define COOKIE_MAC_BITS  22
#define WSCALE_NONE      15 /* the peer sent no window scale option */

/* The MSS values a cookie can carry (Linux keeps four: 536, 1300, 1440, 1460). A peer's
 * MSS is rounded down to the nearest; 536 is also the default without the option. */
static const uint16_t mss_table[8] = {216, 536, 1024, 1200, 1300, 1400, 1440, 1460};

/* The options remembered in a cookie. */
struct cookie_opts {
    unsigned mss_index;
    unsigned wscale; /* WSCALE_NONE: no window scaling */
    bool sack;
};

static unsigned mss_to_index(const struct tcp_opts *o)
{
    uint16_t mss = o->has_mss ? o->mss : TCP_DEFAULT_MSS;
    unsigned i = 7;
    while (i > 0 && mss_table[i] > mss)
        i--;
    return i;
}

static uint64_t time_counter(const struct stack *stack)
{
    return stack->now_us / COOKIE_PERIOD_US;
}

static uint32_t low_bits(const struct cookie_opts *c)
{
    return (uint32_t)(c->mss_index << 5 | c->wscale << 1 | (c->sack ? 1u : 0u));
}

/* The MAC over the connection, the peer's ISN, the time and the options (low 8 bits). */
static uint32_t cookie_mac(struct stack *stack, uint32_t lip, uint16_t lport, uint32_t rip,
                           uint16_t rport, uint32_t peer_isn, uint64_t t, uint32_t low)
{
    uint8_t m[1 + 12 + 4 + 8 + 1];
    m[0] = 'C'; /* not the same input as any ISN hash (tcp_new_isn) */
    put_be32(m + 1, lip);
    put_be16(m + 5, lport);
    put_be32(m + 7, rip);
    put_be16(m + 11, rport);
    put_be32(m + 13, peer_isn);
    put_be32(m + 17, (uint32_t)(t >> 32));
    put_be32(m + 21, (uint32_t)t);
    m[25] = (uint8_t)low;
    uint64_t h = tcp_siphash24(stack->tcp->isn_key, m, sizeof(m));
    return (uint32_t)h & ((1u << COOKIE_MAC_BITS) - 1);
}

static uint32_t cookie_make(struct stack *stack, uint32_t lip, uint16_t lport, uint32_t rip,
                            uint16_t rport, uint32_t peer_isn, const struct cookie_opts *c)
{
    uint64_t t = time_counter(stack);
    uint32_t low = low_bits(c);
    uint32_t mac = cookie_mac(stack, lip, lport, rip, rport, peer_isn, t, low);
    return (uint32_t)(t & 3) << 30 | mac << 8 | low;
}

/* The options in a cookie, if we made it in this period or the one before. */
static bool cookie_check(struct stack *stack, uint32_t lip, uint16_t lport, uint32_t rip,
                         uint16_t rport, uint32_t peer_isn, uint32_t cookie, struct cookie_opts *c)
{
    uint64_t now = time_counter(stack);
    unsigned age = (unsigned)((now - (cookie >> 30)) & 3); /* periods since it was made */
    if (age > 1 || now < age)
        return false; /* expired */
    uint32_t low = cookie & 0xff;
    uint32_t mac = (cookie >> 8) & ((1u << COOKIE_MAC_BITS) - 1);
    if (mac != cookie_mac(stack, lip, lport, rip, rport, peer_isn, now - age, low))
        return false; /* not ours: forged, or for another connection */
    c->mss_index = low >> 5;
    c->wscale = (low >> 1) & 15;
    c->sack = low & 1;
    return c->wscale <= TCP_MAX_WSCALE || c->wscale == WSCALE_NONE;
}

bool tcp_syncookie_needed(const struct tcb *listener)
{
    return listener->syn_recv_count >= listener->backlog;
}

/* <SEQ=cookie><ACK=SEG.SEQ+1><CTL=SYN,ACK> with our MSS and, if the peer offered it,
 * our window scale: the SYN-ACK tcp_send_syn() would send, from no TCB. */
void tcp_syncookie_send(struct tcb *l, uint32_t lip, uint32_t rip, const struct tcp_hdr *syn)
{
    struct stack *stack = l->stack;
    struct cookie_opts c = {
        .mss_index = mss_to_index(&syn->opts),
        .wscale = syn->opts.has_wscale ? syn->opts.wscale : WSCALE_NONE,
        .sack = syn->opts.sack_permitted && stack->cfg.tcp_sack,
    };
    if (c.wscale > TCP_MAX_WSCALE)
        c.wscale = TCP_MAX_WSCALE; /* RFC 7323 2.3: use 14 for anything larger */
    uint32_t rcvbuf = (uint32_t)l->rcvbuf_size;
    struct tcp_hdr h;
    memset(&h, 0, sizeof(h));
    h.sport = l->local_port;
    h.dport = syn->sport;
    h.seq = cookie_make(stack, lip, l->local_port, rip, syn->sport, syn->seq, &c);
    h.ack = syn->seq + 1;
    h.flags = TCP_SYN | TCP_ACK;
    h.wnd = (uint16_t)(rcvbuf < 65535 ? rcvbuf : 65535); /* a SYN's window is never scaled */
    h.opts.has_mss = true;
    h.opts.mss = (uint16_t)(stack->cfg.mtu - IP_HDR_LEN - TCP_HDR_LEN);
    if (syn->opts.has_wscale) {
        h.opts.has_wscale = true;
        h.opts.wscale = tcp_wscale_for(rcvbuf);
    }
    /* RFC 2018 2: SACK-permitted only in answer to a SYN that offered it; the cookie
     * remembers it. Timestamps are not offered: the cookie has no room for TS.Recent. */
    h.opts.sack_permitted = c.sack;
    stack->stats.tcp.syncookies_sent++;
    trace(stack, TRACE_TCP, "backlog full (%u half-open): SYN cookie %u (mss %u, wscale %d)",
          l->syn_recv_count, h.seq, mss_table[c.mss_index],
          c.wscale == WSCALE_NONE ? -1 : (int)c.wscale);
    tcp_send_segment(stack, lip, rip, &h);
}

/* An ACK reached a listener: if it acknowledges a cookie of ours, fill `opts` with the
 * options of the SYN it answers, as if they had come in that SYN. */
bool tcp_syncookie_ack(struct tcb *l, uint32_t lip, uint32_t rip, const struct tcp_hdr *ack,
                       struct tcp_opts *opts)
{
    struct stack *stack = l->stack;
    struct cookie_opts c;
    if (!cookie_check(stack, lip, l->local_port, rip, ack->sport, ack->seq - 1, ack->ack - 1, &c)) {
        stack->stats.tcp.syncookies_failed++;
        trace(stack, TRACE_TCP, "ACK %u is no SYN cookie of ours", ack->ack - 1);
        return false;
    }
    memset(opts, 0, sizeof(*opts));
    opts->has_mss = true;
    opts->mss = mss_table[c.mss_index];
    opts->has_wscale = c.wscale != WSCALE_NONE;
    opts->wscale = opts->has_wscale ? (uint8_t)c.wscale : 0;
    opts->sack_permitted = c.sack;
    stack->stats.tcp.syncookies_ok++;
    trace(stack, TRACE_TCP, "SYN cookie %u good: connection from it (mss %u)", ack->ack - 1,
          opts->mss);
    return true;
}
