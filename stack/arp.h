/* arp.h - the Address Resolution Protocol (RFC 826): IPv4 address -> Ethernet address. */
#ifndef TAPIR_ARP_H
#define TAPIR_ARP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct stack;
struct pkb;

#define ARP_PKT_LEN    28
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY   2

struct arp_pkt {
    uint16_t htype; /* 1: Ethernet */
    uint16_t ptype; /* 0x0800: IPv4 */
    uint8_t hlen;   /* 6 */
    uint8_t plen;   /* 4 */
    uint16_t op;    /* 1 request, 2 reply */
    uint8_t sha[6]; /* sender hardware address */
    uint32_t spa;   /* sender protocol address */
    uint8_t tha[6]; /* target hardware address */
    uint32_t tpa;   /* target protocol address */
};

int arp_parse(const uint8_t *bytes, size_t len, struct arp_pkt *p);
void arp_build(const struct arp_pkt *p, uint8_t *bytes);

int arp_init(struct stack *stack);
void arp_fini(struct stack *stack);
void arp_input(struct stack *stack, struct pkb *pkb);
/* Send an IPv4 packet to next_hop on the link, resolving its MAC first if needed.
 * Packets wait (bounded) while a request is out. Takes ownership of pkb. */
int arp_resolve(struct stack *stack, uint32_t next_hop, struct pkb *pkb);
/* Announce our address (a gratuitous request, RFC 5227 section 3). */
void arp_announce(struct stack *stack);
/* Look up a cached MAC; true if found and resolved. */
bool arp_lookup(struct stack *stack, uint32_t ip, uint8_t mac[6]);
/* Packets waiting for some address to be resolved. */
size_t arp_waiting(const struct stack *stack);
/* Called when `ip` never answered, with the packets that waited for it: fn may take
 * packets out of `waiting` (to send them another way); ARP drops the rest. */
struct pkb_queue;
typedef void (*arp_unreachable_fn)(struct stack *stack, uint32_t ip, struct pkb_queue *waiting);
void arp_on_unreachable(struct stack *stack, arp_unreachable_fn fn);
/* Negative advice (RFC 1122 3.3.1.4): forget ip's address, so its next use asks again. */
void arp_reconfirm(struct stack *stack, uint32_t ip);

#endif
