/* eth.c - Ethernet II: the link layer (OSI layer 2).
 *
 *  0                   6                  12      14
 *  +-------------------+-------------------+-------+---------------- - -
 *  | destination MAC   | source MAC        | type  | payload (46..1500)
 *  +-------------------+-------------------+-------+---------------- - -
 *
 * Inbound we keep frames for our MAC, broadcast and multicast, and hand the payload to
 * whoever registered the ethertype (ARP, IPv4). Outbound we prepend the header and pad
 * to the 60-byte minimum (the TAP device adds no padding of its own).
 */
#include "eth.h"
#include "bytes.h"
#include "pkb.h"
#include "stack_impl.h"

#include <errno.h>
#include <string.h>

const uint8_t eth_broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

int eth_parse(const uint8_t *b, size_t len, struct eth_hdr *h)
{
    /* LAB eth: begin */
    if (len < ETH_HDR_LEN)
        return -1;
    memcpy(h->dst, b, 6);
    memcpy(h->src, b + 6, 6);
    h->type = get_be16(b + 12);
    return 0;
    /* LAB eth: end */
}

void eth_build(const struct eth_hdr *h, uint8_t *b)
{
    memcpy(b, h->dst, 6);
    memcpy(b + 6, h->src, 6);
    put_be16(b + 12, h->type);
}

static bool is_multicast(const uint8_t mac[6])
{
    return mac[0] & 1; /* the I/G bit; broadcast is a multicast address too */
}

static eth_handler_fn find_handler(struct stack *stack, uint16_t type)
{
    for (unsigned i = 0; i < stack->n_ethertypes; i++)
        if (stack->ethertypes[i].ethertype == type)
            return stack->ethertypes[i].input;
    return NULL;
}

static void drop(struct stack *stack, struct pkb *pkb, uint64_t *counter, const char *why)
{
    (*counter)++;
    record_drop(stack, "eth", why);
    trace(stack, TRACE_ETH, "drop %zu bytes: %s", pkb->len, why);
    pkb_free(pkb);
}

void eth_input(struct stack *stack, struct pkb *pkb)
{
    /* LAB eth: begin */
    struct eth_stats *st = &stack->stats.eth;
    struct eth_hdr h;
    char a[18], b[18];

    st->rx_frames++;
    st->rx_bytes += pkb->len;
    pcap_write(stack, pkb->data, pkb->len);
    record_frame(stack, RECORD_RX, pkb->data, pkb->len);

    if (eth_parse(pkb->data, pkb->len, &h) < 0)
        return drop(stack, pkb, &st->rx_truncated, "shorter than an Ethernet header");
    /* 4 extra bytes allow for an 802.1Q tag we do not otherwise support; a link that
     * joins segments on receive (rx_large) hands up larger frames on purpose */
    if (pkb->len > ETH_HDR_LEN + (size_t)stack->cfg.mtu + 4 && !stack->link->rx_large)
        return drop(stack, pkb, &st->rx_oversize, "longer than the MTU");
    if (memcmp(h.dst, stack->cfg.mac, 6) != 0 && !is_multicast(h.dst))
        return drop(stack, pkb, &st->rx_not_for_us, "not our MAC address");

    trace(stack, TRACE_ETH, "rx %s > %s type=0x%04x len=%zu", mac_str(h.src, a), mac_str(h.dst, b),
          h.type, pkb->len);

    if (h.type == ETH_TYPE_IPV6)
        return drop(stack, pkb, &st->rx_ipv6, "IPv6 is not spoken here");
    eth_handler_fn input = find_handler(stack, h.type);
    if (!input)
        return drop(stack, pkb, &st->rx_unknown_ethertype, "unknown ethertype");

    memset(&pkb->meta, 0, sizeof(pkb->meta));
    pkb->meta.link_broadcast = memcmp(h.dst, eth_broadcast, 6) == 0;
    memcpy(pkb->meta.link_src, h.src, 6);
    pkb_pull(pkb, ETH_HDR_LEN);
    input(stack, pkb); /* demultiplex by ethertype */
    /* LAB eth: end */
}

/* Grow a short frame to the 60-byte Ethernet minimum with zero bytes. */
static int pad_to_minimum(struct pkb *pkb)
{
    if (pkb->len >= ETH_MIN_FRAME)
        return 0;
    size_t pad = ETH_MIN_FRAME - pkb->len;
    uint8_t *p = pkb_put(pkb, pad);
    if (!p)
        return -ENOBUFS;
    memset(p, 0, pad);
    return 0;
}

int eth_output(struct stack *stack, struct pkb *pkb, const uint8_t dst[6], uint16_t type)
{
    struct eth_stats *st = &stack->stats.eth;
    struct eth_hdr h;
    char a[18], b[18];
    int err;

    memcpy(h.dst, dst, 6);
    memcpy(h.src, stack->cfg.mac, 6);
    h.type = type;
    uint8_t *p = pkb_push(pkb, ETH_HDR_LEN);
    if (!p || pad_to_minimum(pkb) < 0) {
        st->tx_errors++;
        pkb_free(pkb);
        return -ENOBUFS;
    }
    eth_build(&h, p);
    trace(stack, TRACE_ETH, "tx %s > %s type=0x%04x len=%zu", mac_str(h.src, a), mac_str(h.dst, b),
          h.type, pkb->len);
    pcap_write(stack, pkb->data, pkb->len);
    record_frame(stack, RECORD_TX, pkb->data, pkb->len);
    if (pkb->tso_mss) /* only TCP builds these, and only when the link offers TSO */
        err = stack->link->send_tso(stack->link_driver, pkb->data, pkb->len, pkb->tso_mss,
                                    stack->now_us);
    else
        err = stack->link->send(stack->link_driver, pkb->data, pkb->len, stack->now_us);
    if (err < 0) {
        st->tx_errors++;
    } else {
        st->tx_frames++;
        st->tx_bytes += pkb->len;
    }
    pkb_free(pkb);
    return err;
}
