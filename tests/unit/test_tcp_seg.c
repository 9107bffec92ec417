/* test_tcp_seg.c - TCP header and option parsing (tcp_seg.c), and what tcp_input does
 * with malformed segments: drop and count. */
#include <check.h>
#include <string.h>

#include "../../stack/bytes.h"
#include "../../stack/ip.h"
#include "../../stack/pkb.h"
#include "../../stack/stack.h"
#include "../../stack/tcp.h"
#include "../../stack/tcp_seg.h"
#include "../sim/simnet.h"

#define KERNEL_SRC 0x0a000001u /* 10.0.0.1 */
#define KERNEL_DST 0x0a000002u /* 10.0.0.2 */

/* A SYN from the Linux 6.x kernel (Debian 12), captured with tcpdump on tap0 in a lab
 * namespace while `nc -w1 10.0.0.2 7` connected to `tapir serve`:
 *   10.0.0.1.35168 > 10.0.0.2.7: Flags [S], cksum 0x8328 (correct), seq 1859269586,
 *   win 64240, options [mss 1460,sackOK,TS val 1766203535 ecr 0,nop,wscale 10]
 * These are the TCP header's 40 bytes (after the 14-byte Ethernet and 20-byte IP ones). */
static const uint8_t kernel_syn[40] = {
    0x89, 0x60, 0x00, 0x07, 0x6e, 0xd2, 0x33, 0xd2, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02,
    0xfa, 0xf0, 0x83, 0x28, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a,
    0x69, 0x46, 0x20, 0x8f, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x0a,
};

/* conformance: MUST-14 MUST-4 MUST-6 MUST-64 */
START_TEST(parse_kernel_syn)
{
    struct tcp_hdr h;
    ck_assert_int_eq(tcp_parse(kernel_syn, sizeof(kernel_syn), &h), TCP_PARSE_OK);
    ck_assert_uint_eq(h.sport, 35168);
    ck_assert_uint_eq(h.dport, 7);
    ck_assert_uint_eq(h.seq, 1859269586u);
    ck_assert_uint_eq(h.ack, 0);
    ck_assert_uint_eq(h.hdr_len, 40);
    ck_assert_uint_eq(h.flags, TCP_SYN);
    ck_assert_uint_eq(h.wnd, 64240);
    ck_assert_uint_eq(h.checksum, 0x8328);
    ck_assert(h.opts.has_mss);
    ck_assert_uint_eq(h.opts.mss, 1460);
    ck_assert(h.opts.sack_permitted);
    ck_assert(h.opts.has_timestamp);
    ck_assert_uint_eq(h.opts.ts_val, 1766203535u);
    ck_assert_uint_eq(h.opts.ts_ecr, 0);
    ck_assert(h.opts.has_wscale);
    ck_assert_uint_eq(h.opts.wscale, 10);
    ck_assert(tcp_checksum_ok(kernel_syn, sizeof(kernel_syn), KERNEL_SRC, KERNEL_DST));
    /* the pseudo-header counts: other addresses, other sum */
    ck_assert(!tcp_checksum_ok(kernel_syn, sizeof(kernel_syn), KERNEL_SRC, 0x0a000003u));
}
END_TEST

/* Options need not be word-aligned: an MSS one byte into the options, after a NOP, and
 * nothing read after an EOL (RFC 9293 3.1). */
/* conformance: MUST-64 MUST-4 */
START_TEST(options_parsed_without_alignment)
{
    struct tcp_hdr h;
    uint8_t b[28];
    memcpy(b, kernel_syn, TCP_HDR_LEN);
    b[12] = 0x70; /* 28 bytes of header */
    const uint8_t opts[8] = {TCP_OPT_NOP, TCP_OPT_MSS, 4, 0x02, 0x18, TCP_OPT_EOL, TCP_OPT_MSS, 4};
    memcpy(b + TCP_HDR_LEN, opts, sizeof(opts));
    ck_assert_int_eq(tcp_parse(b, sizeof(b), &h), TCP_PARSE_OK);
    ck_assert(h.opts.has_mss);
    ck_assert_uint_eq(h.opts.mss, 536); /* 0x0218 */
    ck_assert(!h.opts.has_wscale);
}
END_TEST

/* conformance: MUST-2 MUST-68 */
START_TEST(build_then_parse)
{
    struct tcp_hdr h, p;
    memset(&h, 0, sizeof(h));
    h.sport = 49152;
    h.dport = 80;
    h.seq = 0xfffffff0u;
    h.ack = 12345;
    h.flags = TCP_SYN | TCP_ACK;
    h.wnd = 65535;
    h.opts.has_mss = true;
    h.opts.mss = 1460;
    h.opts.has_wscale = true;
    h.opts.wscale = 7;
    uint8_t b[TCP_HDR_MAX_LEN + 4];
    size_t n = tcp_build(&h, b);
    ck_assert_uint_eq(n, 28);
    memcpy(b + n, "data", 4);
    tcp_set_checksum(b, n + 4, KERNEL_SRC, KERNEL_DST);
    ck_assert(tcp_checksum_ok(b, n + 4, KERNEL_SRC, KERNEL_DST));
    ck_assert_int_eq(tcp_parse(b, n + 4, &p), TCP_PARSE_OK);
    ck_assert_uint_eq(p.hdr_len, 28);
    ck_assert_uint_eq(p.seq, 0xfffffff0u);
    ck_assert_uint_eq(p.ack, 12345);
    ck_assert_uint_eq(p.flags, TCP_SYN | TCP_ACK);
    ck_assert(p.opts.has_mss && p.opts.mss == 1460);
    ck_assert(p.opts.has_wscale && p.opts.wscale == 7);
    ck_assert(!p.opts.sack_permitted && !p.opts.has_timestamp);
    /* a window scale above 14 is read as 14 (RFC 7323 2.3) */
    b[n - 1] = 20;
    ck_assert_int_eq(tcp_parse(b, n + 4, &p), TCP_PARSE_OK);
    ck_assert_uint_eq(p.opts.wscale, 14);
}
END_TEST

/* MUST-69: a header ends on a 32-bit boundary, so the data starts on one (RFC 9293 3.1).
 * tapir aligns every option with NOPs (as Linux does), so no layout needs trailing zero
 * padding: every combination of the options it sends has a length that is a multiple of
 * four, its data offset says so, and it parses back to the same options. */
/* conformance: MUST-69 */
START_TEST(every_option_layout_ends_on_a_word)
{
    unsigned layouts = 0;
    for (unsigned bits = 0; bits < 16; bits++)
        for (unsigned n_sack = 0; n_sack <= TCP_MAX_SACK_BLOCKS; n_sack++) {
            struct tcp_hdr h, p;
            memset(&h, 0, sizeof(h));
            h.flags = TCP_ACK;
            h.opts.has_mss = bits & 1;
            h.opts.mss = 1460;
            h.opts.sack_permitted = bits & 2;
            h.opts.has_timestamp = bits & 4;
            h.opts.ts_val = 7;
            h.opts.ts_ecr = 9;
            h.opts.has_wscale = bits & 8;
            h.opts.wscale = 7;
            h.opts.n_sack = (uint8_t)n_sack;
            for (unsigned k = 0; k < n_sack; k++) {
                h.opts.sack[k].start = 1000 * (k + 1);
                h.opts.sack[k].end = 1000 * (k + 1) + 500;
            }
            if (TCP_HDR_LEN + tcp_opts_len(&h.opts) > TCP_HDR_MAX_LEN)
                continue;
            uint8_t b[TCP_HDR_MAX_LEN];
            memset(b, 0xee, sizeof(b));
            size_t n = tcp_build(&h, b);
            ck_assert_uint_eq(n % 4, 0);
            ck_assert_uint_eq((b[12] >> 4) * 4u, n);
            ck_assert_int_eq(tcp_parse(b, n, &p), TCP_PARSE_OK);
            ck_assert_uint_eq(p.hdr_len, n);
            ck_assert_int_eq(p.opts.has_mss, h.opts.has_mss);
            ck_assert_int_eq(p.opts.sack_permitted, h.opts.sack_permitted);
            ck_assert_int_eq(p.opts.has_timestamp, h.opts.has_timestamp);
            ck_assert_int_eq(p.opts.has_wscale, h.opts.has_wscale);
            ck_assert_uint_eq(p.opts.n_sack, n_sack);
            for (size_t i = TCP_HDR_LEN; i < n; i++)
                ck_assert_uint_ne(b[i], 0xee); /* every byte written: nothing left over */
            layouts++;
        }
    ck_assert_uint_ge(layouts, 40);
}
END_TEST

START_TEST(format_for_trace)
{
    struct tcp_hdr h;
    ck_assert_int_eq(tcp_parse(kernel_syn, sizeof(kernel_syn), &h), TCP_PARSE_OK);
    char line[256];
    tcp_format(&h, KERNEL_SRC, KERNEL_DST, 0, line, sizeof(line));
    ck_assert_str_eq(line, "10.0.0.1:35168 > 10.0.0.2:7 SYN seq=1859269586 win=64240 mss=1460 "
                           "wscale=10 sackOK ts=1766203535/0");
}
END_TEST

/* MUST-6: an option tapir does not know is skipped by its length; the ones around it
 * still count. The kernel's SYN with its SACK-permitted option (kind 4) renamed 254. */
/* conformance: MUST-6 MUST-5 */
START_TEST(unknown_option_skipped)
{
    struct tcp_hdr h;
    uint8_t b[40];
    memcpy(b, kernel_syn, 40);
    ck_assert_uint_eq(b[24], TCP_OPT_SACK_PERM);
    b[24] = 254;
    ck_assert_int_eq(tcp_parse(b, 40, &h), TCP_PARSE_OK);
    ck_assert(h.opts.has_mss);
    ck_assert_uint_eq(h.opts.mss, 1460);
    ck_assert(h.opts.has_wscale); /* the option after it */
    ck_assert(!h.opts.sack_permitted);
    b[13] = TCP_ACK; /* options count on any segment, not only on a SYN */
    ck_assert_int_eq(tcp_parse(b, 40, &h), TCP_PARSE_OK);
    ck_assert(h.opts.has_wscale);
}
END_TEST

/* conformance: MUST-7 */
START_TEST(parse_rejects_bad_headers)
{
    struct tcp_hdr h;
    uint8_t b[40];
    ck_assert_int_eq(tcp_parse(kernel_syn, 19, &h), TCP_PARSE_TRUNCATED);
    memcpy(b, kernel_syn, 40);
    b[12] = 0x40; /* data offset 4 */
    ck_assert_int_eq(tcp_parse(b, 40, &h), TCP_PARSE_BAD_OFFSET);
    b[12] = 0xb0; /* 44 bytes of header in a 40-byte segment */
    ck_assert_int_eq(tcp_parse(b, 40, &h), TCP_PARSE_BAD_OFFSET);
    memcpy(b, kernel_syn, 40);
    b[13] = TCP_SYN | TCP_FIN;
    ck_assert_int_eq(tcp_parse(b, 40, &h), TCP_PARSE_BAD_FLAGS);
    b[13] = TCP_SYN | TCP_RST;
    ck_assert_int_eq(tcp_parse(b, 40, &h), TCP_PARSE_BAD_FLAGS);
    memcpy(b, kernel_syn, 40);
    b[27] = 12; /* the timestamp option claims 12 bytes: past the header */
    ck_assert_int_eq(tcp_parse(b, 40, &h), TCP_PARSE_BAD_OPTIONS);
    memcpy(b, kernel_syn, 40);
    b[21] = 0; /* zero-length option (MSS) */
    ck_assert_int_eq(tcp_parse(b, 40, &h), TCP_PARSE_BAD_OPTIONS);
    b[21] = 1; /* length 1 */
    ck_assert_int_eq(tcp_parse(b, 40, &h), TCP_PARSE_BAD_OPTIONS);
    memcpy(b, kernel_syn, 40);
    b[37] = 1; /* NOP, NOP, then kind 3 in the last byte: no room for its length */
    b[38] = 1;
    b[39] = 3;
    ck_assert_int_eq(tcp_parse(b, 40, &h), TCP_PARSE_BAD_OPTIONS);
    /* EOL ends the list: what follows is not parsed */
    memcpy(b, kernel_syn, 40);
    b[20] = 0;
    ck_assert_int_eq(tcp_parse(b, 40, &h), TCP_PARSE_OK);
    ck_assert(!h.opts.has_mss);
}
END_TEST

/* ---- through a stack: every bad segment is dropped and counted ---- */

static struct simnet net;

static void setup(void)
{
    ck_assert(simnet_init(&net, 1, NULL, 0));
}
static void teardown(void)
{
    simnet_fini(&net);
}

/* Give stack B an IP datagram from 10.0.0.1 carrying `seg`. */
static void feed(const uint8_t *seg, size_t len, bool fix_checksum)
{
    uint8_t buf[IP_HDR_LEN + 100];
    memcpy(buf + IP_HDR_LEN, seg, len);
    if (fix_checksum && len >= 18)
        tcp_set_checksum(buf + IP_HDR_LEN, len, KERNEL_SRC, KERNEL_DST);
    struct ip_hdr ih;
    memset(&ih, 0, sizeof(ih));
    ih.version = 4;
    ih.ihl = 5;
    ih.total_len = (uint16_t)(IP_HDR_LEN + len);
    ih.ttl = 64;
    ih.proto = IP_PROTO_TCP;
    ih.src = KERNEL_SRC;
    ih.dst = KERNEL_DST;
    ip_build(&ih, buf);
    ip_input(net.b, pkb_from_bytes(buf, ih.total_len));
}

/* conformance: MUST-3 */
START_TEST(stack_drops_and_counts)
{
    const struct tcp_stats *st = &stack_stats(net.b)->tcp;
    uint8_t b[40];
    feed(kernel_syn, 12, false);
    ck_assert_uint_eq(st->rx_truncated, 1);
    memcpy(b, kernel_syn, 40);
    b[12] = 0x30;
    feed(b, 40, true);
    ck_assert_uint_eq(st->rx_bad_offset, 1);
    b[12] = 0xf0;
    feed(b, 40, true);
    ck_assert_uint_eq(st->rx_bad_offset, 2);
    memcpy(b, kernel_syn, 40);
    b[30] ^= 0x55;
    feed(b, 40, false);
    ck_assert_uint_eq(st->rx_bad_checksum, 1);
    memcpy(b, kernel_syn, 40);
    b[13] = TCP_SYN | TCP_FIN;
    feed(b, 40, true);
    ck_assert_uint_eq(st->rx_bad_flags, 1);
    memcpy(b, kernel_syn, 40);
    b[27] = 12;
    feed(b, 40, true);
    b[27] = 10;
    b[21] = 0;
    feed(b, 40, true);
    ck_assert_uint_eq(st->rx_bad_options, 2);
    /* none of them reached a connection or drew a reply */
    ck_assert_uint_eq(st->rx_no_connection, 0);
    ck_assert_uint_eq(st->tx_segments, 0);
    /* and the real SYN, to a closed port, is answered with RST,ACK */
    feed(kernel_syn, 40, false);
    ck_assert_uint_eq(st->rx_no_connection, 1);
    ck_assert_uint_eq(st->tx_resets, 1);
    ck_assert_uint_eq(st->rx_segments, 8);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tcp_seg");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, parse_kernel_syn);
    tcase_add_test(tc, build_then_parse);
    tcase_add_test(tc, every_option_layout_ends_on_a_word);
    tcase_add_test(tc, format_for_trace);
    tcase_add_test(tc, parse_rejects_bad_headers);
    tcase_add_test(tc, unknown_option_skipped);
    tcase_add_test(tc, options_parsed_without_alignment);
    suite_add_tcase(s, tc);
    TCase *tc2 = tcase_create("input");
    tcase_add_checked_fixture(tc2, setup, teardown);
    tcase_add_test(tc2, stack_drops_and_counts);
    suite_add_tcase(s, tc2);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
