/* checksum.c - RFC 1071: the 16-bit one's-complement sum of 16-bit words.
 *
 * We add big-endian 16-bit words into a 32-bit accumulator and fold the carries back
 * in at the end, exactly as RFC 1071 section 4.1 does it. Working in network byte
 * order throughout means the result can be written into a header with put_be16.
 */
#include "checksum.h"

uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t acc = sum;
    while (len >= 2) {
        acc += (uint32_t)(p[0] << 8 | p[1]);
        p += 2;
        len -= 2;
    }
    if (len) /* an odd byte is padded with a zero byte on the right */
        acc += (uint32_t)(p[0] << 8);
    /* 2^32 is 1 modulo 0xffff, so folding the high half back in keeps the sum exact */
    while (acc >> 32)
        acc = (acc & 0xffffffff) + (acc >> 32);
    return (uint32_t)acc;
}

uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
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
