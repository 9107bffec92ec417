/* udp.c - the User Datagram Protocol (RFC 768): the simplest transport (OSI layer 4).
 *
 *  0      7 8     15 16    23 24    31
 *  +--------+--------+--------+--------+
 *  |   source port   |  destination    |
 *  |                 |      port       |
 *  +--------+--------+--------+--------+
 *  |     length      |    checksum     |
 *  +--------+--------+--------+--------+
 *  |          data octets ...
 *
 * UDP adds only ports and a checksum to IP. Inbound we validate, find the endpoint bound
 * to the destination port (a "protocol control block", pcb) and queue the datagram for
 * its socket, up to a bound. A datagram for a closed port is answered with ICMP port
 * unreachable (RFC 1122 4.1.3.1). Outbound, a datagram is one IP datagram, which IP
 * fragments when it is larger than the MTU.
 */
#include "udp.h"
#include "bytes.h"
#include "checksum.h"
#include "icmp.h"
#include "ip.h"
#include "pkb.h"
#include "sock.h"
#include "stack_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define UDP_MAX_PAYLOAD (IP_MAX_LEN - IP_HDR_LEN - UDP_HDR_LEN) /* 65507 */
#define EPHEMERAL_FIRST 49152                                   /* RFC 6335 dynamic ports */
#define EPHEMERAL_COUNT (65536 - EPHEMERAL_FIRST)

struct udp_pcb {
    struct stack *stack;
    uint32_t local_ip;   /* 0: any of ours */
    uint16_t local_port; /* 0: not bound yet */
    uint32_t remote_ip;  /* set by udp_connect; 0: unconnected */
    uint16_t remote_port;
    struct pkb_queue rxq; /* received datagrams, bounded by queue_len */
    unsigned queue_len;
    int pending_error; /* reported once by udp_recvfrom, as a socket error is */
    /* RFC 1122 4.1.4: the IP fields of every datagram sent (sock_setopt, sock_set_ip_options) */
    uint8_t ttl; /* 0: the stack's */
    uint8_t tos;
    uint8_t options[IP_OPTS_MAX];
    size_t options_len; /* padded by ip_options_prepare */
    struct udp_upcalls up;
    void *ctx;
    struct udp_pcb *next;
};

struct udp_state {
    struct udp_pcb *pcbs;
    uint16_t next_ephemeral;
};

int udp_parse(const uint8_t *b, size_t len, struct udp_hdr *h)
{
    if (len < UDP_HDR_LEN)
        return -1;
    h->sport = get_be16(b);
    h->dport = get_be16(b + 2);
    h->len = get_be16(b + 4);
    h->checksum = get_be16(b + 6);
    return 0;
}

void udp_build(const struct udp_hdr *h, uint8_t *b)
{
    put_be16(b, h->sport);
    put_be16(b + 2, h->dport);
    put_be16(b + 4, h->len);
    put_be16(b + 6, h->checksum);
}

static void udp_error(struct stack *stack, const struct ip_error *err);

int udp_init(struct stack *stack)
{
    struct udp_state *udp = calloc(1, sizeof(*udp));
    if (!udp)
        return -ENOMEM;
    udp->next_ephemeral = (uint16_t)(EPHEMERAL_FIRST + stack_random(stack) % EPHEMERAL_COUNT);
    stack->udp = udp;
    stack_register_ip_protocol(stack, IP_PROTO_UDP, udp_input, udp_error);
    return 0;
}

void udp_fini(struct stack *stack)
{
    if (!stack->udp)
        return;
    while (stack->udp->pcbs)
        udp_close(stack->udp->pcbs);
    free(stack->udp);
    stack->udp = NULL;
}

/* The pcb for a datagram to dst:dport from src:sport. A connected pcb must match the
 * sender exactly; an address-specific bind beats a wildcard one. */
static struct udp_pcb *lookup(struct stack *stack, uint32_t dst, uint16_t dport, uint32_t src,
                              uint16_t sport)
{
    /* LAB udp: begin */
    struct udp_pcb *best = NULL;
    int best_score = -1;
    for (struct udp_pcb *p = stack->udp->pcbs; p; p = p->next) {
        if (p->local_port != dport || (p->local_ip && p->local_ip != dst))
            continue;
        if (p->remote_ip && (p->remote_ip != src || p->remote_port != sport))
            continue;
        int score = (p->local_ip ? 1 : 0) + (p->remote_ip ? 2 : 0);
        if (score > best_score) {
            best = p;
            best_score = score;
        }
    }
    return best;
    /* LAB udp: end */
}

static void drop(struct stack *stack, struct pkb *pkb, uint64_t *counter, const char *why)
{
    (*counter)++;
    record_drop(stack, "udp", why);
    trace(stack, TRACE_UDP, "drop: %s", why);
    pkb_free(pkb);
}

/* The checksum covers a pseudo-header (addresses, protocol, length), the header and the
 * data (RFC 768). Summed over a datagram that carries its checksum, the result is 0. */
static bool checksum_ok(const struct pkb *pkb, uint16_t len)
{
    uint32_t sum = csum_pseudo_header(pkb->meta.ip_src, pkb->meta.ip_dst, IP_PROTO_UDP, len);
    return csum_fold(csum_add(sum, pkb->data, len)) == 0;
}

void udp_input(struct stack *stack, struct pkb *pkb)
{
    /* LAB udp: begin */
    struct udp_stats *st = &stack->stats.udp;
    struct udp_hdr h;
    char a[16], b[16];

    st->rx_datagrams++;
    if (udp_parse(pkb->data, pkb->len, &h) < 0)
        return drop(stack, pkb, &st->rx_truncated, "shorter than a UDP header");
    if (h.len < UDP_HDR_LEN || h.len > pkb->len)
        return drop(stack, pkb, &st->rx_bad_length, "length field does not fit the datagram");
    pkb_trim(pkb, h.len);
    /* A checksum of 0 means the sender computed none (RFC 768). */
    if (h.checksum != 0 && !checksum_ok(pkb, h.len))
        return drop(stack, pkb, &st->rx_bad_checksum, "bad checksum");
    trace(stack, TRACE_UDP, "%s:%u > %s:%u len=%u", ip_str(pkb->meta.ip_src, a), h.sport,
          ip_str(pkb->meta.ip_dst, b), h.dport, h.len - UDP_HDR_LEN);

    struct udp_pcb *pcb = lookup(stack, pkb->meta.ip_dst, h.dport, pkb->meta.ip_src, h.sport);
    if (!pcb) {
        /* RFC 1122 4.1.3.1: a datagram for a port nobody listens on gets ICMP port
         * unreachable (icmp_send_error keeps quiet for broadcasts, as 3.2.2 requires). */
        icmp_send_dest_unreach(stack, pkb, ICMP_UNREACH_PORT);
        return drop(stack, pkb, &st->rx_no_port, "port closed");
    }
    if (pcb->rxq.count >= pcb->queue_len)
        return drop(stack, pkb, &st->rx_queue_full, "socket receive queue full");
    pkb->meta.src_port = h.sport;
    pkb_pull(pkb, UDP_HDR_LEN);
    pkb_queue_push(&pcb->rxq, pkb);
    if (pcb->up.readable)
        pcb->up.readable(pcb->ctx);
    /* LAB udp: end */
}

/* An ICMP error about a datagram we sent: l4 holds its UDP header. */
static void udp_error(struct stack *stack, const struct ip_error *err)
{
    struct udp_hdr h;
    char a[16];
    if (udp_parse(err->l4, err->l4_len, &h) < 0)
        return;
    /* The datagram went src:sport -> dst:dport; find the pcb that sent it. */
    struct udp_pcb *pcb = lookup(stack, err->src, h.sport, err->dst, h.dport);
    if (!pcb)
        return;
    trace(stack, TRACE_UDP, "error for port %u: %s:%u says %s", h.sport, ip_str(err->dst, a),
          h.dport, strerror(err->err));
    pcb->pending_error = -err->err;
    if (pcb->up.error)
        pcb->up.error(pcb->ctx, -err->err);
}

struct udp_pcb *udp_open(struct stack *stack, const struct udp_upcalls *up, void *ctx)
{
    struct udp_pcb *pcb = calloc(1, sizeof(*pcb));
    if (!pcb)
        return NULL;
    pcb->stack = stack;
    pcb->queue_len = stack->cfg.udp_rcvq_len;
    if (up)
        pcb->up = *up;
    pcb->ctx = ctx;
    pcb->next = stack->udp->pcbs;
    stack->udp->pcbs = pcb;
    return pcb;
}

static bool port_in_use(struct stack *stack, uint32_t ip, uint16_t port)
{
    for (struct udp_pcb *p = stack->udp->pcbs; p; p = p->next)
        if (p->local_port == port && (!p->local_ip || !ip || p->local_ip == ip))
            return true;
    return false;
}

static int pick_ephemeral(struct stack *stack, uint32_t ip, uint16_t *port)
{
    struct udp_state *udp = stack->udp;
    for (unsigned i = 0; i < EPHEMERAL_COUNT; i++) {
        uint16_t p = udp->next_ephemeral;
        udp->next_ephemeral = (uint16_t)(p == 65535 ? EPHEMERAL_FIRST : p + 1);
        if (!port_in_use(stack, ip, p)) {
            *port = p;
            return 0;
        }
    }
    return -EADDRINUSE;
}

int udp_bind(struct udp_pcb *pcb, uint32_t ip, uint16_t port)
{
    struct stack *stack = pcb->stack;
    if (pcb->local_port)
        return -EINVAL; /* already bound */
    if (ip && !ip_is_local(stack, ip))
        return -EADDRNOTAVAIL;
    if (port == 0) {
        int err = pick_ephemeral(stack, ip, &port);
        if (err < 0)
            return err;
    } else if (port_in_use(stack, ip, port)) {
        return -EADDRINUSE;
    }
    pcb->local_ip = ip;
    pcb->local_port = port;
    return 0;
}

int udp_connect(struct udp_pcb *pcb, uint32_t ip, uint16_t port)
{
    if (!ip || !port)
        return -EINVAL;
    if (!pcb->local_port) {
        int err = udp_bind(pcb, 0, 0);
        if (err < 0)
            return err;
    }
    pcb->remote_ip = ip;
    pcb->remote_port = port;
    return 0;
}

/* One datagram to ip:port with the IP fields `fields` (TTL, TOS, options) asks for. */
static ssize_t send_datagram(struct udp_pcb *pcb, const void *buf, size_t len, uint32_t ip,
                             uint16_t port, const struct ip_send *fields)
{
    struct stack *stack = pcb->stack;
    char a[16], b[16];
    if (!ip && !port) {
        if (!pcb->remote_ip)
            return -EDESTADDRREQ;
        ip = pcb->remote_ip;
        port = pcb->remote_port;
    }
    if (!port)
        return -EINVAL;
    if (len > UDP_MAX_PAYLOAD)
        return -EMSGSIZE;
    if (!pcb->local_port) {
        int err = udp_bind(pcb, 0, 0);
        if (err < 0)
            return err;
    }
    struct pkb *pkb = pkb_alloc(UDP_HDR_LEN + len);
    if (!pkb) {
        stack->stats.udp.tx_errors++;
        return -ENOMEM;
    }
    uint8_t *p = pkb_put(pkb, UDP_HDR_LEN + len);
    uint32_t src =
        pcb->local_ip && !ip_is_broadcast(stack, pcb->local_ip) ? pcb->local_ip : stack->cfg.ip;
    struct udp_hdr h = {.sport = pcb->local_port,
                        .dport = port,
                        .len = (uint16_t)(UDP_HDR_LEN + len),
                        .checksum = 0};
    udp_build(&h, p);
    if (len)
        memcpy(p + UDP_HDR_LEN, buf, len);
    uint32_t sum = csum_pseudo_header(src, ip, IP_PROTO_UDP, h.len);
    uint16_t csum = csum_fold(csum_add(sum, p, h.len));
    put_be16(p + 6, csum ? csum : 0xffff); /* a computed 0 is sent as all ones (RFC 768) */

    trace(stack, TRACE_UDP, "%s:%u > %s:%u len=%zu", ip_str(src, a), h.sport, ip_str(ip, b), port,
          len);
    struct ip_send send = *fields; /* RFC 1122 4.1.3.2: the options go down to IP */
    send.src = src;
    send.dst = ip;
    send.proto = IP_PROTO_UDP;
    int err = ip_output(stack, pkb, &send);
    if (err < 0) {
        stack->stats.udp.tx_errors++;
        return err;
    }
    stack->stats.udp.tx_datagrams++;
    return (ssize_t)len;
}

/* The socket's own IP fields, for every datagram it sends. */
static struct ip_send socket_ip_fields(const struct udp_pcb *pcb)
{
    struct ip_send f = {
        .ttl = pcb->ttl, .tos = pcb->tos, .options = pcb->options, .options_len = pcb->options_len};
    return f;
}

ssize_t udp_sendto(struct udp_pcb *pcb, const void *buf, size_t len, uint32_t ip, uint16_t port)
{
    struct ip_send fields = socket_ip_fields(pcb);
    return send_datagram(pcb, buf, len, ip, port, &fields);
}

/* RFC 1122 4.1.4: the application may set TTL, TOS and IP options per datagram. */
ssize_t udp_sendmsg(struct udp_pcb *pcb, const void *buf, size_t len, const struct sock_msg *msg)
{
    struct ip_send fields = socket_ip_fields(pcb);
    uint8_t opts[IP_OPTS_MAX];
    if (msg->set & SOCK_MSG_TTL)
        fields.ttl = msg->ttl;
    if (msg->set & SOCK_MSG_TOS)
        fields.tos = msg->tos;
    if (msg->set & SOCK_MSG_OPTIONS) {
        int n = ip_options_prepare(msg->options, msg->options_len, opts);
        if (n < 0)
            return n;
        fields.options = opts;
        fields.options_len = (size_t)n;
    }
    return send_datagram(pcb, buf, len, msg->dst_ip, msg->dst_port, &fields);
}

/* The next thing the application reads: a pending error (once, as a socket error is
 * reported), else the oldest datagram (NULL and -EAGAIN when there is none). */
static struct pkb *next_datagram(struct udp_pcb *pcb, ssize_t *err)
{
    *err = pcb->pending_error ? pcb->pending_error : -EAGAIN;
    if (pcb->pending_error) {
        pcb->pending_error = 0;
        return NULL;
    }
    return pkb_queue_pop(&pcb->rxq);
}

/* Copy the datagram's data into buf, truncated to len: the rest is lost, as with recvfrom(2). */
static ssize_t copy_datagram(const struct pkb *pkb, void *buf, size_t len)
{
    size_t n = pkb->len < len ? pkb->len : len;
    if (n)
        memcpy(buf, pkb->data, n);
    return (ssize_t)n;
}

ssize_t udp_recvfrom(struct udp_pcb *pcb, void *buf, size_t len, uint32_t *ip, uint16_t *port)
{
    ssize_t err;
    struct pkb *pkb = next_datagram(pcb, &err);
    if (!pkb)
        return err;
    ssize_t n = copy_datagram(pkb, buf, len);
    if (ip)
        *ip = pkb->meta.ip_src;
    if (port)
        *port = pkb->meta.src_port;
    pkb_free(pkb);
    return n;
}

/* RFC 1122 4.1.3.2, 4.1.3.5, 3.2.1.6: the application learns the IP options, the address
 * the datagram was sent to (ours or a broadcast), its TTL and its TOS. */
ssize_t udp_recvmsg(struct udp_pcb *pcb, void *buf, size_t len, struct sock_msg *msg)
{
    ssize_t err;
    struct pkb *pkb = next_datagram(pcb, &err);
    if (!pkb)
        return err;
    ssize_t n = copy_datagram(pkb, buf, len);
    size_t opts_len = pkb->meta.ip_hdr_len - IP_HDR_LEN; /* ip_input checked them */
    memset(msg, 0, sizeof(*msg));
    msg->src_ip = pkb->meta.ip_src;
    msg->src_port = pkb->meta.src_port;
    msg->dst_ip = pkb->meta.ip_dst;
    msg->dst_port = pcb->local_port;
    msg->set = SOCK_MSG_TTL | SOCK_MSG_TOS | SOCK_MSG_OPTIONS;
    msg->ttl = pkb->meta.ip_ttl;
    msg->tos = pkb->meta.ip_tos;
    msg->options_len = (uint8_t)opts_len;
    if (opts_len)
        memcpy(msg->options, pkb->meta.ip_hdr + IP_HDR_LEN, opts_len);
    pkb_free(pkb);
    return n;
}

int udp_set_ip_fields(struct udp_pcb *pcb, int ttl, int tos)
{
    if (ttl > 255 || tos > 255)
        return -EINVAL;
    if (ttl >= 0)
        pcb->ttl = (uint8_t)ttl; /* 0: the stack's default */
    if (tos >= 0)
        pcb->tos = (uint8_t)tos;
    return 0;
}

int udp_set_ip_options(struct udp_pcb *pcb, const uint8_t *opts, size_t len)
{
    uint8_t checked[IP_OPTS_MAX];
    int n = ip_options_prepare(opts, len, checked);
    if (n < 0)
        return n;
    memcpy(pcb->options, checked, (size_t)n);
    pcb->options_len = (size_t)n;
    return 0;
}

int udp_set_queue_len(struct udp_pcb *pcb, unsigned len)
{
    if (len == 0)
        return -EINVAL;
    pcb->queue_len = len;
    return 0;
}

void udp_local(const struct udp_pcb *pcb, uint32_t *ip, uint16_t *port)
{
    *ip = pcb->local_ip ? pcb->local_ip : pcb->stack->cfg.ip;
    *port = pcb->local_port;
}

int udp_peer(const struct udp_pcb *pcb, uint32_t *ip, uint16_t *port)
{
    if (!pcb->remote_ip)
        return -ENOTCONN;
    *ip = pcb->remote_ip;
    *port = pcb->remote_port;
    return 0;
}

void udp_close(struct udp_pcb *pcb)
{
    struct stack *stack = pcb->stack;
    for (struct udp_pcb **pp = &stack->udp->pcbs; *pp; pp = &(*pp)->next) {
        if (*pp == pcb) {
            *pp = pcb->next;
            break;
        }
    }
    pkb_queue_clear(&pcb->rxq);
    free(pcb);
}
