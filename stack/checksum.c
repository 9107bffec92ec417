/* checksum.c - RFC 1071: the 16-bit one's-complement sum of 16-bit words.
 *
 * The idea, one word at a time (this is all a student needs to follow):
 *
 *     sum = 0;
 *     for each 16-bit big-endian word w:  sum += w;
 *     while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);   // end-around carry
 *     checksum = ~sum;
 *
 * Every packet goes through this (IP header, ICMP, UDP and TCP with their payloads), so it
 * is tapir's hottest loop. We use two properties from RFC 1071 section 2 to go faster
 * without changing the result:
 *   (B) the sum is independent of byte order: summing words in the CPU's native order and
 *       swapping the 16-bit result once gives the big-endian sum;
 *   (C) it can be computed in parallel: adding 32-bit pieces into a 64-bit accumulator
 *       and folding the carries back in at the end gives the same sum.
 */
#include "checksum.h"

#include <string.h>

/* Native-order one's-complement sum of len bytes, folded to 16 bits. */
static uint16_t native_sum16(const uint8_t *p, size_t len)
{
    uint64_t acc = 0;
    while (len >= 8) { /* 8 bytes per step, as two 32-bit pieces (property C) */
        uint64_t w;
        memcpy(&w, p, 8); /* memcpy: no alignment assumptions */
        acc += (w & 0xffffffffu) + (w >> 32);
        p += 8;
        len -= 8;
    }
    while (len >= 2) {
        uint16_t w;
        memcpy(&w, p, 2);
        acc += w;
        p += 2;
        len -= 2;
    }
    if (len) { /* an odd last byte is padded with a zero byte on the right */
        uint8_t pad[2] = {p[0], 0};
        uint16_t w;
        memcpy(&w, pad, 2);
        acc += w;
    }
    while (acc >> 16) /* end-around carry: 2^16 is 1 modulo 0xffff */
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)acc;
}

uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
    /* LAB ip: begin */
    uint16_t s = native_sum16(data, len);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    s = (uint16_t)(s << 8 | s >> 8); /* back to network byte order (property B) */
#endif
    uint64_t acc = (uint64_t)sum + s;
    while (acc >> 32)
        acc = (acc & 0xffffffff) + (acc >> 32);
    return (uint32_t)acc;
    /* LAB ip: end */
}

uint16_t csum_fold(uint32_t sum)
{
    /* LAB ip: begin */
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
    /* LAB ip: end */
}

uint16_t inet_checksum(const void *data, size_t len)
{
    return csum_fold(csum_add(0, data, len));
}

uint32_t csum_pseudo_header(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
    uint32_t sum = 0;
    sum += src >> 16;
    sum += src & 0xffff;
    sum += dst >> 16;
    sum += dst & 0xffff;
    sum += proto;
    sum += len;
    return sum;
}
