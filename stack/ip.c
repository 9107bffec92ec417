/* ip.c - IPv4 (RFC 791, RFC 1122 section 3): the network layer (OSI layer 3).
 *
 *  0               1               2               3
 *  0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7
 * +-------+-------+---------------+-------------------------------+
 * |Version|  IHL  |Type of Service|          Total Length         |
 * +-------+-------+---------------+-----+-------------------------+
 * |         Identification        |Flags|      Fragment Offset    |
 * +---------------+---------------+-----+-------------------------+
 * |  Time to Live |    Protocol   |         Header Checksum       |
 * +---------------+---------------+-------------------------------+
 * |                       Source Address                          |
 * +---------------------------------------------------------------+
 * |                    Destination Address                        |
 * +---------------------------------------------------------------+
 * |                    Options (IHL > 5)                          |
 * +---------------------------------------------------------------+
 *
 * Inbound: validate, keep what is addressed to us, reassemble fragments, and hand the
 * payload to the protocol registered for its number. Outbound: route (on-link or via a
 * gateway), add the header, fragment to the MTU, and pass to ARP for the next hop; when
 * the next hop stops answering, another default gateway takes over (RFC 1122 3.3.1.4).
 */
#include "ip.h"
#include "arp.h"
#include "bytes.h"
#include "checksum.h"
#include "eth.h"
#include "icmp.h"
#include "pkb.h"
#include "stack_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define IP_ROUTE_CACHE 16 /* destinations a redirect moved to another gateway */

struct ip_route_entry {
    uint32_t dst, gateway; /* dst 0: unused */
};

struct ip_state {
    uint16_t next_id; /* identification of the next datagram we send */
    /* RFC 1122 3.3.1.2 route cache: only redirected destinations; everything else goes
     * to the default gateway. Full, the oldest entry makes room (next_slot wraps). */
    struct ip_route_entry routes[IP_ROUTE_CACHE];
    unsigned next_slot;
    /* RFC 1122 3.3.1.5: the default gateway in use, an index into cfg.gateways. When it
     * dies the next one on the list takes over (round robin). */
    unsigned gw_current;
};

enum ip_parse_result ip_parse(const uint8_t *b, size_t len, struct ip_hdr *h)
{
    /* LAB ip: begin */
    if (len < IP_HDR_LEN)
        return IP_TRUNCATED;
    h->version = b[0] >> 4;
    h->ihl = b[0] & 0x0f;
    h->tos = b[1];
    h->total_len = get_be16(b + 2);
    h->id = get_be16(b + 4);
    uint16_t flags_off = get_be16(b + 6);
    h->df = flags_off & IP_FLAG_DF;
    h->mf = flags_off & IP_FLAG_MF;
    h->frag_off = (uint16_t)((flags_off & IP_OFFSET_MASK) * 8);
    h->ttl = b[8];
    h->proto = b[9];
    h->checksum = get_be16(b + 10);
    h->src = get_be32(b + 12);
    h->dst = get_be32(b + 16);

    if (h->version != 4)
        return IP_BAD_VERSION;
    if (h->ihl < 5 || (size_t)h->ihl * 4 > len)
        return IP_BAD_IHL;
    if (h->total_len < h->ihl * 4 || h->total_len > len)
        return IP_BAD_LENGTH;
    if (inet_checksum(b, (size_t)h->ihl * 4) != 0)
        return IP_BAD_CHECKSUM;
    return IP_OK;
    /* LAB ip: end */
}

void ip_build(const struct ip_hdr *h, uint8_t *b)
{
    size_t hlen = (size_t)h->ihl * 4;
    memset(b, 0, hlen);
    b[0] = (uint8_t)(4 << 4 | h->ihl);
    b[1] = h->tos;
    put_be16(b + 2, h->total_len);
    put_be16(b + 4, h->id);
    put_be16(b + 6,
             (uint16_t)((h->df ? IP_FLAG_DF : 0) | (h->mf ? IP_FLAG_MF : 0) | (h->frag_off / 8)));
    b[8] = h->ttl;
    b[9] = h->proto;
    put_be32(b + 12, h->src);
    put_be32(b + 16, h->dst);
    put_be16(b + 10, inet_checksum(b, hlen));
}

bool ip_is_broadcast(const struct stack *stack, uint32_t addr)
{
    uint32_t subnet_bcast = stack->cfg.ip | ~stack->netmask;
    return addr == IP_BROADCAST || (stack->netmask != IP_BROADCAST && addr == subnet_bcast);
}

bool ip_is_local(const struct stack *stack, uint32_t addr)
{
    return addr == stack->cfg.ip || ip_is_broadcast(stack, addr);
}

static bool is_multicast(uint32_t addr)
{
    return (addr >> 28) == 0xe; /* 224.0.0.0/4 */
}

/* RFC 1122 3.2.1.3: a source address no honest host on the wire can have. A host discards
 * such datagrams silently; TCP relies on it for MUST-63 (no SYN from a broadcast or
 * multicast source), and it stops a forged "from ourselves" SYN (the LAND attack).
 * `looped` is true for our own datagrams coming back through the loopback queue. */
bool ip_source_is_martian(const struct stack *stack, uint32_t src, bool looped)
{
    if (ip_is_broadcast(stack, src) || is_multicast(src))
        return true;
    if ((src >> 24) == 0 || (src >> 24) == 127) /* {0, any} and {127, any} */
        return true;
    return src == stack->cfg.ip && !looped;
}

static bool on_link(const struct stack *stack, uint32_t addr)
{
    return (addr & stack->netmask) == (stack->cfg.ip & stack->netmask);
}

static struct ip_route_entry *cached_route(const struct stack *stack, uint32_t dst)
{
    for (unsigned i = 0; stack->ip && i < IP_ROUTE_CACHE; i++)
        if (stack->ip->routes[i].dst && stack->ip->routes[i].dst == dst)
            return &stack->ip->routes[i];
    return NULL;
}

static unsigned gateway_count(const struct stack *stack)
{
    unsigned n = 0;
    while (n < STACK_MAX_GATEWAYS && stack->cfg.gateways[n])
        n++;
    return n;
}

uint32_t ip_default_gateway(const struct stack *stack)
{
    unsigned current = stack->ip ? stack->ip->gw_current : 0;
    return gateway_count(stack) ? stack->cfg.gateways[current] : 0;
}

int ip_route(const struct stack *stack, uint32_t dst, uint32_t *next_hop)
{
    if (on_link(stack, dst) || dst == IP_BROADCAST) {
        *next_hop = dst; /* on-link */
        return 0;
    }
    const struct ip_route_entry *r = cached_route(stack, dst);
    if (r) {
        *next_hop = r->gateway; /* a gateway redirected us */
        return 0;
    }
    *next_hop = ip_default_gateway(stack);
    return *next_hop ? 0 : -ENETUNREACH;
}

int ip_redirect(struct stack *stack, uint32_t dst, uint32_t gateway, uint32_t from)
{
    uint32_t current;
    /* RFC 1122 3.2.2.2: believe only the gateway we use for dst, about an off-link dst,
     * naming another gateway on our own network */
    if (on_link(stack, dst) || ip_route(stack, dst, &current) < 0 || from != current)
        return -EINVAL;
    if (!on_link(stack, gateway) || gateway == stack->cfg.ip || ip_is_broadcast(stack, gateway))
        return -EINVAL;
    struct ip_route_entry *r = cached_route(stack, dst);
    if (!r) {
        r = &stack->ip->routes[stack->ip->next_slot];
        stack->ip->next_slot = (stack->ip->next_slot + 1) % IP_ROUTE_CACHE;
    }
    r->dst = dst;
    r->gateway = gateway;
    return 0;
}

/* RFC 1122 3.3.1.4: `hop` is dead (it did not answer ARP). Route cache entries through
 * it go, so their destinations fall back to the default gateway (3.3.1.5); if it is the
 * default gateway in use, the next one on the list takes over for every route. */
static void next_hop_dead(struct stack *stack, uint32_t hop)
{
    struct ip_state *ip = stack->ip;
    char a[16], b[16];
    unsigned forgotten = 0;
    for (unsigned i = 0; i < IP_ROUTE_CACHE; i++) {
        if (ip->routes[i].dst && ip->routes[i].gateway == hop) {
            ip->routes[i].dst = 0;
            forgotten++;
        }
    }
    if (forgotten) {
        stack->stats.ip.gateway_dead++;
        trace(stack, TRACE_IP, "gateway %s is dead: %u redirected routes through it forgotten",
              ip_str(hop, a), forgotten);
    }
    unsigned n = gateway_count(stack);
    if (!n || stack->cfg.gateways[ip->gw_current] != hop)
        return; /* not the default gateway in use (an on-link host, or one already replaced) */
    if (!forgotten)
        stack->stats.ip.gateway_dead++;
    if (n == 1) {
        trace(stack, TRACE_IP, "default gateway %s is dead, and there is no other", ip_str(hop, a));
        return;
    }
    ip->gw_current = (ip->gw_current + 1) % n;
    stack->stats.ip.gateway_switches++;
    trace(stack, TRACE_IP, "default gateway %s is dead: switching to %s", ip_str(hop, a),
          ip_str(ip_default_gateway(stack), b));
}

/* ARP gave up on `hop`. A datagram whose route now leads elsewhere (its gateway died and
 * another took over) is sent that way, once; every other one is reported to its sender
 * as EHOSTUNREACH, a local error (ICMP type 0) that no one on the network could forge. */
static void arp_failed(struct stack *stack, uint32_t hop, struct pkb_queue *waiting)
{
    next_hop_dead(stack, hop);
    struct pkb_queue failed = {0};
    struct pkb *pkb;
    while ((pkb = pkb_queue_pop(waiting))) {
        uint32_t next_hop;
        uint32_t dst = get_be32(pkb->data + 16); /* the datagram as ip_output built it */
        if (!pkb->meta.rerouted && ip_route(stack, dst, &next_hop) == 0 && next_hop != hop) {
            char a[16], b[16], c[16];
            pkb->meta.rerouted = true;
            stack->stats.ip.rerouted++;
            trace(stack, TRACE_IP, "datagram to %s for dead %s: resent through %s instead",
                  ip_str(dst, a), ip_str(hop, b), ip_str(next_hop, c));
            arp_resolve(stack, next_hop, pkb);
            continue;
        }
        ip_deliver_error(stack, EHOSTUNREACH, 0, 0, stack->cfg.ip, pkb->data, pkb->len);
        pkb_queue_push(&failed, pkb);
    }
    *waiting = failed; /* ARP counts and drops them */
}

void ip_negative_advice(struct stack *stack, uint32_t dst)
{
    struct ip_route_entry *r = cached_route(stack, dst);
    uint32_t hop;
    char a[16], b[16];
    stack->stats.ip.negative_advice++;
    if (r) {
        /* 3.3.1.5: "If the failed gateway is not the current default, the IP layer can
         * immediately switch to a default gateway." */
        trace(stack, TRACE_IP, "negative advice for %s: forget the redirect to %s", ip_str(dst, a),
              ip_str(r->gateway, b));
        r->dst = 0;
        return;
    }
    if (ip_route(stack, dst, &hop) < 0)
        return;
    /* The next hop (the default gateway, or dst itself on-link) is suspect: ARP asks
     * for it again, and if it does not answer, arp_failed moves on. */
    trace(stack, TRACE_IP, "negative advice for %s: check next hop %s", ip_str(dst, a),
          ip_str(hop, b));
    arp_reconfirm(stack, hop);
}

int ip_init(struct stack *stack)
{
    struct ip_state *ip = calloc(1, sizeof(*ip));
    if (!ip)
        return -ENOMEM;
    ip->next_id = (uint16_t)stack_random(stack);
    stack->ip = ip;
    stack_register_ethertype(stack, ETH_TYPE_IPV4, ip_input);
    arp_on_unreachable(stack, arp_failed);
    return ip_frag_init(stack);
}

void ip_fini(struct stack *stack)
{
    ip_frag_fini(stack);
    free(stack->ip);
    stack->ip = NULL;
}

static void drop(struct stack *stack, struct pkb *pkb, uint64_t *counter, const char *why)
{
    (*counter)++;
    record_drop(stack, "ip", why);
    trace(stack, TRACE_IP, "drop: %s", why);
    pkb_free(pkb);
}

static void trace_datagram(struct stack *stack, const char *dir, const struct ip_hdr *h)
{
    char a[16], b[16];
    trace(stack, TRACE_IP, "%s %s > %s proto=%u len=%u id=%u ttl=%u%s%s off=%u", dir,
          ip_str(h->src, a), ip_str(h->dst, b), h->proto, h->total_len, h->id, h->ttl,
          h->df ? " DF" : "", h->mf ? " MF" : "", h->frag_off);
}

void ip_input(struct stack *stack, struct pkb *pkb)
{
    /* LAB ip: begin */
    struct ip_stats *st = &stack->stats.ip;
    struct ip_hdr h;

    st->rx_packets++;
    switch (ip_parse(pkb->data, pkb->len, &h)) {
    case IP_OK:
        break;
    case IP_TRUNCATED:
        return drop(stack, pkb, &st->rx_truncated, "shorter than an IPv4 header");
    case IP_BAD_VERSION:
        return drop(stack, pkb, &st->rx_bad_version, "version is not 4");
    case IP_BAD_IHL:
        return drop(stack, pkb, &st->rx_bad_ihl, "IHL below 5 or past the packet");
    case IP_BAD_LENGTH:
        return drop(stack, pkb, &st->rx_bad_length, "total length does not fit the packet");
    case IP_BAD_CHECKSUM:
        return drop(stack, pkb, &st->rx_bad_checksum, "bad header checksum");
    }
    /* Ethernet pads short frames: the total length says where the datagram ends. */
    pkb_trim(pkb, h.total_len);
    trace_datagram(stack, "rx", &h);

    /* RFC 1122 3.2.1.7: a host MUST NOT discard a datagram just because its TTL is below
     * 2; TTL only matters to routers. Counted, since a TTL 0 on the wire is unusual. */
    if (h.ttl == 0)
        st->rx_ttl_zero++;
    /* RFC 1122 3.2.1.3: broadcast, multicast, 0/8, 127/8 or our own address as the source. */
    if (ip_source_is_martian(stack, h.src, pkb->meta.looped))
        return drop(stack, pkb, &st->rx_bad_source, "martian source address");
    if (!ip_is_local(stack, h.dst))
        return drop(stack, pkb, &st->rx_not_for_us, "not addressed to us");
    if (h.ihl > 5)
        st->rx_options++; /* RFC 1122 3.2.1.8 lets a host ignore options it does not know */

    /* Fragments wait in ip_frag.c until the whole datagram is there. */
    if (h.mf || h.frag_off) {
        st->rx_fragments++;
        pkb = ip_reassemble(stack, pkb, &h);
        if (!pkb)
            return;
        if (ip_parse(pkb->data, pkb->len, &h) != IP_OK) /* the reassembled header */
            return drop(stack, pkb, &st->rx_bad_length, "reassembled datagram is malformed");
    }

    pkb->meta.ip_src = h.src;
    pkb->meta.ip_dst = h.dst;
    pkb->meta.ip_proto = h.proto;
    pkb->meta.ip_ttl = h.ttl;
    pkb->meta.ip_broadcast = ip_is_broadcast(stack, h.dst);
    pkb->meta.ip_hdr = pkb->data;
    pkb->meta.ip_hdr_len = (size_t)h.ihl * 4;
    pkb_pull(pkb, (size_t)h.ihl * 4);

    ip_input_fn input = stack->ip_protocols[h.proto].input;
    if (!input) {
        /* RFC 1122 3.2.2.1: protocol unreachable for a protocol nobody speaks. */
        icmp_send_dest_unreach(stack, pkb, ICMP_UNREACH_PROTOCOL);
        return drop(stack, pkb, &st->rx_unknown_protocol, "no such protocol here");
    }
    st->rx_delivered++;
    input(stack, pkb); /* demultiplex by protocol number */
    /* LAB ip: end */
}

/* Hand a finished datagram to the link: broadcast directly, unicast through ARP. */
static int link_send(struct stack *stack, struct pkb *pkb, uint32_t dst, uint32_t next_hop)
{
    if (ip_is_broadcast(stack, dst))
        return eth_output(stack, pkb, eth_broadcast, ETH_TYPE_IPV4);
    return arp_resolve(stack, next_hop, pkb);
}

/* RFC 791 "Fragmentation": cut the payload into pieces of a multiple of 8 bytes that
 * fit the MTU, each with a copy of the header, its offset, and MF on all but the last. */
static int fragment_and_send(struct stack *stack, struct pkb *pkb, struct ip_hdr *h,
                             uint32_t next_hop)
{
    size_t per_frag = (size_t)(stack->cfg.mtu - IP_HDR_LEN) & ~(size_t)7;
    size_t total = pkb->len;
    int err = 0;

    for (size_t off = 0; off < total; off += per_frag) {
        size_t n = total - off < per_frag ? total - off : per_frag;
        struct pkb *frag = pkb_alloc(n);
        if (!frag) {
            stack->stats.ip.tx_errors++;
            err = -ENOMEM;
            break;
        }
        memcpy(pkb_put(frag, n), pkb->data + off, n);
        h->frag_off = (uint16_t)off;
        h->mf = off + n < total;
        h->total_len = (uint16_t)(IP_HDR_LEN + n);
        ip_build(h, pkb_push(frag, IP_HDR_LEN));
        stack->stats.ip.tx_fragments++;
        trace_datagram(stack, "tx", h);
        int e = link_send(stack, frag, h->dst, next_hop);
        if (e < 0 && !err)
            err = e;
    }
    pkb_free(pkb);
    return err;
}

int ip_output(struct stack *stack, struct pkb *pkb, const struct ip_send *send)
{
    struct ip_stats *st = &stack->stats.ip;
    uint32_t next_hop = 0;
    char a[16];

    bool to_self = send->dst == stack->cfg.ip;
    if (!to_self && ip_route(stack, send->dst, &next_hop) < 0) {
        st->tx_no_route++;
        trace(stack, TRACE_IP, "no route to %s", ip_str(send->dst, a));
        pkb_free(pkb);
        return -ENETUNREACH;
    }
    if (pkb->len + IP_HDR_LEN > IP_MAX_LEN) {
        st->tx_too_big++;
        pkb_free(pkb);
        return -EMSGSIZE;
    }
    struct ip_hdr h = {
        .version = 4,
        .ihl = 5,
        .tos = send->tos,
        .id = stack->ip->next_id++,
        .df = send->df,
        .ttl = send->ttl ? send->ttl : stack->cfg.ttl,
        .proto = send->proto,
        .src = send->src ? send->src : stack->cfg.ip,
        .dst = send->dst,
        .total_len = (uint16_t)(pkb->len + IP_HDR_LEN),
    };
    st->tx_packets++;

    if (to_self) { /* delivered by the next stack_step(), as through a loopback device */
        ip_build(&h, pkb_push(pkb, IP_HDR_LEN));
        trace_datagram(stack, "tx (loopback)", &h);
        pkb_queue_push(&stack->loopback, pkb);
        return 0;
    }
    if (pkb->tso_mss) {
        /* a TSO segment: the link cuts it into datagrams that fit the MTU, numbering
         * them from h.id on, as a network card does */
        stack->ip->next_id = (uint16_t)(stack->ip->next_id + pkb->len / pkb->tso_mss);
    }
    if (h.total_len <= stack->cfg.mtu || pkb->tso_mss) {
        ip_build(&h, pkb_push(pkb, IP_HDR_LEN));
        trace_datagram(stack, "tx", &h);
        return link_send(stack, pkb, h.dst, next_hop);
    }
    if (send->df) {
        st->tx_too_big++;
        pkb_free(pkb);
        return -EMSGSIZE;
    }
    return fragment_and_send(stack, pkb, &h, next_hop);
}

void ip_deliver_error(struct stack *stack, int err, uint8_t type, uint8_t code, uint32_t reporter,
                      const uint8_t *orig, size_t orig_len)
{
    /* Only the first fragment carries the transport header the protocol needs. */
    if (orig_len < IP_HDR_LEN || (orig[0] >> 4) != 4)
        return;
    size_t hlen = (size_t)(orig[0] & 0x0f) * 4;
    if (hlen < IP_HDR_LEN || orig_len < hlen + 8 || (get_be16(orig + 6) & IP_OFFSET_MASK))
        return;
    struct ip_error e = {
        .err = err,
        .icmp_type = type,
        .icmp_code = code,
        .reporter = reporter,
        .src = get_be32(orig + 12),
        .dst = get_be32(orig + 16),
        .l4 = orig + hlen,
        .l4_len = orig_len - hlen,
    };
    ip_error_fn fn = stack->ip_protocols[orig[9]].error;
    if (fn)
        fn(stack, &e);
}
