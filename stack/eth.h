/* eth.h - Ethernet II (IEEE 802.3 framing, DIX ethertypes). */
#ifndef TAPIR_ETH_H
#define TAPIR_ETH_H

#include <stdint.h>
#include <stddef.h>

struct stack;
struct pkb;

#define ETH_HDR_LEN   14
#define ETH_MIN_FRAME 60 /* without the FCS, which the TAP device adds and strips */
#define ETH_TYPE_IPV4 0x0800
#define ETH_TYPE_ARP  0x0806
#define ETH_TYPE_IPV6 0x86dd

struct eth_hdr {
    uint8_t dst[6];
    uint8_t src[6];
    uint16_t type;
};

extern const uint8_t eth_broadcast[6];

/* Parse the first 14 bytes; returns 0, or -1 if len is too short. */
int eth_parse(const uint8_t *bytes, size_t len, struct eth_hdr *h);
void eth_build(const struct eth_hdr *h, uint8_t *bytes);

/* A frame from the link driver. Takes ownership of pkb. */
void eth_input(struct stack *stack, struct pkb *pkb);
/* Prepend the header, pad to 60 bytes and hand to the driver. Takes ownership. */
int eth_output(struct stack *stack, struct pkb *pkb, const uint8_t dst[6], uint16_t type);

#endif
