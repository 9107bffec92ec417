/* test_icmp.c - ICMP (stack/icmp.c) with the kernel's echo request and echo reply.
 *
 * The echo reply byte by byte (with its checksum), every truncated length, bad checksums,
 * unknown types, broadcast pings not answered, the kernel's echo reply handed to the ping
 * callback, and errors we receive reported to it.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../stack/eth.h"
#include "../../stack/icmp.h"
#include "../../stack/ip.h"
#include "../../stack/pkb.h"
#include "unitnet.h"
#include "vectors.h"

#define IP_OFF   ETH_HDR_LEN
#define ICMP_OFF (ETH_HDR_LEN + 20)

static const uint8_t our_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};

static struct unitnet *unet_knowing_kernel(void)
{
    struct unitnet *u = unet_create(NULL);
    ck_assert_ptr_nonnull(u);
    unet_inject(u, kern_arp_request, sizeof(kern_arp_request));
    unet_drain(u);
    return u;
}

/* An IP datagram from the kernel with IP options (opts_len a multiple of 4) carrying `len`
 * bytes of ICMP, valid IP header. */
static size_t make_icmp_frame_with_options(uint8_t *f, const uint8_t *icmp, size_t len,
                                           uint32_t dst, const uint8_t *opts, size_t opts_len)
{
    memcpy(f, kern_echo_request, ETH_HDR_LEN);
    struct ip_hdr h = {
        .version = 4,
        .ihl = (uint8_t)(5 + opts_len / 4),
        .total_len = (uint16_t)(20 + opts_len + len),
        .id = 0x1234,
        .ttl = 64,
        .proto = IP_PROTO_ICMP,
        .src = KERN_IP,
        .dst = dst,
        .options = opts,
    };
    ip_build(&h, f + IP_OFF);
    if (len)
        memcpy(f + ICMP_OFF + opts_len, icmp, len);
    return ICMP_OFF + opts_len + len;
}

/* The same without options. */
static size_t make_icmp_frame(uint8_t *f, const uint8_t *icmp, size_t len, uint32_t dst)
{
    return make_icmp_frame_with_options(f, icmp, len, dst, NULL, 0);
}

START_TEST(parse_kernel_echo_request)
{
    struct icmp_hdr h;
    const uint8_t *icmp = kern_echo_request + ICMP_OFF;
    ck_assert_int_eq(icmp_parse(icmp, 64, &h), 0);
    ck_assert_uint_eq(h.type, ICMP_ECHO_REQUEST);
    ck_assert_uint_eq(h.code, 0);
    ck_assert_uint_eq(h.checksum, 0x9e54);
    ck_assert_uint_eq(h.rest, 0x22ba0001); /* identifier 0x22ba, sequence 1 */
    ck_assert(unet_checksum_ok(icmp, 64));
    uint8_t back[ICMP_HDR_LEN];
    icmp_build(&h, back);
    ck_assert_mem_eq(back, icmp, ICMP_HDR_LEN);

    ck_assert_int_eq(icmp_parse(kern_echo_reply + ICMP_OFF, 64, &h), 0);
    ck_assert_uint_eq(h.type, ICMP_ECHO_REPLY);
    ck_assert_uint_eq(h.rest, 0x23090001);
}
END_TEST

/* The reply to the kernel's ping, every byte: Ethernet and IP headers built by us, the ICMP
 * message the request's with type 0 and the checksum adjusted by 0x0800 (RFC 1624). */
/* conformance: IP-3.2.2.6-1 IP-3.2.2.6-3 IP-3.2.2.6-4 IP-3.3.4.2-1 */
START_TEST(echo_reply_bytes)
{
    struct unitnet *u = unet_knowing_kernel();
    unet_inject(u, kern_echo_request, sizeof(kern_echo_request));
    size_t n = unet_sent(u);
    ck_assert_uint_eq(n, sizeof(kern_echo_request));
    const uint8_t *f = u->frame;

    ck_assert_mem_eq(f, kern_mac, 6);
    ck_assert_mem_eq(f + 6, our_mac, 6);
    ck_assert_uint_eq(get_be16(f + 12), ETH_TYPE_IPV4);

    struct ip_hdr h;
    ck_assert_int_eq(ip_parse(f + IP_OFF, n - IP_OFF, &h), IP_OK);
    ck_assert_uint_eq(f[IP_OFF], 0x45);
    ck_assert_uint_eq(h.total_len, 84);
    ck_assert(!h.mf);
    ck_assert_uint_eq(h.frag_off, 0);
    ck_assert_uint_eq(h.ttl, 64);
    ck_assert_uint_eq(h.proto, IP_PROTO_ICMP);
    ck_assert_uint_eq(h.src, UNET_STACK_IP);
    ck_assert_uint_eq(h.dst, KERN_IP);

    uint8_t expect[64];
    memcpy(expect, kern_echo_request + ICMP_OFF, sizeof(expect));
    expect[0] = ICMP_ECHO_REPLY;
    put_be16(expect + 2, 0x9e54 + 0x0800);
    ck_assert_mem_eq(f + ICMP_OFF, expect, sizeof(expect));
    ck_assert(unet_checksum_ok(f + ICMP_OFF, 64));

    const struct stack_stats *st = stack_stats(u->stack);
    ck_assert_uint_eq(st->icmp.rx_messages, 1);
    ck_assert_uint_eq(st->icmp.echo_requests_rx, 1);
    ck_assert_uint_eq(st->icmp.echo_replies_tx, 1);
    ck_assert_uint_eq(st->ip.rx_delivered, 1);
    ck_assert_uint_eq(st->ip.tx_packets, 1);
    unet_destroy(u);
}
END_TEST

START_TEST(truncated_every_length)
{
    struct icmp_hdr h;
    for (size_t n = 0; n < ICMP_HDR_LEN; n++)
        ck_assert_int_eq(icmp_parse(kern_echo_request + ICMP_OFF, n, &h), -1);

    struct unitnet *u = unet_knowing_kernel();
    uint8_t f[128];
    for (size_t n = 0; n < ICMP_HDR_LEN; n++)
        unet_inject(u, f, make_icmp_frame(f, kern_echo_request + ICMP_OFF, n, UNET_STACK_IP));
    const struct stack_stats *st = stack_stats(u->stack);
    ck_assert_uint_eq(st->icmp.rx_messages, ICMP_HDR_LEN);
    ck_assert_uint_eq(st->icmp.rx_truncated, ICMP_HDR_LEN);
    ck_assert_uint_eq(st->icmp.echo_requests_rx, 0);
    ck_assert_uint_eq(unet_sent(u), 0);
    unet_destroy(u);
}
END_TEST

/* Any flipped bit in the message makes its checksum fail: no reply. */
START_TEST(bad_checksum)
{
    struct unitnet *u = unet_knowing_kernel();
    for (size_t byte = 0; byte < 64; byte += 7) {
        uint8_t f[sizeof(kern_echo_request)];
        memcpy(f, kern_echo_request, sizeof(f));
        f[ICMP_OFF + byte] ^= 0x10;
        unet_inject(u, f, sizeof(f));
    }
    const struct stack_stats *st = stack_stats(u->stack);
    ck_assert_uint_eq(st->icmp.rx_bad_checksum, 10);
    ck_assert_uint_eq(st->icmp.echo_replies_tx, 0);
    ck_assert_uint_eq(unet_sent(u), 0);
    unet_destroy(u);
}
END_TEST

/* Types tapir does not speak are dropped silently: timestamp, information and address
 * mask requests (never answered, so tapir sends no unauthorized mask reply) and source
 * quench (RFC 6633: hosts ignore it; RFC 9293 MUST-55). */
/* conformance: IP-3.2.2-1 IP-3.2.2.7-1 IP-3.2.2.9-7 MUST-55 */
START_TEST(unknown_type)
{
    struct unitnet *u = unet_knowing_kernel();
    static const uint8_t types[] = {13, 15, 17, 4};
    for (size_t i = 0; i < sizeof(types); i++) {
        uint8_t icmp[20] = {types[i], 0};
        put_be16(icmp + 2, inet_checksum(icmp, sizeof(icmp)));
        uint8_t f[128];
        unet_inject(u, f, make_icmp_frame(f, icmp, sizeof(icmp), UNET_STACK_IP));
    }
    ck_assert_uint_eq(stack_stats(u->stack)->icmp.rx_unknown_type, sizeof(types));
    ck_assert_uint_eq(unet_sent(u), 0);
    unet_destroy(u);
}
END_TEST

/* Like Linux, a ping to the broadcast address is not answered. */
START_TEST(broadcast_echo_not_answered)
{
    struct unitnet *u = unet_knowing_kernel();
    uint8_t f[128];
    size_t n = make_icmp_frame(f, kern_echo_request + ICMP_OFF, 64, 0x0a0000ff);
    memset(f, 0xff, 6);
    unet_inject(u, f, n);
    const struct stack_stats *st = stack_stats(u->stack);
    ck_assert_uint_eq(st->icmp.echo_requests_rx, 1);
    ck_assert_uint_eq(st->icmp.echo_replies_tx, 0);
    ck_assert_uint_eq(st->icmp.echo_broadcast_ignored, 1);
    ck_assert_uint_eq(unet_sent(u), 0);
    unet_destroy(u);
}
END_TEST

/* RFC 1122 3.2.2.6: the reply carries the request's Record Route and Timestamp options,
 * whole, with our address and our time added where a slot is free; full ones come back
 * as they were (a full timestamp counts one more overflow); other options are not
 * reflected (a source route is left out on purpose). */
/* conformance: IP-3.2.2.6-6 */
START_TEST(echo_reply_reflects_record_route_and_timestamp)
{
    struct unitnet *u = unet_knowing_kernel();
    static const uint8_t opts[24] = {
        IPOPT_RR, 11, 8, 10,   0, 0, 1, 0, 0, 0, 0,    /* the kernel's address, one free slot */
        IPOPT_TS, 12, 5, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, /* times only, two free slots */
        IPOPT_EOL};
    uint8_t f[256];
    size_t n = make_icmp_frame_with_options(f, kern_echo_request + ICMP_OFF, 64, UNET_STACK_IP,
                                            opts, sizeof(opts));
    uint64_t before_ms = u->now_us / 1000;
    unet_inject(u, f, n);
    uint64_t after_ms = u->now_us / 1000;
    ck_assert_uint_eq(unet_sent(u), n);
    struct ip_hdr h;
    ck_assert_int_eq(ip_parse(u->frame + IP_OFF, n - IP_OFF, &h), IP_OK);
    ck_assert_uint_eq(h.ihl, 11);
    const uint8_t *o = u->frame + IP_OFF + 20;
    static const uint8_t rr[11] = {IPOPT_RR, 11, 12, 10, 0, 0, 1, 10, 0, 0, 2};
    ck_assert_mem_eq(o, rr, 11);
    ck_assert_uint_eq(o[11], IPOPT_TS);
    ck_assert_uint_eq(o[12], 12);
    ck_assert_uint_eq(o[13], 9); /* one slot used */
    ck_assert_uint_eq(o[14], 0x00);
    uint32_t ts = get_be32(o + 15);
    ck_assert(ts >= before_ms && ts <= after_ms); /* ms on the stack's clock */
    ck_assert_uint_eq(get_be32(o + 19), 0);
    ck_assert_uint_eq(o[23], IPOPT_EOL);
    const uint8_t *icmp = u->frame + IP_OFF + 44;
    ck_assert_uint_eq(icmp[0], ICMP_ECHO_REPLY);
    ck_assert(unet_checksum_ok(icmp, 64));
    ck_assert_mem_eq(icmp + 4, kern_echo_request + ICMP_OFF + 4, 60);

    /* full: the route as it was, the timestamp's overflow count up by one; a loose source
     * route is not reflected */
    static const uint8_t full[20] = {
        IPOPT_RR,   7, 8, 10,        0,         0, 1,    /* no free slot */
        IPOPT_TS,   8, 9, 0x10,      0,         0, 0, 5, /* full, one overflow so far */
        IPOPT_LSRR, 3, 4, IPOPT_EOL, IPOPT_EOL,
    };
    n = make_icmp_frame_with_options(f, kern_echo_request + ICMP_OFF, 64, UNET_STACK_IP, full,
                                     sizeof(full));
    unet_inject(u, f, n);
    ck_assert_uint_eq(unet_sent(u), n - 4); /* RR 7 + TS 8 + 1 padding: 16 bytes */
    o = u->frame + IP_OFF + 20;
    ck_assert_uint_eq(u->frame[IP_OFF] & 0x0f, 9);
    ck_assert_mem_eq(o, full, 10);
    ck_assert_uint_eq(o[10], 0x20);
    ck_assert_mem_eq(o + 11, full + 11, 4);
    ck_assert_uint_eq(o[15], IPOPT_EOL);
    ck_assert_uint_eq(stack_stats(u->stack)->icmp.echo_replies_tx, 2);
    unet_destroy(u);
}
END_TEST

/* A datagram as ip_input leaves it: header pulled, meta filled. A UDP datagram from the
 * kernel to us (the echo request's header with protocol 17). */
static struct pkb *received_udp(uint32_t src, uint16_t frag_field, bool link_broadcast)
{
    uint8_t d[28];
    memcpy(d, kern_echo_request + IP_OFF, 28);
    d[9] = IP_PROTO_UDP;
    put_be32(d + 12, src);
    put_be16(d + 6, frag_field);
    struct pkb *p = pkb_from_bytes(d, sizeof(d));
    ck_assert_ptr_nonnull(p);
    p->meta.ip_hdr = p->data;
    p->meta.ip_hdr_len = 20;
    p->meta.ip_src = src;
    p->meta.ip_dst = UNET_STACK_IP;
    p->meta.ip_proto = IP_PROTO_UDP;
    p->meta.link_broadcast = link_broadcast;
    pkb_pull(p, 20);
    return p;
}

/* RFC 1122 3.2.2: icmp_send_error keeps quiet, whoever asks, about a link-layer
 * broadcast, a fragment other than the first, and a datagram whose source is not one
 * host. ip_input drops most of these before any protocol sees them, so the test hands
 * them to icmp_send_error itself, as a transport would. */
/* conformance: IP-3.2.2-7 IP-3.2.2-8 IP-3.2.2-9 */
START_TEST(error_rules_for_every_caller)
{
    struct unitnet *u = unet_knowing_kernel();
    const struct stack_stats *st = stack_stats(u->stack);
    struct pkb *ok = received_udp(KERN_IP, 0, false);
    icmp_send_dest_unreach(u->stack, ok, ICMP_UNREACH_PORT); /* the control: allowed */
    pkb_free(ok);
    unet_advance(u, 100);
    ck_assert_uint_eq(unet_sent(u), IP_OFF + 20 + 8 + 28);
    struct pkb *bad[] = {
        received_udp(KERN_IP, 0, true),               /* link-layer broadcast */
        received_udp(KERN_IP, 185, false),            /* offset 1480: not the first */
        received_udp(KERN_IP, IP_FLAG_DF | 1, false), /* offset 8 */
        received_udp(0x00000000, 0, false),           /* this host, no one */
        received_udp(0x0a0000ff, 0, false),           /* the subnet broadcast */
        received_udp(0xffffffff, 0, false),           /* the limited broadcast */
        received_udp(0xe0000001, 0, false),           /* a multicast group */
    };
    size_t n_bad = sizeof(bad) / sizeof(bad[0]);
    for (size_t i = 0; i < n_bad; i++) {
        icmp_send_dest_unreach(u->stack, bad[i], ICMP_UNREACH_PORT);
        pkb_free(bad[i]);
    }
    unet_advance(u, 100);
    ck_assert_uint_eq(unet_sent(u), 0);
    ck_assert_uint_eq(st->icmp.errors_suppressed, n_bad);
    ck_assert_uint_eq(st->icmp.dest_unreach_tx, 1);
    unet_destroy(u);
}
END_TEST

struct ping_log {
    int calls;
    struct ping_event ev;
    uint8_t data[64];
};

static void on_ping(void *ctx, const struct ping_event *ev)
{
    struct ping_log *log = ctx;
    log->calls++;
    log->ev = *ev;
    if (ev->data && ev->data_len <= sizeof(log->data))
        memcpy(log->data, ev->data, ev->data_len);
}

/* The kernel's echo reply reaches the ping callback with its id, sequence, TTL, data. */
/* conformance: IP-3.2.2.6-5 */
START_TEST(kernel_echo_reply_to_callback)
{
    struct unitnet *u = unet_create(NULL);
    struct ping_log log = {0};
    stack_on_ping(u->stack, on_ping, &log);
    unet_inject(u, kern_echo_reply, sizeof(kern_echo_reply));
    ck_assert_int_eq(log.calls, 1);
    ck_assert_int_eq(log.ev.kind, PING_REPLY);
    ck_assert_uint_eq(log.ev.from, KERN_IP);
    ck_assert_uint_eq(log.ev.id, 0x2309);
    ck_assert_uint_eq(log.ev.seq, 1);
    ck_assert_uint_eq(log.ev.ttl, 64);
    ck_assert_uint_eq(log.ev.len, 64);
    ck_assert_uint_eq(log.ev.data_len, 56);
    ck_assert_mem_eq(log.data, kern_echo_reply + ICMP_OFF + 8, 56);
    ck_assert_uint_eq(stack_stats(u->stack)->icmp.echo_replies_rx, 1);
    ck_assert_uint_eq(unet_sent(u), 0);
    unet_destroy(u);
}
END_TEST

/* A time exceeded about one of our echo requests, quoting its header and 8 bytes. */
/* conformance: IP-3.2.2-3 IP-3.2.2.4-1 */
START_TEST(time_exceeded_to_callback)
{
    struct unitnet *u = unet_knowing_kernel();
    struct ping_log log = {0};
    stack_on_ping(u->stack, on_ping, &log);
    ck_assert_int_eq(stack_ping(u->stack, 0x0a000063, 0x4242, 9, "12345678", 8), 0);
    /* ARP for 10.0.0.99 is pending; build the error from the datagram we would send */
    uint8_t orig[28];
    struct ip_hdr oh = {.version = 4,
                        .ihl = 5,
                        .total_len = 36,
                        .id = 1,
                        .ttl = 1,
                        .proto = IP_PROTO_ICMP,
                        .src = UNET_STACK_IP,
                        .dst = 0x0a000063};
    ip_build(&oh, orig);
    struct icmp_hdr eh = {.type = ICMP_ECHO_REQUEST, .rest = 0x42420009};
    icmp_build(&eh, orig + 20);
    uint8_t icmp[8 + sizeof(orig)] = {ICMP_TIME_EXCEEDED, ICMP_EXC_TTL};
    memcpy(icmp + 8, orig, sizeof(orig));
    put_be16(icmp + 2, inet_checksum(icmp, sizeof(icmp)));
    uint8_t f[128];
    unet_inject(u, f, make_icmp_frame(f, icmp, sizeof(icmp), UNET_STACK_IP));
    ck_assert_int_eq(log.calls, 1);
    ck_assert_int_eq(log.ev.kind, PING_TIME_EXCEEDED);
    ck_assert_uint_eq(log.ev.from, KERN_IP);
    ck_assert_uint_eq(log.ev.id, 0x4242);
    ck_assert_uint_eq(log.ev.seq, 9);
    ck_assert_uint_eq(log.ev.code, ICMP_EXC_TTL);
    ck_assert_uint_eq(stack_stats(u->stack)->icmp.time_exceeded_rx, 1);
    unet_destroy(u);
}
END_TEST

/* A redirect from the gateway we use, quoting a datagram we sent to `dst`. */
static void inject_redirect(struct unitnet *u, uint32_t from, uint8_t code, uint32_t dst,
                            uint32_t gateway)
{
    uint8_t orig[28] = {0};
    struct ip_hdr oh = {.version = 4,
                        .ihl = 5,
                        .total_len = 28,
                        .ttl = 64,
                        .proto = IP_PROTO_UDP,
                        .src = UNET_STACK_IP,
                        .dst = dst};
    ip_build(&oh, orig);
    uint8_t icmp[8 + sizeof(orig)] = {ICMP_REDIRECT, code};
    put_be32(icmp + 4, gateway);
    memcpy(icmp + 8, orig, sizeof(orig));
    put_be16(icmp + 2, inet_checksum(icmp, sizeof(icmp)));
    uint8_t f[128];
    size_t n = make_icmp_frame(f, icmp, sizeof(icmp), UNET_STACK_IP);
    put_be32(f + IP_OFF + 12, from);
    put_be16(f + IP_OFF + 10, 0);
    put_be16(f + IP_OFF + 10, inet_checksum(f + IP_OFF, 20));
    unet_inject(u, f, n);
}

/* RFC 1122 3.2.2.2: a redirect from our gateway puts the destination in the route cache;
 * a network redirect counts for the one host (3.3.1.2); a redirect from anyone else, or
 * to a gateway off our network or to ourselves, is ignored. */
/* conformance: IP-3.2.2.2-2 IP-3.2.2.2-3 IP-3.2.2.2-4 IP-3.3.1.2-1 IP-3.3.1.2-2 IP-3.3.1.2-3 */
START_TEST(redirect_updates_route_cache)
{
    struct stack_config cfg;
    unet_config(&cfg);
    cfg.gateway = KERN_IP;
    struct unitnet *u = unet_create(&cfg);
    uint32_t hop = 0;
    ck_assert_int_eq(ip_route(u->stack, 0x08080808, &hop), 0);
    ck_assert_uint_eq(hop, KERN_IP);
    inject_redirect(u, KERN_IP, 1, 0x08080808, 0x0a0000fe); /* host redirect */
    ck_assert_int_eq(ip_route(u->stack, 0x08080808, &hop), 0);
    ck_assert_uint_eq(hop, 0x0a0000fe);
    inject_redirect(u, KERN_IP, 0, 0x08080404, 0x0a0000fd); /* net redirect: this host only */
    ck_assert_int_eq(ip_route(u->stack, 0x08080404, &hop), 0);
    ck_assert_uint_eq(hop, 0x0a0000fd);
    ck_assert_int_eq(ip_route(u->stack, 0x08080405, &hop), 0);
    ck_assert_uint_eq(hop, KERN_IP);
    ck_assert_uint_eq(stack_stats(u->stack)->icmp.redirects_rx, 2);

    inject_redirect(u, 0x0a000077, 1, 0x01010101, 0x0a0000fe); /* not our gateway */
    inject_redirect(u, KERN_IP, 1, 0x01010101, 0xc0a80101);    /* gateway off our net */
    inject_redirect(u, KERN_IP, 1, 0x01010101, UNET_STACK_IP); /* ourselves */
    inject_redirect(u, KERN_IP, 1, 0x0a000005, 0x0a0000fe);    /* dst on-link */
    ck_assert_uint_eq(stack_stats(u->stack)->icmp.redirects_bad, 4);
    ck_assert_int_eq(ip_route(u->stack, 0x01010101, &hop), 0);
    ck_assert_uint_eq(hop, KERN_IP);
    ck_assert_uint_eq(unet_sent(u), 0); /* a host never answers or sends redirects */
    unet_destroy(u);
}
END_TEST

/* Our own ping: the echo request on the wire is well formed and carries our data. */
/* conformance: IP-3.2.2.6-2 */
START_TEST(our_echo_request_bytes)
{
    struct unitnet *u = unet_knowing_kernel();
    ck_assert_int_eq(stack_ping(u->stack, KERN_IP, 0x2309, 1, "0123456789", 10), 0);
    size_t n = unet_sent(u);
    ck_assert_uint_eq(n, ETH_MIN_FRAME); /* 52 bytes padded */
    struct ip_hdr h;
    ck_assert_int_eq(ip_parse(u->frame + IP_OFF, n - IP_OFF, &h), IP_OK);
    ck_assert_uint_eq(h.total_len, 38);
    const uint8_t *icmp = u->frame + ICMP_OFF;
    ck_assert_uint_eq(icmp[0], ICMP_ECHO_REQUEST);
    ck_assert(unet_checksum_ok(icmp, 18));
    ck_assert_uint_eq(get_be32(icmp + 4), 0x23090001);
    ck_assert_mem_eq(icmp + 8, "0123456789", 10);
    unet_destroy(u);
}
END_TEST

static Suite *icmp_suite(void)
{
    Suite *s = suite_create("icmp");
    TCase *tc = tcase_create("icmp");
    tcase_add_test(tc, parse_kernel_echo_request);
    tcase_add_test(tc, echo_reply_bytes);
    tcase_add_test(tc, truncated_every_length);
    tcase_add_test(tc, bad_checksum);
    tcase_add_test(tc, unknown_type);
    tcase_add_test(tc, broadcast_echo_not_answered);
    tcase_add_test(tc, echo_reply_reflects_record_route_and_timestamp);
    tcase_add_test(tc, error_rules_for_every_caller);
    tcase_add_test(tc, kernel_echo_reply_to_callback);
    tcase_add_test(tc, time_exceeded_to_callback);
    tcase_add_test(tc, our_echo_request_bytes);
    tcase_add_test(tc, redirect_updates_route_cache);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(icmp_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
