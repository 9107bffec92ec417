/* udp.h - the User Datagram Protocol (RFC 768). */
#ifndef TAPIR_UDP_H
#define TAPIR_UDP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct stack;
struct pkb;
struct udp_pcb;
struct sock_msg;

#define UDP_HDR_LEN 8

struct udp_hdr {
    uint16_t sport, dport;
    uint16_t len;      /* header + data */
    uint16_t checksum; /* 0: the sender computed none */
};

int udp_parse(const uint8_t *bytes, size_t len, struct udp_hdr *h);
void udp_build(const struct udp_hdr *h, uint8_t *bytes);

/* How UDP reaches the socket above it (set by sock.c). */
struct udp_upcalls {
    void (*readable)(void *ctx);       /* a datagram was queued */
    void (*error)(void *ctx, int err); /* an ICMP error about a datagram we sent */
};

int udp_init(struct stack *stack);
void udp_fini(struct stack *stack);
void udp_input(struct stack *stack, struct pkb *pkb);

struct udp_pcb *udp_open(struct stack *stack, const struct udp_upcalls *up, void *ctx);
int udp_bind(struct udp_pcb *pcb, uint32_t ip, uint16_t port);
int udp_connect(struct udp_pcb *pcb, uint32_t ip, uint16_t port);
ssize_t udp_sendto(struct udp_pcb *pcb, const void *buf, size_t len, uint32_t ip, uint16_t port);
/* One queued datagram (truncated to len); -EAGAIN if none, or a pending error once. */
ssize_t udp_recvfrom(struct udp_pcb *pcb, void *buf, size_t len, uint32_t *ip, uint16_t *port);
/* The same with what IP knew about the datagram (sock.h: struct sock_msg). */
ssize_t udp_recvmsg(struct udp_pcb *pcb, void *buf, size_t len, struct sock_msg *msg);
/* One datagram to msg->dst_ip:dst_port, with the TTL, TOS or options msg->set names. */
ssize_t udp_sendmsg(struct udp_pcb *pcb, const void *buf, size_t len, const struct sock_msg *msg);
/* The socket's TTL (0: the stack's) and TOS for every datagram; -1 leaves one as it is. */
int udp_set_ip_fields(struct udp_pcb *pcb, int ttl, int tos);
/* The socket's IP options (checked by ip_options_prepare; len 0 clears them). */
int udp_set_ip_options(struct udp_pcb *pcb, const uint8_t *opts, size_t len);
int udp_set_queue_len(struct udp_pcb *pcb, unsigned len);
void udp_local(const struct udp_pcb *pcb, uint32_t *ip, uint16_t *port);
int udp_peer(const struct udp_pcb *pcb, uint32_t *ip, uint16_t *port);
void udp_close(struct udp_pcb *pcb);

#endif
