/* test_checksum_rfc1071.c - the fast checksum in stack/checksum.c must equal the textbook
 * RFC 1071 loop on every length and alignment, and match known values. */
#include <check.h>
#include <stdlib.h>

#include "../../stack/checksum.h"

/* The loop from RFC 1071 section 4.1, word by word in network byte order. */
static uint16_t reference(const uint8_t *p, size_t len)
{
    uint32_t sum = 0;
    for (; len > 1; len -= 2, p += 2)
        sum += (uint32_t)(p[0] << 8 | p[1]);
    if (len)
        sum += (uint32_t)(p[0] << 8);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

START_TEST(matches_reference_on_every_length_and_alignment)
{
    uint8_t buf[2100];
    srand(42);
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)rand();
    for (size_t off = 0; off < 8; off++)
        for (size_t len = 0; len + off <= sizeof(buf); len += (len < 64 ? 1 : 37))
            ck_assert_uint_eq(inet_checksum(buf + off, len), reference(buf + off, len));
}
END_TEST

START_TEST(all_ones_and_carries)
{
    uint8_t ff[1500];
    for (size_t i = 0; i < sizeof(ff); i++)
        ff[i] = 0xff;
    for (size_t len = 0; len <= sizeof(ff); len++)
        ck_assert_uint_eq(inet_checksum(ff, len), reference(ff, len));
}
END_TEST

START_TEST(known_ipv4_header)
{
    /* an IPv4 header from the kernel (10.0.0.1 > 10.0.0.2, ICMP), checksum 0x6ec3... zeroed */
    uint8_t h[20] = {0x45, 0x00, 0x00, 0x54, 0x84, 0x60, 0x40, 0x00, 0x40, 0x01,
                     0x00, 0x00, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02};
    uint16_t c = inet_checksum(h, sizeof(h));
    ck_assert_uint_eq(c, reference(h, sizeof(h)));
    h[10] = (uint8_t)(c >> 8);
    h[11] = (uint8_t)c;
    ck_assert_uint_eq(inet_checksum(h, sizeof(h)), 0); /* a header with its checksum sums to 0 */
}
END_TEST

START_TEST(running_sum_over_pieces)
{
    uint8_t buf[1000];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 7 + 3);
    /* even-length pieces, as a header followed by its payload */
    uint32_t sum = csum_add(0, buf, 20);
    sum = csum_add(sum, buf + 20, 980);
    ck_assert_uint_eq(csum_fold(sum), reference(buf, sizeof(buf)));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("checksum");
    TCase *tc = tcase_create("rfc1071");
    tcase_add_test(tc, matches_reference_on_every_length_and_alignment);
    tcase_add_test(tc, all_ones_and_carries);
    tcase_add_test(tc, known_ipv4_header);
    tcase_add_test(tc, running_sum_over_pieces);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
