/* test_checksum_pkb.c - the Internet checksum (stack/checksum.c) and packet buffers
 * (stack/pkb.c): RFC 1071's worked example, the kernel's own checksums verifying, and
 * every pkb operation at its bounds.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../stack/bytes.h"
#include "../../stack/checksum.h"
#include "../../stack/eth.h"
#include "../../stack/pkb.h"
#include "vectors.h"

/* RFC 1071 section 3: the bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2 (checksum 220d). */
START_TEST(rfc1071_example)
{
    static const uint8_t b[8] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    ck_assert_uint_eq(csum_fold(csum_add(0, b, sizeof(b))), 0x220d);
    ck_assert_uint_eq(inet_checksum(b, sizeof(b)), 0x220d);
    /* the running sum may be built in pieces of an even length */
    uint32_t s = csum_add(0, b, 4);
    s = csum_add(s, b + 4, 4);
    ck_assert_uint_eq(csum_fold(s), 0x220d);
}
END_TEST

START_TEST(odd_length_pads_with_zero)
{
    static const uint8_t odd[3] = {0x12, 0x34, 0x56};
    static const uint8_t even[4] = {0x12, 0x34, 0x56, 0x00};
    ck_assert_uint_eq(inet_checksum(odd, 3), inet_checksum(even, 4));
    ck_assert_uint_eq(inet_checksum(odd, 3), (uint16_t) ~(0x1234 + 0x5600));
    ck_assert_uint_eq(inet_checksum(NULL, 0), 0xffff);
}
END_TEST

/* Every checksum the kernel wrote verifies to 0 under ours. */
START_TEST(kernel_checksums_verify)
{
    ck_assert_uint_eq(inet_checksum(kern_echo_request + 14, 20), 0);
    ck_assert_uint_eq(inet_checksum(kern_echo_request + 34, 64), 0);
    ck_assert_uint_eq(inet_checksum(kern_echo_reply + 14, 20), 0);
    ck_assert_uint_eq(inet_checksum(kern_echo_reply + 34, 64), 0);
    ck_assert_uint_eq(inet_checksum(kern_frag1 + 14, 20), 0);
    ck_assert_uint_eq(inet_checksum(kern_frag2 + 14, 20), 0);
    ck_assert_uint_eq(inet_checksum(kern_frag3 + 14, 20), 0);
    /* the fragmented ICMP message, summed across the three fragments */
    uint32_t s = csum_add(0, kern_frag1 + 34, 1480);
    s = csum_add(s, kern_frag2 + 34, 1480);
    s = csum_add(s, kern_frag3 + 34, 1048);
    ck_assert_uint_eq(csum_fold(s), 0);
    /* UDP: pseudo-header + header + data (RFC 768) */
    const uint8_t *udp = kern_udp_closed + 34;
    uint16_t udp_len = get_be16(udp + 4);
    ck_assert_uint_eq(udp_len, 14);
    s = csum_pseudo_header(get_be32(kern_udp_closed + 26), get_be32(kern_udp_closed + 30), 17,
                           udp_len);
    ck_assert_uint_eq(csum_fold(csum_add(s, udp, udp_len)), 0);
    /* and a wrong byte shows */
    uint8_t bad[20];
    memcpy(bad, kern_echo_request + 14, 20);
    bad[8] = 63;
    ck_assert_uint_ne(inet_checksum(bad, 20), 0);
}
END_TEST

START_TEST(pkb_alloc_layout)
{
    struct pkb *p = pkb_alloc(100);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(p->len, 0);
    ck_assert_uint_eq(pkb_headroom(p), PKB_HEADROOM);
    ck_assert_uint_eq(pkb_tailroom(p), 100);
    pkb_free(p);

    p = pkb_alloc(0); /* still room for a padded minimum frame */
    ck_assert_uint_ge(pkb_tailroom(p), PKB_MIN_DATA);
    pkb_free(p);
    pkb_free(NULL);
}
END_TEST

START_TEST(pkb_push_pull_put_bounds)
{
    struct pkb *p = pkb_from_bytes("abcdef", 6);
    ck_assert_uint_eq(p->len, 6);
    ck_assert_mem_eq(p->data, "abcdef", 6);

    uint8_t *h = pkb_push(p, 2);
    ck_assert_ptr_eq(h, p->data);
    memcpy(h, "XY", 2);
    ck_assert_uint_eq(p->len, 8);
    ck_assert_mem_eq(p->data, "XYabcdef", 8);
    ck_assert_ptr_null(pkb_push(p, pkb_headroom(p) + 1)); /* no more than the headroom */
    ck_assert_uint_eq(p->len, 8);
    ck_assert_ptr_nonnull(pkb_push(p, pkb_headroom(p))); /* exactly all of it */
    ck_assert_uint_eq(pkb_headroom(p), 0);
    ck_assert_ptr_null(pkb_push(p, 1));
    ck_assert_ptr_nonnull(pkb_pull(p, PKB_HEADROOM - 2));

    uint8_t *old = pkb_pull(p, 2);
    ck_assert_mem_eq(old, "XY", 2);
    ck_assert_mem_eq(p->data, "abcdef", 6);
    ck_assert_ptr_null(pkb_pull(p, 7)); /* more than there is */
    ck_assert_uint_eq(p->len, 6);

    size_t room = pkb_tailroom(p);
    ck_assert_ptr_null(pkb_put(p, room + 1));
    uint8_t *t = pkb_put(p, room);
    ck_assert_ptr_eq(t, p->data + 6);
    ck_assert_uint_eq(pkb_tailroom(p), 0);

    pkb_trim(p, 3);
    ck_assert_uint_eq(p->len, 3);
    pkb_trim(p, 10); /* never grows */
    ck_assert_uint_eq(p->len, 3);
    ck_assert_ptr_nonnull(pkb_pull(p, 3));
    ck_assert_uint_eq(p->len, 0);
    pkb_free(p);
}
END_TEST

START_TEST(pkb_copy_is_deep)
{
    struct pkb *p = pkb_from_bytes(kern_echo_request, sizeof(kern_echo_request));
    pkb_pull(p, ETH_HDR_LEN);
    p->meta.ip_hdr = p->data;
    p->meta.ip_hdr_len = 20;
    p->meta.ip_src = 0x0a000001;
    pkb_pull(p, 20);

    struct pkb *c = pkb_copy(p);
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_ne(c->head, p->head);
    ck_assert_uint_eq(c->len, p->len);
    ck_assert_uint_eq(pkb_headroom(c), pkb_headroom(p));
    ck_assert_mem_eq(c->data, p->data, p->len);
    ck_assert_uint_eq(c->meta.ip_src, 0x0a000001);
    /* the saved header pointer points into the copy, not the original */
    ck_assert_ptr_eq(c->meta.ip_hdr, c->data - 20);
    ck_assert_mem_eq(c->meta.ip_hdr, kern_echo_request + ETH_HDR_LEN, 20);
    p->data[0] ^= 0xff;
    ck_assert_uint_eq(c->data[0], kern_echo_request[34]);
    pkb_free(p);
    pkb_free(c);
}
END_TEST

START_TEST(pkb_queue_fifo)
{
    struct pkb_queue q = {0};
    ck_assert_ptr_null(pkb_queue_pop(&q));
    for (int i = 1; i <= 3; i++) {
        uint8_t b[8];
        memset(b, i, sizeof(b));
        pkb_queue_push(&q, pkb_from_bytes(b, (size_t)i));
    }
    ck_assert_uint_eq(q.count, 3);
    ck_assert_uint_eq(q.bytes, 6);
    struct pkb *p = pkb_queue_pop(&q);
    ck_assert_uint_eq(p->len, 1);
    ck_assert_uint_eq(p->data[0], 1);
    ck_assert_ptr_null(p->next);
    pkb_free(p);
    ck_assert_uint_eq(q.count, 2);
    ck_assert_uint_eq(q.bytes, 5);
    pkb_queue_clear(&q); /* frees the rest (LeakSanitizer checks) */
    ck_assert_uint_eq(q.count, 0);
    ck_assert_uint_eq(q.bytes, 0);
    ck_assert_ptr_null(q.first);
    ck_assert_ptr_null(q.last);
    pkb_queue_push(&q, pkb_from_bytes("z", 1)); /* usable after clearing */
    ck_assert_ptr_eq(q.first, q.last);
    pkb_queue_clear(&q);
}
END_TEST

static Suite *checksum_pkb_suite(void)
{
    Suite *s = suite_create("checksum_pkb");
    TCase *tc = tcase_create("checksum");
    tcase_add_test(tc, rfc1071_example);
    tcase_add_test(tc, odd_length_pads_with_zero);
    tcase_add_test(tc, kernel_checksums_verify);
    suite_add_tcase(s, tc);
    tc = tcase_create("pkb");
    tcase_add_test(tc, pkb_alloc_layout);
    tcase_add_test(tc, pkb_push_pull_put_bounds);
    tcase_add_test(tc, pkb_copy_is_deep);
    tcase_add_test(tc, pkb_queue_fifo);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(checksum_pkb_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
