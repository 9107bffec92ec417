/* test_udp.c - UDP (RFC 768) parsing, checksums and input, against frames the Linux kernel
 * sent and accepted.
 *
 * How the vectors were captured (Debian 12 user space, Linux 6.18, tapir's udp.c of a1e5361):
 *
 *   tap/lab up tapir-udp5418
 *   tap/lab exec tapir-udp5418 build-udp/tapir --trace udp,icmp,ip serve &
 *   tap/lab exec tapir-udp5418 tcpdump -i tap0 --immediate-mode -U -w cap.pcap udp or icmp &
 *   printf 'hello tapir\n' | tap/lab exec tapir-udp5418 nc -u -w1 10.0.0.2 7      (echo)
 *   printf 'closed?\n'     | tap/lab exec tapir-udp5418 nc -u -w1 10.0.0.2 4242   (closed)
 *   tap/lab down tapir-udp5418; tap/lab up tapir-udp5418      (a fresh lab, no serve:)
 *   printf 'anyone?\n' | tap/lab exec tapir-udp5418 build-udp/tapir nc -u 10.0.0.1 5555
 *   tap/lab down tapir-udp5418
 *
 * The bytes below are the frames as tcpdump wrote them (no FCS). tshark -o
 * udp.check_checksum:TRUE calls every IP, UDP and ICMP checksum in them correct (except the
 * UDP checksum quoted inside tapir's ICMP message, which it cannot verify: 8 bytes of data
 * are missing from the quote). Each test drives one stack through a fake link driver
 * that hands it one frame at a time and records what it sends.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../stack/arp.h"
#include "../../stack/bytes.h"
#include "../../stack/checksum.h"
#include "../../stack/eth.h"
#include "../../stack/icmp.h"
#include "../../stack/ip.h"
#include "../../stack/sock.h"
#include "../../stack/stack_impl.h"
#include "../../stack/udp.h"

#define KERNEL_IP 0x0a000001u /* 10.0.0.1 */
#define TAPIR_IP  0x0a000002u /* 10.0.0.2 */
#define ETH_IP    14          /* offset of the IPv4 header in a frame */
#define ETH_L4    34          /* offset of the UDP/ICMP header (IHL 5) */

/* Capture 1, frame 1: the kernel's `nc -u 10.0.0.2 7` sends "hello tapir\n",
 * 10.0.0.1:53487 -> 10.0.0.2:7, UDP checksum 0x8005. 54 bytes (TAP does not pad). */
static const uint8_t kernel_to_echo[] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x7e, 0x20, 0xf1, 0x69, 0xcf, 0x0c, /* eth */
    0x08, 0x00, 0x45, 0x00, 0x00, 0x28, 0x0a, 0x6f, 0x40, 0x00, 0x40, 0x11, /* ip */
    0x1c, 0x54, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0xd0, 0xef, /* udp */
    0x00, 0x07, 0x00, 0x14, 0x80, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x20, /* "hello " */
    0x74, 0x61, 0x70, 0x69, 0x72, 0x0a,                                     /* "tapir\n" */
};

/* Capture 1, frame 2: tapir's echo of it, 10.0.0.2:7 -> 10.0.0.1:53487, padded to 60. */
static const uint8_t tapir_echo_reply[] = {
    0x7e, 0x20, 0xf1, 0x69, 0xcf, 0x0c, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00, 0x45,
    0x00, 0x00, 0x28, 0x1c, 0xaf, 0x00, 0x00, 0x40, 0x11, 0x4a, 0x14, 0x0a, 0x00, 0x00, 0x02,
    0x0a, 0x00, 0x00, 0x01, 0x00, 0x07, 0xd0, 0xef, 0x00, 0x14, 0x80, 0x05, 0x68, 0x65, 0x6c,
    0x6c, 0x6f, 0x20, 0x74, 0x61, 0x70, 0x69, 0x72, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* Capture 1, frame 3: "closed?\n" from 10.0.0.1:50922 to 10.0.0.2:4242, where nobody
 * listens. UDP checksum 0x9d00. */
static const uint8_t kernel_to_closed[] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x7e, 0x20, 0xf1, 0x69, 0xcf, 0x0c, 0x08,
    0x00, 0x45, 0x00, 0x00, 0x24, 0x7e, 0xcb, 0x40, 0x00, 0x40, 0x11, 0xa7, 0xfb,
    0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0xc6, 0xea, 0x10, 0x92, 0x00,
    0x10, 0x9d, 0x00, 0x63, 0x6c, 0x6f, 0x73, 0x65, 0x64, 0x3f, 0x0a,
};

/* Capture 1, frame 4: tapir's ICMP port unreachable for frame 3: type 3 code 3, checksum
 * 0x886f, quoting frame 3's IP header and the first 8 bytes after it. */
static const uint8_t tapir_port_unreach[] = {
    0x7e, 0x20, 0xf1, 0x69, 0xcf, 0x0c, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00,
    0x45, 0x00, 0x00, 0x38, 0x1c, 0xb0, 0x00, 0x00, 0x40, 0x01, 0x4a, 0x13, 0x0a, 0x00,
    0x00, 0x02, 0x0a, 0x00, 0x00, 0x01, 0x03, 0x03, 0x88, 0x6f, 0x00, 0x00, 0x00, 0x00,
    0x45, 0x00, 0x00, 0x24, 0x7e, 0xcb, 0x40, 0x00, 0x40, 0x11, 0xa7, 0xfb, 0x0a, 0x00,
    0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0xc6, 0xea, 0x10, 0x92, 0x00, 0x10, 0x9d, 0x00,
};

/* Capture 2, frame 1: `tapir nc -u 10.0.0.1 5555` sends "anyone?\n" from port 59250. */
static const uint8_t tapir_to_closed[] = {
    0xd6, 0xe8, 0x4b, 0x71, 0x10, 0x3a, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00, 0x45,
    0x00, 0x00, 0x24, 0xea, 0x7c, 0x00, 0x00, 0x40, 0x11, 0x7c, 0x4a, 0x0a, 0x00, 0x00, 0x02,
    0x0a, 0x00, 0x00, 0x01, 0xe7, 0x72, 0x15, 0xb3, 0x00, 0x10, 0x66, 0x58, 0x61, 0x6e, 0x79,
    0x6f, 0x6e, 0x65, 0x3f, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* Capture 2, frame 2: the kernel's port unreachable for it. Linux quotes the whole
 * datagram (RFC 1812 allows up to 576 bytes), not only 8 bytes of it. */
static const uint8_t kernel_port_unreach[] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0xd6, 0xe8, 0x4b, 0x71, 0x10, 0x3a, 0x08, 0x00, 0x45, 0xc0,
    0x00, 0x40, 0x11, 0x22, 0x00, 0x00, 0x40, 0x01, 0x54, 0xd9, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00,
    0x00, 0x02, 0x03, 0x03, 0x11, 0x21, 0x00, 0x00, 0x00, 0x00, 0x45, 0x00, 0x00, 0x24, 0xea, 0x7c,
    0x00, 0x00, 0x40, 0x11, 0x7c, 0x4a, 0x0a, 0x00, 0x00, 0x02, 0x0a, 0x00, 0x00, 0x01, 0xe7, 0x72,
    0x15, 0xb3, 0x00, 0x10, 0x66, 0x58, 0x61, 0x6e, 0x79, 0x6f, 0x6e, 0x65, 0x3f, 0x0a,
};

static const uint8_t kernel_mac[6] = {0x7e, 0x20, 0xf1, 0x69, 0xcf, 0x0c};

/* ---- a fake link driver: one frame in at a time, every frame out recorded ---- */

#define MAX_TX    8
#define MAX_FRAME 2048
struct fake_link {
    uint8_t rx[MAX_FRAME];
    size_t rx_len;
    bool rx_ready;
    uint8_t tx[MAX_TX][MAX_FRAME];
    size_t tx_len[MAX_TX];
    unsigned n_tx;
};

static int fake_send(void *driver, const uint8_t *frame, size_t len, uint64_t now_us)
{
    struct fake_link *l = driver;
    (void)now_us;
    if (l->n_tx < MAX_TX && len <= MAX_FRAME) {
        memcpy(l->tx[l->n_tx], frame, len);
        l->tx_len[l->n_tx] = len;
    }
    l->n_tx++;
    return 0;
}

static ssize_t fake_recv(void *driver, uint8_t *buf, size_t cap, uint64_t now_us)
{
    struct fake_link *l = driver;
    (void)now_us;
    if (!l->rx_ready || l->rx_len > cap)
        return 0;
    l->rx_ready = false;
    memcpy(buf, l->rx, l->rx_len);
    return (ssize_t)l->rx_len;
}

static int fake_fd(void *driver)
{
    (void)driver;
    return -1;
}

static const struct netif_ops fake_ops = {
    .kind = "fake", .send = fake_send, .recv = fake_recv, .fd = fake_fd};

/* ---- the fixture: tapir at 10.0.0.2 that knows the kernel's MAC, echo socket on 7 ---- */

static struct fake_link fake;
static struct stack *st;
static uint64_t now_us;
static struct sock *sk;    /* bound to port 7, like the echo service of the capture */
static int readable_calls; /* on_readable events on any socket */
static int error_calls, last_error;

static void on_readable(struct sock *s, void *ctx)
{
    (void)s, (void)ctx;
    readable_calls++;
}

static void on_error(struct sock *s, int err, void *ctx)
{
    (void)s, (void)ctx;
    error_calls++;
    last_error = err;
}

static const struct sock_events events = {.on_readable = on_readable, .on_error = on_error};

static void deliver(const uint8_t *frame, size_t len)
{
    ck_assert_uint_le(len, MAX_FRAME);
    memcpy(fake.rx, frame, len);
    fake.rx_len = len;
    fake.rx_ready = true;
    now_us += 1000;
    stack_step(st, now_us);
    ck_assert(!fake.rx_ready);
}

/* The kernel asks who has 10.0.0.2: tapir answers and learns the kernel's MAC (RFC 826),
 * so its replies leave at once instead of waiting for ARP. */
static void introduce_kernel(void)
{
    uint8_t f[ETH_HDR_LEN + ARP_PKT_LEN];
    struct eth_hdr eh = {.type = ETH_TYPE_ARP};
    memcpy(eh.dst, eth_broadcast, 6);
    memcpy(eh.src, kernel_mac, 6);
    eth_build(&eh, f);
    struct arp_pkt ap = {.htype = 1,
                         .ptype = ETH_TYPE_IPV4,
                         .hlen = 6,
                         .plen = 4,
                         .op = ARP_OP_REQUEST,
                         .spa = KERNEL_IP,
                         .tpa = TAPIR_IP};
    memcpy(ap.sha, kernel_mac, 6);
    arp_build(&ap, f + ETH_HDR_LEN);
    deliver(f, sizeof(f));
    uint8_t mac[6];
    ck_assert(arp_lookup(st, KERNEL_IP, mac));
}

static void setup(void)
{
    struct stack_config cfg;
    stack_config_init(&cfg); /* 10.0.0.2/24, 02:00:00:00:00:02, as `tapir serve` */
    cfg.seed = 1;
    memset(&fake, 0, sizeof(fake));
    now_us = 1000000;
    st = stack_create(&cfg, &fake_ops, &fake);
    ck_assert_ptr_nonnull(st);
    stack_start(st, now_us);
    introduce_kernel();
    sk = sock_open(st, SOCK_TYPE_UDP);
    ck_assert_ptr_nonnull(sk);
    sock_on(sk, &events, NULL);
    ck_assert_int_eq(sock_bind(sk, 0, 7), 0);
    /* from here on count only what the test does */
    fake.n_tx = 0;
    memset(&st->stats, 0, sizeof(st->stats));
    readable_calls = error_calls = last_error = 0;
}

static void teardown(void)
{
    stack_destroy(st); /* closes sk too */
    st = NULL;
    sk = NULL;
}

/* ---- helpers to make a captured frame lie ---- */

struct frame {
    uint8_t b[MAX_FRAME];
    size_t len;
};

static struct frame copy_frame(const uint8_t *bytes, size_t len)
{
    struct frame f;
    memset(&f, 0, sizeof(f));
    memcpy(f.b, bytes, len);
    f.len = len;
    return f;
}

static void fix_ip_checksum(struct frame *f)
{
    put_be16(f->b + ETH_IP + 10, 0);
    put_be16(f->b + ETH_IP + 10, inet_checksum(f->b + ETH_IP, IP_HDR_LEN));
}

/* Cut the IP datagram to `l4_len` bytes after its header (IP total length follows). */
static void cut_ip_payload(struct frame *f, size_t l4_len)
{
    f->len = ETH_L4 + l4_len;
    put_be16(f->b + ETH_IP + 2, (uint16_t)(IP_HDR_LEN + l4_len));
    fix_ip_checksum(f);
}

/* The UDP checksum over pseudo-header + the first `ulen` bytes, with the field as 0. */
static uint16_t udp_checksum_of(const uint8_t *ip_hdr, const uint8_t *udp, uint16_t ulen)
{
    uint8_t tmp[MAX_FRAME];
    memcpy(tmp, udp, ulen);
    put_be16(tmp + 6, 0);
    uint32_t sum =
        csum_pseudo_header(get_be32(ip_hdr + 12), get_be32(ip_hdr + 16), IP_PROTO_UDP, ulen);
    return csum_fold(csum_add(sum, tmp, ulen));
}

static void fix_udp_checksum(struct frame *f)
{
    uint16_t ulen = get_be16(f->b + ETH_L4 + 4);
    uint16_t c = udp_checksum_of(f->b + ETH_IP, f->b + ETH_L4, ulen);
    put_be16(f->b + ETH_L4 + 6, c ? c : 0xffff);
}

/* Does pseudo-header + datagram (checksum field included) sum to 0, as a receiver checks? */
static bool udp_verifies(const uint8_t *ip_hdr, const uint8_t *udp)
{
    uint16_t ulen = get_be16(udp + 4);
    uint32_t sum =
        csum_pseudo_header(get_be32(ip_hdr + 12), get_be32(ip_hdr + 16), IP_PROTO_UDP, ulen);
    return csum_fold(csum_add(sum, udp, ulen)) == 0;
}

static void assert_nothing_delivered(void)
{
    uint8_t buf[64];
    ck_assert_int_eq(readable_calls, 0);
    ck_assert_int_eq(sock_recvfrom(sk, buf, sizeof(buf), NULL, NULL), -EAGAIN);
}

/* ---- parsing and checksums ---- */

START_TEST(test_parse_captured_header)
{
    struct udp_hdr h;
    ck_assert_int_eq(udp_parse(kernel_to_echo + ETH_L4, sizeof(kernel_to_echo) - ETH_L4, &h), 0);
    ck_assert_uint_eq(h.sport, 53487);
    ck_assert_uint_eq(h.dport, 7);
    ck_assert_uint_eq(h.len, 20); /* 8 header + 12 "hello tapir\n" */
    ck_assert_uint_eq(h.checksum, 0x8005);

    uint8_t back[UDP_HDR_LEN];
    udp_build(&h, back);
    ck_assert_mem_eq(back, kernel_to_echo + ETH_L4, UDP_HDR_LEN);
}
END_TEST

START_TEST(test_parse_truncated_every_length)
{
    struct udp_hdr h;
    for (size_t n = 0; n < UDP_HDR_LEN; n++)
        ck_assert_int_eq(udp_parse(kernel_to_echo + ETH_L4, n, &h), -1);
    ck_assert_int_eq(udp_parse(kernel_to_echo + ETH_L4, UDP_HDR_LEN, &h), 0);
}
END_TEST

/* Every captured datagram, the kernel's and tapir's, sums to 0 with its pseudo-header, and
 * recomputing the checksum from a zeroed field gives the captured value. */
/* conformance: UDP-4.1.3.4-1 */
START_TEST(test_checksum_of_captured_datagrams)
{
    static const struct {
        const uint8_t *frame;
        uint16_t checksum;
    } v[] = {
        {kernel_to_echo, 0x8005},
        {tapir_echo_reply, 0x8005}, /* same sum: addresses and ports only swapped */
        {kernel_to_closed, 0x9d00},
        {tapir_to_closed, 0x6658},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        const uint8_t *ip = v[i].frame + ETH_IP, *udp = v[i].frame + ETH_L4;
        ck_assert_msg(udp_verifies(ip, udp), "vector %zu does not verify", i);
        ck_assert_uint_eq(udp_checksum_of(ip, udp, get_be16(udp + 4)), v[i].checksum);
    }
}
END_TEST

/* ---- input: what reaches the socket, what is dropped and counted ---- */

START_TEST(test_captured_datagram_delivered)
{
    deliver(kernel_to_echo, sizeof(kernel_to_echo));
    ck_assert_int_eq(readable_calls, 1);
    uint8_t buf[64];
    uint32_t ip = 0;
    uint16_t port = 0;
    ck_assert_int_eq(sock_recvfrom(sk, buf, sizeof(buf), &ip, &port), 12);
    ck_assert_mem_eq(buf, "hello tapir\n", 12);
    ck_assert_uint_eq(ip, KERNEL_IP);
    ck_assert_uint_eq(port, 53487);
    ck_assert_int_eq(sock_recvfrom(sk, buf, sizeof(buf), &ip, &port), -EAGAIN);

    const struct udp_stats *u = &stack_stats(st)->udp;
    ck_assert_uint_eq(u->rx_datagrams, 1);
    ck_assert_uint_eq(u->rx_truncated + u->rx_bad_length + u->rx_bad_checksum + u->rx_no_port +
                          u->rx_queue_full,
                      0);
    ck_assert_uint_eq(fake.n_tx, 0);
}
END_TEST

/* Echoing it back through the socket API gives the frame tapir sent the real kernel, except
 * the IP identification (random) and so the IP header checksum. */
/* conformance: UDP-4.1.3.4-3 UDP-4.1.3.6-2 */
START_TEST(test_echo_matches_captured_reply)
{
    deliver(kernel_to_echo, sizeof(kernel_to_echo));
    uint8_t buf[64];
    uint32_t ip;
    uint16_t port;
    ssize_t n = sock_recvfrom(sk, buf, sizeof(buf), &ip, &port);
    ck_assert_int_eq(n, 12);
    ck_assert_int_eq(sock_sendto(sk, buf, (size_t)n, ip, port), 12);

    ck_assert_uint_eq(fake.n_tx, 1);
    const uint8_t *t = fake.tx[0];
    ck_assert_uint_eq(fake.tx_len[0], sizeof(tapir_echo_reply));
    ck_assert_mem_eq(t, tapir_echo_reply, ETH_IP + 4);                  /* eth, ver..len */
    ck_assert_mem_eq(t + ETH_IP + 6, tapir_echo_reply + ETH_IP + 6, 4); /* flags..proto */
    ck_assert_mem_eq(t + ETH_IP + 12, tapir_echo_reply + ETH_IP + 12,
                     sizeof(tapir_echo_reply) - ETH_IP - 12); /* addresses, UDP, padding */
    ck_assert_uint_eq(inet_checksum(t + ETH_IP, IP_HDR_LEN), 0);
    ck_assert_uint_eq(stack_stats(st)->udp.tx_datagrams, 1);
}
END_TEST

/* Ethernet pads short frames; the IP total length, not the frame, says where UDP ends. */
START_TEST(test_ethernet_padding_not_delivered)
{
    struct frame f = copy_frame(kernel_to_echo, sizeof(kernel_to_echo));
    f.len = ETH_MIN_FRAME; /* six zero bytes of padding */
    deliver(f.b, f.len);
    uint8_t buf[64];
    ck_assert_int_eq(sock_recvfrom(sk, buf, sizeof(buf), NULL, NULL), 12);
    ck_assert_uint_eq(stack_stats(st)->udp.rx_bad_checksum, 0);
}
END_TEST

/* An IP datagram carrying 0..7 bytes cannot hold a UDP header: dropped, counted, and not
 * answered with ICMP (there is no port to be unreachable). */
START_TEST(test_truncated_every_length_dropped)
{
    for (size_t n = 0; n < UDP_HDR_LEN; n++) {
        struct frame f = copy_frame(kernel_to_closed, sizeof(kernel_to_closed));
        cut_ip_payload(&f, n);
        deliver(f.b, f.len);
        ck_assert_uint_eq(stack_stats(st)->udp.rx_truncated, n + 1);
    }
    ck_assert_uint_eq(stack_stats(st)->ip.rx_delivered, UDP_HDR_LEN); /* IP had no complaint */
    ck_assert_uint_eq(stack_stats(st)->udp.rx_datagrams, UDP_HDR_LEN);
    ck_assert_uint_eq(stack_stats(st)->udp.rx_no_port, 0);
    ck_assert_uint_eq(fake.n_tx, 0);
}
END_TEST

/* The length field claims more than IP carried: dropped as rx_bad_length. */
START_TEST(test_length_longer_than_datagram_dropped)
{
    static const uint16_t lies[] = {21, 28, 0xffff};
    for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
        struct frame f = copy_frame(kernel_to_echo, sizeof(kernel_to_echo));
        put_be16(f.b + ETH_L4 + 4, lies[i]);
        deliver(f.b, f.len);
        ck_assert_uint_eq(stack_stats(st)->udp.rx_bad_length, i + 1);
    }
    /* Ethernet padding must not make a lying length look true: 6 pad bytes, length 26 */
    struct frame f = copy_frame(kernel_to_echo, sizeof(kernel_to_echo));
    f.len = ETH_MIN_FRAME;
    put_be16(f.b + ETH_L4 + 4, 26);
    deliver(f.b, f.len);
    ck_assert_uint_eq(stack_stats(st)->udp.rx_bad_length, 4);
    assert_nothing_delivered();
    ck_assert_uint_eq(fake.n_tx, 0);
}
END_TEST

/* The length field claims less than a UDP header: dropped as rx_bad_length. */
START_TEST(test_length_below_header_dropped)
{
    for (uint16_t lie = 0; lie < UDP_HDR_LEN; lie++) {
        struct frame f = copy_frame(kernel_to_echo, sizeof(kernel_to_echo));
        put_be16(f.b + ETH_L4 + 4, lie);
        deliver(f.b, f.len);
        ck_assert_uint_eq(stack_stats(st)->udp.rx_bad_length, lie + 1u);
    }
    assert_nothing_delivered();
    ck_assert_uint_eq(fake.n_tx, 0);
}
END_TEST

/* A length field shorter than the IP payload (but >= 8) is believed, as Linux does: the
 * bytes after it are not part of the datagram. With the checksum the sender computed over
 * the longer datagram it no longer verifies; with one computed over the shorter it does. */
START_TEST(test_length_shorter_than_datagram)
{
    struct frame f = copy_frame(kernel_to_echo, sizeof(kernel_to_echo));
    put_be16(f.b + ETH_L4 + 4, 16); /* 8 of the 12 data bytes */
    deliver(f.b, f.len);
    ck_assert_uint_eq(stack_stats(st)->udp.rx_bad_checksum, 1);
    assert_nothing_delivered();

    fix_udp_checksum(&f);
    deliver(f.b, f.len);
    uint8_t buf[64];
    ck_assert_int_eq(sock_recvfrom(sk, buf, sizeof(buf), NULL, NULL), 8);
    ck_assert_mem_eq(buf, "hello ta", 8);
    ck_assert_uint_eq(stack_stats(st)->udp.rx_bad_length, 0);
}
END_TEST

/* conformance: UDP-4.1.3.4-2 */
START_TEST(test_bad_checksum_dropped)
{
    struct frame f = copy_frame(kernel_to_echo, sizeof(kernel_to_echo));
    f.b[ETH_L4 + 8] ^= 0x20; /* "Hello tapir\n" */
    deliver(f.b, f.len);
    f = copy_frame(kernel_to_echo, sizeof(kernel_to_echo));
    put_be16(f.b + ETH_L4 + 6, 0x8006);
    deliver(f.b, f.len);
    /* the pseudo-header counts too: the same datagram from another address */
    f = copy_frame(kernel_to_echo, sizeof(kernel_to_echo));
    put_be32(f.b + ETH_IP + 12, 0x0a000003);
    fix_ip_checksum(&f);
    deliver(f.b, f.len);
    ck_assert_uint_eq(stack_stats(st)->udp.rx_bad_checksum, 3);
    assert_nothing_delivered();

    /* to a closed port: the checksum comes first, so no ICMP for a corrupted datagram */
    f = copy_frame(kernel_to_closed, sizeof(kernel_to_closed));
    f.b[ETH_L4 + 9] ^= 1;
    deliver(f.b, f.len);
    ck_assert_uint_eq(stack_stats(st)->udp.rx_bad_checksum, 4);
    ck_assert_uint_eq(stack_stats(st)->udp.rx_no_port, 0);
    ck_assert_uint_eq(fake.n_tx, 0);
}
END_TEST

/* RFC 768: "An all zero transmitted checksum value means that the transmitter generated no
 * checksum". Such a datagram is accepted even when its data was changed on the way. */
START_TEST(test_checksum_zero_means_none)
{
    struct frame f = copy_frame(kernel_to_echo, sizeof(kernel_to_echo));
    put_be16(f.b + ETH_L4 + 6, 0);
    f.b[ETH_L4 + 8] = 'j';
    deliver(f.b, f.len);
    uint8_t buf[64];
    ck_assert_int_eq(sock_recvfrom(sk, buf, sizeof(buf), NULL, NULL), 12);
    ck_assert_mem_eq(buf, "jello tapir\n", 12);
    ck_assert_uint_eq(stack_stats(st)->udp.rx_bad_checksum, 0);
}
END_TEST

/* Change the last two data bytes so the checksum computes to 0, which is sent as 0xffff.
 * With that word 0 the checksum is c = ~S, S being the sum of everything else; putting c
 * there makes the sum S + ~S = 0xffff, whose complement is 0. */
static void make_checksum_zero(struct frame *f)
{
    uint16_t ulen = get_be16(f->b + ETH_L4 + 4);
    ck_assert_uint_eq(ulen % 2, 0); /* the last word is a whole 16-bit word */
    uint8_t *last = f->b + ETH_L4 + ulen - 2;
    put_be16(last, 0);
    put_be16(last, udp_checksum_of(f->b + ETH_IP, f->b + ETH_L4, ulen));
    ck_assert_uint_eq(udp_checksum_of(f->b + ETH_IP, f->b + ETH_L4, ulen), 0);
}

/* A datagram whose checksum computes to 0 carries 0xffff (the other zero of one's
 * complement): tapir accepts it on input and sends it so on output. */
START_TEST(test_checksum_ffff)
{
    struct frame f = copy_frame(kernel_to_echo, sizeof(kernel_to_echo));
    make_checksum_zero(&f);
    put_be16(f.b + ETH_L4 + 6, 0xffff);
    deliver(f.b, f.len);
    uint8_t buf[64];
    uint32_t ip;
    uint16_t port;
    ssize_t n = sock_recvfrom(sk, buf, sizeof(buf), &ip, &port);
    ck_assert_int_eq(n, 12);
    ck_assert_mem_eq(buf, f.b + ETH_L4 + 8, 12);

    /* echoed back the sum is the same (addresses and ports swap), so again 0 -> 0xffff */
    ck_assert_int_eq(sock_sendto(sk, buf, (size_t)n, ip, port), 12);
    ck_assert_uint_eq(fake.n_tx, 1);
    ck_assert_uint_eq(get_be16(fake.tx[0] + ETH_L4 + 6), 0xffff);
    ck_assert(udp_verifies(fake.tx[0] + ETH_IP, fake.tx[0] + ETH_L4));
}
END_TEST

/* ---- closed ports and ICMP ---- */

/* conformance: IP-3.2.2.1-1 IP-3.4-4 UDP-4.1.3.1-1 */
START_TEST(test_closed_port_answered_with_icmp)
{
    deliver(kernel_to_closed, sizeof(kernel_to_closed));
    ck_assert_uint_eq(stack_stats(st)->udp.rx_no_port, 1);
    ck_assert_uint_eq(stack_stats(st)->icmp.dest_unreach_tx, 1);
    ck_assert_uint_eq(fake.n_tx, 1);

    const uint8_t *t = fake.tx[0];
    ck_assert_uint_eq(fake.tx_len[0], sizeof(tapir_port_unreach)); /* 14 + 20 + 8 + 28 */
    ck_assert_mem_eq(t, kernel_mac, 6);
    ck_assert_uint_eq(get_be16(t + 12), ETH_TYPE_IPV4);
    struct ip_hdr ih;
    ck_assert_int_eq(ip_parse(t + ETH_IP, fake.tx_len[0] - ETH_IP, &ih), IP_OK); /* checksum too */
    ck_assert_uint_eq(ih.proto, IP_PROTO_ICMP);
    ck_assert_uint_eq(ih.src, TAPIR_IP);
    ck_assert_uint_eq(ih.dst, KERNEL_IP);
    ck_assert_uint_eq(ih.total_len, IP_HDR_LEN + ICMP_HDR_LEN + IP_HDR_LEN + 8);

    const uint8_t *icmp = t + ETH_L4;
    ck_assert_uint_eq(icmp[0], ICMP_DEST_UNREACH);
    ck_assert_uint_eq(icmp[1], ICMP_UNREACH_PORT);
    ck_assert_uint_eq(get_be32(icmp + 4), 0); /* unused */
    ck_assert_uint_eq(inet_checksum(icmp, ICMP_HDR_LEN + IP_HDR_LEN + 8), 0);
    /* RFC 792: the offending IP header and its first 64 bits of data -- the UDP header
     * only, not "closed?\n" */
    ck_assert_mem_eq(icmp + ICMP_HDR_LEN, kernel_to_closed + ETH_IP, IP_HDR_LEN + 8);
    /* and so byte for byte the ICMP message tapir sent the real kernel (checksum 0x886f) */
    ck_assert_mem_eq(icmp, tapir_port_unreach + ETH_L4, sizeof(tapir_port_unreach) - ETH_L4);
    assert_nothing_delivered();
}
END_TEST

/* RFC 1122 3.2.2 / 4.1.3.1: no ICMP error about a datagram sent to a broadcast address,
 * IP (subnet or limited) or link layer. The datagram is still counted as for no port. A
 * link broadcast to our unicast address never gets that far: IP drops it (3.3.6). */
/* conformance: IP-3.2.2-6 IP-3.2.2-7 */
START_TEST(test_closed_port_broadcast_no_icmp)
{
    static const uint32_t dsts[] = {0x0a0000ff, 0xffffffff, TAPIR_IP};
    for (size_t i = 0; i < sizeof(dsts) / sizeof(dsts[0]); i++) {
        struct frame f = copy_frame(kernel_to_closed, sizeof(kernel_to_closed));
        memcpy(f.b, eth_broadcast, 6);
        put_be32(f.b + ETH_IP + 16, dsts[i]);
        fix_ip_checksum(&f);
        fix_udp_checksum(&f);
        deliver(f.b, f.len);
        ck_assert_uint_eq(stack_stats(st)->udp.rx_no_port, i < 2 ? i + 1 : 2);
    }
    ck_assert_uint_eq(stack_stats(st)->ip.rx_link_broadcast, 1);
    ck_assert_uint_eq(stack_stats(st)->udp.rx_bad_checksum, 0);
    ck_assert_uint_eq(stack_stats(st)->icmp.errors_suppressed, 2);
    ck_assert_uint_eq(stack_stats(st)->icmp.dest_unreach_tx, 0);
    ck_assert_uint_eq(fake.n_tx, 0);
}
END_TEST

/* A socket bound to a wildcard address gets broadcasts to its port. */
/* conformance: LINK-2.4-1 */
START_TEST(test_broadcast_to_open_port_delivered)
{
    struct frame f = copy_frame(kernel_to_echo, sizeof(kernel_to_echo));
    memcpy(f.b, eth_broadcast, 6);
    put_be32(f.b + ETH_IP + 16, 0x0a0000ff);
    fix_ip_checksum(&f);
    fix_udp_checksum(&f);
    deliver(f.b, f.len);
    uint8_t buf[64];
    ck_assert_int_eq(sock_recvfrom(sk, buf, sizeof(buf), NULL, NULL), 12);
}
END_TEST

/* The kernel's real port unreachable, about the datagram `tapir nc -u` sent from port
 * 59250: the socket that sent it hears -ECONNREFUSED (on_error, then once from recvfrom). */
/* conformance: IP-3.2.2.1-2 IP-3.4-5 IP-3.4-6 UDP-4.1.3.3-1 */
START_TEST(test_kernel_port_unreachable_refuses)
{
    struct sock *c = sock_open(st, SOCK_TYPE_UDP);
    ck_assert_ptr_nonnull(c);
    sock_on(c, &events, NULL);
    ck_assert_int_eq(sock_bind(c, 0, 59250), 0);
    ck_assert_int_eq(sock_connect(c, KERNEL_IP, 5555), 0);

    /* what it sends is, from the IP addresses on, the datagram of the capture */
    ck_assert_int_eq(sock_send(c, "anyone?\n", 8), 8);
    ck_assert_uint_eq(fake.n_tx, 1);
    ck_assert_uint_eq(fake.tx_len[0], sizeof(tapir_to_closed));
    ck_assert_mem_eq(fake.tx[0] + ETH_IP + 12, tapir_to_closed + ETH_IP + 12,
                     sizeof(tapir_to_closed) - ETH_IP - 12);

    deliver(kernel_port_unreach, sizeof(kernel_port_unreach));
    ck_assert_uint_eq(stack_stats(st)->icmp.dest_unreach_rx, 1);
    ck_assert_int_eq(error_calls, 1);
    ck_assert_int_eq(last_error, -ECONNREFUSED);
    uint8_t buf[64];
    ck_assert_int_eq(sock_recvfrom(c, buf, sizeof(buf), NULL, NULL), -ECONNREFUSED);
    ck_assert_int_eq(sock_recvfrom(c, buf, sizeof(buf), NULL, NULL), -EAGAIN); /* once */
    /* the echo socket on port 7 heard nothing */
    ck_assert_int_eq(sock_recvfrom(sk, buf, sizeof(buf), NULL, NULL), -EAGAIN);
    ck_assert_int_eq(sock_close(c), 0);
}
END_TEST

/* The same ICMP message when no socket has port 59250 any more: nobody is told. */
START_TEST(test_port_unreachable_for_other_port_ignored)
{
    struct sock *c = sock_open(st, SOCK_TYPE_UDP);
    sock_on(c, &events, NULL);
    ck_assert_int_eq(sock_bind(c, 0, 59251), 0);
    deliver(kernel_port_unreach, sizeof(kernel_port_unreach));
    ck_assert_uint_eq(stack_stats(st)->icmp.dest_unreach_rx, 1);
    ck_assert_int_eq(error_calls, 0);
    uint8_t buf[64];
    ck_assert_int_eq(sock_recvfrom(c, buf, sizeof(buf), NULL, NULL), -EAGAIN);
    sock_close(c);
}
END_TEST

/* ---- output errors ---- */

START_TEST(test_send_errors)
{
    static uint8_t big[65508];
    ck_assert_int_eq(sock_sendto(sk, big, sizeof(big), KERNEL_IP, 9), -EMSGSIZE);
    ck_assert_int_eq(sock_sendto(sk, "x", 1, KERNEL_IP, 0), -EINVAL);
    ck_assert_int_eq(sock_sendto(sk, "x", 1, 0, 0), -EDESTADDRREQ);
    ck_assert_int_eq(sock_send(sk, "x", 1), -EDESTADDRREQ); /* not connected */
    ck_assert_uint_eq(fake.n_tx, 0);
    /* an empty datagram is a datagram: 8 bytes of header */
    ck_assert_int_eq(sock_sendto(sk, "", 0, KERNEL_IP, 9), 0);
    ck_assert_uint_eq(fake.n_tx, 1);
    ck_assert_uint_eq(get_be16(fake.tx[0] + ETH_L4 + 4), UDP_HDR_LEN);
    ck_assert(udp_verifies(fake.tx[0] + ETH_IP, fake.tx[0] + ETH_L4));
}
END_TEST

static Suite *udp_suite(void)
{
    Suite *s = suite_create("udp");
    TCase *parse = tcase_create("parse");
    tcase_add_test(parse, test_parse_captured_header);
    tcase_add_test(parse, test_parse_truncated_every_length);
    tcase_add_test(parse, test_checksum_of_captured_datagrams);
    suite_add_tcase(s, parse);

    TCase *in = tcase_create("input");
    tcase_add_checked_fixture(in, setup, teardown);
    tcase_add_test(in, test_captured_datagram_delivered);
    tcase_add_test(in, test_echo_matches_captured_reply);
    tcase_add_test(in, test_ethernet_padding_not_delivered);
    tcase_add_test(in, test_truncated_every_length_dropped);
    tcase_add_test(in, test_length_longer_than_datagram_dropped);
    tcase_add_test(in, test_length_below_header_dropped);
    tcase_add_test(in, test_length_shorter_than_datagram);
    tcase_add_test(in, test_bad_checksum_dropped);
    tcase_add_test(in, test_checksum_zero_means_none);
    tcase_add_test(in, test_checksum_ffff);
    tcase_add_test(in, test_send_errors);
    suite_add_tcase(s, in);

    TCase *icmp = tcase_create("icmp");
    tcase_add_checked_fixture(icmp, setup, teardown);
    tcase_add_test(icmp, test_closed_port_answered_with_icmp);
    tcase_add_test(icmp, test_closed_port_broadcast_no_icmp);
    tcase_add_test(icmp, test_broadcast_to_open_port_delivered);
    tcase_add_test(icmp, test_kernel_port_unreachable_refuses);
    tcase_add_test(icmp, test_port_unreachable_for_other_port_ignored);
    suite_add_tcase(s, icmp);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(udp_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
