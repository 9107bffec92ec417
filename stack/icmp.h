/* icmp.h - the Internet Control Message Protocol (RFC 792, RFC 1122 3.2.2). */
#ifndef TAPIR_ICMP_H
#define TAPIR_ICMP_H

#include <stddef.h>
#include <stdint.h>

struct stack;
struct pkb;

#define ICMP_HDR_LEN       8
#define ICMP_ECHO_REPLY    0
#define ICMP_DEST_UNREACH  3
#define ICMP_REDIRECT      5
#define ICMP_ECHO_REQUEST  8
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAM_PROBLEM 12

/* Destination unreachable codes (RFC 792) */
#define ICMP_UNREACH_NET      0
#define ICMP_UNREACH_HOST     1
#define ICMP_UNREACH_PROTOCOL 2
#define ICMP_UNREACH_PORT     3
#define ICMP_UNREACH_NEEDFRAG 4
/* Time exceeded codes */
#define ICMP_EXC_TTL      0
#define ICMP_EXC_FRAGTIME 1

struct icmp_hdr {
    uint8_t type;
    uint8_t code;
    uint16_t checksum;
    uint32_t rest; /* echo: identifier << 16 | sequence; unreachable: unused / next-hop MTU */
};

int icmp_parse(const uint8_t *bytes, size_t len, struct icmp_hdr *h);
void icmp_build(const struct icmp_hdr *h, uint8_t *bytes);

int icmp_init(struct stack *stack);
void icmp_input(struct stack *stack, struct pkb *pkb);
/* Send an ICMP error about a received datagram (pkb->meta.ip_hdr is its header),
 * unless RFC 1122 3.2.2 forbids it (errors about errors, broadcasts, later fragments). */
void icmp_send_error(struct stack *stack, const struct pkb *pkb, uint8_t type, uint8_t code);
/* RFC 1122 3.2.2.5: Parameter Problem (code 0) about a received datagram, `pointer` the
 * offset of the bad byte in its IP header; the same rules as icmp_send_error. */
void icmp_send_param_problem(struct stack *stack, const struct pkb *pkb, uint8_t pointer);
static inline void icmp_send_dest_unreach(struct stack *stack, const struct pkb *pkb, uint8_t code)
{
    icmp_send_error(stack, pkb, ICMP_DEST_UNREACH, code);
}

#endif
