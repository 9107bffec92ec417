/* tcp_seg.h - the TCP header and its options on the wire (RFC 9293 3.1, RFC 7323, RFC 2018).
 *
 * Like every layer here, a header is parsed into a host-order struct and built back
 * explicitly; nothing casts a struct onto the bytes.
 */
#ifndef TAPIR_TCP_SEG_H
#define TAPIR_TCP_SEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TCP_HDR_LEN     20 /* without options */
#define TCP_HDR_MAX_LEN 60 /* data offset 15 */

/* Control bits (RFC 9293 3.1; ECE/CWR are RFC 3168) */
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80

/* Option kinds */
#define TCP_OPT_EOL       0
#define TCP_OPT_NOP       1
#define TCP_OPT_MSS       2 /* RFC 9293 3.7.1 */
#define TCP_OPT_WSCALE    3 /* RFC 7323 2 */
#define TCP_OPT_SACK_PERM 4 /* RFC 2018 */
#define TCP_OPT_SACK      5
#define TCP_OPT_TIMESTAMP 8 /* RFC 7323 3 */

#define TCP_MAX_WSCALE 14 /* RFC 7323 2.3 */

#define TCP_MAX_SACK_BLOCKS 4  /* 2 + 8 * 4 = 34 of the 40 option bytes */
#define TCP_TS_OPT_LEN      12 /* NOP NOP + the 10 bytes of the timestamps option */

/* One SACK block (RFC 2018 3): the peer holds [start, end). */
struct tcp_sack_block {
    uint32_t start, end;
};

struct tcp_opts {
    bool has_mss;
    uint16_t mss;
    bool has_wscale;
    uint8_t wscale;
    bool sack_permitted; /* RFC 2018 2: only in a SYN */
    bool has_timestamp;  /* RFC 7323 3 */
    uint32_t ts_val, ts_ecr;
    uint8_t n_sack; /* SACK blocks (RFC 2018 3), the most recent first */
    struct tcp_sack_block sack[TCP_MAX_SACK_BLOCKS];
};

struct tcp_hdr {
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t hdr_len; /* data offset in bytes (20..60) */
    uint8_t flags;   /* TCP_SYN | TCP_ACK ... */
    uint16_t wnd;    /* as on the wire: not yet scaled */
    uint16_t checksum;
    uint16_t urg_ptr;
    struct tcp_opts opts;
};

/* Why a segment was refused; tcp_input bumps the counter of the matching name. */
enum tcp_parse_result {
    TCP_PARSE_OK,
    TCP_PARSE_TRUNCATED,   /* fewer than 20 bytes */
    TCP_PARSE_BAD_OFFSET,  /* data offset < 5, or the header runs past the segment */
    TCP_PARSE_BAD_FLAGS,   /* SYN+FIN or SYN+RST: no real TCP sends these */
    TCP_PARSE_BAD_OPTIONS, /* an option of length < 2, or one running past the header */
};

/* Parse and validate a header and its options (not the checksum). */
enum tcp_parse_result tcp_parse(const uint8_t *bytes, size_t len, struct tcp_hdr *h);
/* Does the checksum over pseudo-header + segment verify? (addresses host order) */
bool tcp_checksum_ok(const uint8_t *seg, size_t len, uint32_t src, uint32_t dst);
/* Bytes the options in `o` take on the wire (a multiple of 4). */
size_t tcp_opts_len(const struct tcp_opts *o);
/* Write the header with its options (h->hdr_len is ignored and computed); the checksum
 * field is written as 0. Returns the header length. `bytes` needs TCP_HDR_MAX_LEN. */
size_t tcp_build(const struct tcp_hdr *h, uint8_t *bytes);
/* Fill in the checksum of a whole built segment. */
void tcp_set_checksum(uint8_t *seg, size_t len, uint32_t src, uint32_t dst);
/* "10.0.0.1:40112 > 10.0.0.2:7 SYN seq=1 win=64240 mss=1460" into buf (for traces). */
void tcp_format(const struct tcp_hdr *h, uint32_t src, uint32_t dst, size_t data_len, char *buf,
                size_t size);

#endif
