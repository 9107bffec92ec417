/* tcp_seg.c - parsing and building TCP headers and options (RFC 9293 3.1).
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Source Port          |       Destination Port        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                        Sequence Number                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Acknowledgment Number                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Data |       |C|E|U|A|P|R|S|F|                               |
 * | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
 * |       |       |R|E|G|K|H|T|N|N|                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           Checksum            |         Urgent Pointer        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Options (data offset > 5)                  |
 *
 * Options are kind / length / value, except EOL (0) and NOP (1) which are one byte.
 */
#include "tcp_seg.h"
#include "bytes.h"
#include "checksum.h"
#include "ip.h"

#include <stdio.h>
#include <string.h>

/* Walk the options (RFC 9293 3.2). Unknown options are skipped by their length; a known
 * option with the wrong length is ignored, as Linux does. A length below 2 (which would
 * loop forever or step backwards) or one running past the header is malformed. */
static bool parse_options(const uint8_t *p, size_t len, struct tcp_opts *o)
{
    size_t i = 0;
    while (i < len) {
        uint8_t kind = p[i];
        if (kind == TCP_OPT_EOL)
            break;
        if (kind == TCP_OPT_NOP) {
            i++;
            continue;
        }
        if (i + 1 >= len)
            return false; /* the length byte itself is missing */
        uint8_t olen = p[i + 1];
        if (olen < 2 || i + olen > len)
            return false;
        const uint8_t *v = p + i + 2;
        switch (kind) {
        case TCP_OPT_MSS:
            if (olen == 4) {
                o->has_mss = true;
                o->mss = get_be16(v);
            }
            break;
        case TCP_OPT_WSCALE:
            if (olen == 3) {
                o->has_wscale = true;
                /* RFC 7323 2.3: a shift above 14 is treated as 14 */
                o->wscale = v[0] > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : v[0];
            }
            break;
        case TCP_OPT_SACK_PERM:
            if (olen == 2)
                o->sack_permitted = true;
            break;
        case TCP_OPT_TIMESTAMP:
            if (olen == 10) {
                o->has_timestamp = true;
                o->ts_val = get_be32(v);
                o->ts_ecr = get_be32(v + 4);
            }
            break;
        case TCP_OPT_SACK:
            /* RFC 2018 3: 2 + 8 * n bytes; a bad length is ignored like any other */
            if (olen >= 10 && (olen - 2) % 8 == 0 && (olen - 2) / 8 <= TCP_MAX_SACK_BLOCKS) {
                o->n_sack = (uint8_t)((olen - 2) / 8);
                for (unsigned k = 0; k < o->n_sack; k++) {
                    o->sack[k].start = get_be32(v + 8 * k);
                    o->sack[k].end = get_be32(v + 8 * k + 4);
                }
            }
            break;
        default:
            break; /* anything else: skipped */
        }
        i += olen;
    }
    return true;
}

enum tcp_parse_result tcp_parse(const uint8_t *b, size_t len, struct tcp_hdr *h)
{
    memset(h, 0, sizeof(*h));
    if (len < TCP_HDR_LEN)
        return TCP_PARSE_TRUNCATED;
    h->sport = get_be16(b);
    h->dport = get_be16(b + 2);
    h->seq = get_be32(b + 4);
    h->ack = get_be32(b + 8);
    h->hdr_len = (uint8_t)((b[12] >> 4) * 4);
    h->flags = b[13];
    h->wnd = get_be16(b + 14);
    h->checksum = get_be16(b + 16);
    h->urg_ptr = get_be16(b + 18);
    if (h->hdr_len < TCP_HDR_LEN || h->hdr_len > len)
        return TCP_PARSE_BAD_OFFSET;
    if ((h->flags & TCP_SYN) && (h->flags & (TCP_FIN | TCP_RST)))
        return TCP_PARSE_BAD_FLAGS;
    if (!parse_options(b + TCP_HDR_LEN, h->hdr_len - TCP_HDR_LEN, &h->opts))
        return TCP_PARSE_BAD_OPTIONS;
    return TCP_PARSE_OK;
}

bool tcp_checksum_ok(const uint8_t *seg, size_t len, uint32_t src, uint32_t dst)
{
    if (len > IP_MAX_LEN)
        return false;
    uint32_t sum = csum_pseudo_header(src, dst, IP_PROTO_TCP, (uint16_t)len);
    return csum_fold(csum_add(sum, seg, len)) == 0;
}

/* The layout Linux uses, every option 4-byte aligned by NOPs:
 *   MSS (4) | SACK-permitted + timestamps (12), or NOP NOP SACK-permitted, or NOP NOP
 *   timestamps | NOP window scale (4) | NOP NOP SACK blocks (4 + 8 * n) */
size_t tcp_opts_len(const struct tcp_opts *o)
{
    size_t n = 0;
    if (o->has_mss)
        n += 4;
    if (o->has_timestamp)
        n += TCP_TS_OPT_LEN;
    else if (o->sack_permitted)
        n += 4;
    if (o->has_wscale)
        n += 4;
    if (o->n_sack)
        n += 4 + 8u * o->n_sack;
    return n;
}

static uint8_t *put_timestamps(uint8_t *p, const struct tcp_opts *o)
{
    p[0] = TCP_OPT_TIMESTAMP;
    p[1] = 10;
    put_be32(p + 2, o->ts_val);
    put_be32(p + 6, o->ts_ecr);
    return p + 10;
}

static uint8_t *put_sack_blocks(uint8_t *p, const struct tcp_opts *o)
{
    p[0] = TCP_OPT_NOP;
    p[1] = TCP_OPT_NOP;
    p[2] = TCP_OPT_SACK;
    p[3] = (uint8_t)(2 + 8 * o->n_sack);
    p += 4;
    for (unsigned k = 0; k < o->n_sack; k++, p += 8) {
        put_be32(p, o->sack[k].start);
        put_be32(p + 4, o->sack[k].end);
    }
    return p;
}

size_t tcp_build(const struct tcp_hdr *h, uint8_t *b)
{
    size_t hlen = TCP_HDR_LEN + tcp_opts_len(&h->opts);
    put_be16(b, h->sport);
    put_be16(b + 2, h->dport);
    put_be32(b + 4, h->seq);
    put_be32(b + 8, h->ack);
    b[12] = (uint8_t)((hlen / 4) << 4);
    b[13] = h->flags;
    put_be16(b + 14, h->wnd);
    put_be16(b + 16, 0);
    put_be16(b + 18, h->urg_ptr);
    uint8_t *p = b + TCP_HDR_LEN;
    if (h->opts.has_mss) {
        p[0] = TCP_OPT_MSS;
        p[1] = 4;
        put_be16(p + 2, h->opts.mss);
        p += 4;
    }
    if (h->opts.sack_permitted) {
        if (!h->opts.has_timestamp) {
            *p++ = TCP_OPT_NOP;
            *p++ = TCP_OPT_NOP;
        }
        *p++ = TCP_OPT_SACK_PERM;
        *p++ = 2;
    }
    if (h->opts.has_timestamp) {
        if (!h->opts.sack_permitted) {
            *p++ = TCP_OPT_NOP;
            *p++ = TCP_OPT_NOP;
        }
        p = put_timestamps(p, &h->opts);
    }
    if (h->opts.has_wscale) {
        p[0] = TCP_OPT_NOP;
        p[1] = TCP_OPT_WSCALE;
        p[2] = 3;
        p[3] = h->opts.wscale;
        p += 4;
    }
    if (h->opts.n_sack)
        put_sack_blocks(p, &h->opts);
    return hlen;
}

void tcp_set_checksum(uint8_t *seg, size_t len, uint32_t src, uint32_t dst)
{
    put_be16(seg + 16, 0);
    uint32_t sum = csum_pseudo_header(src, dst, IP_PROTO_TCP, (uint16_t)len);
    put_be16(seg + 16, csum_fold(csum_add(sum, seg, len)));
}

void tcp_format(const struct tcp_hdr *h, uint32_t src, uint32_t dst, size_t data_len, char *buf,
                size_t size)
{
    static const struct {
        uint8_t bit;
        const char *name;
    } names[] = {{TCP_SYN, "SYN"}, {TCP_FIN, "FIN"}, {TCP_RST, "RST"}, {TCP_PSH, "PSH"},
                 {TCP_ACK, "ACK"}, {TCP_URG, "URG"}, {TCP_ECE, "ECE"}, {TCP_CWR, "CWR"}};
    char a[16], b[16], flags[40] = "";
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (h->flags & names[i].bit) {
            if (flags[0])
                strcat(flags, "|");
            strcat(flags, names[i].name);
        }
    if (!flags[0])
        strcpy(flags, "none");
    int n = snprintf(buf, size, "%s:%u > %s:%u %s seq=%u", ip_str(src, a), h->sport, ip_str(dst, b),
                     h->dport, flags, h->seq);
    if (h->flags & TCP_ACK)
        n += snprintf(buf + n, size - (size_t)n, " ack=%u", h->ack);
    n += snprintf(buf + n, size - (size_t)n, " win=%u", h->wnd);
    if (data_len)
        n += snprintf(buf + n, size - (size_t)n, " len=%zu", data_len);
    if (h->opts.has_mss)
        n += snprintf(buf + n, size - (size_t)n, " mss=%u", h->opts.mss);
    if (h->opts.has_wscale)
        n += snprintf(buf + n, size - (size_t)n, " wscale=%u", h->opts.wscale);
    if (h->opts.sack_permitted)
        n += snprintf(buf + n, size - (size_t)n, " sackOK");
    if (h->opts.has_timestamp)
        n += snprintf(buf + n, size - (size_t)n, " ts=%u/%u", h->opts.ts_val, h->opts.ts_ecr);
    /* SACK blocks, numbered like the ACK: "sack=2897-4345" holds the bytes 2897 to 4344
     * (a D-SACK block, RFC 2883, lies below the ACK) */
    for (unsigned k = 0; k < h->opts.n_sack && n > 0 && (size_t)n < size; k++)
        n += snprintf(buf + n, size - (size_t)n, "%s%u-%u",
                      k ? "," : " sack=", h->opts.sack[k].start, h->opts.sack[k].end);
}
