/* test_route.c - routing through several default gateways and dead gateway detection
 * (RFC 1122 3.3.1.2-3.3.1.5), with advice from TCP (RFC 9293 3.8.3).
 *
 * The test plays every other host on the link: it answers ARP for the gateways it wants
 * alive and keeps silent for the dead ones, and looks at where the stack's frames go.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../stack/arp.h"
#include "../../stack/eth.h"
#include "../../stack/ip.h"
#include "../../stack/sock.h"
#include "unitnet.h"

#define G1  0x0a0000feu /* 10.0.0.254: the first default gateway */
#define G2  0x0a0000fdu /* 10.0.0.253: the second */
#define G3  0x0a000005u /* 10.0.0.5: a gateway only a redirect names */
#define FAR 0x08080808u /* 8.8.8.8: off our network */

static const uint8_t g1_mac[6] = {0x02, 0, 0, 0, 0, 0xfe};
static const uint8_t g2_mac[6] = {0x02, 0, 0, 0, 0, 0xfd};
static const uint8_t g3_mac[6] = {0x02, 0, 0, 0, 0, 0x05};
static const uint8_t our_mac[6] = {0x02, 0, 0, 0, 0, 0x02};

/* What the stack put on the wire since the last look. */
struct sent {
    unsigned n_arp, n_ip;
    uint32_t arp_for[64];  /* target of each ARP request */
    uint8_t ip_to_mac[64]; /* last byte of the MAC each IPv4 frame went to */
    uint32_t ip_dst[64];   /* and its destination address */
};

static void look(struct unitnet *u, struct sent *s)
{
    memset(s, 0, sizeof(*s));
    size_t n;
    while ((n = unet_sent(u))) {
        uint16_t type = get_be16(u->frame + 12);
        if (type == ETH_TYPE_ARP && get_be16(u->frame + 14 + 6) == ARP_OP_REQUEST && s->n_arp < 64)
            s->arp_for[s->n_arp++] = get_be32(u->frame + 14 + 24);
        if (type == ETH_TYPE_IPV4 && s->n_ip < 64) {
            s->ip_to_mac[s->n_ip] = u->frame[5];
            s->ip_dst[s->n_ip++] = get_be32(u->frame + 14 + 16);
        }
    }
}

static unsigned arp_asks(const struct sent *s, uint32_t ip)
{
    unsigned n = 0;
    for (unsigned i = 0; i < s->n_arp; i++)
        n += s->arp_for[i] == ip;
    return n;
}

/* IPv4 frames to dst that went to the MAC ending in `mac_last`. */
static unsigned sent_via(const struct sent *s, uint8_t mac_last, uint32_t dst)
{
    unsigned n = 0;
    for (unsigned i = 0; i < s->n_ip; i++)
        n += s->ip_to_mac[i] == mac_last && s->ip_dst[i] == dst;
    return n;
}

/* The host `ip` answers the stack's ARP request. */
static void arp_reply(struct unitnet *u, uint32_t ip, const uint8_t mac[6])
{
    uint8_t f[ETH_MIN_FRAME] = {0};
    struct eth_hdr e = {.type = ETH_TYPE_ARP};
    memcpy(e.dst, our_mac, 6);
    memcpy(e.src, mac, 6);
    eth_build(&e, f);
    struct arp_pkt p = {.htype = 1,
                        .ptype = ETH_TYPE_IPV4,
                        .hlen = 6,
                        .plen = 4,
                        .op = ARP_OP_REPLY,
                        .spa = ip,
                        .tpa = UNET_STACK_IP};
    memcpy(p.sha, mac, 6);
    memcpy(p.tha, our_mac, 6);
    arp_build(&p, f + ETH_HDR_LEN);
    unet_inject(u, f, sizeof(f));
}

static unsigned unreachable_events;
static void on_ping(void *ctx, const struct ping_event *ev)
{
    (void)ctx;
    unreachable_events += ev->kind == PING_UNREACHABLE;
}

/* A stack at 10.0.0.2/24 with default gateways G1 then G2. */
static struct unitnet *two_gateways(void)
{
    struct stack_config cfg;
    unet_config(&cfg);
    cfg.gateways[0] = G1;
    cfg.gateways[1] = G2;
    struct unitnet *u = unet_create(&cfg);
    ck_assert_ptr_nonnull(u);
    unreachable_events = 0;
    stack_on_ping(u->stack, on_ping, NULL);
    return u;
}

static void ping_far(struct unitnet *u, uint16_t seq)
{
    ck_assert_int_eq(stack_ping(u->stack, FAR, 7, seq, "x", 1), 0);
}

/* ARP asks 3 times, 1 s apart, then gives up (the stack's defaults). */
static void let_arp_give_up(struct unitnet *u)
{
    for (int i = 0; i < 3; i++)
        unet_advance(u, 1000000);
}

/* RFC 1122 3.3.1.6: the list of default gateways is configured by hand (--gw, once per
 * gateway), in order of preference; the first is the one used. */
/* conformance: IP-3.3.1.6-1 IP-3.3.1.2-4 */
START_TEST(gateways_configured_in_order)
{
    struct stack_config cfg;
    unet_config(&cfg);
    ck_assert_int_eq(stack_config_add_gateway(&cfg, 0), -EINVAL);
    ck_assert_int_eq(stack_config_add_gateway(&cfg, G2), 0);
    ck_assert_int_eq(stack_config_add_gateway(&cfg, G1), 0);
    ck_assert_int_eq(stack_config_add_gateway(&cfg, G3), 0);
    ck_assert_int_eq(stack_config_add_gateway(&cfg, 0x0a000006), 0);
    ck_assert_int_eq(stack_config_add_gateway(&cfg, 0x0a000007), -ENOSPC);
    ck_assert_uint_eq(cfg.gateway, G2); /* the first, under its old name too */
    ck_assert_uint_eq(cfg.gateways[1], G1);
    struct unitnet *u = unet_create(&cfg);
    uint32_t hop;
    ck_assert_int_eq(ip_route(u->stack, FAR, &hop), 0);
    ck_assert_uint_eq(hop, G2);
    unet_destroy(u);
}
END_TEST

/* RFC 1122 3.3.1.2 (several default gateways, the first preferred) and 3.3.1.4/3.3.1.5:
 * the first one does not answer ARP, so it is dead; the next takes over for new routes
 * and for the datagram that waited, which is not lost. */
/* conformance: IP-3.3.1.2-4 IP-3.3.1.4-1 IP-3.3.1.5-1 */
START_TEST(dead_default_gateway_switches_to_next)
{
    struct unitnet *u = two_gateways();
    struct sent s;
    uint32_t hop;
    ck_assert_uint_eq(ip_default_gateway(u->stack), G1);
    ck_assert_int_eq(ip_route(u->stack, FAR, &hop), 0);
    ck_assert_uint_eq(hop, G1);

    ping_far(u, 1);
    look(u, &s);
    ck_assert_uint_eq(arp_asks(&s, G1), 1);
    let_arp_give_up(u);
    look(u, &s);
    ck_assert_uint_eq(arp_asks(&s, G1), 2); /* requests 2 and 3 */
    ck_assert_uint_eq(arp_asks(&s, G2), 1); /* the waiting echo request is rerouted */
    ck_assert_uint_eq(ip_default_gateway(u->stack), G2);
    const struct stack_stats *st = stack_stats(u->stack);
    ck_assert_uint_eq(st->ip.gateway_dead, 1);
    ck_assert_uint_eq(st->ip.gateway_switches, 1);
    ck_assert_uint_eq(st->ip.rerouted, 1);
    ck_assert_uint_eq(unreachable_events, 0);

    arp_reply(u, G2, g2_mac);
    look(u, &s);
    ck_assert_uint_eq(sent_via(&s, 0xfd, FAR), 1); /* the echo request, through G2 */
    ping_far(u, 2);
    look(u, &s);
    ck_assert_uint_eq(s.n_arp, 0);
    ck_assert_uint_eq(sent_via(&s, 0xfd, FAR), 1);
    unet_destroy(u);
}
END_TEST

/* RFC 1122 3.3.1.4: a gateway is not used for ever without a sign of life. Its ARP entry
 * expires (60 s) and must be answered again; when it is not, the next gateway takes over. */
/* conformance: IP-3.3.1.4-2 IP-3.3.1.4-1 */
START_TEST(gateway_not_trusted_forever)
{
    struct unitnet *u = two_gateways();
    struct sent s;
    ping_far(u, 1);
    arp_reply(u, G1, g1_mac);
    look(u, &s);
    ck_assert_uint_eq(sent_via(&s, 0xfe, FAR), 1);
    unet_advance(u, 61000000); /* G1 said nothing since */
    ping_far(u, 2);
    look(u, &s);
    ck_assert_uint_eq(arp_asks(&s, G1), 1); /* asked again, not sent on trust */
    ck_assert_uint_eq(sent_via(&s, 0xfe, FAR), 0);
    let_arp_give_up(u);
    look(u, &s);
    ck_assert_uint_eq(arp_asks(&s, G2), 1);
    ck_assert_uint_eq(ip_default_gateway(u->stack), G2);
    unet_destroy(u);
}
END_TEST

/* Every gateway dead: each is tried once, then the datagram is reported unreachable and
 * nothing more is sent for it (no endless round robin). */
/* conformance: IP-3.3.1.5-1 */
START_TEST(all_gateways_dead_reports_unreachable)
{
    struct unitnet *u = two_gateways();
    struct sent s;
    ping_far(u, 1);
    let_arp_give_up(u); /* G1 */
    let_arp_give_up(u); /* G2 */
    look(u, &s);
    ck_assert_uint_eq(arp_asks(&s, G1), 3);
    ck_assert_uint_eq(arp_asks(&s, G2), 3);
    ck_assert_uint_eq(unreachable_events, 1);
    ck_assert_uint_eq(ip_default_gateway(u->stack), G1); /* round robin: new traffic tries G1 */
    unet_advance(u, 10000000);
    look(u, &s);
    ck_assert_uint_eq(s.n_arp + s.n_ip, 0);
    unet_destroy(u);
}
END_TEST

/* RFC 1122 3.3.1.4: negative advice from above makes IP check the next hop again (ARP
 * asks for it before the next datagram goes), instead of pinging it all the time. */
/* conformance: IP-3.3.1.4-6 */
START_TEST(negative_advice_rechecks_next_hop)
{
    struct unitnet *u = two_gateways();
    struct sent s;
    ping_far(u, 1);
    arp_reply(u, G1, g1_mac);
    look(u, &s);
    ck_assert_uint_eq(sent_via(&s, 0xfe, FAR), 1);
    ip_negative_advice(u->stack, FAR);
    ck_assert_uint_eq(stack_stats(u->stack)->ip.negative_advice, 1);
    ck_assert_uint_eq(stack_stats(u->stack)->arp.reconfirms, 1);
    ping_far(u, 2);
    look(u, &s);
    ck_assert_uint_eq(arp_asks(&s, G1), 1);
    ck_assert_uint_eq(s.n_ip, 0);
    arp_reply(u, G1, g1_mac); /* alive after all: it stays */
    look(u, &s);
    ck_assert_uint_eq(sent_via(&s, 0xfe, FAR), 1);
    ck_assert_uint_eq(ip_default_gateway(u->stack), G1);
    unet_destroy(u);
}
END_TEST

/* A redirect-learned route is dropped on negative advice (RFC 1122 3.3.1.5: "If the
 * failed gateway is not the current default, the IP layer can immediately switch to a
 * default gateway"), and when its gateway does not answer ARP. */
/* conformance: IP-3.3.1.4-1 IP-3.3.1.4-6 */
START_TEST(redirect_route_dropped_when_its_gateway_fails)
{
    struct unitnet *u = two_gateways();
    struct sent s;
    uint32_t hop;
    ck_assert_int_eq(ip_redirect(u->stack, FAR, G3, G1), 0);
    ck_assert_int_eq(ip_route(u->stack, FAR, &hop), 0);
    ck_assert_uint_eq(hop, G3);
    ip_negative_advice(u->stack, FAR);
    ck_assert_int_eq(ip_route(u->stack, FAR, &hop), 0);
    ck_assert_uint_eq(hop, G1);

    ck_assert_int_eq(ip_redirect(u->stack, FAR, G3, G1), 0);
    ping_far(u, 1);
    let_arp_give_up(u); /* G3 is silent */
    look(u, &s);
    ck_assert_uint_eq(arp_asks(&s, G3), 3);
    ck_assert_uint_eq(arp_asks(&s, G1), 1); /* back to the default gateway */
    ck_assert_int_eq(ip_route(u->stack, FAR, &hop), 0);
    ck_assert_uint_eq(hop, G1);
    ck_assert_uint_eq(ip_default_gateway(u->stack), G1); /* G1 did nothing wrong */
    ck_assert_uint_eq(stack_stats(u->stack)->ip.gateway_switches, 0);
    arp_reply(u, G1, g1_mac);
    look(u, &s);
    ck_assert_uint_eq(sent_via(&s, 0xfe, FAR), 1);
    ck_assert_uint_eq(unreachable_events, 0);
    (void)g3_mac;
    unet_destroy(u);
}
END_TEST

/* Let `us` pass in steps of 10 ms, so that every timer fires when it is due. */
static void run_for(struct unitnet *u, uint64_t us)
{
    for (uint64_t t = 0; t < us; t += 10000)
        unet_advance(u, 10000);
}

/* The whole chain of advice (RFC 1122 3.3.1.4, RFC 9293 3.8.3): G1 answers ARP but loses
 * every SYN; at R1 TCP gives IP negative advice, ARP asks for G1 again, G1 is now silent,
 * so G2 takes over, and the next SYN goes through G2 while the connection lives on. */
static int connect_err;
static void on_error(struct sock *sock, int err, void *ctx)
{
    (void)sock, (void)ctx;
    connect_err = err;
}

/* conformance: MUST-20 IP-3.3.1.4-6 IP-3.3.1.5-1 */
START_TEST(tcp_advice_moves_connection_to_next_gateway)
{
    struct unitnet *u = two_gateways();
    struct sent s;
    struct sock *sk = sock_open(u->stack, SOCK_TYPE_TCP);
    ck_assert_ptr_nonnull(sk);
    const struct sock_events ev = {.on_error = on_error};
    sock_on(sk, &ev, NULL);
    connect_err = 0;
    ck_assert_int_eq(sock_connect(sk, FAR, 80), 0);
    arp_reply(u, G1, g1_mac);
    look(u, &s);
    ck_assert_uint_eq(sent_via(&s, 0xfe, FAR), 1); /* the SYN, through G1 */
    /* SYN timeouts at 1, 3, 7 s: three retransmissions through G1, no advice yet */
    run_for(u, 7100000);
    look(u, &s);
    ck_assert_uint_eq(sent_via(&s, 0xfe, FAR), 3);
    ck_assert_uint_eq(s.n_arp, 0);
    ck_assert_uint_eq(stack_stats(u->stack)->tcp.r1_reached, 0);
    /* 15 s: R1. The fourth retransmission waits for ARP to confirm G1 */
    run_for(u, 8000000);
    look(u, &s);
    ck_assert_uint_eq(stack_stats(u->stack)->tcp.r1_reached, 1);
    ck_assert_uint_eq(arp_asks(&s, G1), 1);
    ck_assert_uint_eq(s.n_ip, 0);
    ck_assert_int_eq(sock_soft_error(sk), -ETIMEDOUT);
    let_arp_give_up(u);
    look(u, &s);
    ck_assert_uint_eq(arp_asks(&s, G2), 1);
    arp_reply(u, G2, g2_mac);
    look(u, &s);
    ck_assert_uint_eq(sent_via(&s, 0xfd, FAR), 1); /* the SYN, through G2 */
    ck_assert_int_eq(connect_err, 0);              /* still trying */
    sock_close(sk);
    unet_destroy(u);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("route");
    TCase *tc = tcase_create("route");
    tcase_add_test(tc, gateways_configured_in_order);
    tcase_add_test(tc, dead_default_gateway_switches_to_next);
    tcase_add_test(tc, gateway_not_trusted_forever);
    tcase_add_test(tc, all_gateways_dead_reports_unreachable);
    tcase_add_test(tc, negative_advice_rechecks_next_hop);
    tcase_add_test(tc, redirect_route_dropped_when_its_gateway_fails);
    tcase_add_test(tc, tcp_advice_moves_connection_to_next_gateway);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
