/* test_eth.c - Ethernet II (stack/eth.c) with frames captured from the Linux kernel.
 *
 * Parsing field by field, every truncated length, frames for another MAC, IPv6 and an
 * unknown ethertype dropped and counted, oversize frames, padding to 60 bytes on output,
 * and padding on input that must not leak into what the layers above see.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../stack/eth.h"
#include "../../stack/pkb.h"
#include "unitnet.h"
#include "vectors.h"

static const uint8_t our_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};

/* conformance: LINK-2.3.3-1 */
START_TEST(parse_kernel_echo_request_header)
{
    struct eth_hdr h;
    ck_assert_int_eq(eth_parse(kern_echo_request, sizeof(kern_echo_request), &h), 0);
    ck_assert_mem_eq(h.dst, our_mac, 6);
    ck_assert_mem_eq(h.src, kern_mac, 6);
    ck_assert_uint_eq(h.type, ETH_TYPE_IPV4);

    ck_assert_int_eq(eth_parse(kern_arp_request, sizeof(kern_arp_request), &h), 0);
    ck_assert_mem_eq(h.dst, eth_broadcast, 6);
    ck_assert_uint_eq(h.type, ETH_TYPE_ARP);

    ck_assert_int_eq(eth_parse(kern_ipv6_ns, sizeof(kern_ipv6_ns), &h), 0);
    ck_assert_uint_eq(h.type, ETH_TYPE_IPV6);
}
END_TEST

START_TEST(build_is_parse_inverse)
{
    struct eth_hdr h, back;
    uint8_t bytes[ETH_HDR_LEN];
    ck_assert_int_eq(eth_parse(kern_arp_reply, sizeof(kern_arp_reply), &h), 0);
    eth_build(&h, bytes);
    ck_assert_mem_eq(bytes, kern_arp_reply, ETH_HDR_LEN);
    ck_assert_int_eq(eth_parse(bytes, sizeof(bytes), &back), 0);
    ck_assert_mem_eq(&back, &h, sizeof(h));
}
END_TEST

/* Every length from 0 to 13 is shorter than a header: dropped, counted, nothing sent. */
START_TEST(truncated_every_length)
{
    struct eth_hdr h;
    for (size_t n = 0; n < ETH_HDR_LEN; n++)
        ck_assert_int_eq(eth_parse(kern_echo_request, n, &h), -1);

    struct unitnet *u = unet_create(NULL);
    ck_assert_ptr_nonnull(u);
    for (size_t n = 0; n < ETH_HDR_LEN; n++) {
        /* straight into eth_input: the wire cannot carry a 0-byte frame */
        eth_input(u->stack, pkb_from_bytes(kern_echo_request, n));
        ck_assert_uint_eq(stack_stats(u->stack)->eth.rx_truncated, n + 1);
    }
    /* and through the wire too, for the lengths it carries */
    for (size_t n = 1; n < ETH_HDR_LEN; n++)
        unet_inject(u, kern_arp_request, n);
    const struct stack_stats *st = stack_stats(u->stack);
    ck_assert_uint_eq(st->eth.rx_truncated, 2 * ETH_HDR_LEN - 1);
    ck_assert_uint_eq(st->eth.rx_frames, 2 * ETH_HDR_LEN - 1);
    ck_assert_uint_eq(st->arp.rx_packets, 0);
    ck_assert_uint_eq(st->ip.rx_packets, 0);
    ck_assert_uint_eq(unet_sent(u), 0);
    unet_destroy(u);
}
END_TEST

/* A header alone (14 bytes) is not truncated for Ethernet: the layer above decides. */
START_TEST(header_only_goes_up)
{
    struct unitnet *u = unet_create(NULL);
    unet_inject(u, kern_arp_request, ETH_HDR_LEN);
    const struct stack_stats *st = stack_stats(u->stack);
    ck_assert_uint_eq(st->eth.rx_truncated, 0);
    ck_assert_uint_eq(st->arp.rx_packets, 1);
    ck_assert_uint_eq(st->arp.rx_truncated, 1);
    unet_destroy(u);
}
END_TEST

START_TEST(frame_for_another_mac)
{
    struct unitnet *u = unet_create(NULL);
    uint8_t f[sizeof(kern_echo_request)];
    memcpy(f, kern_echo_request, sizeof(f));
    f[5] = 0x09; /* 02:00:00:00:00:09 */
    unet_inject(u, f, sizeof(f));
    const struct stack_stats *st = stack_stats(u->stack);
    ck_assert_uint_eq(st->eth.rx_not_for_us, 1);
    ck_assert_uint_eq(st->ip.rx_packets, 0);
    ck_assert_uint_eq(unet_sent(u), 0);
    unet_destroy(u);
}
END_TEST

/* The kernel's IPv6 neighbour solicitation goes to a multicast MAC we accept, then is
 * dropped as IPv6. */
START_TEST(ipv6_counted)
{
    struct unitnet *u = unet_create(NULL);
    unet_inject(u, kern_ipv6_ns, sizeof(kern_ipv6_ns));
    const struct stack_stats *st = stack_stats(u->stack);
    ck_assert_uint_eq(st->eth.rx_frames, 1);
    ck_assert_uint_eq(st->eth.rx_ipv6, 1);
    ck_assert_uint_eq(st->eth.rx_not_for_us, 0);
    ck_assert_uint_eq(st->ip.rx_packets, 0);
    ck_assert_uint_eq(unet_sent(u), 0);
    unet_destroy(u);
}
END_TEST

START_TEST(unknown_ethertype_counted)
{
    struct unitnet *u = unet_create(NULL);
    uint8_t f[sizeof(kern_arp_request)];
    memcpy(f, kern_arp_request, sizeof(f));
    put_be16(f + 12, 0x88b5); /* IEEE local experimental */
    unet_inject(u, f, sizeof(f));
    const struct stack_stats *st = stack_stats(u->stack);
    ck_assert_uint_eq(st->eth.rx_unknown_ethertype, 1);
    ck_assert_uint_eq(st->arp.rx_packets, 0);
    ck_assert_uint_eq(unet_sent(u), 0);
    unet_destroy(u);
}
END_TEST

START_TEST(oversize_counted)
{
    struct unitnet *u = unet_create(NULL);
    /* the MTU (1500) + header + 4 bytes for a VLAN tag is the most we take */
    size_t len = ETH_HDR_LEN + 1500 + 4 + 1;
    uint8_t *f = calloc(1, len);
    memcpy(f, kern_echo_request, sizeof(kern_echo_request));
    unet_inject(u, f, len);
    ck_assert_uint_eq(stack_stats(u->stack)->eth.rx_oversize, 1);
    ck_assert_uint_eq(stack_stats(u->stack)->ip.rx_packets, 0);
    /* one byte less is accepted by Ethernet (IP then trims the padding off) */
    unet_inject(u, f, len - 1);
    ck_assert_uint_eq(stack_stats(u->stack)->eth.rx_oversize, 1);
    ck_assert_uint_eq(stack_stats(u->stack)->ip.rx_packets, 1);
    free(f);
    unet_destroy(u);
}
END_TEST

/* The ARP reply to the kernel's 42-byte request is 42 bytes of content padded with zeros to
 * the 60-byte minimum; the header names the kernel, us and ARP. */
/* conformance: LINK-2.3.1-1 LINK-2.3.3-4 */
START_TEST(output_padded_to_60)
{
    struct unitnet *u = unet_create(NULL);
    const struct stack_stats *st = stack_stats(u->stack);
    uint64_t frames = st->eth.tx_frames, bytes = st->eth.tx_bytes; /* the announcement */
    unet_inject(u, kern_arp_request, sizeof(kern_arp_request));
    size_t n = unet_sent(u);
    ck_assert_uint_eq(n, ETH_MIN_FRAME);
    ck_assert_mem_eq(u->frame, kern_mac, 6);
    ck_assert_mem_eq(u->frame + 6, our_mac, 6);
    ck_assert_uint_eq(get_be16(u->frame + 12), ETH_TYPE_ARP);
    for (size_t i = ETH_HDR_LEN + 28; i < ETH_MIN_FRAME; i++)
        ck_assert_uint_eq(u->frame[i], 0);
    ck_assert_uint_eq(st->eth.tx_frames, frames + 1);
    ck_assert_uint_eq(st->eth.tx_bytes, bytes + ETH_MIN_FRAME);
    ck_assert_uint_eq(st->eth.rx_bytes, sizeof(kern_arp_request));
    unet_destroy(u);
}
END_TEST

/* A frame longer than its datagram (padding on the wire) is answered as if the padding
 * were not there: the echo reply carries exactly the request's 56 data bytes. */
START_TEST(input_padding_is_ignored)
{
    struct unitnet *u = unet_create(NULL);
    unet_inject(u, kern_arp_request, sizeof(kern_arp_request)); /* learn the kernel */
    unet_drain(u);
    uint8_t f[sizeof(kern_echo_request) + 10];
    memcpy(f, kern_echo_request, sizeof(kern_echo_request));
    memset(f + sizeof(kern_echo_request), 0xee, 10);
    unet_inject(u, f, sizeof(f));
    size_t n = unet_sent(u);
    ck_assert_uint_eq(n, sizeof(kern_echo_request));
    ck_assert_uint_eq(get_be16(u->frame + ETH_HDR_LEN + 2), 84); /* IP total length */
    ck_assert_mem_eq(u->frame + 42, kern_echo_request + 42, 56); /* the echo data */
    ck_assert_uint_eq(stack_stats(u->stack)->icmp.echo_replies_tx, 1);
    unet_destroy(u);
}
END_TEST

static Suite *eth_suite(void)
{
    Suite *s = suite_create("eth");
    TCase *tc = tcase_create("eth");
    tcase_add_test(tc, parse_kernel_echo_request_header);
    tcase_add_test(tc, build_is_parse_inverse);
    tcase_add_test(tc, truncated_every_length);
    tcase_add_test(tc, header_only_goes_up);
    tcase_add_test(tc, frame_for_another_mac);
    tcase_add_test(tc, ipv6_counted);
    tcase_add_test(tc, unknown_ethertype_counted);
    tcase_add_test(tc, oversize_counted);
    tcase_add_test(tc, output_padded_to_60);
    tcase_add_test(tc, input_padding_is_ignored);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(eth_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
