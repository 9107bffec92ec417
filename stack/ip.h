/* ip.h - IPv4 (RFC 791, RFC 1122 section 3). */
#ifndef TAPIR_IP_H
#define TAPIR_IP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct stack;
struct pkb;

#define IP_HDR_LEN     20 /* without options */
#define IP_MAX_LEN     65535
#define IP_PROTO_ICMP  1
#define IP_PROTO_TCP   6
#define IP_PROTO_UDP   17
#define IP_FLAG_DF     0x4000
#define IP_FLAG_MF     0x2000
#define IP_OFFSET_MASK 0x1fff
#define IP_BROADCAST   0xffffffffu

struct ip_hdr {
    uint8_t version;    /* 4 */
    uint8_t ihl;        /* header length in 32-bit words, 5..15 */
    uint8_t tos;        /* DSCP + ECN */
    uint16_t total_len; /* header + data, bytes */
    uint16_t id;        /* identification, shared by the fragments of one datagram */
    bool df, mf;        /* don't fragment, more fragments */
    uint16_t frag_off;  /* fragment offset in bytes (the header holds it in 8-byte units) */
    uint8_t ttl;
    uint8_t proto;
    uint16_t checksum;
    uint32_t src, dst; /* host order */
};

/* Why a header was refused; the counter of the same name is bumped. */
enum ip_parse_result {
    IP_OK,
    IP_TRUNCATED,    /* fewer than 20 bytes */
    IP_BAD_VERSION,  /* version != 4 */
    IP_BAD_IHL,      /* IHL < 5, or the header runs past the packet */
    IP_BAD_LENGTH,   /* total length < header, or > bytes received */
    IP_BAD_CHECKSUM, /* header checksum does not verify */
};

/* Parse and validate a header (version, IHL, total length against len, checksum). */
enum ip_parse_result ip_parse(const uint8_t *bytes, size_t len, struct ip_hdr *h);
/* Write a header of h->ihl*4 bytes (options zeroed) and fill in its checksum. */
void ip_build(const struct ip_hdr *h, uint8_t *bytes);

/* What a transport asks of ip_output. Zero fields take defaults. */
struct ip_send {
    uint32_t src; /* 0: our address */
    uint32_t dst;
    uint8_t proto;
    uint8_t ttl; /* 0: the configured TTL (64) */
    uint8_t tos;
    bool df; /* refuse to fragment (-EMSGSIZE instead) */
};

int ip_init(struct stack *stack);
void ip_fini(struct stack *stack);
void ip_input(struct stack *stack, struct pkb *pkb);
/* Route, add the header, fragment if needed, send. Takes ownership; 0 or -errno. */
int ip_output(struct stack *stack, struct pkb *pkb, const struct ip_send *send);
/* Is this address ours, or a broadcast we accept? */
bool ip_is_local(const struct stack *stack, uint32_t addr);
bool ip_is_broadcast(const struct stack *stack, uint32_t addr);
/* RFC 1122 3.2.1.3: a source that must be discarded (broadcast, multicast, 0/8, 127/8, or
 * our own address on a datagram that did not come through our loopback). */
bool ip_source_is_martian(const struct stack *stack, uint32_t src, bool looped);
/* The next hop for dst: dst itself on-link, else the gateway a redirect named for it (the
 * route cache), else the default gateway in use. -ENETUNREACH without one. */
int ip_route(const struct stack *stack, uint32_t dst, uint32_t *next_hop);
/* The default gateway in use (RFC 1122 3.3.1.5: the next one once it dies), or 0. */
uint32_t ip_default_gateway(const struct stack *stack);
/* RFC 1122 3.3.1.4 negative advice: a transport says datagrams to dst do not seem to get
 * through (TCP at R1). A redirect for dst is forgotten; otherwise its next hop is asked
 * for again through ARP, and a gateway that does not answer is replaced by the next. */
void ip_negative_advice(struct stack *stack, uint32_t dst);
/* An ICMP redirect from `from`: send to dst through `gateway` from now on. -EINVAL (and
 * nothing changes) unless `from` is the gateway we use for an off-link dst and `gateway`
 * is another host on our network (RFC 1122 3.2.2.2). */
int ip_redirect(struct stack *stack, uint32_t dst, uint32_t gateway, uint32_t from);
/* Hand an error about one of our datagrams to its transport's error handler.
 * `orig` is the datagram as we sent it: its IP header followed by >= 8 bytes. */
void ip_deliver_error(struct stack *stack, int err, uint8_t type, uint8_t code, uint32_t reporter,
                      const uint8_t *orig, size_t orig_len);

/* Reassembly (ip_frag.c, RFC 815 / RFC 1122 3.3.2). Takes a fragment (pkb->data at its
 * IP header); returns the whole datagram once complete, else NULL (kept or dropped). */
struct pkb *ip_reassemble(struct stack *stack, struct pkb *pkb, const struct ip_hdr *h);
int ip_frag_init(struct stack *stack);
void ip_frag_fini(struct stack *stack);

#endif
