/* test_arp.c - ARP (stack/arp.c) with the kernel's real request and reply.
 *
 * Parsing field by field, the reply byte by byte, every truncated length, malformed
 * packets counted, and the cache over time on the fake clock: learn, expire, retry, give
 * up after arp_max_requests requests.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../stack/arp.h"
#include "../../stack/eth.h"
#include "../../stack/pkb.h"
#include "unitnet.h"
#include "vectors.h"

static const uint8_t our_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
static const uint8_t zero_mac[6];

START_TEST(parse_kernel_request)
{
    struct arp_pkt p;
    ck_assert_int_eq(arp_parse(kern_arp_request + ETH_HDR_LEN, ARP_PKT_LEN, &p), 0);
    ck_assert_uint_eq(p.htype, 1);
    ck_assert_uint_eq(p.ptype, 0x0800);
    ck_assert_uint_eq(p.hlen, 6);
    ck_assert_uint_eq(p.plen, 4);
    ck_assert_uint_eq(p.op, ARP_OP_REQUEST);
    ck_assert_mem_eq(p.sha, kern_mac, 6);
    ck_assert_uint_eq(p.spa, KERN_IP);
    ck_assert_mem_eq(p.tha, zero_mac, 6);
    ck_assert_uint_eq(p.tpa, UNET_STACK_IP);

    uint8_t back[ARP_PKT_LEN];
    arp_build(&p, back);
    ck_assert_mem_eq(back, kern_arp_request + ETH_HDR_LEN, ARP_PKT_LEN);
}
END_TEST

START_TEST(parse_kernel_reply)
{
    struct arp_pkt p;
    ck_assert_int_eq(arp_parse(kern_arp_reply + ETH_HDR_LEN, ARP_PKT_LEN, &p), 0);
    ck_assert_uint_eq(p.op, ARP_OP_REPLY);
    ck_assert_mem_eq(p.sha, kern_mac, 6);
    ck_assert_uint_eq(p.spa, KERN_IP);
    ck_assert_mem_eq(p.tha, our_mac, 6);
    ck_assert_uint_eq(p.tpa, UNET_STACK_IP);
}
END_TEST

/* The reply to the kernel's request, every byte of it. */
START_TEST(reply_bytes)
{
    static const uint8_t expect[ETH_MIN_FRAME] = {
        0x62, 0x81, 0x15, 0x33, 0xb9, 0xfa, /* to the kernel */
        0x02, 0x00, 0x00, 0x00, 0x00, 0x02, /* from us */
        0x08, 0x06,                         /* ARP */
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, /* Ethernet, IPv4, 6, 4 */
        0x00, 0x02,                         /* reply */
        0x02, 0x00, 0x00, 0x00, 0x00, 0x02, /* sender MAC: us */
        0x0a, 0x00, 0x00, 0x02,             /* sender IP: 10.0.0.2 */
        0x62, 0x81, 0x15, 0x33, 0xb9, 0xfa, /* target MAC: the kernel */
        0x0a, 0x00, 0x00, 0x01,             /* target IP: 10.0.0.1 */
        /* 18 bytes of zero padding */
    };
    struct unitnet *u = unet_create(NULL);
    unet_inject(u, kern_arp_request, sizeof(kern_arp_request));
    ck_assert_uint_eq(unet_sent(u), sizeof(expect));
    ck_assert_mem_eq(u->frame, expect, sizeof(expect));
    ck_assert_uint_eq(unet_sent(u), 0); /* exactly one reply */

    const struct stack_stats *st = stack_stats(u->stack);
    ck_assert_uint_eq(st->arp.rx_packets, 1);
    ck_assert_uint_eq(st->arp.requests_rx, 1);
    ck_assert_uint_eq(st->arp.replies_tx, 1);
    ck_assert_uint_eq(st->arp.cache_updates, 1);
    unet_destroy(u);
}
END_TEST

START_TEST(truncated_every_length)
{
    struct arp_pkt p;
    for (size_t n = 0; n < ARP_PKT_LEN; n++)
        ck_assert_int_eq(arp_parse(kern_arp_request + ETH_HDR_LEN, n, &p), -1);

    struct unitnet *u = unet_create(NULL);
    for (size_t n = 0; n < ARP_PKT_LEN; n++)
        unet_inject(u, kern_arp_request, ETH_HDR_LEN + n);
    const struct stack_stats *st = stack_stats(u->stack);
    ck_assert_uint_eq(st->arp.rx_packets, ARP_PKT_LEN);
    ck_assert_uint_eq(st->arp.rx_truncated, ARP_PKT_LEN);
    ck_assert_uint_eq(st->arp.requests_rx, 0);
    ck_assert_uint_eq(unet_sent(u), 0);
    uint8_t mac[6];
    ck_assert(!arp_lookup(u->stack, KERN_IP, mac));
    unet_destroy(u);
}
END_TEST

static void inject_modified(struct unitnet *u, size_t at, uint8_t value)
{
    uint8_t f[sizeof(kern_arp_request)];
    memcpy(f, kern_arp_request, sizeof(f));
    f[at] = value;
    unet_inject(u, f, sizeof(f));
}

START_TEST(malformed_counted)
{
    struct unitnet *u = unet_create(NULL);
    const struct stack_stats *st = stack_stats(u->stack);
    inject_modified(u, ETH_HDR_LEN + 1, 6);    /* htype 6 (IEEE 802) */
    inject_modified(u, ETH_HDR_LEN + 2, 0x86); /* ptype 0x8600 */
    inject_modified(u, ETH_HDR_LEN + 4, 8);    /* hlen 8 */
    inject_modified(u, ETH_HDR_LEN + 5, 16);   /* plen 16 */
    ck_assert_uint_eq(st->arp.rx_bad_format, 4);
    inject_modified(u, ETH_HDR_LEN + 7, 3); /* opcode 3 (RARP) */
    ck_assert_uint_eq(st->arp.rx_bad_opcode, 1);
    inject_modified(u, ETH_HDR_LEN + 27, 9); /* who-has 10.0.0.9 */
    ck_assert_uint_eq(st->arp.rx_not_for_us, 1);
    ck_assert_uint_eq(st->arp.replies_tx, 0);
    ck_assert_uint_eq(unet_sent(u), 0);
    unet_destroy(u);
}
END_TEST

/* Learn the kernel's address from its request, and forget it arp_timeout_ms later. */
/* conformance: LINK-2.3.2.1-1 LINK-2.3.2.1-3 */
START_TEST(learn_and_expire)
{
    struct unitnet *u = unet_create(NULL);
    uint8_t mac[6];
    ck_assert(!arp_lookup(u->stack, KERN_IP, mac));
    unet_inject(u, kern_arp_request, sizeof(kern_arp_request));
    ck_assert(arp_lookup(u->stack, KERN_IP, mac));
    ck_assert_mem_eq(mac, kern_mac, 6);

    uint64_t life = (uint64_t)stack_config(u->stack)->arp_timeout_ms * 1000;
    unet_advance(u, life - 1000);
    ck_assert(arp_lookup(u->stack, KERN_IP, mac));
    unet_advance(u, 1000);
    ck_assert(!arp_lookup(u->stack, KERN_IP, mac));
    unet_destroy(u);
}
END_TEST

static void check_request_for_kernel(const uint8_t *f)
{
    ck_assert_mem_eq(f, eth_broadcast, 6);
    ck_assert_mem_eq(f + 6, our_mac, 6);
    ck_assert_uint_eq(get_be16(f + 12), ETH_TYPE_ARP);
    struct arp_pkt p;
    ck_assert_int_eq(arp_parse(f + ETH_HDR_LEN, ARP_PKT_LEN, &p), 0);
    ck_assert_uint_eq(p.op, ARP_OP_REQUEST);
    ck_assert_mem_eq(p.sha, our_mac, 6);
    ck_assert_uint_eq(p.spa, UNET_STACK_IP);
    ck_assert_uint_eq(p.tpa, KERN_IP);
}

/* Nobody answers: arp_max_requests requests, arp_retry_ms apart, then resolve_failed and
 * the waiting packet dropped. */
/* conformance: LINK-2.3.2.1-2 */
START_TEST(retry_then_give_up)
{
    struct unitnet *u = unet_create(NULL);
    const struct stack_config *cfg = stack_config(u->stack);
    const struct stack_stats *st = stack_stats(u->stack);
    uint64_t retry = (uint64_t)cfg->arp_retry_ms * 1000;

    ck_assert_int_eq(stack_ping(u->stack, KERN_IP, 1, 1, "x", 1), 0);
    for (unsigned i = 1; i <= cfg->arp_max_requests; i++) {
        ck_assert_uint_eq(unet_sent(u), ETH_MIN_FRAME);
        check_request_for_kernel(u->frame);
        ck_assert_uint_eq(st->arp.requests_tx, i);
        unet_advance(u, retry - 1); /* not yet */
        ck_assert_uint_eq(unet_sent(u), 0);
        unet_advance(u, 1);
    }
    ck_assert_uint_eq(unet_sent(u), 0); /* no request after the last one */
    ck_assert_uint_eq(st->arp.requests_tx, cfg->arp_max_requests);
    ck_assert_uint_eq(st->arp.resolve_failed, 1);
    ck_assert_uint_eq(st->arp.unresolved_drops, 1);
    unet_advance(u, 10 * retry);
    ck_assert_uint_eq(unet_sent(u), 0);
    unet_destroy(u);
}
END_TEST

/* The kernel answers the second request: the waiting echo request goes to its MAC. */
/* conformance: IP-3.3.1.4-3 IP-3.3.1.4-4 IP-3.3.1.4-5 LINK-2.3.3-5 */
START_TEST(retry_then_resolve)
{
    struct unitnet *u = unet_create(NULL);
    const struct stack_stats *st = stack_stats(u->stack);
    uint64_t retry = (uint64_t)stack_config(u->stack)->arp_retry_ms * 1000;

    ck_assert_int_eq(stack_ping(u->stack, KERN_IP, 0x2309, 1, "abcdefgh", 8), 0);
    ck_assert_uint_eq(unet_sent(u), ETH_MIN_FRAME);
    unet_advance(u, retry);
    ck_assert_uint_eq(unet_sent(u), ETH_MIN_FRAME);
    check_request_for_kernel(u->frame);
    unet_inject(u, kern_arp_reply, sizeof(kern_arp_reply));
    ck_assert_uint_eq(st->arp.replies_rx, 1);
    ck_assert_uint_eq(st->arp.requests_tx, 2);

    size_t n = unet_sent(u); /* the echo request that waited */
    ck_assert_uint_eq(n, ETH_MIN_FRAME);
    ck_assert_mem_eq(u->frame, kern_mac, 6);
    ck_assert_uint_eq(get_be16(u->frame + 12), ETH_TYPE_IPV4);
    ck_assert_uint_eq(u->frame[ETH_HDR_LEN + 9], 1);  /* ICMP */
    ck_assert_uint_eq(u->frame[ETH_HDR_LEN + 20], 8); /* echo request */
    ck_assert_mem_eq(u->frame + ETH_HDR_LEN + 28, "abcdefgh", 8);

    unet_advance(u, 5 * retry); /* resolved: no more requests, nothing given up */
    ck_assert_uint_eq(unet_sent(u), 0);
    ck_assert_uint_eq(st->arp.resolve_failed, 0);
    /* the entry is a positive indication: the next packet goes at once, no request */
    ck_assert_int_eq(stack_ping(u->stack, KERN_IP, 0x2309, 2, "abcdefgh", 8), 0);
    ck_assert_uint_eq(unet_sent(u), ETH_MIN_FRAME);
    ck_assert_mem_eq(u->frame, kern_mac, 6);
    ck_assert_uint_eq(u->frame[ETH_HDR_LEN + 20], 8); /* echo request */
    ck_assert_uint_eq(st->arp.requests_tx, 2);
    unet_destroy(u);
}
END_TEST

/* Packets wait in a bounded queue while we ask; the oldest goes when it is full. */
/* conformance: LINK-2.3.2.2-1 */
START_TEST(waiting_queue_bounded)
{
    struct stack_config cfg;
    unet_config(&cfg);
    cfg.arp_queue_len = 2;
    struct unitnet *u = unet_create(&cfg);
    for (uint16_t seq = 1; seq <= 5; seq++)
        ck_assert_int_eq(stack_ping(u->stack, KERN_IP, 7, seq, NULL, 0), 0);
    ck_assert_uint_eq(stack_stats(u->stack)->arp.queue_drops, 3);
    unet_drain(u);
    unet_inject(u, kern_arp_reply, sizeof(kern_arp_reply));
    /* the two newest are sent: sequence numbers 4 and 5 */
    ck_assert_uint_eq(unet_sent(u), ETH_MIN_FRAME);
    ck_assert_uint_eq(get_be16(u->frame + ETH_HDR_LEN + 26), 4);
    ck_assert_uint_eq(unet_sent(u), ETH_MIN_FRAME);
    ck_assert_uint_eq(get_be16(u->frame + ETH_HDR_LEN + 26), 5);
    ck_assert_uint_eq(unet_sent(u), 0);
    unet_destroy(u);
}
END_TEST

/* The announcement at start-up (RFC 5227): a request for our own address. */
START_TEST(gratuitous_on_start)
{
    struct stack_config cfg;
    unet_config(&cfg);
    struct wire *w = wire_create(1, NULL);
    struct stack *s = stack_create(&cfg, &wire_ops, wire_end(w, 1));
    stack_start(s, 1000000);
    uint8_t f[128];
    ssize_t n = wire_ops.recv(wire_end(w, 0), f, sizeof(f), UINT64_MAX);
    ck_assert_int_eq(n, ETH_MIN_FRAME);
    ck_assert_mem_eq(f, eth_broadcast, 6);
    struct arp_pkt p;
    ck_assert_int_eq(arp_parse(f + ETH_HDR_LEN, ARP_PKT_LEN, &p), 0);
    ck_assert_uint_eq(p.op, ARP_OP_REQUEST);
    ck_assert_uint_eq(p.spa, UNET_STACK_IP);
    ck_assert_uint_eq(p.tpa, UNET_STACK_IP);
    ck_assert_uint_eq(stack_stats(s)->arp.gratuitous_tx, 1);
    stack_destroy(s);
    wire_destroy(w);
}
END_TEST

static Suite *arp_suite(void)
{
    Suite *s = suite_create("arp");
    TCase *tc = tcase_create("arp");
    tcase_add_test(tc, parse_kernel_request);
    tcase_add_test(tc, parse_kernel_reply);
    tcase_add_test(tc, reply_bytes);
    tcase_add_test(tc, truncated_every_length);
    tcase_add_test(tc, malformed_counted);
    tcase_add_test(tc, learn_and_expire);
    tcase_add_test(tc, retry_then_give_up);
    tcase_add_test(tc, retry_then_resolve);
    tcase_add_test(tc, waiting_queue_bounded);
    tcase_add_test(tc, gratuitous_on_start);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(arp_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
