/* checksum.h - the Internet checksum (RFC 1071), used by IPv4, ICMP, UDP and TCP. */
#ifndef TAPIR_CHECKSUM_H
#define TAPIR_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/* Add `len` bytes to a running 32-bit one's-complement sum (big-endian 16-bit words). */
uint32_t csum_add(uint32_t sum, const void *data, size_t len);
/* Fold a running sum to 16 bits and complement it: the value that goes in a header. */
uint16_t csum_fold(uint32_t sum);
/* The checksum of one buffer. Over a buffer that already holds its checksum this is 0. */
uint16_t inet_checksum(const void *data, size_t len);
/* The running sum of the IPv4 pseudo-header that UDP and TCP checksums cover (RFC 768, 9293). */
uint32_t csum_pseudo_header(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len);

#endif
