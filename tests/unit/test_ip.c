/* test_ip.c - IPv4 input (stack/ip.c) and reassembly (stack/ip_frag.c).
 *
 * Header parsing on the kernel's echo request field by field, every kind of bad header
 * dropped into its own counter, and reassembly: the kernel's real 4000-byte ping in three
 * fragments, in order and out of order, duplicates, overlaps, malformed fragments, the
 * timeout (with ICMP time exceeded) and the limits, all on the fake clock.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../stack/eth.h"
#include "../../stack/icmp.h"
#include "../../stack/ip.h"
#include "../../stack/pkb.h"
#include "unitnet.h"
#include "vectors.h"

#define IP_OFF ETH_HDR_LEN /* where the IP header starts in a frame */

/* The kernel's 4000-byte ping: 4008 bytes of ICMP in fragments of 1480, 1480, 1048. */
#define BIG_ID     0x2d97
#define BIG_ICMP   4008
#define FRAG_DATA  1480
#define FRAG3_DATA 1048
static const uint8_t *const big_frames[3] = {kern_frag1, kern_frag2, kern_frag3};
static const size_t big_sizes[3] = {sizeof(kern_frag1), sizeof(kern_frag2), sizeof(kern_frag3)};

/* The whole ICMP message the kernel sent, from its three fragments. */
static void big_icmp(uint8_t out[BIG_ICMP])
{
    memcpy(out, kern_frag1 + IP_OFF + 20, FRAG_DATA);
    memcpy(out + FRAG_DATA, kern_frag2 + IP_OFF + 20, FRAG_DATA);
    memcpy(out + 2 * FRAG_DATA, kern_frag3 + IP_OFF + 20, FRAG3_DATA);
}

static void inject_big(struct unitnet *u, int which)
{
    unet_inject(u, big_frames[which], big_sizes[which]);
}

/* A stack that knows the kernel's MAC (so replies leave at once), nothing sent yet. */
static struct unitnet *unet_knowing_kernel(const struct stack_config *cfg)
{
    struct unitnet *u = unet_create(cfg);
    ck_assert_ptr_nonnull(u);
    unet_inject(u, kern_arp_request, sizeof(kern_arp_request));
    unet_drain(u);
    return u;
}

/* A frame from the kernel to us carrying one fragment of datagram `id`, built like the
 * kernel's: 20-byte header, TTL 64, protocol ICMP. Returns the frame length. */
static size_t make_fragment(uint8_t *f, uint16_t id, size_t off, bool mf, const uint8_t *data,
                            size_t len)
{
    memcpy(f, kern_frag1, ETH_HDR_LEN);
    struct ip_hdr h = {
        .version = 4,
        .ihl = 5,
        .total_len = (uint16_t)(20 + len),
        .id = id,
        .mf = mf,
        .frag_off = (uint16_t)off,
        .ttl = 64,
        .proto = IP_PROTO_ICMP,
        .src = KERN_IP,
        .dst = UNET_STACK_IP,
    };
    ip_build(&h, f + IP_OFF);
    if (len)
        memcpy(f + IP_OFF + 20, data, len);
    return IP_OFF + 20 + len;
}

static void inject_fragment(struct unitnet *u, uint16_t id, size_t off, bool mf,
                            const uint8_t *data, size_t len)
{
    static uint8_t f[IP_OFF + 20 + 65536];
    unet_inject(u, f, make_fragment(f, id, off, mf, data, len));
}

/* Our echo reply to the 4000-byte ping, as our stack fragments it for a 1500-byte MTU:
 * check every fragment, glue the ICMP message back together and check it too. */
static void expect_big_echo_reply(struct unitnet *u)
{
    static const size_t sizes[3] = {1514, 1514, 1082};
    uint8_t request[BIG_ICMP], reply[BIG_ICMP];
    big_icmp(request);
    uint16_t id = 0;
    for (int i = 0; i < 3; i++) {
        size_t n = unet_sent(u);
        ck_assert_uint_eq(n, sizes[i]);
        const uint8_t *ip = u->frame + IP_OFF;
        struct ip_hdr h;
        ck_assert_int_eq(ip_parse(ip, n - IP_OFF, &h), IP_OK); /* includes the checksum */
        ck_assert_mem_eq(u->frame, kern_mac, 6);
        ck_assert_uint_eq(h.ihl, 5);
        ck_assert_uint_eq(h.total_len, n - IP_OFF);
        ck_assert_uint_eq(h.frag_off, i * FRAG_DATA);
        ck_assert(h.mf == (i < 2));
        ck_assert(!h.df);
        ck_assert_uint_eq(h.proto, IP_PROTO_ICMP);
        ck_assert_uint_eq(h.src, UNET_STACK_IP);
        ck_assert_uint_eq(h.dst, KERN_IP);
        if (i == 0)
            id = h.id;
        ck_assert_uint_eq(h.id, id); /* one datagram */
        memcpy(reply + h.frag_off, ip + 20, h.total_len - 20u);
    }
    ck_assert_uint_eq(unet_sent(u), 0);
    ck_assert_uint_eq(reply[0], ICMP_ECHO_REPLY);
    ck_assert_uint_eq(reply[1], 0);
    ck_assert(unet_checksum_ok(reply, BIG_ICMP));
    ck_assert_mem_eq(reply + 4, request + 4, BIG_ICMP - 4); /* id, seq and all the data */
    ck_assert_uint_eq(get_be16(reply + 4), 0x22bb);
    const struct stack_stats *st = stack_stats(u->stack);
    ck_assert_uint_eq(st->ip.tx_fragments, 3);
    ck_assert_uint_eq(st->icmp.echo_replies_tx, 1);
}

/* ---- header parsing and bad headers ---- */

/* conformance: IP-3.1-1 */
START_TEST(parse_kernel_echo_request)
{
    struct ip_hdr h;
    const uint8_t *ip = kern_echo_request + IP_OFF;
    ck_assert_int_eq(ip_parse(ip, sizeof(kern_echo_request) - IP_OFF, &h), IP_OK);
    ck_assert_uint_eq(h.version, 4);
    ck_assert_uint_eq(h.ihl, 5);
    ck_assert_uint_eq(h.tos, 0);
    ck_assert_uint_eq(h.total_len, 84);
    ck_assert_uint_eq(h.id, 0x2d96);
    ck_assert(h.df);
    ck_assert(!h.mf);
    ck_assert_uint_eq(h.frag_off, 0);
    ck_assert_uint_eq(h.ttl, 64);
    ck_assert_uint_eq(h.proto, IP_PROTO_ICMP);
    ck_assert_uint_eq(h.checksum, 0xf910);
    ck_assert_uint_eq(h.src, KERN_IP);
    ck_assert_uint_eq(h.dst, UNET_STACK_IP);

    uint8_t back[20];
    ip_build(&h, back);
    ck_assert_mem_eq(back, ip, 20); /* same bytes, same checksum */
}
END_TEST

START_TEST(parse_kernel_fragments)
{
    static const uint16_t offs[3] = {0, 1480, 2960};
    static const uint16_t lens[3] = {1500, 1500, 1068};
    for (int i = 0; i < 3; i++) {
        struct ip_hdr h;
        ck_assert_int_eq(ip_parse(big_frames[i] + IP_OFF, big_sizes[i] - IP_OFF, &h), IP_OK);
        ck_assert_uint_eq(h.id, BIG_ID);
        ck_assert_uint_eq(h.frag_off, offs[i]);
        ck_assert(h.mf == (i < 2));
        ck_assert(!h.df);
        ck_assert_uint_eq(h.total_len, lens[i]);
    }
}
END_TEST

START_TEST(truncated_every_length)
{
    struct ip_hdr h;
    for (size_t n = 0; n < IP_HDR_LEN; n++)
        ck_assert_int_eq(ip_parse(kern_echo_request + IP_OFF, n, &h), IP_TRUNCATED);

    struct unitnet *u = unet_knowing_kernel(NULL);
    for (size_t n = 0; n < IP_HDR_LEN; n++)
        unet_inject(u, kern_echo_request, IP_OFF + n);
    const struct stack_stats *st = stack_stats(u->stack);
    ck_assert_uint_eq(st->ip.rx_packets, IP_HDR_LEN);
    ck_assert_uint_eq(st->ip.rx_truncated, IP_HDR_LEN);
    ck_assert_uint_eq(st->ip.rx_delivered, 0);
    ck_assert_uint_eq(unet_sent(u), 0);
    unet_destroy(u);
}
END_TEST

/* A copy of the kernel's echo request, to be changed and re-checksummed. */
struct frame {
    uint8_t b[sizeof(kern_echo_request) + 64];
    size_t len;
};

static void echo_copy(struct frame *f)
{
    memcpy(f->b, kern_echo_request, sizeof(kern_echo_request));
    f->len = sizeof(kern_echo_request);
}

static void fix_ip_checksum(struct frame *f)
{
    uint8_t *ip = f->b + IP_OFF;
    size_t hlen = (size_t)(ip[0] & 0x0f) * 4;
    if (hlen < 20)
        hlen = 20;
    put_be16(ip + 10, 0);
    put_be16(ip + 10, inet_checksum(ip, hlen));
}

START_TEST(ihl_below_5)
{
    struct unitnet *u = unet_knowing_kernel(NULL);
    for (uint8_t ihl = 0; ihl < 5; ihl++) {
        struct frame f;
        echo_copy(&f);
        f.b[IP_OFF] = (uint8_t)(0x40 | ihl);
        fix_ip_checksum(&f);
        struct ip_hdr h;
        ck_assert_int_eq(ip_parse(f.b + IP_OFF, f.len - IP_OFF, &h), IP_BAD_IHL);
        unet_inject(u, f.b, f.len);
    }
    ck_assert_uint_eq(stack_stats(u->stack)->ip.rx_bad_ihl, 5);
    ck_assert_uint_eq(stack_stats(u->stack)->ip.rx_delivered, 0);
    ck_assert_uint_eq(unet_sent(u), 0);
    unet_destroy(u);
}
END_TEST

/* IHL 6 in a packet of only 20 bytes: the header would run past the packet. */
START_TEST(ihl_past_packet)
{
    struct unitnet *u = unet_knowing_kernel(NULL);
    struct frame f;
    echo_copy(&f);
    f.b[IP_OFF] = 0x46;
    put_be16(f.b + IP_OFF + 2, 20);
    f.len = IP_OFF + 20;
    unet_inject(u, f.b, f.len);
    ck_assert_uint_eq(stack_stats(u->stack)->ip.rx_bad_ihl, 1);
    ck_assert_uint_eq(unet_sent(u), 0);
    unet_destroy(u);
}
END_TEST

/* conformance: IP-3.1-8 IP-3.2.1.1-1 */
START_TEST(bad_version)
{
    struct unitnet *u = unet_knowing_kernel(NULL);
    static const uint8_t first_bytes[] = {0x65, 0x05, 0x45 ^ 0xf0, 0x35};
    for (size_t i = 0; i < sizeof(first_bytes); i++) {
        struct frame f;
        echo_copy(&f);
        f.b[IP_OFF] = first_bytes[i];
        fix_ip_checksum(&f);
        unet_inject(u, f.b, f.len);
    }
    ck_assert_uint_eq(stack_stats(u->stack)->ip.rx_bad_version, 4);
    ck_assert_uint_eq(stack_stats(u->stack)->ip.rx_delivered, 0);
    ck_assert_uint_eq(unet_sent(u), 0);
    unet_destroy(u);
}
END_TEST

START_TEST(total_length_lies)
{
    struct unitnet *u = unet_knowing_kernel(NULL);
    static const uint16_t lies[] = {85, 1500, 65535, 19, 0};
    for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
        struct frame f;
        echo_copy(&f);
        put_be16(f.b + IP_OFF + 2, lies[i]);
        fix_ip_checksum(&f);
        struct ip_hdr h;
        ck_assert_int_eq(ip_parse(f.b + IP_OFF, f.len - IP_OFF, &h), IP_BAD_LENGTH);
        unet_inject(u, f.b, f.len);
    }
    ck_assert_uint_eq(stack_stats(u->stack)->ip.rx_bad_length, 5);
    ck_assert_uint_eq(stack_stats(u->stack)->ip.rx_delivered, 0);
    ck_assert_uint_eq(unet_sent(u), 0);
    unet_destroy(u);
}
END_TEST

/* conformance: IP-3.2.1.2-1 */
START_TEST(bad_header_checksum)
{
    struct unitnet *u = unet_knowing_kernel(NULL);
    for (int bit = 0; bit < 16; bit++) {
        struct frame f;
        echo_copy(&f);
        put_be16(f.b + IP_OFF + 10, (uint16_t)(0xf910 ^ (1u << bit)));
        unet_inject(u, f.b, f.len);
    }
    ck_assert_uint_eq(stack_stats(u->stack)->ip.rx_bad_checksum, 16);
    ck_assert_uint_eq(stack_stats(u->stack)->ip.rx_delivered, 0);
    ck_assert_uint_eq(unet_sent(u), 0);
    unet_destroy(u);
}
END_TEST

/* conformance: IP-3.2.1.7-2 */
START_TEST(ttl_zero_and_one_answered)
{
    /* RFC 1122 3.2.1.7: a host must not discard a datagram for TTL < 2 addressed to it. */
    struct unitnet *u = unet_knowing_kernel(NULL);
    struct frame f;
    for (uint8_t ttl = 0; ttl < 2; ttl++) {
        echo_copy(&f);
        f.b[IP_OFF + 8] = ttl;
        fix_ip_checksum(&f);
        unet_inject(u, f.b, f.len);
        ck_assert_uint_eq(unet_sent(u), sizeof(kern_echo_request)); /* the reply */
    }
    ck_assert_uint_eq(stack_stats(u->stack)->ip.rx_ttl_zero, 1);
    ck_assert_uint_eq(stack_stats(u->stack)->ip.rx_delivered, 2);
    unet_destroy(u);
}
END_TEST

/* A datagram for another host is dropped, never forwarded nor answered with a redirect. */
/* conformance: IP-3.2.1.3-3 IP-3.2.1.3-4 MUST-63 UDP-4.1.3.6-1 IP-3.2.2.2-1 */
START_TEST(not_for_us_and_bad_source)
{
    struct unitnet *u = unet_knowing_kernel(NULL);
    struct frame f;
    echo_copy(&f);
    put_be32(f.b + IP_OFF + 16, 0x0a000009); /* 10.0.0.9 */
    fix_ip_checksum(&f);
    unet_inject(u, f.b, f.len);
    ck_assert_uint_eq(stack_stats(u->stack)->ip.rx_not_for_us, 1);

    /* RFC 1122 3.2.1.3: subnet broadcast, limited broadcast, multicast, this network (0/8),
     * loopback (127/8) and our own address never arrive from the wire. */
    static const uint32_t bad_sources[] = {0x0a0000ff, 0xffffffff, 0xe0000001, 0x00000000,
                                           0x00000005, 0x7f000001, 0x7f123456, 0x0a000002};
    size_t n_bad = sizeof(bad_sources) / sizeof(bad_sources[0]);
    for (size_t i = 0; i < n_bad; i++) {
        echo_copy(&f);
        put_be32(f.b + IP_OFF + 12, bad_sources[i]);
        fix_ip_checksum(&f);
        unet_inject(u, f.b, f.len);
    }
    ck_assert_uint_eq(stack_stats(u->stack)->ip.rx_bad_source, n_bad);
    ck_assert_uint_eq(stack_stats(u->stack)->ip.rx_delivered, 0);
    ck_assert_uint_eq(unet_sent(u), 0);
    unet_destroy(u);
}
END_TEST

/* RFC 1122 3.3.1.1: the address mask decides on-link or not; on-link destinations need no
 * gateway, the rest go to the default gateway, and without one there is no route. */
/* conformance: IP-3.3.1.1-1 IP-3.3.1.1-2 IP-3.2.1.3-1 IP-3.3.1.2-3 */
START_TEST(route_by_mask_and_gateway)
{
    struct stack_config cfg;
    unet_config(&cfg); /* 10.0.0.2/24, no gateway */
    struct unitnet *u = unet_create(&cfg);
    uint32_t hop = 0;
    ck_assert_int_eq(ip_route(u->stack, 0x0a0000fe, &hop), 0);
    ck_assert_uint_eq(hop, 0x0a0000fe);
    ck_assert_int_eq(ip_route(u->stack, 0x0a000100, &hop), -ENETUNREACH); /* 10.0.1.0: off /24 */
    unet_destroy(u);
    cfg.gateway = 0x0a000001;
    cfg.prefix_len = 16;
    u = unet_create(&cfg);
    ck_assert_int_eq(ip_route(u->stack, 0x0a000100, &hop), 0); /* on-link in a /16 */
    ck_assert_uint_eq(hop, 0x0a000100);
    ck_assert_int_eq(ip_route(u->stack, 0x08080808, &hop), 0);
    ck_assert_uint_eq(hop, 0x0a000001);
    unet_destroy(u);
}
END_TEST

/* An unknown protocol gets ICMP protocol unreachable quoting the header + 8 bytes, with
 * TOS 0 whatever the datagram's was (RFC 1122 3.2.2). */
/* conformance: IP-3.2.2-2 IP-3.3.8-1 IP-3.2.2-4 */
START_TEST(unknown_protocol)
{
    struct unitnet *u = unet_knowing_kernel(NULL);
    struct frame f;
    echo_copy(&f);
    f.b[IP_OFF + 1] = 0xb8; /* DSCP EF */
    f.b[IP_OFF + 9] = 200;
    fix_ip_checksum(&f);
    unet_inject(u, f.b, f.len);
    ck_assert_uint_eq(stack_stats(u->stack)->ip.rx_unknown_protocol, 1);
    size_t n = unet_sent(u);
    ck_assert_uint_eq(n, IP_OFF + 20 + 8 + 28);
    const uint8_t *icmp = u->frame + IP_OFF + 20;
    ck_assert_uint_eq(icmp[0], ICMP_DEST_UNREACH);
    ck_assert_uint_eq(icmp[1], ICMP_UNREACH_PROTOCOL);
    ck_assert(unet_checksum_ok(icmp, 36));
    ck_assert_mem_eq(icmp + 8, f.b + IP_OFF, 28);
    ck_assert_uint_eq(u->frame[IP_OFF + 1], 0); /* TOS */
    unet_destroy(u);
}
END_TEST

/* The kernel's echo request with `len` option bytes (a multiple of 4) after its header. */
static void echo_with_options(struct frame *f, const uint8_t *opts, size_t len)
{
    memcpy(f->b, kern_echo_request, IP_OFF + 20);
    memcpy(f->b + IP_OFF + 20, opts, len);
    memcpy(f->b + IP_OFF + 20 + len, kern_echo_request + IP_OFF + 20, 64);
    f->len = sizeof(kern_echo_request) + len;
    f->b[IP_OFF] = (uint8_t)(0x45 + len / 4);
    put_be16(f->b + IP_OFF + 2, (uint16_t)(84 + len));
    fix_ip_checksum(f);
}

/* IHL 6 with a 4-byte option (NOPs), then an option nobody knows: counted, skipped,
 * answered. */
/* conformance: IP-3.2.1.8-3 IP-3.2.1.8b-2 MUST-50 */
START_TEST(options_skipped)
{
    struct unitnet *u = unet_knowing_kernel(NULL);
    struct frame f;
    static const uint8_t nops[4] = {IPOPT_NOP, IPOPT_NOP, IPOPT_NOP, IPOPT_NOP};
    static const uint8_t unknown[8] = {IPOPT_SID, 4, 0, 7, 0x9f, 3, 0xab, IPOPT_EOL};
    echo_with_options(&f, unknown, sizeof(unknown));
    unet_inject(u, f.b, f.len);
    ck_assert_uint_eq(unet_sent(u), sizeof(kern_echo_request));
    echo_with_options(&f, nops, sizeof(nops));
    unet_inject(u, f.b, f.len);
    ck_assert_uint_eq(stack_stats(u->stack)->ip.rx_options, 2);
    ck_assert_uint_eq(unet_sent(u), sizeof(kern_echo_request));
    ck_assert_mem_eq(u->frame + IP_OFF + 28, kern_echo_request + IP_OFF + 28, 56);
    unet_destroy(u);
}
END_TEST

/* RFC 1122 3.2.1.8, 3.2.2.5: an option whose length runs past the list, or a Record Route
 * or Timestamp whose pointer makes no sense, drops the datagram (counted) and draws a
 * Parameter Problem whose pointer names the bad byte of the header. */
/* conformance: IP-3.2.2.5-1 */
START_TEST(bad_option_parameter_problem)
{
    static const struct {
        uint8_t opts[8];
        uint8_t pointer;
    } cases[] = {
        {{IPOPT_TS, 12, 5, 0, 0, 0, 0, 0}, 21},        /* length 12 in a list of 8 */
        {{IPOPT_NOP, 0x94, 1, 0, 0, 0, 0, 0}, 22},     /* length 1 */
        {{IPOPT_RR, 7, 3, 0, 0, 0, 0, 0}, 22},         /* pointer 3 points into the option */
        {{IPOPT_TS, 8, 5, 2, 0, 0, 0, 0}, 23},         /* timestamp flag 2 does not exist */
        {{IPOPT_NOP, IPOPT_RR, 6, 4, 0, 0, 0, 0}, 23}, /* a 4-byte slot in 3 bytes */
    };
    struct unitnet *u = unet_knowing_kernel(NULL);
    const struct stack_stats *st = stack_stats(u->stack);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct frame f;
        echo_with_options(&f, cases[i].opts, 8);
        unet_inject(u, f.b, f.len);
        ck_assert_uint_eq(st->ip.rx_bad_options, i + 1);
        size_t n = unet_sent(u);
        ck_assert_uint_eq(n, IP_OFF + 20 + 8 + 28 + 8); /* the header with options + 8 */
        const uint8_t *icmp = u->frame + IP_OFF + 20;
        ck_assert_uint_eq(icmp[0], ICMP_PARAM_PROBLEM);
        ck_assert_uint_eq(icmp[1], 0);
        ck_assert_uint_eq(icmp[4], cases[i].pointer);
        ck_assert(unet_checksum_ok(icmp, 8 + 36));
        ck_assert_mem_eq(icmp + 8, f.b + IP_OFF, 36);
    }
    ck_assert_uint_eq(st->icmp.param_problem_tx, 5);
    ck_assert_uint_eq(st->icmp.echo_replies_tx, 0);
    ck_assert_uint_eq(st->ip.rx_delivered, 0);
    unet_destroy(u);
}
END_TEST

/* RFC 1122 3.1: every datagram thrown away leaves a trace line saying why. */
/* conformance: IP-3.1-7 */
START_TEST(drops_are_logged)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(out);
    struct stack_config cfg;
    unet_config(&cfg);
    cfg.trace_mask = TRACE_IP;
    cfg.trace_out = out;
    struct unitnet *u = unet_knowing_kernel(&cfg);
    struct frame f;
    echo_copy(&f);
    f.b[IP_OFF] = 0x65; /* version 6 */
    fix_ip_checksum(&f);
    unet_inject(u, f.b, f.len);
    echo_copy(&f);
    put_be32(f.b + IP_OFF + 16, 0x0a000009);
    fix_ip_checksum(&f);
    unet_inject(u, f.b, f.len);
    static const uint8_t bad[4] = {IPOPT_RR, 9, 4, 0};
    echo_with_options(&f, bad, sizeof(bad));
    unet_inject(u, f.b, f.len);
    unet_destroy(u);
    fclose(out);
    ck_assert_ptr_nonnull(strstr(text, "drop: version is not 4"));
    ck_assert_ptr_nonnull(strstr(text, "drop: not addressed to us"));
    ck_assert_ptr_nonnull(strstr(text, "drop: malformed option"));
    free(text);
}
END_TEST

/* RFC 1122 3.3.6: besides 255.255.255.255 and 10.0.0.255, the old 0 forms 0.0.0.0 and
 * 10.0.0.0 are broadcasts too: accepted as such (a broadcast ping is delivered to ICMP,
 * which ignores it), and never a source. */
/* conformance: IP-3.3.6-1 IP-3.3.6-3 */
START_TEST(zero_broadcast_forms)
{
    struct unitnet *u = unet_knowing_kernel(NULL);
    static const uint32_t yes[] = {0xffffffff, 0x0a0000ff, 0x00000000, 0x0a000000};
    static const uint32_t no[] = {0x0a000001, 0x0a000002, 0x0a000100, 0x0a0001ff};
    for (size_t i = 0; i < 4; i++) {
        ck_assert(ip_is_broadcast(u->stack, yes[i]));
        ck_assert(!ip_is_broadcast(u->stack, no[i]));
    }
    struct frame f;
    for (size_t i = 2; i < 4; i++) {
        echo_copy(&f);
        memset(f.b, 0xff, 6); /* a link-layer broadcast, as a 4.2BSD host sends it */
        put_be32(f.b + IP_OFF + 16, yes[i]);
        fix_ip_checksum(&f);
        unet_inject(u, f.b, f.len);
    }
    const struct stack_stats *st = stack_stats(u->stack);
    ck_assert_uint_eq(st->ip.rx_not_for_us, 0);
    ck_assert_uint_eq(st->ip.rx_delivered, 2);
    ck_assert_uint_eq(st->icmp.echo_broadcast_ignored, 2);
    echo_copy(&f);
    put_be32(f.b + IP_OFF + 12, 0x0a000000);
    fix_ip_checksum(&f);
    unet_inject(u, f.b, f.len);
    ck_assert_uint_eq(st->ip.rx_bad_source, 1);
    ck_assert_uint_eq(unet_sent(u), 0);
    unet_destroy(u);
}
END_TEST

/* RFC 1122 3.3.6: a link-layer broadcast must carry an IP broadcast; one to our unicast
 * address is dropped. The same datagram in a unicast frame is answered. */
/* conformance: IP-3.3.6-5 */
START_TEST(link_broadcast_to_unicast_dropped)
{
    struct unitnet *u = unet_knowing_kernel(NULL);
    struct frame f;
    echo_copy(&f);
    memset(f.b, 0xff, 6);
    unet_inject(u, f.b, f.len);
    ck_assert_uint_eq(stack_stats(u->stack)->ip.rx_link_broadcast, 1);
    ck_assert_uint_eq(stack_stats(u->stack)->ip.rx_delivered, 0);
    ck_assert_uint_eq(unet_sent(u), 0);
    unet_inject(u, kern_echo_request, sizeof(kern_echo_request));
    ck_assert_uint_eq(unet_sent(u), sizeof(kern_echo_request));
    unet_destroy(u);
}
END_TEST

/* RFC 1122 3.3.1.6, 3.2.2.9: address, mask and gateway are entered by hand (--ip
 * a.b.c.d/len, --gw a.b.c.d, parsed by these functions) and the stack uses them. */
/* conformance: IP-3.3.1.6-1 IP-3.2.2.9-1 IP-3.2.2.9-2 */
START_TEST(manual_configuration)
{
    struct stack_config cfg;
    unet_config(&cfg);
    ck_assert_int_eq(parse_ipv4_prefix("10.1.2.3/16", &cfg.ip, &cfg.prefix_len, 24), 0);
    ck_assert_int_eq(parse_ipv4("10.1.0.1", &cfg.gateway), 0);
    ck_assert_uint_eq(cfg.ip, 0x0a010203);
    ck_assert_uint_eq(cfg.prefix_len, 16);
    ck_assert_uint_eq(cfg.gateway, 0x0a010001);
    struct unitnet *u = unet_create(&cfg);
    ck_assert_ptr_nonnull(u);
    uint32_t hop = 0;
    ck_assert_int_eq(ip_route(u->stack, 0x0a01c807, &hop), 0); /* 10.1.200.7: on-link */
    ck_assert_uint_eq(hop, 0x0a01c807);
    ck_assert_int_eq(ip_route(u->stack, 0x08080808, &hop), 0);
    ck_assert_uint_eq(hop, 0x0a010001);
    ck_assert(ip_is_broadcast(u->stack, 0x0a01ffff));
    ck_assert(!ip_is_broadcast(u->stack, 0x0a0102ff));
    unet_destroy(u);

    uint32_t ip;
    uint8_t prefix;
    ck_assert_int_eq(parse_ipv4_prefix("10.1.2.3", &ip, &prefix, 24), 0);
    ck_assert_uint_eq(prefix, 24);
    ck_assert_int_eq(parse_ipv4_prefix("10.1.2.3/33", &ip, &prefix, 24), -1);
    ck_assert_int_eq(parse_ipv4_prefix("10.1.2/8", &ip, &prefix, 24), -1);
    ck_assert_int_eq(parse_ipv4("10.1.0.256", &ip), -1);
}
END_TEST

/* ---- reassembly ---- */

static void check_reassembled_once(struct unitnet *u)
{
    const struct stack_stats *st = stack_stats(u->stack);
    ck_assert_uint_eq(st->ip.reasm_ok, 1);
    ck_assert_uint_eq(st->ip.rx_delivered, 1);
    ck_assert_uint_eq(st->icmp.echo_requests_rx, 1);
    ck_assert_uint_eq(st->ip.reasm_overlap, 0);
    ck_assert_uint_eq(st->ip.reasm_bad_fragment, 0);
    ck_assert_uint_eq(st->ip.reasm_limit, 0);
}

/* The kernel's real fragments in every order: each gives one echo reply, which our stack
 * fragments again on output. */
/* conformance: IP-3.2.1.4-1 IP-3.3.2-1 IP-3.2.1.3-2 */
START_TEST(kernel_fragments_every_order)
{
    static const int orders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                     {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    for (int o = 0; o < 6; o++) {
        struct unitnet *u = unet_knowing_kernel(NULL);
        for (int i = 0; i < 3; i++) {
            ck_assert_uint_eq(stack_stats(u->stack)->ip.reasm_ok, 0);
            inject_big(u, orders[o][i]);
            if (i < 2)
                ck_assert_uint_eq(unet_sent(u), 0); /* nothing until the datagram is whole */
        }
        ck_assert_uint_eq(stack_stats(u->stack)->ip.rx_fragments, 3);
        check_reassembled_once(u);
        expect_big_echo_reply(u);
        unet_destroy(u);
    }
}
END_TEST

/* The reassembled datagram as ip_reassemble returns it: first header, new total length,
 * MF and offset cleared, DF kept, a valid checksum. */
START_TEST(reassembled_header)
{
    struct unitnet *u = unet_create(NULL);
    struct pkb *whole = NULL;
    for (int i = 0; i < 3; i++) {
        struct pkb *pkb = pkb_from_bytes(big_frames[i] + IP_OFF, big_sizes[i] - IP_OFF);
        struct ip_hdr h;
        ck_assert_int_eq(ip_parse(pkb->data, pkb->len, &h), IP_OK);
        whole = ip_reassemble(u->stack, pkb, &h);
        if (i < 2)
            ck_assert_ptr_null(whole);
    }
    ck_assert_ptr_nonnull(whole);
    ck_assert_uint_eq(whole->len, 20 + BIG_ICMP);
    struct ip_hdr h;
    ck_assert_int_eq(ip_parse(whole->data, whole->len, &h), IP_OK);
    ck_assert_uint_eq(h.total_len, 20 + BIG_ICMP);
    ck_assert(!h.mf);
    ck_assert_uint_eq(h.frag_off, 0);
    ck_assert_uint_eq(h.id, BIG_ID);
    ck_assert_uint_eq(h.src, KERN_IP);
    ck_assert_uint_eq(h.ttl, 64);
    uint8_t request[BIG_ICMP];
    big_icmp(request);
    ck_assert_mem_eq(whole->data + 20, request, BIG_ICMP);
    ck_assert(unet_checksum_ok(whole->data + 20, BIG_ICMP)); /* the kernel's ICMP checksum */
    pkb_free(whole);
    unet_destroy(u);
}
END_TEST

START_TEST(duplicate_fragment_ignored)
{
    struct unitnet *u = unet_knowing_kernel(NULL);
    inject_big(u, 0);
    inject_big(u, 1);
    inject_big(u, 1);
    inject_big(u, 0);
    ck_assert_uint_eq(stack_stats(u->stack)->ip.reasm_duplicate, 2);
    inject_big(u, 2);
    check_reassembled_once(u);
    expect_big_echo_reply(u);
    unet_destroy(u);
}
END_TEST

/* The same datagram again after it was delivered is a new datagram (its fragments start a
 * new reassembly), not a duplicate of the finished one. */
START_TEST(same_datagram_twice)
{
    struct unitnet *u = unet_knowing_kernel(NULL);
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 3; i++)
            inject_big(u, i);
    ck_assert_uint_eq(stack_stats(u->stack)->ip.reasm_ok, 2);
    ck_assert_uint_eq(stack_stats(u->stack)->icmp.echo_replies_tx, 2);
    unet_destroy(u);
}
END_TEST

/* Overlap with the same bytes is harmless: a fragment straddling the first two. */
START_TEST(overlap_same_bytes_accepted)
{
    struct unitnet *u = unet_knowing_kernel(NULL);
    uint8_t request[BIG_ICMP];
    big_icmp(request);
    inject_big(u, 0);
    inject_fragment(u, BIG_ID, 1472, true, request + 1472, 16);
    ck_assert_uint_eq(stack_stats(u->stack)->ip.reasm_overlap, 0);
    inject_big(u, 1);
    inject_big(u, 2);
    check_reassembled_once(u);
    expect_big_echo_reply(u);
    unet_destroy(u);
}
END_TEST

/* Overlap with different bytes: two versions of the datagram exist, so the whole
 * reassembly goes. The fragments that come later start a fresh one. */
START_TEST(overlap_different_bytes_drops_all)
{
    struct unitnet *u = unet_knowing_kernel(NULL);
    const struct stack_stats *st = stack_stats(u->stack);
    uint8_t request[BIG_ICMP];
    big_icmp(request);
    uint8_t evil[16];
    memcpy(evil, request + 1472, 16);
    evil[3] ^= 0xff; /* byte 1475: inside the first fragment */

    inject_big(u, 0);
    inject_fragment(u, BIG_ID, 1472, true, evil, 16);
    ck_assert_uint_eq(st->ip.reasm_overlap, 1);
    inject_big(u, 1);
    inject_big(u, 2);
    ck_assert_uint_eq(st->ip.reasm_ok, 0); /* fragment 1 went with the dropped reassembly */
    ck_assert_uint_eq(unet_sent(u), 0);
    inject_big(u, 0);
    ck_assert_uint_eq(st->ip.reasm_ok, 1);
    expect_big_echo_reply(u);

    /* the same, with the conflicting bytes in the later fragment's part */
    memcpy(evil, request + 1472, 16);
    evil[12] ^= 0x01; /* byte 1484: inside the second fragment */
    inject_big(u, 1);
    inject_fragment(u, BIG_ID, 1472, true, evil, 16);
    ck_assert_uint_eq(st->ip.reasm_overlap, 2);
    /* and an exact-size replacement of fragment 2 with one different byte */
    inject_big(u, 1);
    uint8_t f2[FRAG_DATA];
    memcpy(f2, request + FRAG_DATA, FRAG_DATA);
    f2[FRAG_DATA - 1] ^= 0x80;
    inject_fragment(u, BIG_ID, FRAG_DATA, true, f2, FRAG_DATA);
    ck_assert_uint_eq(st->ip.reasm_overlap, 3);
    ck_assert_uint_eq(st->ip.reasm_ok, 1);
    unet_destroy(u);
}
END_TEST

/* Once the last fragment gave the length, nothing may end elsewhere. */
START_TEST(conflicting_end_drops_all)
{
    struct unitnet *u = unet_knowing_kernel(NULL);
    const struct stack_stats *st = stack_stats(u->stack);
    uint8_t request[BIG_ICMP];
    big_icmp(request);

    inject_big(u, 2);                                                        /* ends at 4008 */
    inject_fragment(u, BIG_ID, 2960, false, request + 2960, FRAG3_DATA - 8); /* ends at 4000 */
    ck_assert_uint_eq(st->ip.reasm_overlap, 1);

    inject_big(u, 2);
    inject_fragment(u, BIG_ID, 4008, true, request, 8); /* past the end */
    ck_assert_uint_eq(st->ip.reasm_overlap, 2);

    inject_big(u, 1);                                    /* ends at 2960 */
    inject_fragment(u, BIG_ID, 2944, false, request, 8); /* a last one ending at 2952 */
    ck_assert_uint_eq(st->ip.reasm_overlap, 3);
    ck_assert_uint_eq(st->ip.reasm_ok, 0);
    ck_assert_uint_eq(unet_sent(u), 0);
    unet_destroy(u);
}
END_TEST

START_TEST(malformed_fragments)
{
    struct unitnet *u = unet_knowing_kernel(NULL);
    const struct stack_stats *st = stack_stats(u->stack);
    static uint8_t data[65536];

    inject_fragment(u, 1, 0, true, NULL, 0);    /* zero length, more to come */
    inject_fragment(u, 2, 800, false, NULL, 0); /* zero length, the last */
    ck_assert_uint_eq(st->ip.reasm_bad_fragment, 2);
    inject_fragment(u, 3, 0, true, data, 100); /* not a multiple of 8, yet MF */
    inject_fragment(u, 4, 8, true, data, 1);
    ck_assert_uint_eq(st->ip.reasm_bad_fragment, 4);
    /* 20 + 65528 + 8 bytes: a datagram over 65535 (the "ping of death") */
    inject_fragment(u, 5, 65528, false, data, 8);
    inject_fragment(u, 6, 65512, false, data, 4);
    ck_assert_uint_eq(st->ip.reasm_bad_fragment, 6);
    ck_assert_uint_eq(st->ip.rx_fragments, 6);
    /* 20 + 65512 + 3 = 65535 exactly is allowed: held, waiting for the rest */
    inject_fragment(u, 7, 65512, false, data, 3);
    ck_assert_uint_eq(st->ip.reasm_bad_fragment, 6);
    ck_assert_uint_eq(st->ip.reasm_limit, 0);
    ck_assert_uint_eq(st->ip.reasm_ok, 0);
    ck_assert_uint_eq(unet_sent(u), 0);
    unet_destroy(u); /* frees the held reassembly (LeakSanitizer checks) */
}
END_TEST

/* The largest datagram there can be, 65535 bytes, in 45 fragments put together. */
/* conformance: IP-3.3.2-2 */
START_TEST(largest_datagram)
{
    struct unitnet *u = unet_knowing_kernel(NULL);
    static uint8_t icmp[65535 - 20];
    size_t len = sizeof(icmp);
    for (size_t i = 0; i < len; i++)
        icmp[i] = (uint8_t)(i * 7);
    struct icmp_hdr ih = {.type = ICMP_ECHO_REQUEST, .rest = 0x12340001};
    icmp_build(&ih, icmp);
    put_be16(icmp + 2, inet_checksum(icmp, len));
    for (size_t off = 0; off < len; off += FRAG_DATA) {
        size_t n = len - off < FRAG_DATA ? len - off : FRAG_DATA;
        inject_fragment(u, 99, off, off + n < len, icmp + off, n);
    }
    const struct stack_stats *st = stack_stats(u->stack);
    ck_assert_uint_eq(st->ip.reasm_ok, 1);
    ck_assert_uint_eq(st->icmp.echo_requests_rx, 1);
    ck_assert_uint_eq(st->icmp.echo_replies_tx, 1);
    ck_assert_uint_eq(st->ip.tx_fragments, (len + FRAG_DATA - 1) / FRAG_DATA);
    unet_destroy(u);
}
END_TEST

/* Only the first fragment arrives: after reasm_timeout_ms the pieces go and the kernel
 * gets ICMP time exceeded, code 1, quoting that fragment's header and 8 bytes. */
/* conformance: IP-3.3.2-5 IP-3.3.2-6 */
START_TEST(timeout_sends_time_exceeded)
{
    struct unitnet *u = unet_knowing_kernel(NULL);
    const struct stack_stats *st = stack_stats(u->stack);
    uint64_t timeout = (uint64_t)stack_config(u->stack)->reasm_timeout_ms * 1000;
    inject_big(u, 0);
    inject_big(u, 1);
    unet_advance(u, timeout - 200); /* 100 us after fragment 1, so not yet */
    ck_assert_uint_eq(st->ip.reasm_timeout, 0);
    ck_assert_uint_eq(unet_sent(u), 0);
    unet_advance(u, 100);
    ck_assert_uint_eq(st->ip.reasm_timeout, 1);

    size_t n = unet_sent(u);
    ck_assert_uint_eq(n, IP_OFF + 20 + 8 + 28);
    ck_assert_mem_eq(u->frame, kern_mac, 6);
    struct ip_hdr h;
    ck_assert_int_eq(ip_parse(u->frame + IP_OFF, n - IP_OFF, &h), IP_OK);
    ck_assert_uint_eq(h.proto, IP_PROTO_ICMP);
    ck_assert_uint_eq(h.dst, KERN_IP);
    ck_assert_uint_eq(h.src, UNET_STACK_IP);
    const uint8_t *icmp = u->frame + IP_OFF + 20;
    ck_assert_uint_eq(icmp[0], ICMP_TIME_EXCEEDED);
    ck_assert_uint_eq(icmp[1], ICMP_EXC_FRAGTIME);
    ck_assert(unet_checksum_ok(icmp, 36));
    ck_assert_uint_eq(get_be32(icmp + 4), 0);
    ck_assert_mem_eq(icmp + 8, kern_frag1 + IP_OFF, 28); /* header + 8 bytes, as received */
    ck_assert_uint_eq(unet_sent(u), 0);

    /* the last fragment now starts a new reassembly, which times out too */
    inject_big(u, 2);
    unet_advance(u, timeout);
    ck_assert_uint_eq(st->ip.reasm_timeout, 2);
    ck_assert_uint_eq(st->ip.reasm_ok, 0);
    ck_assert_uint_eq(unet_sent(u), 0); /* no first fragment: no ICMP error */
    unet_destroy(u);
}
END_TEST

/* The first fragments of two datagrams time out: one is an echo request, which gets its
 * time exceeded, sent with the configured TTL; the other is an ICMP error message, which
 * must never be answered with another error (RFC 1122 3.2.2). */
/* conformance: IP-3.2.2-5 IP-3.2.1.7-4 */
START_TEST(no_error_about_an_icmp_error)
{
    struct stack_config cfg;
    unet_config(&cfg);
    cfg.ttl = 99;
    struct unitnet *u = unet_knowing_kernel(&cfg);
    const struct stack_stats *st = stack_stats(u->stack);
    uint64_t timeout = (uint64_t)cfg.reasm_timeout_ms * 1000;
    const uint8_t unreach[8] = {ICMP_DEST_UNREACH, ICMP_UNREACH_PORT};
    const uint8_t echo[8] = {ICMP_ECHO_REQUEST, 0, 0, 0, 0x12, 0x34, 0, 1};
    inject_fragment(u, 0x4444, 0, true, unreach, sizeof(unreach));
    inject_fragment(u, 0x5555, 0, true, echo, sizeof(echo));
    unet_advance(u, timeout);
    ck_assert_uint_eq(st->ip.reasm_timeout, 2);
    ck_assert_uint_eq(st->icmp.errors_suppressed, 1);

    size_t n = unet_sent(u);
    ck_assert_uint_eq(n, IP_OFF + 20 + 8 + 28);
    struct ip_hdr h;
    ck_assert_int_eq(ip_parse(u->frame + IP_OFF, n - IP_OFF, &h), IP_OK);
    ck_assert_uint_eq(h.ttl, 99);
    const uint8_t *icmp = u->frame + IP_OFF + 20;
    ck_assert_uint_eq(icmp[0], ICMP_TIME_EXCEEDED);
    ck_assert_mem_eq(icmp + 8 + 20, echo, 8); /* about the echo request */
    ck_assert_uint_eq(unet_sent(u), 0);       /* and nothing about the error */
    unet_destroy(u);
}
END_TEST

/* A reassembly completing before its timer leaves no timer behind. */
START_TEST(no_timeout_after_success)
{
    struct unitnet *u = unet_knowing_kernel(NULL);
    for (int i = 0; i < 3; i++)
        inject_big(u, i);
    unet_drain(u);
    unet_advance(u, 2 * (uint64_t)stack_config(u->stack)->reasm_timeout_ms * 1000);
    ck_assert_uint_eq(stack_stats(u->stack)->ip.reasm_timeout, 0);
    ck_assert_uint_eq(unet_sent(u), 0);
    unet_destroy(u);
}
END_TEST

START_TEST(limit_datagrams)
{
    struct stack_config cfg;
    unet_config(&cfg);
    cfg.reasm_max_datagrams = 2;
    struct unitnet *u = unet_knowing_kernel(&cfg);
    const struct stack_stats *st = stack_stats(u->stack);
    uint8_t request[BIG_ICMP];
    big_icmp(request);

    inject_fragment(u, 1, 0, true, request, FRAG_DATA);
    inject_fragment(u, 2, 0, true, request, FRAG_DATA);
    inject_fragment(u, 3, 0, true, request, FRAG_DATA); /* a third at once: 1 (oldest) goes */
    ck_assert_uint_eq(st->ip.reasm_evicted, 1);
    ck_assert_uint_eq(st->ip.reasm_limit, 0);
    /* datagrams 2 and 3 complete */
    inject_fragment(u, 3, 2 * FRAG_DATA, false, request + 2 * FRAG_DATA, FRAG3_DATA);
    inject_fragment(u, 3, FRAG_DATA, true, request + FRAG_DATA, FRAG_DATA);
    ck_assert_uint_eq(st->ip.reasm_ok, 1);
    inject_fragment(u, 2, FRAG_DATA, true, request + FRAG_DATA, FRAG_DATA);
    inject_fragment(u, 2, 2 * FRAG_DATA, false, request + 2 * FRAG_DATA, FRAG3_DATA);
    ck_assert_uint_eq(st->ip.reasm_ok, 2);
    /* what arrives of datagram 1 now starts over, and cannot complete without its start */
    inject_fragment(u, 1, FRAG_DATA, true, request + FRAG_DATA, FRAG_DATA);
    inject_fragment(u, 1, 2 * FRAG_DATA, false, request + 2 * FRAG_DATA, FRAG3_DATA);
    ck_assert_uint_eq(st->ip.reasm_ok, 2);
    ck_assert_uint_eq(st->ip.reasm_evicted, 1);
    unet_destroy(u);
}
END_TEST

/* conformance: IP-3.3.2-3 */
START_TEST(limit_bytes)
{
    struct stack_config cfg;
    unet_config(&cfg);
    cfg.reasm_max_bytes = 3000;
    struct unitnet *u = unet_knowing_kernel(&cfg);
    const struct stack_stats *st = stack_stats(u->stack);
    uint8_t request[BIG_ICMP];
    big_icmp(request);

    inject_big(u, 0);
    inject_big(u, 1); /* 2960 bytes held */
    inject_big(u, 2); /* would need 4008: more than all the buffers, evicting cannot help */
    ck_assert_uint_eq(st->ip.reasm_limit, 1);
    ck_assert_uint_eq(st->ip.reasm_evicted, 0);
    /* another datagram: 48 more bytes do not fit, so the oldest (the big one) makes room */
    inject_fragment(u, 7, 0, true, request, 48);
    ck_assert_uint_eq(st->ip.reasm_evicted, 1);
    ck_assert_uint_eq(st->ip.reasm_limit, 1);
    inject_fragment(u, 7, 48, false, request + 48, 8);
    ck_assert_uint_eq(st->ip.reasm_ok, 1);
    /* the evicted datagram never sends time exceeded: it was not timed out */
    unet_advance(u, (uint64_t)cfg.reasm_timeout_ms * 1000);
    ck_assert_uint_eq(st->ip.reasm_timeout, 0);
    unet_destroy(u);
}
END_TEST

/* Fragments of different datagrams (other id, other protocol) do not mix. */
START_TEST(key_separates_datagrams)
{
    struct unitnet *u = unet_knowing_kernel(NULL);
    uint8_t request[BIG_ICMP];
    big_icmp(request);
    inject_big(u, 0);
    inject_big(u, 1);
    inject_fragment(u, BIG_ID + 1, 2 * FRAG_DATA, false, request + 2 * FRAG_DATA, FRAG3_DATA);
    ck_assert_uint_eq(stack_stats(u->stack)->ip.reasm_ok, 0);
    /* the same id with protocol UDP is another datagram too */
    uint8_t f[IP_OFF + 20 + FRAG3_DATA];
    size_t n = make_fragment(f, BIG_ID, 2 * FRAG_DATA, false, request + 2 * FRAG_DATA, FRAG3_DATA);
    f[IP_OFF + 9] = IP_PROTO_UDP;
    put_be16(f + IP_OFF + 10, 0);
    put_be16(f + IP_OFF + 10, inet_checksum(f + IP_OFF, 20));
    unet_inject(u, f, n);
    ck_assert_uint_eq(stack_stats(u->stack)->ip.reasm_ok, 0);
    inject_big(u, 2);
    check_reassembled_once(u);
    expect_big_echo_reply(u);
    unet_destroy(u);
}
END_TEST

static Suite *ip_suite(void)
{
    Suite *s = suite_create("ip");
    TCase *tc = tcase_create("header");
    tcase_add_test(tc, parse_kernel_echo_request);
    tcase_add_test(tc, parse_kernel_fragments);
    tcase_add_test(tc, truncated_every_length);
    tcase_add_test(tc, ihl_below_5);
    tcase_add_test(tc, ihl_past_packet);
    tcase_add_test(tc, bad_version);
    tcase_add_test(tc, total_length_lies);
    tcase_add_test(tc, bad_header_checksum);
    tcase_add_test(tc, ttl_zero_and_one_answered);
    tcase_add_test(tc, not_for_us_and_bad_source);
    tcase_add_test(tc, unknown_protocol);
    tcase_add_test(tc, route_by_mask_and_gateway);
    tcase_add_test(tc, options_skipped);
    tcase_add_test(tc, bad_option_parameter_problem);
    tcase_add_test(tc, drops_are_logged);
    tcase_add_test(tc, zero_broadcast_forms);
    tcase_add_test(tc, link_broadcast_to_unicast_dropped);
    tcase_add_test(tc, manual_configuration);
    suite_add_tcase(s, tc);

    tc = tcase_create("reassembly");
    tcase_add_test(tc, kernel_fragments_every_order);
    tcase_add_test(tc, reassembled_header);
    tcase_add_test(tc, duplicate_fragment_ignored);
    tcase_add_test(tc, same_datagram_twice);
    tcase_add_test(tc, overlap_same_bytes_accepted);
    tcase_add_test(tc, overlap_different_bytes_drops_all);
    tcase_add_test(tc, conflicting_end_drops_all);
    tcase_add_test(tc, malformed_fragments);
    tcase_add_test(tc, largest_datagram);
    tcase_add_test(tc, timeout_sends_time_exceeded);
    tcase_add_test(tc, no_error_about_an_icmp_error);
    tcase_add_test(tc, no_timeout_after_success);
    tcase_add_test(tc, limit_datagrams);
    tcase_add_test(tc, limit_bytes);
    tcase_add_test(tc, key_separates_datagrams);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ip_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
