/* tcp.h - the Transmission Control Protocol (RFC 9293): what the socket layer calls.
 *
 * A `struct tcb` is one connection (or listener). The socket layer owns it from
 * tcp_open() until tcp_close()/tcp_abort(); after that TCP finishes the connection on its
 * own (FIN handshake, TIME-WAIT) and frees the TCB itself. Until then a TCB is never
 * freed under the socket, even when the connection dies: it stays in CLOSED and reports
 * the error through the upcalls.
 */
#ifndef TAPIR_TCP_H
#define TAPIR_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct stack;
struct pkb;
struct tcb;

/* How TCP reaches the socket above it (set by sock.c). Any may be NULL. */
struct tcp_upcalls {
    void (*acceptable)(void *ctx);     /* listener: an established connection waits */
    void (*connected)(void *ctx);      /* active open reached ESTABLISHED */
    void (*readable)(void *ctx);       /* data (or the peer's FIN) can be read */
    void (*writable)(void *ctx);       /* send buffer space was freed */
    void (*peer_closed)(void *ctx);    /* the peer's FIN: no more data will come */
    void (*error)(void *ctx, int err); /* the connection is dead: -ECONNRESET, -ETIMEDOUT, ... */
    void (*urgent)(void *ctx);         /* the peer sent urgent data: tcp_recv_urgent() */
};

int tcp_init(struct stack *stack);
void tcp_fini(struct stack *stack);
void tcp_input(struct stack *stack, struct pkb *pkb);
/* Around the frames of one stack_step(): ACKs for a burst of segments go out once, at its end. */
void tcp_burst_begin(struct stack *stack);
void tcp_burst_end(struct stack *stack);

struct tcb *tcp_open(struct stack *stack);
void tcp_set_upcalls(struct tcb *tcb, const struct tcp_upcalls *up, void *ctx);
int tcp_bind(struct tcb *tcb, uint32_t ip, uint16_t port);
int tcp_listen(struct tcb *tcb, unsigned backlog);
/* A connection from the listener's accept queue, or NULL. */
struct tcb *tcp_accept(struct tcb *listener);
int tcp_connect(struct tcb *tcb, uint32_t ip, uint16_t port);
ssize_t tcp_send(struct tcb *tcb, const void *buf, size_t len);
ssize_t tcp_recv(struct tcb *tcb, void *buf, size_t len);
int tcp_shutdown(struct tcb *tcb); /* no more sending: FIN after the queued data */
int tcp_close(struct tcb *tcb);    /* the user's CLOSE (RFC 9293 3.10.4) */
void tcp_abort(struct tcb *tcb);   /* the user's ABORT (RFC 9293 3.10.5): RST, free */
int tcp_set_nodelay(struct tcb *tcb, bool on);
int tcp_set_bufsize(struct tcb *tcb, size_t sndbuf, size_t rcvbuf);
/* Keep-alive (RFC 9293 3.8.4): on 1/0 (-1: as it is); idle, intvl (seconds), cnt if nonzero. */
int tcp_set_keepalive(struct tcb *tcb, int on, unsigned idle_s, unsigned intvl_s, unsigned cnt);
/* TTL and TOS/DSCP of our segments (-1 leaves one as it is; TTL 0: the stack's default). */
int tcp_set_ip_fields(struct tcb *tcb, int ttl, int tos);
/* R2: retransmissions before the connection is given up (0: the stack's tcp_max_retries). */
int tcp_set_max_retries(struct tcb *tcb, unsigned r2);
/* R1: retransmissions after which TCP gives IP negative advice and sets the soft error
 * (0: the stack's tcp_retries1, 3). */
int tcp_set_retries1(struct tcb *tcb, unsigned r1);
/* The last delivery problem the connection lived through: an ICMP error (-EHOSTUNREACH,
 * ...), or -ETIMEDOUT once retransmissions reached R1; 0 if none. */
int tcp_soft_error(const struct tcb *tcb);
/* Urgent data (tcp_urgent.c): send with the last byte urgent (send MSG_OOB); take the
 * urgent byte (1, or -EINVAL if none waits); is the next byte read the one after the mark? */
ssize_t tcp_send_urgent(struct tcb *tcb, const void *buf, size_t len);
int tcp_recv_urgent(struct tcb *tcb, uint8_t *byte);
int tcp_at_mark(const struct tcb *tcb);
size_t tcp_send_space(const struct tcb *tcb);
size_t tcp_send_pending(const struct tcb *tcb);
void tcp_local(const struct tcb *tcb, uint32_t *ip, uint16_t *port);
int tcp_peer(const struct tcb *tcb, uint32_t *ip, uint16_t *port);
/* "ESTABLISHED", ... */
const char *tcp_state_name_of(const struct tcb *tcb);
/* Why the connection died (-ECONNRESET, -ETIMEDOUT, ...), or 0. */
int tcp_error_of(const struct tcb *tcb);
/* TCBs alive in this stack, including those finishing after tcp_close (for tests). */
unsigned tcp_count(const struct stack *stack);

#endif
